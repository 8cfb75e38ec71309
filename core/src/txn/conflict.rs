//! Conflict detection for optimistic transactions: the key ranges a transaction depends on,
//! and the check, made at commit, that nothing in them was written since its snapshot.
//!
//! Backward validation in the manner of Kung & Robinson, "On Optimistic Methods for
//! Concurrency Control" (1981), as RocksDB's optimistic transactions do it: instead of
//! keeping the write sets of recent commits, the check reads the newest sequence number of
//! each key in the memtables and in the SSTables written since the snapshot. A snapshot is
//! registered for the whole transaction, so compaction keeps the newest entry of every key
//! that changed after it (tombstones included), and the check cannot miss a write.

use crate::db::{GroupWrites, WriteCallback};
use crate::error::{Error, Result};
use crate::iterator::InternalIterator;
use crate::key::{escape_bytes, parse_internal_key, seek_key, SequenceNumber, MAX_SEQUENCE_NUMBER};
use crate::read::ReadState;

/// Where a [`KeyRange`] ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RangeEnd {
    /// Up to and including this key.
    Included(Vec<u8>),
    /// Up to but not including this key.
    Excluded(Vec<u8>),
    /// To the last key.
    Unbounded,
}

/// A range of user keys `[start, end]`; `start` is inclusive (empty = from the first key,
/// since keys are never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyRange {
    pub(crate) start: Vec<u8>,
    pub(crate) end: RangeEnd,
}

impl KeyRange {
    /// The one key `key`.
    pub(crate) fn point(key: &[u8]) -> KeyRange {
        KeyRange {
            start: key.to_vec(),
            end: RangeEnd::Included(key.to_vec()),
        }
    }

    /// True if `key` lies after the range's end.
    fn is_past_end(&self, key: &[u8]) -> bool {
        match &self.end {
            RangeEnd::Included(e) => key > e.as_slice(),
            RangeEnd::Excluded(e) => key >= e.as_slice(),
            RangeEnd::Unbounded => false,
        }
    }

    /// True if the range holds no key.
    fn is_empty(&self) -> bool {
        match &self.end {
            RangeEnd::Included(e) => self.start.as_slice() > e.as_slice(),
            RangeEnd::Excluded(e) => self.start.as_slice() >= e.as_slice(),
            RangeEnd::Unbounded => false,
        }
    }

    /// True if the range shares a key with `[start, end)`.
    fn overlaps_half_open(&self, start: &[u8], end: &[u8]) -> bool {
        start < end && end > self.start.as_slice() && !self.is_past_end(start)
    }

    /// True if the range overlaps the user keys `[smallest, largest]`.
    fn overlaps(&self, smallest: &[u8], largest: &[u8]) -> bool {
        largest >= self.start.as_slice() && !self.is_past_end(smallest)
    }
}

/// What a transaction's commit must check, made by the write leader at the transaction's
/// turn in the write queue, as its [`WriteCallback`].
pub(crate) struct CommitCheck {
    /// The keys written and, when serializable, the keys and ranges read.
    pub(crate) ranges: Vec<KeyRange>,
    /// The transaction's snapshot.
    pub(crate) since: SequenceNumber,
}

impl WriteCallback for CommitCheck {
    /// Fails with [`Error::Conflict`] if a key in the ranges was written after `since`:
    /// in the database, or by a batch ahead of this one in the same write group
    /// (`group`, not applied yet when the leader checks), including by a range deletion.
    fn check(&self, read: &ReadState, group: &GroupWrites) -> Result<()> {
        for r in &self.ranges {
            if r.is_empty() {
                continue;
            }
            if let Some((a, b)) = group
                .ranges
                .iter()
                .find(|(a, b)| r.overlaps_half_open(a, b))
            {
                return Err(Error::Conflict(format!(
                    "keys in [{}, {}) were deleted by a commit in the same write group, after \
                     the transaction's snapshot at sequence {}",
                    escape_bytes(a),
                    escape_bytes(b),
                    self.since
                )));
            }
            let first = group
                .keys
                .range::<[u8], _>((
                    std::ops::Bound::Included(r.start.as_slice()),
                    std::ops::Bound::Unbounded,
                ))
                .next();
            if let Some(k) = first.filter(|k| !r.is_past_end(k)) {
                return Err(Error::Conflict(format!(
                    "key {} was written by a commit in the same write group, after the \
                     transaction's snapshot at sequence {}",
                    escape_bytes(k),
                    self.since
                )));
            }
        }
        check_conflicts(read, &self.ranges, self.since)
    }
}

