/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Hub mode: an agent's delta since a seq (host_delta.h). */
#include "host_delta.h"

#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "host_snapshot.h"
#include "keys.h"
#include "rbac.h"
#include "snapcache.h"
#include "sockio.h"
#include "tokens.h"

struct changes {
	struct daemon *d;
	const struct host *h;
	const struct snapshot_slice *sl;
	json_t *uids;   /* uid text -> true: reached the host before (grant) / false */
	json_t *direct; /* store key -> null: deny/ meta/ org/ */
	json_t *hosts;  /* host ids whose host/ record changed (a 409 for them) */
	size_t nkeys;
	const char *full; /* why a delta cannot say it: NULL none */
	int err;
};

static int prefixed(const char *k, const char *p)
{
	return strncmp(k, p, strlen(p)) == 0;
}

/* uid text of "<prefix><uid>[/...]", or 0. */
static uint32_t uid_of(const char *rest)
{
	char *end;
	unsigned long u = strtoul(rest, &end, 10);
	return end != rest && (*end == '\0' || *end == '/') && u > 0 && u <= UINT32_MAX
		       ? (uint32_t)u
		       : 0;
}

static void touch_uid(struct changes *c, uint32_t uid, int reached)
{
	char t[16];
	snprintf(t, sizeof(t), "%" PRIu32, uid);
	if (json_object_size(c->uids) >= DELTA_MAX_ACCOUNTS) {
		c->full = "too many accounts changed";
		return;
	}
	if (reached || !json_object_get(c->uids, t))
		json_object_set_new(c->uids, t, json_boolean(reached));
}

/* grant/<uid>/<k>/<scope>: its account, and whether it reached the host. */
static void grant_changed(struct changes *c, const char *rest)
{
	uint32_t uid = uid_of(rest);
	const char *s = strchr(rest, '/');
	if (!uid || !s || !s[1] || s[2] != '/')
		return;
	touch_uid(c, uid, snapshot_slice_scope(c->sl, s[1], s + 3));
}

/* acct/<name>, key/<id>: the account they belong to now (gone: their
 * uid/ or kidx/ record changed in the same commit). */
static void owner_changed(struct changes *c, const char *key)
{
	if (prefixed(key, "acct/")) {
		struct account a;
		int g = account_get(c->d->store, key + 5, &a);
		if (g < 0)
			c->err = 1;
		else if (g == 1)
			touch_uid(c, a.uid, 0);
		return;
	}
	struct apikey k;
	int g = key_get(c->d->store, key + 4, &k);
	if (g < 0)
		c->err = 1;
	else if (g == 1)
		touch_uid(c, k.uid, 0);
	sodium_memzero(&k, sizeof(k));
}

/* ws/<one of the host's workspaces, existing or not> or team/<the team
 * of one>: what decides which accounts reach the host.  (A workspace
 * moved to another team changes its ws/ record.) */
static int host_scope(const struct changes *c, const char *k)
{
	if (prefixed(k, "team/"))
		return snapshot_slice_scope(c->sl, SCOPE_TEAM, k + 5);
	if (!prefixed(k, "ws/"))
		return 0;
	for (size_t i = 0; i < c->h->nws; i++)
		if (!strcmp(c->h->workspaces[i], k + 3))
			return 1;
	return 0;
}

/* One changed key ("DB:KEY"). */
static int on_change(void *arg, const char *ck)
{
	struct changes *c = arg;
	if (++c->nkeys > DELTA_MAX_KEYS) {
		c->full = "too many changes";
		return 1;
	}
	if (strncmp(ck, "0:", 2) != 0)
		return 0; /* not DB_STATE: nothing an agent holds */
	const char *k = ck + 2;
	if (host_scope(c, k))
		c->full = "a workspace or team of the host changed";
	else if (prefixed(k, "host/")) /* which host: per request (delta_for) */
		c->err |= json_array_append_new(c->hosts, json_string(k + 5)) < 0;
	else if (prefixed(k, "uid/") || prefixed(k, "kidx/") || prefixed(k, "gidx/")) {
		uint32_t u = uid_of(strchr(k, '/') + 1);
		if (u)
			touch_uid(c, u, 0);
	} else if (prefixed(k, "grant/"))
		grant_changed(c, k + 6);
	else if (prefixed(k, "acct/") || prefixed(k, "key/"))
		owner_changed(c, k);
	else if (prefixed(k, "deny/") || prefixed(k, "org/") || !strcmp(k, "meta/gen") ||
		 !strcmp(k, "meta/gen_upgraded"))
		json_object_set_new(c->direct, k, json_null());
	return c->full || c->err ? 1 : 0;
}

/* The slice's record key (if it has one) into ups; out of memory: c->err. */
static void add_upsert(struct changes *c, json_t *ups, const char *key)
{
	json_t *v = json_object_get(c->sl->recs, key);
	if (v && json_array_append_new(ups, json_pack("{s:s, s:O}", "k", key, "v", v)) < 0)
		c->err = 1;
}

/* Every slice record of an account in the slice: uid/, acct/, gidx/,
 * kidx/, its grants (only those the slice has) and keys. */
