#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Interoperability of svcacctd's session tokens with an ordinary JWT library.

    jwt_interop.py JWKS_FILE TOKEN_FILE [TOKEN_FILE...]

Given only the JWKS document (`svcacctctl jwks`), PyJWT (Debian's
python3-jwt with python3-cryptography) must verify each token (algorithm
EdDSA, audience "svcacct", issuer "svcacctd"), and reject the same token
with one byte altered in the payload, and with one byte altered in the
signature, and with the wrong audience.

Prints TAP-style "ok - ..." / "not ok - ..." lines and "# interop: ..."
notes; exits 1 when a check failed, 2 on a usage or setup error.
"""

import base64
import json
import sys

FAILS = 0


def ok(desc):
    print("ok - %s" % desc)


def not_ok(desc):
    global FAILS
    FAILS += 1
    print("not ok - %s" % desc)


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def alter_payload(tok):
    """The token with one byte of the decoded payload changed, inside a
    string value (the jti), so that the payload stays valid JSON."""
    h, p, s = tok.split(".")
    raw = bytearray(b64d(p))
    at = raw.find(b'"jti":"')
    if at < 0:
        at = raw.find(b'"sub":"')
    i = at + 7
    raw[i] = ord("A") if raw[i] != ord("A") else ord("B")
    return "%s.%s.%s" % (h, b64e(bytes(raw)), s)


def alter_signature(tok):
    h, p, s = tok.split(".")
    raw = bytearray(b64d(s))
    raw[len(raw) // 2] ^= 0x01
    return "%s.%s.%s" % (h, p, b64e(bytes(raw)))


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    try:
        import jwt
        from jwt.exceptions import (InvalidAudienceError,
                                    InvalidSignatureError)
    except ImportError as e:
        print("not ok - PyJWT is importable (%s)" % e)
        return 2
    print("# interop: PyJWT %s" % jwt.__version__)

    with open(argv[1]) as f:
        doc = json.load(f)
    try:
        keyset = jwt.PyJWKSet.from_dict(doc)
    except Exception as e:  # noqa: BLE001 - report whatever PyJWT says
        not_ok("PyJWT loads the JWKS document (%s: %s)" % (type(e).__name__, e))
        return 1
    kids = [k.key_id for k in keyset.keys]
    ok("PyJWT loads the JWKS document (%d key(s): %s)" % (len(kids), ", ".join(kids)))
    shapes = all(k.get("kty") == "OKP" and k.get("crv") == "Ed25519" and
                 k.get("alg") == "EdDSA" and k.get("kid") and k.get("x")
                 for k in doc.get("keys", []))
    if shapes and doc.get("keys"):
        ok("every JWK is an Ed25519 OKP key with alg EdDSA, a kid and x")
    else:
        not_ok("every JWK is an Ed25519 OKP key with alg EdDSA, a kid and x")

    def key_for(tok):
        kid = jwt.get_unverified_header(tok).get("kid")
        for k in keyset.keys:
            if k.key_id == kid:
                return kid, k.key
        return kid, None

    def decode(tok, key, aud="svcacct"):
        return jwt.decode(tok, key, algorithms=["EdDSA"], audience=aud,
                          issuer="svcacctd",
                          options={"require": ["exp", "iat", "nbf", "iss",
                                               "aud", "sub", "jti"]})

    for n, path in enumerate(argv[2:], 1):
        with open(path) as f:
            tok = f.read().strip()
        name = "token %d" % n
        kid, key = key_for(tok)
        if key is None:
            not_ok("%s: its kid %r is in the JWKS" % (name, kid))
            continue
        ok("%s: its kid %s is in the JWKS" % (name, kid))
        try:
            claims = decode(tok, key)
            ok("%s: PyJWT verifies it (EdDSA, aud svcacct, iss svcacctd)" % name)
            print("# interop: %s verified: kid=%s sub=%s key_id=%s exp-iat=%d"
                  % (name, kid, claims.get("sub"), claims.get("key_id"),
                     claims["exp"] - claims["iat"]))
        except Exception as e:  # noqa: BLE001
            not_ok("%s: PyJWT verifies it (%s: %s)" % (name, type(e).__name__, e))
            continue
        cases = [
            ("one byte altered in the payload", alter_payload(tok), "svcacct",
             InvalidSignatureError),
            ("one byte altered in the signature", alter_signature(tok), "svcacct",
             InvalidSignatureError),
            ("the wrong audience", tok, "another-service", InvalidAudienceError),
        ]
        for what, bad, aud, want in cases:
            if bad == tok and want is InvalidSignatureError:
                not_ok("%s: %s differs from the token" % (name, what))
                continue
            try:
                decode(bad, key, aud)
                not_ok("%s: PyJWT rejects it with %s" % (name, what))
            except want as e:
                ok("%s: PyJWT rejects it with %s (%s)" % (name, what, type(e).__name__))
                print("# interop: %s with %s -> %s: %s"
                      % (name, what, type(e).__name__, e))
            except Exception as e:  # noqa: BLE001
                not_ok("%s: PyJWT rejects it with %s (want %s, got %s: %s)"
                       % (name, what, want.__name__, type(e).__name__, e))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
