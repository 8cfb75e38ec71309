//! Per-block compression: what a data block's trailer type byte means, and the code on
//! both sides of it.
//!
//! ```text
//! type 0 (COMPRESSION_NONE) contents = the block as built
//! type 1 (COMPRESSION_LZ4)  contents = uncompressed size: fixed32 | lz4 block format
//!                                      (lz4_flex's compress_prepend_size layout)
//! type 2 (COMPRESSION_ZSTD) contents = one zstd frame that records its content size
//! ```
//!
//! The writer compresses data blocks only, and keeps the compressed form only if it saves
//! at least 1/8 of the block (LevelDB's rule): a block that barely shrinks is not worth a
//! decompression on every read, and incompressible data then costs nothing but the
//! attempt. Blocks over [`MAX_DECOMPRESSED_BLOCK_LEN`] are always stored raw, so a reader
//! never refuses a block this writer produced.
//!
//! The reader trusts no length it finds in the contents: the checksum has passed, but a
//! crafted or buggy file may still claim any size. A claimed size is checked against
//! [`MAX_DECOMPRESSED_BLOCK_LEN`] (and, for LZ4, against the most the format can expand
//! its input) before anything is allocated, and the output must have exactly the claimed
//! size. Every failure is [`Error::Corruption`] naming the file and the block's offset.

use std::cell::RefCell;

use crate::error::{Error, Result};
use crate::options::fields::BLOCK_SIZE;
use crate::options::{Compression, MAX_KEY_SIZE, MAX_VALUE_SIZE};

use super::format::{COMPRESSION_LZ4, COMPRESSION_NONE, COMPRESSION_ZSTD};

/// Largest decompressed block a reader accepts, in bytes (about 577 MiB).
///
/// It is the largest block a builder with validated options writes: a block is closed
/// once it reaches `block_size` (at most
/// [`fields::BLOCK_SIZE`](crate::options::fields::BLOCK_SIZE)'s maximum), so it is at most that plus one
/// entry (three varint32 lengths, a key of up to [`MAX_KEY_SIZE`] bytes plus its 8-byte
/// trailer, a value of up to [`MAX_VALUE_SIZE`] bytes), rounded up by 1 MiB for the
/// restart array. The builder stores anything larger raw.
pub const MAX_DECOMPRESSED_BLOCK_LEN: usize =
    BLOCK_SIZE.bounds.max as usize + 15 + MAX_KEY_SIZE + 8 + MAX_VALUE_SIZE + (1 << 20);

/// The most an LZ4 block can expand: each input byte yields at most 255 output bytes (a
/// match length grows by 255 per extension byte; a sequence's token, offset and literals
/// produce less). A size prefix above `255 * input` is therefore a lie, caught before
/// allocating.
const LZ4_MAX_RATIO: usize = 255;

/// Length of the LZ4 size prefix.
const LZ4_PREFIX_LEN: usize = 4;

/// Compresses data blocks for one table builder, reusing its buffers and zstd context
/// from block to block.
pub(super) struct BlockCompressor {
    kind: Compression,
    /// The compressed form of the last block (LZ4: with its size prefix).
    buf: Vec<u8>,
    /// Created on first use; `None` also if zstd could not allocate a context, in which
    /// case blocks are stored raw (correct, only larger).
    zstd: Option<zstd::bulk::Compressor<'static>>,
}

