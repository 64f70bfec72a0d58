/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * API key text format (DESIGN.md section 4):
 *
 *   svca_<keyid>_<secret><check>
 *
 *   keyid   12 base62 chars, public: the lookup key, shown in listings/audit
 *   secret  43 base62 chars: 32 random bytes as one big-endian base-62
 *           number, left-padded with '0'
 *   check   6 base62 chars: CRC32 (IEEE 802.3 / zlib) of everything before
 *           it ("svca_<keyid>_<secret>"), big-endian, left-padded with '0'
 *
 * Base62 alphabet, in digit order: 0-9 A-Z a-z.  A key is 67 characters
 * from [A-Za-z0-9_], so one double-click selects it and secret scanners can
 * validate it offline.
 *
 * libc only: shared by the daemon, the PAM module and svcacctctl.
 */
#ifndef SVCACCT_KEYFMT_H
#define SVCACCT_KEYFMT_H

#include <stddef.h>
#include <stdint.h>

#define SVCA_KEY_PREFIX "svca_"
#define SVCA_KEY_PREFIX_LEN 5
#define SVCA_KEYID_LEN 12
#define SVCA_SECRET_LEN 43
#define SVCA_SECRET_BYTES 32
#define SVCA_CHECK_LEN 6
#define SVCA_KEY_LEN \
	(SVCA_KEY_PREFIX_LEN + SVCA_KEYID_LEN + 1 + SVCA_SECRET_LEN + SVCA_CHECK_LEN) /* 67 */

/* Fills buf with n uniformly random bytes (the daemon passes a wrapper
 * around randombytes_buf).  Must not fail. */
typedef void (*svca_rand_fn)(void *ctx, void *buf, size_t n);

/*
 * Formats a key.  keyid characters are drawn from rng by rejection
 * sampling (bytes >= 248 are discarded, the rest taken mod 62), so they
 * carry no modulo bias.  secret is the 32 random bytes of the secret.
 * Writes the NUL-terminated key to out and the NUL-terminated keyid to
 * keyid_out (may be NULL).  Returns 0, or -1 on a NULL argument.
 * out holds the secret: the caller wipes it.
 */
int svca_key_format(svca_rand_fn rng, void *ctx, const uint8_t secret[SVCA_SECRET_BYTES],
		    char out[SVCA_KEY_LEN + 1], char keyid_out[SVCA_KEYID_LEN + 1]);

enum svca_key_parse {
	SVCA_KEY_OK = 0,
	SVCA_KEY_MALFORMED,    /* length, prefix, '_' positions or alphabet;
	                          or a correct checksum over a secret that
	                          is >= 2^256, which no generator makes */
	SVCA_KEY_BAD_CHECKSUM, /* shaped like a key, but the check chars are
	                          not the CRC32 of the rest (a typo) */
};

/*
 * Strict parse of s[0..len).  On SVCA_KEY_OK writes the NUL-terminated
 * keyid and secret text (43 base62 chars) to keyid and secret; on any
 * other result both are zeroed (when not NULL).  The secret characters
 * are checked without early exit.  secret holds the secret: wipe it.
 */
enum svca_key_parse svca_key_parse(const char *s, size_t len, char keyid[SVCA_KEYID_LEN + 1],
				   char secret[SVCA_SECRET_LEN + 1]);

/*
 * The same text format with another 5-character prefix, for the other
 * secrets of the fleet (DESIGN.md section 9): host credentials
 * ("svch_", SVCA_HOSTCRED_PREFIX) and enrollment tokens ("svce_",
 * SVCA_ENROLL_PREFIX).  The checksum covers the prefix, so a secret of
 * one kind never parses as another.
 */
#define SVCA_HOSTCRED_PREFIX "svch_"
#define SVCA_ENROLL_PREFIX "svce_"
int svca_key_format_as(const char *prefix, svca_rand_fn rng, void *ctx,
		       const uint8_t secret[SVCA_SECRET_BYTES], char out[SVCA_KEY_LEN + 1],
		       char keyid_out[SVCA_KEYID_LEN + 1]);
enum svca_key_parse svca_key_parse_as(const char *prefix, const char *s, size_t len,
				      char keyid[SVCA_KEYID_LEN + 1],
				      char secret[SVCA_SECRET_LEN + 1]);

/* 1 when s[0..len) has a key's length and prefix (a PAM authtok may be a
 * key or a JWT), else 0.  Says nothing about validity. */
int svca_looks_like_key(const char *s, size_t len);

/* CRC32, IEEE 802.3 (reflected 0xEDB88320, init and final xor ~0), as
 * zlib's crc32(0, p, n).  crc32("123456789") == 0xCBF43926. */
uint32_t svca_crc32(const void *p, size_t n);

/*
 * Base62, big-endian, fixed width.  encode writes in[0..inlen) as exactly
 * outlen digits, left-padded with '0', plus a NUL (out has outlen + 1
 * bytes); -1 when the number needs more than outlen digits.  decode reads
 * exactly inlen digits into out[0..outlen) big-endian; -1 on a character
 * outside the alphabet or a value >= 256^outlen.  Both run in time that
 * depends only on the lengths, not on the data.
 */
int svca_base62_encode(const uint8_t *in, size_t inlen, char *out, size_t outlen);
int svca_base62_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen);

#endif
