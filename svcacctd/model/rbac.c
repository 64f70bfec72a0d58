/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Teams, workspaces, grants and the effective access they give. */
#include "rbac.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idlist.h"
#include "record.h"

enum { REC_TEAM = 'T', REC_WORKSPACE = 'W', REC_GRANT = 'G' };

static void team_key(const char *n, char *k, size_t l)
{
	snprintf(k, l, "team/%s", n);
}
static void ws_key(const char *n, char *k, size_t l)
{
	snprintf(k, l, "ws/%s", n);
}

static void grant_key(uint32_t uid, enum scope_kind kind, const char *scope, char *k, size_t l)
{
	snprintf(k, l, "grant/%" PRIu32 "/%c/%s", uid, (char)kind, scope);
}

/* Encodes rb and stores it under key. */
static int put_rec(struct store *s, const char *key, struct svca_buf *b)
{
	int r = b->failed ? -1 : store_put(s, DB_STATE, key, b->data, b->len);
	svca_buf_free(b);
	return r;
}

static int get_rec(struct store *s, const char *key, uint8_t kind, struct rec *r, uint8_t **raw)
{
	size_t n;
	int g = store_get(s, DB_STATE, key, raw, &n);
	if (g <= 0)
		return g;
	if (rec_parse(*raw, n, kind, r) < 0 || r->version > RBAC_RECORD_VERSION) {
		free(*raw);
		return -1;
	}
	return 1;
}

static void grant_changed(struct store *s, const struct grant *g, int deleted)
{
	const struct change_hooks *h = store_hooks(s);
	if (h && h->grant)
		h->grant(h->arg, s, g, deleted);
}

static void scope_changed(struct store *s)
{
	const struct change_hooks *h = store_hooks(s);
	if (h && h->scope)
		h->scope(h->arg, s);
}

/* ---- teams ------------------------------------------------------------------ */

static int team_decode(const struct rec *r, struct team *t)
{
	memset(t, 0, sizeof(*t));
	rec_str(r, F_TEAM, t->name, sizeof(t->name));
	t->created_at = rec_u64(r, F_CREATED_AT);
	rec_str(r, F_CREATED_BY, t->created_by, sizeof(t->created_by));
	return svca_scope_name_valid(t->name) ? 0 : -1;
}

int team_get(struct store *s, const char *name, struct team *t)
{
	char key[96];
	struct rec r;
	uint8_t *raw;
	team_key(name, key, sizeof(key));
	int g = get_rec(s, key, REC_TEAM, &r, &raw);
	if (g <= 0)
		return g;
	g = team_decode(&r, t) == 0 ? 1 : -1;
	free(raw);
	return g;
}

int team_put(struct store *s, const struct team *t)
{
	char key[96];
	struct svca_buf b;
	scope_changed(s);
	svca_buf_init(&b, 4096);
	rec_begin(&b, REC_TEAM, RBAC_RECORD_VERSION);
	svca_put_str(&b, F_TEAM, t->name);
	svca_put_u64(&b, F_CREATED_AT, t->created_at);
	svca_put_str(&b, F_CREATED_BY, t->created_by);
	team_key(t->name, key, sizeof(key));
	return put_rec(s, key, &b);
}

int team_del(struct store *s, const char *name)
{
	char key[96];
	scope_changed(s);
	team_key(name, key, sizeof(key));
	return store_del(s, DB_STATE, key);
}

/* ---- workspaces ----------------------------------------------------------- */

static int ws_decode(const struct rec *r, struct workspace *w)
{
	memset(w, 0, sizeof(*w));
	rec_str(r, F_WORKSPACE, w->name, sizeof(w->name));
	rec_str(r, F_TEAM, w->team, sizeof(w->team));
	w->created_at = rec_u64(r, F_CREATED_AT);
	rec_str(r, F_CREATED_BY, w->created_by, sizeof(w->created_by));
	return svca_scope_name_valid(w->name) && svca_scope_name_valid(w->team) ? 0 : -1;
}

