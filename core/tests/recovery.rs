//! Recovery: what a reopened database holds after close, drop, crash and power loss, per
//! sync mode; persisted options; the directory lock.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kevo::fs::{CrashMode, MemFileSystem};
use kevo::{Db, Error, Options, SyncMode, WriteBatch};

fn key(i: usize) -> Vec<u8> {
    format!("key{i:06}").into_bytes()
}

fn value(i: usize, round: usize) -> Vec<u8> {
    format!("value-{i}-{round}-{}", "v".repeat(i % 50)).into_bytes()
}

fn mem_options(fs: &MemFileSystem) -> Options {
    Options::default()
        .fs(Arc::new(fs.clone()))
        .memtable_size(16 << 10)
        .block_size(512)
}

fn assert_all(db: &Db, n: usize, round: usize) {
    for i in 0..n {
        assert_eq!(db.get(&key(i)).unwrap(), Some(value(i, round)), "key {i}");
    }
}

#[test]
fn reopen_after_close_and_after_drop() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path(), Options::default().memtable_size(64 << 10)).unwrap();
        for i in 0..2000 {
            db.put(&key(i), &value(i, 0)).unwrap();
        }
        db.delete(&key(7)).unwrap();
        db.close().unwrap();
        assert!(matches!(db.put(b"x", b"y"), Err(Error::Closed)));
        assert!(matches!(db.get(b"x"), Err(Error::Closed)));
        db.close().unwrap(); // idempotent
    }
    {
        let db = Db::reopen(dir.path()).unwrap();
        assert_eq!(db.get(&key(7)).unwrap(), None);
        assert_eq!(db.get(&key(8)).unwrap(), Some(value(8, 0)));
        for i in 0..2000 {
            db.put(&key(i), &value(i, 1)).unwrap();
        }
        // Dropped without close.
    }
    let db = Db::reopen(dir.path()).unwrap();
    assert_all(&db, 2000, 1);
    assert_eq!(db.scan::<Vec<u8>, _>(..).unwrap().count(), 2000);
    assert_eq!(db.last_sequence(), 4001);
}

/// Iterators and snapshots outlive their handle's close: they then answer `Closed` rather
/// than reading on (C and Python handles rely on this).
#[test]
fn iterators_and_snapshots_after_close() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    for i in 0..100 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    let snap = db.snapshot().unwrap();
    let mut it = db.iter(Default::default()).unwrap();
    it.seek_to_first();
    assert!(it.valid());
    assert_eq!(it.key(), key(0).as_slice());
    assert!(!db.is_closed());
    db.close().unwrap();
    assert!(db.is_closed());
    it.next();
    assert!(!it.valid());
    assert!(matches!(it.status(), Err(Error::Closed)));
    it.seek_to_first();
    assert!(!it.valid());
    assert!(matches!(snap.get(&key(1)), Err(Error::Closed)));
    assert!(matches!(snap.iter(Default::default()), Err(Error::Closed)));
}

#[test]
fn sync_mode_always_keeps_every_acknowledged_write_through_power_loss() {
    let fs = MemFileSystem::new();
    let dir = Path::new("/db");
    let db = Db::open(dir, mem_options(&fs).sync_mode(SyncMode::Always)).unwrap();
    for i in 0..3000 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    let mut b = WriteBatch::new();
    b.delete(&key(0)).unwrap();
    b.put(&key(1), b"batched").unwrap();
    db.write(&b).unwrap();
    let fs2 = fs.crash(CrashMode {
        tear_unsynced: true,
        forget_unsynced_dir_entries: true,
        seed: 1,
    });
    drop(db);
    let db = Db::reopen_on(dir, Arc::new(fs2)).unwrap();
    assert_eq!(db.get(&key(0)).unwrap(), None);
    assert_eq!(db.get(&key(1)).unwrap(), Some(b"batched".to_vec()));
    for i in 2..3000 {
        assert_eq!(db.get(&key(i)).unwrap(), Some(value(i, 0)));
    }
}

#[test]
fn sync_mode_none_loses_only_a_suffix_and_sync_wal_makes_it_durable() {
    let fs = MemFileSystem::new();
    let dir = Path::new("/db");
    let db = Db::open(dir, mem_options(&fs).memtable_size(1 << 20)).unwrap();
    for i in 0..100 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    db.sync_wal().unwrap();
    for i in 100..200 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    let fs2 = fs.crash(CrashMode::drop_unsynced());
    drop(db);
    let db = Db::reopen_on(dir, Arc::new(fs2)).unwrap();
    assert_all(&db, 100, 0);
    // Nothing after the sync was synced: the unsynced writes are gone, not half-there.
    assert_eq!(db.get(&key(150)).unwrap(), None);
}

