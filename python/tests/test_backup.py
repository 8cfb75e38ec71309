"""kevo.BackupEngine: incremental backups of a live database, verified restores."""

from __future__ import annotations

import fcntl
import os
import pathlib
import pickle
import time
from typing import Any, Callable, Dict, Iterator, List, Set

import pytest

import kevo

# Small memtables make many SSTables; an L0 trigger above their number keeps compactions
# from rewriting them between two backups, so what the second one shares is deterministic.
SMALL: Dict[str, Any] = dict(
    memtable_size=16 << 10,
    l0_compaction_trigger=30,
    l0_slowdown_writes_trigger=30,
    l0_stop_writes_trigger=30,
)


def fill(db: kevo.DB, start: int, stop: int, tag: bytes = b"v") -> Dict[bytes, bytes]:
    """Writes keys ``start..stop`` one at a time (so that the memtable fills up several
    times), with 100-byte values that do not compress, and returns them."""
    written = {}
    for i in range(start, stop):
        key, value = b"k%06d" % i, tag + os.urandom(99)
        db[key] = value
        written[key] = value
    return written


def shared(backups: pathlib.Path) -> Dict[str, int]:
    """The files of ``backups/shared`` and their sizes."""
    d = backups / "shared"
    return {n: (d / n).stat().st_size for n in os.listdir(d)}


def contents(path: pathlib.Path) -> Dict[bytes, bytes]:
    """Every entry of the database at ``path``."""
    with kevo.open(path) as db:
        found = dict(db.items())
    return found


def table_numbers(names: Set[str]) -> Set[int]:
    """The table numbers of ``NNNNNN.sst`` or ``shared/NNNNNN_SIZE_HASH.sst`` names."""
    return {int(n.split("_")[0].split(".")[0]) for n in names if n.endswith(".sst")}


@pytest.fixture
def backups(tmp_path: pathlib.Path) -> Iterator[kevo.BackupEngine]:
    with kevo.BackupEngine(tmp_path / "BACKUP") as engine:
        yield engine


@pytest.fixture
def small_db(tmp_path: pathlib.Path) -> Iterator[kevo.DB]:
    with kevo.open(tmp_path / "db", **SMALL) as db:
        yield db


def test_two_backups_share_tables_and_restore(
    tmp_path: pathlib.Path, small_db: kevo.DB, backups: kevo.BackupEngine
) -> None:
    db = small_db
    expected = fill(db, 0, 1500)
    db.flush()
    db[b"in-wal"] = b"1"  # not flushed: restored from the backup's WAL
    expected[b"in-wal"] = b"1"
    before = int(time.time())
    first = backups.create_backup(db)
    after = int(time.time())
    tables = shared(backups.path)
    assert len(tables) >= 3, tables
    assert isinstance(first, kevo.BackupInfo)
    assert first.id == 1
    assert before <= first.timestamp <= after
    assert first.num_files > len(tables)  # also the manifest, CURRENT, the WAL
    assert first.files_reused == 0
    assert first.new_bytes == first.size >= sum(tables.values())
    assert isinstance(first.duration, float) and first.duration >= 0
    at_first = dict(expected)

    expected.update(fill(db, 1500, 1700, tag=b"w"))
    db.flush()
    second = backups.create_backup(db)
    assert second.id == 2
    assert second.files_reused == len(tables)
    # What it did not store again is exactly the first backup's tables.
    assert second.size - second.new_bytes == sum(tables.values())
    now = shared(backups.path)
    assert set(tables) < set(now)
    assert sum(now.values()) - sum(tables.values()) <= second.new_bytes

    assert backups.list_backups() == [first, second]
    assert hash(backups.list_backups()[0]) == hash(first)
    assert repr(second).startswith("BackupInfo(id=2, timestamp=")
    assert "files_reused=%d" % len(tables) in repr(second)
    backups.verify(1)
    backups.verify(2)

    db[b"after"] = b"not in any backup"
    backups.restore_latest(tmp_path / "latest")
    assert contents(tmp_path / "latest") == expected
    backups.restore(1, str(tmp_path / "first"))
    assert contents(tmp_path / "first") == at_first


