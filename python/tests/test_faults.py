"""Fault injection seen through the Python layer: a full disk, damaged SSTables, damaged
write-ahead logs, a second process on a locked directory, a killed writer.

Every fault must surface as a typed ``kevo.Error`` (never a wrong value, a bare
``Exception`` or a ``PanicException``), and nothing acknowledged may be lost.
"""

from __future__ import annotations

import errno
import os
import pathlib
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from typing import Any, Dict, Iterator, List, Literal, Optional, Tuple

import pytest

import kevo

RecoveryMode = Literal["tolerate_corrupted_tail", "absolute_consistency", "point_in_time", "tolerate_incomplete_tail"]
MODES: List[RecoveryMode] = [
    "tolerate_corrupted_tail",
    "absolute_consistency",
    "point_in_time",
    "tolerate_incomplete_tail",
]


def _files(path: pathlib.Path, suffix: str) -> List[pathlib.Path]:
    """The files of the database directory with ``suffix``, by name (= by file number)."""
    return sorted(p for p in path.iterdir() if p.suffix == suffix)


def _restore(pristine: pathlib.Path, path: pathlib.Path) -> None:
    """Makes ``path`` an exact copy of ``pristine`` (each open rewrites the manifest and
    starts a new log, so every case starts from the same bytes)."""
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(pristine, path)


# --- 1. A full disk ----------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: pathlib.Path) -> Iterator[pathlib.Path]:
    """A 4 MiB tmpfs mounted on a fresh directory (root only), unmounted afterwards."""
    if not sys.platform.startswith("linux"):
        pytest.skip("full disk: needs Linux to mount a tmpfs")
    if os.geteuid() != 0:
        pytest.skip("full disk: mounting a tmpfs needs root")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        out = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except OSError as e:
        pytest.skip(f"full disk: cannot run mount: {e}")
    if out.returncode != 0:
        pytest.skip(f"full disk: mount failed: {out.stderr.strip() or out.returncode}")
    try:
        yield mnt
    finally:
        if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
            # Still busy (a handle leaked by a failing test): detach it anyway.
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _key(i: int) -> bytes:
    return b"key%08d" % i


def _value(i: int) -> bytes:
    v = b"value-%d-" % i
    return v + bytes([ord("a") + i % 26]) * (200 - len(v))


def test_full_disk(small_disk: pathlib.Path) -> None:
    """Writes until the disk is full: a typed error naming ENOSPC, every acknowledged write
    kept (in the handle and after reopening with space freed), writes taken again."""
    ballast = small_disk / "ballast"
    ballast.write_bytes(b"\x07" * (1 << 20))
    path = small_disk / "db"
    options: Dict[str, Any] = dict(
        sync_mode="none",
        memtable_size=256 << 10,
        target_file_size=256 << 10,
        block_cache_size=1 << 20,
    )
    acked = 0
    db = kevo.open(path, **options)
    try:
        first_error: Optional[kevo.Error] = None
        while first_error is None:
            try:
                db[_key(acked)] = _value(acked)
                acked += 1
            except kevo.Error as e:
                first_error = e
            assert acked < 200_000, "a 4 MiB disk never filled up"
        message = str(first_error)
        assert isinstance(first_error, (kevo.IoError, kevo.BackgroundError)), repr(first_error)
        assert "No space left" in message or "os error 28" in message, message
        if isinstance(first_error, kevo.IoError):
            assert isinstance(first_error, OSError)
            assert first_error.errno == errno.ENOSPC, (first_error.errno, message)
        # A failure before anything reached the WAL leaves the database writable (a later
        # write may succeed once compaction freed space); one after makes it read-only.
        # Either way every acknowledged write must be kept, and a failure must be typed.
        later_errors: List[str] = []
        for _ in range(50):
            try:
                db[_key(acked)] = _value(acked)
                acked += 1
            except kevo.Error as e:
                later_errors.append(type(e).__name__)
        assert acked > 1000, acked
        # Everything acknowledged reads back in the same handle.
        for i in range(acked):
            assert db.get(_key(i)) == _value(i), i
    finally:
        try:
            db.close()  # its final WAL sync may fail on the full disk as well
        except kevo.Error:
            pass
    assert db.closed  # closed (and unlocked) even if close() raised
    ballast.unlink()
    with kevo.open(path, **options) as db:
        for i in range(acked):
            assert db.get(_key(i)) == _value(i), i
        assert db.get(_key(acked)) is None  # the failed write was not applied
        assert sum(1 for _ in db.keys()) == acked
        db[b"after"] = b"space was freed"
        db.flush()
    with kevo.open(path, **options) as db:
        assert db[b"after"] == b"space was freed"
        assert db.get(_key(acked - 1)) == _value(acked - 1)
    print(
        f"full disk: {acked} writes acknowledged; first error {first_error!r}; "
        f"{len(later_errors)} of 50 later writes failed ({', '.join(sorted(set(later_errors)))})"
    )


