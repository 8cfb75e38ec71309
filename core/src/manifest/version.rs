//! [`Version`]: an immutable snapshot of which SSTables are live at which level, and the
//! builder that applies [`VersionEdit`]s to produce the next one.
//!
//! Readers take an `Arc<Version>` and keep using it while compactions install newer ones;
//! the files a version names stay on disk as long as the engine holds a version that names
//! them.
//!
//! A version also holds the SSTable half of the read path, as LevelDB's `Version` does
//! (`Version::Get`, `Version::AddIterators`): [`Version::get`] walks the levels for one key,
//! and [`Version::add_iterators`] adds one iterator per L0 file and one
//! [`LevelIterator`] per deeper level to a merge. Both get their tables from a
//! [`TableSource`] (the table cache).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::error::{Error, Result};
use crate::iterator::{InternalIterator, LevelIterator, TableOpener};
use crate::key::{compare_internal_keys, parse_internal_key, seek_key, SequenceNumber, ValueKind};
use crate::memtable::LookupResult;
use crate::range_del::{FragmentedTombstones, RangeDelFilter};
use crate::sstable::TableSource;

use super::version_edit::{FileMetaData, VersionEdit};
use super::NUM_LEVELS;

/// The live SSTables, level by level.
///
/// Invariants (checked when a version is built, so every `Version` holds them):
///
/// - level 0 is ordered newest first: by `largest_seq` descending, then file number
///   descending. Its files may overlap one another, so a point lookup must consult all of
///   them, in this order.
/// - levels 1 and up are ordered by smallest key and their user-key ranges are disjoint:
///   `largest_user_key` of a file is strictly below `smallest_user_key` of the next. So a
///   user key is in at most one file per level, and compaction must not split the entries of
///   one user key across two files of the same level.
/// - a file number appears at most once in the whole version.
#[derive(Clone, Default)]
pub struct Version {
    levels: [Vec<Arc<FileMetaData>>; NUM_LEVELS],
    level_bytes: [u64; NUM_LEVELS],
    /// The range tombstones of every file, fragmented, built on first use (a version
    /// never changes, so neither do they).
    range_tombstones: OnceLock<Arc<FragmentedTombstones>>,
}

/// What a database iterator reads through: the range tombstones of every source and the
/// sequence number it reads at; each source is wrapped in a [`RangeDelFilter`].
#[derive(Clone)]
pub(crate) struct ReadFilter {
    pub(crate) tombstones: Arc<FragmentedTombstones>,
    pub(crate) read_seq: SequenceNumber,
}

impl ReadFilter {
    /// `it` (a source whose entries are at most `max_seq`) with deleted entries hidden.
    pub(crate) fn wrap(
        &self,
        it: Box<dyn InternalIterator>,
        max_seq: SequenceNumber,
    ) -> Box<dyn InternalIterator> {
        Box::new(RangeDelFilter::new(
            it,
            self.tombstones.clone(),
            self.read_seq,
            max_seq,
        ))
    }
}

impl Version {
    /// A version with no files.
    pub fn new() -> Self {
        Self::default()
    }

    /// The files of `level`, in the level's order (see the type docs).
    ///
    /// Panics if `level >= NUM_LEVELS`.
    pub fn files(&self, level: usize) -> &[Arc<FileMetaData>] {
        &self.levels[level]
    }

    /// Number of files in `level`. Panics if `level >= NUM_LEVELS`.
    pub fn num_files(&self, level: usize) -> usize {
        self.levels[level].len()
    }

    /// Total size in bytes of the files of `level`. Panics if `level >= NUM_LEVELS`.
    pub fn level_bytes(&self, level: usize) -> u64 {
        self.level_bytes[level]
    }

