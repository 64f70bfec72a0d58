#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Secrets hygiene (DESIGN.md section 4): after a session of key creations,
# exchanges (good and refused), verifies, revokes and admin-by-token
# requests, no API key (nor its secret part) and no session token (nor its
# signature) appears in the syslog stream, the daemon's stderr, the audit
# trail, or any file of the state and NSS directories.  The daemon runs
# without core dumps.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/cred_lib.sh"

start_daemon "rate_limit_count = 1000;" "lockout_threshold = 3;" || bail "daemon starts"

# Every secret of the session, one per line (mode 0600, outside the
# directories searched).
PAT="$TMPD/secrets.pat"
(umask 077 && : >"$PAT")
remember_key() { # KEY: the key and its secret part
	printf '%s\n%s\n' "$1" "${1:18:43}" >>"$PAT"
}
remember_token() { # TOKEN: the token and its signature
	printf '%s\n%s\n' "$1" "${1##*.}" >>"$PAT"
}

# ==============================================================================
diag "a session"

check $CTL account create ci
check $CTL account create bot --role admin
key_create ci --label one || bail "key create"
K1=$KEY K1ID=$KEYID
remember_key "$K1"
if expect_exit 0 $CTL --json key create ci --label two; then
	K2=$(printf '%s' "$OUT" | json_eval 'd["key"]')
	remember_key "$K2"
else
	bail "key create --json"
fi
key_create bot || bail "key create bot"
KB=$KEY
remember_key "$KB"

TOKENS=()
got_token() { TOKENS+=("$OUT"); remember_token "$OUT"; }
xchg 0 "$K1" && got_token
xchg 0 "$K2" && got_token
SVCACCT_API_KEY=$K1 expect_exit 0 $CTL token create && got_token
xchg_as_nobody 0 "$K2" && got_token
put_secret "$TMPD/k1.key" "$K1"
if expect_exit 0 $CTL --json token create --key-file "$TMPD/k1.key"; then
	OUT=$(printf '%s' "$OUT" | json_eval 'd["access_token"]')
	got_token
fi
xchg 0 "$KB" && got_token
TBOT=$OUT
[ "${#TOKENS[@]}" = 6 ] && ok "6 tokens issued" || not_ok "6 tokens issued (${#TOKENS[@]})"

# refused exchanges: the daemon saw these keys too
for k in "$(make_key "$K1ID")" "$(make_key "$K1ID")" "$(bad_checksum_key "$K2")" "$(make_key)" "$(make_key "$K1ID")"; do
	remember_key "$k"
	xchg 1 "$k" || not_ok "a refused key exits 1"
done
xchg 1 "$K1" # locked out by the three wrong secrets
check_exit 2 -d "a key on argv is refused before it reaches the daemon" $CTL token create "$K2"

# verifies, with the token on stdin, on argv, as --json
bad_verifies=0
for t in "${TOKENS[@]}"; do
	put_secret "$TMPD/t.jwt" "$t"
	STDIN_FILE="$TMPD/t.jwt" expect_exit 0 $CTL token verify || bad_verifies=$((bad_verifies + 1))
	expect_exit 0 $CTL --json token verify "$t" || bad_verifies=$((bad_verifies + 1))
done
[ "$bad_verifies" = 0 ] && ok "every token verifies (stdin, argv, --json)" ||
	not_ok "every token verifies (stdin, argv, --json): $bad_verifies failed"
# a tampered token: the daemon saw it
bad=${TOKENS[0]%?}A
[ "$bad" = "${TOKENS[0]}" ] && bad=${TOKENS[0]%?}B
remember_token "$bad"
check_exit 1 -d "a tampered token is not valid" $CTL token verify "$bad"

# admin by token
put_secret "$TMPD/bot.jwt" "$TBOT"
check -d "admin by token (--token-file)" $CTL --token-file "$TMPD/bot.jwt" account create by-bot
SVCACCT_TOKEN=$TBOT check -d "admin by token (\$SVCACCT_TOKEN)" $CTL key list ci

