#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# A hub's HTTPS front holds a fleet's long polls (issue 17 item 7): 1,000
# agents' GET /v1/agent/changes from one address (all of 127/8 counts as
# one caller) are held at once, past the caps meant for anonymous callers
# (64 per address, 256 in all), which still bind: 80 idle anonymous
# connections from the same address get some of theirs closed while no
# agent poll is dropped.  With the polls held the hub answers its socket
# and /healthz, and one change answers every poll.  An agent's connection
# stays open idle past the 10 s that close an anonymous one.  The hub raised its
# open-file limit for https_max_connections; the setting is refused
# outside a hub.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/lib_pg.sh"
. "$TESTS_DIR/http/http_lib.sh"

command -v openssl >/dev/null || bail "openssl is needed (make deps)"
command -v curl >/dev/null || bail "curl is needed (make deps)"
N=${FLEET_POLLS:-1000}

# Outside a hub the setting is an error.
cat >"$TMPD/standalone.conf" <<EOF2
state_dir = "$TMPD/nostate";
https_max_connections = 100;
EOF2
if ! "$SVCACCTD" -t -c "$TMPD/standalone.conf" >"$TMPD/cc.out" 2>&1 &&
	grep -q "https_max_connections.*hub" "$TMPD/cc.out"; then
	ok "https_max_connections outside a hub: refused with a message naming the setting"
else
	not_ok "https_max_connections outside a hub: refused"
	diag_file "$TMPD/cc.out" 5
fi

pg_start
PKI=$TMPD/pki
tls_make_ca "$PKI" && tls_make_cert "$PKI" hub || bail "a CA and the hub's certificate"
P1=$(free_port)
hub_init 1 "https_listen = \"127.0.0.1:$P1\";" "tls_cert = \"$PKI/hub.crt\";" \
	"tls_key = \"$PKI/hub.key\";" "host_id = \"hub1\";" "rate_limit_count = 1000;"
pg_migrate || bail "svcacctd --migrate"
# The hub starts under a soft open-file limit of 1024, as a shell gives it.
ulimit -S -n 1024
hub_start 1 || bail "hub 1 starts"
H1="$SVCACCTCTL -s ${HUB_SOCK[1]}"
U1="https://127.0.0.1:$P1"
soft=$(awk '/Max open files/ {print $4}' "/proc/${HUB_PID[1]}/limits")
if [ "$soft" -ge 5000 ]; then
	ok "the hub raised its open-file soft limit for https_max_connections = 4096 ($soft)"
else
	not_ok "the hub raised its open-file soft limit ($soft)"
fi

expect_exit 0 $H1 team create ta && expect_exit 0 $H1 workspace create wa --team ta &&
	expect_exit 0 $H1 account create svc-one && expect_exit 0 $H1 host token create --workspace wa ||
	bail "the directory"
TOK=$(tail -n 1 <<<"$OUT")
curl -s -o "$TMPD/enroll.json" --cacert "$PKI/ca.crt" -m 10 -H 'Content-Type: application/json' \
	--data "{\"token\":\"$TOK\",\"host_id\":\"web-a\"}" "$U1/v1/agent/enroll"
CRED=$(json_py 'd["credential"]' <"$TMPD/enroll.json" 2>/dev/null)
[[ $CRED == svch_* ]] || bail "an enrolled host"
export FLEET_CRED=$CRED
CUR=$(pg_psql -c "SELECT max(seq) FROM svcacct_changes")

# While the polls are held: the socket and /healthz answer at once.
cat >"$TMPD/during.sh" <<EOF2
t1=\$(date +%s%N)
timeout 10 $H1 account list >/dev/null 2>&1 && echo sock_ok >"$TMPD/during.out"
echo \$(((\$(date +%s%N) - t1) / 1000000)) >>"$TMPD/during.out"
curl -s -o /dev/null -w '%{http_code}\n' --cacert "$PKI/ca.crt" -m 5 "$U1/healthz" >>"$TMPD/during.out"
EOF2
t0=$(date +%s)
python3 "$TESTS_DIR/http/agent_polls.py" 127.0.0.1 "$P1" "$PKI/ca.crt" FLEET_CRED "$CUR" "$N" \
	--during "bash $TMPD/during.sh" --change "$H1 account disable svc-one >/dev/null" \
	>"$TMPD/polls.json" 2>"$TMPD/polls.err"
diag "$(cat "$TMPD/polls.json") in $(($(date +%s) - t0)) s"
r() { json_py "d[\"$1\"]" <"$TMPD/polls.json" 2>/dev/null; }
if [ "$(r held)" = "$N" ]; then
	ok "$N agents' long polls from one address held at once on one hub"
else
	not_ok "$N agents' long polls held at once (held $(r held))"
	diag_file "$TMPD/polls.err" 10
	diag_file "${HUB_LOG[1]}" 10
fi
ac=$(r anon_closed)
if [ -n "$ac" ] && [ "$ac" -ge 16 ] && [ "$(r held_after_anon)" = "$N" ]; then
	ok "80 idle anonymous connections from the same address: $ac closed (64 per address), no agent poll dropped"
else
	not_ok "anonymous caps still bind beside the agents (closed $ac, polls held $(r held_after_anon))"
fi
mapfile -t D <"$TMPD/during.out"
if [ "${D[0]}" = sock_ok ] && [ "${D[1]}" -le 3000 ] && [ "${D[2]}" = 200 ]; then
	ok "with $N polls held the hub answers its socket (${D[1]} ms for account list) and /healthz"
else
	not_ok "with $N polls held the hub answers its socket and /healthz (${D[*]})"
fi
if [ "$(r answered)" = "$N" ]; then
	ok "one change answers all $N held polls with the new seq (last after $(r answer_ms_max) ms)"
else
	not_ok "one change answers all $N held polls ($(r answered))"
fi
# An agent's connection outlives the 10 s idle timeout of anonymous ones
# (its next request may queue behind other agents' snapshots).
python3 "$TESTS_DIR/http/agent_polls.py" idle 127.0.0.1 "$P1" "$PKI/ca.crt" FLEET_CRED 14 \
	>"$TMPD/idle.json" 2>"$TMPD/idle.err"
i() { json_py "d[\"$1\"]" <"$TMPD/idle.json" 2>/dev/null; }
if [ "$(i agent_first)" = 200 ] && [ "$(i agent_again)" = 200 ] && [ "$(i anon_first)" = 200 ] &&
	[ "$(i anon_again)" = 0 ]; then
	ok "idle 14 s: an agent's connection still answers, an anonymous one was closed (10 s)"
else
	not_ok "idle 14 s: agent's connection kept, anonymous closed ($(cat "$TMPD/idle.json"))"
	diag_file "$TMPD/idle.err" 5
fi
hub_alive 1 && ok "the hub is still running" || not_ok "the hub is still running"
stop_daemon
exit "$(failures)"
