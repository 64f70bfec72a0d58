# shellcheck shell=bash
# tests/pam/pamlib.sh: helpers for the PAM end-to-end tests, sourced after
# tests/pam/ns.sh (private mount namespace) and tests/lib.sh.
#
#   private_root             after start_daemon: a private /etc/pam.d,
#                            passwd, group, shadow, gshadow, nsswitch.conf,
#                            sudoers (+ sudoers.d), /run (tmpfs, with
#                            /run/sshd), login records, and /dev (an overlay
#                            with a fresh devpts and /dev/log = a sink whose
#                            lines land in $DEVLOG); all bind mounts in this
#                            namespace only.  Sets PRIV (its files).
#   pam_service NAME         writes /etc/pam.d/NAME from stdin; @MOD@ is the
#                            module under test, @SOCK@ the daemon socket
#   make_resolvable NAME UID passwd/group entries and a home for a service
#                            account, so that sshd, sudo and su find it
#                            (until libnss_svcacct.so.2 serves them: then
#                            this becomes "passwd: files svcacct" + a check)
#   group_add GROUP NAME     NAME becomes a member of GROUP (made if missing)
#   acct_uid NAME            the account's uid (account show --json)
#   setup_hostws ROLE:NAME...  team, host workspace "build-farm", grants
#   key_create NAME          a new API key on stdout (svcacctctl key create
#                            when it exists, else the native protocol)
#   key_id KEY               its public key id
#   key_set NAME KEYID disable|enable|revoke
#   token_create KEY         a session token on stdout
#   token_valid TOKEN        exit 0 when the daemon says the token is valid
#   run_in INPUT CMD...      runs CMD with INPUT on stdin; sets RC, OUT, ERR
#                            (both without trailing newlines), MS (elapsed)
#   pamt INPUT SERVICE USER OPS...   pamtester, as run_in
#   expect_run DESC RC TEXT  ok when the last run_in exited RC and its
#                            stdout+stderr contain TEXT ("" = anything)
#   audit_json [ARGS...]     audit list --json [ARGS] on stdout
#   secrets_never_logged DESC SECRET...  none of the secrets appears in the
#                            module's syslog ($DEVLOG), the daemon's syslog,
#                            daemon.log or the audit trail

[ -n "${SVCA_PAM_NS:-}" ] || bail "tests/pam/ns.sh must be sourced before tests/lib.sh"

PAM_MOD="$SVCACCT_BUILD/pam_svcacct.so"
PAM_HELPER="$TESTS_DIR/pam/svca_pam_helper.py"
[ -f "$PAM_MOD" ] || bail "the module is built: $PAM_MOD (make $(basename "$SVCACCT_BUILD")/pam_svcacct.so)"
command -v pamtester >/dev/null || bail "pamtester is installed (make deps)"

PRIV=""
DEVLOG=""
_PAM_DEVLOG_PID=""

# bg CMD...: starts CMD in the background (stdin /dev/null), killed by the
# cleanup; BG_PID is its pid.  Disowned, so that bash does not report the
# kill.
bg() {
	"$@" </dev/null &
	BG_PID=$!
	track_pid "$BG_PID"
	disown "$BG_PID" 2>/dev/null
}

_pam_bind() { # SRC DST
	mount --bind "$1" "$2" || bail "bind mount $1 over $2 (in the private namespace)"
}

