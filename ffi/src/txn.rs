//! `kevo_txn`: optimistic transactions, and `kevo_txn_options` to begin them with.
//!
//! A transaction reads at a snapshot taken by `kevo_txn_begin`, plus its own writes; its
//! writes stay private until `kevo_txn_commit`, which checks for conflicts and writes them
//! all as one atomic batch, or fails with `KEVO_CONFLICT` and writes nothing. See the engine's
//! `kevo::txn` module for the semantics of the isolation levels.
//!
//! `kevo_txn_run` is the engine's retry loop (`kevo::RetryPolicy`) around a C callback:
//! begin, call, commit, and again after a back-off on `KEVO_CONFLICT`. Only the
//! begin-call-commit step is here, because the callback needs a `kevo_txn` handle; when to
//! retry and how long to wait are the engine's.

use std::ffi::c_void;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use kevo::RetryPolicy;

use crate::convert;
use crate::db::{db_handle, get_alloc, get_into_buf, kevo_db};
use crate::error::{kevo_error, kevo_status, take_message, Failure};
use crate::handle::{self, guard, guard_value, Kind, OK};
use crate::iter::{self, kevo_iter};
use crate::options::kevo_read_options;

/// How strictly a transaction is isolated from concurrent commits
/// (`kevo_txn_options_set_isolation`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum kevo_isolation {
    /// Snapshot isolation (the default): reads see the transaction's snapshot; the commit
    /// fails with `KEVO_CONFLICT` if another commit since the snapshot wrote a key this
    /// transaction writes (first committer wins). Allows write skew.
    KEVO_ISOLATION_SNAPSHOT = 0,
    /// Serializable: snapshot isolation, and the commit also fails if another commit since
    /// the snapshot wrote a key this transaction read (absent keys included) or any key in a
    /// range its iterators moved across. No write skew, no phantoms.
    KEVO_ISOLATION_SERIALIZABLE = 1,
}

/// Settings for `kevo_txn_begin`: the isolation level. Created with `kevo_txn_options_new`,
/// freed with `kevo_txn_options_free`; `kevo_txn_begin` copies them, so they may be freed or
/// reused right after. Passing NULL instead means the defaults (snapshot isolation).
///
/// Thread-safety: as the other option handles: once built, any number of threads may begin
/// transactions with it; a setter must not race with its use (serialized, but which value
/// wins is unspecified).
pub struct kevo_txn_options {
    isolation: AtomicU32,
}

/// An optimistic transaction. Created by `kevo_txn_begin`; finished by `kevo_txn_commit` or
/// `kevo_txn_rollback`; released by `kevo_txn_free` (which rolls it back if still active).
///
/// Thread-safety: meant for one thread. Calls from several threads at once are safe (not
/// undefined behaviour), but their outcome depends on the interleaving.
///
/// Lifetime: it keeps the engine alive, so it may outlive its `kevo_db` (freed in any
/// order); after `kevo_close` its calls return `KEVO_CLOSED`. Iterators made from it keep it
/// alive too.
pub struct kevo_txn {
    db: Arc<kevo_db>,
    txn: kevo::Transaction,
}

fn txn_handle(txn: *const kevo_txn) -> Result<Arc<kevo_txn>, Failure> {
    handle::get(Kind::Txn, txn as usize)
}

/// The transaction behind `txn`, refused with `KEVO_CLOSED` once its database is closed.
fn open_txn(txn: *const kevo_txn) -> Result<Arc<kevo_txn>, Failure> {
    let t = txn_handle(txn)?;
    if t.db.db.is_closed() {
        return Err(kevo::Error::Closed.into());
    }
    Ok(t)
}

/// The engine's options for `options` (NULL: the defaults).
fn txn_options(options: *const kevo_txn_options) -> Result<kevo::TransactionOptions, Failure> {
    let isolation = match handle::get_opt::<kevo_txn_options>(Kind::TxnOptions, options as usize)? {
        Some(o) if o.isolation.load(Ordering::Relaxed) == 1 => kevo::IsolationLevel::Serializable,
        _ => kevo::IsolationLevel::Snapshot,
    };
    Ok(kevo::TransactionOptions::default().isolation(isolation))
}

/// New transaction options: snapshot isolation. Owned by the caller: free with
/// `kevo_txn_options_free`. Returns NULL only on an internal error.
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn kevo_txn_options_new() -> *mut kevo_txn_options {
    guard_value(std::ptr::null_mut(), || {
        let o = Arc::new(kevo_txn_options {
            isolation: AtomicU32::new(kevo_isolation::KEVO_ISOLATION_SNAPSHOT as u32),
        });
        handle::register(Kind::TxnOptions, o) as *mut kevo_txn_options
    })
}

