#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# `svcacctctl audit list` as an admin reads it (issue 19 item 4): the table
# (HOST, SERVICE, RHOST columns; subjects of team, workspace and grant
# events; a PAM login row names the service account; long ids cut short,
# whole in --json), the filters done by the daemon (--account also by the
# account's key ids, --event prefix and glob, --outcome, --service,
# --until, --host), --follow (a new event shows, SIGINT exits 0) and the
# usage errors (exit 2, nothing sent).
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/cred_lib.sh"

start_daemon 'host_workspaces = [ "farm" ];' 'rate_limit_count = 1000;' ||
	bail "daemon starts"

check $CTL team create ops
check $CTL workspace create farm --team ops
check $CTL account create ci
check $CTL account create other
check $CTL grant add ci --workspace farm --role editor
key_create ci || bail "key create ci"
K1=$KEY K1ID=$KEYID
key_create other || bail "key create other"
K2ID=$KEYID
xchg 0 "$K1" --json || bail "token create (ci)"
JTI=$(printf '%s' "$OUT" | json_eval 'd["access_token"]' | cut -d. -f2 |
	"$PY" -c 'import base64,json,sys; s=sys.stdin.read().strip(); print(json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))["jti"])')
[ -n "$JTI" ] || bail "the token's jti"

# A wrong secret for ci's key: the refusal names the key id only.
xchg 1 "$(make_key "$K1ID")" || not_ok "a wrong secret for ci's key is refused"

# A PAM login of ci over sshd, as pam_svcacct sends it (root on the socket).
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
"$PY" "$TESTS_DIR/proto_client.py" "$SOCK" call PAM_AUTH F_NAME=ci F_SERVICE=sshd \
	F_RHOST=192.0.2.7 "F_KEY=b:$(hex "$K1")" >"$TMPD/pam.json" 2>&1 ||
	{ diag_file "$TMPD/pam.json"; not_ok "PAM_AUTH of ci over sshd is accepted"; }

# ==============================================================================
diag "the table"

expect_exit 0 $CTL audit list || not_ok "audit list"
TABLE=$OUT
printf '%s\n' "$TABLE" | tail -n 8 | diag
head=$(printf '%s\n' "$TABLE" | head -n 1)
if [[ $head =~ ^SEQ\ +TS\ +HOST\ +EVENT\ +OUTCOME\ +ACTOR\ +SUBJECT\ +SERVICE\ +RHOST\ +REASON$ ]]; then
	ok "the table's columns: SEQ TS HOST EVENT OUTCOME ACTOR SUBJECT SERVICE RHOST REASON"
else
	not_ok "the table's columns (got: $head)"
fi
row() { printf '%s\n' "$TABLE" | grep -E -e "$1" | head -n 1; }
r=$(row ' team\.create ')
[[ $r == *" team ops "* ]] && ok "team.create: SUBJECT team ops" || not_ok "team.create: SUBJECT team ops (row: $r)"
r=$(row ' workspace\.create ')
[[ $r == *" ws farm "* ]] && ok "workspace.create: SUBJECT ws farm" || not_ok "workspace.create: SUBJECT ws farm (row: $r)"
r=$(row ' grant\.add ')
[[ $r == *" grant ci@farm "* ]] && ok "grant.add: SUBJECT grant ci@farm" || not_ok "grant.add: SUBJECT grant ci@farm (row: $r)"
r=$(row ' auth\.allow ')
if [[ $r =~ \ auth\.allow\ +success\ +ci\ .*\ sshd\ +192\.0\.2\.7\  ]] && [[ $r != *" root "* ]]; then
	ok "a PAM login row: ACTOR ci (not root), SERVICE sshd, RHOST 192.0.2.7"
else
	not_ok "a PAM login row: ACTOR ci, SERVICE sshd, RHOST 192.0.2.7 (row: $r)"
fi
HOSTNAME_=$(hostname)
r=$(row ' account\.create ')
[[ $r == *" $HOSTNAME_ "* ]] && ok "HOST column: this host's name" || not_ok "HOST column: this host's name (row: $r)"
r=$(row ' token\.issue ')
if [[ $r == *"key ${K1ID:0:8}…"* && $r == *"jti ${JTI:0:8}…"* ]] &&
	! printf '%s\n' "$TABLE" | grep -qF -e "$K1ID" && ! printf '%s\n' "$TABLE" | grep -qF -e "$JTI"; then
	ok "the table cuts key ids and jtis to 8 characters and …"
