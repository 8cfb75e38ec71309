//! [`ReadOptions`], and the key-range arithmetic that turns Rust ranges and prefixes into
//! an iterator's `[lower, upper)` bounds.

use std::ops::{Bound, RangeBounds};

use super::Snapshot;

/// Per-read settings for [`Db::iter`](crate::Db::iter), [`Db::get_opt`](crate::Db::get_opt),
/// [`Snapshot::iter`] and [`Transaction::iter`](crate::Transaction::iter).
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Inclusive lower bound on user keys; `None` = from the first key. Iterators only.
    pub lower_bound: Option<Vec<u8>>,
    /// Exclusive upper bound on user keys; `None` = to the last key. Iterators only.
    pub upper_bound: Option<Vec<u8>>,
    /// Only keys starting with these bytes (combined with the bounds: the iterator shows
    /// their intersection). Iterators only.
    pub prefix: Option<Vec<u8>>,
    /// Read as of this snapshot; `None` = as of the moment the read starts.
    pub snapshot: Option<Snapshot>,
}

/// The `[lower, upper)` bounds of a range of user keys.
pub(crate) fn range_to_bounds<K: AsRef<[u8]>, R: RangeBounds<K>>(
    range: R,
) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let lower_bound = match range.start_bound() {
        Bound::Included(k) => Some(k.as_ref().to_vec()),
        Bound::Excluded(k) => Some(successor(k.as_ref())),
        Bound::Unbounded => None,
    };
    let upper_bound = match range.end_bound() {
        Bound::Included(k) => Some(successor(k.as_ref())),
        Bound::Excluded(k) => Some(k.as_ref().to_vec()),
        Bound::Unbounded => None,
    };
    (lower_bound, upper_bound)
}

/// The smallest key greater than `k`: `k ++ 0x00`.
fn successor(k: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(k.len() + 1);
    v.extend_from_slice(k);
    v.push(0);
    v
}

/// The bounds `[lower, upper)` intersected with the keys starting with `prefix` (a prefix
/// is a pair of bounds).
pub(crate) fn prefix_bounds(
    mut lower: Option<Vec<u8>>,
    mut upper: Option<Vec<u8>>,
    prefix: Option<&[u8]>,
) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    if let Some(prefix) = prefix {
        if lower.as_deref().is_none_or(|lb| lb < prefix) {
            lower = Some(prefix.to_vec());
        }
        if let Some(end) = prefix_successor(prefix) {
            if upper.as_deref().is_none_or(|ub| ub > end.as_slice()) {
                upper = Some(end);
            }
        }
    }
    (lower, upper)
}

/// The smallest key greater than every key starting with `prefix`, or `None` if there is none
/// (the prefix is empty or all 0xff).
fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut v = prefix.to_vec();
    while let Some(last) = v.pop() {
        if last < 0xff {
            v.push(last + 1);
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successor_cases() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_successor(b"\xff\xff"), None);
        assert_eq!(prefix_successor(b""), None);
    }
}
