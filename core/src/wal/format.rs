//! The physical layout shared by [`LogWriter`](super::LogWriter) and
//! [`LogReader`](super::LogReader): block size, fragment header, fragment types, checksum.
//!
//! ```text
//! offset  size  field
//!      0     8  checksum  xxh64 (seed 0) of the type byte followed by the payload, LE
//!      8     2  length    payload length in bytes, LE
//!     10     1  type      RecordType
//!     11     *  payload   `length` bytes
//! ```
//!
//! The checksum does not cover the length field directly; it does not need to: a damaged
//! length makes the reader hash a different span of bytes (or run past the block), which
//! fails the check just the same.

use xxhash_rust::xxh64::Xxh64;

/// Size of a log block in bytes. Fragments never cross a block boundary, so a reader can
/// always find the start of a fragment at a multiple of this size.
pub const BLOCK_SIZE: usize = 32 * 1024;

/// Size of a fragment header in bytes: checksum (8) + length (2) + type (1).
pub const HEADER_SIZE: usize = 8 + 2 + 1;

/// Largest record [`LogWriter::add_record`](super::LogWriter::add_record) accepts, in bytes
/// (4 GiB - 1). The format itself has no limit; this one keeps a damaged or hostile log from
/// making the reader assemble an arbitrarily large record, and matches the limit
/// [`MAX_VALUE_SIZE`](crate::MAX_VALUE_SIZE) is documented against.
pub const MAX_RECORD_SIZE: usize = u32::MAX as usize;

/// Largest payload one fragment can carry: a whole block minus its header.
pub(crate) const MAX_FRAGMENT_PAYLOAD: usize = BLOCK_SIZE - HEADER_SIZE;

/// The type byte of a fragment: where it sits in its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RecordType {
    /// Reserved: the value of zeroed or preallocated space. Never written; a reader treats
    /// it as damage.
    Zero = 0,
    /// The fragment holds a whole record.
    Full = 1,
    /// The first fragment of a record split across blocks.
    First = 2,
    /// An interior fragment of a split record.
    Middle = 3,
    /// The last fragment of a split record.
    Last = 4,
}

impl RecordType {
    /// Decodes a type byte; `None` for values no writer produces (5..=255).
    pub fn from_u8(b: u8) -> Option<RecordType> {
        match b {
            0 => Some(RecordType::Zero),
            1 => Some(RecordType::Full),
            2 => Some(RecordType::First),
            3 => Some(RecordType::Middle),
            4 => Some(RecordType::Last),
            _ => None,
        }
    }
}

/// The checksum stored in a fragment header: xxh64 with seed 0 over the type byte followed by
/// the payload.
///
/// The type byte is covered so that a flipped type (say, `Last` read as `Full`) cannot
/// reassemble a record from the wrong fragments.
pub fn fragment_checksum(kind: u8, payload: &[u8]) -> u64 {
    let mut h = Xxh64::new(0);
    h.update(&[kind]);
    h.update(payload);
    h.digest()
}

/// Encodes the header of a fragment carrying `payload` (at most
/// [`BLOCK_SIZE`] - [`HEADER_SIZE`] bytes).
pub(crate) fn encode_header(kind: RecordType, payload: &[u8]) -> [u8; HEADER_SIZE] {
    debug_assert!(payload.len() <= MAX_FRAGMENT_PAYLOAD);
    let mut h = [0u8; HEADER_SIZE];
    h[..8].copy_from_slice(&fragment_checksum(kind as u8, payload).to_le_bytes());
    h[8..10].copy_from_slice(&(payload.len() as u16).to_le_bytes());
    h[10] = kind as u8;
    h
}

/// A fragment header as stored, before any check.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawHeader {
    pub checksum: u64,
    pub length: usize,
    pub kind: u8,
}

/// Splits the [`HEADER_SIZE`] bytes at the start of `b` into their fields; `None` if `b` is
/// shorter.
pub(crate) fn decode_header(b: &[u8]) -> Option<RawHeader> {
    let b = b.get(..HEADER_SIZE)?;
    Some(RawHeader {
        checksum: u64::from_le_bytes(b[..8].try_into().ok()?),
        length: u16::from_le_bytes(b[8..10].try_into().ok()?) as usize,
        kind: b[10],
    })
}

/// True if a well-formed fragment starts at `pos` of `block` (the bytes of one block, or of
/// the file's final partial block): a written type (1..=4), a payload that ends inside
/// `block`, and a matching checksum.
///
/// Used to look for surviving data after damage; the cheap tests come first because most
/// positions of arbitrary bytes fail them.
pub(crate) fn is_valid_fragment_at(block: &[u8], pos: usize) -> bool {
    let Some(h) = block.get(pos..).and_then(decode_header) else {
        return false;
    };
    if !(1..=4).contains(&h.kind) {
        return false;
    }
    let start = pos + HEADER_SIZE;
    match block.get(start..start + h.length) {
        Some(payload) => fragment_checksum(h.kind, payload) == h.checksum,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_roundtrip_and_validity() {
        let payload = b"hello";
        let mut frag = encode_header(RecordType::Full, payload).to_vec();
        frag.extend_from_slice(payload);
        let h = decode_header(&frag).unwrap();
        assert_eq!(h.length, 5);
        assert_eq!(h.kind, 1);
        assert!(is_valid_fragment_at(&frag, 0));
        // The type byte is under the checksum.
        frag[10] = RecordType::Last as u8;
        assert!(!is_valid_fragment_at(&frag, 0));
        // A payload running past the slice is not valid.
        let short = &frag[..frag.len() - 1];
        assert!(!is_valid_fragment_at(short, 0));
        // Zeroed space is never a valid fragment.
        assert!(!is_valid_fragment_at(&[0u8; 64], 0));
    }
}
