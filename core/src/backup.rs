//! Incremental backups of a live database, after RocksDB's `BackupEngine` (its wiki page
//! "How to backup RocksDB" describes the scheme; this is our own implementation of it).
//!
//! ```text
//! BACKUP_DIR/
//!   shared/NNNNNN_SIZE_XXH64.sst   SSTables, shared by every backup that contains them
//!   private/N/                     backup N's other files: MANIFEST-*, CURRENT, WAL segments
//!   meta/N                         backup N's file list (name, where stored, size, xxh64)
//!   tmp/N/                         staging of a backup being made (a checkpoint)
//! ```
//!
//! SSTables never change once written, so a table already in `shared/` under the same
//! number, size and hash need not be stored again: a second backup of a database that
//! changed a little stores only its new tables. `meta/N` is written last and atomically, so
//! a backup exists iff its meta file does; whatever a crash leaves besides (a staging
//! directory, a private directory without meta, shared files no meta names) is removed by
//! the next [`BackupEngine::open`].
//!
//! ```
//! use kevo::backup::BackupEngine;
//! use kevo::{Db, Options};
//! # fn main() -> kevo::Result<()> {
//! let tmp = tempfile::tempdir().expect("temporary directory");
//! let db = Db::open(tmp.path().join("db"), Options::default())?;
//! db.put(b"k", b"v1")?;
//! let engine = BackupEngine::open(tmp.path().join("backups"))?;
//! let first = engine.create_backup(&db)?;
//! db.put(b"k", b"v2")?;
//! engine.create_backup(&db)?;
//! assert_eq!(engine.list_backups()?.len(), 2);
//!
//! // Every file's size and xxh64 are checked as it is copied.
//! engine.restore(first.id, tmp.path().join("restored"))?;
//! let restored = Db::open(tmp.path().join("restored"), Options::default())?;
//! assert_eq!(restored.get(b"k")?, Some(b"v1".to_vec()));
//! # Ok(())
//! # }
//! ```
//!
//! Creating and deleting hold the directory's `LOCK` (an `flock`, as the database's own) for
//! their duration, so one process at a time changes a backup directory; a second gets
//! [`Error::Locked`]. Listing, verifying and restoring take no lock and may run beside each
//! other and beside a creation (which adds files no meta names yet); a restore beside a
//! deletion of the same backup may fail with [`Error::Corruption`] for a file that went, and
//! then leaves nothing behind. [`BackupEngine::open`] removes leftovers only when it can
//! take the lock, so opening to list never disturbs a backup being made elsewhere.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use xxhash_rust::xxh64::Xxh64;

use crate::db::Db;
use crate::error::{Error, Result};
use crate::filename::{parse_file_name, table_file_name, FileKind};
use crate::fs::{
    copy_prefix, write_file_atomic, FileLock, FileSystem, OsFileSystem, RandomAccessFile,
};

/// First line of every meta file; bump it if the format changes.
const META_MAGIC: &str = "kevo-backup 1";

/// Hashing and copying go 1 MiB at a time: bounded memory for files of any size.
const CHUNK: usize = 1 << 20;

/// One backup, as [`BackupEngine::create_backup`] made it and
/// [`BackupEngine::list_backups`] reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    /// The backup's id: 1 for the first, then one above the highest existing.
    pub id: u64,
    /// When it was made, in seconds since the Unix epoch.
    pub timestamp: u64,
    /// Files it contains (SSTables, WAL segments, manifest, `CURRENT`).
    pub num_files: usize,
    /// Bytes of all its files: what a restore writes.
    pub size: u64,
    /// Bytes this backup added to the backup directory (files not already stored).
    pub new_bytes: u64,
    /// SSTables it shares with an earlier backup instead of storing them again.
    pub files_reused: usize,
    /// Wall-clock time it took to make.
    pub duration: Duration,
}

/// One file of a backup, as its meta file lists it.
#[derive(Debug, Clone)]
struct FileEntry {
    /// Its name in the database directory.
    name: String,
    /// Where it is, relative to the backup directory (`shared/...` or `private/N/...`).
    stored: String,
    size: u64,
    hash: u64,
}

