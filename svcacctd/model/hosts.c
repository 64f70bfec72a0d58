/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The hosts of a fleet on a hub: host records, enrollment tokens and the
 * host-credential check (hosts.h). */
#include "hosts.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "secrets.h"

enum { REC_HOST = 'H', REC_HCRED = 'C', REC_ENROLL = 'N' };

const char *host_status_name(enum host_status s)
{
	return s == HOST_DISABLED ? "disabled" : "active";
}

const char *enroll_reason(enum enroll_result r)
{
	switch (r) {
	case ENROLL_OK: return "ok";
	case ENROLL_UNKNOWN: return "token_unknown";
	case ENROLL_USED: return "token_used";
	case ENROLL_EXPIRED: return "token_expired";
	default: return "internal_error";
	}
}

/* ---- encodings -------------------------------------------------------------- */

static int copy_hash(const struct rec *r, uint8_t out[HOST_HASH_LEN])
{
	const struct svca_field *f = svca_fields_find(r->f, r->n, F_KEY);
	if (!f || f->kind != SVCA_K_BYTES || f->len != HOST_HASH_LEN)
		return -1;
	memcpy(out, f->val, HOST_HASH_LEN);
	return 0;
}

/* The repeated F_WORKSPACES of a record. */
static int copy_workspaces(const struct rec *r, char ws[][SVCA_SCOPE_NAME_MAX + 1], size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (r->f[i].tag != F_WORKSPACES)
			continue;
		if (*n == HOST_MAX_WORKSPACES ||
		    svca_field_str(&r->f[i], ws[*n], SVCA_SCOPE_NAME_MAX + 1) < 0 ||
		    !svca_scope_name_valid(ws[*n]))
			return -1;
		(*n)++;
	}
	return 0;
}

int host_encode(const struct host *h, struct svca_buf *b)
{
	rec_begin(b, REC_HOST, HOST_RECORD_VERSION);
	svca_put_str(b, F_HOST_ID, h->host_id);
	for (size_t i = 0; i < h->nws; i++)
		svca_put_str(b, F_WORKSPACES, h->workspaces[i]);
	svca_put_str(b, F_STATUS, host_status_name(h->status));
	svca_put_u64(b, F_CREATED_AT, h->created_at);
	svca_put_str(b, F_CREATED_BY, h->created_by);
	svca_put_u64(b, F_LAST_SEEN, h->last_seen);
	svca_put_u64(b, F_SNAPSHOT_SEQ, h->snapshot_seq);
	if (h->has_lag)
		svca_put_u64(b, F_LAG_S, h->lag_s);
	svca_put_str(b, F_KEY_ID, h->cred_id);
	svca_put_bytes(b, F_KEY, h->cred_hash, HOST_HASH_LEN);
	return b->failed ? -1 : 0;
}

int host_decode(const uint8_t *data, size_t len, struct host *h)
{
	struct rec r;
	char st[16];
	memset(h, 0, sizeof(*h));
	if (rec_parse(data, len, REC_HOST, &r) < 0 || r.version > HOST_RECORD_VERSION)
		return -1;
	rec_str(&r, F_HOST_ID, h->host_id, sizeof(h->host_id));
	rec_str(&r, F_STATUS, st, sizeof(st));
	h->status = strcmp(st, "disabled") == 0 ? HOST_DISABLED : HOST_ACTIVE;
	h->created_at = rec_u64(&r, F_CREATED_AT);
	rec_str(&r, F_CREATED_BY, h->created_by, sizeof(h->created_by));
	h->last_seen = rec_u64(&r, F_LAST_SEEN);
	h->snapshot_seq = rec_u64(&r, F_SNAPSHOT_SEQ);
	h->has_lag = svca_fields_find(r.f, r.n, F_LAG_S) != NULL;
	h->lag_s = rec_u64(&r, F_LAG_S);
	rec_str(&r, F_KEY_ID, h->cred_id, sizeof(h->cred_id));
	if (!config_host_id_ok(h->host_id) || (strcmp(st, "active") && strcmp(st, "disabled")) ||
	    strlen(h->cred_id) != SVCA_KEYID_LEN || copy_hash(&r, h->cred_hash) < 0 ||
	    copy_workspaces(&r, h->workspaces, &h->nws) < 0)
		return -1;
	return 0;
}

