//! `kevo_db`: open, close, point reads and writes, flush, compaction, properties.

use std::ffi::c_char;
use std::sync::Arc;

use crate::batch::kevo_batch;
use crate::convert;
use crate::error::{kevo_error, kevo_status, Failure};
use crate::handle::{self, guard, guard_value, Kind, OK};
use crate::options::{kevo_options, kevo_read_options, kevo_write_options};

/// An open database. Created by `kevo_open`; closed by `kevo_close`; released by
/// `kevo_db_free`.
///
/// Thread-safety: a `kevo_db` may be used by any number of threads at once (every call on
/// it is safe to make concurrently, including `kevo_close`, after which other calls return
/// `KEVO_CLOSED`).
///
/// Lifetime: iterators and snapshots made from it hold their own reference to the engine, so
/// the database handle and its children may be freed in any order. After `kevo_close` (or
/// `kevo_db_free`) the children answer `KEVO_CLOSED`.
pub struct kevo_db {
    pub(crate) db: kevo::Db,
}

pub(crate) fn db_handle(db: *const kevo_db) -> Result<Arc<kevo_db>, Failure> {
    handle::get(Kind::Db, db as usize)
}

/// Opens (by default creating) the database in directory `path` (NUL-terminated UTF-8) with
/// `options` (NULL: every default; the options are copied, so they may be freed right
/// after). On `KEVO_OK`, `*db` receives a new handle owned by the caller: close it with
/// `kevo_close` and release it with `kevo_db_free`. On failure `*db` is set to NULL.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL `path` or `db`, a stale `options`, an option out
/// of range or inconsistent with another, or an existing database with `error_if_exists`;
/// `KEVO_NOT_FOUND` (with an error object) if no database exists and `create_if_missing` is
/// false; `KEVO_LOCKED` if it is open elsewhere (this process or another); `KEVO_CORRUPTION`;
/// `KEVO_IO_ERROR`.
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn kevo_open(
    path: *const c_char,
    options: *const kevo_options,
    db: *mut *mut kevo_db,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let out = convert::out(db, "db (the output handle)")?;
        // SAFETY: `out` is non-NULL and the caller guarantees it is writable.
        unsafe { out.write(std::ptr::null_mut()) };
        // SAFETY: the caller guarantees `path` is NULL or a NUL-terminated string.
        let path = unsafe { convert::c_str(path, "path") }?;
        let opts = match handle::get_opt::<kevo_options>(Kind::Options, options as usize)? {
            Some(o) => o.inner.lock().clone(),
            None => kevo::Options::default(),
        };
        let engine = kevo::Db::open(path, opts)?;
        let h = handle::register(Kind::Db, Arc::new(kevo_db { db: engine }));
        // SAFETY: as above.
        unsafe { out.write(h as *mut kevo_db) };
        OK
    })
}

/// Closes the database: syncs the WAL, stops the background threads (a running flush or
/// compaction finishes first) and releases the directory lock, so it may be opened again.
/// The handle stays valid: every later call on it, and on its iterators and snapshots,
/// returns `KEVO_CLOSED`, until `kevo_db_free` releases it. Closing a closed database returns
/// `KEVO_OK`.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `db`; `KEVO_IO_ERROR` if the final
/// WAL sync fails (the database is closed all the same).
///
/// Thread-safety: any thread, also while other threads use `db`.
#[no_mangle]
pub extern "C" fn kevo_close(db: *mut kevo_db, err: *mut *mut kevo_error) -> kevo_status {
    guard(err, || {
        db_handle(db)?.db.close()?;
        OK
    })
}

/// Releases a database handle, closing it first if it is open (errors of that close are
/// ignored: call `kevo_close` first to see them). `kevo_db_free(NULL)` and freeing a freed
/// handle do nothing. Iterators and snapshots of the database stay valid (answering
/// `KEVO_CLOSED`) until they are freed themselves.
///
/// Thread-safety: any thread; calls other threads are making on `db` at that moment finish
/// normally or return `KEVO_CLOSED`, but `db` must not be used after this returns.
#[no_mangle]
pub extern "C" fn kevo_db_free(db: *mut kevo_db) {
    guard_value((), || {
        if let Some(obj) = handle::take(Kind::Db, db as usize) {
            if let Ok(h) = obj.downcast::<kevo_db>() {
                let _ = h.db.close();
            }
        }
    })
}

