"""kevo.dbm: the standard library's dbm interface, its flags and errors, and shelve on it."""

import pathlib
import shelve

import pytest

import kevo
import kevo.dbm


def test_create_read_write_and_the_mapping_protocol(path: pathlib.Path) -> None:
    with kevo.dbm.open(str(path), "c") as db:
        db["name"] = "Zoë"
        db[b"bin\x00"] = b"\xff"
        assert db["name"] == "Zoë".encode()
        assert db[b"name"] == "Zoë".encode()
        assert "name" in db and b"bin\x00" in db and "other" not in db and 5 not in db
        assert db.keys() == [b"bin\x00", b"name"]
        assert list(db) == [b"bin\x00", b"name"]
        assert len(db) == 2
        assert db.get("missing") is None and db.get("missing", b"d") == b"d"
        assert db.setdefault("fresh", "v") == b"v" and db["fresh"] == b"v"
        del db["fresh"]
        with pytest.raises(KeyError):
            db["fresh"]
        with pytest.raises(KeyError):
            del db["fresh"]
        with pytest.raises(TypeError):
            db["k"] = 5  # type: ignore[assignment]
        db.sync()
    # Reopened for writing: the data is there.
    with kevo.dbm.open(path, "w") as db:
        assert db["name"] == "Zoë".encode()


def test_flags(path: pathlib.Path) -> None:
    with pytest.raises(kevo.dbm.error):
        kevo.dbm.open(path, "r")
    with pytest.raises(kevo.dbm.error):
        kevo.dbm.open(path, "w")
    for bad in ("x", "", "rw", "cz"):
        with pytest.raises(ValueError):
            kevo.dbm.open(path, bad)
    with kevo.dbm.open(path, "cf") as db:
        db["a"] = "1"
        db["b"] = "2"
    with kevo.dbm.open(path, "n") as db:
        assert len(db) == 0
        db["c"] = "3"
    with kevo.dbm.open(path) as db:  # 'r' by default
        assert db.keys() == [b"c"]
        with pytest.raises(kevo.dbm.error):
            db["d"] = "4"
        with pytest.raises(kevo.dbm.error):
            del db["c"]


def test_a_reader_beside_a_live_writer(path: pathlib.Path) -> None:
    with kevo.dbm.open(path, "c") as writer:
        writer["k"] = "v"
        with kevo.dbm.open(path, "r") as reader:
            assert reader["k"] == b"v"
        # A second writer is refused.
        with pytest.raises(kevo.dbm.error):
            kevo.dbm.open(path, "w")


def test_error_is_a_kevo_error_and_an_os_error_and_use_after_close(path: pathlib.Path) -> None:
    assert issubclass(kevo.dbm.error, kevo.Error)
    assert issubclass(kevo.dbm.error, OSError)
    db = kevo.dbm.open(path, "c")
    db.close()
    db.close()
    for op in (lambda: db["a"], lambda: db.keys(), lambda: len(db), lambda: "a" in db):
        with pytest.raises(kevo.dbm.error):
            op()


def test_shelve_runs_on_kevo_dbm(path: pathlib.Path) -> None:
    with shelve.Shelf(kevo.dbm.open(path, "c")) as shelf:
        shelf["config"] = {"retries": 3, "hosts": ["a", "b"]}
        shelf["n"] = 42
    with shelve.Shelf(kevo.dbm.open(path, "r")) as shelf:
        assert shelf["config"] == {"retries": 3, "hosts": ["a", "b"]}
        assert sorted(shelf) == ["config", "n"]
        assert len(shelf) == 2
