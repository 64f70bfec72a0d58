#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Session tokens (DESIGN.md sections 3, 4, 7 and 8): where token create
# takes the key from (never argv), every refusal with its own token.deny
# reason behind the one generic message, the rate limit (per uid and per key
# id), the lockout, the token itself (a JWT under 512 bytes, EdDSA, the
# claims, token_ttl), verify and revoke, what account changes do to tokens,
# admin by token, interop with PyJWT through the JWKS, and expiry of keys
# and tokens (the daemon restarted under faketime).
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/cred_lib.sh"

CONF_LINES=("token_ttl = 120;" "lockout_threshold = 3;")
start_daemon "${CONF_LINES[@]}" "rate_limit_count = 1000;" || bail "daemon starts"

for a in ci ci2 lk ft mem; do check $CTL account create "$a"; done
check $CTL account create bot --role admin
key_create ci || bail "key create ci"
K1=$KEY K1ID=$KEYID

# ==============================================================================
diag "where the key comes from: --key-file, \$SVCACCT_API_KEY, stdin; never argv"

if xchg 0 "$K1" && [[ $OUT =~ $JWT_RE ]] && [ -z "$ERR" ]; then
	ok "token create --key-file FILE (mode 0600): a token, nothing on stderr"
else
	not_ok "token create --key-file FILE (stdout: ${OUT:0:60} stderr: $ERR)"
fi
printf '%s\n' "$K1" >"$TMPD/loose.key"
chmod 0644 "$TMPD/loose.key"
if expect_exit 0 $CTL token create --key-file "$TMPD/loose.key" && [[ $OUT =~ $JWT_RE ]] &&
	[[ $ERR == *warning* && $ERR == *"group or others"* ]]; then
	ok "a key file readable by others works, with a warning on stderr"
else
	not_ok "a key file readable by others: warning (stderr: $ERR)"
fi
printf '%s' "$K1" >"$TMPD/nonl.key"
chmod 0600 "$TMPD/nonl.key"
check -d "a key file without a trailing newline works" $CTL token create --key-file "$TMPD/nonl.key"
if SVCACCT_API_KEY=$K1 expect_exit 0 $CTL token create && [[ $OUT =~ $JWT_RE ]]; then
	ok "token create with \$SVCACCT_API_KEY"
else
	not_ok "token create with \$SVCACCT_API_KEY"
fi
put_secret "$TMPD/k1.key" "$K1"
if STDIN_FILE="$TMPD/k1.key" expect_exit 0 $CTL token create && [[ $OUT =~ $JWT_RE ]]; then
	ok "token create with the key on stdin"
else
	not_ok "token create with the key on stdin"
fi
BADK=$(make_key "$K1ID")
put_secret "$TMPD/bad.key" "$BADK"
SVCACCT_API_KEY=$K1 expect_exit 1 $CTL token create --key-file "$TMPD/bad.key" &&
	ok "--key-file comes before \$SVCACCT_API_KEY" || not_ok "--key-file comes before \$SVCACCT_API_KEY"
STDIN_FILE="$TMPD/bad.key" SVCACCT_API_KEY=$K1 expect_exit 0 $CTL token create &&
	ok "\$SVCACCT_API_KEY comes before stdin" || not_ok "\$SVCACCT_API_KEY comes before stdin"
n_issue=$(audit_count token.issue) n_deny=$(audit_count token.deny)
check_exit 2 -d "a key on argv is a usage error (exit 2)" $CTL token create "$K1"
if [[ $ERR != *"${K1:18:43}"* && $ERR == *"command line"* ]]; then
	ok "... and the message does not repeat the key"
else
	not_ok "... and the message does not repeat the key (stderr: $ERR)"
fi
check_exit 2 -d "a key on argv after the options is a usage error too" $CTL token create --key-file "$TMPD/k1.key" "$K1"
if [ "$(audit_count token.issue) $(audit_count token.deny)" = "$n_issue $n_deny" ]; then
	ok "a key on argv is never sent to the daemon (no token.issue / token.deny)"
