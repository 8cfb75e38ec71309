//! The table cache: open SSTable readers, shared by every reader and compaction, and the
//! block cache behind them.
//!
//! Opening a table reads its footer, properties, filter and index, so an open [`Table`] is
//! kept per file number and reused. At most [`Options::max_open_files`] tables stay open
//! (each holds a file descriptor); past that the least recently used are closed. Closing
//! only drops the cache's `Arc<Table>`: a reader or iterator still holding the table keeps
//! using it, and the file is closed when the last holder lets go. A closed table is simply
//! opened again on its next use.
//!
//! Every table reads its data, index and filter blocks through one [`BlockCache`] of
//! [`Options::block_cache_size`] bytes (0 disables it). Blocks are keyed by file number,
//! and file numbers are never reused, so a table closed and reopened finds its blocks
//! still cached, and a deleted table's blocks can never be mistaken for another's.

use std::path::PathBuf;
use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::{OptionsBuilder, UnitWeighter};

use crate::error::Result;
use crate::filename::table_path;
use crate::fs::FileSystem;
use crate::options::Options;
use crate::sstable::block_cache::{shard_layout, BlockCache};
use crate::sstable::{Table, TableSource};
use crate::stats::Counters;

/// Open tables by file number, at most `max_open_files` of them, and the block cache.
pub(crate) struct TableCache {
    /// Charge index and filter blocks to the block cache instead of keeping them with the
    /// open table ([`Options::cache_index_and_filter_blocks`]).
    cache_index_and_filter_blocks: bool,
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    /// Each table weighs 1: the capacity is the number of open tables.
    tables: Cache<u64, Arc<Table>, UnitWeighter>,
    block_cache: Arc<BlockCache>,
    stats: Arc<Counters>,
    /// Read-only handles: every table of the current version, opened when the version was
    /// installed and kept open (outside `max_open_files`) so that the writer deleting the
    /// file leaves it readable through the descriptor (see [`TableCache::pin`]).
    pinned: parking_lot::RwLock<std::collections::HashMap<u64, Arc<Table>>>,
}

impl std::fmt::Debug for TableCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableCache")
            .field("dir", &self.dir)
            .field("open_tables", &self.tables.len())
            .field("block_cache", &self.block_cache)
            .finish_non_exhaustive()
    }
}

impl TableCache {
    /// A table cache for the tables in `dir`, keeping at most `options.max_open_files`
    /// open (rounded down to a multiple of the cache's shard count, so at most 1/32 fewer)
    /// and a block cache of `options.block_cache_size` bytes, counting block cache and
    /// bloom filter outcomes in `stats`.
    pub(crate) fn new(
        fs: Arc<dyn FileSystem>,
        dir: PathBuf,
        options: &Options,
        stats: Arc<Counters>,
    ) -> Self {
        let max_open = options.max_open_files.max(1) as u64;
        let (shards, capacity) = shard_layout(max_open, 1, 1);
        let tables = OptionsBuilder::new()
            .shards(shards as usize)
            .estimated_items_capacity(capacity as usize)
            .weight_capacity(capacity)
            .build()
            .map(|o| Cache::with_options(o, UnitWeighter, Default::default(), Default::default()))
            // Only invalid options fail to build; these are valid, but fall back to a
            // default-sharded cache rather than panic.
            .unwrap_or_else(|_| Cache::with_weighter(capacity as usize, capacity, UnitWeighter));
        TableCache {
            fs,
            dir,
            tables,
            block_cache: Arc::new(BlockCache::new(options.block_cache_size as u64)),
            stats,
            cache_index_and_filter_blocks: options.cache_index_and_filter_blocks,
            pinned: Default::default(),
        }
    }

    /// The reader of table `number`, opening it if it is not open. Concurrent callers
    /// asking for the same closed table wait for one open rather than each opening it.
    ///
    /// Errors: [`Error::NotFound`](crate::Error::NotFound) if the file is missing,
    /// [`Error::Corruption`](crate::Error::Corruption) if its footer or meta blocks are bad,
    /// [`Error::Io`](crate::Error::Io). A failed open is not cached: the next call tries
    /// again.
    pub(crate) fn get(&self, number: u64) -> Result<Arc<Table>> {
        if let Some(t) = self.pinned.read().get(&number) {
            return Ok(t.clone());
        }
        self.tables
            .get_or_insert_with(&number, || -> Result<Arc<Table>> {
                let path = table_path(&self.dir, number);
                let file = self.fs.open(&path)?;
                let table = Table::open_cached(
                    file,
                    &path.display().to_string(),
                    number,
                    Arc::clone(&self.block_cache),
                    Arc::clone(&self.stats),
                    self.cache_index_and_filter_blocks,
                )?;
                Ok(Arc::new(table))
            })
    }

