#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# An agent follows the hubs and answers from its own state (issue 17 part
# B2, first slice): a throwaway PostgreSQL, one hub on https_listen, an
# agent daemon (own socket, state and NSS dirs) enrolled in workspace wa.
# After `host enroll` its NSS snapshot holds the host's accounts (not the
# other workspace's), `account access` answers from the applied records,
# fleet status shows the hub's seq, a small age and not stale; a session
# token issued by the hub verifies on the agent (the snapshot's JWKS), is
# refused there within 2 s of token revoke or account disable on the hub,
# and so is a grant removal (times printed); token create with an API
# key on the agent is exchanged at the hub; pam.auth with a token works; with
# the hub stopped the agent still answers and fleet status shows the hub
# unreachable; restarted with the hub down it serves the persisted
# snapshot at once; with max_staleness 5 and the hub still down a token
# login (pam.auth) is refused with status 5 and "directory not reached for
# N s", and works again once the hub is back.  A second agent behind a
# TLS proxy that flips one byte of each snapshot payload enrolls but
# applies nothing (every refusal reason: tests/unit/test_snapverify.c).
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/lib_pg.sh"
. "$TESTS_DIR/http/http_lib.sh"
. "$TESTS_DIR/cred_lib.sh"

command -v openssl >/dev/null || bail "openssl is needed (make deps)"
command -v curl >/dev/null || bail "curl is needed (make deps)"

hub1_https_up

setup_ok=1
for c in "team create ta" "team create teambravo" "workspace create wa --team ta" \
	"workspace create wsbravo --team teambravo" "account create svc-alpha" \
	"account create svc-bravozulu" "account create svc-teamy" \
	"grant add svc-alpha --workspace wa --role editor" \
	"grant add svc-bravozulu --workspace wsbravo --role admin" \
	"grant add svc-teamy --team ta --role viewer" "account create svc-tok" \
	"grant add svc-tok --workspace wa --role viewer"; do
	# shellcheck disable=SC2086
	expect_exit 0 $H1 $c || setup_ok=0
done
[ $setup_ok = 1 ] && ok "hub: svc-alpha and svc-teamy reach wa, svc-bravozulu only wsbravo" || bail "the directory"

one_agent_init "$TMPD/agent" agent-x \
	"hubs = [ \"$U1\" ];" "hub_ca = \"$PKI/ca.crt\";" "refresh_interval = 5;" "max_staleness = 3600;"
one_agent_start
expect_exit 0 $H1 host token create --workspace wa && TOK=$(tail -n 1 <<<"$OUT")
expect_exit 0 $ACTL host enroll "$TOK" || bail "the agent enrolls"
ok "the agent enrolls in workspace wa"

nss_has() { grep -rqaF -e "$1" "$AG/nss"; }
wait_for 10 nss_has svc-alpha >/dev/null 2>&1
if nss_has svc-alpha && nss_has svc-teamy && ! nss_has svc-bravozulu; then
	ok "after enroll the agent's NSS snapshot has svc-alpha and svc-teamy, not svc-bravozulu"
else
	not_ok "after enroll the agent's NSS snapshot has svc-alpha and svc-teamy, not svc-bravozulu"
	ls -l "$AG/nss" | sed 's/^/# /'
	diag_file "$AG/daemon.log" 20
fi
if expect_exit 0 $ACTL --json account access svc-alpha && [ "$(json_py 'd["role"]' <<<"$OUT")" = editor ]; then
	ok "account access svc-alpha on the agent: editor (from the applied records)"
else
	not_ok "account access svc-alpha on the agent: editor"
	diag "$OUT $ERR"
fi

HUBSEQ=$(curl -s --cacert "$PKI/ca.crt" -m 10 -H "Authorization: Bearer $(cat "$AG/state/host.credential")" \
	"$U1/v1/agent/changes?since=0" | json_py 'd["seq"]')
