#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Hostile and broken clients on the native socket (DESIGN.md section 5):
# each one gets an error reply or is closed, within GARBAGE_DEADLINE
# seconds, while 10 idle connections are held open, and meanwhile a
# normal `svcacctctl account list` still answers in under a second.
# Afterwards the daemon is alive, has closed what it opened, and the audit
# chain verifies.
. "$(dirname "$0")/../lib.sh"

export GARBAGE_DEADLINE=${GARBAGE_DEADLINE:-4}
export FAST_MAX=${FAST_MAX:-1.0}

start_daemon || bail "daemon starts"
check -d "account create before the garbage" $CTL account create garbage-ok

fd_count() { ls "/proc/$DAEMON_PID/fd" 2>/dev/null | wc -l; }
fds_before=$(fd_count)

cat >"$TMPD/garbage.py" <<'EOF'
import os, socket, struct, subprocess, sys, threading, time

sock = sys.argv[1]
ctl = sys.argv[2:]
DEADLINE = float(os.environ["GARBAGE_DEADLINE"])
FAST_MAX = float(os.environ["FAST_MAX"])
MAGIC = 0x53564341

def hdr(typ=11, length=0, magic=MAGIC, ver=1, flags=0):
    return struct.pack(">IHHII", magic, ver, typ, length, flags)

def field(tag, kind, val, length=None):
    return struct.pack(">HBBI", tag, kind, 0, len(val) if length is None else length) + val

def frame(typ, body):
    return hdr(typ, len(body)) + body

F_NAME, STR, U64 = 3, 1, 2
past_end = field(F_NAME, STR, b"abc", length=100)
cases = [
    ("sends nothing", b""),
    ("sends half a header", hdr(12, 8)[:8]),
    ("sends garbage bytes", bytes((i * 37 + 11) % 256 for i in range(300))),
    ("wrong magic", hdr(11, 0, magic=0x47455420)),
    ("unknown protocol version", hdr(11, 0, ver=2)),
    ("protocol version 0", hdr(11, 0, ver=0)),
    ("announces a 4 GiB body", hdr(12, 0xFFFFFFFF)),
    ("announces a body over the 64 KiB cap", hdr(10, 64 * 1024 + 1)),
    ("valid header, field length past the end", frame(12, past_end)),
    ("valid header, truncated field header", frame(12, b"\x00\x03\x01")),
    ("valid header, STR with a control character", frame(12, field(F_NAME, STR, b"a\x1bb"))),
    ("valid header, U64 of 3 bytes", frame(12, field(8, U64, b"\x01\x02\x03"))),
    ("valid header, unknown field kind", frame(12, field(F_NAME, 9, b"abc"))),
    ("unknown command", frame(9999, field(F_NAME, STR, b"abc"))),
    ("half a body, then silence", hdr(12, 100) + b"\x00\x03\x01\x00\x00\x00"),
    ("an HTTP request", b"GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\n\r\n"),
]

results = {}

def attack(name, payload):
    t0 = time.monotonic()
    data = b""
    closed = False
    err = None
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(DEADLINE + 2)
        s.connect(sock)
        if payload:
            try:
                s.sendall(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass
        while time.monotonic() - t0 < DEADLINE + 2:
            try:
                d = s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                closed = True
                break
            if not d:
                closed = True
                break
            data += d
        s.close()
    except socket.timeout:
        pass
    except OSError as e:
        err = str(e)
    results[name] = (closed, data, time.monotonic() - t0, err)

def verdict(name):
    closed, data, secs, err = results[name]
    if err:
        return False, "connect failed: %s" % err
    if not closed:
        return False, "still open after %.1f s" % secs
    if secs > DEADLINE:
        return False, "closed only after %.1f s" % secs
    if not data:
        return True, "closed in %.2f s" % secs
    if len(data) < 16:
        return False, "%d-byte reply that is not a frame: %r" % (len(data), data[:32])
    magic, ver, status, length, flags = struct.unpack(">IHHII", data[:16])
    if magic != MAGIC or ver != 1:
        return False, "reply is not a frame: %r" % data[:32]
    if status == 0:
        return False, "answered with success (status 0)"
    if length != len(data) - 16:
        return False, "reply length %d, got %d bytes" % (length, len(data) - 16)
    return True, "error reply (status %d) in %.2f s" % (status, secs)

# 10 idle connections, held open for the whole run
idle = []
for i in range(10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    idle.append(s)

threads = [threading.Thread(target=attack, args=c, daemon=True) for c in cases]
for t in threads:
    t.start()
time.sleep(0.2)

def normal_request(label):
    t0 = time.monotonic()
    try:
        p = subprocess.run(ctl + ["account", "list"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=15)
        rc, err = p.returncode, p.stderr.decode(errors="replace").strip()
    except subprocess.TimeoutExpired:
        rc, err = "timeout", ""
    secs = time.monotonic() - t0
    good = rc == 0 and secs < FAST_MAX
    print("%s - account list %s answers in < %.1f s (exit %s, %.2f s)%s"
          % ("ok" if good else "not ok", label, FAST_MAX, rc, secs,
             "" if good or not err else ": " + err[:200]))

normal_request("while 10 idle and %d broken clients are connected" % len(cases))
time.sleep(1.0)
normal_request("a second later, the slow clients still waiting")

for t in threads:
    t.join(DEADLINE + 5)
for name, _ in cases:
    if name not in results:
        print("not ok - %s: no result (client thread hung)" % name)
        continue
    good, why = verdict(name)
    print("%s - %s: error reply or closed within %.0f s (%s)"
          % ("ok" if good else "not ok", name, DEADLINE, why))

normal_request("after the broken clients")
for s in idle:
    s.close()
EOF

run_tap "$PY" "$TMPD/garbage.py" "$SOCK" $CTL

if daemon_alive; then ok "daemon alive after the garbage"; else bail "daemon alive after the garbage"; fi
check -d "account show after the garbage" $CTL account show garbage-ok
check -d "audit verify after the garbage" $CTL audit verify

# every connection it accepted is closed again (slack for lazily opened files)
fds_after=$(fd_count)
for _ in $(seq 50); do
	[ "$fds_after" -le $((fds_before + 3)) ] && break
	sleep 0.1
	fds_after=$(fd_count)
done
if [ "$fds_after" -le $((fds_before + 3)) ]; then
	ok "daemon closed the client connections (fds: $fds_before before, $fds_after after)"
else
	not_ok "daemon closed the client connections (fds: $fds_before before, $fds_after after)"
	ls -l "/proc/$DAEMON_PID/fd" 2>/dev/null | tail -n 20 | diag
fi
