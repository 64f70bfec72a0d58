#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Break-glass accounts, the organization settings from the hubs, host lag
# and the bounds on enrollment tokens (issue 17 item 4): a throwaway
# PostgreSQL, one hub on https_listen (rate_limit_count 7, token_ttl 1800,
# uid range 61000-61999), an agent (max_staleness 5) enrolled in wa.
# - account update --break-glass: a bad value is a usage error, a member
#   and an admin are refused (exit 3), a super-admin sets it; show/list
#   --json carry break_glass; account.update is audited with the change.
# - the agent uses the hub's settings (fleet status "settings"), also
#   restarted with the hub down; its own file's values are ignored.
# - host list lag_s: 0 when synced, > 0 for an agent stopped while the hub
#   changes, null for a host that never fetched a snapshot.
# - hub down, agent stale: a break-glass account's token login is accepted
#   (audited auth.allow reason break_glass_stale, logged), another
#   account's is refused "directory not reached for N s"; a wrong token of
#   the break-glass account is still refused; break-glass off -> refused.
# - host token create refuses past 1000 live tokens (nothing made); 31
#   days later (the hub's wall clock moved with libfaketime) used and
#   expired tokens are purged, at most 1000 per call.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/lib_pg.sh"
. "$TESTS_DIR/http/http_lib.sh"
. "$TESTS_DIR/cred_lib.sh"

command -v openssl >/dev/null || bail "openssl is needed (make deps)"
command -v curl >/dev/null || bail "curl is needed (make deps)"

hub1_https_up "rate_limit_count = 7;" "token_ttl = 1800;" "uid_min = 61000;" "uid_max = 61999;"

setup_ok=1
for c in "team create ta" "workspace create wa --team ta" "account create svc-bg" \
	"account create svc-plain" "account create svc-adm --role admin" \
	"grant add svc-bg --workspace wa --role editor" \
	"grant add svc-plain --workspace wa --role editor"; do
	# shellcheck disable=SC2086
	expect_exit 0 $H1 $c || setup_ok=0
done
[ $setup_ok = 1 ] && ok "hub: svc-bg and svc-plain reach wa; svc-adm is an admin" || bail "the directory"

# ---- setting the flag ---------------------------------------------------------------------
bg_of() { $H1 --json account show "$1" 2>/dev/null | json_py 'd["break_glass"]' 2>/dev/null; }
if expect_exit 0 $H1 --json account show svc-bg && [ "$(json_py 'd["break_glass"]' <<<"$OUT")" = false ]; then
	ok "account show --json: break_glass false by default"
else
	not_ok "account show --json: break_glass false by default"
	diag "$OUT $ERR"
fi
for v in maybe ON 1 ""; do
	if expect_exit 2 $H1 account update svc-bg --break-glass "$v" && grep -qF -e "--break-glass" <<<"$ERR" &&
		[ "$(bg_of svc-bg)" = false ]; then
		ok "account update --break-glass '$v': exit 2 naming --break-glass, nothing changed"
	else
		not_ok "account update --break-glass '$v': exit 2 naming --break-glass, nothing changed"
		diag "$OUT $ERR"
	fi
done
if expect_exit 2 "$PY" "$TESTS_DIR/proto_client.py" "${HUB_SOCK[1]}" call ACCOUNT_UPDATE F_NAME=svc-bg 103=u:2 &&
	grep -qF "invalid break_glass" <<<"$OUT" && [ "$(bg_of svc-bg)" = false ]; then
	ok "the daemon refuses break_glass = 2 (status 2, 'invalid break_glass'), nothing changed"
else
	not_ok "the daemon refuses break_glass = 2, nothing changed"
	diag "$OUT $ERR"
fi
if expect_exit 3 run_as_nobody $H1 account update svc-bg --break-glass on && [ "$(bg_of svc-bg)" = false ]; then
	ok "a member (nobody) sets break-glass: exit 3, nothing changed"
else
	not_ok "a member (nobody) sets break-glass: exit 3, nothing changed"
	diag "$OUT $ERR"
fi
CTL=$H1 key_create svc-adm || bail "a key of svc-adm"
CTL=$H1 xchg 0 "$KEY" || bail "a token of svc-adm"
put_secret "$TMPD/adm.tok" "$OUT"
if expect_exit 3 $H1 --token-file "$TMPD/adm.tok" account update svc-bg --break-glass on &&
	grep -qF "super-admin" <<<"$ERR" && [ "$(bg_of svc-bg)" = false ]; then
	ok "an admin (by token) sets break-glass: exit 3 'needs super-admin rights', nothing changed"