#[derive(Debug, Clone)]
struct Meta {
    info: BackupInfo,
    files: Vec<FileEntry>,
}

/// Makes, lists, verifies, restores and deletes incremental backups in one directory
/// (RocksDB's `BackupEngine`; the layout is in the [module docs](self)).
#[derive(Debug)]
pub struct BackupEngine {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    /// Serialises creations and deletions through this handle (the id and the set of
    /// referenced shared files must not change under them).
    writing: Mutex<()>,
}

impl BackupEngine {
    /// Opens (creating it if missing) the backup directory `dir` on the real file system,
    /// and removes what an interrupted backup or deletion left (see the module docs). If a
    /// meta file cannot be parsed, no shared file is removed (it might name any of them);
    /// [`list_backups`](Self::list_backups) then reports it.
    ///
    /// Errors: [`Error::Io`] creating the directories or removing leftovers.
    pub fn open(dir: impl AsRef<Path>) -> Result<BackupEngine> {
        Self::with_fs(Arc::new(OsFileSystem), dir)
    }

    /// As [`open`](Self::open), on file system `fs`, which must be the one of every database
    /// later backed up through this engine (the checkpoint is staged inside `dir`, so that
    /// its tables hard-link).
    ///
    /// Errors: as [`open`](Self::open).
    pub fn with_fs(fs: Arc<dyn FileSystem>, dir: impl AsRef<Path>) -> Result<BackupEngine> {
        let engine = BackupEngine {
            fs,
            dir: dir.as_ref().to_owned(),
            writing: Mutex::new(()),
        };
        for sub in ["shared", "private", "meta", "tmp"] {
            engine.fs.create_dir_all(&engine.dir.join(sub))?;
        }
        match engine.lock() {
            Ok(_lock) => engine.remove_leftovers()?,
            // Another process is making or deleting a backup: its files are not leftovers.
            Err(Error::Locked(_)) => {}
            Err(e) => return Err(e),
        }
        Ok(engine)
    }

    /// The backup directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Backs up `db` (writable or read-only, e.g. beside a writer process): a checkpoint
    /// staged in `tmp/N`, whose tables go to `shared/` unless already there and whose other
    /// files go to `private/N/`; then `meta/N`. Tables whose number and size match one in
    /// `shared/` are left out of the staging checkpoint and hashed in the database's
    /// directory instead (held open from the checkpoint's moment, so compactions cannot take
    /// them): an unchanged table costs one read, never a copy, even across devices. Every write acknowledged before the call is
    /// in the backup, as for [`Db::checkpoint`]. On failure what it wrote is removed and
    /// earlier backups are untouched.
    ///
    /// Errors: [`Error::Closed`] for a closed `db`; [`Error::Io`] reading the database or
    /// writing the backup (e.g. ENOSPC); [`Error::Corruption`] if a meta file is unreadable.
    pub fn create_backup(&self, db: &Db) -> Result<BackupInfo> {
        let _w = self.writing.lock();
        let _lock = self.lock()?;
        let start = Instant::now();
        let id = self.read_all_meta()?.last().map_or(1, |m| m.info.id + 1);
        let mut added_shared = Vec::new();
        let result = self.try_create(db, id, start, &mut added_shared);
        if result.is_err() {
            // Best effort: the next open removes whatever this misses. The meta file first:
            // if only the directory sync after its rename failed it is in place, and a meta
            // naming files removed below would be a backup that cannot restore.
            let _ = self.fs.remove(&self.meta_path(id));
            let _ = self.fs.remove(&self.meta_path(id).with_extension("tmp"));
            for p in &added_shared {
                let _ = self.fs.remove(p);
            }
            let _ = remove_tree(self.fs.as_ref(), &self.tmp_dir(id));
            let _ = remove_tree(self.fs.as_ref(), &self.private_dir(id));
        }
        result
    }

