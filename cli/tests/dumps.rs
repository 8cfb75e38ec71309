//! End-to-end tests of `kevo dump-sst`, `kevo dump-wal` and `kevo manifest` on files written
//! by the binary itself.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

mod common;
use common::{assert_one_error, kevo, p};

/// Runs kevo and expects success with nothing on stderr.
fn ok<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let r = kevo(args);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert_eq!(r.stderr, "", "stdout: {}", r.stdout);
    r.stdout
}

/// The files of `db` whose name ends with `ext`, sorted.
fn files_with(db: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(db)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|f| f.to_str().is_some_and(|s| s.ends_with(ext)))
        .collect();
    v.sort();
    v
}

/// A database holding one table: three keys imported (import flushes), one with a value
/// long enough to be cut in the dump.
fn imported_db(dir: &Path) -> (PathBuf, PathBuf) {
    let db = dir.join("db");
    let f = dir.join("seed.jsonl");
    let long = "z".repeat(300);
    std::fs::write(
        &f,
        format!(
            "{{\"key\":\"fruit/apple\",\"value\":\"red\"}}\n\
             {{\"key\":\"fruit/banana\",\"value\":\"yellow\"}}\n\
             {{\"key\":\"veg/long\",\"value\":\"{long}\"}}\n"
        ),
    )
    .unwrap();
    let out = ok(["import", p(&db), p(&f)]);
    assert!(out.contains("imported 3 records"), "{out}");
    let ssts = files_with(&db, ".sst");
    assert_eq!(ssts.len(), 1, "{ssts:?}");
    let sst = ssts.into_iter().next().unwrap();
    (db, sst)
}

#[test]
fn dump_sst_prints_properties_index_and_entries() {
    let t = tempfile::tempdir().unwrap();
    let (_db, sst) = imported_db(t.path());

    let out = ok(["dump-sst", p(&sst)]);
    for want in [
        "format version: 1",
        "index block:",
        "entries: 3\n",
        "deletions: 0\n",
        "data blocks: 1\n",
        "smallest key: fruit/apple@1:Put",
        "largest key: veg/long@3:Put",
        "sequence range: 1..3",
        &format!("file size: {}", std::fs::metadata(&sst).unwrap().len()),
        "filter: ",
        "checksums: ok (1 data blocks verified)",
    ] {
        assert!(out.contains(want), "no {want:?} in:\n{out}");
    }
    assert!(
        !out.contains("entries:\n"),
        "entries without --entries:\n{out}"
    );
    assert!(!out.contains("block 0:"), "index without --blocks:\n{out}");

    let out = ok(["dump-sst", p(&sst), "--entries", "--blocks"]);
    assert!(out.contains("block 0: "), "{out}");
    assert!(out.contains("-> offset 0 size "), "{out}");
    assert!(out.contains("  fruit/apple @1 Put => red\n"), "{out}");
    assert!(out.contains("  fruit/banana @2 Put => yellow\n"), "{out}");
    let long = format!("  veg/long @3 Put => {}...(300 bytes)\n", "z".repeat(80));
    assert!(out.contains(&long), "{out}");
    assert!(out.contains("\n3 entries\n"), "{out}");
}

#[test]
fn dump_wal_prints_each_batch_and_a_torn_tail() {
    let t = tempfile::tempdir().unwrap();
    let (db, _) = imported_db(t.path());

    // Each command opens the database, which flushes the previous log, so the live log
    // holds exactly the last command's batch.
    ok(["put", p(&db), "wal/key", "hello\tworld"]);
    let logs = files_with(&db, ".log");
    assert_eq!(logs.len(), 1, "{logs:?}");
    let out = ok(["dump-wal", p(&logs[0])]);
    assert!(out.contains("record @0: seq 4 count 1"), "{out}");
    assert!(out.contains("  PUT wal/key => hello\\x09world\n"), "{out}");
    assert!(out.contains("1 records, 1 ops"), "{out}");
    assert!(!out.contains("dropped"), "{out}");

    ok(["delete", p(&db), "fruit/apple"]);
    let logs = files_with(&db, ".log");
    assert_eq!(logs.len(), 1, "{logs:?}");
    let log = &logs[0];
    let out = ok(["dump-wal", p(log), "--mode", "absolute"]);
    assert!(out.contains("record @0: seq 5 count 1"), "{out}");
    assert!(out.contains("  DELETE fruit/apple\n"), "{out}");

    // A torn copy: the record is cut short.
    let bytes = std::fs::read(log).unwrap();
    let torn = t.path().join("torn.log");
    std::fs::write(&torn, &bytes[..bytes.len() - 3]).unwrap();
    let out = ok(["dump-wal", p(&torn)]);
    assert!(out.contains("0 records, 0 ops, 0 bytes"), "{out}");
    assert!(out.contains("dropped tail: "), "{out}");
    let out = ok(["dump-wal", p(&torn), "--mode", "point-in-time"]);
    assert!(out.contains("dropped tail: "), "{out}");
    assert_one_error(
        &kevo(["dump-wal", p(&torn), "--mode", "absolute"]),
        1,
        "corruption",
    );
    assert_eq!(kevo(["dump-wal", p(&torn), "--mode", "bogus"]).code, 2);
}

