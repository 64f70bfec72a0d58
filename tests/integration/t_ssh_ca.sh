#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The SSH user CA in a standalone daemon (DESIGN.md section 10): ssh sign
# with every credential source, the certificate as ssh-keygen -L reads it,
# the CA key file and the files for sshd, --ttl bounds, the refusals (as
# token create's, plus no_login_capability), audit ssh.issue / ssh.revoke,
# ssh list, revocation (by serial, by account, implicit on account disable
# and key revoke) seen by ssh-keygen -Q in the KRL, CA rotation, a restart
# keeping CA and serials, and POST /ssh/sign on the HTTP front.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/cred_lib.sh"

command -v ssh-keygen >/dev/null || { echo "ok - # SKIP ssh-keygen missing"; exit 0; }

start_daemon 'host_workspaces = [ "farm" ];' 'rate_limit_count = 1000;' \
	"http_socket = \"$TMPD/http.sock\";" || bail "daemon starts"
CAFILE="$STATE/ssh_ca.pub" KRL="$STATE/ssh_revoked.krl"

check $CTL team create ops
check $CTL workspace create farm --team ops
for a in ci ci2 dis nog rl; do check $CTL account create "$a"; done
for a in ci ci2 dis rl; do check $CTL grant add "$a" --workspace farm --role editor; done
key_create ci || bail "key create ci"
K1=$KEY K1ID=$KEYID
key_create ci || bail "key create ci (2)"
K2=$KEY K2ID=$KEYID
put_secret "$TMPD/k1.key" "$K1"
put_secret "$TMPD/k2.key" "$K2"
ssh-keygen -q -t ed25519 -N '' -C ci -f "$TMPD/id1" || bail "ssh-keygen"
ssh-keygen -q -t ecdsa -N '' -C ci -f "$TMPD/id2" || bail "ssh-keygen ecdsa"

# field of ssh-keygen -L output: FIELD CERT
cert_field() { ssh-keygen -L -f "$2" | sed -n "s/^ *$1: *//p" | head -n 1; }
sign() { # WANT PUBKEY [ARGS...]
	local want=$1 pub=$2
	shift 2
	expect_exit "$want" $CTL ssh sign "$pub" "$@"
}
krl_says() { ssh-keygen -Q -f "$KRL" "$1" 2>&1 | sed 's/.*: //'; }

# ==============================================================================
diag "the CA: made on first start, root-only key file, public keys for sshd"

CAKEY="$STATE/ssh_ca.key"
if [ "$(stat -c '%a %U' "$CAKEY")" = "600 $(id -un)" ]; then
	ok "ssh_ca.key is mode 0600, owned by the daemon's user"
else
	not_ok "ssh_ca.key mode/owner: $(stat -c '%a %U' "$CAKEY" 2>&1)"
fi
if [ "$(stat -c %a "$CAFILE")" = 600 ] && [ "$(wc -l <"$CAFILE")" = 2 ] &&
	grep -q ' svcacct-ca-current$' "$CAFILE" && grep -q ' svcacct-ca-next$' "$CAFILE"; then
	ok "ssh_ca.pub (0600, like every file of the state dir) lists a current and a next key"
else
	not_ok "ssh_ca.pub: $(cat "$CAFILE" 2>&1)"
fi
if expect_exit 0 $CTL ssh ca && [ "$OUT" = "$(cat "$CAFILE")" ]; then
	ok "ssh ca prints the same key lines"
else
	not_ok "ssh ca: $OUT"
fi
if expect_exit 0 run_as_nobody $CTL ssh ca && [ -n "$OUT" ]; then
	ok "any user may ask ssh ca"
else
	not_ok "ssh ca as nobody: $ERR"
fi
CUR_FP=$(grep ' svcacct-ca-current$' "$CAFILE" | ssh-keygen -l -f - | awk '{print $2}')
NEXT_FP=$(grep ' svcacct-ca-next$' "$CAFILE" | ssh-keygen -l -f - | awk '{print $2}')
if expect_exit 0 $CTL --json ssh ca &&
	[ "$(printf '%s' "$OUT" | json_eval '" ".join(x["fingerprint"] + ":" + x["status"] for x in d)')" = "$CUR_FP:current $NEXT_FP:next" ]; then
	ok "ssh ca --json: fingerprints and states"
else
	not_ok "ssh ca --json: $OUT (want $CUR_FP current, $NEXT_FP next)"
