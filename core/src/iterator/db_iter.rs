//! [`DbIterator`]: the user's view of the database through an internal-key stream.
//!
//! Below it, a [`MergingIterator`](super::MergingIterator) yields every entry of every
//! source in internal-key order: for each user key, all its versions, newest first. The
//! database iterator turns that into one entry per user key — the newest one with a sequence
//! number at or below the read's sequence — and hides user keys whose newest visible entry is
//! a tombstone. It also applies the read's lower (inclusive) and upper (exclusive) bounds.
//!
//! Moving forward, the inner iterator sits *on* the entry being shown. Moving backward, the
//! entries of a user key come oldest first, so the iterator has to read past all of them to
//! know which is newest: it then sits *before* the user key shown, whose key and value are
//! kept in `saved_key` / `saved_value` (the scheme of LevelDB's `db/db_iter.cc`).

use std::any::Any;
use std::cmp::Ordering;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::iterator::InternalIterator;
use crate::key::{
    append_internal_key, parse_internal_key, seek_key, SequenceNumber, ValueKind,
    MAX_SEQUENCE_NUMBER,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forward,
    Reverse,
}

/// A cursor over user keys and their newest values as of one sequence number.
///
/// Created by [`Db::iter`](crate::Db::iter). It holds the memtables and SSTables it reads
/// from, so it stays consistent (it sees exactly the database as of its creation) while
/// writes, flushes and compactions go on, and the files it needs are not deleted until it is
/// dropped.
///
/// The positioning methods do not return errors: on an I/O error or corruption the iterator
/// becomes invalid and [`status`](Self::status) returns the error. After `valid()` turns
/// false, check `status()` to tell the end of the range from a failure.
pub struct DbIterator {
    inner: Box<dyn InternalIterator>,
    sequence: SequenceNumber,
    lower_bound: Option<Vec<u8>>,
    upper_bound: Option<Vec<u8>>,
    direction: Direction,
    valid: bool,
    saved_key: Vec<u8>,
    saved_value: Vec<u8>,
    error: Option<Error>,
    owner: Option<Arc<dyn OpenFlag>>,
    _pin: Box<dyn Any + Send + Sync>,
}

/// Whether the database an iterator reads from is still open. The iterator pins its files
/// and memtables, so it could go on reading after `Db::close`; it checks this flag instead so
/// that every handle behaves the same after close (C and Python users rely on it).
pub(crate) trait OpenFlag: Send + Sync {
    fn is_closed(&self) -> bool;
}

impl DbIterator {
    /// Wraps `inner` (already merged over every source) to show the database as of
    /// `sequence`, within `[lower_bound, upper_bound)`. `pin` is kept alive as long as the
    /// iterator (the version and memtables it reads).
    pub(crate) fn new(
        inner: Box<dyn InternalIterator>,
        sequence: SequenceNumber,
        lower_bound: Option<Vec<u8>>,
        upper_bound: Option<Vec<u8>>,
        pin: Box<dyn Any + Send + Sync>,
    ) -> Self {
        DbIterator {
            inner,
            sequence,
            lower_bound,
            upper_bound,
            direction: Direction::Forward,
            valid: false,
            saved_key: Vec::new(),
            saved_value: Vec::new(),
            error: None,
            owner: None,
            _pin: pin,
        }
    }

    /// Ties the iterator to its database: once `owner` is closed every move leaves the
    /// iterator invalid with `status() == Err(Error::Closed)`.
    pub(crate) fn with_owner(mut self, owner: Arc<dyn OpenFlag>) -> Self {
        self.owner = Some(owner);
        self
    }

    /// True (and the iterator made invalid, with status `Closed`) if the database is closed.
    fn owner_closed(&mut self) -> bool {
        if self.owner.as_ref().is_some_and(|o| o.is_closed()) {
            self.valid = false;
            self.error.get_or_insert(Error::Closed);
            return true;
        }
        false
    }

    /// True if the iterator is on an entry.
    pub fn valid(&self) -> bool {
        self.valid
    }

    /// The sequence number this iterator reads at.
    pub fn sequence(&self) -> SequenceNumber {
        self.sequence
    }

