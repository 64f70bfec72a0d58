#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Who a token and a group name stand for (issue 14, findings 1-3):
#   1. a session token names its account immutably (uid claim, generations
#      unique across accounts): after "delete B, rename A to B" B's old
#      session token is refused by token verify and by PAM, and so is the
#      token of a deleted account whose name and uid are given again;
#   2. admin_groups / super_admin_groups are read from /etc/group only:
#      an account named like a configured group is refused, and an account
#      that gets such a name later (reload) does not make its private group
#      privileged, with NSS (libnss_svcacct) enabled;
#   3. no account may be named like daemon_user (default _svcacct).
# Runs in a private mount namespace (tests/pam/ns.sh) with the PAM and NSS
# modules installed there only (tests/pam/pamlib.sh).
. "$(dirname "$0")/../pam/ns.sh"
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/pam/pamlib.sh"

RELOAD_WAIT=${RELOAD_WAIT:-20}
# gids of the private /etc/group (outside the uid range) and test callers
ADM_GID=5990 ADMIN_UID=5991 PLAIN_UID=5992
BASE_CONF=('host_workspaces = [ "build-farm" ];' 'rate_limit_count = 1000;'
	'admin_groups = [ "sec-admins" ];' 'super_admin_groups = [ "sec-supers" ];')
start_daemon "${BASE_CONF[@]}" || bail "daemon starts"
# conf LINES...: rewrites the config: BASE_CONF, less the keys LINES set,
# then LINES
conf() {
	local b l keep lines=()
	for b in "${BASE_CONF[@]}"; do
		keep=1
		for l in "$@"; do [ "${b%% *}" != "${l%% *}" ] || keep=0; done
		[ "$keep" = 0 ] || lines+=("$b")
	done
	_svca_write_conf "${lines[@]}" "$@"
}
private_root
debian_commons
# the admins' group exists in the files; the super admins' group does not
# (like the shipped svcacct-admin on a host that never created it)
echo "sec-admins:x:$ADM_GID:" >>"$PRIV/group"
# (rewritten in place: /etc/passwd and /etc/group are bind mounts of them)
for f in "$PRIV/passwd" "$PRIV/group"; do
	grep -v '^_svcacct:' "$f" >"$TMPD/edit" || :
	cat "$TMPD/edit" >"$f"
done

# hup_and_wait DESC: SIGHUP, then wait (bounded) until daemon.log says the
# configuration was reloaded (or refused).  Sets RELOAD_LOG (the new lines).
hup_and_wait() {
	local lines t0
	lines=$(wc -l <"$DAEMON_LOG")
	kill -HUP "$DAEMON_PID"
	t0=$(date +%s)
	while :; do
		RELOAD_LOG=$(tail -n +$((lines + 1)) "$DAEMON_LOG")
		if [[ $RELOAD_LOG == *"configuration reloaded"* || $RELOAD_LOG == *"keeping the running"* ]]; then
			return 0
		fi
		if [ $(($(date +%s) - t0)) -ge "$RELOAD_WAIT" ] || ! daemon_alive; then
			not_ok "$1: reloaded within $RELOAD_WAIT s after SIGHUP"
			return 1
		fi
		sleep 0.1
	done
}
hup_and_wait "files with the admins' group" || bail "reload"

pam_service svca-auth <<'EOF'
auth    required @MOD@ socket=@SOCK@ timeout=10
account required @MOD@ socket=@SOCK@ timeout=10
EOF
# the session stage: pam_exec hands SVCACCT_TOKEN to a file
cat >"$PRIV/grab-token.sh" <<EOF
#!/bin/sh
[ "\$PAM_TYPE" = open_session ] || exit 0
printf '%s\n' "\${SVCACCT_TOKEN:-}" >"$TMPD/session.token"
EOF
chmod 0755 "$PRIV/grab-token.sh"
pam_service svca-sess <<EOF
auth    required @MOD@ socket=@SOCK@ timeout=10
session required @MOD@ socket=@SOCK@ timeout=10
session optional pam_exec.so $PRIV/grab-token.sh
EOF

