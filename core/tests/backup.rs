//! Incremental backups (`kevo::backup`, RocksDB's BackupEngine scheme): round trips,
//! sharing, checksum verification, backups beside a writer, deletion and interrupted
//! backups.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use kevo::fs::{FaultKind, FileSystem, MemFileSystem};
use kevo::{BackupEngine, Db, Error, Options};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn small_opts() -> Options {
    Options::default()
        .memtable_size(16 << 10)
        .l0_compaction_trigger(4)
        .target_file_size(32 << 10)
}

fn contents(db: &Db) -> Model {
    db.scan_prefix(b"")
        .unwrap()
        .collect::<kevo::Result<Vec<_>>>()
        .unwrap()
        .into_iter()
        .collect()
}

fn write(db: &Db, model: &mut Model, range: std::ops::Range<u32>, tag: &str) {
    for i in range {
        let k = format!("k{i:06}").into_bytes();
        let v = format!("{tag}-{i}-{}", "x".repeat(40)).into_bytes();
        db.put(&k, &v).unwrap();
        model.insert(k, v);
    }
}

fn restored(fs: Option<Arc<dyn FileSystem>>, dir: &Path) -> Model {
    let db = match fs {
        Some(fs) => Db::reopen_on(dir, fs).unwrap(),
        None => Db::reopen(dir).unwrap(),
    };
    let c = contents(&db);
    db.close().unwrap();
    c
}

fn tables_in(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("shared")).unwrap().count()
}

#[test]
fn round_trip_and_second_backup_reuses_tables() {
    let t = tempfile::tempdir().unwrap();
    let db = Db::open(t.path().join("db"), small_opts()).unwrap();
    let engine = BackupEngine::open(t.path().join("bk")).unwrap();
    let mut model = Model::new();
    write(&db, &mut model, 0..3000, "a");
    // Settled, so that no pending compaction rewrites every table before backup 2.
    db.compact_range(None, None).unwrap();
    let first_model = model.clone();
    let first = engine.create_backup(&db).unwrap();
    assert_eq!(first.id, 1);
    assert_eq!(first.files_reused, 0);
    assert!(first.new_bytes > 0 && first.new_bytes == first.size);
    write(&db, &mut model, 3000..3500, "b");
    let second = engine.create_backup(&db).unwrap();
    assert_eq!(second.id, 2);
    assert!(second.files_reused > 0, "{second:?}");
    // Only the new tables and the WAL, manifest and CURRENT are stored again.
    assert!(second.new_bytes < second.size, "{second:?}");
    db.close().unwrap();

    let list = engine.list_backups().unwrap();
    assert_eq!(list, vec![first.clone(), second.clone()]);
    engine.verify(1).unwrap();
    engine.verify(2).unwrap();

    let r1 = t.path().join("r1");
    engine.restore(1, &r1).unwrap();
    assert_eq!(restored(None, &r1), first_model);
    let r2 = t.path().join("r2");
    engine.restore_latest(&r2).unwrap();
    assert_eq!(restored(None, &r2), model);

    // A non-empty target is refused and left alone.
    let e = engine.restore(1, &r1).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert!(matches!(
        engine.restore(9, t.path().join("r9")),
        Err(Error::NotFound(_))
    ));
    // Reopening the engine keeps both backups and every shared file.
    let shared = tables_in(engine.path());
    drop(engine);
    let engine = BackupEngine::open(t.path().join("bk")).unwrap();
    assert_eq!(engine.list_backups().unwrap().len(), 2);
    assert_eq!(tables_in(engine.path()), shared);
}

