//! PyO3 glue of the `kevo` Python package: the native module `kevo._kevo`.
//!
//! Glue only: every operation is the engine's (`kevo`). The Python package `kevo`
//! (`python/kevo/__init__.py`) re-exports these classes and builds the mapping interface on
//! them. One concept per file:
//!
//! | module | concept |
//! | --- | --- |
//! | `db` | `_DB`, the database handle |
//! | `snapshot` | `_Snapshot`, a point-in-time view |
//! | `txn` | `_Transaction`, an optimistic transaction; `_run_transaction`, the retry loop |
//! | `batch` | `WriteBatch`, atomic groups of writes |
//! | `backup` | `BackupEngine` and `BackupInfo`, incremental backups |
//! | `iter` | `RangeIterator` (chunked, behind the views) and `Cursor` (raw) |
//! | `options` | `kevo.open` keywords → `kevo::Options` |
//! | `errors` | the exception classes and the mapping of `kevo::Error` |
//! | `convert` | `bytes`/`bytearray`/`memoryview` in, `bytes` out |
//! | `fork` | detecting handles used after `fork()` |
//!
//! The GIL is released around every call into the engine that may touch the disk; the
//! arguments are borrowed from immutable `bytes` or copied first.

#![warn(missing_docs)]

pub mod backup;
pub mod batch;
pub mod convert;
pub mod db;
pub mod errors;
pub mod fork;
pub mod iter;
pub mod options;
pub mod snapshot;
pub mod txn;

use pyo3::prelude::*;

/// The native module `kevo._kevo`.
#[pymodule]
fn _kevo(m: &Bound<'_, PyModule>) -> PyResult<()> {
    fork::register();
    errors::register(m)?;
    m.add_class::<db::PyDb>()?;
    m.add_class::<snapshot::PySnapshot>()?;
    m.add_class::<txn::PyTransaction>()?;
    m.add_class::<batch::PyWriteBatch>()?;
    m.add_class::<backup::PyBackupEngine>()?;
    m.add_class::<backup::PyBackupInfo>()?;
    m.add_class::<iter::Cursor>()?;
    m.add_class::<iter::RangeIter>()?;
    m.add_function(wrap_pyfunction!(options::default_options, m)?)?;
    m.add_function(wrap_pyfunction!(txn::run_transaction, m)?)?;
    m.add("_DEFAULT_RETRIES", txn::default_retries())?;
    m.add("MAX_KEY_SIZE", kevo::MAX_KEY_SIZE)?;
    m.add("MAX_VALUE_SIZE", kevo::MAX_VALUE_SIZE)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
