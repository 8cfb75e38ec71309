//! [`LogWriter`]: appends records to a log file, fragmenting them at block boundaries.

use crate::error::{Error, Result};
use crate::fs::WritableFile;

use super::format::{
    encode_header, RecordType, BLOCK_SIZE, HEADER_SIZE, MAX_FRAGMENT_PAYLOAD, MAX_RECORD_SIZE,
};

/// Appends records to a log file in the [log format](super).
///
/// The writer never seeks or rewrites: it appends fragments and the zero trailers between
/// blocks, so a crash can only leave a *prefix* of what was appended (possibly ending inside
/// a fragment), which is exactly the damage [`LogReader`](super::LogReader) is built to
/// recognise.
///
/// After any I/O error the writer is *poisoned*: the file may now end in the middle of a
/// fragment, and appending more records behind that would turn a harmless torn tail into
/// damage in the middle of the log. Every later call fails with [`Error::Io`] naming the
/// first failure; the owner must start a new file.
pub struct LogWriter {
    file: Box<dyn WritableFile>,
    /// Offset of the next write inside the current block, `0..=BLOCK_SIZE`.
    block_offset: usize,
    /// The first error, as text (an `io::Error` cannot be cloned), once poisoned.
    failed: Option<String>,
}

impl LogWriter {
    /// A writer appending to `file`.
    ///
    /// `file` is normally new and empty. If it already holds bytes, the writer continues the
    /// block layout from its current length, which is only correct if those bytes are a log
    /// written by a `LogWriter` that was not poisoned.
    pub fn new(file: Box<dyn WritableFile>) -> Self {
        let block_offset = (file.len() % BLOCK_SIZE as u64) as usize;
        LogWriter {
            file,
            block_offset,
            failed: None,
        }
    }

    /// Appends `payload` as one record: one `Full` fragment, or a `First`, zero or more
    /// `Middle` and a `Last` fragment when it does not fit in the rest of the current block.
    /// An empty payload is a valid record (a `Full` fragment of length 0).
    ///
    /// The bytes are handed to the file's buffer only; call [`flush`](Self::flush) or
    /// [`sync`](Self::sync) to make them reach the OS or the disk.
    ///
    /// Errors: [`Error::InvalidArgument`] if `payload` is longer than
    /// [`MAX_RECORD_SIZE`] (nothing is written); [`Error::Io`] if an append fails, after which
    /// the writer is poisoned (see the type docs).
    pub fn add_record(&mut self, payload: &[u8]) -> Result<()> {
        self.check_usable()?;
        if payload.len() > MAX_RECORD_SIZE {
            return Err(Error::InvalidArgument(format!(
                "log record of {} bytes exceeds the {MAX_RECORD_SIZE}-byte limit",
                payload.len()
            )));
        }
        let result = self.write_fragments(payload);
        self.poison_on_error(result)
    }

    /// Hands buffered bytes to the operating system: they survive a process crash, not a
    /// power loss.
    ///
    /// Errors: [`Error::Io`]; the writer is then poisoned.
    pub fn flush(&mut self) -> Result<()> {
        self.check_usable()?;
        let result = self.file.flush();
        self.poison_on_error(result)
    }

    /// Flushes and forces the file's data to stable storage (`fdatasync`): every record added
    /// before this call survives a power loss once it returns `Ok`.
    ///
    /// Errors: [`Error::Io`]; the writer is then poisoned. After a failed sync it is unknown
    /// which of the unsynced records reached the disk.
    pub fn sync(&mut self) -> Result<()> {
        self.check_usable()?;
        let result = self.file.sync();
        self.poison_on_error(result)
    }

    /// Bytes written to the file so far (including block trailers), i.e. its logical length.
    pub fn len(&self) -> u64 {
        self.file.len()
    }

    /// True if nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn write_fragments(&mut self, payload: &[u8]) -> Result<()> {
        let mut rest = payload;
        let mut first = true;
        // Runs at least once so that an empty payload still produces a (Full) fragment.
        loop {
            let leftover = BLOCK_SIZE - self.block_offset;
            if leftover < HEADER_SIZE {
                // Too small for a header: pad with zeros so the next fragment starts on a
                // block boundary, where a reader expects it.
                if leftover > 0 {
                    const ZEROS: [u8; HEADER_SIZE] = [0; HEADER_SIZE];
                    self.file.append(&ZEROS[..leftover])?;
                }
                self.block_offset = 0;
            }
            let room = BLOCK_SIZE - self.block_offset - HEADER_SIZE;
            debug_assert!(room <= MAX_FRAGMENT_PAYLOAD);
            let n = rest.len().min(room);
            let last = n == rest.len();
            let kind = match (first, last) {
                (true, true) => RecordType::Full,
                (true, false) => RecordType::First,
                (false, false) => RecordType::Middle,
                (false, true) => RecordType::Last,
            };
            let (fragment, tail) = rest.split_at(n);
            self.file.append(&encode_header(kind, fragment))?;
            self.file.append(fragment)?;
            self.block_offset += HEADER_SIZE + n;
            rest = tail;
            first = false;
            if last {
                return Ok(());
            }
        }
    }

    fn check_usable(&self) -> Result<()> {
        match &self.failed {
            None => Ok(()),
            Some(first) => Err(Error::io(
                format!("log writer unusable after an earlier failure ({first})"),
                std::io::Error::other("log writer poisoned"),
            )),
        }
    }

    fn poison_on_error(&mut self, result: Result<()>) -> Result<()> {
        if let Err(e) = &result {
            self.failed = Some(e.to_string());
        }
        result
    }
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("len", &self.len())
            .field("block_offset", &self.block_offset)
            .field("failed", &self.failed)
            .finish()
    }
}
