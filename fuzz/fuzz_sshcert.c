/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * OpenSSH public keys, user certificates and KRLs (svcacctd/base/sshcert.c
 * and sshkrl.c): what a user uploads (a public key line), what sshd hands
 * to PAM (a certificate in SSH_AUTH_INFO_0) and what a host reads back
 * (a KRL).
 *
 * Input: byte 0 picks the mode: 0 a certificate blob, 1 a text line
 * (public key or certificate), 2 a KRL, 3 a KRL built from the input
 * (serials and key ids), then queried.
 *
 * Properties checked besides memory safety:
 *   - a parsed certificate's subject is a public key ssh_pubkey_parse
 *     accepts, with the same blob; its strings are NUL-terminated within
 *     their arrays; signature_ok is 0 or 1;
 *   - an accepted public key line: its blob's type is the line's type, the
 *     fingerprint is "SHA256:" + 43 characters; a certificate signed for
 *     it parses back with every field equal and a valid signature, and
 *     re-signing the parsed subject gives the same subject again;
 *   - ssh_krl_revokes on a KRL of ssh_krl_build says 1 for every serial
 *     and key id put in, under every CA put in, 0 for others.
 */
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "sshcert.h"
#include "sshkrl.h"

static uint8_t ca_pk[32], ca_sk[64];

static void init_ca(void)
{
	static int done;
	if (done)
		return;
	uint8_t seed[32];
	memset(seed, 0x42, sizeof(seed));
	if (sodium_init() < 0)
		abort();
	crypto_sign_seed_keypair(ca_pk, ca_sk, seed);
	done = 1;
}

static void check_cert(const struct ssh_cert *c)
{
	FZ_ASSERT(memchr(c->type, 0, sizeof(c->type)));
	FZ_ASSERT(memchr(c->key_id, 0, sizeof(c->key_id)));
	FZ_ASSERT(c->n_principals <= SSH_CERT_MAX_PRINCIPALS);
	FZ_ASSERT(c->n_extensions <= SSH_CERT_MAX_EXT);
	FZ_ASSERT(c->signature_ok == 0 || c->signature_ok == 1);
	FZ_ASSERT(strlen(c->ca_fp) == SSH_FP_LEN - 1);
	/* the subject as a public key line parses to the same key */
	char *line = NULL;
	size_t b64 = sodium_base64_ENCODED_LEN(c->subject.blob_len, sodium_base64_VARIANT_ORIGINAL);
	size_t n = strlen(c->subject.type) + 1 + b64;
	line = malloc(n);
	if (!line)
		abort();
	size_t tl = strlen(c->subject.type);
	memcpy(line, c->subject.type, tl);
	line[tl] = ' ';
	sodium_bin2base64(line + tl + 1, b64, c->subject.blob, c->subject.blob_len,
			  sodium_base64_VARIANT_ORIGINAL);
	struct ssh_pubkey k;
	char err[128];
	FZ_ASSERT(ssh_pubkey_parse(line, strlen(line), &k, err, sizeof(err)) == 0);
	FZ_ASSERT(k.blob_len == c->subject.blob_len);
	FZ_ASSERT(memcmp(k.blob, c->subject.blob, k.blob_len) == 0);
	free(line);
}

/* Signs a certificate for k, parses it back, compares. */
static void round_trip(const struct ssh_pubkey *k, const uint8_t *data, size_t size)
{
	static const char *const ext[] = { "permit-pty", "permit-X11-forwarding" };
	struct ssh_cert_req q = {
		.subject = k,
		.serial = size,
		.key_id = "sa:fuzz key:k jti:j",
		.principal = "fuzz",
		.valid_after = 1000,
		.valid_before = 2000,
		.source_address = size && (data[0] & 1) ? "10.0.0.0/8" : NULL,
		.extensions = ext,
		.n_extensions = 2,
	};
	char *line = NULL, err[128];
	struct ssh_cert c;
	FZ_ASSERT(ssh_cert_sign(&q, ca_sk, "c", &line, err, sizeof(err)) == 0);
	FZ_ASSERT(strlen(line) < SSH_CERT_LINE_MAX);
	FZ_ASSERT(ssh_cert_parse_line(line, strlen(line), &c, err, sizeof(err)) == 0);
	FZ_ASSERT(c.signature_ok == 1 && c.serial == size && c.cert_type == SSH_CERT_TYPE_USER);
	FZ_ASSERT(strcmp(c.key_id, q.key_id) == 0 && c.n_principals == 1 &&
		  strcmp(c.principals[0], "fuzz") == 0);
	FZ_ASSERT(c.valid_after == 1000 && c.valid_before == 2000);
	FZ_ASSERT(strcmp(c.source_address, q.source_address ? q.source_address : "") == 0);
	FZ_ASSERT(c.n_extensions == 2 && strcmp(c.extensions[0], "permit-X11-forwarding") == 0 &&
		  strcmp(c.extensions[1], "permit-pty") == 0);
	FZ_ASSERT(c.subject.blob_len == k->blob_len &&
		  memcmp(c.subject.blob, k->blob, k->blob_len) == 0);
	FZ_ASSERT(strcmp(c.subject.type, k->type) == 0);
	free(line);

	/* re-sign what was parsed: the same subject again */
	struct ssh_pubkey again = c.subject;
	q.subject = &again;
	FZ_ASSERT(ssh_cert_sign(&q, ca_sk, NULL, &line, err, sizeof(err)) == 0);
	FZ_ASSERT(ssh_cert_parse_line(line, strlen(line), &c, err, sizeof(err)) == 0);
	FZ_ASSERT(c.signature_ok == 1 && c.subject.blob_len == k->blob_len &&
		  memcmp(c.subject.blob, k->blob, k->blob_len) == 0);
	free(line);
}

