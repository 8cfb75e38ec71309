//! [`MergingIterator`]: one sorted stream out of several sorted children.
//!
//! The children are the memtable, the immutable memtables and the SSTables (or levels) of a
//! version, each sorted by internal key. Because internal keys are unique (every write has its
//! own sequence number), the merge needs no tie-breaking beyond the key order.
//!
//! # Algorithm
//!
//! The valid children are kept in a binary heap of child indices keyed by each child's
//! current internal key (RocksDB's `table/merging_iterator.cc`): a min-heap while moving
//! forward, a max-heap while moving backward. The top of the heap is the current child, so
//! `key`/`value` are O(1), and a step is O(log n): advance the top child, then sift it down to
//! its new place (or pop it if it ran out). LevelDB's `table/merger.cc` instead scans every
//! child on every step, O(n); that is fine for the handful of sources of a point in time, but
//! a scan runs over every L0 file and every memtable, and an L0 backlog or tiered compaction
//! makes n large exactly when reads are already slow, so the heap is worth its few lines.
//!
//! # Changing direction
//!
//! Moving forward, every non-current child sits on its first entry *after* the current key
//! (the entries before were already produced); moving backward, on its last entry *before*
//! it. A `prev` after a `next` (or the reverse) must restore that invariant for the new
//! direction: every non-current child is repositioned — for `prev` on its last entry `<` the
//! current key (seek, then one step back, or its last entry if the seek ran off the end), for
//! `next` on its first entry `>` it (seek, then one step on if it landed on the key itself) —
//! and the heap is rebuilt with the other ordering. That costs O(n) seeks, but only when the
//! direction changes, which scans rarely do. A child may be the active memtable, which gains
//! entries while it is read; an entry inserted between the seek and the step (into a child
//! that was past its end at the seek, say) can leave the child on the wrong side of the key,
//! so each child steps on until it is strictly on the right side.
//!
//! # Errors and allocation
//!
//! Children report errors by becoming invalid with an error `status()`. The merge checks a
//! child's status whenever the child becomes invalid; after that the merge is invalid (it
//! must not look complete when a source failed part way) and [`status`](InternalIterator::status)
//! returns the first child's error. The heap and the key buffer used for direction changes
//! are allocated once, in [`MergingIterator::new`], so stepping never allocates.

use std::cmp::Ordering;

use crate::error::Result;
use crate::iterator::InternalIterator;
use crate::key::compare_internal_keys;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forward,
    Reverse,
}

/// Merges children sorted by internal key into one sorted stream, forwards and backwards.
///
/// The valid children sit in a binary heap keyed by their current keys (a min-heap going
/// forward, a max-heap going backward; RocksDB's `merging_iterator.cc`), so a step costs
/// O(log n) for n children and never allocates. Changing direction repositions every other
/// child around the current key and rebuilds the heap, O(n). If a child stops on an error,
/// the merge turns invalid and `status()` returns the error.
pub struct MergingIterator {
    children: Vec<Box<dyn InternalIterator>>,
    /// Indices of the valid children, a binary heap ordered by `direction`: its top (index
    /// 0) is the current child.
    heap: Vec<usize>,
    direction: Direction,
    /// Set when a child stopped on an error: the merge is then invalid.
    failed: bool,
    /// Copy of the current key while children are repositioned for a direction change
    /// (the current child's key cannot be borrowed while other children move). Reused.
    key_buf: Vec<u8>,
}

impl MergingIterator {
    /// Merges `children`; the result is unpositioned until a seek.
    pub fn new(children: Vec<Box<dyn InternalIterator>>) -> Self {
        let n = children.len();
        MergingIterator {
            children,
            heap: Vec::with_capacity(n),
            direction: Direction::Forward,
            failed: false,
            key_buf: Vec::new(),
        }
    }

    /// True if child `a` belongs above child `b` in the heap: a smaller key going forward, a
    /// larger one going backward.
    #[inline]
    fn before(&self, a: usize, b: usize) -> bool {
        let o = compare_internal_keys(self.children[a].key(), self.children[b].key());
        match self.direction {
            Direction::Forward => o == Ordering::Less,
            Direction::Reverse => o == Ordering::Greater,
        }
    }

    /// Moves the heap entry at `pos` down until both its children come after it.
    fn sift_down(&mut self, mut pos: usize) {
        let len = self.heap.len();
        loop {
            let l = 2 * pos + 1;
            if l >= len {
                return;
            }
            let r = l + 1;
            let best = if r < len && self.before(self.heap[r], self.heap[l]) {
                r
            } else {
                l
            };
            if !self.before(self.heap[best], self.heap[pos]) {
                return;
            }
            self.heap.swap(pos, best);
            pos = best;
        }
    }

