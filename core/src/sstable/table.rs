//! [`Table`]: an open, immutable table file.
//!
//! Opening reads the footer and then the index, filter and properties blocks, verifies
//! every checksum and cross-checks them (the index must describe exactly the data region,
//! block after block, in key order). After that a point lookup costs one filter probe, one
//! binary search in the decoded index and one read of a data block; iterators read data
//! blocks as they reach them.
//!
//! Where the decoded index and filter live depends on how the table was opened:
//!
//! - [`Table::open`] (no cache: tools, tests) keeps them in the `Table`, and every data
//!   block read goes to the file.
//! - `Table::open_cached` (the database, through its table cache) charges them to the
//!   shared [`BlockCache`], as it does data blocks, so the cache's capacity bounds the read
//!   memory of all open tables (RocksDB's `cache_index_and_filter_blocks`). They are still
//!   read and verified at open, then inserted; on a later miss they are read and verified
//!   again. One that the cache does not admit (larger than a cache shard) stays in the
//!   `Table` instead, so it is never re-read on every lookup.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::coding::get_fixed64;
use crate::error::{Error, Result};
use crate::fs::RandomAccessFile;
use crate::iterator::InternalIterator;
use crate::key::{compare_internal_keys, parse_internal_key, user_key, TRAILER_LEN};
use crate::sstable::block_cache::{BlockCache, BlockKey, CachedBlock};
use crate::stats::Counters;

use super::block::{Block, BlockIter};
use super::compress::decompress_block;
use super::filter::BloomFilter;
use super::format::{
    block_checksum, BlockHandle, Footer, BLOCK_TRAILER_LEN, COMPRESSION_LZ4, COMPRESSION_NONE,
    COMPRESSION_ZSTD, FOOTER_LEN, FORMAT_VERSION_RANGE_DELETIONS,
};
use super::index::TableIndex;
use super::iter::TableIterator;
use super::properties::TableProperties;
use crate::range_del::{decode_block, RangeTombstone};

/// An open table. `Send + Sync`: share it with `Arc<Table>` between readers.
pub struct Table {
    file: Arc<dyn RandomAccessFile>,
    file_name: Arc<str>,
    /// Length of the file when it was opened.
    file_len: u64,
    footer: Footer,
    properties: TableProperties,
    /// The decoded index, when held here rather than in the block cache.
    index: Option<Arc<TableIndex>>,
    /// The filter, when held here rather than in the block cache.
    filter: Option<Arc<BloomFilter>>,
    /// The filter's size in bytes and probe count, for [`Table::filter_info`] without a
    /// cache lookup.
    filter_info: (usize, u32),
    /// The shared block cache and the table's id in it, when opened with one.
    cached: Option<CacheContext>,
    /// The range-deletion block, decoded (see [`crate::range_del`]).
    range_tombstones: Vec<RangeTombstone>,
}

/// What a table opened through the table cache reads blocks through.
struct CacheContext {
    /// The table's file number: its id in the block cache.
    id: u64,
    cache: Arc<BlockCache>,
    stats: Arc<Counters>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("file_name", &self.file_name)
            .field("footer", &self.footer)
            .field("properties", &self.properties)
            .field("cache_id", &self.cached.as_ref().map(|c| c.id))
            .finish_non_exhaustive()
    }
}

impl Table {
    /// Opens the table in `file`, named `file_name` in errors, without a block cache: the
    /// index and filter stay in memory and every data block read goes to the file.
    ///
    /// Errors: [`Error::Corruption`] naming the file and offset if the file is shorter than
    /// the footer, has a bad magic number, an unsupported format version, a bad checksum in
    /// the footer or in the index, filter or properties block, handles pointing outside the
    /// file, or an index that does not describe the data blocks; [`Error::Io`] if a read
    /// fails.
    pub fn open(file: Arc<dyn RandomAccessFile>, file_name: &str) -> Result<Table> {
        Table::open_with(file, file_name, None, false)
    }

    /// Opens the table in `file`, file number `number` (named `file_name` in errors),
    /// reading data, index and filter blocks through `cache` and counting cache hits and
    /// misses and bloom filter outcomes in `stats`.
    ///
    /// `number` is the table's id in the cache: it must never name another file while
    /// `cache` lives (file numbers are never reused).
    ///
    /// Errors: as [`Table::open`]; the index and filter are verified at open either way.
    pub(crate) fn open_cached(
        file: Arc<dyn RandomAccessFile>,
        file_name: &str,
        number: u64,
        cache: Arc<BlockCache>,
        stats: Arc<Counters>,
        cache_index_and_filter: bool,
    ) -> Result<Table> {
        let cached = CacheContext {
            id: number,
            cache,
            stats,
        };
        Table::open_with(file, file_name, Some(cached), cache_index_and_filter)
    }