int workspace_get(struct store *s, const char *name, struct workspace *w)
{
	char key[96];
	struct rec r;
	uint8_t *raw;
	ws_key(name, key, sizeof(key));
	int g = get_rec(s, key, REC_WORKSPACE, &r, &raw);
	if (g <= 0)
		return g;
	g = ws_decode(&r, w) == 0 ? 1 : -1;
	free(raw);
	return g;
}

int workspace_put(struct store *s, const struct workspace *w)
{
	char key[96];
	struct svca_buf b;
	scope_changed(s);
	svca_buf_init(&b, 4096);
	rec_begin(&b, REC_WORKSPACE, RBAC_RECORD_VERSION);
	svca_put_str(&b, F_WORKSPACE, w->name);
	svca_put_str(&b, F_TEAM, w->team);
	svca_put_u64(&b, F_CREATED_AT, w->created_at);
	svca_put_str(&b, F_CREATED_BY, w->created_by);
	ws_key(w->name, key, sizeof(key));
	return put_rec(s, key, &b);
}

int workspace_del(struct store *s, const char *name)
{
	char key[96];
	scope_changed(s);
	ws_key(name, key, sizeof(key));
	return store_del(s, DB_STATE, key);
}

/* ---- grants ----------------------------------------------------------------- */

static int grant_decode(const struct rec *r, struct grant *g)
{
	char kind[4], role[16];
	memset(g, 0, sizeof(*g));
	uint64_t uid = rec_u64(r, F_UID);
	rec_str(r, F_STATUS, kind, sizeof(kind));
	rec_str(r, F_WORKSPACE, g->scope, sizeof(g->scope));
	rec_str(r, F_ROLE, role, sizeof(role));
	g->created_at = rec_u64(r, F_CREATED_AT);
	rec_str(r, F_CREATED_BY, g->created_by, sizeof(g->created_by));
	if (uid == 0 || uid > UINT32_MAX || role_parse(role, &g->role) < 0 ||
	    !svca_scope_name_valid(g->scope) || (kind[0] != 'w' && kind[0] != 't') || kind[1])
		return -1;
	g->uid = (uint32_t)uid;
	g->kind = (enum scope_kind)kind[0];
	return 0;
}

int grant_get(struct store *s, uint32_t uid, enum scope_kind kind, const char *scope,
	      struct grant *g)
{
	char key[128];
	struct rec r;
	uint8_t *raw;
	grant_key(uid, kind, scope, key, sizeof(key));
	int x = get_rec(s, key, REC_GRANT, &r, &raw);
	if (x <= 0)
		return x;
	x = grant_decode(&r, g) == 0 ? 1 : -1;
	free(raw);
	return x;
}

int grant_put(struct store *s, const struct grant *g)
{
	char key[128], kind[2] = { (char)g->kind, 0 };
	struct svca_buf b;
	grant_changed(s, g, 0);
	svca_buf_init(&b, 4096);
	rec_begin(&b, REC_GRANT, RBAC_RECORD_VERSION);
	svca_put_u64(&b, F_UID, g->uid);
	svca_put_str(&b, F_STATUS, kind); /* scope kind: w or t */
	svca_put_str(&b, F_WORKSPACE, g->scope);
	svca_put_str(&b, F_ROLE, role_name(g->role));
	svca_put_u64(&b, F_CREATED_AT, g->created_at);
	svca_put_str(&b, F_CREATED_BY, g->created_by);
	grant_key(g->uid, g->kind, g->scope, key, sizeof(key));
	char idx[32], item[SVCA_SCOPE_NAME_MAX + 3];
	snprintf(idx, sizeof(idx), "gidx/%" PRIu32, g->uid);
	snprintf(item, sizeof(item), "%c/%s", (char)g->kind, g->scope);
	if (idlist_add(s, idx, item) < 0) {
		svca_buf_free(&b);
		return -1;
	}
	return put_rec(s, key, &b);
}

int grant_del(struct store *s, const struct grant *g)
{
	char key[128], idx[32], item[SVCA_SCOPE_NAME_MAX + 3];
	grant_changed(s, g, 1);
	grant_key(g->uid, g->kind, g->scope, key, sizeof(key));
	snprintf(idx, sizeof(idx), "gidx/%" PRIu32, g->uid);
	snprintf(item, sizeof(item), "%c/%s", (char)g->kind, g->scope);
	if (idlist_del(s, idx, item) < 0)
		return -1;
	return store_del(s, DB_STATE, key);
}