if expect_exit 0 $ACTL --json fleet status &&
	[ "$(json_py '[d["mode"], d["snapshot_seq"], d["age_s"] is not None and d["age_s"] <= 5, d["stale"], d["hubs"][0]["reachable"]]' <<<"$OUT")" = "[\"agent\", $HUBSEQ, true, false, true]" ]; then
	ok "fleet status: snapshot_seq = the hub's seq ($HUBSEQ), age_s small, not stale, the hub reachable"
else
	not_ok "fleet status: snapshot_seq = the hub's seq ($HUBSEQ), age_s small, not stale, the hub reachable"
	diag "$OUT $ERR"
fi

# ---- credentials on the agent ---------------------------------------------------------------
CTL=$H1 key_create svc-tok || bail "a key on the hub"
CTL=$H1 xchg 0 "$KEY" || bail "a session token from the hub"
TOKA=$OUT
CTL=$H1 xchg 0 "$KEY" || bail "a second session token from the hub"
TOKB=$OUT
if expect_exit 0 $ACTL --json token verify "$TOKA" && [ "$(json_py 'd["sub"]' <<<"$OUT")" = svc-tok ]; then
	ok "a session token issued by the hub verifies on the agent (the snapshot's JWKS)"
else
	not_ok "a session token issued by the hub verifies on the agent"
	diag "$OUT $ERR"
fi
t0=$(now)
STDIN_FILE=/dev/null expect_exit 0 $H1 token revoke "$TOKA" || not_ok "token revoke on the hub"
gone=0
for _ in $(seq 1 100); do
	$ACTL token verify "$TOKA" >/dev/null 2>&1 || { gone=1; break; }
	sleep 0.05
done
dt=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.3f", b-a}')
diag "token revoke on the hub -> refused on the agent after ${dt}s"
if [ $gone = 1 ] && awk -v d="$dt" 'BEGIN{exit !(d < 2.0)}' &&
	expect_exit 0 $ACTL token verify "$TOKB"; then
	ok "token revoke on the hub: refused on the agent within 2 s (${dt}s); the other token still verifies"
else
	not_ok "token revoke on the hub: refused on the agent within 2 s (${dt}s)"
fi
put_secret "$TMPD/k.key" "$KEY"
if expect_exit 0 $ACTL token create --key-file "$TMPD/k.key" && [[ $(tail -n 1 <<<"$OUT") =~ $JWT_RE ]]; then
	ok "token create with an API key on the agent: exchanged at the hub (a token)"
else
	not_ok "token create with an API key on the agent: exchanged at the hub"
	diag "$OUT $ERR"
fi
t0=$(now)
expect_exit 0 $H1 account disable svc-tok || not_ok "account disable on the hub"
gone=0
for _ in $(seq 1 100); do
	$ACTL token verify "$TOKB" >/dev/null 2>&1 || { gone=1; break; }
	sleep 0.05
done
dt=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.3f", b-a}')
diag "account disable on the hub -> token refused on the agent after ${dt}s"
if [ $gone = 1 ] && awk -v d="$dt" 'BEGIN{exit !(d < 2.0)}'; then
	ok "account disable on the hub: its token refused on the agent within 2 s (${dt}s)"
else
	not_ok "account disable on the hub: its token refused on the agent within 2 s (${dt}s)"
fi

# ---- a change on the hub reaches the agent ------------------------------------------------
role_of() { $ACTL --json account access svc-alpha 2>/dev/null | json_py 'd["role"]' 2>/dev/null; }
t0=$(now)
expect_exit 0 $H1 grant remove svc-alpha --workspace wa || not_ok "grant remove on the hub"
gone=0
for _ in $(seq 1 100); do
	[ "$(role_of)" != editor ] && { gone=1; break; }
	sleep 0.05
done
dt=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.3f", b-a}')
diag "grant remove on the hub -> seen on the agent after ${dt}s"
if [ $gone = 1 ] && awk -v d="$dt" 'BEGIN{exit !(d < 2.0)}'; then
	ok "grant remove on the hub: svc-alpha has no access on the agent within 2 s (${dt}s)"
