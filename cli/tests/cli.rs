//! End-to-end tests of the `kevo` binary.
//!
//! Some open a database; others check argument handling and error reporting, which happen
//! before any database is opened.

use std::ffi::OsStr;
use std::path::Path;

mod common;
use common::{assert_one_error, kevo, p};

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

// --- No engine needed -------------------------------------------------------------------

#[test]
fn missing_database_is_one_clear_error() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("nope");
    let db = p(&db);
    let want = format!("no database at {db}");
    assert_one_error(&kevo(["get", db, "k"]), 1, &want);
    assert_one_error(&kevo(["put", db, "k", "v"]), 1, &want);
    assert_one_error(&kevo(["delete", db, "k"]), 1, &want);
    assert_one_error(&kevo(["scan", db, "--count"]), 1, &want);
    assert!(!Path::new(db).exists(), "must not create the directory");
}

#[test]
fn directory_without_database_is_an_error() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("notes.txt"), "hi").unwrap();
    let r = kevo(["get", p(t.path()), "k"]);
    assert_one_error(&r, 1, "no database at");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        kevo(["scan", "db", "--prefix", "a", "--start", "b"]).code,
        2
    );
    assert_eq!(kevo(["bench", "--benchmarks", "fillseq,bogus"]).code, 2);
    assert_eq!(kevo(["bench", "--threads", "0"]).code, 2);
    assert_eq!(kevo(["import", "db", "f.jsonl", "--batch", "0"]).code, 2);
    assert_eq!(kevo(["get", "db"]).code, 2);
    assert_eq!(kevo(["frobnicate"]).code, 2);
    assert_eq!(kevo(["--help"]).code, 0);
}

#[test]
fn bad_hex_is_one_error() {
    let t = tempfile::tempdir().unwrap();
    let r = kevo(["get", p(t.path()), "zz", "--hex"]);
    assert_one_error(&r, 1, "not valid hex");
}

#[test]
fn import_errors_before_opening_the_database() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("db");

    let r = kevo(["import", p(&db), p(&t.path().join("missing.jsonl"))]);
    assert_one_error(&r, 1, "cannot open");

    let txt = t.path().join("data.txt");
    std::fs::write(&txt, "x").unwrap();
    let r = kevo(["import", p(&db), p(&txt)]);
    assert_one_error(&r, 1, "--format");

    let csv = t.path().join("data.csv");
    std::fs::write(&csv, "id,name\n1,a\n").unwrap();
    let r = kevo(["import", p(&db), p(&csv), "--key-column", "nope"]);
    assert_one_error(&r, 1, &format!("{}:1: key column \"nope\"", p(&csv)));

    let r = kevo(["import", p(&db), p(t.path()), "--format", "jsonl"]);
    assert_one_error(&r, 1, "is a directory");

    assert!(!db.exists(), "no database is created for a bad input");
}

#[test]
fn bench_refuses_to_delete_a_foreign_directory() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("thesis.tex"), "precious").unwrap();
    let r = kevo([
        "bench",
        "--db",
        p(t.path()),
        "--num",
        "10",
        "--benchmarks",
        "fillseq",
    ]);
    assert_one_error(&r, 1, "refusing to delete");
    assert!(t.path().join("thesis.tex").exists());
}

#[test]
fn bench_rejects_a_key_size_too_small_for_num() {
    let r = kevo(["bench", "--num", "1000", "--key-size", "2"]);
    assert_one_error(&r, 1, "--key-size 2 is too small");
}

// --- Engine needed ----------------------------------------------------------------------

/// A database with a few keys, created by `import` (the only command that creates one).
fn seeded_db(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("db");
    let f = dir.join("seed.jsonl");
    std::fs::write(
        &f,
        concat!(
            r#"{"key":"fruit/apple","value":"red"}"#,
            "\n",
            r#"{"key":"fruit/banana","value":"yellow"}"#,
            "\n",
            r#"{"key":"veg/carrot","value":{"color":"orange","n":3}}"#,
            "\n",
        ),
    )
    .unwrap();
    let out = ok(["import", p(&db), p(&f)]);
    assert!(out.contains("imported 3 records"), "{out}");
    db
}

