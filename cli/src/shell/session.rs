//! The shell's state (an open batch, transaction or snapshot) and its commands.

use std::io::Write;

use anyhow::{anyhow, bail, Context, Result};
use kevo::{Cursor, Db, ReadOptions, Snapshot, Transaction, WriteBatch};

use super::words::{self, COMMANDS};
use crate::escape;

/// What the shell does after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read the next line.
    Continue,
    /// Leave (`exit`, `quit`).
    Exit,
}

/// Where writes go.
enum Mode {
    /// Straight to the database.
    Direct,
    /// Into a batch that `commit` writes.
    Batch(WriteBatch),
    /// Into a transaction that `commit` commits.
    Txn(Transaction),
}

/// One shell on one open database: executes lines, keeps the batch, transaction and
/// snapshot that span lines.
pub struct Session {
    db: Db,
    mode: Mode,
    snapshot: Option<Snapshot>,
}

/// The arguments of `scan` and `count`.
#[derive(Debug, Default, PartialEq, Eq)]
struct RangeArgs {
    prefix: Option<Vec<u8>>,
    start: Option<Vec<u8>>,
    end: Option<Vec<u8>>,
    limit: Option<u64>,
    reverse: bool,
}

/// A key or value word: escaped text or `0x` hex (see [`crate::escape`]).
fn bytes_arg(word: &str, what: &str) -> Result<Vec<u8>> {
    escape::parse(word).map_err(|e| anyhow!("{what} {word:?}: {e}"))
}

/// Checks that `cmd` got exactly the arguments named in `names`.
fn expect_args<'a>(cmd: &str, args: &'a [String], names: &[&str]) -> Result<&'a [String]> {
    if args.len() != names.len() {
        let want = match names {
            [] => "no arguments".to_string(),
            names => names.join(" "),
        };
        bail!(
            "{cmd} takes {want}, got {} argument{} (quote words with spaces; help {cmd})",
            args.len(),
            if args.len() == 1 { "" } else { "s" }
        );
    }
    Ok(args)
}

impl RangeArgs {
    fn parse(cmd: &str, args: &[String], allow_reverse: bool) -> Result<RangeArgs> {
        let mut r = RangeArgs::default();
        let mut positional = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = |opt: &str| {
                it.next()
                    .ok_or_else(|| anyhow!("{cmd}: {opt} needs a value"))
                    .cloned()
            };
            match a.as_str() {
                "--prefix" => r.prefix = Some(bytes_arg(&value("--prefix")?, "prefix")?),
                "--limit" => {
                    let v = value("--limit")?;
                    r.limit = Some(v.parse().map_err(|_| {
                        anyhow!("{cmd}: --limit takes a number of entries, not {v:?}")
                    })?);
                }
                "--reverse" if allow_reverse => r.reverse = true,
                o if o.starts_with("--") => {
                    bail!("{cmd}: unknown option {o} (help {cmd})")
                }
                _ => positional.push(a),
            }
        }
        match positional.as_slice() {
            [] => {}
            [_, _, _, ..] => bail!("{cmd} takes at most START and END"),
            _ if r.prefix.is_some() => bail!("{cmd}: --prefix or START END, not both"),
            [start] => r.start = Some(bytes_arg(start, "start key")?),
            [start, end] => {
                r.start = Some(bytes_arg(start, "start key")?);
                r.end = Some(bytes_arg(end, "end key")?);
            }
        }
        Ok(r)
    }
}

impl Session {
    /// A shell on `db`, with nothing open.
    pub fn new(db: Db) -> Session {
        Session {
            db,
            mode: Mode::Direct,
            snapshot: None,
        }
    }

    /// The database's directory.
    pub fn path(&self) -> &std::path::Path {
        self.db.path()
    }

    /// The database.
    #[cfg(test)]
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The prompt, which names what is open: `kevo> `, `kevo batch[2]> `, `kevo txn[1]> `,
    /// with `snapshot ` before the mode while a snapshot is held.
    pub fn prompt(&self) -> String {
        let snap = if self.snapshot.is_some() {
            " snapshot"
        } else {
            ""
        };
        let mode = match &self.mode {
            Mode::Direct => String::new(),
            Mode::Batch(b) => format!(" batch[{}]", b.count()),
            Mode::Txn(t) => format!(" txn[{}]", t.write_count()),
        };
        format!("kevo{snap}{mode}> ")
    }

