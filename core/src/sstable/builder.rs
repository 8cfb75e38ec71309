//! [`TableBuilder`]: writes a table from entries given in internal-key order.
//!
//! Entries accumulate in the current data block; once its estimated size reaches
//! `block_size` the block is written out and its index entry is held back until the next
//! key arrives, so the index key can be a short separator between the two blocks (see
//! [`separator`](super::separator)). [`finish`](TableBuilder::finish) then writes the
//! filter, properties and index blocks and the footer, and syncs the file.

use crate::error::{Error, Result};
use crate::fs::WritableFile;
use crate::key::{compare_internal_keys, parse_internal_key, ValueKind};
use crate::options::{Compression, Options};

use super::block_builder::BlockBuilder;
use super::compress::BlockCompressor;
use super::filter::BloomFilterBuilder;
use super::format::{
    block_trailer, BlockHandle, Footer, BLOCK_TRAILER_LEN, COMPRESSION_NONE, FORMAT_VERSION,
    FORMAT_VERSION_RANGE_DELETIONS,
};
use super::properties::TableProperties;
use super::separator::{short_successor, shortest_separator};
use crate::range_del::{encode_block, RangeTombstone};

/// The tunables that shape a table file. Every table records the resulting layout in its
/// own blocks, so tables written with different options can be read side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableOptions {
    /// Target size of a data block's contents, in bytes; a block is closed once it reaches
    /// it (so blocks are slightly larger). Default 4096.
    pub block_size: usize,
    /// Entries between restart points in data blocks. Default 16; 0 is treated as 1.
    pub block_restart_interval: usize,
    /// Bloom filter bits per user key; 0 writes an empty filter (no filtering). Default 10.
    pub bloom_bits_per_key: usize,
    /// How data blocks are compressed (each block whose compressed form does not save 1/8
    /// is stored raw). Default [`Compression::Lz4`], as [`Options::compression`], so
    /// `TableOptions::default()` equals `from_options(&Options::default())`.
    pub compression: Compression,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            block_size: 4096,
            block_restart_interval: 16,
            bloom_bits_per_key: 10,
            compression: Compression::Lz4,
        }
    }
}

impl TableOptions {
    /// The table-related fields of the database options.
    pub fn from_options(o: &Options) -> Self {
        TableOptions {
            block_size: o.block_size,
            block_restart_interval: o.block_restart_interval,
            bloom_bits_per_key: o.bloom_bits_per_key,
            compression: o.compression,
        }
    }
}

/// Restart interval of the index block: every entry is a restart point, so a lookup's
/// binary search lands directly on the right entry and reads keys without copying them.
const INDEX_RESTART_INTERVAL: usize = 1;

/// Writes one table file. Create it, [`add`](Self::add) entries in strictly increasing
/// internal-key order, then [`finish`](Self::finish). Dropping a builder without finishing
/// leaves a partial file that the caller should delete.
pub struct TableBuilder {
    options: TableOptions,
    out: BlockWriter,
    data_block: BlockBuilder,
    index_block: BlockBuilder,
    filter: BloomFilterBuilder,
    props: TableProperties,
    last_key: Vec<u8>,
    /// The last written data block, whose index entry waits for the next key.
    pending_handle: Option<BlockHandle>,
    /// Scratch space for encoding index entry values.
    handle_buf: Vec<u8>,
    /// Compresses data blocks (only data blocks: see [`BlockWriter::write_block`]).
    compressor: BlockCompressor,
    /// Range tombstones for the range-deletion block.
    range_tombstones: Vec<RangeTombstone>,
}

/// The output file and the bookkeeping of what was written to it.
struct BlockWriter {
    file: Box<dyn WritableFile>,
    file_name: String,
    /// Bytes written to `file` so far.
    offset: u64,
    /// The first write error; the file is unusable after it.
    failed: Option<Error>,
}

impl BlockWriter {
    fn check_not_failed(&self) -> Result<()> {
        match &self.failed {
            None => Ok(()),
            Some(e) => Err(e.duplicate()),
        }
    }

