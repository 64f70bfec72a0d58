# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# tests/http/http_lib.sh: helpers for the HTTP front's tests
# (tests/integration/t_http*.sh).  Source it after tests/lib.sh.
#
#   start_http_daemon [CONFIG LINES...]
#                   like start_daemon, plus http_socket = "$TMPD/http.sock";
#                   exports HSOCK; responses are saved under $RD
#   rewrite_conf [CONFIG LINES...]
#                   writes $CONF again (lib defaults + http_socket + lines),
#                   for a restart_daemon on the same state
#   hreq NAME [CURL ARGS...] URL
#                   one request with curl on $HSOCK (or over TCP when
#                   HTTP_TCP=1); headers in $RD/NAME.h, body in $RD/NAME.b;
#                   sets HCODE ("000" when there was no response; also in
#                   $RD/NAME.code), HRC (curl's exit status) and HTIME
#   hdr NAME FIELD  the value of a response header (case-insensitive)
#   problem_ok NAME STATUS [ALLOW]
#                   0 when response NAME is STATUS with Content-Type
#                   application/problem+json and a body with type, title,
#                   status (== STATUS) and detail (and, given ALLOW, an
#                   Allow header equal to it); otherwise diagnostics, 1
#   not_echoed NAME SECRET...
#                   0 when no SECRET occurs in response NAME's headers or
#                   body
#   audit_json [ARGS...]
#                   `svcacctctl --json audit list ARGS` on stdout
#   free_port       a free loopback TCP port

# shellcheck disable=SC2034 # used by the scripts
HB=http://localhost

start_http_daemon() {
	if [ -n "$TMPD" ]; then
		diag "start_http_daemon called twice"
		return 1
	fi
	_svca_make_tmp
	HSOCK="$TMPD/http.sock"
	RD="$TMPD/responses"
	mkdir -p "$RD"
	export HSOCK RD
	_svca_write_conf "http_socket = \"$HSOCK\";" "$@"
	start_daemon_reuse || return 1
	local _
	for _ in $(seq 50); do
		[ -S "$HSOCK" ] && return 0
		sleep 0.02
	done
	diag "no HTTP socket at $HSOCK"
	return 1
}

rewrite_conf() {
	_svca_write_conf "http_socket = \"$HSOCK\";" "$@"
}

hreq() {
	local name=$1 w
	shift
	local via=(--unix-socket "$HSOCK")
	[ "${HTTP_TCP:-0}" = 1 ] && via=()
	rm -f "$RD/$name.h" "$RD/$name.b"
	w=$(curl -sS --max-time "${HTTP_MAX_TIME:-5}" "${via[@]}" \
		-D "$RD/$name.h" -o "$RD/$name.b" -w '%{http_code} %{time_total}' \
		"$@" 2>"$RD/$name.err" </dev/null)
	HRC=$?
	HCODE=${w%% *}
	# shellcheck disable=SC2034 # read by the scripts
	HTIME=${w##* }
	[ -n "$HCODE" ] || HCODE=000
	touch "$RD/$name.h" "$RD/$name.b"
	echo "$HCODE" >"$RD/$name.code"
	if [ "$HRC" != 0 ]; then
		diag "$name: curl exit $HRC: $(head -c 200 "$RD/$name.err")"
	fi
	return 0
}

hdr() {
	local name=$1 field=$2
	tr -d '\r' <"$RD/$name.h" | grep -i "^$field:" | tail -n 1 |
		cut -d: -f2- | sed 's/^[[:space:]]*//'
}

problem_ok() {
	local name=$1 want=$2 allow=${3:-} bad=0 ct a code
	code=$(cat "$RD/$name.code" 2>/dev/null)
	if [ "$code" != "$want" ]; then
		diag "$name: status $code, want $want"
		bad=1
	fi
	ct=$(hdr "$name" Content-Type)
	if [ "$ct" != "application/problem+json" ]; then
		diag "$name: Content-Type '$ct', want application/problem+json"
		bad=1
	fi
	if ! "$PY" - "$RD/$name.b" "$want" <<'EOF' 2>&1 | diag; then
import json, sys
path, want = sys.argv[1], int(sys.argv[2])
raw = open(path, "rb").read()
try:
    d = json.loads(raw)
except ValueError as e:
    print("body is not JSON (%s): %r" % (e, raw[:200]))
    sys.exit(1)
errs = []
if not isinstance(d, dict):
    errs.append("body is not an object")
else:
    for k in ("type", "title", "detail"):
        if not isinstance(d.get(k), str) or not d.get(k):
            errs.append("%s is not a non-empty string" % k)
    if d.get("status") != want or isinstance(d.get("status"), bool):
        errs.append("status is %r, want %d" % (d.get("status"), want))
for e in errs:
    print(e)
if errs:
    print("body: %s" % raw[:300].decode("utf-8", "replace"))
sys.exit(1 if errs else 0)
EOF
		bad=1
	fi
	if [ -n "$allow" ]; then
		a=$(hdr "$name" Allow)
		if [ "$a" != "$allow" ]; then
			diag "$name: Allow '$a', want '$allow'"
			bad=1
		fi
	fi
	return "$bad"
}

not_echoed() {
	local name=$1 s bad=0
	shift
	for s in "$@"; do
		[ -n "$s" ] || continue
		if grep -qF -- "$s" "$RD/$name.h" "$RD/$name.b"; then
			diag "$name: the response contains a secret (${s:0:9}...)"
			bad=1
		fi
	done
	return "$bad"
}

audit_json() {
	$SVCACCTCTL -s "$SOCK" --json audit list "$@" </dev/null
}

free_port() {
	"$PY" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
'
}