    fn open_with(
        file: Arc<dyn RandomAccessFile>,
        file_name: &str,
        cached: Option<CacheContext>,
        cache_index_and_filter: bool,
    ) -> Result<Table> {
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

        let props_handle = footer.properties_handle;
        let contents = read_block_contents(&*file, file_name, file_len, props_handle)?;
        let mut properties = TableProperties::decode(&contents, file_name, props_handle.offset)?;
        properties.index_bytes = footer.index_handle.size + BLOCK_TRAILER_LEN as u64;
        properties.file_size = file_len;
        properties.format_version = footer.format_version;
        let filter_handle = footer.filter_handle;
        if properties.data_bytes + properties.range_del_bytes != filter_handle.offset
            || properties.filter_bytes != filter_handle.size + BLOCK_TRAILER_LEN as u64
            || (properties.num_range_deletions > 0
                && footer.format_version < FORMAT_VERSION_RANGE_DELETIONS)
        {
            return Err(Error::corruption(
                file_name,
                props_handle.offset,
                "properties disagree with the footer about the data and filter sizes",
            ));
        }
        let mut table = Table {
            file,
            file_name: Arc::from(file_name),
            file_len,
            footer,
            properties,
            index: None,
            filter: None,
            filter_info: (0, 0),
            cached,
            range_tombstones: Vec::new(),
        };
        table.range_tombstones = table.load_range_tombstones()?;
        let filter = table.load_filter()?;
        table.filter_info = (filter.size(), filter.probes());
        let index = table.load_index()?;
        // Hand them to the cache if asked to; keep them here otherwise, or if there is no
        // cache or it refuses them.
        if !(cache_index_and_filter
            && table.cache_insert(footer.filter_handle, CachedBlock::Filter(filter.clone())))
        {
            table.filter = Some(filter);
        }
        if !(cache_index_and_filter
            && table.cache_insert(footer.index_handle, CachedBlock::Index(index.clone())))
        {
            table.index = Some(index);
        }
        Ok(table)
    }

    /// Reads, verifies and decodes the range-deletion block, if the table has one.
    fn load_range_tombstones(&self) -> Result<Vec<RangeTombstone>> {
        let p = &self.properties;
        if p.num_range_deletions == 0 {
            return Ok(Vec::new());
        }
        let handle = BlockHandle::new(
            p.data_bytes,
            p.range_del_bytes.saturating_sub(BLOCK_TRAILER_LEN as u64),
        );
        let contents = self.read_block_contents(handle)?;
        let bad = |detail: String| Error::corruption(&*self.file_name, handle.offset, detail);
        let ts = decode_block(&contents).map_err(bad)?;
        if ts.len() as u64 != p.num_range_deletions {
            return Err(bad(format!(
                "range-deletion block holds {} tombstones, the properties say {}",
                ts.len(),
                p.num_range_deletions
            )));
        }
        if ts.iter().any(|t| t.start >= t.end) {
            return Err(bad("range tombstone with start >= end".into()));
        }
        Ok(ts)
    }

    /// The table's range tombstones (read and verified at open; empty for most tables).
    pub fn range_tombstones(&self) -> &[RangeTombstone] {
        &self.range_tombstones
    }

    /// Reads, verifies and decodes the filter block.
    fn load_filter(&self) -> Result<Arc<BloomFilter>> {
        let handle = self.footer.filter_handle;
        let contents = self.read_block_contents(handle)?;
        Ok(Arc::new(BloomFilter::new(
            contents,
            &self.file_name,
            handle.offset,
        )?))
    }

    /// Reads, verifies and decodes the index block, checking it against the properties.
    fn load_index(&self) -> Result<Arc<TableIndex>> {
        let handle = self.footer.index_handle;
        let block = Block::new(
            self.read_block_contents(handle)?,
            Arc::clone(&self.file_name),
            handle.offset,
        )?;
        Ok(Arc::new(TableIndex::decode(
            &Arc::new(block),
            self.properties.data_bytes,
            self.properties.num_data_blocks,
            &self.file_name,
        )?))
    }

    /// Inserts `value`, the block at `handle`, into the block cache; false if there is no
    /// cache or it did not admit the entry.
    fn cache_insert(&self, handle: BlockHandle, value: CachedBlock) -> bool {
        match &self.cached {
            Some(c) => c.cache.insert(c.key(handle), value),
            None => false,
        }
    }

