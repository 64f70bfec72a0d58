#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Privileges and process hygiene (DESIGN.md sections 4 and 6):
#   - the configuration file: svcacctd -t, a start and a reload refuse one
#     that group or others may write, or that belongs to a user other than
#     root or the daemon's own, with a message that says how to fix it;
#   - state_dir, the pepper and the signing-key file: refused when others
#     may write (read) them or they belong to another user;
#   - the daemon's umask: every file it creates in state_dir is 0600, a
#     state_dir it creates is 0711;
#   - PR_SET_DUMPABLE 0: with the daemon running as nobody, another process
#     of the same uid cannot read its /proc/PID/environ or /proc/PID/mem
#     (positive control for environ: it can for an ordinary process of that
#     uid; /proc/PID/mem may also be closed by Yama's ptrace_scope);
#     RLIMIT_CORE is 0 (soft and hard).
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/cred_lib.sh"

start_daemon || bail "daemon starts"
check $CTL account create ci
key=$($CTL key create ci 2>/dev/null </dev/null | tail -n 1)
[ -n "$key" ] || not_ok "key create ci"
check $CTL account update ci --description "files"
stop_daemon || not_ok "the daemon stops"

# ==============================================================================
diag "the configuration file"
# refused_conf DESC PATTERN: svcacctd -t and a start refuse $CONF with PATTERN
refused_conf() {
	local desc=$1 pat=$2
	if expect_exit 1 "$SVCACCTD" -t -c "$CONF" && [[ $OUT$ERR =~ $pat ]]; then
		ok "svcacctd -t refuses a config $desc: $(printf '%s\n' "$OUT$ERR" | grep -E "$pat" | head -n 1)"
	else
		not_ok "svcacctd -t refuses a config $desc (exit $RC: ${ERR:0:200})"
	fi
	if expect_exit 1 timeout 10 "$SVCACCTD" -f -c "$CONF" && [[ $ERR =~ $pat ]]; then
		ok "svcacctd does not start with a config $desc"
	else
		not_ok "svcacctd does not start with a config $desc (exit $RC)"
	fi
}
chmod 0666 "$CONF"
refused_conf "writable by others (0666)" "$CONF: writable by others \\(mode 0666\\); run chmod 644 $CONF"
chmod 0620 "$CONF"
refused_conf "writable by its group (0620)" "$CONF: writable by its group \\(mode 0620\\); run chmod 644 $CONF"
chmod 0644 "$CONF"
if [ "$(id -u)" = 0 ]; then
	chown 4242 "$CONF"
	refused_conf "owned by uid 4242" "$CONF: owned by uid 4242, not by root or the daemon's uid 0"
	chown 0 "$CONF"
fi
check -d "svcacctd -t accepts a root-owned config, mode 0644" "$SVCACCTD" -t -c "$CONF"
chmod 0600 "$CONF"
check -d "svcacctd -t accepts a root-owned config, mode 0600" "$SVCACCTD" -t -c "$CONF"
chmod 0644 "$CONF"
if [ "$(id -u)" = 0 ]; then
	cp "$CONF" "$TMPD/nobody.conf"
	chown 65534 "$TMPD/nobody.conf"
	check -d "svcacctd -t as nobody accepts a config nobody owns" run_as_nobody "$SVCACCTD" -t -c "$TMPD/nobody.conf"
	chown 4242 "$TMPD/nobody.conf"
	check_exit 1 -d "svcacctd -t as nobody refuses a config uid 4242 owns" run_as_nobody "$SVCACCTD" -t -c "$TMPD/nobody.conf"
fi

start_daemon_reuse || bail "the daemon starts again"
chmod 0666 "$CONF"
n0=$(grep -c 'keeping the running configuration' "$DAEMON_LOG")
kill -HUP "$DAEMON_PID"
for _ in $(seq 100); do [ "$(grep -c 'keeping the running configuration' "$DAEMON_LOG")" -gt "$n0" ] && break; sleep 0.05; done
if [ "$(grep -c 'keeping the running configuration' "$DAEMON_LOG")" -gt "$n0" ] && grep -q "writable by others (mode 0666)" "$DAEMON_LOG"; then
	ok "a reload with a world-writable config is refused; the running configuration stays"
