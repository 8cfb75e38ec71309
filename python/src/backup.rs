//! The native backup classes `kevo.BackupEngine` and `kevo.BackupInfo`: incremental backups
//! of a live database (the engine's [`kevo::backup::BackupEngine`]; its module docs describe
//! the directory layout and what is shared between backups).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kevo::{BackupEngine, BackupInfo};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt, PyTuple};

use crate::db::PyDb;
use crate::errors::{closed, invalid_argument, IntoPy};
use crate::fork::Owned;

/// One backup, as `BackupEngine.create_backup` made it and `BackupEngine.list_backups` reads
/// it back. Immutable; compares and hashes by value.
#[pyclass(module = "kevo._kevo", name = "BackupInfo", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyBackupInfo {
    /// The backup's id: 1 for the first, then one above the highest existing.
    #[pyo3(get)]
    id: u64,
    /// When it was made, in whole seconds since the Unix epoch (as `int(time.time())`).
    #[pyo3(get)]
    timestamp: u64,
    /// Files it contains (SSTables, WAL segments, manifest, `CURRENT`).
    #[pyo3(get)]
    num_files: usize,
    /// Bytes of all its files: what a restore writes.
    #[pyo3(get)]
    size: u64,
    /// Bytes this backup added to the backup directory (files not already stored).
    #[pyo3(get)]
    new_bytes: u64,
    /// SSTables it shares with an earlier backup instead of storing them again.
    #[pyo3(get)]
    files_reused: usize,
    duration: Duration,
}

impl From<BackupInfo> for PyBackupInfo {
    fn from(i: BackupInfo) -> Self {
        PyBackupInfo {
            id: i.id,
            timestamp: i.timestamp,
            num_files: i.num_files,
            size: i.size,
            new_bytes: i.new_bytes,
            files_reused: i.files_reused,
            duration: i.duration,
        }
    }
}

#[pymethods]
impl PyBackupInfo {
    /// Wall-clock time it took to make, in seconds (microsecond resolution).
    #[getter]
    fn duration(&self) -> f64 {
        self.duration.as_secs_f64()
    }

    fn __repr__(&self) -> String {
        format!(
            "BackupInfo(id={}, timestamp={}, num_files={}, size={}, new_bytes={}, \
             files_reused={}, duration={:.6})",
            self.id,
            self.timestamp,
            self.num_files,
            self.size,
            self.new_bytes,
            self.files_reused,
            self.duration.as_secs_f64()
        )
    }
}

/// A backup id from Python: an `int` (not a `bool`), `TypeError` otherwise; a negative one
/// is `InvalidArgumentError`, as for the integer options of `kevo.open`.
fn to_backup_id(v: &Bound<'_, PyAny>) -> PyResult<u64> {
    if v.cast::<PyInt>().is_err() || v.cast::<PyBool>().is_ok() {
        return Err(PyTypeError::new_err(format!(
            "backup_id must be an int, not {}",
            v.get_type().name()?
        )));
    }
    v.extract::<u64>()
        .map_err(|_| invalid_argument(v.py(), format!("backup_id must be >= 0, got {v}")))
}

/// Incremental backups of kevo databases in the directory `path` (created if missing).
///
/// Each backup is a consistent copy of a live database, as `DB.checkpoint` makes one; its
/// SSTables go to `path/shared/` and are stored once for every backup that contains them
/// (same number, size and checksum), so a second backup of a database that changed a little
/// stores only its new tables. `restore(id, target)` writes an openable database, checking
/// every file's size and checksum as it copies, and leaves nothing behind if it fails.
///
/// Opening removes what an interrupted backup or deletion left, unless another engine is
/// making or deleting a backup in the directory at that moment. Creating and deleting take
/// the directory's `LOCK` for their duration (one at a time, across processes: a second
/// raises `LockedError`); listing, verifying and restoring take no lock. The engine keeps
/// nothing open between calls; `close()` (or the end of a `with` block) only makes later
/// calls raise `ClosedError`. Safe to share between threads; the GIL is released while it
/// works. Raises `IoError` if the directories cannot be created, `TypeError` if `path` is
/// not a `str` or `os.PathLike`.
#[pyclass(module = "kevo._kevo", name = "BackupEngine", frozen)]
pub struct PyBackupEngine {
    /// `None` once closed.
    engine: Mutex<Option<Owned<Arc<BackupEngine>>>>,
    path: PathBuf,
}

impl PyBackupEngine {
    /// The engine; `ClosedError` once closed, `ForkError` in a forked child.
    fn handle(&self, py: Python<'_>) -> PyResult<Arc<BackupEngine>> {
        let guard = self.engine.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some(e) => Ok(e.get(py)?.clone()),
            None => Err(closed(py, "the backup engine was closed")),
        }
    }

    fn is_closed(&self) -> bool {
        self.engine
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
    }
}

