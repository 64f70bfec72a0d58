/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for session token signing and verification (svcacctd/base/jwt.c):
 * compact JWS, Ed25519 (RFC 8037), strict base64url, kid and JWK.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jwt.h"

struct keyring {
	char kid[16];
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
};

static struct keyring K1, K2; /* K2 is not known to the lookup */

static int lookup(void *ctx, const char *kid, uint8_t pk[crypto_sign_PUBLICKEYBYTES])
{
	const struct keyring *k = ctx;
	if (strcmp(kid, k->kid) != 0)
		return -1;
	memcpy(pk, k->pk, crypto_sign_PUBLICKEYBYTES);
	return 0;
}

static void make_keyring(struct keyring *k, uint8_t seed_byte)
{
	uint8_t seed[crypto_sign_SEEDBYTES];
	memset(seed, seed_byte, sizeof seed);
	assert_int_equal(crypto_sign_seed_keypair(k->pk, k->sk, seed), 0);
	assert_int_equal(jwt_kid_of(k->pk, k->kid), 0);
}

static int setup(void **state)
{
	(void)state;
	make_keyring(&K1, 1);
	make_keyring(&K2, 2);
	return 0;
}

/* The claims the daemon puts in a session token (tokens.c), realistic
 * sizes: a 32-character account name, 22-character jti.  ngrants < 0:
 * only the first six claims. */
static json_t *daemon_claims(int ngrants)
{
	json_t *c = json_object();
	json_object_set_new(c, "iss", json_string("svcacctd"));
	json_object_set_new(c, "sub", json_string("ci-deploy-bot-with-a-long-name01"));
	json_object_set_new(c, "aud", json_string("svcacct"));
	json_object_set_new(c, "iat", json_integer(1767225600));
	json_object_set_new(c, "nbf", json_integer(1767225600));
	json_object_set_new(c, "exp", json_integer(1767226500));
	if (ngrants >= 0) {
		json_object_set_new(c, "jti", json_string("q3Xv0bQ2mD8ZsZC0e3hK1w"));
		json_object_set_new(c, "key_id", json_string("0AKUeoy8IScm"));
		json_object_set_new(c, "org_role", json_string("member"));
		json_object_set_new(c, "role", json_string("developer"));
		json_object_set_new(c, "gen", json_integer(42));
		json_t *g = json_array();
		for (int i = 0; i < ngrants; i++)
			json_array_append_new(g, json_string(i % 2 ? "t:platform-infra:developer"
								   : "w:build-farm:viewer"));
		json_object_set_new(c, "grants", g);
	}
	return c;
}

/* Builds "b64(header).b64(payload).b64(sig)" from raw texts, signing the
 * first two parts with sk (sig_len bytes of it, or an empty part when
 * sk is NULL). */
static void raw_token(const char *header, const char *payload, const uint8_t *sk, size_t sig_len,
		      char *out, size_t outlen)
{
	uint8_t sig[crypto_sign_BYTES];
	int h = jwt_b64url_encode(header, strlen(header), out, outlen);
	assert_true(h >= 0);
	out[h] = '.';
	int p = jwt_b64url_encode(payload, strlen(payload), out + h + 1, outlen - (size_t)h - 1);
	assert_true(p >= 0);
	size_t n = (size_t)h + 1 + (size_t)p;
	out[n] = '.';
	out[n + 1] = '\0';
	if (sk) {
		crypto_sign_detached(sig, NULL, (const unsigned char *)out, n, sk);
		assert_true(jwt_b64url_encode(sig, sig_len, out + n + 1, outlen - n - 1) >= 0);
	}
}

static enum jwt_err verify(const char *tok)
{
	json_t *c = (json_t *)0x1;
	enum jwt_err r = jwt_verify(tok, strlen(tok), lookup, &K1, &c);
	if (r == JWT_OK) {
		assert_non_null(c);
		json_decref(c);
	} else {
		assert_null(c);
	}
	return r;
}

