//! Choosing the next compaction: [`pick_compaction`] for background work, [`pick_manual`]
//! for [`Db::compact_range`](crate::Db::compact_range). Pure functions of a [`Version`] and
//! the options; they do no I/O.
//!
//! # Leveled
//!
//! As in LevelDB's `VersionSet::Finalize`/`PickCompaction` and RocksDB's wiki "Leveled
//! Compaction": every level gets a score, and the highest score of at least 1 is compacted.
//! L0's score is its file count over `l0_compaction_trigger` (its files overlap, so their
//! number, not their size, is what costs reads); Ln's is its size over
//! `max_bytes_for_level_base * level_size_multiplier^(n-1)`. The last level is never a
//! source. An L0 compaction takes *all* of L0 (taking only some files could leave an older
//! version of a key in L0 above a newer one moved to L1) plus the L1 files it overlaps. An
//! Ln compaction takes one file, the first after the level's round-robin cursor, plus the
//! files of L(n+1) it overlaps.
//!
//! # Tiered
//!
//! Size-tiered, after RocksDB's wiki "Universal Compaction". The sorted runs, newest first,
//! are each L0 file (in L0 order) and then each non-empty level 1..6 (as one run). Checked in
//! order once there are `l0_compaction_trigger` runs:
//!
//! 1. size amplification: if the runs newer than the oldest hold more than
//!    `tiered_max_size_amplification_percent` of the oldest's bytes, merge everything into
//!    the last level (the only step that drops tombstones);
//! 2. size ratio: from the newest run, grow a window while the next older run is at most
//!    `(100 + tiered_size_ratio)%` of the window's total; merge it if it has at least
//!    `tiered_min_merge_width` runs (else try from the next run);
//! 3. otherwise merge the newest runs, enough to get back under the trigger.
//!
//! A window's output goes to the level of its oldest run; if that is L0 the output is one
//! unsplit file in L0. That keeps L0's newest-first order right: flushes give runs disjoint
//! sequence-number ranges, a window is contiguous in age, so the merged run's range lies
//! between those of its neighbours, and ordering by largest sequence number places it
//! between them. One tiered compaction runs at a time.
//!
//! # Concurrent compactions
//!
//! `busy` holds the input files of running compactions. A plan never takes a busy file, and
//! never writes into a key range of its output level that holds a busy file: its outputs
//! span at most the user-key range of its inputs, and every file of the output level that
//! overlaps that range is one of its inputs. So two running plans never touch the same file,
//! and their outputs never overlap in one level.

use std::collections::HashSet;
use std::sync::Arc;

use crate::manifest::{FileMetaData, Version, NUM_LEVELS};
use crate::options::{CompactionStyle, Options};

/// Why a compaction was picked (for logs and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompactionReason {
    /// L0 reached `l0_compaction_trigger` files.
    L0FileCount,
    /// A level exceeded its size limit.
    LevelSize,
    /// Tiered: the runs newer than the oldest take too much space.
    TieredSizeAmplification,
    /// Tiered: a window of runs of similar size.
    TieredSizeRatio,
    /// Tiered: too many runs, none of similar size.
    TieredRunCount,
    /// A step of `compact_range`.
    Manual,
}

/// One compaction to run.
#[derive(Debug, Clone)]
pub(crate) struct CompactionPlan {
    /// Input files by level. Leveled: the source level's files, then the output level's
    /// overlapping files (possibly empty). Tiered: one entry per sorted run, newest first
    /// (an L0 run is one file).
    pub(crate) inputs: Vec<(usize, Vec<Arc<FileMetaData>>)>,
    /// Level the outputs are added to.
    pub(crate) output_level: usize,
    /// True if nothing outside the inputs can hold an older entry of a key in their range,
    /// so tombstones no snapshot needs can be dropped.
    pub(crate) bottommost: bool,
    /// Split the output at `target_file_size` (false for a tiered run kept in L0, which
    /// must stay one file).
    pub(crate) split_outputs: bool,
    /// Why it was picked.
    pub(crate) reason: CompactionReason,
}

