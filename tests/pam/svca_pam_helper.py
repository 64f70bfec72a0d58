#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the PAM tests (tests/integration/t_pam_*.sh).

Credentials over the native protocol, for as long as svcacctctl has no
`key` / `token` commands (tests/pam/pamlib.sh prefers svcacctctl when it
has them):

    svca_pam_helper.py key-create SOCK NAME [DAYS]   -> the key on stdout
    svca_pam_helper.py key-id KEY                    -> its public key id
    svca_pam_helper.py key-set SOCK NAME KEYID disable|enable|revoke
    svca_pam_helper.py token-create SOCK  < KEY      -> the token on stdout
    svca_pam_helper.py token-verify SOCK  < TOKEN    exit 0 valid, 1 invalid
    svca_pam_helper.py forge-key KEY
        a key with KEY's key id, another secret and a valid checksum: it
        reaches the secret comparison (bad_secret), unlike a typo

A stand-in for svcacctd, to see what the PAM module sends and when:

    svca_pam_helper.py fake-daemon MODE SOCK LOG [--chown UID] [--setuid UID]
        MODE silent: accepts, reads, never answers (a hung daemon)
             ok:     answers every request with status 0 and F_REASON "ok"
                     (and F_ALLOWED 1), like a daemon that says yes
             trickle: the "ok" answer a few bytes at a time (the header
                     and the body arrive in pieces)
             big:    the "ok" answer with a 6000-byte F_MESSAGE (a body
                     longer than the client's first read)
             extra:  the "ok" answer followed by stray bytes
             short:  a header announcing a body, half of it, then close
        LOG gets one line per connection: "conn CMD=<n> bytes=<n> key=<0|1>
        token=<0|1>" once a request was read, "conn bytes=0" for a client
        that connected and sent nothing.
        --chown UID  the socket file is owned by UID (the server runs as
                     root): the module must refuse to connect
        --setuid UID the socket file is root's, but the server listens as
                     UID: SO_PEERCRED tells the module so
"""

import os
import socket
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import proto_client as pc  # noqa: E402

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def b62(n, width):
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(B62[r])
    if n:
        raise ValueError("does not fit")
    return "".join(reversed(out))


def die(msg, code=1):
    sys.stderr.write("svca_pam_helper: %s\n" % msg)
    sys.exit(code)


def call(sock, cmd, fields):
    try:
        return pc.send(sock, cmd, fields)
    except pc.ProtoError as e:
        die(str(e), 5)


def key_create(sock, name, days=None):
    fields = [(pc.F_NAME, name)]
    if days is not None:
        fields.append((pc.F_EXPIRES_DAYS, int(days)))
    st, fs = call(sock, "KEY_CREATE", fields)
    if st != 0:
        die("KEY_CREATE %s: status %d: %s" % (name, st, pc.message(fs)), st)
    print(pc.get(fs, pc.F_KEY).decode())


def key_set(sock, name, keyid, verb):
    cmd = {"disable": "KEY_DISABLE", "enable": "KEY_ENABLE",
           "revoke": "KEY_REVOKE"}[verb]
    st, fs = call(sock, cmd, [(pc.F_NAME, name), (pc.F_KEY_ID, keyid)])
    if st != 0:
        die("%s: status %d: %s" % (cmd, st, pc.message(fs)), st)


def token_create(sock):
    key = sys.stdin.read().strip()
    st, fs = call(sock, "TOKEN_CREATE", [(pc.F_KEY, key.encode())])
    if st != 0:
        die("TOKEN_CREATE: status %d: %s %s" % (st, pc.get(fs, pc.F_REASON),
                                                pc.message(fs)), st)
    print(pc.get(fs, pc.F_TOKEN).decode())


def token_verify(sock):
    tok = sys.stdin.read().strip()
    st, fs = call(sock, "TOKEN_VERIFY", [(pc.F_TOKEN, tok.encode())])
    if st == 0:
        print("valid %s" % pc.get(fs, pc.F_NAME))
        return 0
    print("invalid %s" % pc.get(fs, pc.F_REASON))
    return 1


def forge_key(key):
    keyid = key[5:17]
    secret = b62(int.from_bytes(os.urandom(32), "big"), 43)
    body = "svca_%s_%s" % (keyid, secret)
    print(body + b62(zlib.crc32(body.encode()) & 0xFFFFFFFF, 6))


# ---- a fake daemon ------------------------------------------------------------


def fake_daemon(mode, path, log, chown=None, setuid=None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)
    s.bind(path)
    os.chmod(path, 0o666)
    if chown is not None:
        os.chown(path, chown, chown)
    logf = open(log, "a", buffering=1)
    if setuid is not None:
        os.setgroups([])
        os.setresgid(setuid, setuid, setuid)
        os.setresuid(setuid, setuid, setuid)
    s.listen(64)
    held = []

    def serve(c):
        got = b""
        line = "conn bytes=0"
        try:
            c.settimeout(5)
            hdr = b""
            while len(hdr) < 16:
                d = c.recv(16 - len(hdr))
                if not d:
                    break
                hdr += d
            got = hdr
            if len(hdr) == 16:
                magic, ver, typ, length, flags = pc.HDR.unpack(hdr)
                body = b""
                while len(body) < length:
                    d = c.recv(length - len(body))
                    if not d:
                        break
                    body += d
                got += body
                tags = set()
                try:
                    tags = {f[0] for f in pc.decode_body(body)}
                except pc.ProtoError:
                    pass
                line = "conn CMD=%d bytes=%d key=%d token=%d" % (
                    typ, len(got), int(pc.F_KEY in tags), int(pc.F_TOKEN in tags))
            elif got:
                line = "conn bytes=%d" % len(got)
            logf.write(line + "\n")
            if mode == "silent":
                held.append(c)  # never answered, never closed
                return
            if mode == "ok" and len(hdr) == 16:
                c.sendall(pc.encode_frame(0, [(pc.F_REASON, "ok"),
                                              (pc.F_ALLOWED, 1)]))
            elif mode in ("trickle", "big", "extra", "short") and len(hdr) == 16:
                fields = [(pc.F_REASON, "ok"), (pc.F_ALLOWED, 1)]
                if mode == "big":
                    fields.append((pc.F_MESSAGE, "m" * 6000))
                frame = pc.encode_frame(0, fields)
                if mode == "trickle":
                    for i in range(0, len(frame), 5):
                        c.sendall(frame[i:i + 5])
                        time.sleep(0.002)
                elif mode == "extra":
                    c.sendall(frame + b"\x00garbage after the reply")
                elif mode == "short":
                    c.sendall(frame[:16 + (len(frame) - 16) // 2])
                else:
                    c.sendall(frame)
        except OSError as e:
            logf.write("%s error=%s\n" % (line, e))
        if mode != "silent":
            c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def main(argv):
    if len(argv) < 2:
        die(__doc__, 2)
    verb, rest = argv[1], argv[2:]
    if verb == "key-create" and len(rest) in (2, 3):
        key_create(*rest)
    elif verb == "key-id" and len(rest) == 1:
        print(rest[0][5:17])
    elif verb == "key-set" and len(rest) == 4:
        key_set(*rest)
    elif verb == "token-create" and len(rest) == 1:
        token_create(rest[0])
    elif verb == "token-verify" and len(rest) == 1:
        return token_verify(rest[0])
    elif verb == "forge-key" and len(rest) == 1:
        forge_key(rest[0])
    elif verb == "fake-daemon" and len(rest) >= 3:
        chown = setuid = None
        opts = rest[3:]
        while opts:
            if opts[0] == "--chown":
                chown = int(opts[1])
            elif opts[0] == "--setuid":
                setuid = int(opts[1])
            else:
                die("bad option %s" % opts[0], 2)
            opts = opts[2:]
        fake_daemon(rest[0], rest[1], rest[2], chown, setuid)
    else:
        die("usage: see the top of %s" % argv[0], 2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
