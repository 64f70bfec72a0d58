#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The fleet on one machine (issue 17, DESIGN.md section 9): a throwaway
# PostgreSQL, two hubs on https_listen, three agents with their own
# sockets, state and NSS dirs, all following both hubs.  Real logins:
# pamtester with pam_svcacct.so on each agent's socket, and glibc resolving
# the accounts through libnss_svcacct.so.2 reading agent 1's snapshot, in
# a private mount namespace (tests/pam/ns.sh).  Then what a fleet goes
# through: revocations (timed, printed), both hubs killed -9 (logins go
# on; the agent with a short max_staleness refuses with the reason),
# hubs back, an agent stopped while changes happen, PostgreSQL restarted,
# and an agent killed -9 again and again while it syncs.
. "$(dirname "$0")/../pam/ns.sh"
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/lib_pg.sh"
. "$TESTS_DIR/lib_fleet.sh"
. "$TESTS_DIR/http/http_lib.sh"
. "$TESTS_DIR/pam/pamlib.sh"

command -v openssl >/dev/null || bail "openssl is needed (make deps)"
# pamtester's messages (pam_strerror)
E_AUTH="Authentication failure"
E_UNAVAIL="Authentication service cannot retrieve authentication info"

# The private namespace first: PostgreSQL's shared memory lives in the
# private /dev/shm that private_root mounts.
_svca_make_tmp
fleet_tls || bail "a CA and the hubs' certificate"
P1=$(free_port)
P2=$(free_port)
FLEET_HUBS=("https://127.0.0.1:$P1" "https://127.0.0.1:$P2")
SERVICES='services = { login = [ "sshd", "svca-a1", "svca-a2", "svca-a3" ]; };'
agent_init 1 build-1 "$SERVICES" && agent_init 2 build-2 "$SERVICES" &&
	agent_init 3 build-3 "$SERVICES" "max_staleness = 5;" ||
	bail "three agents' directories"
agent_start 1 || bail "agent 1 starts (not enrolled yet: an empty NSS snapshot)"
HUB_SOCK1=$SOCK HUB_NSSD1=$NSSD HUB_CONF1=$CONF
SOCK=${AG_SOCK[1]} NSSD=${AG_NSS[1]} CONF=${AG_CONF[1]}
private_root
SOCK=$HUB_SOCK1 NSSD=$HUB_NSSD1 CONF=$HUB_CONF1

pg_start
hub_init 1 "https_listen = \"127.0.0.1:$P1\";" "tls_cert = \"$FLEET_PKI/hub.crt\";" \
	"tls_key = \"$FLEET_PKI/hub.key\";" "host_id = \"hub1\";"
hub_init 2 "https_listen = \"127.0.0.1:$P2\";" "tls_cert = \"$FLEET_PKI/hub.crt\";" \
	"tls_key = \"$FLEET_PKI/hub.key\";" "host_id = \"hub2\";"
pg_migrate || bail "svcacctd --migrate"
hub_start 1 || bail "hub 1 starts"
hub_join 2 || bail "hub 2 gets the organization's secrets"
hub_start 2 || bail "hub 2 starts"
H1=${HUB_CTL[1]}
H2=${HUB_CTL[2]}

setup_ok=1
for c in "team create ta" "team create tv" "workspace create build --team ta" \
	"workspace create vault --team tv" "account create svc-deploy" "account create svc-ci" \
	"account create svc-gone" "account create svc-vault" \
	"grant add svc-deploy --workspace build --role editor" \
	"grant add svc-ci --workspace build --role viewer" \
	"grant add svc-gone --workspace build --role viewer" \
	"grant add svc-vault --workspace vault --role admin"; do
	# shellcheck disable=SC2086
	$H1 $c </dev/null >/dev/null 2>&1 || { setup_ok=0; diag "hub 1: $c failed"; }
done
[ $setup_ok = 1 ] && ok "two hubs on one PostgreSQL; svc-deploy, svc-ci, svc-gone in workspace build, svc-vault only in vault" ||
	bail "the directory"

for n in 1 2 3; do
	[ "$n" = 1 ] || agent_start "$n" || bail "agent $n starts"
	agent_enroll "$n" build || { diag_file "${AG_LOG[n]}" 20; bail "agent $n enrolls in build"; }
done
ok "three agents enrolled in workspace build, each applied the hubs' seq ($(hub_seq))"

# ---- real logins in a private namespace: pamtester on the agents' sockets, NSS from agent 1 ----
# private_root (above) shows agent 1's nss_dir at the NSS module's
# directory.  One PAM service per agent; each agent's config allows it.
for n in 1 2 3; do
	SOCK=${AG_SOCK[n]} pam_service "svca-a$n" <<'EOF'
