#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Hub mode, setting up (issue 16 items 1, 4, 5; DESIGN.md section 9): a
# throwaway PostgreSQL cluster with the documented roles; svcacctd
# --migrate as the database owner; what the hubs' role may and may not do
# (the audit table is append-only for it, and a trigger refuses UPDATE,
# DELETE and TRUNCATE even to the superuser); svcacctd -t checks that the
# database is reachable and the schema current; a hub refuses a schema
# newer than it knows (naming both versions), an unmigrated database it
# may not migrate (pointing at --migrate), and a pepper that is not the
# organization's; a second hub joins with copies of the first one's
# pepper and audit.key; the pepper is not in the database in plain text; a
# hub whose role owns the database migrates it itself; a multi-host
# connection string fails over to the next host.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/lib_pg.sh"

pg_start
hub_init 1 'rate_limit_count = 1000;'

# start_fails CONF: runs the daemon in the foreground, which must exit by
# itself (non-zero) within 15 s; sets RC and LOGTXT (its stderr+stdout).
start_fails() {
	timeout 15 "$SVCACCTD" -f -c "$1" </dev/null >"$TMPD/sf.log" 2>&1
	RC=$?
	LOGTXT=$(cat "$TMPD/sf.log")
}
# check_refusal DESC REGEX: the last start_fails exited non-zero (not by
# the timeout) and said something matching REGEX (case-insensitive).
check_refusal() {
	local desc=$1 re=$2
	if [ "$RC" != 0 ] && [ "$RC" != 124 ] && grep -qiE -- "$re" <<<"$LOGTXT"; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "exit $RC (124: still running after 15 s); want a message matching /$re/; got:"
		printf '%s\n' "$LOGTXT" | tail -n 8 | diag
	fi
}
schema_version() { pg_psql -c 'SELECT max(version) FROM svcacct_schema'; }

# ---- before any migration --------------------------------------------------------
"$SVCACCTD" -t -c "$CONF" </dev/null >"$TMPD/t.out" 2>&1
RC=$?
if [ "$RC" != 0 ] && grep -qiE 'schema|migrat' "$TMPD/t.out"; then
	ok "svcacctd -t on an empty database: exit $RC, names the schema"
else
	not_ok "svcacctd -t on an empty database fails and names the schema (exit $RC)"
	diag_file "$TMPD/t.out" 5
fi
start_fails "$CONF"
check_refusal "a hub whose role may not migrate refuses an empty database, pointing at svcacctd --migrate" \
	'--migrate'
n=$(pg_psql -c "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'svcacct%'")
[ "$n" = 0 ] && ok "the refused hub created no table" || not_ok "the refused hub created no table ($n)"

# ---- svcacctd --migrate as the owner -----------------------------------------------
if pg_migrate; then ok "svcacctd --migrate as svcacct_owner exits 0"; else not_ok "svcacctd --migrate as svcacct_owner exits 0"; fi
V=$(schema_version)
if [[ $V =~ ^[0-9]+$ ]] && [ "$V" -ge 1 ]; then ok "svcacct_schema holds version $V"; else bail "svcacct_schema holds a version ($V)"; fi
if pg_migrate && [ "$(schema_version)" = "$V" ]; then
	ok "--migrate again: exit 0, version unchanged"
else
	not_ok "--migrate again: exit 0, version unchanged (exit $RC, $(schema_version))"
fi
tables=$(pg_psql -c "SELECT string_agg(tablename || ':' || tableowner, ' ' ORDER BY tablename) FROM pg_tables WHERE tablename LIKE 'svcacct%'")
want="svcacct_audit:svcacct_owner svcacct_changes:svcacct_owner svcacct_kv:svcacct_owner svcacct_schema:svcacct_owner"
[ "$tables" = "$want" ] && ok "the four tables, owned by svcacct_owner" || not_ok "the four tables, owned by svcacct_owner ($tables)"
check -d "svcacctd -t -c hub.conf: database reachable, schema current" "$SVCACCTD" -t -c "$CONF"

