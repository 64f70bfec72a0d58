#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# svcacctctl checks who listens on its socket before it sends anything
# (issue 14, finding 6): the socket file must be owned by root or the daemon
# user (_svcacct), in a directory nobody else can swap it in, and the server
# (SO_PEERCRED) must run as one of them.  An impostor on the path given with
# -s gets no byte: not the key of "token create" ($SVCACCT_API_KEY), not the
# session token that rides on every management request ($SVCACCT_TOKEN).
# --trust-uid UID / $SVCACCT_TRUST_UID trust a daemon run by UID (a test
# daemon of one's own).
. "$(dirname "$0")/../lib.sh"

start_daemon || bail "daemon starts"
check $CTL account create ci-trust --role admin
expect_exit 0 $CTL key create ci-trust || bail "key create"
KEY=$(printf '%s\n' "$OUT" | tail -n 1)
expect_exit 0 env SVCACCT_API_KEY="$KEY" $CTL token create || bail "token create"
TOK=$(printf '%s\n' "$OUT" | tail -n 1)
[ -n "$KEY" ] && [ -n "$TOK" ] || bail "a key and a token"

# impostor SOCKET LOG [--setuid UID]: listens on SOCKET, logs one line per
# connection with the number of bytes it received, and answers a refusal.
cat >"$TMPD/impostor.py" <<'EOF'
import os, socket, struct, sys
path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chmod(path, 0o777)
if len(sys.argv) > 4 and sys.argv[3] == "--setuid":
    uid = int(sys.argv[4])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
s.listen(16)
open(log, "a").write("listening\n")
while True:
    c, _ = s.accept()
    c.settimeout(3)
    got = b""
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            got += b
            if len(got) >= 16 and len(got) >= 16 + struct.unpack(">I", got[8:12])[0]:
                break
    except OSError:
        pass
    with open(log, "a") as f:
        f.write("connection %d bytes\n" % len(got))
    with open(log + ".bytes", "ab") as f:
        f.write(got)
    msg = b"impostor here"
    body = struct.pack(">HBBI", 2, 1, 0, len(msg)) + msg
    try:
        c.sendall(struct.pack(">IHHII", 0x53564341, 1, 1, len(body), 0) + body)
    except OSError:
        pass
    c.close()
EOF
start_impostor() { # NAME SOCKET RUNAS [--setuid UID]
	local name=$1 sock=$2 runas=$3
	shift 3
	for f in "$TMPD/$name.log" "$TMPD/$name.log.bytes"; do
		: >"$f"
		chmod 0666 "$f"
	done
	rm -f "$TMPD/$name.log.ready"
	if [ "$runas" = nobody ]; then
		# setpriv itself (not the run_as_nobody function): $! is the server
		setpriv --reuid=65534 --regid=65534 --clear-groups -- \
			"$PY" "$TMPD/impostor.py" "$sock" "$TMPD/$name.log" "$@" </dev/null >/dev/null 2>"$TMPD/$name.err" &
	else
		"$PY" "$TMPD/impostor.py" "$sock" "$TMPD/$name.log" "$@" </dev/null >/dev/null 2>"$TMPD/$name.err" &
	fi
	track_pid $!
	disown $! 2>/dev/null
	for _ in $(seq 200); do grep -q '^listening' "$TMPD/$name.log" && return 0; sleep 0.025; done
	diag "impostor $name did not start: $(cat "$TMPD/$name.err")"
	return 1
}
received() { # NAME: bytes the impostor got over all connections
	awk '{n += $2} END {print n + 0}' "$TMPD/$1.log"
}
connections() { grep -c '^connection' "$TMPD/$1.log"; }
got_secret() { # NAME: 1 when the impostor saw the key or the token
	grep -qaF -- "$KEY" "$TMPD/$1.log.bytes" 2>/dev/null ||
		grep -qaF -- "$TOK" "$TMPD/$1.log.bytes" 2>/dev/null
}

# ---- an impostor owning its socket (in a directory nobody owns) ----------------
mkdir -m 0755 "$TMPD/nobody"
chown 65534:65534 "$TMPD/nobody"
start_impostor own "$TMPD/nobody/svcacctd.sock" nobody || bail "impostor (nobody's socket) starts"
IMP="$TMPD/nobody/svcacctd.sock"
if expect_exit 5 env SVCACCT_API_KEY="$KEY" SVCACCT_TOKEN="$TOK" "$SVCACCTCTL" -s "$IMP" token create; then
	ok "token create on nobody's socket: refused, exit 5 (daemon unreachable / not trusted)"
else
	not_ok "token create on nobody's socket: refused, exit 5 (got $RC)"
fi
if [[ $ERR == *"refusing $IMP"* && $ERR == *"nothing was sent"* ]]; then
	ok "token create on nobody's socket: the message names the socket and says nothing was sent"
else
	not_ok "token create on nobody's socket: clear message (stderr: $ERR)"
fi
if [ "$(received own)" = 0 ] && [ "$(connections own)" = 0 ]; then
	ok "token create on nobody's socket: the impostor received zero bytes (not even connected to)"
else
	not_ok "token create on nobody's socket: the impostor received zero bytes (got $(received own) bytes)"
fi
check_exit 5 -d "account list with \$SVCACCT_TOKEN on nobody's socket: exit 5" \
	env SVCACCT_TOKEN="$TOK" "$SVCACCTCTL" -s "$IMP" account list