else
	not_ok "grant remove on the hub: svc-alpha has no access on the agent within 2 s (${dt}s, role $(role_of))"
fi
wait_for 5 bash -c "! grep -rqaF svc-alpha '$AG/nss'" >/dev/null 2>&1
if ! nss_has svc-alpha && nss_has svc-teamy; then
	ok "the agent's NSS snapshot drops svc-alpha, keeps svc-teamy"
else
	not_ok "the agent's NSS snapshot drops svc-alpha, keeps svc-teamy"
fi

# ---- a PAM token login through the agent's socket (pam.auth, as pam_svcacct sends it) -------
pam_auth() { # TOKEN -> $OUT (JSON reply), $RC (daemon status)
	OUT=$("$PY" "$TESTS_DIR/proto_client.py" "$AG/svcacctd.sock" call PAM_AUTH F_NAME=svc-teamy \
		F_SERVICE=sshd "F_TOKEN=b:$(printf '%s' "$1" | od -An -tx1 | tr -d ' \n')" 2>&1)
	RC=$?
}
CTL=$H1 key_create svc-teamy || bail "a key of svc-teamy on the hub"
CTL=$H1 xchg 0 "$KEY" || bail "a token of svc-teamy from the hub"
TOKC=$OUT
pam_auth "$TOKC"
if [ "$RC" = 0 ]; then
	ok "pam.auth on the agent with svc-teamy's hub token: accepted"
else
	not_ok "pam.auth on the agent with svc-teamy's hub token: accepted (status $RC)"
	diag "$OUT"
fi

# ---- the hub away ------------------------------------------------------------------------
SEQ_BEFORE=$($ACTL --json fleet status | json_py 'd["snapshot_seq"]')
hub_stop 1
sleep 2
if expect_exit 0 $ACTL --json fleet status &&
	[ "$(json_py '[d["snapshot_seq"], d["hubs"][0]["reachable"]]' <<<"$OUT")" = "[$SEQ_BEFORE, false]" ] &&
	nss_has svc-teamy; then
	ok "hub stopped: the agent still answers (seq $SEQ_BEFORE, svc-teamy in its NSS), the hub unreachable"
else
	not_ok "hub stopped: the agent still answers, the hub unreachable"
	diag "$OUT $ERR"
fi
one_agent_stop
sed -i 's/^max_staleness = .*/max_staleness = 5;/' "$AG/svcacctd.conf"
one_agent_start
if expect_exit 0 $ACTL --json fleet status &&
	[ "$(json_py '[d["snapshot_seq"], d["age_s"] is not None]' <<<"$OUT")" = "[$SEQ_BEFORE, true]" ] &&
	nss_has svc-teamy && [ "$(json_py 'd["role"]' <<<"$($ACTL --json account access svc-teamy)")" = viewer ]; then
	ok "agent restarted with the hub down: serves the persisted snapshot at once (seq, its age, svc-teamy viewer)"
else
	not_ok "agent restarted with the hub down: serves the persisted snapshot at once"
	diag "$OUT $ERR"
	diag_file "$AG/daemon.log" 10
fi
stale() { $ACTL --json fleet status 2>/dev/null | json_py 'd["stale"]' 2>/dev/null | grep -q true; }
wait_for 20 stale >/dev/null 2>&1
pam_auth "$TOKC"
if [ "$RC" = 5 ] && grep -qE "directory not reached for [0-9]+ s" <<<"$OUT"; then
	ok "max_staleness 5, hub down: pam.auth with a token refused, status 5 (PAM_AUTHINFO_UNAVAIL), \"$(grep -oE 'directory not reached for [0-9]+ s' <<<"$OUT")\""
else
	not_ok "max_staleness 5, hub down: pam.auth with a token refused with status 5 and the reason (status $RC)"
	diag "$OUT"
fi
hub_start 1 || bail "hub 1 starts again"
back() { pam_auth "$TOKC"; [ "$RC" = 0 ]; }
if wait_for 20 back >/dev/null 2>&1; then
	ok "hub back: the agent syncs and the token login works again"
