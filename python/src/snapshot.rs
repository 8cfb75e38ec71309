//! The native snapshot class `kevo._kevo._Snapshot`, base of the Python class
//! `kevo.Snapshot` (a read-only `collections.abc.Mapping` of the database as of one moment).

use std::sync::Mutex;

use kevo::ReadOptions;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::db::{key_error, lookup, lookup_many, range, PyDb};
use crate::errors::closed;
use crate::fork::Owned;
use crate::iter::{self, Cursor, Mode, RangeIter, Source};

/// A consistent, read-only view of a database as of the moment it was taken (native part;
/// use `db.snapshot()`).
#[pyclass(module = "kevo._kevo", name = "_Snapshot", subclass, frozen)]
pub struct PySnapshot {
    /// `None` once released.
    source: Mutex<Option<Owned<Source>>>,
}

impl PySnapshot {
    /// The snapshot as a read source; `ClosedError` once released, `ForkError` in a child.
    fn source(&self, py: Python<'_>) -> PyResult<Source> {
        let guard = self.source.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some(s) => Ok(s.get(py)?.clone()),
            None => Err(closed(py, "the snapshot was released")),
        }
    }
}

#[pymethods]
impl PySnapshot {
    /// Takes a snapshot of `db` as of now.
    #[new]
    fn new(py: Python<'_>, db: &Bound<'_, PyDb>) -> PyResult<Self> {
        let handle = db.get().handle(py)?.clone();
        let snapshot = py
            .detach(|| handle.snapshot())
            .map_err(|e| crate::errors::to_py(py, e))?;
        Ok(PySnapshot {
            source: Mutex::new(Some(Owned::new(Source::Snapshot(handle, snapshot)))),
        })
    }

    /// The sequence number the snapshot reads at.
    #[getter]
    fn sequence(&self, py: Python<'_>) -> PyResult<u64> {
        match self.source(py)? {
            Source::Snapshot(_, s) => Ok(s.sequence()),
            Source::Db(db) => Ok(db.last_sequence()),
            Source::Txn(_, t) => Ok(t.snapshot_sequence()),
        }
    }

    /// Lets go of the snapshot (the engine may then compact away what only it could see).
    /// Idempotent; later reads raise `ClosedError`.
    fn release(&self) {
        let taken = self.source.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(taken);
    }

    /// The value of `key` as of the snapshot, or `default` if absent.
    #[pyo3(signature = (key, default = None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        Ok(match lookup(py, &self.source(py)?, key)? {
            Some(v) => Some(v.into_any()),
            None => default,
        })
    }

    /// The values of every key in the iterable `keys` as of the snapshot, in order, `None`
    /// where absent.
    fn get_many<'py>(
        &self,
        py: Python<'py>,
        keys: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, pyo3::types::PyList>> {
        lookup_many(py, &self.source(py)?, keys)
    }

    /// `snap[key]`: the value as of the snapshot; `KeyError` if absent.
    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        lookup(py, &self.source(py)?, key)?.ok_or_else(|| key_error(key))
    }

    /// `key in snap`: a point lookup.
    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(lookup(py, &self.source(py)?, key)?.is_some())
    }

    /// `len(snap)`: the exact number of keys. O(n).
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        iter::count(py, &self.source(py)?, ReadOptions::default())
    }

    /// `bool(snap)`: True if there is any key. O(1).
    fn __bool__(&self, py: Python<'_>) -> PyResult<bool> {
        iter::any(py, &self.source(py)?, ReadOptions::default())
    }

    /// `iter(snap)`: the keys in order.
    fn __iter__(&self, py: Python<'_>) -> PyResult<RangeIter> {
        RangeIter::open(
            py,
            self.source(py)?,
            ReadOptions::default(),
            Mode::Keys,
            false,
        )
    }

    /// The chunked iterator behind the views: `mode` 0 keys, 1 values, 2 items.
    #[pyo3(signature = (mode, start = None, stop = None, prefix = None, reverse = false))]
    fn _iter(
        &self,
        py: Python<'_>,
        mode: u8,
        start: Option<&Bound<'_, PyAny>>,
        stop: Option<&Bound<'_, PyAny>>,
        prefix: Option<&Bound<'_, PyAny>>,
        reverse: bool,
    ) -> PyResult<RangeIter> {
        let mode = Mode::from_int(py, mode)?;
        RangeIter::open(
            py,
            self.source(py)?,
            range(start, stop, prefix)?,
            mode,
            reverse,
        )
    }

    /// Number of keys within the range (O(n)).
    #[pyo3(signature = (start = None, stop = None, prefix = None))]
    fn _count(
        &self,
        py: Python<'_>,
        start: Option<&Bound<'_, PyAny>>,
        stop: Option<&Bound<'_, PyAny>>,
        prefix: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<usize> {
        iter::count(py, &self.source(py)?, range(start, stop, prefix)?)
    }

    /// A raw cursor over the snapshot within `[start, stop)` (and `prefix`).
    #[pyo3(signature = (start = None, stop = None, *, prefix = None, reverse = false))]
    fn iterator(
        &self,
        py: Python<'_>,
        start: Option<&Bound<'_, PyAny>>,
        stop: Option<&Bound<'_, PyAny>>,
        prefix: Option<&Bound<'_, PyAny>>,
        reverse: bool,
    ) -> PyResult<Cursor> {
        Cursor::open(py, self.source(py)?, range(start, stop, prefix)?, reverse)
    }

    /// `with db.snapshot() as snap:` returns the snapshot.
    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().source(slf.py())?;
        Ok(slf)
    }

    /// Releases the snapshot at the end of the `with` block (exceptions propagate).
    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> bool {
        self.release();
        false
    }

    /// Snapshots cannot be pickled.
    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "kevo.Snapshot handles cannot be pickled; take a snapshot in the process that uses it",
        ))
    }
}