    fn try_create(
        &self,
        db: &Db,
        id: u64,
        start: Instant,
        added_shared: &mut Vec<PathBuf>,
    ) -> Result<BackupInfo> {
        let fs = self.fs.as_ref();
        let tmp = self.tmp_dir(id);
        let private = self.private_dir(id);
        remove_tree(fs, &tmp)?;
        remove_tree(fs, &private)?;
        // Tables whose number and size match a stored one are not put in the staging
        // checkpoint (a copy, across devices) but hashed where they are: unchanged tables
        // cost one read, not a copy and a read.
        let stored_tables: HashSet<(u64, u64)> = fs
            .list(&self.dir.join("shared"))?
            .iter()
            .filter_map(|n| parse_shared_name(n))
            .map(|(number, size, _)| (number, size))
            .collect();
        let (_, held) = db.checkpoint_except(&tmp, &|number, size| {
            stored_tables.contains(&(number, size))
        })?;
        fs.create_dir_all(&private)?;
        let mut files = Vec::new();
        let (mut size, mut new_bytes, mut reused) = (0, 0, 0);
        for t in held {
            let name = table_file_name(t.number);
            let (len, hash) = hash_file(t.file.as_ref(), &tmp.join(&name))?;
            if len != t.size {
                return Err(Error::corruption(
                    name,
                    0,
                    format!("table is {len} bytes, the manifest says {}", t.size),
                ));
            }
            size += len;
            let stored = shared_name(t.number, len, hash);
            let to = self.dir.join(&stored);
            if fs.exists(&to) {
                reused += 1;
            } else {
                // Same number and size, other bytes: a table of another database.
                added_shared.push(to.clone());
                copy_prefix(fs, t.file.as_ref(), len, &to)?;
                new_bytes += len;
            }
            files.push(FileEntry {
                name,
                stored,
                size: len,
                hash,
            });
        }
        let mut names = fs.list(&tmp)?;
        names.sort();
        for name in names {
            let from = tmp.join(&name);
            let (len, hash) = hash_file(fs.open(&from)?.as_ref(), &from)?;
            size += len;
            let stored = if let Some(FileKind::Table(n)) = parse_file_name(&name) {
                let stored = shared_name(n, len, hash);
                let to = self.dir.join(&stored);
                if fs.exists(&to) {
                    fs.remove(&from)?;
                    reused += 1;
                } else {
                    fs.rename(&from, &to)?;
                    added_shared.push(to);
                    new_bytes += len;
                }
                stored
            } else {
                fs.rename(&from, &private.join(&name))?;
                new_bytes += len;
                format!("private/{id}/{name}")
            };
            files.push(FileEntry {
                name,
                stored,
                size: len,
                hash,
            });
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        fs.sync_dir(&self.dir.join("shared"))?;
        fs.sync_dir(&private)?;
        fs.sync_dir(&self.dir.join("private"))?;
        fs.remove_dir(&tmp)?;
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let meta = Meta {
            info: BackupInfo {
                id,
                timestamp,
                num_files: files.len(),
                size,
                new_bytes,
                files_reused: reused,
                // Microseconds, as the meta file keeps it: what `list_backups` reads back.
                duration: Duration::from_micros(start.elapsed().as_micros() as u64),
            },
            files,
        };
        // Last: from here on the backup exists.
        write_file_atomic(fs, &self.meta_path(id), encode_meta(&meta).as_bytes())?;
        Ok(meta.info)
    }

    /// Every backup, ordered by id.
    ///
    /// Errors: [`Error::Corruption`] naming a meta file that cannot be parsed; [`Error::Io`].
    pub fn list_backups(&self) -> Result<Vec<BackupInfo>> {
        Ok(self.read_all_meta()?.into_iter().map(|m| m.info).collect())
    }

    /// Checks every file of backup `id` (present, of the recorded size in bytes and xxh64)
    /// without restoring it.
    ///
    /// Errors: [`Error::NotFound`] if there is no backup `id`; [`Error::Corruption`] naming
    /// the first file that is missing or differs; [`Error::Io`].
    pub fn verify(&self, id: u64) -> Result<()> {
        let meta = self.read_meta(id)?;
        for f in &meta.files {
            let path = self.dir.join(&f.stored);
            let file = self.open_stored(f, &path)?;
            let (len, hash) = hash_file(file.as_ref(), &path)?;
            check(f, &path, len, hash)?;
        }
        Ok(())
    }

    /// Writes backup `id` into `target` (absent or empty) as an openable database: every
    /// file under its original name, its size and xxh64 checked while it is copied, `CURRENT`
    /// last. On any failure the files it wrote are removed (and `target` too if it created
    /// it), so no partial database is left.
    ///
    /// Errors: [`Error::InvalidArgument`] if `target` exists and is not empty (untouched);
    /// [`Error::NotFound`] if there is no backup `id`; [`Error::Corruption`] naming a file of
    /// the backup that is missing or differs from its record; [`Error::Io`].
    pub fn restore(&self, id: u64, target: impl AsRef<Path>) -> Result<()> {
        let target = target.as_ref();
        let fs = self.fs.as_ref();
        let meta = self.read_meta(id)?;
        let existed = fs.exists(target);
        if existed && !fs.list(target)?.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "restore target {} exists and is not empty",
                target.display()
            )));
        }
        fs.create_dir_all(target)?;
        let mut files = meta.files.clone();
        // `CURRENT` last: until it exists the directory is no database.
        files.sort_by_key(|f| f.name == "CURRENT");
        let mut written = Vec::new();
        let result = (|| {
            for f in &files {
                let to = target.join(&f.name);
                written.push(to.clone());
                self.restore_file(f, &to)?;
            }
            fs.sync_dir(target)
        })();
        if result.is_err() {
            for p in &written {
                let _ = fs.remove(p);
            }
            if !existed {
                let _ = fs.remove_dir(target);
            }
        }
        result
    }

    /// [`restore`](Self::restore) of the backup with the highest id.
    ///
    /// Errors: [`Error::NotFound`] if there is no backup; otherwise as `restore`.
    pub fn restore_latest(&self, target: impl AsRef<Path>) -> Result<()> {
        let latest = self.list_backups()?.last().map(|b| b.id);
        match latest {
            Some(id) => self.restore(id, target),
            None => Err(Error::NotFound(format!(
                "no backup in {}",
                self.dir.display()
            ))),
        }
    }

    /// Deletes backup `id`: its meta file first (from then on it does not exist), then its
    /// private directory, then the shared files no remaining backup references.
    ///
    /// Errors: [`Error::NotFound`] if there is no backup `id`; [`Error::Corruption`] if
    /// another meta file is unreadable (its shared files are then kept); [`Error::Io`].
    pub fn delete_backup(&self, id: u64) -> Result<()> {
        let _w = self.writing.lock();
        let _lock = self.lock()?;
        let meta_path = self.meta_path(id);
        if !self.fs.exists(&meta_path) {
            return Err(Error::NotFound(format!(
                "backup {id} in {}",
                self.dir.display()
            )));
        }
        self.fs.remove(&meta_path)?;
        self.fs.sync_dir(&self.dir.join("meta"))?;
        remove_tree(self.fs.as_ref(), &self.private_dir(id))?;
        self.fs.sync_dir(&self.dir.join("private"))?;
        self.purge_unreferenced()
    }

    fn restore_file(&self, f: &FileEntry, to: &Path) -> Result<()> {
        let from = self.dir.join(&f.stored);
        let src = self.open_stored(f, &from)?;
        if src.len() != f.size {
            return Err(mismatch(f, &from, "size", src.len(), f.size));
        }
        let mut out = self.fs.create(to)?;
        let mut hasher = Xxh64::new(0);
        let mut buf = vec![0u8; CHUNK.min(f.size as usize)];
        let mut at = 0;
        while at < f.size {
            let n = (CHUNK as u64).min(f.size - at) as usize;
            src.read_exact_at(at, &mut buf[..n])?;
            hasher.update(&buf[..n]);
            out.append(&buf[..n])?;
            at += n as u64;
        }
        check(f, &from, f.size, hasher.digest())?;
        out.sync()
    }

    fn open_stored(&self, f: &FileEntry, path: &Path) -> Result<Arc<dyn RandomAccessFile>> {
        self.fs.open(path).map_err(|e| match e {
            Error::NotFound(_) => Error::corruption(
                path.display().to_string(),
                0,
                format!("file {} of the backup is missing", f.name),
            ),
            e => e,
        })
    }

    /// The directory's `LOCK`, held while backups are created or deleted.
    fn lock(&self) -> Result<Box<dyn FileLock>> {
        self.fs.lock(&self.dir.join("LOCK"))
    }

    fn meta_path(&self, id: u64) -> PathBuf {
        self.dir.join("meta").join(id.to_string())
    }

    fn private_dir(&self, id: u64) -> PathBuf {
        self.dir.join("private").join(id.to_string())
    }

    fn tmp_dir(&self, id: u64) -> PathBuf {
        self.dir.join("tmp").join(id.to_string())
    }

    fn read_meta(&self, id: u64) -> Result<Meta> {
        let path = self.meta_path(id);
        let data = match self.fs.read_all(&path) {
            Err(Error::NotFound(_)) => {
                return Err(Error::NotFound(format!(
                    "backup {id} in {}",
                    self.dir.display()
                )))
            }
            r => r?,
        };
        decode_meta(&data).ok_or_else(|| {
            Error::corruption(
                path.display().to_string(),
                0,
                "unparseable backup meta file",
            )
        })
    }

    /// Every meta file, ordered by id.
    fn read_all_meta(&self) -> Result<Vec<Meta>> {
        let mut ids: Vec<u64> = self
            .fs
            .list(&self.dir.join("meta"))?
            .iter()
            .filter_map(|n| n.parse().ok())
            .collect();
        ids.sort_unstable();
        ids.into_iter().map(|id| self.read_meta(id)).collect()
    }

    /// Removes staging directories, half-written meta files, private directories without
    /// meta and shared files no meta references: the traces of an interrupted call.
    fn remove_leftovers(&self) -> Result<()> {
        let fs = self.fs.as_ref();
        let tmp = self.dir.join("tmp");
        for name in fs.list(&tmp)? {
            remove_tree(fs, &tmp.join(name))?;
        }
        let meta_dir = self.dir.join("meta");
        let mut ids = HashSet::new();
        for name in fs.list(&meta_dir)? {
            match name.parse::<u64>() {
                Ok(id) => {
                    ids.insert(id);
                }
                Err(_) => fs.remove(&meta_dir.join(name))?,
            }
        }
        let private = self.dir.join("private");
        for name in fs.list(&private)? {
            if !name.parse().is_ok_and(|id: u64| ids.contains(&id)) {
                remove_tree(fs, &private.join(name))?;
            }
        }
        match self.purge_unreferenced() {
            // An unreadable meta file may name any shared file: keep them all, and let
            // `list_backups` report it (the backup can still be deleted).
            Err(e) if e.is_corruption() => Ok(()),
            r => r,
        }
    }

    fn purge_unreferenced(&self) -> Result<()> {
        let fs = self.fs.as_ref();
        let referenced: HashSet<String> = self
            .read_all_meta()?
            .into_iter()
            .flat_map(|m| m.files.into_iter().map(|f| f.stored))
            .collect();
        let shared = self.dir.join("shared");
        for name in fs.list(&shared)? {
            if !referenced.contains(&format!("shared/{name}")) {
                fs.remove(&shared.join(name))?;
            }
        }
        fs.sync_dir(&shared)
    }
}

