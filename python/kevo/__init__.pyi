"""kevo: an embedded LSM-tree key-value store with a dict-like interface (type stubs).

:class:`DB` is a :class:`collections.abc.MutableMapping` of ``bytes`` to ``bytes``, sorted by
key. Keys and values may be passed as ``bytes``, ``bytearray`` or ``memoryview``; reads
return ``bytes``.
"""

import collections.abc
import os
import pathlib
from types import TracebackType
from typing import Any, Callable, Iterable, Iterator, List, Literal, Mapping, Optional, Tuple, TypedDict, TypeVar, Union, final, overload

from typing_extensions import disjoint_base

__version__: str
__all__ = [
    "DB",
    "Snapshot",
    "Transaction",
    "WriteBatch",
    "BackupEngine",
    "BackupInfo",
    "Cursor",
    "RangeIterator",
    "KeysView",
    "ValuesView",
    "ItemsView",
    "Stats",
    "LevelStats",
    "open",
    "run_transaction",
    "default_options",
    "Error",
    "IoError",
    "CorruptionError",
    "InvalidArgumentError",
    "LockedError",
    "ClosedError",
    "NotFoundError",
    "BackgroundError",
    "ConflictError",
    "ReadOnlyError",
    "ForkError",
    "MAX_KEY_SIZE",
    "MAX_VALUE_SIZE",
    "__version__",
]
MAX_KEY_SIZE: int
"""Largest key accepted, in bytes."""
MAX_VALUE_SIZE: int
"""Largest value accepted, in bytes."""

BytesLike = Union[bytes, bytearray, memoryview]
"""What keys and values may be passed as."""

_T = TypeVar("_T")
_R = TypeVar("_R")
_Path = Union[str, os.PathLike[str]]

class Error(Exception):
    """Base class of every error kevo raises."""

class IoError(Error, OSError):
    """An operating-system I/O call failed; ``errno`` is set when the OS gave one."""

class CorruptionError(Error):
    """Stored data failed a check. Attributes: ``file``, ``offset``, ``detail``."""

class InvalidArgumentError(Error, ValueError):
    """An argument kevo cannot accept (empty or over-long key, bad option value)."""

class LockedError(Error):
    """The database directory is already open, in this process or another. Attribute: ``path``."""

class ClosedError(Error):
    """The database was closed (or the snapshot released) before this call."""

class NotFoundError(Error, FileNotFoundError):
    """No database at the path (and ``create_if_missing=False``), or no such backup."""

class BackgroundError(Error):
    """A background flush or compaction failed; the database is read-only until reopened."""

class ConflictError(Error):
    """A transaction's commit failed: another commit since its snapshot wrote a key it wrote
    (or, when serializable, a key or range it read). Nothing was written; run the whole
    transaction again (see :func:`run_transaction`)."""

class ReadOnlyError(Error):
    """A write, flush or compaction was asked of a database opened with ``read_only=True``.
    Nothing was written."""

class ForkError(Error, RuntimeError):
    """A kevo handle was used in a child process after ``fork()``; reopen the database there."""

class LevelStats(TypedDict):
    """Files and bytes of one level of the LSM tree."""

    files: int
    bytes: int

class Stats(TypedDict):
    """The engine's counters, from :meth:`DB.stats` (bytes; times in microseconds)."""

    user_bytes_written: int
    wal_bytes_written: int
    flush_count: int
    flush_bytes_written: int
    flush_micros: int
    compaction_count: int
    compaction_bytes_read: int
    compaction_bytes_written: int
    compaction_micros: int
    stall_micros: int
    slowdown_count: int
    stop_count: int
    block_cache_hits: int
    block_cache_misses: int
    block_cache_usage: int
    block_cache_capacity: int
    block_cache_hit_ratio: float
    bloom_negatives: int
    bloom_false_positives: int
    bloom_true_positives: int
    live_snapshots: int
    write_amplification: float
    sst_bytes: int
    levels: List[LevelStats]

@final
class RangeIterator(Iterator[Any]):
    """The iterator of the views and of ``iter(db)``: reads entries in chunks."""

    def __iter__(self) -> RangeIterator:
        """The iterator itself."""
    def __next__(self) -> Any:
        """The next key, value or ``(key, value)``."""