#[test]
fn flipped_byte_is_corruption_and_restore_leaves_nothing() {
    let fs = MemFileSystem::new();
    let dyn_fs: Arc<dyn FileSystem> = Arc::new(fs.clone());
    let db = Db::open("/db", small_opts().fs(dyn_fs.clone())).unwrap();
    let mut model = Model::new();
    write(&db, &mut model, 0..2000, "a");
    db.flush().unwrap();
    let engine = BackupEngine::with_fs(dyn_fs.clone(), "/bk").unwrap();
    engine.create_backup(&db).unwrap();
    db.close().unwrap();
    engine.verify(1).unwrap();

    let shared = Path::new("/bk/shared");
    let name = dyn_fs.list(shared).unwrap().into_iter().next().unwrap();
    let victim = shared.join(&name);
    let byte = dyn_fs.read_all(&victim).unwrap()[100];
    fs.corrupt(&victim, 100, &[byte ^ 0x01]).unwrap();

    let e = engine.verify(1).unwrap_err();
    assert!(e.is_corruption() && e.to_string().contains(&name), "{e}");
    let e = engine.restore(1, "/restored").unwrap_err();
    assert!(e.is_corruption() && e.to_string().contains(&name), "{e}");
    assert!(
        !dyn_fs.exists(Path::new("/restored")),
        "partial restore left behind"
    );

    // An existing empty target stays, empty.
    dyn_fs.create_dir_all(Path::new("/empty")).unwrap();
    assert!(engine.restore(1, "/empty").unwrap_err().is_corruption());
    assert!(dyn_fs.list(Path::new("/empty")).unwrap().is_empty());

    // A missing file is corruption too, naming it.
    fs.corrupt(&victim, 100, &[byte]).unwrap();
    engine.verify(1).unwrap();
    dyn_fs.remove(&victim).unwrap();
    let e = engine.restore(1, "/restored").unwrap_err();
    assert!(e.is_corruption() && e.to_string().contains(&name), "{e}");
    assert!(!dyn_fs.exists(Path::new("/restored")));
}

#[test]
fn backup_beside_a_writer_holds_every_acknowledged_write() {
    let t = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(t.path().join("db"), small_opts()).unwrap());
    let engine = BackupEngine::open(t.path().join("bk")).unwrap();
    let acked = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, acked, stop) = (db.clone(), acked.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                db.put(format!("w{i:08}").as_bytes(), &[7u8; 64]).unwrap();
                i += 1;
                acked.store(i, Ordering::SeqCst);
            }
        })
    };
    let mut floors = Vec::new();
    for _ in 0..3 {
        while acked.load(Ordering::SeqCst) < 500 * (floors.len() as u64 + 1) {
            std::thread::yield_now();
        }
        let floor = acked.load(Ordering::SeqCst);
        let info = engine.create_backup(&db).unwrap();
        floors.push((info.id, floor));
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    for (id, floor) in floors {
        let target = t.path().join(format!("r{id}"));
        engine.restore(id, &target).unwrap();
        let got = restored(None, &target);
        for i in 0..floor {
            assert!(
                got.contains_key(format!("w{i:08}").as_bytes()),
                "backup {id} lacks write {i} (acknowledged before it, {floor} in all)"
            );
        }
    }
}

#[test]
fn delete_purges_only_unreferenced_shared_files() {
    let t = tempfile::tempdir().unwrap();
    let db = Db::open(t.path().join("db"), small_opts()).unwrap();
    let engine = BackupEngine::open(t.path().join("bk")).unwrap();
    let mut model = Model::new();
    let mut models = Vec::new();
    for round in 0..3u32 {
        write(&db, &mut model, round * 1000..round * 1000 + 1500, "r");
        db.flush().unwrap();
        engine.create_backup(&db).unwrap();
        models.push(model.clone());
    }
    db.close().unwrap();
    let before = tables_in(engine.path());
    engine.delete_backup(2).unwrap();
    assert!(matches!(engine.delete_backup(2), Err(Error::NotFound(_))));
    assert!(!engine.path().join("private/2").exists());
    let ids: Vec<u64> = engine
        .list_backups()
        .unwrap()
        .iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(ids, [1, 3]);
    assert!(tables_in(engine.path()) <= before);
    for (id, m) in [(1, &models[0]), (3, &models[2])] {
        engine.verify(id).unwrap();
        let target = t.path().join(format!("r{id}"));
        engine.restore(id, &target).unwrap();
        assert_eq!(&restored(None, &target), m);
    }
    engine.delete_backup(1).unwrap();
    engine.delete_backup(3).unwrap();
    assert_eq!(
        tables_in(engine.path()),
        0,
        "nothing references them any more"
    );
    // Ids go on from the highest existing one: none now, so 1 again.
    let db = Db::reopen(t.path().join("db")).unwrap();
    assert_eq!(engine.create_backup(&db).unwrap().id, 1);
    db.close().unwrap();
}

