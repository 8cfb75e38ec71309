//! [`WriteBatch`]: several puts and deletes applied atomically.
//!
//! A batch is encoded once, as it is built, in the form the WAL stores (LevelDB's
//! `db/write_batch.cc`):
//!
//! ```text
//! batch  = seq: fixed64 | count: fixed32 | record*
//! record = kind: u8 (1 = Put, 0 = Delete, 2 = DeleteRange) | key: varint-length-prefixed
//!          | value: varint-length-prefixed (Put: the value; DeleteRange: the end key)
//! ```
//!
//! A DeleteRange record's key is the range's start (inclusive), its value the end
//! (exclusive); it becomes a range tombstone (see [`crate::range_del`]).
//!
//! The sequence number is filled in by the write path: record `i` gets `seq + i`. A batch is
//! one WAL record, so after a crash either all of it or none of it is there.

use crate::coding::{get_fixed32, get_fixed64, put_length_prefixed, Decoder};
use crate::error::{Error, Result};
use crate::key::{SequenceNumber, ValueKind};
use crate::memtable::MemTable;
use crate::options::{MAX_KEY_SIZE, MAX_VALUE_SIZE};

/// Record kind byte of a range deletion (beside [`ValueKind`]'s 0 and 1, which are also
/// the point entries' kinds in internal keys; range tombstones never appear there).
const RANGE_DELETE_RECORD: u8 = 2;

/// Bytes of the batch header: sequence (8) + count (4).
pub const BATCH_HEADER_LEN: usize = 12;

/// An ordered group of puts and deletes, written atomically by
/// [`Db::write`](crate::Db::write). Later operations on the same key win.
#[derive(Clone, PartialEq, Eq)]
pub struct WriteBatch {
    rep: Vec<u8>,
}

impl Default for WriteBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for WriteBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteBatch")
            .field("count", &self.count())
            .field("bytes", &self.rep.len())
            .finish()
    }
}

/// Checks a key against the engine's limits: every write path ([`WriteBatch`],
/// [`Db::put`](crate::Db::put), [`Transaction`](crate::Transaction)) and every point read
/// calls it, and bindings call it (or [`check_key_len`]) rather than stating the limits.
///
/// Errors: [`Error::InvalidArgument`] for an empty key or one longer than
/// [`MAX_KEY_SIZE`] bytes.
pub fn check_key(key: &[u8]) -> Result<()> {
    check_key_len(key.len())
}

/// [`check_key`] on a key's length alone, for callers that must refuse a length before they
/// read the bytes (the C ABI gets a pointer and a length, and an absurd length must not be
/// read).
///
/// Errors: [`Error::InvalidArgument`] if `len` is 0 or over [`MAX_KEY_SIZE`].
pub fn check_key_len(len: usize) -> Result<()> {
    if len == 0 {
        return Err(Error::InvalidArgument("key must not be empty".into()));
    }
    check_bound_len("key", len)
}

/// Checks the bounds of a range deletion `[start, end)`: both at most [`MAX_KEY_SIZE`]
/// bytes (`start` may be empty), `start <= end`.
///
/// Errors: [`Error::InvalidArgument`] otherwise.
pub fn check_range(start: &[u8], end: &[u8]) -> Result<()> {
    check_bound_len("range start", start.len())?;
    check_bound_len("range end", end.len())?;
    if start > end {
        return Err(Error::InvalidArgument(
            "range deletion start is after its end".into(),
        ));
    }
    Ok(())
}

/// Checks a value against the engine's limit.
///
/// Errors: [`Error::InvalidArgument`] for a value longer than [`MAX_VALUE_SIZE`] bytes.
pub fn check_value(value: &[u8]) -> Result<()> {
    check_value_len(value.len())
}

/// [`check_value`] on a value's length alone (see [`check_key_len`] for why).
///
/// Errors: [`Error::InvalidArgument`] if `len` is over [`MAX_VALUE_SIZE`].
pub fn check_value_len(len: usize) -> Result<()> {
    if len > MAX_VALUE_SIZE {
        return Err(Error::InvalidArgument(format!(
            "value is {len} bytes, the limit is {MAX_VALUE_SIZE}"
        )));
    }
    Ok(())
}