#[test]
fn manifest_lists_edits_and_the_live_files() {
    let t = tempfile::tempdir().unwrap();
    let (db, sst) = imported_db(t.path());
    let number: u64 = sst
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.parse().ok())
        .expect("NNNNNN.sst");
    let size = std::fs::metadata(&sst).unwrap().len();

    let out = ok(["manifest", p(&db)]);
    assert!(out.starts_with("CURRENT -> MANIFEST-"), "{out}");
    assert!(out.contains("edit @0:\n  format version 2\n"), "{out}");
    assert!(out.contains("  options:\n"), "{out}");
    assert!(out.contains("block_size="), "{out}");
    assert!(out.contains("last sequence 3\n"), "{out}");
    let new = format!(
        "  new L0 #{number} {size} bytes [fruit/apple@1:Put .. veg/long@3:Put] seq 1..3 entries 3"
    );
    assert!(out.contains(&new), "no {new:?} in:\n{out}");
    assert!(
        out.contains(&format!("  L0: 1 files, {size} bytes: #{number}\n")),
        "{out}"
    );
    assert!(
        out.contains(&format!("  total: 1 files, {size} bytes\n")),
        "{out}"
    );
}

#[test]
fn corrupted_sst_is_one_error_after_what_was_printed() {
    let t = tempfile::tempdir().unwrap();
    let (_db, sst) = imported_db(t.path());
    let mut bytes = std::fs::read(&sst).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    let bad = t.path().join("bad.sst");
    std::fs::write(&bad, &bytes).unwrap();

    for args in [vec![p(&bad)], vec![p(&bad), "--entries", "--blocks"]] {
        let r = kevo(["dump-sst"].into_iter().chain(args));
        assert_one_error(&r, 1, "corruption");
        assert!(r.stderr.contains("bad.sst"), "{}", r.stderr);
        assert!(!r.stdout.contains("checksums: ok"), "{}", r.stdout);
    }

    // Damage in the data block: the header is printed, then the error.
    let mut bytes = std::fs::read(&sst).unwrap();
    bytes[5] ^= 0x55;
    std::fs::write(&bad, &bytes).unwrap();
    let r = kevo(["dump-sst", p(&bad), "--entries"]);
    assert_one_error(&r, 1, "checksum mismatch");
    assert!(r.stdout.contains("entries: 3"), "{}", r.stdout);
    assert!(r.stdout.ends_with("entries:\n"), "{}", r.stdout);
}

#[test]
fn missing_files_are_one_clear_error() {
    let t = tempfile::tempdir().unwrap();
    let nope = t.path().join("000001.sst");
    assert_one_error(
        &kevo(["dump-sst", p(&nope)]),
        1,
        &format!("no such file: {}", p(&nope)),
    );
    let nope = t.path().join("000002.log");
    assert_one_error(
        &kevo(["dump-wal", p(&nope)]),
        1,
        &format!("no such file: {}", p(&nope)),
    );
    assert_one_error(&kevo(["dump-sst", p(t.path())]), 1, "is a directory");
    let db = t.path().join("nodb");
    assert_one_error(
        &kevo(["manifest", p(&db)]),
        1,
        &format!("no database at {}", p(&db)),
    );
    // A file that is not a table at all.
    let junk = t.path().join("junk.sst");
    std::fs::write(&junk, b"hello").unwrap();
    assert_one_error(&kevo(["dump-sst", p(&junk)]), 1, "corruption");
}