/// True once the database was closed (by `kevo_close`, `kevo_db_free`, or after a fatal
/// error); also true for a NULL or stale `db`.
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn kevo_is_closed(db: *const kevo_db) -> bool {
    guard_value(true, || db_handle(db).map_or(true, |h| h.db.is_closed()))
}

/// Runs a write with the engine's write options that `options` (NULL: the defaults) holds.
pub(crate) fn write_with(
    h: &kevo_db,
    options: *const kevo_write_options,
    write: impl FnOnce(&kevo::Db, &kevo::WriteOptions) -> kevo::Result<()>,
) -> Result<kevo_status, Failure> {
    let o = handle::get_opt::<kevo_write_options>(Kind::WriteOptions, options as usize)?
        .map(|o| o.get())
        .unwrap_or_default();
    write(&h.db, &o)?;
    OK
}

/// Sets `key` to `value`. Both are copied; binary-safe (embedded NULs allowed). `key` must be
/// 1 to {{max_key_size}} bytes; `value` 0 to {{max_value_size}} (`value` may be NULL when
/// `value_len` is 0). `options` may be NULL (defaults). Durable per the database's sync mode, or at once if
/// `options` has sync set.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale handle, a NULL `key`, an empty or
/// oversized key, an oversized value; `KEVO_CLOSED`; `KEVO_BACKGROUND_ERROR` after an
/// earlier failure; `KEVO_IO_ERROR` if the WAL write fails.
///
/// Thread-safety: any thread, concurrently with any other call on `db`.
#[no_mangle]
pub extern "C" fn kevo_put(
    db: *mut kevo_db,
    options: *const kevo_write_options,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let h = db_handle(db)?;
        // SAFETY: the caller guarantees the buffers are readable for their lengths.
        let (k, v) = unsafe {
            (
                convert::key(key, key_len)?,
                convert::value(value, value_len)?,
            )
        };
        write_with(&h, options, |d, o| d.put_opt(k, v, o))
    })
}

/// Deletes `key` (1 to {{max_key_size}} bytes). Deleting an absent key is not an error.
/// `options` may be NULL.
///
/// Errors: as `kevo_put`.
///
/// Thread-safety: any thread, concurrently with any other call on `db`.
#[no_mangle]
pub extern "C" fn kevo_delete(
    db: *mut kevo_db,
    options: *const kevo_write_options,
    key: *const u8,
    key_len: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let h = db_handle(db)?;
        // SAFETY: the caller guarantees `key[0..key_len]` is readable.
        let k = unsafe { convert::key(key, key_len) }?;
        write_with(&h, options, |d, o| d.delete_opt(k, o))
    })
}

/// Deletes every key `k` with `start <= k < end` (bytewise) in one atomic write of one
/// range tombstone, whatever the number of keys covered (`kevo::Db::delete_range`).
/// `start_len` may be 0 (from the first key); `start == end` deletes nothing. Both bounds are
/// copied and at most {{max_key_size}} bytes. `options` may be NULL.
///
/// Errors: `KEVO_INVALID_ARGUMENT` if `start` sorts after `end`, a bound is oversized, or a
/// pointer is NULL with a nonzero length; otherwise as `kevo_put`.
///
/// Thread-safety: any thread, concurrently with any other call on `db`.
#[no_mangle]
pub extern "C" fn kevo_delete_range(
    db: *mut kevo_db,
    options: *const kevo_write_options,
    start: *const u8,
    start_len: usize,
    end: *const u8,
    end_len: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let h = db_handle(db)?;
        // SAFETY: the caller guarantees the buffers are readable for their lengths.
        let (a, b) = unsafe {
            (
                convert::bound(start, start_len, "range start")?,
                convert::bound(end, end_len, "range end")?,
            )
        };
        write_with(&h, options, |d, o| d.delete_range_opt(a, b, o))
    })
}