    /// The table's statistics (`file_size`, `index_bytes` and `format_version` filled in
    /// from the file). `data_bytes` counts the data blocks as stored (compressed), trailers
    /// included.
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

    /// False only if `user_key` is certainly not in the table (bloom filter); true when the
    /// table has no filter, and also when the filter could not be re-read after leaving the
    /// block cache (the lookup that follows reports that error).
    pub fn may_contain(&self, user_key: &[u8]) -> bool {
        self.filter().map_or(true, |f| f.may_contain(user_key))
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
    /// With statistics (a table opened through the table cache), counts the filter's
    /// verdict: a negative, or, when it let the key through, a true positive if an entry
    /// was found and a false positive if not (which includes a key present only at
    /// sequence numbers above the seek key's).
    ///
    /// Errors: [`Error::InvalidArgument`] if `seek_key` is shorter than an internal-key
    /// trailer; [`Error::Corruption`] or [`Error::Io`] from reading the filter, index or
    /// data block.
    pub fn get(&self, seek_key: &[u8]) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        if seek_key.len() < TRAILER_LEN {
            return Err(Error::InvalidArgument(format!(
                "seek key of {} bytes is not an internal key",
                seek_key.len()
            )));
        }
        let target_user_key = user_key(seek_key);
        let filter = self.filter()?;
        let stats = self.cached.as_ref().map(|c| &*c.stats);
        if !filter.may_contain(target_user_key) {
            if let Some(s) = stats {
                Counters::add(&s.bloom_negatives, 1);
            }
            return Ok(None);
        }
        let found = self.get_unfiltered(seek_key, target_user_key)?;
        if let Some(s) = stats.filter(|_| filter.is_enabled()) {
            let counter = match found {
                Some(_) => &s.bloom_true_positives,
                None => &s.bloom_false_positives,
            };
            Counters::add(counter, 1);
        }
        Ok(found)
    }

    /// [`get`](Self::get) of every key in `seek_keys`, which must be sorted in internal-key
    /// order (ascending user keys at one sequence number): one answer per key, in order.
    ///
    /// Each data block is fetched once for the run of keys that fall into it, and the block
    /// iterator moves forward from one key to the next instead of seeking afresh (binary
    /// search over the restart points) each time — the sorted batch that RocksDB's
    /// `MultiGet` exploits. A key whose versions run on into the next block is looked up as
    /// `get` does. Each entry found is passed to `found` as (position in `seek_keys`,
    /// internal key, value), borrowed from the block, so nothing is copied that the caller
    /// does not keep.
    ///
    /// Errors: as [`get`](Self::get); whatever `found` returns (the walk stops).
    pub fn multi_get(
        &self,
        seek_keys: &[&[u8]],
        mut found: impl FnMut(usize, &[u8], &[u8]) -> Result<()>,
    ) -> Result<()> {
        /// How far the block iterator walks forward before a fresh seek is cheaper.
        const MAX_STEPS: usize = 16;
        let filter = self.filter()?;
        let index = self.index()?;
        let stats = self.cached.as_ref().map(|c| &*c.stats);
        let mut current: Option<(usize, BlockIter)> = None;
        for (n, &seek_key) in seek_keys.iter().enumerate() {
            if seek_key.len() < TRAILER_LEN {
                return Err(Error::InvalidArgument(format!(
                    "seek key of {} bytes is not an internal key",
                    seek_key.len()
                )));
            }
            let target_user_key = user_key(seek_key);
            if !filter.may_contain(target_user_key) {
                if let Some(s) = stats {
                    Counters::add(&s.bloom_negatives, 1);
                }
                continue;
            }
            let i = index.seek(seek_key);
            let hit = if i >= index.len() {
                false
            } else {
                let it = match &mut current {
                    Some((block, it)) if *block == i => {
                        let mut steps = 0;
                        while it.valid()
                            && compare_internal_keys(it.key(), seek_key) == Ordering::Less
                            && steps < MAX_STEPS
                        {
                            it.next();
                            steps += 1;
                        }
                        if steps == MAX_STEPS {
                            it.seek(seek_key);
                        }
                        it
                    }
                    _ => {
                        let mut it = self.data_block(index.handle(i))?.iter();
                        it.seek(seek_key);
                        &mut current.insert((i, it)).1
                    }
                };
                if it.valid() {
                    if user_key(it.key()) != target_user_key {
                        false
                    } else if parse_internal_key(it.key()).is_none() {
                        let detail = "data block holds a malformed internal key";
                        return Err(self.corruption(index.handle(i).offset, detail));
                    } else {
                        found(n, it.key(), it.value())?;
                        true
                    }
                } else {
                    it.status()?;
                    // The block ended before the key: its versions may continue in the next.
                    match self.get_unfiltered(seek_key, target_user_key)? {
                        Some((k, v)) => {
                            found(n, &k, &v)?;
                            true
                        }
                        None => false,
                    }
                }
            };
            if let Some(s) = stats.filter(|_| filter.is_enabled()) {
                let counter = if hit {
                    &s.bloom_true_positives
                } else {
                    &s.bloom_false_positives
                };
                Counters::add(counter, 1);
            }
        }
        Ok(())
    }