/// Where table `number` of `size` bytes and xxh64 `hash` is stored, relative to the backup
/// directory.
fn shared_name(number: u64, size: u64, hash: u64) -> String {
    format!("shared/{number:06}_{size}_{hash:016x}.sst")
}

/// (number, size, xxh64) of a file name in `shared/`, as [`shared_name`] makes them.
fn parse_shared_name(name: &str) -> Option<(u64, u64, u64)> {
    let mut parts = name.strip_suffix(".sst")?.split('_');
    let number = parts.next()?.parse().ok()?;
    let size = parts.next()?.parse().ok()?;
    let hash = u64::from_str_radix(parts.next()?, 16).ok()?;
    parts.next().is_none().then_some((number, size, hash))
}

/// Removes `dir`'s files and then `dir` (backups nest one level only); nothing if absent.
fn remove_tree(fs: &dyn FileSystem, dir: &Path) -> Result<()> {
    if !fs.exists(dir) {
        return Ok(());
    }
    for name in fs.list(dir)? {
        fs.remove(&dir.join(name))?;
    }
    fs.remove_dir(dir)
}

/// (length, xxh64) of a whole file.
fn hash_file(file: &dyn RandomAccessFile, path: &Path) -> Result<(u64, u64)> {
    let len = file.len();
    let mut hasher = Xxh64::new(0);
    let mut buf = vec![0u8; CHUNK.min(len as usize)];
    let mut at = 0;
    while at < len {
        let n = (CHUNK as u64).min(len - at) as usize;
        file.read_exact_at(at, &mut buf[..n]).map_err(|e| match e {
            Error::NotFound(_) => Error::NotFound(path.display().to_string()),
            e => e,
        })?;
        hasher.update(&buf[..n]);
        at += n as u64;
    }
    Ok((len, hasher.digest()))
}

