//! Iteration: the chunked iterator behind `keys()`, `values()`, `items()` and `iter(db)`, and
//! the raw [`Cursor`] of `db.iterator()`.
//!
//! [`RangeIter`] reads entries from the engine in chunks with the GIL released (64 entries at
//! first, doubling up to 1024, or 1 MiB of keys and values), keeps them in two flat buffers,
//! and hands them out one by one in `__next__`, creating the `bytes` objects only then.
//! Releasing the GIL once per entry instead was measured ~9x slower in rocksdict.
//!
//! Both read from a [`Source`]: the database, a snapshot, or a transaction (whose cursor,
//! [`kevo::TxnIterator`], merges its own writes into its snapshot); the engine's
//! [`kevo::Cursor`] holds either kind, so the same chunking and cursor code drives both.
//!
//! Both hold a clone of the database handle (so the database stays open while they live, as
//! a file object's iterator keeps the file) and answer `ClosedError` once it was closed.
//! Neither is meant to be shared between threads: concurrent use of one iterator raises
//! `RuntimeError` (PyO3's borrow check) instead of blocking.

use std::sync::{mpsc, Arc, Mutex};

use kevo::{Db, ReadOptions, Snapshot, Transaction};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::convert::{bytes_of, optional_bytes, to_bytes};
use crate::errors::{invalid_argument, IntoPy};
use crate::fork::Owned;

/// Where reads go: the database as of now, or a snapshot of it.
#[derive(Clone)]
pub enum Source {
    /// The database, as of the start of each read.
    Db(Arc<Db>),
    /// A snapshot (with its database, kept open while the source lives).
    Snapshot(Arc<Db>, Snapshot),
    /// What a transaction sees: its snapshot plus its own writes (with its database).
    Txn(Arc<Db>, Arc<Transaction>),
}

impl Source {
    /// The database read from.
    pub fn db(&self) -> &Arc<Db> {
        match self {
            Source::Db(db) | Source::Snapshot(db, _) | Source::Txn(db, _) => db,
        }
    }

    /// The value of `key` (the GIL should be released around this call).
    pub fn get(&self, key: &[u8]) -> kevo::Result<Option<Vec<u8>>> {
        match self {
            Source::Db(db) => db.get(key),
            Source::Snapshot(_, s) => s.get(key),
            Source::Txn(_, t) => t.get(key),
        }
    }

    /// The values of `keys` at one view (a database's multi-get reads one super version; a
    /// transaction answers key by key from its snapshot and own writes).
    pub fn multi_get(&self, keys: &[Vec<u8>]) -> kevo::Result<Vec<Option<Vec<u8>>>> {
        match self {
            Source::Db(db) => db.multi_get(keys),
            Source::Snapshot(_, s) => s.multi_get(keys),
            Source::Txn(_, t) => keys.iter().map(|k| t.get(k)).collect(),
        }
    }

    /// A cursor within `read`'s bounds.
    pub fn iter(&self, read: ReadOptions) -> kevo::Result<kevo::Cursor> {
        match self {
            Source::Db(db) => db.iter(read).map(kevo::Cursor::from),
            Source::Snapshot(_, s) => s.iter(read).map(kevo::Cursor::from),
            Source::Txn(_, t) => t.iter(read).map(kevo::Cursor::from),
        }
    }
}

/// The bounds of a range read: `start` inclusive, `stop` exclusive, `prefix`.
pub fn read_options(
    start: Option<&Bound<'_, PyAny>>,
    stop: Option<&Bound<'_, PyAny>>,
    prefix: Option<&Bound<'_, PyAny>>,
) -> PyResult<ReadOptions> {
    Ok(ReadOptions {
        lower_bound: optional_bytes(start)?,
        upper_bound: optional_bytes(stop)?,
        prefix: optional_bytes(prefix)?,
        snapshot: None,
    })
}

/// What a [`RangeIter`] yields.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Keys.
    Keys,
    /// Values.
    Values,
    /// `(key, value)` tuples.
    Items,
}

