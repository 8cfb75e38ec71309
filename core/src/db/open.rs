//! Opening a database: lock, manifest, WAL replay.
//!
//! Recovery (LevelDB's `DBImpl::Recover`):
//!
//! 1. Take the `LOCK` file; a second open fails with [`Error::Locked`].
//! 2. Read `CURRENT` and replay the manifest into the current version (or create both for a
//!    new database).
//! 3. Replay, in order, every WAL segment numbered at or above the manifest's log number into
//!    a memtable. Each WAL record is one write batch, so a batch is recovered whole or not at
//!    all. A segment ends with a *seal* (an empty record) when the writer moved on to the
//!    next one. The last segment may end in a torn record (the crash interrupted its write):
//!    it is dropped, as [`WalRecoveryMode::TolerateCorruptedTail`] describes. An earlier
//!    segment without its seal means power was lost before the seal was durable; since every
//!    sync first syncs earlier segments, nothing after it was synced, and replay stops there
//!    (the history recovered is a prefix). Damage followed by valid records is
//!    [`Error::Corruption`]: skipping it would lose acknowledged writes.
//! 4. Write the recovered memtable to an L0 table, start a fresh WAL segment, and record both
//!    in the manifest with one version edit; the replayed segments are then obsolete.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use super::background::Job;
use super::wal_segments::WalSegments;
use super::write::WriteQueue;
use super::{BgState, Db, DbInner};
use crate::batch::WriteBatch;
use crate::error::{Error, Result};
use crate::filename::{current_path, lock_path, parse_file_name, wal_path, FileKind};
use crate::flush::write_level0_table;
use crate::key::SequenceNumber;
use crate::manifest::{FileMetaData, VersionEdit, VersionSet, NUM_LEVELS};
use crate::memtable::MemTable;
use crate::options::Options;
use crate::read::{ReadState, SuperVersion};
use crate::stats::Counters;
use crate::table_cache::TableCache;
use crate::table_writer::PendingOutputs;
use crate::wal::{LogReader, LogWriter, WalRecoveryMode};

pub(super) fn open(dir: &Path, options: Options, use_stored_options: bool) -> Result<Db> {
    options.validate()?;
    if options.read_only {
        return open_read_only(dir, options, use_stored_options);
    }
    let fs = options.fs.clone();
    if !fs.exists(dir) {
        if !options.create_if_missing {
            return Err(Error::NotFound(format!("no database at {}", dir.display())));
        }
        fs.create_dir_all(dir)?;
        // The new directory's entry in its parent must be durable too, or a power loss
        // could take the whole database, acknowledged writes and all, with it.
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs.sync_dir(parent)?;
    }
    let lock = fs.lock(&lock_path(dir))?;

    let exists = fs.exists(&current_path(dir));
    let mut options = options;
    let mut versions: VersionSet = if exists {
        if options.error_if_exists {
            return Err(Error::InvalidArgument(format!(
                "a database already exists at {}",
                dir.display()
            )));
        }
        VersionSet::recover(fs.clone(), dir)?
    } else {
        if !options.create_if_missing || use_stored_options {
            return Err(Error::NotFound(format!("no database at {}", dir.display())));
        }
        VersionSet::create(fs.clone(), dir, options.to_persisted())?
    };
    if use_stored_options {
        options = options.apply_persisted(versions.options_text())?;
        options.validate()?;
    }

    // Record changed options before anything else, so the edit order reads naturally.
    if !use_stored_options && versions.options_text() != options.to_persisted() {
        versions.log_and_apply(VersionEdit {
            options: Some(options.to_persisted()),
            ..Default::default()
        })?;
    }

    let inner = new_inner(dir, Some(lock), versions, options.clone());
    let inner = Arc::new(inner);
    recover_wal(&inner)?;
    inner.delete_obsolete_files(true);

    let jobs = std::iter::once((Job::Flush, "kevo-flush".to_owned())).chain(
        (0..options.max_background_compactions)
            .map(|i| (Job::Compaction, format!("kevo-compact-{i}"))),
    );
    for (job, name) in jobs {
        let bg = inner.clone();
        let handle = std::thread::Builder::new()
            .name(name)
            .spawn(move || bg.background_loop(job))
            .map_err(|e| Error::io("spawn background thread", e))?;
        inner.bg_threads.lock().push(handle);
    }
    Ok(Db { inner })
}

