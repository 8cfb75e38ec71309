//! # libkevo: the C ABI of kevo
//!
//! This crate is glue only: it converts C arguments, keeps C's handles safe, maps
//! `kevo::Error` to status codes, and calls the engine (crate `kevo`). It builds `libkevo.so`
//! (SONAME `libkevo.so.1`, after [`KEVO_ABI_VERSION`]) and `libkevo.a`; cbindgen turns the
//! doc comments of the exports below into `include/kevo.h`.
//!
//! ## Conventions (also in the header)
//!
//! - Every fallible call returns a [`kevo_status`] (0 = `KEVO_OK`) and takes an optional last
//!   `kevo_error **err`. On failure, if `err` is not NULL, `*err` receives an owned error
//!   (code + UTF-8 message; free it with `kevo_error_free`); an error `*err` already held is
//!   freed and replaced. On success — and on `KEVO_NOT_FOUND` for an absent key or property —
//!   `*err` is left untouched. Check the status, not `*err`. There is no thread-local
//!   "last error".
//! - Keys and values are `const uint8_t *` + `size_t`: binary-safe, embedded NULs allowed. A
//!   NULL pointer with length 0 is the empty string. Keys must not be empty.
//! - Handles are opaque. NULL, freed or wrongly typed handles give `KEVO_INVALID_ARGUMENT`
//!   (see `handle.rs` for how, and the one limit); `*_free(NULL)` and a second `*_free` do
//!   nothing.
//! - No Rust panic crosses the boundary: it becomes `KEVO_INTERNAL`.
//! - Children (iterators, snapshots, transactions) keep the engine alive: any order of close and free is
//!   safe; after `kevo_close` everything answers `KEVO_CLOSED`.
//!
//! ## Files
//!
//! | file | concept |
//! | --- | --- |
//! | `error.rs` | `kevo_status`, `kevo_error` |
//! | `handle.rs` | the registry of live handles, the panic guard |
//! | `convert.rs` | C arguments: byte strings, strings, output pointers, `malloc` copies |
//! | `db.rs` | `kevo_db`: open, close, put, get, delete, write, flush, compaction, properties |
//! | `options.rs` | `kevo_options`, `kevo_read_options`, `kevo_write_options` |
//! | `batch.rs` | `kevo_batch` |
//! | `snapshot.rs` | `kevo_snapshot` |
//! | `iter.rs` | `kevo_iter` (over the database or over a transaction) |
//! | `txn.rs` | `kevo_txn`, `kevo_txn_options`: optimistic transactions |
//! | `backup.rs` | `kevo_backup_engine`, `kevo_backup_info`: incremental backups |

// The exported types carry their C names (`kevo_db`, `KEVO_OK`).
#![allow(non_camel_case_types)]
// The exports are safe `extern "C" fn`s that take raw pointers: they are called from C, where
// Rust's `unsafe` marker means nothing, and each one's pointer contract is written in its
// doc comment (copied into kevo.h). Every pointer is checked for NULL, and every handle
// against the registry, before use; the `unsafe` blocks that read caller memory say why
// with a SAFETY comment.
#![allow(clippy::not_unsafe_ptr_arg_deref)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod backup;
pub mod batch;
mod convert;
pub mod db;
pub mod error;
mod handle;
pub mod iter;
pub mod options;
pub mod snapshot;
pub mod txn;

use std::ffi::c_char;

pub use backup::*;
pub use batch::*;
pub use db::*;
pub use error::*;
pub use iter::*;
pub use options::*;
pub use snapshot::*;
pub use txn::*;

/// Version of the C ABI. It changes only when a change breaks programs built against an
/// older header (it is the number in the SONAME, `libkevo.so.1`); additions keep it.
pub const KEVO_ABI_VERSION: u32 = 1;

/// The ABI version of the loaded library (`KEVO_ABI_VERSION` when it was built). Compare it
/// with the header's `KEVO_ABI_VERSION` to detect a mismatched library.
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn kevo_abi_version() -> u32 {
    KEVO_ABI_VERSION
}

/// The version of kevo, such as `"0.1.0"`: a static NUL-terminated string (never free it).
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn kevo_version_string() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

#[cfg(test)]
mod tests;
