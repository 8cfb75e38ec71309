//! Status codes and error objects: how every fallible call reports what happened.
//!
//! A fallible function returns a [`kevo_status`]; its optional last argument `kevo_error **err`
//! receives, on failure, an owned [`kevo_error`] with the same code and a UTF-8 message.

use std::ffi::{c_char, CString};
use std::sync::Arc;

use crate::handle::{self, Kind};

/// The result of a call. The values are part of the ABI: they never change, and new codes are
/// only ever appended.
///
/// `KEVO_NOT_FOUND` is a status, not an error, when a key is absent (`kevo_get`, or an
/// unknown name in `kevo_property`): `*err` is then left untouched. `kevo_open` also returns
/// it, with an error object, when the database does not exist and `create_if_missing` is
/// false; the `kevo_backup_*` calls, with an error object, for an unknown backup id or an
/// empty backup directory.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum kevo_status {
    /// Success.
    KEVO_OK = 0,
    /// The key (or property) does not exist; or, from `kevo_open`, the database does not; or,
    /// from the `kevo_backup_*` calls, the backup does not.
    KEVO_NOT_FOUND = 1,
    /// A NULL or stale handle, a NULL required pointer, an empty or oversized key, an
    /// oversized value, an out-of-range option, an unpositioned iterator, a transaction
    /// already committed or rolled back.
    KEVO_INVALID_ARGUMENT = 2,
    /// An operating-system I/O call failed (the message names the operation and file).
    KEVO_IO_ERROR = 3,
    /// Stored data failed a check (the message names the file and offset).
    KEVO_CORRUPTION = 4,
    /// The database directory is open elsewhere, in this process or another.
    KEVO_LOCKED = 5,
    /// The database was closed with `kevo_close` (or stopped after a fatal error).
    KEVO_CLOSED = 6,
    /// A background flush or compaction failed; the database is read-only until reopened.
    KEVO_BACKGROUND_ERROR = 7,
    /// `kevo_get_into`: the caller's buffer is shorter than the value (nothing was copied;
    /// `*value_len` holds the length needed).
    KEVO_BUFFER_TOO_SMALL = 8,
    /// A bug inside kevo (a caught Rust panic); the message says where. The handles involved
    /// stay safe to free.
    KEVO_INTERNAL = 9,
    /// `kevo_txn_commit`: another commit since the transaction's snapshot wrote a key this
    /// transaction wrote (or, serializable, a key or range it read). Nothing was written and
    /// the transaction is finished: retry it from `kevo_txn_begin`.
    KEVO_CONFLICT = 10,
    /// A write, flush or compaction on a database opened read-only
    /// (`kevo_options_set_read_only`). Nothing was written.
    KEVO_READ_ONLY = 11,
}

use kevo_status::*;

/// An error: a status code and a message. Opaque; read it with `kevo_error_code` and
/// `kevo_error_message`, release it with `kevo_error_free`. Owned by the caller that received
/// it; immutable, so it may be read from any thread.
pub struct kevo_error {
    code: kevo_status,
    message: CString,
}

/// A failure inside the glue: the status to return and the message of its error object.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: kevo_status,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(code: kevo_status, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Failure {
        Failure::new(KEVO_INVALID_ARGUMENT, message)
    }
}

impl From<kevo::Error> for Failure {
    fn from(e: kevo::Error) -> Failure {
        Failure::new(status_of(&e), e.to_string())
    }
}

/// The status for an engine error.
///
/// Every variant the engine has today is listed. `kevo::Error` is `#[non_exhaustive]`, so
/// Rust requires a wildcard arm outside its crate: a variant added later maps to
/// `KEVO_INTERNAL` (with its message) until it is given its own status here, appended to
/// [`kevo_status`].
pub(crate) fn status_of(e: &kevo::Error) -> kevo_status {
    match e {
        kevo::Error::Io { .. } => KEVO_IO_ERROR,
        kevo::Error::Corruption { .. } => KEVO_CORRUPTION,
        kevo::Error::InvalidArgument(_) => KEVO_INVALID_ARGUMENT,
        kevo::Error::Locked(_) => KEVO_LOCKED,
        kevo::Error::Closed => KEVO_CLOSED,
        kevo::Error::NotFound(_) => KEVO_NOT_FOUND,
        kevo::Error::Background(_) => KEVO_BACKGROUND_ERROR,
        kevo::Error::Conflict(_) => KEVO_CONFLICT,
        kevo::Error::ReadOnly(_) => KEVO_READ_ONLY,
        _ => KEVO_INTERNAL,
    }
}