    /// Writes `contents` uncompressed and its trailer; returns the block's handle. For the
    /// filter, properties and index blocks: they are read once per table open (or cache
    /// miss) and kept decoded, so compressing them would save little space and cost a
    /// decompression on every open; and the filter's bits and the index's separator keys
    /// compress poorly anyway.
    fn write_block(&mut self, contents: &[u8]) -> Result<BlockHandle> {
        self.write_stored(contents, COMPRESSION_NONE)
    }

    /// Writes `stored` (a block's contents as stored: compressed or not) and the trailer
    /// for type byte `compression`; returns the block's handle.
    fn write_stored(&mut self, stored: &[u8], compression: u8) -> Result<BlockHandle> {
        let handle = BlockHandle::new(self.offset, stored.len() as u64);
        self.append(stored)?;
        self.append(&block_trailer(stored, compression))?;
        Ok(handle)
    }

    fn append(&mut self, data: &[u8]) -> Result<()> {
        match self.file.append(data) {
            Ok(()) => {
                self.offset += data.len() as u64;
                Ok(())
            }
            Err(e) => {
                self.failed = Some(e.duplicate());
                Err(e)
            }
        }
    }
}

impl std::fmt::Debug for TableBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableBuilder")
            .field("file_name", &self.out.file_name)
            .field("offset", &self.out.offset)
            .field("num_entries", &self.props.num_entries)
            .finish_non_exhaustive()
    }
}

impl TableBuilder {
    /// A builder writing to `file` (empty, freshly created), named `file_name` in errors.
    pub fn new(options: TableOptions, file: Box<dyn WritableFile>, file_name: String) -> Self {
        TableBuilder {
            options,
            out: BlockWriter {
                file,
                file_name,
                offset: 0,
                failed: None,
            },
            compressor: BlockCompressor::new(options.compression),
            data_block: BlockBuilder::new(options.block_restart_interval),
            index_block: BlockBuilder::new(INDEX_RESTART_INTERVAL),
            filter: BloomFilterBuilder::new(options.bloom_bits_per_key),
            props: TableProperties::default(),
            last_key: Vec::new(),
            pending_handle: None,
            handle_buf: Vec::with_capacity(BlockHandle::MAX_VARINT_LEN),
            range_tombstones: Vec::new(),
        }
    }

    /// Appends an entry. `internal_key` must be a valid internal key (see [`crate::key`])
    /// greater than every key added before.
    ///
    /// Errors: [`Error::InvalidArgument`] for a malformed or out-of-order key or a key or
    /// value over 4 GiB (the builder stays usable); [`Error::Io`] if writing a full block
    /// failed (the builder is then unusable and returns that error from every call).
    pub fn add(&mut self, internal_key: &[u8], value: &[u8]) -> Result<()> {
        self.out.check_not_failed()?;
        let invalid = |what: &str| {
            Err(Error::InvalidArgument(format!(
                "table {}: {what}",
                self.out.file_name
            )))
        };
        let Some(parsed) = parse_internal_key(internal_key) else {
            return invalid("malformed internal key");
        };
        if self.props.num_entries > 0 && compare_internal_keys(internal_key, &self.last_key).is_le()
        {
            return invalid("keys added out of order");
        }
        if u32::try_from(internal_key.len()).is_err() || u32::try_from(value.len()).is_err() {
            return invalid("key or value over 4 GiB");
        }

        if let Some(handle) = self.pending_handle.take() {
            let separator = shortest_separator(&self.last_key, internal_key);
            self.add_index_entry(&separator, handle);
        }
        self.filter.add_key(parsed.user_key);

        let p = &mut self.props;
        if p.num_entries == 0 {
            p.smallest_key = internal_key.to_vec();
            p.smallest_seq = parsed.seq;
            p.largest_seq = parsed.seq;
        }
        p.smallest_seq = p.smallest_seq.min(parsed.seq);
        p.largest_seq = p.largest_seq.max(parsed.seq);
        p.num_entries += 1;
        p.num_deletions += u64::from(parsed.kind == ValueKind::Delete);
        p.raw_key_bytes += internal_key.len() as u64;
        p.raw_value_bytes += value.len() as u64;

        self.data_block.add(internal_key, value);
        self.last_key.clear();
        self.last_key.extend_from_slice(internal_key);
        if self.data_block.current_size_estimate() >= self.options.block_size {
            self.flush_data_block()?;
        }
        Ok(())
    }

