/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the API key text format (common/keyfmt.c):
 *
 *   svca_<keyid:12>_<secret:43><check:6>, base62 0-9A-Za-z, CRC32 check.
 *
 * Known answers were computed independently with Python (int.to_bytes,
 * zlib.crc32).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "keyfmt.h"

static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* Deterministic "random" bytes: xorshift32 with the state in ctx. */
static void xorshift_rand(void *ctx, void *buf, size_t n)
{
	uint32_t *s = ctx;
	uint8_t *b = buf;
	for (size_t i = 0; i < n; i++) {
		*s ^= *s << 13;
		*s ^= *s >> 17;
		*s ^= *s << 5;
		b[i] = (uint8_t)*s;
	}
}

/* First call: only bytes >= 248 (all rejected).  Later calls: odd
 * positions >= 248 (rejected), even positions j * 5. */
static void reject_rand(void *ctx, void *buf, size_t n)
{
	int *calls = ctx;
	uint8_t *b = buf;
	for (size_t j = 0; j < n; j++) {
		if (*calls == 0)
			b[j] = (uint8_t)(248 + j % 8);
		else
			b[j] = (uint8_t)(j % 2 ? 248 + j % 8 : (j * 5) & 0xff);
	}
	(*calls)++;
}

static void make_key(uint32_t seed, char key[SVCA_KEY_LEN + 1], char keyid[SVCA_KEYID_LEN + 1],
		     uint8_t secret[32])
{
	uint32_t st = seed;
	xorshift_rand(&st, secret, 32);
	assert_int_equal(svca_key_format(xorshift_rand, &st, secret, key, keyid), 0);
}

static int in_b62(char c)
{
	return c && strchr(B62, c) != NULL;
}

static void test_crc32(void **state)
{
	(void)state;
	assert_int_equal(svca_crc32("123456789", 9), 0xCBF43926u);
	assert_int_equal(svca_crc32("", 0), 0u);
	assert_int_equal(svca_crc32("The quick brown fox jumps over the lazy dog", 43),
			 0x414FA339u);
}

static void test_known_answer(void **state)
{
	(void)state;
	uint8_t secret[32];
	char key[SVCA_KEY_LEN + 1], keyid[SVCA_KEYID_LEN + 1];
	int calls = 0;

	for (int i = 0; i < 32; i++)
		secret[i] = (uint8_t)i;
	assert_int_equal(svca_key_format(reject_rand, &calls, secret, key, keyid), 0);
	assert_int_equal(calls, 2); /* the first 32 bytes were all rejected */
	assert_string_equal(keyid, "0AKUeoy8IScm");
	assert_string_equal(key,
			    "svca_0AKUeoy8IScm_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf3MvQwR");
}

