//! [`Db`]: the database handle, and the orchestration of the engine's steps.
//!
//! This module only orchestrates: every step is a type or function of its own, in a file
//! named after it, below this one, and none of them imports `db`.
//!
//! ```text
//!  put/delete/write
//!    └► db/write.rs        write queue, group commit (one leader per group), stalls
//!        ├► batch.rs         WriteBatch: encoded once; WriteBatch::insert_into, the memtable inserter
//!        ├► db/wal_segments.rs ─► wal/   the WAL record, appended (+ fsync per SyncMode)
//!        └► memtable/        the skip list the batch is inserted into
//!  memtable full ─► db/write.rs switches to a new memtable and WAL segment
//!    └► db/background.rs   flush thread
//!        └► flush.rs         memtable ─► table_writer.rs ─► sstable/ (an L0 SSTable)
//!        └► manifest/        one version edit: the new table, the WAL low-water mark
//!  L0 / a level too big
//!    └► db/background.rs   compaction threads
//!        └► compaction/picker.rs   which files  ─►  compaction/job.rs   merge them
//!            └► compaction/drop_rule.rs  what survives ─► table_writer.rs  new tables
//!        └► manifest/        one version edit: inputs deleted, outputs added
//!  get/iter
//!    └► read/state.rs      the published super version and last sequence
//!        └► read/super_version.rs  memtables newest first, then
//!            └► manifest/version.rs  Version::get / add_iterators: L0 newest first, L1..L6
//!                └► table_cache.rs ─► sstable/ (bloom filter, index, data block via the block cache)
//!  open
//!    └► db/open.rs         LOCK, manifest replay, WAL replay (through the same inserter and flush)
//! ```
//!
//! Readers work on a [`SuperVersion`](crate::read::SuperVersion): the memtable, the
//! immutable memtables and the [`Version`](crate::manifest::Version) (set of SSTables)
//! current at one moment, swapped as a unit (the name is RocksDB's). A reader clones the
//! `Arc` and never blocks the writer or the background threads; whatever it holds stays
//! readable, and files it may need are not deleted, until it lets go.
//!
//! Transactions ([`crate::txn`]) sit above this module: they use the `Db`, and the write
//! path calls back into them only through the [`WriteCallback`](write::WriteCallback) it
//! declares.

mod background;
mod checkpoint;
mod open;
mod read_only;
mod wal_segments;
mod write;

pub(crate) use write::{GroupWrites, WriteCallback};

use std::collections::HashSet;
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

use crate::batch::{check_key, WriteBatch};
use crate::error::{Error, Result};
use crate::fs::{FileLock, FileSystem, OsFileSystem};
use crate::iterator::DbIterator;
use crate::key::SequenceNumber;
use crate::manifest::{VersionSet, NUM_LEVELS};
use crate::options::{Options, WriteOptions};
use crate::read::{range_to_bounds, ReadOptions, ReadState, Scan, Snapshot};
use crate::stats::{Counters, LevelStats, Stats};
use crate::table_writer::PendingOutputs;

use wal_segments::WalSegments;
use write::WriteQueue;

pub use checkpoint::CheckpointInfo;

/// An open database. `Send + Sync`: share it between threads by reference or in an `Arc`;
/// every method takes `&self`.
///
/// Dropping a `Db` closes it (see [`Db::close`]).
pub struct Db {
    inner: Arc<DbInner>,
}

/// State of the background work, guarded by one mutex with [`DbInner::bg_cv`].
#[derive(Default)]
struct BgState {
    /// Set by a failed background job or WAL write: the database refuses writes from then on.
    error: Option<String>,
    shutting_down: bool,
    /// Numbers of the input files of running compactions.
    busy: HashSet<u64>,
    /// Per level, the largest user key of the last file compacted out of it: the next
    /// compaction of the level starts after it (LevelDB's compact pointer), so every part
    /// of the key space is compacted in turn.
    compact_pointers: [Vec<u8>; NUM_LEVELS],
    /// Background compactions running now.
    running_compactions: usize,
    /// Manual compactions running or waiting: no new background compaction starts.
    manual_compactions: usize,
}

