#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A flood of refused requests from one process (tests/integration/t_sec_flood.sh).

    refusal_flood.py TESTS_DIR SOCKET COUNT [SECONDS]

Sends COUNT requests, one connection each, alternating a token exchange
with a malformed key (token.deny) and an account create that the caller
may not do (admin.deny), and stops early after SECONDS (default 60).
Prints "sent N refused R other O errors E": R replies were refusals, O
were not (an unexpected success), E requests got no reply.
"""
import sys
import time

sys.path.insert(0, sys.argv[1])
import proto_client as pc  # noqa: E402

sock, count = sys.argv[2], int(sys.argv[3])
limit = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
deadline = time.monotonic() + limit
sent = refused = other = errors = 0
for i in range(count):
    if time.monotonic() > deadline:
        break
    if i % 2 == 0:
        req = ("TOKEN_CREATE", [(pc.F_KEY, b"svca_not-a-key-%d" % i)])
    else:
        req = ("ACCOUNT_CREATE", [(pc.F_NAME, "flood%d" % i)])
    sent += 1
    try:
        st, _ = pc.send(sock, req[0], req[1], timeout=10.0)
    except pc.ProtoError:
        errors += 1
        continue
    if st != 0:
        refused += 1
    else:
        other += 1
print("sent %d refused %d other %d errors %d" % (sent, refused, other, errors))
