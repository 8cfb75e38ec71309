//! Concurrency: readers see exactly one consistent state while writers, flushes and
//! compactions run.
//!
//! Two writer threads each own a set of *groups* of ten keys (`g<w>_<gg>/0` .. `/9`). Batch
//! number `i` of writer `w` either sets every key of one group to the same value (`i`, zero
//! padded, plus filler so memtables fill quickly) or deletes the whole group, and in the same
//! batch sets the writer's marker `m/<w>` to `i`. Which group batch `i` touches, and whether
//! it deletes, is a pure function of `(w, i)`, so a reader can check any view against it:
//!
//! - atomicity: each group is either absent or all ten keys carry one value;
//! - no future and no lost writes: with the marker at `n`, every group of the writer holds a
//!   value `<= n`, and the group batch `n` touched is exactly in batch `n`'s state;
//! - monotonicity: a later view never shows a group at an older value than an earlier view
//!   of the same reader did (compaction must not resurrect an overwritten version);
//! - stability: the same snapshot read again later — after more writes, flushes and
//!   compactions — returns identical results, through iterators, bounded/prefix iterators,
//!   `Snapshot::get` and `Db::get_opt`; an iterator scanned forward and backward gives the
//!   same entries; `seek`/`seek_for_prev` agree with the scan.
//!
//! Memtables are 64 KiB, files small and L0 compacts at two files, so flushes and
//! compactions happen all the time; a sixth thread also calls `flush` (and, in the full
//! scenario, `compact_range`). Three tests: plain iterators only, and the full scenario with
//! long-lived snapshots and `compact_range` under leveled and under tiered compaction. Each
//! runs 4 seconds; set `KEVO_CONCURRENCY_SECS` for longer runs.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use kevo::{CompactionStyle, Db, DbIterator, Options, ReadOptions, Snapshot, WriteBatch};

const WRITERS: u64 = 2;
const READERS: usize = 3;
const GROUPS_PER_WRITER: u64 = 16;
const KEYS_PER_GROUP: u64 = 10;
/// Filler after the counter in every value: makes each batch ~1.3 KiB, so a 64 KiB memtable
/// fills in about fifty batches.
const FILLER: usize = 100;

type View = Vec<(Vec<u8>, Vec<u8>)>;

/// A deterministic hash (splitmix64), so readers can recompute what a batch did.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// What batch `i` (from 1) of writer `w` does: the group it touches, and whether it deletes
/// the group (one batch in eight) rather than setting it to `i`.
fn batch_effect(w: u64, i: u64) -> (u64, bool) {
    let h = mix(w << 48 ^ i);
    (h % GROUPS_PER_WRITER, (h >> 32).is_multiple_of(8))
}

fn group_prefix(w: u64, g: u64) -> String {
    format!("g{w}_{g:02}/")
}

fn marker_key(w: u64) -> Vec<u8> {
    format!("m/{w}").into_bytes()
}

fn value_of(i: u64) -> Vec<u8> {
    let mut v = format!("{i:012}").into_bytes();
    v.resize(12 + FILLER, b'.');
    v
}

/// The counter a value encodes.
fn counter(v: &[u8]) -> u64 {
    std::str::from_utf8(&v[..12.min(v.len())])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("malformed value {:?}", String::from_utf8_lossy(v)))
}

fn batch_for(w: u64, i: u64) -> WriteBatch {
    let (g, delete) = batch_effect(w, i);
    let mut b = WriteBatch::new();
    let v = value_of(i);
    for k in 0..KEYS_PER_GROUP {
        let key = format!("{}{k}", group_prefix(w, g)).into_bytes();
        if delete {
            b.delete(&key).unwrap();
        } else {
            b.put(&key, &v).unwrap();
        }
    }
    b.put(&marker_key(w), &value_of(i)).unwrap();
    b
}

/// A parsed view: per writer the marker, per group its one value (or absent).
#[derive(Debug, Default, PartialEq)]
struct State {
    markers: BTreeMap<u64, u64>,
    groups: BTreeMap<(u64, u64), u64>,
}

