//! `Db::multi_get`: answers in the caller's order, duplicates and absent keys, a snapshot's
//! view, every source (memtable, immutable memtable, L0, deeper levels), one consistent
//! view under a concurrent writer, and invalid keys.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use kevo::{Db, Error, Options, ReadOptions, WriteBatch};

fn small_options() -> Options {
    Options::default()
        .memtable_size(16 << 10)
        .target_file_size(32 << 10)
        .l0_compaction_trigger(2)
}

#[test]
fn answers_follow_the_callers_order_with_duplicates_and_absent_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put(b"b", b"2").unwrap();
    db.put(b"a", b"1").unwrap();
    db.put(b"gone", b"x").unwrap();
    db.delete(b"gone").unwrap();
    let got = db
        .multi_get(&[&b"b"[..], b"zz", b"a", b"b", b"gone", b"a"])
        .unwrap();
    let want: Vec<Option<Vec<u8>>> = vec![
        Some(b"2".to_vec()),
        None,
        Some(b"1".to_vec()),
        Some(b"2".to_vec()),
        None,
        Some(b"1".to_vec()),
    ];
    assert_eq!(got, want);
    assert!(db.multi_get::<&[u8]>(&[]).unwrap().is_empty());
}

#[test]
fn matches_get_for_keys_in_every_level_and_memtable() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), small_options()).unwrap();
    let key = |i: u32| format!("key{i:06}").into_bytes();
    for round in 0..3u32 {
        for i in (round..3000).step_by(3) {
            db.put(&key(i), format!("v{round}-{i}").as_bytes()).unwrap();
        }
        if round == 0 {
            db.compact_range(None, None).unwrap();
        } else if round == 1 {
            db.flush().unwrap();
        }
    }
    for i in (0..3000).step_by(7) {
        db.delete(&key(i)).unwrap();
    }
    let keys: Vec<Vec<u8>> = (0..3100).rev().map(key).collect();
    let got = db.multi_get(&keys).unwrap();
    for (k, v) in keys.iter().zip(&got) {
        assert_eq!(v, &db.get(k).unwrap(), "key {}", String::from_utf8_lossy(k));
    }
    assert!(got.iter().any(Option::is_some) && got.iter().any(Option::is_none));
}

#[test]
fn reads_at_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put(b"a", b"old").unwrap();
    let snap = db.snapshot().unwrap();
    db.put(b"a", b"new").unwrap();
    db.put(b"b", b"new").unwrap();
    let keys = [&b"a"[..], b"b"];
    assert_eq!(
        snap.multi_get(&keys).unwrap(),
        vec![Some(b"old".to_vec()), None]
    );
    let read = ReadOptions {
        snapshot: Some(snap.clone()),
        ..Default::default()
    };
    assert_eq!(
        db.multi_get_opt(&keys, &read).unwrap(),
        vec![Some(b"old".to_vec()), None]
    );
    assert_eq!(
        db.multi_get(&keys).unwrap(),
        vec![Some(b"new".to_vec()), Some(b"new".to_vec())]
    );
}

#[test]
fn one_consistent_view_under_a_concurrent_writer() {
    // The writer sets every key of a group to the same counter in one batch; a consistent
    // reader never sees two different counters in one answer.
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), small_options()).unwrap());
    let keys: Vec<Vec<u8>> = (0..64).map(|i| format!("k{i:03}").into_bytes()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, keys, stop) = (db.clone(), keys.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let mut b = WriteBatch::new();
                for k in &keys {
                    b.put(k, &n.to_le_bytes()).unwrap();
                }
                db.write(&b).unwrap();
                n += 1;
            }
            n
        })
    };
    let mut checked = 0;
    while checked < 2000 {
        let got = db.multi_get(&keys).unwrap();
        if got[0].is_none() {
            assert!(got.iter().all(Option::is_none));
            continue;
        }
        assert!(
            got.iter().all(|v| v == &got[0]),
            "multi_get mixed two batches"
        );
        checked += 1;
    }
    stop.store(true, Ordering::Relaxed);
    assert!(writer.join().unwrap() > 0);
}

#[test]
fn an_invalid_key_is_a_typed_error_and_a_closed_db_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let huge = vec![b'k'; kevo::MAX_KEY_SIZE + 1];
    assert!(matches!(
        db.multi_get(&[&b"ok"[..], b""]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        db.multi_get(&[huge.as_slice()]),
        Err(Error::InvalidArgument(_))
    ));
    db.close().unwrap();
    assert!(matches!(db.multi_get(&[&b"a"[..]]), Err(Error::Closed)));
}