auth    [success=done new_authtok_reqd=done user_unknown=ignore default=die] @MOD@ socket=@SOCK@ timeout=3
auth    required pam_deny.so
account required @MOD@ socket=@SOCK@ timeout=3
EOF
done

UID_DEPLOY=$($H1 --json account show svc-deploy </dev/null | json_py 'd["uid"]')
if nss_resolves svc-deploy "$UID_DEPLOY"; then
	ok "getent passwd svc-deploy on agent 1: uid $UID_DEPLOY, the hubs' uid (libnss_svcacct.so.2, agent 1's snapshot)"
else
	not_ok "getent passwd svc-deploy on agent 1 resolves with the hubs' uid $UID_DEPLOY"
fi
if ! getent passwd svc-vault >/dev/null && ! getent -s svcacct passwd svc-vault >/dev/null; then
	ok "getent passwd svc-vault on agent 1: not found (granted only in vault)"
else
	not_ok "getent passwd svc-vault on agent 1: not found"
fi

CTL=$H1 SOCK=$HUB_SOCK1
KEY_D=$(key_create svc-deploy) && TOK_D=$(token_create "$KEY_D") || bail "a key and a session token of svc-deploy from hub 1"
KEY_C=$(key_create svc-ci) && TOK_C=$(token_create "$KEY_C") || bail "a key and a session token of svc-ci"
KEY_G=$(key_create svc-gone) && TOK_G=$(token_create "$KEY_G") || bail "a key and a session token of svc-gone"
TOK_C2=$(token_create "$KEY_C") || bail "a second token of svc-ci"

for n in 1 2 3; do
	pamt "$TOK_D" "svca-a$n" svc-deploy authenticate acct_mgmt
	expect_run "pamtester on agent $n: svc-deploy logs in with its hub-issued session token (auth + account)" 0 "successfully"
done
pamt "$KEY_D" svca-a1 svc-deploy authenticate acct_mgmt
expect_run "pamtester on agent 1: svc-deploy logs in with its API key (first use: a hub checked it)" 0 "successfully"
pamt "not-a-token" svca-a1 svc-deploy authenticate
expect_run "pamtester on agent 1: a wrong secret is refused" 1 "$E_AUTH"

# ---- revocation reaches every agent -----------------------------------------------------------
# The time from the command on one hub to the refusal on the agent (a
# pamtester run per try: tens of ms of resolution).
refused_within() { # SECONDS SERVICE USER TOKEN: sets DT
	local t0=$1 svc=$2 user=$3 tok=$4 i
	for ((i = 0; i < 200; i++)); do
		pamt "$tok" "$svc" "$user" authenticate acct_mgmt
		[ "$RC" != 0 ] && break
		sleep 0.02
	done
	DT=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.3f", b-a}')
	[ "$RC" != 0 ] && awk -v d="$DT" 'BEGIN{exit !(d < 2.0)}'
}
t0=$(now)
printf '%s\n' "$TOK_C" | $H2 token revoke - >/dev/null 2>&1 || not_ok "token revoke on hub 2"
for n in 1 2 3; do
	if refused_within "$t0" "svca-a$n" svc-ci "$TOK_C"; then
		ok "token revoke on hub 2: refused by pamtester on agent $n after ${DT}s (< 2 s)"
	else
		not_ok "token revoke on hub 2: refused on agent $n within 2 s (${DT}s, last exit $RC)"
	fi
done
pamt "$TOK_C2" svca-a1 svc-ci authenticate
expect_run "the other token of svc-ci still logs in on agent 1" 0 "successfully"

t0=$(now)
$H1 key revoke svc-ci "$(key_id "$KEY_C")" </dev/null >/dev/null 2>&1 || not_ok "key revoke on hub 1"
$H1 account disable svc-ci </dev/null >/dev/null 2>&1 || not_ok "account disable on hub 1"
if refused_within "$t0" svca-a2 svc-ci "$TOK_C2"; then
	ok "key revoke + account disable on hub 1: svc-ci refused on agent 2 after ${DT}s"
else
	not_ok "account disable on hub 1: svc-ci refused on agent 2 within 2 s (${DT}s)"
fi

t0=$(now)
$H2 grant remove svc-gone --workspace build </dev/null >/dev/null 2>&1 || not_ok "grant remove on hub 2"
if refused_within "$t0" svca-a1 svc-gone "$TOK_G"; then
	ok "grant remove on hub 2: svc-gone refused on agent 1 after ${DT}s"