/// Applies every operation of `batch` atomically (all or nothing, also after a crash). The
/// batch is not changed: it may be written again, cleared, or freed. An empty batch is a
/// no-op. `options` may be NULL.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale handle; `KEVO_CLOSED`;
/// `KEVO_BACKGROUND_ERROR`; `KEVO_IO_ERROR`.
///
/// Thread-safety: any thread; the batch must not be changed by another thread meanwhile
/// (that is serialized, not unsafe).
#[no_mangle]
pub extern "C" fn kevo_write(
    db: *mut kevo_db,
    options: *const kevo_write_options,
    batch: *const kevo_batch,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let h = db_handle(db)?;
        let b: Arc<kevo_batch> = handle::get(Kind::Batch, batch as usize)?;
        let guard = b.inner.lock();
        write_with(&h, options, |d, o| d.write_opt(&guard, o))
    })
}

/// Looks up `key` as of `options`' snapshot (or now if `options` is NULL or has none).
fn lookup(
    h: &kevo_db,
    options: *const kevo_read_options,
    key: &[u8],
) -> Result<Option<Vec<u8>>, Failure> {
    Ok(
        match handle::get_opt::<kevo_read_options>(Kind::ReadOptions, options as usize)? {
            None => h.db.get(key)?,
            Some(o) => h.db.get_opt(key, &o.inner.read())?,
        },
    )
}

/// Reads the value of `key` as of `options`' snapshot (`options` may be NULL: the latest
/// state; bounds and prefix do not apply to point reads).
///
/// On `KEVO_OK`, `*value` receives a copy allocated by kevo (never NULL, even for an empty
/// value) that the caller frees with `kevo_free`, and `*value_len` its length. On any other
/// status, `*value` is NULL and `*value_len` 0. An absent key gives `KEVO_NOT_FOUND` and
/// leaves `*err` untouched.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale handle, a NULL `key`, `value` or
/// `value_len`, an invalid key, a snapshot of another database; `KEVO_CLOSED`;
/// `KEVO_CORRUPTION`; `KEVO_IO_ERROR`.
///
/// Thread-safety: any thread, concurrently with any other call on `db`.
#[no_mangle]
pub extern "C" fn kevo_get(
    db: *mut kevo_db,
    options: *const kevo_read_options,
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
            || db_handle(db),
            |h, k| lookup(&h, options, k),
        )
    })
}

