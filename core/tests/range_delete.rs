//! Range deletion end to end: reads in every direction, snapshots, flush, compaction
//! (covered entries dropped once no snapshot sees them, tombstones dropped at the bottom),
//! recovery from the WAL and from SSTables, and transactions.

use kevo::{Db, Error, Options, ReadOptions, WriteBatch};

fn key(i: u32) -> Vec<u8> {
    format!("key{i:06}").into_bytes()
}

fn small(dir: &std::path::Path) -> Db {
    Db::open(
        dir,
        Options::default()
            .memtable_size(64 << 10)
            .target_file_size(32 << 10),
    )
    .unwrap()
}

fn keys_forward(db: &Db) -> Vec<Vec<u8>> {
    db.scan::<Vec<u8>, _>(..)
        .unwrap()
        .map(|r| r.unwrap().0)
        .collect()
}

fn keys_backward(db: &Db) -> Vec<Vec<u8>> {
    let mut it = db.iter(ReadOptions::default()).unwrap();
    it.seek_to_last();
    let mut out = Vec::new();
    while it.valid() {
        out.push(it.key().to_vec());
        it.prev();
    }
    it.status().unwrap();
    out
}

fn expected(n: u32, deleted: std::ops::Range<u32>) -> Vec<Vec<u8>> {
    (0..n).filter(|i| !deleted.contains(i)).map(key).collect()
}

#[test]
fn reads_respect_a_range_tombstone_in_memtable_sstables_and_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = small(dir.path());
    for i in 0..5000 {
        db.put(&key(i), b"value-value-value").unwrap();
    }
    db.flush().unwrap();
    let mut before = Some(db.snapshot().unwrap());
    db.delete_range(&key(1000), &key(4000)).unwrap();
    // A put after the deletion, inside its range, survives it.
    db.put(&key(2500), b"again").unwrap();
    let mut want = expected(5000, 1000..4000);
    want.insert(1000, key(2500));
    for stage in ["memtable", "flushed", "compacted", "reopened"] {
        assert_eq!(
            db.get(&key(999)).unwrap().as_deref(),
            Some(&b"value-value-value"[..])
        );
        assert_eq!(db.get(&key(1000)).unwrap(), None, "{stage}");
        assert_eq!(db.get(&key(3999)).unwrap(), None, "{stage}");
        assert_eq!(
            db.get(&key(2500)).unwrap().as_deref(),
            Some(&b"again"[..]),
            "{stage}"
        );
        assert!(db.get(&key(4000)).unwrap().is_some(), "{stage}");
        assert_eq!(
            db.multi_get(&[key(0), key(1500), key(2500), key(4500)])
                .unwrap(),
            vec![
                Some(b"value-value-value".to_vec()),
                None,
                Some(b"again".to_vec()),
                Some(b"value-value-value".to_vec())
            ],
            "{stage}"
        );
        assert_eq!(keys_forward(&db), want, "{stage}");
        let mut back = keys_backward(&db);
        back.reverse();
        assert_eq!(back, want, "{stage}");
        // Seeks landing inside the deleted range move to the first key after it.
        let mut it = db.iter(ReadOptions::default()).unwrap();
        it.seek(&key(3000));
        assert_eq!(it.key(), key(4000).as_slice(), "{stage}");
        it.seek_for_prev(&key(3000));
        assert_eq!(it.key(), key(2500).as_slice(), "{stage}");
        if let Some(before) = &before {
            // The snapshot from before the deletion still sees every key.
            let v = before.get(&key(1500)).unwrap();
            assert_eq!(v.as_deref(), Some(&b"value-value-value"[..]));
            let n = before.scan::<Vec<u8>, _>(..).unwrap().count();
            assert_eq!(n, 5000, "{stage}");
        }
        match stage {
            "memtable" => db.flush().unwrap(),
            "flushed" => db.compact_range(None, None).unwrap(),
            "compacted" => {
                before = None;
                db.close().unwrap();
                db = small(dir.path());
            }
            _ => {}
        }
    }
}

