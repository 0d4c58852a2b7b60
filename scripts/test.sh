#!/bin/sh
# `npm test`: the given test files (default: all of them) with a temporary folder of their own that is
# removed at the end, so a run leaves nothing in /tmp, whatever a test or a btda it started forgot.
set -u
TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/btda-test-XXXXXX") || exit 1
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
trap 'exit 130' INT TERM
[ $# -gt 0 ] || set -- $(find test -name '*.test.ts' | sort)
node --import tsx --test --test-force-exit --test-concurrency=2 "$@"
