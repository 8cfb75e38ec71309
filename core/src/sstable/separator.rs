//! Shortened index keys (LevelDB's `FindShortestSeparator` / `FindShortSuccessor`).
//!
//! An index entry's key only has to be `>=` every key of its block and `<` every key of the
//! next block. Instead of the block's last key, the builder stores the shortest such key it
//! can find cheaply: for last key `"the quick brown fox"@9` and next key `"the who"@4` it
//! stores `"the r"@MAX`, which makes the in-memory index smaller.
//!
//! A shortened key's user key lies *strictly between* the two neighbouring user keys, so it
//! sorts after every entry of the last user key and before every entry of the next one,
//! whatever their sequence numbers. It carries the trailer of a seek key
//! (`MAX_SEQUENCE_NUMBER`, `KIND_FOR_SEEK`) only to be a well-formed internal key. When no
//! shorter user key fits (one user key is a prefix of the other, the first differing bytes
//! are adjacent, or both keys have the same user key) the last key itself is used.

use std::cmp::Ordering;

use crate::key::{
    append_internal_key, compare_internal_keys, user_key, KIND_FOR_SEEK, MAX_SEQUENCE_NUMBER,
};

/// A key `k` with `last <= k < next` in internal-key order, no longer than `last`.
/// Requires `last < next`.
pub fn shortest_separator(last: &[u8], next: &[u8]) -> Vec<u8> {
    debug_assert_eq!(compare_internal_keys(last, next), Ordering::Less);
    let (a, b) = (user_key(last), user_key(next));
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if common < a.len() && common < b.len() {
        let byte = a[common];
        // `byte < b[common]` holds as `a < b`; bumping it stays below `b` only if it does
        // not reach `b[common]`.
        if byte < 0xff && byte + 1 < b[common] && common + 1 < a.len() {
            let mut short = a[..=common].to_vec();
            short[common] += 1;
            let mut key = Vec::with_capacity(short.len() + 8);
            append_internal_key(&mut key, &short, MAX_SEQUENCE_NUMBER, KIND_FOR_SEEK);
            debug_assert_eq!(compare_internal_keys(last, &key), Ordering::Less);
            debug_assert_eq!(compare_internal_keys(&key, next), Ordering::Less);
            return key;
        }
    }
    last.to_vec()
}

/// A key `k >= last`, no longer than `last`, for the index entry of the table's final block
/// (which has no next key to stay below).
pub fn short_successor(last: &[u8]) -> Vec<u8> {
    let a = user_key(last);
    if let Some(i) = a.iter().position(|&b| b != 0xff) {
        if i + 1 < a.len() {
            let mut short = a[..=i].to_vec();
            short[i] += 1;
            let mut key = Vec::with_capacity(short.len() + 8);
            append_internal_key(&mut key, &short, MAX_SEQUENCE_NUMBER, KIND_FOR_SEEK);
            debug_assert_eq!(compare_internal_keys(last, &key), Ordering::Less);
            return key;
        }
    }
    last.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{make_internal_key, ValueKind};
    use proptest::prelude::*;

    fn ik(uk: &[u8], seq: u64) -> Vec<u8> {
        make_internal_key(uk, seq, ValueKind::Put)
    }

    #[test]
    fn shortens_when_possible() {
        let s = shortest_separator(&ik(b"the quick brown fox", 9), &ik(b"the who", 4));
        assert_eq!(user_key(&s), b"the r");
        // Adjacent bytes, prefixes and equal user keys are left alone.
        let last = ik(b"abc1xyz", 9);
        assert_eq!(shortest_separator(&last, &ik(b"abc2", 4)), last);
        let last = ik(b"abc", 9);
        assert_eq!(shortest_separator(&last, &ik(b"abcdef", 4)), last);
        let last = ik(b"same", 9);
        assert_eq!(shortest_separator(&last, &ik(b"same", 4)), last);
        assert_eq!(user_key(&short_successor(&ik(b"hello", 1))), b"i");
        assert_eq!(
            user_key(&short_successor(&ik(b"\xff\xffab", 1))),
            b"\xff\xffb"
        );
        let last = ik(b"\xff\xff", 1);
        assert_eq!(short_successor(&last), last);
    }

    proptest! {
        #[test]
        fn separator_is_between(
            a in proptest::collection::vec(prop::sample::select(vec![0u8, 1, 2, 0x7f, 0xfe, 0xff]), 0..6),
            b in proptest::collection::vec(prop::sample::select(vec![0u8, 1, 2, 0x7f, 0xfe, 0xff]), 0..6),
            sa in 0u64..10,
            sb in 0u64..10,
        ) {
            let (x, y) = (ik(&a, sa), ik(&b, sb));
            let (lo, hi) = match compare_internal_keys(&x, &y) {
                Ordering::Less => (x, y),
                Ordering::Greater => (y, x),
                Ordering::Equal => return Ok(()),
            };
            let s = shortest_separator(&lo, &hi);
            prop_assert!(compare_internal_keys(&lo, &s).is_le());
            prop_assert!(compare_internal_keys(&s, &hi).is_lt());
            prop_assert!(s.len() <= lo.len());
            let t = short_successor(&lo);
            prop_assert!(compare_internal_keys(&lo, &t).is_le());
            prop_assert!(t.len() <= lo.len());
        }
    }
}
