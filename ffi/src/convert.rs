//! Conversions of C arguments: byte strings, output pointers, C strings.

use std::ffi::{c_char, CStr};

use crate::error::Failure;

/// The byte string `ptr[0..len]`, formed only after `limit` (the engine's check of `len`
/// for what the argument is) accepted the length: NULL is allowed with a length of 0 (the
/// empty string) and refused with any other.
///
/// Errors: `limit`'s error; `KEVO_INVALID_ARGUMENT` naming `what` for a NULL pointer with a
/// non-zero length.
///
/// # Safety
/// If `ptr` is not NULL it must be valid for reads of `len` bytes for the returned lifetime.
unsafe fn bytes<'a>(
    ptr: *const u8,
    len: usize,
    what: &str,
    limit: kevo::Result<()>,
) -> Result<&'a [u8], Failure> {
    limit?;
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Failure::invalid(format!(
                "{what} pointer is NULL but its length is {len}"
            )))
        };
    }
    // `slice::from_raw_parts` requires `len <= isize::MAX`; every engine limit is far below
    // it, so this holds whenever `limit` passed, but it is what makes the slice sound.
    if len > isize::MAX as usize {
        return Err(Failure::invalid(format!("{what} is {len} bytes")));
    }
    // SAFETY: `ptr` is non-NULL, valid for `len` bytes per the caller, `u8` needs no
    // alignment, and `len <= isize::MAX` was checked above.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A key, with the engine's key rules (`kevo::batch::check_key_len`).
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn key<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], Failure> {
    // SAFETY: forwarded from the caller.
    unsafe { bytes(ptr, len, "key", kevo::batch::check_key_len(len)) }
}

/// A value, with the engine's value rule (`kevo::batch::check_value_len`; empty allowed,
/// NULL with 0 too).
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn value<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], Failure> {
    // SAFETY: forwarded from the caller.
    unsafe { bytes(ptr, len, "value", kevo::batch::check_value_len(len)) }
}

/// A key-shaped argument that may be empty (a seek target, a bound, a prefix), named `what`,
/// with the engine's rule for those (`kevo::batch::check_bound_len`).
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn bound<'a>(
    ptr: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a [u8], Failure> {
    // SAFETY: forwarded from the caller.
    unsafe { bytes(ptr, len, what, kevo::batch::check_bound_len(what, len)) }
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
