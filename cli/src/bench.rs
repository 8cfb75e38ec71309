//! `kevo bench`: LevelDB's db_bench workloads.
//!
//! - `fillseq`: `--num` puts in key order, into a fresh database.
//! - `fillrandom`: `--num` puts of uniformly random keys in `[0, num)`, into a fresh database.
//! - `overwrite`: `--num` puts of uniformly random keys over the existing database.
//! - `readrandom`: `--num` gets of uniformly random keys in `[0, num)`; counts those found.
//! - `readseq`: a full forward scan of the database (one per thread).
//! - `readreverse`: a full backward scan (`seek_to_last`, then `prev`; one per thread).
//! - `seekrandom`: `--num` operations, each a new iterator that seeks to a uniformly random
//!   key in `[0, num)` and then steps `next` [`SEEK_NEXTS`] times (fewer at the end of the
//!   database); counts the seeks that landed exactly on their key. One operation = one
//!   iterator creation + one seek + up to 10 nexts, so its latency is the whole of that.
//! - `deleterandom`: `--num` deletes of uniformly random keys in `[0, num)`.
//! - `readwhilewriting`: `--threads` reader threads share `--num` gets of random keys (as in
//!   readrandom) while one extra writer thread overwrites random keys until the readers are
//!   done. The row is the readers'; the writer's rate is in the notes.
//! - `compact`: one `compact_range(None, None)` of the whole key space; its time is the
//!   row's latency, and the notes give the files per level before and after.
//! - `readmodifywrite` (YCSB workload F): `--num` operations, each a get of a uniformly
//!   random key and a put of a new value for it, outside any transaction (the baseline).
//! - `txnrmw`: the same in transactions: each operation begins a snapshot-isolated
//!   transaction, gets the key, puts the new value and commits, starting over on
//!   `Error::Conflict`. The latency includes the retries; the notes count the conflicts.
//!   With `--num` keys and few threads, conflicts are rare.
//! - `txnrmwhot`: `txnrmw` over only [`HOT_KEYS`] keys: with `--threads` > 1, concurrent
//!   transactions update the same keys and many commits conflict.
//!
//! Workloads other than fillseq/fillrandom run on the database as the previous workload
//! left it (or as found in `--db`), so `--benchmarks fillrandom,overwrite,compact,readrandom`
//! fills, overwrites, compacts, then reads the same data.
//!
//! After the last workload a summary gives the engine's figures since the database was last
//! opened (at the last fillseq/fillrandom, or at the first workload):
//!
//! - write amplification: [`kevo::Stats::write_amplification`], bytes written to the WAL and
//!   SSTables per byte of keys and values the user wrote;
//! - space amplification: bytes of live SSTables divided by the live data. The memtable is
//!   flushed first, so every entry is in an SSTable; live data is measured exactly by a full
//!   scan, as the sum of `key_len + value_len` over the live keys (for `--num N` random fills
//!   that is about `0.63 * N * (key_size + value_size)`). Compression can push it below 1.
//!   The whole directory is given too, measured at the same moment: it also holds the WAL,
//!   the manifest, the outputs of a compaction still running and inputs of a finished one
//!   that are not deleted yet. Both figures are taken while background compactions may
//!   still be running, as they are after the last workload;
//! - write stall time ([`kevo::Stats::stall_micros`]) and the block cache hit ratio.
//!
//! The flush and the scan of the summary run after the measurements and do not change them.
//! `--json FILE` writes the rows and the summary as JSON too.
//!
//! As in db_bench, random keys are drawn with replacement, so after `fillrandom` about 63% of
//! the key space exists and `readrandom` finds about that share. "Fresh" means the database
//! directory is deleted and created again (db_bench's `DestroyDB`); kevo refuses to delete a
//! directory that holds files that are not its own.
//!
//! Keys are the key number as zero-padded decimal (`%016d` for 16 bytes); values come from
//! db_bench's generator scheme: random printable bytes, each 100-byte stretch built from 50
//! random bytes repeated, so they compress to about half. With `--threads N` the `--num`
//! operations are split between N threads (readseq: each thread scans everything).
//!
//! Every operation is timed with `Instant::now()` and recorded in an HDR histogram (3
//! significant digits), which gives the p50/p99 latencies.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use kevo::{CompactionStyle, Compression, Db, Options, ReadOptions, SyncMode};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, RngExt, SeedableRng};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// Puts in key order into a fresh database.
    Fillseq,
    /// Puts in random key order into a fresh database.
    Fillrandom,
    /// Puts of random existing keys.
    Overwrite,
    /// Gets of random keys; counts those found.
    Readrandom,
    /// A full forward scan.
    Readseq,
    /// A full backward scan.
    Readreverse,
    /// Seeks to random keys, each followed by 10 nexts.
    Seekrandom,
    /// Deletes of random keys.
    Deleterandom,
    /// Random gets by --threads readers while one writer overwrites random keys.
    Readwhilewriting,
    /// compact_range over the whole key space.
    Compact,
    /// YCSB-F's read-modify-write without a transaction: get a random key, put a new value
    /// (the baseline for the two below; concurrent updates of one key may be lost).
    Readmodifywrite,
    /// YCSB-F in transactions: each operation reads a random key and writes it back in a
    /// snapshot-isolated transaction, retried on conflict. With random keys over --num,
    /// conflicts are rare.
    Txnrmw,
    /// Txnrmw on 16 hot keys: with --threads > 1, commits conflict often and are retried.
    Txnrmwhot,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Fillseq => "fillseq",
            Workload::Fillrandom => "fillrandom",
            Workload::Overwrite => "overwrite",
            Workload::Readrandom => "readrandom",
            Workload::Readseq => "readseq",
            Workload::Readreverse => "readreverse",
            Workload::Seekrandom => "seekrandom",
            Workload::Deleterandom => "deleterandom",
            Workload::Readwhilewriting => "readwhilewriting",
            Workload::Compact => "compact",
            Workload::Readmodifywrite => "readmodifywrite",
            Workload::Txnrmw => "txnrmw",
            Workload::Txnrmwhot => "txnrmwhot",
        }
    }

    /// Every thread goes over the whole database (instead of a share of `--num`).
    fn full_scan(self) -> bool {
        matches!(self, Workload::Readseq | Workload::Readreverse)
    }

    /// Starts from an empty database.
    fn fresh(self) -> bool {
        matches!(self, Workload::Fillseq | Workload::Fillrandom)
    }
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Database directory; deleted and created again by fillseq/fillrandom [default: a
    /// temporary directory, removed at exit]
    #[arg(long)]
    db: Option<PathBuf>,
    /// Operations per workload (and the size of the key space).
    #[arg(long, default_value_t = 1_000_000)]
    num: u64,
    /// Bytes per value.
    #[arg(long, default_value_t = 100)]
    value_size: usize,
    /// Bytes per key (zero-padded decimal key numbers).
    #[arg(long, default_value_t = 16)]
    key_size: usize,
    /// fsync every write before acknowledging it (SyncMode::Always).
    #[arg(long)]
    sync: bool,
    /// Memtable size in MiB (default: the engine's default, Options::memtable_size).
    #[arg(long)]
    memtable_mib: Option<usize>,
    /// Block cache size in MiB (default: the engine's default, Options::block_cache_size).
    #[arg(long)]
    cache_mib: Option<usize>,
    /// Comma-separated workloads, run in this order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "fillseq,fillrandom,overwrite,readrandom,readseq"
    )]
    benchmarks: Vec<Workload>,
    /// Threads sharing each workload's operations.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1024))]
    threads: u64,
    /// Seed of the random keys and values.
    #[arg(long, default_value_t = 301)]
    seed: u64,
    /// SSTable block compression (zstd at level 3) [default: the engine's default,
    /// Options::compression]
    #[arg(long, value_enum)]
    compression: Option<CompressionArg>,
    /// Compaction style [default: the engine's default, Options::compaction_style]
    #[arg(long, value_enum)]
    compaction: Option<CompactionArg>,
    /// Also write the results as one JSON object to this file: the settings, one object per
    /// workload (rates per second, latencies in microseconds, MB = 10^6 bytes) and the
    /// summary (sizes in bytes, stall time in microseconds).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// `--compression`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CompressionArg {
    /// Blocks stored uncompressed.
    None,
    /// LZ4.
    Lz4,
    /// Zstandard, level 3.
    Zstd,
}

