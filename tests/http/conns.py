#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Raw connection helpers for the HTTP front's load tests (t_http_load.sh).

Each target is a Unix socket path or HOST:PORT (loopback TCP).

  conns.py loris TARGET [--interval S] [--max S]
      Connects and sends an HTTP request one byte every S seconds (default
      1) without ever finishing the headers.  Prints one JSON line:
      {"closed": true|false, "after": seconds, "sent": bytes}.  "closed"
      means the server closed or reset the connection.  Exit 0 when the
      server closed it within --max seconds (default 25), 1 otherwise.

  conns.py idle TARGET N [--early S] [--hold S] [--ready FILE] [--stop FILE]
      Opens N connections that send nothing.  After --early seconds
      (default 2) it touches --ready FILE and prints
      {"phase": "early", "opened": N_ok, "connect_failed": F,
       "closed": K} (K: closed by the server so far); then keeps watching
      until --stop FILE exists or --hold seconds (default 20) pass, and
      prints {"phase": "end", "closed": K2, "open": R, "last_close": T}
      (T: seconds from the start to the last close seen).  Closes all.

  conns.py hold TARGET N [--hold S] [--ready FILE] [--stop FILE]
             [--bind-rotate] [--partial]
      A connection hog: keeps up to N connections open that send nothing,
      and reopens every one the server closes, as fast as it can, until
      --stop FILE exists or --hold seconds (default 30) pass.  Touches
      --ready FILE once it has tried N connections.  --bind-rotate (TCP):
      each connection from another source address 127.0.0.2, .3, ...
      --partial: each connection sends a POST's headers announcing a body
      it never sends (a request "in progress" forever).
      Prints {"opened": total connects, "closed_by_server": K,
      "connect_failed": F, "open_at_end": R} at the end.
"""
import json
import os
import select
import socket
import sys
import time


def connect(target, timeout=5.0):
    if target.startswith("/"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(target)
    else:
        host, port = target.rsplit(":", 1)
        host = host.strip("[]")
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect((host, int(port)))
    return s


def peer_closed(s):
    """True when the server closed or reset s (non-blocking check)."""
    try:
        r, _, _ = select.select([s], [], [], 0)
        if not r:
            return False
        d = s.recv(4096, socket.MSG_DONTWAIT)
        return d == b""  # data (an error response) also ends with a close
    except BlockingIOError:
        return False
    except OSError:
        return True


def loris(target, interval, maxs):
    req = (b"POST /service-account-tokens HTTP/1.1\r\nHost: localhost\r\n"
           b"x-api-key: svca_" + b"a" * 4000)
    t0 = time.monotonic()
    s = connect(target)
    sent = 0
    closed = False
    while time.monotonic() - t0 < maxs:
        try:
            s.send(req[sent % len(req):sent % len(req) + 1])
            sent += 1
        except OSError:
            closed = True
            break
        end = time.monotonic() + interval
        while time.monotonic() < end:
            r, _, _ = select.select([s], [], [], max(0, end - time.monotonic()))
            if r:
                try:
                    d = s.recv(4096)
                except OSError:
                    d = b""
                if d == b"":
                    closed = True
                    break
        if closed:
            break
    after = round(time.monotonic() - t0, 2)
    s.close()
    print(json.dumps({"closed": closed, "after": after, "sent": sent}), flush=True)
    return 0 if closed else 1


def idle(target, n, early, hold, ready, stop):
    t0 = time.monotonic()
    socks, failed = [], 0
    for _ in range(n):
        try:
            socks.append(connect(target, timeout=2.0))
        except OSError:
            failed += 1
    closed_at = {}

    def scan():
        for i, s in enumerate(socks):
            if i not in closed_at and peer_closed(s):
                closed_at[i] = time.monotonic() - t0

    while time.monotonic() - t0 < early:
        scan()
        time.sleep(0.05)
    print(json.dumps({"phase": "early", "opened": len(socks),
                      "connect_failed": failed, "closed": len(closed_at)}),
          flush=True)
    if ready:
        open(ready, "w").close()
    while time.monotonic() - t0 < hold:
        if stop and os.path.exists(stop):
            break
        scan()
        if len(closed_at) == len(socks):
            break
        time.sleep(0.1)
    scan()
    last = round(max(closed_at.values()), 2) if closed_at else None
    print(json.dumps({"phase": "end", "closed": len(closed_at),
                      "open": len(socks) - len(closed_at), "last_close": last,
                      "after": round(time.monotonic() - t0, 2)}), flush=True)
    for s in socks:
        s.close()
    return 0


def raise_nofile(n):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        want = n if hard == resource.RLIM_INFINITY or hard >= n else hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


PARTIAL = (b"POST /service-account-tokens HTTP/1.1\r\nHost: localhost\r\n"
           b"Content-Length: 100\r\n\r\n")


def hog(target, n, holds, ready, stop, rotate, partial=False):
    raise_nofile(n + 64)
    ep = select.epoll()
    socks = {}
    stats = {"opened": 0, "closed_by_server": 0, "connect_failed": 0}
    src = [0]

    def open_one():
        try:
            if rotate:
                src[0] = src[0] % 250 + 1
                host, port = target.rsplit(":", 1)
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.settimeout(0.5)
                s.bind(("127.0.%d.%d" % (src[0] // 250, src[0] % 250 + 2), 0))
                s.connect((host, int(port)))
            else:
                s = connect(target, timeout=0.5)
            if partial:
                s.sendall(PARTIAL)
        except OSError:
            stats["connect_failed"] += 1
            return False
        s.setblocking(False)
        socks[s.fileno()] = s
        ep.register(s.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
        stats["opened"] += 1
        return True

    t0 = time.monotonic()
    for _ in range(n):
        open_one()
    if ready:
        open(ready, "w").close()
    while time.monotonic() - t0 < holds:
        if stop and os.path.exists(stop):
            break
        for fd, _ in ep.poll(0.05):
            s = socks.pop(fd, None)
            if s is None:
                continue
            ep.unregister(fd)
            s.close()
            stats["closed_by_server"] += 1
        # reopen what was closed (or never opened), as a hog would
        tries = 0
        while len(socks) < n and tries < 200:
            tries += 1
            if not open_one():
                time.sleep(0.01)
                break
    stats["open_at_end"] = len(socks)
    for s in socks.values():
        s.close()
    print(json.dumps(stats), flush=True)
    return 0


def opt(args, name, default, conv=str):
    if name in args:
        i = args.index(name)
        v = args[i + 1]
        del args[i:i + 2]
        return conv(v)
    return default


def main(argv):
    args = list(argv[1:])
    if len(args) >= 2 and args[0] == "loris":
        interval = opt(args, "--interval", 1.0, float)
        maxs = opt(args, "--max", 25.0, float)
        return loris(args[1], interval, maxs)
    if len(args) >= 3 and args[0] == "idle":
        early = opt(args, "--early", 2.0, float)
        hold = opt(args, "--hold", 20.0, float)
        ready = opt(args, "--ready", None)
        stop = opt(args, "--stop", None)
        return idle(args[1], int(args[2]), early, hold, ready, stop)
    if len(args) >= 3 and args[0] == "hold":
        holds = opt(args, "--hold", 30.0, float)
        ready = opt(args, "--ready", None)
        stop = opt(args, "--stop", None)
        rotate = "--bind-rotate" in args
        if rotate:
            args.remove("--bind-rotate")
        partial = "--partial" in args
        if partial:
            args.remove("--partial")
        return hog(args[1], int(args[2]), holds, ready, stop, rotate, partial)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
