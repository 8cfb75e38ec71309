"""The standard library's :mod:`dbm` interface on a kevo database.

Code written for :mod:`dbm` (and :class:`shelve.Shelf`, which takes any such object) runs
on kevo unchanged::

    import shelve
    import kevo.dbm

    with shelve.Shelf(kevo.dbm.open("cache.kevo", "c")) as shelf:
        shelf["config"] = {"retries": 3}

:func:`open` takes the flags of :func:`dbm.open`:

``'r'``
    open an existing database read-only (the default); other processes may write it
    meanwhile. Writes raise :class:`error`.
``'w'``
    open an existing database for reading and writing.
``'c'``
    open for reading and writing, creating the database if it is missing.
``'n'``
    always start empty: create the database, or delete every key of an existing one (with
    :meth:`kevo.DB.clear`).

The modifier letters of :mod:`dbm.gnu` (``'f'``, ``'s'``, ``'u'``) are accepted and ignored:
kevo always writes through its WAL, and its own ``LOCK`` already keeps a second writer out.
``mode`` is accepted for compatibility and ignored (the database directory is created with
the process's umask).

Keys and values are ``bytes``; a ``str`` is encoded as UTF-8 first, as the standard
modules do. Reads return ``bytes``. A missing key raises :class:`KeyError`. Every other
failure, including any use after :meth:`_Database.close`, raises :class:`error`, which is
both a :class:`kevo.Error` and an :class:`OSError` (like ``dbm.gnu.error``).
"""

import os
from typing import Iterator, List, Optional, Union

import kevo

__all__ = ["error", "open"]

_KeyLike = Union[str, bytes, bytearray, memoryview]


class error(kevo.Error, OSError):  # noqa: N801 - the dbm modules' name
    """Raised for every failure of a :mod:`kevo.dbm` database other than a missing key."""


def _encode(value: object, what: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"dbm {what}s must be str or bytes, not {type(value).__name__}")


class _Database:
    """An open database: ``db[key]``, ``db[key] = value``, ``del db[key]``, ``key in db``,
    ``len(db)``, iteration over the keys in sorted order, :meth:`keys`, :meth:`get`,
    :meth:`setdefault`, :meth:`sync`, :meth:`close`, and the context-manager protocol."""

    def __init__(self, db: kevo.DB, writable: bool) -> None:
        self._db: Optional[kevo.DB] = db
        self._writable = writable

    def _open_db(self) -> kevo.DB:
        if self._db is None:
            raise error("the dbm database has already been closed")
        return self._db

    def _writable_db(self) -> kevo.DB:
        db = self._open_db()
        if not self._writable:
            raise error("the dbm database was opened read-only (flag 'r')")
        return db

    def __getitem__(self, key: _KeyLike) -> bytes:
        db = self._open_db()
        try:
            value = db.get(_encode(key, "key"))
        except kevo.Error as e:
            raise error(str(e)) from e
        if value is None:
            raise KeyError(key)
        return value

    def get(self, key: _KeyLike, default: Optional[bytes] = None) -> Optional[bytes]:
        """The value of ``key``, or ``default`` if it is absent."""
        try:
            return self[key]
        except KeyError:
            return default

    def __setitem__(self, key: _KeyLike, value: _KeyLike) -> None:
        db = self._writable_db()
        k, v = _encode(key, "key"), _encode(value, "value")
        try:
            db[k] = v
        except kevo.Error as e:
            raise error(str(e)) from e

    def setdefault(self, key: _KeyLike, default: _KeyLike = b"") -> bytes:
        """``db[key]`` if present, else sets it to ``default`` and returns that."""
        value = self.get(key)
        if value is None:
            self[key] = default
            return _encode(default, "value")
        return value

    def __delitem__(self, key: _KeyLike) -> None:
        db = self._writable_db()
        try:
            del db[_encode(key, "key")]
        except kevo.Error as e:
            raise error(str(e)) from e

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, (str, bytes, bytearray, memoryview)):
            return False
        try:
            return _encode(key, "key") in self._open_db()
        except kevo.Error as e:
            raise error(str(e)) from e

    def keys(self) -> List[bytes]:
        """Every key, in sorted order (a list, as the standard modules return)."""
        return list(self)

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._open_db()
        except kevo.Error as e:
            raise error(str(e)) from e

    def __len__(self) -> int:
        """The number of keys. O(n): kevo counts them."""
        try:
            return len(self._open_db())
        except kevo.Error as e:
            raise error(str(e)) from e

    def sync(self) -> None:
        """Forces every write so far to stable storage (one fsync of the WAL)."""
        db = self._open_db()
        if self._writable:
            try:
                db.sync_wal()
            except kevo.Error as e:
                raise error(str(e)) from e

    def close(self) -> None:
        """Closes the database. Idempotent; any other call afterwards raises :class:`error`."""
        if self._db is not None:
            db, self._db = self._db, None
            try:
                db.close()
            except kevo.Error as e:
                raise error(str(e)) from e

    def __enter__(self) -> "_Database":
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_db", None) is not None:
            try:
                self.close()
            except error:
                pass

    def __repr__(self) -> str:
        if self._db is None:
            return "<kevo.dbm database (closed)>"
        mode = "read-write" if self._writable else "read-only"
        return f"<kevo.dbm database {str(self._db.path)!r} ({mode})>"


def open(  # noqa: A001 - the dbm modules' name
    file: Union[str, "os.PathLike[str]"], flag: str = "r", mode: int = 0o666
) -> _Database:
    """Opens the kevo database in directory ``file`` with a :func:`dbm.open` ``flag``
    (``'r'``, ``'w'``, ``'c'`` or ``'n'``; see the module documentation). ``mode`` is
    ignored.

    Errors: :class:`error` if the database is missing for ``'r'``/``'w'``, is open for
    writing elsewhere (``'w'``, ``'c'``, ``'n'``), or cannot be read; ``ValueError`` for an
    unknown flag.
    """
    del mode
    if not flag or flag[0] not in "rwcn" or any(c not in "fsu" for c in flag[1:]):
        raise ValueError(f"flag must be 'r', 'w', 'c' or 'n' (optionally with f, s, u), not {flag!r}")
    kind = flag[0]
    try:
        if kind == "r":
            return _Database(kevo.open(file, read_only=True, create_if_missing=False), False)
        db = kevo.open(file, create_if_missing=kind in "cn")
    except kevo.Error as e:
        raise error(str(e)) from e
    if kind == "n":
        try:
            db.clear()
        except kevo.Error as e:
            db.close()
            raise error(str(e)) from e
    return _Database(db, True)
