//! [`Options`]: how a database is tuned, with every default and unit written down.
//!
//! The tunables below are persisted in the manifest (see [`crate::manifest`]) when a database
//! is created and whenever it is opened with different values. [`Db::reopen`](crate::Db::reopen)
//! opens a database with the stored options. Every persisted option only shapes files written
//! from then on (each SSTable records its own block and filter parameters), so any of them may
//! change on reopen and the change is applied safely. What cannot change — the on-disk format
//! version — is checked at open: a database written by a newer format is refused with
//! [`Error::InvalidArgument`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::fs::{FileSystem, OsFileSystem};
use crate::wal::WalRecoveryMode;

pub mod fields;

/// Per-write durability, for [`Db::put_opt`](crate::Db::put_opt),
/// [`Db::delete_opt`](crate::Db::delete_opt) and [`Db::write_opt`](crate::Db::write_opt)
/// (RocksDB's `WriteOptions`). The default (`sync: false, disable_wal: false`) is what
/// [`Db::put`](crate::Db::put) does: logged, and durable per the database's [`SyncMode`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// fsync the WAL before the write returns, whatever the database's [`SyncMode`]: the
    /// write then survives power loss. A group commit containing a synced write syncs once
    /// for the whole group. Default `false`.
    pub sync: bool,
    /// Skip the WAL: the write goes to the memtable only, so it is lost by a crash (of the
    /// process or the machine) before its memtable is flushed to an SSTable; a clean
    /// [`Db::close`](crate::Db::close) does not flush, so it is lost then too unless
    /// [`Db::flush`](crate::Db::flush) ran. For bulk loads that can be redone. Default
    /// `false`; `sync` and `disable_wal` together are an [`Error::InvalidArgument`].
    pub disable_wal: bool,
}

impl WriteOptions {
    /// A synced write: `WriteOptions { sync: true, ..Default::default() }`.
    pub fn synced() -> WriteOptions {
        WriteOptions {
            sync: true,
            disable_wal: false,
        }
    }

    /// [`Error::InvalidArgument`] for `sync` with `disable_wal`, which cannot both hold.
    pub fn validate(&self) -> Result<()> {
        if self.sync && self.disable_wal {
            return Err(Error::InvalidArgument(
                "a synced write needs the WAL: sync and disable_wal are exclusive".into(),
            ));
        }
        Ok(())
    }
}

/// When a write is forced to stable storage (fsync) before it is acknowledged.
///
/// Every mode writes the WAL record to the operating system before the write returns, so an
/// acknowledged write always survives a crash of the *process*. The modes differ in what
/// survives a crash of the *machine* (power loss, kernel panic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// fsync the WAL before acknowledging each write (or each group of concurrent writes —
    /// group commit shares one fsync among them). An acknowledged write survives power loss.
    /// Slowest: one fsync per group.
    Always,
    /// fsync the WAL once `bytes` bytes were written since the last fsync or `interval`
    /// passed since it, whichever comes first; the fsync is done by the writer that crosses
    /// the threshold, before it is acknowledged. On power loss, at most the writes of the last
    /// `bytes` / `interval` window are lost, and what survives is always a prefix of the
    /// acknowledged history.
    Batched {
        /// fsync after this many WAL bytes (> 0).
        bytes: u64,
        /// fsync when this much time has passed since the previous fsync.
        interval: Duration,
    },
    /// Never fsync the WAL on the write path; the OS writes it back when it chooses. On power
    /// loss, recent acknowledged writes may be lost (a prefix of the history survives). This
    /// is LevelDB's and RocksDB's default (`sync = false`). SSTables and the manifest are
    /// still synced when they are written.
    None,
}

/// How SSTable data blocks are compressed. Each block records its own type in its trailer,
/// so tables written with different settings are read side by side and the setting may
/// change at any reopen. A block whose compressed form does not save at least 1/8 of its
/// size is stored uncompressed (LevelDB's rule), so incompressible data costs nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Blocks stored as they are.
    None,
    /// LZ4 block format (via `lz4_flex`): fast, moderate ratio. The usual choice.
    Lz4,
    /// Zstandard at `level` (1..=22; 3 is zstd's default): slower, better ratio. Good for
    /// cold data in the lower levels.
    Zstd {
        /// zstd compression level, 1 (fastest) to 22 (smallest).
        level: i32,
    },
}

