//! Tests of [`VersionSet`] on [`MemFileSystem`]: create, apply, recover, crash, damage.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::error::Error;
use crate::filename::{current_path, manifest_path};
use crate::fs::{CrashMode, FaultKind, FileSystem, MemFileSystem};
use crate::key::{make_internal_key, ValueKind};
use crate::wal::LogWriter;

const OPTIONS: &str = "block_size=4096\nsync_mode=none\n";

fn setup() -> (MemFileSystem, Arc<dyn FileSystem>, PathBuf) {
    let mem = MemFileSystem::new();
    let dir = PathBuf::from("/db");
    mem.create_dir_all(&dir).unwrap();
    let fs: Arc<dyn FileSystem> = Arc::new(mem.clone());
    (mem, fs, dir)
}

fn table(number: u64, smallest: &str, largest: &str, seq: u64) -> FileMetaData {
    FileMetaData {
        number,
        file_size: 1000 + number,
        smallest: make_internal_key(smallest.as_bytes(), seq, ValueKind::Put),
        largest: make_internal_key(largest.as_bytes(), seq, ValueKind::Delete),
        smallest_seq: seq,
        largest_seq: seq + 5,
        num_entries: 50,
        num_deletions: 2,
        num_range_deletions: 0,
    }
}

/// What recovery must reproduce.
#[derive(Debug, PartialEq)]
struct State {
    version: Version,
    last_sequence: u64,
    log_number: u64,
    options: String,
    format_version: u32,
}

fn state(vs: &VersionSet) -> State {
    State {
        version: (*vs.current()).clone(),
        last_sequence: vs.last_sequence(),
        log_number: vs.log_number(),
        options: vs.options_text().to_owned(),
        format_version: vs.format_version(),
    }
}

/// Flushes and compactions across levels, as the engine would log them.
fn run_workload(vs: &mut VersionSet) {
    let mut seq = 0;
    // Three flushes into L0, each retiring a WAL.
    for (lo, hi) in [("a", "m"), ("c", "x"), ("b", "k")] {
        let wal = vs.new_file_number();
        let t = vs.new_file_number();
        seq += 100;
        vs.set_last_sequence(seq);
        let mut e = VersionEdit::new();
        e.log_number = Some(wal);
        e.add_file(0, table(t, lo, hi, seq - 99));
        vs.log_and_apply(e).unwrap();
    }
    assert_eq!(vs.current().num_files(0), 3);
    // Compact all of L0 into two L1 files.
    let l0: Vec<u64> = vs.current().files(0).iter().map(|f| f.number).collect();
    let mut e = VersionEdit::new();
    for n in l0 {
        e.delete_file(0, n);
    }
    let (a, b) = (vs.new_file_number(), vs.new_file_number());
    e.add_file(1, table(a, "a", "f", 1));
    e.add_file(1, table(b, "g", "x", 1));
    vs.log_and_apply(e).unwrap();
    // A trivial move down a level, and a new options text.
    let mut e = VersionEdit::new();
    e.delete_file(1, b);
    e.add_file(2, table(b, "g", "x", 1));
    e.options = Some("block_size=8192\n".into());
    vs.log_and_apply(e).unwrap();
    // One more flush.
    let t = vs.new_file_number();
    vs.set_last_sequence(seq + 7);
    let mut e = VersionEdit::new();
    e.add_file(0, table(t, "q", "r", seq + 1));
    vs.log_and_apply(e).unwrap();
}

