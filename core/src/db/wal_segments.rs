//! [`WalSegments`]: the WAL segment being written, and the sealed ones whose memtables are
//! not flushed yet.
//!
//! Each memtable has its own segment (`NNNNNN.log`, named by the memtable's WAL number).
//! When the memtable is switched, the current segment is *sealed* with an empty record
//! (recovery's proof that the segment is complete) and writing continues in a new one,
//! without an fsync on the write path. The sealed segments are kept here until their
//! memtables are flushed: any later sync first syncs them, so a power loss can never keep a
//! later segment's synced writes and lose an earlier segment's.

use std::time::Instant;

use crate::error::Result;
use crate::fs::NullFile;
use crate::options::SyncMode;
use crate::wal::LogWriter;

/// The WAL segments of one open database. Only the write leader appends.
pub(crate) struct WalSegments {
    writer: LogWriter,
    number: u64,
    /// Earlier segments, sealed, whose memtables are not flushed yet and whose tails may not
    /// be durable.
    sealed: Vec<(u64, LogWriter)>,
    bytes_since_sync: u64,
    last_sync: Instant,
}

impl WalSegments {
    /// Writing to segment `number` through `writer`.
    pub(crate) fn new(writer: LogWriter, number: u64) -> Self {
        WalSegments {
            writer,
            number,
            sealed: Vec::new(),
            bytes_since_sync: 0,
            last_sync: Instant::now(),
        }
    }

    /// A stand-in that refuses every append, until recovery opens the real segment.
    pub(crate) fn placeholder() -> Self {
        Self::new(LogWriter::new(Box::new(NullFile)), 0)
    }

    /// The number of the segment being written.
    pub(crate) fn number(&self) -> u64 {
        self.number
    }

    /// The current segment's number and logical length in bytes: every record appended so
    /// far lies below it (a checkpoint copies exactly that much).
    pub(crate) fn position(&self) -> (u64, u64) {
        (self.number, self.writer.len())
    }

    /// fsyncs the sealed segments, then the current one.
    ///
    /// Errors: [`Error::Io`](crate::Error::Io).
    pub(crate) fn sync(&mut self) -> Result<()> {
        for (_, w) in &mut self.sealed {
            w.sync()?;
        }
        self.sealed.clear();
        self.writer.sync()?;
        self.bytes_since_sync = 0;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Seals the current segment with an empty record and continues in `writer`, segment
    /// `number`.
    ///
    /// Errors: [`Error::Io`](crate::Error::Io) writing the seal; the current segment may
    /// then end in part of a seal, and nothing may follow it.
    pub(crate) fn rotate(&mut self, writer: LogWriter, number: u64) -> Result<()> {
        self.writer.add_record(&[])?;
        self.writer.flush()?;
        let old = std::mem::replace(&mut self.writer, writer);
        self.sealed.push((self.number, old));
        self.number = number;
        Ok(())
    }

    /// Closes every segment file (after a final [`sync`](Self::sync)), so the log files end
    /// at their last record: an mmap'd segment cuts its reserved zero tail when its file is
    /// dropped. Appends after this fail.
    pub(crate) fn finish(&mut self) {
        self.sealed.clear();
        self.writer = LogWriter::new(Box::new(NullFile));
    }

    /// Forgets sealed segments numbered below `log_number`: their memtables are in SSTables
    /// now.
    pub(crate) fn release_below(&mut self, log_number: u64) {
        self.sealed.retain(|(n, _)| *n >= log_number);
    }

    /// Appends one record (an encoded write batch) and makes it as durable as `mode`
    /// requires: handed to the OS always (it survives a process crash), fsynced per mode.
    ///
    /// Errors: [`Error::Io`](crate::Error::Io) from the append or the fsync.
    pub(crate) fn append(&mut self, record: &[u8], mode: SyncMode) -> Result<()> {
        self.writer.add_record(record)?;
        self.writer.flush()?;
        self.bytes_since_sync += record.len() as u64;
        let sync = match mode {
            SyncMode::Always => true,
            SyncMode::None => false,
            SyncMode::Batched { bytes, interval } => {
                self.bytes_since_sync >= bytes || self.last_sync.elapsed() >= interval
            }
        };
        if sync {
            self.sync()?;
        }
        Ok(())
    }
}
