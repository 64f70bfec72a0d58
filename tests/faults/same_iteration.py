#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""tests/faults/same_iteration.py SOCKET DAEMON_PID FAULTS_FILE SPEC NAME MODE:
puts an `account create NAME` into one iteration of the daemon's event
loop together with something else, with the fault SPEC (e.g.
journal_write:1) armed for it.  Prints the create's reply status (0 = the
daemon acknowledged it; -1 = no valid reply).

MODE --hup: a configuration reload.  All of the create but its last byte
  is sent; the daemon is stopped (SIGSTOP); the last byte is sent, SPEC
  armed and SIGHUP sent; on SIGCONT the daemon finds the request and the
  signal ready at once.

MODE --tick ACCOUNT: the periodic tick (due every 5 s).  Needs
  audit_timeout_ms >= 5200 and client_timeout_ms above that.  All of the
  create but its last byte is sent; "syslog:1" is armed and an
  `account update ACCOUNT` sent: its syslog line meets a stuck sink, and
  the daemon spends audit_timeout_ms in that iteration.  Meanwhile SPEC is
  armed and the create's last byte sent: the next iteration handles the
  create with the tick overdue.
"""

import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import proto_client as pc  # noqa: E402


def arm(ff, spec):
    with open(ff + ".new", "w") as f:
        f.write(spec + "\n")
    os.rename(ff + ".new", ff)


def reply_status(s, timeout):
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except OSError:
        pass
    return pc.HDR.unpack(data[:pc.HDR.size])[2] if len(data) >= pc.HDR.size else -1


def main():
    sock, pid, ff, spec, name, mode = sys.argv[1:7]
    pid = int(pid)
    frame = pc.encode_frame(pc.cmd_number("ACCOUNT_CREATE"), [(pc.F_NAME, name)])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    s.sendall(frame[:-1])
    time.sleep(0.2)  # the daemon has read all it could
    if mode == "--hup":
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(0.05)
            s.sendall(frame[-1:])
            arm(ff, spec)
            os.kill(pid, signal.SIGHUP)
            time.sleep(0.05)
        finally:
            os.kill(pid, signal.SIGCONT)
    elif mode == "--tick":
        other = sys.argv[7]
        arm(ff, "syslog:1")
        a = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        a.connect(sock)
        a.sendall(pc.encode_frame(pc.cmd_number("ACCOUNT_UPDATE"),
                                  [(pc.F_NAME, other), (pc.F_DESCRIPTION, "tick %f" % time.time())]))
        time.sleep(0.7)  # the daemon now waits on the stuck sink
        arm(ff, spec)
        s.sendall(frame[-1:])
        reply_status(a, 30)
        a.close()
    else:
        sys.exit("unknown mode " + mode)
    print(reply_status(s, 30))


if __name__ == "__main__":
    main()
