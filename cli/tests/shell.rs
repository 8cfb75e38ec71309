//! End-to-end tests of `kevo shell` (driven through its standard input) and of the escaped
//! text form it shares with `kevo scan --escaped` and `kevo import --escaped`.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::{kevo, p};

/// Runs kevo and expects success.
fn ok<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let r = kevo(args);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    r.stdout
}

/// Keys and values that break naive line formats: tabs, newlines, carriage returns,
/// backslashes (alone and before `n`), NUL, bytes that are not UTF-8, a C1 control, text
/// that looks like hex or like an escape, an empty value.
fn nasty_entries() -> Vec<(Vec<u8>, Vec<u8>)> {
    vec![
        (b"a\tb".to_vec(), b"tab\there".to_vec()),
        (b"line\nbreak".to_vec(), b"two\nlines\r\n".to_vec()),
        (b"back\\slash".to_vec(), b"\\n is not a newline".to_vec()),
        (b"\x00".to_vec(), b"\x00\x00".to_vec()),
        (b"\xff\xfe".to_vec(), b"\x80 not utf-8 \xc3".to_vec()),
        ("c1\u{85}".as_bytes().to_vec(), b"\\x00 literally".to_vec()),
        (b"0x41".to_vec(), b"0x".to_vec()),
        (b"empty".to_vec(), Vec::new()),
        (
            "Zürich".as_bytes().to_vec(),
            "東京 \u{2028}".as_bytes().to_vec(),
        ),
    ]
}

