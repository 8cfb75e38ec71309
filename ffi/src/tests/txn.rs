//! Transactions through the C ABI: read-your-writes, conflicts, isolation levels, finished
//! transactions, NULLs, free order; and the two new database options.

use std::ffi::CStr;
use std::ptr::{null, null_mut};

use super::{get, message, open_temp, put};
use crate::handle::{self, Kind};
use crate::kevo_isolation::*;
use crate::kevo_status::*;
use crate::kevo_wal_recovery_mode::*;
use crate::*;

fn begin(db: *mut kevo_db, serializable: bool) -> *mut kevo_txn {
    let o = kevo_txn_options_new();
    let level = if serializable {
        KEVO_ISOLATION_SERIALIZABLE
    } else {
        KEVO_ISOLATION_SNAPSHOT
    };
    assert_eq!(
        kevo_txn_options_set_isolation(o, level as u32, null_mut()),
        KEVO_OK
    );
    let mut t = null_mut();
    assert_eq!(kevo_txn_begin(db, o, &mut t, null_mut()), KEVO_OK);
    kevo_txn_options_free(o);
    assert!(!t.is_null());
    t
}

fn tput(t: *mut kevo_txn, k: &[u8], v: &[u8]) -> kevo_status {
    kevo_txn_put(t, k.as_ptr(), k.len(), v.as_ptr(), v.len(), null_mut())
}

fn tget(t: *mut kevo_txn, k: &[u8]) -> Result<Vec<u8>, kevo_status> {
    let (mut v, mut n) = (null_mut(), 0usize);
    let s = kevo_txn_get(t, k.as_ptr(), k.len(), &mut v, &mut n, null_mut());
    if s != KEVO_OK {
        assert!(v.is_null());
        assert_eq!(n, 0);
        return Err(s);
    }
    // SAFETY: kevo_txn_get returned a buffer of `n` bytes.
    let out = unsafe { std::slice::from_raw_parts(v, n) }.to_vec();
    kevo_free(v.cast());
    Ok(out)
}

/// Every (key, value) of `it` from the first, forwards.
fn drain(it: *mut kevo_iter) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    assert_eq!(kevo_iter_seek_to_first(it, null_mut()), KEVO_OK);
    while kevo_iter_valid(it) {
        let (mut k, mut kn, mut v, mut vn) = (null(), 0, null(), 0);
        assert_eq!(kevo_iter_key(it, &mut k, &mut kn, null_mut()), KEVO_OK);
        assert_eq!(kevo_iter_value(it, &mut v, &mut vn, null_mut()), KEVO_OK);
        // SAFETY: borrowed from the iterator until its next move.
        let (k, v) = unsafe {
            (
                std::slice::from_raw_parts(k, kn).to_vec(),
                std::slice::from_raw_parts(v, vn).to_vec(),
            )
        };
        out.push((k, v));
        assert_eq!(kevo_iter_next(it, null_mut()), KEVO_OK);
    }
    assert_eq!(kevo_iter_status(it, null_mut()), KEVO_OK);
    out
}

