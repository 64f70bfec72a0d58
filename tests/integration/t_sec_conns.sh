#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Connection exhaustion (issue 14, finding 4): one local user must not be
# able to take every connection slot.
#   - nobody holds as many native-socket connections as it can (1,100,
#     over max_clients 1024) and reopens every one the daemon closes;
#     meanwhile, repeatedly, a PAM check as root (PAM_AUTHORIZE) answers
#     within the PAM module's 5 s deadline, root's `svcacctctl account
#     list` answers within 5 s, and another unprivileged uid (4242) is
#     served too (max_clients_per_uid; root_reserved_clients);
#   - nobody holds 300 TCP connections to the HTTP front from loopback
#     (reopening the dropped ones, from rotating source addresses): an
#     exchange over TCP, from loopback too, is still served (the oldest
#     connection of the caller makes room; up to 2 retries); also when
#     each of them has sent the headers of a request it never finishes;
#   - small caps (max_clients 64, max_clients_per_uid 8,
#     root_reserved_clients 16) with six uids holding all they can: root
#     and a seventh uid are still served;
#   - caps that do not fit max_clients are configuration errors.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/http/http_lib.sh"

CONNS="$TESTS_DIR/http/conns.py"
PC="$TESTS_DIR/proto_client.py"
PORT=$(free_port)
ROUNDS=${ROUNDS:-8}
LIMIT_S=5 # the PAM module's default deadline per daemon call

start_http_daemon "http_listen = \"127.0.0.1:$PORT\";" "rate_limit_count = 1000;" ||
	bail "svcacctd starts with http_socket and http_listen"
$CTL account create secconns </dev/null >/dev/null 2>&1 || bail "account create secconns"
KEY=$($CTL key create secconns 2>/dev/null </dev/null | tail -n 1)
[ -n "$KEY" ] || bail "key create secconns"
HD="$TMPD/hogs" # the hogs (other uids) touch their ready files here
mkdir -m 1777 "$HD"

# hog NAME AS TARGET N [ARGS...]: starts conns.py hold as AS (a setpriv
# prefix, or "") and waits until it has tried its N connections.
hog() {
	local name=$1 as=$2 target=$3 n=$4
	shift 4
	rm -f "$HD/$name.ready" "$HD/$name.stop"
	# shellcheck disable=SC2086 # as: a command prefix
	$as "$PY" "$CONNS" hold "$target" "$n" --hold 90 --ready "$HD/$name.ready" \
		--stop "$HD/$name.stop" "$@" >"$TMPD/$name.out" 2>"$TMPD/$name.err" </dev/null &
	HOG_PID=$!
	track_pid "$HOG_PID"
	for _ in $(seq 600); do
		[ -f "$HD/$name.ready" ] && break
		kill -0 "$HOG_PID" 2>/dev/null || break
		sleep 0.05
	done
	[ -f "$HD/$name.ready" ] || { diag "$name: the hog did not get going"; diag_file "$TMPD/$name.err"; }
	sleep 1 # let it settle into reopening what is closed
}
unhog() {
	touch "$HD/$1.stop"
	wait_pid_gone "$HOG_PID" 15 || kill -KILL "$HOG_PID" 2>/dev/null
	wait "$HOG_PID" 2>/dev/null
	diag "$1: $(cat "$TMPD/$1.out" 2>/dev/null)"
}

# timed CMD...: runs CMD (bounded by 15 s); sets RC and SECS
timed() {
	local t0
	t0=$(now)
	timeout 15 "$@" </dev/null >"$TMPD/timed.out" 2>"$TMPD/timed.err"
	RC=$?
	SECS=$(awk "BEGIN { printf \"%.2f\", $(now) - $t0 }")
}
fast() { awk "BEGIN { exit !($SECS < $LIMIT_S) }"; }