#[test]
fn leftovers_of_a_crashed_backup_are_removed_on_open() {
    let t = tempfile::tempdir().unwrap();
    let db = Db::open(t.path().join("db"), small_opts()).unwrap();
    let bk = t.path().join("bk");
    let engine = BackupEngine::open(&bk).unwrap();
    let mut model = Model::new();
    write(&db, &mut model, 0..1500, "a");
    engine.create_backup(&db).unwrap();
    drop(engine);
    // What a crash between the steps of backup 2 leaves.
    std::fs::create_dir_all(bk.join("tmp/2")).unwrap();
    std::fs::write(bk.join("tmp/2/000099.sst"), b"half").unwrap();
    std::fs::create_dir_all(bk.join("private/2")).unwrap();
    std::fs::write(bk.join("private/2/CURRENT"), b"MANIFEST-000001\n").unwrap();
    std::fs::write(bk.join("shared/000099_4_0000000000000000.sst"), b"half").unwrap();
    std::fs::write(bk.join("meta/2.tmp"), b"kevo-backup 1\n").unwrap();
    let engine = BackupEngine::open(&bk).unwrap();
    assert!(!bk.join("tmp/2").exists());
    assert!(!bk.join("private/2").exists());
    assert!(!bk.join("meta/2.tmp").exists());
    assert!(!bk.join("shared/000099_4_0000000000000000.sst").exists());
    assert_eq!(engine.list_backups().unwrap().len(), 1);
    let info = engine.create_backup(&db).unwrap();
    assert_eq!(info.id, 2);
    db.close().unwrap();
    let target = t.path().join("r");
    engine.restore(2, &target).unwrap();
    assert_eq!(restored(None, &target), model);
}

/// Fails the k-th mutating file operation of a second backup, for every k until one
/// succeeds: each failure leaves backup 1 restorable, and a rerun (through a fresh
/// engine, as after a crash) succeeds with the data of the time.
#[test]
fn a_failure_at_any_step_of_a_backup_leaves_earlier_ones_intact() {
    let fs = MemFileSystem::new();
    let dyn_fs: Arc<dyn FileSystem> = Arc::new(fs.clone());
    let db = Db::open("/db", small_opts().fs(dyn_fs.clone())).unwrap();
    let mut model = Model::new();
    write(&db, &mut model, 0..1500, "a");
    let engine = BackupEngine::with_fs(dyn_fs.clone(), "/bk").unwrap();
    engine.create_backup(&db).unwrap();
    let first = model.clone();
    write(&db, &mut model, 1500..2000, "b");
    db.flush().unwrap();

    let mut k = 0;
    loop {
        fs.fail_at(k, FaultKind::Io, false);
        let r = engine.create_backup(&db);
        fs.clear_faults();
        if r.is_ok() {
            break;
        }
        // Backup 1 restores whatever happened.
        let engine = BackupEngine::with_fs(dyn_fs.clone(), "/bk").unwrap();
        let ids: Vec<u64> = engine
            .list_backups()
            .unwrap()
            .iter()
            .map(|b| b.id)
            .collect();
        assert_eq!(ids, [1], "after a failure at op {k}");
        let target = format!("/r1-{k}");
        engine.restore(1, &target).unwrap();
        assert_eq!(restored(Some(dyn_fs.clone()), Path::new(&target)), first);
        k += 1;
        assert!(k < 10_000, "the backup never succeeded");
    }
    assert!(k > 5, "the fault loop covered only {k} operations");
    db.close().unwrap();
    let engine = BackupEngine::with_fs(dyn_fs.clone(), "/bk").unwrap();
    assert_eq!(engine.list_backups().unwrap().len(), 2);
    engine.verify(2).unwrap();
    engine.restore(2, "/r2").unwrap();
    assert_eq!(restored(Some(dyn_fs.clone()), Path::new("/r2")), model);
    // Nothing of the failed attempts is left over.
    assert!(dyn_fs.list(Path::new("/bk/tmp")).unwrap().is_empty());
    let mut private = dyn_fs.list(Path::new("/bk/private")).unwrap();
    private.sort();
    assert_eq!(private, ["1", "2"]);
}