static void test_round_trip(void **state)
{
	(void)state;
	for (uint32_t seed = 1; seed <= 200; seed++) {
		char key[SVCA_KEY_LEN + 1], keyid[SVCA_KEYID_LEN + 1];
		char pid[SVCA_KEYID_LEN + 1], psec[SVCA_SECRET_LEN + 1];
		uint8_t secret[32], back[32];

		make_key(seed * 2654435761u, key, keyid, secret);
		assert_int_equal(strlen(key), SVCA_KEY_LEN);
		assert_int_equal(SVCA_KEY_LEN, 67);
		assert_int_equal(strlen(keyid), SVCA_KEYID_LEN);
		for (size_t i = 0; i < SVCA_KEY_LEN; i++) {
			char c = key[i];
			assert_true((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				    (c >= '0' && c <= '9') || c == '_');
			if (i == 4 || i == 17)
				assert_int_equal(c, '_');
			else if (i > 4)
				assert_true(in_b62(c));
		}
		assert_memory_equal(key, "svca_", 5);
		assert_memory_equal(key + 5, keyid, SVCA_KEYID_LEN);
		assert_true(svca_looks_like_key(key, SVCA_KEY_LEN));

		assert_int_equal(svca_key_parse(key, SVCA_KEY_LEN, pid, psec), SVCA_KEY_OK);
		assert_string_equal(pid, keyid);
		assert_int_equal(strlen(psec), SVCA_SECRET_LEN);
		assert_memory_equal(psec, key + 18, SVCA_SECRET_LEN);
		assert_int_equal(svca_base62_decode(psec, SVCA_SECRET_LEN, back, 32), 0);
		assert_memory_equal(back, secret, 32);
	}
}

static void test_keyid_unbiased_alphabet(void **state)
{
	(void)state;
	/* Over many keys every base62 character shows up in keyids and the
	 * counts are roughly flat (a mod-256 mapping would favour 0-7). */
	unsigned count[62] = { 0 };
	uint32_t st = 12345;
	uint8_t secret[32] = { 0 };
	for (int n = 0; n < 5000; n++) {
		char key[SVCA_KEY_LEN + 1], keyid[SVCA_KEYID_LEN + 1];
		assert_int_equal(svca_key_format(xorshift_rand, &st, secret, key, keyid), 0);
		for (int i = 0; i < SVCA_KEYID_LEN; i++)
			count[strchr(B62, keyid[i]) - B62]++;
	}
	/* 60000 draws, 967.7 expected per digit; bias would give ~1.25x. */
	for (int d = 0; d < 62; d++) {
		if (count[d] < 830 || count[d] > 1110)
			fail_msg("keyid digit %c drawn %u times", B62[d], count[d]);
	}
}

static void test_single_char_changes(void **state)
{
	(void)state;
	/* CRC32 catches every single-byte change, so any in-alphabet change of
	 * keyid, secret or check is a bad checksum; anything else malformed. */
	static const char subs[] = { '0', '1', '9', 'A', 'Z', 'a',  'z',  'm',        '_', '-',
				     '.', ' ', '=', '+', '/', '\0', '\n', (char)0xC3, 'S', 'v' };
	char key[SVCA_KEY_LEN + 1], keyid[SVCA_KEYID_LEN + 1];
	uint8_t secret[32];
	unsigned tried = 0;

	for (uint32_t seed = 7; seed < 10; seed++) {
		make_key(seed, key, keyid, secret);
		for (size_t pos = 0; pos < SVCA_KEY_LEN; pos++) {
			/* the listed substitutions, plus the next base62 digit */
			const char *at = strchr(B62, key[pos]);
			char next = at ? B62[((size_t)(at - B62) + 1) % 62] : '0';
			for (size_t k = 0; k <= sizeof subs; k++) {
				char m[SVCA_KEY_LEN + 1];
				char c = k < sizeof subs ? subs[k] : next;
				if (c == key[pos])
					continue;
				memcpy(m, key, sizeof m);
				m[pos] = c;
				enum svca_key_parse r = svca_key_parse(m, SVCA_KEY_LEN, NULL, NULL);
				enum svca_key_parse want = (pos >= 5 && pos != 17 && in_b62(c))
								   ? SVCA_KEY_BAD_CHECKSUM
								   : SVCA_KEY_MALFORMED;
				if (r != want)
					fail_msg("pos %zu char 0x%02x: got %d want %d", pos,
						 (unsigned char)c, (int)r, (int)want);
				tried++;
			}
		}
	}
	assert_true(tried > 3000);
}

static void test_malformed(void **state)
{
	(void)state;
	char key[SVCA_KEY_LEN + 1], keyid[SVCA_KEYID_LEN + 1];
	char pid[SVCA_KEYID_LEN + 1], psec[SVCA_SECRET_LEN + 1];
	char m[SVCA_KEY_LEN + 8];
	uint8_t secret[32];

	make_key(99, key, keyid, secret);

	/* wrong prefixes */
	static const char *const prefixes[] = { "SVCA_", "svcb_", "svca-", "xvca_", "_svca" };
	for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
		memcpy(m, key, sizeof key);
		memcpy(m, prefixes[i], 5);
		assert_int_equal(svca_key_parse(m, SVCA_KEY_LEN, pid, psec), SVCA_KEY_MALFORMED);
		/* outputs are cleared on failure */
		assert_int_equal(pid[0], '\0');
		assert_int_equal(psec[0], '\0');
	}

	/* wrong lengths */
	assert_int_equal(svca_key_parse(key, SVCA_KEY_LEN - 1, pid, psec), SVCA_KEY_MALFORMED);
	assert_int_equal(svca_key_parse(key, 0, pid, psec), SVCA_KEY_MALFORMED);
	assert_int_equal(svca_key_parse(NULL, SVCA_KEY_LEN, pid, psec), SVCA_KEY_MALFORMED);
	memcpy(m, key, SVCA_KEY_LEN);
	m[SVCA_KEY_LEN] = '\n';
	assert_int_equal(svca_key_parse(m, SVCA_KEY_LEN + 1, pid, psec), SVCA_KEY_MALFORMED);
	m[SVCA_KEY_LEN] = 'A';
	assert_int_equal(svca_key_parse(m, SVCA_KEY_LEN + 1, pid, psec), SVCA_KEY_MALFORMED);
	assert_false(svca_looks_like_key(m, SVCA_KEY_LEN + 1));

	/* '-' in the secret */
	memcpy(m, key, sizeof key);
	m[30] = '-';
	assert_int_equal(svca_key_parse(m, SVCA_KEY_LEN, pid, psec), SVCA_KEY_MALFORMED);
	/* underscore moved */
	memcpy(m, key, sizeof key);
	m[17] = 'A';
	m[16] = '_';
	assert_int_equal(svca_key_parse(m, SVCA_KEY_LEN, pid, psec), SVCA_KEY_MALFORMED);

	/* A well-formed, correctly checksummed key whose secret is >= 2^256
	 * ("zzz..." = 62^43 - 1) was never generated: malformed. */
	memcpy(m, key, sizeof key);
	memset(m + 18, 'z', SVCA_SECRET_LEN);
	uint32_t crc = svca_crc32(m, SVCA_KEY_LEN - 6);
	uint8_t be[4] = { (uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8),
			  (uint8_t)crc };
	char chk[7];
	assert_int_equal(svca_base62_encode(be, 4, chk, 6), 0);
	memcpy(m + SVCA_KEY_LEN - 6, chk, 6);
	assert_int_equal(svca_key_parse(m, SVCA_KEY_LEN, pid, psec), SVCA_KEY_MALFORMED);
	/* ...and the same key with a wrong check is a bad checksum */
	m[SVCA_KEY_LEN - 1] = m[SVCA_KEY_LEN - 1] == '0' ? '1' : '0';
	assert_int_equal(svca_key_parse(m, SVCA_KEY_LEN, pid, psec), SVCA_KEY_BAD_CHECKSUM);
}

