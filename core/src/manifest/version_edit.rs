//! [`VersionEdit`]: one change to the set of live files and counters, and its encoding as a
//! manifest record. [`FileMetaData`]: what the manifest knows about one SSTable.
//!
//! The encoding is a sequence of tagged fields (see the table in the
//! [module docs](super#version-edit-encoding)). Absent fields are simply not written, so an
//! edit that only adds a file is a few dozen bytes.

use std::fmt;

use crate::coding::{put_length_prefixed, put_varint32, put_varint64, Decoder};
use crate::error::{Error, Result};
use crate::key::{self, MAX_SEQUENCE_NUMBER, TRAILER_LEN};

use super::{MANIFEST_FORMAT_VERSION, NUM_LEVELS};

/// Field tags. The numbers LevelDB uses for the same fields are kept (2, 3, 4, 6, 7); kevo's
/// own fields take numbers LevelDB never used, so a LevelDB manifest is not misread as a
/// kevo one field by field. 1 (comparator), 5 (compact pointer), 8 (large value ref) and 9
/// (previous log number) are LevelDB's and are rejected as unknown.
mod tag {
    pub const LOG_NUMBER: u32 = 2;
    pub const NEXT_FILE_NUMBER: u32 = 3;
    pub const LAST_SEQUENCE: u32 = 4;
    pub const DELETED_FILE: u32 = 6;
    pub const NEW_FILE: u32 = 7;
    pub const FORMAT_VERSION: u32 = 10;
    pub const OPTIONS: u32 = 11;
    pub const NEW_FILE_WITH_RANGE_DELETIONS: u32 = 12;
}

/// What the manifest records about one SSTable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMetaData {
    /// The file number: the table lives in `NNNNNN.sst` (see
    /// [`table_path`](crate::filename::table_path)).
    pub number: u64,
    /// Size of the file in bytes.
    pub file_size: u64,
    /// Smallest internal key in the file (user key ++ 8-byte trailer, see [`crate::key`]).
    pub smallest: Vec<u8>,
    /// Largest internal key in the file.
    pub largest: Vec<u8>,
    /// Smallest sequence number of any entry in the file.
    pub smallest_seq: u64,
    /// Largest sequence number of any entry in the file. Orders level-0 files: a higher
    /// `largest_seq` means newer data.
    pub largest_seq: u64,
    /// Number of entries (puts and deletes).
    pub num_entries: u64,
    /// Number of delete entries (tombstones) among them.
    pub num_deletions: u64,
    /// Number of range tombstones in the file's range-deletion block (see
    /// [`crate::range_del`]). The key range above covers them too.
    pub num_range_deletions: u64,
}

impl FileMetaData {
    /// The user-key part of [`smallest`](Self::smallest).
    pub fn smallest_user_key(&self) -> &[u8] {
        key::user_key(&self.smallest)
    }

    /// The user-key part of [`largest`](Self::largest).
    pub fn largest_user_key(&self) -> &[u8] {
        key::user_key(&self.largest)
    }
}

/// A change to the database's file set and counters: the unit the manifest logs.
///
/// Every field is optional (or empty): an edit carries only what changed. The first record
/// of every manifest is a *snapshot* edit that carries every field and lists every live file;
/// each following record is a delta. Replaying them in order yields the current state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionEdit {
    /// The manifest format the file was written in ([`MANIFEST_FORMAT_VERSION`]); present in
    /// each manifest's first record.
    pub format_version: Option<u32>,
    /// The persisted options as `name=value` lines (see
    /// [`Options::to_persisted`](crate::Options::to_persisted)).
    pub options: Option<String>,
    /// WAL segments with a number below this one are obsolete: their contents are in
    /// SSTables. Recovery replays the WAL segments numbered `log_number` and above.
    pub log_number: Option<u64>,
    /// The next unused file number when the edit was written.
    pub next_file_number: Option<u64>,
    /// The sequence number of the newest write when the edit was written.
    pub last_sequence: Option<u64>,
    /// Files removed: `(level, file number)`.
    pub deleted_files: Vec<(usize, u64)>,
    /// Files added: `(level, metadata)`. Deletions apply before additions, so an edit can
    /// move a file between levels by deleting and re-adding it.
    pub new_files: Vec<(usize, FileMetaData)>,
}

impl VersionEdit {
    /// An empty edit (no field set).
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `file` joins `level`.
    pub fn add_file(&mut self, level: usize, file: FileMetaData) {
        self.new_files.push((level, file));
    }

