//! `kevo_iter`: a bounded cursor over the database (or over what a transaction sees),
//! forwards and backwards.

use std::sync::Arc;

use kevo::Cursor;
use parking_lot::Mutex;

use crate::convert;
use crate::db::{db_handle, kevo_db};
use crate::error::{kevo_error, kevo_status, Failure};
use crate::handle::{self, guard, guard_value, Kind, OK};
use crate::options::kevo_read_options;

/// A cursor over the keys of a database and their values, as of its creation (or of the
/// read options' snapshot), within the read options' bounds and prefix. Created unpositioned:
/// call a `kevo_iter_seek*` function first. One made by `kevo_txn_iter_new` shows what its
/// transaction sees instead (its snapshot plus its own writes); every `kevo_iter_*` function
/// works on both kinds.
///
/// Thread-safety: meant for one thread at a time. Calls from several threads on one iterator
/// are serialized by an internal lock (not undefined behaviour), but any move — from any
/// thread — invalidates the key and value pointers handed out before it.
///
/// Lifetime: it keeps the engine alive, so it may outlive its `kevo_db` (freed in any order);
/// after `kevo_close` it is no longer valid and its moves and `kevo_iter_status` return
/// `KEVO_CLOSED`.
pub struct kevo_iter {
    db: Arc<kevo_db>,
    it: Mutex<Cursor>,
}

/// Registers a new `kevo_iter` over `cursor`, keeping `db` alive, and returns its handle.
pub(crate) fn register(db: Arc<kevo_db>, cursor: Cursor) -> *mut kevo_iter {
    let obj = Arc::new(kevo_iter {
        db,
        it: Mutex::new(cursor),
    });
    handle::register(Kind::Iter, obj) as *mut kevo_iter
}

fn iter(it: *const kevo_iter) -> Result<Arc<kevo_iter>, Failure> {
    handle::get(Kind::Iter, it as usize)
}

/// Creates an iterator over `db` with `options` (NULL: latest state, no bounds; the options
/// are copied, so they may be freed right after). On `KEVO_OK`, `*iter` receives a handle
/// owned by the caller (free it with `kevo_iter_free`); otherwise NULL.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale handle, a NULL `iter`, a snapshot of
/// another database; `KEVO_CLOSED`; `KEVO_IO_ERROR` / `KEVO_CORRUPTION` opening a table.
///
/// Thread-safety: any thread, concurrently with any other call on `db`.
#[no_mangle]
pub extern "C" fn kevo_iter_new(
    db: *mut kevo_db,
    options: *const kevo_read_options,
    iter: *mut *mut kevo_iter,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let out = convert::out(iter, "iter (the output handle)")?;
        // SAFETY: non-NULL and writable per the caller.
        unsafe { out.write(std::ptr::null_mut()) };
        let h = db_handle(db)?;
        let read = match handle::get_opt::<kevo_read_options>(Kind::ReadOptions, options as usize)?
        {
            Some(o) => o.inner.read().clone(),
            None => kevo::ReadOptions::default(),
        };
        let it = h.db.iter(read)?;
        let p = register(h, Cursor::from(it));
        // SAFETY: as above.
        unsafe { out.write(p) };
        OK
    })
}

/// Frees an iterator (releasing the files it pins). NULL, or an iterator already freed, is
/// ignored. May come before or after `kevo_db_free`.
///
/// Thread-safety: not while another thread uses `iter`.
#[no_mangle]
pub extern "C" fn kevo_iter_free(iter: *mut kevo_iter) {
    guard_value((), || handle::release(Kind::Iter, iter as usize))
}

/// The iterator's status after a move: `KEVO_CLOSED` once the database is closed, else the
/// engine's error if one stopped the iteration, else `KEVO_OK`.
fn status_of(h: &kevo_iter, it: &Cursor) -> Result<kevo_status, Failure> {
    if h.db.db.is_closed() {
        return Err(kevo::Error::Closed.into());
    }
    it.status()?;
    OK
}

