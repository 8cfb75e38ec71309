//! Read-only handles ([`Db::open_read_only`], [`Options::read_only`]) beside a writer: they
//! change nothing on disk, refuse writes, see the writer's WAL tail, survive the writer's
//! compactions deleting their files, and follow the writer through [`Db::refresh`].
//!
//! The two-process test runs this binary again as the writer (with `KEVO_RO_CHILD` set) and
//! checks, for ~31 s, that every state a refreshing reader sees is a prefix of the writer's
//! history.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use kevo::{Db, Error, Options, WriteBatch};

const CHILD_ENV: &str = "KEVO_RO_CHILD";

fn small() -> Options {
    Options::default()
        .memtable_size(16 << 10)
        .l0_compaction_trigger(2)
        .target_file_size(32 << 10)
        .max_bytes_for_level_base(64 << 10)
        .level_size_multiplier(4)
}

/// Name, size and mtime of every file in `dir`.
fn listing(dir: &Path) -> BTreeMap<String, (u64, SystemTime)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                (m.len(), m.modified().unwrap()),
            )
        })
        .collect()
}

fn all(db: &Db) -> Vec<(Vec<u8>, Vec<u8>)> {
    db.scan::<&[u8], _>(..)
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn read_only_session_changes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path(), small()).unwrap();
        for i in 0..3000u32 {
            db.put(format!("k{i:05}").as_bytes(), &i.to_le_bytes())
                .unwrap();
        }
        db.flush().unwrap();
        // An unflushed tail in the WAL too.
        for i in 0..50u32 {
            db.put(format!("t{i:05}").as_bytes(), b"tail").unwrap();
        }
        db.close().unwrap();
    }
    let before = listing(dir.path());
    std::thread::sleep(Duration::from_millis(20));
    {
        let db = Db::open_read_only(dir.path()).unwrap();
        assert!(db.is_read_only());
        assert_eq!(
            db.get(b"k00042").unwrap(),
            Some(42u32.to_le_bytes().to_vec())
        );
        assert_eq!(db.get(b"t00049").unwrap(), Some(b"tail".to_vec()));
        assert_eq!(all(&db).len(), 3050);
        db.refresh().unwrap();
        assert_eq!(all(&db).len(), 3050);
        let _ = db.stats();
        db.close().unwrap();
    }
    assert_eq!(before, listing(dir.path()));
}

#[test]
fn writes_return_read_only() {
    let dir = tempfile::tempdir().unwrap();
    Db::open(dir.path(), Options::default())
        .unwrap()
        .put(b"a", b"1")
        .unwrap();
    let before = listing(dir.path());
    let db = Db::open(dir.path(), Options::default().read_only(true)).unwrap();
    let ro = |r: kevo::Result<()>| assert!(matches!(r, Err(Error::ReadOnly(_))), "{r:?}");
    ro(db.put(b"a", b"2"));
    ro(db.delete(b"a"));
    let mut b = WriteBatch::new();
    b.put(b"b", b"1").unwrap();
    ro(db.write(&b));
    ro(db.write_opt(&b, &kevo::WriteOptions::default()));
    ro(db.put_opt(b"a", b"2", &kevo::WriteOptions::default()));
    ro(db.delete_opt(b"a", &kevo::WriteOptions::default()));
    ro(db.write(&WriteBatch::new()));
    ro(db.flush());
    ro(db.compact_range(None, None));
    ro(db.sync_wal());
    if let Ok(t) = db.transaction() {
        t.put(b"c", b"1").unwrap();
        ro(t.commit());
    }
    assert_eq!(db.get(b"a").unwrap(), Some(b"1".to_vec()));
    drop(db);
    assert_eq!(before, listing(dir.path()));
}

#[test]
fn missing_database_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope");
    assert!(matches!(Db::open_read_only(&path), Err(Error::NotFound(_))));
    assert!(matches!(
        Db::open(&path, Options::default().read_only(true)),
        Err(Error::NotFound(_))
    ));
    assert!(!path.exists());
    // An empty directory is not a database either, and stays empty.
    assert!(matches!(
        Db::open_read_only(dir.path()),
        Err(Error::NotFound(_))
    ));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // refresh on a writable handle is a typed error.
    let w = Db::open(&path, Options::default()).unwrap();
    assert!(matches!(w.refresh(), Err(Error::InvalidArgument(_))));
}

