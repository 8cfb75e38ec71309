"""Lifetimes and concurrency: threads, close while iterating, fork, pickling."""

from __future__ import annotations

import copy
import os
import pathlib
import pickle
import sys
import threading
from typing import Any, Callable, List

import pytest

import kevo


def test_threads_read_and_write(db: kevo.DB) -> None:
    n_threads, n = 4, 2000
    errors: List[BaseException] = []

    def writer(t: int) -> None:
        try:
            for i in range(n):
                db[b"t%d/%05d" % (t, i)] = b"%d" % i
                if i % 500 == 0:
                    with db.write_batch() as b:
                        b[b"batch/%d/%d" % (t, i)] = b"x"
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    def reader(t: int) -> None:
        try:
            for i in range(n):
                v = db.get(b"t%d/%05d" % (t, i))
                assert v is None or v == b"%d" % i
                if i % 400 == 0:
                    keys = list(db.keys(prefix=b"t%d/" % t))
                    assert keys == sorted(keys)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(n_threads)]
    threads += [threading.Thread(target=reader, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    for t in range(n_threads):
        assert len(db.keys(prefix=b"t%d/" % t)) == n
    assert len(db.keys(prefix=b"batch/")) == n_threads * 4


def test_gil_is_released_during_engine_calls(db: kevo.DB) -> None:
    """The main thread runs Python while another thread is inside a long engine call.

    With a switch interval of minutes, the interpreter never takes the GIL from a thread
    that holds it, so the main thread can only run during the call if the call released it.
    """
    for i in range(20_000):
        db[b"%06d" % i] = b"v" * 100
    state = {"done": False}

    def compact() -> None:
        db.compact_range()
        state["done"] = True

    old = sys.getswitchinterval()
    sys.setswitchinterval(300.0)
    try:
        th = threading.Thread(target=compact)
        th.start()
        ran_during_call = not state["done"]
        th.join()
    finally:
        sys.setswitchinterval(old)
    assert ran_during_call


def test_close_while_iterating(abc_db: kevo.DB) -> None:
    it = iter(abc_db.items())
    assert next(it) == (b"a", b"A")
    abc_db.close()
    with pytest.raises(kevo.ClosedError):
        # Entries already read ahead are not handed out either.
        for _ in range(10):
            next(it)


def test_close_from_another_thread_while_iterating(path: pathlib.Path) -> None:
    db = kevo.open(path)
    with db.write_batch() as b:
        for i in range(50_000):
            b[b"%06d" % i] = b"v" * 20
    seen = 0
    with pytest.raises(kevo.ClosedError):
        for _ in db.keys():
            seen += 1
            if seen == 1000:
                threading.Thread(target=db.close).start()
    assert seen < 50_000


def test_iterator_keeps_database_alive(path: pathlib.Path) -> None:
    db = kevo.open(path)
    db[b"a"] = b"1"
    it = iter(db.items())
    del db
    assert list(it) == [(b"a", b"1")]


def test_snapshot_outlives_the_name(path: pathlib.Path) -> None:
    db = kevo.open(path)
    db[b"a"] = b"1"
    snap = db.snapshot()
    del db
    assert snap[b"a"] == b"1"
    snap.release()


@pytest.mark.parametrize(
    "make",
    [
        lambda db: db,
        lambda db: db.snapshot(),
        lambda db: db.write_batch(),
        lambda db: db.iterator(),
        lambda db: iter(db.keys()),
        lambda db: db.transaction(),
    ],
    ids=["db", "snapshot", "batch", "cursor", "iterator", "transaction"],
)
def test_handles_refuse_pickling(db: kevo.DB, make: Callable[[kevo.DB], Any]) -> None:
    handle = make(db)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(handle)
    with pytest.raises(TypeError, match="cannot be pickled"):
        copy.copy(handle)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
# Python 3.12+ warns that forking a multi-threaded process (the engine has background
# threads) is risky: that risk is exactly what ForkError guards against.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_fork_child_gets_fork_error(path: pathlib.Path) -> None:
    db = kevo.open(path)
    db[b"a"] = b"1"
    it = iter(db.keys())
    snap = db.snapshot()
    txn = db.transaction()
    txn[b"t"] = b"1"
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code
        code = 0
        try:
            for i, call in enumerate(
                [
                    lambda: db[b"a"],
                    lambda: db.__setitem__(b"b", b"2"),
                    lambda: list(it),
                    lambda: snap[b"a"],
                    lambda: txn[b"t"],
                    lambda: txn.commit(),
                    lambda: db.close(),
                ]
            ):
                try:
                    call()
                    code = 10 + i
                    break
                except kevo.ForkError as e:
                    if "after fork()" not in str(e) or not isinstance(e, RuntimeError):
                        code = 30 + i
                        break
            # Dropping the handles in the child must neither crash nor release the
            # parent's lock.
            del db, it, snap, txn
            import gc

            gc.collect()
        except BaseException:  # noqa: BLE001
            code = 99
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status), status
    assert os.WEXITSTATUS(status) == 0, os.WEXITSTATUS(status)
    # The parent's handles still work and it still holds the lock.
    assert db[b"a"] == b"1"
    txn.commit()
    assert db[b"t"] == b"1"
    with pytest.raises(kevo.LockedError):
        kevo.open(path)
    db.close()


def test_version() -> None:
    assert kevo.__version__ == "0.1.0"
    assert sys.modules["kevo._kevo"].__version__ == kevo.__version__


def test_abandoned_long_iterators(path: pathlib.Path) -> None:
    """Iterators dropped midway (past the point where a read-ahead thread takes over)
    neither hang nor keep the directory locked after close()."""
    db = kevo.open(path)
    with db.write_batch() as b:
        for i in range(20_000):
            b[b"%06d" % i] = b"v" * 30
    for reverse in (False, True):
        it = iter(db.items(reverse=reverse))
        for _ in range(5000):
            next(it)
        del it
    keep = iter(db.keys())
    for _ in range(3000):
        next(keep)
    db.close()
    with pytest.raises(kevo.ClosedError):
        next(keep)
    kevo.open(path).close()


def test_one_iterator_shared_by_threads_never_deadlocks(db: kevo.DB) -> None:
    """Iterators belong to one thread at a time: concurrent use raises RuntimeError
    (PyO3's borrow check) instead of blocking, and never corrupts what is handed out."""
    with db.write_batch() as b:
        for i in range(20_000):
            b[b"%06d" % i] = b"v"
    it = iter(db.keys())
    seen: List[bytes] = []
    unexpected: List[BaseException] = []

    def drain() -> None:
        while True:
            try:
                seen.append(next(it))
            except StopIteration:
                return
            except RuntimeError:
                continue
            except BaseException as e:  # noqa: BLE001
                unexpected.append(e)
                return

    threads = [threading.Thread(target=drain) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
        assert not th.is_alive()
    assert not unexpected, unexpected
    assert sorted(seen) == [b"%06d" % i for i in range(20_000)]
