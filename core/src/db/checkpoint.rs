//! Checkpoints: a consistent, openable copy of a running database in another directory
//! (RocksDB's "Checkpoints" wiki describes the same scheme).
//!
//! ```text
//!  under the version set's lock (no flush or compaction can install or delete meanwhile):
//!    each SSTable of the current version ─► hard link (a copy where links fail)
//!    the WAL segments the version still needs ─► opened, with their lengths now
//!    a snapshot edit of the version and counters, and a fresh manifest number
//!  then, with writes going on:
//!    each WAL segment ─► copy of exactly its first `length` bytes
//!    the snapshot edit ─► MANIFEST-N, then CURRENT (last: until it exists, no database)
//! ```
//!
//! SSTables never change once written, so a link is a copy that costs nothing; the WAL is
//! still being appended to, so it is copied up to the length read under the lock, which
//! includes every write acknowledged before the call (a write is in the WAL before it is
//! acknowledged). Writes made with `disable_wal` that are still in a memtable are not in
//! the checkpoint. Opening the checkpoint replays its WAL copy like any recovery.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{read_only, DbInner};
use crate::error::{Error, Result};
use crate::filename::{parse_file_name, table_path, wal_path, FileKind};
use crate::fs::{copy_prefix, FileSystem, RandomAccessFile};
use crate::manifest::write_manifest;

/// What [`Db::checkpoint`](crate::Db::checkpoint) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointInfo {
    /// SSTables hard-linked into the checkpoint (no bytes copied).
    pub tables_linked: usize,
    /// SSTables copied because the file system refused a link (another device).
    pub tables_copied: usize,
    /// WAL segments copied.
    pub wal_segments: usize,
    /// Bytes written into the checkpoint: copied SSTables, WAL copies, manifest, `CURRENT`.
    pub bytes_copied: u64,
    /// Wall-clock time of the whole call.
    pub duration: Duration,
}

/// An SSTable of the checkpointed version that was not linked into the checkpoint because
/// the caller already has a copy of it ([`checkpoint_except`]): opened under the version
/// set's lock, so a compaction that deletes it afterwards cannot take its bytes (an open
/// descriptor keeps an unlinked file's bytes).
pub(crate) struct HeldTable {
    /// The table's file number (its name in the checkpoint's manifest).
    pub number: u64,
    /// Its size in bytes, from the manifest.
    pub size: u64,
    /// The open file.
    pub file: Arc<dyn RandomAccessFile>,
}

/// Read-only handles retry this many times when the writer deletes a table between their
/// refresh and the link.
const READ_ONLY_ATTEMPTS: usize = 20;

/// Makes the checkpoint in `dir` (see the module docs). On failure, the files it wrote are
/// removed again.
pub(super) fn checkpoint(db: &DbInner, dir: &Path) -> Result<CheckpointInfo> {
    checkpoint_except(db, dir, &|_, _| false).map(|(info, _)| info)
}

/// As [`checkpoint`], but the SSTables for which `held(number, size_in_bytes)` is true are
/// not put in `dir`: they are returned open instead, for a caller (backups) that may
/// already hold them. The manifest in `dir` still names them, so `dir` is a database only
/// once the caller puts them back.
pub(crate) fn checkpoint_except(
    db: &DbInner,
    dir: &Path,
    held: &dyn Fn(u64, u64) -> bool,
) -> Result<(CheckpointInfo, Vec<HeldTable>)> {
    let fs = db.fs.as_ref();
    if fs.exists(dir) && !fs.list(dir)?.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "checkpoint directory {} exists and is not empty",
            dir.display()
        )));
    }
    fs.create_dir_all(dir)?;
    let start = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        if db.options.read_only {
            // A reader's view may be behind the writer's deletions: start from the latest.
            read_only::catch_up(db)?;
        }
        match try_checkpoint(db, dir, held).and_then(|(info, held, log_number)| {
            if db.options.read_only {
                // The WAL segments were listed from the directory: if the writer flushed
                // since the refresh, a segment the copied version needs may have been
                // deleted before the listing. Its log number tells (segments at or above it
                // are never deleted).
                read_only::catch_up(db)?;
                if db.versions.lock().log_number() != log_number {
                    return Err(Error::NotFound(format!(
                        "WAL segments of {} changed during the checkpoint",
                        db.dir.display()
                    )));
                }
            }
            Ok((info, held))
        }) {
            Ok((mut info, held)) => {
                info.duration = start.elapsed();
                return Ok((info, held));
            }
            Err(e) => {
                remove_written(fs, dir);
                let retry = db.options.read_only
                    && matches!(e, Error::NotFound(_))
                    && attempts < READ_ONLY_ATTEMPTS;
                if !retry {
                    return Err(e);
                }
            }
        }
    }
}

