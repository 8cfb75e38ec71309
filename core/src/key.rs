//! Internal keys: how a user key, a sequence number and an entry kind are packed together.
//!
//! Format (LevelDB's `db/dbformat.h`):
//!
//! ```text
//! internal key = user_key ++ trailer
//! trailer      = fixed64 little-endian of (sequence << 8 | kind)
//! ```
//!
//! Internal keys sort by user key ascending (bytewise), then by trailer *descending*, so for
//! one user key the newest entry comes first. A lookup "as of sequence `s`" seeks to
//! `(key, s, KIND_FOR_SEEK)` and takes the first entry it lands on with the same user key.

use std::cmp::Ordering;

/// A write's position in the total order of writes. Only the low 56 bits are used.
pub type SequenceNumber = u64;

/// The largest sequence number a write can have: 2^56 - 1.
pub const MAX_SEQUENCE_NUMBER: SequenceNumber = (1 << 56) - 1;

/// Length in bytes of the trailer appended to a user key.
pub const TRAILER_LEN: usize = 8;

/// What an entry records about its user key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ValueKind {
    /// A tombstone: the key was deleted at this sequence number.
    Delete = 0,
    /// A value: the key was set at this sequence number.
    Put = 1,
}

/// The kind used in seek targets: the highest kind byte, so that a seek to `(k, s)` lands on
/// the entry of sequence `s` whatever its kind (trailers sort descending).
pub const KIND_FOR_SEEK: u8 = 0xff;

impl ValueKind {
    /// Decodes a kind byte; `None` for a byte that is no kind.
    pub fn from_u8(b: u8) -> Option<ValueKind> {
        match b {
            0 => Some(ValueKind::Delete),
            1 => Some(ValueKind::Put),
            _ => None,
        }
    }
}

/// Packs a sequence number and a kind byte into a trailer value.
#[inline]
pub fn pack_trailer(seq: SequenceNumber, kind: u8) -> u64 {
    debug_assert!(seq <= MAX_SEQUENCE_NUMBER);
    (seq << 8) | kind as u64
}

/// Appends the internal key for `(user_key, seq, kind)` to `dst`.
#[inline]
pub fn append_internal_key(dst: &mut Vec<u8>, user_key: &[u8], seq: SequenceNumber, kind: u8) {
    dst.reserve(user_key.len() + TRAILER_LEN);
    dst.extend_from_slice(user_key);
    dst.extend_from_slice(&pack_trailer(seq, kind).to_le_bytes());
}

/// Returns the internal key for `(user_key, seq, kind)`.
#[inline]
pub fn make_internal_key(user_key: &[u8], seq: SequenceNumber, kind: ValueKind) -> Vec<u8> {
    let mut v = Vec::with_capacity(user_key.len() + TRAILER_LEN);
    append_internal_key(&mut v, user_key, seq, kind as u8);
    v
}

/// The seek target that finds the newest entry of `user_key` visible at sequence `seq`.
#[inline]
pub fn seek_key(user_key: &[u8], seq: SequenceNumber) -> Vec<u8> {
    let mut v = Vec::with_capacity(user_key.len() + TRAILER_LEN);
    append_internal_key(&mut v, user_key, seq, KIND_FOR_SEEK);
    v
}

/// A decoded view of an internal key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedInternalKey<'a> {
    /// The user's key.
    pub user_key: &'a [u8],
    /// The entry's sequence number.
    pub seq: SequenceNumber,
    /// Put or Delete.
    pub kind: ValueKind,
}

/// Splits an internal key into its parts; `None` if it is shorter than the trailer or its
/// kind byte is unknown (the caller reports corruption).
#[inline]
pub fn parse_internal_key(ikey: &[u8]) -> Option<ParsedInternalKey<'_>> {
    if ikey.len() < TRAILER_LEN {
        return None;
    }
    let (user_key, trailer) = ikey.split_at(ikey.len() - TRAILER_LEN);
    let t = u64::from_le_bytes(trailer.try_into().ok()?);
    let kind = ValueKind::from_u8((t & 0xff) as u8)?;
    Some(ParsedInternalKey {
        user_key,
        seq: t >> 8,
        kind,
    })
}

