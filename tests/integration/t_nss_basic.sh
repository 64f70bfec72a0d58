#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# libnss_svcacct.so.2 end to end: svcacctd writes the snapshot after every
# change that affects passwd/group (create, rename, delete, disable/enable,
# grants, reload), atomically and world-readable; getent, id and the
# module's entry points see exactly what the daemon says; NSS statuses
# (NOTFOUND, UNAVAIL, TRYAGAIN/ERANGE) are right; nothing secret is in it.
. "$(dirname "$0")/../nss/nss_lib.sh"
nss_enter_namespace "$@"
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/rbac_lib.sh"

HOME_BASE=/srv/svc-homes
start_daemon 'host_workspaces = [ "build-farm" ];' "home_base = \"$HOME_BASE\";" ||
	bail "daemon starts"
nss_setup
SUDO_GID=60999 # uid_max: reserved for sudo_group

# ---- the snapshot files -----------------------------------------------------------
SNAP=$NSSD/svcacct.snap
if [ -f "$SNAP" ]; then ok "the daemon wrote $SNAP at start"; else bail "snapshot written at start"; fi
check_out "nss_dir is mode 0755" 755 stat -c %a "$NSSD"
check_out "the snapshot is mode 0644 (the daemon's umask is 077)" 644 stat -c %a "$SNAP"
check_out "the range link names uid_min, uid_max and the sudo gid" \
	"svcacct-range-v1:60000:60999:60999" readlink "$NSSD/range"
check_out "sudo_group resolves with no member yet" "svcacct-sudo:*:$SUDO_GID:" \
	getent group svcacct-sudo

# ---- create ---------------------------------------------------------------------------
check -d "team, workspace" sh -c "$CTL team create infra && $CTL workspace create build-farm --team infra"
check -d "account create ci-deploy" $CTL account create ci-deploy --description "CI: deploy bot"
U=$(uid_of ci-deploy)
case "$U" in 6[0-9][0-9][0-9][0-9]) ok "ci-deploy has uid $U" ;; *) bail "uid of ci-deploy ($U)" ;; esac
LINE="ci-deploy:*:$U:$U:CI  deploy bot:$HOME_BASE/ci-deploy:/usr/sbin/nologin"
check_out "getent passwd NAME right after 'account create' returns (':' in GECOS replaced)" \
	"$LINE" getent passwd ci-deploy
check_out "getent passwd UID" "$LINE" getent passwd "$U"
check_out "getent group NAME: the private group, gid = uid" "ci-deploy:*:$U:" getent group ci-deploy
check_out "getent group GID" "ci-deploy:*:$U:" getent group "$U"
check_out "id NAME without grants: only the private group" \
	"uid=$U(ci-deploy) gid=$U(ci-deploy) groups=$U(ci-deploy)" id ci-deploy

# a description with a newline and control characters cannot inject a
# passwd line: the daemon refuses it, or the snapshot blanks them
"$PY" "$PROTO_CLIENT" "$SOCK" call ACCOUNT_CREATE "NAME=s:evil" \
	"DESCRIPTION=s:$(printf 'x:\nroot2::0:0::/:/bin/sh\x01')" >"$TMPD/evil.out" 2>&1
if [ -n "$(uid_of evil 2>/dev/null)" ]; then
	EV=$(uid_of evil)
	check_out "control characters and ':' in a description are blanked in GECOS" \
		"evil:*:$EV:$EV:x  root2  0 0  / /bin/sh :$HOME_BASE/evil:/usr/sbin/nologin" \
		getent passwd evil
else
	ok "the daemon refuses control characters in a description"
	check -d "account create evil" $CTL account create evil --description "a:b"
	EV=$(uid_of evil)
fi
check_exit 2 -d "no injected passwd entry" getent passwd root2
check_out "initgroups_dyn for an account without sudo adds nothing" "SUCCESS errno=0" \
	nss_call initgroups evil "$EV"

# ---- grants change the shell and sudo_group ------------------------------------------------
check -d "grant editor" $CTL grant add ci-deploy --workspace build-farm --role editor
check_out "editor (login): login shell" \
	"ci-deploy:*:$U:$U:CI  deploy bot:$HOME_BASE/ci-deploy:/bin/bash" getent passwd ci-deploy
check_out "editor: not in sudo_group" "svcacct-sudo:*:$SUDO_GID:" getent group svcacct-sudo
check -d "grant admin (team grant)" $CTL grant add ci-deploy --team infra --role admin
check_out "admin: sudo_group lists the account" "svcacct-sudo:*:$SUDO_GID:ci-deploy" \
	getent group svcacct-sudo
check_out "getent group SUDO_GID" "svcacct-sudo:*:$SUDO_GID:ci-deploy" getent group "$SUDO_GID"
check_out "id NAME includes sudo_group (initgroups)" \
	"uid=$U(ci-deploy) gid=$U(ci-deploy) groups=$U(ci-deploy),$SUDO_GID(svcacct-sudo)" id ci-deploy
