#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Real sudo with the shipped example stack etc/pam.d/sudo.svcacct-example
# and a test sudoers: a service account with role admin on the host runs
# `sudo -S -k id -u` as itself with its session token (or key) on stdin
# and gets 0; an editor that sudoers would let through is refused by
# pam_svcacct's account stage, and the refusal is audited; a local user is
# unaffected, also with svcacctd down.  The accounts, and the sudo_group
# %svcacct-sudo that sudoers names, resolve through the real
# libnss_svcacct.so.2 (tests/pam/pamlib.sh); the module is also run under
# valgrind through getent.  Private mount namespace (tests/pam/ns.sh):
# /etc/sudoers, /etc/pam.d, passwd ... are the test's.
. "$(dirname "$0")/../pam/ns.sh"
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/pam/pamlib.sh"

SUDO=$(command -v sudo) || bail "sudo is installed"

start_daemon 'host_workspaces = [ "build-farm" ];' 'rate_limit_count = 1000;' ||
	bail "daemon starts"
private_root
debian_commons
setup_hostws admin:ci-admin editor:ci-editor
UID_ADMIN=$(acct_uid ci-admin)
UID_EDITOR=$(acct_uid ci-editor)
nss_resolves ci-admin "$UID_ADMIN"
nss_resolves ci-editor "$UID_EDITOR"
# the sudo_group of svcacctd.conf, from libnss_svcacct: the accounts with
# the sudo capability (gid uid_max), and nowhere in /etc/group
SUDO_GID=$(getent -s svcacct group "$SUDO_GROUP" | cut -d: -f3)
check_out() { # DESC EXPECTED CMD...
	local desc=$1 want=$2
	shift 2
	if expect_exit 0 "$@" && [ "$OUT" = "$want" ]; then ok "$desc"; else not_ok "$desc (want: $want; got: $OUT)"; fi
}
check_out "getent group $SUDO_GROUP (through nsswitch.conf): the admin is its only member" \
	"$SUDO_GROUP:*:$SUDO_GID:ci-admin" getent group "$SUDO_GROUP"
check_exit 1 -d "$SUDO_GROUP is not in the private /etc/group" grep -q "^$SUDO_GROUP:" /etc/group
check_out "id ci-admin: the sudo group comes from the module's initgroups" \
	"uid=$UID_ADMIN(ci-admin) gid=$UID_ADMIN(ci-admin) groups=$UID_ADMIN(ci-admin),$SUDO_GID($SUDO_GROUP)" id ci-admin
check_out "id ci-editor: no sudo group" \
	"uid=$UID_EDITOR(ci-editor) gid=$UID_EDITOR(ci-editor) groups=$UID_EDITOR(ci-editor)" id ci-editor
nss_valgrind ci-admin
make_local_user localbob 61500 'hunter2-local'
install_example etc/pam.d/sudo.svcacct-example sudo
cat >"$PRIV/sudoers" <<'EOF'
Defaults !fqdn, !lecture, passwd_tries=1, timestamp_timeout=0, !mail_badpass
root ALL=(ALL:ALL) ALL
# service accounts with the sudo capability (sudo_group in svcacctd.conf)
%svcacct-sudo ALL=(ALL) ALL
# a rule too broad on purpose: pam_svcacct's account stage still refuses
# an account without the sudo capability on this host
ci-editor ALL=(ALL) ALL
localbob ALL=(ALL) ALL
EOF

K_ADMIN=$(key_create ci-admin) && [ -n "$K_ADMIN" ] || bail "key create ci-admin"
K_EDITOR=$(key_create ci-editor) || bail "key create ci-editor"
T_ADMIN=$(token_create "$K_ADMIN") && [ -n "$T_ADMIN" ] || bail "token create (ci-admin)"
T_EDITOR=$(token_create "$K_EDITOR") || bail "token create (ci-editor)"
K_FORGED=$("$PY" "$PAM_HELPER" forge-key "$K_ADMIN")

# as_user UID INPUT CMD...: CMD as that user (its groups from NSS through
# initgroups, as after a login), INPUT on stdin; sets RC OUT ERR MS
as_user() {
	local uid=$1 input=$2
	shift 2
	run_in "$input"$'\n' timeout 30 setpriv --reuid="$uid" --regid="$uid" --init-groups -- "$@"
}

