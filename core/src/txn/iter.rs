//! [`TxnIterator`]: a transaction's own writes merged into its snapshot's view.
//!
//! Two sorted sources, merged the way RocksDB's `BaseDeltaIterator` merges a write batch
//! with a database iterator: the *base* (a [`DbIterator`] at the transaction's snapshot)
//! and the *delta* (the transaction's write buffer, a sorted map where `None` is a delete).
//! At equal keys the delta wins, and a delete in the delta hides the base's entry. Both
//! directions work; changing direction repositions both sources around the current key.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use super::conflict::{KeyRange, RangeEnd};
use super::TxnShared;
use crate::error::{Error, Result};
use crate::iterator::DbIterator;

/// A transaction's write buffer: key → `Some(value)` for a put, `None` for a delete.
pub(crate) type WriteBuffer = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forward,
    Reverse,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Current {
    None,
    Base,
    Delta,
}

/// A cursor over what a transaction sees: its snapshot plus its own writes, in key order,
/// in both directions, within the bounds and prefix it was created with.
///
/// Created by [`Transaction::iter`](super::Transaction::iter). It sees the transaction's
/// writes as they were when it was created (later writes through the transaction are not
/// shown; create a new iterator to see them). Under
/// [`IsolationLevel::Serializable`](super::IsolationLevel::Serializable) every key range it
/// moves across is added to the transaction's read set, so a concurrent commit into a range
/// it scanned (a phantom) makes the commit fail.
///
/// Like [`DbIterator`], positioning methods do not return errors: the iterator becomes
/// invalid and [`status`](Self::status) returns the error. Once the transaction is committed
/// or rolled back, every move leaves it invalid with an [`Error::InvalidArgument`] status.
pub struct TxnIterator {
    base: DbIterator,
    delta: Arc<WriteBuffer>,
    delta_key: Option<Vec<u8>>,
    lower: Option<Vec<u8>>,
    upper: Option<Vec<u8>>,
    direction: Direction,
    current: Current,
    txn: Arc<TxnShared>,
    error: Option<Error>,
}

impl TxnIterator {
    pub(crate) fn new(
        base: DbIterator,
        delta: Arc<WriteBuffer>,
        lower: Option<Vec<u8>>,
        upper: Option<Vec<u8>>,
        txn: Arc<TxnShared>,
    ) -> Self {
        TxnIterator {
            base,
            delta,
            delta_key: None,
            lower,
            upper,
            direction: Direction::Forward,
            current: Current::None,
            txn,
            error: None,
        }
    }

    /// True if the iterator is on an entry.
    pub fn valid(&self) -> bool {
        self.current != Current::None
    }

    /// The current key. Requires `valid()`.
    pub fn key(&self) -> &[u8] {
        match self.current {
            Current::Base => self.base.key(),
            Current::Delta => self.delta_key.as_deref().expect("delta is positioned"),
            Current::None => panic!("TxnIterator::key on an invalid iterator"),
        }
    }

    /// The current value. Requires `valid()`.
    pub fn value(&self) -> &[u8] {
        match self.current {
            Current::Base => self.base.value(),
            Current::Delta => {
                let k = self.delta_key.as_deref().expect("delta is positioned");
                self.delta
                    .get(k)
                    .and_then(|v| v.as_deref())
                    .expect("the delta's current entry is a put")
            }
            Current::None => panic!("TxnIterator::value on an invalid iterator"),
        }
    }

    /// `Ok` unless an error stopped the iteration.
    ///
    /// Errors: as [`DbIterator::status`]; [`Error::InvalidArgument`] if the transaction
    /// was finished before the last move.
    pub fn status(&self) -> Result<()> {
        if let Some(e) = &self.error {
            return Err(e.duplicate());
        }
        self.base.status()
    }

    /// Moves to the first key at or above the lower bound.
    pub fn seek_to_first(&mut self) {
        if !self.start_move() {
            return;
        }
        self.direction = Direction::Forward;
        self.base.seek_to_first();
        let from = self.lower.clone().unwrap_or_default();
        self.delta_key = self.delta_at_or_after(&from);
        self.settle_forward();
        self.record_forward(from);
    }

