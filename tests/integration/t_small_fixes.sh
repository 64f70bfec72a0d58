#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The small ones of issue 19 (item 10): key create --out FILE (a new file
# of mode 0600, never replaced; the id on stdout, the key nowhere else),
# token verify after token revoke --account says "revoked", the
# daemon-unreachable message names systemctl where systemd runs the host,
# and the README's http_listen error is the daemon's real one.
# (svcacct-nss-setup --help: t_nss_setup.sh.)
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/cred_lib.sh"

start_daemon "rate_limit_count = 1000;" || bail "daemon starts"
check $CTL account create ci
check $CTL account create ci2

# ==============================================================================
diag "key create --out FILE"

# a umask that would leave the file readable by all: the file is 0600 anyway
if (umask 022 && expect_exit 0 $CTL key create ci --label out --out "$TMPD/ci.key" &&
	printf '%s\n%s\n' "$OUT" "$ERR" >"$TMPD/out.txt"); then
	ok "key create --out FILE exits 0"
else
	not_ok "key create --out FILE exits 0"
fi
OUTID=$(head -n 1 "$TMPD/out.txt")
KEY=$(cat "$TMPD/ci.key" 2>/dev/null)
check_out() { # DESC WANT CMD...
	local d=$1 w=$2
	shift 2
	if expect_exit 0 "$@" && [ "$OUT" = "$w" ]; then ok "$d"; else not_ok "$d (got '$OUT')"; fi
}
check_out "the file is mode 0600, owned by the caller" "600 $(id -u)" stat -c '%a %u' "$TMPD/ci.key"
if [[ $KEY =~ $KEY_RE ]] && [ "$(wc -l <"$TMPD/ci.key")" = 1 ]; then
	ok "the file holds the key and a newline"
else
	not_ok "the file holds the key and a newline"
fi
if [[ $OUTID =~ ^[0-9A-Za-z]{12}$ ]] && [ "$OUTID" = "${KEY:5:12}" ]; then
	ok "stdout is the key id alone"
else
	not_ok "stdout is the key id alone (got '$OUTID')"
fi
if ! grep -q -F -e "${KEY:18}" "$TMPD/out.txt" && grep -q -F -e "$TMPD/ci.key" "$TMPD/out.txt"; then
	ok "the key is not on stdout or stderr; stderr names the file"
else
	not_ok "the key is not on stdout or stderr; stderr names the file"
fi
check -d "the key in the file works (token create --key-file)" $CTL token create --key-file "$TMPD/ci.key"

# an existing file is never replaced, and no key is made
nkeys() { $CTL --json key list "$1" | json_eval 'len(d)'; }
before=$(nkeys ci)
cp "$TMPD/ci.key" "$TMPD/ci.key.orig"
if expect_exit 1 $CTL key create ci --out "$TMPD/ci.key" && [[ $ERR == *exists* ]]; then
	ok "key create --out an existing file: exit 1, 'exists'"
else
	not_ok "key create --out an existing file: exit 1 (rc $RC, stderr $ERR)"
fi
check -d "... the file is unchanged" cmp "$TMPD/ci.key" "$TMPD/ci.key.orig"
check_out "... and no key was made" "$before" nkeys ci
ln -s "$TMPD/elsewhere" "$TMPD/link.key"
check_exit 1 -d "key create --out a symbolic link: exit 1" $CTL key create ci --out "$TMPD/link.key"
if [ ! -e "$TMPD/elsewhere" ]; then ok "... nothing written through the link"; else not_ok "... nothing written through the link"; fi
check_exit 1 -d "key create --out in a missing directory: exit 1" \
	$CTL key create ci --out "$TMPD/no/such/dir/k"
check_out "... and no key was made" "$before" nkeys ci
check_exit 2 -d "key create --out '' is a usage error" $CTL key create ci --out ""
# refused by the daemon (no such account): the file it created goes again
check_exit 4 -d "key create --out for an unknown account: exit 4" \
	$CTL key create nosuch --out "$TMPD/nosuch.key"
if [ ! -e "$TMPD/nosuch.key" ]; then ok "... and the file is gone"; else not_ok "... and the file is gone"; fi
# --json: the key object with "file", without the key
if expect_exit 0 $CTL --json key create ci2 --out "$TMPD/ci2.key" &&
	[ "$(printf '%s' "$OUT" | json_eval '"%s %s %s" % ("key" in d, d["file"], d["account"])')" = "False $TMPD/ci2.key ci2" ] &&
	[ "$(stat -c %a "$TMPD/ci2.key")" = 600 ]; then
	ok "--json key create --out: {file, key_id, ...} without the key; file 0600"
else
	not_ok "--json key create --out (got $OUT)"
fi

# ==============================================================================
diag "token verify after token revoke --account: revoked"

