/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Hub mode: an agent's slice of the directory, signed (snapshot.h). */
#include "host_snapshot.h"

#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "orgsettings.h"
#include "rbac.h"
#include "record.h"
#include "secrets.h"
#include "snapcache.h"
#include "sockio.h"
#include "tokens.h"

enum { REC_KEY_KIND = 'K' };

static int put_rec(struct snapshot_slice *p, const char *key, const uint8_t *v, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *b = malloc(cap);
	if (!b)
		return -1;
	sodium_bin2base64(b, cap, v, n, sodium_base64_VARIANT_ORIGINAL);
	int r = json_object_set_new(p->recs, key, json_string(b));
	free(b);
	return r;
}

/* Copies one record as it is stored.  0 (absent is fine), -1 error. */
static int copy_rec(struct snapshot_slice *p, const char *key)
{
	uint8_t *v;
	size_t n;
	int g = store_get(p->d->store, DB_STATE, key, &v, &n);
	if (g <= 0)
		return g;
	int r = put_rec(p, key, v, n);
	free(v);
	return r;
}

static int in_list(const char (*l)[SVCA_SCOPE_NAME_MAX + 1], size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(l[i], s))
			return 1;
	return 0;
}

/* The host's workspaces that exist and their teams: what access_compute
 * looks at. */
static int pick_scopes(struct snapshot_slice *p)
{
	for (size_t i = 0; i < p->h->nws; i++) {
		struct workspace w;
		char key[96];
		int g = workspace_get(p->d->store, p->h->workspaces[i], &w);
		if (g < 0)
			return -1;
		if (g == 0 || in_list(p->ws, p->nws, w.name))
			continue;
		snprintf(p->ws[p->nws++], sizeof(p->ws[0]), "%s", w.name);
		snprintf(key, sizeof(key), "ws/%s", w.name);
		if (copy_rec(p, key) < 0)
			return -1;
		if (in_list(p->teams, p->nteams, w.team))
			continue;
		snprintf(p->teams[p->nteams++], sizeof(p->teams[0]), "%s", w.team);
		snprintf(key, sizeof(key), "team/%s", w.team);
		if (copy_rec(p, key) < 0)
			return -1;
	}
	return 0;
}

/* A grant record, filtered by its key: grant/<uid>/<w|t>/<scope>. */
static int grant_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct snapshot_slice *p = arg;
	char uid[16], *end;
	(void)klen;
	const char *u = key + strlen("grant/");
	unsigned long n = strtoul(u, &end, 10);
	if (end == u || n == 0 || n > UINT32_MAX || end[0] != '/' || !end[1] || end[2] != '/')
		return 0;
	char kind = end[1];
	const char *scope = end + 3;
	if (!((kind == SCOPE_WORKSPACE && in_list(p->ws, p->nws, scope)) ||
	      (kind == SCOPE_TEAM && in_list(p->teams, p->nteams, scope))))
		return 0;
	snprintf(uid, sizeof(uid), "%lu", n);
	const char *had = json_string_value(json_object_get(p->gidx, uid));
	size_t hl = had ? strlen(had) : 0;
	char *items = malloc(hl + strlen(scope) + 4);
	if (!items || put_rec(p, key, val, vlen) < 0) {
		free(items);
		p->err = 1;
		return 1;
	}
	sprintf(items, "%s%c/%s\n", had ? had : "", kind, scope);
	json_object_set_new(p->gidx, uid, json_string(items));
	free(items);
	return 0;
}

/* key/<id> with the 32 bytes of its F_KEY field set to zero. */
static int copy_key(struct snapshot_slice *p, const char *key_id, uint32_t uid)
{
	char key[48];
	uint8_t *v;
	size_t n;
	struct rec r;
	snprintf(key, sizeof(key), "key/%s", key_id);
	int g = store_get(p->d->store, DB_STATE, key, &v, &n);
	if (g <= 0)
		return g;
	const struct svca_field *f = NULL;
	if (rec_parse(v, n, REC_KEY_KIND, &r) == 0 && rec_u64(&r, F_UID) == uid)
		f = svca_fields_find(r.f, r.n, F_KEY);
	int ret = 0;
	if (f && f->kind == SVCA_K_BYTES && f->len == KEY_HASH_LEN) {
		sodium_memzero((uint8_t *)(uintptr_t)f->val, KEY_HASH_LEN);
		ret = put_rec(p, key, v, n);
	} /* else: unreadable, or not this account's: not sent */
	sodium_memzero(v, n);
	free(v);
	return ret;
}

/* One account: uid/, acct/, its grant index (only what is sent), its key
 * index and keys. */
