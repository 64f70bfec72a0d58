#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Incremental snapshots (issue 17 item 2): a throwaway PostgreSQL, one hub
# on https_listen, agent A enrolled in workspace wa.  After a key revoke A
# applies a delta (its log: "applied delta", no new full snapshot), and
# GET /v1/agent/delta since A's previous seq is signed with the pinned key
# and holds only the changed account's records; a token revoke reaches A
# within 2 s; grant add in wa makes an account appear on A (the delta
# carries its key), grant remove takes all of it away (the delta names its
# uid without records; NSS, access), a rename leaves no old name; all
# through deltas.  A change of the host's workspaces (host update) makes
# the hub answer 409 and A fetch a full snapshot, a new workspace
# elsewhere does not.  Bad since: 400; since 0: 409; no credential: 401.
# A paused (SIGSTOP) while 3 changes happen catches up with a delta, and
# stopped while 3 more happen catches up with a delta after its restart
# (a probe: changes?since=SEQ-1); both times its state (NSS passwd and group entries, access of every account)
# equals that of agent B, enrolled afresh.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/lib_pg.sh"
. "$TESTS_DIR/http/http_lib.sh"
. "$TESTS_DIR/cred_lib.sh"

command -v openssl >/dev/null || bail "openssl is needed (make deps)"
command -v curl >/dev/null || bail "curl is needed (make deps)"
python3 -c 'from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey' ||
	bail "python3-cryptography is needed (make deps)"

hub1_https_up

setup_ok=1
for c in "team create ta" "team create teambravo" "workspace create wa --team ta" \
	"workspace create wsbravo --team teambravo" "account create svc-alpha" \
	"account create svc-bravozulu" "account create svc-teamy" "account create svc-tok" \
	"grant add svc-alpha --workspace wa --role editor" \
	"grant add svc-bravozulu --workspace wsbravo --role admin" \
	"grant add svc-teamy --team ta --role viewer" \
	"grant add svc-tok --workspace wa --role viewer"; do
	# shellcheck disable=SC2086
	expect_exit 0 $H1 $c || setup_ok=0
done
CTL=$H1 key_create svc-tok && TOKKEY=$KEYID || setup_ok=0
CTL=$H1 key_create svc-bravozulu && BZKEY=$KEYID || setup_ok=0
CTL=$H1 key_create svc-alpha && ALPHAKEY=$KEY || setup_ok=0
[ $setup_ok = 1 ] && ok "hub: svc-alpha, svc-teamy, svc-tok reach wa, svc-bravozulu only wsbravo; keys" ||
	bail "the directory"

A=$TMPD/agenta
B=$TMPD/agentb
ACTL="$SVCACCTCTL -s $A/svcacctd.sock"
BCTL="$SVCACCTCTL -s $B/svcacctd.sock"
agent_dir_init "$A" agent-a "$U1" && agent_dir_start "$A" || { diag_file "$A/daemon.log" 20; bail "agent A starts"; }
expect_exit 0 $H1 host token create --workspace wa && TOK=$(tail -n 1 <<<"$OUT")
expect_exit 0 $ACTL host enroll "$TOK" || bail "agent A enrolls"
nss_has() { grep -rqaF -e "$2" "$1/nss"; }
nss_pw() { nss_dir_call "$1/nss" pwnam "$2" 4096 2>/dev/null | head -n 1 | grep -q '^SUCCESS'; }
fulls() { grep -c "applied snapshot seq" "$1/daemon.log"; }
deltas() { grep -c "applied delta seq" "$1/daemon.log"; }
aseq() { $SVCACCTCTL -s "$1/svcacctd.sock" --json fleet status 2>/dev/null | json_py 'd["snapshot_seq"]'; }
hubseq() { curl -s --cacert "$PKI/ca.crt" -m 10 -H "Authorization: Bearer $CRED" "$U1/v1/agent/changes?since=0" | json_py 'd["seq"]'; }
synced() { [ "$(aseq "$1")" = "$(hubseq)" ]; }
more_deltas() { [ "$(deltas "$1")" -gt "$2" ]; } # DIR N: the log says more than N
first_sync() { nss_has "$A" svc-alpha && [ "$(fulls "$A")" = 1 ]; }
if wait_for 15 first_sync && [ "$(deltas "$A")" = 0 ]; then
	ok "agent A enrolls in wa; its first sync is a full snapshot"
else
	not_ok "agent A enrolls in wa; its first sync is a full snapshot"
	diag_file "$A/daemon.log" 20
fi
CRED=$(cat "$A/state/host.credential")
SNAPKEY=$(cat "$A/state/hub_snapshot.pub")

