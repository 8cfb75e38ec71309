//! `kevo_backup_engine`: incremental backups of a live database (`kevo::BackupEngine`).

use std::ffi::c_char;
use std::sync::Arc;

use crate::convert;
use crate::db::{db_handle, kevo_db};
use crate::error::{kevo_error, kevo_status, Failure};
use crate::handle::{self, guard, guard_value, Kind, OK};

/// A backup directory opened with `kevo_backup_engine_open`: makes, lists, verifies,
/// restores and deletes incremental backups there (`kevo::BackupEngine`). SSTables are
/// stored once in `shared/` and shared by every backup that contains them; a backup exists
/// once its meta file is written, so an interrupted one leaves nothing a later open does not
/// remove. Released by `kevo_backup_engine_free`.
///
/// Thread-safety: may be used by any number of threads at once. Creations and deletions
/// through one handle take turns; meanwhile they hold the directory's `LOCK`, so another
/// engine on the same directory (in this process or another) gets `KEVO_LOCKED` for its own.
/// Listing, verifying and restoring take no lock and run beside them.
///
/// Lifetime: independent of any `kevo_db`; it holds no database open and no lock between
/// calls, and may be freed in any order with the databases it backed up.
pub struct kevo_backup_engine {
    pub(crate) engine: kevo::BackupEngine,
}

/// One backup, as `kevo_backup_create` made it or `kevo_backup_list` reads it back.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct kevo_backup_info {
    /// The backup's id: 1 for the first, then one above the highest existing.
    pub id: u64,
    /// When it was made, in seconds since the Unix epoch.
    pub timestamp: u64,
    /// Files it contains (SSTables, WAL segments, manifest, `CURRENT`).
    pub num_files: u64,
    /// Bytes of all its files: what a restore writes.
    pub size: u64,
    /// Bytes this backup added to the backup directory (the files not already stored).
    pub new_bytes: u64,
    /// SSTables it shares with an earlier backup instead of storing them again.
    pub files_reused: u64,
    /// Wall-clock time it took to make, in microseconds.
    pub duration_us: u64,
}

impl From<&kevo::BackupInfo> for kevo_backup_info {
    fn from(b: &kevo::BackupInfo) -> kevo_backup_info {
        kevo_backup_info {
            id: b.id,
            timestamp: b.timestamp,
            num_files: b.num_files as u64,
            size: b.size,
            new_bytes: b.new_bytes,
            files_reused: b.files_reused as u64,
            duration_us: u64::try_from(b.duration.as_micros()).unwrap_or(u64::MAX),
        }
    }
}

fn engine_handle(engine: *const kevo_backup_engine) -> Result<Arc<kevo_backup_engine>, Failure> {
    handle::get(Kind::BackupEngine, engine as usize)
}

/// Opens the backup directory `dir` (NUL-terminated UTF-8), creating it and its
/// subdirectories if missing, and removes what an interrupted creation or deletion left
/// there (unless another engine is creating or deleting a backup in it at that moment). On
/// `KEVO_OK`, `*engine` receives a new handle owned by the caller: release it with
/// `kevo_backup_engine_free`. On failure `*engine` is set to NULL.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL `engine`, or a NULL or non-UTF-8 `dir`;
/// `KEVO_IO_ERROR` creating the directories or removing leftovers.
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn kevo_backup_engine_open(
    dir: *const c_char,
    engine: *mut *mut kevo_backup_engine,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let out = convert::out(engine, "engine (the output handle)")?;
        // SAFETY: `out` is non-NULL and the caller guarantees it is writable.
        unsafe { out.write(std::ptr::null_mut()) };
        // SAFETY: the caller guarantees `dir` is NULL or a NUL-terminated string.
        let dir = unsafe { convert::c_str(dir, "dir") }?;
        let e = kevo::BackupEngine::open(dir)?;
        let h = handle::register(
            Kind::BackupEngine,
            Arc::new(kevo_backup_engine { engine: e }),
        );
        // SAFETY: as above.
        unsafe { out.write(h as *mut kevo_backup_engine) };
        OK
    })
}