impl CompressionArg {
    /// zstd level of `--compression zstd` (zstd's own default).
    pub const ZSTD_LEVEL: i32 = 3;

    pub fn to_engine(self) -> Compression {
        match self {
            CompressionArg::None => Compression::None,
            CompressionArg::Lz4 => Compression::Lz4,
            CompressionArg::Zstd => Compression::Zstd {
                level: Self::ZSTD_LEVEL,
            },
        }
    }
}

/// `--compaction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CompactionArg {
    /// Leveled compaction (LevelDB's).
    Leveled,
    /// Size-tiered compaction.
    Tiered,
}

impl CompactionArg {
    pub fn to_engine(self) -> CompactionStyle {
        match self {
            CompactionArg::Leveled => CompactionStyle::Leveled,
            CompactionArg::Tiered => CompactionStyle::Tiered,
        }
    }
}

/// Nexts after each seek of `seekrandom` (RocksDB db_bench's `--seek_nexts`).
pub const SEEK_NEXTS: usize = 10;

/// Number of decimal digits of `n` (1 for 0).
pub fn decimal_digits(mut n: u64) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// Writes `k` as zero-padded decimal filling `buf` (db_bench's `%016d` for 16 bytes). `buf`
/// must hold at least [`decimal_digits`]`(k)` bytes; keys then sort like their numbers.
pub fn fill_key(buf: &mut [u8], mut k: u64) {
    for b in buf.iter_mut().rev() {
        *b = b'0' + (k % 10) as u8;
        k /= 10;
    }
    debug_assert_eq!(k, 0, "key number does not fit the key size");
}

/// db_bench's value generator: a pool of printable bytes, each 100-byte stretch made of 50
/// random bytes written twice (compressible to about half). Shared read-only by the threads;
/// each takes consecutive slices through its own [`ValueCursor`].
pub struct ValueGen {
    pool: Vec<u8>,
}