/// A read-only open (see [`super::read_only`]): no lock, no writes, no background threads.
fn open_read_only(dir: &Path, options: Options, use_stored_options: bool) -> Result<Db> {
    let fs = options.fs.clone();
    if !fs.exists(&current_path(dir)) {
        return Err(Error::NotFound(format!("no database at {}", dir.display())));
    }
    let versions = VersionSet::recover_read_only(fs.clone(), dir)?;
    let mut options = options;
    if use_stored_options {
        options = options.apply_persisted(versions.options_text())?;
        options.read_only = true;
        options.validate()?;
    }
    let inner = new_inner(dir, None, versions, options);
    super::read_only::catch_up(&inner)?;
    Ok(Db {
        inner: Arc::new(inner),
    })
}

/// The handle's state before recovery: `versions` as read from the manifest, a placeholder
/// memtable until recovery (or a read-only catch-up) installs the real one, and no WAL
/// writer yet. `lock` is `None` only for a read-only handle.
fn new_inner(
    dir: &Path,
    lock: Option<Box<dyn crate::fs::FileLock>>,
    versions: VersionSet,
    options: Options,
) -> DbInner {
    let fs = options.fs.clone();
    let counters = Arc::new(Counters::default());
    let tables = Arc::new(TableCache::new(
        fs.clone(),
        dir.to_path_buf(),
        &options,
        counters.clone(),
    ));
    let read = ReadState::new(
        SuperVersion {
            mem: Arc::new(MemTable::new(0, 4096)),
            imm: Vec::new(),
            version: versions.current(),
        },
        versions.last_sequence(),
        tables,
    );
    DbInner {
        dir: dir.to_path_buf(),
        fs,
        lock: Mutex::new(lock),
        write_queue: WriteQueue::default(),
        wal: Mutex::new(WalSegments::placeholder()),
        read: Arc::new(read),
        versions: Mutex::new(versions),
        counters,
        pending_outputs: PendingOutputs::default(),
        bg: Mutex::new(BgState::default()),
        bg_cv: Condvar::new(),
        bg_threads: Mutex::new(Vec::new()),
        options,
    }
}

/// The WAL segments in `names` numbered at or above `log_number` (the ones the manifest's
/// tables do not cover yet), oldest first.
pub(super) fn live_wal_numbers(names: &[String], log_number: u64) -> Vec<u64> {
    let mut wals: Vec<u64> = names
        .iter()
        .filter_map(|n| match parse_file_name(n) {
            Some(FileKind::Wal(n)) if n >= log_number => Some(n),
            _ => None,
        })
        .collect();
    wals.sort_unstable();
    wals
}

/// Applies one WAL record (an encoded write batch read at `offset` of log `name`) to `mem`;
/// returns the batch's last sequence number.
///
/// Errors: [`Error::Corruption`] if the record is not a well-formed batch.
pub(super) fn replay_record(
    record: &[u8],
    name: &str,
    offset: u64,
    mem: &MemTable,
) -> Result<SequenceNumber> {
    let batch = WriteBatch::from_bytes(record, name, offset)?;
    batch
        .insert_into(mem)
        .map_err(|d| Error::corruption(name, offset, d))
}

/// [`Options::paranoid_checks`] at open: the table's size must be the manifest's, and
/// opening it verifies its footer, index, filter and properties checksums.
fn check_table_at_open(db: &DbInner, f: &FileMetaData) -> Result<()> {
    let path = crate::filename::table_path(&db.dir, f.number);
    let len = db.fs.open(&path)?.len();
    if len != f.file_size {
        return Err(Error::corruption(
            path.display().to_string(),
            0,
            format!(
                "the table is {len} bytes, the manifest says {} (truncated or replaced?)",
                f.file_size
            ),
        ));
    }
    db.read.tables().get(f.number).map(|_| ())
}

