#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# SSH certificates in a fleet (issue 18, DESIGN.md sections 9 and 10): the
# hubs sign, agents check.  A throwaway PostgreSQL, two hubs sharing the
# organization's secrets, one agent enrolled in workspace wa.
# - both hubs sign with the same CA; the agent writes the same CA keys file
#   (TrustedUserCAKeys) from its snapshot, and no CA secret;
# - the agent's principals check (SSH_PRINCIPALS, local state only) accepts
#   the hub's certificate, and still does with both hubs stopped;
# - a revocation on a hub reaches the agent's KRL (ssh-keygen -Q) and its
#   check within 2 s; a CA rotation on one hub reaches the other hub and
#   the agent's CA file;
# - ssh sign on the agent is forwarded to a hub (or refused with exit 5
#   naming the hubs when none answers).
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/lib_pg.sh"

command -v openssl >/dev/null || bail "openssl is needed (make deps)"
command -v ssh-keygen >/dev/null || bail "ssh-keygen is needed (make deps)"

hub1_https_up
P2=$(free_port)
hub_init 2 "https_listen = \"127.0.0.1:$P2\";" "tls_cert = \"$PKI/hub.crt\";" \
	"tls_key = \"$PKI/hub.key\";" "host_id = \"hub2\";"
hub_join 2 || bail "hub 2 gets the organization's secrets"
hub_start 2 || bail "hub 2 starts"
H2="$SVCACCTCTL -s ${HUB_SOCK[2]}"

setup_ok=1
for c in "team create ta" "workspace create wa --team ta" "account create svc-ssh" \
	"grant add svc-ssh --workspace wa --role editor"; do
	# shellcheck disable=SC2086
	expect_exit 0 $H1 $c || setup_ok=0
done
expect_exit 0 $H1 key create svc-ssh && KEY=$(tail -n 1 <<<"$OUT") || setup_ok=0
[ $setup_ok = 1 ] && ok "hub: svc-ssh, an editor in wa, with an API key" || bail "the directory"
(umask 077 && printf '%s\n' "$KEY" >"$TMPD/svc-ssh.key")
ssh-keygen -q -t ed25519 -N '' -C svc-ssh -f "$TMPD/id_a" </dev/null || bail "ssh-keygen"
cp "$TMPD/id_a.pub" "$TMPD/id_b.pub"

# ---- both hubs sign with one CA ------------------------------------------------------
if expect_exit 0 $H1 ssh ca; then CA1=$OUT; else CA1=""; fi
if expect_exit 0 $H2 ssh ca; then CA2=$OUT; else CA2=""; fi
if [ -n "$CA1" ] && [ "$CA1" = "$CA2" ]; then
	ok "ssh ca: both hubs publish the same CA keys ($(wc -l <<<"$CA1") lines)"
else
	not_ok "ssh ca: both hubs publish the same CA keys"
	diag "hub1: $CA1" "hub2: $CA2"
fi
signed_by_ca() { # CERT: its signing CA's fingerprint is one of `ssh ca`'s keys
	local fp
	fp=$(ssh-keygen -L -f "$1" 2>/dev/null | sed -n 's/^ *Signing CA: [^ ]* \(SHA256:[^ ]*\).*/\1/p')
	[ -n "$fp" ] && ssh-keygen -l -f <(printf '%s\n' "$CA1") 2>/dev/null | grep -qF -e "$fp"
}
expect_exit 0 $H1 --json ssh sign "$TMPD/id_a.pub" --key-file "$TMPD/svc-ssh.key"
SERIAL_A=$(json_py 'd["serial"]' <<<"$OUT" 2>/dev/null)
KEYID_A=$(json_py 'd["key_id"]' <<<"$OUT" 2>/dev/null)
expect_exit 0 $H2 --json ssh sign "$TMPD/id_b.pub" --key-file "$TMPD/svc-ssh.key"
SERIAL_B=$(json_py 'd["serial"]' <<<"$OUT" 2>/dev/null)
KEYID_B=$(json_py 'd["key_id"]' <<<"$OUT" 2>/dev/null)
if [ -s "$TMPD/id_a-cert.pub" ] && [ -s "$TMPD/id_b-cert.pub" ] && signed_by_ca "$TMPD/id_a-cert.pub" &&
	signed_by_ca "$TMPD/id_b-cert.pub" && [ -n "$SERIAL_A" ] && [ -n "$SERIAL_B" ] &&
	[ "$SERIAL_A" != "$SERIAL_B" ]; then
	ok "hub 1 and hub 2 sign with the organization's CA, serials $SERIAL_A and $SERIAL_B (unique)"
