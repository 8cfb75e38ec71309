"""Errors: the exception hierarchy, open options, locks, use after close."""

from __future__ import annotations

import ast
import errno
import inspect
import os
import pathlib

import pytest

import kevo


def test_hierarchy() -> None:
    for cls in [
        kevo.IoError,
        kevo.CorruptionError,
        kevo.InvalidArgumentError,
        kevo.LockedError,
        kevo.ClosedError,
        kevo.NotFoundError,
        kevo.BackgroundError,
        kevo.ForkError,
    ]:
        assert issubclass(cls, kevo.Error)
        assert cls.__module__ == "kevo"
        assert cls.__doc__
    assert issubclass(kevo.Error, Exception)
    assert issubclass(kevo.IoError, OSError)
    assert issubclass(kevo.InvalidArgumentError, ValueError)
    assert issubclass(kevo.NotFoundError, FileNotFoundError)
    assert issubclass(kevo.ForkError, RuntimeError)


def test_locked_in_the_same_process(path: pathlib.Path) -> None:
    db = kevo.open(path)
    with pytest.raises(kevo.LockedError) as e:
        kevo.open(path)
    assert str(path) in str(e.value.path)  # type: ignore[attr-defined]
    db.close()
    kevo.open(path).close()  # free again after close


def test_not_found(path: pathlib.Path) -> None:
    with pytest.raises(kevo.NotFoundError) as e:
        kevo.open(path, create_if_missing=False)
    assert e.value.errno == errno.ENOENT
    assert isinstance(e.value, FileNotFoundError)


def test_error_if_exists(path: pathlib.Path) -> None:
    kevo.open(path).close()
    with pytest.raises(kevo.InvalidArgumentError):
        kevo.open(path, error_if_exists=True)


def test_io_error(tmp_path: pathlib.Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"not a directory")
    with pytest.raises(kevo.Error) as e:
        kevo.open(blocker / "db")
    assert isinstance(e.value, (kevo.IoError, kevo.NotFoundError))
    assert isinstance(e.value, OSError)


def test_corruption(path: pathlib.Path) -> None:
    with kevo.open(path) as db:
        for i in range(1000):
            db[b"%04d" % i] = b"v" * 50
        db.flush()
    tables = sorted(p for p in path.iterdir() if p.suffix in (".sst", ".ldb"))
    assert tables, list(path.iterdir())
    data = bytearray(tables[0].read_bytes())
    for i in range(100, len(data) - 100, 97):
        data[i] ^= 0xFF
    tables[0].write_bytes(bytes(data))
    with pytest.raises(kevo.CorruptionError) as e:
        with kevo.open(path, block_cache_size=0) as db:
            for _ in db.items():
                pass
    assert e.value.file  # type: ignore[attr-defined]
    assert isinstance(e.value.offset, int)  # type: ignore[attr-defined]


def test_options_validation(path: pathlib.Path) -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'no_such_option'"):
        kevo.open(path, no_such_option=1)
    with pytest.raises(TypeError, match="memtable_size must be an int"):
        kevo.open(path, memtable_size="16MB")
    with pytest.raises(TypeError, match="must be a bool"):
        kevo.open(path, create_if_missing=1)
    with pytest.raises(kevo.InvalidArgumentError, match="memtable_size"):
        kevo.open(path, memtable_size=10)
    with pytest.raises(kevo.InvalidArgumentError, match=">= 0"):
        kevo.open(path, block_size=-1)
    with pytest.raises(kevo.InvalidArgumentError, match="sync_mode"):
        kevo.open(path, sync_mode="sometimes")
    with pytest.raises(kevo.InvalidArgumentError, match="batched"):
        kevo.open(path, sync_mode="batched")
    with pytest.raises(kevo.InvalidArgumentError, match="batched"):
        kevo.open(path, sync_bytes=100)
    with pytest.raises(kevo.InvalidArgumentError, match="compression"):
        kevo.open(path, compression="gzip")
    with pytest.raises(kevo.InvalidArgumentError, match="(?i)zstd"):
        kevo.open(path, compression="zstd", zstd_level=99)
    with pytest.raises(kevo.InvalidArgumentError, match="zstd_level"):
        kevo.open(path, zstd_level=5)
    with pytest.raises(kevo.InvalidArgumentError, match="compaction_style"):
        kevo.open(path, compaction_style="universal")
    assert not path.exists()


