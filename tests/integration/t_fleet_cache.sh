#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The hub's cache of agents' slices (issue 17 items 5 + 7, model/snapcache.c):
# a throwaway PostgreSQL, one hub on https_listen, hosts h-a1 and h-a2
# enrolled in workspace wa, h-b in wb.  h-a1 and h-a2
# get identical records (and different heads: their own host_id), the
# second one's slice served from the cache (hub log, debug line); h-b gets
# its own slice (nothing of wa's accounts).  A key revoke moves the seq:
# the next snapshot is built afresh and holds the revoked key; both wa
# hosts get the same delta since the old seq (the second cached), each
# signed with the snapshot key and naming its own host; the fetches served
# from the cache (without the lock) are recorded (host show: snapshot_seq).  A change of
# h-a2's own record (host update, same workspaces) makes only h-a2's delta
# a 409, though h-a1's comes from the same cached slice.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/lib_pg.sh"
. "$TESTS_DIR/http/http_lib.sh"
. "$TESTS_DIR/cred_lib.sh"

command -v openssl >/dev/null || bail "openssl is needed (make deps)"
command -v curl >/dev/null || bail "curl is needed (make deps)"
python3 -c 'from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey' ||
	bail "python3-cryptography is needed (make deps)"

hub1_https_up
LOG=$(hub_log 1)

setup_ok=1
for c in "team create ta" "workspace create wa --team ta" "workspace create wb --team ta" \
	"account create svc-one" "account create svc-two" "account create svc-bee" \
	"grant add svc-one --workspace wa --role viewer" \
	"grant add svc-two --workspace wa --role editor" \
	"grant add svc-bee --workspace wb --role viewer"; do
	# shellcheck disable=SC2086
	expect_exit 0 $H1 $c || setup_ok=0
done
CTL=$H1 key_create svc-one && ONEKEY=$KEYID || setup_ok=0
[ $setup_ok = 1 ] || bail "the directory"

enroll() { # WS... ; HOST_ID last -> credential on stdout, snapshot key in $TMPD/snapkey
	local id=${*: -1} args=() w
	for w in "${@:1:$#-1}"; do args+=(--workspace "$w"); done
	expect_exit 0 $H1 host token create "${args[@]}" || return 1
	local tok
	tok=$(tail -n 1 <<<"$OUT")
	curl -s -o "$TMPD/enroll.json" --cacert "$PKI/ca.crt" -m 10 \
		-H 'Content-Type: application/json' \
		--data "{\"token\":\"$tok\",\"host_id\":\"$id\"}" "$U1/v1/agent/enroll" || return 1
	json_py 'd["snapshot_key"]' <"$TMPD/enroll.json" >"$TMPD/snapkey"
	json_py 'd["credential"]' <"$TMPD/enroll.json"
}
CA1=$(enroll wa h-a1) && CA2=$(enroll wa h-a2) && CB=$(enroll wb h-b) || bail "enrollment"
SNAPKEY=$(cat "$TMPD/snapkey")

cat >"$TMPD/verify.py" <<'PY'
# verify.py ENVELOPE PUBKEY OUT: checks the signature, writes the payload
import base64, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
env = json.load(open(sys.argv[1]))
pk = base64.urlsafe_b64decode(sys.argv[2] + "=")
payload = base64.b64decode(env["payload"], validate=True)
sig = base64.urlsafe_b64decode(env["sig"] + "=" * (-len(env["sig"]) % 4))
Ed25519PublicKey.from_public_bytes(pk).verify(sig, payload)
open(sys.argv[3], "wb").write(payload)
PY
# get CRED PATH NAME: GET, verify -> $TMPD/NAME.json (the payload); prints the HTTP code
get() {
	local code
	code=$(curl -s -o "$TMPD/$3.env" -w '%{http_code}' --cacert "$PKI/ca.crt" -m 20 \
		-H "Authorization: Bearer $1" "$U1$2")
	if [ "$code" = 200 ]; then
		python3 "$TMPD/verify.py" "$TMPD/$3.env" "$SNAPKEY" "$TMPD/$3.json" || code=bad-signature
	fi
	echo "$code"
}
pv() { json_py "$2" <"$TMPD/$1.json"; } # NAME EXPR: a payload's field
body() { # NAME: the payload without the host's own head
	json_py '{k: v for k, v in d.items() if k not in ("host_id", "workspaces", "issued_at")}' \
		<"$TMPD/$1.json"
}

# ---- the same workspace set: the same records, one build --------------------------------
c1=$(get "$CA1" /v1/agent/snapshot a1)
c2=$(get "$CA2" /v1/agent/snapshot a2)
cb=$(get "$CB" /v1/agent/snapshot b)
S0=$(pv a1 'd["seq"]')
if [ "$c1$c2" = 200200 ] && [ "$(body a1)" = "$(body a2)" ] && [ "$(pv a1 'd["host_id"]')" = h-a1 ] &&
	[ "$(pv a2 'd["host_id"]')" = h-a2 ] && [ "$(pv a2 'd["workspaces"]')" = '["wa"]' ] &&
	pv a1 'json.dumps(d["records"])' | grep -qF -e "acct/svc-one"; then
	ok "h-a1 and h-a2 (workspace wa) get identical records at seq $S0, each its own host_id and workspaces"
else
	not_ok "h-a1 and h-a2 get identical records ($c1 $c2)"
	diff <(body a1) <(body a2) | head -5 | while read -r l; do diag "$l"; done