static int pick_account(struct snapshot_slice *p, const char *uid_text, const char *gidx)
{
	char key[64];
	uint32_t uid = (uint32_t)strtoul(uid_text, NULL, 10);
	struct account a;
	int g = account_get_by_uid(p->d->store, uid, &a);
	if (g <= 0)
		return g; /* a grant left behind by a deleted account: nothing to send */
	snprintf(key, sizeof(key), "uid/%s", uid_text);
	if (copy_rec(p, key) < 0)
		return -1;
	snprintf(key, sizeof(key), "acct/%s", a.name);
	if (copy_rec(p, key) < 0)
		return -1;
	snprintf(key, sizeof(key), "gidx/%s", uid_text);
	if (put_rec(p, key, (const uint8_t *)gidx, strlen(gidx)) < 0)
		return -1;
	snprintf(key, sizeof(key), "kidx/%s", uid_text);
	if (copy_rec(p, key) < 0)
		return -1;
	struct apikey *ks;
	size_t nk;
	if (key_of_account(p->d->store, uid, &ks, &nk) < 0)
		return -1;
	int r = 0;
	for (size_t i = 0; i < nk && r == 0; i++)
		r = copy_key(p, ks[i].key_id, uid);
	sodium_memzero(ks, nk * sizeof(*ks));
	free(ks);
	return r;
}

/* deny/<jti> whose token has not expired (value: exp in s, decimal). */
static int deny_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct snapshot_slice *p = arg;
	char buf[24];
	(void)klen;
	if (vlen == 0 || vlen >= sizeof(buf))
		return 0;
	memcpy(buf, val, vlen);
	buf[vlen] = '\0';
	if (strtoll(buf, NULL, 10) <= p->now_s)
		return 0;
	if (put_rec(p, key, val, vlen) < 0) {
		p->err = 1;
		return 1;
	}
	return 0;
}

static int by_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* recs as [{"k","v"}...] in key order (the same slice, the same text). */
static json_t *records_array(json_t *recs)
{
	size_t n = json_object_size(recs), i = 0;
	const char **keys = malloc((n ? n : 1) * sizeof(*keys));
	json_t *arr = json_array();
	const char *k;
	json_t *v;
	if (!keys || !arr) {
		free(keys);
		json_decref(arr);
		return NULL;
	}
	json_object_foreach(recs, k, v) keys[i++] = k;
	qsort(keys, n, sizeof(*keys), by_key);
	for (i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:O}", "k", keys[i], "v",
						     json_object_get(recs, keys[i])));
	free(keys);
	return arr;
}

/* The hub's organization settings, for the agent to use (orgsettings.h). */
static int put_settings(struct snapshot_slice *p)
{
	struct org_settings os;
	struct svca_buf b;
	memset(&os, 0, sizeof(os));
	org_settings_from_cfg(&p->d->cfg, &os);
	svca_buf_init(&b, 4096);
	int r = org_settings_encode(&os, &b) == 0 ? put_rec(p, ORG_SETTINGS_KEY, b.data, b.len)
						  : -1;
	svca_buf_free(&b);
	return r;
}

/* The slice's part of the payload, the same for every host of the same
 * workspace set: ,"records":[...],"jwks":{...}} (snapcache.h). */
static char *tail_text(struct snapshot_slice *p, size_t *tlen)
{
	char *jwks = tokens_jwks(p->d);
	json_t *jw = jwks ? json_loads(jwks, 0, NULL) : NULL;
	free(jwks);
	json_t *recs = records_array(p->recs), *o = json_object();
	if (!o || !jw || !recs) {
		json_decref(o);
		json_decref(jw);
		json_decref(recs);
		return NULL;
	}
	/* json_object_set_new takes the value even when it fails */
	int bad = json_object_set_new(o, "records", recs) < 0;
	bad |= json_object_set_new(o, "jwks", jw) < 0;
	if (bad) {
		json_decref(o);
		return NULL;
	}
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text || text[0] != '{')
		return free(text), NULL;
	text[0] = ','; /* {"records"...} -> ,"records"...}: follows the head */
	*tlen = strlen(text);
	return text;
}

/* JSON text of one value (a host's own fields go into the head escaped as
 * jansson would). */
static char *value_text(json_t *v)
{
	char *t = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(v);
	return t;
}