static void test_b64url(void **state)
{
	(void)state;
	char out[64];
	uint8_t bin[64];
	size_t n;

	/* RFC 4648 vectors, unpadded */
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const enc[] = {
		"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"
	};
	for (size_t i = 0; i < 7; i++) {
		int len = jwt_b64url_encode(plain[i], strlen(plain[i]), out, sizeof out);
		assert_int_equal(len, strlen(enc[i]));
		assert_int_equal(JWT_B64_LEN(strlen(plain[i])), strlen(enc[i]));
		assert_string_equal(out, enc[i]);
		assert_int_equal(jwt_b64url_decode(enc[i], strlen(enc[i]), bin, sizeof bin, &n), 0);
		assert_int_equal(n, strlen(plain[i]));
		assert_memory_equal(bin, plain[i], n);
	}
	/* URL-safe alphabet */
	const uint8_t fbff[3] = { 0xfb, 0xff, 0xbf };
	assert_int_equal(jwt_b64url_encode(fbff, 3, out, sizeof out), 4);
	assert_string_equal(out, "-_-_");
	assert_int_equal(jwt_b64url_decode("-_-_", 4, bin, sizeof bin, &n), 0);
	assert_memory_equal(bin, fbff, 3);
	/* too small an output buffer: refused, not aborted */
	assert_int_equal(jwt_b64url_encode("foo", 3, out, 4), -1);
	assert_int_equal(jwt_b64url_encode("foo", 3, out, 5), 4);

	/* strict decoding */
	static const char *const bad[] = {
		"Zg==",  "Zg=",    "Zm8=", /* padding */
		"Zh",    "Zm9",   /* non-zero unused trailing bits ("Zg", "Zm8" canonical) */
		"Z",     "Zm9vY", /* length 1 mod 4 */
		"+/+/",  "Zm9v+",  "Zm9v/", /* standard alphabet */
		"Zm 9v", "Zm9v\n", " Zm9v", "Zm.9", "Zm9v!",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (jwt_b64url_decode(bad[i], strlen(bad[i]), bin, sizeof bin, &n) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_int_equal(jwt_b64url_decode("Zm\0v", 4, bin, sizeof bin, &n), -1);
	/* decoding into too small a buffer fails */
	assert_int_equal(jwt_b64url_decode("Zm9vYmFy", 8, bin, 5, &n), -1);
}

static void test_rfc8037_vector(void **state)
{
	(void)state;
	/* RFC 8037 appendix A.1 key and A.4 signature: Ed25519 and base64url
	 * agree with the standard's known answer. */
	const char *d = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
	const char *x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
	const char *input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
	const char *want = "hgyY0il_MGCjP0JzlnLWG1PPOt7-"
			   "09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
	uint8_t seed[32], pk[32], sk[64], sig[64];
	char txt[128];
	size_t n;

	assert_int_equal(jwt_b64url_decode(d, strlen(d), seed, sizeof seed, &n), 0);
	assert_int_equal(n, 32);
	assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
	assert_int_equal(jwt_b64url_encode(pk, 32, txt, sizeof txt), 43);
	assert_string_equal(txt, x);
	crypto_sign_detached(sig, NULL, (const unsigned char *)input, strlen(input), sk);
	assert_int_equal(jwt_b64url_encode(sig, 64, txt, sizeof txt), 86);
	assert_string_equal(txt, want);
	sodium_memzero(sk, sizeof sk);
	sodium_memzero(seed, sizeof seed);

	/* The RFC's token has no kid: structurally refused by jwt_verify. */
	char tok[200];
	snprintf(tok, sizeof tok, "%s.%s", input, want);
	assert_int_equal(verify(tok), JWT_MALFORMED);
}

static void test_round_trip(void **state)
{
	(void)state;
	char tok[JWT_MAX_LEN + 1];
	json_t *c = daemon_claims(2), *got = NULL;

	int n = jwt_sign(c, K1.kid, K1.sk, tok, sizeof tok);
	assert_true(n > 0);
	assert_int_equal(strlen(tok), n);
	assert_int_equal(jwt_verify(tok, (size_t)n, lookup, &K1, &got), JWT_OK);
	assert_non_null(got);
	assert_true(json_equal(got, c));
	json_decref(got);
	/* claims_out may be NULL */
	assert_int_equal(jwt_verify(tok, (size_t)n, lookup, &K1, NULL), JWT_OK);

	/* header is exactly the compact, ordered header */
	char want_hdr[100], hdr[200], pay[600], *ptxt;
	size_t hl, pl;
	snprintf(want_hdr, sizeof want_hdr, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
		 K1.kid);
	const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
	assert_int_equal(
		jwt_b64url_decode(tok, (size_t)(d1 - tok), (uint8_t *)hdr, sizeof hdr - 1, &hl), 0);
	hdr[hl] = '\0';
	assert_string_equal(hdr, want_hdr);
	/* payload is the compact claims in insertion order */
	assert_int_equal(jwt_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), (uint8_t *)pay,
					   sizeof pay - 1, &pl),
			 0);
	pay[pl] = '\0';
	ptxt = json_dumps(c, JSON_COMPACT);
	assert_string_equal(pay, ptxt);
	assert_memory_equal(pay, "{\"iss\":\"svcacctd\",\"sub\":", 24);
	free(ptxt);

	/* deterministic: same claims, same key, same token */
	char tok2[JWT_MAX_LEN + 1];
	assert_int_equal(jwt_sign(c, K1.kid, K1.sk, tok2, sizeof tok2), n);
	assert_string_equal(tok, tok2);

	/* output buffer: exact fit works, one byte less fails */
	assert_int_equal(jwt_sign(c, K1.kid, K1.sk, tok2, (size_t)n + 1), n);
	assert_int_equal(jwt_sign(c, K1.kid, K1.sk, tok2, (size_t)n), -1);
	/* claims must be an object, kid must be given */
	json_t *arr = json_array();
	assert_int_equal(jwt_sign(arr, K1.kid, K1.sk, tok2, sizeof tok2), -1);
	assert_int_equal(jwt_sign(c, NULL, K1.sk, tok2, sizeof tok2), -1);
	json_decref(arr);
	json_decref(c);
}