# --- 2. Every byte of an SSTable ---------------------------------------------------------


def _tmpfs_scratch() -> Optional[pathlib.Path]:
    """``/dev/shm`` if it is a writable tmpfs (where fsync costs nothing), else None."""
    try:
        with open("/proc/self/mounts") as f:
            mounts = [line.split() for line in f]
    except OSError:
        return None
    shm = pathlib.Path("/dev/shm")
    if any(m[1:3] == [str(shm), "tmpfs"] for m in mounts if len(m) > 2) and os.access(shm, os.W_OK):
        return shm
    return None


@pytest.fixture
def scratch(tmp_path: pathlib.Path) -> Iterator[Tuple[pathlib.Path, int]]:
    """(a fresh directory, stride): on a tmpfs when there is one, so that the many opens of
    the every-byte test (each syncs a new manifest and log) are fast enough to flip every
    byte (stride 1); on a disk every 4th byte only."""
    shm = _tmpfs_scratch()
    if shm is None:
        yield tmp_path, 4
        return
    d = pathlib.Path(tempfile.mkdtemp(prefix="kevo-test-faults-", dir=shm))
    try:
        yield d, 1
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_every_byte_of_an_sstable(scratch: Tuple[pathlib.Path, int]) -> None:
    """Damages every byte of a small SSTable in turn, one at a time (alternately XOR 0xFF and
    a single bit flip), and reads everything back through the binding with no block
    cache: each read (``get``, ``[]``, ``items()``) returns exactly the value written or
    raises ``kevo.CorruptionError`` (as may the open); never a wrong value, a missing or
    extra key, or another exception.

    ``paranoid_checks=False``, so that the read path itself must notice (with the default
    the open checks every table, which only catches damage earlier). The table is about
    1 KiB; on a tmpfs (``/dev/shm``) a case takes about 4 ms and every byte is damaged, on
    a disk the opens' fsyncs make it about 30 ms, so only every 4th byte is.
    """
    root, stride = scratch
    path = root / "db"
    expected = {b"key%03d" % i: b"value-%03d-" % i + bytes([65 + i % 26]) * (i % 40) for i in range(50)}
    options: Dict[str, Any] = dict(memtable_size=64 << 10, block_cache_size=0, paranoid_checks=False)
    with kevo.open(path, **options) as db:
        db.update(expected)
        db.flush()
    (table,) = _files(path, ".sst")
    assert not any(p.stat().st_size for p in _files(path, ".log")), "everything is in the table"
    pristine = root / "pristine"
    shutil.copytree(path, pristine)
    original = table.read_bytes()
    items = sorted(expected.items())

    wrong: List[str] = []  # what must never happen, with the offset

    def check_blame(offset: int, how: str, e: kevo.CorruptionError) -> None:
        """The error names the damaged table and an offset within it."""
        file, at = getattr(e, "file", None), getattr(e, "offset", None)
        if not (isinstance(file, str) and file.endswith(table.name) and isinstance(at, int) and 0 <= at <= len(original)):
            wrong.append(f"offset {offset}: {how} raised CorruptionError blaming {file!r} at {at!r}: {e}")

    detected_at_open = detected_by_read = undetected = 0
    start = time.monotonic()
    offsets = range(0, len(original), stride)
    for n, offset in enumerate(offsets):
        _restore(pristine, path)
        damaged = bytearray(original)
        damaged[offset] ^= 0xFF if n % 2 == 0 else 1 << (n // 2 % 8)
        table.write_bytes(bytes(damaged))
        try:
            db = kevo.open(path, **options)
        except kevo.CorruptionError as e:
            detected_at_open += 1
            check_blame(offset, "open", e)
            continue
        except BaseException as e:  # noqa: BLE001 - a PanicException is a BaseException
            if isinstance(e, KeyboardInterrupt):
                raise
            wrong.append(f"offset {offset}: open raised {type(e).__module__}.{type(e).__name__}: {e}")
            continue
        detected = False
        try:
            for k, v in items:
                for how, read in (("get", db.get), ("[]", db.__getitem__)):
                    try:
                        got = read(k)
                    except kevo.CorruptionError as e:
                        detected = True
                        check_blame(offset, how, e)
                        continue
                    except BaseException as e:  # noqa: BLE001
                        if isinstance(e, KeyboardInterrupt):
                            raise
                        wrong.append(f"offset {offset}: {how}({k!r}) raised {type(e).__module__}.{type(e).__name__}: {e}")
                        continue
                    if got != v:
                        wrong.append(f"offset {offset}: {how}({k!r}) returned {got!r}, not {v!r}")
            seen: List[Tuple[bytes, bytes]] = []
            try:
                for item in db.items():
                    seen.append(item)
            except kevo.CorruptionError as e:
                detected = True
                check_blame(offset, "items()", e)
                if seen != items[: len(seen)]:
                    wrong.append(f"offset {offset}: items() before its error were {seen!r}")
            except BaseException as e:  # noqa: BLE001
                if isinstance(e, KeyboardInterrupt):
                    raise
                wrong.append(f"offset {offset}: items() raised {type(e).__module__}.{type(e).__name__}: {e}")
            else:
                if seen != items:
                    wrong.append(f"offset {offset}: items() returned {len(seen)} items, not the {len(items)} written")
        finally:
            try:
                db.close()
            except BaseException as e:  # noqa: BLE001
                if isinstance(e, KeyboardInterrupt):
                    raise
                wrong.append(f"offset {offset}: close raised {type(e).__name__}: {e}")
        if detected:
            detected_by_read += 1
        else:
            undetected += 1
    elapsed = time.monotonic() - start
    print(
        f"sstable: {len(offsets)} of {len(original)} bytes damaged in {elapsed:.1f}s: {detected_at_open} detected at open, "
        f"{detected_by_read} by a read, {undetected} harmless"
    )
    assert not wrong, "\n".join(wrong[:20]) + f"\n({len(wrong)} in all)"
    assert detected_at_open + detected_by_read > len(offsets) // 2
    _restore(pristine, path)
    with kevo.open(path, **options) as db:  # the restored table is intact
        assert sorted(db.items()) == items


# --- 3. Damaged write-ahead logs ---------------------------------------------------------

HEADER = 11  # checksum (8) + length (2) + type (1); see core/src/wal/format.rs
FULL = 1


def _log_records(data: bytes) -> List[Tuple[int, int]]:
    """(offset of the header, payload length) of each record of a log holding only whole
    records within its first 32 KiB block (which is all these tests write)."""
    assert len(data) < 32 * 1024, len(data)
    records = []
    pos = 0
    while pos < len(data):
        assert pos + HEADER <= len(data), (pos, len(data))
        (length,) = struct.unpack_from("<H", data, pos + 8)
        assert data[pos + 10] == FULL, (pos, data[pos + 10])
        records.append((pos, length))
        pos += HEADER + length
    assert pos == len(data)
    return records


def _wal_writes() -> List[Tuple[bytes, Optional[bytes]]]:
    """The writes, in order: puts over a few keys (overwriting each other) and some deletes,
    so that the state after each prefix is different."""
    writes: List[Tuple[bytes, Optional[bytes]]] = []
    for j in range(60):
        key = b"k%02d" % (j * 7 % 16)
        writes.append((key, None if j % 9 == 8 else b"v%02d-" % j + b"." * (j % 13)))
    return writes


def _state(writes: List[Tuple[bytes, Optional[bytes]]]) -> Dict[bytes, bytes]:
    state: Dict[bytes, bytes] = {}
    for k, v in writes:
        if v is None:
            state.pop(k, None)
        else:
            state[k] = v
    return state


def _check_contents(db: kevo.DB, expected: Dict[bytes, bytes], keys: List[bytes]) -> None:
    """``db`` holds exactly ``expected``, by point reads of ``keys`` and by a scan."""
    for k in keys:
        assert db.get(k) == expected.get(k), k
    assert dict(db.items()) == expected
    assert list(db.keys()) == sorted(expected)


@pytest.fixture
def wal_db(path: pathlib.Path, tmp_path: pathlib.Path) -> Tuple[pathlib.Path, pathlib.Path]:
    """(pristine copy, database path): a database whose writes all live in its last log."""
    writes = _wal_writes()
    with kevo.open(path, sync_mode="always") as db:
        for k, v in writes:
            if v is None:
                db.delete(k)
            else:
                db[k] = v
    # close() syncs the log and leaves the memtable in it (no flush): the next open replays it.
    assert not _files(path, ".sst"), list(path.iterdir())
    log = _files(path, ".log")[-1]
    assert len(_log_records(log.read_bytes())) == len(writes)
    pristine = tmp_path / "pristine"
    shutil.copytree(path, pristine)
    return pristine, path


@pytest.mark.parametrize("mode", MODES)
def test_wal_torn_last_record(wal_db: Tuple[pathlib.Path, pathlib.Path], mode: RecoveryMode) -> None:
    """The last log cut in the middle of its last record (a torn append): the tolerant modes
    open with exactly the writes before it; absolute consistency refuses to open."""
    pristine, path = wal_db
    writes = _wal_writes()
    keys = sorted({k for k, _ in writes})
    log = _files(path, ".log")[-1]
    data = log.read_bytes()
    last, length = _log_records(data)[-1]
    cut = last + HEADER + length // 2
    assert last < cut < len(data)
    log.write_bytes(data[:cut])
    if mode == "absolute_consistency":
        with pytest.raises(kevo.CorruptionError) as e:
            kevo.open(path, wal_recovery_mode=mode)
        assert e.value.file.endswith(log.name), e.value.file  # type: ignore[attr-defined]
        assert e.value.offset == last, (e.value.offset, last)  # type: ignore[attr-defined]
        return
    expected = _state(writes[:-1])
    assert expected != _state(writes)  # the last write changes something
    with kevo.open(path, wal_recovery_mode=mode) as db:
        _check_contents(db, expected, keys)
        db[b"new"] = b"after recovery"
    # Recovery started a fresh, clean log: even the strictest mode reads it now.
    expected[b"new"] = b"after recovery"
    with kevo.open(path, wal_recovery_mode="absolute_consistency") as db:
        _check_contents(db, expected, keys + [b"new"])
    _restore(pristine, path)  # and the untouched log recovers every write in every mode
    with kevo.open(path, wal_recovery_mode=mode) as db:
        _check_contents(db, _state(writes), keys)


@pytest.mark.parametrize("mode", MODES)
def test_wal_damage_in_the_middle(wal_db: Tuple[pathlib.Path, pathlib.Path], mode: RecoveryMode) -> None:
    """A flipped byte in a record in the middle of the log, intact records after it:
    point-in-time keeps exactly the writes before the damaged record; every other mode
    raises ``CorruptionError`` (skipping the damage would lose the writes after it)."""
    _, path = wal_db
    writes = _wal_writes()
    keys = sorted({k for k, _ in writes})
    log = _files(path, ".log")[-1]
    data = bytearray(log.read_bytes())
    records = _log_records(bytes(data))
    n = len(records) // 2
    start, length = records[n]
    data[start + HEADER + length // 2] ^= 0x20
    log.write_bytes(bytes(data))
    if mode != "point_in_time":
        with pytest.raises(kevo.CorruptionError) as e:
            kevo.open(path, wal_recovery_mode=mode)
        assert e.value.file.endswith(log.name), e.value.file  # type: ignore[attr-defined]
        assert e.value.offset == start, (e.value.offset, start)  # type: ignore[attr-defined]
        assert "checksum" in str(e.value), str(e.value)
        return
    expected = _state(writes[:n])
    assert all(expected != _state(writes[:m]) for m in (n + 1, len(writes)))
    with kevo.open(path, wal_recovery_mode=mode) as db:
        _check_contents(db, expected, keys)
        db[b"new"] = b"after recovery"
    expected[b"new"] = b"after recovery"
    with kevo.open(path, wal_recovery_mode="absolute_consistency") as db:
        _check_contents(db, expected, keys + [b"new"])


# --- 4. Another process ------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys
    import kevo

    path, what = sys.argv[1], sys.argv[2]
    if what == "open":
        try:
            db = kevo.open(path)
        except kevo.LockedError as e:
            print("LockedError", e.path, isinstance(e, kevo.Error), flush=True)
            sys.exit(0)
        except BaseException as e:
            print("other", type(e).__module__, type(e).__qualname__, e, flush=True)
            sys.exit(2)
        db[b"child"] = b"was here"
        db.close()
        print("opened", flush=True)
    elif what == "write-and-wait":
        db = kevo.open(path, sync_mode="none")
        for i in range(int(sys.argv[3])):
            db[b"key%05d" % i] = b"value %d" % i
        print("ready", flush=True)
        sys.stdin.read()  # until killed
    """
)


def _child(path: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_second_process_gets_locked_error(path: pathlib.Path) -> None:
    """A second process opening a directory this one holds gets ``kevo.LockedError`` (the
    file lock, not just the in-process registry); once closed here, it can open it."""
    db = kevo.open(path)
    db[b"parent"] = b"1"
    try:
        out = _child(path, "open")
        assert out.returncode == 0, (out.stdout, out.stderr)
        assert out.stdout.split()[0] == "LockedError", out.stdout
        assert str(path) in out.stdout and out.stdout.split()[-1] == "True", out.stdout
        assert db[b"parent"] == b"1"  # the failed open did not disturb the holder
    finally:
        db.close()
    out = _child(path, "open")
    assert (out.returncode, out.stdout.strip()) == (0, "opened"), (out.stdout, out.stderr)
    with kevo.open(path) as db:
        assert dict(db.items()) == {b"child": b"was here", b"parent": b"1"}


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_writer_loses_nothing_acknowledged(path: pathlib.Path) -> None:
    """A process killed (SIGKILL) while holding the database, after writes acknowledged with
    ``sync_mode="none"``: its lock is released with it, and a new open recovers every write
    (the WAL is in the page cache as soon as a write returns)."""
    n = 3000
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), "write-and-wait", str(n)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == "ready", (line, child.stderr.read() if child.stderr else "")
        with pytest.raises(kevo.LockedError):
            kevo.open(path)
        child.kill()
        child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for stream in (child.stdin, child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    for mode in ("tolerate_corrupted_tail", "absolute_consistency"):
        with kevo.open(path, wal_recovery_mode=mode) as db:
            assert len(db) == n
            for i in range(n):
                assert db[b"key%05d" % i] == b"value %d" % i
