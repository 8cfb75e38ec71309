//! [`Block`] and [`BlockIter`]: reading the block format written by
//! [`BlockBuilder`](super::block_builder::BlockBuilder).
//!
//! A block is checksummed as a whole before it gets here, but the decoder does not rely on
//! that: [`Block::new`] validates the restart array, and the iterator bounds-checks every
//! entry as it decodes it. Anything inconsistent — a restart count larger than the block, a
//! restart offset outside the entries or not on an entry boundary, a shared prefix longer
//! than the previous key, a length running past the entries — turns into
//! [`Error::Corruption`] naming the file and the offset of the bad entry. Keys are compared
//! with [`compare_internal_keys`]: both data and index blocks hold internal keys.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::coding::{get_fixed32, get_varint32};
use crate::error::{Error, Result};
use crate::iterator::InternalIterator;
use crate::key::compare_internal_keys;

/// The decoded, immutable contents of one block (without its trailer).
///
/// Owns its bytes; share it with `Arc<Block>` (a block cache would hand out such `Arc`s).
/// The restart array is validated on construction, so iterators may index it freely.
#[derive(Debug)]
pub struct Block {
    data: Vec<u8>,
    /// Offset of the restart array, i.e. the end of the entries.
    restart_offset: usize,
    num_restarts: usize,
    /// For error messages: the file holding the block and the block's offset in it.
    file: Arc<str>,
    file_offset: u64,
}

/// Lengths of one entry's fields, already checked against the block bounds.
#[derive(Debug, Clone, Copy)]
struct EntryHeader {
    shared: usize,
    key_start: usize,
    key_end: usize,
    value_end: usize,
}

impl Block {
    /// Parses `contents` (a block without its trailer) read from `file` at `file_offset`.
    ///
    /// Errors: [`Error::Corruption`] if the restart array is malformed: fewer than 4 bytes,
    /// a restart count of 0 or larger than the block can hold, a first restart point other
    /// than 0, or restart points not strictly increasing inside the entries.
    pub fn new(contents: Vec<u8>, file: Arc<str>, file_offset: u64) -> Result<Block> {
        let len = contents.len();
        let bad =
            |at: usize, detail: String| Error::corruption(&*file, file_offset + at as u64, detail);
        if len < 4 {
            return Err(bad(0, format!("block of {len} bytes has no restart count")));
        }
        let n = get_fixed32(&contents[len - 4..]).unwrap_or_default() as usize;
        let max = (len - 4) / 4;
        if n == 0 || n > max {
            return Err(bad(
                len - 4,
                format!("restart count {n} does not fit a {len}-byte block (1..={max})"),
            ));
        }
        let restart_offset = len - 4 - 4 * n;
        let mut prev = None;
        for i in 0..n {
            let at = restart_offset + 4 * i;
            let r = get_fixed32(&contents[at..]).unwrap_or_default() as usize;
            let ok = match prev {
                None => r == 0,
                Some(p) => r > p && r < restart_offset,
            };
            if !ok {
                return Err(bad(
                    at,
                    format!("restart point {i} is {r}: not increasing inside the entries"),
                ));
            }
            prev = Some(r);
        }
        Ok(Block {
            data: contents,
            restart_offset,
            num_restarts: n,
            file,
            file_offset,
        })
    }

    /// An iterator over the block's entries. It holds a clone of the `Arc`, so it may
    /// outlive the caller's reference.
    pub fn iter(self: &Arc<Self>) -> BlockIter {
        BlockIter {
            block: Arc::clone(self),
            current: self.restart_offset,
            next: self.restart_offset,
            restart_index: self.num_restarts,
            key: Vec::new(),
            value: (0, 0),
            err: None,
        }
    }

    /// Number of restart points (at least 1).
    pub fn num_restarts(&self) -> usize {
        self.num_restarts
    }

    /// Size of the contents in bytes (the trailer is not kept).
    pub fn size(&self) -> usize {
        self.data.len()
    }