/// How compaction shapes the tree. The compaction module (`core/src/compaction/mod.rs`)
/// describes both algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompactionStyle {
    /// Leveled (LevelDB, RocksDB's default): L1..L6 each hold one sorted run whose size
    /// limit grows by [`Options::level_size_multiplier`]. Low space amplification (about
    /// 1.1x) and read amplification (one file per level), at the cost of write amplification
    /// (each byte is rewritten about `multiplier` times per level).
    Leveled,
    /// Size-tiered (Cassandra's STCS, RocksDB's universal compaction): sorted runs of similar
    /// size are merged together, so each byte is rewritten only about log(N) times: lower
    /// write amplification, but more runs for a read to consult and up to
    /// [`Options::tiered_max_size_amplification_percent`] extra space before a full merge.
    Tiered,
}

impl SyncMode {
    /// Checks the mode's parameters: [`SyncMode::Batched`]'s `bytes` must be in
    /// [`fields::SYNC_BATCHED_BYTES`]. Called by [`Options::validate`].
    ///
    /// Errors: [`Error::InvalidArgument`] for `bytes == 0`.
    pub fn validate(&self) -> Result<()> {
        match *self {
            SyncMode::Batched { bytes, .. } => {
                fields::SYNC_BATCHED_BYTES.check("SyncMode::Batched bytes", bytes)
            }
            SyncMode::Always | SyncMode::None => Ok(()),
        }
    }
}

impl Compression {
    /// The level bindings use when a caller asks for zstd without naming one: 3, zstd's own
    /// default.
    pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

    /// Checks the compression's parameters: a [`Compression::Zstd`] level must be in
    /// [`fields::ZSTD_LEVEL`]. Called by [`Options::validate`].
    ///
    /// Errors: [`Error::InvalidArgument`] for a level out of range.
    pub fn validate(&self) -> Result<()> {
        let Compression::Zstd { level } = *self else {
            return Ok(());
        };
        if u64::try_from(level).is_ok_and(|l| fields::ZSTD_LEVEL.contains(l)) {
            return Ok(());
        }
        Err(Error::InvalidArgument(format!(
            "Compression::Zstd level must be {} (got {level})",
            fields::ZSTD_LEVEL.describe()
        )))
    }
}

/// Largest key accepted, in bytes (64 KiB - 1, so a key's length fits in two bytes in tools
/// and its internal key stays well under a block).
pub const MAX_KEY_SIZE: usize = 65_535;

/// Largest value accepted, in bytes (512 MiB, well under the WAL's 4 GiB record limit).
pub const MAX_VALUE_SIZE: usize = 512 << 20;

/// Largest memtable accepted, in bytes (16 GiB). Each WAL segment reserves 1.25 × the
/// memtable size on disk when it is created, so the bound keeps that reservation in range and
/// turns a unit mistake (a size in KiB passed as bytes, or `usize::MAX`) into a clear error
/// instead of an attempt to reserve terabytes. LevelDB clips its `write_buffer_size` at 1 GiB
/// for similar reasons.
pub const MAX_MEMTABLE_SIZE: usize = 16 << 30;