impl Mode {
    /// The mode for its number in the Python glue: 0 keys, 1 values, 2 items.
    pub fn from_int(py: Python<'_>, n: u8) -> PyResult<Mode> {
        match n {
            0 => Ok(Mode::Keys),
            1 => Ok(Mode::Values),
            2 => Ok(Mode::Items),
            _ => Err(invalid_argument(
                py,
                "mode must be 0 (keys), 1 (values) or 2 (items)",
            )),
        }
    }
}

/// A cursor and the database handle it came from.
pub struct CursorState {
    it: kevo::Cursor,
    source: Source,
}

/// The state behind a mutex only so that the class is `Sync` (as PyO3 requires); the
/// methods take `&mut self`, so the lock is never contended (`Mutex::get_mut`).
fn state(m: &mut Mutex<CursorState>) -> &mut CursorState {
    m.get_mut().unwrap_or_else(|p| p.into_inner())
}

/// Opens a cursor on `source` within `read` (GIL released).
pub fn open_cursor(
    py: Python<'_>,
    source: Source,
    read: ReadOptions,
) -> PyResult<Owned<Mutex<CursorState>>> {
    let it = py.detach(|| source.iter(read)).py_err(py)?;
    Ok(Owned::new(Mutex::new(CursorState { it, source })))
}

const FIRST_CHUNK: usize = 64;
const MAX_CHUNK: usize = 1024;
const MAX_CHUNK_BYTES: usize = 1 << 20;
/// Chunks read inline (64 + 128 + 256 + 512 entries) before a long iteration moves its
/// engine cursor to a read-ahead thread.
const INLINE_CHUNKS: u32 = 4;
/// Chunks the read-ahead thread may have ready before it waits for the consumer.
const READ_AHEAD: usize = 2;

/// Entries read ahead, in flat buffers: entry `i` is `keys[ends[i-1].0..ends[i].0]` (and the
/// same in `values` with `.1`).
#[derive(Default)]
struct Chunk {
    keys: Vec<u8>,
    values: Vec<u8>,
    ends: Vec<(usize, usize)>,
    next: usize,
}

impl Chunk {
    fn clear(&mut self) {
        self.keys.clear();
        self.values.clear();
        self.ends.clear();
        self.next = 0;
    }

    fn entry(&self, i: usize) -> (&[u8], &[u8]) {
        let (k0, v0) = if i == 0 { (0, 0) } else { self.ends[i - 1] };
        let (k1, v1) = self.ends[i];
        (&self.keys[k0..k1], &self.values[v0..v1])
    }

    /// Refills the chunk from `it` (already positioned) with up to `size` entries; returns
    /// whether the range is done, and the engine's error if it stopped on one.
    fn fill_from(
        &mut self,
        it: &mut kevo::Cursor,
        mode: Mode,
        reverse: bool,
        size: usize,
    ) -> (bool, Option<kevo::Error>) {
        self.clear();
        let mut bytes = 0;
        while it.valid() && self.ends.len() < size && bytes < MAX_CHUNK_BYTES {
            if mode != Mode::Values {
                self.keys.extend_from_slice(it.key());
            }
            if mode != Mode::Keys {
                self.values.extend_from_slice(it.value());
            }
            self.ends.push((self.keys.len(), self.values.len()));
            bytes = self.keys.len() + self.values.len();
            if reverse {
                it.prev();
            } else {
                it.next();
            }
        }
        if it.valid() {
            (false, None)
        } else {
            (true, it.status().err())
        }
    }
}

/// A chunk made by the read-ahead thread.
struct Filled {
    chunk: Chunk,
    done: bool,
    error: Option<kevo::Error>,
}

/// The consumer's end of a read-ahead thread: filled chunks come in, spent ones go back
/// for reuse. Dropping it stops the thread (its next send fails).
struct ReadAhead {
    /// Behind a mutex only for `Sync`; used through `get_mut`.
    filled: Mutex<mpsc::Receiver<Filled>>,
    spare: mpsc::Sender<Chunk>,
}

