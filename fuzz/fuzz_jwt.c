/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Session token verification (svcacctd/base/jwt.c): jwt_verify with a key
 * lookup that knows one fixed key, and the strict base64url codec.  A
 * token comes from anyone who can reach the socket, the HTTP front
 * (introspection, admin-by-token) or a PAM conversation.
 *
 * Input: the first byte picks the mode, the rest is its data.
 *   0  a token as presented: jwt_verify(rest).  The seeds are real
 *      tokens signed by jwt_sign with the fixed key, so mutations start
 *      past the signature check.
 *   1  "HEADER\0PAYLOAD": both are base64url-encoded and signed here with
 *      the fixed key, then verified, so everything after the signature
 *      check (payload decoding, header checks on arbitrary JSON) is
 *      reached; a forger cannot get here, a key holder can.
 *   2  a JSON claims object: jwt_sign, then jwt_verify must return
 *      JWT_OK with equal claims.
 *   3  base64url text: jwt_b64url_decode; when it accepts, encoding the
 *      bytes gives back the same text (one accepted text per byte string).
 * Properties checked besides memory safety: JWT_OK only for a token of
 * the base64url alphabet and two dots whose header says alg EdDSA with the
 * fixed kid and no crit; the round trips of modes 2 and 3.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_jwt.h"
#include "fuzz_util.h"
#include "jwt.h"

static struct fz_key key;

static int lookup(void *ctx, const char *kid, uint8_t pk[crypto_sign_PUBLICKEYBYTES])
{
	(void)ctx;
	FZ_ASSERT(kid != NULL);
	if (strcmp(kid, key.kid) != 0)
		return -1;
	memcpy(pk, key.pk, crypto_sign_PUBLICKEYBYTES);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (fz_key_init(&key) != 0)
		abort();
	return 0;
}

/* What JWT_OK promises about the header of tok[0..len). */
static void check_ok_header(const char *tok, size_t len)
{
	const char *dot = memchr(tok, '.', len);
	FZ_ASSERT(dot != NULL);
	uint8_t buf[JWT_MAX_LEN];
	size_t n;
	FZ_ASSERT(jwt_b64url_decode(tok, (size_t)(dot - tok), buf, sizeof(buf), &n) == 0);
	json_t *h = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
	FZ_ASSERT(json_is_object(h));
	const char *alg = json_string_value(json_object_get(h, "alg"));
	FZ_ASSERT(alg && json_string_length(json_object_get(h, "alg")) == 5 &&
		  strcmp(alg, "EdDSA") == 0);
	const char *kid = json_string_value(json_object_get(h, "kid"));
	FZ_ASSERT(kid && strcmp(kid, key.kid) == 0);
	FZ_ASSERT(json_object_get(h, "crit") == NULL);
	json_decref(h);
}

static void verify(const char *tok, size_t len)
{
	json_t *claims = (json_t *)1;
	enum jwt_err e = jwt_verify(tok, len, lookup, NULL, &claims);
	(void)jwt_err_str(e);
	if (e == JWT_OK) {
		FZ_ASSERT(json_is_object(claims));
		/* strict base64url: nothing but the alphabet and two dots */
		size_t dots = 0;
		for (size_t i = 0; i < len; i++) {
			char c = tok[i];
			dots += c == '.';
			FZ_ASSERT(c == '.' || c == '-' || c == '_' || (c >= 'A' && c <= 'Z') ||
				  (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
		}
		FZ_ASSERT(dots == 2);
		check_ok_header(tok, len);
		json_decref(claims);
	} else {
		FZ_ASSERT(claims == NULL);
	}
	/* without claims_out */
	FZ_ASSERT(jwt_verify(tok, len, lookup, NULL, NULL) == e);
}

/* Mode 1: sign HEADER.PAYLOAD with the fixed key, then verify. */
static void sign_raw(const uint8_t *p, size_t n)
{
	const uint8_t *nul = memchr(p, 0, n);
	if (!nul)
		return;
	size_t hl = (size_t)(nul - p), pl = n - hl - 1;
	if (hl > 900 || pl > 900)
		return;
	char tok[JWT_MAX_LEN + 1024];
	size_t o;
	int w = jwt_b64url_encode(p, hl, tok, sizeof(tok));
	FZ_ASSERT(w >= 0);
	o = (size_t)w;
	tok[o++] = '.';
	w = jwt_b64url_encode(nul + 1, pl, tok + o, sizeof(tok) - o);
	FZ_ASSERT(w >= 0);
	o += (size_t)w;
	uint8_t sig[crypto_sign_BYTES];
	crypto_sign_detached(sig, NULL, (const unsigned char *)tok, o, key.sk);
	tok[o++] = '.';
	w = jwt_b64url_encode(sig, sizeof(sig), tok + o, sizeof(tok) - o);
	FZ_ASSERT(w >= 0);
	o += (size_t)w;
	char *t = fz_strdup((const uint8_t *)tok, o);
	verify(t, o);
	free(t);
}

/* Mode 2: claims -> jwt_sign -> jwt_verify round trip. */
static void sign_claims(const uint8_t *p, size_t n)
{
	json_t *c = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, NULL);
	if (!c)
		return;
	char tok[JWT_MAX_LEN + 1];
	int len = jwt_sign(c, key.kid, key.sk, tok, sizeof(tok));
	if (!json_is_object(c))
		FZ_ASSERT(len < 0);
	if (len > 0) {
		FZ_ASSERT((size_t)len == strlen(tok));
		json_t *back = NULL;
		FZ_ASSERT(jwt_verify(tok, (size_t)len, lookup, NULL, &back) == JWT_OK);
		FZ_ASSERT(json_equal(back, c));
		check_ok_header(tok, (size_t)len);
		json_decref(back);
	}
	json_decref(c);
}

/* Mode 3: strict base64url. */
static void b64(const uint8_t *p, size_t n)
{
	uint8_t out[4096];
	size_t ol = 0;
	char *in = fz_strdup(p, n);
	if (jwt_b64url_decode(in, n, out, sizeof(out), &ol) == 0) {
		char *again = malloc(n + 1);
		if (!again)
			abort();
		FZ_ASSERT(jwt_b64url_encode(out, ol, again, n + 1) == (int)n);
		FZ_ASSERT(memcmp(again, in, n) == 0);
		free(again);
	}
	/* and a too-small output buffer must fail, not overflow */
	uint8_t tiny[3];
	(void)jwt_b64url_decode(in, n, tiny, sizeof(tiny), &ol);
	free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	switch (data[0] & 3) {
	case 0: {
		char *t = fz_strdup(p, n);
		verify(t, n);
		free(t);
		break;
	}
	case 1: sign_raw(p, n); break;
	case 2: sign_claims(p, n); break;
	case 3: b64(p, n); break;
	}
	return 0;
}