/// Replays the live WAL segments, writes what they held to L0, and starts a new segment.
fn recover_wal(db: &DbInner) -> Result<()> {
    let log_number = db.versions.lock().log_number();
    let names = db.fs.list(&db.dir)?;
    // Every table the manifest names must exist: a missing one means the manifest and the
    // directory disagree (a damaged manifest, or files removed by hand), and reads would
    // fail later with a less useful error, or miss data.
    let tables: HashSet<u64> = names
        .iter()
        .filter_map(|n| match parse_file_name(n) {
            Some(FileKind::Table(n)) => Some(n),
            _ => None,
        })
        .collect();
    let current = db.versions.lock().current();
    for level in 0..NUM_LEVELS {
        for f in current.files(level) {
            if !tables.contains(&f.number) {
                return Err(Error::corruption(
                    "MANIFEST",
                    0,
                    format!(
                        "the manifest names table {} at L{level}, which is missing from {}",
                        f.number,
                        db.dir.display()
                    ),
                ));
            }
            if db.options.paranoid_checks {
                check_table_at_open(db, f)?;
            }
        }
    }
    let wals = live_wal_numbers(&names, log_number);

    let mut max_seq: SequenceNumber = db.versions.lock().last_sequence();
    let mut edit = VersionEdit::default();
    let mut mem = Arc::new(MemTable::new(0, db.options.memtable_size));
    if let Some(&newest) = wals.last() {
        db.versions.lock().mark_file_number_used(newest);
    }
    for (i, &number) in wals.iter().enumerate() {
        let path = wal_path(&db.dir, number);
        let name = path.display().to_string();
        let file = db.fs.open(&path)?;
        let mode = db.options.wal_recovery_mode;
        let mut reader = LogReader::new(file, name.clone(), mode);
        let mut sealed = false;
        while let Some((offset, record)) = reader.read_record()? {
            if record.is_empty() {
                sealed = true;
                continue;
            }
            if sealed {
                return Err(Error::corruption(
                    &name,
                    offset,
                    "WAL record after the segment's seal",
                ));
            }
            max_seq = max_seq.max(replay_record(&record, &name, offset, &mem)?);
            if mem.approximate_bytes() >= db.options.memtable_size {
                if let Some(meta) = write_level0_table(&db.table_writer(), &mem)? {
                    edit.new_files.push((0, meta));
                }
                mem = Arc::new(MemTable::new(0, db.options.memtable_size));
            }
        }
        if mode == WalRecoveryMode::PointInTime && reader.dropped_tail().is_some() {
            // The history stops at the first damage: later segments hold writes after it.
            break;
        }
        if !sealed && i + 1 != wals.len() {
            // The segment was never sealed, so power was lost before the seal reached the
            // disk; no later write was synced (a sync first syncs every earlier segment), so
            // the history ends here and later segments only hold unsynced writes.
            break;
        }
    }
    if let Some(meta) = write_level0_table(&db.table_writer(), &mem)? {
        edit.new_files.push((0, meta));
    }

    let number = db.versions.lock().new_file_number();
    let file = db.create_wal(number)?;
    db.fs.sync_dir(&db.dir)?;
    edit.log_number = Some(number);
    let version = {
        let mut vs = db.versions.lock();
        vs.set_last_sequence(max_seq);
        let v = vs.log_and_apply(edit.clone());
        for (_, f) in &edit.new_files {
            db.pending_outputs.remove(f.number);
        }
        v?
    };
    db.read.publish_sequence(max_seq);
    let mem = Arc::new(MemTable::new(number, db.options.memtable_size));
    *db.wal.lock() = WalSegments::new(LogWriter::new(file), number);
    db.read.install(|_| SuperVersion {
        mem,
        imm: Vec::new(),
        version,
    });
    Ok(())
}