@final
class Cursor:
    """A raw cursor over a database or snapshot, from ``db.iterator()``.

    Also an iterator of ``(key, value)`` from its current position (from the first entry,
    or the last if ``reverse``, when not yet positioned).
    """

    def seek_to_first(self) -> None:
        """Moves to the first entry in range."""
    def seek_to_last(self) -> None:
        """Moves to the last entry in range."""
    def seek(self, key: BytesLike) -> None:
        """Moves to the first entry whose key is >= ``key``."""
    def seek_for_prev(self, key: BytesLike) -> None:
        """Moves to the last entry whose key is <= ``key``."""
    def next(self) -> None:
        """Moves to the next entry (``ValueError`` if not on one)."""
    def prev(self) -> None:
        """Moves to the previous entry (``ValueError`` if not on one)."""
    def valid(self) -> bool:
        """True if the cursor is on an entry."""
    def key(self) -> bytes:
        """The current key (``ValueError`` if not on an entry)."""
    def value(self) -> bytes:
        """The current value (``ValueError`` if not on an entry)."""
    def item(self) -> Tuple[bytes, bytes]:
        """The current ``(key, value)`` (``ValueError`` if not on an entry)."""
    def __iter__(self) -> Cursor:
        """The cursor itself."""
    def __next__(self) -> Tuple[bytes, bytes]:
        """The current ``(key, value)``, then moves on."""
    def __reduce__(self) -> Any:
        """Raises ``TypeError``: cursors cannot be pickled."""

@final
class WriteBatch:
    """Puts and deletes written atomically, from :meth:`DB.write_batch`.

    As a context manager, written when the block ends normally, discarded if it raises.
    """

    def __new__(cls, db: _DB) -> WriteBatch: ...
    def put(self, key: BytesLike, value: BytesLike) -> None:
        """Adds ``key = value``."""
    def __setitem__(self, key: BytesLike, value: BytesLike, /) -> None:
        """Adds ``key = value``."""
    def delete(self, key: BytesLike) -> None:
        """Adds a deletion of ``key``."""
    def delete_range(self, start: BytesLike, end: BytesLike) -> None:
        """Adds a deletion of every key in ``[start, end)`` (one range tombstone)."""
    def __delitem__(self, key: BytesLike, /) -> None:
        """Adds a deletion of ``key``."""
    def clear(self) -> None:
        """Removes every operation."""
    def __len__(self) -> int:
        """Number of operations."""
    @property
    def size_in_bytes(self) -> int:
        """Encoded size of the batch, in bytes."""
    def write(self, *, sync: bool = False, disable_wal: bool = False) -> None:
        """Writes the batch atomically, then empties it. ``sync=True``: durable before it
        returns, whatever the sync mode; ``disable_wal=True``: not logged (lost by a crash
        before the next flush); both together raise :class:`InvalidArgumentError`."""
    def __enter__(self) -> WriteBatch:
        """The batch."""
    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        _exc_value: Optional[BaseException],
        _traceback: Optional[TracebackType],
    ) -> bool:
        """Writes the batch if the block ended normally, discards it otherwise."""
    def __reduce__(self) -> Any:
        """Raises ``TypeError``: batches cannot be pickled."""

