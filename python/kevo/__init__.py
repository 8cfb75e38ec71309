"""kevo: an embedded LSM-tree key-value store with a dict-like interface.

The storage engine is Rust (the ``kevo`` crate); this package is a thin layer over it::

    import kevo

    with kevo.open("/tmp/cities") as db:
        db[b"FR/Paris"] = b"2138551"
        assert db[b"FR/Paris"] == b"2138551"
        for key, value in db.items(prefix=b"FR/"):
            print(key, value)

:class:`DB` is a :class:`collections.abc.MutableMapping` of ``bytes`` to ``bytes``. Keys and
values may be passed as ``bytes``, ``bytearray`` or ``memoryview``; reads return ``bytes``.
See ``python/README.md`` for the whole API, the errors, and the threading and fork rules.
"""

from __future__ import annotations

import collections.abc as _abc
import inspect
import os
from typing import Any, Callable, Iterator, List, Optional, Tuple, TypedDict, TypeVar, Union

from kevo._kevo import (
    MAX_KEY_SIZE,
    MAX_VALUE_SIZE,
    BackgroundError,
    BackupEngine,
    BackupInfo,
    ClosedError,
    ConflictError,
    CorruptionError,
    Cursor,
    Error,
    ForkError,
    InvalidArgumentError,
    IoError,
    LockedError,
    NotFoundError,
    RangeIterator,
    ReadOnlyError,
    WriteBatch,
    _DB,
    _DEFAULT_RETRIES,
    _Snapshot,
    _Transaction,
    __version__,
    _run_transaction,
    default_options,
)

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

_MISSING: Any = object()

_R = TypeVar("_R")

#: What keys and values may be passed as.
BytesLike = Union[bytes, bytearray, memoryview]


class LevelStats(TypedDict):
    """Files and bytes of one level of the LSM tree (an entry of ``Stats["levels"]``)."""

    files: int
    bytes: int


class Stats(TypedDict):
    """The engine's counters, from :meth:`DB.stats` (byte counts, times in microseconds)."""

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


def _as_bytes(key: object) -> bytes:
    if isinstance(key, bytes):
        return key
    if isinstance(key, (bytearray, memoryview)):
        return bytes(key)
    raise TypeError(
        "keys and values must be bytes, bytearray or memoryview, not " + type(key).__name__
    )


class _Range:
    """The range arguments shared by the views."""

    __slots__ = ()
    _mapping: Any
    _start: Optional[bytes]
    _stop: Optional[bytes]
    _prefix: Optional[bytes]
    _reverse: bool

    def _set_range(
        self,
        start: Optional[BytesLike],
        stop: Optional[BytesLike],
        prefix: Optional[BytesLike],
        reverse: bool,
    ) -> None:
        self._start = None if start is None else _as_bytes(start)
        self._stop = None if stop is None else _as_bytes(stop)
        self._prefix = None if prefix is None else _as_bytes(prefix)
        self._reverse = bool(reverse)

    def _in_range(self, key: bytes) -> bool:
        return (
            (self._start is None or key >= self._start)
            and (self._stop is None or key < self._stop)
            and (self._prefix is None or key.startswith(self._prefix))
        )

    def _iter_mode(self, mode: int, reverse: bool) -> Any:
        return self._mapping._iter(mode, self._start, self._stop, self._prefix, reverse)

    def __len__(self) -> int:
        """Number of keys in range. O(n): counts them."""
        n: int = self._mapping._count(self._start, self._stop, self._prefix)
        return n

    def _range_repr(self) -> str:
        args = []
        for name in ("start", "stop", "prefix"):
            v = getattr(self, "_" + name)
            if v is not None:
                args.append(f"{name}={v!r}")
        if self._reverse:
            args.append("reverse=True")
        return f"{type(self).__name__}({', '.join(args)})"

    __repr__ = _range_repr


