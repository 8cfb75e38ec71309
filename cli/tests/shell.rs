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
