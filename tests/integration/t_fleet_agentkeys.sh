#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# API keys, token exchange and session tokens on an agent (issue 17 item
# 3): a throwaway PostgreSQL, one hub on https_listen, an agent enrolled in
# workspace wa.  The first PAM key login on the agent is checked by the hub
# (POST /v1/agent/keycheck: audited there with the host), the agent keeps a
# verifier (agent_verifier.key 0600) and the hub's session token for the
# login's session_open (it verifies on the hub); a wrong secret for that
# key id is refused offline; a key of an account outside the host's slice
# gets the same answer as an unknown key (from the agent and from the hub
# endpoint itself); token create on the agent is exchanged at the hub.
# With the hub stopped: the known key still logs in (no token: "offline"),
# a first-use key gets status 5, token create exits 5 naming the hub; after
# an agent restart the verifier still works.  Hub back: key revoke there
# -> refused on the agent within 2 s though a verifier exists; jwks on the
# agent is the hub's; wrong secrets for a key with no verifier stop going
# to the hub once the lockout engages.  (PAM logins go through the protocol: proto_client
# call PAM_AUTH, exactly what pam_svcacct sends.)
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/lib_pg.sh"
. "$TESTS_DIR/http/http_lib.sh"
. "$TESTS_DIR/cred_lib.sh"

command -v openssl >/dev/null || bail "openssl is needed (make deps)"
command -v curl >/dev/null || bail "curl is needed (make deps)"

hub1_https_up

setup_ok=1
for c in "team create ta" "team create tb" "workspace create wa --team ta" \
	"workspace create wb --team tb" "account create svc-alpha" "account create svc-out" \
	"grant add svc-alpha --workspace wa --role editor" \
	"grant add svc-out --workspace wb --role editor"; do
	# shellcheck disable=SC2086
	expect_exit 0 $H1 $c || setup_ok=0
done
CTL=$H1 key_create svc-alpha && KA=$KEY && KAID=$KEYID || setup_ok=0
CTL=$H1 key_create svc-alpha && KA2=$KEY || setup_ok=0
CTL=$H1 key_create svc-out && KO=$KEY || setup_ok=0
[ $setup_ok = 1 ] && ok "hub: svc-alpha (wa) with two keys, svc-out (wb) with one" || bail "the directory"

one_agent_init "$TMPD/agent" agent-k \
	"http_socket = \"$TMPD/agent/http.sock\";" "hubs = [ \"$U1\" ];" "hub_ca = \"$PKI/ca.crt\";" "refresh_interval = 5;" "max_staleness = 3600;"
one_agent_start
expect_exit 0 $H1 host token create --workspace wa && TOK=$(tail -n 1 <<<"$OUT")
expect_exit 0 $ACTL host enroll "$TOK" || bail "the agent enrolls"
nss_has() { grep -rqaF -e "$1" "$AG/nss"; }
wait_for 15 nss_has svc-alpha >/dev/null 2>&1 || bail "the agent's first snapshot"
ok "the agent enrolls in wa and applies its first snapshot"

hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
# pam.auth with an API key, as pam_svcacct sends it -> OUT, RC, REASON
pam_key() { # ACCOUNT KEY
	OUT=$("$PY" "$TESTS_DIR/proto_client.py" "$AG/svcacctd.sock" call PAM_AUTH "F_NAME=$1" \
		F_SERVICE=sshd "F_KEY=b:$(hex "$2")" 2>&1)
	RC=$?
	REASON=$(json_py '[v for t, v in d["fields"] if t == "F_REASON"][0]' <<<"$OUT" 2>/dev/null)
}
# pam.session_open -> OUT, RC, STOK (the token, "" without)
session_open() { # ACCOUNT
	OUT=$("$PY" "$TESTS_DIR/proto_client.py" "$AG/svcacctd.sock" call PAM_SESSION_OPEN \
		"F_NAME=$1" F_SERVICE=sshd F_PID=u:4242 2>&1)
	RC=$?
	STOK=$(json_py 'bytes.fromhex(([v for t, v in d["fields"] if t == "F_TOKEN"] or [""])[0]).decode()' <<<"$OUT" 2>/dev/null)
}
hub_keychecks() { # -> JSON list of agent.keycheck events on the hub
	$H1 --json audit list --event agent.keycheck </dev/null 2>/dev/null
}
nchecks() { hub_keychecks | json_py 'len(d)'; }

# ---- the first use of a key: checked by the hub -----------------------------------------
pam_key svc-alpha "$KA"
VK=$AG/state/agent_verifier.key
if [ "$RC" = 0 ] && [ "$(stat -c '%a %s %u' "$VK" 2>/dev/null)" = "600 32 0" ]; then
	ok "first key login on the agent: forwarded to the hub, accepted; agent_verifier.key is 0600, 32 bytes, root"
else
	not_ok "first key login on the agent: forwarded to the hub, accepted (status $RC)"
	diag "$OUT"
	ls -l "$AG/state" | diag
	diag_file "$AG/daemon.log" 10
