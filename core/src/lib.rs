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
//! | module | concept |
//! | --- | --- |
//! | [`key`] | internal keys: user key, sequence number, kind |
//! | [`batch`] | [`WriteBatch`], the unit of atomic writes and of WAL records |
//! | [`wal`] | the write-ahead log format, writer and reader |
//! | [`memtable`] | the skip-list memtable |
//! | [`sstable`] | the SSTable format: blocks, bloom filter, index, footer |
//! | [`manifest`] | versions, version edits, `MANIFEST` and `CURRENT` |
//! | [`iterator`] | merging (binary heap), level and database iterators |
//! | [`snapshot`] | [`Snapshot`]: a point-in-time view |
//! | [`stats`] | [`Stats`]: counters, write amplification, per-level shape |
//! | `compaction` | picking (leveled, tiered), the snapshot-aware compaction filter, running |
//! | `cache`, `table_cache` | the block cache and the bounded cache of open tables |
//! | [`fs`] | the file-system boundary, real and in-memory with fault injection |
//! | `db` | [`Db`]: open and recovery, the write path, background flush and compaction |

#![warn(missing_docs)]

pub mod batch;
mod cache;
pub mod coding;
pub(crate) mod compaction;
pub mod cursor;
mod db;
pub mod error;
pub mod filename;
pub mod fs;
pub mod iterator;
pub mod key;
pub mod manifest;
pub mod memtable;
pub mod options;
pub mod snapshot;
pub mod sstable;
pub mod stats;
mod table_cache;
pub mod txn;
pub mod wal;

pub use batch::WriteBatch;
pub use cursor::Cursor;
pub use db::{Db, ReadOptions, Scan};
pub use error::{Error, Result};
pub use iterator::DbIterator;
pub use options::{
    CompactionStyle, Compression, Options, SyncMode, MAX_KEY_SIZE, MAX_MEMTABLE_SIZE,
    MAX_VALUE_SIZE,
};
pub use snapshot::Snapshot;
pub use stats::{LevelStats, Stats};
pub use txn::{run_transaction, RetryPolicy};
pub use txn::{IsolationLevel, Transaction, TransactionOptions, TxnIterator};
