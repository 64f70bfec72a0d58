#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# tests/package/in_root.sh PAYLOAD METHOD: the body of the package test.
#
# Runs as root INSIDE a throwaway root prepared by test_deb.sh (a debootstrap
# chroot, or the machine itself under overlays in a private mount and pid
# namespace); never run it on a real system.  PAYLOAD holds the three .deb
# files; METHOD is "apt" (apt-get installs them and pulls their dependencies
# from the mirror) or "dpkg" (dpkg -i; the dependencies are already there).
#
# Installs the packages, checks what they put where, starts svcacctd as the
# packaged user _svcacct, creates an account with a key, authenticates it
# with pamtester through the installed PAM module (pam-auth-update profile),
# resolves it with getent through the installed NSS module
# (svcacct-nss-setup), uses the sudoers rule, reinstalls (state, pepper and
# signing key kept), removes and purges, and checks that nothing of the
# packages is left and that PAM and nsswitch are byte for byte as before.
#
# Output: "ok - ..." / "not ok - ..." lines, "# ..." diagnostics, and last
# "N passed, M failed".  Exit status 1 when a check failed.

set -u -o pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive LC_ALL=C TMPDIR=/tmp
umask 022

PAYLOAD=$1
METHOD=$2
S=$(mktemp -d /tmp/pkgtest.XXXXXX)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null ||
	echo "$(uname -m)-linux-gnu")
PASS=0
FAIL=0
DAEMON_PID=""
ACCT=ci-bot
DEBS=("$PAYLOAD"/svcacct_*.deb "$PAYLOAD"/libpam-svcacct_*.deb "$PAYLOAD"/libnss-svcacct_*.deb)
PKGS=(libpam-svcacct libnss-svcacct svcacct)

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/#   /'; }
summary() { echo "$PASS passed, $FAIL failed"; }
T0=$(date +%s)
phase() { echo "# [$(($(date +%s) - T0)) s] $*"; }
bail() {
	not_ok "$*"
	if [ -s "$S/daemon.log" ]; then
		echo "#   daemon.log:"
		tail -n 20 "$S/daemon.log" | sed 's/^/#   /'
	fi
	stop_daemon
	summary
	exit 1
}
# check DESC CMD...: ok when CMD exits 0; its output is shown when not.
check() {
	local desc=$1
	shift
	if "$@" >"$S/out" 2>&1; then
		ok "$desc"
	else
		not_ok "$desc"
		tail -n 25 "$S/out" | sed 's/^/#   /'
	fi
}
# is DESC GOT WANT
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; diag "got:  '$2'" "want: '$3'"; fi
}

