//! [`LogReader`]: reassembles records from a log file and decides, per
//! [`WalRecoveryMode`], what damage means.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::fs::RandomAccessFile;

use super::format::{
    decode_header, fragment_checksum, is_valid_fragment_at, RecordType, BLOCK_SIZE, HEADER_SIZE,
    MAX_RECORD_SIZE,
};

/// How [`LogReader`] treats damage (see the [module docs](super#recovery-modes) for the
/// precise guarantees and when to use which).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WalRecoveryMode {
    /// Damage with no valid fragment anywhere after it is a torn tail: it is dropped and
    /// reported through [`LogReader::dropped_tail`]. Damage followed by any valid fragment is
    /// [`Error::Corruption`].
    #[default]
    TolerateCorruptedTail,
    /// Any damage, including an incomplete record at the end, is [`Error::Corruption`].
    AbsoluteConsistency,
    /// Stop at the first damage and keep every record before it; damage is never an error
    /// (it is reported through [`LogReader::dropped_tail`]).
    PointInTime,
    /// Only a record cut short by the end of the file, or a tail of zero bytes, is a torn
    /// tail (dropped and reported); any other damage, even in the last record (a checksum
    /// mismatch, an unknown fragment type), is [`Error::Corruption`]. For logs whose every
    /// record was synced before anything depended on it, such as the manifest: a crash can
    /// only cut the unsynced last record short, so a complete record that fails its
    /// checksum is damage to acknowledged data, not a torn write.
    TolerateIncompleteTail,
}

/// What a [`LogReader`] dropped at the end of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedTail {
    /// File offset of the first dropped byte: the first fragment of the incomplete record, or
    /// the damaged fragment if no record was in progress.
    pub offset: u64,
    /// Bytes from `offset` to the end of the file.
    pub bytes: u64,
    /// What was wrong, for logs and the CLI.
    pub reason: String,
}

/// Reads the records of one log file, in order.
///
/// The file is read one block at a time with
/// [`read_exact_at`](RandomAccessFile::read_exact_at); no allocation is ever sized from a
/// length field before its checksum is verified (a fragment's payload is at most one block).
/// The reader stops at the file's length as it was when the reader was created.
pub struct LogReader {
    file: Arc<dyn RandomAccessFile>,
    file_name: String,
    mode: WalRecoveryMode,
    file_len: u64,
    /// The current block (shorter than `BLOCK_SIZE` only for the file's last block).
    block: Vec<u8>,
    /// File offset of `block[0]`.
    block_start: u64,
    /// File offset of the next block to load.
    next_block: u64,
    /// Next unread position inside `block`.
    pos: usize,
    state: State,
    dropped: Option<DroppedTail>,
}

/// Where the reader is in its life.
enum State {
    Reading,
    /// `read_record` returned `Ok(None)`; it keeps doing so.
    Finished,
    /// `read_record` returned an error; it keeps returning an equivalent one, so a caller that
    /// retries cannot mistake the stop for a clean end.
    Failed(Failure),
}

enum Failure {
    Corruption { offset: u64, detail: String },
    Io(String),
}

/// One step of the physical layer.
enum Physical {
    /// A checked fragment; its payload is `block[start..start + len]`.
    Fragment {
        kind: RecordType,
        offset: u64,
        start: usize,
        len: usize,
    },
    /// The file ended on a fragment boundary (or inside a block trailer).
    Eof,
    /// The bytes at `offset` are not a well-formed fragment; `incomplete` if the file ends
    /// before the fragment does.
    Bad {
        offset: u64,
        reason: String,
        incomplete: bool,
    },
}

/// Damage found while assembling a record, before the mode decides what it means.
struct Damage {
    /// Where the damaged or out-of-place fragment starts (for a record cut short by the end
    /// of the file, where the record starts).
    at: u64,
    /// First byte of the record the damage destroys; everything before it is intact.
    record_start: u64,
    /// Where to start looking for surviving fragments.
    scan_from: u64,
    reason: String,
    /// The file ends inside the damaged record (what a crash during its write leaves).
    incomplete: bool,
}

impl LogReader {
    /// A reader over `file` positioned at its start. `file_name` is only used in errors and
    /// in [`DroppedTail`] reports.
    pub fn new(file: Arc<dyn RandomAccessFile>, file_name: String, mode: WalRecoveryMode) -> Self {
        let file_len = file.len();
        LogReader {
            file,
            file_name,
            mode,
            file_len,
            block: Vec::new(),
            block_start: 0,
            next_block: 0,
            pos: 0,
            state: State::Reading,
            dropped: None,
        }
    }