impl ValueGen {
    pub fn new(rng: &mut impl Rng, value_size: usize) -> Self {
        let len = (1 << 20).max(value_size).max(1);
        let mut pool = Vec::with_capacity(len + 100);
        while pool.len() < len {
            let piece: Vec<u8> = (0..50).map(|_| rng.random_range(b' '..=b'~')).collect();
            pool.extend_from_slice(&piece);
            pool.extend_from_slice(&piece);
        }
        pool.truncate(len);
        ValueGen { pool }
    }

    /// A cursor starting `offset` bytes into the pool.
    pub fn cursor(&self, offset: usize) -> ValueCursor<'_> {
        ValueCursor {
            pool: &self.pool,
            pos: offset % self.pool.len(),
        }
    }
}

/// Consecutive values from a [`ValueGen`]'s pool, wrapping around at its end.
pub struct ValueCursor<'a> {
    pool: &'a [u8],
    pos: usize,
}

impl ValueCursor<'_> {
    /// The next `len` bytes (`len` at most the pool size, which `ValueGen::new` ensures for
    /// its `value_size`).
    #[inline]
    pub fn next(&mut self, len: usize) -> &[u8] {
        if self.pos + len > self.pool.len() {
            self.pos = 0;
        }
        let v = &self.pool[self.pos..self.pos + len];
        self.pos += len;
        v
    }
}

/// Latencies up to 100 s in nanoseconds, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("valid histogram bounds")
}

/// What one workload (or one of its threads) did.
pub struct Stats {
    pub ops: u64,
    /// Key + value bytes written or read.
    pub bytes: u64,
    /// readrandom: gets that found their key.
    pub found: u64,
    /// txnrmw, txnrmwhot: commits that failed with a conflict (and were retried).
    pub conflicts: u64,
    /// Per-operation latency in nanoseconds.
    pub hist: Histogram<u64>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            ops: 0,
            bytes: 0,
            found: 0,
            conflicts: 0,
            hist: new_histogram(),
        }
    }
}

impl Stats {
    /// Records one operation of `bytes` that took `latency`.
    #[inline]
    pub fn record(&mut self, latency: Duration, bytes: usize) {
        self.ops += 1;
        self.bytes += bytes as u64;
        self.hist
            .saturating_record(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX));
    }

    pub fn merge(&mut self, other: &Stats) {
        self.ops += other.ops;
        self.bytes += other.bytes;
        self.found += other.found;
        self.conflicts += other.conflicts;
        self.hist
            .add(&other.hist)
            .expect("histograms of the same bounds");
    }

    /// The latency at `quantile` (0..=1) in microseconds; 0 with no operation.
    pub fn latency_us(&self, quantile: f64) -> f64 {
        if self.hist.is_empty() {
            return 0.0;
        }
        self.hist.value_at_quantile(quantile) as f64 / 1000.0
    }
}

/// One line of the result table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub name: &'static str,
    pub ops: u64,
    pub ops_per_sec: f64,
    /// Megabytes (10^6 bytes) of keys and values per second.
    pub mb_per_sec: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub note: String,
}

impl Row {
    /// The row as a JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "workload": self.name,
            "ops": self.ops,
            "ops_per_sec": self.ops_per_sec,
            "mb_per_sec": self.mb_per_sec,
            "p50_us": self.p50_us,
            "p99_us": self.p99_us,
            "notes": self.note,
        })
    }

    pub fn new(w: Workload, stats: &Stats, elapsed: Duration, requested: u64) -> Row {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let note = match w {
            Workload::Readrandom | Workload::Seekrandom | Workload::Readwhilewriting => {
                format!("{} of {} found", stats.found, requested)
            }
            Workload::Txnrmw | Workload::Txnrmwhot => {
                format!("{} conflicts retried", stats.conflicts)
            }
            _ => String::new(),
        };
        Row {
            name: w.name(),
            ops: stats.ops,
            ops_per_sec: stats.ops as f64 / secs,
            mb_per_sec: stats.bytes as f64 / 1e6 / secs,
            p50_us: stats.latency_us(0.50),
            p99_us: stats.latency_us(0.99),
            note,
        }
    }
}

/// Column layout shared by the header and the rows.
macro_rules! row_format {
    () => {
        "{:<17}{:>10} {:>12} {:>9} {:>10} {:>10}  {}"
    };
}

pub fn table_header() -> String {
    format!(
        row_format!(),
        "workload", "ops", "ops/s", "MB/s", "p50 µs", "p99 µs", "notes"
    )
}

pub fn format_row(r: &Row) -> String {
    format!(
        row_format!(),
        r.name,
        r.ops,
        format!("{:.0}", r.ops_per_sec),
        format!("{:.1}", r.mb_per_sec),
        format!("{:.2}", r.p50_us),
        format!("{:.2}", r.p99_us),
        r.note
    )
    .trim_end()
    .to_owned()
}

/// The share of `total` operations of thread `t` of `threads`: `(first, count)`.
pub fn split(total: u64, threads: u64, t: u64) -> (u64, u64) {
    let base = total / threads;
    let extra = total % threads;
    let count = base + u64::from(t < extra);
    let first = t * base + t.min(extra);
    (first, count)
}

/// Settings shared by every workload.
struct Config {
    num: u64,
    key_size: usize,
    value_size: usize,
    threads: u64,
    seed: u64,
}

