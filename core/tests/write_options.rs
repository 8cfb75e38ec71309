//! Per-write durability ([`WriteOptions`]) on the in-memory file system, whose simulated
//! power loss drops every byte not synced: a synced write survives it under
//! `SyncMode::None`, an unsynced one does not, and a write with the WAL disabled is never
//! logged, so it survives only once flushed.

use std::path::Path;
use std::sync::Arc;

use kevo::fs::{CrashMode, MemFileSystem};
use kevo::{Db, Error, Options, SyncMode, WriteBatch, WriteOptions};

fn open(fs: &MemFileSystem) -> Db {
    let options = Options::default()
        .fs(Arc::new(fs.clone()))
        .sync_mode(SyncMode::None);
    Db::open(Path::new("/db"), options).unwrap()
}

/// Power loss, then reopen on what survived.
fn crash_and_reopen(fs: &MemFileSystem, db: Db) -> Db {
    let after = fs.crash(CrashMode::drop_unsynced());
    drop(db);
    Db::reopen_on(Path::new("/db"), Arc::new(after)).unwrap()
}

#[test]
fn a_synced_write_survives_power_loss_under_sync_mode_none() {
    let fs = MemFileSystem::new();
    let db = open(&fs);
    db.put(b"unsynced", b"1").unwrap();
    db.put_opt(b"synced", b"2", &WriteOptions::synced())
        .unwrap();
    db.put(b"after", b"3").unwrap();
    let db = crash_and_reopen(&fs, db);
    // The synced write made everything before it durable too (one log, synced as a whole).
    assert_eq!(db.get(b"unsynced").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(db.get(b"synced").unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(
        db.get(b"after").unwrap(),
        None,
        "an unsynced write survived power loss"
    );
}

#[test]
fn synced_delete_and_batch_are_durable() {
    let fs = MemFileSystem::new();
    let db = open(&fs);
    db.put_opt(b"a", b"1", &WriteOptions::synced()).unwrap();
    db.delete_opt(b"a", &WriteOptions::synced()).unwrap();
    let mut batch = WriteBatch::new();
    batch.put(b"b", b"2").unwrap();
    batch.put(b"c", b"3").unwrap();
    db.write_opt(&batch, &WriteOptions::synced()).unwrap();
    let db = crash_and_reopen(&fs, db);
    assert_eq!(db.get(b"a").unwrap(), None);
    assert_eq!(db.get(b"b").unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(db.get(b"c").unwrap().as_deref(), Some(&b"3"[..]));
}

#[test]
fn a_write_without_the_wal_is_not_logged_and_survives_only_a_flush() {
    let fs = MemFileSystem::new();
    let db = open(&fs);
    let no_wal = WriteOptions {
        disable_wal: true,
        ..Default::default()
    };
    let logged_before = db.stats().wal_bytes_written;
    db.put_opt(b"bulk1", b"x", &no_wal).unwrap();
    assert_eq!(db.stats().wal_bytes_written, logged_before);
    assert_eq!(db.get(b"bulk1").unwrap().as_deref(), Some(&b"x"[..]));
    db.put_opt(b"logged", b"y", &WriteOptions::synced())
        .unwrap();
    let db = crash_and_reopen(&fs, db);
    assert_eq!(
        db.get(b"bulk1").unwrap(),
        None,
        "an unlogged write was replayed"
    );
    assert_eq!(db.get(b"logged").unwrap().as_deref(), Some(&b"y"[..]));

    db.put_opt(b"bulk2", b"z", &no_wal).unwrap();
    db.flush().unwrap();
    let db = crash_and_reopen(&fs, db);
    assert_eq!(db.get(b"bulk2").unwrap().as_deref(), Some(&b"z"[..]));
    // Sequence numbers stay monotonic after unlogged writes were lost.
    db.put(b"later", b"w").unwrap();
    assert_eq!(db.get(b"bulk2").unwrap().as_deref(), Some(&b"z"[..]));
}

#[test]
fn sync_with_the_wal_disabled_is_rejected() {
    let fs = MemFileSystem::new();
    let db = open(&fs);
    let both = WriteOptions {
        sync: true,
        disable_wal: true,
    };
    assert!(matches!(
        db.put_opt(b"k", b"v", &both),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        db.write_opt(&WriteBatch::new(), &both),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(db.get(b"k").unwrap(), None);
}
