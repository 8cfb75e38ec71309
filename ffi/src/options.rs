//! Option builders: `kevo_options` (for `kevo_open`), `kevo_read_options`,
//! `kevo_write_options`.
//!
//! They are builders with one setter per option rather than structs, so that new options
//! never change the ABI. A setter checks what it can on its own (a value out of range) and
//! returns `KEVO_INVALID_ARGUMENT`; checks that involve two options (such as
//! `l0_stop_writes_trigger >= l0_compaction_trigger`) are made by `kevo_open`. Every check
//! is the engine's: the numeric setters all go through `set_int` and the table of
//! `kevo::options::fields`, the others through `validate` on the engine's type, so no bound
//! or message is written here.
//!
//! For the same reason the doc comments below name a range or a default as
//! `{{range:NAME}}` or `{{default:NAME}}` (NAME a field of that table, or `zstd_level`,
//! `sync_batched_bytes`): generating `include/kevo.h` (`make header`) writes the engine's
//! values in their place, and the header test fails if they change without a regeneration.
//!
//! Thread-safety of all three: once built, a handle may be used by any number of threads at
//! once (`kevo_open`, `kevo_get`, `kevo_put`, `kevo_iter_new` only read it). A setter must not
//! run while another thread uses the same handle: it is not memory-unsafe (an internal lock
//! serializes them) but which value the other call sees is unspecified.
//!
//! The engine's pluggable file system (`Options::fs` in Rust) is not available through the C
//! ABI: C programs always use the operating system's files.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

use kevo::options::fields::{self, IntField};

use crate::convert;
use crate::error::{kevo_error, kevo_status, Failure};
use crate::handle::{self, guard, guard_value, Kind, OK};
use crate::snapshot::kevo_snapshot;

/// Database options for `kevo_open`. Created with `kevo_options_new` (every option at its
/// default), changed with the `kevo_options_set_*` setters, freed with `kevo_options_free`.
/// `kevo_open` copies them, so they may be freed or reused right after.
pub struct kevo_options {
    pub(crate) inner: Mutex<kevo::Options>,
}

/// Per-read settings for `kevo_get`, `kevo_get_into` and `kevo_iter_new`: a snapshot, and for
/// iterators a lower bound, an upper bound and a prefix. Passing NULL instead of a
/// `kevo_read_options` means "latest state, no bounds".
pub struct kevo_read_options {
    pub(crate) inner: RwLock<kevo::ReadOptions>,
}

/// Per-write settings for `kevo_put`, `kevo_delete` and `kevo_write`. Passing NULL means the
/// defaults (logged, no extra sync).
pub struct kevo_write_options {
    pub(crate) sync: AtomicBool,
    pub(crate) disable_wal: AtomicBool,
}

impl kevo_write_options {
    /// The engine's options as set now.
    pub(crate) fn get(&self) -> kevo::WriteOptions {
        kevo::WriteOptions {
            sync: self.sync.load(Ordering::Relaxed),
            disable_wal: self.disable_wal.load(Ordering::Relaxed),
        }
    }
}

/// Compression of SSTable data blocks (`kevo_options_set_compression`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum kevo_compression {
    /// Blocks stored as they are.
    KEVO_COMPRESSION_NONE = 0,
    /// LZ4 (the default): fast, moderate ratio.
    KEVO_COMPRESSION_LZ4 = 1,
    /// Zstandard at a level {{range:zstd_level}}: slower, smaller.
    KEVO_COMPRESSION_ZSTD = 2,
}

/// Compaction algorithm (`kevo_options_set_compaction_style`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum kevo_compaction_style {
    /// Leveled (the default): low space and read amplification.
    KEVO_COMPACTION_LEVELED = 0,
    /// Size-tiered: low write amplification, more space and more runs per read.
    KEVO_COMPACTION_TIERED = 1,
}

/// When the write-ahead log is fsynced (`kevo_options_set_sync_mode`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum kevo_sync_mode {
    /// Never on the write path (the default; the OS writes back). Acknowledged writes
    /// survive a process crash, not necessarily a power loss.
    KEVO_SYNC_NONE = 0,
    /// Before acknowledging each write (or group of concurrent writes): survives power loss.
    KEVO_SYNC_ALWAYS = 1,
    /// Once `bytes` WAL bytes were written or `interval_ms` passed since the last fsync.
    KEVO_SYNC_BATCHED = 2,
}

