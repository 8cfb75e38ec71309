//! [`SuperVersion`]: the memtables and SSTables that make up the database at one moment.
//!
//! The name is RocksDB's. A reader clones the `Arc` of the current super version and reads
//! only what it names, so it never blocks the writer or a background job, and what it holds
//! stays readable (and its files stay on disk) until it lets go. Writers and background jobs
//! never change a super version: they build the next one from it (the `with_*` methods) and
//! publish that.

use std::sync::Arc;

use crate::error::Result;
use crate::iterator::{InternalIterator, MergingIterator};
use crate::key::SequenceNumber;
use crate::manifest::{FileMetaData, ReadFilter, Version};
use crate::memtable::{LookupResult, MemTable};
use crate::range_del::FragmentedTombstones;
use crate::sstable::TableSource;

/// The memtables and the [`Version`] (set of SSTables) current at one moment.
pub(crate) struct SuperVersion {
    /// The memtable taking writes.
    pub(crate) mem: Arc<MemTable>,
    /// Immutable memtables waiting for their flush, newest first.
    pub(crate) imm: Vec<Arc<MemTable>>,
    /// The SSTables.
    pub(crate) version: Arc<Version>,
}

impl SuperVersion {
    /// Every memtable, newest first: the mutable one, then the immutable ones.
    pub(crate) fn memtables(&self) -> impl Iterator<Item = &Arc<MemTable>> {
        std::iter::once(&self.mem).chain(self.imm.iter())
    }

    /// The newest value of `user_key` visible at `seq`: the memtables newest first, then
    /// the SSTables through [`Version::get`]; then, if a value was found, whether a range
    /// tombstone newer than it and visible at `seq` deletes it. `None` if absent or deleted.
    ///
    /// Errors: [`Error::Io`](crate::Error::Io) / [`Error::Corruption`](crate::Error::Corruption)
    /// reading a table.
    pub(crate) fn get(
        &self,
        user_key: &[u8],
        seq: SequenceNumber,
        tables: &dyn TableSource,
    ) -> Result<Option<Vec<u8>>> {
        let mut found = LookupResult::Absent;
        for m in self.memtables() {
            found = m.get(user_key, seq);
            if !matches!(found, LookupResult::Absent) {
                break;
            }
        }
        if matches!(found, LookupResult::Absent) {
            found = self.version.get(user_key, seq, tables)?;
        }
        self.answer(user_key, found, seq, tables)
    }

    /// The reader's answer for the newest entry `found` of `user_key`: its value unless a
    /// range tombstone visible at `read_seq` is newer than it.
    fn answer(
        &self,
        user_key: &[u8],
        found: LookupResult,
        read_seq: SequenceNumber,
        tables: &dyn TableSource,
    ) -> Result<Option<Vec<u8>>> {
        let LookupResult::Found(value, entry_seq) = found else {
            return Ok(None);
        };
        for m in self.memtables() {
            if m.has_range_tombstones()
                && m.range_tombstones()
                    .deleting(user_key, entry_seq, read_seq)
                    .is_some()
            {
                return Ok(None);
            }
        }
        let deleted = self
            .version
            .range_tombstones(tables)?
            .deleting(user_key, entry_seq, read_seq)
            .is_some();
        Ok((!deleted).then_some(value))
    }

    /// [`get`](Self::get) of many keys at one sequence number: `user_keys` sorted
    /// ascending without duplicates; one answer per key, in that order. Memtables answer
    /// first, key by key; the keys they do not know go to [`Version::multi_get`] together.
    ///
    /// Errors: as [`get`](Self::get).
    pub(crate) fn multi_get(
        &self,
        user_keys: &[&[u8]],
        seq: SequenceNumber,
        tables: &dyn TableSource,
    ) -> Result<Vec<Option<Vec<u8>>>> {
        let mut out: Vec<LookupResult> = user_keys.iter().map(|_| LookupResult::Absent).collect();
        for m in self.memtables() {
            for (k, slot) in user_keys.iter().zip(out.iter_mut()) {
                if matches!(slot, LookupResult::Absent) {
                    *slot = m.get(k, seq);
                }
            }
        }
        if out.iter().any(|r| matches!(r, LookupResult::Absent)) {
            self.version.multi_get(user_keys, seq, tables, &mut out)?;
        }
        user_keys
            .iter()
            .zip(out)
            .map(|(k, r)| self.answer(k, r, seq, tables))
            .collect()
    }

