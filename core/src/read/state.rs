//! [`ReadState`]: what every reader of one database shares, and reads at a sequence number.
//!
//! The write path publishes into it (a new last sequence number after each commit), and so
//! do background jobs (a new [`SuperVersion`] after each memtable switch, flush and
//! compaction). Readers only load: the current super version (an `Arc` clone under a
//! read lock held for nanoseconds) and the last sequence number (an atomic).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::{Mutex, RwLock};

use super::snapshot::SnapshotList;
use super::{prefix_bounds, ReadOptions, Snapshot, SuperVersion};
use crate::error::{Error, Result};
use crate::iterator::db_iter::OpenFlag;
use crate::iterator::DbIterator;
use crate::iterator::InternalIterator;
use crate::key::{SequenceNumber, MAX_SEQUENCE_NUMBER};
use crate::manifest::{FileMetaData, Version};
use crate::range_del::{FragmentedTombstones, RangeDelFilter};
use crate::sstable::TableSource;
use crate::table_cache::TableCache;

/// The published state of one open database, shared (in an `Arc`) by the database, its
/// snapshots, iterators and transactions.
pub(crate) struct ReadState {
    super_version: RwLock<Arc<SuperVersion>>,
    /// Sequence number of the newest write visible to readers.
    last_sequence: AtomicU64,
    tables: Arc<TableCache>,
    /// Sequence numbers of live snapshots: compactions keep what they can see.
    snapshots: SnapshotList,
    closed: AtomicBool,
    /// Every version ever published that someone may still hold; their files stay on disk.
    live_versions: Mutex<Vec<Weak<Version>>>,
}

impl OpenFlag for ReadState {
    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

impl ReadState {
    /// The state of a database being opened: `initial` until recovery publishes the real
    /// one, reading through `tables`, with writes up to `last_sequence` visible.
    pub(crate) fn new(
        initial: SuperVersion,
        last_sequence: SequenceNumber,
        tables: Arc<TableCache>,
    ) -> ReadState {
        let live = vec![Arc::downgrade(&initial.version)];
        ReadState {
            super_version: RwLock::new(Arc::new(initial)),
            last_sequence: AtomicU64::new(last_sequence),
            tables,
            snapshots: SnapshotList::default(),
            closed: AtomicBool::new(false),
            live_versions: Mutex::new(live),
        }
    }