/// Deletes `dir` for a fresh run, refusing if it holds anything that is not kevo's.
fn wipe(dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let name = entry.file_name();
        let ours = name
            .to_str()
            .and_then(kevo::filename::parse_file_name)
            .is_some();
        if !ours || entry.file_type().map(|t| t.is_dir()).unwrap_or(true) {
            bail!(
                "refusing to delete {}: it holds {:?}, which is not a kevo file",
                dir.display(),
                name
            );
        }
    }
    std::fs::remove_dir_all(dir).with_context(|| format!("deleting {}", dir.display()))
}

/// The key space of `txnrmwhot`.
const HOT_KEYS: u64 = 16;

/// Operations between progress-bar updates (keeps the bar off the measured path).
const PROGRESS_EVERY: u64 = 1024;

fn run_thread(
    db: &Db,
    w: Workload,
    cfg: &Config,
    t: u64,
    pool: &ValueGen,
    pb: &ProgressBar,
) -> Result<Stats> {
    let mut stats = Stats::default();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(
        cfg.seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(((w as u64) << 32) | t),
    );
    let mut values = pool.cursor(t as usize * 7919 * cfg.value_size);
    let mut key = vec![0u8; cfg.key_size];
    let (first, count) = split(cfg.num, cfg.threads, t);
    let mut since_progress = 0;
    let mut tick = |n: u64| {
        since_progress += n;
        if since_progress >= PROGRESS_EVERY {
            pb.inc(since_progress);
            since_progress = 0;
        }
    };
    match w {
        Workload::Fillseq | Workload::Fillrandom | Workload::Overwrite => {
            for i in first..first + count {
                let k = if w == Workload::Fillseq {
                    i
                } else {
                    rng.random_range(0..cfg.num)
                };
                fill_key(&mut key, k);
                let value = values.next(cfg.value_size);
                let start = Instant::now();
                db.put(&key, value).context("put")?;
                stats.record(start.elapsed(), key.len() + value.len());
                tick(1);
            }
        }
        Workload::Readrandom | Workload::Readwhilewriting => {
            for _ in 0..count {
                fill_key(&mut key, rng.random_range(0..cfg.num));
                let start = Instant::now();
                let got = db.get(&key).context("get")?;
                let latency = start.elapsed();
                let bytes = match &got {
                    Some(v) => {
                        stats.found += 1;
                        key.len() + v.len()
                    }
                    None => 0,
                };
                stats.record(latency, bytes);
                tick(1);
            }
        }
        Workload::Readseq => {
            let mut scan = db.scan::<&[u8], _>(..).context("scan")?;
            loop {
                let start = Instant::now();
                let item = scan.next();
                let latency = start.elapsed();
                match item {
                    None => break,
                    Some(entry) => {
                        let (k, v) = entry.context("scan")?;
                        stats.record(latency, k.len() + v.len());
                        tick(1);
                    }
                }
            }
        }
        Workload::Readreverse => {
            let mut it = db.iter(ReadOptions::default()).context("iter")?;
            let start = Instant::now();
            it.seek_to_last();
            let mut latency = start.elapsed();
            while it.valid() {
                stats.record(latency, it.key().len() + it.value().len());
                tick(1);
                let start = Instant::now();
                it.prev();
                latency = start.elapsed();
            }
            it.status().context("reverse scan")?;
        }
        Workload::Seekrandom => {
            for _ in 0..count {
                fill_key(&mut key, rng.random_range(0..cfg.num));
                let start = Instant::now();
                let mut it = db.iter(ReadOptions::default()).context("iter")?;
                it.seek(&key);
                let mut bytes = 0;
                if it.valid() {
                    if it.key() == key.as_slice() {
                        stats.found += 1;
                    }
                    bytes += it.key().len() + it.value().len();
                    for _ in 0..SEEK_NEXTS {
                        it.next();
                        if !it.valid() {
                            break;
                        }
                        bytes += it.key().len() + it.value().len();
                    }
                }
                it.status().context("seek")?;
                drop(it);
                stats.record(start.elapsed(), bytes);
                tick(1);
            }
        }
        Workload::Deleterandom => {
            for _ in 0..count {
                fill_key(&mut key, rng.random_range(0..cfg.num));
                let start = Instant::now();
                db.delete(&key).context("delete")?;
                stats.record(start.elapsed(), key.len());
                tick(1);
            }
        }
        Workload::Readmodifywrite => {
            for _ in 0..count {
                fill_key(&mut key, rng.random_range(0..cfg.num));
                let value = values.next(cfg.value_size);
                let start = Instant::now();
                let old = db.get(&key).context("get")?;
                db.put(&key, value).context("put")?;
                stats.found += u64::from(old.is_some());
                stats.record(start.elapsed(), key.len() + value.len());
                tick(1);
            }
        }
        Workload::Txnrmw | Workload::Txnrmwhot => {
            let space = if w == Workload::Txnrmwhot {
                HOT_KEYS.min(cfg.num)
            } else {
                cfg.num
            };
            for _ in 0..count {
                fill_key(&mut key, rng.random_range(0..space));
                let value = values.next(cfg.value_size);
                let start = Instant::now();
                loop {
                    let txn = db.transaction().context("transaction")?;
                    let old = txn.get(&key).context("get")?;
                    txn.put(&key, value).context("put")?;
                    match txn.commit() {
                        Ok(()) => {
                            stats.found += u64::from(old.is_some());
                            break;
                        }
                        Err(kevo::Error::Conflict(_)) => stats.conflicts += 1,
                        Err(e) => return Err(e).context("commit"),
                    }
                }
                stats.record(start.elapsed(), key.len() + value.len());
                tick(1);
            }
        }
        Workload::Compact => unreachable!("compact runs on one thread, in run_compact"),
    }
    tick(PROGRESS_EVERY);
    Ok(stats)
}

