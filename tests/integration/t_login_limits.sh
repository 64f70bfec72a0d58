#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Logins with the right secret have their own budget (issue 19, item 1):
# with the default limits, 12 back-to-back PAM logins with one key all
# succeed (pamtester through the shipped sshd stack, and a real sshd with
# keyboard-interactive), and the token exchanges keep their own limit
# (rate_limit_count); with login_rate_limit_count = 3 the 4th login is
# refused and the user sees "rate limited: retry in N s" (pamtester, su,
# sudo);
# wrong secrets still lock out, and the lockout says the same; an expired
# key with the right secret says "key expired on ..."; an unknown account
# and a wrong secret get the same generic refusal; svcacctd stopped:
# "directory unreachable" for a service account, nothing for a local
# user.  Private mount namespace (tests/pam/ns.sh).
. "$(dirname "$0")/../pam/ns.sh"
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/pam/pamlib.sh"

# the default limits (rate_limit_*, login_rate_limit_*); a short lockout
start_daemon 'host_workspaces = [ "build-farm" ];' 'lockout_threshold = 3;' \
	'lockout_seconds = 60;' || bail "daemon starts"
private_root
debian_commons
setup_hostws editor:ci-deploy editor:ci-tok editor:ci-lock editor:ci-exp admin:ci-admin
install_example etc/pam.d/sshd.svcacct-example sshd
# `su -` is PAM service su-l: the sshd example's pattern (t_pam_su)
pam_service su-l <<EOF
auth       sufficient  pam_rootok.so
auth       [success=1 default=ignore]  pam_localuser.so
auth       [success=done new_authtok_reqd=done user_unknown=ignore default=die]  @MOD@ socket=@SOCK@
@include common-auth
account    [success=1 default=ignore]  pam_localuser.so
account    [success=done new_authtok_reqd=done user_unknown=ignore default=die]  @MOD@ socket=@SOCK@
@include common-account
@include common-session
session    [success=1 default=ignore]  pam_localuser.so
session    [success=ok user_unknown=ignore default=bad]  @MOD@ socket=@SOCK@
EOF
make_local_user localbob 61500 'hunter2-local'

E_AUTH="Authentication failure"
E_MAXTRIES="Have exhausted maximum number of retries for service"
E_UNAVAIL="Authentication service cannot retrieve authentication info"

K_DEPLOY=$(key_create ci-deploy) && [ -n "$K_DEPLOY" ] || bail "key create ci-deploy"
K_TOK=$(key_create ci-tok) || bail "key create ci-tok"
K_LOCK=$(key_create ci-lock) || bail "key create ci-lock"
K_ADMIN=$(key_create ci-admin) || bail "key create ci-admin"
K_LOCKF=$("$PY" "$PAM_HELPER" forge-key "$K_LOCK") || bail "forge-key"
K_DEPLOYF=$("$PY" "$PAM_HELPER" forge-key "$K_DEPLOY") || bail "forge-key"

# logins N SERVICE KEY USER: N back-to-back pamtester auths; CODES gets
# their exit codes ("0 0 ... 0"), LAST_ERR the last one's stderr
logins() {
	local n=$1 i
	CODES=""
	for i in $(seq "$n"); do
		pamt "$3" "$2" "$4" authenticate
		CODES="$CODES${CODES:+ }$RC"
	done
	LAST_ERR=$ERR
}

# ---- the default limits: 12 logins with one key --------------------------------------
logins 12 sshd "$K_DEPLOY" ci-deploy
diag "12 back-to-back PAM logins (pamtester, sshd stack), exit codes: $CODES"
if [ "$CODES" = "0 0 0 0 0 0 0 0 0 0 0 0" ]; then
	ok "default limits: 12 back-to-back PAM logins with one key all succeed ($CODES)"
else
	not_ok "default limits: 12 back-to-back PAM logins with one key all succeed ($CODES)"
	diag "last stderr: $LAST_ERR"
fi

# token exchanges keep their own budget: the logins above spent none of
# ci-deploy's, and rate_limit_count (10) still applies
n_ok=0
for i in $(seq 10); do
	t=$(token_create "$K_DEPLOY" 2>/dev/null) && [ -n "$t" ] && n_ok=$((n_ok + 1))
done
run_in "$K_DEPLOY"$'\n' $CTL token create
if [ "$n_ok" = 10 ] && [ "$RC" != 0 ] && [[ $ERR == *"rate limited"* ]]; then
	ok "token exchanges: 10 work after the 12 logins, the 11th is rate limited (rate_limit_count)"
else
	not_ok "token exchanges: 10 work after the 12 logins, the 11th is rate limited ($n_ok worked; 11th: exit $RC, $ERR)"
