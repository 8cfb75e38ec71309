//! The workload of examples-c/bench.c through the Rust API, with the same generator, so the
//! two give the cost of the C ABI: N random-key puts, then N random-key gets (twice, as
//! bench.c does for `kevo_get_into` and `kevo_get`). `make bench-c` runs both.
//!
//!     cargo run --release -p kevo-ffi --example bench_rust -- [N [OPS [DB_DIR]]]
//!
//! N (default 1000000) is the key space, OPS (default N) the operations per phase.

use std::time::Instant;

const POOL: usize = 1 << 20;
const VALUE: usize = 100;

/// splitmix64, as in bench.c.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn fill_key(key: &mut [u8; 16], mut k: u64) {
    for b in key.iter_mut().rev() {
        *b = b'0' + (k % 10) as u8;
        k /= 10;
    }
}

/// CPU time of this thread, in seconds (as bench.c's `cpu()`).
fn cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

fn main() -> kevo::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().map_or(1_000_000, |a| a.parse().expect("N"));
    let ops: u64 = args.next().map_or(n, |a| a.parse().expect("OPS"));
    let tmp = tempfile::Builder::new()
        .prefix("kevo-bench-rust-")
        .tempdir()
        .unwrap();
    let path = args.next().map_or(tmp.path().to_path_buf(), Into::into);

    let mut rng = Rng(42);
    let mut pool = vec![0u8; POOL];
    for i in (0..POOL).step_by(100) {
        for j in 0..50 {
            if i + j + 50 < POOL {
                let b = b' ' + (rng.next() % 95) as u8;
                pool[i + j] = b;
                pool[i + j + 50] = b;
            }
        }
    }

    let db = kevo::Db::open(&path, kevo::Options::default())?;
    let mut key = [0u8; 16];

    let (t0, c0) = (Instant::now(), cpu());
    for i in 0..ops {
        fill_key(&mut key, rng.next() % n);
        let off = (i as usize * VALUE) % (POOL - VALUE);
        db.put(&key, &pool[off..off + VALUE])?;
    }
    let (put_s, put_cpu) = (t0.elapsed().as_secs_f64(), cpu() - c0);

    let mut found = 0u64;
    let (t0, c0) = (Instant::now(), cpu());
    for _ in 0..ops {
        fill_key(&mut key, rng.next() % n);
        if db.get(&key)?.is_some() {
            found += 1;
        }
    }
    let (get_s, get_cpu) = (t0.elapsed().as_secs_f64(), cpu() - c0);
    let (t0, c0) = (Instant::now(), cpu());
    for _ in 0..ops {
        fill_key(&mut key, rng.next() % n);
        std::hint::black_box(db.get(&key)?);
    }
    let (get2_s, get2_cpu) = (t0.elapsed().as_secs_f64(), cpu() - c0);
    let ns = 1e9 / ops as f64;

    println!(
        "rust put         {:10.0} ops/s {:7.0} cpu-ns/op  (Db::put)",
        ops as f64 / put_s,
        put_cpu * ns
    );
    println!(
        "rust get pass 1  {:10.0} ops/s {:7.0} cpu-ns/op  (Db::get; found {found} of {ops})",
        ops as f64 / get_s,
        get_cpu * ns
    );
    println!(
        "rust get pass 2  {:10.0} ops/s {:7.0} cpu-ns/op  (Db::get)",
        ops as f64 / get2_s,
        get2_cpu * ns
    );
    db.close()
}
