//! Readers, iterators and snapshots on several threads while writers run and flushes and
//! compactions reshape the tree: every reader must see exactly one consistent state.
//!
//! Each write batch sets all ten keys of a group `gNN/0..9` to the same counter value,
//! atomically, so any view in which the keys of one group differ is a torn read. Readers
//! also check that a snapshot reads the same after further writes, flushes and compactions,
//! and that an iterator forwards and backwards shows the same entries. The memtable and
//! files are tiny so that flushes and compactions run all the time. Runs for
//! `KEVO_CONCURRENCY_SECS` seconds (default 4).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kevo::{CompactionStyle, Db, DbIterator, Options, ReadOptions, WriteBatch};

const GROUPS: u64 = 20;
const KEYS_PER_GROUP: u64 = 10;

fn key(group: u64, i: u64) -> Vec<u8> {
    format!("g{group:02}/{i}").into_bytes()
}

/// Every entry the iterator shows, walking forward from the first.
fn forward(it: &mut DbIterator) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    it.seek_to_first();
    while it.valid() {
        out.push((it.key().to_vec(), it.value().to_vec()));
        it.next();
    }
    it.status().unwrap();
    out
}

/// Every entry the iterator shows, walking backward from the last, in key order.
fn backward(it: &mut DbIterator) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    it.seek_to_last();
    while it.valid() {
        out.push((it.key().to_vec(), it.value().to_vec()));
        it.prev();
    }
    it.status().unwrap();
    out.reverse();
    out
}

/// Asserts the keys of each group all carry one value.
fn assert_consistent(entries: &[(Vec<u8>, Vec<u8>)]) {
    let mut groups: BTreeMap<&[u8], (&[u8], u64)> = BTreeMap::new();
    for (k, v) in entries {
        let group = &k[..3];
        let e = groups.entry(group).or_insert((v.as_slice(), 0));
        assert_eq!(e.0, v.as_slice(), "torn group {:?}", String::from_utf8_lossy(group));
        e.1 += 1;
    }
    for (g, (_, n)) in groups {
        assert_eq!(n, KEYS_PER_GROUP, "group {:?} incomplete", String::from_utf8_lossy(g));
    }
}

fn run(style: CompactionStyle) {
    let secs: u64 = std::env::var("KEVO_CONCURRENCY_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default()
        .compaction_style(style)
        .memtable_size(32 << 10)
        .block_size(512)
        .target_file_size(32 << 10)
        .l0_compaction_trigger(2)
        .l0_slowdown_writes_trigger(4)
        .max_bytes_for_level_base(64 << 10)
        .level_size_multiplier(2)
        .max_background_compactions(2)
        .block_cache_size(64 << 10);
    let db = Arc::new(Db::open(dir.path(), options).unwrap());
    // Every group starts complete, at counter 0.
    let mut b = WriteBatch::new();
    for g in 0..GROUPS {
        for i in 0..KEYS_PER_GROUP {
            b.put(&key(g, i), b"0").unwrap();
        }
    }
    db.write(&b).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(1));
    let checks = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for w in 0..2u64 {
        let (db, stop, counter) = (db.clone(), stop.clone(), counter.clone());
        threads.push(std::thread::spawn(move || {
            let mut g = w;
            let padding = vec![b'p'; 200];
            while !stop.load(Ordering::Relaxed) {
                let c = counter.fetch_add(1, Ordering::Relaxed);
                let mut value = c.to_string().into_bytes();
                value.extend_from_slice(&padding);
                let mut b = WriteBatch::new();
                for i in 0..KEYS_PER_GROUP {
                    b.put(&key(g, i), &value).unwrap();
                }
                db.write(&b).unwrap();
                g = (g + 7) % GROUPS;
            }
        }));
    }
    {
        let (db, stop) = (db.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(150));
                if n % 3 == 0 {
                    db.compact_range(None, None).unwrap();
                } else {
                    db.flush().unwrap();
                }
                n += 1;
            }
        }));
    }
    for r in 0..3u64 {
        let (db, stop, checks) = (db.clone(), stop.clone(), checks.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let snap = db.snapshot().unwrap();
                let mut it = snap.iter(ReadOptions::default()).unwrap();
                let fwd = forward(&mut it);
                assert_consistent(&fwd);
                assert_eq!(backward(&mut it), fwd, "reverse walk differs");
                // Point reads through the snapshot, after the world moved on.
                std::thread::sleep(Duration::from_millis(r * 5));
                for (k, v) in fwd.iter().step_by(7) {
                    assert_eq!(snap.get(k).unwrap().as_ref(), Some(v));
                }
                // A fresh iterator at the same snapshot shows the same entries.
                let again: Vec<_> = snap
                    .scan::<Vec<u8>, _>(..)
                    .unwrap()
                    .map(|r| r.unwrap())
                    .collect();
                assert_eq!(again, fwd, "snapshot changed");
                // A plain iterator (its own implicit snapshot) is consistent too, also in a
                // bounded, prefixed range.
                let mut it = db
                    .iter(ReadOptions {
                        prefix: Some(b"g0".to_vec()),
                        ..Default::default()
                    })
                    .unwrap();
                let part = forward(&mut it);
                assert_eq!(part.len() as u64, 10 * KEYS_PER_GROUP);
                assert_consistent(&part);
                assert_eq!(backward(&mut it), part);
                checks.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let stats = db.stats();
    println!(
        "{style:?}: {} consistent reads, {} writes, {} flushes, {} compactions",
        checks.load(Ordering::Relaxed),
        counter.load(Ordering::Relaxed),
        stats.flush_count,
        stats.compaction_count
    );
    assert!(checks.load(Ordering::Relaxed) > 0);
    assert!(stats.flush_count > 0 && stats.compaction_count > 0);
}

#[test]
fn readers_see_one_consistent_state_leveled() {
    run(CompactionStyle::Leveled);
}

#[test]
fn readers_see_one_consistent_state_tiered() {
    run(CompactionStyle::Tiered);
}
