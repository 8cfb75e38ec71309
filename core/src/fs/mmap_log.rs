//! [`MmapLogFile`]: a log file written through a shared memory mapping.
//!
//! Why: the WAL promises, in every [`SyncMode`](crate::SyncMode), that an acknowledged write
//! survives a crash of the process. With a plain file that costs one `write(2)` per commit,
//! about a microsecond on these machines, a third of a small write's cost. Bytes copied into a
//! `MAP_SHARED` mapping of the file are in the kernel's page cache the moment the copy
//! finishes, exactly where a `write(2)` would have put them: a killed process loses nothing,
//! and `fdatasync` makes them durable as usual. So appends become a `memcpy`.
//!
//! Space is reserved with `posix_fallocate` before it is mapped, so a full disk is reported
//! as `ENOSPC` by that call (an [`Error::Io`]) instead of killing the process with `SIGBUS`
//! on a later page fault. The mapping grows (fallocate, then `mremap`) when the log outgrows
//! its reservation. When the file is dropped, the unused reserved tail is cut off with
//! `ftruncate`; if the process dies first, the log ends in zero bytes, which the WAL reader
//! treats as the end of the log (see [`crate::wal`]).

use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use super::WritableFile;
use crate::error::{Error, Result};

/// Reservations and mappings grow in multiples of this many bytes.
const GRANULE: usize = 1 << 20;

/// A log file whose appends are `memcpy`s into a shared mapping.
pub(crate) struct MmapLogFile {
    path: PathBuf,
    file: File,
    map: *mut u8,
    capacity: usize,
    len: usize,
}

// SAFETY: the mapping is owned by this value alone (no aliases are handed out) and is only
// accessed through `&mut self`, so moving it to another thread is as safe as moving a Vec.
unsafe impl Send for MmapLogFile {}

fn os_err(op: &str, path: &Path) -> Error {
    Error::io(
        format!("{op} {}", path.display()),
        std::io::Error::last_os_error(),
    )
}

fn round_up(n: usize) -> usize {
    n.div_ceil(GRANULE).max(1) * GRANULE
}

impl MmapLogFile {
    /// Creates (truncating) `path` with about `size_hint` bytes reserved and mapped.
    ///
    /// Errors: [`Error::Io`] if the file cannot be created, the space cannot be reserved
    /// (`ENOSPC`), or the mapping fails.
    pub(crate) fn create(path: &Path, size_hint: u64) -> Result<MmapLogFile> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| Error::io(format!("create {}", path.display()), e))?;
        let capacity = round_up(usize::try_from(size_hint).unwrap_or(usize::MAX / 2));
        let mut f = MmapLogFile {
            path: path.to_owned(),
            file,
            map: std::ptr::null_mut(),
            capacity: 0,
            len: 0,
        };
        f.reserve(capacity)?;
        // SAFETY: maps `capacity` bytes of a file we own and just sized to at least that;
        // the result is checked against MAP_FAILED.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                capacity,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                f.file.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(os_err("mmap", path));
        }
        f.map = map as *mut u8;
        f.capacity = capacity;
        Ok(f)
    }

    /// Extends the file's allocated size to `capacity` bytes.
    fn reserve(&self, capacity: usize) -> Result<()> {
        // SAFETY: plain syscall on a descriptor we own.
        let rc =
            unsafe { libc::posix_fallocate(self.file.as_raw_fd(), 0, capacity as libc::off_t) };
        if rc != 0 {
            return Err(Error::io(
                format!("reserve {capacity} bytes for {}", self.path.display()),
                std::io::Error::from_raw_os_error(rc),
            ));
        }
        Ok(())
    }

    fn grow(&mut self, needed: usize) -> Result<()> {
        let new_capacity = round_up(needed.max(self.capacity.saturating_mul(2)));
        self.reserve(new_capacity)?;
        // SAFETY: remaps our own mapping of `self.capacity` bytes; the file now holds at least
        // `new_capacity` bytes. MREMAP_MAYMOVE may move it; no pointer into it is kept.
        let map = unsafe {
            libc::mremap(
                self.map as *mut libc::c_void,
                self.capacity,
                new_capacity,
                libc::MREMAP_MAYMOVE,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(os_err("mremap", &self.path));
        }
        self.map = map as *mut u8;
        self.capacity = new_capacity;
        Ok(())
    }
}

impl WritableFile for MmapLogFile {
    fn append(&mut self, data: &[u8]) -> Result<()> {
        let end = self.len.checked_add(data.len()).ok_or_else(|| {
            Error::InvalidArgument("log file larger than the address space".into())
        })?;
        if end > self.capacity {
            self.grow(end)?;
        }
        // SAFETY: `len..end` lies within the mapping (end <= capacity), which is valid for
        // writes, and `data` cannot overlap it (it is never handed out).
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.map.add(self.len), data.len()) };
        self.len = end;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        // The bytes are already in the page cache.
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        if self.len > 0 {
            // SAFETY: msync over the prefix of our own mapping that holds data.
            let rc = unsafe { libc::msync(self.map as *mut libc::c_void, self.len, libc::MS_SYNC) };
            if rc != 0 {
                return Err(os_err("msync", &self.path));
            }
        }
        // Also the file's size and extents (fallocate changed them).
        self.file
            .sync_data()
            .map_err(|e| Error::io(format!("fdatasync {}", self.path.display()), e))
    }

    fn len(&self) -> u64 {
        self.len as u64
    }
}

impl Drop for MmapLogFile {
    fn drop(&mut self) {
        if !self.map.is_null() {
            // SAFETY: unmaps the mapping we created; nothing refers into it any more.
            unsafe { libc::munmap(self.map as *mut libc::c_void, self.capacity) };
        }
        // Cut the reserved zero tail so a closed log ends at its last record. Best effort:
        // a log left long ends in zeros, which readers treat as its end.
        let _ = self.file.set_len(self.len as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_grow_and_the_file_is_cut_to_its_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        let mut f = MmapLogFile::create(&path, 10).unwrap();
        let chunk: Vec<u8> = (0..=255u8).collect();
        let mut want = Vec::new();
        for _ in 0..10_000 {
            f.append(&chunk).unwrap(); // 2.5 MB: grows past the first 1 MiB granule twice
            want.extend_from_slice(&chunk);
        }
        f.sync().unwrap();
        assert_eq!(f.len(), want.len() as u64);
        // Visible to another reader before the writer is dropped (page cache).
        let seen = std::fs::read(&path).unwrap();
        assert_eq!(&seen[..want.len()], &want[..]);
        assert!(
            seen[want.len()..].iter().all(|&b| b == 0),
            "reserved tail is zeros"
        );
        drop(f);
        assert_eq!(std::fs::read(&path).unwrap(), want);
    }
}
