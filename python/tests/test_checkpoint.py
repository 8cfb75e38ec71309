"""DB.checkpoint: a consistent copy of an open database, beside its writer."""

import os
import threading

import pytest

import kevo


def test_checkpoint_holds_what_was_written_before_the_call(tmp_path):
    db = kevo.open(tmp_path / "db")
    for i in range(2000):
        db[b"k%05d" % i] = b"v%d" % i
    db.flush()
    db[b"in-wal"] = b"1"
    info = db.checkpoint(tmp_path / "copy")
    assert info["tables_linked"] >= 1
    assert info["wal_segments"] >= 1
    assert info["bytes_copied"] > 0 and info["seconds"] >= 0
    db[b"after"] = b"2"
    db.close()
    with kevo.open(tmp_path / "copy") as c:
        assert len(c) == 2001
        assert c[b"in-wal"] == b"1"
        assert b"after" not in c


def test_checkpoint_under_a_writer_thread_is_a_prefix(tmp_path):
    db = kevo.open(tmp_path / "db", memtable_size=16 << 10)
    acked = [0]
    stop = threading.Event()

    def write():
        i = 0
        while not stop.is_set():
            db[b"k%08d" % i] = b"x"
            i += 1
            acked[0] = i

    t = threading.Thread(target=write)
    t.start()
    try:
        while acked[0] < 1000:
            pass
        before = acked[0]
        db.checkpoint(str(tmp_path / "copy"))
    finally:
        stop.set()
        t.join()
    db.close()
    with kevo.open(tmp_path / "copy") as c:
        keys = list(c.keys())
    assert keys == [b"k%08d" % i for i in range(len(keys))]
    assert len(keys) >= before


def test_non_empty_directory_is_refused_untouched(tmp_path):
    db = kevo.open(tmp_path / "db")
    target = tmp_path / "busy"
    target.mkdir()
    (target / "mine.txt").write_text("keep")
    with pytest.raises(kevo.InvalidArgumentError, match="not empty"):
        db.checkpoint(target)
    assert os.listdir(target) == ["mine.txt"]
    db.close()
    with pytest.raises(kevo.ClosedError):
        db.checkpoint(tmp_path / "later")
