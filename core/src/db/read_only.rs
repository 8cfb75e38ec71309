//! Read-only opens and [`Db::refresh`](super::Db::refresh): a reader beside a live writer.
//!
//! A read-only handle ([`Options::read_only`](crate::Options::read_only),
//! [`Db::open_read_only`](super::Db::open_read_only)) takes no `LOCK` (the writer holds an
//! exclusive lock on it, and readers must not need it), starts no background threads and
//! never creates, changes or deletes a file: it reads `CURRENT`, replays the manifest it names
//! without starting a new one ([`VersionSet::recover_read_only`]), and replays the WAL
//! segments at or above the manifest's log number into an in-memory memtable that is never
//! flushed, so it sees the writer's unflushed writes too. Refresh (RocksDB's secondary
//! instance, `TryCatchUpWithPrimary`) brings it up to date: the handle's version set
//! follows the manifest, reading only the edits appended since the last refresh
//! ([`VersionSet::catch_up_read_only`]), or replaying a new manifest whole after a
//! rollover (found through `CURRENT`), then the WAL tail is replayed into a fresh memtable.
//!
//! # Files the writer deletes
//!
//! The writer deletes tables its compactions replaced and WAL segments it flushed, without
//! knowing about readers. A reader therefore *pins* files by descriptor: when it installs a
//! version it opens every table of it ([`TableCache::pin`](crate::table_cache::TableCache)),
//! outside the `max_open_files` limit, and keeps them open until the next refresh; on Linux
//! and every POSIX system an unlinked file stays readable through an open descriptor, so a
//! compaction never takes a table from under a reader (iterators and snapshots of older
//! versions hold their tables' `Arc`s too). The window between reading the manifest and
//! opening its files is handled by retrying: a table missing at pin time means a newer
//! manifest edit removed it, so the catch-up starts again, reading on from the edits
//! appended since (up to [`MAX_ATTEMPTS`] times, then the `NotFound` is returned and the handle
//! keeps its previous state). WAL segments are opened before the manifest is read (see
//! `try_catch_up` for why that order), so a segment deleted mid-read is read to its end. Nothing is ever read through a file name the reader has not
//! just resolved from the manifest it is installing, so a vanished file can make a refresh
//! fail or retry but never return a wrong value.
//!
//! The last WAL segment is being appended to: it is read in
//! [`WalRecoveryMode::TolerateCorruptedTail`], so a record the writer has half written is
//! left for the next refresh. A segment can also shrink under the reader: the writer
//! reserves WAL space ahead of its appends and cuts the unused zero tail when it closes the
//! segment; `replay_segment` then reads it again at its final length.

use std::sync::Arc;

use super::DbInner;
use crate::error::{Error, Result};
use crate::filename::wal_path;
use crate::fs::{RandomAccessFile, TruncatedView};
use crate::key::SequenceNumber;
use crate::manifest::{Version, VersionSet, NUM_LEVELS};
use crate::memtable::MemTable;
use crate::read::SuperVersion;
use crate::wal::{LogReader, WalRecoveryMode};

/// Catch-up attempts before a refresh gives up on a writer that keeps deleting the files it
/// just listed.
pub(crate) const MAX_ATTEMPTS: usize = 100;

/// One consistent state read from the directory.
pub(super) struct CaughtUp {
    pub(super) version: Arc<Version>,
    pub(super) mem: Arc<MemTable>,
    pub(super) last_sequence: SequenceNumber,
}