#[test]
fn compaction_drops_covered_entries_once_no_snapshot_needs_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = small(dir.path());
    let value = vec![7u8; 200];
    for i in 0..20_000 {
        db.put(&key(i), &value).unwrap();
    }
    db.compact_range(None, None).unwrap();
    let full = db.stats().sst_bytes();
    let snap = db.snapshot().unwrap();
    db.delete_range(&key(0), &key(19_000)).unwrap();
    db.flush().unwrap();
    assert_eq!(
        db.property("kevo.num-range-deletions").unwrap().as_deref(),
        Some("1")
    );
    db.compact_range(None, None).unwrap();
    // The snapshot still sees the deleted keys, so compaction kept them.
    assert_eq!(snap.scan::<Vec<u8>, _>(..).unwrap().count(), 20_000);
    assert!(db.stats().sst_bytes() > full / 2);
    drop(snap);
    db.compact_range(None, None).unwrap();
    let after = db.stats().sst_bytes();
    assert!(
        after < full / 10,
        "{after} bytes of tables left of {full} after the covered entries were compacted away"
    );
    assert_eq!(keys_forward(&db), expected(20_000, 0..19_000));
    // At the bottom level the tombstone itself is gone too.
    assert_eq!(
        db.property("kevo.num-range-deletions").unwrap().as_deref(),
        Some("0")
    );
    db.close().unwrap();
    let db = small(dir.path());
    assert_eq!(keys_forward(&db), expected(20_000, 0..19_000));
}

#[test]
fn range_deletion_bounds_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let db = small(dir.path());
    db.put(b"a", b"1").unwrap();
    assert!(matches!(
        db.delete_range(b"b", b"a"),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        db.delete_range(b"", &vec![0u8; kevo::MAX_KEY_SIZE + 1]),
        Err(Error::InvalidArgument(_))
    ));
    db.delete_range(b"a", b"a").unwrap(); // empty: deletes nothing
    assert!(db.get(b"a").unwrap().is_some());
    db.delete_range(b"", b"b").unwrap(); // from the first key
    assert!(db.get(b"a").unwrap().is_none());
}

#[test]
fn batch_orders_puts_around_a_range_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let db = small(dir.path());
    let mut b = WriteBatch::new();
    b.put(b"b", b"before").unwrap();
    b.delete_range(b"a", b"z").unwrap();
    b.put(b"c", b"after").unwrap();
    db.write(&b).unwrap();
    assert_eq!(db.get(b"b").unwrap(), None);
    assert_eq!(db.get(b"c").unwrap().as_deref(), Some(&b"after"[..]));
    db.close().unwrap();
    // Replayed from the WAL the same way.
    let db = small(dir.path());
    assert_eq!(db.get(b"b").unwrap(), None);
    assert_eq!(db.get(b"c").unwrap().as_deref(), Some(&b"after"[..]));
}

#[test]
fn transactions_see_and_commit_their_range_deletions() {
    let dir = tempfile::tempdir().unwrap();
    let db = small(dir.path());
    for i in 0..10 {
        db.put(&key(i), b"v").unwrap();
    }
    let txn = db.transaction().unwrap();
    txn.put(&key(3), b"mine").unwrap();
    txn.delete_range(&key(2), &key(6)).unwrap();
    txn.put(&key(4), b"later").unwrap();
    assert_eq!(
        txn.get(&key(3)).unwrap(),
        None,
        "the range deletes the earlier own put"
    );
    assert_eq!(txn.get(&key(5)).unwrap(), None);
    assert_eq!(txn.get(&key(4)).unwrap().as_deref(), Some(&b"later"[..]));
    let mut it = txn.iter(ReadOptions::default()).unwrap();
    it.seek_to_first();
    let mut seen = Vec::new();
    while it.valid() {
        seen.push(it.key().to_vec());
        it.next();
    }
    let mut want: Vec<Vec<u8>> = [0, 1, 4, 6, 7, 8, 9].into_iter().map(key).collect();
    assert_eq!(seen, want);
    // Outside the transaction nothing changed yet.
    assert!(db.get(&key(5)).unwrap().is_some());
    txn.commit().unwrap();
    assert_eq!(keys_forward(&db), want);

    // A write into the range after the snapshot makes the commit conflict.
    let txn = db.transaction().unwrap();
    txn.delete_range(&key(0), &key(2)).unwrap();
    db.put(&key(1), b"concurrent").unwrap();
    assert!(matches!(txn.commit(), Err(Error::Conflict(_))));
    // And a range deletion after the snapshot conflicts with a transaction writing a key in it.
    let txn = db.transaction().unwrap();
    txn.put(&key(7), b"t").unwrap();
    db.delete_range(&key(6), &key(8)).unwrap();
    assert!(matches!(txn.commit(), Err(Error::Conflict(_))));
    want.retain(|k| *k < key(6) || *k >= key(8));
    assert_eq!(keys_forward(&db), want);
}