#[test]
fn sync_mode_batched_loses_at_most_one_window() {
    let fs = MemFileSystem::new();
    let dir = Path::new("/db");
    let window = 4096u64;
    let mode = SyncMode::Batched {
        bytes: window,
        interval: Duration::from_secs(3600),
    };
    let db = Db::open(dir, mem_options(&fs).memtable_size(1 << 20).sync_mode(mode)).unwrap();
    let n = 1000;
    for i in 0..n {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    let fs2 = fs.crash(CrashMode::drop_unsynced());
    drop(db);
    let db = Db::reopen_on(dir, Arc::new(fs2)).unwrap();
    // What survives is a prefix of the history...
    let present: Vec<bool> = (0..n).map(|i| db.get(&key(i)).unwrap().is_some()).collect();
    let kept = present.iter().take_while(|p| **p).count();
    assert!(
        present[kept..].iter().all(|p| !p),
        "survivors must be a prefix"
    );
    // ...missing at most one window of WAL bytes (each record is > 60 bytes).
    let lost_bytes: usize = (kept..n)
        .map(|i| key(i).len() + value(i, 0).len() + 12)
        .sum();
    assert!(
        lost_bytes <= window as usize + 200,
        "lost {lost_bytes} bytes of writes"
    );
    assert!(kept < n, "the test should exercise an unsynced tail");
}

#[test]
fn flushed_data_and_wal_both_recover_with_many_tables() {
    let fs = MemFileSystem::new();
    let dir = Path::new("/db");
    let db = Db::open(dir, mem_options(&fs).l0_compaction_trigger(3)).unwrap();
    for round in 0..3 {
        for i in 0..1500 {
            db.put(&key(i), &value(i, round)).unwrap();
        }
        db.flush().unwrap();
    }
    for i in 0..500 {
        db.put(&key(i), &value(i, 3)).unwrap();
    }
    drop(db);
    let db = Db::reopen_on(dir, Arc::new(fs.clone())).unwrap();
    for i in 0..1500 {
        let round = if i < 500 { 3 } else { 2 };
        assert_eq!(db.get(&key(i)).unwrap(), Some(value(i, round)));
    }
}

#[test]
fn options_are_persisted_and_reused_on_reopen() {
    let fs = MemFileSystem::new();
    let dir = Path::new("/db");
    let opts = mem_options(&fs)
        .memtable_size(123_456)
        .bloom_bits_per_key(7)
        .sync_mode(SyncMode::Always);
    drop(Db::open(dir, opts).unwrap());
    let db = Db::reopen_on(dir, Arc::new(fs.clone())).unwrap();
    assert_eq!(db.options().memtable_size, 123_456);
    assert_eq!(db.options().bloom_bits_per_key, 7);
    assert_eq!(db.options().sync_mode, SyncMode::Always);
    drop(db);
    // Opening with explicit options applies and records them.
    drop(Db::open(dir, mem_options(&fs).memtable_size(65_536)).unwrap());
    let db = Db::reopen_on(dir, Arc::new(fs.clone())).unwrap();
    assert_eq!(db.options().memtable_size, 65_536);
}

#[test]
fn open_errors_are_typed() {
    let fs = MemFileSystem::new();
    let missing = Db::reopen_on("/nothing", Arc::new(fs.clone())).unwrap_err();
    assert!(matches!(missing, Error::NotFound(_)), "{missing}");
    let no_create = Db::open("/nothing", mem_options(&fs).create_if_missing(false)).unwrap_err();
    assert!(matches!(no_create, Error::NotFound(_)), "{no_create}");
    let db = Db::open("/db", mem_options(&fs)).unwrap();
    let locked = Db::open("/db", mem_options(&fs)).unwrap_err();
    assert!(matches!(locked, Error::Locked(_)), "{locked}");
    drop(db);
    let exists = Db::open("/db", mem_options(&fs).error_if_exists(true)).unwrap_err();
    assert!(matches!(exists, Error::InvalidArgument(_)), "{exists}");
    let bad = Db::open("/db2", mem_options(&fs).block_restart_interval(0)).unwrap_err();
    assert!(matches!(bad, Error::InvalidArgument(_)), "{bad}");
}

#[test]
fn second_open_in_same_process_on_real_fs_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert!(matches!(
        Db::open(dir.path(), Options::default()),
        Err(Error::Locked(_))
    ));
    drop(db);
    Db::open(dir.path(), Options::default()).unwrap();
}

#[test]
fn keys_and_values_at_the_limits() {
    let fs = MemFileSystem::new();
    let db = Db::open("/db", mem_options(&fs)).unwrap();
    assert!(matches!(db.put(b"", b"v"), Err(Error::InvalidArgument(_))));
    assert!(matches!(db.get(b""), Err(Error::InvalidArgument(_))));
    let big_key = vec![b'k'; kevo::MAX_KEY_SIZE];
    db.put(&big_key, b"").unwrap();
    assert!(db.put(&vec![b'k'; kevo::MAX_KEY_SIZE + 1], b"v").is_err());
    let big_value = vec![7u8; 3 << 20];
    db.put(b"big", &big_value).unwrap();
    db.put(b"empty", b"").unwrap();
    db.flush().unwrap();
    assert_eq!(db.get(&big_key).unwrap(), Some(vec![]));
    assert_eq!(db.get(b"big").unwrap(), Some(big_value));
    assert_eq!(
        db.get(b"empty").unwrap(),
        Some(vec![]),
        "empty is not absent"
    );
    assert_eq!(db.get(b"absent").unwrap(), None);
}

