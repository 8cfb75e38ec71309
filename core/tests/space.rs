//! Space amplification: after heavy overwrites and deletes, `compact_range` must bring the
//! database's size on disk back near the size of its live data.
//!
//! 100,000 keys are each written ten times, half are then deleted, and the whole range is
//! compacted; the files in the directory (SSTables, WAL, manifest) must add up to at most
//! 1.5x the bytes of the live keys and values. Run for both compaction styles.

use std::path::Path;

use kevo::{CompactionStyle, Compression, Db, Options};

const KEYS: u64 = 100_000;
const ROUNDS: u64 = 10;
const VALUE_LEN: usize = 100;

fn key(i: u64) -> Vec<u8> {
    format!("key{i:012}").into_bytes()
}

fn value(i: u64, round: u64) -> Vec<u8> {
    // Not compressible, so the comparison is with the raw live bytes.
    let mut v = Vec::with_capacity(VALUE_LEN);
    let mut x = (i * 31 + round).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while v.len() < VALUE_LEN {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(VALUE_LEN);
    v
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

fn run(style: CompactionStyle) {
    let tmp = tempfile::tempdir().unwrap();
    let options = Options::default()
        .compaction_style(style)
        .compression(Compression::None)
        .memtable_size(4 << 20)
        .target_file_size(8 << 20)
        .max_bytes_for_level_base(16 << 20);
    let db = Db::open(tmp.path(), options).unwrap();
    for round in 0..ROUNDS {
        for i in 0..KEYS {
            db.put(&key(i), &value(i, round)).unwrap();
        }
    }
    for i in (0..KEYS).step_by(2) {
        db.delete(&key(i)).unwrap();
    }
    db.compact_range(None, None).unwrap();
    db.close().unwrap();
    drop(db);

    let live = (KEYS / 2) * (key(0).len() + VALUE_LEN) as u64;
    let on_disk = dir_bytes(tmp.path());
    let ratio = on_disk as f64 / live as f64;
    println!("{style:?}: {on_disk} bytes on disk for {live} live bytes: {ratio:.3}x");
    assert!(
        ratio <= 1.5,
        "{style:?}: {on_disk} bytes on disk for {live} bytes of live data ({ratio:.2}x)"
    );

    // And the data is right.
    let db = Db::reopen(tmp.path()).unwrap();
    assert_eq!(db.get(&key(0)).unwrap(), None);
    assert_eq!(db.get(&key(1)).unwrap(), Some(value(1, ROUNDS - 1)));
    assert_eq!(db.scan::<Vec<u8>, _>(..).unwrap().count() as u64, KEYS / 2);
}

#[test]
fn compact_range_leaves_at_most_1_5x_live_data_leveled() {
    run(CompactionStyle::Leveled);
}

#[test]
fn compact_range_leaves_at_most_1_5x_live_data_tiered() {
    run(CompactionStyle::Tiered);
}
