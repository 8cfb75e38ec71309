//! `kevo get`, `put`, `delete` and `scan`: one operation on an existing database; `kevo
//! stats` and `kevo compact`: its shape, and a manual compaction.

use std::io::{self, BufWriter, Write};
use std::ops::Bound;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use kevo::{Db, LevelStats};

use crate::escape;
use crate::open::{open_existing, open_read_only};

#[derive(Args, Debug)]
pub struct GetArgs {
    /// Database directory.
    db: PathBuf,
    /// The key (UTF-8, or hex with --hex).
    key: String,
    /// Take the key as hex and print the value as hex.
    #[arg(long)]
    hex: bool,
}

#[derive(Args, Debug)]
pub struct PutArgs {
    /// Database directory.
    db: PathBuf,
    /// The key (UTF-8, or hex with --hex).
    key: String,
    /// The value (UTF-8, or hex with --hex).
    value: String,
    /// Take key and value as hex.
    #[arg(long)]
    hex: bool,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// Database directory.
    db: PathBuf,
    /// The key (UTF-8, or hex with --hex).
    key: String,
    /// Take the key as hex.
    #[arg(long)]
    hex: bool,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Database directory.
    db: PathBuf,
    /// Only keys starting with this prefix.
    #[arg(long, conflicts_with_all = ["start", "end"])]
    prefix: Option<String>,
    /// First key of the range (inclusive).
    #[arg(long)]
    start: Option<String>,
    /// End of the range (exclusive).
    #[arg(long)]
    end: Option<String>,
    /// Stop after this many entries.
    #[arg(long)]
    limit: Option<u64>,
    /// Print only the number of entries.
    #[arg(long)]
    count: bool,
    /// Take --prefix/--start/--end as hex and print keys and values as hex.
    #[arg(long, conflicts_with = "escaped")]
    hex: bool,
    /// Print keys and values in the escaped form that `kevo import --escaped` and `kevo
    /// shell` read back (like the default output, but a backslash is `\\`; see the README),
    /// and read --prefix/--start/--end in it (text starting with `0x` is hex).
    #[arg(long)]
    escaped: bool,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Database directory.
    db: PathBuf,
}

