//! The fixed pieces of the table format: block handles, the block trailer and the footer.
//!
//! ```text
//! block handle (in index entries) = offset: varint64 | size: varint64
//! block handle (in the footer)    = offset: fixed64  | size: fixed64
//! block trailer                   = compression type: u8 | checksum: fixed64
//!                                   (type 0 none, 1 lz4, 2 zstd)
//! footer (68 bytes)               = index handle | filter handle | properties handle
//!                                   | format_version: fixed32
//!                                   | checksum: fixed64 (xxh64 of the 52 bytes before it)
//!                                   | magic: fixed64
//! ```
//!
//! A handle's `size` counts the block's contents only; the 9-byte trailer follows them on
//! disk. The footer has a fixed size so a reader can find it from the file length alone;
//! its handles are fixed-width (not varints) for the same reason.

use xxhash_rust::xxh64::Xxh64;

use crate::coding::{get_fixed32, get_fixed64, put_fixed32, put_fixed64, Decoder};
use crate::error::{Error, Result};

/// Version of the table format this module writes for tables without range tombstones
/// (stored in the footer).
pub const FORMAT_VERSION: u32 = 1;

/// Version written by tables with a range-deletion block; the newest this module reads.
pub const FORMAT_VERSION_RANGE_DELETIONS: u32 = 2;

/// The last 8 bytes of every table: the ASCII bytes `KEVO_SST` (read as a little-endian
/// `u64`), so a hex dump of the file's end shows what the file is.
pub const TABLE_MAGIC: u64 = u64::from_le_bytes(*b"KEVO_SST");

/// Bytes after each block's contents: compression type (1) + checksum (8).
pub const BLOCK_TRAILER_LEN: usize = 9;

/// Compression type byte of a block stored as it is. Any type byte other than the three
/// below is reported as corruption rather than guessed at.
pub const COMPRESSION_NONE: u8 = 0;

/// Compression type byte of an LZ4 block: a fixed32 uncompressed size, then the LZ4 block
/// format (`lz4_flex::block`). See `compress.rs`.
pub const COMPRESSION_LZ4: u8 = 1;

/// Compression type byte of a zstd block: one zstd frame recording its content size.
pub const COMPRESSION_ZSTD: u8 = 2;

/// Size of the footer in bytes: three fixed handles (48), version (4), checksum (8),
/// magic (8).
pub const FOOTER_LEN: usize = 3 * BlockHandle::FIXED_LEN + 4 + 8 + 8;

/// Footer bytes covered by the footer checksum: the handles and the version.
const FOOTER_CHECKSUMMED_LEN: usize = 3 * BlockHandle::FIXED_LEN + 4;

/// The checksum stored in a block trailer: xxh64 (seed 0) of the contents followed by the
/// compression-type byte, so a flipped type byte is caught like any other flipped bit.
pub fn block_checksum(contents: &[u8], compression: u8) -> u64 {
    let mut h = Xxh64::new(0);
    h.update(contents);
    h.update(&[compression]);
    h.digest()
}

/// The trailer that follows `contents` on disk (type byte, then checksum).
pub fn block_trailer(contents: &[u8], compression: u8) -> [u8; BLOCK_TRAILER_LEN] {
    let mut t = [0u8; BLOCK_TRAILER_LEN];
    t[0] = compression;
    t[1..].copy_from_slice(&block_checksum(contents, compression).to_le_bytes());
    t
}

/// Where a block lives in a table file: `offset` of its first byte and `size` of its
/// contents, both in bytes. The trailer (`BLOCK_TRAILER_LEN` bytes) follows the contents
/// and is not counted in `size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BlockHandle {
    /// File offset of the block's first byte.
    pub offset: u64,
    /// Length of the block's contents, without the trailer.
    pub size: u64,
}

impl BlockHandle {
    /// Longest varint encoding: two 10-byte varints.
    pub const MAX_VARINT_LEN: usize = 20;
    /// Length of the fixed encoding used in the footer.
    pub const FIXED_LEN: usize = 16;

    /// A handle for `size` content bytes at `offset`.
    pub fn new(offset: u64, size: u64) -> Self {
        BlockHandle { offset, size }
    }