    /// Moves to the first key `>= key` (clamped to the bounds).
    pub fn seek(&mut self, key: &[u8]) {
        if !self.start_move() {
            return;
        }
        self.direction = Direction::Forward;
        self.base.seek(key);
        let from = match &self.lower {
            Some(lb) if key < lb.as_slice() => lb.clone(),
            _ => key.to_vec(),
        };
        self.delta_key = self.delta_at_or_after(&from);
        self.settle_forward();
        self.record_forward(from);
    }

    /// Moves to the last key below the upper bound.
    pub fn seek_to_last(&mut self) {
        if !self.start_move() {
            return;
        }
        self.direction = Direction::Reverse;
        self.base.seek_to_last();
        self.delta_key = match &self.upper {
            Some(ub) => self.delta_before(&ub.clone()),
            None => self
                .delta
                .keys()
                .next_back()
                .filter(|k| self.above_lower(k))
                .cloned(),
        };
        self.settle_reverse();
        let to = match &self.upper {
            Some(ub) => RangeEnd::Excluded(ub.clone()),
            None => RangeEnd::Unbounded,
        };
        self.record_reverse(to);
    }

    /// Moves to the last key `<= key` (clamped to the bounds).
    pub fn seek_for_prev(&mut self, key: &[u8]) {
        if !self.start_move() {
            return;
        }
        self.direction = Direction::Reverse;
        self.base.seek_for_prev(key);
        let to = match &self.upper {
            Some(ub) if key >= ub.as_slice() => {
                let ub = ub.clone();
                self.delta_key = self.delta_before(&ub);
                RangeEnd::Excluded(ub)
            }
            _ => {
                self.delta_key = self.delta_at_or_before(key);
                RangeEnd::Included(key.to_vec())
            }
        };
        self.settle_reverse();
        self.record_reverse(to);
    }

    /// Moves to the next key. Requires `valid()`.
    pub fn next(&mut self) {
        if !self.valid() || !self.start_move() {
            return;
        }
        let cur = self.key().to_vec();
        if self.direction == Direction::Reverse {
            // Put both sources on the first entry after `cur`.
            self.direction = Direction::Forward;
            self.base.seek(&cur);
            if self.base.valid() && self.base.key() == cur.as_slice() {
                self.base.next();
            }
            self.delta_key = self.delta_after(&cur);
        } else {
            if self.current == Current::Delta {
                // The base may sit on the same key, hidden by the delta: step over it.
                if self.base.valid() && self.base.key() == cur.as_slice() {
                    self.base.next();
                }
                self.delta_key = self.delta_after(&cur);
            } else {
                self.base.next();
            }
        }
        self.settle_forward();
        self.record_forward(cur);
    }

    /// Moves to the previous key. Requires `valid()`.
    pub fn prev(&mut self) {
        if !self.valid() || !self.start_move() {
            return;
        }
        let cur = self.key().to_vec();
        if self.direction == Direction::Forward {
            self.direction = Direction::Reverse;
            self.base.seek_for_prev(&cur);
            if self.base.valid() && self.base.key() == cur.as_slice() {
                self.base.prev();
            }
            self.delta_key = self.delta_before(&cur);
        } else if self.current == Current::Delta {
            if self.base.valid() && self.base.key() == cur.as_slice() {
                self.base.prev();
            }
            self.delta_key = self.delta_before(&cur);
        } else {
            self.base.prev();
        }
        self.settle_reverse();
        self.record_reverse(RangeEnd::Included(cur));
    }

    /// False (and the iterator made invalid) if the transaction is finished.
    fn start_move(&mut self) -> bool {
        if let Err(e) = self.txn.check_active() {
            self.error.get_or_insert(e);
            self.current = Current::None;
            return false;
        }
        true
    }