static void test_looks_like_key(void **state)
{
	(void)state;
	char key[SVCA_KEY_LEN + 1], keyid[SVCA_KEYID_LEN + 1];
	uint8_t secret[32];
	make_key(3, key, keyid, secret);
	assert_true(svca_looks_like_key(key, SVCA_KEY_LEN));
	assert_false(svca_looks_like_key(key, SVCA_KEY_LEN - 1));
	assert_false(svca_looks_like_key(NULL, SVCA_KEY_LEN));
	const char *jwt = "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4In0.c2ln";
	assert_false(svca_looks_like_key(jwt, strlen(jwt)));
	assert_false(svca_looks_like_key("svca_", 5));
}

static void test_base62(void **state)
{
	(void)state;
	uint8_t zero[32] = { 0 }, ff[32], back[32];
	char txt[SVCA_SECRET_LEN + 1];
	char zeros[SVCA_SECRET_LEN + 1];

	memset(zeros, '0', SVCA_SECRET_LEN);
	zeros[SVCA_SECRET_LEN] = '\0';
	assert_int_equal(svca_base62_encode(zero, 32, txt, SVCA_SECRET_LEN), 0);
	assert_string_equal(txt, zeros);
	assert_int_equal(svca_base62_decode(txt, SVCA_SECRET_LEN, back, 32), 0);
	assert_memory_equal(back, zero, 32);

	memset(ff, 0xFF, sizeof ff);
	assert_int_equal(svca_base62_encode(ff, 32, txt, SVCA_SECRET_LEN), 0);
	assert_string_equal(txt, "yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1");
	assert_int_equal(svca_base62_decode(txt, SVCA_SECRET_LEN, back, 32), 0);
	assert_memory_equal(back, ff, 32);

	/* a key with the largest secret parses */
	char key[SVCA_KEY_LEN + 1], pid[13], psec[44];
	uint32_t st = 1;
	assert_int_equal(svca_key_format(xorshift_rand, &st, ff, key, NULL), 0);
	assert_int_equal(svca_key_parse(key, SVCA_KEY_LEN, pid, psec), SVCA_KEY_OK);
	assert_string_equal(psec, "yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1");

	/* small values, big-endian */
	uint8_t one[2] = { 0x00, 0x3E }; /* 62 */
	char t3[4];
	assert_int_equal(svca_base62_encode(one, 2, t3, 3), 0);
	assert_string_equal(t3, "010");
	uint8_t b2[2];
	assert_int_equal(svca_base62_decode("0z", 2, b2, 2), 0);
	assert_int_equal(b2[0], 0);
	assert_int_equal(b2[1], 61);

	/* does not fit */
	uint8_t big[1] = { 0xFF };
	char t1[2];
	assert_int_equal(svca_base62_encode(big, 1, t1, 1), -1);
	assert_int_equal(svca_base62_decode("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
					    SVCA_SECRET_LEN, back, 32),
			 -1);
	assert_int_equal(svca_base62_decode("47", 2, b2, 1), 0); /* 4*62+7 */
	assert_int_equal(b2[0], 255);
	assert_int_equal(svca_base62_decode("48", 2, b2, 1), -1); /* 256 */
	assert_int_equal(svca_base62_decode("0-", 2, b2, 2), -1);
	assert_int_equal(svca_base62_decode("0_", 2, b2, 2), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_keyid_unbiased_alphabet),
		cmocka_unit_test(test_single_char_changes),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_looks_like_key),
		cmocka_unit_test(test_base62),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