    /// Files of `level` whose user-key range intersects `[smallest_user_key,
    /// largest_user_key]` (both inclusive), in the level's order. Empty if the range is empty.
    ///
    /// For level 0 the answer is not closed under overlap: a file found may reach outside
    /// the range and overlap further files. A compaction picker that needs the closure widens
    /// the range to the files found and asks again until it stops growing.
    ///
    /// Panics if `level >= NUM_LEVELS`.
    pub fn overlapping_files(
        &self,
        level: usize,
        smallest_user_key: &[u8],
        largest_user_key: &[u8],
    ) -> Vec<Arc<FileMetaData>> {
        let files = &self.levels[level];
        if smallest_user_key > largest_user_key {
            return Vec::new();
        }
        if level == 0 {
            return files
                .iter()
                .filter(|f| {
                    f.largest_user_key() >= smallest_user_key
                        && f.smallest_user_key() <= largest_user_key
                })
                .cloned()
                .collect();
        }
        // Sorted and disjoint: skip the files entirely below the range, take files until one
        // starts above it.
        let start = files.partition_point(|f| f.largest_user_key() < smallest_user_key);
        files[start..]
            .iter()
            .take_while(|f| f.smallest_user_key() <= largest_user_key)
            .cloned()
            .collect()
    }

    /// The file of `level` whose user-key range contains `user_key`, found by binary search
    /// on the files' largest keys; `None` if the key falls between files or outside them.
    ///
    /// Panics if `level` is 0 (its files overlap: use [`files`](Self::files)) or
    /// `>= NUM_LEVELS`.
    pub fn find_file(&self, level: usize, user_key: &[u8]) -> Option<&Arc<FileMetaData>> {
        assert!(
            (1..NUM_LEVELS).contains(&level),
            "find_file needs a level in 1..{NUM_LEVELS}, got {level}"
        );
        let files = &self.levels[level];
        let i = files.partition_point(|f| f.largest_user_key() < user_key);
        files.get(i).filter(|f| f.smallest_user_key() <= user_key)
    }

    /// Point lookup of `user_key` at sequence number `seq` in the SSTables: the L0 files
    /// that may hold it, newest first, then at most one file per deeper level (binary search
    /// on the files' bounds). The first table holding an entry of the key visible at `seq`
    /// answers; `Absent` if none does.
    ///
    /// Errors: [`Error::Io`] / [`Error::Corruption`] opening or reading a table.
    pub(crate) fn get(
        &self,
        user_key: &[u8],
        seq: SequenceNumber,
        tables: &dyn TableSource,
    ) -> Result<LookupResult> {
        let target = seek_key(user_key, seq);
        let from_table = |f: &FileMetaData| -> Result<LookupResult> {
            let Some((ikey, value)) = tables.table(f.number)?.get(&target)? else {
                return Ok(LookupResult::Absent);
            };
            let p = parse_internal_key(&ikey).ok_or_else(|| {
                Error::corruption(format!("table {}", f.number), 0, "bad internal key")
            })?;
            Ok(match p.kind {
                ValueKind::Put => LookupResult::Found(value, p.seq),
                ValueKind::Delete => LookupResult::Deleted,
            })
        };
        for f in &self.levels[0] {
            if user_key < f.smallest_user_key() || user_key > f.largest_user_key() {
                continue;
            }
            match from_table(f)? {
                LookupResult::Absent => {}
                found => return Ok(found),
            }
        }
        for level in 1..NUM_LEVELS {
            if let Some(f) = self.find_file(level, user_key) {
                match from_table(f)? {
                    LookupResult::Absent => {}
                    found => return Ok(found),
                }
            }
        }
        Ok(LookupResult::Absent)
    }

