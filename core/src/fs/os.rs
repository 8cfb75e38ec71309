//! [`OsFileSystem`]: the real file system, through `std::fs` and a few `libc` calls.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{FileLock, FileSystem, RandomAccessFile, WritableFile};
use crate::error::{Error, Result};

/// Appends are gathered in a user-space buffer of this many bytes before a `write(2)`.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// The operating system's file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsFileSystem;

fn io_err(op: &str, path: &Path, e: std::io::Error) -> Error {
    if e.kind() == ErrorKind::NotFound {
        return Error::NotFound(format!("{}: {}", path.display(), e));
    }
    Error::io(format!("{op} {}", path.display()), e)
}

struct OsWritableFile {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    len: u64,
}

impl WritableFile for OsWritableFile {
    fn append(&mut self, data: &[u8]) -> Result<()> {
        if self.buf.len() + data.len() > WRITE_BUFFER_BYTES {
            self.flush()?;
            if data.len() > WRITE_BUFFER_BYTES {
                self.file
                    .write_all(data)
                    .map_err(|e| io_err("write", &self.path, e))?;
                self.len += data.len() as u64;
                return Ok(());
            }
        }
        self.buf.extend_from_slice(data);
        self.len += data.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            let r = self.file.write_all(&self.buf);
            self.buf.clear();
            r.map_err(|e| io_err("write", &self.path, e))?;
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        self.flush()?;
        self.file
            .sync_data()
            .map_err(|e| io_err("fdatasync", &self.path, e))
    }

    fn len(&self) -> u64 {
        self.len
    }
}

impl Drop for OsWritableFile {
    fn drop(&mut self) {
        // Best effort: a caller that needed the bytes durable called sync() and saw its error.
        let _ = self.flush();
    }
}

struct OsRandomAccessFile {
    path: PathBuf,
    file: File,
    len: u64,
}

impl RandomAccessFile for OsRandomAccessFile {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.file.read_exact_at(buf, offset).map_err(|e| {
            Error::io(
                format!(
                    "read {} bytes at offset {offset} of {}",
                    buf.len(),
                    self.path.display()
                ),
                e,
            )
        })
    }

    fn len(&self) -> u64 {
        self.len
    }

    fn current_len(&self) -> Result<u64> {
        Ok(self
            .file
            .metadata()
            .map_err(|e| io_err("stat", &self.path, e))?
            .len())
    }
}

#[derive(Debug)]
struct OsFileLock {
    _file: File, // closing the descriptor releases the flock
}

impl FileLock for OsFileLock {}

impl FileSystem for OsFileSystem {
    fn create_dir_all(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("mkdir {}", dir.display()), e))
    }

    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| io_err("create", path, e))?;
        Ok(Box::new(OsWritableFile {
            path: path.to_owned(),
            file,
            buf: Vec::with_capacity(WRITE_BUFFER_BYTES),
            len: 0,
        }))
    }

    fn create_log(&self, path: &Path, size_hint: u64) -> Result<Box<dyn WritableFile>> {
        Ok(Box::new(super::mmap_log::MmapLogFile::create(
            path, size_hint,
        )?))
    }

    fn open(&self, path: &Path) -> Result<Arc<dyn RandomAccessFile>> {
        let file = File::open(path).map_err(|e| io_err("open", path, e))?;
        let len = file.metadata().map_err(|e| io_err("stat", path, e))?.len();
        Ok(Arc::new(OsRandomAccessFile {
            path: path.to_owned(),
            file,
            len,
        }))
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn list(&self, dir: &Path) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| io_err("list", dir, e))? {
            let entry = entry.map_err(|e| io_err("list", dir, e))?;
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_owned());
            }
        }
        Ok(names)
    }

    fn remove(&self, path: &Path) -> Result<()> {
        std::fs::remove_file(path).map_err(|e| io_err("remove", path, e))
    }

    fn remove_dir(&self, dir: &Path) -> Result<()> {
        std::fs::remove_dir(dir).map_err(|e| io_err("remove directory", dir, e))
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        std::fs::rename(from, to).map_err(|e| io_err("rename", from, e))
    }

    fn link_or_copy(&self, from: &Path, to: &Path) -> Result<bool> {
        match std::fs::hard_link(from, to) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                Err(Error::NotFound(from.display().to_string()))
            }
            // EXDEV (another file system), EPERM (links not supported): copy instead.
            Err(_) => {
                let src = self.open(from)?;
                super::copy_prefix(self, src.as_ref(), src.len(), to)?;
                Ok(false)
            }
        }
    }

    fn sync_dir(&self, dir: &Path) -> Result<()> {
        let d = File::open(dir).map_err(|e| io_err("open directory", dir, e))?;
        d.sync_all().map_err(|e| io_err("fsync directory", dir, e))
    }

    fn lock(&self, path: &Path) -> Result<Box<dyn FileLock>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| io_err("open lock file", path, e))?;
        // flock locks belong to the open file description, so a second open in the same
        // process conflicts too, which is what we want.
        // SAFETY: flock on a descriptor we own; no memory is passed.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(Error::Locked(path.parent().unwrap_or(path).to_owned()));
            }
            return Err(io_err("flock", path, e));
        }
        Ok(Box::new(OsFileLock { _file: file }))
    }
}
