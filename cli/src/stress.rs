//! `kevo stress`: a multi-threaded load of random operations, every result checked against
//! an in-memory model, for a set time.
//!
//! Each worker thread owns the keys `t<thread>/<number>`, so it knows exactly what each of
//! its reads must return while the other threads write theirs. Operations, by share:
//! puts (35 %), deletes (10 %), write batches of 2–8 operations (10 %), gets (25 %, checked),
//! iterator scans of a random range forward or backward (8 %, checked entry by entry),
//! snapshots (4 %: the values of some keys are noted, the keys are overwritten, then reads
//! at the snapshot must return the noted values), read-modify-write transactions (8 %; the
//! thread's own keys, so the commit must succeed and its result is checked).
//!
//! Meanwhile a maintenance thread flushes the memtable and compacts random key ranges, and,
//! with `--reopen-every`, closes and reopens the database (workers pause) and then checks
//! every key of every model. Memtables and files are small so that flushes and compactions
//! run all the time.
//!
//! A mismatch stops every thread and ends the run with exit code 1 and a description; an
//! engine error does the same.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use kevo::{Db, Options, ReadOptions, WriteBatch};
use parking_lot::RwLock;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

#[derive(Args, Debug)]
pub struct StressArgs {
    /// Database directory, created afresh [default: a temporary directory, removed at exit]
    #[arg(long)]
    db: Option<PathBuf>,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Worker threads.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=256))]
    threads: u64,
    /// Keys per worker thread.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..))]
    keys: u64,
    /// Largest value, in bytes (values are 0 to this many bytes).
    #[arg(long, default_value_t = 300)]
    max_value_size: usize,
    /// Close and reopen the database this often, in seconds (0: never).
    #[arg(long, default_value_t = 3)]
    reopen_every: u64,
    /// Seed of the random operations.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// What every thread shares.
struct Shared {
    db: RwLock<Arc<Db>>,
    models: Vec<Mutex<Model>>,
    stop: AtomicBool,
    failure: Mutex<Option<String>>,
    ops: AtomicU64,
    checks: AtomicU64,
    reopens: AtomicU64,
}

impl Shared {
    fn fail(&self, what: String) {
        let mut f = self.failure.lock().expect("not poisoned");
        if f.is_none() {
            *f = Some(what);
        }
        self.stop.store(true, Ordering::Release);
    }
}

fn key(t: u64, n: u64) -> Vec<u8> {
    format!("t{t:03}/{n:08}").into_bytes()
}

fn value(rng: &mut Xoshiro256PlusPlus, max: usize, tag: u64) -> Vec<u8> {
    let len = rng.random_range(0..=max);
    let mut v = format!("{tag:x}:").into_bytes();
    v.resize(len.max(v.len()), b'a' + (tag % 26) as u8);
    v
}