/// Fails with [`Error::Conflict`] if any entry of a key in `ranges` has a sequence
/// number above `since`. Called by the write leader, so no write can land between this
/// check and the commit that follows it.
///
/// Reads only what can hold such entries: the memtables and the SSTables whose largest
/// sequence number is above `since`, which are the few written since the snapshot
/// unless the transaction ran for a long time.
///
/// Errors: [`Error::Conflict`]; [`Error::Io`] / [`Error::Corruption`] reading a table.
fn check_conflicts(read: &ReadState, ranges: &[KeyRange], since: SequenceNumber) -> Result<()> {
    let ranges: Vec<&KeyRange> = ranges.iter().filter(|r| !r.is_empty()).collect();
    if ranges.is_empty() {
        return Ok(());
    }
    let sv = read.current();
    let mut it = sv.merged_iter(
        &read.table_source(),
        |m| m.largest_seq() > since,
        |f| {
            f.largest_seq > since
                && ranges
                    .iter()
                    .any(|r| r.overlaps(f.smallest_user_key(), f.largest_user_key()))
        },
    )?;
    for range in &ranges {
        it.seek(&seek_key(&range.start, MAX_SEQUENCE_NUMBER));
        while it.valid() {
            let p = parse_internal_key(it.key())
                .ok_or_else(|| Error::corruption("conflict check", 0, "bad internal key"))?;
            if range.is_past_end(p.user_key) {
                break;
            }
            if p.seq > since {
                return Err(Error::Conflict(format!(
                    "key {} was written at sequence {} after the transaction's snapshot \
                         at sequence {since}",
                    escape_bytes(p.user_key),
                    p.seq
                )));
            }
            // The first entry of a user key is its newest: the others are older still.
            // Skip them with a seek rather than stepping over a hot key's versions.
            let mut next_key = Vec::with_capacity(p.user_key.len() + 1);
            next_key.extend_from_slice(p.user_key);
            next_key.push(0);
            if range.is_past_end(&next_key) {
                break;
            }
            it.seek(&seek_key(&next_key, MAX_SEQUENCE_NUMBER));
        }
        it.status()?;
    }
    // Range deletions newer than the snapshot that touch a range: also writes to its keys.
    let mut tombstones: Vec<std::sync::Arc<crate::range_del::FragmentedTombstones>> = sv
        .memtables()
        .filter(|m| m.largest_seq() > since)
        .map(|m| m.range_tombstones())
        .collect();
    tombstones.push(sv.version.range_tombstones(read.tables().as_ref())?.clone());
    for t in &tombstones {
        for f in t.fragments() {
            if f.seqs[0] > since {
                if let Some(r) = ranges
                    .iter()
                    .find(|r| r.overlaps_half_open(&f.start, &f.end))
                {
                    return Err(Error::Conflict(format!(
                        "keys from {} were deleted by a range deletion at sequence {} after \
                         the transaction's snapshot at sequence {since}",
                        escape_bytes(f.start.as_slice().max(r.start.as_slice())),
                        f.seqs[0]
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = KeyRange {
            start: b"b".to_vec(),
            end: RangeEnd::Excluded(b"d".to_vec()),
        };
        assert!(!r.is_past_end(b"c"));
        assert!(r.is_past_end(b"d"));
        assert!(r.overlaps(b"a", b"b"));
        assert!(!r.overlaps(b"d", b"e"));
        assert!(!r.overlaps(b"a", b"a"));
        assert!(KeyRange::point(b"x").overlaps(b"x", b"x"));
        assert!(KeyRange {
            start: b"b".to_vec(),
            end: RangeEnd::Excluded(b"b".to_vec())
        }
        .is_empty());
        assert!(!KeyRange {
            start: Vec::new(),
            end: RangeEnd::Unbounded
        }
        .is_past_end(b"\xff\xff"));
    }
}
