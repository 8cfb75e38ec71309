# libkevo, the C ABI (ffi/, include/kevo.h, examples-c/). Included by the root Makefile.
#
#   make test-c                 build libkevo; compile kevo.h as C99 and C++17; build and run
#                               every C example, test_misuse and test_faults under valgrind;
#                               install into a temporary PREFIX and build hello.c there
#                               through pkg-config
#   make demo-c                 hello.c against demo/db (after the main demo)
#   make install PREFIX=/usr/local [DESTDIR=]
#                               libkevo.so.1 (+ libkevo.so link), libkevo.a, kevo.h, kevo.pc
#   make header                 regenerate include/kevo.h from ffi/src (cbindgen)
#   make asan-c                 the examples, test_misuse and test_faults with AddressSanitizer
#                               on both sides (libkevo built with -Zsanitizer=address, dev
#                               profile, in target/asan); any ASan or LeakSanitizer report
#                               fails it
#   make bench-c [BENCH_C_NUM=1000000 BENCH_C_OPS=N BENCH_C_RUNS=5]
#                               the C ABI's cost: examples-c/bench.c vs the same Rust workload
#
# test_faults (examples-c/test_faults.c: corrupt SSTables, damaged WALs, a full disk) runs
# through scripts/with-tmpfs.sh, which gives it a fresh temporary directory and, as root, a
# 4 MiB tmpfs for its full-disk case (unmounted on exit, even on failure); not as root, that
# case is skipped with a message. `make test` runs both test-c and asan-c.

.PHONY: ffi-lib test-c demo-c install header bench-c asan-c valgrind-available

TESTS += test-c asan-c
DEMOS += demo-c

PREFIX       ?= /usr/local
KEVO_LIBDIR  := target/release
KEVO_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
KEVO_ABI     := $(shell sed -n 's/^pub const KEVO_ABI_VERSION: u32 = \([0-9]*\);/\1/p' ffi/src/lib.rs)
# Definite leaks fail the run. "Possibly lost" is hidden: the handle registry is a static
# hash table that hashbrown points into the middle of, which valgrind reports that way.
VALGRIND     := valgrind --quiet --error-exitcode=99 --leak-check=full \
                --errors-for-leak-kinds=definite --show-possibly-lost=no
BENCH_C_NUM  ?= 1000000
BENCH_C_OPS  ?= $(BENCH_C_NUM)
BENCH_C_RUNS ?= 5

ffi-lib:
	$(CARGO) build --release -p kevo-ffi

valgrind-available:
	@command -v valgrind >/dev/null || { \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	        apt-get update -qq && apt-get install -y -qq valgrind; \
	    else \
	        echo "error: make test-c needs valgrind (apt-get install valgrind)" >&2; exit 1; \
	    fi; }

test-c: ffi-lib valgrind-available
	@readelf -d $(KEVO_LIBDIR)/libkevo.so | grep -q 'SONAME.*\[libkevo.so.$(KEVO_ABI)\]' \
	    || { echo "error: libkevo.so lacks the SONAME libkevo.so.$(KEVO_ABI)" >&2; exit 1; }
	$(MAKE) -C examples-c header-check all
	@set -e; for p in hello batch snapshot iterate transaction multi_get read_only checkpoint delete_range backup test_misuse; do \
	    echo "== valgrind examples-c/build/$$p"; \
	    $(VALGRIND) examples-c/build/$$p; \
	done
	@echo "== valgrind examples-c/build/test_faults"
	@scripts/with-tmpfs.sh test_faults 4m $(VALGRIND) examples-c/build/test_faults
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	    echo "== make install PREFIX=$$tmp, then hello.c through pkg-config"; \
	    $(MAKE) --no-print-directory install PREFIX="$$tmp" >/dev/null; \
	    rm -rf examples-c/build-pkg; \
	    PKG_CONFIG_PATH="$$tmp/lib/pkgconfig" $(MAKE) --no-print-directory -C examples-c \
	        KEVO_PKG_CONFIG=1 build-pkg/hello; \
	    ldd examples-c/build-pkg/hello | grep -q "$$tmp/lib/libkevo.so.$(KEVO_ABI)" \
	        || { echo "error: hello is not linked to the installed libkevo" >&2; exit 1; }; \
	    $(VALGRIND) examples-c/build-pkg/hello; \
	    rm -rf examples-c/build-pkg

demo-c: demo-main ffi-lib
	$(MAKE) -C examples-c build/hello
	examples-c/build/hello demo/db