/// Frees transaction options. NULL, or options already freed, are ignored. Transactions
/// begun with them are not affected.
///
/// Thread-safety: not while another thread uses `options`.
#[no_mangle]
pub extern "C" fn kevo_txn_options_free(options: *mut kevo_txn_options) {
    guard_value((), || handle::release(Kind::TxnOptions, options as usize))
}

/// Sets the isolation level: `level` is a `kevo_isolation`. Default
/// `KEVO_ISOLATION_SNAPSHOT`.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `options` or an unknown `level`.
///
/// Thread-safety: not while another call uses the same options (which value that call sees
/// is unspecified); the value is copied, nothing of the caller's is kept.
#[no_mangle]
pub extern "C" fn kevo_txn_options_set_isolation(
    options: *mut kevo_txn_options,
    level: u32,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let o: Arc<kevo_txn_options> = handle::get(Kind::TxnOptions, options as usize)?;
        if level > kevo_isolation::KEVO_ISOLATION_SERIALIZABLE as u32 {
            return Err(Failure::invalid(format!("unknown kevo_isolation {level}")));
        }
        o.isolation.store(level, Ordering::Relaxed);
        OK
    })
}

/// Begins a transaction on `db` with `options` (NULL: snapshot isolation). It reads at a
/// snapshot of `db` taken now. On `KEVO_OK`, `*txn` receives a handle owned by the caller:
/// finish it with `kevo_txn_commit` or `kevo_txn_rollback` and release it with
/// `kevo_txn_free`. On failure `*txn` is NULL.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `db`, a stale `options`, a NULL
/// `txn`; `KEVO_CLOSED`.
///
/// Thread-safety: any thread, concurrently with any other call on `db`.
#[no_mangle]
pub extern "C" fn kevo_txn_begin(
    db: *mut kevo_db,
    options: *const kevo_txn_options,
    txn: *mut *mut kevo_txn,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let out = convert::out(txn, "txn (the output handle)")?;
        // SAFETY: non-NULL and writable per the caller.
        unsafe { out.write(std::ptr::null_mut()) };
        let h = db_handle(db)?;
        let t = h.db.transaction_with(txn_options(options)?)?;
        let p = handle::register(Kind::Txn, Arc::new(kevo_txn { db: h, txn: t }));
        // SAFETY: as above.
        unsafe { out.write(p as *mut kevo_txn) };
        OK
    })
}

/// Releases a transaction, rolling it back if it is still active (its writes are
/// discarded). NULL, or a transaction already freed, is ignored. May come before or after
/// `kevo_db_free`; iterators made from it stay valid until freed themselves.
///
/// Thread-safety: not while another thread uses `txn` (a call in progress finishes first).
#[no_mangle]
pub extern "C" fn kevo_txn_free(txn: *mut kevo_txn) {
    guard_value((), || {
        if let Some(obj) = handle::take(Kind::Txn, txn as usize) {
            if let Ok(t) = obj.downcast::<kevo_txn>() {
                // Iterators may still hold the engine's transaction: finish it now.
                let _ = t.txn.rollback();
            }
        }
    })
}

/// Reads `key` as the transaction sees it: its own latest write of the key, else the value
/// in its snapshot. Buffers as `kevo_get`: on `KEVO_OK`, `*value` receives a copy (never
/// NULL) to free with `kevo_free` and `*value_len` its length; otherwise NULL and 0. An
/// absent key (or one this transaction deleted) gives `KEVO_NOT_FOUND`, leaving `*err`
/// untouched. A serializable transaction adds the key to its read set.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `txn`, a NULL `key`, `value` or
/// `value_len`, an invalid key, a transaction already committed or rolled back;
/// `KEVO_CLOSED`; `KEVO_CORRUPTION`; `KEVO_IO_ERROR`.
///
/// Thread-safety: any thread, but a transaction is meant for one thread at a time.
#[no_mangle]
pub extern "C" fn kevo_txn_get(
    txn: *mut kevo_txn,
    key: *const u8,
    key_len: usize,
    value: *mut *mut u8,
    value_len: *mut usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        get_alloc(
            value,
            value_len,
            key,
            key_len,
            || open_txn(txn),
            |t, k| Ok(t.txn.get(k)?),
        )
    })
}

