//! The memtable: the in-memory, sorted buffer where every write lands first.
//!
//! A memtable is a concurrent skip list (crossbeam-skiplist, lock-free reads) of entries
//! keyed by internal key (see [`crate::key`]), so one user key may appear several times, newest
//! first. Writes are applied by one writer at a time (the write path serialises them through
//! group commit); readers never block. Entries are never removed: when the memtable reaches
//! [`Options::memtable_size`](crate::Options::memtable_size) it becomes *immutable* and a
//! flush thread writes it to an L0 SSTable, after which it is dropped whole.
//!
//! Each entry's internal key and value are copied, one after the other, into the memtable's
//! arena (`arena.rs`), so an insert makes no allocation of its own.

use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::Arc;

use crossbeam_skiplist::map::Entry;
use crossbeam_skiplist::SkipMap;
use parking_lot::Mutex;

mod arena;
mod filter;

use arena::Arena;
pub use filter::MemTableFilter;

use crate::error::Result;
use crate::iterator::InternalIterator;
use crate::key::{
    compare_internal_keys, pack_trailer, parse_internal_key, seek_key, SequenceNumber, ValueKind,
    TRAILER_LEN,
};
use crate::range_del::{FragmentedTombstones, RangeTombstone};

/// Rough per-entry bookkeeping cost in bytes (skip-list node, tower, allocation header), so
/// that many tiny entries still fill a memtable.
const ENTRY_OVERHEAD: usize = 48;

/// One memtable entry: a pointer to `internal key ++ value` in the memtable's [`Arena`],
/// plus the first 16 bytes of the user key kept inline in the skip-list node.
///
/// Most comparisons during a skip-list search are decided by that inline prefix, without
/// following the pointer to the key bytes: one cache miss per visited node instead of two.
/// The prefix is zero-padded, which keeps its order consistent with bytewise order (a key
/// that ends earlier pads with 0x00, the smallest byte); only equal prefixes fall back to the
/// full internal-key comparison.
///
/// Invariant: `ptr` points to `len` bytes that stay valid and unchanged for as long as the
/// entry is used: the arena of the memtable that holds the entry (which drops after its
/// skip list), or, for a search probe, the caller's buffer, which outlives the search.
struct MemEntry {
    prefix: u128,
    ptr: *const u8,
    key_len: usize,
    len: usize,
}

// SAFETY: a MemEntry is a read-only view of immutable bytes (see the invariant above), so
// sharing or sending it between threads is as safe as sharing a `&[u8]`.
unsafe impl Send for MemEntry {}
// SAFETY: as above.
unsafe impl Sync for MemEntry {}

impl MemEntry {
    /// An entry viewing `len` bytes at `ptr`, the first `key_len` of them an internal key.
    ///
    /// SAFETY: the caller guarantees the invariant on [`MemEntry`].
    unsafe fn new(ptr: *const u8, key_len: usize, len: usize) -> Self {
        let mut e = MemEntry {
            prefix: 0,
            ptr,
            key_len,
            len,
        };
        let uk = &e.key()[..key_len.saturating_sub(TRAILER_LEN)];
        let mut p = [0u8; 16];
        let n = uk.len().min(16);
        p[..n].copy_from_slice(&uk[..n]);
        e.prefix = u128::from_be_bytes(p);
        e
    }
    /// A search target for the encoded internal key `ikey`; it must not outlive `ikey`.
    fn probe(ikey: &[u8]) -> Self {
        // SAFETY: the probe is only used during a search while `ikey` is borrowed.
        unsafe { Self::new(ikey.as_ptr(), ikey.len(), ikey.len()) }
    }
    fn bytes(&self) -> &[u8] {
        // SAFETY: the invariant on MemEntry.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
    fn key(&self) -> &[u8] {
        &self.bytes()[..self.key_len]
    }
    fn value(&self) -> &[u8] {
        &self.bytes()[self.key_len..]
    }
}

impl PartialEq for MemEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for MemEntry {}
impl Ord for MemEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        match self.prefix.cmp(&other.prefix) {
            Ordering::Equal => compare_internal_keys(self.key(), other.key()),
            o => o,
        }
    }
}
impl PartialOrd for MemEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// What a memtable knows about a user key at a sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupResult {
    /// The newest visible entry is a value, written at this sequence number (which range
    /// tombstones compare against).
    Found(Vec<u8>, SequenceNumber),
    /// The newest visible entry is a tombstone: the key is deleted, stop searching.
    Deleted,
    /// The memtable has no visible entry for the key: search older sources.
    Absent,
}

