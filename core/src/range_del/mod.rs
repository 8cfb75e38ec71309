//! Range deletion: one write that deletes every key in `[start, end)`.
//!
//! The design follows RocksDB's (its wiki's "DeleteRange" and "DeleteRange Implementation"
//! pages): a range deletion is a *range tombstone* `[start, end) @ seq`, kept beside the
//! point entries rather than among them, and it hides every entry of a key in the range
//! whose sequence number is below `seq`, for every reader whose sequence number is at or
//! above `seq`. Writing one is O(1) whatever the number of keys it covers.
//!
//! Where range tombstones live:
//!
//! - a [`WriteBatch`](crate::WriteBatch) record of its own kind, so the WAL carries them
//!   (`batch.rs`);
//! - a list beside each memtable's skip list (`memtable/mod.rs`);
//! - a range-deletion block in each SSTable that has any, between the data blocks and the
//!   filter block (`block.rs`), counted in the table's properties and in the manifest's
//!   record of the file, whose key range is widened to cover them.
//!
//! How reads respect them: tombstones that overlap are cut into non-overlapping
//! *fragments* ([`FragmentedTombstones`]), each with the sequence numbers of every tombstone
//! covering it, so "is `key@s` deleted for a reader at `r`?" is one binary search. A point
//! lookup asks that of the newest entry it finds. An iterator wraps each of its sources in a
//! `RangeDelFilter` (`filter.rs`), which hides covered entries and, when the source's newest entry is
//! older than the fragment's tombstone, seeks past the fragment in one step instead of
//! stepping over the deleted keys one by one.
//!
//! Compaction drops the entries a tombstone covers once no snapshot can tell them apart
//! (tombstone and entry in the same snapshot stripe), keeps the tombstones clipped to each
//! output file's key range, and drops a tombstone itself at the bottom level once no
//! snapshot is older than it (`table_writer.rs`, `compaction/job.rs`).

mod block;
mod filter;
mod fragment;

pub(crate) use block::{decode_block, encode_block};
pub(crate) use filter::RangeDelFilter;
pub use fragment::{Fragment, FragmentedTombstones};

use crate::key::SequenceNumber;

/// One range deletion: every key `k` with `start <= k < end` (bytewise) is deleted as of
/// sequence number `seq`. A tombstone with `start >= end` covers nothing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RangeTombstone {
    /// First key covered (inclusive).
    pub start: Vec<u8>,
    /// First key not covered (exclusive).
    pub end: Vec<u8>,
    /// The sequence number of the write that made it.
    pub seq: SequenceNumber,
}

impl RangeTombstone {
    /// The tombstone `[start, end) @ seq`.
    pub fn new(start: &[u8], end: &[u8], seq: SequenceNumber) -> Self {
        RangeTombstone {
            start: start.to_vec(),
            end: end.to_vec(),
            seq,
        }
    }

    /// True if `user_key` is in `[start, end)`.
    pub fn contains(&self, user_key: &[u8]) -> bool {
        self.start.as_slice() <= user_key && user_key < self.end.as_slice()
    }
}

/// The largest user key a file holding a tombstone piece that ends at `end` must claim in
/// its key range (inclusive bound), so that files of one level stay disjoint by user key.
///
/// `end` is exclusive; when it is the immediate successor `q ++ [0]` of a key `q` (as the
/// pieces cut at an output file boundary are), the piece covers nothing past `q` and `q` is
/// exact. Otherwise the bound is `end` itself, one key more than the piece covers: harmless,
/// as every level's placement treats ranges as inclusive, so a compaction that moves the
/// file also takes the file that may start at `end`.
pub(crate) fn claimed_largest(end: &[u8]) -> &[u8] {
    match end.split_last() {
        Some((0, q)) if !q.is_empty() => q,
        _ => end,
    }
}

/// The smallest key greater than `key` in bytewise order: `key ++ [0]`.
pub(crate) fn successor(key: &[u8]) -> Vec<u8> {
    let mut s = Vec::with_capacity(key.len() + 1);
    s.extend_from_slice(key);
    s.push(0);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claimed_largest_is_exact_for_successor_ends() {
        assert_eq!(claimed_largest(&successor(b"abc")), b"abc");
        assert_eq!(claimed_largest(b"abd"), b"abd");
        assert_eq!(claimed_largest(b"\0"), b"\0");
        let t = RangeTombstone::new(b"b", b"d", 7);
        assert!(t.contains(b"b") && t.contains(b"c\xff") && !t.contains(b"d"));
        assert!(!t.contains(b"a"));
    }
}