/* ---- collectors ---------------------------------------------------------------- */

struct vec {
	void *v;
	size_t n, cap, size;
	uint8_t kind;
	int (*decode)(const struct rec *, void *);
	int err;
};

static int vec_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct vec *x = arg;
	struct rec r;
	(void)key;
	(void)klen;
	if (rec_parse(val, vlen, x->kind, &r) < 0)
		return 0; /* unreadable record: skipped, not fatal */
	if (x->n == x->cap) {
		size_t ncap = x->cap ? x->cap * 2 : 16;
		void *nv = realloc(x->v, ncap * x->size);
		if (!nv) {
			x->err = 1;
			return 1;
		}
		x->v = nv;
		x->cap = ncap;
	}
	if (x->decode(&r, (char *)x->v + x->n * x->size) == 0)
		x->n++;
	return 0;
}

static int dec_team(const struct rec *r, void *o)
{
	return team_decode(r, o);
}
static int dec_ws(const struct rec *r, void *o)
{
	return ws_decode(r, o);
}
static int dec_grant(const struct rec *r, void *o)
{
	return grant_decode(r, o);
}

static int collect(struct store *s, const char *prefix, uint8_t kind, size_t size,
		   int (*decode)(const struct rec *, void *), void **out, size_t *n)
{
	struct vec x = { .size = size, .kind = kind, .decode = decode };
	int r = store_iterate(s, DB_STATE, prefix, vec_cb, &x);
	if (r != 0 || x.err) {
		free(x.v);
		return -1;
	}
	*out = x.v;
	*n = x.n;
	return 0;
}

static int by_team(const void *a, const void *b)
{
	return strcmp(((const struct team *)a)->name, ((const struct team *)b)->name);
}

static int by_ws(const void *a, const void *b)
{
	return strcmp(((const struct workspace *)a)->name, ((const struct workspace *)b)->name);
}

static int by_grant(const void *a, const void *b)
{
	const struct grant *x = a, *y = b;
	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind == SCOPE_WORKSPACE ? -1 : 1;
	return strcmp(x->scope, y->scope);
}

struct grant_each {
	grant_fn fn;
	void *arg;
};

static int grant_each_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct grant_each *x = arg;
	struct rec r;
	struct grant g;
	(void)key;
	(void)klen;
	if (rec_parse(val, vlen, REC_GRANT, &r) < 0 || grant_decode(&r, &g) < 0)
		return 0; /* unreadable record: skipped, as grant_all does */
	return x->fn(x->arg, &g);
}

int grant_foreach(struct store *s, grant_fn fn, void *arg)
{
	struct grant_each x = { fn, arg };
	return store_iterate(s, DB_STATE, "grant/", grant_each_cb, &x);
}

int team_all(struct store *s, struct team **out, size_t *n)
{
	if (collect(s, "team/", REC_TEAM, sizeof(**out), dec_team, (void **)out, n) < 0)
		return -1;
	if (*n)
		qsort(*out, *n, sizeof(**out), by_team);
	return 0;
}

int workspace_all(struct store *s, struct workspace **out, size_t *n)
{
	if (collect(s, "ws/", REC_WORKSPACE, sizeof(**out), dec_ws, (void **)out, n) < 0)
		return -1;
	if (*n)
		qsort(*out, *n, sizeof(**out), by_ws);
	return 0;
}

int grant_all(struct store *s, struct grant **out, size_t *n)
{
	if (collect(s, "grant/", REC_GRANT, sizeof(**out), dec_grant, (void **)out, n) < 0)
		return -1;
	if (*n)
		qsort(*out, *n, sizeof(**out), by_grant);
	return 0;
}

/* An index item is "<w|t>/<scope>". */
static int load_grant(struct store *s, const char *item, void *slot, void *ctx)
{
	if (strlen(item) < 3 || item[1] != '/')
		return 0;
	return grant_get(s, *(const uint32_t *)ctx, (enum scope_kind)item[0], item + 2, slot);
}

