//! Statistics: the `Counters` the engine bumps as it works, and the [`Stats`] users read.
//!
//! `Counters` is a set of relaxed atomic counters shared (in an `Arc`) by the write path,
//! the background threads and the table readers; bumping one is a single uncontended atomic
//! add. [`Db::stats`](crate::Db::stats) copies them, with the per-level shape of the current
//! version, into a plain [`Stats`] value; [`Db::property`](crate::Db::property)`("kevo.stats")`
//! formats that as a table (the role of RocksDB's `rocksdb.stats`).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters, shared by every part of one open database. All monotonic since open.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) user_bytes_written: AtomicU64,
    pub(crate) wal_bytes_written: AtomicU64,
    pub(crate) flush_count: AtomicU64,
    pub(crate) flush_bytes_written: AtomicU64,
    pub(crate) flush_micros: AtomicU64,
    pub(crate) compaction_count: AtomicU64,
    pub(crate) compaction_bytes_read: AtomicU64,
    pub(crate) compaction_bytes_written: AtomicU64,
    pub(crate) compaction_micros: AtomicU64,
    pub(crate) stall_micros: AtomicU64,
    pub(crate) slowdown_count: AtomicU64,
    pub(crate) stop_count: AtomicU64,
    pub(crate) block_cache_hits: AtomicU64,
    pub(crate) block_cache_misses: AtomicU64,
    pub(crate) bloom_negatives: AtomicU64,
    pub(crate) bloom_false_positives: AtomicU64,
    pub(crate) bloom_true_positives: AtomicU64,
}

impl Counters {
    /// Adds `n` to counter `c` (relaxed: counters order nothing).
    pub(crate) fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }
}

/// Files and bytes of one level of the current version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LevelStats {
    /// Number of SSTables.
    pub files: usize,
    /// Their total size on disk, in bytes.
    pub bytes: u64,
}

/// A point-in-time copy of a database's counters, from [`Db::stats`](crate::Db::stats).
///
/// Byte counts are of bytes written to or read from files (after compression for SSTables);
/// times are wall-clock microseconds. Counters start at 0 when the database is opened.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Stats {
    /// Bytes of keys and values the user wrote (puts and deletes, as encoded in batches).
    pub user_bytes_written: u64,
    /// Bytes appended to the WAL (records with their headers).
    pub wal_bytes_written: u64,
    /// Memtable flushes done, and the bytes of L0 SSTables they wrote.
    pub flush_count: u64,
    /// Bytes of the L0 SSTables written by flushes.
    pub flush_bytes_written: u64,
    /// Time spent in flushes, in microseconds.
    pub flush_micros: u64,
    /// Compactions done (each merges some input files into output files).
    pub compaction_count: u64,
    /// Bytes of SSTables compactions read.
    pub compaction_bytes_read: u64,
    /// Bytes of SSTables compactions wrote.
    pub compaction_bytes_written: u64,
    /// Time spent in compactions, in microseconds.
    pub compaction_micros: u64,
    /// Time writers spent delayed or stopped by write stalls, in microseconds.
    pub stall_micros: u64,
    /// Writes delayed by the L0 slowdown trigger.
    pub slowdown_count: u64,
    /// Times a writer had to stop and wait (too many immutable memtables or L0 files).
    pub stop_count: u64,
    /// Block cache lookups that found the block (data, index and filter blocks).
    pub block_cache_hits: u64,
    /// Block cache lookups that had to read the file.
    pub block_cache_misses: u64,
    /// Bytes the block cache holds now.
    pub block_cache_usage: u64,
    /// The block cache's capacity, in bytes.
    pub block_cache_capacity: u64,
    /// Point lookups in a table that its bloom filter answered "absent" (reads saved).
    pub bloom_negatives: u64,
    /// Point lookups the filter let through that then found no entry for the key.
    pub bloom_false_positives: u64,
    /// Point lookups the filter let through that found the key.
    pub bloom_true_positives: u64,
    /// Files and bytes per level, L0 first.
    pub levels: Vec<LevelStats>,
    /// Snapshots currently held.
    pub live_snapshots: u64,
}