/// Checks `view` (a full scan, in key order) for every invariant that holds within one
/// consistent state, and returns that state. Panics with `what` and the details otherwise.
fn check_view(view: &View, what: &str) -> State {
    let st = check_groups(view, what);
    for w in 0..WRITERS {
        let n = st.markers.get(&w).copied().unwrap_or(0);
        for g in 0..GROUPS_PER_WRITER {
            if let Some(&c) = st.groups.get(&(w, g)) {
                assert!(c <= n, "{what}: group ({w},{g}) at {c} beyond marker {n}");
                assert_eq!(batch_effect(w, c), (g, false), "{what}: ({w},{g}) at {c}");
            }
        }
        if n > 0 {
            let (g, delete) = batch_effect(w, n);
            let got = st.groups.get(&(w, g)).copied();
            let want = (!delete).then_some(n);
            assert_eq!(
                got, want,
                "{what}: marker {w} at {n} but its group ({w},{g})"
            );
        }
    }
    st
}

/// Checks the invariants that hold for any part of one consistent state: keys in order,
/// every group in `view` whole, with one well-formed value. Returns the groups and markers
/// seen.
fn check_groups(view: &View, what: &str) -> State {
    for w in view.windows(2) {
        assert!(w[0].0 < w[1].0, "{what}: keys out of order or repeated");
    }
    let mut st = State::default();
    let mut counts: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    for (k, v) in view {
        let ks = std::str::from_utf8(k).expect("utf-8 key");
        if let Some(w) = ks.strip_prefix("m/") {
            st.markers.insert(w.parse().unwrap(), counter(v));
            continue;
        }
        let (grp, _) = ks.split_once('/').expect("group key");
        let (w, g) = grp[1..].split_once('_').expect("group key");
        let id = (w.parse().unwrap(), g.parse().unwrap());
        let c = counter(v);
        assert_eq!(v, &value_of(c), "{what}: bad value for {ks}");
        match st.groups.insert(id, c) {
            Some(prev) if prev != c => {
                panic!("{what}: group {grp} mixes values {prev} and {c} (torn batch)")
            }
            _ => {}
        }
        *counts.entry(id).or_default() += 1;
    }
    for (id, n) in &counts {
        assert_eq!(
            *n, KEYS_PER_GROUP,
            "{what}: group {id:?} has {n} keys of 10"
        );
    }
    st
}

/// `view` as `key=counter` strings: failure messages readers can read.
fn show(view: &[(Vec<u8>, Vec<u8>)]) -> Vec<String> {
    view.iter()
        .map(|(k, v)| format!("{}={}", String::from_utf8_lossy(k), counter(v)))
        .collect()
}

fn assert_same(got: &View, want: &View, what: &str) {
    if got != want {
        assert_eq!(show(got), show(want), "{what}");
        panic!("{what}: values differ beyond their counters");
    }
}

fn scan_forward(it: &mut DbIterator, what: &str) -> View {
    let mut v = Vec::new();
    it.seek_to_first();
    while it.valid() {
        v.push((it.key().to_vec(), it.value().to_vec()));
        it.next();
    }
    it.status()
        .unwrap_or_else(|e| panic!("{what}: forward scan: {e}"));
    v
}

fn scan_backward(it: &mut DbIterator, what: &str) -> View {
    let mut v = Vec::new();
    it.seek_to_last();
    while it.valid() {
        v.push((it.key().to_vec(), it.value().to_vec()));
        it.prev();
    }
    it.status()
        .unwrap_or_else(|e| panic!("{what}: backward scan: {e}"));
    v.reverse();
    v
}

/// Seeks, seeks-for-prev and zig-zags at random keys agree with `view`, the iterator's own
/// full scan.
fn check_seeks(it: &mut DbIterator, view: &View, rng: &mut u64, what: &str) {
    for _ in 0..8 {
        *rng = mix(*rng);
        let w = *rng % WRITERS;
        let g = (*rng >> 8) % GROUPS_PER_WRITER;
        let k = (*rng >> 16) % (KEYS_PER_GROUP + 1); // "/10" sorts between "/1" and "/2"
        let target = format!("{}{k}", group_prefix(w, g)).into_bytes();
        let at = view.partition_point(|(k, _)| k < &target);
        it.seek(&target);
        assert_eq!(
            it.valid().then(|| it.key().to_vec()),
            view.get(at).map(|e| e.0.clone()),
            "{what}: seek"
        );
        if it.valid() {
            assert_eq!(it.value(), &view[at].1[..], "{what}: seek value");
            // Zig-zag around the position.
            it.prev();
            assert_eq!(
                it.valid().then(|| it.key().to_vec()),
                at.checked_sub(1).map(|i| view[i].0.clone()),
                "{what}: prev after seek"
            );
            if it.valid() {
                it.next();
                assert_eq!(it.key(), &view[at].0[..], "{what}: next after prev");
            }
        }
        let before = view.partition_point(|(k, _)| k <= &target);
        it.seek_for_prev(&target);
        assert_eq!(
            it.valid().then(|| it.key().to_vec()),
            before.checked_sub(1).map(|i| view[i].0.clone()),
            "{what}: seek_for_prev"
        );
        if it.valid() {
            it.next();
            assert_eq!(
                it.valid().then(|| it.key().to_vec()),
                view.get(before).map(|e| e.0.clone()),
                "{what}: next after seek_for_prev"
            );
        }
        it.status().unwrap_or_else(|e| panic!("{what}: seeks: {e}"));
    }
}