/// Database options. Build with [`Options::default`] and the chained setters; every field is
/// public to read. The range of each numeric field is in [`fields`];
/// [`validate`](Self::validate) checks them all (opening a database calls it).
#[derive(Clone)]
#[non_exhaustive]
pub struct Options {
    /// Create the directory and an empty database if none exists. Default `true`. Not persisted.
    pub create_if_missing: bool,
    /// Fail with [`Error::InvalidArgument`] if a database already exists. Default `false`.
    /// Not persisted.
    pub error_if_exists: bool,
    /// Open read-only, beside any number of other readers and one writer (another process
    /// or this one): no `LOCK` taken, nothing written, created or deleted in the directory,
    /// no background threads; every write returns [`Error::ReadOnly`]. The handle sees the
    /// database as of its open (manifest and WAL tail) until [`Db::refresh`](crate::Db::refresh).
    /// The directory must hold a database (`create_if_missing` is ignored). Default `false`.
    /// Not persisted.
    pub read_only: bool,
    /// Write durability, see [`SyncMode`]. Default [`SyncMode::None`]. Persisted.
    pub sync_mode: SyncMode,
    /// Bytes of entries the memtable holds before it becomes immutable and is flushed to an
    /// L0 SSTable. Default 16 MiB: measured here, it beats 8, 32 and 64 MiB (RocksDB's
    /// `write_buffer_size` default) on both random writes and random reads at 1M entries,
    /// since a smaller skip list misses the cache less. From 4096 to [`MAX_MEMTABLE_SIZE`].
    /// Persisted.
    pub memtable_size: usize,
    /// Immutable memtables allowed to wait for their flush before writers stall until one is
    /// done. Default 2. Persisted.
    pub max_immutable_memtables: usize,
    /// Target uncompressed size of an SSTable data block, in bytes. Default 4096. Persisted.
    pub block_size: usize,
    /// Keys between restart points in a data block (LevelDB's `block_restart_interval`).
    /// Default 16. Persisted.
    pub block_restart_interval: usize,
    /// Bloom filter bits per key; 0 disables filters. Default 10 (about 1% false
    /// positives). Persisted.
    pub bloom_bits_per_key: usize,
    /// Number of L0 files that triggers a compaction into L1. Default 4. Persisted.
    pub l0_compaction_trigger: usize,
    /// Number of L0 files at which writers stall until a compaction reduces it. Default 20.
    /// Persisted.
    pub l0_stop_writes_trigger: usize,
    /// Size at which compaction output is split into a new SSTable, in bytes. Default 64 MiB.
    /// Persisted.
    pub target_file_size: u64,
    /// Number of L0 files at which each write is delayed by 1 ms, so that compaction can
    /// catch up before the hard stop at `l0_stop_writes_trigger` (RocksDB's
    /// `level0_slowdown_writes_trigger`). Default 8. Persisted.
    pub l0_slowdown_writes_trigger: usize,
    /// Leveled or size-tiered compaction. Default [`CompactionStyle::Leveled`]. Persisted;
    /// may change at reopen (the next compactions reshape the tree).
    pub compaction_style: CompactionStyle,
    /// Leveled: the size limit of L1, in bytes; L(n+1) may hold `level_size_multiplier`
    /// times as much as Ln. Default 64 MiB (four 16 MiB memtables). Persisted.
    pub max_bytes_for_level_base: u64,
    /// Leveled: growth factor of each level's size limit. Default 10. Persisted.
    pub level_size_multiplier: u64,
    /// Tiered: a run joins the runs newer than it in one merge if its size is at most
    /// `(100 + tiered_size_ratio)%` of theirs together (RocksDB universal's `size_ratio`).
    /// Default 1 (percent). Persisted.
    pub tiered_size_ratio: u64,
    /// Tiered: when all runs but the oldest add up to more than this percentage of the
    /// oldest, everything is merged into one run (RocksDB universal's
    /// `max_size_amplification_percent`). Default 200 (the database may use up to 3x its
    /// live size). Persisted.
    pub tiered_max_size_amplification_percent: u64,
    /// Tiered: fewest runs merged at once. Default 2. Persisted.
    pub tiered_min_merge_width: usize,
    /// Compression of data blocks. Default [`Compression::Lz4`]. Persisted.
    pub compression: Compression,
    /// Background threads that run compactions (flushes have their own thread). Default 1,
    /// which suits a 2-core machine; more let compactions of different levels run at once.
    /// Not persisted.
    pub max_background_compactions: usize,
    /// Capacity of the block cache, in bytes of uncompressed data, index and filter blocks.
    /// Default 64 MiB. 0 disables caching (every read goes to the file). Not persisted.
    pub block_cache_size: usize,
    /// Where the index and filter blocks of open tables live. `false` (default, as in
    /// LevelDB and RocksDB): each open table keeps its decoded index and filter, so their
    /// memory is bounded by [`max_open_files`](Self::max_open_files) and a point lookup
    /// costs one cache lookup (the data block). `true` (RocksDB's
    /// `cache_index_and_filter_blocks`): they are charged to the block cache like data
    /// blocks, so `block_cache_size` bounds all read memory, at the cost of two more cache
    /// lookups per table read and re-reading them from the file after an eviction. Not
    /// persisted.
    pub cache_index_and_filter_blocks: bool,
    /// Most SSTables kept open at once by the table cache (each holds a file descriptor);
    /// the least recently used is closed beyond it. Default 1000. Not persisted.
    pub max_open_files: usize,
    /// What recovery does with damage in the WAL at open; see [`WalRecoveryMode`] and the
    /// [`wal`](crate::wal#recovery-modes) module for each mode's guarantee. Default
    /// [`WalRecoveryMode::TolerateCorruptedTail`]: an incomplete or damaged last record is
    /// dropped (it was never acknowledged as durable, or a crash tore it); damage followed
    /// by intact records fails the open with [`Error::Corruption`]. `AbsoluteConsistency`
    /// fails the open on any damage, even the zero tail a killed process leaves in a
    /// preallocated segment, so it suits databases that are always closed cleanly (close
    /// cuts that tail); `PointInTime` recovers every write before the first
    /// damage and drops the rest, later WAL segments included. Not persisted.
    pub wal_recovery_mode: WalRecoveryMode,
    /// Check more at open, so damage is found before it is served: every live SSTable's
    /// size must match the manifest, and each is opened, which verifies the checksums of its
    /// footer, index, filter and properties blocks. Default `true`; `false` opens faster
    /// when there are many tables (each is then opened on first read). Data-block checksums
    /// are verified on every read whatever this says, and a corrupt input stops a
    /// compaction, leaving the database readable but refusing writes (see
    /// [`Error::Background`]). Not persisted.
    pub paranoid_checks: bool,
    /// The file system all I/O goes through. Default [`OsFileSystem`]; tests use
    /// [`MemFileSystem`](crate::fs::MemFileSystem). Not persisted.
    pub fs: Arc<dyn FileSystem>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            create_if_missing: true,
            error_if_exists: false,
            read_only: false,
            sync_mode: SyncMode::None,
            memtable_size: 16 << 20,
            max_immutable_memtables: 2,
            block_size: 4096,
            block_restart_interval: 16,
            bloom_bits_per_key: 10,
            l0_compaction_trigger: 4,
            l0_stop_writes_trigger: 20,
            target_file_size: 64 << 20,
            l0_slowdown_writes_trigger: 8,
            compaction_style: CompactionStyle::Leveled,
            max_bytes_for_level_base: 64 << 20,
            level_size_multiplier: 10,
            tiered_size_ratio: 1,
            tiered_max_size_amplification_percent: 200,
            tiered_min_merge_width: 2,
            compression: Compression::Lz4,
            max_background_compactions: 1,
            block_cache_size: 64 << 20,
            max_open_files: 1000,
            cache_index_and_filter_blocks: false,
            wal_recovery_mode: WalRecoveryMode::TolerateCorruptedTail,
            paranoid_checks: true,
            fs: Arc::new(OsFileSystem),
        }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("create_if_missing", &self.create_if_missing)
            .field("error_if_exists", &self.error_if_exists)
            .field("read_only", &self.read_only)
            .field("sync_mode", &self.sync_mode)
            .field("memtable_size", &self.memtable_size)
            .field("max_immutable_memtables", &self.max_immutable_memtables)
            .field("block_size", &self.block_size)
            .field("block_restart_interval", &self.block_restart_interval)
            .field("bloom_bits_per_key", &self.bloom_bits_per_key)
            .field("l0_compaction_trigger", &self.l0_compaction_trigger)
            .field("l0_stop_writes_trigger", &self.l0_stop_writes_trigger)
            .field("target_file_size", &self.target_file_size)
            .field(
                "l0_slowdown_writes_trigger",
                &self.l0_slowdown_writes_trigger,
            )
            .field("compaction_style", &self.compaction_style)
            .field("max_bytes_for_level_base", &self.max_bytes_for_level_base)
            .field("level_size_multiplier", &self.level_size_multiplier)
            .field("tiered_size_ratio", &self.tiered_size_ratio)
            .field(
                "tiered_max_size_amplification_percent",
                &self.tiered_max_size_amplification_percent,
            )
            .field("tiered_min_merge_width", &self.tiered_min_merge_width)
            .field("compression", &self.compression)
            .field(
                "max_background_compactions",
                &self.max_background_compactions,
            )
            .field("block_cache_size", &self.block_cache_size)
            .field("max_open_files", &self.max_open_files)
            .field(
                "cache_index_and_filter_blocks",
                &self.cache_index_and_filter_blocks,
            )
            .field("wal_recovery_mode", &self.wal_recovery_mode)
            .field("paranoid_checks", &self.paranoid_checks)
            .finish_non_exhaustive()
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = value;
            self
        }
    };
}

