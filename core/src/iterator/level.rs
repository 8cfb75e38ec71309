//! [`LevelIterator`]: one cursor over a whole level L1+, opening one table at a time.
//!
//! The files of a level below L0 are sorted by key and disjoint, so the level is a single
//! sorted run: iterating it is iterating its files one after another. This is LevelDB's
//! "concatenating iterator" (`db/version_set.cc`, a two-level iterator whose index is the
//! file list): the first level is a position in the file list, the second an iterator over
//! the table at that position, opened on demand through a [`TableOpener`].
//!
//! Why not one child per file in the [`MergingIterator`](super::MergingIterator)? A level
//! can hold thousands of files; one child per file would open (and keep open, with a block
//! each) every table a scan might touch, and make every seek seek every table. The level
//! iterator holds exactly one open table, and a seek opens only the file that can hold the
//! target: the first whose largest key is `>=` the target, found by binary search on the
//! file boundaries.
//!
//! Moving past either end of a table moves to the neighbouring file, skipping files that
//! turn out to hold nothing in the direction of travel. Errors are sticky, like a
//! [`TableIterator`](crate::sstable::TableIterator)'s: a failed open, or a table iterator that
//! stops on an error, leaves the level iterator invalid with that error as its `status()`,
//! and later positioning calls do nothing (a scan must not silently skip a damaged file).

use std::cmp::Ordering;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::iterator::InternalIterator;
use crate::key::compare_internal_keys;
use crate::manifest::FileMetaData;

/// Opens an iterator over one table of a level. Shared (an `Arc`) so a version can hand the
/// same opener, typically a closure over the table cache, to every level iterator it makes.
pub type TableOpener =
    Arc<dyn Fn(&FileMetaData) -> Result<Box<dyn InternalIterator>> + Send + Sync>;

/// An [`InternalIterator`] over the files of one level L1+, which must be sorted by key and
/// disjoint: LevelDB's concatenating iterator.
///
/// It holds at most one open table: a seek binary-searches the file list for the first file
/// whose largest key is `>=` the target and opens only that one; `next`/`prev` move to the
/// neighbouring file at a table's end, skipping files that turn out empty. A failed open, or
/// a table iterator stopping on an error, leaves it invalid with that error as `status()`;
/// errors are sticky (later positioning calls do nothing), so a scan never silently skips a
/// damaged file.
pub struct LevelIterator {
    files: Vec<Arc<FileMetaData>>,
    open: TableOpener,
    /// Index in `files` of the open table; `files.len()` when none is open.
    index: usize,
    /// The iterator over `files[index]`, if one is open.
    table: Option<Box<dyn InternalIterator>>,
    /// The first error met; sticky.
    error: Option<Error>,
}

impl LevelIterator {
    /// An iterator over `files` (sorted by key, disjoint), opening each with `open` when the
    /// cursor reaches it. Unpositioned until a seek; opens nothing until then.
    pub fn new(files: Vec<Arc<FileMetaData>>, open: TableOpener) -> Self {
        debug_assert!(files
            .windows(2)
            .all(|w| compare_internal_keys(&w[0].largest, &w[1].smallest) == Ordering::Less));
        let index = files.len();
        LevelIterator {
            files,
            open,
            index,
            table: None,
            error: None,
        }
    }

    /// Makes `table` iterate `files[i]` (unpositioned), reusing the open one if it is that
    /// file. The previous table is dropped before the next is opened, so at most one is open.
    /// Returns false (with `error` set) if opening fails.
    fn open_file(&mut self, i: usize) -> bool {
        if self.index == i && self.table.is_some() {
            return true;
        }
        self.table = None;
        self.index = i;
        match (self.open)(&self.files[i]) {
            Ok(t) => {
                self.table = Some(t);
                true
            }
            Err(e) => {
                self.fail(e);
                false
            }
        }
    }

    /// Records `e` (the first error wins) and closes the table.
    fn fail(&mut self, e: Error) {
        self.error.get_or_insert(e);
        self.table = None;
        self.index = self.files.len();
    }

