#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# pam_svcacct.so driven by pamtester (DESIGN.md sections 2, 5 and 8): every
# return code of every PAM type, against a real svcacctd, a stopped one, a
# hung one and impostors; the options; the shipped example stacks; the
# exported symbols; secrets never in a log; and valgrind.  Runs in a
# private mount namespace (tests/pam/ns.sh): /etc/pam.d and the user files
# seen here are the test's own.
. "$(dirname "$0")/../pam/ns.sh"
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/pam/pamlib.sh"

start_daemon 'host_workspaces = [ "build-farm" ];' 'rate_limit_count = 1000;' \
	'max_active_keys = 5;' 'lockout_threshold = 3;' 'lockout_seconds = 60;' ||
	bail "daemon starts"
private_root
debian_commons
setup_hostws editor:ci-deploy viewer:ci-view admin:ci-admin editor:ci-other \
	editor:ci-off editor:ci-lock editor:ci-rev

# pamtester's messages (pam_strerror)
E_AUTH="Authentication failure"
E_UNAVAIL="Authentication service cannot retrieve authentication info"
E_UNKNOWN="User not known to the underlying authentication module"
E_PERM="Permission denied"
E_MAXTRIES="Have exhausted maximum number of retries for service"
E_SERVICE="Error in service module"
E_AUTHTOK="Authentication token manipulation error"
PROMPT="API key or token: "

# ---- the stacks ------------------------------------------------------------------
# svca-auth: the recommended control: success ends auth, unknown users fall
# through (to pam_permit here, so that falling through is visible), any
# other result ends it with that result.
pam_service svca-auth <<'EOF'
auth    [success=done new_authtok_reqd=done user_unknown=ignore default=die] @MOD@ socket=@SOCK@ timeout=3 debug
auth    required pam_permit.so
account required @MOD@ socket=@SOCK@ debug
session required @MOD@ socket=@SOCK@ debug
EOF
# the account stage as sshd and sudo (the daemon maps them to login, sudo)
cp "$PRIV/pam.d/svca-auth" "$PRIV/pam.d/sshd"
cp "$PRIV/pam.d/svca-auth" "$PRIV/pam.d/sudo"
# the module alone decides (required + pam_permit): what it returns shows
pam_service svca-req <<'EOF'
auth     required @MOD@ socket=@SOCK@
auth     required pam_permit.so
account  required @MOD@ socket=@SOCK@
account  required pam_permit.so
session  required @MOD@ socket=@SOCK@
password required @MOD@ socket=@SOCK@
EOF
pam_service svca-ign <<'EOF'
auth     required @MOD@ socket=@SOCK@ ignore_unknown_user ignore_authinfo_unavail
auth     required pam_permit.so
account  required @MOD@ socket=@SOCK@ ignore_unknown_user ignore_authinfo_unavail
account  required pam_permit.so
session  required @MOD@ socket=@SOCK@ ignore_unknown_user ignore_authinfo_unavail
session  required pam_permit.so
password required @MOD@ socket=@SOCK@ ignore_unknown_user
password required pam_permit.so
EOF
# an earlier module asks (pam_unix: "Password: ") and sets PAM_AUTHTOK
pam_service svca-usefirst <<'EOF'
auth [success=ok default=ignore] pam_unix.so nodelay
auth [success=done new_authtok_reqd=done user_unknown=ignore default=die] @MOD@ socket=@SOCK@ use_first_pass
auth requisite pam_deny.so
EOF
sed 's/use_first_pass/try_first_pass/' "$PRIV/pam.d/svca-usefirst" >"$PRIV/pam.d/svca-tryfirst"
pam_service svca-tryalone <<'EOF'
auth [success=done new_authtok_reqd=done user_unknown=ignore default=die] @MOD@ socket=@SOCK@ try_first_pass
auth requisite pam_deny.so
EOF
pam_service svca-usealone <<'EOF'
auth [success=done new_authtok_reqd=done user_unknown=ignore default=die] @MOD@ socket=@SOCK@ use_first_pass
auth requisite pam_deny.so
EOF
# a program to see the PAM environment of a session (pam_exec passes it)
cat >"$PRIV/show-env.sh" <<EOF
#!/bin/sh
[ "\$PAM_TYPE" = open_session ] || exit 0
printf '%s\n' "\${SVCACCT_TOKEN:-}" >"$TMPD/session.token"
printf '%s\n' "\${SVCACCT_PAM_AUTH:-}" >"$TMPD/session.mark"
printf '%s\n' "\${SVCACCT_TOKEN:-}" | "$PY" "$PAM_HELPER" token-verify "$SOCK" >"$TMPD/session.verify" 2>&1
exit 0
EOF
chmod 0755 "$PRIV/show-env.sh"
# the session after the module's own auth (a key or token typed in)
pam_service svca-sess <<EOF
auth    required @MOD@ socket=@SOCK@ debug
session required @MOD@ socket=@SOCK@ debug
session optional pam_exec.so $PRIV/show-env.sh
EOF
# ... with no auth stage (as cron), and with another module's auth
pam_service svca-sess-only <<EOF
session required @MOD@ socket=@SOCK@ debug
session optional pam_exec.so $PRIV/show-env.sh
EOF
pam_service svca-sess-permit <<EOF
auth    required pam_permit.so
session required @MOD@ socket=@SOCK@ debug
session optional pam_exec.so $PRIV/show-env.sh
EOF

# ---- credentials -----------------------------------------------------------------
K_DEPLOY=$(key_create ci-deploy) && [ -n "$K_DEPLOY" ] || bail "key create ci-deploy"
K_DEPLOY2=$(key_create ci-deploy) || bail "key create ci-deploy (second)"
K_OTHER=$(key_create ci-other) || bail "key create ci-other"
K_VIEW=$(key_create ci-view) || bail "key create ci-view"
K_ADMIN=$(key_create ci-admin) || bail "key create ci-admin"
K_OFF=$(key_create ci-off) || bail "key create ci-off"
K_LOCK=$(key_create ci-lock) || bail "key create ci-lock"
T_DEPLOY=$(token_create "$K_DEPLOY") && [ -n "$T_DEPLOY" ] || bail "token create (ci-deploy)"
T_OTHER=$(token_create "$K_OTHER") || bail "token create (ci-other)"
T_OFF=$(token_create "$K_OFF") || bail "token create (ci-off)"
K_FORGED=$("$PY" "$PAM_HELPER" forge-key "$K_DEPLOY") || bail "forge-key"
# a typo: one character of the secret changed; the checksum no longer fits
c=${K_DEPLOY:30:1}
[ "$c" = A ] && r=B || r=A
K_TYPO="${K_DEPLOY:0:30}$r${K_DEPLOY:31}"
diag "credentials via $([ "$_PAM_CLI_KEYS" = 1 ] && echo svcacctctl || echo 'the native protocol (tests/pam/svca_pam_helper.py)')"