else
	not_ok "a reload with a world-writable config is refused"
fi
chmod 0644 "$CONF"
check -d "the daemon still serves after the refused reload" $CTL account show ci
stop_daemon || not_ok "the daemon stops"

# ==============================================================================
diag "files the daemon creates"
bad=$(find "$STATE" -type f ! -perm 0600 -printf '%m %f\n')
n=$(find "$STATE" -type f | wc -l)
if [ -z "$bad" ] && [ "$n" -ge 6 ]; then
	ok "all $n files in state_dir are mode 0600 ($(find "$STATE" -type f -printf '%f ' | sort))"
else
	not_ok "all files in state_dir are mode 0600: $bad"
fi
bad=$(find "$STATE" -type f ! -user "$(id -u)" -printf '%u %f\n')
[ -z "$bad" ] && ok "and owned by the daemon's user" || not_ok "files in state_dir owned by the daemon's user: $bad"
rm -rf "$TMPD/fresh"
rewrite_conf "state_dir = \"$TMPD/fresh\";"
start_daemon_reuse || bail "the daemon starts with a state_dir it must create"
m=$(stat -c %a "$TMPD/fresh")
[ "$m" = 711 ] && ok "a state_dir the daemon creates is mode 0711" || not_ok "a state_dir the daemon creates is mode 0711 ($m)"
bad=$(find "$TMPD/fresh" -type f ! -perm 0600 -printf '%m %f\n')
[ -z "$bad" ] && ok "the files of a fresh state_dir are 0600" || not_ok "the files of a fresh state_dir are 0600: $bad"
stop_daemon || not_ok "the daemon stops"

# ==============================================================================
diag "state_dir and secret files that others can reach"
# refused_start DESC PATTERN: the daemon does not start, and says PATTERN
refused_start() {
	if expect_exit 1 timeout 10 "$SVCACCTD" -f -c "$CONF" && [[ $ERR =~ $2 ]]; then
		ok "no start with $1: $(printf '%s\n' "$ERR" | grep -E "$2" | head -n 1 | sed 's/^svcacctd: //')"
	else
		not_ok "no start with $1 (exit $RC: ${ERR:0:200})"
	fi
}
rewrite_conf
chmod 0777 "$STATE"
refused_start "a world-writable state_dir" "writable by group or others \\(mode 0777\\)"
chmod 0700 "$STATE"
if [ "$(id -u)" = 0 ]; then
	chown 4242 "$STATE"
	refused_start "a state_dir owned by uid 4242" "owned by uid 4242"
	chown 0 "$STATE"
fi
chmod 0644 "$STATE/pepper"
refused_start "a pepper file readable by others" "pepper is accessible by group or others \\(mode 0644\\)"
chmod 0600 "$STATE/pepper"
chmod 0640 "$STATE/signing.keys"
refused_start "a signing-key file readable by its group" "signing.keys is accessible by group or others \\(mode 0640\\)"
chmod 0600 "$STATE/signing.keys"
if [ "$(id -u)" = 0 ]; then
	chown 4242 "$STATE/pepper"
	refused_start "a pepper file owned by uid 4242" "pepper is owned by uid 4242"
	chown 0 "$STATE/pepper"
fi
start_daemon_reuse && ok "with the modes fixed the daemon starts" || bail "with the modes fixed the daemon starts"
check -d "the state is intact" $CTL account show ci
stop_daemon || not_ok "the daemon stops"

# ==============================================================================
diag "a daemon running as nobody: no core dumps, not dumpable"
if [ "$(id -u)" != 0 ]; then
	not_ok "this part needs root (to run the daemon as nobody)"
	exit 1
