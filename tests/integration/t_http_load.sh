#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Load on the HTTP front: 50 concurrent curl exchanges (rate limit raised,
# then the default limit: every answer is a 200 or a clean 429), a
# slow-loris client that neither blocks another client nor outlives the
# per-connection deadline, and 300 idle connections against the
# connection limit of 256 (the excess is refused, not left hanging, and
# the front serves again).  The daemon stays alive throughout.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/http/http_lib.sh"

N=50
CONNS="$TESTS_DIR/http/conns.py"
TOKEN_URL=$HB/service-account-tokens

start_http_daemon "rate_limit_count = 1000;" || bail "svcacctd starts with http_socket and rate_limit_count = 1000"

# five accounts with two keys each (max_active_keys = 2), one spare account
KEYS=()
for a in 1 2 3 4 5; do
	$CTL account create "load$a" >/dev/null 2>&1 || bail "account load$a created"
	for k in 1 2; do
		key=$($CTL key create "load$a" 2>/dev/null </dev/null | tail -n 1)
		[ -n "$key" ] || bail "key $k for load$a created"
		KEYS+=("$key")
	done
done
$CTL account create spare >/dev/null 2>&1 || bail "account spare created"
KSPARE=$($CTL key create spare 2>/dev/null </dev/null | tail -n 1)
[ -n "$KSPARE" ] || bail "key for spare created"
ok "${#KEYS[@]} keys on 5 accounts and a spare key created"

# burst DIR: N concurrent exchanges (as root) spread over the keys; each
# writes DIR/i.code ("CODE TIME"), DIR/i.h and DIR/i.b.  Bounded: 30 s.
burst() {
	local dir=$1 i pids=() p deadline
	mkdir -p "$dir"
	for i in $(seq 1 "$N"); do
		curl -s --max-time 20 --unix-socket "$HSOCK" \
			-H "x-api-key: ${KEYS[$((i % ${#KEYS[@]}))]}" -X POST \
			-D "$dir/$i.h" -o "$dir/$i.b" -w '%{http_code} %{time_total}' \
			"$TOKEN_URL" >"$dir/$i.code" 2>/dev/null </dev/null &
		pids+=($!)
	done
	track_pid "${pids[@]}"
	deadline=$(($(date +%s) + 30))
	for p in "${pids[@]}"; do
		while kill -0 "$p" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.05; done
	done
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
}

# tally DIR: checks every answer; prints "n200 n429 nother maxtime"
tally() {
	"$PY" - "$1" "$N" <<'EOF'
import json, os, sys
d, n = sys.argv[1], int(sys.argv[2])
c200 = c429 = other = 0
tmax = 0.0
tokens = set()
for i in range(1, n + 1):
    try:
        code, t = open(os.path.join(d, "%d.code" % i)).read().split()
    except (OSError, ValueError):
        code, t = "none", "0"
    tmax = max(tmax, float(t))
    try:
        hdrs = open(os.path.join(d, "%d.h" % i), "rb").read().decode("latin-1").lower()
        body = json.load(open(os.path.join(d, "%d.b" % i)))
    except (OSError, ValueError):
        hdrs, body = "", None
    if code == "200" and isinstance(body, dict) and body.get("token_type") == "Bearer" \
            and body.get("access_token", "").count(".") == 2:
        c200 += 1
        tokens.add(body["access_token"])
    elif code == "429" and isinstance(body, dict) and body.get("status") == 429 \
            and "content-type: application/problem+json" in hdrs \
            and "\nretry-after: " in hdrs:
        c429 += 1
    else:
        other += 1
        sys.stderr.write("response %d: code %s, body %r\n" % (i, code, body))
if len(tokens) != c200:
    sys.stderr.write("only %d distinct tokens in %d answers\n" % (len(tokens), c200))
    other += 1
print(c200, c429, other, tmax)
EOF
}

# ---- 50 concurrent exchanges, rate limit raised ----------------------------------

burst "$TMPD/a"
read -r A200 A429 AOTHER AMAX <<<"$(tally "$TMPD/a" 2>"$TMPD/a.err")"
head -n 10 "$TMPD/a.err" | diag
diag "$N concurrent: $A200 x 200, $A429 x 429 (rate_limit_count = 1000; slowest ${AMAX} s)"
if [ "$A200" = "$N" ]; then
	ok "$N concurrent exchanges with rate_limit_count = 1000: all 200 with distinct tokens"
else
	not_ok "$N concurrent exchanges with rate_limit_count = 1000: all 200 with distinct tokens ($A200 x 200, $A429 x 429, $AOTHER other)"
fi
if [ "$(audit_json --event token.issue --limit 10000 | json_py 'len(d)')" = "$N" ]; then
	ok "$N token.issue events audited"
else
	not_ok "$N token.issue events audited"
fi
if daemon_alive; then ok "daemon alive after $N concurrent exchanges"; else bail "daemon alive after $N concurrent exchanges"; fi

# ---- 50 concurrent exchanges, default rate limit (10 per 10 s per uid) ------------

stop_daemon
rewrite_conf
start_daemon_reuse || bail "svcacctd restarts with the default rate limit"
burst "$TMPD/b"
read -r B200 B429 BOTHER BMAX <<<"$(tally "$TMPD/b" 2>"$TMPD/b.err")"
head -n 10 "$TMPD/b.err" | diag
diag "$N concurrent: $B200 x 200, $B429 x 429 (default rate limit; slowest ${BMAX} s)"
if [ "$BOTHER" = 0 ] && [ $((B200 + B429)) = "$N" ]; then
	ok "$N concurrent exchanges, default limit: every answer is a 200 or a clean 429 (problem+json, Retry-After)"