static void mode_line(const uint8_t *data, size_t size)
{
	char *s = fz_strdup(data, size);
	struct ssh_pubkey k;
	struct ssh_cert c;
	char err[128];
	if (ssh_cert_parse_line(s, size, &c, err, sizeof(err)) == 0)
		check_cert(&c);
	if (ssh_pubkey_parse(s, size, &k, err, sizeof(err)) == 0) {
		char fp[SSH_FP_LEN];
		FZ_ASSERT(k.blob_len > 4 && k.blob_len <= SSH_KEY_BLOB_MAX);
		FZ_ASSERT(strncmp(s + strspn(s, " \t"), k.type, strlen(k.type)) == 0);
		ssh_fingerprint(k.blob, k.blob_len, fp);
		FZ_ASSERT(strncmp(fp, "SHA256:", 7) == 0 && strlen(fp) == SSH_FP_LEN - 1);
		round_trip(&k, data, size);
	}
	free(s);
}

static void mode_blob(const uint8_t *data, size_t size)
{
	uint8_t *b = fz_dup(data, size);
	struct ssh_cert c;
	char err[128];
	if (ssh_cert_parse(b, size, &c, err, sizeof(err)) == 0)
		check_cert(&c);
	free(b);
}

static void mode_krl(const uint8_t *data, size_t size)
{
	uint8_t *b = fz_dup(data, size);
	uint8_t blob[64];
	size_t bl = ssh_ed25519_blob(ca_pk, blob);
	for (uint64_t s = 0; s < 4; s++) {
		int r = ssh_krl_revokes(b, size, blob, bl, s, "sa:x key:k jti:j");
		FZ_ASSERT(r >= -1 && r <= 1);
	}
	free(b);
}

/* Serials from 8-byte groups, key ids from the same bytes as text. */
static void mode_build(const uint8_t *data, size_t size)
{
	uint64_t ser[64];
	size_t ns = 0;
	for (size_t i = 0; i + 8 <= size && ns < 64; i += 8) {
		uint64_t v = 0;
		memcpy(&v, data + i, 8);
		if (v)
			ser[ns++] = v;
	}
	char ids[4][17];
	const char *idp[4];
	size_t ni = 0;
	for (size_t i = 0; i < 4 && i * 16 < size; i++) {
		size_t l = size - i * 16 < 16 ? size - i * 16 : 16;
		memcpy(ids[i], data + i * 16, l);
		ids[i][l] = '\0';
		idp[ni++] = ids[i];
	}
	uint8_t blob[64], other[64];
	size_t bl = ssh_ed25519_blob(ca_pk, blob);
	memcpy(other, blob, bl);
	other[bl - 1] ^= 1;
	struct ssh_krl_ca cas[2] = { { blob, bl }, { other, bl } };
	struct ssh_krl_in in = { cas, 2, ser, ns, idp, ni, size, 1 };
	uint8_t *krl = NULL;
	size_t kl = 0;
	FZ_ASSERT(ssh_krl_build(&in, &krl, &kl) == 0);
	for (size_t i = 0; i < ns; i++) {
		FZ_ASSERT(ssh_krl_revokes(krl, kl, blob, bl, ser[i], NULL) == 1);
		FZ_ASSERT(ssh_krl_revokes(krl, kl, other, bl, ser[i], NULL) == 1);
	}
	for (size_t i = 0; i < ni; i++)
		FZ_ASSERT(ssh_krl_revokes(krl, kl, blob, bl, 0, idp[i]) == 1);
	int in_list = 0;
	for (size_t i = 0; i < ns; i++)
		in_list |= ser[i] == 0x7777777777777777ull;
	int named = 0;
	for (size_t i = 0; i < ni; i++)
		named |= strcmp(idp[i], "\x01not-an-id") == 0;
	FZ_ASSERT(ssh_krl_revokes(krl, kl, blob, bl, 0x7777777777777777ull, "\x01not-an-id") ==
		  (in_list || named));
	/* another CA: nothing */
	FZ_ASSERT(ssh_krl_revokes(krl, kl, blob, bl - 1, ns ? ser[0] : 1, NULL) == 0);
	free(krl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_ca();
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	switch (data[0] % 4) {
	case 0: mode_blob(p, n); break;
	case 1: mode_line(p, n); break;
	case 2: mode_krl(p, n); break;
	default: mode_build(p, n); break;
	}
	return 0;
}