impl ReadAhead {
    /// Moves `cursor` to a new thread that fills chunks of `MAX_CHUNK` entries ahead of the
    /// consumer, at most `READ_AHEAD` at a time.
    fn start(cursor: CursorState, mode: Mode, reverse: bool) -> std::io::Result<ReadAhead> {
        let (filled_tx, filled_rx) = mpsc::sync_channel::<Filled>(READ_AHEAD);
        let (spare_tx, spare_rx) = mpsc::channel::<Chunk>();
        std::thread::Builder::new()
            .name("kevo-read-ahead".into())
            .spawn(move || {
                let mut cursor = cursor;
                loop {
                    let mut chunk = spare_rx.try_recv().unwrap_or_default();
                    let (done, error) = chunk.fill_from(&mut cursor.it, mode, reverse, MAX_CHUNK);
                    if filled_tx.send(Filled { chunk, done, error }).is_err() || done {
                        break;
                    }
                }
            })?;
        Ok(ReadAhead {
            filled: Mutex::new(filled_rx),
            spare: spare_tx,
        })
    }
}

/// Where a [`RangeIter`] gets its chunks.
enum Feed {
    /// Filled in the calling thread, with the GIL released (short iterations). Boxed: a
    /// cursor is several times the size of the other variants.
    Inline(Box<Owned<Mutex<CursorState>>>),
    /// Filled by a read-ahead thread (long iterations: the engine's work then overlaps the
    /// Python loop's).
    ReadAhead(Owned<ReadAhead>),
    /// Between the two.
    Moving,
}

/// The iterator of `keys()`, `values()`, `items()` and `iter(db)`: entries in key order (or
/// reverse order), read in chunks with the GIL released.
///
/// The first chunks (64 entries, doubling) are read in the calling thread; past about a
/// thousand entries, the engine cursor moves to a read-ahead thread that fills chunks of
/// 1024 while Python consumes the previous one.
#[pyclass(module = "kevo._kevo", name = "RangeIterator")]
pub struct RangeIter {
    db: Owned<Arc<Db>>,
    feed: Feed,
    mode: Mode,
    reverse: bool,
    fills: u32,
    done: bool,
    error: Option<kevo::Error>,
    chunk_size: usize,
    chunk: Chunk,
}

impl RangeIter {
    /// An iterator over `source` within `read`, yielding `mode`, in reverse if `reverse`.
    pub fn open(
        py: Python<'_>,
        source: Source,
        read: ReadOptions,
        mode: Mode,
        reverse: bool,
    ) -> PyResult<RangeIter> {
        let db = Owned::new(source.db().clone());
        Ok(RangeIter {
            db,
            feed: Feed::Inline(Box::new(open_cursor(py, source, read)?)),
            mode,
            reverse,
            fills: 0,
            done: false,
            error: None,
            chunk_size: FIRST_CHUNK,
            chunk: Chunk::default(),
        })
    }

    /// Reads the next chunk (GIL released while waiting for or making it). Leaves `done`
    /// set at the end of the range and `error` set if the engine failed.
    fn fill(&mut self, py: Python<'_>) -> PyResult<()> {
        let (mode, reverse) = (self.mode, self.reverse);
        if self.fills == INLINE_CHUNKS {
            if let Feed::Inline(cursor) = std::mem::replace(&mut self.feed, Feed::Moving) {
                let cursor = cursor.into_inner(py)?;
                let cursor = cursor.into_inner().unwrap_or_else(|p| p.into_inner());
                self.feed = Feed::ReadAhead(Owned::new(
                    ReadAhead::start(cursor, mode, reverse).map_err(|e| {
                        crate::errors::to_py(py, kevo::Error::io("spawn the read-ahead thread", e))
                    })?,
                ));
            }
        }
        let chunk = &mut self.chunk;
        let (done, error) = match &mut self.feed {
            Feed::Inline(cursor) => {
                let cursor = state(cursor.get_mut(py)?);
                let (size, first) = (self.chunk_size, self.fills == 0);
                py.detach(|| {
                    let it = &mut cursor.it;
                    if first {
                        if reverse {
                            it.seek_to_last();
                        } else {
                            it.seek_to_first();
                        }
                    }
                    chunk.fill_from(it, mode, reverse, size)
                })
            }
            Feed::ReadAhead(ra) => {
                let ra = ra.get_mut(py)?;
                let rx = ra.filled.get_mut().unwrap_or_else(|p| p.into_inner());
                let next = match rx.try_recv() {
                    Ok(f) => Ok(f),
                    Err(mpsc::TryRecvError::Empty) => py.detach(move || rx.recv()),
                    Err(mpsc::TryRecvError::Disconnected) => Err(mpsc::RecvError),
                };
                match next {
                    Ok(f) => {
                        let spent = std::mem::replace(chunk, f.chunk);
                        let _ = ra.spare.send(spent);
                        (f.done, f.error)
                    }
                    Err(mpsc::RecvError) => {
                        chunk.clear();
                        (
                            true,
                            Some(kevo::Error::Background(
                                "the read-ahead thread stopped unexpectedly".into(),
                            )),
                        )
                    }
                }
            }
            Feed::Moving => (true, None),
        };
        self.fills += 1;
        self.done = done;
        self.error = error;
        self.chunk_size = (self.chunk_size * 2).min(MAX_CHUNK);
        Ok(())
    }
}