/// Sets the flag when dropped.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The writer of `readwhilewriting`: overwrites random keys in `[0, num)` until `stop`.
fn run_writer(db: &Db, cfg: &Config, pool: &ValueGen, stop: &AtomicBool) -> Result<Stats> {
    let mut stats = Stats::default();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(
        cfg.seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(((Workload::Readwhilewriting as u64) << 32) | 0xFFFF_FFFF),
    );
    let mut values = pool.cursor(0xFFFF * cfg.value_size);
    let mut key = vec![0u8; cfg.key_size];
    while !stop.load(Ordering::Relaxed) {
        fill_key(&mut key, rng.random_range(0..cfg.num.max(1)));
        let value = values.next(cfg.value_size);
        let start = Instant::now();
        db.put(&key, value).context("put")?;
        stats.record(start.elapsed(), key.len() + value.len());
    }
    Ok(stats)
}

/// `compact`: one `compact_range(None, None)`, timed.
fn run_compact(db: &Db) -> Result<Row> {
    let before = db.level_file_counts();
    let start = Instant::now();
    db.compact_range(None, None).context("compact_range")?;
    let elapsed = start.elapsed();
    let after = db.level_file_counts();
    let mut stats = Stats::default();
    stats.record(elapsed, 0);
    let mut row = Row::new(Workload::Compact, &stats, elapsed, 1);
    row.note = format!(
        "{:.3} s; files per level {} -> {}",
        elapsed.as_secs_f64(),
        level_counts(&before),
        level_counts(&after)
    );
    Ok(row)
}

/// File counts per level as `a/b/c/...`, L0 first.
pub fn level_counts(counts: &[usize]) -> String {
    counts
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("/")
}

fn run_workload(db: &Db, w: Workload, cfg: &Config, pool: &ValueGen) -> Result<Row> {
    if w == Workload::Compact {
        return run_compact(db);
    }
    let expected = if w.full_scan() {
        cfg.num * cfg.threads
    } else {
        cfg.num
    };
    let pb = ProgressBar::new(expected).with_style(
        ProgressStyle::with_template(
            "{spinner} {prefix:<17} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} ({per_sec}, eta {eta})",
        )
        .expect("valid template"),
    );
    pb.set_prefix(w.name());
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let (results, writer, elapsed) = std::thread::scope(|s| {
        let writer = (w == Workload::Readwhilewriting).then(|| {
            let stop = &stop;
            s.spawn(move || run_writer(db, cfg, pool, stop))
        });
        // Stops the writer however the readers end (even by a panic, which the scope would
        // otherwise wait on forever).
        let _stop_writer = StopOnDrop(&stop);
        let handles: Vec<_> = (0..cfg.threads)
            .map(|t| {
                let pb = pb.clone();
                s.spawn(move || run_thread(db, w, cfg, t, pool, &pb))
            })
            .collect();
        let results: Vec<Result<Stats>> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect();
        // The readers' time: the writer may finish its last put after it.
        let elapsed = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        let writer = writer.map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        (results, writer, elapsed)
    });
    pb.finish_and_clear();
    let mut total = Stats::default();
    for r in results {
        total.merge(&r.with_context(|| w.name())?);
    }
    let mut row = Row::new(w, &total, elapsed, cfg.num);
    if let Some(writer) = writer {
        let writer = writer.with_context(|| format!("{} writer", w.name()))?;
        row.note.push_str(&writer_note(&writer, elapsed));
    }
    Ok(row)
}

/// The notes of `readwhilewriting` about its writer: its puts and their rate over the
/// readers' time.
fn writer_note(writer: &Stats, elapsed: Duration) -> String {
    format!(
        "; writer {} puts, {:.0} ops/s, p99 {:.2} µs",
        writer.ops,
        writer.ops as f64 / elapsed.as_secs_f64().max(1e-9),
        writer.latency_us(0.99)
    )
}