impl CompactionPlan {
    /// Numbers of every input file.
    pub(crate) fn input_numbers(&self) -> impl Iterator<Item = u64> + '_ {
        self.inputs
            .iter()
            .flat_map(|(_, f)| f.iter().map(|f| f.number))
    }

    fn all_inputs(&self) -> impl Iterator<Item = &Arc<FileMetaData>> {
        self.inputs.iter().flat_map(|(_, f)| f.iter())
    }
}

/// Size limit of leveled `level` (1..NUM_LEVELS), in bytes.
pub(crate) fn level_max_bytes(options: &Options, level: usize) -> u64 {
    let mut bytes = options.max_bytes_for_level_base;
    for _ in 1..level {
        bytes = bytes.saturating_mul(options.level_size_multiplier);
    }
    bytes
}

/// The user-key range `[smallest, largest]` covered by `files` (None if empty).
fn key_range<'a>(
    files: impl IntoIterator<Item = &'a Arc<FileMetaData>>,
) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut range: Option<(&[u8], &[u8])> = None;
    for f in files {
        let (s, l) = (f.smallest_user_key(), f.largest_user_key());
        range = Some(match range {
            None => (s, l),
            Some((rs, rl)) => (rs.min(s), rl.max(l)),
        });
    }
    range.map(|(s, l)| (s.to_vec(), l.to_vec()))
}

/// True if no file of a level below `output_level` overlaps `[smallest, largest]`.
fn is_bottommost(version: &Version, output_level: usize, smallest: &[u8], largest: &[u8]) -> bool {
    (output_level + 1..NUM_LEVELS)
        .all(|l| version.overlapping_files(l, smallest, largest).is_empty())
}

/// Builds the leveled plan moving `sources` (from `level`) into `level + 1`, or `None` if it
/// would touch a busy file.
fn leveled_plan(
    version: &Version,
    level: usize,
    sources: Vec<Arc<FileMetaData>>,
    busy: &HashSet<u64>,
    reason: CompactionReason,
) -> Option<CompactionPlan> {
    let (smallest, largest) = key_range(&sources)?;
    let output_level = level + 1;
    let targets = version.overlapping_files(output_level, &smallest, &largest);
    if sources
        .iter()
        .chain(&targets)
        .any(|f| busy.contains(&f.number))
    {
        return None;
    }
    let mut plan = CompactionPlan {
        inputs: vec![(level, sources), (output_level, targets)],
        output_level,
        bottommost: false,
        split_outputs: true,
        reason,
    };
    let (s, l) = key_range(plan.all_inputs()).expect("sources are not empty");
    plan.bottommost = is_bottommost(version, output_level, &s, &l);
    Some(plan)
}

/// The compaction that most needs to run, or `None` if no level is over its limit (or the
/// ones that are would touch busy files). `compact_pointers` holds, per level, the largest user key
/// of the last file compacted out of it; it is advanced for the plan returned.
pub(crate) fn pick_compaction(
    version: &Version,
    options: &Options,
    busy: &HashSet<u64>,
    compact_pointers: &mut [Vec<u8>; NUM_LEVELS],
) -> Option<CompactionPlan> {
    match options.compaction_style {
        CompactionStyle::Leveled => pick_leveled(version, options, busy, compact_pointers),
        CompactionStyle::Tiered => pick_tiered(version, options, busy),
    }
}

