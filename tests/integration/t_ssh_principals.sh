#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# svcacct-principals (sshd's AuthorizedPrincipalsCommand, DESIGN.md section
# 10) run directly, as sshd runs it (as the ssh_principals_user
# svcacct-ssh, arguments %u %i %s %F), against a real daemon: it prints
# the account name only for an allowed certificate, and for every refusal
# (viewer, unknown user, disabled account, revoked serial, revoked key,
# unknown CA, key id of another account, daemon down, a caller the daemon
# does not answer, bad arguments) prints nothing, exits 0 and says why in
# syslog.  Refusals are audited (auth.deny, method ssh-cert, the serial),
# coalesced under a flood.  Private mount namespace (tests/pam/ns.sh): the
# helper's syslog goes to the test's /dev/log sink.
. "$(dirname "$0")/../pam/ns.sh"
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/pam/pamlib.sh"

HELPER="$SVCACCT_BUILD/svcacct-principals"
[ -x "$HELPER" ] || bail "the helper is built: $HELPER"
SSH_UID=61600

start_daemon 'host_workspaces = [ "build-farm" ];' 'rate_limit_count = 1000;' \
	'audit_refusal_burst = 20;' || bail "daemon starts"
private_root
# sshd's AuthorizedPrincipalsCommandUser, as the package creates it; the
# daemon resolves ssh_principals_user at start and reload
echo "svcacct-ssh:x:$SSH_UID:$SSH_UID:svcacct SSH principals helper:/nonexistent:/usr/sbin/nologin" >>"$PRIV/passwd"
echo "svcacct-ssh:x:$SSH_UID:" >>"$PRIV/group"
restart_daemon || bail "daemon restarts (ssh_principals_user resolved)"
setup_hostws editor:ci-deploy editor:ci-view editor:ci-off editor:ci-keyrev
K_DEPLOY=$(key_create ci-deploy) && [ -n "$K_DEPLOY" ] || bail "key create ci-deploy"
K_VIEW=$(key_create ci-view) || bail "key create ci-view"
K_OFF=$(key_create ci-off) || bail "key create ci-off"
K_REV=$(key_create ci-keyrev) || bail "key create ci-keyrev"

# ---- certificates from the daemon's CA -------------------------------------------
ssh-keygen -q -t ed25519 -N '' -f "$TMPD/id" </dev/null || bail "ssh-keygen"
# sign KEY: svcacctctl ssh sign with the account's key (on stdin); prints
# "SERIAL<TAB>KEY_ID"
sign() {
	printf '%s\n' "$1" | $CTL --json ssh sign "$TMPD/id.pub" --out "$TMPD/id-cert.pub" |
		json_py '"%s\t%s" % (d["serial"], d["key_id"])'
}
revoke_serial() { $CTL ssh revoke "$1" </dev/null >/dev/null; }
CA_FP=$(ssh-keygen -lf "$STATE/ssh_ca.pub" | awk '/svcacct-ca-current/ {print $2}')
[ -n "$CA_FP" ] || bail "the daemon's current CA key is in $STATE/ssh_ca.pub"
ok "the daemon's CA: $CA_FP"

IFS=$'\t' read -r S_DEPLOY I_DEPLOY < <(sign "$K_DEPLOY") || bail "sign ci-deploy"
IFS=$'\t' read -r S_DEPLOY2 I_DEPLOY2 < <(sign "$K_DEPLOY") || bail "sign ci-deploy (2)"
IFS=$'\t' read -r S_VIEW I_VIEW < <(sign "$K_VIEW") || bail "sign ci-view"
IFS=$'\t' read -r S_OFF I_OFF < <(sign "$K_OFF") || bail "sign ci-off"
IFS=$'\t' read -r S_REV I_REV < <(sign "$K_REV") || bail "sign ci-keyrev"
diag "certificates: $S_DEPLOY \"$I_DEPLOY\", $S_VIEW \"$I_VIEW\""

# principals USER KEY_ID SERIAL FP [AS_UID]: the helper as sshd runs it
principals() {
	local as=${5:-$SSH_UID}
	run_in "" timeout 10 setpriv --reuid="$as" --regid="$as" --clear-groups -- \
		"$HELPER" --socket "$SOCK" "$1" "$2" "$3" "$4"
}
# refused DESC: nothing printed, exit 0
refused() {
	if [ "$RC" = 0 ] && [ -z "$OUT" ]; then
		ok "$1: nothing printed, exit 0"
	else
		not_ok "$1: nothing printed, exit 0 (exit $RC, printed '$OUT', stderr '$ERR')"
	fi
}
# audited REASON SERIAL DESC: an auth.deny with method ssh-cert for it
audited() {
	audit_has "$3: audited auth.deny, method ssh-cert, serial $2, reason $1" \
		'any(e["event"] == "auth.deny" and e.get("method") == "ssh-cert" and e.get("serial") == int(sys.argv[3]) and e.get("reason") == sys.argv[2] for e in d)' "$1" "$2"
}