fi
# ... and an exhausted exchange budget does not refuse a login
pamt "$K_DEPLOY" sshd ci-deploy authenticate
expect_run "a login while the key's token exchanges are rate limited -> PAM_SUCCESS" 0 "successfully authenticated"

# ---- a real sshd: 12 keyboard-interactive logins ---------------------------------------
SSHD=/usr/sbin/sshd
if [ -x "$SSHD" ] && command -v sshpass >/dev/null; then
	SD="$TMPD/sshd"
	mkdir -m 0700 "$SD"
	ssh-keygen -q -t ed25519 -N '' -f "$SD/ssh_host_ed25519_key" </dev/null || bail "ssh-keygen"
	PORT=$(free_port)
	[ -n "$PORT" ] || bail "a free loopback port"
	cat >"$SD/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $SD/ssh_host_ed25519_key
PidFile $SD/sshd.pid
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication no
PermitRootLogin no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
MaxAuthTries 3
MaxStartups 100:30:200
LoginGraceTime 30
EOF
	start_sshd "$SD/sshd_config" "$PORT" || { diag_file "$SD/sshd.log"; bail "sshd listens on 127.0.0.1:$PORT"; }
	SSH_OPTS=(-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
		-o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=10
		-o NumberOfPasswordPrompts=1 -o PreferredAuthentications=keyboard-interactive)
	ssh_kbd() { # SECRET USER CMD: sets RC OUT ERR
		run_in "" env SSHPASS="$1" timeout 40 sshpass -P "API key or token" -e \
			ssh "${SSH_OPTS[@]}" -p "$PORT" "$2@127.0.0.1" "$3"
	}
	CODES=""
	for i in $(seq 12); do
		ssh_kbd "$K_DEPLOY" ci-deploy true
		CODES="$CODES${CODES:+ }$RC"
	done
	diag "12 back-to-back ssh logins (keyboard-interactive), exit codes: $CODES"
	if [ "$CODES" = "0 0 0 0 0 0 0 0 0 0 0 0" ]; then
		ok "default limits: 12 back-to-back ssh logins with one key all succeed ($CODES)"
	else
		not_ok "default limits: 12 back-to-back ssh logins with one key all succeed ($CODES)"
		diag "last stderr: $ERR"
		diag_file "$SD/sshd.log" 20
	fi
else
	ok "12 back-to-back ssh logins # SKIP no sshd or sshpass"
	SSHD=""
fi

# ---- wrong secrets: the lockout, as before ------------------------------------------------
pamt "$K_LOCKF" sshd ci-lock authenticate
pamt "$K_LOCKF" sshd ci-lock authenticate
expect_run "a wrong secret before the lockout threshold -> PAM_AUTH_ERR" 1 "$E_AUTH"
if [[ $ERR != *"rate limited"* && $ERR != *"expired"* ]]; then ok "a wrong secret: no message beyond the generic refusal"; else not_ok "a wrong secret: no message beyond the generic refusal (stderr: $ERR)"; fi
pamt "$K_LOCKF" sshd ci-lock authenticate
expect_run "the wrong secret that reaches lockout_threshold -> PAM_MAXTRIES" 1 "$E_MAXTRIES"
pamt "$K_LOCK" sshd ci-lock authenticate
expect_run "the right key while locked out -> PAM_MAXTRIES" 1 "$E_MAXTRIES"
if [[ $ERR =~ rate\ limited:\ retry\ in\ [0-9]+\ s ]]; then ok "locked out: the user sees \"rate limited: retry in N s\""; else not_ok "locked out: the user sees \"rate limited: retry in N s\" (stderr: $ERR)"; fi

# ---- no oracle: an unknown account and a wrong secret read the same ---------------------------
generic() { # the run's stderr without the prompts
	printf '%s' "$ERR" | sed -e 's/API key or token: //g' -e 's/Password: //g'
}
pamt "$K_DEPLOYF" sshd ci-deploy authenticate
expect_run "a wrong secret for ci-deploy -> refused" 1 "$E_AUTH"
G_WRONG=$(generic)
pamt "$K_DEPLOYF" sshd ci-nosuch authenticate
expect_run "an account that does not exist -> refused" 1 "$E_AUTH"
G_UNKNOWN=$(generic)
if [ "$G_WRONG" = "$G_UNKNOWN" ]; then
	ok "an unknown account and a wrong secret: the same text ($G_WRONG)"
else
	not_ok "an unknown account and a wrong secret: the same text (wrong secret: $G_WRONG; unknown: $G_UNKNOWN)"
fi