/// While another process holds the backup directory's lock (it is making a backup), a
/// creation or deletion here is refused with `Locked`, and opening leaves that process's
/// staging files alone.
#[test]
fn the_lock_keeps_a_second_writer_out_and_its_files_alone() {
    let fs = MemFileSystem::new();
    let dyn_fs: Arc<dyn FileSystem> = Arc::new(fs.clone());
    let db = Db::open("/db", small_opts().fs(dyn_fs.clone())).unwrap();
    write(&db, &mut Model::new(), 0..500, "a");
    let engine = BackupEngine::with_fs(dyn_fs.clone(), "/bk").unwrap();
    engine.create_backup(&db).unwrap();

    let held = dyn_fs.lock(Path::new("/bk/LOCK")).unwrap();
    dyn_fs.create_dir_all(Path::new("/bk/tmp/2")).unwrap();
    dyn_fs.create(Path::new("/bk/tmp/2/000007.sst")).unwrap();
    let other = BackupEngine::with_fs(dyn_fs.clone(), "/bk").unwrap();
    assert!(
        dyn_fs.exists(Path::new("/bk/tmp/2/000007.sst")),
        "staging of the holder removed"
    );
    assert!(matches!(other.create_backup(&db), Err(Error::Locked(_))));
    assert!(matches!(other.delete_backup(1), Err(Error::Locked(_))));
    // Reads need no lock.
    assert_eq!(other.list_backups().unwrap().len(), 1);
    other.verify(1).unwrap();
    other.restore(1, "/r").unwrap();
    drop(held);
    assert_eq!(other.create_backup(&db).unwrap().id, 2);
    db.close().unwrap();
}

/// An unreadable meta file is reported by name, keeps every shared file (it might name any),
/// and can itself be deleted.
#[test]
fn a_damaged_meta_file_is_reported_and_deletable() {
    let t = tempfile::tempdir().unwrap();
    let db = Db::open(t.path().join("db"), small_opts()).unwrap();
    let bk = t.path().join("bk");
    let engine = BackupEngine::open(&bk).unwrap();
    let mut model = Model::new();
    write(&db, &mut model, 0..1500, "a");
    engine.create_backup(&db).unwrap();
    let first = model.clone();
    write(&db, &mut model, 1500..2500, "b");
    engine.create_backup(&db).unwrap();
    db.close().unwrap();
    drop(engine);
    std::fs::write(bk.join("meta/2"), b"kevo-backup 1\nid two\n").unwrap();
    let shared = tables_in(&bk);

    let engine = BackupEngine::open(&bk).unwrap();
    assert_eq!(
        tables_in(&bk),
        shared,
        "open purged shared files of a damaged meta"
    );
    let e = engine.list_backups().unwrap_err();
    assert!(e.is_corruption() && e.to_string().contains("meta/2"), "{e}");
    assert!(engine
        .restore(2, t.path().join("r2"))
        .unwrap_err()
        .is_corruption());
    engine.delete_backup(2).unwrap();
    assert_eq!(engine.list_backups().unwrap().len(), 1);
    engine.restore(1, t.path().join("r1")).unwrap();
    assert_eq!(restored(None, &t.path().join("r1")), first);
}

