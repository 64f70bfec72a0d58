/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Agent mode: applying a verified snapshot (agentapply.h). */
#include "agentapply.h"
#include "agentsync.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "record.h"
#include "sockio.h"

#define MAX_RECORD (1024 * 1024)
#define MAX_HOSTWS 32

static const char *const org_prefix[] = { "ws/",   "team/", "grant/", "gidx/", "uid/",
					  "acct/", "kidx/", "key/",   "deny/", "org/" };
static const char *const org_single[] = { "meta/gen", "meta/gen_upgraded" };

static int org_key(const char *k)
{
	for (size_t i = 0; i < sizeof(org_prefix) / sizeof(org_prefix[0]); i++)
		if (!strncmp(k, org_prefix[i], strlen(org_prefix[i])))
			return 1;
	for (size_t i = 0; i < sizeof(org_single) / sizeof(org_single[0]); i++)
		if (!strcmp(k, org_single[i]))
			return 1;
	return 0;
}

struct keys {
	char **v;
	size_t n, cap;
};

static int collect(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)val;
	(void)vlen;
	struct keys *k = arg;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 256;
		char **nv = realloc(k->v, cap * sizeof(*nv));
		if (!nv)
			return -1;
		k->v = nv;
		k->cap = cap;
	}
	if (!(k->v[k->n] = strndup(key, klen)))
		return -1;
	k->n++;
	return 0;
}

static void keys_free(struct keys *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
}

/* Deletes every organization record the store holds. */
static int drop_org(struct store *s)
{
	struct keys k = { NULL, 0, 0 };
	int r = 0;
	for (size_t i = 0; r == 0 && i < sizeof(org_prefix) / sizeof(org_prefix[0]); i++)
		r = store_iterate(s, DB_STATE, org_prefix[i], collect, &k);
	for (size_t i = 0; r == 0 && i < sizeof(org_single) / sizeof(org_single[0]); i++)
		r = collect(&k, org_single[i], strlen(org_single[i]), NULL, 0);
	for (size_t i = 0; r == 0 && i < k.n; i++)
		if (store_del(s, DB_STATE, k.v[i]) < 0)
			r = -1;
	keys_free(&k);
	return r == 0 ? 0 : -1;
}

static int put_record(struct store *s, const json_t *rec)
{
	const char *k = json_string_value(json_object_get(rec, "k"));
	const char *v = json_string_value(json_object_get(rec, "v"));
	size_t vlen = v ? strlen(v) : 0, bin = 0;
	if (!k || !v || !org_key(k) || vlen / 4 * 3 > MAX_RECORD)
		return -1;
	uint8_t *buf = malloc(vlen / 4 * 3 + 3);
	int r = buf && sodium_base642bin(buf, vlen / 4 * 3 + 3, v, vlen, NULL, &bin, NULL,
					 sodium_base64_VARIANT_ORIGINAL) == 0
			? store_put(s, DB_STATE, k, buf, bin)
			: -1;
	free(buf);
	return r;
}

static int put_text(struct store *s, const char *key, const char *text)
{
	return store_put(s, DB_STATE, key, (const uint8_t *)text, strlen(text));
}

static int put_hostws(struct store *s, const json_t *ws)
{
	char buf[MAX_HOSTWS * 80] = "";
	size_t i, off = 0;
	const json_t *w;
	if (json_array_size(ws) > MAX_HOSTWS)
		return -1;
	json_array_foreach(ws, i, w)
	{
		const char *n = json_string_value(w);
		if (!n || strlen(n) > 64 || strchr(n, '\n'))
			return -1;
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s\n", n);
	}
	return put_text(s, "agent/hostws", buf);
}

int agent_apply(struct store *s, const char *payload, size_t len, int64_t ok_wall, char *err,
		size_t errlen)
{
	json_error_t jerr;
	json_t *doc = json_loadb(payload, len, 0, &jerr);
	const json_t *recs = json_object_get(doc, "records"), *rec;
	const json_t *seq = json_object_get(doc, "seq");
	size_t i;
	int r = doc && json_is_integer(seq) && json_is_array(recs) ? 0 : -1;
	if (r == 0 && drop_org(s) < 0) {
		snprintf(err, errlen, "storage error while replacing the records");
		json_decref(doc);
		return -1;
	}
	json_array_foreach(recs, i, rec)
	{
		if (r == 0 && put_record(s, rec) < 0)
			r = -1;
	}
	char *jwks = r == 0 ? json_dumps(json_object_get(doc, "jwks"), JSON_COMPACT) : NULL;
	struct agent_syncstate st = { (uint64_t)json_integer_value(seq), ok_wall };
	if (r == 0 && (!jwks || put_text(s, "agent/jwks", jwks) < 0 ||
		       put_hostws(s, json_object_get(doc, "workspaces")) < 0 ||
		       agent_syncstate_put(s, &st) < 0))
		r = -1;
	free(jwks);
	json_decref(doc);
	if (r < 0)
		snprintf(err, errlen, "a record of the snapshot could not be stored");
	return r;
}

