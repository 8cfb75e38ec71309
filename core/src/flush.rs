//! Flush: an immutable memtable becomes an L0 SSTable (LevelDB's `WriteLevel0Table`).
//!
//! Every entry of the memtable is written, overwritten versions, tombstones and range
//! tombstones included:
//! dropping what no snapshot can see is compaction's job, which knows what lies below. The
//! version edit that records the table also moves the WAL low-water mark (`log_number`) past
//! the memtable's segment, so that segment is no longer replayed and can be deleted.

use crate::error::Result;
use crate::manifest::{FileMetaData, VersionEdit};
use crate::memtable::MemTable;
use crate::table_writer::TableWriter;
use std::sync::Arc;

/// Writes every entry of `mem` into one new L0 table, synced with its directory. `None`
/// for an empty memtable. The table's number stays pending until the caller records it.
///
/// Errors: [`Error::Io`](crate::Error::Io) writing the table (which is then removed).
pub(crate) fn write_level0_table(
    writer: &TableWriter,
    mem: &Arc<MemTable>,
) -> Result<Option<FileMetaData>> {
    if mem.is_empty() {
        return Ok(None);
    }
    let tombstones = mem.range_tombstones();
    Ok(writer
        .write(&mut mem.iter(), false, |_| Ok(true), &tombstones)?
        .pop())
}

/// The version edit of a flush: `table` (if the memtable was not empty) added to L0, and
/// WAL segments below `next_log_number` (the segment of the next memtable still in memory)
/// no longer needed.
pub(crate) fn flush_edit(table: Option<&FileMetaData>, next_log_number: u64) -> VersionEdit {
    let mut edit = VersionEdit {
        log_number: Some(next_log_number),
        ..Default::default()
    };
    edit.new_files.extend(table.map(|t| (0, t.clone())));
    edit
}
