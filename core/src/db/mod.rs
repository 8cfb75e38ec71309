//! [`Db`]: the database handle, and how its parts fit together.
//!
//! ```text
//!   put/delete/write ─► write queue ─► WAL append (+ fsync per SyncMode) ─► memtable
//!                        (group commit: one leader writes for every queued writer)
//!   memtable full ─► immutable memtable + new WAL segment ─► background flush ─► L0 SSTable
//!   L0 / a level too big ─► background compaction (leveled or tiered) ─► L1..L6 SSTables
//!   get/iter ─► memtable ─► immutable memtables (newest first) ─► L0 (newest first) ─► L1..
//! ```
//!
//! Readers work on a [`SuperVersion`]: the memtable, the immutable memtables and the
//! [`Version`] (set of SSTables) current at one moment, swapped as a unit (the name is
//! RocksDB's). A reader clones the `Arc` and never blocks the writer or the background
//! thread; whatever it holds stays readable, and files it may need are not deleted, until it
//! lets go.
//!
//! The submodules hold the steps: [`open`](self) recovery, the write path, and the
//! background work (flush, compaction, obsolete-file removal).

mod background;
mod open;
mod write;

pub(crate) use background::file_meta;

use std::collections::{HashSet, VecDeque};
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex, RwLock};

use crate::batch::{check_key, WriteBatch};
use crate::error::{Error, Result};
use crate::fs::{FileLock, FileSystem, OsFileSystem};
use crate::iterator::{DbIterator, InternalIterator, LevelIterator, MergingIterator};
use crate::key::{parse_internal_key, seek_key, SequenceNumber, ValueKind};
use crate::manifest::{FileMetaData, Version, VersionSet, NUM_LEVELS};
use crate::memtable::{LookupResult, MemTable};
use crate::options::Options;
use crate::snapshot::{Snapshot, SnapshotList};
use crate::stats::{LevelStats, Statistics, Stats};
use crate::table_cache::TableCache;
use crate::txn::{Transaction, TransactionOptions};

use write::{PendingWrite, WalState};

/// An open database. `Send + Sync`: share it between threads by reference or in an `Arc`;
/// every method takes `&self`.
///
/// Dropping a `Db` closes it (see [`Db::close`]).
pub struct Db {
    inner: Arc<DbInner>,
}

/// Per-read settings for [`Db::iter`] and [`Db::get_opt`].
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Inclusive lower bound on user keys; `None` = from the first key. Iterators only.
    pub lower_bound: Option<Vec<u8>>,
    /// Exclusive upper bound on user keys; `None` = to the last key. Iterators only.
    pub upper_bound: Option<Vec<u8>>,
    /// Only keys starting with these bytes (combined with the bounds: the iterator shows
    /// their intersection). Iterators only.
    pub prefix: Option<Vec<u8>>,
    /// Read as of this snapshot; `None` = as of the moment the read starts.
    pub snapshot: Option<Snapshot>,
}

/// The memtables and SSTables that make up the database at one moment.
pub(crate) struct SuperVersion {
    pub(crate) mem: Arc<MemTable>,
    /// Immutable memtables waiting for their flush, newest first.
    pub(crate) imm: Vec<Arc<MemTable>>,
    pub(crate) version: Arc<Version>,
}

#[derive(Default)]
pub(crate) struct BgState {
    /// Set by a failed background job or WAL write: the database refuses writes from then on.
    pub(crate) error: Option<String>,
    pub(crate) shutting_down: bool,
    /// Numbers of the input files of running compactions.
    pub(crate) busy: HashSet<u64>,
    /// Per level, the largest user key of the last file compacted out of it: the next
    /// compaction of the level starts after it (LevelDB's compact pointer), so every part
    /// of the key space is compacted in turn.
    pub(crate) cursors: [Vec<u8>; NUM_LEVELS],
    /// Background compactions running now.
    pub(crate) running_compactions: usize,
    /// Manual compactions running or waiting: no new background compaction starts.
    pub(crate) manual_compactions: usize,
}

pub(crate) struct DbInner {
    pub(crate) dir: PathBuf,
    pub(crate) options: Options,
    pub(crate) fs: Arc<dyn FileSystem>,
    lock: Mutex<Option<Box<dyn FileLock>>>,
    pub(crate) closed: AtomicBool,

