"""Range reads (start/stop/prefix/reverse), views, the raw cursor, snapshots and batches."""

from __future__ import annotations

import pytest

import kevo


def test_ranges(abc_db: kevo.DB) -> None:
    db = abc_db
    assert list(db.keys(start=b"b")) == [b"b", b"c", b"d", b"e"]
    assert list(db.keys(stop=b"c")) == [b"a", b"b"]
    assert list(db.keys(start=b"b", stop=b"d")) == [b"b", b"c"]
    assert list(db.keys(start=b"b", stop=b"d", reverse=True)) == [b"c", b"b"]
    assert list(db.keys(reverse=True)) == [b"e", b"d", b"c", b"b", b"a"]
    assert list(db.values(start=b"d")) == [b"D", b"E"]
    assert list(db.items(start=b"d", reverse=True)) == [(b"e", b"E"), (b"d", b"D")]
    assert list(db.keys(start=b"x")) == []
    assert list(db.keys(start=b"c", stop=b"a")) == []
    assert list(db.keys(start=bytearray(b"b"), stop=memoryview(b"c"))) == [b"b"]
    with pytest.raises(TypeError):
        db.keys(start="b")  # type: ignore[arg-type]


def test_range_arguments_are_keyword_only_as_a_dicts_views_take_none(db: kevo.DB) -> None:
    # dict.items(None) raises TypeError; so do the views of a kevo mapping, instead of
    # reading a positional None as an unbounded start.
    db[b"a"] = b"A"
    for view in (db.keys, db.values, db.items):
        with pytest.raises(TypeError):
            view(None)  # type: ignore[misc]
        with pytest.raises(TypeError):
            view(b"a", b"b")  # type: ignore[misc]
    with db.snapshot() as snap, pytest.raises(TypeError):
        snap.items(None)  # type: ignore[misc]


def test_prefix(db: kevo.DB) -> None:
    for k in [b"FR/Lyon", b"FR/Paris", b"FRX", b"NZ/Auckland", b"F"]:
        db[k] = b"1"
    assert list(db.keys(prefix=b"FR/")) == [b"FR/Lyon", b"FR/Paris"]
    assert list(db.keys(prefix=b"FR/", reverse=True)) == [b"FR/Paris", b"FR/Lyon"]
    assert list(db.keys(start=b"FR/M", prefix=b"FR/")) == [b"FR/Paris"]
    assert len(db.items(prefix=b"FR")) == 3
    assert list(db.keys(prefix=b"ZZ")) == []


def test_views(abc_db: kevo.DB) -> None:
    keys = abc_db.keys(start=b"b", stop=b"e")
    assert len(keys) == 3
    assert b"c" in keys and b"a" not in keys and b"e" not in keys and b"zz" not in keys
    assert list(reversed(keys)) == [b"d", b"c", b"b"]
    assert keys & {b"a", b"b"} == {b"b"}
    items = abc_db.items()
    assert (b"a", b"A") in items and (b"a", b"B") not in items and (b"q", b"Q") not in items
    assert "x" not in items
    values = abc_db.values(prefix=b"c")
    assert b"C" in values and b"A" not in values and len(values) == 1
    # Views are live.
    abc_db[b"bb"] = b"BB"
    assert len(keys) == 4
    assert "KeysView(start=b'b', stop=b'e')" == repr(keys)


def test_iterator_is_chunked_and_long(db: kevo.DB) -> None:
    n = 5000
    with db.write_batch() as b:
        for i in range(n):
            b[b"%05d" % i] = b"%d" % i
    assert [k for k in db] == [b"%05d" % i for i in range(n)]
    assert [v for v in db.values(reverse=True)] == [b"%d" % i for i in reversed(range(n))]
    db.flush()
    assert sum(1 for _ in db.items()) == n


def test_iterators_are_consistent_while_writing(abc_db: kevo.DB) -> None:
    it = iter(abc_db.keys())
    assert next(it) == b"a"
    abc_db[b"aa"] = b"x"
    del abc_db[b"e"]
    # The iterator reads the database as of its creation.
    assert list(it) == [b"b", b"c", b"d", b"e"]


