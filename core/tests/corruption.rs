//! Corruption: flip single bytes of an SSTable and of a WAL, reopen, read everything. Every
//! read must return the right data or `Error::Corruption`; never a wrong value, never a panic.

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
fn every_flipped_sstable_byte_gives_right_data_or_corruption() {
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
    for offset in 0..len {
        let image = fs.fork();
        let byte = image.read_all(&tables[0]).unwrap()[offset];
        image
            .corrupt(&tables[0], offset, &[byte ^ (1 << (offset % 8))])
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
    eprintln!("sstable bit flips: {len} offsets, {detected} detected, {harmless} harmless");
    assert!(
        detected > len * 9 / 10,
        "nearly every byte is covered by a checksum"
    );
}

#[test]
fn every_flipped_wal_byte_gives_a_prefix_or_corruption() {
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
    for (offset, &byte) in bytes.iter().enumerate() {
        let damaged_record = starts.iter().rposition(|&s| s <= offset).unwrap();
        let image = fs.fork();
        image.corrupt(&wal, offset, &[byte ^ 0x10]).unwrap();
        match Db::reopen_on("/db", Arc::new(image)) {
            Err(e) => {
                assert!(
                    matches!(e, Error::Corruption { .. }),
                    "offset {offset}: {e}"
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
        "wal byte flips: {} offsets, {corruption} corruption errors, {dropped_tail} torn tails",
        bytes.len()
    );
    assert!(corruption > 0 && dropped_tail > 0);
}
