//! [`VersionSet`]: the current [`Version`], the counters, and the manifest file they are
//! logged to.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::filename::{current_path, manifest_name, manifest_path, parse_file_name, FileKind};
use crate::fs::{write_file_atomic, FileSystem, RandomAccessFile, TruncatedView};
use crate::wal::{LogReader, LogWriter, WalRecoveryMode};

use super::version::{Version, VersionBuilder};
use super::version_edit::{FileMetaData, VersionEdit};
use super::MANIFEST_FORMAT_VERSION;

/// Manifest size, in bytes, past which [`VersionSet::log_and_apply`] starts a new manifest
/// holding a single snapshot edit (64 MiB). Replaying a manifest costs time proportional to
/// its size, and every edit in it but the effect of the latest is dead weight.
pub const MAX_MANIFEST_SIZE: u64 = 64 << 20;

/// Largest `CURRENT` file accepted: it holds one short line.
const MAX_CURRENT_SIZE: u64 = 256;

/// The database's file set over time: the current [`Version`], the file-number and sequence
/// counters, and the open manifest that logs every change.
///
/// Not `Sync` (it owns the manifest writer): the engine keeps it behind a mutex, and only
/// the thread holding the mutex calls [`log_and_apply`](Self::log_and_apply). Readers clone
/// the [`current`](Self::current) `Arc<Version>` and drop the lock.
///
/// # Failures
///
/// If writing or syncing the manifest fails, `log_and_apply` returns the error, leaves the
/// current version untouched, and the set becomes *failed*: every later `log_and_apply`
/// fails too ([`failure`](Self::failure) says why). The engine must then treat the
/// database as read-only until it is reopened. The reason: after a failed append or sync it
/// is unknown whether the edit reached the disk, and appending more edits behind a
/// possibly-torn one would turn a tolerated torn tail into corruption. For the same reason,
/// **the outcome of the failed edit is unknown**: after a reopen it may or may not be in
/// effect. The engine must therefore not delete any file the failed edit added or removed;
/// the obsolete-file scan of the next open, which works from the recovered version, cleans
/// up whichever files ended up unused.
pub struct VersionSet {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    current: Arc<Version>,
    /// `None` for a read-only set ([`VersionSet::recover_read_only`]): nothing is logged.
    manifest: Option<LogWriter>,
    manifest_number: u64,
    /// Size of the manifest right after its snapshot edit.
    manifest_base_size: u64,
    max_manifest_size: u64,
    next_file_number: u64,
    last_sequence: u64,
    log_number: u64,
    options_text: String,
    format_version: u32,
    failed: Option<String>,
    /// Read-only sets: the manifest being followed (held open, so the writer deleting it at
    /// a rollover does not cut the read short) and the offset just past its last edit read.
    tail: Option<(Arc<dyn RandomAccessFile>, u64)>,
}

/// The scalar state a snapshot edit records besides the files.
struct Counters<'a> {
    format_version: u32,
    options_text: &'a str,
    log_number: u64,
    next_file_number: u64,
    last_sequence: u64,
}

impl VersionSet {
    /// Creates the manifest of a new, empty database in `dir` (which must exist).
    ///
    /// Writes `MANIFEST-000001` with one snapshot edit (format version, `options_text`, log
    /// number 0, next file number 2, last sequence 0), syncs it and the directory, then
    /// points `CURRENT` at it with [`write_file_atomic`]. A crash at any point leaves either
    /// no `CURRENT` (no database) or a complete one.
    ///
    /// Errors: [`Error::InvalidArgument`] if `dir` already has a `CURRENT` file (a database
    /// is there); [`Error::Io`] / [`Error::NotFound`] from the file system.
    pub fn create(fs: Arc<dyn FileSystem>, dir: &Path, options_text: String) -> Result<VersionSet> {
        if fs.exists(&current_path(dir)) {
            return Err(Error::InvalidArgument(format!(
                "a database already exists in {} (it has a CURRENT file)",
                dir.display()
            )));
        }
        // The counter starts at 1; the manifest takes the first number.
        let manifest_number = 1;
        let next_file_number = 2;
        let counters = Counters {
            format_version: MANIFEST_FORMAT_VERSION,
            options_text: &options_text,
            log_number: 0,
            next_file_number,
            last_sequence: 0,
        };
        Self::start(fs, dir, Version::new(), manifest_number, &counters)
    }