fi
if grep -qF -e "snapshot for host h-a2: seq $S0," "$LOG" &&
	grep -F -e "snapshot for host h-a2: seq $S0," "$LOG" | tail -n 1 | grep -qF 'slice cached (no lock)'; then
	ok "the second host's snapshot came from the hub's cache without the lock (one slice build for the set)"
else
	not_ok "the second host's snapshot came from the hub's cache"
	grep -F "snapshot for host" "$LOG" | tail -n 5 | while read -r l; do diag "$l"; done
fi
if [ "$cb" = 200 ] && [ "$(body b)" != "$(body a1)" ] &&
	pv b 'json.dumps(d["records"])' | grep -qF -e "acct/svc-bee" &&
	! pv b 'json.dumps(d["records"])' | grep -qF -e "svc-one" &&
	grep -F -e "snapshot for host h-b: seq $S0," "$LOG" | tail -n 1 | grep -q 'slice built$'; then
	ok "h-b (workspace wb) gets its own slice, built for it: svc-bee, nothing of wa's accounts"
else
	not_ok "h-b gets its own slice ($cb)"
fi

# ---- a change: a new seq, a new build; deltas shared ----------------------------------
expect_exit 0 $H1 key revoke svc-one "$ONEKEY" || true
c1=$(get "$CA1" /v1/agent/snapshot a1new)
S1=$(pv a1new 'd["seq"]')
krec=$(pv a1new '[r["v"] for r in d["records"] if r["k"] == "key/'"$ONEKEY"'"][0]')
kold=$(pv a1 '[r["v"] for r in d["records"] if r["k"] == "key/'"$ONEKEY"'"][0]')
if [ "$c1" = 200 ] && [ "$S1" -gt "$S0" ] && [ -n "$krec" ] && [ "$krec" != "$kold" ] &&
	grep -F -e "snapshot for host h-a1: seq $S1," "$LOG" | tail -n 1 | grep -q 'slice built$'; then
	ok "key revoke: the next snapshot (seq $S0 -> $S1) is built afresh and holds the revoked key record"
else
	not_ok "key revoke: a new snapshot with the revoked key ($c1, seq $S0 -> $S1)"
fi
d1=$(get "$CA1" "/v1/agent/delta?since=$S0" d1)
d2=$(get "$CA2" "/v1/agent/delta?since=$S0" d2)
if [ "$d1$d2" = 200200 ] && [ "$(body d1)" = "$(body d2)" ] && [ "$(pv d1 'd["base_seq"]')" = "$S0" ] &&
	[ "$(pv d2 'd["seq"]')" = "$S1" ] && [ "$(pv d2 'd["host_id"]')" = h-a2 ] &&
	pv d1 'json.dumps(d["upserts"])' | grep -qF -e "key/$ONEKEY" &&
	grep -F -e "delta for host h-a2: seq $S0 to $S1," "$LOG" | tail -n 1 | grep -qF 'slice cached (no lock)'; then
	ok "both wa hosts get the same delta $S0 -> $S1 (the revoked key), the second from the cache, each its own host_id"
else
	not_ok "both wa hosts get the same delta ($d1 $d2)"
	grep -F "delta for host" "$LOG" | tail -n 3 | while read -r l; do diag "$l"; done
fi
cb=$(get "$CB" "/v1/agent/delta?since=$S0" db)
if [ "$cb" = 200 ] && ! pv db 'json.dumps(d["upserts"]) + json.dumps(d["accounts"])' | grep -qF -e "$ONEKEY"; then
	ok "h-b's delta over the same seqs: nothing of svc-one"
else
	not_ok "h-b's delta over the same seqs ($cb)"
fi

# A fetch served from the cache without the lock is recorded a little later
# (in batches, within 200 ms): the host's snapshot_seq on the hub.
a2seq() { $H1 host show h-a2 2>/dev/null | grep -qx "snapshot_seq: $S1"; }
if wait_for 10 a2seq; then
	ok "h-a2's cached delta is recorded on the hub (host show: snapshot_seq $S1)"
else
	not_ok "h-a2's cached delta is recorded on the hub ($($H1 host show h-a2 2>&1 | grep snapshot_seq))"
fi

# ---- a change of one host's own record: a 409 for it only ------------------------------
expect_exit 0 $H1 host update h-a2 --workspace wa || true
d1=$(get "$CA1" "/v1/agent/delta?since=$S1" e1)
d2=$(get "$CA2" "/v1/agent/delta?since=$S1" e2)
if [ "$d1" = 200 ] && [ "$d2" = 409 ] && grep -qF -e "host's record changed" "$TMPD/e2.env"; then
	ok "h-a2's own record changed: its delta is a 409 (full snapshot), h-a1's from the same slice is not"
else
	not_ok "h-a2's own record changed: 409 for it only ($d1 $d2: $(head -c 200 "$TMPD/e2.env"))"
fi
c2=$(get "$CA2" /v1/agent/snapshot a2new)
[ "$c2" = 200 ] && [ "$(pv a2new 'd["seq"]')" -gt "$S1" ] && [ "$(pv a2new 'd["host_id"]')" = h-a2 ] &&
	ok "h-a2 then takes the full snapshot (seq $(pv a2new 'd["seq"]'))" ||
	not_ok "h-a2 then takes the full snapshot ($c2)"