# ---- the hubs' role ------------------------------------------------------------------
denied() { # DESC SQL: refused to svcacct_hub with "permission denied"
	ERR=$(pg_psql_as svcacct_hub -c "$2" 2>&1 >/dev/null)
	RC=$?
	if [ "$RC" != 0 ] && [[ $ERR == *"permission denied"* || $ERR == *"must be owner"* ]]; then
		ok "$1"
	else
		not_ok "$1 (exit $RC: ${ERR:0:160})"
	fi
}
denied "svcacct_hub: DELETE FROM svcacct_audit -> permission denied" 'DELETE FROM svcacct_audit'
denied "svcacct_hub: UPDATE svcacct_audit -> permission denied" "UPDATE svcacct_audit SET host = 'x'"
denied "svcacct_hub: TRUNCATE svcacct_audit -> permission denied" 'TRUNCATE svcacct_audit'
denied "svcacct_hub: UPDATE svcacct_schema -> permission denied" 'UPDATE svcacct_schema SET version = 1'
denied "svcacct_hub: DROP TABLE svcacct_kv -> must be owner" 'DROP TABLE svcacct_kv'
denied "svcacct_hub: ALTER TABLE svcacct_audit DISABLE TRIGGER ALL -> must be owner" \
	'ALTER TABLE svcacct_audit DISABLE TRIGGER ALL'
check -d "svcacct_hub may read svcacct_kv, svcacct_changes, svcacct_audit, svcacct_schema" \
	pg_psql_as svcacct_hub -c 'SELECT (SELECT count(*) FROM svcacct_kv) + (SELECT count(*) FROM svcacct_changes) + (SELECT count(*) FROM svcacct_audit) + (SELECT count(*) FROM svcacct_schema)'
n=$(pg_psql -c "SELECT count(*) FROM pg_roles WHERE rolname = 'svcacct_hubs' AND NOT rolcanlogin")
[ "$n" = 1 ] && ok "svcacct_hubs is a NOLOGIN group" || not_ok "svcacct_hubs is a NOLOGIN group"

# ---- hub 1 -------------------------------------------------------------------------
hub_start 1 || bail "hub 1 starts on the migrated database"
for f in pepper audit.key; do
	if [ -f "$STATE/$f" ] && [ "$(stat -c %a "$STATE/$f")" = 600 ]; then
		ok "hub 1 keeps its $f in state_dir, mode 0600"
	else
		not_ok "hub 1 keeps its $f in state_dir, mode 0600 ($(stat -c %a "$STATE/$f" 2>&1))"
	fi
done
check -d "hub 1: account create ci-deploy" $CTL account create ci-deploy --description "hub test"
check -d "hub 1: key create ci-deploy" $CTL key create ci-deploy
KEY=$(printf '%s\n' "$OUT" | tail -n 1)
n=$(pg_psql -c "SELECT (SELECT count(*) FROM svcacct_kv) > 0 AND (SELECT count(*) FROM svcacct_changes) > 0 AND (SELECT count(*) FROM svcacct_audit) > 0")
[ "$n" = t ] && ok "the change is in PostgreSQL (svcacct_kv, svcacct_changes, svcacct_audit)" || not_ok "the change is in PostgreSQL ($n)"
n=$(pg_psql -c "SELECT count(*) FROM svcacct_kv WHERE position('ci-deploy'::bytea in v) > 0 OR k LIKE '%ci-deploy%'")
[ "${n:-0}" -ge 1 ] && ok "svcacct_kv holds the account" || not_ok "svcacct_kv holds the account ($n rows)"
n=$(ls "$STATE" | grep -ciE '\.(gdbm|db)$|journal')
[ "$n" = 0 ] && ok "a hub keeps no GDBM database or journal in state_dir" || not_ok "a hub keeps no GDBM database or journal in state_dir ($(ls "$STATE" | tr '\n' ' '))"