# last_auth_reason: reason of the newest auth.* event
last_audit() { # EVENT -> "outcome reason service" of the newest such event
	audit_json --event "$1" --limit 1 | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
e = d[-1] if d else {}
print("%s %s %s" % (e.get("outcome"), e.get("reason"), e.get("service")))'
}
check_last_audit() { # DESC EVENT WANT
	local got
	got=$(last_audit "$2")
	if [ "$got" = "$3" ]; then ok "$1"; else not_ok "$1 (newest $2: $got; want $3)"; fi
}

# ---- auth: what succeeds -----------------------------------------------------------
pamt "$K_DEPLOY" svca-auth ci-deploy authenticate
expect_run "auth: ci-deploy with its API key -> PAM_SUCCESS" 0 "successfully authenticated"
if [[ $ERR == *"$PROMPT"* ]]; then ok "auth: the prompt is \"$PROMPT\""; else not_ok "auth: the prompt is \"$PROMPT\" (stderr: $ERR)"; fi
check_last_audit "auth: audited auth.allow" auth.allow "success None svca-auth"
pamt "  $K_DEPLOY "$'\r' svca-auth ci-deploy authenticate
expect_run "auth: a pasted key with blanks around it -> PAM_SUCCESS" 0 "successfully authenticated"
pamt "$T_DEPLOY" svca-auth ci-deploy authenticate
expect_run "auth: ci-deploy with a session token -> PAM_SUCCESS" 0 "successfully authenticated"
pamt "$K_DEPLOY2" svca-auth ci-deploy authenticate
expect_run "auth: its second active key works too (rotation)" 0 "successfully authenticated"

# ---- auth: what fails ----------------------------------------------------------------
auth_refused() { # DESC INPUT USER REASON
	pamt "$2" svca-auth "$3" authenticate
	expect_run "auth: $1 -> PAM_AUTH_ERR" 1 "$E_AUTH"
	check_last_audit "auth: $1 is audited as auth.deny ($4)" auth.deny "denied $4 svca-auth"
}
auth_refused "a key with the right id and a wrong secret" "$K_FORGED" ci-deploy bad_secret
auth_refused "a key with a typo (bad checksum)" "$K_TYPO" ci-deploy bad_checksum
auth_refused "a valid key of another account" "$K_OTHER" ci-deploy wrong_account
auth_refused "a valid token of another account" "$T_OTHER" ci-deploy wrong_account
auth_refused "a password, not a key or token" "hunter2" ci-deploy malformed
auth_refused "an empty answer" $'\n' ci-deploy malformed
check_devlog "auth: what is neither a key nor a token is not sent to the daemon" "presents neither a key nor a token (not sent)"

key_set ci-deploy "$(key_id "$K_DEPLOY2")" disable || bail "key disable"
auth_refused "a disabled key" "$K_DEPLOY2" ci-deploy key_disabled
key_set ci-deploy "$(key_id "$K_DEPLOY2")" enable || bail "key enable"
pamt "$K_DEPLOY2" svca-auth ci-deploy authenticate
expect_run "auth: the key enabled again -> PAM_SUCCESS" 0 "successfully authenticated"
key_set ci-deploy "$(key_id "$K_DEPLOY2")" revoke || bail "key revoke"
auth_refused "a revoked key" "$K_DEPLOY2" ci-deploy key_revoked

$CTL account disable ci-off </dev/null >/dev/null || bail "account disable ci-off"
auth_refused "the key of a disabled account" "$K_OFF" ci-off account_disabled
# (the daemon bumps the account's token generation on disable, so it
# names the token "superseded" before it looks at the status)
pamt "$T_OFF" svca-auth ci-off authenticate
expect_run "auth: the token of a disabled account -> PAM_AUTH_ERR" 1 "$E_AUTH"
got=$(last_audit auth.deny)
case $got in
"denied account_disabled svca-auth" | "denied superseded svca-auth") ok "auth: ... audited as auth.deny ($got)" ;;
*) not_ok "auth: the token of a disabled account is audited as auth.deny (got $got)" ;;
esac

# ---- auth: lockout -> PAM_MAXTRIES ------------------------------------------------
K_LOCKF=$("$PY" "$PAM_HELPER" forge-key "$K_LOCK")
for i in 1 2; do pamt "$K_LOCKF" svca-auth ci-lock authenticate; done
expect_run "auth: wrong secrets before the lockout threshold -> PAM_AUTH_ERR" 1 "$E_AUTH"
pamt "$K_LOCKF" svca-auth ci-lock authenticate
expect_run "auth: the wrong secret that locks the key -> PAM_MAXTRIES" 1 "$E_MAXTRIES"
if [[ $ERR == *"rate limited: retry in "*" s"* ]]; then ok "auth: locked out: the user sees \"rate limited: retry in N s\""; else not_ok "auth: locked out: the user sees \"rate limited: retry in N s\" (stderr: $ERR)"; fi
pamt "$K_LOCK" svca-auth ci-lock authenticate
expect_run "auth: the right key while locked out -> PAM_MAXTRIES" 1 "$E_MAXTRIES"
check_last_audit "auth: locked out is audited" auth.deny "denied locked_out svca-auth"
pamt "$K_DEPLOY" svca-auth ci-deploy authenticate
expect_run "auth: another account's key is not locked" 0 "successfully authenticated"

