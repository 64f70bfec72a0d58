/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* API key text format: see keyfmt.h.  libc only. */
#include "keyfmt.h"

#include <string.h>

#include "wipe.h"

/* Largest number of bytes the base62 helpers convert (a key needs 32). */
#define B62_MAX_BYTES 64

/* Branch-free comparisons for x, k < 2^31: 1 or 0. */
static inline uint32_t lt_u(uint32_t x, uint32_t k)
{
	return (x - k) >> 31;
}

static inline uint32_t ge_u(uint32_t x, uint32_t k)
{
	return lt_u(x, k) ^ 1u;
}

/* Base62 digit (0..61) to its character, without a secret-indexed load. */
static inline char b62_char(uint32_t d)
{
	uint32_t c = d + '0';
	c += ge_u(d, 10) * ('A' - '0' - 10);
	c += ge_u(d, 36) * ('a' - 'A' - 26);
	return (char)c;
}

/* Character to digit; *valid is set to 1 or 0.  Branch-free. */
static inline uint32_t b62_value(char ch, uint32_t *valid)
{
	uint32_t c = (unsigned char)ch;
	uint32_t dig = ge_u(c, '0') & lt_u(c, '9' + 1);
	uint32_t up = ge_u(c, 'A') & lt_u(c, 'Z' + 1);
	uint32_t lo = ge_u(c, 'a') & lt_u(c, 'z' + 1);
	*valid = dig | up | lo;
	return dig * (c - '0') + up * (c - 'A' + 10) + lo * (c - 'a' + 36);
}

int svca_base62_encode(const uint8_t *in, size_t inlen, char *out, size_t outlen)
{
	uint8_t num[B62_MAX_BYTES];
	uint32_t rest = 0;

	if (!in || !out || inlen > B62_MAX_BYTES)
		return -1;
	memcpy(num, in, inlen);
	/* Repeated long division by 62, least significant digit first. */
	for (size_t d = outlen; d-- > 0;) {
		uint32_t rem = 0;
		for (size_t i = 0; i < inlen; i++) {
			uint32_t cur = (rem << 8) | num[i];
			num[i] = (uint8_t)(cur / 62u);
			rem = cur % 62u;
		}
		out[d] = b62_char(rem);
	}
	for (size_t i = 0; i < inlen; i++)
		rest |= num[i];
	svca_wipe(num, sizeof num);
	out[outlen] = '\0';
	if (rest) {
		svca_wipe(out, outlen);
		out[outlen] = '\0';
		return -1;
	}
	return 0;
}

int svca_base62_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen)
{
	uint32_t bad = 0, overflow = 0;

	if (!in || !out)
		return -1;
	memset(out, 0, outlen);
	for (size_t j = 0; j < inlen; j++) {
		uint32_t valid;
		uint32_t carry = b62_value(in[j], &valid);
		bad |= valid ^ 1u;
		/* out = out * 62 + digit */
		for (size_t i = outlen; i-- > 0;) {
			uint32_t cur = (uint32_t)out[i] * 62u + carry;
			out[i] = (uint8_t)cur;
			carry = cur >> 8;
		}
		overflow |= carry;
	}
	if (bad | overflow) {
		svca_wipe(out, outlen);
		return -1;
	}
	return 0;
}