/// What recovery does with damage in the write-ahead log at open
/// (`kevo_options_set_wal_recovery_mode`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum kevo_wal_recovery_mode {
    /// The default. An incomplete or damaged last record (never acknowledged as durable, or
    /// torn by a crash) is dropped; damage followed by intact records fails the open with
    /// `KEVO_CORRUPTION`.
    KEVO_WAL_TOLERATE_CORRUPTED_TAIL = 0,
    /// Any damage, even an incomplete last record, fails the open with `KEVO_CORRUPTION`.
    KEVO_WAL_ABSOLUTE_CONSISTENCY = 1,
    /// Recover every write before the first damage and drop the rest (later WAL segments
    /// included); damage never fails the open.
    KEVO_WAL_POINT_IN_TIME = 2,
    /// Only a record cut short by the end of the file (or a zero-filled tail) is dropped; any
    /// other damage, even in the last record, fails the open with `KEVO_CORRUPTION`.
    KEVO_WAL_TOLERATE_INCOMPLETE_TAIL = 3,
}

fn options(o: *mut kevo_options) -> Result<Arc<kevo_options>, Failure> {
    handle::get(Kind::Options, o as usize)
}

/// The one body of the numeric setters: core's table entry `field` checks `value` against
/// the option's bounds and sets it, so no bound or message is written in this crate.
fn set_int(
    o: *mut kevo_options,
    err: *mut *mut kevo_error,
    field: &'static IntField,
    value: u64,
) -> kevo_status {
    guard(err, || {
        let o = options(o)?;
        field.set(&mut o.inner.lock(), value)?;
        OK
    })
}

/// The body of the other setters: `value` is the C argument turned into the engine's type
/// (an unknown enum number, or a value core's `validate` refuses, is the error), and `f`
/// stores it.
fn set<T>(
    o: *mut kevo_options,
    err: *mut *mut kevo_error,
    value: Result<T, Failure>,
    f: impl FnOnce(&mut kevo::Options, T),
) -> kevo_status {
    guard(err, || {
        let o = options(o)?;
        f(&mut o.inner.lock(), value?);
        OK
    })
}

/// A new set of database options, every option at its default (see each setter). Owned by
/// the caller: free it with `kevo_options_free`. Returns NULL only on an internal error.
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn kevo_options_new() -> *mut kevo_options {
    guard_value(std::ptr::null_mut(), || {
        let o = Arc::new(kevo_options {
            inner: Mutex::new(kevo::Options::default()),
        });
        handle::register(Kind::Options, o) as *mut kevo_options
    })
}

/// Frees options. NULL, or options already freed, are ignored. Databases opened with them are
/// not affected.
///
/// Thread-safety: not while another thread uses `options`.
#[no_mangle]
pub extern "C" fn kevo_options_free(options: *mut kevo_options) {
    guard_value((), || handle::release(Kind::Options, options as usize))
}

/// Create the database if the directory holds none. Default true.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options`.
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_create_if_missing(
    options: *mut kevo_options,
    value: bool,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set(options, err, Ok(value), |o, v| o.create_if_missing = v)
}

/// Open read-only: `kevo_open` then takes no directory lock and creates, changes or deletes
/// no file, so any number of read-only handles may sit beside one writer, in this process
/// or others. The handle sees the database as of its open (the writer's unflushed WAL tail
/// included) until `kevo_refresh`; every write (`kevo_put`, `kevo_delete`, `kevo_write`,
/// `kevo_flush`, `kevo_compact_range`, `kevo_sync_wal`, a transaction commit) returns
/// `KEVO_READ_ONLY`. The directory must hold a database (`create_if_missing` is ignored).
/// The other options shape only this handle's memory (caches, memtable size for the WAL
/// tail): tables carry their own format. Files the writer deletes while the handle reads
/// them stay readable: the handle holds every table of its version open. Default false.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options`.
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_read_only(
    options: *mut kevo_options,
    value: bool,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set(options, err, Ok(value), |o, v| o.read_only = v)
}

/// Make `kevo_open` fail with `KEVO_INVALID_ARGUMENT` if a database already exists.
/// Default false.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options`.
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_error_if_exists(
    options: *mut kevo_options,
    value: bool,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set(options, err, Ok(value), |o, v| o.error_if_exists = v)
}

