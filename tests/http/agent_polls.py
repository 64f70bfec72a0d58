#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Many agents' long polls on one hub (t_fleet_conns.sh).

  agent_polls.py HOST PORT CAFILE CRED SINCE N --during CMD --change CMD

Opens N TLS connections from loopback (in batches, as a fleet reconnects),
each sending GET /v1/agent/changes?since=SINCE with the host credential
(taken from the environment variable named by CRED, never argv).  Then:
  1. after 3 s, counts the polls still held (no answer, not closed);
  2. opens 80 anonymous TLS connections that send nothing (the anonymous
     cap per address, 64, must still close some) and counts, 2 s later,
     those the hub closed and the polls still held;
  3. runs the shell command --during (checks while the polls are held);
  4. runs --change (one change on the hub) and waits up to 30 s for the
     answers: 200 with a seq above SINCE.
Prints one JSON line: {"opened", "held", "anon_closed", "held_after_anon",
"answered", "answer_ms_max"}.  Exit 0 always (the test judges).

  agent_polls.py idle HOST PORT CAFILE CRED SECS

One connection sends GET /v1/agent/whoami with the credential, another
GET /healthz (no credential); both then stay idle SECS seconds and send
the same request again on the same connection.  Prints {"agent_again":
HTTP status or 0 (closed), "anon_again": ...}.
"""
import asyncio
import json
import os
import resource
import ssl
import subprocess
import sys
import time


def parse_seq(data):
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        return None
    try:
        return json.loads(body.decode())["seq"]
    except (ValueError, KeyError):
        return None


class Poll:
    def __init__(self):
        self.data = b""
        self.done_at = None
        self.closed = False


async def poll_one(host, port, ctx, req, p):
    try:
        r, w = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=ctx), timeout=20)
        w.write(req)
        await w.drain()
    except (OSError, asyncio.TimeoutError, ssl.SSLError):
        p.closed = True
        p.done_at = time.monotonic()
        return None
    p.writer = w
    try:
        while True:
            chunk = await r.read(4096)
            if not chunk:
                break
            p.data += chunk
            if b"\r\n\r\n" in p.data and p.data.rstrip().endswith(b"}"):
                break
    except (OSError, ssl.SSLError):
        pass
    p.done_at = time.monotonic()
    if not p.data:
        p.closed = True
    w.close()
    return None


async def anon_one(host, port, ctx, st):
    try:
        r, w = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=ctx), timeout=10)
    except (OSError, asyncio.TimeoutError, ssl.SSLError):
        st["closed"] += 1
        return
    try:
        if not await asyncio.wait_for(r.read(1), timeout=4):
            st["closed"] += 1
    except asyncio.TimeoutError:
        pass
    except (OSError, ssl.SSLError):
        st["closed"] += 1
    w.close()


async def request(r, w, req):
    w.write(req)
    await w.drain()
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await asyncio.wait_for(r.read(4096), timeout=10)
        if not chunk:
            return 0
        data += chunk
    head = data.split(b"\r\n\r\n")[0]
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    body = data.split(b"\r\n\r\n", 1)[1]
    while len(body) < length:
        chunk = await asyncio.wait_for(r.read(4096), timeout=10)
        if not chunk:
            return 0
        body += chunk
    return int(head.split()[1])


async def idle_main(a):
    host, port, cafile, credvar, secs = a[0], int(a[1]), a[2], a[3], float(a[4])
    cred = os.environ[credvar]
    ctx = ssl.create_default_context(cafile=cafile)
    who = (f"GET /v1/agent/whoami HTTP/1.1\r\nHost: {host}\r\n"
           f"Authorization: Bearer {cred}\r\n\r\n").encode()
    hz = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    out = {}
    conns = []
    for name, req in (("agent", who), ("anon", hz)):
        r, w = await asyncio.open_connection(host, port, ssl=ctx)
        out[name + "_first"] = await request(r, w, req)
        conns.append((name, r, w, req))
    await asyncio.sleep(secs)
    for name, r, w, req in conns:
        try:
            out[name + "_again"] = await request(r, w, req)
        except (OSError, ssl.SSLError, asyncio.TimeoutError, IndexError, ValueError):
            out[name + "_again"] = 0
        w.close()
    print(json.dumps(out), flush=True)


async def main():
    a = sys.argv[1:]
    if a and a[0] == "idle":
        await idle_main(a[1:])
        return
    host, port, cafile, credvar, since, n = a[0], int(a[1]), a[2], a[3], a[4], int(a[5])
    during = a[a.index("--during") + 1]
    change = a[a.index("--change") + 1]
    cred = os.environ[credvar]
    want = n + 400
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    ctx = ssl.create_default_context(cafile=cafile)
    req = (f"GET /v1/agent/changes?since={since} HTTP/1.1\r\nHost: {host}\r\n"
           f"Authorization: Bearer {cred}\r\n\r\n").encode()
    polls = [Poll() for _ in range(n)]
    tasks = []
    for i in range(0, n, 32):  # a fleet reconnecting, 32 at a time
        for p in polls[i:i + 32]:
            tasks.append(asyncio.ensure_future(poll_one(host, port, ctx, req, p)))
        await asyncio.sleep(0.05)
    await asyncio.sleep(3)
    held = sum(1 for p in polls if p.done_at is None)
    st = {"closed": 0}
    await asyncio.gather(*[anon_one(host, port, ctx, st) for _ in range(80)])
    held_after = sum(1 for p in polls if p.done_at is None)
    proc = await asyncio.create_subprocess_shell(during)
    await proc.wait()
    t0 = time.monotonic()
    proc = await asyncio.create_subprocess_shell(change)
    await proc.wait()
    await asyncio.wait(tasks, timeout=30)
    good, worst = 0, 0.0
    for p in polls:
        s = parse_seq(p.data)
        if s is not None and s > int(since):
            good += 1
            worst = max(worst, (p.done_at - t0) * 1000)
    print(json.dumps({"opened": n, "held": held, "anon_closed": st["closed"],
                      "held_after_anon": held_after, "answered": good,
                      "answer_ms_max": int(worst)}), flush=True)
    for t in tasks:
        t.cancel()


if __name__ == "__main__":
    asyncio.run(main())