    /// A version set whose live manifest is a new `MANIFEST-{manifest_number}` holding one
    /// snapshot edit of `version` and `counters`, with `CURRENT` pointing at it.
    fn start(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        version: Version,
        manifest_number: u64,
        counters: &Counters<'_>,
    ) -> Result<VersionSet> {
        let snapshot = snapshot_edit(&version, counters);
        let manifest = start_manifest(fs.as_ref(), dir, manifest_number, &snapshot)?;
        Ok(VersionSet {
            fs,
            dir: dir.to_owned(),
            current: Arc::new(version),
            manifest_base_size: manifest.len(),
            manifest: Some(manifest),
            manifest_number,
            max_manifest_size: MAX_MANIFEST_SIZE,
            next_file_number: counters.next_file_number,
            last_sequence: counters.last_sequence,
            log_number: counters.log_number,
            options_text: counters.options_text.to_owned(),
            format_version: counters.format_version,
            failed: None,
            tail: None,
        })
    }

    /// Opens the database in `dir`: reads `CURRENT`, replays every edit of the manifest it
    /// names, then starts a new manifest holding one snapshot edit of the recovered state and
    /// points `CURRENT` at it. The old manifest is left in place for the engine's obsolete-file
    /// cleanup (it is no longer [`manifest_number`](Self::manifest_number)).
    ///
    /// The manifest is read in [`WalRecoveryMode::TolerateIncompleteTail`]: a torn last edit
    /// is dropped, since `log_and_apply` had not returned for it; the fresh manifest means the
    /// torn bytes are never appended to.
    ///
    /// After recovery, [`next_file_number`](Self::next_file_number) is above every number the
    /// manifest mentions. The engine must still call
    /// [`mark_file_number_used`](Self::mark_file_number_used) for the WAL files it finds in the
    /// directory: a WAL created after the last edit has a number no edit records.
    ///
    /// Errors: [`Error::NotFound`] if `dir` has no `CURRENT` (no database);
    /// [`Error::Corruption`] if `CURRENT` is malformed or names a missing manifest, if an edit
    /// is damaged (anywhere but a torn tail) or malformed, if edits are inconsistent
    /// (deleting a file that is not there, a level out of range, overlapping files in a level
    /// above 0), or if the manifest lacks a required field; [`Error::InvalidArgument`] if the
    /// manifest's format version is newer than [`MANIFEST_FORMAT_VERSION`]; [`Error::Io`] from
    /// the file system.
    pub fn recover(fs: Arc<dyn FileSystem>, dir: &Path) -> Result<VersionSet> {
        Self::recover_inner(fs, dir, false)
    }

    /// Reads `CURRENT` and replays the manifest it names, as [`recover`](Self::recover)
    /// does, but writes nothing: no new manifest, `CURRENT` untouched. The set is read-only:
    /// [`log_and_apply`](Self::log_and_apply) returns [`Error::ReadOnly`]. Used by read-only
    /// opens and [`Db::refresh`](crate::Db::refresh), which call it again for each catch-up.
    ///
    /// Errors: as [`recover`](Self::recover).
    pub fn recover_read_only(fs: Arc<dyn FileSystem>, dir: &Path) -> Result<VersionSet> {
        Self::recover_inner(fs, dir, true)
    }

