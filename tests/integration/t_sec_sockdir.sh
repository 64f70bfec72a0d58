#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Socket directories (issue 14, finding 8): svcacctd refuses to put its
# sockets (socket, http_socket) in a directory that others than root or
# its own user may write to, such as a sticky world-writable one like
# /tmp: another user could bind the name first (and keep the daemon from
# starting) or later swap the socket.  It exits non-zero at once with a
# message naming the directory and what to do; a listener nobody put
# there is left alone.  A proper directory (root, 0755) works.
. "$(dirname "$0")/../lib.sh"

_svca_make_tmp
SHARED="$TMPD/shared"
mkdir -m 1777 "$SHARED"
chmod 1777 "$SHARED"

# refused DESC DIR-IN-MESSAGE WORD CONFIG-LINES...: the daemon exits non-zero
# within 5 s and names the directory; WORD is a part of the reason
refused() {
	local desc=$1 dir=$2 word=$3 t0 secs rc
	shift 3
	_svca_write_conf "$@"
	t0=$(now)
	timeout 8 "$SVCACCTD" -f -c "$CONF" </dev/null >"$TMPD/start.out" 2>"$TMPD/start.err"
	rc=$?
	secs=$(awk "BEGIN { printf \"%.2f\", $(now) - $t0 }")
	if [ "$rc" != 0 ] && [ "$rc" != 124 ] && awk "BEGIN { exit !($secs < 5) }" &&
		grep -qF "socket directory $dir " "$TMPD/start.err" &&
		grep -qF -e "$word" "$TMPD/start.err"; then
		ok "$desc: refused at start (exit $rc in $secs s): $(grep -F "socket directory" "$TMPD/start.err" | head -n 1 | cut -c1-150)"
	else
		not_ok "$desc: refused at start with a message naming $dir (exit $rc in $secs s)"
		diag_file "$TMPD/start.err" 5
	fi
}

# ---- a nobody listener in a sticky world-writable directory ----------------------
setpriv --reuid=65534 --regid=65534 --clear-groups -- "$PY" -c '
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(16)
os.chmod(sys.argv[1], 0o666)
open(sys.argv[2], "w").close()
time.sleep(60)
' "$SHARED/svcacctd.sock" "$SHARED/squat.ready" </dev/null &
SQUAT=$!
track_pid "$SQUAT"
for _ in $(seq 100); do
	[ -f "$SHARED/squat.ready" ] && break
	sleep 0.05
done
[ -S "$SHARED/svcacctd.sock" ] || bail "nobody listens on $SHARED/svcacctd.sock"

refused "socket in a sticky world-writable directory with nobody listening there" \
	"$SHARED" "writable by others" "socket = \"$SHARED/svcacctd.sock\";"
if kill -0 "$SQUAT" 2>/dev/null && [ -S "$SHARED/svcacctd.sock" ] &&
	[ "$(stat -c %u "$SHARED/svcacctd.sock")" = 65534 ]; then
	ok "nobody's listener is untouched (still running, its socket still there, owned by nobody)"
else
	not_ok "nobody's listener is untouched (still running, its socket still there, owned by nobody)"
fi
kill "$SQUAT" 2>/dev/null
wait "$SQUAT" 2>/dev/null

# ---- the same directory with no listener, and other bad directories ---------------
refused "socket in a sticky world-writable directory (no listener)" \
	"$SHARED" "writable by others" "socket = \"$SHARED/d.sock\";"
[ -e "$SHARED/d.sock" ] && not_ok "no socket left in $SHARED" || ok "no socket left in $SHARED"
mkdir -m 0775 "$TMPD/grp"
chmod 0775 "$TMPD/grp"
refused "socket in a group-writable directory" "$TMPD/grp" "writable by its group" \
	"socket = \"$TMPD/grp/d.sock\";"
mkdir -m 0755 "$TMPD/nob"
chown 65534:65534 "$TMPD/nob"
refused "socket in a directory owned by nobody" "$TMPD/nob" "owned by uid 65534" \
	"socket = \"$TMPD/nob/d.sock\";"
refused "http_socket in a sticky world-writable directory" "$SHARED" "writable by others" \
	"http_socket = \"$SHARED/http.sock\";"
[ -e "$SOCK" ] && not_ok "the native socket was removed after the http_socket refusal" ||
	ok "the native socket was removed after the http_socket refusal"

# ---- a proper directory ---------------------------------------------------------
_svca_write_conf "http_socket = \"$TMPD/http.sock\";"
if start_daemon_reuse; then
	ok "the daemon starts with its sockets in a root-owned 0755 directory"
else
	not_ok "the daemon starts with its sockets in a root-owned 0755 directory"
fi
check -d "svcacctctl account list" $CTL account list
mkdir -m 0700 "$TMPD/priv"
stop_daemon
_svca_write_conf "socket = \"$TMPD/priv/p.sock\";"
SOCK="$TMPD/priv/p.sock"
CTL="$SVCACCTCTL -s $SOCK"
if start_daemon_reuse; then
	ok "the daemon starts with its socket in a root-owned 0700 directory"
else
	not_ok "the daemon starts with its socket in a root-owned 0700 directory"
fi
SOCK="$TMPD/new/n.sock"
stop_daemon
_svca_write_conf "socket = \"$SOCK\";"
CTL="$SVCACCTCTL -s $SOCK"
if start_daemon_reuse && [ "$(stat -c %a "$TMPD/new")" = 755 ]; then
	ok "a missing socket directory is created (0755) and used"
else
	not_ok "a missing socket directory is created (0755) and used"
fi
exit "$(failures)"