/* ---- a delta ---------------------------------------------------------------- */

/* key/<id> records owned by uid (their index may be gone already). */
struct owned {
	struct keys k;
	uint32_t uid;
};

static int owned_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct owned *o = arg;
	struct rec r;
	int mine = rec_parse(val, vlen, 'K', &r) == 0 && rec_u64(&r, F_UID) == o->uid;
	return mine ? collect(&o->k, key, klen, NULL, 0) : 0; /* unreadable: not its */
}

/* Every local record of an account: its name (from uid/), index records,
 * grants and keys.  What the delta has of it is put afterwards. */
static int drop_account(struct store *s, uint32_t uid)
{
	char key[96], pre[32];
	uint8_t *v = NULL;
	size_t n = 0;
	struct owned o = { { NULL, 0, 0 }, uid };
	snprintf(key, sizeof(key), "uid/%" PRIu32, uid);
	int g = store_get(s, DB_STATE, key, &v, &n);
	if (g < 0)
		return -1;
	int r = 0;
	if (g == 1 && n > 0 && n <= 64) {
		snprintf(key, sizeof(key), "acct/%.*s", (int)n, (const char *)v);
		r = collect(&o.k, key, strlen(key), NULL, 0);
	}
	free(v);
	const char *const idx[] = { "uid", "gidx", "kidx" };
	for (size_t i = 0; r == 0 && i < 3; i++) {
		snprintf(key, sizeof(key), "%s/%" PRIu32, idx[i], uid);
		r = collect(&o.k, key, strlen(key), NULL, 0);
	}
	snprintf(pre, sizeof(pre), "grant/%" PRIu32 "/", uid);
	if (r == 0)
		r = store_iterate(s, DB_STATE, pre, collect, &o.k);
	if (r == 0)
		r = store_iterate(s, DB_STATE, "key/", owned_cb, &o);
	for (size_t i = 0; r == 0 && i < o.k.n; i++)
		if (store_del(s, DB_STATE, o.k.v[i]) < 0)
			r = -1;
	keys_free(&o.k);
	return r == 0 ? 0 : -1;
}

/* deny/<jti> whose token has expired: a full snapshot leaves them out,
 * a delta does not say so (nothing changed): the agent forgets them. */
struct expired {
	struct keys k;
	int64_t now_s;
};

static int expired_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct expired *e = arg;
	char buf[24];
	if (vlen == 0 || vlen >= sizeof(buf))
		return 0;
	memcpy(buf, val, vlen);
	buf[vlen] = '\0';
	return strtoll(buf, NULL, 10) <= e->now_s ? collect(&e->k, key, klen, NULL, 0) : 0;
}

static int drop_expired(struct store *s, int64_t now_s)
{
	struct expired e = { { NULL, 0, 0 }, now_s };
	int r = store_iterate(s, DB_STATE, "deny/", expired_cb, &e);
	for (size_t i = 0; r == 0 && i < e.k.n; i++)
		if (store_del(s, DB_STATE, e.k.v[i]) < 0)
			r = -1;
	keys_free(&e.k);
	return r == 0 ? 0 : -1;
}

static int apply_changes(struct store *s, const json_t *doc)
{
	size_t i;
	const json_t *x;
	json_array_foreach(json_object_get(doc, "accounts"), i, x)
	{
		if (drop_account(s, (uint32_t)json_integer_value(x)) < 0)
			return -1;
	}
	json_array_foreach(json_object_get(doc, "deletes"), i, x)
	{
		const char *k = json_string_value(x);
		if (!k || !org_key(k) || store_del(s, DB_STATE, k) < 0)
			return -1;
	}
	json_array_foreach(json_object_get(doc, "upserts"), i, x)
	{
		if (put_record(s, x) < 0)
			return -1;
	}
	return drop_expired(s, svca_wall_ms() / 1000);
}

/* 1 when the delta's workspaces are those of the slice applied: a delta
 * never changes which workspaces the slice is cut for (the hub answers
 * 409 then), so anything else means it was not cut for this state. */
static int same_workspaces(struct store *s, const json_t *ws)
{
	struct strlist l = { NULL, 0 };
	int same = agent_hostws_get(s, &l) == 1 && l.n == json_array_size(ws);
	for (size_t i = 0; same && i < l.n; i++) {
		const char *w = json_string_value(json_array_get(ws, i));
		same = w && !strcmp(w, l.v[i]);
	}
	strlist_free(&l);
	return same;
}

