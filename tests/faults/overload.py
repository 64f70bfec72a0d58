#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""tests/faults/overload.py SOCKET PHASE [ARGS...]: abusive clients of the
native socket for tests/integration/t_overload.sh.  Each phase prints
"ok - ..." / "not ok - ..." lines and a last line "# threw: ...; got
through: ...".  Every wait is bounded; the daemon is assumed to run with
client_timeout_ms = CLIENT_TIMEOUT_MS (environment, default 2000).

Phases:
  idle N HELD LEGIT   N idle connections at once.  HELD: how many the
                      daemon is expected to keep (the rest are refused:
                      closed at once; -1: not checked); LEGIT "ok":
                      requests made while they are held must be answered
                      within 1 s; "refused": they must be refused at once
                      (no slot); "any": not checked.  With "refused" and
                      "any" a request must be answered once the idle ones
                      are dropped.  All idle ones must be closed by the
                      daemon within the client timeout + 1.5 s.
  loris N             N slow-loris senders, each trickling a valid frame a
                      byte every 150 ms (it would take ~5 s): each must be
                      dropped at its deadline; legitimate requests meanwhile
                      are answered within 1 s.
  frames              maximum-size frames and just over; a frame announcing
                      4 GiB; 64 KiB of garbage; 100 connections sending
                      64 KiB frames at once; 300 announcing 64 KiB and
                      sending half.
  lockout KEYID GOOD OTHER N
                      N keys with KEYID's id and wrong secrets from this
                      caller: the lockout must engage within the threshold;
                      then GOOD (the right key for KEYID) is refused for
                      this caller, OTHER (another account's key) works.
  ratelimit KEY N LIMIT
                      N exchanges of KEY from this caller: LIMIT are issued,
                      then the rate limit engages (rate_limited, with a
                      retry-after).
"""

import os
import random
import resource
import select
import socket
import struct
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import proto_client as pc  # noqa: E402

SOCK = sys.argv[1]
TIMEOUT = int(os.environ.get("CLIENT_TIMEOUT_MS", "2000")) / 1000.0
MAX_REQ = 64 * 1024
MAX_UNAUTH = 4 * 1024
F_RETRY_AFTER = 58  # common/proto.h
FAILS = 0


def report(good, text):
    global FAILS
    if not good:
        FAILS += 1
    print("%s - %s" % ("ok" if good else "not ok", text), flush=True)


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        want = n if hard == resource.RLIM_INFINITY or hard >= n else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
        except (ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(SOCK)
    return s


def ready(socks, timeout=0.0):
    """The sockets of socks that are readable (or closed) now, or within
    timeout seconds (poll: fds above FD_SETSIZE are fine)."""
    p = select.poll()
    byfd = {}
    for s in socks:
        p.register(s, select.POLLIN | select.POLLHUP | select.POLLERR)
        byfd[s.fileno()] = s
    return [byfd[fd] for fd, _ev in p.poll(int(timeout * 1000))]


def outcome(s, wait):
    """Reads until EOF or `wait` seconds: ("reply", status) for a frame,
    ("closed", None) for EOF without data, ("open", None) on timeout."""
    end = time.monotonic() + wait
    data = b""
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return ("open", None)
        if not ready([s], left):
            return ("open", None)
        try:
            d = s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            d = b""
        if not d:
            if len(data) >= pc.HDR.size:
                return ("reply", pc.HDR.unpack(data[:pc.HDR.size])[2])
            return ("closed", None)
        data += d


def legit(label, want="ok"):
    """One account list as this caller: (good, text)."""
    t0 = time.monotonic()
    try:
        st, _ = pc.send(SOCK, "ACCOUNT_LIST", timeout=5)
        secs = time.monotonic() - t0
        if want == "ok":
            return st == 0 and secs < 1.0, "%s: account list answered in %.3f s (status %d)" % (label, secs, st)
        return False, "%s: account list answered (status %d) although every slot is taken" % (label, st)
    except pc.ProtoError as e:
        secs = time.monotonic() - t0
        if want == "refused":
            return secs < 1.0, "%s: account list refused at once (%.3f s: %s)" % (label, secs, e)
        return False, "%s: account list failed after %.3f s: %s" % (label, secs, e)


# ---- phases -------------------------------------------------------------------


def phase_idle(n, held_want, legit_want):
    raise_nofile(n + 256)
    conns, errors = [], 0
    t0 = time.monotonic()
    for _ in range(n):
        try:
            conns.append(connect())
        except OSError:
            errors += 1
    opened = time.monotonic() - t0
    time.sleep(0.5)
    # refused at once: already closed by the daemon
    refused = set()
    for s in ready(conns):
        if outcome(s, 0.2)[0] == "closed":
            refused.add(s)
    held = [s for s in conns if s not in refused]
    report(errors == 0, "%d idle connections opened in %.2f s (%d connect errors)" % (n, opened, errors))
    if held_want >= 0:
        report(len(held) == held_want, "the daemon keeps %d of them (%d expected), refuses %d at once"
               % (len(held), held_want, len(refused)))
    got = 0
    for i in range(3 if legit_want != "any" else 0):
        good, text = legit("while %d idle connections are held (%d)" % (len(held), i + 1), legit_want)
        got += good and legit_want == "ok"
        report(good, text)
    # the daemon drops the idle ones at their deadline (with "any", those it
    # could not accept at once get theirs later)
    bound = TIMEOUT + 1.5 if legit_want != "any" else 3 * TIMEOUT + 1.5
    t1 = time.monotonic()
    pending = list(held)
    while pending and time.monotonic() - t1 < bound + 1.5:
        for s in ready(pending):
            if outcome(s, 0.1)[0] != "open":
                pending.remove(s)
        if pending:
            time.sleep(0.05)
    waited = time.monotonic() - t1
    report(not pending and waited < bound,
           "all %d held connections dropped by the daemon within %.2f s of the check (%d still open)"
           % (len(held), waited, len(pending)))
    for s in conns:
        s.close()
    if legit_want != "ok":
        good, text = legit("once the idle connections are gone")
        got += good
        report(good, text)
    print("# threw: %d idle connections; got through: %d kept, %d refused at once; legit requests answered: %d"
          % (n, len(held), len(refused), got))


def phase_loris(n):
    frame = pc.encode_frame(pc.cmd_number("ACCOUNT_LIST"), [(pc.F_LABEL, "x" * 16)])
    results = [None] * n
    stop = threading.Event()

    def loris(i):
        t0 = time.monotonic()
        try:
            s = connect()
        except OSError as e:
            results[i] = ("connect: %s" % e, 0.0, 0)
            return
        sent = 0
        try:
            for b in frame:
                s.sendall(bytes([b]))
                sent += 1
                if ready([s], 0.15):
                    break
            kind, _ = outcome(s, 0.5)
        except (BrokenPipeError, ConnectionResetError):
            kind = "closed"
        except OSError as e:
            kind = "error: %s" % e
        results[i] = (kind, time.monotonic() - t0, sent)
        s.close()

    threads = [threading.Thread(target=loris, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    ok_legit = 0
    for i in range(3):
        good, text = legit("while %d slow-loris senders trickle (%d)" % (n, i + 1))
        ok_legit += good
        report(good, text)
        time.sleep(0.3)
    for t in threads:
        t.join(TIMEOUT + 10)
    stop.set()
    done = [r for r in results if r]
    dropped = [r for r in done if r[0] == "closed"]
    worst = max((r[1] for r in done), default=0)
    most = max((r[2] for r in done), default=0)
    report(len(dropped) == n and worst < TIMEOUT + 1.5,
           "%d slow-loris senders: %d dropped before finishing their frame (at most %d of %d bytes sent), "
           "the last after %.2f s" % (n, len(dropped), most, len(frame), worst))
    print("# threw: %d slow-loris senders (1 byte / 150 ms); got through: none (%d dropped at the deadline); "
          "legit requests answered: %d/3" % (n, len(dropped), ok_legit))


def frame_of(cmd, body_len):
    """A frame of exactly body_len body bytes: one BYTES field (F_LABEL)."""
    fld = body_len - pc.FHDR.size
    body = pc.FHDR.pack(pc.F_LABEL, pc.K_BYTES, 0, fld) + b"a" * fld
    return pc.HDR.pack(pc.MAGIC, pc.VERSION, cmd, len(body), 0) + body


def one(data, wait=TIMEOUT + 1.5, label=""):
    t0 = time.monotonic()
    try:
        s = connect()
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        kind, st = outcome(s, wait)
        s.close()
    except OSError as e:
        kind, st = "error: %s" % e, None
    return kind, st, time.monotonic() - t0


def phase_frames():
    through = []
    list_cmd = pc.cmd_number("ACCOUNT_LIST")
    ping = pc.cmd_number("PING")
    cases = [
        ("a %d-byte body (the cap) for account list" % MAX_REQ, frame_of(list_cmd, MAX_REQ), "any"),
        ("a %d-byte body (cap + 1) for account list" % (MAX_REQ + 1), frame_of(list_cmd, MAX_REQ + 1), 2),
        ("a %d-byte body (the unauthenticated cap) for ping" % MAX_UNAUTH, frame_of(ping, MAX_UNAUTH), "any"),
        ("a %d-byte body (cap + 1) for ping" % (MAX_UNAUTH + 1), frame_of(ping, MAX_UNAUTH + 1), 2),
        ("a header announcing 4 GiB", pc.HDR.pack(pc.MAGIC, pc.VERSION, list_cmd, 0xFFFFFFFF, 0), 2),
        ("64 KiB of garbage", bytes(random.Random(7).getrandbits(8) for _ in range(MAX_REQ)), "error"),
    ]
    for label, data, want in cases:
        kind, st, secs = one(data)
        if want == "any":
            good = kind == "reply"
        elif want == "error":
            good = kind == "closed" or (kind == "reply" and st != 0)
        else:
            good = kind == "reply" and st == want
        if kind == "reply" and st == 0:
            through.append(label)
        report(good and secs < TIMEOUT + 1.5, "%s: %s%s in %.2f s" % (
            label, kind, "" if st is None else " (status %d)" % st, secs))

    # many full-size frames at once
    n = 100
    big = frame_of(list_cmd, MAX_REQ)
    res = [None] * n

    def send_big(i):
        res[i] = one(big, TIMEOUT + 3)

    threads = [threading.Thread(target=send_big, args=(i,), daemon=True) for i in range(n)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT + 10)
    secs = time.monotonic() - t0
    replies = sum(1 for r in res if r and r[0] == "reply")
    report(replies == n and secs < TIMEOUT + 3,
           "%d connections sending a %d-byte frame at once: %d replies in %.2f s" % (n, MAX_REQ, replies, secs))

    # half-sent full-size frames: the daemon holds a 64 KiB buffer for each
    # until the deadline, then frees it
    m = 300
    raise_nofile(m + 256)
    half = big[: pc.HDR.size + MAX_REQ // 2]
    conns = []
    for _ in range(m):
        try:
            s = connect()
            s.sendall(half)
            conns.append(s)
        except OSError:
            pass
    good, text = legit("while %d half-sent 64 KiB frames are pending" % len(conns))
    report(good, text)
    t1 = time.monotonic()
    pending = list(conns)
    while pending and time.monotonic() - t1 < TIMEOUT + 3:
        for s in ready(pending):
            if outcome(s, 0.1)[0] != "open":
                pending.remove(s)
        if pending:
            time.sleep(0.05)
    report(not pending, "%d half-sent 64 KiB frames: all dropped at the deadline (%d still open after %.2f s)"
           % (len(conns), len(pending), time.monotonic() - t1))
    for s in conns:
        s.close()
    print("# threw: frames at and over the caps (64 KiB, 4 KiB), one announcing 4 GiB, 64 KiB of garbage, "
          "%d full 64 KiB frames at once, %d half-sent ones; got through: %s; %d full frames answered"
          % (n, m, ", ".join(through) or "none", replies))


B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def b62(n, width):
    s = ""
    for _ in range(width):
        n, r = divmod(n, 62)
        s = B62[r] + s
    return s


def fake_key(keyid):
    body = "svca_" + keyid + "_" + b62(int.from_bytes(os.urandom(32), "big"), 43)
    return body + b62(zlib.crc32(body.encode()), 6)


def exchange(key):
    st, f = pc.send(SOCK, "TOKEN_CREATE", [(pc.F_KEY, key.encode())], timeout=5)
    return st, pc.get(f, pc.F_REASON), pc.get(f, F_RETRY_AFTER), pc.get(f, pc.F_TOKEN)


def phase_lockout(keyid, good_key, other_key, n):
    reasons = {}
    first_locked = None
    for i in range(n):
        st, reason, _retry, _tok = exchange(fake_key(keyid))
        r = reason or ("ok" if st == 0 else "status %d" % st)
        reasons[r] = reasons.get(r, 0) + 1
        if r == "locked_out" and first_locked is None:
            first_locked = i + 1
    report(reasons.get("ok", 0) == 0, "%d wrong secrets for key id %s: none accepted (%s)" % (
        n, keyid, ", ".join("%s %d" % kv for kv in sorted(reasons.items()))))
    report(first_locked is not None and first_locked <= 10,
           "the lockout engages at attempt %s" % first_locked)
    st, reason, retry, _tok = exchange(good_key)
    report(st != 0 and reason == "locked_out",
           "the right key for %s is refused for this caller now (status %d, %s, retry after %s s)"
           % (keyid, st, reason, retry))
    st, reason, _retry, tok = exchange(other_key)
    report(st == 0 and tok, "another account's key from the same caller still works (status %d%s)"
           % (st, "" if st == 0 else ", " + str(reason)))
    print("# threw: %d wrong secrets for one key id; got through: none; lockout at attempt %s; "
          "other account: %s" % (n, first_locked, "ok" if st == 0 else "refused"))


def phase_ratelimit(key, n, limit):
    got, limited, other, retry = 0, 0, {}, None
    t0 = time.monotonic()
    for _ in range(n):
        st, reason, r, tok = exchange(key)
        if st == 0 and tok:
            got += 1
        elif reason == "rate_limited":
            limited += 1
            retry = r
        else:
            other[reason] = other.get(reason, 0) + 1
    secs = time.monotonic() - t0
    report(got == limit and limited == n - limit and not other,
           "%d exchanges from one caller (uid %d) in %.2f s: %d issued (the limit is %d), %d rate_limited "
           "(retry after %s s)%s" % (n, os.getuid(), secs, got, limit, limited, retry,
                                      "" if not other else ", other: %r" % other))
    print("# threw: %d token exchanges from one uid; got through: %d; rate limited: %d" % (n, got, limited))


def main():
    phase, args = sys.argv[2], sys.argv[3:]
    if phase == "idle":
        phase_idle(int(args[0]), int(args[1]), args[2])
    elif phase == "loris":
        phase_loris(int(args[0]))
    elif phase == "frames":
        phase_frames()
    elif phase == "lockout":
        phase_lockout(args[0], args[1], args[2], int(args[3]))
    elif phase == "ratelimit":
        phase_ratelimit(args[0], int(args[1]), int(args[2]))
    else:
        sys.exit("unknown phase " + phase)
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
