//! The native database class `kevo._kevo._DB`, base of the Python class `kevo.DB` (which adds
//! the `collections.abc.MutableMapping` mixins and the views).

use std::path::PathBuf;
use std::sync::Arc;

use kevo::{Db, ReadOptions};
use pyo3::exceptions::{PyKeyError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::convert::{bytes_of, optional_bytes};
use crate::errors::{to_py, IntoPy};
use crate::fork::Owned;
use crate::iter::{self, Cursor, Mode, RangeIter, Source};
use crate::options;

/// True if the engine could store `key` (a key it would reject is never present).
pub fn storable(key: &[u8]) -> bool {
    kevo::batch::check_key(key).is_ok()
}

/// The value of `key` in `source` as `bytes`, or `None` (GIL released around the read).
pub fn lookup<'py>(
    py: Python<'py>,
    source: &Source,
    key: &Bound<'_, PyAny>,
) -> PyResult<Option<Bound<'py, PyBytes>>> {
    let key = bytes_of(key)?;
    if !storable(&key) {
        return Ok(None);
    }
    let found = py.detach(|| source.get(&key)).py_err(py)?;
    Ok(found.map(|v| PyBytes::new(py, &v)))
}

/// The values of every key of the iterable `keys` in `source`, read at one consistent view,
/// as a list of `bytes` or `None` (absent, or a key the engine could not store), in order.
/// The GIL is released around the reads.
pub fn lookup_many<'py>(
    py: Python<'py>,
    source: &Source,
    keys: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    if keys.is_instance_of::<PyBytes>() || keys.is_instance_of::<pyo3::types::PyString>() {
        return Err(PyTypeError::new_err(
            "get_many() takes an iterable of keys, not a single key",
        ));
    }
    let mut all: Vec<Vec<u8>> = Vec::new();
    for k in keys.try_iter()? {
        all.push(bytes_of(&k?)?.into_vec());
    }
    let storable_keys: Vec<Vec<u8>> = all.iter().filter(|k| storable(k)).cloned().collect();
    let found = py.detach(|| source.multi_get(&storable_keys)).py_err(py)?;
    let mut found = found.into_iter();
    let out = PyList::empty(py);
    for k in &all {
        match storable(k).then(|| found.next()).flatten().flatten() {
            Some(v) => out.append(PyBytes::new(py, &v))?,
            None => out.append(py.None())?,
        }
    }
    Ok(out)
}

/// The engine's write options from the `sync` and `disable_wal` keywords.
pub fn write_options(sync: bool, disable_wal: bool) -> kevo::WriteOptions {
    kevo::WriteOptions { sync, disable_wal }
}

/// `KeyError(key)`.
pub fn key_error(key: &Bound<'_, PyAny>) -> PyErr {
    PyKeyError::new_err(key.clone().unbind())
}

/// Arguments of the range reads: the engine's bounds, checked.
pub fn range(
    start: Option<&Bound<'_, PyAny>>,
    stop: Option<&Bound<'_, PyAny>>,
    prefix: Option<&Bound<'_, PyAny>>,
) -> PyResult<ReadOptions> {
    iter::read_options(start, stop, prefix)
}

/// An open kevo database (native part; use `kevo.DB` / `kevo.open`).
#[pyclass(module = "kevo._kevo", name = "_DB", subclass, frozen)]
pub struct PyDb {
    db: Owned<Arc<Db>>,
    path: PathBuf,
}

impl PyDb {
    /// The engine handle; `ForkError` in a forked child, `ClosedError` once closed.
    pub fn handle(&self, py: Python<'_>) -> PyResult<&Arc<Db>> {
        let db = self.db.get(py)?;
        if db.is_closed() {
            return Err(to_py(py, kevo::Error::Closed));
        }
        Ok(db)
    }

    /// Reads of the database as of now.
    pub fn source(&self, py: Python<'_>) -> PyResult<Source> {
        Ok(Source::Db(self.handle(py)?.clone()))
    }
}