# session_token NAME: a session token from the PAM session stage (no close:
# it stays valid), on stdout.  The session stage mints one only after this
# module's auth stage accepted a key in the same transaction (issue 14,
# finding 5): each account gets a key of its own for that.
# The key lives in $TMPD/key.NAME: session_token runs in $(...) subshells.
session_token() {
	local kf=$TMPD/key.$1
	if [ ! -s "$kf" ]; then
		$CTL key create "$1" --label session-login 2>/dev/null | tail -n 1 >"$kf" || return 1
	fi
	rm -f "$TMPD/session.token"
	timeout 30 pamtester svca-sess "$1" authenticate open_session <"$kf" >/dev/null 2>&1
	[ -s "$TMPD/session.token" ] && cat "$TMPD/session.token"
}
# claim TOKEN NAME: one claim of the token's payload
claim() {
	"$PY" -c '
import base64, json, sys
p = sys.argv[1].split(".")[1]
d = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
print(d.get(sys.argv[2], ""))' "$1" "$2"
}
# verify_rc TOKEN: the exit status of svcacctctl token verify; its output
# (shortened) in $TMPD/verify.out
verify_rc() {
	printf '%s\n' "$1" | $CTL token verify 2>&1 | tr '\n' ' ' | head -c 160 >"$TMPD/verify.out"
	echo "${PIPESTATUS[1]}"
}
as_admin() { run_as_uid_groups "$ADMIN_UID" "$ADMIN_UID" "$ADM_GID" "$@"; }

# ==============================================================================
diag "1. a deleted account's session token does not reach the account renamed to its name"

# A first, B right after: generations from the creation time (today's
# main) are a few ms apart; A's are moved up to B's below
check -d "account create id-a" $CTL account create id-a
check -d "account create id-b" $CTL account create id-b
setup_hostws editor:id-a editor:id-b
UID_A=$(acct_uid id-a) UID_B=$(acct_uid id-b)
T_B=$(session_token id-b) || bail "a session token for id-b (pamtester open_session)"
T_A=$(session_token id-a) || bail "a session token for id-a"
if [ "$(claim "$T_B" key_id)" = session ]; then
	ok "the PAM session stage issues id-b a token with key_id \"session\""
else
	not_ok "the PAM session stage issues id-b a token with key_id \"session\" ($(claim "$T_B" key_id))"
fi
if [ "$(claim "$T_B" uid)" = "$UID_B" ]; then
	ok "the token names the account's uid ($UID_B) in the uid claim"
else
	not_ok "the token names the account's uid ($UID_B) in the uid claim (got '$(claim "$T_B" uid)')"
