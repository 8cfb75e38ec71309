//! Model-based test: random sequences of operations against kevo and a `BTreeMap`, which
//! must agree after every step.
//!
//! Runs on the in-memory file system with a tiny memtable and tiny files, so flushes,
//! compactions of every level and WAL segment switches happen within a few dozen operations.
//! Each case picks a compaction style and a compression. Snapshots are modelled as frozen
//! copies of the map: reads at an old snapshot after later writes, flushes and compactions
//! must still match the copy. Iterators are checked forwards, backwards, from seeks, with
//! bounds and prefixes, and across direction switches. Set `KEVO_MODEL_CASES` for a longer
//! run (default 1000).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use kevo::fs::MemFileSystem;
use kevo::{
    CompactionStyle, Compression, Db, DbIterator, Options, ReadOptions, Snapshot, WriteBatch,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    Batch(Vec<(Vec<u8>, Option<Vec<u8>>)>),
    /// `delete_range(a, b)` with the bounds sorted (equal bounds delete nothing).
    DeleteRange(Vec<u8>, Vec<u8>),
    /// One batch: puts, then a range deletion, then puts (later operations win).
    BatchWithRange(
        Vec<(Vec<u8>, Vec<u8>)>,
        Vec<u8>,
        Vec<u8>,
        Vec<(Vec<u8>, Vec<u8>)>,
    ),
    Get(Vec<u8>),
    Scan(Option<Vec<u8>>, Option<Vec<u8>>),
    ScanPrefix(Vec<u8>),
    Flush,
    Reopen,
    /// Take a snapshot and keep it (with a copy of the model).
    TakeSnapshot,
    /// Drop the i-th held snapshot (modulo how many are held).
    ReleaseSnapshot(usize),
    /// Point lookup at the i-th held snapshot.
    GetAt(usize, Vec<u8>),
    /// Many point lookups at once, now or (Some) at the i-th held snapshot.
    MultiGet(Option<usize>, Vec<Vec<u8>>),
    /// An iterator walk, at the i-th held snapshot or (None) at the present.
    Iterate(Option<usize>, IterSpec),
    CompactRange(Option<Vec<u8>>, Option<Vec<u8>>),
    /// A read-only handle beside the writer: opened if none is held (and checked against
    /// the model), else checked against the model as of its open or last refresh, then
    /// refreshed and checked against the model now. It is kept across writer reopens.
    ReadOnly,
    /// A checkpoint into a new directory, opened and compared with the model as of the call,
    /// then written to (the writer must not see it).
    Checkpoint,
}

/// The bounds of an iterator and the walk to make with it.
#[derive(Debug, Clone)]
struct IterSpec {
    lower: Option<Vec<u8>>,
    upper: Option<Vec<u8>>,
    prefix: Option<Vec<u8>>,
    walk: Walk,
}

#[derive(Debug, Clone)]
enum Walk {
    Forward,
    Reverse,
    /// seek(k), then `n` steps with `next` (true) or `prev` (false).
    Seek(Vec<u8>, Vec<bool>),
    /// seek_for_prev(k), then steps as above.
    SeekForPrev(Vec<u8>, Vec<bool>),
}

fn key() -> impl Strategy<Value = Vec<u8>> {
    // A small key space so overwrites and deletes hit existing keys.
    prop_oneof![
        (0u8..40).prop_map(|i| format!("k{i:02}").into_bytes()),
        prop::collection::vec(any::<u8>(), 1..6),
    ]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        prop::collection::vec(any::<u8>(), 0..40),
        (0usize..3000).prop_map(|n| vec![b'x'; n]),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (key(), value()).prop_map(|(k, v)| Op::Put(k, v)),
        3 => key().prop_map(Op::Delete),
        2 => (key(), key()).prop_map(|(a, b)| Op::DeleteRange(a.clone().min(b.clone()), a.max(b))),
        1 => (
            prop::collection::vec((key(), value()), 0..4),
            key(),
            key(),
            prop::collection::vec((key(), value()), 0..3),
        )
            .prop_map(|(pre, a, b, post)| {
                Op::BatchWithRange(pre, a.clone().min(b.clone()), a.max(b), post)
            }),
        2 => prop::collection::vec((key(), prop::option::of(value())), 0..8).prop_map(Op::Batch),
        4 => key().prop_map(Op::Get),
        2 => (prop::option::of(key()), prop::option::of(key())).prop_map(|(a, b)| Op::Scan(a, b)),
        1 => prop::collection::vec(any::<u8>(), 0..2).prop_map(Op::ScanPrefix),
        1 => Just(Op::Flush),
        1 => Just(Op::Reopen),
        2 => Just(Op::TakeSnapshot),
        1 => any::<usize>().prop_map(Op::ReleaseSnapshot),
        2 => (any::<usize>(), key()).prop_map(|(i, k)| Op::GetAt(i, k)),
        2 => (prop::option::of(any::<usize>()), prop::collection::vec(key(), 0..12))
            .prop_map(|(i, ks)| Op::MultiGet(i, ks)),
        4 => (prop::option::of(any::<usize>()), iter_spec()).prop_map(|(i, s)| Op::Iterate(i, s)),
        1 => (prop::option::of(key()), prop::option::of(key())).prop_map(|(a, b)| Op::CompactRange(a, b)),
        1 => Just(Op::ReadOnly),
        1 => Just(Op::Checkpoint),
    ]
}

