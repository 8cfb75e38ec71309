//! The bloom filter: one per table, over the table's *user* keys.
//!
//! A lookup "as of sequence s" searches for a user key whatever its sequence number, so the
//! filter must answer for user keys, not internal keys.
//!
//! ```text
//! filter block = bits: u8 * ceil(m / 8) | k: u8       (or empty: no filter)
//! ```
//!
//! - The bits form `B` blocks of 512 bits (64 bytes, one cache line): `n * bits_per_key`
//!   bits for `n` distinct user keys, rounded up to whole blocks (at least one). About 10
//!   bits per key gives about 1.2% false positives.
//! - `k` (probes) = round(bits_per_key * ln 2), clamped to `1..=30` (the optimum for a given
//!   bits per key).
//! - A key's probes all fall in one block (a *blocked* bloom filter, Putze, Sanders and
//!   Singler, "Cache-, Hash- and Space-Efficient Bloom Filters", 2007; RocksDB's format 5
//!   filters do the same): a lookup costs one cache miss instead of `k`, for a slightly
//!   higher false-positive rate. With `h = xxh64(user_key, seed 0)`, the block is
//!   `(h >> 32) mod B`; within it, probe `i` tests bit `(g + i * delta) mod 512` with
//!   `g = h as u32`, `delta = (h >> 17) | 1` (wrapping 32-bit arithmetic; double hashing,
//!   Kirsch and Mitzenmacher, "Less Hashing, Same Performance"). Bit `b` of a block is bit
//!   `b % 8` of its byte `b / 8`.
//!
//! An empty filter block (written when `bits_per_key == 0`) disables filtering:
//! [`BloomFilter::may_contain`] then always answers true.

use xxhash_rust::xxh64::xxh64;

use crate::error::{Error, Result};

/// Highest number of probes a filter may use; more only costs time.
pub const MAX_PROBES: u32 = 30;

/// The filter hash of a user key.
#[inline]
pub fn bloom_hash(user_key: &[u8]) -> u64 {
    xxh64(user_key, 0)
}

/// Bytes per filter block: one cache line.
const BLOCK_BYTES: usize = 64;

/// The `k` bit positions (in bytes of `bits`, which is whole blocks) that key hash `h` sets
/// or tests.
#[inline]
fn probe_bits(h: u64, k: u32, len: usize) -> impl Iterator<Item = usize> {
    let blocks = (len / BLOCK_BYTES).max(1) as u64;
    let base = ((h >> 32) % blocks) as usize * BLOCK_BYTES * 8;
    let delta = ((h >> 17) as u32) | 1;
    let g = h as u32;
    (0..k).map(move |i| base + (g.wrapping_add(i.wrapping_mul(delta)) % 512) as usize)
}

/// Number of probes for `bits_per_key` (see the module docs).
pub fn probes_for(bits_per_key: usize) -> u32 {
    let k = (bits_per_key as f64 * std::f64::consts::LN_2).round();
    (k as u32).clamp(1, MAX_PROBES)
}

/// Collects user-key hashes while a table is built and encodes the filter at the end.
#[derive(Debug)]
pub struct BloomFilterBuilder {
    bits_per_key: usize,
    hashes: Vec<u64>,
}

impl BloomFilterBuilder {
    /// A builder for `bits_per_key` bits per key; 0 builds the empty (disabled) filter.
    pub fn new(bits_per_key: usize) -> Self {
        BloomFilterBuilder {
            bits_per_key,
            hashes: Vec::new(),
        }
    }

    /// Records a user key. Consecutive duplicates (one user key at several sequence
    /// numbers, as tables store them) are counted once.
    pub fn add_key(&mut self, user_key: &[u8]) {
        if self.bits_per_key == 0 {
            return;
        }
        let h = bloom_hash(user_key);
        if self.hashes.last() != Some(&h) {
            self.hashes.push(h);
        }
    }

    /// The encoded filter block contents: empty if disabled.
    pub fn finish(&self) -> Vec<u8> {
        if self.bits_per_key == 0 {
            return Vec::new();
        }
        let bits = self.hashes.len().saturating_mul(self.bits_per_key);
        let bytes = bits.div_ceil(BLOCK_BYTES * 8).max(1) * BLOCK_BYTES;
        let k = probes_for(self.bits_per_key);
        let mut out = vec![0u8; bytes + 1];
        for &h in &self.hashes {
            for bit in probe_bits(h, k, bytes) {
                out[bit / 8] |= 1 << (bit % 8);
            }
        }
        out[bytes] = k as u8;
        out
    }
}

/// A decoded filter, ready for queries.
#[derive(Debug, Clone, Default)]
pub struct BloomFilter {
    /// The bit array followed by the probe count; empty when disabled.
    data: Vec<u8>,
}

