//! `kevo_snapshot`: a point-in-time view, used through `kevo_read_options_set_snapshot`.

use std::sync::Arc;

use crate::convert;
use crate::db::{db_handle, kevo_db};
use crate::error::{kevo_error, kevo_status};
use crate::handle::{self, guard, guard_value, Kind, OK};

/// A consistent view of a database as of the moment it was taken. Reads given it (through
/// `kevo_read_options_set_snapshot`) do not see later writes. Holding one keeps the older
/// versions of keys it can see from being compacted away: free it when done.
///
/// Thread-safety: immutable; may be shared by any number of threads.
///
/// Lifetime: it keeps the engine alive, so it may outlive its `kevo_db` (freed in any order);
/// reads through it after `kevo_close` return `KEVO_CLOSED`.
pub struct kevo_snapshot {
    pub(crate) snapshot: kevo::Snapshot,
}

/// Takes a snapshot of `db` as of now. On `KEVO_OK`, `*snapshot` receives a handle owned by
/// the caller (free it with `kevo_snapshot_free`); otherwise NULL.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `db` or a NULL `snapshot`;
/// `KEVO_CLOSED`.
///
/// Thread-safety: any thread, concurrently with any other call on `db`.
#[no_mangle]
pub extern "C" fn kevo_snapshot_new(
    db: *mut kevo_db,
    snapshot: *mut *mut kevo_snapshot,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let out = convert::out(snapshot, "snapshot (the output handle)")?;
        // SAFETY: non-NULL and writable per the caller.
        unsafe { out.write(std::ptr::null_mut()) };
        let snap = db_handle(db)?.db.snapshot()?;
        let h = handle::register(Kind::Snapshot, Arc::new(kevo_snapshot { snapshot: snap }));
        // SAFETY: as above.
        unsafe { out.write(h as *mut kevo_snapshot) };
        OK
    })
}

/// Releases a snapshot. Read options and iterators that use it keep their own reference, so
/// they stay valid. NULL, or a snapshot already freed, is ignored.
///
/// Thread-safety: not while another thread uses `snapshot`.
#[no_mangle]
pub extern "C" fn kevo_snapshot_free(snapshot: *mut kevo_snapshot) {
    guard_value((), || handle::release(Kind::Snapshot, snapshot as usize))
}

/// Stores in `*sequence` the sequence number the snapshot reads at (that of the newest write
/// it sees; 0 for an empty database).
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `snapshot` or a NULL `sequence`.
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn kevo_snapshot_sequence(
    snapshot: *const kevo_snapshot,
    sequence: *mut u64,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let out = convert::out(sequence, "sequence")?;
        let s: Arc<kevo_snapshot> = handle::get(Kind::Snapshot, snapshot as usize)?;
        // SAFETY: non-NULL and writable per the caller.
        unsafe { out.write(s.snapshot.sequence()) };
        OK
    })
}