/// Checks the length of a key-shaped argument that may be empty: a seek target, an iterator
/// bound or prefix, an end of a compaction range. `what` names it in the message. No stored
/// key is longer than [`MAX_KEY_SIZE`], so a longer argument is refused as a caller's
/// mistake (a garbage length) rather than read; the engine's own methods accept any length,
/// and only callers that take raw lengths (the C ABI) need this.
///
/// Errors: [`Error::InvalidArgument`] if `len` is over [`MAX_KEY_SIZE`].
pub fn check_bound_len(what: &str, len: usize) -> Result<()> {
    if len > MAX_KEY_SIZE {
        return Err(Error::InvalidArgument(format!(
            "{what} is {len} bytes, the limit is {MAX_KEY_SIZE}"
        )));
    }
    Ok(())
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty batch with room for `bytes` bytes of records before it reallocates (a put
    /// takes key + value + about 11 bytes).
    pub fn with_capacity(bytes: usize) -> Self {
        let mut rep = Vec::with_capacity(BATCH_HEADER_LEN + bytes);
        rep.resize(BATCH_HEADER_LEN, 0);
        WriteBatch { rep }
    }

    /// Adds `key = value`.
    ///
    /// Errors: [`Error::InvalidArgument`] for an empty key, a key over
    /// [`MAX_KEY_SIZE`] or a value over [`MAX_VALUE_SIZE`]; the batch is unchanged.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        check_key(key)?;
        check_value(value)?;
        self.rep.push(ValueKind::Put as u8);
        put_length_prefixed(&mut self.rep, key);
        put_length_prefixed(&mut self.rep, value);
        self.set_count(self.count() + 1);
        Ok(())
    }

    /// Adds a deletion of `key` (a tombstone).
    ///
    /// Errors: [`Error::InvalidArgument`] for an empty key or a key over [`MAX_KEY_SIZE`].
    pub fn delete(&mut self, key: &[u8]) -> Result<()> {
        check_key(key)?;
        self.rep.push(ValueKind::Delete as u8);
        put_length_prefixed(&mut self.rep, key);
        self.set_count(self.count() + 1);
        Ok(())
    }

    /// Adds a deletion of every key in `[start, end)` (bytewise; a range tombstone). Costs
    /// the same whatever the number of keys covered. `start` may be empty (from the first
    /// key); an empty range (`start == end`) adds nothing.
    ///
    /// Errors: [`Error::InvalidArgument`] if `start > end` or either is over
    /// [`MAX_KEY_SIZE`] bytes; the batch is unchanged.
    pub fn delete_range(&mut self, start: &[u8], end: &[u8]) -> Result<()> {
        check_range(start, end)?;
        if start == end {
            return Ok(());
        }
        self.rep.push(RANGE_DELETE_RECORD);
        put_length_prefixed(&mut self.rep, start);
        put_length_prefixed(&mut self.rep, end);
        self.set_count(self.count() + 1);
        Ok(())
    }

    /// Removes every operation.
    pub fn clear(&mut self) {
        self.rep.truncate(BATCH_HEADER_LEN);
        self.rep.fill(0);
    }

    /// Number of operations.
    pub fn count(&self) -> u32 {
        get_fixed32(&self.rep[8..]).unwrap_or(0)
    }

    /// True if the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// Encoded size in bytes (what the WAL record will hold).
    pub fn size_in_bytes(&self) -> usize {
        self.rep.len()
    }

    fn set_count(&mut self, n: u32) {
        self.rep[8..12].copy_from_slice(&n.to_le_bytes());
    }

    /// The sequence number of the first operation (set by the write path).
    pub fn sequence(&self) -> SequenceNumber {
        get_fixed64(&self.rep).unwrap_or(0)
    }

    pub(crate) fn set_sequence(&mut self, seq: SequenceNumber) {
        self.rep[..8].copy_from_slice(&seq.to_le_bytes());
    }

    /// The encoded form (header + records).
    pub fn as_bytes(&self) -> &[u8] {
        &self.rep
    }

    /// Appends every operation of `other` to `self` (used by group commit).
    pub(crate) fn append(&mut self, other: &WriteBatch) {
        self.rep.extend_from_slice(&other.rep[BATCH_HEADER_LEN..]);
        self.set_count(self.count() + other.count());
    }

    /// Rebuilds a batch from its encoded form (a WAL record), checking that it decodes
    /// completely and that the count matches.
    ///
    /// Errors: [`Error::Corruption`] naming `file` and `offset` (the record's position) if it
    /// does not.
    pub fn from_bytes(bytes: &[u8], file: &str, offset: u64) -> Result<WriteBatch> {
        let b = WriteBatch {
            rep: bytes.to_vec(),
        };
        if bytes.len() < BATCH_HEADER_LEN {
            return Err(Error::corruption(
                file,
                offset,
                "write batch shorter than its header",
            ));
        }
        let mut n = 0u32;
        for op in b.iter() {
            op.map_err(|d| Error::corruption(file, offset, d))?;
            n += 1;
        }
        if n != b.count() {
            return Err(Error::corruption(
                file,
                offset,
                format!("write batch count {} but {n} records", b.count()),
            ));
        }
        Ok(b)
    }

    /// Inserts every operation into `mem`, the first at [`sequence`](Self::sequence) and
    /// each next one a sequence number higher, and returns the last sequence number used
    /// (LevelDB's `WriteBatchInternal::InsertInto`). The write path and WAL recovery both
    /// apply batches to the memtable through this one function.
    ///
    /// Errors: a description of the first malformed operation (only possible for a batch
    /// from [`from_bytes`](Self::from_bytes), which checks the encoding first); the
    /// operations before it are inserted.
    pub(crate) fn insert_into(
        &self,
        mem: &MemTable,
    ) -> std::result::Result<SequenceNumber, String> {
        let mut seq = self.sequence();
        for op in self.iter() {
            match op? {
                BatchOp::Put(k, v) => mem.add(seq, ValueKind::Put, k, v),
                BatchOp::Delete(k) => mem.add(seq, ValueKind::Delete, k, b""),
                BatchOp::DeleteRange(start, end) => mem.add_range_tombstone(seq, start, end),
            }
            seq += 1;
        }
        Ok(seq - 1)
    }

    /// The operations in order, each `Err(detail)` if the encoding is malformed (only possible
    /// for a batch from [`from_bytes`](Self::from_bytes), which checks it first).
    pub fn iter(&self) -> BatchIter<'_> {
        BatchIter {
            d: Decoder::new(&self.rep[BATCH_HEADER_LEN.min(self.rep.len())..]),
        }
    }
}