    /// [`get`](Self::get) of many keys at once: `user_keys` sorted ascending without
    /// duplicates, `out` one slot per key, where `Absent` marks a key still to look up (a
    /// slot already `Found` or `Deleted`, answered by a memtable, is left alone). Each
    /// table is asked once for the run of keys in its range ([`Table::multi_get`]), so a
    /// table's filter, index and data blocks are fetched once per call rather than per key.
    ///
    /// [`Table::multi_get`]: crate::sstable::Table::multi_get
    ///
    /// Errors: as [`get`](Self::get).
    pub(crate) fn multi_get(
        &self,
        user_keys: &[&[u8]],
        seq: SequenceNumber,
        tables: &dyn TableSource,
        out: &mut [LookupResult],
    ) -> Result<()> {
        debug_assert_eq!(user_keys.len(), out.len());
        let targets: Vec<Vec<u8>> = user_keys.iter().map(|k| seek_key(k, seq)).collect();
        // Reused between tables: the positions asked about and their seek keys.
        let mut wanted: Vec<usize> = Vec::with_capacity(user_keys.len());
        let mut seek: Vec<&[u8]> = Vec::with_capacity(user_keys.len());
        // Asks table `f` about the still-unanswered keys among `range` (indices into
        // user_keys, all inside f's key range).
        let mut ask = |f: &FileMetaData, range: std::ops::Range<usize>| -> Result<()> {
            wanted.clear();
            wanted.extend(range.filter(|&i| matches!(out[i], LookupResult::Absent)));
            if wanted.is_empty() {
                return Ok(());
            }
            seek.clear();
            seek.extend(wanted.iter().map(|&i| targets[i].as_slice()));
            tables.table(f.number)?.multi_get(&seek, |n, ikey, value| {
                let p = parse_internal_key(ikey).ok_or_else(|| {
                    Error::corruption(format!("table {}", f.number), 0, "bad internal key")
                })?;
                out[wanted[n]] = match p.kind {
                    ValueKind::Put => LookupResult::Found(value.to_vec(), p.seq),
                    ValueKind::Delete => LookupResult::Deleted,
                };
                Ok(())
            })
        };
        // L0 files overlap: each is asked about the run of keys inside its range.
        for f in &self.levels[0] {
            let start = user_keys.partition_point(|k| *k < f.smallest_user_key());
            let end = user_keys.partition_point(|k| *k <= f.largest_user_key());
            ask(f, start..end.max(start))?;
        }
        // Deeper levels: one binary search per run of keys that share a file.
        for level in 1..NUM_LEVELS {
            let mut i = 0;
            while i < user_keys.len() {
                let Some(f) = self.find_file(level, user_keys[i]) else {
                    i += 1;
                    continue;
                };
                let end = i + user_keys[i..].partition_point(|k| *k <= f.largest_user_key());
                ask(f, i..end)?;
                i = end;
            }
        }
        Ok(())
    }

    /// Adds to `out` the iterators over the files `include` accepts: one per L0 file (they
    /// overlap), and one [`LevelIterator`] per deeper level with any such file (a level is
    /// one sorted run, so it is one child of the merge and opens one table at a time).
    /// With `filter`, every table's iterator hides what range tombstones delete.
    ///
    /// Errors: [`Error::Io`] / [`Error::Corruption`] opening an L0 table.
    pub(crate) fn add_iterators(
        &self,
        tables: &Arc<dyn TableSource>,
        include: impl Fn(&FileMetaData) -> bool,
        filter: Option<&ReadFilter>,
        out: &mut Vec<Box<dyn InternalIterator>>,
    ) -> Result<()> {
        for (level, files) in self.levels.iter().enumerate() {
            let files: Vec<_> = files.iter().filter(|f| include(f)).cloned().collect();
            add_level_iterators(level, files, tables, filter, out)?;
        }
        Ok(())
    }

    /// True if any file holds range tombstones.
    pub fn has_range_tombstones(&self) -> bool {
        self.live_files().any(|f| f.num_range_deletions > 0)
    }

    /// The range tombstones of every file, fragmented (opening the tables that have any
    /// the first time; cached for the version's life).
    ///
    /// Errors: [`Error::Io`] / [`Error::Corruption`] opening a table.
    pub(crate) fn range_tombstones(
        &self,
        tables: &dyn TableSource,
    ) -> Result<&Arc<FragmentedTombstones>> {
        if let Some(t) = self.range_tombstones.get() {
            return Ok(t);
        }
        let mut all = Vec::new();
        for f in self.live_files().filter(|f| f.num_range_deletions > 0) {
            all.extend(tables.table(f.number)?.range_tombstones().iter().cloned());
        }
        Ok(self
            .range_tombstones
            .get_or_init(|| Arc::new(FragmentedTombstones::new(&all))))
    }