else
	not_ok "an admin (by token) sets break-glass: exit 3, nothing changed"
	diag "$OUT $ERR"
fi
if expect_exit 0 $H1 account update svc-bg --break-glass on && [ "$(bg_of svc-bg)" = true ] &&
	[ "$(bg_of svc-plain)" = false ] && expect_exit 0 $H1 account show svc-bg &&
	grep -qx "break_glass: on" <<<"$OUT"; then
	ok "a super-admin sets break-glass on svc-bg: show says on (JSON true), svc-plain off"
else
	not_ok "a super-admin sets break-glass on svc-bg"
	diag "$OUT $ERR"
fi
if expect_exit 0 $H1 --json account list &&
	[ "$(json_py 'sorted((a["name"], a["break_glass"]) for a in d)' <<<"$OUT")" = '[["svc-adm", false], ["svc-bg", true], ["svc-plain", false]]' ]; then
	ok "account list --json: break_glass on every account (a bool)"
else
	not_ok "account list --json: break_glass on every account"
	diag "$OUT"
fi
if expect_exit 0 $H1 --json audit list --event account.update --account svc-bg &&
	[ "$(json_py '[e.get("detail") for e in d]' <<<"$OUT")" = '["break_glass off -> on"]' ]; then
	ok "audit: one account.update of svc-bg, detail 'break_glass off -> on' (the refusals changed nothing)"
else
	not_ok "audit: one account.update of svc-bg with the change"
	diag "$OUT"
fi

# ---- the agent -------------------------------------------------------------------------------
one_agent_init "$TMPD/agent" agent-x "hubs = [ \"$U1\" ];" "hub_ca = \"$PKI/ca.crt\";" \
	"refresh_interval = 5;" "max_staleness = 5;" "rate_limit_count = 3;"
one_agent_start
expect_exit 0 $H1 host token create --workspace wa && TOK=$(tail -n 1 <<<"$OUT")
expect_exit 0 $ACTL host enroll "$TOK" || bail "the agent enrolls"
hub_seq() {
	curl -s --cacert "$PKI/ca.crt" -m 10 -H "Authorization: Bearer $(cat "$AG/state/host.credential")" \
		"$U1/v1/agent/changes?since=0" | json_py 'd["seq"]'
}
synced() { [ "$($ACTL --json fleet status 2>/dev/null | json_py 'd["snapshot_seq"]')" = "$(hub_seq)" ]; }
wait_for 20 synced || diag "the agent did not reach the hub's seq"
settings_ok() {
	[ "$(json_py '[d["settings"][k] for k in ("rate_limit_count", "token_ttl", "uid_min", "uid_max")]' <<<"$1")" = "[7, 1800, 61000, 61999]" ]
}
if expect_exit 0 $ACTL --json fleet status && settings_ok "$OUT" &&
	grep -q "organization settings from the hubs" "$AG/daemon.log"; then
	ok "agent: fleet status settings are the hub's (rate_limit_count 7, token_ttl 1800, uid 61000-61999), not its file's"
else
	not_ok "agent: fleet status settings are the hub's"
	diag "$OUT $ERR"
	diag_file "$AG/daemon.log" 10
fi
if expect_exit 0 $H1 --json fleet status && settings_ok "$OUT"; then
	ok "hub: fleet status shows the same settings object"
else
	not_ok "hub: fleet status shows the same settings object"
	diag "$OUT $ERR"
fi

lag_of() { $H1 --json host list 2>/dev/null | json_py "[h['lag_s'] for h in d if h['host_id'] == '$1'][0]" 2>/dev/null; }
lag_zero() { [ "$(lag_of agent-x)" = 0 ]; }
if wait_for 10 lag_zero && expect_exit 0 $H1 --json host show agent-x && [ "$(json_py 'd["lag_s"]' <<<"$OUT")" = 0 ]; then
	ok "host list / host show: lag_s 0 for the synced agent"
else
	not_ok "host list / host show: lag_s 0 for the synced agent (lag_s $(lag_of agent-x))"
	diag "$OUT $ERR"
fi
expect_exit 0 $H1 host token create --workspace wa && GTOK=$(tail -n 1 <<<"$OUT")
code=$(printf '{"token":"%s","host_id":"ghost"}' "$GTOK" | curl -s -o /dev/null -w '%{http_code}' \
	--cacert "$PKI/ca.crt" -m 10 -H 'Content-Type: application/json' --data-binary @- "$U1/v1/agent/enroll")