    /// The range tombstones of every memtable and SSTable, fragmented together (shared,
    /// not rebuilt, when only one source has any).
    ///
    /// Errors: [`Error::Io`](crate::Error::Io) / [`Error::Corruption`](crate::Error::Corruption)
    /// opening a table that has range tombstones.
    pub(crate) fn range_tombstones(
        &self,
        tables: &dyn TableSource,
    ) -> Result<Arc<FragmentedTombstones>> {
        let mut sources: Vec<Arc<FragmentedTombstones>> = self
            .memtables()
            .filter(|m| m.has_range_tombstones())
            .map(|m| m.range_tombstones())
            .collect();
        let version = self.version.range_tombstones(tables)?;
        if !version.is_empty() {
            sources.push(version.clone());
        }
        Ok(match sources.len() {
            0 => Arc::default(),
            1 => sources.pop().expect("one"),
            _ => {
                let all: Vec<_> = sources.iter().flat_map(|s| s.tombstones()).collect();
                Arc::new(FragmentedTombstones::new(&all))
            }
        })
    }

    /// The merging iterator a database iterator reads at `read_seq`: every memtable and
    /// the SSTables `include_file` accepts, each source wrapped so that what range
    /// tombstones delete is hidden (see [`crate::range_del`]). Without range tombstones it
    /// is [`merged_iter`](Self::merged_iter) itself.
    ///
    /// Errors: as [`merged_iter`](Self::merged_iter).
    pub(crate) fn read_iter(
        &self,
        tables: &Arc<dyn TableSource>,
        read_seq: SequenceNumber,
        include_file: impl Fn(&FileMetaData) -> bool,
    ) -> Result<MergingIterator> {
        let tombstones = self.range_tombstones(tables.as_ref())?;
        if tombstones.is_empty() {
            return self.merged_iter(tables, |_| true, include_file);
        }
        let filter = ReadFilter {
            tombstones,
            read_seq,
        };
        let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
        for m in self.memtables() {
            children.push(filter.wrap(Box::new(m.iter()), m.largest_seq()));
        }
        self.version
            .add_iterators(tables, include_file, Some(&filter), &mut children)?;
        Ok(MergingIterator::new(children))
    }

    /// One merging iterator over the memtables `include_mem` accepts and the SSTables
    /// `include_file` accepts (see [`Version::add_iterators`]). Every iterator of the
    /// database, and the commit-time conflict check of transactions, is built here.
    ///
    /// Errors: [`Error::Io`](crate::Error::Io) / [`Error::Corruption`](crate::Error::Corruption)
    /// opening an L0 table.
    pub(crate) fn merged_iter(
        &self,
        tables: &Arc<dyn TableSource>,
        include_mem: impl Fn(&MemTable) -> bool,
        include_file: impl Fn(&FileMetaData) -> bool,
    ) -> Result<MergingIterator> {
        let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
        for m in self.memtables() {
            if include_mem(m) {
                children.push(Box::new(m.iter()));
            }
        }
        self.version
            .add_iterators(tables, include_file, None, &mut children)?;
        Ok(MergingIterator::new(children))
    }

    /// This super version with `mem` as the new mutable memtable and the current one
    /// immutable (a memtable switch).
    pub(crate) fn with_new_memtable(&self, mem: Arc<MemTable>) -> SuperVersion {
        SuperVersion {
            mem,
            imm: std::iter::once(self.mem.clone())
                .chain(self.imm.iter().cloned())
                .collect(),
            version: self.version.clone(),
        }
    }

    /// This super version with `version` and without the immutable memtable `flushed` (a
    /// flush).
    pub(crate) fn with_flushed(
        &self,
        flushed: &Arc<MemTable>,
        version: Arc<Version>,
    ) -> SuperVersion {
        SuperVersion {
            mem: self.mem.clone(),
            imm: self
                .imm
                .iter()
                .filter(|m| !Arc::ptr_eq(m, flushed))
                .cloned()
                .collect(),
            version,
        }
    }

    /// This super version with `version` and the same memtables (a compaction).
    pub(crate) fn with_version(&self, version: Arc<Version>) -> SuperVersion {
        SuperVersion {
            mem: self.mem.clone(),
            imm: self.imm.clone(),
            version,
        }
    }
}