int enroll_encode(const struct enroll_token *t, struct svca_buf *b)
{
	rec_begin(b, REC_ENROLL, HOST_RECORD_VERSION);
	svca_put_str(b, F_KEY_ID, t->id);
	svca_put_bytes(b, F_KEY, t->hash, HOST_HASH_LEN);
	for (size_t i = 0; i < t->nws; i++)
		svca_put_str(b, F_WORKSPACES, t->workspaces[i]);
	svca_put_u64(b, F_CREATED_AT, t->created_at);
	svca_put_str(b, F_CREATED_BY, t->created_by);
	svca_put_u64(b, F_EXPIRES_AT, t->expires_at);
	svca_put_u64(b, F_ALLOWED, t->used ? 1 : 0);
	svca_put_u64(b, F_UPDATED_AT, t->used_at);
	svca_put_str(b, F_HOST_ID, t->host_id);
	return b->failed ? -1 : 0;
}

int enroll_decode(const uint8_t *data, size_t len, struct enroll_token *t)
{
	struct rec r;
	memset(t, 0, sizeof(*t));
	if (rec_parse(data, len, REC_ENROLL, &r) < 0 || r.version > HOST_RECORD_VERSION)
		return -1;
	rec_str(&r, F_KEY_ID, t->id, sizeof(t->id));
	t->created_at = rec_u64(&r, F_CREATED_AT);
	rec_str(&r, F_CREATED_BY, t->created_by, sizeof(t->created_by));
	t->expires_at = rec_u64(&r, F_EXPIRES_AT);
	t->used = rec_u64(&r, F_ALLOWED) != 0;
	t->used_at = rec_u64(&r, F_UPDATED_AT);
	rec_str(&r, F_HOST_ID, t->host_id, sizeof(t->host_id));
	if (strlen(t->id) != SVCA_KEYID_LEN || copy_hash(&r, t->hash) < 0 ||
	    copy_workspaces(&r, t->workspaces, &t->nws) < 0 || t->nws == 0)
		return -1;
	return 0;
}

/* ---- the store ------------------------------------------------------------------ */

static int put_encoded(struct store *s, const char *key, struct svca_buf *b, int ok)
{
	int r = ok == 0 && !b->failed ? store_put(s, DB_STATE, key, b->data, b->len) : -1;
	svca_buf_free(b);
	return r;
}

/* hsync/<host_id>: "<last_seen ms> <snapshot_seq>", written when the
 * host fetches a snapshot.  The shared store keeps it out of the change
 * log (store_pg.c), so an agent's fetch wakes no long poll: folded into
 * the host record when it is read. */
static void sync_overlay(struct store *s, struct host *h)
{
	char key[HOST_ID_MAX + 8], text[64];
	uint8_t *raw;
	size_t n;
	snprintf(key, sizeof(key), "hsync/%s", h->host_id);
	if (store_get(s, DB_STATE, key, &raw, &n) != 1)
		return;
	if (n < sizeof(text)) {
		char *end, *end2 = NULL;
		memcpy(text, raw, n);
		text[n] = '\0';
		unsigned long long seen = strtoull(text, &end, 10);
		unsigned long long seq =
			end != text && *end == ' ' ? strtoull(end + 1, &end2, 10) : 0;
		if (end != text && *end == ' ' && end2 != end + 1 && !*end2 &&
		    seen > h->last_seen) {
			h->last_seen = seen;
			h->snapshot_seq = seq;
		}
	}
	free(raw);
}

int host_sync_put(struct store *s, const char *host_id, uint64_t last_seen, uint64_t seq)
{
	char key[HOST_ID_MAX + 8], text[64];
	snprintf(key, sizeof(key), "hsync/%s", host_id);
	int n = snprintf(text, sizeof(text), "%llu %llu", (unsigned long long)last_seen,
			 (unsigned long long)seq);
	return store_put(s, DB_STATE, key, (const uint8_t *)text, (size_t)n);
}

int host_get(struct store *s, const char *host_id, struct host *h)
{
	char key[HOST_ID_MAX + 8];
	uint8_t *raw;
	size_t n;
	if (!config_host_id_ok(host_id))
		return 0;
	snprintf(key, sizeof(key), "host/%s", host_id);
	int g = store_get(s, DB_STATE, key, &raw, &n);
	if (g <= 0)
		return g;
	g = host_decode(raw, n, h) == 0 ? 1 : -1;
	free(raw);
	if (g == 1)
		sync_overlay(s, h);
	return g;
}