# served_rounds: ROUNDS rounds of root PAM check, root svcacctctl, uid 4242
# PING; counts the answers within the deadline in PAM_OK CTL_OK OTHER_OK.
served_rounds() {
	local r
	PAM_OK=0 CTL_OK=0 OTHER_OK=0
	for r in $(seq "$ROUNDS"); do
		timed "$PY" "$PC" "$SOCK" authorize secconns sshd
		if { [ "$RC" = 0 ] || [ "$RC" = 1 ]; } && fast; then
			PAM_OK=$((PAM_OK + 1))
		else
			diag "round $r: PAM check as root: exit $RC after $SECS s: $(head -c 200 "$TMPD/timed.err")"
		fi
		timed $CTL account list
		if [ "$RC" = 0 ] && fast && grep -q secconns "$TMPD/timed.out"; then
			CTL_OK=$((CTL_OK + 1))
		else
			diag "round $r: svcacctctl account list as root: exit $RC after $SECS s: $(head -c 200 "$TMPD/timed.err")"
		fi
		timed setpriv --reuid=4242 --regid=4242 --clear-groups -- "$PY" "$PC" "$SOCK" call PING
		if [ "$RC" = 0 ] && fast; then
			OTHER_OK=$((OTHER_OK + 1))
		else
			diag "round $r: PING as uid 4242: exit $RC after $SECS s: $(head -c 200 "$TMPD/timed.err")"
		fi
		sleep 0.3
	done
}

# ---- native socket: nobody holds all it can ----------------------------------
hog native "setpriv --reuid=65534 --regid=65534 --clear-groups --" "$SOCK" 1100
served_rounds
[ "$PAM_OK" = "$ROUNDS" ] &&
	ok "nobody holding all it can: $ROUNDS/$ROUNDS PAM checks as root answered within $LIMIT_S s" ||
	not_ok "nobody holding all it can: $PAM_OK/$ROUNDS PAM checks as root answered within $LIMIT_S s"
[ "$CTL_OK" = "$ROUNDS" ] &&
	ok "nobody holding all it can: $ROUNDS/$ROUNDS root svcacctctl account list answered within $LIMIT_S s" ||
	not_ok "nobody holding all it can: $CTL_OK/$ROUNDS root svcacctctl account list answered within $LIMIT_S s"
[ "$OTHER_OK" = "$ROUNDS" ] &&
	ok "nobody holding all it can: $ROUNDS/$ROUNDS requests of another uid (4242) answered within $LIMIT_S s" ||
	not_ok "nobody holding all it can: $OTHER_OK/$ROUNDS requests of another uid (4242) answered within $LIMIT_S s"
held=$(find "/proc/$DAEMON_PID/fd" -lname 'socket:*' 2>/dev/null | wc -l)
diag "the daemon holds $held sockets while nobody hogs"
if [ "$held" -le 100 ]; then
	ok "nobody's connections are capped (the daemon holds $held sockets, max_clients_per_uid 64)"
else
	not_ok "nobody's connections are capped (the daemon holds $held sockets, max_clients_per_uid 64)"
fi
unhog native
daemon_alive || bail "the daemon is alive after the native hog"
grep -q 'max_clients_per_uid (64)' "$DAEMON_LOG" &&
	ok "the cap is logged (max_clients_per_uid)" || not_ok "the cap is logged (max_clients_per_uid)"

# ---- HTTP front over TCP: 300 connections from loopback ----------------------
xchg_tcp() { # NAME: one exchange over TCP; sets HCODE HTIME
	HTTP_TCP=1 hreq "$1" -H "x-api-key: $KEY" -X POST "http://127.0.0.1:$PORT/service-account-tokens"
}
hog http "setpriv --reuid=65534 --regid=65534 --clear-groups --" "127.0.0.1:$PORT" 300 --bind-rotate
# The hog and the client are one caller (loopback): a connection whose
# request has not arrived yet can be the oldest of that caller when the
# hog opens 64 more (a few ms at its pace); so a client whose connection
# is closed before it could send tries again, at most 3 times (see the
# notes of issue 14).
tcp_rounds() { # DESC
	local good=0 retried=0 r
	for r in 1 2 3 4; do
		local try
		for try in 1 2 3; do
			xchg_tcp "tcp$r"
			[ "$HCODE" = 000 ] && [ "$try" -lt 3 ] || break
			retried=$((retried + 1))
			diag "exchange $r over TCP: closed before an answer (after $HTIME s); again"
		done
		if [ "$HCODE" = 200 ] && awk "BEGIN { exit !($HTIME < $LIMIT_S) }"; then
			good=$((good + 1))
		else
			diag "exchange $r over TCP: status $HCODE after $HTIME s"
		fi
		sleep 0.3
	done
	[ "$good" = 4 ] &&
		ok "$1: 4/4 exchanges over TCP from loopback served (200) within $LIMIT_S s ($retried retried)" ||
		not_ok "$1: $good/4 exchanges over TCP from loopback served (200) within $LIMIT_S s"
}
tcp_rounds "300 TCP connections held from loopback"
unhog http
hog http2 "setpriv --reuid=65534 --regid=65534 --clear-groups --" "127.0.0.1:$PORT" 300 --bind-rotate --partial
tcp_rounds "300 TCP connections from loopback, each with a request that never ends"
unhog http2
daemon_alive || bail "the daemon is alive after the HTTP hog"

