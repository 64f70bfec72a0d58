#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# svcacct-bench --smoke: the benchmark tool (bench/svcacct-bench/, run in
# full by `make bench`) works end to end with tiny counts: it starts its own
# daemon, prints the result table, and every figure in it is sane (ops/s
# > 0, latencies present).  Performance targets are not checked here:
# figures from a tiny run on a busy CI machine mean nothing.
. "$(dirname "$0")/../lib.sh"

BENCH=$SVCACCT_BUILD/svcacct-bench
[ -x "$BENCH" ] || bail "benchmark built: $BENCH"
T=$(mktemp -d /tmp/svcacct-bench-smoke.XXXXXX) || bail "mktemp"
TMPD=$T
chmod 0755 "$T"

t0=$(date +%s)
if timeout 120 "$BENCH" --smoke -d "$T" >"$T/out" 2>"$T/err"; then
	ok "svcacct-bench --smoke exits 0"
else
	not_ok "svcacct-bench --smoke exits 0 (status $?)"
	diag_file "$T/err" 40
fi
secs=$(($(date +%s) - t0))
if [ "$secs" -lt 30 ]; then
	ok "smoke pass took ${secs} s (< 30 s)"
else
	not_ok "smoke pass took ${secs} s (< 30 s)"
fi
# a few figures for the log (the whole table: make bench)
grep -E '^\| (exchange: .*\| +8 \||pam: pam_permit|pam: pam_svcacct, API key)' "$T/out" | head -n 6 | diag

if grep -qE '^\| benchmark +\| accounts +\| clients +\| +ops +\| +ops/s +\| +p50 +\| +p99 +\| +p99\.9 +\| daemon CPU/op +\| daemon RSS +\|' "$T/out"; then
	ok "table header printed"
else
	not_ok "table header printed"
fi

# One check per group of rows: every row's ops/s is a number > 0 (or "-"
# for the latency split rows), p50 is present, and no row reports errors.
check_rows() { # DESC REGEX [min rows]
	local desc=$1 re=$2 min=${3:-1} res
	res=$(awk -F'|' -v re="$re" '
		$2 ~ re {
			n++
			ops = $6; gsub(/ /, "", ops)
			p50 = $7; gsub(/^ +| +$/, "", p50)
			if ($2 ~ /ERRORS/) { bad = bad " errors:" $2 }
			if (ops != "-" && !(ops + 0 > 0)) { bad = bad " ops/s=" ops }
			if (p50 == "-" || p50 == "") { bad = bad " p50 missing" }
		}
		END { printf "%d%s", n, bad }' "$T/out")
	local n=${res%% *}
	n=${n%%[!0-9]*}
	if [ "${n:-0}" -ge "$min" ] && [ "$res" = "$n" ]; then
		ok "$desc: $n row(s), ops/s > 0"
	else
		not_ok "$desc: rows sane ($res)"
	fi
}
check_rows "token exchange" 'exchange: TOKEN_CREATE' 6
check_rows "management" 'mgmt: ' 4
if [ "$(id -u)" = 0 ]; then
	check_rows "PAM" 'pam: ' 8
	check_rows "NSS" 'nss: ' 4
else
	diag "not root: the PAM and NSS parts are skipped by svcacct-bench"
fi

# the hub rows (bench/svcacct-bench/hub.c): when PostgreSQL is installed
if [ "$(id -u)" = 0 ] && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
	check_rows "hub" '^ hub: ' 8
	if grep -qE '^- (MET |MISSED): hub exchange, 8 clients' "$T/out" &&
		grep -qE '^- (MET |MISSED): revocation on hub 2 refused on hub 1' "$T/out"; then
		ok "hub targets printed (exchange vs standalone, revocation visibility)"
	else
		not_ok "hub targets printed (exchange vs standalone, revocation visibility)"
	fi
else
	diag "no PostgreSQL server (or not root): svcacct-bench skips the hub rows"
fi

if grep -q '^Targets' "$T/out" && grep -qE '^- (MET |MISSED|n/a )' "$T/out"; then
	ok "targets section printed"
else
	not_ok "targets section printed"
fi
if grep -q 'rate_limit_count = 100000' "$T/out"; then
	ok "the output says how the rate limits were set"
else
	not_ok "the output says how the rate limits were set"
fi
left=$(find "$T" -mindepth 1 -maxdepth 1 -name 'svcacct-bench.*' | wc -l)
if [ "$left" = 0 ]; then ok "work directory removed"; else not_ok "work directory removed ($left left)"; fi
left=$(pgrep -f "svcacctd -f -c $T/")
if [ -n "$left" ]; then
	not_ok "no daemon left running"
	for p in $left; do kill -KILL "$p"; done
else
	ok "no daemon left running"
fi
left=$(pgrep -f "postgres -D $T/")
if [ -n "$left" ]; then
	not_ok "no PostgreSQL server left running"
	for p in $left; do kill -QUIT "$p"; done
else
	ok "no PostgreSQL server left running"
fi