install: ffi-lib
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(KEVO_LIBDIR)/libkevo.so $(DESTDIR)$(PREFIX)/lib/libkevo.so.$(KEVO_ABI)
	ln -sf libkevo.so.$(KEVO_ABI) $(DESTDIR)$(PREFIX)/lib/libkevo.so
	install -m 644 $(KEVO_LIBDIR)/libkevo.a $(DESTDIR)$(PREFIX)/lib/libkevo.a
	install -m 644 include/kevo.h $(DESTDIR)$(PREFIX)/include/kevo.h
	printf '%s\n' \
	    'prefix=$(PREFIX)' \
	    'libdir=$${prefix}/lib' \
	    'includedir=$${prefix}/include' \
	    '' \
	    'Name: kevo' \
	    'Description: embedded LSM-tree key-value storage engine (C API)' \
	    'Version: $(KEVO_VERSION)' \
	    'Libs: -L$${libdir} -lkevo' \
	    'Libs.private: -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc' \
	    'Cflags: -I$${includedir}' \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/kevo.pc
	@echo "installed libkevo $(KEVO_VERSION) (ABI $(KEVO_ABI)) into $(DESTDIR)$(PREFIX)"

header:
	KEVO_BLESS=1 $(CARGO) test --release -p kevo-ffi --test header

# Runs C and Rust alternately (each goes first in every other run) and prints the medians:
# these shared machines are noisy, so only ratios within one session mean anything.
bench-c: ffi-lib
	$(MAKE) -C examples-c build/bench
	$(CARGO) build --release -p kevo-ffi --example bench_rust
	@set -o pipefail; for i in $$(seq $(BENCH_C_RUNS)); do \
	    echo "== run $$i, N=$(BENCH_C_NUM) OPS=$(BENCH_C_OPS)"; \
	    progs="examples-c/build/bench $(KEVO_LIBDIR)/examples/bench_rust"; \
	    [ $$((i % 2)) = 0 ] && progs="$(KEVO_LIBDIR)/examples/bench_rust examples-c/build/bench"; \
	    for p in $$progs; do $$p $(BENCH_C_NUM) $(BENCH_C_OPS) || exit 1; done; \
	done | tee /dev/stderr | $(PYTHON) examples-c/bench_summary.py

# -Zsanitizer=address is nightly-only, so RUSTC_BOOTSTRAP=1 lets the stable toolchain accept
# it; that is for this test build only, never for the shipped library (ffi-lib). An explicit
# --target (the host's own triple, asked of rustc, so any 64-bit Linux host works) makes
# RUSTFLAGS apply to the target crates only, which keeps build scripts and proc-macros
# uninstrumented: they run inside cargo, where the ASan runtime is not loaded. The dev
# profile at its opt-level 0 is the fastest overall: from clean, its build took 46 s and the
# programs about 10 s; at opt-level 1 the build took 94 s and the programs 4 s.
HOST_TRIPLE   := $(shell rustc -vV | sed -n 's/^host: //p')
ASAN_LIBDIR   := target/asan/$(HOST_TRIPLE)/debug
ASAN_PROGRAMS := hello batch snapshot iterate transaction multi_get read_only checkpoint delete_range backup test_misuse
# halt_on_error: the first report ends the program with a non-zero status, which stops the
# recipe (set -e); so does a LeakSanitizer report at exit (of memory from either side).
ASAN_ENV      := ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
asan-c:
	@[ -n "$(HOST_TRIPLE)" ] || { echo "error: could not read the host triple from rustc -vV" >&2; exit 1; }
	RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zsanitizer=address" $(CARGO) build -p kevo-ffi \
	    --target $(HOST_TRIPLE) --target-dir target/asan
	ln -sf libkevo.so $(ASAN_LIBDIR)/libkevo.so.$(KEVO_ABI)
	mkdir -p examples-c/build-asan
	@set -e; for p in $(ASAN_PROGRAMS) test_faults; do \
	    cc -g -fsanitize=address -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude \
	        examples-c/$$p.c -o examples-c/build-asan/$$p -L$(ASAN_LIBDIR) \
	        -Wl,-rpath,$(abspath $(ASAN_LIBDIR)) -lkevo -pthread; \
	done
	@set -e; for p in $(ASAN_PROGRAMS); do \
	    echo "== asan examples-c/build-asan/$$p"; \
	    $(ASAN_ENV) examples-c/build-asan/$$p; \
	done
	@echo "== asan examples-c/build-asan/test_faults"
	@$(ASAN_ENV) scripts/with-tmpfs.sh test_faults 4m examples-c/build-asan/test_faults
