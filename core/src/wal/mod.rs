//! The log format: the write-ahead log (WAL) and the manifest are both sequences of records
//! in this format.
//!
//! It is LevelDB's log format (`doc/log_format.md`) with a 64-bit xxHash checksum in place of
//! the masked CRC-32C.
//!
//! # Format
//!
//! The file is a sequence of 32 KiB blocks ([`BLOCK_SIZE`]); only the last one may be
//! partial. A record is stored as one or more *fragments*, none of which crosses a block
//! boundary:
//!
//! ```text
//! file     := block*
//! block    := fragment* trailer?
//! fragment := checksum: u64   xxh64, seed 0, of the type byte followed by the payload
//!             length:   u16   payload bytes
//!             type:     u8    Zero = 0, Full = 1, First = 2, Middle = 3, Last = 4
//!             payload:  u8[length]
//! trailer  := 0 to 10 zero bytes
//! ```
//!
//! All integers are little-endian. The header is [`HEADER_SIZE`] = 11 bytes.
//!
//! A fragment never starts in the last 10 bytes of a block, as its header would not fit:
//! the writer fills them with zeros (the *trailer*) and starts the next fragment on the block
//! boundary. A reader skips a trailer without looking at it (it carries no data). If exactly
//! 11 bytes are left, a fragment with an empty payload fits and is written: a record that
//! starts there is a `First` fragment of length 0 followed by the rest in the next block.
//!
//! A record that fits in the rest of the current block is one `Full` fragment. Otherwise it
//! is a `First` fragment filling the block, `Middle` fragments filling whole blocks, and a
//! `Last` fragment. An empty record is a `Full` fragment of length 0.
//!
//! Example: records A (1 000 bytes), B (97 270 bytes) and C (8 000 bytes):
//!
//! ```text
//! block 0: Full(A, 1000) First(B, 31 746)
//! block 1: Middle(B, 32 757)
//! block 2: Middle(B, 32 757)
//! block 3: Last(B, 10) Full(C, 8000)
//! ```
//!
//! Type 0 (`Zero`) is never written: it is what zero-filled (preallocated, or lost and
//! zeroed by the file system) space looks like, so a reader treats it as damage.
//!
//! Why blocks? A reader that meets damage can always find the next fragment boundary at the
//! next multiple of 32 KiB, and large records need no length prefix that a reader would have
//! to trust before it can check anything: no allocation is ever sized by an unchecked length.
//!
//! # Damage
//!
//! [`LogReader`] calls *damage* anything that is not a well-formed record sequence:
//!
//! - a checksum mismatch;
//! - a length that runs past the end of the block or of the file;
//! - a `Zero` or unknown type;
//! - a header cut short by the end of the file;
//! - a `Middle` or `Last` fragment with no `First` before it, or a `First` or `Full`
//!   fragment while a record is still in progress (the partial record is lost);
//! - a file that ends in the middle of a record.
//!
//! A block trailer is not damage.
//!
//! A writer that crashes leaves a *prefix* of what it appended: the last record may be cut
//! anywhere (a *torn tail*) but nothing valid can follow the cut. Damage followed by a
//! valid fragment therefore means that data that was once complete has been lost, and is
//! never a torn write.
//!
//! # Recovery modes
//!
//! [`WalRecoveryMode`] decides what [`LogReader::read_record`] does on damage. In every mode
//! every record returned is exactly a record that was written (each fragment's checksum
//! passed, and the fragments were in order), at the offset where it was written, and no
//! record is ever skipped over: records come out as a prefix of the file's records.
//!
//! - [`TolerateCorruptedTail`](WalRecoveryMode::TolerateCorruptedTail) (default): if no
//!   well-formed fragment exists anywhere after the damage, the damage is a torn tail: the
//!   reader returns the records before it, then `Ok(None)`, and
//!   [`dropped_tail`](LogReader::dropped_tail) reports the dropped bytes (from the start of
//!   the destroyed record to the end of the file). If a well-formed fragment exists after
//!   the damage, `read_record` returns [`Error::Corruption`](crate::Error::Corruption): data
//!   in the middle of the log was lost. Guarantee: when `Ok(None)` is returned, no intact
//!   record of the file was left out; only the last record can have been dropped. A crash
//!   tears only unsynced writes, so after a crash every synced record is returned. Bit rot
//!   in the last record cannot be told apart from a torn write and is dropped too, which is
//!   why the drop is reported rather than silent.
//!
//!   To look for survivors the reader checks every byte position after the damage (a damaged
//!   length field cannot be trusted to skip ahead), so the cost of a damaged tail is bounded
//!   by hashing, in the worst case, a few times the size of the rest of the file. A record
//!   whose payload contains a complete, well-formed log fragment (for example a value that is
//!   itself a kevo log file) and that is torn by a crash after that embedded fragment is
//!   reported as `Corruption` rather than dropped: a false alarm, never a silent loss;
//!   [`PointInTime`](WalRecoveryMode::PointInTime) recovers it. The same false alarm arises
//!   if the file system writes unsynced pages back out of order and loses an earlier one
//!   while keeping a later one.
//!
//! - [`AbsoluteConsistency`](WalRecoveryMode::AbsoluteConsistency): any damage, including a
//!   torn tail, is `Error::Corruption`. Guarantee: `Ok(None)` means the file is a complete,
//!   undamaged log (it ends on a record boundary or in a block trailer). For logs that are
//!   always synced and closed cleanly, such as a finished file being verified.
//!
//! - [`PointInTime`](WalRecoveryMode::PointInTime): the reader stops at the first damage,
//!   returns `Ok(None)` and reports the rest through `dropped_tail`; damage is never an
//!   error. Guarantee: the records returned are the longest undamaged prefix of the log,
//!   i.e. the database as it was at some point in time; records after the damage, even
//!   intact ones, are not returned.
//!
//! - [`TolerateIncompleteTail`](WalRecoveryMode::TolerateIncompleteTail): only what a
//!   crash during an unsynced append can leave is a torn tail: a last record cut short by
//!   the end of the file (its available bytes do not match its checksum), or zero bytes to
//!   the end of the file, with no valid fragment after. Every other damage, even in the
//!   last record, is `Error::Corruption`, including a damaged length field (detected when
//!   the bytes to the end of the file do match the checksum). The manifest is read this way:
//!   each of its edits is synced before the engine acts on it (deleting a WAL segment or a
//!   compaction's inputs), so a damaged complete edit must never be dropped silently.
//!
//! In every mode an I/O error while reading is [`Error::Io`](crate::Error::Io).
//!
//! # Writing
//!
//! [`LogWriter::add_record`] only appends to the file's buffer; [`LogWriter::flush`] hands it
//! to the OS (survives a process crash) and [`LogWriter::sync`] to the disk (survives power
//! loss). After an I/O error the writer refuses further work, so that a torn fragment left by
//! the failure stays at the tail of the file instead of in its middle.

mod format;
mod reader;
mod writer;

pub use format::{fragment_checksum, RecordType, BLOCK_SIZE, HEADER_SIZE, MAX_RECORD_SIZE};
pub use reader::{DroppedTail, LogReader, WalRecoveryMode};
pub use writer::LogWriter;

#[cfg(test)]
mod tests;
