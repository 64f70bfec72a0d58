#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The SSH CA in the fleet (DESIGN.md section 10): two hubs on one database
# sign with the same CA (sealed in the store) and distinct serials; a CA
# rotation on hub 1 is hub 2's at once; svcacctctl --hub and POST /ssh/sign
# on the hub's HTTPS API sign; an agent writes the CA file and the KRL from
# its snapshot (a revocation on a hub reaches its KRL within 2 s), and
# svcacct-principals there answers from local state, also with the hubs
# stopped; ssh sign on the
# agent is signed by a hub (API key or token), exit 5 with the hubs down.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/lib_pg.sh"
. "$TESTS_DIR/http/http_lib.sh"
. "$TESTS_DIR/cred_lib.sh"

command -v ssh-keygen >/dev/null || { echo "ok - # SKIP ssh-keygen missing"; exit 0; }
command -v openssl >/dev/null || bail "openssl is needed (make deps)"
command -v curl >/dev/null || bail "curl is needed (make deps)"

CONF_LINES=('rate_limit_count = 10000;')
hub1_https_up "${CONF_LINES[@]}"
hub_init 2 "${CONF_LINES[@]}"
hub_join 2 || bail "hub 2 gets hub 1's pepper and audit.key"
hub_start 2 || bail "hub 2 starts"
H2="$SVCACCTCTL -s ${HUB_SOCK[2]}"

setup_ok=1
for c in "team create ta" "workspace create wa --team ta" "account create svc" \
	"account create nogrant" "grant add svc --workspace wa --role editor"; do
	# shellcheck disable=SC2086
	expect_exit 0 $H1 $c || setup_ok=0
done
CTL=$H1 key_create svc && K=$KEY && KID=$KEYID || setup_ok=0
[ $setup_ok = 1 ] && ok "hub: svc (editor in wa) with a key" || bail "the directory"
put_secret "$TMPD/k.key" "$K"
ssh-keygen -q -t ed25519 -N '' -f "$TMPD/id" || bail "ssh-keygen"
signer() { ssh-keygen -L -f "$1" | sed -n 's/.*Signing CA: ED25519 \(SHA256:[^ ]*\).*/\1/p'; }
serial() { ssh-keygen -L -f "$1" | sed -n 's/^ *Serial: //p'; }

# ==============================================================================
diag "two hubs, one CA"

if expect_exit 0 $H1 ssh ca && A=$OUT && expect_exit 0 $H2 ssh ca && [ "$A" = "$OUT" ] &&
	[ "$(wc -l <<<"$A")" = 2 ]; then
	ok "ssh ca: the same current and next key on both hubs"
else
	not_ok "ssh ca differs: hub 1 $A / hub 2 $OUT"
fi
[ "$(cat "${HUB_STATE[1]}/ssh_ca.pub")" = "$(cat "${HUB_STATE[2]}/ssh_ca.pub")" ] &&
	ok "both hubs write the same ssh_ca.pub" || not_ok "ssh_ca.pub differs"
[ ! -e "${HUB_STATE[1]}/ssh_ca.key" ] && ok "a hub keeps no CA key file (sealed in the database)" ||
	not_ok "a hub wrote ssh_ca.key"
check -d "sign on hub 1" $H1 ssh sign "$TMPD/id.pub" --key-file "$TMPD/k.key" --out "$TMPD/c1"
check -d "sign on hub 2" $H2 ssh sign "$TMPD/id.pub" --key-file "$TMPD/k.key" --out "$TMPD/c2"
if [ -n "$(signer "$TMPD/c1")" ] && [ "$(signer "$TMPD/c1")" = "$(signer "$TMPD/c2")" ] &&
	[ "$(serial "$TMPD/c1")" != "$(serial "$TMPD/c2")" ]; then
	ok "the same signing CA, distinct serials ($(serial "$TMPD/c1"), $(serial "$TMPD/c2"))"
else
	not_ok "signer $(signer "$TMPD/c1") / $(signer "$TMPD/c2"), serials $(serial "$TMPD/c1") / $(serial "$TMPD/c2")"
