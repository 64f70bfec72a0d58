#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A small client for svcacctd's native protocol (common/proto.h), for tests.

Frame: a 16-byte header, then a body of typed, length-prefixed fields; all
integers big-endian.

    header := magic:u32 ("SVCA") version:u16 (=1) type:u16 length:u32 flags:u32
    field  := tag:u16 kind:u8 zero:u8 length:u32 value[length]
    kinds  := STR=1 (UTF-8 text), U64=2 (8 bytes), BYTES=3, MARK=4 (empty)

In a request "type" is the command, in a reply the status (0 ok, 1 failed,
2 bad request, 3 not authorized, 4 not found, 5 unavailable).

Library use (from another test script):

    sys.path.insert(0, "tests"); import proto_client as pc
    status, fields = pc.send(sock, "PAM_AUTHORIZE",
                             [(pc.F_NAME, "ci-deploy"), (pc.F_SERVICE, "sshd")])
    pc.get(fields, pc.F_ALLOWED)    # first value of a tag, or None
    pc.items(fields)                # list items (split at F_ITEM markers)

A field is (tag, value) with the kind taken from the value's type (str ->
STR, int -> U64, bytes -> BYTES, None -> MARK), or (tag, kind, value) to
force a kind (raw tests may send wrong kinds on purpose).  send() returns
fields as (tag, kind, value) triples: str for STR, int for U64, bytes for
BYTES and None for MARK.  send_raw() sends arbitrary bytes.

Command line:

    proto_client.py SOCKET authorize NAME SERVICE [--rhost H] [--tty T] [-v]
        prints "allow" or "deny REASON" on stdout; exit 0 allow, 1 deny,
        4 unknown account, 3 not authorized (the daemon answers root only),
        2 bad request, 6 other daemon error, 5 unreachable / protocol error.
        -v: also "role=ROLE message=..." on stderr.
    proto_client.py SOCKET call CMD [TAG=VALUE ...]
        CMD is a name (PING, TEAM_CREATE, ...) or a number; TAG a name
        (F_NAME or NAME) or a number; VALUE "s:text", "u:123", "b:HEX",
        "m:" or plain text (STR).  Prints {"status", "fields": [[tag name,
        value], ...]} as JSON; exit status = the reply status (5 when the
        daemon is unreachable or the reply is malformed).