impl std::fmt::Debug for BlockCompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCompressor")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl BlockCompressor {
    /// A compressor for `kind`.
    pub(super) fn new(kind: Compression) -> Self {
        let zstd = match kind {
            Compression::Zstd { level } => zstd::bulk::Compressor::new(level).ok(),
            _ => None,
        };
        BlockCompressor {
            kind,
            buf: Vec::new(),
            zstd,
        }
    }

    /// The bytes to store for data block `raw` and their type byte: the compressed form if
    /// it saves at least 1/8 of `raw`, else `raw` itself with [`COMPRESSION_NONE`].
    pub(super) fn compress<'a>(&'a mut self, raw: &'a [u8]) -> (u8, &'a [u8]) {
        if raw.len() > MAX_DECOMPRESSED_BLOCK_LEN {
            return (COMPRESSION_NONE, raw);
        }
        let kind = match self.kind {
            Compression::None => return (COMPRESSION_NONE, raw),
            Compression::Lz4 => {
                let max = lz4_flex::block::get_maximum_output_size(raw.len());
                self.buf.clear();
                self.buf.resize(LZ4_PREFIX_LEN + max, 0);
                // raw.len() <= MAX_DECOMPRESSED_BLOCK_LEN < 4 GiB, so it fits the prefix.
                self.buf[..LZ4_PREFIX_LEN].copy_from_slice(&(raw.len() as u32).to_le_bytes());
                match lz4_flex::block::compress_into(raw, &mut self.buf[LZ4_PREFIX_LEN..]) {
                    Ok(n) => self.buf.truncate(LZ4_PREFIX_LEN + n),
                    Err(_) => return (COMPRESSION_NONE, raw),
                }
                COMPRESSION_LZ4
            }
            Compression::Zstd { .. } => {
                let Some(z) = &mut self.zstd else {
                    return (COMPRESSION_NONE, raw);
                };
                self.buf.clear();
                self.buf.reserve(zstd::zstd_safe::compress_bound(raw.len()));
                if z.compress_to_buffer(raw, &mut self.buf).is_err() {
                    return (COMPRESSION_NONE, raw);
                }
                COMPRESSION_ZSTD
            }
        };
        if self.buf.len() < raw.len() - raw.len() / 8 {
            (kind, &self.buf)
        } else {
            (COMPRESSION_NONE, raw)
        }
    }
}

thread_local! {
    /// One zstd decompression context per reading thread: creating one costs an
    /// allocation of about 100 KiB, too much to pay per block.
    static ZSTD_DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { RefCell::new(None) };
}