/* Through the account's index (gidx/<uid>): a few fetches, no scan. */
int grant_of_account(struct store *s, uint32_t uid, struct grant **out, size_t *n)
{
	char idx[32];
	snprintf(idx, sizeof(idx), "gidx/%" PRIu32, uid);
	if (idlist_load(s, idx, sizeof(**out), load_grant, &uid, (void **)out, n) < 0)
		return -1;
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), by_grant);
	return 0;
}

/* ---- effective access ------------------------------------------------------------ */

unsigned service_capability(const struct svca_config *cfg, const char *service)
{
	for (size_t i = 0; i < cfg->n_services; i++)
		if (strcmp(cfg->services[i].service, service) == 0)
			return cfg->services[i].cap;
	return 0;
}

/* The role counts every (grant, host workspace) pair, as the NSS snapshot
 * does (nss_snapshot.c caps_of, flags_of); only the list of sources, which
 * is for display, is capped at MAX_SOURCES.  Once it is full, a pair with a
 * higher role takes the place of one with the lowest, so the list always
 * shows where the role comes from.  (The role was once raised after the
 * capacity check: past 64 pairs it stopped rising, and PAM refused what
 * the sudo group in NSS allowed.) */
static void add_source(struct access *acc, const struct grant *g, const char *ws)
{
	if (g->role > acc->role)
		acc->role = g->role;
	struct access_source *src = NULL;
	if (acc->nsrc < MAX_SOURCES) {
		src = &acc->src[acc->nsrc++];
	} else {
		for (size_t i = 0; i < MAX_SOURCES; i++)
			if (acc->src[i].role < g->role && (!src || acc->src[i].role < src->role))
				src = &acc->src[i];
		if (!src)
			return;
	}
	src->kind = g->kind;
	src->role = g->role;
	snprintf(src->scope, sizeof(src->scope), "%s", g->scope);
	snprintf(src->workspace, sizeof(src->workspace), "%s", ws);
}

int access_compute(struct store *s, const struct svca_config *cfg, const struct account *a,
		   struct access *acc)
{
	struct grant *gs;
	size_t ng;

	memset(acc, 0, sizeof(*acc));
	if (grant_of_account(s, a->uid, &gs, &ng) < 0)
		return -1;
	for (size_t i = 0; i < cfg->host_workspaces.n; i++) {
		const char *hw = cfg->host_workspaces.v[i];
		struct workspace w;
		int have_ws = workspace_get(s, hw, &w);
		if (have_ws < 0) {
			free(gs);
			return -1;
		}
		/* A host workspace that does not exist yet grants nothing. */
		if (have_ws == 0)
			continue;
		for (size_t j = 0; j < ng; j++) {
			const struct grant *g = &gs[j];
			if ((g->kind == SCOPE_WORKSPACE && strcmp(g->scope, hw) == 0) ||
			    (g->kind == SCOPE_TEAM && strcmp(g->scope, w.team) == 0))
				add_source(acc, g, hw);
		}
	}
	free(gs);
	acc->caps = a->disabled ? 0 : cfg->role_caps[acc->role];
	return 0;
}

/* The PAM access decision (account stage): may this account use this
 * service on this host? */
int access_decide(struct store *s, const struct svca_config *cfg, const struct account *a,
		  const char *service, struct access *acc, const char **reason, char *msg,
		  size_t msglen)
{
	if (access_compute(s, cfg, a, acc) < 0)
		return -1;
	unsigned need = service_capability(cfg, service);
	*reason = NULL;
	if (a->disabled) {
		*reason = "account_disabled";
		snprintf(msg, msglen, "%s is disabled", a->name);
	} else if (!need) {
		*reason = "unknown_service";
		snprintf(msg, msglen, "%s may not log in through '%s' on this host", a->name,
			 service);
	} else if (!(acc->caps & need)) {
		*reason = "no_capability";
		snprintf(msg, msglen, "%s may not use %s on this host", a->name,
			 need == CAP_SUDO ? "sudo" : service);
	} else {
		snprintf(msg, msglen, "%s may use %s on this host (role %s)", a->name, service,
			 role_name(acc->role));
	}
	return 0;
}