impl BloomFilter {
    /// Parses filter block contents read from `file` at `offset`.
    ///
    /// Errors: [`Error::Corruption`] if the block is one byte long (no bits) or its probe
    /// count is outside `1..=30`.
    pub fn new(contents: Vec<u8>, file: &str, offset: u64) -> Result<BloomFilter> {
        if let Some(&k) = contents.last() {
            let bits = contents.len() - 1;
            if bits == 0 || !bits.is_multiple_of(BLOCK_BYTES) || k == 0 || k as u32 > MAX_PROBES {
                return Err(Error::corruption(
                    file,
                    offset + contents.len() as u64 - 1,
                    format!(
                        "bloom filter of {} bytes with {k} probes is malformed",
                        contents.len()
                    ),
                ));
            }
        }
        Ok(BloomFilter { data: contents })
    }

    /// True if `user_key` may be in the table; false only if it certainly is not.
    #[inline]
    pub fn may_contain(&self, user_key: &[u8]) -> bool {
        self.may_contain_hash(bloom_hash(user_key))
    }

    /// [`may_contain`](Self::may_contain) for a precomputed [`bloom_hash`].
    pub fn may_contain_hash(&self, h: u64) -> bool {
        let Some((&k, bits)) = self.data.split_last() else {
            return true;
        };
        probe_bits(h, k as u32, bits.len()).all(|bit| bits[bit / 8] & (1 << (bit % 8)) != 0)
    }

    /// True if this filter filters anything (it was built with `bits_per_key > 0`).
    pub fn is_enabled(&self) -> bool {
        !self.data.is_empty()
    }

    /// Size of the filter block contents in bytes (bits and probe count).
    pub fn size(&self) -> usize {
        self.data.len()
    }

    /// Number of probes, 0 when disabled.
    pub fn probes(&self) -> u32 {
        self.data.last().map_or(0, |&k| k as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(bits_per_key: usize, keys: impl Iterator<Item = Vec<u8>>) -> BloomFilter {
        let mut b = BloomFilterBuilder::new(bits_per_key);
        for k in keys {
            b.add_key(&k);
        }
        BloomFilter::new(b.finish(), "t", 0).unwrap()
    }

    fn present(i: u32) -> Vec<u8> {
        format!("key{i:08}").into_bytes()
    }

    fn absent(i: u32) -> Vec<u8> {
        format!("absent{i:08}").into_bytes()
    }

    #[test]
    fn no_false_negatives_and_low_false_positive_rate() {
        let f = build(10, (0..10_000).map(present));
        assert_eq!(f.probes(), 7);
        assert!(f.size() >= 10_000 * 10 / 8);
        for i in 0..10_000 {
            assert!(f.may_contain(&present(i)), "false negative for key {i}");
        }
        let fp = (0..10_000).filter(|&i| f.may_contain(&absent(i))).count();
        assert!(
            fp < 200,
            "false-positive rate {}% is over 2%",
            fp as f64 / 100.0
        );
    }

    #[test]
    fn small_and_empty_filters() {
        let f = build(10, std::iter::once(b"only".to_vec()));
        assert_eq!(
            f.size(),
            BLOCK_BYTES + 1,
            "one cache-line block and the probe count"
        );
        assert!(f.may_contain(b"only"));
        let empty = build(10, std::iter::empty());
        assert!(empty.is_enabled());
        assert!(!empty.may_contain(b"x"));
        assert!(!empty.may_contain(b""));
    }

    #[test]
    fn zero_bits_disables() {
        let f = build(0, (0..100).map(present));
        assert!(!f.is_enabled());
        assert_eq!((f.size(), f.probes()), (0, 0));
        assert!(f.may_contain(b"anything"));
        assert!(BloomFilter::default().may_contain(b"x"));
    }

    #[test]
    fn probes_are_clamped() {
        assert_eq!(probes_for(1), 1);
        assert_eq!(probes_for(10), 7);
        assert_eq!(probes_for(64), 30);
    }

    #[test]
    fn malformed_filters_are_corruption() {
        assert!(BloomFilter::new(vec![7], "t", 0)
            .unwrap_err()
            .is_corruption());
        assert!(BloomFilter::new(vec![0xff, 0], "t", 0)
            .unwrap_err()
            .is_corruption());
        assert!(BloomFilter::new(vec![0xff, 31], "t", 0)
            .unwrap_err()
            .is_corruption());
        let mut ok = vec![0xff; BLOCK_BYTES];
        ok.push(30);
        assert!(BloomFilter::new(ok, "t", 0).is_ok());
        let mut partial_block = vec![0xff; BLOCK_BYTES + 1];
        partial_block.push(7);
        assert!(BloomFilter::new(partial_block, "t", 0)
            .unwrap_err()
            .is_corruption());
    }
}
