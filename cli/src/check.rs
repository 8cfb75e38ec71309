//! `kevo check DB`: verifies a closed database without changing it.
//!
//! - The manifest named by `CURRENT` is read with the engine's reader (every record's
//!   checksum) and replayed: each deleted file must be live at its level.
//! - The resulting version must be consistent: levels 1 and deeper sorted and without
//!   overlapping key ranges; every file number below the next file number; every file's
//!   smallest key no greater than its largest.
//! - Every live SSTable is opened and read whole: footer, properties, index, filter and
//!   every data block with its checksum. Its entries must be in strictly increasing
//!   internal-key order, match the manifest's smallest and largest keys, sequence range
//!   and entry count, and the file's size must be the manifest's.
//! - Every WAL segment recovery would replay (numbers at or above the log number) is read
//!   record by record and each record decoded as a write batch, as recovery would, in the
//!   default mode: a torn last record is reported, not counted as a problem.
//! - Files no live version names (left by a crash; the next open deletes them) are listed
//!   as notes.
//!
//! A closed database is checked under its `LOCK`, so nothing opens it meanwhile. A database
//! another process has open is checked *live*, as a read-only handle reads it: the WAL
//! segments are opened first, then the manifest is read and every table it names opened,
//! all by descriptor, so the writer's compactions and flushes deleting files cannot change
//! what is checked (a table deleted before it could be opened restarts the check, up to
//! [`LIVE_ATTEMPTS`] times). A live check reads a consistent state as of its start; it
//! skips the notes about files no version names, since a writer has such files in flight.
//! Prints a summary; exit code 0 if no problem was found, 1 otherwise (each problem is
//! printed).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use clap::Args;
use kevo::filename::{parse_file_name, table_path, wal_path, FileKind};
use kevo::fs::{FileSystem, OsFileSystem, RandomAccessFile, TruncatedView};
use kevo::iterator::InternalIterator;
use kevo::key::{compare_internal_keys, escape_bytes, parse_internal_key};
use kevo::manifest::{read_manifest, FileMetaData, NUM_LEVELS};
use kevo::sstable::Table;
use kevo::wal::{LogReader, WalRecoveryMode};
use kevo::WriteBatch;

use crate::dump::fmt_ikey;
use crate::open::live_manifest;

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Database directory (closed, or open in another process: then checked live).
    db: PathBuf,
}

/// What a check found.
#[derive(Default)]
pub struct Report {
    /// Each problem, one line: a file and what is wrong with it.
    pub problems: Vec<String>,
    /// Things worth knowing that are not damage (a torn WAL tail, obsolete files).
    pub notes: Vec<String>,
    pub manifest_edits: usize,
    pub files_per_level: [usize; NUM_LEVELS],
    pub tables_verified: usize,
    pub data_blocks: u64,
    pub entries: u64,
    pub table_bytes: u64,
    pub wal_segments: usize,
    pub wal_records: u64,
    pub wal_ops: u64,
}

