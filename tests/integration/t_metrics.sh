#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# GET /metrics on the HTTP front (DESIGN.md section 11, docs/metrics.md):
# the text passes a strict format check (tests/http/metrics_parse.py), and
# the counters move by the right amounts around a PAM login allowed and
# refused (native PAM_AUTH as pam_svcacct sends it), a lockout, token
# exchanges over HTTP and a rate-limited one, and an admin refusal; the
# histograms' counts grow; the gauges match (accounts, active keys).
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/http/http_lib.sh"

start_http_daemon "rate_limit_count = 4;" "rate_limit_window = 600;" \
	"lockout_threshold = 3;" || bail "svcacctd starts with http_socket"

check -d "account ci-deploy created" $CTL account create ci-deploy
check -d "account ci-other created" $CTL account create ci-other
newkey() { # ACCOUNT -> "KEY KEYID"
	expect_exit 0 $CTL --json key create "$1" --label metrics || return 1
	printf '%s' "$OUT" | json_py 'd["key"] + " " + d["key_id"]'
}
read -r K1 _ <<<"$(newkey ci-deploy)" || true
read -r K2 _ <<<"$(newkey ci-other)" || true
[ -n "${K1:-}" ] && [ -n "${K2:-}" ] || bail "two API keys created"
FORGED=$("$PY" "$TESTS_DIR/http/forge_key.py" "$K1" "$K2") # K1's id, a wrong secret

# scrape NAME: GET /metrics into $RD/NAME.b, parsed into $TMPD/NAME.m
scrape() {
	hreq "$1" "$HB/metrics"
	if [ "$HCODE" = 200 ] &&
		"$PY" "$TESTS_DIR/http/metrics_parse.py" "$RD/$1.b" >"$TMPD/$1.m" 2>"$TMPD/$1.err"; then
		ok "$1: GET /metrics 200, the text passes the format check"
	else
		not_ok "$1: GET /metrics 200, the text passes the format check (status $HCODE)"
		diag_file "$TMPD/$1.err" 20
	fi
}
# mval NAME SERIES: its value in scrape NAME (0 when absent)
mval() {
	awk -v s="$2" '$1 == s { v = $2 } END { print (v == "" ? 0 : v) }' "$TMPD/$1.m"
}
# moved FROM TO SERIES WANT: the series grew by WANT between the scrapes
moved() {
	local a b
	a=$(mval "$1" "$3")
	b=$(mval "$2" "$3")
	if [ "$((b - a))" = "$4" ]; then
		ok "$3: +$4 ($a -> $b)"
	else
		not_ok "$3: +$4 (got $a -> $b)"
	fi
}
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
pam_key() { # ACCOUNT KEY -> RC, REASON
	OUT=$("$PY" "$TESTS_DIR/proto_client.py" "$SOCK" call PAM_AUTH "F_NAME=$1" \
		F_SERVICE=sshd "F_KEY=b:$(hex "$2")" 2>&1)
	RC=$?
	REASON=$(json_py '[v for t, v in d["fields"] if t == "F_REASON"][0]' <<<"$OUT" 2>/dev/null)
}

scrape m0
if [ "$(hdr m0 Content-Type)" = "text/plain; version=0.0.4; charset=utf-8" ]; then
	ok "Content-Type text/plain; version=0.0.4; charset=utf-8"
else
	not_ok "Content-Type text/plain; version=0.0.4; charset=utf-8 (got '$(hdr m0 Content-Type)')"
fi
hreq post -X POST "$HB/metrics"
if problem_ok post 405 "GET, HEAD"; then ok "POST /metrics: 405, Allow: GET, HEAD"; else not_ok "POST /metrics: 405, Allow: GET, HEAD"; fi

# ---- a login allowed, a login refused, an exchange --------------------------------

pam_key ci-deploy "$K1"
[ "$RC" = 0 ] && ok "PAM_AUTH with ci-deploy's key: allowed" ||
	not_ok "PAM_AUTH with ci-deploy's key: allowed (exit $RC: $OUT)"
pam_key ci-deploy "$FORGED"
R1=$REASON
[ "$RC" != 0 ] && [ "$R1" = bad_secret ] && ok "PAM_AUTH with a wrong secret: refused, bad_secret" ||
	not_ok "PAM_AUTH with a wrong secret: refused, bad_secret (exit $RC, reason '$R1')"
hreq x1 -H "x-api-key: $K2" -X POST "$HB/service-account-tokens"
[ "$HCODE" = 200 ] && ok "token exchange over HTTP: 200" || not_ok "token exchange over HTTP: 200 (got $HCODE)"