    /// Moves to the first key at or above the lower bound.
    pub fn seek_to_first(&mut self) {
        if self.owner_closed() {
            return;
        }
        self.direction = Direction::Forward;
        self.saved_value.clear();
        match self.lower_bound.clone() {
            Some(lb) => self.inner.seek(&seek_key(&lb, MAX_SEQUENCE_NUMBER)),
            None => self.inner.seek_to_first(),
        }
        self.find_next_user_entry(false);
    }

    /// Moves to the last key below the upper bound.
    pub fn seek_to_last(&mut self) {
        if self.owner_closed() {
            return;
        }
        self.direction = Direction::Reverse;
        self.saved_value.clear();
        match self.upper_bound.clone() {
            Some(ub) => {
                // The first entry at or after the bound, then one back.
                self.inner.seek(&seek_key(&ub, MAX_SEQUENCE_NUMBER));
                if self.inner.valid() {
                    self.inner.prev();
                } else {
                    self.inner.seek_to_last();
                }
            }
            None => self.inner.seek_to_last(),
        }
        self.find_prev_user_entry();
    }

    /// Moves to the first key `>= key` (clamped to the bounds).
    pub fn seek(&mut self, key: &[u8]) {
        if self.owner_closed() {
            return;
        }
        self.direction = Direction::Forward;
        self.saved_value.clear();
        let target = match &self.lower_bound {
            Some(lb) if key < lb.as_slice() => lb.clone(),
            _ => key.to_vec(),
        };
        self.inner.seek(&seek_key(&target, self.sequence));
        self.find_next_user_entry(false);
    }

    /// Moves to the last key `<= key` (clamped to the bounds).
    pub fn seek_for_prev(&mut self, key: &[u8]) {
        if self.owner_closed() {
            return;
        }
        self.direction = Direction::Reverse;
        self.saved_value.clear();
        // The first entry after every entry of `key`: (key, seq 0, kind 0) sorts last among
        // them, and sequence 0 is never written.
        let mut after = Vec::with_capacity(key.len() + 8);
        append_internal_key(&mut after, key, 0, 0);
        if let Some(ub) = &self.upper_bound {
            if key >= ub.as_slice() {
                after = seek_key(ub, MAX_SEQUENCE_NUMBER);
            }
        }
        self.inner.seek(&after);
        if self.inner.valid() {
            self.inner.prev();
        } else {
            self.inner.seek_to_last();
        }
        self.find_prev_user_entry();
    }

    /// Moves to the next key. Requires `valid()`.
    pub fn next(&mut self) {
        if self.owner_closed() {
            return;
        }
        if !self.valid {
            return;
        }
        if self.direction == Direction::Reverse {
            // The inner iterator sits before the entries of saved_key: step onto them, then
            // skip them all.
            self.direction = Direction::Forward;
            if self.inner.valid() {
                self.inner.next();
            } else {
                self.inner.seek_to_first();
            }
        } else {
            self.saved_key.clear();
            self.saved_key
                .extend_from_slice(crate::key::user_key(self.inner.key()));
            self.inner.next();
        }
        self.find_next_user_entry(true);
    }

    /// Moves to the previous key. Requires `valid()`.
    pub fn prev(&mut self) {
        if self.owner_closed() {
            return;
        }
        if !self.valid {
            return;
        }
        if self.direction == Direction::Forward {
            // Step back past every entry of the current user key.
            self.saved_key.clear();
            self.saved_key
                .extend_from_slice(crate::key::user_key(self.inner.key()));
            loop {
                self.inner.prev();
                if !self.inner.valid() {
                    self.valid = false;
                    self.saved_key.clear();
                    self.saved_value.clear();
                    self.check_inner_status();
                    return;
                }
                if crate::key::user_key(self.inner.key()) < self.saved_key.as_slice() {
                    break;
                }
            }
            self.direction = Direction::Reverse;
        }
        self.find_prev_user_entry();
    }

    /// The current user key. Requires `valid()`.
    pub fn key(&self) -> &[u8] {
        assert!(self.valid, "DbIterator::key on an invalid iterator");
        match self.direction {
            Direction::Forward => crate::key::user_key(self.inner.key()),
            Direction::Reverse => &self.saved_key,
        }
    }

