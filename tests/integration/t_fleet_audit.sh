#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# One audit trail for the fleet (issue 17 item 6): an agent keeps its own
# hash chain and forwards its records to the hubs (POST /v1/agent/audit).
# A throwaway PostgreSQL, one hub on https_listen, an agent enrolled in
# workspace wa.  Its pam.auth events appear on the hub's `audit list` with
# host = the agent's host id and host_seq, within a few seconds; with the
# hub stopped the agent keeps them (fleet status: audit_pending) and
# forwards them once it is back, without duplicates (host_seq 1..N once
# each); killed -9 after the hub is back, and killed -9 while the hub
# holds its POST (a table lock in PostgreSQL: the hub appends, the answer
# is lost), then restarted: no loss, no duplicate.
# A second host's credential (enrolled with curl) posts the same batch
# twice: appended once; records claiming another host are stored under the
# real one; a gap is refused (409 with the mark), a bad hash, a malformed
# or too large body and no credential too.  With audit_spool_max = 10 and the hub down the oldest
# records are dropped: audit.forward_dropped is in the agent's trail and,
# after the hub is back, on the hub, whose `audit verify` accepts the gap.
# A forwarded record altered in PostgreSQL: `audit verify` on the hub names
# the host and its host seq.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/lib_pg.sh"
. "$TESTS_DIR/http/http_lib.sh"
. "$TESTS_DIR/cred_lib.sh"

command -v openssl >/dev/null || bail "openssl is needed (make deps)"
command -v curl >/dev/null || bail "curl is needed (make deps)"

hub1_https_up
for c in "team create ta" "workspace create wa --team ta" "account create svc-teamy" \
	"grant add svc-teamy --team ta --role viewer"; do
	# shellcheck disable=SC2086
	expect_exit 0 $H1 $c || bail "the directory: $c"
done

one_agent_init "$TMPD/agent" agent-x "hubs = [ \"$U1\" ];" "hub_ca = \"$PKI/ca.crt\";" \
	"refresh_interval = 5;" "max_staleness = 3600;"
one_agent_start
expect_exit 0 $H1 host token create --workspace wa && TOK=$(tail -n 1 <<<"$OUT")
expect_exit 0 $ACTL host enroll "$TOK" || bail "the agent enrolls"
nss_has() { grep -rqaF -e "$1" "$AG/nss"; }
wait_for 15 nss_has svc-teamy >/dev/null 2>&1 || bail "the agent syncs"
CTL=$H1 key_create svc-teamy || bail "a key of svc-teamy on the hub"
CTL=$H1 xchg 0 "$KEY" || bail "a token of svc-teamy from the hub"
TOKC=$OUT

# The hub's forwarded records of a host, as "host_seq" lines (sorted).
hub_seqs() { # HOST
	$H1 --json audit list --host "$1" 2>/dev/null | json_py '"\n".join(str(e["host_seq"]) for e in d if "host_seq" in e)' | sort -n
}
# 1 when the host's forwarded seqs are exactly 1..N (no loss, no duplicate)
# and N >= MIN.
contiguous() { # HOST MIN
	local s
	s=$(hub_seqs "$1")
	[ -n "$s" ] || return 1
	[ "$(uniq <<<"$s" | wc -l)" = "$(wc -l <<<"$s")" ] || return 1
	[ "$s" = "$(seq 1 "$(tail -n 1 <<<"$s")")" ] && [ "$(tail -n 1 <<<"$s")" -ge "$2" ]
}
agent_head() { $ACTL --json audit list --limit 1 | json_py 'd[-1]["seq"]'; }
pending() { $ACTL --json fleet status 2>/dev/null | json_py 'd.get("audit_pending")' 2>/dev/null; }
hub_count() { # HOST EVENT
	$H1 --json audit list --host "$1" --event "$2" 2>/dev/null | json_py 'len(d)'
}

# ---- events on the agent reach the hub -----------------------------------------------------
for _ in 1 2 3; do agent_pam_auth svc-teamy "$TOKC"; done
[ "$RC" = 0 ] || diag "pam.auth on the agent: status $RC $OUT"
t0=$(now)
three() { [ "$(hub_count agent-x auth.allow)" = 3 ]; }
wait_for 20 three >/dev/null 2>&1
dt=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')
if three && $H1 --json audit list --host agent-x --event auth.allow |
	json_py 'all(e["host"] == "agent-x" and e["host_seq"] > 0 and e["fwd"]["hash"] for e in d)' | grep -q true; then
	ok "3 token logins on the agent (auth.allow) are on the hub's audit list with host agent-x and host_seq after ${dt}s"
