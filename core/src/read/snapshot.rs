//! Snapshots: the list of live snapshots the engine keeps, and the user's [`Snapshot`]
//! handle.
//!
//! A snapshot is a sequence number: it sees every write with a sequence number at or below
//! it and none above (the scheme of LevelDB's `db/snapshot.h`). What makes that view
//! survive later writes, flushes and compactions is the [`SnapshotList`]: a compaction
//! keeps, for each user key, the newest entry visible at each live snapshot, and drops only
//! the entries no snapshot can see (see [`crate::compaction`]). Flushes never drop
//! anything, and a tombstone at the bottom level is dropped only if no snapshot is older
//! than it.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::RangeBounds;
use std::sync::Arc;

use parking_lot::Mutex;

use super::state::ReadState;
use super::{range_to_bounds, ReadOptions, Scan};
use crate::batch::check_key;
use crate::error::Result;
use crate::iterator::DbIterator;
use crate::key::SequenceNumber;

/// The sequence numbers of live snapshots, with a count each (several snapshots may share a
/// sequence number).
#[derive(Debug, Default)]
pub(crate) struct SnapshotList {
    live: Mutex<BTreeMap<SequenceNumber, usize>>,
}

impl SnapshotList {
    fn acquire(&self, seq: SequenceNumber) {
        *self.live.lock().entry(seq).or_insert(0) += 1;
    }

    fn release(&self, seq: SequenceNumber) {
        let mut live = self.live.lock();
        if let Some(n) = live.get_mut(&seq) {
            *n -= 1;
            if *n == 0 {
                live.remove(&seq);
            }
        }
    }

    /// The distinct live snapshot sequence numbers, ascending.
    pub(crate) fn sequences(&self) -> Vec<SequenceNumber> {
        self.live.lock().keys().copied().collect()
    }

    /// Number of live snapshots.
    pub(crate) fn count(&self) -> usize {
        self.live.lock().values().sum()
    }
}

/// A point-in-time view of a database, from [`Db::snapshot`](crate::Db::snapshot).
///
/// Reads through it ([`get`](Self::get), [`iter`](Self::iter), [`scan`](Self::scan), or
/// any [`Db`](crate::Db) read given it in [`ReadOptions::snapshot`]) see the database exactly
/// as it was when the snapshot was taken, whatever was written, flushed or compacted since.
///
/// Cheap to clone (clones share one registration). Holding a snapshot keeps the older
/// versions of keys it can see from being compacted away, so long-lived snapshots cost disk
/// space; drop it when done. It keeps the engine's state alive, so it may outlive the
/// [`Db`](crate::Db) handle; reads after the database is closed return
/// [`Error::Closed`](crate::Error::Closed).
#[derive(Clone)]
pub struct Snapshot {
    inner: Arc<SnapshotInner>,
}

struct SnapshotInner {
    state: Arc<ReadState>,
    sequence: SequenceNumber,
}

impl Drop for SnapshotInner {
    fn drop(&mut self) {
        self.state.snapshots().release(self.sequence);
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("sequence", &self.inner.sequence)
            .finish()
    }
}

impl Snapshot {
    /// Registers a snapshot at `sequence`. The caller makes sure no entry above `sequence`
    /// was compacted yet (true for the current last sequence).
    pub(super) fn new(state: Arc<ReadState>, sequence: SequenceNumber) -> Snapshot {
        state.snapshots().acquire(sequence);
        Snapshot {
            inner: Arc::new(SnapshotInner { state, sequence }),
        }
    }

    /// The sequence number the snapshot reads at: that of the newest write it sees.
    pub fn sequence(&self) -> SequenceNumber {
        self.inner.sequence
    }

    /// True if this snapshot was taken from the database state `state`.
    pub(super) fn belongs_to(&self, state: &Arc<ReadState>) -> bool {
        Arc::ptr_eq(&self.inner.state, state)
    }

    /// The value of `key` as of the snapshot, or `None`.
    ///
    /// Errors: as [`Db::get`](crate::Db::get).
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        self.inner.state.check_open()?;
        self.inner.state.get_at(key, Some(self.inner.sequence))
    }

    /// The value of each key in `keys` as of the snapshot, in the order given (see
    /// [`Db::multi_get`](crate::Db::multi_get)).
    ///
    /// Errors: as [`Db::multi_get`](crate::Db::multi_get).
    pub fn multi_get<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Option<Vec<u8>>>> {
        self.inner.state.check_open()?;
        self.inner
            .state
            .multi_get_at(keys, Some(self.inner.sequence))
    }

    /// A cursor over the database as of the snapshot, within the bounds of `read` (its
    /// `snapshot` field is ignored: this snapshot is used).
    ///
    /// Errors: as [`Db::iter`](crate::Db::iter).
    pub fn iter(&self, mut read: ReadOptions) -> Result<DbIterator> {
        read.snapshot = Some(self.clone());
        self.inner.state.iter(read)
    }

    /// [`iter`](Self::iter), also hiding the keys in `hidden`'s ranges (a transaction's
    /// buffered range deletions).
    pub(crate) fn iter_hiding(
        &self,
        mut read: ReadOptions,
        hidden: Option<Arc<crate::range_del::FragmentedTombstones>>,
    ) -> Result<DbIterator> {
        read.snapshot = Some(self.clone());
        self.inner.state.iter_hiding(read, hidden)
    }

    /// Forward scan of the keys in `range` as of the snapshot; see
    /// [`Db::scan`](crate::Db::scan).
    ///
    /// Errors: as [`Db::iter`](crate::Db::iter).
    pub fn scan<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Result<Scan> {
        let (lower_bound, upper_bound) = range_to_bounds(range);
        self.iter(ReadOptions {
            lower_bound,
            upper_bound,
            ..Default::default()
        })
        .map(Scan::new)
    }

    /// Forward scan of the keys starting with `prefix` as of the snapshot.
    ///
    /// Errors: as [`Db::iter`](crate::Db::iter).
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<Scan> {
        self.iter(ReadOptions {
            prefix: Some(prefix.to_vec()),
            ..Default::default()
        })
        .map(Scan::new)
    }
}