    /// Records that file `number` leaves `level`.
    pub fn delete_file(&mut self, level: usize, number: u64) {
        self.deleted_files.push((level, number));
    }

    /// The record bytes for this edit. `format_version` is written first, so that a reader
    /// can refuse a newer format before it meets fields it does not know.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(v) = self.format_version {
            put_varint32(&mut out, tag::FORMAT_VERSION);
            put_varint32(&mut out, v);
        }
        if let Some(o) = &self.options {
            put_varint32(&mut out, tag::OPTIONS);
            put_length_prefixed(&mut out, o.as_bytes());
        }
        for (t, v) in [
            (tag::LOG_NUMBER, self.log_number),
            (tag::NEXT_FILE_NUMBER, self.next_file_number),
            (tag::LAST_SEQUENCE, self.last_sequence),
        ] {
            if let Some(v) = v {
                put_varint32(&mut out, t);
                put_varint64(&mut out, v);
            }
        }
        for &(level, number) in &self.deleted_files {
            put_varint32(&mut out, tag::DELETED_FILE);
            put_varint32(&mut out, level as u32);
            put_varint64(&mut out, number);
        }
        for (level, f) in &self.new_files {
            let t = if f.num_range_deletions > 0 {
                tag::NEW_FILE_WITH_RANGE_DELETIONS
            } else {
                tag::NEW_FILE
            };
            put_varint32(&mut out, t);
            put_varint32(&mut out, *level as u32);
            put_varint64(&mut out, f.number);
            put_varint64(&mut out, f.file_size);
            put_length_prefixed(&mut out, &f.smallest);
            put_length_prefixed(&mut out, &f.largest);
            put_varint64(&mut out, f.smallest_seq);
            put_varint64(&mut out, f.largest_seq);
            put_varint64(&mut out, f.num_entries);
            put_varint64(&mut out, f.num_deletions);
            if f.num_range_deletions > 0 {
                put_varint64(&mut out, f.num_range_deletions);
            }
        }
        out
    }

    /// Decodes a record written by [`encode`](Self::encode). `file` and `offset` (the
    /// record's position in the manifest) only label errors.
    ///
    /// Fields may come in any order, but each scalar field at most once.
    ///
    /// Errors: [`Error::InvalidArgument`] if the edit declares a `format_version` newer than
    /// [`MANIFEST_FORMAT_VERSION`] (decoding stops there: a newer format may use tags this
    /// code does not know); [`Error::Corruption`] for anything malformed: an unknown tag, a
    /// truncated or overlong varint, a length past the end, a repeated scalar field, a level
    /// `>= NUM_LEVELS`, an internal key shorter than its 8-byte trailer, a sequence number
    /// above [`MAX_SEQUENCE_NUMBER`], options that are not UTF-8, format version 0. Never
    /// panics, whatever the input.
    pub fn decode(bytes: &[u8], file: &str, offset: u64) -> Result<VersionEdit> {
        let mut d = Decoder::new(bytes);
        let mut edit = VersionEdit::default();
        while !d.is_empty() {
            let at = d.position();
            let bad = |what: &str| {
                Error::corruption(file, offset, format!("version edit, byte {at}: {what}"))
            };
            let tag = d.varint32().ok_or_else(|| bad("malformed tag"))?;
            match tag {
                tag::FORMAT_VERSION => {
                    let v = d
                        .varint32()
                        .ok_or_else(|| bad("malformed format version"))?;
                    if v > MANIFEST_FORMAT_VERSION {
                        return Err(Error::InvalidArgument(format!(
                            "{file} is manifest format {v}; this build reads formats up to \
                             {MANIFEST_FORMAT_VERSION}"
                        )));
                    }
                    if v == 0 {
                        return Err(bad("format version 0"));
                    }
                    set_once(&mut edit.format_version, v).ok_or_else(|| bad("repeated field"))?;
                }
                tag::OPTIONS => {
                    let raw = d
                        .length_prefixed()
                        .ok_or_else(|| bad("malformed options"))?;
                    let text = std::str::from_utf8(raw).map_err(|_| bad("options not UTF-8"))?;
                    set_once(&mut edit.options, text.to_owned())
                        .ok_or_else(|| bad("repeated field"))?;
                }
                tag::LOG_NUMBER | tag::NEXT_FILE_NUMBER | tag::LAST_SEQUENCE => {
                    let v = d.varint64().ok_or_else(|| bad("malformed number"))?;
                    let slot = match tag {
                        tag::LOG_NUMBER => &mut edit.log_number,
                        tag::NEXT_FILE_NUMBER => &mut edit.next_file_number,
                        _ => {
                            if v > MAX_SEQUENCE_NUMBER {
                                return Err(bad("last sequence above the maximum"));
                            }
                            &mut edit.last_sequence
                        }
                    };
                    set_once(slot, v).ok_or_else(|| bad("repeated field"))?;
                }
                tag::DELETED_FILE => {
                    let level = level(&mut d).ok_or_else(|| bad("malformed level"))?;
                    let number = d.varint64().ok_or_else(|| bad("malformed file number"))?;
                    edit.deleted_files.push((level, number));
                }
                tag::NEW_FILE | tag::NEW_FILE_WITH_RANGE_DELETIONS => {
                    let level = level(&mut d).ok_or_else(|| bad("malformed level"))?;
                    let mut f = file_meta(&mut d).ok_or_else(|| bad("malformed new file"))?;
                    if tag == tag::NEW_FILE_WITH_RANGE_DELETIONS {
                        f.num_range_deletions = d
                            .varint64()
                            .ok_or_else(|| bad("malformed range deletion count"))?;
                    }
                    if f.smallest_seq > MAX_SEQUENCE_NUMBER || f.largest_seq > MAX_SEQUENCE_NUMBER {
                        return Err(bad("file sequence number above the maximum"));
                    }
                    edit.new_files.push((level, f));
                }
                t => return Err(bad(&format!("unknown tag {t}"))),
            }
        }
        Ok(edit)
    }
}