else
	not_ok "grant remove on hub 2: svc-gone refused on agent 1 within 2 s (${DT}s)"
fi
if wait_for 3 bash -c '! getent passwd svc-gone'; then
	ok "grant remove: getent passwd svc-gone on agent 1 finds nothing (after ${WAITED}s)"
else
	not_ok "grant remove: getent passwd svc-gone on agent 1 finds nothing"
fi

# ---- both hubs killed -------------------------------------------------------------------------
hub_kill9 1
hub_kill9 2
T_DOWN=$(now)
pamt "$TOK_D" svca-a1 svc-deploy authenticate acct_mgmt
expect_run "both hubs killed -9: svc-deploy still logs in on agent 1 ($MS ms)" 0 "successfully"
pamt "$KEY_D" svca-a1 svc-deploy authenticate acct_mgmt
expect_run "both hubs killed -9: svc-deploy's API key still logs in on agent 1 (its verifier, $MS ms)" 0 "successfully"
pamt "$KEY_D" svca-a2 svc-deploy authenticate
if [ "$RC" != 0 ] && [[ "$OUT $ERR" == *"$E_UNAVAIL"* ]] && [[ "$OUT $ERR" == *"no hub reachable"* ]]; then
	ok "both hubs killed: the same key on agent 2, never used there, is refused with PAM_AUTHINFO_UNAVAIL and \"no hub reachable\""
else
	not_ok "both hubs killed: a key never used on agent 2 is refused with PAM_AUTHINFO_UNAVAIL and the reason"
	diag "exit $RC: $OUT $ERR"
fi
unreach() { [ "$(agent_ctl 1 --json fleet status </dev/null 2>/dev/null | json_py '[h["reachable"] for h in d["hubs"]]')" = "[false, false]" ]; }
if wait_for 10 unreach; then
	ok "fleet status on agent 1: both hubs unreachable"
else
	not_ok "fleet status on agent 1: both hubs unreachable"
	agent_ctl 1 --json fleet status </dev/null 2>&1 | diag
fi
stale3() { agent_ctl 3 --json fleet status </dev/null 2>/dev/null | json_py 'd["stale"]' | grep -qx true; }
wait_for 20 stale3
pamt "$TOK_D" svca-a3 svc-deploy authenticate
if [ "$RC" != 0 ] && [[ "$OUT $ERR" == *"$E_UNAVAIL"* ]] && [[ "$OUT $ERR" =~ directory\ not\ reached\ for\ [0-9]+\ s ]]; then
	ok "agent 3 (max_staleness 5) $(awk -v a="$T_DOWN" -v b="$(now)" 'BEGIN{printf "%.0f", b-a}') s after the hubs died: the login is refused, PAM_AUTHINFO_UNAVAIL, \"${BASH_REMATCH[0]}\""
else
	not_ok "agent 3 past max_staleness: refused with PAM_AUTHINFO_UNAVAIL and \"directory not reached for N s\""
	diag "exit $RC: $OUT $ERR"
fi
pamt "$TOK_D" svca-a1 svc-deploy authenticate
expect_run "agent 1 (max_staleness 86400) still accepts svc-deploy" 0 "successfully"

# ---- hubs back; an agent that was stopped while a change happened ------------------------------
agent_stop 2 || not_ok "agent 2 stops cleanly"
hub_start 1 || bail "hub 1 starts again"
hub_start 2 || bail "hub 2 starts again"
TOK_D2=$(CTL=$H2 token_create "$KEY_D") || not_ok "a token from hub 2"
printf '%s\n' "$TOK_D" | $H2 token revoke - >/dev/null 2>&1 || not_ok "token revoke on hub 2 while agent 2 is down"
a3_login() { pamt "$TOK_D2" svca-a3 svc-deploy authenticate; [ "$RC" = 0 ]; }
if wait_for 20 a3_login; then
	ok "hubs back: agent 3 syncs and logs svc-deploy in again (after ${WAITED}s)"
else
	not_ok "hubs back: agent 3 syncs and logs svc-deploy in again"
fi
agent_start 2 || bail "agent 2 starts again"
t0=$(now)
if refused_within "$t0" svca-a2 svc-deploy "$TOK_D"; then
	ok "agent 2, stopped during a token revoke, refuses that token ${DT}s after it starts"
else
	not_ok "agent 2 refuses the token revoked while it was down, within 2 s of starting (${DT}s)"
fi
if wait_for 5 agent_caught_up 2; then
	ok "agent 2 caught up with the hubs (seq $(agent_seq 2)) after ${WAITED}s"
else
	not_ok "agent 2 caught up with the hubs ($(agent_seq 2) vs $(hub_seq))"