# ---- a key revoke travels as a delta ------------------------------------------------------
wait_for 10 synced "$A"
S0=$(aseq "$A")
F0=$(fulls "$A")
expect_exit 0 $H1 key revoke svc-tok "$TOKKEY" || not_ok "key revoke on the hub"
S1=$(hubseq)
if wait_for 10 synced "$A" && wait_for 5 more_deltas "$A" 0 && [ "$(fulls "$A")" = "$F0" ]; then
	ok "key revoke on the hub: agent A applied a delta (seq $S0 -> $(aseq "$A")), no full snapshot"
else
	not_ok "key revoke on the hub: agent A applied a delta, no full snapshot (fulls $(fulls "$A"), was $F0)"
	diag_file "$A/daemon.log" 10
fi

# verify.py ENVELOPE PUBKEY OUT: the signature over the payload, the payload to OUT
cat >"$TMPD/verify.py" <<'EOF'
import base64, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
env = json.load(open(sys.argv[1]))
pk = base64.urlsafe_b64decode(sys.argv[2] + "=")
payload = base64.b64decode(env["payload"], validate=True)
sig = base64.urlsafe_b64decode(env["sig"] + "=" * (-len(env["sig"]) % 4))
Ed25519PublicKey.from_public_bytes(pk).verify(sig, payload)
open(sys.argv[3], "wb").write(payload)
EOF
delta_get() { # SINCE [CREDENTIAL] -> $CODE, $TMPD/delta.json
	local auth=()
	[ -n "${2-$CRED}" ] && auth=(-H "Authorization: Bearer ${2-$CRED}")
	CODE=$(curl -s -o "$TMPD/delta.json" -w '%{http_code}' --cacert "$PKI/ca.crt" -m 10 \
		"${auth[@]}" "$U1/v1/agent/delta?since=$1")
}
TU=$($H1 --json account show svc-tok | json_py 'd["uid"]')
delta_get "$S0"
if [ "$CODE" = 200 ] && python3 "$TMPD/verify.py" "$TMPD/delta.json" "$SNAPKEY" "$TMPD/payload.json" 2>"$TMPD/verify.err"; then
	ok "GET /v1/agent/delta?since=$S0: 200, signed with the pinned snapshot key"
else
	not_ok "GET /v1/agent/delta?since=$S0: 200, signed with the pinned snapshot key (HTTP $CODE)"
	diag "$(head -c 300 "$TMPD/delta.json")" "$(cat "$TMPD/verify.err" 2>/dev/null)"
fi
want="[\"delta\", \"agent-a\", [\"wa\"], $S0, $S1, [$TU], true, [\"acct/svc-tok\", \"gidx/$TU\", \"grant/$TU/w/wa\", \"key/$TOKKEY\", \"kidx/$TU\", \"org/settings\", \"uid/$TU\"], []]"
got=$(json_py '[d["kind"], d["host_id"], d["workspaces"], d["base_seq"], d["seq"], d["accounts"], "keys" in d["jwks"], sorted(r["k"] for r in d["upserts"]), d["deletes"]]' <"$TMPD/payload.json" 2>&1)
if [ "$got" = "$want" ]; then
	ok "the delta holds only svc-tok's records (uid/ acct/ gidx/ kidx/ its wa grant, its key), the org settings and the JWKS"
else
	not_ok "the delta holds only svc-tok's records and the JWKS"
	diag "want $want" "got  $got"
fi
if ! python3 -c '
import base64, json, sys
d = json.load(open(sys.argv[1]))
blob = open(sys.argv[1], "rb").read() + b"".join(base64.b64decode(r["v"]) for r in d["upserts"])
sys.exit(0 if any(n.encode() in blob for n in sys.argv[2:]) else 1)' "$TMPD/payload.json" svc-alpha svc-teamy svc-bravozulu wsbravo "$BZKEY"; then
	ok "nothing of the unchanged accounts in it, nor of wsbravo (values decoded too)"
else
	not_ok "nothing of the unchanged accounts in it, nor of wsbravo"
fi
delta_get abc
c1=$CODE
delta_get 0
c2=$CODE
delta_get "$S0" ""
c3=$CODE
if [ "$c1/$c2/$c3" = 400/409/401 ]; then
	ok "delta?since=abc: 400; since=0: 409 (take the snapshot); no credential: 401"
else
	not_ok "delta?since=abc: 400; since=0: 409; no credential: 401 (got $c1/$c2/$c3)"
fi