pub fn run(args: &CheckArgs) -> Result<ExitCode> {
    let report = check(&args.db)?;
    let mut out = std::io::stdout().lock();
    print_report(&mut out, &args.db, &report)?;
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_report(out: &mut dyn Write, dir: &Path, r: &Report) -> Result<()> {
    writeln!(out, "database: {}", dir.display())?;
    writeln!(out, "manifest: {} edits", r.manifest_edits)?;
    let levels: Vec<String> = r.files_per_level.iter().map(usize::to_string).collect();
    writeln!(out, "files per level (L0..L6): {}", levels.join("/"))?;
    writeln!(
        out,
        "tables: {} verified, {} data blocks, {} entries, {} bytes",
        r.tables_verified, r.data_blocks, r.entries, r.table_bytes
    )?;
    writeln!(
        out,
        "wal: {} segments, {} records, {} operations",
        r.wal_segments, r.wal_records, r.wal_ops
    )?;
    for n in &r.notes {
        writeln!(out, "note: {n}")?;
    }
    for p in &r.problems {
        writeln!(out, "problem: {p}")?;
    }
    if r.problems.is_empty() {
        writeln!(out, "ok: no problem found")?;
    } else {
        writeln!(out, "FAILED: {} problem(s)", r.problems.len())?;
    }
    Ok(())
}

/// Attempts at a live check before giving up on a writer that keeps deleting the tables
/// just read from its manifest.
pub const LIVE_ATTEMPTS: usize = 100;

/// Checks the database in `dir`, closed or (live, see the module docs) open elsewhere.
///
/// Errors (rather than problems in the report): no database there; the lock cannot be
/// asked for; a live database whose files kept vanishing for [`LIVE_ATTEMPTS`] attempts.
pub fn check(dir: &Path) -> Result<Report> {
    let fs = OsFileSystem;
    live_manifest(dir)?;
    let lock = match fs.lock(&kevo::filename::lock_path(dir)) {
        Ok(l) => Some(l),
        Err(kevo::Error::Locked(_)) => None,
        Err(e) => return Err(anyhow!(e)),
    };
    if lock.is_some() {
        return check_once(&fs, dir, false)?
            .ok_or_else(|| anyhow!("files of {} vanished under the lock", dir.display()));
    }
    for _ in 0..LIVE_ATTEMPTS {
        if let Some(mut r) = check_once(&fs, dir, true)? {
            r.notes.push(
                "the database is open in another process: checked live, as of the check's \
                 start; files no version names are not reported"
                    .into(),
            );
            return Ok(r);
        }
    }
    Err(anyhow!(
        "files of the live database at {} kept vanishing during {LIVE_ATTEMPTS} attempts",
        dir.display()
    ))
}

/// One check; `Ok(None)` if `live` and a file vanished before it could be opened.
fn check_once(fs: &OsFileSystem, dir: &Path, live: bool) -> Result<Option<Report>> {
    // Live: the WAL segments first (see `try_catch_up` in the engine's read_only.rs: opened
    // after the manifest read, a segment flushed in between would be a hole).
    let mut names = fs.list(dir).map_err(|e| anyhow!(e))?;
    names.sort();
    let mut wals = BTreeMap::new();
    for n in &names {
        if let Some(FileKind::Wal(number)) = parse_file_name(n) {
            match fs.open(&wal_path(dir, number)) {
                Ok(f) => {
                    wals.insert(number, Ok(f));
                }
                Err(kevo::Error::NotFound(_)) if live => {}
                Err(e) => {
                    wals.insert(number, Err(e));
                }
            }
        }
    }
    let (manifest_name, manifest_path) = match live_manifest(dir) {
        Ok(m) => m,
        Err(_) if live => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut r = Report::default();

    // The manifest, replayed.
    let edits = match read_manifest(fs, &manifest_path) {
        Ok(e) => e,
        Err(kevo::Error::NotFound(_)) if live => return Ok(None),
        Err(e) => {
            r.problems.push(format!("manifest {manifest_name}: {e}"));
            return Ok(Some(r));
        }
    };
    r.manifest_edits = edits.len();
    let mut levels: [BTreeMap<u64, FileMetaData>; NUM_LEVELS] = Default::default();
    let (mut log_number, mut next_file) = (0u64, u64::MAX);
    for (offset, e) in &edits {
        if let Some(n) = e.log_number {
            log_number = n;
        }
        if let Some(n) = e.next_file_number {
            next_file = n;
        }
        for (level, number) in &e.deleted_files {
            let gone = levels.get_mut(*level).and_then(|l| l.remove(number));
            if gone.is_none() {
                r.problems.push(format!(
                    "manifest {manifest_name} at offset {offset}: deletes L{level} #{number}, \
                     which is not live at that level"
                ));
            }
        }
        for (level, f) in &e.new_files {
            match levels.get_mut(*level) {
                Some(l) => {
                    l.insert(f.number, f.clone());
                }
                None => r.problems.push(format!(
                    "manifest {manifest_name} at offset {offset}: adds #{} at level {level}, \
                     beyond L{}",
                    f.number,
                    NUM_LEVELS - 1
                )),
            }
        }
    }

    // The version's shape.
    for (level, files) in levels.iter().enumerate() {
        r.files_per_level[level] = files.len();
        for f in files.values() {
            if f.number >= next_file {
                r.problems.push(format!(
                    "manifest: L{level} #{} is not below the next file number {next_file}",
                    f.number
                ));
            }
            if compare_internal_keys(&f.smallest, &f.largest) == Ordering::Greater {
                r.problems.push(format!(
                    "manifest: L{level} #{}: smallest key {} is after largest key {}",
                    f.number,
                    fmt_ikey(&f.smallest),
                    fmt_ikey(&f.largest)
                ));
            }
        }
        if level > 0 {
            let mut sorted: Vec<&FileMetaData> = files.values().collect();
            sorted.sort_by(|a, b| compare_internal_keys(&a.smallest, &b.smallest));
            for pair in sorted.windows(2) {
                if pair[0].largest_user_key() >= pair[1].smallest_user_key() {
                    r.problems.push(format!(
                        "manifest: L{level} files #{} and #{} overlap ({} .. {} and {} .. {})",
                        pair[0].number,
                        pair[1].number,
                        escape_bytes(pair[0].smallest_user_key()),
                        escape_bytes(pair[0].largest_user_key()),
                        escape_bytes(pair[1].smallest_user_key()),
                        escape_bytes(pair[1].largest_user_key())
                    ));
                }
            }
        }
    }

    // Every live table opened first (live: before the writer can delete it), then read
    // whole.
    let mut live_tables = std::collections::HashSet::new();
    let mut tables = Vec::new();
    for (level, files) in levels.iter().enumerate() {
        for f in files.values() {
            live_tables.insert(f.number);
            match fs.open(&table_path(dir, f.number)) {
                Ok(file) => tables.push((level, f, Ok(file))),
                Err(kevo::Error::NotFound(_)) if live => return Ok(None),
                Err(e) => tables.push((level, f, Err(e))),
            }
        }
    }
    for (level, f, file) in tables {
        match file.and_then(|file| check_table(file, level, f, &mut r)) {
            Ok(()) => r.tables_verified += 1,
            Err(e) => r.problems.push(format!(
                "L{level} table #{} ({}): {e}",
                f.number,
                name(&table_path(dir, f.number))
            )),
        }
    }

    // WAL segments recovery would replay, and (closed only) files no version names.
    for (&number, file) in wals.range(log_number..) {
        r.wal_segments += 1;
        let n = name(&wal_path(dir, number));
        let result = match file {
            Ok(f) if live => check_live_wal(f.clone(), &n, &mut r),
            Ok(f) => check_wal(f.clone(), &n, &mut r),
            Err(e) => Err(kevo::Error::io(
                e.to_string(),
                std::io::Error::other("open"),
            )),
        };
        if let Err(e) = result {
            r.problems.push(format!("WAL {n}: {e}"));
        }
    }
    if live {
        return Ok(Some(r));
    }
    for n in &names {
        match parse_file_name(n) {
            Some(FileKind::Wal(number)) if number < log_number => {
                r.notes.push(format!("{n}: obsolete WAL segment"))
            }
            Some(FileKind::Table(number)) if !live_tables.contains(&number) => {
                r.notes.push(format!("{n}: table no live version names"));
            }
            Some(FileKind::Manifest(_)) if *n != manifest_name => {
                r.notes.push(format!("{n}: obsolete manifest"));
            }
            Some(FileKind::Temp) => r.notes.push(format!("{n}: temporary file")),
            _ => {}
        }
    }
    Ok(Some(r))
}

fn name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn check_table(
    file: Arc<dyn RandomAccessFile>,
    level: usize,
    f: &FileMetaData,
    r: &mut Report,
) -> kevo::Result<()> {
    let label = format!("{:06}.sst", f.number);
    if file.len() != f.file_size {
        return Err(kevo::Error::corruption(
            &label,
            0,
            format!(
                "file is {} bytes, the manifest says {}",
                file.len(),
                f.file_size
            ),
        ));
    }
    let table = Arc::new(Table::open(file, &label)?);
    // Every data block, checksum first (the iterator below reads them too, but a damaged
    // block must be reported as such, not as an ordering problem).
    let index = table.index_entries()?;
    for (_, h) in &index {
        table.read_block(*h)?;
    }
    r.data_blocks += index.len() as u64;
    let mut it = table.iter();
    it.seek_to_first();
    let (mut n, mut prev): (u64, Option<Vec<u8>>) = (0, None);
    let (mut min_seq, mut max_seq) = (u64::MAX, 0u64);
    let mut first: Option<Vec<u8>> = None;
    while it.valid() {
        let key = it.key();
        let p = parse_internal_key(key)
            .ok_or_else(|| kevo::Error::corruption(&label, 0, "entry is not an internal key"))?;
        min_seq = min_seq.min(p.seq);
        max_seq = max_seq.max(p.seq);
        if let Some(prev) = &prev {
            if compare_internal_keys(prev, key) != Ordering::Less {
                return Err(kevo::Error::corruption(
                    &label,
                    0,
                    format!("entry {} is not after {}", fmt_ikey(key), fmt_ikey(prev)),
                ));
            }
        }
        if first.is_none() {
            first = Some(key.to_vec());
        }
        prev = Some(key.to_vec());
        n += 1;
        it.next();
    }
    it.status()?;
    let mismatch = |what: &str, found: String, manifest: String| {
        kevo::Error::corruption(
            &label,
            0,
            format!("{what} is {found} but the manifest (L{level}) says {manifest}"),
        )
    };
    if n != f.num_entries {
        return Err(mismatch(
            "entry count",
            n.to_string(),
            f.num_entries.to_string(),
        ));
    }
    if n > 0 {
        let (first, last) = (first.unwrap_or_default(), prev.unwrap_or_default());
        if first != f.smallest {
            return Err(mismatch(
                "smallest key",
                fmt_ikey(&first),
                fmt_ikey(&f.smallest),
            ));
        }
        if last != f.largest {
            return Err(mismatch(
                "largest key",
                fmt_ikey(&last),
                fmt_ikey(&f.largest),
            ));
        }
        if min_seq < f.smallest_seq || max_seq > f.largest_seq {
            return Err(mismatch(
                "sequence range",
                format!("{min_seq}..{max_seq}"),
                format!("{}..{}", f.smallest_seq, f.largest_seq),
            ));
        }
    }
    r.entries += n;
    r.table_bytes += f.file_size;
    Ok(())
}

fn check_wal(file: Arc<dyn RandomAccessFile>, label: &str, r: &mut Report) -> kevo::Result<()> {
    let (records, ops, note) = read_wal(file, label)?;
    r.wal_records += records;
    r.wal_ops += ops;
    r.notes.extend(note);
    Ok(())
}

/// A live WAL segment: as [`check_wal`], read again when what was read may be the
/// writer's work in progress rather than damage: a segment the writer closed (and so cut to
/// its written length) while it was read is read again at its final length, through the
/// same descriptor (it may be deleted by now); and the tail of the segment being appended
/// to can look damaged for the instant a record is half copied in (its later bytes before
/// its earlier ones), so damage is believed only if it is still there after
/// [`LIVE_WAL_READS`] reads 10 ms apart.
fn check_live_wal(
    file: Arc<dyn RandomAccessFile>,
    label: &str,
    r: &mut Report,
) -> kevo::Result<()> {
    let mut last = Ok(());
    for _ in 0..LIVE_WAL_READS {
        let len = file.current_len()?;
        let view = Arc::new(TruncatedView {
            file: file.clone(),
            len: len.min(file.len()),
        });
        match check_wal(view, label, r) {
            Err(e @ kevo::Error::Corruption { .. }) => last = Err(e),
            Err(kevo::Error::Io { source, .. })
                if source.kind() == std::io::ErrorKind::UnexpectedEof =>
            {
                last = Err(kevo::Error::io(
                    format!("{label} kept shrinking while read"),
                    source,
                ))
            }
            other => return other,
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    last
}

/// Reads of a live WAL segment before damage in it is reported (see [`check_live_wal`]).
const LIVE_WAL_READS: usize = 10;

/// Records, operations and the note about a dropped tail of one WAL segment.
fn read_wal(
    file: Arc<dyn RandomAccessFile>,
    label: &str,
) -> kevo::Result<(u64, u64, Option<String>)> {
    let label = label.to_owned();
    let mut reader = LogReader::new(file, label.clone(), WalRecoveryMode::TolerateCorruptedTail);
    let (mut records, mut ops) = (0, 0);
    while let Some((offset, record)) = reader.read_record()? {
        if record.is_empty() {
            continue; // the seal of a complete segment
        }
        let batch = WriteBatch::from_bytes(&record, &label, offset)?;
        records += 1;
        ops += u64::from(batch.count());
    }
    let note = reader.dropped_tail().map(|t| {
        format!(
            "{label}: a torn tail of {} bytes at offset {} would be dropped by recovery ({})",
            t.bytes, t.offset, t.reason
        )
    });
    Ok((records, ops, note))
}