fn pick_leveled(
    version: &Version,
    options: &Options,
    busy: &HashSet<u64>,
    compact_pointers: &mut [Vec<u8>; NUM_LEVELS],
) -> Option<CompactionPlan> {
    let mut scores: Vec<(f64, usize)> = (0..NUM_LEVELS - 1)
        .map(|level| {
            let score = if level == 0 {
                version.num_files(0) as f64 / options.l0_compaction_trigger as f64
            } else {
                version.level_bytes(level) as f64 / level_max_bytes(options, level) as f64
            };
            (score, level)
        })
        .filter(|&(score, _)| score >= 1.0)
        .collect();
    // Highest score first; a level whose files are all busy gives way to the next.
    scores.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, level) in scores {
        if level == 0 {
            let l0 = version.files(0).to_vec();
            if let Some(plan) = leveled_plan(version, 0, l0, busy, CompactionReason::L0FileCount) {
                return Some(plan);
            }
            continue;
        }
        let files = version.files(level);
        // Round robin: start after the cursor, wrap around.
        let start =
            files.partition_point(|f| f.largest_user_key() <= compact_pointers[level].as_slice());
        for i in (start..files.len()).chain(0..start) {
            let f = &files[i];
            if busy.contains(&f.number) {
                continue;
            }
            if let Some(plan) = leveled_plan(
                version,
                level,
                vec![f.clone()],
                busy,
                CompactionReason::LevelSize,
            ) {
                compact_pointers[level] = f.largest_user_key().to_vec();
                return Some(plan);
            }
        }
    }
    None
}

/// The sorted runs of `version`, newest first, as `(level, files, bytes)`.
fn sorted_runs(version: &Version) -> Vec<(usize, Vec<Arc<FileMetaData>>, u64)> {
    let mut runs: Vec<_> = version
        .files(0)
        .iter()
        .map(|f| (0, vec![f.clone()], f.file_size))
        .collect();
    for level in 1..NUM_LEVELS {
        if version.num_files(level) > 0 {
            runs.push((
                level,
                version.files(level).to_vec(),
                version.level_bytes(level),
            ));
        }
    }
    runs
}

/// The plan merging `runs[start..end]` (a window contiguous in age).
fn tiered_plan(
    runs: &[(usize, Vec<Arc<FileMetaData>>, u64)],
    start: usize,
    end: usize,
    reason: CompactionReason,
) -> CompactionPlan {
    let includes_oldest = end == runs.len();
    let oldest_level = runs[end - 1].0;
    let output_level = if includes_oldest {
        NUM_LEVELS - 1
    } else {
        oldest_level
    };
    CompactionPlan {
        inputs: runs[start..end]
            .iter()
            .map(|(level, files, _)| (*level, files.clone()))
            .collect(),
        output_level,
        bottommost: includes_oldest,
        split_outputs: output_level != 0,
        reason,
    }
}

fn pick_tiered(
    version: &Version,
    options: &Options,
    busy: &HashSet<u64>,
) -> Option<CompactionPlan> {
    if !busy.is_empty() {
        return None;
    }
    let runs = sorted_runs(version);
    let n = runs.len();
    if n < options.l0_compaction_trigger.max(2) {
        return None;
    }
    // 1. Size amplification.
    let oldest = runs[n - 1].2;
    let newer: u64 = runs[..n - 1].iter().map(|r| r.2).sum();
    if u128::from(newer) * 100
        > u128::from(options.tiered_max_size_amplification_percent) * u128::from(oldest)
    {
        return Some(tiered_plan(
            &runs,
            0,
            n,
            CompactionReason::TieredSizeAmplification,
        ));
    }
    // 2. Size ratio.
    let width = options.tiered_min_merge_width.max(2);
    for start in 0..n {
        let mut total = runs[start].2;
        let mut end = start + 1;
        while end < n
            && u128::from(runs[end].2) * 100
                <= u128::from(total) * u128::from(100 + options.tiered_size_ratio)
        {
            total += runs[end].2;
            end += 1;
        }
        if end - start >= width {
            return Some(tiered_plan(
                &runs,
                start,
                end,
                CompactionReason::TieredSizeRatio,
            ));
        }
    }
    // 3. Run count: merge the newest runs, enough to get back under the trigger.
    let count = (n + 1 - options.l0_compaction_trigger).max(width).min(n);
    Some(tiered_plan(
        &runs,
        0,
        count,
        CompactionReason::TieredRunCount,
    ))
}

