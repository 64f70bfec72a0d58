#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Overload and abuse on the native socket (DESIGN.md section 5), bounded in
# count and time (tests/faults/overload.py; t_garbage.sh has the malformed
# frames, t_http_load.sh the HTTP front):
#   - 1,000 idle connections (max_clients 1024): all kept, legitimate
#     requests answered within 1 s meanwhile, all dropped at the client
#     deadline; again with max_clients = 512: 512 kept, the rest refused at
#     once, and a legitimate request works once they are gone;
#   - 50 slow-loris senders trickling a byte every 150 ms: dropped at their
#     deadline, legitimate requests answered meanwhile;
#   - frames at the size caps (64 KiB; 4 KiB unauthenticated) and one byte
#     over, a header announcing 4 GiB, 64 KiB of garbage, 100 full-size
#     frames at once, 300 half-sent full-size frames;
#   - a flood of wrong secrets for one key id: the lockout engages for that
#     caller and key id; another account's key from the same caller, and
#     the right key from another uid (nobody), still work;
#   - a flood of token exchanges from one uid: 10 issued (rate_limit_count),
#     then the rate limit engages; an exchange as nobody still works;
#   - 300 connections against a file-descriptor limit of 128 (below
#     max_clients, as with systemd's default soft limit of 1024 and the
#     default max_clients of 1024): no busy loop, no log flood.
# The daemon stays up, its VmRSS stays bounded, the audit chain verifies,
# and the script prints what it threw and what got through.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/cred_lib.sh"

OVL=$TESTS_DIR/faults/overload.py
export CLIENT_TIMEOUT_MS=2000
start_daemon "rate_limit_count = 1000;" "client_timeout_ms = $CLIENT_TIMEOUT_MS;" ||
	bail "daemon starts"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$DAEMON_PID/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$DAEMON_PID/stat"; }
fd_count() { ls "/proc/$DAEMON_PID/fd" 2>/dev/null | wc -l; }
SUMMARY="$TMPD/summary"
: >"$SUMMARY"
# phase ARGS...: overload.py's checks; its "# threw" line goes to the summary
# (AS="setpriv ... --": as another caller)
phase() {
	run_tap ${AS:-} "$PY" "$OVL" "$SOCK" "$@" | tee "$TMPD/phase.log"
	grep '^# threw' "$TMPD/phase.log" >>"$SUMMARY" || echo "# $1: (no summary)" >>"$SUMMARY"
	daemon_alive || bail "the daemon is alive after: $1"
}
# reload LINES...: rewrites the configuration and waits for the reload
reload() {
	local n0 i
	rewrite_conf "$@"
	n0=$(grep -c 'configuration reloaded' "$DAEMON_LOG")
	kill -HUP "$DAEMON_PID"
	for i in $(seq 100); do
		[ "$(grep -c 'configuration reloaded' "$DAEMON_LOG")" -gt "$n0" ] && return 0
		sleep 0.05
	done
	not_ok "reload ($*)"
	return 1
}

# ==============================================================================
diag "set-up"
for a in victim other flood nob; do
	$CTL account create "$a" </dev/null >/dev/null 2>&1 || bail "account create $a"
done
key_create victim || bail "key create victim"
KV=$KEY KVID=$KEYID
key_create other || bail "key create other"
KO=$KEY
key_create flood || bail "key create flood"
KF=$KEY
key_create nob || bail "key create nob"
KN=$KEY
for i in $(seq 20); do $CTL account list </dev/null >/dev/null 2>&1; done # warm up
fds0=$(fd_count)
rss0=$(rss_kib)
diag "VmRSS before: $rss0 KiB; fds: $fds0"

# ==============================================================================
diag "1,000 idle connections (max_clients 1024)"
phase idle 1000 1000 ok
reload "rate_limit_count = 1000;" "client_timeout_ms = $CLIENT_TIMEOUT_MS;" "max_clients = 512;"
diag "1,000 idle connections (max_clients 512)"
phase idle 1000 512 refused
if grep -q 'max_clients (512) reached' "$DAEMON_LOG"; then ok "the refusals are logged (max_clients reached)"; else not_ok "the refusals are logged (max_clients reached)"; fi
reload "rate_limit_count = 1000;" "client_timeout_ms = $CLIENT_TIMEOUT_MS;"