/// Reads the values of `num_keys` keys at one consistent view (as of `options`' snapshot, or
/// the latest state if `options` is NULL): no write that lands during the call is seen for
/// some keys and not others. Faster per key than a loop of `kevo_get` (the keys are sorted
/// and each table visited once). `keys[i]` / `key_lens[i]` is the i-th key (1 to
/// {{max_key_size}} bytes); keys may repeat. `keys` and `key_lens` may be NULL when
/// `num_keys` is 0.
///
/// On `KEVO_OK`, `values[i]` receives a kevo-allocated copy of the i-th value (never NULL
/// for a present key, even an empty value), freed by the caller with `kevo_free`, and
/// `value_lens[i]` its length; an absent key gives `values[i] = NULL`, `value_lens[i] = 0`.
/// On any other status every `values[i]` is NULL and nothing is allocated.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale handle, a NULL array when `num_keys`
/// is not 0, a NULL or invalid key (the first one found), a snapshot of another database;
/// `KEVO_CLOSED`; `KEVO_CORRUPTION`; `KEVO_IO_ERROR`; `KEVO_INTERNAL` if memory runs out.
///
/// Thread-safety: any thread, concurrently with any other call on `db`.
#[no_mangle]
pub extern "C" fn kevo_multi_get(
    db: *mut kevo_db,
    options: *const kevo_read_options,
    num_keys: usize,
    keys: *const *const u8,
    key_lens: *const usize,
    values: *mut *mut u8,
    value_lens: *mut usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        if num_keys == 0 {
            db_handle(db)?;
            return OK;
        }
        if num_keys > isize::MAX as usize / std::mem::size_of::<usize>() {
            return Err(Failure::invalid(format!(
                "num_keys {num_keys} is too large"
            )));
        }
        let values = convert::out(values, "values")?;
        let value_lens = convert::out(value_lens, "value_lens")?;
        // SAFETY: both are non-NULL and the caller guarantees `num_keys` writable slots.
        let (values, value_lens) = unsafe {
            (
                std::slice::from_raw_parts_mut(values, num_keys),
                std::slice::from_raw_parts_mut(value_lens, num_keys),
            )
        };
        values.fill(std::ptr::null_mut());
        value_lens.fill(0);
        let h = db_handle(db)?;
        if keys.is_null() || key_lens.is_null() {
            return Err(Failure::invalid("keys and key_lens must not be NULL"));
        }
        // SAFETY: non-NULL, and the caller guarantees `num_keys` readable entries.
        let (ptrs, lens) = unsafe {
            (
                std::slice::from_raw_parts(keys, num_keys),
                std::slice::from_raw_parts(key_lens, num_keys),
            )
        };
        let mut ks: Vec<&[u8]> = Vec::with_capacity(num_keys);
        for (i, (&p, &len)) in ptrs.iter().zip(lens).enumerate() {
            // SAFETY: the caller guarantees `keys[i][0..key_lens[i]]` is readable.
            let k = unsafe { convert::key(p, len) }
                .map_err(|f| Failure::new(f.code, format!("key {i}: {}", f.message)))?;
            ks.push(k);
        }
        let found = match handle::get_opt::<kevo_read_options>(Kind::ReadOptions, options as usize)?
        {
            None => h.db.multi_get(&ks)?,
            Some(o) => h.db.multi_get_opt(&ks, &o.inner.read())?,
        };
        for (i, v) in found.iter().enumerate() {
            let Some(v) = v else { continue };
            match convert::malloc_copy(v, false) {
                Ok(p) => {
                    values[i] = p;
                    value_lens[i] = v.len();
                }
                Err(f) => {
                    for slot in values.iter_mut().take(i) {
                        // SAFETY: each non-NULL slot was allocated above by malloc.
                        unsafe { libc::free(*slot as *mut libc::c_void) };
                        *slot = std::ptr::null_mut();
                    }
                    value_lens.fill(0);
                    return Err(f);
                }
            }
        }
        OK
    })
}

/// The body of `kevo_get` and `kevo_txn_get`: clears the outputs, resolves the handle, reads
/// the key, looks it up, and hands out a `malloc` copy of the value.
pub(crate) fn get_alloc<H>(
    value: *mut *mut u8,
    value_len: *mut usize,
    key: *const u8,
    key_len: usize,
    resolve: impl FnOnce() -> Result<H, Failure>,
    lookup: impl FnOnce(H, &[u8]) -> Result<Option<Vec<u8>>, Failure>,
) -> Result<kevo_status, Failure> {
    let value = convert::out(value, "value")?;
    let value_len = convert::out(value_len, "value_len")?;
    // SAFETY: both are non-NULL and the caller guarantees they are writable.
    unsafe {
        value.write(std::ptr::null_mut());
        value_len.write(0);
    }
    let h = resolve()?;
    // SAFETY: the caller guarantees `key[0..key_len]` is readable.
    let k = unsafe { convert::key(key, key_len) }?;
    match lookup(h, k)? {
        None => Ok(kevo_status::KEVO_NOT_FOUND),
        Some(v) => {
            let p = convert::malloc_copy(&v, false)?;
            // SAFETY: as above.
            unsafe {
                value.write(p);
                value_len.write(v.len());
            }
            OK
        }
    }
}

/// Reads the value of `key` into the caller's buffer `buf` of `buf_len` bytes (`buf` may be
/// NULL when `buf_len` is 0). `*value_len` always receives the value's length when the key
/// exists (0 otherwise). If it fits, the value is copied and the result is `KEVO_OK`; if not,
/// nothing is copied and the result is `KEVO_BUFFER_TOO_SMALL` (call again with a buffer of
/// `*value_len` bytes). An absent key gives `KEVO_NOT_FOUND`, leaving `*err` untouched.
/// `options` as in `kevo_get`.
///
/// Errors: as `kevo_get`; `KEVO_BUFFER_TOO_SMALL` (with an error object).
///
/// Thread-safety: any thread, concurrently with any other call on `db`.
#[no_mangle]
pub extern "C" fn kevo_get_into(
    db: *mut kevo_db,
    options: *const kevo_read_options,
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
            || db_handle(db),
            |h, k| lookup(&h, options, k),
        )
    })
}