    /// The current value. Requires `valid()`.
    pub fn value(&self) -> &[u8] {
        assert!(self.valid, "DbIterator::value on an invalid iterator");
        match self.direction {
            Direction::Forward => self.inner.value(),
            Direction::Reverse => &self.saved_value,
        }
    }

    /// `Ok` unless an error stopped the iteration.
    ///
    /// Errors: [`Error::Io`] or [`Error::Corruption`] from the files read;
    /// [`Error::Closed`] if the database was closed before the last move.
    pub fn status(&self) -> Result<()> {
        if let Some(e) = &self.error {
            return Err(e.duplicate());
        }
        self.inner.status()
    }

    fn check_inner_status(&mut self) {
        if let Err(e) = self.inner.status() {
            self.error.get_or_insert(e);
            self.valid = false;
        }
    }

    fn corrupt_key(&mut self) {
        self.error.get_or_insert(Error::corruption(
            "<iterator>",
            0,
            "an internal key has an unknown kind or is too short",
        ));
        self.valid = false;
    }

    /// Forward: moves the inner iterator to the newest visible entry of the next user key that
    /// is not deleted. With `skipping`, entries of user keys `<= saved_key` are hidden.
    fn find_next_user_entry(&mut self, mut skipping: bool) {
        while self.inner.valid() {
            let Some(p) = parse_internal_key(self.inner.key()) else {
                return self.corrupt_key();
            };
            if p.seq <= self.sequence {
                let hidden = skipping && p.user_key.cmp(&self.saved_key) != Ordering::Greater;
                if !hidden {
                    match p.kind {
                        ValueKind::Delete => {
                            // Every older entry of this key is hidden by the tombstone.
                            self.saved_key.clear();
                            self.saved_key.extend_from_slice(p.user_key);
                            skipping = true;
                        }
                        ValueKind::Put => {
                            if let Some(ub) = &self.upper_bound {
                                if p.user_key >= ub.as_slice() {
                                    break;
                                }
                            }
                            self.valid = true;
                            return;
                        }
                    }
                }
            }
            self.inner.next();
        }
        self.saved_key.clear();
        self.valid = false;
        self.check_inner_status();
    }