static void test_token_size(void **state)
{
	(void)state;
	char tok[JWT_MAX_LEN + 1];
	json_t *six = daemon_claims(-1), *none = daemon_claims(0);

	int n6 = jwt_sign(six, K1.kid, K1.sk, tok, sizeof tok);
	int n0 = jwt_sign(none, K1.kid, K1.sk, tok, sizeof tok);
	printf("    token with 6 claims: %d bytes; all daemon claims, no grants: "
	       "%d bytes\n",
	       n6, n0);
	assert_true(n6 > 0 && n6 < 512);
	assert_true(n0 > 0 && n0 < 512);
	/* The grants are what can push a token past 512 bytes (tokens.c caps
	 * them): report where that happens with this module's exact sizes. */
	for (int g = 1; g <= 4; g++) {
		json_t *c = daemon_claims(g);
		int n = jwt_sign(c, K1.kid, K1.sk, tok, sizeof tok);
		assert_true(n > 0);
		printf("    ... with %d grant(s) of ~22 chars: %d bytes\n", g, n);
		json_decref(c);
	}
	json_decref(six);
	json_decref(none);
}

static void test_tampering(void **state)
{
	(void)state;
	static const char B64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char tok[JWT_MAX_LEN + 1], m[JWT_MAX_LEN + 1];
	json_t *c = daemon_claims(2);
	int n = jwt_sign(c, K1.kid, K1.sk, tok, sizeof tok);
	assert_true(n > 0);

	/* every position, three other base64url characters: never OK */
	for (int pos = 0; pos < n; pos++) {
		if (tok[pos] == '.')
			continue;
		const char *at = strchr(B64, tok[pos]);
		assert_non_null(at);
		for (int k = 1; k <= 3; k++) {
			memcpy(m, tok, (size_t)n + 1);
			m[pos] = B64[((at - B64) + k * 21) % 64];
			enum jwt_err r = verify(m);
			if (r == JWT_OK)
				fail_msg("tampered token accepted (pos %d)", pos);
		}
	}

	const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
	size_t hl = (size_t)(d1 - tok), sig_at = (size_t)(d2 - tok) + 1;

	/* header: a flipped byte in the middle */
	memcpy(m, tok, (size_t)n + 1);
	m[hl / 2] = m[hl / 2] == 'A' ? 'B' : 'A';
	assert_int_not_equal(verify(m), JWT_OK);

	/* payload: a different, well-formed payload under the old signature */
	json_t *c2 = json_deep_copy(c);
	json_object_set_new(c2, "sub", json_string("root"));
	char other[JWT_MAX_LEN + 1];
	assert_true(jwt_sign(c2, K1.kid, K1.sk, other, sizeof other) > 0);
	const char *o1 = strchr(other, '.'), *o2 = strchr(o1 + 1, '.');
	snprintf(m, sizeof m, "%.*s%.*s%s", (int)(o1 - other), other, (int)(o2 - o1), o1, d2);
	assert_int_equal(verify(m), JWT_BAD_SIGNATURE);
	json_decref(c2);

	/* signature: one flipped bit in the decoded signature */
	uint8_t sig[64];
	size_t sl;
	assert_int_equal(jwt_b64url_decode(tok + sig_at, (size_t)n - sig_at, sig, sizeof sig, &sl),
			 0);
	assert_int_equal(sl, 64);
	for (size_t byte = 0; byte < 64; byte += 9) {
		memcpy(m, tok, sig_at);
		sig[byte] ^= 0x10;
		assert_true(jwt_b64url_encode(sig, 64, m + sig_at, sizeof m - sig_at) == 86);
		sig[byte] ^= 0x10;
		assert_int_equal(verify(m), JWT_BAD_SIGNATURE);
	}

	/* the right kid, the wrong key */
	assert_true(jwt_sign(c, K1.kid, K2.sk, m, sizeof m) > 0);
	assert_int_equal(verify(m), JWT_BAD_SIGNATURE);
	json_decref(c);
}

