//! SSTables: immutable sorted files of `(internal key, value)` entries.
//!
//! A flush writes the memtable into one table; a compaction merges tables into new ones.
//! Once written, a table never changes. [`TableBuilder`] writes one, [`Table`] reads it.
//!
//! # File format
//!
//! The layout follows LevelDB's `doc/table_format.md`, with xxh64 checksums, a single
//! whole-table bloom filter and a checksummed fixed-size footer. All integers are
//! little-endian; `varint` is LEB128 as in [`crate::coding`].
//!
//! ```text
//! table   = data block* | filter block | properties block | index block | footer
//! block   = contents | trailer
//! trailer = compression type: u8 | checksum: fixed64
//! ```
//!
//! Every block carries a 9-byte trailer. The compression type says how the stored
//! contents encode the block (see [`compress`]):
//!
//! ```text
//! 0 none  contents = the block itself
//! 1 lz4   contents = uncompressed size: fixed32 | LZ4 block format (lz4_flex)
//! 2 zstd  contents = one zstd frame that records its content size
//! ```
//!
//! Any other type is corruption. Only data blocks are ever compressed; the filter,
//! properties and index blocks are always type 0 (they are read once per open or cache
//! miss and kept decoded, and compress poorly). A data block is stored compressed only if
//! that saves at least 1/8 of its size (LevelDB's rule), so incompressible data is stored
//! raw with type 0; the choice is per block, so one table may mix types. The checksum is
//! xxh64 (seed 0) of the *stored* contents followed by the type byte: it is checked before
//! decompressing, and every byte of a table is covered by a checksum, a block's or the
//! footer's. Block handles and `data_bytes` count stored bytes.
//!
//! ## Data blocks
//!
//! The entries, sorted by [`compare_internal_keys`](crate::key::compare_internal_keys),
//! split into blocks of about `block_size` bytes. Keys are full internal keys
//! (`user_key ++ fixed64(seq << 8 | kind)`, see [`crate::key`]).
//!
//! ```text
//! contents = entry* | restart: fixed32 * num_restarts | num_restarts: fixed32
//! entry    = shared: varint32 | non_shared: varint32 | value_len: varint32
//!            | key_delta: u8 * non_shared | value: u8 * value_len
//! ```
//!
//! An entry's key is the first `shared` bytes of the previous key followed by `key_delta`
//! (prefix compression). Every `block_restart_interval` entries is a *restart point*: an
//! entry with `shared = 0` whose offset is listed in the restart array. A lookup
//! binary-searches the restart points, then scans forward at most one interval. The first
//! restart point is always offset 0; even an empty block has one. See [`block_builder`] and
//! [`block`].
//!
//! ## Range-deletion block (format 2 only)
//!
//! A table with range tombstones stores them in one block directly after the last data
//! block (uncompressed, with the usual trailer); the properties block records its count
//! and size, and the footer says format 2. See [`crate::range_del`] for its encoding and
//! what readers and compaction do with it. A table without range tombstones is written in
//! format 1, byte for byte as before.
//!
//! ## Filter block
//!
//! One bloom filter over the distinct *user* keys of the whole table (not internal keys: a
//! lookup wants a user key at any sequence number). `bits | k: u8`, about `bits_per_key`
//! bits per key in 64-byte blocks, and `k` probes, all in one block chosen by the key's
//! xxh64, derived by double hashing (a blocked bloom filter: one cache miss per lookup); see
//! [`filter`]. With `bloom_bits_per_key == 0` the block's contents are empty and nothing is
//! filtered.
//!
//! ## Properties block
//!
//! [`TableProperties`] as tagged varint / length-prefixed fields; see [`properties`].
//!
//! ## Index block
//!
//! Same format as a data block, with a restart point at every entry. One entry per data
//! block, in order: the key is an internal key `>=` every key of that block and `<` every key
//! of the next one (a shortened separator when one exists, see [`separator`]); the value is
//! the block's handle:
//!
//! ```text
//! block handle = offset: varint64 | size: varint64     (size excludes the trailer)
//! ```
//!
//! ## Footer
//!
//! A fixed 68 bytes at the end of the file, so a reader finds it from the file length:
//!
//! ```text
//! footer = index handle    (offset: fixed64 | size: fixed64)
//!        | filter handle   (offset: fixed64 | size: fixed64)
//!        | properties handle (offset: fixed64 | size: fixed64)
//!        | format_version: fixed32          (1, or 2 with a range-deletion block)
//!        | checksum: fixed64                (xxh64, seed 0, of the 52 bytes above)
//!        | magic: fixed64                   (the ASCII bytes "KEVO_SST")
//! ```
//!
//! # Reading, and what is checked
//!
//! [`Table::open`] reads the footer (length, magic, version, checksum, handles inside the
//! file and laid out back to back), then the properties, filter and index blocks, each
//! checksum-verified and decoded with bounds checks. The index is decoded into a
//! [`TableIndex`], which checks that its keys increase and its handles tile the data region
//! exactly. Without a block cache these stay in the `Table`; a table opened by the
//! database's table cache charges the index and filter to the shared block cache instead
//! (re-reading and re-verifying them on a miss, see `table.rs`). Data blocks are read,
//! verified and decompressed when a lookup or an iterator reaches them, through the block
//! cache when there is one.
//!
//! Decompression trusts no size found in the data: a claimed uncompressed size is checked
//! against [`MAX_DECOMPRESSED_BLOCK_LEN`] (and LZ4's maximum expansion) before allocating,
//! and the output must have exactly that size.
//!
//! Every decoder validates lengths before slicing or allocating. Any inconsistency is an
//! [`Error::Corruption`](crate::Error::Corruption) naming the file and the best-known offset, never a panic and never
//! wrong data.
//!
//! A point lookup ([`Table::get`]) costs one filter probe, a binary search of the decoded
//! index, one data block (a block cache hit, or a read, checksum and decompression), a
//! binary search of the block's restart points and a scan of at most
//! `block_restart_interval` entries.
//!
//! # Files
//!
//! | file | concept |
//! |------|---------|
//! | `format.rs` | block handles, block trailer, footer, magic, [`FORMAT_VERSION`] |
//! | `compress.rs` | per-block compression: none, LZ4, zstd |
//! | `block_builder.rs`, `block.rs` | the block format: [`BlockBuilder`], [`Block`], [`BlockIter`] |
//! | `filter.rs` | the bloom filter: [`BloomFilterBuilder`], [`BloomFilter`] |
//! | `properties.rs` | [`TableProperties`] and its encoding |
//! | `separator.rs` | shortened index keys |
//! | `builder.rs` | [`TableOptions`], [`TableBuilder`] |
//! | `index.rs` | [`TableIndex`], the decoded index |
//! | `table.rs` | [`Table`]: open, get, read_block, reads through the block cache |
//! | `iter.rs` | [`TableIterator`], the two-level iterator |
//! | `block_cache.rs` | the block cache: decoded data, index and filter blocks shared by every table, bounded in bytes |

pub mod block;
pub mod block_builder;
pub(crate) mod block_cache;
mod builder;
pub mod compress;
pub mod filter;
pub mod format;
mod index;
mod iter;
pub mod properties;
pub mod separator;
mod table;

#[cfg(test)]
mod tests;

pub use block::{Block, BlockIter};
pub use block_builder::BlockBuilder;
pub use builder::{TableBuilder, TableOptions};
pub use compress::MAX_DECOMPRESSED_BLOCK_LEN;
pub use filter::{BloomFilter, BloomFilterBuilder};
pub use format::{BlockHandle, Footer, FORMAT_VERSION, FORMAT_VERSION_RANGE_DELETIONS};
pub use index::TableIndex;
pub use iter::TableIterator;
pub use properties::TableProperties;
pub use table::Table;
pub(crate) use table::TableSource;
