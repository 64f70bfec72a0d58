# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# tests/lib.sh: sourced by tests/integration/t_*.sh.
#
# Output protocol (read by tests/run.sh): one line per check,
#   ok - description
#   not ok - description
# and "# text" comment lines.  A script exits 1 when any check failed.
#
# Environment:
#   SVCACCT_BUILD   absolute build directory holding svcacctd, svcacctctl
#                   (default: <repo>/build)
#   KEEP_TMP=1      keep the private temp dir (its path is printed)
#   START_TIMEOUT   seconds start_daemon waits for the daemon (default 5)
#
# Helpers:
#   ok DESC | not_ok DESC | diag TEXT... | bail DESC (not_ok, then exit)
#   check [-d DESC] CMD...          ok when CMD exits 0
#   check_exit N [-d DESC] CMD...   ok when CMD exits N
#   expect_exit N CMD...            silent; 0 when CMD exits N; sets RC,
#                                   OUT and ERR (CMD's stdout / stderr)
#   run_tap CMD...                  runs a command that prints its own
#                                   ok / not ok lines; counts its failures
#   start_daemon [CONFIG LINES...]  fresh temp dir, config, syslog sink,
#                                   svcacctd -f; exports SOCK STATE NSSD
#                                   TMPD CONF CTL DAEMON_PID SYSLOG_LOG
#   start_daemon_reuse              starts svcacctd again on the same dir
#   stop_daemon                     SIGTERM, bounded wait, then SIGKILL;
#                                   sets DAEMON_EXIT
#   kill9_daemon                    SIGKILL and reap
#   restart_daemon                  stop_daemon + start_daemon_reuse
#   daemon_alive                    0 while the daemon runs
#   run_as_nobody CMD...            as uid/gid 65534, no groups
#   run_as_uid_groups UID GID GROUPS CMD...   GROUPS: comma-separated
#   track_pid PID                   killed by the cleanup
#   avail_kib                       KiB free where $STATE is
#   json_py EXPR                    python3 with stdin's JSON as `d`
#   now                             seconds since the epoch, with ns
#
# A trap kills whatever the script started and removes the temp dir, also
# when a check fails, the script dies or run.sh's timeout hits.  At exit,
# if a daemon was started, one check reports whether it shut down cleanly
# (exit 0 or SIGTERM, no sanitizer report in daemon.log).

set -u -o pipefail

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$TESTS_DIR/.." && pwd)
: "${SVCACCT_BUILD:=$REPO_DIR/build}"
SVCACCT_BUILD=$(cd "$SVCACCT_BUILD" 2>/dev/null && pwd || echo "$SVCACCT_BUILD")
export SVCACCT_BUILD
SVCACCTD="$SVCACCT_BUILD/svcacctd"
SVCACCTCTL="$SVCACCT_BUILD/svcacctctl"
TEST_NAME=$(basename "$0" .sh)

# The distribution's python3 starts much faster than a pyenv shim.
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

_SVCA_FAILS=0
_SVCA_COUNT=0
_SVCA_PIDS=()
_SVCA_DAEMON_EVER=0
_SVCA_BAD_EXITS=""
_SVCA_SYSLOG_PID=""
DAEMON_PID=""
DAEMON_EXIT=""
TMPD=""

# ---- reporting --------------------------------------------------------------

ok() {
	_SVCA_COUNT=$((_SVCA_COUNT + 1))
	printf 'ok - %s\n' "$*"
}

not_ok() {
	_SVCA_COUNT=$((_SVCA_COUNT + 1))
	_SVCA_FAILS=$((_SVCA_FAILS + 1))
	printf 'not ok - %s\n' "$*"
}

