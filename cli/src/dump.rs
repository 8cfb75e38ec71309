//! `kevo dump-sst`, `dump-wal` and `manifest`: human-readable views of single files.
//!
//! These commands never open the database (no lock, no recovery): they read one file with
//! the engine's own readers, so every checksum the engine checks is checked here too. Output
//! goes to stdout as it is produced; on damage, what was printed stays printed and the
//! command ends with one `error: ...` line and exit code 1.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use clap::{Args, ValueEnum};
use kevo::batch::BatchOp;
use kevo::fs::{FileSystem, OsFileSystem, RandomAccessFile};
use kevo::iterator::InternalIterator;
use kevo::key::{
    escape_bytes, parse_internal_key, trailer, user_key, ValueKind, KIND_FOR_SEEK,
    MAX_SEQUENCE_NUMBER, TRAILER_LEN,
};
use kevo::manifest::{read_manifest, FileMetaData, NUM_LEVELS};
use kevo::sstable::{BlockHandle, Table};
use kevo::wal::{LogReader, WalRecoveryMode};
use kevo::WriteBatch;

use crate::open::live_manifest;

/// Longest escaped value printed in full; longer ones are cut with a `...(N bytes)` marker.
const MAX_VALUE_CHARS: usize = 80;

#[derive(Args, Debug)]
pub struct DumpSstArgs {
    /// The table file (`NNNNNN.sst`).
    file: PathBuf,
    /// Print every entry: `key @seq Kind => value`.
    #[arg(long)]
    entries: bool,
    /// Print the index: each data block's separator key, offset and size.
    #[arg(long)]
    blocks: bool,
}

#[derive(Args, Debug)]
pub struct DumpWalArgs {
    /// The log file (`NNNNNN.log`).
    file: PathBuf,
    /// What to do with damage: drop a torn tail (tolerate), fail on any damage (absolute),
    /// or stop at the first damage (point-in-time).
    #[arg(long, value_enum, default_value_t = Mode::Tolerate)]
    mode: Mode,
}

#[derive(Args, Debug)]
pub struct ManifestArgs {
    /// Database directory.
    db: PathBuf,
}

/// `--mode` of `dump-wal`, mapped onto [`WalRecoveryMode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Drop a torn last record (reported); damage before intact data is an error.
    Tolerate,
    /// Any damage, even a torn last record, is an error.
    Absolute,
    /// Stop at the first damage and report the rest as dropped.
    PointInTime,
}

impl From<Mode> for WalRecoveryMode {
    fn from(m: Mode) -> Self {
        match m {
            Mode::Tolerate => WalRecoveryMode::TolerateCorruptedTail,
            Mode::Absolute => WalRecoveryMode::AbsoluteConsistency,
            Mode::PointInTime => WalRecoveryMode::PointInTime,
        }
    }
}

/// Opens `path` for reading, with a clear error for a missing file or a directory.
fn open_file(path: &Path) -> Result<Arc<dyn RandomAccessFile>> {
    if path.is_dir() {
        bail!("{} is a directory, not a file", path.display());
    }
    OsFileSystem.open(path).map_err(|e| match e {
        kevo::Error::NotFound(_) => anyhow!("no such file: {}", path.display()),
        e => anyhow!(e),
    })
}

