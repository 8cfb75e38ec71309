//! [`MemFileSystem`]: an in-memory file system for tests, with simulated power loss and
//! injected I/O errors.
//!
//! Each file keeps its bytes and the length that was last synced. The namespace (which names
//! exist) is kept twice: the live one, and the durable one as of the last
//! [`FileSystem::sync_dir`] of each directory. [`MemFileSystem::crash`] turns the live state
//! into what a machine would find after losing power: files cut back to their synced length
//! (or a random part of the unsynced tail kept, a torn write), and optionally the namespace
//! rolled back to its durable copy.

use std::collections::{HashMap, HashSet};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use super::{FileLock, FileSystem, RandomAccessFile, WritableFile};
use crate::error::{Error, Result};

/// Which error an injected fault produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// `ENOSPC`: the disk is full.
    NoSpace,
    /// `EIO`: the device failed.
    Io,
}

/// What a simulated power loss does to data that was not made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashMode {
    /// Keep a random prefix of each file's unsynced bytes instead of dropping them all
    /// (a torn write).
    pub tear_unsynced: bool,
    /// Roll the namespace back to the last `sync_dir` of each directory: unsynced creations,
    /// renames and removals are forgotten.
    pub forget_unsynced_dir_entries: bool,
    /// Seed for the random choices.
    pub seed: u64,
}

impl CrashMode {
    /// Drop every unsynced byte; keep the namespace as it is.
    pub fn drop_unsynced() -> Self {
        CrashMode {
            tear_unsynced: false,
            forget_unsynced_dir_entries: false,
            seed: 0,
        }
    }
}

#[derive(Debug, Default)]
struct MemFile {
    data: Vec<u8>,
    synced_len: usize,
}

type FileRef = Arc<Mutex<MemFile>>;

#[derive(Debug)]
struct Fault {
    /// Fail when the op counter reaches this value.
    at_op: u64,
    kind: FaultKind,
    /// Keep failing every later operation too (a dead disk), instead of only once.
    sticky: bool,
}

#[derive(Debug, Default)]
struct State {
    live: HashMap<PathBuf, FileRef>,
    durable: HashMap<PathBuf, FileRef>,
    dirs: HashSet<PathBuf>,
    locks: HashSet<PathBuf>,
    ops: u64,
    fault: Option<Fault>,
    /// Bumped by every crash; handles of an older generation belong to the "dead process".
    generation: u64,
    /// Number of file syncs completed.
    syncs: u64,
    /// How long each file sync takes (a slow disk, for group-commit tests).
    sync_delay: std::time::Duration,
}

/// An in-memory [`FileSystem`]. Cloning it gives another handle to the same files.
///
/// A handle belongs to one "machine life": after [`crash`](Self::crash), every operation
/// through an older handle (or a file opened through one) fails with `EIO`, as the process
/// that held it is gone; use the handle `crash` returns.
#[derive(Debug, Clone, Default)]
pub struct MemFileSystem {
    state: Arc<Mutex<State>>,
    generation: u64,
}

impl MemFileSystem {
    /// An empty file system.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of mutating operations (create, reserve, append, sync, rename, remove, sync_dir) run so
    /// far; use it to pick `n` for [`fail_at`](Self::fail_at).
    pub fn op_count(&self) -> u64 {
        self.state.lock().ops
    }

    /// Makes the mutating operation numbered `n` (counting from the current
    /// [`op_count`](Self::op_count), 0 = the next one) fail with `kind`; with `sticky`, every
    /// later one fails too.
    pub fn fail_at(&self, n: u64, kind: FaultKind, sticky: bool) {
        let mut s = self.state.lock();
        let at_op = s.ops + n;
        s.fault = Some(Fault {
            at_op,
            kind,
            sticky,
        });
    }

    /// Number of file syncs completed so far.
    pub fn sync_count(&self) -> u64 {
        self.state.lock().syncs
    }

    /// Makes every file sync take `delay` (a slow disk).
    pub fn set_sync_delay(&self, delay: std::time::Duration) {
        self.state.lock().sync_delay = delay;
    }

    /// Removes any injected fault.
    pub fn clear_faults(&self) {
        self.state.lock().fault = None;
    }