fn check(f: &FileEntry, path: &Path, len: u64, hash: u64) -> Result<()> {
    if len != f.size {
        return Err(mismatch(f, path, "size", len, f.size));
    }
    if hash != f.hash {
        return Err(Error::corruption(
            path.display().to_string(),
            0,
            format!(
                "xxh64 of backup file {} is {hash:016x}, recorded {:016x}",
                f.name, f.hash
            ),
        ));
    }
    Ok(())
}

fn mismatch(f: &FileEntry, path: &Path, what: &str, found: u64, want: u64) -> Error {
    Error::corruption(
        path.display().to_string(),
        0,
        format!(
            "{what} of backup file {} is {found}, recorded {want}",
            f.name
        ),
    )
}

/// The meta file: a line per field, then a line per file. Text, so that a person can read
/// what a backup holds; names never contain spaces (kevo names its own files).
fn encode_meta(m: &Meta) -> String {
    let i = &m.info;
    let mut s = format!(
        "{META_MAGIC}\nid {}\ntimestamp {}\nsize {}\nnew_bytes {}\nfiles_reused {}\nduration_us {}\nfiles {}\n",
        i.id,
        i.timestamp,
        i.size,
        i.new_bytes,
        i.files_reused,
        i.duration.as_micros(),
        m.files.len()
    );
    for f in &m.files {
        s.push_str(&format!(
            "file {} {} {} {:016x}\n",
            f.name, f.stored, f.size, f.hash
        ));
    }
    s
}

