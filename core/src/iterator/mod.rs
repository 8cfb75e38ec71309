//! Iterators over internal keys, and how they compose.
//!
//! Every source of entries — a memtable, a data block, an SSTable, a level — implements
//! [`InternalIterator`]: a cursor over `(internal key, value)` pairs in internal-key order
//! (see [`crate::key`]). A [`LevelIterator`] walks the files of one level L1+ as one sorted
//! run, opening one table at a time; a [`MergingIterator`] combines several sources (the
//! memtables, each L0 file, one level iterator per level) into one sorted stream,
//! and the database iterator on top turns that stream into the user's view: one entry per
//! user key, the newest visible at the read's sequence number, tombstones hidden.
//! (The layering follows LevelDB's `table/iterator.h` and mini-lsm's iterator chapters.)
//!
//! | Iterator | Over | Cost per step | Notes |
//! |---|---|---|---|
//! | memtable / [`TableIterator`](crate::sstable::TableIterator) | one source | O(1) amortized | the leaves |
//! | [`LevelIterator`] | the disjoint, sorted files of one level L1+ | O(1) amortized | one table open at a time; a seek opens only the file that can hold the target (binary search on file bounds) |
//! | [`MergingIterator`] | n sorted children | O(log n) | binary heap of children; a direction change costs O(n) seeks |
//! | [`DbIterator`] | a merging iterator | amortized over hidden versions | one entry per user key at a sequence, tombstones hidden, bounds |
//!
//! A level is one child of the merge rather than one child per file because its files never
//! overlap: concatenating them keeps the heap small and leaves one table open per level.

use crate::error::Result;

/// A cursor over `(internal key, value)` entries in internal-key order.
///
/// Positioning methods never fail directly: on an I/O or corruption error the iterator
/// becomes invalid and [`status`](Self::status) returns the error. A caller that sees
/// `valid() == false` must check `status()` to tell the end from a failure.
pub trait InternalIterator: Send {
    /// True if the cursor is on an entry.
    fn valid(&self) -> bool;
    /// Moves to the first entry.
    fn seek_to_first(&mut self);
    /// Moves to the last entry.
    fn seek_to_last(&mut self);
    /// Moves to the first entry whose internal key is `>= target` (an encoded internal key).
    fn seek(&mut self, target: &[u8]);
    /// Moves to the next entry. Requires `valid()`.
    fn next(&mut self);
    /// Moves to the previous entry. Requires `valid()`.
    fn prev(&mut self);
    /// The current entry's internal key. Requires `valid()`.
    fn key(&self) -> &[u8];
    /// The current entry's value. Requires `valid()`.
    fn value(&self) -> &[u8];
    /// `Ok` unless an error stopped the iteration.
    fn status(&self) -> Result<()>;
}

impl<I: InternalIterator + ?Sized> InternalIterator for Box<I> {
    fn valid(&self) -> bool {
        (**self).valid()
    }
    fn seek_to_first(&mut self) {
        (**self).seek_to_first()
    }
    fn seek_to_last(&mut self) {
        (**self).seek_to_last()
    }
    fn seek(&mut self, target: &[u8]) {
        (**self).seek(target)
    }
    fn next(&mut self) {
        (**self).next()
    }
    fn prev(&mut self) {
        (**self).prev()
    }
    fn key(&self) -> &[u8] {
        (**self).key()
    }
    fn value(&self) -> &[u8] {
        (**self).value()
    }
    fn status(&self) -> Result<()> {
        (**self).status()
    }
}

pub(crate) mod db_iter;
mod level;
mod merging;

pub use db_iter::DbIterator;
pub use level::{LevelIterator, TableOpener};
pub use merging::MergingIterator;