/// Write durability: `mode` is a `kevo_sync_mode`. For `KEVO_SYNC_BATCHED`, fsync once
/// `batched_bytes` ({{range:sync_batched_bytes}}) of WAL were written or `batched_interval_ms`
/// milliseconds passed since the last fsync; both are ignored for the other modes. Default
/// `KEVO_SYNC_NONE`. Persisted in the database.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options`, an unknown `mode`, or
/// `batched_bytes` out of range with `KEVO_SYNC_BATCHED`.
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_sync_mode(
    options: *mut kevo_options,
    mode: u32,
    batched_bytes: u64,
    batched_interval_ms: u64,
    err: *mut *mut kevo_error,
) -> kevo_status {
    let sync = match mode {
        0 => Ok(kevo::SyncMode::None),
        1 => Ok(kevo::SyncMode::Always),
        2 => Ok(kevo::SyncMode::Batched {
            bytes: batched_bytes,
            interval: Duration::from_millis(batched_interval_ms),
        }),
        m => Err(Failure::invalid(format!("unknown kevo_sync_mode {m}"))),
    }
    .and_then(|s| s.validate().map(|()| s).map_err(Failure::from));
    set(options, err, sync, |o, s| o.sync_mode = s)
}

/// Bytes of entries the memtable holds before it is flushed to an SSTable
/// ({{range:memtable_size}}; each WAL segment reserves 1.25 × this on disk). Default
/// {{default:memtable_size}}. Persisted.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options` or a value out of range
/// (the message gives the range).
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_memtable_size(
    options: *mut kevo_options,
    bytes: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set_int(options, err, &fields::MEMTABLE_SIZE, bytes as u64)
}

/// Immutable memtables allowed to wait for their flush before writers stall
/// ({{range:max_immutable_memtables}}). Default {{default:max_immutable_memtables}}. Persisted.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options` or a value out of range
/// (the message gives the range).
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_max_immutable_memtables(
    options: *mut kevo_options,
    count: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set_int(options, err, &fields::MAX_IMMUTABLE_MEMTABLES, count as u64)
}

/// Target uncompressed size of an SSTable data block ({{range:block_size}}).
/// Default {{default:block_size}}. Persisted.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options` or a value out of range
/// (the message gives the range).
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_block_size(
    options: *mut kevo_options,
    bytes: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set_int(options, err, &fields::BLOCK_SIZE, bytes as u64)
}

/// Keys between restart points in a data block ({{range:block_restart_interval}}).
/// Default {{default:block_restart_interval}}. Persisted.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options` or a value out of range
/// (the message gives the range).
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_block_restart_interval(
    options: *mut kevo_options,
    entries: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set_int(
        options,
        err,
        &fields::BLOCK_RESTART_INTERVAL,
        entries as u64,
    )
}

/// Bloom filter bits per key (0 disables filters; {{range:bloom_bits_per_key}}). Default
/// {{default:bloom_bits_per_key}} (about 1% false positives). Persisted.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options` or a value out of range
/// (the message gives the range).
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_bloom_bits_per_key(
    options: *mut kevo_options,
    bits: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set_int(options, err, &fields::BLOOM_BITS_PER_KEY, bits as u64)
}

/// Number of L0 files that triggers a compaction into L1 ({{range:l0_compaction_trigger}}).
/// Default {{default:l0_compaction_trigger}}. Persisted. `kevo_open` also checks it is at most
/// the slowdown and stop triggers.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options` or a value out of range
/// (the message gives the range).
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_l0_compaction_trigger(
    options: *mut kevo_options,
    files: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set_int(options, err, &fields::L0_COMPACTION_TRIGGER, files as u64)
}

/// Number of L0 files at which each write is delayed by 1 ms. Default
/// {{default:l0_slowdown_writes_trigger}}. Persisted. `kevo_open` checks
/// `l0_compaction_trigger <= this <= l0_stop_writes_trigger`.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options`.
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_l0_slowdown_writes_trigger(
    options: *mut kevo_options,
    files: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set_int(
        options,
        err,
        &fields::L0_SLOWDOWN_WRITES_TRIGGER,
        files as u64,
    )
}

