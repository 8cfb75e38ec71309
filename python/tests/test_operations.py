"""get_many (one consistent view, order, duplicates, absent and unstorable keys, snapshots,
transactions) and per-write durability keywords (sync, disable_wal)."""

import pathlib
import threading

import pytest

import kevo


def test_get_many_answers_in_order_with_duplicates_and_absent_keys(db: kevo.DB) -> None:
    db[b"b"] = b"2"
    db[b"a"] = b""
    got = db.get_many([b"b", b"zz", bytearray(b"a"), memoryview(b"b"), b"", b"x" * 70000])
    # An empty value is b"", not None; empty and oversized keys cannot be stored: None.
    assert got == [b"2", None, b"", b"2", None, None]
    assert db.get_many([]) == []
    assert db.get_many(iter([b"a"])) == [b""]


def test_get_many_rejects_a_single_key_and_non_bytes(db: kevo.DB) -> None:
    with pytest.raises(TypeError):
        db.get_many(b"ab")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        db.get_many(["a"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        db.get_many(5)  # type: ignore[arg-type]


def test_get_many_at_a_snapshot_and_in_a_transaction(db: kevo.DB) -> None:
    db[b"k"] = b"old"
    with db.snapshot() as snap:
        db[b"k"] = b"new"
        db[b"j"] = b"new"
        assert snap.get_many([b"k", b"j"]) == [b"old", None]
    with db.transaction() as txn:
        txn[b"j"] = b"mine"
        assert txn.get_many([b"j", b"k", b"q"]) == [b"mine", b"new", None]


def test_get_many_sees_one_view_under_a_concurrent_writer(db: kevo.DB) -> None:
    keys = [b"k%03d" % i for i in range(32)]
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            with db.write_batch() as batch:
                for k in keys:
                    batch[k] = b"%d" % n
            n += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        for _ in range(300):
            got = db.get_many(keys)
            assert len(set(got)) == 1, "get_many mixed two batches"
    finally:
        stop.set()
        t.join()


def test_get_many_after_close_raises_closed(path: pathlib.Path) -> None:
    d = kevo.open(path)
    d.close()
    with pytest.raises(kevo.ClosedError):
        d.get_many([b"a"])


def test_sync_and_disable_wal_keywords(db: kevo.DB) -> None:
    db.put(b"a", b"1", sync=True)
    db.put(b"b", b"2", disable_wal=True)
    db.delete(b"a", sync=True)
    assert db.get_many([b"a", b"b"]) == [None, b"2"]
    before = db.stats()["wal_bytes_written"]
    db.put(b"c", b"3", disable_wal=True)
    assert db.stats()["wal_bytes_written"] == before, "an unlogged write reached the WAL"
    with pytest.raises(kevo.InvalidArgumentError):
        db.put(b"d", b"4", sync=True, disable_wal=True)
    assert b"d" not in db
    batch = db.write_batch()
    batch[b"e"] = b"5"
    batch.write(sync=True)
    assert db[b"e"] == b"5"
    with pytest.raises(TypeError):
        db.put(b"f", b"6", True)  # type: ignore[misc]


def test_an_unlogged_write_is_lost_by_reopen_without_flush_but_kept_after_one(path: pathlib.Path) -> None:
    d = kevo.open(path)
    d.put(b"lost", b"x", disable_wal=True)
    d.put(b"kept", b"y")
    d.close()
    d = kevo.open(path)
    assert d.get_many([b"lost", b"kept"]) == [None, b"y"]
    d.put(b"flushed", b"z", disable_wal=True)
    d.flush()
    d.close()
    d = kevo.open(path)
    assert d[b"flushed"] == b"z"
    d.close()