    /// Opens every table in `numbers` (reusing those already open) and keeps exactly those
    /// open until the next call: a read-only handle's pinning of its version's files. An
    /// open descriptor keeps an unlinked file readable (POSIX), so the writer's compactions
    /// may delete a pinned table without breaking the reader. Tables of an older version
    /// that a reader still holds stay open through their own `Arc`s.
    ///
    /// Errors: as [`get`](Self::get), for the first table that fails to open (a
    /// [`Error::NotFound`](crate::Error::NotFound) means the writer deleted it first); the
    /// pinned set is then unchanged.
    pub(crate) fn pin(&self, numbers: impl IntoIterator<Item = u64>) -> Result<()> {
        let mut next = std::collections::HashMap::new();
        for n in numbers {
            let t = self.get(n)?;
            next.insert(n, t);
        }
        *self.pinned.write() = next;
        Ok(())
    }

    /// Bytes the block cache holds and its capacity, both in bytes ((0, 0) when disabled).
    pub(crate) fn block_cache_usage(&self) -> (u64, u64) {
        (self.block_cache.usage(), self.block_cache.capacity())
    }

    /// Forgets table `number` (its file is being deleted) and, if it was open, drops its
    /// blocks from the block cache. A table already closed for `max_open_files` leaves its
    /// blocks to age out (finding them would mean reading the file).
    pub(crate) fn evict(&self, number: u64) {
        if let Some((_, table)) = self.tables.remove(&number) {
            table.forget_cached_blocks();
        }
    }

    /// Number of open tables.
    #[cfg(test)]
    fn open_tables(&self) -> usize {
        self.tables.len()
    }
}