else
	not_ok "the table cuts key ids and jtis to 8 characters and … (row: $r)"
fi
expect_exit 0 $CTL --json audit list || not_ok "audit list --json"
if printf '%s' "$OUT" | grep -qF -e "\"$K1ID\"" && printf '%s' "$OUT" | grep -qF -e "\"$JTI\""; then
	ok "--json has the key id and the jti whole"
else
	not_ok "--json has the key id and the jti whole"
fi
ALL_JSON=$OUT

# ==============================================================================
diag "filters"

events() { # CTLARGS... -> OUT: the event types, one a line
	expect_exit 0 $CTL --json audit list "$@" || return 1
	OUT=$(printf '%s' "$OUT" | json_eval '"\n".join(e["event"] + " " + e["outcome"] for e in d)')
}
events --account ci
if printf '%s\n' "$OUT" | grep -qx 'token.deny denied' && printf '%s\n' "$OUT" | grep -qx 'auth.allow success' &&
	printf '%s\n' "$OUT" | grep -qx 'grant.add success'; then
	ok "--account ci: the wrong-secret token.deny for ci's key, the PAM login, the grant"
else
	not_ok "--account ci: the wrong-secret token.deny for ci's key (got: $(printf '%s' "$OUT" | tr '\n' ','))"
fi
expect_exit 0 $CTL --json audit list --account ci
n=$(printf '%s' "$OUT" | json_eval 'len([e for e in d if (e.get("subject") or {}).get("key_id") == sys.argv[2] or (e.get("subject") or {}).get("account") == "other"])' "$K2ID")
[ "$n" = 0 ] && ok "--account ci: nothing of the account other or its key" || not_ok "--account ci: nothing of other ($n)"
events --event 'token.*'
a=$(printf '%s\n' "$OUT" | cut -d' ' -f1 | sort -u | tr '\n' ' ')
[ "$a" = "token.deny token.issue " ] && ok "--event 'token.*': token.deny and token.issue" || not_ok "--event 'token.*' (got: $a)"
events --event token.
b=$(printf '%s\n' "$OUT" | cut -d' ' -f1 | sort -u | tr '\n' ' ')
[ "$b" = "$a" ] && ok "--event token. (a prefix): the same" || not_ok "--event token. (got: $b)"
events --event token.deny
[ "$(printf '%s\n' "$OUT" | sort -u)" = "token.deny denied" ] && ok "--event token.deny: exact" || not_ok "--event token.deny (got: $OUT)"
events --outcome denied
c=$(printf '%s\n' "$OUT" | cut -d' ' -f2 | sort -u)
[ "$c" = denied ] && printf '%s\n' "$OUT" | grep -qx 'token.deny denied' &&
	ok "--outcome denied: only denied events, the token.deny among them" || not_ok "--outcome denied (got: $OUT)"
events --service sshd
[ "$(printf '%s\n' "$OUT" | sort -u)" = "auth.allow success" ] && ok "--service sshd: the PAM login only" ||
	not_ok "--service sshd (got: $OUT)"
events --host "$HOSTNAME_"
n=$(printf '%s\n' "$OUT" | grep -c .)
m=$(printf '%s' "$ALL_JSON" | json_eval 'len(d)')
[ "$n" -ge "$m" ] && ok "--host $HOSTNAME_: every event of this host" || not_ok "--host $HOSTNAME_ ($n of $m)"
events --host no-such-host
[ -z "$OUT" ] && ok "--host no-such-host: none" || not_ok "--host no-such-host (got: $OUT)"

