#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Rotation without downtime (DESIGN.md sections 1, 3 and 4), the way an
# admin does it (see svcacctctl(1), EXAMPLES):
#   1. key A is in service;
#   2. create key B while A is still active (max_active_keys = 2);
#   3. both work; switch the job to B;
#   4. A's LAST_USED stops moving while B's moves on;
#   5. disable A (reversible) -> A refused, B works;
#   6. revoke A (final) -> A refused, B works, A listed as revoked.
# Then the token-signing key: signing-key rotate, old tokens still verify,
# new tokens carry the new kid, the JWKS lists both (also for PyJWT), and
# everything survives a restart.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/cred_lib.sh"

start_daemon "rate_limit_count = 1000;" || bail "daemon starts"
check $CTL account create ci

# key_field KEYID EXPR [ARGS...]: EXPR (python; k = the key object of key
# list --json, ARGS in sys.argv[3:])
key_field() {
	$CTL --json key list ci </dev/null 2>/dev/null |
		json_eval '
k = [x for x in d if x["key_id"] == sys.argv[2]][0]
'"$2" "$1" "${@:3}" 2>/dev/null || echo "error"
}

# b_works STEP: key B still exchanges, and its token verifies
b_works() {
	if xchg 0 "$B" && $CTL token verify "$OUT" </dev/null >/dev/null 2>&1; then
		ok "key B works ($1)"
	else
		not_ok "key B works ($1): exit $RC, $ERR"
	fi
}

# ==============================================================================
diag "1. key A in service"

key_create ci --label "runner A" || bail "key create A"
A=$KEY AID=$KEYID
xchg 0 "$A" && ok "key A works" || not_ok "key A works"
TA=$OUT

diag "2. key B created while A is active"
if key_create ci --label "runner B"; then ok "key B created while A is active"; else bail "key B created while A is active ($ERR)"; fi
B=$KEY BID=$KEYID
r=$($CTL --json key list ci | json_eval '" ".join("%s:%s" % (k["label"], k["status"]) for k in d)')
if [ "$r" = "runner A:active runner B:active" ]; then ok "both keys are listed active"; else not_ok "both keys are listed active ($r)"; fi

diag "3. both work"
xchg 0 "$A" && ok "key A still works" || not_ok "key A still works"
b_works "next to A"
r=$(key_field "$AID" '"%s %s" % (bool(k["last_used_at"]), (k["last_used"] or {}).get("uid"))')
if [ "$r" = "True 0" ]; then
	ok "A's last use is listed at once (not yet flushed to disk), by uid 0"
else
	not_ok "A's last use is listed at once ($r)"
fi
if $CTL key list ci | grep -E "^$AID " | grep -qE '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z \(uid 0 pid [0-9]+\)$'; then
	ok "key list: LAST_USED is the time and (uid U pid P)"
else
	not_ok "key list: LAST_USED is the time and (uid U pid P)"
	$CTL key list ci | diag
fi

diag "4. switch to B: A's last use stops moving"
A_LAST=$(key_field "$AID" 'k["last_used_at"]')
A_ISSUED=$($CTL --json audit list --event token.issue | json_eval 'len([e for e in d if e["subject"].get("key_id") == sys.argv[2]])' "$AID")
sleep 1.1
for i in 1 2 3; do xchg 0 "$B" || not_ok "exchange $i with B"; done
xchg_as_nobody 0 "$B" || not_ok "exchange with B as nobody"
r=$(key_field "$AID" 'k["last_used_at"]')
if [ "$r" = "$A_LAST" ] && [ -n "$A_LAST" ] && [ "$A_LAST" != None ]; then
	ok "A's last_used_at has not moved ($A_LAST)"
else
	not_ok "A's last_used_at has not moved ($A_LAST -> $r)"
fi
r=$(key_field "$BID" '"%s %s" % (k["last_used_at"] > sys.argv[3], k["last_used"]["uid"])' "$A_LAST")
if [ "$r" = "True 65534" ]; then
	ok "B's last_used_at is newer than A's, last used by uid 65534"
else
	not_ok "B's last_used_at is newer than A's, last used by nobody ($r)"
fi
A_ISSUED2=$($CTL --json audit list --event token.issue | json_eval 'len([e for e in d if e["subject"].get("key_id") == sys.argv[2]])' "$AID")
if [ "$A_ISSUED2" = "$A_ISSUED" ]; then ok "the audit trail shows no new token.issue with A"; else not_ok "no new token.issue with A ($A_ISSUED -> $A_ISSUED2)"; fi

diag "5. disable A"
check $CTL key disable ci "$AID"
if xchg 1 "$A" && [ "$(last_deny)" = "key_disabled $AID" ]; then ok "A is refused (key_disabled)"; else not_ok "A is refused (key_disabled): exit $RC, $(last_deny)"; fi
b_works "A disabled"
r=$(key_field "$AID" 'k["last_used_at"]')
[ "$r" = "$A_LAST" ] && ok "a refused attempt is no use: A's last_used_at unchanged" || not_ok "a refused attempt is no use ($A_LAST -> $r)"
# A token is no better than its key: disabling A suspends the tokens
# obtained with it (revoking A ends them).
if expect_exit 1 $CTL --json token verify "$TA" &&
   [ "$(printf '%s' "$OUT" | json_eval 'd["reason"]')" = key_disabled ]; then
	ok "a token obtained with A is suspended while A is disabled (key_disabled)"