/// The body of `kevo_get_into` and `kevo_txn_get_into`: as [`get_alloc`], copying into the
/// caller's buffer.
#[allow(clippy::too_many_arguments)]
pub(crate) fn get_into_buf<H>(
    buf: *mut u8,
    buf_len: usize,
    value_len: *mut usize,
    key: *const u8,
    key_len: usize,
    resolve: impl FnOnce() -> Result<H, Failure>,
    lookup: impl FnOnce(H, &[u8]) -> Result<Option<Vec<u8>>, Failure>,
) -> Result<kevo_status, Failure> {
    let value_len = convert::out(value_len, "value_len")?;
    // SAFETY: non-NULL and writable per the caller.
    unsafe { value_len.write(0) };
    if buf.is_null() && buf_len != 0 {
        return Err(Failure::invalid("buf is NULL but buf_len is not 0"));
    }
    let h = resolve()?;
    // SAFETY: the caller guarantees `key[0..key_len]` is readable.
    let k = unsafe { convert::key(key, key_len) }?;
    let Some(v) = lookup(h, k)? else {
        return Ok(kevo_status::KEVO_NOT_FOUND);
    };
    // SAFETY: as above.
    unsafe { value_len.write(v.len()) };
    if v.len() > buf_len {
        return Err(Failure::new(
            kevo_status::KEVO_BUFFER_TOO_SMALL,
            format!("the value is {} bytes, the buffer {buf_len}", v.len()),
        ));
    }
    if !v.is_empty() {
        // SAFETY: `buf` is non-NULL (buf_len >= v.len() > 0) and writable for `buf_len`
        // bytes per the caller; the engine's vector does not overlap it.
        unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), buf, v.len()) };
    }
    OK
}

/// Frees a buffer kevo allocated (`kevo_get`'s value, `kevo_property`'s string). NULL is
/// ignored. Do not free other pointers with it (it is C's `free`).
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn kevo_free(ptr: *mut std::ffi::c_void) {
    // SAFETY: `ptr` is NULL or came from `malloc` in `convert::malloc_copy`, per the contract.
    unsafe { libc::free(ptr) }
}

/// Writes the memtable to an SSTable now and waits until it is recorded (a no-op if it is
/// empty).
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `db`; `KEVO_CLOSED`;
/// `KEVO_BACKGROUND_ERROR` / `KEVO_IO_ERROR` if the flush fails.
///
/// Thread-safety: any thread, concurrently with any other call on `db`.
#[no_mangle]
pub extern "C" fn kevo_flush(db: *mut kevo_db, err: *mut *mut kevo_error) -> kevo_status {
    guard(err, || {
        db_handle(db)?.db.flush()?;
        OK
    })
}

/// Moves a read-only handle (`kevo_options_set_read_only`) to the writer's latest state
/// (RocksDB's `TryCatchUpWithPrimary`): reads the manifest edits and WAL records the writer
/// added since the open or the last refresh. Snapshots and iterators taken before keep
/// their view. On error the handle keeps its previous state.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `db`, or a handle that is not
/// read-only; `KEVO_CLOSED`; `KEVO_NOT_FOUND` if the writer kept deleting the files just
/// read for 100 attempts, or the database was removed; `KEVO_CORRUPTION`; `KEVO_IO_ERROR`.
///
/// Thread-safety: any thread, concurrently with any other call on `db` (refreshes of one
/// handle take turns).
#[no_mangle]
pub extern "C" fn kevo_refresh(db: *mut kevo_db, err: *mut *mut kevo_error) -> kevo_status {
    guard(err, || {
        db_handle(db)?.db.refresh()?;
        OK
    })
}