else
	not_ok "3 token logins on the agent (auth.allow) are on the hub's audit list with host agent-x (after ${dt}s)"
	diag "$($H1 --json audit list --host agent-x 2>&1 | tail -c 600)"
	diag_file "$AG/daemon.log" 10
fi
zero() { [ "$(pending)" = 0 ]; }
wait_for 15 zero >/dev/null 2>&1
if [ "$(pending)" = 0 ] && $ACTL --json fleet status | json_py 'd["audit_forwarded_at"] > 0' | grep -q true &&
	contiguous agent-x "$(agent_head)"; then
	ok "fleet status: audit_pending 0, audit_forwarded_at set; the hub has host seqs 1..$(agent_head) once each"
else
	not_ok "fleet status: audit_pending 0, audit_forwarded_at set; host seqs 1..N on the hub"
	diag "$($ACTL --json fleet status 2>&1) / $(hub_seqs agent-x | tr '\n' ' ')"
fi

# ---- the hub away: the agent keeps its records -------------------------------------------------
hub_stop 1
for _ in 1 2 3 4; do agent_pam_auth svc-teamy "$TOKC"; done
HEAD=$(agent_head)
P=$(pending)
if [ "$RC" = 0 ] && [ -n "$P" ] && [ "$P" -ge 4 ] && [ "$(hub_count agent-x auth.allow 2>/dev/null)" != 7 ]; then
	ok "hub stopped: logins on the agent go on, audit_pending $P"
else
	not_ok "hub stopped: logins on the agent go on, audit_pending >= 4 (status $RC, pending '$P')"
fi
hub_start 1 || bail "hub 1 starts again"
seven() { [ "$(hub_count agent-x auth.allow)" = 7 ]; }
if wait_for 45 seven >/dev/null 2>&1 && wait_for 15 zero >/dev/null 2>&1 && contiguous agent-x "$HEAD"; then
	ok "hub back: the 4 kept events are forwarded, host seqs 1..$HEAD once each"
else
	not_ok "hub back: the 4 kept events are forwarded without duplicates"
	diag "auth.allow on hub: $(hub_count agent-x auth.allow); seqs: $(hub_seqs agent-x | tr '\n' ' ')"
	diag_file "$AG/daemon.log" 10
fi

# ---- killed -9 while forwarding --------------------------------------------------------------
# Many records kept while the hub is down, forwarded once it is back: the
# agent is killed -9 as soon as the hub has some of them.
hub_stop 1
for _ in $(seq 1 30); do agent_pam_auth svc-teamy "$TOKC"; done
HEAD=$(agent_head)
hub_start 1 || bail "hub 1 starts again"
some() { [ "$(hub_count agent-x auth.allow)" -gt 7 ]; }
wait_for 40 some >/dev/null 2>&1
one_agent_stop KILL
diag "killed -9 with $(hub_count agent-x auth.allow) of 37 auth.allow events on the hub"
one_agent_start
if wait_for 30 zero >/dev/null 2>&1 && [ "$(hub_count agent-x auth.allow)" = 37 ] && contiguous agent-x "$HEAD"; then
	ok "agent killed -9 after the hub came back, restarted: all 37 auth.allow events on the hub, host seqs 1..$HEAD once each"
else
	not_ok "agent killed -9 after the hub came back, restarted: no loss, no duplicates"
	diag "auth.allow on hub: $(hub_count agent-x auth.allow); pending $(pending); seqs: $(hub_seqs agent-x | tr '\n' ' ')"