# ---- small caps, many uids -----------------------------------------------------
rewrite_conf "http_listen = \"127.0.0.1:$PORT\";" "rate_limit_count = 1000;" \
	"max_clients = 64;" "max_clients_per_uid = 8;" "root_reserved_clients = 16;"
n0=$(grep -c 'configuration reloaded' "$DAEMON_LOG")
kill -HUP "$DAEMON_PID"
reloaded=0
for _ in $(seq 100); do
	[ "$(grep -c 'configuration reloaded' "$DAEMON_LOG")" -gt "$n0" ] && { reloaded=1; break; }
	sleep 0.05
done
[ "$reloaded" = 1 ] && ok "reload with max_clients 64, max_clients_per_uid 8, root_reserved_clients 16" ||
	not_ok "reload with max_clients 64, max_clients_per_uid 8, root_reserved_clients 16"
HOGS=()
for u in 5001 5002 5003 5004 5005 5006; do
	hog "uid$u" "setpriv --reuid=$u --regid=$u --clear-groups --" "$SOCK" 20
	HOGS+=("$HOG_PID")
done
ROUNDS=4 served_rounds
[ "$PAM_OK" = 4 ] && [ "$CTL_OK" = 4 ] &&
	ok "six uids holding all they can (max_clients 64, 8 per uid, 16 for root): root's PAM checks and svcacctctl answered" ||
	not_ok "six uids holding all they can (max_clients 64, 8 per uid, 16 for root): root's PAM checks ($PAM_OK/4) and svcacctctl ($CTL_OK/4) answered"
[ "$OTHER_OK" = 4 ] &&
	ok "six uids holding all they can: a seventh uid (4242) is served (4/4)" ||
	not_ok "six uids holding all they can: a seventh uid (4242) is served ($OTHER_OK/4)"
for u in 5001 5002 5003 5004 5005 5006; do touch "$HD/uid$u.stop"; done
for p in "${HOGS[@]}"; do
	wait_pid_gone "$p" 15 || kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
done

# ---- caps that do not fit ------------------------------------------------------
badconf() { # DESC EXPECTED-TEXT LINES...
	local desc=$1 want=$2
	shift 2
	rewrite_conf "$@"
	expect_exit 1 "$SVCACCTD" -t -c "$CONF"
	if [ "$RC" != 0 ] && grep -q "$want" <<<"$OUT$ERR"; then
		ok "config error: $desc"
	else
		not_ok "config error: $desc (exit $RC: $OUT$ERR)"
	fi
}
badconf "root_reserved_clients above half of max_clients" "root_reserved_clients (40) must be at most half" \
	"max_clients = 64;" "root_reserved_clients = 40;"
badconf "max_clients_per_uid above max_clients minus root_reserved_clients" \
	"max_clients_per_uid (60) must be at most" \
	"max_clients = 64;" "root_reserved_clients = 16;" "max_clients_per_uid = 60;"
badconf "max_clients_per_uid = 0" "max_clients_per_uid" "max_clients_per_uid = 0;"
rewrite_conf "max_clients = 8;"
expect_exit 0 "$SVCACCTD" -t -c "$CONF"
[ "$RC" = 0 ] && ok "max_clients = 8 alone is valid (the default caps shrink with it)" ||
	not_ok "max_clients = 8 alone is valid (the default caps shrink with it) (exit $RC: $ERR)"

daemon_alive && ok "the daemon is alive" || not_ok "the daemon is alive"
check -d "audit verify" $CTL audit verify
exit "$(failures)"
