#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Lookup latency does not grow with the number of accounts: bench/nss-bench
# (getpwnam/getpwuid through glibc) with 10 and 100,000 accounts, next to
# glibc's "files" with the same number of passwd lines.  The table is
# printed as "#" lines.  NSS_BENCH_COUNTS / NSS_BENCH_OPS change the run.
. "$(dirname "$0")/../lib.sh"

COUNTS=${NSS_BENCH_COUNTS:-10,100000}
OPS=${NSS_BENCH_OPS:-20000}
T=$(mktemp -d /tmp/svcacct-nss-bench.XXXXXX) || bail "mktemp"
TMPD=$T
SO=$SVCACCT_BUILD/libnss_svcacct.so.2
[ -f "$SO" ] || bail "module built: $SO"
if ! cc -O2 -D_GNU_SOURCE -I"$REPO_DIR/common" -o "$T/nss-bench" "$REPO_DIR/bench/nss-bench.c" \
	"$REPO_DIR/common/nss_format.c" 2>"$T/cc.log"; then
	diag_file "$T/cc.log"
	bail "compile bench/nss-bench.c"
fi
if "$T/nss-bench" -m "$SO" -n "$COUNTS" -o "$OPS" -T 2 -d "$T" >"$T/table" 2>"$T/err"; then
	ok "nss-bench ran (entries: $COUNTS)"
else
	not_ok "nss-bench ran"
	diag_file "$T/err"
fi
diag <"$T/table"

# p50 of backend/entries/lookup
p50() { awk -v b="$1" -v n="$2" -v l="$3" '$1 == b && $2 == n && $3 == l { print $6 }' "$T/table"; }
SMALL=${COUNTS%%,*}
LARGE=${COUNTS##*,}
for l in getpwnam getpwuid; do
	s=$(p50 svcacct "$SMALL" $l)
	L=$(p50 svcacct "$LARGE" $l)
	f=$(p50 files "$LARGE" $l)
	if [ -z "$s" ] || [ -z "$L" ] || [ -z "$f" ]; then
		not_ok "$l: figures for svcacct and files"
		continue
	fi
	if [ "$L" -le $((s * 3 + 2000)) ]; then
		ok "$l: svcacct p50 with $LARGE accounts (${L} ns) within 3x of $SMALL accounts (${s} ns)"
	else
		not_ok "$l: svcacct p50 with $LARGE accounts (${L} ns) within 3x of $SMALL accounts (${s} ns)"
	fi
	if [ "$LARGE" -ge 10000 ]; then
		if [ "$L" -lt "$f" ]; then
			ok "$l: svcacct (${L} ns) faster than files (${f} ns) at $LARGE entries"
		else
			not_ok "$l: svcacct (${L} ns) faster than files (${f} ns) at $LARGE entries"
		fi
	fi
done