fi

# ---- PostgreSQL restarted ----------------------------------------------------------------------
pg_stop fast || not_ok "PostgreSQL stops"
pamt "$TOK_D2" svca-a1 svc-deploy authenticate acct_mgmt
expect_run "PostgreSQL down: svc-deploy still logs in on agent 1" 0 "successfully"
pg_restart || bail "PostgreSQL starts again"
if wait_for 30 $H1 account create svc-after; then
	ok "PostgreSQL back: hub 1 writes again (after ${WAITED}s)"
else
	not_ok "PostgreSQL back: hub 1 writes again"
fi
$H1 grant add svc-after --workspace build --role viewer </dev/null >/dev/null 2>&1 || not_ok "grant add svc-after"
if wait_for 15 getent passwd svc-after; then
	ok "PostgreSQL restarted: a new account granted on hub 1 resolves on agent 1 (after ${WAITED}s)"
else
	not_ok "PostgreSQL restarted: a new account granted on hub 1 resolves on agent 1"
	diag_file "${AG_LOG[1]}" 10
fi

# ---- an agent killed -9 while it syncs ------------------------------------------------------------
# Changes keep coming from hub 2 while agent 2 is killed and restarted
# three times at random moments; then it must have everything, intact.
(
	for i in $(seq 1 12); do
		$H2 account create "svc-burst$i" </dev/null >/dev/null 2>&1
		$H2 grant add "svc-burst$i" --workspace build --role viewer </dev/null >/dev/null 2>&1
	done
) &
BURST=$!
track_pid "$BURST"
for _ in 1 2 3; do
	sleep "0.$((RANDOM % 6 + 2))"
	agent_kill9 2
	agent_start 2 || { not_ok "agent 2 starts after kill -9"; break; }
done
wait "$BURST"
if wait_for 10 agent_caught_up 2 && agent_ctl 2 audit verify </dev/null >/dev/null 2>&1 &&
	[ "$(agent_ctl 2 --json account access svc-burst12 </dev/null 2>/dev/null | json_py 'd["role"]')" = viewer ] &&
	[ "$(agent_ctl 2 --json account access svc-burst1 </dev/null 2>/dev/null | json_py 'd["role"]')" = viewer ]; then
	ok "agent 2 killed -9 three times during a burst of changes: caught up (seq $(agent_seq 2)), audit chain intact, every new grant there"
else
	not_ok "agent 2 after kill -9 during syncs: caught up, audit chain intact, every grant there"
	agent_ctl 2 --json fleet status </dev/null 2>&1 | diag
	diag_file "${AG_LOG[2]}" 15
fi
pamt "$TOK_D2" svca-a2 svc-deploy authenticate acct_mgmt
expect_run "after the kills: svc-deploy logs in on agent 2" 0 "successfully"

# ---- one audit trail -----------------------------------------------------------------------------
fwd_logins() { # HOST: auth.allow records of that host on hub 2
	$H2 --json audit list --host "$1" --event auth.allow </dev/null 2>/dev/null |
		json_py "len([e for e in d if e.get('host') == '$1'])" 2>/dev/null
}
fwd_ok() { local n; n=$(fwd_logins "$1"); [ -n "$n" ] && [ "$n" -ge 2 ]; }
if wait_for 30 fwd_ok build-1 && wait_for 30 fwd_ok build-2 && wait_for 30 fwd_ok build-3; then
	ok "hub 2's audit list shows the logins of every agent with its host ($(fwd_logins build-1), $(fwd_logins build-2), $(fwd_logins build-3))"
else
	not_ok "hub 2's audit list shows the logins of every agent with its host"
	$H2 --json audit list --event auth.allow </dev/null 2>&1 | tail -c 600 | diag
fi
if $H2 audit verify </dev/null >/dev/null 2>&1 && agent_ctl 1 audit verify </dev/null >/dev/null 2>&1; then
	ok "audit verify on hub 2 (the hub chain and every host's) and on agent 1: intact"
else
	not_ok "audit verify on hub 2 and on agent 1: intact"
fi

secrets_never_logged "no key or token in the agents' logs or syslog" "$KEY_D" "$KEY_C" "$TOK_D" "$TOK_D2"
for n in 1 2 3; do
	if grep -qaF -e "${KEY_D:18}" -e "${TOK_D:40:30}" "${AG_LOG[n]}" "${AG_DIR[n]}/state"/* 2>/dev/null; then
		not_ok "no secret in agent $n's log or state files"
	else
		ok "no secret in agent $n's log or state files"
	fi
done
host_untouched