/// Number of L0 files at which writers stall until compaction catches up. Default
/// {{default:l0_stop_writes_trigger}}. Persisted. `kevo_open` checks it is at least
/// `l0_compaction_trigger`.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options`.
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_l0_stop_writes_trigger(
    options: *mut kevo_options,
    files: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set_int(options, err, &fields::L0_STOP_WRITES_TRIGGER, files as u64)
}

/// Size at which compaction output is split into a new SSTable ({{range:target_file_size}}).
/// Default {{default:target_file_size}}. Persisted.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options` or a value out of range
/// (the message gives the range).
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_target_file_size(
    options: *mut kevo_options,
    bytes: u64,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set_int(options, err, &fields::TARGET_FILE_SIZE, bytes)
}

/// Leveled or size-tiered compaction: `style` is a `kevo_compaction_style`. Default
/// `KEVO_COMPACTION_LEVELED`. Persisted; may change at any open.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options` or an unknown style.
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_compaction_style(
    options: *mut kevo_options,
    style: u32,
    err: *mut *mut kevo_error,
) -> kevo_status {
    let s = match style {
        0 => Ok(kevo::CompactionStyle::Leveled),
        1 => Ok(kevo::CompactionStyle::Tiered),
        s => Err(Failure::invalid(format!(
            "unknown kevo_compaction_style {s}"
        ))),
    };
    set(options, err, s, |o, s| o.compaction_style = s)
}

/// Leveled: the size limit of L1 ({{range:max_bytes_for_level_base}}). Default
/// {{default:max_bytes_for_level_base}}. Persisted.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options` or a value out of range
/// (the message gives the range).
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_max_bytes_for_level_base(
    options: *mut kevo_options,
    bytes: u64,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set_int(options, err, &fields::MAX_BYTES_FOR_LEVEL_BASE, bytes)
}

/// Leveled: growth factor of each level's size limit ({{range:level_size_multiplier}}).
/// Default {{default:level_size_multiplier}}. Persisted.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options` or a value out of range
/// (the message gives the range).
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_level_size_multiplier(
    options: *mut kevo_options,
    multiplier: u64,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set_int(options, err, &fields::LEVEL_SIZE_MULTIPLIER, multiplier)
}

/// Tiered: a run joins the newer runs in one merge if its size is at most
/// `(100 + percent)%` of theirs together. Default {{default:tiered_size_ratio}}. Persisted.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options`.
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_tiered_size_ratio(
    options: *mut kevo_options,
    percent: u64,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set_int(options, err, &fields::TIERED_SIZE_RATIO, percent)
}

/// Tiered: when all runs but the oldest exceed this percentage of the oldest, everything is
/// merged into one run. Default {{default:tiered_max_size_amplification_percent}}. Persisted.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options`.
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_tiered_max_size_amplification_percent(
    options: *mut kevo_options,
    percent: u64,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set_int(
        options,
        err,
        &fields::TIERED_MAX_SIZE_AMPLIFICATION_PERCENT,
        percent,
    )
}

/// Tiered: fewest runs merged at once ({{range:tiered_min_merge_width}}). Default
/// {{default:tiered_min_merge_width}}. Persisted.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options` or a value out of range
/// (the message gives the range).
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_tiered_min_merge_width(
    options: *mut kevo_options,
    runs: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set_int(options, err, &fields::TIERED_MIN_MERGE_WIDTH, runs as u64)
}

/// Compression of data blocks: `compression` is a `kevo_compression`; `zstd_level`
/// ({{range:zstd_level}}) is used only with `KEVO_COMPRESSION_ZSTD`. Default
/// `KEVO_COMPRESSION_LZ4`. Persisted; may change at any open.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options`, an unknown compression, or
/// a zstd level out of range.
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_compression(
    options: *mut kevo_options,
    compression: u32,
    zstd_level: i32,
    err: *mut *mut kevo_error,
) -> kevo_status {
    let c = match compression {
        0 => Ok(kevo::Compression::None),
        1 => Ok(kevo::Compression::Lz4),
        2 => Ok(kevo::Compression::Zstd { level: zstd_level }),
        c => Err(Failure::invalid(format!("unknown kevo_compression {c}"))),
    }
    .and_then(|c| c.validate().map(|()| c).map_err(Failure::from));
    set(options, err, c, |o, c| o.compression = c)
}

