"""Read-only opens: beside a writer, in this process and another, refreshed, never writing."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import time

import pytest

import kevo


def listing(path: pathlib.Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in path.iterdir()}


def test_reader_beside_a_writer_sees_the_open_state_until_refresh(path: pathlib.Path) -> None:
    writer = kevo.open(path)
    writer[b"a"] = b"1"
    reader = kevo.open(path, read_only=True)
    assert reader.read_only and not writer.read_only
    # The writer's unflushed write is there: the reader replays the WAL tail.
    assert reader[b"a"] == b"1"
    writer[b"b"] = b"2"
    writer.flush()
    del writer[b"a"]
    assert dict(reader.items()) == {b"a": b"1"}
    reader.refresh()
    assert dict(reader.items()) == {b"b": b"2"}
    assert reader.get_many([b"a", b"b"]) == [None, b"2"]
    with pytest.raises(kevo.InvalidArgumentError):
        writer.refresh()
    reader.close()
    with pytest.raises(kevo.ClosedError):
        reader.refresh()
    writer.close()


def test_every_write_raises_read_only_error_and_no_file_changes(path: pathlib.Path) -> None:
    with kevo.open(path) as db:
        db.update({b"k%03d" % i: b"v" for i in range(100)})
    before = listing(path)
    time.sleep(0.02)
    with kevo.open(path, read_only=True) as db:
        assert len(db) == 100
        for write in (
            lambda: db.__setitem__(b"x", b"y"),
            lambda: db.__delitem__(b"k000"),
            lambda: db.put(b"x", b"y", sync=True),
            lambda: db.update({b"x": b"y"}),
            lambda: db.flush(),
            lambda: db.compact_range(),
        ):
            with pytest.raises(kevo.ReadOnlyError):
                write()
        with pytest.raises(kevo.ReadOnlyError):
            with db.write_batch() as b:
                b[b"x"] = b"y"
        txn = db.transaction()
        txn[b"x"] = b"y"
        with pytest.raises(kevo.ReadOnlyError):
            txn.commit()
        assert b"x" not in db and db[b"k000"] == b"v"
    assert listing(path) == before
    assert issubclass(kevo.ReadOnlyError, kevo.Error)


def test_read_only_open_never_creates_a_database(path: pathlib.Path) -> None:
    with pytest.raises(kevo.NotFoundError):
        kevo.open(path, read_only=True)
    assert not path.exists()
    assert kevo.default_options()["read_only"] is False


WRITER = r"""
import sys, kevo
db = kevo.open(sys.argv[1], memtable_size=16384, l0_compaction_trigger=2,
               target_file_size=32768, max_bytes_for_level_base=65536)
print("open", flush=True)
for i in range(int(sys.argv[2])):
    with db.write_batch() as b:
        b[b"s%03d" % (i % 50)] = b"%012d" % i
        b[b"n"] = b"%012d" % i
db.close()
print("done", flush=True)
"""


def test_reader_in_another_process_sees_prefixes_of_the_history(path: pathlib.Path) -> None:
    """A writer process flushing and compacting constantly; every refresh of the reader
    shows the state right after some write, and never goes back."""
    total = 20_000
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, os.fspath(path), str(total)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "open"
        reader = kevo.open(path, read_only=True)
        last = -1
        advanced = 0
        while True:
            done = child.poll() is not None
            reader.refresh()
            rows = dict(reader.items())
            if b"n" in rows:
                n = int(rows[b"n"])
                assert n >= last
                advanced += n > last
                last = n
                assert len(rows) == 1 + min(n + 1, 50)
                for s in range(min(n + 1, 50)):
                    i = n - ((n - s) % 50)
                    assert rows[b"s%03d" % s] == b"%012d" % i, (s, n)
            else:
                assert rows == {}
            if done:
                break
        assert child.wait() == 0
        assert last == total - 1
        assert advanced > 3
        reader.close()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