/// Sets `slot` if it is empty; `None` if it was already set.
fn set_once<T>(slot: &mut Option<T>, v: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(v);
    Some(())
}

fn level(d: &mut Decoder<'_>) -> Option<usize> {
    let level = d.varint32()? as usize;
    (level < NUM_LEVELS).then_some(level)
}

fn internal_key(d: &mut Decoder<'_>) -> Option<Vec<u8>> {
    let k = d.length_prefixed()?;
    (k.len() >= TRAILER_LEN).then(|| k.to_vec())
}

fn file_meta(d: &mut Decoder<'_>) -> Option<FileMetaData> {
    Some(FileMetaData {
        number: d.varint64()?,
        file_size: d.varint64()?,
        smallest: internal_key(d)?,
        largest: internal_key(d)?,
        smallest_seq: d.varint64()?,
        largest_seq: d.varint64()?,
        num_entries: d.varint64()?,
        num_deletions: d.varint64()?,
        num_range_deletions: 0,
    })
}

/// One field per line, for the `kevo manifest` view and logs.
impl fmt::Display for VersionEdit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(v) = self.format_version {
            writeln!(f, "format_version: {v}")?;
        }
        if let Some(o) = &self.options {
            writeln!(f, "options: {}", o.trim_end().replace('\n', " "))?;
        }
        for (name, v) in [
            ("log_number", self.log_number),
            ("next_file_number", self.next_file_number),
            ("last_sequence", self.last_sequence),
        ] {
            if let Some(v) = v {
                writeln!(f, "{name}: {v}")?;
            }
        }
        for (level, number) in &self.deleted_files {
            writeln!(f, "delete L{level} #{number}")?;
        }
        for (level, m) in &self.new_files {
            writeln!(
                f,
                "add L{level} #{} {} bytes [{:?} .. {:?}] seq {}..={} entries {} deletions {} \
                 range deletions {}",
                m.number,
                m.file_size,
                key::InternalKey(m.smallest.clone()),
                key::InternalKey(m.largest.clone()),
                m.smallest_seq,
                m.largest_seq,
                m.num_entries,
                m.num_deletions,
                m.num_range_deletions,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{make_internal_key, ValueKind};
    use proptest::prelude::*;

    fn meta(number: u64) -> FileMetaData {
        FileMetaData {
            number,
            file_size: 4096,
            smallest: make_internal_key(b"a", 5, ValueKind::Put),
            largest: make_internal_key(b"z", 9, ValueKind::Delete),
            smallest_seq: 5,
            largest_seq: 9,
            num_entries: 100,
            num_deletions: 3,
            num_range_deletions: if number.is_multiple_of(2) { 2 } else { 0 },
        }
    }

    fn full_edit() -> VersionEdit {
        let mut e = VersionEdit {
            format_version: Some(MANIFEST_FORMAT_VERSION),
            options: Some("block_size=4096\n".into()),
            log_number: Some(7),
            next_file_number: Some(12),
            last_sequence: Some(MAX_SEQUENCE_NUMBER),
            ..Default::default()
        };
        e.delete_file(0, 3);
        e.add_file(6, meta(11));
        e
    }

    #[test]
    fn roundtrip_all_fields() {
        let e = full_edit();
        assert_eq!(VersionEdit::decode(&e.encode(), "m", 0).unwrap(), e);
        assert_eq!(
            VersionEdit::decode(&[], "m", 0).unwrap(),
            VersionEdit::new()
        );
        let text = e.to_string();
        assert!(
            text.contains("add L6 #11 4096 bytes [a@5:Put .. z@9:Delete]"),
            "{text}"
        );
    }

    #[test]
    fn malformed_edits_are_corruption() {
        let with = |bytes: &[u8]| VersionEdit::decode(bytes, "MANIFEST-000001", 42);
        // Unknown tag (LevelDB's comparator), bad level, repeated field, short key.
        for bytes in [
            &[1u8, 0][..],
            &[tag::DELETED_FILE as u8, NUM_LEVELS as u8, 1][..],
            &[tag::LOG_NUMBER as u8, 1, tag::LOG_NUMBER as u8, 2][..],
            &[tag::NEW_FILE as u8, 0, 1, 1, 2, b'a', b'b'][..],
            &[tag::OPTIONS as u8, 1, 0xff][..],
            &[tag::FORMAT_VERSION as u8, 0][..],
        ] {
            let e = with(bytes).unwrap_err();
            assert!(
                matches!(&e, Error::Corruption { file, offset: 42, .. } if file == "MANIFEST-000001"),
                "{bytes:?}: {e}"
            );
        }
        let e = with(&[tag::FORMAT_VERSION as u8, 3, 99, 1]).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    }

    fn arb_meta() -> impl Strategy<Value = FileMetaData> {
        (
            any::<u64>(),
            any::<u64>(),
            proptest::collection::vec(any::<u8>(), TRAILER_LEN..40),
            proptest::collection::vec(any::<u8>(), TRAILER_LEN..40),
            0..=MAX_SEQUENCE_NUMBER,
            0..=MAX_SEQUENCE_NUMBER,
            (
                any::<u64>(),
                any::<u64>(),
                prop_oneof![Just(0u64), any::<u64>()],
            ),
        )
            .prop_map(|(number, file_size, smallest, largest, s, l, (n, d, r))| {
                FileMetaData {
                    number,
                    file_size,
                    smallest,
                    largest,
                    smallest_seq: s,
                    largest_seq: l,
                    num_entries: n,
                    num_deletions: d,
                    num_range_deletions: r,
                }
            })
    }

    fn arb_edit() -> impl Strategy<Value = VersionEdit> {
        (
            proptest::option::of(1..=MANIFEST_FORMAT_VERSION),
            proptest::option::of(any::<String>()),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
            proptest::option::of(0..=MAX_SEQUENCE_NUMBER),
            proptest::collection::vec((0..NUM_LEVELS, any::<u64>()), 0..5),
            proptest::collection::vec((0..NUM_LEVELS, arb_meta()), 0..5),
        )
            .prop_map(|(fv, options, log, next, last, deleted, new)| VersionEdit {
                format_version: fv,
                options,
                log_number: log,
                next_file_number: next,
                last_sequence: last,
                deleted_files: deleted,
                new_files: new,
            })
    }

    proptest! {
        #[test]
        fn prop_roundtrip(e in arb_edit()) {
            prop_assert_eq!(VersionEdit::decode(&e.encode(), "m", 0).unwrap(), e);
        }

        /// Every prefix of a valid encoding is either rejected or is itself the canonical
        /// encoding of what it decodes to (it ends on a field boundary). Never a panic.
        #[test]
        fn prop_truncated(e in arb_edit()) {
            let bytes = e.encode();
            for cut in 0..bytes.len() {
                match VersionEdit::decode(&bytes[..cut], "m", 0) {
                    Ok(d) => prop_assert_eq!(d.encode(), &bytes[..cut]),
                    Err(err) => prop_assert!(err.is_corruption(), "{}", err),
                }
            }
        }

        #[test]
        fn prop_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            match VersionEdit::decode(&bytes, "m", 0) {
                Ok(_) | Err(Error::Corruption { .. }) | Err(Error::InvalidArgument(_)) => {}
                Err(e) => prop_assert!(false, "unexpected error {}", e),
            }
        }

        /// Garbage that starts like a real edit gets further into the decoder.
        #[test]
        fn prop_mutated_never_panics(e in arb_edit(), at in any::<usize>(), b in any::<u8>()) {
            let mut bytes = e.encode();
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] = b;
            }
            let _ = VersionEdit::decode(&bytes, "m", 0);
        }
    }
}
