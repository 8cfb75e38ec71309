//! Background work: flushing immutable memtables to L0, compacting, and deleting files no
//! version needs any more.
//!
//! One thread flushes; `max_background_compactions` threads compact (see
//! [`crate::compaction`]). A failed job records a background error: from then on writes fail
//! with
//! [`Error::Background`](crate::Error::Background) until the database is reopened, because
//! the in-memory state may no longer match what is durable.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{BgState, DbInner, SuperVersion};

/// The kinds of background work: one flush thread, one or more compaction threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Job {
    /// Writing immutable memtables to L0.
    Flush,
    /// Running the compactions the picker chooses (leveled or tiered).
    Compaction,
}
use crate::compaction::{self, picker};
use crate::error::Error;
use crate::error::Result;
use crate::filename::{parse_file_name, table_path, FileKind};
use crate::iterator::InternalIterator;
use crate::manifest::NUM_LEVELS;
use crate::manifest::{FileMetaData, VersionEdit};
use crate::memtable::MemTable;
use crate::options::CompactionStyle;
use crate::sstable::{TableBuilder, TableOptions};
use crate::stats::Statistics;

impl DbInner {
    /// A background thread's loop: waits for work of its `job` kind, does it, repeats until
    /// shutdown. Flushes and compactions run on separate threads (RocksDB's high- and
    /// low-priority pools), so a long compaction never holds back the flush that writers may
    /// be stalled on.
    pub(crate) fn background_loop(self: Arc<Self>, job: Job) {
        match job {
            Job::Flush => self.flush_loop(),
            Job::Compaction => self.compaction_loop(),
        }
    }

    fn flush_loop(&self) {
        loop {
            {
                let mut bg = self.bg.lock();
                loop {
                    if bg.shutting_down {
                        return;
                    }
                    if bg.error.is_none() && !self.current_super_version().imm.is_empty() {
                        break;
                    }
                    self.bg_cv.wait(&mut bg);
                }
            }
            let r = match self.current_super_version().imm.last() {
                Some(oldest) => self.flush_memtable(oldest.clone()),
                None => Ok(()),
            };
            if let Err(e) = r {
                self.set_bg_error(&e);
            }
            let _bg = self.bg.lock();
            self.bg_cv.notify_all();
        }
    }

    fn compaction_loop(&self) {
        loop {
            let plan = {
                let mut bg = self.bg.lock();
                loop {
                    if bg.shutting_down {
                        return;
                    }
                    if bg.error.is_none() && bg.manual_compactions == 0 {
                        // Read under the bg lock: a job installs its version before it
                        // notifies under this lock, so no wake-up is missed. The super
                        // version may lag the manifest by an edit being installed; that
                        // edit only deletes files still marked busy and adds L0 files newer
                        // than any this pick takes, so the pick stays valid.
                        let version = self.current_super_version().version.clone();
                        let BgState { busy, cursors, .. } = &mut *bg;
                        if let Some(plan) =
                            picker::pick_compaction(&version, &self.options, busy, cursors)
                        {
                            bg.running_compactions += 1;
                            bg.busy.extend(plan.input_numbers());
                            break plan;
                        }
                    }
                    self.bg_cv.wait(&mut bg);
                }
            };
            let r = compaction::run(self, &plan);
            if let Err(e) = &r {
                self.set_bg_error(e);
            }
            self.delete_obsolete_files(false);
            let mut bg = self.bg.lock();
            for n in plan.input_numbers() {
                bg.busy.remove(&n);
            }
            bg.running_compactions -= 1;
            self.bg_cv.notify_all();
        }
    }

    /// Manual compaction of `[start, end]` down to the bottom level (see
    /// [`Db::compact_range`](crate::Db::compact_range)). It waits for running compactions to
    /// finish and keeps new ones from starting until it is done, so its steps see a tree no
    /// one else is reshaping (flushes go on: they only add L0 files, newer than anything a
    /// step takes).
    pub(crate) fn compact_range(&self, start: Option<&[u8]>, end: Option<&[u8]>) -> Result<()> {
        {
            let mut bg = self.bg.lock();
            bg.manual_compactions += 1;
            while bg.running_compactions > 0 && bg.error.is_none() && !bg.shutting_down {
                self.bg_cv.wait(&mut bg);
            }
        }
        let r = self.manual_compaction_steps(start, end);
        {
            let mut bg = self.bg.lock();
            bg.manual_compactions -= 1;
            self.bg_cv.notify_all();
        }
        self.delete_obsolete_files(false);
        r
    }