/// Reads `key` as `kevo_txn_get` does, into the caller's buffer `buf` of `buf_len` bytes,
/// with the conventions of `kevo_get_into`: `*value_len` receives the value's length; a
/// value longer than `buf_len` gives `KEVO_BUFFER_TOO_SMALL` and copies nothing.
///
/// Errors: as `kevo_txn_get`; `KEVO_BUFFER_TOO_SMALL` (with an error object).
///
/// Thread-safety: any thread, but a transaction is meant for one thread at a time.
#[no_mangle]
pub extern "C" fn kevo_txn_get_into(
    txn: *mut kevo_txn,
    key: *const u8,
    key_len: usize,
    buf: *mut u8,
    buf_len: usize,
    value_len: *mut usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        get_into_buf(
            buf,
            buf_len,
            value_len,
            key,
            key_len,
            || open_txn(txn),
            |t, k| Ok(t.txn.get(k)?),
        )
    })
}

/// Buffers `key = value` in the transaction (both copied; limits as `kevo_put`). Visible at
/// once to this transaction's reads and to iterators created after it, to others only after
/// `kevo_txn_commit`.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `txn`, a NULL `key`, an empty or
/// oversized key, an oversized value, a transaction already committed or rolled back;
/// `KEVO_CLOSED`.
///
/// Thread-safety: any thread, but a transaction is meant for one thread at a time.
#[no_mangle]
pub extern "C" fn kevo_txn_put(
    txn: *mut kevo_txn,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let t = open_txn(txn)?;
        // SAFETY: the caller guarantees the buffers are readable for their lengths.
        let (k, v) = unsafe {
            (
                convert::key(key, key_len)?,
                convert::value(value, value_len)?,
            )
        };
        t.txn.put(k, v)?;
        OK
    })
}

/// Buffers a deletion of `key` in the transaction (deleting an absent key is not an error).
///
/// Errors: as `kevo_txn_put`.
///
/// Thread-safety: any thread, but a transaction is meant for one thread at a time.
#[no_mangle]
pub extern "C" fn kevo_txn_delete(
    txn: *mut kevo_txn,
    key: *const u8,
    key_len: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let t = open_txn(txn)?;
        // SAFETY: the caller guarantees `key[0..key_len]` is readable.
        let k = unsafe { convert::key(key, key_len) }?;
        t.txn.delete(k)?;
        OK
    })
}

/// Buffers a deletion of every key in `[start, end)` in the transaction (see
/// `kevo_delete_range` for the bounds): its reads stop seeing those keys at once, except keys
/// it writes afterwards; the commit conflicts if another commit wrote a key in the range
/// after the transaction's snapshot.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for bad bounds or a finished transaction; as
/// `kevo_txn_put` otherwise.
///
/// Thread-safety: any thread, but a transaction is meant for one thread at a time.
#[no_mangle]
pub extern "C" fn kevo_txn_delete_range(
    txn: *mut kevo_txn,
    start: *const u8,
    start_len: usize,
    end: *const u8,
    end_len: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let t = open_txn(txn)?;
        // SAFETY: the caller guarantees the buffers are readable for their lengths.
        let (a, b) = unsafe {
            (
                convert::bound(start, start_len, "range start")?,
                convert::bound(end, end_len, "range end")?,
            )
        };
        t.txn.delete_range(a, b)?;
        OK
    })
}

/// Creates an iterator over what the transaction sees: its snapshot plus its own writes as
/// of now (later writes through the transaction are not shown), within `options`' bounds and
/// prefix (`options` may be NULL; it must not carry a snapshot, since a transaction reads at
/// its own). The result is an ordinary `kevo_iter`: use the `kevo_iter_*` functions and free
/// it with `kevo_iter_free`, before or after the transaction. Under
/// `KEVO_ISOLATION_SERIALIZABLE`, every key range it moves across joins the read set. Once
/// the transaction is finished, its moves leave it invalid with status
/// `KEVO_INVALID_ARGUMENT`.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale handle, a NULL `iter`, read options
/// with a snapshot, a transaction already committed or rolled back; `KEVO_CLOSED`;
/// `KEVO_IO_ERROR` / `KEVO_CORRUPTION` opening a table.
///
/// Thread-safety: any thread, but a transaction is meant for one thread at a time.
#[no_mangle]
pub extern "C" fn kevo_txn_iter_new(
    txn: *mut kevo_txn,
    options: *const kevo_read_options,
    iter: *mut *mut kevo_iter,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let out = convert::out(iter, "iter (the output handle)")?;
        // SAFETY: non-NULL and writable per the caller.
        unsafe { out.write(std::ptr::null_mut()) };
        let t = open_txn(txn)?;
        let read = match handle::get_opt::<kevo_read_options>(Kind::ReadOptions, options as usize)?
        {
            Some(o) => o.inner.read().clone(),
            None => kevo::ReadOptions::default(),
        };
        let it = t.txn.iter(read)?;
        let p = iter::register(t.db.clone(), kevo::Cursor::from(it));
        // SAFETY: as above.
        unsafe { out.write(p) };
        OK
    })
}

