//! Optimistic transactions: snapshot reads, a private write buffer, and a conflict check at
//! commit.
//!
//! A [`Transaction`] reads from a snapshot taken when it begins, plus its own writes
//! (read-your-writes, for [`get`](Transaction::get) and for [`iter`](Transaction::iter)). Its
//! writes stay in a private buffer until [`commit`](Transaction::commit), which checks for
//! conflicts and writes the whole buffer as one [`WriteBatch`]: one WAL record, atomic on
//! recovery and as durable as the database's [`SyncMode`](crate::SyncMode). Nothing is
//! locked while the transaction runs; a conflict is found only at commit, which then fails
//! with [`Error::Conflict`] and writes nothing. This is *optimistic* concurrency control
//! (Kung & Robinson, 1981), with the semantics of RocksDB's `OptimisticTransactionDB`
//! (RocksDB wiki, "Transactions").
//!
//! A transfer between two accounts, retried on conflict:
//!
//! ```
//! fn transfer(db: &kevo::Db, from: &[u8], to: &[u8], amount: i64) -> kevo::Result<()> {
//!     let balance = |v: Option<Vec<u8>>| -> i64 {
//!         v.and_then(|v| String::from_utf8(v).ok()?.parse().ok()).unwrap_or(0)
//!     };
//!     loop {
//!         let txn = db.transaction()?;
//!         let a = balance(txn.get(from)?);
//!         let b = balance(txn.get(to)?);
//!         txn.put(from, (a - amount).to_string().as_bytes())?;
//!         txn.put(to, (b + amount).to_string().as_bytes())?;
//!         match txn.commit() {
//!             Err(kevo::Error::Conflict(_)) => continue, // another commit came first: retry
//!             other => return other,
//!         }
//!     }
//! }
//! # let dir = tempfile::tempdir().unwrap();
//! # let db = kevo::Db::open(dir.path(), kevo::Options::default()).unwrap();
//! transfer(&db, b"alice", b"bob", 30).unwrap();
//! assert_eq!(db.get(b"bob").unwrap().as_deref(), Some(&b"30"[..]));
//! ```
//!
//! # Isolation levels
//!
//! | level | commit fails if, since the snapshot, another commit wrote... | prevents |
//! |---|---|---|
//! | [`Snapshot`](IsolationLevel::Snapshot) (default) | a key this transaction writes | dirty reads, non-repeatable reads, phantoms within the transaction, lost updates |
//! | [`Serializable`](IsolationLevel::Serializable) | a key this transaction writes, a key it read, or any key in a range it scanned | all of the above, and write skew and phantom-based anomalies: every committed history is equivalent to running the transactions one at a time in commit order |
//!
//! Under snapshot isolation two transactions that read overlapping data and write disjoint
//! keys both commit, which can break an invariant that spans keys (write skew: two doctors
//! each check that the other is on call, then both go off call). Serializable prevents that
//! by also validating the read set: each key read from the database (absent keys included)
//! and each key range an iterator moved across.
//!
//! Costs: reads and writes cost what they cost outside a transaction, plus a buffer lookup;
//! serializable reads also record their key or range. The commit check reads the newest
//! entry of each written key (and, when serializable, each read key and every entry in each
//! scanned range) from the memtables and the SSTables written since the snapshot; it runs in
//! the write queue, so a commit with a large read set delays the writes queued behind it.
//! A transaction keeps a snapshot alive, which keeps compaction from dropping the versions it
//! can see; long transactions cost disk space. Read-only transactions commit without any
//! check: they are serializable at their snapshot.
//!
//! Writes made outside transactions (with [`Db::put`](crate::Db::put) and friends) are
//! commits too: a transaction that wrote (or, serializable, read) a key conflicts with them.

mod conflict;
mod iter;
pub mod retry;

use conflict::{CommitCheck, KeyRange};
pub use iter::TxnIterator;
pub use retry::{run_transaction, RetryPolicy};

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::batch::{check_key, check_value, WriteBatch};
use crate::db::{Db, DbInner};
use crate::error::{Error, Result};
use crate::key::{SequenceNumber, MAX_SEQUENCE_NUMBER};
use crate::options::WriteOptions;
use crate::range_del::{FragmentedTombstones, RangeTombstone};
use crate::read::{prefix_bounds, ReadOptions, Snapshot};
use iter::WriteBuffer;