#[test]
fn put_get_delete_scan_round_trip() {
    let t = tempfile::tempdir().unwrap();
    let db = seeded_db(t.path());
    let db = p(&db);

    assert_eq!(ok(["get", db, "fruit/apple"]), "red\n");
    assert_eq!(
        ok(["get", db, "veg/carrot"]),
        "{\"color\":\"orange\",\"n\":3}\n"
    );

    ok(["put", db, "fruit/cherry", "dark\tred"]);
    assert_eq!(ok(["get", db, "fruit/cherry"]), "dark\tred\n");
    assert_eq!(
        ok(["get", db, "66727569742f636865727279", "--hex"]),
        "6461726b09726564\n"
    );
    ok(["put", db, "00ff", "0102", "--hex"]);
    assert_eq!(ok(["get", db, "00ff", "--hex"]), "0102\n");

    assert_eq!(
        ok(["scan", db, "--prefix", "fruit/"]),
        "fruit/apple\tred\nfruit/banana\tyellow\nfruit/cherry\tdark\\tred\n"
    );
    assert_eq!(ok(["scan", db, "--prefix", "fruit/", "--count"]), "3\n");
    assert_eq!(
        ok(["scan", db, "--start", "fruit/b", "--end", "veg/"]),
        "fruit/banana\tyellow\nfruit/cherry\tdark\\tred\n"
    );
    assert_eq!(
        ok(["scan", db, "--start", "fruit/", "--limit", "1"]),
        "fruit/apple\tred\n"
    );
    assert_eq!(ok(["scan", db, "--count"]), "5\n");
    assert!(ok(["scan", db]).starts_with("\\x00\\xff\t\\x01\\x02\n"));
    assert!(ok(["scan", db, "--hex", "--limit", "1"]).starts_with("00ff\t0102\n"));

    ok(["delete", db, "fruit/apple"]);
    let r = kevo(["get", db, "fruit/apple"]);
    assert_one_error(&r, 1, "not found");
    assert_eq!(r.stdout, "");
    assert_eq!(ok(["scan", db, "--prefix", "fruit/", "--count"]), "2\n");
}

#[test]
fn import_stops_at_a_malformed_line_keeping_the_records_before_it() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("db");
    let f = t.path().join("cities.jsonl");
    std::fs::write(
        &f,
        concat!(
            r#"{"key":"FR/Paris/2988507","value":{"name":"Paris"}}"#,
            "\n",
            r#"{"key":"NZ/Auckland/2193733","value":{"name":"Auckland"}}"#,
            "\n",
            r#"{"key":"XX/Broken/1","value":{"name":"#,
            "\n",
            r#"{"key":"ZZ/After/2","value":"never"}"#,
            "\n",
        ),
    )
    .unwrap();
    // --batch 1000: the two good records are still in the unwritten batch when line 3 fails.
    let r = kevo(["import", p(&db), p(&f)]);
    assert_one_error(&r, 1, &format!("{}:3: invalid JSON", p(&f)));
    assert_eq!(
        ok(["get", p(&db), "FR/Paris/2988507"]),
        "{\"name\":\"Paris\"}\n"
    );
    assert_eq!(
        ok(["get", p(&db), "NZ/Auckland/2193733"]),
        "{\"name\":\"Auckland\"}\n"
    );
    assert_eq!(ok(["scan", p(&db), "--count"]), "2\n");

    // With --batch 1 the records were written one by one; the result is the same.
    let db1 = t.path().join("db1");
    let r = kevo(["import", p(&db1), p(&f), "--batch", "1"]);
    assert_one_error(&r, 1, ":3:");
    assert_eq!(ok(["scan", p(&db1), "--count"]), "2\n");
}

#[test]
fn import_missing_key_field_names_the_line() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("db");
    let f = t.path().join("d.ndjson");
    std::fs::write(
        &f,
        "{\"key\":\"a\",\"value\":1}\n\n{\"id\":\"b\",\"value\":2}\n",
    )
    .unwrap();
    let r = kevo(["import", p(&db), p(&f)]);
    assert_one_error(&r, 1, &format!("{}:3: missing key field \"key\"", p(&f)));
    assert_eq!(ok(["get", p(&db), "a"]), "1\n");
}

