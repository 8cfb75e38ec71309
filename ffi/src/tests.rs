//! The exports called from Rust as C would call them: statuses, NULLs, free order, use after
//! close, the panic guard.

use std::ffi::{CStr, CString};
use std::ptr::{null, null_mut};

use crate::handle::{self, Kind};
use crate::kevo_status::*;
use crate::*;

struct TestDb {
    _dir: tempfile::TempDir,
    db: *mut kevo_db,
}

fn open_temp() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let path = CString::new(dir.path().to_str().unwrap()).unwrap();
    let mut db = null_mut();
    assert_eq!(
        kevo_open(path.as_ptr(), null(), &mut db, null_mut()),
        KEVO_OK
    );
    assert!(!db.is_null());
    TestDb { _dir: dir, db }
}

fn put(db: *mut kevo_db, k: &[u8], v: &[u8]) -> kevo_status {
    kevo_put(
        db,
        null(),
        k.as_ptr(),
        k.len(),
        v.as_ptr(),
        v.len(),
        null_mut(),
    )
}

fn get(db: *mut kevo_db, ro: *const kevo_read_options, k: &[u8]) -> Result<Vec<u8>, kevo_status> {
    let (mut v, mut n) = (null_mut(), 0usize);
    let s = kevo_get(db, ro, k.as_ptr(), k.len(), &mut v, &mut n, null_mut());
    if s != KEVO_OK {
        assert!(v.is_null());
        assert_eq!(n, 0);
        return Err(s);
    }
    assert!(!v.is_null());
    // SAFETY: kevo_get returned a buffer of `n` bytes.
    let out = unsafe { std::slice::from_raw_parts(v, n) }.to_vec();
    kevo_free(v.cast());
    Ok(out)
}

