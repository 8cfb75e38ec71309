//! `kevo shell DB`: an interactive shell on one database.
//!
//! At a terminal it reads lines with rustyline (line editing, a history file, Tab completion
//! of command names and of `scan`/`count` options); with standard input not a terminal it
//! reads commands line by line without prompts, so it scripts. Results go to stdout; every
//! bad command or engine error is one line `error: ...` on stderr (`error: line N: ...` in a
//! script) and the shell goes on; the exit code is 1 if any command failed. The commands are
//! in [`words::COMMANDS`]; keys and values are typed and shown in the escaped form of
//! [`crate::escape`].

mod session;
mod words;

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Editor, Helper};

use crate::open::{open_existing, open_or_create, open_read_only};
use session::{Flow, Session};

/// The arguments of `kevo shell`.
#[derive(Args, Debug)]
pub struct ShellArgs {
    /// Database directory.
    db: PathBuf,
    /// Open the database read-only (no LOCK: works beside a writer; writes are refused).
    #[arg(long, conflicts_with = "create")]
    read_only: bool,
    /// Create the database (with default options) if DB holds none.
    #[arg(long)]
    create: bool,
    /// History file [default: $XDG_STATE_HOME/kevo/history if XDG_STATE_HOME is set, else
    /// ~/.kevo_history]. Only used at a terminal.
    #[arg(long, value_name = "FILE", conflicts_with = "no_history")]
    history: Option<PathBuf>,
    /// Keep no history file.
    #[arg(long)]
    no_history: bool,
}

/// The history file: `--history FILE`, else `$XDG_STATE_HOME/kevo/history` (if that
/// variable is set and not empty), else `$HOME/.kevo_history`; none with `--no-history` or
/// without either variable.
fn history_path(
    explicit: Option<&Path>,
    disabled: bool,
    xdg_state_home: Option<&str>,
    home: Option<&str>,
) -> Option<PathBuf> {
    if disabled {
        return None;
    }
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    match (xdg_state_home, home) {
        (Some(x), _) if !x.is_empty() => Some(Path::new(x).join("kevo").join("history")),
        (_, Some(h)) if !h.is_empty() => Some(Path::new(h).join(".kevo_history")),
        _ => None,
    }
}

