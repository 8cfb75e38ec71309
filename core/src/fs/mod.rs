//! The file-system boundary: every byte kevo reads or writes goes through [`FileSystem`].
//!
//! Two implementations ship with the crate:
//!
//! - [`OsFileSystem`]: the real one (`std::fs`, `pread`, `fdatasync`, `flock`).
//! - [`MemFileSystem`]: an in-memory one for tests. It remembers which bytes of each file
//!   were synced, so [`MemFileSystem::crash`] can simulate a power loss by dropping (or
//!   tearing) everything that was not, and it can fail the Nth operation with `ENOSPC` or
//!   `EIO` to test error paths.
//!
//! The contract the engine relies on (and that both implementations honour):
//!
//! - [`WritableFile::append`] may buffer; bytes reach the OS at [`WritableFile::flush`] and
//!   stable storage at [`WritableFile::sync`]. Only synced bytes survive a power loss.
//! - A new file's directory entry, a rename and a removal are durable only after
//!   [`FileSystem::sync_dir`] on the parent directory.

mod mem;
mod mmap_log;
mod os;

pub use mem::{CrashMode, FaultKind, MemFileSystem};
pub use os::OsFileSystem;

use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;

use crate::error::Result;

/// A file open for appending, as the WAL, SSTable builder and manifest writer use it.
pub trait WritableFile: Send {
    /// Appends `data` at the end of the file. May only buffer it in memory.
    ///
    /// Errors: [`Error::Io`](crate::Error::Io) (e.g. ENOSPC when the buffer spills).
    fn append(&mut self, data: &[u8]) -> Result<()>;

    /// Hands every buffered byte to the operating system (survives a process crash, not a
    /// power loss).
    fn flush(&mut self) -> Result<()>;

    /// Flushes and then forces the file's data to stable storage (`fdatasync`): survives a
    /// power loss once this returns `Ok`.
    fn sync(&mut self) -> Result<()>;

    /// Bytes appended so far (buffered or not), i.e. the file's logical length.
    fn len(&self) -> u64;

    /// True if nothing was appended yet.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A file that accepts nothing: appends fail with [`Error::Closed`](crate::Error::Closed),
/// flush and sync succeed. The WAL writer writes to it before recovery opens the real
/// segment and after the database is closed, so a stray write cannot reach any file.
pub(crate) struct NullFile;

impl WritableFile for NullFile {
    fn append(&mut self, _: &[u8]) -> Result<()> {
        Err(crate::error::Error::Closed)
    }
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
    fn sync(&mut self) -> Result<()> {
        Ok(())
    }
    fn len(&self) -> u64 {
        0
    }
}

/// A file open for positional reads, shared between threads (SSTables, WAL and manifest
/// replay).
pub trait RandomAccessFile: Send + Sync {
    /// Fills `buf` with the bytes at `offset..offset + buf.len()`.
    ///
    /// Errors: [`Error::Io`](crate::Error::Io); a read past the end of the file is an
    /// `Io` error of kind `UnexpectedEof`.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()>;

    /// The file's length in bytes when it was opened (or now, for a file still growing).
    fn len(&self) -> u64;

    /// True for an empty file.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The file's length in bytes now, asked of the file system (`fstat` through the open
    /// descriptor, so it works on a file unlinked since): for a file another process may
    /// shorten, such as a live writer's WAL segment read by a read-only handle. Defaults to
    /// [`len`](Self::len), right for files that never change after open.
    ///
    /// Errors: [`Error::Io`](crate::Error::Io) if the file system cannot say.
    fn current_len(&self) -> Result<u64> {
        Ok(self.len())
    }
}

/// A view of `file` that ends at `len` bytes (at most the file's own length): for reading a
/// file again at a length learnt later with [`RandomAccessFile::current_len`], as readers
/// of a live database do when the writer cuts a closed WAL segment's reserved zero tail.
pub struct TruncatedView {
    /// The file read through.
    pub file: Arc<dyn RandomAccessFile>,
    /// Where the view ends, in bytes.
    pub len: u64,
}

impl RandomAccessFile for TruncatedView {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.file.read_exact_at(offset, buf)
    }

    fn len(&self) -> u64 {
        self.len
    }
}

/// A held directory lock; dropping it releases the lock.
pub trait FileLock: Send + Sync + Debug {}

/// Every file operation the engine performs. See the [module docs](self) for the contract.
pub trait FileSystem: Send + Sync + Debug {
    /// Creates `dir` and its missing parents.
    fn create_dir_all(&self, dir: &Path) -> Result<()>;

    /// Creates `path` (truncating an existing file) for appending.
    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>>;

