//! [`TableProperties`]: statistics about a table, stored in its properties block.
//!
//! The block is a sequence of tagged fields, in the spirit of protocol buffers:
//!
//! ```text
//! properties block = field*
//! field            = tag: varint32 | payload
//! tag              = field_number << 1 | wire_type
//! payload          = varint64                        (wire_type 0)
//!                  | length: varint64 | bytes        (wire_type 1)
//! ```
//!
//! Field numbers (all required in format version 1, each at most once):
//!
//! | # | field             | wire | # | field          | wire |
//! |---|-------------------|------|---|----------------|------|
//! | 1 | `num_entries`     | 0    | 7 | `filter_bytes` | 0    |
//! | 2 | `num_deletions`   | 0    | 8 | `smallest_key` | 1    |
//! | 3 | `num_data_blocks` | 0    | 9 | `largest_key`  | 1    |
//! | 4 | `raw_key_bytes`   | 0    |10 | `smallest_seq` | 0    |
//! | 5 | `raw_value_bytes` | 0    |11 | `largest_seq`  | 0    |
//! | 6 | `data_bytes`      | 0    |   |                |      |
//!
//! Fields 12 `num_range_deletions` and 13 `range_del_bytes` (both wire 0) are written
//! only by tables that have a range-deletion block (table format 2), and read as 0 when
//! absent.
//!
//! Unknown field numbers are skipped (by their wire type), so a later version can add
//! statistics that older readers ignore. `index_bytes`, `file_size` and `format_version` are
//! not stored: the block is written before the index and the footer, and the reader fills
//! them in from the footer and the file length.

use crate::coding::{put_length_prefixed, put_varint32, put_varint64, Decoder};
use crate::error::{Error, Result};
use crate::key::{compare_internal_keys, TRAILER_LEN};

/// Counters about one table. Sizes are in bytes; `*_bytes` sizes of blocks are on-disk
/// sizes, block trailers included.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableProperties {
    /// Entries (puts and deletions) in the table.
    pub num_entries: u64,
    /// Entries that are deletions (tombstones).
    pub num_deletions: u64,
    /// Data blocks in the table.
    pub num_data_blocks: u64,
    /// Sum of the internal keys' lengths, before prefix compression.
    pub raw_key_bytes: u64,
    /// Sum of the values' lengths.
    pub raw_value_bytes: u64,
    /// Bytes of all data blocks (equals the filter block's offset).
    pub data_bytes: u64,
    /// Bytes of the index block.
    pub index_bytes: u64,
    /// Bytes of the filter block.
    pub filter_bytes: u64,
    /// The smallest internal key (empty for an empty table).
    pub smallest_key: Vec<u8>,
    /// The largest internal key (empty for an empty table).
    pub largest_key: Vec<u8>,
    /// The smallest sequence number of any entry (0 for an empty table).
    pub smallest_seq: u64,
    /// The largest sequence number of any entry (0 for an empty table).
    pub largest_seq: u64,
    /// Range tombstones in the range-deletion block (0 if the table has none).
    pub num_range_deletions: u64,
    /// Bytes of the range-deletion block (0 if none), which sits between the data blocks
    /// and the filter block.
    pub range_del_bytes: u64,
    /// Length of the table file.
    pub file_size: u64,
    /// The table's format version (from the footer).
    pub format_version: u32,
}

const WIRE_VARINT: u32 = 0;
const WIRE_BYTES: u32 = 1;
const NUM_FIELDS: u32 = 11;