else
	not_ok "a key on argv is never sent (token.issue $n_issue -> $(audit_count token.issue), token.deny $n_deny -> $(audit_count token.deny))"
fi
check_exit 2 -d "no key at all (empty stdin) exits 2" $CTL token create
check_exit 1 -d "a missing key file exits 1" $CTL token create --key-file "$TMPD/nosuch.key"
if xchg_as_nobody 0 "$K1" && [[ $OUT =~ $JWT_RE ]]; then
	ok "any local user (nobody) may exchange a key"
else
	not_ok "any local user (nobody) may exchange a key"
fi
if expect_exit 0 $CTL --json audit list --event token.issue --limit 1 &&
	[ "$(printf '%s' "$OUT" | json_eval '"%s %s %s" % (d[-1]["peer"]["uid"], d[-1]["subject"]["account"], d[-1]["subject"]["key_id"])')" = "65534 ci $K1ID" ]; then
	ok "token.issue names the caller's uid, the account and the key id"
else
	not_ok "token.issue names the caller's uid, the account and the key id"
	diag "${OUT:0:400}"
fi

# ==============================================================================
diag "refusals: one message for the caller, the reason in the audit trail"

key_create ci || bail "key create ci (2)"
K2=$KEY K2ID=$KEYID
check $CTL key disable ci "$K2ID"
key_create ci || bail "key create ci (3)"
K3=$KEY K3ID=$KEYID
check $CTL key revoke ci "$K3ID"
key_create ci2 || bail "key create ci2"
K4=$KEY K4ID=$KEYID
check $CTL account disable ci2
UNK=$(make_key)
declare -A ERRS=()
refuse() { # REASON KEY EXPECTED_KEYID DESC
	local why=$1 key=$2 kid=$3 desc=$4 got
	if xchg 1 "$key"; then
		ERRS[$why]=$ERR
		got=$(last_deny)
		if [ "$got" = "$why $kid" ]; then
			ok "$desc: exit 1, token.deny reason $why"
		else
			not_ok "$desc: token.deny reason (want '$why $kid', got '$got')"
		fi
	else
		not_ok "$desc: exit 1"
	fi
}
refuse bad_checksum "$(bad_checksum_key "$K1")" None "a key with its last character changed"
refuse malformed "svca_not-a-key" None "something that is not a key"
refuse unknown_key "$UNK" "${UNK:5:12}" "a well-formed key for an id that does not exist"
refuse bad_secret "$BADK" "$K1ID" "a known key id with the wrong secret"
refuse key_disabled "$K2" "$K2ID" "a disabled key"
refuse key_revoked "$K3" "$K3ID" "a revoked key"
refuse account_disabled "$K4" "$K4ID" "the key of a disabled account"
same=1
for why in "${!ERRS[@]}"; do
	[ "${ERRS[$why]}" = "$INVALID_MSG" ] || { same=0; diag "$why: stderr '${ERRS[$why]}'"; }
done
if [ "$same" = 1 ] && [ "${#ERRS[@]}" = 7 ]; then
	ok "all 7 refusals print exactly '$INVALID_MSG'"
else
	not_ok "all refusals print exactly '$INVALID_MSG' (${#ERRS[@]} collected)"
fi
check $CTL account enable ci2
xchg 0 "$K4" && ok "enabling the account restores its key" || not_ok "enabling the account restores its key"
xchg 0 "$K1" && ok "one wrong secret does not block the right one" || not_ok "one wrong secret does not block the right one"

# ==============================================================================
diag "lockout (lockout_threshold = 3)"

key_create lk || bail "key create lk"
KL=$KEY KLID=$KEYID
key_create lk || bail "key create lk (2)"
KL2=$KEY
n_lock=$(audit_count key.lockout)
for i in 1 2; do
	refuse bad_secret "$(make_key "$KLID")" "$KLID" "bad secret $i of 3"
done
xchg 1 "$(make_key "$KLID")"
if [ "$RC" = 1 ] && [ "$(last_deny)" = "locked_out $KLID" ]; then
	ok "the 3rd bad secret locks the key id (token.deny reason locked_out)"
else
	not_ok "the 3rd bad secret locks the key id (exit $RC, $(last_deny))"
