"""Benchmark kevo against rocksdict (RocksDB) and plyvel (LevelDB) from Python.

Same workloads, same data, one run, each engine in its own temporary directory:

- ``put-seq``: ``N`` puts in key order;
- ``put-rand``: ``N`` puts in random order (a fresh database);
- ``get-rand``: ``N`` point lookups in random order (on the ``put-rand`` database);
- ``iter``: one forward pass over every ``(key, value)``, in items/s;
- ``batch``: ``N`` puts in write batches of 1,000 (a fresh database).

Keys are 16 bytes (``%016d`` of the index), values 100 bytes. Each engine runs with its
defaults, none of which fsyncs each write. Figures are operations per second; the last
column is kevo / the best peer. Run via ``make bench-python`` or
``python python/benchmarks/bench.py --num 1000000``.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import shutil
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Tuple

import kevo

VALUE_SIZE = 100
BATCH = 1000
WORKLOADS = ["put-seq", "put-rand", "get-rand", "iter", "batch"]


def make_data(n: int, seed: int) -> Tuple[List[bytes], List[bytes], List[bytes]]:
    """Keys in order, the same keys shuffled, and one value per key."""
    keys = [b"%016d" % i for i in range(n)]
    rnd = random.Random(seed)
    shuffled = keys[:]
    rnd.shuffle(shuffled)
    base = bytes(rnd.getrandbits(8) for _ in range(VALUE_SIZE + 256))
    values = [base[i % 256 : i % 256 + VALUE_SIZE] for i in range(n)]
    return keys, shuffled, values


class Engine:
    """One engine's open/put/get/iterate/batch, through its ordinary Python API."""

    name = ""
    db: Any

    def open(self, path: str) -> None:
        raise NotImplementedError

    def items(self) -> Any:
        return self.db.items()

    def batch_write(self, pairs: List[Tuple[bytes, bytes]]) -> None:
        with self.db.write_batch() as b:
            put = b.put
            for k, v in pairs:
                put(k, v)


class Kevo(Engine):
    name = "kevo"

    def open(self, path: str) -> None:
        self.db = kevo.open(path)


class RocksDict(Engine):
    name = "rocksdict"

    def open(self, path: str) -> None:
        import rocksdict

        self.mod = rocksdict
        self.db = rocksdict.Rdict(path, rocksdict.Options(raw_mode=True))

    def batch_write(self, pairs: List[Tuple[bytes, bytes]]) -> None:
        wb = self.mod.WriteBatch(raw_mode=True)
        put = wb.put
        for k, v in pairs:
            put(k, v)
        self.db.write(wb)


class Plyvel(Engine):
    name = "plyvel"

    def open(self, path: str) -> None:
        import plyvel

        self.db = plyvel.DB(path, create_if_missing=True)

    def items(self) -> Any:
        return self.db.iterator()


def timed(f: Callable[[], int]) -> float:
    """Operations per second of `f` (which returns its operation count)."""
    gc.collect()
    t0 = time.perf_counter()
    n = f()
    return n / (time.perf_counter() - t0)


def run(engine: Engine, root: str, keys: List[bytes], shuffled: List[bytes], values: List[bytes]) -> Dict[str, float]:
    """Every workload on `engine`; operations per second by workload."""
    n = len(keys)
    out: Dict[str, float] = {}

    def fresh(tag: str) -> str:
        d = os.path.join(root, f"{engine.name}-{tag}")
        shutil.rmtree(d, ignore_errors=True)
        return d

    engine.open(fresh("seq"))
    put = engine.db.put

    def put_seq() -> int:
        for k, v in zip(keys, values):
            put(k, v)
        return n

    out["put-seq"] = timed(put_seq)
    engine.db.close()

    engine.open(fresh("rand"))
    put = engine.db.put

    def put_rand() -> int:
        for k, v in zip(shuffled, values):
            put(k, v)
        return n

    out["put-rand"] = timed(put_rand)
    get = engine.db.get

    def get_rand() -> int:
        found = 0
        for k in shuffled:
            if get(k) is not None:
                found += 1
        assert found == n, (engine.name, found)
        return n

    out["get-rand"] = timed(get_rand)

    def iterate() -> int:
        count = 0
        for _k, _v in engine.items():
            count += 1
        assert count == n, (engine.name, count)
        return count

    out["iter"] = timed(iterate)
    engine.db.close()

    engine.open(fresh("batch"))
    pairs = list(zip(shuffled, values))

    def batch() -> int:
        for i in range(0, n, BATCH):
            engine.batch_write(pairs[i : i + BATCH])
        return n

    out["batch"] = timed(batch)
    engine.db.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--num", type=int, default=1_000_000, help="entries per workload (default 1,000,000)")
    ap.add_argument("--engines", default="kevo,rocksdict,plyvel", help="comma-separated engines to run")
    ap.add_argument("--seed", type=int, default=42, help="shuffle seed")
    ap.add_argument("--dir", default=None, help="parent of the temporary directories")
    args = ap.parse_args()

    available = {"kevo": Kevo, "rocksdict": RocksDict, "plyvel": Plyvel}
    engines: List[Engine] = []
    for name in args.engines.split(","):
        if name != "kevo":
            try:
                __import__(name)
            except ImportError:
                print(f"skipping {name}: not installed (make bench-python installs it)", file=sys.stderr)
                continue
        engines.append(available[name]())

    keys, shuffled, values = make_data(args.num, args.seed)
    print(f"{args.num:,} entries, keys 16 B, values {VALUE_SIZE} B, batches of {BATCH}; Python {sys.version.split()[0]}")
    results: Dict[str, Dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="kevo-bench-", dir=args.dir) as root:
        for e in engines:
            results[e.name] = run(e, root, keys, shuffled, values)

    names = [e.name for e in engines]
    peers = [n for n in names if n != "kevo"]
    header = f"{'workload':<10}" + "".join(f"{n:>14}" for n in names)
    if "kevo" in names and peers:
        header += f"{'kevo/best peer':>16}"
    print(header + "   (operations/s)")
    for w in WORKLOADS:
        row = f"{w:<10}" + "".join(f"{results[n][w]:>14,.0f}" for n in names)
        if "kevo" in names and peers:
            best = max(results[p][w] for p in peers)
            row += f"{results['kevo'][w] / best:>15.2f}x"
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
