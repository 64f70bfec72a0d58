#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The skipped-writer hazard (issue 16 item 2; DESIGN.md section 9): two
# overlapping writing transactions on two hubs.  Hub 1 runs svcacctd-faults
# with the fault point pg_commit_delay armed: its transaction waits 1.5 s
# after writing its change-log row and before COMMIT.  0.3 s into that
# wait, hub 2 makes a change of its own.  Afterwards all three hubs (the
# third one only follows the change log) show both changes in account
# list and in their NSS snapshots within 1 s, and svcacct_changes has the
# late committer's row before the other one (seq order = commit order).
# The same with a token revocation delayed on hub 1: it is not skipped by
# any hub.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/lib_pg.sh"
. "$TESTS_DIR/cred_lib.sh"

FAULTS_BIN=$SVCACCT_BUILD/svcacctd-faults
[ -x "$FAULTS_BIN" ] || bail "fault-injection daemon built: $FAULTS_BIN (make all builds it)"
NSS_LIMIT=1.0
is_asan_build && NSS_LIMIT=2.0
arm() { printf '%s\n' "$*" >"$FF.new" && mv -f "$FF.new" "$FF"; }

pg_start
FF=$TMPD/faults
: >"$FF"
export SVCACCTD_FAULTS_FILE=$FF
hub_init 1 'rate_limit_count = 1000;'
pg_migrate || bail "svcacctd --migrate"
HUB_BIN[1]=$FAULTS_BIN
hub_start 1 || bail "hub 1 (svcacctd-faults) starts"
for n in 2 3; do
	hub_init "$n" 'rate_limit_count = 1000;'
	hub_join "$n" || bail "hub $n gets hub 1's pepper and audit.key"
	hub_start "$n" || bail "hub $n starts"
done
fired() { grep -c "fault injection: pg_commit_delay" "${HUB_LOG[1]}"; }

# seq_of NAME: the seq of the change-log row whose keys mention NAME
seq_of() {
	pg_psql -c "SELECT min(seq) FROM svcacct_changes c WHERE EXISTS (SELECT 1 FROM unnest(c.keys) k WHERE k LIKE '%$1%')"
}
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# ---- two account creates --------------------------------------------------------------------
F0=$(fired)
arm "pg_commit_delay:1"
T0=$(date +%s%N)
(hub_ctl 1 account create ovl-first </dev/null >"$TMPD/first.out" 2>&1; echo "$? $(ms_since "$T0")" >"$TMPD/first.rc") &
FIRST=$!
sleep 0.3
T1=$(date +%s%N)
hub_ctl 2 account create ovl-second </dev/null >"$TMPD/second.out" 2>&1
echo "$? $(ms_since "$T1")" >"$TMPD/second.rc"
wait "$FIRST"
arm ""
read -r rc1 ms1 <"$TMPD/first.rc"
read -r rc2 ms2 <"$TMPD/second.rc"
[ "$rc1" = 0 ] && ok "hub 1 (commit delayed): account create ovl-first exits 0 ($ms1 ms)" || {
	not_ok "hub 1 (commit delayed): account create ovl-first exits 0 (exit $rc1)"
	diag_file "$TMPD/first.out" 3
}
[ "$rc2" = 0 ] && ok "hub 2, meanwhile: account create ovl-second exits 0 ($ms2 ms)" || {
	not_ok "hub 2, meanwhile: account create ovl-second exits 0 (exit $rc2)"
	diag_file "$TMPD/second.out" 3
}
if [ "$(fired)" -gt "$F0" ] && [ "${ms1:-0}" -ge 1400 ]; then
	ok "the fault fired: hub 1's commit waited 1.5 s"
else
	not_ok "the fault fired: hub 1's commit waited 1.5 s (log lines $F0 -> $(fired), $ms1 ms)"