/// Decompresses the stored contents `data` of a block of compression type `kind` (1 or 2)
/// read from `file` at `offset`.
///
/// Errors: [`Error::Corruption`] at `offset` if `kind` is not a compressed type, the
/// claimed size is missing or over the bound (see the module docs), or the data does not
/// decompress to exactly the claimed size.
pub(super) fn decompress_block(kind: u8, data: &[u8], file: &str, offset: u64) -> Result<Vec<u8>> {
    let bad = |detail: String| Error::corruption(file, offset, detail);
    match kind {
        COMPRESSION_LZ4 => {
            let Some((prefix, body)) = data.split_first_chunk::<LZ4_PREFIX_LEN>() else {
                return Err(bad(format!(
                    "lz4 block of {} bytes has no size prefix",
                    data.len()
                )));
            };
            let size = u32::from_le_bytes(*prefix) as usize;
            let bound = MAX_DECOMPRESSED_BLOCK_LEN.min(body.len().saturating_mul(LZ4_MAX_RATIO));
            if size > bound {
                return Err(bad(format!(
                    "lz4 block claims {size} bytes uncompressed, more than the {bound} its \
                     {} compressed bytes allow",
                    body.len()
                )));
            }
            let mut out = vec![0u8; size];
            match lz4_flex::block::decompress_into(body, &mut out) {
                Ok(n) if n == size => Ok(out),
                Ok(n) => Err(bad(format!(
                    "lz4 block decompressed to {n} bytes, its prefix says {size}"
                ))),
                Err(e) => Err(bad(format!("lz4 block does not decompress: {e}"))),
            }
        }
        COMPRESSION_ZSTD => {
            let size = match zstd::zstd_safe::get_frame_content_size(data) {
                Ok(Some(size)) => size,
                Ok(None) => return Err(bad("zstd frame does not record its size".into())),
                Err(_) => return Err(bad("zstd block is not a zstd frame".into())),
            };
            let size = match usize::try_from(size) {
                Ok(s) if s <= MAX_DECOMPRESSED_BLOCK_LEN => s,
                _ => {
                    return Err(bad(format!(
                        "zstd block claims {size} bytes uncompressed, over the \
                         {MAX_DECOMPRESSED_BLOCK_LEN}-byte limit"
                    )))
                }
            };
            let result = ZSTD_DECOMPRESSOR.with(|cell| {
                let mut slot = cell.borrow_mut();
                if slot.is_none() {
                    *slot = Some(zstd::bulk::Decompressor::new()?);
                }
                let d = slot.as_mut().expect("just filled");
                // `decompress` allocates exactly the size the frames record, which is
                // `size` for a single frame and otherwise more than `size`: refused.
                d.decompress(data, size)
            });
            match result {
                Ok(out) if out.len() == size => Ok(out),
                Ok(out) => Err(bad(format!(
                    "zstd block decompressed to {} bytes, its frame says {size}",
                    out.len()
                ))),
                Err(e) => Err(bad(format!("zstd block does not decompress: {e}"))),
            }
        }
        _ => Err(bad(format!("unknown block compression type {kind}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compressible(n: usize) -> Vec<u8> {
        (0..n).map(|i| b"abcdefgh"[(i / 7) % 8]).collect()
    }

    fn noise(n: usize) -> Vec<u8> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn roundtrip_each_kind() {
        let raw = compressible(10_000);
        for kind in [Compression::Lz4, Compression::Zstd { level: 3 }] {
            let mut c = BlockCompressor::new(kind);
            let (t, stored) = c.compress(&raw);
            assert_ne!(t, COMPRESSION_NONE, "{kind:?}");
            assert!(stored.len() < raw.len() / 2);
            let stored = stored.to_vec();
            assert_eq!(decompress_block(t, &stored, "f", 7).unwrap(), raw);
        }
        let mut c = BlockCompressor::new(Compression::None);
        assert_eq!(c.compress(&raw), (COMPRESSION_NONE, &raw[..]));
    }

    #[test]
    fn incompressible_stays_raw() {
        let raw = noise(4096);
        for kind in [Compression::Lz4, Compression::Zstd { level: 3 }] {
            let mut c = BlockCompressor::new(kind);
            assert_eq!(c.compress(&raw), (COMPRESSION_NONE, &raw[..]), "{kind:?}");
        }
    }

    #[test]
    fn bad_data_is_corruption() {
        let raw = compressible(10_000);
        let mut lz4 = BlockCompressor::new(Compression::Lz4);
        let (_, s) = lz4.compress(&raw);
        let lz4_stored = s.to_vec();
        let mut z = BlockCompressor::new(Compression::Zstd { level: 1 });
        let (_, s) = z.compress(&raw);
        let zstd_stored = s.to_vec();

        let corrupt = |kind: u8, data: &[u8]| match decompress_block(kind, data, "f", 42) {
            Err(Error::Corruption { offset: 42, .. }) => {}
            other => panic!("kind {kind}: {:?}", other.map(|v| v.len())),
        };
        corrupt(3, &lz4_stored);
        corrupt(COMPRESSION_LZ4, &lz4_stored[..3]);
        corrupt(COMPRESSION_LZ4, &lz4_stored[..lz4_stored.len() - 5]);
        // A size prefix claiming 4 GiB is refused without allocating it.
        let mut huge = lz4_stored.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        corrupt(COMPRESSION_LZ4, &huge);
        // A prefix one byte off is refused, too small or too large.
        for delta in [-1i64, 1] {
            let mut off = lz4_stored.clone();
            let size = (raw.len() as i64 + delta) as u32;
            off[..4].copy_from_slice(&size.to_le_bytes());
            corrupt(COMPRESSION_LZ4, &off);
        }
        corrupt(COMPRESSION_ZSTD, &zstd_stored[..zstd_stored.len() / 2]);
        corrupt(COMPRESSION_ZSTD, b"not zstd at all");
        corrupt(COMPRESSION_ZSTD, &lz4_stored);
        // Flipped bytes anywhere: an error or data of the claimed size, never a panic (the
        // block checksum, checked before this, is what catches wrong data).
        for (kind, stored) in [
            (COMPRESSION_LZ4, &lz4_stored),
            (COMPRESSION_ZSTD, &zstd_stored),
        ] {
            for i in 0..stored.len() {
                let mut s = stored.clone();
                s[i] ^= 0x5a;
                if let Ok(out) = decompress_block(kind, &s, "f", 42) {
                    assert_eq!(out.len(), raw.len(), "kind {kind} byte {i}");
                }
            }
        }
    }
}
