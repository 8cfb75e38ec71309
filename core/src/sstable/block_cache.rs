//! The block cache: decoded SSTable blocks shared by every reader of one database, bounded
//! in bytes.
//!
//! Holds three kinds of entries, all charged against one capacity: data blocks
//! ([`Block`]), decoded index blocks ([`TableIndex`]) and bloom filters ([`BloomFilter`]).
//! Caching the index and filter too (RocksDB's `cache_index_and_filter_blocks`) makes the
//! capacity a bound on *all* per-table read memory, instead of data blocks only with every
//! open table's index and filter on top.
//!
//! An entry is keyed by the table's file number and the block's file offset. File numbers
//! are never reused within a database, so an entry can never describe another file's
//! block, and a table closed and reopened by the table cache finds its blocks still here.
//!
//! Entries are `Arc`s: a reader keeps its block while it uses it, even after eviction, and
//! a lookup only clones a pointer. Eviction is quick_cache's hot/cold/ghost policy (CLOCK-Pro-like),
//! which resists scans better than plain LRU. The cache is split into shards of at least
//! [`MIN_SHARD_BYTES`] each (fewer shards for small caches), each locked separately.

use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::{OptionsBuilder, Weighter};

use crate::sstable::{Block, BloomFilter, TableIndex};

/// Bytes charged per entry on top of its contents, for the bookkeeping around it (the
/// `Arc`s and structs, the cache's slot and hash table entry). An estimate: the cache
/// bounds memory approximately, not to the byte.
pub(crate) const ENTRY_OVERHEAD: u64 = 128;

/// Smallest capacity of one shard, in bytes: an entry larger than (about) one shard is not
/// admitted, and a big table's index or filter can take a few hundred KiB.
pub(crate) const MIN_SHARD_BYTES: u64 = 4 << 20;

/// Most shards a cache is split into.
const MAX_SHARDS: u64 = 64;

/// Where a cached block comes from: (table file number, block offset in that file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct BlockKey {
    /// The table's file number (its cache id; never reused).
    pub(crate) table: u64,
    /// File offset of the block's first byte.
    pub(crate) offset: u64,
}

/// A cached block, decoded.
#[derive(Debug, Clone)]
pub(crate) enum CachedBlock {
    /// A data block.
    Data(Arc<Block>),
    /// A table's decoded index block.
    Index(Arc<TableIndex>),
    /// A table's bloom filter.
    Filter(Arc<BloomFilter>),
}

impl CachedBlock {
    /// Bytes this entry is charged: its decoded size plus [`ENTRY_OVERHEAD`].
    pub(crate) fn charge(&self) -> u64 {
        let bytes = match self {
            CachedBlock::Data(b) => b.size(),
            CachedBlock::Index(i) => i.memory_size(),
            CachedBlock::Filter(f) => f.size(),
        };
        bytes as u64 + ENTRY_OVERHEAD
    }
}

#[derive(Debug, Clone, Copy)]
struct ChargeWeighter;

impl Weighter<BlockKey, CachedBlock> for ChargeWeighter {
    fn weight(&self, _key: &BlockKey, value: &CachedBlock) -> u64 {
        value.charge()
    }
}

/// Sharding for a `quick_cache` of `capacity` weight units holding items of about
/// `typical_weight` each: the number of shards (a power of two, each holding at least
/// `min_shard_weight` and 32 items, at most [`MAX_SHARDS`]) and the total capacity rounded
/// down to a multiple of it, so the shards' capacities add up to no more than `capacity`.
pub(crate) fn shard_layout(
    capacity: u64,
    typical_weight: u64,
    min_shard_weight: u64,
) -> (u64, u64) {
    let by_weight = capacity / min_shard_weight.max(1);
    let by_items = capacity / typical_weight.max(1) / 32;
    let n = by_weight.min(by_items).clamp(1, MAX_SHARDS);
    let shards = 1u64 << (63 - n.leading_zeros());
    (shards, capacity / shards * shards)
}

/// A byte-bounded cache of decoded SSTable blocks (data, index, filter), shared by every
/// table of one database through the table cache.
///
/// Capacity and usage are in bytes: an entry's decoded size plus [`ENTRY_OVERHEAD`].
/// Usage never exceeds the capacity (entries a reader still holds after eviction are no
/// longer counted). A capacity of 0 disables caching: every lookup misses and nothing is
/// kept.
pub(crate) struct BlockCache {
    /// `None` when the capacity is 0.
    cache: Option<Cache<BlockKey, CachedBlock, ChargeWeighter>>,
    capacity: u64,
}

