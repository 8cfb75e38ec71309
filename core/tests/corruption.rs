//! Corruption: flip every single bit of an SSTable, of a WAL and of a manifest in turn, and
//! truncate a WAL at every byte; reopen, read everything. Every read must return the right
//! data or `Error::Corruption` (a damaged WAL tail may be dropped, as the recovery mode
//! documents); never a wrong value, never a panic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kevo::filename::{parse_file_name, FileKind};
use kevo::fs::{FileSystem, MemFileSystem};
use kevo::wal::WalRecoveryMode;
use kevo::{Db, Error, Options};

fn options(fs: &MemFileSystem) -> Options {
    Options::default()
        .fs(Arc::new(fs.clone()))
        .block_size(256)
        .memtable_size(1 << 20)
}

fn find(fs: &MemFileSystem, want: fn(FileKind) -> bool) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs
        .list(Path::new("/db"))
        .unwrap()
        .into_iter()
        .filter(|n| parse_file_name(n).is_some_and(want))
        .map(|n| Path::new("/db").join(n))
        .collect();
    v.sort();
    v
}

/// Every key and value in `db`, read with a full scan.
fn contents(db: &Db) -> BTreeMap<Vec<u8>, Vec<u8>> {
    db.scan::<Vec<u8>, _>(..)
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

/// What `n` puts of keys `0..n` (with their values) leave.
fn first_records(n: usize) -> BTreeMap<Vec<u8>, Vec<u8>> {
    (0..n).map(|i| (key(i), value(i))).collect()
}

fn key(i: usize) -> Vec<u8> {
    format!("key{i:04}").into_bytes()
}
fn value(i: usize) -> Vec<u8> {
    format!("value-{i}-{}", "x".repeat(i % 7)).into_bytes()
}

#[test]
fn every_flipped_sstable_bit_gives_right_data_or_corruption() {
    let fs = MemFileSystem::new();
    let n = 120;
    {
        let db = Db::open("/db", options(&fs)).unwrap();
        for i in 0..n {
            db.put(&key(i), &value(i)).unwrap();
        }
        db.delete(&key(3)).unwrap();
        db.flush().unwrap();
    }
    let tables = find(&fs, |k| matches!(k, FileKind::Table(_)));
    assert_eq!(tables.len(), 1);
    let len = fs.read_all(&tables[0]).unwrap().len();
    let (mut detected, mut harmless) = (0, 0);
    for flip in 0..len * 8 {
        let (offset, bit) = (flip / 8, flip % 8);
        let image = fs.fork();
        let byte = image.read_all(&tables[0]).unwrap()[offset];
        image
            .corrupt(&tables[0], offset, &[byte ^ (1 << bit)])
            .unwrap();
        let db = match Db::reopen_on("/db", Arc::new(image)) {
            Ok(db) => db,
            Err(e) => {
                assert!(e.is_corruption(), "offset {offset}: open failed with {e}");
                detected += 1;
                continue;
            }
        };
        let mut saw_error = false;
        for i in 0..n {
            match db.get(&key(i)) {
                Ok(v) => {
                    let want = if i == 3 { None } else { Some(value(i)) };
                    assert_eq!(v, want, "offset {offset}: wrong value for key {i}");
                }
                Err(e) => {
                    assert!(e.is_corruption(), "offset {offset}: {e}");
                    saw_error = true;
                }
            }
        }
        let mut expected = (0..n).filter(|&i| i != 3).map(|i| (key(i), value(i)));
        let scan = match db.scan::<Vec<u8>, _>(..) {
            Ok(scan) => scan,
            Err(e) => {
                assert!(e.is_corruption(), "offset {offset}: {e}");
                detected += 1;
                continue;
            }
        };
        for r in scan {
            match r {
                Ok(kv) => assert_eq!(Some(kv), expected.next(), "offset {offset}: scan"),
                Err(e) => {
                    assert!(e.is_corruption(), "offset {offset}: {e}");
                    saw_error = true;
                    break;
                }
            }
        }
        if saw_error {
            detected += 1;
        } else {
            harmless += 1;
        }
    }
    eprintln!(
        "sstable bit flips: {} bits of {len} bytes, {detected} detected, {harmless} harmless",
        len * 8
    );
    assert!(
        detected > len * 8 * 9 / 10,
        "nearly every bit is covered by a checksum"
    );
}

#[test]
fn every_flipped_wal_bit_gives_a_prefix_or_corruption() {
    let fs = MemFileSystem::new();
    let n = 40;
    {
        let db = Db::open("/db", options(&fs)).unwrap();
        for i in 0..n {
            db.put(&key(i), &value(i)).unwrap();
        }
        db.close().unwrap();
    }
    let wals = find(&fs, |k| matches!(k, FileKind::Wal(_)));
    let wal = wals.last().unwrap().clone();
    let bytes = fs.read_all(&wal).unwrap();
    assert!(!bytes.is_empty());
    // Where each record starts: 11-byte fragment header + batch (12-byte header, kind, two
    // one-byte varint lengths, key, value). The log is smaller than one 32 KiB block.
    let mut starts = Vec::new();
    let mut pos = 0;
    for i in 0..n {
        starts.push(pos);
        pos += 11 + 12 + 3 + key(i).len() + value(i).len();
    }
    assert_eq!(pos, bytes.len(), "record layout as documented");
    let (mut corruption, mut dropped_tail) = (0, 0);
    for flip in 0..bytes.len() * 8 {
        let (offset, bit) = (flip / 8, flip % 8);
        let byte = bytes[offset];
        let damaged_record = starts.iter().rposition(|&s| s <= offset).unwrap();
        let image = fs.fork();
        image.corrupt(&wal, offset, &[byte ^ (1 << bit)]).unwrap();
        match Db::reopen_on("/db", Arc::new(image)) {
            Err(e) => {
                assert!(
                    matches!(e, Error::Corruption { .. }),
                    "offset {offset} bit {bit}: {e}"
                );
                assert!(
                    damaged_record < n - 1,
                    "offset {offset}: a damaged last record is a torn tail"
                );
                corruption += 1;
            }
            Ok(db) => {
                let state = contents(&db);
                let want = first_records(damaged_record);
                assert_eq!(
                    state, want,
                    "offset {offset}: only the damaged tail may be dropped"
                );
                dropped_tail += 1;
            }
        }
    }
    eprintln!(
        "wal bit flips: {} bits of {} bytes, {corruption} corruption errors, {dropped_tail} \
         torn tails",
        bytes.len() * 8,
        bytes.len()
    );
    assert!(corruption > 0 && dropped_tail > 0);
}

/// A database with three flushes and a compaction, closed: its manifest holds several
/// edits, and every write is in an SSTable (no WAL to fall back on).
fn manifest_image() -> (MemFileSystem, usize) {
    let fs = MemFileSystem::new();
    let n = 90;
    let db = Db::open("/db", options(&fs)).unwrap();
    for round in 0..3 {
        for i in (round * 30)..(round * 30 + 30) {
            db.put(&key(i), &value(i)).unwrap();
        }
        db.flush().unwrap();
    }
    db.compact_range(Some(&key(0)), Some(&key(40))).unwrap();
    db.close().unwrap();
    (fs, n)
}

#[test]
fn every_flipped_manifest_bit_gives_right_data_or_corruption() {
    let (fs, n) = manifest_image();
    let manifests = find(&fs, |k| matches!(k, FileKind::Manifest(_)));
    let manifest = manifests.last().unwrap().clone();
    let bytes = fs.read_all(&manifest).unwrap();
    let (mut detected, mut harmless) = (0, 0);
    for flip in 0..bytes.len() * 8 {
        let (offset, bit) = (flip / 8, flip % 8);
        let image = fs.fork();
        image
            .corrupt(&manifest, offset, &[bytes[offset] ^ (1 << bit)])
            .unwrap();
        let db = match Db::reopen_on("/db", Arc::new(image)) {
            Ok(db) => db,
            Err(e) => {
                assert!(
                    e.is_corruption(),
                    "offset {offset} bit {bit}: open failed with {e}, not a corruption error"
                );
                detected += 1;
                continue;
            }
        };
        let state: Result<BTreeMap<Vec<u8>, Vec<u8>>, Error> =
            db.scan::<Vec<u8>, _>(..).and_then(|s| s.collect());
        match state {
            Ok(state) => {
                let want = first_records(n);
                assert_eq!(
                    state, want,
                    "offset {offset} bit {bit}: the database opened with different data"
                );
                harmless += 1;
            }
            Err(e) => {
                assert!(e.is_corruption(), "offset {offset} bit {bit}: {e}");
                detected += 1;
            }
        }
    }
    eprintln!(
        "manifest bit flips: {} bits of {} bytes, {detected} detected, {harmless} harmless",
        bytes.len() * 8,
        bytes.len()
    );
}

#[test]
fn a_wal_cut_at_every_byte_recovers_the_records_before_the_cut() {
    let fs = MemFileSystem::new();
    let n = 30;
    {
        let db = Db::open("/db", options(&fs)).unwrap();
        for i in 0..n {
            db.put(&key(i), &value(i)).unwrap();
        }
        db.close().unwrap();
    }
    let wal = find(&fs, |k| matches!(k, FileKind::Wal(_)))
        .last()
        .unwrap()
        .clone();
    let len = fs.read_all(&wal).unwrap().len();
    // Record i ends at ends[i] (see the layout in the bit-flip test above).
    let mut ends = Vec::new();
    let mut pos = 0;
    for i in 0..n {
        pos += 11 + 12 + 3 + key(i).len() + value(i).len();
        ends.push(pos);
    }
    assert_eq!(pos, len);
    let modes = [
        WalRecoveryMode::TolerateCorruptedTail,
        WalRecoveryMode::AbsoluteConsistency,
        WalRecoveryMode::PointInTime,
        WalRecoveryMode::TolerateIncompleteTail,
    ];
    for mode in modes {
        for cut in 0..=len {
            let image = fs.fork();
            image.truncate(&wal, cut).unwrap();
            let whole = ends.iter().filter(|&&e| e <= cut).count();
            let on_boundary = cut == 0 || ends.contains(&cut);
            let opened = Db::open("/db", options(&image).wal_recovery_mode(mode));
            let db = match (mode, opened) {
                // Absolute consistency: a cut inside a record fails the open.
                (WalRecoveryMode::AbsoluteConsistency, Err(e)) if !on_boundary => {
                    assert!(e.is_corruption(), "{mode:?} cut at {cut}: {e}");
                    continue;
                }
                (_, Ok(db)) => db,
                (_, Err(e)) => panic!("{mode:?} cut at {cut}: the open failed: {e}"),
            };
            // Every other mode drops an incomplete last record: exactly the records wholly
            // before the cut survive.
            let state = contents(&db);
            let want = first_records(whole);
            assert_eq!(state, want, "{mode:?} cut at {cut}");
        }
    }
    eprintln!(
        "wal truncations: {} cut points x {} recovery modes, 0 failures",
        len + 1,
        modes.len()
    );
}

/// Damage in the middle of the WAL, per recovery mode: the default and absolute consistency
/// refuse to open (intact records follow the damage); point-in-time keeps every record
/// before the damaged one and drops the rest.
#[test]
fn mid_log_damage_per_recovery_mode() {
    let fs = MemFileSystem::new();
    let n = 30;
    {
        let db = Db::open("/db", options(&fs)).unwrap();
        for i in 0..n {
            db.put(&key(i), &value(i)).unwrap();
        }
        db.close().unwrap();
    }
    let wal = find(&fs, |k| matches!(k, FileKind::Wal(_)))
        .last()
        .unwrap()
        .clone();
    // Record 10 starts after records 0..10; flip a byte of its payload.
    let start: usize = (0..10)
        .map(|i| 11 + 12 + 3 + key(i).len() + value(i).len())
        .sum();
    let bytes = fs.read_all(&wal).unwrap();
    for mode in [
        WalRecoveryMode::TolerateCorruptedTail,
        WalRecoveryMode::AbsoluteConsistency,
        WalRecoveryMode::TolerateIncompleteTail,
    ] {
        let image = fs.fork();
        image
            .corrupt(&wal, start + 20, &[bytes[start + 20] ^ 0x04])
            .unwrap();
        let e = Db::open("/db", options(&image).wal_recovery_mode(mode)).unwrap_err();
        assert!(e.is_corruption(), "{mode:?}: {e}");
    }
    let image = fs.fork();
    image
        .corrupt(&wal, start + 20, &[bytes[start + 20] ^ 0x04])
        .unwrap();
    let db = Db::open(
        "/db",
        options(&image).wal_recovery_mode(WalRecoveryMode::PointInTime),
    )
    .unwrap();
    let state = contents(&db);
    let want = first_records(10);
    assert_eq!(state, want);
}

/// `paranoid_checks` (the default) finds a truncated or damaged table at open; without it
/// the open succeeds and the damage is found when the table is read.
#[test]
fn paranoid_checks_find_damaged_tables_at_open() {
    let fs = MemFileSystem::new();
    {
        let db = Db::open("/db", options(&fs)).unwrap();
        for i in 0..200 {
            db.put(&key(i), &value(i)).unwrap();
        }
        db.flush().unwrap();
        db.close().unwrap();
    }
    let table = find(&fs, |k| matches!(k, FileKind::Table(_)))[0].clone();
    let len = fs.read_all(&table).unwrap().len();

    let truncated = fs.fork();
    truncated.truncate(&table, len - 100).unwrap();
    let e = Db::open("/db", options(&truncated)).unwrap_err();
    assert!(e.is_corruption(), "{e}");
    assert!(e.to_string().contains("the manifest says"), "{e}");

    // The last bytes are the footer: damage there is found by opening the table.
    let damaged = fs.fork();
    let b = fs.read_all(&table).unwrap()[len - 5];
    damaged.corrupt(&table, len - 5, &[b ^ 0xff]).unwrap();
    let e = Db::open("/db", options(&damaged)).unwrap_err();
    assert!(e.is_corruption(), "{e}");
    let db = Db::open("/db", options(&damaged).paranoid_checks(false)).unwrap();
    assert!(db.get(&key(5)).unwrap_err().is_corruption());
}

/// A corrupt compaction input stops the compaction with `Corruption`; the database stays
/// readable (undamaged data is served, the damaged block answers `Corruption`) and refuses
/// writes until reopened.
#[test]
fn a_corrupt_input_stops_compaction_and_leaves_the_database_readable() {
    let fs = MemFileSystem::new();
    {
        let db = Db::open("/db", options(&fs)).unwrap();
        for i in 0..100 {
            db.put(&key(i), &value(i)).unwrap();
        }
        db.flush().unwrap();
        for i in 100..200 {
            db.put(&key(i), &value(i)).unwrap();
        }
        db.flush().unwrap();
        db.close().unwrap();
    }
    let tables = find(&fs, |k| matches!(k, FileKind::Table(_)));
    assert_eq!(tables.len(), 2);
    // The first data block of the first table (keys from 0).
    let b = fs.read_all(&tables[0]).unwrap()[40];
    fs.corrupt(&tables[0], 40, &[b ^ 0x20]).unwrap();
    let db = Db::open("/db", options(&fs)).unwrap();
    let e = db.compact_range(None, None).unwrap_err();
    assert!(
        e.is_corruption() || matches!(e, Error::Background(_)),
        "{e}"
    );
    assert_eq!(db.get(&key(150)).unwrap(), Some(value(150)));
    assert!(db.get(&key(0)).unwrap_err().is_corruption());
    let e = db.put(b"new", b"write").unwrap_err();
    assert!(matches!(e, Error::Background(_)), "{e}");
    assert!(e.to_string().contains("read-only"), "{e}");
}
