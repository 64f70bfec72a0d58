#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# systemd readiness (svcacctd(8) "SYSTEMD"; Type=notify units): with
# NOTIFY_SOCKET (a datagram listener in the test dir, then an abstract
# "@name") and WATCHDOG_USEC=500000, svcacctd sends READY=1 only once its
# sockets listen, with STATUS=; WATCHDOG=1 repeats every 250 ms from the
# loop; STOPPING=1 at SIGTERM.  A start that fails sends no READY=1; a
# NOTIFY_SOCKET nobody listens on does not stop the daemon.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/http/http_lib.sh"

# listen ADDR LOG: one line per datagram ("seconds message", newlines as
# "|"); on READY=1 also "CHECK sockets=ok|no": whether the native and the
# HTTP socket accepted a connection at that moment.
listen() {
	"$PY" -c '
import socket, sys, time
addr, log, socks = sys.argv[1], sys.argv[2], sys.argv[3:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
t0 = time.monotonic()
with open(log, "a", buffering=1) as f:
    f.write("LISTENING\n")
    while True:
        d = s.recv(4096).decode("utf-8", "replace")
        f.write("%.3f %s\n" % (time.monotonic() - t0, d.replace("\n", "|")))
        if "READY=1" in d.split("\n"):
            ok = True
            for p in socks:
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    c.connect(p)
                except OSError:
                    ok = False
                c.close()
            f.write("CHECK sockets=%s\n" % ("ok" if ok else "no"))
' "$1" "$2" "$SOCK" "$HSOCK" </dev/null 2>>"$TMPD/listen.err" &
	track_pid $!
	local _
	for _ in $(seq 100); do
		grep -q LISTENING "$2" 2>/dev/null && return 0
		sleep 0.02
	done
	diag "the notify listener did not start"
	diag_file "$TMPD/listen.err"
	return 1
}
count() { grep -c -- "$1" "$2" 2>/dev/null || true; }

_svca_make_tmp
HSOCK="$TMPD/http.sock"
RD="$TMPD/responses"
mkdir -p "$RD"
export HSOCK RD
_svca_write_conf "http_socket = \"$HSOCK\";"
NLOG="$TMPD/notify.log"
listen "$TMPD/notify.sock" "$NLOG" || bail "notify listener"

export NOTIFY_SOCKET="$TMPD/notify.sock" WATCHDOG_USEC=500000
start_daemon_reuse || bail "svcacctd starts with NOTIFY_SOCKET and WATCHDOG_USEC"
unset NOTIFY_SOCKET WATCHDOG_USEC
check -d "account a-one created" $CTL account create a-one

for _ in $(seq 100); do [ "$(count CHECK "$NLOG")" -ge 1 ] && break; sleep 0.05; done
if [ "$(count '|*READY=1' "$NLOG")" = 1 ] && grep -q '^CHECK sockets=ok$' "$NLOG"; then
	ok "READY=1 once, when the native and the HTTP sockets already listen"
else
	not_ok "READY=1 once, when the native and the HTTP sockets already listen"
	diag_file "$NLOG" 20
fi
if grep -E 'READY=1\|.*STATUS=standalone: serving, 0 accounts' "$NLOG" >/dev/null &&
	grep -E "MAINPID=$DAEMON_PID(\||$)" "$NLOG" >/dev/null; then
	ok "READY=1 comes with STATUS= (mode, accounts) and MAINPID= the daemon's pid"
else
	not_ok "READY=1 comes with STATUS= (mode, accounts) and MAINPID= the daemon's pid"
	diag_file "$NLOG" 5
fi
w0=$(count ' WATCHDOG=1$' "$NLOG")
sleep 2.5
w1=$(count ' WATCHDOG=1$' "$NLOG")
# 250 ms apart: ~10 in 2.5 s; at least 4 on a loaded machine, at most 20
if [ "$((w1 - w0))" -ge 4 ] && [ "$((w1 - w0))" -le 20 ]; then
	ok "WATCHDOG=1 repeats every WATCHDOG_USEC/2 ($((w1 - w0)) in 2.5 s)"
else
	not_ok "WATCHDOG=1 repeats every WATCHDOG_USEC/2 ($((w1 - w0)) in 2.5 s, want 4..20)"
fi
first_wd=$(grep -n ' WATCHDOG=1$' "$NLOG" | head -n 1 | cut -d: -f1)
ready_at=$(grep -n 'READY=1' "$NLOG" | head -n 1 | cut -d: -f1)
[ -n "$first_wd" ] && [ -n "$ready_at" ] && [ "$first_wd" -gt "$ready_at" ] &&
	ok "no WATCHDOG=1 before READY=1" || not_ok "no WATCHDOG=1 before READY=1"

# A second instance on the same state fails to start: no READY=1 from it.
NOTIFY_SOCKET="$TMPD/notify.sock" timeout 10 "$SVCACCTD" -f -c "$CONF" </dev/null \
	>"$TMPD/second.log" 2>&1
rc=$?
sleep 0.3
if [ "$rc" != 0 ] && [ "$(count '|*READY=1' "$NLOG")" = 1 ]; then
	ok "a start that fails (state locked, exit $rc) sends no READY=1"
else
	not_ok "a start that fails (state locked) sends no READY=1 (exit $rc)"
fi

stop_daemon && ok "SIGTERM: the daemon stops cleanly" || not_ok "SIGTERM: the daemon stops cleanly"
sleep 0.3
if grep -qE 'STOPPING=1' "$NLOG" && [ "$(tail -n 1 "$NLOG" | grep -c STOPPING=1)" = 1 ]; then
	ok "STOPPING=1 at SIGTERM, the last message"
else
	not_ok "STOPPING=1 at SIGTERM, the last message"
	tail -n 3 "$NLOG" | diag
fi

# ---- an abstract socket name --------------------------------------------------------

ALOG="$TMPD/abstract.log"
ANAME="@svcacct-test-notify-$$"
listen "$ANAME" "$ALOG" || bail "abstract notify listener"
export NOTIFY_SOCKET="$ANAME"
start_daemon_reuse || bail "svcacctd starts with an abstract NOTIFY_SOCKET"
unset NOTIFY_SOCKET
for _ in $(seq 100); do [ "$(count CHECK "$ALOG")" -ge 1 ] && break; sleep 0.05; done
if grep -q '^CHECK sockets=ok$' "$ALOG" && grep -q 'STATUS=standalone: serving, 1 accounts' "$ALOG"; then
	ok "abstract NOTIFY_SOCKET ($ANAME): READY=1 and STATUS= (1 account) arrive"
else
	not_ok "abstract NOTIFY_SOCKET ($ANAME): READY=1 and STATUS= (1 account) arrive"
	diag_file "$ALOG" 5
fi
if ! grep -q WATCHDOG "$ALOG"; then ok "no WATCHDOG_USEC: no WATCHDOG=1"; else not_ok "no WATCHDOG_USEC: no WATCHDOG=1"; fi
stop_daemon

# ---- nobody listening -------------------------------------------------------------------

for dead in "$TMPD/nobody-here.sock" "relative.sock"; do
	export NOTIFY_SOCKET="$dead" WATCHDOG_USEC=200000
	if start_daemon_reuse && sleep 0.5 && daemon_alive &&
		expect_exit 0 $CTL account list; then
		ok "NOTIFY_SOCKET=$dead (nobody there): the daemon starts and serves"
	else
		not_ok "NOTIFY_SOCKET=$dead (nobody there): the daemon starts and serves"
	fi
	unset NOTIFY_SOCKET WATCHDOG_USEC
	n=$(grep -c "NOTIFY_SOCKET $dead" "$DAEMON_LOG" || true)
	[ "$n" = 1 ] && ok "NOTIFY_SOCKET=$dead: one warning in the log, not one per message" ||
		not_ok "NOTIFY_SOCKET=$dead: one warning in the log, not one per message (got $n)"
	stop_daemon && ok "NOTIFY_SOCKET=$dead: the daemon stops cleanly" ||
		not_ok "NOTIFY_SOCKET=$dead: the daemon stops cleanly"
done
