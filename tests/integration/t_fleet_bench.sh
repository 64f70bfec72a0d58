#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# svcacct-bench --smoke --only fleet (bench/svcacct-bench/fleet.c, issue 17
# item 7) works end to end with tiny counts: PostgreSQL, two hubs on
# https_listen, 3 simulated agents enrolled for real and holding long
# polls, revokes on hub 1 reaching every agent as a verified snapshot, the
# snapshot of 100 accounts, PAM token and API-key logins on a real agent
# with the hubs up and down beside standalone (also the key variant without
# NSS, whose lookup is account.show, a read an agent answers); the simulated agents
# follow the revokes with deltas.  Figures are not judged: a tiny run on a
# busy machine means nothing.
. "$(dirname "$0")/../lib.sh"

BENCH=$SVCACCT_BUILD/svcacct-bench
[ -x "$BENCH" ] || bail "benchmark built: $BENCH"
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || bail "no PostgreSQL server (make deps)"
command -v openssl >/dev/null || bail "openssl is needed (make deps)"
T=$(mktemp -d /tmp/svcacct-fleet-bench.XXXXXX) || bail "mktemp"
TMPD=$T
chmod 0755 "$T"

t0=$(date +%s)
if timeout 120 "$BENCH" --smoke --only fleet -d "$T" >"$T/out" 2>"$T/err"; then
	ok "svcacct-bench --smoke --only fleet exits 0"
else
	not_ok "svcacct-bench --smoke --only fleet exits 0 (status $?)"
	diag_file "$T/err" 40
fi
secs=$(($(date +%s) - t0))
[ "$secs" -lt 60 ] && ok "fleet smoke took ${secs} s (< 60 s)" || not_ok "fleet smoke took ${secs} s (< 60 s)"
grep -E '^# fleet' "$T/err" | head -n 8 | diag

row() { grep -E "^\| $1" "$T/out" | head -n 1; }
col() { awk -F'|' -v c="$1" '{ v = $c; gsub(/^ +| +$/, "", v); print v }'; }
r=$(row 'fleet: revoke -> 3 agents verified')
if [ -n "$r" ] && [ "$(col 5 <<<"$r")" = 6 ] && [ "$(col 7 <<<"$r")" != - ] &&
	! grep -q ERRORS <<<"$r"; then
	ok "revoke on hub 1 -> a verified snapshot on each of 3 agents: 6 propagations, p50 $(col 7 <<<"$r")"
else
	not_ok "revoke -> 3 agents verified: ${r:-no row}"
fi
r=$(row 'fleet: full sync')
[ -n "$r" ] && [ "$(col 3 <<<"$r")" = 100 ] && [ "$(col 7 <<<"$r")" != - ] &&
	ok "full sync of the 100-account snapshot measured ($(col 7 <<<"$r"))" ||
	not_ok "full sync of the 100-account snapshot: ${r:-no row}"
good=0
for p in 'fleet sa: pam: pam_svcacct, session token' 'agent up: pam: pam_svcacct, session token' \
	'agent down: pam: pam_svcacct, session token'; do
	r=$(row "$p")
	[ -n "$r" ] && [ "$(col 7 <<<"$r")" != - ] && ! grep -q ERRORS <<<"$r" && good=$((good + 1))
done
[ "$good" = 3 ] && ok "PAM token logins: standalone, agent with hubs up, agent with hubs down" ||
	not_ok "PAM token logins: standalone, agent hubs up, hubs down ($good of 3)"
good=0
for p in 'fleet sa: pam: pam_svcacct, API key ' 'agent up: pam: pam_svcacct, API key ' \
	'agent down: pam: pam_svcacct, API key ' 'agent up: pam: pam_svcacct, API key, no NSS' \
	'agent down: pam: pam_svcacct, API key, no NSS'; do
	r=$(row "$p")
	[ -n "$r" ] && [ "$(col 7 <<<"$r")" != - ] && ! grep -q ERRORS <<<"$r" && good=$((good + 1))
done
if [ "$good" = 5 ]; then
	ok "PAM API-key logins: standalone, agent with hubs up, agent with hubs down (also without NSS on the agent)"
else
	not_ok "PAM API-key logins: standalone, agent hubs up, hubs down, and without NSS ($good of 5)"
fi
n=$(sed -nE 's/^# fleet: 3 agents, [0-9]+ revokes: ([0-9]+) deltas.*/\1/p' "$T/err" | head -n 1)
[ "${n:-0}" -ge 6 ] && ok "the simulated agents followed the revokes with deltas ($n)" ||
	not_ok "the simulated agents followed the revokes with deltas (${n:-none})"
if grep -qE '^- (MET |MISSED): fleet, 3 agents: revoke on h-1' "$T/out" &&
	grep -qE '^- (MET |MISSED): PAM token login on an agent equals standalone' "$T/out" &&
	grep -qE '^- info  : fleet: snapshot of 100 accounts' "$T/out"; then
	ok "fleet targets printed"
else
	not_ok "fleet targets printed"
fi
exit "$(failures)"
