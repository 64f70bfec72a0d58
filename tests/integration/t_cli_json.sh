#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Machine-readable everywhere (issue 19 item 5): with --json every error of
# svcacctctl is one JSON line {"error": {"code", "message"}} on stderr with
# the usual exit status and nothing on stdout; and the operator queries
# key list --all [--expiring DAYS], account list --workspace / --team /
# --role / --status, access list (who may log in and sudo on this host).
. "$(dirname "$0")/../lib.sh"

start_daemon 'host_workspaces = [ "ws-a" ];' || bail "daemon starts"

# jq_out EXPR: the python expression over d (the last stdout as JSON).
jq_out() { printf '%s' "$OUT" | json_py "$1" 2>&1; }

# same DESC WANT GOT
same() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		diag "want: $2"
		diag "got:  $3"
	fi
}

# err_json DESC RC CODE CMD...: exits RC, stdout empty, stderr one JSON
# line with error.code CODE (or any code when CODE is "*") and a message.
err_json() {
	local desc=$1 rc=$2 code=$3 got
	shift 3
	if ! expect_exit "$rc" "$@"; then
		not_ok "$desc: exit $rc"
		return
	fi
	got=$(printf '%s' "$ERR" | "$PY" -c '
import json, sys
lines = sys.stdin.read().splitlines()
e = json.loads(lines[-1])["error"] if lines else None
ok = len(lines) == 1 and isinstance(e.get("message"), str) and e["message"] != ""
print("%s %s" % ("ok" if ok else "bad", e.get("code")))
' 2>&1)
	if [ -n "$OUT" ]; then
		not_ok "$desc: stdout is empty"
		diag "stdout: ${OUT:0:200}"
	elif [ "$code" = "*" ] && [[ $got == "ok "* ]] && [ "$got" != "ok None" ]; then
		ok "$desc (code ${got#ok })"
	elif [ "$got" = "ok $code" ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "stderr: ${ERR:0:300}"
		diag "parsed: $got"
	fi
}

# ---- the organization --------------------------------------------------------------
for a in alice bob carol dave erin; do
	expect_exit 0 $CTL account create "$a" || bail "account create $a"
done
expect_exit 0 $CTL team create t1 && expect_exit 0 $CTL team create t2 &&
	expect_exit 0 $CTL workspace create ws-a --team t1 &&
	expect_exit 0 $CTL workspace create ws-b --team t1 &&
	expect_exit 0 $CTL workspace create ws-c --team t2 || bail "teams and workspaces"
expect_exit 0 $CTL grant add alice --workspace ws-a --role editor &&
	expect_exit 0 $CTL grant add bob --team t1 --role admin &&
	expect_exit 0 $CTL grant add carol --workspace ws-b --role viewer &&
	expect_exit 0 $CTL grant add dave --workspace ws-c --role admin &&
	expect_exit 0 $CTL grant add erin --workspace ws-a --role admin &&
	expect_exit 0 $CTL account disable erin || bail "grants"

# ---- errors as JSON ------------------------------------------------------------------
err_json "not found: exit 4, code not_found" 4 not_found $CTL --json account show nosuch
err_json "--json after the arguments works too" 4 not_found $CTL account show nosuch --json
err_json "not authorized (nobody): exit 3, code not_authorized" 3 not_authorized \
	run_as_nobody $CTL --json account list
err_json "usage (missing NAME): exit 2, code usage" 2 usage $CTL --json account show
err_json "usage before --json on the line: still JSON" 2 usage $CTL account show a b --json
err_json "usage (unknown command): exit 2" 2 usage $CTL --json frobnicate
err_json "usage (bad --expiring): exit 2" 2 usage $CTL --json key list --all --expiring soon
err_json "daemon down: exit 5, code unavailable" 5 unavailable \
	$SVCACCTCTL -s "$TMPD/no-daemon.sock" --json account list
err_json "a refusal (account exists): exit 1, code failed" 1 failed $CTL --json account create alice
err_json "a refusal with the daemon's reason as code: exit 1" 1 "*" \
	env SVCACCT_API_KEY=svca_0000000000000000000000000000000000000000000000 \
	$CTL --json token create
if [[ $ERR == *'"code": "failed"'* || $ERR == *'"code": "usage"'* ]]; then
	not_ok "token create refusal names the daemon's reason, not a generic code"
	diag "stderr: $ERR"
else
	ok "token create refusal names the daemon's reason, not a generic code"
fi
if expect_exit 4 $CTL account show nosuch && [[ $ERR == "svcacctctl: "* ]] && [[ $ERR != *'{'* ]]; then
	ok "without --json the error stays a text line"
else
	not_ok "without --json the error stays a text line"
	diag "stderr: $ERR"
fi

# ---- key list --all -----------------------------------------------------------------
expect_exit 0 $CTL key create alice --expires 5 --label soon &&
	expect_exit 0 $CTL key create bob --expires 90 --label later &&
	expect_exit 0 $CTL key create dave --expires 30 --label mid &&
	expect_exit 0 $CTL --json key create bob --expires 3 --label gone || bail "keys"
GONE=$(jq_out 'd["key_id"]')
expect_exit 0 $CTL key revoke bob "$GONE" || bail "key revoke"

if expect_exit 0 $CTL --json key list --all; then
	same "key list --all --json: every key of every account, by account" \
		"alice:soon:active bob:later:active bob:gone:revoked dave:mid:active" \
		"$(jq_out '" ".join("%s:%s:%s" % (k["account"], k["label"], k["status"]) for k in d)')"
else
	not_ok "key list --all --json"
fi
if expect_exit 0 $CTL key list --all; then
	same "key list --all: table ACCOUNT KEY_ID LABEL STATUS EXPIRES LAST_USED, 4 rows" \
		"ACCOUNT KEY_ID LABEL STATUS EXPIRES LAST_USED|alice|bob|bob|dave" \
		"$(printf '%s\n' "$OUT" | awk 'NR==1{printf "%s %s %s %s %s %s", $1,$2,$3,$4,$5,$6; next} {printf "|%s", $1}')"
else
	not_ok "key list --all"
fi
if expect_exit 0 $CTL --json key list --all --expiring 10; then
	same "--expiring 10: only alice's active key (bob's revoked 3-day key is not)" \
		"alice:soon" "$(jq_out '" ".join("%s:%s" % (k["account"], k["label"]) for k in d)')"
else
	not_ok "key list --all --expiring 10"
fi
if expect_exit 0 $CTL key list --all --expiring 60; then
	same "--expiring 60 (table): alice and dave" "alice dave" \
		"$(printf '%s\n' "$OUT" | awk 'NR>1{print $1}' | xargs)"
else
	not_ok "key list --all --expiring 60"
fi
err_json "key list --all is for admins (nobody: exit 3)" 3 not_authorized \
	run_as_nobody $CTL --json key list --all
check_exit 2 -d "key list NAME --all: usage error" $CTL key list alice --all

# ---- account list filters ---------------------------------------------------------------
# names FILTERS...: the sorted names account list --json FILTERS prints.
names() {
	expect_exit 0 $CTL --json account list "$@" && jq_out '" ".join(sorted(a["name"] for a in d))'
}
same "account list --workspace ws-a (a team grant counts)" "alice bob erin" "$(names --workspace ws-a)"
same "account list --workspace ws-b" "bob carol" "$(names --workspace ws-b)"
same "account list --team t1 (grants on its workspaces too)" "alice bob carol erin" \
	"$(names --team t1)"
same "account list --team t2" "dave" "$(names --team t2)"
same "account list --role admin" "bob dave erin" "$(names --role admin)"
same "account list --status disabled" "erin" "$(names --status disabled)"
same "account list --status active" "alice bob carol dave" "$(names --status active)"
same "account list --workspace ws-a --role admin" "bob erin" \
	"$(names --workspace ws-a --role admin)"
same "account list --workspace ws-a --role admin --status active" "bob" \
	"$(names --workspace ws-a --role admin --status active)"
same "account list without filters: all five" "alice bob carol dave erin" "$(names)"
if expect_exit 0 $CTL account list --team t2; then
	same "account list --team t2 (table)" "NAME dave" "$(printf '%s\n' "$OUT" | awk '{print $1}' | xargs)"
else
	not_ok "account list --team t2 (table)"
fi
err_json "account list --workspace nosuch: exit 4" 4 not_found \
	$CTL --json account list --workspace nosuch
err_json "account list --team nosuch: exit 4" 4 not_found $CTL --json account list --team nosuch
err_json "account list --role boss: usage" 2 usage $CTL --json account list --role boss
err_json "account list --status gone: usage" 2 usage $CTL --json account list --status gone

# ---- access list -----------------------------------------------------------------------
if expect_exit 0 $CTL --json access list; then
	same "access list --json: who may log in and sudo on ws-a, with the grant" \
		"alice:login:editor:workspace:ws-a:ws-a bob:login:admin:team:t1:ws-a bob:sudo:admin:team:t1:ws-a" \
		"$(jq_out '" ".join("%s:%s:%s:%s:%s:%s" % (r["account"], r["capability"], r["role"], r["grant"]["type"], r["grant"]["scope"], r["grant"]["workspace"]) for r in d)')"
else
	not_ok "access list --json"
fi
if expect_exit 0 $CTL access list; then
	same "access list (table): header and rows" \
		"ACCOUNT CAPABILITY ROLE GRANT|alice login editor workspace ws-a|bob login admin team t1 (via workspace ws-a)|bob sudo admin team t1 (via workspace ws-a)" \
		"$(printf '%s\n' "$OUT" | sed 's/  */ /g' | paste -sd '|')"
else
	not_ok "access list (table)"
fi
expect_exit 0 $CTL account enable erin
if expect_exit 0 $CTL --json access list; then
	same "access list: an enabled account shows up with its grant" \
		"erin:login:workspace:ws-a erin:sudo:workspace:ws-a" \
		"$(jq_out '" ".join("%s:%s:%s:%s" % (r["account"], r["capability"], r["grant"]["type"], r["grant"]["scope"]) for r in d if r["account"] == "erin")')"
else
	not_ok "access list after account enable"
fi
err_json "access list is for admins (nobody: exit 3)" 3 not_authorized \
	run_as_nobody $CTL --json access list