    /// The raw contents.
    pub fn contents(&self) -> &[u8] {
        &self.data
    }

    /// The file offset of the block's first byte.
    pub fn file_offset(&self) -> u64 {
        self.file_offset
    }

    fn restart_point(&self, i: usize) -> usize {
        let at = self.restart_offset + 4 * i;
        // In bounds: `new` checked that `num_restarts` fixed32s fit before the count.
        u32::from_le_bytes([
            self.data[at],
            self.data[at + 1],
            self.data[at + 2],
            self.data[at + 3],
        ]) as usize
    }

    fn corruption(&self, at: usize, detail: impl Into<String>) -> Error {
        Error::corruption(&*self.file, self.file_offset + at as u64, detail)
    }

    /// Decodes the header of the entry at `at` and checks that its key and value end
    /// within the entries. `None` if they do not (or a varint is malformed).
    fn entry_header(&self, at: usize) -> Option<EntryHeader> {
        let entries = self.data.get(..self.restart_offset)?;
        let mut p = at;
        let mut field = || {
            let (v, n) = get_varint32(entries.get(p..)?)?;
            p += n;
            Some(v as usize)
        };
        let shared = field()?;
        let non_shared = field()?;
        let value_len = field()?;
        let key_end = p.checked_add(non_shared)?;
        let value_end = key_end.checked_add(value_len)?;
        (value_end <= entries.len()).then_some(EntryHeader {
            shared,
            key_start: p,
            key_end,
            value_end,
        })
    }

    /// The full key stored at restart point `i` (where `shared` must be 0).
    fn restart_key(&self, i: usize) -> Result<&[u8]> {
        let at = self.restart_point(i);
        match self.entry_header(at) {
            Some(h) if h.shared == 0 => Ok(&self.data[h.key_start..h.key_end]),
            Some(h) => Err(self.corruption(
                at,
                format!("entry at restart point {i} shares {} bytes", h.shared),
            )),
            None => Err(self.corruption(at, "entry at restart point runs past the block")),
        }
    }
}

/// A cursor over one block's entries, in key order. Implements [`InternalIterator`].
///
/// Errors are sticky: after a corrupt entry the iterator stays invalid and
/// [`status`](InternalIterator::status) returns the [`Error::Corruption`].
pub struct BlockIter {
    block: Arc<Block>,
    /// Offset of the current entry; `restart_offset` when not positioned.
    current: usize,
    /// Offset of the entry after the current one.
    next: usize,
    /// Index of the restart point at or before `current`.
    restart_index: usize,
    key: Vec<u8>,
    /// Byte range of the current value in the block.
    value: (usize, usize),
    err: Option<Error>,
}

impl std::fmt::Debug for BlockIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockIter")
            .field("block_offset", &self.block.file_offset)
            .field("current", &self.current)
            .field("valid", &self.valid())
            .finish_non_exhaustive()
    }
}

impl BlockIter {
    fn fail(&mut self, err: Error) {
        self.err = Some(err);
        self.invalidate();
    }

    fn invalidate(&mut self) {
        self.current = self.block.restart_offset;
        self.next = self.block.restart_offset;
        self.restart_index = self.block.num_restarts;
        self.key.clear();
        self.value = (0, 0);
    }

    /// Positions just before the entry at restart point `i`; the next
    /// [`parse_next_entry`](Self::parse_next_entry) decodes it.
    fn seek_to_restart(&mut self, i: usize) {
        self.key.clear();
        self.restart_index = i;
        self.next = self.block.restart_point(i);
    }

