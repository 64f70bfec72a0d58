#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The hub side of an agent's snapshot and change stream (issue 17 item 2,
# part B1; docs/agent-protocol.md): a throwaway PostgreSQL, two hubs (hub 2
# joins with hub 1's pepper and audit.key), both on https_listen with a CA
# made here.  A host of workspace wa, enrolled over HTTPS (curl) and by an
# agent daemon (its pin file), fetches GET /v1/agent/snapshot: the Ed25519
# signature verifies (python3-cryptography) against the enrollment's
# snapshot_key; it holds the account granted in wa and the one whose team
# grant covers wa, nothing of the account granted only in wsbravo; key records
# carry no hash (compared with the hub's record in svcacct_kv); its seq is
# the change log's.  GET /v1/agent/changes?since=SEQ is held while nothing
# changes and answered within 1 s of an account disable on the OTHER hub;
# 50 held polls do not stop the daemon answering its socket.  Disabled
# host: 403; removed: 401; no credential: 401.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/lib_pg.sh"
. "$TESTS_DIR/http/http_lib.sh"
. "$TESTS_DIR/cred_lib.sh"

command -v openssl >/dev/null || bail "openssl is needed (make deps)"
command -v curl >/dev/null || bail "curl is needed (make deps)"
python3 -c 'from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey' ||
	bail "python3-cryptography is needed (make deps)"

pg_start
PKI=$TMPD/pki
tls_make_ca "$PKI" && tls_make_cert "$PKI" hub || bail "a CA and the hubs' certificate"
P1=$(free_port)
P2=$(free_port)
tls_lines() { # PORT HOST_ID
	printf '%s\n' "https_listen = \"127.0.0.1:$1\";" "tls_cert = \"$PKI/hub.crt\";" \
		"tls_key = \"$PKI/hub.key\";" "host_id = \"$2\";" "rate_limit_count = 1000;"
}
mapfile -t L1 < <(tls_lines "$P1" hub1)
mapfile -t L2 < <(tls_lines "$P2" hub2)
hub_init 1 "${L1[@]}"
pg_migrate || bail "svcacctd --migrate"
hub_start 1 || bail "hub 1 starts"
hub_init 2 "${L2[@]}"
hub_join 2 || bail "hub 2 gets hub 1's pepper and audit.key"
hub_start 2 || bail "hub 2 starts"
ok "PostgreSQL and two hubs with https_listen"
H1="$SVCACCTCTL -s ${HUB_SOCK[1]}"
H2="$SVCACCTCTL -s ${HUB_SOCK[2]}"
U1="https://127.0.0.1:$P1"
U2="https://127.0.0.1:$P2"

# ---- the directory ------------------------------------------------------------------
setup_ok=1
for c in "team create ta" "team create teambravo" "workspace create wa --team ta" \
	"workspace create wsbravo --team teambravo" "account create svc-alpha" "account create svc-bravo" \
	"account create svc-teamy" "grant add svc-alpha --workspace wa --role editor" \
	"grant add svc-bravo --workspace wsbravo --role admin" \
	"grant add svc-teamy --team ta --role viewer" \
	"grant add svc-alpha --workspace wsbravo --role viewer"; do
	# shellcheck disable=SC2086
	expect_exit 0 $H1 $c || setup_ok=0
done
CTL=$H1 key_create svc-alpha && KA_ID=$KEYID || setup_ok=0
CTL=$H2 key_create svc-bravo && KB_ID=$KEYID || setup_ok=0
[ $setup_ok = 1 ] && ok "hub 1: teams ta teambravo, workspaces wa wsbravo, svc-alpha (wa), svc-bravo (wsbravo only), svc-teamy (team ta), keys" ||
	bail "the directory"

