"""A small, fully typed use of kevo: `mypy --strict` checks it against the package's stubs
(`make test` does), and it runs: `python examples/python/typed_usage.py [DIR]`."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import MutableMapping
from typing import Dict, List, Optional, Tuple

import kevo


def load(db: kevo.DB, cities: Dict[bytes, bytes]) -> int:
    """Writes `cities` atomically; returns how many keys the database holds."""
    db.update(cities)
    with db.write_batch() as batch:
        batch[b"tmp"] = b"x"
        batch.delete(b"tmp")
    return len(db)


def first_in(db: kevo.DB, prefix: bytes) -> Optional[Tuple[bytes, bytes]]:
    """The first entry whose key starts with `prefix`, or None."""
    for key, value in db.items(prefix=prefix):
        return key, value
    return None


def move(txn: kevo.Transaction, src: bytes, dst: bytes) -> int:
    """Moves the population of `src` to `dst` within `txn`; returns the new total of `dst`."""
    moved = int(txn.get(src, b"0"))
    total = int(txn.get(dst, b"0")) + moved
    txn[src] = b"0"
    txn[dst] = str(total).encode()
    return total


def main(path: str) -> None:
    with kevo.open(path, sync_mode="none", compression="zstd", zstd_level=3) as db:
        mapping: MutableMapping[bytes, bytes] = db
        n = load(db, {b"FR/Paris": b"2138551", b"FR/Lyon": b"522969", b"NZ/Auckland": b"417910"})
        paris: Optional[bytes] = mapping.get(b"FR/Paris")
        missing: bytes | str = db.get(b"XX/Nowhere", "absent")
        french: List[bytes] = list(db.keys(prefix=b"FR/"))
        backwards: List[bytes] = list(db.keys(reverse=True))
        with db.snapshot() as snap:
            db[b"NZ/Wellington"] = b"215400"
            before: int = len(snap)
        cursor: kevo.Cursor = db.iterator()
        cursor.seek_for_prev(b"G")
        last_fr: bytes = cursor.key() if cursor.valid() else b""
        stats: kevo.Stats = db.stats()
        levels: int = len(stats["levels"])
        prop: Optional[str] = db.property("kevo.stats")
        try:
            db[b""] = b"empty keys are refused"
        except kevo.InvalidArgumentError as e:
            refused = str(e)
        print(n, paris, missing, french, backwards[0], before, last_fr, levels, prop is not None, refused)
        print(first_in(db, b"NZ/"))
        with db.transaction() as txn:
            txn[b"NZ/Hamilton"] = b"185300"
            seen: List[Tuple[bytes, bytes]] = list(txn.items(prefix=b"NZ/", reverse=True))
        merged: int = kevo.run_transaction(
            db, lambda t: move(t, b"NZ/Hamilton", b"NZ/Auckland"), serializable=True, retries=3
        )
        try:
            txn.commit()
        except kevo.InvalidArgumentError:
            print("finished", len(seen), merged)
    try:
        db.get(b"FR/Paris")
    except kevo.ClosedError:
        print("closed")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as d:
            main(d)