    /// Ends the session: drops an open batch or transaction (an error, so that a script that
    /// forgot its commit fails) and the snapshot; returns the database to close.
    pub fn finish(mut self) -> (Db, Result<()>) {
        let dropped = self.end_mode();
        self.snapshot = None;
        (self.db, dropped)
    }

    fn end_mode(&mut self) -> Result<()> {
        match std::mem::replace(&mut self.mode, Mode::Direct) {
            Mode::Direct => Ok(()),
            Mode::Batch(b) => Err(anyhow!(
                "the open batch ({} operations) was dropped unwritten at exit; end it with commit or abort",
                b.count()
            )),
            Mode::Txn(t) => {
                let n = t.write_count();
                let _ = t.rollback();
                Err(anyhow!(
                    "the open transaction ({n} keys written) was rolled back at exit; end it with commit or rollback"
                ))
            }
        }
    }

    /// Executes one line, writing results to `out` and notes (such as `(not found)`) to
    /// `note`. A blank or comment line does nothing.
    ///
    /// Errors: a bad command or arguments, or the engine's error; the session is unchanged
    /// by a failed command except that a failed `commit` still ends the batch or
    /// transaction.
    pub fn execute(
        &mut self,
        line: &str,
        out: &mut dyn Write,
        note: &mut dyn Write,
    ) -> Result<Flow> {
        let words = words::split(line).map_err(|e| anyhow!("{e}"))?;
        let Some((cmd, args)) = words.split_first() else {
            return Ok(Flow::Continue);
        };
        let cmd = cmd.as_str();
        match cmd {
            "get" => {
                let [key] = expect_args(cmd, args, &["KEY"])? else {
                    unreachable!()
                };
                let key = bytes_arg(key, "key")?;
                match self.get(&key).context("get")? {
                    Some(v) => writeln!(out, "{}", escape::escape(&v))?,
                    None => writeln!(note, "(not found)")?,
                }
            }
            "put" => {
                let [key, value] = expect_args(cmd, args, &["KEY", "VALUE"])? else {
                    unreachable!()
                };
                let (key, value) = (bytes_arg(key, "key")?, bytes_arg(value, "value")?);
                match &mut self.mode {
                    Mode::Direct => self.db.put(&key, &value),
                    Mode::Batch(b) => b.put(&key, &value),
                    Mode::Txn(t) => t.put(&key, &value),
                }
                .context("put")?;
            }
            "delete" => {
                let [key] = expect_args(cmd, args, &["KEY"])? else {
                    unreachable!()
                };
                let key = bytes_arg(key, "key")?;
                match &mut self.mode {
                    Mode::Direct => self.db.delete(&key),
                    Mode::Batch(b) => b.delete(&key),
                    Mode::Txn(t) => t.delete(&key),
                }
                .context("delete")?;
            }
            "delete-range" => {
                let [start, end] = expect_args(cmd, args, &["START", "END"])? else {
                    unreachable!()
                };
                let (start, end) = (bytes_arg(start, "start key")?, bytes_arg(end, "end key")?);
                match &mut self.mode {
                    Mode::Direct => self.db.delete_range(&start, &end),
                    Mode::Batch(b) => b.delete_range(&start, &end),
                    Mode::Txn(t) => t.delete_range(&start, &end),
                }
                .context("delete-range")?;
            }
            "scan" => {
                let range = RangeArgs::parse(cmd, args, true)?;
                self.scan(&range, Some(out)).context("scan")?;
            }
            "count" => {
                let range = RangeArgs::parse(cmd, args, false)?;
                let n = self.scan(&range, None).context("count")?;
                writeln!(out, "{n}")?;
            }
            "batch" => {
                expect_args(cmd, args, &[])?;
                match self.mode {
                    Mode::Direct => self.mode = Mode::Batch(WriteBatch::new()),
                    Mode::Batch(_) => bail!("a batch is already open: commit or abort it first"),
                    Mode::Txn(_) => {
                        bail!("a transaction is open: commit or rollback it first")
                    }
                }
            }
            "begin" => {
                expect_args(cmd, args, &[])?;
                match self.mode {
                    Mode::Direct => self.mode = Mode::Txn(self.db.transaction().context("begin")?),
                    Mode::Batch(_) => bail!("a batch is open: commit or abort it first"),
                    Mode::Txn(_) => {
                        bail!("a transaction is already open: commit or rollback it first")
                    }
                }
            }
            "commit" => {
                expect_args(cmd, args, &[])?;
                match std::mem::replace(&mut self.mode, Mode::Direct) {
                    Mode::Direct => bail!("nothing to commit: start a batch or begin a transaction first"),
                    Mode::Batch(b) => self
                        .db
                        .write(&b)
                        .context("commit: the batch was not written")?,
                    Mode::Txn(t) => match t.commit() {
                        Err(kevo::Error::Conflict(key)) => bail!(
                            "commit: transaction conflict: {key} was written after the transaction began; nothing was written"
                        ),
                        other => other.context("commit: nothing was written")?,
                    },
                }
            }
            "abort" | "rollback" => {
                expect_args(cmd, args, &[])?;
                match std::mem::replace(&mut self.mode, Mode::Direct) {
                    Mode::Direct => bail!("{cmd}: no batch or transaction is open"),
                    Mode::Batch(_) => {}
                    Mode::Txn(t) => t.rollback().context(cmd.to_string())?,
                }
            }
            "snapshot" => {
                expect_args(cmd, args, &[])?;
                if self.snapshot.is_some() {
                    bail!("a snapshot is already held: release it first");
                }
                self.snapshot = Some(self.db.snapshot().context("snapshot")?);
            }
            "release" => {
                expect_args(cmd, args, &[])?;
                if self.snapshot.take().is_none() {
                    bail!("release: no snapshot is held");
                }
            }
            "stats" => {
                expect_args(cmd, args, &[])?;
                let text = self
                    .db
                    .property("kevo.stats")
                    .context("stats")?
                    .context("the engine has no kevo.stats property")?;
                writeln!(out, "{}", text.trim_end())?;
            }
            "flush" => {
                expect_args(cmd, args, &[])?;
                self.db.flush().context("flush")?;
            }
            "compact" => {
                let (start, end) = match args {
                    [] => (None, None),
                    [start, end] => (
                        Some(bytes_arg(start, "start key")?),
                        Some(bytes_arg(end, "end key")?),
                    ),
                    _ => bail!("compact takes no arguments or START END (help compact)"),
                };
                self.db
                    .compact_range(start.as_deref(), end.as_deref())
                    .context("compact")?;
            }
            "help" => match args {
                [] => out.write_all(words::help_all().as_bytes())?,
                [name] => match words::command(name) {
                    Some(c) => out.write_all(words::help_one(c).as_bytes())?,
                    None => bail!("help: no command {name:?} (help lists them)"),
                },
                _ => bail!("help takes at most one command name"),
            },
            "exit" | "quit" => {
                expect_args(cmd, args, &[])?;
                return Ok(Flow::Exit);
            }
            other => {
                let close: Vec<&str> = COMMANDS
                    .iter()
                    .map(|c| c.name)
                    .filter(|n| n.starts_with(&other[..other.len().min(2)]))
                    .collect();
                if close.is_empty() {
                    bail!("unknown command {other:?} (help lists the commands)");
                }
                bail!(
                    "unknown command {other:?}: did you mean {}? (help lists the commands)",
                    close.join(", ")
                );
            }
        }
        Ok(Flow::Continue)
    }