check_out "initgroups_dyn adds the sudo gid" "SUCCESS errno=0 $SUDO_GID" nss_call initgroups ci-deploy "$U"
check_out "initgroups_dyn for a stranger: NOTFOUND" "NOTFOUND errno=ENOENT" nss_call initgroups root 0
check -d "grant remove (team)" $CTL grant remove ci-deploy --team infra
check_out "grant removed: out of sudo_group at once" "svcacct-sudo:*:$SUDO_GID:" getent group svcacct-sudo
check -d "grant admin again" $CTL grant add ci-deploy --workspace build-farm --role admin

# ---- disable / enable --------------------------------------------------------------------------
check -d "account disable" $CTL account disable ci-deploy
check_out "disabled: still resolves, nologin shell" \
	"ci-deploy:*:$U:$U:CI  deploy bot:$HOME_BASE/ci-deploy:/usr/sbin/nologin" getent passwd ci-deploy
check_out "disabled: out of sudo_group" "svcacct-sudo:*:$SUDO_GID:" getent group svcacct-sudo
check -d "account enable" $CTL account enable ci-deploy
check_out "enabled: login shell and sudo again" "/bin/bash svcacct-sudo:*:$SUDO_GID:ci-deploy" \
	sh -c "getent passwd ci-deploy | cut -d: -f7 | tr '\n' ' '; getent group svcacct-sudo"

# ---- rename, enumeration, delete --------------------------------------------------------------
check -d "account rename" $CTL account update ci-deploy --rename ci-ship
check_exit 2 -d "the old name is gone" getent passwd ci-deploy
check_out "the new name has the same uid" \
	"ci-ship:*:$U:$U:CI  deploy bot:$HOME_BASE/ci-ship:/bin/bash" getent passwd ci-ship
check_out "by uid: the new name" "ci-ship" sh -c "getent passwd $U | cut -d: -f1"
check_out "sudo_group follows the rename" "svcacct-sudo:*:$SUDO_GID:ci-ship" getent group svcacct-sudo
check_out "getent passwd enumerates the accounts after the files entries" "ci-ship evil" \
	sh -c "getent passwd | grep -n -E '^(ci-ship|evil|root):' | sort -n | cut -d: -f2 | grep -v root | tr '\n' ' ' | sed 's/ \$//'"
if getent passwd | head -n 1 | grep -q '^root:'; then ok "enumeration starts with /etc/passwd"; else not_ok "enumeration starts with /etc/passwd"; fi
check_out "getent group enumerates sudo_group and the private groups" \
	"svcacct-sudo ci-ship evil" \
	sh -c "getent group | cut -d: -f1 | grep -E '^(svcacct-sudo|ci-ship|evil)\$' | tr '\n' ' ' | sed 's/ \$//'"
check_out "module enumeration (setpwent/getpwent_r/endpwent), by uid" \
	"ci-ship evil NOTFOUND" sh -c "'$NSS_BIN/nss_call' '$NSS_SO' pwent | cut -d: -f1 | cut -d' ' -f1 | tr '\n' ' ' | sed 's/ \$//'"
check -d "account delete evil" $CTL account delete evil
check_exit 2 -d "deleted: name gone" getent passwd evil
check_exit 2 -d "deleted: uid gone" getent passwd "$EV"
check_exit 2 -d "deleted: private group gone" getent group evil

# ---- exact NSS statuses from the module -------------------------------------------------------------
check_out "getpwnam_r of a stranger: NOTFOUND/ENOENT" "NOTFOUND errno=ENOENT" nss_call pwnam nosuchuser 1024
check_out "getpwnam_r of an impossible name: NOTFOUND" "NOTFOUND errno=ENOENT" nss_call pwnam 'Root:x' 1024
check_out "getpwuid_r in range, unused: NOTFOUND" "NOTFOUND errno=ENOENT" nss_call pwuid 60998 1024
check_out "getpwuid_r outside the range: NOTFOUND" "NOTFOUND errno=ENOENT" nss_call pwuid 0 1024
check_out "getpwuid_r of the sudo gid: NOTFOUND (a group, not a user)" "NOTFOUND errno=ENOENT" \
	nss_call pwuid "$SUDO_GID" 1024
check_out "getgrgid_r outside the range: NOTFOUND" "NOTFOUND errno=ENOENT" nss_call grgid 27 1024
check_out "getpwnam_r with a 16-byte buffer: TRYAGAIN/ERANGE" "TRYAGAIN errno=ERANGE" \
	nss_call pwnam ci-ship 16
