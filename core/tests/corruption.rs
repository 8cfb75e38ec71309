//! Corruption: flip every single bit of an SSTable, of a WAL and of a manifest in turn, and
//! truncate a WAL at every byte; reopen, read everything. Every read must return the right
//! data or `Error::Corruption` (a damaged WAL tail may be dropped, as the recovery mode
//! documents); never a wrong value, never a panic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kevo::filename::{parse_file_name, FileKind};
use kevo::fs::{FileSystem, MemFileSystem};
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
                let state: BTreeMap<Vec<u8>, Vec<u8>> = db
                    .scan::<Vec<u8>, _>(..)
                    .unwrap()
                    .map(|r| r.unwrap())
                    .collect();
                let want: BTreeMap<Vec<u8>, Vec<u8>> =
                    (0..damaged_record).map(|i| (key(i), value(i))).collect();
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
                let want: BTreeMap<Vec<u8>, Vec<u8>> = (0..n).map(|i| (key(i), value(i))).collect();
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
    for cut in 0..=len {
        let image = fs.fork();
        image.truncate(&wal, cut).unwrap();
        // The default mode drops an incomplete last record: exactly the records wholly
        // before the cut survive.
        let db = Db::reopen_on("/db", Arc::new(image))
            .unwrap_or_else(|e| panic!("cut at {cut}: a torn tail must not fail the open: {e}"));
        let state: BTreeMap<Vec<u8>, Vec<u8>> = db
            .scan::<Vec<u8>, _>(..)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let whole = ends.iter().filter(|&&e| e <= cut).count();
        let want: BTreeMap<Vec<u8>, Vec<u8>> = (0..whole).map(|i| (key(i), value(i))).collect();
        assert_eq!(state, want, "cut at {cut}");
    }
    eprintln!("wal truncations: {} cut points, 0 failures", len + 1);
}
