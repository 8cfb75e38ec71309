//! `kevo_batch`: puts and deletes applied atomically by `kevo_write`.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::convert;
use crate::error::{kevo_error, kevo_status, Failure};
use crate::handle::{self, guard, guard_value, Kind, OK};

/// An ordered group of puts and deletes, applied atomically by `kevo_write` (later operations
/// on the same key win). Not tied to a database: one batch may be written to several.
///
/// Thread-safety: meant for one thread at a time. Calls from several threads on the same
/// batch are serialized by an internal lock (not undefined behaviour), but their order is
/// not specified.
pub struct kevo_batch {
    pub(crate) inner: Mutex<kevo::WriteBatch>,
}

fn batch(b: *const kevo_batch) -> Result<Arc<kevo_batch>, Failure> {
    handle::get(Kind::Batch, b as usize)
}

/// A new, empty batch, owned by the caller: free it with `kevo_batch_free`. Returns NULL
/// only on an internal error.
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn kevo_batch_new() -> *mut kevo_batch {
    guard_value(std::ptr::null_mut(), || {
        let b = Arc::new(kevo_batch {
            inner: Mutex::new(kevo::WriteBatch::new()),
        });
        handle::register(Kind::Batch, b) as *mut kevo_batch
    })
}

/// Frees a batch (without writing it). NULL, or a batch already freed, is ignored.
///
/// Thread-safety: not while another thread uses `batch`.
#[no_mangle]
pub extern "C" fn kevo_batch_free(batch: *mut kevo_batch) {
    guard_value((), || handle::release(Kind::Batch, batch as usize))
}

/// Adds `key = value` (both copied; same limits as `kevo_put`). On error the batch is
/// unchanged.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `batch`, a NULL `key`, an empty or
/// oversized key, an oversized value.
///
/// Thread-safety: one thread at a time per batch (concurrent calls are serialized by a lock, in
/// no specified order).
#[no_mangle]
pub extern "C" fn kevo_batch_put(
    batch: *mut kevo_batch,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let b = self::batch(batch)?;
        // SAFETY: the caller guarantees the buffers are readable for their lengths.
        let (k, v) = unsafe {
            (
                convert::key(key, key_len)?,
                convert::value(value, value_len)?,
            )
        };
        b.inner.lock().put(k, v)?;
        OK
    })
}

/// Adds a deletion of `key` (copied; 1 to {{max_key_size}} bytes). On error the batch is
/// unchanged.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `batch`, a NULL `key`, an empty or
/// oversized key.
///
/// Thread-safety: one thread at a time per batch (concurrent calls are serialized by a lock, in
/// no specified order).
#[no_mangle]
pub extern "C" fn kevo_batch_delete(
    batch: *mut kevo_batch,
    key: *const u8,
    key_len: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let b = self::batch(batch)?;
        // SAFETY: the caller guarantees `key[0..key_len]` is readable.
        let k = unsafe { convert::key(key, key_len) }?;
        b.inner.lock().delete(k)?;
        OK
    })
}

/// Adds a deletion of every key in `[start, end)` (bytewise; bounds copied, at most
/// {{max_key_size}} bytes each, `start` may be empty; see `kevo_delete_range`). Operations
/// added after it in the batch win over it. On error the batch is unchanged.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `batch`, `start` after `end`, an
/// oversized bound, or a NULL pointer with a nonzero length.
///
/// Thread-safety: one thread at a time per batch (concurrent calls are serialized by a lock, in
/// no specified order).
#[no_mangle]
pub extern "C" fn kevo_batch_delete_range(
    batch: *mut kevo_batch,
    start: *const u8,
    start_len: usize,
    end: *const u8,
    end_len: usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let b = self::batch(batch)?;
        // SAFETY: the caller guarantees the buffers are readable for their lengths.
        let (a, e) = unsafe {
            (
                convert::bound(start, start_len, "range start")?,
                convert::bound(end, end_len, "range end")?,
            )
        };
        b.inner.lock().delete_range(a, e)?;
        OK
    })
}

/// Removes every operation from the batch.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `batch`.
///
/// Thread-safety: one thread at a time per batch (concurrent calls are serialized by a lock, in
/// no specified order).
#[no_mangle]
pub extern "C" fn kevo_batch_clear(
    batch: *mut kevo_batch,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        self::batch(batch)?.inner.lock().clear();
        OK
    })
}

/// Stores the number of operations in the batch in `*count`.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `batch` or a NULL `count`.
///
/// Thread-safety: one thread at a time per batch (concurrent calls are serialized by a lock, in
/// no specified order).
#[no_mangle]
pub extern "C" fn kevo_batch_count(
    batch: *const kevo_batch,
    count: *mut usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let count = convert::out(count, "count")?;
        let n = self::batch(batch)?.inner.lock().count() as usize;
        // SAFETY: non-NULL and writable per the caller.
        unsafe { count.write(n) };
        OK
    })
}
