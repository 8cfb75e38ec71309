//! Helpers shared by kevo's fuzz targets: putting fuzz input into a file of an in-memory
//! file system, so the engine's readers see it exactly as they see a file on disk.

use std::path::Path;
use std::sync::Arc;

use kevo::fs::{FileSystem, MemFileSystem, RandomAccessFile};

/// A file holding `data`, opened for reading through a fresh [`MemFileSystem`].
pub fn file_with(data: &[u8]) -> Arc<dyn RandomAccessFile> {
    let fs = MemFileSystem::new();
    let dir = Path::new("/fuzz");
    fs.create_dir_all(dir).expect("mkdir in memory");
    let path = dir.join("input");
    let mut f = fs.create(&path).expect("create in memory");
    f.append(data).expect("append in memory");
    f.sync().expect("sync in memory");
    fs.open(&path).expect("open in memory")
}