# ---- revocation time ----------------------------------------------------------------------
CTL=$H1 xchg 0 "$ALPHAKEY" || bail "a session token of svc-alpha from the hub"
TOKA=$OUT
wait_for 10 $ACTL token verify "$TOKA"
D0=$(deltas "$A")
t0=$(now)
STDIN_FILE=/dev/null expect_exit 0 $H1 token revoke "$TOKA" || not_ok "token revoke on the hub"
gone=0
for _ in $(seq 1 100); do
	$ACTL token verify "$TOKA" >/dev/null 2>&1 || { gone=1; break; }
	sleep 0.05
done
dt=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.3f", b-a}')
if [ $gone = 1 ] && awk -v d="$dt" 'BEGIN{exit !(d < 2.0)}' && wait_for 5 more_deltas "$A" "$D0"; then
	ok "token revoke on the hub: refused on agent A within 2 s (${dt}s), through a delta"
else
	not_ok "token revoke on the hub: refused on agent A within 2 s (${dt}s), through a delta"
fi

# ---- accounts entering and leaving the slice ----------------------------------------------
role_of() { $SVCACCTCTL -s "$1/svcacctd.sock" --json account access "$2" 2>/dev/null | json_py 'd["role"]' 2>/dev/null; }
has_bz() { nss_pw "$A" svc-bravozulu && [ "$(role_of "$A" svc-bravozulu)" = viewer ]; }
# upserts and accounts of the delta since SEQ: "uid: key key ..."
delta_keys() {
	delta_get "$1"
	[ "$CODE" = 200 ] && python3 "$TMPD/verify.py" "$TMPD/delta.json" "$SNAPKEY" "$TMPD/payload.json" &&
		json_py '" ".join([str(d["accounts"])] + sorted(r["k"] for r in d["upserts"]))' <"$TMPD/payload.json"
}
BU=$($H1 --json account show svc-bravozulu | json_py 'd["uid"]')
F0=$(fulls "$A")
wait_for 10 synced "$A"
SB=$(aseq "$A")
expect_exit 0 $H1 grant add svc-bravozulu --workspace wa --role viewer || not_ok "grant add on the hub"
if wait_for 10 has_bz && [ "$(fulls "$A")" = "$F0" ]; then
	ok "grant add svc-bravozulu in wa: on agent A (NSS, access viewer), through a delta"
else
	not_ok "grant add svc-bravozulu in wa: on agent A (NSS, access viewer), through a delta"
fi
got=$(delta_keys "$SB")
want="[$BU] acct/svc-bravozulu gidx/$BU grant/$BU/w/wa key/$BZKEY kidx/$BU org/settings uid/$BU"
if [ "$got" = "$want" ]; then
	ok "that delta carries svc-bravozulu with its key, and only its wa grant"
else
	not_ok "that delta carries svc-bravozulu with its key, and only its wa grant"
	diag "want $want" "got  $got"
fi
gone_bz() { ! nss_pw "$A" svc-bravozulu && ! $ACTL account access svc-bravozulu >/dev/null 2>&1; }
wait_for 10 synced "$A"
SB=$(aseq "$A")
expect_exit 0 $H1 grant remove svc-bravozulu --workspace wa || not_ok "grant remove on the hub"
got=$(delta_keys "$SB")
# (meta/gen too: a grant removal ends the account's tokens)
if wait_for 10 gone_bz && [ "$(fulls "$A")" = "$F0" ] && [ "${got%% *}" = "[$BU]" ] &&
	! grep -qF -e "/$BU" <<<"$got" && ! grep -qF svc-bravozulu <<<"$got"; then
	ok "grant remove: the delta names svc-bravozulu's uid without records; nothing of it left on agent A (NSS, access)"
else
	not_ok "grant remove: nothing of svc-bravozulu left on agent A, through a delta"
	diag "delta: $got"
fi
renamed() { nss_pw "$A" svc-alphanew && ! nss_pw "$A" svc-alpha && [ "$(role_of "$A" svc-alphanew)" = editor ]; }
expect_exit 0 $H1 account update svc-alpha --rename svc-alphanew || not_ok "account rename on the hub"
if wait_for 10 renamed && expect_exit 4 $ACTL account access svc-alpha && [ "$(fulls "$A")" = "$F0" ]; then
	ok "account rename: svc-alphanew on agent A, the old name gone, through a delta"
else
	not_ok "account rename: svc-alphanew on agent A, the old name gone, through a delta"
	diag "$OUT $ERR"
fi

# ---- workspace changes --------------------------------------------------------------------
expect_exit 0 $H1 workspace create wscharlie --team teambravo || not_ok "workspace create on the hub"
if wait_for 10 synced "$A" && [ "$(fulls "$A")" = "$F0" ]; then
	ok "another workspace created (wscharlie): still a delta"
else
	not_ok "another workspace created (wscharlie): still a delta"