#[test]
fn create_apply_recover_gives_the_same_state() {
    let (mem, fs, dir) = setup();
    let mut vs = VersionSet::create(fs.clone(), &dir, OPTIONS.into()).unwrap();
    assert_eq!(vs.manifest_number(), 1);
    assert_eq!(vs.next_file_number(), 2);
    assert_eq!(vs.format_version(), MANIFEST_FORMAT_VERSION);
    assert_eq!(
        mem.read_all(&current_path(&dir)).unwrap(),
        b"MANIFEST-000001\n"
    );
    run_workload(&mut vs);
    let before = state(&vs);
    let next = vs.next_file_number();
    assert_eq!(before.version.num_files(0), 1);
    assert_eq!(before.version.num_files(1), 1);
    assert_eq!(before.version.num_files(2), 1);
    assert_eq!(before.options, "block_size=8192\n");
    drop(vs);

    let vs = VersionSet::recover(fs.clone(), &dir).unwrap();
    assert_eq!(state(&vs), before);
    // The new manifest took the next number; nothing recorded is handed out again.
    assert_eq!(vs.manifest_number(), next);
    assert_eq!(vs.next_file_number(), next + 1);
    assert_eq!(read_current(fs.as_ref(), &dir).unwrap(), next);
    assert!(
        mem.exists(&manifest_path(&dir, 1)),
        "old manifest left for cleanup"
    );
    // It holds exactly one snapshot edit.
    let edits = read_manifest(fs.as_ref(), &manifest_path(&dir, next)).unwrap();
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0].1.new_files.len(), 3);
    drop(vs);

    // And recovering from the snapshot gives the same again.
    let vs = VersionSet::recover(fs, &dir).unwrap();
    assert_eq!(state(&vs), before);
    assert_eq!(vs.manifest_number(), next + 1);
}

#[test]
fn read_manifest_lists_every_edit_with_its_offset() {
    let (_, fs, dir) = setup();
    let mut vs = VersionSet::create(fs.clone(), &dir, OPTIONS.into()).unwrap();
    run_workload(&mut vs);
    let edits = read_manifest(fs.as_ref(), &manifest_path(&dir, 1)).unwrap();
    assert_eq!(edits.len(), 7); // snapshot + 6 edits
    assert_eq!(edits[0].0, 0);
    let snap = &edits[0].1;
    assert_eq!(snap.format_version, Some(MANIFEST_FORMAT_VERSION));
    assert_eq!(snap.options.as_deref(), Some(OPTIONS));
    assert_eq!(
        (snap.log_number, snap.next_file_number, snap.last_sequence),
        (Some(0), Some(2), Some(0))
    );
    assert!(edits.windows(2).all(|w| w[0].0 < w[1].0));
    // Every logged edit is stamped with the counters.
    assert!(edits[1..]
        .iter()
        .all(|(_, e)| e.next_file_number.is_some() && e.last_sequence.is_some()));
    assert_eq!(
        edits.last().unwrap().1.next_file_number,
        Some(vs.next_file_number())
    );
}

#[test]
fn recover_after_a_crash() {
    let (mem, fs, dir) = setup();
    let mut vs = VersionSet::create(fs.clone(), &dir, OPTIONS.into()).unwrap();
    run_workload(&mut vs);
    let before = state(&vs);
    drop(vs);
    let fs: Arc<dyn FileSystem> = Arc::new(mem.crash(CrashMode {
        tear_unsynced: true,
        forget_unsynced_dir_entries: true,
        seed: 7,
    }));
    let vs = VersionSet::recover(fs.clone(), &dir).unwrap();
    assert_eq!(state(&vs), before);
    drop(vs);
    // The recovery's own manifest switch was durable too.
    let fs: Arc<dyn FileSystem> = Arc::new(mem.crash(CrashMode {
        forget_unsynced_dir_entries: true,
        ..CrashMode::drop_unsynced()
    }));
    assert_eq!(state(&VersionSet::recover(fs, &dir).unwrap()), before);
}

#[test]
fn torn_last_edit_is_dropped() {
    let (mem, fs, dir) = setup();
    let mut vs = VersionSet::create(fs.clone(), &dir, OPTIONS.into()).unwrap();
    run_workload(&mut vs);
    let path = manifest_path(&dir, 1);
    let edits = read_manifest(fs.as_ref(), &path).unwrap();
    drop(vs);
    // Cut the last record in half.
    let last = edits.last().unwrap().0;
    let len = mem.read_all(&path).unwrap().len() as u64;
    mem.truncate(&path, ((last + len) / 2) as usize).unwrap();
    let vs = VersionSet::recover(fs, &dir).unwrap();
    // The last edit added the one file numbered like the set's highest table.
    let last_file = edits.last().unwrap().1.new_files[0].1.number;
    assert!(vs.current().live_files().all(|f| f.number != last_file));
    assert_eq!(vs.current().num_files(0), 0);
}

