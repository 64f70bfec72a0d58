/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Session tokens: compact JWS, Ed25519 (RFC 8037).  See jwt.h. */
#include "jwt.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define SIG_B64_LEN JWT_B64_LEN(crypto_sign_BYTES) /* 86 */

static const int B64_VARIANT = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

int jwt_b64url_encode(const void *in, size_t inlen, char *out, size_t outlen)
{
	size_t need;

	if ((!in && inlen) || !out || inlen > (size_t)INT_MAX / 2)
		return -1;
	need = JWT_B64_LEN(inlen);
	/* sodium_bin2base64 aborts (sodium_misuse) when out is too small. */
	if (outlen < need + 1)
		return -1;
	sodium_bin2base64(out, outlen, in, inlen, B64_VARIANT);
	return (int)need;
}

int jwt_b64url_decode(const char *in, size_t inlen, uint8_t *out, size_t outcap, size_t *outlen_ret)
{
	size_t n = 0;

	if (outlen_ret)
		*outlen_ret = 0;
	if (!in || !out)
		return -1;
	/* libsodium 1.0.18 decodes bytes 0x80-0xff as '_' in the URL-safe
	 * variant, which would make tokens malleable: check the alphabet
	 * first. */
	for (size_t i = 0; i < inlen; i++) {
		char c = in[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return -1;
	}
	/* No ignore set and no end pointer: every character must be consumed,
	 * so '=' or anything outside the alphabet fails.  libsodium also
	 * rejects non-zero unused trailing bits and a dangling sixth bit
	 * group (length 1 mod 4). */
	if (sodium_base642bin(out, outcap, in, inlen, NULL, &n, NULL, B64_VARIANT) != 0)
		return -1;
	if (outlen_ret)
		*outlen_ret = n;
	return 0;
}

int jwt_sign(const json_t *claims, const char *kid, const uint8_t sk[crypto_sign_SECRETKEYBYTES],
	     char *out, size_t outlen)
{
	json_t *header = NULL;
	char *htxt = NULL, *ptxt = NULL;
	uint8_t sig[crypto_sign_BYTES];
	size_t hlen, plen, h64, p64, total;
	int ret = -1;

	if (!json_is_object(claims) || !kid || !sk || !out)
		return -1;
	/* jansson keeps insertion order (2.8 and later). */
	header = json_pack("{s:s, s:s, s:s}", "alg", "EdDSA", "typ", "JWT", "kid", kid);
	if (!header)
		goto out;
	htxt = json_dumps(header, JSON_COMPACT);
	ptxt = json_dumps(claims, JSON_COMPACT);
	if (!htxt || !ptxt)
		goto out;
	hlen = strlen(htxt);
	plen = strlen(ptxt);
	if (hlen > (size_t)INT_MAX / 4 || plen > (size_t)INT_MAX / 4)
		goto out;
	h64 = JWT_B64_LEN(hlen);
	p64 = JWT_B64_LEN(plen);
	total = h64 + 1 + p64 + 1 + SIG_B64_LEN;
	if (total > (size_t)INT_MAX || outlen < total + 1)
		goto out;

	/* The signing input is written in place: out = "H.P" */
	if (jwt_b64url_encode(htxt, hlen, out, outlen) < 0)
		goto out;
	out[h64] = '.';
	if (jwt_b64url_encode(ptxt, plen, out + h64 + 1, outlen - h64 - 1) < 0)
		goto out;
	/* sk is never copied here, and libsodium wipes its own key-derived
	 * intermediates, so there is no key material of ours to wipe. */
	if (crypto_sign_detached(sig, NULL, (const unsigned char *)out, h64 + 1 + p64, sk) != 0)
		goto out;
	out[h64 + 1 + p64] = '.';
	if (jwt_b64url_encode(sig, sizeof sig, out + h64 + 1 + p64 + 1,
			      outlen - (h64 + 1 + p64 + 1)) < 0)
		goto out;
	ret = (int)total;
out:
	if (ret < 0 && out && outlen)
		out[0] = '\0';
	free(htxt);
	free(ptxt);
	json_decref(header);
	return ret;
}

/* Strict base64url of a JSON object (no duplicate keys), or NULL. */
static json_t *decode_object(const char *b64, size_t len)
{
	uint8_t buf[JWT_MAX_LEN];
	size_t n;
	json_t *j;
	json_error_t jerr;

	if (jwt_b64url_decode(b64, len, buf, sizeof buf, &n) != 0 || n == 0)
		return NULL;
	j = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &jerr);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

enum jwt_err jwt_verify(const char *token, size_t len, jwt_key_lookup lookup, void *ctx,
			json_t **claims_out)
{
	const char *d1, *d2, *sig64;
	size_t hl, pl, sl, siglen;
	json_t *header = NULL, *payload = NULL, *alg, *kid;
	uint8_t sig[crypto_sign_BYTES];
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	enum jwt_err r = JWT_MALFORMED;

	if (claims_out)
		*claims_out = NULL;
	if (!token || !lookup || len == 0 || len > JWT_MAX_LEN)
		return JWT_MALFORMED;

	d1 = memchr(token, '.', len);
	if (!d1)
		return JWT_MALFORMED;
	d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token));
	if (!d2)
		return JWT_MALFORMED;
	sig64 = d2 + 1;
	sl = len - (size_t)(sig64 - token);
	if (memchr(sig64, '.', sl))
		return JWT_MALFORMED;
	hl = (size_t)(d1 - token);
	pl = (size_t)(d2 - (d1 + 1));

	header = decode_object(token, hl);
	if (!header)
		goto out;
	alg = json_object_get(header, "alg");
	if (!json_is_string(alg) || json_string_length(alg) != 5 ||
	    memcmp(json_string_value(alg), "EdDSA", 5) != 0) {
		r = JWT_BAD_ALG;
		goto out;
	}
	kid = json_object_get(header, "kid");
	if (!json_is_string(kid) || json_object_get(header, "crit"))
		goto out;
	if (jwt_b64url_decode(sig64, sl, sig, sizeof sig, &siglen) != 0 || siglen != sizeof sig)
		goto out;
	if (lookup(ctx, json_string_value(kid), pk) != 0) {
		r = JWT_UNKNOWN_KID;
		goto out;
	}
	/* Signature first: the payload is attacker-controlled JSON until the
	 * signature says otherwise. */
	if (crypto_sign_verify_detached(sig, (const unsigned char *)token,
					(unsigned long long)(d2 - token), pk) != 0) {
		r = JWT_BAD_SIGNATURE;
		goto out;
	}
	payload = decode_object(d1 + 1, pl);
	if (!payload)
		goto out;
	r = JWT_OK;
	if (claims_out) {
		*claims_out = payload;
		payload = NULL;
	}
