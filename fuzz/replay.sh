#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# fuzz/replay.sh FUZZ_BUILD [TARGET...]: runs every file of
# fuzz/corpus/<target>/ and fuzz/crashes/<target>/ once through the built
# libFuzzer target FUZZ_BUILD/fuzz_<target> (ASan+UBSan), without fuzzing.
# Prints one line per target for its corpus ("ok - replay fuzz_<target>:
# N corpus inputs" or "not ok - ...") and one per file of fuzz/crashes/
# (each runs alone), with the sanitizer report of a failure as "#" lines.
# Exit status 1 when anything failed.  Used by `make fuzz-replay` and
# tests/integration/t_fuzz_replay.sh.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ $# -lt 1 ]; then
	echo "usage: $0 FUZZ_BUILD [TARGET...]" >&2
	exit 2
fi
B=$1
shift
case $B in /*) ;; *) B=$ROOT/$B ;; esac

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in "$ROOT"/fuzz/fuzz_*.c; do
		t=$(basename "$f" .c)
		targets+=("${t#fuzz_}")
	done
fi

# The sanitizers stop at the first report; libFuzzer checks leaks itself.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$ROOT/fuzz/lsan.supp:print_suppressions=0
LOG=$(mktemp /tmp/svcacct-fuzz-replay.XXXXXX)
trap 'rm -f "$LOG"' EXIT

failed=0

# Runs BIN on the files given.  0 when every file passed; else sets RC,
# BAD (the file it stopped on) and DETAILS (the sanitizer report and the
# frames in this tree, as "#" lines).
run() { # BIN FILE...
	local bin=$1
	shift
	# With file arguments libFuzzer runs each file once and stops at the
	# first failure.
	"$bin" -timeout=10 -rss_limit_mb=2048 "$@" >"$LOG" 2>&1
	RC=$?
	[ "$RC" = 0 ] && return 0
	BAD=$(grep -o 'Running: .*' "$LOG" | tail -n 1 | sed "s|Running: $ROOT/||")
	DETAILS=$({
		grep -E 'property violated|ERROR: [A-Za-z]+Sanitizer|runtime error|ERROR: libFuzzer' "$LOG"
		grep -E "#[0-9]+ 0x[0-9a-f]+ in .* $ROOT/" "$LOG" | grep -v 'fuzzer::' | head -n 12
		grep -E '^SUMMARY' "$LOG"
	} | head -n 30 | sed 's/^/#   /')
	return 1
}

for t in "${targets[@]}"; do
	bin=$B/fuzz_$t
	if [ ! -x "$bin" ]; then
		echo "not ok - replay fuzz_$t: $bin is not built (make fuzz-build)"
		failed=1
		continue
	fi
	mapfile -t corpus < <(find "$ROOT/fuzz/corpus/$t" -type f 2>/dev/null | LC_ALL=C sort)
	mapfile -t crashes < <(find "$ROOT/fuzz/crashes/$t" -type f 2>/dev/null | LC_ALL=C sort)
	if [ ${#corpus[@]} -eq 0 ]; then
		echo "not ok - replay fuzz_$t: no inputs in fuzz/corpus/$t"
		failed=1
	elif run "$bin" "${corpus[@]}"; then
		echo "ok - replay fuzz_$t: ${#corpus[@]} corpus inputs"
	else
		echo "not ok - replay fuzz_$t: ${#corpus[@]} corpus inputs; exit $RC on ${BAD:-?}"
		echo "$DETAILS"
		failed=1
	fi
	# Each former crash on its own, so every one still failing is named.
	for f in "${crashes[@]}"; do
		rel=${f#"$ROOT/"}
		if run "$bin" "$f"; then
			echo "ok - replay fuzz_$t: $rel passes"
		else
			echo "not ok - replay fuzz_$t: $rel still fails (exit $RC)"
			echo "$DETAILS"
			failed=1
		fi
	done
done
exit "$failed"