fn decode_meta(data: &[u8]) -> Option<Meta> {
    let text = std::str::from_utf8(data).ok()?;
    let mut lines = text.lines();
    if lines.next()? != META_MAGIC {
        return None;
    }
    let mut field = |name: &str| -> Option<u64> {
        let line = lines.next()?;
        line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok()
    };
    let id = field("id")?;
    let timestamp = field("timestamp")?;
    let size = field("size")?;
    let new_bytes = field("new_bytes")?;
    let files_reused = field("files_reused")? as usize;
    let duration = Duration::from_micros(field("duration_us")?);
    let count = field("files")? as usize;
    let mut files = Vec::with_capacity(count);
    for line in lines {
        let mut parts = line.strip_prefix("file ")?.split(' ');
        let name = parts.next()?.to_owned();
        let stored = parts.next()?.to_owned();
        let size = parts.next()?.parse().ok()?;
        let hash = u64::from_str_radix(parts.next()?, 16).ok()?;
        files.push(FileEntry {
            name,
            stored,
            size,
            hash,
        });
    }
    if files.len() != count || files.iter().map(|f| f.size).sum::<u64>() != size {
        return None;
    }
    Some(Meta {
        info: BackupInfo {
            id,
            timestamp,
            num_files: count,
            size,
            new_bytes,
            files_reused,
            duration,
        },
        files,
    })
}