# ---- allowed ---------------------------------------------------------------------
principals ci-deploy "$I_DEPLOY" "$S_DEPLOY" "$CA_FP"
if [ "$RC" = 0 ] && [ "$OUT" = ci-deploy ] && [ "$(cat "$TMPD/run.out")" = ci-deploy ]; then
	ok "an editor's certificate: the helper prints ci-deploy and a newline, exit 0"
else
	not_ok "an editor's certificate: the helper prints ci-deploy (exit $RC, printed '$OUT', stderr '$ERR')"
fi
if [ "$(wc -l <"$TMPD/run.out")" = 1 ] && [ -z "$ERR" ]; then ok "... one line on stdout, nothing on stderr"; else not_ok "... one line on stdout, nothing on stderr"; fi
check_devlog "... and a syslog line says so" "user ci-deploy, serial $S_DEPLOY, key id \"$I_DEPLOY\": allowed"
audit_has "an allow is not audited by the helper's question (sshd asks twice; PAM records the login)" \
	'not any(e.get("method") == "ssh-cert" and e["event"] == "auth.allow" for e in d)'
principals ci-deploy "$I_DEPLOY" "$S_DEPLOY" "$CA_FP" 0
if [ "$OUT" = ci-deploy ]; then ok "root may ask too"; else not_ok "root may ask too (printed '$OUT')"; fi

# ---- refused ---------------------------------------------------------------------
$CTL grant add ci-view --workspace build-farm --role viewer </dev/null >/dev/null 2>&1 ||
	{ $CTL grant remove ci-view --workspace build-farm </dev/null >/dev/null 2>&1; $CTL grant add ci-view --workspace build-farm --role viewer </dev/null >/dev/null; }
principals ci-view "$I_VIEW" "$S_VIEW" "$CA_FP"
refused "a viewer's certificate (its role lost login after the certificate was issued)"
audited no_capability "$S_VIEW" "the viewer"
check_devlog "... syslog says why" "user ci-view, serial $S_VIEW, key id \"$I_VIEW\": refused (no_capability)"

principals nosuchuser "sa:nosuchuser key: jti:x" 7 "$CA_FP"
refused "an unknown user"
principals root "$I_DEPLOY" "$S_DEPLOY" "$CA_FP"
refused "a local user (root) with a service account's certificate"

$CTL account disable ci-off </dev/null >/dev/null || bail "account disable ci-off"
principals ci-off "$I_OFF" "$S_OFF" "$CA_FP"
refused "a disabled account"
audited account_disabled "$S_OFF" "the disabled account"

revoke_serial "$S_DEPLOY2" || bail "ssh revoke $S_DEPLOY2"
principals ci-deploy "$I_DEPLOY2" "$S_DEPLOY2" "$CA_FP"
refused "a revoked serial"
audited certificate_revoked "$S_DEPLOY2" "the revoked serial"
principals ci-deploy "$I_DEPLOY" "$S_DEPLOY" "$CA_FP"
if [ "$OUT" = ci-deploy ]; then ok "... the account's other certificate still logs in"; else not_ok "... the account's other certificate still logs in (printed '$OUT')"; fi

key_set ci-keyrev "$(key_id "$K_REV")" revoke || bail "key revoke ci-keyrev"
principals ci-keyrev "$I_REV" "$S_REV" "$CA_FP"
refused "a certificate obtained with a key that was revoked since"
audited certificate_revoked "$S_REV" "the revoked key's certificate (revoked with the key)"
# the key check itself, for a certificate the revocation list would miss
principals ci-keyrev "sa:ci-keyrev key:$(key_id "$K_REV") jti:other" 999999 "$CA_FP"
refused "a key id naming a revoked API key"
audited key_revoked 999999 "the revoked API key"

principals ci-deploy "$I_DEPLOY" "$S_DEPLOY" "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
refused "a CA fingerprint that is not one of the daemon's CA keys"
audited unknown_ca "$S_DEPLOY" "the unknown CA"

principals ci-deploy "$I_VIEW" "$S_VIEW" "$CA_FP"
refused "the key id of another account"
audited wrong_key_id "$S_VIEW" "the key id of another account"
principals ci-deploy "sa:ci-deploy key:$(key_id "$K_DEPLOY")  jti:x" 5 "$CA_FP"
refused "a malformed key id"

principals ci-deploy "$I_DEPLOY" "$S_DEPLOY" "$CA_FP" 65534
refused "a caller the daemon does not answer (nobody)"
check_devlog "... syslog says the daemon refused the question" \
	"user ci-deploy, serial $S_DEPLOY: svcacctd refused the question (not authorized"

