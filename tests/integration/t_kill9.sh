#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Durability under SIGKILL (DESIGN.md section 6): a change that svcacctctl
# acknowledged (exit 0) survives a kill -9 of the daemon at any instant,
# with its audit event, and the daemon opens its state cleanly afterwards.
#
# Each round: start svcacctd on the same state dir, run a client loop that
# creates accounts (and updates / disables some of them) and logs each
# request before it is sent and again once acknowledged, kill -9 the
# daemon after a random 5-60 ms, wait for the client to see exit 5,
# restart, and compare the account list with what was acknowledged.  The
# one request in flight at the kill may or may not have been applied.
#
# Several clients run at once, so that batches hold several changes and the
# daemon writes them in the background while it serves the next ones
# (pipelined group commit): a kill can land with one batch in flight and
# the next one half built.
#
#   KILL9_ROUNDS (200)   rounds to run
#   KILL9_BUDGET (75)    seconds; fewer rounds when the time runs out
#   KILL9_CLIENTS (3)    concurrent clients per round
. "$(dirname "$0")/../lib.sh"

ROUNDS=${KILL9_ROUNDS:-200}
BUDGET=${KILL9_BUDGET:-75}
MIN_ROUNDS=${KILL9_MIN_ROUNDS:-20}
CLIENTS=${KILL9_CLIENTS:-3}

# a fast daemon acknowledges well over 1000 creates: widen the uid range
start_daemon "uid_max = 69999;" || bail "daemon starts"

OPS="$TMPD/ops"       # "try OP..." before a request, "ack OP..." after exit 0
ERRS="$TMPD/client-errors"
: >"$OPS"
: >"$ERRS"

# One round's client: stops at the first exit 5 (daemon gone).
client_loop() { # ROUND CLIENT
	local r=$1 k=$2 i=0 name rc
	while [ "$i" -lt 400 ]; do
		name=$(printf 'k%04d%d%03d' "$r" "$k" "$i")
		echo "try create $name" >>"$OPS"
		$CTL account create "$name" --description init </dev/null >/dev/null 2>>"$TMPD/client.err"
		rc=$?
		case $rc in
		0) echo "ack create $name" >>"$OPS" ;;
		5) return 0 ;;
		*) echo "round $r: account create $name: exit $rc" >>"$ERRS"; return 1 ;;
		esac
		if [ $((i % 3)) = 1 ]; then
			echo "try desc $name d$r-$i" >>"$OPS"
			$CTL account update "$name" --description "d$r-$i" </dev/null >/dev/null 2>>"$TMPD/client.err"
			rc=$?
			case $rc in
			0) echo "ack desc $name d$r-$i" >>"$OPS" ;;
			5) return 0 ;;
			*) echo "round $r: account update $name: exit $rc" >>"$ERRS"; return 1 ;;
			esac
		fi
		if [ $((i % 4)) = 2 ]; then
			echo "try disable $name" >>"$OPS"
			$CTL account disable "$name" </dev/null >/dev/null 2>>"$TMPD/client.err"
			rc=$?
			case $rc in
			0) echo "ack disable $name" >>"$OPS" ;;
			5) return 0 ;;
			*) echo "round $r: account disable $name: exit $rc" >>"$ERRS"; return 1 ;;
			esac
		fi
		i=$((i + 1))
	done
}

# Compares the account list (and, with --audit, the audit events) with the
# ops log.  Prints "checked N" and one line per problem.
cat >"$TMPD/verify.py" <<'EOF'
import json, sys

ops_path, list_path = sys.argv[1], sys.argv[2]
audit_paths = sys.argv[3:]          # audit list --json per event type

