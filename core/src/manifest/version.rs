//! [`Version`]: the set of SSTables of each level at one moment, and [`FileMetaData`], what the
//! manifest records about one table.

use std::sync::Arc;

use crate::key::{compare_internal_keys, user_key};

/// Number of levels, L0 to L6 (LevelDB's and RocksDB's default).
pub const NUM_LEVELS: usize = 7;

/// What the manifest records about one SSTable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMetaData {
    /// File number: the table is `NNNNNN.sst`.
    pub number: u64,
    /// Size of the file in bytes.
    pub file_size: u64,
    /// Smallest internal key in the table.
    pub smallest: Vec<u8>,
    /// Largest internal key in the table.
    pub largest: Vec<u8>,
    /// Smallest sequence number of its entries.
    pub smallest_seq: u64,
    /// Largest sequence number of its entries.
    pub largest_seq: u64,
    /// Number of entries (values and tombstones).
    pub num_entries: u64,
    /// Number of tombstones.
    pub num_deletions: u64,
}

impl FileMetaData {
    /// The user-key part of [`smallest`](Self::smallest).
    pub fn smallest_user_key(&self) -> &[u8] {
        user_key(&self.smallest)
    }
    /// The user-key part of [`largest`](Self::largest).
    pub fn largest_user_key(&self) -> &[u8] {
        user_key(&self.largest)
    }
}

/// The SSTables of every level. Immutable once built; shared as `Arc<Version>` by readers,
/// so a reader keeps the files it started with.
///
/// L0 files come from flushes and may overlap; they are ordered newest first (largest
/// sequence number first). Files of L1 and below do not overlap within their level and are
/// ordered by key range.
#[derive(Debug, Clone, Default)]
pub struct Version {
    pub(crate) levels: [Vec<Arc<FileMetaData>>; NUM_LEVELS],
}

impl Version {
    /// The files of `level` in the order described on [`Version`]. Empty for a level out of
    /// range.
    pub fn files(&self, level: usize) -> &[Arc<FileMetaData>] {
        self.levels.get(level).map(|v| v.as_slice()).unwrap_or(&[])
    }

    /// Number of files in `level`.
    pub fn num_files(&self, level: usize) -> usize {
        self.files(level).len()
    }

    /// Total bytes of the files in `level`.
    pub fn level_bytes(&self, level: usize) -> u64 {
        self.files(level).iter().map(|f| f.file_size).sum()
    }

    /// Every file of every level.
    pub fn live_files(&self) -> impl Iterator<Item = &Arc<FileMetaData>> {
        self.levels.iter().flatten()
    }

    /// Files of `level` whose user-key range intersects `[smallest, largest]`.
    pub fn overlapping_files(
        &self,
        level: usize,
        smallest: &[u8],
        largest: &[u8],
    ) -> Vec<Arc<FileMetaData>> {
        self.files(level)
            .iter()
            .filter(|f| f.largest_user_key() >= smallest && f.smallest_user_key() <= largest)
            .cloned()
            .collect()
    }

    /// The one file of `level` (1 or deeper) whose range may hold `user_key`, by binary
    /// search on the files' largest keys.
    pub fn find_file(&self, level: usize, user_key_wanted: &[u8]) -> Option<&Arc<FileMetaData>> {
        debug_assert!(level > 0, "L0 files overlap; search them all");
        let files = self.files(level);
        let i = files.partition_point(|f| f.largest_user_key() < user_key_wanted);
        files
            .get(i)
            .filter(|f| f.smallest_user_key() <= user_key_wanted)
    }

    /// Puts each level in its documented order.
    pub(crate) fn sort_levels(&mut self) {
        self.levels[0].sort_by(|a, b| {
            b.largest_seq
                .cmp(&a.largest_seq)
                .then_with(|| b.number.cmp(&a.number))
        });
        for level in self.levels.iter_mut().skip(1) {
            level.sort_by(|a, b| compare_internal_keys(&a.smallest, &b.smallest));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{make_internal_key, ValueKind};

    fn file(number: u64, lo: &str, hi: &str, seq: u64) -> Arc<FileMetaData> {
        Arc::new(FileMetaData {
            number,
            file_size: 100,
            smallest: make_internal_key(lo.as_bytes(), seq, ValueKind::Put),
            largest: make_internal_key(hi.as_bytes(), seq, ValueKind::Put),
            smallest_seq: seq,
            largest_seq: seq,
            num_entries: 1,
            num_deletions: 0,
        })
    }

    #[test]
    fn ordering_overlap_and_find() {
        let mut v = Version::default();
        v.levels[0] = vec![file(1, "a", "z", 5), file(2, "b", "c", 9)];
        v.levels[1] = vec![
            file(4, "m", "p", 1),
            file(3, "a", "f", 1),
            file(5, "q", "t", 1),
        ];
        v.sort_levels();
        assert_eq!(v.files(0)[0].number, 2, "newest L0 first");
        let l1: Vec<u64> = v.files(1).iter().map(|f| f.number).collect();
        assert_eq!(l1, vec![3, 4, 5]);
        assert_eq!(v.find_file(1, b"c").map(|f| f.number), Some(3));
        assert_eq!(v.find_file(1, b"g"), None);
        assert_eq!(v.find_file(1, b"p").map(|f| f.number), Some(4));
        assert_eq!(v.find_file(1, b"u"), None);
        let o: Vec<u64> = v
            .overlapping_files(1, b"e", b"n")
            .iter()
            .map(|f| f.number)
            .collect();
        assert_eq!(o, vec![3, 4]);
        assert_eq!(v.level_bytes(1), 300);
        assert_eq!(v.live_files().count(), 5);
    }
}