/// A new database at `dir/name` holding `entries`, written with `kevo put --hex`.
fn db_with(dir: &Path, name: &str, entries: &[(Vec<u8>, Vec<u8>)]) -> PathBuf {
    let db = dir.join(name);
    let seed = dir.join(format!("{name}.jsonl"));
    std::fs::write(&seed, "{\"key\":\"seed\",\"value\":\"1\"}\n").unwrap();
    ok(["import", p(&db), p(&seed)]);
    ok(["delete", p(&db), "seed"]);
    for (k, v) in entries {
        ok(["put", p(&db), &hex(k), &hex(v), "--hex"]);
    }
    db
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn scan_escaped_piped_into_import_escaped_recreates_the_database() {
    let t = tempfile::tempdir().unwrap();
    let entries = nasty_entries();
    let db1 = db_with(t.path(), "one", &entries);
    let db2 = t.path().join("two");

    let mut scan = Command::new(env!("CARGO_BIN_EXE_kevo"))
        .args(["scan", "--escaped", p(&db1)])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let import = Command::new(env!("CARGO_BIN_EXE_kevo"))
        .args(["import", "--escaped", p(&db2)])
        .stdin(scan.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(scan.wait().unwrap().success());
    let stdout = String::from_utf8_lossy(&import.stdout);
    assert!(
        import.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&import.stderr)
    );
    assert!(
        stdout.contains(&format!("imported {} records", entries.len())),
        "{stdout}"
    );

    // Byte for byte: the hex listings are equal, and equal to what was put.
    let mut sorted = entries.clone();
    sorted.sort();
    let want: String = sorted
        .iter()
        .map(|(k, v)| format!("{}\t{}\n", hex(k), hex(v)))
        .collect();
    assert_eq!(ok(["scan", "--hex", p(&db1)]), want);
    assert_eq!(ok(["scan", "--hex", p(&db2)]), want);
    // The escaped listing is one line per entry.
    let escaped = ok(["scan", "--escaped", p(&db2)]);
    assert_eq!(escaped.lines().count(), entries.len(), "{escaped}");
}

#[test]
fn scan_escaped_shows_backslashes_and_takes_escaped_bounds() {
    let t = tempfile::tempdir().unwrap();
    let db = db_with(t.path(), "db", &nasty_entries());
    let db = p(&db);
    assert_eq!(
        ok(["scan", "--escaped", db, "--prefix", "back"]),
        "back\\\\slash\t\\\\n is not a newline\n"
    );
    assert_eq!(
        ok(["scan", db, "--prefix", "back"]),
        "back\\slash\t\\n is not a newline\n",
        "the default form leaves backslashes alone"
    );
    assert_eq!(
        ok(["scan", "--escaped", db, "--start", "\\x00", "--end", "0x01"]),
        "\\x00\t\\x00\\x00\n"
    );
    assert_eq!(
        ok(["scan", "--escaped", db, "--prefix", "0x30"]),
        "\\x30x41\t\\x30x\n"
    );
    let r = kevo(["scan", "--escaped", db, "--prefix", "\\q"]);
    common::assert_one_error(&r, 1, "unknown escape \\q");
    let r = kevo(["scan", "--escaped", "--hex", db]);
    assert_eq!(r.code, 2, "--escaped and --hex conflict: {}", r.stderr);
}

#[test]
fn import_from_stdin_needs_a_format() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kevo"))
        .args(["import", p(&db), "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // kevo may exit before reading: a closed pipe here is fine.
    let _ = child.stdin.take().unwrap().write_all(b"k\tv\n");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--escaped"), "{err}");
    assert!(!db.join("CURRENT").exists());
}

// --- kevo shell through standard input ---------------------------------------------------

/// What one `kevo shell` run printed.
struct Shell {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `kevo shell DB EXTRA...` with `script` on its standard input (not a terminal).
fn shell(db: &Path, extra: &[&str], script: &str) -> Shell {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kevo"))
        .arg("shell")
        .arg(db)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The shell may stop reading early (an error opening DB): a closed pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(script.as_bytes());
    let out = child.wait_with_output().unwrap();
    Shell {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs a script that must succeed with nothing on stderr; returns its stdout.
fn shell_ok(db: &Path, script: &str) -> String {
    let r = shell(db, &[], script);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (0, ""),
        "stdout: {}\nstderr: {}",
        r.stdout,
        r.stderr
    );
    r.stdout
}

/// A new, empty database (made by the shell's --create).
fn empty_db(dir: &Path) -> PathBuf {
    let db = dir.join("db");
    let r = shell(&db, &["--create"], "");
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (0, "", ""));
    db
}

#[test]
fn shell_runs_every_plain_command() {
    let t = tempfile::tempdir().unwrap();
    let db = empty_db(t.path());
    let out = shell_ok(
        &db,
        "put fruit/apple red\n\
         put fruit/banana yellow\n\
         put 'fruit/cherry' \"dark red\"\n\
         put veg/carrot orange\n\
         put veg/leek green\n\
         get fruit/apple\n\
         # a comment line, and a blank one:\n\
         \n\
         scan\n\
         scan --prefix fruit/ --limit 2\n\
         scan fruit/b veg/\n\
         scan veg/\n\
         scan --reverse --limit 2\n\
         count\n\
         count --prefix veg/\n\
         count fruit/b veg/ --limit 1\n\
         delete fruit/apple\n\
         delete-range fruit/b fruit/c\n\
         scan --prefix fruit/\n\
         flush\n\
         compact\n\
         compact veg/a veg/z\n\
         count\n",
    );
    assert_eq!(
        out,
        "red\n\
         fruit/apple\tred\nfruit/banana\tyellow\nfruit/cherry\tdark red\nveg/carrot\torange\nveg/leek\tgreen\n\
         fruit/apple\tred\nfruit/banana\tyellow\n\
         fruit/banana\tyellow\nfruit/cherry\tdark red\n\
         veg/carrot\torange\nveg/leek\tgreen\n\
         veg/leek\tgreen\nveg/carrot\torange\n\
         5\n\
         2\n\
         1\n\
         fruit/cherry\tdark red\n\
         3\n"
    );
    // The writes are in the database, as kevo scan sees it after the shell closed it.
    assert_eq!(ok(["scan", "--count", p(&db)]), "3\n");

    let out = shell_ok(
        &db,
        "stats\nhelp\nhelp delete-range\nquit\nput never written\n",
    );
    assert!(out.starts_with("level"), "{out}");
    assert!(out.contains("write amplification"), "{out}");
    assert!(out.contains("Commands:\n  get KEY"), "{out}");
    assert!(
        out.contains("delete-range START END\n  Delete every key"),
        "{out}"
    );
    assert_eq!(
        ok(["scan", "--count", p(&db)]),
        "3\n",
        "quit stops the script"
    );

    // An absent key is a note on stderr, not an error.
    let r = shell(&db, &[], "get nope\nget veg/leek\n");
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "green\n", "(not found)\n")
    );
}

#[test]
fn shell_batch_commit_and_abort() {
    let t = tempfile::tempdir().unwrap();
    let db = empty_db(t.path());
    let r = shell(
        &db,
        &[],
        "put old 1\n\
         put x1 9\n\
         batch\n\
         put a 1\n\
         put b 2\n\
         delete old\n\
         delete-range x y\n\
         get a\n\
         count\n\
         commit\n\
         scan\n\
         batch\n\
         put c 3\n\
         delete a\n\
         abort\n\
         scan\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Inside the batch reads see the database without it: `get a` is not found, the count
    // is that of before; after commit all four operations are there; abort drops its two.
    assert_eq!(r.stderr, "(not found)\n");
    assert_eq!(r.stdout, "2\na\t1\nb\t2\na\t1\nb\t2\n");

    // A batch left open at the end of the script is dropped, and that is an error.
    let r = shell(&db, &[], "batch\nput z 1\n");
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("error: the open batch (1 operations) was dropped"),
        "{}",
        r.stderr
    );
    assert_eq!(ok(["scan", "--escaped", p(&db)]), "a\t1\nb\t2\n");
}

#[test]
fn shell_transaction_reads_its_writes_commits_and_rolls_back() {
    let t = tempfile::tempdir().unwrap();
    let db = empty_db(t.path());
    let out = shell_ok(
        &db,
        "put k old\n\
         put gone 1\n\
         begin\n\
         put k new\n\
         put t 1\n\
         delete gone\n\
         get k\n\
         scan\n\
         rollback\n\
         scan\n\
         begin\n\
         put k committed\n\
         delete-range g h\n\
         count\n\
         commit\n",
    );
    assert_eq!(
        out,
        "new\nk\tnew\nt\t1\n\
         gone\t1\nk\told\n\
         1\n"
    );
    // The commit is in the database (a new process reads it).
    assert_eq!(ok(["scan", "--escaped", p(&db)]), "k\tcommitted\n");

    // Transaction and batch do not nest; commit with nothing open is an error.
    let r = shell(&db, &[], "begin\nbatch\nbegin\ncommit\ncommit\nabort\n");
    assert_eq!(r.code, 1);
    let errors: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(errors.len(), 4, "{}", r.stderr);
    assert!(errors[0].starts_with("error: line 2: a transaction is open"));
    assert!(errors[1].starts_with("error: line 3: a transaction is already open"));
    assert!(errors[2].starts_with("error: line 5: nothing to commit"));
    assert!(errors[3].starts_with("error: line 6: abort: no batch or transaction"));
}

#[test]
fn shell_snapshot_hides_later_writes_until_release() {
    let t = tempfile::tempdir().unwrap();
    let db = empty_db(t.path());
    let r = shell(
        &db,
        &[],
        "put a before\n\
         snapshot\n\
         put a after\n\
         put b later\n\
         delete-range a b\n\
         get a\n\
         get b\n\
         scan\n\
         count\n\
         release\n\
         get a\n\
         scan\n\
         release\n",
    );
    assert_eq!(r.code, 1, "the second release fails");
    // Under the snapshot: a as it was, no b; after release: a deleted, b there.
    assert_eq!(r.stdout, "before\na\tbefore\n1\nb\tlater\n");
    assert_eq!(
        r.stderr,
        "(not found)\n(not found)\nerror: line 13: release: no snapshot is held\n"
    );
}

#[test]
fn shell_escaped_binary_keys_and_values_round_trip() {
    let t = tempfile::tempdir().unwrap();
    let db = empty_db(t.path());
    let out = shell_ok(
        &db,
        "put a\\x00b \\xff\\xfe\n\
         put 0x0001 0x\n\
         put \"tab\\there\" 'single \\n quoted'\n\
         put back\\\\slash \"line\\nbreak\\r\"\n\
         put \\x30x41 \\u{85}\n\
         put \"sp ace\" \"\"\n\
         scan\n",
    );
    let want = "\\x00\\x01\t\n\
                \\x30x41\t\\u{85}\n\
                a\\x00b\t\\xff\\xfe\n\
                back\\\\slash\tline\\nbreak\\r\n\
                sp ace\t\n\
                tab\\there\tsingle \\\\n quoted\n";
    assert_eq!(out, want);
    // The shell shows exactly what kevo scan --escaped prints...
    assert_eq!(ok(["scan", "--escaped", p(&db)]), want);
    // ...and the bytes are the intended ones.
    assert_eq!(
        ok(["scan", "--hex", p(&db), "--limit", "3"]),
        "0001\t\n\
         30783431\tc285\n\
         610062\tfffe\n"
    );
    // What the shell prints, typed back, names the same keys.
    let keys: Vec<&str> = want
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    let script: String = keys.iter().map(|k| format!("get \"{k}\"\n")).collect();
    let out = shell_ok(&db, &script);
    let values: Vec<&str> = want
        .lines()
        .map(|l| l.split('\t').nth(1).unwrap())
        .collect();
    assert_eq!(
        out,
        values.iter().map(|v| format!("{v}\n")).collect::<String>()
    );
}

#[test]
fn shell_bad_commands_each_print_one_error_and_later_commands_run() {
    let t = tempfile::tempdir().unwrap();
    let db = empty_db(t.path());
    let r = shell(
        &db,
        &[],
        "put a 1\n\
         frobnicate\n\
         put onlykey\n\
         put k v extra\n\
         get 'unclosed\n\
         get bad\\q\n\
         put 0xabc v\n\
         scan --limit many\n\
         scan --prefix p a\n\
         scan a b c\n\
         delete-range b a\n\
         put '' v\n\
         help nothing\n\
         count --bogus\n\
         get a\n",
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, "1\n", "the last command still ran");
    let errors: Vec<&str> = r.stderr.lines().collect();
    let want = [
        "line 2: unknown command \"frobnicate\"",
        "line 3: put takes KEY VALUE, got 1 argument",
        "line 4: put takes KEY VALUE, got 3 arguments",
        "line 5: a quote is not closed",
        "line 6: key \"bad\\\\q\": unknown escape \\q",
        "line 7: key \"0xabc\": not valid hex",
        "line 8: scan: --limit takes a number",
        "line 9: scan: --prefix or START END, not both",
        "line 10: scan takes at most START and END",
        "line 11: delete-range: invalid argument",
        "line 12: put: invalid argument",
        "line 13: help: no command \"nothing\"",
        "line 14: count: unknown option --bogus",
    ];
    assert_eq!(errors.len(), want.len(), "{}", r.stderr);
    for (line, want) in errors.iter().zip(want) {
        assert!(
            line.starts_with(&format!("error: {want}")),
            "{line:?} should start with error: {want}"
        );
    }
    assert!(!r.stderr.contains("panicked"));
}

#[test]
fn shell_read_only_refuses_writes_and_still_reads() {
    let t = tempfile::tempdir().unwrap();
    let db = empty_db(t.path());
    shell_ok(&db, "put a 1\n");
    let r = shell(
        &db,
        &["--read-only"],
        "get a\nput b 2\ndelete a\nbatch\nput c 3\ncommit\nbegin\nput d 4\ncommit\nflush\nscan\n",
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, "1\na\t1\n");
    let errors: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(errors.len(), 5, "{}", r.stderr);
    for (e, n) in errors.iter().zip([2, 3, 6, 9, 10]) {
        assert!(
            e.starts_with(&format!("error: line {n}: "))
                && e.contains("database is open read-only"),
            "{e}"
        );
    }
    assert_eq!(ok(["scan", "--escaped", p(&db)]), "a\t1\n");
    // --read-only and --create do not go together.
    assert_eq!(shell(&db, &["--read-only", "--create"], "").code, 2);
}

#[test]
fn shell_on_a_missing_database_is_one_error_unless_created() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("nope");
    let r = shell(&db, &[], "put a 1\n");
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim_end(),
        format!("error: no database at {}", db.display())
    );
    assert!(!db.exists());
    let r = shell(&db, &["--create"], "put a 1\nget a\nexit\nget a\n");
    assert_eq!((r.code, r.stdout.as_str()), (0, "1\n"), "{}", r.stderr);
}

#[test]
fn shell_keeps_no_history_when_stdin_is_not_a_terminal() {
    let t = tempfile::tempdir().unwrap();
    let db = empty_db(t.path());
    let home = t.path().join("home");
    let state = t.path().join("state");
    std::fs::create_dir(&home).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kevo"))
        .args(["shell", p(&db)])
        .env("HOME", &home)
        .env("XDG_STATE_HOME", &state)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"put a 1\nget a\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, b"1\n", "no banner, no prompts");
    assert!(!state.exists(), "no history directory");
    assert_eq!(
        std::fs::read_dir(&home).unwrap().count(),
        0,
        "no ~/.kevo_history"
    );
}
