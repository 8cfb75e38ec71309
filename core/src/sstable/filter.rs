//! The bloom filter: one per table, over the table's *user* keys.
//!
//! A lookup "as of sequence s" searches for a user key whatever its sequence number, so the
//! filter must answer for user keys, not internal keys.
//!
//! ```text
//! filter block = bits: u8 * ceil(m / 8) | k: u8       (or empty: no filter)
//! ```
//!
//! - `m` (bits) = max(64, n * bits_per_key) rounded up to whole bytes, for `n` distinct user
//!   keys. About 10 bits per key gives about 1% false positives.
//! - `k` (probes) = round(bits_per_key * ln 2), clamped to `1..=30` (the optimum for a given
//!   bits per key).
//! - Probing uses double hashing (Kirsch and Mitzenmacher, "Less Hashing, Same Performance"):
//!   one `h = xxh64(user_key, seed 0)`, then `delta = h.rotate_left(32)` (the high and low
//!   halves swapped) and probe `i` tests bit `(h + i * delta) mod m` (wrapping 64-bit
//!   arithmetic), bit `b` being bit `b % 8` of byte `b / 8`. Two independent-looking hashes
//!   from one hash computation give nearly the false-positive rate of `k` real hashes.
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
        let bits = self.hashes.len().saturating_mul(self.bits_per_key).max(64);
        let bytes = bits.div_ceil(8);
        let m = (bytes * 8) as u64;
        let k = probes_for(self.bits_per_key);
        let mut out = vec![0u8; bytes + 1];
        for &h in &self.hashes {
            let delta = h.rotate_left(32);
            let mut g = h;
            for _ in 0..k {
                let bit = g % m;
                out[(bit / 8) as usize] |= 1 << (bit % 8);
                g = g.wrapping_add(delta);
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
            if contents.len() < 2 || k == 0 || k as u32 > MAX_PROBES {
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
        let m = bits.len() as u64 * 8;
        let delta = h.rotate_left(32);
        let mut g = h;
        for _ in 0..k {
            let bit = g % m;
            if bits[(bit / 8) as usize] & (1 << (bit % 8)) == 0 {
                return false;
            }
            g = g.wrapping_add(delta);
        }
        true
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
        assert_eq!(f.size(), 64 / 8 + 1);
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
        assert!(BloomFilter::new(vec![0xff, 30], "t", 0).is_ok());
    }
}
