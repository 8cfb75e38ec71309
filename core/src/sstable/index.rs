//! [`TableIndex`]: a table's index block, decoded once at open.
//!
//! Every lookup starts with a binary search of the index, so [`Table::open`](super::Table)
//! decodes the index block into flat arrays (keys side by side, handles as integers)
//! instead of keeping the encoded block: a probe of the search is then one slice comparison,
//! with no varint decoding. Decoding is also where the index is validated, once: its keys
//! must increase and its handles must tile the data region exactly, block after block, so
//! later reads can trust every handle.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::iterator::InternalIterator;
use crate::key::{compare_internal_keys, TRAILER_LEN};

use super::block::Block;
use super::format::BlockHandle;

/// Smallest possible encoded index entry: three one-byte varint lengths, an 8-byte key
/// trailer, a two-byte handle. Bounds the capacity reserved from the block size.
const MIN_INDEX_ENTRY_LEN: usize = 3 + TRAILER_LEN + 2;

/// The decoded index of a table: for each data block, in order, its separator key (`>=`
/// every key of the block, `<` every key of the next) and its handle.
#[derive(Debug, Default)]
pub struct TableIndex {
    /// All separator keys, concatenated.
    keys: Vec<u8>,
    /// `keys[key_ends[i - 1]..key_ends[i]]` is key `i` (from 0 for `i == 0`).
    key_ends: Vec<usize>,
    handles: Vec<BlockHandle>,
}

impl TableIndex {
    /// Decodes and validates the index `block` of a table whose data blocks take the first
    /// `data_bytes` bytes of the file and number `num_data_blocks` (from the properties).
    ///
    /// Errors: [`Error::Corruption`] at the index block's offset if an entry does not decode,
    /// a key is shorter than an internal-key trailer or not greater than the previous one,
    /// a handle does not start where the previous block ended, or the blocks do not add up
    /// to `data_bytes` and `num_data_blocks`.
    pub fn decode(
        block: &Arc<Block>,
        data_bytes: u64,
        num_data_blocks: u64,
        file: &str,
    ) -> Result<TableIndex> {
        let bad = |detail: String| Error::corruption(file, block.file_offset(), detail);
        let capacity = block.size() / MIN_INDEX_ENTRY_LEN;
        let mut index = TableIndex {
            keys: Vec::with_capacity(block.size()),
            key_ends: Vec::with_capacity(capacity),
            handles: Vec::with_capacity(capacity),
        };
        let mut expected_offset = 0u64;
        let mut it = block.iter();
        it.seek_to_first();
        while it.valid() {
            let i = index.len();
            let handle = BlockHandle::decode_varint(it.value())
                .ok_or_else(|| bad(format!("index entry {i} has a malformed handle")))?;
            if handle.offset != expected_offset {
                return Err(bad(format!(
                    "index entry {i} points at {}, expected {expected_offset}",
                    handle.offset
                )));
            }
            expected_offset = handle
                .end_with_trailer()
                .ok_or_else(|| bad(format!("index entry {i} overflows")))?;
            let key = it.key();
            let ordered = i == 0 || compare_internal_keys(index.key(i - 1), key).is_lt();
            if key.len() < TRAILER_LEN || !ordered {
                return Err(bad(format!("index key {i} is malformed or out of order")));
            }
            index.keys.extend_from_slice(key);
            index.key_ends.push(index.keys.len());
            index.handles.push(handle);
            it.next();
        }
        it.status()?;
        if expected_offset != data_bytes || index.len() as u64 != num_data_blocks {
            return Err(bad(format!(
                "index describes {} blocks over {expected_offset} bytes, properties say \
                 {num_data_blocks} blocks over {data_bytes} bytes",
                index.len()
            )));
        }
        Ok(index)
    }

    /// Heap bytes this index holds (what a block cache charges for it).
    pub fn memory_size(&self) -> usize {
        self.keys.capacity()
            + self.key_ends.capacity() * std::mem::size_of::<usize>()
            + self.handles.capacity() * std::mem::size_of::<BlockHandle>()
    }