fi
if [ "$(audit_count key.lockout)" = $((n_lock + 1)) ] &&
	[ "$($CTL --json audit list --event key.lockout --limit 1 | json_eval 'd[-1]["subject"]["key_id"]')" = "$KLID" ]; then
	ok "a key.lockout event names the key id"
else
	not_ok "a key.lockout event names the key id"
fi
if xchg 1 "$KL" && [[ $ERR =~ ^svcacctctl:\ rate\ limited,\ retry\ in\ [0-9]+\ s$ ]] &&
	[ "$(last_deny)" = "locked_out $KLID" ]; then
	ok "while locked even the right secret is refused ($ERR)"
else
	not_ok "while locked even the right secret is refused (exit $RC, stderr: $ERR, $(last_deny))"
fi
xchg 0 "$KL2" && ok "another key of the same account is not locked" || not_ok "another key of the same account is not locked"
xchg 0 "$K1" && ok "another account's key is not locked" || not_ok "another account's key is not locked"
# The lockout belongs to the caller that failed: root's bad secrets do not
# lock the key for another local user (nobody cannot lock out a pipeline).
xchg_as_nobody 0 "$KL" && ok "the lockout is per caller: another uid still exchanges the key" ||
	not_ok "the lockout is per caller: another uid still exchanges the key (exit $RC: $ERR)"
# Unknown key ids lock the same way, so a lockout reveals nothing.
GHOST=$(make_key ZZZZZZZZZZZZ)
for i in 1 2 3 4; do xchg 1 "$GHOST"; done
if [ "$(last_deny)" = "locked_out ZZZZZZZZZZZZ" ]; then
	ok "an unknown key id locks out like a known one (no existence oracle)"
else
	not_ok "an unknown key id locks out like a known one: $(last_deny)"
fi

# ==============================================================================
diag "the token"

xchg 0 "$K1" || bail "token create"
T=$OUT
printf '%s\n' "$T" >"$TMPD/t1.jwt"
diag "token length: ${#T}"
if [ "${#T}" -lt 512 ]; then ok "the token is under 512 bytes (${#T})"; else not_ok "the token is under 512 bytes (${#T})"; fi
hdr=$(jwt_part "$T" header)
if [ "$(printf '%s' "$hdr" | json_eval 'd["alg"] + " " + str(bool(d.get("kid")))')" = "EdDSA True" ]; then
	ok "header: alg EdDSA, a kid"
else
	not_ok "header: alg EdDSA, a kid ($hdr)"