    /// Backward: from the inner position, finds the previous user key whose newest visible
    /// entry is a value, saving it; the inner iterator ends before that key's entries.
    fn find_prev_user_entry(&mut self) {
        let mut kind = ValueKind::Delete;
        self.saved_key.clear();
        self.saved_value.clear();
        while self.inner.valid() {
            let Some(p) = parse_internal_key(self.inner.key()) else {
                return self.corrupt_key();
            };
            if p.seq <= self.sequence {
                if kind != ValueKind::Delete && p.user_key < self.saved_key.as_slice() {
                    // Moved onto an older user key: saved_key's newest visible entry is known.
                    break;
                }
                if let Some(lb) = &self.lower_bound {
                    if p.user_key < lb.as_slice() && kind == ValueKind::Delete {
                        break;
                    }
                }
                kind = p.kind;
                match p.kind {
                    ValueKind::Delete => {
                        self.saved_key.clear();
                        self.saved_value.clear();
                    }
                    ValueKind::Put => {
                        self.saved_key.clear();
                        self.saved_key.extend_from_slice(p.user_key);
                        self.saved_value.clear();
                        self.saved_value.extend_from_slice(self.inner.value());
                    }
                }
            }
            self.inner.prev();
        }
        self.check_inner_status();
        if self.error.is_some() {
            return;
        }
        let below_lower = match &self.lower_bound {
            Some(lb) => self.saved_key.as_slice() < lb.as_slice(),
            None => false,
        };
        if kind == ValueKind::Delete || below_lower {
            self.valid = false;
            self.saved_key.clear();
            self.saved_value.clear();
            self.direction = Direction::Forward;
        } else {
            self.valid = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iterator::MergingIterator;
    use crate::memtable::MemTable;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn build(ops: &[(&str, Option<&str>)]) -> (Arc<MemTable>, Arc<MemTable>) {
        // Alternate ops between two memtables so the merge matters.
        let a = Arc::new(MemTable::new(1, 1 << 20));
        let b = Arc::new(MemTable::new(2, 1 << 20));
        for (i, (k, v)) in ops.iter().enumerate() {
            let t = if i % 2 == 0 { &a } else { &b };
            let seq = i as u64 + 1;
            match v {
                Some(v) => t.add(seq, ValueKind::Put, k.as_bytes(), v.as_bytes()),
                None => t.add(seq, ValueKind::Delete, k.as_bytes(), b""),
            }
        }
        (a, b)
    }

    fn iter_at(
        t: &(Arc<MemTable>, Arc<MemTable>),
        seq: u64,
        lb: Option<&str>,
        ub: Option<&str>,
    ) -> DbIterator {
        let m = MergingIterator::new(vec![Box::new(t.0.iter()), Box::new(t.1.iter())]);
        DbIterator::new(
            Box::new(m),
            seq,
            lb.map(|s| s.as_bytes().to_vec()),
            ub.map(|s| s.as_bytes().to_vec()),
            Box::new(()),
        )
    }

    fn model(ops: &[(&str, Option<&str>)], seq: u64) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        for (k, v) in ops.iter().take(seq as usize) {
            match v {
                Some(v) => m.insert(k.to_string(), v.to_string()),
                None => m.remove(*k),
            };
        }
        m
    }

    #[test]
    fn forward_backward_bounds_and_sequences_match_model() {
        let ops: Vec<(&str, Option<&str>)> = vec![
            ("b", Some("1")),
            ("a", Some("2")),
            ("c", Some("3")),
            ("b", None),
            ("d", Some("4")),
            ("a", Some("5")),
            ("e", Some("6")),
            ("e", None),
            ("c", Some("7")),
            ("f", Some("8")),
        ];
        let t = build(&ops);
        for seq in 0..=ops.len() as u64 {
            for (lb, ub) in [
                (None, None),
                (Some("b"), Some("e")),
                (Some("c"), None),
                (None, Some("c")),
            ] {
                let want: Vec<(String, String)> = model(&ops, seq)
                    .into_iter()
                    .filter(|(k, _)| lb.is_none_or(|l| k.as_str() >= l))
                    .filter(|(k, _)| ub.is_none_or(|u| k.as_str() < u))
                    .collect();
                let mut it = iter_at(&t, seq, lb, ub);
                let mut fwd = Vec::new();
                it.seek_to_first();
                while it.valid() {
                    fwd.push((
                        String::from_utf8(it.key().to_vec()).unwrap(),
                        String::from_utf8(it.value().to_vec()).unwrap(),
                    ));
                    it.next();
                }
                assert_eq!(fwd, want, "forward seq={seq} lb={lb:?} ub={ub:?}");
                let mut bwd = Vec::new();
                it.seek_to_last();
                while it.valid() {
                    bwd.push((
                        String::from_utf8(it.key().to_vec()).unwrap(),
                        String::from_utf8(it.value().to_vec()).unwrap(),
                    ));
                    it.prev();
                }
                bwd.reverse();
                assert_eq!(bwd, want, "backward seq={seq} lb={lb:?} ub={ub:?}");
                // Zig-zag: next then prev returns to the same key.
                it.seek_to_first();
                if it.valid() {
                    let first = it.key().to_vec();
                    it.next();
                    if it.valid() {
                        it.prev();
                        assert_eq!(it.key(), first.as_slice());
                    }
                }
            }
        }
    }

    #[test]
    fn seek_and_seek_for_prev() {
        let ops = vec![
            ("b", Some("1")),
            ("d", Some("2")),
            ("f", Some("3")),
            ("d", None),
        ];
        let t = build(&ops);
        let mut it = iter_at(&t, 10, None, None);
        it.seek(b"c");
        assert_eq!(it.key(), b"f");
        it.seek_for_prev(b"e");
        assert_eq!(it.key(), b"b");
        it.seek_for_prev(b"f");
        assert_eq!(it.key(), b"f");
        it.seek(b"g");
        assert!(!it.valid());
        it.seek_for_prev(b"a");
        assert!(!it.valid());
        assert!(it.status().is_ok());
    }
}