    /// Writers waiting to commit; the front one is the leader.
    writers: Mutex<VecDeque<Arc<PendingWrite>>>,
    /// The WAL segment of the current memtable. Only the leader appends to it.
    wal: Mutex<WalState>,
    /// Sequence number of the newest write visible to readers.
    pub(crate) last_sequence: AtomicU64,

    pub(crate) super_version: RwLock<Arc<SuperVersion>>,
    pub(crate) tables: Arc<TableCache>,

    pub(crate) versions: Mutex<VersionSet>,
    /// Sequence numbers of live snapshots: compactions keep what they can see.
    pub(crate) snapshots: SnapshotList,
    /// Counters behind [`Db::stats`].
    pub(crate) stats: Arc<Statistics>,
    /// Every version ever installed that someone may still hold; their files stay on disk.
    pub(crate) live_versions: Mutex<Vec<Weak<Version>>>,
    /// Numbers of tables being written and not yet in a version: never deleted.
    pub(crate) pending_outputs: Mutex<HashSet<u64>>,

    pub(crate) bg: Mutex<BgState>,
    /// Signalled when background work may be needed or was done.
    pub(crate) bg_cv: Condvar,
    bg_threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Db {
    /// Opens the database in directory `path`, creating it if missing (unless
    /// [`Options::create_if_missing`] is false). Replays the WAL of writes that were not yet
    /// in SSTables and starts the background thread.
    ///
    /// The options given are recorded in the manifest if they differ from the stored ones
    /// (see [`crate::options`] for which changes are allowed).
    ///
    /// Errors: [`Error::Locked`] if the database is open elsewhere (this process or another);
    /// [`Error::NotFound`] if it does not exist and `create_if_missing` is false;
    /// [`Error::InvalidArgument`] for bad options, for `error_if_exists` on an existing
    /// database, or for a database of a newer format; [`Error::Corruption`] for a damaged
    /// manifest or WAL (see the WAL's recovery rules); [`Error::Io`].
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<Db> {
        open::open(path.as_ref(), options, false)
    }

    /// Opens an existing database with the options stored in its manifest, on the real file
    /// system.
    ///
    /// Errors: as [`Db::open`]; [`Error::NotFound`] if there is no database at `path`.
    pub fn reopen(path: impl AsRef<Path>) -> Result<Db> {
        Self::reopen_on(path, Arc::new(OsFileSystem))
    }

    /// Opens an existing database on file system `fs` with the options stored in its manifest.
    ///
    /// Errors: as [`Db::reopen`].
    pub fn reopen_on(path: impl AsRef<Path>, fs: Arc<dyn FileSystem>) -> Result<Db> {
        let options = Options::default().fs(fs).create_if_missing(false);
        open::open(path.as_ref(), options, true)
    }

    /// Sets `key` to `value`.
    ///
    /// Durable per [`Options::sync_mode`] when it returns `Ok`.
    ///
    /// Errors: [`Error::InvalidArgument`] for an empty key, a key over
    /// [`MAX_KEY_SIZE`](crate::MAX_KEY_SIZE) bytes or a value over
    /// [`MAX_VALUE_SIZE`](crate::MAX_VALUE_SIZE); [`Error::Closed`]; [`Error::Background`]
    /// after an earlier failed WAL write or background job; [`Error::Io`] if the WAL write
    /// fails (the database then refuses further writes).
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        let mut b = WriteBatch::with_capacity(key.len() + value.len() + 11);
        b.put(key, value)?;
        self.inner.write(Some(b), false)
    }

    /// Deletes `key` (writes a tombstone; deleting an absent key is not an error).
    ///
    /// Errors: as [`Db::put`].
    pub fn delete(&self, key: &[u8]) -> Result<()> {
        let mut b = WriteBatch::with_capacity(key.len() + 6);
        b.delete(key)?;
        self.inner.write(Some(b), false)
    }

    /// Applies every operation of `batch` atomically: after a crash, all of it or none of it
    /// is there, and no reader sees part of it. An empty batch is a no-op.
    ///
    /// Errors: as [`Db::put`].
    pub fn write(&self, batch: &WriteBatch) -> Result<()> {
        if batch.is_empty() {
            return self.inner.check_writable();
        }
        self.inner.write(Some(batch.clone()), false)
    }

