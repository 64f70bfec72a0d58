# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# tests/pam/pamlib.sh: helpers for the PAM end-to-end tests, sourced after
# tests/pam/ns.sh (private mount namespace) and tests/lib.sh.
#
#   private_root             after start_daemon: a private /etc/pam.d,
#                            passwd, group, shadow, gshadow, nsswitch.conf
#                            ("passwd/group: files svcacct"), sudoers (+
#                            sudoers.d), /run (tmpfs, with /run/sshd), login
#                            records, /dev (an overlay with a fresh devpts
#                            and /dev/log = a sink whose lines land in
#                            $DEVLOG), and the real NSS module: see
#                            _pam_nss_setup.  All mounts in this namespace
#                            only.  Sets PRIV (its files).
#   pam_service NAME         writes /etc/pam.d/NAME from stdin; @MOD@ is the
#                            module under test, @SOCK@ the daemon socket
#   nss_resolves NAME UID    ok when NAME resolves through libnss_svcacct.so.2
#                            (getent -s svcacct passwd, and getent passwd
#                            through nsswitch.conf) with that uid and its
#                            home under home_base, and is not in /etc/passwd;
#                            sets NSS_LINE (its passwd line)
#   host_untouched           ok when the module, the snapshot directory and
#                            the homes are not on the machine's filesystem
#                            (as seen from the parent's mount namespace)
#   nss_valgrind NAME        getent -s svcacct (passwd, group, initgroups,
#                            enumeration) under valgrind --leak-check=full
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
#   free_port                a free loopback TCP port on stdout
#   start_sshd CONF PORT     $SSHD -D -e -f CONF in the background (log in
#                            $SD/sshd.log) until it listens on PORT
#   secrets_never_logged DESC SECRET...  none of the secrets appears in the
#                            module's syslog ($DEVLOG), the daemon's syslog,
#                            daemon.log or the audit trail
#
# Service accounts are never written to the private /etc/passwd or
# /etc/group: sshd, sudo, su, pamtester and id find them through
# libnss_svcacct.so.2, loaded by glibc from the system library directory
# (setuid programs ignore LD_LIBRARY_PATH and $SVCACCT_NSS_DIR, so neither
# is used here) and reading the daemon's snapshot at the module's
# compiled-in directory.  /etc/passwd holds the machine's users plus the
# LOCAL test users of make_local_user, which is what pam_localuser sees.

[ -n "${SVCA_PAM_NS:-}" ] || bail "tests/pam/ns.sh must be sourced before tests/lib.sh"

PAM_MOD="$SVCACCT_BUILD/pam_svcacct.so"
PAM_HELPER="$TESTS_DIR/pam/svca_pam_helper.py"
[ -f "$PAM_MOD" ] || bail "the module is built: $PAM_MOD (make $(basename "$SVCACCT_BUILD")/pam_svcacct.so)"
command -v pamtester >/dev/null || bail "pamtester is installed (make deps)"
NSS_MOD="$SVCACCT_BUILD/libnss_svcacct.so.2"
[ -f "$NSS_MOD" ] || bail "the NSS module is built: $NSS_MOD (make $(basename "$SVCACCT_BUILD")/libnss_svcacct.so.2)"
# The snapshot directory compiled into the module (make NSS_DIR=, default
# /var/lib/svcacct/nss); set SVCA_TEST_NSS_DIR for a module built with
# another one.
SYS_NSS_DIR=${SVCA_TEST_NSS_DIR:-/var/lib/svcacct/nss}
# Nothing here may find the module or the snapshot another way than sshd,
# sudo and su do.
unset LD_LIBRARY_PATH SVCACCT_NSS_DIR

