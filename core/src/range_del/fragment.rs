//! [`FragmentedTombstones`]: overlapping range tombstones cut into disjoint fragments.
//!
//! RocksDB's `FragmentedRangeTombstoneList` does the same: every start and end of the input
//! is a cut point, and each piece between two neighbouring cut points that some tombstone
//! covers becomes a fragment listing the sequence numbers of all tombstones covering it.
//! Fragments are sorted and disjoint, so the tombstones covering a key are found by one
//! binary search, and neighbouring pieces with the same sequence numbers are merged.
//!
//! Building costs O(n log n) for n tombstones plus the size of the output (each tombstone
//! appears in every fragment it spans); range deletions are rare next to point writes, and
//! the result is cached per memtable and per version.

use super::RangeTombstone;
use crate::key::SequenceNumber;

/// A piece `[start, end)` of the key space and the tombstones that cover all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// First key of the piece (inclusive).
    pub start: Vec<u8>,
    /// First key after it (exclusive).
    pub end: Vec<u8>,
    /// Sequence numbers of the tombstones covering the piece, newest first, no repeats.
    pub seqs: Vec<SequenceNumber>,
}

impl Fragment {
    /// The newest tombstone sequence number visible to a reader at `read_seq`.
    pub fn newest_visible(&self, read_seq: SequenceNumber) -> Option<SequenceNumber> {
        let i = self.seqs.partition_point(|&s| s > read_seq);
        self.seqs.get(i).copied()
    }

    /// True if a tombstone of this fragment visible at `read_seq` is newer than `entry_seq`,
    /// i.e. it deletes an entry of that sequence number for that reader.
    pub fn deletes(&self, entry_seq: SequenceNumber, read_seq: SequenceNumber) -> bool {
        self.newest_visible(read_seq).is_some_and(|t| t > entry_seq)
    }
}

/// Range tombstones as sorted, disjoint [`Fragment`]s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FragmentedTombstones {
    fragments: Vec<Fragment>,
}