def test_every_option_accepted(path: pathlib.Path) -> None:
    opts = kevo.default_options()
    with kevo.open(path, **opts) as db:
        db[b"k"] = b"v"
    with kevo.open(
        path,
        sync_mode="batched",
        sync_bytes=1 << 20,
        sync_interval=0.5,
        compression="zstd",
        zstd_level=5,
        compaction_style="tiered",
        memtable_size=1 << 20,
        block_cache_size=0,
        cache_index_and_filter_blocks=True,
        max_background_compactions=2,
    ) as db:
        assert db[b"k"] == b"v"
    with kevo.open(path, sync_mode="always", compression="none") as db:
        db[b"k2"] = b"v"


def test_stub_defaults_are_the_engine_defaults() -> None:
    """The keywords and defaults written in the stub of open() are the engine's."""
    stub = pathlib.Path(kevo.__file__).with_suffix(".pyi").read_text()
    tree = ast.parse(stub)
    (fn,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "open"]
    names = [a.arg for a in fn.args.kwonlyargs]
    defaults = [ast.literal_eval(d) for d in fn.args.kw_defaults if d is not None]
    assert dict(zip(names, defaults)) == kevo.default_options()
    runtime = inspect.signature(kevo.open).parameters
    assert {n: p.default for n, p in runtime.items() if n != "path"} == kevo.default_options()


def test_use_after_close_raises(abc_db: kevo.DB) -> None:
    db = abc_db
    it = iter(db.items())
    cursor = db.iterator()
    cursor.seek_to_first()
    snap = db.snapshot()
    batch = db.write_batch()
    batch[b"x"] = b"1"
    db.close()
    db.close()  # idempotent
    assert db.closed
    calls = [
        lambda: db[b"a"],
        lambda: db.__setitem__(b"a", b"1"),
        lambda: db.__delitem__(b"a"),
        lambda: b"a" in db,
        lambda: len(db),
        lambda: bool(db),
        lambda: list(db),
        lambda: list(db.items()),
        lambda: db.get(b"a"),
        lambda: db.put(b"a", b"1"),
        lambda: db.delete(b"a"),
        lambda: db.flush(),
        lambda: db.compact_range(),
        lambda: db.stats(),
        lambda: db.property("kevo.stats"),
        lambda: db.snapshot(),
        lambda: db.write_batch(),
        lambda: db.iterator(),
        lambda: db.update({b"a": b"1"}),
        lambda: db.clear(),
        lambda: list(it),
        lambda: cursor.next(),
        lambda: cursor.valid(),
        lambda: cursor.key(),
        lambda: cursor.item(),
        lambda: next(cursor),
        lambda: cursor.seek(b"a"),
        lambda: snap[b"a"],
        lambda: list(snap.items()),
        lambda: batch.write(),
    ]
    for call in calls:
        with pytest.raises(kevo.ClosedError):
            call()
    with pytest.raises(kevo.ClosedError):
        with db:
            pass


def test_context_manager_closes(path: pathlib.Path) -> None:
    with kevo.open(path) as db:
        db[b"a"] = b"1"
    assert db.closed
    with pytest.raises(ValueError):
        with kevo.open(path) as db:
            raise ValueError("propagates")
    assert db.closed


def test_dropping_the_handle_closes(path: pathlib.Path) -> None:
    db = kevo.open(path)
    db[b"a"] = b"1"
    del db
    import gc

    gc.collect()
    with kevo.open(path) as db:  # not LockedError: the lock was released
        assert db[b"a"] == b"1"


def test_os_pathlike(path: pathlib.Path) -> None:
    with kevo.open(os.fspath(path)) as db:
        db[b"a"] = b"1"
    with kevo.DB(path) as db:
        assert db[b"a"] == b"1"