#[test]
fn damaged_edit_in_the_middle_is_corruption() {
    let (mem, fs, dir) = setup();
    let mut vs = VersionSet::create(fs.clone(), &dir, OPTIONS.into()).unwrap();
    run_workload(&mut vs);
    drop(vs);
    let path = manifest_path(&dir, 1);
    let edits = read_manifest(fs.as_ref(), &path).unwrap();
    let at = edits[3].0 + 15; // inside the payload of the fourth record
    let b = mem.read_all(&path).unwrap()[at as usize];
    mem.corrupt(&path, at as usize, &[b ^ 0x40]).unwrap();
    let e = VersionSet::recover(fs.clone(), &dir).unwrap_err();
    assert!(
        matches!(&e, Error::Corruption { offset, .. } if *offset == edits[3].0),
        "{e}"
    );
    assert!(read_manifest(fs.as_ref(), &path)
        .unwrap_err()
        .is_corruption());
}

#[test]
fn missing_or_malformed_current() {
    let (mem, fs, dir) = setup();
    assert!(matches!(
        VersionSet::recover(fs.clone(), &dir),
        Err(Error::NotFound(_))
    ));
    let vs = VersionSet::create(fs.clone(), &dir, OPTIONS.into()).unwrap();
    drop(vs);
    for bad in [
        &b"MANIFEST-000001"[..], // no newline
        b"MANIFEST-1\n",
        b"000001.log\n",
        b"MANIFEST-000001\nMANIFEST-000002\n",
        b"",
    ] {
        crate::fs::write_file_atomic(&mem, &current_path(&dir), bad).unwrap();
        let e = VersionSet::recover(fs.clone(), &dir).unwrap_err();
        assert!(e.is_corruption(), "{bad:?}: {e}");
    }
    // CURRENT naming a manifest that does not exist.
    crate::fs::write_file_atomic(&mem, &current_path(&dir), b"MANIFEST-000009\n").unwrap();
    let e = VersionSet::recover(fs.clone(), &dir).unwrap_err();
    assert!(
        e.is_corruption() && e.to_string().contains("MANIFEST-000009"),
        "{e}"
    );
    // Creating over an existing database is refused.
    assert!(matches!(
        VersionSet::create(fs, &dir, OPTIONS.into()),
        Err(Error::InvalidArgument(_))
    ));
}

/// Writes a manifest made of `edits` and points CURRENT at it.
fn handmade_manifest(mem: &MemFileSystem, dir: &Path, edits: &[VersionEdit]) {
    let mut w = LogWriter::new(mem.create(&manifest_path(dir, 5)).unwrap());
    for e in edits {
        w.add_record(&e.encode()).unwrap();
    }
    w.sync().unwrap();
    crate::fs::write_file_atomic(mem, &current_path(dir), b"MANIFEST-000005\n").unwrap();
}

fn snapshot() -> VersionEdit {
    VersionEdit {
        format_version: Some(MANIFEST_FORMAT_VERSION),
        options: Some(OPTIONS.into()),
        log_number: Some(3),
        next_file_number: Some(6),
        last_sequence: Some(10),
        ..Default::default()
    }
}

