//! Conversions of C arguments: byte strings, output pointers, C strings.

use std::ffi::{c_char, CStr};

use crate::error::Failure;

/// The byte string `ptr[0..len]`, checked before any slice is formed: `len` at most `max`
/// (so also at most `isize::MAX`, as `slice::from_raw_parts` requires), and `ptr` non-NULL
/// unless `len` is 0 (NULL with 0 is the empty string).
///
/// Errors: `KEVO_INVALID_ARGUMENT` naming `what`.
///
/// # Safety
/// If `ptr` is not NULL it must be valid for reads of `len` bytes for the returned lifetime.
pub(crate) unsafe fn bytes<'a>(
    ptr: *const u8,
    len: usize,
    max: usize,
    what: &str,
) -> Result<&'a [u8], Failure> {
    if len > max || len > isize::MAX as usize {
        return Err(Failure::invalid(format!(
            "{what} is {len} bytes, the limit is {max}"
        )));
    }
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Failure::invalid(format!(
                "{what} pointer is NULL but its length is {len}"
            )))
        };
    }
    // SAFETY: `ptr` is non-NULL, valid for `len` bytes per the caller, `u8` needs no
    // alignment, and `len <= isize::MAX` was checked above.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A key: as [`bytes`] with the engine's key limit, and not empty.
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn key<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], Failure> {
    // SAFETY: forwarded from the caller.
    let k = unsafe { bytes(ptr, len, kevo::MAX_KEY_SIZE, "key") }?;
    if k.is_empty() {
        return Err(Failure::invalid("key must not be empty"));
    }
    Ok(k)
}

/// A value: as [`bytes`] with the engine's value limit (empty allowed, NULL with 0 too).
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn value<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], Failure> {
    // SAFETY: forwarded from the caller.
    unsafe { bytes(ptr, len, kevo::MAX_VALUE_SIZE, "value") }
}

/// Checks a required output pointer.
///
/// Errors: `KEVO_INVALID_ARGUMENT` if NULL.
pub(crate) fn out<T>(ptr: *mut T, what: &str) -> Result<*mut T, Failure> {
    if ptr.is_null() {
        Err(Failure::invalid(format!("{what} must not be NULL")))
    } else {
        Ok(ptr)
    }
}

/// A NUL-terminated UTF-8 string argument.
///
/// Errors: `KEVO_INVALID_ARGUMENT` if NULL or not UTF-8.
///
/// # Safety
/// If not NULL, `ptr` points to a NUL-terminated string valid for the returned lifetime.
pub(crate) unsafe fn c_str<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(Failure::invalid(format!("{what} must not be NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller.
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| Failure::invalid(format!("{what} is not valid UTF-8")))
}

/// Copies `data` into a new `malloc` block (at least 1 byte, so it is never NULL for empty
/// data), to be released with `kevo_free`.
///
/// Errors: `KEVO_INTERNAL` if `malloc` fails.
pub(crate) fn malloc_copy(data: &[u8], nul_terminate: bool) -> Result<*mut u8, Failure> {
    let size = data.len() + usize::from(nul_terminate);
    // SAFETY: malloc with a non-zero size has no preconditions.
    let p = unsafe { libc::malloc(size.max(1)) } as *mut u8;
    if p.is_null() {
        return Err(Failure::new(
            crate::error::kevo_status::KEVO_INTERNAL,
            format!("out of memory allocating {size} bytes"),
        ));
    }
    // SAFETY: `p` holds at least `size >= data.len()` bytes and does not overlap `data`.
    unsafe {
        std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len());
        if nul_terminate {
            p.add(data.len()).write(0);
        }
    }
    Ok(p)
}