must = {}      # name -> {"desc": set, "status": set}
acked_events = []                   # (event, name)
pending = None
for line in open(ops_path):
    w = line.split()
    if len(w) < 3:
        continue
    kind, op, name = w[0], w[1], w[2]
    val = w[3] if len(w) > 3 else None
    if kind == "try":
        pending = (op, name, val)
        if name in must:            # may or may not be applied
            if op == "desc":
                must[name]["desc"].add(val)
            elif op == "disable":
                must[name]["status"].add("disabled")
        continue
    # ack: now certain
    pending = None
    if op == "create":
        must[name] = {"desc": {"init"}, "status": {"active"}}
        acked_events.append(("account.create", name))
    elif op == "desc":
        must[name]["desc"] = {val}
        acked_events.append(("account.update", name))
    elif op == "disable":
        must[name]["status"] = {"disabled"}
        acked_events.append(("account.disable", name))

problems = []
try:
    accounts = json.load(open(list_path))
    byname = {a.get("name"): a for a in accounts}
except (ValueError, AttributeError, TypeError) as e:
    print("account list --json unparsable: %s" % e)
    sys.exit(0)

for name, want in sorted(must.items()):
    a = byname.get(name)
    if a is None:
        problems.append("acknowledged account %s is missing" % name)
        continue
    desc = a.get("description") or ""
    if desc not in want["desc"]:
        problems.append("%s: description %r, acknowledged %s" % (name, desc, sorted(want["desc"])))
    if a.get("status") not in want["status"]:
        problems.append("%s: status %r, acknowledged %s" % (name, a.get("status"), sorted(want["status"])))

def names_in(subject):
    if isinstance(subject, str):
        return {subject}
    if isinstance(subject, dict):
        return {v for v in subject.values() if isinstance(v, str)}
    if isinstance(subject, list):
        return {v for v in subject if isinstance(v, str)}
    return set()

nevents = 0
if audit_paths:
    seen = set()
    for p in audit_paths:
        try:
            evs = json.load(open(p))
        except ValueError as e:
            problems.append("audit list --json unparsable: %s" % e)
            continue
        for e in evs:
            for n in names_in(e.get("subject")):
                seen.add((e.get("event"), n))
    for ev in acked_events:
        nevents += 1
        if ev not in seen:
            problems.append("acknowledged %s of %s has no audit event" % ev)

for p in problems[:20]:
    print(p)
if len(problems) > 20:
    print("... %d problems in all" % len(problems))
print("checked %d changes, %d audit events" % (sum(1 for l in open(ops_path) if l.startswith("ack ")), nevents))
EOF

# verify [--audit]: sets VERIFY_OUT; returns 1 when something is wrong.
verify() {
	local args=()
	if ! expect_exit 0 $CTL --json account list; then
		VERIFY_OUT="account list failed (exit $RC): $ERR"
		return 1
	fi
	printf '%s' "$OUT" >"$TMPD/list.json"
	if [ "${1:-}" = --audit ]; then
		local ev
		for ev in account.create account.update account.disable; do
			if ! expect_exit 0 $CTL --json audit list --event "$ev" --limit 1000000; then
				VERIFY_OUT="audit list --event $ev failed (exit $RC): $ERR"
				return 1
			fi
			printf '%s' "$OUT" >"$TMPD/audit-$ev.json"
			args+=("$TMPD/audit-$ev.json")
		done
	fi
	VERIFY_OUT=$("$PY" "$TMPD/verify.py" "$OPS" "$TMPD/list.json" "${args[@]}" 2>&1)
	[ "$(printf '%s\n' "$VERIFY_OUT" | grep -vc '^checked ')" = 0 ]
}

