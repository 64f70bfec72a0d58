#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Enrolling hosts into a fleet (issue 17 item 1, DESIGN.md section 9): a
# throwaway PostgreSQL (initdb + pg_ctl as postgres, Unix socket only), one
# hub with the HTTPS API (a CA and certificate made here with openssl), one
# agent with its own socket and state dir, and a standalone daemon, all on
# loopback.  Enrollment tokens (plain, --json, used, expired, unknown,
# malformed), host enroll (argv and stdin), the credential file (0600, in
# no log), host list/show/update/disable/remove (JSON fields of the
# contract), GET /v1/agent/whoami (200, 403 disabled, 401 removed), fleet
# status on hub, agent and standalone, management refused on the agent
# naming the hub, host commands refused on a standalone daemon, --hub,
# the audit events, and the config errors of agent mode.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/http/http_lib.sh"

command -v openssl >/dev/null || bail "openssl is needed (make deps)"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$PGBIN/initdb" ] && id postgres >/dev/null 2>&1 ||
	bail "PostgreSQL's server (initdb, pg_ctl) and the postgres user are needed (make deps)"
[ "$(id -u)" = 0 ] || bail "runs as root (initdb as postgres)"

_svca_make_tmp

# ---- PostgreSQL --------------------------------------------------------------------

PGD=$TMPD/pg
PGS=$TMPD/pgsock
PGLOG=$PGS/postgresql.log
mkdir -m 0700 "$PGD" && mkdir -m 0755 "$PGS" && chown postgres: "$PGD" "$PGS" ||
	bail "PostgreSQL directories"
pg() { runuser -u postgres -- "$@"; }
pg_stop() { pg "$PGBIN/pg_ctl" -D "$PGD" -m immediate -w -t 20 stop >/dev/null 2>&1; }
pg "$PGBIN/initdb" -D "$PGD" -U postgres -A trust --no-sync >"$TMPD/initdb.log" 2>&1 ||
	{ diag_file "$TMPD/initdb.log"; bail "initdb"; }
pg "$PGBIN/pg_ctl" -D "$PGD" -w -t 30 -l "$PGLOG" \
	-o "-c listen_addresses='' -k $PGS -c fsync=off" start >/dev/null 2>&1 ||
	{ diag_file "$PGLOG"; bail "pg_ctl start"; }