check_out "getgrnam_r(sudo_group) with a 16-byte buffer: TRYAGAIN/ERANGE" "TRYAGAIN errno=ERANGE" \
	nss_call grnam svcacct-sudo 16
run_tap "$NSS_BIN/nss_erange" ci-ship svcacct-sudo

# ---- who may read it ------------------------------------------------------------------------------------
check_out "an unprivileged user resolves the accounts" "ci-ship:$U" \
	run_as_nobody sh -c "getent passwd ci-ship | cut -d: -f1,3"

# ---- no secret in the snapshot ------------------------------------------------------------------------------
if expect_exit 0 $CTL --json key create ci-ship; then
	KEY=$(printf '%s' "$OUT" | json_py 'd["key"]')
	KID=$(printf '%s' "$OUT" | json_py 'd["key_id"]')
	if "$PY" - "$SNAP" "$KEY" "$KID" "$STATE/pepper" <<'EOF'; then
import sys
snap = open(sys.argv[1], "rb").read()
key, kid = sys.argv[2].encode(), sys.argv[3].encode()
pepper = open(sys.argv[4], "rb").read()
secret = key.split(b"_")[2] if key.count(b"_") >= 2 else key
bad = [n for n, v in (("key", key), ("key id", kid), ("key secret", secret[:16]), ("pepper", pepper)) if v and v in snap]
sys.exit(1 if bad else 0)
EOF
		ok "the snapshot holds no key, key id or pepper"
	else
		not_ok "the snapshot holds no key, key id or pepper"
	fi
else
	not_ok "key create for the secret check"
fi

# ---- reload: shells, sudo_group name ----------------------------------------------------------------------------
rewrite_conf 'host_workspaces = [ "build-farm" ];' "home_base = \"$HOME_BASE\";" \
	'login_shell = "/bin/sh";' 'sudo_group = "svc-wheel";'
INO=$(stat -c %i "$SNAP")
kill -HUP "$DAEMON_PID"
for _ in $(seq 100); do [ "$(stat -c %i "$SNAP")" != "$INO" ] && break; sleep 0.05; done
check_out "after SIGHUP: the new login_shell" "/bin/sh" sh -c "getent passwd ci-ship | cut -d: -f7"
check_out "after SIGHUP: sudo_group renamed" "svc-wheel:*:$SUDO_GID:ci-ship" getent group svc-wheel
check_exit 2 -d "after SIGHUP: the old sudo_group name is gone" getent group svcacct-sudo

# ---- uid outside the range: no file opened -------------------------------------------------------------------------
if command -v strace >/dev/null; then
	# a fresh process: the range link answers (readlink), no open
	strace -f -o "$TMPD/st1" -e trace=open,openat,openat2 "$NSS_BIN/nss_call" "$NSS_SO" pwuid 12345 1024 >/dev/null 2>&1
	if grep -q "svcacct.snap" "$TMPD/st1"; then
		not_ok "uid outside the range, fresh process: the snapshot is not opened"
		diag_file "$TMPD/st1"
	else
		ok "uid outside the range, fresh process: the snapshot is not opened"
	fi
	# a process that has mapped the snapshot: nothing opened at all
	strace -f -o "$TMPD/st2" -e trace=open,openat,openat2,write "$NSS_BIN/nss_call" "$NSS_SO" \
		pwnam ci-ship 1024 mark pwuid 12345 1024 grgid 4 1024 pwuid "$U" 1024 >"$TMPD/st2.out" 2>&1
	if sed -n '/--mark--/,$p' "$TMPD/st2" | grep -q 'open'; then
		not_ok "after the first lookup: no file is opened for any lookup"
		diag_file "$TMPD/st2"
	else
		ok "after the first lookup: no file is opened for any lookup"
	fi
	if grep -q '^SUCCESS' "$TMPD/st2.out" && [ "$(grep -c NOTFOUND "$TMPD/st2.out")" = 2 ]; then
		ok "those lookups answered NOTFOUND, NOTFOUND, SUCCESS"
	else
		not_ok "those lookups answered NOTFOUND, NOTFOUND, SUCCESS"
		diag_file "$TMPD/st2.out"
	fi
	# through glibc with "passwd: svcacct" only
	nss_switch "passwd: svcacct" "group: svcacct"
	strace -f -o "$TMPD/st3" -e trace=open,openat,openat2 getent passwd 4242 >/dev/null 2>&1
	if grep -q "svcacct.snap" "$TMPD/st3"; then
		not_ok "getent passwd 4242 (outside the range) does not open the snapshot"
		diag_file "$TMPD/st3"
	else
		ok "getent passwd 4242 (outside the range) does not open the snapshot"
	fi
	nss_switch "passwd: files svcacct" "group: files svcacct"
else
	diag "strace not installed: the no-open checks are skipped"
fi