/// Runs a move on the iterator behind `iter`; `needs_valid` refuses it on an unpositioned
/// iterator.
fn step(
    iter: *mut kevo_iter,
    err: *mut *mut kevo_error,
    needs_valid: bool,
    f: impl FnOnce(&mut Cursor) -> Result<(), Failure>,
) -> kevo_status {
    guard(err, || {
        let h = self::iter(iter)?;
        let mut it = h.it.lock();
        if needs_valid && !it.valid() {
            status_of(&h, &it)?;
            return Err(Failure::invalid(
                "iterator is not on an entry (check kevo_iter_valid before moving)",
            ));
        }
        f(&mut it)?;
        status_of(&h, &it)
    })
}

/// Moves to the first key at or above the lower bound. Returns the iterator's status after
/// the move (see `kevo_iter_status`); check `kevo_iter_valid` to know if it is on an entry.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `iter`; `KEVO_CLOSED`;
/// `KEVO_IO_ERROR` / `KEVO_CORRUPTION`.
///
/// Thread-safety: one thread at a time per iterator (concurrent calls are serialized by a
/// lock); the move invalidates key and value pointers borrowed before it, whichever thread
/// holds them.
#[no_mangle]
pub extern "C" fn kevo_iter_seek_to_first(
    iter: *mut kevo_iter,
    err: *mut *mut kevo_error,
) -> kevo_status {
    step(iter, err, false, |it| {
        it.seek_to_first();
        Ok(())
    })
}

/// Moves to the last key below the upper bound. Returns the status as
/// `kevo_iter_seek_to_first`.
///
/// Errors: as `kevo_iter_seek_to_first`.
///
/// Thread-safety: one thread at a time per iterator (concurrent calls are serialized by a
/// lock); the move invalidates key and value pointers borrowed before it, whichever thread
/// holds them.
#[no_mangle]
pub extern "C" fn kevo_iter_seek_to_last(
    iter: *mut kevo_iter,
    err: *mut *mut kevo_error,
) -> kevo_status {
    step(iter, err, false, |it| {
        it.seek_to_last();
        Ok(())
    })
}

/// Moves to the first key `>= key` (clamped to the bounds). `key` is only read during the
/// call; it may be empty (NULL with 0).
///
/// Errors: as `kevo_iter_seek_to_first`; `KEVO_INVALID_ARGUMENT` for a NULL `key` with a
/// non-zero length or a key over {{max_key_size}} bytes.
///
/// Thread-safety: one thread at a time per iterator (concurrent calls are serialized by a
/// lock); the move invalidates key and value pointers borrowed before it, whichever thread
/// holds them.
#[no_mangle]
pub extern "C" fn kevo_iter_seek(
    iter: *mut kevo_iter,
    key: *const u8,
    key_len: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    step(iter, err, false, |it| {
        // SAFETY: the caller guarantees `key[0..key_len]` is readable.
        let k = unsafe { convert::bound(key, key_len, "key") }?;
        it.seek(k);
        Ok(())
    })
}

/// Moves to the last key `<= key` (clamped to the bounds). `key` as in `kevo_iter_seek`.
///
/// Errors: as `kevo_iter_seek`.
///
/// Thread-safety: one thread at a time per iterator (concurrent calls are serialized by a
/// lock); the move invalidates key and value pointers borrowed before it, whichever thread
/// holds them.
#[no_mangle]
pub extern "C" fn kevo_iter_seek_for_prev(
    iter: *mut kevo_iter,
    key: *const u8,
    key_len: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    step(iter, err, false, |it| {
        // SAFETY: the caller guarantees `key[0..key_len]` is readable.
        let k = unsafe { convert::bound(key, key_len, "key") }?;
        it.seek_for_prev(k);
        Ok(())
    })
}

/// Moves to the next key. The iterator must be valid.
///
/// Errors: as `kevo_iter_seek_to_first`; `KEVO_INVALID_ARGUMENT` if the iterator is not on an
/// entry.
///
/// Thread-safety: one thread at a time per iterator (concurrent calls are serialized by a
/// lock); the move invalidates key and value pointers borrowed before it, whichever thread
/// holds them.
#[no_mangle]
pub extern "C" fn kevo_iter_next(iter: *mut kevo_iter, err: *mut *mut kevo_error) -> kevo_status {
    step(iter, err, true, |it| {
        it.next();
        Ok(())
    })
}