#[test]
fn readers_beside_a_writer_survive_compactions_and_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let w = Db::open(dir.path(), small()).unwrap();
    for i in 0..2000u32 {
        w.put(format!("k{i:05}").as_bytes(), b"v1").unwrap();
    }
    w.flush().unwrap();
    w.put(b"wal-only", b"x").unwrap();
    let readers: Vec<Db> = (0..3)
        .map(|_| Db::open_read_only(dir.path()).unwrap())
        .collect();
    for r in &readers {
        assert_eq!(r.get(b"wal-only").unwrap(), Some(b"x".to_vec()));
    }
    let tables_before: Vec<_> = listing(dir.path())
        .into_keys()
        .filter(|n| n.ends_with(".sst"))
        .collect();
    // Overwrite everything and compact: every table the readers pinned is deleted.
    for i in 0..2000u32 {
        w.put(format!("k{i:05}").as_bytes(), b"v2").unwrap();
    }
    w.compact_range(None, None).unwrap();
    let now = listing(dir.path());
    assert!(
        tables_before.iter().all(|t| !now.contains_key(t)),
        "compaction kept {tables_before:?} in {now:?}"
    );
    for r in &readers {
        // The old view, read from the unlinked files.
        assert_eq!(r.get(b"k01234").unwrap(), Some(b"v1".to_vec()));
        let rows = all(r);
        assert_eq!(rows.len(), 2001);
        assert!(rows.iter().all(|(k, v)| k == b"wal-only" || v == b"v1"));
    }
    w.put(b"tail", b"new").unwrap();
    for r in &readers {
        r.refresh().unwrap();
        assert_eq!(r.get(b"k01234").unwrap(), Some(b"v2".to_vec()));
        assert_eq!(r.get(b"tail").unwrap(), Some(b"new".to_vec()));
        assert_eq!(r.last_sequence(), w.last_sequence());
    }
    // A snapshot taken before a refresh keeps its view.
    let snap = readers[0].snapshot().unwrap();
    w.delete(b"tail").unwrap();
    readers[0].refresh().unwrap();
    assert_eq!(readers[0].get(b"tail").unwrap(), None);
    let ro = kevo::ReadOptions {
        snapshot: Some(snap),
        ..Default::default()
    };
    assert_eq!(
        readers[0].get_opt(b"tail", &ro).unwrap(),
        Some(b"new".to_vec())
    );
}

#[test]
fn refresh_follows_a_rotated_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let w = Db::open(dir.path(), small()).unwrap();
    w.put(b"a", b"1").unwrap();
    let r = Db::open_read_only(dir.path()).unwrap();
    let current = || std::fs::read_to_string(dir.path().join("CURRENT")).unwrap();
    let first = current();
    // Every writable open starts a new manifest and deletes the old one.
    w.close().unwrap();
    drop(w);
    let w = Db::open(dir.path(), small()).unwrap();
    w.put(b"b", b"2").unwrap();
    assert_ne!(first, current());
    assert_eq!(r.get(b"b").unwrap(), None);
    r.refresh().unwrap();
    assert_eq!(r.get(b"a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(r.get(b"b").unwrap(), Some(b"2".to_vec()));
}

/// Slots of the two-process history: write `i` sets `s{i % SLOTS}` and `n` to `i`.
const SLOTS: u64 = 400;

/// Runs only in the child: the writer, for `secs` seconds.
#[test]
fn two_process_child_writer() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (dir, secs) = spec.rsplit_once(':').unwrap();
    let secs: u64 = secs.parse().unwrap();
    let db = Db::open(dir, small()).unwrap();
    println!("@@O");
    let end = Instant::now() + Duration::from_secs(secs);
    let mut i = 0u64;
    while Instant::now() < end {
        let mut b = WriteBatch::new();
        let v = format!("{i:012}{}", "p".repeat((i % 97) as usize));
        b.put(format!("s{:04}", i % SLOTS).as_bytes(), v.as_bytes())
            .unwrap();
        b.put(b"n", format!("{i:012}").as_bytes()).unwrap();
        db.write(&b).unwrap();
        i += 1;
    }
    db.close().unwrap();
    println!("@@D {i}");
}

/// Checks that `rows` is the state right after write `n` of the child's history.
fn check_prefix(rows: &[(Vec<u8>, Vec<u8>)]) -> Option<u64> {
    let map: BTreeMap<_, _> = rows.iter().cloned().collect();
    let n = map
        .get(&b"n"[..])
        .map(|v| std::str::from_utf8(v).unwrap().parse::<u64>().unwrap());
    let Some(n) = n else {
        assert!(map.is_empty(), "no `n` but {} keys", map.len());
        return None;
    };
    assert_eq!(
        map.len() as u64,
        1 + (n + 1).min(SLOTS),
        "key count after write {n}"
    );
    for s in 0..SLOTS.min(n + 1) {
        // The last write ≤ n into slot s.
        let i = n - ((n - s) % SLOTS);
        let want = format!("{i:012}{}", "p".repeat((i % 97) as usize));
        let got = map
            .get(format!("s{s:04}").as_bytes())
            .expect("slot written");
        assert_eq!(got, want.as_bytes(), "slot {s} after write {n}");
    }
    Some(n)
}

#[test]
fn two_process_reader_sees_prefixes() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let secs: u64 = std::env::var("KEVO_RO_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "two_process_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{}:{secs}", dir.path().display()))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let l = lines.next().expect("child exited before opening").unwrap();
        if l.contains("@@O") {
            break;
        }
    }
    let reader = Db::open_read_only(dir.path()).unwrap();
    let mut last: Option<u64> = None;
    let mut refreshes = 0u64;
    let mut advanced = 0u64;
    let start = Instant::now();
    loop {
        let done = child.try_wait().unwrap().is_some();
        reader.refresh().unwrap();
        refreshes += 1;
        let n = check_prefix(&all(&reader));
        assert!(n >= last, "went back from {last:?} to {n:?}");
        if n > last {
            advanced += 1;
        }
        last = n;
        if done {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs + 60),
            "child hung"
        );
    }
    let status = child.wait().unwrap();
    assert!(status.success());
    let total: u64 = lines
        .map_while(|l| l.ok())
        .find_map(|l| l.strip_prefix("@@D ").map(|n| n.trim().parse().unwrap()))
        .expect("child reported its count");
    // After the writer closed, the reader sees the whole history.
    assert_eq!(last, Some(total - 1));
    assert!(
        advanced > 10,
        "only {advanced} of {refreshes} refreshes moved"
    );
    eprintln!(
        "two-process: {total} writes, {refreshes} refreshes ({advanced} moved) in {:?}",
        start.elapsed()
    );
}
