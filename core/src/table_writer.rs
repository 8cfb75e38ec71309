//! Writing SSTables from a sorted stream of internal entries: the one routine behind both
//! a flush (a memtable into one L0 table) and a compaction (merged inputs into tables split
//! at the target file size). LevelDB has it twice, in `BuildTable` and in
//! `DoCompactionWork`; here both call [`TableWriter::write`].
//!
//! A table being written is a *pending output*: its number is in [`PendingOutputs`] from
//! the moment it is allocated until the version edit that adds it is in the manifest (the
//! caller removes it then), so that obsolete-file deletion never removes a table that is
//! about to become live. On any error every table written so far is removed.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::Result;
use crate::filename::table_path;
use crate::fs::FileSystem;
use crate::iterator::InternalIterator;
use crate::key::TRAILER_LEN;
use crate::key::{compare_internal_keys, make_internal_key, ValueKind, MAX_SEQUENCE_NUMBER};
use crate::manifest::{FileMetaData, VersionSet};
use crate::options::Options;
use crate::range_del::{claimed_largest, successor, FragmentedTombstones, RangeTombstone};
use crate::sstable::{TableBuilder, TableOptions, TableProperties};

/// Numbers of tables being written and not yet in a version: never deleted.
#[derive(Debug, Default)]
pub(crate) struct PendingOutputs {
    numbers: Mutex<HashSet<u64>>,
}

impl PendingOutputs {
    fn insert(&self, number: u64) {
        self.numbers.lock().insert(number);
    }

    /// Forgets `number`: its table is in the manifest now, or was removed.
    pub(crate) fn remove(&self, number: u64) {
        self.numbers.lock().remove(&number);
    }

    /// The numbers pending now.
    pub(crate) fn numbers(&self) -> HashSet<u64> {
        self.numbers.lock().clone()
    }
}

/// Where and how new tables are written.
pub(crate) struct TableWriter<'a> {
    /// The file system and database directory the tables go to.
    pub(crate) fs: &'a Arc<dyn FileSystem>,
    pub(crate) dir: &'a Path,
    /// Block size, compression, bloom filter bits and, with `split`, `target_file_size`.
    pub(crate) options: &'a Options,
    /// The source of file numbers.
    pub(crate) versions: &'a Mutex<VersionSet>,
    pub(crate) pending: &'a PendingOutputs,
}

