#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# SSH certificates end to end (DESIGN.md section 10) with a real sshd on
# loopback: svcacct-ssh-setup enable writes the sshd settings into a
# private sshd_config.d that the private sshd_config Includes; an editor
# logs in with its key and a certificate from the daemon's CA (BatchMode,
# no password), gets its shell as the account and SVCACCT_TOKEN, and the
# login is audited (auth.allow, method ssh-cert, serial).  Refused: a
# viewer's certificate, a revoked serial (KRL), a certificate after
# account disable, after its key was revoked, an expired certificate
# (sshd under faketime), a certificate from another CA, a certificate for
# another principal.  disable puts the host back byte for byte.  Private
# mount namespace (tests/pam/ns.sh): /etc/pam.d, passwd, /run ... are the
# test's; the accounts resolve through the real libnss_svcacct.so.2.
. "$(dirname "$0")/../pam/ns.sh"
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/pam/pamlib.sh"

SSHD=/usr/sbin/sshd
[ -x "$SSHD" ] || bail "openssh-server is installed ($SSHD)"
command -v faketime >/dev/null || bail "faketime is installed (make deps)"
SETUP="$REPO_DIR/tools/svcacct-ssh-setup"
SSH_UID=61600

start_daemon 'host_workspaces = [ "build-farm" ];' 'rate_limit_count = 1000;' || bail "daemon starts"
private_root
debian_commons
echo "svcacct-ssh:x:$SSH_UID:$SSH_UID:svcacct SSH principals helper:/nonexistent:/usr/sbin/nologin" >>"$PRIV/passwd"
echo "svcacct-ssh:x:$SSH_UID:" >>"$PRIV/group"
restart_daemon || bail "daemon restarts (ssh_principals_user resolved)"
setup_hostws editor:ci-deploy editor:ci-view editor:ci-off editor:ci-keyrev editor:ci-other
UID_DEPLOY=$(acct_uid ci-deploy)
nss_resolves ci-deploy "$UID_DEPLOY"
install_example etc/pam.d/sshd.svcacct-example sshd " debug"
K_DEPLOY=$(key_create ci-deploy) && [ -n "$K_DEPLOY" ] || bail "key create ci-deploy"
K_VIEW=$(key_create ci-view) || bail "key create ci-view"
K_OFF=$(key_create ci-off) || bail "key create ci-off"
K_REV=$(key_create ci-keyrev) || bail "key create ci-keyrev"
K_OTHER=$(key_create ci-other) || bail "key create ci-other"

# ---- certificates ----------------------------------------------------------------
SD="$TMPD/sshd"
mkdir -m 0700 "$SD"
ssh-keygen -q -t ed25519 -N '' -f "$SD/id" </dev/null || bail "ssh-keygen (the account's key)"
# sign KEY NAME [TTL]: svcacctctl ssh sign with the account's key (on
# stdin); the certificate in $SD/NAME-cert.pub; prints its serial
sign() {
	printf '%s\n' "$1" | $CTL --json ssh sign "$SD/id.pub" --ttl "${3:-900}" --out "$SD/$2-cert.pub" |
		json_py 'd["serial"]'
}
revoke_serial() { $CTL ssh revoke "$1" </dev/null >/dev/null; }
S_DEPLOY=$(sign "$K_DEPLOY" deploy) || bail "sign ci-deploy"
S_REVOKED=$(sign "$K_DEPLOY" revoked) || bail "sign ci-deploy (to be revoked)"
S_VIEW=$(sign "$K_VIEW" view) || bail "sign ci-view"
S_OFF=$(sign "$K_OFF" off) || bail "sign ci-off"
S_REV=$(sign "$K_REV" keyrev) || bail "sign ci-keyrev"
S_OTHER=$(sign "$K_OTHER" other) || bail "sign ci-other"
S_SHORT=$(sign "$K_DEPLOY" short 60) || bail "sign ci-deploy --ttl 60"
diag "ssh-keygen -L of the editor's certificate:"
ssh-keygen -L -f "$SD/deploy-cert.pub" 2>&1 | diag
# a certificate from another CA, shaped like ours
ssh-keygen -q -t ed25519 -N '' -f "$SD/other_ca" </dev/null || bail "ssh-keygen (another CA)"
cp "$SD/id.pub" "$SD/foreign.pub"
ssh-keygen -q -s "$SD/other_ca" -I "sa:ci-deploy key:$(key_id "$K_DEPLOY") jti:foreign" \
	-n ci-deploy -V -5m:+10m -z 4242 "$SD/foreign.pub" </dev/null || bail "ssh-keygen -s (another CA)"

