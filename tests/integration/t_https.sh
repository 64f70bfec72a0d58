#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The hub's HTTPS API (issue 16 item 7, DESIGN.md section 9): a standalone
# daemon with https_listen on loopback and a CA and certificates made here
# with openssl.  svcacctctl --hub runs the account -> key -> token flow with
# an admin service account's token, --json answers equal the socket's, a
# member's token gets exit 3 and admin.deny, no token 3, a TLS failure
# (another CA, another host name, an expired certificate) 5; TLS 1.1 and
# plain HTTP are refused; the exchange, JWKS and introspection work over
# HTTPS; bad bodies get a clear 4xx and change nothing; the config errors
# (https_listen without tls_cert, a readable tls_key, plain HTTP off
# loopback) stop svcacctd -t.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/http/http_lib.sh"

command -v openssl >/dev/null || bail "openssl is needed (make deps)"

# ---- certificates -------------------------------------------------------------

# The daemon's private directory first (start_daemon in two steps), so
# that the cleanup removes the certificates too.
_svca_make_tmp
PKI=$TMPD/pki
mkdir -m 0700 "$PKI"
mkca() { # NAME
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3 \
		-keyout "$PKI/$1.key" -out "$PKI/$1.crt" -subj "/CN=svcacct test $1" 2>/dev/null
}
# mkcert NAME CA SAN [faketime offset]: a server certificate.
mkcert() {
	local pre=()
	[ -n "${4:-}" ] && pre=(faketime "$4")
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/$1.key" \
		-out "$PKI/$1.csr" -subj "/CN=$1" 2>/dev/null &&
		printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
			"$3" >"$PKI/$1.ext" &&
		"${pre[@]}" openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$2.crt" -CAkey "$PKI/$2.key" \
			-CAcreateserial -days 1 -extfile "$PKI/$1.ext" -out "$PKI/$1.crt" 2>/dev/null &&
		chmod 600 "$PKI/$1.key"
}
mkca ca && mkca otherca &&
	mkcert hub ca "IP:127.0.0.1,DNS:localhost" &&
	mkcert wronghost ca "DNS:other.example" &&
	{ ! command -v faketime >/dev/null || mkcert expired ca "IP:127.0.0.1" "-5 days"; } ||
	bail "a CA and server certificates made with openssl"
ok "a CA, another CA and server certificates made with openssl"

PORT=$(free_port)
HPORT=$(free_port)
HUB="https://127.0.0.1:$PORT"
tls_conf() { # CERT: the HTTPS settings with that certificate
	printf '%s\n' "https_listen = \"127.0.0.1:$PORT\";" "tls_cert = \"$PKI/$1.crt\";" \
		"tls_key = \"$PKI/$1.key\";" "http_listen = \"127.0.0.1:$HPORT\";"
}
mapfile -t TLS_LINES < <(tls_conf hub)
_svca_write_conf "${TLS_LINES[@]}"
start_daemon_reuse || bail "svcacctd starts with https_listen, tls_cert and tls_key"
ok "svcacctd starts with https_listen on 127.0.0.1:$PORT"
check -d "svcacctd -t accepts the HTTPS settings" "$SVCACCTD" -t -c "$CONF"

# ---- accounts and tokens made on the socket ---------------------------------------

check -d "admin service account bot created on the socket" $CTL account create bot --role admin
check -d "member service account mem created on the socket" $CTL account create mem
newtoken() { # ACCOUNT FILE: a key on the socket, its token into FILE
	local key
	key=$($CTL key create "$1" 2>/dev/null | tail -n 1) || return 1
	printf '%s\n' "$key" >"$TMPD/$1.key"
	chmod 600 "$TMPD/$1.key"
	$CTL token create --key-file "$TMPD/$1.key" >"$2" 2>/dev/null && [ -s "$2" ] &&
		chmod 600 "$2"
}
newtoken bot "$TMPD/bot.tok" && newtoken mem "$TMPD/mem.tok" ||
	bail "keys and tokens of bot and mem"
ok "session tokens of bot (admin) and mem (member)"

