//! [`VersionEdit`]: one change to the set of tables and counters, as stored in the manifest.
//!
//! Encoding: a sequence of fields, each a varint tag followed by its value (the scheme of
//! LevelDB's `db/version_edit.cc`). Unknown tags are corruption: a field we cannot interpret
//! might change the meaning of the state.
//!
//! | tag | field              | value                                                        |
//! |-----|--------------------|--------------------------------------------------------------|
//! | 1   | format version     | varint32                                                     |
//! | 2   | options            | length-prefixed UTF-8 (`name=value` lines)                   |
//! | 3   | log number         | varint64                                                     |
//! | 4   | next file number   | varint64                                                     |
//! | 5   | last sequence      | varint64                                                     |
//! | 6   | deleted file       | varint32 level, varint64 number                              |
//! | 7   | new file           | varint32 level, varint64 number, size; length-prefixed       |
//! |     |                    | smallest and largest internal keys; varint64 smallest_seq,   |
//! |     |                    | largest_seq, num_entries, num_deletions                      |

use std::sync::Arc;

use super::version::{FileMetaData, NUM_LEVELS};
use crate::coding::{put_length_prefixed, put_varint32, put_varint64, Decoder};
use crate::error::{Error, Result};

const TAG_FORMAT_VERSION: u32 = 1;
const TAG_OPTIONS: u32 = 2;
const TAG_LOG_NUMBER: u32 = 3;
const TAG_NEXT_FILE_NUMBER: u32 = 4;
const TAG_LAST_SEQUENCE: u32 = 5;
const TAG_DELETED_FILE: u32 = 6;
const TAG_NEW_FILE: u32 = 7;

/// A change to the database's state: tables added and removed, counters moved forward.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionEdit {
    /// The manifest format version (set in a manifest's first, snapshot, edit).
    pub format_version: Option<u32>,
    /// The persisted options, as [`Options::to_persisted`](crate::Options::to_persisted) writes
    /// them.
    pub options: Option<String>,
    /// WAL segments numbered below this hold nothing that is not in SSTables.
    pub log_number: Option<u64>,
    /// The next unused file number.
    pub next_file_number: Option<u64>,
    /// The largest sequence number of any write in the database's files.
    pub last_sequence: Option<u64>,
    /// `(level, file number)` of tables removed.
    pub deleted_files: Vec<(usize, u64)>,
    /// `(level, table)` of tables added.
    pub new_files: Vec<(usize, FileMetaData)>,
}

impl VersionEdit {
    /// Records that `file` was added to `level`.
    pub fn add_file(&mut self, level: usize, file: FileMetaData) {
        self.new_files.push((level, file));
    }

