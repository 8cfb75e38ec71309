//! [`Table`]: an open, immutable table file.
//!
//! Opening reads the footer and then the index, filter and properties blocks, verifies
//! every checksum, cross-checks them (the index must describe exactly the data region,
//! block after block, in key order) and keeps them in memory. After that a point lookup
//! costs one filter probe, one binary search in the in-memory index and one read of a data
//! block; iterators read data blocks as they reach them.

use std::sync::Arc;

use crate::coding::get_fixed64;
use crate::error::{Error, Result};
use crate::fs::RandomAccessFile;
use crate::iterator::InternalIterator;
use crate::key::{parse_internal_key, user_key, TRAILER_LEN};

use super::block::Block;
use super::filter::BloomFilter;
use super::format::{
    block_checksum, BlockHandle, Footer, BLOCK_TRAILER_LEN, COMPRESSION_NONE, FOOTER_LEN,
};
use super::index::TableIndex;
use super::iter::TableIterator;
use super::properties::TableProperties;

/// An open table. `Send + Sync`: share it with `Arc<Table>` between readers.
pub struct Table {
    file: Arc<dyn RandomAccessFile>,
    file_name: Arc<str>,
    /// Length of the file when it was opened.
    file_len: u64,
    footer: Footer,
    index: TableIndex,
    filter: BloomFilter,
    properties: TableProperties,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("file_name", &self.file_name)
            .field("footer", &self.footer)
            .field("properties", &self.properties)
            .finish_non_exhaustive()
    }
}

impl Table {
    /// Opens the table in `file`, named `file_name` in errors.
    ///
    /// Errors: [`Error::Corruption`] naming the file and offset if the file is shorter than
    /// the footer, has a bad magic number, an unsupported format version, a bad checksum in
    /// the footer or in the index, filter or properties block, handles pointing outside the
    /// file, or an index that does not describe the data blocks; [`Error::Io`] if a read
    /// fails.
    pub fn open(file: Arc<dyn RandomAccessFile>, file_name: &str) -> Result<Table> {
        let file_len = file.len();
        if file_len < FOOTER_LEN as u64 {
            return Err(Error::corruption(
                file_name,
                0,
                format!("file is {file_len} bytes, too short for the {FOOTER_LEN}-byte footer"),
            ));
        }
        let mut footer_buf = [0u8; FOOTER_LEN];
        file.read_exact_at(file_len - FOOTER_LEN as u64, &mut footer_buf)?;
        let footer = Footer::decode(&footer_buf, file_len, file_name)?;

        let footer_offset = file_len - FOOTER_LEN as u64;
        let layout_ok = footer.filter_handle.end_with_trailer()
            == Some(footer.properties_handle.offset)
            && footer.properties_handle.end_with_trailer() == Some(footer.index_handle.offset)
            && footer.index_handle.end_with_trailer() == Some(footer_offset);
        if !layout_ok {
            return Err(Error::corruption(
                file_name,
                footer_offset,
                format!(
                    "footer handles {footer:?} do not lay out the filter, properties and index \
                     blocks back to back before the footer"
                ),
            ));
        }

        let read = |handle| read_block_contents(&*file, file_name, file_len, handle);
        let props_handle = footer.properties_handle;
        let mut properties =
            TableProperties::decode(&read(props_handle)?, file_name, props_handle.offset)?;
        properties.index_bytes = footer.index_handle.size + BLOCK_TRAILER_LEN as u64;
        properties.file_size = file_len;
        properties.format_version = footer.format_version;
        let filter_handle = footer.filter_handle;
        if properties.data_bytes != filter_handle.offset
            || properties.filter_bytes != filter_handle.size + BLOCK_TRAILER_LEN as u64
        {
            return Err(Error::corruption(
                file_name,
                props_handle.offset,
                "properties disagree with the footer about the data and filter sizes",
            ));
        }
        let filter = BloomFilter::new(read(filter_handle)?, file_name, filter_handle.offset)?;
        let file_name: Arc<str> = Arc::from(file_name);
        let index_handle = footer.index_handle;
        let index_block = Block::new(
            read(index_handle)?,
            Arc::clone(&file_name),
            index_handle.offset,
        )?;
        let index = TableIndex::decode(
            &Arc::new(index_block),
            properties.data_bytes,
            properties.num_data_blocks,
            &file_name,
        )?;
        Ok(Table {
            file,
            file_name,
            file_len,
            footer,
            index,
            filter,
            properties,
        })
    }

    /// The table's statistics (`file_size`, `index_bytes` and `format_version` filled in
    /// from the file).
    pub fn properties(&self) -> &TableProperties {
        &self.properties
    }

    /// The decoded footer.
    pub fn footer(&self) -> &Footer {
        &self.footer
    }

    /// The name the table was opened with (used in errors).
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// False only if `user_key` is certainly not in the table (bloom filter); always true
    /// when the table has no filter.
    pub fn may_contain(&self, user_key: &[u8]) -> bool {
        self.filter.may_contain(user_key)
    }

