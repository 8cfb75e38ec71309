//! Transactions: read-your-writes through `get` and iterators (against a model), conflicts
//! under snapshot isolation and serializability (write skew, phantoms), finished
//! transactions, and concurrent bank transfers whose total never changes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use kevo::{Db, Error, IsolationLevel, Options, ReadOptions, TransactionOptions, TxnIterator};

fn rng(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

fn serializable() -> TransactionOptions {
    TransactionOptions::default().isolation(IsolationLevel::Serializable)
}

fn small_options() -> Options {
    Options::default()
        .memtable_size(8 << 10)
        .block_size(512)
        .l0_compaction_trigger(2)
        .target_file_size(16 << 10)
        .max_bytes_for_level_base(32 << 10)
}

/// Walks `it` in both directions and from seeks, comparing with `model` (already limited to
/// the iterator's bounds).
fn check_iterator(
    it: &mut TxnIterator,
    model: &BTreeMap<Vec<u8>, Vec<u8>>,
    seed: &mut u64,
    ctx: &str,
) {
    let fwd: Vec<(Vec<u8>, Vec<u8>)> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut got = Vec::new();
    it.seek_to_first();
    while it.valid() {
        got.push((it.key().to_vec(), it.value().to_vec()));
        it.next();
    }
    it.status().unwrap();
    assert_eq!(got, fwd, "{ctx}: forward");
    got.clear();
    it.seek_to_last();
    while it.valid() {
        got.push((it.key().to_vec(), it.value().to_vec()));
        it.prev();
    }
    let mut rev = fwd.clone();
    rev.reverse();
    assert_eq!(got, rev, "{ctx}: reverse");
    // Seeks, then random steps in both directions.
    for _ in 0..20 {
        let target = format!("k{:03}", rng(seed) % 120).into_bytes();
        let forward_seek = rng(seed).is_multiple_of(2);
        let mut pos: Option<usize> = if forward_seek {
            it.seek(&target);
            fwd.iter().position(|(k, _)| k >= &target)
        } else {
            it.seek_for_prev(&target);
            fwd.iter().rposition(|(k, _)| k <= &target)
        };
        for _ in 0..6 {
            match pos {
                Some(p) => {
                    assert!(it.valid(), "{ctx}: expected {:?}", fwd[p].0);
                    assert_eq!(it.key(), fwd[p].0.as_slice(), "{ctx}");
                    assert_eq!(it.value(), fwd[p].1.as_slice(), "{ctx}");
                }
                None => {
                    assert!(!it.valid(), "{ctx}: expected the end");
                    break;
                }
            }
            let p = pos.unwrap();
            if rng(seed).is_multiple_of(2) {
                it.next();
                pos = (p + 1 < fwd.len()).then_some(p + 1);
            } else {
                it.prev();
                pos = p.checked_sub(1);
            }
        }
    }
}

#[test]
fn read_your_writes_matches_a_model() {
    for case in 0..40u64 {
        let mut seed = (case + 7).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), small_options()).unwrap();
        let mut base = BTreeMap::new();
        for i in 0..(rng(&mut seed) % 300) {
            let k = format!("k{:03}", rng(&mut seed) % 100).into_bytes();
            if rng(&mut seed).is_multiple_of(4) {
                db.delete(&k).unwrap();
                base.remove(&k);
            } else {
                let v = format!("base{i}").into_bytes();
                db.put(&k, &v).unwrap();
                base.insert(k, v);
            }
            if rng(&mut seed).is_multiple_of(97) {
                db.flush().unwrap();
            }
        }
        let txn = db.transaction().unwrap();
        let mut view = base.clone();
        let mut written = std::collections::BTreeSet::new();
        for i in 0..(rng(&mut seed) % 60) {
            let k = format!("k{:03}", rng(&mut seed) % 110).into_bytes();
            written.insert(k.clone());
            if rng(&mut seed).is_multiple_of(3) {
                txn.delete(&k).unwrap();
                view.remove(&k);
            } else {
                let v = format!("txn{i}").into_bytes();
                txn.put(&k, &v).unwrap();
                view.insert(k, v);
            }
        }
        // Writes outside the transaction after it began are invisible to it.
        db.put(b"k050", b"outside").unwrap();
        db.delete(b"k051").unwrap();
        for i in 0..110 {
            let k = format!("k{i:03}").into_bytes();
            assert_eq!(
                txn.get(&k).unwrap(),
                view.get(&k).cloned(),
                "case {case} key {i}"
            );
        }
        let ctx = format!("case {case}");
        check_iterator(
            &mut txn.iter(ReadOptions::default()).unwrap(),
            &view,
            &mut seed,
            &ctx,
        );
        let lo = format!("k{:03}", rng(&mut seed) % 100).into_bytes();
        let hi = format!("k{:03}", rng(&mut seed) % 110).into_bytes();
        let bounded: BTreeMap<_, _> = view
            .iter()
            .filter(|(k, _)| **k >= lo && **k < hi)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut it = txn
            .iter(ReadOptions {
                lower_bound: Some(lo),
                upper_bound: Some(hi),
                ..Default::default()
            })
            .unwrap();
        check_iterator(&mut it, &bounded, &mut seed, &format!("{ctx} bounded"));
        let prefixed: BTreeMap<_, _> = view
            .iter()
            .filter(|(k, _)| k.starts_with(b"k06"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut it = txn
            .iter(ReadOptions {
                prefix: Some(b"k06".to_vec()),
                ..Default::default()
            })
            .unwrap();
        check_iterator(&mut it, &prefixed, &mut seed, &format!("{ctx} prefix"));
        // The outside writes conflict with the transaction exactly if it wrote those keys.
        let wrote_outside_keys = written.contains(&b"k050"[..]) || written.contains(&b"k051"[..]);
        match txn.commit() {
            Ok(()) => {
                assert!(!wrote_outside_keys, "case {case}: missed conflict");
                for (k, v) in &view {
                    if k != b"k050" && k != b"k051" {
                        assert_eq!(db.get(k).unwrap().as_ref(), Some(v), "case {case}");
                    }
                }
            }
            Err(Error::Conflict(_)) => {
                assert!(wrote_outside_keys, "case {case}: false conflict");
                assert_eq!(db.get(b"k050").unwrap().as_deref(), Some(&b"outside"[..]));
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn iterator_sees_writes_as_of_its_creation() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put(b"a", b"1").unwrap();
    let txn = db.transaction().unwrap();
    txn.put(b"b", b"2").unwrap();
    let mut it = txn.iter(ReadOptions::default()).unwrap();
    txn.put(b"c", b"3").unwrap();
    txn.delete(b"a").unwrap();
    it.seek_to_first();
    let mut keys = Vec::new();
    while it.valid() {
        keys.push(it.key().to_vec());
        it.next();
    }
    assert_eq!(keys, vec![b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(txn.get(b"a").unwrap(), None);
    assert_eq!(txn.get(b"c").unwrap().as_deref(), Some(&b"3"[..]));
}

#[test]
fn write_write_conflicts_under_snapshot_isolation() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put(b"x", b"0").unwrap();

    // First committer wins.
    let t1 = db.transaction().unwrap();
    let t2 = db.transaction().unwrap();
    t1.put(b"x", b"1").unwrap();
    t2.put(b"x", b"2").unwrap();
    t1.commit().unwrap();
    let e = t2.commit().unwrap_err();
    assert!(matches!(e, Error::Conflict(_)), "{e}");
    assert!(e.to_string().contains("x"), "{e}");
    assert_eq!(db.get(b"x").unwrap().as_deref(), Some(&b"1"[..]));

    // Disjoint writes both commit.
    let t1 = db.transaction().unwrap();
    let t2 = db.transaction().unwrap();
    t1.put(b"p", b"1").unwrap();
    t2.put(b"q", b"2").unwrap();
    t1.commit().unwrap();
    t2.commit().unwrap();

    // A plain write is a commit too, and a delete is a write.
    let t = db.transaction().unwrap();
    t.put(b"p", b"t").unwrap();
    db.delete(b"p").unwrap();
    assert!(matches!(t.commit(), Err(Error::Conflict(_))));
    assert_eq!(db.get(b"p").unwrap(), None);

    // The conflict is found after the other write was flushed and compacted too.
    let t = db.transaction().unwrap();
    t.put(b"q", b"t").unwrap();
    db.put(b"q", b"newer").unwrap();
    db.flush().unwrap();
    db.compact_range(None, None).unwrap();
    assert!(matches!(t.commit(), Err(Error::Conflict(_))));
    assert_eq!(db.get(b"q").unwrap().as_deref(), Some(&b"newer"[..]));

    // Writes before the snapshot are no conflict.
    db.put(b"r", b"old").unwrap();
    db.flush().unwrap();
    let t = db.transaction().unwrap();
    t.put(b"r", b"new").unwrap();
    t.commit().unwrap();
    assert_eq!(db.get(b"r").unwrap().as_deref(), Some(&b"new"[..]));
}

/// Two on-call doctors: each transaction checks that both are on call, then takes one off.
/// Returns how many of the two commits succeeded.
fn write_skew(options: TransactionOptions) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put(b"alice", b"on").unwrap();
    db.put(b"bob", b"on").unwrap();
    let t1 = db.transaction_with(options.clone()).unwrap();
    let t2 = db.transaction_with(options).unwrap();
    for t in [&t1, &t2] {
        assert_eq!(t.get(b"alice").unwrap().as_deref(), Some(&b"on"[..]));
        assert_eq!(t.get(b"bob").unwrap().as_deref(), Some(&b"on"[..]));
    }
    t1.put(b"alice", b"off").unwrap();
    t2.put(b"bob", b"off").unwrap();
    let ok = [t1.commit(), t2.commit()];
    for r in &ok {
        if let Err(e) = r {
            assert!(matches!(e, Error::Conflict(_)), "{e}");
        }
    }
    ok.iter().filter(|r| r.is_ok()).count()
}

#[test]
fn write_skew_is_allowed_by_snapshot_isolation_and_prevented_by_serializable() {
    assert_eq!(write_skew(TransactionOptions::default()), 2);
    assert_eq!(write_skew(serializable()), 1);
}

#[test]
fn phantoms_are_detected_when_serializable() {
    for level in [IsolationLevel::Snapshot, IsolationLevel::Serializable] {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        db.put(b"task/1", b"x").unwrap();
        db.put(b"zzz", b"x").unwrap();
        let t = db
            .transaction_with(TransactionOptions::default().isolation(level))
            .unwrap();
        let mut it = t
            .iter(ReadOptions {
                prefix: Some(b"task/".to_vec()),
                ..Default::default()
            })
            .unwrap();
        it.seek_to_first();
        let mut n = 0;
        while it.valid() {
            n += 1;
            it.next();
        }
        assert_eq!(n, 1);
        t.put(b"count", n.to_string().as_bytes()).unwrap();
        // Outside the scanned range: never a conflict.
        db.put(b"zzz", b"y").unwrap();
        // Inside it: a phantom.
        db.put(b"task/2", b"x").unwrap();
        let r = t.commit();
        match level {
            IsolationLevel::Snapshot => r.unwrap(),
            IsolationLevel::Serializable => assert!(matches!(r, Err(Error::Conflict(_)))),
        }
    }
    // A serializable transaction whose scanned range is left alone commits.
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put(b"a1", b"x").unwrap();
    let t = db.transaction_with(serializable()).unwrap();
    let mut it = t.iter(ReadOptions::default()).unwrap();
    it.seek(b"a");
    assert_eq!(it.key(), b"a1");
    assert_eq!(t.get(b"nothing").unwrap(), None);
    t.put(b"b", b"1").unwrap();
    db.put(b"c", b"unrelated").unwrap();
    t.commit().unwrap();
    // ...but a write to a key it read as absent is a conflict.
    let t = db.transaction_with(serializable()).unwrap();
    assert_eq!(t.get(b"nothing").unwrap(), None);
    t.put(b"b", b"2").unwrap();
    db.put(b"nothing", b"now something").unwrap();
    assert!(matches!(t.commit(), Err(Error::Conflict(_))));
}

#[test]
fn finished_transactions_refuse_use() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let t = db.transaction().unwrap();
    t.put(b"a", b"1").unwrap();
    let mut it = t.iter(ReadOptions::default()).unwrap();
    t.commit().unwrap();
    assert!(matches!(t.get(b"a"), Err(Error::InvalidArgument(_))));
    assert!(matches!(t.put(b"a", b"2"), Err(Error::InvalidArgument(_))));
    assert!(matches!(t.commit(), Err(Error::InvalidArgument(_))));
    assert!(matches!(t.rollback(), Err(Error::InvalidArgument(_))));
    it.seek_to_first();
    assert!(!it.valid());
    assert!(matches!(it.status(), Err(Error::InvalidArgument(_))));

    let t = db.transaction().unwrap();
    t.put(b"b", b"1").unwrap();
    t.rollback().unwrap();
    assert!(matches!(t.delete(b"b"), Err(Error::InvalidArgument(_))));
    assert_eq!(db.get(b"b").unwrap(), None);

    // Dropping without commit rolls back.
    {
        let t = db.transaction().unwrap();
        t.put(b"c", b"1").unwrap();
    }
    assert_eq!(db.get(b"c").unwrap(), None);

    // A conflicting commit finishes the transaction too.
    let t = db.transaction().unwrap();
    t.put(b"a", b"t").unwrap();
    db.put(b"a", b"plain").unwrap();
    assert!(matches!(t.commit(), Err(Error::Conflict(_))));
    assert!(matches!(t.put(b"a", b"x"), Err(Error::InvalidArgument(_))));

    // Bad keys and snapshots are refused; a closed database answers Closed.
    let t = db.transaction().unwrap();
    assert!(matches!(t.put(b"", b"x"), Err(Error::InvalidArgument(_))));
    let snap = db.snapshot().unwrap();
    assert!(matches!(
        t.iter(ReadOptions {
            snapshot: Some(snap),
            ..Default::default()
        }),
        Err(Error::InvalidArgument(_))
    ));
    t.put(b"d", b"1").unwrap();
    db.close().unwrap();
    assert!(matches!(t.get(b"zz"), Err(Error::Closed)));
    assert!(matches!(t.commit(), Err(Error::Closed)));
    assert!(matches!(db.transaction(), Err(Error::Closed)));
}

fn balance(v: Option<Vec<u8>>) -> i64 {
    String::from_utf8(v.expect("every account exists"))
        .unwrap()
        .parse()
        .unwrap()
}

fn total(read: impl Fn(&[u8]) -> Option<Vec<u8>>, accounts: usize) -> i64 {
    (0..accounts)
        .map(|a| balance(read(format!("acct{a:03}").as_bytes())))
        .sum()
}

/// Bank transfers between accounts from several threads, in transactions retried on
/// conflict, with flushes and compactions going on: the total never changes, at any
/// snapshot taken during the run and after reopening.
#[test]
fn bank_transfers_keep_the_total() {
    const ACCOUNTS: usize = 20;
    const THREADS: u64 = 4;
    const TRANSFERS: u64 = 400;
    for level in [IsolationLevel::Snapshot, IsolationLevel::Serializable] {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path(), small_options()).unwrap());
        for a in 0..ACCOUNTS {
            db.put(format!("acct{a:03}").as_bytes(), b"1000").unwrap();
        }
        let expected = 1000 * ACCOUNTS as i64;
        let done = Arc::new(AtomicBool::new(false));
        let conflicts = Arc::new(AtomicU64::new(0));
        let auditor = {
            let db = db.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut audits = 0;
                while !done.load(Ordering::Acquire) || audits == 0 {
                    let snap = db.snapshot().unwrap();
                    assert_eq!(total(|k| snap.get(k).unwrap(), ACCOUNTS), expected);
                    // An iterator over the snapshot agrees.
                    let sum: i64 = snap
                        .scan_prefix(b"acct")
                        .unwrap()
                        .map(|r| balance(Some(r.unwrap().1)))
                        .sum();
                    assert_eq!(sum, expected);
                    audits += 1;
                }
                audits
            })
        };
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let db = db.clone();
                let conflicts = conflicts.clone();
                std::thread::spawn(move || {
                    let mut seed = (t + 1) * 0x2545_F491_4F6C_DD1D;
                    for i in 0..TRANSFERS {
                        let from = format!("acct{:03}", rng(&mut seed) % ACCOUNTS as u64);
                        let to = format!("acct{:03}", rng(&mut seed) % ACCOUNTS as u64);
                        let amount = (rng(&mut seed) % 50) as i64;
                        loop {
                            let txn = db
                                .transaction_with(TransactionOptions::default().isolation(level))
                                .unwrap();
                            let a = balance(txn.get(from.as_bytes()).unwrap());
                            let b = balance(txn.get(to.as_bytes()).unwrap());
                            if from == to {
                                break;
                            }
                            txn.put(from.as_bytes(), (a - amount).to_string().as_bytes())
                                .unwrap();
                            txn.put(to.as_bytes(), (b + amount).to_string().as_bytes())
                                .unwrap();
                            match txn.commit() {
                                Ok(()) => break,
                                Err(Error::Conflict(_)) => {
                                    conflicts.fetch_add(1, Ordering::Relaxed);
                                }
                                Err(e) => panic!("{e}"),
                            }
                        }
                        if t == 0 && i % 100 == 99 {
                            db.flush().unwrap();
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Release);
        let audits = auditor.join().unwrap();
        assert_eq!(total(|k| db.get(k).unwrap(), ACCOUNTS), expected);
        db.compact_range(None, None).unwrap();
        db.close().unwrap();
        let db = Db::reopen(dir.path()).unwrap();
        assert_eq!(total(|k| db.get(k).unwrap(), ACCOUNTS), expected);
        eprintln!(
            "{level:?}: {} transfers, {} conflicts retried, {audits} audits",
            THREADS * TRANSFERS,
            conflicts.load(Ordering::Relaxed)
        );
    }
}

/// Concurrent increments of one counter with slow syncs, so that transactions queue up and
/// commit in shared write groups: a transaction must also conflict with a member of its
/// own group that wrote its key first. No increment may be lost.
#[test]
fn increments_in_shared_write_groups_are_not_lost() {
    const THREADS: u64 = 8;
    const INCREMENTS: u64 = 40;
    let fs = kevo::fs::MemFileSystem::new();
    fs.set_sync_delay(std::time::Duration::from_micros(300));
    let db = Arc::new(
        Db::open(
            "/db",
            Options::default()
                .fs(Arc::new(fs.clone()))
                .sync_mode(kevo::SyncMode::Always),
        )
        .unwrap(),
    );
    db.put(b"counter", b"0").unwrap();
    let conflicts = Arc::new(AtomicU64::new(0));
    let syncs_before = fs.sync_count();
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let db = db.clone();
            let conflicts = conflicts.clone();
            std::thread::spawn(move || {
                for _ in 0..INCREMENTS {
                    loop {
                        let txn = db.transaction().unwrap();
                        let n = balance(txn.get(b"counter").unwrap());
                        txn.put(b"counter", (n + 1).to_string().as_bytes()).unwrap();
                        match txn.commit() {
                            Ok(()) => break,
                            Err(Error::Conflict(_)) => {
                                conflicts.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(
        balance(db.get(b"counter").unwrap()),
        (THREADS * INCREMENTS) as i64
    );
    let conflicts = conflicts.load(Ordering::Relaxed);
    let syncs = fs.sync_count() - syncs_before;
    eprintln!(
        "{} increments, {conflicts} conflicts retried, {syncs} syncs",
        THREADS * INCREMENTS
    );
    // Commits and rejected commits shared syncs: fewer syncs than commit attempts.
    assert!(syncs < THREADS * INCREMENTS + conflicts, "{syncs} syncs");
}