#[test]
fn import_csv_and_tsv() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("db");
    let csv = t.path().join("c.csv");
    std::fs::write(
        &csv,
        "id,name,pop\nc1,\"Washington, D.C.\",689545\nc2,Paris,2138551\n",
    )
    .unwrap();
    let out = ok(["import", p(&db), p(&csv)]);
    assert!(out.contains("imported 2 records"), "{out}");
    assert_eq!(
        ok(["get", p(&db), "c1"]),
        "{\"id\":\"c1\",\"name\":\"Washington, D.C.\",\"pop\":\"689545\"}\n"
    );

    let tsv = t.path().join("t.tsv");
    std::fs::write(&tsv, "name\tpop\nt/Lyon\t522250\n").unwrap();
    ok([
        "import",
        p(&db),
        p(&tsv),
        "--key-column",
        "name",
        "--value-column",
        "2",
    ]);
    assert_eq!(ok(["get", p(&db), "t/Lyon"]), "522250\n");

    let bad = t.path().join("bad.csv");
    std::fs::write(&bad, "k,v\nx1,1\nx2,2,extra\n").unwrap();
    let r = kevo(["import", p(&db), p(&bad)]);
    assert_one_error(&r, 1, &format!("{}:3: expected 2 fields", p(&bad)));
    assert_eq!(ok(["get", p(&db), "x1",]), "{\"k\":\"x1\",\"v\":\"1\"}\n");
}

#[test]
fn bench_runs_every_workload() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("bench");
    let out = ok([
        "bench",
        "--db",
        p(&db),
        "--num",
        "2000",
        "--threads",
        "2",
        "--benchmarks",
        "fillrandom,fillseq,overwrite,readrandom,readseq",
    ]);
    for w in [
        "fillrandom",
        "fillseq",
        "overwrite",
        "readrandom",
        "readseq",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(w)),
            "no {w} row in:\n{out}"
        );
    }
    // After fillseq every key exists.
    assert!(out.contains("2000 of 2000 found"), "{out}");
    let readseq = out.lines().find(|l| l.starts_with("readseq")).unwrap();
    let ops: u64 = readseq.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert_eq!(ops, 2 * 2000, "each thread scans all 2000 keys:\n{out}");

    // Without --db: a temporary directory, removed afterwards.
    let out = ok(["bench", "--num", "100", "--benchmarks", "fillseq,readseq"]);
    let tmp = out
        .lines()
        .find_map(|l| l.strip_prefix("database: "))
        .and_then(|l| l.strip_suffix(" (temporary)"))
        .expect("temporary database line");
    assert!(!Path::new(tmp).exists(), "{tmp} left behind");
}

/// The file count of `level` (e.g. "L0") in a `kevo stats` table.
fn level_files(stats: &str, level: &str) -> usize {
    stats
        .lines()
        .find_map(|l| {
            let mut cols = l.split_whitespace();
            (cols.next() == Some(level)).then(|| cols.next().unwrap().parse().unwrap())
        })
        .unwrap_or_else(|| panic!("no {level} row in:\n{stats}"))
}

#[test]
fn stats_prints_the_level_table() {
    let t = tempfile::tempdir().unwrap();
    let db = seeded_db(t.path());
    let out = ok(["stats", p(&db)]);
    assert!(out.contains("L0"), "{out}");
    assert!(out.contains("L6"), "{out}");
    assert!(out.contains("write amplification"), "{out}");
    // import flushes: its records are in one L0 table.
    assert_eq!(level_files(&out, "L0"), 1, "{out}");

    let missing = t.path().join("nope");
    assert_one_error(&kevo(["stats", p(&missing)]), 1, "no database at");
}