# ---- login_rate_limit_count = 3 ---------------------------------------------------------
stop_daemon
printf '%s\n' 'login_rate_limit_count = 3;' 'login_rate_limit_window = 60;' >>"$CONF"
start_daemon_reuse || bail "daemon starts with login_rate_limit_count = 3"
logins 4 sshd "$K_DEPLOY" ci-deploy
diag "login_rate_limit_count = 3: 4 logins, exit codes: $CODES"
diag "what pamtester prints for the 4th: $(printf '%s' "$LAST_ERR" | tr '\n' '|')"
if [ "$CODES" = "0 0 0 1" ]; then ok "login_rate_limit_count = 3: the 4th login is refused ($CODES)"; else not_ok "login_rate_limit_count = 3: the 4th login is refused ($CODES)"; fi
if [[ $LAST_ERR =~ rate\ limited:\ retry\ in\ [0-9]+\ s ]] && [[ $LAST_ERR == *"$E_MAXTRIES"* ]]; then
	ok "the 4th login: PAM_MAXTRIES, the user sees \"rate limited: retry in N s\""
else
	not_ok "the 4th login: PAM_MAXTRIES, the user sees \"rate limited: retry in N s\" (stderr: $LAST_ERR)"
fi
audit_json --event auth.deny --limit 1 | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
e = d[-1] if d else {}
sys.exit(0 if e.get("reason") == "rate_limited" and (e.get("subject") or {}).get("account") == "ci-deploy" else 1)' &&
	ok "the refusal is audited as auth.deny (rate_limited)" ||
	not_ok "the refusal is audited as auth.deny (rate_limited)"
# real su, run by nobody (su reads the key through PAM's conversation;
# script(1) gives it a terminal where a build insists): the same message
SU=$(command -v su || true)
if [ -n "$SU" ]; then
	run_in "$K_DEPLOY"$'\n' timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		"$SU" - ci-deploy -c 'id -u'
	if [[ $ERR == *"must be run from a terminal"* ]]; then
		run_in "$K_DEPLOY"$'\n' timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups -- \
			script -qec "$SU - ci-deploy -c 'id -u'" /dev/null
	fi
	if [ "$RC" != 0 ] && [[ "$OUT$ERR" =~ rate\ limited:\ retry\ in\ [0-9]+\ s ]]; then
		ok "su - ci-deploy: refused, and su shows \"rate limited: retry in N s\""
	else
		not_ok "su - ci-deploy: refused, and su shows \"rate limited: retry in N s\" (exit $RC, $OUT $ERR)"
	fi
else
	ok "su # SKIP su is not installed"
fi
# a real sshd (keyboard-interactive): the client shows it too
if [ -n "$SSHD" ]; then
	ssh_kbd "$K_DEPLOY" ci-deploy true
	diag "what ssh prints when rate limited: $(printf '%s' "$OUT$ERR" | tr -d '\r' | tr '\n' '|')"
	if [ "$RC" != 0 ] && [[ "$OUT$ERR" =~ rate\ limited:\ retry\ in\ [0-9]+\ s ]]; then
		ok "ssh: refused, and the client shows \"rate limited: retry in N s\""
	else
		not_ok "ssh: refused, and the client shows \"rate limited: retry in N s\" (exit $RC, $OUT $ERR)"
	fi
fi
# the exchanges' budget is not the logins'
t=$(token_create "$K_DEPLOY" 2>/dev/null)
if [ -n "$t" ]; then ok "a token exchange with the key still works (rate_limit_count is its own)"; else not_ok "a token exchange with the key still works"; fi

# real sudo (PAM_SILENT on every call): 3 work, the 4th shows the message
SUDO=$(command -v sudo || true)
if [ -n "$SUDO" ]; then
	install_example etc/pam.d/sudo.svcacct-example sudo
	cat >"$PRIV/sudoers" <<EOF
Defaults !fqdn, !lecture, passwd_tries=1, timestamp_timeout=0, !mail_badpass
root ALL=(ALL:ALL) ALL
%$SUDO_GROUP ALL=(ALL) ALL
EOF
	UID_ADMIN=$(acct_uid ci-admin)
	CODES=""
	for i in 1 2 3 4; do
		run_in "$K_ADMIN"$'\n' timeout 30 setpriv --reuid="$UID_ADMIN" --regid="$UID_ADMIN" \
			--init-groups -- "$SUDO" -S -k id -u
		CODES="$CODES${CODES:+ }$RC"
	done
	diag "sudo with login_rate_limit_count = 3, exit codes: $CODES"
	if [ "$CODES" = "0 0 0 1" ] && [[ $ERR =~ rate\ limited:\ retry\ in\ [0-9]+\ s ]]; then
		ok "sudo: 3 work, the 4th is refused and says \"rate limited: retry in N s\""
	else
		not_ok "sudo: 3 work, the 4th is refused and says \"rate limited: retry in N s\" ($CODES; stderr: $ERR)"
	fi