fn iter_spec() -> impl Strategy<Value = IterSpec> {
    let steps = || prop::collection::vec(any::<bool>(), 0..12);
    let walk = prop_oneof![
        Just(Walk::Forward),
        Just(Walk::Reverse),
        (key(), steps()).prop_map(|(k, s)| Walk::Seek(k, s)),
        (key(), steps()).prop_map(|(k, s)| Walk::SeekForPrev(k, s)),
    ];
    (
        prop::option::weighted(0.3, key()),
        prop::option::weighted(0.3, key()),
        prop::option::weighted(0.2, prop::collection::vec(any::<u8>(), 0..2)),
        walk,
    )
        .prop_map(|(lower, upper, prefix, walk)| IterSpec {
            lower,
            upper,
            prefix,
            walk,
        })
}

/// The entries of `model` an iterator with `spec`'s bounds and prefix must show.
fn visible(model: &BTreeMap<Vec<u8>, Vec<u8>>, spec: &IterSpec) -> Vec<(Vec<u8>, Vec<u8>)> {
    model
        .iter()
        .filter(|(k, _)| spec.lower.as_ref().is_none_or(|l| *k >= l))
        .filter(|(k, _)| spec.upper.as_ref().is_none_or(|u| *k < u))
        .filter(|(k, _)| spec.prefix.as_ref().is_none_or(|p| k.starts_with(p)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn current(it: &DbIterator) -> Option<(Vec<u8>, Vec<u8>)> {
    it.status().unwrap();
    it.valid().then(|| (it.key().to_vec(), it.value().to_vec()))
}

/// Walks `it` as `spec` says and checks every position against `want` (the visible entries,
/// in order).
fn check_walk(
    mut it: DbIterator,
    spec: &IterSpec,
    want: &[(Vec<u8>, Vec<u8>)],
) -> Result<(), TestCaseError> {
    match &spec.walk {
        Walk::Forward => {
            let mut got = Vec::new();
            it.seek_to_first();
            while let Some(e) = current(&it) {
                got.push(e);
                it.next();
            }
            prop_assert_eq!(&got[..], want, "forward walk");
        }
        Walk::Reverse => {
            let mut got = Vec::new();
            it.seek_to_last();
            while let Some(e) = current(&it) {
                got.push(e);
                it.prev();
            }
            got.reverse();
            prop_assert_eq!(&got[..], want, "reverse walk");
        }
        Walk::Seek(k, steps) | Walk::SeekForPrev(k, steps) => {
            // Index of the expected position in `want`; want.len() or -1 mean invalid.
            let mut pos: isize = if matches!(spec.walk, Walk::Seek(..)) {
                it.seek(k);
                want.partition_point(|(wk, _)| wk < k) as isize
            } else {
                it.seek_for_prev(k);
                want.partition_point(|(wk, _)| wk <= k) as isize - 1
            };
            let at = |pos: isize| usize::try_from(pos).ok().and_then(|p| want.get(p)).cloned();
            prop_assert_eq!(current(&it), at(pos), "after the seek to {:?}", k);
            for &forward in steps {
                if at(pos).is_none() {
                    break; // moving an invalid iterator is not allowed
                }
                if forward {
                    it.next();
                    pos += 1;
                } else {
                    it.prev();
                    pos -= 1;
                }
                prop_assert_eq!(current(&it), at(pos), "after a step (next: {})", forward);
            }
        }
    }
    Ok(())
}

fn read_options(spec: &IterSpec, snapshot: Option<Snapshot>) -> ReadOptions {
    ReadOptions {
        lower_bound: spec.lower.clone(),
        upper_bound: spec.upper.clone(),
        prefix: spec.prefix.clone(),
        snapshot,
    }
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// Per-case engine configuration.
#[derive(Debug, Clone, Copy)]
struct Config {
    style: CompactionStyle,
    compression: Compression,
}

fn config() -> impl Strategy<Value = Config> {
    (
        prop_oneof![
            Just(CompactionStyle::Leveled),
            Just(CompactionStyle::Tiered)
        ],
        prop_oneof![
            Just(Compression::None),
            Just(Compression::Lz4),
            Just(Compression::Zstd { level: 1 })
        ],
    )
        .prop_map(|(style, compression)| Config { style, compression })
}

fn options(fs: &MemFileSystem, config: Config) -> Options {
    Options::default()
        .fs(Arc::new(fs.clone()))
        .memtable_size(4096)
        .block_size(256)
        .l0_compaction_trigger(2)
        .l0_slowdown_writes_trigger(4)
        .target_file_size(8192)
        .max_bytes_for_level_base(16 << 10)
        .level_size_multiplier(2)
        .compaction_style(config.style)
        .compression(config.compression)
        .block_cache_size(16 << 10)
}

fn check(config: Config, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let fs = MemFileSystem::new();
    let dir = Path::new("/db");
    let mut db = Db::open(dir, options(&fs, config)).unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    // Held snapshots, each with the model as it was when taken.
    let mut snapshots: Vec<(Snapshot, Model)> = Vec::new();
    // A read-only handle beside the writer, with the model as of its last refresh.
    let mut reader: Option<(Db, Model)> = None;
    let all = |db: &Db| -> Vec<(Vec<u8>, Vec<u8>)> {
        db.scan::<Vec<u8>, _>(..)
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    let as_rows = |m: &Model| -> Vec<(Vec<u8>, Vec<u8>)> {
        m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Put(k, v) => {
                db.put(&k, &v).unwrap();
                model.insert(k, v);
            }
            Op::Delete(k) => {
                db.delete(&k).unwrap();
                model.remove(&k);
            }
            Op::DeleteRange(a, b) => {
                db.delete_range(&a, &b).unwrap();
                model.retain(|k, _| !(a <= *k && *k < b));
            }
            Op::BatchWithRange(pre, a, b, post) => {
                let mut batch = WriteBatch::new();
                for (k, v) in &pre {
                    batch.put(k, v).unwrap();
                    model.insert(k.clone(), v.clone());
                }
                batch.delete_range(&a, &b).unwrap();
                model.retain(|k, _| !(a <= *k && *k < b));
                for (k, v) in &post {
                    batch.put(k, v).unwrap();
                    model.insert(k.clone(), v.clone());
                }
                db.write(&batch).unwrap();
            }
            Op::Batch(entries) => {
                let mut b = WriteBatch::new();
                for (k, v) in &entries {
                    match v {
                        Some(v) => b.put(k, v).unwrap(),
                        None => b.delete(k).unwrap(),
                    }
                }
                db.write(&b).unwrap();
                for (k, v) in entries {
                    match v {
                        Some(v) => model.insert(k, v),
                        None => model.remove(&k),
                    };
                }
            }
            Op::Get(k) => {
                prop_assert_eq!(db.get(&k).unwrap(), model.get(&k).cloned(), "step {}", step);
            }
            Op::Scan(a, b) => {
                let got: Vec<_> = match (&a, &b) {
                    (Some(a), Some(b)) if a <= b => db
                        .scan(a.clone()..b.clone())
                        .unwrap()
                        .map(|r| r.unwrap())
                        .collect(),
                    (Some(_), Some(_)) => continue,
                    (Some(a), None) => db.scan(a.clone()..).unwrap().map(|r| r.unwrap()).collect(),
                    (None, Some(b)) => db.scan(..b.clone()).unwrap().map(|r| r.unwrap()).collect(),
                    (None, None) => db
                        .scan::<Vec<u8>, _>(..)
                        .unwrap()
                        .map(|r| r.unwrap())
                        .collect(),
                };
                let want: Vec<_> = model
                    .iter()
                    .filter(|(k, _)| a.as_ref().is_none_or(|a| *k >= a))
                    .filter(|(k, _)| b.as_ref().is_none_or(|b| *k < b))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                prop_assert_eq!(got, want, "scan step {}", step);
            }
            Op::ScanPrefix(p) => {
                let got: Vec<_> = db.scan_prefix(&p).unwrap().map(|r| r.unwrap()).collect();
                let want: Vec<_> = model
                    .iter()
                    .filter(|(k, _)| k.starts_with(&p))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                prop_assert_eq!(got, want, "prefix scan step {}", step);
            }
            Op::Flush => db.flush().unwrap(),
            Op::Reopen => {
                // Snapshots do not survive a reopen (they are in-memory views).
                snapshots.clear();
                db.close().unwrap();
                drop(db);
                db = Db::reopen_on(dir, Arc::new(fs.clone())).unwrap();
            }
            Op::ReadOnly => {
                let ro = match reader.take() {
                    None => Db::open(
                        dir,
                        Options::default().fs(Arc::new(fs.clone())).read_only(true),
                    )
                    .unwrap(),
                    Some((ro, old)) => {
                        prop_assert_eq!(all(&ro), as_rows(&old), "stale view, step {}", step);
                        ro.refresh().unwrap();
                        ro
                    }
                };
                prop_assert_eq!(all(&ro), as_rows(&model), "read-only view, step {}", step);
                prop_assert!(matches!(ro.put(b"k", b"v"), Err(kevo::Error::ReadOnly(_))));
                reader = Some((ro, model.clone()));
            }
            Op::Checkpoint => {
                let to = dir.with_file_name(format!("checkpoint-{step}"));
                db.checkpoint(&to).unwrap();
                let copy = Db::open(&to, Options::default().fs(Arc::new(fs.clone()))).unwrap();
                prop_assert_eq!(all(&copy), as_rows(&model), "checkpoint, step {}", step);
                copy.put(b"only-in-checkpoint", b"1").unwrap();
                copy.close().unwrap();
                prop_assert_eq!(db.get(b"only-in-checkpoint").unwrap(), None);
            }
            Op::TakeSnapshot => snapshots.push((db.snapshot().unwrap(), model.clone())),
            Op::ReleaseSnapshot(i) => {
                if !snapshots.is_empty() {
                    snapshots.remove(i % snapshots.len());
                }
            }
            Op::GetAt(i, k) => {
                if let Some((snap, old)) = snapshots.get(i % snapshots.len().max(1)) {
                    prop_assert_eq!(snap.get(&k).unwrap(), old.get(&k).cloned(), "step {}", step);
                    let read = ReadOptions {
                        snapshot: Some(snap.clone()),
                        ..Default::default()
                    };
                    prop_assert_eq!(db.get_opt(&k, &read).unwrap(), old.get(&k).cloned());
                }
            }
            Op::MultiGet(at, keys) => {
                let held = at.and_then(|i| snapshots.get(i % snapshots.len().max(1)));
                let (got, want_from) = match held {
                    Some((snap, old)) => (snap.multi_get(&keys).unwrap(), old),
                    None => (db.multi_get(&keys).unwrap(), &model),
                };
                let want: Vec<Option<Vec<u8>>> =
                    keys.iter().map(|k| want_from.get(k).cloned()).collect();
                prop_assert_eq!(got, want, "step {}", step);
            }
            Op::Iterate(at, spec) => {
                let held = at.and_then(|i| snapshots.get(i % snapshots.len().max(1)));
                let (it, want) = match held {
                    Some((snap, old)) => (
                        db.iter(read_options(&spec, Some(snap.clone()))).unwrap(),
                        visible(old, &spec),
                    ),
                    None => (
                        db.iter(read_options(&spec, None)).unwrap(),
                        visible(&model, &spec),
                    ),
                };
                check_walk(it, &spec, &want).map_err(|e| {
                    TestCaseError::fail(format!(
                        "step {step}, {spec:?}, at snapshot {}: {e}",
                        held.is_some()
                    ))
                })?;
            }
            Op::CompactRange(a, b) => db.compact_range(a.as_deref(), b.as_deref()).unwrap(),
        }
    }
    // Every snapshot still reads as it did, after everything that came later.
    for (snap, old) in &snapshots {
        let all: Vec<_> = snap
            .scan::<Vec<u8>, _>(..)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        prop_assert_eq!(
            &all,
            &old.clone().into_iter().collect::<Vec<_>>(),
            "held snapshot"
        );
    }
    drop(snapshots);
    // Final full comparison, also after one more reopen.
    let all: Vec<_> = db
        .scan::<Vec<u8>, _>(..)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    prop_assert_eq!(&all, &model.clone().into_iter().collect::<Vec<_>>());
    drop(db);
    let db = Db::reopen_on(dir, Arc::new(fs.clone())).unwrap();
    let all: Vec<_> = db
        .scan::<Vec<u8>, _>(..)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    prop_assert_eq!(all, model.into_iter().collect::<Vec<_>>());
    Ok(())
}

fn cases() -> u32 {
    std::env::var("KEVO_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn matches_btreemap_model(config in config(), ops in prop::collection::vec(op(), 1..120)) {
        check(config, ops)?;
    }
}