    /// Rebuilds the heap from every valid child, in the current direction (O(n), Floyd's
    /// heap construction), and records whether a child stopped on an error. Called after every
    /// child was repositioned: seeks and direction changes.
    fn rebuild_heap(&mut self) {
        self.heap.clear();
        self.failed = false;
        for (i, c) in self.children.iter().enumerate() {
            if c.valid() {
                self.heap.push(i);
            } else if c.status().is_err() {
                self.failed = true;
            }
        }
        for pos in (0..self.heap.len() / 2).rev() {
            self.sift_down(pos);
        }
    }

    /// After the top child moved: sift it to its new place, or pop it if it ran out (noting
    /// an error if that is why).
    fn fix_top(&mut self) {
        let top = self.heap[0];
        if self.children[top].valid() {
            self.sift_down(0);
        } else {
            if self.children[top].status().is_err() {
                self.failed = true;
            }
            let last = self.heap.len() - 1;
            self.heap.swap(0, last);
            self.heap.pop();
            self.sift_down(0);
        }
    }

    /// Repositions every child but the current one for the other direction (see "Changing
    /// direction" in the module docs), then rebuilds the heap in that direction.
    fn switch_direction(&mut self, to: Direction) {
        let cur = self.heap[0];
        let mut key = std::mem::take(&mut self.key_buf);
        key.clear();
        key.extend_from_slice(self.children[cur].key());
        for (i, c) in self.children.iter_mut().enumerate() {
            if i == cur {
                continue;
            }
            c.seek(&key);
            match to {
                Direction::Forward => {
                    // Keys are unique, so only a child holding this very entry lands on it.
                    while c.valid() && compare_internal_keys(c.key(), &key) != Ordering::Greater {
                        c.next();
                    }
                }
                Direction::Reverse => {
                    if c.valid() {
                        c.prev();
                    } else if c.status().is_ok() {
                        // Every entry of the child was before the key.
                        c.seek_to_last();
                    }
                    // The active memtable gains entries while we read it: one inserted
                    // between the seek and `seek_to_last` can be after the key. Step back
                    // over such entries (RocksDB's memtable `SeekForPrev` does the same),
                    // else that child would top the heap and the merge would go forwards.
                    while c.valid() && compare_internal_keys(c.key(), &key) != Ordering::Less {
                        c.prev();
                    }
                }
            }
        }
        self.key_buf = key;
        self.direction = to;
        self.rebuild_heap();
        // The current child is strictly first in the new order, so it stays on top.
        debug_assert!(self.failed || self.heap.first() == Some(&cur));
    }
}

impl InternalIterator for MergingIterator {
    fn valid(&self) -> bool {
        !self.heap.is_empty() && !self.failed
    }

    fn seek_to_first(&mut self) {
        for c in &mut self.children {
            c.seek_to_first();
        }
        self.direction = Direction::Forward;
        self.rebuild_heap();
    }

    fn seek_to_last(&mut self) {
        for c in &mut self.children {
            c.seek_to_last();
        }
        self.direction = Direction::Reverse;
        self.rebuild_heap();
    }

    fn seek(&mut self, target: &[u8]) {
        for c in &mut self.children {
            c.seek(target);
        }
        self.direction = Direction::Forward;
        self.rebuild_heap();
    }

    fn next(&mut self) {
        if !self.valid() {
            return;
        }
        if self.direction != Direction::Forward {
            self.switch_direction(Direction::Forward);
            if !self.valid() {
                return;
            }
        }
        let top = self.heap[0];
        self.children[top].next();
        self.fix_top();
    }

    fn prev(&mut self) {
        if !self.valid() {
            return;
        }
        if self.direction != Direction::Reverse {
            self.switch_direction(Direction::Reverse);
            if !self.valid() {
                return;
            }
        }
        let top = self.heap[0];
        self.children[top].prev();
        self.fix_top();
    }

    fn key(&self) -> &[u8] {
        debug_assert!(self.valid());
        self.children[self.heap[0]].key()
    }

    fn value(&self) -> &[u8] {
        debug_assert!(self.valid());
        self.children[self.heap[0]].value()
    }

    fn status(&self) -> Result<()> {
        for c in &self.children {
            c.status()?;
        }
        Ok(())
    }
}

/// A `Vec`-backed [`InternalIterator`] for tests of the iterators built on top of others.
#[cfg(test)]
pub(crate) mod testing {
    use crate::error::{Error, Result};
    use crate::iterator::InternalIterator;
    use crate::key::compare_internal_keys;