# ---- valgrind on the module --------------------------------------------------------------------------------------------
if command -v valgrind >/dev/null; then
	if valgrind -q --error-exitcode=99 --leak-check=no "$NSS_BIN/nss_call" "$NSS_SO" \
		pwnam ci-ship 1024 pwuid "$U" 1024 grnam svc-wheel 1024 grgid "$SUDO_GID" 8 \
		pwent grent initgroups ci-ship 1 pwnam ci-ship 10 >"$TMPD/vg.out" 2>&1; then
		ok "valgrind: no memory error in the module"
	else
		not_ok "valgrind: no memory error in the module"
		diag_file "$TMPD/vg.out"
	fi
fi

# ---- exports and dependencies ----------------------------------------------------------------------------------------------
EXPORTS=$(nm -D --defined-only "$NSS_SO" | awk '{print $3}' | sort | tr '\n' ' ')
case "$EXPORTS" in
*[!\ ]*) ;;
esac
if [ -n "$EXPORTS" ] && ! printf '%s' "$EXPORTS" | tr ' ' '\n' | grep -v '^$' | grep -qv '^_nss_svcacct_'; then
	ok "the module exports only _nss_svcacct_* ($(printf '%s' "$EXPORTS" | wc -w) symbols)"
else
	not_ok "the module exports only _nss_svcacct_*: $EXPORTS"
fi
for f in getpwnam_r getpwuid_r setpwent getpwent_r endpwent getgrnam_r getgrgid_r setgrent getgrent_r endgrent initgroups_dyn; do
	case " $EXPORTS " in *" _nss_svcacct_$f "*) ;; *) not_ok "exports _nss_svcacct_$f" ;; esac
done
NEEDED=$(objdump -p "$NSS_SO" 2>/dev/null | awk '/NEEDED/ {print $2}' | tr '\n' ' ')
check_out "the module links libc only" "libc.so.6 " echo "$NEEDED"

# ---- daemon stopped: lookups go on; damaged snapshots are UNAVAIL -------------------------------------------------------------
stop_daemon
check_out "daemon stopped: getent passwd still answers" "ci-ship" sh -c "getent passwd ci-ship | cut -d: -f1"
check_out "daemon stopped: id still answers" "uid=$U(ci-ship) gid=$U(ci-ship) groups=$U(ci-ship),$SUDO_GID(svc-wheel)" id ci-ship

cp -p "$SNAP" "$TMPD/good.snap"
head -c 100 "$TMPD/good.snap" >"$SNAP.new" && mv "$SNAP.new" "$SNAP"
check_out "truncated snapshot: UNAVAIL/EIO" "UNAVAIL errno=EIO" nss_call pwnam ci-ship 1024
check_exit 2 -d "truncated snapshot: getent finds nothing and does not crash" getent passwd ci-ship
head -c "$(stat -c %s "$TMPD/good.snap")" /dev/urandom >"$SNAP.new" && chmod 644 "$SNAP.new" && mv "$SNAP.new" "$SNAP"
check_out "random bytes: UNAVAIL/EIO" "UNAVAIL errno=EIO" nss_call pwnam ci-ship 1024
check_out "random bytes: getpwuid UNAVAIL too" "UNAVAIL errno=EIO" nss_call pwuid "$U" 1024
check_exit 2 -d "random bytes: getent passwd NAME exits 2, no crash" getent passwd ci-ship
check -d "random bytes: getent passwd (enumeration) still lists the files entries" sh -c 'getent passwd | grep -q ^root:'
# a sound snapshot others could have written is refused
cp -p "$TMPD/good.snap" "$SNAP.new" && chmod 666 "$SNAP.new" && mv "$SNAP.new" "$SNAP"
check_out "a group/world-writable snapshot: UNAVAIL/EACCES" "UNAVAIL errno=EACCES" nss_call pwnam ci-ship 1024
chmod 644 "$SNAP"
check_out "once fixed: resolves again at once" "SUCCESS errno=0" sh -c "'$NSS_BIN/nss_call' '$NSS_SO' pwnam ci-ship 1024 | head -n 1"
# owned by another user while found through SVCACCT_NSS_DIR: refused
chown 65534 "$SNAP"
check_out "SVCACCT_NSS_DIR snapshot owned by someone else: UNAVAIL/EACCES" "UNAVAIL errno=EACCES" \
	nss_call pwnam ci-ship 1024
chown 0 "$SNAP"
rm -f "$SNAP"
check_out "missing snapshot: UNAVAIL/ENOENT" "UNAVAIL errno=ENOENT" nss_call pwnam ci-ship 1024
check_exit 2 -d "missing snapshot: getent exits 2" getent passwd ci-ship

# the daemon rewrites it at start
start_daemon_reuse || bail "daemon restarts"
check_out "restarted: the snapshot is back" "ci-ship" sh -c "getent passwd ci-ship | cut -d: -f1"