@final
class BackupInfo:
    """One backup, from :meth:`BackupEngine.create_backup` or
    :meth:`BackupEngine.list_backups`. Immutable; compares and hashes by value."""

    @property
    def id(self) -> int:
        """The backup's id: 1 for the first, then one above the highest existing."""
    @property
    def timestamp(self) -> int:
        """When it was made, in whole seconds since the Unix epoch."""
    @property
    def num_files(self) -> int:
        """Files it contains (SSTables, WAL segments, manifest, ``CURRENT``)."""
    @property
    def size(self) -> int:
        """Bytes of all its files: what a restore writes."""
    @property
    def new_bytes(self) -> int:
        """Bytes this backup added to the backup directory (files not already stored)."""
    @property
    def files_reused(self) -> int:
        """SSTables it shares with an earlier backup instead of storing them again."""
    @property
    def duration(self) -> float:
        """Wall-clock time it took to make, in seconds."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class BackupEngine:
    """Incremental backups of kevo databases in the directory ``path`` (created if missing).

    SSTables are stored once in ``path/shared/`` for every backup that contains them, so a
    second backup stores only the new tables. Creating and deleting take the directory's
    lock (a second one at the same time raises :class:`LockedError`); listing, verifying and
    restoring take none. A context manager: ``close()`` at the end of the block makes later
    calls raise :class:`ClosedError` (the engine keeps nothing open between calls).
    """

    def __new__(cls, path: _Path) -> BackupEngine: ...
    @property
    def path(self) -> pathlib.Path:
        """The backup directory."""
    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
    def close(self) -> None:
        """Lets go of the engine; later calls raise :class:`ClosedError`. Idempotent."""
    def create_backup(self, db: _DB) -> BackupInfo:
        """Backs up the open database ``db`` as a new backup (id one above the highest):
        every write acknowledged before the call is in it; tables already stored are shared.
        ``TypeError`` if ``db`` is not a :class:`DB`; :class:`ClosedError` if it was closed;
        :class:`LockedError` if a backup is being made or deleted elsewhere; :class:`IoError`."""
    def list_backups(self) -> List[BackupInfo]:
        """Every backup, ordered by id; :class:`CorruptionError` for an unreadable meta file."""
    def verify(self, backup_id: int) -> None:
        """Checks every file of the backup (present, size, xxh64) without restoring it.
        :class:`NotFoundError` if there is no such backup; :class:`CorruptionError` for the
        first file missing or different."""
    def restore(self, backup_id: int, target: _Path) -> None:
        """Writes the backup into ``target`` (missing or empty) as an openable database,
        checking every file; leaves nothing behind on failure. :class:`InvalidArgumentError`
        if ``target`` is not empty, :class:`NotFoundError`, :class:`CorruptionError`."""
    def restore_latest(self, target: _Path) -> None:
        """:meth:`restore` of the backup with the highest id; :class:`NotFoundError` if none."""
    def delete_backup(self, backup_id: int) -> None:
        """Deletes the backup and the shared tables no other backup contains.
        :class:`NotFoundError` if there is no such backup; :class:`LockedError`."""
    def __enter__(self) -> BackupEngine:
        """The engine."""
    def __exit__(self, *_args: object) -> bool:
        """Closes the engine."""
    def __reduce__(self) -> Any:
        """Raises ``TypeError``: backup engines cannot be pickled."""

class _Range:
    def __len__(self) -> int:
        """Number of keys in range. O(n)."""

class KeysView(_Range, collections.abc.KeysView[bytes]):
    """The keys in a range, in order (or reverse). ``in`` is a point lookup; ``len`` O(n)."""

    def __init__(
        self,
        mapping: Any,
        start: Optional[BytesLike] = None,
        stop: Optional[BytesLike] = None,
        prefix: Optional[BytesLike] = None,
        reverse: bool = False,
    ) -> None: ...
    def __iter__(self) -> Iterator[bytes]: ...
    def __reversed__(self) -> Iterator[bytes]: ...
    def __contains__(self, key: object, /) -> bool: ...

class ValuesView(_Range, collections.abc.ValuesView[bytes]):
    """The values in a key range, in key order (or reverse). ``in`` scans the range."""

    def __init__(
        self,
        mapping: Any,
        start: Optional[BytesLike] = None,
        stop: Optional[BytesLike] = None,
        prefix: Optional[BytesLike] = None,
        reverse: bool = False,
    ) -> None: ...
    def __iter__(self) -> Iterator[bytes]: ...
    def __reversed__(self) -> Iterator[bytes]: ...
    def __contains__(self, value: object, /) -> bool: ...

class ItemsView(_Range, collections.abc.ItemsView[bytes, bytes]):
    """The ``(key, value)`` pairs in a key range, in order (or reverse). ``in`` is a lookup."""

    def __init__(
        self,
        mapping: Any,
        start: Optional[BytesLike] = None,
        stop: Optional[BytesLike] = None,
        prefix: Optional[BytesLike] = None,
        reverse: bool = False,
    ) -> None: ...
    def __iter__(self) -> Iterator[Tuple[bytes, bytes]]: ...
    def __reversed__(self) -> Iterator[Tuple[bytes, bytes]]: ...
    def __contains__(self, item: object, /) -> bool: ...

class _Reads:
    def keys(
        self,
        *,
        start: Optional[BytesLike] = None,
        stop: Optional[BytesLike] = None,
        prefix: Optional[BytesLike] = None,
        reverse: bool = False,
    ) -> KeysView:
        """The keys in ``[start, stop)`` starting with ``prefix``, in order (descending if ``reverse``)."""
    def values(
        self,
        *,
        start: Optional[BytesLike] = None,
        stop: Optional[BytesLike] = None,
        prefix: Optional[BytesLike] = None,
        reverse: bool = False,
    ) -> ValuesView:
        """The values of the keys in ``[start, stop)`` starting with ``prefix``, in key order."""
    def items(
        self,
        *,
        start: Optional[BytesLike] = None,
        stop: Optional[BytesLike] = None,
        prefix: Optional[BytesLike] = None,
        reverse: bool = False,
    ) -> ItemsView:
        """``(key, value)`` for the keys in ``[start, stop)`` starting with ``prefix``, in key order."""
    def __eq__(self, other: object) -> bool:
        """Equal to any mapping with the same keys and values."""
    def __ne__(self, other: object) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@disjoint_base
class _Snapshot:
    def __new__(cls, db: _DB) -> _Snapshot: ...
    @property
    def sequence(self) -> int:
        """The sequence number the snapshot reads at."""
    def release(self) -> None:
        """Lets go of the snapshot; later reads raise :class:`ClosedError`. Idempotent."""
    @overload
    def get(self, key: BytesLike) -> Optional[bytes]: ...
    @overload
    def get(self, key: BytesLike, default: _T) -> Union[bytes, _T]: ...
    def get_many(self, keys: Iterable[BytesLike]) -> List[Optional[bytes]]:
        """The value of each key as of the snapshot, in order; ``None`` where absent."""
    def __getitem__(self, key: BytesLike, /) -> bytes:
        """The value as of the snapshot; ``KeyError`` if absent."""
    def __contains__(self, key: object, /) -> bool:
        """A point lookup."""
    def __len__(self) -> int:
        """The number of keys. O(n)."""
    def __bool__(self) -> bool:
        """True if there is any key. O(1)."""
    def __iter__(self) -> Iterator[bytes]:
        """The keys in order."""
    def _iter(
        self,
        mode: int,
        start: Optional[BytesLike] = None,
        stop: Optional[BytesLike] = None,
        prefix: Optional[BytesLike] = None,
        reverse: bool = False,
    ) -> RangeIterator: ...
    def _count(
        self,
        start: Optional[BytesLike] = None,
        stop: Optional[BytesLike] = None,
        prefix: Optional[BytesLike] = None,
    ) -> int: ...
    def iterator(
        self,
        start: Optional[BytesLike] = None,
        stop: Optional[BytesLike] = None,
        *,
        prefix: Optional[BytesLike] = None,
        reverse: bool = False,
    ) -> Cursor:
        """A raw cursor over the snapshot within ``[start, stop)`` and ``prefix``."""
    def __enter__(self: _T) -> _T:
        """The snapshot."""
    def __exit__(self, *_args: object) -> bool:
        """Releases the snapshot."""
    def __reduce__(self) -> Any:
        """Raises ``TypeError``: snapshots cannot be pickled."""

class Snapshot(_Snapshot, _Reads, collections.abc.Mapping[bytes, bytes]):
    """A consistent, read-only view of a database as of the moment it was taken."""

    def __iter__(self) -> Iterator[bytes]: ...
    def __contains__(self, key: object, /) -> bool: ...
    def __len__(self) -> int: ...
    @overload
    def get(self, key: BytesLike) -> Optional[bytes]: ...
    @overload
    def get(self, key: BytesLike, default: _T) -> Union[bytes, _T]: ...
    def __getitem__(self, key: BytesLike, /) -> bytes: ...

@disjoint_base
class _Transaction:
    def __new__(cls, db: _DB, serializable: bool = False) -> _Transaction: ...
    @property
    def serializable(self) -> bool:
        """True for a serializable transaction, False for snapshot isolation."""
    @property
    def snapshot_sequence(self) -> int:
        """The sequence number of the snapshot the transaction reads at."""
    @property
    def active(self) -> bool:
        """True until ``commit()`` or ``rollback()`` was called."""
    @property
    def write_count(self) -> int:
        """Keys written (put or deleted) so far, each counted once; 0 once finished."""
    @overload
    def get(self, key: BytesLike) -> Optional[bytes]: ...
    @overload
    def get(self, key: BytesLike, default: _T) -> Union[bytes, _T]: ...
    def get_many(self, keys: Iterable[BytesLike]) -> List[Optional[bytes]]:
        """The value of each key as the transaction sees it, in order; ``None`` where absent."""
    def __getitem__(self, key: BytesLike, /) -> bytes:
        """The value as the transaction sees it; ``KeyError`` if absent."""
    def __contains__(self, key: object, /) -> bool:
        """A point lookup (recorded in the read set when serializable)."""
    def put(self, key: BytesLike, value: BytesLike) -> None:
        """Buffers ``key = value``: visible to this transaction now, to others after commit."""
    def __setitem__(self, key: BytesLike, value: BytesLike, /) -> None:
        """Buffers ``key = value``."""
    def delete(self, key: BytesLike) -> None:
        """Buffers a deletion of ``key`` (no error if absent)."""
    def delete_range(self, start: BytesLike, end: BytesLike) -> None:
        """Buffers a deletion of every key in ``[start, end)``; conflicts at commit if another
        commit wrote a key in it after the snapshot."""
    def __delitem__(self, key: BytesLike, /) -> None:
        """Buffers a deletion of ``key``; ``KeyError`` if the transaction does not see it."""
    def __len__(self) -> int:
        """The number of keys the transaction sees. O(n)."""
    def __bool__(self) -> bool:
        """True if the transaction sees any key. O(1)."""
    def __iter__(self) -> Iterator[bytes]:
        """The keys the transaction sees, in order."""
    def _iter(
        self,
        mode: int,
        start: Optional[BytesLike] = None,
        stop: Optional[BytesLike] = None,
        prefix: Optional[BytesLike] = None,
        reverse: bool = False,
    ) -> RangeIterator: ...
    def _count(
        self,
        start: Optional[BytesLike] = None,
        stop: Optional[BytesLike] = None,
        prefix: Optional[BytesLike] = None,
    ) -> int: ...
    def commit(self) -> None:
        """Checks for conflicts and writes every buffered write atomically; raises
        :class:`ConflictError` (nothing written) if another commit came first. The
        transaction is finished afterwards, whatever the result."""
    def rollback(self) -> None:
        """Discards every buffered write; the transaction is finished afterwards."""
    def __enter__(self: _T) -> _T:
        """The transaction."""
    def __exit__(self, exc_type: object, _exc: object = None, _tb: object = None) -> bool:
        """Commits if the block succeeded, rolls back if it raised; nothing if already finished."""
    def __reduce__(self) -> Any:
        """Raises ``TypeError``: transactions cannot be pickled."""

class Transaction(_Transaction, _Reads, collections.abc.MutableMapping[bytes, bytes]):
    """An optimistic transaction: a mutable mapping of what it sees (the database as of its
    start plus its own writes). Commits atomically or raises :class:`ConflictError`; after
    ``commit()``/``rollback()`` every call raises :class:`InvalidArgumentError`."""

    def __iter__(self) -> Iterator[bytes]: ...
    def __contains__(self, key: object, /) -> bool: ...
    def __len__(self) -> int: ...
    @overload
    def get(self, key: BytesLike) -> Optional[bytes]: ...
    @overload
    def get(self, key: BytesLike, default: _T) -> Union[bytes, _T]: ...
    def __getitem__(self, key: BytesLike, /) -> bytes: ...
    def __setitem__(self, key: BytesLike, value: BytesLike, /) -> None: ...
    def __delitem__(self, key: BytesLike, /) -> None: ...
    @overload
    def pop(self, key: BytesLike) -> bytes: ...
    @overload
    def pop(self, key: BytesLike, default: _T) -> Union[bytes, _T]: ...
    def popitem(self) -> Tuple[bytes, bytes]:
        """Removes and returns the entry with the smallest key."""
    def setdefault(self, key: BytesLike, default: BytesLike = b"") -> bytes:
        """``txn[key]`` if present, else sets and returns ``default``."""
    def clear(self) -> None:
        """Deletes every key the transaction sees (buffered)."""

@disjoint_base
class _DB:
    def __new__(cls, path: _Path, **options: Any) -> _DB: ...
    @property
    def path(self) -> pathlib.Path:
        """The database directory."""
    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
    @property
    def read_only(self) -> bool:
        """True if opened with ``read_only=True``."""
    def refresh(self) -> None:
        """Moves a read-only database to the writer's latest state (see ``kevo.open``'s
        ``read_only``); :class:`InvalidArgumentError` on a writable one."""
    def checkpoint(self, path: _Path) -> dict[str, float]:
        """Writes a consistent, openable copy of the database into ``path`` (missing or
        empty) while it stays in use; returns what it linked and copied.
        :class:`InvalidArgumentError` if ``path`` is not empty."""
    def close(self) -> None:
        """Closes the database. Idempotent; later calls raise :class:`ClosedError`."""
    @overload
    def get(self, key: BytesLike) -> Optional[bytes]: ...
    @overload
    def get(self, key: BytesLike, default: _T) -> Union[bytes, _T]: ...
    def get_many(self, keys: Iterable[BytesLike]) -> List[Optional[bytes]]:
        """The value of each key, in order (``None`` where absent), all read at one
        consistent view; faster per key than a loop of ``get``."""
    def __getitem__(self, key: BytesLike, /) -> bytes:
        """The value of ``key``; ``KeyError`` if absent."""
    def put(
        self, key: BytesLike, value: BytesLike, *, sync: bool = False, disable_wal: bool = False
    ) -> None:
        """Sets ``key`` to ``value``. ``sync=True``: durable before it returns, whatever the
        sync mode; ``disable_wal=True``: not logged (lost by a crash before the next
        flush); both together raise :class:`InvalidArgumentError`."""
    def __setitem__(self, key: BytesLike, value: BytesLike, /) -> None:
        """Sets ``key`` to ``value``."""
    def delete(self, key: BytesLike, *, sync: bool = False, disable_wal: bool = False) -> None:
        """Deletes ``key`` (no error if absent); ``sync`` and ``disable_wal`` as for ``put``."""
    def delete_range(
        self,
        start: BytesLike,
        end: Optional[BytesLike] = None,
        *,
        sync: bool = False,
        disable_wal: bool = False,
    ) -> None:
        """Deletes every key in ``[start, end)`` in one atomic write, O(1) whatever the number
        of keys; ``end=None``: to the last key. :class:`InvalidArgumentError` if
        ``start > end``."""
    def __delitem__(self, key: BytesLike, /) -> None:
        """Deletes ``key``; ``KeyError`` if absent."""
    def __contains__(self, key: object, /) -> bool:
        """A point lookup."""
    def __len__(self) -> int:
        """The exact number of keys. O(n): counts them."""
    def __bool__(self) -> bool:
        """True if there is any key. O(1)."""
    def __iter__(self) -> Iterator[bytes]:
        """The keys in order."""
    def _iter(
        self,
        mode: int,
        start: Optional[BytesLike] = None,
        stop: Optional[BytesLike] = None,
        prefix: Optional[BytesLike] = None,
        reverse: bool = False,
    ) -> RangeIterator: ...
    def _count(
        self,
        start: Optional[BytesLike] = None,
        stop: Optional[BytesLike] = None,
        prefix: Optional[BytesLike] = None,
    ) -> int: ...
    def iterator(
        self,
        start: Optional[BytesLike] = None,
        stop: Optional[BytesLike] = None,
        *,
        prefix: Optional[BytesLike] = None,
        reverse: bool = False,
    ) -> Cursor:
        """A raw cursor within ``[start, stop)`` and ``prefix``."""
    def flush(self) -> None:
        """Writes the memtable to an SSTable now and waits for it."""
    def compact_range(self, start: Optional[BytesLike] = None, stop: Optional[BytesLike] = None) -> None:
        """Compacts every key in ``[start, stop]`` (inclusive) to the bottom level; waits."""
    def sync_wal(self) -> None:
        """Forces every acknowledged write to stable storage (one fsync of the WAL)."""
    def stats(self) -> Stats:
        """The engine's counters."""
    def property(self, name: str) -> Optional[str]:
        """The engine property ``name``, or ``None`` if unknown."""
    def __enter__(self: _T) -> _T:
        """The database."""
    def __exit__(self, *_args: object) -> bool:
        """Closes the database."""
    def __reduce__(self) -> Any:
        """Raises ``TypeError``: database handles cannot be pickled."""