    /// `Err(Closed)` once the database is closed.
    pub(crate) fn check_open(&self) -> Result<()> {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// Marks the database closed; true if it was open until now.
    pub(crate) fn close(&self) -> bool {
        !self.closed.swap(true, Ordering::AcqRel)
    }

    /// The sequence number of the newest write visible to readers.
    pub(crate) fn last_sequence(&self) -> SequenceNumber {
        self.last_sequence.load(Ordering::Acquire)
    }

    /// Makes every write up to `seq` visible. Called by the write leader after it inserted
    /// them into the memtable, and by recovery.
    pub(crate) fn publish_sequence(&self, seq: SequenceNumber) {
        self.last_sequence.store(seq, Ordering::Release);
    }

    /// The table cache every read goes through.
    pub(crate) fn tables(&self) -> &Arc<TableCache> {
        &self.tables
    }

    /// The table cache as the [`TableSource`] of versions and iterators.
    pub(crate) fn table_source(&self) -> Arc<dyn TableSource> {
        self.tables.clone()
    }

    /// The live snapshots.
    pub(crate) fn snapshots(&self) -> &SnapshotList {
        &self.snapshots
    }

    /// The current super version.
    pub(crate) fn current(&self) -> Arc<SuperVersion> {
        self.super_version.read().clone()
    }

    /// Publishes a new super version built from the current one by `f`, and remembers its
    /// version as live (its files must stay on disk while anyone holds it).
    pub(crate) fn install(&self, f: impl FnOnce(&SuperVersion) -> SuperVersion) {
        let mut sv = self.super_version.write();
        let new = Arc::new(f(&sv));
        let mut live = self.live_versions.lock();
        if !live.iter().any(|w| w.as_ptr() == Arc::as_ptr(&new.version)) {
            live.push(Arc::downgrade(&new.version));
        }
        *sv = new;
    }

    /// Adds to `live` the number of every table that a version someone still holds names.
    pub(crate) fn add_live_tables(&self, live: &mut HashSet<u64>) {
        let mut versions = self.live_versions.lock();
        versions.retain(|w| w.strong_count() > 0);
        for v in versions.iter().filter_map(|w| w.upgrade()) {
            live.extend(v.live_files().map(|f| f.number));
        }
    }

    /// Registers a snapshot at the last sequence number.
    ///
    /// Errors: [`Error::Closed`].
    pub(crate) fn snapshot(self: &Arc<Self>) -> Result<Snapshot> {
        self.check_open()?;
        Ok(Snapshot::new(self.clone(), self.last_sequence()))
    }

    /// The sequence number `read` reads at: its snapshot's, or `None` for "now".
    ///
    /// Errors: [`Error::InvalidArgument`] for a snapshot of another database.
    fn snapshot_sequence(self: &Arc<Self>, read: &ReadOptions) -> Result<Option<SequenceNumber>> {
        match &read.snapshot {
            None => Ok(None),
            Some(s) if s.belongs_to(self) => Ok(Some(s.sequence())),
            Some(_) => Err(Error::InvalidArgument(
                "the snapshot belongs to another database".into(),
            )),
        }
    }

    /// Point lookup of `key` at `read`'s snapshot (or now).
    ///
    /// Errors: [`Error::Closed`]; [`Error::InvalidArgument`] for a snapshot of another
    /// database; [`Error::Io`] / [`Error::Corruption`] from a table.
    pub(crate) fn get_opt(
        self: &Arc<Self>,
        key: &[u8],
        read: &ReadOptions,
    ) -> Result<Option<Vec<u8>>> {
        self.check_open()?;
        let seq = self.snapshot_sequence(read)?;
        self.get_at(key, seq)
    }

    /// Point lookup at sequence `seq` (a snapshot's), or at the newest sequence if `None`.
    ///
    /// Errors: [`Error::Io`] / [`Error::Corruption`] from a table.
    pub(crate) fn get_at(
        &self,
        key: &[u8],
        seq: Option<SequenceNumber>,
    ) -> Result<Option<Vec<u8>>> {
        // Super version first, then the sequence: every entry the super version's files hold
        // was published before we read the sequence, so the files cannot lack a version of
        // `key` that is visible at it. (A snapshot's sequence is older still, and compaction
        // keeps every entry a live snapshot can see.)
        let sv = self.current();
        let seq = seq.unwrap_or_else(|| self.last_sequence());
        sv.get(key, seq, self.tables.as_ref())
    }

    /// Point lookups of every key in `keys` at one view: one super version and one sequence
    /// number (`seq`, or the newest if `None`) for the whole call, so the answers are
    /// mutually consistent even while writes and compactions run. Answers are in the order
    /// of `keys`; a key given twice is looked up once.
    ///
    /// The keys are visited in sorted order, so that lookups falling into the same memtable
    /// region, SSTable and data block follow each other and find them hot in the block
    /// cache and the CPU cache (RocksDB's `MultiGet` sorts for the same reason).
    ///
    /// Errors: [`Error::InvalidArgument`] for an invalid key (nothing is looked up);
    /// [`Error::Io`] / [`Error::Corruption`] from a table.
    pub(crate) fn multi_get_at<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        seq: Option<SequenceNumber>,
    ) -> Result<Vec<Option<Vec<u8>>>> {
        for k in keys {
            crate::batch::check_key(k.as_ref())?;
        }
        // Super version before sequence, as in get_at.
        let sv = self.current();
        let seq = seq.unwrap_or_else(|| self.last_sequence());
        // Sorted (key, position) pairs: each run of equal keys is looked up once and its
        // value moved to the run's first position, cloned to the others.
        let mut order: Vec<(&[u8], usize)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_ref(), i))
            .collect();
        order.sort_unstable();
        let mut unique: Vec<&[u8]> = Vec::with_capacity(order.len());
        for (k, _) in &order {
            if unique.last() != Some(k) {
                unique.push(k);
            }
        }
        let values = sv.multi_get(&unique, seq, self.tables.as_ref())?;
        let mut out: Vec<Option<Vec<u8>>> = vec![None; keys.len()];
        for (run, value) in order.chunk_by(|a, b| a.0 == b.0).zip(values) {
            for &(_, i) in &run[1..] {
                out[i] = value.clone();
            }
            out[run[0].1] = value;
        }
        Ok(out)
    }

    /// [`multi_get_at`](Self::multi_get_at) at `read`'s snapshot (or now).
    ///
    /// Errors: as `multi_get_at`; [`Error::Closed`]; [`Error::InvalidArgument`] for a
    /// snapshot of another database.
    pub(crate) fn multi_get_opt<K: AsRef<[u8]>>(
        self: &Arc<Self>,
        keys: &[K],
        read: &ReadOptions,
    ) -> Result<Vec<Option<Vec<u8>>>> {
        self.check_open()?;
        let seq = self.snapshot_sequence(read)?;
        self.multi_get_at(keys, seq)
    }

    /// A cursor over the database as of `read.snapshot` (or now), within `read`'s bounds
    /// and prefix.
    ///
    /// Errors: [`Error::Closed`]; [`Error::InvalidArgument`] for a snapshot of another
    /// database; [`Error::Io`] / [`Error::Corruption`] opening an SSTable.
    pub(crate) fn iter(self: &Arc<Self>, read: ReadOptions) -> Result<DbIterator> {
        self.iter_hiding(read, None)
    }

    /// [`iter`](Self::iter), also hiding every key in the ranges of `hidden` whatever its
    /// sequence number: a transaction's own buffered range deletions.
    ///
    /// Errors: as [`iter`](Self::iter).
    pub(crate) fn iter_hiding(
        self: &Arc<Self>,
        read: ReadOptions,
        hidden: Option<Arc<FragmentedTombstones>>,
    ) -> Result<DbIterator> {
        self.check_open()?;
        let snapshot_seq = self.snapshot_sequence(&read)?;
        let (lower, upper) =
            prefix_bounds(read.lower_bound, read.upper_bound, read.prefix.as_deref());
        let sv = self.current();
        let seq = snapshot_seq.unwrap_or_else(|| self.last_sequence());
        let in_bounds = |f: &FileMetaData| {
            lower.as_deref().is_none_or(|lb| f.largest_user_key() >= lb)
                && upper.as_deref().is_none_or(|ub| f.smallest_user_key() < ub)
        };
        let merged = sv.read_iter(&self.table_source(), seq, in_bounds)?;
        let merged: Box<dyn InternalIterator> = match hidden {
            // Tombstones "newer than everything": every entry in them is hidden, and no
            // entry of the merge is newer than them, so runs are skipped by seeks.
            Some(h) if !h.is_empty() => {
                Box::new(RangeDelFilter::new(merged, h, MAX_SEQUENCE_NUMBER, 0))
            }
            _ => Box::new(merged),
        };
        // The iterator pins the super version (its memtables and files) and, when reading
        // at a snapshot, the snapshot (so compaction keeps what it sees).
        Ok(
            DbIterator::new(merged, seq, lower, upper, Box::new((sv, read.snapshot)))
                .with_owner(self.clone()),
        )
    }
}