# ---- auth: users that are not service accounts ---------------------------------------
pamt "" svca-auth alice authenticate
expect_run "auth: a user svcacctd does not know falls through to the next module" 0 "successfully authenticated"
if [[ $ERR != *"$PROMPT"* ]]; then ok "auth: a non-service user is not prompted for a key"; else not_ok "auth: a non-service user is not prompted for a key"; fi
pamt "" svca-req alice authenticate
expect_run "auth: module alone, unknown user -> PAM_USER_UNKNOWN" 1 "$E_UNKNOWN"
pamt "" svca-ign alice authenticate
expect_run "auth: ignore_unknown_user -> PAM_IGNORE (pam_permit decides)" 0 "successfully authenticated"
pamt "" svca-req 'Bad.Name' authenticate
expect_run "auth: a name no service account can have -> PAM_USER_UNKNOWN" 1 "$E_UNKNOWN"

# ---- auth: who is prompted without asking svcacctd first --------------------------------
# A name that NSS resolves into the range svcacctd publishes (nss_dir/range)
# and that is not in /etc/passwd is prompted at once: one request per login
# (PAM_AUTH) instead of two (ACCOUNT_SHOW, then PAM_AUTH).
lookups() { grep -c "lookup: $1 is a service account\$" "$DEVLOG"; }
if [ -n "$DEVLOG" ]; then
	l0=$(lookups ci-deploy)
	pamt "$K_DEPLOY" svca-auth ci-deploy authenticate
	expect_run "auth, service account known to NSS: PAM_SUCCESS" 0 "successfully authenticated"
	if [[ $ERR == *"$PROMPT"* ]]; then ok "auth, service account known to NSS: prompted"; else not_ok "auth, service account known to NSS: prompted (stderr: $ERR)"; fi
	sleep 0.2
	check_devlog "auth, service account known to NSS: no lookup request" \
		"lookup: ci-deploy is a service account per NSS (uid $(acct_uid ci-deploy) in 60000-60999); not asking svcacctd"
	if [ "$(lookups ci-deploy)" = "$l0" ]; then ok "auth: NSS said so: svcacctd was not asked before the prompt"; else not_ok "auth: NSS said so: svcacctd was not asked before the prompt"; fi
else
	ok "auth, service account known to NSS # SKIP syslog not captured"
fi
# a local user (in /etc/passwd) whose uid lies in the service account range:
# NSS is not enough, svcacctd decides, and it does not know the user
make_local_user localinrange 60990 'hunter2-inrange'
pamt "" svca-auth localinrange authenticate
expect_run "auth: local user with a uid in the range: falls through (unknown to svcacctd)" 0 "successfully authenticated"
if [[ $ERR != *"$PROMPT"* ]]; then ok "auth: local user with a uid in the range: not prompted"; else not_ok "auth: local user with a uid in the range: not prompted (stderr: $ERR)"; fi
pamt "" svca-req localinrange authenticate
expect_run "auth: local user with a uid in the range, module alone -> PAM_USER_UNKNOWN" 1 "$E_UNKNOWN"
# a name NSS does not know at all: svcacctd decides (not prompted)
pamt "" svca-req nosuchuser authenticate
expect_run "auth: a name unknown to NSS and svcacctd -> PAM_USER_UNKNOWN" 1 "$E_UNKNOWN"
if [[ $ERR != *"$PROMPT"* ]]; then ok "auth: a name unknown to NSS and svcacctd: not prompted"; else not_ok "auth: a name unknown to NSS and svcacctd: not prompted (stderr: $ERR)"; fi

# ---- auth: use_first_pass / try_first_pass ---------------------------------------------
pamt "$K_DEPLOY" svca-usefirst ci-deploy authenticate
expect_run "use_first_pass: the key typed at pam_unix's prompt -> PAM_SUCCESS" 0 "successfully authenticated"
if [[ $ERR == *"Password: "* && $ERR != *"$PROMPT"* ]]; then ok "use_first_pass: asked once, by pam_unix only"; else not_ok "use_first_pass: asked once, by pam_unix only (stderr: $ERR)"; fi
pamt "$K_FORGED" svca-usefirst ci-deploy authenticate
expect_run "use_first_pass: a wrong key -> failure" 1 "$E_AUTH"
pamt "$K_DEPLOY" svca-tryfirst ci-deploy authenticate
expect_run "try_first_pass: the earlier module's authtok -> PAM_SUCCESS" 0 "successfully authenticated"
if [[ $ERR != *"$PROMPT"* ]]; then ok "try_first_pass: no second prompt"; else not_ok "try_first_pass: no second prompt"; fi
pamt "$K_DEPLOY" svca-tryalone ci-deploy authenticate
expect_run "try_first_pass with no earlier authtok: prompts -> PAM_SUCCESS" 0 "successfully authenticated"
pamt "$K_DEPLOY" svca-usealone ci-deploy authenticate
expect_run "use_first_pass with no earlier authtok: no prompt -> PAM_AUTH_ERR" 1 "$E_AUTH"
if [[ $ERR != *"$PROMPT"* ]]; then ok "use_first_pass: never prompts"; else not_ok "use_first_pass: never prompts"; fi

# ---- account ------------------------------------------------------------------------
pamt "" sshd ci-view acct_mgmt
expect_run "account: viewer via sshd -> PAM_PERM_DENIED" 1 "$E_PERM"
if [[ $ERR == *"ci-view may not use sshd on this host"* ]]; then
	ok "account: the daemon's message is shown to the user"
else
	not_ok "account: the daemon's message is shown to the user (stderr: $ERR)"