impl TableSource for TableCache {
    fn table(&self, number: u64) -> Result<Arc<Table>> {
        self.get(number)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use crate::fs::MemFileSystem;
    use crate::iterator::InternalIterator;
    use crate::key::{make_internal_key, seek_key, ValueKind, MAX_SEQUENCE_NUMBER};
    use crate::options::Compression;
    use crate::sstable::{TableBuilder, TableOptions};

    fn key(i: usize) -> Vec<u8> {
        format!("key{i:06}").into_bytes()
    }

    /// Writes table `number` holding keys `key(0..n)` (even numbers only, so odd ones are
    /// absent) with 100-byte values.
    fn write_table(fs: &MemFileSystem, number: u64, n: usize) {
        let path = table_path(Path::new("/db"), number);
        let o = TableOptions {
            block_size: 1024,
            compression: Compression::Lz4,
            ..TableOptions::default()
        };
        let mut b = TableBuilder::new(o, fs.create(&path).unwrap(), path.display().to_string());
        for i in (0..n).step_by(2) {
            let v = format!("{number}-{i}-").repeat(10);
            b.add(&make_internal_key(&key(i), 1, ValueKind::Put), v.as_bytes())
                .unwrap();
        }
        b.finish().unwrap();
    }

    fn setup(tables: u64, n: usize, options: &Options) -> (TableCache, Arc<Counters>) {
        let fs = MemFileSystem::new();
        fs.create_dir_all(Path::new("/db")).unwrap();
        for number in 1..=tables {
            write_table(&fs, number, n);
        }
        let stats = Arc::new(Counters::default());
        let cache = TableCache::new(
            Arc::new(fs),
            PathBuf::from("/db"),
            options,
            Arc::clone(&stats),
        );
        (cache, stats)
    }

    fn get(t: &Table, i: usize) -> Option<Vec<u8>> {
        t.get(&seek_key(&key(i), MAX_SEQUENCE_NUMBER))
            .unwrap()
            .map(|(_, v)| v)
    }

    fn load(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    #[test]
    fn pinned_index_and_filter_cost_no_cache_lookup() {
        let (cache, stats) = setup(1, 2000, &Options::default());
        let t = cache.get(1).unwrap();
        // By default the table keeps its index and filter: nothing charged at open.
        assert_eq!(cache.block_cache_usage().0, 0);
        assert!(get(&t, 100).is_some());
        assert_eq!(load(&stats.block_cache_misses), 1);
        assert_eq!(load(&stats.block_cache_hits), 0);
        assert!(get(&t, 100).is_some());
        assert_eq!(load(&stats.block_cache_misses), 1);
        assert_eq!(load(&stats.block_cache_hits), 1);
    }

    #[test]
    fn second_read_hits_the_block_cache() {
        let options = Options::default().cache_index_and_filter_blocks(true);
        let (cache, stats) = setup(1, 2000, &options);
        let t = cache.get(1).unwrap();
        // Index and filter were charged to the cache at open.
        let (usage, capacity) = cache.block_cache_usage();
        assert!(usage > 0 && usage <= capacity, "{usage} of {capacity}");
        assert_eq!(capacity, Options::default().block_cache_size as u64);

        assert!(get(&t, 100).is_some());
        // Filter and index hit; the data block missed.
        assert_eq!(load(&stats.block_cache_misses), 1);
        assert_eq!(load(&stats.block_cache_hits), 2);
        assert!(get(&t, 100).is_some());
        assert_eq!(load(&stats.block_cache_misses), 1);
        assert_eq!(load(&stats.block_cache_hits), 5);
        assert!(cache.block_cache_usage().0 > usage);
        // The same table comes back from the table cache.
        assert!(Arc::ptr_eq(&t, &cache.get(1).unwrap()));
    }

    #[test]
    fn bloom_counters() {
        let (cache, stats) = setup(1, 2000, &Options::default());
        let t = cache.get(1).unwrap();
        for i in (0..2000).step_by(2) {
            assert!(get(&t, i).is_some());
        }
        assert_eq!(load(&stats.bloom_true_positives), 1000);
        for i in (1..2000).step_by(2) {
            assert!(get(&t, i).is_none());
        }
        let (neg, fp) = (
            load(&stats.bloom_negatives),
            load(&stats.bloom_false_positives),
        );
        assert_eq!(neg + fp, 1000);
        assert!(fp < 50, "{fp} false positives");
        assert_eq!(load(&stats.bloom_true_positives), 1000);
    }

    #[test]
    fn block_cache_usage_is_bounded_and_reads_stay_correct() {
        let options = Options {
            block_cache_size: 64 << 10,
            ..Options::default()
        };
        let (cache, stats) = setup(8, 4000, &options);
        for round in 0..2 {
            for number in 1..=8 {
                let t = cache.get(number).unwrap();
                for i in (0..4000).step_by(14) {
                    let v = get(&t, i).unwrap();
                    assert_eq!(v, format!("{number}-{i}-").repeat(10).into_bytes());
                    let (usage, capacity) = cache.block_cache_usage();
                    assert!(usage <= capacity, "round {round}: {usage} > {capacity}");
                }
                // Iteration reads every block through the cache too.
                let mut it = t.iter();
                it.seek_to_first();
                let mut n = 0;
                while it.valid() {
                    n += 1;
                    it.next();
                }
                assert_eq!(n, 2000);
            }
        }
        let (usage, capacity) = cache.block_cache_usage();
        assert!(usage <= capacity && capacity <= 64 << 10);
        // Far more blocks than fit: most reads missed, but some hit.
        assert!(load(&stats.block_cache_misses) > 1000);
        assert!(load(&stats.block_cache_hits) > 0);
    }

    #[test]
    fn disabled_block_cache() {
        let options = Options {
            block_cache_size: 0,
            ..Options::default()
        };
        let (cache, stats) = setup(2, 500, &options);
        let t = cache.get(2).unwrap();
        assert_eq!(get(&t, 10).unwrap(), "2-10-".repeat(10).into_bytes());
        assert!(get(&t, 11).is_none());
        assert_eq!(cache.block_cache_usage(), (0, 0));
        assert_eq!(load(&stats.block_cache_hits), 0);
    }

    #[test]
    fn open_tables_stay_bounded() {
        let options = Options {
            max_open_files: 16,
            ..Options::default()
        };
        let (cache, _) = setup(60, 20, &options);
        let held = cache.get(1).unwrap();
        for round in 0..3 {
            for number in 1..=60 {
                let t = cache.get(number).unwrap();
                assert_eq!(
                    get(&t, 4).unwrap(),
                    format!("{number}-4-").repeat(10).into_bytes()
                );
                assert!(
                    cache.open_tables() <= 16,
                    "round {round}: {}",
                    cache.open_tables()
                );
            }
        }
        // A table closed by the cache still works for whoever holds it.
        assert_eq!(get(&held, 6).unwrap(), "1-6-".repeat(10).into_bytes());
        // A missing file is an error, and not cached.
        assert!(cache.get(99).is_err());
        assert!(cache.get(99).is_err());
    }

    #[test]
    fn evict_drops_the_tables_blocks() {
        let (cache, _) = setup(2, 2000, &Options::default());
        let t = cache.get(1).unwrap();
        for i in (0..2000).step_by(2) {
            assert!(get(&t, i).is_some());
        }
        let with_one = cache.block_cache_usage().0;
        let t2 = cache.get(2).unwrap();
        assert!(get(&t2, 0).is_some());
        let with_two = cache.block_cache_usage().0;
        cache.evict(1);
        assert_eq!(cache.block_cache_usage().0, with_two - with_one);
        // The holder can still read (from the file, caching again).
        assert!(get(&t, 0).is_some());
    }
}