impl Options {
    setter!(
        /// Sets [`Options::create_if_missing`].
        create_if_missing: bool
    );
    setter!(
        /// Sets [`Options::wal_recovery_mode`].
        wal_recovery_mode: WalRecoveryMode
    );
    setter!(
        /// Sets [`Options::paranoid_checks`].
        paranoid_checks: bool
    );
    setter!(
        /// Sets [`Options::error_if_exists`].
        error_if_exists: bool
    );
    setter!(
        /// Sets [`Options::read_only`].
        read_only: bool
    );
    setter!(
        /// Sets [`Options::sync_mode`].
        sync_mode: SyncMode
    );
    setter!(
        /// Sets [`Options::memtable_size`] (bytes).
        memtable_size: usize
    );
    setter!(
        /// Sets [`Options::max_immutable_memtables`].
        max_immutable_memtables: usize
    );
    setter!(
        /// Sets [`Options::block_size`] (bytes).
        block_size: usize
    );
    setter!(
        /// Sets [`Options::block_restart_interval`] (entries).
        block_restart_interval: usize
    );
    setter!(
        /// Sets [`Options::bloom_bits_per_key`].
        bloom_bits_per_key: usize
    );
    setter!(
        /// Sets [`Options::l0_compaction_trigger`] (files).
        l0_compaction_trigger: usize
    );
    setter!(
        /// Sets [`Options::l0_stop_writes_trigger`] (files).
        l0_stop_writes_trigger: usize
    );
    setter!(
        /// Sets [`Options::target_file_size`] (bytes).
        target_file_size: u64
    );
    setter!(
        /// Sets [`Options::l0_slowdown_writes_trigger`] (files).
        l0_slowdown_writes_trigger: usize
    );
    setter!(
        /// Sets [`Options::compaction_style`].
        compaction_style: CompactionStyle
    );
    setter!(
        /// Sets [`Options::max_bytes_for_level_base`] (bytes).
        max_bytes_for_level_base: u64
    );
    setter!(
        /// Sets [`Options::level_size_multiplier`].
        level_size_multiplier: u64
    );
    setter!(
        /// Sets [`Options::tiered_size_ratio`] (percent).
        tiered_size_ratio: u64
    );
    setter!(
        /// Sets [`Options::tiered_max_size_amplification_percent`] (percent).
        tiered_max_size_amplification_percent: u64
    );
    setter!(
        /// Sets [`Options::tiered_min_merge_width`] (runs).
        tiered_min_merge_width: usize
    );
    setter!(
        /// Sets [`Options::compression`].
        compression: Compression
    );
    setter!(
        /// Sets [`Options::max_background_compactions`] (threads).
        max_background_compactions: usize
    );
    setter!(
        /// Sets [`Options::block_cache_size`] (bytes).
        block_cache_size: usize
    );
    setter!(
        /// Sets [`Options::max_open_files`] (files).
        max_open_files: usize
    );
    setter!(
        /// Sets [`Options::cache_index_and_filter_blocks`].
        cache_index_and_filter_blocks: bool
    );
    setter!(
        /// Sets [`Options::fs`].
        fs: Arc<dyn FileSystem>
    );