fi
OLD=$(signer "$TMPD/c1")
NEXT=$(grep ' svcacct-ca-next$' "${HUB_STATE[1]}/ssh_ca.pub" | ssh-keygen -l -f - | awk '{print $2}')
check -d "ssh ca-rotate on hub 1" $H1 ssh ca-rotate
check -d "sign on hub 2 after the rotation" $H2 ssh sign "$TMPD/id.pub" --key-file "$TMPD/k.key" --out "$TMPD/c3"
[ "$(signer "$TMPD/c3")" = "$NEXT" ] && [ "$NEXT" != "$OLD" ] &&
	ok "hub 2 signs with the former next key at once" || not_ok "hub 2 signer $(signer "$TMPD/c3"), want $NEXT"
wait_for 10 sh -c "[ \"\$(cat '${HUB_STATE[1]}/ssh_ca.pub')\" = \"\$(cat '${HUB_STATE[2]}/ssh_ca.pub')\" ] && [ \$(wc -l <'${HUB_STATE[2]}/ssh_ca.pub') = 3 ]" &&
	ok "hub 2's ssh_ca.pub follows the rotation (3 keys)" || not_ok "hub 2 ssh_ca.pub: $(cat "${HUB_STATE[2]}/ssh_ca.pub")"

# ==============================================================================
diag "the hub's HTTPS API"

if SVCACCT_API_KEY=$K expect_exit 0 $SVCACCTCTL --hub "$U1" --ca "$PKI/ca.crt" ssh sign "$TMPD/id.pub" --out "$TMPD/c4" &&
	[ "$(signer "$TMPD/c4")" = "$NEXT" ]; then
	ok "svcacctctl --hub URL ssh sign with the API key"
else
	not_ok "--hub ssh sign (rc $RC, $ERR)"
fi
body=$("$PY" -c 'import json,sys; print(json.dumps({"public_key": open(sys.argv[1]).read().strip()}))' "$TMPD/id.pub")
code=$(curl -s -o "$TMPD/h.json" -w '%{http_code}' --cacert "$PKI/ca.crt" -H "x-api-key: $K" \
	--data "$body" "$U1/ssh/sign")
[ "$code" = 200 ] && [[ $(json_eval 'd["key_id"]' <"$TMPD/h.json") == "sa:svc key:$KID jti:"* ]] &&
	ok "POST /ssh/sign on the hub's HTTPS API" || not_ok "HTTPS /ssh/sign: $code $(cat "$TMPD/h.json")"
CTL=$H1 key_create nogrant && put_secret "$TMPD/n.key" "$KEY"
code=$(curl -s -o "$TMPD/h2.json" -w '%{http_code}' --cacert "$PKI/ca.crt" -H "x-api-key: $KEY" \
	--data "$body" "$U1/ssh/sign")
[ "$code" = 403 ] && ok "an account with no grant: 403" || not_ok "no grant: $code $(cat "$TMPD/h2.json")"

# ==============================================================================
diag "an agent: the CA file and the KRL from its snapshot"

one_agent_init "$TMPD/agent" agent-s "hubs = [ \"$U1\" ];" "hub_ca = \"$PKI/ca.crt\";" \
	"refresh_interval = 5;" "max_staleness = 3600;"
one_agent_start
expect_exit 0 $H1 host token create --workspace wa && TOK=$(tail -n 1 <<<"$OUT")
expect_exit 0 $ACTL host enroll "$TOK" || bail "the agent enrolls"
same_ca() { [ "$(cat "$AG/state/ssh_ca.pub" 2>/dev/null)" = "$(cat "${HUB_STATE[1]}/ssh_ca.pub")" ]; }
wait_for 20 same_ca && ok "the agent writes the hubs' CA keys to its ssh_ca.pub" ||
	not_ok "agent ssh_ca.pub: $(cat "$AG/state/ssh_ca.pub" 2>&1)"
[ "$($ACTL ssh ca 2>&1)" = "$(cat "${HUB_STATE[1]}/ssh_ca.pub")" ] && ok "ssh ca on the agent" ||
	not_ok "ssh ca on the agent: $($ACTL ssh ca 2>&1)"
[ "$(ssh-keygen -Q -f "$AG/state/ssh_revoked.krl" "$TMPD/c4" 2>&1 | sed 's/.*: //')" = ok ] &&
	ok "the agent's KRL does not revoke a valid certificate" || not_ok "agent KRL: $(ssh-keygen -Q -f "$AG/state/ssh_revoked.krl" "$TMPD/c4" 2>&1)"
