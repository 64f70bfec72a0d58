# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# tests/cred_lib.sh: helpers for the API key and session token tests
# (t_keys, t_tokens, t_rotation, t_secrets), sourced after tests/lib.sh.
#
#   json_eval CODE [ARGS...]  python with stdin's JSON as d, ARGS in
#                             sys.argv[2:]: runs CODE's lines, prints the
#                             value of the last one (an expression)
#   key_create NAME [ARGS...] key create NAME ARGS: sets KEY (stdout's last
#                             line), KEYID (its key id), RC, OUT, ERR;
#                             returns 0 when it worked
#   put_secret FILE VALUE     writes VALUE and a newline to FILE, mode 0600
#   xchg WANT KEY [CTLARGS..] token create with KEY from a key file; sets
#                             RC, OUT (the token), ERR; 0 when it exited WANT
#   xchg_as_nobody WANT KEY   the same as uid 65534, key on standard input
#   make_key [KEYID]          a well-formed key with a valid checksum and a
#                             random secret (for KEYID, else a random id)
#   bad_checksum_key KEY      KEY with its last character changed
#   key_checksum_ok KEY       0 when KEY's check characters are right
#   last_deny                 "REASON KEYID" of the newest token.deny event
#   audit_count EVENT         number of audit events of type EVENT
#   jwt_part TOKEN header|payload   the decoded JSON of that part
#   start_daemon_faked OFFSET starts the daemon again (same state) with the
#                             wall clock moved by OFFSET (faketime syntax:
#                             +16m, +91d); 1 when libfaketime is missing
#                             (FAKETIME_LIB empty) or the daemon does not
#                             come up with it
#   rewrite_conf LINES...     rewrites $CONF like start_daemon does
#   is_asan_build             0 when the binaries link ASan

KEY_RE='^svca_[A-Za-z0-9]{12}_[A-Za-z0-9]{49}$'
JWT_RE='^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$'
INVALID_MSG="svcacctctl: invalid API key"

json_eval() {
	"$PY" -c '
import json, sys
d = json.load(sys.stdin)
lines = sys.argv[1].strip("\n").split("\n")
g = {"d": d, "sys": sys, "json": json}
exec("\n".join(lines[:-1]), g)
r = eval(lines[-1], g)
print(r if isinstance(r, str) else json.dumps(r))
' "$@"
}

key_create() { # NAME [ARGS...]
	KEY="" KEYID=""
	expect_exit 0 $CTL key create "$@" || return 1
	KEY=$(printf '%s\n' "$OUT" | tail -n 1)
	KEYID=${KEY:5:12}
	[[ $KEY =~ $KEY_RE ]]
}

put_secret() { # FILE VALUE
	(umask 077 && printf '%s\n' "$2" >"$1")
}

xchg() { # WANT KEY [CTLARGS...]
	local want=$1 key=$2
	shift 2
	put_secret "$TMPD/xchg.key" "$key"
	expect_exit "$want" $CTL "$@" token create --key-file "$TMPD/xchg.key"
	local rc=$?
	rm -f "$TMPD/xchg.key"
	return "$rc"
}

xchg_as_nobody() { # WANT KEY
	put_secret "$TMPD/xchg.key" "$2"
	STDIN_FILE="$TMPD/xchg.key" expect_exit "$1" run_as_nobody $CTL token create
	local rc=$?
	rm -f "$TMPD/xchg.key"
	return "$rc"
}

_KEYTOOL='
import os, sys, zlib
A = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
def b62(n, width):
    s = ""
    for _ in range(width):
        n, r = divmod(n, 62)
        s = A[r] + s
    assert n == 0
    return s
def check(body):
    return b62(zlib.crc32(body.encode()), 6)
op = sys.argv[1]
if op == "make":
    kid = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else \
        "".join(A[b % 62] for b in os.urandom(64) if b < 248)[:12]
    body = "svca_" + kid + "_" + b62(int.from_bytes(os.urandom(32), "big"), 43)
    print(body + check(body))
elif op == "flip":
    k = sys.argv[2]
    print(k[:-1] + ("0" if k[-1] != "0" else "1"))
elif op == "ok":
    k = sys.argv[2]
    sys.exit(0 if len(k) == 67 and check(k[:61]) == k[61:] else 1)
'

make_key() { "$PY" -c "$_KEYTOOL" make "${1:-}"; }
bad_checksum_key() { "$PY" -c "$_KEYTOOL" flip "$1"; }
key_checksum_ok() { "$PY" -c "$_KEYTOOL" ok "$1"; }

last_deny() {
	$CTL --json audit list --event token.deny --limit 1 </dev/null 2>/dev/null |
		json_eval '"%s %s" % (d[-1].get("reason"), (d[-1].get("subject") or {}).get("key_id")) if d else "none none"' 2>/dev/null ||
		echo "error error"
}

audit_count() { # EVENT
	$CTL --json audit list --event "$1" </dev/null 2>/dev/null |
		json_eval 'len([e for e in d if e.get("event") == sys.argv[2]])' "$1" 2>/dev/null ||
		echo -1
}

jwt_part() { # TOKEN header|payload
	"$PY" -c '
import base64, json, sys
t, part = sys.argv[1], sys.argv[2]
seg = t.split(".")[0 if part == "header" else 1]
print(json.dumps(json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))))
' "$1" "$2"
}

rewrite_conf() { _svca_write_conf "$@"; }

is_asan_build() { grep -qa __asan_init "$SVCACCTD"; }

FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1 2>/dev/null | head -n 1)
start_daemon_faked() { # OFFSET
	[ -n "$FAKETIME_LIB" ] || return 1
	local w="$TMPD/svcacctd-faked"
	cat >"$w" <<EOF
#!/bin/sh
# svcacctd with its wall clock moved by $1 (monotonic time stays real)
export LD_PRELOAD="$FAKETIME_LIB" FAKETIME="$1" FAKETIME_DONT_FAKE_MONOTONIC=1
# libfaketime comes before the ASan runtime in the preload list
export ASAN_OPTIONS="\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}verify_asan_link_order=0"
exec "$SVCACCTD" "\$@"
EOF
	chmod 0755 "$w"
	local real=$SVCACCTD rc
	SVCACCTD=$w
	start_daemon_reuse
	rc=$?
	SVCACCTD=$real
	return "$rc"
}