fi
has_bz_admin() { nss_pw "$A" svc-bravozulu && [ "$(role_of "$A" svc-bravozulu)" = admin ]; }
expect_exit 0 $H1 host update agent-a --workspace wa --workspace wsbravo || not_ok "host update on the hub"
if wait_for 10 has_bz_admin && [ "$(fulls "$A")" -gt "$F0" ] &&
	grep -q "a full snapshot is needed: the host's record changed" "$A/daemon.log"; then
	ok "host update (workspaces wa, wsbravo): the hub answers 409, agent A takes a full snapshot (svc-bravozulu admin)"
else
	not_ok "host update: the hub answers 409, agent A takes a full snapshot"
	diag_file "$A/daemon.log" 10
fi
expect_exit 0 $H1 host update agent-a --workspace wa || not_ok "host update back on the hub"
wait_for 10 gone_bz || not_ok "host update back to wa: svc-bravozulu gone from agent A"

# ---- catching up, compared with a fresh agent ----------------------------------------------
same_state() { # DIR1 DIR2: NSS entries (passwd, group), access of each account
	local n x y
	x=$(nss_dir_call "$1/nss" pwent grent 2>&1) || return 1
	y=$(nss_dir_call "$2/nss" pwent grent 2>&1) || return 1
	[ "$x" = "$y" ] || { diff <(printf '%s\n' "$x") <(printf '%s\n' "$y") >"$TMPD/nss.diff"; return 1; }
	for n in svc-alphanew svc-alpha svc-bravozulu svc-teamy svc-tok; do
		x=$($SVCACCTCTL -s "$1/svcacctd.sock" --json account access "$n" 2>&1)
		y=$($SVCACCTCTL -s "$2/svcacctd.sock" --json account access "$n" 2>&1)
		[ "$x" = "$y" ] || { printf '%s\n%s\n' "$x" "$y" >"$TMPD/nss.diff"; return 1; }
	done
}
agent_dir_init "$B" agent-b "$U1" && agent_dir_start "$B" || { diag_file "$B/daemon.log" 20; bail "agent B starts"; }
expect_exit 0 $H1 host token create --workspace wa && TOK=$(tail -n 1 <<<"$OUT")
expect_exit 0 $BCTL host enroll "$TOK" || bail "agent B enrolls"

kill -STOP "${AGENT_PIDS[$A]}"
F0=$(fulls "$A")
D0=$(deltas "$A")
for c in "grant add svc-bravozulu --workspace wa --role editor" "account disable svc-teamy" \
	"key revoke svc-bravozulu $BZKEY"; do
	# shellcheck disable=SC2086
	expect_exit 0 $H1 $c || not_ok "$c on the hub"
done
sleep 1
kill -CONT "${AGENT_PIDS[$A]}"
both() { synced "$A" && synced "$B" && same_state "$A" "$B"; }
if wait_for 15 both && wait_for 5 more_deltas "$A" "$D0" && [ "$(fulls "$A")" = "$F0" ] &&
	nss_has "$A" svc-bravozulu; then
	ok "agent A paused while 3 changes happen: catches up with a delta, and equals agent B, enrolled afresh"
else
	not_ok "agent A paused while 3 changes happen: catches up with a delta and equals agent B"
	diag "A seq $(aseq "$A"), B seq $(aseq "$B"), hub $(hubseq), fulls $(fulls "$A") (was $F0)"
	diag_file "$TMPD/nss.diff" 10
fi

agent_dir_stop "$A" || not_ok "agent A stops cleanly"
F0=$(fulls "$A")
D0=$(deltas "$A")
for c in "grant remove svc-bravozulu --workspace wa" "account enable svc-teamy" \
	"grant add svc-tok --team ta --role editor"; do
	# shellcheck disable=SC2086
	expect_exit 0 $H1 $c || not_ok "$c on the hub"
done
agent_dir_start "$A" || bail "agent A starts again"
if wait_for 15 both && wait_for 5 more_deltas "$A" "$D0" && [ "$(fulls "$A")" = "$F0" ] &&
	! nss_has "$A" svc-bravozulu; then
	ok "agent A stopped while 3 more changes happen: after its restart it catches up with a delta and equals agent B"
else
	not_ok "agent A stopped while 3 more changes happen: after its restart it catches up with a delta and equals agent B"
	diag "A seq $(aseq "$A"), B seq $(aseq "$B"), hub $(hubseq)"
	diag_file "$TMPD/nss.diff" 10
fi
if more_deltas "$B" 0; then
	ok "agent B followed those changes with deltas too ($(deltas "$B") applied)"
else
	not_ok "agent B followed those changes with deltas too"
fi
agent_dir_stop "$A" && agent_dir_stop "$B" && ok "both agents shut down cleanly" ||
	not_ok "both agents shut down cleanly"