    /// Every live file, level 0 first, each level in its order.
    pub fn live_files(&self) -> impl Iterator<Item = &Arc<FileMetaData>> + '_ {
        self.levels.iter().flatten()
    }

    /// Number of live files in all levels.
    pub fn total_files(&self) -> usize {
        self.levels.iter().map(Vec::len).sum()
    }
}

/// Adds to `out` the iterators over `files` of `level`, in that level's order: one per
/// file at L0, one [`LevelIterator`] over all of them deeper down. Used for a version's
/// levels and for a compaction's inputs alike.
///
/// Errors: [`Error::Io`] / [`Error::Corruption`] opening an L0 table.
pub(crate) fn add_level_iterators(
    level: usize,
    files: Vec<Arc<FileMetaData>>,
    tables: &Arc<dyn TableSource>,
    filter: Option<&ReadFilter>,
    out: &mut Vec<Box<dyn InternalIterator>>,
) -> Result<()> {
    if level == 0 {
        for f in &files {
            let it: Box<dyn InternalIterator> = Box::new(tables.table(f.number)?.iter());
            out.push(match filter {
                Some(filter) => filter.wrap(it, f.largest_seq),
                None => it,
            });
        }
    } else if !files.is_empty() {
        out.push(Box::new(LevelIterator::new(
            files,
            table_opener(tables, filter.cloned()),
        )));
    }
    Ok(())
}

/// Opens a level's tables for a [`LevelIterator`], one at a time, through `tables`, each
/// wrapped by `filter` if given (per table, so that a skip over deleted keys never jumps
/// past a newer table of the level).
fn table_opener(tables: &Arc<dyn TableSource>, filter: Option<ReadFilter>) -> TableOpener {
    let tables = tables.clone();
    Arc::new(move |f: &FileMetaData| {
        let it: Box<dyn InternalIterator> = Box::new(tables.table(f.number)?.iter());
        Ok(match &filter {
            Some(filter) => filter.wrap(it, f.largest_seq),
            None => it,
        })
    })
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = f.debug_map();
        for (level, files) in self.levels.iter().enumerate() {
            if !files.is_empty() {
                let numbers: Vec<u64> = files.iter().map(|f| f.number).collect();
                l.entry(&format_args!("L{level}"), &numbers);
            }
        }
        l.finish()
    }
}

/// Equal when the same files (compared by value) are at the same levels.
impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.levels == other.levels
    }
}

impl Eq for Version {}

/// Accumulates edits on top of a base version, then checks and sorts the result.
///
/// Files are keyed by number, as file numbers are unique across levels; that makes "delete a
/// file that is not there" and "add a file twice" cheap to detect.
#[derive(Default)]
pub(crate) struct VersionBuilder {
    files: HashMap<u64, (usize, Arc<FileMetaData>)>,
}

impl VersionBuilder {
    /// A builder starting from `base`'s files (shared, not copied).
    pub(crate) fn from_version(base: &Version) -> Self {
        let files = base
            .levels
            .iter()
            .enumerate()
            .flat_map(|(level, files)| files.iter().map(move |f| (f.number, (level, f.clone()))))
            .collect();
        VersionBuilder { files }
    }