/// Releases a backup engine. A call another thread is making on it finishes first (it holds
/// its own reference). `kevo_backup_engine_free(NULL)` and freeing a freed handle do nothing.
///
/// Thread-safety: any thread, but `engine` must not be used after this returns.
#[no_mangle]
pub extern "C" fn kevo_backup_engine_free(engine: *mut kevo_backup_engine) {
    guard_value((), || handle::release(Kind::BackupEngine, engine as usize))
}

/// Backs up `db` (writable or read-only) into the engine's directory as a new backup, with
/// the next id: a checkpoint whose SSTables are stored once in `shared/` (a table an earlier
/// backup already stored is reused, not copied) and whose other files go to the backup's
/// private directory. Every write acknowledged before the call is in the backup. On
/// `KEVO_OK`, `*info` (if `info` is not NULL) receives its description; on failure it is
/// zeroed, what the call wrote is removed and earlier backups are untouched.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `engine` or `db`; `KEVO_CLOSED` if
/// `db` was closed; `KEVO_LOCKED` if another engine (this process or another) is creating
/// or deleting a backup in the directory; `KEVO_CORRUPTION` if an existing backup's meta
/// file is unreadable; `KEVO_IO_ERROR` reading the database or writing the backup (e.g. a
/// full disk).
///
/// Thread-safety: any thread, concurrently with any other call on `engine` or `db`
/// (creations and deletions through one engine take turns).
#[no_mangle]
pub extern "C" fn kevo_backup_create(
    engine: *mut kevo_backup_engine,
    db: *mut kevo_db,
    info: *mut kevo_backup_info,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        if !info.is_null() {
            // SAFETY: non-NULL, and the caller guarantees it is writable.
            unsafe { info.write(kevo_backup_info::default()) };
        }
        let e = engine_handle(engine)?;
        let d = db_handle(db)?;
        let made = e.engine.create_backup(&d.db)?;
        if !info.is_null() {
            // SAFETY: as above.
            unsafe { info.write(kevo_backup_info::from(&made)) };
        }
        OK
    })
}

/// Stores in `*count` the number of backups in the engine's directory.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `engine` or a NULL `count`;
/// `KEVO_CORRUPTION` naming a meta file that cannot be parsed; `KEVO_IO_ERROR`.
///
/// Thread-safety: any thread, concurrently with any other call on `engine`.
#[no_mangle]
pub extern "C" fn kevo_backup_count(
    engine: *mut kevo_backup_engine,
    count: *mut usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let out = convert::out(count, "count")?;
        // SAFETY: non-NULL and writable per the caller.
        unsafe { out.write(0) };
        let n = engine_handle(engine)?.engine.list_backups()?.len();
        // SAFETY: as above.
        unsafe { out.write(n) };
        OK
    })
}

/// Describes every backup, ordered by id, into the caller's array `infos` of `capacity`
/// entries (`infos` may be NULL when `capacity` is 0). `*count` always receives the number
/// of backups (0 on other errors). If they fit, `infos[0..*count]` is filled and the result
/// is `KEVO_OK`; if not, nothing is written to `infos` and the result is
/// `KEVO_BUFFER_TOO_SMALL` (call again with at least `*count` entries; `kevo_backup_count`
/// gives the number without an error).
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `engine`, a NULL `count`, or a NULL
/// `infos` with a `capacity` that is not 0; `KEVO_BUFFER_TOO_SMALL` (with an error object);
/// `KEVO_CORRUPTION` naming a meta file that cannot be parsed; `KEVO_IO_ERROR`.
///
/// Thread-safety: any thread, concurrently with any other call on `engine`.
#[no_mangle]
pub extern "C" fn kevo_backup_list(
    engine: *mut kevo_backup_engine,
    infos: *mut kevo_backup_info,
    capacity: usize,
    count: *mut usize,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        let count = convert::out(count, "count")?;
        // SAFETY: non-NULL and writable per the caller.
        unsafe { count.write(0) };
        if infos.is_null() && capacity != 0 {
            return Err(Failure::invalid("infos is NULL but capacity is not 0"));
        }
        let list = engine_handle(engine)?.engine.list_backups()?;
        // SAFETY: as above.
        unsafe { count.write(list.len()) };
        if list.len() > capacity {
            return Err(Failure::new(
                kevo_status::KEVO_BUFFER_TOO_SMALL,
                format!(
                    "there are {} backups, the array holds {capacity}",
                    list.len()
                ),
            ));
        }
        for (i, b) in list.iter().enumerate() {
            // SAFETY: `infos` is non-NULL (capacity >= list.len() > i) and the caller
            // guarantees `capacity` writable entries; `write` needs no initialized target.
            unsafe { infos.add(i).write(kevo_backup_info::from(b)) };
        }
        OK
    })
}