    /// Records that table `number` was removed from `level`.
    pub fn delete_file(&mut self, level: usize, number: u64) {
        self.deleted_files.push((level, number));
    }

    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::new();
        if let Some(v) = self.format_version {
            put_varint32(&mut b, TAG_FORMAT_VERSION);
            put_varint32(&mut b, v);
        }
        if let Some(o) = &self.options {
            put_varint32(&mut b, TAG_OPTIONS);
            put_length_prefixed(&mut b, o.as_bytes());
        }
        for (tag, v) in [
            (TAG_LOG_NUMBER, self.log_number),
            (TAG_NEXT_FILE_NUMBER, self.next_file_number),
            (TAG_LAST_SEQUENCE, self.last_sequence),
        ] {
            if let Some(v) = v {
                put_varint32(&mut b, tag);
                put_varint64(&mut b, v);
            }
        }
        for &(level, number) in &self.deleted_files {
            put_varint32(&mut b, TAG_DELETED_FILE);
            put_varint32(&mut b, level as u32);
            put_varint64(&mut b, number);
        }
        for (level, f) in &self.new_files {
            put_varint32(&mut b, TAG_NEW_FILE);
            put_varint32(&mut b, *level as u32);
            put_varint64(&mut b, f.number);
            put_varint64(&mut b, f.file_size);
            put_length_prefixed(&mut b, &f.smallest);
            put_length_prefixed(&mut b, &f.largest);
            put_varint64(&mut b, f.smallest_seq);
            put_varint64(&mut b, f.largest_seq);
            put_varint64(&mut b, f.num_entries);
            put_varint64(&mut b, f.num_deletions);
        }
        b
    }

    /// Parses a stored edit.
    ///
    /// Errors: [`Error::Corruption`] naming `file` and `offset` (the record's position) for a
    /// truncated field, an unknown tag, a level out of range or options that are not UTF-8.
    pub fn decode(bytes: &[u8], file: &str, offset: u64) -> Result<VersionEdit> {
        let bad = |what: &str| Error::corruption(file, offset, format!("version edit: {what}"));
        let mut d = Decoder::new(bytes);
        let mut e = VersionEdit::default();
        let level = |d: &mut Decoder| -> Result<usize> {
            let l = d.varint32().ok_or_else(|| bad("truncated level"))? as usize;
            if l >= NUM_LEVELS {
                return Err(bad(&format!("level {l} out of range")));
            }
            Ok(l)
        };
        while !d.is_empty() {
            let tag = d.varint32().ok_or_else(|| bad("truncated tag"))?;
            match tag {
                TAG_FORMAT_VERSION => {
                    e.format_version = Some(d.varint32().ok_or_else(|| bad("format version"))?)
                }
                TAG_OPTIONS => {
                    let s = d.length_prefixed().ok_or_else(|| bad("options"))?;
                    let s = std::str::from_utf8(s).map_err(|_| bad("options are not UTF-8"))?;
                    e.options = Some(s.to_owned());
                }
                TAG_LOG_NUMBER => {
                    e.log_number = Some(d.varint64().ok_or_else(|| bad("log number"))?)
                }
                TAG_NEXT_FILE_NUMBER => {
                    e.next_file_number = Some(d.varint64().ok_or_else(|| bad("next file number"))?)
                }
                TAG_LAST_SEQUENCE => {
                    e.last_sequence = Some(d.varint64().ok_or_else(|| bad("last sequence"))?)
                }
                TAG_DELETED_FILE => {
                    let l = level(&mut d)?;
                    let n = d.varint64().ok_or_else(|| bad("deleted file number"))?;
                    e.deleted_files.push((l, n));
                }
                TAG_NEW_FILE => {
                    let l = level(&mut d)?;
                    let mut f = || -> Option<FileMetaData> {
                        Some(FileMetaData {
                            number: d.varint64()?,
                            file_size: d.varint64()?,
                            smallest: d.length_prefixed()?.to_vec(),
                            largest: d.length_prefixed()?.to_vec(),
                            smallest_seq: d.varint64()?,
                            largest_seq: d.varint64()?,
                            num_entries: d.varint64()?,
                            num_deletions: d.varint64()?,
                        })
                    };
                    let f = f().ok_or_else(|| bad("truncated new file"))?;
                    e.new_files.push((l, f));
                }
                t => return Err(bad(&format!("unknown tag {t}"))),
            }
        }
        Ok(e)
    }

    /// Applies the file changes to `levels`.
    ///
    /// Errors: [`Error::Corruption`] (naming `file`) if a deleted file is not in its level.
    pub(crate) fn apply_files(
        &self,
        levels: &mut [Vec<Arc<FileMetaData>>; NUM_LEVELS],
        file: &str,
    ) -> Result<()> {
        for &(level, number) in &self.deleted_files {
            let before = levels[level].len();
            levels[level].retain(|f| f.number != number);
            if levels[level].len() == before {
                return Err(Error::corruption(
                    file,
                    0,
                    format!("version edit deletes table {number} which is not in L{level}"),
                ));
            }
        }
        for (level, f) in &self.new_files {
            levels[*level].push(Arc::new(f.clone()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> VersionEdit {
        VersionEdit {
            format_version: Some(1),
            options: Some("block_size=4096\n".into()),
            log_number: Some(7),
            next_file_number: Some(12),
            last_sequence: Some(99_999),
            deleted_files: vec![(0, 3), (1, 5)],
            new_files: vec![(
                1,
                FileMetaData {
                    number: 11,
                    file_size: 4096,
                    smallest: b"a\x01\0\0\0\0\0\0\0".to_vec(),
                    largest: b"z\x01\0\0\0\0\0\0\0".to_vec(),
                    smallest_seq: 1,
                    largest_seq: 9,
                    num_entries: 10,
                    num_deletions: 2,
                },
            )],
        }
    }

    #[test]
    fn roundtrip() {
        let e = sample();
        assert_eq!(VersionEdit::decode(&e.encode(), "m", 0).unwrap(), e);
        assert_eq!(
            VersionEdit::decode(&[], "m", 0).unwrap(),
            VersionEdit::default()
        );
    }

    #[test]
    fn truncations_and_bad_tags_are_corruption() {
        let bytes = sample().encode();
        for cut in 1..bytes.len() {
            // A cut may land on a field boundary and decode to a smaller edit; otherwise it
            // must be corruption.
            if let Err(e) = VersionEdit::decode(&bytes[..cut], "m", 3) {
                assert!(e.is_corruption());
            }
        }
        assert!(VersionEdit::decode(&[99], "m", 0)
            .unwrap_err()
            .is_corruption());
        assert!(VersionEdit::decode(&[6, 9, 1], "m", 0).is_err(), "level 9");
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = VersionEdit::decode(&bytes, "m", 0);
        }
    }
}