/// Runs `body` with a buffered stdout, flushing what it printed even if it fails, so the
/// output before an error is not lost.
fn with_stdout(body: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<ExitCode> {
    let mut out = BufWriter::new(io::stdout().lock());
    let r = body(&mut out);
    let flushed = out.flush();
    r?;
    flushed?;
    Ok(ExitCode::SUCCESS)
}

/// `userkey@seq:Kind`, or the escaped bytes if they are not an internal key.
///
/// Index separators may carry the seek trailer (kind byte `0xff`, often with the maximum
/// sequence number): shown as `userkey@max:Seek`.
pub fn fmt_ikey(ikey: &[u8]) -> String {
    if let Some(k) = parse_internal_key(ikey) {
        return format!("{}@{}:{:?}", escape_bytes(k.user_key), k.seq, k.kind);
    }
    if ikey.len() >= TRAILER_LEN && trailer(ikey) & 0xff == u64::from(KIND_FOR_SEEK) {
        let seq = trailer(ikey) >> 8;
        let seq = if seq == MAX_SEQUENCE_NUMBER {
            "max".to_string()
        } else {
            seq.to_string()
        };
        return format!("{}@{seq}:Seek", escape_bytes(user_key(ikey)));
    }
    format!("<not an internal key: {}>", escape_bytes(ikey))
}

/// The escaped value, cut after [`MAX_VALUE_CHARS`] characters with `...(N bytes)`.
pub fn fmt_value(v: &[u8]) -> String {
    let mut s = escape_bytes(v);
    if s.len() > MAX_VALUE_CHARS {
        // `escape_bytes` output is ASCII: any byte index is a char boundary, but do not cut
        // an escape `\xNN` in half.
        let mut cut = MAX_VALUE_CHARS;
        if let Some(bs) = s[cut.saturating_sub(3)..cut].rfind('\\') {
            cut = cut - 3 + bs;
        }
        s.truncate(cut);
        s.push_str(&format!("...({} bytes)", v.len()));
    }
    s
}

fn handle(h: BlockHandle) -> String {
    format!("offset {} size {}", h.offset, h.size)
}

// --- dump-sst ---------------------------------------------------------------------------

/// The name of a block trailer's compression type byte.
fn compression_name(t: u8) -> &'static str {
    match t {
        0 => "none",
        1 => "lz4",
        2 => "zstd",
        _ => "unknown",
    }
}

pub fn dump_sst(args: &DumpSstArgs) -> Result<ExitCode> {
    let file = open_file(&args.file)?;
    let name = args.file.display().to_string();
    let table = Arc::new(Table::open(file, &name)?);
    with_stdout(|out| write_sst(out, &table, args))
}

fn write_sst(out: &mut dyn Write, table: &Arc<Table>, args: &DumpSstArgs) -> Result<()> {
    let f = table.footer();
    let p = table.properties();
    writeln!(out, "file: {}", table.file_name())?;
    writeln!(out, "footer:")?;
    writeln!(out, "  format version: {}", f.format_version)?;
    writeln!(out, "  index block:      {}", handle(f.index_handle))?;
    writeln!(out, "  filter block:     {}", handle(f.filter_handle))?;
    writeln!(out, "  properties block: {}", handle(f.properties_handle))?;
    writeln!(out, "properties:")?;
    writeln!(out, "  entries: {}", p.num_entries)?;
    writeln!(out, "  deletions: {}", p.num_deletions)?;
    writeln!(out, "  data blocks: {}", p.num_data_blocks)?;
    writeln!(out, "  raw key bytes: {}", p.raw_key_bytes)?;
    writeln!(out, "  raw value bytes: {}", p.raw_value_bytes)?;
    writeln!(out, "  data bytes: {}", p.data_bytes)?;
    writeln!(out, "  index bytes: {}", p.index_bytes)?;
    writeln!(out, "  filter bytes: {}", p.filter_bytes)?;
    if p.num_entries > 0 {
        writeln!(out, "  smallest key: {}", fmt_ikey(&p.smallest_key))?;
        writeln!(out, "  largest key: {}", fmt_ikey(&p.largest_key))?;
        writeln!(
            out,
            "  sequence range: {}..{}",
            p.smallest_seq, p.largest_seq
        )?;
    }
    writeln!(out, "  file size: {}", p.file_size)?;
    if p.num_range_deletions > 0 {
        writeln!(
            out,
            "range tombstones ({}, block of {} bytes):",
            p.num_range_deletions, p.range_del_bytes
        )?;
        for t in table.range_tombstones() {
            writeln!(
                out,
                "  [{}, {}) @{}",
                escape_bytes(&t.start),
                escape_bytes(&t.end),
                t.seq
            )?;
        }
    }
    let (filter_bytes, k) = table.filter_info();
    if filter_bytes == 0 {
        writeln!(out, "filter: none")?;
    } else {
        writeln!(out, "filter: {filter_bytes} bytes, k = {k}")?;
    }

    let index = table.index_entries()?;
    if args.blocks {
        writeln!(out, "index ({} data blocks):", index.len())?;
        for (i, (sep, h)) in index.iter().enumerate() {
            // A damaged block shows as "unreadable" here; the check below reports why.
            let compression = table
                .block_compression(*h)
                .map_or("unreadable", compression_name);
            writeln!(
                out,
                "  block {i}: {} -> {} ({compression})",
                fmt_ikey(sep),
                handle(*h)
            )?;
        }
    }

    if args.entries {
        writeln!(out, "entries:")?;
        let mut it = table.iter();
        let mut n = 0u64;
        it.seek_to_first();
        while it.valid() {
            n += 1;
            let line = match parse_internal_key(it.key()) {
                Some(k) if k.kind == ValueKind::Put => format!(
                    "  {} @{} Put => {}",
                    escape_bytes(k.user_key),
                    k.seq,
                    fmt_value(it.value())
                ),
                Some(k) => format!("  {} @{} {:?}", escape_bytes(k.user_key), k.seq, k.kind),
                None => format!("  {}", fmt_ikey(it.key())),
            };
            writeln!(out, "{line}")?;
            it.next();
        }
        it.status()?;
        if n != p.num_entries {
            bail!(
                "corruption in {}: {n} entries found but the properties say {}",
                table.file_name(),
                p.num_entries
            );
        }
        writeln!(out, "{n} entries")?;
    }
    // Every data block is read and its checksum verified, entries printed or not: a dump
    // that says nothing about damage it did not look at would mislead.
    let mut by_type = [0u64; 3];
    for (_, h) in &index {
        table.read_block(*h)?;
        if let Some(n) = by_type.get_mut(usize::from(table.block_compression(*h)?)) {
            *n += 1;
        }
    }
    let counts: Vec<String> = (0u8..3)
        .filter(|&t| by_type[usize::from(t)] > 0)
        .map(|t| format!("{} {}", by_type[usize::from(t)], compression_name(t)))
        .collect();
    if !counts.is_empty() {
        writeln!(out, "data block compression: {}", counts.join(", "))?;
    }
    writeln!(out, "checksums: ok ({} data blocks verified)", index.len())?;
    Ok(())
}