impl kevo_status {
    /// The status numbered `code`, if the ABI defines one.
    pub(crate) fn from_code(code: u32) -> Option<kevo_status> {
        [
            KEVO_OK,
            KEVO_NOT_FOUND,
            KEVO_INVALID_ARGUMENT,
            KEVO_IO_ERROR,
            KEVO_CORRUPTION,
            KEVO_LOCKED,
            KEVO_CLOSED,
            KEVO_BACKGROUND_ERROR,
            KEVO_BUFFER_TOO_SMALL,
            KEVO_INTERNAL,
            KEVO_CONFLICT,
            KEVO_READ_ONLY,
        ]
        .into_iter()
        .find(|s| *s as u32 == code)
    }
}

/// Removes the live error object `e` from the registry (freeing it) and returns its message;
/// `None` if `e` is NULL or not a live error.
pub(crate) fn take_message(e: *mut kevo_error) -> Option<String> {
    let obj = handle::take(Kind::Error, e as usize)?;
    let e = obj.downcast::<kevo_error>().ok()?;
    Some(e.message.to_string_lossy().into_owned())
}

/// Stores a new error object for `f` in `*err` (if `err` is not NULL), freeing the live error
/// `*err` may already hold. Returns the status.
///
/// # Safety
/// `err` is NULL or valid for reads and writes of one pointer.
pub(crate) unsafe fn report(err: *mut *mut kevo_error, f: Failure) -> kevo_status {
    if err.is_null() {
        return f.code;
    }
    // An interior NUL cannot be represented in a C string: show it as U+2400.
    let message = CString::new(f.message.replace('\0', "\u{2400}"))
        .unwrap_or_else(|_| CString::from(c"(message lost)"));
    let obj = Arc::new(kevo_error {
        code: f.code,
        message,
    });
    let ptr = handle::register(Kind::Error, obj);
    // SAFETY: the caller guarantees `err` is valid for reads and writes.
    let old = unsafe { err.read() };
    if !old.is_null() {
        handle::release(Kind::Error, old as usize);
    }
    // SAFETY: as above.
    unsafe { err.write(ptr as *mut kevo_error) };
    f.code
}

/// The status code of `error` (`KEVO_INVALID_ARGUMENT` if `error` is NULL or not a live error).
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn kevo_error_code(error: *const kevo_error) -> kevo_status {
    crate::handle::guard_value(KEVO_INTERNAL, || {
        match handle::get::<kevo_error>(Kind::Error, error as usize) {
            Ok(e) => e.code,
            Err(f) => f.code,
        }
    })
}

/// The message of `error`: NUL-terminated UTF-8, owned by the error and valid until
/// `kevo_error_free(error)`. For a NULL or stale `error`, a static string saying so.
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn kevo_error_message(error: *const kevo_error) -> *const c_char {
    crate::handle::guard_value(c"kevo: internal error".as_ptr(), || {
        match handle::get::<kevo_error>(Kind::Error, error as usize) {
            // The registry holds the other reference, so the message outlives this `Arc`.
            Ok(e) => e.message.as_ptr(),
            Err(_) => c"kevo: not a live kevo_error".as_ptr(),
        }
    })
}

/// Frees `error`. `kevo_error_free(NULL)` and freeing an already freed error do nothing.
///
/// Thread-safety: any thread, but not while another thread reads the same error's message.
#[no_mangle]
pub extern "C" fn kevo_error_free(error: *mut kevo_error) {
    crate::handle::guard_value((), || handle::release(Kind::Error, error as usize))
}

/// A static, NUL-terminated name for `status` (`"KEVO_OK"`, `"KEVO_NOT_FOUND"`, ...), or
/// `"KEVO_UNKNOWN"` for a value this library does not define. Never NULL; never free it.
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn kevo_status_name(status: u32) -> *const c_char {
    let name = match status {
        0 => c"KEVO_OK",
        1 => c"KEVO_NOT_FOUND",
        2 => c"KEVO_INVALID_ARGUMENT",
        3 => c"KEVO_IO_ERROR",
        4 => c"KEVO_CORRUPTION",
        5 => c"KEVO_LOCKED",
        6 => c"KEVO_CLOSED",
        7 => c"KEVO_BACKGROUND_ERROR",
        8 => c"KEVO_BUFFER_TOO_SMALL",
        9 => c"KEVO_INTERNAL",
        10 => c"KEVO_CONFLICT",
        11 => c"KEVO_READ_ONLY",
        _ => c"KEVO_UNKNOWN",
    };
    name.as_ptr()
}