/// What the handle, its snapshots' and transactions' writes, and the background threads
/// share. Its fields are private to this module; the steps below get what they need as
/// arguments.
pub(crate) struct DbInner {
    dir: PathBuf,
    options: Options,
    fs: Arc<dyn FileSystem>,
    lock: Mutex<Option<Box<dyn FileLock>>>,

    write_queue: WriteQueue,
    /// The WAL segments of the memtables in memory. Only the leader appends.
    wal: Mutex<WalSegments>,
    /// What readers read: the published super version and last sequence number, the table
    /// cache, the live snapshots, the open flag.
    read: Arc<ReadState>,
    versions: Mutex<VersionSet>,
    /// Counters behind [`Db::stats`].
    counters: Arc<Counters>,
    /// Tables being written and not yet in a version: never deleted.
    pending_outputs: PendingOutputs,

    bg: Mutex<BgState>,
    /// Signalled when background work may be needed or was done.
    bg_cv: Condvar,
    bg_threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Db {
    /// Opens the database in directory `path`, creating it if missing (unless
    /// [`Options::create_if_missing`] is false). Replays the WAL of writes that were not yet
    /// in SSTables and starts the background threads (one for flushes,
    /// [`Options::max_background_compactions`] for compactions).
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

    /// Opens the existing database in `path` read-only, with the options stored in its
    /// manifest, on the real file system: beside any number of other read-only handles and
    /// one writer, in this process or others. Takes no lock, writes, creates or deletes no
    /// file, starts no thread. The handle sees the database as of this call, the writer's
    /// unflushed WAL included, until [`Db::refresh`]. Every write ([`Db::put`],
    /// [`Db::delete`], [`Db::write`], their `_opt` forms, [`Db::flush`],
    /// [`Db::compact_range`], [`Db::sync_wal`], a transaction's commit) returns
    /// [`Error::ReadOnly`]. How it survives the writer deleting files is in the module docs
    /// of `db/read_only.rs`, summarised in the README.
    ///
    /// Errors: [`Error::NotFound`] if there is no database at `path` (the directory is never
    /// created); [`Error::Corruption`] for a damaged manifest or WAL; [`Error::Io`].
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Db> {
        let options = Options::default().create_if_missing(false).read_only(true);
        open::open(path.as_ref(), options, true)
    }

    /// Moves a read-only handle to the writer's latest state (RocksDB's
    /// `TryCatchUpWithPrimary`): reads the manifest edits appended since the last refresh
    /// (or, after a rollover, the new manifest `CURRENT` names), pins the new version's
    /// tables, and replays the WAL tail again.
    /// Snapshots and iterators taken before keep their view. If the writer deletes a file
    /// between the manifest read and its open, the catch-up starts again from `CURRENT`; on
    /// error the handle keeps its previous state.
    ///
    /// Errors: [`Error::InvalidArgument`] on a handle that is not read-only (it is always
    /// current); [`Error::Closed`]; [`Error::NotFound`] if files kept vanishing for 100
    /// attempts or the database was removed; [`Error::Corruption`]; [`Error::Io`].
    pub fn refresh(&self) -> Result<()> {
        self.inner.read.check_open()?;
        if !self.inner.options.read_only {
            return Err(Error::InvalidArgument(
                "refresh is for read-only handles; a writable handle is always current".into(),
            ));
        }
        read_only::catch_up(&self.inner)
    }

    /// Makes a consistent copy of the database in `dir`, which must not exist or be empty,
    /// while writes go on: hard links to its SSTables (copies where the file system cannot
    /// link, e.g. `dir` on another device), a copy of the WAL as of the call and a manifest
    /// naming exactly those files. Every write acknowledged before the call is in the copy,
    /// except writes made with [`WriteOptions::disable_wal`] that were not yet flushed; the
    /// copy opens with [`Db::open`] like any database, and later changes to either side do
    /// not affect the other. `CURRENT` is written last: a directory without it is no
    /// checkpoint (a failed call removes what it wrote). A read-only handle checkpoints the
    /// writer's latest state (it refreshes first). Scheme: RocksDB's "Checkpoints" wiki.
    ///
    /// Errors: [`Error::InvalidArgument`] if `dir` exists and is not empty (it is left
    /// untouched); [`Error::Closed`]; [`Error::Io`] creating or writing the copy.
    pub fn checkpoint(&self, dir: impl AsRef<Path>) -> Result<CheckpointInfo> {
        self.inner.read.check_open()?;
        checkpoint::checkpoint(&self.inner, dir.as_ref())
    }

    /// [`checkpoint`](Self::checkpoint) without the SSTables `held(number, size)` picks,
    /// which come back open (see `checkpoint::checkpoint_except`): how backups skip
    /// copying tables they already store.
    pub(crate) fn checkpoint_except(
        &self,
        dir: &Path,
        held: &dyn Fn(u64, u64) -> bool,
    ) -> Result<(CheckpointInfo, Vec<checkpoint::HeldTable>)> {
        self.inner.read.check_open()?;
        checkpoint::checkpoint_except(&self.inner, dir, held)
    }

    /// Whether this handle was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.inner.options.read_only
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
        self.put_opt(key, value, &WriteOptions::default())
    }

