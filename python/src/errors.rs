//! The exception classes of the `kevo` package, and the mapping of [`kevo::Error`] onto them.
//!
//! ```text
//! kevo.Error(Exception)
//! ├── IoError(Error, OSError)                 kevo::Error::Io (errno set when the OS gave one)
//! ├── CorruptionError(Error)                  kevo::Error::Corruption (.file, .offset, .detail)
//! ├── InvalidArgumentError(Error, ValueError) kevo::Error::InvalidArgument, bad options
//! ├── LockedError(Error)                      kevo::Error::Locked (.path): open elsewhere
//! ├── ClosedError(Error)                      kevo::Error::Closed: use after close()
//! ├── NotFoundError(Error, FileNotFoundError) kevo::Error::NotFound: no database or backup there
//! ├── BackgroundError(Error)                  kevo::Error::Background: read-only until reopen
//! ├── ConflictError(Error)                    kevo::Error::Conflict: a transaction's commit lost
//! ├── ReadOnlyError(Error)                    kevo::Error::ReadOnly: a write to a read-only handle
//! └── ForkError(Error, RuntimeError)          a handle used in a child after fork()
//! ```
//!
//! The classes need multiple inheritance (so `except OSError` catches an I/O error), which
//! `pyo3::create_exception!` cannot express; they are made once at module init by calling
//! `type(name, bases, namespace)` and kept in a [`PyOnceLock`].

use pyo3::exceptions::{PyException, PyFileNotFoundError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

/// The exception classes, made at module init.
pub struct Classes {
    /// `kevo.Error`, the base of every kevo exception.
    pub error: Py<PyType>,
    /// `kevo.IoError`.
    pub io: Py<PyType>,
    /// `kevo.CorruptionError`.
    pub corruption: Py<PyType>,
    /// `kevo.InvalidArgumentError`.
    pub invalid_argument: Py<PyType>,
    /// `kevo.LockedError`.
    pub locked: Py<PyType>,
    /// `kevo.ClosedError`.
    pub closed: Py<PyType>,
    /// `kevo.NotFoundError`.
    pub not_found: Py<PyType>,
    /// `kevo.BackgroundError`.
    pub background: Py<PyType>,
    /// `kevo.ConflictError`.
    pub conflict: Py<PyType>,
    /// `kevo.ReadOnlyError`.
    pub read_only: Py<PyType>,
    /// `kevo.ForkError`.
    pub fork: Py<PyType>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

/// Makes one exception class `kevo.<name>` with `bases` and docstring `doc`.
fn make_class<'py>(
    py: Python<'py>,
    name: &str,
    bases: Vec<Bound<'py, PyType>>,
    doc: &str,
) -> PyResult<Py<PyType>> {
    let namespace = PyDict::new(py);
    namespace.set_item("__module__", "kevo")?;
    namespace.set_item("__doc__", doc)?;
    let class = py
        .get_type::<PyType>()
        .call1((name, PyTuple::new(py, bases)?, namespace))?;
    Ok(class.cast_into::<PyType>()?.unbind())
}

/// Makes the classes (once) and adds them to module `m`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let classes = CLASSES.get_or_try_init(py, || -> PyResult<Classes> {
        let error = make_class(
            py,
            "Error",
            vec![py.get_type::<PyException>()],
            "Base class of every error kevo raises.",
        )?;
        let base = || error.bind(py).clone();
        Ok(Classes {
            io: make_class(
                py,
                "IoError",
                vec![base(), py.get_type::<PyOSError>()],
                "An operating-system I/O call failed (ENOSPC, EIO, permission denied, ...); \
                 errno is set when the OS gave one.",
            )?,
            corruption: make_class(
                py,
                "CorruptionError",
                vec![base()],
                "Stored data failed a check (checksum, magic number, length). Attributes: \
                 file, offset, detail.",
            )?,
            invalid_argument: make_class(
                py,
                "InvalidArgumentError",
                vec![base(), py.get_type::<PyValueError>()],
                "An argument kevo cannot accept: an empty or over-long key, an over-long value, \
                 an option out of range.",
            )?,
            locked: make_class(
                py,
                "LockedError",
                vec![base()],
                "The database directory is already open, in this process or another. \
                 Attribute: path.",
            )?,
            closed: make_class(
                py,
                "ClosedError",
                vec![base()],
                "The database was closed (or the snapshot released) before this call.",
            )?,
            not_found: make_class(
                py,
                "NotFoundError",
                vec![base(), py.get_type::<PyFileNotFoundError>()],
                "There is no database at the path (and create_if_missing is false), a \
                 file the manifest names is missing, or there is no such backup.",
            )?,
            background: make_class(
                py,
                "BackgroundError",
                vec![base()],
                "A background flush or compaction failed; the database is read-only until \
                 reopened.",
            )?,
            conflict: make_class(
                py,
                "ConflictError",
                vec![base()],
                "A transaction's commit failed because another commit since its snapshot \
                 wrote a key it wrote (or, when serializable, a key or range it read). Nothing \
                 was written; run the whole transaction again (see kevo.run_transaction).",
            )?,
            read_only: make_class(
                py,
                "ReadOnlyError",
                vec![base()],
                "A write, flush or compaction was asked of a database opened with \
                 read_only=True. Nothing was written.",
            )?,
            fork: make_class(
                py,
                "ForkError",
                vec![base(), py.get_type::<PyRuntimeError>()],
                "A kevo handle was used in a child process after fork(); reopen the database \
                 in the child.",
            )?,
            error,
        })
    })?;
    for (name, class) in [
        ("Error", &classes.error),
        ("IoError", &classes.io),
        ("CorruptionError", &classes.corruption),
        ("InvalidArgumentError", &classes.invalid_argument),
        ("LockedError", &classes.locked),
        ("ClosedError", &classes.closed),
        ("NotFoundError", &classes.not_found),
        ("BackgroundError", &classes.background),
        ("ConflictError", &classes.conflict),
        ("ReadOnlyError", &classes.read_only),
        ("ForkError", &classes.fork),
    ] {
        m.add(name, class.bind(py))?;
    }
    Ok(())
}