#[pymethods]
impl PyDb {
    /// Opens (creating by default) the database in directory `path`; see `kevo.open`.
    #[new]
    #[pyo3(signature = (path, **options))]
    fn new(py: Python<'_>, path: PathBuf, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        crate::fork::register();
        let opts = options::from_kwargs(py, options)?;
        let db = py.detach(|| Db::open(&path, opts)).py_err(py)?;
        Ok(PyDb {
            db: Owned::new(Arc::new(db)),
            path,
        })
    }

    /// True if the database was opened with `read_only=True`.
    #[getter]
    fn read_only(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.db.get(py)?.is_read_only())
    }

    /// Moves a read-only database (`kevo.open(path, read_only=True)`) to the writer's latest
    /// state: the manifest edits and WAL records another handle or process wrote since the
    /// open or the last refresh. Snapshots and iterators taken before keep their view; on
    /// error the database keeps its previous state. Raises `InvalidArgumentError` on a
    /// database that is not read-only (it is always current), `ClosedError`,
    /// `NotFoundError` if the writer kept deleting the files just read for 100 attempts or
    /// the database was removed, `CorruptionError`, `IoError`.
    fn refresh(&self, py: Python<'_>) -> PyResult<()> {
        let db = self.db.get(py)?;
        py.detach(|| db.refresh()).py_err(py)
    }

    /// Writes a consistent copy of the database into the directory `path` (missing or
    /// empty) while it stays in use: hard links to its SSTables (copies where links fail),
    /// its WAL as of the call and a manifest of exactly those files; every write
    /// acknowledged before the call is in it, and `kevo.open(path)` opens it. Returns a dict
    /// of `tables_linked`, `tables_copied`, `wal_segments`, `bytes_copied` and `seconds`.
    /// Raises `InvalidArgumentError` if `path` exists and is not empty (it is left
    /// untouched), `ClosedError`, `IoError`.
    fn checkpoint<'py>(
        &self,
        py: Python<'py>,
        path: PathBuf,
    ) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let db = self.db.get(py)?;
        let info = py.detach(|| db.checkpoint(&path)).py_err(py)?;
        let d = pyo3::types::PyDict::new(py);
        d.set_item("tables_linked", info.tables_linked)?;
        d.set_item("tables_copied", info.tables_copied)?;
        d.set_item("wal_segments", info.wal_segments)?;
        d.set_item("bytes_copied", info.bytes_copied)?;
        d.set_item("seconds", info.duration.as_secs_f64())?;
        Ok(d)
    }

    /// The database directory, as given to `open`.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// True once `close()` was called (or the engine stopped).
    #[getter]
    fn closed(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.db.get(py)?.is_closed())
    }

    /// Closes the database: waits for background work, releases the directory. Idempotent;
    /// every later call on the database, its iterators and snapshots raises `ClosedError`.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let db = self.db.get(py)?;
        py.detach(|| db.close()).py_err(py)
    }

    /// The value of `key`, or `default` if absent.
    #[pyo3(signature = (key, default = None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let db = self.handle(py)?;
        let k = bytes_of(key)?;
        if storable(&k) {
            if let Some(v) = py.detach(|| db.get(&k)).py_err(py)? {
                return Ok(Some(PyBytes::new(py, &v).into_any()));
            }
        }
        Ok(default)
    }

    /// The values of every key in the iterable `keys`, in order, `None` where absent: all
    /// read at one consistent view, faster per key than a loop of `get`.
    fn get_many<'py>(
        &self,
        py: Python<'py>,
        keys: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        lookup_many(py, &self.source(py)?, keys)
    }

    /// `db[key]`: the value; `KeyError` if absent.
    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let db = self.handle(py)?;
        let k = bytes_of(key)?;
        if storable(&k) {
            if let Some(v) = py.detach(|| db.get(&k)).py_err(py)? {
                return Ok(PyBytes::new(py, &v));
            }
        }
        Err(key_error(key))
    }

    /// Sets `key` to `value`; `sync=True` makes it durable before returning (whatever the
    /// sync mode), `disable_wal=True` skips the WAL (lost by a crash before a flush).
    #[pyo3(signature = (key, value, *, sync = false, disable_wal = false))]
    fn put(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        sync: bool,
        disable_wal: bool,
    ) -> PyResult<()> {
        let db = self.handle(py)?;
        let (k, v) = (bytes_of(key)?, bytes_of(value)?);
        let o = write_options(sync, disable_wal);
        py.detach(|| db.put_opt(&k, &v, &o)).py_err(py)
    }

    /// `db[key] = value`.
    fn __setitem__(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.put(py, key, value, false, false)
    }

    /// Deletes `key`; no error if it is absent (unlike `del db[key]`). `sync` and
    /// `disable_wal` as for `put`.
    #[pyo3(signature = (key, *, sync = false, disable_wal = false))]
    fn delete(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        sync: bool,
        disable_wal: bool,
    ) -> PyResult<()> {
        let db = self.handle(py)?;
        let k = bytes_of(key)?;
        let o = write_options(sync, disable_wal);
        py.detach(|| db.delete_opt(&k, &o)).py_err(py)
    }

    /// Deletes every key `k` with `start <= k < end` in one atomic write (one range
    /// tombstone, whatever the number of keys). `end=None` deletes to the last key (every
    /// key up to the largest present when the call runs). `sync` and `disable_wal` as for
    /// `put`. `InvalidArgumentError` if `start > end`.
    #[pyo3(signature = (start, end = None, *, sync = false, disable_wal = false))]
    fn delete_range(
        &self,
        py: Python<'_>,
        start: &Bound<'_, PyAny>,
        end: Option<&Bound<'_, PyAny>>,
        sync: bool,
        disable_wal: bool,
    ) -> PyResult<()> {
        let db = self.handle(py)?;
        let a = bytes_of(start)?.to_vec();
        let b = optional_bytes(end)?;
        let o = write_options(sync, disable_wal);
        py.detach(|| -> kevo::Result<()> {
            let b = match b {
                Some(b) => b,
                None => {
                    // One past the largest key: the successor `last ++ [0]`.
                    let mut it = db.iter(ReadOptions::default())?;
                    it.seek_to_last();
                    it.status()?;
                    if !it.valid() || it.key() < a.as_slice() {
                        return Ok(());
                    }
                    let mut e = it.key().to_vec();
                    e.push(0);
                    e
                }
            };
            db.delete_range_opt(&a, &b, &o)
        })
        .py_err(py)
    }

    /// `del db[key]`: `KeyError` if absent. (A lookup then a delete: not atomic with respect
    /// to other writers of the same key.)
    fn __delitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let db = self.handle(py)?;
        let k = bytes_of(key)?;
        if !storable(&k) {
            return Err(key_error(key));
        }
        let found = py
            .detach(|| -> kevo::Result<bool> {
                if db.get(&k)?.is_none() {
                    return Ok(false);
                }
                db.delete(&k).map(|()| true)
            })
            .py_err(py)?;
        if found {
            Ok(())
        } else {
            Err(key_error(key))
        }
    }

    /// `key in db`: a point lookup.
    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let db = self.handle(py)?;
        let k = bytes_of(key)?;
        if !storable(&k) {
            return Ok(false);
        }
        Ok(py.detach(|| db.get(&k)).py_err(py)?.is_some())
    }

    /// `len(db)`: the exact number of keys. O(n): counts every key (no values are copied).
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        iter::count(py, &self.source(py)?, ReadOptions::default())
    }

    /// `bool(db)`: True if there is any key. O(1): one seek.
    fn __bool__(&self, py: Python<'_>) -> PyResult<bool> {
        iter::any(py, &self.source(py)?, ReadOptions::default())
    }

    /// `iter(db)`: the keys in order.
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

    /// A raw cursor over `[start, stop)` (and `prefix`); see `kevo.Cursor`.
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

    /// Writes the memtable to an SSTable now and waits for it.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        let db = self.handle(py)?;
        py.detach(|| db.flush()).py_err(py)
    }

    /// Compacts every key in `[start, stop]` (both inclusive; `None` = unbounded) down to the
    /// bottom level, and waits for it.
    #[pyo3(signature = (start = None, stop = None))]
    fn compact_range(
        &self,
        py: Python<'_>,
        start: Option<&Bound<'_, PyAny>>,
        stop: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let db = self.handle(py)?;
        let (start, stop) = (optional_bytes(start)?, optional_bytes(stop)?);
        py.detach(|| db.compact_range(start.as_deref(), stop.as_deref()))
            .py_err(py)
    }

    /// Forces every write acknowledged so far to stable storage (one fsync of the WAL).
    fn sync_wal(&self, py: Python<'_>) -> PyResult<()> {
        let db = self.handle(py)?;
        py.detach(|| db.sync_wal()).py_err(py)
    }

    /// The engine's counters as a dict (see `kevo.Stats` in the stubs for the keys).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.handle(py)?.stats();
        let d = PyDict::new(py);
        d.set_item("user_bytes_written", s.user_bytes_written)?;
        d.set_item("wal_bytes_written", s.wal_bytes_written)?;
        d.set_item("flush_count", s.flush_count)?;
        d.set_item("flush_bytes_written", s.flush_bytes_written)?;
        d.set_item("flush_micros", s.flush_micros)?;
        d.set_item("compaction_count", s.compaction_count)?;
        d.set_item("compaction_bytes_read", s.compaction_bytes_read)?;
        d.set_item("compaction_bytes_written", s.compaction_bytes_written)?;
        d.set_item("compaction_micros", s.compaction_micros)?;
        d.set_item("stall_micros", s.stall_micros)?;
        d.set_item("slowdown_count", s.slowdown_count)?;
        d.set_item("stop_count", s.stop_count)?;
        d.set_item("block_cache_hits", s.block_cache_hits)?;
        d.set_item("block_cache_misses", s.block_cache_misses)?;
        d.set_item("block_cache_usage", s.block_cache_usage)?;
        d.set_item("block_cache_capacity", s.block_cache_capacity)?;
        d.set_item("block_cache_hit_ratio", s.block_cache_hit_ratio())?;
        d.set_item("bloom_negatives", s.bloom_negatives)?;
        d.set_item("bloom_false_positives", s.bloom_false_positives)?;
        d.set_item("bloom_true_positives", s.bloom_true_positives)?;
        d.set_item("live_snapshots", s.live_snapshots)?;
        d.set_item("write_amplification", s.write_amplification())?;
        d.set_item("sst_bytes", s.sst_bytes())?;
        let levels = PyList::empty(py);
        for l in &s.levels {
            let ld = PyDict::new(py);
            ld.set_item("files", l.files)?;
            ld.set_item("bytes", l.bytes)?;
            levels.append(ld)?;
        }
        d.set_item("levels", levels)?;
        Ok(d)
    }

    /// The engine property `name` (e.g. `"kevo.stats"`), or `None` if there is no such
    /// property.
    fn property(&self, py: Python<'_>, name: &str) -> PyResult<Option<String>> {
        let db = self.handle(py)?;
        py.detach(|| db.property(name)).py_err(py)
    }

    /// `with kevo.open(...) as db:` returns the database.
    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().handle(slf.py())?;
        Ok(slf)
    }

    /// Closes the database at the end of the `with` block (exceptions propagate).
    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    /// Database handles cannot be pickled.
    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "kevo.DB handles cannot be pickled; open the database by path in each process",
        ))
    }

    fn __repr__(&self) -> String {
        let state = if self.db.is_closed() {
            "closed"
        } else {
            "open"
        };
        format!("<kevo.DB {:?} {state}>", self.path)
    }
}