/// One step of a manual compaction of `[start, end]` (None = unbounded): leveled, the files
/// of `level` overlapping the range (all of L0 if any L0 file does) merged with the
/// overlapping files of `level + 1`; tiered (only `level` 0 is a step), every run merged
/// into the last level. `None` if there is nothing to do at this level, or it would touch a
/// busy file.
pub(crate) fn pick_manual(
    version: &Version,
    options: &Options,
    level: usize,
    start: Option<&[u8]>,
    end: Option<&[u8]>,
    busy: &HashSet<u64>,
) -> Option<CompactionPlan> {
    let overlaps = |f: &Arc<FileMetaData>| {
        start.is_none_or(|s| f.largest_user_key() >= s)
            && end.is_none_or(|e| f.smallest_user_key() <= e)
    };
    match options.compaction_style {
        CompactionStyle::Tiered => {
            if level != 0 {
                return None;
            }
            let runs = sorted_runs(version);
            let any = runs.iter().any(|(_, files, _)| files.iter().any(overlaps));
            if !any || version.live_files().any(|f| busy.contains(&f.number)) {
                return None;
            }
            let mut plan = tiered_plan(&runs, 0, runs.len(), CompactionReason::Manual);
            plan.bottommost = true;
            Some(plan)
        }
        CompactionStyle::Leveled => {
            if level + 1 >= NUM_LEVELS {
                return None;
            }
            let files = version.files(level);
            let sources: Vec<_> = if level == 0 {
                // All of L0 or nothing, for the reason given in the module docs.
                if files.iter().any(overlaps) {
                    files.to_vec()
                } else {
                    Vec::new()
                }
            } else {
                files.iter().filter(|f| overlaps(f)).cloned().collect()
            };
            if sources.is_empty() {
                return None;
            }
            leveled_plan(version, level, sources, busy, CompactionReason::Manual)
        }
    }
}

