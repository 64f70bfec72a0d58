#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""forge_key.py KEY_A KEY_B: prints an API key that is well formed and
correctly checksummed but pairs KEY_A's key id with KEY_B's secret, so the
daemon finds the key id and refuses the secret (reason bad_secret).

Key text (common/keyfmt.h): "svca_" keyid(12) "_" secret(43) check(6); the
check is the CRC-32 of everything before it, as 6 base62 digits
(0-9A-Za-z, most significant first).
"""
import sys
import zlib

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def check(text):
    n = zlib.crc32(text.encode("ascii")) & 0xFFFFFFFF
    out = []
    for _ in range(6):
        n, r = divmod(n, 62)
        out.append(B62[r])
    return "".join(reversed(out))


def main(argv):
    if len(argv) != 3 or any(len(k) != 67 or not k.startswith("svca_") for k in argv[1:]):
        sys.stderr.write(__doc__)
        return 2
    a, b = argv[1], argv[2]
    body = a[:18] + b[18:61]
    print(body + check(body))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