# Comment lines; with no argument, stdin (each line prefixed).
diag() {
	if [ $# -gt 0 ]; then
		printf '%s\n' "$*" | sed 's/^/# /'
	else
		sed 's/^/# /'
	fi
}

# Shows the last lines of daemon.log not shown before, as comments.
_SVCA_LOG_SHOWN=0
show_daemon_log() { # [LINES]
	local n=${1:-40} size
	[ -f "${DAEMON_LOG:-}" ] || return 0
	size=$(stat -c %s "$DAEMON_LOG")
	[ "$size" -gt "$_SVCA_LOG_SHOWN" ] || return 0
	diag "--- daemon.log (last $n lines):"
	tail -c +"$((_SVCA_LOG_SHOWN + 1))" "$DAEMON_LOG" | tail -n "$n" | diag
	_SVCA_LOG_SHOWN=$size
}

# Shows the last lines of a file as comments.
diag_file() { # FILE [LINES]
	local f=$1 n=${2:-30}
	if [ -s "$f" ]; then
		diag "--- last $n lines of $f:"
		tail -n "$n" "$f" | diag
	fi
}

bail() {
	not_ok "$*"
	exit 1
}

failures() { echo "$_SVCA_FAILS"; }

_svca_cmdstr() {
	local s="$*"
	s=${s//"$SVCACCT_BUILD/"/}
	[ -n "${SOCK:-}" ] && s=${s//" -s $SOCK"/}
	[ ${#s} -gt 100 ] && s="${s:0:97}..."
	printf '%s' "$s"
}

# expect_exit N CMD...: runs CMD with stdin from /dev/null; sets RC, OUT and
# ERR.  Returns 0 when RC == N; otherwise prints a diagnostic and returns 1.
expect_exit() {
	local want=$1
	shift
	local o e
	o=$(mktemp "${TMPD:-/tmp}/out.XXXXXX")
	e=$(mktemp "${TMPD:-/tmp}/err.XXXXXX")
	"$@" <"${STDIN_FILE:-/dev/null}" >"$o" 2>"$e"
	RC=$?
	OUT=$(cat "$o")
	ERR=$(cat "$e")
	rm -f "$o" "$e"
	if [ "$RC" != "$want" ]; then
		diag "expected exit $want, got $RC: $(_svca_cmdstr "$@")"
		[ -n "$OUT" ] && printf '%s\n' "$OUT" | head -n 20 | sed 's/^/#   stdout: /'
		[ -n "$ERR" ] && printf '%s\n' "$ERR" | head -n 20 | sed 's/^/#   stderr: /'
		return 1
	fi
	return 0
}

# check [-d DESC] CMD...
check() {
	local desc=""
	if [ "${1:-}" = "-d" ]; then desc=$2; shift 2; fi
	[ -n "$desc" ] || desc=$(_svca_cmdstr "$@")
	if expect_exit 0 "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# check_exit N [-d DESC] CMD...
check_exit() {
	local want=$1 desc=""
	shift
	if [ "${1:-}" = "-d" ]; then desc=$2; shift 2; fi
	[ -n "$desc" ] || desc="$(_svca_cmdstr "$@") exits $want"
	if expect_exit "$want" "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# run_tap CMD...: passes CMD's output through; its "not ok" lines count as
# failures; a non-zero exit without any "not ok" line is one more failure.
run_tap() {
	local f rc n nok
	f=$(mktemp "${TMPD:-/tmp}/tap.XXXXXX")
	"$@" >"$f" 2>&1
	rc=$?
	cat "$f"
	n=$(grep -cE '^(ok|not ok) - ' "$f")
	nok=$(grep -cE '^not ok - ' "$f")
	rm -f "$f"
	_SVCA_COUNT=$((_SVCA_COUNT + n))
	_SVCA_FAILS=$((_SVCA_FAILS + nok))
	if [ "$rc" != 0 ] && [ "$nok" = 0 ]; then
		not_ok "$(_svca_cmdstr "$@") exited $rc"
	fi
	return "$rc"
}

now() { date +%s.%N; }

# json_py EXPR: evaluates a python expression with the JSON document read
# from stdin bound to d, and prints the result (strings raw, else JSON).
json_py() {
	"$PY" -c '
import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(r if isinstance(r, str) else json.dumps(r))
' "$1"
}

# ---- privileges -------------------------------------------------------------

run_as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
}

run_as_uid_groups() { # UID GID GROUPS CMD...
	local u=$1 g=$2 groups=$3
	shift 3
	if [ -n "$groups" ]; then
		setpriv --reuid="$u" --regid="$g" --groups="$groups" -- "$@"
	else
		setpriv --reuid="$u" --regid="$g" --clear-groups -- "$@"
	fi
}

# ---- processes --------------------------------------------------------------

track_pid() { _SVCA_PIDS+=("$@"); }

# Waits until pid exits, at most $2 seconds.  0 when it exited.
wait_pid_gone() {
	local pid=$1 t=${2:-10} i=0 n
	n=$((t * 20))
	while kill -0 "$pid" 2>/dev/null; do
		# a zombie child counts as gone
		if [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ]; then
			return 0
		fi
		i=$((i + 1))
		[ "$i" -ge "$n" ] && return 1
		sleep 0.05
	done
	return 0
}

daemon_alive() {
	[ -n "$DAEMON_PID" ] || return 1
	kill -0 "$DAEMON_PID" 2>/dev/null || return 1
	[ "$(ps -o stat= -p "$DAEMON_PID" 2>/dev/null | cut -c1)" != Z ]
}

# ---- the daemon -------------------------------------------------------------

_svca_make_tmp() {
	TMPD=$(mktemp -d /tmp/svcacct-test.XXXXXXXX) || bail "mktemp -d"
	# others must reach the socket (run_as_nobody); the state stays 0700
	chmod 0755 "$TMPD"
	SOCK="$TMPD/svcacctd.sock"
	STATE="$TMPD/state"
	NSSD="$TMPD/nss"
	CONF="$TMPD/svcacctd.conf"
	SYSLOG_SOCK="$TMPD/log.sock"
	SYSLOG_LOG="$TMPD/syslog.log"
	DAEMON_LOG="$TMPD/daemon.log"
	mkdir -m 0700 "$STATE"
	mkdir -m 0755 "$NSSD"
	: >"$SYSLOG_LOG"
	CTL="$SVCACCTCTL -s $SOCK"
	export TMPD SOCK STATE NSSD CONF SYSLOG_SOCK SYSLOG_LOG DAEMON_LOG CTL
}

# Writes the config: our defaults, minus any key that an extra line sets,
# then the extra lines.
_svca_write_conf() {
	local defaults=(
		"socket = \"$SOCK\";"
		"state_dir = \"$STATE\";"
		"nss_dir = \"$NSSD\";"
		"uid_min = 60000;"
		"uid_max = 60999;"
		"syslog = true;"
		"syslog_socket = \"$SYSLOG_SOCK\";"
	)
	if [ "$(id -u)" != 0 ]; then
		defaults+=("super_admin_groups = [ \"$(id -gn)\" ];")
	fi
	local line key extra skip
	{
		echo "# written by tests/lib.sh for $TEST_NAME"
		for line in "${defaults[@]}"; do
			key=${line%% *}
			skip=0
			for extra in "$@"; do
				if [[ $extra =~ ^[[:space:]]*${key}[[:space:]]*[=:] ]]; then skip=1; fi
			done
			[ "$skip" = 1 ] || echo "$line"
		done
		for extra in "$@"; do echo "$extra"; done
	} >"$CONF"
	chmod 0644 "$CONF" # the daemon refuses a config others may write
}

# A datagram sink for the daemon's syslog lines: one line per datagram.
_svca_start_syslog() {
	if [ -n "$_SVCA_SYSLOG_PID" ] && kill -0 "$_SVCA_SYSLOG_PID" 2>/dev/null; then
		return 0
	fi
	rm -f "$SYSLOG_SOCK"
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
' "$SYSLOG_SOCK" "$SYSLOG_LOG" </dev/null 2>>"$TMPD/syslog.err" &
	_SVCA_SYSLOG_PID=$!
	local i
	for i in $(seq 100); do
		[ -S "$SYSLOG_SOCK" ] && return 0
		kill -0 "$_SVCA_SYSLOG_PID" 2>/dev/null || break
		sleep 0.02
	done
	diag "the syslog sink did not start"
	diag_file "$TMPD/syslog.err"
	return 1
}

# Starts svcacctd on the existing TMPD/CONF and waits until it answers.
# Returns 1 (with daemon.log shown) when it does not come up.
start_daemon_reuse() {
	[ -n "$TMPD" ] || bail "start_daemon_reuse before start_daemon"
	if daemon_alive; then
		diag "start_daemon_reuse: a daemon is already running (pid $DAEMON_PID)"
		return 1
	fi
	_svca_start_syslog || return 1
	[ -x "$SVCACCTD" ] || { diag "no daemon binary: $SVCACCTD"; return 1; }
	_SVCA_DAEMON_EVER=1
	echo "=== $(date +%T.%N) start" >>"$DAEMON_LOG"
	"$SVCACCTD" -f -c "$CONF" </dev/null >>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	DAEMON_EXIT=""
	export DAEMON_PID
	local deadline i=0
	deadline=$(($(date +%s%N) / 1000000 + ${START_TIMEOUT:-5} * 1000))
	while :; do
		if ! daemon_alive; then
			wait "$DAEMON_PID" 2>/dev/null
			diag "svcacctd exited during startup (status $?)"
			show_daemon_log 40
			DAEMON_PID=""
			return 1
		fi
		if [ -S "$SOCK" ] &&
			timeout 5 $SVCACCTCTL -s "$SOCK" account list </dev/null >/dev/null 2>&1; then
			return 0
		fi
		if [ $(($(date +%s%N) / 1000000)) -ge "$deadline" ]; then
			diag "svcacctd did not answer on $SOCK within ${START_TIMEOUT:-5} s"
			show_daemon_log 40
			return 1
		fi
		i=$((i + 1))
		if [ "$i" -lt 20 ]; then sleep 0.01; else sleep 0.05; fi
	done
}

# start_daemon [CONFIG LINES...]: a fresh private instance.
start_daemon() {
	if [ -n "$TMPD" ]; then
		diag "start_daemon called twice; use start_daemon_reuse"
		return 1
	fi
	_svca_make_tmp
	_svca_write_conf "$@"
	start_daemon_reuse
}

# avail_kib: KiB free on the file system of the daemon's state directory.
avail_kib() { df -k --output=avail "$STATE" | tail -n 1 | tr -d ' '; }

# stop_daemon: SIGTERM, wait up to 10 s (30 s under ASan, or STOP_TIMEOUT),
# then print the daemon's thread stacks and SIGKILL.  DAEMON_EXIT gets
# the exit status (137 after SIGKILL).  Returns 1 unless it exited with 0
# or by the SIGTERM itself.
stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	local rc=0 st
	kill -TERM "$DAEMON_PID" 2>/dev/null
	kill -CONT "$DAEMON_PID" 2>/dev/null
	# A sanitized daemon also runs LeakSanitizer's scan at exit, which on a
	# loaded machine can take seconds: it gets 30 s, a plain one 10 s.
	local limit=${STOP_TIMEOUT:-$([ -n "${ASAN_OPTIONS:-}" ] && echo 30 || echo 10)}
	if ! wait_pid_gone "$DAEMON_PID" "$limit"; then
		diag "svcacctd (pid $DAEMON_PID) ignored SIGTERM for $limit s; killing it"
		# where it hangs, so the failure can be understood from the log
		if command -v gdb >/dev/null 2>&1; then
			timeout 20 gdb -p "$DAEMON_PID" -batch -ex 'thread apply all bt' 2>/dev/null |
				grep -E '^(Thread|#)' | head -n 80 | diag
		fi
		grep -E '^(State|Threads):' "/proc/$DAEMON_PID/status" 2>/dev/null | diag
		kill -KILL "$DAEMON_PID" 2>/dev/null
		rc=1
	fi
	wait "$DAEMON_PID" 2>/dev/null
	st=$?
	DAEMON_EXIT=$st
	if [ "$st" != 0 ] && [ "$st" != 143 ]; then
		_SVCA_BAD_EXITS="$_SVCA_BAD_EXITS $st"
		diag "svcacctd exited with status $st after SIGTERM"
		rc=1
	fi
	DAEMON_PID=""
	return "$rc"
}

kill9_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	kill -KILL "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_EXIT=$?
	DAEMON_PID=""
}

restart_daemon() {
	stop_daemon
	start_daemon_reuse
}

_SVCA_SAN_RE='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Undefined)BehaviorSanitizer|SUMMARY: AddressSanitizer'

_svca_cleanup() {
	local rc=$? p
	trap - EXIT INT TERM HUP
	trap '' PIPE
	if [ "$_SVCA_DAEMON_EVER" = 1 ]; then
		local bad=""
		if [ -n "$DAEMON_PID" ]; then
			stop_daemon || bad="did not stop cleanly on SIGTERM (status $DAEMON_EXIT)"
		elif [ -n "$_SVCA_BAD_EXITS" ]; then
			bad="exit status after SIGTERM:$_SVCA_BAD_EXITS"
		fi
		if [ -f "$DAEMON_LOG" ] && grep -qE "$_SVCA_SAN_RE" "$DAEMON_LOG"; then
			bad="${bad:+$bad; }sanitizer report in daemon.log"
			if tail -c +"$((_SVCA_LOG_SHOWN + 1))" "$DAEMON_LOG" | grep -qE "$_SVCA_SAN_RE"; then
				diag "--- sanitizer report in daemon.log:"
				tail -c +"$((_SVCA_LOG_SHOWN + 1))" "$DAEMON_LOG" |
					grep -E -A14 "$_SVCA_SAN_RE" | head -n 60 | diag
				_SVCA_LOG_SHOWN=$(stat -c %s "$DAEMON_LOG")
			fi
		fi
		if [ -n "$bad" ]; then not_ok "daemon shut down cleanly: $bad"; else ok "daemon shut down cleanly"; fi
	fi
	for p in "${_SVCA_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	if [ -n "$_SVCA_SYSLOG_PID" ]; then
		kill -KILL "$_SVCA_SYSLOG_PID" 2>/dev/null
		wait "$_SVCA_SYSLOG_PID" 2>/dev/null
	fi
	if [ -n "$TMPD" ] && [ -d "$TMPD" ]; then
		if [ "$_SVCA_FAILS" -gt 0 ] || [ "$rc" != 0 ]; then
			show_daemon_log 30
		fi
		if [ "${KEEP_TMP:-0}" = 1 ]; then
			diag "kept $TMPD"
		else
			rm -rf "$TMPD"
		fi
	fi
	if [ "$_SVCA_FAILS" -gt 0 ] && [ "$rc" = 0 ]; then rc=1; fi
	exit "$rc"
}

trap _svca_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

if [ ! -x "$SVCACCTCTL" ] || [ ! -x "$SVCACCTD" ]; then
	bail "binaries present in $SVCACCT_BUILD (svcacctd, svcacctctl)"
fi