fi
if [ ${#T_B} -lt 512 ]; then ok "the token is under 512 bytes (${#T_B})"; else not_ok "the token is under 512 bytes (${#T_B})"; fi
G_A=$(claim "$T_A" gen) G_B=$(claim "$T_B" gen)
diag "generations: id-a $G_A, id-b $G_B (uids $UID_A, $UID_B)"
if [ "$G_A" != "$G_B" ]; then ok "two accounts created one after the other have different generations"; else not_ok "two accounts created one after the other have different generations (both $G_A)"; fi
# "token revoke --account" moves a generation on: on today's main by one,
# so that id-a's generation ends up equal to id-b's (as if both had been
# created in the same millisecond)
DIFF=$((G_B - G_A))
if [ "$DIFF" -gt 0 ] && [ "$DIFF" -le 5000 ]; then
	for _ in $(seq "$DIFF"); do
		$CTL token revoke --account id-a </dev/null >/dev/null 2>&1 || break
	done
else
	diag "generations $DIFF apart: not aligned"
fi
T_A2=$(session_token id-a) || bail "a session token for id-a (after the revokes)"
G_A2=$(claim "$T_A2" gen)
diag "id-a's generation after $DIFF revokes: $G_A2"
if [ "$G_A2" != "$G_B" ]; then ok "moving id-a's generation on never gives it id-b's"; else not_ok "moving id-a's generation on never gives it id-b's (both $G_B)"; fi

if [ "$(verify_rc "$T_B")" = 0 ]; then ok "before: id-b's session token verifies"; else not_ok "before: id-b's session token verifies ($(cat "$TMPD/verify.out"))"; fi
check -d "account delete id-b" $CTL account delete id-b
check -d "account update id-a --rename id-b" $CTL account update id-a --rename id-b
# the keys go with the account: id-a's key is now the renamed id-b's
mv "$TMPD/key.id-a" "$TMPD/key.id-b"
if [ "$(acct_uid id-b)" = "$UID_A" ]; then ok "id-b is now the former id-a (uid $UID_A)"; else not_ok "id-b is now the former id-a (uid $UID_A; got $(acct_uid id-b))"; fi
rc=$(verify_rc "$T_B")
if [ "$rc" = 1 ] && grep -q unknown_account "$TMPD/verify.out"; then
	ok "the deleted id-b's session token is refused by token verify (unknown_account)"
else
	not_ok "the deleted id-b's session token is refused by token verify (exit $rc: $(cat "$TMPD/verify.out"))"
fi
pamt "$T_B" svca-auth id-b authenticate
expect_run "PAM auth as id-b with the deleted id-b's session token -> PAM_AUTH_ERR" 1 "Authentication failure"
T_NEW=$(session_token id-b) || bail "a session token for the renamed account"
pamt "$T_NEW" svca-auth id-b authenticate
expect_run "PAM auth as id-b with a token issued after the rename -> PAM_SUCCESS" 0 "successfully authenticated"
# resign TOKEN PYTHON: the token's claims changed by PYTHON (on the dict
# c), signed again with the daemon's current signing key (root reads it)
resign() {
	"$PY" -c '
import base64, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
def b64d(s): return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
def b64e(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
tok, code, keys = sys.argv[1], sys.argv[2], sys.argv[3]
h, p, _ = tok.split(".")
kid = json.loads(b64d(h))["kid"]
c = json.loads(b64d(p))
exec(code)
for line in open(keys):
    f = line.split()
    if f and f[0] == kid:
        sk = Ed25519PrivateKey.from_private_bytes(b64d(f[3])[:32])
body = h + "." + b64e(json.dumps(c, separators=(",", ":")).encode())
print(body + "." + b64e(sk.sign(body.encode())))
' "$1" "$2" "$STATE/signing.keys"
}
if "$PY" -c 'import cryptography' 2>/dev/null; then
	T_SAME=$(resign "$T_NEW" 'pass')
	rc=$(verify_rc "$T_SAME")
	if [ "$rc" = 0 ]; then ok "a token re-signed unchanged by the test verifies (the forging works)"; else not_ok "a token re-signed unchanged by the test verifies (exit $rc: $(cat "$TMPD/verify.out"))"; fi
	rc=$(verify_rc "$(resign "$T_NEW" 'del c["uid"]')")
	if [ "$rc" = 1 ] && grep -q malformed "$TMPD/verify.out"; then
		ok "a signed token without the uid claim is refused as malformed"
	else
		not_ok "a signed token without the uid claim is refused as malformed (exit $rc: $(cat "$TMPD/verify.out"))"
	fi
	for bad in '"60000"' 0 -1 4294967296 None 1.5; do
		rc=$(verify_rc "$(resign "$T_NEW" "c['uid'] = $bad")")
		if [ "$rc" = 1 ]; then ok "a signed token with uid $bad is refused"; else not_ok "a signed token with uid $bad is refused (exit $rc)"; fi
	done
	rc=$(verify_rc "$(resign "$T_NEW" "c['uid'] = $UID_B")")
	if [ "$rc" = 1 ] && grep -q unknown_account "$TMPD/verify.out"; then
		ok "a signed token with the right name and generation but another uid is refused (unknown_account)"
	else
		not_ok "a signed token with the right name and generation but another uid is refused (exit $rc: $(cat "$TMPD/verify.out"))"
	fi
else
	ok "signed tokens without or with a wrong uid claim # SKIP python3-cryptography is missing"
fi
rc=$(verify_rc "$T_A2")
if [ "$rc" = 1 ]; then ok "a token issued to id-a before the rename is refused"; else not_ok "a token issued to id-a before the rename is refused (exit $rc)"; fi

# ==============================================================================
diag "1b. a deleted account re-created with the same name and the same uid"

check -d "account delete id-b (the renamed id-a)" $CTL account delete id-b
# a range of one uid: the re-created account must get the same one
conf "uid_min = 60500;" "uid_max = 60501;"
hup_and_wait "uid range of one uid" || bail "reload"
check -d "account create id-c" $CTL account create id-c
setup_hostws editor:id-c
UID_C=$(acct_uid id-c)
T_C=$(session_token id-c) || bail "a session token for id-c"
check -d "account delete id-c" $CTL account delete id-c
rm -f "$TMPD/key.id-c" # its keys went with it
check -d "account create id-c again" $CTL account create id-c
setup_hostws editor:id-c
if [ "$(acct_uid id-c)" = "$UID_C" ]; then ok "the re-created id-c has the same uid ($UID_C)"; else not_ok "the re-created id-c has the same uid ($UID_C; got $(acct_uid id-c))"; fi
rc=$(verify_rc "$T_C")
if [ "$rc" = 1 ] && grep -q superseded "$TMPD/verify.out"; then
	ok "the deleted id-c's session token is refused by token verify (superseded)"
else
	not_ok "the deleted id-c's session token is refused by token verify (exit $rc: $(cat "$TMPD/verify.out"))"
fi
pamt "$T_C" svca-auth id-c authenticate
expect_run "PAM auth as the re-created id-c with the deleted one's session token -> PAM_AUTH_ERR" 1 "Authentication failure"
check -d "account delete id-c" $CTL account delete id-c
conf
hup_and_wait "back to the default uid range" || bail "reload"

# ==============================================================================
diag "2. privileged groups: names refused, resolved from /etc/group only"

check_exit 3 -d "a member of no configured group may not create accounts (exit 3)" \
	run_as_uid_groups "$PLAIN_UID" "$PLAIN_UID" "" $CTL account create probe-0
check -d "a member of admin_groups (sec-admins, in /etc/group) is an Admin" as_admin $CTL account create sec-helper
if expect_exit 1 as_admin $CTL account create sec-supers && [[ $ERR == *super_admin_groups* ]]; then
	ok "an Admin cannot create an account named like a super_admin_groups group (exit 1, says super_admin_groups)"
else
	not_ok "an Admin cannot create an account named like a super_admin_groups group (exit $RC)"
fi
check_exit 4 -d "... and nothing was created" $CTL account show sec-supers
if expect_exit 1 $CTL account create sec-supers && [[ $ERR == *super_admin_groups* ]]; then
	ok "root cannot either (exit 1)"
else
	not_ok "root cannot create an account named like a super_admin_groups group (exit $RC)"
fi
if expect_exit 1 as_admin $CTL account update sec-helper --rename sec-supers && [[ $ERR == *super_admin_groups* ]]; then
	ok "account update --rename to a super_admin_groups group exits 1, says super_admin_groups"
else
	not_ok "account update --rename to a super_admin_groups group exits 1 (exit $RC)"
fi
check -d "... and sec-helper keeps its name" $CTL account show sec-helper
conf 'admin_groups = [ "sec-admins", "sec-ops" ];' 'sudo_group = "sec-sudo";'
hup_and_wait "an admin group that does not exist anywhere" || bail "reload"
if expect_exit 1 $CTL account create sec-ops && [[ $ERR == *admin_groups* ]]; then
	ok "an account named like an admin_groups group is refused (exit 1, says admin_groups)"
else
	not_ok "an account named like an admin_groups group is refused (exit $RC)"
fi
if expect_exit 1 $CTL account create sec-sudo && [[ $ERR == *sudo_group* ]]; then
	ok "an account named like sudo_group is refused (exit 1, says sudo_group)"
else
	not_ok "an account named like sudo_group is refused (exit $RC)"
fi

# an account gets the name of a privileged group later, by a reload
check -d "account create late-super (named in no setting yet)" $CTL account create late-super
LATE_UID=$(acct_uid late-super)
if getent group late-super | grep -q ":$LATE_UID:"; then
	ok "NSS answers for late-super's private group (gid $LATE_UID)"
else
	not_ok "NSS answers for late-super's private group (gid $LATE_UID): $(getent group late-super)"
fi
conf 'super_admin_groups = [ "sec-supers", "late-super" ];' \
	'admin_groups = [ "sec-admins", "sec-inrange" ];'
echo "sec-inrange:x:60900:" >>"$PRIV/group"
hup_and_wait "super_admin_groups names the account late-super" || bail "reload"
if [[ $RELOAD_LOG == *"super_admin_groups names 'late-super', which is also a service account"* ]]; then
	ok "the reload warns that late-super is both a super_admin_groups group and an account"
else
	not_ok "the reload warns that late-super is both a super_admin_groups group and an account"
	printf '%s\n' "$RELOAD_LOG" | diag
fi
# ... and the NSS snapshot leaves the account out: nothing on the host takes
# its private group for the super-admin group (nor its user for daemon_user)
gone=0
for _ in $(seq 30); do
	getent group late-super >/dev/null || { gone=1; break; }
	sleep 0.1
done
if [ "$gone" = 1 ] && ! getent passwd late-super >/dev/null; then
	ok "after the reload NSS no longer answers for late-super (user or group)"
else
	not_ok "after the reload NSS no longer answers for late-super: $(getent group late-super)"
fi
if grep -q "late-super.*reserved by admin_groups, super_admin_groups or daemon_user" "$DAEMON_LOG"; then
	ok "the daemon log says why late-super is left out of the NSS snapshot"
else
	not_ok "the daemon log says why late-super is left out of the NSS snapshot"
fi
check_exit 3 -d "a process in late-super's gid is not Super Admin: account create --role super-admin exits 3" \
	run_as_uid_groups "$PLAIN_UID" "$PLAIN_UID" "$LATE_UID" $CTL account create probe-1 --role super-admin
check_exit 3 -d "... nor signing-key rotate (exit 3)" \
	run_as_uid_groups "$PLAIN_UID" "$PLAIN_UID" "$LATE_UID" $CTL signing-key rotate
check_exit 3 -d "... nor even an Admin: account list exits 3" \
	run_as_uid_groups "$PLAIN_UID" "$PLAIN_UID" "$LATE_UID" $CTL account list
check_exit 3 -d "late-super's gid as the primary group grants nothing either" \
	run_as_uid_groups "$PLAIN_UID" "$LATE_UID" "" $CTL account create probe-2 --role super-admin
if [[ $RELOAD_LOG == *"'sec-inrange' has gid 60900, inside the service accounts' range"* ]]; then
	ok "a configured group whose gid is in [uid_min, uid_max] is ignored, with a warning"
else
	not_ok "a configured group whose gid is in [uid_min, uid_max] is ignored, with a warning"
	printf '%s\n' "$RELOAD_LOG" | diag
fi
check_exit 3 -d "... and its members are not Admins (exit 3)" \
	run_as_uid_groups "$PLAIN_UID" "$PLAIN_UID" 60900 $CTL account list
check -d "the Admins of /etc/group stay Admins" as_admin $CTL account list

# ==============================================================================
diag "names at the length limit, straight to the daemon (SECURITY.md section 7: one-byte write)"

N32=a$(printf 'b%.0s' $(seq 31)) N33=${N32}c N34=${N33}d
raw_create() { "$PY" "$TESTS_DIR/proto_client.py" "$SOCK" call ACCOUNT_CREATE "F_NAME=$1"; }
if expect_exit 0 raw_create "$N32"; then ok "a 32-character name is created"; else not_ok "a 32-character name is created"; fi
if expect_exit 2 raw_create "$N33" && [[ $OUT == *"invalid account name"* ]]; then
	ok "a 33-character name is a bad request (invalid account name)"
else
	not_ok "a 33-character name is a bad request (exit $RC: ${OUT:0:200})"
fi
if expect_exit 2 raw_create "$N34" && [[ $OUT == *"too long"* ]]; then
	ok "a 34-character name is a bad request (too long)"
else
	not_ok "a 34-character name is a bad request (exit $RC: ${OUT:0:200})"
fi
check -d "the 32-character account is deleted" $CTL account delete "$N32"
if expect_exit 0 $CTL --json account list && [[ $OUT != *abbbb* ]]; then
	ok "no account of 33 or 34 characters exists"
else
	not_ok "no account of 33 or 34 characters exists (exit $RC)"
fi

# ==============================================================================
diag "3. daemon_user"

if expect_exit 1 $CTL account create _svcacct && [[ $ERR == *daemon_user* ]]; then
	ok "account create _svcacct (the default daemon_user, not a user of this host) exits 1, says daemon_user"
else
	not_ok "account create _svcacct (the default daemon_user) exits 1 (exit $RC)"
fi
check_exit 4 -d "... and nothing was created" $CTL account show _svcacct
check_exit 1 -d "account update sec-helper --rename _svcacct exits 1" $CTL account update sec-helper --rename _svcacct
conf 'daemon_user = "svcd-run";'
hup_and_wait "daemon_user = svcd-run" || bail "reload"
if [[ $RELOAD_LOG == *"configuration reloaded"* ]]; then ok "daemon_user is a setting of svcacctd.conf"; else not_ok "daemon_user is a setting of svcacctd.conf"; printf '%s\n' "$RELOAD_LOG" | diag; fi
if expect_exit 1 $CTL account create svcd-run && [[ $ERR == *daemon_user* ]]; then
	ok "account create of the configured daemon_user exits 1, says daemon_user"
else
	not_ok "account create of the configured daemon_user exits 1 (exit $RC)"
fi
check_exit 1 -d "account update --rename to the configured daemon_user exits 1" $CTL account update sec-helper --rename svcd-run
check -d "... and sec-helper keeps its name" $CTL account show sec-helper
check -d "_svcacct is an ordinary name once daemon_user is another" $CTL account create _svcacct
conf 'daemon_user = "Not A Name";'
hup_and_wait "an invalid daemon_user" || bail "reload"
if [[ $RELOAD_LOG == *"keeping the running configuration"* && $RELOAD_LOG == *daemon_user* ]]; then
	ok "an invalid daemon_user is a configuration error (the reload is refused)"
else
	not_ok "an invalid daemon_user is a configuration error"
	printf '%s\n' "$RELOAD_LOG" | diag
fi