    /// Applies the file changes of `edit`: its deletions, then its additions.
    ///
    /// Errors (a description; the caller picks the error kind): a level out of range,
    /// deleting a file that is not at that level, adding a number that is already live, a
    /// file whose smallest key is above its largest or whose sequence range is inverted.
    pub(crate) fn apply(&mut self, edit: &VersionEdit) -> std::result::Result<(), String> {
        for &(level, number) in &edit.deleted_files {
            check_level(level)?;
            match self.files.get(&number) {
                Some((l, _)) if *l == level => {
                    self.files.remove(&number);
                }
                Some((l, _)) => {
                    return Err(format!(
                        "deleting file {number} from level {level}, but it is at level {l}"
                    ))
                }
                None => {
                    return Err(format!(
                        "deleting file {number} from level {level}, which has no such file"
                    ))
                }
            }
        }
        for (level, f) in &edit.new_files {
            check_level(*level)?;
            if let Some((l, _)) = self.files.get(&f.number) {
                return Err(format!(
                    "adding file {} to level {level}, but it is already live at level {l}",
                    f.number
                ));
            }
            if compare_internal_keys(&f.smallest, &f.largest) == Ordering::Greater {
                return Err(format!("file {}: smallest key above largest key", f.number));
            }
            if f.smallest_seq > f.largest_seq {
                return Err(format!(
                    "file {}: smallest_seq {} above largest_seq {}",
                    f.number, f.smallest_seq, f.largest_seq
                ));
            }
            self.files.insert(f.number, (*level, Arc::new(f.clone())));
        }
        Ok(())
    }

    /// Largest file number live in the builder, 0 if none.
    pub(crate) fn max_file_number(&self) -> u64 {
        self.files.keys().copied().max().unwrap_or(0)
    }

    /// Sorts each level and checks that levels 1 and up are disjoint.
    pub(crate) fn build(self) -> std::result::Result<Version, String> {
        let mut v = Version::default();
        for (_, (level, f)) in self.files {
            v.level_bytes[level] += f.file_size;
            v.levels[level].push(f);
        }
        v.levels[0].sort_by(|a, b| {
            b.largest_seq
                .cmp(&a.largest_seq)
                .then(b.number.cmp(&a.number))
        });
        for (level, files) in v.levels.iter_mut().enumerate().skip(1) {
            files.sort_by(|a, b| {
                compare_internal_keys(&a.smallest, &b.smallest).then(a.number.cmp(&b.number))
            });
            for w in files.windows(2) {
                if w[0].largest_user_key() >= w[1].smallest_user_key() {
                    return Err(format!(
                        "level {level}: files {} and {} overlap",
                        w[0].number, w[1].number
                    ));
                }
            }
        }
        Ok(v)
    }
}

