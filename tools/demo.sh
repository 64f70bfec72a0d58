#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# tools/demo.sh BUILD_DIR [--run]: a private svcacctd under BUILD_DIR/demo/.
#
#   make demo   ->  tools/demo.sh build         walk through the product
#   make run    ->  tools/demo.sh build --run   svcacctd -f in the foreground
#
# Both start from an empty BUILD_DIR/demo/ (a previous demo is wiped) holding
#   svcacctd.conf   the configuration (absolute paths, all inside demo/)
#   svcacctd.sock   the daemon's socket
#   state/          state_dir (mode 0700): databases, journal, lock
#   nss/            nss_dir
#   log.sock        syslog_socket: a socat listener appends what the daemon
#   syslog.log      sends there (one datagram per event) to syslog.log
#   daemon.log      the daemon's own messages (walkthrough only)
#
# The walkthrough prints every step as "==> what" and "$ command" followed
# by the command's output, stops everything it started on exit (also on
# failure or Ctrl-C) and exits non-zero when a step does not give the
# expected result.  Without root, the admin is the caller's primary group
# (super_admin_groups) and the "refused as nobody" step is skipped.

set -u -o pipefail

usage() {
	echo "usage: $0 BUILD_DIR [--run]" >&2
	exit 2
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
RUN=0
if [ $# -eq 2 ]; then
	[ "$2" = --run ] || usage
	RUN=1
fi

die() {
	echo "demo: $*" >&2
	exit 1
}

[ -d "$1" ] || die "no build directory '$1' (run make first)"
BUILD=$(cd "$1" && pwd) || die "cannot enter '$1'"
DAEMON="$BUILD/svcacctd"
CTL="$BUILD/svcacctctl"
for b in "$DAEMON" "$CTL"; do
	[ -x "$b" ] || die "$b is missing (run make first)"
done

DEMO="$BUILD/demo"
CONF="$DEMO/svcacctd.conf"
SOCK="$DEMO/svcacctd.sock"
STATE="$DEMO/state"
NSSD="$DEMO/nss"
SYSLOG_SOCK="$DEMO/log.sock"
SYSLOG_LOG="$DEMO/syslog.log"
DAEMON_LOG="$DEMO/daemon.log"

# sun_path holds 108 bytes; leave room.
if [ "${#SOCK}" -ge 100 ]; then
	die "the socket path $SOCK is ${#SOCK} bytes long (Unix sockets allow" \
		"about 100); use a build directory with a shorter path"
fi

# ---- a fresh instance --------------------------------------------------------

if [ -e "$STATE/lock" ] && ! flock -n "$STATE/lock" true 2>/dev/null; then
	die "a svcacctd (pid $(head -n 1 "$STATE/lock" 2>/dev/null)) is still" \
		"running on $STATE; stop it first"
fi
rm -rf -- "$DEMO" || die "cannot remove $DEMO"
mkdir -p -- "$DEMO" || die "cannot create $DEMO"
# Others must reach the socket (the "refused" step runs as nobody); the
# state directory stays private.
chmod 0755 "$BUILD" "$DEMO" 2>/dev/null
mkdir -m 0700 "$STATE" || die "cannot create $STATE"
mkdir -m 0755 "$NSSD" || die "cannot create $NSSD"
: >"$SYSLOG_LOG"
# svcacctctl sends nothing to a daemon that runs as someone other than
# root or _svcacct; run by a user, the demo daemon is that user's.
TRUST_LINE=""
TRUST_OPT=""
if [ "$(id -u)" != 0 ]; then
	export SVCACCT_TRUST_UID
	SVCACCT_TRUST_UID=$(id -u)
	TRUST_LINE=" SVCACCT_TRUST_UID=$SVCACCT_TRUST_UID"
	TRUST_OPT=" --trust-uid $SVCACCT_TRUST_UID"
fi

ADMIN_LINE=""
if [ "$(id -u)" != 0 ]; then
	# root is always a Super Admin; anyone else needs a group.
	ADMIN_LINE="super_admin_groups = [ \"$(id -gn)\" ];"
fi

cat >"$CONF" <<EOF
# Written by tools/demo.sh: a private svcacctd under $DEMO.
# Every setting is described in svcacctd.conf(5).
socket = "$SOCK";
state_dir = "$STATE";
nss_dir = "$NSSD";
syslog = true;
syslog_socket = "$SYSLOG_SOCK";
uid_min = 60000;
uid_max = 60999;
admin_groups = [ ];
host_workspaces = [ "build-farm" ];
$ADMIN_LINE
EOF

chmod 0644 "$CONF" # svcacctd refuses a configuration others may write
"$DAEMON" -t -c "$CONF" >/dev/null || die "the generated $CONF does not pass svcacctd -t"

# socat prints nothing on a datagram socket's success, so wait for the file.
start_syslog() { # extra socat/setpriv prefix...
	rm -f "$SYSLOG_SOCK"
	"$@" socat -u "UNIX-RECV:$SYSLOG_SOCK,mode=0666" \
		"OPEN:$SYSLOG_LOG,creat,append" </dev/null 2>>"$DEMO/socat.err" &
	SYSLOG_PID=$!
	local _
	for _ in $(seq 100); do
		[ -S "$SYSLOG_SOCK" ] && return 0
		kill -0 "$SYSLOG_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "demo: the syslog listener did not start:" >&2
	cat "$DEMO/socat.err" >&2
	return 1
}

command -v socat >/dev/null || die "socat is missing (make deps installs it)"

# ---- make run: the daemon in the foreground ------------------------------------

if [ "$RUN" = 1 ]; then
	# The listener dies with its parent, which becomes svcacctd by exec.
	start_syslog setpriv --pdeathsig TERM -- || die "cannot start the syslog listener"
	cat <<EOF
svcacctd in the foreground with $CONF
(Ctrl-C stops it; audit lines sent to syslog land in $SYSLOG_LOG).

From another terminal:
  $CTL -s $SOCK$TRUST_OPT account create ci-deploy --description "CI deploy bot"
  $CTL -s $SOCK$TRUST_OPT account list
  $CTL -s $SOCK$TRUST_OPT audit list
or set the socket once:
  export SVCACCT_SOCKET=$SOCK$TRUST_LINE PATH=$BUILD:\$PATH
  svcacctctl account list

EOF
	exec "$DAEMON" -f -c "$CONF"
fi

# ---- make demo: the walkthrough --------------------------------------------------

DAEMON_PID=""
SYSLOG_PID=""

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -TERM "$DAEMON_PID" 2>/dev/null
		local _
		for _ in $(seq 100); do
			kill -0 "$DAEMON_PID" 2>/dev/null || break
			sleep 0.05
		done
		if kill -0 "$DAEMON_PID" 2>/dev/null; then
			echo "demo: svcacctd ignored SIGTERM; killing it" >&2
			kill -KILL "$DAEMON_PID" 2>/dev/null
			rc=1
		fi
		wait "$DAEMON_PID" 2>/dev/null
		local st=$?
		if [ "$st" != 0 ]; then
			echo "demo: svcacctd exited with status $st (see $DAEMON_LOG)" >&2
			rc=1
		fi
	fi
	if [ -n "$SYSLOG_PID" ]; then
		kill -TERM "$SYSLOG_PID" 2>/dev/null
		wait "$SYSLOG_PID" 2>/dev/null
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

start_syslog || exit 1

"$DAEMON" -f -c "$CONF" </dev/null >>"$DAEMON_LOG" 2>&1 &
DAEMON_PID=$!
export SVCACCT_SOCKET="$SOCK"

deadline=$(($(date +%s) + 10))
until [ -S "$SOCK" ] && "$CTL" account list </dev/null >/dev/null 2>&1; do
	if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
		wait "$DAEMON_PID"
		echo "demo: svcacctd exited during startup (status $?):" >&2
		cat "$DAEMON_LOG" >&2
		DAEMON_PID=""
		exit 1
	fi
	if [ "$(date +%s)" -ge "$deadline" ]; then
		echo "demo: svcacctd did not answer on $SOCK within 10 s:" >&2
		cat "$DAEMON_LOG" >&2
		exit 1
	fi
	sleep 0.05
done

# Shows an argument the way one would type it.
shell_word() {
	if [[ $1 =~ ^[A-Za-z0-9_./=:@%+,-]+$ ]]; then
		printf '%s' "$1"
	else
		local s=${1//\\/\\\\}
		s=${s//\"/\\\"}
		s=${s//\$/\\\$}
		s=${s//\`/\\\`}
		printf '"%s"' "$s"
	fi
}

show_cmd() { # WORDS...
	local out="\$" w
	for w in "$@"; do
		out+=" $(shell_word "$w")"
	done
	printf '%s\n' "$out"
}

STEP=0
# step EXPECTED_EXIT DESCRIPTION [PREFIX... --] svcacctctl ARGS...
# Runs the command with "svcacctctl" standing for the built binary, prints
# it and its output (stdout and stderr), and stops the demo when its exit
# status is not the expected one.
step() {
	local want=$1 desc=$2
	shift 2
	local -a shown=() run=()
	local w
	for w in "$@"; do
		shown+=("$w")
		if [ "$w" = svcacctctl ]; then run+=("$CTL"); else run+=("$w"); fi
	done
	STEP=$((STEP + 1))
	printf '\n==> %s\n' "$desc"
	show_cmd "${shown[@]}"
	"${run[@]}" </dev/null 2>&1
	local rc=$?
	if [ "$rc" != "$want" ]; then
		printf '\ndemo: FAILED at step %d (%s): exit status %d, expected %d\n' \
			"$STEP" "$desc" "$rc" "$want" >&2
		if [ -s "$DAEMON_LOG" ]; then
			echo "demo: last lines of $DAEMON_LOG:" >&2
			tail -n 20 "$DAEMON_LOG" >&2
		fi
		exit 1
	fi
	if [ "$want" != 0 ]; then
		printf '(exit status %d, as expected)\n' "$rc"
	fi
}

# keep FILE: runs the step like step 0 and keeps the last line of its
# standard output (a key or a token) in FILE, mode 0600.
keep() {
	local file=$1
	shift
	local out="$DEMO/.out"
	step 0 "$@" >"$out"
	cat "$out"
	(umask 077 && tail -n 1 "$out" >"$file")
	rm -f "$out"
}

echo "svcacct demo: a private svcacctd (pid $DAEMON_PID) on $SOCK"
echo "configuration: $CONF"
echo "(\"svcacctctl\" below is $CTL, with SVCACCT_SOCKET=$SOCK)"

step 0 'Create a service account for the CI deploy bot' \
	svcacctctl account create ci-deploy --description "CI deploy bot"
step 0 'Create a second one, for the backup job' \
	svcacctctl account create backup-job
step 0 'List the service accounts' \
	svcacctctl account list
step 0 'Show one account in detail' \
	svcacctctl account show ci-deploy
step 0 'A team owns workspaces; this host belongs to build-farm (host_workspaces)' \
	svcacctctl team create platform
step 0 'Create the build-farm workspace in the platform team' \
	svcacctctl workspace create build-farm --team platform
step 0 'Make ci-deploy an editor there: editors may log in (sshd, su, cron...)' \
	svcacctctl grant add ci-deploy --workspace build-farm --role editor
step 0 'What ci-deploy may do on this host, and why' \
	svcacctctl account access ci-deploy
keep "$DEMO/key-a" 'Give it an API key: shown once, stored only as a keyed hash' \
	svcacctctl key create ci-deploy --label "gitlab runner" --expires 90
KEY_A_ID=$(cut -c6-17 "$DEMO/key-a")
keep "$DEMO/token" 'The automation trades its key for a 15-minute session token' \
	svcacctctl token create --key-file "$DEMO/key-a"
step 0 'Anyone can check a token: signature, expiry, revocation' \
	svcacctctl token verify "$(cat "$DEMO/token")"
step 0 'The public keys that verify tokens offline (JWKS)' \
	svcacctctl jwks
if command -v ssh-keygen >/dev/null; then
	ssh-keygen -q -t ed25519 -N '' -C ci-deploy -f "$DEMO/ci-deploy" </dev/null
	step 0 'For ssh: the pipeline trades its key for a 15-minute certificate of its own SSH key' \
		svcacctctl ssh sign "$DEMO/ci-deploy.pub" --key-file "$DEMO/key-a"
	step 0 'What sshd checks: principal, key id, serial, validity (ssh-keygen -L)' \
		ssh-keygen -L -f "$DEMO/ci-deploy-cert.pub"
	step 0 'The CA keys every host trusts (svcacct-ssh-setup enable points sshd at them)' \
		svcacctctl ssh ca
fi
printf '\n==> Rotation without downtime: a second key while the first still works\n'
keep "$DEMO/key-b" 'Create key B' \
	svcacctctl key create ci-deploy --label "gitlab runner (rotated)"
keep "$DEMO/token-b" 'Both keys work; the pipeline switches to B' \
	svcacctctl token create --key-file "$DEMO/key-b"
step 0 'Both keys, with when each was last used' \
	svcacctctl key list ci-deploy
step 0 'Disable A (reversible) once nothing uses it' \
	svcacctctl key disable ci-deploy "$KEY_A_ID"
step 1 'A is refused now; B keeps working' \
	svcacctctl token create --key-file "$DEMO/key-a"
step 0 'Revoke A for good (its record stays, for the audit)' \
	svcacctctl key revoke ci-deploy "$KEY_A_ID"
keep "$DEMO/token-b2" 'B still works' \
	svcacctctl token create --key-file "$DEMO/key-b"
step 0 'Change its description' \
	svcacctctl account update ci-deploy --description "CI deploy bot (GitLab runner on build-01)"
step 0 'Rename the backup account (its uid stays)' \
	svcacctctl account update backup-job --rename nightly-backup
step 0 'Disable it: its keys and tokens stop working at once' \
	svcacctctl account disable nightly-backup
step 0 'The same list as JSON, for scripts' \
	svcacctctl --json account list

if [ "$(id -u)" = 0 ]; then
	step 3 'Anyone else is refused (here as nobody, uid 65534): exit status 3' \
		setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		svcacctctl account create intruder
else
	printf '\n==> (skipped: refusing a caller who is not an admin needs root to run as nobody)\n'
fi

AUDIT_DESC='The audit trail: every change, oldest first'
[ "$(id -u)" = 0 ] && AUDIT_DESC='The audit trail: every change and the refusal, oldest first'
step 0 "$AUDIT_DESC" \
	svcacctctl audit list
step 0 "Verify the audit trail's hash chain" \
	svcacctctl audit verify

# The daemon sends the syslog lines once a change is on disk, before it
# replies; give socat a moment to write the last one.
sleep 0.3
printf '\n==> The same events as syslog received them (LOG_AUTHPRIV, one JSON object each)\n'
printf '(socat on %s appends each datagram to %s)\n' "$SYSLOG_SOCK" "$SYSLOG_LOG"
if [ ! -s "$SYSLOG_LOG" ]; then
	echo "demo: FAILED: nothing reached $SYSLOG_LOG" >&2
	exit 1
fi
# Datagrams carry no newline: start a line at every "<PRI>Mmm dd hh:mm:ss ".
sed -E 's/<[0-9]{1,3}>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} /\n&/g' \
	"$SYSLOG_LOG" | awk 'NF'

cat <<EOF

Done.  The instance's files are in $DEMO (stopping the daemon now).
Logging in over ssh, su and sudo with a key or token goes through the PAM
module; tests/integration/t_pam_sshd.sh does it with a real sshd.
Start a fresh instance in the foreground with: make run
EOF