/// One attempt; returns what it did, the tables it held back and the log number of the
/// version it copied.
fn try_checkpoint(
    db: &DbInner,
    dir: &Path,
    held: &dyn Fn(u64, u64) -> bool,
) -> Result<(CheckpointInfo, Vec<HeldTable>, u64)> {
    let fs = db.fs.as_ref();
    let mut info = CheckpointInfo {
        tables_linked: 0,
        tables_copied: 0,
        wal_segments: 0,
        bytes_copied: 0,
        duration: Duration::ZERO,
    };
    let mut held_tables = Vec::new();
    let (manifest_number, snapshot, wals, log_number) = {
        let mut versions = db.versions.lock();
        for f in versions.current().live_files() {
            if held(f.number, f.file_size) {
                held_tables.push(HeldTable {
                    number: f.number,
                    size: f.file_size,
                    file: fs.open(&table_path(&db.dir, f.number))?,
                });
                continue;
            }
            let to = table_path(dir, f.number);
            if fs.link_or_copy(&table_path(&db.dir, f.number), &to)? {
                info.tables_linked += 1;
            } else {
                info.tables_copied += 1;
                info.bytes_copied += f.file_size;
            }
        }
        let log_number = versions.log_number();
        // The segment being written, and how much of it holds acknowledged writes. A
        // read-only handle writes none: it copies the writer's segments as they are now.
        let current = (!db.options.read_only).then(|| db.wal.lock().position());
        // (number, file, length of acknowledged writes if it is the segment being written).
        let mut wals: Vec<(u64, Arc<dyn RandomAccessFile>, Option<u64>)> = Vec::new();
        for name in fs.list(&db.dir)? {
            let Some(FileKind::Wal(n)) = parse_file_name(&name) else {
                continue;
            };
            if n < log_number {
                continue;
            }
            let file = fs.open(&wal_path(&db.dir, n))?;
            let len = match current {
                Some((number, len)) if number == n => Some(len),
                _ => None,
            };
            wals.push((n, file, len));
        }
        let (number, snapshot) = versions.snapshot_for_checkpoint();
        (number, snapshot, wals, log_number)
    };
    for (n, file, len) in &wals {
        info.bytes_copied += copy_wal(fs, file.as_ref(), *len, &wal_path(dir, *n))?;
        info.wal_segments += 1;
    }
    write_manifest(fs, dir, manifest_number, &snapshot)?;
    fs.sync_dir(dir)?;
    for name in fs.list(dir)? {
        if matches!(
            parse_file_name(&name),
            Some(FileKind::Manifest(_) | FileKind::Current)
        ) {
            info.bytes_copied += fs.open(&dir.join(&name))?.len();
        }
    }
    Ok((info, held_tables, log_number))
}

/// Copies a WAL segment: the first `len` bytes of the one being written, or all of a sealed
/// one. A sealed segment on the real file system reserved space it never used, and its
/// zero tail is cut when its writer is dropped, which may happen while it is being copied:
/// then the copy runs out of file and starts again at the new length. Returns the bytes
/// copied.
fn copy_wal(
    fs: &dyn FileSystem,
    file: &dyn RandomAccessFile,
    len: Option<u64>,
    to: &Path,
) -> Result<u64> {
    let mut attempts = 0;
    loop {
        let n = match len {
            Some(n) => n,
            None => file.current_len()?,
        };
        match copy_prefix(fs, file, n, to) {
            Ok(()) => return Ok(n),
            Err(Error::Io { source, .. })
                if source.kind() == std::io::ErrorKind::UnexpectedEof && attempts < 10 =>
            {
                attempts += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Best effort: the directory was empty when the checkpoint began, so every file in it is
/// the checkpoint's own.
fn remove_written(fs: &dyn FileSystem, dir: &Path) {
    if let Ok(names) = fs.list(dir) {
        for name in names {
            let _ = fs.remove(&dir.join(name));
        }
    }
}