PRIV=""
DEVLOG=""
_PAM_DEVLOG_PID=""
HOME_BASE=""  # the daemon's home_base (its config, else the default)
SUDO_GROUP="" # the daemon's sudo_group
_PAM_OVERLAYS=()
_PAM_HOST_NEW=() # paths made visible here that the machine does not have
_PAM_HOST_PID=$PPID # a process in the namespace the test was started from

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

	# users and groups: the machine's, plus the local test users
	# (make_local_user); service accounts come from libnss_svcacct.so.2
	cp /etc/passwd /etc/group "$PRIV/"
	cp /etc/shadow "$PRIV/shadow" 2>/dev/null || : >"$PRIV/shadow"
	cp /etc/gshadow "$PRIV/gshadow" 2>/dev/null || : >"$PRIV/gshadow"
	chmod 0644 "$PRIV/passwd" "$PRIV/group"
	chmod 0640 "$PRIV/shadow" "$PRIV/gshadow"
	cat >"$PRIV/nsswitch.conf" <<-'EOF'
		# private to the svcacct PAM tests
		passwd:   files svcacct
		group:    files svcacct
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
	_pam_nss_setup

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

# _pam_overlay DIR: an overlay over DIR (this namespace only) whose upper
# layer is under $PRIV: DIR looks unchanged, and whatever is written into
# it lands in $PRIV, never on the machine's filesystem.
_pam_overlay() {
	local dir=$1 n=${#_PAM_OVERLAYS[@]}
	mkdir -p "$PRIV/ovl$n/up" "$PRIV/ovl$n/work"
	# the overlay's root takes the upper directory's owner and mode
	{ chown --reference="$dir" "$PRIV/ovl$n/up" && chmod --reference="$dir" "$PRIV/ovl$n/up"; } ||
		bail "overlay upper dir for $dir"
	mount -t overlay "svcacct-test-ovl$n" \
		-o "lowerdir=$dir,upperdir=$PRIV/ovl$n/up,workdir=$PRIV/ovl$n/work" "$dir" 2>"$PRIV/ovl$n.err" ||
		bail "an overlay over $dir in the private namespace (overlayfs: $(cat "$PRIV/ovl$n.err"))"
	_PAM_OVERLAYS+=("$dir")
}

# _pam_show_dir SRC DST: the directory SRC appears at DST (a bind mount in
# this namespace).  When DST does not exist, its deepest existing ancestor
# gets an overlay (_pam_overlay) and DST is made in there: nothing is
# created on the machine's filesystem.
_pam_show_dir() {
	local src=$1 dst=$2 a o inside=0
	if [ ! -e "$dst" ]; then
		_PAM_HOST_NEW+=("$dst")
		a=$(dirname "$dst")
		while [ ! -e "$a" ]; do a=$(dirname "$a"); done
		[ "$a" != / ] || bail "$dst: no ancestor to overlay but /"
		for o in "${_PAM_OVERLAYS[@]}"; do
			if [ "$a" = "$o" ] || [[ $a == "$o"/* ]]; then inside=1; fi
		done
		[ "$inside" = 1 ] || _pam_overlay "$a"
		(umask 022 && mkdir -p "$dst") || bail "mkdir $dst (in the overlay over $a)"
	fi
	[ -d "$dst" ] || bail "$dst is a directory"
	_pam_bind "$src" "$dst"
}

_pam_conf_value() { # KEY DEFAULT: a string setting of $CONF
	local v
	v=$(sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*\"\\(.*\\)\"[[:space:]]*;.*/\\1/p" "$CONF" | tail -n 1)
	printf '%s\n' "${v:-$2}"
}

# _pam_nss_setup (private_root): libnss_svcacct.so.2 as an installed one,
# for every process of the namespace, setuid ones included:
#   - the built module in glibc's system library directory (the one libc
#     itself is in), through an overlay over that directory;
#   - the daemon's nss_dir ($NSSD) bind-mounted at the module's compiled-in
#     directory, and a private, empty home_base (0755) at the configured
#     place (pam_mkhomedir makes the homes in it), both made visible the
#     same way;
#   - "passwd: files svcacct", "group: files svcacct" (private_root).
# Then checks that it answers, and where glibc loaded it from.
_pam_nss_setup() {
	local libc libdir out loaded
	libc=$(ldd "$(command -v getent)" 2>/dev/null | awk '$1 == "libc.so.6" {print $3}')
	[ -n "$libc" ] || bail "where libc.so.6 is (ldd getent)"
	libdir=$(dirname "$(readlink -f "$libc")")
	_pam_overlay "$libdir"
	[ -e "$libdir/libnss_svcacct.so.2" ] || _PAM_HOST_NEW+=("$libdir/libnss_svcacct.so.2")
	install -m 0644 -o root -g root "$NSS_MOD" "$libdir/libnss_svcacct.so.2" ||
		bail "copy libnss_svcacct.so.2 into the overlay over $libdir"

	# (no grep -q: strings must not die of SIGPIPE under pipefail)
	strings -a "$NSS_MOD" | grep -xF -e "$SYS_NSS_DIR" >/dev/null ||
		bail "$NSS_MOD was built with NSS_DIR=$SYS_NSS_DIR (else set SVCA_TEST_NSS_DIR)"
	_pam_show_dir "$NSSD" "$SYS_NSS_DIR"
	HOME_BASE=$(_pam_conf_value home_base /var/lib/svcacct/home)
	SUDO_GROUP=$(_pam_conf_value sudo_group svcacct-sudo)
	mkdir -m 0755 "$PRIV/svchome"
	_pam_show_dir "$PRIV/svchome" "$HOME_BASE"
	# every directory above home_base must be searchable by the accounts
	local d=$HOME_BASE
	while [ "$d" != / ]; do
		d=$(dirname "$d")
		[ "$(stat -c %A "$d" | cut -c10)" = x ] || diag "home_base: $d is not searchable by others"
	done

	# the sudo group always exists: the module answers for it
	out=$(getent -s svcacct group "$SUDO_GROUP" 2>&1) ||
		bail "libnss_svcacct.so.2 answers in the namespace (getent -s svcacct group $SUDO_GROUP: exit $?, $out)"
	loaded=$(LD_DEBUG=libs getent -s svcacct group "$SUDO_GROUP" 2>&1 >/dev/null |
		sed -n 's/.*calling init: \(.*libnss_svcacct\.so\.2\)$/\1/p' | head -n 1)
	if [ -n "$loaded" ] && [ "$(dirname "$(readlink -f "$loaded")")" = "$libdir" ] &&
		cmp -s "$loaded" "$NSS_MOD"; then
		ok "NSS: glibc loads the built libnss_svcacct.so.2 from the system directory ($loaded), no LD_LIBRARY_PATH; snapshot at $SYS_NSS_DIR"
	else
		not_ok "NSS: glibc loads the built libnss_svcacct.so.2 from $libdir (loaded: ${loaded:-nothing})"
	fi
}

# host_untouched: ok when none of the paths _pam_nss_setup made visible
# (the module in the library directory, the snapshot directory, home_base,
# where the machine has none of them) exists as seen from the namespace the
# test was started from: everything went into $PRIV.
host_untouched() {
	local p bad=""
	if [ "$(readlink "/proc/$_PAM_HOST_PID/ns/mnt" 2>/dev/null)" = "$(readlink /proc/self/ns/mnt)" ] ||
		[ ! -d "/proc/$_PAM_HOST_PID/root/" ]; then
		ok "nothing of the test on the machine's filesystem # SKIP no view of the parent namespace"
		return
	fi
	for p in "${_PAM_HOST_NEW[@]}"; do
		[ -e "/proc/$_PAM_HOST_PID/root$p" ] && bad="$bad $p"
	done
	if [ -z "$bad" ]; then
		ok "outside the namespace none of these exists: ${_PAM_HOST_NEW[*]}"
	else
		not_ok "outside the namespace these exist:$bad"
	fi
}

# nss_resolves NAME UID: ok when NAME is a service account glibc finds
# through libnss_svcacct.so.2 (also by uid, also through nsswitch.conf),
# with its private group, the home under home_base, and nowhere in the
# files.
nss_resolves() {
	local name=$1 uid=$2 line byuid viansswitch grp why=""
	local f_name f_pw f_uid f_gid f_home f_shell
	[ -n "$uid" ] || bail "nss_resolves $name: no uid"
	line=$(getent -s svcacct passwd "$name")
	byuid=$(getent -s svcacct passwd "$uid")
	viansswitch=$(getent passwd "$name")
	grp=$(getent -s svcacct group "$name")
	IFS=: read -r f_name f_pw f_uid f_gid _ f_home f_shell <<<"$line"
	if [ -z "$line" ]; then
		why="getent -s svcacct passwd $name: nothing"
	elif [ "$f_name:$f_pw:$f_uid:$f_gid" != "$name:*:$uid:$uid" ]; then
		why="unexpected entry: $line"
	elif [ "$f_home" != "$HOME_BASE/$name" ]; then
		why="home $f_home, not $HOME_BASE/$name"
	elif [ "$byuid" != "$line" ]; then
		why="by uid: $byuid"
	elif [ "$viansswitch" != "$line" ]; then
		why="getent passwd $name (nsswitch.conf): $viansswitch"
	elif [ "$grp" != "$name:*:$uid:" ]; then
		why="private group: $grp"
	elif grep -q "^$name:" /etc/passwd /etc/group; then
		why="$name is in /etc/passwd or /etc/group"
	fi
	if [ -z "$why" ]; then
		ok "$name resolves through libnss_svcacct.so.2 (getent -s svcacct passwd): uid $uid, home $f_home, shell $f_shell"
	else
		not_ok "$name resolves through libnss_svcacct.so.2: $why"
	fi
	# shellcheck disable=SC2034 # for the caller
	NSS_LINE=$line
}

# nss_valgrind NAME: the module under valgrind, through glibc (getent
# -s svcacct): passwd by name and uid, the private and the sudo group,
# initgroups, enumeration.  No memory error, no leak.
nss_valgrind() {
	local name=$1 uid db rc i=0 bad=""
	if ! command -v valgrind >/dev/null; then
		not_ok "valgrind is installed (make deps)"
		return
	fi
	uid=$(getent -s svcacct passwd "$name" | cut -d: -f3)
	for db in "passwd $name $uid" "group $name $uid $SUDO_GROUP" "initgroups $name" "passwd" "group"; do
		i=$((i + 1))
		# shellcheck disable=SC2086 # db is "DATABASE KEY..."
		timeout 60 valgrind -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite,indirect,possible --show-leak-kinds=definite,indirect,possible \
			--log-file="$TMPD/vg.nss.$i.log" getent -s svcacct $db >"$TMPD/vg.nss.$i.out" 2>&1
		rc=$?
		if [ "$rc" != 0 ] || [ -s "$TMPD/vg.nss.$i.log" ]; then
			bad="$bad [getent -s svcacct $db: exit $rc]"
			head -n 40 "$TMPD/vg.nss.$i.log" | diag
			diag_file "$TMPD/vg.nss.$i.out" 10
		fi
	done
	if [ -z "$bad" ]; then
		ok "valgrind --leak-check=full: getent -s svcacct passwd/group/initgroups/enumeration for $name: no errors, no leaks"
	else
		not_ok "valgrind: getent -s svcacct for $name:$bad"
	fi
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
# modules that cannot work in a container (pam_loginuid, pam_selinux,
# pam_motd) are made optional/removed; nothing else is changed.
install_example() { # FILE NAME [EXTRA MODULE OPTIONS]
	local extra=${3:-}
	sed -e "s|pam_svcacct.so|$PAM_MOD socket=$SOCK$extra|" \
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
	echo "$name:x:$uid:" >>"$PRIV/group"
	echo "$name:$hash:19000:0:99999:7:::" >>"$PRIV/shadow"
	mkdir -m 0700 "$PRIV/home/$name"
	chown "$uid:$uid" "$PRIV/home/$name"
}

# ---- a real sshd (t_pam_sshd, t_ssh_sshd) ---------------------------------------

free_port() {
	"$PY" -c '
import random, socket
for _ in range(200):
    p = random.randint(20000, 60000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
'
}

# start_sshd CONF PORT: $SSHD (default /usr/sbin/sshd; $SSHD_WRAP runs
# before it, e.g. faketime) -D in the background, until it listens.
start_sshd() {
	local conf=$1 port=$2 up=0 pid
	${SSHD_WRAP:-} "${SSHD:-/usr/sbin/sshd}" -D -e -f "$conf" </dev/null >>"$SD/sshd.log" 2>&1 &
	pid=$!
	track_pid "$pid"
	disown "$pid" 2>/dev/null
	for _ in $(seq 100); do
		if "$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' "$port" 2>/dev/null; then
			up=1
			break
		fi
		sleep 0.05
	done
	[ "$up" = 1 ]
}