    /// Picks the smaller of the two sources' keys, skipping the delta's deletes (and the
    /// base entries they hide).
    fn settle_forward(&mut self) {
        loop {
            let Some(dk) = self.delta_key.as_deref() else {
                self.current = if self.base.valid() {
                    Current::Base
                } else {
                    Current::None
                };
                return;
            };
            let base_cmp = self.base.valid().then(|| self.base.key().cmp(dk));
            if base_cmp == Some(std::cmp::Ordering::Less) {
                self.current = Current::Base;
                return;
            }
            if self.delta.get(dk).is_some_and(|v| v.is_some()) {
                self.current = Current::Delta;
                return;
            }
            // A delete in the delta: hide the base's entry of the same key, move on.
            let dk = dk.to_vec();
            if base_cmp == Some(std::cmp::Ordering::Equal) {
                self.base.next();
            }
            self.delta_key = self.delta_after(&dk);
        }
    }

    /// Picks the larger of the two sources' keys, skipping the delta's deletes.
    fn settle_reverse(&mut self) {
        loop {
            let Some(dk) = self.delta_key.as_deref() else {
                self.current = if self.base.valid() {
                    Current::Base
                } else {
                    Current::None
                };
                return;
            };
            let base_cmp = self.base.valid().then(|| self.base.key().cmp(dk));
            if base_cmp == Some(std::cmp::Ordering::Greater) {
                self.current = Current::Base;
                return;
            }
            if self.delta.get(dk).is_some_and(|v| v.is_some()) {
                self.current = Current::Delta;
                return;
            }
            let dk = dk.to_vec();
            if base_cmp == Some(std::cmp::Ordering::Equal) {
                self.base.prev();
            }
            self.delta_key = self.delta_before(&dk);
        }
    }

    fn below_upper(&self, k: &[u8]) -> bool {
        self.upper.as_deref().is_none_or(|ub| k < ub)
    }

    fn above_lower(&self, k: &[u8]) -> bool {
        self.lower.as_deref().is_none_or(|lb| k >= lb)
    }

    fn delta_at_or_after(&self, k: &[u8]) -> Option<Vec<u8>> {
        self.delta_first((Bound::Included(k), Bound::Unbounded))
    }

    fn delta_after(&self, k: &[u8]) -> Option<Vec<u8>> {
        self.delta_first((Bound::Excluded(k), Bound::Unbounded))
    }

    fn delta_at_or_before(&self, k: &[u8]) -> Option<Vec<u8>> {
        self.delta_last((Bound::Unbounded, Bound::Included(k)))
    }

    fn delta_before(&self, k: &[u8]) -> Option<Vec<u8>> {
        self.delta_last((Bound::Unbounded, Bound::Excluded(k)))
    }

    fn delta_first(&self, range: (Bound<&[u8]>, Bound<&[u8]>)) -> Option<Vec<u8>> {
        self.delta
            .range::<[u8], _>(range)
            .next()
            .map(|(k, _)| k)
            .filter(|k| self.below_upper(k))
            .cloned()
    }

    fn delta_last(&self, range: (Bound<&[u8]>, Bound<&[u8]>)) -> Option<Vec<u8>> {
        self.delta
            .range::<[u8], _>(range)
            .next_back()
            .map(|(k, _)| k)
            .filter(|k| self.above_lower(k))
            .cloned()
    }

    /// Records, for a serializable transaction, that keys from `from` up to where a forward
    /// move stopped were read (up to the upper bound if it ran off the end).
    fn record_forward(&mut self, from: Vec<u8>) {
        if !self.txn.tracks_reads() {
            return;
        }
        let end = if self.valid() {
            RangeEnd::Included(self.key().to_vec())
        } else {
            match &self.upper {
                Some(ub) => RangeEnd::Excluded(ub.clone()),
                None => RangeEnd::Unbounded,
            }
        };
        self.txn.record_read(KeyRange { start: from, end });
    }

    /// Records, for a serializable transaction, that keys from where a backward move
    /// stopped (the lower bound if it ran off the start) up to `to` were read.
    fn record_reverse(&mut self, to: RangeEnd) {
        if !self.txn.tracks_reads() {
            return;
        }
        let start = if self.valid() {
            self.key().to_vec()
        } else {
            self.lower.clone().unwrap_or_default()
        };
        self.txn.record_read(KeyRange { start, end: to });
    }
}