    /// Checks every value is in range: each numeric field against its entry in
    /// [`fields::ALL`], then the rules that tie fields together, then the parameters of
    /// [`compression`](Self::compression) and [`sync_mode`](Self::sync_mode).
    ///
    /// Errors: [`Error::InvalidArgument`] naming the first bad option.
    pub fn validate(&self) -> Result<()> {
        for field in fields::ALL {
            field.check(field.get(self))?;
        }
        let bad = |m: &str| Err(Error::InvalidArgument(m.to_owned()));
        if self.l0_stop_writes_trigger < self.l0_compaction_trigger {
            return bad("l0_stop_writes_trigger must be at least l0_compaction_trigger");
        }
        if self.l0_slowdown_writes_trigger < self.l0_compaction_trigger
            || self.l0_slowdown_writes_trigger > self.l0_stop_writes_trigger
        {
            return bad(
                "l0_slowdown_writes_trigger must be between l0_compaction_trigger and \
                 l0_stop_writes_trigger",
            );
        }
        self.compression.validate()?;
        self.sync_mode.validate()
    }

    /// The persisted options as `name=value` lines (the form stored in the manifest).
    pub fn to_persisted(&self) -> String {
        let sync = match self.sync_mode {
            SyncMode::Always => "always".to_owned(),
            SyncMode::None => "none".to_owned(),
            SyncMode::Batched { bytes, interval } => {
                format!("batched:{bytes}:{}", interval.as_micros())
            }
        };
        let compression = match self.compression {
            Compression::None => "none".to_owned(),
            Compression::Lz4 => "lz4".to_owned(),
            Compression::Zstd { level } => format!("zstd:{level}"),
        };
        let style = match self.compaction_style {
            CompactionStyle::Leveled => "leveled",
            CompactionStyle::Tiered => "tiered",
        };
        format!(
            "sync_mode={sync}\nmemtable_size={}\nmax_immutable_memtables={}\nblock_size={}\n\
             block_restart_interval={}\nbloom_bits_per_key={}\nl0_compaction_trigger={}\n\
             l0_stop_writes_trigger={}\ntarget_file_size={}\nl0_slowdown_writes_trigger={}\n\
             compaction_style={style}\nmax_bytes_for_level_base={}\nlevel_size_multiplier={}\n\
             tiered_size_ratio={}\ntiered_max_size_amplification_percent={}\n\
             tiered_min_merge_width={}\ncompression={compression}\n",
            self.memtable_size,
            self.max_immutable_memtables,
            self.block_size,
            self.block_restart_interval,
            self.bloom_bits_per_key,
            self.l0_compaction_trigger,
            self.l0_stop_writes_trigger,
            self.target_file_size,
            self.l0_slowdown_writes_trigger,
            self.max_bytes_for_level_base,
            self.level_size_multiplier,
            self.tiered_size_ratio,
            self.tiered_max_size_amplification_percent,
            self.tiered_min_merge_width,
        )
    }

