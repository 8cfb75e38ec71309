//! The registry of live handles and the guard every export runs in.
//!
//! # Handles
//!
//! Every object given to C (`kevo_db`, `kevo_iter`, `kevo_error`, ...) lives in an `Arc` that
//! a global registry holds, keyed by the address handed out. Each export looks the pointer it
//! was given up in the registry (one read lock and one hash lookup) and works on a clone of
//! the `Arc`, so:
//!
//! - a NULL, freed, foreign or wrongly typed pointer is refused with `KEVO_INVALID_ARGUMENT`
//!   ("not a live kevo_iter handle") instead of being dereferenced;
//! - `*_free` removes the handle from the registry: a second `*_free` of the same pointer finds
//!   nothing and does nothing;
//! - a handle freed by one thread while another thread is inside a call on it stays alive
//!   until that call returns (the call holds its own reference).
//!
//! The limit: if the allocator reuses a freed handle's address for a new handle of the same
//! kind, a stale pointer to the old one reaches the new one. Registration never hands out an
//! address that is live, so this needs a free followed by a new allocation at the same spot;
//! it is still the caller's bug, made harmless to memory safety but not to logic.
//!
//! # Panics
//!
//! [`guard`] and [`guard_value`] run an export's body inside `catch_unwind`: a Rust panic never
//! unwinds into C. A panic becomes `KEVO_INTERNAL` with the panic message.

use std::any::Any;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, LazyLock};

use parking_lot::RwLock;

use crate::error::{kevo_error, kevo_status, report, Failure};

/// What a registered handle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Db,
    Options,
    ReadOptions,
    WriteOptions,
    Batch,
    Snapshot,
    Iter,
    Txn,
    TxnOptions,
    BackupEngine,
    Error,
}

impl Kind {
    /// The C type name, for messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Db => "kevo_db",
            Kind::Options => "kevo_options",
            Kind::ReadOptions => "kevo_read_options",
            Kind::WriteOptions => "kevo_write_options",
            Kind::Batch => "kevo_batch",
            Kind::Snapshot => "kevo_snapshot",
            Kind::Iter => "kevo_iter",
            Kind::Txn => "kevo_txn",
            Kind::TxnOptions => "kevo_txn_options",
            Kind::BackupEngine => "kevo_backup_engine",
            Kind::Error => "kevo_error",
        }
    }
}

struct Entry {
    kind: Kind,
    obj: Arc<dyn Any + Send + Sync>,
}

/// Hashes an address: heap addresses are 16-byte aligned and spread well once multiplied by
/// an odd constant (Fibonacci hashing), so SipHash's cost buys nothing here.
#[derive(Default)]
struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64 >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type Registry = HashMap<usize, Entry, BuildHasherDefault<AddrHasher>>;

static REGISTRY: LazyLock<RwLock<Registry>> = LazyLock::new(|| RwLock::new(Registry::default()));

/// Registers `obj` as a live handle of `kind`; returns the address to give to C.
pub(crate) fn register<T: Any + Send + Sync>(kind: Kind, obj: Arc<T>) -> *const T {
    let ptr = Arc::as_ptr(&obj);
    REGISTRY.write().insert(
        ptr as usize,
        Entry {
            kind,
            obj: obj as _,
        },
    );
    ptr
}

/// The object behind live handle `addr` of `kind`.
///
/// Errors: `KEVO_INVALID_ARGUMENT` if `addr` is 0 (NULL) or not a live handle of that kind.
pub(crate) fn get<T: Any + Send + Sync>(kind: Kind, addr: usize) -> Result<Arc<T>, Failure> {
    if addr == 0 {
        return Err(Failure::invalid(format!("{} handle is NULL", kind.name())));
    }
    let found = {
        let map = REGISTRY.read();
        match map.get(&addr) {
            Some(e) if e.kind == kind => Ok(e.obj.clone()),
            Some(e) => Err(Some(e.kind)),
            None => Err(None),
        }
    };
    match found {
        Ok(obj) => obj.downcast::<T>().map_err(|_| {
            Failure::new(
                kevo_status::KEVO_INTERNAL,
                format!("{} handle holds the wrong type", kind.name()),
            )
        }),
        Err(Some(other)) => Err(Failure::invalid(format!(
            "not a live {} handle (it is a {})",
            kind.name(),
            other.name()
        ))),
        Err(None) => Err(Failure::invalid(format!(
            "not a live {} handle (NULL, freed, or not from kevo)",
            kind.name()
        ))),
    }
}

/// Like [`get`], but `addr == 0` gives `Ok(None)` (for optional arguments).
pub(crate) fn get_opt<T: Any + Send + Sync>(
    kind: Kind,
    addr: usize,
) -> Result<Option<Arc<T>>, Failure> {
    if addr == 0 {
        return Ok(None);
    }
    get(kind, addr).map(Some)
}

/// Removes live handle `addr` of `kind` from the registry and returns its object (dropped by
/// the caller, outside the lock). Anything else — 0, an unknown address, a handle of another
/// kind — is left alone and gives `None`.
pub(crate) fn take(kind: Kind, addr: usize) -> Option<Arc<dyn Any + Send + Sync>> {
    if addr == 0 {
        return None;
    }
    let mut map = REGISTRY.write();
    match map.get(&addr) {
        Some(e) if e.kind == kind => map.remove(&addr).map(|e| e.obj),
        _ => None,
    }
}

/// [`take`], dropping the object after the lock is released.
pub(crate) fn release(kind: Kind, addr: usize) {
    drop(take(kind, addr));
}

/// True if `addr` is a live handle of `kind` (for tests).
#[cfg(test)]
pub(crate) fn is_live(kind: Kind, addr: usize) -> bool {
    REGISTRY.read().get(&addr).is_some_and(|e| e.kind == kind)
}

/// The text of a panic payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    let what = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_owned()
    };
    format!("internal error (Rust panic): {what}")
}

/// Runs the body of a fallible export: a panic becomes `KEVO_INTERNAL`, and a failure is
/// stored in `*err` (see [`report`]). Returns the status.
pub(crate) fn guard(
    err: *mut *mut kevo_error,
    body: impl FnOnce() -> Result<kevo_status, Failure>,
) -> kevo_status {
    let result = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        Err(Failure::new(
            kevo_status::KEVO_INTERNAL,
            panic_message(&*payload),
        ))
    });
    match result {
        Ok(status) => status,
        Err(failure) => {
            let code = failure.code;
            // SAFETY: every export documents `err` as NULL or a valid `kevo_error **`.
            catch_unwind(AssertUnwindSafe(|| unsafe { report(err, failure) })).unwrap_or(code)
        }
    }
}

/// Runs the body of an export that returns a plain value: a panic gives `on_panic`.
pub(crate) fn guard_value<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}

/// Ok(status) shorthand for bodies.
pub(crate) const OK: Result<kevo_status, Failure> = Ok(kevo_status::KEVO_OK);