# --until: the events up to the second after the first token.issue
UNTIL_S=$(printf '%s' "$ALL_JSON" | json_eval '
import datetime
t = [e["ts"] for e in d if e["event"] == "token.issue"][0]
dt = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
str(int(dt.timestamp()) + 1)')
while [ "$(date +%s)" -le "$UNTIL_S" ]; do sleep 0.2; done
check $CTL team create later
expect_exit 0 $CTL --json audit list --until "@$UNTIL_S"
r=$(printf '%s' "$OUT" | json_eval '
import datetime
lim = int(sys.argv[2])
ok = all(datetime.datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp() <= lim for e in d)
"%s %s %s" % (ok, any(e["event"] == "token.issue" for e in d), any(e["event"] == "team.create" and e["scope"]["team"] == "later" for e in d))' "$UNTIL_S")
[ "$r" = "True True False" ] && ok "--until @EPOCH: only events up to then (the token.issue, not a later team.create)" || not_ok "--until @EPOCH (got: $r)"
expect_exit 0 $CTL --json audit list --since 1d --until 1s
[ "$RC" = 0 ] && ok "--since 1d --until 1s: ages work for --until too" || not_ok "--since 1d --until 1s"

# ==============================================================================
diag "--follow"

follow_test() { # DESC CTLARGS... (the new event must show)
	local desc=$1 pid i seen=0
	shift
	$CTL "$@" audit list --follow --event team.create >"$TMPD/follow.out" 2>"$TMPD/follow.err" &
	pid=$!
	track_pid "$pid"
	sleep 1.5
	$CTL team create "$FOLLOW_TEAM" </dev/null >/dev/null 2>&1 || not_ok "team create $FOLLOW_TEAM"
	for i in $(seq 1 100); do
		grep -qF -e "$FOLLOW_TEAM" "$TMPD/follow.out" && { seen=1; break; }
		sleep 0.1
	done
	kill -INT "$pid"
	local rc=99
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$pid"
	rc=$?
	if [ "$seen" = 1 ] && [ "$rc" = 0 ]; then
		ok "$desc"
	else
		not_ok "$desc (seen=$seen exit=$rc)"
		diag_file "$TMPD/follow.out"
		diag_file "$TMPD/follow.err"
	fi
}
FOLLOW_TEAM=followed1
follow_test "--follow prints a team.create made after it started, exits 0 on SIGINT"
n=$(grep -c ' team\.create ' "$TMPD/follow.out")
[ "$n" = 3 ] && ok "--follow: the earlier events first, each event once ($n rows)" || not_ok "--follow: each event once ($n rows)"
FOLLOW_TEAM=followed2
follow_test "--json --follow prints JSON lines, the new one among them" --json
r=$("$PY" -c '
import json, sys
d = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(len(d), d[-1]["scope"]["team"])' "$TMPD/follow.out" 2>&1)
[ "$r" = "4 followed2" ] && ok "--json --follow: one object a line, the new event last" || not_ok "--json --follow (got: $r)"

# ==============================================================================
diag "bad filter values: exit 2, a clear message"

before=$(printf '%s' "$ALL_JSON" | json_eval 'd[-1]["seq"]')
bad() { # WANT_IN_STDERR CTLARGS...
	local want=$1
	shift
	if expect_exit 2 $CTL audit list "$@" && [[ $ERR == *"$want"* ]] && [ -z "$OUT" ]; then
		ok "audit list $*: exit 2, \"$want\""
	else
		not_ok "audit list $*: exit 2, \"$want\" (exit $RC, stderr: $ERR)"
	fi
}
bad "--outcome: 'ok' is not success, failure or denied" --outcome ok
bad "--until: 'tomorrowish' is not a time" --until tomorrowish
bad "--since 1h is later than --until 2h" --since 1h --until 2h
bad "--service: give a PAM service name" --service ''
bad "--event: the event type is empty" --event ''
bad "--follow shows new events" --follow --until 1h
bad "--limit: '0' is not a positive integer" --limit 0
after=$($CTL --json audit list </dev/null | json_eval 'd[-1]["seq"]')
# the followed teams were made since ALL_JSON: 3 more records
[ "$after" = "$((before + 3))" ] && ok "the refused requests changed nothing (no new audit records)" ||
	not_ok "the refused requests changed nothing ($before -> $after)"
"$PY" "$TESTS_DIR/proto_client.py" "$SOCK" call AUDIT_LIST 130=frobbed >"$TMPD/raw.json" 2>&1
rc=$?
[ "$rc" = 2 ] && grep -q 'success, failure or denied' "$TMPD/raw.json" &&
	ok "the daemon refuses an unknown outcome itself (BADREQ)" || not_ok "daemon: unknown outcome (exit $rc: $(cat "$TMPD/raw.json"))"

check $CTL audit verify