    /// Closes the table: the cursor is past either end.
    fn clear(&mut self) {
        self.table = None;
        self.index = self.files.len();
    }

    /// After a positioning call found nothing to open (or failed to): past the end, unless
    /// an error was recorded (then the state `fail` left stays).
    fn clear_unless_failed(&mut self) {
        if self.error.is_none() {
            self.clear();
        }
    }

    /// If the open table is exhausted, moves to the first entry of the following files,
    /// skipping empty ones; stops on an error.
    fn skip_empty_forward(&mut self) {
        while let Some(t) = &self.table {
            if t.valid() {
                return;
            }
            if let Err(e) = t.status() {
                return self.fail(e);
            }
            let next = self.index + 1;
            if next >= self.files.len() {
                return self.clear();
            }
            if !self.open_file(next) {
                return;
            }
            if let Some(t) = &mut self.table {
                t.seek_to_first();
            }
        }
    }

    /// If the open table is exhausted, moves to the last entry of the preceding files,
    /// skipping empty ones; stops on an error.
    fn skip_empty_backward(&mut self) {
        while let Some(t) = &self.table {
            if t.valid() {
                return;
            }
            if let Err(e) = t.status() {
                return self.fail(e);
            }
            if self.index == 0 {
                return self.clear();
            }
            if !self.open_file(self.index - 1) {
                return;
            }
            if let Some(t) = &mut self.table {
                t.seek_to_last();
            }
        }
    }
}

impl InternalIterator for LevelIterator {
    fn valid(&self) -> bool {
        self.error.is_none() && self.table.as_ref().is_some_and(|t| t.valid())
    }

    fn seek_to_first(&mut self) {
        if self.error.is_some() {
            return;
        }
        if self.files.is_empty() || !self.open_file(0) {
            return self.clear_unless_failed();
        }
        if let Some(t) = &mut self.table {
            t.seek_to_first();
        }
        self.skip_empty_forward();
    }

    fn seek_to_last(&mut self) {
        if self.error.is_some() {
            return;
        }
        if self.files.is_empty() || !self.open_file(self.files.len() - 1) {
            return self.clear_unless_failed();
        }
        if let Some(t) = &mut self.table {
            t.seek_to_last();
        }
        self.skip_empty_backward();
    }

    fn seek(&mut self, target: &[u8]) {
        if self.error.is_some() {
            return;
        }
        // The first file whose largest key is >= target: every file before it ends before
        // the target, and the files are disjoint, so the target's place is in it or later.
        let i = self
            .files
            .partition_point(|f| compare_internal_keys(&f.largest, target) == Ordering::Less);
        if i == self.files.len() || !self.open_file(i) {
            return self.clear_unless_failed();
        }
        if let Some(t) = &mut self.table {
            t.seek(target);
        }
        self.skip_empty_forward();
    }

    fn next(&mut self) {
        if !self.valid() {
            return;
        }
        if let Some(t) = &mut self.table {
            t.next();
        }
        self.skip_empty_forward();
    }

    fn prev(&mut self) {
        if !self.valid() {
            return;
        }
        if let Some(t) = &mut self.table {
            t.prev();
        }
        self.skip_empty_backward();
    }

    fn key(&self) -> &[u8] {
        self.table.as_ref().expect("valid level iterator").key()
    }

    fn value(&self) -> &[u8] {
        self.table.as_ref().expect("valid level iterator").value()
    }