fi
# The acknowledgement lost: the hub's INSERT into svcacct_audit waits on a
# table lock held in PostgreSQL while the agent's POST is in, the agent is
# killed -9 meanwhile, the lock goes: the hub appends the batch and its
# answer goes nowhere.  The restarted agent sends the batch again: the hub
# acknowledges it without appending it twice.
pg_psql -c "BEGIN; LOCK TABLE svcacct_audit IN EXCLUSIVE MODE; SELECT pg_sleep(5); COMMIT;" >/dev/null 2>&1 &
LOCKER=$!
sleep 1
for _ in 1 2 3 4 5; do agent_pam_auth svc-teamy "$TOKC"; done
HEAD=$(agent_head)
sleep 1
one_agent_stop KILL
wait "$LOCKER"
# the batch in flight (the first record or more: the rest wait for its answer)
more() { [ "$(hub_count agent-x auth.allow)" -gt 37 ]; }
wait_for 10 more >/dev/null 2>&1
had=$(hub_count agent-x auth.allow)
one_agent_start
if [ "$had" -gt 37 ] && wait_for 30 zero >/dev/null 2>&1 && [ "$(hub_count agent-x auth.allow)" = 42 ] &&
	contiguous agent-x "$HEAD"; then
	ok "agent killed -9 before the hub's answer ($((had - 37)) record(s) appended unacknowledged), restarted: sent again, appended once (host seqs 1..$HEAD once each)"
else
	not_ok "agent killed -9 before the hub's answer: no loss, no duplicates ($had of 42 on the hub before the restart, want > 37)"
	diag "auth.allow on hub: $(hub_count agent-x auth.allow); pending $(pending); seqs: $(hub_seqs agent-x | tr '\n' ' ')"
	diag_file "$(hub_log 1)" 5
fi

# ---- a host posting by hand -------------------------------------------------------------------
expect_exit 0 $H1 host token create --workspace wa && TOK2=$(tail -n 1 <<<"$OUT")
ENR=$(curl -s --cacert "$PKI/ca.crt" -m 10 -H 'Content-Type: application/json' \
	-d "{\"token\": \"$TOK2\", \"host_id\": \"web2\"}" "$U1/v1/agent/enroll")
CRED2=$(json_py 'd["credential"]' <<<"$ENR")
[[ $CRED2 == svch_* ]] || bail "web2 enrolls with curl"
put_secret "$TMPD/cred2" "Authorization: Bearer $CRED2"
# batch FIRST LAST [DROPPED_THROUGH] [BADHASH]: web2's chain (records claim host
# agent-x), hashed like an agent's (BLAKE2b-256 of 1|prev|ts|json).
batch() {
	"$PY" - "$@" <<-'EOF'
	import hashlib, json, sys
	first, last = int(sys.argv[1]), int(sys.argv[2])
	dropped = int(sys.argv[3]) if len(sys.argv) > 3 else 0
	bad = len(sys.argv) > 4
	prev = bytes(32)
	recs = []
	for seq in range(1, last + 1):
	    js = json.dumps({"seq": seq, "ts": "2026-12-01T00:00:00.000Z", "host": "agent-x",
	                     "event": "pam.auth", "outcome": "success", "actor": None,
	                     "subject": {"account": "svc-teamy"}}, separators=(",", ":"))
	    ts = 1764547200000 + seq
	    raw = bytes([1]) + prev + ts.to_bytes(8, "big") + js.encode()
	    h = hashlib.blake2b(raw, digest_size=32).digest()
	    if seq >= first:
	        recs.append({"seq": seq, "ts_ms": ts, "prev": prev.hex(),
	                     "hash": (bytes(32) if bad else h).hex(), "json": js})
	    prev = h
	print(json.dumps({"dropped_through": dropped, "records": recs}))
	EOF
}
post() { # BODY -> CODE, BODY
	BODY=$(curl -s --cacert "$PKI/ca.crt" -m 10 -o - -w '\n%{http_code}' -H @"$TMPD/cred2" \
		-H 'Content-Type: application/json' --data-binary @- "$U1/v1/agent/audit" <<<"$1")
	CODE=$(tail -n 1 <<<"$BODY")
	BODY=$(head -n -1 <<<"$BODY")
}
B=$(batch 1 3)
post "$B"
c1=$CODE m1=$(json_py 'd["mark"]' <<<"$BODY" 2>/dev/null)
post "$B"
if [ "$c1" = 200 ] && [ "$m1" = 3 ] && [ "$CODE" = 200 ] && [ "$(json_py 'd["mark"]' <<<"$BODY")" = 3 ] &&
	[ "$(hub_seqs web2 | tr '\n' ' ')" = "1 2 3 " ]; then
	ok "the same batch posted twice with web2's credential: 200 {\"mark\": 3} both times, appended once"
