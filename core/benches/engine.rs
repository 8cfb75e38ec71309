//! Criterion micro-benchmarks of the hot paths: memtable insert and lookup, and the
//! database's put and get on the real file system. `make bench` runs them; the end-to-end
//! db_bench workloads are `kevo bench`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kevo::key::ValueKind;
use kevo::memtable::MemTable;
use kevo::{Db, Options};

fn key(i: u64) -> [u8; 16] {
    let mut k = [b'0'; 16];
    let s = format!("{i:016}");
    k.copy_from_slice(s.as_bytes());
    k
}

/// A scrambled index so consecutive iterations touch unrelated keys, as db_bench's random
/// workloads do.
fn scramble(i: u64, n: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % n
}

fn memtable(c: &mut Criterion) {
    let n = 100_000u64;
    let value = [7u8; 100];
    let mut g = c.benchmark_group("memtable");
    g.throughput(Throughput::Elements(1));
    g.bench_function("add_random_into_100k", |b| {
        b.iter_batched_ref(
            || {
                let m = MemTable::new(1, 32 << 20);
                for i in 0..n {
                    m.add(i + 1, ValueKind::Put, &key(scramble(i, n)), &value);
                }
                (m, n)
            },
            |(m, seq)| {
                *seq += 1;
                m.add(*seq, ValueKind::Put, &key(scramble(*seq, 1 << 40)), &value);
            },
            BatchSize::NumIterations(10_000),
        )
    });
    let m = MemTable::new(1, 32 << 20);
    for i in 0..n {
        m.add(i + 1, ValueKind::Put, &key(scramble(i, n)), &value);
    }
    let mut i = 0u64;
    g.bench_function("get_present_of_100k", |b| {
        b.iter(|| {
            i += 1;
            black_box(m.get(&key(scramble(i, n)), u64::MAX >> 8))
        })
    });
    g.bench_function("get_absent_of_100k", |b| {
        b.iter(|| {
            i += 1;
            black_box(m.get(&key(n + scramble(i, n)), u64::MAX >> 8))
        })
    });
    g.finish();
}

fn db(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
    let value = [7u8; 100];
    let n = 200_000u64;
    for i in 0..n {
        db.put(&key(i), &value).unwrap();
    }
    db.flush().unwrap();
    let mut g = c.benchmark_group("db");
    g.throughput(Throughput::Elements(1));
    let mut i = 0u64;
    g.bench_function("put_random", |b| {
        b.iter(|| {
            i += 1;
            db.put(&key(scramble(i, n)), &value).unwrap()
        })
    });
    g.bench_function("get_random_200k", |b| {
        b.iter(|| {
            i += 1;
            black_box(db.get(&key(scramble(i, n))).unwrap())
        })
    });
    g.finish();
}

/// `multi_get` of 100 keys against a loop of 100 `get`s, over 200,000 entries in
/// SSTables: the same keys, counted per key (Throughput = 100 elements). Two key patterns:
/// random (scattered over every table) and a run of nearby keys (sharing data blocks).
fn multi_get(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let value = [7u8; 100];
    let n = 200_000u64;
    for i in 0..n {
        db.put(&key(i), &value).unwrap();
    }
    db.compact_range(None, None).unwrap();
    let mut g = c.benchmark_group("multi_get");
    g.throughput(Throughput::Elements(100));
    let mut round = 0u64;
    let random = |round: u64| -> Vec<[u8; 16]> {
        (0..100)
            .map(|j| key(scramble(round * 100 + j, n)))
            .collect()
    };
    let nearby = |round: u64| -> Vec<[u8; 16]> {
        let start = scramble(round, n - 400);
        (0..100).map(|j| key(start + 4 * (99 - j))).collect()
    };
    for (name, make) in [
        ("random", &random as &dyn Fn(u64) -> Vec<[u8; 16]>),
        ("nearby", &nearby),
    ] {
        g.bench_function(format!("get_loop_100_{name}"), |b| {
            b.iter_batched(
                || {
                    round += 1;
                    make(round)
                },
                |keys| {
                    for k in &keys {
                        black_box(db.get(k).unwrap());
                    }
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_function(format!("multi_get_100_{name}"), |b| {
            b.iter_batched(
                || {
                    round += 1;
                    make(round)
                },
                |keys| black_box(db.multi_get(&keys).unwrap()),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

/// Reads next to 1,000,000 deleted keys: deleted by one range tombstone (flushed to an L0
/// table above the still-present covered entries, the case where a read could degrade), by
/// 1,000,000 point tombstones, and not deleted at all (the baseline). A `get` just past the
/// range, and a 100-key scan that starts 50 keys before it and crosses it; the same after a
/// full compaction has applied the range tombstone (`range_compacted`); and the cost of the
/// `delete_range` call itself over 1,000,000 keys (O(1): one WAL record, one memtable entry).
fn range_delete(c: &mut Criterion) {
    let value = [7u8; 100];
    let n = 1_100_000u64;
    let (lo, hi) = (50_000u64, 1_050_000u64);
    let mut g = c.benchmark_group("range_delete");
    g.sample_size(30);
    for case in ["none", "range", "range_compacted", "points"] {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        for i in 0..n {
            db.put(&key(i), &value).unwrap();
        }
        db.compact_range(None, None).unwrap();
        match case {
            "range" | "range_compacted" => db.delete_range(&key(lo), &key(hi)).unwrap(),
            "points" => {
                for i in lo..hi {
                    db.delete(&key(i)).unwrap();
                }
            }
            _ => {}
        }
        db.flush().unwrap();
        if case == "range_compacted" {
            db.compact_range(None, None).unwrap();
        }
        g.bench_function(format!("get_after_1m_deleted_{case}"), |b| {
            b.iter(|| black_box(db.get(&key(hi + 1)).unwrap()))
        });
        g.bench_function(format!("scan_100_across_1m_deleted_{case}"), |b| {
            b.iter(|| {
                let n = db
                    .scan(key(lo - 50)..)
                    .unwrap()
                    .take(100)
                    .map(|r| r.unwrap().0.len())
                    .sum::<usize>();
                black_box(n)
            })
        });
        if case == "none" {
            // Last on this database: every iteration adds a tombstone over the same keys.
            g.bench_function("delete_range_call_1m_keys", |b| {
                b.iter(|| db.delete_range(&key(lo), &key(hi)).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, memtable, db, multi_get, range_delete);
criterion_main!(benches);
