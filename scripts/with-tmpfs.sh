#!/usr/bin/env bash
# Usage: scripts/with-tmpfs.sh NAME SIZE COMMAND [ARG...]
#
# Runs `COMMAND ARG... DIR [TMPFS_DIR]` for a test whose full-disk case needs a small file
# system (examples-c/test_faults.c): DIR is a fresh temporary directory; TMPFS_DIR is a tmpfs
# of SIZE (e.g. 4m) mounted on another one, if running as root and the mount works.
# Otherwise TMPFS_DIR is left out and "NAME: full-disk case skipped (...)" says why. On exit,
# whatever the outcome (failure, Ctrl-C), the tmpfs is unmounted and both directories are
# removed. The exit status is COMMAND's.
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 NAME SIZE COMMAND [ARG...]" >&2
    exit 2
fi
name=$1 size=$2
shift 2

dir=$(mktemp -d)
mnt=
mounted=
cleanup() {
    if [ -n "$mounted" ]; then
        umount "$mnt" || echo "$name: warning: could not unmount $mnt" >&2
    fi
    # rmdir, not rm -r: if the unmount failed, nothing on the tmpfs is touched.
    if [ -n "$mnt" ]; then rmdir "$mnt" 2>/dev/null || true; fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" != 0 ]; then
    echo "$name: full-disk case skipped (needs root to mount a tmpfs)"
else
    mnt=$(mktemp -d)
    if out=$(mount -t tmpfs -o "size=$size" tmpfs "$mnt" 2>&1); then
        mounted=1
    else
        echo "$name: full-disk case skipped (mount -t tmpfs failed: $out)"
    fi
fi

status=0
if [ -n "$mounted" ]; then
    "$@" "$dir" "$mnt" || status=$?
else
    "$@" "$dir" || status=$?
fi
exit "$status"
