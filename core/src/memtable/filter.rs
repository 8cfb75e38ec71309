//! A bloom filter over the user keys of one memtable, so that a point lookup of a key the
//! memtable does not hold (the common case once most data is in SSTables) skips the skip-list
//! search and its cache misses. RocksDB offers the same as `memtable_whole_key_filtering`.
//!
//! The bit array is sized once from the memtable's byte budget (one bit per
//! [`BYTES_PER_BIT`] bytes) and never grows; bits are set with atomic `fetch_or`, so readers
//! probe it without locks while the single writer adds keys. Probes use double hashing
//! (Kirsch and Mitzenmacher, "Less Hashing, Same Performance", 2006) from one xxHash64.
//!
//! Ordering: the writer sets a key's bits *before* it inserts the entry and publishes the
//! sequence number (a release store); a reader loads the sequence (acquire) before probing.
//! So whenever an entry is visible at the reader's sequence, its bits are visible too and the
//! filter never hides it.

use std::sync::atomic::{AtomicU64, Ordering};

use xxhash_rust::xxh64::xxh64;

/// One filter bit per this many bytes of memtable budget: about 10 bits per key for
/// 150-byte entries.
pub const BYTES_PER_BIT: usize = 16;

/// Probes per key: close to optimal (ln 2 * bits per key) for ~10 bits per key.
const PROBES: u32 = 6;

/// A fixed-size, concurrently readable bloom filter of user keys.
pub struct MemTableFilter {
    words: Box<[AtomicU64]>,
    bits: u64,
}

impl MemTableFilter {
    /// A filter for a memtable of `budget_bytes` bytes.
    pub fn new(budget_bytes: usize) -> Self {
        let words = (budget_bytes / BYTES_PER_BIT / 64).clamp(16, 1 << 24);
        MemTableFilter {
            words: (0..words).map(|_| AtomicU64::new(0)).collect(),
            bits: words as u64 * 64,
        }
    }

    fn probes(&self, user_key: &[u8]) -> impl Iterator<Item = u64> + '_ {
        let h = xxh64(user_key, 0);
        let delta = h.rotate_left(32) | 1;
        (0..PROBES as u64).map(move |i| h.wrapping_add(i.wrapping_mul(delta)) % self.bits)
    }

    /// Adds `user_key`.
    pub fn add(&self, user_key: &[u8]) {
        for bit in self.probes(user_key) {
            self.words[(bit / 64) as usize].fetch_or(1 << (bit % 64), Ordering::Relaxed);
        }
    }

    /// False only if `user_key` was never added.
    pub fn may_contain(&self, user_key: &[u8]) -> bool {
        self.probes(user_key).all(|bit| {
            self.words[(bit / 64) as usize].load(Ordering::Relaxed) & (1 << (bit % 64)) != 0
        })
    }

    /// Bytes of the bit array.
    pub fn size_bytes(&self) -> usize {
        self.words.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let f = MemTableFilter::new(10_000 * 150);
        for i in 0..10_000 {
            f.add(format!("key{i}").as_bytes());
        }
        assert!((0..10_000).all(|i| f.may_contain(format!("key{i}").as_bytes())));
        let fp = (0..10_000)
            .filter(|i| f.may_contain(format!("other{i}").as_bytes()))
            .count();
        assert!(fp < 300, "{fp} false positives in 10,000");
    }
}