else
	not_ok "$N concurrent exchanges, default limit: every answer is a 200 or a clean 429 ($BOTHER other)"
fi
if [ "$B200" = 10 ] && [ "$B429" = 40 ]; then
	ok "default limit from one uid: exactly 10 x 200 and 40 x 429"
else
	not_ok "default limit from one uid: exactly 10 x 200 and 40 x 429 (got $B200 / $B429)"
fi
if daemon_alive; then ok "daemon alive after the rate-limited burst"; else bail "daemon alive after the rate-limited burst"; fi

# other_exchange DESC [MAX_TIME]: an exchange as uid 65532 with the spare
# key (root's budget is spent for 10 s); sets OXCODE, OXTIME, OXRC
other_exchange() {
	local name=$1
	OX=$(run_as_uid_groups 65532 65532 "" curl -s --max-time "${2:-5}" --unix-socket "$HSOCK" \
		-H "x-api-key: $KSPARE" -X POST -o /dev/null -w '%{http_code} %{time_total}' \
		"$TOKEN_URL" </dev/null 2>/dev/null)
	OXRC=$?
	OXCODE=${OX%% *}
	OXTIME=${OX##* }
	[ -n "$OXCODE" ] || { OXCODE=000; OXTIME="?"; }
	diag "$name: curl exit $OXRC, status $OXCODE, ${OXTIME} s"
}
fast() { awk -v t="$1" -v m="$2" 'BEGIN { exit !(t != "?" && t < m) }'; }

# ---- slow loris ------------------------------------------------------------------------

"$PY" "$CONNS" loris "$HSOCK" --interval 1 --max 25 >"$TMPD/loris.out" 2>"$TMPD/loris.err" </dev/null &
LORIS=$!
track_pid "$LORIS"
sleep 2
other_exchange "exchange while a loris trickles"
if [ "$OXCODE" = 200 ] && fast "$OXTIME" 1 && kill -0 "$LORIS" 2>/dev/null && [ ! -s "$TMPD/loris.out" ]; then
	ok "an exchange completes in < 1 s (${OXTIME} s) while a slow-loris client is connected"
else
	not_ok "an exchange completes in < 1 s while a slow-loris client is connected (status $OXCODE, ${OXTIME} s)"
fi
wait_pid_gone "$LORIS" 30
wait "$LORIS" 2>/dev/null
LR=$(cat "$TMPD/loris.out")
diag "loris: $LR"
if [ "$(json_py 'd["closed"] and d["after"] <= 15.5' <<<"$LR" 2>/dev/null)" = true ]; then
	ok "the slow-loris connection is closed by the server within 15 s ($(json_py 'd["after"]' <<<"$LR") s)"
else
	not_ok "the slow-loris connection is closed by the server within 15 s ($LR)"
	diag_file "$TMPD/loris.err" 5
fi
if daemon_alive; then ok "daemon alive after the slow loris"; else bail "daemon alive after the slow loris"; fi

# ---- 300 idle connections against the limit of 256 ------------------------------

"$PY" "$CONNS" idle "$HSOCK" 300 --early 2 --hold 40 --ready "$TMPD/idle.ready" \
	--stop "$TMPD/idle.stop" >"$TMPD/idle.out" 2>"$TMPD/idle.err" </dev/null &
IDLE=$!
track_pid "$IDLE"
for i in $(seq 1 200); do
	[ -f "$TMPD/idle.ready" ] && break
	kill -0 "$IDLE" 2>/dev/null || break
	sleep 0.05
done
EARLY=$(head -n 1 "$TMPD/idle.out")
diag "300 idle: $EARLY"
OPENED=$(json_py 'd["opened"]' <<<"$EARLY" 2>/dev/null)
REFUSED=$(json_py 'd["connect_failed"] + d["closed"]' <<<"$EARLY" 2>/dev/null)
if [ -n "$REFUSED" ] && [ "$REFUSED" -ge 44 ]; then
	ok "300 idle connections: the $REFUSED over the limit of 256 are refused or closed within 2 s"
else
	not_ok "300 idle connections: the 44 over the limit of 256 are refused or closed within 2 s (opened ${OPENED:-?}, refused or closed ${REFUSED:-?})"
fi
other_exchange "exchange while 300 idle connections are held" 12
if { [ "$OXCODE" = 200 ] || [ "$OXCODE" = 000 ]; } && fast "$OXTIME" 2; then
	ok "an exchange with 300 idle connections held is served or refused at once, not left hanging (status $OXCODE, ${OXTIME} s)"
else
	not_ok "an exchange with 300 idle connections held is served or refused at once, not left hanging (status $OXCODE after ${OXTIME} s)"
fi
touch "$TMPD/idle.stop"
wait_pid_gone "$IDLE" 45
wait "$IDLE" 2>/dev/null
diag "300 idle: $(tail -n 1 "$TMPD/idle.out")"
other_exchange "exchange after the idle clients left" 12
if [ "$OXCODE" = 200 ] && fast "$OXTIME" 1; then
	ok "after the idle clients close, an exchange completes in < 1 s (${OXTIME} s)"
else
	not_ok "after the idle clients close, an exchange completes in < 1 s (status $OXCODE, ${OXTIME} s)"
fi
hreq healthz "$HB/healthz"
if daemon_alive && [ "$HCODE" = 200 ]; then
	ok "daemon alive and healthz 200 after the load"
else
	not_ok "daemon alive and healthz 200 after the load (healthz $HCODE)"
fi
check -d "audit chain intact after the load" $CTL audit verify
