#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The audit chain's head cannot be rewritten without the daemon's audit key
# (issue 14, finding 9).  With the daemon stopped, the newest records are
# deleted from audit.db and the head rewritten to name the last record left
# (its seq and hash), as someone who can write the file but does not have
# the key would.  Before the fix `audit verify` called that chain intact
# and the next records reused the deleted seqs.  Now: the daemon reports
# the tampering at start-up (daemon log, an audit.tamper event), `audit
# verify` exits 1 naming the missing range, and no seq is issued twice.
. "$(dirname "$0")/../lib.sh"

start_daemon || bail "the daemon starts"
CUT="$TMPD/audit_cut"
cc -std=gnu11 -O2 -Wall -Werror -o "$CUT" "$TESTS_DIR/faults/audit_cut.c" -lgdbm -lsodium 2>"$TMPD/cc.err" ||
	bail "build tests/faults/audit_cut.c: $(head -n 3 "$TMPD/cc.err")"

records() { $CTL audit verify </dev/null 2>/dev/null | sed -n 's/^audit chain intact: \([0-9]*\) records$/\1/p'; }
newest_seq() { $CTL --json audit list --limit 1 </dev/null 2>/dev/null | json_py 'd[-1]["seq"]'; }

for n in a1 a2 a3 a4 a5; do check $CTL account create "$n"; done
if [ -f "$STATE/audit.key" ] && [ "$(stat -c %a "$STATE/audit.key")" = 600 ] &&
	[ "$(stat -c %s "$STATE/audit.key")" = 32 ]; then
	ok "the audit key was generated on first start: $STATE/audit.key, 32 bytes, mode 0600"
else
	not_ok "the audit key was generated on first start (audit.key, 32 bytes, mode 0600)"
fi
check -d "audit verify before the cut" $CTL audit verify
N=$(records)
stop_daemon || not_ok "the daemon stops cleanly"
H=$((N + 1)) # daemon.stop
FROM=$((H - 2))
deleted=$("$CUT" "$STATE/audit.db" "$FROM" 2>&1)
[ "$deleted" = 3 ] || bail "audit_cut deleted records $FROM-$H: $deleted"
diag "deleted records $FROM-$H and rewrote the head to name record $((FROM - 1))"

start_daemon_reuse || bail "the daemon starts after the cut (logins go on)"
if grep -q "audit trail tampering detected: audit records $FROM-$H are missing" "$DAEMON_LOG"; then
	ok "at start-up the daemon reports records $FROM-$H missing"
else
	not_ok "at start-up the daemon reports records $FROM-$H missing: $(grep -i audit "$DAEMON_LOG" | tail -n 2)"
fi
check_exit 1 -d "audit verify exits 1 after the cut" $CTL audit verify
if [[ $ERR == *"records $FROM-$H are missing"* ]]; then
	ok "audit verify names the missing range ($ERR)"
else
	not_ok "audit verify names the missing range $FROM-$H (got: ${ERR:-nothing})"
fi
if expect_exit 1 $CTL --json audit verify && [ "$(printf '%s' "$OUT" | json_py 'd["first_bad_seq"]')" = "$FROM" ]; then
	ok "audit verify --json: first_bad_seq $FROM"
else
	not_ok "audit verify --json: first_bad_seq $FROM (got: $OUT)"
fi
tamper=$($CTL --json audit list --event audit.tamper </dev/null 2>/dev/null | json_py 'len(d)' 2>/dev/null)
if [ "${tamper:-0}" -ge 1 ]; then ok "an audit.tamper event records it"; else not_ok "an audit.tamper event records it"; fi
check $CTL account create after-cut
seq=$(newest_seq)
if [ -n "$seq" ] && [ "$seq" -gt "$H" ]; then
	ok "no seq is issued twice: the newest record is $seq (> $H)"
else
	not_ok "no seq is issued twice: the newest record is ${seq:-?}, the deleted ones went up to $H"
fi
# a restart does not make it go away
restart_daemon || bail "restart"
check_exit 1 -d "after another restart audit verify still exits 1" $CTL audit verify
