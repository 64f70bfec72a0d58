#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# A hub without its database (issue 16 item 3; DESIGN.md sections 5 and
# 9): PostgreSQL stopped (pg_ctl stop -m fast) under load.  Management
# commands on both hubs fail fast (< 8 s, svcacctctl's deadline is 10 s)
# with exit 5 and a message naming the database, nothing half-written; a
# PAM key login on the hub's host fails with PAM_AUTHINFO_UNAVAIL (never
# success); the hubs keep running and work again by themselves within a
# few seconds of pg_ctl start; every acknowledged write of the writer that
# ran through the outage exists.  The same after a crash-like stop (-m
# immediate).  A hub whose notification connection is cut (the LISTEN
# backend terminated) resynchronizes from the change log: its NSS snapshot
# shows a change made meanwhile on the other hub.  Runs in a private mount
# namespace (tests/pam/ns.sh) for the PAM part.
. "$(dirname "$0")/../pam/ns.sh"
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/pam/pamlib.sh"
. "$TESTS_DIR/lib_pg.sh"

E_UNAVAIL="Authentication service cannot retrieve authentication info"
FAIL_MS=8000
BACK_S=5
NSS_LIMIT=1.0
if grep -qa __asan_init "$SVCACCTD"; then BACK_S=10; NSS_LIMIT=2; fi
CONF_LINES=('rate_limit_count = 100000;' 'host_workspaces = [ "build-farm" ];'
	'services = { login = [ "svca-req" ]; sudo = [ "sudo" ]; };')

pg_start
hub_init 1 "${CONF_LINES[@]}"
pg_migrate || bail "svcacctd --migrate"
hub_start 1 || bail "hub 1 starts"
hub_init 2 "${CONF_LINES[@]}"
hub_join 2 || bail "hub 2 gets hub 1's pepper and audit.key"
hub_start 2 || bail "hub 2 starts"
private_root
setup_hostws editor:ci-deploy
K=$(key_create ci-deploy) && [ -n "$K" ] || bail "key create ci-deploy"
pam_service svca-req <<'EOF'
auth     required @MOD@ socket=@SOCK@
auth     required pam_permit.so
account  required @MOD@ socket=@SOCK@
account  required pam_permit.so
EOF
pamt "$K" svca-req ci-deploy authenticate acct_mgmt
expect_run "database up: a key login on hub 1's host works" 0 "account management done"

# a decision on hub 2 holds for the next login on hub 1's host
check -d "hub 2: account disable ci-deploy" hub_ctl 2 account disable ci-deploy
pamt "$K" svca-req ci-deploy authenticate acct_mgmt
if [ "$RC" != 0 ]; then ok "the next key login on hub 1's host is refused"; else not_ok "the next key login on hub 1's host is refused (the account was disabled on hub 2)"; fi
check -d "hub 2: account enable ci-deploy" hub_ctl 2 account enable ci-deploy
pamt "$K" svca-req ci-deploy authenticate acct_mgmt
expect_run "enabled on hub 2: the key login on hub 1's host works again" 0 "account management done"
K2=$(key_create ci-deploy) && [ -n "$K2" ] || bail "second key"
check -d "hub 2: key revoke ci-deploy (second key)" hub_ctl 2 key revoke ci-deploy "$(key_id "$K2")"
pamt "$K2" svca-req ci-deploy authenticate
if [ "$RC" != 0 ]; then ok "a key revoked on hub 2 is refused by the next login on hub 1's host"; else not_ok "a key revoked on hub 2 is refused by the next login on hub 1's host"; fi

# writer: account create on hub 2 in a loop; "NAME RC MS" per command
writer() {
	local i=0 name rc t0
	while [ ! -f "$TMPD/stop" ]; do
		i=$((i + 1))
		name=$(printf 'load-%05d' "$i")
		t0=$(date +%s%N)
		timeout 20 $SVCACCTCTL -s "${HUB_SOCK[2]}" account create "$name" </dev/null >/dev/null 2>&1
		rc=$?
		echo "$name $rc $((($(date +%s%N) - t0) / 1000000))" >>"$TMPD/load.log"
		[ "$rc" = 0 ] || sleep 0.05
	done
}
: >"$TMPD/load.log"
writer &
WPID=$!
track_pid "$WPID"
sleep 1