    /// Point lookup: the first entry whose internal key is `>= seek_key`, if its user key is
    /// `user_key(seek_key)`. With a [`seek_key`](crate::key::seek_key) `(k, s)` that is the
    /// newest entry of `k` with sequence `<= s`, a put or a tombstone.
    ///
    /// Returns `(internal key, value)`, or `None` if the filter rules the key out or no such
    /// entry exists.
    ///
    /// Reads one data block: the first block whose index key is `>= seek_key` (earlier
    /// blocks hold only smaller keys). If that block holds nothing `>= seek_key`, the answer
    /// could only be the first entry of the next block, and only if the index key has the
    /// sought user key (the next block's keys are all greater than the index key). This
    /// builder never writes such an index key — it uses the block's last key or a user key
    /// strictly between two blocks — so the second read is for tables from other writers.
    ///
    /// Errors: [`Error::InvalidArgument`] if `seek_key` is shorter than an internal-key
    /// trailer; [`Error::Corruption`] or [`Error::Io`] from reading the data block.
    pub fn get(&self, seek_key: &[u8]) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        if seek_key.len() < TRAILER_LEN {
            return Err(Error::InvalidArgument(format!(
                "seek key of {} bytes is not an internal key",
                seek_key.len()
            )));
        }
        let target_user_key = user_key(seek_key);
        if !self.filter.may_contain(target_user_key) {
            return Ok(None);
        }
        let mut i = self.index.seek(seek_key);
        while i < self.index.len() {
            let handle = self.index.handle(i);
            let block = self.data_block(handle)?;
            let mut it = block.iter();
            it.seek(seek_key);
            if it.valid() {
                if user_key(it.key()) != target_user_key {
                    return Ok(None);
                }
                if parse_internal_key(it.key()).is_none() {
                    let detail = "data block holds a malformed internal key";
                    return Err(self.corruption(handle.offset, detail));
                }
                return Ok(Some((it.key().to_vec(), it.value().to_vec())));
            }
            it.status()?;
            if user_key(self.index.key(i)) != target_user_key {
                break;
            }
            i += 1;
        }
        Ok(None)
    }

    /// An iterator over every entry, in internal-key order. It holds a clone of the `Arc`,
    /// so it is `'static`.
    pub fn iter(self: &Arc<Self>) -> TableIterator {
        TableIterator::new(Arc::clone(self))
    }

    /// Every index entry: the separator key and the handle of each data block, in order
    /// (for `kevo dump-sst`).
    ///
    /// Errors: none today (the index is decoded and validated at open); the `Result`
    /// leaves room for an index that is loaded lazily.
    pub fn index_entries(&self) -> Result<Vec<(Vec<u8>, BlockHandle)>> {
        Ok((0..self.index.len())
            .map(|i| (self.index.key(i).to_vec(), self.index.handle(i)))
            .collect())
    }

    /// The decoded index.
    pub fn index(&self) -> &TableIndex {
        &self.index
    }

    /// Reads, verifies and parses the block at `handle`. Each call reads the file; a block
    /// cache goes in front of this method.
    ///
    /// Errors: [`Error::Corruption`] if the handle points outside the table's blocks, the
    /// checksum does not match, the compression type is unknown, or the restart array is
    /// malformed; [`Error::Io`] if the read fails.
    pub fn read_block(&self, handle: BlockHandle) -> Result<Block> {
        let contents = read_block_contents(&*self.file, &self.file_name, self.file_len, handle)?;
        Block::new(contents, Arc::clone(&self.file_name), handle.offset)
    }

    /// The data block at `handle`, shared. Lookups and iterators get their blocks here:
    /// this is where a block cache plugs in.
    pub(super) fn data_block(&self, handle: BlockHandle) -> Result<Arc<Block>> {
        self.read_block(handle).map(Arc::new)
    }

    /// The filter's size in bytes (bits and probe count; 0 when the table has no filter)
    /// and its number of probes (0 when none).
    pub fn filter_info(&self) -> (usize, u32) {
        (self.filter.size(), self.filter.probes())
    }

    pub(super) fn corruption(&self, offset: u64, detail: impl Into<String>) -> Error {
        Error::corruption(&*self.file_name, offset, detail)
    }
}

/// Reads the contents of the block at `handle` from a table file of `file_len` bytes and
/// checks its trailer (checksum first, then compression type). The handle must end before
/// the footer; the allocation is bounded by that.
fn read_block_contents(
    file: &dyn RandomAccessFile,
    file_name: &str,
    file_len: u64,
    handle: BlockHandle,
) -> Result<Vec<u8>> {
    let footer_offset = file_len.saturating_sub(FOOTER_LEN as u64);
    let sizes = match handle.end_with_trailer() {
        Some(end) if end <= footer_offset => usize::try_from(handle.size)
            .ok()
            .and_then(|size| Some((size, size.checked_add(BLOCK_TRAILER_LEN)?))),
        _ => None,
    };
    let Some((size, len)) = sizes else {
        return Err(Error::corruption(
            file_name,
            handle.offset,
            format!("block handle {handle:?} points past the blocks"),
        ));
    };
    let mut buf = vec![0u8; len];
    file.read_exact_at(handle.offset, &mut buf)?;
    let compression = buf[size];
    let stored = get_fixed64(&buf[size + 1..]).unwrap_or_default();
    let actual = block_checksum(&buf[..size], compression);
    if stored != actual {
        return Err(Error::corruption(
            file_name,
            handle.offset,
            format!("block checksum mismatch: stored {stored:#018x}, computed {actual:#018x}"),
        ));
    }
    if compression != COMPRESSION_NONE {
        return Err(Error::corruption(
            file_name,
            handle.offset + size as u64,
            format!("unknown block compression type {compression}"),
        ));
    }
    buf.truncate(size);
    Ok(buf)
}