    /// [`Db::put`] with per-write durability: with `options.sync` the write survives power
    /// loss when it returns, whatever [`Options::sync_mode`]; with `options.disable_wal` it
    /// is not logged (see [`WriteOptions`]).
    ///
    /// Errors: as [`Db::put`]; [`Error::InvalidArgument`] for `sync` with `disable_wal`.
    pub fn put_opt(&self, key: &[u8], value: &[u8], options: &WriteOptions) -> Result<()> {
        let mut b = WriteBatch::with_capacity(key.len() + value.len() + 11);
        b.put(key, value)?;
        self.inner.write(b, *options, None)
    }

    /// Deletes `key` (writes a tombstone; deleting an absent key is not an error).
    ///
    /// Errors: as [`Db::put`].
    pub fn delete(&self, key: &[u8]) -> Result<()> {
        self.delete_opt(key, &WriteOptions::default())
    }

    /// [`Db::delete`] with per-write durability (see [`Db::put_opt`]).
    ///
    /// Errors: as [`Db::put_opt`].
    pub fn delete_opt(&self, key: &[u8], options: &WriteOptions) -> Result<()> {
        let mut b = WriteBatch::with_capacity(key.len() + 6);
        b.delete(key)?;
        self.inner.write(b, *options, None)
    }

    /// Deletes every key in `[start, end)` (bytewise) with one range tombstone: O(1) whatever
    /// the number of keys covered, and atomic. Readers at a snapshot older than the call
    /// still see the keys; compaction drops the covered entries once no snapshot can. An
    /// empty `start` means from the first key; `start == end` deletes nothing. Semantics and
    /// design: RocksDB's `DeleteRange` (see [`crate::range_del`]).
    ///
    /// Durable per [`Options::sync_mode`] when it returns `Ok`.
    ///
    /// Errors: [`Error::InvalidArgument`] if `start > end` or either is over
    /// [`MAX_KEY_SIZE`](crate::MAX_KEY_SIZE) bytes; otherwise as [`Db::put`].
    pub fn delete_range(&self, start: &[u8], end: &[u8]) -> Result<()> {
        self.delete_range_opt(start, end, &WriteOptions::default())
    }

