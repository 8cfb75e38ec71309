# Fuzzing with cargo-fuzz (libFuzzer) over kevo's decoders; see scripts/fuzz.sh.
TESTS += test-fuzz

.PHONY: test-fuzz fuzz

FUZZ_SECONDS ?= 300

## test-fuzz: each fuzz target for 30 s (part of `make test`)
test-fuzz:
	bash scripts/fuzz.sh 30

## fuzz: each fuzz target for FUZZ_SECONDS (default 300) seconds
fuzz:
	bash scripts/fuzz.sh $(FUZZ_SECONDS)
