//! Backups through the C ABI: create, list, verify, restore, delete; NULL, stale and wrongly
//! typed handles, closed databases; a damaged shared file; a held directory lock.

use std::ffi::{c_char, CString};
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::ptr::{null, null_mut};

use super::{get, message, open_temp, put};
use crate::handle::{self, Kind};
use crate::kevo_status::*;
use crate::*;

fn c_path(p: &Path) -> CString {
    CString::new(p.to_str().unwrap()).unwrap()
}

fn open_engine(dir: &Path) -> *mut kevo_backup_engine {
    let mut e = null_mut();
    assert_eq!(
        kevo_backup_engine_open(c_path(dir).as_ptr(), &mut e, null_mut()),
        KEVO_OK
    );
    assert!(!e.is_null());
    e
}

fn create(e: *mut kevo_backup_engine, db: *mut kevo_db) -> kevo_backup_info {
    let mut info = kevo_backup_info::default();
    let mut err = null_mut();
    let s = kevo_backup_create(e, db, &mut info, &mut err);
    assert_eq!(s, KEVO_OK, "{}", message(err));
    info
}

fn list(e: *mut kevo_backup_engine) -> Vec<kevo_backup_info> {
    let mut n = 0usize;
    assert_eq!(kevo_backup_count(e, &mut n, null_mut()), KEVO_OK);
    let mut out = vec![kevo_backup_info::default(); n];
    let mut len = usize::MAX;
    assert_eq!(
        kevo_backup_list(e, out.as_mut_ptr(), out.len(), &mut len, null_mut()),
        KEVO_OK
    );
    assert_eq!(len, n);
    out
}

/// Opens the database in `dir`, reads `key`, closes it.
fn read_restored(dir: &Path, key: &[u8]) -> Result<Vec<u8>, kevo_status> {
    let mut db = null_mut();
    assert_eq!(
        kevo_open(c_path(dir).as_ptr(), null(), &mut db, null_mut()),
        KEVO_OK
    );
    let v = get(db, null(), key);
    assert_eq!(kevo_close(db, null_mut()), KEVO_OK);
    kevo_db_free(db);
    v
}

