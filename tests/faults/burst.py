#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""tests/faults/burst.py SOCKET PREFIX N: N account creates (PREFIX-1 ..
PREFIX-N) sent at once, so that the daemon handles several of them in one
group commit: all N connections are opened first, then every frame is
sent, then every reply read.  Prints {"PREFIX-i": status, ...} as JSON
(status -1: no valid reply)."""

import json
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import proto_client as pc  # noqa: E402


def read_reply(s):
    s.settimeout(10)
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    if len(data) < pc.HDR.size:
        return -1
    return pc.HDR.unpack(data[:pc.HDR.size])[2]


def main():
    sock, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    names = ["%s-%d" % (prefix, i) for i in range(1, n + 1)]
    conns = []
    for _ in names:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock)
        conns.append(s)
    for s, name in zip(conns, names):
        s.sendall(pc.encode_frame(pc.cmd_number("ACCOUNT_CREATE"), [(pc.F_NAME, name)]))
    out = {}
    for s, name in zip(conns, names):
        try:
            out[name] = read_reply(s)
        except OSError:
            out[name] = -1
        s.close()
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