    /// The newest value of `key`, or `None` if it was never set or was deleted.
    ///
    /// Errors: [`Error::InvalidArgument`] for an invalid key; [`Error::Closed`];
    /// [`Error::Corruption`] / [`Error::Io`] from an SSTable read.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        self.inner.check_open()?;
        self.inner.get_at(key, None)
    }

    /// The value of `key` as of `read.snapshot` (or now, if `None`); the bounds and prefix
    /// of `read` do not apply to point lookups.
    ///
    /// Errors: as [`Db::get`]; [`Error::InvalidArgument`] for a snapshot of another
    /// database.
    pub fn get_opt(&self, key: &[u8], read: &ReadOptions) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        self.inner.check_open()?;
        let seq = self.inner.snapshot_sequence(read)?;
        self.inner.get_at(key, seq)
    }

    /// Takes a snapshot: a consistent view of the database as of now, for reads that must
    /// not see later writes (see [`Snapshot`]).
    ///
    /// Errors: [`Error::Closed`].
    pub fn snapshot(&self) -> Result<Snapshot> {
        self.inner.check_open()?;
        let seq = self.inner.last_sequence.load(Ordering::Acquire);
        Ok(Snapshot::new(self.inner.clone(), seq))
    }

    /// Begins an optimistic transaction with snapshot isolation, reading at a snapshot
    /// taken now; see [`Transaction`] and the [`txn`](crate::txn) module for the
    /// semantics.
    ///
    /// Errors: [`Error::Closed`].
    pub fn transaction(&self) -> Result<Transaction> {
        self.transaction_with(TransactionOptions::default())
    }

    /// Begins a transaction with the given options (isolation level).
    ///
    /// Errors: [`Error::Closed`].
    pub fn transaction_with(&self, options: TransactionOptions) -> Result<Transaction> {
        let snapshot = self.snapshot()?;
        Ok(Transaction::begin(self.inner.clone(), snapshot, options))
    }

    /// A cursor over the database as of now (or as of `read.snapshot`), within the bounds
    /// and prefix of `read`. Unpositioned: call `seek_to_first`, `seek`, `seek_to_last` or
    /// `seek_for_prev` first.
    ///
    /// Errors: [`Error::Closed`]; [`Error::InvalidArgument`] for a snapshot of another
    /// database; [`Error::Io`] / [`Error::Corruption`] opening an SSTable.
    pub fn iter(&self, read: ReadOptions) -> Result<DbIterator> {
        self.inner.check_open()?;
        self.inner.iter(read)
    }

    /// Forward scan of the user keys in `range`, as `(key, value)` pairs in key order.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let db = kevo::Db::open(dir.path(), kevo::Options::default()).unwrap();
    /// db.put(b"a", b"1").unwrap();
    /// db.put(b"b", b"2").unwrap();
    /// db.put(b"c", b"3").unwrap();
    /// let keys: Vec<Vec<u8>> = db.scan(&b"b"[..]..).unwrap().map(|r| r.unwrap().0).collect();
    /// assert_eq!(keys, vec![b"b".to_vec(), b"c".to_vec()]);
    /// ```
    ///
    /// Errors: as [`Db::iter`]; each item may be an `Err` if a read fails midway.
    pub fn scan<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Result<Scan> {
        let (lower_bound, upper_bound) = range_to_bounds(range);
        let it = self.iter(ReadOptions {
            lower_bound,
            upper_bound,
            ..Default::default()
        })?;
        Ok(Scan::new(it))
    }

    /// Forward scan of every key that starts with `prefix`.
    ///
    /// Errors: as [`Db::iter`].
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<Scan> {
        let it = self.iter(ReadOptions {
            prefix: Some(prefix.to_vec()),
            ..Default::default()
        })?;
        Ok(Scan::new(it))
    }

    /// Turns the memtable into an L0 SSTable now and waits until it is written and recorded
    /// in the manifest (after which its WAL segment is deleted). A no-op if the memtable is
    /// empty.
    ///
    /// Errors: [`Error::Closed`]; [`Error::Background`] / [`Error::Io`] if the flush fails.
    pub fn flush(&self) -> Result<()> {
        self.inner.write(None, true)?;
        self.inner.wait_for_flushes()
    }

    /// Compacts every key in `[start, end]` (inclusive; `None` = unbounded on that side) down
    /// to the bottom level: flushes the memtable, then merges the overlapping files of each
    /// level into the next, so that afterwards the range holds one sorted run with no
    /// overwritten entry or tombstone that no snapshot needs. Waits until done.
    ///
    /// Errors: [`Error::Closed`]; [`Error::Background`] / [`Error::Io`] /
    /// [`Error::Corruption`] if a flush or compaction fails.
    pub fn compact_range(&self, start: Option<&[u8]>, end: Option<&[u8]>) -> Result<()> {
        self.flush()?;
        self.inner.compact_range(start, end)
    }

    /// Forces every write acknowledged so far to stable storage (one fsync of the WAL), so it
    /// survives a power loss whatever the [`SyncMode`](crate::SyncMode).
    ///
    /// Errors: [`Error::Closed`]; [`Error::Io`] if the fsync fails (the database then refuses
    /// further writes, since what the WAL holds is unknown).
    pub fn sync_wal(&self) -> Result<()> {
        self.inner.check_open()?;
        let r = self.inner.wal.lock().sync();
        if let Err(e) = &r {
            self.inner.set_bg_error(e);
        }
        r
    }

    /// Closes the database: syncs the WAL, stops the background thread (letting a running
    /// flush or compaction finish) and releases the directory lock. Unflushed memtable
    /// contents stay in the WAL and are replayed by the next open. Idempotent; every later
    /// call on this handle returns [`Error::Closed`].
    ///
    /// Errors: [`Error::Io`] if the final WAL sync fails.
    pub fn close(&self) -> Result<()> {
        self.inner.close()
    }

    /// True once [`Db::close`] has run (or the handle was dropped). Every call on a closed
    /// handle, and every move of an iterator or read of a snapshot taken from it, returns
    /// [`Error::Closed`].
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// The options in force.
    pub fn options(&self) -> &Options {
        &self.inner.options
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.inner.dir
    }

    /// The sequence number of the newest acknowledged write (0 for an empty database).
    pub fn last_sequence(&self) -> SequenceNumber {
        self.inner.last_sequence.load(Ordering::Acquire)
    }

    /// A copy of the database's counters and of the current shape of the tree; see
    /// [`Stats`]. Counters start at 0 at open.
    pub fn stats(&self) -> Stats {
        let mut s = Stats::from_counters(&self.inner.stats);
        let sv = self.inner.current_super_version();
        s.levels = (0..NUM_LEVELS)
            .map(|l| LevelStats {
                files: sv.version.num_files(l),
                bytes: sv.version.level_bytes(l),
            })
            .collect();
        s.live_snapshots = self.inner.snapshots.count() as u64;
        let (usage, capacity) = self.inner.tables.block_cache_usage();
        s.block_cache_usage = usage;
        s.block_cache_capacity = capacity;
        s
    }

    /// A named property of the database as text, or `None` for an unknown name:
    ///
    /// - `kevo.stats`: the [`Stats`] table (levels, write amplification, stalls, cache and
    ///   bloom filter figures), as `kevo stats DB` prints it;
    /// - `kevo.num-files-at-level<N>`: the number of SSTables in level N;
    /// - `kevo.live-sst-bytes`: total bytes of live SSTables;
    /// - `kevo.num-snapshots`: snapshots currently held;
    /// - `kevo.options`: the persisted options, one `name=value` per line.
    ///
    /// Errors: [`Error::Closed`].
    pub fn property(&self, name: &str) -> Result<Option<String>> {
        self.inner.check_open()?;
        let stats = self.stats();
        Ok(match name {
            "kevo.stats" => Some(stats.to_string()),
            "kevo.live-sst-bytes" => Some(stats.sst_bytes().to_string()),
            "kevo.num-snapshots" => Some(stats.live_snapshots.to_string()),
            "kevo.options" => Some(self.inner.options.to_persisted()),
            _ => name
                .strip_prefix("kevo.num-files-at-level")
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| stats.levels.get(n))
                .map(|l| l.files.to_string()),
        })
    }

    /// Number of SSTables in each level, L0 first.
    pub fn level_file_counts(&self) -> Vec<usize> {
        let sv = self.inner.super_version.read().clone();
        (0..NUM_LEVELS).map(|l| sv.version.num_files(l)).collect()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = self.inner.close();
    }
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("path", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

/// The `[lower, upper)` bounds of a range of user keys.
pub(crate) fn range_to_bounds<K: AsRef<[u8]>, R: RangeBounds<K>>(
    range: R,
) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let lower_bound = match range.start_bound() {
        Bound::Included(k) => Some(k.as_ref().to_vec()),
        Bound::Excluded(k) => Some(successor(k.as_ref())),
        Bound::Unbounded => None,
    };
    let upper_bound = match range.end_bound() {
        Bound::Included(k) => Some(successor(k.as_ref())),
        Bound::Excluded(k) => Some(k.as_ref().to_vec()),
        Bound::Unbounded => None,
    };
    (lower_bound, upper_bound)
}