    /// Simulates a power loss (see [`CrashMode`]) and returns the handle for the machine's
    /// next life. Locks are released; every older handle, and every file opened through one,
    /// fails from now on with `EIO`, so a database still open on it can change nothing.
    pub fn crash(&self, mode: CrashMode) -> MemFileSystem {
        let mut s = self.state.lock();
        s.generation += 1;
        let next_life = MemFileSystem {
            state: self.state.clone(),
            generation: s.generation,
        };
        let mut rng = mode.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        if mode.forget_unsynced_dir_entries {
            let durable = s.durable.clone();
            s.live = durable;
        }
        let mut files: Vec<(PathBuf, FileRef)> =
            s.live.iter().map(|(p, f)| (p.clone(), f.clone())).collect();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, f) in files {
            let mut f = f.lock();
            let unsynced = f.data.len() - f.synced_len;
            let keep = if mode.tear_unsynced && unsynced > 0 {
                (next() % (unsynced as u64 + 1)) as usize
            } else {
                0
            };
            let new_len = f.synced_len + keep;
            f.data.truncate(new_len);
            f.synced_len = new_len;
        }
        s.locks.clear();
        s.fault = None;
        next_life
    }

    /// An independent copy of the whole file system as it is now (files, synced lengths,
    /// directories; no locks, no faults). Tests use it to try many damages on one image.
    pub fn fork(&self) -> MemFileSystem {
        let s = self.state.lock();
        let copy = |f: &FileRef| -> FileRef {
            let f = f.lock();
            Arc::new(Mutex::new(MemFile {
                data: f.data.clone(),
                synced_len: f.synced_len,
            }))
        };
        let mut copies: HashMap<*const Mutex<MemFile>, FileRef> = HashMap::new();
        let mut map = |m: &HashMap<PathBuf, FileRef>| -> HashMap<PathBuf, FileRef> {
            m.iter()
                .map(|(p, f)| {
                    (
                        p.clone(),
                        copies
                            .entry(Arc::as_ptr(f))
                            .or_insert_with(|| copy(f))
                            .clone(),
                    )
                })
                .collect()
        };
        let live = map(&s.live);
        let durable = map(&s.durable);
        MemFileSystem {
            state: Arc::new(Mutex::new(State {
                live,
                durable,
                dirs: s.dirs.clone(),
                ..State::default()
            })),
            generation: 0,
        }
    }

    /// Overwrites bytes of a file in place (for corruption tests). Errors if the file does not
    /// exist or the range runs past its end.
    pub fn corrupt(&self, path: &Path, offset: usize, bytes: &[u8]) -> Result<()> {
        let f = self.file(path)?;
        let mut f = f.lock();
        let end = offset + bytes.len();
        if end > f.data.len() {
            return Err(Error::InvalidArgument(format!(
                "corrupt past end of {}",
                path.display()
            )));
        }
        f.data[offset..end].copy_from_slice(bytes);
        Ok(())
    }

    /// Cuts a file to `len` bytes (for torn-write tests).
    pub fn truncate(&self, path: &Path, len: usize) -> Result<()> {
        let f = self.file(path)?;
        let mut f = f.lock();
        f.data.truncate(len);
        f.synced_len = f.synced_len.min(len);
        Ok(())
    }

    fn file(&self, path: &Path) -> Result<FileRef> {
        self.state
            .lock()
            .live
            .get(path)
            .cloned()
            .ok_or_else(|| Error::NotFound(path.display().to_string()))
    }

    /// Counts one mutating operation and returns the injected error if it is due.
    fn op(&self, what: &str, path: &Path) -> Result<()> {
        self.op_locked(&mut self.state.lock(), what, path)
    }

    fn op_locked(&self, s: &mut State, what: &str, path: &Path) -> Result<()> {
        if self.generation != s.generation {
            return Err(Error::io(
                format!(
                    "{what} {} (the simulated machine lost power)",
                    path.display()
                ),
                std::io::Error::from_raw_os_error(libc::EIO),
            ));
        }
        let n = s.ops;
        s.ops += 1;
        if let Some(f) = &s.fault {
            if n == f.at_op || (f.sticky && n > f.at_op) {
                let e = match f.kind {
                    FaultKind::NoSpace => std::io::Error::from_raw_os_error(libc::ENOSPC),
                    FaultKind::Io => std::io::Error::from_raw_os_error(libc::EIO),
                };
                return Err(Error::io(
                    format!("{what} {} (injected)", path.display()),
                    e,
                ));
            }
        }
        Ok(())
    }
}

fn parent(p: &Path) -> PathBuf {
    p.parent().map(Path::to_path_buf).unwrap_or_default()
}

struct MemWritable {
    fs: MemFileSystem,
    path: PathBuf,
    file: FileRef,
}