static void test_alg(void **state)
{
	(void)state;
	char tok[1024], hdr[200];
	const char *payload = "{\"sub\":\"root\",\"exp\":9999999999}";

	/* alg none, with an empty signature and with a real one */
	raw_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, NULL, 0, tok, sizeof tok);
	assert_int_equal(verify(tok), JWT_BAD_ALG);
	static const char *const algs[] = {
		"\"none\"",  "\"None\"",    "\"HS256\"",     "\"RS256\"", "\"ES256\"",
		"\"eddsa\"", "\"EdDSA \"",  "\"Ed25519\"",   "\"\"",      "null",
		"1",         "[\"EdDSA\"]", "{\"EdDSA\":1}",
	};
	for (size_t i = 0; i < sizeof algs / sizeof *algs; i++) {
		snprintf(hdr, sizeof hdr, "{\"alg\":%s,\"typ\":\"JWT\",\"kid\":\"%s\"}", algs[i],
			 K1.kid);
		raw_token(hdr, payload, K1.sk, 64, tok, sizeof tok);
		enum jwt_err r = verify(tok);
		if (r != JWT_BAD_ALG)
			fail_msg("alg %s: got %s", algs[i], jwt_err_str(r));
	}
	/* HS256 "signed" with the public key as the HMAC secret (the classic
	 * key-confusion attack) */
	snprintf(hdr, sizeof hdr, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", K1.kid);
	raw_token(hdr, payload, NULL, 0, tok, sizeof tok);
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, K1.pk, sizeof K1.pk);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)tok, strlen(tok) - 1);
	crypto_auth_hmacsha256_final(&st, mac);
	jwt_b64url_encode(mac, sizeof mac, tok + strlen(tok), 64);
	assert_int_equal(verify(tok), JWT_BAD_ALG);

	/* alg missing */
	snprintf(hdr, sizeof hdr, "{\"typ\":\"JWT\",\"kid\":\"%s\"}", K1.kid);
	raw_token(hdr, payload, K1.sk, 64, tok, sizeof tok);
	assert_int_equal(verify(tok), JWT_BAD_ALG);

	/* a correct raw token passes, so the failures above are the alg's */
	snprintf(hdr, sizeof hdr, "{\"alg\":\"EdDSA\",\"kid\":\"%s\"}", K1.kid);
	raw_token(hdr, payload, K1.sk, 64, tok, sizeof tok);
	assert_int_equal(verify(tok), JWT_OK);
}