#[pymethods]
impl RangeIter {
    /// The iterator itself.
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// The next key, value or `(key, value)`; `StopIteration` at the end of the range.
    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        // Entries read ahead are not handed out once the database is closed.
        if self.db.get(py)?.is_closed() {
            return Err(crate::errors::to_py(py, kevo::Error::Closed));
        }
        if self.chunk.next == self.chunk.ends.len() {
            if let Some(e) = self.error.take() {
                self.done = true;
                return Err(crate::errors::to_py(py, e));
            }
            if self.done {
                return Ok(None);
            }
            self.fill(py)?;
            if self.chunk.ends.is_empty() {
                return match self.error.take() {
                    Some(e) => Err(crate::errors::to_py(py, e)),
                    None => Ok(None),
                };
            }
        }
        let i = self.chunk.next;
        self.chunk.next += 1;
        let (k, v) = self.chunk.entry(i);
        Ok(Some(match self.mode {
            Mode::Keys => PyBytes::new(py, k).into_any(),
            Mode::Values => PyBytes::new(py, v).into_any(),
            Mode::Items => PyTuple::new(py, [PyBytes::new(py, k), PyBytes::new(py, v)])?.into_any(),
        }))
    }

    /// Iterators cannot be pickled.
    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "kevo iterators cannot be pickled; iterate in the process that opened the database",
        ))
    }
}

/// A raw cursor over a database or snapshot, from `db.iterator()`.
///
/// Position it with `seek_to_first`, `seek_to_last`, `seek` or `seek_for_prev`, move it
/// with `next` and `prev`, read it with `valid`, `key`, `value` and `item`. It is also a
/// Python iterator of `(key, value)` from its current position (from the first entry, or
/// the last if `reverse`, when it was not positioned), moving forward (backward if
/// `reverse`).
#[pyclass(module = "kevo._kevo", name = "Cursor")]
pub struct Cursor {
    cursor: Owned<Mutex<CursorState>>,
    reverse: bool,
    positioned: bool,
}

impl Cursor {
    /// A cursor over `source` within `read`.
    pub fn open(
        py: Python<'_>,
        source: Source,
        read: ReadOptions,
        reverse: bool,
    ) -> PyResult<Cursor> {
        Ok(Cursor {
            cursor: open_cursor(py, source, read)?,
            reverse,
            positioned: false,
        })
    }

    /// Runs `f` on the engine cursor with the GIL released, then raises its error if it
    /// became invalid because of one.
    fn move_by(
        &mut self,
        py: Python<'_>,
        f: impl FnOnce(&mut kevo::Cursor) + Send,
    ) -> PyResult<()> {
        let state = state(self.cursor.get_mut(py)?);
        let status = py.detach(|| {
            f(&mut state.it);
            if state.it.valid() {
                Ok(())
            } else {
                state.it.status()
            }
        });
        self.positioned = true;
        status.py_err(py)
    }

    /// The engine cursor; `ClosedError` once the database is closed (even if the cursor
    /// still stands on an entry read before), `ForkError` in a forked child.
    fn open_state(&mut self, py: Python<'_>) -> PyResult<&mut CursorState> {
        let state = state(self.cursor.get_mut(py)?);
        if state.source.db().is_closed() {
            return Err(crate::errors::to_py(py, kevo::Error::Closed));
        }
        Ok(state)
    }