track_pid "$(head -n 1 "$PGD/postmaster.pid")"
psql_su() { pg "$PGBIN/psql" -h "$PGS" -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
# The hubs' group exists before --migrate, which grants it its rights.
psql_su -c "CREATE ROLE svcacct_owner LOGIN" -c "CREATE ROLE svcacct_hubs NOLOGIN" \
	-c "CREATE ROLE svcacct_hub LOGIN IN ROLE svcacct_hubs" \
	-c "CREATE DATABASE svcacct OWNER svcacct_owner" >/dev/null ||
	bail "roles and database"
printf 'database = "host=%s dbname=svcacct user=svcacct_owner";\n' "$PGS" >"$TMPD/owner.conf"
chmod 644 "$TMPD/owner.conf"
"$SVCACCTD" --migrate -c "$TMPD/owner.conf" >"$TMPD/migrate.log" 2>&1 ||
	{ diag_file "$TMPD/migrate.log"; bail "svcacctd --migrate as svcacct_owner"; }
ok "a throwaway PostgreSQL with the schema (svcacctd --migrate)"

# ---- TLS ---------------------------------------------------------------------------

PKI=$TMPD/pki
mkdir -m 0700 "$PKI"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3 \
	-keyout "$PKI/ca.key" -out "$PKI/ca.crt" -subj "/CN=svcacct fleet test CA" 2>/dev/null &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/hub.key" \
		-out "$PKI/hub.csr" -subj "/CN=hub" 2>/dev/null &&
	printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
		>"$PKI/hub.ext" &&
	openssl x509 -req -in "$PKI/hub.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
		-CAcreateserial -days 1 -extfile "$PKI/hub.ext" -out "$PKI/hub.crt" 2>/dev/null &&
	chmod 600 "$PKI/hub.key" || bail "a CA and the hub's certificate"

# ---- the hub -----------------------------------------------------------------------

PORT=$(free_port)
HUB="https://127.0.0.1:$PORT"
_svca_write_conf "database = \"host=$PGS dbname=svcacct user=svcacct_hub\";" \
	"https_listen = \"127.0.0.1:$PORT\";" "tls_cert = \"$PKI/hub.crt\";" \
	"tls_key = \"$PKI/hub.key\";" "host_id = \"hub1\";" "rate_limit_count = 40;" "rate_limit_window = 300;"
START_TIMEOUT=15 start_daemon_reuse || bail "the hub starts (database, https_listen)"
ok "the hub starts with database and https_listen"

check -d "hub: team create ops" $CTL team create ops
check -d "hub: workspace create prod" $CTL workspace create prod --team ops
check -d "hub: workspace create staging" $CTL workspace create staging --team ops

# ---- enrollment tokens --------------------------------------------------------------

token_ok() { [[ $1 =~ ^svce_[0-9A-Za-z]{12}_[0-9A-Za-z]{49}$ ]]; }
if expect_exit 0 $CTL host token create --workspace prod && TOK1=$(tail -n 1 <<<"$OUT") &&
	token_ok "$TOK1"; then
	ok "host token create: the token alone on stdout's last line"
else
	not_ok "host token create: the token alone on stdout's last line"
	diag "$OUT $ERR"
	TOK1=""
fi
if expect_exit 0 $CTL --json host token create --workspace prod --workspace staging &&
	TOK2=$(json_py 'd["token"]' <<<"$OUT") && token_ok "$TOK2" &&
	[ "$(json_py 'sorted(d)' <<<"$OUT")" = '["expires_at", "token", "token_id", "workspaces"]' ] &&
	[ "$(json_py 'd["workspaces"]' <<<"$OUT")" = '["prod", "staging"]' ]; then
	ok "host token create --json: token, token_id, expires_at, workspaces"
else
	not_ok "host token create --json: token, token_id, expires_at, workspaces"
	diag "$OUT $ERR"
	TOK2=""
fi
TOK3=$($CTL host token create --workspace prod --ttl 1 2>/dev/null | tail -n 1)
EXPIRED_AT=$(date +%s)

ntokens() { $CTL --json audit list --event host.token_create | json_py 'len(d)'; }
N0=$(ntokens)
if expect_exit 4 $CTL host token create --workspace nope && grep -q "workspace 'nope' does not exist" <<<"$ERR" &&
	[ "$(ntokens)" = "$N0" ]; then
	ok "token create with an unknown workspace: exit 4, clear message, nothing made"
else
	not_ok "token create with an unknown workspace: exit 4, clear message, nothing made"
	diag "$ERR"
fi
for bad in 0 abc -5 9999999999; do
	if expect_exit 2 $CTL host token create --workspace prod --ttl "$bad" &&
		grep -q -- "--ttl" <<<"$ERR" && [ "$(ntokens)" = "$N0" ]; then
		ok "token create --ttl $bad: usage error naming --ttl, nothing made"
	else
		not_ok "token create --ttl $bad: usage error naming --ttl, nothing made"
		diag "$ERR"
	fi
done
check_exit 2 -d "token create without --workspace: usage error" $CTL host token create
check_exit 2 -d "token create --workspace 'Bad Name': usage error" \
	$CTL host token create --workspace "Bad Name"

# ---- the agent ----------------------------------------------------------------------

AG=$TMPD/agent
mkdir -m 0755 "$AG" && mkdir -m 0700 "$AG/state" && mkdir -m 0755 "$AG/nss"
ASOCK=$AG/svcacctd.sock
ACONF=$AG/svcacctd.conf
ALOG=$AG/daemon.log
cat >"$ACONF" <<EOF
socket = "$ASOCK";
state_dir = "$AG/state";
nss_dir = "$AG/nss";
syslog = true;
syslog_socket = "$SYSLOG_SOCK";
hubs = [ "$HUB" ];
hub_ca = "$PKI/ca.crt";
host_id = "agent1";
refresh_interval = 30;
uid_min = 61000;
host_workspaces = [ "prod" ];
EOF
chmod 644 "$ACONF"
ACTL="$SVCACCTCTL -s $ASOCK"
check -d "svcacctd -t accepts the agent's configuration" "$SVCACCTD" -t -c "$ACONF"
AGENT_PID=""
start_agent() {
	"$SVCACCTD" -f -c "$ACONF" </dev/null >>"$ALOG" 2>&1 &
	AGENT_PID=$!
	track_pid "$AGENT_PID"
	for _ in $(seq 300); do
		[ -S "$ASOCK" ] && $ACTL audit verify >/dev/null 2>&1 && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	diag_file "$ALOG" 30
	return 1
}
start_agent || bail "the agent starts (hubs, hub_ca)"
ok "the agent starts with hubs and hub_ca"
if grep -q "ignored here: uid_min, host_workspaces" "$ALOG"; then
	ok "the agent warns that uid_min and host_workspaces are ignored (the hubs decide)"
else
	not_ok "the agent warns that uid_min and host_workspaces are ignored (the hubs decide)"
	diag_file "$ALOG" 10
fi

if expect_exit 0 $ACTL host enroll "$TOK1" && [ "$OUT" = agent1 ]; then
	ok "host enroll TOKEN: exit 0, prints the host_id (agent1)"
else
	not_ok "host enroll TOKEN: exit 0, prints the host_id (agent1)"
	diag "rc=$RC out=$OUT err=$ERR"
fi
CRED_FILE=$AG/state/host.credential
if [ "$(stat -c %a "$CRED_FILE" 2>/dev/null)" = 600 ] &&
	grep -qE '^svch_[0-9A-Za-z]{12}_[0-9A-Za-z]{49}$' "$CRED_FILE"; then
	ok "host.credential: mode 0600, a svch_ credential"
else
	not_ok "host.credential: mode 0600, a svch_ credential"
fi
CRED=$(cat "$CRED_FILE" 2>/dev/null)
SECRET=${CRED:18:43}
if [ -n "$SECRET" ] && ! grep -rqF -- "$SECRET" "$ALOG" "$DAEMON_LOG" "$SYSLOG_LOG" \
	"$PGLOG" && ! grep -qF -- "${TOK1:18:43}" "$ALOG" "$DAEMON_LOG" "$SYSLOG_LOG"; then
	ok "neither the credential nor the token is in any log (agent, hub, syslog, PostgreSQL)"
else
	not_ok "neither the credential nor the token is in any log (agent, hub, syslog, PostgreSQL)"
fi

hexof() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
pg "$PGBIN/pg_dump" -h "$PGS" -d svcacct >"$TMPD/dump.sql" 2>/dev/null
if [ -s "$TMPD/dump.sql" ] && grep -q 'svcacct_kv' "$TMPD/dump.sql" &&
	! grep -qiF -e "$SECRET" -e "$(hexof "$SECRET")" -e "${TOK1:18:43}" \
		-e "$(hexof "${TOK1:18:43}")" "$TMPD/dump.sql"; then
	ok "the database holds neither the credential nor the token (keyed hashes only)"
else
	not_ok "the database holds neither the credential nor the token (keyed hashes only)"
fi

# ---- refused tokens -----------------------------------------------------------------

refused() { # DESC PATTERN TOKEN [ARGS]
	local desc=$1 pat=$2 tok=$3
	shift 3
	if expect_exit 1 $ACTL host enroll "$tok" "$@" && grep -q "$pat" <<<"$ERR"; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "rc=$RC err=$ERR"
	fi
}
refused "a used token is refused: exit 1, 'already used'" "already used" "$TOK1"
refused "a fresh token for an active host_id is refused: 'already enrolled and active'" \
	"already enrolled and active" "$TOK2"
sleep $((EXPIRED_AT + 2 - $(date +%s) > 0 ? EXPIRED_AT + 2 - $(date +%s) : 0))
refused "an expired token (--ttl 1, 2 s later) is refused: 'expired'" "expired" "$TOK3" \
	--host-id agent9
UNKNOWN=$("$PY" -c '
import binascii, os
A = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
def b62(n, w):
    s = ""
    for _ in range(w):
        n, r = divmod(n, 62); s = A[r] + s
    return s
body = "svce_" + "".join(A[b % 62] for b in os.urandom(12)) + "_" + b62(int.from_bytes(os.urandom(32), "big"), 43)
print(body + b62(binascii.crc32(body.encode()), 6))')
refused "an unknown (well-formed) token is refused: 'unknown enrollment token'" \
	"unknown enrollment token" "$UNKNOWN" --host-id agent9
check_exit 2 -d "a malformed token: usage error, nothing sent" $ACTL host enroll svce_nonsense
if expect_exit 0 $CTL --json host list && [ "$(json_py '[h["host_id"] for h in d]' <<<"$OUT")" = '["agent1"]' ]; then
	ok "refused enrollments recorded no host"
else
	not_ok "refused enrollments recorded no host"
	diag "$OUT"
fi

# ---- hosts on the hub ---------------------------------------------------------------

if expect_exit 0 $CTL --json host list &&
	[ "$(json_py 'sorted(d[0])' <<<"$OUT")" = '["host_id", "lag_s", "last_seen", "snapshot_seq", "status", "workspaces"]' ] &&
	[ "$(json_py '[d[0]["workspaces"], d[0]["status"], isinstance(d[0]["snapshot_seq"], int)]' <<<"$OUT")" = '[["prod"], "active", true]' ]; then
	ok "host list --json: exactly host_id, workspaces, status, last_seen, snapshot_seq, lag_s"
else
	not_ok "host list --json: exactly host_id, workspaces, status, last_seen, snapshot_seq, lag_s"
	diag "$OUT"
fi
if expect_exit 0 $CTL host list && grep -qE '^HOST +WORKSPACES +STATUS +LAST_SEEN +SNAPSHOT_SEQ +LAG_S$' <<<"$OUT" &&
	grep -qE '^agent1 +prod +active ' <<<"$OUT"; then
	ok "host list: a table with agent1, prod, active"
else
	not_ok "host list: a table with agent1, prod, active"
	diag "$OUT"
fi
if expect_exit 0 $CTL host show agent1 && grep -qx 'host_id: agent1' <<<"$OUT" &&
	grep -qx 'status: active' <<<"$OUT"; then
	ok "host show agent1"
else
	not_ok "host show agent1"
	diag "$OUT"
fi
check_exit 4 -d "host show of an unknown host: exit 4" $CTL host show ghost
if expect_exit 0 $CTL --json host update agent1 --workspace staging --workspace prod &&
	[ "$(json_py 'd["workspaces"]' <<<"$OUT")" = '["staging", "prod"]' ] &&
	expect_exit 0 $CTL --json host update agent1 --workspace staging &&
	[ "$(json_py 'd["workspaces"]' <<<"$OUT")" = '["staging"]' ] &&
	expect_exit 0 $CTL --json host show agent1 &&
	[ "$(json_py 'd["workspaces"]' <<<"$OUT")" = '["staging"]' ]; then
	ok "host update --workspace replaces the host's list"
else
	not_ok "host update --workspace replaces the host's list"
	diag "$OUT $ERR"
fi
if expect_exit 4 $CTL host update agent1 --workspace nope && grep -q "does not exist" <<<"$ERR" &&
	[ "$($CTL --json host show agent1 | json_py 'd["workspaces"]')" = '["staging"]' ]; then
	ok "host update with an unknown workspace: exit 4, nothing changed"
else
	not_ok "host update with an unknown workspace: exit 4, nothing changed"
fi

# ---- the agent's view: whoami, fleet status, management refused ---------------------

whoami() { # expected HTTP status
	local code
	code=$(curl -s -o "$TMPD/whoami.json" -w '%{http_code}' --cacert "$PKI/ca.crt" \
		-H "Authorization: Bearer $CRED" "$HUB/v1/agent/whoami")
	[ "$code" = "$1" ] || diag "whoami: HTTP $code, expected $1: $(cat "$TMPD/whoami.json")"
	[ "$code" = "$1" ]
}
if whoami 200 && [ "$(json_py 'd["host_id"]' <"$TMPD/whoami.json")" = agent1 ]; then
	ok "GET /v1/agent/whoami with the credential: 200, the host's record"
else
	not_ok "GET /v1/agent/whoami with the credential: 200, the host's record"
fi
CODE=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.crt" "$HUB/v1/agent/whoami")
if [ "$CODE" = 401 ]; then ok "whoami without a credential: 401"; else not_ok "whoami without a credential: 401 (got $CODE)"; fi

# Enrolled, the agent follows the hub (t_fleet_agent tests what it syncs).
synced() { $ACTL --json fleet status 2>/dev/null | json_py 'd["snapshot_seq"] > 0' 2>/dev/null | grep -qx true; }
wait_for 15 synced >/dev/null 2>&1
if expect_exit 0 $ACTL --json fleet status &&
	[ "$(json_py '[d["mode"], d["hubs"], d["host_id"], d["snapshot_seq"] > 0, d["age_s"] is not None, d["stale"], d["host_status"]]' <<<"$OUT")" = "[\"agent\", [{\"url\": \"$HUB\", \"reachable\": true}], \"agent1\", true, true, false, \"active\"]" ]; then
	ok "agent: fleet status --json: mode agent, the hub reachable, agent1, synced (seq > 0, age_s, not stale)"
else
	not_ok "agent: fleet status --json: mode agent, the hub reachable, agent1, synced (seq > 0, age_s, not stale)"
	diag "$OUT $ERR"
fi
if expect_exit 1 $ACTL account create newbot && grep -qF "agent of the fleet" <<<"$ERR" &&
	grep -qF -e "$HUB" <<<"$ERR"; then
	ok "agent: account create exits 1 naming the hub"
else
	not_ok "agent: account create exits 1 naming the hub"
	diag "$ERR"
fi
for cmd in "team create t2" "grant list x" "key create x" "host list"; do
	# shellcheck disable=SC2086
	if expect_exit 1 $ACTL $cmd && grep -qF -e "$HUB" <<<"$ERR"; then
		ok "agent: $cmd exits 1 naming the hub"
	else
		not_ok "agent: $cmd exits 1 naming the hub"
		diag "$ERR"
	fi
done

check -d "host disable agent1 on the hub" $CTL host disable agent1
if whoami 403; then ok "a disabled host: whoami 403"; else not_ok "a disabled host: whoami 403"; fi
if expect_exit 0 $ACTL --json fleet status && [ "$(json_py 'd["host_status"]' <<<"$OUT")" = "disabled or removed" ] &&
	expect_exit 0 $ACTL fleet status && grep -qx "host_status: disabled or removed" <<<"$OUT"; then
	ok "agent: fleet status says 'disabled or removed' after host disable"
else
	not_ok "agent: fleet status says 'disabled or removed' after host disable"
	diag "$OUT"
fi
check -d "host remove agent1 on the hub" $CTL host remove agent1
if whoami 401; then ok "a removed host: whoami 401"; else not_ok "a removed host: whoami 401"; fi
if [ "$($CTL --json host list)" = "[]" ] && expect_exit 0 $ACTL --json fleet status &&
	[ "$(json_py 'd["host_status"]' <<<"$OUT")" = "disabled or removed" ]; then
	ok "after host remove: no host on the hub; the agent says 'disabled or removed'"
else
	not_ok "after host remove: no host on the hub; the agent says 'disabled or removed'"
fi
printf '%s\n' "$TOK2" >"$TMPD/tok2"
if STDIN_FILE=$TMPD/tok2 expect_exit 0 $ACTL host enroll - && [ "$OUT" = agent1 ] &&
	[ "$($CTL --json host show agent1 | json_py 'd["workspaces"]')" = '["prod", "staging"]' ] &&
	expect_exit 0 $ACTL --json fleet status && [ "$(json_py 'd["host_status"]' <<<"$OUT")" = active ]; then
	ok "a removed host enrolls again (token from stdin): active, the new token's workspaces"
else
	not_ok "a removed host enrolls again (token from stdin): active, the new token's workspaces"
	diag "$OUT $ERR"
fi

# ---- a hub that never answers: the agent's loop keeps serving -------------------------

# A listener that accepts and then says nothing (no TLS handshake): the
# enrollment waits for its timeout on a worker thread, and the agent goes
# on answering other clients meanwhile.
BPORT=$(free_port)
"$PY" -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$BPORT" </dev/null >/dev/null 2>&1 &
track_pid $!
AG2=$TMPD/agent2
mkdir -m 0755 "$AG2" && mkdir -m 0700 "$AG2/state" && mkdir -m 0755 "$AG2/nss"
printf '%s\n' "socket = \"$AG2/s.sock\";" "state_dir = \"$AG2/state\";" "nss_dir = \"$AG2/nss\";" \
	"syslog = false;" "hubs = [ \"https://127.0.0.1:$BPORT\" ];" "hub_ca = \"$PKI/ca.crt\";" \
	>"$AG2/conf"
chmod 644 "$AG2/conf"
"$SVCACCTD" -f -c "$AG2/conf" </dev/null >"$AG2/log" 2>&1 &
AG2_PID=$!
track_pid "$AG2_PID"
A2CTL="$SVCACCTCTL -s $AG2/s.sock"
for _ in $(seq 200); do $A2CTL audit verify >/dev/null 2>&1 && break; sleep 0.05; done
T0=$(now)
$A2CTL host enroll "$UNKNOWN" >"$AG2/enroll.out" 2>"$AG2/enroll.err" </dev/null &
ENROLL_PID=$!
sleep 0.5
T1=$(now)
if $A2CTL audit verify >/dev/null 2>&1 && kill -0 "$ENROLL_PID" 2>/dev/null &&
	"$PY" -c "import sys; sys.exit(0 if $(now) - $T1 < 2.0 else 1)"; then
	ok "while host enroll waits for a silent hub, the agent answers another client at once"
else
	not_ok "while host enroll waits for a silent hub, the agent answers another client at once"
fi
wait "$ENROLL_PID"
ERC=$?
if [ "$ERC" = 5 ] && grep -q "no hub answered" "$AG2/enroll.err" &&
	"$PY" -c "import sys; sys.exit(0 if $(now) - $T0 < 12.0 else 1)"; then
	ok "host enroll with no hub answering: exit 5 'no hub answered', within its timeout"
else
	not_ok "host enroll with no hub answering: exit 5 'no hub answered', within its timeout"
	diag "rc=$ERC $(cat "$AG2/enroll.err")"
fi
if expect_exit 0 $A2CTL --json fleet status &&
	[ "$(json_py '[d["hubs"][0]["reachable"], d["host_status"], d["stale"]]' <<<"$OUT")" = '[false, "not enrolled", true]' ]; then
	ok "fleet status on an agent that never enrolled: hub unreachable, 'not enrolled', stale"
else
	not_ok "fleet status on an agent that never enrolled: hub unreachable, 'not enrolled', stale"
	diag "$OUT"
fi
kill -TERM "$AG2_PID" 2>/dev/null
wait "$AG2_PID" 2>/dev/null
AST=$?
if { [ "$AST" = 0 ] || [ "$AST" = 143 ]; } && ! grep -qE "$_SVCA_SAN_RE" "$AG2/log"; then
	ok "the second agent shut down cleanly"
else
	not_ok "the second agent shut down cleanly (status $AST)"
	grep -E -A14 "$_SVCA_SAN_RE" "$AG2/log" | head -n 40 | diag
fi

# ---- fleet status on the hub, --hub, the audit trail -----------------------------------

if expect_exit 0 $CTL --json fleet status &&
	[ "$(json_py '[d["mode"], d["hubs"], d["host_id"], d["snapshot_seq"], d["age_s"], d["stale"]]' <<<"$OUT")" = '["hub", [], "hub1", 0, null, false]' ]; then
	ok "hub: fleet status --json: mode hub, host_id hub1, not stale"
else
	not_ok "hub: fleet status --json: mode hub, host_id hub1, not stale"
	diag "$OUT"
fi
$CTL account create fleetbot --role admin >/dev/null 2>&1 &&
	$CTL key create fleetbot 2>/dev/null | tail -n 1 >"$TMPD/fleetbot.key" &&
	chmod 600 "$TMPD/fleetbot.key" &&
	$CTL token create --key-file "$TMPD/fleetbot.key" >"$TMPD/fleetbot.tok" 2>/dev/null
if expect_exit 0 env SVCACCT_TOKEN="$(cat "$TMPD/fleetbot.tok")" "$SVCACCTCTL" --hub "$HUB" \
	--ca "$PKI/ca.crt" --json host list && [ "$OUT" = "$($CTL --json host list)" ]; then
	ok "--hub: host list --json equals the socket's"
else
	not_ok "--hub: host list --json equals the socket's"
	diag "$OUT $ERR"
fi
if expect_exit 0 env SVCACCT_TOKEN="$(cat "$TMPD/fleetbot.tok")" "$SVCACCTCTL" --hub "$HUB" \
	--ca "$PKI/ca.crt" host token create --workspace prod && token_ok "$(tail -n 1 <<<"$OUT")"; then
	ok "--hub: host token create prints a token"
else
	not_ok "--hub: host token create prints a token"
	diag "$OUT $ERR"
fi
EVENTS=$($CTL --json audit list | json_py '" ".join(sorted(set(e["event"] for e in d if e["event"].startswith("host."))))')
if [ "$EVENTS" = "host.disable host.enroll host.remove host.token_create host.update" ]; then
	ok "hub audit: host.token_create, host.enroll, host.update, host.disable, host.remove"
else
	not_ok "hub audit: host.token_create, host.enroll, host.update, host.disable, host.remove"
	diag "$EVENTS"
fi
if $ACTL --json audit list --event host.enroll | json_py '[e["outcome"] for e in d]' | grep -q '"success"'; then
	ok "agent audit: host.enroll recorded in the agent's own trail"
else
	not_ok "agent audit: host.enroll recorded in the agent's own trail"
fi
check -d "hub: audit verify" $CTL audit verify

# ---- POST /v1/agent/enroll over HTTP: statuses ---------------------------------------------

enroll_http() { # BODY: prints the HTTP status; the answer in $TMPD/enroll.json
	curl -s -o "$TMPD/enroll.json" -D "$TMPD/enroll.hdr" -w '%{http_code}' \
		--cacert "$PKI/ca.crt" -H 'Content-Type: application/json' --data-binary "$1" \
		"$HUB/v1/agent/enroll"
}
http_case() { # DESC WANT BODY [DETAIL-PATTERN]
	local code
	code=$(enroll_http "$3")
	if [ "$code" = "$2" ] && { [ -z "${4:-}" ] || grep -q "$4" "$TMPD/enroll.json"; }; then
		ok "$1"
	else
		not_ok "$1"
		diag "HTTP $code: $(cat "$TMPD/enroll.json")"
	fi
}
TOK4=$($CTL host token create --workspace prod 2>/dev/null | tail -n 1)
http_case "enroll endpoint: a used token, 401 'already used'" 401 \
	"{\"token\": \"$TOK1\", \"host_id\": \"x1\"}" "already used"
http_case "enroll endpoint: an unknown token, 401" 401 \
	"{\"token\": \"$UNKNOWN\", \"host_id\": \"x1\"}" "unknown enrollment token"
http_case "enroll endpoint: an active host_id, 409" 409 \
	"{\"token\": \"$TOK4\", \"host_id\": \"agent1\"}" "already enrolled and active"
http_case "enroll endpoint: a bad body, 400" 400 '{"token": 5}' "host_id"
http_case "enroll endpoint: an invalid host_id, 400" 400 \
	"{\"token\": \"$TOK4\", \"host_id\": \"-bad id\"}" "invalid host_id"
CODE=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.crt" "$HUB/v1/agent/enroll")
if [ "$CODE" = 405 ]; then ok "enroll endpoint: GET is 405"; else not_ok "enroll endpoint: GET is 405 (got $CODE)"; fi
if expect_exit 0 $CTL --json host list && [ "$(json_py '[h["host_id"] for h in d]' <<<"$OUT")" = '["agent1"]' ]; then
	ok "refused HTTP enrollments recorded no host"
else
	not_ok "refused HTTP enrollments recorded no host"
fi
# rate_limit_count (40 here) attempts per window (300 s: a loaded machine is slow) from one address, then 429
CODE=""
for _ in $(seq 45); do
	CODE=$(enroll_http "{\"token\": \"$UNKNOWN\", \"host_id\": \"x1\"}")
	[ "$CODE" = 429 ] && break
done
if [ "$CODE" = 429 ] && grep -qi '^retry-after: [0-9]' "$TMPD/enroll.hdr"; then
	ok "enroll endpoint: rate limited per address, 429 with Retry-After"
else
	not_ok "enroll endpoint: rate limited per address, 429 with Retry-After (last $CODE)"
fi

# ---- a standalone daemon --------------------------------------------------------------

SA=$TMPD/standalone
mkdir -m 0755 "$SA" && mkdir -m 0700 "$SA/state" && mkdir -m 0755 "$SA/nss"
printf '%s\n' "socket = \"$SA/s.sock\";" "state_dir = \"$SA/state\";" "nss_dir = \"$SA/nss\";" \
	"syslog = false;" >"$SA/conf"
chmod 644 "$SA/conf"
"$SVCACCTD" -f -c "$SA/conf" </dev/null >"$SA/log" 2>&1 &
SA_PID=$!
track_pid "$SA_PID"
SCTL="$SVCACCTCTL -s $SA/s.sock"
for _ in $(seq 200); do $SCTL account list >/dev/null 2>&1 && break; sleep 0.05; done
for cmd in "host list" "host show x" "host token create --workspace prod" "host disable x"; do
	# shellcheck disable=SC2086
	if expect_exit 1 $SCTL $cmd && grep -q "only a hub keeps the fleet's hosts" <<<"$ERR"; then
		ok "standalone: $cmd exits 1 ('only a hub ...')"
	else
		not_ok "standalone: $cmd exits 1 ('only a hub ...')"
		diag "$ERR"
	fi
done
if expect_exit 1 $SCTL host enroll "$UNKNOWN" && grep -q "is for an agent" <<<"$ERR"; then
	ok "standalone: host enroll exits 1 ('host enroll is for an agent')"
else
	not_ok "standalone: host enroll exits 1 ('host enroll is for an agent')"
	diag "$ERR"
fi
if expect_exit 0 $SCTL --json fleet status &&
	[ "$(json_py '[d["mode"], d["hubs"], d["stale"]]' <<<"$OUT")" = '["standalone", [], false]' ]; then
	ok "standalone: fleet status --json: mode standalone"
else
	not_ok "standalone: fleet status --json: mode standalone"
	diag "$OUT"
fi
kill -TERM "$SA_PID" 2>/dev/null
wait "$SA_PID" 2>/dev/null

# ---- configuration errors ---------------------------------------------------------------

conf_err() { # DESC PATTERN LINES...
	local desc=$1 pat=$2
	shift 2
	printf '%s\n' "state_dir = \"$SA/state\";" "$@" >"$TMPD/bad.conf"
	chmod 644 "$TMPD/bad.conf"
	if expect_exit 1 "$SVCACCTD" -t -c "$TMPD/bad.conf" && grep -q "$pat" <<<"$ERR"; then
		ok "svcacctd -t: $desc"
	else
		not_ok "svcacctd -t: $desc"
		diag "$ERR"
	fi
}
conf_err "database and hubs together are an error" "exclude each other" \
	'database = "dbname=x";' "hubs = [ \"$HUB\" ];" "hub_ca = \"$PKI/ca.crt\";"
conf_err "hubs without hub_ca is an error" "needs 'hub_ca'" "hubs = [ \"$HUB\" ];"
conf_err "a hub URL that is not https:// is an error" "not an https:// URL" \
	'hubs = [ "http://hub.example" ];' "hub_ca = \"$PKI/ca.crt\";"
conf_err "a hub_ca that cannot be read is an error" "hub_ca $TMPD/nope.crt" \
	"hubs = [ \"$HUB\" ];" "hub_ca = \"$TMPD/nope.crt\";"
conf_err "refresh_interval below 5 is an error" "between 5 and" "hubs = [ \"$HUB\" ];" \
	"hub_ca = \"$PKI/ca.crt\";" "refresh_interval = 2;"
conf_err "max_staleness below 5 is an error" "between 5 and" "hubs = [ \"$HUB\" ];" \
	"hub_ca = \"$PKI/ca.crt\";" "max_staleness = 1;"

# ---- the end -------------------------------------------------------------------------

kill -TERM "$AGENT_PID" 2>/dev/null
wait "$AGENT_PID" 2>/dev/null
AST=$?
if { [ "$AST" = 0 ] || [ "$AST" = 143 ]; } && ! grep -qE "$_SVCA_SAN_RE" "$ALOG"; then
	ok "the agent shut down cleanly"
else
	not_ok "the agent shut down cleanly (status $AST)"
	grep -E -A14 "$_SVCA_SAN_RE" "$ALOG" | head -n 40 | diag
fi
stop_daemon
pg_stop
exit "$(failures)"
