//! [`Options`]: how a database is tuned, with every default and unit written down.
//!
//! The tunables below are persisted in the manifest (see [`crate::manifest`]) when a database
//! is created and whenever it is opened with different values. [`Db::reopen`](crate::Db::reopen)
//! opens a database with the stored options. Every persisted option only shapes files written
//! from then on (each SSTable records its own block and filter parameters), so any of them may
//! change on reopen and the change is applied safely. What cannot change — the on-disk format
//! version — is checked at open: a database written by a newer format is refused with
//! [`Error::InvalidArgument`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::fs::{FileSystem, OsFileSystem};

/// When a write is forced to stable storage (fsync) before it is acknowledged.
///
/// Every mode writes the WAL record to the operating system before the write returns, so an
/// acknowledged write always survives a crash of the *process*. The modes differ in what
/// survives a crash of the *machine* (power loss, kernel panic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// fsync the WAL before acknowledging each write (or each group of concurrent writes —
    /// group commit shares one fsync among them). An acknowledged write survives power loss.
    /// Slowest: one fsync per group.
    Always,
    /// fsync the WAL once `bytes` bytes were written since the last fsync or `interval`
    /// passed since it, whichever comes first; the fsync is done by the writer that crosses
    /// the threshold, before it is acknowledged. On power loss, at most the writes of the last
    /// `bytes` / `interval` window are lost, and what survives is always a prefix of the
    /// acknowledged history.
    Batched {
        /// fsync after this many WAL bytes (> 0).
        bytes: u64,
        /// fsync when this much time has passed since the previous fsync.
        interval: Duration,
    },
    /// Never fsync the WAL on the write path; the OS writes it back when it chooses. On power
    /// loss, recent acknowledged writes may be lost (a prefix of the history survives). This
    /// is LevelDB's and RocksDB's default (`sync = false`). SSTables and the manifest are
    /// still synced when they are written.
    None,
}

/// Largest key accepted, in bytes (64 KiB - 1, so a key's length fits in two bytes in tools
/// and its internal key stays well under a block).
pub const MAX_KEY_SIZE: usize = 65_535;

/// Largest value accepted, in bytes (512 MiB, well under the WAL's 4 GiB record limit).
pub const MAX_VALUE_SIZE: usize = 512 << 20;

/// Database options. Build with [`Options::default`] and the chained setters; every field is
/// public to read.
#[derive(Clone)]
#[non_exhaustive]
pub struct Options {
    /// Create the directory and an empty database if none exists. Default `true`. Not persisted.
    pub create_if_missing: bool,
    /// Fail with [`Error::InvalidArgument`] if a database already exists. Default `false`.
    /// Not persisted.
    pub error_if_exists: bool,
    /// Write durability, see [`SyncMode`]. Default [`SyncMode::None`]. Persisted.
    pub sync_mode: SyncMode,
    /// Bytes of entries the memtable holds before it becomes immutable and is flushed to an
    /// L0 SSTable. Default 16 MiB: measured here, it beats 8, 32 and 64 MiB (RocksDB's
    /// `write_buffer_size` default) on both random writes and random reads at 1M entries,
    /// since a smaller skip list misses the cache less. Persisted.
    pub memtable_size: usize,
    /// Immutable memtables allowed to wait for their flush before writers stall until one is
    /// done. Default 2. Persisted.
    pub max_immutable_memtables: usize,
    /// Target uncompressed size of an SSTable data block, in bytes. Default 4096. Persisted.
    pub block_size: usize,
    /// Keys between restart points in a data block (LevelDB's `block_restart_interval`).
    /// Default 16. Persisted.
    pub block_restart_interval: usize,
    /// Bloom filter bits per key; 0 disables filters. Default 10 (about 1% false
    /// positives). Persisted.
    pub bloom_bits_per_key: usize,
    /// Number of L0 files that triggers a compaction into L1. Default 4. Persisted.
    pub l0_compaction_trigger: usize,
    /// Number of L0 files at which writers stall until a compaction reduces it. Default 20.
    /// Persisted.
    pub l0_stop_writes_trigger: usize,
    /// Size at which compaction output is split into a new SSTable, in bytes. Default 64 MiB.
    /// Persisted.
    pub target_file_size: u64,
    /// The file system all I/O goes through. Default [`OsFileSystem`]; tests use
    /// [`MemFileSystem`](crate::fs::MemFileSystem). Not persisted.
    pub fs: Arc<dyn FileSystem>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            create_if_missing: true,
            error_if_exists: false,
            sync_mode: SyncMode::None,
            memtable_size: 16 << 20,
            max_immutable_memtables: 2,
            block_size: 4096,
            block_restart_interval: 16,
            bloom_bits_per_key: 10,
            l0_compaction_trigger: 4,
            l0_stop_writes_trigger: 20,
            target_file_size: 64 << 20,
            fs: Arc::new(OsFileSystem),
        }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("create_if_missing", &self.create_if_missing)
            .field("error_if_exists", &self.error_if_exists)
            .field("sync_mode", &self.sync_mode)
            .field("memtable_size", &self.memtable_size)
            .field("max_immutable_memtables", &self.max_immutable_memtables)
            .field("block_size", &self.block_size)
            .field("block_restart_interval", &self.block_restart_interval)
            .field("bloom_bits_per_key", &self.bloom_bits_per_key)
            .field("l0_compaction_trigger", &self.l0_compaction_trigger)
            .field("l0_stop_writes_trigger", &self.l0_stop_writes_trigger)
            .field("target_file_size", &self.target_file_size)
            .finish_non_exhaustive()
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = value;
            self
        }
    };
}

