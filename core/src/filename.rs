//! File names inside a database directory (LevelDB's `db/filename.h`).
//!
//! ```text
//! 000012.log        a WAL segment (the log of one memtable)
//! 000013.sst        an SSTable
//! MANIFEST-000014   the manifest: a log of version edits
//! CURRENT           one line: the name of the live manifest
//! LOCK              held (flock) by the open database
//! ```
//!
//! All numbers come from one counter, the manifest's next file number, so names never repeat.

use std::path::{Path, PathBuf};

/// What a file in the database directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `NNNNNN.log`
    Wal(u64),
    /// `NNNNNN.sst`
    Table(u64),
    /// `MANIFEST-NNNNNN`
    Manifest(u64),
    /// `CURRENT`
    Current,
    /// `LOCK`
    Lock,
    /// `*.tmp`: a temporary file left by an interrupted atomic write.
    Temp,
}

/// `dir/NNNNNN.log`
pub fn wal_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:06}.log"))
}

/// `NNNNNN.sst`
pub fn table_file_name(number: u64) -> String {
    format!("{number:06}.sst")
}

/// `dir/NNNNNN.sst`
pub fn table_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(table_file_name(number))
}

/// `dir/MANIFEST-NNNNNN`
pub fn manifest_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(manifest_name(number))
}

/// `MANIFEST-NNNNNN`, the form written into `CURRENT`.
pub fn manifest_name(number: u64) -> String {
    format!("MANIFEST-{number:06}")
}

/// `dir/CURRENT`
pub fn current_path(dir: &Path) -> PathBuf {
    dir.join("CURRENT")
}

/// `dir/LOCK`
pub fn lock_path(dir: &Path) -> PathBuf {
    dir.join("LOCK")
}

/// Classifies a file name; `None` for names kevo does not own.
pub fn parse_file_name(name: &str) -> Option<FileKind> {
    match name {
        "CURRENT" => return Some(FileKind::Current),
        "LOCK" => return Some(FileKind::Lock),
        _ => {}
    }
    if name.ends_with(".tmp") {
        return Some(FileKind::Temp);
    }
    if let Some(n) = name.strip_prefix("MANIFEST-") {
        return parse_number(n).map(FileKind::Manifest);
    }
    if let Some(n) = name.strip_suffix(".log") {
        return parse_number(n).map(FileKind::Wal);
    }
    if let Some(n) = name.strip_suffix(".sst") {
        return parse_number(n).map(FileKind::Table);
    }
    None
}

fn parse_number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_roundtrip() {
        let d = Path::new("/db");
        for (p, k) in [
            (wal_path(d, 12), FileKind::Wal(12)),
            (table_path(d, 1_234_567), FileKind::Table(1_234_567)),
            (manifest_path(d, 3), FileKind::Manifest(3)),
            (current_path(d), FileKind::Current),
            (lock_path(d), FileKind::Lock),
        ] {
            assert_eq!(
                parse_file_name(p.file_name().unwrap().to_str().unwrap()),
                Some(k)
            );
        }
        assert_eq!(parse_file_name("x.log"), None);
        assert_eq!(parse_file_name("MANIFEST-"), None);
        assert_eq!(parse_file_name("notes.txt"), None);
    }
}