impl WritableFile for MemWritable {
    fn append(&mut self, data: &[u8]) -> Result<()> {
        self.fs.op("append", &self.path)?;
        self.file.lock().data.extend_from_slice(data);
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
    fn sync(&mut self) -> Result<()> {
        self.fs.op("sync", &self.path)?;
        // Only what was written when the sync started is covered by it.
        let len = self.file.lock().data.len();
        let delay = self.fs.state.lock().sync_delay;
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        let mut f = self.file.lock();
        f.synced_len = f.synced_len.max(len.min(f.data.len()));
        drop(f);
        self.fs.state.lock().syncs += 1;
        Ok(())
    }
    fn len(&self) -> u64 {
        self.file.lock().data.len() as u64
    }
}

struct MemReadable {
    path: PathBuf,
    file: FileRef,
}

impl RandomAccessFile for MemReadable {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let f = self.file.lock();
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        match start
            .checked_add(buf.len())
            .and_then(|end| f.data.get(start..end))
        {
            Some(src) => {
                buf.copy_from_slice(src);
                Ok(())
            }
            None => Err(Error::io(
                format!(
                    "read {} bytes at offset {offset} of {}",
                    buf.len(),
                    self.path.display()
                ),
                std::io::Error::from(ErrorKind::UnexpectedEof),
            )),
        }
    }
    fn len(&self) -> u64 {
        self.file.lock().data.len() as u64
    }
}

#[derive(Debug)]
struct MemLock {
    state: Arc<Mutex<State>>,
    path: PathBuf,
    generation: u64,
}

impl FileLock for MemLock {}

impl Drop for MemLock {
    fn drop(&mut self) {
        let mut s = self.state.lock();
        // A lock of a crashed generation was already released by the crash.
        if s.generation == self.generation {
            s.locks.remove(&self.path);
        }
    }
}