    /// Appends the varint encoding (as stored in index entries).
    pub fn encode_varint_to(&self, dst: &mut Vec<u8>) {
        crate::coding::put_varint64(dst, self.offset);
        crate::coding::put_varint64(dst, self.size);
    }

    /// Decodes a varint-encoded handle that must fill `src` exactly; `None` if malformed or
    /// followed by stray bytes.
    pub fn decode_varint(src: &[u8]) -> Option<BlockHandle> {
        let mut d = Decoder::new(src);
        let h = BlockHandle::new(d.varint64()?, d.varint64()?);
        d.is_empty().then_some(h)
    }

    /// Appends the fixed 16-byte encoding (as stored in the footer).
    pub fn encode_fixed_to(&self, dst: &mut Vec<u8>) {
        put_fixed64(dst, self.offset);
        put_fixed64(dst, self.size);
    }

    /// Offset one past the block's trailer, or `None` on overflow (only corrupt handles
    /// overflow).
    pub fn end_with_trailer(&self) -> Option<u64> {
        self.offset
            .checked_add(self.size)?
            .checked_add(BLOCK_TRAILER_LEN as u64)
    }
}

/// The decoded footer of a table: where the index, filter and properties blocks are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    /// The index block.
    pub index_handle: BlockHandle,
    /// The filter block (its contents are empty when filtering is off).
    pub filter_handle: BlockHandle,
    /// The properties block.
    pub properties_handle: BlockHandle,
    /// The format version the table was written with.
    pub format_version: u32,
}