class KeysView(_Range, _abc.KeysView):  # type: ignore[type-arg]
    """The keys of a :class:`DB` or :class:`Snapshot` in order (or reverse order), within an
    optional range. Iterable, sized (O(n)), ``in`` is a point lookup; set operations return
    ``set`` objects. Re-iterating reads the database again (it is a live view)."""

    __slots__ = ("_start", "_stop", "_prefix", "_reverse")

    def __init__(
        self,
        mapping: Any,
        start: Optional[BytesLike] = None,
        stop: Optional[BytesLike] = None,
        prefix: Optional[BytesLike] = None,
        reverse: bool = False,
    ) -> None:
        self._mapping = mapping
        self._set_range(start, stop, prefix, reverse)

    def __iter__(self) -> Iterator[bytes]:
        it: Iterator[bytes] = self._iter_mode(0, self._reverse)
        return it

    def __reversed__(self) -> Iterator[bytes]:
        it: Iterator[bytes] = self._iter_mode(0, not self._reverse)
        return it

    def __contains__(self, key: object) -> bool:
        k = _as_bytes(key)
        return self._in_range(k) and k in self._mapping


class ValuesView(_Range, _abc.ValuesView):  # type: ignore[type-arg]
    """The values of a :class:`DB` or :class:`Snapshot` in key order (or reverse), within an
    optional range. ``in`` scans the range (O(n))."""

    __slots__ = ("_start", "_stop", "_prefix", "_reverse")

    def __init__(
        self,
        mapping: Any,
        start: Optional[BytesLike] = None,
        stop: Optional[BytesLike] = None,
        prefix: Optional[BytesLike] = None,
        reverse: bool = False,
    ) -> None:
        self._mapping = mapping
        self._set_range(start, stop, prefix, reverse)

    def __iter__(self) -> Iterator[bytes]:
        it: Iterator[bytes] = self._iter_mode(1, self._reverse)
        return it

    def __reversed__(self) -> Iterator[bytes]:
        it: Iterator[bytes] = self._iter_mode(1, not self._reverse)
        return it

    def __contains__(self, value: object) -> bool:
        return any(v == value for v in self)


class ItemsView(_Range, _abc.ItemsView):  # type: ignore[type-arg]
    """The ``(key, value)`` pairs of a :class:`DB` or :class:`Snapshot` in key order (or
    reverse), within an optional range. ``in`` is a point lookup."""

    __slots__ = ("_start", "_stop", "_prefix", "_reverse")

    def __init__(
        self,
        mapping: Any,
        start: Optional[BytesLike] = None,
        stop: Optional[BytesLike] = None,
        prefix: Optional[BytesLike] = None,
        reverse: bool = False,
    ) -> None:
        self._mapping = mapping
        self._set_range(start, stop, prefix, reverse)

    def __iter__(self) -> Iterator[Tuple[bytes, bytes]]:
        it: Iterator[Tuple[bytes, bytes]] = self._iter_mode(2, self._reverse)
        return it

    def __reversed__(self) -> Iterator[Tuple[bytes, bytes]]:
        it: Iterator[Tuple[bytes, bytes]] = self._iter_mode(2, not self._reverse)
        return it

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, tuple) or len(item) != 2:
            return False
        k = _as_bytes(item[0])
        if not self._in_range(k):
            return False
        v = self._mapping.get(k, _MISSING)
        return v is not _MISSING and bool(v == item[1])


class _Reads:
    """The range reads and equality shared by :class:`DB` and :class:`Snapshot`."""

    __slots__ = ()

    def keys(
        self,
        *,
        start: Optional[BytesLike] = None,
        stop: Optional[BytesLike] = None,
        prefix: Optional[BytesLike] = None,
        reverse: bool = False,
    ) -> KeysView:
        """The keys in ``[start, stop)`` that start with ``prefix``, in order (descending if
        ``reverse``). A view: iterable, ``len()`` (O(n)), ``in`` (a point lookup)."""
        return KeysView(self, start, stop, prefix, reverse)

    def values(
        self,
        *,
        start: Optional[BytesLike] = None,
        stop: Optional[BytesLike] = None,
        prefix: Optional[BytesLike] = None,
        reverse: bool = False,
    ) -> ValuesView:
        """The values of the keys in ``[start, stop)`` that start with ``prefix``, in key
        order (descending if ``reverse``)."""
        return ValuesView(self, start, stop, prefix, reverse)

    def items(
        self,
        *,
        start: Optional[BytesLike] = None,
        stop: Optional[BytesLike] = None,
        prefix: Optional[BytesLike] = None,
        reverse: bool = False,
    ) -> ItemsView:
        """``(key, value)`` for the keys in ``[start, stop)`` that start with ``prefix``, in
        key order (descending if ``reverse``)."""
        return ItemsView(self, start, stop, prefix, reverse)

    def __eq__(self, other: object) -> bool:
        """Equal to any mapping with the same keys and values (compared in one pass)."""
        if not isinstance(other, _abc.Mapping):
            return NotImplemented
        n = 0
        for k, v in self.items():
            n += 1
            try:
                if other[k] != v:
                    return False
            except KeyError:
                return False
        return n == len(other)

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]