impl FileSystem for MemFileSystem {
    fn create_dir_all(&self, dir: &Path) -> Result<()> {
        let mut s = self.state.lock();
        let mut d = Some(dir);
        while let Some(p) = d {
            if p.as_os_str().is_empty() {
                break;
            }
            s.dirs.insert(p.to_owned());
            d = p.parent();
        }
        Ok(())
    }

    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        let mut s = self.state.lock();
        self.op_locked(&mut s, "create", path)?;
        if !s.dirs.contains(&parent(path)) {
            return Err(Error::NotFound(format!("directory of {}", path.display())));
        }
        let file: FileRef = Arc::default();
        s.live.insert(path.to_owned(), file.clone());
        Ok(Box::new(MemWritable {
            fs: self.clone(),
            path: path.to_owned(),
            file,
        }))
    }

    /// As [`create`](FileSystem::create), then a separate *reserve* operation that can fail
    /// on its own: the real file system reserves a log's space (`posix_fallocate`) after
    /// creating the file, and on a full disk that fails with the empty file left behind.
    fn create_log(&self, path: &Path, size_hint: u64) -> Result<Box<dyn WritableFile>> {
        let _ = size_hint;
        let file = self.create(path)?;
        let mut s = self.state.lock();
        self.op_locked(&mut s, "reserve", path)?;
        Ok(file)
    }

    fn open(&self, path: &Path) -> Result<Arc<dyn RandomAccessFile>> {
        let file = self.file(path)?;
        Ok(Arc::new(MemReadable {
            path: path.to_owned(),
            file,
        }))
    }

    fn exists(&self, path: &Path) -> bool {
        let s = self.state.lock();
        s.live.contains_key(path) || s.dirs.contains(path)
    }

    fn list(&self, dir: &Path) -> Result<Vec<String>> {
        let s = self.state.lock();
        if !s.dirs.contains(dir) {
            return Err(Error::NotFound(dir.display().to_string()));
        }
        // Subdirectories too, as `read_dir` lists them: backups walk theirs.
        Ok(s.live
            .keys()
            .chain(s.dirs.iter())
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect())
    }

    fn remove(&self, path: &Path) -> Result<()> {
        let mut s = self.state.lock();
        self.op_locked(&mut s, "remove", path)?;
        s.live
            .remove(path)
            .map(|_| ())
            .ok_or_else(|| Error::NotFound(path.display().to_string()))
    }

    fn remove_dir(&self, dir: &Path) -> Result<()> {
        let mut s = self.state.lock();
        self.op_locked(&mut s, "remove_dir", dir)?;
        if !s.dirs.contains(dir) {
            return Err(Error::NotFound(dir.display().to_string()));
        }
        let busy = s.live.keys().any(|p| p.parent() == Some(dir))
            || s.dirs.iter().any(|d| d.parent() == Some(dir));
        if busy {
            return Err(Error::io(
                format!("remove directory {}", dir.display()),
                std::io::Error::from_raw_os_error(libc::ENOTEMPTY),
            ));
        }
        s.dirs.remove(dir);
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        let mut s = self.state.lock();
        self.op_locked(&mut s, "rename", from)?;
        let f = s
            .live
            .remove(from)
            .ok_or_else(|| Error::NotFound(from.display().to_string()))?;
        s.live.insert(to.to_owned(), f);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> Result<()> {
        let mut s = self.state.lock();
        self.op_locked(&mut s, "sync_dir", dir)?;
        s.durable.retain(|p, _| p.parent() != Some(dir));
        let entries: Vec<(PathBuf, FileRef)> = s
            .live
            .iter()
            .filter(|(p, _)| p.parent() == Some(dir))
            .map(|(p, f)| (p.clone(), f.clone()))
            .collect();
        s.durable.extend(entries);
        Ok(())
    }

    fn lock(&self, path: &Path) -> Result<Box<dyn FileLock>> {
        let mut s = self.state.lock();
        self.op_locked(&mut s, "lock", path)?;
        if !s.locks.insert(path.to_owned()) {
            return Err(Error::Locked(parent(path)));
        }
        if !s.live.contains_key(path) {
            s.live.insert(path.to_owned(), Arc::default());
        }
        Ok(Box::new(MemLock {
            state: self.state.clone(),
            path: path.to_owned(),
            generation: self.generation,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_drops_unsynced_bytes_and_entries() {
        let fs = MemFileSystem::new();
        let dir = Path::new("/db");
        fs.create_dir_all(dir).unwrap();
        let mut a = fs.create(&dir.join("a")).unwrap();
        a.append(b"hello").unwrap();
        a.sync().unwrap();
        a.append(b" world").unwrap();
        fs.sync_dir(dir).unwrap();
        let mut b = fs.create(&dir.join("b")).unwrap();
        b.append(b"x").unwrap();
        b.sync().unwrap();
        drop((a, b));
        fs.crash(CrashMode {
            forget_unsynced_dir_entries: true,
            ..CrashMode::drop_unsynced()
        });
        assert_eq!(fs.read_all(&dir.join("a")).unwrap(), b"hello");
        assert!(!fs.exists(&dir.join("b")), "b's entry was never synced");
    }

    #[test]
    fn injected_fault_fires_once_or_sticks() {
        let fs = MemFileSystem::new();
        fs.create_dir_all(Path::new("/d")).unwrap();
        let mut f = fs.create(Path::new("/d/f")).unwrap();
        fs.fail_at(1, FaultKind::NoSpace, false);
        f.append(b"1").unwrap();
        let e = f.append(b"2").unwrap_err();
        assert!(e.to_string().contains("No space"), "{e}");
        f.append(b"3").unwrap();
        fs.fail_at(0, FaultKind::Io, true);
        assert!(f.sync().is_err());
        assert!(f.sync().is_err());
    }

    #[test]
    fn remove_dir_refuses_a_non_empty_directory() {
        let fs = MemFileSystem::new();
        fs.create_dir_all(Path::new("/d/sub")).unwrap();
        fs.create(Path::new("/d/sub/f")).unwrap();
        assert_eq!(fs.list(Path::new("/d")).unwrap(), ["sub"]);
        assert!(
            fs.remove_dir(Path::new("/d")).is_err(),
            "has a subdirectory"
        );
        assert!(fs.remove_dir(Path::new("/d/sub")).is_err(), "has a file");
        fs.remove(Path::new("/d/sub/f")).unwrap();
        fs.remove_dir(Path::new("/d/sub")).unwrap();
        assert!(!fs.exists(Path::new("/d/sub")));
        assert!(matches!(
            fs.remove_dir(Path::new("/d/sub")),
            Err(Error::NotFound(_))
        ));
        fs.remove_dir(Path::new("/d")).unwrap();
    }

    #[test]
    fn lock_is_exclusive_until_dropped() {
        let fs = MemFileSystem::new();
        fs.create_dir_all(Path::new("/d")).unwrap();
        let l = fs.lock(Path::new("/d/LOCK")).unwrap();
        assert!(matches!(
            fs.lock(Path::new("/d/LOCK")),
            Err(Error::Locked(_))
        ));
        drop(l);
        fs.lock(Path::new("/d/LOCK")).unwrap();
    }
}