fi
check_last_audit "account: the refusal is audited" auth.deny "denied no_capability sshd"
pamt "" sshd ci-deploy acct_mgmt
expect_run "account: editor via sshd -> PAM_SUCCESS" 0 "account management done"
check_last_audit "account: the allow is audited" auth.allow "success None sshd"
pamt "" sudo ci-deploy acct_mgmt
expect_run "account: editor via sudo -> PAM_PERM_DENIED" 1 "$E_PERM"
if [[ $ERR == *"ci-deploy may not use sudo on this host"* ]]; then ok "account: message \"ci-deploy may not use sudo on this host\""; else not_ok "account: message for sudo (stderr: $ERR)"; fi
pamt "" sudo ci-admin acct_mgmt
expect_run "account: admin via sudo -> PAM_SUCCESS" 0 "account management done"
pamt "" svca-auth ci-deploy acct_mgmt
expect_run "account: a PAM service that maps to no capability -> PAM_PERM_DENIED" 1 "$E_PERM"
pamt "" sshd ci-off acct_mgmt
expect_run "account: a disabled account -> PAM_PERM_DENIED" 1 "ci-off is disabled"
pamt "" svca-req alice acct_mgmt
expect_run "account: unknown user -> PAM_USER_UNKNOWN" 1 "$E_UNKNOWN"
pamt "" svca-ign alice acct_mgmt
expect_run "account: ignore_unknown_user -> PAM_IGNORE" 0 "account management done"
# auth and account in one PAM transaction: the daemon decided the account
# stage with the auth request (one durable write), the module reuses it.
pamt "$K_DEPLOY" svca-auth ci-deploy authenticate acct_mgmt
expect_run "auth + account in one transaction: auth passes, the account stage refuses an unmapped service" 1 "$E_PERM"
check_devlog "auth + account in one transaction: the account stage used the decision made with auth" \
	"account: ci-deploy: decision made with auth"
run_in "" timeout 30 pamtester -I rhost=203.0.113.7 -I tty=pts/9 sshd ci-deploy acct_mgmt
expect_run "account: with PAM_RHOST and PAM_TTY" 0 "account management done"
audit_has "account: rhost and tty reach the audit trail" \
	'any(e["event"] == "auth.allow" and e.get("rhost") == "203.0.113.7" for e in d)'

# ---- session ------------------------------------------------------------------------
rm -f "$TMPD/session.token"
pamt "$K_DEPLOY" svca-sess ci-deploy authenticate open_session close_session
expect_run "session: auth with the key, open + close -> PAM_SUCCESS" 0 "session has successfully been closed"
STOK=$(cat "$TMPD/session.token" 2>/dev/null)
if [ -n "$STOK" ]; then ok "session: SVCACCT_TOKEN is in the session's PAM environment"; else not_ok "session: SVCACCT_TOKEN is in the session's PAM environment"; fi
if grep -q '^valid ci-deploy' "$TMPD/session.verify" 2>/dev/null; then
	ok "session: the token works during the session"
else
	not_ok "session: the token works during the session ($(cat "$TMPD/session.verify" 2>/dev/null))"
fi
if [ -n "$STOK" ] && ! token_valid "$STOK"; then ok "session: close revoked it"; else not_ok "session: close revoked it"; fi
audit_has "session: session.open, session.close and token.revoke name the same jti" '(
[e["subject"].get("jti") for e in d if e["event"] == "session.open"][-1:] ==
[e["subject"].get("jti") for e in d if e["event"] == "session.close"][-1:] ==
[e["subject"].get("jti") for e in d if e["event"] == "token.revoke"][-1:] != [None])'
audit_has "session: the audit names the pid" \
	'[e.get("detail", "") for e in d if e["event"] == "session.open"][-1].startswith("pid ")'
# close in another process than open (sshd privsep): the token comes from
# the PAM environment
T_ENV=$(token_create "$K_DEPLOY")
run_in "" timeout 30 pamtester -E "SVCACCT_TOKEN=$T_ENV" svca-sess ci-deploy close_session
expect_run "session: close without open, token from pam_getenv -> PAM_SUCCESS" 0 "session has successfully been closed"
if ! token_valid "$T_ENV"; then ok "session: that token is revoked"; else not_ok "session: that token is revoked"; fi
check_devlog "session: the module says where the token came from" "token from environment"
if [ "$(cat "$TMPD/session.mark" 2>/dev/null)" = "" ]; then ok "session: the auth mark is not in the session's environment"; else not_ok "session: the auth mark is not in the session's environment"; fi
rm -f "$TMPD/session.token"
pamt "$T_DEPLOY" svca-sess ci-deploy authenticate open_session close_session
expect_run "session: auth with a session token, open + close -> PAM_SUCCESS" 0 "session has successfully been closed"
if grep -q '^valid ci-deploy' "$TMPD/session.verify" 2>/dev/null; then ok "session: auth with a token: a fresh SVCACCT_TOKEN"; else not_ok "session: auth with a token: a fresh SVCACCT_TOKEN"; fi

# the environment mark is for sshd's forked auth; pam_setcred in the
# process that authenticated (su, sudo, login) drops it (pam_set_data does)
cat >"$PRIV/show-mark.sh" <<EOF
#!/bin/sh
[ "\$PAM_TYPE" = open_session ] || exit 0
printf '%s\n' "\${SVCACCT_PAM_AUTH:-}" >"$TMPD/session.mark-early"
exit 0
EOF
chmod 0755 "$PRIV/show-mark.sh"
pam_service svca-setcred <<EOF
auth    required @MOD@ socket=@SOCK@
session optional pam_exec.so $PRIV/show-mark.sh
session required @MOD@ socket=@SOCK@
session optional pam_exec.so $PRIV/show-env.sh
EOF
rm -f "$TMPD/session.mark-early" "$TMPD/session.token"
pamt "$K_DEPLOY" svca-setcred ci-deploy authenticate open_session close_session
if [ "$RC" = 0 ] && grep -q '^[0-9]*\.[0-9a-f]\{32\}$' "$TMPD/session.mark-early" 2>/dev/null && [ -n "$(cat "$TMPD/session.token")" ]; then
	ok "auth without setcred: the auth mark waits in the PAM environment for the session stage"
else
	not_ok "auth without setcred: the auth mark waits in the PAM environment (exit $RC)"
fi
rm -f "$TMPD/session.mark-early" "$TMPD/session.token"
pamt "$K_DEPLOY" svca-setcred ci-deploy authenticate setcred open_session close_session
if [ "$RC" = 0 ] && [ -e "$TMPD/session.mark-early" ] && [ -z "$(cat "$TMPD/session.mark-early")" ]; then
	ok "auth + setcred in one process: the auth mark is dropped from the PAM environment"
else
	not_ok "auth + setcred in one process: the auth mark is dropped from the PAM environment (exit $RC)"