# revokes
put_secret "$TMPD/t.jwt" "${TOKENS[1]}"
STDIN_FILE="$TMPD/t.jwt" check -d "token revoke - (stdin)" $CTL token revoke -
check -d "token revoke TOKEN" $CTL token revoke "${TOKENS[2]}"
check -d "token revoke --account" $CTL token revoke --account ci
check -d "token revoke (the admin token, on argv)" $CTL token revoke "$TBOT"
check_exit 3 -d "a revoked admin token is refused" $CTL --token-file "$TMPD/bot.jwt" account create by-bot2
check $CTL key disable ci "$K1ID"
check $CTL key revoke ci "$K1ID"

npat=$(wc -l <"$PAT")
diag "$npat secret strings to look for"

# ==============================================================================
diag "the daemon process"

if grep -E '^Max core file size +0 +0 ' "/proc/$DAEMON_PID/limits" >/dev/null; then
	ok "the daemon runs with a core file size limit of 0 (soft and hard)"
else
	not_ok "the daemon runs with a core file size limit of 0"
	grep -i core "/proc/$DAEMON_PID/limits" | diag
fi
# PR_SET_DUMPABLE 0: /proc/PID/{mem,environ,...} belong to root whatever the
# process's uid; the daemon runs as root here, so only the call is visible:
# nothing to assert beyond the core limit.

# ==============================================================================
diag "where the secrets must not be"

$CTL --json audit list >"$TMPD/audit.json" </dev/null 2>"$TMPD/audit.err" ||
	not_ok "audit list --json"
$CTL audit list >"$TMPD/audit.txt" </dev/null 2>>"$TMPD/audit.err" ||
	not_ok "audit list"
stop_daemon || not_ok "the daemon stops"

# positive controls: the places hold the session's events
n=$(grep -c '"token.issue"' "$SYSLOG_LOG")
[ "$n" -ge 6 ] && ok "control: syslog holds the token.issue events ($n)" || not_ok "control: syslog holds the token.issue events ($n)"
grep -qF -e "$K1ID" "$SYSLOG_LOG" && ok "control: syslog names keys by key id" || not_ok "control: syslog names keys by key id"
jti=$(jwt_part "${TOKENS[0]}" payload | json_eval 'd["jti"]')
grep -qF -e "$jti" "$TMPD/audit.json" && ok "control: the audit trail names tokens by jti" || not_ok "control: the audit trail names tokens by jti"
n=$(json_eval 'len([e for e in d if e["event"] == "token.deny"])' <"$TMPD/audit.json")
[ "$n" -ge 6 ] && ok "control: the audit trail holds the refusals ($n token.deny)" || not_ok "control: the audit trail holds the refusals ($n)"
state_files=$(find "$STATE" "$NSSD" -type f | sort)
grep -qaF -e "$K1ID" $state_files && ok "control: the state files name the key id" || not_ok "control: the state files name the key id"

no_secret_in() { # DESC FILE...
	local desc=$1 hits
	shift
	hits=$(grep -laFf "$PAT" "$@" 2>/dev/null)
	if [ -z "$hits" ]; then
		ok "no key or token in $desc"
	else
		not_ok "no key or token in $desc"
		printf '%s\n' "$hits" | sed "s#$TMPD/##" | diag
	fi
}
# control: the search itself finds a planted key and a planted token
printf 'x%sx\n' "${K2:18:43}" >"$TMPD/planted.1"
printf 'Bearer %s\n' "${TOKENS[3]}" >"$TMPD/planted.2"
if [ "$(grep -laFf "$PAT" "$TMPD/planted.1" "$TMPD/planted.2" | wc -l)" = 2 ]; then
	ok "control: the search finds a planted key secret and a planted token"
else
	not_ok "control: the search finds a planted key secret and a planted token"
fi
rm -f "$TMPD"/planted.*
no_secret_in "the syslog stream" "$SYSLOG_LOG"
no_secret_in "the daemon's stderr (daemon.log)" "$DAEMON_LOG"
no_secret_in "the audit trail (audit list --json and plain)" "$TMPD/audit.json" "$TMPD/audit.txt" "$TMPD/audit.err"
no_secret_in "the state directory ($(printf '%s ' $(find "$STATE" -type f -printf '%f\n' | sort)))" $(find "$STATE" -type f)
no_secret_in "the NSS snapshot directory" /dev/null $(find "$NSSD" -type f)
