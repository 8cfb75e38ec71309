//! Kill test: a child process writes (with `SyncMode::Always` in even cycles and
//! `SyncMode::None` in odd ones: both promise that an acknowledged write survives a crash of
//! the process) and reports every acknowledged write; the parent kills it with SIGKILL at random moments, reopens the database and checks
//! that every acknowledged write is there with its last acknowledged value, that the one
//! write in flight is either wholly there or wholly absent, and that nothing else changed.
//!
//! Half of the multi-key writes are transactions.
//!
//! The child is this same test binary, re-run with `KEVO_KILL_CHILD` set. `KEVO_KILL_CYCLES`
//! sets the number of cycles (default 300; `make crash-test` runs 10,000).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kevo::{Db, Error, Options, SyncMode, WriteBatch};

const CHILD_ENV: &str = "KEVO_KILL_CHILD";

type Model = BTreeMap<Vec<u8>, Vec<u8>>;
type Op = Vec<(Vec<u8>, Option<Vec<u8>>)>;

fn child_options(sync_mode: SyncMode) -> Options {
    Options::default()
        .sync_mode(sync_mode)
        .memtable_size(32 << 10)
        .l0_compaction_trigger(3)
        .target_file_size(64 << 10)
        // Small levels so that compactions into L2 and deeper run while the child is killed.
        .max_bytes_for_level_base(128 << 10)
        .level_size_multiplier(4)
}

fn rng(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// Runs only in the child: writes random operations forever, printing each before it is
/// attempted (`T`) and after it is acknowledged (`A`).
#[test]
fn kill_child_writer() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (mode, rest) = spec.split_once(':').unwrap();
    let (dir, seed) = rest.rsplit_once(':').unwrap();
    if mode == "lock" {
        let r = Db::open(dir, Options::default());
        println!(
            "@@{}",
            if matches!(r, Err(Error::Locked(_))) {
                "LOCKED"
            } else {
                "OPENED"
            }
        );
        return;
    }
    let mut seed: u64 = seed.parse::<u64>().unwrap() | 1;
    let sync_mode = if mode == "none" {
        SyncMode::None
    } else {
        SyncMode::Always
    };
    let db = Db::open(dir, child_options(sync_mode)).unwrap();
    let mut out = std::io::stdout().lock();
    // Tells the parent the database exists: its kill timer starts now.
    writeln!(out, "@@O").unwrap();
    out.flush().unwrap();
    for i in 0u64.. {
        let n = if rng(&mut seed).is_multiple_of(5) {
            1 + rng(&mut seed) % 4
        } else {
            1
        };
        let mut batch = WriteBatch::new();
        // Multi-key writes go through a transaction half the time: its commit must be found
        // whole or not at all, like a batch's.
        let txn = (n > 1 && rng(&mut seed).is_multiple_of(2)).then(|| db.transaction().unwrap());
        let mut line = String::from("@@T");
        for j in 0..n {
            let k = format!("k{:03}", rng(&mut seed) % 300);
            if rng(&mut seed).is_multiple_of(6) {
                batch.delete(k.as_bytes()).unwrap();
                if let Some(t) = &txn {
                    t.delete(k.as_bytes()).unwrap();
                }
                line.push_str(&format!(" {k}=-"));
            } else {
                let v = format!(
                    "{seed:x}.{i}.{j}{}",
                    "p".repeat((rng(&mut seed) % 200) as usize)
                );
                batch.put(k.as_bytes(), v.as_bytes()).unwrap();
                if let Some(t) = &txn {
                    t.put(k.as_bytes(), v.as_bytes()).unwrap();
                }
                line.push_str(&format!(" {k}={v}"));
            }
        }
        writeln!(out, "{line}").unwrap();
        out.flush().unwrap();
        match txn {
            Some(t) => t.commit().unwrap(),
            None => db.write(&batch).unwrap(),
        }
        writeln!(out, "@@A").unwrap();
        out.flush().unwrap();
        if i % 700 == 699 {
            // A manual compaction now and then, so kills also land inside one.
            db.compact_range(None, None).unwrap();
        }
    }
}

fn parse_op(line: &str) -> Op {
    line.split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (
                k.as_bytes().to_vec(),
                if v == "-" {
                    None
                } else {
                    Some(v.as_bytes().to_vec())
                },
            )
        })
        .collect()
}

fn apply(model: &mut Model, op: &Op) {
    for (k, v) in op {
        match v {
            Some(v) => model.insert(k.clone(), v.clone()),
            None => model.remove(k),
        };
    }
}

fn spawn_child(spec: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "kill_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let cycles: u64 = std::env::var("KEVO_KILL_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_owned();
    let mut model = Model::new();
    let mut seed = 0x5eed_u64;
    let mut total_acked = 0usize;
    let mut in_flight_applied = 0usize;
    let started = Instant::now();
    for cycle in 0..cycles {
        let mode = if cycle % 2 == 0 { "always" } else { "none" };
        let mut child = spawn_child(&format!("{mode}:{path}:{}", rng(&mut seed)));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                let _ = tx.send(l);
            }
        });
        // The kill lands 20-100 ms after the child has opened the database (on a loaded
        // machine the open itself can take longer than that).
        let mut lines = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let l = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("cycle {cycle}: the child never opened the database"));
            let opened = l.contains("@@O");
            lines.push(l);
            if opened {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(20 + rng(&mut seed) % 80));
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());

        let mut pending: Option<Op> = None;
        // libtest may print "test kill_child_writer ... " before the first marker.
        for l in lines
            .iter()
            .filter_map(|l| l.find("@@").map(|i| &l[i + 2..]))
        {
            if let Some(op) = l.strip_prefix("T") {
                pending = Some(parse_op(op));
            } else if l == "A" {
                apply(&mut model, &pending.take().expect("ack without attempt"));
                total_acked += 1;
            }
        }

        let db = Db::reopen(&path)
            .unwrap_or_else(|e| panic!("cycle {cycle}: reopen failed after SIGKILL: {e}"));
        let state: Model = db
            .scan::<Vec<u8>, _>(..)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        if state != model {
            let mut with_pending = model.clone();
            let op = pending.as_ref().unwrap_or_else(|| {
                panic!("cycle {cycle}: database differs from acknowledged writes")
            });
            apply(&mut with_pending, op);
            assert!(
                state == with_pending,
                "cycle {cycle}: database is neither the acknowledged state nor it plus the \
                 whole in-flight batch"
            );
            model = with_pending;
            in_flight_applied += 1;
        }
        for (k, v) in &model {
            assert_eq!(db.get(k).unwrap().as_ref(), Some(v), "cycle {cycle}");
        }
        db.close().unwrap();
    }
    eprintln!(
        "kill test: {cycles} cycles, {total_acked} acknowledged writes verified, \
         {in_flight_applied} in-flight batches found whole, {:?}",
        started.elapsed()
    );
    assert!(
        total_acked > cycles as usize,
        "the child should acknowledge writes every cycle"
    );
}

#[test]
fn second_process_gets_locked() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_owned();
    let db = Db::open(&path, Options::default()).unwrap();
    let out = spawn_child(&format!("lock:{path}:0"))
        .wait_with_output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("@@LOCKED"), "child output: {text}");
    drop(db);
    let out = spawn_child(&format!("lock:{path}:0"))
        .wait_with_output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("@@OPENED"));
}