    /// Creates `path` for an append-only log expected to grow to about `size_hint` bytes
    /// (a WAL segment). Same contract as [`create`](Self::create); an implementation may
    /// reserve the space up front so that appends need no system call (the real file system
    /// maps the file into memory: see [`OsFileSystem`]).
    fn create_log(&self, path: &Path, size_hint: u64) -> Result<Box<dyn WritableFile>> {
        let _ = size_hint;
        self.create(path)
    }

    /// Opens an existing file for positional reads.
    ///
    /// Errors: [`Error::NotFound`](crate::Error::NotFound) if it does not exist,
    /// [`Error::Io`](crate::Error::Io) otherwise.
    fn open(&self, path: &Path) -> Result<Arc<dyn RandomAccessFile>>;

    /// Reads the whole file into memory.
    fn read_all(&self, path: &Path) -> Result<Vec<u8>> {
        let f = self.open(path)?;
        let mut buf = vec![0u8; f.len() as usize];
        f.read_exact_at(0, &mut buf)?;
        Ok(buf)
    }

    /// True if `path` exists (a file or a directory).
    fn exists(&self, path: &Path) -> bool;

    /// The names (not paths) of the entries of `dir`, in no particular order.
    fn list(&self, dir: &Path) -> Result<Vec<String>>;

    /// Removes the file `path`.
    fn remove(&self, path: &Path) -> Result<()>;

    /// Renames `from` to `to`, replacing `to` atomically if it exists.
    fn rename(&self, from: &Path, to: &Path) -> Result<()>;

    /// Removes the empty directory `dir`: backups (`crate::backup`) drop their staging and
    /// per-backup directories with it, where the engine itself only ever removes files.
    ///
    /// Errors: [`Error::NotFound`](crate::Error::NotFound) if `dir` does not exist;
    /// [`Error::Io`](crate::Error::Io) if it is not empty or the call fails.
    fn remove_dir(&self, dir: &Path) -> Result<()>;

    /// Makes the entries of `dir` (creations, renames, removals) durable.
    fn sync_dir(&self, dir: &Path) -> Result<()>;

    /// Gives the file `from` a second name `to` (a hard link, so no byte is copied) where
    /// the file system allows it, and otherwise writes a synced copy; returns true if it
    /// linked. Only for files that never change again (SSTables): a link shares later
    /// changes. Checkpoints use it (RocksDB's "Checkpoints" wiki does the same).
    ///
    /// Errors: [`Error::NotFound`](crate::Error::NotFound) if `from` does not exist;
    /// [`Error::Io`](crate::Error::Io) otherwise.
    fn link_or_copy(&self, from: &Path, to: &Path) -> Result<bool> {
        let src = self.open(from)?;
        copy_prefix(self, src.as_ref(), src.len(), to)?;
        Ok(false)
    }

    /// Takes an exclusive lock on `path` (created if missing), held until the returned guard
    /// is dropped.
    ///
    /// Errors: [`Error::Locked`](crate::Error::Locked) if another handle, in this process or
    /// another one, holds it.
    fn lock(&self, path: &Path) -> Result<Box<dyn FileLock>>;
}

/// Writes `data` to `path` and makes it durable under that name: write a temporary file,
/// sync it, rename it over `path`, sync the directory. A crash leaves either the old or the
/// new content, never a mix (used for `CURRENT`).
pub fn write_file_atomic(fs: &dyn FileSystem, path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let tmp = path.with_extension("tmp");
    {
        let mut f = fs.create(&tmp)?;
        f.append(data)?;
        f.sync()?;
    }
    fs.rename(&tmp, path)?;
    fs.sync_dir(dir)
}

/// Writes the first `len` bytes of `src` to a new file `to` and syncs it: how checkpoints
/// copy a WAL segment as of one moment while the writer goes on appending to it.
///
/// Errors: [`Error::Io`](crate::Error::Io), also if `src` is shorter than `len`.
pub fn copy_prefix(
    fs: &(impl FileSystem + ?Sized),
    src: &dyn RandomAccessFile,
    len: u64,
    to: &Path,
) -> Result<()> {
    // 1 MiB at a time: bounded memory for SSTables of any size.
    const CHUNK: u64 = 1 << 20;
    let mut out = fs.create(to)?;
    let mut buf = vec![0u8; CHUNK.min(len) as usize];
    let mut at = 0;
    while at < len {
        let n = CHUNK.min(len - at) as usize;
        src.read_exact_at(at, &mut buf[..n])?;
        out.append(&buf[..n])?;
        at += n as u64;
    }
    out.sync()
}