/// How strictly a transaction is isolated from concurrent commits; see the
/// [module documentation](self) for what each level prevents and costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationLevel {
    /// Snapshot isolation: reads see the snapshot; commit fails if another commit since the
    /// snapshot wrote a key this transaction writes (first committer wins).
    #[default]
    Snapshot,
    /// Serializable: snapshot isolation plus validation of the read set (keys read and key
    /// ranges scanned), so write skew and phantoms cannot happen.
    Serializable,
}

/// Settings for [`Db::transaction_with`](crate::Db::transaction_with).
#[derive(Debug, Clone, Default)]
pub struct TransactionOptions {
    /// The isolation level; default [`IsolationLevel::Snapshot`].
    pub isolation: IsolationLevel,
}

impl TransactionOptions {
    /// Sets [`isolation`](Self::isolation).
    pub fn isolation(mut self, level: IsolationLevel) -> Self {
        self.isolation = level;
        self
    }
}

impl Db {
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
        Ok(Transaction::begin(self.inner().clone(), snapshot, options))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Status {
    Active,
    Committed,
    RolledBack,
    /// Commit was tried and failed (conflict or error); nothing was written.
    Failed,
}

impl Status {
    fn from_u8(v: u8) -> Status {
        match v {
            0 => Status::Active,
            1 => Status::Committed,
            2 => Status::RolledBack,
            _ => Status::Failed,
        }
    }
}

struct TxnState {
    /// Shared with iterators created from the transaction: a write after that copies the
    /// map (`Arc::make_mut`) so iterators keep the view they were created with.
    writes: Arc<WriteBuffer>,
    /// Keys and ranges read from the database (serializable only).
    reads: Vec<KeyRange>,
    /// Buffered range deletions, `[start, end)`. A write to a key in one after it was
    /// buffered lives in `writes` (earlier writes there are removed by it); commit writes
    /// the ranges first, so those later writes win.
    ranges: Vec<(Vec<u8>, Vec<u8>)>,
}

impl TxnState {
    fn in_deleted_range(&self, key: &[u8]) -> bool {
        self.ranges
            .iter()
            .any(|(a, b)| a.as_slice() <= key && key < b.as_slice())
    }

    /// The buffered range deletions as tombstones newer than everything, for iterators.
    fn hidden(&self) -> Option<Arc<FragmentedTombstones>> {
        if self.ranges.is_empty() {
            return None;
        }
        let ts: Vec<RangeTombstone> = self
            .ranges
            .iter()
            .map(|(a, b)| RangeTombstone::new(a, b, MAX_SEQUENCE_NUMBER))
            .collect();
        Some(Arc::new(FragmentedTombstones::new(&ts)))
    }
}

/// What a transaction and its iterators share.
pub(crate) struct TxnShared {
    db: Arc<DbInner>,
    snapshot: Snapshot,
    isolation: IsolationLevel,
    /// A [`Status`]. Changed only while `state` is locked, so a write to the buffer and the
    /// commit that takes it are ordered; read without the lock by iterators on every move.
    status: AtomicU8,
    state: Mutex<TxnState>,
}

impl TxnShared {
    pub(crate) fn check_active(&self) -> Result<()> {
        check_status(self.status())
    }

    fn status(&self) -> Status {
        Status::from_u8(self.status.load(Ordering::Acquire))
    }

    /// Call with `state` locked.
    fn set_status(&self, status: Status) {
        self.status.store(status as u8, Ordering::Release);
    }

    pub(crate) fn tracks_reads(&self) -> bool {
        self.isolation == IsolationLevel::Serializable
    }

