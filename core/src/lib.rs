//! # kevo
//!
//! An embedded, crash-safe LSM-tree key-value storage engine: writes go to a write-ahead log
//! and a skip-list memtable, full memtables are flushed to immutable SSTables, and background
//! compaction merges those (the design of LevelDB and RocksDB).
//!
//! ```
//! use kevo::{Db, Options, SyncMode, WriteBatch};
//!
//! # fn main() -> kevo::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! let db = Db::open(dir.path(), Options::default().sync_mode(SyncMode::Always))?;
//! db.put(b"city/paris", b"2138551")?;
//! let mut batch = WriteBatch::new();
//! batch.put(b"city/lyon", b"522969")?;
//! batch.delete(b"city/paris")?;
//! db.write(&batch)?; // atomically
//! assert_eq!(db.get(b"city/paris")?, None);
//! let cities: Vec<_> = db.scan_prefix(b"city/")?.collect::<kevo::Result<_>>()?;
//! assert_eq!(cities, vec![(b"city/lyon".to_vec(), b"522969".to_vec())]);
//! db.close()?;
//! # Ok(())
//! # }
//! ```
//!
//! ## Where things are
//!
//! Layers, bottom up; each module uses only those on its own line or below (a test,
//! `tests/layers.rs`, checks it):
//!
//! | layer | module | concept |
//! | --- | --- | --- |
//! | base | [`error`] | [`Error`], [`Result`] |
//! | | [`coding`] | little-endian integers, varints, length-prefixed slices |
//! | | [`key`] | internal keys: user key, sequence number, kind |
//! | | [`filename`] | the files of a database directory, by number |
//! | | [`fs`] | the file-system boundary, real and in-memory with fault injection |
//! | | [`options`] | [`Options`]: tuning, durability, limits; persisted in the manifest |
//! | storage | [`batch`] | [`WriteBatch`], the unit of atomic writes and of WAL records; its memtable inserter |
//! | | [`wal`] | the write-ahead log format, writer and reader |
//! | | [`memtable`] | the skip-list memtable |
//! | | [`range_del`] | range tombstones: fragmenting, the SSTable range-deletion block, the iterator filter |
//! | | [`sstable`] | the SSTable format: blocks, bloom filter, index, footer; the block cache |
//! | | [`manifest`] | versions (and their point lookup and level iterators), version edits, `MANIFEST` and `CURRENT` |
//! | | [`iterator`] | merging (binary heap), level and database iterators |
//! | | [`stats`] | [`Stats`]: counters, write amplification, per-level shape |
//! | tables | `table_cache` | the bounded cache of open tables |
//! | | `table_writer` | writing SSTables from a sorted stream: the one routine of flush and compaction |
//! | steps | `flush` | an immutable memtable becomes an L0 SSTable |
//! | | `compaction` | picking (leveled, tiered), the snapshot-aware drop rule, the compaction job |
//! | | [`read`] | the read path: super version, point lookup and iterator assembly, [`Snapshot`], [`ReadOptions`] |
//! | orchestration | `db` | [`Db`]: open and recovery, the write path, background flush and compaction |
//! | above | [`txn`] | optimistic [`Transaction`]s, on top of the `Db`; [`RetryPolicy`] and [`run_transaction`] for conflicts |
//! | | [`cursor`] | [`Cursor`]: one cursor type over a database or a transaction, for the bindings |
//! | | [`backup`] | [`BackupEngine`]: incremental backups (shared SSTables, verified restores) |
//!
//! A key passes through, in order: [`Db::put`] (`db/mod.rs`) → `db/write.rs` (write queue,
//! group commit) → `batch.rs` (encoding) → `db/wal_segments.rs` and `wal/writer.rs` (the
//! WAL record) → `batch.rs`'s inserter and `memtable/mod.rs` → `db/write.rs` (memtable
//! switch) → `db/background.rs` → `flush.rs` → `table_writer.rs` → `sstable/builder.rs` (an
//! L0 SSTable) → `manifest/version_set.rs` (the version edit) → `compaction/picker.rs` →
//! `compaction/job.rs` → `compaction/drop_rule.rs` → `table_writer.rs` (deeper levels);
//! and back out through [`Db::get`] → `read/state.rs` → `read/super_version.rs` →
//! `manifest/version.rs` → `table_cache.rs` → `sstable/table.rs`.

#![warn(missing_docs)]

pub mod backup;
pub mod batch;
pub mod coding;
pub(crate) mod compaction;
pub mod cursor;
mod db;
pub mod error;
pub mod filename;
pub(crate) mod flush;
pub mod fs;
pub mod iterator;
pub mod key;
pub mod manifest;
pub mod memtable;
pub mod options;
pub mod range_del;
pub mod read;
pub mod sstable;
pub mod stats;
mod table_cache;
pub(crate) mod table_writer;
pub mod txn;
pub mod wal;

pub use backup::{BackupEngine, BackupInfo};
pub use batch::WriteBatch;
pub use cursor::Cursor;
pub use db::{CheckpointInfo, Db};
pub use error::{Error, Result};
pub use iterator::DbIterator;
pub use options::{
    CompactionStyle, Compression, Options, SyncMode, WriteOptions, MAX_KEY_SIZE, MAX_MEMTABLE_SIZE,
    MAX_VALUE_SIZE,
};
pub use read::{ReadOptions, Scan, Snapshot};
pub use stats::{LevelStats, Stats};
pub use txn::{run_transaction, RetryPolicy};
pub use txn::{IsolationLevel, Transaction, TransactionOptions, TxnIterator};