    /// A reader over `file` that starts at `start`, the [`position`](Self::position) an
    /// earlier reader of the same log reached: for following a log another process keeps
    /// appending to (a read-only handle tailing the live manifest). `file`'s
    /// [`len`](RandomAccessFile::len) is taken as the end, so pass a view at the file's
    /// current length. A `start` at or past the end reads nothing.
    ///
    /// Errors: [`Error::Io`] if the block holding `start` cannot be read.
    pub fn resume(
        file: Arc<dyn RandomAccessFile>,
        file_name: String,
        mode: WalRecoveryMode,
        start: u64,
    ) -> Result<Self> {
        let mut r = LogReader::new(file, file_name, mode);
        if start >= r.file_len {
            r.next_block = r.file_len;
            r.block_start = start;
            return Ok(r);
        }
        r.next_block = start - start % BLOCK_SIZE as u64;
        r.load_next_block()?;
        r.pos = (start - r.block_start) as usize;
        Ok(r)
    }

    /// File offset just past the last record returned: where a
    /// [`resume`](Self::resume)d reader picks up once the log has grown.
    pub fn position(&self) -> u64 {
        self.block_start + self.pos as u64
    }

    /// The next record as `(offset of its first fragment's header, payload)`, or `Ok(None)` at
    /// the end: the file ended cleanly, or the rest of it was dropped as the mode allows (see
    /// [`dropped_tail`](Self::dropped_tail)).
    ///
    /// Errors: [`Error::Corruption`] (offset = the damaged fragment) for damage the mode does
    /// not tolerate; [`Error::Io`] if a read fails. After an error the reader is done and
    /// every later call returns an equivalent error.
    pub fn read_record(&mut self) -> Result<Option<(u64, Vec<u8>)>> {
        match &self.state {
            State::Reading => {}
            State::Finished => return Ok(None),
            State::Failed(f) => return Err(self.replay(f)),
        }
        let result = self.assemble();
        match &result {
            Ok(Some(_)) => {}
            Ok(None) => self.state = State::Finished,
            Err(Error::Corruption { offset, detail, .. }) => {
                self.state = State::Failed(Failure::Corruption {
                    offset: *offset,
                    detail: detail.clone(),
                })
            }
            Err(e) => self.state = State::Failed(Failure::Io(e.to_string())),
        }
        result
    }

    /// After `read_record` returned `Ok(None)`: what was dropped from the end of the file, or
    /// `None` if the file ended cleanly (or the reader has not reached the end yet).
    pub fn dropped_tail(&self) -> Option<&DroppedTail> {
        self.dropped.as_ref()
    }

    /// The recovery mode this reader applies.
    pub fn mode(&self) -> WalRecoveryMode {
        self.mode
    }