def test_cursor(abc_db: kevo.DB) -> None:
    c = abc_db.iterator()
    assert not c.valid()
    with pytest.raises(ValueError):
        c.key()
    c.seek(b"bb")
    assert c.valid() and c.key() == b"c" and c.value() == b"C" and c.item() == (b"c", b"C")
    c.next()
    assert c.key() == b"d"
    c.prev()
    c.prev()
    assert c.key() == b"b"
    c.seek_for_prev(b"bb")
    assert c.key() == b"b"
    c.seek_to_last()
    assert c.key() == b"e"
    c.next()
    assert not c.valid()
    with pytest.raises(ValueError):
        c.next()
    c.seek_to_first()
    assert c.key() == b"a"
    c.prev()
    assert not c.valid()
    c.seek(b"zz")
    assert not c.valid()


def test_cursor_iteration(abc_db: kevo.DB) -> None:
    assert list(abc_db.iterator()) == list(abc_db.items())
    assert [k for k, _ in abc_db.iterator(reverse=True)] == [b"e", b"d", b"c", b"b", b"a"]
    c = abc_db.iterator(b"b", b"e")
    c.seek(b"c")
    assert [k for k, _ in c] == [b"c", b"d"]
    c = abc_db.iterator(prefix=b"d")
    assert list(c) == [(b"d", b"D")]
    c = abc_db.iterator(reverse=True)
    c.seek_for_prev(b"c")
    assert [k for k, _ in c] == [b"c", b"b", b"a"]


def test_snapshot_isolation(abc_db: kevo.DB) -> None:
    db = abc_db
    with db.snapshot() as snap:
        db[b"a"] = b"changed"
        del db[b"b"]
        db[b"f"] = b"F"
        assert snap[b"a"] == b"A"
        assert b"b" in snap and b"f" not in snap
        assert snap.get(b"f") is None and snap.get(b"f", 1) == 1
        with pytest.raises(KeyError):
            snap[b"f"]
        assert len(snap) == 5 and bool(snap)
        assert list(snap) == [b"a", b"b", b"c", b"d", b"e"]
        assert list(snap.keys(start=b"b", reverse=True)) == [b"e", b"d", b"c", b"b"]
        assert list(snap.items(prefix=b"a")) == [(b"a", b"A")]
        c = snap.iterator()
        c.seek(b"b")
        assert c.key() == b"b"
        assert snap.sequence > 0
        assert dict(snap) != dict(db)
        db.flush()
        db.compact_range()
        assert snap[b"a"] == b"A"
    with pytest.raises(kevo.ClosedError):
        snap[b"a"]
    snap.release()  # idempotent


def test_write_batch_atomic_and_discarded_on_error(db: kevo.DB) -> None:
    with db.write_batch() as b:
        b[b"a"] = b"1"
        b.put(b"b", b"2")
        b.delete(b"b")
        del b[b"c"]
        assert len(b) == 4 and b.size_in_bytes > 12
        assert b"a" not in db  # nothing written before the block ends
    assert dict(db) == {b"a": b"1"}
    with pytest.raises(RuntimeError):
        with db.write_batch() as b:
            b[b"x"] = b"1"
            raise RuntimeError("boom")
    assert b"x" not in db
    b = db.write_batch()
    b[b"y"] = b"1"
    b.clear()
    assert len(b) == 0
    b[b"z"] = b"1"
    b.write()
    assert len(b) == 0 and db[b"z"] == b"1"
    with pytest.raises(kevo.InvalidArgumentError):
        b[b""] = b"1"
    with pytest.raises(TypeError):
        b["s"] = b"1"  # type: ignore[index]
    assert "WriteBatch" in repr(b)


def test_flush_compact_stats_property(db: kevo.DB) -> None:
    for i in range(2000):
        db[b"%05d" % i] = b"v" * 100
    db.flush()
    db.compact_range(b"00000", b"01000")
    db.compact_range()
    db.sync_wal()
    s = db.stats()
    assert s["flush_count"] >= 1
    assert s["user_bytes_written"] > 200_000
    assert isinstance(s["write_amplification"], float)
    assert isinstance(s["levels"], list) and {"files", "bytes"} <= set(s["levels"][0])
    assert sum(level["files"] for level in s["levels"]) >= 1
    text = db.property("kevo.stats")
    assert isinstance(text, str) and text
    assert db.property("no.such.property") is None
    assert len(db) == 2000
