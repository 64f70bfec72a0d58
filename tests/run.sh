#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# tests/run.sh BUILD_DIR [BUILD_DIR...]: the test runner behind `make check`.
#
# For each build directory: every unit test binary BUILD/tests/test_*
# (cmocka; each test case counts), then every tests/integration/t_*.sh with
# SVCACCT_BUILD=<absolute build dir> (each "ok - ..." / "not ok - ..." line
# counts; a script that prints none counts as one test; a non-zero exit
# without a "not ok" line is one more failure).  Prints each result with
# the build dir as prefix, the output of failing tests, and ends with the
# line "N passed, M failed".  Exit status 1 when M > 0.
#
# Environment:
#   TESTS=REGEX        run only tests whose name (test_proto, t_kill9, ...)
#                      matches this extended regular expression
#   TEST_TIMEOUT=300   seconds per unit test binary / integration script
#   VERBOSE=1          show the output of passing scripts too
# A build dir whose name contains "asan", or whose svcacctd links ASan,
# runs with ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 and
# UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1.

set -u -o pipefail

if [ $# -eq 0 ]; then
	echo "usage: $0 BUILD_DIR [BUILD_DIR...]" >&2
	exit 2
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TIMEOUT=${TEST_TIMEOUT:-300}
FILTER=${TESTS:-}
PASS=0
FAIL=0
FAILED_NAMES=()
LOGDIR=$(mktemp -d /tmp/svcacct-run.XXXXXXXX)
trap 'rm -rf "$LOGDIR"' EXIT
ulimit -c 0 2>/dev/null

selected() {
	[ -z "$FILTER" ] || [[ $1 =~ $FILTER ]]
}

record() { # PREFIX STATUS(ok|not ok) DESCRIPTION
	printf '[%s] %s - %s\n' "$1" "$2" "$3"
	if [ "$2" = ok ]; then
		PASS=$((PASS + 1))
	else
		FAIL=$((FAIL + 1))
		FAILED_NAMES+=("[$1] $3")
	fi
}

show_output() { # PREFIX FILE
	local n
	n=$(wc -l <"$2")
	if [ "$n" -gt 60 ]; then
		printf '[%s]   | ... (%d lines, last 60 shown)\n' "$1" "$n"
	fi
	tail -n 60 "$2" | sed "s/^/[$1]   | /"
}

# Runs CMD under a timeout in its own process group with output to FILE;
# afterwards kills whatever the command left behind in that group.
# Sets RUN_RC (124 or 137 on timeout) and RUN_SECS.
run_bounded() { # FILE CMD...
	local out=$1 t0 pid
	shift
	t0=$(date +%s%N)
	timeout --kill-after=10 "$TIMEOUT" "$@" </dev/null >"$out" 2>&1 &
	pid=$!
	wait "$pid" 2>/dev/null
	RUN_RC=$?
	kill -KILL -- "-$pid" 2>/dev/null
	RUN_SECS=$(( ($(date +%s%N) - t0) / 1000000 ))
	RUN_SECS="$((RUN_SECS / 1000)).$(printf '%03d' $((RUN_SECS % 1000)))"
}

SAN_RE='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: [A-Za-z]+Sanitizer'

timed_out() { [ "$RUN_RC" = 124 ] || [ "$RUN_RC" = 137 ]; }

# ---- cmocka binaries ----------------------------------------------------------

run_unit() { # PREFIX BINARY
	local pre=$1 bin=$2 name out
	name=$(basename "$bin")
	out="$LOGDIR/$pre.$name.log"
	run_bounded "$out" "$bin"

	# Per-case lines (names deduplicated: cmocka repeats failures in its
	# summary) and the summary counts.
	local -A seen=()
	local line c ok_n=0 fail_n=0 sum_pass="" sum_fail="" before=$FAIL
	while IFS= read -r line; do
		if [[ $line =~ ^\[\ +OK\ +\]\ ([A-Za-z_][A-Za-z0-9_]*)$ ]]; then
			c=${BASH_REMATCH[1]}
			[ -n "${seen[$c]:-}" ] && continue
			seen[$c]=ok
			ok_n=$((ok_n + 1))
		elif [[ $line =~ ^\[\ +(FAILED|ERROR|SKIPPED)\ +\]\ ([A-Za-z_][A-Za-z0-9_]*)$ ]]; then
			c=${BASH_REMATCH[2]}
			[ "${seen[$c]:-}" = fail ] && continue
			[ "${seen[$c]:-}" = ok ] && ok_n=$((ok_n - 1))
			seen[$c]=fail
			fail_n=$((fail_n + 1))
		elif [[ $line =~ ^\[\ +PASSED\ +\]\ ([0-9]+)\ test ]]; then
			sum_pass=${BASH_REMATCH[1]}
		elif [[ $line =~ ^\[\ +FAILED\ +\]\ ([0-9]+)\ test ]]; then
			sum_fail=${BASH_REMATCH[1]}
		fi
	done <"$out"

	# One result line per case, in the order cmocka ran them.
	local -A printed=()
	while IFS= read -r line; do
		if [[ $line =~ ^\[\ +(OK|FAILED|ERROR|SKIPPED)\ +\]\ ([A-Za-z_][A-Za-z0-9_]*)$ ]]; then
			c=${BASH_REMATCH[2]}
			[ -n "${printed[$c]:-}" ] && continue
			printed[$c]=1
			if [ "${seen[$c]}" = ok ]; then
				printf '[%s] ok - %s: %s\n' "$pre" "$name" "$c"
			else
				printf '[%s] not ok - %s: %s\n' "$pre" "$name" "$c"
				FAILED_NAMES+=("[$pre] $name: $c")
			fi
		fi
	done <"$out"

	# The summary is authoritative when cmocka got to print it.
	local np nf
	if [ -n "$sum_pass" ] || [ -n "$sum_fail" ]; then
		np=${sum_pass:-0}
		nf=${sum_fail:-0}
	else
		np=$ok_n
		nf=$fail_n
	fi
	PASS=$((PASS + np))
	FAIL=$((FAIL + nf))
	# cmocka exits with the number of failed cases; anything else is a
	# crash or a sanitizer report (leaks are reported at exit)
	if timed_out; then
		record "$pre" "not ok" "$name: timed out after $TIMEOUT s"
	elif grep -qE "$SAN_RE" "$out"; then
		record "$pre" "not ok" "$name: sanitizer report (exit status $RUN_RC)"
	elif [ "$RUN_RC" != 0 ] && [ "$RUN_RC" != "$nf" ]; then
		record "$pre" "not ok" "$name: exited with status $RUN_RC"
	elif [ $((np + nf)) = 0 ]; then
		record "$pre" "not ok" "$name: ran no test cases"
	fi
	if [ "$FAIL" != "$before" ] || [ "$nf" != 0 ]; then
		show_output "$pre" "$out"
	fi
}

# ---- integration scripts --------------------------------------------------------

run_script() { # PREFIX BUILD SCRIPT
	local pre=$1 build=$2 script=$3 name out
	name=$(basename "$script" .sh)
	out="$LOGDIR/$pre.$name.log"
	SVCACCT_BUILD="$build" run_bounded "$out" bash "$script"

	local line n=0 nf=0 before=$FAIL
	while IFS= read -r line; do
		if [[ $line =~ ^ok\ -\ (.*)$ ]]; then
			record "$pre" ok "$name: ${BASH_REMATCH[1]}"
			n=$((n + 1))
		elif [[ $line =~ ^not\ ok\ -\ (.*)$ ]]; then
			record "$pre" "not ok" "$name: ${BASH_REMATCH[1]}"
			n=$((n + 1))
			nf=$((nf + 1))
		elif [[ $line =~ ^#\ (.*)$ ]] && [ "$RUN_RC" = 0 ]; then
			# figures and notes of passing scripts ("# 64 requests in 0.41 s");
			# a failing script's output is shown whole below
			printf '[%s] # %s: %s\n' "$pre" "$name" "${BASH_REMATCH[1]}"
		fi
	done <"$out"

	if timed_out; then
		record "$pre" "not ok" "$name: timed out after $TIMEOUT s"
	elif [ "$RUN_RC" != 0 ] && [ "$nf" = 0 ]; then
		record "$pre" "not ok" "$name: exited with status $RUN_RC"
	elif [ "$n" = 0 ]; then
		record "$pre" ok "$name"
	fi
	if [ "$FAIL" != "$before" ] || [ "$RUN_RC" != 0 ]; then
		printf '[%s] --- output of %s (%s s, exit %s):\n' "$pre" "$name" "$RUN_SECS" "$RUN_RC"
		show_output "$pre" "$out"
	elif [ "${VERBOSE:-0}" = 1 ]; then
		show_output "$pre" "$out"
	fi
}

# ---- main -------------------------------------------------------------------------

is_asan() { # BUILD
	case $(basename "$1") in *asan*) return 0 ;; esac
	[ -f "$1/svcacctd" ] && grep -qa __asan_init "$1/svcacctd"
}

T_START=$(date +%s)
for b in "$@"; do
	pre=$(basename "$b")
	if [ ! -d "$b" ]; then
		record "$pre" "not ok" "build directory $b exists"
		continue
	fi
	build=$(cd "$b" && pwd)
	if is_asan "$build"; then
		export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
		export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	else
		unset ASAN_OPTIONS UBSAN_OPTIONS
	fi

	found=0
	for bin in "$build"/tests/test_*; do
		[ -f "$bin" ] && [ -x "$bin" ] || continue
		selected "$(basename "$bin")" || continue
		found=1
		run_unit "$pre" "$bin"
	done
	if [ "$found" = 0 ] && [ -z "$FILTER" ]; then
		record "$pre" "not ok" "unit test binaries built in $build/tests"
	fi

	for script in "$ROOT"/tests/integration/t_*.sh; do
		[ -f "$script" ] || continue
		selected "$(basename "$script" .sh)" || continue
		run_script "$pre" "$build" "$script"
	done
done
unset ASAN_OPTIONS UBSAN_OPTIONS

if [ "$FAIL" -gt 0 ]; then
	echo
	echo "failed:"
	for f in "${FAILED_NAMES[@]}"; do echo "  $f"; done
fi
echo "# total time: $(( $(date +%s) - T_START )) s"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
