# The Python package (python/): build it into .venv, test it, demo it, benchmark it.
# Included by the root Makefile, which runs test-python in `make test` and demo-python in
# `make demo`.

VENV        ?= .venv
VENV_PY     := $(VENV)/bin/python
# Test tools, pinned to ranges known to work (maturin 1.16, pytest 8, hypothesis 6, mypy 1.x).
PY_TOOLS    := 'maturin>=1.9,<2' 'pytest>=8,<9' 'hypothesis>=6.100,<7' 'mypy>=1.18,<2' 'typing_extensions>=4.15'
PY_BENCH    := 'rocksdict>=0.3,<1' 'plyvel>=1.5,<2'
PIP         := $(VENV_PY) -m pip install --quiet --disable-pip-version-check

TESTS += test-python
DEMOS += demo-python

.PHONY: python-venv python-dev test-python test-python-wheel demo-python bench-python

python-venv:
	PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/venv.sh

## python-dev: .venv with the test tools and the kevo package built from python/ (release)
python-dev: python-venv
	$(PIP) $(PY_TOOLS)
	$(VENV)/bin/maturin develop --release --quiet -m python/Cargo.toml

## test-python: pytest (no test collected = failure), mypy --strict on a typed example,
## stubtest (stubs agree with the runtime), and `pip install ./python` in a fresh venv
test-python: python-dev
	$(VENV_PY) -m pytest -q -p no:cacheprovider python/tests
	$(VENV_PY) -m mypy --strict --no-incremental examples/python/typed_usage.py python/kevo/__init__.pyi
	cd python && ../$(VENV_PY) -m mypy.stubtest kevo
	$(MAKE) --no-print-directory test-python-wheel

# `pip install ./python` into a fresh virtual environment (an isolated PEP 517 build with
# maturin from PyPI; cargo reuses target/), then import and use it there.
test-python-wheel: python-venv
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(VENV_PY) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install --quiet --disable-pip-version-check ./python; \
	cd "$$tmp" && "$$tmp/venv/bin/python" -c 'import collections.abc, kevo; \
	db = kevo.open("db"); db[b"k"] = b"v"; assert db[b"k"] == b"v" and isinstance(db, collections.abc.MutableMapping); \
	db.close(); import pathlib; pkg = pathlib.Path(kevo.__file__).parent; \
	assert (pkg / "py.typed").exists() and (pkg / "__init__.pyi").exists(), list(pkg.iterdir()); \
	print("pip install ./python: ok,", pkg)'

## demo-python: the Python example over the demo database (after the main demo)
demo-python: demo-main python-dev
	$(VENV_PY) examples/python/cities.py demo/db
	$(VENV_PY) examples/python/typed_usage.py

## bench-python: kevo vs rocksdict and plyvel (PyPI wheels) from Python, BENCH_NUM entries
bench-python: python-dev
	$(PIP) --only-binary=:all: $(PY_BENCH)
	$(VENV_PY) python/benchmarks/bench.py --num $(or $(BENCH_NUM),1000000)