    /// The length the reader treats as the end of the file.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    fn replay(&self, f: &Failure) -> Error {
        match f {
            Failure::Corruption { offset, detail } => {
                Error::corruption(&self.file_name, *offset, detail)
            }
            Failure::Io(msg) => Error::io(
                format!(
                    "reading {} stopped after an earlier failure ({msg})",
                    self.file_name
                ),
                std::io::Error::other("log reader failed"),
            ),
        }
    }

    /// Joins fragments into the next record, applying the mode to any damage.
    fn assemble(&mut self) -> Result<Option<(u64, Vec<u8>)>> {
        // (offset of the First fragment, bytes so far) of a record being reassembled.
        let mut partial: Option<(u64, Vec<u8>)> = None;
        loop {
            let (kind, offset, start, len) = match self.next_physical()? {
                Physical::Fragment {
                    kind,
                    offset,
                    start,
                    len,
                } => (kind, offset, start, len),
                Physical::Eof => {
                    return match partial {
                        None => Ok(None),
                        Some((record_start, _)) => self.on_damage(Damage {
                            at: record_start,
                            record_start,
                            scan_from: self.file_len,
                            reason: format!(
                                "file ends inside the record that starts at offset {record_start}"
                            ),
                            incomplete: true,
                        }),
                    };
                }
                Physical::Bad {
                    offset,
                    reason,
                    incomplete,
                } => {
                    return self.on_damage(Damage {
                        at: offset,
                        record_start: partial.as_ref().map_or(offset, |p| p.0),
                        // The length of a bad fragment cannot be trusted, so survivors are
                        // looked for at every later byte.
                        scan_from: offset + 1,
                        reason,
                        incomplete,
                    });
                }
            };
            let payload = &self.block[start..start + len];
            let record_start = partial.as_ref().map_or(offset, |p| p.0);
            // Out-of-place fragments are themselves intact, so the scan starts *at* them: in
            // TolerateCorruptedTail they always mean that something before them was lost.
            let out_of_place = |reason: String| Damage {
                at: offset,
                record_start,
                scan_from: offset,
                reason,
                incomplete: false,
            };
            match (kind, &mut partial) {
                (RecordType::Full, None) => return Ok(Some((offset, payload.to_vec()))),
                (RecordType::First, None) => partial = Some((offset, payload.to_vec())),
                (RecordType::Middle | RecordType::Last, Some((_, buf))) => {
                    if buf.len() + len > MAX_RECORD_SIZE {
                        let reason = format!("record grows past {MAX_RECORD_SIZE} bytes");
                        return self.on_damage(out_of_place(reason));
                    }
                    buf.extend_from_slice(payload);
                    if kind == RecordType::Last {
                        return Ok(partial.take());
                    }
                }
                (RecordType::Full | RecordType::First, Some(_)) => {
                    let reason = format!(
                        "{kind:?} fragment while the record at offset {record_start} is \
                         incomplete"
                    );
                    return self.on_damage(out_of_place(reason));
                }
                (RecordType::Middle | RecordType::Last, None) => {
                    let reason = format!("{kind:?} fragment without a First fragment");
                    return self.on_damage(out_of_place(reason));
                }
                (RecordType::Zero, _) => unreachable!("next_physical rejects Zero fragments"),
            }
        }
    }

    /// Applies the recovery mode to `d`: an error, or `Ok(None)` with the tail recorded.
    fn on_damage<T>(&mut self, d: Damage) -> Result<Option<T>> {
        let corruption = |detail: String| Err(Error::corruption(&self.file_name, d.at, detail));
        match self.mode {
            WalRecoveryMode::AbsoluteConsistency => corruption(d.reason),
            WalRecoveryMode::TolerateCorruptedTail => {
                match self.find_valid_fragment(d.scan_from)? {
                    Some(valid) => corruption(format!(
                    "{}; a valid fragment follows at offset {valid}, so this is not a torn tail",
                    d.reason
                )),
                    None => Ok(self.drop_tail(d)),
                }
            }
            WalRecoveryMode::PointInTime => Ok(self.drop_tail(d)),
            WalRecoveryMode::TolerateIncompleteTail => {
                let torn = d.incomplete || self.zeros_from(d.at)?;
                if torn && self.find_valid_fragment(d.scan_from)?.is_none() {
                    Ok(self.drop_tail(d))
                } else {
                    corruption(format!(
                        "{}; not the incomplete last record a torn write leaves",
                        d.reason
                    ))
                }
            }
        }
    }

    /// True if every byte from `offset` to the end of the file is zero (space a crash
    /// extended the file by without writing it).
    fn zeros_from(&self, offset: u64) -> Result<bool> {
        let mut buf = vec![0u8; BLOCK_SIZE];
        let mut at = offset;
        while at < self.file_len {
            let n = (self.file_len - at).min(BLOCK_SIZE as u64) as usize;
            self.file.read_exact_at(at, &mut buf[..n])?;
            if buf[..n].iter().any(|&b| b != 0) {
                return Ok(false);
            }
            at += n as u64;
        }
        Ok(true)
    }

    fn drop_tail<T>(&mut self, d: Damage) -> Option<T> {
        self.dropped = Some(DroppedTail {
            offset: d.record_start,
            bytes: self.file_len - d.record_start,
            reason: d.reason,
        });
        None
    }

    /// Reads the next fragment header and checks it.
    fn next_physical(&mut self) -> Result<Physical> {
        loop {
            if BLOCK_SIZE - self.pos < HEADER_SIZE || self.pos == self.block.len() {
                // A block trailer (the writer's zero padding, never checked, as it carries no
                // data) or the end of the loaded block.
                if !self.load_next_block()? {
                    return Ok(Physical::Eof);
                }
                continue;
            }
            let offset = self.block_start + self.pos as u64;
            let Some(h) = decode_header(&self.block[self.pos..]) else {
                // Only the file's last block can be short, so the file ends inside a header.
                return Ok(Physical::Bad {
                    offset,
                    reason: "file ends inside a fragment header".into(),
                    incomplete: true,
                });
            };
            let start = self.pos + HEADER_SIZE;
            let end = start + h.length;
            let bad = |reason: String| {
                Ok(Physical::Bad {
                    offset,
                    reason,
                    incomplete: false,
                })
            };
            if end > BLOCK_SIZE {
                return bad(format!(
                    "fragment length {} runs past the end of its block",
                    h.length
                ));
            }
            if end > self.block.len() {
                // A write cut short leaves a strict prefix of the payload, whose checksum
                // does not match. If the bytes to the end of the file do match, the payload
                // is whole and the length field is what is damaged.
                let rest = &self.block[start.min(self.block.len())..];
                let length_damaged = RecordType::from_u8(h.kind).is_some()
                    && fragment_checksum(h.kind, rest) == h.checksum;
                return Ok(Physical::Bad {
                    offset,
                    reason: if length_damaged {
                        format!(
                            "fragment length {} runs past the end of the file, but the bytes \
                             to the end of the file are a whole fragment: the length is damaged",
                            h.length
                        )
                    } else {
                        format!("fragment length {} runs past the end of the file", h.length)
                    },
                    incomplete: !length_damaged,
                });
            }
            let kind = match RecordType::from_u8(h.kind) {
                Some(RecordType::Zero) => {
                    return bad("fragment type 0 (zeroed or preallocated space)".into())
                }
                None => return bad(format!("unknown fragment type {}", h.kind)),
                Some(kind) => kind,
            };
            if fragment_checksum(h.kind, &self.block[start..end]) != h.checksum {
                return bad("fragment checksum mismatch".into());
            }
            self.pos = end;
            return Ok(Physical::Fragment {
                kind,
                offset,
                start,
                len: h.length,
            });
        }
    }

    /// Loads the block at `next_block`; `false` at the end of the file.
    fn load_next_block(&mut self) -> Result<bool> {
        if self.next_block >= self.file_len {
            return Ok(false);
        }
        let n = (self.file_len - self.next_block).min(BLOCK_SIZE as u64) as usize;
        if self.block.len() != n {
            // A fresh zeroed buffer rather than `resize`: only the first and the last block
            // get here, and a zeroed allocation is cheaper than filling.
            self.block = vec![0; n];
        }
        self.file
            .read_exact_at(self.next_block, &mut self.block)
            .map_err(|e| self.annotate(e))?;
        self.block_start = self.next_block;
        self.next_block += BLOCK_SIZE as u64;
        self.pos = 0;
        Ok(true)
    }

    /// Offset of the first well-formed fragment at or after `from`, trying every byte
    /// position (the damage may be in a length field, so lengths cannot be used to skip).
    fn find_valid_fragment(&self, from: u64) -> Result<Option<u64>> {
        let mut buf = vec![0u8; BLOCK_SIZE];
        let mut block_start = from - from % BLOCK_SIZE as u64;
        let mut first = (from - block_start) as usize;
        while block_start < self.file_len {
            let n = (self.file_len - block_start).min(BLOCK_SIZE as u64) as usize;
            let block = &mut buf[..n];
            self.file
                .read_exact_at(block_start, block)
                .map_err(|e| self.annotate(e))?;
            // Candidates are positions whose type byte (the header's last) is 1..=4; finding
            // those with a plain byte search first keeps the scan of typical payload bytes
            // (text, zeros) linear and cheap.
            let mut p = first;
            while p + HEADER_SIZE <= n {
                let types = &block[p + HEADER_SIZE - 1..n];
                let Some(skip) = types.iter().position(|&t| t.wrapping_sub(1) < 4) else {
                    break;
                };
                p += skip;
                if is_valid_fragment_at(block, p) {
                    return Ok(Some(block_start + p as u64));
                }
                p += 1;
            }
            block_start += BLOCK_SIZE as u64;
            first = 0;
        }
        Ok(None)
    }

    fn annotate(&self, e: Error) -> Error {
        match e {
            Error::Io { context, source } => Error::io(
                format!("{context} (reading log {})", self.file_name),
                source,
            ),
            other => other,
        }
    }
}

impl std::fmt::Debug for LogReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogReader")
            .field("file_name", &self.file_name)
            .field("mode", &self.mode)
            .field("file_len", &self.file_len)
            .field("block_start", &self.block_start)
            .field("pos", &self.pos)
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}