class DB(_DB, _Reads, collections.abc.MutableMapping[bytes, bytes]):
    """An open kevo database: a mutable mapping of ``bytes`` to ``bytes``, sorted by key.

    ``len`` is exact and O(n); ``bool`` is O(1); ``in`` is a point lookup. Thread-safe.
    """

    def __iter__(self) -> Iterator[bytes]: ...
    def __contains__(self, key: object, /) -> bool: ...
    def __len__(self) -> int: ...
    @overload
    def get(self, key: BytesLike) -> Optional[bytes]: ...
    @overload
    def get(self, key: BytesLike, default: _T) -> Union[bytes, _T]: ...
    def __getitem__(self, key: BytesLike, /) -> bytes: ...
    def __setitem__(self, key: BytesLike, value: BytesLike, /) -> None: ...
    def snapshot(self) -> Snapshot:
        """A consistent read-only view as of now (a context manager)."""
    def transaction(self, serializable: bool = False) -> Transaction:
        """Begins an optimistic transaction (snapshot isolation, or serializable); a context
        manager that commits on success and rolls back on an exception."""
    def write_batch(self) -> WriteBatch:
        """A new empty batch (a context manager: written atomically on success)."""
    @overload
    def pop(self, key: BytesLike) -> bytes: ...
    @overload
    def pop(self, key: BytesLike, default: _T) -> Union[bytes, _T]: ...
    def popitem(self) -> Tuple[bytes, bytes]:
        """Removes and returns the entry with the smallest key."""
    def setdefault(self, key: BytesLike, default: BytesLike = b"") -> bytes:
        """``db[key]`` if present, else sets and returns ``default``."""
    def update(self, other: Union[Mapping[Any, Any], Iterable[Tuple[Any, Any]]] = (), /, **kwds: Any) -> None:  # type: ignore[override]
        """Sets every key of ``other`` in one atomic write batch."""
    def __delitem__(self, key: Union[BytesLike, slice], /) -> None:
        """``del db[key]`` (``KeyError`` if absent) or ``del db[start:stop]`` (one atomic
        range deletion; either end may be omitted)."""
    def clear(self) -> None:
        """Deletes every key in one atomic range deletion."""