pub fn run(args: &BenchArgs) -> Result<ExitCode> {
    kevo::batch::check_key_len(args.key_size).map_err(|e| anyhow!("--key-size: {e}"))?;
    if args.num > 0 && decimal_digits(args.num - 1) > args.key_size {
        bail!(
            "--key-size {} is too small for {} distinct keys (needs {} digits)",
            args.key_size,
            args.num,
            decimal_digits(args.num - 1)
        );
    }
    kevo::batch::check_value_len(args.value_size).map_err(|e| anyhow!("--value-size: {e}"))?;
    let cfg = Config {
        num: args.num,
        key_size: args.key_size,
        value_size: args.value_size,
        threads: args.threads,
        seed: args.seed,
    };
    let (dir, _temp) = match &args.db {
        Some(d) => (d.clone(), None),
        None => {
            let t = tempfile::Builder::new()
                .prefix("kevo-bench-")
                .tempdir()
                .context("creating a temporary directory")?;
            (t.path().join("db"), Some(t))
        }
    };
    let mut options = Options::default().sync_mode(if args.sync {
        SyncMode::Always
    } else {
        SyncMode::None
    });
    if let Some(mib) = args.memtable_mib {
        options = options.memtable_size(mib << 20);
    }
    if let Some(mib) = args.cache_mib {
        options = options.block_cache_size(mib << 20);
    }
    if let Some(c) = args.compression {
        options = options.compression(c.to_engine());
    }
    if let Some(c) = args.compaction {
        options = options.compaction_style(c.to_engine());
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(args.seed);
    let pool = ValueGen::new(&mut rng, args.value_size);

    let mut out = io::stdout().lock();
    writeln!(
        out,
        "kevo bench: {} ops per workload, keys {} B, values {} B, {} thread(s), sync: {}",
        args.num,
        args.key_size,
        args.value_size,
        args.threads,
        if args.sync { "always" } else { "none" }
    )?;
    writeln!(
        out,
        "compression: {}, compaction: {}",
        compression_name(options.compression),
        compaction_name(options.compaction_style)
    )?;
    writeln!(
        out,
        "database: {}{}",
        dir.display(),
        if _temp.is_some() { " (temporary)" } else { "" }
    )?;
    writeln!(out, "{}", table_header())?;
    out.flush()?;

    let open = |fresh: bool| -> Result<Db> {
        if fresh {
            wipe(&dir)?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Db::open(&dir, options.clone())
            .with_context(|| format!("cannot open database at {}", dir.display()))
    };
    let mut db: Option<Db> = None;
    let mut rows = Vec::new();
    for &w in &args.benchmarks {
        if w.fresh() {
            if let Some(old) = db.take() {
                old.close().context("closing the database")?;
            }
            db = Some(open(true)?);
        } else if db.is_none() {
            db = Some(open(false)?);
        }
        let row = run_workload(db.as_ref().expect("opened above"), w, &cfg, &pool)?;
        writeln!(out, "{}", format_row(&row))?;
        out.flush()?;
        rows.push(row.to_json());
    }
    let mut summary_json = serde_json::Value::Null;
    if let Some(db) = db {
        let summary = Summary::measure(&db)?;
        // Right after the SSTables are counted: both see the same background work done.
        let dir_bytes = dir_size(&dir)?;
        db.close().context("closing the database")?;
        writeln!(out)?;
        write!(out, "{}", summary.format(dir_bytes))?;
        out.flush()?;
        summary_json = summary.to_json(dir_bytes);
    }
    if let Some(path) = &args.json {
        let doc = serde_json::json!({
            "num": args.num,
            "key_size": args.key_size,
            "value_size": args.value_size,
            "threads": args.threads,
            "sync": args.sync,
            "compression": compression_name(options.compression),
            "compaction": compaction_name(options.compaction_style),
            "memtable_size": options.memtable_size,
            "workloads": rows,
            "summary": summary_json,
        });
        let mut text = serde_json::to_string_pretty(&doc).expect("JSON values serialize");
        text.push('\n');
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn compression_name(c: Compression) -> String {
    match c {
        Compression::None => "none".to_owned(),
        Compression::Lz4 => "lz4".to_owned(),
        Compression::Zstd { level } => format!("zstd (level {level})"),
    }
}

fn compaction_name(c: CompactionStyle) -> &'static str {
    match c {
        CompactionStyle::Leveled => "leveled",
        CompactionStyle::Tiered => "tiered",
    }
}

/// The engine's figures after the last workload; see the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// [`kevo::Stats::write_amplification`] since the database was opened.
    pub write_amplification: f64,
    /// Time writers were stalled since the database was opened, in microseconds.
    pub stall_micros: u64,
    /// Block cache hits / lookups since the database was opened, in `[0, 1]`.
    pub block_cache_hit_ratio: f64,
    /// Bytes of live SSTables after flushing the memtable.
    pub sst_bytes: u64,
    /// Live keys, counted by a full scan.
    pub live_keys: u64,
    /// Sum of `key_len + value_len` over the live keys, in bytes.
    pub live_bytes: u64,
    /// Files per level after the flush, L0 first.
    pub level_files: Vec<usize>,
}

impl Summary {
    /// Reads the counters, then flushes the memtable and scans everything to measure the
    /// live data (after the counters are read, so neither changes them).
    fn measure(db: &Db) -> Result<Summary> {
        let stats = db.stats();
        db.flush().context("flush")?;
        let mut live_keys = 0;
        let mut live_bytes = 0;
        for entry in db.scan::<&[u8], _>(..).context("scan")? {
            let (k, v) = entry.context("scan")?;
            live_keys += 1;
            live_bytes += (k.len() + v.len()) as u64;
        }
        let after = db.stats();
        Ok(Summary {
            write_amplification: stats.write_amplification(),
            stall_micros: stats.stall_micros,
            block_cache_hit_ratio: stats.block_cache_hit_ratio(),
            sst_bytes: after.sst_bytes(),
            live_keys,
            live_bytes,
            level_files: after.levels.iter().map(|l| l.files).collect(),
        })
    }

    /// SSTable bytes per byte of live data; `None` for an empty database.
    pub fn space_amplification(&self) -> Option<f64> {
        (self.live_bytes > 0).then(|| self.sst_bytes as f64 / self.live_bytes as f64)
    }

    /// The summary as a JSON object; `dir_bytes` is the size of the database directory.
    pub fn to_json(&self, dir_bytes: u64) -> serde_json::Value {
        serde_json::json!({
            "write_amplification": self.write_amplification,
            "space_amplification": self.space_amplification(),
            "sst_bytes": self.sst_bytes,
            "live_keys": self.live_keys,
            "live_bytes": self.live_bytes,
            "dir_bytes": dir_bytes,
            "level_files": self.level_files,
            "stall_micros": self.stall_micros,
            "block_cache_hit_ratio": self.block_cache_hit_ratio,
        })
    }

    /// The summary lines; `dir_bytes` is the size of the database directory.
    pub fn format(&self, dir_bytes: u64) -> String {
        let mib = |b: u64| b as f64 / (1 << 20) as f64;
        let space = match self.space_amplification() {
            Some(a) => format!("{a:.2}"),
            None => "n/a (no live data)".to_owned(),
        };
        format!(
            "write amplification  {:.2} (WAL + flush + compaction bytes per user byte)\n\
             space amplification  {space} (SSTables {:.2} MiB / live data {:.2} MiB: {} keys, \
             key + value bytes; directory {:.2} MiB)\n\
             files per level      {}\n\
             write stalls         {:.3} s\n\
             block cache hits     {:.1}%\n",
            self.write_amplification,
            mib(self.sst_bytes),
            mib(self.live_bytes),
            self.live_keys,
            mib(dir_bytes),
            level_counts(&self.level_files),
            self.stall_micros as f64 / 1e6,
            100.0 * self.block_cache_hit_ratio,
        )
    }
}

/// Total size of the files directly in `dir`, in bytes.
fn dir_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let meta = entry
            .metadata()
            .with_context(|| format!("reading {}", entry.path().display()))?;
        if meta.is_file() {
            total += meta.len();
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_zero_padded_decimal_in_numeric_order() {
        let mut k = [0u8; 16];
        fill_key(&mut k, 42);
        assert_eq!(&k, b"0000000000000042");
        fill_key(&mut k, 0);
        assert_eq!(&k, b"0000000000000000");
        let mut prev = Vec::new();
        for n in [0u64, 1, 9, 10, 99, 100, 12345, 999_999, 1_000_000] {
            let mut k = vec![0u8; 8];
            fill_key(&mut k, n);
            assert_eq!(std::str::from_utf8(&k).unwrap().parse::<u64>().unwrap(), n);
            assert!(k > prev, "{n}");
            prev = k;
        }
        let mut k = [0u8; 20];
        fill_key(&mut k, u64::MAX);
        assert_eq!(&k, b"18446744073709551615");
    }

    #[test]
    fn digit_counts() {
        assert_eq!(decimal_digits(0), 1);
        assert_eq!(decimal_digits(9), 1);
        assert_eq!(decimal_digits(10), 2);
        assert_eq!(decimal_digits(999_999), 6);
        assert_eq!(decimal_digits(u64::MAX), 20);
    }

    #[test]
    fn values_are_printable_sized_and_half_compressible() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let g = ValueGen::new(&mut rng, 100);
        let mut c = g.cursor(0);
        for _ in 0..30_000 {
            let v = c.next(100);
            assert_eq!(v.len(), 100);
            assert!(v.iter().all(|b| (b' '..=b'~').contains(b)));
        }
        // Each 100-byte stretch of the pool is 50 bytes written twice.
        assert_eq!(g.pool[..50], g.pool[50..100]);
        // Same seed, same values.
        let again = ValueGen::new(&mut Xoshiro256PlusPlus::seed_from_u64(1), 100);
        assert_eq!(again.cursor(0).next(100), g.cursor(0).next(100));
        // Cursors at other offsets give other values.
        assert_ne!(g.cursor(7919 * 100).next(100), g.cursor(0).next(100));
        // A value larger than the default pool still fits.
        let big = ValueGen::new(&mut rng, 3 << 20);
        assert_eq!(big.cursor(12345).next(3 << 20).len(), 3 << 20);
        // Zero-size values are fine too.
        assert!(ValueGen::new(&mut rng, 0).cursor(5).next(0).is_empty());
    }

    #[test]
    fn split_covers_every_operation_once() {
        for (total, threads) in [(10u64, 3u64), (1_000_000, 1), (5, 8), (0, 2)] {
            let mut next = 0;
            for t in 0..threads {
                let (first, count) = split(total, threads, t);
                assert_eq!(first, next);
                next += count;
            }
            assert_eq!(next, total);
        }
    }

    #[test]
    fn stats_percentiles_and_merge() {
        let mut a = Stats::default();
        let mut b = Stats::default();
        for us in 1..=500u64 {
            a.record(Duration::from_micros(us), 116);
        }
        for us in 501..=1000u64 {
            b.record(Duration::from_micros(us), 116);
        }
        b.found = 7;
        a.merge(&b);
        assert_eq!(a.ops, 1000);
        assert_eq!(a.bytes, 116_000);
        assert_eq!(a.found, 7);
        let p50 = a.latency_us(0.5);
        let p99 = a.latency_us(0.99);
        assert!((p50 - 500.0).abs() <= 1.0, "p50 {p50}");
        assert!((p99 - 990.0).abs() <= 1.0, "p99 {p99}");
        assert_eq!(Stats::default().latency_us(0.5), 0.0);
    }

    #[test]
    fn huge_latencies_saturate_instead_of_failing() {
        let mut s = Stats::default();
        s.record(Duration::from_secs(1_000_000), 1);
        assert_eq!(s.ops, 1);
        assert!(s.latency_us(0.5) >= 99_000_000.0);
    }

    #[test]
    fn rows_compute_rates() {
        let mut s = Stats::default();
        for _ in 0..1000 {
            s.record(Duration::from_micros(2), 116);
        }
        s.found = 600;
        let r = Row::new(Workload::Readrandom, &s, Duration::from_millis(500), 1000);
        assert_eq!(r.ops, 1000);
        assert!((r.ops_per_sec - 2000.0).abs() < 1e-6);
        assert!((r.mb_per_sec - 0.232).abs() < 1e-9);
        assert!((r.p50_us - 2.0).abs() < 0.01);
        assert_eq!(r.note, "600 of 1000 found");
        let line = format_row(&r);
        assert!(line.starts_with("readrandom"), "{line}");
        assert!(line.ends_with("600 of 1000 found"), "{line}");
        let fill = Row::new(Workload::Fillseq, &s, Duration::from_secs(1), 1000);
        let fill_line = format_row(&fill);
        assert!(!fill_line.ends_with(' '));
        // Columns line up with the header: each header word ends where its number ends.
        let header = table_header();
        for col in ["ops", "ops/s", "MB/s", "p50 µs", "p99 µs"] {
            let end = header.find(col).unwrap() + col.len();
            let end_chars = header[..end].chars().count();
            let cell_end: String = fill_line.chars().take(end_chars).collect();
            assert!(
                cell_end.ends_with(|c: char| c.is_ascii_digit()),
                "{col}:\n{header}\n{fill_line}"
            );
        }
    }

    #[test]
    fn summary_space_amplification_and_lines() {
        let s = Summary {
            write_amplification: 3.25,
            stall_micros: 1_500_000,
            block_cache_hit_ratio: 0.875,
            sst_bytes: 3 << 20,
            live_keys: 10,
            live_bytes: 2 << 20,
            level_files: vec![0, 2, 1],
        };
        assert_eq!(s.space_amplification(), Some(1.5));
        let text = s.format(5 << 20);
        for want in [
            "write amplification  3.25",
            "space amplification  1.50 (SSTables 3.00 MiB / live data 2.00 MiB: 10 keys",
            "directory 5.00 MiB",
            "files per level      0/2/1",
            "write stalls         1.500 s",
            "block cache hits     87.5%",
        ] {
            assert!(text.contains(want), "{want:?} in:\n{text}");
        }
        let json = s.to_json(5 << 20);
        assert_eq!(json["space_amplification"], 1.5);
        assert_eq!(json["dir_bytes"], 5 << 20);
        let empty = Summary { live_bytes: 0, ..s };
        assert_eq!(empty.space_amplification(), None);
        assert!(empty.format(0).contains("n/a"));
        assert!(empty.to_json(0)["space_amplification"].is_null());
    }

    #[test]
    fn compression_flag_maps_to_the_engine() {
        assert_eq!(CompressionArg::None.to_engine(), Compression::None);
        assert_eq!(CompressionArg::Lz4.to_engine(), Compression::Lz4);
        assert_eq!(
            CompressionArg::Zstd.to_engine(),
            Compression::Zstd { level: 3 }
        );
        assert_eq!(
            compression_name(Compression::Zstd { level: 3 }),
            "zstd (level 3)"
        );
        assert_eq!(CompactionArg::Tiered.to_engine(), CompactionStyle::Tiered);
    }

    #[test]
    fn wipe_deletes_only_kevo_directories() {
        let t = tempfile::tempdir().unwrap();
        let db = t.path().join("db");
        std::fs::create_dir(&db).unwrap();
        for f in [
            "CURRENT",
            "LOCK",
            "MANIFEST-000002",
            "000003.log",
            "000004.sst",
        ] {
            std::fs::write(db.join(f), b"x").unwrap();
        }
        wipe(&db).unwrap();
        assert!(!db.exists());
        wipe(&db).unwrap(); // missing is fine

        let other = t.path().join("home");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("thesis.tex"), b"precious").unwrap();
        let e = wipe(&other).unwrap_err();
        assert!(format!("{e:#}").contains("refusing to delete"), "{e:#}");
        assert!(other.join("thesis.tex").exists());
    }

    #[test]
    fn workload_names_match_clap() {
        for w in Workload::value_variants() {
            assert_eq!(w.to_possible_value().unwrap().get_name(), w.name());
        }
    }
}