    /// Number of data blocks.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// True for an empty table.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// The separator key of block `i`. Panics if `i >= len()`.
    pub fn key(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.key_ends[i - 1] };
        &self.keys[start..self.key_ends[i]]
    }

    /// The handle of block `i`. Panics if `i >= len()`.
    pub fn handle(&self, i: usize) -> BlockHandle {
        self.handles[i]
    }

    /// The first block whose separator key is `>= target`: the only block that can hold
    /// the first entry `>= target`. Returns `len()` if every key is smaller.
    pub fn seek(&self, target: &[u8]) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if compare_internal_keys(self.key(mid), target).is_lt() {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{make_internal_key, ValueKind};
    use crate::sstable::block_builder::BlockBuilder;

    fn index_block(entries: &[(&[u8], BlockHandle)]) -> Arc<Block> {
        let mut b = BlockBuilder::new(1);
        for (k, h) in entries {
            let mut v = Vec::new();
            h.encode_varint_to(&mut v);
            b.add(k, &v);
        }
        Arc::new(Block::new(b.finish().to_vec(), Arc::from("t"), 1000).unwrap())
    }

    #[test]
    fn decode_and_seek() {
        let (a, c) = (
            make_internal_key(b"a", 1, ValueKind::Put),
            make_internal_key(b"c", 1, ValueKind::Put),
        );
        let block = index_block(&[
            (&a, BlockHandle::new(0, 100)),
            (&c, BlockHandle::new(109, 50)),
        ]);
        let index = TableIndex::decode(&block, 168, 2, "t").unwrap();
        assert_eq!(index.len(), 2);
        assert_eq!(
            (index.key(1), index.handle(1)),
            (&c[..], BlockHandle::new(109, 50))
        );
        assert_eq!(index.seek(&make_internal_key(b"", 0, ValueKind::Put)), 0);
        assert_eq!(index.seek(&a), 0);
        assert_eq!(index.seek(&make_internal_key(b"b", 1, ValueKind::Put)), 1);
        assert_eq!(index.seek(&make_internal_key(b"d", 1, ValueKind::Put)), 2);
    }

    #[test]
    fn inconsistent_indexes_are_corruption() {
        let (a, c) = (
            make_internal_key(b"a", 1, ValueKind::Put),
            make_internal_key(b"c", 1, ValueKind::Put),
        );
        let cases: Vec<(Arc<Block>, u64, u64)> = vec![
            // A gap between blocks.
            (
                index_block(&[
                    (&a, BlockHandle::new(0, 100)),
                    (&c, BlockHandle::new(110, 50)),
                ]),
                169,
                2,
            ),
            // Not starting at 0.
            (index_block(&[(&a, BlockHandle::new(5, 100))]), 114, 1),
            // Keys out of order.
            (
                index_block(&[
                    (&c, BlockHandle::new(0, 100)),
                    (&a, BlockHandle::new(109, 50)),
                ]),
                168,
                2,
            ),
            // A key too short to be an internal key.
            (index_block(&[(b"k", BlockHandle::new(0, 100))]), 109, 1),
            // Totals that disagree with the properties.
            (index_block(&[(&a, BlockHandle::new(0, 100))]), 200, 1),
            (index_block(&[(&a, BlockHandle::new(0, 100))]), 109, 2),
            // Overflowing handle.
            (index_block(&[(&a, BlockHandle::new(0, u64::MAX))]), 109, 1),
        ];
        for (i, (block, data_bytes, blocks)) in cases.into_iter().enumerate() {
            match TableIndex::decode(&block, data_bytes, blocks, "t") {
                Err(Error::Corruption { offset, .. }) => assert_eq!(offset, 1000, "case {i}"),
                other => panic!("case {i}: {other:?}"),
            }
        }
        // A value that is not a handle.
        let mut b = BlockBuilder::new(1);
        b.add(&a, b"\x80");
        let block = Arc::new(Block::new(b.finish().to_vec(), Arc::from("t"), 1000).unwrap());
        assert!(TableIndex::decode(&block, 0, 1, "t")
            .unwrap_err()
            .is_corruption());
    }
}
