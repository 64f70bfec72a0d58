#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# A request that gives a field twice is malformed (issue 14): svcacctd used
# to take the first value and ignore the rest.  Now it answers "bad
# request" naming the field, before any handler runs: nothing changes and
# nothing is audited.  Raw frames via tests/proto_client.py.
. "$(dirname "$0")/../lib.sh"

start_daemon || bail "daemon starts"
check $CTL account create ci-dup-a
n_audit() { $CTL --json audit list </dev/null | json_py 'len(d)'; }

raw() { # CMD FIELDS(python list): "status|message|name"
	PYTHONPATH="$TESTS_DIR" "$PY" -c '
import sys, proto_client as p
st, f = p.send(sys.argv[1], sys.argv[2], eval(sys.argv[3]))
print("%d|%s|%s" % (st, p.message(f) or "", p.get(f, 3, "")))
' "$SOCK" "$1" "$2"
}

got=$(raw ACCOUNT_SHOW '[(3, "ci-dup-a")]')
if [ "${got%%|*}" = 0 ]; then ok "ACCOUNT_SHOW with F_NAME once: ok"; else not_ok "ACCOUNT_SHOW with F_NAME once: ok (got $got)"; fi
got=$(raw ACCOUNT_SHOW '[(3, "ci-dup-a"), (3, "ci-dup-a")]')
if [[ $got == "2|malformed request: field 3 is given twice|" ]]; then
	ok "ACCOUNT_SHOW with F_NAME twice: bad request, \"field 3 is given twice\""
else
	not_ok "ACCOUNT_SHOW with F_NAME twice: bad request (got $got)"
fi
a0=$(n_audit)
got=$(raw ACCOUNT_CREATE '[(3, "ci-dup-b"), (5, "first"), (5, "second")]')
if [ "${got%%|*}" = 2 ]; then ok "ACCOUNT_CREATE with F_DESCRIPTION twice: bad request"; else not_ok "ACCOUNT_CREATE with F_DESCRIPTION twice: bad request (got $got)"; fi
check_exit 4 -d "... and no account was created" $CTL account show ci-dup-b
got=$(raw PAM_AUTH '[(3, "ci-dup-a"), (25, "sshd"), (32, b"x"), (32, b"y")]')
if [ "${got%%|*}" = 2 ]; then ok "PAM_AUTH with F_TOKEN twice: bad request"; else not_ok "PAM_AUTH with F_TOKEN twice: bad request (got $got)"; fi
got=$(raw ACCOUNT_DISABLE '[(3, "ci-dup-a"), (3, "ci-dup-a")]')
if [ "${got%%|*}" = 2 ]; then ok "ACCOUNT_DISABLE with F_NAME twice: bad request"; else not_ok "ACCOUNT_DISABLE with F_NAME twice: bad request (got $got)"; fi
if $CTL --json account show ci-dup-a </dev/null | json_py 'd["status"]' | grep -qx active; then
	ok "... and the account is still active"
else
	not_ok "... and the account is still active"
fi
a1=$(n_audit)
if [ "$a0" = "$a1" ]; then ok "refused duplicates changed nothing in the audit trail"; else not_ok "refused duplicates changed nothing in the audit trail ($a0 -> $a1)"; fi
check -d "the daemon still answers svcacctctl" $CTL account list
check -d "audit verify" $CTL audit verify
