//! The range-deletion block of an SSTable: the table's range tombstones.
//!
//! ```text
//! range-deletion block = count: varint64 | tombstone*
//! tombstone            = seq: varint64 | start: varint-length-prefixed
//!                        | end: varint-length-prefixed
//! ```
//!
//! Stored like the table's other meta blocks (uncompressed, with the usual 9-byte trailer
//! and its checksum), directly after the last data block; the properties block records
//! its size and count. A table is read whole at open, so there is no index or restart
//! array: a table holds few tombstones, and readers fragment them anyway. RocksDB keeps
//! its range tombstones in a meta block of the same purpose ("range_del").

use super::RangeTombstone;
use crate::coding::{put_length_prefixed, put_varint64, Decoder};

/// The block contents for `tombstones`.
pub(crate) fn encode_block(tombstones: &[RangeTombstone]) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint64(&mut out, tombstones.len() as u64);
    for t in tombstones {
        put_varint64(&mut out, t.seq);
        put_length_prefixed(&mut out, &t.start);
        put_length_prefixed(&mut out, &t.end);
    }
    out
}

/// Decodes a block written by [`encode_block`].
///
/// Errors: a description of what is malformed (the caller reports it as corruption of the
/// table): a truncated field, bytes after the last tombstone, a count that disagrees.
pub(crate) fn decode_block(src: &[u8]) -> Result<Vec<RangeTombstone>, String> {
    let mut d = Decoder::new(src);
    let n = d
        .varint64()
        .ok_or("range-deletion block: truncated count")?;
    let mut out = Vec::new();
    for i in 0..n {
        let bad = |what: &str| format!("range-deletion block: tombstone {i}: {what}");
        let seq = d.varint64().ok_or_else(|| bad("truncated sequence"))?;
        let start = d.length_prefixed().ok_or_else(|| bad("truncated start"))?;
        let end = d.length_prefixed().ok_or_else(|| bad("truncated end"))?;
        out.push(RangeTombstone::new(start, end, seq));
    }
    if !d.is_empty() {
        return Err(format!(
            "range-deletion block: {} bytes after {n} tombstones",
            d.remaining().len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_truncation() {
        let ts = vec![
            RangeTombstone::new(b"a", b"c", 7),
            RangeTombstone::new(b"", b"\xff\xff", 1 << 40),
        ];
        let b = encode_block(&ts);
        assert_eq!(decode_block(&b).unwrap(), ts);
        for cut in 0..b.len() {
            assert!(decode_block(&b[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = b.clone();
        long.push(0);
        assert!(decode_block(&long).is_err());
    }
}