/// The last step of a leveled manual compaction of `[start, end]`: the files of `level`
/// (1 and up) in the range that hold range tombstones, rewritten in place, so that what
/// their tombstones cover in the same files is dropped (and, at the bottom, the
/// tombstones too) rather than waiting for a compaction from above that may never come.
/// RocksDB's manual compaction rewrites its bottommost level for the same reason.
/// `None` if no such file, or one is busy.
pub(crate) fn pick_manual_in_place(
    version: &Version,
    level: usize,
    start: Option<&[u8]>,
    end: Option<&[u8]>,
    busy: &HashSet<u64>,
) -> Option<CompactionPlan> {
    if level == 0 || level >= NUM_LEVELS {
        return None;
    }
    let files: Vec<_> = version
        .files(level)
        .iter()
        .filter(|f| {
            f.num_range_deletions > 0
                && start.is_none_or(|s| f.largest_user_key() >= s)
                && end.is_none_or(|e| f.smallest_user_key() <= e)
        })
        .cloned()
        .collect();
    if files.is_empty() || files.iter().any(|f| busy.contains(&f.number)) {
        return None;
    }
    let (s, l) = key_range(&files)?;
    Some(CompactionPlan {
        inputs: vec![(level, files)],
        output_level: level,
        bottommost: is_bottommost(version, level, &s, &l),
        split_outputs: true,
        reason: CompactionReason::Manual,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{make_internal_key, ValueKind};
    use crate::manifest::{VersionBuilder, VersionEdit};

    fn meta(number: u64, smallest: &str, largest: &str, size: u64, seq: u64) -> FileMetaData {
        FileMetaData {
            number,
            file_size: size,
            smallest: make_internal_key(smallest.as_bytes(), seq, ValueKind::Put),
            largest: make_internal_key(largest.as_bytes(), seq, ValueKind::Put),
            smallest_seq: seq,
            largest_seq: seq,
            num_entries: 1,
            num_deletions: 0,
            num_range_deletions: 0,
        }
    }

    fn version(files: &[(usize, FileMetaData)]) -> Version {
        let edit = VersionEdit {
            new_files: files.to_vec(),
            ..Default::default()
        };
        let mut b = VersionBuilder::from_version(&Version::new());
        b.apply(&edit).unwrap();
        b.build().unwrap()
    }

    fn numbers(plan: &CompactionPlan) -> Vec<u64> {
        let mut n: Vec<u64> = plan.input_numbers().collect();
        n.sort_unstable();
        n
    }

    fn leveled() -> Options {
        Options::default()
            .l0_compaction_trigger(2)
            .max_bytes_for_level_base(1000)
            .level_size_multiplier(10)
    }

    #[test]
    fn level_limits_grow_by_the_multiplier() {
        let o = leveled();
        assert_eq!(level_max_bytes(&o, 1), 1000);
        assert_eq!(level_max_bytes(&o, 3), 100_000);
    }

    #[test]
    fn l0_trigger_takes_all_of_l0_and_overlapping_l1() {
        let v = version(&[
            (0, meta(1, "a", "c", 10, 1)),
            (0, meta(2, "b", "d", 10, 2)),
            (1, meta(3, "a", "b", 10, 0)),
            (1, meta(4, "x", "z", 10, 0)),
        ]);
        let mut compact_pointers = Default::default();
        let plan = pick_compaction(&v, &leveled(), &HashSet::new(), &mut compact_pointers).unwrap();
        assert_eq!(plan.reason, CompactionReason::L0FileCount);
        assert_eq!(plan.output_level, 1);
        assert_eq!(numbers(&plan), vec![1, 2, 3]);
        assert!(plan.bottommost);
        // Busy L1 file: no L0 compaction.
        let busy = HashSet::from([3]);
        assert!(pick_compaction(&v, &leveled(), &busy, &mut compact_pointers).is_none());
    }

    #[test]
    fn below_the_trigger_nothing_is_picked() {
        let v = version(&[(0, meta(1, "a", "c", 10, 1)), (1, meta(3, "a", "b", 10, 0))]);
        assert!(
            pick_compaction(&v, &leveled(), &HashSet::new(), &mut Default::default()).is_none()
        );
    }

    #[test]
    fn oversized_level_compacts_round_robin() {
        let v = version(&[
            (1, meta(1, "a", "b", 600, 0)),
            (1, meta(2, "c", "d", 600, 0)),
            (2, meta(3, "c", "c", 10, 0)),
            (3, meta(4, "a", "a", 10, 0)),
        ]);
        let o = leveled();
        let mut compact_pointers: [Vec<u8>; NUM_LEVELS] = Default::default();
        let p1 = pick_compaction(&v, &o, &HashSet::new(), &mut compact_pointers).unwrap();
        assert_eq!(p1.reason, CompactionReason::LevelSize);
        assert_eq!(numbers(&p1), vec![1]);
        assert_eq!(p1.output_level, 2);
        assert!(!p1.bottommost, "L3 holds key a");
        let p2 = pick_compaction(&v, &o, &HashSet::new(), &mut compact_pointers).unwrap();
        assert_eq!(numbers(&p2), vec![2, 3]);
        assert!(p2.bottommost);
        // Wraps around.
        let p3 = pick_compaction(&v, &o, &HashSet::new(), &mut compact_pointers).unwrap();
        assert_eq!(numbers(&p3), vec![1]);
        // A busy file is skipped, and so is one whose overlap is busy.
        let p4 = pick_compaction(&v, &o, &HashSet::from([1]), &mut compact_pointers).unwrap();
        assert_eq!(numbers(&p4), vec![2, 3]);
        assert!(pick_compaction(&v, &o, &HashSet::from([1, 3]), &mut compact_pointers).is_none());
    }

    #[test]
    fn highest_score_wins() {
        let v = version(&[
            (0, meta(1, "a", "c", 10, 1)),
            (0, meta(2, "b", "d", 10, 2)),
            (1, meta(3, "m", "n", 5000, 0)),
        ]);
        let plan =
            pick_compaction(&v, &leveled(), &HashSet::new(), &mut Default::default()).unwrap();
        assert_eq!(
            plan.reason,
            CompactionReason::LevelSize,
            "L1 score 5 beats L0 score 1"
        );
    }

    fn tiered() -> Options {
        Options::default()
            .compaction_style(CompactionStyle::Tiered)
            .l0_compaction_trigger(3)
            .tiered_size_ratio(1)
            .tiered_max_size_amplification_percent(200)
            .tiered_min_merge_width(2)
    }

    #[test]
    fn tiered_size_amplification_merges_everything_to_the_bottom() {
        // Newest first in L0: 1 (seq 9), 2 (seq 8); oldest run L6.
        let v = version(&[
            (0, meta(1, "a", "z", 300, 9)),
            (0, meta(2, "a", "z", 300, 8)),
            (6, meta(3, "a", "z", 100, 1)),
        ]);
        let plan =
            pick_compaction(&v, &tiered(), &HashSet::new(), &mut Default::default()).unwrap();
        assert_eq!(plan.reason, CompactionReason::TieredSizeAmplification);
        assert_eq!(plan.output_level, NUM_LEVELS - 1);
        assert!(plan.bottommost && plan.split_outputs);
        assert_eq!(numbers(&plan), vec![1, 2, 3]);
    }

    #[test]
    fn tiered_size_ratio_merges_similar_runs_in_l0() {
        let v = version(&[
            (0, meta(1, "a", "z", 10, 9)),
            (0, meta(2, "a", "z", 10, 8)),
            (0, meta(3, "a", "z", 15, 7)),
            (6, meta(4, "a", "z", 1000, 1)),
        ]);
        let plan =
            pick_compaction(&v, &tiered(), &HashSet::new(), &mut Default::default()).unwrap();
        assert_eq!(plan.reason, CompactionReason::TieredSizeRatio);
        assert_eq!(numbers(&plan), vec![1, 2, 3]);
        assert_eq!(plan.output_level, 0);
        assert!(!plan.bottommost && !plan.split_outputs);
        // Only one tiered compaction at a time.
        assert!(
            pick_compaction(&v, &tiered(), &HashSet::from([4]), &mut Default::default()).is_none()
        );
    }

    #[test]
    fn tiered_run_count_fallback_merges_the_newest() {
        // Each run much bigger than the newer ones together: no ratio window.
        let v = version(&[
            (0, meta(1, "a", "z", 10, 9)),
            (0, meta(2, "a", "z", 100, 8)),
            (0, meta(3, "a", "z", 1000, 7)),
            (6, meta(4, "a", "z", 10_000, 1)),
        ]);
        let plan =
            pick_compaction(&v, &tiered(), &HashSet::new(), &mut Default::default()).unwrap();
        assert_eq!(plan.reason, CompactionReason::TieredRunCount);
        assert_eq!(numbers(&plan), vec![1, 2]);
        assert_eq!(plan.output_level, 0);
    }

    #[test]
    fn manual_steps() {
        let v = version(&[
            (0, meta(1, "a", "c", 10, 5)),
            (0, meta(2, "x", "y", 10, 6)),
            (1, meta(3, "b", "b", 10, 0)),
            (1, meta(4, "q", "r", 10, 0)),
            (2, meta(5, "q", "q", 10, 0)),
        ]);
        let o = leveled();
        let none = HashSet::new();
        // L0: any overlap takes all of L0, and L1 files overlapping all of it (a..y).
        let p = pick_manual(&v, &o, 0, Some(b"a"), Some(b"b"), &none).unwrap();
        assert_eq!(numbers(&p), vec![1, 2, 3, 4]);
        let p = pick_manual(&v, &o, 1, Some(b"p"), None, &none).unwrap();
        assert_eq!(numbers(&p), vec![4, 5]);
        assert!(p.bottommost);
        assert!(pick_manual(&v, &o, 2, Some(b"a"), Some(b"b"), &none).is_none());
        let t = pick_manual(&v, &tiered(), 0, None, None, &none).unwrap();
        assert_eq!(numbers(&t), vec![1, 2, 3, 4, 5]);
        assert!(t.bottommost);
        assert_eq!(t.output_level, NUM_LEVELS - 1);
    }
}
