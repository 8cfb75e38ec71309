//! # kevo
//!
//! An embedded, crash-safe LSM-tree key-value storage engine.

#![warn(missing_docs)]

pub mod batch;
pub mod coding;
pub(crate) mod compaction;
mod db;
pub mod error;
pub mod filename;
pub mod fs;
pub mod iterator;
pub mod key;
pub mod manifest;
pub mod memtable;
pub mod options;
pub mod sstable;
mod table_cache;
pub mod wal;

pub use batch::WriteBatch;
pub use db::{Db, ReadOptions, Scan};
pub use error::{Error, Result};
pub use iterator::DbIterator;
pub use options::{Options, SyncMode, MAX_KEY_SIZE, MAX_VALUE_SIZE};