fi
both_listed() { # N
	local l
	l=$(hub_ctl "$1" account list </dev/null) || return 1
	grep -qw ovl-first <<<"$l" && grep -qw ovl-second <<<"$l"
}
both_in_nss() { hub_nss_has "$1" ovl-first && hub_nss_has "$1" ovl-second; }
for n in 1 2 3; do
	if wait_for 1 both_listed "$n"; then
		ok "hub $n: account list has ovl-first and ovl-second (${WAITED} s)"
	else
		not_ok "hub $n: account list has ovl-first and ovl-second (within 1 s)"
	fi
	if wait_for "$NSS_LIMIT" both_in_nss "$n"; then
		ok "hub $n: the NSS snapshot has ovl-first and ovl-second (${WAITED} s)"
	else
		not_ok "hub $n: the NSS snapshot has ovl-first and ovl-second within $NSS_LIMIT s (first: $(hub_nss "$n" pwnam ovl-first 4096 | head -n 1), second: $(hub_nss "$n" pwnam ovl-second 4096 | head -n 1))"
	fi
done
S1=$(seq_of ovl-first)
S2=$(seq_of ovl-second)
if [ -n "$S1" ] && [ -n "$S2" ] && [ "$S1" -lt "$S2" ]; then
	ok "svcacct_changes: ovl-first's row (seq $S1) before ovl-second's (seq $S2): commit order"
else
	not_ok "svcacct_changes: ovl-first's row before ovl-second's (seq $S1 / $S2)"
	pg_psql -c 'SELECT seq, host, ts, keys FROM svcacct_changes ORDER BY seq DESC LIMIT 4' | diag
fi
# a hub started now replays the log from the start: it has both
hub_stop 3 || not_ok "hub 3 stops"
hub_start 3 || bail "hub 3 starts again"
wait_for "$NSS_LIMIT" both_in_nss 3 && ok "hub 3 restarted: its snapshot has both" || not_ok "hub 3 restarted: its snapshot has both"

# ---- a delayed revocation --------------------------------------------------------------------
check -d "account create ovl-bot" hub_ctl 2 account create ovl-bot
CTL="$SVCACCTCTL -s ${HUB_SOCK[2]}" key_create ovl-bot || bail "key create ovl-bot"
K=$KEY KID=$KEYID
CTL="$SVCACCTCTL -s ${HUB_SOCK[3]}" xchg 0 "$K" || bail "token on hub 3"
T=$OUT
for n in 1 2 3; do
	hub_ctl "$n" token verify "$T" </dev/null >/dev/null 2>&1 || not_ok "hub $n verifies the fresh token"
done
F0=$(fired)
arm "pg_commit_delay:1"
(hub_ctl 1 token revoke "$T" </dev/null >"$TMPD/rev.out" 2>&1; echo $? >"$TMPD/rev.rc") &
REV=$!
sleep 0.3
hub_ctl 2 account create ovl-third </dev/null >/dev/null 2>&1 || not_ok "hub 2: account create ovl-third during the delayed revocation"
hub_ctl 3 key disable ovl-bot "$KID" </dev/null >/dev/null 2>&1 || not_ok "hub 3: key disable during the delayed revocation"
wait "$REV"
arm ""
[ "$(cat "$TMPD/rev.rc")" = 0 ] && ok "hub 1 (commit delayed): token revoke exits 0" || not_ok "hub 1 (commit delayed): token revoke exits 0 ($(cat "$TMPD/rev.out"))"
[ "$(fired)" -gt "$F0" ] && ok "the fault fired for the revocation" || not_ok "the fault fired for the revocation"
for n in 1 2 3; do
	check_exit 1 -d "hub $n refuses the token revoked on hub 1" hub_ctl "$n" token verify "$T"
done
sleep 1.2
for n in 2 3; do
	check_exit 1 -d "hub $n still refuses it 1 s later (its deny-list did not skip the revocation)" hub_ctl "$n" token verify "$T"
done
check -d "hub 3: key enable ovl-bot" hub_ctl 3 key enable ovl-bot "$KID"
CTL="$SVCACCTCTL -s ${HUB_SOCK[2]}" xchg 0 "$K" && T2=$OUT
check -d "a new token of the same key verifies on hub 1" hub_ctl 1 token verify "$T2"
for n in 1 2 3; do
	hub_nss_has "$n" ovl-third || wait_for "$NSS_LIMIT" hub_nss_has "$n" ovl-third
	[ $? = 0 ] && ok "hub $n's snapshot has ovl-third" || not_ok "hub $n's snapshot has ovl-third"
done