#[derive(Args, Debug)]
pub struct CheckpointArgs {
    /// Database directory.
    db: PathBuf,
    /// Directory to write the checkpoint into (must not exist or be empty).
    dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct CompactArgs {
    /// Database directory.
    db: PathBuf,
    /// First key of the range to compact (inclusive) [default: the first key]
    #[arg(long)]
    start: Option<String>,
    /// Last key of the range to compact (inclusive) [default: the last key]
    #[arg(long)]
    end: Option<String>,
    /// Take --start/--end as hex.
    #[arg(long)]
    hex: bool,
}

/// A key or value given on the command line: UTF-8 text, or hex digits with `--hex`.
fn arg_bytes(s: &str, hex: bool, what: &str) -> Result<Vec<u8>> {
    if hex {
        hex::decode(s).with_context(|| format!("{what} {s:?} is not valid hex"))
    } else {
        Ok(s.as_bytes().to_vec())
    }
}

pub(crate) fn close(db: Db) -> Result<()> {
    db.close().context("closing the database")
}

pub fn get(args: &GetArgs) -> Result<ExitCode> {
    let key = arg_bytes(&args.key, args.hex, "key")?;
    let db = open_read_only(&args.db)?;
    let value = db.get(&key).context("get")?;
    close(db)?;
    match value {
        Some(v) => {
            let mut out = io::stdout().lock();
            if args.hex {
                out.write_all(hex::encode(&v).as_bytes())?;
            } else {
                out.write_all(&v)?;
            }
            out.write_all(b"\n")?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!("error: not found: {}", args.key);
            Ok(ExitCode::FAILURE)
        }
    }
}

pub fn put(args: &PutArgs) -> Result<ExitCode> {
    let key = arg_bytes(&args.key, args.hex, "key")?;
    let value = arg_bytes(&args.value, args.hex, "value")?;
    let db = open_existing(&args.db)?;
    db.put(&key, &value).context("put")?;
    close(db)?;
    Ok(ExitCode::SUCCESS)
}

/// [`arg_bytes`] of an optional argument.
fn opt_arg_bytes(arg: Option<&str>, hex: bool, what: &str) -> Result<Option<Vec<u8>>> {
    arg.map(|a| arg_bytes(a, hex, what)).transpose()
}

pub fn delete(args: &DeleteArgs) -> Result<ExitCode> {
    let key = arg_bytes(&args.key, args.hex, "key")?;
    let db = open_existing(&args.db)?;
    db.delete(&key).context("delete")?;
    close(db)?;
    Ok(ExitCode::SUCCESS)
}

pub fn scan(args: &ScanArgs) -> Result<ExitCode> {
    let bound = |arg: Option<&str>, what: &str| -> Result<Option<Vec<u8>>> {
        match arg {
            Some(s) if args.escaped => escape::parse(s)
                .map(Some)
                .map_err(|e| anyhow!("{what} {s:?}: {e}")),
            _ => opt_arg_bytes(arg, args.hex, what),
        }
    };
    let prefix = bound(args.prefix.as_deref(), "prefix")?;
    let start = bound(args.start.as_deref(), "start key")?;
    let end = bound(args.end.as_deref(), "end key")?;
    let db = open_read_only(&args.db)?;
    let entries = match prefix {
        Some(p) => db.scan_prefix(&p),
        None => db.scan::<Vec<u8>, _>((
            start.map_or(Bound::Unbounded, Bound::Included),
            end.map_or(Bound::Unbounded, Bound::Excluded),
        )),
    }
    .context("scan")?;
    let limit = args.limit.unwrap_or(u64::MAX);

    let mut out = BufWriter::new(io::stdout().lock());
    let mut n = 0u64;
    let mut line = Vec::new();
    for entry in entries {
        if n >= limit {
            break;
        }
        let (key, value) = entry.context("scan")?;
        n += 1;
        if args.count {
            continue;
        }
        line.clear();
        if args.hex {
            line.extend_from_slice(hex::encode(&key).as_bytes());
            line.push(b'\t');
            line.extend_from_slice(hex::encode(&value).as_bytes());
        } else if args.escaped {
            escape::escape_into(&mut line, &key);
            line.push(b'\t');
            escape::escape_into(&mut line, &value);
        } else {
            escape::display_into(&mut line, &key);
            line.push(b'\t');
            escape::display_into(&mut line, &value);
        }
        line.push(b'\n');
        out.write_all(&line)?;
    }
    if args.count {
        writeln!(out, "{n}")?;
    }
    out.flush()?;
    drop(out);
    close(db)?;
    Ok(ExitCode::SUCCESS)
}

pub fn stats(args: &StatsArgs) -> Result<ExitCode> {
    let db = open_read_only(&args.db)?;
    let text = db
        .property("kevo.stats")
        .context("reading kevo.stats")?
        .context("the engine has no kevo.stats property")?;
    close(db)?;
    let mut out = io::stdout().lock();
    writeln!(out, "{}", text.trim_end())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub fn checkpoint(args: &CheckpointArgs) -> Result<ExitCode> {
    let db = open_read_only(&args.db)?;
    let info = db
        .checkpoint(&args.dir)
        .with_context(|| format!("checkpoint into {}", args.dir.display()))?;
    close(db)?;
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "checkpoint {}: {} tables linked, {} copied, {} WAL segments, {} bytes copied, {:.3} s",
        args.dir.display(),
        info.tables_linked,
        info.tables_copied,
        info.wal_segments,
        info.bytes_copied,
        info.duration.as_secs_f64()
    )?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub fn compact(args: &CompactArgs) -> Result<ExitCode> {
    let start = opt_arg_bytes(args.start.as_deref(), args.hex, "start key")?;
    let end = opt_arg_bytes(args.end.as_deref(), args.hex, "end key")?;
    let db = open_existing(&args.db)?;
    let before = db.stats().levels;
    let started = Instant::now();
    db.compact_range(start.as_deref(), end.as_deref())
        .context("compact_range")?;
    let elapsed = started.elapsed();
    let after = db.stats().levels;
    close(db)?;
    let mut out = io::stdout().lock();
    write!(out, "{}", compaction_table(&before, &after))?;
    writeln!(out, "compacted in {:.3} s", elapsed.as_secs_f64())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Files and MiB per level before and after a compaction, one line per level.
fn compaction_table(before: &[LevelStats], after: &[LevelStats]) -> String {
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    let mut s = format!(
        "{:<6}{:>13}{:>13}{:>12}{:>12}\n",
        "level", "files before", "files after", "MiB before", "MiB after"
    );
    let none = LevelStats::default();
    for i in 0..before.len().max(after.len()) {
        let b = before.get(i).unwrap_or(&none);
        let a = after.get(i).unwrap_or(&none);
        s.push_str(&format!(
            "{:<6}{:>13}{:>13}{:>12.2}{:>12.2}\n",
            format!("L{i}"),
            b.files,
            a.files,
            mib(b.bytes),
            mib(a.bytes)
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compaction_table_lists_each_level() {
        let l = |files, bytes| LevelStats { files, bytes };
        let t = compaction_table(&[l(3, 3 << 20), l(0, 0)], &[l(0, 0), l(1, 2 << 20)]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t}");
        assert!(lines[0].starts_with("level"), "{t}");
        let l0: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(l0, ["L0", "3", "0", "3.00", "0.00"]);
        let l1: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(l1, ["L1", "0", "1", "0.00", "2.00"]);
    }

    #[test]
    fn hex_arguments() {
        assert_eq!(arg_bytes("00ff", true, "key").unwrap(), vec![0, 255]);
        assert_eq!(arg_bytes("00ff", false, "key").unwrap(), b"00ff".to_vec());
        let e = arg_bytes("xyz", true, "key").unwrap_err();
        assert!(format!("{e:#}").contains("not valid hex"), "{e:#}");
    }
}