/// Writes a consistent copy of the database into the directory `dir` (missing or empty)
/// while it stays in use: hard links to its SSTables (copies where links fail), its WAL as
/// of the call and a manifest of exactly those files; every write acknowledged before the
/// call is in it. The copy opens with `kevo_open` like any database. See `Db::checkpoint`.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `db`, a NULL or non-UTF-8 `dir`, or
/// a `dir` that exists and is not empty (left untouched); `KEVO_CLOSED`; `KEVO_IO_ERROR`.
///
/// Thread-safety: any thread, concurrently with any other call on `db`.
#[no_mangle]
pub extern "C" fn kevo_checkpoint(
    db: *mut kevo_db,
    dir: *const c_char,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        // SAFETY: the caller guarantees `dir` is NULL or a NUL-terminated string.
        let dir = unsafe { convert::c_str(dir, "dir") }?;
        db_handle(db)?.db.checkpoint(dir)?;
        OK
    })
}

/// Forces every write acknowledged so far to stable storage (one fsync of the WAL).
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `db`; `KEVO_CLOSED`;
/// `KEVO_IO_ERROR`.
///
/// Thread-safety: any thread, concurrently with any other call on `db`.
#[no_mangle]
pub extern "C" fn kevo_sync_wal(db: *mut kevo_db, err: *mut *mut kevo_error) -> kevo_status {
    guard(err, || {
        db_handle(db)?.db.sync_wal()?;
        OK
    })
}

/// Compacts every key in `[start, end]` (inclusive) down to the bottom level and waits until
/// done. `start == NULL` means from the first key, `end == NULL` to the last.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `db` or a bound over
/// {{max_key_size}} bytes; `KEVO_CLOSED`; `KEVO_BACKGROUND_ERROR` / `KEVO_IO_ERROR` /
/// `KEVO_CORRUPTION` if a flush or compaction fails.
///
/// Thread-safety: any thread, concurrently with any other call on `db`.
#[no_mangle]
pub extern "C" fn kevo_compact_range(
    db: *mut kevo_db,
    start: *const u8,
    start_len: usize,
    end: *const u8,
    end_len: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let h = db_handle(db)?;
        let bound = |p: *const u8, len: usize, what: &str| {
            if p.is_null() {
                Ok(None)
            } else {
                // SAFETY: the caller guarantees `p[0..len]` is readable.
                unsafe { convert::bound(p, len, what) }.map(Some)
            }
        };
        let s = bound(start, start_len, "start")?;
        let e = bound(end, end_len, "end")?;
        h.db.compact_range(s, e)?;
        OK
    })
}

/// Reads the named property (`name`: NUL-terminated): `"kevo.stats"` (a table of statistics:
/// levels, write amplification, stalls, cache and bloom figures), `"kevo.num-files-at-level<N>"`,
/// `"kevo.live-sst-bytes"`, `"kevo.num-snapshots"`, `"kevo.options"` (persisted options, one
/// `name=value` per line). On `KEVO_OK`, `*value` receives a NUL-terminated UTF-8 string the
/// caller frees with `kevo_free`; otherwise `*value` is NULL. An unknown name gives
/// `KEVO_NOT_FOUND`, leaving `*err` untouched.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `db`, a NULL `name` or `value`, a name
/// that is not UTF-8; `KEVO_CLOSED`.
///
/// Thread-safety: any thread, concurrently with any other call on `db`.
#[no_mangle]
pub extern "C" fn kevo_property(
    db: *mut kevo_db,
    name: *const c_char,
    value: *mut *mut c_char,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let value = convert::out(value, "value")?;
        // SAFETY: non-NULL and writable per the caller.
        unsafe { value.write(std::ptr::null_mut()) };
        let h = db_handle(db)?;
        // SAFETY: the caller guarantees `name` is NULL or NUL-terminated.
        let name = unsafe { convert::c_str(name, "name") }?;
        match h.db.property(name)? {
            None => Ok(kevo_status::KEVO_NOT_FOUND),
            Some(text) => {
                let p = convert::malloc_copy(text.as_bytes(), true)?;
                // SAFETY: as above.
                unsafe { value.write(p as *mut c_char) };
                OK
            }
        }
    })
}