# The pepper is not in the database in plain text (raw, hex, base64).
PEP_HEX=$(od -An -v -tx1 "$STATE/pepper" | tr -d ' \n')
PEP_B64=$(base64 -w0 <"$STATE/pepper")
PEP_TXT=$(tr -d '\n' <"$STATE/pepper")
pg_psql -c "SELECT encode(v, 'hex') FROM svcacct_kv UNION ALL SELECT encode(rec, 'hex') FROM svcacct_audit" >"$TMPD/dbhex"
pg_psql -c "SELECT encode(v, 'escape') FROM svcacct_kv UNION ALL SELECT encode(rec, 'escape') FROM svcacct_audit" >"$TMPD/dbtxt"
found=""
# 16 bytes of the pepper are enough to recognize it
[ ${#PEP_HEX} -ge 32 ] && grep -qF -e "${PEP_HEX:0:32}" "$TMPD/dbhex" && found="raw"
[ ${#PEP_TXT} -ge 16 ] && grep -qF -e "${PEP_TXT:0:24}" "$TMPD/dbtxt" && found="$found text"
[ ${#PEP_B64} -ge 16 ] && grep -qF -e "${PEP_B64:0:20}" "$TMPD/dbtxt" && found="$found base64"
[ -z "$found" ] && ok "the pepper is not in the database (raw, hex or base64)" || not_ok "the pepper is in the database ($found)"
# The token-signing private key (signing.keys: "kid ... base64url(seed+pub)")
# is in the database only sealed: neither its text nor its seed bytes.
SK_B64=$(awk 'NF >= 4 {print $NF; exit}' "$STATE/signing.keys")
SK_HEX=$("$PY" -c 'import base64, sys; s = sys.argv[1]; print(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))[:32].hex())' "$SK_B64" 2>/dev/null)
if [ ${#SK_HEX} = 64 ]; then
	if grep -qF -e "${SK_HEX:0:32}" "$TMPD/dbhex" || grep -qF -e "${SK_B64:0:24}" "$TMPD/dbtxt"; then
		not_ok "the signing key's seed is not in the database in plain text"
	else
		ok "the signing key's seed is not in the database in plain text"
	fi
else
	diag "signing.keys has an unexpected format; the seed check is skipped"
fi
grep -qF -e "${KEY:18:30}" "$TMPD/dbtxt" && not_ok "the API key's secret is not in the database" || ok "the API key's secret is not in the database"

# ---- a schema newer than the hub knows ----------------------------------------------
stop_daemon || not_ok "hub 1 stops"
pg_psql -c 'UPDATE svcacct_schema SET version = 99' || bail "superuser sets the schema version to 99"
start_fails "$CONF"
if [ "$RC" != 0 ] && [ "$RC" != 124 ] && grep -q 99 <<<"$LOGTXT" && grep -qw "$V" <<<"$LOGTXT"; then
	ok "a hub refuses schema version 99, naming 99 and $V"
else
	not_ok "a hub refuses schema version 99, naming 99 and $V (exit $RC)"
	printf '%s\n' "$LOGTXT" | tail -n 5 | diag
fi
"$SVCACCTD" -t -c "$CONF" </dev/null >"$TMPD/t.out" 2>&1
RC=$?
if [ "$RC" != 0 ] && grep -q 99 "$TMPD/t.out"; then
	ok "svcacctd -t against schema 99: exit $RC, names version 99"
else
	not_ok "svcacctd -t against schema 99 fails, naming version 99 (exit $RC)"
	diag_file "$TMPD/t.out" 5
fi
pg_migrate "$TMPD/owner.conf"
if [ "$RC" != 0 ] && [ "$(schema_version)" = 99 ]; then
	ok "--migrate refuses to touch a newer schema"
else
	not_ok "--migrate refuses to touch a newer schema (exit $RC, version $(schema_version))"
fi
pg_psql -c "UPDATE svcacct_schema SET version = $V" || bail "schema version restored"
hub_start 1 || bail "hub 1 starts again on schema $V"
check -d "hub 1 still has ci-deploy" $CTL account show ci-deploy

# ---- a second hub --------------------------------------------------------------------
hub_init 2 'rate_limit_count = 1000;'
start_fails "${HUB_CONF[2]}"
check_refusal "a hub with a pepper of its own (no copy of the org's) refuses to start, naming the pepper" pepper
if [ -f "${HUB_STATE[2]}/pepper" ]; then
	# the same refusal with a pepper file that is not the org's
	head -c "$(stat -c %s "$STATE/pepper")" /dev/urandom >"${HUB_STATE[2]}/pepper"
	[ -s "${HUB_STATE[2]}/pepper" ] || head -c 32 /dev/urandom >"${HUB_STATE[2]}/pepper"
	cp "$STATE/audit.key" "${HUB_STATE[2]}/audit.key"
	chmod 0600 "${HUB_STATE[2]}"/*
	start_fails "${HUB_CONF[2]}"
	check_refusal "a hub with a different pepper (same audit.key) refuses to start, naming the pepper" pepper
fi
rm -rf "${HUB_STATE[2]:?}"/*
hub_join 2 || bail "copy hub 1's pepper and audit.key"
hub_start 2 || bail "hub 2 starts with copies of hub 1's pepper and audit.key"
check -d "hub 2 sees ci-deploy" hub_ctl 2 account show ci-deploy
printf '%s\n' "$KEY" >"$TMPD/key"
chmod 0600 "$TMPD/key"
check -d "a key made on hub 1 exchanges on hub 2" hub_ctl 2 token create --key-file "$TMPD/key"
check -d "svcacctd -t -c hub2.conf" "$SVCACCTD" -t -c "${HUB_CONF[2]}"

# ---- unreachable databases, multi-host failover ------------------------------------------
hub_init 3 "database = \"host=$TMPD/nowhere dbname=svcacct user=svcacct_hub connect_timeout=3\";"
"$SVCACCTD" -t -c "${HUB_CONF[3]}" </dev/null >"$TMPD/t.out" 2>&1
RC=$?
if [ "$RC" != 0 ] && grep -qiE 'database|postgres|connect' "$TMPD/t.out"; then
	ok "svcacctd -t with an unreachable database: exit $RC, says so"
else
	not_ok "svcacctd -t with an unreachable database: non-zero, clear message (exit $RC)"
	diag_file "$TMPD/t.out" 5
fi
grep -qiE 'password' "$TMPD/t.out" && diag "(the message mentions a password)"
rm -rf "${HUB_STATE[3]:?}"/*
hub_init 3 "database = \"host=$TMPD/nowhere,$PGSOCK dbname=svcacct user=svcacct_hub\";" 'rate_limit_count = 1000;'
cp -p "$STATE/pepper" "$STATE/audit.key" "${HUB_STATE[3]}/"
check -d "svcacctd -t with host=/nonexistent,SOCKDIR: exit 0 (libpq failover)" "$SVCACCTD" -t -c "${HUB_CONF[3]}"
if hub_start 3; then
	ok "a hub with a multi-host connection string starts (the first host does not exist)"
	check -d "hub 3 (failover) sees ci-deploy" hub_ctl 3 account show ci-deploy
	check -d "hub 3 (failover) writes: account create via-h3" hub_ctl 3 account create via-h3
	check -d "hub 1 sees via-h3" $CTL account show via-h3
	hub_stop 3
else
	not_ok "a hub with a multi-host connection string starts (the first host does not exist)"
fi

# ---- a hub whose role owns the database migrates it itself --------------------------------
pg_psql -d postgres -c 'CREATE DATABASE svcacct_b OWNER svcacct_owner' || bail "second database"
hub_init 4 "database = \"$(pg_conninfo svcacct_owner svcacct_b)\";"
if hub_start 4; then
	ok "a hub logged in as the database owner migrates an empty database at start"
	v4=$(pg_psql -d svcacct_b -c 'SELECT max(version) FROM svcacct_schema')
	[ "$v4" = "$V" ] && ok "... to schema version $V" || not_ok "... to schema version $V ($v4)"
	check -d "hub 4 (own database) works: account create solo" hub_ctl 4 account create solo
	check_exit 4 -d "hub 1 does not see hub 4's organization" $CTL account show solo
	hub_stop 4 || not_ok "hub 4 stops"
else
	not_ok "a hub logged in as the database owner migrates an empty database at start"
fi

# ---- the audit table refuses changes even to the superuser ---------------------------------
for sql in 'DELETE FROM svcacct_audit' "UPDATE svcacct_audit SET host = 'x'" 'TRUNCATE svcacct_audit'; do
	if pg_psql -c "$sql" >/dev/null 2>"$TMPD/psql.err"; then
		not_ok "superuser: $sql is refused by the trigger"
	else
		ok "superuser: $sql is refused by the trigger"
	fi
done
n=$(pg_psql -c 'SELECT count(*) FROM svcacct_audit')
[ "${n:-0}" -gt 0 ] && ok "the audit rows are all still there ($n)" || not_ok "the audit rows are all still there ($n)"
check -d "audit verify on hub 1" $CTL audit verify
check -d "audit verify on hub 2" hub_ctl 2 audit verify

# ---- SIGTERM ---------------------------------------------------------------------------------------
# like a standalone daemon: the signal is handled (exit 0, "stopping"), not
# the default action (status 143: no orderly shutdown)
kill -TERM "${HUB_PID[2]}"
wait "${HUB_PID[2]}"
st=$?
HUB_PID[2]=""
if [ "$st" = 0 ] && tail -n 3 "${HUB_LOG[2]}" | grep -q 'stopping'; then
	ok "hub 2 stops in order on SIGTERM: exit 0, 'stopping' logged"
else
	not_ok "hub 2 stops in order on SIGTERM: exit 0, 'stopping' logged (status $st)"
	tail -n 2 "${HUB_LOG[2]}" | diag
fi