    /// Moves a read-only set to the manifest's latest state: reads the edits the writer has
    /// appended since the last call (RocksDB's secondary instance tails the MANIFEST the same
    /// way), or, if `CURRENT` now names a newer manifest, replays that one whole. Tailing
    /// keeps a refresh's cost proportional to what changed, which matters beside a writer
    /// that flushes and compacts often: the longer the read, the likelier the writer deletes a
    /// table of the version read before the reader opens it.
    ///
    /// Errors: [`Error::ReadOnly`] if the set is not read-only; [`Error::Corruption`] for a
    /// damaged edit (the set is then unchanged); otherwise as
    /// [`recover_read_only`](Self::recover_read_only).
    pub fn catch_up_read_only(&mut self) -> Result<()> {
        let Some((file, offset)) = self.tail.clone() else {
            return Err(Error::ReadOnly(
                "only a read-only version set follows the manifest".into(),
            ));
        };
        if read_current(self.fs.as_ref(), &self.dir)? != self.manifest_number {
            *self = Self::recover_read_only(self.fs.clone(), &self.dir)?;
            return Ok(());
        }
        let label = manifest_path(&self.dir, self.manifest_number)
            .display()
            .to_string();
        let len = file.current_len()?;
        let view = Arc::new(TruncatedView {
            file: file.clone(),
            len,
        });
        let mut reader = LogReader::resume(
            view,
            label.clone(),
            WalRecoveryMode::TolerateIncompleteTail,
            offset,
        )?;
        let mut builder = VersionBuilder::from_version(&self.current);
        let mut end = offset;
        let (mut log_number, mut next_file_number, mut last_sequence) =
            (self.log_number, self.next_file_number, self.last_sequence);
        let mut options_text = None;
        while let Some((at, record)) = reader.read_record()? {
            let edit = VersionEdit::decode(&record, &label, at)?;
            builder
                .apply(&edit)
                .map_err(|d| Error::corruption(&label, at, d))?;
            log_number = edit.log_number.unwrap_or(log_number);
            next_file_number = edit.next_file_number.unwrap_or(next_file_number);
            last_sequence = edit.last_sequence.unwrap_or(last_sequence);
            options_text = edit.options.or(options_text);
            end = reader.position();
        }
        if end != offset {
            self.current = Arc::new(
                builder
                    .build()
                    .map_err(|d| Error::corruption(&label, end, d))?,
            );
            self.log_number = log_number;
            self.next_file_number = next_file_number;
            self.last_sequence = last_sequence;
            if let Some(o) = options_text {
                self.options_text = o;
            }
            self.tail = Some((file, end));
        }
        Ok(())
    }

    fn recover_inner(fs: Arc<dyn FileSystem>, dir: &Path, read_only: bool) -> Result<VersionSet> {
        let old_number = read_current(fs.as_ref(), dir)?;
        let old_name = manifest_name(old_number);
        let old_path = manifest_path(dir, old_number);
        let label = old_path.display().to_string();
        let file = fs.open(&old_path).map_err(|e| match e {
            Error::NotFound(_) => Error::corruption(
                current_path(dir).display().to_string(),
                0,
                format!("CURRENT names {old_name}, which does not exist"),
            ),
            e => e,
        })?;
        let mut reader = LogReader::new(
            file.clone(),
            label.clone(),
            WalRecoveryMode::TolerateIncompleteTail,
        );
        let mut tail_offset = 0;

        let mut builder = VersionBuilder::default();
        let mut format_version = None;
        let mut options_text = None;
        let mut log_number = None;
        let mut next_file_number = None;
        let mut last_sequence = None;
        let mut last_offset = 0;
        while let Some((offset, record)) = reader.read_record()? {
            let edit = VersionEdit::decode(&record, &label, offset)?;
            let corrupt = |detail: String| Error::corruption(&label, offset, detail);
            if format_version.is_none() && edit.format_version.is_none() {
                return Err(corrupt(
                    "the first edit is not a snapshot (it has no format version)".into(),
                ));
            }
            builder.apply(&edit).map_err(corrupt)?;
            // Later edits override earlier ones, field by field.
            format_version = edit.format_version.or(format_version);
            options_text = edit.options.or(options_text);
            log_number = edit.log_number.or(log_number);
            next_file_number = edit.next_file_number.or(next_file_number);
            last_sequence = edit.last_sequence.or(last_sequence);
            last_offset = offset;
            tail_offset = reader.position();
        }
        let missing = |field: &str| {
            Error::corruption(
                &label,
                last_offset,
                format!("the manifest records no {field}"),
            )
        };
        let format_version = format_version.ok_or_else(|| missing("format version"))?;
        let log_number = log_number.ok_or_else(|| missing("log number"))?;
        let next_file_number = next_file_number.ok_or_else(|| missing("next file number"))?;
        let last_sequence = last_sequence.ok_or_else(|| missing("last sequence"))?;
        let max_number = builder.max_file_number();
        let version = builder
            .build()
            .map_err(|d| Error::corruption(&label, last_offset, d))?;

        let options_text = options_text.unwrap_or_default();
        // Past every number the manifest mentions, then one for the new manifest.
        let manifest_number = [max_number, old_number, log_number]
            .into_iter()
            .fold(next_file_number, |next, n| next.max(n.saturating_add(1)));
        let next_file_number = manifest_number + 1;
        let counters = Counters {
            format_version,
            options_text: &options_text,
            log_number,
            next_file_number,
            last_sequence,
        };
        if read_only {
            return Ok(VersionSet {
                fs,
                dir: dir.to_owned(),
                current: Arc::new(version),
                manifest: None,
                manifest_number: old_number,
                manifest_base_size: 0,
                max_manifest_size: MAX_MANIFEST_SIZE,
                next_file_number,
                last_sequence,
                log_number,
                options_text,
                format_version,
                failed: None,
                tail: Some((file, tail_offset)),
            });
        }
        Self::start(fs, dir, version, manifest_number, &counters)
    }

