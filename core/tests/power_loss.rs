//! Power-loss test on the in-memory file system: random writes, flushes and WAL syncs, then a
//! simulated power loss at a random point (unsynced bytes dropped or torn, unsynced directory
//! entries forgotten). The reopened database must hold exactly the state after some prefix of
//! the write history, and that prefix must contain every write that was synced. A third of
//! the commits are transactions, which must be recovered whole or not at all. Some writes
//! are range deletions, in batches and transactions alike.
//! Tiny memtables, files and level sizes keep background compactions (leveled in even cases,
//! tiered in odd ones) and occasional manual `compact_range` calls running, so the crash
//! often lands in the middle of a compaction. `KEVO_POWER_LOSS_CASES` sets the number of
//! cases (default 300).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kevo::fs::{CrashMode, MemFileSystem};
use kevo::{CompactionStyle, Db, Options, SyncMode, WriteBatch, WriteOptions};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;
/// One write of a commit: a put (`Some`), a delete (`None`), or a range deletion
/// (`Range`, whose key is the start).
#[derive(Clone)]
enum W {
    Put(Option<Vec<u8>>),
    Range(Vec<u8>),
}
type Commit = Vec<(Vec<u8>, W)>;

fn rng(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

fn run_case(case: u64) {
    let mut seed = (case + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let fs = MemFileSystem::new();
    let dir = Path::new("/db");
    let sync_mode = match case % 3 {
        0 => SyncMode::None,
        1 => SyncMode::Always,
        _ => SyncMode::Batched {
            bytes: 2048,
            interval: Duration::from_secs(3600),
        },
    };
    let options = Options::default()
        .fs(Arc::new(fs.clone()))
        .sync_mode(sync_mode)
        .memtable_size(4096)
        .block_size(256)
        .l0_compaction_trigger(2)
        .l0_slowdown_writes_trigger(4)
        .target_file_size(8192)
        .max_bytes_for_level_base(16 << 10)
        .level_size_multiplier(2)
        .compaction_style(if case.is_multiple_of(2) {
            CompactionStyle::Leveled
        } else {
            CompactionStyle::Tiered
        });
    let db = Db::open(dir, options).unwrap();
    let mut history: Vec<Commit> = Vec::new();
    let mut durable = 0usize;
    let steps = 1 + rng(&mut seed) % 400;
    for _ in 0..steps {
        match rng(&mut seed) % 40 {
            0 => {
                db.flush().unwrap();
                durable = history.len();
            }
            1 => {
                db.sync_wal().unwrap();
                durable = history.len();
            }
            2 => {
                // Flushes first, so everything before it is durable.
                db.compact_range(None, None).unwrap();
                durable = history.len();
            }
            _ => {
                let n = 1 + rng(&mut seed) % 3;
                let mut batch = WriteBatch::new();
                let mut commit = Commit::new();
                for _ in 0..n {
                    let k = format!("k{:02}", rng(&mut seed) % 50).into_bytes();
                    if rng(&mut seed).is_multiple_of(12) {
                        let end = format!("k{:02}", rng(&mut seed) % 52).into_bytes();
                        let (a, b) = (k.clone().min(end.clone()), k.max(end));
                        batch.delete_range(&a, &b).unwrap();
                        commit.push((a, W::Range(b)));
                    } else if rng(&mut seed).is_multiple_of(5) {
                        batch.delete(&k).unwrap();
                        commit.push((k, W::Put(None)));
                    } else {
                        let v = format!(
                            "{}-{}",
                            history.len(),
                            "v".repeat((rng(&mut seed) % 100) as usize)
                        )
                        .into_bytes();
                        batch.put(&k, &v).unwrap();
                        commit.push((k, W::Put(Some(v))));
                    }
                }
                if rng(&mut seed).is_multiple_of(3) {
                    // The same writes as a transaction: its commit is one batch too, so it
                    // must be recovered whole or not at all.
                    let txn = db.transaction().unwrap();
                    for (k, v) in &commit {
                        match v {
                            W::Put(Some(v)) => txn.put(k, v).unwrap(),
                            W::Put(None) => txn.delete(k).unwrap(),
                            W::Range(end) => txn.delete_range(k, end).unwrap(),
                        }
                    }
                    txn.commit().unwrap();
                    history.push(commit);
                } else {
                    // One write in eight asks for its own fsync: durable whatever the mode.
                    let synced = rng(&mut seed).is_multiple_of(8);
                    let options = WriteOptions {
                        sync: synced,
                        ..Default::default()
                    };
                    db.write_opt(&batch, &options).unwrap();
                    history.push(commit);
                    if synced {
                        durable = history.len();
                    }
                }
                if sync_mode == SyncMode::Always {
                    durable = history.len();
                }
            }
        }
    }
    let mode = CrashMode {
        tear_unsynced: rng(&mut seed).is_multiple_of(2),
        forget_unsynced_dir_entries: rng(&mut seed).is_multiple_of(2),
        seed: rng(&mut seed),
    };
    let fs = fs.crash(mode);
    drop(db);
    let db = Db::reopen_on(dir, Arc::new(fs))
        .unwrap_or_else(|e| panic!("case {case}: reopen after power loss failed: {e}"));
    let state: Model = db
        .scan::<Vec<u8>, _>(..)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();

    let mut model = Model::new();
    let mut matches = Vec::new();
    for p in 0..=history.len() {
        if p > 0 {
            for (k, v) in &history[p - 1] {
                match v {
                    W::Put(Some(v)) => {
                        model.insert(k.clone(), v.clone());
                    }
                    W::Put(None) => {
                        model.remove(k);
                    }
                    W::Range(end) => model.retain(|key, _| !(k <= key && key < end)),
                }
            }
        }
        if model == state {
            matches.push(p);
        }
    }
    assert!(
        matches.iter().any(|&p| p >= durable),
        "case {case} ({sync_mode:?}, {mode:?}): recovered state is not a prefix of the history \
         containing all {durable} synced commits (prefix matches: {matches:?} of {})",
        history.len()
    );
}

#[test]
fn power_loss_keeps_a_prefix_with_every_synced_write() {
    let cases: u64 = std::env::var("KEVO_POWER_LOSS_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    for case in 0..cases {
        run_case(case);
    }
}