fi
NB=$TMPD/nb
mkdir -m 0755 "$NB"
mkdir -m 0700 "$NB/state" "$NB/run"
mkdir -m 0755 "$NB/nss"
chown 65534:65534 "$NB/state" "$NB/run" "$NB/nss"
chmod 0755 "$NB/run"
cat >"$NB/svcacctd.conf" <<EOF
socket = "$NB/run/svcacctd.sock";
state_dir = "$NB/state";
nss_dir = "$NB/nss";
syslog = false;
EOF
chmod 0644 "$NB/svcacctd.conf"
NB_SECRET="svcacct-environ-canary-$$"
env SVCA_CANARY="$NB_SECRET" setpriv --reuid=65534 --regid=65534 --clear-groups -- \
	"$SVCACCTD" -f -c "$NB/svcacctd.conf" </dev/null >"$NB/daemon.log" 2>&1 &
NBPID=$!
track_pid "$NBPID"
for _ in $(seq 100); do
	[ -S "$NB/run/svcacctd.sock" ] && break
	kill -0 "$NBPID" 2>/dev/null || break
	sleep 0.05
done
if [ -S "$NB/run/svcacctd.sock" ] && [ "$(awk '/^Uid:/ { print $2 }' "/proc/$NBPID/status")" = 65534 ]; then
	ok "svcacctd runs as nobody (pid $NBPID) with a root-owned config"
else
	diag_file "$NB/daemon.log"
	bail "svcacctd runs as nobody"
fi
# positive control: an ordinary process of nobody is readable by nobody
env SVCA_CANARY="$NB_SECRET" setpriv --reuid=65534 --regid=65534 --clear-groups -- sleep 30 </dev/null &
CTLPID=$!
track_pid "$CTLPID"
sleep 0.2
if run_as_nobody cat "/proc/$CTLPID/environ" 2>/dev/null | tr '\0' '\n' | grep -q "$NB_SECRET"; then
	ok "control: nobody reads the environment of an ordinary nobody process"
else
	not_ok "control: nobody reads the environment of an ordinary nobody process"
fi
kill "$CTLPID" 2>/dev/null
if run_as_nobody cat "/proc/$NBPID/environ" >/dev/null 2>"$TMPD/environ.err"; then
	not_ok "another nobody process cannot read the daemon's /proc/PID/environ"
else
	ok "another nobody process cannot read the daemon's /proc/PID/environ ($(sed 's/^cat: //' "$TMPD/environ.err"))"
fi
if run_as_nobody "$PY" -c '
import sys
f = open("/proc/%s/mem" % sys.argv[1], "rb")
for line in open("/proc/%s/maps" % sys.argv[1]):
    lo = int(line.split("-")[0], 16)
    f.seek(lo)
    f.read(16)
    break
' "$NBPID" 2>"$TMPD/mem.err"; then
	not_ok "another nobody process cannot read the daemon's /proc/PID/mem"
else
	ok "another nobody process cannot read the daemon's /proc/PID/mem ($(tail -n 1 "$TMPD/mem.err"))"
fi
o=$(stat -c '%U' "/proc/$NBPID/environ")
[ "$o" = root ] && ok "its /proc files belong to root (not dumpable)" || not_ok "its /proc files belong to root (they belong to $o)"
if grep -Eq '^Max core file size +0 +0 ' "/proc/$NBPID/limits"; then
	ok "its core file size limit is 0 (soft and hard)"
else
	not_ok "its core file size limit is 0: $(grep -i core "/proc/$NBPID/limits")"
fi
bad=$(find "$NB/state" -type f \( ! -perm 0600 -o ! -user 65534 \) -printf '%m %u %f\n')
[ -z "$bad" ] && ok "its state files are 0600 and owned by nobody" || not_ok "its state files are 0600 and owned by nobody: $bad"
kill -TERM "$NBPID"
if wait_pid_gone "$NBPID" 10; then
	wait "$NBPID"
	rc=$?
	[ "$rc" = 0 ] && ok "the nobody daemon stops cleanly" || not_ok "the nobody daemon stops cleanly (status $rc)"
else
	not_ok "the nobody daemon stops on SIGTERM"
fi
if grep -qE "$_SVCA_SAN_RE" "$NB/daemon.log"; then not_ok "no sanitizer report (nobody daemon)"; diag_file "$NB/daemon.log"; fi
