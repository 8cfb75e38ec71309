//! `kevo get`, `put`, `delete` and `scan`: one operation on an existing database.

use std::io::{self, BufWriter, Write};
use std::ops::Bound;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use kevo::Db;

use crate::open::open_existing;

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

fn close(db: Db) -> Result<()> {
    db.close().context("closing the database")
}

pub fn get(args: &GetArgs) -> Result<ExitCode> {
    let key = arg_bytes(&args.key, args.hex, "key")?;
    let db = open_existing(&args.db)?;
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

pub fn delete(args: &DeleteArgs) -> Result<ExitCode> {
    let key = arg_bytes(&args.key, args.hex, "key")?;
    let db = open_existing(&args.db)?;
    db.delete(&key).context("delete")?;
    close(db)?;
    Ok(ExitCode::SUCCESS)
}

pub fn scan(args: &ScanArgs) -> Result<ExitCode> {
    let prefix = args
        .prefix
        .as_deref()
        .map(|p| arg_bytes(p, args.hex, "prefix"))
        .transpose()?;
    let start = args
        .start
        .as_deref()
        .map(|s| arg_bytes(s, args.hex, "start key"))
        .transpose()?;
    let end = args
        .end
        .as_deref()
        .map(|s| arg_bytes(s, args.hex, "end key"))
        .transpose()?;
    let db = open_existing(&args.db)?;
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
        } else {
            escape_into(&mut line, &key);
            line.push(b'\t');
            escape_into(&mut line, &value);
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

/// Appends `bytes` in a one-line, tab-free form: valid UTF-8 as is, except control
/// characters (`\t`, `\n`, `\r`, other controls as `\xNN` or `\u{N}`); bytes that are not
/// UTF-8 as `\xNN`. Backslashes are left alone, so JSON text reads naturally.
pub fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\t' => out.extend_from_slice(b"\\t"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                c if c.is_control() && (c as u32) < 0x100 => {
                    out.extend_from_slice(format!("\\x{:02x}", c as u32).as_bytes())
                }
                c if c.is_control() => {
                    out.extend_from_slice(format!("\\u{{{:x}}}", c as u32).as_bytes())
                }
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        for b in chunk.invalid() {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(b: &[u8]) -> String {
        let mut v = Vec::new();
        escape_into(&mut v, b);
        String::from_utf8(v).expect("escaped output is UTF-8")
    }

    #[test]
    fn printable_utf8_is_shown_as_is() {
        assert_eq!(esc(b"hello"), "hello");
        assert_eq!(esc("Zürich/東京".as_bytes()), "Zürich/東京");
        assert_eq!(esc(br#"{"a":"b\"c"}"#), r#"{"a":"b\"c"}"#);
    }

    #[test]
    fn control_and_invalid_bytes_are_escaped() {
        assert_eq!(esc(b"a\tb\nc\rd"), "a\\tb\\nc\\rd");
        assert_eq!(esc(b"\x00\x1f\x7f"), "\\x00\\x1f\\x7f");
        assert_eq!(esc(b"ok\xff\xfeok"), "ok\\xff\\xfeok");
        assert_eq!(esc("\u{85}".as_bytes()), "\\x85");
        assert_eq!(esc("\u{2028}".as_bytes()), "\u{2028}");
    }

    #[test]
    fn hex_arguments() {
        assert_eq!(arg_bytes("00ff", true, "key").unwrap(), vec![0, 255]);
        assert_eq!(arg_bytes("00ff", false, "key").unwrap(), b"00ff".to_vec());
        let e = arg_bytes("xyz", true, "key").unwrap_err();
        assert!(format!("{e:#}").contains("not valid hex"), "{e:#}");
    }
}
