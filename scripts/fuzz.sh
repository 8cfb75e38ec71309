#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS seconds each (default 30). Installs
# cargo-fuzz if missing, seeds each corpus with real files (core/examples/fuzz_seeds.rs),
# and prints the executions per target. Exits non-zero on the first crash; libFuzzer leaves
# the input in fuzz/artifacts/<target>/.
#
# The decoder targets (block, table, wal, manifest) run without a sanitizer (`-s none`:
# stable Rust, and safe code; catches panics, hangs, huge allocations and out-of-memory).
# The C ABI target (capi) passes raw pointers around, so it runs under AddressSanitizer,
# built in its own target directory so the two builds do not invalidate each other. The
# sanitizer flag is nightly-only: RUSTC_BOOTSTRAP=1 lets the stable toolchain accept it, for
# this test tooling only, never for the shipped library. Both kinds are built for the host
# triple that rustc reports, so this runs on any 64-bit Linux host.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SECONDS_PER_TARGET="${1:-30}"
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    TARGETS=(block table wal manifest capi)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install cargo-fuzz --version 0.13.2 --locked
fi

# Asked of rustc rather than written down, so that the script is not tied to one architecture.
HOST_TRIPLE="$(rustc -vV | sed -n 's/^host: //p')"
if [ -z "$HOST_TRIPLE" ]; then
    echo "fuzz: could not read the host triple from rustc -vV" >&2
    exit 1
fi

cargo run --release --quiet -p kevo --example fuzz_seeds -- fuzz/corpus
cd fuzz


summary=()
for t in "${TARGETS[@]}"; do
    mkdir -p "corpus/$t"
    log="$(mktemp)"
    echo "fuzz: $t for ${SECONDS_PER_TARGET} s"
    # -malloc_limit_mb: any single allocation over 512 MiB is a failure (decoders must not
    # allocate from an unchecked length); -rss_limit_mb bounds the whole process.
    if [ "$t" = capi ]; then
        run=(env RUSTC_BOOTSTRAP=1 cargo fuzz run -s address --target-dir target/asan
            --target "$HOST_TRIPLE")
    else
        run=(cargo fuzz run -s none --target "$HOST_TRIPLE")
    fi
    if ! "${run[@]}" --fuzz-dir . "$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -malloc_limit_mb=512 \
        -print_final_stats=1 >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "fuzz: $t FAILED (input saved under fuzz/artifacts/$t/)" >&2
        exit 1
    fi
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    summary+=("$t: ${runs:-?} executions, 0 failures")
    rm -f "$log"
done
printf 'fuzz: %s\n' "${summary[@]}"