    /// Applies persisted `name=value` lines over `self`. Unknown names are ignored (a newer
    /// minor version may add tunables; they have safe defaults).
    ///
    /// Errors: [`Error::InvalidArgument`] for a value that does not parse.
    pub fn apply_persisted(mut self, text: &str) -> Result<Options> {
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let Some((name, value)) = line.split_once('=') else {
                return Err(Error::InvalidArgument(format!(
                    "stored option line {line:?}"
                )));
            };
            let bad = || Error::InvalidArgument(format!("stored option {name}={value}"));
            let num = |v: &str| v.parse::<u64>().map_err(|_| bad());
            match name {
                "sync_mode" => {
                    self.sync_mode = match value {
                        "always" => SyncMode::Always,
                        "none" => SyncMode::None,
                        v => {
                            let mut parts = v.split(':');
                            if parts.next() != Some("batched") {
                                return Err(bad());
                            }
                            let bytes = num(parts.next().ok_or_else(bad)?)?;
                            let micros = num(parts.next().ok_or_else(bad)?)?;
                            SyncMode::Batched {
                                bytes,
                                interval: Duration::from_micros(micros),
                            }
                        }
                    }
                }
                "memtable_size" => self.memtable_size = num(value)? as usize,
                "max_immutable_memtables" => self.max_immutable_memtables = num(value)? as usize,
                "block_size" => self.block_size = num(value)? as usize,
                "block_restart_interval" => self.block_restart_interval = num(value)? as usize,
                "bloom_bits_per_key" => self.bloom_bits_per_key = num(value)? as usize,
                "l0_compaction_trigger" => self.l0_compaction_trigger = num(value)? as usize,
                "l0_stop_writes_trigger" => self.l0_stop_writes_trigger = num(value)? as usize,
                "target_file_size" => self.target_file_size = num(value)?,
                "l0_slowdown_writes_trigger" => {
                    self.l0_slowdown_writes_trigger = num(value)? as usize
                }
                "compaction_style" => {
                    self.compaction_style = match value {
                        "leveled" => CompactionStyle::Leveled,
                        "tiered" => CompactionStyle::Tiered,
                        _ => return Err(bad()),
                    }
                }
                "max_bytes_for_level_base" => self.max_bytes_for_level_base = num(value)?,
                "level_size_multiplier" => self.level_size_multiplier = num(value)?,
                "tiered_size_ratio" => self.tiered_size_ratio = num(value)?,
                "tiered_max_size_amplification_percent" => {
                    self.tiered_max_size_amplification_percent = num(value)?
                }
                "tiered_min_merge_width" => self.tiered_min_merge_width = num(value)? as usize,
                "compression" => {
                    self.compression = match value {
                        "none" => Compression::None,
                        "lz4" => Compression::Lz4,
                        v => match v.strip_prefix("zstd:").map(str::parse::<i32>) {
                            Some(Ok(level)) => Compression::Zstd { level },
                            _ => return Err(bad()),
                        },
                    }
                }
                _ => {}
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persisted_roundtrip() {
        let o = Options::default()
            .memtable_size(1 << 20)
            .sync_mode(SyncMode::Batched {
                bytes: 4096,
                interval: Duration::from_millis(5),
            })
            .bloom_bits_per_key(0);
        let back = Options::default()
            .apply_persisted(&o.to_persisted())
            .unwrap();
        assert_eq!(back.to_persisted(), o.to_persisted());
        assert_eq!(back.memtable_size, 1 << 20);
    }

    #[test]
    fn validate_rejects_out_of_range() {
        assert!(Options::default().validate().is_ok());
        assert!(Options::default()
            .block_restart_interval(0)
            .validate()
            .is_err());
        assert!(Options::default().memtable_size(10).validate().is_err());
        assert!(Options::default()
            .memtable_size(MAX_MEMTABLE_SIZE + 1)
            .validate()
            .is_err());
        assert!(Options::default()
            .memtable_size(usize::MAX)
            .validate()
            .is_err());
        assert!(Options::default()
            .apply_persisted("block_size=abc")
            .is_err());
        for (level, ok) in [(1, true), (22, true), (0, false), (23, false), (-3, false)] {
            let c = Compression::Zstd { level };
            assert_eq!(c.validate().is_ok(), ok, "{c:?}");
            assert_eq!(Options::default().compression(c).validate().is_ok(), ok);
        }
        let batched = |bytes| SyncMode::Batched {
            bytes,
            interval: Duration::from_millis(1),
        };
        assert!(batched(1).validate().is_ok());
        let e = Options::default()
            .sync_mode(batched(0))
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("SyncMode::Batched bytes"), "{e}");
        let e = Options::default()
            .l0_compaction_trigger(8)
            .l0_slowdown_writes_trigger(4)
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("l0_slowdown_writes_trigger"), "{e}");
    }
}