"""

import json
import os
import socket
import struct
import sys
import time

MAGIC = 0x53564341
VERSION = 1
HDR = struct.Struct(">IHHII")
FHDR = struct.Struct(">HBBI")
MAX_REPLY = 64 * 1024 * 1024

K_STR, K_U64, K_BYTES, K_MARK = 1, 2, 3, 4

CMDS = {
    "PING": 1,
    "ACCOUNT_CREATE": 10, "ACCOUNT_LIST": 11, "ACCOUNT_SHOW": 12,
    "ACCOUNT_UPDATE": 13, "ACCOUNT_DISABLE": 14, "ACCOUNT_ENABLE": 15,
    "ACCOUNT_DELETE": 16, "ACCOUNT_ACCESS": 17,
    "TEAM_CREATE": 20, "TEAM_LIST": 21, "TEAM_DELETE": 22,
    "WORKSPACE_CREATE": 23, "WORKSPACE_LIST": 24, "WORKSPACE_DELETE": 25,
    "GRANT_ADD": 26, "GRANT_REMOVE": 27, "GRANT_LIST": 28,
    "KEY_CREATE": 30, "KEY_LIST": 31, "KEY_DISABLE": 32, "KEY_ENABLE": 33,
    "KEY_REVOKE": 34, "TOKEN_CREATE": 35, "TOKEN_VERIFY": 36,
    "TOKEN_REVOKE": 37, "JWKS": 38,
    "PAM_AUTH": 40, "PAM_AUTHORIZE": 41, "PAM_SESSION_OPEN": 42,
    "PAM_SESSION_CLOSE": 43,
    "AUDIT_LIST": 50, "AUDIT_VERIFY": 51,
}

STATUS = {0: "OK", 1: "FAILED", 2: "BADREQ", 3: "NOTAUTH", 4: "NOTFOUND",
          5: "UNAVAIL"}

TAGS = {
    "F_ITEM": 1, "F_MESSAGE": 2, "F_NAME": 3, "F_NEW_NAME": 4,
    "F_DESCRIPTION": 5, "F_ORG_ROLE": 6, "F_STATUS": 7, "F_UID": 8,
    "F_CREATED_AT": 9, "F_CREATED_BY": 10, "F_UPDATED_AT": 11,
    "F_UPDATED_BY": 12, "F_LAST_ACTIVITY": 13, "F_FORCE": 14,
    "F_TEAM": 20, "F_WORKSPACE": 21, "F_ROLE": 22, "F_CAPABILITY": 23,
    "F_SOURCE": 24, "F_SERVICE": 25,
    "F_KEY_ID": 30, "F_KEY": 31, "F_TOKEN": 32, "F_LABEL": 33,
    "F_EXPIRES_AT": 34, "F_LAST_USED_AT": 35, "F_EXPIRES_DAYS": 36,
    "F_EXPIRES_IN": 37, "F_JSON": 38, "F_RHOST": 39, "F_TTY": 40,
    "F_PID": 41, "F_REASON": 42, "F_ALLOWED": 43,
    "F_ACCOUNT": 50, "F_EVENT": 51, "F_SINCE": 52, "F_LIMIT": 53,
    "F_SEQ": 54, "F_TOTAL": 55, "F_ON_HOST": 56,
}
TAG_NAMES = {v: k for k, v in TAGS.items()}
globals().update(TAGS)  # F_NAME etc. as module constants


class ProtoError(Exception):
    """The daemon is unreachable, or its reply is not a valid frame."""


# ---- encoding -------------------------------------------------------------


def encode_field(f):
    if len(f) == 3:
        tag, kind, val = f
    else:
        tag, val = f
        if val is None:
            kind = K_MARK
        elif isinstance(val, bool) or isinstance(val, int):
            kind = K_U64
        elif isinstance(val, (bytes, bytearray)):
            kind = K_BYTES
        else:
            kind = K_STR
    if val is None:
        raw = b""
    elif isinstance(val, (bytes, bytearray)):
        raw = bytes(val)
    elif isinstance(val, int):
        raw = struct.pack(">Q", val & 0xFFFFFFFFFFFFFFFF)
    else:
        raw = str(val).encode("utf-8")
    return FHDR.pack(tag, kind, 0, len(raw)) + raw


def encode_frame(typ, fields=(), version=VERSION, magic=MAGIC, flags=0):
    body = b"".join(encode_field(f) for f in fields)
    return HDR.pack(magic, version, typ, len(body), flags) + body


def cmd_number(cmd):
    if isinstance(cmd, int):
        return cmd
    c = str(cmd).upper()
    if c.startswith("SVCA_CMD_"):
        c = c[len("SVCA_CMD_"):]
    if c in CMDS:
        return CMDS[c]
    return int(c, 0)


# ---- decoding -------------------------------------------------------------


def decode_body(body):
    out = []
    off = 0
    while off < len(body):
        if len(body) - off < FHDR.size:
            raise ProtoError("truncated field header at offset %d" % off)
        tag, kind, zero, n = FHDR.unpack_from(body, off)
        off += FHDR.size
        if zero != 0:
            raise ProtoError("field %d: reserved byte is %d" % (tag, zero))
        if n > len(body) - off:
            raise ProtoError("field %d: length %d beyond the body" % (tag, n))
        raw = body[off:off + n]
        off += n
        if kind == K_STR:
            val = raw.decode("utf-8", "replace")
        elif kind == K_U64:
            if n != 8:
                raise ProtoError("field %d: U64 of %d bytes" % (tag, n))
            val = struct.unpack(">Q", raw)[0]
        elif kind == K_BYTES:
            val = raw
        elif kind == K_MARK:
            if n != 0:
                raise ProtoError("field %d: MARK with %d bytes" % (tag, n))
            val = None
        else:
            raise ProtoError("field %d: unknown kind %d" % (tag, kind))
        out.append((tag, kind, val))
    return out


def _recv_exact(s, n, deadline):
    buf = bytearray()
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ProtoError("timed out waiting for the reply")
        s.settimeout(left)
        try:
            chunk = s.recv(min(n - len(buf), 1 << 20))
        except socket.timeout:
            raise ProtoError("timed out waiting for the reply")
        except OSError as e:
            raise ProtoError("receive: %s" % e)
        if not chunk:
            raise ProtoError("connection closed after %d of %d bytes"
                             % (len(buf), n))
        buf += chunk
    return bytes(buf)


def send_raw(sock_path, data, timeout=10.0, read_reply=True):
    """Sends bytes, returns (header tuple, body bytes) of the reply, or None
    when read_reply is false."""
    deadline = time.monotonic() + timeout
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        s.settimeout(timeout)
        try:
            s.connect(sock_path)
            s.sendall(data)
        except socket.timeout:
            raise ProtoError("timed out connecting to %s" % sock_path)
        except OSError as e:
            raise ProtoError("%s: %s" % (sock_path, e))
        if not read_reply:
            return None
        hdr = _recv_exact(s, HDR.size, deadline)
        magic, ver, typ, length, flags = HDR.unpack(hdr)
        if magic != MAGIC:
            raise ProtoError("bad magic 0x%08x in the reply" % magic)
        if ver != VERSION:
            raise ProtoError("reply has protocol version %d" % ver)
        if length > MAX_REPLY:
            raise ProtoError("reply announces %d bytes" % length)
        body = _recv_exact(s, length, deadline) if length else b""
        return (magic, ver, typ, length, flags), body
    finally:
        s.close()


def send(sock_path, cmd, fields=(), timeout=10.0):
    """One request -> (status, fields).  Raises ProtoError when the daemon
    cannot be reached or the reply is malformed."""
    hdr, body = send_raw(sock_path, encode_frame(cmd_number(cmd), fields),
                         timeout)
    return hdr[2], decode_body(body)


# ---- reply helpers --------------------------------------------------------


def get(fields, tag, default=None):
    for f in fields:
        if f[0] == tag:
            return f[2]
    return default


def get_all(fields, tag):
    return [f[2] for f in fields if f[0] == tag]


def items(fields):
    """The list items of a reply: a list of field lists, one per F_ITEM."""
    out = []
    for f in fields:
        if f[0] == F_ITEM and f[1] == K_MARK:
            out.append([])
        elif out:
            out[-1].append(f)
    return out


def message(fields):
    return get(fields, F_MESSAGE, "")


def authorize(sock_path, name, service, rhost=None, tty=None, timeout=10.0):
    """PAM_AUTHORIZE -> (status, allowed, reason, role, message)."""
    fields = [(F_NAME, name), (F_SERVICE, service)]
    if rhost is not None:
        fields.append((F_RHOST, rhost))
    if tty is not None:
        fields.append((F_TTY, tty))
    st, fs = send(sock_path, "PAM_AUTHORIZE", fields, timeout)
    allowed = get(fs, F_ALLOWED)
    return (st, allowed, get(fs, F_REASON), get(fs, F_ROLE), message(fs))


# ---- command line ---------------------------------------------------------


def _parse_value(v):
    if v.startswith("s:"):
        return K_STR, v[2:]
    if v.startswith("u:"):
        return K_U64, int(v[2:], 0)
    if v.startswith("b:"):
        return K_BYTES, bytes.fromhex(v[2:])
    if v == "m:" or v.startswith("m:"):
        return K_MARK, None
    return K_STR, v


def _tag_number(t):
    u = t.upper()
    if u in TAGS:
        return TAGS[u]
    if "F_" + u in TAGS:
        return TAGS["F_" + u]
    return int(t, 0)


def _usage():
    sys.stderr.write(
        "usage: proto_client.py SOCKET authorize NAME SERVICE [--rhost H] "
        "[--tty T] [-v]\n"
        "       proto_client.py SOCKET call CMD [TAG=VALUE ...]\n")
    return 2


def main(argv):
    if len(argv) < 3:
        return _usage()
    sock, verb, rest = argv[1], argv[2], argv[3:]
    if verb == "authorize":
        verbose = False
        rhost = tty = None
        pos = []
        i = 0
        while i < len(rest):
            a = rest[i]
            if a == "-v":
                verbose = True
            elif a in ("--rhost", "--tty") and i + 1 < len(rest):
                if a == "--rhost":
                    rhost = rest[i + 1]
                else:
                    tty = rest[i + 1]
                i += 1
            else:
                pos.append(a)
            i += 1
        if len(pos) != 2:
            return _usage()
        try:
            st, allowed, reason, role, msg = authorize(sock, pos[0], pos[1],
                                                       rhost, tty)
        except ProtoError as e:
            sys.stderr.write("proto_client: %s\n" % e)
            return 5
        if st != 0:
            sys.stderr.write("proto_client: %s: %s\n"
                             % (STATUS.get(st, "status %d" % st), msg))
            if st == 4:
                print("unknown")
            return {2: 2, 3: 3, 4: 4}.get(st, 6)
        if verbose:
            sys.stderr.write("role=%s message=%s\n" % (role, msg))
        if allowed == 1:
            print("allow")
            return 0
        if allowed == 0:
            print("deny %s" % reason)
            return 1
        sys.stderr.write("proto_client: reply without a valid F_ALLOWED (%r)\n"
                         % (allowed,))
        return 6
    if verb == "call":
        if not rest:
            return _usage()
        try:
            cmd = cmd_number(rest[0])
        except ValueError:
            sys.stderr.write("proto_client: unknown command %s\n" % rest[0])
            return 2
        fields = []
        for a in rest[1:]:
            if "=" not in a:
                return _usage()
            t, v = a.split("=", 1)
            try:
                kind, val = _parse_value(v)
                fields.append((_tag_number(t), kind, val))
            except ValueError:
                sys.stderr.write("proto_client: bad field %s\n" % a)
                return 2
        try:
            st, fs = send(sock, cmd, fields)
        except ProtoError as e:
            sys.stderr.write("proto_client: %s\n" % e)
            return 5
        out = []
        for tag, kind, val in fs:
            if isinstance(val, bytes):
                val = val.hex()
            out.append([TAG_NAMES.get(tag, tag), val])
        print(json.dumps({"status": st, "fields": out}))
        return st if st in STATUS else 5
    return _usage()


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except BrokenPipeError:
        os._exit(141)