impl TableProperties {
    /// Encodes the stored fields (see the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(64 + self.smallest_key.len() + self.largest_key.len());
        let varint = |buf: &mut Vec<u8>, field: u32, v: u64| {
            put_varint32(buf, field << 1 | WIRE_VARINT);
            put_varint64(buf, v);
        };
        varint(&mut buf, 1, self.num_entries);
        varint(&mut buf, 2, self.num_deletions);
        varint(&mut buf, 3, self.num_data_blocks);
        varint(&mut buf, 4, self.raw_key_bytes);
        varint(&mut buf, 5, self.raw_value_bytes);
        varint(&mut buf, 6, self.data_bytes);
        varint(&mut buf, 7, self.filter_bytes);
        put_varint32(&mut buf, 8 << 1 | WIRE_BYTES);
        put_length_prefixed(&mut buf, &self.smallest_key);
        put_varint32(&mut buf, 9 << 1 | WIRE_BYTES);
        put_length_prefixed(&mut buf, &self.largest_key);
        varint(&mut buf, 10, self.smallest_seq);
        varint(&mut buf, 11, self.largest_seq);
        if self.num_range_deletions > 0 {
            varint(&mut buf, 12, self.num_range_deletions);
            varint(&mut buf, 13, self.range_del_bytes);
        }
        buf
    }

    /// Decodes a properties block read from `file` at `offset`. The fields that are not
    /// stored are left at zero.
    ///
    /// Errors: [`Error::Corruption`] for a truncated or malformed field, a known field with
    /// the wrong wire type or seen twice, a missing field, or values that contradict each
    /// other (deletions above entries, smallest key above largest, ...).
    pub fn decode(src: &[u8], file: &str, offset: u64) -> Result<TableProperties> {
        let mut p = TableProperties::default();
        let mut seen = 0u32;
        let mut d = Decoder::new(src);
        while !d.is_empty() {
            let at = d.position();
            let bad = |detail: String| Error::corruption(file, offset + at as u64, detail);
            let tag = d
                .varint32()
                .ok_or_else(|| bad("truncated property tag".into()))?;
            let (field, wire) = (tag >> 1, tag & 1);
            let mut num = 0;
            let mut bytes: &[u8] = &[];
            match wire {
                WIRE_VARINT => {
                    num = d
                        .varint64()
                        .ok_or_else(|| bad(format!("property {field}: truncated varint")))?
                }
                _ => {
                    bytes = d
                        .length_prefixed()
                        .ok_or_else(|| bad(format!("property {field}: length past the end")))?
                }
            }
            if field == 12 || field == 13 {
                if wire != WIRE_VARINT {
                    return Err(bad(format!("property {field} has wire type {wire}")));
                }
                if seen & (1 << field) != 0 {
                    return Err(bad(format!("property {field} appears twice")));
                }
                seen |= 1 << field;
                if field == 12 {
                    p.num_range_deletions = num;
                } else {
                    p.range_del_bytes = num;
                }
                continue;
            }
            if !(1..=NUM_FIELDS).contains(&field) {
                continue; // a field from a newer writer
            }
            let expected_wire = if field == 8 || field == 9 {
                WIRE_BYTES
            } else {
                WIRE_VARINT
            };
            if wire != expected_wire {
                return Err(bad(format!("property {field} has wire type {wire}")));
            }
            if seen & (1 << field) != 0 {
                return Err(bad(format!("property {field} appears twice")));
            }
            seen |= 1 << field;
            match field {
                1 => p.num_entries = num,
                2 => p.num_deletions = num,
                3 => p.num_data_blocks = num,
                4 => p.raw_key_bytes = num,
                5 => p.raw_value_bytes = num,
                6 => p.data_bytes = num,
                7 => p.filter_bytes = num,
                8 => p.smallest_key = bytes.to_vec(),
                9 => p.largest_key = bytes.to_vec(),
                10 => p.smallest_seq = num,
                _ => p.largest_seq = num,
            }
        }
        let bad = |detail: String| Error::corruption(file, offset, detail);
        let all = ((1u32 << (NUM_FIELDS + 1)) - 1) & !1;
        if seen & all != all {
            let missing = (1..=NUM_FIELDS).find(|f| seen & (1 << f) == 0).unwrap_or(0);
            return Err(bad(format!("properties block lacks field {missing}")));
        }
        p.check_consistent().map_err(bad)?;
        Ok(p)
    }

    /// Checks the relations between stored fields that every valid table satisfies.
    fn check_consistent(&self) -> std::result::Result<(), String> {
        if (self.num_range_deletions == 0) != (self.range_del_bytes == 0) {
            return Err(format!(
                "{} range deletions in a {}-byte range-deletion block",
                self.num_range_deletions, self.range_del_bytes
            ));
        }
        if self.num_deletions > self.num_entries {
            return Err(format!(
                "{} deletions among {} entries",
                self.num_deletions, self.num_entries
            ));
        }
        if self.num_entries == 0 {
            let empty = self.smallest_key.is_empty()
                && self.largest_key.is_empty()
                && self.num_data_blocks == 0;
            return if empty {
                Ok(())
            } else {
                Err("empty table with keys or data blocks".into())
            };
        }
        if self.num_data_blocks == 0 || self.num_data_blocks > self.num_entries {
            return Err(format!(
                "{} data blocks for {} entries",
                self.num_data_blocks, self.num_entries
            ));
        }
        if self.smallest_key.len() < TRAILER_LEN
            || self.largest_key.len() < TRAILER_LEN
            || compare_internal_keys(&self.smallest_key, &self.largest_key).is_gt()
        {
            return Err("smallest and largest keys are not ordered internal keys".into());
        }
        if self.smallest_seq > self.largest_seq {
            return Err(format!(
                "sequence range {}..{} is reversed",
                self.smallest_seq, self.largest_seq
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{make_internal_key, ValueKind};

    fn sample() -> TableProperties {
        TableProperties {
            num_entries: 1000,
            num_deletions: 10,
            num_data_blocks: 7,
            raw_key_bytes: 20_000,
            raw_value_bytes: 300_000,
            data_bytes: 250_000,
            filter_bytes: 1260,
            smallest_key: make_internal_key(b"aaa", 3, ValueKind::Put),
            largest_key: make_internal_key(b"zzz", 900, ValueKind::Delete),
            smallest_seq: 1,
            largest_seq: 1000,
            ..Default::default()
        }
    }

    #[test]
    fn roundtrip() {
        let p = sample();
        assert_eq!(TableProperties::decode(&p.encode(), "t", 0).unwrap(), p);
        let empty = TableProperties::default();
        assert_eq!(
            TableProperties::decode(&empty.encode(), "t", 0).unwrap(),
            empty
        );
    }

    #[test]
    fn unknown_fields_are_skipped() {
        let mut buf = sample().encode();
        put_varint32(&mut buf, 40 << 1);
        put_varint64(&mut buf, 12345);
        put_varint32(&mut buf, 41 << 1 | 1);
        put_length_prefixed(&mut buf, b"future");
        assert_eq!(TableProperties::decode(&buf, "t", 0).unwrap(), sample());
    }

    #[test]
    fn malformed_blocks_are_corruption() {
        let good = sample().encode();
        // Every truncation.
        for len in 0..good.len() {
            let e = TableProperties::decode(&good[..len], "t", 0).unwrap_err();
            assert!(e.is_corruption(), "len {len}");
        }
        // Duplicate field.
        let mut dup = good.clone();
        put_varint32(&mut dup, 1 << 1);
        put_varint64(&mut dup, 1);
        assert!(TableProperties::decode(&dup, "t", 0).is_err());
        // Wrong wire type for a known field.
        let mut wire = Vec::new();
        put_varint32(&mut wire, 1 << 1 | 1);
        put_length_prefixed(&mut wire, b"x");
        assert!(TableProperties::decode(&wire, "t", 0).is_err());
        // Inconsistent values.
        let mut p = sample();
        p.num_deletions = 2000;
        assert!(TableProperties::decode(&p.encode(), "t", 0).is_err());
        let mut p = sample();
        std::mem::swap(&mut p.smallest_key, &mut p.largest_key);
        assert!(TableProperties::decode(&p.encode(), "t", 0).is_err());
        let mut p = sample();
        p.smallest_seq = 5000;
        assert!(TableProperties::decode(&p.encode(), "t", 0).is_err());
        // Offsets are reported relative to the file.
        match TableProperties::decode(&[0x80], "f", 500).unwrap_err() {
            Error::Corruption { file, offset, .. } => assert_eq!((&*file, offset), ("f", 500)),
            e => panic!("{e}"),
        }
    }
}