/// Reads the manifest's new edits and the WAL tail once. `Ok(None)` means a file vanished
/// while it was read (retry).
///
/// The WAL segments are listed and opened *before* the manifest is read. Listed after, a
/// segment the writer flushed and deleted in between would be missing while the manifest
/// read still needs it: a hole in the history. Opened first, every segment at or above the
/// manifest's log number is held (the writer deletes a segment only after a manifest edit
/// moved the log number past it), and the segments created after the listing hold only
/// writes newer than all of them, so what is read is a prefix of the writer's history.
///
/// `versions` follows the manifest ([`VersionSet::catch_up_read_only`]) and keeps what it
/// read even when this attempt is retried: the manifest only grows, so the next attempt
/// reads only what the writer appended since, and the window in which a compaction can
/// delete a table of the version just read stays short.
fn try_catch_up(db: &DbInner, versions: &mut VersionSet) -> Result<Option<CaughtUp>> {
    let mut segments = Vec::new();
    for number in super::open::live_wal_numbers(&db.fs.list(&db.dir)?, 0) {
        match db.fs.open(&wal_path(&db.dir, number)) {
            Ok(f) => segments.push((number, f)),
            // Deleted since the listing: flushed, so below the log number read next.
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    // A CURRENT naming a manifest the writer just rolled over and deleted reads as
    // corruption; `catch_up` retries that.
    versions.catch_up_read_only()?;
    let version = versions.current();
    let numbers = (0..NUM_LEVELS).flat_map(|l| version.files(l).iter().map(|f| f.number));
    match db.read.tables().pin(numbers.collect::<Vec<_>>()) {
        Ok(()) => {}
        Err(Error::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    }
    let log_number = versions.log_number();
    segments.retain(|(n, _)| *n >= log_number);
    let mut max_seq = versions.last_sequence();
    let mem = Arc::new(MemTable::new(0, db.options.memtable_size));
    let count = segments.len();
    for (i, (number, file)) in segments.into_iter().enumerate() {
        let Some((last, sealed)) = replay_segment(db, number, file, &mem)? else {
            return Ok(None);
        };
        max_seq = max_seq.max(last);
        if !sealed && i + 1 != count {
            // As in recovery (`open.rs`): an earlier segment without its seal ends the
            // history. Beside a live writer this is the moment between creating the next
            // segment and sealing this one, and the next holds nothing yet worth waiting for.
            break;
        }
    }
    Ok(Some(CaughtUp {
        version,
        mem,
        last_sequence: max_seq,
    }))
}

/// Replays WAL segment `number`, opened as `file`, into `mem`; returns the newest sequence
/// number it held (0 if none) and whether it ends in its seal, or `Ok(None)` if it must be
/// read again from a fresh catch-up.
///
/// The writer reserves space ahead of its appends and, when it closes a segment, cuts the
/// unused zero tail; a reader that took the length before then reads past the new end. The
/// cut removes only zeros the writer never wrote, and a closed segment never changes again,
/// so the segment is read once more, through the same descriptor at its final length, and
/// on from the last record applied (record offsets grow through a file, so records already applied are
/// recognised by offset).
fn replay_segment(
    db: &DbInner,
    number: u64,
    file: Arc<dyn RandomAccessFile>,
    mem: &MemTable,
) -> Result<Option<(SequenceNumber, bool)>> {
    let name = wal_path(&db.dir, number).display().to_string();
    let mut applied_up_to: Option<u64> = None;
    let mut max_seq = 0;
    let mut sealed = false;
    let mut file = file;
    for _ in 0..2 {
        let mut reader = LogReader::new(
            file.clone(),
            name.clone(),
            WalRecoveryMode::TolerateCorruptedTail,
        );
        loop {
            match reader.read_record() {
                Ok(None) => return Ok(Some((max_seq, sealed))),
                Ok(Some((offset, _))) if applied_up_to.is_some_and(|a| offset <= a) => {}
                Ok(Some((offset, record))) => {
                    if record.is_empty() {
                        sealed = true;
                    } else {
                        let last = super::open::replay_record(&record, &name, offset, mem)?;
                        max_seq = max_seq.max(last);
                    }
                    applied_up_to = Some(offset);
                }
                Err(Error::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    break
                }
                Err(e) => return Err(e),
            }
        }
        let len = file.current_len()?;
        file = Arc::new(TruncatedView { file, len });
    }
    // Shrank twice: not the one cut a closed segment gets; start the catch-up again.
    Ok(None)
}

/// Reads the latest state of the directory, retrying while the writer deletes files from
/// under the read.
///
/// Errors: [`Error::NotFound`] if no database is there or files kept vanishing for
/// [`MAX_ATTEMPTS`] attempts; [`Error::Corruption`] for a damaged manifest or WAL;
/// [`Error::Io`].
pub(super) fn catch_up(db: &DbInner) -> Result<()> {
    // Held throughout: concurrent refreshes of one handle take turns.
    let mut versions = db.versions.lock();
    let mut last_err = None;
    for _ in 0..MAX_ATTEMPTS {
        match try_catch_up(db, &mut versions) {
            Ok(Some(c)) => {
                install(db, c);
                return Ok(());
            }
            Ok(None) => std::thread::yield_now(),
            Err(e @ Error::Corruption { .. }) => {
                // A manifest read while the writer rotated it can look damaged; a second
                // look at CURRENT settles it.
                last_err = Some(e);
                std::thread::yield_now();
            }
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| {
        Error::NotFound(format!(
            "files of {} kept vanishing during {MAX_ATTEMPTS} catch-up attempts",
            db.dir.display()
        ))
    }))
}

fn install(db: &DbInner, c: CaughtUp) {
    db.read.install(|_| SuperVersion {
        mem: c.mem,
        imm: Vec::new(),
        version: c.version,
    });
    let prev = db.read.last_sequence();
    db.read.publish_sequence(prev.max(c.last_sequence));
}