pub fn run(args: &StressArgs) -> Result<ExitCode> {
    let (dir, _temp) = match &args.db {
        Some(d) => {
            if d.exists() {
                bail!(
                    "{} exists; stress creates its database afresh, give a new path",
                    d.display()
                );
            }
            (d.clone(), None)
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("kevo-stress-")
                .tempdir()
                .context("creating a temporary directory")?;
            (t.path().join("db"), Some(t))
        }
    };
    let options = Options::default()
        .memtable_size(256 << 10)
        .target_file_size(512 << 10)
        .max_bytes_for_level_base(2 << 20)
        .l0_compaction_trigger(2)
        .block_size(1024)
        .block_cache_size(4 << 20);
    let db = Db::open(&dir, options).with_context(|| format!("opening {}", dir.display()))?;
    println!(
        "stress: {} threads x {} keys, {} s, reopen every {} s, database {}",
        args.threads,
        args.keys,
        args.duration,
        args.reopen_every,
        dir.display()
    );
    let shared = Arc::new(Shared {
        db: RwLock::new(Arc::new(db)),
        models: (0..args.threads)
            .map(|_| Mutex::new(Model::new()))
            .collect(),
        stop: AtomicBool::new(false),
        failure: Mutex::new(None),
        ops: AtomicU64::new(0),
        checks: AtomicU64::new(0),
        reopens: AtomicU64::new(0),
    });
    let pb = ProgressBar::new(args.duration).with_style(
        ProgressStyle::with_template(
            "{spinner} stress [{elapsed_precise}] {wide_bar} {pos}/{len} s {msg}",
        )
        .expect("valid template"),
    );
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration);
    std::thread::scope(|s| {
        for t in 0..args.threads {
            let shared = &shared;
            s.spawn(move || {
                if let Err(e) = worker(shared, args, t) {
                    shared.fail(format!("thread {t}: {e:#}"));
                }
            });
        }
        let shared_m = &shared;
        s.spawn(move || {
            if let Err(e) = maintenance(shared_m, args, &dir) {
                shared_m.fail(format!("maintenance: {e:#}"));
            }
        });
        while Instant::now() < deadline && !shared.stop.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(100));
            pb.set_position(started.elapsed().as_secs().min(args.duration));
            pb.set_message(format!(
                "{} ops, {} checks, {} reopens",
                shared.ops.load(Ordering::Relaxed),
                shared.checks.load(Ordering::Relaxed),
                shared.reopens.load(Ordering::Relaxed)
            ));
        }
        shared.stop.store(true, Ordering::Release);
    });
    pb.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let failure = shared.failure.lock().expect("not poisoned").take();
    // A last full check after a final reopen, unless the run already failed.
    let failure = failure.or_else(|| {
        let db = shared.db.read().clone();
        let r = db
            .close()
            .context("closing")
            .and_then(|()| Db::reopen(db.path()).context("reopening"))
            .and_then(|db| check_all(&shared, &db));
        r.err().map(|e| format!("final check: {e:#}"))
    });
    let ops = shared.ops.load(Ordering::Relaxed);
    println!(
        "{ops} operations in {elapsed:.1} s ({:.0} ops/s), {} checks, {} reopens, {} failures",
        ops as f64 / elapsed.max(1e-9),
        shared.checks.load(Ordering::Relaxed),
        shared.reopens.load(Ordering::Relaxed),
        u8::from(failure.is_some())
    );
    match failure {
        None => Ok(ExitCode::SUCCESS),
        Some(f) => {
            eprintln!("error: {f}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Every key of every model, read back.
fn check_all(shared: &Shared, db: &Db) -> Result<()> {
    for (t, model) in shared.models.iter().enumerate() {
        let model = model.lock().expect("not poisoned");
        let prefix = format!("t{t:03}/").into_bytes();
        let got: Model = db
            .scan_prefix(&prefix)?
            .collect::<kevo::Result<Vec<_>>>()?
            .into_iter()
            .collect();
        if got != *model {
            let diff = model
                .iter()
                .find(|(k, v)| got.get(*k) != Some(*v))
                .map(|(k, _)| k.clone())
                .or_else(|| got.keys().find(|k| !model.contains_key(*k)).cloned())
                .unwrap_or_default();
            bail!(
                "thread {t}'s keys: the database holds {} keys, the model {}; first difference at {}",
                got.len(),
                model.len(),
                String::from_utf8_lossy(&diff)
            );
        }
        shared.checks.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

fn maintenance(shared: &Shared, args: &StressArgs, dir: &std::path::Path) -> Result<()> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(args.seed ^ 0xDEAD_BEEF);
    let mut last_reopen = Instant::now();
    while !shared.stop.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(200));
        if args.reopen_every > 0 && last_reopen.elapsed() >= Duration::from_secs(args.reopen_every)
        {
            // Workers hold the read lock per operation: this waits for them to pause.
            let mut guard = shared.db.write();
            guard.close().context("closing for a reopen")?;
            let db = Db::reopen(dir).context("reopening")?;
            check_all(shared, &db)?;
            *guard = Arc::new(db);
            shared.reopens.fetch_add(1, Ordering::Relaxed);
            last_reopen = Instant::now();
            continue;
        }
        let db = shared.db.read().clone();
        if rng.random_bool(0.5) {
            db.flush().context("flush")?;
        } else {
            let t = rng.random_range(0..args.threads);
            let a = rng.random_range(0..args.keys);
            let b = (a + rng.random_range(0..args.keys / 4 + 1)).min(args.keys);
            db.compact_range(Some(&key(t, a)), Some(&key(t, b)))
                .context("compact_range")?;
        }
    }
    Ok(())
}

fn worker(shared: &Shared, args: &StressArgs, t: u64) -> Result<()> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(
        args.seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(t),
    );
    let model_lock = &shared.models[t as usize];
    let mut tag = t << 40;
    while !shared.stop.load(Ordering::Acquire) {
        let guard = shared.db.read();
        let db: &Db = &guard;
        let mut model = model_lock.lock().expect("not poisoned");
        for _ in 0..16 {
            tag += 1;
            one_op(db, &mut model, &mut rng, args, t, tag, shared)?;
            shared.ops.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(())
}

fn one_op(
    db: &Db,
    model: &mut Model,
    rng: &mut Xoshiro256PlusPlus,
    args: &StressArgs,
    t: u64,
    tag: u64,
    shared: &Shared,
) -> Result<()> {
    let k = key(t, rng.random_range(0..args.keys));
    let roll = rng.random_range(0..100);
    match roll {
        0..35 => {
            let v = value(rng, args.max_value_size, tag);
            db.put(&k, &v).context("put")?;
            model.insert(k, v);
        }
        35..45 => {
            db.delete(&k).context("delete")?;
            model.remove(&k);
        }
        45..55 => {
            let mut batch = WriteBatch::new();
            let mut staged = Vec::new();
            for _ in 0..rng.random_range(2..=8) {
                let k = key(t, rng.random_range(0..args.keys));
                if rng.random_bool(0.2) {
                    batch.delete(&k)?;
                    staged.push((k, None));
                } else {
                    let v = value(rng, args.max_value_size, tag);
                    batch.put(&k, &v)?;
                    staged.push((k, Some(v)));
                }
            }
            db.write(&batch).context("write batch")?;
            for (k, v) in staged {
                match v {
                    Some(v) => model.insert(k, v),
                    None => model.remove(&k),
                };
            }
        }
        55..80 => {
            let got = db.get(&k).context("get")?;
            if got.as_ref() != model.get(&k) {
                bail!(
                    "get {}: the database has {:?}, the model {:?}",
                    String::from_utf8_lossy(&k),
                    got.map(|v| v.len()),
                    model.get(&k).map(Vec::len)
                );
            }
            shared.checks.fetch_add(1, Ordering::Relaxed);
        }
        80..88 => scan_check(db, model, rng, args, t, shared)?,
        88..92 => {
            let snap = db.snapshot().context("snapshot")?;
            // Change some keys, then read them at the snapshot: each must show the value it
            // had when the snapshot was taken.
            let mut frozen = Vec::new();
            for _ in 0..8 {
                let k = key(t, rng.random_range(0..args.keys));
                let v = value(rng, args.max_value_size, tag);
                frozen.push((k.clone(), model.get(&k).cloned()));
                db.put(&k, &v).context("put")?;
                model.insert(k, v);
            }
            // A key written twice above must show its value from before the first write.
            frozen.reverse();
            let before: BTreeMap<_, _> = frozen.into_iter().collect();
            for (k, want) in before {
                let got = snap.get(&k).context("snapshot get")?;
                if got != want {
                    bail!(
                        "snapshot get {}: a later write shows through",
                        String::from_utf8_lossy(&k)
                    );
                }
            }
            shared.checks.fetch_add(1, Ordering::Relaxed);
        }
        _ => {
            // Read-modify-write in a transaction: only this thread writes these keys, so
            // the commit cannot conflict.
            let txn = db.transaction().context("transaction")?;
            let old = txn.get(&k).context("txn get")?;
            if old.as_ref() != model.get(&k) {
                bail!(
                    "transaction get {}: differs from the model",
                    String::from_utf8_lossy(&k)
                );
            }
            let mut v = old.unwrap_or_default();
            v.truncate(args.max_value_size.saturating_sub(1));
            v.push(b'+');
            txn.put(&k, &v).context("txn put")?;
            if txn.get(&k).context("txn get")?.as_ref() != Some(&v) {
                bail!("transaction does not read its own write");
            }
            txn.commit().context("commit")?;
            model.insert(k, v);
        }
    }
    Ok(())
}

fn scan_check(
    db: &Db,
    model: &Model,
    rng: &mut Xoshiro256PlusPlus,
    args: &StressArgs,
    t: u64,
    shared: &Shared,
) -> Result<()> {
    let a = rng.random_range(0..args.keys);
    let b = (a + rng.random_range(1..200)).min(args.keys);
    let (lo, hi) = (key(t, a), key(t, b));
    let want: Vec<(&Vec<u8>, &Vec<u8>)> = model.range(lo.clone()..hi.clone()).collect();
    let mut it = db
        .iter(ReadOptions {
            lower_bound: Some(lo),
            upper_bound: Some(hi),
            ..Default::default()
        })
        .context("iter")?;
    let reverse = rng.random_bool(0.5);
    let mut got = Vec::new();
    if reverse {
        it.seek_to_last();
    } else {
        it.seek_to_first();
    }
    while it.valid() {
        got.push((it.key().to_vec(), it.value().to_vec()));
        if reverse {
            it.prev();
        } else {
            it.next();
        }
    }
    it.status().context("scan")?;
    if reverse {
        got.reverse();
    }
    let same = got.len() == want.len()
        && got
            .iter()
            .zip(&want)
            .all(|((gk, gv), (wk, wv))| gk == *wk && gv == *wv);
    if !same {
        bail!(
            "{} scan of {} keys from {}: the database returned {} entries, the model has {}",
            if reverse { "reverse" } else { "forward" },
            b - a,
            a,
            got.len(),
            want.len()
        );
    }
    shared.checks.fetch_add(1, Ordering::Relaxed);
    Ok(())
}