/// Checks every file of backup `id` (present, of its recorded size and xxh64) without
/// restoring it.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `engine`; `KEVO_NOT_FOUND` (with an
/// error object) if there is no backup `id`; `KEVO_CORRUPTION` naming the first file that is
/// missing or differs; `KEVO_IO_ERROR`.
///
/// Thread-safety: any thread, concurrently with any other call on `engine`.
#[no_mangle]
pub extern "C" fn kevo_backup_verify(
    engine: *mut kevo_backup_engine,
    id: u64,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        engine_handle(engine)?.engine.verify(id)?;
        OK
    })
}

/// Writes backup `id` into the directory `target` (NUL-terminated UTF-8; missing or empty)
/// as a database that opens with `kevo_open`: every file is checked against its recorded
/// size and xxh64 while it is copied, `CURRENT` last. On failure the files written are
/// removed (and `target` too if the call created it): no partial database is left.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `engine`, a NULL or non-UTF-8
/// `target`, or a `target` that exists and is not empty (left untouched); `KEVO_NOT_FOUND`
/// (with an error object) if there is no backup `id`; `KEVO_CORRUPTION` naming a file of
/// the backup that is missing or differs from its record; `KEVO_IO_ERROR`.
///
/// Thread-safety: any thread, concurrently with any other call on `engine` (a restore beside
/// a deletion of the same backup may fail with `KEVO_CORRUPTION`, leaving nothing).
#[no_mangle]
pub extern "C" fn kevo_backup_restore(
    engine: *mut kevo_backup_engine,
    id: u64,
    target: *const c_char,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        // SAFETY: the caller guarantees `target` is NULL or a NUL-terminated string.
        let target = unsafe { convert::c_str(target, "target") }?;
        engine_handle(engine)?.engine.restore(id, target)?;
        OK
    })
}

/// `kevo_backup_restore` of the backup with the highest id.
///
/// Errors: `KEVO_NOT_FOUND` (with an error object) if the directory holds no backup;
/// otherwise as `kevo_backup_restore`.
///
/// Thread-safety: as `kevo_backup_restore`.
#[no_mangle]
pub extern "C" fn kevo_backup_restore_latest(
    engine: *mut kevo_backup_engine,
    target: *const c_char,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        // SAFETY: the caller guarantees `target` is NULL or a NUL-terminated string.
        let target = unsafe { convert::c_str(target, "target") }?;
        engine_handle(engine)?.engine.restore_latest(target)?;
        OK
    })
}

/// Deletes backup `id`: its meta file first (from then on it does not exist), then its
/// private files, then the shared SSTables no remaining backup uses. Other backups are
/// unaffected.
///
/// Errors: `KEVO_INVALID_ARGUMENT` for a NULL or stale `engine`; `KEVO_NOT_FOUND` (with an
/// error object) if there is no backup `id`; `KEVO_LOCKED` if another engine (this process
/// or another) is creating or deleting a backup in the directory; `KEVO_CORRUPTION` if
/// another backup's meta file is unreadable (the shared files are then all kept);
/// `KEVO_IO_ERROR`.
///
/// Thread-safety: any thread, concurrently with any other call on `engine` (creations and
/// deletions through one engine take turns).
#[no_mangle]
pub extern "C" fn kevo_backup_delete(
    engine: *mut kevo_backup_engine,
    id: u64,
    err: *mut *mut kevo_error,
) -> kevo_status {
    guard(err, || {
        engine_handle(engine)?.engine.delete_backup(id)?;
        OK
    })
}