impl Stats {
    pub(crate) fn from_counters(c: &Counters) -> Stats {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            user_bytes_written: g(&c.user_bytes_written),
            wal_bytes_written: g(&c.wal_bytes_written),
            flush_count: g(&c.flush_count),
            flush_bytes_written: g(&c.flush_bytes_written),
            flush_micros: g(&c.flush_micros),
            compaction_count: g(&c.compaction_count),
            compaction_bytes_read: g(&c.compaction_bytes_read),
            compaction_bytes_written: g(&c.compaction_bytes_written),
            compaction_micros: g(&c.compaction_micros),
            stall_micros: g(&c.stall_micros),
            slowdown_count: g(&c.slowdown_count),
            stop_count: g(&c.stop_count),
            block_cache_hits: g(&c.block_cache_hits),
            block_cache_misses: g(&c.block_cache_misses),
            bloom_negatives: g(&c.bloom_negatives),
            bloom_false_positives: g(&c.bloom_false_positives),
            bloom_true_positives: g(&c.bloom_true_positives),
            ..Stats::default()
        }
    }

    /// Write amplification: bytes written to disk (WAL + flushes + compactions) per byte the
    /// user wrote; 0.0 before any write. For an LSM tree this is the cost of sorting: about
    /// 1 (WAL) + 1 (flush) + the compactions' rewrites.
    pub fn write_amplification(&self) -> f64 {
        if self.user_bytes_written == 0 {
            return 0.0;
        }
        (self.wal_bytes_written + self.flush_bytes_written + self.compaction_bytes_written) as f64
            / self.user_bytes_written as f64
    }

    /// Total bytes of live SSTables.
    pub fn sst_bytes(&self) -> u64 {
        self.levels.iter().map(|l| l.bytes).sum()
    }

    /// Block cache hit ratio in `[0, 1]`; 0.0 before any lookup.
    pub fn block_cache_hit_ratio(&self) -> f64 {
        let total = self.block_cache_hits + self.block_cache_misses;
        if total == 0 {
            0.0
        } else {
            self.block_cache_hits as f64 / total as f64
        }
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

/// The human-readable table of [`Db::property`](crate::Db::property)`("kevo.stats")`.
impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "level  files    size (MiB)")?;
        for (i, l) in self.levels.iter().enumerate() {
            writeln!(f, "L{i:<5} {:>5} {:>13.2}", l.files, mib(l.bytes))?;
        }
        let files: usize = self.levels.iter().map(|l| l.files).sum();
        writeln!(f, "total  {files:>5} {:>13.2}", mib(self.sst_bytes()))?;
        writeln!(f)?;
        let secs = |us: u64| us as f64 / 1e6;
        writeln!(
            f,
            "writes       user {:.2} MiB, WAL {:.2} MiB",
            mib(self.user_bytes_written),
            mib(self.wal_bytes_written)
        )?;
        writeln!(
            f,
            "flushes      {} ({:.2} MiB written, {:.3} s)",
            self.flush_count,
            mib(self.flush_bytes_written),
            secs(self.flush_micros)
        )?;
        writeln!(
            f,
            "compactions  {} ({:.2} MiB read, {:.2} MiB written, {:.3} s)",
            self.compaction_count,
            mib(self.compaction_bytes_read),
            mib(self.compaction_bytes_written),
            secs(self.compaction_micros)
        )?;
        writeln!(f, "write amplification  {:.2}", self.write_amplification())?;
        writeln!(
            f,
            "stalls       {:.3} s ({} slowed writes, {} stops)",
            secs(self.stall_micros),
            self.slowdown_count,
            self.stop_count
        )?;
        writeln!(
            f,
            "block cache  {} hits, {} misses ({:.1}% hits), {:.2} of {:.2} MiB used",
            self.block_cache_hits,
            self.block_cache_misses,
            100.0 * self.block_cache_hit_ratio(),
            mib(self.block_cache_usage),
            mib(self.block_cache_capacity)
        )?;
        writeln!(
            f,
            "bloom filter {} negatives (reads saved), {} false positives, {} true positives",
            self.bloom_negatives, self.bloom_false_positives, self.bloom_true_positives
        )?;
        write!(f, "snapshots    {} live", self.live_snapshots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_amplification_counts_every_write_to_disk() {
        let s = Stats {
            user_bytes_written: 100,
            wal_bytes_written: 110,
            flush_bytes_written: 90,
            compaction_bytes_written: 300,
            ..Stats::default()
        };
        assert!((s.write_amplification() - 5.0).abs() < 1e-9);
        assert_eq!(Stats::default().write_amplification(), 0.0);
    }

    #[test]
    fn table_lists_every_level() {
        let s = Stats {
            levels: vec![
                LevelStats {
                    files: 3,
                    bytes: 3 << 20
                };
                7
            ],
            ..Stats::default()
        };
        let text = s.to_string();
        assert!(text.contains("L6"), "{text}");
        assert!(text.contains("total     21         21.00"), "{text}");
    }
}