as_user "$UID_ADMIN" "" id -G
if [[ " $OUT " == *" $SUDO_GID "* ]]; then ok "setpriv --init-groups: the admin's processes are in $SUDO_GROUP ($SUDO_GID)"; else not_ok "setpriv --init-groups: the admin's processes are in $SUDO_GROUP (id -G: $OUT)"; fi
as_user "$UID_ADMIN" "$T_ADMIN" "$SUDO" -S -k id -u
expect_run "admin: sudo -S -k id -u with its session token prints 0" 0 ""
if [ "$OUT" = 0 ]; then ok "admin: the command ran as root"; else not_ok "admin: the command ran as root (stdout: $OUT)"; fi
diag "sudo's prompt (stderr): $ERR"
as_user "$UID_ADMIN" "$K_ADMIN" "$SUDO" -S -k id -u
expect_run "admin: with its API key too" 0 ""
[ "$OUT" = 0 ] || not_ok "admin with the key: stdout $OUT"
audit_has "admin: audited auth.allow (auth and account) for service sudo" \
	'sum(1 for e in d if e["event"] == "auth.allow" and e["subject"].get("account") == "ci-admin" and e.get("service") == "sudo") >= 4'

as_user "$UID_ADMIN" "$K_FORGED" "$SUDO" -S -k id -u
if [ "$RC" != 0 ] && [ "$OUT" != 0 ]; then ok "admin with a wrong key: refused (exit $RC)"; else not_ok "admin with a wrong key: refused (exit $RC, out $OUT)"; fi
diag "what sudo prints for a wrong key: $(printf '%s' "$ERR" | tr '\n' '|')"

as_user "$UID_EDITOR" "$T_EDITOR" "$SUDO" -S -k id -u
if [ "$RC" != 0 ] && [ "$OUT" != 0 ]; then ok "editor: refused (exit $RC)"; else not_ok "editor: refused (exit $RC, out $OUT)"; fi
if [[ $ERR == *"ci-editor may not use sudo on this host"* ]]; then ok "editor: sudo shows why"; else not_ok "editor: sudo shows why"; fi
diag "what sudo prints for the editor:"
printf '%s\n' "$ERR" | diag
audit_has "editor: the refusal is audited (auth.deny no_capability, service sudo)" \
	'any(e["event"] == "auth.deny" and e.get("reason") == "no_capability" and e["subject"].get("account") == "ci-editor" and e.get("service") == "sudo" for e in d)'
audit_has "editor: after its token was accepted (auth.allow, detail auth)" \
	'any(e["event"] == "auth.allow" and e["subject"].get("account") == "ci-editor" and e.get("detail") == "auth" and e.get("service") == "sudo" for e in d)'
expect_exit 0 $CTL audit list --event auth.deny --account ci-editor
diag "audit list --event auth.deny --account ci-editor:"
printf '%s\n' "$OUT" | diag

as_user 61500 'hunter2-local' "$SUDO" -S -k id -u
expect_run "a local user: sudo with the local password" 0 ""
if [[ $ERR != *"API key or token"* ]]; then ok "a local user is not asked for a key"; else not_ok "a local user is not asked for a key"; fi

stop_daemon
as_user 61500 'hunter2-local' "$SUDO" -S -k id -u
expect_run "svcacctd down: a local user still uses sudo" 0 ""
as_user "$UID_ADMIN" "$T_ADMIN" "$SUDO" -S -k id -u
if [ "$RC" != 0 ] && [ "$OUT" != 0 ]; then ok "svcacctd down: the admin account is refused (exit $RC)"; else not_ok "svcacctd down: the admin account is refused"; fi
diag "what sudo prints with svcacctd down: $(printf '%s' "$ERR" | tr '\n' '|')"
start_daemon_reuse || bail "daemon starts again"

secrets_never_logged "no key or token in syslog (sudo's lines too), daemon.log or the audit trail" \
	"$K_ADMIN" "$K_EDITOR" "$T_ADMIN" "$T_EDITOR" "$K_FORGED"
host_untouched