impl Options {
    setter!(
        /// Sets [`Options::create_if_missing`].
        create_if_missing: bool
    );
    setter!(
        /// Sets [`Options::error_if_exists`].
        error_if_exists: bool
    );
    setter!(
        /// Sets [`Options::sync_mode`].
        sync_mode: SyncMode
    );
    setter!(
        /// Sets [`Options::memtable_size`] (bytes).
        memtable_size: usize
    );
    setter!(
        /// Sets [`Options::max_immutable_memtables`].
        max_immutable_memtables: usize
    );
    setter!(
        /// Sets [`Options::block_size`] (bytes).
        block_size: usize
    );
    setter!(
        /// Sets [`Options::block_restart_interval`] (entries).
        block_restart_interval: usize
    );
    setter!(
        /// Sets [`Options::bloom_bits_per_key`].
        bloom_bits_per_key: usize
    );
    setter!(
        /// Sets [`Options::l0_compaction_trigger`] (files).
        l0_compaction_trigger: usize
    );
    setter!(
        /// Sets [`Options::l0_stop_writes_trigger`] (files).
        l0_stop_writes_trigger: usize
    );
    setter!(
        /// Sets [`Options::target_file_size`] (bytes).
        target_file_size: u64
    );
    setter!(
        /// Sets [`Options::fs`].
        fs: Arc<dyn FileSystem>
    );

