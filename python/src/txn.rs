//! The native transaction class `kevo._kevo._Transaction`, base of the Python class
//! `kevo.Transaction` (a `collections.abc.MutableMapping` of what the transaction sees).
//!
//! An optimistic transaction of the engine ([`kevo::Transaction`]): reads see a snapshot
//! taken when it began plus its own writes; writes stay in a private buffer until `commit()`,
//! which checks for conflicts and writes the buffer atomically, or raises `ConflictError`
//! and writes nothing. As a context manager it commits when the block ends normally and
//! rolls back when it raises.
//!
//! Once committed (whatever the result) or rolled back, the engine transaction is dropped
//! (so its snapshot no longer holds back compaction) and every later call raises
//! `InvalidArgumentError` with the engine's wording ("the transaction was already
//! committed; start a new one").

use std::sync::{Arc, Mutex};

use kevo::{IsolationLevel, ReadOptions, RetryPolicy, TransactionOptions};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::convert::bytes_of;
use crate::db::{key_error, lookup, lookup_many, range, storable, PyDb};
use crate::errors::{invalid_argument, is_conflict, to_py, IntoPy};
use crate::fork::Owned;
use crate::iter::{self, Mode, RangeIter, Source};

/// Where a transaction is in its life.
enum State {
    /// Running: reads and writes go to the engine transaction (a [`Source::Txn`]).
    Active(Owned<Source>),
    /// Committed, rolled back or failed to commit: the engine transaction was dropped; the
    /// text says which ("committed", "rolled back", "finished by a failed commit").
    Finished(&'static str),
}

/// An optimistic transaction over a database (native part; use `db.transaction()`).
#[pyclass(module = "kevo._kevo", name = "_Transaction", subclass, frozen)]
pub struct PyTransaction {
    state: Mutex<State>,
    serializable: bool,
    sequence: u64,
}

impl PyTransaction {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The transaction as a read source: `InvalidArgumentError` once finished, `ClosedError`
    /// once the database was closed, `ForkError` in a forked child.
    fn source(&self, py: Python<'_>) -> PyResult<Source> {
        let source = match &*self.lock() {
            State::Active(s) => s.get(py)?.clone(),
            State::Finished(what) => return Err(finished(py, what)),
        };
        if source.db().is_closed() {
            return Err(to_py(py, kevo::Error::Closed));
        }
        Ok(source)
    }

    /// The engine transaction of `source` (always a [`Source::Txn`]).
    fn txn(source: &Source) -> &Arc<kevo::Transaction> {
        match source {
            Source::Txn(_, t) => t,
            _ => unreachable!("a transaction's source is Source::Txn"),
        }
    }

    /// Ends the transaction with `f` (commit or rollback, GIL released); the state becomes
    /// `Finished(what)` whatever `f` returns (`failed` if it failed).
    fn finish(
        &self,
        py: Python<'_>,
        what: &'static str,
        failed: &'static str,
        f: impl FnOnce(&kevo::Transaction) -> kevo::Result<()> + Send,
    ) -> PyResult<()> {
        let source = match &*self.lock() {
            State::Active(s) => s.get(py)?.clone(),
            State::Finished(done) => return Err(finished(py, done)),
        };
        let r = py.detach(|| f(Self::txn(&source)));
        *self.lock() = State::Finished(if r.is_ok() { what } else { failed });
        // The engine transaction (and its snapshot) is dropped here, GIL released.
        py.detach(move || drop(source));
        r.py_err(py)
    }

    fn is_active(&self) -> bool {
        matches!(&*self.lock(), State::Active(_))
    }
}

/// `InvalidArgumentError` for a call on a finished transaction (the engine's wording).
fn finished(py: Python<'_>, what: &str) -> PyErr {
    invalid_argument(
        py,
        format!("invalid argument: the transaction was already {what}; start a new one"),
    )
}

#[pymethods]
impl PyTransaction {
    /// Begins a transaction on `db` (snapshot isolation, or serializable if `serializable`).
    #[new]
    #[pyo3(signature = (db, serializable = false))]
    fn new(py: Python<'_>, db: &Bound<'_, PyDb>, serializable: bool) -> PyResult<Self> {
        let handle = db.get().handle(py)?.clone();
        let isolation = if serializable {
            IsolationLevel::Serializable
        } else {
            IsolationLevel::Snapshot
        };
        let txn = py
            .detach(|| handle.transaction_with(TransactionOptions::default().isolation(isolation)))
            .py_err(py)?;
        let sequence = txn.snapshot_sequence();
        Ok(PyTransaction {
            state: Mutex::new(State::Active(Owned::new(Source::Txn(
                handle,
                Arc::new(txn),
            )))),
            serializable,
            sequence,
        })
    }