/// The smallest key greater than `k`: `k ++ 0x00`.
fn successor(k: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(k.len() + 1);
    v.extend_from_slice(k);
    v.push(0);
    v
}

/// The bounds `[lower, upper)` intersected with the keys starting with `prefix` (a prefix
/// is a pair of bounds).
pub(crate) fn prefix_bounds(
    mut lower: Option<Vec<u8>>,
    mut upper: Option<Vec<u8>>,
    prefix: Option<&[u8]>,
) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    if let Some(prefix) = prefix {
        if lower.as_deref().is_none_or(|lb| lb < prefix) {
            lower = Some(prefix.to_vec());
        }
        if let Some(end) = prefix_successor(prefix) {
            if upper.as_deref().is_none_or(|ub| ub > end.as_slice()) {
                upper = Some(end);
            }
        }
    }
    (lower, upper)
}

/// The smallest key greater than every key starting with `prefix`, or `None` if there is none
/// (the prefix is empty or all 0xff).
fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut v = prefix.to_vec();
    while let Some(last) = v.pop() {
        if last < 0xff {
            v.push(last + 1);
            return Some(v);
        }
    }
    None
}

impl crate::iterator::db_iter::OpenFlag for DbInner {
    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

impl DbInner {
    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    pub(crate) fn check_writable(&self) -> Result<()> {
        self.check_open()?;
        if let Some(e) = &self.bg.lock().error {
            return Err(Error::Background(e.clone()));
        }
        Ok(())
    }

