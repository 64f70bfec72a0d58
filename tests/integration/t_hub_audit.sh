#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The hubs' audit trail (issue 16 item 6; DESIGN.md sections 7 and 9):
# one hash chain in commit order for the events of both hubs, each row with
# its host; audit verify on either hub is exit 0 on the intact chain and
# fails after the superuser (who alone can, with session_replication_role
# = replica) deletes a row in the middle, deletes the last row, edits a
# row's record, its host or its ts, swaps two rows' records, or after the
# hubs' own role appends a forged row.  Each tampering starts from a saved
# copy of the intact table, and verify is exit 0 again after the restore.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/lib_pg.sh"
. "$TESTS_DIR/cred_lib.sh"

pg_start
hub_init 1 'rate_limit_count = 1000;'
pg_migrate || bail "svcacctd --migrate"
hub_start 1 || bail "hub 1 starts"
hub_init 2 'rate_limit_count = 1000;'
hub_join 2 || bail "hub 2 gets hub 1's pepper and audit.key"
hub_start 2 || bail "hub 2 starts"

# events from both hubs, interleaved
for i in 1 2 3 4 5 6; do
	hub_ctl 1 account create "a1-$i" </dev/null >/dev/null || not_ok "hub 1: account create a1-$i"
	hub_ctl 2 account create "a2-$i" </dev/null >/dev/null || not_ok "hub 2: account create a2-$i"
done
hub_ctl 2 account disable a1-3 </dev/null >/dev/null
hub_ctl 1 account delete a2-4 </dev/null >/dev/null
N=$(pg_psql -c 'SELECT count(*) FROM svcacct_audit')
[ "${N:-0}" -ge 14 ] && ok "the audit table has a row per event ($N)" || not_ok "the audit table has a row per event ($N)"
r=$(pg_psql -c 'SELECT count(*) FROM svcacct_audit WHERE host IS NULL OR host = '"''")
[ "$r" = 0 ] && ok "every row has a host" || not_ok "every row has a host ($r without)"
r=$(pg_psql -c 'SELECT count(*) FROM (SELECT seq, lag(seq) OVER (ORDER BY seq) AS p FROM svcacct_audit) s WHERE p IS NOT NULL AND seq <> p + 1')
[ "$r" = 0 ] && ok "audit seqs have no gap" || diag "audit seqs have $r gaps (allowed if the chain says so)"
check -d "audit verify on hub 1: intact" hub_ctl 1 audit verify
check -d "audit verify on hub 2: intact" hub_ctl 2 audit verify
r=$(hub_ctl 2 --json audit list --event account.create --limit 1000 </dev/null |
	json_eval '" ".join(sorted((e.get("subject") or {}).get("account") or "" for e in d))' 2>/dev/null)
n=$(tr ' ' '\n' <<<"$r" | grep -c '^a[12]-')
[ "$n" = 12 ] && ok "hub 2 lists both hubs' account.create events (12)" || not_ok "hub 2 lists both hubs' account.create events ($n: $r)"

pg_psql -c 'CREATE TABLE audit_saved AS SELECT * FROM svcacct_audit' || bail "save a copy of svcacct_audit"
restore() {
	pg_psql >/dev/null <<-'EOF'
		SET session_replication_role = replica;
		DELETE FROM svcacct_audit;
		INSERT INTO svcacct_audit SELECT * FROM audit_saved;
	EOF
}
# tamper DESC SQL: as the superuser (triggers off), then verify on both
# hubs must fail; restore; verify must pass again.
tamper() {
	local desc=$1 sql=$2 rc1 rc2
	if ! pg_psql -c "SET session_replication_role = replica; $sql" >/dev/null 2>"$TMPD/psql.err"; then
		not_ok "$desc: the tampering SQL ran"
		diag_file "$TMPD/psql.err" 3
		restore
		return
	fi
	expect_exit 1 hub_ctl 1 audit verify
	rc1=$RC
	diag "hub 1 audit verify: exit $RC: $(printf '%s %s' "$OUT" "$ERR" | tr '\n' ' ' | cut -c1-160)"
	expect_exit 1 hub_ctl 2 audit verify
	rc2=$RC
	if [ "$rc1" != 0 ] && [ "$rc1" != 5 ] && [ "$rc2" != 0 ] && [ "$rc2" != 5 ]; then
		ok "$desc: audit verify fails on both hubs (exit $rc1, $rc2)"
	else
		not_ok "$desc: audit verify fails on both hubs (exit $rc1, $rc2)"
	fi
	restore || bail "restore svcacct_audit"
	if expect_exit 0 hub_ctl 1 audit verify && expect_exit 0 hub_ctl 2 audit verify; then
		ok "restored: audit verify exit 0 on both hubs"
	else
		not_ok "restored: audit verify exit 0 on both hubs"
	fi
}
MID=$(pg_psql -c "SELECT seq FROM svcacct_audit ORDER BY seq OFFSET $((N / 2)) LIMIT 1")
MID2=$(pg_psql -c "SELECT seq FROM svcacct_audit ORDER BY seq OFFSET $((N / 2 + 2)) LIMIT 1")
LAST=$(pg_psql -c 'SELECT max(seq) FROM svcacct_audit')
tamper "a row in the middle deleted" "DELETE FROM svcacct_audit WHERE seq = $MID"
tamper "the last row deleted" "DELETE FROM svcacct_audit WHERE seq = $LAST"
tamper "one byte of a row's rec changed" \
	"UPDATE svcacct_audit SET rec = set_byte(rec, length(rec) / 2, get_byte(rec, length(rec) / 2) # 1) WHERE seq = $MID"
tamper "a row's host changed" "UPDATE svcacct_audit SET host = host || '-forged' WHERE seq = $MID"
tamper "two rows' rec (and host) swapped" "
	UPDATE svcacct_audit a SET rec = b.rec, host = b.host FROM audit_saved b
	WHERE (a.seq = $MID AND b.seq = $MID2) OR (a.seq = $MID2 AND b.seq = $MID)"
tamper "a row's ts changed" "UPDATE svcacct_audit SET ts = ts - interval '1 day' WHERE seq = $MID"

# The hubs' role may INSERT (that is how hubs append): a forged row at the
# end must break the chain too.
if pg_psql_as svcacct_hub -c "INSERT INTO svcacct_audit (seq, host, ts, rec)
	SELECT seq + 1, host, now(), rec FROM svcacct_audit WHERE seq = $LAST" >/dev/null 2>"$TMPD/psql.err"; then
	expect_exit 1 hub_ctl 1 audit verify
	[ "$RC" != 0 ] && [ "$RC" != 5 ] && ok "a row appended by svcacct_hub (a copy of the last one): audit verify fails (exit $RC)" ||
		not_ok "a row appended by svcacct_hub (a copy of the last one): audit verify fails (exit $RC)"
	restore
else
	diag "svcacct_hub could not insert a forged row: $(head -c 200 "$TMPD/psql.err")"
	ok "a row appended by svcacct_hub: refused by the database"
fi
check -d "after the restores: audit verify on hub 1" hub_ctl 1 audit verify
check -d "the hubs go on appending: account create after" hub_ctl 2 account create after
check -d "audit verify on hub 1 after a new event" hub_ctl 1 audit verify
