#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# API keys (DESIGN.md sections 3, 4 and 8): the key format, shown once,
# only a keyed hash at rest (and the pepper beside the database), expiry
# (default 90 days, at most 366, "never" only where the config allows it),
# max_active_keys, disable / enable / revoke (final, kept as a tombstone),
# labels, who may manage keys, and the usage errors of `svcacctctl key`.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/cred_lib.sh"

start_daemon "rate_limit_count = 1000;" || bail "daemon starts"

check $CTL account create ci
check $CTL account create other

# ==============================================================================
diag "format, shown once"

if key_create ci --label "gitlab runner"; then
	ok "key create prints a key matching $KEY_RE on stdout's last line"
else
	not_ok "key create prints a key matching $KEY_RE (stdout: ${OUT:0:100}...)"
fi
K1=$KEY K1ID=$KEYID
SECRET1=${K1:18:43}
if [ "$(printf '%s\n' "$OUT" | wc -l)" = 1 ]; then
	ok "plain key create: the key is alone on stdout"
else
	not_ok "plain key create: the key is alone on stdout ($(printf '%s\n' "$OUT" | wc -l) lines)"
fi
if [[ $ERR == *"$K1ID"* && $ERR != *"$SECRET1"* ]]; then
	ok "key create names the key id on stderr, not the key"
else
	not_ok "key create names the key id on stderr, not the key (stderr: ${ERR:0:200})"
fi
if key_checksum_ok "$K1"; then ok "the key's check characters are the CRC32 of the rest"; else not_ok "the key's check characters are the CRC32 of the rest"; fi
if ! key_checksum_ok "$(bad_checksum_key "$K1")"; then ok "checksum control: a changed key fails the check"; else not_ok "checksum control: a changed key fails the check"; fi

