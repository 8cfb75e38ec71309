# kevo. Set-up is two commands: `make demo` and `make test` (see README.md).

SHELL  := /bin/bash
CARGO  ?= cargo
PYTHON ?= python3

.PHONY: all build demo test toolchain bench clean

all: build

## build: the kevo command-line tool, release mode (target/release/kevo)
build:
	$(CARGO) build --release -p kevo-cli

## demo: build, import ~235,000 GeoNames cities into demo/db, query them, run kevo bench
demo:
	bash scripts/demo.sh

## test: formatting, lints, the Python script's tests, the README example, every Rust test
test: toolchain
	$(CARGO) fmt --all --check
	$(PYTHON) -m unittest discover -s scripts -p 'test_*.py'
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) run --release --quiet --example basic
	$(CARGO) test --workspace --release

# rustfmt and clippy come with the toolchain; add them if this one lacks them.
toolchain:
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy

## bench: the workspace's cargo benchmarks
bench:
	$(CARGO) bench --workspace

## clean: build output, the demo's data and database, the Python environment
clean:
	$(CARGO) clean
	rm -rf demo .venv