else
	not_ok "hub 1 and hub 2 sign with the organization's CA, unique serials"
	diag "serials '$SERIAL_A' '$SERIAL_B'" "$OUT $ERR"
fi

# ---- the agent -----------------------------------------------------------------------
one_agent_init "$TMPD/agent" agent-s "hubs = [ \"$U1\", \"https://127.0.0.1:$P2\" ];" \
	"hub_ca = \"$PKI/ca.crt\";" "refresh_interval = 5;" "max_staleness = 3600;" \
	'services = { login = [ "sshd" ]; };'
one_agent_start
expect_exit 0 $H1 host token create --workspace wa && TOK=$(tail -n 1 <<<"$OUT")
expect_exit 0 $ACTL host enroll "$TOK" || bail "the agent enrolls"
AGCA=$AG/state/ssh_ca.pub
AGKRL=$AG/state/ssh_revoked.krl
ca_file_is() { [ -f "$AGCA" ] && [ "$(cat "$AGCA")" = "$1" ]; }
if wait_for 20 ca_file_is "$CA1"; then
	ok "agent: its CA keys file (TrustedUserCAKeys) is the hubs' ssh ca, from the snapshot"
else
	not_ok "agent: its CA keys file (TrustedUserCAKeys) is the hubs' ssh ca"
	diag "$(cat "$AGCA" 2>&1)"
fi
if ! ls "$AG/state" | grep -q 'ssh_ca.key'; then
	ok "agent: no CA secret in its state dir"
else
	not_ok "agent: no CA secret in its state dir"
	diag "$(ls -l "$AG/state")"
fi

# principals USER KEYID SERIAL CERT: the question svcacct-principals asks, on the agent
principals() {
	local cafp
	cafp=$(ssh-keygen -L -f "$4" 2>/dev/null | sed -n 's/^ *Signing CA: [^ ]* \(SHA256:[^ ]*\).*/\1/p')
	OUT=$("$PY" "$TESTS_DIR/proto_client.py" "$AG/svcacctd.sock" call SSH_PRINCIPALS \
		F_NAME="$1" F_KEY_ID="$2" "F_SERIAL=u:$3" F_CA_FINGERPRINT="$cafp" 2>&1)
	json_py '[v for t, v in d["fields"] if t == "F_ALLOWED"][0]' <<<"$OUT" 2>/dev/null
}
if [ "$(principals svc-ssh "$KEYID_A" "$SERIAL_A" "$TMPD/id_a-cert.pub")" = 1 ]; then
	ok "agent: the principals check accepts hub 1's certificate for svc-ssh"
else
	not_ok "agent: the principals check accepts hub 1's certificate for svc-ssh"
	diag "$OUT"
fi
if [ "$(principals svc-other "$KEYID_A" "$SERIAL_A" "$TMPD/id_a-cert.pub")" != 1 ]; then
	ok "agent: the same certificate for another user is refused"
else
	not_ok "agent: the same certificate for another user is refused"
fi

# ---- revocation on a hub reaches the agent ---------------------------------------------
krl_revokes() { # CERT
	[ -f "$AGKRL" ] && ssh-keygen -Q -f "$AGKRL" "$1" 2>&1 | grep -q REVOKED
}
if ! krl_revokes "$TMPD/id_a-cert.pub"; then
	ok "agent: its KRL does not revoke the certificate yet"
else
	not_ok "agent: its KRL does not revoke the certificate yet"
fi
t0=$(now)
expect_exit 0 $H2 ssh revoke "$SERIAL_A" || diag "ssh revoke: $OUT $ERR"
if wait_for 10 krl_revokes "$TMPD/id_a-cert.pub"; then
	dt=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
	if awk -v d="$dt" 'BEGIN { exit !(d < 2.0) }'; then
		ok "agent: hub 2's revocation is in the agent's KRL after $dt s (< 2 s)"
	else
		not_ok "agent: hub 2's revocation is in the agent's KRL within 2 s (took $dt s)"
	fi
else
	not_ok "agent: hub 2's revocation reaches the agent's KRL"
	diag "$(ssh-keygen -Q -f "$AGKRL" "$TMPD/id_a-cert.pub" 2>&1)"
fi
if [ "$(principals svc-ssh "$KEYID_A" "$SERIAL_A" "$TMPD/id_a-cert.pub")" = 0 ] &&
	[ "$(principals svc-ssh "$KEYID_B" "$SERIAL_B" "$TMPD/id_b-cert.pub")" = 1 ]; then
	ok "agent: the revoked serial is refused by the principals check, the other still accepted"