fn check_level(level: usize) -> std::result::Result<(), String> {
    if level < NUM_LEVELS {
        Ok(())
    } else {
        Err(format!("level {level} out of range (0..{NUM_LEVELS})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{make_internal_key, ValueKind};

    pub(crate) fn table(
        number: u64,
        smallest: &str,
        largest: &str,
        seqs: (u64, u64),
    ) -> FileMetaData {
        FileMetaData {
            number,
            file_size: number * 100,
            smallest: make_internal_key(smallest.as_bytes(), seqs.1, ValueKind::Put),
            largest: make_internal_key(largest.as_bytes(), seqs.0, ValueKind::Put),
            smallest_seq: seqs.0,
            largest_seq: seqs.1,
            num_entries: 10,
            num_deletions: 0,
            num_range_deletions: 0,
        }
    }

    fn build(files: &[(usize, FileMetaData)]) -> std::result::Result<Version, String> {
        let mut b = VersionBuilder::default();
        let mut e = VersionEdit::new();
        for (l, f) in files {
            e.add_file(*l, f.clone());
        }
        b.apply(&e)?;
        b.build()
    }

    fn numbers(files: &[Arc<FileMetaData>]) -> Vec<u64> {
        files.iter().map(|f| f.number).collect()
    }

    #[test]
    fn level0_is_newest_first() {
        let v = build(&[
            (0, table(4, "a", "m", (1, 10))),
            (0, table(5, "c", "z", (11, 20))),
            (0, table(6, "b", "d", (5, 20))),
            (0, table(7, "x", "y", (1, 2))),
        ])
        .unwrap();
        assert_eq!(numbers(v.files(0)), [6, 5, 4, 7]);
        assert_eq!(v.level_bytes(0), 2200);
        assert_eq!(numbers(&v.overlapping_files(0, b"e", b"n")), [5, 4]);
        assert_eq!(numbers(&v.overlapping_files(0, b"d", b"d")), [6, 5, 4]);
        assert!(v.overlapping_files(0, b"n", b"a").is_empty());
    }

    #[test]
    fn upper_levels_are_sorted_disjoint_and_searchable() {
        let v = build(&[
            (1, table(12, "m", "p", (1, 1))),
            (1, table(10, "a", "c", (1, 1))),
            (1, table(11, "e", "g", (1, 1))),
            (2, table(20, "a", "z", (1, 1))),
        ])
        .unwrap();
        assert_eq!(numbers(v.files(1)), [10, 11, 12]);
        assert_eq!(v.num_files(1), 3);
        assert_eq!(v.total_files(), 4);
        let find = |k: &str| v.find_file(1, k.as_bytes()).map(|f| f.number);
        assert_eq!(find("a"), Some(10));
        assert_eq!(find("c"), Some(10));
        assert_eq!(find("d"), None);
        assert_eq!(find("f"), Some(11));
        assert_eq!(find("p"), Some(12));
        assert_eq!(find("q"), None);
        assert_eq!(find(""), None);
        assert_eq!(numbers(&v.overlapping_files(1, b"b", b"f")), [10, 11]);
        assert_eq!(numbers(&v.overlapping_files(1, b"c", b"m")), [10, 11, 12]);
        assert_eq!(
            numbers(&v.overlapping_files(1, b"h", b"l")),
            Vec::<u64>::new()
        );
        assert_eq!(
            numbers(&v.overlapping_files(1, b"q", b"zz")),
            Vec::<u64>::new()
        );
        assert_eq!(v.find_file(2, b"k").unwrap().number, 20);
        let mut live: Vec<u64> = v.live_files().map(|f| f.number).collect();
        live.sort();
        assert_eq!(live, [10, 11, 12, 20]);
    }

    #[test]
    #[should_panic(expected = "find_file needs a level")]
    fn find_file_rejects_level0() {
        Version::new().find_file(0, b"k");
    }

    #[test]
    fn builder_rejects_inconsistent_edits() {
        // Overlap in L1, including sharing a boundary user key.
        assert!(build(&[
            (1, table(1, "a", "f", (1, 1))),
            (1, table(2, "f", "k", (1, 1)))
        ])
        .unwrap_err()
        .contains("overlap"));
        // Level out of range, inverted keys, inverted sequences.
        assert!(build(&[(NUM_LEVELS, table(1, "a", "b", (1, 1)))]).is_err());
        assert!(build(&[(1, table(1, "b", "a", (1, 1)))]).is_err());
        assert!(build(&[(1, table(1, "a", "b", (2, 1)))]).is_err());

        let base = build(&[
            (0, table(1, "a", "b", (1, 1))),
            (2, table(2, "a", "b", (1, 1))),
        ])
        .unwrap();
        let mut b = VersionBuilder::from_version(&base);
        let mut e = VersionEdit::new();
        e.delete_file(1, 1); // file 1 is at level 0
        assert!(b.apply(&e).unwrap_err().contains("at level 0"));
        let mut e = VersionEdit::new();
        e.delete_file(0, 9);
        assert!(b.apply(&e).unwrap_err().contains("no such file"));
        let mut e = VersionEdit::new();
        e.add_file(3, table(2, "x", "y", (1, 1)));
        assert!(b.apply(&e).unwrap_err().contains("already live"));
        // A trivial move: delete from L0 and add to L1 in one edit.
        let mut b = VersionBuilder::from_version(&base);
        let mut e = VersionEdit::new();
        e.delete_file(0, 1);
        e.add_file(1, table(1, "a", "b", (1, 1)));
        b.apply(&e).unwrap();
        let v = b.build().unwrap();
        assert_eq!(numbers(v.files(1)), [1]);
        assert_eq!(v.num_files(0), 0);
    }
}
