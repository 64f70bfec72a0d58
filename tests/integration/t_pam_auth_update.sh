#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The pam-auth-update profile etc/pam-configs/svcacct (Debian/Ubuntu): in
# a private mount namespace, pam-auth-update --enable svcacct writes the
# common-* files from the stock templates, and the stacks they make behave
# as promised: a service account logs in with its key and never reaches
# pam_unix with a wrong one; a local user sees pam_unix only and is not
# blocked while svcacctd is down.  Then --disable takes it out again.
# Nothing outside the namespace is written (/etc/pam.d, /var/lib/pam and
# debconf's database are private copies).
. "$(dirname "$0")/../pam/ns.sh"
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/pam/pamlib.sh"

PAU=$(command -v pam-auth-update) || { ok "pam-auth-update profile # SKIP no pam-auth-update (not Debian/Ubuntu)"; exit 0; }
[ -f /usr/share/pam-configs/unix ] && [ -f /usr/share/pam/common-auth ] ||
	{ ok "pam-auth-update profile # SKIP no stock templates in /usr/share/pam"; exit 0; }

start_daemon 'host_workspaces = [ "build-farm" ];' 'rate_limit_count = 1000;' ||
	bail "daemon starts"
private_root
setup_hostws editor:ci-deploy viewer:ci-view
nss_resolves ci-deploy "$(acct_uid ci-deploy)"
nss_resolves ci-view "$(acct_uid ci-view)"
make_local_user localbob 61500 'hunter2-local'

# pam-auth-update's inputs and state, private
mkdir -p "$PRIV/pam-configs" "$PRIV/varlibpam" "$PRIV/debconf"
cp /usr/share/pam-configs/unix "$PRIV/pam-configs/"
sed -e "s|pam_svcacct.so|$PAM_MOD socket=$SOCK|" \
	"$REPO_DIR/etc/pam-configs/svcacct" >"$PRIV/pam-configs/svcacct"
cp -a /var/cache/debconf/. "$PRIV/debconf/" 2>/dev/null
for f in common-auth common-account common-session common-session-noninteractive common-password; do
	cp "/usr/share/pam/$f" "$PRIV/pam.d/$f"
done
_pam_bind "$PRIV/pam-configs" /usr/share/pam-configs
[ -d /var/lib/pam ] && _pam_bind "$PRIV/varlibpam" /var/lib/pam
[ -d /var/cache/debconf ] && _pam_bind "$PRIV/debconf" /var/cache/debconf

run_in "" env DEBIAN_FRONTEND=noninteractive "$PAU" --force --enable svcacct
expect_run "pam-auth-update --enable svcacct" 0 ""
for f in common-auth common-account common-session; do
	diag "$f:"
	grep -v '^#' "$PRIV/pam.d/$f" | grep . | diag
done
if grep -q "^auth.*\[success=2 new_authtok_reqd=done user_unknown=ignore default=die\].*pam_svcacct.so" "$PRIV/pam.d/common-auth" &&
	grep -q "^auth.*pam_localuser.so" "$PRIV/pam.d/common-auth"; then
	ok "common-auth: pam_localuser, then pam_svcacct ending auth on success (success=end -> 2)"
else
	not_ok "common-auth has the svcacct lines with the right jump"
fi
if grep -q "^account.*pam_svcacct.so" "$PRIV/pam.d/common-account" &&
	grep -q "^session.*pam_svcacct.so" "$PRIV/pam.d/common-session" &&
	! grep -q "pam_svcacct" "$PRIV/pam.d/common-session-noninteractive" "$PRIV/pam.d/common-password"; then
	ok "common-account and common-session have it; session-noninteractive and password do not"
else
	not_ok "account/session lines where expected"
fi

# a login-like service made of the common files only
printf '@include common-auth\n@include common-account\n@include common-session\n' >"$PRIV/pam.d/login"
K_DEPLOY=$(key_create ci-deploy) && [ -n "$K_DEPLOY" ] || bail "key create ci-deploy"
K_VIEW=$(key_create ci-view) || bail "key create"
K_FORGED=$("$PY" "$PAM_HELPER" forge-key "$K_DEPLOY")

pamt "$K_DEPLOY" login ci-deploy authenticate acct_mgmt open_session close_session
expect_run "service account with its key: auth, account, session" 0 "session has successfully been closed"
pamt "$K_FORGED"$'\n'"$K_FORGED" login ci-deploy authenticate
expect_run "service account with a wrong key: refused" 1 "Authentication failure"
if [[ $ERR != *"Password: "* ]]; then ok "a wrong key never reaches pam_unix"; else not_ok "a wrong key never reaches pam_unix"; fi
pamt "$K_VIEW" login ci-view authenticate acct_mgmt
expect_run "viewer: refused by the account stage (login maps to login)" 1 "ci-view may not use login on this host"
pamt "hunter2-local" login localbob authenticate acct_mgmt open_session close_session
expect_run "local user: pam_unix as before" 0 "session has successfully been closed"
if [[ $ERR == *"Password: "* && $ERR != *"API key or token"* ]]; then ok "local user: asked by pam_unix only"; else not_ok "local user: asked by pam_unix only ($ERR)"; fi
stop_daemon
pamt "hunter2-local" login localbob authenticate acct_mgmt open_session close_session
expect_run "svcacctd down: local user not blocked" 0 "session has successfully been closed"
pamt "$K_DEPLOY" login ci-deploy authenticate
expect_run "svcacctd down: service account refused (authinfo unavailable)" 1 "Authentication service cannot retrieve authentication info"
pamt "" login ci-deploy acct_mgmt
expect_run "svcacctd down: the account stage fails closed for it" 1 ""
start_daemon_reuse || bail "daemon starts again"

run_in "" env DEBIAN_FRONTEND=noninteractive "$PAU" --disable svcacct
expect_run "pam-auth-update --disable svcacct" 0 ""
if ! grep -q "pam_svcacct\|pam_localuser" "$PRIV"/pam.d/common-*; then ok "--disable removes every line"; else not_ok "--disable removes every line"; fi
