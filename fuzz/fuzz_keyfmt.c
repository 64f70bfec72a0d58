/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * API key text and the other authtok / name checks that run on what a
 * user types (common/keyfmt.c, common/names.c, and the PAM module's
 * authtok classifier svca_pam_looks_like_jwt in pam_svcacct/client.c).
 *
 * Input: the text as presented (an API key, a token, a PAM authtok, a
 * user name).
 *
 * Properties checked besides memory safety:
 *   - svca_key_parse OK implies svca_looks_like_key, a 12-character keyid
 *     and a 43-character secret of the alphabet, and the check characters
 *     are the CRC32 of the rest (recomputed here with svca_crc32 and
 *     svca_base62_encode);
 *   - the secret decodes to 32 bytes that encode back to the same text;
 *   - svca_base62_decode / _encode round-trip on any input they accept,
 *     in both directions;
 *   - svca_key_format, fed its randomness from the input, makes a key that
 *     svca_key_parse accepts with the same keyid and secret.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "keyfmt.h"
#include "names.h"
#include "module.h"

static int b62(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

struct feed {
	const uint8_t *p;
	size_t n, off;
};

/* Randomness from the input, cycling; zeros when the input is empty. */
static void feed_rng(void *ctx, void *buf, size_t n)
{
	struct feed *f = ctx;
	uint8_t *b = buf;
	for (size_t i = 0; i < n; i++) {
		b[i] = f->n ? f->p[f->off % f->n] : 0;
		f->off++;
		if (f->off > 4096 && f->n) /* all-rejected input: make progress */
			b[i] = (uint8_t)(f->off % 248);
	}
}

static void check_parse(const char *s, size_t n)
{
	char keyid[SVCA_KEYID_LEN + 1], secret[SVCA_SECRET_LEN + 1];
	enum svca_key_parse r = svca_key_parse(s, n, keyid, secret);
	int looks = svca_looks_like_key(s, n);
	if (r != SVCA_KEY_OK) {
		FZ_ASSERT(keyid[0] == '\0' && secret[0] == '\0');
		if (r == SVCA_KEY_BAD_CHECKSUM)
			FZ_ASSERT(looks);
		return;
	}
	FZ_ASSERT(looks && n == SVCA_KEY_LEN);
	FZ_ASSERT(strlen(keyid) == SVCA_KEYID_LEN && strlen(secret) == SVCA_SECRET_LEN);
	FZ_ASSERT(memcmp(keyid, s + SVCA_KEY_PREFIX_LEN, SVCA_KEYID_LEN) == 0);
	for (size_t i = 0; i < SVCA_KEYID_LEN; i++)
		FZ_ASSERT(b62(keyid[i]));
	for (size_t i = 0; i < SVCA_SECRET_LEN; i++)
		FZ_ASSERT(b62(secret[i]));

	size_t checked = SVCA_KEY_LEN - SVCA_CHECK_LEN;
	uint32_t crc = svca_crc32(s, checked);
	uint8_t be[4] = { (uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8),
			  (uint8_t)crc };
	char check[SVCA_CHECK_LEN + 1];
	FZ_ASSERT(svca_base62_encode(be, sizeof(be), check, SVCA_CHECK_LEN) == 0);
	FZ_ASSERT(memcmp(check, s + checked, SVCA_CHECK_LEN) == 0);

	uint8_t num[SVCA_SECRET_BYTES];
	char again[SVCA_SECRET_LEN + 1];
	FZ_ASSERT(svca_base62_decode(secret, SVCA_SECRET_LEN, num, sizeof(num)) == 0);
	FZ_ASSERT(svca_base62_encode(num, sizeof(num), again, SVCA_SECRET_LEN) == 0);
	FZ_ASSERT(memcmp(again, secret, SVCA_SECRET_LEN) == 0);
}

static void check_base62(const uint8_t *data, size_t size)
{
	/* text -> bytes -> text, for the widths the code uses and a few more */
	static const size_t widths[] = { 1, 4, 8, 32, 33, 64 };
	size_t tl = size > 96 ? 96 : size;
	const char *txt = (const char *)data;
	for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++) {
		uint8_t out[64];
		char back[97];
		if (svca_base62_decode(txt, tl, out, widths[w]) != 0)
			continue;
		for (size_t i = 0; i < tl; i++)
			FZ_ASSERT(b62(txt[i]));
		FZ_ASSERT(svca_base62_encode(out, widths[w], back, tl) == 0);
		FZ_ASSERT(memcmp(back, txt, tl) == 0 && back[tl] == '\0');
	}
	/* bytes -> text -> bytes */
	size_t bl = size > 64 ? 64 : size;
	static const size_t digits[] = { 0, 6, 11, 43, 44, 90 };
	for (size_t d = 0; d < sizeof(digits) / sizeof(digits[0]); d++) {
		char text[91];
		uint8_t back[64];
		if (svca_base62_encode(data, bl, text, digits[d]) != 0) {
			FZ_ASSERT(text[digits[d]] == '\0');
			continue;
		}
		FZ_ASSERT(strlen(text) == digits[d]);
		FZ_ASSERT(svca_base62_decode(text, digits[d], back, bl) == 0);
		FZ_ASSERT(bl == 0 || memcmp(back, data, bl) == 0);
	}
}

static void check_format(const uint8_t *data, size_t size)
{
	if (size < SVCA_SECRET_BYTES)
		return;
	struct feed f = { data + SVCA_SECRET_BYTES, size - SVCA_SECRET_BYTES, 0 };
	char key[SVCA_KEY_LEN + 1], kid[SVCA_KEYID_LEN + 1];
	char pk[SVCA_KEYID_LEN + 1], ps[SVCA_SECRET_LEN + 1];
	FZ_ASSERT(svca_key_format(feed_rng, &f, data, key, kid) == 0);
	FZ_ASSERT(strlen(key) == SVCA_KEY_LEN);
	FZ_ASSERT(svca_key_parse(key, SVCA_KEY_LEN, pk, ps) == SVCA_KEY_OK);
	FZ_ASSERT(strcmp(pk, kid) == 0);
	uint8_t num[SVCA_SECRET_BYTES];
	FZ_ASSERT(svca_base62_decode(ps, SVCA_SECRET_LEN, num, sizeof(num)) == 0);
	FZ_ASSERT(memcmp(num, data, SVCA_SECRET_BYTES) == 0);
	/* any one-character change is caught by the alphabet or the CRC */
	size_t at = data[0] % SVCA_KEY_LEN;
	key[at] = key[at] == 'a' ? 'b' : 'a';
	FZ_ASSERT(svca_key_parse(key, SVCA_KEY_LEN, pk, ps) != SVCA_KEY_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fz_strdup(data, size);

	check_parse(s, size);
	check_base62(data, size);
	check_format(data, size);

	/* PAM authtok classification and user names (PAM_USER, F_NAME). */
	int jwt = svca_pam_looks_like_jwt(s, size);
	if (jwt)
		FZ_ASSERT(!svca_looks_like_key(s, size));
	(void)svca_account_name_valid(s);
	(void)svca_scope_name_valid(s);
	free(s);
	return 0;
}
