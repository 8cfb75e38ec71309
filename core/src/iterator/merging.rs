//! [`MergingIterator`]: one sorted stream out of several sorted children.
//!
//! The children are the memtable, the immutable memtables and the SSTables (or levels) of a
//! version, each sorted by internal key. Because internal keys are unique (every write has its
//! own sequence number), the merge needs no tie-breaking beyond the key order.
//!
//! Like LevelDB's `table/merger.cc`, the current child is found by a linear scan over the
//! children. An LSM tree has few children (memtables + L0 files + one per level: a few
//! dozen at most), where a linear scan of keys already in cache is as fast as a heap and makes
//! switching direction simple: after a `prev`, every other child is repositioned on the entry
//! before the current key; after a `next`, on the entry after it.

use std::cmp::Ordering;

use crate::error::Result;
use crate::iterator::InternalIterator;
use crate::key::compare_internal_keys;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forward,
    Reverse,
}

/// Merges children sorted by internal key into one sorted stream.
pub struct MergingIterator {
    children: Vec<Box<dyn InternalIterator>>,
    current: Option<usize>,
    direction: Direction,
}

impl MergingIterator {
    /// Merges `children`; the result is unpositioned until a seek.
    pub fn new(children: Vec<Box<dyn InternalIterator>>) -> Self {
        MergingIterator {
            children,
            current: None,
            direction: Direction::Forward,
        }
    }

    /// Makes the child with the smallest key current.
    fn find_smallest(&mut self) {
        self.find(Ordering::Less);
    }

    /// Makes the child with the largest key current.
    fn find_largest(&mut self) {
        self.find(Ordering::Greater);
    }

    /// Makes current the valid child whose key compares `better` than every other's (the
    /// first such child on ties, which cannot happen: internal keys are unique).
    fn find(&mut self, better: Ordering) {
        let mut best: Option<usize> = None;
        for (i, c) in self.children.iter().enumerate() {
            if !c.valid() {
                continue;
            }
            let take = match best {
                None => true,
                Some(b) => compare_internal_keys(c.key(), self.children[b].key()) == better,
            };
            if take {
                best = Some(i);
            }
        }
        self.current = best;
    }

    /// True if any child stopped on an error; the merge must not look complete then.
    fn any_error(&self) -> bool {
        self.children.iter().any(|c| c.status().is_err())
    }
}

impl InternalIterator for MergingIterator {
    fn valid(&self) -> bool {
        self.current.is_some() && !self.any_error()
    }

    fn seek_to_first(&mut self) {
        for c in &mut self.children {
            c.seek_to_first();
        }
        self.direction = Direction::Forward;
        self.find_smallest();
    }

    fn seek_to_last(&mut self) {
        for c in &mut self.children {
            c.seek_to_last();
        }
        self.direction = Direction::Reverse;
        self.find_largest();
    }

    fn seek(&mut self, target: &[u8]) {
        for c in &mut self.children {
            c.seek(target);
        }
        self.direction = Direction::Forward;
        self.find_smallest();
    }

    fn next(&mut self) {
        let Some(cur) = self.current else { return };
        if self.direction != Direction::Forward {
            // Every other child sits before the current key; move each to the first entry
            // after it. Keys are unique, so "after" is a seek plus one step on equality.
            let key = self.children[cur].key().to_vec();
            for (i, c) in self.children.iter_mut().enumerate() {
                if i == cur {
                    continue;
                }
                c.seek(&key);
                if c.valid() && compare_internal_keys(c.key(), &key) == Ordering::Equal {
                    c.next();
                }
            }
            self.direction = Direction::Forward;
        }
        self.children[cur].next();
        self.find_smallest();
    }

    fn prev(&mut self) {
        let Some(cur) = self.current else { return };
        if self.direction != Direction::Reverse {
            // Every other child sits after the current key; move each to the last entry
            // before it.
            let key = self.children[cur].key().to_vec();
            for (i, c) in self.children.iter_mut().enumerate() {
                if i == cur {
                    continue;
                }
                c.seek(&key);
                if c.valid() {
                    c.prev();
                } else if c.status().is_ok() {
                    c.seek_to_last();
                }
            }
            self.direction = Direction::Reverse;
        }
        self.children[cur].prev();
        self.find_largest();
    }

    fn key(&self) -> &[u8] {
        self.children[self.current.expect("valid iterator")].key()
    }

    fn value(&self) -> &[u8] {
        self.children[self.current.expect("valid iterator")].value()
    }

    fn status(&self) -> Result<()> {
        for c in &self.children {
            c.status()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{make_internal_key, ValueKind};
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
}
