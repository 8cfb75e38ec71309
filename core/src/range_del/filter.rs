//! [`RangeDelFilter`]: one iterator source with the entries range tombstones delete hidden.

use std::sync::Arc;

use super::{Fragment, FragmentedTombstones};
use crate::error::Result;
use crate::iterator::InternalIterator;
use crate::key::{parse_internal_key, seek_key, SequenceNumber, MAX_SEQUENCE_NUMBER};

/// Wraps one source of a database iterator (a memtable, an L0 table, or one table of a
/// level) and hides every entry that a range tombstone visible at `read_seq` deletes. The
/// merge above it then never sees those entries, which is correct because a deleted entry
/// can never be a reader's answer: every entry older than it is deleted too.
///
/// Skipping: when the entry under the cursor is deleted by a fragment whose newest visible
/// tombstone is newer than *every* entry of this source (`source_max_seq`), nothing in the
/// source inside that fragment can survive, so the cursor seeks to the fragment's end (or,
/// moving backwards, to just before its start) in one step. That is what keeps a scan next
/// to a range deletion of a million keys from stepping over each of them (RocksDB skips
/// the same way in its merging iterator).
pub(crate) struct RangeDelFilter<I> {
    inner: I,
    tombstones: Arc<FragmentedTombstones>,
    read_seq: SequenceNumber,
    source_max_seq: SequenceNumber,
}

impl<I: InternalIterator> RangeDelFilter<I> {
    /// Filters `inner`, whose entries all have sequence numbers `<= source_max_seq` (or
    /// above `read_seq`, which no tombstone visible at `read_seq` deletes).
    pub(crate) fn new(
        inner: I,
        tombstones: Arc<FragmentedTombstones>,
        read_seq: SequenceNumber,
        source_max_seq: SequenceNumber,
    ) -> Self {
        RangeDelFilter {
            inner,
            tombstones,
            read_seq,
            source_max_seq,
        }
    }

    /// The fragment deleting the entry under the cursor, and whether it deletes the whole
    /// source in its range.
    fn deleting_here(&self) -> Option<(Fragment, bool)> {
        let p = parse_internal_key(self.inner.key())?;
        let f = self.tombstones.deleting(p.user_key, p.seq, self.read_seq)?;
        let whole = f.deletes(self.source_max_seq, self.read_seq);
        Some((f.clone(), whole))
    }

    fn skip_forward(&mut self) {
        while self.inner.valid() {
            match self.deleting_here() {
                None => return,
                Some((f, true)) => self.inner.seek(&seek_key(&f.end, MAX_SEQUENCE_NUMBER)),
                Some((_, false)) => self.inner.next(),
            }
        }
    }

    fn skip_backward(&mut self) {
        while self.inner.valid() {
            match self.deleting_here() {
                None => return,
                Some((f, true)) => {
                    self.inner.seek(&seek_key(&f.start, MAX_SEQUENCE_NUMBER));
                    if self.inner.valid() {
                        self.inner.prev();
                    } else if self.inner.status().is_ok() {
                        // Nothing at or after the start: the last entry is before it.
                        self.inner.seek_to_last();
                    }
                }
                Some((_, false)) => self.inner.prev(),
            }
        }
    }
}

impl<I: InternalIterator> InternalIterator for RangeDelFilter<I> {
    fn valid(&self) -> bool {
        self.inner.valid()
    }
    fn seek_to_first(&mut self) {
        self.inner.seek_to_first();
        self.skip_forward();
    }
    fn seek_to_last(&mut self) {
        self.inner.seek_to_last();
        self.skip_backward();
    }
    fn seek(&mut self, target: &[u8]) {
        self.inner.seek(target);
        self.skip_forward();
    }
    fn next(&mut self) {
        self.inner.next();
        self.skip_forward();
    }
    fn prev(&mut self) {
        self.inner.prev();
        self.skip_backward();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::ValueKind;
    use crate::memtable::MemTable;
    use crate::range_del::RangeTombstone;

    /// Counts the positioning calls that reach the source, to show that a covered run is
    /// skipped by one seek.
    struct Counting<I> {
        inner: I,
        steps: Arc<std::sync::atomic::AtomicUsize>,
    }
    impl<I: InternalIterator> InternalIterator for Counting<I> {
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
            self.steps
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.inner.seek(t)
        }
        fn next(&mut self) {
            self.steps
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.inner.next()
        }
        fn prev(&mut self) {
            self.steps
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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

    fn keys(it: &mut dyn InternalIterator, forward: bool) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if forward {
            it.seek_to_first();
        } else {
            it.seek_to_last();
        }
        while it.valid() {
            out.push(crate::key::user_key(it.key()).to_vec());
            if forward {
                it.next()
            } else {
                it.prev()
            }
        }
        out
    }

    #[test]
    fn hides_covered_entries_both_ways_and_skips_old_sources_in_one_seek() {
        let m = Arc::new(MemTable::new(1, 1 << 20));
        for i in 0..1000u32 {
            m.add(
                u64::from(i) + 1,
                ValueKind::Put,
                format!("k{i:04}").as_bytes(),
                b"v",
            );
        }
        let ts = Arc::new(FragmentedTombstones::new(&[RangeTombstone::new(
            b"k0001", b"k0999", 5000,
        )]));
        let steps = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let src = Counting {
            inner: m.iter(),
            steps: steps.clone(),
        };
        let mut it = RangeDelFilter::new(src, ts.clone(), 6000, m.largest_seq());
        assert_eq!(
            keys(&mut it, true),
            vec![b"k0000".to_vec(), b"k0999".to_vec()]
        );
        assert!(steps.load(std::sync::atomic::Ordering::Relaxed) < 10);
        assert_eq!(
            keys(&mut it, false),
            vec![b"k0999".to_vec(), b"k0000".to_vec()]
        );
        // A reader older than the tombstone sees everything.
        let mut old = RangeDelFilter::new(m.iter(), ts.clone(), 4999, m.largest_seq());
        assert_eq!(keys(&mut old, true).len(), 1000);
        // A source newer than the tombstone is stepped through, keeping its newer entries.
        m.add(7000, ValueKind::Put, b"k0500", b"new");
        let mut mixed = RangeDelFilter::new(m.iter(), ts, 8000, m.largest_seq());
        assert_eq!(
            keys(&mut mixed, true),
            vec![b"k0000".to_vec(), b"k0500".to_vec(), b"k0999".to_vec()]
        );
        assert_eq!(keys(&mut mixed, false).len(), 3);
    }
}
