//! [`Db`]: the database handle. Skeleton: the API is fixed, the bodies land with the engine.
#![allow(unused_variables, dead_code)]

use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};

use crate::batch::WriteBatch;
use crate::error::Result;
use crate::key::SequenceNumber;
use crate::options::Options;

/// An open database. `Send + Sync`: share it between threads by reference or in an `Arc`.
pub struct Db {
    path: PathBuf,
    options: Options,
}

/// Per-read settings for [`Db::iter`].
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Inclusive lower bound on user keys; `None` = from the first key.
    pub lower_bound: Option<Vec<u8>>,
    /// Exclusive upper bound on user keys; `None` = to the last key.
    pub upper_bound: Option<Vec<u8>>,
}

impl Db {
    /// Opens (or creates) the database in `path`.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<Db> {
        todo!()
    }
    /// Opens an existing database with the options stored in its manifest.
    pub fn reopen(path: impl AsRef<Path>) -> Result<Db> {
        todo!()
    }
    /// Sets `key` to `value`.
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        todo!()
    }
    /// The newest value of `key`, or `None`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        todo!()
    }
    /// Deletes `key`.
    pub fn delete(&self, key: &[u8]) -> Result<()> {
        todo!()
    }
    /// Applies `batch` atomically.
    pub fn write(&self, batch: &WriteBatch) -> Result<()> {
        todo!()
    }
    /// A cursor over the database at the current sequence number.
    pub fn iter(&self, read: ReadOptions) -> Result<DbIterator> {
        todo!()
    }
    /// Forward scan of `range` (user keys), as `(key, value)` pairs in key order.
    pub fn scan<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Result<Scan> {
        let lower_bound = match range.start_bound() {
            Bound::Included(k) => Some(k.as_ref().to_vec()),
            Bound::Excluded(k) => {
                let mut v = k.as_ref().to_vec();
                v.push(0);
                Some(v)
            }
            Bound::Unbounded => None,
        };
        let upper_bound = match range.end_bound() {
            Bound::Included(k) => {
                let mut v = k.as_ref().to_vec();
                v.push(0);
                Some(v)
            }
            Bound::Excluded(k) => Some(k.as_ref().to_vec()),
            Bound::Unbounded => None,
        };
        let mut it = self.iter(ReadOptions {
            lower_bound,
            upper_bound,
        })?;
        it.seek_to_first();
        Ok(Scan { it, first: true })
    }
    /// Forward scan of every key that starts with `prefix`.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<Scan> {
        todo!()
    }
    /// Writes the memtable to an SSTable and waits for it.
    pub fn flush(&self) -> Result<()> {
        todo!()
    }
    /// Closes the database.
    pub fn close(&self) -> Result<()> {
        todo!()
    }
    /// The options in force.
    pub fn options(&self) -> &Options {
        &self.options
    }
    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// The sequence number of the newest acknowledged write.
    pub fn last_sequence(&self) -> SequenceNumber {
        todo!()
    }
}

/// A cursor over user keys.
pub struct DbIterator {}

impl DbIterator {
    /// True if on an entry.
    pub fn valid(&self) -> bool {
        todo!()
    }
    /// To the first key within bounds.
    pub fn seek_to_first(&mut self) {
        todo!()
    }
    /// To the first key `>= key` within bounds.
    pub fn seek(&mut self, key: &[u8]) {
        todo!()
    }
    /// To the next key.
    pub fn next(&mut self) {
        todo!()
    }
    /// The current user key.
    pub fn key(&self) -> &[u8] {
        todo!()
    }
    /// The current value.
    pub fn value(&self) -> &[u8] {
        todo!()
    }
    /// `Ok` unless an error stopped iteration.
    pub fn status(&self) -> Result<()> {
        todo!()
    }
}

/// A forward scan as a Rust iterator of `Result<(key, value)>`.
pub struct Scan {
    it: DbIterator,
    first: bool,
}

impl Iterator for Scan {
    type Item = Result<(Vec<u8>, Vec<u8>)>;
    fn next(&mut self) -> Option<Self::Item> {
        if !self.first && self.it.valid() {
            self.it.next();
        }
        self.first = false;
        if self.it.valid() {
            return Some(Ok((self.it.key().to_vec(), self.it.value().to_vec())));
        }
        match self.it.status() {
            Ok(()) => None,
            Err(e) => Some(Err(e)),
        }
    }
}