    /// True for a serializable transaction, False for snapshot isolation.
    #[getter]
    fn serializable(&self) -> bool {
        self.serializable
    }

    /// The sequence number of the snapshot the transaction reads at.
    #[getter]
    fn snapshot_sequence(&self) -> u64 {
        self.sequence
    }

    /// True until `commit()` or `rollback()` was called.
    #[getter]
    fn active(&self) -> bool {
        self.is_active()
    }

    /// Number of keys written (put or deleted) so far; a key written twice counts once.
    /// 0 once the transaction is finished.
    #[getter]
    fn write_count(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(match &*self.lock() {
            State::Active(s) => Self::txn(s.get(py)?).write_count(),
            State::Finished(_) => 0,
        })
    }

    /// The value of `key` as the transaction sees it (its own writes, else its snapshot), or
    /// `default` if absent.
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

    /// The values of every key in the iterable `keys` as the transaction sees them, in
    /// order, `None` where absent. With `serializable`, each key counts as read.
    fn get_many<'py>(
        &self,
        py: Python<'py>,
        keys: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, pyo3::types::PyList>> {
        lookup_many(py, &self.source(py)?, keys)
    }

    /// `txn[key]`: the value as the transaction sees it; `KeyError` if absent.
    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        lookup(py, &self.source(py)?, key)?.ok_or_else(|| key_error(key))
    }

    /// `key in txn`: a point lookup (recorded in the read set when serializable).
    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(lookup(py, &self.source(py)?, key)?.is_some())
    }

    /// Buffers `key = value` (visible to this transaction now, to others after commit).
    fn put(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let source = self.source(py)?;
        let (k, v) = (bytes_of(key)?, bytes_of(value)?);
        Self::txn(&source).put(&k, &v).py_err(py)
    }

    /// `txn[key] = value`: buffers `key = value`.
    fn __setitem__(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.put(py, key, value)
    }

    /// Buffers a deletion of `key` (no error if absent, unlike `del txn[key]`).
    fn delete(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let source = self.source(py)?;
        let k = bytes_of(key)?;
        Self::txn(&source).delete(&k).py_err(py)
    }

    /// Buffers a deletion of every key in `[start, end)`: the transaction stops seeing them
    /// at once (except keys it writes afterwards); commit writes one range tombstone, and
    /// conflicts if another commit wrote a key in the range after the snapshot.
    fn delete_range(
        &self,
        py: Python<'_>,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let source = self.source(py)?;
        let (a, b) = (bytes_of(start)?, bytes_of(end)?);
        Self::txn(&source).delete_range(&a, &b).py_err(py)
    }

    /// `del txn[key]`: buffers a deletion; `KeyError` if the transaction does not see `key`.
    fn __delitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let source = self.source(py)?;
        let k = bytes_of(key)?;
        if !storable(&k) {
            return Err(key_error(key));
        }
        let txn = Self::txn(&source);
        let found = py
            .detach(|| -> kevo::Result<bool> {
                if txn.get(&k)?.is_none() {
                    return Ok(false);
                }
                txn.delete(&k).map(|()| true)
            })
            .py_err(py)?;
        if found {
            Ok(())
        } else {
            Err(key_error(key))
        }
    }

    /// `len(txn)`: the number of keys the transaction sees. O(n) (a full scan, recorded in
    /// the read set when serializable).
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        iter::count(py, &self.source(py)?, ReadOptions::default())
    }

    /// `bool(txn)`: True if the transaction sees any key. O(1).
    fn __bool__(&self, py: Python<'_>) -> PyResult<bool> {
        iter::any(py, &self.source(py)?, ReadOptions::default())
    }

    /// `iter(txn)`: the keys the transaction sees, in order.
    fn __iter__(&self, py: Python<'_>) -> PyResult<RangeIter> {
        RangeIter::open(
            py,
            self.source(py)?,
            ReadOptions::default(),
            Mode::Keys,
            false,
        )
    }

    /// The chunked iterator behind the views: `mode` 0 keys, 1 values, 2 items. It sees the
    /// transaction's writes made before it was created.
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

    /// Commits: checks for conflicts and writes every buffered write as one atomic batch.
    /// The transaction is finished afterwards, whatever the result. `ConflictError` if
    /// another commit came first (nothing was written: run the transaction again).
    fn commit(&self, py: Python<'_>) -> PyResult<()> {
        self.finish(py, "committed", "finished by a failed commit", |t| {
            t.commit()
        })
    }

    /// Discards every buffered write. The transaction is finished afterwards.
    fn rollback(&self, py: Python<'_>) -> PyResult<()> {
        self.finish(py, "rolled back", "rolled back", |t| t.rollback())
    }

    /// `with db.transaction() as txn:` returns the transaction.
    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().source(slf.py())?;
        Ok(slf)
    }

    /// At the end of the `with` block: commits if the block succeeded (raising
    /// `ConflictError` if that fails), rolls back if it raised (the exception propagates).
    /// Does nothing more if the block already committed or rolled back.
    #[pyo3(signature = (exc_type, _exc = None, _tb = None))]
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        if !self.is_active() {
            return Ok(false);
        }
        if exc_type.is_none_or(|t| t.is_none()) {
            self.commit(py)?;
        } else {
            // The block's exception is what the caller needs to see.
            let _ = self.rollback(py);
        }
        Ok(false)
    }

    /// Transactions cannot be pickled.
    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "kevo.Transaction handles cannot be pickled; run the transaction in the process \
             that opened the database",
        ))
    }

    fn __repr__(&self) -> String {
        let state = match &*self.lock() {
            State::Active(_) => "active",
            State::Finished(what) => what,
        };
        let level = if self.serializable {
            "serializable"
        } else {
            "snapshot"
        };
        format!(
            "<kevo.Transaction {level} at sequence {} {state}>",
            self.sequence
        )
    }
}