    /// Iterates sorted `(internal key, value)` pairs. With `fail_at = Some(i)`, landing on
    /// entry `i` fails instead: the iterator turns invalid with a sticky corruption error,
    /// like a table whose block `i` is damaged.
    pub(crate) struct VecIter {
        entries: Vec<(Vec<u8>, Vec<u8>)>,
        pos: Option<usize>,
        fail_at: Option<usize>,
        failed: bool,
    }

    impl VecIter {
        /// `entries` must be sorted by internal key.
        pub(crate) fn new(entries: Vec<(Vec<u8>, Vec<u8>)>) -> Self {
            debug_assert!(entries
                .windows(2)
                .all(|w| compare_internal_keys(&w[0].0, &w[1].0).is_lt()));
            VecIter {
                entries,
                pos: None,
                fail_at: None,
                failed: false,
            }
        }

        /// Fails when the cursor reaches entry `i`.
        pub(crate) fn failing_at(mut self, i: usize) -> Self {
            self.fail_at = Some(i);
            self
        }

        fn go(&mut self, pos: Option<usize>) {
            if self.failed {
                return;
            }
            if pos.is_some() && pos == self.fail_at {
                self.failed = true;
                self.pos = None;
            } else {
                self.pos = pos;
            }
        }
    }

    impl InternalIterator for VecIter {
        fn valid(&self) -> bool {
            self.pos.is_some()
        }
        fn seek_to_first(&mut self) {
            self.go(if self.entries.is_empty() {
                None
            } else {
                Some(0)
            });
        }
        fn seek_to_last(&mut self) {
            self.go(self.entries.len().checked_sub(1));
        }
        fn seek(&mut self, target: &[u8]) {
            let i = self
                .entries
                .partition_point(|(k, _)| compare_internal_keys(k, target).is_lt());
            self.go((i < self.entries.len()).then_some(i));
        }
        fn next(&mut self) {
            let p = self.pos.expect("next on an invalid iterator") + 1;
            self.go((p < self.entries.len()).then_some(p));
        }
        fn prev(&mut self) {
            let p = self.pos.expect("prev on an invalid iterator");
            self.go(p.checked_sub(1));
        }
        fn key(&self) -> &[u8] {
            &self.entries[self.pos.unwrap()].0
        }
        fn value(&self) -> &[u8] {
            &self.entries[self.pos.unwrap()].1
        }
        fn status(&self) -> Result<()> {
            if self.failed {
                return Err(Error::corruption("vec", 0, "injected failure"));
            }
            Ok(())
        }
    }

    /// A small deterministic generator (xorshift64*), so tests need no `rand` dependency
    /// and a failing seed replays exactly.
    pub(crate) struct Rng(u64);