t_start=$(date +%s)
round=0
lost_rounds=0
verify_fail_rounds=0
: >"$TMPD/problems.prev"
hung=0
restart_failed=0
while [ "$round" -lt "$ROUNDS" ] && [ $(($(date +%s) - t_start)) -lt "$BUDGET" ]; do
	round=$((round + 1))
	cpids=()
	for k in $(seq "$CLIENTS"); do
		client_loop "$round" "$k" &
		cpids+=($!)
	done
	ms=$((5 + RANDOM % 56))
	sleep "0.$(printf '%03d' "$ms")"
	kill9_daemon
	# each client stops at its first exit 5; a hang is a failure
	for cpid in "${cpids[@]}"; do
		if ! wait_pid_gone "$cpid" 15; then
			hung=$((hung + 1))
			diag "round $round: a client did not stop within 15 s of the kill"
			kill -KILL "$cpid" 2>/dev/null
		fi
		wait "$cpid" 2>/dev/null
	done
	if ! start_daemon_reuse; then
		restart_failed=1
		diag "round $round: svcacctd did not start again after kill -9"
		break
	fi
	# report what went missing in this round (earlier losses stay missing)
	if ! verify; then
		printf '%s\n' "$VERIFY_OUT" | grep -v '^checked ' | sort >"$TMPD/problems.cur"
		if [ -n "$(comm -13 "$TMPD/problems.prev" "$TMPD/problems.cur")" ]; then
			lost_rounds=$((lost_rounds + 1))
			if [ "$lost_rounds" -le 3 ]; then
				diag "round $round (kill after $ms ms):"
				comm -13 "$TMPD/problems.prev" "$TMPD/problems.cur" | diag
			fi
		fi
		mv "$TMPD/problems.cur" "$TMPD/problems.prev"
	fi
	if ! expect_exit 0 $CTL audit verify; then
		verify_fail_rounds=$((verify_fail_rounds + 1))
		[ "$verify_fail_rounds" -le 3 ] && diag "round $round: audit verify failed"
	fi
	# the audit events of acknowledged changes, now and then
	if [ $((round % 50)) = 0 ] && ! verify --audit; then
		lost_rounds=$((lost_rounds + 1))
		diag "round $round, audit events:"
		printf '%s\n' "$VERIFY_OUT" | diag
	fi
done
elapsed=$(($(date +%s) - t_start))

if [ "$restart_failed" = 0 ]; then
	ok "svcacctd starts again after each of $round kill -9"
else
	not_ok "svcacctd starts again after each kill -9 (failed after round $round)"
	exit 1
fi
if [ -s "$ERRS" ]; then
	not_ok "clients see only exit 0 or 5 while the daemon is killed"
	head -n 5 "$ERRS" | diag
	tail -n 5 "$TMPD/client.err" | diag
else
	ok "clients see only exit 0 or 5 while the daemon is killed"
fi
if [ "$hung" = 0 ]; then ok "clients stop promptly when the daemon dies"; else not_ok "clients stop promptly when the daemon dies ($hung hung)"; fi

# final check, with the audit events of every acknowledged change
if verify --audit; then
	final_ok=1
else
	final_ok=0
	printf '%s\n' "$VERIFY_OUT" | diag
fi
if [ "$lost_rounds" = 0 ] && [ "$final_ok" = 1 ]; then
	ok "every acknowledged change survives kill -9 ($round rounds)"
else
	not_ok "every acknowledged change survives kill -9 (data lost in $lost_rounds of $round rounds)"
fi
if [ "$verify_fail_rounds" = 0 ] && expect_exit 0 $CTL audit verify; then
	ok "audit verify passes after every restart"
else
	not_ok "audit verify passes after every restart (failed in $verify_fail_rounds rounds)"
fi

acked=$(grep -c '^ack ' "$OPS")
creates=$(grep -c '^ack create ' "$OPS")
if [ "$round" -ge "$MIN_ROUNDS" ] && [ "$creates" -gt 0 ]; then
	ok "the kill loop exercised the daemon ($round rounds, $creates acknowledged creates)"
else
	not_ok "the kill loop exercised the daemon ($round rounds, $creates acknowledged creates; want >= $MIN_ROUNDS rounds and > 0 creates)"
fi
[ "$round" -lt "$ROUNDS" ] && diag "note: stopped after $round of $ROUNDS rounds: time budget of $BUDGET s used"
diag "kill9: $round kills, $acked acknowledged changes checked ($elapsed s)"