else
	not_ok "hub back: the agent syncs and the token login works again (status $RC)"
	diag "$OUT"
fi
expect_exit 0 $H1 account disable svc-teamy
gone=0
for _ in $(seq 1 300); do
	! grep -rqaF svc-teamy "$AG/nss" && { gone=1; break; }
	[ "$(json_py 'd["status"]' <<<"$($ACTL --json account access svc-teamy 2>/dev/null)" 2>/dev/null)" = disabled ] && { gone=1; break; }
	sleep 0.1
done
[ $gone = 1 ] && ok "hub back: a change made there reaches the agent (svc-teamy disabled)" ||
	{ not_ok "hub back: a change made there reaches the agent"; diag_file "$AG/daemon.log" 10; }
one_agent_stop

# ---- a tampered snapshot ----------------------------------------------------------------
# A second agent reaches the hub through a TLS proxy (the hub's certificate)
# that flips one byte of every snapshot payload: it enrolls (the proxy
# passes everything else unchanged) but applies nothing.
cat >"$TMPD/flip.py" <<'PYEOF'
import base64, http.client, json, socket, ssl, sys, threading
port, hub_port, crt, key, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); sctx.load_cert_chain(crt, key)
cctx = ssl.create_default_context(cafile=ca)
def serve(c):
    try:
        c = sctx.wrap_socket(c, server_side=True); c.settimeout(40)
        f = c.makefile("rb"); line = f.readline().decode(); hdrs = {}
        while True:
            h = f.readline().decode()
            if h in ("\r\n", ""): break
            k, v = h.split(":", 1); hdrs[k.strip().lower()] = v.strip()
        body = f.read(int(hdrs.get("content-length", "0")))
        method, path, _ = line.split(" ", 2)
        up = http.client.HTTPSConnection("127.0.0.1", hub_port, context=cctx, timeout=40)
        fw = {k: v for k, v in hdrs.items() if k in ("authorization", "content-type", "accept")}
        up.request(method, path, body=body or None, headers=fw)
        r = up.getresponse(); data = r.read()
        if path.startswith("/v1/agent/snapshot") and r.status == 200:
            env = json.loads(data); p = bytearray(base64.b64decode(env["payload"]))
            p[len(p) // 2] ^= 1; env["payload"] = base64.b64encode(bytes(p)).decode()
            data = json.dumps(env).encode()
        c.sendall(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (r.status, len(data)) + data)
    except Exception:
        pass
    finally:
        try: c.close()
        except Exception: pass
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(16)
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
PYEOF
PX=$(free_port)
"$PY" "$TMPD/flip.py" "$PX" "$P1" "$PKI/hub.crt" "$PKI/hub.key" "$PKI/ca.crt" >"$TMPD/flip.log" 2>&1 &
track_pid $!
one_agent_init "$TMPD/agent2" agent-y \
	"hubs = [ \"https://127.0.0.1:$PX\" ];" "hub_ca = \"$PKI/ca.crt\";" "refresh_interval = 5;"
one_agent_start
expect_exit 0 $H1 host token create --workspace wa && TOK=$(tail -n 1 <<<"$OUT")
refused() { grep -q "snapshot refused: bad signature" "$AG/daemon.log"; }
if expect_exit 0 $ACTL host enroll "$TOK" && wait_for 15 refused >/dev/null 2>&1 &&
	expect_exit 0 $ACTL --json fleet status && [ "$(json_py 'd["snapshot_seq"]' <<<"$OUT")" = 0 ] &&
	! nss_has svc-tok; then
	ok "a snapshot with one payload byte flipped (through a proxy) is refused: logged, nothing applied (seq 0, no account)"
else
	not_ok "a snapshot with one payload byte flipped is refused, nothing applied"
	diag "$OUT $ERR"
	diag_file "$AG/daemon.log" 10
fi
one_agent_stop