    /// Reads `key` where reads go: the transaction, else the snapshot, else the database.
    fn get(&self, key: &[u8]) -> kevo::Result<Option<Vec<u8>>> {
        match (&self.mode, &self.snapshot) {
            (Mode::Txn(t), _) => t.get(key),
            (_, Some(s)) => s.get(key),
            _ => self.db.get(key),
        }
    }

    /// Walks `range` where reads go, writing `key<TAB>value` lines to `out` if given;
    /// returns the number of entries.
    fn scan(&self, range: &RangeArgs, mut out: Option<&mut dyn Write>) -> Result<u64> {
        let read = ReadOptions {
            lower_bound: range.start.clone(),
            upper_bound: range.end.clone(),
            prefix: range.prefix.clone(),
            ..Default::default()
        };
        let mut cursor = match (&self.mode, &self.snapshot) {
            (Mode::Txn(t), _) => Cursor::from(t.iter(read)?),
            (_, Some(s)) => Cursor::from(s.iter(read)?),
            _ => Cursor::from(self.db.iter(read)?),
        };
        if range.reverse {
            cursor.seek_to_last();
        } else {
            cursor.seek_to_first();
        }
        let limit = range.limit.unwrap_or(u64::MAX);
        let mut n = 0u64;
        let mut line = Vec::new();
        while n < limit && cursor.valid() {
            n += 1;
            if let Some(out) = out.as_mut() {
                line.clear();
                escape::escape_into(&mut line, cursor.key());
                line.push(b'\t');
                escape::escape_into(&mut line, cursor.value());
                line.push(b'\n');
                out.write_all(&line)?;
            }
            if range.reverse {
                cursor.prev();
            } else {
                cursor.next();
            }
        }
        cursor.status()?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `line`, returning (stdout, notes) or the error's text.
    fn run(s: &mut Session, line: &str) -> Result<(String, String), String> {
        let (mut out, mut note) = (Vec::new(), Vec::new());
        s.execute(line, &mut out, &mut note)
            .map_err(|e| format!("{e:#}"))?;
        Ok((
            String::from_utf8(out).unwrap(),
            String::from_utf8(note).unwrap(),
        ))
    }

    fn out(s: &mut Session, line: &str) -> String {
        run(s, line).unwrap_or_else(|e| panic!("{line}: {e}")).0
    }

    fn session() -> (tempfile::TempDir, Session) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), kevo::Options::default().create_if_missing(true)).unwrap();
        (dir, Session::new(db))
    }

    #[test]
    fn a_write_after_begin_makes_commit_fail_with_one_clear_error() {
        let (_dir, mut s) = session();
        out(&mut s, "put k 0");
        out(&mut s, "begin");
        assert_eq!(out(&mut s, "get k"), "0\n");
        out(&mut s, "put k 1");
        assert_eq!(s.prompt(), "kevo txn[1]> ");
        // Another writer of the same database commits k first.
        s.db().put(b"k", b"other").unwrap();
        let e = run(&mut s, "commit").unwrap_err();
        assert!(e.starts_with("commit: transaction conflict: "), "{e}");
        assert!(e.contains("nothing was written"), "{e}");
        assert!(!e.contains('\n'), "{e}");
        // The transaction is over, nothing of it was written, the shell goes on.
        assert_eq!(s.prompt(), "kevo> ");
        assert_eq!(out(&mut s, "get k"), "other\n");
        assert!(run(&mut s, "rollback")
            .unwrap_err()
            .contains("no batch or transaction"));
    }

    #[test]
    fn range_arguments() {
        let p = |a: &[&str]| {
            let a: Vec<String> = a.iter().map(|s| s.to_string()).collect();
            RangeArgs::parse("scan", &a, true).map_err(|e| e.to_string())
        };
        assert_eq!(p(&[]).unwrap(), RangeArgs::default());
        let r = p(&["a", "0x62", "--limit", "3", "--reverse"]).unwrap();
        assert_eq!((r.start, r.end), (Some(b"a".to_vec()), Some(b"b".to_vec())));
        assert_eq!((r.limit, r.reverse), (Some(3), true));
        assert_eq!(
            p(&["--prefix", "p\\x00"]).unwrap().prefix,
            Some(b"p\0".to_vec())
        );
        assert!(p(&["--prefix", "p", "a"]).unwrap_err().contains("not both"));
        assert!(p(&["a", "b", "c"])
            .unwrap_err()
            .contains("at most START and END"));
        assert!(p(&["--limit", "x"]).unwrap_err().contains("number"));
        assert!(p(&["--limit"]).unwrap_err().contains("needs a value"));
        assert!(p(&["--nope"])
            .unwrap_err()
            .contains("unknown option --nope"));
        let a = vec!["--reverse".to_string()];
        assert!(RangeArgs::parse("count", &a, false).is_err());
    }

    #[test]
    fn finishing_with_an_open_batch_is_an_error() {
        let (_dir, mut s) = session();
        out(&mut s, "batch");
        out(&mut s, "put a 1");
        let (db, r) = s.finish();
        assert!(r.unwrap_err().to_string().contains("1 operations"));
        assert_eq!(db.get(b"a").unwrap(), None);
    }
}
