//! Compaction: merging SSTables to bound the files a read must consult, the space that
//! overwritten and deleted entries take, and the number of sorted runs.
//!
//! # Two styles
//!
//! - **Leveled** (LevelDB's `doc/impl.md`, RocksDB's wiki "Leveled Compaction"; the
//!   default): L0 holds whole flushed memtables, which may overlap one another. L1..L6 each
//!   hold one sorted run split into files with disjoint key ranges, and each level may hold
//!   `level_size_multiplier` times as many bytes as the one above. The level whose size is
//!   furthest over its limit (its *score*) is compacted next: one of its files is merged with
//!   the files of the next level it overlaps. L0 is scored by file count.
//! - **Tiered** (size-tiered; RocksDB's wiki "Universal Compaction"): every flushed memtable
//!   is a sorted run in L0, and runs of similar size are merged together; when the runs
//!   newer than the oldest add up to too much space, everything is merged into one run at
//!   the bottom level. Each byte is rewritten about log(N) times instead of about
//!   `multiplier` times per level, at the cost of more runs per read and up to
//!   `tiered_max_size_amplification_percent` extra space.
//!
//! [`picker`] chooses the next compaction ([`CompactionPlan`]); this module runs it.
//!
//! # Running a compaction
//!
//! The inputs are merged through a [`MergingIterator`] (levels 1+ through a
//! [`LevelIterator`], which opens one file at a time) and filtered by a
//! [`CompactionFilter`]: of the entries of one user key it keeps, for each live snapshot,
//! the newest one that snapshot can see, plus the newest overall, and drops tombstones at
//! the bottom level that no snapshot needs. The survivors are written into new tables, split
//! at `target_file_size` but never inside one user key (so files of a level stay disjoint).
//! One version edit then deletes the inputs and adds the outputs; until it is in the
//! manifest, the outputs are "pending" and the inputs stay live, so a crash at any point
//! leaves either the old files or the new ones in the recovered version, never a mix.
//!
//! Input files are deleted from disk only when no version still holds them: every reader
//! (point lookup or iterator) pins the version it started from, and
//! [`delete_obsolete_files`](crate::db) keeps every file of every version still referenced.
//!
//! # Concurrency
//!
//! Up to [`Options::max_background_compactions`] compactions run at once. Files in a
//! running compaction are *busy*; the picker never picks a busy file, nor a plan whose
//! output would land on a key range another running compaction writes, so concurrent
//! compactions never touch the same file or key range of a level. A manual compaction
//! ([`Db::compact_range`](crate::Db::compact_range)) waits for running compactions to end
//! and holds off new ones while it works, level by level.

pub(crate) mod iter;
pub(crate) mod picker;

use std::sync::Arc;
use std::time::Instant;

use crate::db::{DbInner, SuperVersion};
use crate::error::Result;
use crate::filename::table_path;
use crate::iterator::{InternalIterator, LevelIterator, MergingIterator, TableOpener};
use crate::manifest::{FileMetaData, VersionEdit};
use crate::sstable::{TableBuilder, TableOptions};
use crate::stats::Statistics;

pub(crate) use iter::CompactionFilter;
pub(crate) use picker::{CompactionPlan, CompactionReason};

/// Runs `plan`: merges its inputs into new tables at its output level and installs them
/// with one version edit. The caller marks the inputs busy around the call.
///
/// Errors: [`Error::Io`] / [`Error::Corruption`] reading inputs or writing outputs (the
/// outputs written so far are removed; the inputs and the version stay as they were);
/// errors from recording the edit in the manifest.
pub(crate) fn run(db: &DbInner, plan: &CompactionPlan) -> Result<()> {
    let started = Instant::now();
    let mut edit = VersionEdit::default();
    for (level, files) in &plan.inputs {
        for f in files {
            edit.deleted_files.push((*level, f.number));
        }
    }
    let inputs: Vec<&Arc<FileMetaData>> = plan.inputs.iter().flat_map(|(_, f)| f).collect();

    // A single input file that overlaps nothing at the output level is moved by the edit
    // alone, with no rewrite (LevelDB's trivial move): nothing in it can be dropped except
    // by a merge, and a sequential load would otherwise rewrite every byte once per level.
    // Not for a manual compaction: its point is to rewrite, dropping what is obsolete.
    if plan.reason != CompactionReason::Manual
        && inputs.len() == 1
        && plan
            .inputs
            .iter()
            .all(|(l, f)| *l != plan.output_level || f.is_empty())
        && plan.inputs[0].0 != plan.output_level
    {
        edit.new_files
            .push((plan.output_level, (*inputs[0]).as_ref().clone()));
        db.apply_edit(edit, keep_memtables)?;
        Statistics::add(&db.stats.compaction_count, 1);
        return Ok(());
    }

    let bytes_read: u64 = inputs.iter().map(|f| f.file_size).sum();
    let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
    for (level, files) in &plan.inputs {
        if *level == 0 {
            for f in files {
                children.push(Box::new(db.tables.get(f.number)?.iter()));
            }
        } else if !files.is_empty() {
            children.push(Box::new(LevelIterator::new(
                files.clone(),
                table_opener(db),
            )));
        }
    }
    let mut input = MergingIterator::new(children);
    let filter = CompactionFilter::new(db.snapshots.sequences(), plan.bottommost);
    let outputs = write_outputs(db, &mut input, filter, plan.split_outputs)?;
    let bytes_written: u64 = outputs.iter().map(|f| f.file_size).sum();
    for f in &outputs {
        edit.new_files.push((plan.output_level, f.clone()));
    }
    let r = db.apply_edit(edit, keep_memtables);
    {
        let mut pending = db.pending_outputs.lock();
        for f in &outputs {
            pending.remove(&f.number);
        }
    }
    r?;
    Statistics::add(&db.stats.compaction_count, 1);
    Statistics::add(&db.stats.compaction_bytes_read, bytes_read);
    Statistics::add(&db.stats.compaction_bytes_written, bytes_written);
    Statistics::add(
        &db.stats.compaction_micros,
        started.elapsed().as_micros() as u64,
    );
    Ok(())
}