#[test]
fn inconsistent_or_incomplete_manifests_are_rejected() {
    let (mem, fs, dir) = setup();
    let recover_err = |edits: &[VersionEdit]| {
        handmade_manifest(&mem, &dir, edits);
        VersionSet::recover(fs.clone(), &dir).unwrap_err()
    };
    let mut del = VersionEdit::new();
    del.delete_file(1, 4);
    let e = recover_err(&[snapshot(), del]);
    assert!(
        e.is_corruption() && e.to_string().contains("no such file"),
        "{e}"
    );

    let mut overlap = snapshot();
    overlap.add_file(3, table(1, "a", "k", 1));
    overlap.add_file(3, table(2, "j", "z", 1));
    assert!(recover_err(&[overlap]).is_corruption());

    let mut no_log_number = snapshot();
    no_log_number.log_number = None;
    let e = recover_err(&[no_log_number]);
    assert!(e.to_string().contains("log number"), "{e}");

    let mut not_a_snapshot = snapshot();
    not_a_snapshot.format_version = None;
    assert!(recover_err(&[not_a_snapshot]).is_corruption());
    assert!(recover_err(&[]).is_corruption(), "an empty manifest");

    let mut newer = snapshot();
    newer.format_version = Some(MANIFEST_FORMAT_VERSION + 1);
    assert!(matches!(recover_err(&[newer]), Error::InvalidArgument(_)));

    // And a good handmade one recovers, with file numbers bumped past what it names.
    let mut good = snapshot();
    good.add_file(0, table(40, "a", "b", 1));
    handmade_manifest(&mem, &dir, &[good]);
    let vs = VersionSet::recover(fs.clone(), &dir).unwrap();
    assert_eq!(vs.manifest_number(), 41);
    assert_eq!(vs.next_file_number(), 42);
    assert_eq!((vs.log_number(), vs.last_sequence()), (3, 10));
}