/// Everything one snapshot must answer identically, every time it is asked.
fn read_snapshot(db: &Db, snap: &Snapshot, rng: &mut u64, what: &str) -> View {
    let mut it = snap.iter(ReadOptions::default()).unwrap();
    assert_eq!(it.sequence(), snap.sequence(), "{what}: iterator sequence");
    let view = scan_forward(&mut it, what);
    assert_same(
        &scan_backward(&mut it, what),
        &view,
        &format!("{what}: backward != forward"),
    );
    check_seeks(&mut it, &view, rng, what);

    // A prefix iterator and a bounded one over a random group show that group's entries of
    // the full view.
    *rng = mix(*rng);
    let (w, g) = (*rng % WRITERS, (*rng >> 8) % GROUPS_PER_WRITER);
    let prefix = group_prefix(w, g).into_bytes();
    let expect: View = view
        .iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .cloned()
        .collect();
    let mut it = snap
        .iter(ReadOptions {
            prefix: Some(prefix.clone()),
            ..Default::default()
        })
        .unwrap();
    assert_same(
        &scan_forward(&mut it, what),
        &expect,
        &format!("{what}: prefix scan"),
    );
    assert_same(
        &scan_backward(&mut it, what),
        &expect,
        &format!("{what}: prefix scan backward"),
    );
    let lo = [&prefix[..], b"3"].concat();
    let hi = [&prefix[..], b"7"].concat();
    let expect: View = view
        .iter()
        .filter(|(k, _)| k >= &lo && k < &hi)
        .cloned()
        .collect();
    let mut it = db
        .iter(ReadOptions {
            lower_bound: Some(lo),
            upper_bound: Some(hi),
            snapshot: Some(snap.clone()),
            ..Default::default()
        })
        .unwrap();
    assert_same(
        &scan_forward(&mut it, what),
        &expect,
        &format!("{what}: bounded scan"),
    );
    assert_same(
        &scan_backward(&mut it, what),
        &expect,
        &format!("{what}: bounded backward"),
    );

    // Point reads through the snapshot agree with the scan, present or not.
    for k in 0..KEYS_PER_GROUP {
        let key = [&prefix[..], k.to_string().as_bytes()].concat();
        let in_view = view.iter().find(|e| e.0 == key).map(|e| e.1.clone());
        let got = snap.get(&key).unwrap();
        assert_eq!(
            got.as_deref().map(counter),
            in_view.as_deref().map(counter),
            "{what}: Snapshot::get({}) disagrees with the scan",
            String::from_utf8_lossy(&key)
        );
        assert_eq!(got, in_view, "{what}: Snapshot::get value");
    }
    for w in 0..WRITERS {
        let key = marker_key(w);
        let in_view = view.iter().find(|e| e.0 == key).map(|e| e.1.clone());
        let read = ReadOptions {
            snapshot: Some(snap.clone()),
            ..Default::default()
        };
        let got = db.get_opt(&key, &read).unwrap();
        assert_eq!(
            got.as_deref().map(counter),
            in_view.as_deref().map(counter),
            "{what}: get_opt({}) disagrees with the scan",
            String::from_utf8_lossy(&key)
        );
        assert_eq!(got, in_view, "{what}: get_opt value");
    }
    view
}

#[derive(Default)]
struct Counts {
    batches: AtomicU64,
    views: AtomicU64,
    rereads: AtomicU64,
    maintenance: AtomicU64,
}

/// What a run exercises. The full scenario needs compaction to keep what live snapshots see
/// and `compact_range` to be safe next to background compactions.
#[derive(Debug, Clone, Copy)]
struct Scenario {
    /// Readers also take snapshots, keep them and read them again later.
    snapshots: bool,
    /// The maintenance thread also calls `compact_range` (else only `flush`).
    compact_range: bool,
    /// The compaction style.
    style: CompactionStyle,
}