fi
EV=$(hub_keychecks | json_py '"%s %s %s" % (d[-1]["outcome"], d[-1]["detail"], d[-1]["subject"]["key_id"])' 2>/dev/null)
if [ "$EV" = "success host=agent-k $KAID" ]; then
	ok "the hub's audit: agent.keycheck success, host=agent-k, the key id"
else
	not_ok "the hub's audit: agent.keycheck success, host=agent-k, the key id"
	diag "$EV"
fi
if grep -qF -e "${KA:18}" "$AG/daemon.log" "${HUB_LOG[1]}" "$AG/state"/* 2>/dev/null; then
	not_ok "the key's secret is in no log and no agent state file"
else
	ok "the key's secret is in no log and no agent state file"
fi
session_open svc-alpha
if [ "$RC" = 0 ] && [[ $STOK =~ $JWT_RE ]] && expect_exit 0 $H1 --json token verify "$STOK" &&
	[ "$(json_py 'd["sub"]' <<<"$OUT")" = svc-alpha ]; then
	ok "session_open after the forwarded login: the hub's session token, it verifies on the hub"
else
	not_ok "session_open after the forwarded login: the hub's session token"
	diag "$OUT $ERR"
fi

# ---- offline: the verifier --------------------------------------------------------------
N0=$(nchecks)
pam_key svc-alpha "$KA"
RC_OK=$RC
session_open svc-alpha
if [ "$RC_OK" = 0 ] && [ "$(nchecks)" = "$N0" ] && [ "$RC" = 0 ] && [ -z "$STOK" ] &&
	grep -qF '"offline"' <<<"$OUT"; then
	ok "second login: checked offline (no hub call); its session_open has no token (reason offline)"
else
	not_ok "second login: checked offline; session_open has no token (reason offline)"
	diag "rc=$RC_OK checks $N0 -> $(nchecks) $OUT"
fi
WRONG=$(make_key "$KAID")
pam_key svc-alpha "$WRONG"
if [ "$RC" = 1 ] && [ "$REASON" = bad_secret ] && [ "$(nchecks)" = "$N0" ]; then
	ok "a wrong secret for a known key id: refused offline (bad_secret), not sent to the hub"
else
	not_ok "a wrong secret for a known key id: refused offline (status $RC, $REASON)"
	diag "$OUT"
fi

# ---- outside the slice = unknown ------------------------------------------------------------
pam_key svc-alpha "$KO"
R_OUT="$RC $REASON $(json_py '[v for t, v in d["fields"] if t == "F_MESSAGE"]' <<<"$OUT")"
pam_key svc-alpha "$(make_key)"
R_UNK="$RC $REASON $(json_py '[v for t, v in d["fields"] if t == "F_MESSAGE"]' <<<"$OUT")"
CRED=$(cat "$AG/state/host.credential")
kc() { curl -s --cacert "$PKI/ca.crt" -m 10 -H "Authorization: Bearer $CRED" \
	-H 'Content-Type: application/json' -d "{\"key\":\"$1\"}" -w ' %{http_code}' "$U1/v1/agent/keycheck"; }
C_OUT=$(kc "$KO")
C_UNK=$(kc "$(make_key)")
if [ "$R_OUT" = "$R_UNK" ] && [[ $R_OUT == "1 invalid_key "* ]] && [ "$C_OUT" = "$C_UNK" ] &&
	[[ $C_OUT == *" 401" ]]; then
	ok "a key of an account outside the host's slice: the same refusal as an unknown key (agent: $R_OUT; hub: 401)"
else
	not_ok "a key outside the slice: the same refusal as an unknown key"
	diag "agent: [$R_OUT] vs [$R_UNK]; hub: [$C_OUT] vs [$C_UNK]"
fi
if [ "$(curl -s --cacert "$PKI/ca.crt" -m 10 -d '{"key":"x"}' -o /dev/null -w '%{http_code}' "$U1/v1/agent/keycheck")" = 401 ] &&
	[ "$(curl -s --cacert "$PKI/ca.crt" -m 10 -H "Authorization: Bearer $CRED" -d 'nope' -o /dev/null -w '%{http_code}' "$U1/v1/agent/keycheck")" = 400 ]; then
	ok "POST /v1/agent/keycheck: 401 without the host credential, 400 for a body that is not {\"key\"}"
else
	not_ok "POST /v1/agent/keycheck: 401 without the host credential, 400 for a bad body"
fi

# ---- token exchange on the agent ------------------------------------------------------------
put_secret "$TMPD/ka.key" "$KA"
if expect_exit 0 $ACTL token create --key-file "$TMPD/ka.key" && XT=$(tail -n 1 <<<"$OUT") &&
	[[ $XT =~ $JWT_RE ]] && expect_exit 0 $H1 --json token verify "$XT" &&
	[ "$(json_py 'd["sub"]' <<<"$OUT")" = svc-alpha ]; then
	ok "token create on the agent: exchanged at the hub, the token verifies there"
else
	not_ok "token create on the agent: exchanged at the hub"
	diag "$OUT $ERR"
fi
JW_HUB=$($H1 jwks 2>/dev/null | json_py 'sorted(k["kid"] for k in d["keys"])')
if [ -n "$JW_HUB" ] && [ "$($ACTL jwks 2>/dev/null | json_py 'sorted(k["kid"] for k in d["keys"])')" = "$JW_HUB" ]; then
	ok "jwks on the agent: the hub's keys (the snapshot's JWKS)"
else
	not_ok "jwks on the agent: the hub's keys"
	diag "hub $JW_HUB agent $($ACTL jwks 2>&1)"
fi
AH() { curl -s -m 10 --unix-socket "$AG/http.sock" "$@"; }
J_HTTP=$(AH http://localhost/.well-known/jwks.json | json_py 'sorted(k["kid"] for k in d["keys"])')
X_HTTP=$(AH -H "x-api-key: $KA" -X POST -w ' %{http_code}' http://localhost/service-account-tokens)
if [ "$J_HTTP" = "$JW_HUB" ] && [[ $X_HTTP == *"needs a hub"*" 503" ]] && ! grep -qF -e "${KA:18}" <<<"$X_HTTP"; then
	ok "the agent's HTTP front: the snapshot's JWKS; an exchange there is 503 \"needs a hub\" (the front cannot wait for one)"
else
	not_ok "the agent's HTTP front: JWKS and exchange"
	diag "[$J_HTTP] [$X_HTTP]"
fi

# ---- the hub away ---------------------------------------------------------------------------
hub_stop 1
pam_key svc-alpha "$KA"
if [ "$RC" = 0 ]; then
	ok "hub stopped: the known key still logs in on the agent (verifier)"
else
	not_ok "hub stopped: the known key still logs in on the agent (status $RC)"
	diag "$OUT"
fi
t0=$(now)
pam_key svc-alpha "$KA2"
dt=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}')
if [ "$RC" = 5 ] && grep -qF "no hub reachable to check this key (first use on this host" <<<"$OUT" &&
	awk -v d="$dt" 'BEGIN{exit !(d < 4.5)}'; then
	ok "hub stopped: a key never used here gets status 5 (PAM_AUTHINFO_UNAVAIL), no hub reachable (${dt}s)"
else
	not_ok "hub stopped: a key never used here gets status 5 (status $RC, ${dt}s)"
	diag "$OUT"
fi
if expect_exit 5 $ACTL token create --key-file "$TMPD/ka.key" &&
	grep -qF "no hub reachable: token exchange needs a hub (tried $U1)" <<<"$ERR"; then
	ok "hub stopped: token create on the agent exits 5, naming the hub tried"
else
	not_ok "hub stopped: token create on the agent exits 5"
	diag "$OUT $ERR"
fi
one_agent_stop
one_agent_start
pam_key svc-alpha "$KA"
if [ "$RC" = 0 ]; then
	ok "agent restarted (hub still down): the verifier survives, the key logs in"
else
	not_ok "agent restarted: the verifier survives (status $RC)"
	diag "$OUT"
fi

# ---- the hub back: revocation reaches the agent ---------------------------------------------
hub_start 1 || bail "hub 1 starts again"
synced() { $ACTL --json fleet status 2>/dev/null | json_py 'd["hubs"][0]["reachable"] and not d["stale"]' | grep -qx true; }
wait_for 30 synced >/dev/null 2>&1 || not_ok "the agent reaches the hub again within 30 s"
sleep 2 # the agent's long poll is in place again
t0=$(now)
expect_exit 0 $H1 key revoke svc-alpha "$KAID" </dev/null || not_ok "key revoke on the hub"
gone=0
for _ in $(seq 1 100); do
	pam_key svc-alpha "$KA"
	[ "$RC" != 0 ] && { gone=1; break; }
	sleep 0.05
done
dt=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.3f", b-a}')
if [ $gone = 1 ] && [ "$REASON" = key_revoked ] && awk -v d="$dt" 'BEGIN{exit !(d < 2.0)}'; then
	ok "key revoke on the hub: refused on the agent within 2 s (${dt}s), though a verifier exists"
else
	not_ok "key revoke on the hub: refused on the agent within 2 s (${dt}s, $REASON)"
	diag "$OUT"
fi

# ---- wrong secrets for a key the agent has no verifier for: the lockout stops the asking ----
CTL=$H1 key_create svc-alpha && KCID=$KEYID || not_ok "a third key on the hub"
sleep 2 # the snapshot with the new key
N0=$(nchecks)
SEQ=""
for _ in 1 2 3 4 5 6 7; do
	pam_key svc-alpha "$(make_key "$KCID")"
	SEQ="$SEQ $REASON"
done
N1=$(nchecks)
if [[ $SEQ == *" locked_out locked_out" ]] && [ $((N1 - N0)) -le 5 ]; then
	ok "wrong secrets for a key with no verifier: the lockout engages and later attempts stay on the agent ($((N1 - N0)) hub checks for 7 attempts:$SEQ)"
else
	not_ok "wrong secrets for a key with no verifier: lockout ($((N1 - N0)) hub checks:$SEQ)"
fi

one_agent_stop