/// Commits: checks for conflicts and, if there are none, writes every buffered write as one
/// atomic batch (durable per the database's sync mode). The transaction is finished
/// afterwards whatever the result: free it, and on `KEVO_CONFLICT` retry the whole
/// transaction from `kevo_txn_begin`. A transaction that wrote nothing commits without a
/// check.
///
/// Errors: `KEVO_CONFLICT` (nothing was written); `KEVO_INVALID_ARGUMENT` for a NULL or stale
/// `txn` or a transaction already committed or rolled back; `KEVO_CLOSED`;
/// `KEVO_BACKGROUND_ERROR`; `KEVO_IO_ERROR`.
///
/// Thread-safety: any thread, concurrently with calls on other transactions and on the
/// database.
#[no_mangle]
pub extern "C" fn kevo_txn_commit(txn: *mut kevo_txn, err: *mut *mut kevo_error) -> kevo_status {
    guard(err, || {
        open_txn(txn)?.txn.commit()?;
        OK
    })
}

/// Rolls back: discards every buffered write. The transaction is finished afterwards.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `txn` or a transaction already
/// committed or rolled back; `KEVO_CLOSED`.
///
/// Thread-safety: any thread, but a transaction is meant for one thread at a time.
#[no_mangle]
pub extern "C" fn kevo_txn_rollback(txn: *mut kevo_txn, err: *mut *mut kevo_error) -> kevo_status {
    guard(err, || {
        open_txn(txn)?.txn.rollback()?;
        OK
    })
}

/// Stores in `*count` the number of keys the transaction wrote (put or deleted) so far; a
/// key written twice counts once. 0 once the transaction is finished.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `txn` or a NULL `count`.
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn kevo_txn_write_count(
    txn: *const kevo_txn,
    count: *mut usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let out = convert::out(count, "count")?;
        let t = txn_handle(txn)?;
        // SAFETY: non-NULL and writable per the caller.
        unsafe { out.write(t.txn.write_count()) };
        OK
    })
}

/// Stores in `*sequence` the sequence number of the snapshot the transaction reads at.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `txn` or a NULL `sequence`.
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn kevo_txn_snapshot_sequence(
    txn: *const kevo_txn,
    sequence: *mut u64,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let out = convert::out(sequence, "sequence")?;
        let t = txn_handle(txn)?;
        // SAFETY: non-NULL and writable per the caller.
        unsafe { out.write(t.txn.snapshot_sequence()) };
        OK
    })
}

/// The status a `kevo_txn_fn` returns. It is received as a number, not as the
/// `kevo_status` enum, so that a value the enum lacks is an error instead of undefined
/// behaviour; ffi/cbindgen.toml writes it as `kevo_status` in the header, which has the same
/// representation.
pub type kevo_txn_fn_status = u32;

/// The body of a transaction run by `kevo_txn_run`: it gets the transaction `txn` (valid only
/// until it returns), the caller's `ctx`, and `err`, a slot for an error object (initially
/// NULL) to pass to the kevo calls it makes. It returns `KEVO_OK` to have the transaction
/// committed, `KEVO_CONFLICT` to have it retried, or any other status to stop.
pub type kevo_txn_fn = Option<
    unsafe extern "C" fn(
        txn: *mut kevo_txn,
        ctx: *mut c_void,
        err: *mut *mut kevo_error,
    ) -> kevo_txn_fn_status,
>;

type Callback =
    unsafe extern "C" fn(*mut kevo_txn, *mut c_void, *mut *mut kevo_error) -> kevo_txn_fn_status;