uint32_t svca_crc32(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t crc = 0xFFFFFFFFu;

	for (size_t i = 0; i < n; i++) {
		crc ^= b[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

/* Writes the 6 check characters (no NUL) for key[0..CHECKED). */
#define CHECKED (SVCA_KEY_PREFIX_LEN + SVCA_KEYID_LEN + 1 + SVCA_SECRET_LEN)
#define KEYID_AT SVCA_KEY_PREFIX_LEN
#define SEP_AT (KEYID_AT + SVCA_KEYID_LEN)
#define SECRET_AT (SEP_AT + 1)

static void check_chars(const char *key, char check[SVCA_CHECK_LEN + 1])
{
	uint32_t crc = svca_crc32(key, CHECKED);
	uint8_t be[4] = { (uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8),
			  (uint8_t)crc };
	/* 62^6 > 2^32: cannot fail. */
	(void)svca_base62_encode(be, sizeof be, check, SVCA_CHECK_LEN);
}

int svca_key_format(svca_rand_fn rng, void *ctx, const uint8_t secret[SVCA_SECRET_BYTES],
		    char out[SVCA_KEY_LEN + 1], char keyid_out[SVCA_KEYID_LEN + 1])
{
	return svca_key_format_as(SVCA_KEY_PREFIX, rng, ctx, secret, out, keyid_out);
}

int svca_key_format_as(const char *prefix, svca_rand_fn rng, void *ctx,
		       const uint8_t secret[SVCA_SECRET_BYTES], char out[SVCA_KEY_LEN + 1],
		       char keyid_out[SVCA_KEYID_LEN + 1])
{
	uint8_t pool[32];
	char check[SVCA_CHECK_LEN + 1];
	size_t got = 0;

	if (!prefix || strlen(prefix) != SVCA_KEY_PREFIX_LEN || !rng || !secret || !out)
		return -1;
	memcpy(out, prefix, SVCA_KEY_PREFIX_LEN);
	/* keyid: rejection sampling.  248 = 4 * 62, so b % 62 is uniform over
	 * bytes < 248; a byte is rejected with probability 8/256. */
	while (got < SVCA_KEYID_LEN) {
		rng(ctx, pool, sizeof pool);
		for (size_t i = 0; i < sizeof pool && got < SVCA_KEYID_LEN; i++) {
			if (pool[i] < 248u)
				out[KEYID_AT + got++] = b62_char(pool[i] % 62u);
		}
	}
	svca_wipe(pool, sizeof pool);
	out[SEP_AT] = '_';
	/* 62^43 > 2^256: cannot fail. */
	if (svca_base62_encode(secret, SVCA_SECRET_BYTES, out + SECRET_AT, SVCA_SECRET_LEN) != 0)
		return -1;
	check_chars(out, check);
	memcpy(out + CHECKED, check, SVCA_CHECK_LEN);
	out[SVCA_KEY_LEN] = '\0';
	if (keyid_out) {
		memcpy(keyid_out, out + KEYID_AT, SVCA_KEYID_LEN);
		keyid_out[SVCA_KEYID_LEN] = '\0';
	}
	return 0;
}

static int looks_like(const char *prefix, const char *s, size_t len)
{
	return s && len == SVCA_KEY_LEN && memcmp(s, prefix, SVCA_KEY_PREFIX_LEN) == 0 &&
	       s[SEP_AT] == '_';
}

int svca_looks_like_key(const char *s, size_t len)
{
	return looks_like(SVCA_KEY_PREFIX, s, len);
}

enum svca_key_parse svca_key_parse(const char *s, size_t len, char keyid[SVCA_KEYID_LEN + 1],
				   char secret[SVCA_SECRET_LEN + 1])
{
	return svca_key_parse_as(SVCA_KEY_PREFIX, s, len, keyid, secret);
}

enum svca_key_parse svca_key_parse_as(const char *prefix, const char *s, size_t len,
				      char keyid[SVCA_KEYID_LEN + 1],
				      char secret[SVCA_SECRET_LEN + 1])
{
	enum svca_key_parse r;
	char check[SVCA_CHECK_LEN + 1];
	uint8_t num[SVCA_SECRET_BYTES];
	uint32_t bad = 0, diff = 0;

	if (keyid)
		memset(keyid, 0, SVCA_KEYID_LEN + 1);
	if (secret)
		memset(secret, 0, SVCA_SECRET_LEN + 1);
	if (!prefix || strlen(prefix) != SVCA_KEY_PREFIX_LEN || !looks_like(prefix, s, len))
		return SVCA_KEY_MALFORMED;
	/* Alphabet of keyid, secret and check: no early exit. */
	for (size_t i = KEYID_AT; i < SVCA_KEY_LEN; i++) {
		uint32_t valid;
		if (i == SEP_AT)
			continue;
		(void)b62_value(s[i], &valid);
		bad |= valid ^ 1u;
	}
	if (bad)
		return SVCA_KEY_MALFORMED;
	check_chars(s, check);
	for (size_t i = 0; i < SVCA_CHECK_LEN; i++)
		diff |= (uint32_t)(unsigned char)(check[i] ^ s[CHECKED + i]);
	if (diff)
		return SVCA_KEY_BAD_CHECKSUM;
	/* Well formed and checksummed, but a value no 32 bytes encode. */
	if (svca_base62_decode(s + SECRET_AT, SVCA_SECRET_LEN, num, sizeof num) != 0)
		r = SVCA_KEY_MALFORMED;
	else
		r = SVCA_KEY_OK;
	svca_wipe(num, sizeof num);
	if (r != SVCA_KEY_OK)
		return r;
	if (keyid)
		memcpy(keyid, s + KEYID_AT, SVCA_KEYID_LEN);
	if (secret)
		memcpy(secret, s + SECRET_AT, SVCA_SECRET_LEN);
	return SVCA_KEY_OK;
}