/// Background threads that run compactions ({{range:max_background_compactions}}). Default
/// {{default:max_background_compactions}}. Not persisted.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options` or a value out of range
/// (the message gives the range).
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_max_background_compactions(
    options: *mut kevo_options,
    threads: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set_int(
        options,
        err,
        &fields::MAX_BACKGROUND_COMPACTIONS,
        threads as u64,
    )
}

/// Capacity of the block cache in bytes (0 disables it). Default
/// {{default:block_cache_size}}. Not persisted.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options`.
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_block_cache_size(
    options: *mut kevo_options,
    bytes: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set_int(options, err, &fields::BLOCK_CACHE_SIZE, bytes as u64)
}

/// Charge index and filter blocks to the block cache (true) or keep them with each open
/// table (false, the default). Not persisted.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options`.
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_cache_index_and_filter_blocks(
    options: *mut kevo_options,
    value: bool,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set(options, err, Ok(value), |o, v| {
        o.cache_index_and_filter_blocks = v
    })
}

/// Most SSTables kept open at once ({{range:max_open_files}}; each holds a file descriptor).
/// Default {{default:max_open_files}}. Not persisted.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options` or a value out of range
/// (the message gives the range).
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_max_open_files(
    options: *mut kevo_options,
    files: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set_int(options, err, &fields::MAX_OPEN_FILES, files as u64)
}

/// What recovery does with damage in the WAL at open: `mode` is a `kevo_wal_recovery_mode`.
/// Default `KEVO_WAL_TOLERATE_CORRUPTED_TAIL`. Not persisted.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options` or an unknown `mode`.
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_wal_recovery_mode(
    options: *mut kevo_options,
    mode: u32,
    err: *mut *mut kevo_error,
) -> kevo_status {
    use kevo::wal::WalRecoveryMode as M;
    let m = match mode {
        0 => Ok(M::TolerateCorruptedTail),
        1 => Ok(M::AbsoluteConsistency),
        2 => Ok(M::PointInTime),
        3 => Ok(M::TolerateIncompleteTail),
        m => Err(Failure::invalid(format!(
            "unknown kevo_wal_recovery_mode {m}"
        ))),
    };
    set(options, err, m, |o, m| o.wal_recovery_mode = m)
}

/// Check more at open, so damage is found before it is served: every live SSTable's size
/// must match the manifest, and each is opened (verifying the checksums of its footer,
/// index, filter and properties blocks). Default true; false opens faster when there are
/// many tables. Data-block checksums are verified on every read either way. Not persisted.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options`.
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_options_set_paranoid_checks(
    options: *mut kevo_options,
    value: bool,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set(options, err, Ok(value), |o, v| o.paranoid_checks = v)
}

// ----- read options -----

fn read_options(o: *mut kevo_read_options) -> Result<Arc<kevo_read_options>, Failure> {
    handle::get(Kind::ReadOptions, o as usize)
}

/// New read options: no snapshot (read the latest state), no bounds, no prefix. Owned by the
/// caller: free with `kevo_read_options_free`. Returns NULL only on an internal error.
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn kevo_read_options_new() -> *mut kevo_read_options {
    guard_value(std::ptr::null_mut(), || {
        let o = Arc::new(kevo_read_options {
            inner: RwLock::new(kevo::ReadOptions::default()),
        });
        handle::register(Kind::ReadOptions, o) as *mut kevo_read_options
    })
}

/// Frees read options (releasing their reference to a snapshot, if any). NULL, or options
/// already freed, are ignored. Iterators created with them are not affected (they copied
/// them).
///
/// Thread-safety: not while another thread uses `options`.
#[no_mangle]
pub extern "C" fn kevo_read_options_free(options: *mut kevo_read_options) {
    guard_value((), || handle::release(Kind::ReadOptions, options as usize))
}

/// Reads through these options see `snapshot` (NULL: the latest state). The options keep
/// their own reference to the snapshot, so `kevo_snapshot_free` may come first.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options`, or a stale `snapshot`.
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_read_options_set_snapshot(
    options: *mut kevo_read_options,
    snapshot: *const kevo_snapshot,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let o = read_options(options)?;
        let snap = handle::get_opt::<kevo_snapshot>(Kind::Snapshot, snapshot as usize)?;
        o.inner.write().snapshot = snap.map(|s| s.snapshot.clone());
        OK
    })
}