    /// The current version.
    pub fn current(&self) -> Arc<Version> {
        self.current.clone()
    }

    /// Logs `edit` to the manifest, syncs it, and installs the version it produces.
    ///
    /// The edit is checked against the current version first (levels in range, deleted
    /// files present, added numbers not already live, levels above 0 still disjoint, the log
    /// number not going backwards). It is then stamped with the current
    /// [`next_file_number`](Self::next_file_number) and
    /// [`last_sequence`](Self::last_sequence) (overwriting whatever the caller put there),
    /// appended as one record and synced. Only then does the new version become current, and
    /// the edit's `log_number` and `options`, if set, take effect.
    ///
    /// If the manifest has grown past the rollover size (the larger of
    /// [`MAX_MANIFEST_SIZE`], or [`set_max_manifest_size`](Self::set_max_manifest_size)'s
    /// value, and twice the size of its initial snapshot, so that a huge database does not
    /// roll over on every edit), the edit is not appended: a new manifest with a snapshot of
    /// the new state is written instead and `CURRENT` switched to it. The old manifest is
    /// left for the obsolete-file cleanup.
    ///
    /// Errors: [`Error::InvalidArgument`] if the edit is inconsistent with the current version
    /// or tries to change the format version (nothing is written, the set stays usable);
    /// [`Error::Io`] if the manifest could not be written or synced, after which the set is
    /// failed (see [Failures](Self#failures)); [`Error::Io`] again for every call after such a
    /// failure.
    pub fn log_and_apply(&mut self, mut edit: VersionEdit) -> Result<Arc<Version>> {
        if let Some(first) = &self.failed {
            return Err(Error::io(
                format!("manifest unusable after an earlier failure ({first})"),
                std::io::Error::other("version set failed"),
            ));
        }
        let Some(manifest_len) = self.manifest.as_ref().map(LogWriter::len) else {
            return Err(Error::ReadOnly(
                "the manifest of a read-only database is not written".into(),
            ));
        };
        if edit
            .format_version
            .is_some_and(|v| v != self.format_version)
        {
            return Err(Error::InvalidArgument(
                "log_and_apply cannot change the manifest format version".into(),
            ));
        }
        if let Some(n) = edit.log_number {
            if n < self.log_number {
                return Err(Error::InvalidArgument(format!(
                    "log number {n} is below the current log number {}",
                    self.log_number
                )));
            }
        }
        let mut builder = VersionBuilder::from_version(&self.current);
        builder.apply(&edit).map_err(Error::InvalidArgument)?;
        let version = builder.build().map_err(Error::InvalidArgument)?;

        // Counters only grow, so raising them before the write is safe even if it fails.
        for n in edit.new_files.iter().map(|(_, f)| f.number) {
            self.mark_file_number_used(n);
        }
        let log_number = edit.log_number.unwrap_or(self.log_number);
        self.mark_file_number_used(log_number);

        let result = if manifest_len >= self.rollover_size() {
            self.roll_over(&version, log_number, edit.options.as_deref())
        } else {
            edit.next_file_number = Some(self.next_file_number);
            edit.last_sequence = Some(self.last_sequence);
            let manifest = self.manifest.as_mut().expect("checked above");
            manifest
                .add_record(&edit.encode())
                .and_then(|()| manifest.sync())
        };
        if let Err(e) = result {
            self.failed = Some(e.to_string());
            return Err(e);
        }
        if let Some(o) = edit.options {
            self.options_text = o;
        }
        self.log_number = log_number;
        self.current = Arc::new(version);
        Ok(self.current.clone())
    }

    /// Takes the next file number (for a WAL, an SSTable or a manifest). Numbers are never
    /// reused: the counter is persisted with every edit, and raised past every number found
    /// at recovery.
    pub fn new_file_number(&mut self) -> u64 {
        let n = self.next_file_number;
        self.next_file_number += 1;
        n
    }

