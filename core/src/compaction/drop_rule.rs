//! [`DropRule`]: which entries of a compaction's merged input survive.
//!
//! The input arrives in internal-key order: user key ascending, then sequence number
//! descending, so the versions of one key come newest first. A reader at sequence number
//! `r` (the present, or a live snapshot) sees the newest version with `seq <= r`. Split the
//! sequence numbers into *stripes* by the live snapshots `s1 < s2 < ... < sk`:
//! `[0, s1]`, `(s1, s2]`, ..., `(sk, ∞)`. Every reader's view of a key is the newest version
//! in its own stripe or in a newer one, so within one stripe only the newest version can ever
//! be seen: every other one is dropped (RocksDB's `CompactionIterator`; LevelDB's
//! `DoCompactionWork` does the same with only the oldest snapshot).
//!
//! A tombstone is needed only to hide older versions of its key below the output level. At
//! the bottommost level there are none, so a tombstone in the earliest stripe (no live
//! snapshot older than it, which could still see an older value) is dropped too; every older
//! version of its key is in that same stripe and is already dropped as hidden.

use crate::error::{Error, Result};
use crate::key::{parse_internal_key, SequenceNumber, ValueKind};

/// Decides, entry by entry, what a compaction keeps. Feed it every input key in order.
pub(crate) struct DropRule {
    /// Live snapshot sequence numbers, ascending.
    snapshots: Vec<SequenceNumber>,
    bottommost: bool,
    current_user_key: Vec<u8>,
    has_current: bool,
    /// Stripe of the last entry seen for the current user key.
    last_stripe: usize,
    dropped: u64,
}

impl DropRule {
    /// A filter for a compaction with these live snapshots (any order) whose output is
    /// `bottommost` (nothing older below it in the key range).
    pub(crate) fn new(mut snapshots: Vec<SequenceNumber>, bottommost: bool) -> Self {
        snapshots.sort_unstable();
        snapshots.dedup();
        DropRule {
            snapshots,
            bottommost,
            current_user_key: Vec::new(),
            has_current: false,
            last_stripe: 0,
            dropped: 0,
        }
    }

    /// Index of the stripe of `seq`: the number of snapshots below it.
    fn stripe(&self, seq: SequenceNumber) -> usize {
        self.snapshots.partition_point(|&s| s < seq)
    }

    /// True if the entry with `internal_key` (the next in order) is kept.
    ///
    /// Errors: [`Error::Corruption`] for a malformed internal key.
    pub(crate) fn keep(&mut self, internal_key: &[u8]) -> Result<bool> {
        let p = parse_internal_key(internal_key)
            .ok_or_else(|| Error::corruption("<compaction input>", 0, "malformed internal key"))?;
        let stripe = self.stripe(p.seq);
        let first_of_key = !self.has_current || self.current_user_key != p.user_key;
        if first_of_key {
            self.current_user_key.clear();
            self.current_user_key.extend_from_slice(p.user_key);
            self.has_current = true;
        } else if stripe == self.last_stripe {
            // A newer version of this key in the same stripe hides this one from everyone.
            self.dropped += 1;
            return Ok(false);
        }
        self.last_stripe = stripe;
        if p.kind == ValueKind::Delete && self.bottommost && stripe == 0 {
            self.dropped += 1;
            return Ok(false);
        }
        Ok(true)
    }

    /// Entries dropped so far.
    #[allow(dead_code)] // read by tests; kept for compaction logs
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{compare_internal_keys, make_internal_key, MAX_SEQUENCE_NUMBER};

    /// The value a reader at `at` sees for `key` in `entries` (sorted), None if absent or
    /// deleted.
    fn read(entries: &[(Vec<u8>, u8)], key: &[u8], at: u64) -> Option<u8> {
        for (ikey, v) in entries {
            let p = parse_internal_key(ikey).unwrap();
            if p.user_key == key && p.seq <= at {
                return match p.kind {
                    ValueKind::Put => Some(*v),
                    ValueKind::Delete => None,
                };
            }
        }
        None
    }

    fn xorshift(s: &mut u64) -> u64 {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        *s
    }

    #[test]
    fn keeps_the_newest_per_stripe() {
        let k = |seq, kind| make_internal_key(b"k", seq, kind);
        let mut f = DropRule::new(vec![5], false);
        assert!(f.keep(&k(9, ValueKind::Put)).unwrap());
        assert!(!f.keep(&k(7, ValueKind::Put)).unwrap(), "same stripe as 9");
        assert!(
            f.keep(&k(5, ValueKind::Put)).unwrap(),
            "newest seen by snapshot 5"
        );
        assert!(!f.keep(&k(2, ValueKind::Put)).unwrap());
        assert_eq!(f.dropped(), 2);
    }

    #[test]
    fn tombstones_drop_only_at_the_bottom_below_every_snapshot() {
        let k = |seq, kind| make_internal_key(b"k", seq, kind);
        let mut f = DropRule::new(vec![], true);
        assert!(!f.keep(&k(9, ValueKind::Delete)).unwrap());
        assert!(!f.keep(&k(3, ValueKind::Put)).unwrap());
        let mut f = DropRule::new(vec![], false);
        assert!(f.keep(&k(9, ValueKind::Delete)).unwrap(), "not bottommost");
        let mut f = DropRule::new(vec![4], true);
        assert!(
            f.keep(&k(9, ValueKind::Delete)).unwrap(),
            "snapshot 4 sees the value at 3"
        );
        assert!(f.keep(&k(3, ValueKind::Put)).unwrap());
    }

    #[test]
    fn every_reader_sees_the_same_after_filtering() {
        let mut seed = 0x1234_5678_9abc_def1u64;
        for _case in 0..2000 {
            let mut entries: Vec<(Vec<u8>, u8)> = Vec::new();
            let n = 1 + xorshift(&mut seed) % 30;
            for seq in 1..=n {
                let key = [b'a' + (xorshift(&mut seed) % 4) as u8];
                let kind = if xorshift(&mut seed).is_multiple_of(3) {
                    ValueKind::Delete
                } else {
                    ValueKind::Put
                };
                entries.push((make_internal_key(&key, seq, kind), seq as u8));
            }
            entries.sort_by(|a, b| compare_internal_keys(&a.0, &b.0));
            let snapshots: Vec<u64> = (0..xorshift(&mut seed) % 4)
                .map(|_| xorshift(&mut seed) % (n + 1))
                .collect();
            let bottommost = xorshift(&mut seed).is_multiple_of(2);
            let mut f = DropRule::new(snapshots.clone(), bottommost);
            let kept: Vec<_> = entries
                .iter()
                .filter(|(k, _)| f.keep(k).unwrap())
                .cloned()
                .collect();
            for at in snapshots.iter().copied().chain([MAX_SEQUENCE_NUMBER]) {
                for key in [b"a", b"b", b"c", b"d"] {
                    assert_eq!(
                        read(&kept, key, at),
                        read(&entries, key, at),
                        "key {key:?} at {at}, snapshots {snapshots:?}, bottommost {bottommost}"
                    );
                }
            }
            if !bottommost {
                // Above the bottom, the newest entry of every key must survive, tombstone or
                // not (it may hide data below).
                let newest: Vec<_> = entries
                    .iter()
                    .enumerate()
                    .filter(|(i, (k, _))| {
                        *i == 0
                            || parse_internal_key(&entries[i - 1].0).unwrap().user_key
                                != parse_internal_key(k).unwrap().user_key
                    })
                    .map(|(_, e)| e.clone())
                    .collect();
                for e in newest {
                    assert!(kept.contains(&e));
                }
            }
        }
    }
}