fi
if [ -f "$KRL" ] && ssh-keygen -Q -f "$KRL" "$TMPD/id1.pub" >/dev/null 2>&1; then
	ok "an (empty) KRL is written at start and ssh-keygen -Q reads it"
else
	not_ok "KRL at start: $(ssh-keygen -Q -f "$KRL" "$TMPD/id1.pub" 2>&1)"
fi

# ==============================================================================
diag "ssh sign: the credential sources, the certificate's fields"

if sign 0 "$TMPD/id1.pub" --key-file "$TMPD/k1.key" && [ -f "$TMPD/id1-cert.pub" ] &&
	[[ $OUT == "wrote $TMPD/id1-cert.pub (serial "* ]]; then
	ok "ssh sign --key-file writes id1-cert.pub"
else
	not_ok "ssh sign --key-file (rc $RC, out $OUT, err $ERR)"
fi
C1="$TMPD/id1-cert.pub"
L=$(ssh-keygen -L -f "$C1" 2>&1)
S1=$(cert_field Serial "$C1")
KID1=$(cert_field "Key ID" "$C1" | tr -d '"')
if [[ $L == *"Type: ssh-ed25519-cert-v01@openssh.com user certificate"* ]] &&
	[[ $KID1 =~ ^sa:ci\ key:$K1ID\ jti:[A-Za-z0-9_-]{22}$ ]] && [[ $S1 =~ ^[0-9]+$ ]] &&
	[ "$(ssh-keygen -L -f "$C1" | sed -n '/Principals:/{n;p}' | tr -d ' ')" = ci ]; then
	ok "ssh-keygen -L: user certificate, principal ci, key id sa:ci key:$K1ID jti:..., serial $S1"
else
	not_ok "ssh-keygen -L: $L"