    /// The number [`new_file_number`](Self::new_file_number) will return next.
    pub fn next_file_number(&self) -> u64 {
        self.next_file_number
    }

    /// Makes sure `n` is never handed out: raises the counter to `n + 1` if needed.
    pub fn mark_file_number_used(&mut self, n: u64) {
        self.next_file_number = self.next_file_number.max(n.saturating_add(1));
    }

    /// The sequence number of the newest write, as last set or recovered.
    pub fn last_sequence(&self) -> u64 {
        self.last_sequence
    }

    /// Records the sequence number of the newest write; it is persisted with the next edit.
    /// It must not go backwards (checked in debug builds).
    pub fn set_last_sequence(&mut self, s: u64) {
        debug_assert!(s >= self.last_sequence, "last sequence going backwards");
        self.last_sequence = s;
    }

    /// WAL segments numbered below this are obsolete; recovery replays the others.
    pub fn log_number(&self) -> u64 {
        self.log_number
    }

    /// The number of the manifest being written (`MANIFEST-NNNNNN`, named by `CURRENT`).
    pub fn manifest_number(&self) -> u64 {
        self.manifest_number
    }

    /// The persisted options text (`name=value` lines), as last recorded.
    pub fn options_text(&self) -> &str {
        &self.options_text
    }

    /// The manifest format version the database was created with.
    pub fn format_version(&self) -> u32 {
        self.format_version
    }

    /// The error that made the set failed, if one did (see [Failures](Self#failures)).
    pub fn failure(&self) -> Option<&str> {
        self.failed.as_deref()
    }

    /// Overrides [`MAX_MANIFEST_SIZE`] for this set (not persisted). Mostly for tests.
    pub fn set_max_manifest_size(&mut self, bytes: u64) {
        self.max_manifest_size = bytes;
    }

    /// The first record of a manifest that recreates the current version and counters,
    /// and a fresh file number for that manifest (taken from this set's numbers, so it
    /// cannot collide with a file the version names): what a checkpoint captures, under the
    /// lock that guards this set, to write with [`write_manifest`] once its files are copied.
    pub fn snapshot_for_checkpoint(&mut self) -> (u64, VersionEdit) {
        let number = self.new_file_number();
        let snapshot = snapshot_edit(
            &self.current,
            &Counters {
                format_version: self.format_version,
                options_text: &self.options_text,
                log_number: self.log_number,
                next_file_number: self.next_file_number,
                last_sequence: self.last_sequence,
            },
        );
        (number, snapshot)
    }

    /// The manifest's current size in bytes.
    pub fn manifest_size(&self) -> u64 {
        self.manifest.as_ref().map_or(0, LogWriter::len)
    }

    fn rollover_size(&self) -> u64 {
        self.max_manifest_size
            .max(self.manifest_base_size.saturating_mul(2))
    }

    /// Replaces the manifest with a new one holding a snapshot of `version` and the
    /// counters (with `log_number` and, if given, `options_text` as they will be once the
    /// edit is installed).
    fn roll_over(
        &mut self,
        version: &Version,
        log_number: u64,
        options_text: Option<&str>,
    ) -> Result<()> {
        let number = self.new_file_number();
        let snapshot = snapshot_edit(
            version,
            &Counters {
                format_version: self.format_version,
                options_text: options_text.unwrap_or(&self.options_text),
                log_number,
                next_file_number: self.next_file_number,
                last_sequence: self.last_sequence,
            },
        );
        let writer = start_manifest(self.fs.as_ref(), &self.dir, number, &snapshot)?;
        self.manifest_base_size = writer.len();
        self.manifest = Some(writer);
        self.manifest_number = number;
        Ok(())
    }
}

/// Writes `MANIFEST-<number>` in `dir` holding the single record `snapshot`, makes it
/// durable (file sync, then directory sync), then points `CURRENT` at it atomically.
/// Returns the writer, positioned for the next edit.
fn start_manifest(
    fs: &dyn FileSystem,
    dir: &Path,
    number: u64,
    snapshot: &VersionEdit,
) -> Result<LogWriter> {
    let path = manifest_path(dir, number);
    let written = (|| {
        let mut w = LogWriter::new(fs.create(&path)?);
        w.add_record(&snapshot.encode())?;
        w.sync()?;
        fs.sync_dir(dir)?;
        Ok(w)
    })();
    let writer = match written {
        Ok(w) => w,
        Err(e) => {
            // CURRENT still names the previous manifest (or nothing), so the new file is
            // just garbage; removing it is a courtesy.
            let _ = fs.remove(&path);
            return Err(e);
        }
    };
    // From here a failure leaves it unknown which manifest CURRENT names; both are
    // complete, so the new file must stay.
    let current = format!("{}\n", manifest_name(number));
    write_file_atomic(fs, &current_path(dir), current.as_bytes())?;
    Ok(writer)
}

