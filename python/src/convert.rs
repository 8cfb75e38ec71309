//! Python buffers in, `bytes` out.
//!
//! Keys and values may be `bytes`, `bytearray` or `memoryview`. `bytes` is immutable, so its
//! contents are borrowed as they are (the caller holds a reference to the object for as long
//! as the borrow lives, with or without the GIL); `bytearray` and `memoryview` may change
//! under a released GIL, so they are copied first.

use std::ops::Deref;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyMemoryView};

/// The bytes of a key or value argument: borrowed from a `bytes` object, or an owned copy.
pub enum Bytes<'a> {
    /// The contents of an immutable `bytes` object.
    Borrowed(&'a [u8]),
    /// A copy of a `bytearray` or `memoryview`.
    Owned(Vec<u8>),
}

impl Deref for Bytes<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Borrowed(b) => b,
            Bytes::Owned(v) => v,
        }
    }
}

impl Bytes<'_> {
    /// The bytes as an owned vector.
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Bytes::Borrowed(b) => b.to_vec(),
            Bytes::Owned(v) => v,
        }
    }
}

/// The `TypeError` for an argument of type `obj` where a buffer was expected.
pub fn type_error(obj: &Bound<'_, PyAny>) -> PyErr {
    let name = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_owned());
    PyTypeError::new_err(format!(
        "keys and values must be bytes, bytearray or memoryview, not {name}"
    ))
}

/// The bytes of `obj` (`bytes`, `bytearray` or `memoryview`); `TypeError` for anything else.
pub fn bytes_of<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<Bytes<'a>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Bytes::Borrowed(b.as_bytes()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Bytes::Owned(b.to_vec()));
    }
    if obj.cast::<PyMemoryView>().is_ok() {
        // tobytes() handles every format and non-contiguous views.
        let copy = obj.call_method0("tobytes")?;
        return Ok(Bytes::Owned(copy.cast::<PyBytes>()?.as_bytes().to_vec()));
    }
    Err(type_error(obj))
}

/// Like [`bytes_of`] for an optional bound (`None` = unbounded).
pub fn optional_bytes(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<u8>>> {
    match obj {
        Some(o) if !o.is_none() => Ok(Some(bytes_of(o)?.into_vec())),
        _ => Ok(None),
    }
}

/// A new `bytes` object holding `b`.
pub fn to_bytes<'py>(py: Python<'py>, b: &[u8]) -> Bound<'py, PyBytes> {
    PyBytes::new(py, b)
}