    /// [`get`](Self::get) after the filter let `target_user_key` through.
    fn get_unfiltered(
        &self,
        seek_key: &[u8],
        target_user_key: &[u8],
    ) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let index = self.index()?;
        let mut i = index.seek(seek_key);
        while i < index.len() {
            let handle = index.handle(i);
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
            if user_key(index.key(i)) != target_user_key {
                break;
            }
            i += 1;
        }
        Ok(None)
    }

    /// An iterator over every entry, in internal-key order. It holds a clone of the `Arc`,
    /// so it is `'static`. If the index cannot be fetched (it left the block cache and
    /// re-reading it failed) the iterator starts out invalid with that error as its status.
    pub fn iter(self: &Arc<Self>) -> TableIterator {
        TableIterator::new(Arc::clone(self))
    }

    /// Every index entry: the separator key and the handle of each data block, in order
    /// (for `kevo dump-sst`).
    ///
    /// Errors: [`Error::Corruption`] or [`Error::Io`] if the index left the block cache and
    /// re-reading it fails.
    pub fn index_entries(&self) -> Result<Vec<(Vec<u8>, BlockHandle)>> {
        let index = self.index()?;
        Ok((0..index.len())
            .map(|i| (index.key(i).to_vec(), index.handle(i)))
            .collect())
    }

    /// The decoded index: held by the table, or fetched from the block cache (read and
    /// verified again on a miss).
    ///
    /// Errors: [`Error::Corruption`] or [`Error::Io`] from re-reading it.
    pub fn index(&self) -> Result<Arc<TableIndex>> {
        if let Some(index) = &self.index {
            return Ok(Arc::clone(index));
        }
        let handle = self.footer.index_handle;
        if let Some(CachedBlock::Index(index)) = self.cache_lookup(handle) {
            return Ok(index);
        }
        let index = self.load_index()?;
        self.cache_insert(handle, CachedBlock::Index(Arc::clone(&index)));
        Ok(index)
    }

    /// The filter: held by the table, or fetched from the block cache like the index.
    fn filter(&self) -> Result<Arc<BloomFilter>> {
        if let Some(filter) = &self.filter {
            return Ok(Arc::clone(filter));
        }
        let handle = self.footer.filter_handle;
        if let Some(CachedBlock::Filter(filter)) = self.cache_lookup(handle) {
            return Ok(filter);
        }
        let filter = self.load_filter()?;
        self.cache_insert(handle, CachedBlock::Filter(Arc::clone(&filter)));
        Ok(filter)
    }

    /// Looks up the block at `handle` in the block cache, counting a hit or a miss. `None`
    /// without a cache (nothing counted).
    #[inline]
    fn cache_lookup(&self, handle: BlockHandle) -> Option<CachedBlock> {
        let c = self.cached.as_ref()?;
        let found = c.cache.get(&c.key(handle));
        let counter = match found {
            Some(_) => &c.stats.block_cache_hits,
            None => &c.stats.block_cache_misses,
        };
        Counters::add(counter, 1);
        found
    }

    /// Reads, verifies, decompresses and parses the block at `handle`. Each call reads the
    /// file (no cache); lookups and iterators go through the cache instead.
    ///
    /// Errors: [`Error::Corruption`] if the handle points outside the table's blocks, the
    /// checksum does not match, the compression type is unknown, the block does not
    /// decompress, or the restart array is malformed; [`Error::Io`] if the read fails.
    pub fn read_block(&self, handle: BlockHandle) -> Result<Block> {
        let contents = self.read_block_contents(handle)?;
        Block::new(contents, Arc::clone(&self.file_name), handle.offset)
    }

    /// The compression type byte of the block at `handle` (0 none, 1 lz4, 2 zstd), read
    /// from its trailer and checksum-verified: for `kevo dump-sst`.
    ///
    /// Errors: as [`read_block`](Self::read_block), except that the contents are not
    /// decompressed or parsed.
    pub fn block_compression(&self, handle: BlockHandle) -> Result<u8> {
        let (buf, size) = read_stored_block(&*self.file, &self.file_name, self.file_len, handle)?;
        Ok(buf[size])
    }

    fn read_block_contents(&self, handle: BlockHandle) -> Result<Vec<u8>> {
        read_block_contents(&*self.file, &self.file_name, self.file_len, handle)
    }

    /// The data block at `handle`, shared. Lookups and iterators get their blocks here,
    /// through the block cache when the table has one.
    #[inline]
    pub(super) fn data_block(&self, handle: BlockHandle) -> Result<Arc<Block>> {
        if let Some(CachedBlock::Data(block)) = self.cache_lookup(handle) {
            return Ok(block);
        }
        let block = Arc::new(self.read_block(handle)?);
        self.cache_insert(handle, CachedBlock::Data(Arc::clone(&block)));
        Ok(block)
    }

    /// Drops this table's entries from the block cache (its file is being deleted), if its
    /// index is at hand without reading the file: it names the data blocks. Otherwise they
    /// are left to age out, which they do quickly since nothing asks for them again.
    pub(crate) fn forget_cached_blocks(&self) {
        let Some(c) = &self.cached else {
            return;
        };
        let index_key = c.key(self.footer.index_handle);
        let index = match (&self.index, c.cache.get(&index_key)) {
            (Some(index), _) => Some(Arc::clone(index)),
            (None, Some(CachedBlock::Index(index))) => Some(index),
            _ => None,
        };
        if let Some(index) = index {
            for i in 0..index.len() {
                c.cache.remove(&c.key(index.handle(i)));
            }
        }
        c.cache.remove(&index_key);
        c.cache.remove(&c.key(self.footer.filter_handle));
    }

    /// The filter's size in bytes (bits and probe count; 0 when the table has no filter)
    /// and its number of probes (0 when none).
    pub fn filter_info(&self) -> (usize, u32) {
        self.filter_info
    }

    pub(super) fn corruption(&self, offset: u64, detail: impl Into<String>) -> Error {
        Error::corruption(&*self.file_name, offset, detail)
    }
}