if [ "$code" = 200 ] && [ "$(lag_of ghost)" = null ]; then
	ok "a host that never fetched a snapshot: lag_s null"
else
	not_ok "a host that never fetched a snapshot: lag_s null (enroll $code, lag_s $(lag_of ghost))"
fi

# ---- token logins through the agent (pam.auth as pam_svcacct sends it) -----------------------
pam_auth() { # NAME TOKEN -> $OUT (JSON reply), $RC (daemon status)
	OUT=$("$PY" "$TESTS_DIR/proto_client.py" "$AG/svcacctd.sock" call PAM_AUTH "F_NAME=$1" \
		F_SERVICE=sshd "F_TOKEN=b:$(printf '%s' "$2" | od -An -tx1 | tr -d ' \n')" 2>&1)
	RC=$?
}
CTL=$H1 key_create svc-bg && CTL=$H1 xchg 0 "$KEY" && TBG=$OUT || bail "a token of svc-bg"
CTL=$H1 key_create svc-plain && CTL=$H1 xchg 0 "$KEY" && TPL=$OUT || bail "a token of svc-plain"
pam_auth svc-bg "$TBG"
r1=$RC
pam_auth svc-plain "$TPL"
if [ "$r1" = 0 ] && [ "$RC" = 0 ]; then
	ok "agent synced: token logins of svc-bg and svc-plain accepted"
else
	not_ok "agent synced: token logins accepted (status $r1, $RC)"
	diag "$OUT"
fi

# ---- lag of a host that is behind ---------------------------------------------------------
one_agent_stop
expect_exit 0 $H1 account create svc-later || not_ok "a change on the hub"
lag_pos() { l=$(lag_of agent-x); [ -n "$l" ] && [ "$l" != null ] && [ "$l" -ge 2 ]; }
if wait_for 15 lag_pos; then
	ok "agent stopped, a change on the hub: lag_s grows ($(lag_of agent-x) s after ${WAITED}s)"
else
	not_ok "agent stopped, a change on the hub: lag_s > 0 (lag_s $(lag_of agent-x))"
fi

# ---- the hubs away: break-glass ---------------------------------------------------------
hub_stop 1
one_agent_start
if expect_exit 0 $ACTL --json fleet status && settings_ok "$OUT"; then
	ok "agent restarted with the hub down: the persisted settings are in force"
else
	not_ok "agent restarted with the hub down: the persisted settings are in force"
	diag "$OUT $ERR"
fi
stale() { $ACTL --json fleet status 2>/dev/null | json_py 'd["stale"]' 2>/dev/null | grep -q true; }
wait_for 30 stale || diag "the agent did not become stale"
pam_auth svc-plain "$TPL"
if [ "$RC" = 5 ] && grep -qE "directory not reached for [0-9]+ s" <<<"$OUT"; then
	ok "stale agent: svc-plain's token login refused, status 5, 'directory not reached for N s'"
else
	not_ok "stale agent: svc-plain's token login refused with status 5 (status $RC)"
	diag "$OUT"
fi
pam_auth svc-bg "$TBG"
if [ "$RC" = 0 ]; then
	ok "stale agent: svc-bg (break-glass) token login accepted"
else
	not_ok "stale agent: svc-bg (break-glass) token login accepted (status $RC)"
	diag "$OUT"
fi
if expect_exit 0 $ACTL --json audit list --event auth.allow --account svc-bg &&
	[ "$(json_py '[d[-1].get("reason"), d[-1].get("detail")]' <<<"$OUT")" = '["break_glass_stale", "auth; break_glass_stale"]' ] &&
	grep -q "svc-bg (sshd) is a break-glass account" "$AG/daemon.log"; then
	ok "the break-glass login is audited (auth.allow, reason break_glass_stale) and logged"
else
	not_ok "the break-glass login is audited (auth.allow, reason break_glass_stale) and logged"
	diag "$OUT"
	diag_file "$AG/daemon.log" 5
fi
pam_auth svc-bg "$TPL"
if [ "$RC" = 1 ] && grep -q wrong_account <<<"$OUT"; then
	ok "stale agent: svc-bg with another account's token is still refused (wrong_account)"
else
	not_ok "stale agent: svc-bg with another account's token is still refused (status $RC)"
	diag "$OUT"
fi