int host_put(struct store *s, const struct host *h)
{
	char key[HOST_ID_MAX + 8], ckey[SVCA_KEYID_LEN + 8];
	struct svca_buf b, c;
	snprintf(key, sizeof(key), "host/%s", h->host_id);
	snprintf(ckey, sizeof(ckey), "hcred/%s", h->cred_id);
	svca_buf_init(&b, 8192);
	svca_buf_init(&c, 512);
	rec_begin(&c, REC_HCRED, HOST_RECORD_VERSION);
	svca_put_str(&c, F_HOST_ID, h->host_id);
	if (put_encoded(s, key, &b, host_encode(h, &b)) < 0 || put_encoded(s, ckey, &c, 0) < 0)
		return -1;
	return 0;
}

int host_del(struct store *s, const struct host *h)
{
	char key[HOST_ID_MAX + 8], ckey[SVCA_KEYID_LEN + 8];
	snprintf(key, sizeof(key), "host/%s", h->host_id);
	snprintf(ckey, sizeof(ckey), "hcred/%s", h->cred_id);
	if (store_del(s, DB_STATE, ckey) < 0 || store_del(s, DB_STATE, key) < 0)
		return -1;
	snprintf(key, sizeof(key), "hsync/%s", h->host_id);
	return store_del(s, DB_STATE, key) < 0 ? -1 : 0;
}

struct host_vec {
	struct host *v;
	size_t n, cap;
	int err;
};

static int host_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct host_vec *x = arg;
	(void)key;
	(void)klen;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		struct host *nv = realloc(x->v, cap * sizeof(*nv));
		if (!nv) {
			x->err = 1;
			return 1;
		}
		x->v = nv;
		x->cap = cap;
	}
	if (host_decode(val, vlen, &x->v[x->n]) == 0)
		x->n++; /* an unreadable record is skipped, as the other lists do */
	return 0;
}

static int by_host_id(const void *a, const void *b)
{
	return strcmp(((const struct host *)a)->host_id, ((const struct host *)b)->host_id);
}

int host_all(struct store *s, struct host **out, size_t *n)
{
	struct host_vec x = { 0 };
	int r = store_iterate(s, DB_STATE, "host/", host_cb, &x);
	if (r != 0 || x.err) {
		free(x.v);
		return -1;
	}
	for (size_t i = 0; i < x.n; i++)
		sync_overlay(s, &x.v[i]);
	if (x.n > 1)
		qsort(x.v, x.n, sizeof(*x.v), by_host_id);
	*out = x.v;
	*n = x.n;
	return 0;
}

int enroll_get(struct store *s, const char *id, struct enroll_token *t)
{
	char key[SVCA_KEYID_LEN + 8];
	uint8_t *raw;
	size_t n;
	snprintf(key, sizeof(key), "enroll/%s", id);
	int g = store_get(s, DB_STATE, key, &raw, &n);
	if (g <= 0)
		return g;
	g = enroll_decode(raw, n, t) == 0 ? 1 : -1;
	free(raw);
	return g;
}

int enroll_put(struct store *s, const struct enroll_token *t)
{
	char key[SVCA_KEYID_LEN + 8];
	struct svca_buf b;
	snprintf(key, sizeof(key), "enroll/%s", t->id);
	svca_buf_init(&b, 8192);
	return put_encoded(s, key, &b, enroll_encode(t, &b));
}

/* ---- secrets ------------------------------------------------------------------ */

