/* SPDX-License-Identifier: GPL-3.0-or-later */
/* OpenSSH key revocation lists (PROTOCOL.krl).  See sshkrl.h. */
#include "sshkrl.h"

#include <stdlib.h>
#include <string.h>

#define KRL_MAGIC "SSHKRL\n\0"
#define KRL_MAGIC_LEN 8u
#define KRL_FORMAT_VERSION 1u
#define KRL_SECTION_CERTIFICATES 1u
#define KRL_SECTION_CERT_SERIAL_LIST 0x20u
#define KRL_SECTION_CERT_KEY_ID 0x23u
#define KRL_MAX_CAS 64u
#define KRL_MAX_ITEMS 1000000u /* serials and key ids, each */
#define KRL_KEY_ID_MAX 1024u
#define KRL_CA_MAX 4096u
#define KRL_SIZE_MAX (64u << 20)

/* ---- writing: a growing buffer with a hard cap -------------------------- */

struct kw {
	uint8_t *p;
	size_t len, cap;
	int bad;
};

static void kw_bytes(struct kw *w, const void *b, size_t n)
{
	if (w->bad)
		return;
	if (n > KRL_SIZE_MAX - w->len) {
		w->bad = 1;
		return;
	}
	if (w->len + n > w->cap) {
		size_t nc = w->cap ? w->cap : 256;
		while (nc < w->len + n)
			nc *= 2;
		uint8_t *np = realloc(w->p, nc);
		if (!np) {
			w->bad = 1;
			return;
		}
		w->p = np;
		w->cap = nc;
	}
	if (n)
		memcpy(w->p + w->len, b, n);
	w->len += n;
}

static void kw_u8(struct kw *w, uint8_t v)
{
	kw_bytes(w, &v, 1);
}

static void kw_u32(struct kw *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	kw_bytes(w, b, 4);
}

static void kw_u64(struct kw *w, uint64_t v)
{
	kw_u32(w, (uint32_t)(v >> 32));
	kw_u32(w, (uint32_t)v);
}

static void kw_str(struct kw *w, const void *s, size_t n)
{
	if (n > UINT32_MAX) {
		w->bad = 1;
		return;
	}
	kw_u32(w, (uint32_t)n);
	kw_bytes(w, s, n);
}