#[test]
fn create_list_verify_restore_delete() {
    let t = open_temp();
    let work = tempfile::tempdir().unwrap();
    let e = open_engine(&work.path().join("backups"));
    assert!(handle::is_live(Kind::BackupEngine, e as usize));

    assert_eq!(put(t.db, b"a", b"1"), KEVO_OK);
    assert_eq!(kevo_flush(t.db, null_mut()), KEVO_OK);
    let first = create(e, t.db);
    assert_eq!(first.id, 1);
    assert!(first.num_files >= 3, "{first:?}"); // a table, a manifest, CURRENT
    assert!(first.size > 0 && first.new_bytes == first.size, "{first:?}");
    assert_eq!(first.files_reused, 0);
    assert!(first.timestamp > 1_600_000_000, "{first:?}");

    assert_eq!(put(t.db, b"a", b"2"), KEVO_OK);
    assert_eq!(put(t.db, b"b", b"3"), KEVO_OK);
    assert_eq!(kevo_flush(t.db, null_mut()), KEVO_OK);
    let second = create(e, t.db);
    assert_eq!(second.id, 2);
    assert!(second.files_reused >= 1, "{second:?}");
    assert!(second.new_bytes < second.size, "{second:?}");

    // Listing gives back what creating returned (the durations as recorded, in µs).
    assert_eq!(list(e), vec![first, second]);

    // Too small an array: nothing written, the number needed in *count.
    let mut one = [kevo_backup_info::default(); 1];
    let (mut n, mut err) = (0usize, null_mut());
    assert_eq!(
        kevo_backup_list(e, one.as_mut_ptr(), 1, &mut n, &mut err),
        KEVO_BUFFER_TOO_SMALL
    );
    assert_eq!(n, 2);
    assert_eq!(one[0], kevo_backup_info::default());
    assert!(message(err).contains("2 backups"), "{}", message(err));
    assert_eq!(
        kevo_backup_list(e, null_mut(), 0, &mut n, &mut err),
        KEVO_BUFFER_TOO_SMALL
    );
    assert_eq!(n, 2);

    assert_eq!(kevo_backup_verify(e, 1, null_mut()), KEVO_OK);
    assert_eq!(kevo_backup_verify(e, 2, null_mut()), KEVO_OK);

    let r1 = work.path().join("r1");
    assert_eq!(
        kevo_backup_restore(e, 1, c_path(&r1).as_ptr(), null_mut()),
        KEVO_OK
    );
    assert_eq!(read_restored(&r1, b"a"), Ok(b"1".to_vec()));
    assert_eq!(read_restored(&r1, b"b"), Err(KEVO_NOT_FOUND));
    // A non-empty target is refused.
    assert_eq!(
        kevo_backup_restore(e, 1, c_path(&r1).as_ptr(), &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert!(message(err).contains("not empty"), "{}", message(err));

    // Backup 1 deleted: backup 2 still restores (its shared table with 1 is kept).
    assert_eq!(kevo_backup_delete(e, 1, null_mut()), KEVO_OK);
    assert_eq!(list(e), vec![second]);
    assert_eq!(kevo_backup_verify(e, 1, &mut err), KEVO_NOT_FOUND);
    assert_eq!(kevo_error_code(err), KEVO_NOT_FOUND);
    assert_eq!(kevo_backup_delete(e, 1, &mut err), KEVO_NOT_FOUND);
    let missing = work.path().join("missing");
    assert_eq!(
        kevo_backup_restore(e, 1, c_path(&missing).as_ptr(), &mut err),
        KEVO_NOT_FOUND
    );
    assert!(!missing.exists());
    let latest = work.path().join("latest");
    assert_eq!(
        kevo_backup_restore_latest(e, c_path(&latest).as_ptr(), null_mut()),
        KEVO_OK
    );
    assert_eq!(read_restored(&latest, b"a"), Ok(b"2".to_vec()));
    assert_eq!(read_restored(&latest, b"b"), Ok(b"3".to_vec()));
    assert_eq!(kevo_backup_verify(e, 2, null_mut()), KEVO_OK);

    // The engine is independent of the database: free order does not matter.
    kevo_db_free(t.db);
    assert_eq!(kevo_backup_verify(e, 2, null_mut()), KEVO_OK);
    kevo_backup_engine_free(e);
    assert!(!handle::is_live(Kind::BackupEngine, e as usize));
    kevo_error_free(err);
}

#[test]
fn restore_latest_of_an_empty_directory_is_not_found() {
    let work = tempfile::tempdir().unwrap();
    let e = open_engine(&work.path().join("backups"));
    assert!(list(e).is_empty());
    let target = work.path().join("target");
    let mut err = null_mut();
    assert_eq!(
        kevo_backup_restore_latest(e, c_path(&target).as_ptr(), &mut err),
        KEVO_NOT_FOUND
    );
    assert!(!err.is_null());
    assert_eq!(kevo_error_code(err), KEVO_NOT_FOUND);
    assert!(!target.exists());
    kevo_error_free(err);
    kevo_backup_engine_free(e);
}

#[test]
fn null_stale_and_wrong_handles_and_bad_paths() {
    let t = open_temp();
    let work = tempfile::tempdir().unwrap();
    let dir = c_path(&work.path().join("backups"));
    let target = c_path(&work.path().join("target"));
    let bad_utf8: &[u8] = b"/tmp/\xff\xfe\0";
    let bad = bad_utf8.as_ptr() as *const c_char;
    let mut err = null_mut();

    // Opening.
    let mut e = std::ptr::NonNull::<kevo_backup_engine>::dangling().as_ptr();
    assert_eq!(
        kevo_backup_engine_open(null(), &mut e, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert!(e.is_null());
    assert!(
        message(err).contains("dir must not be NULL"),
        "{}",
        message(err)
    );
    assert_eq!(
        kevo_backup_engine_open(bad, &mut e, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert!(message(err).contains("not valid UTF-8"), "{}", message(err));
    assert_eq!(
        kevo_backup_engine_open(dir.as_ptr(), null_mut(), &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_backup_engine_open(dir.as_ptr(), &mut e, null_mut()),
        KEVO_OK
    );

    // A NULL engine, everywhere.
    let (mut info, mut n) = (kevo_backup_info::default(), 7usize);
    assert_eq!(
        kevo_backup_create(null_mut(), t.db, &mut info, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert!(
        message(err).contains("kevo_backup_engine handle is NULL"),
        "{}",
        message(err)
    );
    assert_eq!(
        kevo_backup_count(null_mut(), &mut n, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(n, 0);
    assert_eq!(
        kevo_backup_list(null_mut(), &mut info, 1, &mut n, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_backup_verify(null_mut(), 1, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_backup_restore(null_mut(), 1, target.as_ptr(), &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_backup_restore_latest(null_mut(), target.as_ptr(), &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_backup_delete(null_mut(), 1, &mut err),
        KEVO_INVALID_ARGUMENT
    );

    // NULL and bad other arguments.
    assert_eq!(
        kevo_backup_create(e, null_mut(), &mut info, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert!(
        message(err).contains("kevo_db handle is NULL"),
        "{}",
        message(err)
    );
    assert_eq!(
        kevo_backup_count(e, null_mut(), &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_backup_list(e, null_mut(), 0, null_mut(), &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_backup_list(e, null_mut(), 3, &mut n, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert!(message(err).contains("infos is NULL"), "{}", message(err));
    assert_eq!(
        kevo_backup_list(e, null_mut(), 0, &mut n, &mut err),
        KEVO_OK
    );
    assert_eq!(n, 0);
    assert_eq!(
        kevo_backup_restore(e, 1, null(), &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_backup_restore(e, 1, bad, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert!(message(err).contains("not valid UTF-8"), "{}", message(err));
    assert_eq!(
        kevo_backup_restore_latest(e, null(), &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(
        kevo_backup_restore_latest(e, bad, &mut err),
        KEVO_INVALID_ARGUMENT
    );

    // `info` is optional.
    assert_eq!(put(t.db, b"k", b"v"), KEVO_OK);
    assert_eq!(kevo_backup_create(e, t.db, null_mut(), &mut err), KEVO_OK);

    // Wrongly typed handles, both ways.
    assert_eq!(
        kevo_backup_verify(t.db.cast(), 1, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert!(message(err).contains("it is a kevo_db"), "{}", message(err));
    assert_eq!(kevo_flush(e.cast(), &mut err), KEVO_INVALID_ARGUMENT);
    assert!(
        message(err).contains("it is a kevo_backup_engine"),
        "{}",
        message(err)
    );
    kevo_db_free(e.cast()); // not a kevo_db: ignored
    assert!(handle::is_live(Kind::BackupEngine, e as usize));

    // A closed database, then a freed one.
    assert_eq!(kevo_close(t.db, null_mut()), KEVO_OK);
    info.id = 99;
    assert_eq!(
        kevo_backup_create(e, t.db, &mut info, &mut err),
        KEVO_CLOSED
    );
    assert_eq!(kevo_error_code(err), KEVO_CLOSED);
    assert_eq!(info, kevo_backup_info::default());
    kevo_db_free(t.db);
    assert_eq!(
        kevo_backup_create(e, t.db, &mut info, &mut err),
        KEVO_INVALID_ARGUMENT
    );
    assert_eq!(list(e).len(), 1);

    // Freed: a stale handle, a second free, free(NULL).
    kevo_backup_engine_free(e);
    assert_eq!(kevo_backup_verify(e, 1, &mut err), KEVO_INVALID_ARGUMENT);
    assert!(
        message(err).contains("not a live kevo_backup_engine"),
        "{}",
        message(err)
    );
    kevo_backup_engine_free(e);
    kevo_backup_engine_free(null_mut());
    kevo_error_free(err);
}

#[test]
fn a_flipped_byte_in_a_shared_file_is_corruption() {
    let t = open_temp();
    let work = tempfile::tempdir().unwrap();
    let backups = work.path().join("backups");
    let e = open_engine(&backups);
    for i in 0..100u32 {
        let k = format!("key{i:03}");
        assert_eq!(put(t.db, k.as_bytes(), b"some value"), KEVO_OK);
    }
    assert_eq!(kevo_flush(t.db, null_mut()), KEVO_OK);
    create(e, t.db);
    assert_eq!(kevo_backup_verify(e, 1, null_mut()), KEVO_OK);

    let shared: Vec<_> = std::fs::read_dir(backups.join("shared"))
        .unwrap()
        .map(|d| d.unwrap().path())
        .collect();
    assert_eq!(shared.len(), 1, "{shared:?}");
    let mut bytes = std::fs::read(&shared[0]).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&shared[0], &bytes).unwrap();

    let mut err = null_mut();
    assert_eq!(kevo_backup_verify(e, 1, &mut err), KEVO_CORRUPTION);
    assert_eq!(kevo_error_code(err), KEVO_CORRUPTION);
    assert!(message(err).contains("xxh64"), "{}", message(err));
    let target = work.path().join("target");
    assert_eq!(
        kevo_backup_restore(e, 1, c_path(&target).as_ptr(), &mut err),
        KEVO_CORRUPTION
    );
    assert!(!target.exists(), "a failed restore leaves nothing");
    assert_eq!(
        kevo_backup_restore_latest(e, c_path(&target).as_ptr(), &mut err),
        KEVO_CORRUPTION
    );
    assert!(!target.exists());

    // A missing shared file is corruption too.
    std::fs::remove_file(&shared[0]).unwrap();
    assert_eq!(kevo_backup_verify(e, 1, &mut err), KEVO_CORRUPTION);
    assert!(message(err).contains("missing"), "{}", message(err));

    kevo_error_free(err);
    kevo_backup_engine_free(e);
    kevo_db_free(t.db);
}

#[test]
fn a_held_directory_lock_is_locked() {
    let t = open_temp();
    let work = tempfile::tempdir().unwrap();
    let backups = work.path().join("backups");
    let e = open_engine(&backups);
    assert_eq!(put(t.db, b"k", b"v"), KEVO_OK);
    create(e, t.db);

    // As another process creating a backup would hold it.
    let lock = std::fs::File::create(backups.join("LOCK")).unwrap();
    // SAFETY: flock on a file descriptor this test owns.
    assert_eq!(
        unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
        0
    );
    let mut err = null_mut();
    assert_eq!(
        kevo_backup_create(e, t.db, null_mut(), &mut err),
        KEVO_LOCKED
    );
    assert_eq!(kevo_error_code(err), KEVO_LOCKED);
    assert_eq!(kevo_backup_delete(e, 1, &mut err), KEVO_LOCKED);
    // Reading takes no lock.
    assert_eq!(kevo_backup_verify(e, 1, null_mut()), KEVO_OK);
    assert_eq!(list(e).len(), 1);
    drop(lock);
    assert_eq!(kevo_backup_delete(e, 1, null_mut()), KEVO_OK);

    kevo_error_free(err);
    kevo_backup_engine_free(e);
    kevo_db_free(t.db);
}