    pub(crate) fn record_read(&self, range: KeyRange) {
        self.state.lock().reads.push(range);
    }
}

fn check_status(status: Status) -> Result<()> {
    let what = match status {
        Status::Active => return Ok(()),
        Status::Committed => "committed",
        Status::RolledBack => "rolled back",
        Status::Failed => "finished by a failed commit",
    };
    Err(Error::InvalidArgument(format!(
        "the transaction was already {what}; start a new one"
    )))
}

/// An optimistic transaction; see the [module documentation](self) for its semantics.
///
/// Created by [`Db::transaction`](crate::Db::transaction). Every method takes `&self`, and a
/// `Transaction` is `Send + Sync`, but it is meant for one thread: concurrent use from two
/// threads is safe but its outcome depends on their interleaving. Dropping it without
/// [`commit`](Self::commit) rolls it back. After `commit` (whatever its result) or
/// [`rollback`](Self::rollback), every method returns [`Error::InvalidArgument`].
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// let db = kevo::Db::open(dir.path(), kevo::Options::default()).unwrap();
/// db.put(b"alice", b"100").unwrap();
/// let txn = db.transaction().unwrap();
/// let balance: u64 = std::str::from_utf8(&txn.get(b"alice").unwrap().unwrap())
///     .unwrap()
///     .parse()
///     .unwrap();
/// txn.put(b"alice", (balance - 30).to_string().as_bytes()).unwrap();
/// txn.put(b"bob", b"30").unwrap();
/// txn.commit().unwrap();
/// assert_eq!(db.get(b"bob").unwrap().as_deref(), Some(&b"30"[..]));
/// ```
pub struct Transaction {
    shared: Arc<TxnShared>,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.shared.state.lock();
        f.debug_struct("Transaction")
            .field("snapshot", &self.shared.snapshot.sequence())
            .field("isolation", &self.shared.isolation)
            .field("status", &self.shared.status())
            .field("writes", &state.writes.len())
            .finish()
    }
}

impl Transaction {
    fn begin(db: Arc<DbInner>, snapshot: Snapshot, options: TransactionOptions) -> Self {
        Transaction {
            shared: Arc::new(TxnShared {
                db,
                snapshot,
                isolation: options.isolation,
                status: AtomicU8::new(Status::Active as u8),
                state: Mutex::new(TxnState {
                    writes: Arc::new(BTreeMap::new()),
                    reads: Vec::new(),
                    ranges: Vec::new(),
                }),
            }),
        }
    }

    /// The sequence number of the snapshot the transaction reads at.
    pub fn snapshot_sequence(&self) -> SequenceNumber {
        self.shared.snapshot.sequence()
    }

    /// The isolation level.
    pub fn isolation(&self) -> IsolationLevel {
        self.shared.isolation
    }

    /// True until the transaction is finished: by [`commit`](Self::commit), whatever its
    /// result, or by [`rollback`](Self::rollback).
    pub fn is_active(&self) -> bool {
        self.shared.status() == Status::Active
    }

    /// Number of keys written (put or deleted) so far; a key written twice counts once.
    pub fn write_count(&self) -> usize {
        self.shared.state.lock().writes.len()
    }