else
	not_ok "the same batch posted twice: appended once (codes $c1 $CODE, marks $m1 $BODY, seqs $(hub_seqs web2 | tr '\n' ' '))"
fi
if $H1 --json audit list --host web2 | json_py 'all(e["host"] == "web2" and e["hostname"] == "agent-x" for e in d)' | grep -q true &&
	[ "$(hub_count agent-x auth.allow)" = 42 ]; then
	ok "records claiming host agent-x are stored under web2 (the credential's host; the claim kept as hostname)"
else
	not_ok "records claiming another host are stored under the real one"
fi
post "$(batch 6 7)"
if [ "$CODE" = 409 ] && [ "$(json_py 'd["mark"]' <<<"$BODY")" = 3 ] && grep -qF "resend from 4" <<<"$BODY" &&
	[ "$(hub_seqs web2 | tr '\n' ' ')" = "1 2 3 " ]; then
	ok "a batch after a gap (4-5 missing, not said dropped): 409 with mark 3, nothing appended"
else
	not_ok "a batch after a gap: 409 with mark 3 (got $CODE $BODY)"
fi
post "$(batch 4 5 0 bad)"
c1=$CODE
post '{"records": 3}'
c2=$CODE
code_nocred=$(curl -s --cacert "$PKI/ca.crt" -m 10 -o /dev/null -w '%{http_code}' --data-binary "$(batch 4 5)" "$U1/v1/agent/audit")
head -c 1200000 /dev/zero | tr '\0' ' ' >"$TMPD/big.json"
code_big=$(curl -s --cacert "$PKI/ca.crt" -m 20 -o /dev/null -w '%{http_code}' -H @"$TMPD/cred2" \
	--data-binary @"$TMPD/big.json" "$U1/v1/agent/audit")
code_bignocred=$(curl -s --cacert "$PKI/ca.crt" -m 20 -o /dev/null -w '%{http_code}' \
	--data-binary @"$TMPD/big.json" "$U1/v1/agent/audit")
if [ "$c1" = 400 ] && [ "$c2" = 400 ] && [ "$code_nocred" = 401 ] && [ "$code_big" = 413 ] &&
	[ "$code_bignocred" = 401 ] && [ "$(hub_seqs web2 | tr '\n' ' ')" = "1 2 3 " ]; then
	ok "a record whose hash does not match, a malformed body: 400; 1.2 MB: 413; no credential: 401 (also with 1.2 MB); nothing appended"
else
	not_ok "bad hash / malformed / too large / no credential refused (codes $c1 $c2 $code_big $code_nocred $code_bignocred)"
fi
post "$(batch 6 7 5)"
if [ "$CODE" = 200 ] && [ "$(hub_seqs web2 | tr '\n' ' ')" = "1 2 3 6 7 " ]; then
	ok "a gap the host says it dropped (dropped_through 5) is accepted: mark 7"
else
	not_ok "a gap said dropped is accepted (got $CODE $BODY)"
fi
# web2 never sends audit.forward_dropped for 4-5: verify names it
if expect_exit 1 $H1 audit verify && grep -qF "host web2, host seqs 4-5" <<<"$ERR"; then
	ok "audit verify on the hub: web2's unexplained gap named ($(head -c 160 <<<"$ERR"))"
else
	not_ok "audit verify on the hub names web2's unexplained gap"
	diag "$OUT $ERR"
fi

# ---- the spool's bound ----------------------------------------------------------------------
one_agent_stop
hub_stop 1
sed -i '$a audit_spool_max = 10;' "$AG/svcacctd.conf"
one_agent_start
for _ in $(seq 1 25); do agent_pam_auth svc-teamy "$TOKC"; done
dropped() { $ACTL --json audit list --event audit.forward_dropped | json_py 'len(d)' | grep -qv '^0$'; }
wait_for 20 dropped >/dev/null 2>&1
P=$(pending)
if dropped && [ -n "$P" ] && [ "$P" -le 11 ]; then
	ok "audit_spool_max 10, hub down: the oldest dropped, audit.forward_dropped in the agent's trail ($($ACTL --json audit list --event audit.forward_dropped | json_py 'd[0]["detail"]')), pending $P"