static int account_upserts(struct changes *c, uint32_t uid, json_t *ups)
{
	char key[96];
	struct account a;
	int g = account_get_by_uid(c->d->store, uid, &a);
	if (g <= 0)
		return g;
	const char *const pre3[] = { "uid", "gidx", "kidx" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "%s/%" PRIu32, pre3[i], uid);
		add_upsert(c, ups, key);
	}
	snprintf(key, sizeof(key), "acct/%s", a.name);
	add_upsert(c, ups, key);
	char pre[32];
	int pl = snprintf(pre, sizeof(pre), "grant/%" PRIu32 "/", uid);
	const char *k;
	json_t *v;
	json_object_foreach(c->sl->recs, k, v)
	{
		if (!strncmp(k, pre, (size_t)pl))
			add_upsert(c, ups, k);
	}
	struct apikey *ks;
	size_t nk;
	if (key_of_account(c->d->store, uid, &ks, &nk) < 0)
		return -1;
	for (size_t i = 0; i < nk; i++) {
		snprintf(key, sizeof(key), "key/%s", ks[i].key_id);
		add_upsert(c, ups, key);
	}
	sodium_memzero(ks, nk * sizeof(*ks));
	free(ks);
	return 0;
}

/* The changed accounts: those in the slice sent whole, those that reached
 * the host before (a grant on its scopes changed, or one is left) only
 * named, to be dropped; the others (never on this host) not at all. */
static int accounts_part(struct changes *c, json_t *accts, json_t *ups)
{
	const char *u;
	json_t *reached;
	json_object_foreach(c->uids, u, reached)
	{
		uint32_t uid = (uint32_t)strtoul(u, NULL, 10);
		char ukey[24];
		snprintf(ukey, sizeof(ukey), "uid/%s", u);
		int in_slice = json_object_get(c->sl->recs, ukey) != NULL;
		if (!in_slice && !json_is_true(reached) && !json_object_get(c->sl->gidx, u))
			continue;
		if (json_array_append_new(accts, json_integer(uid)) < 0)
			return -1;
		if (in_slice && account_upserts(c, uid, ups) < 0)
			return -1;
	}
	return 0;
}

static void direct_part(struct changes *c, json_t *ups, json_t *dels)
{
	const char *k;
	json_t *v;
	json_object_foreach(c->direct, k, v)
	{
		if (json_object_get(c->sl->recs, k))
			add_upsert(c, ups, k);
		else
			c->err |= json_array_append_new(dels, json_string(k)) < 0;
	}
	json_object_foreach(c->sl->recs, k, v)
	{
		/* org/settings always: cheap, and never stale (it is made from
		 * the configuration, not the change log); the SSH CA's records
		 * are in the change log, and the revocation list may be large */
		if (prefixed(k, "org/") && !prefixed(k, "org/ssh_") &&
		    !json_object_get(c->direct, k))
			add_upsert(c, ups, k);
	}
}

/* The part of the payload every host of the same workspace set gets:
 * ,"accounts":[...],"upserts":[...],"deletes":[...],"jwks":{...}} */
static char *delta_tail(struct changes *c, size_t *tlen)
{
	json_t *o = json_object(), *accts = json_array(), *ups = json_array(), *dels = json_array();
	char *jwks = tokens_jwks(c->d);
	json_t *jw = jwks ? json_loads(jwks, 0, NULL) : NULL;
	free(jwks);
	if (!o || !accts || !ups || !dels || !jw || accounts_part(c, accts, ups) < 0) {
		json_decref(accts);
		json_decref(ups);
		json_decref(dels);
		json_decref(jw);
		json_decref(o);
		return NULL;
	}
	direct_part(c, ups, dels);
	/* json_object_set_new takes the value even when it fails */
	c->err |= json_object_set_new(o, "accounts", accts) < 0;
	c->err |= json_object_set_new(o, "upserts", ups) < 0;
	c->err |= json_object_set_new(o, "deletes", dels) < 0;
	c->err |= json_object_set_new(o, "jwks", jw) < 0;
	char *text = c->err ? NULL : json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text || text[0] != '{') {
		free(text);
		return NULL;
	}
	text[0] = ','; /* follows the host's head (snapshot_head) */
	*tlen = strlen(text);
	return text;
}

/* "\nID\nID\n" of the changed host records, NULL when none. */
static char *hosts_text(json_t *hosts)
{
	size_t i, cap = 2;
	json_t *v;
	if (!json_array_size(hosts))
		return NULL;
	json_array_foreach(hosts, i, v) cap += strlen(json_string_value(v)) + 1;
	char *t = malloc(cap);
	if (!t)
		return NULL;
	strcpy(t, "\n");
	json_array_foreach(hosts, i, v)
	{
		strcat(t, json_string_value(v));
		strcat(t, "\n");
	}
	return t;
}

static int full_needed(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return 1;
}

