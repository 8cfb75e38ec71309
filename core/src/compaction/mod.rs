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
//! | file | what |
//! | --- | --- |
//! | `picker.rs` | which compaction runs next: a [`CompactionPlan`] (inputs, output level) |
//! | `drop_rule.rs` | [`DropRule`]: which entries of the merged inputs survive, given the live snapshots |
//! | `job.rs` | [`job::run`]: runs a plan, returns the version edit that installs its result |
//!
//! # Running a compaction
//!
//! The inputs are merged through a
//! [`MergingIterator`](crate::iterator::MergingIterator) (levels 1+ through a
//! [`LevelIterator`](crate::iterator::LevelIterator), which opens one file at a time) and
//! filtered by a
//! [`DropRule`]: of the entries of one user key it keeps, for each live snapshot,
//! the newest one that snapshot can see, plus the newest overall, and drops tombstones at
//! the bottom level that no snapshot needs. The survivors are written into new tables, split
//! at `target_file_size` but never inside one user key (so files of a level stay disjoint).
//! One version edit then deletes the inputs and adds the outputs; until it is in the
//! manifest, the outputs are "pending" and the inputs stay live, so a crash at any point
//! leaves either the old files or the new ones in the recovered version, never a mix.
//!
//! Input files are deleted from disk only when no version still holds them: every reader
//! (point lookup or iterator) pins the version it started from, and
//! the database's obsolete-file deletion keeps every file of every version still referenced.
//!
//! # Concurrency
//!
//! Up to [`Options::max_background_compactions`] compactions run at once. Files in a
//! running compaction are *busy*; the picker never picks a busy file, nor a plan whose
//! output would land on a key range another running compaction writes, so concurrent
//! compactions never touch the same file or key range of a level. A manual compaction
//! ([`Db::compact_range`](crate::Db::compact_range)) waits for running compactions to end
//! and holds off new ones while it works, level by level.

mod drop_rule;
pub(crate) mod job;
pub(crate) mod picker;

pub(crate) use drop_rule::DropRule;
pub(crate) use picker::CompactionPlan;