char *snapshot_head(const struct host *h, const char *kind, uint64_t base_seq, uint64_t seq,
		    int64_t now_ms, size_t *hlen)
{
	char *id = value_text(json_string(h->host_id)), *ws = value_text(snapshot_workspaces(h));
	char *head = NULL, base[48] = "";
	if (kind)
		snprintf(base, sizeof(base), ",\"base_seq\":%llu", (unsigned long long)base_seq);
	if (id && ws) {
		size_t cap = strlen(id) + strlen(ws) + 200;
		head = malloc(cap);
		if (head)
			snprintf(head, cap,
				 "{\"format\":%d%s%s%s,\"host_id\":%s,\"workspaces\":%s%s,"
				 "\"seq\":%llu,\"issued_at\":%lld",
				 SNAPSHOT_FORMAT, kind ? ",\"kind\":\"" : "", kind ? kind : "",
				 kind ? "\"" : "", id, ws, base, (unsigned long long)seq,
				 (long long)now_ms);
	}
	free(id);
	free(ws);
	if (head)
		*hlen = strlen(head);
	return head;
}

int snapshot_assemble(const char *head, size_t hlen, const char *tail, size_t tlen, char **payload,
		      size_t *len)
{
	*payload = malloc(hlen + tlen + 1);
	if (!*payload)
		return -1;
	memcpy(*payload, head, hlen);
	memcpy(*payload + hlen, tail, tlen);
	(*payload)[hlen + tlen] = '\0';
	*len = hlen + tlen;
	return 0;
}

int snapshot_slice_build(struct daemon *d, const struct host *h, int64_t now_ms,
			 struct snapshot_slice *p)
{
	memset(p, 0, sizeof(*p));
	p->d = d;
	p->h = h;
	p->now_s = now_ms / 1000;
	p->recs = json_object();
	p->gidx = json_object();
	int ok = p->recs && p->gidx && pick_scopes(p) == 0 &&
		 store_iterate(d->store, DB_STATE, "grant/", grant_cb, p) == 0 && !p->err;
	const char *uid;
	json_t *items;
	json_object_foreach(p->gidx, uid, items)
	{
		if (ok && pick_account(p, uid, json_string_value(items)) < 0)
			ok = 0;
	}
	/* the SSH CA's public keys and revocations (model/sshca.c) */
	ok = ok && copy_rec(p, "meta/gen") == 0 && copy_rec(p, "meta/gen_upgraded") == 0 &&
	     copy_rec(p, "org/ssh_ca") == 0 && copy_rec(p, "org/ssh_revoked") == 0 &&
	     store_iterate(d->store, DB_STATE, "deny/", deny_cb, p) == 0 && !p->err &&
	     put_settings(p) == 0;
	if (!ok)
		snapshot_slice_free(p);
	return ok ? 0 : -1;
}

void snapshot_slice_free(struct snapshot_slice *p)
{
	json_decref(p->recs);
	json_decref(p->gidx);
	p->recs = p->gidx = NULL;
}

int snapshot_slice_scope(const struct snapshot_slice *p, char kind, const char *scope)
{
	return kind == SCOPE_WORKSPACE ? in_list(p->ws, p->nws, scope)
	       : kind == SCOPE_TEAM    ? in_list(p->teams, p->nteams, scope)
				       : 0;
}

json_t *snapshot_workspaces(const struct host *h)
{
	json_t *ws = json_array();
	for (size_t i = 0; ws && i < h->nws; i++)
		json_array_append_new(ws, json_string(h->workspaces[i]));
	return ws;
}

int snapshot_tail_build(struct daemon *d, const struct host *h, int64_t now_ms, char **tail,
			size_t *tlen, uint64_t *seq, char *err, size_t errlen)
{
	struct snapshot_slice *p = calloc(1, sizeof(*p));
	*tail = NULL;
	snprintf(err, errlen, "the organization database is unreachable");
	if (!p)
		return -1;
	*seq = store_change_seq(d->store);
	int built = snapshot_slice_build(d, h, now_ms, p) == 0, ok = built;
	if (ok && !(*tail = tail_text(p, tlen))) {
		snprintf(err, errlen, "out of memory");
		ok = 0;
	}
	if (ok && *tlen > SNAPSHOT_MAX_BYTES) {
		snprintf(err, errlen, "the snapshot is larger than %u bytes", SNAPSHOT_MAX_BYTES);
		free(*tail);
		*tail = NULL;
		ok = 0;
	}
	if (built)
		snapshot_slice_free(p);
	free(p);
	return ok ? 0 : -1;
}

/* h's payload: its own head, then the tail. */
static int snapshot_for(const struct host *h, uint64_t seq, int64_t now_ms, const char *tail,
			size_t tlen, char **payload, size_t *len, char *err, size_t errlen)
{
	size_t hlen = 0;
	char *head = snapshot_head(h, NULL, 0, seq, now_ms, &hlen);
	int r = head ? snapshot_assemble(head, hlen, tail, tlen, payload, len) : -1;
	free(head);
	if (r == 0 && *len > SNAPSHOT_MAX_BYTES) {
		free(*payload);
		*payload = NULL;
		r = -1;
	}
	if (r < 0)
		snprintf(err, errlen, "%s",
			 *len > SNAPSHOT_MAX_BYTES ? "the snapshot is too large" : "out of memory");
	return r;
}