else
	not_ok "audit_spool_max 10, hub down: oldest dropped with an event (pending '$P')"
	diag_file "$AG/daemon.log" 10
fi
hub_start 1 || bail "hub 1 starts again"
hub_dropped() { [ "$(hub_count agent-x audit.forward_dropped)" -ge 1 ]; }
if wait_for 45 hub_dropped >/dev/null 2>&1 && wait_for 20 zero >/dev/null 2>&1; then
	ok "hub back: the audit.forward_dropped event is on the hub too (host agent-x)"
else
	not_ok "hub back: the audit.forward_dropped event is on the hub"
	diag_file "$AG/daemon.log" 10
fi

# ---- verify -----------------------------------------------------------------------------
# web2 explains its gap like an agent would (its records 4-5 dropped)
js8=$("$PY" -c 'import json; print(json.dumps({"seq": 8, "ts": "2026-12-01T00:00:00.000Z", "event": "audit.forward_dropped", "outcome": "failure", "actor": None, "detail": "host seqs 4-5 not forwarded to the hubs"}, separators=(",", ":")))')
B8=$("$PY" - "$js8" <<-'EOF'
	import hashlib, json, sys
	prev = bytes(32)
	for seq in range(1, 8):
	    js = json.dumps({"seq": seq, "ts": "2026-12-01T00:00:00.000Z", "host": "agent-x",
	                     "event": "pam.auth", "outcome": "success", "actor": None,
	                     "subject": {"account": "svc-teamy"}}, separators=(",", ":"))
	    raw = bytes([1]) + prev + (1764547200000 + seq).to_bytes(8, "big") + js.encode()
	    prev = hashlib.blake2b(raw, digest_size=32).digest()
	js = sys.argv[1]
	raw = bytes([1]) + prev + (1764547200008).to_bytes(8, "big") + js.encode()
	h = hashlib.blake2b(raw, digest_size=32).digest()
	print(json.dumps({"dropped_through": 5, "records": [{"seq": 8, "ts_ms": 1764547200008,
	      "prev": prev.hex(), "hash": h.hex(), "json": js}]}))
	EOF
)
post "$B8"
if [ "$CODE" = 200 ] && expect_exit 0 $H1 audit verify; then
	ok "audit verify on the hub: ok (the hub chain, agent-x's and web2's chains, their dropped ranges): $OUT"
else
	not_ok "audit verify on the hub: ok (post $CODE)"
	diag "$OUT $ERR"
fi
expect_exit 0 $ACTL audit verify && ok "audit verify on the agent: its local chain ok" ||
	not_ok "audit verify on the agent: ok ($ERR)"

# a forwarded record altered in PostgreSQL (the owner, the trigger disabled)
read -r NSEQ HSEQ < <($H1 --json audit list --host agent-x --event auth.allow | json_py 'str(d[2]["seq"]) + " " + str(d[2]["host_seq"])')
sql="UPDATE svcacct_audit SET rec = substring(rec from 1 for 41) || convert_to(replace(convert_from(substring(rec from 42), 'UTF8'), '\"outcome\":\"success\"', '\"outcome\":\"failure\"'), 'UTF8') WHERE seq = $NSEQ"
pg_psql -c "SET session_replication_role = replica; $sql" >/dev/null 2>"$TMPD/psql.err" || diag_file "$TMPD/psql.err" 3
if expect_exit 1 $H1 audit verify && grep -qF "host agent-x, host seq $HSEQ" <<<"$ERR" &&
	expect_exit 1 $H1 --json audit verify && [ "$(json_py '[d["host"], d["host_seq"]]' <<<"$OUT")" = "[\"agent-x\", $HSEQ]" ]; then
	ok "a forwarded record altered in PostgreSQL: audit verify on the hub names host agent-x, host seq $HSEQ (record $NSEQ)"
else
	not_ok "a forwarded record altered in PostgreSQL: audit verify names host agent-x, host seq $HSEQ (record $NSEQ)"
	diag "$OUT $ERR"
fi
one_agent_stop
if grep -qE "$_SVCA_SAN_RE" "$AG/daemon.log"; then
	not_ok "the agent's log has no sanitizer report"
	grep -E -A14 "$_SVCA_SAN_RE" "$AG/daemon.log" | head -n 60 | diag
else
	ok "the agent's log has no sanitizer report"
fi