fn reader(db: &Db, id: usize, sc: Scenario, stop: &AtomicBool, counts: &Counts) {
    let mut rng = mix(1000 + id as u64);
    // Newest counter seen per group: a later view must not go back.
    let mut newest: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    let mut newest_marker: BTreeMap<u64, u64> = BTreeMap::new();
    let mut kept: VecDeque<(Snapshot, View)> = VecDeque::new();
    let mut round = 0u64;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let what = format!("reader {id} round {round}");
        let st = if sc.snapshots && round.is_multiple_of(2) {
            // A snapshot: scanned now, kept, and read again in later rounds.
            let snap = db.snapshot().unwrap();
            let view = read_snapshot(db, &snap, &mut rng, &what);
            let st = check_view(&view, &what);
            kept.push_back((snap, view));
            if kept.len() > 4 {
                kept.pop_front();
            }
            st
        } else {
            // A plain iterator: it is its own snapshot, so both directions agree.
            let mut it = db.iter(ReadOptions::default()).unwrap();
            let view = scan_forward(&mut it, &what);
            let st = check_view(&view, &what);
            check_seeks(&mut it, &view, &mut rng, &what);
            assert_same(
                &scan_backward(&mut it, &what),
                &view,
                &format!("{what}: iterator changed between its scans"),
            );
            // A prefix iterator over one group (a newer state): the group is whole.
            rng = mix(rng);
            let prefix = group_prefix(rng % WRITERS, (rng >> 8) % GROUPS_PER_WRITER);
            let mut it = db
                .iter(ReadOptions {
                    prefix: Some(prefix.clone().into_bytes()),
                    ..Default::default()
                })
                .unwrap();
            let group = scan_forward(&mut it, &what);
            assert!(group.iter().all(|(k, _)| k.starts_with(prefix.as_bytes())));
            check_groups(&group, &format!("{what}, prefix {prefix}"));
            let n = group.len() as u64;
            assert!(
                n == 0 || n == KEYS_PER_GROUP,
                "{what}: {prefix} has {n} keys"
            );
            let back = scan_backward(&mut it, &what);
            assert_same(&back, &group, &format!("{what}: prefix {prefix} backward"));
            st
        };
        for (k, &c) in &st.groups {
            let old = newest.entry(*k).or_insert(c);
            assert!(c >= *old, "{what}: group {k:?} went back from {old} to {c}");
            *old = c;
        }
        for (w, &n) in &st.markers {
            let old = newest_marker.entry(*w).or_insert(n);
            assert!(n >= *old, "{what}: marker {w} went back from {old} to {n}");
            *old = n;
        }
        counts.views.fetch_add(1, Ordering::Relaxed);

        // Re-read one kept snapshot: nothing since may change what it shows.
        if !kept.is_empty() {
            rng = mix(rng);
            let (snap, view) = &kept[(rng % kept.len() as u64) as usize];
            let what = format!("{what}, re-reading snapshot at seq {}", snap.sequence());
            let again = read_snapshot(db, snap, &mut rng, &what);
            assert_same(&again, view, &format!("{what}: snapshot changed"));
            counts.rereads.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn writer(db: &Db, w: u64, stop: &AtomicBool, counts: &Counts) -> u64 {
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        db.write(&batch_for(w, i))
            .unwrap_or_else(|e| panic!("writer {w} batch {i}: {e}"));
        counts.batches.fetch_add(1, Ordering::Relaxed);
        if i % 64 == 0 {
            // Let readers and the background thread breathe on small machines.
            thread::yield_now();
        }
    }
    i
}

fn maintenance(db: &Db, sc: Scenario, stop: &AtomicBool, counts: &Counts) {
    let mut rng = mix(77);
    while !stop.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(40));
        rng = mix(rng);
        match if sc.compact_range { rng % 4 } else { 0 } {
            0 => db.flush().unwrap_or_else(|e| panic!("flush: {e}")),
            1 => db
                .compact_range(None, None)
                .unwrap_or_else(|e| panic!("compact_range(all): {e}")),
            _ => {
                // A key range of one writer's groups: a partial compaction.
                let w = (rng >> 8) % WRITERS;
                let lo = group_prefix(w, (rng >> 16) % GROUPS_PER_WRITER).into_bytes();
                let hi = group_prefix(w, GROUPS_PER_WRITER - 1).into_bytes();
                db.compact_range(Some(&lo), Some(&hi))
                    .unwrap_or_else(|e| panic!("compact_range(range): {e}"));
            }
        }
        counts.maintenance.fetch_add(1, Ordering::Relaxed);
    }
}

