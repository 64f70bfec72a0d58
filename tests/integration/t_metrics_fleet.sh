#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# GET /metrics in a fleet (docs/metrics.md): an agent's /metrics (its
# http_socket) has the fleet gauges (hubs configured and reachable, the
# sync lag) and counts a key login checked by the hub and a token exchange
# done at the hub; the hub's HTTPS API does not serve /metrics.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/lib_pg.sh"
. "$TESTS_DIR/http/http_lib.sh"
. "$TESTS_DIR/cred_lib.sh"

command -v openssl >/dev/null || bail "openssl is needed (make deps)"
command -v curl >/dev/null || bail "curl is needed (make deps)"

hub1_https_up
setup_ok=1
for c in "team create ta" "workspace create wa --team ta" "account create svc-alpha" \
	"grant add svc-alpha --workspace wa --role editor"; do
	# shellcheck disable=SC2086
	expect_exit 0 $H1 $c || setup_ok=0
done
CTL=$H1 key_create svc-alpha && KA=$KEY || setup_ok=0
[ $setup_ok = 1 ] && ok "hub: svc-alpha in wa with a key" || bail "the directory"

one_agent_init "$TMPD/agent" agent-m "http_socket = \"$TMPD/agent/http.sock\";" \
	"hubs = [ \"$U1\" ];" "hub_ca = \"$PKI/ca.crt\";" "refresh_interval = 5;" "max_staleness = 3600;"
one_agent_start
expect_exit 0 $H1 host token create --workspace wa && TOK=$(tail -n 1 <<<"$OUT")
expect_exit 0 $ACTL host enroll "$TOK" || bail "the agent enrolls"
nss_has() { grep -rqaF -e "$1" "$AG/nss"; }
wait_for 15 nss_has svc-alpha >/dev/null 2>&1 || bail "the agent's first snapshot"
ok "the agent enrolls in wa and applies its first snapshot"

scrape() { # NAME: the agent's /metrics, parsed into $TMPD/NAME.m
	curl -sS -m 10 --unix-socket "$TMPD/agent/http.sock" -o "$TMPD/$1.txt" \
		-w '%{http_code}' http://localhost/metrics >"$TMPD/$1.code" 2>&1
	if [ "$(cat "$TMPD/$1.code")" = 200 ] &&
		"$PY" "$TESTS_DIR/http/metrics_parse.py" "$TMPD/$1.txt" >"$TMPD/$1.m" 2>"$TMPD/$1.err"; then
		ok "agent $1: GET /metrics 200, the text passes the format check"
	else
		not_ok "agent $1: GET /metrics 200, the text passes the format check"
		diag_file "$TMPD/$1.err" 10
	fi
}
mval() { awk -v s="$2" '$1 == s { v = $2 } END { print (v == "" ? 0 : v) }' "$TMPD/$1.m"; }
reachable() {
	scrape_quiet=$(curl -sS -m 10 --unix-socket "$TMPD/agent/http.sock" http://localhost/metrics)
	grep -qx 'svcacct_agent_hubs_reachable 1' <<<"$scrape_quiet"
}

wait_for 20 reachable || true
scrape a0
if [ "$(mval a0 svcacct_agent_hubs_configured)" = 1 ] &&
	[ "$(mval a0 svcacct_agent_hubs_reachable)" = 1 ] &&
	awk '$1 == "svcacct_agent_sync_lag_seconds" && $2 >= 0 && $2 < 60 { f = 1 } END { exit !f }' "$TMPD/a0.m" &&
	[ "$(mval a0 svcacct_accounts)" = 1 ]; then
	ok "agent gauges: 1 hub configured, 1 reachable, sync lag under 60 s, 1 account"
else
	not_ok "agent gauges: 1 hub configured, 1 reachable, sync lag under 60 s, 1 account"
	grep -E 'agent_|accounts' "$TMPD/a0.m" | diag
fi

OUT=$("$PY" "$TESTS_DIR/proto_client.py" "$AG/svcacctd.sock" call PAM_AUTH F_NAME=svc-alpha \
	F_SERVICE=sshd "F_KEY=b:$(printf '%s' "$KA" | od -An -tx1 | tr -d ' \n')" 2>&1)
[ $? = 0 ] && ok "agent: a key login (first use, checked by the hub) is allowed" ||
	not_ok "agent: a key login (first use, checked by the hub) is allowed ($OUT)"
put_secret "$TMPD/ka.key" "$KA"
check -d "agent: token create, exchanged at the hub" $ACTL token create --key-file "$TMPD/ka.key"
scrape a1
s='svcacct_logins_total{service="sshd",outcome="allowed",reason="ok"}'
x='svcacct_exchanges_total{outcome="allowed",reason="ok"}'
if [ "$(($(mval a1 "$s") - $(mval a0 "$s")))" = 1 ] && [ "$(($(mval a1 "$x") - $(mval a0 "$x")))" = 1 ]; then
	ok "agent: the hub-checked login and the exchange at the hub counted once each"
else
	not_ok "agent: the hub-checked login and the exchange at the hub counted once each ($(mval a0 "$s")->$(mval a1 "$s"), $(mval a0 "$x")->$(mval a1 "$x"))"
fi
code=$(curl -s --cacert "$PKI/ca.crt" -m 10 -o /dev/null -w '%{http_code}' "$U1/metrics")
[ "$code" = 404 ] && ok "the hub's HTTPS API does not serve /metrics (404)" ||
	not_ok "the hub's HTTPS API does not serve /metrics (404; got $code)"

one_agent_stop
