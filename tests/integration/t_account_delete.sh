#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Deleting an account ends its credentials for good, even when the same name
# and uid come back: its keys are revoked (audited, kept as tombstones) and
# its tokens never match the new account.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/cred_lib.sh"

# A one-uid range (uid_max is the sudo group's gid): the new account gets the
# very uid of the deleted one.
start_daemon "rate_limit_count = 1000;" "uid_min = 60000;" "uid_max = 60001;" ||
	bail "daemon starts"

check $CTL account create gone
key_create gone || bail "key create"
K=$KEY KID=$KEYID
xchg 0 "$K" || bail "token create"
T=$OUT
UID1=$($CTL --json account show gone | json_eval 'd["uid"]')

check $CTL account delete gone
if [ "$($CTL --json audit list --event key.revoke | json_eval 'len([e for e in d if e["subject"].get("key_id") == sys.argv[2] and e["reason"] == "account deleted"])' "$KID")" = 1 ]; then
	ok "account delete revokes its keys, audited as key.revoke (account deleted)"
else
	not_ok "account delete revokes its keys, audited as key.revoke (account deleted)"
fi
check $CTL account create gone
UID2=$($CTL --json account show gone | json_eval 'd["uid"]')
[ "$UID1" = "$UID2" ] && ok "the new account has the same name and uid ($UID2)" ||
	not_ok "the new account has the same name and uid ($UID1 vs $UID2)"

xchg 1 "$K"
if [ "$(last_deny)" = "key_revoked $KID" ]; then
	ok "the old key does not open the new account (key_revoked)"
else
	not_ok "the old key does not open the new account: exit $RC, $(last_deny)"
fi
if expect_exit 1 $CTL token verify "$T"; then
	ok "the old token does not verify for the new account"
else
	not_ok "the old token does not verify for the new account"
fi
expect_exit 0 $CTL --json key list gone
[ "$(printf '%s' "$OUT" | json_eval 'len(d)')" = 0 ] && ok "the new account starts with no keys" ||
	not_ok "the new account starts with no keys: $OUT"
check $CTL audit verify