#[pymethods]
impl PyBackupEngine {
    /// Opens (creating it if missing) the backup directory `path`.
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        crate::fork::register();
        let engine = py.detach(|| BackupEngine::open(&path)).py_err(py)?;
        Ok(PyBackupEngine {
            engine: Mutex::new(Some(Owned::new(Arc::new(engine)))),
            path,
        })
    }

    /// The backup directory, as given.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// True once `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.is_closed()
    }

    /// Lets go of the engine; every later call raises `ClosedError`. Idempotent. A call
    /// running in another thread completes.
    fn close(&self) {
        let taken = self.engine.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(taken);
    }

    /// Backs up the open database `db` (a `kevo.DB`, writable or read-only) as a new backup,
    /// with the id one above the highest, and returns its `BackupInfo`. Every write
    /// acknowledged before the call is in it. Its SSTables already in the directory are
    /// shared, not stored again (`files_reused`; `new_bytes` counts what was stored). On
    /// failure what it wrote is removed and earlier backups are untouched. Raises
    /// `TypeError` if `db` is not a `kevo.DB`, `ClosedError` if `db` or the engine was
    /// closed, `LockedError` if a backup is being made or deleted in the directory
    /// elsewhere, `CorruptionError` if a meta file of the directory is unreadable, `IoError`
    /// (e.g. ENOSPC).
    fn create_backup(&self, py: Python<'_>, db: &Bound<'_, PyDb>) -> PyResult<PyBackupInfo> {
        let engine = self.handle(py)?;
        let db = db.get().handle(py)?.clone();
        let info = py.detach(|| engine.create_backup(&db)).py_err(py)?;
        Ok(info.into())
    }

    /// Every backup in the directory, as a list of `BackupInfo` ordered by id (empty if
    /// there is none). Raises `CorruptionError` naming a meta file that cannot be parsed,
    /// `ClosedError`, `IoError`.
    fn list_backups(&self, py: Python<'_>) -> PyResult<Vec<PyBackupInfo>> {
        let engine = self.handle(py)?;
        let all = py.detach(|| engine.list_backups()).py_err(py)?;
        Ok(all.into_iter().map(PyBackupInfo::from).collect())
    }

    /// Checks every file of backup `backup_id` (present, of the recorded size in bytes and
    /// xxh64 checksum) without restoring it; returns None if all are intact. Raises
    /// `NotFoundError` if there is no such backup, `CorruptionError` (`.file` is its path)
    /// for the first file missing or different, `TypeError` if `backup_id` is not an int,
    /// `InvalidArgumentError` if it is negative, `ClosedError`, `IoError`.
    fn verify(&self, py: Python<'_>, backup_id: &Bound<'_, PyAny>) -> PyResult<()> {
        let id = to_backup_id(backup_id)?;
        let engine = self.handle(py)?;
        py.detach(|| engine.verify(id)).py_err(py)
    }

    /// Writes backup `backup_id` into the directory `target` (missing or empty) as a
    /// database that `kevo.open(target)` opens, checking each file's size and checksum as it
    /// copies it. On failure the files it wrote are removed, and `target` too if it created
    /// it. Raises `InvalidArgumentError` if `target` exists and is not empty (it is left
    /// untouched) or `backup_id` is negative, `NotFoundError` if there is no such backup,
    /// `CorruptionError` for a file of the backup missing or different, `TypeError` for a
    /// `backup_id` that is not an int or a `target` that is not a path, `ClosedError`,
    /// `IoError`.
    fn restore(
        &self,
        py: Python<'_>,
        backup_id: &Bound<'_, PyAny>,
        target: PathBuf,
    ) -> PyResult<()> {
        let id = to_backup_id(backup_id)?;
        let engine = self.handle(py)?;
        py.detach(|| engine.restore(id, &target)).py_err(py)
    }

    /// `restore` of the backup with the highest id into `target`. Raises `NotFoundError` if
    /// there is no backup; otherwise as `restore`.
    fn restore_latest(&self, py: Python<'_>, target: PathBuf) -> PyResult<()> {
        let engine = self.handle(py)?;
        py.detach(|| engine.restore_latest(&target)).py_err(py)
    }

    /// Deletes backup `backup_id`, then the shared SSTables no remaining backup contains.
    /// Raises `NotFoundError` if there is no such backup, `LockedError` if a backup is being
    /// made or deleted in the directory elsewhere, `CorruptionError` if another backup's
    /// meta file is unreadable (the shared files are then kept), `TypeError` if `backup_id`
    /// is not an int, `InvalidArgumentError` if it is negative, `ClosedError`, `IoError`.
    fn delete_backup(&self, py: Python<'_>, backup_id: &Bound<'_, PyAny>) -> PyResult<()> {
        let id = to_backup_id(backup_id)?;
        let engine = self.handle(py)?;
        py.detach(|| engine.delete_backup(id)).py_err(py)
    }

    /// `with kevo.BackupEngine(path) as engine:` returns the engine.
    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().handle(slf.py())?;
        Ok(slf)
    }

    /// Closes the engine at the end of the `with` block (exceptions propagate).
    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> bool {
        self.close();
        false
    }

    /// Backup engines cannot be pickled.
    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "kevo.BackupEngine handles cannot be pickled; open the backup directory by path in \
             each process",
        ))
    }

    fn __repr__(&self) -> String {
        let state = if self.is_closed() { "closed" } else { "open" };
        format!("<kevo.BackupEngine {:?} {state}>", self.path)
    }
}