// --- dump-wal ---------------------------------------------------------------------------

pub fn dump_wal(args: &DumpWalArgs) -> Result<ExitCode> {
    let file = open_file(&args.file)?;
    let name = args.file.display().to_string();
    with_stdout(|out| {
        let mut reader = LogReader::new(file, name.clone(), args.mode.into());
        writeln!(out, "file: {name} ({} bytes)", reader.file_len())?;
        let (mut records, mut ops, mut bytes) = (0u64, 0u64, 0u64);
        while let Some((offset, record)) = reader.read_record()? {
            if record.is_empty() {
                // The engine seals a segment with an empty record when it moves to the next.
                writeln!(out, "record @{offset}: seal (the segment is complete)")?;
                continue;
            }
            let batch = WriteBatch::from_bytes(&record, &name, offset)?;
            records += 1;
            bytes += record.len() as u64;
            writeln!(
                out,
                "record @{offset}: seq {} count {} ({} bytes)",
                batch.sequence(),
                batch.count(),
                record.len()
            )?;
            for op in batch.iter() {
                // `from_bytes` decoded every op already; an error here cannot happen.
                match op.map_err(|d| kevo::Error::corruption(name.as_str(), offset, d))? {
                    BatchOp::Put(k, v) => {
                        writeln!(out, "  PUT {} => {}", escape_bytes(k), fmt_value(v))?
                    }
                    BatchOp::Delete(k) => writeln!(out, "  DELETE {}", escape_bytes(k))?,
                    BatchOp::DeleteRange(a, b) => writeln!(
                        out,
                        "  DELETE_RANGE [{}, {})",
                        escape_bytes(a),
                        escape_bytes(b)
                    )?,
                }
                ops += 1;
            }
        }
        writeln!(out, "{records} records, {ops} ops, {bytes} bytes")?;
        if let Some(t) = reader.dropped_tail() {
            writeln!(
                out,
                "dropped tail: {} bytes at offset {}: {}",
                t.bytes, t.offset, t.reason
            )?;
        }
        Ok(())
    })
}

// --- manifest ---------------------------------------------------------------------------