/* Patches the length of a string whose 4-byte length was written at `at`. */
static void kw_close(struct kw *w, size_t at)
{
	if (w->bad)
		return;
	size_t n = w->len - at - 4;
	if (n > UINT32_MAX) {
		w->bad = 1;
		return;
	}
	w->p[at] = (uint8_t)(n >> 24);
	w->p[at + 1] = (uint8_t)(n >> 16);
	w->p[at + 2] = (uint8_t)(n >> 8);
	w->p[at + 3] = (uint8_t)n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One certificates section: the CA, the sorted unique serials, the
 * sorted unique key ids (ssh-keygen keeps them in trees, order is free). */
static void krl_ca_section(struct kw *w, const struct ssh_krl_ca *ca, const uint64_t *ser,
			   size_t ns, const char *const *ids, size_t ni)
{
	kw_u8(w, KRL_SECTION_CERTIFICATES);
	size_t sec = w->len;
	kw_u32(w, 0);
	kw_str(w, ca->ca_blob, ca->ca_len);
	kw_str(w, "", 0); /* reserved */
	if (ns) {
		kw_u8(w, KRL_SECTION_CERT_SERIAL_LIST);
		size_t at = w->len;
		kw_u32(w, 0);
		for (size_t i = 0; i < ns; i++)
			if (i == 0 || ser[i] != ser[i - 1])
				kw_u64(w, ser[i]);
		kw_close(w, at);
	}
	if (ni) {
		kw_u8(w, KRL_SECTION_CERT_KEY_ID);
		size_t at = w->len;
		kw_u32(w, 0);
		for (size_t i = 0; i < ni; i++)
			if (i == 0 || strcmp(ids[i], ids[i - 1]) != 0)
				kw_str(w, ids[i], strlen(ids[i]));
		kw_close(w, at);
	}
	kw_close(w, sec);
}

static int krl_in_ok(const struct ssh_krl_in *in)
{
	if (!in || in->n_cas > KRL_MAX_CAS || (in->n_cas && !in->cas) ||
	    in->n_serials > KRL_MAX_ITEMS || (in->n_serials && !in->serials) ||
	    in->n_key_ids > KRL_MAX_ITEMS || (in->n_key_ids && !in->key_ids))
		return 0;
	for (size_t i = 0; i < in->n_cas; i++)
		if (!in->cas[i].ca_blob || in->cas[i].ca_len == 0 || in->cas[i].ca_len > KRL_CA_MAX)
			return 0;
	/* serial 0 cannot be revoked by serial (ssh-keygen refuses it) */
	for (size_t i = 0; i < in->n_serials; i++)
		if (in->serials[i] == 0)
			return 0;
	for (size_t i = 0; i < in->n_key_ids; i++)
		if (!in->key_ids[i] || strlen(in->key_ids[i]) > KRL_KEY_ID_MAX)
			return 0;
	return 1;
}

int ssh_krl_build(const struct ssh_krl_in *in, uint8_t **out, size_t *out_len)
{
	struct kw w = { NULL, 0, 0, 0 };
	uint64_t *ser = NULL;
	const char **ids = NULL;

	if (!out || !out_len)
		return -1;
	*out = NULL;
	*out_len = 0;
	if (!krl_in_ok(in))
		return -1;
	ser = malloc((in->n_serials ? in->n_serials : 1) * sizeof(*ser));
	ids = malloc((in->n_key_ids ? in->n_key_ids : 1) * sizeof(*ids));
	if (!ser || !ids)
		goto fail;
	if (in->n_serials)
		memcpy(ser, in->serials, in->n_serials * sizeof(*ser));
	if (in->n_key_ids)
		memcpy(ids, in->key_ids, in->n_key_ids * sizeof(*ids));
	qsort(ser, in->n_serials, sizeof(*ser), cmp_u64);
	qsort(ids, in->n_key_ids, sizeof(*ids), cmp_str);

	kw_bytes(&w, KRL_MAGIC, KRL_MAGIC_LEN);
	kw_u32(&w, KRL_FORMAT_VERSION);
	kw_u64(&w, in->version);
	kw_u64(&w, in->generated_date);
	kw_u64(&w, 0);     /* flags */
	kw_str(&w, "", 0); /* reserved */
	kw_str(&w, "", 0); /* comment */
	if (in->n_serials || in->n_key_ids)
		for (size_t i = 0; i < in->n_cas; i++)
			krl_ca_section(&w, &in->cas[i], ser, in->n_serials, ids, in->n_key_ids);
	if (w.bad)
		goto fail;
	free(ser);
	free(ids);
	*out = w.p;
	*out_len = w.len;
	return 0;
fail:
	free(ser);
	free(ids);
	free(w.p);
	return -1;
}

/* ---- reading ---------------------------------------------------------- */

struct kr {
	const uint8_t *p;
	size_t len, off;
};

static int kr_u8(struct kr *r, uint8_t *v)
{
	if (r->off >= r->len)
		return -1;
	*v = r->p[r->off++];
	return 0;
}

static int kr_u32(struct kr *r, uint32_t *v)
{
	if (r->len - r->off < 4)
		return -1;
	const uint8_t *b = r->p + r->off;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	r->off += 4;
	return 0;
}

static int kr_u64(struct kr *r, uint64_t *v)
{
	uint32_t hi, lo;
	if (kr_u32(r, &hi) != 0 || kr_u32(r, &lo) != 0)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

static int kr_str(struct kr *r, const uint8_t **s, size_t *n)
{
	uint32_t l;
	if (kr_u32(r, &l) != 0 || l > r->len - r->off)
		return -1;
	*s = r->p + r->off;
	*n = l;
	r->off += l;
	return 0;
}

/* One certificate subsection: 1 revoked, 0 not, -1 malformed. */
static int krl_subsection(uint8_t type, const uint8_t *d, size_t n, uint64_t serial,
			  const char *key_id)
{
	struct kr r = { d, n, 0 };
	int hit = 0;
	if (type == KRL_SECTION_CERT_SERIAL_LIST) {
		if (n % 8)
			return -1;
		while (r.off < r.len) {
			uint64_t s;
			if (kr_u64(&r, &s) != 0)
				return -1;
			hit |= s == serial;
		}
		return hit;
	}
	if (type == KRL_SECTION_CERT_KEY_ID) {
		while (r.off < r.len) {
			const uint8_t *s;
			size_t sn;
			if (kr_str(&r, &s, &sn) != 0)
				return -1;
			hit |= key_id && sn == strlen(key_id) && memcmp(s, key_id, sn) == 0;
		}
		return hit;
	}
	return -1; /* ranges, bitmaps, extensions: not written by ssh_krl_build */
}

static int krl_cert_section(const uint8_t *d, size_t n, const uint8_t *ca, size_t ca_len,
			    uint64_t serial, const char *key_id)
{
	struct kr r = { d, n, 0 };
	const uint8_t *k, *res;
	size_t kn, rn;
	int hit = 0;
	if (kr_str(&r, &k, &kn) != 0 || kr_str(&r, &res, &rn) != 0)
		return -1;
	int mine = kn == ca_len && memcmp(k, ca, kn) == 0;
	while (r.off < r.len) {
		uint8_t t;
		const uint8_t *s;
		size_t sn;
		if (kr_u8(&r, &t) != 0 || kr_str(&r, &s, &sn) != 0)
			return -1;
		int h = krl_subsection(t, s, sn, serial, key_id);
		if (h < 0)
			return -1;
		hit |= mine && h;
	}
	return hit;
}

int ssh_krl_revokes(const uint8_t *krl, size_t len, const uint8_t *ca_blob, size_t ca_len,
		    uint64_t serial, const char *key_id)
{
	struct kr r = { krl, len, 0 };
	uint32_t ver;
	uint64_t v, date, flags;
	const uint8_t *s;
	size_t sn;
	int hit = 0;

	if (!krl || !ca_blob || len > KRL_SIZE_MAX || len < KRL_MAGIC_LEN ||
	    memcmp(krl, KRL_MAGIC, KRL_MAGIC_LEN) != 0)
		return -1;
	r.off = KRL_MAGIC_LEN;
	if (kr_u32(&r, &ver) != 0 || ver != KRL_FORMAT_VERSION || kr_u64(&r, &v) != 0 ||
	    kr_u64(&r, &date) != 0 || kr_u64(&r, &flags) != 0 || kr_str(&r, &s, &sn) != 0 ||
	    kr_str(&r, &s, &sn) != 0)
		return -1;
	while (r.off < r.len) {
		uint8_t t;
		if (kr_u8(&r, &t) != 0 || kr_str(&r, &s, &sn) != 0 || t != KRL_SECTION_CERTIFICATES)
			return -1;
		int h = krl_cert_section(s, sn, ca_blob, ca_len, serial, key_id);
		if (h < 0)
			return -1;
		hit |= h;
	}
	return hit;
}