/// One operation of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOp<'a> {
    /// `key = value`
    Put(&'a [u8], &'a [u8]),
    /// delete `key`
    Delete(&'a [u8]),
    /// delete every key in `[start, end)`
    DeleteRange(&'a [u8], &'a [u8]),
}

/// Iterator over a batch's operations, from [`WriteBatch::iter`].
pub struct BatchIter<'a> {
    d: Decoder<'a>,
}

impl<'a> Iterator for BatchIter<'a> {
    type Item = std::result::Result<BatchOp<'a>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.d.is_empty() {
            return None;
        }
        let pos = self.d.position();
        let r = (|| {
            let kind = self.d.u8().ok_or("truncated record kind")?;
            let key = self.d.length_prefixed().ok_or("truncated key")?;
            if kind == RANGE_DELETE_RECORD {
                let end = self.d.length_prefixed().ok_or("truncated range end")?;
                if key >= end {
                    return Err("range deletion with start >= end");
                }
                return Ok(BatchOp::DeleteRange(key, end));
            }
            match ValueKind::from_u8(kind) {
                Some(ValueKind::Put) => {
                    let v = self.d.length_prefixed().ok_or("truncated value")?;
                    Ok(BatchOp::Put(key, v))
                }
                Some(ValueKind::Delete) => Ok(BatchOp::Delete(key)),
                None => Err("unknown record kind"),
            }
        })();
        Some(r.map_err(|e| {
            // Stop after the first error.
            self.d = Decoder::new(&[]);
            format!("write batch record at byte {}: {e}", pos + BATCH_HEADER_LEN)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_roundtrip() {
        let mut b = WriteBatch::new();
        b.put(b"a", b"1").unwrap();
        b.delete(b"b").unwrap();
        b.put(b"c", b"").unwrap();
        b.delete_range(b"d", b"f").unwrap();
        b.delete_range(b"x", b"x").unwrap(); // empty: nothing added
        b.set_sequence(42);
        let d = WriteBatch::from_bytes(b.as_bytes(), "x", 0).unwrap();
        assert_eq!(d.sequence(), 42);
        assert_eq!(d.count(), 4);
        let ops: Vec<_> = d.iter().map(|o| o.unwrap()).collect();
        assert_eq!(
            ops,
            vec![
                BatchOp::Put(b"a", b"1"),
                BatchOp::Delete(b"b"),
                BatchOp::Put(b"c", b""),
                BatchOp::DeleteRange(b"d", b"f"),
            ]
        );
    }

    #[test]
    fn invalid_keys_are_rejected_and_leave_batch_unchanged() {
        let mut b = WriteBatch::new();
        assert!(matches!(b.put(b"", b"v"), Err(Error::InvalidArgument(_))));
        assert!(b.delete(&vec![0u8; MAX_KEY_SIZE + 1]).is_err());
        assert!(matches!(
            b.delete_range(b"b", b"a"),
            Err(Error::InvalidArgument(_))
        ));
        assert!(b.delete_range(b"", &vec![0u8; MAX_KEY_SIZE + 1]).is_err());
        assert!(b.is_empty());
        assert_eq!(b.size_in_bytes(), BATCH_HEADER_LEN);
    }

    #[test]
    fn malformed_encodings_are_corruption() {
        let mut b = WriteBatch::new();
        b.put(b"key", b"value").unwrap();
        let bytes = b.as_bytes();
        for cut in 0..bytes.len() {
            assert!(WriteBatch::from_bytes(&bytes[..cut], "f", 7)
                .unwrap_err()
                .is_corruption());
        }
        let mut bad = bytes.to_vec();
        bad[BATCH_HEADER_LEN] = 9;
        assert!(WriteBatch::from_bytes(&bad, "f", 7).is_err());
        let mut wrong_count = bytes.to_vec();
        wrong_count[8] = 2;
        assert!(WriteBatch::from_bytes(&wrong_count, "f", 7).is_err());
    }
}