fn set_bound(
    options: *mut kevo_read_options,
    key: *const u8,
    key_len: usize,
    what: &str,
    err: *mut *mut kevo_error,
    f: impl FnOnce(&mut kevo::ReadOptions, Option<Vec<u8>>),
) -> kevo_status {
    guard(err, || {
        let o = read_options(options)?;
        let bound = if key.is_null() {
            None
        } else {
            // SAFETY: the caller guarantees `key[0..key_len]` is readable.
            Some(unsafe { convert::bound(key, key_len, what) }?.to_vec())
        };
        f(&mut o.inner.write(), bound);
        OK
    })
}

/// Iterators created with these options start at `key` (inclusive lower bound; copied).
/// `key == NULL` removes the bound. Point reads ignore it.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options` or a bound over
/// {{max_key_size}} bytes.
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_read_options_set_lower_bound(
    options: *mut kevo_read_options,
    key: *const u8,
    key_len: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set_bound(options, key, key_len, "lower bound", err, |o, b| {
        o.lower_bound = b
    })
}

/// Iterators created with these options stop before `key` (exclusive upper bound; copied).
/// `key == NULL` removes the bound. Point reads ignore it.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options` or a bound over
/// {{max_key_size}} bytes.
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_read_options_set_upper_bound(
    options: *mut kevo_read_options,
    key: *const u8,
    key_len: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set_bound(options, key, key_len, "upper bound", err, |o, b| {
        o.upper_bound = b
    })
}

/// Iterators created with these options show only keys starting with `prefix` (copied;
/// combined with the bounds). `prefix == NULL` removes it. Point reads ignore it.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options` or a prefix over
/// {{max_key_size}} bytes.
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_read_options_set_prefix(
    options: *mut kevo_read_options,
    prefix: *const u8,
    prefix_len: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    set_bound(options, prefix, prefix_len, "prefix", err, |o, b| {
        o.prefix = b
    })
}

// ----- write options -----

/// New write options: `sync` false. Owned by the caller: free with
/// `kevo_write_options_free`. Returns NULL only on an internal error.
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn kevo_write_options_new() -> *mut kevo_write_options {
    guard_value(std::ptr::null_mut(), || {
        let o = Arc::new(kevo_write_options {
            sync: AtomicBool::new(false),
            disable_wal: AtomicBool::new(false),
        });
        handle::register(Kind::WriteOptions, o) as *mut kevo_write_options
    })
}

/// Frees write options. NULL, or options already freed, are ignored.
///
/// Thread-safety: not while another thread uses `options`.
#[no_mangle]
pub extern "C" fn kevo_write_options_free(options: *mut kevo_write_options) {
    guard_value((), || handle::release(Kind::WriteOptions, options as usize))
}

/// With `sync` true, a write through these options is made durable (the WAL is fsynced)
/// before the call returns, whatever the database's sync mode. Default false: the database's
/// `kevo_sync_mode` decides.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options`.
///
/// Thread-safety: not while another call uses the same options (serialized by a lock, but which
/// value that call sees is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_write_options_set_sync(
    options: *mut kevo_write_options,
    sync: bool,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let o: Arc<kevo_write_options> = handle::get(Kind::WriteOptions, options as usize)?;
        o.sync.store(sync, Ordering::Relaxed);
        OK
    })
}

/// With `disable_wal` true, a write through these options skips the WAL: it goes to the
/// memtable only and is lost by a crash before that memtable is flushed to an SSTable (a
/// clean close does not flush it either: call `kevo_flush` first). For bulk loads that can be
/// redone. Default false. A write with both `sync` and `disable_wal` set fails with
/// `KEVO_INVALID_ARGUMENT` (a synced write needs the WAL).
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options`.
///
/// Thread-safety: as `kevo_write_options_set_sync`.
#[no_mangle]
pub extern "C" fn kevo_write_options_set_disable_wal(
    options: *mut kevo_write_options,
    disable_wal: bool,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let o: Arc<kevo_write_options> = handle::get(Kind::WriteOptions, options as usize)?;
        o.disable_wal.store(disable_wal, Ordering::Relaxed);
        OK
    })
}