impl TableWriter<'_> {
    /// Writes every entry of `input` (from its first) that `keep` accepts into new tables,
    /// in order. With `split`, a new table starts at the first new user key once the current
    /// one reaches `target_file_size` bytes, so that one user key never spans two files
    /// (files of one level must have disjoint user-key ranges); without it everything goes
    /// into one table. Every table and then the directory are synced before it returns.
    ///
    /// The range tombstones in `tombstones` go with them, each table taking the pieces
    /// inside its share of the key space: a split after user key `p` cuts the pieces at
    /// `p ++ [0]`, the smallest key above `p`, so each table's key range (widened to cover
    /// its pieces, see [`claimed_largest`]) stays disjoint from the next one's. With
    /// tombstones but no entry kept, one table holds just the tombstones.
    ///
    /// Returns the tables' metadata in key order (empty if nothing was kept); their numbers
    /// stay in the pending outputs for the caller to remove once the edit is recorded.
    ///
    /// Errors: [`Error::Io`](crate::Error::Io) / [`Error::Corruption`](crate::Error::Corruption)
    /// reading `input` or writing a table, or an error from `keep`; every table written is
    /// then removed.
    pub(crate) fn write(
        &self,
        input: &mut dyn InternalIterator,
        split: bool,
        mut keep: impl FnMut(&[u8]) -> Result<bool>,
        tombstones: &FragmentedTombstones,
    ) -> Result<Vec<FileMetaData>> {
        let mut outputs = Vec::new();
        let mut current: Option<(u64, TableBuilder)> = None;
        let mut last_user_key: Vec<u8> = Vec::new();
        // Where the share of the table being written starts (None: from the first key).
        let mut lower: Option<Vec<u8>> = None;
        let result = (|| -> Result<()> {
            input.seek_to_first();
            while input.valid() {
                let key = input.key();
                if keep(key)? {
                    let user_key = &key[..key.len() - TRAILER_LEN];
                    if let Some((_, b)) = &current {
                        if split
                            && b.estimated_file_size() >= self.options.target_file_size
                            && user_key != last_user_key.as_slice()
                        {
                            let (n, mut b) = current.take().expect("checked above");
                            let upper = successor(&last_user_key);
                            let pieces = pieces(tombstones, lower.as_deref(), Some(&upper));
                            for t in &pieces {
                                b.add_range_tombstone(t.clone())?;
                            }
                            outputs.push(file_meta(n, &b.finish()?, &pieces));
                            lower = Some(upper);
                        }
                    }
                    if current.is_none() {
                        current = Some(self.create_table()?);
                    }
                    last_user_key.clear();
                    last_user_key.extend_from_slice(user_key);
                    let (_, b) = current.as_mut().expect("just created");
                    b.add(key, input.value())?;
                }
                input.next();
            }
            input.status()?;
            let pieces = pieces(tombstones, lower.as_deref(), None);
            if current.is_none() && !pieces.is_empty() {
                current = Some(self.create_table()?);
            }
            if let Some((n, mut b)) = current.take() {
                for t in &pieces {
                    b.add_range_tombstone(t.clone())?;
                }
                outputs.push(file_meta(n, &b.finish()?, &pieces));
            }
            Ok(())
        })();
        match result.and_then(|()| self.fs.sync_dir(self.dir)) {
            Ok(()) => Ok(outputs),
            Err(e) => {
                // Leave no half-written output behind; the inputs are untouched.
                let mut numbers: Vec<u64> = outputs.iter().map(|f| f.number).collect();
                numbers.extend(current.map(|(n, _)| n));
                for n in numbers {
                    let _ = self.fs.remove(&table_path(self.dir, n));
                    self.pending.remove(n);
                }
                Err(e)
            }
        }
    }

    /// Allocates a file number, marks it pending and creates its table.
    fn create_table(&self) -> Result<(u64, TableBuilder)> {
        let number = self.versions.lock().new_file_number();
        self.pending.insert(number);
        let path = table_path(self.dir, number);
        let file = match self.fs.create(&path) {
            Ok(file) => file,
            Err(e) => {
                self.pending.remove(number);
                return Err(e);
            }
        };
        let builder = TableBuilder::new(
            TableOptions::from_options(self.options),
            file,
            path.display().to_string(),
        );
        Ok((number, builder))
    }
}

/// The pieces of `tombstones` inside `[lower, upper)` (`None`: unbounded), in key order.
fn pieces(
    tombstones: &FragmentedTombstones,
    lower: Option<&[u8]>,
    upper: Option<&[u8]>,
) -> Vec<RangeTombstone> {
    let mut out = Vec::new();
    for f in tombstones.fragments() {
        let start = match lower {
            Some(l) if l > f.start.as_slice() => l,
            _ => f.start.as_slice(),
        };
        let end = match upper {
            Some(u) if u < f.end.as_slice() => u,
            _ => f.end.as_slice(),
        };
        if start < end {
            out.extend(f.seqs.iter().map(|&s| RangeTombstone::new(start, end, s)));
        }
    }
    out
}

/// The manifest's record of table `number`, from the properties its builder returned and
/// the range tombstones it holds: the key range covers both the entries and the
/// tombstones (a tombstone's start with the highest sequence number, so it sorts before
/// every entry of that key; its claimed end with sequence 0, after every entry).
fn file_meta(number: u64, p: &TableProperties, tombstones: &[RangeTombstone]) -> FileMetaData {
    let mut smallest = p.smallest_key.clone();
    let mut largest = p.largest_key.clone();
    if let (Some(first), Some(last)) = (
        tombstones.iter().map(|t| &t.start).min(),
        tombstones.iter().map(|t| &t.end).max(),
    ) {
        let lo = make_internal_key(first, MAX_SEQUENCE_NUMBER, ValueKind::Delete);
        let hi = make_internal_key(claimed_largest(last), 0, ValueKind::Delete);
        if smallest.is_empty() || compare_internal_keys(&lo, &smallest).is_lt() {
            smallest = lo;
        }
        if largest.is_empty() || compare_internal_keys(&hi, &largest).is_gt() {
            largest = hi;
        }
    }
    FileMetaData {
        number,
        file_size: p.file_size,
        smallest,
        largest,
        smallest_seq: p.smallest_seq,
        largest_seq: p.largest_seq,
        num_entries: p.num_entries,
        num_deletions: p.num_deletions,
        num_range_deletions: p.num_range_deletions,
    }
}
