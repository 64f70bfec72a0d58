#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Who a caller of the HTTP front is (issue 14, finding 7), and a NUL in
# the API key header:
#   - every loopback source is one caller: exchanges from rotating source
#     addresses 127.0.0.2, .3, ... to http_listen 127.0.0.1 hit the
#     per-caller rate limit (rate_limit_count) and the lockout
#     (lockout_threshold) as exchanges from one fixed source do; the
#     locked key id is refused from any loopback source, still served to
#     another caller (root on http_socket);
#   - an x-api-key header with an embedded NUL is refused whole (401 with
#     the problem body, no token), never cut short to the key before the
#     NUL; the same key without the NUL works.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/http/http_lib.sh"

PORT=$(free_port)
TOKEN_URL=$HB/service-account-tokens
start_http_daemon "http_listen = \"127.0.0.1:$PORT\";" "rate_limit_count = 10;" \
	"rate_limit_window = 3;" "lockout_threshold = 5;" ||
	bail "svcacctd starts with http_socket and http_listen"
for a in callera callerb; do
	$CTL account create "$a" </dev/null >/dev/null 2>&1 || bail "account create $a"
done
K1=$($CTL key create callera 2>/dev/null </dev/null | tail -n 1)
K2=$($CTL key create callerb 2>/dev/null </dev/null | tail -n 1)
[ -n "$K1" ] && [ -n "$K2" ] || bail "keys created"

# from_src NAME N KEY: one exchange over TCP from source 127.0.0.(N+2)
from_src() {
	HTTP_TCP=1 hreq "$1" --interface "127.0.0.$(($2 + 2))" -H "x-api-key: $3" -X POST \
		"http://127.0.0.1:$PORT/service-account-tokens"
}
# unknown_key: a well-formed, checksummed key with a random key id
unknown_key() {
	"$PY" - "$K2" <<'EOF'
import random, sys
sys.path.insert(0, sys.argv[0] and __import__("os").environ["TESTS_DIR"] + "/http")
import forge_key
B62 = forge_key.B62
k = sys.argv[1]
body = "svca_" + "".join(random.choice(B62) for _ in range(12)) + k[17:61]
print(body + forge_key.check(body))
EOF
}
export TESTS_DIR

# ---- the rate limit: 14 unknown key ids from 14 source addresses -------------
codes=""
for i in $(seq 14); do
	from_src "rl$i" "$i" "$(unknown_key)"
	codes="$codes $HCODE"
done
diag "rotating sources, unknown key ids:$codes"
n401=$(grep -o 401 <<<"$codes" | wc -l)
n429=$(grep -o 429 <<<"$codes" | wc -l)
if [ "$n401" = 10 ] && [ "$n429" = 4 ] && problem_ok rl14 429; then
	ok "rotating loopback sources are one caller: 10 x 401 (rate_limit_count), then 429"
else
	not_ok "rotating loopback sources are one caller: 10 x 401 (rate_limit_count), then 429 (got$codes)"
fi
sleep 3.5 # the rate-limit window passes

# ---- the lockout: wrong secrets for one key id from rotating sources ----------
BAD=$("$PY" "$TESTS_DIR/http/forge_key.py" "$K1" "$K2")
codes=""
for i in $(seq 8); do
	from_src "lk$i" "$((i + 20))" "$BAD"
	codes="$codes $HCODE"
done
diag "rotating sources, wrong secrets for one key id:$codes"
n401=$(grep -o 401 <<<"$codes" | wc -l)
if [ "$n401" = 4 ] && [ "$(awk '{ print $5 }' <<<"$codes")" = 429 ] &&
	[ "$(grep -o 429 <<<"$codes" | wc -l)" = 4 ]; then
	ok "rotating loopback sources are one caller: wrong secrets lock the key id after 5 (4 x 401, then 429)"
else
	not_ok "rotating loopback sources are one caller: wrong secrets lock the key id after 5 (4 x 401, then 429; got$codes)"
