#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A flood of refused token exchanges over the HTTP front's TCP listener
(tests/integration/t_sec_flood.sh), from rotating loopback sources.

    http_refusal_flood.py PORT COUNT [SECONDS]

Prints "sent N refused R other O errors E" (R: 401 or 429 answers).
"""
import http.client
import sys
import time

port, count = int(sys.argv[1]), int(sys.argv[2])
limit = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
deadline = time.monotonic() + limit
sent = refused = other = errors = 0
for i in range(count):
    if time.monotonic() > deadline:
        break
    sent += 1
    src = "127.0.%d.%d" % (i // 250 % 250, i % 250 + 2)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(src, 0))
    try:
        c.request("POST", "/service-account-tokens", headers={"x-api-key": "svca_bad-%d" % i})
        st = c.getresponse().status
    except OSError:
        errors += 1
        continue
    finally:
        c.close()
    if st in (401, 429):
        refused += 1
    else:
        other += 1
print("sent %d refused %d other %d errors %d" % (sent, refused, other, errors))