# fails_fast DESC N ARGS...: hub N's command exits 5 in < FAIL_MS with a
# message about the database
fails_fast() {
	local desc=$1 n=$2 t0 ms
	shift 2
	t0=$(date +%s%N)
	expect_exit 5 hub_ctl "$n" "$@"
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ "$RC" = 5 ] && [ "$ms" -lt "$FAIL_MS" ] && grep -qiE 'database|postgres' <<<"$ERR"; then
		ok "$desc: exit 5 in $ms ms ($(head -n 1 <<<"$ERR" | cut -c1-100))"
	else
		not_ok "$desc: exit 5 in < $FAIL_MS ms with a message naming the database (exit $RC, $ms ms: ${ERR:0:160})"
	fi
}

outage() { # MODE
	local mode=$1 t0
	if pg_stop "$mode"; then ok "pg_ctl stop -m $mode under load"; else bail "pg_ctl stop -m $mode"; fi
	fails_fast "db down ($mode): hub 1 account create down-$mode-1" 1 account create "down-$mode-1"
	fails_fast "db down ($mode): hub 2 account create down-$mode-2" 2 account create "down-$mode-2"
	fails_fast "db down ($mode): hub 2 key create ci-deploy" 2 key create ci-deploy
	fails_fast "db down ($mode): hub 1 grant add" 1 grant add ci-deploy --workspace build-farm --role admin
	fails_fast "db down ($mode): hub 1 signing-key rotate" 1 signing-key rotate
	t0=$(date +%s%N)
	hub_ctl 1 account list </dev/null >/dev/null 2>&1
	local rc=$? ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$ms" -lt "$FAIL_MS" ] && ok "db down ($mode): account list answers within $FAIL_MS ms (exit $rc, $ms ms)" ||
		not_ok "db down ($mode): account list answers within $FAIL_MS ms (exit $rc, $ms ms)"
	pamt "$K" svca-req ci-deploy authenticate
	if [ "$RC" != 0 ]; then ok "db down ($mode): the key login never succeeds ($MS ms)"; else not_ok "db down ($mode): the key login never succeeds"; fi
	expect_run "db down ($mode): auth -> PAM_AUTHINFO_UNAVAIL" 1 "$E_UNAVAIL"
	[ "$MS" -lt 10000 ] && ok "db down ($mode): PAM answers within 10 s ($MS ms)" || not_ok "db down ($mode): PAM answers within 10 s ($MS ms)"
	hub_alive 1 && hub_alive 2 && ok "db down ($mode): both hubs keep running" || not_ok "db down ($mode): both hubs keep running"
	sleep 1
	pg_restart || bail "pg_ctl start"
	for n in 1 2; do
		if wait_for "$BACK_S" hub_ctl "$n" account create "back-$mode-$n"; then
			ok "db back ($mode): hub $n writes again by itself (${WAITED} s)"
		else
			not_ok "db back ($mode): hub $n writes again by itself within $BACK_S s"
			diag_file "${HUB_LOG[n]}" 5
		fi
	done
	check -d "db back ($mode): hub 1 sees hub 2's write" hub_ctl 1 account show "back-$mode-2"
	for n in 1 2; do
		check_exit 4 -d "db back ($mode): down-$mode-1 does not exist (hub $n)" hub_ctl "$n" account show "down-$mode-1"
		check_exit 4 -d "db back ($mode): down-$mode-2 does not exist (hub $n)" hub_ctl "$n" account show "down-$mode-2"
	done
	r=$(pg_psql -c "SELECT count(*) FROM svcacct_kv WHERE k LIKE '%down-$mode%' OR position(convert_to('down-$mode', 'UTF8') in v) > 0")
	[ "$r" = 0 ] && ok "db back ($mode): no trace of the refused writes in svcacct_kv" || not_ok "db back ($mode): no trace of the refused writes in svcacct_kv ($r rows)"
	n=$(hub_ctl 1 --json key list ci-deploy </dev/null | json_py 'len(d)')
	[ "$n" = 2 ] && ok "db back ($mode): ci-deploy still has its two keys" || not_ok "db back ($mode): ci-deploy still has its two keys ($n)"
	pamt "$K" svca-req ci-deploy authenticate acct_mgmt
	expect_run "db back ($mode): the key login works again" 0 "account management done"
	sleep 0.5
}
outage fast
outage immediate