static void test_header_rules(void **state)
{
	(void)state;
	char tok[1024], hdr[200];
	const char *payload = "{\"sub\":\"x\"}";

	/* duplicate alg (parser differential) */
	snprintf(hdr, sizeof hdr, "{\"alg\":\"EdDSA\",\"alg\":\"none\",\"kid\":\"%s\"}", K1.kid);
	raw_token(hdr, payload, K1.sk, 64, tok, sizeof tok);
	assert_int_equal(verify(tok), JWT_MALFORMED);
	/* kid missing or not a string */
	raw_token("{\"alg\":\"EdDSA\"}", payload, K1.sk, 64, tok, sizeof tok);
	assert_int_equal(verify(tok), JWT_MALFORMED);
	raw_token("{\"alg\":\"EdDSA\",\"kid\":7}", payload, K1.sk, 64, tok, sizeof tok);
	assert_int_equal(verify(tok), JWT_MALFORMED);
	/* crit present */
	snprintf(hdr, sizeof hdr, "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"crit\":[\"exp\"]}", K1.kid);
	raw_token(hdr, payload, K1.sk, 64, tok, sizeof tok);
	assert_int_equal(verify(tok), JWT_MALFORMED);
	/* header not an object / not JSON / trailing garbage */
	static const char *const hdrs[] = { "[\"EdDSA\"]", "\"EdDSA\"", "{\"alg\":", "",
					    "{\"alg\":\"EdDSA\",\"kid\":\"x\"} x",
					    /* NUL inside a string: jansson refuses it */
					    "{\"alg\":\"EdDSA\\u0000\",\"kid\":\"x\"}" };
	for (size_t i = 0; i < sizeof hdrs / sizeof *hdrs; i++) {
		raw_token(hdrs[i], payload, K1.sk, 64, tok, sizeof tok);
		assert_int_equal(verify(tok), JWT_MALFORMED);
	}
	/* unknown kid */
	json_t *c = daemon_claims(-1);
	assert_true(jwt_sign(c, K2.kid, K2.sk, tok, sizeof tok) > 0);
	assert_int_equal(verify(tok), JWT_UNKNOWN_KID);
	assert_true(jwt_sign(c, "no-such-kid", K1.sk, tok, sizeof tok) > 0);
	assert_int_equal(verify(tok), JWT_UNKNOWN_KID);
	json_decref(c);
	/* signature of the wrong length: 63 bytes, 65 bytes (decoded) */
	snprintf(hdr, sizeof hdr, "{\"alg\":\"EdDSA\",\"kid\":\"%s\"}", K1.kid);
	raw_token(hdr, payload, K1.sk, 63, tok, sizeof tok);
	assert_int_equal(verify(tok), JWT_MALFORMED);
	raw_token(hdr, payload, K1.sk, 64, tok, sizeof tok);
	strcat(tok, "AA");
	assert_int_equal(verify(tok), JWT_MALFORMED);
	/* payload, validly signed, but not a JSON object */
	static const char *const pays[] = { "[1,2]", "\"sub\"", "42", "{\"a\":1",
					    "{\"a\":1,\"a\":2}" };
	for (size_t i = 0; i < sizeof pays / sizeof *pays; i++) {
		raw_token(hdr, pays[i], K1.sk, 64, tok, sizeof tok);
		assert_int_equal(verify(tok), JWT_MALFORMED);
	}
}

static void test_structure(void **state)
{
	(void)state;
	char tok[JWT_MAX_LEN + 1], m[4 * JWT_MAX_LEN];
	json_t *c = daemon_claims(2);
	int n = jwt_sign(c, K1.kid, K1.sk, tok, sizeof tok);
	assert_true(n > 0);
	const char *d2 = strrchr(tok, '.');

	assert_int_equal(verify(""), JWT_MALFORMED);
	assert_int_equal(jwt_verify(NULL, 0, lookup, &K1, NULL), JWT_MALFORMED);
	assert_int_equal(jwt_verify(tok, (size_t)n, NULL, &K1, NULL), JWT_MALFORMED);
	assert_int_equal(verify("."), JWT_MALFORMED);
	assert_int_equal(verify(".."), JWT_MALFORMED);
	assert_int_equal(verify("..."), JWT_MALFORMED);
	/* two parts: header.payload */
	snprintf(m, sizeof m, "%.*s", (int)(d2 - tok), tok);
	assert_int_equal(verify(m), JWT_MALFORMED);
	/* four parts */
	snprintf(m, sizeof m, "%s.%s", tok, d2 + 1);
	assert_int_equal(verify(m), JWT_MALFORMED);
	snprintf(m, sizeof m, "%s.", tok);
	assert_int_equal(verify(m), JWT_MALFORMED);
	/* a length shorter than the string: only len bytes count */
	assert_int_equal(jwt_verify(tok, (size_t)n - 1, lookup, &K1, NULL), JWT_MALFORMED);
	/* an embedded NUL */
	memcpy(m, tok, (size_t)n + 1);
	m[n - 3] = '\0';
	assert_int_equal(jwt_verify(m, (size_t)n, lookup, &K1, NULL), JWT_MALFORMED);
	/* trailing newline */
	snprintf(m, sizeof m, "%s\n", tok);
	assert_int_equal(verify(m), JWT_MALFORMED);

	/* base64url padding: the header of a signed token, padded */
	const char *d1 = strchr(tok, '.');
	size_t hl = (size_t)(d1 - tok);
	assert_true(hl % 4 != 0); /* the header encodes to a paddable length */
	memcpy(m, tok, hl);
	memset(m + hl, '=', 4 - hl % 4);
	strcpy(m + hl + (4 - hl % 4), d1);
	assert_int_equal(verify(m), JWT_MALFORMED);
	/* ...and the signature, padded (86 chars -> "==") */
	snprintf(m, sizeof m, "%s==", tok);
	assert_int_equal(verify(m), JWT_MALFORMED);
	/* standard base64 alphabet instead of URL-safe */
	memcpy(m, tok, (size_t)n + 1);
	for (char *p = m; *p; p++) {
		if (*p == '-')
			*p = '+';
		else if (*p == '_')
			*p = '/';
	}
	if (strcmp(m, tok) != 0)
		assert_int_equal(verify(m), JWT_MALFORMED);

	/* over-long: grow a "pad" claim until the signed token passes
	 * JWT_MAX_LEN.  The longest token within the cap verifies, the
	 * shortest above it is malformed. */
	char padstr[JWT_MAX_LEN];
	int last_ok = 0, first_over = 0;
	for (size_t plen = 0; plen < sizeof padstr - 1 && !first_over; plen++) {
		memset(padstr, 'y', plen);
		padstr[plen] = '\0';
		json_object_set_new(c, "pad", json_string(padstr));
		int len = jwt_sign(c, K1.kid, K1.sk, m, sizeof m);
		assert_true(len > 0);
		enum jwt_err r = jwt_verify(m, (size_t)len, lookup, &K1, NULL);
		if (len <= JWT_MAX_LEN) {
			assert_int_equal(r, JWT_OK);
			last_ok = len;
		} else {
			assert_int_equal(r, JWT_MALFORMED);
			first_over = len;
		}
	}
	assert_true(last_ok >= JWT_MAX_LEN - 2 && last_ok <= JWT_MAX_LEN);
	assert_true(first_over > JWT_MAX_LEN);
	memset(m, 'A', JWT_MAX_LEN + 1);
	m[10] = '.';
	m[20] = '.';
	assert_int_equal(jwt_verify(m, JWT_MAX_LEN + 1, lookup, &K1, NULL), JWT_MALFORMED);
	json_decref(c);
}