#[test]
fn invalid_edit_is_refused_without_side_effects() {
    let (_, fs, dir) = setup();
    let mut vs = VersionSet::create(fs, &dir, OPTIONS.into()).unwrap();
    run_workload(&mut vs);
    let before = state(&vs);
    let size = vs.manifest_size();
    let mut e = VersionEdit::new();
    e.delete_file(3, 12345);
    assert!(matches!(
        vs.log_and_apply(e),
        Err(Error::InvalidArgument(_))
    ));
    let mut e = VersionEdit::new();
    e.log_number = Some(0);
    assert!(matches!(
        vs.log_and_apply(e),
        Err(Error::InvalidArgument(_))
    ));
    let mut e = VersionEdit::new();
    e.add_file(1, table(99, "a", "z", 1)); // overlaps the L1 file
    assert!(matches!(
        vs.log_and_apply(e),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(state(&vs), before);
    assert_eq!(vs.manifest_size(), size);
    assert!(vs.failure().is_none());
    vs.log_and_apply(VersionEdit::new()).unwrap();
}

#[test]
fn failed_manifest_write_changes_nothing_and_sticks() {
    // The edit's writes are: header append (op 0), payload append (op 1), sync (op 2).
    for fail_at in 0..3 {
        for crash in [false, true] {
            let (mem, fs, dir) = setup();
            let mut vs = VersionSet::create(fs.clone(), &dir, OPTIONS.into()).unwrap();
            run_workload(&mut vs);
            let before = state(&vs);
            let mut e = VersionEdit::new();
            let n = vs.new_file_number();
            e.add_file(0, table(n, "s", "t", 900));
            mem.fail_at(fail_at, FaultKind::Io, false);
            assert!(matches!(vs.log_and_apply(e), Err(Error::Io { .. })));
            assert_eq!(state(&vs), before, "the version did not change");
            assert!(vs.failure().is_some());
            // Sticky, even though the disk works again.
            assert!(vs.log_and_apply(VersionEdit::new()).is_err());
            assert_eq!(state(&vs), before);
            drop(vs);
            let fs: Arc<dyn FileSystem> = if crash {
                Arc::new(mem.crash(CrashMode::drop_unsynced()))
            } else {
                fs
            };
            // After a reopen the failed edit is either in effect or not; nothing else moved.
            let vs = VersionSet::recover(fs, &dir).unwrap();
            let after = state(&vs);
            let applied = vs.current().live_files().any(|f| f.number == n);
            // Only a complete record can be in effect, and only if no crash dropped it.
            assert_eq!(
                applied,
                fail_at == 2 && !crash,
                "fail_at {fail_at} crash {crash}"
            );
            if applied {
                assert_eq!(after.version.num_files(0), before.version.num_files(0) + 1);
            } else {
                assert_eq!(after, before, "fail_at {fail_at} crash {crash}");
            }
        }
    }
}

#[test]
fn manifest_rolls_over_and_recovers_from_the_new_one() {
    let (mem, fs, dir) = setup();
    let mut vs = VersionSet::create(fs.clone(), &dir, OPTIONS.into()).unwrap();
    vs.set_max_manifest_size(600);
    let mut manifests = vec![vs.manifest_number()];
    for i in 0..40u64 {
        let t = vs.new_file_number();
        vs.set_last_sequence(i * 10 + 10);
        let mut e = VersionEdit::new();
        e.add_file(0, table(t, "a", "z", i * 10 + 1));
        if vs.current().num_files(0) >= 4 {
            let oldest = vs.current().files(0).last().unwrap().number;
            e.delete_file(0, oldest);
        }
        vs.log_and_apply(e).unwrap();
        if *manifests.last().unwrap() != vs.manifest_number() {
            manifests.push(vs.manifest_number());
        }
    }
    assert!(manifests.len() >= 3, "rolled over: {manifests:?}");
    let live = vs.manifest_number();
    assert_eq!(read_current(fs.as_ref(), &dir).unwrap(), live);
    // File numbers of manifests come from the shared counter.
    assert!(manifests.windows(2).all(|w| w[0] < w[1]));
    let before = state(&vs);
    drop(vs);
    let fs: Arc<dyn FileSystem> = Arc::new(mem.crash(CrashMode {
        forget_unsynced_dir_entries: true,
        ..CrashMode::drop_unsynced()
    }));
    let vs = VersionSet::recover(fs, &dir).unwrap();
    assert_eq!(state(&vs), before);
}

#[test]
fn version_set_can_live_in_a_mutex_shared_between_threads() {
    fn assert_send<T: Send>() {}
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send::<VersionSet>();
    assert_send_sync::<Version>();
    assert_send_sync::<std::sync::Mutex<VersionSet>>();
}

/// A read-only set follows the writer's manifest edit by edit, and through rollovers, to
/// the state a fresh recovery would give; it never writes.
#[test]
fn read_only_set_follows_appends_and_rollovers() {
    let (mem, fs, dir) = setup();
    let mut w = VersionSet::create(fs.clone(), &dir, OPTIONS.into()).unwrap();
    let mut r = VersionSet::recover_read_only(fs.clone(), &dir).unwrap();
    assert_eq!(state(&r), state(&w));
    let files_before = mem.list(&dir).unwrap();
    // Nothing new: no change.
    r.catch_up_read_only().unwrap();
    assert_eq!(state(&r), state(&w));
    run_workload(&mut w);
    r.catch_up_read_only().unwrap();
    assert_eq!(state(&r), state(&w));
    assert_eq!(mem.list(&dir).unwrap().len(), files_before.len());
    // Force rollovers: edits now start new manifests, deleting the old ones.
    w.set_max_manifest_size(1);
    let first_manifest = w.manifest_number();
    for i in 0..6 {
        let t = w.new_file_number();
        let mut e = VersionEdit::new();
        e.add_file(2, table(t, &format!("z{i}"), &format!("z{i}z"), 1));
        w.log_and_apply(e).unwrap();
        r.catch_up_read_only().unwrap();
        assert_eq!(state(&r), state(&w), "after edit {i}");
        assert_eq!(r.manifest_number(), w.manifest_number());
    }
    assert!(
        w.manifest_number() > first_manifest + 1,
        "rolled over twice"
    );
    let err = r.log_and_apply(VersionEdit::new()).unwrap_err();
    assert!(matches!(err, Error::ReadOnly(_)), "{err:?}");
    let err = w.catch_up_read_only().unwrap_err();
    assert!(matches!(err, Error::ReadOnly(_)), "{err:?}");
}