fi
valid=$(cert_field Valid "$C1")
secs=$("$PY" -c '
import sys, datetime as D
f, t = sys.argv[1].split()[1], sys.argv[1].split()[3]
p = lambda s: D.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S")
print(int((p(t) - p(f)).total_seconds()))' "$valid" 2>/dev/null)
if [ "$secs" = 960 ]; then
	ok "valid from 60 s ago for 900 s ($valid)"
else
	not_ok "validity: $valid ($secs s)"
fi
if [[ $L == *"permit-pty"* ]] && ! [[ $L == *"permit-port-forwarding"* ]] &&
	[[ $(ssh-keygen -L -f "$C1" | sed -n '/Critical Options:/p') == *"(none)"* ]]; then
	ok "extensions: permit-pty only; no critical options"
else
	not_ok "extensions / options: $L"
fi
if [[ $L == *"Signing CA: ED25519 $CUR_FP"* ]]; then
	ok "signed by the current CA key (its fingerprint is in ssh ca)"
else
	not_ok "signing CA: $(printf '%s\n' "$L" | grep 'Signing CA') (want $CUR_FP)"
fi
if SVCACCT_API_KEY=$K1 sign 0 "$TMPD/id2.pub" && [ -f "$TMPD/id2-cert.pub" ] &&
	[[ $(ssh-keygen -L -f "$TMPD/id2-cert.pub") == *"ecdsa-sha2-nistp256-cert-v01@openssh.com"* ]]; then
	ok "ssh sign with \$SVCACCT_API_KEY; an ECDSA subject key"
else
	not_ok "ssh sign with \$SVCACCT_API_KEY (rc $RC, $ERR)"
fi
if STDIN_FILE="$TMPD/k1.key" sign 0 "$TMPD/id1.pub" --out "$TMPD/stdin-cert" --ttl 60 &&
	[ "$(stat -c %a "$TMPD/stdin-cert")" = 644 ]; then
	ok "ssh sign with the key on stdin, --out FILE (mode 0644)"
else
	not_ok "ssh sign with the key on stdin (rc $RC, $ERR)"
fi
expect_exit 0 $CTL token create --key-file "$TMPD/k1.key" || not_ok "token create"
TOK=$OUT
if SVCACCT_TOKEN=$TOK sign 0 "$TMPD/id1.pub" --out "$TMPD/tok-cert.pub" &&
	[[ $(cert_field "Key ID" "$TMPD/tok-cert.pub") == *"sa:ci key:$K1ID jti:"* ]]; then
	ok "ssh sign with \$SVCACCT_TOKEN: the token's key id in the certificate's"
else
	not_ok "ssh sign with \$SVCACCT_TOKEN (rc $RC, $ERR)"
fi
cp "$TMPD/id1.pub" "$TMPD/plainpub"
sign 0 "$TMPD/plainpub" --key-file "$TMPD/k1.key" && [ -f "$TMPD/plainpub-cert.pub" ] &&
	ok "a public key file without .pub: FILE-cert.pub" || not_ok "FILE-cert.pub ($ERR)"
if expect_exit 0 $CTL --json ssh sign "$TMPD/id1.pub" --key-file "$TMPD/k1.key" --out "$TMPD/j-cert.pub" &&
	[ "$(printf '%s' "$OUT" | json_eval '"%s %s %s" % (d["certificate"] == open(sys.argv[2]).read().strip(), isinstance(d["serial"], int), d["valid_before"].endswith("Z") and "T" in d["valid_before"])' "$TMPD/j-cert.pub")" = "True True True" ]; then
	ok "ssh sign --json: certificate, serial, key_id, valid_before (RFC 3339)"
else
	not_ok "ssh sign --json: $OUT"
fi
mkdir "$TMPD/adir-cert.pub"
cp "$TMPD/id1.pub" "$TMPD/adir.pub"
sign 1 "$TMPD/adir.pub" --key-file "$TMPD/k1.key" && [[ $ERR == *"not a regular file"* ]] &&
	ok "a directory where the certificate goes is not replaced (exit 1)" ||
	not_ok "non-regular target (rc $RC, $ERR)"

# ==============================================================================
diag "refusals"

check_exit 2 -d "--ttl 59 is refused (exit 2)" $CTL ssh sign "$TMPD/id1.pub" --key-file "$TMPD/k1.key" --ttl 59
[[ $ERR == *"between 60 and 3600"* ]] && ok "... saying the bounds" || not_ok "... message: $ERR"
check_exit 2 -d "--ttl 3601 is refused (exit 2)" $CTL ssh sign "$TMPD/id1.pub" --key-file "$TMPD/k1.key" --ttl 3601
sign 0 "$TMPD/id1.pub" --key-file "$TMPD/k1.key" --ttl 3600 --out "$TMPD/long-cert.pub" &&
	ok "--ttl 3600 works" || not_ok "--ttl 3600 ($ERR)"
printf 'ssh-ed25519 AAAAnotakey\n' >"$TMPD/bad.pub"
n_issue=$(audit_count ssh.issue)
check_exit 2 -d "a bad public key file is refused (exit 2)" $CTL ssh sign "$TMPD/bad.pub" --key-file "$TMPD/k1.key"
[ ! -e "$TMPD/bad-cert.pub" ] && [ "$(audit_count ssh.issue)" = "$n_issue" ] &&
	ok "... nothing written, nothing issued" || not_ok "... something was written"
n_issue=$(audit_count ssh.issue)
check_exit 2 -d "an API key on argv is a usage error (exit 2)" $CTL ssh sign "$TMPD/id1.pub" "$K1"
[[ $ERR != *"${K1:18:43}"* && $ERR == *"command line"* ]] && [ "$(audit_count ssh.issue)" = "$n_issue" ] &&
	ok "... not repeated in the message, nothing sent" || not_ok "... key on argv: $ERR"
check_exit 1 -d "a missing public key file exits 1" $CTL ssh sign "$TMPD/nosuch.pub" --key-file "$TMPD/k1.key"
key_create nog || bail "key create nog"
put_secret "$TMPD/nog.key" "$KEY"
if sign 1 "$TMPD/id1.pub" --key-file "$TMPD/nog.key" && [[ $ERR == *"nog"* && $ERR == *"login capability"* ]]; then
	ok "an account with no grant: refused, the message names it"
else
	not_ok "no_login_capability (rc $RC, $ERR)"
fi
[ "$(expect_exit 0 $CTL --json audit list --event ssh.deny --limit 1; printf '%s' "$OUT" | json_eval 'd[-1]["reason"]')" = no_login_capability ] &&
	ok "audited ssh.deny reason no_login_capability" || not_ok "ssh.deny reason ($OUT)"
key_create dis || bail "key create dis"
put_secret "$TMPD/dis.key" "$KEY"
check $CTL account disable dis
sign 1 "$TMPD/id1.pub" --key-file "$TMPD/dis.key" && [[ $ERR == *"invalid API key"* ]] &&
	ok "a disabled account's key is refused (invalid API key)" || not_ok "disabled account (rc $RC, $ERR)"
key_create ci2 || bail "key create ci2"
K3=$KEY K3ID=$KEYID
put_secret "$TMPD/k3.key" "$K3"
check $CTL key revoke ci2 "$K3ID"
sign 1 "$TMPD/id1.pub" --key-file "$TMPD/k3.key" && ok "a revoked key is refused" || not_ok "revoked key (rc $RC)"
key_create ci2 || bail "key create ci2 (2)"
K4=$KEY
put_secret "$TMPD/k4.key" "$K4"
BADK=$(make_key "$K1ID")
put_secret "$TMPD/badk.key" "$BADK"
sign 1 "$TMPD/id1.pub" --key-file "$TMPD/badk.key" && [[ $ERR == *"invalid API key"* ]] &&
	ok "a wrong secret is refused (invalid API key)" || not_ok "wrong secret (rc $RC, $ERR)"

# ==============================================================================
diag "audit and ssh list"

if expect_exit 0 $CTL --json audit list --event ssh.issue &&
	[ "$(printf '%s' "$OUT" | json_eval '
e = [x for x in d if x.get("serial") == int(sys.argv[2])][0]
"%s %s %s %s" % (e["subject"]["account"], e.get("cert_id") == sys.argv[3], str(e.get("fingerprint", "")).startswith("SHA256:"), e.get("ttl"))' "$S1" "$KID1")" = "ci True True 900" ]; then
	ok "ssh.issue audited with serial, cert_id, fingerprint, ttl"
else
	not_ok "ssh.issue audit: $OUT"
fi
if expect_exit 0 $CTL ssh list --account ci && [[ $OUT == SERIAL*ACCOUNT*KEY_ID*VALID_BEFORE*STATUS* ]] &&
	printf '%s\n' "$OUT" | grep -qE "^$S1 +ci +sa:ci key:$K1ID jti:[^ ]+ +[0-9T:-]+Z +valid$"; then
	ok "ssh list --account ci: serial, account, key id, valid_before, status"
else
	not_ok "ssh list: $OUT"
fi
if SVCACCT_TOKEN=$TOK expect_exit 0 run_as_nobody env SVCACCT_TOKEN="$TOK" $CTL ssh list --account ci; then
	ok "the account lists its own certificates with its token"
else
	not_ok "own list by token (rc $RC, $ERR)"
fi
check_exit 3 -d "another user may not list every certificate (exit 3)" run_as_nobody $CTL ssh list

# ==============================================================================
diag "revocation: serial, account, disable, key revoke; the KRL"

sign 0 "$TMPD/id1.pub" --key-file "$TMPD/k1.key" --out "$TMPD/a-cert.pub" || not_ok "sign a"
sign 0 "$TMPD/id1.pub" --key-file "$TMPD/k1.key" --out "$TMPD/b-cert.pub" || not_ok "sign b"
SA=$(cert_field Serial "$TMPD/a-cert.pub")
v0=$(stat -c %Y.%s "$KRL")
check_exit 3 -d "ssh revoke needs admin rights (exit 3)" run_as_nobody $CTL ssh revoke "$SA"
if expect_exit 0 $CTL ssh revoke "$SA" && [ "$OUT" = "revoked 1 certificate" ]; then
	ok "ssh revoke SERIAL"
else
	not_ok "ssh revoke SERIAL: $OUT $ERR"
fi
[ "$(krl_says "$TMPD/a-cert.pub")" = REVOKED ] && ok "ssh-keygen -Q: the KRL revokes it" ||
	not_ok "KRL: $(ssh-keygen -Q -f "$KRL" "$TMPD/a-cert.pub" 2>&1)"
[ "$(krl_says "$TMPD/b-cert.pub")" = ok ] && ok "... and not another certificate" ||
	not_ok "KRL other: $(ssh-keygen -Q -f "$KRL" "$TMPD/b-cert.pub" 2>&1)"
check_exit 4 -d "an unknown serial: exit 4" $CTL ssh revoke 999999
if expect_exit 0 $CTL --json audit list --event ssh.revoke &&
	[ "$(printf '%s' "$OUT" | json_eval '"%s %s" % (d[-1]["serial"], d[-1].get("cert_id", "")[:6])')" = "$SA sa:ci " ]; then
	ok "ssh.revoke audited with serial and cert_id"
else
	not_ok "ssh.revoke audit: $OUT"
fi
if expect_exit 0 $CTL ssh list --account ci && printf '%s\n' "$OUT" | grep -qE "^$SA .* revoked$"; then
	ok "ssh list shows it revoked"
else
	not_ok "ssh list shows serial $SA revoked"
	diag "rc=$RC" "$OUT" "$ERR"
fi
# key revoke: only that key's certificates
sign 0 "$TMPD/id1.pub" --key-file "$TMPD/k2.key" --out "$TMPD/k2-cert.pub" || not_ok "sign with K2"
check $CTL key revoke ci "$K2ID"
[ "$(krl_says "$TMPD/k2-cert.pub")" = REVOKED ] && [ "$(krl_says "$TMPD/b-cert.pub")" = ok ] &&
	ok "key revoke revokes that key's certificates only" ||
	not_ok "key revoke: $(krl_says "$TMPD/k2-cert.pub") / $(krl_says "$TMPD/b-cert.pub")"
# ssh revoke --account
key_create ci2 || bail "key create ci2 (3)"
put_secret "$TMPD/k5.key" "$KEY"
sign 0 "$TMPD/id1.pub" --key-file "$TMPD/k5.key" --out "$TMPD/c2a-cert.pub" || not_ok "sign ci2 a"
sign 0 "$TMPD/id1.pub" --key-file "$TMPD/k5.key" --out "$TMPD/c2b-cert.pub" || not_ok "sign ci2 b"
if expect_exit 0 $CTL ssh revoke --account ci2 && [ "$OUT" = "revoked 2 certificates" ] &&
	[ "$(krl_says "$TMPD/c2a-cert.pub") $(krl_says "$TMPD/c2b-cert.pub") $(krl_says "$TMPD/b-cert.pub")" = "REVOKED REVOKED ok" ]; then
	ok "ssh revoke --account: every certificate of the account, not others"
else
	not_ok "revoke --account: $OUT / $(krl_says "$TMPD/c2a-cert.pub")"
fi
# account disable
check $CTL account disable ci
[ "$(krl_says "$TMPD/b-cert.pub")" = REVOKED ] && ok "account disable revokes its certificates" ||
	not_ok "disable: $(krl_says "$TMPD/b-cert.pub")"
check $CTL account enable ci
[ "$(krl_says "$TMPD/b-cert.pub")" = REVOKED ] && ok "... and enabling does not bring them back" ||
	not_ok "enable: $(krl_says "$TMPD/b-cert.pub")"

# ==============================================================================
diag "rate limit"

rewrite_conf 'host_workspaces = [ "farm" ];' 'rate_limit_count = 3;' 'rate_limit_window = 600;' \
	"http_socket = \"$TMPD/http.sock\";"
restart_daemon || bail "restart"
key_create rl || bail "key create rl"
put_secret "$TMPD/rl.key" "$KEY"
n=0
for i in 1 2 3; do sign 0 "$TMPD/id1.pub" --key-file "$TMPD/rl.key" --out "$TMPD/rl-cert.pub" && n=$((n + 1)); done
if [ $n = 3 ] && sign 1 "$TMPD/id1.pub" --key-file "$TMPD/rl.key" --out "$TMPD/rl-cert.pub" &&
	[[ $ERR == *"rate limited"* ]]; then
	ok "3 signs work, the 4th is rate limited (exit 1)"
else
	not_ok "rate limit ($n worked; then rc $RC, $ERR)"
fi
rewrite_conf 'host_workspaces = [ "farm" ];' 'rate_limit_count = 1000;' \
	"http_socket = \"$TMPD/http.sock\";"

# ==============================================================================
diag "restart keeps CA and serials; rotation"

last=$(cert_field Serial "$TMPD/rl-cert.pub")
restart_daemon || bail "restart"
if [ "$($CTL ssh ca)" = "$(cat "$CAFILE")" ] && grep -q "$(awk '{print $2}' <<<"$(grep current "$CAFILE")")" <<<"$OUT$(cat "$CAFILE")"; then :; fi
[ "$(grep ' svcacct-ca-current$' "$CAFILE" | ssh-keygen -l -f - | awk '{print $2}')" = "$CUR_FP" ] &&
	ok "a restart keeps the CA keys" || not_ok "CA after restart: $(cat "$CAFILE")"
sign 0 "$TMPD/id1.pub" --key-file "$TMPD/k1.key" --out "$TMPD/r-cert.pub" || not_ok "sign after restart ($ERR)"
[ "$(cert_field Serial "$TMPD/r-cert.pub")" -gt "$last" ] 2>/dev/null &&
	ok "serials go on after a restart (never repeat)" || not_ok "serial after restart $(cert_field Serial "$TMPD/r-cert.pub") <= $last"
[ "$(krl_says "$TMPD/b-cert.pub")" = REVOKED ] && ok "the KRL still revokes after a restart" || not_ok "KRL after restart"
check_exit 3 -d "ssh ca-rotate needs super-admin rights (exit 3)" run_as_nobody $CTL ssh ca-rotate
if expect_exit 0 $CTL ssh ca-rotate && [[ $OUT == SHA256:* ]] && [ "$OUT" != "$NEXT_FP" ]; then
	ok "ssh ca-rotate prints the new next key's fingerprint"
else
	not_ok "ca-rotate: $OUT $ERR"
fi
NEW_NEXT=$OUT
fps=$(while read -r l; do printf '%s %s\n' "$(printf '%s\n' "$l" | ssh-keygen -l -f - | awk '{print $2}')" "${l##* }"; done <"$CAFILE" | sort)
want=$(printf '%s svcacct-ca-retired\n%s svcacct-ca-current\n%s svcacct-ca-next\n' "$CUR_FP" "$NEXT_FP" "$NEW_NEXT" | sort)
[ "$fps" = "$want" ] && ok "the CA file: old current retired (still trusted), former next current, a new next" ||
	not_ok "CA file after rotation: $fps"
sign 0 "$TMPD/id1.pub" --key-file "$TMPD/k1.key" --out "$TMPD/rot-cert.pub" || not_ok "sign after rotation"
[[ $(ssh-keygen -L -f "$TMPD/rot-cert.pub") == *"Signing CA: ED25519 $NEXT_FP"* ]] &&
	ok "new certificates are signed by the former next key" || not_ok "signer after rotation"
[ "$(krl_says "$TMPD/b-cert.pub") $(krl_says "$TMPD/rot-cert.pub")" = "REVOKED ok" ] &&
	ok "the KRL covers the old and the new CA key" || not_ok "KRL after rotation"
expect_exit 0 $CTL --json audit list --event ssh_ca.rotate && [[ $OUT == *"$NEW_NEXT"* ]] &&
	ok "ssh_ca.rotate audited with the new next key's fingerprint" || not_ok "rotate audit: $OUT"

# ==============================================================================
diag "configured extensions and source-address"

rewrite_conf 'host_workspaces = [ "farm" ];' 'rate_limit_count = 1000;' \
	"http_socket = \"$TMPD/http.sock\";" \
	'ssh_cert_extensions = [ "permit-pty", "permit-port-forwarding" ];' \
	'ssh_source_address = "10.0.0.0/8,192.0.2.7";'
restart_daemon || bail "restart with ssh_cert_extensions"
sign 0 "$TMPD/id1.pub" --key-file "$TMPD/k1.key" --out "$TMPD/ext-cert.pub" || not_ok "sign with extensions ($ERR)"
L=$(ssh-keygen -L -f "$TMPD/ext-cert.pub" 2>&1)
if [[ $L == *"source-address 10.0.0.0/8,192.0.2.7"* && $L == *permit-port-forwarding* && $L == *permit-pty* ]]; then
	ok "ssh_cert_extensions and ssh_source_address reach the certificate"
else
	not_ok "extensions / source-address: $L"
fi
rewrite_conf 'host_workspaces = [ "farm" ];' 'rate_limit_count = 1000;' \
	"http_socket = \"$TMPD/http.sock\";"
restart_daemon || bail "restart"

# ==============================================================================
diag "POST /ssh/sign on the HTTP front"

HS="$TMPD/http.sock"
pub=$(cat "$TMPD/id1.pub")
body=$("$PY" -c 'import json,sys; print(json.dumps({"public_key": sys.argv[1], "ttl": 120}))' "$pub")
code=$(curl -s -o "$TMPD/h1.json" -w '%{http_code}' --unix-socket "$HS" -H "x-api-key: $K1" \
	-H 'Content-Type: application/json' --data "$body" http://localhost/ssh/sign)
if [ "$code" = 200 ] && [ "$(json_eval '"%s %s %s" % (d["certificate"].startswith("ssh-ed25519-cert-v01@openssh.com "), isinstance(d["serial"], int), d["valid_before"].endswith("Z"))' <"$TMPD/h1.json")" = "True True True" ] &&
	[[ $(json_eval 'd["key_id"]' <"$TMPD/h1.json") == "sa:ci key:$K1ID jti:"* ]]; then
	ok "POST /ssh/sign with x-api-key: certificate, serial, key_id, valid_before"
else
	not_ok "POST /ssh/sign x-api-key: $code $(cat "$TMPD/h1.json")"
fi
json_eval 'd["certificate"]' <"$TMPD/h1.json" >"$TMPD/h1-cert.pub"
[[ $(ssh-keygen -L -f "$TMPD/h1-cert.pub" 2>&1) == *"Principals:"*ci* ]] &&
	ok "... a certificate ssh-keygen reads" || not_ok "... ssh-keygen -L of the HTTP certificate"
code=$(curl -s -o "$TMPD/h2.json" -w '%{http_code}' --unix-socket "$HS" -H "Authorization: Bearer $TOK" \
	-H 'Content-Type: application/json' --data "$body" http://localhost/ssh/sign)
[ "$code" = 200 ] && ok "POST /ssh/sign with Authorization: Bearer <token>" ||
	not_ok "POST /ssh/sign Bearer: $code $(cat "$TMPD/h2.json")"
code=$(curl -s -o "$TMPD/h3.json" -w '%{http_code}' --unix-socket "$HS" -H "x-api-key: $K1" \
	--data '{"ttl": 900}' http://localhost/ssh/sign)
[ "$code" = 400 ] && ok "a body without public_key: 400" || not_ok "bad body: $code $(cat "$TMPD/h3.json")"
code=$(curl -s -o "$TMPD/h4.json" -w '%{http_code}' --unix-socket "$HS" -H "x-api-key: $K1" \
	--data "$("$PY" -c 'import json,sys; print(json.dumps({"public_key": sys.argv[1], "ttl": 5000}))' "$pub")" http://localhost/ssh/sign)
[ "$code" = 400 ] && ok "ttl 5000: 400" || not_ok "ttl 5000: $code"
code=$(curl -s -o "$TMPD/h5.json" -w '%{http_code}' --unix-socket "$HS" -H "x-api-key: $BADK" \
	--data "$body" http://localhost/ssh/sign)
[ "$code" = 401 ] && ok "a wrong key: 401" || not_ok "wrong key: $code $(cat "$TMPD/h5.json")"
code=$(curl -s -o "$TMPD/h6.json" -w '%{http_code}' --unix-socket "$HS" --data "$body" http://localhost/ssh/sign)
[ "$code" = 401 ] && ok "no credential: 401" || not_ok "no credential: $code"

# ==============================================================================
diag "two hours later: the retired key and expired revocations are dropped"

if [ -n "$FAKETIME_LIB" ]; then
	stop_daemon
	if start_daemon_faked +2h; then
		gone() { [ "$(wc -l <"$CAFILE")" = 2 ] && ! grep -q retired "$CAFILE"; }
		wait_for_s() { local i; for i in $(seq 1 "$1"); do "${@:2}" && return 0; sleep 1; done; return 1; }
		wait_for_s 20 gone && ok "the retired CA key leaves ssh_ca.pub once its certificates expired" ||
			not_ok "retired key still there: $(cat "$CAFILE")"
		expect_exit 0 $CTL ssh list --account ci &&
			printf '%s\n' "$OUT" | grep -qE "^$(cert_field Serial "$TMPD/rot-cert.pub") .* expired$" &&
			ok "ssh list: an old certificate is expired" || not_ok "ssh list expired: $OUT"
		krl_empty() { ! "$PY" - "$KRL" <<'PYEOF'
import sys
d = open(sys.argv[1], "rb").read()
# a KRL with revocations holds at least one certificates section (type 1)
sys.exit(0 if len(d) > 60 else 1)
PYEOF
		}
		wait_for_s 20 krl_empty && ok "expired revocations leave the KRL" || not_ok "KRL size $(stat -c %s "$KRL")"
	else
		not_ok "the daemon starts under faketime"
	fi
else
	ok "# SKIP libfaketime missing"
fi

exit "$(failures)"