def test_backup_of_a_read_only_database(tmp_path: pathlib.Path, backups: kevo.BackupEngine) -> None:
    with kevo.open(tmp_path / "db") as db:
        expected = fill(db, 0, 100)
        with kevo.open(tmp_path / "db", read_only=True) as reader:
            info = backups.create_backup(reader)
    backups.restore(info.id, tmp_path / "restored")
    assert contents(tmp_path / "restored") == expected


def test_flipped_byte_is_corruption_and_restores_nothing(
    tmp_path: pathlib.Path, small_db: kevo.DB, backups: kevo.BackupEngine
) -> None:
    fill(small_db, 0, 500)
    small_db.flush()
    backups.create_backup(small_db)
    victim = backups.path / "shared" / sorted(shared(backups.path))[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))

    with pytest.raises(kevo.CorruptionError) as e:
        backups.verify(1)
    assert str(victim) in str(e.value)
    assert e.value.file == str(victim)  # type: ignore[attr-defined]
    assert "xxh64" in e.value.detail  # type: ignore[attr-defined]
    target = tmp_path / "restored"
    with pytest.raises(kevo.CorruptionError):
        backups.restore(1, target)
    assert not target.exists()
    with pytest.raises(kevo.CorruptionError):
        backups.restore_latest(target)
    assert not target.exists()
    # An existing empty target is emptied again, and kept.
    target.mkdir()
    with pytest.raises(kevo.CorruptionError):
        backups.restore(1, target)
    assert os.listdir(target) == []


def test_missing_file_is_corruption(
    tmp_path: pathlib.Path, small_db: kevo.DB, backups: kevo.BackupEngine
) -> None:
    fill(small_db, 0, 300)
    small_db.flush()
    backups.create_backup(small_db)
    victim = backups.path / "shared" / sorted(shared(backups.path))[-1]
    victim.unlink()
    with pytest.raises(kevo.CorruptionError, match="missing"):
        backups.verify(1)
    with pytest.raises(kevo.CorruptionError):
        backups.restore(1, tmp_path / "restored")
    assert not (tmp_path / "restored").exists()


def test_missing_backup_is_not_found(
    tmp_path: pathlib.Path, db: kevo.DB, backups: kevo.BackupEngine
) -> None:
    with pytest.raises(kevo.NotFoundError):
        backups.restore_latest(tmp_path / "restored")
    backups.create_backup(db)
    calls: List[Callable[[], None]] = [
        lambda: backups.verify(7),
        lambda: backups.restore(7, tmp_path / "restored"),
        lambda: backups.delete_backup(7),
        lambda: backups.verify(0),
    ]
    for call in calls:
        with pytest.raises(kevo.NotFoundError) as e:
            call()
        assert isinstance(e.value, FileNotFoundError)
    assert not (tmp_path / "restored").exists()
    assert [b.id for b in backups.list_backups()] == [1]


def test_restore_into_a_non_empty_directory_is_refused_untouched(
    tmp_path: pathlib.Path, db: kevo.DB, backups: kevo.BackupEngine
) -> None:
    backups.create_backup(db)
    target = tmp_path / "busy"
    target.mkdir()
    (target / "mine.txt").write_text("keep")
    with pytest.raises(kevo.InvalidArgumentError, match="not empty"):
        backups.restore(1, target)
    with pytest.raises(ValueError):
        backups.restore_latest(target)
    assert os.listdir(target) == ["mine.txt"]


