#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Real su (util-linux): an unprivileged user (nobody) runs
# `su - ci-deploy -c id` and types the account's API key; su's login
# shell runs as the account, with SVCACCT_TOKEN from pam_svcacct's
# session.  A wrong key and a viewer are refused.  The su-l stack is the
# sshd example's pattern (pam_localuser, then pam_svcacct), with
# pam_mkhomedir.  su is setuid: the accounts resolve through the real
# libnss_svcacct.so.2 in the system library directory and the snapshot at
# the module's compiled-in directory (tests/pam/pamlib.sh).  Private mount
# namespace (tests/pam/ns.sh).
. "$(dirname "$0")/../pam/ns.sh"
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/pam/pamlib.sh"

SU=$(command -v su) || bail "su is installed"

start_daemon 'host_workspaces = [ "build-farm" ];' 'rate_limit_count = 1000;' ||
	bail "daemon starts"
private_root
debian_commons
setup_hostws editor:ci-deploy viewer:ci-view
UID_DEPLOY=$(acct_uid ci-deploy)
nss_resolves ci-deploy "$UID_DEPLOY"
HOME_DEPLOY="$HOME_BASE/ci-deploy"
nss_resolves ci-view "$(acct_uid ci-view)"
# `su -` is PAM service su-l (svcacctd maps su and su-l to "login")
pam_service su-l <<EOF
auth       sufficient  pam_rootok.so
auth       [success=1 default=ignore]  pam_localuser.so
auth       [success=done new_authtok_reqd=done user_unknown=ignore default=die]  @MOD@ socket=@SOCK@
@include common-auth
account    [success=1 default=ignore]  pam_localuser.so
account    [success=done new_authtok_reqd=done user_unknown=ignore default=die]  @MOD@ socket=@SOCK@
@include common-account
@include common-session
session    optional    pam_mkhomedir.so skel=/etc/skel umask=0077
session    [success=1 default=ignore]  pam_localuser.so
session    [success=ok user_unknown=ignore default=bad]  @MOD@ socket=@SOCK@
EOF
K_DEPLOY=$(key_create ci-deploy) && [ -n "$K_DEPLOY" ] || bail "key create ci-deploy"
K_VIEW=$(key_create ci-view) || bail "key create ci-view"
K_FORGED=$("$PY" "$PAM_HELPER" forge-key "$K_DEPLOY")

# su_as_nobody SECRET ARGS...: su run by nobody, SECRET on stdin.  su reads
# the password through PAM's conversation from standard input; where a
# build insists on a terminal, script(1) provides one.
su_as_nobody() {
	local secret=$1
	shift
	run_in "$secret"$'\n' timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups -- "$SU" "$@"
	if [[ $ERR == *"must be run from a terminal"* ]]; then
		run_in "$secret"$'\n' timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups -- \
			script -qec "$SU $(printf '%q ' "$@")" /dev/null
	fi
}

if [ ! -e "$HOME_DEPLOY" ]; then ok "no home for ci-deploy before su"; else not_ok "no home for ci-deploy before su"; fi
su_as_nobody "$K_DEPLOY" - ci-deploy -c 'id -u; echo "TOKEN=${SVCACCT_TOKEN:+set}"; echo "PWD=$(pwd)"'
expect_run "nobody: su - ci-deploy -c id with the API key" 0 ""
if [[ $OUT == *"$UID_DEPLOY"* ]]; then ok "su - ci-deploy: the command prints the account's uid ($UID_DEPLOY)"; else not_ok "su - ci-deploy: prints the account's uid (stdout: $OUT, stderr: $ERR)"; fi
if [[ $OUT == *"TOKEN=set"* ]]; then ok "su - ci-deploy: SVCACCT_TOKEN is set in the login shell"; else not_ok "su - ci-deploy: SVCACCT_TOKEN is set"; fi
if [[ $OUT == *"PWD=$HOME_DEPLOY"* ]] && [ "$(stat -c '%u %a' "$HOME_DEPLOY" 2>&1)" = "$UID_DEPLOY 700" ]; then
	ok "su - ci-deploy: pam_mkhomedir made its home ($HOME_DEPLOY, 0700) and the login shell starts there"
else
	not_ok "su - ci-deploy: pam_mkhomedir made its home and the shell starts there ($(stat -c '%u %a' "$HOME_DEPLOY" 2>&1); stdout: $OUT)"
fi
diag "su's prompt (stderr): $ERR"
audit_has "su: auth.allow, session.open and session.close for service su-l" '
all(any(e["event"] == ev and e["subject"].get("account") == "ci-deploy" and e.get("service") == "su-l" for e in d)
    for ev in ("auth.allow", "session.open", "session.close"))'

su_as_nobody "$K_FORGED" - ci-deploy -c 'id -u'
if [ "$RC" != 0 ] && [[ $OUT != *"$UID_DEPLOY"* ]]; then ok "su with a wrong key: refused (exit $RC)"; else not_ok "su with a wrong key: refused (exit $RC)"; fi
diag "what su prints for a wrong key: $(printf '%s' "$ERR" | tr '\n' '|')"

su_as_nobody "$K_VIEW" - ci-view -c 'id -u'
if [ "$RC" != 0 ] && [[ $ERR == *"ci-view may not use su-l on this host"* ]]; then
	ok "su to a viewer: refused at the account stage, with the reason"
else
	not_ok "su to a viewer: refused at the account stage, with the reason (exit $RC)"
fi
diag "what su prints for the viewer: $(printf '%s' "$ERR" | tr '\n' '|')"

secrets_never_logged "no key or token in syslog, daemon.log or the audit trail" "$K_DEPLOY" "$K_VIEW" "$K_FORGED"
host_untouched