check_exit 5 -d "token verify (the token on stdin) on nobody's socket: exit 5" \
	sh -c 'printf "%s\n" "$1" | "$2" -s "$3" token verify' sh "$TOK" "$SVCACCTCTL" "$IMP"
check_exit 5 -d "SVCACCT_SOCKET pointing at nobody's socket: exit 5" \
	env SVCACCT_SOCKET="$IMP" SVCACCT_API_KEY="$KEY" "$SVCACCTCTL" token create
check_exit 5 -d "run as nobody itself: still refused (exit 5)" \
	run_as_nobody env SVCACCT_API_KEY="$KEY" "$SVCACCTCTL" -s "$IMP" token create
if [ "$(received own)" = 0 ] && ! got_secret own; then
	ok "after five refused commands the impostor still has zero bytes"
else
	not_ok "after five refused commands the impostor still has zero bytes (got $(received own))"
fi

# ---- a root-owned socket, but the server runs as nobody (SO_PEERCRED) ----------
start_impostor peer "$TMPD/peer.sock" root --setuid 65534 || bail "impostor (server as nobody) starts"
check_exit 5 -d "server running as nobody behind a root-owned socket: token create exits 5" \
	env SVCACCT_API_KEY="$KEY" SVCACCT_TOKEN="$TOK" "$SVCACCTCTL" -s "$TMPD/peer.sock" token create
if [[ $ERR == *"not running as root or the daemon's user"* ]]; then ok "SO_PEERCRED refusal: clear message"; else not_ok "SO_PEERCRED refusal: clear message (stderr: $ERR)"; fi
if [ "$(received peer)" = 0 ] && ! got_secret peer; then
	ok "SO_PEERCRED refusal: the server received zero bytes"
else
	not_ok "SO_PEERCRED refusal: the server received zero bytes (got $(received peer))"
fi

# ---- the explicit trust option -----------------------------------------------------
expect_exit 1 env SVCACCT_API_KEY="$KEY" "$SVCACCTCTL" --trust-uid 65534 -s "$IMP" token create
if [ "$RC" = 1 ] && [[ $ERR == *"impostor here"* ]] && [ "$(received own)" -gt 0 ]; then
	ok "--trust-uid 65534: svcacctctl talks to nobody's daemon (it answered)"
else
	not_ok "--trust-uid 65534: svcacctctl talks to nobody's daemon (exit $RC, $(received own) bytes, stderr: $ERR)"
fi
n0=$(received own)
expect_exit 1 env SVCACCT_TRUST_UID=65534 SVCACCT_TOKEN="$TOK" "$SVCACCTCTL" -s "$IMP" account list
if [ "$RC" = 1 ] && [ "$(received own)" -gt "$n0" ]; then
	ok "SVCACCT_TRUST_UID=65534: the same"
else
	not_ok "SVCACCT_TRUST_UID=65534: the same (exit $RC)"
fi
expect_exit 1 "$SVCACCTCTL" -s "$TMPD/peer.sock" account list --trust-uid=65534
if [ "$RC" = 1 ] && [ "$(received peer)" -gt 0 ]; then
	ok "--trust-uid among the command's options: trusts a server running as nobody"
else
	not_ok "--trust-uid among the command's options (exit $RC)"
fi
n1=$(received own)
check_exit 5 -d "--trust-uid of another uid (65533): nobody's socket is still refused" \
	env SVCACCT_API_KEY="$KEY" "$SVCACCTCTL" --trust-uid 65533 -s "$IMP" token create
if [ "$(received own)" = "$n1" ]; then ok "... and nothing was sent"; else not_ok "... and nothing was sent"; fi

# ---- bad values: usage errors, nothing sent -----------------------------------------
n1=$(received own)
for v in abc -1 4294967295 99999999999 "" 1x; do
	check_exit 2 -d "--trust-uid '$v': usage error (exit 2)" "$SVCACCTCTL" --trust-uid "$v" -s "$IMP" account list
done
check_exit 2 -d "SVCACCT_TRUST_UID=nobody (not a uid): usage error (exit 2)" \
	env SVCACCT_TRUST_UID=nobody "$SVCACCTCTL" -s "$IMP" account list
if [[ $ERR == *"SVCACCT_TRUST_UID is not a uid"* ]]; then ok "... with a clear message"; else not_ok "... with a clear message (stderr: $ERR)"; fi
if [ "$(received own)" = "$n1" ]; then ok "bad trust values: nothing was sent"; else not_ok "bad trust values: nothing was sent"; fi
if "$SVCACCTCTL" --help | grep -q -- '--trust-uid UID'; then ok "--help describes --trust-uid"; else not_ok "--help describes --trust-uid"; fi

# ---- the real daemon (root) is trusted without options ------------------------------
check -d "root's daemon: account list (no option)" $CTL account list
check -d "root's daemon: token create as nobody (no option)" \
	run_as_nobody env SVCACCT_API_KEY="$KEY" $CTL token create
check -d "root's daemon: --trust-uid does not stop root from being trusted" \
	$CTL --trust-uid 65534 account list
SVCACCT_TOKEN=$TOK check -d "root's daemon: admin by \$SVCACCT_TOKEN as nobody" \
	run_as_nobody $CTL account create ci-trust-made
