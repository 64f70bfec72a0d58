#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The fuzz corpora as regression tests: builds the libFuzzer targets of
# fuzz/ (clang, ASan+UBSan; `make fuzz-build`, into build/fuzz whatever
# SVCACCT_BUILD is) and runs every file of fuzz/corpus/<target>/ and of
# fuzz/crashes/<target>/ once, without fuzzing (fuzz/replay.sh).  One line
# per target, and one per former crash, which must not fail any more.
# Fuzzing itself is `make fuzz` (see fuzz/README.md).
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FUZZ_BUILD=${FUZZ_BUILD:-build/fuzz}

if ! command -v clang >/dev/null 2>&1; then
	echo "not ok - clang is installed (make deps installs clang, libclang-rt-dev, llvm)"
	exit 1
fi

# A make of our own: not the jobserver or the variables of the make that
# runs the test suite.
LOG=$(mktemp /tmp/svcacct-fuzz-build.XXXXXX)
trap 'rm -f "$LOG"' EXIT
t0=$(date +%s)
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	make -C "$ROOT" -j2 --no-print-directory FUZZ_BUILD="$FUZZ_BUILD" fuzz-bins >"$LOG" 2>&1; then
	echo "ok - fuzz targets build (clang, libFuzzer, ASan+UBSan) in $(($(date +%s) - t0)) s"
else
	echo "not ok - fuzz targets build (clang, libFuzzer, ASan+UBSan)"
	tail -n 30 "$LOG" | sed 's/^/# /'
	exit 1
fi

"$ROOT/fuzz/replay.sh" "$FUZZ_BUILD"