scrape m1
moved m0 m1 'svcacct_logins_total{service="sshd",outcome="allowed",reason="ok"}' 1
moved m0 m1 'svcacct_logins_total{service="sshd",outcome="refused",reason="bad_secret"}' 1
moved m0 m1 'svcacct_exchanges_total{outcome="allowed",reason="ok"}' 1
moved m0 m1 'svcacct_pam_check_seconds_count' 2
moved m0 m1 'svcacct_exchange_seconds_count' 1
moved m0 m1 'svcacct_lockouts_total' 0
if [ "$(mval m1 svcacct_accounts)" = 2 ] && [ "$(mval m1 svcacct_active_keys)" = 2 ]; then
	ok "gauges: svcacct_accounts 2, svcacct_active_keys 2"
else
	not_ok "gauges: svcacct_accounts 2, svcacct_active_keys 2 (got $(mval m1 svcacct_accounts), $(mval m1 svcacct_active_keys))"
fi
if grep -q '^svcacct_audit_records [1-9]' "$TMPD/m1.m" &&
	grep -q '^svcacct_connections{front="http"} [1-9]' "$TMPD/m1.m" &&
	grep -q '^svcacct_connections{front="native"} [0-9]' "$TMPD/m1.m" &&
	grep -q '^svcacct_journal_bytes [0-9]' "$TMPD/m1.m" &&
	awk '$1 == "svcacct_nss_snapshot_age_seconds" && $2 >= 0 && $2 < 600 { f = 1 } END { exit !f }' "$TMPD/m1.m"; then
	ok "gauges: audit records, connections by front (this scrape's own), journal size, NSS snapshot age"
else
	not_ok "gauges: audit records, connections by front, journal size, NSS snapshot age"
	grep -v _bucket "$TMPD/m1.m" | diag
fi
if ! grep -q svcacct_agent_ "$TMPD/m1.m"; then ok "no agent gauges on a standalone daemon"; else not_ok "no agent gauges on a standalone daemon"; fi
if not_echoed m1 "$K1" "$K2" "${K1:18:43}" "${K2:18:43}"; then ok "the metrics hold no key"; else not_ok "the metrics hold no key"; fi

# ---- a lockout, a rate limit, an admin refusal ----------------------------------

pam_key ci-deploy "$FORGED"
pam_key ci-deploy "$FORGED"
[ "$REASON" = locked_out ] && ok "the third wrong secret locks the key for this caller (locked_out)" ||
	not_ok "the third wrong secret locks the key for this caller (got '$REASON')"
codes=""
for i in 1 2 3 4; do
	hreq "burst$i" -H "x-api-key: $K2" -X POST "$HB/service-account-tokens"
	codes="$codes $HCODE"
done
[ "$codes" = " 200 200 200 429" ] && ok "exchanges 2..5 of one caller (rate_limit_count 4): 200 200 200 429" ||
	not_ok "exchanges 2..5 of one caller (rate_limit_count 4): 200 200 200 429 (got$codes)"
check_exit 3 -d "account create as nobody: refused (admin.deny)" run_as_nobody $CTL account create ci-nope

scrape m2
moved m1 m2 'svcacct_logins_total{service="sshd",outcome="refused",reason="bad_secret"}' 1
moved m1 m2 'svcacct_logins_total{service="sshd",outcome="refused",reason="locked_out"}' 1
moved m1 m2 'svcacct_lockouts_total' 1
moved m1 m2 'svcacct_exchanges_total{outcome="allowed",reason="ok"}' 3
moved m1 m2 'svcacct_exchanges_total{outcome="refused",reason="rate_limited"}' 1
moved m1 m2 'svcacct_rate_limited_total{scope="caller"}' 1
moved m1 m2 'svcacct_rate_limited_total{scope="key"}' 0
moved m1 m2 'svcacct_admin_refusals_total' 1
moved m1 m2 'svcacct_pam_check_seconds_count' 2
moved m1 m2 'svcacct_exchange_seconds_count' 4
moved m1 m2 'svcacct_pam_check_seconds_bucket{le="+Inf"}' 2

# ---- not on other daemons' surfaces ------------------------------------------------

hreq nope "$HB/metrics/"
[ "$HCODE" = 404 ] && ok "GET /metrics/ (another path): 404" || not_ok "GET /metrics/ (another path): 404 (got $HCODE)"

stop_daemon && ok "daemon stopped cleanly" || not_ok "daemon stopped cleanly"