def test_delete_backup_then_list(
    tmp_path: pathlib.Path, small_db: kevo.DB, backups: kevo.BackupEngine
) -> None:
    db = small_db
    fill(db, 0, 800)
    db.flush()
    first = backups.create_backup(db)
    db.compact_range()  # the second backup's tables are (mostly) new ones
    expected = fill(db, 0, 900, tag=b"x")
    db.flush()
    second = backups.create_backup(db)
    third = backups.create_backup(db)  # nothing changed: every table is shared
    backups.restore(second.id, tmp_path / "second")
    second_tables = table_numbers(set(os.listdir(tmp_path / "second")))
    assert third.files_reused == len(second_tables) > 0

    backups.delete_backup(first.id)
    assert backups.list_backups() == [second, third]
    # What is left in shared/ is exactly the tables the remaining backups hold.
    assert table_numbers(set(shared(backups.path))) == second_tables
    assert contents(tmp_path / "second") == dict(expected)
    backups.delete_backup(third.id)
    backups.delete_backup(second.id)
    assert backups.list_backups() == []
    assert shared(backups.path) == {}
    with pytest.raises(kevo.NotFoundError):
        backups.delete_backup(second.id)
    # Ids continue from the highest remaining backup (none here: 1 again).
    assert backups.create_backup(db).id == 1


def test_wrong_argument_types(tmp_path: pathlib.Path, db: kevo.DB, backups: kevo.BackupEngine) -> None:
    bad: Any = 42
    with pytest.raises(TypeError):
        kevo.BackupEngine(bad)
    not_dbs: List[Any] = ["db", str(tmp_path / "db"), None, {}]
    for not_a_db in not_dbs:
        with pytest.raises(TypeError):
            backups.create_backup(not_a_db)
    backups.create_backup(db)
    for not_an_id in ("1", 1.0, None, True, b"1"):
        with pytest.raises(TypeError, match="backup_id must be an int"):
            backups.verify(not_an_id)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            backups.restore(not_an_id, tmp_path / "r")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            backups.delete_backup(not_an_id)  # type: ignore[arg-type]
    with pytest.raises(kevo.InvalidArgumentError, match=">= 0"):
        backups.verify(-1)
    with pytest.raises(TypeError):
        backups.restore(1, bad)
    with pytest.raises(TypeError):
        backups.restore_latest(None)  # type: ignore[arg-type]
    assert not (tmp_path / "r").exists()
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(backups)


def test_closed_database(tmp_path: pathlib.Path, backups: kevo.BackupEngine) -> None:
    db = kevo.open(tmp_path / "db")
    db[b"k"] = b"v"
    db.close()
    with pytest.raises(kevo.ClosedError):
        db.checkpoint(tmp_path / "copy")
    with pytest.raises(kevo.ClosedError):
        backups.create_backup(db)
    assert backups.list_backups() == []
    for sub in ("shared", "private", "meta", "tmp"):
        assert os.listdir(backups.path / sub) == [], sub


def test_closed_engine(tmp_path: pathlib.Path, db: kevo.DB) -> None:
    path = tmp_path / "BACKUP"
    with kevo.BackupEngine(path) as engine:
        assert not engine.closed
        assert engine.path == path
        assert repr(engine).endswith(" open>")
        engine.create_backup(db)
    assert engine.closed
    assert repr(engine).endswith(" closed>")
    engine.close()  # idempotent
    for call in (
        lambda: engine.create_backup(db),
        engine.list_backups,
        lambda: engine.verify(1),
        lambda: engine.restore(1, tmp_path / "r"),
        lambda: engine.restore_latest(tmp_path / "r"),
        lambda: engine.delete_backup(1),
    ):
        with pytest.raises(kevo.ClosedError):
            call()
    with pytest.raises(kevo.ClosedError):
        with engine:
            pass
    # The directory is still there for a new engine.
    assert [b.id for b in kevo.BackupEngine(str(path)).list_backups()] == [1]


def test_locked_while_another_holds_the_directory(
    tmp_path: pathlib.Path, db: kevo.DB, backups: kevo.BackupEngine
) -> None:
    backups.create_backup(db)
    with open(backups.path / "LOCK", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(kevo.LockedError):
            backups.create_backup(db)
        with pytest.raises(kevo.LockedError):
            backups.delete_backup(1)
        # Reading takes no lock.
        assert [b.id for b in backups.list_backups()] == [1]
        backups.verify(1)
        backups.restore(1, tmp_path / "restored")
        kevo.BackupEngine(backups.path).verify(1)
    assert backups.create_backup(db).id == 2