    /// Checks every value is in range.
    ///
    /// Errors: [`Error::InvalidArgument`] naming the first bad option.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::InvalidArgument(m.to_owned()));
        if self.memtable_size < 4096 {
            return bad("memtable_size must be at least 4096 bytes");
        }
        if self.max_immutable_memtables == 0 {
            return bad("max_immutable_memtables must be at least 1");
        }
        if !(256..=(64 << 20)).contains(&self.block_size) {
            return bad("block_size must be between 256 bytes and 64 MiB");
        }
        if !(1..=1024).contains(&self.block_restart_interval) {
            return bad("block_restart_interval must be between 1 and 1024");
        }
        if self.bloom_bits_per_key > 64 {
            return bad("bloom_bits_per_key must be at most 64");
        }
        if self.l0_compaction_trigger < 2 {
            return bad("l0_compaction_trigger must be at least 2");
        }
        if self.l0_stop_writes_trigger < self.l0_compaction_trigger {
            return bad("l0_stop_writes_trigger must be at least l0_compaction_trigger");
        }
        if self.target_file_size < 4096 {
            return bad("target_file_size must be at least 4096 bytes");
        }
        if let SyncMode::Batched { bytes, .. } = self.sync_mode {
            if bytes == 0 {
                return bad("SyncMode::Batched bytes must be > 0");
            }
        }
        Ok(())
    }

    /// The persisted options as `name=value` lines (the form stored in the manifest).
    pub fn to_persisted(&self) -> String {
        let sync = match self.sync_mode {
            SyncMode::Always => "always".to_owned(),
            SyncMode::None => "none".to_owned(),
            SyncMode::Batched { bytes, interval } => {
                format!("batched:{bytes}:{}", interval.as_micros())
            }
        };
        format!(
            "sync_mode={sync}\nmemtable_size={}\nmax_immutable_memtables={}\nblock_size={}\n\
             block_restart_interval={}\nbloom_bits_per_key={}\nl0_compaction_trigger={}\n\
             l0_stop_writes_trigger={}\ntarget_file_size={}\n",
            self.memtable_size,
            self.max_immutable_memtables,
            self.block_size,
            self.block_restart_interval,
            self.bloom_bits_per_key,
            self.l0_compaction_trigger,
            self.l0_stop_writes_trigger,
            self.target_file_size,
        )
    }

    /// Applies persisted `name=value` lines over `self`. Unknown names are ignored (a newer
    /// minor version may add tunables; they have safe defaults).
    ///
    /// Errors: [`Error::InvalidArgument`] for a value that does not parse.
    pub fn apply_persisted(mut self, text: &str) -> Result<Options> {
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let Some((name, value)) = line.split_once('=') else {
                return Err(Error::InvalidArgument(format!(
                    "stored option line {line:?}"
                )));
            };
            let bad = || Error::InvalidArgument(format!("stored option {name}={value}"));
            let num = |v: &str| v.parse::<u64>().map_err(|_| bad());
            match name {
                "sync_mode" => {
                    self.sync_mode = match value {
                        "always" => SyncMode::Always,
                        "none" => SyncMode::None,
                        v => {
                            let mut parts = v.split(':');
                            if parts.next() != Some("batched") {
                                return Err(bad());
                            }
                            let bytes = num(parts.next().ok_or_else(bad)?)?;
                            let micros = num(parts.next().ok_or_else(bad)?)?;
                            SyncMode::Batched {
                                bytes,
                                interval: Duration::from_micros(micros),
                            }
                        }
                    }
                }
                "memtable_size" => self.memtable_size = num(value)? as usize,
                "max_immutable_memtables" => self.max_immutable_memtables = num(value)? as usize,
                "block_size" => self.block_size = num(value)? as usize,
                "block_restart_interval" => self.block_restart_interval = num(value)? as usize,
                "bloom_bits_per_key" => self.bloom_bits_per_key = num(value)? as usize,
                "l0_compaction_trigger" => self.l0_compaction_trigger = num(value)? as usize,
                "l0_stop_writes_trigger" => self.l0_stop_writes_trigger = num(value)? as usize,
                "target_file_size" => self.target_file_size = num(value)?,
                _ => {}
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persisted_roundtrip() {
        let o = Options::default()
            .memtable_size(1 << 20)
            .sync_mode(SyncMode::Batched {
                bytes: 4096,
                interval: Duration::from_millis(5),
            })
            .bloom_bits_per_key(0);
        let back = Options::default()
            .apply_persisted(&o.to_persisted())
            .unwrap();
        assert_eq!(back.to_persisted(), o.to_persisted());
        assert_eq!(back.memtable_size, 1 << 20);
    }

    #[test]
    fn validate_rejects_out_of_range() {
        assert!(Options::default().validate().is_ok());
        assert!(Options::default()
            .block_restart_interval(0)
            .validate()
            .is_err());
        assert!(Options::default().memtable_size(10).validate().is_err());
        assert!(Options::default()
            .apply_persisted("block_size=abc")
            .is_err());
    }
}