/// One attempt of `kevo_txn_run`: a fresh transaction, the callback, and the commit if the
/// callback left the transaction active.
fn run_once(
    db: &Arc<kevo_db>,
    options: &kevo::TransactionOptions,
    callback: Callback,
    ctx: *mut c_void,
) -> Result<(), Failure> {
    let t = Arc::new(kevo_txn {
        db: db.clone(),
        txn: db.db.transaction_with(options.clone())?,
    });
    let txn = handle::register(Kind::Txn, t.clone()) as *mut kevo_txn;
    let mut slot: *mut kevo_error = std::ptr::null_mut();
    // SAFETY: the caller of kevo_txn_run guarantees `callback` is a function of this type;
    // it gets a live handle, `ctx` as given, and a writable slot that outlives the call.
    let status = unsafe { callback(txn, ctx, &mut slot) };
    // The handle dies with the attempt, whatever the callback did with it; `t` keeps the
    // transaction for the commit below.
    handle::release(Kind::Txn, txn as usize);
    let message = take_message(slot);
    if status == kevo_status::KEVO_OK as u32 {
        if t.txn.is_active() {
            t.txn.commit()?;
        }
        return Ok(());
    }
    // Finished already if the callback committed, rolled back or freed it: nothing to undo.
    let _ = t.txn.rollback();
    Err(match kevo_status::from_code(status) {
        Some(code) => Failure::new(
            code,
            message.unwrap_or_else(|| format!("the kevo_txn_run callback returned {code:?}")),
        ),
        None => Failure::invalid(format!(
            "the kevo_txn_run callback returned {status}, which is not a kevo_status"
        )),
    })
}

/// Runs `callback` in a transaction on `db` and commits it, retrying on conflict. Each
/// attempt begins a transaction with `options` (NULL: snapshot isolation), calls
/// `callback(txn, ctx, cb_err)` and, if that returns `KEVO_OK` with the transaction still
/// active, commits it. When `callback` or the commit gives `KEVO_CONFLICT`, the attempt's
/// transaction is released and, after a random back-off, a new attempt starts on a fresh
/// snapshot: at most `max_attempts` attempts in all (0: the engine's default,
/// {{retry:max_attempts}}). The back-off before retry n (from 0) is uniformly random up to
/// min({{retry:initial_backoff}} × 2^n, {{retry:max_backoff}}) ("full jitter"), so colliding
/// writers spread out. Returns `KEVO_OK` once an attempt succeeded.
///
/// Ownership: `txn` belongs to `kevo_txn_run` and is valid only while `callback` runs; do not
/// keep it, and do not free it (`kevo_txn_free` inside `callback` rolls it back). `callback`
/// may commit or roll back `txn` itself, and then nothing more is done; iterators it creates
/// from `txn` are its own to free. `cb_err` is a slot owned by `kevo_txn_run`, NULL when
/// `callback` starts: pass it to the kevo calls inside `callback`. Whatever error it holds
/// when `callback` returns is freed by `kevo_txn_run`, its message first copied into `*err`
/// if this attempt's failure is the one returned. `ctx` is passed through untouched.
///
/// If `callback` returns a status other than `KEVO_OK` and `KEVO_CONFLICT`, the transaction
/// is rolled back and that status is returned without a retry (`*err` carries the message
/// left in `cb_err`, or else says which status `callback` returned). `callback` may run
/// several times, so it should have no effects other than through the transaction and `ctx`.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `db`, a stale `options`, a NULL
/// `callback`, or a return value of `callback` that is not a `kevo_status`; `KEVO_CONFLICT`
/// when the last attempt conflicted; `callback`'s own status; otherwise as `kevo_txn_begin`
/// and `kevo_txn_commit` (`KEVO_CLOSED`, `KEVO_BACKGROUND_ERROR`, `KEVO_IO_ERROR`).
///
/// Thread-safety: any thread, concurrently with any other call on `db`. `callback` runs on
/// the calling thread before `kevo_txn_run` returns; the call sleeps between attempts.
/// `callback` must return normally (no C++ exception or `longjmp` out of it).
#[no_mangle]
pub extern "C" fn kevo_txn_run(
    db: *mut kevo_db,
    options: *const kevo_txn_options,
    callback: kevo_txn_fn,
    ctx: *mut c_void,
    max_attempts: u32,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let h = db_handle(db)?;
        let options = txn_options(options)?;
        let callback = callback.ok_or_else(|| Failure::invalid("callback must not be NULL"))?;
        let policy = match max_attempts {
            0 => RetryPolicy::default(),
            n => RetryPolicy::default().with_max_attempts(n)?,
        };
        policy.run(
            || run_once(&h, &options, callback, ctx),
            |f| f.code == kevo_status::KEVO_CONFLICT,
        )?;
        OK
    })
}
