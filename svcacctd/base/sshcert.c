/* SPDX-License-Identifier: GPL-3.0-or-later */
/* OpenSSH public keys and user certificates (PROTOCOL.certkeys).  See sshcert.h. */
#include "sshcert.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CERT_SUFFIX "-cert-v01@openssh.com"
#define NONCE_LEN 32u
#define ED25519_PK_LEN 32u
#define ED25519_SIG_LEN 64u
#define RSA_MIN_BITS 2048u
#define RSA_E_MAX 64u       /* bytes of the public exponent */
#define CERT_BLOB_MAX 6144u /* the base64 of SSH_CERT_LINE_MAX */
#define OPT_DATA_MAX 1024u

/* ---- wire reading: every read is bounded by the buffer --------------- */

struct rd {
	const uint8_t *p;
	size_t len, off;
};

static int rd_u32(struct rd *r, uint32_t *v)
{
	if (r->len - r->off < 4)
		return -1;
	const uint8_t *b = r->p + r->off;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	r->off += 4;
	return 0;
}

static int rd_u64(struct rd *r, uint64_t *v)
{
	uint32_t hi, lo;
	if (rd_u32(r, &hi) != 0 || rd_u32(r, &lo) != 0)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

/* A string: its bytes stay in the buffer. */
static int rd_str(struct rd *r, const uint8_t **s, size_t *n)
{
	uint32_t l;
	if (rd_u32(r, &l) != 0 || l > r->len - r->off)
		return -1;
	*s = r->p + r->off;
	*n = l;
	r->off += l;
	return 0;
}

/* A string copied as C text: no NUL inside, shorter than cap. */
static int rd_cstr(struct rd *r, char *out, size_t cap)
{
	const uint8_t *s;
	size_t n;
	if (rd_str(r, &s, &n) != 0 || n >= cap || memchr(s, 0, n))
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static int str_is(const uint8_t *s, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(s, want, n) == 0;
}

/* ---- wire writing into a fixed-capacity buffer ----------------------- */

struct wr {
	uint8_t *p;
	size_t cap, len;
	int bad; /* set once anything did not fit */
};

static void wr_bytes(struct wr *w, const void *b, size_t n)
{
	if (w->bad || n > w->cap - w->len) {
		w->bad = 1;
		return;
	}
	if (n)
		memcpy(w->p + w->len, b, n);
	w->len += n;
}

static void wr_u32(struct wr *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	wr_bytes(w, b, 4);
}

static void wr_u64(struct wr *w, uint64_t v)
{
	wr_u32(w, (uint32_t)(v >> 32));
	wr_u32(w, (uint32_t)v);
}

static void wr_str(struct wr *w, const void *s, size_t n)
{
	if (n > UINT32_MAX) {
		w->bad = 1;
		return;
	}
	wr_u32(w, (uint32_t)n);
	wr_bytes(w, s, n);
}

static void wr_cstr(struct wr *w, const char *s)
{
	wr_str(w, s, strlen(s));
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ---- base64 (ORIGINAL, padded, as OpenSSH writes it) ------------------ */

static int b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/* Strict: the alphabet is checked first (libsodium maps some bytes outside
 * it), '=' only as the final padding. */
static int b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t pad = 0;
	while (pad < 2 && n > pad && in[n - 1 - pad] == '=')
		pad++;
	if (n == 0 || n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n - pad; i++)
		if (!b64_char(in[i]))
			return -1;
	if (sodium_base642bin(out, cap, in, n, NULL, outlen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return 0;
}

static char *b64_line(const char *type, const uint8_t *blob, size_t n, const char *comment)
{
	size_t b64 = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	size_t clen = comment ? strlen(comment) : 0;
	size_t total = strlen(type) + 1 + b64 + 1 + clen + 1;
	char *s = malloc(total);
	if (!s)
		return NULL;
	size_t t = strlen(type);
	memcpy(s, type, t);
	s[t] = ' ';
	sodium_bin2base64(s + t + 1, b64, blob, n, sodium_base64_VARIANT_ORIGINAL);
	if (comment && clen) {
		size_t at = strlen(s);
		s[at] = ' ';
		memcpy(s + at + 1, comment, clen + 1);
	}
	return s;
}

/* ---- public keys ---------------------------------------------------- */

struct curve {
	const char *type, *name;
	size_t point_len;
};

static const struct curve CURVES[] = {
	{ "ecdsa-sha2-nistp256", "nistp256", 65 },
	{ "ecdsa-sha2-nistp384", "nistp384", 97 },
	{ "ecdsa-sha2-nistp521", "nistp521", 133 },
};

/* An mpint that is positive and minimal: its length in bits. */
static int mpint_bits(const uint8_t *s, size_t n, size_t *bits)
{
	if (n == 0 || (s[0] & 0x80))
		return -1;
	if (s[0] == 0 && (n < 2 || !(s[1] & 0x80)))
		return -1; /* a leading zero only before a high bit */
	if (s[0] == 0) {
		s++;
		n--;
	}
	size_t b = n * 8;
	for (uint8_t top = s[0]; !(top & 0x80); top = (uint8_t)(top << 1))
		b--;
	*bits = b;
	return 0;
}

/* The fields of a key of this type after the type name (or, within a
 * certificate, after the nonce): checked, and their span. */
static int key_fields(const char *type, struct rd *r, char *err, size_t errlen)
{
	const uint8_t *a, *b;
	size_t na, nb;

	if (strcmp(type, "ssh-ed25519") == 0) {
		if (rd_str(r, &a, &na) != 0 || na != ED25519_PK_LEN)
			return fail(err, errlen, "malformed Ed25519 key");
		return 0;
	}
	for (size_t i = 0; i < sizeof(CURVES) / sizeof(CURVES[0]); i++) {
		if (strcmp(type, CURVES[i].type) != 0)
			continue;
		if (rd_str(r, &a, &na) != 0 || !str_is(a, na, CURVES[i].name))
			return fail(err, errlen, "malformed ECDSA key: wrong curve");
		if (rd_str(r, &b, &nb) != 0 || nb != CURVES[i].point_len || b[0] != 0x04)
			return fail(err, errlen, "malformed ECDSA key: bad point");
		return 0;
	}
	if (strcmp(type, "ssh-rsa") == 0) {
		size_t ebits, nbits;
		if (rd_str(r, &a, &na) != 0 || na > RSA_E_MAX || mpint_bits(a, na, &ebits) != 0 ||
		    !(a[na - 1] & 1) || rd_str(r, &b, &nb) != 0 || mpint_bits(b, nb, &nbits) != 0)
			return fail(err, errlen, "malformed RSA key");
		if (nbits < RSA_MIN_BITS)
			return fail(err, errlen, "RSA keys shorter than %u bits are refused",
				    RSA_MIN_BITS);
		return 0;
	}
	if (strcmp(type, "ssh-dss") == 0)
		return fail(err, errlen, "DSA keys are refused");
	return fail(err, errlen, "unsupported key type");
}

static int is_cert_type(const char *t)
{
	size_t n = strlen(t), s = strlen(CERT_SUFFIX);
	return n > s && strcmp(t + n - s, CERT_SUFFIX) == 0;
}

/* The key type name at the start of a blob (C text, bounded). */
static int blob_type(struct rd *r, char out[SSH_KEY_TYPE_MAX])
{
	return rd_cstr(r, out, SSH_KEY_TYPE_MAX);
}

static int pubkey_blob(const uint8_t *blob, size_t n, struct ssh_pubkey *out, char *err,
		       size_t errlen)
{
	struct rd r = { blob, n, 0 };
	char type[SSH_KEY_TYPE_MAX];
	if (n > SSH_KEY_BLOB_MAX)
		return fail(err, errlen, "public key too large");
	if (blob_type(&r, type) != 0)
		return fail(err, errlen, "not an OpenSSH public key");
	if (is_cert_type(type))
		return fail(err, errlen, "a certificate is not a public key");
	if (key_fields(type, &r, err, errlen) != 0)
		return -1;
	if (r.off != n)
		return fail(err, errlen, "trailing bytes after the public key");
	memcpy(out->type, type, sizeof(type));
	memcpy(out->blob, blob, n);
	out->blob_len = n;
	return 0;
}

/* Splits "TYPE BASE64 [comment]" (white space around it and a final
 * newline allowed): the type and the base64 word.  The comment is one
 * line of text. */
static int split_line(const char *line, size_t len, const char **type, size_t *tlen,
		      const char **b64, size_t *blen)
{
	size_t i = 0;
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\n' ||
			   line[len - 1] == '\r'))
		len--;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	*type = line + i;
	while (i < len && line[i] != ' ' && line[i] != '\t')
		i++;
	*tlen = (size_t)(line + i - *type);
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	*b64 = line + i;
	while (i < len && (b64_char(line[i]) || line[i] == '='))
		i++;
	*blen = (size_t)(line + i - *b64);
	if (i < len && line[i] != ' ' && line[i] != '\t')
		return -1;
	for (size_t j = 0; j < len; j++)
		if (line[j] == '\0' || line[j] == '\n' || line[j] == '\r')
			return -1;
	return *tlen && *blen ? 0 : -1;
}

int ssh_pubkey_parse(const char *line, size_t len, struct ssh_pubkey *out, char *err, size_t errlen)
{
	const char *t, *b;
	size_t tl, bl, n = 0;
	uint8_t blob[SSH_KEY_BLOB_MAX];

	if (err && errlen)
		err[0] = '\0';
	memset(out, 0, sizeof(*out));
	if (!line || len == 0)
		return fail(err, errlen, "empty public key");
	if (len > SSH_CERT_LINE_MAX)
		return fail(err, errlen, "public key line too long");
	if (split_line(line, len, &t, &tl, &b, &bl) != 0)
		return fail(err, errlen, "not an OpenSSH public key");
	if (tl >= SSH_KEY_TYPE_MAX)
		return fail(err, errlen, "unsupported key type");
	if (bl > sodium_base64_ENCODED_LEN(SSH_KEY_BLOB_MAX, sodium_base64_VARIANT_ORIGINAL))
		return fail(err, errlen, "public key too large");
	if (b64_decode(b, bl, blob, sizeof(blob), &n) != 0)
		return fail(err, errlen, "not an OpenSSH public key: bad base64");
	if (pubkey_blob(blob, n, out, err, errlen) != 0) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	if (strlen(out->type) != tl || memcmp(out->type, t, tl) != 0) {
		memset(out, 0, sizeof(*out));
		return fail(err, errlen, "the key type does not match the key");
	}
	return 0;
}

void ssh_fingerprint(const uint8_t *blob, size_t len, char out[SSH_FP_LEN])
{
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, blob, len);
	memcpy(out, "SHA256:", 7);
	sodium_bin2base64(out + 7, SSH_FP_LEN - 7, h, sizeof(h),
			  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
}

size_t ssh_ed25519_blob(const uint8_t pk[32], uint8_t out[64])
{
	struct wr w = { out, 64, 0, 0 };
	wr_cstr(&w, "ssh-ed25519");
	wr_str(&w, pk, ED25519_PK_LEN);
	return w.len; /* 4 + 11 + 4 + 32 = 51 */
}

char *ssh_ed25519_pub_line(const uint8_t pk[32], const char *comment)
{
	uint8_t blob[64];
	size_t n = ssh_ed25519_blob(pk, blob);
	return b64_line("ssh-ed25519", blob, n, comment);
}

/* ---- certificates: signing ---------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int text_ok(const char *s, size_t max)
{
	return s && strlen(s) < max;
}

static int req_check(const struct ssh_cert_req *q, char *err, size_t errlen)
{
	if (!q || !q->subject || q->subject->blob_len == 0 ||
	    q->subject->blob_len > SSH_KEY_BLOB_MAX)
		return fail(err, errlen, "no subject key");
	if (!text_ok(q->key_id, SSH_KEY_ID_MAX) || !text_ok(q->principal, SSH_PRINCIPAL_MAX) ||
	    !q->principal[0])
		return fail(err, errlen, "bad key id or principal");
	if (q->source_address && (!q->source_address[0] || strlen(q->source_address) >= 256))
		return fail(err, errlen, "bad source address");
	if (q->n_extensions > SSH_CERT_MAX_EXT || (q->n_extensions && !q->extensions))
		return fail(err, errlen, "too many extensions");
	for (size_t i = 0; i < q->n_extensions; i++)
		if (!text_ok(q->extensions[i], 64) || !q->extensions[i][0])
			return fail(err, errlen, "bad extension name");
	if (q->valid_after >= q->valid_before)
		return fail(err, errlen, "empty validity interval");
	return 0;
}

/* The certificate body up to (not including) the signature. */
static int cert_body(struct wr *w, const struct ssh_cert_req *q, const uint8_t ca_pk[32], char *err,
		     size_t errlen)
{
	const struct ssh_pubkey *k = q->subject;
	struct rd r = { k->blob, k->blob_len, 0 };
	char type[SSH_KEY_TYPE_MAX], ctype[SSH_KEY_TYPE_MAX + sizeof(CERT_SUFFIX)];
	uint8_t nonce[NONCE_LEN], tmp[OPT_DATA_MAX + 64];
	const char *ext[SSH_CERT_MAX_EXT];

	if (blob_type(&r, type) != 0 || is_cert_type(type) || strcmp(type, k->type) != 0 ||
	    key_fields(type, &r, err, errlen))
		return fail(err, errlen, "the subject is not a supported public key");
	if (r.off != k->blob_len)
		return fail(err, errlen, "trailing bytes after the subject key");
	snprintf(ctype, sizeof(ctype), "%s%s", type, CERT_SUFFIX);
	wr_cstr(w, ctype);
	randombytes_buf(nonce, sizeof(nonce));
	wr_str(w, nonce, sizeof(nonce));
	size_t fields = strlen(type) + 4;
	wr_bytes(w, k->blob + fields, k->blob_len - fields); /* the key's own fields */
	wr_u64(w, q->serial);
	wr_u32(w, SSH_CERT_TYPE_USER);
	wr_cstr(w, q->key_id);

	struct wr t = { tmp, sizeof(tmp), 0, 0 };
	wr_cstr(&t, q->principal);
	wr_str(w, tmp, t.len);
	wr_u64(w, q->valid_after);
	wr_u64(w, q->valid_before);

	t.len = 0;
	if (q->source_address) {
		uint8_t data[OPT_DATA_MAX];
		struct wr d = { data, sizeof(data), 0, 0 };
		wr_cstr(&d, q->source_address);
		wr_cstr(&t, "source-address");
		wr_str(&t, data, d.len);
	}
	wr_str(w, tmp, t.len);

	t.len = 0;
	for (size_t i = 0; i < q->n_extensions; i++)
		ext[i] = q->extensions[i];
	qsort(ext, q->n_extensions, sizeof(ext[0]), cmp_str);
	for (size_t i = 0; i < q->n_extensions; i++) {
		if (i && strcmp(ext[i], ext[i - 1]) == 0)
			return fail(err, errlen, "duplicate extension %s", ext[i]);
		wr_cstr(&t, ext[i]);
		wr_str(&t, "", 0);
	}
	wr_str(w, tmp, t.len);
	wr_str(w, "", 0); /* reserved */

	uint8_t cab[64];
	size_t cabn = ssh_ed25519_blob(ca_pk, cab);
	wr_str(w, cab, cabn);
	if (t.bad || w->bad)
		return fail(err, errlen, "certificate too large");
	return 0;
}

int ssh_cert_sign(const struct ssh_cert_req *req, const uint8_t ca_sk[64], const char *comment,
		  char **line, char *err, size_t errlen)
{
	uint8_t *buf;
	uint8_t sig[ED25519_SIG_LEN];
	int rc = -1;

	if (err && errlen)
		err[0] = '\0';
	if (!line || !ca_sk)
		return fail(err, errlen, "bad arguments");
	*line = NULL;
	if (req_check(req, err, errlen) != 0)
		return -1;
	if (comment && strpbrk(comment, "\r\n"))
		return fail(err, errlen, "the comment must be one line");
	buf = malloc(CERT_BLOB_MAX);
	if (!buf)
		return fail(err, errlen, "out of memory");
	struct wr w = { buf, CERT_BLOB_MAX, 0, 0 };
	/* libsodium's secret key ends with the public key */
	if (cert_body(&w, req, ca_sk + 32, err, errlen) != 0)
		goto out;
	crypto_sign_detached(sig, NULL, buf, w.len, ca_sk);
	uint8_t sigblob[4 + 11 + 4 + ED25519_SIG_LEN];
	struct wr s = { sigblob, sizeof(sigblob), 0, 0 };
	wr_cstr(&s, "ssh-ed25519");
	wr_str(&s, sig, sizeof(sig));
	wr_str(&w, sigblob, s.len);
	if (w.bad || s.bad) {
		fail(err, errlen, "certificate too large");
		goto out;
	}
	char type[SSH_KEY_TYPE_MAX + sizeof(CERT_SUFFIX)];
	snprintf(type, sizeof(type), "%s%s", req->subject->type, CERT_SUFFIX);
	*line = b64_line(type, buf, w.len, comment);
	if (!*line) {
		fail(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(sig, sizeof(sig));
	free(buf);
	return rc;
}

/* ---- certificates: parsing ---------------------------------------------- */

static int parse_principals(const uint8_t *s, size_t n, struct ssh_cert *c)
{
	struct rd r = { s, n, 0 };
	while (r.off < r.len) {
		if (c->n_principals >= SSH_CERT_MAX_PRINCIPALS ||
		    rd_cstr(&r, c->principals[c->n_principals], SSH_PRINCIPAL_MAX) != 0)
			return -1;
		c->n_principals++;
	}
	return 0;
}

/* Critical options: names strictly increasing (OpenSSH requires it for
 * new certificates too), source-address kept. */
static int parse_critical(const uint8_t *s, size_t n, struct ssh_cert *c)
{
	struct rd r = { s, n, 0 };
	char name[64], prev[64] = "";
	while (r.off < r.len) {
		const uint8_t *d;
		size_t dn;
		if (c->n_critical >= SSH_CERT_MAX_EXT || rd_cstr(&r, name, sizeof(name)) != 0 ||
		    rd_str(&r, &d, &dn) != 0 || (c->n_critical && strcmp(name, prev) <= 0))
			return -1;
		if (strcmp(name, "source-address") == 0) {
			struct rd v = { d, dn, 0 };
			if (rd_cstr(&v, c->source_address, sizeof(c->source_address)) != 0 ||
			    v.off != dn || !c->source_address[0])
				return -1;
		}
		memcpy(prev, name, sizeof(name));
		c->n_critical++;
	}
	return 0;
}

static int parse_extensions(const uint8_t *s, size_t n, struct ssh_cert *c)
{
	struct rd r = { s, n, 0 };
	while (r.off < r.len) {
		const uint8_t *d;
		size_t dn, i = c->n_extensions;
		if (i >= SSH_CERT_MAX_EXT || rd_cstr(&r, c->extensions[i], 64) != 0 ||
		    rd_str(&r, &d, &dn) != 0 ||
		    (i && strcmp(c->extensions[i], c->extensions[i - 1]) <= 0))
			return -1;
		c->n_extensions++;
	}
	return 0;
}

/* The subject as a plain public key: its type and the key fields. */
static int cert_subject(struct ssh_cert *c, const uint8_t *f, size_t fn)
{
	size_t tl = strlen(c->type) - strlen(CERT_SUFFIX);
	struct wr w = { c->subject.blob, sizeof(c->subject.blob), 0, 0 };
	if (tl >= sizeof(c->subject.type))
		return -1;
	memcpy(c->subject.type, c->type, tl);
	c->subject.type[tl] = '\0';
	wr_u32(&w, (uint32_t)tl);
	wr_bytes(&w, c->type, tl);
	wr_bytes(&w, f, fn);
	c->subject.blob_len = w.len;
	return w.bad ? -1 : 0;
}

/* The Ed25519 signature over blob[0..signed_len), when the CA is Ed25519. */
static int cert_verify(struct ssh_cert *c, const uint8_t *blob, size_t signed_len,
		       const uint8_t *sig, size_t sign, char *err, size_t errlen)
{
	struct rd ca = { c->ca_blob, c->ca_blob_len, 0 };
	struct rd sr = { sig, sign, 0 };
	const uint8_t *st, *sv, *ct, *pk;
	size_t stn, svn, ctn, pkn;

	if (rd_str(&sr, &st, &stn) != 0 || rd_str(&sr, &sv, &svn) != 0 || sr.off != sign)
		return fail(err, errlen, "malformed certificate signature");
	if (rd_str(&ca, &ct, &ctn) != 0)
		return fail(err, errlen, "malformed CA key");
	c->signature_ok = 0;
	if (!str_is(ct, ctn, "ssh-ed25519"))
		return 0;
	if (rd_str(&ca, &pk, &pkn) != 0 || pkn != ED25519_PK_LEN || ca.off != ca.len)
		return fail(err, errlen, "malformed CA key");
	if (!str_is(st, stn, "ssh-ed25519") || svn != ED25519_SIG_LEN)
		return fail(err, errlen, "malformed certificate signature");
	c->signature_ok = crypto_sign_verify_detached(sv, blob, signed_len, pk) == 0;
	return 0;
}

static int cert_fields(struct rd *r, struct ssh_cert *c, char *err, size_t errlen)
{
	const uint8_t *s;
	size_t n;
	if (rd_u64(r, &c->serial) != 0 || rd_u32(r, &c->cert_type) != 0 ||
	    rd_cstr(r, c->key_id, sizeof(c->key_id)) != 0)
		return fail(err, errlen, "malformed certificate: serial, type or key id");
	if (rd_str(r, &s, &n) != 0 || parse_principals(s, n, c) != 0)
		return fail(err, errlen, "malformed certificate: principals");
	if (rd_u64(r, &c->valid_after) != 0 || rd_u64(r, &c->valid_before) != 0)
		return fail(err, errlen, "malformed certificate: validity");
	if (rd_str(r, &s, &n) != 0 || parse_critical(s, n, c) != 0)
		return fail(err, errlen, "malformed certificate: critical options");
	if (rd_str(r, &s, &n) != 0 || parse_extensions(s, n, c) != 0)
		return fail(err, errlen, "malformed certificate: extensions");
	if (rd_str(r, &s, &n) != 0) /* reserved */
		return fail(err, errlen, "malformed certificate: reserved");
	if (rd_str(r, &s, &n) != 0 || n == 0 || n > SSH_KEY_BLOB_MAX)
		return fail(err, errlen, "malformed certificate: CA key");
	memcpy(c->ca_blob, s, n);
	c->ca_blob_len = n;
	ssh_fingerprint(s, n, c->ca_fp);
	return 0;
}

static int cert_parse(const uint8_t *blob, size_t len, struct ssh_cert *c, char *err, size_t errlen)
{
	struct rd r = { blob, len, 0 };
	const uint8_t *nonce, *sig;
	size_t nn, sn;
	char base[SSH_KEY_TYPE_MAX];

	if (len > CERT_BLOB_MAX)
		return fail(err, errlen, "certificate too large");
	if (blob_type(&r, c->type) != 0 || !is_cert_type(c->type))
		return fail(err, errlen, "not an OpenSSH certificate");
	size_t tl = strlen(c->type) - strlen(CERT_SUFFIX);
	memcpy(base, c->type, tl);
	base[tl] = '\0';
	if (rd_str(&r, &nonce, &nn) != 0 || nn < 16 || nn > 256)
		return fail(err, errlen, "malformed certificate: nonce");
	size_t kstart = r.off;
	if (key_fields(base, &r, err, errlen) != 0)
		return -1;
	if (cert_subject(c, blob + kstart, r.off - kstart) != 0)
		return fail(err, errlen, "certificate key too large");
	if (cert_fields(&r, c, err, errlen) != 0)
		return -1;
	size_t signed_len = r.off;
	if (rd_str(&r, &sig, &sn) != 0 || r.off != len)
		return fail(err, errlen, "malformed certificate: signature or trailing bytes");
	return cert_verify(c, blob, signed_len, sig, sn, err, errlen);
}

int ssh_cert_parse(const uint8_t *blob, size_t len, struct ssh_cert *out, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	memset(out, 0, sizeof(*out));
	if (!blob)
		return fail(err, errlen, "empty certificate");
	if (cert_parse(blob, len, out, err, errlen) != 0) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}

int ssh_cert_parse_line(const char *line, size_t len, struct ssh_cert *out, char *err,
			size_t errlen)
{
	const char *t, *b;
	size_t tl, bl, n = 0;

	if (err && errlen)
		err[0] = '\0';
	memset(out, 0, sizeof(*out));
	if (!line || len == 0)
		return fail(err, errlen, "empty certificate");
	if (len > SSH_CERT_LINE_MAX)
		return fail(err, errlen, "certificate line too long");
	/* sshd's SSH_AUTH_INFO_0: "publickey TYPE BASE64" */
	if (len > 10 && memcmp(line, "publickey ", 10) == 0) {
		line += 10;
		len -= 10;
	}
	if (split_line(line, len, &t, &tl, &b, &bl) != 0)
		return fail(err, errlen, "not an OpenSSH certificate");
	uint8_t *blob = malloc(CERT_BLOB_MAX);
	if (!blob)
		return fail(err, errlen, "out of memory");
	int rc = -1;
	if (b64_decode(b, bl, blob, CERT_BLOB_MAX, &n) != 0)
		fail(err, errlen, "not an OpenSSH certificate: bad base64");
	else if (ssh_cert_parse(blob, n, out, err, errlen) == 0) {
		if (strlen(out->type) == tl && memcmp(out->type, t, tl) == 0)
			rc = 0;
		else {
			memset(out, 0, sizeof(*out));
			fail(err, errlen, "the certificate type does not match the certificate");
		}
	}
	free(blob);
	return rc;
}