int delta_tail_build(struct daemon *d, const struct host *h, uint64_t since, int64_t now_ms,
		     struct snapcache_entry *out, char *err, size_t errlen)
{
	struct snapshot_slice *sl = calloc(1, sizeof(*sl));
	struct changes c = { .d = d, .h = h, .sl = sl };
	int ret = -1, built = 0;
	out->seq = store_change_seq(d->store);
	out->since = since;
	snprintf(err, errlen, "the organization database is unreachable");
	if (!sl)
		return -1;
	if (since > out->seq || since == 0) {
		ret = full_needed(err, errlen, "no delta from that seq");
		goto out;
	}
	c.uids = json_object();
	c.direct = json_object();
	c.hosts = json_array();
	if (!c.uids || !c.direct || !c.hosts)
		goto out;
	if (snapshot_slice_build(d, h, now_ms, sl) < 0)
		goto out;
	built = 1;
	int r = store_changes_between(d->store, since, out->seq, on_change, &c);
	if (r < 0 || c.err)
		goto out;
	if (r == 1 || c.full) {
		ret = full_needed(err, errlen,
				  c.full ? c.full : "the change log does not reach back");
		goto out;
	}
	out->tail = delta_tail(&c, &out->tlen);
	out->hosts = hosts_text(c.hosts);
	if (!out->tail || (json_array_size(c.hosts) && !out->hosts)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ret = 0;
out:
	if (ret == 1) {
		out->full = 1;
		snprintf(out->why, sizeof(out->why), "%s", err);
	}
	json_decref(c.uids);
	json_decref(c.direct);
	json_decref(c.hosts);
	if (built)
		snapshot_slice_free(sl);
	free(sl);
	return ret;
}

/* h's delta from a built (or cached) entry: 0 payload, 1 a full snapshot
 * is needed (err), -1 out of memory. */
static int delta_for(const struct host *h, const struct snapcache_entry *e, int64_t now_ms,
		     char **payload, size_t *len, char *err, size_t errlen)
{
	char id[HOST_ID_MAX + 3];
	*payload = NULL;
	if (e->full)
		return full_needed(err, errlen, e->why);
	snprintf(id, sizeof(id), "\n%s\n", h->host_id);
	if (e->hosts && strstr(e->hosts, id))
		return full_needed(err, errlen, "the host's record changed");
	size_t hlen = 0;
	char *head = snapshot_head(h, DELTA_KIND, e->since, e->seq, now_ms, &hlen);
	int r = head ? snapshot_assemble(head, hlen, e->tail, e->tlen, payload, len) : -1;
	free(head);
	if (r < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (*len > DELTA_MAX_BYTES) {
		free(*payload);
		*payload = NULL;
		return full_needed(err, errlen,
				   "the delta would be larger than a snapshot's bound");
	}
	return 0;
}

int delta_from_cache(struct snapcache *c, const struct host *h, uint64_t since, uint64_t seq,
		     int64_t now_ms, char **payload, size_t *len, char *err, size_t errlen)
{
	char *wsk = c ? snapcache_wskey(h->workspaces, h->nws) : NULL;
	const struct snapcache_entry *e =
		wsk ? snapcache_get(c, wsk, seq, since, svca_now_ms()) : NULL;
	free(wsk);
	*payload = NULL;
	return e ? delta_for(h, e, now_ms, payload, len, err, errlen) : 2;
}

int delta_build(struct daemon *d, const struct host *h, uint64_t since, int64_t now_ms,
		char **payload, size_t *len, uint64_t *seq, char *err, size_t errlen)
{
	struct snapcache_entry e = { 0 };
	*payload = NULL;
	int r = delta_tail_build(d, h, since, now_ms, &e, err, errlen);
	*seq = e.seq;
	if (r == 0)
		r = delta_for(h, &e, now_ms, payload, len, err, errlen);
	free(e.tail);
	free(e.hosts);
	return r;
}

int delta_build_cached(struct snapcache *c, struct daemon *d, const struct host *h, uint64_t since,
		       int64_t now_ms, char **payload, size_t *len, uint64_t *seq, char *err,
		       size_t errlen)
{
	/* only a shared store's seq says which store state a slice reflects */
	char *wsk = c && store_shared(d->store) ? snapcache_wskey(h->workspaces, h->nws) : NULL;
	if (!wsk)
		return delta_build(d, h, since, now_ms, payload, len, seq, err, errlen);
	*payload = NULL;
	*seq = store_change_seq(d->store); /* exact: the caller holds the write intent */
	int64_t mono = svca_now_ms();
	const struct snapcache_entry *e = snapcache_get(c, wsk, *seq, since, mono);
	if (e) {
		free(wsk);
		return delta_for(h, e, now_ms, payload, len, err, errlen);
	}
	struct snapcache_entry ne = { .wsk = wsk };
	int t = delta_tail_build(d, h, since, now_ms, &ne, err, errlen);
	*seq = ne.seq;
	int r = t < 0 ? t : delta_for(h, &ne, now_ms, payload, len, err, errlen);
	if (t >= 0) { /* a delta, or "a full snapshot is needed" for the whole set */
		snapcache_put(c, &ne, mono); /* takes wsk, tail, hosts */
	} else {                             /* a storage error is not kept */
		free(ne.wsk);
		free(ne.tail);
		free(ne.hosts);
	}
	return r;
}