private_root() {
	[ -n "$TMPD" ] || bail "private_root before start_daemon"
	PRIV="$TMPD/priv"
	mkdir -p "$PRIV/pam.d" "$PRIV/sudoers.d" "$PRIV/home" "$PRIV/log" "$PRIV/devup" "$PRIV/devwork"
	chmod 0755 "$PRIV" "$PRIV/pam.d" "$PRIV/home"
	chmod 0750 "$PRIV/sudoers.d"

	# users and groups: the machine's, plus what the test adds
	cp /etc/passwd /etc/group "$PRIV/"
	# the local users (what pam_localuser must see): service accounts come
	# from NSS in production, here from make_resolvable's passwd lines
	cp /etc/passwd "$PRIV/passwd.local"
	cp /etc/shadow "$PRIV/shadow" 2>/dev/null || : >"$PRIV/shadow"
	cp /etc/gshadow "$PRIV/gshadow" 2>/dev/null || : >"$PRIV/gshadow"
	chmod 0644 "$PRIV/passwd" "$PRIV/group"
	chmod 0640 "$PRIV/shadow" "$PRIV/gshadow"
	cat >"$PRIV/nsswitch.conf" <<-'EOF'
		# private to the svcacct PAM tests
		passwd:   files
		group:    files
		shadow:   files
		gshadow:  files
		hosts:    files
		networks: files
	EOF
	# a PAM service nobody configured is refused
	cat >"$PRIV/pam.d/other" <<-'EOF'
		auth     required pam_deny.so
		account  required pam_deny.so
		password required pam_deny.so
		session  required pam_deny.so
	EOF
	printf 'Defaults !fqdn\nroot ALL=(ALL:ALL) ALL\n' >"$PRIV/sudoers"
	chmod 0440 "$PRIV/sudoers"

	_pam_bind "$PRIV/pam.d" /etc/pam.d
	_pam_bind "$PRIV/passwd" /etc/passwd
	_pam_bind "$PRIV/group" /etc/group
	_pam_bind "$PRIV/shadow" /etc/shadow
	_pam_bind "$PRIV/gshadow" /etc/gshadow
	_pam_bind "$PRIV/nsswitch.conf" /etc/nsswitch.conf
	_pam_bind "$PRIV/sudoers" /etc/sudoers
	if [ -d /etc/sudoers.d ]; then _pam_bind "$PRIV/sudoers.d" /etc/sudoers.d; fi

	# /run: sshd's privsep dir, sudo's timestamps, utmp; all private
	mount -t tmpfs -o mode=0755 svcacct-test-run /run || bail "tmpfs over /run"
	mkdir -m 0755 /run/sshd /run/sudo
	local f
	for f in wtmp btmp lastlog faillog; do
		if [ -f "/var/log/$f" ]; then
			: >"$PRIV/log/$f"
			_pam_bind "$PRIV/log/$f" "/var/log/$f"
		fi
	done

	# /dev: an overlay (the machine's devices, seen through it; nothing is
	# ever written below), a private devpts for su/script, and /dev/log
	DEVLOG="$PRIV/devlog.log"
	: >"$DEVLOG"
	if mount -t overlay svcacct-test-dev \
		-o "lowerdir=/dev,upperdir=$PRIV/devup,workdir=$PRIV/devwork" /dev 2>"$PRIV/dev.err"; then
		mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts ||
			diag "no private devpts"
		rm -f /dev/ptmx && ln -s pts/ptmx /dev/ptmx
		mount -t tmpfs -o mode=1777 svcacct-test-shm /dev/shm
		rm -f /dev/log
		"$PY" -c '
import os, socket, sys
path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(log, "ab", buffering=0) as f:
    while True:
        d = s.recv(65536)
        f.write(d.rstrip(b"\n").replace(b"\n", b" ") + b"\n")
' /dev/log "$DEVLOG" </dev/null 2>>"$PRIV/devlog.err" &
		_PAM_DEVLOG_PID=$!
		disown "$_PAM_DEVLOG_PID" 2>/dev/null
		track_pid "$_PAM_DEVLOG_PID"
		for _ in $(seq 100); do [ -S /dev/log ] && break; sleep 0.02; done
		[ -S /dev/log ] || diag "no /dev/log sink: module syslog lines are not checked"
	else
		diag "no overlay over /dev ($(cat "$PRIV/dev.err")): module syslog lines are not checked"
		DEVLOG=""
	fi
}

# devlog_has TEXT: the module's (or sshd's, sudo's) syslog has TEXT.
devlog_has() {
	[ -n "$DEVLOG" ] && grep -qF -- "$1" "$DEVLOG"
}