int agent_apply_delta(struct store *s, const char *payload, size_t len, int64_t ok_wall, char *err,
		      size_t errlen)
{
	json_error_t jerr;
	struct agent_syncstate st;
	json_t *doc = json_loadb(payload, len, 0, &jerr);
	const json_t *base = json_object_get(doc, "base_seq");
	const json_t *seq = json_object_get(doc, "seq");
	if (!doc || !json_is_integer(base) || !json_is_integer(seq)) {
		json_decref(doc);
		snprintf(err, errlen, "malformed delta");
		return -1;
	}
	if (agent_syncstate_get(s, &st) != 1 || st.seq != (uint64_t)json_integer_value(base) ||
	    !same_workspaces(s, json_object_get(doc, "workspaces"))) {
		json_decref(doc);
		snprintf(err, errlen, "the delta is not based on the snapshot applied");
		return -1;
	}
	char *jwks = json_dumps(json_object_get(doc, "jwks"), JSON_COMPACT);
	st.seq = (uint64_t)json_integer_value(seq);
	st.last_ok = ok_wall;
	int r = apply_changes(s, doc) == 0 && jwks && put_text(s, "agent/jwks", jwks) == 0 &&
				put_hostws(s, json_object_get(doc, "workspaces")) == 0 &&
				agent_syncstate_put(s, &st) == 0
			? 0
			: -1;
	free(jwks);
	json_decref(doc);
	if (r < 0)
		snprintf(err, errlen, "a record of the delta could not be applied");
	return r;
}

int agent_syncstate_get(struct store *s, struct agent_syncstate *st)
{
	uint8_t *v = NULL;
	size_t n = 0;
	char buf[64];
	memset(st, 0, sizeof(*st));
	int g = store_get(s, DB_STATE, "agent/sync", &v, &n);
	if (g != 1)
		return g;
	snprintf(buf, sizeof(buf), "%.*s", (int)(n < 63 ? n : 63), (const char *)v);
	free(v);
	char *end = NULL, *end2 = NULL;
	errno = 0;
	unsigned long long seq = strtoull(buf, &end, 10);
	long long ok = end && *end == ' ' ? strtoll(end + 1, &end2, 10) : -1;
	if (errno || !end2 || *end2 || end == buf || ok < 0)
		return -1;
	st->seq = seq;
	st->last_ok = ok;
	return 1;
}

int agent_syncstate_put(struct store *s, const struct agent_syncstate *st)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%" PRIu64 " %" PRId64, st->seq, st->last_ok);
	return put_text(s, "agent/sync", buf);
}

int agent_hostws_get(struct store *s, struct strlist *l)
{
	uint8_t *v = NULL;
	size_t n = 0;
	int g = store_get(s, DB_STATE, "agent/hostws", &v, &n);
	if (g != 1)
		return g;
	strlist_free(l);
	char *text = strndup((const char *)v, n), *save = NULL;
	free(v);
	if (!text)
		return -1;
	for (char *t = strtok_r(text, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
		char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
		if (!nv || !(nv[l->n] = strdup(t))) {
			if (nv)
				l->v = nv;
			free(text);
			return -1;
		}
		l->v = nv;
		l->n++;
	}
	free(text);
	return 1;
}

int64_t agent_age_s(const struct daemon *d)
{
	int64_t now = svca_now_ms();
	int64_t contact = agent_sync_contact_mono(d->sync, now);
	if (contact < d->sync_ok_mono)
		contact = d->sync_ok_mono;
	if (contact > 0)
		return (now - contact) / 1000;
	if (d->sync_ok_wall <= 0)
		return -1;
	int64_t before = d->start_wall - d->sync_ok_wall;
	return ((before > 0 ? before : 0) + (now - d->start_mono)) / 1000;
}

int agent_stale(const struct daemon *d)
{
	int64_t age = agent_age_s(d);
	return age < 0 || age > d->cfg.max_staleness;
}

int agent_jwks_find(struct store *s, const char *kid, uint8_t pk[32])
{
	uint8_t *v = NULL;
	size_t n = 0, i, bin = 0;
	json_error_t jerr;
	const json_t *k;
	int r = -1;
	if (store_get(s, DB_STATE, "agent/jwks", &v, &n) != 1)
		return -1;
	json_t *doc = json_loadb((const char *)v, n, 0, &jerr);
	free(v);
	json_array_foreach(json_object_get(doc, "keys"), i, k)
	{
		const char *id = json_string_value(json_object_get(k, "kid"));
		const char *x = json_string_value(json_object_get(k, "x"));
		if (id && x && !strcmp(id, kid) &&
		    !strcmp(json_string_value(json_object_get(k, "kty"))
				    ? json_string_value(json_object_get(k, "kty"))
				    : "",
			    "OKP") &&
		    sodium_base642bin(pk, 32, x, strlen(x), NULL, &bin, NULL,
				      sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
		    bin == 32) {
			r = 0;
			break;
		}
	}
	json_decref(doc);
	return r;
}
