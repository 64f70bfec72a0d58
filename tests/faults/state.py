#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""tests/faults/state.py SOCKET [--last-use]: everything a refused change
must leave alone, as one canonical JSON document on stdout:

  accounts    every account (account list), each with its keys (key list)
              and grants (grant list)
  teams, workspaces
  jwks        the key ids of the token-signing keys
  audit       "N records" (audit verify), or "BROKEN: message"

Key last-use fields are left out unless --last-use is given: they are
recorded in memory when a key is checked (see t_faults.sh).  Reads only,
over the native socket (tests/proto_client.py); exit 1 when a read fails.
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import proto_client as pc  # noqa: E402

LAST_USE = {pc.F_LAST_USED_AT, 59, 60, 61}


def call(sock, cmd, fields=()):
    st, f = pc.send(sock, cmd, fields)
    if st != 0:
        sys.exit("%s: status %d: %s" % (cmd, st, pc.get(f, pc.F_MESSAGE)))
    return f


def rows(fields, last_use):
    out = []
    for item in pc.items(fields):
        out.append({str(pc.TAG_NAMES.get(t, t)): (v.hex() if isinstance(v, bytes) else v)
                    for t, _k, v in item if last_use or t not in LAST_USE})
    return out


def main():
    sock = sys.argv[1]
    last_use = "--last-use" in sys.argv[2:]
    accounts = rows(call(sock, "ACCOUNT_LIST"), last_use)
    for a in accounts:
        name = a["F_NAME"]
        a["keys"] = rows(call(sock, "KEY_LIST", [(pc.F_NAME, name)]), last_use)
        a["grants"] = rows(call(sock, "GRANT_LIST", [(pc.F_NAME, name)]), last_use)
    accounts.sort(key=lambda a: a["F_NAME"])
    jwks = json.loads(pc.get(call(sock, "JWKS"), pc.F_JSON))
    st, f = pc.send(sock, "AUDIT_VERIFY")
    audit = ("%d records" % pc.get(f, pc.F_TOTAL) if st == 0
             else "BROKEN: %s" % pc.get(f, pc.F_MESSAGE))
    doc = {
        "accounts": accounts,
        "teams": rows(call(sock, "TEAM_LIST"), last_use),
        "workspaces": rows(call(sock, "WORKSPACE_LIST"), last_use),
        "jwks": sorted(k["kid"] for k in jwks.get("keys", [])),
        "audit": audit,
    }
    print(json.dumps(doc, indent=1, sort_keys=True))


if __name__ == "__main__":
    try:
        main()
    except pc.ProtoError as e:
        sys.exit("state.py: %s" % e)
