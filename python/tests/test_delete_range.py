"""Range deletion from Python: DB.delete_range, del db[a:b], clear(), batches, transactions."""

import threading

import pytest

import kevo


def fill(db, n=1000):
    with db.write_batch() as b:
        for i in range(n):
            b[b"k%05d" % i] = b"v"


def test_delete_range_and_slices(tmp_path):
    db = kevo.open(tmp_path / "db")
    fill(db)
    db.flush()
    db.delete_range(b"k00100", b"k00900")
    assert b"k00099" in db and b"k00100" not in db and b"k00899" not in db
    assert b"k00900" in db
    assert len(db) == 200
    assert list(db.keys(start=b"k00098", stop=b"k00902")) == [b"k00098", b"k00099", b"k00900", b"k00901"]
    assert list(reversed(db.keys(start=b"k00098", stop=b"k00902")))[-1] == b"k00098"
    del db[b"k00950":]
    assert len(db) == 150 and max(db.keys()) == b"k00949"
    del db[:b"k00010"]
    assert min(db.keys()) == b"k00010"
    with pytest.raises(ValueError):
        del db[b"a":b"b":2]
    with pytest.raises(kevo.InvalidArgumentError):
        db.delete_range(b"b", b"a")
    with pytest.raises(TypeError):
        db.delete_range("not bytes", b"z")
    db.delete_range(b"x", b"x")  # empty range: nothing
    db.close()
    with kevo.open(tmp_path / "db") as db:
        assert len(db) == 140
    with pytest.raises(kevo.ClosedError):
        db.delete_range(b"a", b"b")


def test_clear_is_one_atomic_write(tmp_path):
    db = kevo.open(tmp_path / "db", memtable_size=64 << 10)
    fill(db, 20_000)
    seen = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            with db.snapshot() as s:
                seen.append(len(s))

    t = threading.Thread(target=count)
    t.start()
    snap = db.snapshot()
    db.clear()
    stop.set()
    t.join()
    assert len(db) == 0 and not db
    # Every reader saw all keys or none: never a part.
    assert set(seen) <= {0, 20_000}
    assert len(snap) == 20_000
    snap.release()
    db.close()


def test_batch_and_transaction_range_deletions(tmp_path):
    db = kevo.open(tmp_path / "db")
    fill(db, 10)
    with db.write_batch() as b:
        b.put(b"k00001", b"before")
        b.delete_range(b"k00000", b"k00005")
        b.put(b"k00002", b"after")
    assert sorted(db.keys()) == [b"k00002", b"k00005", b"k00006", b"k00007", b"k00008", b"k00009"]
    assert db[b"k00002"] == b"after"
    with db.transaction() as txn:
        txn.delete_range(b"k00006", b"k00009")
        assert b"k00007" not in txn
        assert list(txn.keys()) == [b"k00002", b"k00005", b"k00009"]
        assert b"k00007" in db
    assert list(db.keys()) == [b"k00002", b"k00005", b"k00009"]
    txn = db.transaction()
    txn.delete_range(b"k00000", b"k00003")
    db[b"k00001"] = b"concurrent"
    with pytest.raises(kevo.ConflictError):
        txn.commit()
    db.close()