else
	not_ok "a token obtained with A is suspended while A is disabled: $OUT"
fi
if key_create ci --label "spare"; then
	ok "the disabled A frees a slot"
	check $CTL key revoke ci "$KEYID"
else
	not_ok "the disabled A frees a slot"
fi

diag "6. revoke A"
check $CTL key revoke ci "$AID"
if xchg 1 "$A" && [ "$(last_deny)" = "key_revoked $AID" ]; then ok "A is refused (key_revoked)"; else not_ok "A is refused (key_revoked): exit $RC, $(last_deny)"; fi
b_works "A revoked"
r=$($CTL --json key list ci | json_eval '" ".join("%s:%s" % (k["label"], k["status"]) for k in d)')
if [ "$r" = "runner A:revoked runner B:active spare:revoked" ]; then ok "key list: A revoked, B active"; else not_ok "key list: A revoked, B active ($r)"; fi
check_exit 1 -d "A cannot come back" $CTL key enable ci "$AID"

diag "after a restart"
B_LAST=$(key_field "$BID" 'k["last_used_at"]')
restart_daemon || bail "daemon restarts"
r=$(key_field "$BID" 'k["last_used_at"]')
[ "$r" = "$B_LAST" ] && ok "B's last use survives a restart (flushed at shutdown)" || not_ok "B's last use survives a restart ($B_LAST -> $r)"
r=$(key_field "$AID" 'k["status"] + " " + str(k["last_used_at"])')
[ "$r" = "revoked $A_LAST" ] && ok "A is still revoked, its last use kept" || not_ok "A is still revoked, its last use kept ($r)"
b_works "after the restart"

# ==============================================================================
diag "the token-signing key"

xchg 0 "$B" || bail "token with B"
T_OLD=$OUT
printf '%s\n' "$T_OLD" >"$TMPD/old.jwt"
KID_OLD=$(jwt_part "$T_OLD" header | json_eval 'd["kid"]')
check_exit 3 -d "nobody: signing-key rotate exits 3" run_as_nobody $CTL signing-key rotate
if expect_exit 0 $CTL signing-key rotate && [[ $OUT =~ ^[A-Za-z0-9_-]{11}$ ]] && [ "$OUT" != "$KID_OLD" ]; then
	KID_NEW=$OUT
	ok "signing-key rotate prints the new kid ($KID_NEW, was $KID_OLD)"
else
	KID_NEW=""
	not_ok "signing-key rotate prints the new kid (exit $RC: $OUT $ERR)"
fi
r=$($CTL --json audit list --event signing_key.rotate --limit 1 | json_eval 'd[-1].get("detail")')
[ "$r" = "$KID_NEW" ] && ok "signing_key.rotate is audited with the new kid" || not_ok "signing_key.rotate is audited ($r)"
$CTL jwks >"$TMPD/jwks.json" </dev/null
r=$(json_eval '" ".join(sorted(k["kid"] for k in d["keys"]))' <"$TMPD/jwks.json")
want=$(printf '%s\n' "$KID_OLD" "$KID_NEW" | sort | tr '\n' ' ')
[ "$r " = "$want" ] && ok "the JWKS lists both keys" || not_ok "the JWKS lists both keys ($r)"
check -d "a token signed with the old key still verifies" $CTL token verify "$T_OLD"
xchg 0 "$B" || not_ok "token with B after the rotation"
T_NEW=$OUT
printf '%s\n' "$T_NEW" >"$TMPD/new.jwt"
r=$(jwt_part "$T_NEW" header | json_eval 'd["kid"]')
[ "$r" = "$KID_NEW" ] && ok "a new token carries the new kid" || not_ok "a new token carries the new kid ($r)"
check -d "the new token verifies" $CTL token verify "$T_NEW"
run_tap "$PY" "$TESTS_DIR/jwt_interop.py" "$TMPD/jwks.json" "$TMPD/old.jwt" "$TMPD/new.jwt"

if expect_exit 0 $CTL --json signing-key rotate && KID3=$(printf '%s' "$OUT" | json_eval 'd["kid"]') &&
	[[ $KID3 =~ ^[A-Za-z0-9_-]{11}$ ]]; then
	ok "signing-key rotate --json: {kid}"
else
	not_ok "signing-key rotate --json ($OUT)"
fi
n=$($CTL --json jwks | json_eval 'len(d["keys"])')
[ "$n" = 3 ] && ok "after a second rotation the JWKS lists 3 keys" || not_ok "after a second rotation the JWKS lists 3 keys ($n)"
restart_daemon || bail "daemon restarts"
check -d "after a restart the oldest token still verifies" $CTL token verify "$T_OLD"
check -d "after a restart the second token still verifies" $CTL token verify "$T_NEW"
xchg 0 "$B"
r=$(jwt_part "$OUT" header | json_eval 'd["kid"]')
[ "$r" = "$KID3" ] && ok "after a restart new tokens are signed with the newest key" || not_ok "after a restart new tokens are signed with the newest key ($r, want $KID3)"