#[test]
fn concurrent_writers_and_readers_share_one_handle() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(
        Db::open(
            dir.path(),
            Options::default()
                .memtable_size(256 << 10)
                .sync_mode(SyncMode::Always),
        )
        .unwrap(),
    );
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..300 {
                    let k = format!("t{t}-{i:04}");
                    db.put(k.as_bytes(), k.as_bytes()).unwrap();
                    if i % 10 == 0 {
                        assert_eq!(db.get(k.as_bytes()).unwrap(), Some(k.clone().into_bytes()));
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(db.scan::<Vec<u8>, _>(..).unwrap().count(), 2400);
    assert_eq!(db.last_sequence(), 2400);
}

#[test]
fn db_and_iterators_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>() {}
    assert_send_sync::<Db>();
    assert_send::<kevo::DbIterator>();
}

#[test]
fn an_io_error_on_the_write_path_fails_cleanly_and_loses_no_acknowledged_write() {
    use kevo::fs::FaultKind;
    for kind in [FaultKind::NoSpace, FaultKind::Io] {
        for at in [0u64, 1, 3, 7] {
            let fs = MemFileSystem::new();
            let dir = Path::new("/db");
            let db = Db::open(dir, mem_options(&fs).sync_mode(SyncMode::Always)).unwrap();
            let mut acked = 0;
            for i in 0..50 {
                db.put(&key(i), &value(i, 0)).unwrap();
                acked += 1;
            }
            fs.fail_at(at, kind, false);
            let mut failed = false;
            for i in 50..100 {
                match db.put(&key(i), &value(i, 0)) {
                    Ok(()) if !failed => acked += 1,
                    Ok(()) => panic!("a write was acknowledged after a failed one"),
                    Err(e) => {
                        assert!(
                            matches!(e, Error::Io { .. } | Error::Background(_)),
                            "{kind:?}@{at}: {e}"
                        );
                        failed = true;
                    }
                }
            }
            assert!(failed, "{kind:?}@{at}: the injected fault must surface");
            // Reads still work on the read-only database.
            assert_eq!(db.get(&key(0)).unwrap(), Some(value(0, 0)));
            drop(db);
            fs.clear_faults();
            let db = Db::reopen_on(dir, Arc::new(fs.clone())).unwrap();
            assert_all(&db, acked, 0);
        }
    }
}

#[test]
fn concurrent_writers_share_wal_syncs_through_group_commit() {
    let fs = MemFileSystem::new();
    let db = Arc::new(
        Db::open(
            "/db",
            mem_options(&fs)
                .memtable_size(1 << 20)
                .sync_mode(SyncMode::Always),
        )
        .unwrap(),
    );
    fs.set_sync_delay(Duration::from_millis(2));
    let before = fs.sync_count();
    let (threads, per_thread) = (8, 25);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    db.put(format!("t{t}-{i}").as_bytes(), b"v").unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let syncs = fs.sync_count() - before;
    let writes = (threads * per_thread) as u64;
    // While one leader sleeps in its fsync, the other writers queue up and the next leader
    // commits them all with one fsync.
    assert!(
        syncs * 2 < writes,
        "{writes} acknowledged writes took {syncs} fsyncs"
    );
    assert_eq!(db.last_sequence(), writes);
}

/// Every recovery mode reopens a cleanly closed database (and one that was dropped, and one
/// whose WAL was never written to).
#[test]
fn every_recovery_mode_reopens_a_clean_database() {
    use kevo::wal::WalRecoveryMode;
    for mode in [
        WalRecoveryMode::TolerateCorruptedTail,
        WalRecoveryMode::AbsoluteConsistency,
        WalRecoveryMode::PointInTime,
        WalRecoveryMode::TolerateIncompleteTail,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        db.put(b"k", b"v").unwrap();
        db.close().unwrap();
        let db = Db::open(dir.path(), Options::default().wal_recovery_mode(mode))
            .unwrap_or_else(|e| panic!("{mode:?} after close: {e}"));
        assert_eq!(db.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
        db.put(b"k2", b"v2").unwrap();
        drop(db);
        let db = Db::open(dir.path(), Options::default().wal_recovery_mode(mode))
            .unwrap_or_else(|e| panic!("{mode:?} after drop: {e}"));
        assert_eq!(db.get(b"k2").unwrap().as_deref(), Some(&b"v2"[..]));
        db.close().unwrap();
        let db = Db::open(dir.path(), Options::default().wal_recovery_mode(mode))
            .unwrap_or_else(|e| panic!("{mode:?} after an empty session: {e}"));
        db.close().unwrap();
    }
}
