//! The native write batch class `kevo.WriteBatch`: puts and deletes applied atomically.

use std::sync::Arc;

use kevo::Db;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::convert::bytes_of;
use crate::db::PyDb;
use crate::errors::{to_py, IntoPy};
use crate::fork::Owned;

/// Puts and deletes collected in memory, then written to the database atomically (all or
/// nothing, and no reader sees part of it), from `db.write_batch()`.
///
/// As a context manager, the batch is written when the `with` block ends normally and
/// discarded if it raises.
#[pyclass(module = "kevo._kevo", name = "WriteBatch")]
pub struct PyWriteBatch {
    db: Owned<Arc<Db>>,
    batch: kevo::WriteBatch,
}

#[pymethods]
impl PyWriteBatch {
    /// An empty batch for `db`.
    #[new]
    fn new(py: Python<'_>, db: &Bound<'_, PyDb>) -> PyResult<Self> {
        let handle = db.get().handle(py)?.clone();
        Ok(PyWriteBatch {
            db: Owned::new(handle),
            batch: kevo::WriteBatch::new(),
        })
    }

    /// Adds `key = value`.
    fn put(
        &mut self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let (k, v) = (bytes_of(key)?, bytes_of(value)?);
        self.batch.put(&k, &v).py_err(py)
    }

    /// `batch[key] = value`: adds `key = value`.
    fn __setitem__(
        &mut self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.put(py, key, value)
    }

    /// Adds a deletion of `key` (deleting an absent key is not an error).
    fn delete(&mut self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let k = bytes_of(key)?;
        self.batch.delete(&k).py_err(py)
    }

    /// `del batch[key]`: adds a deletion of `key`.
    fn __delitem__(&mut self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        self.delete(py, key)
    }

    /// Adds a deletion of every key in `[start, end)` (one range tombstone); operations
    /// added after it win over it. `InvalidArgumentError` if `start > end`.
    fn delete_range(
        &mut self,
        py: Python<'_>,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let (a, b) = (bytes_of(start)?, bytes_of(end)?);
        self.batch.delete_range(&a, &b).py_err(py)
    }

    /// Removes every operation.
    fn clear(&mut self) {
        self.batch.clear();
    }

    /// Number of operations in the batch.
    fn __len__(&self) -> usize {
        self.batch.count() as usize
    }

    /// Encoded size of the batch, in bytes.
    #[getter]
    fn size_in_bytes(&self) -> usize {
        self.batch.size_in_bytes()
    }

    /// Writes the batch atomically, then empties it (so it can be reused).
    #[pyo3(signature = (*, sync = false, disable_wal = false))]
    fn write(&mut self, py: Python<'_>, sync: bool, disable_wal: bool) -> PyResult<()> {
        let db = self.db.get(py)?;
        if db.is_closed() {
            return Err(to_py(py, kevo::Error::Closed));
        }
        let batch = &self.batch;
        let o = crate::db::write_options(sync, disable_wal);
        py.detach(|| db.write_opt(batch, &o)).py_err(py)?;
        self.batch.clear();
        Ok(())
    }

    /// `with db.write_batch() as batch:` returns the batch.
    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// Writes the batch if the block ended normally; discards it if it raised.
    #[pyo3(signature = (exc_type, _exc_value, _traceback))]
    fn __exit__(
        &mut self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyAny>>,
        _exc_value: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        if exc_type.is_none_or(|t| t.is_none()) {
            self.write(py, false, false)?;
        } else {
            self.batch.clear();
        }
        Ok(false)
    }

    /// Write batches cannot be pickled.
    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "kevo.WriteBatch handles cannot be pickled; build the batch in the process that writes it",
        ))
    }

    fn __repr__(&self) -> String {
        format!("<kevo.WriteBatch of {} operations>", self.batch.count())
    }
}