principals ci-deploy "$I_DEPLOY" notanumber "$CA_FP"
refused "a serial that is not a number"
check_devlog "... syslog says so" "serial notanumber is not a number: refused"
run_in "" setpriv --reuid="$SSH_UID" --regid="$SSH_UID" --clear-groups -- "$HELPER" --socket "$SOCK" ci-deploy "$I_DEPLOY" "$S_DEPLOY"
refused "three arguments instead of four"
check_devlog "... syslog shows the usage" "usage: svcacct-principals"
run_in "" setpriv --reuid="$SSH_UID" --regid="$SSH_UID" --clear-groups -- "$HELPER" --socket "$SOCK" ci-deploy "$(printf 'x%.0s' $(seq 600))" "$S_DEPLOY" "$CA_FP"
refused "an argument longer than 512 characters"

# a flood of refusals from the helper's user is coalesced (refusals.c)
n0=$(audit_json | "$PY" -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin) if e.get("method") == "ssh-cert" and (e.get("peer") or {}).get("uid") == int(sys.argv[1])))' "$SSH_UID")
for i in $(seq 30); do
	setpriv --reuid="$SSH_UID" --regid="$SSH_UID" --clear-groups -- "$HELPER" --socket "$SOCK" ci-deploy "$I_DEPLOY" "$i" SHA256:flood >/dev/null 2>&1
done
n1=$(audit_json | "$PY" -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin) if e.get("method") == "ssh-cert" and (e.get("peer") or {}).get("uid") == int(sys.argv[1])))' "$SSH_UID")
if [ $((n1 - n0)) -lt 30 ] && [ "$n1" -le 21 ]; then
	ok "30 more refusals from svcacct-ssh: $((n1 - n0)) recorded one by one ($n1 in this window, audit_refusal_burst 20), the rest counted"
else
	not_ok "refusals from svcacct-ssh are coalesced (before $n0, after $n1)"
fi

# ---- the daemon down ---------------------------------------------------------------
stop_daemon
principals ci-deploy "$I_DEPLOY" "$S_DEPLOY" "$CA_FP"
refused "svcacctd down"
if [ "$MS" -lt 3000 ]; then ok "... answered within the 2 s deadline ($MS ms)"; else not_ok "... answered within the 2 s deadline ($MS ms)"; fi
check_devlog "... syslog says the daemon is not reachable" \
	"user ci-deploy, serial $S_DEPLOY: svcacctd not reachable"
# a daemon that accepts and never answers: the helper gives up at 2 s
bg "$PY" -c '
import socket, sys, time, os
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666); s.listen(4)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$TMPD/silent.sock"
for _ in $(seq 100); do [ -S "$TMPD/silent.sock" ] && break; sleep 0.02; done
run_in "" timeout 10 setpriv --reuid="$SSH_UID" --regid="$SSH_UID" --clear-groups -- \
	"$HELPER" --socket "$TMPD/silent.sock" ci-deploy "$I_DEPLOY" "$S_DEPLOY" "$CA_FP"
refused "a daemon that never answers"
if [ "$MS" -ge 1500 ] && [ "$MS" -lt 4000 ]; then ok "... gives up at its 2 s deadline ($MS ms)"; else not_ok "... gives up at its 2 s deadline ($MS ms)"; fi
start_daemon_reuse || bail "daemon starts again"
principals ci-deploy "$I_DEPLOY" "$S_DEPLOY" "$CA_FP"
if [ "$OUT" = ci-deploy ]; then ok "after a restart the certificate is allowed again"; else not_ok "after a restart the certificate is allowed again (printed '$OUT')"; fi
secrets_never_logged "no API key in syslog, daemon.log or the audit trail" "$K_DEPLOY" "$K_VIEW" "$K_OFF" "$K_REV"

# ---- ssh_principals_user: resolved again at reload; a bad name is refused -------------
echo "sshprinc2:x:$((SSH_UID + 1)):$((SSH_UID + 1))::/nonexistent:/usr/sbin/nologin" >>"$PRIV/passwd"
echo 'ssh_principals_user = "sshprinc2";' >>"$CONF"
kill -HUP "$DAEMON_PID"
for _ in $(seq 100); do
	principals ci-deploy "$I_DEPLOY" "$S_DEPLOY" "$CA_FP" $((SSH_UID + 1))
	[ "$OUT" = ci-deploy ] && break
	sleep 0.05
done
if [ "$OUT" = ci-deploy ]; then ok "after SIGHUP with ssh_principals_user = sshprinc2, that user is answered"; else not_ok "after SIGHUP with ssh_principals_user = sshprinc2, that user is answered"; fi
principals ci-deploy "$I_DEPLOY" "$S_DEPLOY" "$CA_FP"
refused "... and svcacct-ssh no longer"
sed 's/^ssh_principals_user = .*/ssh_principals_user = "Bad User";/' "$CONF" >"$TMPD/bad.conf"
run_in "" "$SVCACCTD" -t -c "$TMPD/bad.conf"
expect_run "svcacctd -t refuses an ssh_principals_user that is not a user name" 1 "'ssh_principals_user' is not a valid user name"
