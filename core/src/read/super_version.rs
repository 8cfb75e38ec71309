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
use crate::manifest::{FileMetaData, Version};
use crate::memtable::{LookupResult, MemTable};
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
    /// the SSTables through [`Version::get`]. `None` if absent or deleted.
    ///
    /// Errors: [`Error::Io`](crate::Error::Io) / [`Error::Corruption`](crate::Error::Corruption)
    /// reading a table.
    pub(crate) fn get(
        &self,
        user_key: &[u8],
        seq: SequenceNumber,
        tables: &dyn TableSource,
    ) -> Result<Option<Vec<u8>>> {
        for m in self.memtables() {
            match m.get(user_key, seq) {
                LookupResult::Found(v) => return Ok(Some(v)),
                LookupResult::Deleted => return Ok(None),
                LookupResult::Absent => {}
            }
        }
        Ok(match self.version.get(user_key, seq, tables)? {
            LookupResult::Found(v) => Some(v),
            LookupResult::Deleted | LookupResult::Absent => None,
        })
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
        Ok(out
            .into_iter()
            .map(|r| match r {
                LookupResult::Found(v) => Some(v),
                LookupResult::Deleted | LookupResult::Absent => None,
            })
            .collect())
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
            .add_iterators(tables, include_file, &mut children)?;
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