    /// Records a failure that leaves the database unable to accept writes safely.
    pub(crate) fn set_bg_error(&self, e: &Error) {
        let mut bg = self.bg.lock();
        if bg.error.is_none() {
            bg.error = Some(e.to_string());
        }
        self.bg_cv.notify_all();
    }

    pub(crate) fn current_super_version(&self) -> Arc<SuperVersion> {
        self.super_version.read().clone()
    }

    /// Installs a new super version built from the current one by `f`, and remembers its
    /// version as live.
    pub(crate) fn install_super_version(&self, f: impl FnOnce(&SuperVersion) -> SuperVersion) {
        let mut sv = self.super_version.write();
        let new = Arc::new(f(&sv));
        let mut live = self.live_versions.lock();
        if !live.iter().any(|w| w.as_ptr() == Arc::as_ptr(&new.version)) {
            live.push(Arc::downgrade(&new.version));
        }
        *sv = new;
    }

    /// The sequence number `read` reads at: its snapshot's, or `None` for "now".
    pub(crate) fn snapshot_sequence(
        self: &Arc<Self>,
        read: &ReadOptions,
    ) -> Result<Option<SequenceNumber>> {
        match &read.snapshot {
            None => Ok(None),
            Some(s) if s.belongs_to(self) => Ok(Some(s.sequence())),
            Some(_) => Err(Error::InvalidArgument(
                "the snapshot belongs to another database".into(),
            )),
        }
    }

    /// Point lookup at sequence `seq` (a snapshot's), or at the newest sequence if `None`.
    pub(crate) fn get_at(
        &self,
        key: &[u8],
        seq: Option<SequenceNumber>,
    ) -> Result<Option<Vec<u8>>> {
        // Super version first, then the sequence: every entry the super version's files hold
        // was published before we read the sequence, so the files cannot lack a version of
        // `key` that is visible at it. (A snapshot's sequence is older still, and compaction
        // keeps every entry a live snapshot can see.)
        let sv = self.current_super_version();
        let seq = seq.unwrap_or_else(|| self.last_sequence.load(Ordering::Acquire));
        for m in std::iter::once(&sv.mem).chain(sv.imm.iter()) {
            match m.get(key, seq) {
                LookupResult::Found(v) => return Ok(Some(v)),
                LookupResult::Deleted => return Ok(None),
                LookupResult::Absent => {}
            }
        }
        let target = seek_key(key, seq);
        let from_table = |number: u64| -> Result<Option<Option<Vec<u8>>>> {
            let table = self.tables.get(number)?;
            let Some((ikey, value)) = table.get(&target)? else {
                return Ok(None);
            };
            let p = parse_internal_key(&ikey).ok_or_else(|| {
                Error::corruption(format!("table {number}"), 0, "bad internal key")
            })?;
            Ok(Some(match p.kind {
                ValueKind::Put => Some(value),
                ValueKind::Delete => None,
            }))
        };
        for f in sv.version.files(0) {
            if key < f.smallest_user_key() || key > f.largest_user_key() {
                continue;
            }
            if let Some(r) = from_table(f.number)? {
                return Ok(r);
            }
        }
        for level in 1..NUM_LEVELS {
            if let Some(f) = sv.version.find_file(level, key) {
                if let Some(r) = from_table(f.number)? {
                    return Ok(r);
                }
            }
        }
        Ok(None)
    }