/// The user-key part of an internal key (the whole slice if it is shorter than a trailer,
/// which only corrupt data produces; checksums catch that earlier).
#[inline]
pub fn user_key(ikey: &[u8]) -> &[u8] {
    &ikey[..ikey.len().saturating_sub(TRAILER_LEN)]
}

/// The trailer (`seq << 8 | kind`) of an internal key, 0 if it is too short.
#[inline]
pub fn trailer(ikey: &[u8]) -> u64 {
    if ikey.len() < TRAILER_LEN {
        return 0;
    }
    u64::from_le_bytes(ikey[ikey.len() - TRAILER_LEN..].try_into().unwrap())
}

/// Orders internal keys: user key ascending (bytewise), then trailer descending.
#[inline]
pub fn compare_internal_keys(a: &[u8], b: &[u8]) -> Ordering {
    match user_key(a).cmp(user_key(b)) {
        Ordering::Equal => trailer(b).cmp(&trailer(a)),
        o => o,
    }
}

/// An owned internal key with the internal-key order, usable as a `BTreeMap`/skip-list key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct InternalKey(pub Vec<u8>);

impl InternalKey {
    /// Encodes `(user_key, seq, kind)`.
    pub fn new(user_key: &[u8], seq: SequenceNumber, kind: ValueKind) -> Self {
        InternalKey(make_internal_key(user_key, seq, kind))
    }
    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// The user-key part.
    pub fn user_key(&self) -> &[u8] {
        user_key(&self.0)
    }
}

impl Ord for InternalKey {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_internal_keys(&self.0, &other.0)
    }
}

impl PartialOrd for InternalKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Debug for InternalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match parse_internal_key(&self.0) {
            Some(p) => write!(
                f,
                "{}@{}:{:?}",
                crate::key::escape_bytes(p.user_key),
                p.seq,
                p.kind
            ),
            None => write!(f, "<bad internal key {}>", escape_bytes(&self.0)),
        }
    }
}

/// Renders bytes for humans: printable ASCII as is, everything else as `\xNN`.
pub fn escape_bytes(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for &c in b {
        if (0x20..0x7f).contains(&c) && c != b'\\' {
            s.push(c as char);
        } else {
            s.push_str(&format!("\\x{c:02x}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_user_key_then_newest_first() {
        let a1 = make_internal_key(b"a", 1, ValueKind::Put);
        let a2 = make_internal_key(b"a", 2, ValueKind::Delete);
        let b0 = make_internal_key(b"b", 0, ValueKind::Put);
        let ab = make_internal_key(b"ab", 9, ValueKind::Put);
        assert_eq!(compare_internal_keys(&a2, &a1), Ordering::Less);
        assert_eq!(compare_internal_keys(&a1, &ab), Ordering::Less);
        assert_eq!(compare_internal_keys(&ab, &b0), Ordering::Less);
        // A seek at sequence 1 lands after the entry of sequence 2 and on the one of 1.
        let s = seek_key(b"a", 1);
        assert_eq!(compare_internal_keys(&a2, &s), Ordering::Less);
        assert_eq!(compare_internal_keys(&s, &a1), Ordering::Less);
    }

    #[test]
    fn parse_roundtrip_and_bad_kind() {
        let k = make_internal_key(b"key", MAX_SEQUENCE_NUMBER, ValueKind::Put);
        let p = parse_internal_key(&k).unwrap();
        assert_eq!(p.user_key, b"key");
        assert_eq!(p.seq, MAX_SEQUENCE_NUMBER);
        assert_eq!(p.kind, ValueKind::Put);
        let mut bad = k.clone();
        let n = bad.len();
        bad[n - 8] = 7;
        assert!(parse_internal_key(&bad).is_none());
        assert!(parse_internal_key(b"short").is_none());
    }
}
