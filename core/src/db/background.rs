//! Background work: flushing immutable memtables to L0, compacting, and deleting files no
//! version needs any more.
//!
//! One thread flushes; `max_background_compactions` threads compact (see
//! [`crate::compaction`]). A failed job records a background error: from then on writes fail
//! with
//! [`Error::Background`](crate::Error::Background) until the database is reopened, because
//! the in-memory state may no longer match what is durable.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use super::{BgState, DbInner};
use crate::compaction::{job, picker, CompactionPlan};
use crate::error::{Error, Result};
use crate::filename::{parse_file_name, FileKind};
use crate::flush::{flush_edit, write_level0_table};
use crate::manifest::{Version, VersionEdit, NUM_LEVELS};
use crate::memtable::MemTable;
use crate::options::CompactionStyle;
use crate::read::SuperVersion;
use crate::stats::Counters;
use crate::table_writer::TableWriter;

/// The kinds of background work: one flush thread, one or more compaction threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Job {
    /// Writing immutable memtables to L0.
    Flush,
    /// Running the compactions the picker chooses (leveled or tiered).
    Compaction,
}

impl DbInner {
    /// A background thread's loop: waits for work of its `job` kind, does it, repeats until
    /// shutdown. Flushes and compactions run on separate threads (RocksDB's high- and
    /// low-priority pools), so a long compaction never holds back the flush that writers may
    /// be stalled on.
    pub(super) fn background_loop(self: Arc<Self>, job: Job) {
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
                    if bg.error.is_none() && !self.read.current().imm.is_empty() {
                        break;
                    }
                    self.bg_cv.wait(&mut bg);
                }
            }
            let r = match self.read.current().imm.last() {
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
                        let version = self.read.current().version.clone();
                        let BgState {
                            busy,
                            compact_pointers,
                            ..
                        } = &mut *bg;
                        if let Some(plan) =
                            picker::pick_compaction(&version, &self.options, busy, compact_pointers)
                        {
                            bg.running_compactions += 1;
                            bg.busy.extend(plan.input_numbers());
                            break plan;
                        }
                    }
                    self.bg_cv.wait(&mut bg);
                }
            };
            let r = self.run_compaction(&plan);
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
    pub(super) fn compact_range(&self, start: Option<&[u8]>, end: Option<&[u8]>) -> Result<()> {
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
                if let Err(e) = self.run_compaction(&plan) {
                    self.set_bg_error(&e);
                    return Err(e);
                }
            }
        }
        if self.options.compaction_style == CompactionStyle::Leveled {
            let version = self.versions.lock().current();
            if let Some(plan) =
                picker::pick_manual_in_place(&version, last_source, start, end, &none_busy)
            {
                if let Err(e) = self.run_compaction(&plan) {
                    self.set_bg_error(&e);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Records `edit` in the manifest and publishes the resulting version in a new super
    /// version built by `update`, both under the version-set lock, so that concurrent flushes
    /// and compactions publish their versions in the order the manifest holds them.
    fn apply_edit(
        &self,
        edit: VersionEdit,
        update: impl FnOnce(&SuperVersion, Arc<Version>) -> SuperVersion,
    ) -> Result<()> {
        let mut vs = self.versions.lock();
        vs.set_last_sequence(self.read.last_sequence());
        let version = vs.log_and_apply(edit)?;
        self.read.install(|sv| update(sv, version));
        Ok(())
    }

    /// Where new tables are written: this database's directory, options, file numbers and
    /// pending outputs.
    pub(super) fn table_writer(&self) -> TableWriter<'_> {
        TableWriter {
            fs: &self.fs,
            dir: &self.dir,
            options: &self.options,
            versions: &self.versions,
            pending: &self.pending_outputs,
        }
    }

    /// Flushes `imm` (the oldest immutable memtable): writes it to an L0 table (see
    /// [`crate::flush`]), records the table with the new WAL low-water mark, drops the
    /// memtable from the super version and deletes its WAL segment.
    fn flush_memtable(&self, imm: Arc<MemTable>) -> Result<()> {
        let started = Instant::now();
        let table = write_level0_table(&self.table_writer(), &imm)?;
        let sv = self.read.current();
        // WAL segments older than the next memtable's are now fully in SSTables.
        let next_wal = sv
            .imm
            .iter()
            .rev()
            .map(|m| m.wal_number())
            .find(|&n| n > imm.wal_number())
            .unwrap_or(sv.mem.wal_number());
        let edit = flush_edit(table.as_ref(), next_wal);
        let r = self.apply_edit(edit, |sv, version| sv.with_flushed(&imm, version));
        if let Some(t) = &table {
            self.pending_outputs.remove(t.number);
        }
        r?;
        Counters::add(&self.counters.flush_count, 1);
        if let Some(t) = &table {
            Counters::add(&self.counters.flush_bytes_written, t.file_size);
        }
        Counters::add(
            &self.counters.flush_micros,
            started.elapsed().as_micros() as u64,
        );
        self.wal.lock().release_below(next_wal);
        self.delete_obsolete_files(false);
        Ok(())
    }

    /// Runs `plan` (see [`crate::compaction::job`]) and installs its result with one version
    /// edit. The caller marks the inputs busy around the call.
    ///
    /// Errors: from the job (nothing changed), or from recording the edit.
    fn run_compaction(&self, plan: &CompactionPlan) -> Result<()> {
        let started = Instant::now();
        let snapshots = self.read.snapshots().sequences();
        let outcome = job::run(
            plan,
            &self.read.table_source(),
            snapshots,
            &self.table_writer(),
        )?;
        let r = self.apply_edit(outcome.edit, |sv, version| sv.with_version(version));
        for &n in &outcome.outputs {
            self.pending_outputs.remove(n);
        }
        r?;
        Counters::add(&self.counters.compaction_count, 1);
        Counters::add(&self.counters.compaction_bytes_read, outcome.bytes_read);
        Counters::add(
            &self.counters.compaction_bytes_written,
            outcome.bytes_written,
        );
        if outcome.bytes_read > 0 {
            Counters::add(
                &self.counters.compaction_micros,
                started.elapsed().as_micros() as u64,
            );
        }
        Ok(())
    }

    /// Deletes every file of the directory that no live version, pending output or live WAL
    /// needs (LevelDB's `RemoveObsoleteFiles`). Errors are ignored: a file left behind is
    /// removed by a later pass.
    pub(super) fn delete_obsolete_files(&self, at_open: bool) {
        // List first: a table created after this read of the pending outputs cannot be in the
        // listing, and one in the listing that is no longer pending was installed in the
        // current version before it left the pending set (read below, after it).
        let Ok(names) = self.fs.list(&self.dir) else {
            return;
        };
        let mut live: HashSet<u64> = self.pending_outputs.numbers();
        self.read.add_live_tables(&mut live);
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
        live.extend(current.live_files().map(|f| f.number));
        let current_wal = self.wal.lock().number();
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
                    self.read.tables().evict(n);
                }
                let _ = self.fs.remove(&self.dir.join(&name));
            }
        }
    }
}