int snapshot_build(struct daemon *d, const struct host *h, int64_t now_ms, char **payload,
		   size_t *len, uint64_t *seq, char *err, size_t errlen)
{
	char *tail = NULL;
	size_t tlen = 0;
	*payload = NULL;
	*len = 0;
	if (snapshot_tail_build(d, h, now_ms, &tail, &tlen, seq, err, errlen) < 0)
		return -1;
	int r = snapshot_for(h, *seq, now_ms, tail, tlen, payload, len, err, errlen);
	free(tail);
	return r;
}

int snapshot_build_cached(struct snapcache *c, struct daemon *d, const struct host *h,
			  int64_t now_ms, char **payload, size_t *len, uint64_t *seq, char *err,
			  size_t errlen)
{
	/* only a shared store's seq says which store state a slice reflects */
	char *wsk = c && store_shared(d->store) ? snapcache_wskey(h->workspaces, h->nws) : NULL;
	if (!wsk)
		return snapshot_build(d, h, now_ms, payload, len, seq, err, errlen);
	*payload = NULL;
	*len = 0;
	*seq = store_change_seq(d->store); /* exact: the caller holds the write intent */
	int64_t mono = svca_now_ms();
	const struct snapcache_entry *e = snapcache_get(c, wsk, *seq, 0, mono);
	if (e) {
		free(wsk);
		return snapshot_for(h, *seq, now_ms, e->tail, e->tlen, payload, len, err, errlen);
	}
	struct snapcache_entry ne = { .wsk = wsk };
	if (snapshot_tail_build(d, h, now_ms, &ne.tail, &ne.tlen, &ne.seq, err, errlen) < 0) {
		free(wsk);
		return -1;
	}
	*seq = ne.seq;
	int r = snapshot_for(h, ne.seq, now_ms, ne.tail, ne.tlen, payload, len, err, errlen);
	snapcache_put(c, &ne, mono); /* takes wsk and tail either way */
	return r;
}

int snapshot_from_cache(struct snapcache *c, const struct host *h, uint64_t seq, int64_t now_ms,
			char **payload, size_t *len)
{
	char err[64], *wsk = c ? snapcache_wskey(h->workspaces, h->nws) : NULL;
	const struct snapcache_entry *e = wsk ? snapcache_get(c, wsk, seq, 0, svca_now_ms()) : NULL;
	free(wsk);
	*payload = NULL;
	*len = 0;
	return e && snapshot_for(h, seq, now_ms, e->tail, e->tlen, payload, len, err,
				 sizeof(err)) == 0
		       ? 0
		       : 1;
}

char *snapshot_envelope(const struct secrets *s, const char *payload, size_t len)
{
	uint8_t sig[crypto_sign_BYTES];
	char sig64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES,
					     sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	if (!s->snap_sk ||
	    crypto_sign_detached(sig, NULL, (const uint8_t *)payload, len, s->snap_sk) != 0)
		return NULL;
	sodium_bin2base64(sig64, sizeof(sig64), sig, sizeof(sig),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *b = malloc(cap);
	if (!b)
		return NULL;
	sodium_bin2base64(b, cap, (const uint8_t *)payload, len, sodium_base64_VARIANT_ORIGINAL);
	json_t *o = json_pack("{s:s, s:s, s:s}", "payload", b, "sig", sig64, "kid", s->snap_kid);
	free(b);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

/* The same choice as snapshot_build's (pick_scopes + grant_cb), for one
 * account: its grants under grant/<uid>/ only. */
int snapshot_has_account(struct daemon *d, const struct host *h, uint32_t uid)
{
	struct snapshot_slice *p = calloc(1, sizeof(*p));
	char prefix[32];
	if (!p)
		return -1;
	p->d = d;
	p->h = h;
	p->recs = json_object();
	p->gidx = json_object();
	snprintf(prefix, sizeof(prefix), "grant/%" PRIu32 "/", uid);
	int ok = p->recs && p->gidx && pick_scopes(p) == 0 &&
		 store_iterate(d->store, DB_STATE, prefix, grant_cb, p) == 0 && !p->err;
	int r = !ok ? -1 : json_object_size(p->gidx) > 0;
	json_decref(p->recs);
	json_decref(p->gidx);
	free(p);
	return r;
}