fi
if grep -q '^valid ci-deploy' "$TMPD/session.verify" 2>/dev/null; then ok "... and the session still gets SVCACCT_TOKEN (pam_set_data)"; else not_ok "... and the session still gets SVCACCT_TOKEN (pam_set_data)"; fi

# ---- session: a token only after auth with a svcacct credential (issue 14, #5) ----
# sshd publickey and cron open a session without the module's auth: a
# planted authorized_keys or crontab must not mint tokens after every key
# and token of the account was revoked.
no_token_session() { # DESC INPUT SERVICE USER OPS...
	local desc=$1 n0 last
	shift
	rm -f "$TMPD/session.token" "$TMPD/session.mark"
	n0=$(audit_json --event session.open | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
	pamt "$@"
	expect_run "$desc: the session opens (PAM_SUCCESS)" 0 "session has successfully been"
	if [ -e "$TMPD/session.token" ] && [ -z "$(cat "$TMPD/session.token")" ]; then
		ok "$desc: no SVCACCT_TOKEN in the session"
	else
		not_ok "$desc: no SVCACCT_TOKEN in the session (got: $(head -c 20 "$TMPD/session.token" 2>/dev/null)...)"
	fi
	last=$(audit_json --event session.open | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
e = d[-1] if d else {}
print(len(d), e.get("reason"), (e.get("subject") or {}).get("jti"))')
	if [ "$last" = "$((n0 + 1)) no_token None" ]; then
		ok "$desc: audited as session.open, reason no_token, no jti"
	else
		not_ok "$desc: audited as session.open, reason no_token (got: count reason jti = $last; before: $n0)"
	fi
}
no_token_session "session without an auth stage (cron)" "" svca-sess-only ci-deploy open_session close_session
check_devlog "session without auth: the module says why there is no token" \
	"no SVCACCT_TOKEN: this login did not authenticate with a svcacct key or token"
no_token_session "session after pam_permit's auth" "" svca-sess-permit ci-deploy authenticate open_session close_session
# a forged mark in the PAM environment (pam_env user_readenv=1 reads
# ~/.pam_environment) is not honoured, and is not passed on
rm -f "$TMPD/session.token" "$TMPD/session.mark"
run_in "" timeout 30 pamtester -E "SVCACCT_PAM_AUTH=1.00000000000000000000000000000000" \
	svca-sess-only ci-deploy open_session
if [ "$RC" = 0 ] && [ -e "$TMPD/session.token" ] && [ -z "$(cat "$TMPD/session.token")" ]; then
	ok "a forged auth mark in the PAM environment: no token"
else
	not_ok "a forged auth mark in the PAM environment: no token (exit $RC)"
fi
if [ -e "$TMPD/session.mark" ] && [ -z "$(cat "$TMPD/session.mark")" ]; then ok "a forged auth mark: removed from the session's environment"; else not_ok "a forged auth mark: removed from the session's environment"; fi
check_devlog "a forged auth mark is logged as not valid" "the auth mark in the PAM environment is not valid: ignored"
# the finding: every key and token revoked, and the session stage still minted
K_REV=$(key_create ci-rev) || bail "key create ci-rev"
T_REV=$(token_create "$K_REV") || bail "token create ci-rev"
pamt "$K_REV" svca-sess ci-rev authenticate open_session close_session
expect_run "ci-rev logs in with its key: auth + session" 0 "session has successfully been closed"
if grep -q '^valid ci-rev' "$TMPD/session.verify" 2>/dev/null; then ok "ci-rev: SVCACCT_TOKEN while its key is valid"; else not_ok "ci-rev: SVCACCT_TOKEN while its key is valid"; fi
key_set ci-rev "$(key_id "$K_REV")" revoke || bail "key revoke ci-rev"
$CTL token revoke --account ci-rev </dev/null >/dev/null || bail "token revoke --account ci-rev"
if ! token_valid "$T_REV"; then ok "ci-rev: its token is revoked"; else not_ok "ci-rev: its token is revoked"; fi
pamt "$K_REV" svca-sess ci-rev authenticate open_session
expect_run "ci-rev, key revoked: auth refused" 1 "$E_AUTH"
pamt "" sshd ci-rev acct_mgmt
expect_run "ci-rev, key revoked: the account stage still allows (publickey, cron)" 0 "account management done"
no_token_session "ci-rev, every key and token revoked, session without svcacct auth" "" \
	svca-sess-only ci-rev open_session close_session
pam_service cron <<EOF
account required @MOD@ socket=@SOCK@
session required @MOD@ socket=@SOCK@
session optional pam_exec.so $PRIV/show-env.sh
EOF
no_token_session "ci-rev as cron (account + session)" "" cron ci-rev acct_mgmt open_session close_session

pamt "" svca-req alice open_session
expect_run "session: unknown user -> PAM_USER_UNKNOWN" 1 "User not known"
pamt "" svca-ign alice open_session close_session
expect_run "session: ignore_unknown_user -> PAM_IGNORE" 0 "session has successfully been closed"
pamt "" svca-req ci-off open_session
expect_run "session: a disabled account gets no session" 1 "session"

# ---- password -----------------------------------------------------------------------
pamt "" svca-req ci-deploy chauthtok
expect_run "password: refused for a service account -> PAM_AUTHTOK_ERR" 1 "$E_AUTHTOK"
if [[ $ERR == *"use 'svcacctctl key create/revoke'"* ]]; then ok "password: the message points at svcacctctl key"; else not_ok "password: the message points at svcacctctl key (stderr: $ERR)"; fi
pamt "" svca-ign alice chauthtok
expect_run "password: not a service account: not refused (PAM_IGNORE with ignore_unknown_user)" 0 ""

# ---- not root: svcacctd answers PAM requests from root only ------------------------
n0=$(audit_json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
run_in "$K_DEPLOY" timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups -- pamtester svca-req ci-deploy authenticate
expect_run "not root: auth -> PAM_AUTHINFO_UNAVAIL" 1 "$E_UNAVAIL"
n1=$(audit_json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
if [ "$n0" = "$n1" ]; then ok "not root: the daemon is not even asked (nothing audited)"; else not_ok "not root: the daemon is not even asked ($n0 -> $n1 events)"; fi

# ---- options: unknown or malformed ones fail closed ------------------------------------
for opt in frobnicate timeout=0 timeout=61 timeout=5s socket=relative.sock "daemon_user="; do
	pam_service svca-bad <<-EOF
		auth     required @MOD@ socket=@SOCK@ $opt
		auth     required pam_permit.so
		account  required @MOD@ socket=@SOCK@ $opt
		account  required pam_permit.so
		session  required @MOD@ socket=@SOCK@ $opt
		session  required pam_permit.so
	EOF
	pamt "$K_DEPLOY" svca-bad ci-deploy authenticate
	expect_run "option '$opt': auth fails closed (PAM_SERVICE_ERR)" 1 "$E_SERVICE"
	pamt "" svca-bad ci-deploy acct_mgmt
	expect_run "option '$opt': account fails closed" 1 "$E_SERVICE"
	pamt "" svca-bad ci-deploy open_session
	expect_run "option '$opt': session fails closed" 1 "$E_SERVICE"
done
check_devlog "an unknown option is logged" "unknown option 'frobnicate': refusing to run"
pam_service svca-du <<'EOF'
auth required @MOD@ socket=@SOCK@ daemon_user=no-such-user-here timeout=60
auth required pam_permit.so
EOF
pamt "$K_DEPLOY" svca-du ci-deploy authenticate
expect_run "daemon_user that does not exist: root is still trusted" 0 "successfully authenticated"
# daemon_user is resolved once per PAM transaction (lookup + auth + account
# ask the daemon, or keep its decision), and again in the next transaction
# ("cron": a service the daemon maps to login by default).
pam_service cron <<'EOF'
auth    required @MOD@ socket=@SOCK@ daemon_user=nobody debug
account required @MOD@ socket=@SOCK@ daemon_user=nobody debug
EOF
if [ -n "$DEVLOG" ]; then
	n0=$(grep -c 'trusting root and nobody' "$DEVLOG")
	pamt "$K_DEPLOY" cron ci-deploy authenticate acct_mgmt
	expect_run "daemon_user resolved once: auth + account succeed" 0 "successfully authenticated"
	sleep 0.2
	n1=$(grep -c 'trusting root and nobody' "$DEVLOG")
	if [ "$((n1 - n0))" = 1 ]; then ok "daemon_user is resolved once per transaction"; else not_ok "daemon_user is resolved once per transaction (resolved $((n1 - n0)) times)"; fi
	pamt "$K_DEPLOY" cron ci-deploy authenticate
	sleep 0.2
	n2=$(grep -c 'trusting root and nobody' "$DEVLOG")
	if [ "$((n2 - n1))" = 1 ]; then ok "daemon_user: the next transaction resolves it again"; else not_ok "daemon_user: the next transaction resolves it again ($((n2 - n1)))"; fi
else
	ok "daemon_user is resolved once per transaction # SKIP syslog not captured"
fi

# ---- the shipped example stacks (etc/pam.d/*.svcacct-example) ---------------------------
make_local_user localbob 61500 'hunter2-local'
nss_resolves ci-deploy "$(acct_uid ci-deploy)"
nss_resolves ci-view "$(acct_uid ci-view)"
install_example etc/pam.d/sshd.svcacct-example sshd
pamt "$K_DEPLOY" sshd ci-deploy authenticate acct_mgmt
expect_run "example sshd stack: service account with its key -> auth + account ok" 0 "account management done"
pamt "$K_FORGED"$'\n'"$K_FORGED" sshd ci-deploy authenticate
expect_run "example sshd stack: wrong key -> refused" 1 "$E_AUTH"
if [[ $ERR != *"Password: "* ]]; then ok "example sshd stack: a wrong key never reaches pam_unix"; else not_ok "example sshd stack: a wrong key never reaches pam_unix (stderr: $ERR)"; fi
pamt "$K_VIEW" sshd ci-view authenticate acct_mgmt
expect_run "example sshd stack: viewer -> refused at the account stage" 1 "ci-view may not use sshd on this host"
pamt "hunter2-local" sshd localbob authenticate acct_mgmt
expect_run "example sshd stack: a local user logs in with the local password" 0 "account management done"
if [[ $ERR == *"Password: "* && $ERR != *"$PROMPT"* ]]; then ok "example sshd stack: a local user sees pam_unix's prompt only"; else not_ok "example sshd stack: a local user sees pam_unix's prompt only (stderr: $ERR)"; fi
install_example etc/pam.d/sudo.svcacct-example sudo
pamt "$K_ADMIN" sudo ci-admin authenticate acct_mgmt
expect_run "example sudo stack: admin with its key -> ok" 0 "account management done"
pamt "$K_DEPLOY" sudo ci-deploy authenticate acct_mgmt
expect_run "example sudo stack: editor -> refused at the account stage" 1 "ci-deploy may not use sudo on this host"

# ---- svcacctd stopped -------------------------------------------------------------------
stop_daemon
pamt "$K_DEPLOY" svca-auth ci-deploy authenticate
expect_run "daemon stopped: auth -> PAM_AUTHINFO_UNAVAIL" 1 "$E_UNAVAIL"
if [ "$MS" -lt 2000 ]; then ok "daemon stopped: auth answers at once ($MS ms)"; else not_ok "daemon stopped: auth answers at once ($MS ms)"; fi
pamt "" sshd ci-deploy acct_mgmt
expect_run "daemon stopped: account -> never success" 1 ""
pamt "" svca-req ci-deploy acct_mgmt
expect_run "daemon stopped: account -> PAM_AUTHINFO_UNAVAIL" 1 "$E_UNAVAIL"
pamt "" svca-req ci-deploy open_session
expect_run "daemon stopped: session -> PAM_AUTHINFO_UNAVAIL" 1 "$E_UNAVAIL"
pamt "$K_DEPLOY" svca-ign ci-deploy authenticate
expect_run "daemon stopped: ignore_authinfo_unavail -> PAM_IGNORE" 0 "successfully authenticated"
pamt "$K_DEPLOY" sshd ci-deploy authenticate
expect_run "daemon stopped, example sshd stack: a service account is refused" 1 ""
pamt "hunter2-local" sshd localbob authenticate acct_mgmt open_session close_session
expect_run "daemon stopped, example sshd stack: a local user is not blocked" 0 "session has successfully been closed"
start_daemon_reuse || bail "daemon starts again"

# ---- a hung daemon: bounded by timeout= --------------------------------------------------
bg "$PY" "$PAM_HELPER" fake-daemon silent "$TMPD/hung.sock" "$TMPD/hung.log" 2>/dev/null
for _ in $(seq 100); do [ -S "$TMPD/hung.sock" ] && break; sleep 0.02; done
pam_service svca-hung <<EOF
auth    required @MOD@ socket=$TMPD/hung.sock timeout=2
account required @MOD@ socket=$TMPD/hung.sock timeout=2
EOF
pam_service svca-hung-first <<EOF
auth [success=ok default=ignore] pam_unix.so nodelay
auth required @MOD@ socket=$TMPD/hung.sock timeout=2 use_first_pass
EOF
bounded() { # DESC: the last run took 2 s (timeout=2) and at most 3.5 s
	if [ "$MS" -ge 1900 ] && [ "$MS" -le 3500 ]; then ok "$1 ($MS ms)"; else not_ok "$1 ($MS ms, want 2000..3500)"; fi
}
pamt "$K_DEPLOY" svca-hung ci-deploy authenticate
expect_run "hung daemon: auth -> PAM_AUTHINFO_UNAVAIL" 1 "$E_UNAVAIL"
bounded "hung daemon: auth gives up after timeout=2"
pamt "$K_DEPLOY" svca-hung-first ci-deploy authenticate
expect_run "hung daemon, the request with the key: -> PAM_AUTHINFO_UNAVAIL" 1 "$E_UNAVAIL"
bounded "hung daemon: the key request gives up after timeout=2"
pamt "" svca-hung ci-deploy acct_mgmt
expect_run "hung daemon: account -> PAM_AUTHINFO_UNAVAIL" 1 "$E_UNAVAIL"
bounded "hung daemon: account gives up after timeout=2"

# ---- impostors: the secret is never sent -----------------------------------------------
start_fake() { # NAME DIR [fake-daemon options]
	local name=$1 dir=$2
	shift 2
	bg "$PY" "$PAM_HELPER" fake-daemon ok "$dir/$name.sock" "$TMPD/$name.log" "$@" 2>"$TMPD/$name.err"
	for _ in $(seq 100); do [ -S "$dir/$name.sock" ] && [ -e "$TMPD/$name.log" ] && return 0; sleep 0.02; done
	diag "fake daemon $name did not start: $(cat "$TMPD/$name.err")"
	return 1
}
impostor_stack() { # NAME SOCKET [OPTIONS]
	pam_service "svca-$1" <<-EOF
		auth [success=ok default=ignore] pam_unix.so nodelay
		auth required @MOD@ socket=$2 use_first_pass ${3:-}
		account required @MOD@ socket=$2 ${3:-}
	EOF
}
sent_secret() { grep -q 'key=1\|token=1' "$TMPD/$1.log" 2>/dev/null; }

start_fake chowned "$TMPD" --chown 65534 || not_ok "fake daemon (socket owned by nobody) starts"
impostor_stack chowned "$TMPD/chowned.sock"
pamt "$K_DEPLOY" svca-chowned ci-deploy authenticate
expect_run "socket owned by another user: refused -> PAM_AUTHINFO_UNAVAIL" 1 "$E_UNAVAIL"
if [ ! -s "$TMPD/chowned.log" ]; then ok "socket owned by another user: not even connected to"; else not_ok "socket owned by another user: not even connected to ($(cat "$TMPD/chowned.log"))"; fi

start_fake peer "$TMPD" --setuid 65534 || not_ok "fake daemon (server runs as nobody) starts"
impostor_stack peer "$TMPD/peer.sock"
pamt "$K_DEPLOY" svca-peer ci-deploy authenticate
expect_run "server not root nor daemon_user (SO_PEERCRED): refused -> PAM_AUTHINFO_UNAVAIL" 1 "$E_UNAVAIL"
if ! sent_secret peer && ! grep -q 'CMD=' "$TMPD/peer.log"; then ok "SO_PEERCRED mismatch: nothing was sent"; else not_ok "SO_PEERCRED mismatch: nothing was sent ($(cat "$TMPD/peer.log"))"; fi
check_devlog "SO_PEERCRED mismatch is logged" "the server is not running as root or the daemon's user; nothing was sent"
impostor_stack peer-du "$TMPD/peer.sock" daemon_user=nobody
pamt "$K_DEPLOY" svca-peer-du ci-deploy authenticate
expect_run "daemon_user=nobody: a server running as nobody is trusted (it says yes)" 0 "successfully authenticated"
if sent_secret peer; then ok "daemon_user=nobody: then the key is sent"; else not_ok "daemon_user=nobody: then the key is sent ($(cat "$TMPD/peer.log"))"; fi

mkdir -m 0777 "$TMPD/open"
chmod 0777 "$TMPD/open"
start_fake opendir "$TMPD/open" || not_ok "fake daemon (world-writable dir) starts"
impostor_stack opendir "$TMPD/open/opendir.sock"
pamt "$K_DEPLOY" svca-opendir ci-deploy authenticate
expect_run "socket in a world-writable directory: refused" 1 "$E_UNAVAIL"
if [ ! -s "$TMPD/opendir.log" ]; then ok "world-writable directory: not connected to"; else not_ok "world-writable directory: not connected to"; fi

# ---- how the answer is read (common/sockio.c: wait, then header + body in one recv) ----
for mode in trickle big extra short; do
	bg "$PY" "$PAM_HELPER" fake-daemon "$mode" "$TMPD/rd-$mode.sock" "$TMPD/rd-$mode.log" 2>/dev/null
	for _ in $(seq 100); do [ -S "$TMPD/rd-$mode.sock" ] && break; sleep 0.02; done
	impostor_stack "rd-$mode" "$TMPD/rd-$mode.sock"
	pamt "$K_DEPLOY" "svca-rd-$mode" ci-deploy authenticate acct_mgmt
	case $mode in
	trickle) expect_run "reply in 5-byte pieces: read whole -> PAM_SUCCESS" 0 "account management done" ;;
	big) expect_run "reply longer than the first read: read whole -> PAM_SUCCESS" 0 "account management done" ;;
	extra) expect_run "stray bytes after the reply: ignored -> PAM_SUCCESS" 0 "account management done" ;;
	short) expect_run "reply cut short (connection closed mid-body) -> PAM_AUTHINFO_UNAVAIL" 1 "$E_UNAVAIL" ;;
	esac