H=("$SVCACCTCTL" --hub "$HUB" --ca "$PKI/ca.crt")
hub() { SVCACCT_TOKEN=$(cat "$TMPD/bot.tok") "${H[@]}" "$@"; }
hub_mem() { SVCACCT_TOKEN=$(cat "$TMPD/mem.tok") "${H[@]}" "$@"; }

# ---- the flow over --hub --------------------------------------------------------------

check -d "--hub: account create ci-deploy (admin token)" hub account create ci-deploy \
	--description "deploys"
check -d "--hub: team create ops" hub team create ops
check -d "--hub: workspace create prod --team ops" hub workspace create prod --team ops
check -d "--hub: grant add ci-deploy --workspace prod --role editor" \
	hub grant add ci-deploy --workspace prod --role editor
if expect_exit 0 hub --json key create ci-deploy --label hub; then
	KEY=$(printf '%s' "$OUT" | json_py 'd["key"]')
	KID=$(printf '%s' "$OUT" | json_py 'd["key_id"]')
	ok "--hub: key create --json gives key and key_id"
else
	not_ok "--hub: key create --json gives key and key_id"
	KEY="" KID=""
fi
printf '%s\n' "$KEY" >"$TMPD/ci.key"
chmod 600 "$TMPD/ci.key"
if expect_exit 0 "${H[@]}" token create --key-file "$TMPD/ci.key" && [ "${#OUT}" -gt 100 ]; then
	CITOK=$OUT
	ok "--hub: token create with the new key (no session token needed)"
else
	not_ok "--hub: token create with the new key (no session token needed)"
	CITOK=""
fi
if expect_exit 0 "${H[@]}" token verify "$CITOK" && grep -q ci-deploy <<<"$OUT"; then
	ok "--hub: token verify names ci-deploy"
else
	not_ok "--hub: token verify names ci-deploy"
fi
check -d "--hub: audit verify" hub audit verify

# --json answers equal the socket's.
same_json() { # DESC ARGS...: hub --json and socket --json print the same
	local desc=$1 a b
	shift
	a=$(SVCACCT_TOKEN=$(cat "$TMPD/bot.tok") $CTL --json "$@" 2>&1)
	b=$(hub --json "$@" 2>&1)
	if [ -n "$a" ] && [ "$a" = "$b" ]; then
		ok "--json $desc: the hub's answer equals the socket's"
	else
		not_ok "--json $desc: the hub's answer equals the socket's"
		diag "socket: ${a:0:300}"
		diag "hub:    ${b:0:300}"
	fi
}
same_json "account list" account list
same_json "account show" account show ci-deploy
same_json "account access" account access ci-deploy
same_json "key list" key list ci-deploy
same_json "grant list" grant list ci-deploy
same_json "team list" team list
same_json "workspace list" workspace list
same_json "jwks" jwks

check -d "--hub: key revoke" hub key revoke ci-deploy "$KID"
check_exit 1 -d "--hub: token create with the revoked key exits 1" \
	"${H[@]}" token create --key-file "$TMPD/ci.key"
check_exit 4 -d "--hub: account show of a missing account exits 4" hub account show nosuch
check_exit 2 -d "--hub: an invalid account name exits 2" hub account create "Bad Name"
check_exit 1 -d "--hub: creating an existing account exits 1" hub account create ci-deploy

# ---- refusals -----------------------------------------------------------------------

deny_before=$($CTL --json audit list --event admin.deny | json_py 'len(d)')
check_exit 3 -d "--hub: a member's account list exits 3" hub_mem account list
grep -q "needs admin rights (you are mem (service account))" <<<"$ERR" &&
	ok "the member's refusal says admin rights are needed and names the token's account" ||
	not_ok "the member's refusal says admin rights are needed and names the token's account ($ERR)"
deny_after=$($CTL --json audit list --event admin.deny | json_py 'len(d)')
if [ "$deny_after" -gt "$deny_before" ] && $CTL --json audit list --event admin.deny --limit 1 |
	json_py 'd[0]["reason"]' | grep -q "account.list requires admin"; then
	ok "the member's refusal is audited as admin.deny (account.list requires admin)"