int host_parse_workspaces(const char *list, char ws[][SVCA_SCOPE_NAME_MAX + 1], size_t *n,
			  char *why, size_t whylen)
{
	*n = 0;
	const char *p = list;
	while (*p) {
		size_t len = strcspn(p, ",");
		char name[SVCA_SCOPE_NAME_MAX + 2];
		if (len == 0 || len > SVCA_SCOPE_NAME_MAX) {
			snprintf(why, whylen, "invalid workspace list: %s",
				 len ? "a name is too long" : "an empty name");
			return -1;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		if (!svca_scope_name_valid(name)) {
			snprintf(why, whylen, "invalid workspace name '%.64s'", name);
			return -1;
		}
		for (size_t i = 0; i < *n; i++)
			if (!strcmp(ws[i], name)) {
				snprintf(why, whylen, "workspace '%s' is named twice", name);
				return -1;
			}
		if (*n == HOST_MAX_WORKSPACES) {
			snprintf(why, whylen, "too many workspaces (at most %d)",
				 HOST_MAX_WORKSPACES);
			return -1;
		}
		memcpy(ws[(*n)++], name, len + 1);
		p += len;
		if (*p == ',' && *++p == '\0') {
			snprintf(why, whylen, "invalid workspace list: an empty name");
			return -1;
		}
	}
	if (*n == 0) {
		snprintf(why, whylen, "at least one workspace is needed");
		return -1;
	}
	return 0;
}

static void rng(void *ctx, void *buf, size_t n)
{
	(void)ctx;
	randombytes_buf(buf, n);
}

static void secret_hash(const uint8_t *pepper, const char *secret, uint8_t out[HOST_HASH_LEN])
{
	crypto_generichash(out, HOST_HASH_LEN, (const uint8_t *)secret, strlen(secret), pepper,
			   PEPPER_LEN);
}

void host_secret_new(const uint8_t *pepper, const char *prefix, char out[SVCA_KEY_LEN + 1],
		     char id[SVCA_KEYID_LEN + 1], uint8_t hash[HOST_HASH_LEN])
{
	uint8_t secret[SVCA_SECRET_BYTES];
	char text[SVCA_SECRET_LEN + 1];
	randombytes_buf(secret, sizeof(secret));
	/* Cannot fail with a 5-character prefix. */
	(void)svca_key_format_as(prefix, rng, NULL, secret, out, id);
	memcpy(text, out + SVCA_KEY_PREFIX_LEN + SVCA_KEYID_LEN + 1, SVCA_SECRET_LEN);
	text[SVCA_SECRET_LEN] = '\0';
	secret_hash(pepper, text, hash);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(text, sizeof(text));
}

/* The id and the keyed hash of a presented secret; -1 when malformed. */
static int presented(const uint8_t *pepper, const char *prefix, const char *s, size_t len,
		     char id[SVCA_KEYID_LEN + 1], uint8_t hash[HOST_HASH_LEN])
{
	char secret[SVCA_SECRET_LEN + 1];
	if (svca_key_parse_as(prefix, s, len, id, secret) != SVCA_KEY_OK)
		return -1;
	secret_hash(pepper, secret, hash);
	sodium_memzero(secret, sizeof(secret));
	return 0;
}

enum enroll_result enroll_check(struct store *s, const uint8_t *pepper, const char *token,
				size_t len, uint64_t now, struct enroll_token *t)
{
	char id[SVCA_KEYID_LEN + 1];
	uint8_t h[HOST_HASH_LEN];
	if (presented(pepper, SVCA_ENROLL_PREFIX, token, len, id, h) < 0)
		return ENROLL_UNKNOWN;
	int g = enroll_get(s, id, t);
	int same = g == 1 && sodium_memcmp(h, t->hash, HOST_HASH_LEN) == 0;
	sodium_memzero(h, sizeof(h));
	if (g < 0)
		return ENROLL_ERROR;
	if (!same)
		return ENROLL_UNKNOWN;
	if (t->used)
		return ENROLL_USED;
	if (now >= t->expires_at)
		return ENROLL_EXPIRED;
	return ENROLL_OK;
}

enum hostcred_result host_cred_check(struct store *s, const uint8_t *pepper, const char *cred,
				     size_t len, struct host *h)
{
	char id[SVCA_KEYID_LEN + 1], ckey[SVCA_KEYID_LEN + 8], host_id[HOST_ID_MAX + 1];
	uint8_t hash[HOST_HASH_LEN], *raw;
	size_t n;
	struct rec r;
	if (presented(pepper, SVCA_HOSTCRED_PREFIX, cred, len, id, hash) < 0)
		return HOSTCRED_MALFORMED;
	snprintf(ckey, sizeof(ckey), "hcred/%s", id);
	int g = store_get(s, DB_STATE, ckey, &raw, &n);
	if (g == 1) {
		g = rec_parse(raw, n, REC_HCRED, &r) == 0 ? 1 : -1;
		if (g == 1)
			rec_str(&r, F_HOST_ID, host_id, sizeof(host_id));
		free(raw);
	}
	if (g == 1)
		g = host_get(s, host_id, h);
	/* The index may outlive a replaced credential: the host's own
	 * record decides. */
	int same = g == 1 && strcmp(h->cred_id, id) == 0 &&
		   sodium_memcmp(hash, h->cred_hash, HOST_HASH_LEN) == 0;
	sodium_memzero(hash, sizeof(hash));
	if (g < 0)
		return HOSTCRED_ERROR;
	if (!same)
		return HOSTCRED_UNKNOWN;
	return h->status == HOST_ACTIVE ? HOSTCRED_OK : HOSTCRED_DISABLED;
}