if expect_exit 0 $CTL --json key create ci --expires 30; then
	r=$(printf '%s' "$OUT" | json_eval '
import re
ok = re.match(r"^svca_[A-Za-z0-9]{12}_[A-Za-z0-9]{49}$", d["key"]) is not None
ok = ok and d["key"][5:17] == d["key_id"] and d["account"] == "ci" and d["status"] == "active"
ok = ok and all(k in d for k in ("label", "created_at", "created_by", "expires_at", "last_used_at"))
"yes" if ok and d["last_used_at"] is None else "no: %r" % d' 2>&1)
	if [ "$r" = yes ]; then ok "key create --json: key, key_id, account, status, timestamps"; else not_ok "key create --json fields ($r)"; fi
	K2=$(printf '%s' "$OUT" | json_eval 'd["key"]') K2ID=${K2:5:12}
else
	not_ok "key create --json"
	K2="" K2ID=""
fi

if expect_exit 0 $CTL key list ci; then
	if [[ $OUT == *"$K1ID"* && $OUT == *"$K2ID"* && $OUT != *"$SECRET1"* && $OUT != *"${K2:18:43}"* ]]; then
		ok "key list names both key ids and shows no key"
	else
		not_ok "key list names both key ids and shows no key"
		diag "$OUT"
	fi
	if printf '%s\n' "$OUT" | head -n 1 | grep -qE '^KEY_ID +LABEL +STATUS +CREATED +CREATED_BY +EXPIRES +LAST_USED$'; then
		ok "key list columns: KEY_ID LABEL STATUS CREATED CREATED_BY EXPIRES LAST_USED"
	else
		not_ok "key list columns (got: $(printf '%s\n' "$OUT" | head -n 1))"
	fi
	if printf '%s\n' "$OUT" | grep -E "^$K1ID +gitlab runner +active " | grep -qE ' never$'; then
		ok "key list row: label, status, last used never"
	else
		not_ok "key list row of $K1ID"
		diag "$OUT"
	fi
else
	not_ok "key list ci"
fi
if expect_exit 0 $CTL --json key list ci; then
	r=$(printf '%s' "$OUT" | json_eval '
ids = [k["key_id"] for k in d]
need = ("key_id", "label", "status", "created_at", "created_by", "expires_at", "last_used_at", "last_used")
"yes" if ids == [sys.argv[2], sys.argv[3]] and all(all(n in k for n in need) for k in d) and not any("key" in k for k in d) and d[0]["label"] == "gitlab runner" and d[0]["last_used"] is None else "no: %r" % d' "$K1ID" "$K2ID" 2>&1)
	if [ "$r" = yes ]; then ok "key list --json: both keys, oldest first, every field, no \"key\""; else not_ok "key list --json ($r)"; fi
else
	not_ok "key list --json ci"
fi

# ==============================================================================
diag "at rest: only the keyed hash; the pepper beside the database"

files=$(find "$STATE" -type f \( -name 'state.db' -o -name 'audit.db' -o -name 'journal*' -o -name '*.base' \) | sort)
diag "state files: $(printf '%s ' $files | sed "s#$STATE/##g")"
if [ -n "$files" ] && grep -qaF -e "$K1ID" $files; then
	ok "control: the key id is found in the state files"
else
	not_ok "control: the key id is found in the state files"
fi
if grep -qaF -e "$SECRET1" -e "${K2:18:43}" $(find "$STATE" -type f); then
	not_ok "no key secret in any file of the state dir"
	grep -laF -e "$SECRET1" -e "${K2:18:43}" $(find "$STATE" -type f) | diag
else
	ok "no key secret in any file of the state dir"
fi
# the secret's 32 raw bytes (the base62 decoded) are nowhere either
r=$("$PY" -c '
import sys
A = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
pats = []
for sec in sys.argv[1:3]:
    n = 0
    for ch in sec:
        n = n * 62 + A.index(ch)
    pats.append(n.to_bytes(32, "big"))
hits = [f for f in sys.argv[3:] if any(p in open(f, "rb").read() for p in pats)]
print(" ".join(hits) if hits else "none")
' "$SECRET1" "${K2:18:43}" $(find "$STATE" -type f))
if [ "$r" = none ]; then ok "nor the secrets' raw 32 bytes"; else not_ok "nor the secrets' raw 32 bytes (in: $r)"; fi
if [ -f "$STATE/pepper" ]; then
	m=$(stat -c '%a %U %s' "$STATE/pepper")
	if [ "$m" = "600 $(id -un) 32" ]; then ok "pepper file: 32 bytes, mode 0600, owned by the daemon's user"; else not_ok "pepper file mode/owner/size ($m)"; fi
else
	not_ok "pepper file $STATE/pepper exists"
fi

# ==============================================================================
diag "expiry"

# K1 has the default expiry, K2 30 days
if expect_exit 0 $CTL --json key list ci; then
	r=$(printf '%s' "$OUT" | json_eval '
from datetime import datetime
def t(s): return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")
k = {x["key_id"]: x for x in d}
a, b = k[sys.argv[2]], k[sys.argv[3]]
da = (t(a["expires_at"]) - t(a["created_at"])).total_seconds()
db = (t(b["expires_at"]) - t(b["created_at"])).total_seconds()
"%d %d" % (da, db)' "$K1ID" "$K2ID" 2>&1)
	if [ "$r" = "$((90 * 86400)) $((30 * 86400))" ]; then
		ok "expires_at - created_at: 90 days by default, 30 with --expires 30"
	else
		not_ok "expiry in seconds (want $((90 * 86400)) $((30 * 86400)), got $r)"
	fi
else
	not_ok "key list --json for expiry"
fi
check $CTL account create ex
for n in 1 366; do
	if key_create ex --expires "$n"; then ok "--expires $n accepted"; else not_ok "--expires $n accepted"; fi
	check $CTL key revoke ex "$KEYID"
done
check_exit 2 -d "--expires 367 (over max_key_days 366) exits 2" $CTL key create ex --expires 367
if [[ $ERR == *366* ]]; then ok "the refusal names the limit (366)"; else not_ok "the refusal names the limit (stderr: $ERR)"; fi
for bad in 0 -5 abc 12d 1.5 ""; do
	check_exit 2 -d "--expires '$bad' is a usage error" $CTL key create ex --expires "$bad"
done
check_exit 1 -d "--expires never is refused by default (exit 1)" $CTL key create ex --expires never
if [[ $ERR == *allow_nonexpiring_keys* ]]; then ok "the refusal names allow_nonexpiring_keys"; else not_ok "the refusal names allow_nonexpiring_keys (stderr: $ERR)"; fi

# ==============================================================================
diag "max_active_keys = 2"

check_exit 1 -d "a third active key is refused (exit 1)" $CTL key create ci --label third
if [[ $ERR == *max_active_keys* && $ERR == *"disable or revoke"* ]]; then
	ok "the refusal says why (max_active_keys) and what to do"
else
	not_ok "the max_active_keys refusal is clear (stderr: $ERR)"
fi
if expect_exit 0 $CTL --json key disable ci "$K1ID" &&
	[ "$(printf '%s' "$OUT" | json_eval 'd["status"] + " " + d["key_id"]')" = "disabled $K1ID" ]; then
	ok "key disable --json prints the key, status disabled"
else
	not_ok "key disable --json prints the key, status disabled"
fi
if key_create ci --label third; then ok "disabling a key frees a slot: third key created"; else not_ok "disabling a key frees a slot"; fi
K3=$KEY K3ID=$KEYID
check_exit 1 -d "enabling a key over the limit is refused (exit 1)" $CTL key enable ci "$K1ID"
if [[ $ERR == *max_active_keys* ]]; then ok "the enable refusal names max_active_keys"; else not_ok "the enable refusal names max_active_keys (stderr: $ERR)"; fi
check -d "key revoke ci K3" $CTL key revoke ci "$K3ID"
if expect_exit 0 $CTL key enable ci "$K1ID" && [ "$OUT" = "enabled key $K1ID of account ci" ]; then
	ok "with a slot free the disabled key is enabled again"
else
	not_ok "key enable after the revoke (stdout: $OUT)"
fi
xchg 0 "$K1" && [[ $OUT =~ $JWT_RE ]] && ok "the re-enabled key works" || not_ok "the re-enabled key works"

# ==============================================================================
diag "revoke is final; the revoked key stays listed"

check_exit 1 -d "key enable of a revoked key exits 1" $CTL key enable ci "$K3ID"
if [[ $ERR == *final* ]]; then ok "the message says revocation is final"; else not_ok "the message says revocation is final (stderr: $ERR)"; fi
check_exit 1 -d "key disable of a revoked key exits 1" $CTL key disable ci "$K3ID"
xchg 1 "$K3"; [ "$RC" = 1 ] && ok "token create with the revoked key exits 1" || not_ok "token create with the revoked key exits 1 (got $RC)"
if expect_exit 0 $CTL --json key list ci &&
	[ "$(printf '%s' "$OUT" | json_eval '[k["status"] for k in d if k["key_id"] == sys.argv[2]]' "$K3ID")" = '["revoked"]' ]; then
	ok "the revoked key is still listed, status revoked (tombstone)"
else
	not_ok "the revoked key is still listed, status revoked"
fi
n=$(audit_count key.revoke)
if [ "$n" -ge 3 ]; then ok "key.revoke is audited ($n events)"; else not_ok "key.revoke is audited ($n events)"; fi
for ev in key.create key.disable key.enable; do
	n=$(audit_count $ev)
	if [ "$n" -ge 1 ]; then ok "$ev is audited"; else not_ok "$ev is audited ($n)"; fi
done

# ==============================================================================
diag "not found, usage errors"

check_exit 4 -d "key disable of an unknown key id exits 4" $CTL key disable ci AAAAAAAAAAAA
check_exit 4 -d "key disable of another account's key exits 4" $CTL key disable other "$K1ID"
check_exit 4 -d "key create for an unknown account exits 4" $CTL key create nosuch
check_exit 4 -d "key list of an unknown account exits 4" $CTL key list nosuch
check_exit 2 -d "key disable with a malformed key id exits 2" $CTL key disable ci 'short'
check_exit 2 -d "key disable given the whole key (not its id) exits 2" $CTL key disable ci "$K1"
if [[ $ERR != *"$SECRET1"* && $ERR == *"key id"* ]]; then ok "... without repeating the key"; else not_ok "... without repeating the key (stderr: $ERR)"; fi
check_exit 2 -d "key create without NAME exits 2" $CTL key create
check_exit 2 -d "key create with an invalid account name exits 2" $CTL key create 'Bad Name'
check_exit 2 -d "key revoke without KEYID exits 2" $CTL key revoke ci

# ==============================================================================
diag "labels"

check $CTL account create lab
long=$(printf 'x%.0s' $(seq 65))
check_exit 2 -d "a label over 64 characters is refused (exit 2)" $CTL key create lab --label "$long"
if key_create lab --label "deploy: prod eu-1 ✓"; then
	r=$($CTL --json key list lab | json_eval 'd[0]["label"]')
	if [ "$r" = "deploy: prod eu-1 ✓" ]; then ok "a label with spaces, punctuation and UTF-8 round-trips"; else not_ok "label round-trip (got $r)"; fi
else
	not_ok "key create with a UTF-8 label"
fi
check_exit 2 -d "a label with a control character is a usage error" $CTL key create lab --label "$(printf 'a\tb')"

# ==============================================================================
diag "who may manage keys"

check_exit 3 -d "nobody: key create for an account exits 3" run_as_nobody $CTL key create ci
check_exit 3 -d "nobody: key list of another account exits 3" run_as_nobody $CTL key list ci
check_exit 3 -d "nobody: key disable exits 3" run_as_nobody $CTL key disable ci "$K1ID"
check_exit 3 -d "nobody: key revoke exits 3" run_as_nobody $CTL key revoke ci "$K1ID"
n=$(audit_count admin.deny)
if [ "$n" -ge 4 ]; then ok "the refusals are audited as admin.deny ($n)"; else not_ok "the refusals are audited as admin.deny ($n)"; fi

# ==============================================================================
diag "allow_nonexpiring_keys = true (the daemon restarted with it)"

stop_daemon
rewrite_conf "rate_limit_count = 1000;" "allow_nonexpiring_keys = true;"
start_daemon_reuse || bail "daemon restarts with allow_nonexpiring_keys = true"
if key_create ex --expires never; then
	ok "--expires never is accepted where allowed"
	if expect_exit 0 $CTL --json key list ex &&
		[ "$(printf '%s' "$OUT" | json_eval '[k["expires_at"] for k in d if k["key_id"] == sys.argv[2]]' "$KEYID")" = '[null]' ]; then
		ok "key list --json: expires_at null for a key that never expires"
	else
		not_ok "key list --json: expires_at null for a key that never expires"
	fi
	if $CTL key list ex | grep -E "^$KEYID " | grep -qE '  never  +never$'; then
		ok "key list: EXPIRES never"
	else
		not_ok "key list: EXPIRES never"
		$CTL key list ex | diag
	fi
	xchg 0 "$KEY" && ok "a key that never expires works" || not_ok "a key that never expires works"
else
	not_ok "--expires never is accepted where allowed"
fi
check_exit 2 -d "--expires 367 is still refused (exit 2)" $CTL key create ex --expires 367