/// Runs the shell; exit code 1 if any command failed.
pub fn run(args: &ShellArgs) -> Result<ExitCode> {
    let db = if args.read_only {
        open_read_only(&args.db)?
    } else if args.create {
        open_or_create(&args.db)?
    } else {
        open_existing(&args.db)?
    };
    let mut session = Session::new(db);
    let failures = if io::stdin().is_terminal() {
        let env = |name| std::env::var(name).ok();
        let history = history_path(
            args.history.as_deref(),
            args.no_history,
            env("XDG_STATE_HOME").as_deref(),
            env("HOME").as_deref(),
        );
        interactive(&mut session, history.as_deref())?
    } else {
        script(&mut session, io::stdin().lock())?
    };
    let (db, dropped) = session.finish();
    let mut failed = failures > 0;
    if let Err(e) = dropped {
        report(&e, None);
        failed = true;
    }
    crate::commands::close(db)?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints `e` as one line `error: [line N: ]...` on stderr.
fn report(e: &anyhow::Error, line: Option<u64>) {
    let at = line.map(|n| format!("line {n}: ")).unwrap_or_default();
    eprintln!("error: {at}{}", crate::one_line(&format!("{e:#}")));
}

/// Runs one line; returns whether to go on, and whether it failed (after reporting it).
/// A closed stdout (`kevo shell DB < cmds | head`) ends the shell through the error.
fn step(session: &mut Session, line: &str, number: Option<u64>) -> Result<(Flow, bool)> {
    let mut out = io::stdout().lock();
    let mut buf = io::BufWriter::new(&mut out);
    let r = session.execute(line, &mut buf, &mut io::stderr());
    let flushed = buf.flush();
    drop(buf);
    match (r, flushed) {
        (Err(e), _) if crate::is_broken_pipe(&e) => Err(e),
        (_, Err(e)) => Err(anyhow::Error::new(e).context("writing to stdout")),
        (Ok(flow), Ok(())) => Ok((flow, false)),
        (Err(e), Ok(())) => {
            report(&e, number);
            Ok((Flow::Continue, true))
        }
    }
}

/// Reads commands from `input` line by line until `exit` or its end; returns the number
/// of commands that failed.
fn script(session: &mut Session, mut input: impl BufRead) -> Result<u64> {
    let mut failures = 0;
    let mut buf = Vec::new();
    for number in 1.. {
        buf.clear();
        if input
            .read_until(b'\n', &mut buf)
            .context("reading standard input")?
            == 0
        {
            break;
        }
        let bytes = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let (flow, failed) = match std::str::from_utf8(bytes) {
            Ok(line) => step(session, line, Some(number))?,
            Err(_) => {
                report(
                    &anyhow::anyhow!("not valid UTF-8 (write other bytes as \\xNN)"),
                    Some(number),
                );
                (Flow::Continue, true)
            }
        };
        failures += u64::from(failed);
        if flow == Flow::Exit {
            break;
        }
    }
    Ok(failures)
}

/// Reads commands at the terminal until `exit` or end of input (Ctrl-D); Ctrl-C drops the
/// line being typed. Returns the number of commands that failed.
fn interactive(session: &mut Session, history: Option<&Path>) -> Result<u64> {
    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_space(true)
        .history_ignore_dups(true)
        .context("history settings")?
        .max_history_size(10_000)
        .context("history settings")?
        .completion_type(CompletionType::List)
        .build();
    let mut rl: Editor<ShellHelper, DefaultHistory> =
        Editor::with_config(config).context("starting the line editor")?;
    rl.set_helper(Some(ShellHelper));
    if let Some(path) = history {
        if path.exists() {
            if let Err(e) = rl.load_history(path) {
                eprintln!("warning: cannot read history {}: {e}", path.display());
            }
        }
    }
    println!(
        "kevo shell on {} (help lists the commands)",
        session.path().display()
    );
    let mut failures = 0;
    let mut history_ok = true;
    loop {
        let line = match rl.readline(&session.prompt()) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e).context("reading a line"),
        };
        // A multi-line paste (bracketed paste) comes back as one string: one command a line.
        let mut exit = false;
        for line in line.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)) {
            if !line.trim().is_empty() && rl.add_history_entry(line).unwrap_or(false) {
                if let (Some(path), true) = (history, history_ok) {
                    if let Err(e) = save_history(&mut rl, path) {
                        eprintln!("warning: cannot write history {}: {e:#}", path.display());
                        history_ok = false;
                    }
                }
            }
            let (flow, failed) = step(session, line, None)?;
            failures += u64::from(failed);
            if flow == Flow::Exit {
                exit = true;
                break;
            }
        }
        if exit {
            break;
        }
    }
    Ok(failures)
}

/// Appends the new history entries to `path`, creating its directory if needed.
fn save_history(rl: &mut Editor<ShellHelper, DefaultHistory>, path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    rl.append_history(path)?;
    Ok(())
}

/// rustyline's hooks: completion of command names and options; no hints, highlighting or
/// multi-line validation.
struct ShellHelper;

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, words) = words::complete(line, pos);
        let pairs = words
            .into_iter()
            .map(|w| Pair {
                display: w.trim_end().to_string(),
                replacement: w,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_file_location() {
        let p = |e: Option<&str>, d, x, h| history_path(e.map(Path::new), d, x, h);
        assert_eq!(
            p(Some("/f"), false, Some("/x"), Some("/h")),
            Some("/f".into())
        );
        assert_eq!(
            p(None, false, Some("/x"), Some("/h")),
            Some("/x/kevo/history".into())
        );
        assert_eq!(
            p(None, false, Some(""), Some("/h")),
            Some("/h/.kevo_history".into())
        );
        assert_eq!(
            p(None, false, None, Some("/h")),
            Some("/h/.kevo_history".into())
        );
        assert_eq!(p(None, false, None, None), None);
        assert_eq!(p(Some("/f"), true, Some("/x"), Some("/h")), None);
    }

    #[test]
    fn a_script_reports_each_bad_line_and_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let db =
            kevo::Db::open(dir.path(), kevo::Options::default().create_if_missing(true)).unwrap();
        let mut s = Session::new(db);
        let input = b"put a 1\nnope\nget a\n\xff\nexit\nput b 2\n";
        let failures = script(&mut s, &input[..]).unwrap();
        assert_eq!(failures, 2);
        let (db, r) = s.finish();
        r.unwrap();
        assert_eq!(db.get(b"a").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(db.get(b"b").unwrap(), None, "exit stops the script");
    }
}