fn message(e: *const kevo_error) -> String {
    // SAFETY: kevo_error_message always returns a NUL-terminated string.
    unsafe { CStr::from_ptr(kevo_error_message(e)) }
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn put_get_delete_binary_and_empty_values() {
    let t = open_temp();
    assert_eq!(put(t.db, b"a\0b", b"x\0y"), KEVO_OK);
    assert_eq!(get(t.db, null(), b"a\0b"), Ok(b"x\0y".to_vec()));
    assert_eq!(
        kevo_put(t.db, null(), b"e".as_ptr(), 1, null(), 0, null_mut()),
        KEVO_OK
    );
    assert_eq!(get(t.db, null(), b"e"), Ok(vec![]));
    assert_eq!(get(t.db, null(), b"missing"), Err(KEVO_NOT_FOUND));
    assert_eq!(
        kevo_delete(t.db, null(), b"a\0b".as_ptr(), 3, null_mut()),
        KEVO_OK
    );
    assert_eq!(get(t.db, null(), b"a\0b"), Err(KEVO_NOT_FOUND));

    let mut buf = [0u8; 2];
    let mut n = 99;
    put(t.db, b"k", b"abc");
    let s = kevo_get_into(
        t.db,
        null(),
        b"k".as_ptr(),
        1,
        buf.as_mut_ptr(),
        2,
        &mut n,
        null_mut(),
    );
    assert_eq!((s, n), (KEVO_BUFFER_TOO_SMALL, 3));
    let mut big = [0u8; 8];
    let s = kevo_get_into(
        t.db,
        null(),
        b"k".as_ptr(),
        1,
        big.as_mut_ptr(),
        8,
        &mut n,
        null_mut(),
    );
    assert_eq!((s, n, &big[..3]), (KEVO_OK, 3, &b"abc"[..]));
    let s = kevo_get_into(
        t.db,
        null(),
        b"e".as_ptr(),
        1,
        null_mut(),
        0,
        &mut n,
        null_mut(),
    );
    assert_eq!((s, n), (KEVO_OK, 0));
    kevo_db_free(t.db);
}

#[test]
fn errors_are_reported_and_replaced() {
    let t = open_temp();
    let mut err = null_mut();
    assert_eq!(
        kevo_put(t.db, null(), null(), 0, null(), 0, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert!(!err.is_null());
    assert_eq!(kevo_error_code(err), KEVO_INVALID_ARGUMENT);
    assert!(
        message(err).contains("key must not be empty"),
        "{}",
        message(err)
    );
    let first = err as usize;
    // A second failure frees the first error and replaces it.
    assert_eq!(
        kevo_put(t.db, null(), null(), 5, null(), 0, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert!(!handle::is_live(Kind::Error, first) || err as usize == first);
    assert!(message(err).contains("NULL"), "{}", message(err));
    // Success and not-found leave it alone.
    assert_eq!(put(t.db, b"k", b"v"), KEVO_OK);
    let (mut v, mut n) = (null_mut(), 0);
    assert_eq!(
        kevo_get(t.db, null(), b"zz".as_ptr(), 2, &mut v, &mut n, &mut err),
        KEVO_NOT_FOUND
    );
    assert!(handle::is_live(Kind::Error, err as usize));
    kevo_error_free(err);
    kevo_error_free(err); // double free: ignored
    kevo_error_free(null_mut());
    assert_eq!(kevo_error_code(err), KEVO_INVALID_ARGUMENT);
    assert!(message(err).contains("not a live"));
    kevo_db_free(t.db);
}

#[test]
fn huge_lengths_are_refused_before_reading() {
    let t = open_temp();
    let k = b"k";
    let mut err = null_mut();
    assert_eq!(
        kevo_put(
            t.db,
            null(),
            k.as_ptr(),
            usize::MAX,
            k.as_ptr(),
            1,
            &mut err
        ),
        KEVO_INVALID_ARGUMENT
    );
    assert!(message(err).contains("limit"), "{}", message(err));
    assert_eq!(
        kevo_put(
            t.db,
            null(),
            k.as_ptr(),
            1,
            k.as_ptr(),
            usize::MAX,
            &mut err
        ),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_put(
            t.db,
            null(),
            k.as_ptr(),
            kevo::MAX_KEY_SIZE + 1,
            k.as_ptr(),
            1,
            &mut err
        ),
        KEVO_INVALID_ARGUMENT
    );
    let b = kevo_batch_new();
    assert_eq!(
        kevo_batch_put(b, k.as_ptr(), usize::MAX, null(), 0, null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    let mut it = null_mut();
    assert_eq!(kevo_iter_new(t.db, null(), &mut it, null_mut()), KEVO_OK);
    assert_eq!(
        kevo_iter_seek(it, k.as_ptr(), usize::MAX, null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    kevo_iter_free(it);
    kevo_batch_free(b);
    kevo_error_free(err);
    kevo_db_free(t.db);
}

#[test]
fn null_and_stale_handles() {
    let mut err = null_mut();
    assert_eq!(put(null_mut(), b"k", b"v"), KEVO_INVALID_ARGUMENT);
    assert_eq!(kevo_close(null_mut(), &mut err), KEVO_INVALID_ARGUMENT);
    assert!(
        message(err).contains("kevo_db handle is NULL"),
        "{}",
        message(err)
    );
    let mut db = null_mut();
    assert_eq!(
        kevo_open(null(), null(), &mut db, null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_open(c"x".as_ptr(), null(), null_mut(), null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    // A handle of the wrong type.
    let b = kevo_batch_new();
    assert_eq!(kevo_flush(b.cast(), &mut err), KEVO_INVALID_ARGUMENT);
    assert!(
        message(err).contains("it is a kevo_batch"),
        "{}",
        message(err)
    );
    kevo_batch_free(b);
    kevo_batch_free(b); // double free
    assert_eq!(kevo_batch_clear(b, &mut err), KEVO_INVALID_ARGUMENT);
    assert!(
        message(err).contains("not a live kevo_batch"),
        "{}",
        message(err)
    );
    // A pointer kevo never returned.
    let mut x = 0u64;
    assert_eq!(
        kevo_flush((&mut x as *mut u64).cast(), null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    // *_free(NULL) are no-ops.
    kevo_db_free(null_mut());
    kevo_iter_free(null_mut());
    kevo_snapshot_free(null_mut());
    kevo_options_free(null_mut());
    kevo_read_options_free(null_mut());
    kevo_write_options_free(null_mut());
    kevo_batch_free(null_mut());
    kevo_free(null_mut());
    assert!(!kevo_iter_valid(null()));
    assert!(kevo_is_closed(null()));
    kevo_error_free(err);
}

#[test]
fn children_outlive_the_db_and_answer_closed() {
    let t = open_temp();
    put(t.db, b"a", b"1");
    put(t.db, b"b", b"2");
    let (mut it, mut snap) = (null_mut(), null_mut());
    assert_eq!(kevo_iter_new(t.db, null(), &mut it, null_mut()), KEVO_OK);
    assert_eq!(kevo_snapshot_new(t.db, &mut snap, null_mut()), KEVO_OK);
    let ro = kevo_read_options_new();
    assert_eq!(
        kevo_read_options_set_snapshot(ro, snap, null_mut()),
        KEVO_OK
    );
    kevo_snapshot_free(snap); // the read options keep their own reference
    put(t.db, b"a", b"new");
    assert_eq!(get(t.db, ro, b"a"), Ok(b"1".to_vec()));
    assert_eq!(kevo_iter_seek_to_first(it, null_mut()), KEVO_OK);
    assert!(kevo_iter_valid(it));

    assert_eq!(kevo_close(t.db, null_mut()), KEVO_OK);
    assert_eq!(kevo_close(t.db, null_mut()), KEVO_OK); // idempotent
    assert!(kevo_is_closed(t.db));
    assert_eq!(put(t.db, b"c", b"3"), KEVO_CLOSED);
    assert_eq!(get(t.db, null(), b"a"), Err(KEVO_CLOSED));
    assert_eq!(get(t.db, ro, b"a"), Err(KEVO_CLOSED));
    assert!(!kevo_iter_valid(it));
    let (mut k, mut n) = (null(), 0);
    assert_eq!(kevo_iter_key(it, &mut k, &mut n, null_mut()), KEVO_CLOSED);
    assert_eq!(kevo_iter_status(it, null_mut()), KEVO_CLOSED);
    kevo_db_free(t.db); // before its children
    assert_eq!(kevo_iter_next(it, null_mut()), KEVO_CLOSED);
    assert_eq!(kevo_iter_seek_to_last(it, null_mut()), KEVO_CLOSED);
    let mut s2 = null_mut();
    assert_eq!(
        kevo_snapshot_new(t.db, &mut s2, null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    kevo_iter_free(it);
    kevo_read_options_free(ro);
}

#[test]
fn iterator_bounds_and_both_directions() {
    let t = open_temp();
    for k in [&b"a"[..], b"b", b"c", b"d", b"e"] {
        put(t.db, k, k);
    }
    let ro = kevo_read_options_new();
    assert_eq!(
        kevo_read_options_set_lower_bound(ro, b"b".as_ptr(), 1, null_mut()),
        KEVO_OK
    );
    assert_eq!(
        kevo_read_options_set_upper_bound(ro, b"e".as_ptr(), 1, null_mut()),
        KEVO_OK
    );
    let mut it = null_mut();
    assert_eq!(kevo_iter_new(t.db, ro, &mut it, null_mut()), KEVO_OK);
    let collect = |forward: bool| {
        let mut keys = Vec::new();
        let s = if forward {
            kevo_iter_seek_to_first(it, null_mut())
        } else {
            kevo_iter_seek_to_last(it, null_mut())
        };
        assert_eq!(s, KEVO_OK);
        while kevo_iter_valid(it) {
            let (mut k, mut n) = (null(), 0);
            assert_eq!(kevo_iter_key(it, &mut k, &mut n, null_mut()), KEVO_OK);
            // SAFETY: borrowed until the next move.
            keys.push(unsafe { std::slice::from_raw_parts(k, n) }.to_vec());
            let s = if forward {
                kevo_iter_next(it, null_mut())
            } else {
                kevo_iter_prev(it, null_mut())
            };
            assert_eq!(s, KEVO_OK);
        }
        keys
    };
    assert_eq!(
        collect(true),
        vec![b"b".to_vec(), b"c".to_vec(), b"d".to_vec()]
    );
    assert_eq!(
        collect(false),
        vec![b"d".to_vec(), b"c".to_vec(), b"b".to_vec()]
    );
    // Moving an unpositioned iterator, reading its key: refused.
    assert_eq!(kevo_iter_next(it, null_mut()), KEVO_INVALID_ARGUMENT);
    let (mut k, mut n) = (null(), 0);
    assert_eq!(
        kevo_iter_key(it, &mut k, &mut n, null_mut()),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_iter_seek_for_prev(it, b"c\xff".as_ptr(), 2, null_mut()),
        KEVO_OK
    );
    assert_eq!(kevo_iter_value(it, &mut k, &mut n, null_mut()), KEVO_OK);
    // SAFETY: borrowed until the next move.
    assert_eq!(unsafe { std::slice::from_raw_parts(k, n) }, b"c");
    kevo_iter_free(it);
    kevo_iter_free(it);
    kevo_read_options_free(ro);
    kevo_db_free(t.db);
}

#[test]
fn batches_options_properties() {
    let t = open_temp();
    let b = kevo_batch_new();
    assert_eq!(
        kevo_batch_put(b, b"x".as_ptr(), 1, b"1".as_ptr(), 1, null_mut()),
        KEVO_OK
    );
    assert_eq!(kevo_batch_delete(b, b"y".as_ptr(), 1, null_mut()), KEVO_OK);
    let mut n = 0;
    assert_eq!(kevo_batch_count(b, &mut n, null_mut()), KEVO_OK);
    assert_eq!(n, 2);
    let wo = kevo_write_options_new();
    assert_eq!(kevo_write_options_set_sync(wo, true, null_mut()), KEVO_OK);
    assert_eq!(kevo_write(t.db, wo, b, null_mut()), KEVO_OK);
    assert_eq!(get(t.db, null(), b"x"), Ok(b"1".to_vec()));
    assert_eq!(kevo_batch_clear(b, null_mut()), KEVO_OK);
    assert_eq!(kevo_batch_count(b, &mut n, null_mut()), KEVO_OK);
    assert_eq!(n, 0);

    assert_eq!(kevo_flush(t.db, null_mut()), KEVO_OK);
    assert_eq!(
        kevo_compact_range(t.db, null(), 0, null(), 0, null_mut()),
        KEVO_OK
    );
    let mut v = null_mut();
    assert_eq!(
        kevo_property(t.db, c"kevo.live-sst-bytes".as_ptr(), &mut v, null_mut()),
        KEVO_OK
    );
    // SAFETY: a NUL-terminated string from kevo.
    let bytes: u64 = unsafe { CStr::from_ptr(v) }
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(bytes > 0);
    kevo_free(v.cast());
    assert_eq!(
        kevo_property(t.db, c"kevo.nope".as_ptr(), &mut v, null_mut()),
        KEVO_NOT_FOUND
    );
    assert!(v.is_null());

    let o = kevo_options_new();
    let mut err = null_mut();
    assert_eq!(
        kevo_options_set_block_size(o, 1, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_options_set_compression(o, 2, 99, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_options_set_compression(o, 7, 0, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_options_set_sync_mode(o, 2, 0, 5, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_options_set_compaction_style(o, 9, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(kevo_options_set_compression(o, 2, 3, &mut err), KEVO_OK);
    assert_eq!(
        kevo_options_set_sync_mode(o, 2, 1 << 20, 10, &mut err),
        KEVO_OK
    );
    assert_eq!(kevo_options_set_compaction_style(o, 1, &mut err), KEVO_OK);
    // Cross-option checks happen at open.
    assert_eq!(
        kevo_options_set_l0_stop_writes_trigger(o, 3, &mut err),
        KEVO_OK
    );
    let dir = tempfile::tempdir().unwrap();
    let path = CString::new(dir.path().to_str().unwrap()).unwrap();
    let mut db2 = null_mut();
    assert_eq!(
        kevo_open(path.as_ptr(), o, &mut db2, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert!(db2.is_null());
    assert_eq!(
        kevo_options_set_l0_stop_writes_trigger(o, 20, &mut err),
        KEVO_OK
    );
    assert_eq!(
        kevo_options_set_create_if_missing(o, false, &mut err),
        KEVO_OK
    );
    assert_eq!(
        kevo_open(path.as_ptr(), o, &mut db2, &mut err),
        KEVO_NOT_FOUND
    );
    assert_eq!(kevo_error_code(err), KEVO_NOT_FOUND);
    // A second open of an open database: locked.
    let tpath = CString::new(t._dir.path().to_str().unwrap()).unwrap();
    assert_eq!(
        kevo_open(tpath.as_ptr(), null(), &mut db2, &mut err),
        KEVO_LOCKED
    );

    kevo_error_free(err);
    kevo_options_free(o);
    kevo_write_options_free(wo);
    kevo_batch_free(b);
    kevo_db_free(t.db);
}

#[test]
fn panics_become_internal_errors() {
    let mut err = null_mut();
    let s = handle::guard(&mut err, || panic!("boom"));
    assert_eq!(s, KEVO_INTERNAL);
    assert_eq!(kevo_error_code(err), KEVO_INTERNAL);
    assert!(message(err).contains("boom"), "{}", message(err));
    kevo_error_free(err);
    assert_eq!(handle::guard_value(7, || panic!("boom")), 7);
}

#[test]
fn versions_and_status_names() {
    assert_eq!(kevo_abi_version(), KEVO_ABI_VERSION);
    // SAFETY: static NUL-terminated strings.
    let v = unsafe { CStr::from_ptr(kevo_version_string()) };
    assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    // SAFETY: as above.
    let name = |s: u32| {
        unsafe { CStr::from_ptr(kevo_status_name(s)) }
            .to_str()
            .unwrap()
    };
    assert_eq!(name(KEVO_CLOSED as u32), "KEVO_CLOSED");
    assert_eq!(name(KEVO_INTERNAL as u32), "KEVO_INTERNAL");
    assert_eq!(name(KEVO_READ_ONLY as u32), "KEVO_READ_ONLY");
    assert_eq!(name(1000), "KEVO_UNKNOWN");
}

#[test]
fn concurrent_use_while_closed_and_freed() {
    let t = open_temp();
    let db = t.db as usize;
    let mut it = null_mut();
    assert_eq!(kevo_iter_new(t.db, null(), &mut it, null_mut()), KEVO_OK);
    let it = it as usize;
    let workers: Vec<_> = (0..4u8)
        .map(|w| {
            std::thread::spawn(move || {
                let db = db as *mut kevo_db;
                let it = it as *mut kevo_iter;
                for i in 0..2000u32 {
                    let k = [w, (i >> 8) as u8, i as u8, 1];
                    // Every call either works or reports the close/free: never anything else.
                    let s = put(db, &k, b"v");
                    assert!(
                        matches!(s, KEVO_OK | KEVO_CLOSED | KEVO_INVALID_ARGUMENT),
                        "{s:?}"
                    );
                    let g = get(db, null(), &k).err().unwrap_or(KEVO_OK);
                    assert!(
                        matches!(
                            g,
                            KEVO_OK | KEVO_NOT_FOUND | KEVO_CLOSED | KEVO_INVALID_ARGUMENT
                        ),
                        "{g:?}"
                    );
                    // Two threads on one iterator: serialized, not undefined behaviour.
                    let s = kevo_iter_seek(it, k.as_ptr(), k.len(), null_mut());
                    assert!(matches!(s, KEVO_OK | KEVO_CLOSED), "{s:?}");
                }
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(kevo_close(t.db, null_mut()), KEVO_OK);
    kevo_db_free(t.db);
    for w in workers {
        w.join().unwrap();
    }
    assert!(!handle::is_live(Kind::Db, db));
    kevo_iter_free(it as *mut kevo_iter);
}

mod backup;
mod txn;