impl CacheContext {
    #[inline]
    fn key(&self, handle: BlockHandle) -> BlockKey {
        BlockKey {
            table: self.id,
            offset: handle.offset,
        }
    }
}

/// Reads the block at `handle` with its trailer from a table file of `file_len` bytes and
/// verifies the checksum. Returns the buffer (stored contents, then the trailer) and the
/// contents' length. The handle must end before the footer; the allocation is bounded by
/// that.
fn read_stored_block(
    file: &dyn RandomAccessFile,
    file_name: &str,
    file_len: u64,
    handle: BlockHandle,
) -> Result<(Vec<u8>, usize)> {
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
    Ok((buf, size))
}

/// Reads the block at `handle`, verifies its checksum and returns its contents,
/// decompressed. An unknown compression type is corruption at the trailer's offset; bad
/// compressed data is corruption at the block's offset.
fn read_block_contents(
    file: &dyn RandomAccessFile,
    file_name: &str,
    file_len: u64,
    handle: BlockHandle,
) -> Result<Vec<u8>> {
    let (mut buf, size) = read_stored_block(file, file_name, file_len, handle)?;
    match buf[size] {
        COMPRESSION_NONE => {
            buf.truncate(size);
            Ok(buf)
        }
        COMPRESSION_LZ4 | COMPRESSION_ZSTD => {
            decompress_block(buf[size], &buf[..size], file_name, handle.offset)
        }
        other => Err(Error::corruption(
            file_name,
            handle.offset + size as u64,
            format!("unknown block compression type {other}"),
        )),
    }
}

/// Where readers get open tables by file number. The table cache implements it; the
/// version's point lookup and level iterators ask it for tables, so they need not know how
/// tables are opened or cached (LevelDB's `Version::Get` goes through its `TableCache` the
/// same way).
pub(crate) trait TableSource: Send + Sync {
    /// The reader of table `number`.
    ///
    /// Errors: [`Error::NotFound`](crate::Error::NotFound) if the file is missing,
    /// [`Error::Corruption`](crate::Error::Corruption) for a damaged footer or meta block,
    /// [`Error::Io`](crate::Error::Io).
    fn table(&self, number: u64) -> Result<Arc<Table>>;
}