    /// Decodes the entry at `self.next` into the cursor. Returns false at the end of the
    /// block or on corruption (then `err` is set).
    fn parse_next_entry(&mut self) -> bool {
        let block = &*self.block;
        let at = self.next;
        self.current = at;
        if at >= block.restart_offset {
            self.invalidate();
            return false;
        }
        let Some(h) = block.entry_header(at) else {
            self.fail(block.corruption(at, "entry lengths run past the block's entries"));
            return false;
        };
        // Arriving at the next restart point by scanning: the entry must hold a whole key.
        if self.restart_index + 1 < block.num_restarts
            && block.restart_point(self.restart_index + 1) == at
        {
            self.restart_index += 1;
            if h.shared != 0 {
                let e = block.corruption(at, format!("restart entry shares {} bytes", h.shared));
                self.fail(e);
                return false;
            }
        }
        if h.shared > self.key.len() {
            let e = block.corruption(
                at,
                format!(
                    "entry shares {} bytes of a {}-byte key",
                    h.shared,
                    self.key.len()
                ),
            );
            self.fail(e);
            return false;
        }
        // A restart point strictly inside this entry means the entries and the restart
        // array disagree about where entries start.
        if self.restart_index + 1 < block.num_restarts
            && block.restart_point(self.restart_index + 1) < h.value_end
        {
            let e = block.corruption(at, "restart point falls inside an entry");
            self.fail(e);
            return false;
        }
        self.key.truncate(h.shared);
        self.key
            .extend_from_slice(&self.block.data[h.key_start..h.key_end]);
        self.value = (h.key_end, h.value_end);
        self.next = h.value_end;
        true
    }
}

impl InternalIterator for BlockIter {
    fn valid(&self) -> bool {
        self.err.is_none() && self.current < self.block.restart_offset
    }

    fn seek_to_first(&mut self) {
        if self.err.is_some() {
            return;
        }
        self.seek_to_restart(0);
        self.parse_next_entry();
    }

    fn seek_to_last(&mut self) {
        if self.err.is_some() {
            return;
        }
        self.seek_to_restart(self.block.num_restarts - 1);
        while self.parse_next_entry() && self.next < self.block.restart_offset {}
    }

    fn seek(&mut self, target: &[u8]) {
        if self.err.is_some() {
            return;
        }
        // Binary search for the last restart point whose key is < target; the answer is
        // then among the entries from there to the next restart point (or just after).
        let (mut left, mut right) = (0, self.block.num_restarts - 1);
        while left < right {
            let mid = left + (right - left).div_ceil(2);
            match self.block.restart_key(mid) {
                Ok(k) if compare_internal_keys(k, target) == Ordering::Less => left = mid,
                Ok(_) => right = mid - 1,
                Err(e) => return self.fail(e),
            }
        }
        self.seek_to_restart(left);
        while self.parse_next_entry() {
            if compare_internal_keys(&self.key, target) != Ordering::Less {
                return;
            }
        }
    }

    fn next(&mut self) {
        debug_assert!(self.valid());
        if self.valid() {
            self.parse_next_entry();
        }
    }

    fn prev(&mut self) {
        debug_assert!(self.valid());
        if !self.valid() {
            return;
        }
        // Back up to a restart point before the current entry, then scan forward to the
        // entry that ends where the current one starts.
        let original = self.current;
        while self.block.restart_point(self.restart_index) >= original {
            if self.restart_index == 0 {
                self.invalidate();
                return;
            }
            self.restart_index -= 1;
        }
        self.seek_to_restart(self.restart_index);
        while self.parse_next_entry() {
            match self.next.cmp(&original) {
                Ordering::Less => {}
                Ordering::Equal => return,
                Ordering::Greater => {
                    let e = self
                        .block
                        .corruption(self.current, "entry overlaps the next one on re-scan");
                    return self.fail(e);
                }
            }
        }
    }

    fn key(&self) -> &[u8] {
        debug_assert!(self.valid());
        &self.key
    }

    fn value(&self) -> &[u8] {
        debug_assert!(self.valid());
        &self.block.data[self.value.0..self.value.1]
    }

