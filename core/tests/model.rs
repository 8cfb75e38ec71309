//! Model-based test: random sequences of operations against kevo and a `BTreeMap`, which
//! must agree after every step.
//!
//! Runs on the in-memory file system with a tiny memtable, so flushes, L0 compactions and WAL
//! segment switches happen within a few dozen operations. Set `KEVO_MODEL_CASES` for a longer
//! run (default 500).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use kevo::fs::MemFileSystem;
use kevo::{Db, Options, WriteBatch};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    Batch(Vec<(Vec<u8>, Option<Vec<u8>>)>),
    Get(Vec<u8>),
    Scan(Option<Vec<u8>>, Option<Vec<u8>>),
    ScanPrefix(Vec<u8>),
    Flush,
    Reopen,
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
        2 => prop::collection::vec((key(), prop::option::of(value())), 0..8).prop_map(Op::Batch),
        4 => key().prop_map(Op::Get),
        2 => (prop::option::of(key()), prop::option::of(key())).prop_map(|(a, b)| Op::Scan(a, b)),
        1 => prop::collection::vec(any::<u8>(), 0..2).prop_map(Op::ScanPrefix),
        1 => Just(Op::Flush),
        1 => Just(Op::Reopen),
    ]
}

fn options(fs: &MemFileSystem) -> Options {
    Options::default()
        .fs(Arc::new(fs.clone()))
        .memtable_size(4096)
        .block_size(256)
        .l0_compaction_trigger(2)
        .target_file_size(8192)
}

fn check(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let fs = MemFileSystem::new();
    let dir = Path::new("/db");
    let mut db = Db::open(dir, options(&fs)).unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
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
                db.close().unwrap();
                drop(db);
                db = Db::reopen_on(dir, Arc::new(fs.clone())).unwrap();
            }
        }
    }
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
        .unwrap_or(500)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn matches_btreemap_model(ops in prop::collection::vec(op(), 1..120)) {
        check(ops)?;
    }
}