else
	not_ok "the member's refusal is audited as admin.deny ($deny_before -> $deny_after)"
fi
check_exit 3 -d "--hub without a token exits 3" env -u SVCACCT_TOKEN "${H[@]}" account list
grep -q "SVCACCT_TOKEN" <<<"$ERR" && ok "... and says to set SVCACCT_TOKEN" ||
	not_ok "... and says to set SVCACCT_TOKEN ($ERR)"
check_exit 3 -d "--hub without a token sends nothing (exits 3 even with no hub listening)" \
	env -u SVCACCT_TOKEN "$SVCACCTCTL" --hub "https://127.0.0.1:1" account list
check_exit 3 -d "--hub with a malformed token exits 3 (HTTP 401)" \
	env SVCACCT_TOKEN=not-a-token "${H[@]}" account list
check_exit 5 -d "--hub verified with another CA exits 5" \
	env SVCACCT_TOKEN="$(cat "$TMPD/bot.tok")" "$SVCACCTCTL" --hub "$HUB" \
	--ca "$PKI/otherca.crt" account list
grep -qi "TLS\|certificate" <<<"$ERR" && ok "... with a message about the certificate" ||
	not_ok "... with a message about the certificate ($ERR)"
check_exit 5 -d "--hub without --ca (system CAs do not know the test CA) exits 5" \
	env SVCACCT_TOKEN="$(cat "$TMPD/bot.tok")" "$SVCACCTCTL" --hub "$HUB" account list
check_exit 5 -d "--hub to a port where nothing listens exits 5" \
	env SVCACCT_TOKEN="$(cat "$TMPD/bot.tok")" "$SVCACCTCTL" --hub "https://127.0.0.1:1" \
	--ca "$PKI/ca.crt" account list
check_exit 2 -d "--hub with an http:// URL is a usage error" \
	env SVCACCT_TOKEN="$(cat "$TMPD/bot.tok")" "$SVCACCTCTL" --hub "http://127.0.0.1:$PORT" \
	account list
check -d "SVCACCT_HUB works like --hub" env SVCACCT_HUB="$HUB" \
	SVCACCT_TOKEN="$(cat "$TMPD/bot.tok")" "$SVCACCTCTL" --ca "$PKI/ca.crt" account show bot

# ---- the HTTP endpoints over HTTPS, with curl ---------------------------------------

C=(curl -sS --max-time 10 --cacert "$PKI/ca.crt" -o "$TMPD/resp" -w '%{http_code}')
key2=$($CTL key create bot 2>/dev/null | tail -n 1)
code=$("${C[@]}" -X POST -H "x-api-key: $key2" "$HUB/service-account-tokens")
if [ "$code" = 200 ] && json_py 'd["token_type"]' <"$TMPD/resp" | grep -qx Bearer; then
	ok "POST /service-account-tokens over HTTPS: 200 with a Bearer token"
	XTOK=$(json_py 'd["access_token"]' <"$TMPD/resp")
else
	not_ok "POST /service-account-tokens over HTTPS: 200 (got $code)"
	XTOK=""
fi
code=$("${C[@]}" "$HUB/.well-known/jwks.json")
[ "$code" = 200 ] && json_py 'd["keys"][0]["kty"]' <"$TMPD/resp" | grep -qx OKP &&
	ok "GET /.well-known/jwks.json over HTTPS: 200 with the keys" ||
	not_ok "GET /.well-known/jwks.json over HTTPS (got $code)"
code=$("${C[@]}" -X POST --data-urlencode "token=$XTOK" "$HUB/token/introspect")
[ "$code" = 200 ] && json_py 'd["active"]' <"$TMPD/resp" | grep -qx true &&
	ok "POST /token/introspect over HTTPS: active" ||
	not_ok "POST /token/introspect over HTTPS (got $code)"
code=$("${C[@]}" "$HUB/healthz")
[ "$code" = 200 ] && ok "GET /healthz over HTTPS: 200" || not_ok "GET /healthz over HTTPS ($code)"