    impl Rng {
        /// A generator from `seed` (any value; 0 is remapped).
        pub(crate) fn new(seed: u64) -> Self {
            Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }
        /// The next 64 random bits.
        pub(crate) fn next_u64(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        /// A number in `0..n` (`n > 0`).
        pub(crate) fn below(&mut self, n: usize) -> usize {
            (self.next_u64() % n as u64) as usize
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{Rng, VecIter};
    use super::*;
    use crate::key::{make_internal_key, seek_key, ValueKind};
    use crate::memtable::MemTable;
    use std::sync::Arc;

    fn collect_forward(it: &mut MergingIterator) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        it.seek_to_first();
        while it.valid() {
            v.push(it.key().to_vec());
            it.next();
        }
        v
    }

    #[test]
    fn merges_and_switches_direction() {
        let a = Arc::new(MemTable::new(1, 1 << 20));
        let b = Arc::new(MemTable::new(2, 1 << 20));
        let mut all = Vec::new();
        for i in 0..50u32 {
            let k = format!("k{:03}", i);
            let t = if i % 3 == 0 { &a } else { &b };
            t.add(i as u64 + 1, ValueKind::Put, k.as_bytes(), b"v");
            all.push(make_internal_key(
                k.as_bytes(),
                i as u64 + 1,
                ValueKind::Put,
            ));
        }
        // Same user key in both children: newest first.
        a.add(100, ValueKind::Put, b"k010", b"new");
        all.push(make_internal_key(b"k010", 100, ValueKind::Put));
        all.sort_by(|x, y| compare_internal_keys(x, y));
        let mut it = MergingIterator::new(vec![Box::new(a.iter()), Box::new(b.iter())]);
        assert_eq!(collect_forward(&mut it), all);

        // Walk backwards from the end.
        let mut back = Vec::new();
        it.seek_to_last();
        while it.valid() {
            back.push(it.key().to_vec());
            it.prev();
        }
        back.reverse();
        assert_eq!(back, all);

        // Zig-zag: next/prev around a middle key returns to the same entries.
        it.seek(&all[20]);
        assert_eq!(it.key(), &all[20][..]);
        it.prev();
        assert_eq!(it.key(), &all[19][..]);
        it.next();
        assert_eq!(it.key(), &all[20][..]);
        it.next();
        assert_eq!(it.key(), &all[21][..]);
    }

    type Entries = Vec<(Vec<u8>, Vec<u8>)>;

    /// `n` random children over a small key space (so user keys repeat across children with
    /// different sequence numbers), and the sorted union of their entries.
    fn random_children(rng: &mut Rng, n: usize) -> (Vec<Entries>, Entries) {
        let mut children = vec![Vec::new(); n];
        let mut all = Vec::new();
        let total = rng.below(200);
        for seq in 1..=total as u64 {
            let c = rng.below(n);
            let uk = format!("k{:03}", rng.below(60));
            let kind = if rng.below(4) == 0 {
                ValueKind::Delete
            } else {
                ValueKind::Put
            };
            let e = (
                make_internal_key(uk.as_bytes(), seq, kind),
                format!("v{seq}").into_bytes(),
            );
            children[c].push(e.clone());
            all.push(e);
        }
        for c in &mut children {
            c.sort_by(|x, y| compare_internal_keys(&x.0, &y.0));
        }
        all.sort_by(|x, y| compare_internal_keys(&x.0, &y.0));
        (children, all)
    }

    fn merge_of(children: &[Entries]) -> MergingIterator {
        MergingIterator::new(
            children
                .iter()
                .map(|c| Box::new(VecIter::new(c.clone())) as Box<dyn InternalIterator>)
                .collect(),
        )
    }

    /// A random walk — seeks of every kind, next, prev, direction changes — checked after
    /// every step against the position in the sorted model.
    #[test]
    fn random_walks_match_sorted_model() {
        for seed in 0..300u64 {
            let mut rng = Rng::new(seed);
            let n = 1 + rng.below(9);
            let (children, all) = random_children(&mut rng, n);
            let mut it = merge_of(&children);
            let mut model: Option<usize> = None;
            for step in 0..300 {
                match rng.below(10) {
                    0 => {
                        it.seek_to_first();
                        model = (!all.is_empty()).then_some(0);
                    }
                    1 => {
                        it.seek_to_last();
                        model = all.len().checked_sub(1);
                    }
                    2 | 3 => {
                        // Targets between, on and beyond existing keys.
                        let uk = format!("k{:03}", rng.below(62));
                        let target = seek_key(uk.as_bytes(), rng.below(220) as u64);
                        it.seek(&target);
                        let i = all.partition_point(|(k, _)| {
                            compare_internal_keys(k, &target) == Ordering::Less
                        });
                        model = (i < all.len()).then_some(i);
                    }
                    4..=6 => {
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
                assert!(it.status().is_ok());
            }
        }
    }

    /// Full scans both ways, and a zig-zag at every position, for many child counts
    /// (including children that are empty).
    #[test]
    fn full_scans_and_zigzag_every_position() {
        for seed in 0..100u64 {
            let mut rng = Rng::new(1000 + seed);
            let n = 1 + rng.below(12);
            let (children, all) = random_children(&mut rng, n);
            let mut it = merge_of(&children);
            let keys: Vec<Vec<u8>> = all.iter().map(|e| e.0.clone()).collect();
            assert_eq!(collect_forward(&mut it), keys);
            let mut back = Vec::new();
            it.seek_to_last();
            while it.valid() {
                back.push(it.key().to_vec());
                it.prev();
            }
            back.reverse();
            assert_eq!(back, keys);
            for i in 0..keys.len() {
                it.seek(&keys[i]);
                assert_eq!(it.key(), &keys[i][..]);
                it.prev();
                if i == 0 {
                    assert!(!it.valid());
                    continue;
                }
                assert_eq!(it.key(), &keys[i - 1][..]);
                it.next();
                assert_eq!(it.key(), &keys[i][..]);
                it.prev();
                assert_eq!(it.key(), &keys[i - 1][..]);
            }
        }
    }

    /// A child that gains entries right after its `n`-th seek, like the active memtable
    /// being written while it is read.
    struct Growing {
        entries: Entries,
        pending: Entries,
        grow_after_seek: usize,
        seeks: usize,
        pos: Option<usize>,
    }

    impl InternalIterator for Growing {
        fn valid(&self) -> bool {
            self.pos.is_some()
        }
        fn seek_to_first(&mut self) {
            self.pos = (!self.entries.is_empty()).then_some(0);
        }
        fn seek_to_last(&mut self) {
            self.pos = self.entries.len().checked_sub(1);
        }
        fn seek(&mut self, target: &[u8]) {
            let i = self
                .entries
                .partition_point(|(k, _)| compare_internal_keys(k, target).is_lt());
            let at = self.entries.get(i).map(|e| e.0.clone());
            self.seeks += 1;
            if self.seeks == self.grow_after_seek {
                self.entries.append(&mut self.pending);
                self.entries
                    .sort_by(|x, y| compare_internal_keys(&x.0, &y.0));
            }
            self.pos = at.map(|k| self.entries.iter().position(|e| e.0 == k).unwrap());
        }
        fn next(&mut self) {
            let p = self.pos.unwrap() + 1;
            self.pos = (p < self.entries.len()).then_some(p);
        }
        fn prev(&mut self) {
            self.pos = self.pos.unwrap().checked_sub(1);
        }
        fn key(&self) -> &[u8] {
            &self.entries[self.pos.unwrap()].0
        }
        fn value(&self) -> &[u8] {
            &self.entries[self.pos.unwrap()].1
        }
        fn status(&self) -> Result<()> {
            Ok(())
        }
    }

    /// `prev` after a seek, while another child gains entries on both sides of the current
    /// key between its repositioning seek and `seek_to_last`: the merge still moves back.
    #[test]
    fn direction_change_while_a_child_grows() {
        let e = |k: &str, seq: u64| (make_internal_key(k.as_bytes(), seq, ValueKind::Put), vec![]);
        let a = VecIter::new(vec![e("k2", 1)]);
        let b = Growing {
            entries: Vec::new(),
            pending: vec![e("k1", 7), e("k5", 8)],
            grow_after_seek: 2,
            seeks: 0,
            pos: None,
        };
        let mut it = MergingIterator::new(vec![Box::new(a), Box::new(b)]);
        it.seek(&seek_key(b"k2", 100));
        assert_eq!(crate::key::user_key(it.key()), b"k2");
        it.prev();
        assert_eq!(crate::key::user_key(it.key()), b"k1");
        it.prev();
        assert!(!it.valid());
    }

    #[test]
    fn no_children_and_empty_children() {
        let mut it = MergingIterator::new(Vec::new());
        it.seek_to_first();
        assert!(!it.valid());
        it.seek_to_last();
        assert!(!it.valid());
        it.seek(&seek_key(b"a", 5));
        assert!(!it.valid());
        assert!(it.status().is_ok());

        let mut it = merge_of(&[Vec::new(), Vec::new()]);
        it.seek_to_first();
        assert!(!it.valid());
        assert!(it.status().is_ok());
    }

    #[test]
    fn child_error_invalidates_the_merge() {
        let entries = |p: &str, seq0: u64| -> Entries {
            (0..10u64)
                .map(|i| {
                    let k = format!("{p}{i}");
                    (
                        make_internal_key(k.as_bytes(), seq0 + i, ValueKind::Put),
                        b"v".to_vec(),
                    )
                })
                .collect()
        };
        // "a0..a9" then "b0..b9": the second child fails on its third entry, so forward the
        // merge produces a0..a9, b0, b1 then stops with the error rather than ending.
        let mut it = MergingIterator::new(vec![
            Box::new(VecIter::new(entries("a", 1))),
            Box::new(VecIter::new(entries("b", 100)).failing_at(2)),
        ]);
        it.seek_to_first();
        let mut n = 0;
        while it.valid() {
            n += 1;
            it.next();
        }
        assert_eq!(n, 12);
        assert!(it.status().unwrap_err().is_corruption());

        // A child that fails during a seek makes the merge invalid at once.
        let mut it = MergingIterator::new(vec![
            Box::new(VecIter::new(entries("a", 1))),
            Box::new(VecIter::new(entries("b", 100)).failing_at(0)),
        ]);
        it.seek_to_first();
        assert!(!it.valid());
        assert!(it.status().is_err());

        // A failure met while repositioning children for a direction change.
        let mut it = MergingIterator::new(vec![
            Box::new(VecIter::new(entries("c", 1))),
            Box::new(VecIter::new(entries("b", 100)).failing_at(9)),
        ]);
        it.seek(&seek_key(b"c", 1000));
        assert_eq!(crate::key::user_key(it.key()), b"c0");
        // b is past its end; going back it moves to its last entry, which fails.
        it.prev();
        assert!(!it.valid());
        assert!(it.status().is_err());
    }
}