fi
from_src right 40 "$K1"
if [ "$HCODE" = 429 ] && problem_ok right 429; then
	ok "the locked key id is refused (429) from yet another loopback source, with the right secret"
else
	not_ok "the locked key id is refused (429) from yet another loopback source, with the right secret (status $HCODE)"
fi
hreq unix -H "x-api-key: $K1" -X POST "$TOKEN_URL"
[ "$HCODE" = 200 ] && ok "another caller (root on http_socket) still exchanges that key (200)" ||
	not_ok "another caller (root on http_socket) still exchanges that key (status $HCODE)"

# ---- a NUL inside x-api-key -----------------------------------------------------
# raw NAME TEMPLATE: sends TEMPLATE (Python escapes; KEY = K2) on
# http_socket; status in $RD/NAME.code and HCODE, body in $RD/NAME.b,
# headers in $RD/NAME.h
raw() {
	"$PY" - "$HSOCK" "$K2" "$2" "$RD/$1" <<'EOF'
import socket, sys
path, key, tmpl, out = sys.argv[1], sys.argv[2].encode(), sys.argv[3], sys.argv[4]
req = tmpl.encode().decode("unicode_escape").encode("latin-1").replace(b"KEY", key)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(path)
s.sendall(req)
data = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
except OSError:
    pass
head, _, body = data.partition(b"\r\n\r\n")
lines = head.split(b"\r\n")
code = lines[0].split()[1].decode() if lines and len(lines[0].split()) > 1 else "000"
open(out + ".code", "w").write(code + "\n")
open(out + ".h", "wb").write(b"\r\n".join(lines[1:]) + b"\r\n")
open(out + ".b", "wb").write(body)
EOF
	HCODE=$(cat "$RD/$1.code" 2>/dev/null || echo 000)
}
P='POST /service-account-tokens HTTP/1.1\r\nHost: localhost\r\n'
for c in 'key + NUL + junk|x-api-key: KEY\x00junk\r\nContent-Length: 0\r\n\r\n' \
	'key + NUL|x-api-key: KEY\x00\r\nContent-Length: 0\r\n\r\n' \
	'key + NUL + junk, last header|x-api-key: KEY\x00junk\r\n\r\n' \
	'key + NUL, last header|x-api-key: KEY\x00\r\n\r\n' \
	'key + NUL + a second key|x-api-key: KEY\x00KEY\r\n\r\n'; do
	desc=${c%%|*}
	raw nul "$P${c#*|}"
	if { [ "$HCODE" = 401 ] || [ "$HCODE" = 400 ]; } && problem_ok nul "$HCODE" &&
		! grep -q access_token "$RD/nul.b" && not_echoed nul "$K2"; then
		ok "x-api-key with a NUL ($desc) is refused whole: $HCODE, problem body, no token"
	else
		not_ok "x-api-key with a NUL ($desc) is refused whole (status $HCODE: $(head -c 80 "$RD/nul.b"))"
	fi
done
for c in 'CR LF|x-api-key: KEY\r\nContent-Length: 0\r\n\r\n' \
	'CR LF, last header|x-api-key: KEY\r\n\r\n' \
	'bare LF|x-api-key: KEY\nContent-Length: 0\n\n'; do
	desc=${c%%|*}
	raw clean "$P${c#*|}"
	[ "$HCODE" = 200 ] && grep -q access_token "$RD/clean.b" &&
		ok "the same key without a NUL is exchanged (200; $desc)" ||
		not_ok "the same key without a NUL is exchanged (status $HCODE; $desc)"
done
if audit_json --event token.deny --limit 50 |
	json_py "sum(1 for e in d if e.get('reason') == 'malformed')" | grep -qx 5; then
	ok "the 5 refusals are audited (token.deny, malformed)"
else
	not_ok "the 5 refusals are audited (token.deny, malformed)"
fi

daemon_alive && ok "the daemon is alive" || not_ok "the daemon is alive"
exit "$(failures)"