/// Two databases backed up into one directory have tables of the same number and size but
/// other bytes: the hash tells them apart, so each restores its own data.
#[test]
fn tables_of_equal_number_and_size_from_two_databases_stay_apart() {
    let t = tempfile::tempdir().unwrap();
    let opts = || small_opts().compression(kevo::Compression::None);
    let engine = BackupEngine::open(t.path().join("bk")).unwrap();
    let mut models = Vec::new();
    for (name, tag) in [("a", "A"), ("b", "B")] {
        let db = Db::open(t.path().join(name), opts()).unwrap();
        let mut model = Model::new();
        write(&db, &mut model, 0..1000, tag);
        db.flush().unwrap();
        let info = engine.create_backup(&db).unwrap();
        if tag == "B" {
            assert_eq!(info.files_reused, 0, "B's tables taken for A's: {info:?}");
        }
        db.close().unwrap();
        models.push(model);
    }
    let shared: Vec<String> = std::fs::read_dir(engine.path().join("shared"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let prefixes: std::collections::HashSet<_> = shared
        .iter()
        .map(|n| n.rsplit_once('_').unwrap().0.to_owned())
        .collect();
    assert!(
        prefixes.len() < shared.len(),
        "no two tables share number and size: {shared:?}"
    );
    for (id, model) in [(1, &models[0]), (2, &models[1])] {
        let target = t.path().join(format!("r{id}"));
        engine.restore(id, &target).unwrap();
        assert_eq!(&restored(None, &target), model);
    }
}

/// A power loss at any step of a backup (every file operation from step k on fails, as in a
/// dead process, then unsynced bytes are torn and unsynced directory entries forgotten):
/// after it, backup 1 is whole, and backup 2 is either absent or whole — never a meta file
/// naming a file that did not survive.
#[test]
fn a_power_loss_at_any_step_leaves_whole_backups_only() {
    use kevo::fs::CrashMode;
    let base = MemFileSystem::new();
    let base_fs: Arc<dyn FileSystem> = Arc::new(base.clone());
    let db = Db::open("/db", small_opts().fs(base_fs.clone())).unwrap();
    let mut model = Model::new();
    write(&db, &mut model, 0..1500, "a");
    BackupEngine::with_fs(base_fs.clone(), "/bk")
        .unwrap()
        .create_backup(&db)
        .unwrap();
    let first = model.clone();
    write(&db, &mut model, 1500..2200, "b");
    db.close().unwrap();

    let mut k = 0;
    let mut saw_second = 0;
    loop {
        let img = base.fork();
        let img_fs: Arc<dyn FileSystem> = Arc::new(img.clone());
        let db = Db::reopen_on("/db", img_fs.clone()).unwrap();
        let engine = BackupEngine::with_fs(img_fs.clone(), "/bk").unwrap();
        img.fail_at(k, FaultKind::Io, true);
        let done = engine.create_backup(&db).is_ok();
        let next = img.crash(CrashMode {
            tear_unsynced: true,
            forget_unsynced_dir_entries: true,
            seed: k,
        });
        drop(db);
        let next_fs: Arc<dyn FileSystem> = Arc::new(next);
        let engine = BackupEngine::with_fs(next_fs.clone(), "/bk").unwrap();
        let ids: Vec<u64> = engine
            .list_backups()
            .unwrap()
            .iter()
            .map(|b| b.id)
            .collect();
        assert!(
            ids == [1] || ids == [1, 2],
            "after a power loss at op {k}: {ids:?}"
        );
        if done {
            assert_eq!(ids, [1, 2], "backup 2 acknowledged, then lost");
        }
        for (id, want) in [(1, &first), (2, &model)] {
            if ids.contains(&id) {
                engine.verify(id).unwrap();
                let target = format!("/r{id}");
                engine.restore(id, &target).unwrap();
                assert_eq!(&restored(Some(next_fs.clone()), Path::new(&target)), want);
            }
        }
        saw_second += usize::from(ids.len() == 2);
        if done {
            break;
        }
        k += 1;
        assert!(k < 10_000, "the backup never succeeded");
    }
    assert!(k > 5 && saw_second >= 1, "covered {k} operations");
}