    fn manual_compaction_steps(&self, start: Option<&[u8]>, end: Option<&[u8]>) -> Result<()> {
        let none_busy = HashSet::new();
        // Merge level by level, down to the deepest level holding keys of the range, so the
        // range ends as one sorted run with nothing no snapshot needs.
        let deepest = {
            let version = self.versions.lock().current();
            (0..NUM_LEVELS).rev().find(|&l| {
                version.files(l).iter().any(|f| {
                    start.is_none_or(|s| f.largest_user_key() >= s)
                        && end.is_none_or(|e| f.smallest_user_key() <= e)
                })
            })
        };
        let Some(deepest) = deepest else {
            return Ok(());
        };
        let last_source = match self.options.compaction_style {
            CompactionStyle::Leveled => deepest.max(1),
            CompactionStyle::Tiered => 1,
        };
        for level in 0..last_source {
            {
                let bg = self.bg.lock();
                if let Some(e) = &bg.error {
                    return Err(Error::Background(e.clone()));
                }
                if bg.shutting_down {
                    return Err(Error::Closed);
                }
            }
            let version = self.versions.lock().current();
            if let Some(plan) =
                picker::pick_manual(&version, &self.options, level, start, end, &none_busy)
            {
                if let Err(e) = compaction::run(self, &plan) {
                    self.set_bg_error(&e);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Records `edit` in the manifest and installs the resulting version in a new super
    /// version built by `update`, both under the version-set lock, so that concurrent flushes
    /// and compactions install their versions in the order the manifest holds them.
    pub(crate) fn apply_edit(
        &self,
        edit: VersionEdit,
        update: impl FnOnce(&SuperVersion, Arc<crate::manifest::Version>) -> SuperVersion,
    ) -> Result<()> {
        let mut vs = self.versions.lock();
        vs.set_last_sequence(self.last_sequence.load(Ordering::Acquire));
        let version = vs.log_and_apply(edit)?;
        self.install_super_version(|sv| update(sv, version));
        Ok(())
    }

    /// Writes `imm` (the oldest immutable memtable) to an L0 table, records it together with
    /// the new WAL low-water mark in the manifest, drops the memtable from the super version
    /// and deletes its WAL segment.
    fn flush_memtable(&self, imm: Arc<MemTable>) -> Result<()> {
        let started = std::time::Instant::now();
        let meta = self.write_level0_table(&imm)?;
        let sv = self.current_super_version();
        // WAL segments older than the next memtable's are now fully in SSTables.
        let next_wal = sv
            .imm
            .iter()
            .rev()
            .map(|m| m.wal_number())
            .find(|&n| n > imm.wal_number())
            .unwrap_or(sv.mem.wal_number());
        let mut edit = VersionEdit {
            log_number: Some(next_wal),
            ..Default::default()
        };
        if let Some(meta) = &meta {
            edit.new_files.push((0, meta.clone()));
        }
        let r = self.apply_edit(edit, |sv, version| SuperVersion {
            mem: sv.mem.clone(),
            imm: sv
                .imm
                .iter()
                .filter(|m| !Arc::ptr_eq(m, &imm))
                .cloned()
                .collect(),
            version,
        });
        if let Some(meta) = &meta {
            self.pending_outputs.lock().remove(&meta.number);
        }
        r?;
        Statistics::add(&self.stats.flush_count, 1);
        if let Some(meta) = &meta {
            Statistics::add(&self.stats.flush_bytes_written, meta.file_size);
        }
        Statistics::add(
            &self.stats.flush_micros,
            started.elapsed().as_micros() as u64,
        );
        self.wal.lock().release_below(next_wal);
        self.delete_obsolete_files(false);
        Ok(())
    }

    /// Builds an L0 SSTable from every entry of `mem` and syncs it and the directory.
    /// Returns `None` for an empty memtable. The file number stays in `pending_outputs`
    /// until the caller records it.
    pub(crate) fn write_level0_table(&self, mem: &Arc<MemTable>) -> Result<Option<FileMetaData>> {
        if mem.is_empty() {
            return Ok(None);
        }
        let number = self.versions.lock().new_file_number();
        self.pending_outputs.lock().insert(number);
        let r = self.build_table(number, &mut mem.iter(), |_, _| true);
        if r.is_err() {
            self.pending_outputs.lock().remove(&number);
            let _ = self.fs.remove(&table_path(&self.dir, number));
        }
        r.map(Some)
    }

    /// Writes every entry of `it` that `keep(key, value)` accepts into table `number`;
    /// syncs the file and the directory.
    pub(crate) fn build_table(
        &self,
        number: u64,
        it: &mut dyn InternalIterator,
        mut keep: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<FileMetaData> {
        let path = table_path(&self.dir, number);
        let file = self.fs.create(&path)?;
        let mut builder = TableBuilder::new(
            TableOptions::from_options(&self.options),
            file,
            path.display().to_string(),
        );
        it.seek_to_first();
        while it.valid() {
            if keep(it.key(), it.value()) {
                builder.add(it.key(), it.value())?;
            }
            it.next();
        }
        it.status()?;
        let props = builder.finish()?;
        self.fs.sync_dir(&self.dir)?;
        Ok(file_meta(number, &props))
    }

    /// Deletes every file of the directory that no live version, pending output or live WAL
    /// needs (LevelDB's `RemoveObsoleteFiles`). Errors are ignored: a file left behind is
    /// removed by a later pass.
    pub(crate) fn delete_obsolete_files(&self, at_open: bool) {
        // List first: a table created after this read of the pending outputs cannot be in the
        // listing, and one in the listing that is no longer pending was installed in the
        // current version before it left the pending set (read below, after it).
        let Ok(names) = self.fs.list(&self.dir) else {
            return;
        };
        let mut live: HashSet<u64> = self.pending_outputs.lock().clone();
        {
            let mut versions = self.live_versions.lock();
            versions.retain(|w| w.strong_count() > 0);
            for v in versions.iter().filter_map(|w| w.upgrade()) {
                for level in 0..crate::manifest::NUM_LEVELS {
                    live.extend(v.files(level).iter().map(|f| f.number));
                }
            }
        }
        let (log_number, manifest_number, current) = {
            let vs = self.versions.lock();
            if vs.failure().is_some() {
                // A manifest write failed: the failed edit may or may not be in effect after
                // a reopen, so any file it added or removed may still be live. Delete nothing;
                // the next open knows which files its manifest names.
                return;
            }
            (vs.log_number(), vs.manifest_number(), vs.current())
        };
        for level in 0..crate::manifest::NUM_LEVELS {
            live.extend(current.files(level).iter().map(|f| f.number));
        }
        let current_wal = self.wal.lock().number;
        for name in names {
            let obsolete = match parse_file_name(&name) {
                Some(FileKind::Wal(n)) => n < log_number && n != current_wal,
                Some(FileKind::Table(n)) => !live.contains(&n),
                Some(FileKind::Manifest(n)) => n < manifest_number,
                // Only at open: in the background, CURRENT.tmp may be a manifest switch under
                // way on another thread.
                Some(FileKind::Temp) => at_open,
                _ => false,
            };
            if obsolete {
                if let Some(FileKind::Table(n)) = parse_file_name(&name) {
                    self.tables.evict(n);
                }
                let _ = self.fs.remove(&self.dir.join(&name));
            }
        }
    }
}

/// The manifest's record of a table, from the properties its builder returned.
pub(crate) fn file_meta(number: u64, p: &crate::sstable::TableProperties) -> FileMetaData {
    FileMetaData {
        number,
        file_size: p.file_size,
        smallest: p.smallest_key.clone(),
        largest: p.largest_key.clone(),
        smallest_seq: p.smallest_seq,
        largest_seq: p.largest_seq,
        num_entries: p.num_entries,
        num_deletions: p.num_deletions,
    }
}
