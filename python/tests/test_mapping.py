"""DB as a MutableMapping: every dict method, with the Python data model's semantics."""

from __future__ import annotations

import collections.abc
import pathlib

import pytest

import kevo


def test_is_a_mutable_mapping(db: kevo.DB) -> None:
    assert isinstance(db, collections.abc.MutableMapping)
    assert isinstance(db, collections.abc.Mapping)
    assert isinstance(db.snapshot(), collections.abc.Mapping)
    assert not isinstance(db.snapshot(), collections.abc.MutableMapping)


def test_set_get_delete(db: kevo.DB) -> None:
    db[b"k"] = b"v"
    assert db[b"k"] == b"v"
    assert type(db[b"k"]) is bytes
    db[b"k"] = b"v2"
    assert db[b"k"] == b"v2"
    del db[b"k"]
    with pytest.raises(KeyError) as e:
        db[b"k"]
    assert e.value.args == (b"k",)
    with pytest.raises(KeyError):
        del db[b"k"]


def test_empty_value_is_a_value(db: kevo.DB) -> None:
    db[b"k"] = b""
    assert db[b"k"] == b""
    assert b"k" in db
    assert db.get(b"k") == b""


def test_buffer_types_in_bytes_out(db: kevo.DB) -> None:
    db[bytearray(b"ba")] = bytearray(b"1")
    db[memoryview(b"mv")] = memoryview(b"xx2yy")[2:3]
    assert db[b"ba"] == b"1" and type(db[b"ba"]) is bytes
    assert db[memoryview(b"mv")] == b"2"
    assert db[bytearray(b"mv")] == b"2"
    # A memoryview of another format is read as its raw bytes.
    import array

    db[b"arr"] = memoryview(array.array("H", [1]))
    assert db[b"arr"] == array.array("H", [1]).tobytes()


@pytest.mark.parametrize("bad", ["str", 1, 1.5, None, object(), [b"a"]])
def test_other_types_raise_type_error(db: kevo.DB, bad: object) -> None:
    msg = "bytes, bytearray or memoryview, not " + type(bad).__name__
    with pytest.raises(TypeError, match=msg):
        db[bad] = b"v"  # type: ignore[index]
    with pytest.raises(TypeError, match=msg):
        db[b"k"] = bad  # type: ignore[assignment]
    with pytest.raises(TypeError, match=msg):
        db[bad]  # type: ignore[index]
    with pytest.raises(TypeError, match=msg):
        bad in db
    with pytest.raises(TypeError, match=msg):
        db.get(bad)  # type: ignore[call-overload]


def test_contains_is_a_point_lookup(db: kevo.DB) -> None:
    db[b"a"] = b"1"
    assert b"a" in db
    assert b"b" not in db
    assert bytearray(b"a") in db
    # Keys the engine cannot hold are simply absent.
    assert b"" not in db
    assert b"x" * (kevo.MAX_KEY_SIZE + 1) not in db


def test_len_and_bool(db: kevo.DB) -> None:
    assert len(db) == 0 and not db and bool(db) is False
    for i in range(100):
        db[b"%03d" % i] = b"v"
    assert len(db) == 100 and db
    del db[b"050"]
    assert len(db) == 99
    db.flush()
    assert len(db) == 99


def test_iter_keys_in_order(db: kevo.DB) -> None:
    for k in [b"b", b"c", b"a", b"aa"]:
        db[k] = k.upper()
    assert list(db) == [b"a", b"aa", b"b", b"c"]
    assert list(db.keys()) == [b"a", b"aa", b"b", b"c"]
    assert list(db.values()) == [b"A", b"AA", b"B", b"C"]
    assert list(db.items()) == [(b"a", b"A"), (b"aa", b"AA"), (b"b", b"B"), (b"c", b"C")]
    assert sorted(db) == list(db)


def test_get_default(db: kevo.DB) -> None:
    db[b"a"] = b"1"
    assert db.get(b"a") == b"1"
    assert db.get(b"zz") is None
    assert db.get(b"zz", b"dflt") == b"dflt"
    assert db.get(b"", 7) == 7


def test_pop_popitem_setdefault(abc_db: kevo.DB) -> None:
    db = abc_db
    assert db.pop(b"a") == b"A"
    assert b"a" not in db
    with pytest.raises(KeyError):
        db.pop(b"a")
    assert db.pop(b"a", None) is None
    assert db.popitem() == (b"b", b"B")  # the smallest key
    assert db.setdefault(b"c", b"zz") == b"C"
    assert db.setdefault(b"new", b"N") == b"N"
    assert db[b"new"] == b"N"
    assert db.setdefault(b"new2") == b""
    db.clear()
    with pytest.raises(KeyError):
        db.popitem()


def test_update(db: kevo.DB) -> None:
    db.update({b"a": b"1", b"b": b"2"})
    db.update([(b"c", b"3")])
    db.update(collections.OrderedDict([(b"d", b"4")]))
    assert dict(db) == {b"a": b"1", b"b": b"2", b"c": b"3", b"d": b"4"}
    with pytest.raises(TypeError):
        db.update(x=b"1")
    # The batch is atomic: a bad entry writes nothing.
    with pytest.raises(TypeError):
        db.update([(b"e", b"5"), ("f", b"6")])
    assert b"e" not in db


def test_clear(db: kevo.DB) -> None:
    for i in range(25_000):
        db[b"%06d" % i] = b"v"
    db.clear()
    assert len(db) == 0 and not db


def test_eq_with_dict(abc_db: kevo.DB) -> None:
    d = {c.encode(): c.upper().encode() for c in "abcde"}
    assert abc_db == d
    assert d == abc_db
    assert not (abc_db != d)
    assert abc_db != {**d, b"f": b"F"}
    assert abc_db != {k: v for k, v in d.items() if k != b"a"}
    assert abc_db != {**d, b"a": b"x"}
    assert abc_db != {"a": "A"}
    assert abc_db != [1, 2]
    assert abc_db == abc_db
    with abc_db.snapshot() as snap:
        assert snap == abc_db
        assert snap == d


def test_unhashable(db: kevo.DB) -> None:
    with pytest.raises(TypeError):
        hash(db)


def test_put_delete_methods(db: kevo.DB) -> None:
    db.put(b"k", b"v")
    assert db[b"k"] == b"v"
    db.delete(b"k")
    db.delete(b"never-there")  # no error, unlike del
    assert b"k" not in db


def test_reopen_persists(path: pathlib.Path) -> None:
    with kevo.open(path) as db:
        db.update({b"%04d" % i: b"v%d" % i for i in range(1000)})
        db.flush()
        db[b"after-flush"] = b"wal"
    with kevo.DB(str(path)) as db:
        assert len(db) == 1001
        assert db[b"0999"] == b"v999"
        assert db[b"after-flush"] == b"wal"
        assert db.path == path


def test_repr(db: kevo.DB) -> None:
    assert "open" in repr(db)
    db.close()
    assert "closed" in repr(db)


def test_invalid_keys_and_values(db: kevo.DB) -> None:
    with pytest.raises(kevo.InvalidArgumentError):
        db[b""] = b"v"
    with pytest.raises(ValueError):
        db[b"x" * (kevo.MAX_KEY_SIZE + 1)] = b"v"
    with pytest.raises(KeyError):
        del db[b""]
    with pytest.raises(KeyError):
        db[b""]