impl Footer {
    /// The [`FOOTER_LEN`]-byte encoding, checksum and magic included.
    pub fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(FOOTER_LEN);
        self.index_handle.encode_fixed_to(&mut buf);
        self.filter_handle.encode_fixed_to(&mut buf);
        self.properties_handle.encode_fixed_to(&mut buf);
        put_fixed32(&mut buf, self.format_version);
        let checksum = xxhash_rust::xxh64::xxh64(&buf, 0);
        put_fixed64(&mut buf, checksum);
        put_fixed64(&mut buf, TABLE_MAGIC);
        debug_assert_eq!(buf.len(), FOOTER_LEN);
        buf
    }

    /// Decodes and checks the footer bytes `src` read from the end of a table file of
    /// `file_len` bytes named `file`.
    ///
    /// Checks, in order: length, magic (is this a kevo table at all?), version (can we read
    /// it?), checksum, and that every handle lies inside the file before the footer.
    ///
    /// Errors: [`Error::Corruption`] naming `file` and the file offset of the bad field.
    pub fn decode(src: &[u8], file_len: u64, file: &str) -> Result<Footer> {
        let footer_offset = file_len.saturating_sub(FOOTER_LEN as u64);
        let bad =
            |at: usize, detail: String| Error::corruption(file, footer_offset + at as u64, detail);
        if src.len() != FOOTER_LEN || file_len < FOOTER_LEN as u64 {
            return Err(Error::corruption(
                file,
                0,
                format!("file is {file_len} bytes, too short for the {FOOTER_LEN}-byte footer"),
            ));
        }
        let magic_at = FOOTER_LEN - 8;
        let magic = get_fixed64(&src[magic_at..]).unwrap_or_default();
        if magic != TABLE_MAGIC {
            return Err(bad(
                magic_at,
                format!("bad table magic {magic:#018x}, expected {TABLE_MAGIC:#018x}"),
            ));
        }
        let version_at = FOOTER_CHECKSUMMED_LEN - 4;
        let format_version = get_fixed32(&src[version_at..]).unwrap_or_default();
        if !(FORMAT_VERSION..=FORMAT_VERSION_RANGE_DELETIONS).contains(&format_version) {
            return Err(bad(
                version_at,
                format!(
                    "unsupported table format version {format_version} (this build reads \
                     versions {FORMAT_VERSION} to {FORMAT_VERSION_RANGE_DELETIONS})"
                ),
            ));
        }
        let stored = get_fixed64(&src[FOOTER_CHECKSUMMED_LEN..]).unwrap_or_default();
        let actual = xxhash_rust::xxh64::xxh64(&src[..FOOTER_CHECKSUMMED_LEN], 0);
        if stored != actual {
            return Err(bad(
                FOOTER_CHECKSUMMED_LEN,
                format!("footer checksum mismatch: stored {stored:#018x}, computed {actual:#018x}"),
            ));
        }
        let mut handles = [BlockHandle::default(); 3];
        for (i, h) in handles.iter_mut().enumerate() {
            let at = i * BlockHandle::FIXED_LEN;
            let field = &src[at..at + BlockHandle::FIXED_LEN];
            *h = BlockHandle::new(
                get_fixed64(field).unwrap_or_default(),
                get_fixed64(&field[8..]).unwrap_or_default(),
            );
            // The checksum matched, so only a buggy writer gets here; still, a handle is
            // used to size an allocation, so it must be checked against the file.
            let inside = matches!(h.end_with_trailer(), Some(end) if end <= footer_offset);
            if !inside {
                return Err(bad(
                    at,
                    format!(
                        "{} handle {h:?} points past the footer at {footer_offset}",
                        ["index", "filter", "properties"][i]
                    ),
                ));
            }
        }
        Ok(Footer {
            index_handle: handles[0],
            filter_handle: handles[1],
            properties_handle: handles[2],
            format_version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Footer {
        Footer {
            index_handle: BlockHandle::new(300, 40),
            filter_handle: BlockHandle::new(100, 50),
            properties_handle: BlockHandle::new(159, 100),
            format_version: FORMAT_VERSION,
        }
    }

    fn detail(e: Error) -> String {
        match e {
            Error::Corruption { detail, .. } => detail,
            other => panic!("expected corruption, got {other:?}"),
        }
    }

    #[test]
    fn footer_roundtrip() {
        let f = sample();
        let buf = f.encode();
        assert_eq!(buf.len(), FOOTER_LEN);
        assert_eq!(&buf[FOOTER_LEN - 8..], b"KEVO_SST");
        assert_eq!(Footer::decode(&buf, 1000, "t").unwrap(), f);
    }

    #[test]
    fn footer_rejects_bad_magic_version_checksum_and_handles() {
        let good = sample().encode();

        let mut b = good.clone();
        b[FOOTER_LEN - 1] ^= 1;
        assert!(detail(Footer::decode(&b, 1000, "t").unwrap_err()).contains("magic"));

        // A newer version with a valid checksum is refused for its version.
        let mut f = sample();
        f.format_version = 3;
        let e = Footer::decode(&f.encode(), 1000, "t").unwrap_err();
        assert!(matches!(&e, Error::Corruption { offset, .. } if *offset == 1000 - 68 + 48));
        assert!(detail(e).contains("version"));

        let mut b = good.clone();
        b[3] ^= 0x40;
        assert!(detail(Footer::decode(&b, 1000, "t").unwrap_err()).contains("checksum"));

        // Handles past the footer, or overflowing, are refused even with a valid checksum.
        let mut f = sample();
        f.index_handle = BlockHandle::new(900, 40);
        assert!(detail(Footer::decode(&f.encode(), 1000, "t").unwrap_err()).contains("index"));
        f.index_handle = BlockHandle::new(u64::MAX - 4, 10);
        assert!(detail(Footer::decode(&f.encode(), 1000, "t").unwrap_err()).contains("index"));

        let e = Footer::decode(&good[..10], 10, "t").unwrap_err();
        assert!(matches!(e, Error::Corruption { offset: 0, .. }));
    }

    #[test]
    fn handle_varint_roundtrip_and_stray_bytes() {
        let h = BlockHandle::new(1 << 40, 4096);
        let mut buf = Vec::new();
        h.encode_varint_to(&mut buf);
        assert!(buf.len() <= BlockHandle::MAX_VARINT_LEN);
        assert_eq!(BlockHandle::decode_varint(&buf), Some(h));
        buf.push(0);
        assert_eq!(BlockHandle::decode_varint(&buf), None);
        assert_eq!(BlockHandle::decode_varint(&[0x80]), None);
    }
}