/// Writes `MANIFEST-<number>` in `dir` holding the single record `snapshot` (from
/// [`VersionSet::snapshot_for_checkpoint`]), synced, then a `CURRENT` naming it: the last
/// step of a checkpoint, after which the directory opens as a database.
///
/// Errors: [`Error::Io`] writing in `dir`.
pub fn write_manifest(
    fs: &dyn FileSystem,
    dir: &Path,
    number: u64,
    snapshot: &VersionEdit,
) -> Result<()> {
    start_manifest(fs, dir, number, snapshot).map(|_| ())
}

/// The edit that recreates `version` and the counters from nothing: the first record of a
/// manifest.
fn snapshot_edit(version: &Version, c: &Counters<'_>) -> VersionEdit {
    let mut edit = VersionEdit {
        format_version: Some(c.format_version),
        options: Some(c.options_text.to_owned()),
        log_number: Some(c.log_number),
        next_file_number: Some(c.next_file_number),
        last_sequence: Some(c.last_sequence),
        ..Default::default()
    };
    for level in 0..super::NUM_LEVELS {
        for f in version.files(level) {
            edit.add_file(level, FileMetaData::clone(f));
        }
    }
    edit
}

/// The number of the manifest `CURRENT` in `dir` names.
///
/// Errors: [`Error::NotFound`] if there is no `CURRENT`; [`Error::Corruption`] if it is not
/// exactly one line `MANIFEST-NNNNNN\n`; [`Error::Io`] if it cannot be read.
pub fn read_current(fs: &dyn FileSystem, dir: &Path) -> Result<u64> {
    let path = current_path(dir);
    let label = path.display().to_string();
    let file = fs.open(&path).map_err(|e| match e {
        Error::NotFound(_) => {
            Error::NotFound(format!("{label} (no database in {})", dir.display()))
        }
        e => e,
    })?;
    if file.len() > MAX_CURRENT_SIZE {
        return Err(Error::corruption(&label, 0, "CURRENT is too large"));
    }
    let mut bytes = vec![0u8; file.len() as usize];
    file.read_exact_at(0, &mut bytes)?;
    let bad = || {
        Error::corruption(
            &label,
            0,
            format!(
                "CURRENT should be one line naming a manifest, found {:?}",
                String::from_utf8_lossy(&bytes)
            ),
        )
    };
    let name = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|s| s.strip_suffix('\n'))
        .ok_or_else(bad)?;
    match parse_file_name(name) {
        Some(FileKind::Manifest(n)) if manifest_name(n) == name => Ok(n),
        _ => Err(bad()),
    }
}

/// Every edit of the manifest at `path`, with the offset of its record, for inspection
/// (the `kevo manifest` command). Reads like recovery does
/// ([`WalRecoveryMode::TolerateIncompleteTail`]), but applies nothing.
///
/// Errors: [`Error::NotFound`] if the file does not exist; [`Error::Corruption`] for a
/// damaged record (other than a torn tail) or an undecodable edit;
/// [`Error::InvalidArgument`] for a newer format; [`Error::Io`].
pub fn read_manifest(fs: &dyn FileSystem, path: &Path) -> Result<Vec<(u64, VersionEdit)>> {
    let label = path.display().to_string();
    let mut reader = LogReader::new(
        fs.open(path)?,
        label.clone(),
        WalRecoveryMode::TolerateIncompleteTail,
    );
    let mut edits = Vec::new();
    while let Some((offset, record)) = reader.read_record()? {
        edits.push((offset, VersionEdit::decode(&record, &label, offset)?));
    }
    Ok(edits)
}

impl fmt::Debug for VersionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VersionSet")
            .field("dir", &self.dir)
            .field("current", &self.current)
            .field("manifest_number", &self.manifest_number)
            .field("manifest_size", &self.manifest_size())
            .field("next_file_number", &self.next_file_number)
            .field("last_sequence", &self.last_sequence)
            .field("log_number", &self.log_number)
            .field("format_version", &self.format_version)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}