    fn status(&self) -> Result<()> {
        match &self.err {
            None => Ok(()),
            Some(e) => Err(e.duplicate()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coding::{put_fixed32, put_varint32};
    use crate::key::{make_internal_key, seek_key, ValueKind, MAX_SEQUENCE_NUMBER};
    use crate::sstable::block_builder::BlockBuilder;
    use proptest::prelude::*;

    /// `n` entries with long shared prefixes; every third value is empty.
    fn entries(n: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
        (0..n)
            .map(|i| {
                let uk = format!("a/very/long/shared/prefix/for/every/key/{:06}", i * 2);
                let value = if i % 3 == 0 {
                    Vec::new()
                } else {
                    format!("value-{i}").repeat(i % 5).into_bytes()
                };
                (
                    make_internal_key(uk.as_bytes(), i as u64 + 1, ValueKind::Put),
                    value,
                )
            })
            .collect()
    }

    fn build(entries: &[(Vec<u8>, Vec<u8>)], interval: usize) -> Arc<Block> {
        let mut b = BlockBuilder::new(interval);
        for (k, v) in entries {
            b.add(k, v);
        }
        let contents = b.finish().to_vec();
        Arc::new(Block::new(contents, Arc::from("test-block"), 0).unwrap())
    }

    fn collect_forward(it: &mut BlockIter) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        it.seek_to_first();
        while it.valid() {
            out.push((it.key().to_vec(), it.value().to_vec()));
            it.next();
        }
        it.status().unwrap();
        out
    }

    fn collect_backward(it: &mut BlockIter) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        it.seek_to_last();
        while it.valid() {
            out.push((it.key().to_vec(), it.value().to_vec()));
            it.prev();
        }
        it.status().unwrap();
        out.reverse();
        out
    }

    #[test]
    fn roundtrip_every_direction_and_seek() {
        for interval in [1, 2, 16] {
            for n in [1, 2, 15, 16, 17, 100] {
                let input = entries(n);
                let block = build(&input, interval);
                assert_eq!(block.num_restarts(), n.div_ceil(interval));
                let mut it = block.iter();
                assert_eq!(collect_forward(&mut it), input, "interval {interval} n {n}");
                assert_eq!(
                    collect_backward(&mut it),
                    input,
                    "interval {interval} n {n}"
                );

                for (i, (k, v)) in input.iter().enumerate() {
                    // Exact key.
                    it.seek(k);
                    assert!(it.valid());
                    assert_eq!((it.key(), it.value()), (&k[..], &v[..]));
                    // prev then next comes back.
                    it.prev();
                    if i == 0 {
                        assert!(!it.valid());
                    } else {
                        assert_eq!(it.key(), &input[i - 1].0[..]);
                        it.next();
                        assert_eq!(it.key(), &k[..]);
                    }
                    // Between key i and i + 1: user key + "\0" sorts after k_i, before k_i+1.
                    let mut between = crate::key::user_key(k).to_vec();
                    between.push(0);
                    it.seek(&seek_key(&between, MAX_SEQUENCE_NUMBER));
                    match input.get(i + 1) {
                        Some((next_k, _)) => assert_eq!(it.key(), &next_k[..]),
                        None => assert!(!it.valid()),
                    }
                    it.status().unwrap();
                }
                // Before the first key and past the last.
                it.seek(&seek_key(b"", MAX_SEQUENCE_NUMBER));
                assert_eq!(it.key(), &input[0].0[..]);
                it.seek(&seek_key(b"zzz", MAX_SEQUENCE_NUMBER));
                assert!(!it.valid());
                it.status().unwrap();
            }
        }
    }

    #[test]
    fn seek_respects_sequence_order_within_a_user_key() {
        let input: Vec<_> = [9u64, 7, 5, 3]
            .iter()
            .map(|&s| {
                (
                    make_internal_key(b"k", s, ValueKind::Put),
                    s.to_le_bytes().to_vec(),
                )
            })
            .collect();
        let block = build(&input, 2);
        let mut it = block.iter();
        it.seek(&seek_key(b"k", 6));
        assert_eq!(it.value(), 5u64.to_le_bytes());
        it.seek(&seek_key(b"k", 7));
        assert_eq!(it.value(), 7u64.to_le_bytes());
        it.seek(&seek_key(b"k", 2));
        assert!(!it.valid());
    }

    #[test]
    fn empty_block() {
        let mut b = BlockBuilder::new(16);
        assert!(b.is_empty());
        let block = Arc::new(Block::new(b.finish().to_vec(), Arc::from("t"), 0).unwrap());
        assert_eq!(block.size(), 8);
        let mut it = block.iter();
        it.seek_to_first();
        assert!(!it.valid());
        it.seek_to_last();
        assert!(!it.valid());
        it.seek(b"anything");
        assert!(!it.valid());
        it.status().unwrap();
    }

    #[test]
    fn builder_reset_reuses_and_estimates() {
        let mut b = BlockBuilder::new(4);
        let input = entries(10);
        for (k, v) in &input {
            b.add(k, v);
        }
        let est = b.current_size_estimate();
        assert_eq!(b.finish().len(), est);
        b.reset();
        assert!(b.is_empty());
        for (k, v) in &input[..3] {
            b.add(k, v);
        }
        let block = Arc::new(Block::new(b.finish().to_vec(), Arc::from("t"), 0).unwrap());
        assert_eq!(collect_forward(&mut block.iter()), input[..3].to_vec());
    }

    /// Hand-assembles a block from raw entry bytes and a restart array.
    fn raw_block(entries: &[u8], restarts: &[u32], count: u32) -> Vec<u8> {
        let mut b = entries.to_vec();
        for &r in restarts {
            put_fixed32(&mut b, r);
        }
        put_fixed32(&mut b, count);
        b
    }

    fn raw_entry(dst: &mut Vec<u8>, shared: u32, non_shared: u32, value_len: u32, rest: &[u8]) {
        put_varint32(dst, shared);
        put_varint32(dst, non_shared);
        put_varint32(dst, value_len);
        dst.extend_from_slice(rest);
    }

    fn assert_block_rejected(contents: Vec<u8>) {
        let e = Block::new(contents, Arc::from("t"), 100).unwrap_err();
        assert!(e.is_corruption(), "{e}");
    }

    /// Runs every positioning method; returns the status if none saw an error.
    fn exercise(block: &Arc<Block>) -> Result<()> {
        let mut it = block.iter();
        it.seek_to_first();
        while it.valid() {
            it.next();
        }
        it.status()?;
        let mut it = block.iter();
        it.seek_to_last();
        while it.valid() {
            it.prev();
        }
        it.status()?;
        let mut it = block.iter();
        it.seek(&seek_key(b"key", 5));
        it.status()
    }

    #[test]
    fn malformed_restart_arrays_are_corruption() {
        assert_block_rejected(vec![]);
        assert_block_rejected(vec![1, 0, 0]);
        // Zero restarts, and more restarts than the block can hold.
        assert_block_rejected(raw_block(&[], &[], 0));
        assert_block_rejected(raw_block(&[], &[0], 2));
        assert_block_rejected(raw_block(&[], &[0], u32::MAX));
        // First restart not 0; not increasing; past the entries.
        let mut e = Vec::new();
        raw_entry(&mut e, 0, 9, 1, b"key\0\0\0\0\0\0v");
        raw_entry(&mut e, 0, 9, 1, b"kez\0\0\0\0\0\0v");
        assert!(Block::new(raw_block(&e, &[0, 13], 2), Arc::from("t"), 0).is_ok());
        assert_block_rejected(raw_block(&e, &[1], 1));
        assert_block_rejected(raw_block(&e, &[0, 0], 2));
        assert_block_rejected(raw_block(&e, &[0, 26], 2));
        assert_block_rejected(raw_block(&e, &[0, 500], 2));
        // A corruption error names the file and the block's offset.
        match Block::new(vec![], Arc::from("f.sst"), 77).unwrap_err() {
            Error::Corruption { file, offset, .. } => assert_eq!((&*file, offset), ("f.sst", 77)),
            e => panic!("{e}"),
        }
    }

    #[test]
    fn malformed_entries_are_corruption() {
        let key = b"key\0\0\0\0\0\0";
        let cases: Vec<Vec<u8>> = vec![
            // shared > previous key length (first entry: previous key is empty).
            {
                let mut e = Vec::new();
                raw_entry(&mut e, 3, 9, 1, b"key\0\0\0\0\0\0v");
                e
            },
            // non_shared past the end.
            {
                let mut e = Vec::new();
                raw_entry(&mut e, 0, 200, 1, key);
                e
            },
            // value_len past the end.
            {
                let mut e = Vec::new();
                raw_entry(&mut e, 0, 9, 200, key);
                e
            },
            // Huge lengths that would overflow.
            {
                let mut e = Vec::new();
                raw_entry(&mut e, 0, u32::MAX, u32::MAX, key);
                e
            },
            // Truncated varint.
            vec![0x80],
            // Second entry shares more than the first key has.
            {
                let mut e = Vec::new();
                raw_entry(&mut e, 0, 9, 0, key);
                raw_entry(&mut e, 10, 1, 0, b"x");
                e
            },
        ];
        for (i, entries) in cases.into_iter().enumerate() {
            let block =
                Arc::new(Block::new(raw_block(&entries, &[0], 1), Arc::from("t"), 0).unwrap());
            let err = exercise(&block).unwrap_err();
            assert!(err.is_corruption(), "case {i}: {err}");
        }

        // A restart point that is not on an entry boundary.
        let mut e = Vec::new();
        raw_entry(&mut e, 0, 9, 1, b"key\0\0\0\0\0\0v");
        raw_entry(&mut e, 0, 9, 1, b"kez\0\0\0\0\0\0v");
        let block = Arc::new(Block::new(raw_block(&e, &[0, 5], 2), Arc::from("t"), 0).unwrap());
        assert!(exercise(&block).unwrap_err().is_corruption());

        // A restart entry reached by scanning that claims a shared prefix.
        let mut e = Vec::new();
        raw_entry(&mut e, 0, 9, 1, b"key\0\0\0\0\0\0v");
        raw_entry(&mut e, 2, 7, 1, b"z\0\0\0\0\0\0v");
        let block = Arc::new(Block::new(raw_block(&e, &[0, 13], 2), Arc::from("t"), 0).unwrap());
        let mut it = block.iter();
        it.seek_to_first();
        it.next();
        assert!(!it.valid());
        assert!(it.status().unwrap_err().is_corruption());
        // Errors are sticky.
        it.seek_to_first();
        assert!(!it.valid());
        assert!(it.status().is_err());
    }

    proptest! {
        /// Arbitrary bytes never panic: either `Block::new` refuses them or every operation
        /// ends cleanly or with corruption.
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(block) = Block::new(bytes, Arc::from("t"), 0) {
                let block = Arc::new(block);
                if let Err(e) = exercise(&block) {
                    prop_assert!(e.is_corruption());
                }
            }
        }

        /// A valid block with random bytes overwritten never panics either.
        #[test]
        fn mutated_block_never_panics(
            n in 1usize..40,
            interval in 1usize..5,
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        ) {
            let mut bytes = build(&entries(n), interval).contents().to_vec();
            for (i, b) in edits {
                let at = i.index(bytes.len());
                bytes[at] = b;
            }
            if let Ok(block) = Block::new(bytes, Arc::from("t"), 0) {
                let block = Arc::new(block);
                if let Err(e) = exercise(&block) {
                    prop_assert!(e.is_corruption());
                }
            }
        }
    }
}
