"""Summarises `make bench-c`: for put and each get pass, the median over the runs of the
wall-clock throughput and of the calling thread's CPU time per operation, for C and Rust,
and their ratios. Reads bench.c and bench_rust output on stdin."""

import re
import statistics
import sys

runs = {}
for line in sys.stdin:
    m = re.match(r"(c|rust)\s+(put|get pass \d)\s+(\d+) ops/s\s+(\d+) cpu-ns/op", line)
    if m:
        runs.setdefault((m[1], m[2]), []).append((int(m[3]), int(m[4])))

print(f"\nmedians over {len(runs.get(('c', 'put'), []))} interleaved runs:")
for op in ("put", "get pass 1", "get pass 2"):
    c, r = runs.get(("c", op)), runs.get(("rust", op))
    if c and r:
        wc, wr = (statistics.median(x[0] for x in v) for v in (c, r))
        cc, cr = (statistics.median(x[1] for x in v) for v in (c, r))
        print(
            f"  {op:<10}  wall: C {wc:7.0f} ops/s, Rust {wr:7.0f} ops/s, C/Rust {wc / wr:.3f}"
            f"   thread CPU: C {cc:5.0f} ns/op, Rust {cr:5.0f} ns/op, C/Rust {cc / cr:.3f}"
        )