/// The super version after a compaction: same memtables, new version.
fn keep_memtables(sv: &SuperVersion, version: Arc<crate::manifest::Version>) -> SuperVersion {
    SuperVersion {
        mem: sv.mem.clone(),
        imm: sv.imm.clone(),
        version,
    }
}

/// Opens a table of a level for a [`LevelIterator`], through the table cache.
pub(crate) fn table_opener(db: &DbInner) -> TableOpener {
    let tables = db.tables.clone();
    Arc::new(move |f: &FileMetaData| {
        let it: Box<dyn InternalIterator> = Box::new(tables.get(f.number)?.iter());
        Ok(it)
    })
}

/// Writes the entries of `input` that `filter` keeps into tables; with `split`, a new table
/// starts at the first new user key after `target_file_size` bytes. Returns the tables'
/// metadata, in key order; their numbers are in `pending_outputs` (the caller removes them
/// once the edit is applied). On error, removes every table it wrote.
fn write_outputs(
    db: &DbInner,
    input: &mut MergingIterator,
    mut filter: CompactionFilter,
    split: bool,
) -> Result<Vec<FileMetaData>> {
    let mut outputs = Vec::new();
    let mut current: Option<(u64, TableBuilder)> = None;
    let mut last_user_key: Vec<u8> = Vec::new();
    let result = (|| -> Result<()> {
        input.seek_to_first();
        while input.valid() {
            let key = input.key();
            if filter.keep(key)? {
                let user_key = &key[..key.len() - crate::key::TRAILER_LEN];
                if let Some((_, b)) = &current {
                    // Split only between user keys, so one key never spans two files.
                    if split
                        && b.estimated_file_size() >= db.options.target_file_size
                        && user_key != last_user_key.as_slice()
                    {
                        let (n, b) = current.take().expect("checked above");
                        outputs.push(finish(n, b)?);
                    }
                }
                if current.is_none() {
                    let n = db.versions.lock().new_file_number();
                    db.pending_outputs.lock().insert(n);
                    let path = table_path(&db.dir, n);
                    let file = db.fs.create(&path)?;
                    let b = TableBuilder::new(
                        TableOptions::from_options(&db.options),
                        file,
                        path.display().to_string(),
                    );
                    current = Some((n, b));
                }
                last_user_key.clear();
                last_user_key.extend_from_slice(user_key);
                let (_, b) = current.as_mut().expect("just created");
                b.add(key, input.value())?;
            }
            input.next();
        }
        input.status()?;
        if let Some((n, b)) = current.take() {
            outputs.push(finish(n, b)?);
        }
        Ok(())
    })();
    let result = result.and_then(|()| db.fs.sync_dir(&db.dir));
    match result {
        Ok(()) => Ok(outputs),
        Err(e) => {
            // Leave no half-written output behind; inputs are untouched.
            let mut numbers: Vec<u64> = outputs.iter().map(|f| f.number).collect();
            numbers.extend(current.map(|(n, _)| n));
            for n in numbers {
                let _ = db.fs.remove(&table_path(&db.dir, n));
                db.pending_outputs.lock().remove(&n);
            }
            Err(e)
        }
    }
}

fn finish(number: u64, builder: TableBuilder) -> Result<FileMetaData> {
    let props = builder.finish()?;
    Ok(crate::db::file_meta(number, &props))
}