/// Retries `kevo.run_transaction` makes by default: the engine's default [`RetryPolicy`]
/// less its first attempt (Python counts retries, the engine attempts).
pub fn default_retries() -> u32 {
    RetryPolicy::default().max_attempts() - 1
}

/// One attempt of `kevo.run_transaction`: `with db.transaction(serializable) as txn: return
/// fn(txn)`, spelled out so that it runs under the engine's retry loop.
fn run_once(
    py: Python<'_>,
    db: &Bound<'_, PyAny>,
    f: &Bound<'_, PyAny>,
    serializable: bool,
) -> PyResult<Py<PyAny>> {
    let txn = db.call_method1("transaction", (serializable,))?;
    let txn = txn.call_method0("__enter__")?;
    match f.call1((&txn,)) {
        Ok(value) => {
            txn.call_method1("__exit__", (py.None(), py.None(), py.None()))?;
            Ok(value.unbind())
        }
        Err(e) => {
            let exit = (e.get_type(py), e.value(py), e.traceback(py));
            txn.call_method1("__exit__", exit)?;
            Err(e)
        }
    }
}

/// `kevo._kevo._run_transaction(db, fn, serializable, retries)`, the body of
/// `kevo.run_transaction`: runs `fn(txn)` in a transaction of `db` and commits it, under the
/// engine's [`RetryPolicy`] with `retries + 1` attempts, so which errors are retried and how
/// long to wait between attempts are the engine's. The GIL is released while it waits.
///
/// Errors: `InvalidArgumentError` (a `ValueError`) if the engine refuses the number of
/// attempts (`retries < 0`); the last `ConflictError`; whatever `fn` or the commit raised.
#[pyfunction]
#[pyo3(name = "_run_transaction")]
pub fn run_transaction(
    py: Python<'_>,
    db: Bound<'_, PyAny>,
    f: Bound<'_, PyAny>,
    serializable: bool,
    retries: i64,
) -> PyResult<Py<PyAny>> {
    let attempts = match retries.checked_add(1) {
        Some(n) if n > 0 => u32::try_from(n).unwrap_or(u32::MAX),
        _ => 0,
    };
    let policy = RetryPolicy::default()
        .with_max_attempts(attempts)
        .map_err(|e| invalid_argument(py, format!("retries={retries}: {e}")))?;
    let (db, f) = (db.unbind(), f.unbind());
    py.detach(|| {
        policy.run(
            || Python::attach(|py| run_once(py, db.bind(py), f.bind(py), serializable)),
            |e| Python::attach(|py| is_conflict(py, e)),
        )
    })
}