#[test]
fn compact_empties_l0_and_keeps_the_data() {
    let t = tempfile::tempdir().unwrap();
    let db = seeded_db(t.path());
    // A second import: a second L0 table, overlapping the first.
    let f = t.path().join("more.jsonl");
    std::fs::write(
        &f,
        "{\"key\":\"fruit/apple\",\"value\":\"green\"}\n{\"key\":\"nut/pecan\",\"value\":\"brown\"}\n",
    )
    .unwrap();
    ok(["import", p(&db), p(&f)]);
    let db = p(&db);
    assert_eq!(level_files(&ok(["stats", db]), "L0"), 2);

    let out = ok(["compact", db]);
    let l0: Vec<&str> = out
        .lines()
        .find(|l| l.starts_with("L0"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(&l0[..3], ["L0", "2", "0"], "{out}");
    assert!(out.contains("compacted in"), "{out}");

    let stats = ok(["stats", db]);
    assert_eq!(level_files(&stats, "L0"), 0, "{stats}");
    let total: usize = (1..7).map(|l| level_files(&stats, &format!("L{l}"))).sum();
    assert!(total >= 1, "{stats}");
    assert_eq!(ok(["get", db, "fruit/apple"]), "green\n");
    assert_eq!(ok(["scan", db, "--count"]), "4\n");

    // A range, given as hex: still fine on the compacted database.
    ok(["compact", db, "--start", "6672", "--end", "6673", "--hex"]);
    assert_eq!(ok(["scan", db, "--count"]), "4\n");
}

#[test]
fn bench_runs_the_read_write_mix_workloads() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("bench");
    let json = t.path().join("bench.json");
    let out = ok([
        "bench",
        "--db",
        p(&db),
        "--num",
        "2000",
        "--benchmarks",
        "fillrandom,compact,seekrandom,readreverse,deleterandom,readwhilewriting",
        "--compression",
        "zstd",
        "--compaction",
        "leveled",
        "--json",
        p(&json),
    ]);
    assert!(
        out.contains("compression: zstd (level 3), compaction: leveled"),
        "{out}"
    );
    for w in [
        "fillrandom",
        "compact",
        "seekrandom",
        "readreverse",
        "deleterandom",
        "readwhilewriting",
    ] {
        assert!(
            out.lines().any(|l| l.split_whitespace().next() == Some(w)),
            "no {w} row in:\n{out}"
        );
    }
    let row = |w: &str| out.lines().find(|l| l.starts_with(w)).unwrap().to_owned();
    let ops = |w: &str| -> u64 { row(w).split_whitespace().nth(1).unwrap().parse().unwrap() };
    // fillrandom draws with replacement: the reverse scan sees the distinct keys, which the
    // forward-seeks found.
    let distinct = ops("readreverse");
    assert!(distinct > 1000 && distinct < 2000, "{out}");
    assert!(row("seekrandom").contains(" of 2000 found"), "{out}");
    assert!(row("compact").contains("files per level"), "{out}");
    assert!(row("readwhilewriting").contains("writer"), "{out}");
    for line in [
        "write amplification",
        "space amplification",
        "write stalls",
        "block cache hits",
    ] {
        assert!(out.contains(line), "no {line:?} in:\n{out}");
    }

    // The compact workload emptied L0: "files per level a/b/... -> 0/...".
    assert!(row("compact").contains("-> 0/"), "{out}");

    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["compression"], "zstd (level 3)");
    let workloads = doc["workloads"].as_array().unwrap();
    assert_eq!(workloads.len(), 6, "{doc}");
    assert_eq!(workloads[2]["workload"], "seekrandom");
    assert_eq!(workloads[2]["ops"], 2000);
    let summary = &doc["summary"];
    assert!(summary["live_keys"].as_u64().unwrap() > 0, "{doc}");
    assert!(
        summary["space_amplification"].as_f64().unwrap() > 0.0,
        "{doc}"
    );
    assert!(summary["write_amplification"].is_number(), "{doc}");
    assert!(summary["block_cache_hit_ratio"].is_number(), "{doc}");
}

#[test]
fn bench_rejects_unknown_compression() {
    assert_eq!(kevo(["bench", "--compression", "gzip"]).code, 2);
    assert_eq!(kevo(["bench", "--compaction", "universal"]).code, 2);
}