# princ CERT: what sshd's AuthorizedPrincipalsCommand prints on the agent for user svc
princ() {
	local id fp
	id=$(ssh-keygen -L -f "$1" | sed -n 's/^ *Key ID: "\(.*\)"$/\1/p')
	fp=$(ssh-keygen -L -f "$1" | sed -n 's/^ *Signing CA: [^ ]* \(SHA256:[^ ]*\).*/\1/p')
	"$SVCACCT_BUILD/svcacct-principals" --socket "$AG/svcacctd.sock" svc "$id" "$(serial "$1")" "$fp" 2>/dev/null
}
[ "$(princ "$TMPD/c4")" = svc ] && ok "svcacct-principals on the agent accepts hub 1's certificate for svc" ||
	not_ok "svcacct-principals on the agent: '$(princ "$TMPD/c4")'"
t0=$(now)
check -d "ssh revoke on hub 2" $H2 ssh revoke "$(serial "$TMPD/c4")"
revoked_on_agent() { [ "$(ssh-keygen -Q -f "$AG/state/ssh_revoked.krl" "$TMPD/c4" 2>&1 | sed 's/.*: //')" = REVOKED ]; }
if wait_for 20 revoked_on_agent; then
	dt=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
	awk -v d="$dt" 'BEGIN { exit !(d < 2.0) }' && ok "... reaches the agent's KRL in $dt s (< 2 s)" ||
		not_ok "... reaches the agent's KRL within 2 s (took $dt s)"
else
	not_ok "agent KRL after revoke"
fi
[ -z "$(princ "$TMPD/c4")" ] && ok "... and svcacct-principals on the agent refuses it (prints nothing)" ||
	not_ok "svcacct-principals on the agent after the revocation: '$(princ "$TMPD/c4")'"
if SVCACCT_API_KEY=$K expect_exit 0 $ACTL ssh sign "$TMPD/id.pub" --out "$TMPD/c5" &&
	[ "$(signer "$TMPD/c5")" = "$NEXT" ] &&
	[[ $(ssh-keygen -L -f "$TMPD/c5" | sed -n 's/^ *Key ID: //p') == "\"sa:svc key:$KID jti:"* ]]; then
	ok "ssh sign on the agent with the API key: a hub signs (the key's id in the key id)"
else
	not_ok "ssh sign on the agent (rc $RC, $ERR)"
fi
expect_exit 0 $ACTL token create --key-file "$TMPD/k.key" && ATOK=$OUT
if SVCACCT_TOKEN=$ATOK expect_exit 0 $ACTL ssh sign "$TMPD/id.pub" --out "$TMPD/c6"; then
	ok "ssh sign on the agent with a session token"
else
	not_ok "ssh sign on the agent with a token (rc $RC, $ERR)"
fi
if expect_exit 0 $ACTL --json audit list --event ssh.issue &&
	[ "$(printf '%s' "$OUT" | json_eval 'd[-1].get("detail")')" = "issued by a hub" ]; then
	ok "the agent audits ssh.issue (issued by a hub)"
else
	not_ok "agent ssh.issue audit: $OUT"
fi
SVCACCT_API_KEY=$KEY expect_exit 1 $ACTL ssh sign "$TMPD/id.pub" --out "$TMPD/c7" &&
	[[ $ERR == *"login capability"* ]] && ok "... an account without a grant is refused through the agent" ||
	not_ok "no grant through the agent (rc $RC, $ERR)"
check_exit 2 -d "... --ttl 59 is refused on the agent (exit 2)" $ACTL ssh sign "$TMPD/id.pub" --key-file "$TMPD/k.key" --ttl 59
hub_stop 1
hub_stop 2
[ "$(princ "$TMPD/c5")" = svc ] && [ -z "$(princ "$TMPD/c4")" ] &&
	ok "hubs stopped: svcacct-principals on the agent still answers from its snapshot" ||
	not_ok "hubs stopped: principals '$(princ "$TMPD/c5")' / '$(princ "$TMPD/c4")'"
if SVCACCT_API_KEY=$K expect_exit 5 $ACTL ssh sign "$TMPD/id.pub" --out "$TMPD/c8" && [[ $ERR == *"hub"* ]]; then
	ok "no hub reachable: ssh sign on the agent exits 5 naming the hubs"
else
	not_ok "hubs down (rc $RC, $ERR)"
fi
one_agent_stop

exit "$(failures)"