# ---- break-glass off ----------------------------------------------------------------------
hub_start 1 || bail "hub 1 starts again"
back() { pam_auth svc-plain "$TPL"; [ "$RC" = 0 ]; }
wait_for 30 back || not_ok "hub back: the agent syncs again"
expect_exit 0 $H1 account update svc-bg --break-glass off || not_ok "break-glass off on the hub"
wait_for 20 synced || diag "the agent did not reach the hub's seq"
if wait_for 10 lag_zero; then
	ok "hub back, agent synced: lag_s 0 again"
else
	not_ok "hub back, agent synced: lag_s 0 again (lag_s $(lag_of agent-x))"
fi
hub_stop 1
wait_for 30 stale || diag "the agent did not become stale"
pam_auth svc-bg "$TBG"
if [ "$RC" = 5 ] && grep -qE "directory not reached for [0-9]+ s" <<<"$OUT"; then
	ok "break-glass off: svc-bg's login on the stale agent refused (status 5)"
else
	not_ok "break-glass off: svc-bg's login on the stale agent refused (status $RC)"
	diag "$OUT"
fi
one_agent_stop
hub_start 1 || bail "hub 1 starts again"

# ---- enrollment tokens: the cap, the purge ------------------------------------------------
enroll_count() { pg_psql -c "SELECT count(*) FROM svcacct_kv WHERE k LIKE 'enroll/%'"; }
before=$(enroll_count)
cat >"$TMPD/mint.py" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[2])
import proto_client as pc
made = 0
for _ in range(1100):
    st, f = pc.send(sys.argv[1], 70, [(81, "wa")])
    if st != 0:
        print(made, st, pc.message(f))
        break
    made += 1
else:
    print(made, 0, "")
PYEOF
read -r made st msg <<<"$("$PY" "$TMPD/mint.py" "${HUB_SOCK[1]}" "$TESTS_DIR")"
after=$(enroll_count)
diag "made $made live tokens, then status $st: $msg"
if [ "$made" = 1000 ] && [ "$st" = 1 ] && grep -qF "too many unused enrollment tokens" <<<"$msg" &&
	[ "$after" = $((before + 1000)) ]; then
	ok "host token create: 1000 live tokens, the next refused (exit 1, 'too many unused enrollment tokens'), nothing made"
else
	not_ok "host token create: 1000 live tokens, the next refused (made $made, status $st, records $before -> $after)"
fi
if expect_exit 1 $H1 host token create --workspace wa && grep -qF "too many unused" <<<"$ERR"; then
	ok "svcacctctl host token create at the cap: exit 1 with the reason"
else
	not_ok "svcacctctl host token create at the cap: exit 1 with the reason"
	diag "$OUT $ERR"
fi

if [ -n "$FAKETIME_LIB" ]; then
	cat >"$TMPD/svcacctd-31d" <<EOF
#!/bin/sh
# svcacctd with its wall clock 31 days ahead (monotonic time stays real)
export LD_PRELOAD="$FAKETIME_LIB" FAKETIME="+31d" FAKETIME_DONT_FAKE_MONOTONIC=1
export ASAN_OPTIONS="\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}verify_asan_link_order=0"
exec "$SVCACCTD" "\$@"
EOF
	chmod 0755 "$TMPD/svcacctd-31d"
	hub_stop 1
	HUB_BIN[1]=$TMPD/svcacctd-31d
	hub_start 1 || bail "hub 1 starts 31 days later"
	total=$(enroll_count)
	purged() { $H1 --json audit list --event host.token_create --limit 1 | json_py 'd[-1]["detail"]' | grep -oE 'purged=[0-9]+'; }
	if expect_exit 0 $H1 host token create --workspace wa && p1=$(purged) && [ "$p1" = purged=1000 ] &&
		[ "$(enroll_count)" = $((total - 1000 + 1)) ] &&
		expect_exit 0 $H1 host token create --workspace wa && p2=$(purged) &&
		[ "$p2" = "purged=$((total - 1000))" ] && [ "$(enroll_count)" = 2 ]; then
		ok "31 days later: token create purges used and expired tokens, 1000 per call ($p1, then $p2); 2 live left"
	else
		not_ok "31 days later: used and expired tokens purged, 1000 per call (${p1:-?}, ${p2:-?}, $total -> $(enroll_count))"
		diag "$OUT $ERR"
	fi
	hub_stop 1
	HUB_BIN[1]=""
	hub_start 1 || bail "hub 1 starts again"
else
	ok "used and expired enrollment tokens purged after 30 days # SKIP no libfaketime"
fi
expect_exit 0 $H1 audit verify && ok "hub: audit verify" || not_ok "hub: audit verify"