T1=$(SVCACCT_API_KEY=$KEY $CTL token create) || bail "token create"
put_secret "$TMPD/t1.jwt" "$T1"
check $CTL token revoke --account ci
if STDIN_FILE="$TMPD/t1.jwt" expect_exit 1 $CTL token verify &&
	[ "$ERR" = "svcacctctl: token is not valid: revoked" ]; then
	ok "token verify after token revoke --account: 'revoked'"
else
	not_ok "token verify after token revoke --account: 'revoked' (got $ERR)"
fi
if STDIN_FILE="$TMPD/t1.jwt" expect_exit 1 $CTL --json token verify &&
	[ "$(printf '%s' "$OUT" | json_eval 'd["reason"]')" = revoked ]; then
	ok "... --json reason revoked"
else
	not_ok "... --json reason revoked (got $OUT)"
fi
# a token made after the revoke, then superseded by a role change
T2=$(SVCACCT_API_KEY=$KEY $CTL token create) || bail "token create"
put_secret "$TMPD/t2.jwt" "$T2"
STDIN_FILE="$TMPD/t2.jwt" check -d "a token made after the revoke is valid" $CTL token verify
check $CTL account update ci --role admin
if STDIN_FILE="$TMPD/t2.jwt" expect_exit 1 $CTL token verify &&
	[ "$ERR" = "svcacctctl: token is not valid: superseded" ]; then
	ok "after a role change it is 'superseded'"
else
	not_ok "after a role change it is 'superseded' (got $ERR)"
fi
if STDIN_FILE="$TMPD/t1.jwt" expect_exit 1 $CTL token verify && [[ $ERR == *": revoked" ]]; then
	ok "the token revoked before stays 'revoked'"
else
	not_ok "the token revoked before stays 'revoked' (got $ERR)"
fi
restart_daemon || bail "daemon restarts"
if STDIN_FILE="$TMPD/t1.jwt" expect_exit 1 $CTL token verify && [[ $ERR == *": revoked" ]]; then
	ok "... also after a restart (the mark is in the account record)"
else
	not_ok "... also after a restart (got $ERR)"
fi

# ==============================================================================
diag "daemon unreachable: the systemctl hint where systemd runs the host"

# /run as the host has it decides; a private tmpfs over /run shows both cases
# whatever the host is.
down_msg() { # with|without
	unshare -m --propagation private sh -c '
		mount -t tmpfs none /run || exit 99
		[ "$1" = with ] && mkdir -p /run/systemd/system
		exec "$2" -s "$3" account list' sh "$1" "$SVCACCTCTL" "$TMPD/nothing.sock"
}
HINT="(is svcacctd running? systemctl status svcacctd)"
if unshare -m --propagation private true 2>/dev/null; then
	if expect_exit 5 down_msg with && [[ $ERR == *"daemon not reachable at $TMPD/nothing.sock"*"$HINT" ]]; then
		ok "with /run/systemd/system: exit 5, the message ends with the systemctl hint"
	else
		not_ok "with /run/systemd/system: the hint (rc $RC, stderr $ERR)"
	fi
	if expect_exit 5 down_msg without && [[ $ERR == *"daemon not reachable at"* && $ERR != *systemctl* ]]; then
		ok "without systemd: exit 5, no hint"
	else
		not_ok "without systemd: no hint (rc $RC, stderr $ERR)"
	fi
else
	not_ok "a private mount namespace (unshare -m, needs root)"
fi
if expect_exit 5 $SVCACCTCTL -s "$TMPD/nothing.sock" --json account list && [ -z "$OUT" ]; then
	ok "unreachable with --json: exit 5, nothing on stdout"
else
	not_ok "unreachable with --json: exit 5 (rc $RC)"
fi

# ==============================================================================
diag "the README's http_listen error is the real one"

# The README shows line 3 of /etc/svcacct/svcacctd.conf; the same here.
printf '# 1\n# 2\nhttp_listen = "0.0.0.0:8080";\n' >"$TMPD/bad.conf"
grep -v '^http_listen' "$CONF" >>"$TMPD/bad.conf"
chmod 0644 "$TMPD/bad.conf"
expect_exit 1 "$SVCACCTD" -f -c "$TMPD/bad.conf"
real=$(printf '%s\n' "$ERR" | sed "s|$TMPD/bad.conf|/etc/svcacct/svcacctd.conf|g")
readme=$(awk '/^address and says why/ { f = 1; next } f && /^```$/ { if (n++) exit; next } f && n == 1' \
	"$REPO_DIR/README.md")
if [ -n "$readme" ] && [ "$real" = "$readme" ]; then
	ok "README's http_listen error text = svcacctd's (exit 1)"
else
	not_ok "README's http_listen error text = svcacctd's"
	diag "real:   $real" "README: $readme"
fi