out:
	json_decref(header);
	json_decref(payload);
	return r;
}

const char *jwt_err_str(enum jwt_err e)
{
	switch (e) {
	case JWT_OK: return "ok";
	case JWT_MALFORMED: return "malformed";
	case JWT_BAD_ALG: return "bad alg";
	case JWT_UNKNOWN_KID: return "unknown kid";
	case JWT_BAD_SIGNATURE: return "bad signature";
	}
	return "unknown error";
}

int jwt_kid_of(const uint8_t pk[crypto_sign_PUBLICKEYBYTES], char kid[16])
{
	uint8_t h[32];

	if (!pk || !kid)
		return -1;
	if (crypto_generichash(h, sizeof h, pk, crypto_sign_PUBLICKEYBYTES, NULL, 0) != 0)
		return -1;
	return jwt_b64url_encode(h, 8, kid, 16) == JWT_KID_LEN ? 0 : -1;
}

json_t *jwt_jwk(const char *kid, const uint8_t pk[crypto_sign_PUBLICKEYBYTES])
{
	char x[JWT_B64_LEN(crypto_sign_PUBLICKEYBYTES) + 1];

	if (!kid || !pk)
		return NULL;
	if (jwt_b64url_encode(pk, crypto_sign_PUBLICKEYBYTES, x, sizeof x) < 0)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x", x,
			 "kid", kid, "use", "sig", "alg", "EdDSA");
}