# ---- bad requests: a clear 4xx, nothing changed -------------------------------------------

BT=$(cat "$TMPD/bot.tok")
before=$($CTL --json account list)
post() { # NAME BODY: POST /v1/commands/NAME with the admin token
	"${C[@]}" -X POST -H "Authorization: Bearer $BT" -H "Content-Type: application/json" \
		--data-binary "$2" "$HUB/v1/commands/$1"
}
detail() { json_py 'd.get("detail") or d.get("message")' <"$TMPD/resp" 2>/dev/null; }
expect_http() { # CODE REGEX DESC
	if [ "$code" = "$1" ] && detail | grep -Eq "$2"; then
		ok "$3: $1 ($(detail | head -c 80))"
	else
		not_ok "$3: want $1 /$2/, got $code $(head -c 200 "$TMPD/resp")"
	fi
}
code=$(post account.create '{"name": "x1",')
expect_http 400 "not valid JSON" "a body that is not JSON"
code=$(post account.create '["x1"]')
expect_http 400 "object" "a JSON array body"
code=$(post account.create '{"name": "x1", "colour": "red"}')
expect_http 400 "unknown field 'colour'" "an unknown field"
code=$(post account.create '{"name": 12}')
expect_http 400 "must be a string" "a number for a text field"
code=$(post account.create '{"name": "x1", "auth_token": "abc"}')
expect_http 400 "unknown field 'auth_token'" "auth_token in the body (the header carries it)"
code=$(post account.create '{"name": "x1", "name": "x2"}')
expect_http 400 "not valid JSON|duplicate" "a member given twice"
code=$(post no.such.command '{}')
expect_http 404 "no such command 'no.such.command'" "an unknown command"
code=$(post pam.auth '{"name": "bot", "service": "sshd"}')
expect_http 404 "no such command" "pam.auth is not offered over HTTPS"
big=$("$PY" -c 'print("{\"name\": \"x1\", \"description\": \"" + "a" * 20000 + "\"}")')
code=$(post account.create "$big")
expect_http 413 "too large" "a 20 kB body"
code=$("${C[@]}" -H "Authorization: Bearer $BT" "$HUB/v1/commands/account.list")
expect_http 405 "POST" "GET on a command"
code=$("${C[@]}" -X POST "$HUB/v1/commands/account.create" --data-binary '{"name":"x1"}')
expect_http 401 "Bearer" "a command without a token"
grep -qi '^www-authenticate: Bearer' < <(curl -sS -D - -o /dev/null --cacert "$PKI/ca.crt" \
	-X POST "$HUB/v1/commands/account.list") &&
	ok "401 carries WWW-Authenticate: Bearer" || not_ok "401 carries WWW-Authenticate: Bearer"
code=$("${C[@]}" -X POST -H "Authorization: Basic Ym90OmJvdA==" "$HUB/v1/commands/account.list")
expect_http 401 "Bearer" "Basic authorization"
code=$("${C[@]}" -X POST -H "Authorization: Bearer $(cat "$TMPD/mem.tok")" \
	"$HUB/v1/commands/account.list")
expect_http 403 "needs admin" "a member's token"
code=$(post account.show '{"name": "nosuch"}')
expect_http 404 "does not exist" "a missing account"
after=$($CTL --json account list)
[ "$before" = "$after" ] && ok "the refused requests changed no account" ||
	not_ok "the refused requests changed no account"
code=$(curl -sS --max-time 10 -o "$TMPD/resp" -w '%{http_code}' -X POST \
	-H "Authorization: Bearer $BT" "http://127.0.0.1:$HPORT/v1/commands/account.list")
[ "$code" = 404 ] && ok "the plain HTTP front (http_listen) offers no commands: 404" ||
	not_ok "the plain HTTP front offers no commands (got $code)"

# ---- TLS versions and plain HTTP -------------------------------------------------------

if openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 -CAfile "$PKI/ca.crt" \
	-verify_return_error </dev/null >/dev/null 2>&1; then
	ok "openssl s_client -tls1_2 connects and verifies"
else
	not_ok "openssl s_client -tls1_2 connects and verifies"