fn classes(py: Python<'_>) -> &Classes {
    CLASSES
        .get(py)
        .expect("kevo exception classes are made at module init")
}

/// An instance of `class` made from `args`, as a `PyErr`, with `attrs` set on it.
fn raise<'py, A>(
    py: Python<'py>,
    class: &Py<PyType>,
    args: A,
    attrs: &[(&str, Bound<'py, PyAny>)],
) -> PyErr
where
    A: pyo3::call::PyCallArgs<'py>,
{
    let make = || -> PyResult<PyErr> {
        let value = class.bind(py).call1(args)?;
        for (name, v) in attrs {
            value.setattr(*name, v)?;
        }
        Ok(PyErr::from_value(value))
    };
    make().unwrap_or_else(|e| e)
}

/// The Python exception for an engine error.
///
/// `kevo::Error` is `#[non_exhaustive]`, so Rust requires a wildcard arm here; a variant
/// added to the engine later maps to the base class `kevo.Error` until it gets its own.
pub fn to_py(py: Python<'_>, e: kevo::Error) -> PyErr {
    let c = classes(py);
    let message = e.to_string();
    match e {
        kevo::Error::Io { source, .. } => match source.raw_os_error() {
            Some(errno) => raise(py, &c.io, (errno, message), &[]),
            None => raise(py, &c.io, (message,), &[]),
        },
        kevo::Error::Corruption {
            file,
            offset,
            detail,
        } => {
            let attrs = [
                ("file", file.into_pyobject(py).map(Bound::into_any)),
                ("offset", offset.into_pyobject(py).map(Bound::into_any)),
                ("detail", detail.into_pyobject(py).map(Bound::into_any)),
            ];
            let attrs: Vec<_> = attrs
                .into_iter()
                .filter_map(|(n, v)| v.ok().map(|v| (n, v)))
                .collect();
            raise(py, &c.corruption, (message,), &attrs)
        }
        kevo::Error::InvalidArgument(_) => raise(py, &c.invalid_argument, (message,), &[]),
        kevo::Error::Locked(path) => {
            let attrs: Vec<_> = path
                .to_string_lossy()
                .into_owned()
                .into_pyobject(py)
                .map(|p| ("path", p.into_any()))
                .into_iter()
                .collect();
            raise(py, &c.locked, (message,), &attrs)
        }
        kevo::Error::Closed => raise(py, &c.closed, (message,), &[]),
        kevo::Error::NotFound(_) => raise(py, &c.not_found, (libc::ENOENT, message), &[]),
        kevo::Error::Background(_) => raise(py, &c.background, (message,), &[]),
        kevo::Error::Conflict(_) => raise(py, &c.conflict, (message,), &[]),
        kevo::Error::ReadOnly(_) => raise(py, &c.read_only, (message,), &[]),
        _ => raise(py, &c.error, (message,), &[]),
    }
}

/// `kevo.InvalidArgumentError(message)`.
pub fn invalid_argument(py: Python<'_>, message: impl Into<String>) -> PyErr {
    raise(py, &classes(py).invalid_argument, (message.into(),), &[])
}

/// True if `e` is a `kevo.ConflictError` (or a subclass).
pub fn is_conflict(py: Python<'_>, e: &PyErr) -> bool {
    e.is_instance(py, classes(py).conflict.bind(py))
}

/// `kevo.ClosedError(message)`.
pub fn closed(py: Python<'_>, message: &str) -> PyErr {
    raise(py, &classes(py).closed, (message.to_owned(),), &[])
}

/// `kevo.ForkError`: a handle made before `fork()` used in the child.
pub fn forked(py: Python<'_>) -> PyErr {
    raise(
        py,
        &classes(py).fork,
        (
            "kevo handle used in a child process after fork(); reopen the database in the child"
                .to_owned(),
        ),
        &[],
    )
}

/// Converts an engine result, mapping the error with [`to_py`].
pub trait IntoPy<T> {
    /// The value, or the Python exception for the engine error.
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPy<T> for kevo::Result<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}
