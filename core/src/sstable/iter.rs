//! [`TableIterator`]: the two-level iterator over a table (LevelDB's
//! `table/two_level_iterator.cc`).
//!
//! The first level is a position in the table's decoded [`TableIndex`](super::index)
//! (fetched once, when the iterator is created, and held for its life);
//! each index entry names a data block, which the second level reads (checksum verified) and
//! walks with a [`BlockIter`]. Moving past either end of a data block moves the index
//! position and loads the neighbouring block. Only one data block is held at a time.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::iterator::InternalIterator;

use super::block::BlockIter;
use super::format::BlockHandle;
use super::index::TableIndex;
use super::table::Table;

/// A cursor over every entry of a [`Table`], in internal-key order. Holds an `Arc` of the
/// table, so it is `'static` and `Send`.
///
/// Errors (a failed read, a corrupt block) are sticky: the iterator becomes invalid,
/// [`status`](InternalIterator::status) returns the error, and further positioning calls do
/// nothing.
pub struct TableIterator {
    table: Arc<Table>,
    /// The table's index, held so that stepping between blocks needs no cache lookup.
    index: Arc<TableIndex>,
    /// Position in the index; `index.len()` when past either end.
    index_pos: usize,
    /// The data block at `index_pos`, once loaded.
    data: Option<BlockIter>,
    data_handle: Option<BlockHandle>,
    err: Option<Error>,
}

impl std::fmt::Debug for TableIterator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableIterator")
            .field("table", &self.table.file_name())
            .field("data_handle", &self.data_handle)
            .field("valid", &self.valid())
            .finish_non_exhaustive()
    }
}

impl TableIterator {
    /// An iterator over `table`. If its index cannot be fetched, the iterator is invalid
    /// from the start and reports the error from `status`.
    pub(super) fn new(table: Arc<Table>) -> Self {
        let (index, err) = match table.index() {
            Ok(index) => (index, None),
            Err(e) => (Arc::new(TableIndex::default()), Some(e)),
        };
        TableIterator {
            table,
            index_pos: index.len(),
            index,
            data: None,
            data_handle: None,
            err,
        }
    }

    fn fail(&mut self, e: Error) {
        self.err.get_or_insert(e);
        self.data = None;
        self.data_handle = None;
    }

    fn index_valid(&self) -> bool {
        self.index_pos < self.index.len()
    }

    /// Makes `data` iterate the block at `index_pos`, reusing the loaded block if it is the
    /// same one.
    fn load_data_block(&mut self) {
        if !self.index_valid() {
            self.data = None;
            self.data_handle = None;
            return;
        }
        let handle = self.index.handle(self.index_pos);
        if self.data.is_some() && self.data_handle == Some(handle) {
            return;
        }
        match self.table.data_block(handle) {
            Ok(block) => {
                self.data = Some(block.iter());
                self.data_handle = Some(handle);
            }
            Err(e) => self.fail(e),
        }
    }

    /// True if the data iterator is on an entry; records its error if it stopped on one.
    fn data_ready(&mut self) -> bool {
        if let Some(d) = &self.data {
            if d.valid() {
                return true;
            }
            if let Err(e) = d.status() {
                self.fail(e);
            }
        }
        false
    }

    /// Moves forward over blocks until the data iterator is on an entry or the index ends.
    fn skip_exhausted_forward(&mut self) {
        while !self.data_ready() {
            if self.err.is_some() || !self.index_valid() {
                self.data = None;
                return;
            }
            self.index_pos += 1;
            self.load_data_block();
            if let Some(d) = &mut self.data {
                d.seek_to_first();
            }
        }
    }

    /// Moves backward over blocks until the data iterator is on an entry or the index ends.
    fn skip_exhausted_backward(&mut self) {
        while !self.data_ready() {
            if self.err.is_some() || !self.index_valid() {
                self.data = None;
                return;
            }
            // Before the first block is as invalid as past the last one.
            self.index_pos = self.index_pos.checked_sub(1).unwrap_or(self.index.len());
            self.load_data_block();
            if let Some(d) = &mut self.data {
                d.seek_to_last();
            }
        }
    }
}

impl InternalIterator for TableIterator {
    fn valid(&self) -> bool {
        self.err.is_none() && self.data.as_ref().is_some_and(|d| d.valid())
    }

    fn seek_to_first(&mut self) {
        if self.err.is_some() {
            return;
        }
        self.index_pos = 0;
        self.load_data_block();
        if let Some(d) = &mut self.data {
            d.seek_to_first();
        }
        self.skip_exhausted_forward();
    }

    fn seek_to_last(&mut self) {
        if self.err.is_some() {
            return;
        }
        let n = self.index.len();
        self.index_pos = n.checked_sub(1).unwrap_or(n);
        self.load_data_block();
        if let Some(d) = &mut self.data {
            d.seek_to_last();
        }
        self.skip_exhausted_backward();
    }

    fn seek(&mut self, target: &[u8]) {
        if self.err.is_some() {
            return;
        }
        self.index_pos = self.index.seek(target);
        self.load_data_block();
        if let Some(d) = &mut self.data {
            d.seek(target);
        }
        self.skip_exhausted_forward();
    }

    fn next(&mut self) {
        debug_assert!(self.valid());
        if !self.valid() {
            return;
        }
        if let Some(d) = &mut self.data {
            d.next();
        }
        self.skip_exhausted_forward();
    }

    fn prev(&mut self) {
        debug_assert!(self.valid());
        if !self.valid() {
            return;
        }
        if let Some(d) = &mut self.data {
            d.prev();
        }
        self.skip_exhausted_backward();
    }

    fn key(&self) -> &[u8] {
        debug_assert!(self.valid());
        match &self.data {
            Some(d) => d.key(),
            None => &[],
        }
    }

    fn value(&self) -> &[u8] {
        debug_assert!(self.valid());
        match &self.data {
            Some(d) => d.value(),
            None => &[],
        }
    }

    fn status(&self) -> Result<()> {
        if let Some(e) = &self.err {
            return Err(e.duplicate());
        }
        match &self.data {
            Some(d) => d.status(),
            None => Ok(()),
        }
    }
}
