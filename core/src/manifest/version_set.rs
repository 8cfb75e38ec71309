//! [`VersionSet`]: the live manifest, the current version, and the counters (next file
//! number, last sequence, log number).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::version::{Version, NUM_LEVELS};
use super::version_edit::VersionEdit;
use crate::error::{Error, Result};
use crate::filename::{current_path, manifest_name, manifest_path};
use crate::fs::{write_file_atomic, FileSystem};
use crate::wal::{LogReader, LogWriter, WalRecoveryMode};

/// The manifest format this code writes and the newest it reads.
pub const MANIFEST_FORMAT_VERSION: u32 = 1;

/// A manifest larger than this (bytes) is replaced by a new one holding one snapshot edit.
pub const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// The state recorded in the manifest, and the writer appending to it. Not thread-safe: the
/// engine keeps it behind a mutex.
pub struct VersionSet {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    current: Arc<Version>,
    next_file_number: u64,
    last_sequence: u64,
    log_number: u64,
    options_text: String,
    format_version: u32,
    manifest_number: u64,
    manifest: Option<LogWriter>,
}

impl std::fmt::Debug for VersionSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionSet")
            .field("dir", &self.dir)
            .field("manifest_number", &self.manifest_number)
            .field("next_file_number", &self.next_file_number)
            .field("last_sequence", &self.last_sequence)
            .field("log_number", &self.log_number)
            .finish_non_exhaustive()
    }
}

impl VersionSet {
    /// Creates the manifest of a new, empty database in `dir` and points `CURRENT` at it.
    ///
    /// Errors: [`Error::Io`].
    pub fn create(fs: Arc<dyn FileSystem>, dir: &Path, options_text: String) -> Result<VersionSet> {
        let mut vs = VersionSet {
            fs,
            dir: dir.to_path_buf(),
            current: Arc::new(Version::default()),
            next_file_number: 1,
            last_sequence: 0,
            log_number: 0,
            options_text,
            format_version: MANIFEST_FORMAT_VERSION,
            manifest_number: 0,
            manifest: None,
        };
        vs.start_new_manifest()?;
        Ok(vs)
    }

    /// Rebuilds the state from the manifest `CURRENT` names, then starts a new manifest
    /// holding one snapshot edit (the old one is left for obsolete-file removal).
    ///
    /// The manifest's last record may be torn (a crash during an edit that was therefore never
    /// acknowledged): it is ignored. Any other damage is corruption.
    ///
    /// Errors: [`Error::NotFound`] without `CURRENT` or if it names a missing manifest;
    /// [`Error::Corruption`] for a malformed `CURRENT`, a damaged manifest or an inconsistent
    /// edit; [`Error::InvalidArgument`] for a manifest of a newer format; [`Error::Io`].
    pub fn recover(fs: Arc<dyn FileSystem>, dir: &Path) -> Result<VersionSet> {
        let current = current_path(dir);
        let text = fs.read_all(&current)?;
        let name = std::str::from_utf8(&text)
            .ok()
            .and_then(|t| t.strip_suffix('\n'))
            .filter(|n| n.starts_with("MANIFEST-") && !n.contains('/'))
            .ok_or_else(|| {
                Error::corruption(
                    current.display().to_string(),
                    0,
                    "CURRENT does not name a manifest",
                )
            })?;
        let number = name["MANIFEST-".len()..].parse::<u64>().map_err(|_| {
            Error::corruption(
                current.display().to_string(),
                0,
                "bad manifest number in CURRENT",
            )
        })?;
        let path = manifest_path(dir, number);
        let file_name = path.display().to_string();
        let edits = read_manifest(fs.as_ref(), &path)?;

        let mut levels: [Vec<_>; NUM_LEVELS] = Default::default();
        let mut vs = VersionSet {
            fs: fs.clone(),
            dir: dir.to_path_buf(),
            current: Arc::new(Version::default()),
            next_file_number: number + 1,
            last_sequence: 0,
            log_number: 0,
            options_text: String::new(),
            format_version: MANIFEST_FORMAT_VERSION,
            manifest_number: number,
            manifest: None,
        };
        for (offset, edit) in &edits {
            if let Some(v) = edit.format_version {
                if v > MANIFEST_FORMAT_VERSION {
                    return Err(Error::InvalidArgument(format!(
                        "{file_name} has format version {v}; this kevo reads up to \
                         {MANIFEST_FORMAT_VERSION}"
                    )));
                }
                vs.format_version = v;
            }
            edit.apply_files(&mut levels, &file_name)
                .map_err(|e| match e {
                    Error::Corruption { file, detail, .. } => Error::Corruption {
                        file,
                        offset: *offset,
                        detail,
                    },
                    e => e,
                })?;
            vs.apply_counters(edit);
        }
        let max_file = levels.iter().flatten().map(|f| f.number).max().unwrap_or(0);
        vs.next_file_number = vs.next_file_number.max(max_file + 1).max(number + 1);
        let mut version = Version { levels };
        version.sort_levels();
        vs.current = Arc::new(version);
        vs.start_new_manifest()?;
        Ok(vs)
    }