touch "$TMPD/stop"
wait "$WPID" 2>/dev/null
awk '$2 == 0 {print $1}' "$TMPD/load.log" | sort >"$TMPD/acked"
hub_ctl 1 --json account list </dev/null | json_py '"\n".join(sorted(a["name"] for a in d))' >"$TMPD/list"
missing=$(comm -23 "$TMPD/acked" "$TMPD/list" | wc -l)
[ "$missing" = 0 ] && ok "every write acknowledged during the outages exists ($(wc -l <"$TMPD/acked"))" ||
	not_ok "every write acknowledged during the outages exists ($missing of $(wc -l <"$TMPD/acked") missing)"
maxms=$(awk '$2 != 0 && $3 > m {m = $3} END {print m + 0}' "$TMPD/load.log")
[ "$maxms" -lt 10000 ] && ok "no write of the writer took 10 s or more to fail (longest: $maxms ms)" ||
	not_ok "no write of the writer took 10 s or more to fail (longest: $maxms ms)"
diag "writer: $(awk '{c[$2]++} END {for (k in c) printf "exit %s: %d  ", k, c[k]}' "$TMPD/load.log")"
bad=$(awk '$2 != 0 && $2 != 5 && $2 != 1 {print $2}' "$TMPD/load.log" | sort | uniq -c | tr '\n' ' ')
[ -z "$bad" ] && ok "the writer saw only exit 0, 1 or 5" || not_ok "the writer saw only exit 0, 1 or 5 ($bad)"
check -d "audit verify on hub 1 after the outages" hub_ctl 1 audit verify
check -d "audit verify on hub 2 after the outages" hub_ctl 2 audit verify

# ---- cut database connections --------------------------------------------------------------------
# Every connection of the hubs (the LISTEN one among them) is terminated;
# a change made right then on hub 1 reaches hub 2's snapshot through the
# change log once hub 2 has reconnected, and the other way round.
r=$(pg_psql -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'svcacct_hub'")
if [ "${r:-0}" -ge 2 ]; then
	ok "terminated the hubs' database connections ($r)"
else
	not_ok "terminated the hubs' database connections ($r)"
fi
if wait_for 5 hub_ctl 1 account create cut-1; then
	ok "hub 1: account create cut-1 right after (${WAITED} s)"
else
	not_ok "hub 1: account create cut-1 right after (within 5 s)"
fi
if wait_for "$NSS_LIMIT" hub_nss_has 2 cut-1; then
	ok "hub 2 resynchronized: its snapshot has cut-1 within $NSS_LIMIT s (${WAITED} s)"
else
	not_ok "hub 2 resynchronized: its snapshot has cut-1 within $NSS_LIMIT s"
fi
r=$(pg_psql -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'svcacct_hub'")
check -d "hub 2: account create cut-2 right after another cut ($r connections)" hub_ctl 2 account create cut-2
if wait_for "$NSS_LIMIT" hub_nss_has 1 cut-2; then
	ok "hub 1 resynchronized: its snapshot has cut-2 within $NSS_LIMIT s (${WAITED} s)"
else
	not_ok "hub 1 resynchronized: its snapshot has cut-2 within $NSS_LIMIT s"
fi

# A revocation while hub 1's notification connection is cut: the next
# login on hub 1's host must not be decided from a stale cache.
K3=$(key_create ci-deploy) && [ -n "$K3" ] || bail "third key"
pamt "$K3" svca-req ci-deploy authenticate acct_mgmt
expect_run "the third key logs in on hub 1's host" 0 "account management done"
r=$(pg_psql -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'svcacct_hub'")
if wait_for 5 hub_ctl 2 key revoke ci-deploy "$(key_id "$K3")"; then
	ok "connections cut ($r): hub 2 revokes the third key (${WAITED} s)"
else
	not_ok "connections cut ($r): hub 2 revokes the third key"
fi
pamt "$K3" svca-req ci-deploy authenticate
if [ "$RC" != 0 ]; then
	ok "right after, hub 1 refuses the key revoked on hub 2 although its listener was cut (exit $RC)"
else
	not_ok "right after, hub 1 refuses the key revoked on hub 2 although its listener was cut (the login succeeded)"
fi