    fn status(&self) -> Result<()> {
        if let Some(e) = &self.error {
            return Err(e.duplicate());
        }
        match &self.table {
            Some(t) => t.status(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{FileSystem, MemFileSystem};
    use crate::iterator::merging::testing::{Rng, VecIter};
    use crate::key::{make_internal_key, seek_key, ValueKind};
    use crate::options::Options;
    use crate::sstable::{Table, TableBuilder, TableOptions};
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering as AtOrd};
    use std::sync::Mutex;

    type Entries = Vec<(Vec<u8>, Vec<u8>)>;

    fn meta(number: u64, entries: &Entries, smallest: &[u8], largest: &[u8]) -> FileMetaData {
        FileMetaData {
            number,
            file_size: 0,
            smallest: smallest.to_vec(),
            largest: largest.to_vec(),
            smallest_seq: 0,
            largest_seq: 0,
            num_entries: entries.len() as u64,
            num_deletions: 0,
            num_range_deletions: 0,
        }
    }

    /// A level of Vec-backed "tables", keyed by file number, plus a counter of how many
    /// tables are open at once (the iterator promises one).
    struct FakeLevel {
        files: Vec<Arc<FileMetaData>>,
        tables: Arc<Vec<Entries>>,
        open_now: Arc<AtomicUsize>,
        max_open: Arc<AtomicUsize>,
        fail_open: Option<u64>,
    }

    /// Counts itself in `open_now` while alive.
    struct Counted {
        inner: VecIter,
        open_now: Arc<AtomicUsize>,
    }
    impl Drop for Counted {
        fn drop(&mut self) {
            self.open_now.fetch_sub(1, AtOrd::SeqCst);
        }
    }
    impl InternalIterator for Counted {
        fn valid(&self) -> bool {
            self.inner.valid()
        }
        fn seek_to_first(&mut self) {
            self.inner.seek_to_first()
        }
        fn seek_to_last(&mut self) {
            self.inner.seek_to_last()
        }
        fn seek(&mut self, t: &[u8]) {
            self.inner.seek(t)
        }
        fn next(&mut self) {
            self.inner.next()
        }
        fn prev(&mut self) {
            self.inner.prev()
        }
        fn key(&self) -> &[u8] {
            self.inner.key()
        }
        fn value(&self) -> &[u8] {
            self.inner.value()
        }
        fn status(&self) -> Result<()> {
            self.inner.status()
        }
    }

    impl FakeLevel {
        /// Files holding `tables`, none of them empty; the bounds are their first and last
        /// keys.
        fn new(tables: Vec<Entries>) -> Self {
            let bounds = tables
                .iter()
                .map(|t| (t[0].0.clone(), t[t.len() - 1].0.clone()))
                .collect();
            Self::with_bounds(tables, bounds)
        }

        /// Files holding `tables` with the given `(smallest, largest)` bounds, so a file may
        /// be empty yet cover a key range (as a table does whose entries a reader's view
        /// hides; and the skipping loops must handle it).
        fn with_bounds(tables: Vec<Entries>, bounds: Vec<(Vec<u8>, Vec<u8>)>) -> Self {
            let files = tables
                .iter()
                .zip(bounds)
                .enumerate()
                .map(|(n, (t, (s, l)))| Arc::new(meta(n as u64, t, &s, &l)))
                .collect();
            FakeLevel {
                files,
                tables: Arc::new(tables),
                open_now: Arc::new(AtomicUsize::new(0)),
                max_open: Arc::new(AtomicUsize::new(0)),
                fail_open: None,
            }
        }

        fn iter(&self) -> LevelIterator {
            let tables = self.tables.clone();
            let open_now = self.open_now.clone();
            let max_open = self.max_open.clone();
            let fail_open = self.fail_open;
            let open: TableOpener = Arc::new(move |f: &FileMetaData| {
                if Some(f.number) == fail_open {
                    return Err(Error::corruption(format!("{}.sst", f.number), 0, "bad"));
                }
                let n = open_now.fetch_add(1, AtOrd::SeqCst) + 1;
                max_open.fetch_max(n, AtOrd::SeqCst);
                Ok(Box::new(Counted {
                    inner: VecIter::new(tables[f.number as usize].clone()),
                    open_now: open_now.clone(),
                }) as Box<dyn InternalIterator>)
            });
            LevelIterator::new(self.files.clone(), open)
        }
    }

    /// A random level: disjoint files over user keys `k0000..`, some of them empty (with a
    /// key range of their own), and the concatenation of their entries.
    fn random_level(rng: &mut Rng) -> (FakeLevel, Entries) {
        let nfiles = rng.below(8);
        let mut tables = Vec::new();
        let mut bounds = Vec::new();
        let mut all = Vec::new();
        let mut k = 0u32;
        for _ in 0..nfiles {
            if rng.below(4) == 0 {
                k += 2;
                let lo = make_internal_key(format!("k{:04}", k - 1).as_bytes(), 1, ValueKind::Put);
                let hi = make_internal_key(format!("k{k:04}").as_bytes(), 1, ValueKind::Put);
                tables.push(Vec::new());
                bounds.push((lo, hi));
                continue;
            }
            let n = 1 + rng.below(12);
            let mut t = Vec::new();
            for _ in 0..n {
                k += 1 + rng.below(3) as u32;
                let uk = format!("k{k:04}");
                // Sometimes several versions of one key, all in this file (a level never
                // splits one user key's versions across files).
                let versions = 1 + rng.below(3) as u64;
                for s in (0..versions).rev() {
                    let e = (
                        make_internal_key(uk.as_bytes(), 10 + s, ValueKind::Put),
                        format!("{uk}@{s}").into_bytes(),
                    );
                    t.push(e.clone());
                    all.push(e);
                }
            }
            bounds.push((t[0].0.clone(), t[t.len() - 1].0.clone()));
            tables.push(t);
        }
        (FakeLevel::with_bounds(tables, bounds), all)
    }

    fn forward(it: &mut LevelIterator) -> Entries {
        let mut v = Vec::new();
        it.seek_to_first();
        while it.valid() {
            v.push((it.key().to_vec(), it.value().to_vec()));
            it.next();
        }
        v
    }

    fn backward(it: &mut LevelIterator) -> Entries {
        let mut v = Vec::new();
        it.seek_to_last();
        while it.valid() {
            v.push((it.key().to_vec(), it.value().to_vec()));
            it.prev();
        }
        v.reverse();
        v
    }

    #[test]
    fn random_levels_match_concatenation_with_one_table_open() {
        for seed in 0..200u64 {
            let mut rng = Rng::new(seed);
            let (level, all) = random_level(&mut rng);
            let mut it = level.iter();
            assert_eq!(forward(&mut it), all, "seed {seed}");
            assert_eq!(backward(&mut it), all, "seed {seed}");
            // A random walk against the model position.
            let mut model: Option<usize> = None;
            for step in 0..200 {
                match rng.below(6) {
                    0 => {
                        it.seek_to_first();
                        model = (!all.is_empty()).then_some(0);
                    }
                    1 => {
                        it.seek_to_last();
                        model = all.len().checked_sub(1);
                    }
                    2 => {
                        let uk = format!("k{:04}", rng.below(200));
                        let target = seek_key(uk.as_bytes(), 9 + rng.below(4) as u64);
                        it.seek(&target);
                        let i = all.partition_point(|(k, _)| {
                            compare_internal_keys(k, &target) == Ordering::Less
                        });
                        model = (i < all.len()).then_some(i);
                    }
                    3 | 4 => {
                        if let Some(i) = model {
                            it.next();
                            model = (i + 1 < all.len()).then_some(i + 1);
                        }
                    }
                    _ => {
                        if let Some(i) = model {
                            it.prev();
                            model = i.checked_sub(1);
                        }
                    }
                }
                assert_eq!(it.valid(), model.is_some(), "seed {seed} step {step}");
                if let Some(i) = model {
                    assert_eq!(it.key(), &all[i].0[..], "seed {seed} step {step}");
                    assert_eq!(it.value(), &all[i].1[..], "seed {seed} step {step}");
                }
            }
            assert!(it.status().is_ok());
            assert!(level.max_open.load(AtOrd::SeqCst) <= 1, "seed {seed}");
        }
    }

    fn table_of(keys: &[&str]) -> Entries {
        keys.iter()
            .map(|k| {
                (
                    make_internal_key(k.as_bytes(), 5, ValueKind::Put),
                    k.as_bytes().to_vec(),
                )
            })
            .collect()
    }

    fn user_keys(e: &Entries) -> Vec<String> {
        e.iter()
            .map(|(k, _)| String::from_utf8(crate::key::user_key(k).to_vec()).unwrap())
            .collect()
    }

    /// Files whose manifest range is non-empty but that hold nothing (possible for a table
    /// read through a filter, and a case the skipping loops must handle in both directions),
    /// between, before and after non-empty ones.
    #[test]
    fn empty_files_are_skipped_both_ways() {
        let b = |k: &str| make_internal_key(k.as_bytes(), 5, ValueKind::Put);
        let tables = vec![
            Vec::new(),
            table_of(&["b", "c"]),
            Vec::new(),
            Vec::new(),
            table_of(&["g"]),
            Vec::new(),
        ];
        let bounds = vec![
            (b("a"), b("a1")),
            (b("b"), b("c")),
            (b("d"), b("d1")),
            (b("e"), b("e1")),
            (b("g"), b("g")),
            (b("h"), b("h1")),
        ];
        let level = FakeLevel::with_bounds(tables, bounds);
        let mut it = level.iter();
        assert_eq!(user_keys(&forward(&mut it)), ["b", "c", "g"]);
        assert_eq!(user_keys(&backward(&mut it)), ["b", "c", "g"]);
        // A seek into an empty file lands on the next non-empty one.
        it.seek(&seek_key(b"d", 100));
        assert_eq!(crate::key::user_key(it.key()), b"g");
        it.prev();
        assert_eq!(crate::key::user_key(it.key()), b"c");
        it.next();
        assert_eq!(crate::key::user_key(it.key()), b"g");
        it.next();
        assert!(!it.valid());
        it.seek(&seek_key(b"h", 100));
        assert!(!it.valid());
        it.seek(&seek_key(b"0", 100));
        assert_eq!(crate::key::user_key(it.key()), b"b");
        it.prev();
        assert!(!it.valid());
        assert!(it.status().is_ok());

        // A level of only empty files, and a level of no files.
        let all_empty = FakeLevel::with_bounds(
            vec![Vec::new(), Vec::new()],
            vec![(b("a"), b("b")), (b("c"), b("d"))],
        );
        let mut it = all_empty.iter();
        assert!(forward(&mut it).is_empty());
        assert!(backward(&mut it).is_empty());
        it.seek(&seek_key(b"a", 9));
        assert!(!it.valid());
        let mut it = FakeLevel::new(Vec::new()).iter();
        assert!(forward(&mut it).is_empty());
        assert!(backward(&mut it).is_empty());
        assert!(it.status().is_ok());
    }

    /// Seeks to keys between two files, on a file's last key, and on versions of a key
    /// older/newer than the ones stored.
    #[test]
    fn seeks_between_and_at_file_boundaries() {
        let level = FakeLevel::new(vec![table_of(&["a", "c"]), table_of(&["e", "g"])]);
        let mut it = level.iter();
        let at = |it: &LevelIterator| {
            it.valid()
                .then(|| String::from_utf8(crate::key::user_key(it.key()).to_vec()).unwrap())
        };
        it.seek(&seek_key(b"d", 100));
        assert_eq!(at(&it).as_deref(), Some("e"));
        it.seek(&seek_key(b"c", 100));
        assert_eq!(at(&it).as_deref(), Some("c"));
        // "c" stored at seq 5: a seek at seq 4 is past it (older entries sort after).
        it.seek(&seek_key(b"c", 4));
        assert_eq!(at(&it).as_deref(), Some("e"));
        it.prev();
        assert_eq!(at(&it).as_deref(), Some("c"));
        it.seek(&seek_key(b"g", 4));
        assert_eq!(at(&it), None);
        it.seek(&seek_key(b"g", 5));
        assert_eq!(at(&it).as_deref(), Some("g"));
    }

    #[test]
    fn open_and_read_errors_are_sticky() {
        let tables = vec![table_of(&["a", "b"]), table_of(&["c"]), table_of(&["d"])];
        let mut level = FakeLevel::new(tables);
        level.fail_open = Some(1);
        let mut it = level.iter();
        it.seek_to_first();
        assert_eq!(crate::key::user_key(it.key()), b"a");
        it.next();
        it.next(); // Into file 1, whose open fails.
        assert!(!it.valid());
        assert!(it.status().unwrap_err().is_corruption());
        // Sticky: a later seek does not silently skip the bad file.
        it.seek_to_first();
        assert!(!it.valid());
        assert!(it.status().is_err());

        // Going backwards into it, and seeking straight into it.
        let mut it = level.iter();
        it.seek_to_last();
        it.prev();
        assert!(!it.valid());
        assert!(it.status().is_err());
        let mut it = level.iter();
        it.seek(&seek_key(b"c", 100));
        assert!(!it.valid());
        assert!(it.status().is_err());

        // A table iterator that fails part way stops the level iterator too.
        let tables = Arc::new(vec![table_of(&["a", "b"]), table_of(&["c", "d"])]);
        let files: Vec<_> = tables
            .iter()
            .enumerate()
            .map(|(n, t)| Arc::new(meta(n as u64, t, &t[0].0, &t[t.len() - 1].0)))
            .collect();
        let t2 = tables.clone();
        let open: TableOpener = Arc::new(move |f: &FileMetaData| {
            let it = VecIter::new(t2[f.number as usize].clone());
            Ok(Box::new(if f.number == 0 { it.failing_at(1) } else { it })
                as Box<dyn InternalIterator>)
        });
        let mut it = LevelIterator::new(files, open);
        it.seek_to_first();
        assert!(it.valid());
        it.next();
        assert!(!it.valid());
        assert!(it.status().is_err());
    }

    /// Real tables written with the `TableBuilder` into a `MemFileSystem`, opened through
    /// the opener: the level iterator composes with the table iterator.
    #[test]
    fn over_real_tables() {
        let fs = Arc::new(MemFileSystem::new());
        let dir = PathBuf::from("/lvl");
        fs.create_dir_all(&dir).unwrap();
        let topts = TableOptions::from_options(&Options::default().block_size(256));
        // (Small blocks: each table spans several, so both iterator levels are exercised.)
        let mut files = Vec::new();
        let mut all = Vec::new();
        for n in 0..5u64 {
            let path = dir.join(format!("{n:06}.sst"));
            let mut b =
                TableBuilder::new(topts, fs.create(&path).unwrap(), path.display().to_string());
            let mut entries = Vec::new();
            for i in 0..100u64 {
                let uk = format!("key{:06}", n * 1000 + i * 7);
                let e = (
                    make_internal_key(uk.as_bytes(), n * 1000 + i + 1, ValueKind::Put),
                    format!("value-{n}-{i}").into_bytes(),
                );
                b.add(&e.0, &e.1).unwrap();
                entries.push(e);
            }
            b.finish().unwrap();
            files.push(Arc::new(meta(
                n,
                &entries,
                &entries[0].0,
                &entries[entries.len() - 1].0,
            )));
            all.extend(entries);
        }
        let opened = Arc::new(Mutex::new(Vec::new()));
        let (fs2, dir2, opened2) = (fs.clone(), dir.clone(), opened.clone());
        let open: TableOpener = Arc::new(move |f: &FileMetaData| {
            opened2.lock().unwrap().push(f.number);
            let path: PathBuf = dir2.join(format!("{:06}.sst", f.number));
            let file = fs2.open(Path::new(&path))?;
            let table = Arc::new(Table::open(file, &path.display().to_string())?);
            Ok(Box::new(table.iter()) as Box<dyn InternalIterator>)
        });
        let mut it = LevelIterator::new(files, open);
        assert_eq!(forward(&mut it), all);
        assert_eq!(backward(&mut it), all);
        // A point seek opens only the one file that can hold the key.
        opened.lock().unwrap().clear();
        it.seek(&seek_key(b"key003350", 100_000));
        assert_eq!(crate::key::user_key(it.key()), b"key003350");
        assert_eq!(*opened.lock().unwrap(), vec![3]);
    }
}