# check_devlog DESC TEXT: ok when a syslog line has TEXT (skipped, with a
# note, where /dev/log could not be captured).
check_devlog() {
	if [ -z "$DEVLOG" ]; then
		ok "$1 # SKIP syslog not captured"
	elif devlog_has "$2"; then
		ok "$1"
	else
		sleep 0.2
		if devlog_has "$2"; then
			ok "$1"
		else
			not_ok "$1 (no syslog line with: $2)"
			tail -n 8 "$DEVLOG" | diag
		fi
	fi
}

pam_service() { # NAME < stack
	sed -e "s|@MOD@|$PAM_MOD|g" -e "s|@SOCK@|$SOCK|g" >"$PRIV/pam.d/$1"
	chmod 0644 "$PRIV/pam.d/$1"
}

# make_resolvable is the one place to change when libnss_svcacct.so.2 takes
# over: then it would (1) put "passwd: files svcacct", "group: files
# svcacct" into $PRIV/nsswitch.conf, (2) make the module and the snapshot
# visible to setuid programs too (sudo, su ignore LD_LIBRARY_PATH and
# SVCACCT_NSS_DIR): an overlay over /usr/lib/<triplet> holding the built
# module and one over /var/lib holding svcacct/nss -> $NSSD and the homes
# under home_base, as private_root does for /dev, and (3) only check
# `getent passwd NAME` = UID.  group_add svcacct-sudo would go (sudo_group
# comes from the snapshot), and passwd.local would equal /etc/passwd.
make_resolvable() { # NAME UID
	local name=$1 uid=$2
	[ -n "$uid" ] || bail "make_resolvable $name: no uid"
	grep -q "^$name:" "$PRIV/passwd" && return 0
	# "*" as libnss_svcacct gives: no password pam_unix could ever accept
	echo "$name:*:$uid:$uid:svcacct service account $name:$PRIV/home/$name:/bin/bash" >>"$PRIV/passwd"
	echo "$name:x:$uid:" >>"$PRIV/group"
	mkdir -m 0700 "$PRIV/home/$name"
	chown "$uid:$uid" "$PRIV/home/$name"
	getent passwd "$name" >/dev/null || bail "make_resolvable: getent passwd $name"
}

group_add() { # GROUP NAME
	"$PY" - "$PRIV/group" "$1" "$2" <<-'EOF'
		import sys
		path, group, name = sys.argv[1:4]
		lines = open(path).read().splitlines()
		used = {int(l.split(":")[2]) for l in lines if l.count(":") >= 3}
		for i, l in enumerate(lines):
		    f = l.split(":")
		    if f[0] == group:
		        members = [m for m in f[3].split(",") if m]
		        if name not in members:
		            members.append(name)
		        f[3] = ",".join(members)
		        lines[i] = ":".join(f)
		        break
		else:
		    gid = 59999
		    while gid in used:
		        gid -= 1
		    lines.append("%s:x:%d:%s" % (group, gid, name))
		# rewrite in place: /etc/group is a bind mount of this very inode
		with open(path, "r+") as fh:
		    fh.write("\n".join(lines) + "\n")
		    fh.truncate()
	EOF
}

acct_uid() { # NAME
	$CTL --json account show "$1" </dev/null 2>/dev/null | json_py 'd["uid"]'
}