    fn apply_counters(&mut self, edit: &VersionEdit) {
        if let Some(o) = &edit.options {
            self.options_text = o.clone();
        }
        if let Some(n) = edit.log_number {
            self.log_number = self.log_number.max(n);
        }
        if let Some(n) = edit.next_file_number {
            self.next_file_number = self.next_file_number.max(n);
        }
        if let Some(s) = edit.last_sequence {
            self.last_sequence = self.last_sequence.max(s);
        }
    }

    /// Writes a new manifest holding a snapshot of the current state, syncs it, and points
    /// `CURRENT` at it.
    fn start_new_manifest(&mut self) -> Result<()> {
        let number = self.new_file_number();
        let path = manifest_path(&self.dir, number);
        let mut writer = LogWriter::new(self.fs.create(&path)?);
        let mut snapshot = VersionEdit {
            format_version: Some(self.format_version),
            options: Some(self.options_text.clone()),
            log_number: Some(self.log_number),
            next_file_number: Some(self.next_file_number),
            last_sequence: Some(self.last_sequence),
            ..Default::default()
        };
        for level in 0..NUM_LEVELS {
            for f in self.current.files(level) {
                snapshot.new_files.push((level, (**f).clone()));
            }
        }
        writer.add_record(&snapshot.encode())?;
        writer.sync()?;
        self.fs.sync_dir(&self.dir)?;
        write_file_atomic(
            self.fs.as_ref(),
            &current_path(&self.dir),
            format!("{}\n", manifest_name(number)).as_bytes(),
        )?;
        self.manifest = Some(writer);
        self.manifest_number = number;
        Ok(())
    }

    /// The current version.
    pub fn current(&self) -> Arc<Version> {
        self.current.clone()
    }

    /// Records `edit` durably and makes the result the current version.
    ///
    /// The next file number and last sequence are stamped into the edit. The edit is appended
    /// as one record and the manifest synced *before* the new version is installed; if that
    /// fails, the current version is unchanged and the error is returned (the engine then
    /// refuses further writes, since the manifest's tail is unknown).
    ///
    /// Errors: [`Error::Corruption`] if the edit deletes a file that is not there;
    /// [`Error::Io`].
    pub fn log_and_apply(&mut self, mut edit: VersionEdit) -> Result<Arc<Version>> {
        edit.next_file_number = Some(self.next_file_number);
        edit.last_sequence = Some(self.last_sequence);
        let mut levels = self.current.levels.clone();
        edit.apply_files(&mut levels, "<version edit>")?;
        let writer = self.manifest.as_mut().ok_or(Error::Closed)?;
        let r = writer
            .add_record(&edit.encode())
            .and_then(|_| writer.sync());
        if let Err(e) = r {
            // The manifest tail is unknown: never append to it again.
            self.manifest = None;
            return Err(e);
        }
        self.apply_counters(&edit);
        let mut version = Version { levels };
        version.sort_levels();
        self.current = Arc::new(version);
        if self
            .manifest
            .as_ref()
            .is_some_and(|w| w.len() > MAX_MANIFEST_BYTES)
        {
            self.start_new_manifest()?;
        }
        Ok(self.current.clone())
    }

    /// Takes a new file number.
    pub fn new_file_number(&mut self) -> u64 {
        let n = self.next_file_number;
        self.next_file_number += 1;
        n
    }

    /// The next file number to be taken.
    pub fn next_file_number(&self) -> u64 {
        self.next_file_number
    }

    /// Makes sure `number` is never handed out (a file found on disk during recovery).
    pub fn mark_file_number_used(&mut self, number: u64) {
        self.next_file_number = self.next_file_number.max(number + 1);
    }

    /// The last sequence number recorded.
    pub fn last_sequence(&self) -> u64 {
        self.last_sequence
    }

    /// Sets the last sequence number the next edit records. Never moves backwards.
    pub fn set_last_sequence(&mut self, s: u64) {
        self.last_sequence = self.last_sequence.max(s);
    }

    /// WAL segments numbered below this are obsolete.
    pub fn log_number(&self) -> u64 {
        self.log_number
    }

    /// The live manifest's file number.
    pub fn manifest_number(&self) -> u64 {
        self.manifest_number
    }

    /// The persisted options as last recorded.
    pub fn options_text(&self) -> &str {
        &self.options_text
    }

    /// The manifest format version.
    pub fn format_version(&self) -> u32 {
        self.format_version
    }
}

