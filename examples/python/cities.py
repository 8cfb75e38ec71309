"""Queries the demo database of GeoNames cities from Python (`make demo` runs it).

The database (demo/db, made by `make demo`'s main step) maps keys ``COUNTRY/Name/geonameid``
(e.g. ``FR/Paris/2988507``) to the city's compact JSON. Usage::

    python examples/python/cities.py demo/db
"""

from __future__ import annotations

import json
import sys

import kevo


def show(key: bytes, value: bytes) -> str:
    """One line for a city: its key, population and time zone."""
    city = json.loads(value)
    return f"{key.decode()}: population {city.get('population')}, {city.get('timezone')}"


def main(path: str) -> int:
    with kevo.open(path, create_if_missing=False) as db:
        print(f"# {db!r}")

        print("\n# A point lookup: the first key under FR/Paris/ (a cursor seek), then db[key]")
        cursor = db.iterator(prefix=b"FR/Paris/")
        cursor.seek_to_first()
        if cursor.valid():
            key = cursor.key()
            print(show(key, db[key]))
            print(f"{key!r} in db: {key in db}; b'FR/Atlantis/0' in db: {b'FR/Atlantis/0' in db}")

        print("\n# A prefix scan: cities in New Zealand (NZ/), the count and the first five")
        nz = db.items(prefix=b"NZ/")
        print(f"{len(nz)} cities")
        for i, (key, value) in enumerate(nz):
            if i == 5:
                break
            print("  " + show(key, value))

        print("\n# A reverse range: the last five keys in [JP/A, JP/B), descending")
        for i, key in enumerate(db.keys(start=b"JP/A", stop=b"JP/B", reverse=True)):
            if i == 5:
                break
            print(f"  {key.decode()}")

        print("\n# A snapshot: a write after it is invisible to it")
        with db.snapshot() as snap:
            db[b"ZZ/Demo/0"] = b'{"name":"Demo","population":1}'
            print(f"in the database: {b'ZZ/Demo/0' in db}; in the snapshot: {b'ZZ/Demo/0' in snap}")
            del db[b"ZZ/Demo/0"]

        print("\n# Every record, counted in Python")
        total = sum(1 for _ in db.keys())
        print(f"{total} records; levels: {[lvl['files'] for lvl in db.stats()['levels']]} files")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: cities.py DB_DIR", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