    fn current(&mut self, py: Python<'_>) -> PyResult<&kevo::Cursor> {
        let state = self.open_state(py)?;
        if !state.it.valid() {
            state.it.status().py_err(py)?;
            return Err(PyValueError::new_err(
                "the cursor is not on an entry (check valid() first)",
            ));
        }
        Ok(&state.it)
    }
}

#[pymethods]
impl Cursor {
    /// Moves to the first entry in range.
    fn seek_to_first(&mut self, py: Python<'_>) -> PyResult<()> {
        self.move_by(py, |it| it.seek_to_first())
    }

    /// Moves to the last entry in range.
    fn seek_to_last(&mut self, py: Python<'_>) -> PyResult<()> {
        self.move_by(py, |it| it.seek_to_last())
    }

    /// Moves to the first entry whose key is >= `key`.
    fn seek(&mut self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let key = bytes_of(key)?.into_vec();
        self.move_by(py, move |it| it.seek(&key))
    }

    /// Moves to the last entry whose key is <= `key`.
    fn seek_for_prev(&mut self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let key = bytes_of(key)?.into_vec();
        self.move_by(py, move |it| it.seek_for_prev(&key))
    }

    /// Moves to the next entry (the cursor must be on one).
    fn next(&mut self, py: Python<'_>) -> PyResult<()> {
        self.current(py)?;
        self.move_by(py, |it| it.next())
    }

    /// Moves to the previous entry (the cursor must be on one).
    fn prev(&mut self, py: Python<'_>) -> PyResult<()> {
        self.current(py)?;
        self.move_by(py, |it| it.prev())
    }

    /// True if the cursor is on an entry. Raises the engine's error (e.g. `ClosedError`) if
    /// it stopped because of one.
    fn valid(&mut self, py: Python<'_>) -> PyResult<bool> {
        let state = self.open_state(py)?;
        if state.it.valid() {
            return Ok(true);
        }
        state.it.status().py_err(py)?;
        Ok(false)
    }

    /// The key of the current entry (`ValueError` if the cursor is not on one).
    fn key<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(to_bytes(py, self.current(py)?.key()))
    }

    /// The value of the current entry (`ValueError` if the cursor is not on one).
    fn value<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(to_bytes(py, self.current(py)?.value()))
    }

    /// `(key, value)` of the current entry (`ValueError` if the cursor is not on one).
    fn item<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let it = self.current(py)?;
        PyTuple::new(py, [to_bytes(py, it.key()), to_bytes(py, it.value())])
    }

    /// The cursor itself.
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// The current `(key, value)`, then moves on; `StopIteration` when past the range.
    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        if !self.positioned {
            if self.reverse {
                self.seek_to_last(py)?;
            } else {
                self.seek_to_first(py)?;
            }
        }
        if !self.valid(py)? {
            return Ok(None);
        }
        let item = self.item(py)?;
        if self.reverse {
            self.move_by(py, |it| it.prev())?;
        } else {
            self.move_by(py, |it| it.next())?;
        }
        Ok(Some(item))
    }

    /// Cursors cannot be pickled.
    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "kevo.Cursor handles cannot be pickled; open a cursor in the process that uses it",
        ))
    }
}

/// Number of entries of `source` within `read` (GIL released): the O(n) count behind `len()`.
pub fn count(py: Python<'_>, source: &Source, read: ReadOptions) -> PyResult<usize> {
    py.detach(|| {
        let mut it = source.iter(read)?;
        let mut n = 0;
        it.seek_to_first();
        while it.valid() {
            n += 1;
            it.next();
        }
        it.status().map(|()| n)
    })
    .py_err(py)
}

/// True if `source` has an entry within `read` (GIL released): the O(1) `bool()`.
pub fn any(py: Python<'_>, source: &Source, read: ReadOptions) -> PyResult<bool> {
    py.detach(|| {
        let mut it = source.iter(read)?;
        it.seek_to_first();
        if it.valid() {
            Ok(true)
        } else {
            it.status().map(|()| false)
        }
    })
    .py_err(py)
}