done

# ---- exported symbols and libraries -------------------------------------------------------
syms=$(nm -D --defined-only "$PAM_MOD" | awk '$2 ~ /^[TtDdBbRrVvWwi]$/ {print $3}' | sort | tr '\n' ' ')
want="pam_sm_acct_mgmt pam_sm_authenticate pam_sm_chauthtok pam_sm_close_session pam_sm_open_session pam_sm_setcred "
if [ "$syms" = "$want" ]; then ok "exports exactly the pam_sm_* functions"; else not_ok "exports exactly the pam_sm_* functions (got: $syms)"; fi
rsyms=$(readelf --dyn-syms -W "$PAM_MOD" | awk '$7 != "UND" && $5 == "GLOBAL" {print $8}' | sed 's/@.*//' | sort | tr '\n' ' ')
if [ "$rsyms" = "$want" ]; then ok "readelf agrees: no other global symbol"; else not_ok "readelf agrees (got: $rsyms)"; fi
needed=$(readelf -d "$PAM_MOD" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
if [ "$needed" = "libc.so.6 libpam.so.0 " ]; then ok "links libc and libpam only"; else not_ok "links libc and libpam only (NEEDED: $needed)"; fi

# ---- valgrind ------------------------------------------------------------------------------
if command -v valgrind >/dev/null; then
	# The module is preloaded so that libpam's dlclose does not unload it
	# before valgrind's leak report (which would show "???" frames).
	vg() { # NAME INPUT SERVICE USER OPS...
		local name=$1 input=$2
		shift 2
		run_in "$input" timeout 60 env LD_PRELOAD="$PAM_MOD" valgrind -q --error-exitcode=99 \
			--leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
			--suppressions="$TESTS_DIR/pam/valgrind.supp" --log-file="$TMPD/vg.$name.log" \
			pamtester "$@"
		local vgerr
		vgerr=$(grep -c 'ERROR SUMMARY: [1-9]\|definitely lost\|Invalid \|uninitialised' "$TMPD/vg.$name.log")
		if [ "$RC" != 99 ] && [ "$vgerr" = 0 ]; then
			ok "valgrind: $name: no errors, no leaks"
		else
			not_ok "valgrind: $name: no errors, no leaks (exit $RC)"
			head -n 60 "$TMPD/vg.$name.log" | diag
		fi
	}
	vg "key: auth, account, session open+close" "$K_DEPLOY" svca-auth ci-deploy authenticate acct_mgmt open_session close_session
	vg "token: auth" "$T_DEPLOY" svca-auth ci-deploy authenticate
	vg "wrong key, refusals" "$K_FORGED" svca-auth ci-deploy authenticate
	vg "account denied, message shown" "" sudo ci-deploy acct_mgmt
	vg "password refused" "" svca-req ci-deploy chauthtok
	vg "unknown option" "" svca-bad ci-deploy authenticate acct_mgmt
	vg "impostor refused" "$K_DEPLOY" svca-peer ci-deploy authenticate
	vg "close with the token from the environment" "" svca-sess ci-deploy close_session
	stop_daemon
	vg "daemon down" "$K_DEPLOY" svca-auth ci-deploy authenticate acct_mgmt open_session
	start_daemon_reuse || bail "daemon starts again"
else
	not_ok "valgrind is installed (make deps)"
fi

# ---- an expired key (the daemon started 100 days from now) ----------------------------
# Keys expire after 1 day at the earliest, so the clock moves instead:
# libfaketime (Debian package faketime) makes svcacctd believe it is 100
# days later; K_DEPLOY's default expiry is 90 days.
FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1)
if [ -n "$FAKETIME_LIB" ]; then
	stop_daemon
	REAL_SVCACCTD=$SVCACCTD
	cat >"$TMPD/svcacctd-in-100-days" <<-EOF
		#!/bin/sh
		LD_PRELOAD=$FAKETIME_LIB FAKETIME=+100d DONT_FAKE_MONOTONIC=1 \\
		ASAN_OPTIONS=\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}verify_asan_link_order=0 \\
		exec $REAL_SVCACCTD "\$@"
	EOF
	chmod 0755 "$TMPD/svcacctd-in-100-days"
	SVCACCTD="$TMPD/svcacctd-in-100-days"
	if start_daemon_reuse; then
		pamt "$K_DEPLOY" svca-auth ci-deploy authenticate
		expect_run "auth: an expired key (100 days later) -> PAM_AUTH_ERR" 1 "$E_AUTH"
		check_last_audit "auth: audited as auth.deny (key_expired)" auth.deny "denied key_expired svca-auth"
		pamt "$T_DEPLOY" svca-auth ci-deploy authenticate
		expect_run "auth: an expired session token -> PAM_AUTH_ERR" 1 "$E_AUTH"
		stop_daemon
	else
		not_ok "svcacctd starts under libfaketime"
	fi
	SVCACCTD=$REAL_SVCACCTD
	start_daemon_reuse || bail "daemon starts again"
else
	ok "auth: an expired key -> PAM_AUTH_ERR # SKIP no libfaketime (Debian package faketime)"
fi

# ---- secrets never in a log -----------------------------------------------------------------
secrets_never_logged "no key or token in syslog, daemon.log or the audit trail" \
	"$K_DEPLOY" "$K_DEPLOY2" "$K_OTHER" "$K_FORGED" "$K_TYPO" "$K_LOCK" "$T_DEPLOY" "$T_OTHER" "$STOK" "$T_ENV"
check -d "audit verify: the chain is intact" $CTL audit verify