impl FragmentedTombstones {
    /// No tombstones.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Fragments `tombstones` (any order, may overlap; empty ranges are ignored).
    pub fn new<'a>(tombstones: impl IntoIterator<Item = &'a RangeTombstone>) -> Self {
        let tombstones: Vec<&RangeTombstone> =
            tombstones.into_iter().filter(|t| t.start < t.end).collect();
        if tombstones.is_empty() {
            return Self::empty();
        }
        let mut cuts: Vec<&[u8]> = tombstones
            .iter()
            .flat_map(|t| [t.start.as_slice(), t.end.as_slice()])
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        // seqs[i]: the tombstones covering [cuts[i], cuts[i + 1]).
        let mut seqs: Vec<Vec<SequenceNumber>> = vec![Vec::new(); cuts.len() - 1];
        for t in &tombstones {
            let from = cuts.partition_point(|c| *c < t.start.as_slice());
            let to = cuts.partition_point(|c| *c < t.end.as_slice());
            for s in &mut seqs[from..to] {
                s.push(t.seq);
            }
        }
        let mut fragments: Vec<Fragment> = Vec::new();
        for (i, mut s) in seqs.into_iter().enumerate() {
            if s.is_empty() {
                continue;
            }
            s.sort_unstable_by(|a, b| b.cmp(a));
            s.dedup();
            match fragments.last_mut() {
                Some(last) if last.end.as_slice() == cuts[i] && last.seqs == s => {
                    last.end = cuts[i + 1].to_vec();
                }
                _ => fragments.push(Fragment {
                    start: cuts[i].to_vec(),
                    end: cuts[i + 1].to_vec(),
                    seqs: s,
                }),
            }
        }
        FragmentedTombstones { fragments }
    }

    /// True if there is no tombstone.
    pub fn is_empty(&self) -> bool {
        self.fragments.is_empty()
    }

    /// The fragments, in key order.
    pub fn fragments(&self) -> &[Fragment] {
        &self.fragments
    }

    /// The fragment containing `user_key`, if any.
    pub fn fragment_at(&self, user_key: &[u8]) -> Option<&Fragment> {
        let i = self
            .fragments
            .partition_point(|f| f.end.as_slice() <= user_key);
        self.fragments
            .get(i)
            .filter(|f| f.start.as_slice() <= user_key)
    }

    /// The newest tombstone covering `user_key` that a reader at `read_seq` sees.
    pub fn max_covering_seq(
        &self,
        user_key: &[u8],
        read_seq: SequenceNumber,
    ) -> Option<SequenceNumber> {
        self.fragment_at(user_key)?.newest_visible(read_seq)
    }

    /// The fragment whose tombstones delete `user_key@entry_seq` for a reader at
    /// `read_seq`, if any.
    pub fn deleting(
        &self,
        user_key: &[u8],
        entry_seq: SequenceNumber,
        read_seq: SequenceNumber,
    ) -> Option<&Fragment> {
        self.fragment_at(user_key)
            .filter(|f| f.deletes(entry_seq, read_seq))
    }

    /// Every `(fragment, seq)` pair as a tombstone, in key order: a set of disjoint-by-range
    /// tombstones that deletes exactly what the input did.
    pub fn tombstones(&self) -> impl Iterator<Item = RangeTombstone> + '_ {
        self.fragments.iter().flat_map(|f| {
            f.seqs
                .iter()
                .map(move |&s| RangeTombstone::new(&f.start, &f.end, s))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(start: &str, end: &str, seq: u64) -> RangeTombstone {
        RangeTombstone::new(start.as_bytes(), end.as_bytes(), seq)
    }

    #[test]
    fn overlapping_tombstones_become_disjoint_fragments() {
        let f = FragmentedTombstones::new(&[t("c", "g", 5), t("a", "e", 9), t("x", "x", 3)]);
        let got: Vec<(&[u8], &[u8], Vec<u64>)> = f
            .fragments()
            .iter()
            .map(|f| (f.start.as_slice(), f.end.as_slice(), f.seqs.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (&b"a"[..], &b"c"[..], vec![9]),
                (&b"c"[..], &b"e"[..], vec![9, 5]),
                (&b"e"[..], &b"g"[..], vec![5]),
            ]
        );
        assert_eq!(f.max_covering_seq(b"d", 100), Some(9));
        assert_eq!(f.max_covering_seq(b"d", 8), Some(5));
        assert_eq!(f.max_covering_seq(b"d", 4), None);
        assert_eq!(f.max_covering_seq(b"g", 100), None);
        assert!(f.deleting(b"f", 4, 10).is_some());
        assert!(
            f.deleting(b"f", 5, 10).is_none(),
            "a tombstone never deletes its own seq"
        );
    }

    #[test]
    fn touching_pieces_with_equal_seqs_merge() {
        let f = FragmentedTombstones::new(&[t("a", "c", 4), t("c", "e", 4)]);
        assert_eq!(f.fragments().len(), 1);
        assert_eq!(f.fragments()[0].end, b"e");
    }

    proptest! {
        #[test]
        fn fragments_answer_like_the_tombstones(
            ts in prop::collection::vec((0u8..20, 0u8..20, 1u64..30), 0..12),
            key in 0u8..22,
            read in 0u64..32,
        ) {
            let ts: Vec<RangeTombstone> = ts
                .into_iter()
                .map(|(a, b, s)| RangeTombstone::new(&[a], &[b], s))
                .collect();
            let f = FragmentedTombstones::new(&ts);
            let expected = ts
                .iter()
                .filter(|t| t.contains(&[key]) && t.seq <= read)
                .map(|t| t.seq)
                .max();
            prop_assert_eq!(f.max_covering_seq(&[key], read), expected);
            for w in f.fragments().windows(2) {
                prop_assert!(w[0].end <= w[1].start);
            }
            let again = FragmentedTombstones::new(&f.tombstones().collect::<Vec<_>>());
            prop_assert_eq!(again, f);
        }
    }
}