/// Moves to the previous key. The iterator must be valid.
///
/// Errors: as `kevo_iter_next`.
///
/// Thread-safety: one thread at a time per iterator (concurrent calls are serialized by a
/// lock); the move invalidates key and value pointers borrowed before it, whichever thread
/// holds them.
#[no_mangle]
pub extern "C" fn kevo_iter_prev(iter: *mut kevo_iter, err: *mut *mut kevo_error) -> kevo_status {
    step(iter, err, true, |it| {
        it.prev();
        Ok(())
    })
}

/// True if the iterator is on an entry. False at either end of the range, after an error
/// (see `kevo_iter_status`), once the database is closed, and for a NULL or stale `iter`.
///
/// Thread-safety: one thread at a time per iterator (concurrent calls are serialized by a
/// lock); a move from another thread invalidates what this returned.
#[no_mangle]
pub extern "C" fn kevo_iter_valid(iter: *const kevo_iter) -> bool {
    guard_value(false, || {
        self::iter(iter).is_ok_and(|h| !h.db.db.is_closed() && h.it.lock().valid())
    })
}

/// Borrows the current key or value.
fn borrow(
    iter: *const kevo_iter,
    data: *mut *const u8,
    len: *mut usize,
    err: *mut *mut kevo_error,
    value: bool,
) -> kevo_status {
    guard(err, || {
        let data = convert::out(data, if value { "value" } else { "key" })?;
        let len = convert::out(len, if value { "value_len" } else { "key_len" })?;
        // SAFETY: both non-NULL and writable per the caller.
        unsafe {
            data.write(std::ptr::null());
            len.write(0);
        }
        let h = self::iter(iter)?;
        let it = h.it.lock();
        if h.db.db.is_closed() {
            return Err(kevo::Error::Closed.into());
        }
        if !it.valid() {
            return Err(Failure::invalid(
                "iterator is not on an entry (check kevo_iter_valid)",
            ));
        }
        let bytes = if value { it.value() } else { it.key() };
        // SAFETY: as above. The bytes live in the iterator, which the registry keeps alive
        // until `kevo_iter_free`, and stay put until its next move.
        unsafe {
            data.write(bytes.as_ptr());
            len.write(bytes.len());
        }
        OK
    })
}

/// Borrows the current key: `*key` points into the iterator and stays valid until the
/// iterator's next move or `kevo_iter_free` (do not free it); `*key_len` is its length. On
/// error `*key` is NULL and `*key_len` 0.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `iter`, a NULL `key` or `key_len`, or
/// an iterator not on an entry; `KEVO_CLOSED`.
///
/// Thread-safety: one thread at a time per iterator (concurrent calls are serialized by a
/// lock); a move from another thread invalidates what this returned.
#[no_mangle]
pub extern "C" fn kevo_iter_key(
    iter: *const kevo_iter,
    key: *mut *const u8,
    key_len: *mut usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    borrow(iter, key, key_len, err, false)
}

/// Borrows the current value, as `kevo_iter_key` does the key (an empty value gives a
/// non-NULL pointer and length 0).
///
/// Errors: as `kevo_iter_key`.
///
/// Thread-safety: one thread at a time per iterator (concurrent calls are serialized by a
/// lock); a move from another thread invalidates what this returned.
#[no_mangle]
pub extern "C" fn kevo_iter_value(
    iter: *const kevo_iter,
    value: *mut *const u8,
    value_len: *mut usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    borrow(iter, value, value_len, err, true)
}

/// `KEVO_OK` unless something stopped the iteration: after `kevo_iter_valid` turns false,
/// this tells the end of the range (`KEVO_OK`) from a failure.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `iter`; `KEVO_CLOSED` once the
/// database is closed; `KEVO_IO_ERROR` / `KEVO_CORRUPTION` from the files read.
///
/// Thread-safety: one thread at a time per iterator (concurrent calls are serialized by a
/// lock); a move from another thread invalidates what this returned.
#[no_mangle]
pub extern "C" fn kevo_iter_status(
    iter: *const kevo_iter,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let h = self::iter(iter)?;
        let it = h.it.lock();
        status_of(&h, &it)
    })
}