static void test_kid_and_jwk(void **state)
{
	(void)state;
	uint8_t h[32], first8[8];
	size_t n;
	char kid[16];

	/* kid = b64url(BLAKE2b-256(pk)[0..8)) */
	assert_int_equal(strlen(K1.kid), JWT_KID_LEN);
	crypto_generichash(h, sizeof h, K1.pk, sizeof K1.pk, NULL, 0);
	assert_int_equal(jwt_b64url_decode(K1.kid, JWT_KID_LEN, first8, sizeof first8, &n), 0);
	assert_int_equal(n, 8);
	assert_memory_equal(first8, h, 8);
	assert_int_equal(jwt_kid_of(K1.pk, kid), 0);
	assert_string_equal(kid, K1.kid);
	assert_string_not_equal(K1.kid, K2.kid);

	json_t *jwk = jwt_jwk(K1.kid, K1.pk);
	assert_non_null(jwk);
	assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "OKP");
	assert_string_equal(json_string_value(json_object_get(jwk, "crv")), "Ed25519");
	assert_string_equal(json_string_value(json_object_get(jwk, "kid")), K1.kid);
	assert_string_equal(json_string_value(json_object_get(jwk, "use")), "sig");
	assert_string_equal(json_string_value(json_object_get(jwk, "alg")), "EdDSA");
	assert_int_equal(json_object_size(jwk), 6);
	const char *x = json_string_value(json_object_get(jwk, "x"));
	assert_non_null(x);
	assert_int_equal(strlen(x), 43);
	uint8_t pk[32];
	assert_int_equal(jwt_b64url_decode(x, strlen(x), pk, sizeof pk, &n), 0);
	assert_int_equal(n, 32);
	assert_memory_equal(pk, K1.pk, 32);
	/* no private part */
	assert_null(json_object_get(jwk, "d"));
	char *txt = json_dumps(jwk, JSON_COMPACT);
	char want[200];
	snprintf(want, sizeof want,
		 "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":\"%s\","
		 "\"use\":\"sig\",\"alg\":\"EdDSA\"}",
		 x, K1.kid);
	assert_string_equal(txt, want);
	free(txt);
	json_decref(jwk);
	assert_null(jwt_jwk(NULL, K1.pk));

	assert_string_equal(jwt_err_str(JWT_OK), "ok");
	assert_string_equal(jwt_err_str(JWT_BAD_ALG), "bad alg");
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url),       cmocka_unit_test(test_rfc8037_vector),
		cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_token_size),
		cmocka_unit_test(test_tampering),    cmocka_unit_test(test_alg),
		cmocka_unit_test(test_header_rules), cmocka_unit_test(test_structure),
		cmocka_unit_test(test_kid_and_jwk),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