/// Every edit of the manifest at `path`, with the offset of its record, for recovery and the
/// `kevo manifest` view. A torn last record is ignored.
///
/// Errors: [`Error::NotFound`], [`Error::Corruption`] for damaged records or edits,
/// [`Error::Io`].
pub fn read_manifest(fs: &dyn FileSystem, path: &Path) -> Result<Vec<(u64, VersionEdit)>> {
    let name = path.display().to_string();
    let file = fs.open(path)?;
    let mut reader = LogReader::new(file, name.clone(), WalRecoveryMode::TolerateCorruptedTail);
    let mut edits = Vec::new();
    while let Some((offset, record)) = reader.read_record()? {
        edits.push((offset, VersionEdit::decode(&record, &name, offset)?));
    }
    if edits.is_empty() {
        return Err(Error::corruption(name, 0, "manifest holds no edit"));
    }
    Ok(edits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{CrashMode, MemFileSystem};
    use crate::key::{make_internal_key, ValueKind};
    use crate::manifest::FileMetaData;

    fn meta(number: u64, lo: &str, hi: &str) -> FileMetaData {
        FileMetaData {
            number,
            file_size: 1000 + number,
            smallest: make_internal_key(lo.as_bytes(), number, ValueKind::Put),
            largest: make_internal_key(hi.as_bytes(), number, ValueKind::Put),
            smallest_seq: number,
            largest_seq: number,
            num_entries: 3,
            num_deletions: 1,
        }
    }

    fn setup() -> (MemFileSystem, Arc<dyn FileSystem>) {
        let fs = MemFileSystem::new();
        fs.create_dir_all(Path::new("/db")).unwrap();
        let dynfs: Arc<dyn FileSystem> = Arc::new(fs.clone());
        (fs, dynfs)
    }

    #[test]
    fn edits_survive_recover_and_crash() {
        let (fs, dynfs) = setup();
        let dir = Path::new("/db");
        let mut vs = VersionSet::create(dynfs.clone(), dir, "a=1\n".into()).unwrap();
        let n1 = vs.new_file_number();
        let n2 = vs.new_file_number();
        let mut e = VersionEdit::default();
        e.add_file(0, meta(n1, "a", "m"));
        e.add_file(0, meta(n2, "c", "z"));
        vs.set_last_sequence(50);
        vs.log_and_apply(e).unwrap();
        let n3 = vs.new_file_number();
        let mut e = VersionEdit {
            log_number: Some(9),
            ..Default::default()
        };
        e.delete_file(0, n1);
        e.add_file(1, meta(n3, "a", "b"));
        vs.log_and_apply(e).unwrap();
        let next = vs.next_file_number();
        drop(vs);

        let fs = fs.crash(CrashMode {
            tear_unsynced: true,
            forget_unsynced_dir_entries: true,
            seed: 3,
        });
        let vs = VersionSet::recover(Arc::new(fs), dir).unwrap();
        let v = vs.current();
        assert_eq!(
            v.files(0).iter().map(|f| f.number).collect::<Vec<_>>(),
            vec![n2]
        );
        assert_eq!(*v.files(1)[0], meta(n3, "a", "b"));
        assert_eq!(vs.last_sequence(), 50);
        assert_eq!(vs.log_number(), 9);
        assert_eq!(vs.options_text(), "a=1\n");
        assert!(vs.next_file_number() >= next);
        assert!(
            vs.manifest_number() >= next,
            "recovery starts a new manifest"
        );
    }

    #[test]
    fn bad_current_and_bad_edits() {
        let (fs, dynfs) = setup();
        let dir = Path::new("/db");
        assert!(matches!(
            VersionSet::recover(dynfs.clone(), dir),
            Err(Error::NotFound(_))
        ));
        let mut vs = VersionSet::create(dynfs.clone(), dir, String::new()).unwrap();
        let mut e = VersionEdit::default();
        e.delete_file(2, 77);
        assert!(vs.log_and_apply(e).unwrap_err().is_corruption());
        drop(vs);
        write_file_atomic(&fs, &current_path(dir), b"MANIFEST-000999\n").unwrap();
        assert!(matches!(
            VersionSet::recover(dynfs.clone(), dir),
            Err(Error::NotFound(_))
        ));
        write_file_atomic(&fs, &current_path(dir), b"garbage").unwrap();
        assert!(VersionSet::recover(dynfs.clone(), dir)
            .unwrap_err()
            .is_corruption());
    }

    #[test]
    fn newer_format_is_refused() {
        let (_fs, dynfs) = setup();
        let dir = Path::new("/db");
        let mut vs = VersionSet::create(dynfs.clone(), dir, String::new()).unwrap();
        vs.log_and_apply(VersionEdit {
            format_version: Some(99),
            ..Default::default()
        })
        .unwrap();
        drop(vs);
        assert!(matches!(
            VersionSet::recover(dynfs, dir),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn damaged_middle_record_is_corruption() {
        let (fs, dynfs) = setup();
        let dir = Path::new("/db");
        let mut vs = VersionSet::create(dynfs.clone(), dir, String::new()).unwrap();
        for i in 0..5 {
            let n = vs.new_file_number();
            let mut e = VersionEdit::default();
            e.add_file(0, meta(n, "a", &format!("z{i}")));
            vs.log_and_apply(e).unwrap();
        }
        let path = manifest_path(dir, vs.manifest_number());
        drop(vs);
        // The first record is the snapshot; damage its payload (after the 11-byte header).
        fs.corrupt(&path, 13, b"\xff").unwrap();
        assert!(VersionSet::recover(dynfs, dir).unwrap_err().is_corruption());
    }
}