    /// Adds a range tombstone to the table's range-deletion block (any order, before
    /// [`finish`](Self::finish)). Its sequence number counts in the table's sequence range.
    ///
    /// Errors: [`Error::InvalidArgument`] if `start >= end` (it would cover nothing).
    pub fn add_range_tombstone(&mut self, tombstone: RangeTombstone) -> Result<()> {
        if tombstone.start >= tombstone.end {
            return Err(Error::InvalidArgument(format!(
                "table {}: empty range tombstone",
                self.out.file_name
            )));
        }
        self.range_tombstones.push(tombstone);
        Ok(())
    }

    /// Range tombstones added so far.
    pub fn num_range_tombstones(&self) -> usize {
        self.range_tombstones.len()
    }

    /// Entries added so far.
    pub fn num_entries(&self) -> u64 {
        self.props.num_entries
    }

    /// Bytes written so far plus the size of the data block being filled: roughly the file
    /// size if the table were finished now (filter, index and footer not counted). Used to
    /// cut compaction output into files of a target size.
    pub fn estimated_file_size(&self) -> u64 {
        let pending = if self.data_block.is_empty() {
            0
        } else {
            self.data_block.current_size_estimate() + BLOCK_TRAILER_LEN
        };
        self.out.offset + pending as u64
    }

    /// Writes the last data block, the filter, properties and index blocks and the footer,
    /// then syncs the file.
    ///
    /// Returns the table's properties, `file_size` and `index_bytes` included.
    ///
    /// Errors: [`Error::Io`] from the writes or the sync (or an earlier failed write).
    pub fn finish(mut self) -> Result<TableProperties> {
        self.out.check_not_failed()?;
        self.flush_data_block()?;
        if let Some(handle) = self.pending_handle.take() {
            let successor = short_successor(&self.last_key);
            self.add_index_entry(&successor, handle);
        }

        self.props.data_bytes = self.out.offset;
        let mut format_version = FORMAT_VERSION;
        if !self.range_tombstones.is_empty() {
            let ts = std::mem::take(&mut self.range_tombstones);
            let handle = self.out.write_block(&encode_block(&ts))?;
            let p = &mut self.props;
            p.num_range_deletions = ts.len() as u64;
            p.range_del_bytes = handle.size + BLOCK_TRAILER_LEN as u64;
            let (lo, hi) = ts
                .iter()
                .fold((u64::MAX, 0), |(lo, hi), t| (lo.min(t.seq), hi.max(t.seq)));
            if p.num_entries == 0 {
                (p.smallest_seq, p.largest_seq) = (lo, hi);
            } else {
                p.smallest_seq = p.smallest_seq.min(lo);
                p.largest_seq = p.largest_seq.max(hi);
            }
            format_version = FORMAT_VERSION_RANGE_DELETIONS;
        }
        let filter_handle = self.out.write_block(&self.filter.finish())?;
        self.props.filter_bytes = filter_handle.size + BLOCK_TRAILER_LEN as u64;
        self.props.largest_key = std::mem::take(&mut self.last_key);

        let properties_handle = self.out.write_block(&self.props.encode())?;
        let index_handle = self.out.write_block(self.index_block.finish())?;
        self.props.index_bytes = index_handle.size + BLOCK_TRAILER_LEN as u64;

        let footer = Footer {
            index_handle,
            filter_handle,
            properties_handle,
            format_version,
        };
        self.out.append(&footer.encode())?;
        self.out.file.sync()?;
        debug_assert_eq!(self.out.offset, self.out.file.len());
        self.props.file_size = self.out.offset;
        self.props.format_version = format_version;
        Ok(self.props)
    }

    fn add_index_entry(&mut self, key: &[u8], handle: BlockHandle) {
        self.handle_buf.clear();
        handle.encode_varint_to(&mut self.handle_buf);
        self.index_block.add(key, &self.handle_buf);
    }

    fn flush_data_block(&mut self) -> Result<()> {
        if self.data_block.is_empty() {
            return Ok(());
        }
        let (kind, stored) = self.compressor.compress(self.data_block.finish());
        let handle = self.out.write_stored(stored, kind)?;
        self.data_block.reset();
        self.pending_handle = Some(handle);
        self.props.num_data_blocks += 1;
        Ok(())
    }
}