fi
if openssl s_client -connect "127.0.0.1:$PORT" -tls1_3 -CAfile "$PKI/ca.crt" \
	</dev/null >/dev/null 2>&1; then
	ok "openssl s_client -tls1_3 connects"
else
	not_ok "openssl s_client -tls1_3 connects"
fi
for v in tls1_1 tls1; do
	# SECLEVEL=0: the client offers the old version; the server must refuse.
	if openssl s_client -connect "127.0.0.1:$PORT" "-$v" -cipher 'DEFAULT@SECLEVEL=0' \
		</dev/null >"$TMPD/sc.out" 2>&1; then
		not_ok "openssl s_client -$v is refused"
	elif grep -q "no protocols available" "$TMPD/sc.out"; then
		not_ok "openssl s_client -$v is refused by the server (the client would not try)"
	else
		ok "openssl s_client -$v is refused by the server"
	fi
done
code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz" \
	2>/dev/null)
[ "$code" != 200 ] && ok "plain HTTP to the HTTPS port gets no answer (curl: $code)" ||
	not_ok "plain HTTP to the HTTPS port is refused"
check -d "the daemon still serves after the bad clients" hub account show bot

# ---- certificates that must fail --------------------------------------------------------

restart_with() { # CERT
	stop_daemon
	mapfile -t TLS_LINES < <(tls_conf "$1")
	_svca_write_conf "${TLS_LINES[@]}"
	start_daemon_reuse
}
if restart_with wronghost; then
	check_exit 5 -d "--hub to a certificate for another host name exits 5" hub account list
else
	not_ok "svcacctd restarts with the certificate of another host"
fi
if [ -f "$PKI/expired.crt" ]; then
	if restart_with expired; then
		check_exit 5 -d "--hub to an expired certificate exits 5" hub account list
	else
		not_ok "svcacctd restarts with an expired certificate"
	fi
fi
restart_with hub || bail "svcacctd restarts with the right certificate"
check -d "--hub works again with the right certificate" hub account show bot

# ---- rate limits per remote address ----------------------------------------------------

# Loopback is one caller (http_caller_key): unknown key ids from it are
# rate limited after rate_limit_count (10) refusals in the window.
unknown_key() { # a well-formed, checksummed key with a random key id
	TESTS_DIR=$TESTS_DIR "$PY" - "$key2" <<'EOF'
import os, random, sys
sys.path.insert(0, os.environ["TESTS_DIR"] + "/http")
import forge_key
k = sys.argv[1]
body = "svca_" + "".join(random.choice(forge_key.B62) for _ in range(12)) + k[17:61]
print(body + forge_key.check(body))
EOF
}
codes=""
for i in $(seq 12); do
	codes="$codes $(curl -sS --max-time 10 --cacert "$PKI/ca.crt" -o /dev/null \
		-w '%{http_code}' -X POST -H "x-api-key: $(unknown_key)" "$HUB/service-account-tokens")"
done
if [ "$(grep -o 401 <<<"$codes" | wc -l)" = 10 ] && [ "$(grep -o 429 <<<"$codes" | wc -l)" = 2 ]; then
	ok "bad keys over HTTPS from one address: 10 x 401, then 429"
else
	not_ok "bad keys over HTTPS from one address: 10 x 401, then 429 (got$codes)"
fi
if curl -sS -D - -o /dev/null --cacert "$PKI/ca.crt" -X POST -H "x-api-key: $(unknown_key)" \
	"$HUB/service-account-tokens" | grep -qi '^retry-after: [1-9]'; then
	ok "the 429 over HTTPS carries Retry-After"
else
	not_ok "the 429 over HTTPS carries Retry-After"
fi
if $CTL --json audit list --event token.deny --limit 1 | json_py 'd[0]["peer"]["addr"]' |
	grep -qx 127.0.0.1; then
	ok "refused exchanges over HTTPS are audited with the remote address"
else
	not_ok "refused exchanges over HTTPS are audited with the remote address"
fi
check -d "management by token still works for the rate-limited address" hub account show bot