/// Writers, readers with plain iterators (each its own implicit snapshot), flushes and the
/// background compactions they trigger.
#[test]
fn iterators_see_one_consistent_state_during_writes_flushes_and_compactions() {
    run(Scenario {
        snapshots: false,
        compact_range: false,
        style: CompactionStyle::Leveled,
    });
}

/// The full scenario: also long-lived snapshots read again later, and `compact_range` calls,
/// with leveled compaction.
#[test]
fn snapshots_stay_stable_during_writes_flushes_and_compactions_leveled() {
    run(Scenario {
        snapshots: true,
        compact_range: true,
        style: CompactionStyle::Leveled,
    });
}

/// The full scenario with size-tiered compaction.
#[test]
fn snapshots_stay_stable_during_writes_flushes_and_compactions_tiered() {
    run(Scenario {
        snapshots: true,
        compact_range: true,
        style: CompactionStyle::Tiered,
    });
}

fn run(sc: Scenario) {
    let secs: u64 = std::env::var("KEVO_CONCURRENCY_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default()
        .compaction_style(sc.style)
        .max_background_compactions(2)
        .memtable_size(64 << 10)
        .l0_compaction_trigger(2)
        .target_file_size(16 << 10)
        .max_bytes_for_level_base(32 << 10);
    let db = Db::open(dir.path(), options).unwrap();
    let stop = AtomicBool::new(false);
    let counts = Counts::default();
    let start = Instant::now();

    let finals = thread::scope(|s| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (db, stop, counts) = (&db, &stop, &counts);
                s.spawn(move || writer(db, w, stop, counts))
            })
            .collect();
        let readers: Vec<_> = (0..READERS)
            .map(|id| {
                let (db, stop, counts) = (&db, &stop, &counts);
                s.spawn(move || reader(db, id, sc, stop, counts))
            })
            .collect();
        let maint = s.spawn(|| maintenance(&db, sc, &stop, &counts));

        // Stop everyone as soon as one thread fails, so the failure is reported at once.
        let deadline = start + Duration::from_secs(secs);
        while Instant::now() < deadline {
            let all = writers.iter().map(|h| h.is_finished());
            let any_done = all
                .chain(readers.iter().map(|h| h.is_finished()))
                .any(|d| d)
                || maint.is_finished();
            if any_done {
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        stop.store(true, Ordering::Relaxed);
        let mut panics = Vec::new();
        let finals: Vec<u64> = writers
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|p| {
                    panics.push(p);
                    0
                })
            })
            .collect();
        for h in readers {
            if let Err(p) = h.join() {
                panics.push(p);
            }
        }
        if let Err(p) = maint.join() {
            panics.push(p);
        }
        if let Some(p) = panics.into_iter().next() {
            std::panic::resume_unwind(p);
        }
        finals
    });

    // The final state is exactly what replaying each writer's batches gives.
    let mut expect = State::default();
    for (w, &n) in finals.iter().enumerate() {
        let w = w as u64;
        if n > 0 {
            expect.markers.insert(w, n);
        }
        for i in 1..=n {
            let (g, delete) = batch_effect(w, i);
            if delete {
                expect.groups.remove(&(w, g));
            } else {
                expect.groups.insert((w, g), i);
            }
        }
    }
    let mut it = db.iter(ReadOptions::default()).unwrap();
    let view = scan_forward(&mut it, "final");
    assert_eq!(check_view(&view, "final"), expect, "final state");
    // Once more after moving everything down (where compact_range is exercised).
    if sc.compact_range {
        db.compact_range(None, None).unwrap();
    } else {
        db.flush().unwrap();
    }
    let mut it = db.iter(ReadOptions::default()).unwrap();
    assert_same(
        &scan_forward(&mut it, "final, compacted"),
        &view,
        "final, compacted",
    );

    let c = |a: &AtomicU64| a.load(Ordering::Relaxed);
    eprintln!(
        "concurrency {sc:?}: {:.1}s, {} batches, {} views, {} snapshot re-reads, {} flush/compact \
         calls, levels {:?}",
        start.elapsed().as_secs_f64(),
        c(&counts.batches),
        c(&counts.views),
        c(&counts.rereads),
        c(&counts.maintenance),
        db.level_file_counts(),
    );
    assert!(c(&counts.views) > 0 && c(&counts.batches) > 0);
    assert!(!sc.snapshots || c(&counts.rereads) > 0);
}