# ---- enrollment ---------------------------------------------------------------------
enroll() { # HUB_URL TOKEN HOST_ID -> $TMPD/enroll.json, prints the HTTP code
	curl -s -o "$TMPD/enroll.json" -w '%{http_code}' --cacert "$PKI/ca.crt" -m 10 \
		-H 'Content-Type: application/json' \
		--data "{\"token\":\"$2\",\"host_id\":\"$3\"}" "$1/v1/agent/enroll"
}
expect_exit 0 $H1 host token create --workspace wa && TOK=$(tail -n 1 <<<"$OUT")
code=$(enroll "$U1" "$TOK" web-a)
CRED=$(json_py 'd["credential"]' <"$TMPD/enroll.json" 2>/dev/null)
SNAPKEY=$(json_py 'd["snapshot_key"]' <"$TMPD/enroll.json" 2>/dev/null)
if [ "$code" = 200 ] && [[ $CRED == svch_* ]] && [ ${#SNAPKEY} = 43 ]; then
	ok "POST /v1/agent/enroll answers the credential and snapshot_key (43 base64url characters)"
else
	not_ok "POST /v1/agent/enroll answers the credential and snapshot_key"
	diag "HTTP $code: $(head -c 300 "$TMPD/enroll.json")"
	bail "no enrolled host"
fi
expect_exit 0 $H2 host token create --workspace wsbravo && TOK2=$(tail -n 1 <<<"$OUT")
enroll "$U2" "$TOK2" web-b >/dev/null
K2=$(json_py 'd["snapshot_key"]' <"$TMPD/enroll.json" 2>/dev/null)
CRED_B=$(json_py 'd["credential"]' <"$TMPD/enroll.json" 2>/dev/null)
[ -n "$K2" ] && [ "$K2" = "$SNAPKEY" ] && ok "hub 2 gives the same snapshot_key (one key for the organization)" ||
	not_ok "hub 2 gives the same snapshot_key ($K2 / $SNAPKEY)"
n=$(pg_psql -c "SELECT count(*) FROM svcacct_kv WHERE db = 0 AND k = 'secret/snapshot_key' AND length(v) = 104")
if [ "$n" = 1 ]; then
	ok "the snapshot key is stored sealed in the database (secret/snapshot_key, 104 bytes)"
else
	not_ok "the snapshot key is stored sealed in the database ($n)"
fi

# The agent daemon's pin: hub_snapshot.pub, 0600, the same key.
AG=$TMPD/agent
mkdir -m 0755 "$AG" && mkdir -m 0700 "$AG/state" && mkdir -m 0755 "$AG/nss"
cat >"$AG/svcacctd.conf" <<EOF
socket = "$AG/svcacctd.sock";
state_dir = "$AG/state";
nss_dir = "$AG/nss";
hubs = [ "$U2", "$U1" ];
hub_ca = "$PKI/ca.crt";
host_id = "agent-c";
EOF
chmod 644 "$AG/svcacctd.conf"
ACTL="$SVCACCTCTL -s $AG/svcacctd.sock"
"$SVCACCTD" -f -c "$AG/svcacctd.conf" </dev/null >>"$AG/daemon.log" 2>&1 &
AGENT_PID=$!
track_pid "$AGENT_PID"
wait_for 15 $ACTL audit verify >/dev/null 2>&1 || { diag_file "$AG/daemon.log" 20; bail "the agent starts"; }
expect_exit 0 $H1 host token create --workspace wa && TOK3=$(tail -n 1 <<<"$OUT")
if expect_exit 0 $ACTL host enroll "$TOK3" &&
	[ "$(stat -c %a "$AG/state/hub_snapshot.pub")" = 600 ] &&
	[ "$(cat "$AG/state/hub_snapshot.pub")" = "$SNAPKEY" ]; then
	ok "the agent pins the snapshot key at enrollment: state_dir/hub_snapshot.pub, 0600"
else
	not_ok "the agent pins the snapshot key at enrollment: state_dir/hub_snapshot.pub, 0600"
	ls -l "$AG/state" | sed 's/^/# /'
fi
kill "$AGENT_PID" 2>/dev/null
wait "$AGENT_PID" 2>/dev/null

# ---- the snapshot -------------------------------------------------------------------
snap() { # URL CRED -> $TMPD/snap.json, prints the HTTP code
	curl -s -o "$TMPD/snap.json" -w '%{http_code}' --cacert "$PKI/ca.crt" -m 10 \
		${2:+-H "Authorization: Bearer $2"} "$1/v1/agent/snapshot"
}
# verify.py ENVELOPE PUBKEY: checks the signature, writes the payload
cat >"$TMPD/verify.py" <<'EOF'
import base64, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
env = json.load(open(sys.argv[1]))
pk = base64.urlsafe_b64decode(sys.argv[2] + "=")
payload = base64.b64decode(env["payload"], validate=True)
sig = base64.urlsafe_b64decode(env["sig"] + "=" * (-len(env["sig"]) % 4))
Ed25519PublicKey.from_public_bytes(pk).verify(sig, payload)  # raises when bad
open(sys.argv[3], "wb").write(payload)
bad = bytearray(payload); bad[len(bad) // 2] ^= 1
try:
    Ed25519PublicKey.from_public_bytes(pk).verify(sig, bytes(bad))
    sys.exit("a changed payload verified")
except Exception:
    pass
print(env["kid"])
EOF
code=$(snap "$U1" "$CRED")
if [ "$code" = 200 ] && python3 "$TMPD/verify.py" "$TMPD/snap.json" "$SNAPKEY" "$TMPD/payload.json" >"$TMPD/kid" 2>"$TMPD/verify.err"; then
	ok "GET /v1/agent/snapshot: 200, the Ed25519 signature verifies against snapshot_key (a changed byte does not)"
else
	not_ok "GET /v1/agent/snapshot: 200, the Ed25519 signature verifies against snapshot_key"
	diag "HTTP $code: $(head -c 300 "$TMPD/snap.json")" "$(cat "$TMPD/verify.err")"
fi
P=$TMPD/payload.json
keys() { python3 -c 'import json,sys; print("\n".join(r["k"] for r in json.load(open(sys.argv[1]))["records"]))' "$P"; }
pyp() { python3 -c "import json,sys,base64; d=json.load(open(sys.argv[1])); print($1)" "$P"; }
if [ "$(pyp 'd["format"], d["host_id"], d["workspaces"]')" = "1 web-a ['wa']" ]; then
	ok "payload: format 1, host_id, workspaces"
else
	not_ok "payload: format 1, host_id, workspaces ($(pyp 'd["format"], d["host_id"], d["workspaces"]'))"
fi
K=$(keys)
if grep -qx 'acct/svc-alpha' <<<"$K" && grep -qx 'acct/svc-teamy' <<<"$K" &&
	grep -qx 'ws/wa' <<<"$K" && grep -qx 'team/ta' <<<"$K" && grep -qx 'meta/gen' <<<"$K" &&
	grep -qx "key/$KA_ID" <<<"$K" && grep -q '^grant/[0-9]*/w/wa$' <<<"$K" &&
	grep -q '^grant/[0-9]*/t/ta$' <<<"$K"; then
	ok "the snapshot holds svc-alpha (grant in wa), svc-teamy (team grant covering wa), wa, ta, their grants, svc-alpha's key, meta/gen"
else
	not_ok "the snapshot holds svc-alpha, svc-teamy, wa, ta, their grants and keys"
	diag "$(tr '\n' ' ' <<<"$K")"
fi
# Nothing of svc-bravo (granted in wsbravo only) or of wsbravo, anywhere in the
# payload, values decoded too.
python3 -c '
import json, sys, base64
d = json.load(open(sys.argv[1]))
blob = open(sys.argv[1], "rb").read() + b"".join(base64.b64decode(r["v"]) for r in d["records"])
sys.stdout.write("\n".join(w for w in ("svc-bravo", "wsbravo", "teambravo", sys.argv[2]) if w.encode() in blob))
' "$P" "$KB_ID" >"$TMPD/leak"
BU=$($H1 --json account show svc-bravo | json_py 'd["uid"]')
if [ ! -s "$TMPD/leak" ] && ! grep -q "^\(uid\|gidx\|kidx\)/$BU\$" <<<"$K"; then
	ok "nothing of svc-bravo (granted only in wsbravo): no name, uid, key id, workspace wsbravo or team teambravo in the decoded payload"
else
	not_ok "nothing of svc-bravo in the payload (found: $(tr '\n' ' ' <"$TMPD/leak"))"
fi
# gidx of svc-alpha names only wa (its wsbravo grant is not this host's).
AU=$($H1 --json account show svc-alpha | json_py 'd["uid"]')
g=$(pyp "[base64.b64decode(r['v']).decode() for r in d['records'] if r['k'] == 'gidx/$AU']")
[ "$g" = "['w/wa\\n']" ] && ok "svc-alpha's grant index lists only its wa grant" ||
	not_ok "svc-alpha's grant index lists only its wa grant ($g)"
# Key records: the hub's hash is not in the payload; only its 32 bytes differ.
HUBKEY=$(pg_psql -c "SELECT encode(v, 'hex') FROM svcacct_kv WHERE db = 0 AND k = 'key/$KA_ID'")
r=$(python3 -c '
import json, sys, base64
d = json.load(open(sys.argv[1]))
hub = bytes.fromhex(sys.argv[2])
snap = [base64.b64decode(r["v"]) for r in d["records"] if r["k"] == "key/" + sys.argv[3]][0]
diff = [i for i in range(len(hub)) if hub[i] != snap[i]] if len(hub) == len(snap) else None
if not diff: sys.exit("same length and some difference expected")
lo = diff[0]
h = hub[lo:lo + 32]
for s in range(max(0, diff[-1] - 31), lo + 1):
    if snap[s:s + 32] == bytes(32): h = hub[s:s + 32]; break
else: sys.exit("no zeroed 32-byte span")
blob = open(sys.argv[1], "rb").read() + b"".join(base64.b64decode(r["v"]) for r in d["records"])
print("absent" if h not in blob and h.hex().encode() not in blob and diff[-1] - diff[0] < 32 else "present")
' "$P" "$HUBKEY" "$KA_ID" 2>&1)
[ "$r" = absent ] && ok "key records carry no hash: 32 zero bytes where the hub's hash is, the hash nowhere in the payload" ||
	not_ok "key records carry no hash ($r)"
SEQ=$(pyp 'd["seq"]')
MAXSEQ=$(pg_psql -c "SELECT max(seq) FROM svcacct_changes")
[ -n "$SEQ" ] && [ "$SEQ" = "$MAXSEQ" ] && ok "payload seq ($SEQ) = max(seq) of svcacct_changes" ||
	not_ok "payload seq ($SEQ) = max(seq) of svcacct_changes ($MAXSEQ)"
pyp 'json.dumps(d["jwks"])' | grep -q '"kty": "OKP"' && ok "payload carries the JWKS" || not_ok "payload carries the JWKS"
# A token revoked: its jti in deny/.
CTL=$H1 key_create svc-teamy && KT=$KEY
CTL=$H1 xchg 0 "$KT" && TT=$OUT
JTI=$(python3 -c 'import sys,base64,json; p=sys.argv[1].split(".")[1]; print(json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))["jti"])' "$TT")
expect_exit 0 $H2 token revoke "$TT"
snap "$U2" "$CRED" >/dev/null
python3 "$TMPD/verify.py" "$TMPD/snap.json" "$SNAPKEY" "$P" >/dev/null 2>&1
grep -qx "deny/$JTI" <<<"$(keys)" && ok "a revoked token's jti is in the snapshot from hub 2 (deny/)" ||
	not_ok "a revoked token's jti is in the snapshot from hub 2 (deny/)"
ls=$($H1 --json host show web-a | json_py 'd["last_seen"] is not None and d["snapshot_seq"] == '"$(pyp 'd["seq"]')")
[ "$ls" = true ] && ok "host show: last_seen and snapshot_seq record the fetch" ||
	not_ok "host show: last_seen and snapshot_seq record the fetch ($($H1 --json host show web-a))"
SEQ=$(pyp 'd["seq"]')
[ "$(pg_psql -c "SELECT max(seq) FROM svcacct_changes")" = "$SEQ" ] &&
	ok "a fetch adds no change-log row (it wakes no agent)" || not_ok "a fetch adds no change-log row"

# ---- the change stream --------------------------------------------------------------
changes() { # URL CRED SINCE [OUTFILE]
	curl -s -o "${4:-$TMPD/changes.json}" -w '%{http_code}' --cacert "$PKI/ca.crt" -m 40 \
		${2:+-H "Authorization: Bearer $2"} "$1/v1/agent/changes?since=$3"
}
code=$(changes "$U1" "$CRED" 0)
[ "$code" = 200 ] && [ "$(json_py 'd["seq"]' <"$TMPD/changes.json")" = "$SEQ" ] &&
	ok "changes?since=0 answers at once with the current seq" || not_ok "changes?since=0 answers at once ($code)"
t0=$(date +%s%N)
changes "$U1" "$CRED" "$SEQ" >"$TMPD/held.code" &
HELD=$!
sleep 2.5
if kill -0 "$HELD" 2>/dev/null; then ok "changes?since=<current> is held (still open after 2.5 s)"; else not_ok "changes?since=<current> is held"; fi
t1=$(date +%s%N)
expect_exit 0 $H2 account disable svc-alpha
wait "$HELD"
t2=$(date +%s%N)
ms=$(((t2 - t1) / 1000000))
NEW=$(json_py 'd["seq"]' <"$TMPD/changes.json")
if [ "$(cat "$TMPD/held.code")" = 200 ] && [ "$NEW" -gt "$SEQ" ] && [ "$ms" -le 1000 ]; then
	ok "account disable on hub 2 answers hub 1's held poll within 1 s (${ms} ms), seq $SEQ -> $NEW"
else
	not_ok "account disable on hub 2 answers hub 1's held poll within 1 s (${ms} ms, code $(cat "$TMPD/held.code"), seq $NEW)"
fi
# A change on the same hub wakes it too.
changes "$U1" "$CRED" "$NEW" "$TMPD/c2.json" >"$TMPD/held2.code" &
HELD=$!
sleep 1
t1=$(date +%s%N)
expect_exit 0 $H1 account enable svc-alpha
wait "$HELD"
ms=$((($(date +%s%N) - t1) / 1000000))
[ "$(json_py 'd["seq"]' <"$TMPD/c2.json")" -gt "$NEW" ] && [ "$ms" -le 1000 ] &&
	ok "a change on the same hub answers its held poll within 1 s (${ms} ms)" ||
	not_ok "a change on the same hub answers its held poll within 1 s (${ms} ms)"

# 50 held polls: the daemon still answers its socket at once.
CUR=$(pg_psql -c "SELECT max(seq) FROM svcacct_changes")
pids=()
for i in $(seq 50); do
	changes "$U1" "$CRED" "$CUR" "$TMPD/m$i.json" >"$TMPD/m$i.code" &
	pids+=($!)
done
sleep 2
alive=0
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
t1=$(date +%s%N)
expect_exit 0 $H1 account list && expect_exit 0 $H1 audit verify
ms=$((($(date +%s%N) - t1) / 1000000))
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.crt" -m 5 "$U1/healthz")
if [ "$alive" = 50 ] && [ "$ms" -le 2000 ] && [ "$code" = 200 ]; then
	ok "50 long polls held; hub 1 answers its socket (${ms} ms for account list + audit verify) and /healthz"
else
	not_ok "50 long polls held; hub 1 answers its socket (alive $alive, ${ms} ms, healthz $code)"
fi
expect_exit 0 $H2 account disable svc-teamy
for p in "${pids[@]}"; do wait "$p"; done
good=0
for i in $(seq 50); do
	[ "$(cat "$TMPD/m$i.code")" = 200 ] && [ "$(json_py 'd["seq"]' <"$TMPD/m$i.json")" -gt "$CUR" ] && good=$((good + 1))
done
[ "$good" = 50 ] && ok "one change answers all 50 held polls with the new seq" || not_ok "one change answers all 50 held polls ($good)"
code=$(changes "$U1" "$CRED" abc)
[ "$code" = 400 ] && ok "changes?since=abc: 400" || not_ok "changes?since=abc: 400 ($code)"

# ---- refusals -----------------------------------------------------------------------
code=$(snap "$U1" "")
c2=$(changes "$U1" "" 0)
[ "$code" = 401 ] && [ "$c2" = 401 ] && ok "no credential: 401 on snapshot and changes" ||
	not_ok "no credential: 401 on snapshot and changes ($code $c2)"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.crt" -m 5 -X POST \
	-H "Authorization: Bearer $CRED" "$U1/v1/agent/snapshot")
[ "$code" = 405 ] && ok "POST /v1/agent/snapshot: 405" || not_ok "POST /v1/agent/snapshot: 405 ($code)"
expect_exit 0 $H1 host disable web-a
code=$(snap "$U2" "$CRED")
c2=$(changes "$U2" "$CRED" 0)
[ "$code" = 403 ] && [ "$c2" = 403 ] && ok "a disabled host: 403 on snapshot and changes" ||
	not_ok "a disabled host: 403 on snapshot and changes ($code $c2)"
expect_exit 0 $H2 host remove web-b
code=$(snap "$U1" "$CRED_B")
c2=$(changes "$U1" "$CRED_B" 0)
[ "$code" = 401 ] && [ "$c2" = 401 ] && ok "a removed host: 401 on snapshot and changes" ||
	not_ok "a removed host: 401 on snapshot and changes ($code $c2)"
# The plain text of the snapshot key is nowhere in the database.
if pg_psql -c "SELECT encode(v, 'hex') FROM svcacct_kv" | grep -q "$(python3 -c 'import base64,sys; print(base64.urlsafe_b64decode(sys.argv[1] + "=").hex())' "$SNAPKEY")"; then
	not_ok "the database does not hold the snapshot key in plain text (not even its public half)"
else
	ok "the database does not hold the snapshot key in plain text (not even its public half)"
fi
# A held poll when the hub stops: the hub still exits cleanly.
CUR=$(pg_psql -c "SELECT max(seq) FROM svcacct_changes")
expect_exit 0 $H1 host token create --workspace wa && TOK4=$(tail -n 1 <<<"$OUT")
enroll "$U1" "$TOK4" web-d >/dev/null
CRED_D=$(json_py 'd["credential"]' <"$TMPD/enroll.json" 2>/dev/null)
CUR=$(pg_psql -c "SELECT max(seq) FROM svcacct_changes")
changes "$U2" "$CRED_D" "$CUR" "$TMPD/last.json" >/dev/null &
LAST=$!
sleep 1
hub_stop 2 && ok "hub 2 stops cleanly while a long poll is held" || not_ok "hub 2 stops cleanly while a long poll is held"
wait "$LAST"
stop_daemon
exit "$(failures)"
