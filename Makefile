# kevo. Set-up is two commands: `make demo` and `make test` (see README.md).

SHELL  := /bin/bash
CARGO  ?= cargo
PYTHON ?= python3

.PHONY: all build demo demo-main test test-rust lint toolchain bench crash-test server-rss clean

# Each binding adds its own test and demo steps from mk/<binding>.mk (appending to TESTS and
# DEMOS), so the targets below stay short and every binding's rules live in one file.
TESTS := test-rust
DEMOS :=
include $(sort $(wildcard mk/*.mk))

all: build

## build: the kevo command-line tool, release mode (target/release/kevo)
build:
	$(CARGO) build --release -p kevo-cli

## demo: build, import ~235,000 GeoNames cities into demo/db, query them, run kevo bench,
## then each binding's demo (DEMOS)
demo: demo-main $(DEMOS)

demo-main:
	bash scripts/demo.sh

## test: lints, then the Rust tests, then each binding's tests (TESTS)
test: lint $(TESTS)

lint: toolchain
	$(CARGO) fmt --all --check
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml --check
	$(PYTHON) -m unittest discover -s scripts -p 'test_*.py'
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-rust:
	$(CARGO) run --release --quiet --example basic
	$(CARGO) test --workspace --release

# rustfmt and clippy come with the toolchain; add them if this one lacks them.
toolchain:
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy

## crash-test: the SIGKILL crash loop at scale (10,000 cycles; `make test` runs 300)
crash-test:
	KEVO_KILL_CYCLES=$${KEVO_KILL_CYCLES:-10000} $(CARGO) test --release -p kevo --test kill -- --nocapture

## server-rss: kevo serve streams a scan of 1,000,000 keys (~230 MB of NDJSON) while the
## process's RSS grows by under 64 MiB (the #[ignore]d test of server/tests/load.rs)
server-rss:
	$(CARGO) test --release -p kevo-server --test load -- --ignored --nocapture

## bench: the workspace's cargo benchmarks
bench:
	$(CARGO) bench --workspace

## clean: build output, the demo's data and database, the Python environment
clean:
	$(CARGO) clean
	rm -rf demo .venv