    /// The value of `key` as this transaction sees it: its own latest write of the key, or
    /// else the snapshot's value. A serializable transaction records the key in its read set
    /// when the answer comes from the database.
    ///
    /// Errors: [`Error::InvalidArgument`] for a bad key or a finished transaction;
    /// [`Error::Closed`]; [`Error::Io`] / [`Error::Corruption`] from the files read.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        {
            let mut state = self.shared.state.lock();
            check_status(self.shared.status())?;
            if let Some(v) = state.writes.get(key) {
                return Ok(v.clone());
            }
            if state.in_deleted_range(key) {
                return Ok(None);
            }
            if self.shared.tracks_reads() {
                state.reads.push(KeyRange::point(key));
            }
        }
        self.shared.snapshot.get(key)
    }

    /// Buffers `key = value`; visible to this transaction's reads at once, to others after
    /// commit.
    ///
    /// Errors: [`Error::InvalidArgument`] for a bad key or value (see
    /// [`WriteBatch::put`]) or a finished transaction.
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        check_key(key)?;
        check_value(value)?;
        self.buffer(key, Some(value.to_vec()))
    }

    /// Buffers a deletion of `key`.
    ///
    /// Errors: [`Error::InvalidArgument`] for a bad key or a finished transaction.
    pub fn delete(&self, key: &[u8]) -> Result<()> {
        check_key(key)?;
        self.buffer(key, None)
    }

    /// Buffers a deletion of every key in `[start, end)`: this transaction's reads and
    /// iterators stop seeing them at once (except keys it writes afterwards), and commit
    /// writes one range tombstone (see [`Db::delete_range`](crate::Db::delete_range)). The
    /// range is in the write set: commit fails with [`Error::Conflict`] if any key in it was
    /// written after the snapshot.
    ///
    /// Errors: [`Error::InvalidArgument`] for bad bounds (see [`WriteBatch::delete_range`])
    /// or a finished transaction.
    pub fn delete_range(&self, start: &[u8], end: &[u8]) -> Result<()> {
        crate::batch::check_range(start, end)?;
        if start == end {
            return Ok(());
        }
        let mut state = self.shared.state.lock();
        check_status(self.shared.status())?;
        let covered: Vec<Vec<u8>> = state
            .writes
            .range::<[u8], _>((
                std::ops::Bound::Included(start),
                std::ops::Bound::Excluded(end),
            ))
            .map(|(k, _)| k.clone())
            .collect();
        if !covered.is_empty() {
            let w = Arc::make_mut(&mut state.writes);
            for k in covered {
                w.remove(&k);
            }
        }
        state.ranges.push((start.to_vec(), end.to_vec()));
        Ok(())
    }

    fn buffer(&self, key: &[u8], value: Option<Vec<u8>>) -> Result<()> {
        let mut state = self.shared.state.lock();
        check_status(self.shared.status())?;
        Arc::make_mut(&mut state.writes).insert(key.to_vec(), value);
        Ok(())
    }

    /// A cursor over what the transaction sees (the snapshot plus its own writes as of now)
    /// within the bounds and prefix of `read`. `read.snapshot` must be `None`: a
    /// transaction reads at its own snapshot. Unpositioned: call a seek method first.
    ///
    /// Errors: [`Error::InvalidArgument`] if `read.snapshot` is set or the transaction is
    /// finished; as [`Db::iter`](crate::Db::iter) otherwise.
    pub fn iter(&self, mut read: ReadOptions) -> Result<TxnIterator> {
        if read.snapshot.is_some() {
            return Err(Error::InvalidArgument(
                "a transaction reads at its own snapshot; leave ReadOptions::snapshot unset".into(),
            ));
        }
        let (writes, hidden) = {
            let state = self.shared.state.lock();
            check_status(self.shared.status())?;
            (state.writes.clone(), state.hidden())
        };
        let (lower, upper) = prefix_bounds(
            read.lower_bound.clone(),
            read.upper_bound.clone(),
            read.prefix.as_deref(),
        );
        read.lower_bound = lower.clone();
        read.upper_bound = upper.clone();
        read.prefix = None;
        let base = self.shared.snapshot.iter_hiding(read, hidden)?;
        Ok(TxnIterator::new(
            base,
            writes,
            lower,
            upper,
            self.shared.clone(),
        ))
    }

    /// Commits: checks for conflicts and, if there are none, writes every buffered write as
    /// one atomic batch (one WAL record, synced per the database's sync mode). The
    /// transaction is finished afterwards, whatever the result. A transaction that wrote
    /// nothing commits without a check.
    ///
    /// Errors: [`Error::Conflict`] (nothing was written; retry the whole transaction);
    /// [`Error::InvalidArgument`] if already finished; as [`Db::write`](crate::Db::write).
    pub fn commit(&self) -> Result<()> {
        let (writes, reads, deleted_ranges) = {
            let mut state = self.shared.state.lock();
            check_status(self.shared.status())?;
            self.shared.set_status(Status::Failed);
            (
                std::mem::take(&mut state.writes),
                std::mem::take(&mut state.reads),
                std::mem::take(&mut state.ranges),
            )
        };
        if writes.is_empty() && deleted_ranges.is_empty() {
            let _state = self.shared.state.lock();
            self.shared.set_status(Status::Committed);
            return Ok(());
        }
        let mut batch = WriteBatch::new();
        let mut ranges = reads;
        for (a, b) in &deleted_ranges {
            batch.delete_range(a, b)?;
            ranges.push(KeyRange {
                start: a.clone(),
                end: conflict::RangeEnd::Excluded(b.clone()),
            });
        }
        for (k, v) in writes.iter() {
            match v {
                Some(v) => batch.put(k, v)?,
                None => batch.delete(k)?,
            }
            ranges.push(KeyRange::point(k));
        }
        let check = CommitCheck {
            ranges,
            since: self.shared.snapshot.sequence(),
        };
        let r = self
            .shared
            .db
            .write(batch, WriteOptions::default(), Some(Box::new(check)));
        if r.is_ok() {
            let _state = self.shared.state.lock();
            self.shared.set_status(Status::Committed);
        }
        r
    }

    /// Discards every buffered write. The transaction is finished afterwards.
    ///
    /// Errors: [`Error::InvalidArgument`] if already finished.
    pub fn rollback(&self) -> Result<()> {
        let mut state = self.shared.state.lock();
        check_status(self.shared.status())?;
        self.shared.set_status(Status::RolledBack);
        state.writes = Arc::new(BTreeMap::new());
        state.reads.clear();
        state.ranges.clear();
        Ok(())
    }
}
