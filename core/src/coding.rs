//! Little-endian fixed-width and LEB128 varint encodings shared by every on-disk format.
//!
//! The varint layout is LevelDB's (`util/coding.h`): 7 bits per byte, low groups first, the
//! high bit set on every byte but the last. Decoders never trust a length: each returns `None`
//! when the input is too short or malformed, and callers turn that into
//! [`Error::Corruption`](crate::Error::Corruption).

/// Appends `v` as 4 little-endian bytes.
#[inline]
pub fn put_fixed32(dst: &mut Vec<u8>, v: u32) {
    dst.extend_from_slice(&v.to_le_bytes());
}

/// Appends `v` as 8 little-endian bytes.
#[inline]
pub fn put_fixed64(dst: &mut Vec<u8>, v: u64) {
    dst.extend_from_slice(&v.to_le_bytes());
}

/// Reads 4 little-endian bytes at the start of `src`, or `None` if it is shorter.
#[inline]
pub fn get_fixed32(src: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(src.get(..4)?.try_into().ok()?))
}

/// Reads 8 little-endian bytes at the start of `src`, or `None` if it is shorter.
#[inline]
pub fn get_fixed64(src: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(src.get(..8)?.try_into().ok()?))
}

/// Appends `v` as a varint (1 to 5 bytes).
#[inline]
pub fn put_varint32(dst: &mut Vec<u8>, v: u32) {
    put_varint64(dst, v as u64)
}

/// Appends `v` as a varint (1 to 10 bytes).
#[inline]
pub fn put_varint64(dst: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        dst.push((v as u8) | 0x80);
        v >>= 7;
    }
    dst.push(v as u8);
}

/// Number of bytes [`put_varint64`] writes for `v`.
#[inline]
pub fn varint_length(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Decodes a varint of at most 64 bits from the start of `src`.
///
/// Returns the value and the number of bytes read, or `None` if `src` ends mid-varint or the
/// varint is longer than 10 bytes.
#[inline]
pub fn get_varint64(src: &[u8]) -> Option<(u64, usize)> {
    let mut result: u64 = 0;
    for (i, &byte) in src.iter().enumerate().take(10) {
        let shift = 7 * i as u32;
        if i == 9 && byte > 1 {
            return None; // would overflow 64 bits
        }
        result |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            return Some((result, i + 1));
        }
    }
    None
}

/// Decodes a varint of at most 32 bits from the start of `src`; `None` if malformed or larger
/// than `u32::MAX`.
#[inline]
pub fn get_varint32(src: &[u8]) -> Option<(u32, usize)> {
    let (v, n) = get_varint64(src)?;
    Some((u32::try_from(v).ok()?, n))
}

/// Appends a varint length followed by the bytes of `value`.
#[inline]
pub fn put_length_prefixed(dst: &mut Vec<u8>, value: &[u8]) {
    put_varint64(dst, value.len() as u64);
    dst.extend_from_slice(value);
}

/// Decodes a varint-length-prefixed slice from the start of `src`.
///
/// Returns the slice and the total bytes consumed, or `None` if the length runs past the end.
#[inline]
pub fn get_length_prefixed(src: &[u8]) -> Option<(&[u8], usize)> {
    let (len, n) = get_varint64(src)?;
    let len = usize::try_from(len).ok()?;
    let end = n.checked_add(len)?;
    Some((src.get(n..end)?, end))
}

/// A cursor that decodes fields one after another from a byte slice.
///
/// Every getter returns `None` once the input is exhausted or malformed.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    /// A decoder positioned at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Decoder { buf, pos: 0 }
    }
    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }
    /// Bytes not yet consumed.
    pub fn remaining(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }
    /// True when every byte was consumed.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }
    /// Reads one byte.
    pub fn u8(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
    /// Reads a fixed 32-bit little-endian integer.
    pub fn fixed32(&mut self) -> Option<u32> {
        let v = get_fixed32(self.remaining())?;
        self.pos += 4;
        Some(v)
    }
    /// Reads a fixed 64-bit little-endian integer.
    pub fn fixed64(&mut self) -> Option<u64> {
        let v = get_fixed64(self.remaining())?;
        self.pos += 8;
        Some(v)
    }
    /// Reads a varint of at most 32 bits.
    pub fn varint32(&mut self) -> Option<u32> {
        let (v, n) = get_varint32(self.remaining())?;
        self.pos += n;
        Some(v)
    }
    /// Reads a varint of at most 64 bits.
    pub fn varint64(&mut self) -> Option<u64> {
        let (v, n) = get_varint64(self.remaining())?;
        self.pos += n;
        Some(v)
    }
    /// Reads a varint-length-prefixed slice.
    pub fn length_prefixed(&mut self) -> Option<&'a [u8]> {
        let (s, n) = get_length_prefixed(self.remaining())?;
        self.pos += n;
        Some(s)
    }
    /// Reads exactly `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_roundtrip_and_lengths() {
        let values = [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX,
        ];
        let mut buf = Vec::new();
        for &v in &values {
            let before = buf.len();
            put_varint64(&mut buf, v);
            assert_eq!(buf.len() - before, varint_length(v));
        }
        let mut d = Decoder::new(&buf);
        for &v in &values {
            assert_eq!(d.varint64(), Some(v));
        }
        assert!(d.is_empty());
    }

    #[test]
    fn truncated_and_overlong_varints_are_rejected() {
        assert_eq!(get_varint64(&[0x80]), None);
        assert_eq!(get_varint64(&[0xff; 11]), None);
        assert_eq!(get_varint32(&[0xff, 0xff, 0xff, 0xff, 0x7f]), None);
        assert_eq!(get_length_prefixed(&[5, 1, 2]), None);
    }

    #[test]
    fn fixed_roundtrip() {
        let mut buf = Vec::new();
        put_fixed32(&mut buf, 0xdead_beef);
        put_fixed64(&mut buf, 0x0123_4567_89ab_cdef);
        let mut d = Decoder::new(&buf);
        assert_eq!(d.fixed32(), Some(0xdead_beef));
        assert_eq!(d.fixed64(), Some(0x0123_4567_89ab_cdef));
        assert_eq!(d.fixed32(), None);
    }
}