    pub(crate) fn iter(self: &Arc<Self>, mut read: ReadOptions) -> Result<DbIterator> {
        let snapshot_seq = self.snapshot_sequence(&read)?;
        let (lower, upper) = prefix_bounds(
            read.lower_bound.take(),
            read.upper_bound.take(),
            read.prefix.take().as_deref(),
        );
        read.lower_bound = lower;
        read.upper_bound = upper;
        let sv = self.current_super_version();
        let seq = snapshot_seq.unwrap_or_else(|| self.last_sequence.load(Ordering::Acquire));
        let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
        children.push(Box::new(sv.mem.iter()));
        for m in &sv.imm {
            children.push(Box::new(m.iter()));
        }
        let in_bounds = |f: &FileMetaData| {
            read.lower_bound
                .as_deref()
                .is_none_or(|lb| f.largest_user_key() >= lb)
                && read
                    .upper_bound
                    .as_deref()
                    .is_none_or(|ub| f.smallest_user_key() < ub)
        };
        // L0 files overlap: one child each. Each deeper level is one sorted run: one
        // LevelIterator, which opens only the file it is in.
        for f in sv.version.files(0) {
            if in_bounds(f) {
                children.push(Box::new(self.tables.get(f.number)?.iter()));
            }
        }
        for level in 1..NUM_LEVELS {
            let files: Vec<_> = sv
                .version
                .files(level)
                .iter()
                .filter(|f| in_bounds(f))
                .cloned()
                .collect();
            if !files.is_empty() {
                children.push(Box::new(LevelIterator::new(
                    files,
                    crate::compaction::table_opener(self),
                )));
            }
        }
        let merged = MergingIterator::new(children);
        // The iterator pins the super version (its memtables and files) and, when reading
        // at a snapshot, the snapshot (so compaction keeps what it sees).
        Ok(DbIterator::new(
            Box::new(merged),
            seq,
            read.lower_bound,
            read.upper_bound,
            Box::new((sv, read.snapshot)),
        )
        .with_owner(self.clone()))
    }

    fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // Wait for a commit in progress: it holds the WAL lock while appending.
        let sync_result = self.wal.lock().sync();
        {
            let mut bg = self.bg.lock();
            bg.shutting_down = true;
            self.bg_cv.notify_all();
        }
        // Take the handles out first: the lock must not be held while the threads finish.
        let threads = std::mem::take(&mut *self.bg_threads.lock());
        for t in threads {
            let _ = t.join();
        }
        // Close the WAL files now rather than when the last handle goes: a reopen in any
        // recovery mode then finds them ending at their last record.
        if sync_result.is_ok() {
            self.wal.lock().finish();
        }
        *self.lock.lock() = None;
        sync_result
    }
}

/// A forward scan as a Rust iterator of `Result<(key, value)>`, from [`Db::scan`] or
/// [`Db::scan_prefix`]. It stops after the first `Err`.
pub struct Scan {
    it: DbIterator,
    started: bool,
}

impl Scan {
    pub(crate) fn new(it: DbIterator) -> Scan {
        Scan { it, started: false }
    }
}

impl Iterator for Scan {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.started {
            self.started = true;
            self.it.seek_to_first();
        } else if self.it.valid() {
            self.it.next();
        } else {
            return None;
        }
        if self.it.valid() {
            return Some(Ok((self.it.key().to_vec(), self.it.value().to_vec())));
        }
        match self.it.status() {
            Ok(()) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successor_cases() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_successor(b"\xff\xff"), None);
        assert_eq!(prefix_successor(b""), None);
    }
}