# ---- sshd with svcacct-ssh-setup enable --------------------------------------------
# AuthorizedPrincipalsCommand must sit in root-owned directories nobody
# else can write (sshd checks): the private /run is one
install -d -m 0755 /run/svcacct-libexec
install -m 0755 "$SVCACCT_BUILD/svcacct-principals" /run/svcacct-libexec/svcacct-principals
mkdir -m 0755 "$SD/sshd_config.d"
PORT=$(free_port)
[ -n "$PORT" ] || bail "a free loopback port"
sshd_conf() { # FILE PORT
	cat >"$1" <<EOF
Include $SD/sshd_config.d/*.conf
Port $2
ListenAddress 127.0.0.1
HostKey $SD/ssh_host_ed25519_key
PidFile $1.pid
UsePAM yes
PubkeyAuthentication yes
AuthorizedKeysFile none
KbdInteractiveAuthentication no
PasswordAuthentication no
PermitRootLogin no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
MaxAuthTries 4
LoginGraceTime 30
LogLevel VERBOSE
EOF
}
ssh-keygen -q -t ed25519 -N '' -f "$SD/ssh_host_ed25519_key" </dev/null || bail "ssh-keygen (host key)"
sshd_conf "$SD/sshd_config" "$PORT"
printf '# the host had this before\nBanner none\n' >"$SD/sshd_config.d/svcacct.conf"
cp -p "$SD/sshd_config.d/svcacct.conf" "$SD/before.conf"
SETUP_ARGS=(--sshd-config-dir "$SD/sshd_config.d" --sshd-config "$SD/sshd_config"
	--ca-file "$STATE/ssh_ca.pub" --krl-file "$STATE/ssh_revoked.krl"
	--principals-command "/run/svcacct-libexec/svcacct-principals --socket $SOCK"
	--user svcacct-ssh)
check_exit 1 -d "svcacct-ssh-setup status: not enabled (exit 1)" "$SETUP" status "${SETUP_ARGS[@]}"
run_in "" "$SETUP" enable "${SETUP_ARGS[@]}"
expect_run "svcacct-ssh-setup enable (sshd -t passes)" 0 "enabled"
diag "the file it wrote:"
diag <"$SD/sshd_config.d/svcacct.conf"
check_exit 0 -d "svcacct-ssh-setup status: enabled (exit 0)" "$SETUP" status "${SETUP_ARGS[@]}"
start_sshd "$SD/sshd_config" "$PORT" || { diag_file "$SD/sshd.log"; bail "sshd listens on 127.0.0.1:$PORT"; }
ok "sshd with the svcacct settings listens on 127.0.0.1:$PORT"

SSH_OPTS=(-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	-o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10
	-o BatchMode=yes -o IdentitiesOnly=yes -o PreferredAuthentications=publickey
	-o ServerAliveInterval=5)
# cert_login CERT USER CMD [PORT]: sets RC OUT ERR MS
cert_login() {
	run_in "" timeout 40 ssh "${SSH_OPTS[@]}" -p "${4:-$PORT}" -i "$SD/id" \
		-o CertificateFile="$SD/$1-cert.pub" "$2@127.0.0.1" "$3"
}
refused_login() { # DESC
	if [ "$RC" != 0 ] && [[ $OUT != *"ci-"* ]]; then
		ok "$1: refused (ssh exit $RC)"
	else
		not_ok "$1: refused (exit $RC, out: $OUT)"
	fi
}

# ---- an editor logs in -------------------------------------------------------------
# the session prints its token and lingers, so that the token can be
# checked while the session is open (it is revoked at logout)
( timeout 40 ssh "${SSH_OPTS[@]}" -p "$PORT" -i "$SD/id" -o CertificateFile="$SD/deploy-cert.pub" \
	ci-deploy@127.0.0.1 'id -un; echo "TOKEN=${SVCACCT_TOKEN:-none}"; sleep 2; echo done' \
	</dev/null >"$TMPD/session.out" 2>"$TMPD/session.err"
  echo "$?" >"$TMPD/session.rc" ) &
SESSION_PID=$!
TOK=""
for _ in $(seq 300); do
	TOK=$(sed -n 's/^TOKEN=//p' "$TMPD/session.out" 2>/dev/null)
	[ -n "$TOK" ] && break
	kill -0 "$SESSION_PID" 2>/dev/null || break
	sleep 0.05
done
if [[ $TOK == ey* ]] && token_valid "$TOK"; then
	ok "an editor's certificate login has SVCACCT_TOKEN in its session, valid while it is open"
else
	not_ok "an editor's certificate login has SVCACCT_TOKEN in its session (got TOKEN=${TOK:0:12}...)"
	diag_file "$SD/sshd.log" 20
fi
wait "$SESSION_PID"
if [ "$(cat "$TMPD/session.rc")" = 0 ] && [ "$(head -n 1 "$TMPD/session.out")" = ci-deploy ] && grep -qx done "$TMPD/session.out"; then
	ok "an editor logs in with its certificate (BatchMode, no password): id -un prints ci-deploy"
else
	not_ok "an editor logs in with its certificate: id -un prints ci-deploy (exit $(cat "$TMPD/session.rc"))"
	diag_file "$TMPD/session.out"
	diag_file "$TMPD/session.err"
fi
audit_has "the login is audited: auth.allow, method ssh-cert, serial $S_DEPLOY, rhost 127.0.0.1" \
	'any(e["event"] == "auth.allow" and e.get("method") == "ssh-cert" and e.get("serial") == int(sys.argv[2]) and e.get("rhost") == "127.0.0.1" and e.get("service") == "sshd" and e["subject"].get("account") == "ci-deploy" for e in d)' "$S_DEPLOY"
audit_has "... with the certificate's key id" \
	'any(e["event"] == "auth.allow" and e.get("method") == "ssh-cert" and (e.get("cert_id") or "").startswith("sa:ci-deploy key:") for e in d)'
audit_has "... the account stage and a token for the session (auth.allow account, token.issue, session.open)" \
	'any(e["event"] == "auth.allow" and e.get("detail") == "account" and e["subject"].get("account") == "ci-deploy" for e in d) and any(e["event"] == "token.issue" and e["subject"].get("account") == "ci-deploy" for e in d)'
check_devlog "pam_svcacct handed the certificate to svcacctd at the session stage" "session: ci-deploy: an SSH certificate login"
ACCEPTED=$(grep -a "Accepted publickey for ci-deploy" "$SD/sshd.log" | tail -n 1)
if [ -n "$ACCEPTED" ]; then ok "sshd logs the accepted certificate login"; else not_ok "sshd logs the accepted certificate login"; fi
diag "sshd, accepted: $ACCEPTED"

# ---- refused -----------------------------------------------------------------------
$CTL grant remove ci-view --workspace build-farm </dev/null >/dev/null 2>&1
$CTL grant add ci-view --workspace build-farm --role viewer </dev/null >/dev/null || bail "ci-view becomes a viewer"
cert_login view ci-view 'id -un'
refused_login "a viewer's certificate (issued while it was an editor)"

revoke_serial "$S_REVOKED" || bail "ssh revoke $S_REVOKED"
run_in "" ssh-keygen -Q -f "$STATE/ssh_revoked.krl" "$SD/revoked-cert.pub"
if [[ $OUT == *REVOKED* ]]; then ok "ssh-keygen -Q: the KRL revokes serial $S_REVOKED"; else not_ok "ssh-keygen -Q: the KRL revokes serial $S_REVOKED ($OUT $ERR)"; fi
run_in "" ssh-keygen -Q -f "$STATE/ssh_revoked.krl" "$SD/deploy-cert.pub"
if [ "$RC" = 0 ] && [[ $OUT == *ok* ]]; then ok "ssh-keygen -Q: ... and not serial $S_DEPLOY"; else not_ok "ssh-keygen -Q: ... and not serial $S_DEPLOY ($OUT $ERR)"; fi
cert_login revoked ci-deploy 'id -un'
refused_login "a revoked serial"
REVOKED_LINE=$(grep -a -i "revoked" "$SD/sshd.log" | tail -n 1)
if [ -n "$REVOKED_LINE" ]; then ok "sshd logs the revoked certificate"; else not_ok "sshd logs the revoked certificate"; diag_file "$SD/sshd.log" 15; fi
diag "sshd, revoked: $REVOKED_LINE"

$CTL account disable ci-off </dev/null >/dev/null || bail "account disable ci-off"
cert_login off ci-off 'id -un'
refused_login "a certificate after account disable"

key_set ci-keyrev "$(key_id "$K_REV")" revoke || bail "key revoke ci-keyrev"
cert_login keyrev ci-keyrev 'id -un'
refused_login "a certificate after its key was revoked"

cert_login foreign ci-deploy 'id -un'
refused_login "a certificate from another CA"

cert_login other ci-deploy 'id -un'
refused_login "a certificate for another principal (ci-other's, as ci-deploy)"
cert_login other ci-other 'id -un'
expect_run "... which logs in as ci-other" 0 "ci-other"

# expired: the 60 s certificate, to an sshd whose clock runs 10 minutes ahead
PORT_LATE=$(free_port)
sshd_conf "$SD/sshd_late.conf" "$PORT_LATE"
SSHD_WRAP="faketime -f +10m" start_sshd "$SD/sshd_late.conf" "$PORT_LATE" ||
	{ diag_file "$SD/sshd.log"; bail "sshd under faketime listens on $PORT_LATE"; }
cert_login short ci-deploy 'id -un' "$PORT_LATE"
refused_login "an expired certificate (ttl 60 s, sshd 10 minutes ahead)"
if grep -aq "expired" "$SD/sshd.log"; then ok "... sshd says it expired"; else not_ok "... sshd says it expired"; diag_file "$SD/sshd.log" 10; fi
cert_login short ci-deploy 'id -un'
expect_run "... the same certificate logs in now" 0 "ci-deploy"

audit_has "the refusals the daemon saw are audited with their serials (viewer: no_capability)" \
	'any(e["event"] == "auth.deny" and e.get("method") == "ssh-cert" and e.get("serial") == int(sys.argv[2]) and e.get("reason") == "no_capability" for e in d)' "$S_VIEW"

# ---- disable -------------------------------------------------------------------------
run_in "" "$SETUP" disable "${SETUP_ARGS[@]}"
expect_run "svcacct-ssh-setup disable" 0 "restored"
if cmp -s "$SD/before.conf" "$SD/sshd_config.d/svcacct.conf" &&
	[ "$(stat -c %a "$SD/sshd_config.d/svcacct.conf")" = "$(stat -c %a "$SD/before.conf")" ] &&
	[ "$(ls -A "$SD/sshd_config.d")" = svcacct.conf ]; then
	ok "... the host's svcacct.conf is back byte for byte, nothing else left"
else
	not_ok "... the host's svcacct.conf is back byte for byte ($(ls -A "$SD/sshd_config.d" | tr '\n' ' '))"
fi
check_exit 1 -d "svcacct-ssh-setup status after disable: not enabled (exit 1)" "$SETUP" status "${SETUP_ARGS[@]}"
# a configuration sshd rejects is rolled back
run_in "" "$SETUP" enable "${SETUP_ARGS[@]}" --user 'bad user'
expect_run "enable with a bad --user: refused before writing" 1 "not a user name"
run_in "" env SSHD=/bin/false "$SETUP" enable "${SETUP_ARGS[@]}"
if [ "$RC" = 1 ] && cmp -s "$SD/before.conf" "$SD/sshd_config.d/svcacct.conf" && [ "$(ls -A "$SD/sshd_config.d")" = svcacct.conf ]; then
	ok "enable whose sshd -t fails rolls back: the host's file is untouched"
else
	not_ok "enable whose sshd -t fails rolls back (exit $RC; $(ls -A "$SD/sshd_config.d" | tr '\n' ' '))"
fi
secrets_never_logged "no API key or token in syslog, daemon.log or the audit trail" \
	"$K_DEPLOY" "$K_VIEW" "$K_OFF" "$K_REV" "$K_OTHER" "$TOK"
host_untouched