fi
KID0=$(printf '%s' "$hdr" | json_eval 'd.get("kid")')
pl=$(jwt_part "$T" payload)
r=$(printf '%s' "$pl" | json_eval '
need = ["iss", "sub", "aud", "iat", "nbf", "exp", "jti", "key_id", "org_role", "gen"]
miss = [n for n in need if n not in d]
"missing %s" % miss if miss else "%s %s %s %s %s %d" % (d["iss"], d["aud"], d["sub"], d["key_id"], d["org_role"], d["exp"] - d["iat"])')
if [ "$r" = "svcacctd svcacct ci $K1ID member 120" ]; then
	ok "claims iss sub aud iat nbf exp jti key_id org_role gen; exp - iat = token_ttl (120)"
else
	not_ok "claims (got: $r; payload $pl)"
fi
JTI1=$(printf '%s' "$pl" | json_eval 'd["jti"]')
put_secret "$TMPD/k1.key" "$K1"
if expect_exit 0 $CTL --json token create --key-file "$TMPD/k1.key"; then
	r=$(printf '%s' "$OUT" | json_eval '
import re
ok = re.match(sys.argv[2], d["access_token"]) is not None and d["token_type"] == "Bearer"
"%s %s %s %s %s" % (ok, d["expires_in"], d["key_id"], d["account"], bool(d["expires_at"]))' "$JWT_RE")
	if [ "$r" = "True 120 $K1ID ci True" ]; then
		ok "token create --json: access_token, token_type Bearer, expires_in 120, expires_at, key_id, account"
	else
		not_ok "token create --json ($r)"
	fi
else
	not_ok "token create --json"
fi

if STDIN_FILE="$TMPD/t1.jwt" expect_exit 0 $CTL token verify &&
	printf '%s\n' "$OUT" | grep -qx 'sub: ci' && printf '%s\n' "$OUT" | grep -qx "key_id: $K1ID" &&
	printf '%s\n' "$OUT" | grep -qx "jti: $JTI1"; then
	ok "token verify (stdin): exit 0, the claims as 'key: value' lines"
else
	not_ok "token verify (stdin) (exit $RC: ${OUT:0:200})"
fi
if expect_exit 0 $CTL --json token verify "$T" &&
	[ "$(printf '%s' "$OUT" | json_eval '"%s %s %s" % (d["valid"], d["sub"], d["jti"])')" = "True ci $JTI1" ]; then
	ok "token verify TOKEN --json: the claims with valid true"
else
	not_ok "token verify TOKEN --json (${OUT:0:200})"
fi
STDIN_FILE="$TMPD/t1.jwt" check_exit 0 -d "nobody may verify a token" run_as_nobody $CTL token verify -
check_exit 1 -d "token verify of garbage exits 1" $CTL token verify not.a.token
[[ $ERR == "svcacctctl: token is not valid: malformed" ]] && ok "... 'token is not valid: malformed'" || not_ok "... malformed (stderr: $ERR)"
tampered=$(printf '%s' "$T" | "$PY" -c '
import sys, base64
h, p, s = sys.stdin.read().split(".")
raw = bytearray(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
i = raw.find(b"\"sub\":\"") + 7
raw[i] ^= 0x01
print(h + "." + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode() + "." + s)')
if expect_exit 1 $CTL --json token verify "$tampered" &&
	[ "$(printf '%s' "$OUT" | json_eval '"%s %s" % (d["valid"], d["reason"])')" = "False bad_signature" ]; then
	ok "a token with one payload byte altered: exit 1, reason bad_signature"
else
	not_ok "a token with one payload byte altered ($RC: $OUT $ERR)"
fi
check_exit 2 -d "token verify with an empty stdin exits 2" $CTL token verify

# A name of 32 characters (the maximum) with a grant: the grants list does
# not fit next to grants_omitted, so it is left out, never the token.
LONG=ci-deploy-bot-with-a-long-name01
check $CTL team create tok-team
check $CTL workspace create w0 --team tok-team
check $CTL account create "$LONG"
check $CTL grant add "$LONG" --workspace w0 --role admin
key_create "$LONG" || bail "key create $LONG"
if xchg 0 "$KEY" && [[ $OUT =~ $JWT_RE ]] && [ "${#OUT}" -le 512 ] &&
	[ "$(jwt_part "$OUT" payload | json_eval '"%s %d" % (d["sub"], len(d.get("grants", [])) + d.get("grants_omitted", 0))')" = "$LONG 1" ]; then
	ok "a 32-character account with a grant gets a token (${#OUT} bytes, its grant counted)"
else
	not_ok "a 32-character account with a grant gets a token (exit $RC: ${OUT:0:80} $ERR)"
fi

# ==============================================================================
diag "revoke"

xchg 0 "$K1"; TR=$OUT
printf '%s\n' "$TR" >"$TMPD/tr.jwt"
TRJTI=$(jwt_part "$TR" payload | json_eval 'd["jti"]')
if STDIN_FILE="$TMPD/tr.jwt" expect_exit 0 $CTL token revoke - && [ "$OUT" = "revoked the session token of account ci" ]; then
	ok "token revoke - (stdin)"
else
	not_ok "token revoke - (exit $RC: $OUT $ERR)"
fi
if STDIN_FILE="$TMPD/tr.jwt" expect_exit 1 $CTL token verify && [ "$ERR" = "svcacctctl: token is not valid: revoked" ]; then
	ok "the revoked token: verify exits 1, 'token is not valid: revoked'"
else
	not_ok "the revoked token: verify (exit $RC, stderr: $ERR)"
fi
if STDIN_FILE="$TMPD/tr.jwt" expect_exit 1 $CTL --json token verify &&
	[ "$(printf '%s' "$OUT" | json_eval '"%s %s" % (d["valid"], d["reason"])')" = "False revoked" ]; then
	ok "token verify --json: {valid: false, reason: revoked}"
else
	not_ok "token verify --json of a revoked token ($OUT)"
fi
if [ "$($CTL --json audit list --event token.revoke --limit 1 | json_eval 'd[-1]["subject"].get("jti")')" = "$TRJTI" ]; then
	ok "token.revoke names the jti"
else
	not_ok "token.revoke names the jti"
fi
STDIN_FILE="$TMPD/t1.jwt" check_exit 0 -d "other tokens stay valid" $CTL token verify
check_exit 2 -d "token revoke with neither TOKEN nor --account exits 2" $CTL token revoke
check_exit 2 -d "token revoke with both TOKEN and --account exits 2" $CTL token revoke "$T" --account ci
check_exit 3 -d "nobody: token revoke --account exits 3" run_as_nobody $CTL token revoke --account ci

xchg 0 "$K1"; TA=$OUT
xchg 0 "$K1"; TB=$OUT
if expect_exit 0 $CTL --json token revoke --account ci &&
	[ "$(printf '%s' "$OUT" | json_eval '"%s %s %s" % (d["account"], d["revoked"], d["all"])')" = "ci True True" ]; then
	ok "token revoke --account ci --json"
else
	not_ok "token revoke --account ci --json ($OUT $ERR)"
fi
for t in "$TA" "$TB" "$T"; do
	expect_exit 1 $CTL token verify "$t"
	[ "$RC" = 1 ] || break
done
if [ "$RC" = 1 ]; then ok "after revoke --account every earlier token of ci is invalid ($ERR)"; else not_ok "after revoke --account every earlier token of ci is invalid"; fi
xchg 0 "$K1"
check -d "a token obtained afterwards works" $CTL token verify "$OUT"

# ==============================================================================
diag "account changes: disable, enable, re-role"

xchg 0 "$K1"; TC=$OUT
check $CTL account disable ci
if expect_exit 1 $CTL --json token verify "$TC"; then
	DIS_REASON=$(printf '%s' "$OUT" | json_eval 'd["reason"]')
	if [ "$DIS_REASON" = account_disabled ]; then
		ok "disabling the account invalidates its tokens at once (reason: $DIS_REASON)"
	else
		not_ok "disabling the account invalidates its tokens (reason $DIS_REASON, want account_disabled)"
	fi
else
	not_ok "disabling the account invalidates its tokens at once"
fi
refuse account_disabled "$K1" "$K1ID" "the key of the disabled account"
check $CTL account enable ci
# DESIGN.md section 3: disabling blocks the account's tokens, enabling
# restores them.
check -d "after enable the tokens of before the disable work again" $CTL token verify "$TC"
xchg 0 "$K1"; TD=$OUT
check -d "after enable NEW tokens work" $CTL token verify "$TD"
check $CTL account update ci --role admin
if expect_exit 1 $CTL --json token verify "$TD"; then
	ok "re-roling the account invalidates its tokens (reason: $(printf '%s' "$OUT" | json_eval 'd["reason"]'))"
else
	not_ok "re-roling the account invalidates its tokens"
fi
xchg 0 "$K1"
if [ "$(jwt_part "$OUT" payload | json_eval 'd["org_role"]')" = admin ]; then
	ok "a new token carries the new org_role"
else
	not_ok "a new token carries the new org_role"
fi
check $CTL account update ci --role member

# ==============================================================================
diag "admin by token"

key_create bot || bail "key create bot"
KB=$KEY
xchg 0 "$KB" || bail "token for bot"
TBOT=$OUT
put_secret "$TMPD/bot.jwt" "$TBOT"
chown 65534:65534 "$TMPD/bot.jwt"
key_create mem || bail "key create mem"
xchg 0 "$KEY" || bail "token for mem"
TMEM=$OUT
put_secret "$TMPD/mem.jwt" "$TMEM"
chown 65534:65534 "$TMPD/mem.jwt"

check_exit 3 -d "nobody without a token: account create exits 3" run_as_nobody $CTL account create by-nobody
if expect_exit 0 run_as_nobody $CTL --token-file "$TMPD/bot.jwt" account create by-bot; then
	ok "nobody with an admin account's token (--token-file): account create works"
	r=$($CTL --json audit list --event account.create --limit 1 | json_eval '"%s %s %s" % (d[-1]["subject"]["account"], d[-1]["actor"].get("account"), d[-1]["actor"].get("uid"))')
	if [ "$r" = "by-bot bot 65534" ]; then
		ok "the audit actor names the account (bot) and the uid"
	else
		not_ok "the audit actor names the account (got: $r)"
	fi
else
	not_ok "nobody with an admin account's token: account create"
fi
if SVCACCT_TOKEN=$TBOT expect_exit 0 run_as_nobody $CTL account create by-env; then
	ok "the token from \$SVCACCT_TOKEN works too"
else
	not_ok "the token from \$SVCACCT_TOKEN works too"
fi
check_exit 3 -d "a member's token: account create exits 3" run_as_nobody $CTL --token-file "$TMPD/mem.jwt" account create by-mem
check -d "a member's token: the account may list its own keys" run_as_nobody $CTL --token-file "$TMPD/mem.jwt" key list mem
check_exit 3 -d "a member's token: another account's keys exit 3" run_as_nobody $CTL --token-file "$TMPD/mem.jwt" key list ci
SVCACCT_TOKEN=$TMEM expect_exit 0 run_as_nobody $CTL --token-file "$TMPD/bot.jwt" account create by-prec1 &&
	ok "--token-file comes before \$SVCACCT_TOKEN (admin file, member env: allowed)" ||
	not_ok "--token-file comes before \$SVCACCT_TOKEN (admin file, member env)"
SVCACCT_TOKEN=$TBOT expect_exit 3 run_as_nobody $CTL --token-file "$TMPD/mem.jwt" account create by-prec2 &&
	ok "--token-file comes before \$SVCACCT_TOKEN (member file, admin env: exit 3)" ||
	not_ok "--token-file comes before \$SVCACCT_TOKEN (member file, admin env)"
check_exit 3 -d "an admin's token is no super-admin: signing-key rotate exits 3" \
	run_as_nobody $CTL --token-file "$TMPD/bot.jwt" signing-key rotate
check -d "token revoke (the admin account's token)" $CTL token revoke "$TBOT"
if expect_exit 3 run_as_nobody $CTL --token-file "$TMPD/bot.jwt" account create by-revoked &&
	[[ $ERR == *revoked* ]]; then
	ok "a revoked token: exit 3 ($ERR)"
else
	not_ok "a revoked token: exit 3 (got $RC: $ERR)"
fi
if SVCACCT_TOKEN=$TBOT xchg_as_nobody 0 "$KB"; then
	ok "token create ignores a stale \$SVCACCT_TOKEN (the key is the credential)"
else
	not_ok "token create ignores a stale \$SVCACCT_TOKEN"
fi
check_exit 4 -d "the refused creations did not happen" $CTL account show by-revoked

# ==============================================================================
diag "interop: PyJWT with the JWKS alone"

xchg 0 "$K1" || bail "token for interop"
printf '%s\n' "$OUT" >"$TMPD/interop.jwt"
if expect_exit 0 $CTL jwks && printf '%s' "$OUT" >"$TMPD/jwks.json" &&
	[ "$(json_eval 'd["keys"][0]["kid"] == sys.argv[2]' "$KID0" <"$TMPD/jwks.json")" = true ]; then
	ok "jwks: a JSON document with the token's kid"
else
	not_ok "jwks: a JSON document with the token's kid"
fi
run_tap "$PY" "$TESTS_DIR/jwt_interop.py" "$TMPD/jwks.json" "$TMPD/interop.jwt"

# A token for the expiry test below, valid now.
key_create ft || bail "key create ft"
xchg 0 "$KEY" || bail "token for ft"
TF=$OUT

# ==============================================================================
diag "rate limit (the defaults: 10 per 10 s per uid and per key id)"

stop_daemon
rewrite_conf "${CONF_LINES[@]}"
start_daemon_reuse || bail "daemon restarts with the default rate limits"
check $CTL account create rl
key_create rl || bail "key create rl"
R1=$KEY R1ID=$KEYID
key_create rl || bail "key create rl (2)"
R2=$KEY
put_secret "$TMPD/r1.key" "$R1"
t0=$(now)
n_ok=0
for i in $(seq 10); do
	$CTL token create --key-file "$TMPD/r1.key" >/dev/null 2>&1 </dev/null && n_ok=$((n_ok + 1))
done
expect_exit 1 $CTL token create --key-file "$TMPD/r1.key"
t1=$(now)
diag "11 exchanges in $(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }") s"
if [ "$n_ok" = 10 ] && [ "$RC" = 1 ] && [[ $ERR =~ ^svcacctctl:\ rate\ limited,\ retry\ in\ ([0-9]+)\ s$ ]] &&
	[ "${BASH_REMATCH[1]}" -ge 1 ] && [ "${BASH_REMATCH[1]}" -le 10 ]; then
	ok "10 exchanges work, the 11th: exit 1, '${ERR#svcacctctl: }'"
else
	not_ok "10 exchanges work, the 11th is rate limited ($n_ok worked; 11th: exit $RC, $ERR)"
fi
if [ "$(last_deny)" = "rate_limited $R1ID" ]; then ok "token.deny reason rate_limited"; else not_ok "token.deny reason rate_limited ($(last_deny))"; fi
xchg_as_nobody 0 "$R2" && ok "another uid (nobody, another key) is not affected" || not_ok "another uid (nobody, another key) is not affected ($ERR)"
xchg_as_nobody 1 "$R1" && [[ $ERR == *"rate limited"* ]] &&
	ok "the same key from another uid is limited too (per key id)" ||
	not_ok "the same key from another uid is limited too (per key id) ($RC: $ERR)"
xchg 1 "$R2" && [[ $ERR == *"rate limited"* ]] &&
	ok "another key from the limited uid is limited too (per uid)" ||
	not_ok "another key from the limited uid is limited too (per uid) ($RC: $ERR)"

# ==============================================================================
diag "expiry: the daemon restarted with its clock moved forward (faketime)"

skip_faketime() { ok "$1 # SKIP $2"; }
check -d "the token for the expiry test is valid before" $CTL token verify "$TF"
stop_daemon
if start_daemon_faked +16m; then
	if expect_exit 1 $CTL --json token verify "$TF" &&
		[ "$(printf '%s' "$OUT" | json_eval 'd["reason"]')" = expired ] &&
		[ "$ERR" = '{"error": {"code": "expired", "message": "token is not valid: expired"}}' ]; then
		ok "16 minutes later the token has expired: exit 1, reason expired"
	else
		not_ok "16 minutes later the token has expired (exit $RC: $OUT $ERR)"
	fi
	stop_daemon
	if start_daemon_faked +91d; then
		refuse key_expired "$K1" "$K1ID" "91 days later the key (default expiry 90 days) has expired"
		[ "${ERR}" = "$INVALID_MSG" ] && ok "... with the same '$INVALID_MSG'" || not_ok "... with the same message ($ERR)"
		if [ "$($CTL --json key list ci | json_eval '[k["status"] for k in d if k["key_id"] == sys.argv[2]][0]' "$K1ID")" = expired ]; then
			ok "key list shows the key as expired"
		else
			not_ok "key list shows the key as expired"
		fi
		check_exit 1 -d "an expired key cannot be enabled again" $CTL key enable ci "$K1ID"
	else
		not_ok "the daemon starts under faketime +91d"
	fi
elif [ -z "$FAKETIME_LIB" ]; then
	skip_faketime "token and key expiry" "libfaketime is not installed"
	start_daemon_reuse
elif is_asan_build; then
	skip_faketime "token and key expiry" "libfaketime does not run with this ASan build"
	show_daemon_log 10
	start_daemon_reuse
else
	not_ok "the daemon starts under faketime +16m"
fi