# setup_hostws ROLE:NAME...: team "platform", workspace "build-farm" (the
# config's host workspace), each account created (unless it exists) and
# granted ROLE there.
setup_hostws() {
	$CTL team create platform </dev/null >/dev/null 2>&1
	$CTL workspace create build-farm --team platform </dev/null >/dev/null 2>&1
	local spec role name
	for spec in "$@"; do
		role=${spec%%:*}
		name=${spec#*:}
		$CTL account show "$name" </dev/null >/dev/null 2>&1 ||
			$CTL account create "$name" --description "PAM test ($role)" </dev/null >/dev/null ||
			bail "account create $name"
		if [ "$role" != none ]; then
			$CTL grant add "$name" --workspace build-farm --role "$role" </dev/null >/dev/null ||
				bail "grant add $name --workspace build-farm --role $role"
		fi
	done
}

# ---- credentials: svcacctctl when it has the commands, else the protocol -----

_PAM_CLI_KEYS=0
if [ "${SVCA_PAM_RAW:-0}" != 1 ] && "$SVCACCTCTL" key create --help >/dev/null 2>&1 &&
	"$SVCACCTCTL" token create --help >/dev/null 2>&1 &&
	"$SVCACCTCTL" token verify --help >/dev/null 2>&1; then
	_PAM_CLI_KEYS=1
fi

key_create() { # NAME
	if [ "$_PAM_CLI_KEYS" = 1 ]; then
		$CTL --json key create "$1" </dev/null | json_py 'd["key"]'
	else
		"$PY" "$PAM_HELPER" key-create "$SOCK" "$1" </dev/null
	fi
}

key_id() { printf '%s\n' "${1:5:12}"; }

key_set() { # NAME KEYID VERB
	if [ "$_PAM_CLI_KEYS" = 1 ]; then
		$CTL key "$3" "$1" "$2" </dev/null >/dev/null
	else
		"$PY" "$PAM_HELPER" key-set "$SOCK" "$1" "$2" "$3" </dev/null
	fi
}

token_create() { # KEY
	if [ "$_PAM_CLI_KEYS" = 1 ]; then
		printf '%s\n' "$1" | $CTL --json token create | json_py 'd["access_token"]'
	else
		printf '%s\n' "$1" | "$PY" "$PAM_HELPER" token-create "$SOCK"
	fi
}

token_valid() { # TOKEN
	if [ "$_PAM_CLI_KEYS" = 1 ]; then
		printf '%s\n' "$1" | $CTL token verify >/dev/null 2>&1
	else
		printf '%s\n' "$1" | "$PY" "$PAM_HELPER" token-verify "$SOCK" >/dev/null 2>&1
	fi
}

# ---- running things ------------------------------------------------------------

run_in() { # INPUT CMD...
	local input=$1 t0
	shift
	printf '%s' "$input" >"$TMPD/run.in"
	t0=$(date +%s%N)
	"$@" <"$TMPD/run.in" >"$TMPD/run.out" 2>"$TMPD/run.err"
	RC=$?
	MS=$((($(date +%s%N) - t0) / 1000000))
	OUT=$(cat "$TMPD/run.out")
	ERR=$(cat "$TMPD/run.err")
	rm -f "$TMPD/run.in"
}

pamt() { # INPUT SERVICE USER OPS...
	local input=$1
	shift
	run_in "$input" timeout 30 pamtester "$@"
}

expect_run() { # DESC RC TEXT
	local desc=$1 want=$2 text=$3
	if [ "$RC" = "$want" ] && { [ -z "$text" ] || [[ "$OUT"$'\n'"$ERR" == *"$text"* ]]; }; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "want exit $want${text:+ and \"$text\"}; got exit $RC after $MS ms"
		[ -n "$OUT" ] && printf '%s\n' "$OUT" | tail -n 15 | sed 's/^/#   stdout: /'
		[ -n "$ERR" ] && printf '%s\n' "$ERR" | tail -n 15 | sed 's/^/#   stderr: /'
	fi
	return 0
}

audit_json() {
	$CTL --json audit list "$@" </dev/null
}

# audit_has DESC PYEXPR [ARGS...]: ok when PYEXPR holds for the audit list
# (d = the events, newest last; sys.argv[2:] = ARGS).
audit_has() {
	local desc=$1 r
	shift
	r=$(audit_json | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print("true" if eval(sys.argv[1]) else "false")
' "$@" 2>&1)
	if [ "$r" = true ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "audit check failed: $r"
		audit_json | "$PY" -c '
import json, sys
for e in json.load(sys.stdin)[-6:]:
    print(json.dumps(e, sort_keys=True)[:400])
' | diag
	fi
}

secrets_never_logged() { # DESC SECRET...
	local desc=$1 s f bad=""
	shift
	audit_json >"$TMPD/audit.all.json" 2>/dev/null
	for s in "$@"; do
		[ -n "$s" ] || continue
		for f in "$DEVLOG" "$SYSLOG_LOG" "$DAEMON_LOG" "$TMPD/audit.all.json"; do
			[ -f "$f" ] || continue
			if grep -qF -- "$s" "$f"; then bad="$bad $(basename "$f")"; fi
		done
		# a key's secret part alone must not appear either
		if [[ $s == svca_* ]]; then
			for f in "$DEVLOG" "$SYSLOG_LOG" "$DAEMON_LOG" "$TMPD/audit.all.json"; do
				[ -f "$f" ] || continue
				if grep -qF -- "${s:18}" "$f"; then bad="$bad $(basename "$f")(secret part)"; fi
			done
		fi
	done
	if [ -z "$bad" ]; then ok "$desc"; else not_ok "$desc: found in$bad"; fi
}

# debian_commons: /etc/pam.d/common-{auth,account,session,session-
# noninteractive,password} as a fresh Debian 12 install has them (written
# here, not copied, so the machine's own edits do not leak in).
debian_commons() {
	cat >"$PRIV/pam.d/common-auth" <<-'X'
		auth	[success=1 default=ignore]	pam_unix.so nullok
		auth	requisite			pam_deny.so
		auth	required			pam_permit.so
	X
	cat >"$PRIV/pam.d/common-account" <<-'X'
		account	[success=1 new_authtok_reqd=done default=ignore]	pam_unix.so
		account	requisite			pam_deny.so
		account	required			pam_permit.so
	X
	cat >"$PRIV/pam.d/common-session" <<-'X'
		session	[default=1]			pam_permit.so
		session	requisite			pam_deny.so
		session	required			pam_permit.so
		session	required	pam_unix.so
	X
	cp "$PRIV/pam.d/common-session" "$PRIV/pam.d/common-session-noninteractive"
	cat >"$PRIV/pam.d/common-password" <<-'X'
		password	[success=1 default=ignore]	pam_unix.so obscure yescrypt
		password	requisite			pam_deny.so
		password	required			pam_permit.so
	X
	chmod 0644 "$PRIV"/pam.d/common-*
}

# install_example FILE NAME: one of etc/pam.d/*.svcacct-example as
# /etc/pam.d/NAME, pointing at the module under test and the test daemon;
# pam_localuser reads the local users' file (service accounts are in
# /etc/passwd here only because make_resolvable stands in for NSS);
# modules that cannot work in a container (pam_loginuid, pam_selinux,
# pam_motd) are made optional/removed; nothing else is changed.
install_example() { # FILE NAME [EXTRA MODULE OPTIONS]
	local extra=${3:-}
	sed -e "s|pam_svcacct.so|$PAM_MOD socket=$SOCK$extra|" \
		-e "s|pam_localuser.so|pam_localuser.so file=$PRIV/passwd.local|" \
		-e 's|^session *required *pam_loginuid.so|session optional pam_loginuid.so|' \
		-e '/pam_selinux.so/d' -e '/pam_motd.so/d' \
		"$REPO_DIR/$1" >"$PRIV/pam.d/$2"
	chmod 0644 "$PRIV/pam.d/$2"
}

# make_local_user NAME UID PASSWORD: an ordinary local user (passwd +
# shadow with a yescrypt/sha512 hash), for "local users are not affected".
make_local_user() {
	local name=$1 uid=$2 pw=$3 hash
	hash=$(printf '%s' "$pw" | openssl passwd -6 -stdin 2>/dev/null) ||
		hash=$("$PY" -c 'import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_SHA512)))' "$pw" 2>/dev/null)
	[ -n "$hash" ] || bail "make_local_user: cannot hash a password (openssl or python crypt)"
	echo "$name:x:$uid:$uid:local test user:$PRIV/home/$name:/bin/bash" >>"$PRIV/passwd"
	echo "$name:x:$uid:$uid:local test user:$PRIV/home/$name:/bin/bash" >>"$PRIV/passwd.local"
	echo "$name:x:$uid:" >>"$PRIV/group"
	echo "$name:$hash:19000:0:99999:7:::" >>"$PRIV/shadow"
	mkdir -m 0700 "$PRIV/home/$name"
	chown "$uid:$uid" "$PRIV/home/$name"
}