diag "slow-loris senders"
phase loris 50

diag "frame sizes, garbage"
phase frames

# ==============================================================================
diag "a flood of wrong secrets for one key id (lockout_threshold 5)"
phase lockout "$KVID" "$KV" "$KO" 40
n=$(audit_count key.lockout)
if [ "$n" = 1 ]; then ok "one key.lockout audit event"; else not_ok "one key.lockout audit event ($n)"; fi
xchg_as_nobody 0 "$KV" && ok "the right key for $KVID from another uid (nobody) still works" ||
	not_ok "the right key for $KVID from another uid (nobody) still works"
echo "# threw: (after the lockout) the locked key id from nobody; got through: $([ "$RC" = 0 ] && echo yes || echo no)" >>"$SUMMARY"

diag "a flood of token exchanges from one uid, 4242 (rate_limit_count 10 per 10 s)"
reload "client_timeout_ms = $CLIENT_TIMEOUT_MS;"
AS="setpriv --reuid=4242 --regid=4242 --clear-groups --" phase ratelimit "$KF" 40 10
xchg_as_nobody 0 "$KN" && ok "an exchange as nobody still works" || not_ok "an exchange as nobody still works ($ERR)"
echo "# threw: an exchange as nobody during the flood; got through: $([ "$RC" = 0 ] && echo yes || echo no)" >>"$SUMMARY"

# ==============================================================================
diag "300 connections against a file-descriptor limit of 128"
if prlimit --pid "$DAEMON_PID" --nofile=128: 2>/dev/null; then
	l0=$(wc -l <"$DAEMON_LOG")
	c0=$(cpu_ticks)
	t0=$(now)
	phase idle 300 -1 any
	secs=$(awk "BEGIN { printf \"%.2f\", $(now) - $t0 }")
	cpu=$(awk "BEGIN { printf \"%.2f\", ($(cpu_ticks) - $c0) / $(getconf CLK_TCK) }")
	lines=$(($(wc -l <"$DAEMON_LOG") - l0))
	prlimit --pid "$DAEMON_PID" --nofile=4096: 2>/dev/null
	if awk "BEGIN { exit !($cpu < 0.5) }"; then
		ok "out of file descriptors: no busy loop (the daemon used $cpu s of CPU in $secs s)"
	else
		not_ok "out of file descriptors: no busy loop (the daemon used $cpu s of CPU in $secs s)"
	fi
	if [ "$lines" -le 20 ]; then
		ok "out of file descriptors: $lines log line(s)"
	else
		not_ok "out of file descriptors: no log flood ($lines lines, e.g. '$(tail -n 1 "$DAEMON_LOG")')"
	fi
else
	not_ok "prlimit --pid on the daemon"
fi

# ==============================================================================
diag "afterwards"
daemon_alive && ok "the daemon is alive" || bail "the daemon is alive"
check -d "account list" $CTL account list
check -d "audit verify" $CTL audit verify
fds1=$(fd_count)
for _ in $(seq 50); do
	[ "$fds1" -le $((fds0 + 3)) ] && break
	sleep 0.1
	fds1=$(fd_count)
done
if [ "$fds1" -le $((fds0 + 3)) ]; then ok "every connection is closed again (fds: $fds0 before, $fds1 after)"; else not_ok "every connection is closed again (fds: $fds0 before, $fds1 after)"; fi
rss1=$(rss_kib)
hwm=$(hwm_kib)
limit=$((32 * 1024))
is_asan_build && limit=$((256 * 1024)) # ASan keeps freed memory in quarantine
growth=$((rss1 - rss0))
if [ "$growth" -lt "$limit" ]; then
	ok "VmRSS bounded: $rss0 KiB before, $rss1 KiB after (+$growth KiB, limit +$limit KiB; peak $hwm KiB)"
else
	not_ok "VmRSS bounded: $rss0 KiB before, $rss1 KiB after (+$growth KiB, limit +$limit KiB; peak $hwm KiB)"
fi
diag "summary:"
diag <"$SUMMARY"