# ---- configuration errors -----------------------------------------------------------------

conf_fails() { # DESC REGEX LINES...: svcacctd -t refuses, saying REGEX
	local desc=$1 re=$2 c="$TMPD/bad.conf"
	shift 2
	{
		grep -vE '^(https_listen|tls_cert|tls_key|http_listen)' "$CONF"
		printf '%s\n' "$@"
	} >"$c"
	chmod 644 "$c"
	if expect_exit 1 "$SVCACCTD" -t -c "$c" && grep -Eq "$re" <<<"$OUT$ERR"; then
		ok "svcacctd -t refuses $desc"
	else
		not_ok "svcacctd -t refuses $desc, saying /$re/"
	fi
}
conf_fails "https_listen without tls_cert" "needs tls_cert and tls_key" \
	"https_listen = \"127.0.0.1:$PORT\";" "tls_key = \"$PKI/hub.key\";"
conf_fails "tls_cert without https_listen" "for https_listen" "tls_cert = \"$PKI/hub.crt\";"
cp "$PKI/hub.key" "$TMPD/open.key"
chmod 644 "$TMPD/open.key"
conf_fails "a tls_key readable by others" "chmod 600" \
	"https_listen = \"127.0.0.1:$PORT\";" "tls_cert = \"$PKI/hub.crt\";" \
	"tls_key = \"$TMPD/open.key\";"
conf_fails "a tls_key that does not match tls_cert" "cannot be used" \
	"https_listen = \"127.0.0.1:$PORT\";" "tls_cert = \"$PKI/hub.crt\";" \
	"tls_key = \"$PKI/wronghost.key\";"
conf_fails "a missing tls_cert file" "tls_cert .*No such file" \
	"https_listen = \"127.0.0.1:$PORT\";" "tls_cert = \"$PKI/none.crt\";" \
	"tls_key = \"$PKI/hub.key\";"
conf_fails "plain http_listen on 0.0.0.0" "loopback.*https_listen" \
	"http_listen = \"0.0.0.0:$HPORT\";"
conf_fails "an https_listen that is no address" "must be an address and port" \
	"https_listen = \"example:x\";" "tls_cert = \"$PKI/hub.crt\";" \
	"tls_key = \"$PKI/hub.key\";"
# Not only -t: the daemon does not start either.
{
	grep -vE '^(https_listen|tls_cert|tls_key|http_listen)' "$CONF"
	echo "http_listen = \"0.0.0.0:$HPORT\";"
} >"$TMPD/bad.conf"
if expect_exit 1 timeout 20 "$SVCACCTD" -f -c "$TMPD/bad.conf" && grep -q loopback <<<"$ERR"; then
	ok "svcacctd does not start with plain http_listen on 0.0.0.0 (says loopback)"
else
	not_ok "svcacctd does not start with plain http_listen on 0.0.0.0"
fi


# A key the daemon's user owns passes root's -t (mode checked), but the
# daemon itself only takes a key owned by its own uid.
cp "$PKI/hub.key" "$TMPD/nobody.key"
chown 65534 "$TMPD/nobody.key"
chmod 600 "$TMPD/nobody.key"
{
	grep -vE '^(https_listen|tls_cert|tls_key|http_listen)' "$CONF"
	printf '%s\n' "https_listen = \"127.0.0.1:$PORT\";" "tls_cert = \"$PKI/hub.crt\";" \
		"tls_key = \"$TMPD/nobody.key\";"
} >"$TMPD/owner.conf"
chmod 644 "$TMPD/owner.conf"
check -d "root's svcacctd -t accepts a tls_key of mode 0600 owned by the daemon's user" \
	"$SVCACCTD" -t -c "$TMPD/owner.conf"
stop_daemon
if expect_exit 1 timeout 30 "$SVCACCTD" -f -c "$TMPD/owner.conf" &&
	grep -q "tls_key: .*owned by uid 65534" <<<"$ERR"; then
	ok "svcacctd does not start with a tls_key owned by another uid (says so)"
else
	not_ok "svcacctd does not start with a tls_key owned by another uid"
fi

exit "$(failures)"
