/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Session tokens: compact JWS with Ed25519 (alg "EdDSA", RFC 8037).
 *
 *   base64url(header) "." base64url(payload) "." base64url(signature)
 *
 * header  = {"alg":"EdDSA","typ":"JWT","kid":KID}
 * payload = the claims, compact JSON in insertion order
 *
 * This module signs and checks the signature and the token's shape.  It
 * does NOT check exp, nbf, iat, aud, iss, jti or any other claim: the
 * caller does, after jwt_verify returns JWT_OK.
 */
#ifndef SVCACCTD_JWT_H
#define SVCACCTD_JWT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sodium.h>

#define JWT_MAX_LEN 2048 /* longest token jwt_verify accepts */
#define JWT_KID_LEN 11   /* base64url of 8 bytes */

/* Length of the unpadded base64url text of n bytes (without a NUL). */
#define JWT_B64_LEN(n) (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))

/*
 * base64url without padding (RFC 4648 section 5, RFC 7515 appendix C).
 * encode writes the text and a NUL to out; returns its length, or -1 when
 * outlen < JWT_B64_LEN(inlen) + 1.
 * decode is strict: it rejects '=', any character outside [A-Za-z0-9_-]
 * (whitespace included), a length of 1 mod 4 and non-zero unused trailing
 * bits (so each byte string has exactly one accepted text).  Returns 0 and
 * the decoded length in *outlen_ret, or -1.
 */
int jwt_b64url_encode(const void *in, size_t inlen, char *out, size_t outlen);
int jwt_b64url_decode(const char *in, size_t inlen, uint8_t *out, size_t outcap,
		      size_t *outlen_ret);

/*
 * Signs claims (a JSON object) with the Ed25519 secret key sk (libsodium's
 * 64-byte form) under key id kid.  Writes the NUL-terminated token to out
 * and returns its length, or -1 (claims not an object, kid NULL, JSON
 * encoding failed, or out too small).
 */
int jwt_sign(const json_t *claims, const char *kid, const uint8_t sk[crypto_sign_SECRETKEYBYTES],
	     char *out, size_t outlen);

/* Looks up the public key of kid; returns 0 and fills pk when known,
 * anything else when not. */
typedef int (*jwt_key_lookup)(void *ctx, const char *kid, uint8_t pk[crypto_sign_PUBLICKEYBYTES]);

enum jwt_err {
	JWT_OK = 0,
	JWT_MALFORMED,     /* shape, encoding, JSON, kid, crit, sig length */
	JWT_BAD_ALG,       /* header alg missing or not exactly "EdDSA" */
	JWT_UNKNOWN_KID,   /* lookup does not know kid */
	JWT_BAD_SIGNATURE, /* Ed25519 verification failed */
};

/*
 * Verifies token[0..len).  Checks, in order:
 *   - 1 <= len <= JWT_MAX_LEN, exactly three '.'-separated parts     MALFORMED
 *   - header: strict base64url of a JSON object, no duplicate keys   MALFORMED
 *   - alg is the string "EdDSA" (not "none", "HS256", missing...)    BAD_ALG
 *   - kid is a string, "crit" absent                                 MALFORMED
 *   - signature: strict base64url of exactly 64 bytes                MALFORMED
 *   - lookup(ctx, kid) knows the key                                 UNKNOWN_KID
 *   - Ed25519 signature over "header.payload" (before any payload
 *     parsing)                                                       BAD_SIGNATURE
 *   - payload: strict base64url of a JSON object                     MALFORMED
 * Claims (exp, nbf, aud...) are NOT checked: the caller does that.
 * On JWT_OK and claims_out != NULL, *claims_out is a new reference to the
 * payload object (the caller json_decref()s it); otherwise it is NULL.
 */
enum jwt_err jwt_verify(const char *token, size_t len, jwt_key_lookup lookup, void *ctx,
			json_t **claims_out);

/* Text name of an error, for logs ("ok", "malformed", ...). */
const char *jwt_err_str(enum jwt_err e);

/* kid of a public key: base64url of the first 8 bytes of BLAKE2b-256(pk),
 * 11 characters and a NUL.  Returns 0, or -1. */
int jwt_kid_of(const uint8_t pk[crypto_sign_PUBLICKEYBYTES], char kid[16]);

/* The public JWK of pk, for a JWKS document:
 * {"kty":"OKP","crv":"Ed25519","x":b64url(pk),"kid":kid,"use":"sig",
 *  "alg":"EdDSA"}.  New reference, or NULL. */
json_t *jwt_jwk(const char *kid, const uint8_t pk[crypto_sign_PUBLICKEYBYTES]);

#endif
