#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# kill -9 of hubs during concurrent writes (issue 16 item 3): two hubs on
# one database, a writer on each (account create in a loop through that
# hub's socket, remembering the names whose command exited 0); a random hub
# is killed with SIGKILL at a random moment and started again, KILL9_ROUNDS
# times (default 100).  At
# the end every acknowledged account exists: in account list on each hub
# and in svcacct_kv (psql); no uid is given twice; the audit chain
# verifies on both hubs.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/lib_pg.sh"
. "$TESTS_DIR/cred_lib.sh"

ROUNDS=${KILL9_ROUNDS:-100}

LIMIT_S=${KILL9_SECONDS:-100} # stop early past this (reported), to stay bounded

pg_start
CONF_LINES=('rate_limit_count = 100000;' 'uid_min = 100000;' 'uid_max = 199999;')
hub_init 1 "${CONF_LINES[@]}"
pg_migrate || bail "svcacctd --migrate"
hub_start 1 || bail "hub 1 starts"
hub_init 2 "${CONF_LINES[@]}"
hub_join 2 || bail "hub 2 gets hub 1's pepper and audit.key"
hub_start 2 || bail "hub 2 starts"

# writer N: account create w<N>-<i> through hub N's socket, forever; the
# names acknowledged (exit 0) go to $TMPD/acked.N, one per line, written
# after the command returned.
writer() {
	local n=$1 i=0 name rc
	while [ ! -f "$TMPD/stop" ]; do
		i=$((i + 1))
		name=$(printf 'w%d-%05d' "$n" "$i")
		timeout 15 $SVCACCTCTL -s "${HUB_SOCK[n]}" account create "$name" </dev/null >/dev/null 2>>"$TMPD/writer.$n.err"
		rc=$?
		if [ "$rc" = 0 ]; then
			echo "$name" >>"$TMPD/acked.$n"
		else
			echo "$rc" >>"$TMPD/writer.$n.rc"
			sleep 0.02
		fi
	done
}
: >"$TMPD/acked.1"
: >"$TMPD/acked.2"
writer 1 &
W1=$!
writer 2 &
W2=$!
track_pid "$W1" "$W2"

T0=$(date +%s)
done_rounds=0
start_fail=0
while [ "$done_rounds" -lt "$ROUNDS" ]; do
	if [ $(($(date +%s) - T0)) -ge "$LIMIT_S" ]; then
		diag "stopped after $LIMIT_S s"
		break
	fi
	n=$((RANDOM % 2 + 1))
	# a random moment: 0 to 300 ms into the writes
	sleep "0.$(printf '%03d' $((RANDOM % 300)))"
	hub_kill9 "$n"
	done_rounds=$((done_rounds + 1))
	if ! hub_start "$n"; then
		start_fail=$((start_fail + 1))
		diag "round $done_rounds: hub $n did not start again; retrying"
		hub_start "$n" || bail "hub $n starts again after kill -9 (round $done_rounds)"
	fi
done
touch "$TMPD/stop"
wait "$W1" "$W2" 2>/dev/null
ELAPSED=$(($(date +%s) - T0))
A1=$(wc -l <"$TMPD/acked.1")
A2=$(wc -l <"$TMPD/acked.2")
diag "kill -9 rounds: $done_rounds in $ELAPSED s; acknowledged writes: $A1 on hub 1, $A2 on hub 2"
diag "refused or failed writes (exit status: count): $(cat "$TMPD"/writer.*.rc 2>/dev/null | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')"
[ "$done_rounds" -ge "$ROUNDS" ] && ok "$done_rounds kill -9 rounds (a random hub each)" ||
	not_ok "$ROUNDS kill -9 rounds (only $done_rounds in $ELAPSED s)"
[ "$start_fail" = 0 ] && ok "the killed hub started again every time" || not_ok "the killed hub started again every time ($start_fail retries)"
[ "$A1" -gt 0 ] && [ "$A2" -gt 0 ] && ok "both writers got acknowledged writes ($A1, $A2)" ||
	not_ok "both writers got acknowledged writes ($A1, $A2)"
diag "messages of the failed writes (count: text):"
cat "$TMPD"/writer.*.err 2>/dev/null | sed -E 's/w[12]-[0-9]+/NAME/g; s/[0-9]{3,}/N/g' | sort | uniq -c | sort -rn | head -n 6 | diag
r=$(grep -c '^124$' "$TMPD"/writer.*.rc 2>/dev/null | awk -F: '{s += $2} END {print s + 0}')
[ "$r" = 0 ] && ok "no write hung for 15 s" || not_ok "no write hung for 15 s ($r did)"

cat "$TMPD/acked.1" "$TMPD/acked.2" | sort >"$TMPD/acked"
for n in 1 2; do
	hub_ctl "$n" --json account list </dev/null | json_eval '"\n".join(sorted(a["name"] for a in d))' >"$TMPD/list.$n"
	missing=$(comm -23 "$TMPD/acked" "$TMPD/list.$n" | wc -l)
	if [ "$missing" = 0 ] && [ -s "$TMPD/acked" ]; then
		ok "hub $n: account list has every acknowledged account ($(wc -l <"$TMPD/acked"))"
	else
		not_ok "hub $n: account list has every acknowledged account ($missing of $(wc -l <"$TMPD/acked") missing)"
		comm -23 "$TMPD/acked" "$TMPD/list.$n" | head -n 5 | diag
	fi
done
pg_psql -c "SELECT k || ' ' || encode(v, 'escape') FROM svcacct_kv" >"$TMPD/kv.txt"
missing=0
while read -r name; do
	grep -qF -- "$name" "$TMPD/kv.txt" || { missing=$((missing + 1)); [ "$missing" -le 5 ] && diag "not in svcacct_kv: $name"; }
done <"$TMPD/acked"
[ "$missing" = 0 ] && ok "svcacct_kv (psql) has every acknowledged account" || not_ok "svcacct_kv (psql) has every acknowledged account ($missing missing)"
dup=$(hub_ctl 1 --json account list </dev/null | json_eval '
import collections
c = collections.Counter(a["uid"] for a in d)
" ".join(str(u) for u, k in c.items() if k > 1)')
[ -z "$dup" ] && ok "no uid given twice" || not_ok "no uid given twice ($dup)"
check -d "audit verify on hub 1 after the kills" hub_ctl 1 audit verify
check -d "audit verify on hub 2 after the kills" hub_ctl 2 audit verify
check -d "both hubs still write" sh -c "$SVCACCTCTL -s ${HUB_SOCK[1]} account create after-1 && $SVCACCTCTL -s ${HUB_SOCK[2]} account create after-2"
