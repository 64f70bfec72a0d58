#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# A real sshd (loopback, a private sshd_config) with the shipped example
# stack etc/pam.d/sshd.svcacct-example: a service account logs in with its
# API key (keyboard-interactive and password) and runs a command; its
# session has SVCACCT_TOKEN, which works during the session and is revoked
# at logout; a viewer is refused at the account stage, a wrong key at auth;
# a local user is unaffected, also with svcacctd down.  The accounts
# resolve through the real libnss_svcacct.so.2 (tests/pam/pamlib.sh), and
# pam_mkhomedir makes the home at the first login, as libnss_svcacct(8)
# recommends.  Private mount namespace (tests/pam/ns.sh): /etc/pam.d,
# passwd, /run ... are the test's.
. "$(dirname "$0")/../pam/ns.sh"
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/pam/pamlib.sh"

SSHD=/usr/sbin/sshd
[ -x "$SSHD" ] || bail "openssh-server is installed ($SSHD)"
command -v sshpass >/dev/null || bail "sshpass is installed"

start_daemon 'host_workspaces = [ "build-farm" ];' 'rate_limit_count = 1000;' ||
	bail "daemon starts"
private_root
debian_commons
setup_hostws editor:ci-deploy viewer:ci-view
UID_DEPLOY=$(acct_uid ci-deploy)
nss_resolves ci-deploy "$UID_DEPLOY"
if [ "${NSS_LINE##*:}" = /bin/bash ]; then ok "ci-deploy (editor: login) has the login shell"; else not_ok "ci-deploy has the login shell ($NSS_LINE)"; fi
HOME_DEPLOY="$HOME_BASE/ci-deploy"
nss_resolves ci-view "$(acct_uid ci-view)"
make_local_user localbob 61500 'hunter2-local'
install_example etc/pam.d/sshd.svcacct-example sshd " debug"
# the home at the first login (libnss_svcacct(8), HOME DIRECTORIES)
sed -i '/^@include common-session$/a session    optional     pam_mkhomedir.so skel=/etc/skel umask=0077' "$PRIV/pam.d/sshd"
grep -q pam_mkhomedir "$PRIV/pam.d/sshd" || bail "pam_mkhomedir added to the sshd stack"
if [ ! -e "$HOME_DEPLOY" ]; then ok "no home for ci-deploy before its first login"; else not_ok "no home for ci-deploy before its first login"; fi

K_DEPLOY=$(key_create ci-deploy) && [ -n "$K_DEPLOY" ] || bail "key create ci-deploy"
K_VIEW=$(key_create ci-view) || bail "key create ci-view"
K_FORGED=$("$PY" "$PAM_HELPER" forge-key "$K_DEPLOY") || bail "forge-key"

# ---- sshd ---------------------------------------------------------------------------
SD="$TMPD/sshd"
mkdir -m 0700 "$SD"
ssh-keygen -q -t ed25519 -N '' -f "$SD/ssh_host_ed25519_key" </dev/null || bail "ssh-keygen"
# sshd_conf FILE PORT PUBKEY: the private config; PUBKEY yes lets users
# log in with keys from ~/.ssh/authorized_keys (as a stock sshd does).
sshd_conf() {
	local keys=none
	[ "$3" = yes ] && keys=.ssh/authorized_keys
	cat >"$1" <<EOF
Port $2
ListenAddress 127.0.0.1
HostKey $SD/ssh_host_ed25519_key
PidFile $1.pid
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication yes
PubkeyAuthentication $3
AuthorizedKeysFile $keys
PermitRootLogin no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
MaxAuthTries 3
LoginGraceTime 30
LogLevel VERBOSE
EOF
}
PORT=$(free_port)
[ -n "$PORT" ] || bail "a free loopback port"
sshd_conf "$SD/sshd_config" "$PORT" no
check -d "sshd -t accepts the private config" "$SSHD" -t -f "$SD/sshd_config"
start_sshd "$SD/sshd_config" "$PORT" || { diag_file "$SD/sshd.log"; bail "sshd listens on 127.0.0.1:$PORT"; }
ok "sshd listens on 127.0.0.1:$PORT"