# ---- the state of the machine outside the packages ----------------------------
# Paths with type, mode and owner under /etc /usr /var /opt, leaving out
# what package managers keep for themselves; contents of the files that
# decide who logs in.
snapshot() { # NAME
	find /etc /usr /var /opt \
		\( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache \
		-o -path /var/log -o -path /var/lib/ucf -o -path /var/tmp \
		-o -path /etc/ld.so.cache -o -path /etc/.pwd.lock \
		-o -path /etc/passwd- -o -path /etc/group- -o -path /etc/shadow- \
		-o -path /etc/gshadow- -o -path /etc/subuid- -o -path /etc/subgid- \) -prune \
		-o -printf '%y %m %u:%g %p\n' 2>/dev/null | sort >"$S/$1.tree"
	(
		cd /etc && sha256sum nsswitch.conf passwd group shadow gshadow sudoers \
			sudoers.d/* pam.d/* 2>/dev/null
	) >"$S/$1.sums"
	mkdir -p "$S/$1.etc"
	cp -a /etc/pam.d /etc/nsswitch.conf "$S/$1.etc/"
}

daemon_alive() { [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; }

# As svcacctd.service would run it (no systemd here): user _svcacct,
# RuntimeDirectory /run/svcacct 0755, UMask 0077, no capabilities.
start_daemon() {
	install -d -m 0755 -o _svcacct -g _svcacct /run/svcacct
	setpriv --reuid=_svcacct --regid=_svcacct --init-groups --no-new-privs \
		--inh-caps=-all --bounding-set=-all -- \
		/bin/sh -c 'umask 077; exec /usr/sbin/svcacctd -f' >>"$S/daemon.log" 2>&1 &
	DAEMON_PID=$!
	local _
	for _ in $(seq 1 100); do
		[ -S /run/svcacct/svcacctd.sock ] && return 0
		daemon_alive || return 1
		sleep 0.1
	done
	return 1
}

stop_daemon() {
	if daemon_alive; then
		kill -TERM "$DAEMON_PID" 2>/dev/null
		local _
		for _ in $(seq 1 50); do daemon_alive || break; sleep 0.1; done
		daemon_alive && kill -KILL "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	DAEMON_PID=""
	rm -rf /run/svcacct
}

pamt() { # INPUT SERVICE USER OPS...: pamtester with INPUT on stdin
	local input=$1
	shift
	printf '%s\n' "$input" | timeout 30 pamtester "$@" >"$S/out" 2>&1
}

owner_mode() { stat -c '%a %U:%G' "$1" 2>/dev/null; }

# ---- before --------------------------------------------------------------------
phase "before: baseline snapshot"
for p in "${PKGS[@]}"; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then
		bail "$p is not installed in the test root before the test"
	fi
done
getent passwd _svcacct >/dev/null && bail "no user _svcacct before the test"
# man-db rebuilds its index on every dpkg run: seconds each, and nothing to
# do with these packages (this root is thrown away).
if command -v debconf-set-selections >/dev/null && [ -x /usr/bin/mandb ]; then
	echo 'man-db man-db/auto-update boolean false' | debconf-set-selections 2>/dev/null
fi
for d in "${DEBS[@]}"; do [ -f "$d" ] || bail "package file $d exists"; done
snapshot before

# ---- install ---------------------------------------------------------------------
phase "install"
if [ "$METHOD" = apt ]; then
	check "apt-get install the three packages (dependencies from the mirror)" \
		apt-get install -y -q --no-install-recommends "${DEBS[@]}"
else
	check "dpkg -i the three packages" dpkg -i "${DEBS[@]}"
fi
for p in "${PKGS[@]}"; do
	is "$p is installed" "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" "install ok installed"
done

# ---- what is where ---------------------------------------------------------------
phase "what is where"
unit=""
for u in /lib/systemd/system/svcacctd.service /usr/lib/systemd/system/svcacctd.service; do
	[ -f "$u" ] && unit=$u && break
done
missing=""
for f in /usr/sbin/svcacctd /usr/bin/svcacctctl /etc/svcacct/svcacctd.conf \
	"/usr/lib/$MA/security/pam_svcacct.so" "/usr/lib/$MA/libnss_svcacct.so.2" \
	/usr/sbin/svcacct-nss-setup /usr/share/pam-configs/svcacct /etc/sudoers.d/svcacct \
	/usr/lib/sysusers.d/svcacct.conf /usr/lib/tmpfiles.d/svcacct.conf \
	/usr/share/man/man1/svcacctctl.1.gz /usr/share/man/man5/svcacctd.conf.5.gz \
	/usr/share/man/man8/svcacctd.8.gz /usr/share/man/man8/pam_svcacct.8.gz \
	/usr/share/man/man8/libnss_svcacct.8.gz /usr/lib/svcacct/svcacct-principals \
	/usr/sbin/svcacct-ssh-setup /usr/share/man/man8/svcacct-principals.8.gz \
	/usr/share/man/man8/svcacct-ssh-setup.8.gz /usr/share/bash-completion/completions/svcacctctl; do
	[ -e "$f" ] || missing="$missing $f"
done
[ -n "$unit" ] || missing="$missing svcacctd.service"
is "every packaged file is in place" "$missing" ""
# the packaged completion completes from the packaged binary's table
is "bash completion: svcacctctl key <TAB>" "$(bash -c '. /usr/share/bash-completion/completions/svcacctctl
COMP_WORDS=(svcacctctl key ""); COMP_CWORD=2; _svcacctctl; echo "${COMPREPLY[*]}"' 2>&1)" \
	"$(svcacctctl --commands | awk '$1 == "command" && $2 == "key" { printf "%s%s", n++ ? " " : "", $3 }')"
is "package of pam_svcacct.so is libpam-svcacct" \
	"$(dpkg -S "/usr/lib/$MA/security/pam_svcacct.so" 2>/dev/null | cut -d: -f1)" libpam-svcacct
is "package of libnss_svcacct.so.2 is libnss-svcacct" \
	"$(dpkg -S "/usr/lib/$MA/libnss_svcacct.so.2" 2>/dev/null | cut -d: -f1)" libnss-svcacct
check "ld.so.cache knows libnss_svcacct.so.2" sh -c 'ldconfig -p | grep -q "libnss_svcacct.so.2 "'
# debian/copyright (machine-readable): GPL for the daemon and CLI, LGPL for
# the modules loaded into every program that authenticates or resolves.
for p in "${PKGS[@]}"; do
	check "$p ships a machine-readable copyright file" \
		grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' \
		"/usr/share/doc/$p/copyright"
done
check "copyright: the modules and common/ are LGPL-2.1-or-later" sh -c \
	"grep -A2 '^Files: common/\* pam_svcacct/\* nss_svcacct/\*' /usr/share/doc/svcacct/copyright | grep -q '^License: LGPL-2.1-or-later'"
check "copyright: everything else is GPL-3.0-or-later" sh -c \
	"grep -A2 '^Files: \*\$' /usr/share/doc/svcacct/copyright | grep -q '^License: GPL-3.0-or-later'"
conffiles=$(dpkg-query -W -f='${Conffiles}\n' svcacct | awk 'NF {print $1}' | sort | tr '\n' ' ')
is "conffiles of svcacct" "$conffiles" "/etc/sudoers.d/svcacct /etc/svcacct/svcacctd.conf "

pw=$(getent passwd _svcacct)
IFS=: read -r _ _ su_uid su_gid _ su_home su_shell <<<"$pw"
if [ -n "$pw" ] && [ "$su_uid" -lt 1000 ] && [ "$su_uid" -gt 0 ]; then
	ok "system user _svcacct exists (uid $su_uid)"
else
	not_ok "system user _svcacct exists"
	diag "getent: '$pw'"
fi
is "_svcacct: home and shell" "$su_home ${su_shell##*/}" "/var/lib/svcacct nologin"
is "_svcacct: its own group" "$(getent group _svcacct | cut -d: -f3)" "$su_gid"
# sshd's AuthorizedPrincipalsCommandUser (svcacct-ssh-setup(8))
pw=$(getent passwd svcacct-ssh)
IFS=: read -r _ _ ss_uid _ _ ss_home ss_shell <<<"$pw"
if [ -n "$pw" ] && [ "$ss_uid" -lt 1000 ] && [ "$ss_uid" -gt 0 ]; then
	ok "system user svcacct-ssh exists (uid $ss_uid)"
else
	not_ok "system user svcacct-ssh exists"
	diag "getent: '$pw'"
fi
is "svcacct-ssh: no home, no shell" "$ss_home ${ss_shell##*/}" "/nonexistent nologin"
is "/var/lib/svcacct: 0700, _svcacct" "$(owner_mode /var/lib/svcacct)" "700 _svcacct:_svcacct"
is "/var/lib/svcacct-nss: 0755, _svcacct" "$(owner_mode /var/lib/svcacct-nss)" "755 _svcacct:_svcacct"
is "/etc/sudoers.d/svcacct: 0440 root" "$(owner_mode /etc/sudoers.d/svcacct)" "440 root:root"
check "visudo -cf /etc/sudoers.d/svcacct" visudo -cf /etc/sudoers.d/svcacct
check "visudo -c (the whole sudoers policy)" visudo -c
is "packaged config: nss_dir" "$(grep '^nss_dir' /etc/svcacct/svcacctd.conf)" \
	'nss_dir = "/var/lib/svcacct-nss";'
check "svcacctd -t accepts the packaged config" /usr/sbin/svcacctd -t
if command -v systemd-analyze >/dev/null; then
	man_opt=--man=no
	command -v man >/dev/null && man_opt=--man=yes
	check "systemd-analyze verify $unit ($man_opt)" systemd-analyze verify "$man_opt" "$unit"
else
	echo "ok - systemd-analyze verify # SKIP no systemd-analyze in this root"
fi
check "installing changed nothing in /etc/pam.d" diff -r "$S/before.etc/pam.d" /etc/pam.d
check "installing changed nothing in /etc/nsswitch.conf" cmp "$S/before.etc/nsswitch.conf" /etc/nsswitch.conf

# ---- the daemon as _svcacct ----------------------------------------------------
phase "daemon"
# Give this host a workspace so that accounts get capabilities here.
sed -i 's/^host_workspaces = .*/host_workspaces = [ "pkgtest" ];/' /etc/svcacct/svcacctd.conf
start_daemon || bail "svcacctd starts as _svcacct with the packaged config"
ok "svcacctd starts as _svcacct with the packaged config"
is "daemon's user" "$(stat -c %U "/proc/$DAEMON_PID" 2>/dev/null)" _svcacct
is "socket: 0666, _svcacct" "$(owner_mode /run/svcacct/svcacctd.sock)" "666 _svcacct:_svcacct"
is "pepper: 0600, _svcacct" "$(owner_mode /var/lib/svcacct/pepper)" "600 _svcacct:_svcacct"
is "signing keys: 0600, _svcacct" "$(owner_mode /var/lib/svcacct/signing.keys)" "600 _svcacct:_svcacct"
snap=$(find /var/lib/svcacct-nss -maxdepth 1 -type f ! -name '.*' | head -n 1)
is "NSS snapshot in /var/lib/svcacct-nss: 0644, _svcacct" \
	"$( [ -n "$snap" ] && owner_mode "$snap")" "644 _svcacct:_svcacct"

CTL() { timeout 20 svcacctctl "$@"; }
check "svcacctctl: team, workspace, account, grant" sh -c "
	svcacctctl team create ops && svcacctctl workspace create pkgtest --team ops &&
	svcacctctl account create $ACCT --description 'package test' &&
	svcacctctl grant add $ACCT --workspace pkgtest --role admin"
KEY=$(CTL key create "$ACCT" --label pkgtest 2>"$S/out" | tail -n 1)
if [[ $KEY == svca_* ]]; then ok "svcacctctl key create"; else not_ok "svcacctctl key create"; diag "$(cat "$S/out")"; fi
TOKEN=$(printf '%s' "$KEY" | CTL token create 2>"$S/out")
if [ -n "$TOKEN" ]; then ok "svcacctctl token create (key on stdin)"; else not_ok "svcacctctl token create"; diag "$(cat "$S/out")"; fi

# ---- NSS ------------------------------------------------------------------------------
phase "NSS"
check "svcacct-nss-setup enable" svcacct-nss-setup enable
check "svcacct-nss-setup status: enabled" svcacct-nss-setup status
pwent=$(getent passwd "$ACCT")
uid=$(echo "$pwent" | cut -d: -f3)
if [ -n "$uid" ] && [ "$uid" -ge 60000 ] && [ "$uid" -le 60999 ]; then
	ok "getent passwd $ACCT through libnss_svcacct (uid $uid)"
else
	not_ok "getent passwd $ACCT through libnss_svcacct"
	diag "getent: '$pwent'"
fi
is "getent group $ACCT (private group, gid = uid)" "$(getent group "$ACCT" | cut -d: -f3)" "$uid"
check "getent group svcacct-sudo lists $ACCT" sh -c "getent group svcacct-sudo | cut -d: -f4 | tr , '\n' | grep -qx $ACCT"
is "as nobody: getent passwd $ACCT (the snapshot is world-readable)" \
	"$(setpriv --reuid=65534 --regid=65534 --clear-groups getent passwd "$ACCT")" "$pwent"

# ---- PAM ---------------------------------------------------------------------------
phase "PAM"
check "pam-auth-update --enable svcacct" pam-auth-update --enable svcacct
check "pam_svcacct is in common-auth and common-account" \
	sh -c 'grep -q pam_svcacct.so /etc/pam.d/common-auth && grep -q pam_svcacct.so /etc/pam.d/common-account'
if pamt "$KEY" login "$ACCT" authenticate acct_mgmt; then
	ok "pamtester login $ACCT authenticate acct_mgmt with the API key"
else
	not_ok "pamtester login $ACCT authenticate acct_mgmt with the API key"
	diag "$(cat "$S/out")"
fi
if pamt "$TOKEN" login "$ACCT" authenticate acct_mgmt; then
	ok "pamtester login $ACCT authenticate acct_mgmt with a session token"
else
	not_ok "pamtester login $ACCT authenticate acct_mgmt with a session token"
	diag "$(cat "$S/out")"
fi
bad="svca_000000000000_${KEY:18}"
if pamt "$bad" login "$ACCT" authenticate; then
	not_ok "pamtester refuses a wrong key"
else
	ok "pamtester refuses a wrong key"
fi
if command -v sudo >/dev/null; then
	check "sudo -l -U $ACCT: the packaged sudoers rule applies" \
		sh -c "sudo -l -U $ACCT | grep -q '(ALL : ALL) ALL'"
	printf '%s\n' "$KEY" | timeout 30 setpriv --reuid="$uid" --regid="$uid" --init-groups \
		sudo -S -k -p '' id -u >"$S/out" 2>&1
	if [ "$(tail -n 1 "$S/out")" = 0 ]; then
		ok "sudo as $ACCT with its API key runs a command as root"
	else
		not_ok "sudo as $ACCT with its API key runs a command as root"
		diag "$(cat "$S/out")"
	fi
fi

# ---- reinstall (an upgrade keeps state, pepper, signing key, choices) ------------
phase "reinstall"
sums() { sha256sum /var/lib/svcacct/pepper /var/lib/svcacct/signing.keys 2>/dev/null; }
sums_before=$(sums)
stop_daemon
if [ "$METHOD" = apt ]; then
	check "reinstall the packages" apt-get install -y -q --reinstall \
		-o Dpkg::Options::=--force-confold "${DEBS[@]}"
else
	check "reinstall the packages" dpkg -i --force-confold "${DEBS[@]}"
fi
is "reinstall: pepper and signing keys unchanged" "$(sums)" "$sums_before"
is "reinstall: _svcacct keeps its uid" "$(id -u _svcacct 2>/dev/null)" "$su_uid"
check "reinstall: pam_svcacct still enabled" grep -q pam_svcacct.so /etc/pam.d/common-auth
check "reinstall: svcacct still in nsswitch.conf" svcacct-nss-setup status
check "reinstall: local config change kept" grep -q '^host_workspaces = \[ "pkgtest" \];' /etc/svcacct/svcacctd.conf
start_daemon || bail "svcacctd starts again after the reinstall"
ok "svcacctd starts again after the reinstall"
if pamt "$KEY" login "$ACCT" authenticate acct_mgmt; then
	ok "after the reinstall the old API key still logs in"
else
	not_ok "after the reinstall the old API key still logs in"
	diag "$(cat "$S/out")"
fi
stop_daemon

# ---- remove, then purge ---------------------------------------------------------
phase "remove, purge"
if [ "$METHOD" = apt ]; then
	check "apt-get remove the three packages" apt-get remove -y -q "${PKGS[@]}"
else
	check "dpkg --remove the three packages" dpkg --remove "${PKGS[@]}"
fi
check "after remove: /etc/pam.d is as before" diff -r "$S/before.etc/pam.d" /etc/pam.d
check "after remove: /etc/nsswitch.conf is as before" cmp "$S/before.etc/nsswitch.conf" /etc/nsswitch.conf
check "after remove: state and user kept until purge" \
	sh -c 'test -s /var/lib/svcacct/pepper && getent passwd _svcacct >/dev/null'
if [ "$METHOD" = apt ]; then
	check "apt-get purge, autoremove" sh -c \
		"apt-get purge -y -q ${PKGS[*]} && apt-get autoremove --purge -y -q"
else
	check "dpkg --purge the three packages" dpkg --purge "${PKGS[@]}"
fi
for p in "${PKGS[@]}"; do
	is "$p is gone" "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" ""
done
is "after purge: no user or group _svcacct" \
	"$(getent passwd _svcacct)$(getent group _svcacct)" ""
left=$(ls -d /var/lib/svcacct /var/lib/svcacct-nss /etc/svcacct /run/svcacct 2>/dev/null)
is "after purge: no state, config or runtime directory" "$left" ""
phase "after purge: snapshot"
snapshot after
if diff "$S/before.tree" "$S/after.tree" >"$S/out"; then
	ok "after purge: /etc /usr /var /opt hold the same paths, modes and owners as before"
else
	not_ok "after purge: /etc /usr /var /opt hold the same paths, modes and owners as before"
	head -n 30 "$S/out" | sed 's/^/#   /'
fi
if diff "$S/before.sums" "$S/after.sums" >"$S/out"; then
	ok "after purge: nsswitch.conf, passwd, group, shadow, sudoers, pam.d unchanged"
else
	not_ok "after purge: nsswitch.conf, passwd, group, shadow, sudoers, pam.d unchanged"
	diag "$(cat "$S/out")"
fi
check "after purge: visudo -c" visudo -c
is "after purge: $ACCT does not resolve" "$(getent passwd "$ACCT")" ""

rm -rf "$S"
summary
[ "$FAIL" = 0 ]