else
	ok "sudo # SKIP sudo is not installed"
fi

# ---- an expired key ----------------------------------------------------------------
# Keys expire after 1 day at the earliest: libfaketime makes svcacctd
# believe it is 2 days later.
K_EXP=$($CTL --json key create ci-exp --expires 1 </dev/null | json_py 'd["key"]')
K_EXPF=$("$PY" "$PAM_HELPER" forge-key "$K_EXP" 2>/dev/null)
FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1)
if [ -n "$FAKETIME_LIB" ] && [ -n "$K_EXP" ]; then
	stop_daemon
	REAL_SVCACCTD=$SVCACCTD
	cat >"$TMPD/svcacctd-in-2-days" <<-EOF
		#!/bin/sh
		LD_PRELOAD=$FAKETIME_LIB FAKETIME=+2d DONT_FAKE_MONOTONIC=1 \\
		ASAN_OPTIONS=\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}verify_asan_link_order=0 \\
		exec $REAL_SVCACCTD "\$@"
	EOF
	chmod 0755 "$TMPD/svcacctd-in-2-days"
	SVCACCTD="$TMPD/svcacctd-in-2-days"
	if start_daemon_reuse; then
		pamt "$K_EXP" sshd ci-exp authenticate
		diag "what pamtester prints for the expired key: $(printf '%s' "$ERR" | tr '\n' '|')"
		if [ "$RC" = 1 ] && [[ $ERR =~ key\ expired\ on\ [0-9]{4}-[0-9]{2}-[0-9]{2} ]]; then
			ok "an expired key with the right secret -> refused, \"key expired on YYYY-MM-DD ...\""
		else
			not_ok "an expired key with the right secret -> refused, \"key expired on ...\" (exit $RC, stderr: $ERR)"
		fi
		pamt "$K_EXPF" sshd ci-exp authenticate
		if [ "$RC" = 1 ] && [[ $ERR != *"expired"* ]] && [ "$(generic)" = "$G_WRONG" ]; then
			ok "the expired key with a wrong secret: the generic refusal, no \"expired\""
		else
			not_ok "the expired key with a wrong secret: the generic refusal (stderr: $ERR)"
		fi
		stop_daemon
	else
		not_ok "svcacctd starts under libfaketime"
	fi
	SVCACCTD=$REAL_SVCACCTD
	start_daemon_reuse || bail "daemon starts again"
else
	ok "an expired key # SKIP no libfaketime (Debian package faketime)"
fi

# ---- svcacctd stopped ---------------------------------------------------------------
stop_daemon
pamt "$K_DEPLOY" sshd ci-deploy authenticate
expect_run "svcacctd stopped: a service account's login -> PAM_AUTHINFO_UNAVAIL" 1 "$E_UNAVAIL"
if [[ $ERR == *"directory unreachable"* ]]; then ok "svcacctd stopped: the user sees \"directory unreachable\""; else not_ok "svcacctd stopped: the user sees \"directory unreachable\" (stderr: $ERR)"; fi
pamt "hunter2-local" sshd localbob authenticate
expect_run "svcacctd stopped: a local user logs in as before" 0 "successfully authenticated"
if [[ $ERR != *"directory unreachable"* ]]; then ok "svcacctd stopped: a local user is told nothing about svcacct"; else not_ok "svcacctd stopped: a local user is told nothing about svcacct (stderr: $ERR)"; fi
if [ -n "$SSHD" ]; then
	ssh_kbd "$K_DEPLOY" ci-deploy true
	diag "what ssh prints with svcacctd stopped: $(printf '%s' "$OUT$ERR" | tr -d '\r' | tr '\n' '|')"
	if [ "$RC" != 0 ] && [[ "$OUT$ERR" == *"directory unreachable"* ]]; then
		ok "svcacctd stopped: the ssh client shows \"directory unreachable\""
	else
		not_ok "svcacctd stopped: the ssh client shows \"directory unreachable\" (exit $RC, $OUT $ERR)"
	fi
fi
start_daemon_reuse || bail "daemon starts again"

secrets_never_logged "no key in syslog, daemon.log or the audit trail" "$K_DEPLOY" "$K_LOCK" \
	"$K_ADMIN" "$K_EXP" "$K_LOCKF" "$K_DEPLOYF"
host_untouched