    /// [`Db::delete_range`] with per-write durability (see [`Db::put_opt`]).
    ///
    /// Errors: as [`Db::delete_range`]; [`Error::InvalidArgument`] for `sync` with
    /// `disable_wal`.
    pub fn delete_range_opt(&self, start: &[u8], end: &[u8], options: &WriteOptions) -> Result<()> {
        let mut b = WriteBatch::with_capacity(start.len() + end.len() + 6);
        b.delete_range(start, end)?;
        self.write_opt(&b, options)
    }

    /// Applies every operation of `batch` atomically: after a crash, all of it or none of it
    /// is there, and no reader sees part of it. An empty batch is a no-op.
    ///
    /// Errors: as [`Db::put`].
    pub fn write(&self, batch: &WriteBatch) -> Result<()> {
        self.write_opt(batch, &WriteOptions::default())
    }

    /// [`Db::write`] with per-write durability (see [`Db::put_opt`]).
    ///
    /// Errors: as [`Db::put_opt`].
    pub fn write_opt(&self, batch: &WriteBatch, options: &WriteOptions) -> Result<()> {
        options.validate()?;
        if batch.is_empty() {
            return self.inner.check_writable();
        }
        self.inner.write(batch.clone(), *options, None)
    }

    /// The newest value of `key`, or `None` if it was never set or was deleted.
    ///
    /// Errors: [`Error::InvalidArgument`] for an invalid key; [`Error::Closed`];
    /// [`Error::Corruption`] / [`Error::Io`] from an SSTable read.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        self.inner.read.check_open()?;
        self.inner.read.get_at(key, None)
    }

    /// The value of `key` as of `read.snapshot` (or now, if `None`); the bounds and prefix
    /// of `read` do not apply to point lookups.
    ///
    /// Errors: as [`Db::get`]; [`Error::InvalidArgument`] for a snapshot of another
    /// database.
    pub fn get_opt(&self, key: &[u8], read: &ReadOptions) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        self.inner.read.get_opt(key, read)
    }

    /// The newest value of each key in `keys`, in the order given (`None` where absent or
    /// deleted), all read at one consistent view: no write that lands during the call is
    /// seen for some keys and not others. Keys are looked up in sorted order (each table
    /// and block visited in one pass) and duplicates once, which makes it cheaper per key
    /// than a loop of [`Db::get`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let db = kevo::Db::open(dir.path(), kevo::Options::default()).unwrap();
    /// db.put(b"a", b"1").unwrap();
    /// db.put(b"c", b"3").unwrap();
    /// let got = db.multi_get(&[&b"c"[..], b"b", b"a"]).unwrap();
    /// assert_eq!(got, vec![Some(b"3".to_vec()), None, Some(b"1".to_vec())]);
    /// ```
    ///
    /// Errors: as [`Db::get`], for the first invalid key (nothing is returned).
    pub fn multi_get<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Option<Vec<u8>>>> {
        self.inner.read.check_open()?;
        self.inner.read.multi_get_at(keys, None)
    }

    /// [`Db::multi_get`] as of `read.snapshot` (or now); bounds and prefix do not apply.
    ///
    /// Errors: as [`Db::multi_get`]; [`Error::InvalidArgument`] for a snapshot of another
    /// database.
    pub fn multi_get_opt<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        read: &ReadOptions,
    ) -> Result<Vec<Option<Vec<u8>>>> {
        self.inner.read.multi_get_opt(keys, read)
    }

    /// Takes a snapshot: a consistent view of the database as of now, for reads that must
    /// not see later writes (see [`Snapshot`]).
    ///
    /// Errors: [`Error::Closed`].
    pub fn snapshot(&self) -> Result<Snapshot> {
        self.inner.read.snapshot()
    }

    /// A cursor over the database as of now (or as of `read.snapshot`), within the bounds
    /// and prefix of `read`. Unpositioned: call `seek_to_first`, `seek`, `seek_to_last` or
    /// `seek_for_prev` first.
    ///
    /// Errors: [`Error::Closed`]; [`Error::InvalidArgument`] for a snapshot of another
    /// database; [`Error::Io`] / [`Error::Corruption`] opening an SSTable.
    pub fn iter(&self, read: ReadOptions) -> Result<DbIterator> {
        self.inner.read.iter(read)
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
        self.inner.switch_memtable_now()?;
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
        self.inner.check_not_read_only()?;
        self.flush()?;
        self.inner.compact_range(start, end)
    }

    /// Forces every write acknowledged so far to stable storage (one fsync of the WAL), so it
    /// survives a power loss whatever the [`SyncMode`](crate::SyncMode).
    ///
    /// Errors: [`Error::Closed`]; [`Error::Io`] if the fsync fails (the database then refuses
    /// further writes, since what the WAL holds is unknown).
    pub fn sync_wal(&self) -> Result<()> {
        self.inner.read.check_open()?;
        self.inner.check_not_read_only()?;
        let r = self.inner.wal.lock().sync();
        if let Err(e) = &r {
            self.inner.set_bg_error(e);
        }
        r
    }

    /// Closes the database: syncs the WAL, stops the background threads (letting a running
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
        self.inner.read.check_open().is_err()
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
        self.inner.read.last_sequence()
    }

    /// A copy of the database's counters and of the current shape of the tree; see
    /// [`Stats`]. Counters start at 0 at open.
    pub fn stats(&self) -> Stats {
        let mut s = Stats::from_counters(&self.inner.counters);
        let sv = self.inner.read.current();
        s.levels = (0..NUM_LEVELS)
            .map(|l| LevelStats {
                files: sv.version.num_files(l),
                bytes: sv.version.level_bytes(l),
            })
            .collect();
        s.live_snapshots = self.inner.read.snapshots().count() as u64;
        let (usage, capacity) = self.inner.read.tables().block_cache_usage();
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
    /// - `kevo.num-range-deletions`: range tombstones in live SSTables (those still in
    ///   memtables are not counted);
    /// - `kevo.options`: the persisted options, one `name=value` per line.
    ///
    /// Errors: [`Error::Closed`].
    pub fn property(&self, name: &str) -> Result<Option<String>> {
        self.inner.read.check_open()?;
        let stats = self.stats();
        Ok(match name {
            "kevo.stats" => Some(stats.to_string()),
            "kevo.live-sst-bytes" => Some(stats.sst_bytes().to_string()),
            "kevo.num-snapshots" => Some(stats.live_snapshots.to_string()),
            "kevo.num-range-deletions" => {
                let sv = self.inner.read.current();
                let n: u64 = sv.version.live_files().map(|f| f.num_range_deletions).sum();
                Some(n.to_string())
            }
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
        let sv = self.inner.read.current();
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

impl Db {
    /// The shared state behind the handle, for the layers above (transactions) that write
    /// through the write queue.
    pub(crate) fn inner(&self) -> &Arc<DbInner> {
        &self.inner
    }
}

impl DbInner {
    /// `Ok` if the database is open and takes writes.
    ///
    /// Errors: [`Error::Closed`]; [`Error::Background`] after a failure that left it unable
    /// to accept writes safely.
    pub(crate) fn check_writable(&self) -> Result<()> {
        self.read.check_open()?;
        self.check_not_read_only()?;
        if let Some(e) = &self.bg.lock().error {
            return Err(Error::Background(e.clone()));
        }
        Ok(())
    }

    /// Errors: [`Error::ReadOnly`] for a read-only handle.
    pub(crate) fn check_not_read_only(&self) -> Result<()> {
        if self.options.read_only {
            return Err(Error::ReadOnly(format!(
                "{} is open read-only",
                self.dir.display()
            )));
        }
        Ok(())
    }

    /// Records a failure that leaves the database unable to accept writes safely.
    fn set_bg_error(&self, e: &Error) {
        let mut bg = self.bg.lock();
        if bg.error.is_none() {
            bg.error = Some(e.to_string());
        }
        self.bg_cv.notify_all();
    }

    fn close(&self) -> Result<()> {
        if !self.read.close() {
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