class Snapshot(_Snapshot, _Reads, _abc.Mapping):  # type: ignore[type-arg,misc]
    """A consistent, read-only view of a database as of the moment it was taken, from
    :meth:`DB.snapshot`. A :class:`collections.abc.Mapping` with the read methods of
    :class:`DB`. As a context manager it is released when the block ends; ``release()``
    does the same. Reads after release, or after the database was closed, raise
    :class:`ClosedError`."""

    __slots__ = ()


class Transaction(_Transaction, _Reads, _abc.MutableMapping):  # type: ignore[type-arg,misc]
    """An optimistic transaction, from :meth:`DB.transaction`: a
    :class:`collections.abc.MutableMapping` of what the transaction sees, which is the
    database as of the moment it began plus its own writes (read-your-writes, for point reads
    and for ``keys``/``values``/``items``).

    Writes stay in the transaction until :meth:`commit`, which checks for conflicts and
    writes them all atomically, or raises :class:`ConflictError` and writes nothing. As a
    context manager it commits when the block ends normally and rolls back when it raises.
    After ``commit()`` or ``rollback()`` every call raises :class:`InvalidArgumentError`.
    Reads after the database was closed raise :class:`ClosedError`. Meant for one thread at
    a time.
    """

    __slots__ = ()

    def pop(self, key: BytesLike, default: Any = _MISSING) -> Any:
        """Removes ``key`` and returns its value; ``default`` (or ``KeyError``) if absent."""
        value = self.get(key, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                raise KeyError(key)
            return default
        self.delete(key)
        return value

    def popitem(self) -> Tuple[bytes, bytes]:
        """Removes and returns the entry with the smallest key; ``KeyError`` if empty."""
        for key, value in self.items():
            self.delete(key)
            return key, value
        raise KeyError("popitem(): the transaction sees no key")

    def setdefault(self, key: BytesLike, default: BytesLike = b"") -> bytes:  # type: ignore[override]
        """``txn[key]`` if present, else sets it to ``default`` and returns that."""
        value: Optional[bytes] = self.get(key)
        if value is None:
            self[key] = default
            return _as_bytes(default)
        return value

    def clear(self) -> None:
        """Deletes every key the transaction sees (one scan; the deletes are buffered)."""
        for key in list(self.keys()):
            self.delete(key)


class DB(_DB, _Reads, _abc.MutableMapping):  # type: ignore[type-arg,misc]
    """An open kevo database: a :class:`collections.abc.MutableMapping` of ``bytes`` to
    ``bytes``, kept sorted by key. Use :func:`open` or ``DB(path, **options)``.

    ``len(db)`` is exact and O(n) (it counts the keys); ``bool(db)`` is O(1); ``key in db``
    is a point lookup. Safe to share between threads.
    """

    __slots__ = ()

    def snapshot(self) -> Snapshot:
        """A consistent read-only view of the database as of now (a context manager)."""
        return Snapshot(self)

    def transaction(self, serializable: bool = False) -> Transaction:
        """Begins an optimistic transaction: snapshot isolation by default, serializable if
        ``serializable`` (also fails the commit when a key or range it read was written
        since it began). ``with db.transaction() as txn:`` commits when the block ends
        normally and rolls back if it raises. See also :func:`run_transaction`."""
        return Transaction(self, serializable)

    def write_batch(self) -> WriteBatch:
        """A new, empty write batch: ``with db.write_batch() as b: b[k] = v`` writes every
        operation atomically when the block ends, and nothing if it raises."""
        return WriteBatch(self)

    def pop(self, key: BytesLike, default: Any = _MISSING) -> Any:
        """Removes ``key`` and returns its value; ``default`` (or ``KeyError``) if absent."""
        value = self.get(key, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                raise KeyError(key)
            return default
        self.delete(key)
        return value

    def popitem(self) -> Tuple[bytes, bytes]:
        """Removes and returns the entry with the smallest key (``dict`` removes the last
        inserted one; a sorted store has no insertion order); ``KeyError`` if empty."""
        for key, value in self.items():
            self.delete(key)
            return key, value
        raise KeyError("popitem(): database is empty")

    def setdefault(self, key: BytesLike, default: BytesLike = b"") -> bytes:  # type: ignore[override]
        """``db[key]`` if present, else sets it to ``default`` (``b""`` by default: values
        are bytes) and returns that."""
        value: Optional[bytes] = self.get(key)
        if value is None:
            self[key] = default
            return _as_bytes(default)
        return value

    def update(self, other: Any = (), /, **kwds: Any) -> None:
        """Sets every key of ``other`` (a mapping, or an iterable of pairs) in one atomic
        write batch. Keyword arguments are accepted like ``dict.update`` but their keys are
        ``str`` and so raise ``TypeError``."""
        with self.write_batch() as batch:
            if isinstance(other, _abc.Mapping):
                for key in other:
                    batch[key] = other[key]
            elif hasattr(other, "keys"):
                for key in other.keys():
                    batch[key] = other[key]
            else:
                for key, value in other:
                    batch[key] = value
            for key, value in kwds.items():
                batch[key] = value

    def clear(self) -> None:
        """Deletes every key in one atomic range deletion (O(1) whatever the size: readers
        see all keys or none). It covers every key up to the largest present when it runs;
        a larger key written concurrently may survive it."""
        self.delete_range(b"")

    def __delitem__(self, key: Any) -> None:
        """``del db[key]`` (``KeyError`` if absent), or ``del db[start:stop]``: one atomic
        range deletion of ``start <= k < stop`` (either end may be omitted; no step)."""
        if isinstance(key, slice):
            if key.step is not None:
                raise ValueError("del db[start:stop] takes no step")
            self.delete_range(b"" if key.start is None else key.start, key.stop)
            return
        super().__delitem__(key)


def open(path: Union[str, os.PathLike[str]], **options: Any) -> DB:  # noqa: A001
    """Opens (creating it if missing, by default) the database in directory ``path``.

    Every engine option is a keyword; see :func:`default_options` for the names and
    defaults. With ``read_only=True`` the database is opened without its lock and nothing
    is written: any number of read-only opens may sit beside one writer, in this process or
    others; they see the database as of the open (the writer's unflushed writes included)
    until :meth:`DB.refresh`, and every write raises :class:`ReadOnlyError`.
    Errors: :class:`LockedError` if the directory is open elsewhere (for writing),
    :class:`NotFoundError` if it does not exist and ``create_if_missing=False``,
    :class:`InvalidArgumentError` for a bad option value, ``TypeError`` for an unknown
    keyword or a wrongly typed value, :class:`CorruptionError`, :class:`IoError`.
    """
    return DB(path, **options)


def run_transaction(
    db: DB,
    fn: Callable[[Transaction], _R],
    *,
    serializable: bool = False,
    retries: int = _DEFAULT_RETRIES,
) -> _R:
    """Runs ``fn(txn)`` in a new transaction and commits it, running it again in a fresh
    transaction when the commit raises :class:`ConflictError`, up to ``retries`` times
    (so at most ``retries + 1`` calls); then re-raises the last :class:`ConflictError`.
    Returns what ``fn`` returned. Before each retry it sleeps a random time, as the engine's
    retry policy says (``kevo::RetryPolicy``: up to 1 ms, doubling per retry, at most 50 ms),
    so that colliding writers spread out; the GIL is released meanwhile.

    ``fn`` may commit or roll back itself (then nothing more is done); if it raises anything
    else, the transaction is rolled back and the exception propagates without a retry.
    ``fn`` should have no effects besides the transaction: it may run several times.
    ``retries < 0`` raises :class:`InvalidArgumentError` (a ``ValueError``).
    """
    result: _R = _run_transaction(db, fn, serializable, retries)
    return result


def _open_signature() -> inspect.Signature:
    """`open`'s signature with every option and its default, from the engine's defaults, so
    that ``help(kevo.open)`` and ``inspect.signature`` show them."""
    params = [inspect.Parameter("path", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for name, default in default_options().items():
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default))
    return inspect.Signature(params, return_annotation="DB")


open.__signature__ = _open_signature()  # type: ignore[attr-defined]