else
	not_ok "agent: the revoked serial is refused by the principals check, the other still accepted"
	diag "$OUT"
fi

# ---- signing through the agent ----------------------------------------------------------
cp "$TMPD/id_a.pub" "$TMPD/id_c.pub"
if expect_exit 0 $ACTL --json ssh sign "$TMPD/id_c.pub" --key-file "$TMPD/svc-ssh.key" &&
	signed_by_ca "$TMPD/id_c-cert.pub"; then
	SERIAL_C=$(json_py 'd["serial"]' <<<"$OUT" 2>/dev/null)
	KEYID_C=$(json_py 'd["key_id"]' <<<"$OUT" 2>/dev/null)
	ok "agent: ssh sign is forwarded to a hub (serial $SERIAL_C)"
	if expect_exit 0 $H1 --json ssh list --account svc-ssh && grep -q "\"serial\": *$SERIAL_C\b" <<<"$OUT"; then
		ok "hub: ssh list shows the certificate signed through the agent"
	else
		not_ok "hub: ssh list shows the certificate signed through the agent"
		diag "$OUT"
	fi
else
	not_ok "agent: ssh sign is forwarded to a hub"
	diag "$OUT $ERR"
	SERIAL_C="" KEYID_C=""
fi

# ---- CA rotation on one hub -------------------------------------------------------------
if expect_exit 0 $H2 ssh ca-rotate; then
	expect_exit 0 $H2 ssh ca && CA_NEW=$OUT
	if wait_for 10 ca_file_is "$CA_NEW" && expect_exit 0 $H1 ssh ca && [ "$OUT" = "$CA_NEW" ]; then
		ok "ssh ca-rotate on hub 2: hub 1 and the agent's CA file follow"
	else
		not_ok "ssh ca-rotate on hub 2: hub 1 and the agent's CA file follow"
		diag "hub2: $CA_NEW" "hub1: $OUT" "agent: $(cat "$AGCA")"
	fi
	cp "$TMPD/id_a.pub" "$TMPD/id_d.pub"
	expect_exit 0 $H1 --json ssh sign "$TMPD/id_d.pub" --key-file "$TMPD/svc-ssh.key"
	SERIAL_D=$(json_py 'd["serial"]' <<<"$OUT" 2>/dev/null)
	KEYID_D=$(json_py 'd["key_id"]' <<<"$OUT" 2>/dev/null)
	if [ -n "$SERIAL_D" ] && [ "$(principals svc-ssh "$KEYID_D" "$SERIAL_D" "$TMPD/id_d-cert.pub")" = 1 ] &&
		[ "$(principals svc-ssh "$KEYID_B" "$SERIAL_B" "$TMPD/id_b-cert.pub")" = 1 ]; then
		ok "after the rotation: the new key's and the old key's certificates are both accepted on the agent"
	else
		not_ok "after the rotation: the new key's and the old key's certificates are both accepted on the agent"
		diag "$OUT"
	fi
else
	not_ok "ssh ca-rotate on hub 2"
	diag "$OUT $ERR"
fi

# ---- hubs down: local state only ----------------------------------------------------------
hub_stop 2
hub_stop 1
if [ "$(principals svc-ssh "$KEYID_B" "$SERIAL_B" "$TMPD/id_b-cert.pub")" = 1 ] &&
	[ "$(principals svc-ssh "$KEYID_A" "$SERIAL_A" "$TMPD/id_a-cert.pub")" = 0 ]; then
	ok "hubs stopped: the agent's principals check still answers from its snapshot"
else
	not_ok "hubs stopped: the agent's principals check still answers from its snapshot"
	diag "$OUT"
fi
cp "$TMPD/id_a.pub" "$TMPD/id_e.pub"
if expect_exit 5 $ACTL ssh sign "$TMPD/id_e.pub" --key-file "$TMPD/svc-ssh.key" && [ ! -e "$TMPD/id_e-cert.pub" ]; then
	ok "hubs stopped: ssh sign on the agent exits 5, nothing written ($(head -n 1 <<<"$ERR"))"
else
	not_ok "hubs stopped: ssh sign on the agent exits 5, nothing written"
	diag "rc=$RC $OUT $ERR"
fi
one_agent_stop
if ! grep -qE "$_SVCA_SAN_RE" "$AG/daemon.log"; then
	ok "agent: no sanitizer report"
else
	not_ok "agent: no sanitizer report"
	diag_file "$AG/daemon.log" 30
fi
exit "$(failures)"