pub fn manifest(args: &ManifestArgs) -> Result<ExitCode> {
    let dir = &args.db;
    let (name, path) = live_manifest(dir)?;
    let edits = read_manifest(&OsFileSystem, &path)?;

    with_stdout(|out| {
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        writeln!(
            out,
            "CURRENT -> {name} ({size} bytes, {} edits)",
            edits.len()
        )?;
        let mut levels: [BTreeMap<u64, FileMetaData>; NUM_LEVELS] = Default::default();
        let (mut format_version, mut log_number, mut next_file, mut last_seq) =
            (None, None, None, None);
        for (offset, e) in &edits {
            writeln!(out, "edit @{offset}:")?;
            if let Some(v) = e.format_version {
                writeln!(out, "  format version {v}")?;
                format_version = Some(v);
            }
            if let Some(o) = &e.options {
                writeln!(out, "  options:")?;
                for l in o.lines() {
                    writeln!(out, "    {l}")?;
                }
            }
            if let Some(n) = e.log_number {
                writeln!(out, "  log number {n}")?;
                log_number = Some(n);
            }
            if let Some(n) = e.next_file_number {
                writeln!(out, "  next file number {n}")?;
                next_file = Some(n);
            }
            if let Some(n) = e.last_sequence {
                writeln!(out, "  last sequence {n}")?;
                last_seq = Some(n);
            }
            for (level, number) in &e.deleted_files {
                writeln!(out, "  deleted L{level} #{number}")?;
                if levels[*level].remove(number).is_none() {
                    bail!(
                        "corruption in {} at offset {offset}: edit deletes L{level} #{number}, \
                         which is not in that level",
                        path.display()
                    );
                }
            }
            for (level, f) in &e.new_files {
                writeln!(
                    out,
                    "  new L{level} #{} {} bytes [{} .. {}] seq {}..{} entries {} ({} deletions)",
                    f.number,
                    f.file_size,
                    fmt_ikey(&f.smallest),
                    fmt_ikey(&f.largest),
                    f.smallest_seq,
                    f.largest_seq,
                    f.num_entries,
                    f.num_deletions
                )?;
                levels[*level].insert(f.number, f.clone());
            }
        }

        let show = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
        writeln!(out, "summary:")?;
        writeln!(
            out,
            "  format version {}, log number {}, next file number {}, last sequence {}",
            format_version.map_or("-".to_string(), |v| v.to_string()),
            show(log_number),
            show(next_file),
            show(last_seq)
        )?;
        let (mut files, mut bytes) = (0usize, 0u64);
        for (level, fs) in levels.iter().enumerate() {
            let b: u64 = fs.values().map(|f| f.file_size).sum();
            files += fs.len();
            bytes += b;
            if fs.is_empty() {
                continue;
            }
            let numbers: Vec<String> = fs.keys().map(|n| format!("#{n}")).collect();
            writeln!(
                out,
                "  L{level}: {} files, {b} bytes: {}",
                fs.len(),
                numbers.join(" ")
            )?;
        }
        writeln!(out, "  total: {files} files, {bytes} bytes")?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kevo::key::make_internal_key;

    #[test]
    fn internal_keys_are_shown_with_seq_and_kind() {
        let k = make_internal_key(b"a\x01", 7, ValueKind::Delete);
        assert_eq!(fmt_ikey(&k), "a\\x01@7:Delete");
        assert_eq!(fmt_ikey(b"ab"), "<not an internal key: ab>");
        assert_eq!(
            fmt_ikey(&kevo::key::seek_key(b"g", MAX_SEQUENCE_NUMBER)),
            "g@max:Seek"
        );
        assert_eq!(fmt_ikey(&kevo::key::seek_key(b"g", 5)), "g@5:Seek");
    }

    #[test]
    fn long_values_are_cut_with_their_size() {
        assert_eq!(fmt_value(b"short"), "short");
        let v = vec![b'x'; 200];
        let s = fmt_value(&v);
        assert!(s.starts_with(&"x".repeat(80)), "{s}");
        assert!(s.ends_with("...(200 bytes)"), "{s}");
        // An escape is never cut in half.
        let mut v = vec![b'y'; 79];
        v.extend_from_slice(&[0u8; 10]);
        let s = fmt_value(&v);
        assert!(s.starts_with(&"y".repeat(79)), "{s}");
        assert!(s.ends_with("...(89 bytes)"), "{s}");
        assert!(!s.contains("\\x0..."), "{s}");
    }
}