#[test]
fn bench_runs_the_transaction_workloads() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("bench");
    let out = ok([
        "bench",
        "--db",
        p(&db),
        "--num",
        "2000",
        "--threads",
        "2",
        "--benchmarks",
        "fillseq,readmodifywrite,txnrmw,txnrmwhot",
    ]);
    let row = |w: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(w))
            .unwrap_or_else(|| panic!("no {w} row in:\n{out}"))
            .to_owned()
    };
    for w in ["readmodifywrite", "txnrmw", "txnrmwhot"] {
        let ops: u64 = row(w).split_whitespace().nth(1).unwrap().parse().unwrap();
        assert_eq!(ops, 2000, "{out}");
    }
    assert!(row("txnrmw").contains("conflicts retried"), "{out}");
    assert!(row("txnrmwhot").contains("conflicts retried"), "{out}");
}

#[test]
fn check_passes_a_sound_database_and_names_damage() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("db");
    ok([
        "bench",
        "--db",
        p(&db),
        "--num",
        "20000",
        "--benchmarks",
        "fillrandom,compact,overwrite",
    ]);
    let out = ok(["check", p(&db)]);
    assert!(out.contains("ok: no problem found"), "{out}");
    let verified: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("tables: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("a tables line");
    assert!(verified >= 1, "{out}");

    // Flip one byte in the middle of the largest table: a data block's checksum fails.
    let mut tables: Vec<_> = std::fs::read_dir(&db)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sst"))
        .collect();
    tables.sort_by_key(|p| std::fs::metadata(p).unwrap().len());
    let victim = tables.last().unwrap();
    let mut bytes = std::fs::read(victim).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x40;
    std::fs::write(victim, &bytes).unwrap();
    let r = common::kevo(["check", p(&db)]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let name = victim.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("problem:") && l.contains(&name) && l.contains("corruption")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("FAILED: 1 problem(s)"), "{}", r.stdout);

    // A database open elsewhere is checked live, and the read commands work beside it.
    let other = t.path().join("open");
    let handle = kevo::Db::open(&other, kevo::Options::default()).unwrap();
    handle.put(b"k", b"v").unwrap();
    let out = ok(["check", p(&other)]);
    assert!(out.contains("checked live"), "{out}");
    assert!(
        out.contains("wal: 1 segments, 1 records, 1 operations"),
        "{out}"
    );
    assert_eq!(ok(["get", p(&other), "k"]), "v\n");
    assert_eq!(ok(["scan", p(&other)]), "k\tv\n");
    assert!(ok(["stats", p(&other)]).contains("L0"));
    // The writer is unaffected and sees no file of the readers'.
    handle.put(b"k2", b"v2").unwrap();
    handle.close().unwrap();
    let out = ok(["check", p(&other)]);
    assert!(!out.contains("checked live"), "{out}");
    assert!(
        out.contains("wal: 1 segments, 2 records, 2 operations"),
        "{out}"
    );
}

#[test]
fn stress_runs_and_checks_against_its_model() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("stress");
    let out = ok([
        "stress",
        "--db",
        p(&db),
        "--duration",
        "2",
        "--threads",
        "2",
        "--keys",
        "300",
        "--reopen-every",
        "1",
    ]);
    let summary = out.lines().last().unwrap();
    assert!(summary.ends_with(", 0 failures"), "{out}");
    let checks: u64 = summary
        .split(", ")
        .find_map(|part| part.strip_suffix(" checks"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no check count in {summary}"));
    assert!(checks > 100, "{out}");
    assert!(!summary.contains(" 0 reopens"), "{out}");
    // The database it leaves is sound.
    assert!(ok(["check", p(&db)]).contains("ok: no problem found"));
    // It refuses to reuse a directory.
    let r = common::kevo(["stress", "--db", p(&db), "--duration", "1"]);
    assert_one_error(&r, 1, "creates its database afresh");
}

/// `check` and `scan` beside a writer that flushes and compacts all the time: the files
/// they read vanish under them, and they must still report a clean, consistent state.
#[test]
fn read_commands_beside_a_churning_writer() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("busy");
    let opts = kevo::Options::default()
        .memtable_size(16 << 10)
        .l0_compaction_trigger(2)
        .target_file_size(32 << 10)
        .max_bytes_for_level_base(64 << 10);
    let db = std::sync::Arc::new(kevo::Db::open(&dir, opts).unwrap());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                db.put(format!("k{:04}", i % 500).as_bytes(), &[b'x'; 64])
                    .unwrap();
                i += 1;
            }
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    for _ in 0..3 {
        let out = ok(["check", p(&dir)]);
        assert!(out.contains("ok: no problem found"), "{out}");
        let n: u64 = ok(["scan", "--count", p(&dir)]).trim().parse().unwrap();
        assert_eq!(n, 500);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    db.close().unwrap();
}