SSH_OPTS=(-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	-o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10
	-o NumberOfPasswordPrompts=1 -o ServerAliveInterval=5)

# ssh_login METHOD SECRET USER CMD: sets RC OUT ERR MS.  METHOD is kbd
# (keyboard-interactive: sshpass answers PAM's "API key or token:") or
# password (ssh's own password prompt; sshd hands it to PAM) or pubkey
# (SECRET is the private key file).  SSH_PORT: another sshd than $PORT.
ssh_login() {
	local method=$1 secret=$2 user=$3 cmd=$4
	if [ "$method" = kbd ]; then
		run_in "" env SSHPASS="$secret" timeout 40 sshpass -P "API key or token" -e \
			ssh "${SSH_OPTS[@]}" -p "${SSH_PORT:-$PORT}" -o PreferredAuthentications=keyboard-interactive "$user@127.0.0.1" "$cmd"
	elif [ "$method" = pubkey ]; then
		# SECRET: the private key file
		run_in "" timeout 40 ssh "${SSH_OPTS[@]}" -p "${SSH_PORT:-$PORT}" -o BatchMode=yes -o IdentitiesOnly=yes \
			-o PreferredAuthentications=publickey -i "$secret" "$user@127.0.0.1" "$cmd"
	else
		run_in "" env SSHPASS="$secret" timeout 40 sshpass -e \
			ssh "${SSH_OPTS[@]}" -p "${SSH_PORT:-$PORT}" -o PreferredAuthentications=password "$user@127.0.0.1" "$cmd"
	fi
}

# ---- a service account logs in with its key -------------------------------------------
SEQ0=$(audit_json | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d[-1]["seq"] if d else 0)')
SESSION_OUT="$TMPD/ssh.session.out"
# the session prints its token and lingers, so that the token can be
# checked while the session is open
( env SSHPASS="$K_DEPLOY" timeout 40 sshpass -P "API key or token" -e \
	ssh "${SSH_OPTS[@]}" -p "$PORT" -o PreferredAuthentications=keyboard-interactive \
	"ci-deploy@127.0.0.1" 'id -u; echo "TOKEN=$SVCACCT_TOKEN"; echo "PWD=$(pwd)"; sleep 2; echo done' \
	</dev/null >"$SESSION_OUT" 2>"$TMPD/ssh.session.err"
  echo "$?" >"$TMPD/ssh.session.rc" ) &
SSH_PID=$!
TOK=""
for i in $(seq 300); do
	TOK=$(sed -n 's/^TOKEN=//p' "$SESSION_OUT" 2>/dev/null)
	[ -n "$TOK" ] && break
	kill -0 "$SSH_PID" 2>/dev/null || break
	sleep 0.05
done
if [ -n "$TOK" ]; then ok "kbd-interactive login with the API key: SVCACCT_TOKEN is set in the session"; else not_ok "kbd-interactive login with the API key: SVCACCT_TOKEN is set in the session"; fi
if [ -n "$TOK" ] && token_valid "$TOK"; then ok "the session token is valid while the session is open"; else not_ok "the session token is valid while the session is open"; fi
wait "$SSH_PID"
RC=$(cat "$TMPD/ssh.session.rc" 2>/dev/null)
if [ "$RC" = 0 ] && [ "$(head -n 1 "$SESSION_OUT")" = "$UID_DEPLOY" ] && grep -q '^done$' "$SESSION_OUT"; then
	ok "the command ran as ci-deploy (uid $UID_DEPLOY) and the session ended normally"
else
	not_ok "the command ran as ci-deploy (uid $UID_DEPLOY) (exit $RC)"
	diag_file "$SESSION_OUT"
	diag_file "$TMPD/ssh.session.err"
	diag_file "$SD/sshd.log" 40
fi
revoked=0
for _ in $(seq 100); do
	if [ -n "$TOK" ] && ! token_valid "$TOK"; then revoked=1; break; fi
	sleep 0.05