def open(
    path: _Path,
    *,
    create_if_missing: bool = True,
    error_if_exists: bool = False,
    read_only: bool = False,
    sync_mode: Literal["none", "always", "batched"] = "none",
    sync_bytes: Optional[int] = None,
    sync_interval: Optional[float] = None,
    memtable_size: int = 16777216,
    max_immutable_memtables: int = 2,
    block_size: int = 4096,
    block_restart_interval: int = 16,
    bloom_bits_per_key: int = 10,
    l0_compaction_trigger: int = 4,
    l0_slowdown_writes_trigger: int = 8,
    l0_stop_writes_trigger: int = 20,
    target_file_size: int = 67108864,
    compaction_style: Literal["leveled", "tiered"] = "leveled",
    max_bytes_for_level_base: int = 67108864,
    level_size_multiplier: int = 10,
    tiered_size_ratio: int = 1,
    tiered_max_size_amplification_percent: int = 200,
    tiered_min_merge_width: int = 2,
    compression: Literal["none", "lz4", "zstd"] = "lz4",
    zstd_level: Optional[int] = None,
    max_background_compactions: int = 1,
    block_cache_size: int = 67108864,
    cache_index_and_filter_blocks: bool = False,
    max_open_files: int = 1000,
    wal_recovery_mode: Literal[
        "tolerate_corrupted_tail", "absolute_consistency", "point_in_time", "tolerate_incomplete_tail"
    ] = "tolerate_corrupted_tail",
    paranoid_checks: bool = True,
) -> DB:
    """Opens (creating it if missing, by default) the database in directory ``path``.

    Every engine option is a keyword with the engine's default (see :func:`default_options`).
    ``sync_bytes``/``sync_interval`` (seconds) apply to ``sync_mode="batched"`` only, and
    ``zstd_level`` (default 3) to ``compression="zstd"`` only. ``wal_recovery_mode`` says
    what opening does with damage in the write-ahead log; ``paranoid_checks`` opens and
    checks every SSTable at open.
    """

def run_transaction(
    db: DB,
    fn: Callable[[Transaction], _R],
    *,
    serializable: bool = False,
    retries: int = 10,
) -> _R:
    """Runs ``fn(txn)`` in a new transaction and commits it, retrying in a fresh transaction
    on :class:`ConflictError` up to ``retries`` times (then re-raising it), with the engine's
    back-off between attempts; returns ``fn``'s result. Other exceptions roll back and
    propagate."""

def default_options() -> dict[str, Any]:
    """Every keyword of :func:`open` with its default (the engine's)."""
