//! The compaction job: runs one [`CompactionPlan`] and returns the version edit that
//! installs its result. It reads the inputs and writes the outputs; recording the edit,
//! publishing the new version and counting statistics are the caller's (the database's
//! background work), so the job knows nothing of the database around it.

use std::sync::Arc;

use super::picker::{CompactionPlan, CompactionReason};
use super::DropRule;
use crate::error::{Error, Result};
use crate::iterator::{InternalIterator, MergingIterator};
use crate::key::{parse_internal_key, SequenceNumber};
use crate::manifest::{add_level_iterators, VersionEdit};
use crate::range_del::{FragmentedTombstones, RangeTombstone};
use crate::sstable::TableSource;
use crate::table_writer::TableWriter;

/// What a compaction produced.
pub(crate) struct CompactionOutcome {
    /// Deletes every input and adds every output at the plan's output level.
    pub(crate) edit: VersionEdit,
    /// Numbers of the tables written, still pending outputs: the caller removes them from
    /// the pending set once the edit is recorded (or has failed).
    pub(crate) outputs: Vec<u64>,
    /// Bytes of the input tables read (0 for a trivial move).
    pub(crate) bytes_read: u64,
    /// Bytes of the tables written.
    pub(crate) bytes_written: u64,
}

/// Runs `plan`: merges its inputs (read through `tables`) into new tables written by
/// `writer`, keeping what the [`DropRule`] for the live `snapshots` keeps.
///
/// A single input file that overlaps nothing at the output level is moved by the edit
/// alone, with no rewrite (LevelDB's trivial move): nothing in it can be dropped except by
/// a merge, and a sequential load would otherwise rewrite every byte once per level. Not
/// for a manual compaction: its point is to rewrite, dropping what is obsolete.
///
/// Errors: [`Error::Io`](crate::Error::Io) / [`Error::Corruption`](crate::Error::Corruption)
/// reading inputs or writing outputs; the outputs written so far are removed, and the
/// inputs are untouched.
pub(crate) fn run(
    plan: &CompactionPlan,
    tables: &Arc<dyn TableSource>,
    snapshots: Vec<SequenceNumber>,
    writer: &TableWriter,
) -> Result<CompactionOutcome> {
    let mut edit = VersionEdit::default();
    for (level, files) in &plan.inputs {
        for f in files {
            edit.deleted_files.push((*level, f.number));
        }
    }
    let inputs: Vec<_> = plan.inputs.iter().flat_map(|(_, f)| f).collect();
    let trivial_move = plan.reason != CompactionReason::Manual
        && inputs.len() == 1
        && plan
            .inputs
            .iter()
            .all(|(l, f)| *l != plan.output_level || f.is_empty())
        && plan.inputs[0].0 != plan.output_level;
    if trivial_move {
        edit.new_files
            .push((plan.output_level, (*inputs[0]).as_ref().clone()));
        return Ok(CompactionOutcome {
            edit,
            outputs: Vec::new(),
            bytes_read: 0,
            bytes_written: 0,
        });
    }

    let bytes_read: u64 = inputs.iter().map(|f| f.file_size).sum();
    let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
    for (level, files) in &plan.inputs {
        add_level_iterators(*level, files.clone(), tables, None, &mut children)?;
    }
    let mut input = MergingIterator::new(children);
    let mut input_tombstones: Vec<RangeTombstone> = Vec::new();
    for f in inputs.iter().filter(|f| f.num_range_deletions > 0) {
        input_tombstones.extend(tables.table(f.number)?.range_tombstones().iter().cloned());
    }
    let tombstones = FragmentedTombstones::new(&input_tombstones);
    let mut sorted_snapshots = snapshots.clone();
    sorted_snapshots.sort_unstable();
    let stripe = |seq: SequenceNumber| sorted_snapshots.partition_point(|&s| s < seq);
    let kept_tombstones = kept_range_tombstones(&tombstones, &stripe, plan.bottommost);
    let mut rule = DropRule::new(snapshots, plan.bottommost);
    let keep = |key: &[u8]| -> Result<bool> {
        if !rule.keep(key)? {
            return Ok(false);
        }
        if tombstones.is_empty() {
            return Ok(true);
        }
        let p = parse_internal_key(key)
            .ok_or_else(|| Error::corruption("<compaction input>", 0, "malformed internal key"))?;
        Ok(!deleted_for_everyone(
            &tombstones,
            p.user_key,
            p.seq,
            &stripe,
        ))
    };
    let outputs = writer.write(&mut input, plan.split_outputs, keep, &kept_tombstones)?;
    let bytes_written = outputs.iter().map(|f| f.file_size).sum();
    let numbers = outputs.iter().map(|f| f.number).collect();
    for f in outputs {
        edit.new_files.push((plan.output_level, f));
    }
    Ok(CompactionOutcome {
        edit,
        outputs: numbers,
        bytes_read,
        bytes_written,
    })
}

/// True if a range tombstone deletes `user_key@seq` for every reader there is: a tombstone
/// newer than the entry with no live snapshot in between (the same stripe, see
/// [`DropRule`]). Such an entry can be dropped; one a snapshot still sees is kept.
fn deleted_for_everyone(
    tombstones: &FragmentedTombstones,
    user_key: &[u8],
    seq: SequenceNumber,
    stripe: &impl Fn(SequenceNumber) -> usize,
) -> bool {
    let Some(f) = tombstones.fragment_at(user_key) else {
        return false;
    };
    // The oldest tombstone newer than the entry is the one most likely in its stripe.
    match f.seqs.iter().rev().find(|&&t| t > seq) {
        Some(&t) => stripe(t) == stripe(seq),
        None => false,
    }
}

/// The range tombstones a compaction writes out: per fragment, the newest tombstone of
/// each snapshot stripe (an older one in the same stripe is hidden by it for every reader),
/// and at the bottom level none of the earliest stripe (no snapshot is older than them, so
/// everything they cover has been dropped, and nothing lies below).
fn kept_range_tombstones(
    tombstones: &FragmentedTombstones,
    stripe: &impl Fn(SequenceNumber) -> usize,
    bottommost: bool,
) -> FragmentedTombstones {
    let mut kept = Vec::new();
    for f in tombstones.fragments() {
        let mut last_stripe = None;
        for &t in &f.seqs {
            let s = stripe(t);
            if last_stripe == Some(s) || (bottommost && s == 0) {
                continue;
            }
            last_stripe = Some(s);
            kept.push(RangeTombstone::new(&f.start, &f.end, t));
        }
    }
    FragmentedTombstones::new(&kept)
}