/// `kevo checkpoint` beside a process writing to the database: the copy opens and holds
/// every key, and a second checkpoint into the now non-empty directory is refused.
#[test]
fn checkpoint_beside_a_writer() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("live");
    let copy = t.path().join("copy");
    let opts = kevo::Options::default()
        .memtable_size(16 << 10)
        .l0_compaction_trigger(2)
        .target_file_size(32 << 10);
    let db = kevo::Db::open(&dir, opts).unwrap();
    for i in 0..2000u32 {
        db.put(format!("k{i:05}").as_bytes(), b"v").unwrap();
    }
    let out = ok(["checkpoint", p(&dir), p(&copy)]);
    assert!(out.contains("tables linked"), "{out}");
    db.put(b"after", b"1").unwrap();
    let n: u64 = ok(["scan", "--count", p(&copy)]).trim().parse().unwrap();
    assert_eq!(n, 2000);
    assert_one_error(&kevo(["checkpoint", p(&dir), p(&copy)]), 1, "not empty");
    db.close().unwrap();
}

/// `kevo backup` beside a process writing to the database, twice (the second shares the
/// unchanged tables), then `--list`, `restore` of each, a flipped byte refused on restore
/// with nothing left behind, and `--delete`.
#[test]
fn backup_list_restore_delete() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("live");
    let bk = t.path().join("bk");
    let opts = kevo::Options::default()
        .memtable_size(16 << 10)
        .l0_compaction_trigger(8)
        .target_file_size(32 << 10);
    let db = kevo::Db::open(&dir, opts).unwrap();
    for i in 0..2000u32 {
        db.put(format!("k{i:05}").as_bytes(), b"v").unwrap();
    }
    // Settled: no compaction left to rewrite the tables between the two backups.
    db.compact_range(None, None).unwrap();
    let out = ok(["backup", p(&dir), p(&bk)]);
    assert!(out.starts_with("backup 1:"), "{out}");
    db.put(b"after", b"1").unwrap();
    let out = ok(["backup", p(&dir), p(&bk)]);
    assert!(
        out.starts_with("backup 2:") && !out.contains(" 0 tables shared"),
        "{out}"
    );
    db.close().unwrap();

    let list = ok(["backup", "--list", p(&bk)]);
    let ids: Vec<&str> = list
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(ids, ["1", "2"], "{list}");
    ok(["backup", "--verify", "1", p(&bk)]);

    let r1 = t.path().join("r1");
    let r2 = t.path().join("r2");
    ok(["restore", "--id", "1", p(&bk), p(&r1)]);
    ok(["restore", p(&bk), p(&r2)]);
    assert_eq!(ok(["scan", "--count", p(&r1)]).trim(), "2000");
    assert_eq!(ok(["get", p(&r2), "after"]).trim(), "1");
    assert_one_error(&kevo(["restore", p(&bk), p(&r2)]), 1, "not empty");
    assert_one_error(
        &kevo(["restore", "--id", "9", p(&bk), p(&r2)]),
        1,
        "backup 9",
    );
    assert_one_error(&kevo(["backup", p(&bk)]), 1, "needs DB BACKUP_DIR");

    // A flipped byte in a shared table: verify and restore name it; no target is left.
    let victim = std::fs::read_dir(bk.join("shared"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[10] ^= 0x40;
    std::fs::write(&victim, &bytes).unwrap();
    assert_one_error(&kevo(["backup", "--verify", "2", p(&bk)]), 1, "xxh64");
    let r3 = t.path().join("r3");
    assert_one_error(&kevo(["restore", p(&bk), p(&r3)]), 1, "xxh64");
    assert!(!r3.exists(), "a failed restore left its target");

    ok(["backup", "--delete", "1", p(&bk)]);
    let list = ok(["backup", "--list", p(&bk)]);
    assert_eq!(list.lines().count(), 2, "{list}");
    assert_one_error(&kevo(["backup", "--delete", "1", p(&bk)]), 1, "backup 1");
}
