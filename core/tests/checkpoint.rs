//! [`Db::checkpoint`]: a consistent copy of a running database, taken under a concurrent
//! writer, that opens as a database holding a prefix of the writer's history including every
//! write acknowledged before the call, and that neither side's later changes affect.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kevo::{Db, Error, Options};

fn small() -> Options {
    Options::default()
        .memtable_size(16 << 10)
        .l0_compaction_trigger(2)
        .target_file_size(32 << 10)
        .max_bytes_for_level_base(64 << 10)
        .level_size_multiplier(4)
}

fn key(i: u64) -> Vec<u8> {
    format!("key{i:08}").into_bytes()
}

/// The `n` such that the database holds exactly `key(0..n)`, each with its value; panics on
/// a gap, a stray key or a wrong value (not a prefix of the writer's history).
fn prefix_len(db: &Db) -> u64 {
    let mut n = 0;
    for r in db.scan::<&[u8], _>(..).unwrap() {
        let (k, v) = r.unwrap();
        assert_eq!(k, key(n), "the copy is not a prefix: key {n} missing");
        assert_eq!(v, format!("value{n}").into_bytes());
        n += 1;
    }
    n
}

#[test]
fn checkpoint_under_a_concurrent_writer_is_a_prefix_with_every_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path().join("db"), small()).unwrap());
    let acked = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, acked, stop) = (db.clone(), acked.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                db.put(&key(i), format!("value{i}").as_bytes()).unwrap();
                i += 1;
                acked.store(i, Ordering::Release);
            }
        })
    };
    let mut linked = 0;
    for round in 0..5 {
        std::thread::sleep(Duration::from_millis(150));
        let before = acked.load(Ordering::Acquire);
        let copy = dir.path().join(format!("ckpt{round}"));
        let info = db.checkpoint(&copy).unwrap();
        linked += info.tables_linked;
        let after = acked.load(Ordering::Acquire);
        let c = Db::open(&copy, small()).unwrap();
        let n = prefix_len(&c);
        assert!(
            n >= before && n <= after + 1,
            "round {round}: copy holds {n} writes, {before} acknowledged before the call, {after} after"
        );
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(linked > 0, "no SSTable was hard-linked");
}

#[test]
fn copy_and_source_are_independent() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db"), small()).unwrap();
    for i in 0..3000 {
        db.put(&key(i), format!("value{i}").as_bytes()).unwrap();
    }
    db.flush().unwrap();
    for i in 3000..3500 {
        db.put(&key(i), format!("value{i}").as_bytes()).unwrap();
    }
    let copy = dir.path().join("copy");
    let info = db.checkpoint(&copy).unwrap();
    assert!(info.tables_linked > 0 && info.wal_segments > 0, "{info:?}");
    // The source deletes and compacts away every file the copy links to.
    for i in 0..3500 {
        db.delete(&key(i)).unwrap();
    }
    db.compact_range(None, None).unwrap();
    assert_eq!(db.scan::<&[u8], _>(..).unwrap().count(), 0);
    let c = Db::open(&copy, small()).unwrap();
    assert_eq!(prefix_len(&c), 3500);
    // Writes to the copy stay in the copy.
    c.put(b"only-in-copy", b"1").unwrap();
    c.compact_range(None, None).unwrap();
    assert_eq!(db.get(b"only-in-copy").unwrap(), None);
    drop(c);
    let c = Db::open(&copy, small()).unwrap();
    assert_eq!(c.get(b"only-in-copy").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(c.get(&key(42)).unwrap().as_deref(), Some(&b"value42"[..]));
}

#[test]
fn non_empty_directory_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db"), small()).unwrap();
    db.put(b"k", b"v").unwrap();
    let target = dir.path().join("busy");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("mine.txt"), b"keep me").unwrap();
    assert!(matches!(
        db.checkpoint(&target),
        Err(Error::InvalidArgument(_))
    ));
    let names: Vec<_> = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["mine.txt"]);
    assert_eq!(std::fs::read(target.join("mine.txt")).unwrap(), b"keep me");
    // An existing empty directory is fine.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    db.checkpoint(&empty).unwrap();
    assert_eq!(
        Db::open(&empty, small())
            .unwrap()
            .get(b"k")
            .unwrap()
            .as_deref(),
        Some(&b"v"[..])
    );
    db.close().unwrap();
    assert!(matches!(
        db.checkpoint(dir.path().join("after-close")),
        Err(Error::Closed)
    ));
}

#[test]
fn read_only_handle_checkpoints_the_writers_latest_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Db::open(&path, small()).unwrap();
    for i in 0..2000 {
        db.put(&key(i), format!("value{i}").as_bytes()).unwrap();
    }
    let reader = Db::open_read_only(&path).unwrap();
    for i in 2000..4000 {
        db.put(&key(i), format!("value{i}").as_bytes()).unwrap();
    }
    let copy = dir.path().join("copy");
    reader.checkpoint(&copy).unwrap();
    let c = Db::open(&copy, small()).unwrap();
    assert_eq!(prefix_len(&c), 4000);
}