done
if grep -qx "PWD=$HOME_DEPLOY" "$SESSION_OUT"; then ok "the session starts in the home from NSS ($HOME_DEPLOY)"; else not_ok "the session starts in the home from NSS ($HOME_DEPLOY): $(grep PWD= "$SESSION_OUT")"; fi
skel_missing=""
for f in /etc/skel/.[!.]* /etc/skel/*; do
	[ -e "$f" ] && [ ! -e "$HOME_DEPLOY/${f##*/}" ] && skel_missing="$skel_missing ${f##*/}"
done
if [ "$(stat -c '%u:%g %a' "$HOME_DEPLOY" 2>&1)" = "$UID_DEPLOY:$UID_DEPLOY 700" ] && [ -z "$skel_missing" ]; then
	ok "pam_mkhomedir made the home at the first login: owner $UID_DEPLOY, mode 0700, /etc/skel copied"
else
	not_ok "pam_mkhomedir made the home at the first login ($(stat -c '%u:%g %a' "$HOME_DEPLOY" 2>&1); from /etc/skel missing:${skel_missing:- none})"
fi
if [ "$revoked" = 1 ]; then ok "after logout the session token no longer works"; else not_ok "after logout the session token no longer works"; fi
if [ "$_PAM_CLI_KEYS" = 1 ] && [ -n "$TOK" ]; then
	check_exit 1 -d "svcacctctl token verify exits 1 for it" sh -c 'printf "%s\n" "$1" | $2 token verify' sh "$TOK" "$CTL"
fi
# the audit trail of this one login
audit_json --account ci-deploy >"$TMPD/login.audit.json"
"$PY" - "$SEQ0" "$TMPD/login.audit.json" >"$TMPD/login.audit.txt" <<'EOF'
import json, sys
seq0 = int(sys.argv[1])
for e in json.load(open(sys.argv[2])):
    if e["seq"] <= seq0:
        continue
    s = e.get("subject") or {}
    print("%s %s %s reason=%s service=%s rhost=%s jti=%s detail=%s" % (
        e["seq"], e["event"], e["outcome"], e.get("reason"), e.get("service"),
        e.get("rhost"), s.get("jti"), e.get("detail")))
EOF
diag "audit events of that login:"
diag <"$TMPD/login.audit.txt"
want_events="auth.allow auth.allow token.issue session.open token.revoke session.close"
got_events=$(awk '{print $2}' "$TMPD/login.audit.txt" | tr '\n' ' ' | sed 's/ $//')
if [ "$got_events" = "$want_events" ]; then ok "the login is audited: $want_events"; else not_ok "the login is audited: want $want_events, got $got_events"; fi
if grep -q '^[0-9]* auth.allow success reason=None service=sshd rhost=127.0.0.1' "$TMPD/login.audit.txt"; then
	ok "audit: service sshd and rhost 127.0.0.1"
else
	not_ok "audit: service sshd and rhost 127.0.0.1"
fi
jtis=$(sed -n 's/.* \(token.issue\|session.open\|token.revoke\|session.close\) .*jti=\([^ ]*\).*/\2/p' "$TMPD/login.audit.txt" | sort -u | tr '\n' ' ')
if [ "$(echo $jtis | wc -w)" = 1 ] && [ "$jtis" != "None " ]; then ok "audit: token.issue, session.open/close and token.revoke name one jti"; else not_ok "audit: one jti for the session (got: $jtis)"; fi

ssh_login password "$K_DEPLOY" ci-deploy 'id -un'
expect_run "password method (sshd passes the key to PAM) -> logged in as ci-deploy" 0 "ci-deploy"
# sshd runs keyboard-interactive auth in a child of its monitor, which then
# opens the session: the auth mark crossed over in the PAM environment.
# The password method authenticates in the monitor itself (pam_set_data).
check_devlog "kbd-interactive: the session stage honoured the auth mark from sshd's PAM child" \
	"session: ci-deploy: the auth mark in the PAM environment is valid"
check_devlog "password method: the session stage saw the auth in the same process" \
	"session: ci-deploy: auth was by svcacct in this process"

# ---- a key planted in ~/.ssh/authorized_keys (issue 14, finding 5) --------------------
ssh-keygen -q -t ed25519 -N '' -f "$SD/client_key" </dev/null || bail "ssh-keygen (client key)"
install -d -m 0700 -o "$UID_DEPLOY" -g "$UID_DEPLOY" "$HOME_DEPLOY/.ssh" &&
	install -m 0600 -o "$UID_DEPLOY" -g "$UID_DEPLOY" "$SD/client_key.pub" "$HOME_DEPLOY/.ssh/authorized_keys" ||
	bail "authorized_keys for ci-deploy"
PORT_PK=$(free_port)
sshd_conf "$SD/sshd_pubkey.conf" "$PORT_PK" yes
start_sshd "$SD/sshd_pubkey.conf" "$PORT_PK" || { diag_file "$SD/sshd.log"; bail "sshd with publickey listens on $PORT_PK"; }
SSH_PORT=$PORT_PK ssh_login pubkey "$SD/client_key" ci-deploy 'id -u; echo "TOKEN=${SVCACCT_TOKEN:-none}"'
expect_run "sshd reading authorized_keys: a publickey login as ci-deploy gets a shell" 0 "$UID_DEPLOY"
if [[ $OUT == *"TOKEN=none"* ]]; then
	ok "... but no SVCACCT_TOKEN in it (the login presented no svcacct credential)"
else
	not_ok "... but no SVCACCT_TOKEN in it (got TOKEN=$(printf '%s' "$OUT" | sed -n 's/^TOKEN=\(.\{0,12\}\).*/\1/p')...)"
fi
audit_has "... its session.open is audited with reason no_token" \
	'any(e["event"] == "session.open" and e.get("reason") == "no_token" and e["subject"].get("account") == "ci-deploy" and e.get("service") == "sshd" for e in d)'
check_devlog "... and pam_svcacct says why (syslog)" \
	"no SVCACCT_TOKEN: this login did not authenticate with a svcacct key or token"
SSH_PORT=$PORT_PK ssh_login kbd "$K_DEPLOY" ci-deploy 'echo "TOKEN=${SVCACCT_TOKEN:-none}"'
if [ "$RC" = 0 ] && [[ $OUT == *"TOKEN=ey"* ]]; then
	ok "the same sshd, keyboard-interactive with the API key: SVCACCT_TOKEN is set"
else
	not_ok "the same sshd, keyboard-interactive with the API key: SVCACCT_TOKEN is set (exit $RC)"
fi

# ---- the shipped sshd example (etc/ssh/sshd_config.svcacct-example) ---------------------
PORT_EX=$(free_port)
sshd_conf "$SD/sshd_example.conf" "$PORT_EX" yes
cat "$REPO_DIR/etc/ssh/sshd_config.svcacct-example" >>"$SD/sshd_example.conf"
check -d "sshd -t accepts the shipped sshd example" "$SSHD" -t -f "$SD/sshd_example.conf"
start_sshd "$SD/sshd_example.conf" "$PORT_EX" || { diag_file "$SD/sshd.log"; bail "sshd with the example listens on $PORT_EX"; }
SSH_PORT=$PORT_EX ssh_login pubkey "$SD/client_key" ci-deploy 'id -u'
if [ "$RC" != 0 ] && [[ $OUT != *"$UID_DEPLOY"* ]]; then
	ok "shipped sshd example: the authorized_keys login of ci-deploy is refused (ssh exit $RC)"
else
	not_ok "shipped sshd example: the authorized_keys login of ci-deploy is refused (exit $RC, out: $OUT)"
fi
SSH_PORT=$PORT_EX ssh_login kbd "$K_DEPLOY" ci-deploy 'id -u; echo "TOKEN=${SVCACCT_TOKEN:-none}"'
if [ "$RC" = 0 ] && [[ $OUT == *"$UID_DEPLOY"* && $OUT == *"TOKEN=ey"* ]]; then
	ok "shipped sshd example: keyboard-interactive with the API key logs in, with SVCACCT_TOKEN"
else
	not_ok "shipped sshd example: keyboard-interactive with the API key logs in, with SVCACCT_TOKEN (exit $RC)"
fi
SSH_PORT=$PORT_EX ssh_login password 'hunter2-local' localbob 'id -un'
expect_run "shipped sshd example: a local user is not affected (password)" 0 "localbob"

# ---- refused ------------------------------------------------------------------------------
ssh_login kbd "$K_FORGED" ci-deploy 'id -u'
if [ "$RC" != 0 ] && [[ $OUT != *"$UID_DEPLOY"* ]]; then ok "a wrong key is refused (ssh exit $RC)"; else not_ok "a wrong key is refused (exit $RC, out: $OUT)"; fi
audit_has "the wrong key is audited: auth.deny bad_secret, service sshd, rhost 127.0.0.1" \
	'any(e["event"] == "auth.deny" and e.get("reason") == "bad_secret" and e.get("service") == "sshd" and e.get("rhost") == "127.0.0.1" for e in d)'
ssh_login kbd "$K_VIEW" ci-view 'id -u'
if [ "$RC" != 0 ] && [[ $OUT != *"$(acct_uid ci-view)"* ]]; then ok "a viewer is refused (ssh exit $RC)"; else not_ok "a viewer is refused (exit $RC, out: $OUT)"; fi
diag "what ssh printed for the viewer: $(printf '%s' "$ERR" | tr '\n' '|')"
audit_has "the viewer is refused at the account stage: auth.deny no_capability" \
	'any(e["event"] == "auth.deny" and e.get("reason") == "no_capability" and e["subject"].get("account") == "ci-view" and e.get("service") == "sshd" for e in d)'
audit_has "... after its key was accepted (auth.allow for ci-view)" \
	'any(e["event"] == "auth.allow" and e["subject"].get("account") == "ci-view" and e.get("detail") == "auth" for e in d)'
check_devlog "pam_svcacct logs the refusal (syslog)" "account: ci-view denied sshd (no_capability, role viewer)"
if grep -q "ci-view" "$SD/sshd.log"; then diag "sshd.log on the viewer: $(grep ci-view "$SD/sshd.log" | tail -n 3 | tr '\n' '|')"; fi

# ---- a local user ----------------------------------------------------------------------------
ssh_login password 'hunter2-local' localbob 'id -un; echo "TOKEN=${SVCACCT_TOKEN:-none}"'
expect_run "a local user logs in with the local password" 0 "localbob"
if [[ $OUT == *"TOKEN=none"* ]]; then ok "a local user gets no SVCACCT_TOKEN"; else not_ok "a local user gets no SVCACCT_TOKEN"; fi

# ---- svcacctd down ---------------------------------------------------------------------------
stop_daemon
ssh_login password 'hunter2-local' localbob 'id -un'
expect_run "svcacctd down: a local user still logs in" 0 "localbob"
ssh_login kbd "$K_DEPLOY" ci-deploy 'id -u'
if [ "$RC" != 0 ] && [[ $OUT != *"$UID_DEPLOY"* ]]; then ok "svcacctd down: a service account is refused (ssh exit $RC)"; else not_ok "svcacctd down: a service account is refused (exit $RC)"; fi
if [ "$MS" -lt 15000 ]; then ok "svcacctd down: refused without hanging ($MS ms)"; else not_ok "svcacctd down: refused without hanging ($MS ms)"; fi
start_daemon_reuse || bail "daemon starts again"

secrets_never_logged "no key or token in syslog, daemon.log or the audit trail" "$K_DEPLOY" "$K_VIEW" "$K_FORGED" "$TOK"
if grep -qF -- "${K_DEPLOY:18}" "$SD/sshd.log" || { [ -n "$TOK" ] && grep -qF -- "$TOK" "$SD/sshd.log"; }; then
	not_ok "no key or token in sshd's log"
else
	ok "no key or token in sshd's log"
fi
host_untouched