/// A skip-list memtable. Shared as `Arc<MemTable>` between the write path, readers,
/// iterators and the flush thread.
pub struct MemTable {
    // Declared before `arena`, so it is dropped first: its entries point into the arena.
    map: SkipMap<MemEntry, ()>,
    arena: Arena,
    filter: MemTableFilter,
    approximate_bytes: AtomicUsize,
    /// Number of the WAL segment that holds this memtable's writes.
    wal_number: u64,
    largest_seq: AtomicU64,
    /// Range tombstones, in the order added (kept apart from the point entries, as
    /// RocksDB's memtable does), and their fragmentation, built on first use after a change.
    range_tombstones: Mutex<RangeTombstones>,
    has_range_tombstones: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct RangeTombstones {
    list: Vec<RangeTombstone>,
    fragmented: Option<Arc<FragmentedTombstones>>,
}

impl std::fmt::Debug for MemTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemTable")
            .field("entries", &self.len())
            .field("approximate_bytes", &self.approximate_bytes())
            .field("wal_number", &self.wal_number)
            .finish()
    }
}

impl MemTable {
    /// An empty memtable whose writes are logged in WAL segment `wal_number`, with a key
    /// filter sized for `budget_bytes` (the memtable size it will be switched at).
    pub fn new(wal_number: u64, budget_bytes: usize) -> Self {
        MemTable {
            map: SkipMap::new(),
            arena: Arena::default(),
            filter: MemTableFilter::new(budget_bytes),
            approximate_bytes: AtomicUsize::new(0),
            wal_number,
            largest_seq: AtomicU64::new(0),
            range_tombstones: Mutex::new(RangeTombstones::default()),
            has_range_tombstones: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The WAL segment holding this memtable's writes.
    pub fn wal_number(&self) -> u64 {
        self.wal_number
    }

    /// Adds an entry. Callers must serialise `add` (one writer at a time) and never add the
    /// same `(user_key, seq)` twice.
    pub fn add(&self, seq: SequenceNumber, kind: ValueKind, user_key: &[u8], value: &[u8]) {
        let trailer = pack_trailer(seq, kind as u8).to_le_bytes();
        let key_len = user_key.len() + TRAILER_LEN;
        let len = key_len + value.len();
        let copy = self.arena.alloc_copy(&[user_key, &trailer, value]);
        let bytes = len + ENTRY_OVERHEAD;
        // Bits first: see the ordering argument in `filter`.
        self.filter.add(user_key);
        // SAFETY: `copy` is `len` bytes in `self.arena`, never written again, and the arena is
        // dropped after `self.map` (field order), so they outlive the entry.
        let entry = unsafe { MemEntry::new(copy.as_ptr(), key_len, len) };
        self.map.insert(entry, ());
        self.approximate_bytes
            .fetch_add(bytes, AtomicOrdering::Relaxed);
        self.largest_seq.fetch_max(seq, AtomicOrdering::Relaxed);
    }

    /// Adds the range tombstone `[start, end) @ seq`. The same rules as [`add`](Self::add)
    /// apply: one writer at a time, each sequence number used once.
    pub fn add_range_tombstone(&self, seq: SequenceNumber, start: &[u8], end: &[u8]) {
        let mut t = self.range_tombstones.lock();
        t.list.push(RangeTombstone::new(start, end, seq));
        t.fragmented = None;
        self.approximate_bytes.fetch_add(
            start.len() + end.len() + ENTRY_OVERHEAD,
            AtomicOrdering::Relaxed,
        );
        self.largest_seq.fetch_max(seq, AtomicOrdering::Relaxed);
        self.has_range_tombstones
            .store(true, AtomicOrdering::Release);
    }

    /// True if any range tombstone was added.
    pub fn has_range_tombstones(&self) -> bool {
        self.has_range_tombstones.load(AtomicOrdering::Acquire)
    }

    /// The range tombstones added so far (some may be above a reader's sequence number:
    /// readers filter by it), fragmented; empty without locking if there are none.
    pub fn range_tombstones(&self) -> Arc<FragmentedTombstones> {
        if !self.has_range_tombstones() {
            return Arc::default();
        }
        let mut t = self.range_tombstones.lock();
        if t.fragmented.is_none() {
            t.fragmented = Some(Arc::new(FragmentedTombstones::new(&t.list)));
        }
        t.fragmented.clone().expect("just built")
    }

    /// The newest entry of `user_key` with sequence `<= seq`.
    pub fn get(&self, user_key_wanted: &[u8], seq: SequenceNumber) -> LookupResult {
        if !self.filter.may_contain(user_key_wanted) {
            return LookupResult::Absent;
        }
        let target = seek_key(user_key_wanted, seq);
        let Some(e) = self
            .map
            .lower_bound(Bound::Included(&MemEntry::probe(&target)))
        else {
            return LookupResult::Absent;
        };
        let entry = e.key();
        match parse_internal_key(entry.key()) {
            Some(p) if p.user_key == user_key_wanted => match p.kind {
                ValueKind::Put => LookupResult::Found(entry.value().to_vec(), p.seq),
                ValueKind::Delete => LookupResult::Deleted,
            },
            _ => LookupResult::Absent,
        }
    }

    /// Bytes of keys, values and bookkeeping held (approximate, never decreases).
    pub fn approximate_bytes(&self) -> usize {
        self.approximate_bytes.load(AtomicOrdering::Relaxed)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if no entry and no range tombstone was added.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty() && !self.has_range_tombstones()
    }

    /// The largest sequence number added (0 if empty).
    pub fn largest_seq(&self) -> SequenceNumber {
        self.largest_seq.load(AtomicOrdering::Relaxed)
    }

    /// A cursor over every entry, keeping the memtable alive.
    pub fn iter(self: &Arc<Self>) -> MemTableIterator {
        MemTableIterator {
            current: None,
            _table: self.clone(),
        }
    }
}

/// An [`InternalIterator`] over a memtable. Holds an `Arc` of the memtable, so it may outlive
/// every other handle to it.
pub struct MemTableIterator {
    // Declared before `_table` so it is dropped first: the entry points into the skip list
    // that `_table` keeps alive.
    current: Option<Entry<'static, MemEntry, ()>>,
    _table: Arc<MemTable>,
}

/// Extends an entry's borrow of its memtable to `'static`.
///
/// SAFETY (of the callers): the entry must borrow the skip list of the `Arc<MemTable>` held in
/// the same [`MemTableIterator`]. That Arc lives as long as the entry (field order drops
/// `current` first), entries are never removed from a memtable, and the Arc's allocation never
/// moves, so the extended borrow cannot dangle.
unsafe fn extend(e: Entry<'_, MemEntry, ()>) -> Entry<'static, MemEntry, ()> {
    std::mem::transmute::<Entry<'_, MemEntry, ()>, Entry<'static, MemEntry, ()>>(e)
}

impl InternalIterator for MemTableIterator {
    fn valid(&self) -> bool {
        self.current.is_some()
    }
    fn seek_to_first(&mut self) {
        let e = self._table.map.front();
        // SAFETY: `e` borrows `self._table`'s skip list; see `extend`.
        self.current = e.map(|e| unsafe { extend(e) });
    }
    fn seek_to_last(&mut self) {
        let e = self._table.map.back();
        // SAFETY: `e` borrows `self._table`'s skip list; see `extend`.
        self.current = e.map(|e| unsafe { extend(e) });
    }
    fn seek(&mut self, target: &[u8]) {
        let e = self
            ._table
            .map
            .lower_bound(Bound::Included(&MemEntry::probe(target)));
        // SAFETY: `e` borrows `self._table`'s skip list; see `extend`.
        self.current = e.map(|e| unsafe { extend(e) });
    }
    fn next(&mut self) {
        let e = self.current.as_ref().and_then(|c| c.next());
        // SAFETY: `e` borrows `self._table`'s skip list; see `extend`.
        self.current = e.map(|e| unsafe { extend(e) });
    }
    fn prev(&mut self) {
        let e = self.current.as_ref().and_then(|c| c.prev());
        // SAFETY: `e` borrows `self._table`'s skip list; see `extend`.
        self.current = e.map(|e| unsafe { extend(e) });
    }
    fn key(&self) -> &[u8] {
        self.current.as_ref().expect("valid iterator").key().key()
    }
    fn value(&self) -> &[u8] {
        self.current.as_ref().expect("valid iterator").key().value()
    }
    fn status(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::make_internal_key;

    #[test]
    fn get_sees_newest_visible_entry() {
        let m = MemTable::new(1, 1 << 20);
        m.add(1, ValueKind::Put, b"a", b"v1");
        m.add(3, ValueKind::Put, b"a", b"v3");
        m.add(5, ValueKind::Delete, b"a", b"");
        m.add(2, ValueKind::Put, b"b", b"");
        assert_eq!(m.get(b"a", 0), LookupResult::Absent);
        assert_eq!(m.get(b"a", 1), LookupResult::Found(b"v1".to_vec(), 1));
        assert_eq!(m.get(b"a", 4), LookupResult::Found(b"v3".to_vec(), 3));
        assert_eq!(m.get(b"a", 5), LookupResult::Deleted);
        assert_eq!(m.get(b"b", 9), LookupResult::Found(vec![], 2));
        assert_eq!(m.get(b"c", 9), LookupResult::Absent);
        assert_eq!(m.get(b"", 9), LookupResult::Absent);
        assert_eq!(m.largest_seq(), 5);
        assert!(m.approximate_bytes() > 4 * ENTRY_OVERHEAD);
    }

    #[test]
    fn iterator_walks_in_internal_order_both_ways() {
        let m = Arc::new(MemTable::new(1, 1 << 20));
        m.add(1, ValueKind::Put, b"b", b"1");
        m.add(2, ValueKind::Put, b"a", b"2");
        m.add(3, ValueKind::Put, b"b", b"3");
        let expected = vec![
            make_internal_key(b"a", 2, ValueKind::Put),
            make_internal_key(b"b", 3, ValueKind::Put),
            make_internal_key(b"b", 1, ValueKind::Put),
        ];
        let mut it = m.iter();
        let mut got = Vec::new();
        it.seek_to_first();
        while it.valid() {
            got.push(it.key().to_vec());
            it.next();
        }
        assert_eq!(got, expected);
        let mut back = Vec::new();
        it.seek_to_last();
        while it.valid() {
            back.push(it.key().to_vec());
            it.prev();
        }
        back.reverse();
        assert_eq!(back, expected);
        it.seek(&seek_key(b"b", 2));
        assert_eq!(it.value(), b"1");
        drop(m); // the iterator keeps the memtable alive
        it.seek_to_first();
        assert_eq!(it.value(), b"2");
    }

    #[test]
    fn readers_see_every_added_entry_while_one_writer_adds() {
        // The memtable's concurrency contract: one writer adds (its entries' bytes going into
        // the arena chunk that earlier entries live in, and into new chunks), while readers
        // look up and scan everything added so far. Under Miri the values are large, so
        // that even its few entries span more than one arena chunk.
        let (n, value_len) = if cfg!(miri) {
            (200u64, 6000)
        } else {
            (20_000, 120)
        };
        let key = |i: u64| format!("{:010}", (i as u32).wrapping_mul(2_654_435_761)).into_bytes();
        let value = |i: u64| vec![(i % 251) as u8; value_len];
        let m = Arc::new(MemTable::new(1, 64 << 20));
        // The highest sequence number whose `add` has returned.
        let added = AtomicU64::new(0);
        std::thread::scope(|s| {
            for r in 0..2u64 {
                let (m, added) = (&m, &added);
                s.spawn(move || {
                    let mut round = 0u64;
                    loop {
                        let upto = added.load(AtomicOrdering::Acquire);
                        // Only entries whose `add` has returned (1..=upto) must be visible.
                        for i in [upto, upto / 2, 1]
                            .into_iter()
                            .filter(|&i| 0 < i && i <= upto)
                        {
                            assert_eq!(m.get(&key(i), n), LookupResult::Found(value(i), i));
                        }
                        if round % 8 == r * 4 {
                            let mut it = m.iter();
                            let mut seen = 0;
                            it.seek_to_first();
                            while it.valid() {
                                let p = parse_internal_key(it.key()).expect("internal key");
                                assert_eq!(p.user_key, &key(p.seq)[..]);
                                assert_eq!(it.value(), &value(p.seq)[..]);
                                seen += 1;
                                it.next();
                            }
                            assert!(seen >= upto, "scan saw {seen} of {upto} entries");
                        }
                        if upto == n {
                            break;
                        }
                        round += 1;
                        std::thread::yield_now();
                    }
                });
            }
            for i in 1..=n {
                m.add(i, ValueKind::Put, &key(i), &value(i));
                added.store(i, AtomicOrdering::Release);
            }
        });
        assert_eq!(m.len() as u64, n);
    }
}