impl std::fmt::Debug for BlockCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCache")
            .field("usage", &self.usage())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl BlockCache {
    /// A cache of at most `capacity_bytes` bytes (0: disabled). The usable capacity is
    /// rounded down to a multiple of the shard count (at most 63 bytes lost).
    pub(crate) fn new(capacity_bytes: u64) -> BlockCache {
        if capacity_bytes == 0 {
            return BlockCache {
                cache: None,
                capacity: 0,
            };
        }
        let (shards, capacity) = shard_layout(capacity_bytes, 4096, MIN_SHARD_BYTES);
        let options = OptionsBuilder::new()
            .shards(shards as usize)
            .estimated_items_capacity((capacity / 4096).max(1) as usize)
            .weight_capacity(capacity)
            .build();
        let cache = options.ok().map(|o| {
            Cache::with_options(o, ChargeWeighter, Default::default(), Default::default())
        });
        let capacity = if cache.is_some() { capacity } else { 0 };
        BlockCache { cache, capacity }
    }

    /// Bytes held now (decoded sizes plus per-entry overhead).
    pub(crate) fn usage(&self) -> u64 {
        self.cache.as_ref().map_or(0, |c| c.weight())
    }

    /// The capacity in bytes (0 when disabled).
    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The entry for `key`, marking it recently used.
    #[inline]
    pub(crate) fn get(&self, key: &BlockKey) -> Option<CachedBlock> {
        self.cache.as_ref()?.get(key)
    }

    /// Caches `value` under `key` (replacing any entry there), evicting others as needed.
    /// Returns whether the entry was admitted: one larger than a shard's share of the
    /// capacity is not.
    pub(crate) fn insert(&self, key: BlockKey, value: CachedBlock) -> bool {
        match &self.cache {
            Some(c) => {
                c.insert(key, value);
                c.contains_key(&key)
            }
            None => false,
        }
    }

    /// Drops the entry for `key`, if any.
    pub(crate) fn remove(&self, key: &BlockKey) {
        if let Some(c) = &self.cache {
            c.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(n: usize) -> CachedBlock {
        let mut b = crate::sstable::BlockBuilder::new(16);
        b.add(
            &crate::key::make_internal_key(b"k", 1, crate::key::ValueKind::Put),
            &vec![7u8; n],
        );
        let block = Block::new(b.finish().to_vec(), Arc::from("t"), 0).unwrap();
        CachedBlock::Data(Arc::new(block))
    }

    #[test]
    fn disabled_cache_keeps_nothing() {
        let c = BlockCache::new(0);
        let key = BlockKey {
            table: 1,
            offset: 0,
        };
        assert!(!c.insert(key, block(10)));
        assert!(c.get(&key).is_none());
        assert_eq!((c.usage(), c.capacity()), (0, 0));
    }

    #[test]
    fn usage_stays_under_capacity() {
        for capacity in [10_000u64, 1 << 20, 64 << 20] {
            let c = BlockCache::new(capacity);
            assert!(c.capacity() <= capacity && c.capacity() > capacity - 64);
            for i in 0..2_000 {
                c.insert(
                    BlockKey {
                        table: i % 7,
                        offset: i,
                    },
                    block(4000),
                );
                assert!(c.usage() <= c.capacity(), "capacity {capacity}, after {i}");
            }
            if capacity == 1 << 20 {
                // Full, give or take the entries of one shard's eviction slack.
                assert!(c.usage() > c.capacity() / 2);
            }
        }
    }

    #[test]
    fn get_insert_remove() {
        let c = BlockCache::new(1 << 20);
        let key = BlockKey {
            table: 3,
            offset: 4096,
        };
        assert!(c.get(&key).is_none());
        let b = block(100);
        let charge = b.charge();
        assert!(c.insert(key, b));
        assert!(matches!(c.get(&key), Some(CachedBlock::Data(_))));
        assert_eq!(c.usage(), charge);
        assert!(c
            .get(&BlockKey {
                table: 4,
                offset: 4096
            })
            .is_none());
        c.remove(&key);
        assert!(c.get(&key).is_none());
        assert_eq!(c.usage(), 0);
        // Too large for the cache: not admitted.
        assert!(!c.insert(key, block(2 << 20)));
    }

    #[test]
    fn shard_layout_rounds_down() {
        assert_eq!(shard_layout(1000, 1, 1), (16, 992));
        assert_eq!(shard_layout(16, 1, 1), (1, 16));
        assert_eq!(shard_layout(32 << 20, 4096, 4 << 20), (8, 32 << 20));
        assert_eq!(shard_layout(100, 4096, 4 << 20), (1, 100));
        let (s, cap) = shard_layout(u64::MAX, 4096, 4 << 20);
        assert_eq!((s, cap % s), (MAX_SHARDS, 0));
    }
}
