//! A real full disk: a 4 MiB tmpfs, as root (skipped, with a message, otherwise).
//!
//! A 1 MiB ballast file is written first. Then writes go on until one fails: it must fail
//! with an error (ENOSPC), never a panic; writes tried after it are kept if they are
//! acknowledged. After the handle is
//! dropped and the ballast deleted, the database reopens with every acknowledged write,
//! and takes writes again.

use std::path::Path;
use std::process::Command;

use kevo::{Db, Error, Options, SyncMode};

/// Mounts a tmpfs of `size` at `dir`; false (with the reason printed) if that is not
/// possible here.
fn mount_tmpfs(dir: &Path, size: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("full_disk: skipped, mounting a tmpfs needs root");
        return false;
    }
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .output();
    match out {
        Ok(o) if o.status.success() => true,
        Ok(o) => {
            eprintln!(
                "full_disk: skipped, mount failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            false
        }
        Err(e) => {
            eprintln!("full_disk: skipped, cannot run mount: {e}");
            false
        }
    }
}

/// Unmounts on drop, so a failing test does not leave the mount behind.
struct Mounted<'a>(&'a Path);

impl Drop for Mounted<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

fn key(i: u64) -> Vec<u8> {
    format!("key{i:08}").into_bytes()
}

fn value(i: u64) -> Vec<u8> {
    let mut v = format!("value-{i}-").into_bytes();
    v.resize(200, b'a' + (i % 26) as u8);
    v
}

#[test]
fn writing_to_a_full_disk_fails_cleanly_and_loses_nothing_acknowledged() {
    let t = tempfile::tempdir().unwrap();
    let mnt = t.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    if !mount_tmpfs(&mnt, "4m") {
        return;
    }
    let _mounted = Mounted(&mnt);
    let ballast = mnt.join("ballast");
    std::fs::write(&ballast, vec![7u8; 1 << 20]).unwrap();
    let dir = mnt.join("db");
    let options = Options::default()
        .sync_mode(SyncMode::None)
        .memtable_size(256 << 10)
        .target_file_size(256 << 10)
        .block_cache_size(1 << 20);

    let mut acked = 0u64;
    let first_error;
    {
        let db = Db::open(&dir, options.clone()).unwrap();
        loop {
            match db.put(&key(acked), &value(acked)) {
                Ok(()) => acked += 1,
                Err(e) => {
                    first_error = e;
                    break;
                }
            }
            assert!(acked < 1_000_000, "a 4 MiB disk never filled up");
        }
        assert!(
            matches!(first_error, Error::Io { .. } | Error::Background(_)),
            "{first_error}"
        );
        assert!(
            first_error.to_string().contains("No space left")
                || first_error.to_string().contains("os error 28"),
            "{first_error}"
        );
        // A failure before anything reached the WAL (reserving a new segment) leaves the
        // database consistent, and a later write may succeed if compaction freed space; a
        // failure after (a WAL append or sync) turns it read-only. Either way, every write
        // that is acknowledged must be kept.
        for _ in 0..50 {
            if db.put(&key(acked), &value(acked)).is_ok() {
                acked += 1;
            }
        }
        // Everything acknowledged is readable in the handle too.
        for i in (0..acked).step_by(97) {
            assert_eq!(db.get(&key(i)).unwrap(), Some(value(i)), "key {i}");
        }
        // Dropped without a successful close: the close's WAL sync may fail as well.
    }
    std::fs::remove_file(&ballast).unwrap();
    let db = Db::reopen(&dir).unwrap_or_else(|e| panic!("reopen after freeing space: {e}"));
    for i in 0..acked {
        assert_eq!(db.get(&key(i)).unwrap(), Some(value(i)), "key {i}");
    }
    assert_eq!(db.get(&key(acked)).unwrap(), None);
    db.put(b"after", b"space was freed").unwrap();
    db.close().unwrap();
    eprintln!("full_disk: {acked} writes acknowledged before ENOSPC ({first_error}); all there after reopen");
}
