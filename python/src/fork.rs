//! Detecting a handle used in a child process after `fork()`.
//!
//! A forked child has a copy of the parent's memory but none of its threads: the engine's
//! background threads, and any lock a parent thread held at the fork, are gone. Using (or
//! even closing) a database handle there could hang, corrupt the parent's database, or
//! release the parent's directory lock (a `flock` is shared by both processes). So a
//! `pthread_atfork` child handler bumps a generation counter; each handle records the
//! generation it was made in, refuses to work in another one ([`crate::errors::forked`]),
//! and when dropped there leaks its engine objects instead of closing them.

use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

use pyo3::prelude::*;

static GENERATION: AtomicU64 = AtomicU64::new(0);
static REGISTER: Once = Once::new();

extern "C" fn in_child() {
    // Async-signal-safe: a single atomic add.
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// Installs the `pthread_atfork` child handler (once per process).
pub fn register() {
    REGISTER.call_once(|| {
        // SAFETY: `in_child` is a plain `extern "C"` function that only touches an atomic.
        unsafe {
            libc::pthread_atfork(None, None, Some(in_child));
        }
    });
}

/// The current fork generation (0 in the process that loaded the module).
pub fn generation() -> u64 {
    GENERATION.load(Ordering::SeqCst)
}

/// An engine object owned by a Python handle, tied to the fork generation it was made in.
/// Dropped normally in that process; leaked in a forked child (see the module docs).
pub struct Owned<T> {
    value: ManuallyDrop<T>,
    generation: u64,
}

impl<T> Owned<T> {
    /// Wraps `value`, made now.
    pub fn new(value: T) -> Self {
        Owned {
            value: ManuallyDrop::new(value),
            generation: generation(),
        }
    }

    /// The value, or `kevo.ForkError` in a child process after `fork()`.
    pub fn get(&self, py: Python<'_>) -> PyResult<&T> {
        if self.generation != generation() {
            return Err(crate::errors::forked(py));
        }
        Ok(&self.value)
    }

    /// The value mutably, or `kevo.ForkError` in a child process after `fork()`.
    pub fn get_mut(&mut self, py: Python<'_>) -> PyResult<&mut T> {
        if self.generation != generation() {
            return Err(crate::errors::forked(py));
        }
        Ok(&mut self.value)
    }
}

impl<T> Owned<T> {
    /// The value, taken out (to be owned elsewhere), or `kevo.ForkError` in a child.
    pub fn into_inner(self, py: Python<'_>) -> PyResult<T> {
        if self.generation != generation() {
            return Err(crate::errors::forked(py));
        }
        let mut this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped (ManuallyDrop), so the value is taken exactly once.
        Ok(unsafe { ManuallyDrop::take(&mut this.value) })
    }
}

impl<T> Deref for Owned<T> {
    type Target = T;

    /// The value without the fork check (for code that already checked).
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        if self.generation == generation() {
            // SAFETY: dropped once, here; never used again.
            unsafe { ManuallyDrop::drop(&mut self.value) }
        }
    }
}
