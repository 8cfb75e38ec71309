#!/usr/bin/env bash
# Creates the project's Python environment .venv (if missing) and prints nothing else.
# Shared by `make demo` (scripts/demo.sh) and the Python package's make targets (mk/python.mk).
#
# Environment: PYTHON (default python3), the interpreter that creates .venv; VENV (default .venv).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"

if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PYTHON" -m venv "$VENV"; then
        # Debian's own python3 needs python3-venv for ensurepip.
        rm -rf "$VENV"
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            apt-get update -qq && apt-get install -y -qq python3-venv
            "$PYTHON" -m venv "$VENV"
        else
            echo "error: '$PYTHON -m venv' failed; install python3-venv" >&2
            exit 1
        fi
    fi
fi
