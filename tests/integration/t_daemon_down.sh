#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# svcacctctl when the daemon is down, gone, stale or frozen: exit 5
# ("daemon unreachable", DESIGN.md section 8), never success and never
# "not found", with a message that names the socket.
. "$(dirname "$0")/../lib.sh"

# How long a frozen daemon may keep svcacctctl waiting before it gives up.
FROZEN_MAX=${FROZEN_MAX:-35}

# expect_down DESC CMD...: exit 5, stderr names $DOWN_PATH.
expect_down() {
	local desc=$1
	shift
	if ! expect_exit 5 "$@"; then
		not_ok "$desc: exit 5"
		return
	fi
	if [[ $ERR == *"$DOWN_PATH"* ]]; then
		ok "$desc: exit 5, message names the socket"
	else
		not_ok "$desc: exit 5, message names the socket"
		diag "stderr: $ERR"
	fi
}

start_daemon || bail "daemon starts"

# ---- no daemon at that path -------------------------------------------------
DOWN_PATH="$TMPD/nothing-here.sock"
expect_down "no socket file" $SVCACCTCTL -s "$DOWN_PATH" account list
expect_down "no socket file, account show" $SVCACCTCTL -s "$DOWN_PATH" account show somebody
expect_down "no socket file, account create" $SVCACCTCTL -s "$DOWN_PATH" account create somebody
expect_down "no socket file, audit verify" $SVCACCTCTL -s "$DOWN_PATH" audit verify
expect_down "SVCACCT_SOCKET names the socket" env SVCACCT_SOCKET="$DOWN_PATH" $SVCACCTCTL account list

# ---- a stale socket: a file nobody listens on ----------------------------------
DOWN_PATH="$TMPD/stale.sock"
"$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
' "$DOWN_PATH"
if [ -S "$DOWN_PATH" ]; then
	expect_down "stale socket (nobody listening)" $SVCACCTCTL -s "$DOWN_PATH" account list
else
	not_ok "stale socket could be made at $DOWN_PATH"
fi

# ---- not a socket --------------------------------------------------------------
DOWN_PATH="$TMPD/plain-file"
echo hello >"$DOWN_PATH"
expect_down "path is a regular file" $SVCACCTCTL -s "$DOWN_PATH" account list

# ---- something that is not svcacctd listens --------------------------------------
# close: accepts and closes at once; junk: answers with bytes that are not
# a frame; badreply: a reply header announcing more than it sends.
fake_server() { # MODE PATH
	"$PY" -c '
import os, socket, sys, threading, time
mode, path = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(16)
def serve(c):
    try:
        c.settimeout(2)
        try:
            c.recv(65536)
        except OSError:
            pass
        if mode == "junk":
            c.sendall(b"HTTP/1.0 200 OK\r\n\r\nhello\n")
        elif mode == "badreply":
            c.sendall(bytes.fromhex("53564341 0001 0000 00000100 00000000".replace(" ", "")) + b"\x00\x03")
    finally:
        c.close()
while True:
    c, _ = s.accept()
    if mode == "close":
        c.close()
    else:
        threading.Thread(target=serve, args=(c,), daemon=True).start()
' "$1" "$2" </dev/null >/dev/null 2>&1 &
	track_pid $!
	for _ in $(seq 100); do [ -S "$2" ] && return 0; sleep 0.02; done
	return 1
}

DOWN_PATH="$TMPD/closer.sock"
fake_server close "$DOWN_PATH" || bail "fake server starts"
expect_down "server closes without answering" $SVCACCTCTL -s "$DOWN_PATH" account show somebody
DOWN_PATH="$TMPD/junk.sock"
fake_server junk "$DOWN_PATH" || bail "fake server starts"
expect_exit 5 timeout 20 $SVCACCTCTL -s "$DOWN_PATH" account show somebody
if [ "$RC" != 0 ] && [ "$RC" != 4 ] && [ "$RC" != 124 ]; then
	ok "server answers junk: neither success nor not-found (exit $RC)"
else
	not_ok "server answers junk: neither success nor not-found (exit $RC)"
fi
DOWN_PATH="$TMPD/badreply.sock"
fake_server badreply "$DOWN_PATH" || bail "fake server starts"
expect_exit 5 timeout 20 $SVCACCTCTL -s "$DOWN_PATH" account list
if [ "$RC" != 0 ] && [ "$RC" != 4 ] && [ "$RC" != 124 ]; then
	ok "server sends a truncated reply: neither success nor not-found (exit $RC)"
else
	not_ok "server sends a truncated reply: neither success nor not-found (exit $RC)"
fi

# ---- the daemon goes away mid-test -------------------------------------------
DOWN_PATH="$SOCK"
check -d "daemon up: account create" $CTL account create downtest
stop_daemon
expect_down "daemon stopped (SIGTERM)" $CTL account list
expect_down "daemon stopped, account show of an existing account" $CTL account show downtest

start_daemon_reuse || bail "daemon starts again"
check -d "daemon back: account show" $CTL account show downtest
kill9_daemon
expect_down "daemon killed (SIGKILL)" $CTL account list
expect_down "daemon killed, account show of an existing account" $CTL account show downtest

# ---- a frozen daemon: connect works, no answer ---------------------------------
start_daemon_reuse || bail "daemon starts again"
kill -STOP "$DAEMON_PID"
t0=$(date +%s)
expect_exit 5 timeout "$((FROZEN_MAX + 10))" $CTL account show downtest
rc=$RC
secs=$(($(date +%s) - t0))
kill -CONT "$DAEMON_PID"
if [ "$rc" = 5 ] && [ "$secs" -le "$FROZEN_MAX" ]; then
	ok "frozen daemon (SIGSTOP): exit 5 after $secs s"
else
	not_ok "frozen daemon (SIGSTOP): exit 5 within $FROZEN_MAX s (got exit $rc after $secs s)"
fi
if [[ $ERR == *"$SOCK"* ]]; then
	ok "frozen daemon: message names the socket"
else
	not_ok "frozen daemon: message names the socket"
	diag "stderr: $ERR"
fi
# thawed, it serves again (the abandoned request does not wedge it)
if expect_exit 0 timeout 10 $CTL account show downtest; then
	ok "daemon serves again after SIGCONT"
else
	not_ok "daemon serves again after SIGCONT"
fi
