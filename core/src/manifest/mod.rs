//! The manifest: which SSTables make up the database, and the counters that must survive a
//! restart.
//!
//! This is LevelDB's design (`doc/impl.md`, "Manifest" and "Recovery"), with kevo's field
//! set.
//!
//! # Versions and edits
//!
//! The set of live SSTables, arranged in [`NUM_LEVELS`] levels, is a [`Version`]. A version
//! is immutable: a flush or a compaction describes its change as a [`VersionEdit`] (files
//! added, files deleted, counters advanced), and applying the edit to the current version
//! produces the next one. Readers hold an `Arc<Version>` for as long as they need a stable
//! view; the engine never deletes a file that some live version still names.
//!
//! The [`VersionSet`] owns the current version and the counters:
//!
//! - `next_file_number`: the source of every file number (WAL segments, SSTables,
//!   manifests), so names never repeat;
//! - `last_sequence`: the sequence number of the newest write;
//! - `log_number`: WAL segments numbered below it are obsolete, their contents being in
//!   SSTables. After a flush the engine logs an edit that adds the new L0 table *and* raises
//!   `log_number` past the WAL it came from, in one record, so the two happen atomically;
//! - the persisted options text and the format version.
//!
//! # The manifest file
//!
//! `MANIFEST-NNNNNN` is a log in the [log format](crate::wal) whose records are encoded
//! version edits. Its first record is a *snapshot*: an edit that carries every counter and
//! adds every live file. Each later record is one edit, written by
//! [`VersionSet::log_and_apply`] and synced before the new version is installed, so an edit
//! is either durable or was never acknowledged. `CURRENT` holds the name of the live
//! manifest followed by a newline, and is replaced atomically (write a temporary file, sync,
//! rename, sync the directory).
//!
//! Opening a database ([`VersionSet::recover`]) reads `CURRENT`, replays every edit of the
//! manifest it names, and then writes a *new* manifest holding one snapshot of the recovered
//! state and switches `CURRENT` to it. Starting fresh means a torn last edit left by a crash
//! is never appended to, and old edits do not accumulate across restarts. While the database
//! is open, a manifest that grows past [`MAX_MANIFEST_SIZE`] is replaced the same way. The
//! old manifests are left for the engine's obsolete-file cleanup.
//!
//! # Version edit encoding
//!
//! An edit is a sequence of fields, each a varint tag followed by the field's value; absent
//! fields are omitted. All varints are LEB128 as in [`crate::coding`]; `bytes` is a varint
//! length followed by that many bytes.
//!
//! | tag | field              | value                                                     |
//! |----:|--------------------|-----------------------------------------------------------|
//! |   2 | `log_number`       | varint64                                                  |
//! |   3 | `next_file_number` | varint64                                                  |
//! |   4 | `last_sequence`    | varint64 (at most 2^56 - 1)                               |
//! |   6 | deleted file       | level: varint32, number: varint64                         |
//! |   7 | new file           | level: varint32, number: varint64, file_size: varint64,   |
//! |     |                    | smallest: bytes, largest: bytes (internal keys),          |
//! |     |                    | smallest_seq, largest_seq, num_entries, num_deletions:    |
//! |     |                    | varint64 each                                             |
//! |  10 | `format_version`   | varint32, written first                                   |
//! |  11 | `options`          | bytes (UTF-8 `name=value` lines)                          |
//! |  12 | new file with      | as tag 7, then num_range_deletions: varint64 (format 2;   |
//! |     | range tombstones   | tag 7 is written when the file has none)                  |
//!
//! Tags 2 to 7 keep LevelDB's numbers for the same fields; 1, 5, 8 and 9 are LevelDB fields
//! kevo does not have and are rejected. Scalar fields appear at most once per edit; deleted
//! and new file fields repeat, one per file, deletions applied before additions. A decoder
//! rejects unknown tags instead of skipping them: a field it cannot interpret could change
//! the meaning of the others. Format changes are signalled by `format_version` instead, which
//! is written first so that an older build can refuse a newer manifest with
//! [`Error::InvalidArgument`](crate::Error::InvalidArgument) before it reaches a tag it
//! does not know.
//!
//! # Checks on replay
//!
//! Replay rejects, as [`Error::Corruption`](crate::Error::Corruption): damaged records other
//! than a torn last one, malformed edits, a first record that is not a snapshot, a level
//! `>= NUM_LEVELS`, the deletion of a file that is not at that level, a file number added
//! twice, overlapping files in a level above 0, and a manifest that never records one of
//! the counters.

mod version;
mod version_edit;
mod version_set;

pub use version::Version;
#[cfg(test)]
pub(crate) use version::VersionBuilder;
pub(crate) use version::{add_level_iterators, ReadFilter};
pub use version_edit::{FileMetaData, VersionEdit};
pub use version_set::{read_current, read_manifest, write_manifest, VersionSet, MAX_MANIFEST_SIZE};

/// Number of levels in the LSM tree: level 0 (flushed memtables, overlapping) and levels 1 to
/// 6 (compacted, each sorted and non-overlapping).
pub const NUM_LEVELS: usize = 7;

/// The manifest format this build writes, and the newest it reads. Recorded in the first
/// edit of every manifest. Format 2 added tag 12 (files with range tombstones); format 1
/// manifests read unchanged.
pub const MANIFEST_FORMAT_VERSION: u32 = 2;

#[cfg(test)]
mod tests;