fn kv(pairs: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

#[test]
fn read_your_writes_through_get_and_iterator() {
    let t = open_temp();
    put(t.db, b"a", b"1");
    put(t.db, b"b", b"2");
    let txn = begin(t.db, false);
    assert_eq!(tput(txn, b"b", b"20"), KEVO_OK);
    assert_eq!(tput(txn, b"c", b"3"), KEVO_OK);
    assert_eq!(kevo_txn_delete(txn, b"a".as_ptr(), 1, null_mut()), KEVO_OK);
    assert_eq!(tget(txn, b"b"), Ok(b"20".to_vec()));
    assert_eq!(tget(txn, b"a"), Err(KEVO_NOT_FOUND)); // deleted by the transaction
    assert_eq!(tget(txn, b"zzz"), Err(KEVO_NOT_FOUND));
    // Not visible outside before commit.
    assert_eq!(get(t.db, null(), b"c"), Err(KEVO_NOT_FOUND));
    assert_eq!(get(t.db, null(), b"b"), Ok(b"2".to_vec()));
    // The snapshot: a write outside after begin is not seen.
    put(t.db, b"d", b"4");
    assert_eq!(tget(txn, b"d"), Err(KEVO_NOT_FOUND));

    let mut buf = [0u8; 1];
    let mut n = 0;
    let s = kevo_txn_get_into(
        txn,
        b"b".as_ptr(),
        1,
        buf.as_mut_ptr(),
        1,
        &mut n,
        null_mut(),
    );
    assert_eq!((s, n), (KEVO_BUFFER_TOO_SMALL, 2));
    let mut big = [0u8; 8];
    let s = kevo_txn_get_into(
        txn,
        b"b".as_ptr(),
        1,
        big.as_mut_ptr(),
        8,
        &mut n,
        null_mut(),
    );
    assert_eq!((s, n, &big[..2]), (KEVO_OK, 2, &b"20"[..]));
    let s = kevo_txn_get_into(
        txn,
        b"a".as_ptr(),
        1,
        big.as_mut_ptr(),
        8,
        &mut n,
        null_mut(),
    );
    assert_eq!((s, n), (KEVO_NOT_FOUND, 0));

    let mut it = null_mut();
    assert_eq!(kevo_txn_iter_new(txn, null(), &mut it, null_mut()), KEVO_OK);
    assert_eq!(drain(it), kv(&[("b", "20"), ("c", "3")]));
    // Backwards too, and with bounds.
    assert_eq!(kevo_iter_seek_to_last(it, null_mut()), KEVO_OK);
    let (mut k, mut kn) = (null(), 0);
    assert_eq!(kevo_iter_key(it, &mut k, &mut kn, null_mut()), KEVO_OK);
    // SAFETY: borrowed until the next move.
    assert_eq!(unsafe { std::slice::from_raw_parts(k, kn) }, b"c");
    let ro = kevo_read_options_new();
    assert_eq!(
        kevo_read_options_set_upper_bound(ro, b"c".as_ptr(), 1, null_mut()),
        KEVO_OK
    );
    let mut bounded = null_mut();
    assert_eq!(
        kevo_txn_iter_new(txn, ro, &mut bounded, null_mut()),
        KEVO_OK
    );
    assert_eq!(drain(bounded), kv(&[("b", "20")]));
    kevo_iter_free(bounded);
    kevo_read_options_free(ro);

    let mut count = 0;
    assert_eq!(kevo_txn_write_count(txn, &mut count, null_mut()), KEVO_OK);
    assert_eq!(count, 3);
    let mut seq = 0;
    assert_eq!(
        kevo_txn_snapshot_sequence(txn, &mut seq, null_mut()),
        KEVO_OK
    );
    assert_eq!(seq, 2);

    assert_eq!(kevo_txn_commit(txn, null_mut()), KEVO_OK);
    assert_eq!(get(t.db, null(), b"a"), Err(KEVO_NOT_FOUND));
    assert_eq!(get(t.db, null(), b"b"), Ok(b"20".to_vec()));
    assert_eq!(get(t.db, null(), b"c"), Ok(b"3".to_vec()));
    assert_eq!(get(t.db, null(), b"d"), Ok(b"4".to_vec()));
    kevo_iter_free(it);
    kevo_txn_free(txn);
    kevo_db_free(t.db);
}

#[test]
fn conflicts_write_nothing() {
    let t = open_temp();
    put(t.db, b"x", b"0");
    let (t1, t2) = (begin(t.db, false), begin(t.db, false));
    assert_eq!(tput(t1, b"x", b"1"), KEVO_OK);
    assert_eq!(tput(t2, b"x", b"2"), KEVO_OK);
    assert_eq!(tput(t2, b"only-t2", b"y"), KEVO_OK);
    assert_eq!(kevo_txn_commit(t1, null_mut()), KEVO_OK);
    let mut err = null_mut();
    assert_eq!(kevo_txn_commit(t2, &mut err), KEVO_CONFLICT);
    assert_eq!(kevo_error_code(err), KEVO_CONFLICT);
    assert!(message(err).contains("conflict"), "{}", message(err));
    assert_eq!(get(t.db, null(), b"x"), Ok(b"1".to_vec()));
    assert_eq!(get(t.db, null(), b"only-t2"), Err(KEVO_NOT_FOUND));
    // A failed commit finishes the transaction.
    assert_eq!(tput(t2, b"x", b"3"), KEVO_INVALID_ARGUMENT);

    // A plain kevo_put is a commit too.
    let t3 = begin(t.db, false);
    assert_eq!(tput(t3, b"x", b"3"), KEVO_OK);
    put(t.db, b"x", b"outside");
    assert_eq!(kevo_txn_commit(t3, null_mut()), KEVO_CONFLICT);
    assert_eq!(get(t.db, null(), b"x"), Ok(b"outside".to_vec()));

    // Rollback discards; a read-only transaction always commits.
    let t4 = begin(t.db, true);
    assert_eq!(tput(t4, b"r", b"1"), KEVO_OK);
    assert_eq!(kevo_txn_rollback(t4, null_mut()), KEVO_OK);
    assert_eq!(get(t.db, null(), b"r"), Err(KEVO_NOT_FOUND));
    let t5 = begin(t.db, true);
    assert_eq!(tget(t5, b"x"), Ok(b"outside".to_vec()));
    put(t.db, b"x", b"again");
    assert_eq!(kevo_txn_commit(t5, null_mut()), KEVO_OK);
    for txn in [t1, t2, t3, t4, t5] {
        kevo_txn_free(txn);
    }
    kevo_error_free(err);
    kevo_db_free(t.db);
}

/// Two doctors on call; each transaction checks that both are, then takes one off call.
/// Returns how many of the two commits succeeded.
fn write_skew(serializable: bool) -> usize {
    let t = open_temp();
    put(t.db, b"alice", b"on");
    put(t.db, b"bob", b"on");
    let (ta, tb) = (begin(t.db, serializable), begin(t.db, serializable));
    for txn in [ta, tb] {
        assert_eq!(tget(txn, b"alice"), Ok(b"on".to_vec()));
        assert_eq!(tget(txn, b"bob"), Ok(b"on".to_vec()));
    }
    assert_eq!(tput(ta, b"alice", b"off"), KEVO_OK);
    assert_eq!(tput(tb, b"bob", b"off"), KEVO_OK);
    let mut ok = 0;
    for txn in [ta, tb] {
        match kevo_txn_commit(txn, null_mut()) {
            KEVO_OK => ok += 1,
            s => assert_eq!(s, KEVO_CONFLICT),
        }
        kevo_txn_free(txn);
    }
    kevo_db_free(t.db);
    ok
}

#[test]
fn write_skew_depends_on_isolation() {
    assert_eq!(write_skew(false), 2);
    assert_eq!(write_skew(true), 1);
}

#[test]
fn serializable_iterator_scans_are_validated() {
    let t = open_temp();
    put(t.db, b"k1", b"1");
    let txn = begin(t.db, true);
    let mut it = null_mut();
    assert_eq!(kevo_txn_iter_new(txn, null(), &mut it, null_mut()), KEVO_OK);
    assert_eq!(drain(it).len(), 1);
    assert_eq!(tput(txn, b"summary", b"1"), KEVO_OK);
    put(t.db, b"k2", b"phantom");
    assert_eq!(kevo_txn_commit(txn, null_mut()), KEVO_CONFLICT);
    kevo_iter_free(it);
    kevo_txn_free(txn);
    kevo_db_free(t.db);
}

#[test]
fn finished_transactions_refuse_everything() {
    let t = open_temp();
    for (finish, word) in [(true, "committed"), (false, "rolled back")] {
        let txn = begin(t.db, false);
        assert_eq!(tput(txn, b"k", b"v"), KEVO_OK);
        let mut it = null_mut();
        assert_eq!(kevo_txn_iter_new(txn, null(), &mut it, null_mut()), KEVO_OK);
        let s = if finish {
            kevo_txn_commit(txn, null_mut())
        } else {
            kevo_txn_rollback(txn, null_mut())
        };
        assert_eq!(s, KEVO_OK);
        let mut err = null_mut();
        assert_eq!(
            kevo_txn_put(txn, b"k".as_ptr(), 1, b"v".as_ptr(), 1, &mut err),
            KEVO_INVALID_ARGUMENT
        );
        assert!(message(err).contains(word), "{}", message(err));
        assert_eq!(tget(txn, b"k"), Err(KEVO_INVALID_ARGUMENT));
        assert_eq!(
            kevo_txn_delete(txn, b"k".as_ptr(), 1, null_mut()),
            KEVO_INVALID_ARGUMENT
        );
        let mut it2 = null_mut();
        assert_eq!(
            kevo_txn_iter_new(txn, null(), &mut it2, null_mut()),
            KEVO_INVALID_ARGUMENT
        );
        assert!(it2.is_null());
        assert_eq!(kevo_txn_commit(txn, null_mut()), KEVO_INVALID_ARGUMENT);
        assert_eq!(kevo_txn_rollback(txn, null_mut()), KEVO_INVALID_ARGUMENT);
        // An iterator of a finished transaction: moves leave it invalid, with the status.
        assert_eq!(kevo_iter_seek_to_first(it, &mut err), KEVO_INVALID_ARGUMENT);
        assert!(!kevo_iter_valid(it));
        assert_eq!(kevo_iter_status(it, null_mut()), KEVO_INVALID_ARGUMENT);
        let mut count = 9;
        assert_eq!(kevo_txn_write_count(txn, &mut count, null_mut()), KEVO_OK);
        assert_eq!(count, 0);
        kevo_iter_free(it);
        kevo_txn_free(txn);
        kevo_error_free(err);
    }
    kevo_db_free(t.db);
}

#[test]
fn nulls_stale_handles_and_bad_options() {
    let t = open_temp();
    let mut err = null_mut();
    let mut txn = null_mut();
    assert_eq!(
        kevo_txn_begin(null_mut(), null(), &mut txn, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert!(txn.is_null());
    assert_eq!(
        kevo_txn_begin(t.db, null(), null_mut(), null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    // A wrongly typed options handle.
    let wrong = kevo_read_options_new();
    assert_eq!(
        kevo_txn_begin(t.db, wrong.cast(), &mut txn, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert!(
        message(err).contains("kevo_txn_options"),
        "{}",
        message(err)
    );
    let o = kevo_txn_options_new();
    assert_eq!(
        kevo_txn_options_set_isolation(o, 2, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_txn_options_set_isolation(null_mut(), 0, null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    kevo_txn_options_free(o);
    kevo_txn_options_free(o); // double free
    kevo_txn_options_free(null_mut());
    assert_eq!(
        kevo_txn_options_set_isolation(o, 0, null_mut()),
        KEVO_INVALID_ARGUMENT
    );

    // NULL transaction everywhere.
    assert_eq!(tput(null_mut(), b"k", b"v"), KEVO_INVALID_ARGUMENT);
    assert_eq!(tget(null_mut(), b"k"), Err(KEVO_INVALID_ARGUMENT));
    assert_eq!(
        kevo_txn_delete(null_mut(), b"k".as_ptr(), 1, null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(kevo_txn_commit(null_mut(), &mut err), KEVO_INVALID_ARGUMENT);
    assert!(
        message(err).contains("kevo_txn handle is NULL"),
        "{}",
        message(err)
    );
    assert_eq!(
        kevo_txn_rollback(null_mut(), null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    let mut it = null_mut();
    assert_eq!(
        kevo_txn_iter_new(null_mut(), null(), &mut it, null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    let mut n = 0;
    assert_eq!(
        kevo_txn_write_count(null(), &mut n, null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    let mut seq = 0;
    assert_eq!(
        kevo_txn_snapshot_sequence(null(), &mut seq, null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    kevo_txn_free(null_mut());

    // NULL arguments on a live transaction.
    let txn = begin(t.db, false);
    assert_eq!(
        kevo_txn_put(txn, null(), 1, b"v".as_ptr(), 1, null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_txn_put(txn, b"k".as_ptr(), 0, b"v".as_ptr(), 1, null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_txn_put(txn, b"k".as_ptr(), usize::MAX, null(), 0, null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    let mut v = null_mut();
    assert_eq!(
        kevo_txn_get(txn, b"k".as_ptr(), 1, &mut v, null_mut(), null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_txn_get(txn, b"k".as_ptr(), 1, null_mut(), &mut n, null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_txn_iter_new(txn, null(), null_mut(), null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_txn_write_count(txn, null_mut(), null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    // Read options with a snapshot: a transaction reads at its own.
    let mut snap = null_mut();
    assert_eq!(kevo_snapshot_new(t.db, &mut snap, null_mut()), KEVO_OK);
    assert_eq!(
        kevo_read_options_set_snapshot(wrong, snap, null_mut()),
        KEVO_OK
    );
    assert_eq!(
        kevo_txn_iter_new(txn, wrong, &mut it, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert!(it.is_null());
    assert!(message(err).contains("own snapshot"), "{}", message(err));
    // A transaction is not a kevo_db, nor the reverse.
    assert_eq!(kevo_flush(txn.cast(), null_mut()), KEVO_INVALID_ARGUMENT);
    assert_eq!(
        kevo_txn_commit(t.db.cast(), null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    kevo_txn_free(txn);
    kevo_txn_free(txn); // double free: ignored
    assert_eq!(tput(txn, b"k", b"v"), KEVO_INVALID_ARGUMENT);
    assert!(!handle::is_live(Kind::Txn, txn as usize));
    kevo_snapshot_free(snap);
    kevo_read_options_free(wrong);
    kevo_error_free(err);
    kevo_db_free(t.db);
}

#[test]
fn free_frees_an_active_transaction_and_rolls_it_back() {
    let t = open_temp();
    let txn = begin(t.db, false);
    assert_eq!(tput(txn, b"k", b"v"), KEVO_OK);
    kevo_txn_free(txn);
    assert_eq!(get(t.db, null(), b"k"), Err(KEVO_NOT_FOUND));
    // A key it wrote can be written by others without conflict... and by a new transaction.
    let t2 = begin(t.db, false);
    assert_eq!(tput(t2, b"k", b"2"), KEVO_OK);
    assert_eq!(kevo_txn_commit(t2, null_mut()), KEVO_OK);
    kevo_txn_free(t2);
    kevo_db_free(t.db);
}

#[test]
fn transactions_and_their_iterators_outlive_the_db() {
    let t = open_temp();
    put(t.db, b"a", b"1");
    let txn = begin(t.db, false);
    assert_eq!(tput(txn, b"b", b"2"), KEVO_OK);
    let mut it = null_mut();
    assert_eq!(kevo_txn_iter_new(txn, null(), &mut it, null_mut()), KEVO_OK);
    kevo_txn_free(txn); // before its iterator: the iterator stays safe
    assert_eq!(
        kevo_iter_seek_to_first(it, null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    kevo_iter_free(it);

    let txn = begin(t.db, false);
    assert_eq!(tput(txn, b"b", b"2"), KEVO_OK);
    let mut it = null_mut();
    assert_eq!(kevo_txn_iter_new(txn, null(), &mut it, null_mut()), KEVO_OK);
    assert_eq!(drain(it), kv(&[("a", "1"), ("b", "2")]));
    assert_eq!(kevo_close(t.db, null_mut()), KEVO_OK);
    let mut err = null_mut();
    assert_eq!(tput(txn, b"c", b"3"), KEVO_CLOSED);
    assert_eq!(tget(txn, b"a"), Err(KEVO_CLOSED));
    assert_eq!(kevo_txn_commit(txn, &mut err), KEVO_CLOSED);
    assert_eq!(kevo_error_code(err), KEVO_CLOSED);
    assert_eq!(kevo_txn_rollback(txn, null_mut()), KEVO_CLOSED);
    let mut it2 = null_mut();
    assert_eq!(
        kevo_txn_iter_new(txn, null(), &mut it2, null_mut()),
        KEVO_CLOSED
    );
    assert!(!kevo_iter_valid(it));
    assert_eq!(kevo_iter_status(it, null_mut()), KEVO_CLOSED);
    let mut txn2 = null_mut();
    assert_eq!(
        kevo_txn_begin(t.db, null(), &mut txn2, null_mut()),
        KEVO_CLOSED
    );
    assert!(txn2.is_null());
    kevo_db_free(t.db); // before the transaction and its iterator
    assert_eq!(kevo_txn_commit(txn, null_mut()), KEVO_CLOSED);
    assert_eq!(kevo_iter_seek_to_last(it, null_mut()), KEVO_CLOSED);
    kevo_txn_free(txn);
    kevo_iter_free(it);
    kevo_error_free(err);
}

#[test]
fn concurrent_transfers_keep_the_total() {
    const ACCOUNTS: u32 = 8;
    let t = open_temp();
    for a in 0..ACCOUNTS {
        put(t.db, format!("acct{a}").as_bytes(), b"100");
    }
    let db = t.db as usize;
    let balance = |v: Result<Vec<u8>, kevo_status>| -> i64 {
        String::from_utf8(v.unwrap()).unwrap().parse().unwrap()
    };
    let workers: Vec<_> = (0..4u32)
        .map(|w| {
            std::thread::spawn(move || {
                let db = db as *mut kevo_db;
                let mut conflicts = 0;
                for i in 0..100u32 {
                    let from = format!("acct{}", (w * 7 + i) % ACCOUNTS);
                    let to = format!("acct{}", (w * 3 + i * 5 + 1) % ACCOUNTS);
                    if from == to {
                        continue;
                    }
                    loop {
                        let txn = begin(db, false);
                        let a = balance(tget(txn, from.as_bytes()));
                        let b = balance(tget(txn, to.as_bytes()));
                        tput(txn, from.as_bytes(), (a - 1).to_string().as_bytes());
                        tput(txn, to.as_bytes(), (b + 1).to_string().as_bytes());
                        let s = kevo_txn_commit(txn, null_mut());
                        kevo_txn_free(txn);
                        match s {
                            KEVO_OK => break,
                            KEVO_CONFLICT => conflicts += 1,
                            s => panic!("{s:?}"),
                        }
                    }
                }
                conflicts
            })
        })
        .collect();
    let mut audits = 0;
    while !workers.iter().all(|w| w.is_finished()) {
        // A read-only transaction is a consistent snapshot: the total never changes.
        let txn = begin(t.db, false);
        let total: i64 = (0..ACCOUNTS)
            .map(|a| balance(tget(txn, format!("acct{a}").as_bytes())))
            .sum();
        assert_eq!(total, 100 * i64::from(ACCOUNTS));
        kevo_txn_free(txn);
        audits += 1;
    }
    let conflicts: u32 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let total: i64 = (0..ACCOUNTS)
        .map(|a| balance(get(t.db, null(), format!("acct{a}").as_bytes())))
        .sum();
    assert_eq!(total, 100 * i64::from(ACCOUNTS));
    eprintln!("{audits} audits, {conflicts} conflicts retried");
    kevo_db_free(t.db);
}

#[test]
fn conflict_status_and_wal_options() {
    // SAFETY: static NUL-terminated strings.
    let name = unsafe { CStr::from_ptr(kevo_status_name(KEVO_CONFLICT as u32)) };
    assert_eq!(name.to_str().unwrap(), "KEVO_CONFLICT");
    assert_eq!(KEVO_CONFLICT as u32, 10);
    assert_eq!(
        crate::error::status_of(&kevo::Error::Conflict("k".into())),
        KEVO_CONFLICT
    );

    let o = kevo_options_new();
    for m in [
        KEVO_WAL_TOLERATE_CORRUPTED_TAIL,
        KEVO_WAL_ABSOLUTE_CONSISTENCY,
        KEVO_WAL_POINT_IN_TIME,
        KEVO_WAL_TOLERATE_INCOMPLETE_TAIL,
    ] {
        assert_eq!(
            kevo_options_set_wal_recovery_mode(o, m as u32, null_mut()),
            KEVO_OK
        );
    }
    {
        let opts: std::sync::Arc<kevo_options> = handle::get(Kind::Options, o as usize).unwrap();
        assert_eq!(
            opts.inner.lock().wal_recovery_mode,
            kevo::wal::WalRecoveryMode::TolerateIncompleteTail
        );
    }
    let mut err = null_mut();
    assert_eq!(
        kevo_options_set_wal_recovery_mode(o, 4, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert!(
        message(err).contains("kevo_wal_recovery_mode"),
        "{}",
        message(err)
    );
    assert_eq!(
        kevo_options_set_wal_recovery_mode(null_mut(), 0, null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_options_set_paranoid_checks(o, false, null_mut()),
        KEVO_OK
    );
    assert_eq!(
        kevo_options_set_paranoid_checks(null_mut(), false, null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_options_set_wal_recovery_mode(o, KEVO_WAL_POINT_IN_TIME as u32, null_mut()),
        KEVO_OK
    );
    {
        let opts: std::sync::Arc<kevo_options> = handle::get(Kind::Options, o as usize).unwrap();
        let inner = opts.inner.lock();
        assert!(!inner.paranoid_checks);
        assert_eq!(
            inner.wal_recovery_mode,
            kevo::wal::WalRecoveryMode::PointInTime
        );
    }
    // A database opens, is written and reopens with them.
    let dir = tempfile::tempdir().unwrap();
    let path = std::ffi::CString::new(dir.path().to_str().unwrap()).unwrap();
    for round in 0..2 {
        let mut db = null_mut();
        assert_eq!(kevo_open(path.as_ptr(), o, &mut db, null_mut()), KEVO_OK);
        if round == 0 {
            put(db, b"k", b"v");
        } else {
            assert_eq!(get(db, null(), b"k"), Ok(b"v".to_vec()));
        }
        kevo_db_free(db);
    }
    kevo_options_free(o);
    kevo_error_free(err);
}

/// What the `kevo_txn_run` callbacks below share with their test, through `ctx`.
struct Run {
    db: *mut kevo_db,
    calls: u32,
    /// Attempts on which the callback makes a concurrent write (a conflict at commit).
    conflicting: u32,
    /// Status to return instead of `KEVO_OK` (after writing), if any.
    fail_with: Option<u32>,
    /// Commit (true) or roll back (false) inside the callback.
    finish: Option<bool>,
}

impl Run {
    fn new(db: *mut kevo_db) -> Run {
        Run {
            db,
            calls: 0,
            conflicting: 0,
            fail_with: None,
            finish: None,
        }
    }
}

unsafe extern "C" fn transfer(
    txn: *mut kevo_txn,
    ctx: *mut std::ffi::c_void,
    err: *mut *mut kevo_error,
) -> u32 {
    // SAFETY: every test passes a `Run` it owns as `ctx`.
    let run = unsafe { &mut *ctx.cast::<Run>() };
    run.calls += 1;
    let value = format!("attempt {}", run.calls);
    let s = kevo_txn_put(txn, b"k".as_ptr(), 1, value.as_ptr(), value.len(), err);
    if s != KEVO_OK {
        return s as u32;
    }
    if run.calls <= run.conflicting {
        put(run.db, b"k", b"outside");
    }
    if let Some(status) = run.fail_with {
        return status;
    }
    match run.finish {
        Some(true) => kevo_txn_commit(txn, err) as u32,
        Some(false) => kevo_txn_rollback(txn, err) as u32,
        None => KEVO_OK as u32,
    }
}

fn run(run: &mut Run, options: *const kevo_txn_options, attempts: u32) -> (kevo_status, String) {
    let mut err = null_mut();
    let ctx = (run as *mut Run).cast();
    let s = kevo_txn_run(run.db, options, Some(transfer), ctx, attempts, &mut err);
    assert_eq!(s == KEVO_OK, err.is_null(), "an error object iff a failure");
    let m = if err.is_null() {
        String::new()
    } else {
        assert_eq!(kevo_error_code(err), s);
        message(err)
    };
    kevo_error_free(err);
    (s, m)
}

#[test]
fn txn_run_retries_conflicts_and_commits() {
    let t = open_temp();
    let mut r = Run::new(t.db);
    r.conflicting = 2;
    assert_eq!(run(&mut r, null(), 0), (KEVO_OK, String::new()));
    assert_eq!(r.calls, 3);
    assert_eq!(get(t.db, null(), b"k"), Ok(b"attempt 3".to_vec()));

    // Serializable options are used, and a commit inside the callback is retried too.
    let o = kevo_txn_options_new();
    kevo_txn_options_set_isolation(o, KEVO_ISOLATION_SERIALIZABLE as u32, null_mut());
    let mut r = Run::new(t.db);
    r.conflicting = 1;
    r.finish = Some(true);
    assert_eq!(run(&mut r, o, 0).0, KEVO_OK);
    assert_eq!(r.calls, 2);
    kevo_txn_options_free(o);

    // A rollback inside the callback: nothing committed, no retry.
    let mut r = Run::new(t.db);
    r.finish = Some(false);
    assert_eq!(run(&mut r, null(), 0).0, KEVO_OK);
    assert_eq!(r.calls, 1);
    assert_eq!(get(t.db, null(), b"k"), Ok(b"attempt 2".to_vec()));
    kevo_db_free(t.db);
}

#[test]
fn txn_run_gives_up_after_max_attempts() {
    let t = open_temp();
    let mut r = Run::new(t.db);
    r.conflicting = u32::MAX;
    let (s, m) = run(&mut r, null(), 3);
    assert_eq!(s, KEVO_CONFLICT, "{m}");
    assert_eq!(r.calls, 3);
    assert_eq!(get(t.db, null(), b"k"), Ok(b"outside".to_vec()));

    // The default policy's number of attempts, from the engine.
    let mut r = Run::new(t.db);
    r.conflicting = u32::MAX;
    assert_eq!(run(&mut r, null(), 0).0, KEVO_CONFLICT);
    assert_eq!(r.calls, kevo::RetryPolicy::default().max_attempts());
    kevo_db_free(t.db);
}

#[test]
fn txn_run_stops_on_other_statuses_and_rolls_back() {
    let t = open_temp();
    let mut r = Run::new(t.db);
    r.fail_with = Some(KEVO_NOT_FOUND as u32);
    let (s, m) = run(&mut r, null(), 0);
    assert_eq!((s, r.calls), (KEVO_NOT_FOUND, 1));
    assert!(m.contains("callback returned KEVO_NOT_FOUND"), "{m}");
    assert_eq!(get(t.db, null(), b"k"), Err(KEVO_NOT_FOUND));

    // A value the enum lacks.
    let mut r = Run::new(t.db);
    r.fail_with = Some(77);
    let (s, m) = run(&mut r, null(), 0);
    assert_eq!((s, r.calls), (KEVO_INVALID_ARGUMENT, 1));
    assert!(m.contains("77, which is not a kevo_status"), "{m}");

    // An engine error inside the callback keeps its message: committing twice.
    unsafe extern "C" fn commit_twice(
        txn: *mut kevo_txn,
        _ctx: *mut std::ffi::c_void,
        err: *mut *mut kevo_error,
    ) -> u32 {
        kevo_txn_commit(txn, err);
        kevo_txn_commit(txn, err) as u32
    }
    let mut err = null_mut();
    let s = kevo_txn_run(t.db, null(), Some(commit_twice), null_mut(), 0, &mut err);
    assert_eq!(s, KEVO_INVALID_ARGUMENT);
    assert!(
        message(err).contains("already committed"),
        "{}",
        message(err)
    );
    kevo_error_free(err);

    // The handle the callback got is gone afterwards.
    static SEEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    unsafe extern "C" fn remember(
        txn: *mut kevo_txn,
        _ctx: *mut std::ffi::c_void,
        _err: *mut *mut kevo_error,
    ) -> u32 {
        SEEN.store(txn as usize, std::sync::atomic::Ordering::Relaxed);
        KEVO_OK as u32
    }
    assert_eq!(
        kevo_txn_run(t.db, null(), Some(remember), null_mut(), 1, null_mut()),
        KEVO_OK
    );
    let seen = SEEN.load(std::sync::atomic::Ordering::Relaxed);
    assert!(seen != 0 && !handle::is_live(Kind::Txn, seen));

    // Arguments: NULL callback, stale options, NULL or closed database.
    let mut err = null_mut();
    assert_eq!(
        kevo_txn_run(t.db, null(), None, null_mut(), 0, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert!(message(err).contains("callback"), "{}", message(err));
    let o = kevo_txn_options_new();
    kevo_txn_options_free(o);
    assert_eq!(
        kevo_txn_run(t.db, o, Some(remember), null_mut(), 0, null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_txn_run(
            null_mut(),
            null(),
            Some(remember),
            null_mut(),
            0,
            null_mut()
        ),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(kevo_close(t.db, null_mut()), KEVO_OK);
    assert_eq!(
        kevo_txn_run(t.db, null(), Some(remember), null_mut(), 0, null_mut()),
        KEVO_CLOSED
    );
    kevo_error_free(err);
    kevo_db_free(t.db);
}

/// The option setters refuse what the engine's table refuses, with the engine's message.
#[test]
fn option_setters_use_the_engines_bounds() {
    use kevo::options::fields;
    let o = kevo_options_new();
    let mut err = null_mut();
    assert_eq!(
        kevo_options_set_memtable_size(o, 10, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    let want = fields::MEMTABLE_SIZE.check(10).unwrap_err().to_string();
    assert_eq!(message(err), want);
    let max = fields::MAX_BACKGROUND_COMPACTIONS.bounds.max as usize;
    assert_eq!(
        kevo_options_set_max_background_compactions(o, max, null_mut()),
        KEVO_OK
    );
    assert_eq!(
        kevo_options_set_max_background_compactions(o, max + 1, null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    let level = fields::ZSTD_LEVEL.max as i32 + 1;
    assert_eq!(
        kevo_options_set_compression(o, 2, level, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    let want = kevo::Compression::Zstd { level }.validate().unwrap_err();
    assert_eq!(message(err), want.to_string());
    assert_eq!(
        kevo_options_set_sync_mode(o, 2, 0, 5, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert!(
        message(err).contains("SyncMode::Batched bytes"),
        "{}",
        message(err)
    );
    // A refused value leaves the option as it was.
    let opts: std::sync::Arc<kevo_options> = handle::get(Kind::Options, o as usize).unwrap();
    assert_eq!(opts.inner.lock().max_background_compactions, max);
    assert_eq!(opts.inner.lock().sync_mode, kevo::SyncMode::None);
    drop(opts);
    kevo_options_free(o);
    kevo_error_free(err);
}
