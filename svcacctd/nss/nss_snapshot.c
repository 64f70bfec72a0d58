/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon side of the NSS snapshot: knows the accounts and who holds
 * sudo on this host, writes the image (format: nss_format.c) and installs
 * it in nss_dir.  Called after every batch that changed accounts, grants,
 * teams or workspaces (before the replies go out), at start and on reload.
 *
 * What the image needs is kept in memory (struct nss_table below, the
 * daemon's d->nss: 16 bytes per account plus its name and GECOS, 12-24
 * per grant), so a write costs O(changes) store reads plus one pass over
 * the table, never a walk of the store:
 *
 *   - The table is built from the store at the first write, and again
 *     whenever the configuration it was built for changed (reload), the
 *     store is another one, or it cannot be trusted (out of memory, too
 *     many changes at once, a uid held twice, a read error or a record
 *     that cannot be decoded).
 *   - Between writes the record functions report which accounts and
 *     grants they are about to change (struct change_hooks, hung on the
 *     store: accounts.c, rbac.c).  A change
 *     that leaves the table's view as it is (a key's last use, a token
 *     generation) is not even noted.
 *   - The next write re-reads just those keys from the store and applies
 *     what it finds.  Nothing the hooks saw is trusted: a transaction that
 *     was aborted, or a batch whose flush failed and was undone, left the
 *     old values in the store, and the re-read finds them.  The writers
 *     (server.c, daemon.c) never call us while the store holds changes that
 *     are not durable, so the table only ever shows committed state.
 *
 * tests/unit/test_nss_snapshot.c checks that the image equals one built
 * by a fresh walk of the store (nss_snap_build) after every kind of change.
 */
#include "nss_snapshot.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accounts.h"
#include "log.h"
#include "nss_caps.h"
#include "nss_format.h"
#include "rbac.h"

/*
 * Capabilities of every account at once: one pass over the grants instead
 * of access_compute() per account (each of which walks the whole store).
 * The same rule as access_compute(): the highest role over the host's
 * existing workspaces, from workspace grants on it and team grants on its
 * team; none when disabled.  tests/unit/test_nss_snapshot.c checks that
 * both agree.
 */
struct host_ws {
	const char *name;
	char team[SVCA_SCOPE_NAME_MAX + 1];
};

static unsigned caps_of(const struct svca_config *cfg, const struct host_ws *hw, size_t nhw,
			const struct grant *g, size_t ng, uint32_t uid, int disabled)
{
	if (disabled)
		return 0;
	/* first grant of this uid (grant_all sorts by uid) */
	size_t lo = 0, hi = ng;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	enum svca_role role = ROLE_NONE;
	for (size_t i = lo; i < ng && g[i].uid == uid; i++)
		for (size_t j = 0; j < nhw; j++)
			if ((g[i].kind == SCOPE_WORKSPACE && strcmp(g[i].scope, hw[j].name) == 0) ||
			    (g[i].kind == SCOPE_TEAM && strcmp(g[i].scope, hw[j].team) == 0))
				if (g[i].role > role)
					role = g[i].role;
	return cfg->role_caps[role];
}

int nss_snapshot_caps(struct store *s, const struct svca_config *cfg, const uint32_t *uids,
		      const int *disabled, size_t n, unsigned *caps)
{
	struct host_ws *hw = calloc(cfg->host_workspaces.n + 1, sizeof(*hw));
	struct grant *g = NULL;
	size_t nhw = 0, ng = 0;
	int ret = -1;
	if (!hw)
		return -1;
	for (size_t i = 0; i < cfg->host_workspaces.n; i++) {
		struct workspace w;
		int r = workspace_get(s, cfg->host_workspaces.v[i], &w);
		if (r < 0)
			goto out;
		if (r == 0)
			continue; /* a host workspace that does not exist grants nothing */
		hw[nhw].name = cfg->host_workspaces.v[i];
		memcpy(hw[nhw].team, w.team, sizeof(hw[nhw].team));
		nhw++;
	}
	if (grant_all(s, &g, &ng) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		caps[i] = caps_of(cfg, hw, nhw, g, ng, uids[i], disabled[i]);
	ret = 0;
out:
	free(g);
	free(hw);
	return ret;
}

/* ---- the in-memory table --------------------------------------------------------- */

/* One account as the image shows it: 12 bytes and its strings. */
struct row {
	uint32_t uid;
	uint32_t str;  /* arena offset of name, NUL, GECOS (sanitised), NUL */
	uint8_t nlen;  /* 1..SVCA_SNAP_NAME_MAX */
	uint8_t glen;  /* 0..SVCA_SNAP_GECOS_MAX */
	uint8_t flags; /* SVCA_SNAP_* */
	uint8_t dead;  /* only while a change is being applied */
};

/* One grant: (uid, kind, scope) -> role.  uid 0 marks a free slot. */
struct gslot {
	uint32_t uid;
	uint32_t scope; /* scope id */
	uint8_t kind;
	uint8_t role;
};

/* A host workspace that exists: its scope id and its team's. */
struct hostws {
	uint32_t ws, team;
};

struct tgrant {
	uint32_t uid, scope;
	uint8_t kind;
};

typedef char tname_t[SVCA_NAME_MAX + 1];

_Static_assert(SVCA_NAME_MAX <= SVCA_SNAP_NAME_MAX && SVCA_SNAP_NAME_MAX <= UINT8_MAX &&
		       SVCA_SNAP_GECOS_MAX <= UINT8_MAX,
	       "names and GECOS lengths fit struct row");

/* More changes than this between two writes: rebuilding is as cheap. */
#define TOUCH_MAX 4096u

struct nss_table {
	int built;
	struct store *store; /* the store it mirrors */

	/* the configuration it was built for */
	struct nss_params p;
	unsigned role_caps[4];
	struct strlist hwnames;
	struct strlist reserved; /* names the configuration gives to a group or user */

	struct row *rows; /* by uid, strictly ascending: the image's records */
	size_t n, cap;
	uint32_t *nidx; /* row numbers by name: the image's name index */
	size_t nidx_cap;
	char *arena;
	size_t alen, acap, garbage;

	struct gslot *g; /* open addressing, linear probing */
	size_t gcap, gn;

	char **scopes; /* scope id i is scopes[i - 1] */
	size_t nscopes, scopes_cap;
	uint32_t *shash; /* scope ids, open addressing by name */
	size_t shcap;

	struct hostws *hw;
	size_t nhw;

	/* noted by the hooks since the last write */
	tname_t *tname;
	size_t ntname, tname_cap;
	struct tgrant *tg;
	size_t ntg, tg_cap;
	int scopes_changed;
	int stale; /* rebuild from the store at the next write */
	int dups;  /* the build left out an account that shares a name or uid */

	/* outlive a rebuild (table_free) */
	struct change_hooks hooks; /* hung on the store; .arg is this table */
	unsigned long builds;      /* nss_snapshot_builds */
	int warned;                /* check_reachable */
};

static const char *row_name(struct nss_table *t, const struct row *r)
{
	return t->arena + r->str;
}

static const char *row_gecos(struct nss_table *t, const struct row *r)
{
	return t->arena + r->str + r->nlen + 1;
}

/* ---- scope names ---- */

static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* The id of a scope name, 0 when never seen. */
static uint32_t scope_find(struct nss_table *t, const char *name)
{
	if (!t->shcap)
		return 0;
	size_t mask = t->shcap - 1;
	for (size_t i = str_hash(name) & mask; t->shash[i]; i = (i + 1) & mask)
		if (strcmp(t->scopes[t->shash[i] - 1], name) == 0)
			return t->shash[i];
	return 0;
}

static void shash_insert(struct nss_table *t, uint32_t id)
{
	size_t mask = t->shcap - 1, i = str_hash(t->scopes[id - 1]) & mask;
	while (t->shash[i])
		i = (i + 1) & mask;
	t->shash[i] = id;
}

/* The id of a scope name, added when new.  0: out of memory. */
static uint32_t scope_intern(struct nss_table *t, const char *name)
{
	uint32_t id = scope_find(t, name);
	if (id)
		return id;
	if ((t->nscopes + 1) * 2 > t->shcap) {
		size_t ncap = t->shcap ? t->shcap * 2 : 64;
		uint32_t *nh = calloc(ncap, sizeof(*nh));
		if (!nh)
			return 0;
		free(t->shash);
		t->shash = nh;
		t->shcap = ncap;
		for (uint32_t i = 1; i <= t->nscopes; i++)
			shash_insert(t, i);
	}
	if (t->nscopes == t->scopes_cap) {
		size_t ncap = t->scopes_cap ? t->scopes_cap * 2 : 32;
		char **nv = realloc(t->scopes, ncap * sizeof(*nv));
		if (!nv)
			return 0;
		t->scopes = nv;
		t->scopes_cap = ncap;
	}
	char *copy = strdup(name);
	if (!copy)
		return 0;
	t->scopes[t->nscopes++] = copy;
	id = (uint32_t)t->nscopes;
	shash_insert(t, id);
	return id;
}

/* ---- grants ---- */

static size_t gslot_hash(uint32_t uid, uint8_t kind, uint32_t scope)
{
	uint64_t x = ((uint64_t)uid << 32 | scope) ^ ((uint64_t)kind << 56);
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (size_t)x;
}

/* The slot of a grant, or SIZE_MAX. */
static size_t grant_slot(struct nss_table *t, uint32_t uid, uint8_t kind, uint32_t scope)
{
	if (!t->gcap || !uid || !scope)
		return SIZE_MAX;
	size_t mask = t->gcap - 1;
	for (size_t i = gslot_hash(uid, kind, scope) & mask; t->g[i].uid; i = (i + 1) & mask)
		if (t->g[i].uid == uid && t->g[i].kind == kind && t->g[i].scope == scope)
			return i;
	return SIZE_MAX;
}

/* The role of a grant, -1 when there is none. */
static int grant_role(struct nss_table *t, uint32_t uid, uint8_t kind, uint32_t scope)
{
	size_t i = grant_slot(t, uid, kind, scope);
	return i == SIZE_MAX ? -1 : t->g[i].role;
}

static void gslot_place(struct nss_table *t, const struct gslot *e)
{
	size_t mask = t->gcap - 1, i = gslot_hash(e->uid, e->kind, e->scope) & mask;
	while (t->g[i].uid)
		i = (i + 1) & mask;
	t->g[i] = *e;
}

/* 0 ok, -1 out of memory. */
static int grant_set(struct nss_table *t, uint32_t uid, uint8_t kind, uint32_t scope, uint8_t role)
{
	size_t i = grant_slot(t, uid, kind, scope);
	if (i != SIZE_MAX) {
		t->g[i].role = role;
		return 0;
	}
	if ((t->gn + 1) * 4 > t->gcap * 3) {
		size_t ncap = t->gcap ? t->gcap * 2 : 256;
		struct gslot *ng = calloc(ncap, sizeof(*ng)), *old = t->g;
		size_t ocap = t->gcap;
		if (!ng)
			return -1;
		t->g = ng;
		t->gcap = ncap;
		for (size_t j = 0; j < ocap; j++)
			if (old[j].uid)
				gslot_place(t, &old[j]);
		free(old);
	}
	struct gslot e = { .uid = uid, .scope = scope, .kind = kind, .role = role };
	gslot_place(t, &e);
	t->gn++;
	return 0;
}

/* Deletion with backward shift: no tombstones. */
static void grant_unset(struct nss_table *t, uint32_t uid, uint8_t kind, uint32_t scope)
{
	size_t i = grant_slot(t, uid, kind, scope);
	if (i == SIZE_MAX)
		return;
	size_t mask = t->gcap - 1;
	t->g[i].uid = 0;
	t->gn--;
	for (size_t j = (i + 1) & mask; t->g[j].uid; j = (j + 1) & mask) {
		size_t home = gslot_hash(t->g[j].uid, t->g[j].kind, t->g[j].scope) & mask;
		/* j's entry may move to the hole at i unless its home lies
		 * cyclically in (i, j] */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->g[i] = t->g[j];
			t->g[j].uid = 0;
			i = j;
		}
	}
}

/* The image flags of an account: access_compute()'s rule over the table. */
static uint8_t flags_of(struct nss_table *t, uint32_t uid, int disabled)
{
	if (disabled)
		return SVCA_SNAP_DISABLED;
	int role = ROLE_NONE;
	for (size_t j = 0; j < t->nhw; j++) {
		int r = grant_role(t, uid, SCOPE_WORKSPACE, t->hw[j].ws);
		if (r > role)
			role = r;
		r = grant_role(t, uid, SCOPE_TEAM, t->hw[j].team);
		if (r > role)
			role = r;
	}
	unsigned caps = t->role_caps[role];
	return (uint8_t)(((caps & CAP_LOGIN) ? SVCA_SNAP_LOGIN : 0) |
			 ((caps & CAP_SUDO) ? SVCA_SNAP_SUDO : 0));
}

/* ---- rows ---- */

/* Appends name, NUL, gecos, NUL.  The offset, or -1 when out of memory. */
static int64_t arena_add(struct nss_table *t, const char *name, size_t nlen, const char *gecos,
			 size_t glen)
{
	size_t need = nlen + glen + 2;
	if (t->alen + need > t->acap) {
		size_t ncap = t->acap ? t->acap : 65536;
		while (ncap < t->alen + need)
			ncap *= 2;
		if (ncap > UINT32_MAX)
			return -1;
		char *na = realloc(t->arena, ncap);
		if (!na)
			return -1;
		t->arena = na;
		t->acap = ncap;
	}
	size_t off = t->alen;
	memcpy(t->arena + off, name, nlen);
	t->arena[off + nlen] = '\0';
	memcpy(t->arena + off + nlen + 1, gecos, glen);
	t->arena[off + nlen + 1 + glen] = '\0';
	t->alen += need;
	return (int64_t)off;
}

/* Rewrites the arena in record order without the strings of replaced and
 * deleted rows: when they are most of it, or (force) so that the image's
 * string table can be written from it in one piece.  -1: out of memory
 * (the table stays as it was: correct, only larger). */
static int arena_compact(struct nss_table *t, int force)
{
	if (!force && (t->garbage < 4096 || t->garbage < t->alen / 2))
		return 0;
	size_t len = t->alen - t->garbage;
	size_t cap = len + len / 4 + 64;
	char *na = malloc(cap);
	if (!na)
		return -1;
	size_t off = 0;
	for (size_t i = 0; i < t->n; i++) {
		size_t l = (size_t)t->rows[i].nlen + t->rows[i].glen + 2;
		memcpy(na + off, t->arena + t->rows[i].str, l);
		t->rows[i].str = (uint32_t)off;
		off += l;
	}
	free(t->arena);
	t->arena = na;
	t->alen = off;
	t->acap = cap;
	t->garbage = 0;
	return 0;
}

/* The row of a name, or -1. */
static int64_t find_name(struct nss_table *t, const char *name)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, row_name(t, &t->rows[t->nidx[mid]]));
		if (c == 0)
			return t->nidx[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* The row of a uid, or -1. */
static int64_t find_uid(struct nss_table *t, uint32_t uid)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->rows[mid].uid == uid)
			return (int64_t)mid;
		if (t->rows[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static void log_refused(const char *name, uint32_t uid, const char *why)
{
	log_err("nss snapshot: account '%s' (uid %u) left out: %s", name, (unsigned)uid, why);
}

static void kill_row(struct nss_table *t, struct row *r)
{
	r->dead = 1;
	t->garbage += (size_t)r->nlen + r->glen + 2;
}

static int rows_by_uid(const void *a, const void *b, void *arg)
{
	struct nss_table *t = arg;
	const struct row *x = a, *y = b;
	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return strcmp(row_name(t, x), row_name(t, y));
}

static int ins_by_uid(const void *a, const void *b)
{
	uint32_t x = ((const struct row *)a)->uid, y = ((const struct row *)b)->uid;
	return x < y ? -1 : x > y;
}

static int idx_by_name(const void *a, const void *b, void *arg)
{
	struct nss_table *t = arg;
	return strcmp(row_name(t, &t->rows[*(const uint32_t *)a]),
		      row_name(t, &t->rows[*(const uint32_t *)b]));
}

/* Drops dead rows (only where nidx is not in use yet). */
static void rows_compact(struct nss_table *t)
{
	size_t k = 0;
	for (size_t i = 0; i < t->n; i++)
		if (!t->rows[i].dead)
			t->rows[k++] = t->rows[i];
	t->n = k;
}

static int reserve(void **v, size_t *cap, size_t want, size_t size)
{
	if (want <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 64;
	while (ncap < want)
		ncap += ncap / 2 + 64;
	void *nv = realloc(*v, ncap * size);
	if (!nv)
		return -1;
	*v = nv;
	*cap = ncap;
	return 0;
}

/*
 * Applies k new rows (sorted by uid) and the rows marked dead to rows[]
 * and nidx[].  The usual case, new accounts above every uid and nothing
 * deleted, appends; otherwise one merge pass.  The name index takes the
 * new names by binary search and block moves: O(n) bytes moved, O(k log n)
 * comparisons.  -1: out of memory or a uid held twice (the caller
 * rebuilds).
 */
static int restructure(struct nss_table *t, const struct row *ins, size_t k, size_t ndead)
{
	size_t newn = t->n - ndead + k;
	uint32_t *pos = calloc(k ? k : 1, sizeof(*pos)); /* new row numbers of ins */
	uint32_t *remap = NULL;
	int ret = -1;
	if (!pos)
		return -1;
	for (size_t j = 1; j < k; j++)
		if (ins[j].uid == ins[j - 1].uid)
			goto out;
	if (!ndead && (!t->n || !k || ins[0].uid > t->rows[t->n - 1].uid)) {
		if (reserve((void **)&t->rows, &t->cap, newn, sizeof(*t->rows)) < 0)
			goto out;
		memcpy(t->rows + t->n, ins, k * sizeof(*ins));
		for (size_t j = 0; j < k; j++)
			pos[j] = (uint32_t)(t->n + j);
	} else {
		struct row *nr = malloc((newn ? newn : 1) * sizeof(*nr));
		remap = malloc((t->n ? t->n : 1) * sizeof(*remap));
		if (!nr || !remap) {
			free(nr);
			goto out;
		}
		size_t i = 0, j = 0, o = 0;
		while (i < t->n || j < k) {
			if (i < t->n && t->rows[i].dead) {
				remap[i++] = UINT32_MAX;
				continue;
			}
			if (i < t->n && j < k && t->rows[i].uid == ins[j].uid) {
				free(nr);
				goto out; /* the store holds this uid twice */
			}
			if (j == k || (i < t->n && t->rows[i].uid < ins[j].uid)) {
				remap[i++] = (uint32_t)o;
				nr[o++] = t->rows[i - 1];
			} else {
				pos[j] = (uint32_t)o;
				nr[o++] = ins[j++];
			}
		}
		free(t->rows);
		t->rows = nr;
		t->cap = newn ? newn : 1;
	}

	/* the name index: old entries renumbered, dead ones dropped */
	size_t m = t->n;
	if (remap) {
		m = 0;
		for (size_t i = 0; i < t->n; i++)
			if (remap[t->nidx[i]] != UINT32_MAX)
				t->nidx[m++] = remap[t->nidx[i]];
	}
	if (reserve((void **)&t->nidx, &t->nidx_cap, newn, sizeof(*t->nidx)) < 0)
		goto out;
	t->n = newn;
	/* the new names, in name order, merged in from the end */
	if (k > 1)
		qsort_r(pos, k, sizeof(*pos), idx_by_name, t);
	size_t i = m, o = m + k;
	for (size_t j = k; j-- > 0;) {
		const char *nm = row_name(t, &t->rows[pos[j]]);
		size_t lo = 0, hi = i; /* first old entry after nm */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (strcmp(row_name(t, &t->rows[t->nidx[mid]]), nm) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		o -= i - lo;
		memmove(t->nidx + o, t->nidx + lo, (i - lo) * sizeof(*t->nidx));
		i = lo;
		t->nidx[--o] = pos[j];
	}
	ret = 0;
out:
	free(remap);
	free(pos);
	return ret;
}

/* ---- building, from the store ---- */

/* Empties the table; the hooks hung on the store (their .arg is t), the
 * build count and check_reachable's last answer stay. */
static void table_free(struct nss_table *t)
{
	free(t->rows);
	free(t->nidx);
	free(t->arena);
	free(t->g);
	for (size_t i = 0; i < t->nscopes; i++)
		free(t->scopes[i]);
	free(t->scopes);
	free(t->shash);
	free(t->hw);
	free(t->tname);
	free(t->tg);
	free((char *)t->p.home_base);
	free((char *)t->p.login_shell);
	free((char *)t->p.nologin_shell);
	free((char *)t->p.sudo_group);
	strlist_free(&t->hwnames);
	strlist_free(&t->reserved);
	struct change_hooks h = t->hooks;
	unsigned long builds = t->builds;
	int warned = t->warned;
	memset(t, 0, sizeof(*t));
	t->hooks = h;
	t->builds = builds;
	t->warned = warned;
}

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The names of admin_groups, super_admin_groups and daemon_user, in that
 * order (sudo_group is in t->p): calls fn(arg, name) for each until fn
 * returns non-zero, and returns that. */
static int each_reserved(const struct svca_config *c, int (*fn)(void *, const char *), void *arg)
{
	const struct strlist *l[2] = { &c->admin_groups, &c->super_admin_groups };
	int r = 0;
	for (size_t k = 0; k < 2 && !r; k++)
		for (size_t i = 0; i < l[k]->n && !r; i++)
			r = fn(arg, l[k]->v[i]);
	if (!r && c->daemon_user)
		r = fn(arg, c->daemon_user);
	return r;
}

static int reserved_add(void *arg, const char *name)
{
	struct nss_table *t = arg;
	char **v = realloc(t->reserved.v, (t->reserved.n + 1) * sizeof(*v));
	if (!v)
		return -1;
	t->reserved.v = v;
	if (!(v[t->reserved.n] = strdup(name)))
		return -1;
	t->reserved.n++;
	return 0;
}

struct reserved_walk {
	const struct nss_table *t;
	size_t i;
};

static int reserved_differs(void *arg, const char *name)
{
	struct reserved_walk *w = arg;
	const struct strlist *l = &w->t->reserved;
	return w->i >= l->n || strcmp(l->v[w->i++], name) != 0;
}

static int reserved_same(struct nss_table *t, const struct svca_config *c)
{
	struct reserved_walk w = { t, 0 };
	return !each_reserved(c, reserved_differs, &w) && w.i == t->reserved.n;
}

/* Why an account may not be in the snapshot: the format's rules, or a name
 * the configuration reserves (nss_entry_refused checks sudo_group).  An
 * account created before such names were refused would otherwise resolve
 * as that group (its private group has its name) or as daemon_user, which
 * pam_svcacct and svcacctctl trust as the owner of the socket. */
static const char *entry_refused(struct nss_table *t, const char *name, uint32_t uid)
{
	const char *why = nss_entry_refused(&t->p, name, uid);
	if (!why && strlist_has(&t->reserved, name))
		why = "the name is reserved by admin_groups, super_admin_groups or daemon_user";
	return why;
}

/* 1 when the table was built for this daemon's store and configuration. */
static int table_current(struct nss_table *t, const struct daemon *d)
{
	const struct svca_config *c = &d->cfg;
	if (!t->built || t->stale || t->store != d->store || t->p.uid_min != c->uid_min ||
	    t->p.uid_max != c->uid_max || !same_str(t->p.home_base, c->home_base) ||
	    !same_str(t->p.login_shell, c->login_shell) ||
	    !same_str(t->p.nologin_shell, c->nologin_shell) ||
	    !same_str(t->p.sudo_group, c->sudo_group) ||
	    memcmp(t->role_caps, c->role_caps, sizeof(t->role_caps)) != 0 ||
	    t->hwnames.n != c->host_workspaces.n)
		return 0;
	for (size_t i = 0; i < t->hwnames.n; i++)
		if (strcmp(t->hwnames.v[i], c->host_workspaces.v[i]) != 0)
			return 0;
	return reserved_same(t, c);
}

/* Resolves the host workspaces into hw[] (calloc'ed, *n entries).  0 ok,
 * -1 storage error or out of memory. */
static int read_host_ws(struct nss_table *t, struct store *s, struct hostws **out, size_t *n)
{
	struct hostws *hw = calloc(t->hwnames.n + 1, sizeof(*hw));
	size_t k = 0;
	if (!hw)
		return -1;
	for (size_t i = 0; i < t->hwnames.n; i++) {
		struct workspace w;
		int r = workspace_get(s, t->hwnames.v[i], &w);
		if (r < 0) {
			free(hw);
			return -1;
		}
		if (r == 0)
			continue; /* a host workspace that does not exist grants nothing */
		hw[k].ws = scope_intern(t, t->hwnames.v[i]);
		hw[k].team = scope_intern(t, w.team);
		if (!hw[k].ws || !hw[k].team) {
			free(hw);
			return -1;
		}
		k++;
	}
	*out = hw;
	*n = k;
	return 0;
}

static int load_grant(void *arg, const struct grant *g)
{
	struct nss_table *t = arg;
	uint32_t sc = scope_intern(t, g->scope);
	if (!sc || grant_set(t, g->uid, (uint8_t)g->kind, sc, (uint8_t)g->role) < 0)
		return 1;
	return 0;
}

static int load_account(void *arg, const struct account *a)
{
	struct nss_table *t = arg;
	const char *why = entry_refused(t, a->name, a->uid);
	if (why) {
		log_refused(a->name, a->uid, why);
		return 0;
	}
	char gecos[SVCA_SNAP_GECOS_MAX + 1];
	nss_gecos_sanitize(a->description, gecos, sizeof(gecos));
	size_t nlen = strlen(a->name), glen = strlen(gecos);
	int64_t off = arena_add(t, a->name, nlen, gecos, glen);
	if (off < 0 || reserve((void **)&t->rows, &t->cap, t->n + 1, sizeof(*t->rows)) < 0)
		return 1;
	t->rows[t->n++] = (struct row){ .uid = a->uid,
					.str = (uint32_t)off,
					.nlen = (uint8_t)nlen,
					.glen = (uint8_t)glen,
					.flags = flags_of(t, a->uid, a->disabled) };
	return 0;
}

static void hooks(struct nss_table *t, int on);

/* The whole table from the store: at start, after a reload, and when it
 * cannot be trusted.  0 ok; -1 (logged) and no table. */
static int table_build(struct nss_table *t, struct daemon *d)
{
	const struct svca_config *c = &d->cfg;
	table_free(t);
	t->store = d->store;
	t->p.uid_min = c->uid_min;
	t->p.uid_max = c->uid_max;
	t->p.sudo_gid = nss_sudo_gid(c->uid_min, c->uid_max);
	t->p.home_base = c->home_base ? strdup(c->home_base) : NULL;
	t->p.login_shell = c->login_shell ? strdup(c->login_shell) : NULL;
	t->p.nologin_shell = c->nologin_shell ? strdup(c->nologin_shell) : NULL;
	t->p.sudo_group = c->sudo_group ? strdup(c->sudo_group) : NULL;
	memcpy(t->role_caps, c->role_caps, sizeof(t->role_caps));
	t->hwnames.v = calloc(c->host_workspaces.n + 1, sizeof(char *));
	if (!t->hwnames.v)
		goto oom;
	for (size_t i = 0; i < c->host_workspaces.n; i++) {
		if (!(t->hwnames.v[i] = strdup(c->host_workspaces.v[i])))
			goto oom;
		t->hwnames.n++;
	}
	if (each_reserved(c, reserved_add, t) != 0)
		goto oom;
	if ((c->home_base && !t->p.home_base) || (c->login_shell && !t->p.login_shell) ||
	    (c->nologin_shell && !t->p.nologin_shell) || (c->sudo_group && !t->p.sudo_group))
		goto oom;
	if (!nss_params_ok(&t->p)) {
		log_err("nss snapshot: cannot build it: %s (check uid_min, uid_max, home_base, "
			"login_shell, nologin_shell and sudo_group)",
			strerror(EINVAL));
		goto fail;
	}
	if (read_host_ws(t, d->store, &t->hw, &t->nhw) < 0) {
		log_err("nss snapshot: cannot read the host workspaces; the snapshot stays as it "
			"was");
		goto fail;
	}
	int r = grant_foreach(d->store, load_grant, t);
	if (r != 0) {
		if (r > 0)
			goto oom;
		log_err("nss snapshot: cannot read the grants; the snapshot stays as it was");
		goto fail;
	}
	r = account_foreach(d->store, load_account, t);
	if (r != 0) {
		if (r > 0)
			goto oom;
		log_err("nss snapshot: cannot read the accounts; the snapshot stays as it was");
		goto fail;
	}
	/* Names are keys of the store and uids are indexed, so neither
	 * repeats unless the store is damaged: then the first stays. */
	uint32_t *ix = malloc((t->n ? t->n : 1) * sizeof(*ix));
	if (!ix)
		goto oom;
	for (size_t i = 0; i < t->n; i++)
		ix[i] = (uint32_t)i;
	if (t->n > 1)
		qsort_r(ix, t->n, sizeof(*ix), idx_by_name, t);
	for (size_t i = 1; i < t->n; i++)
		if (strcmp(row_name(t, &t->rows[ix[i - 1]]), row_name(t, &t->rows[ix[i]])) == 0) {
			log_refused(row_name(t, &t->rows[ix[i]]), t->rows[ix[i]].uid,
				    "another account has the same name");
			kill_row(t, &t->rows[ix[i]]);
			t->dups = 1;
		}
	free(ix);
	rows_compact(t);
	if (t->n > 1) /* (qsort's base may not be NULL, even for 0 elements) */
		qsort_r(t->rows, t->n, sizeof(*t->rows), rows_by_uid, t);
	for (size_t i = 1; i < t->n; i++)
		if (t->rows[i].uid == t->rows[i - 1].uid) {
			log_refused(row_name(t, &t->rows[i]), t->rows[i].uid,
				    "another account has the same uid");
			kill_row(t, &t->rows[i]);
			t->dups = 1;
		}
	rows_compact(t);
	if (reserve((void **)&t->nidx, &t->nidx_cap, t->n ? t->n : 1, sizeof(*t->nidx)) < 0)
		goto oom;
	for (size_t i = 0; i < t->n; i++)
		t->nidx[i] = (uint32_t)i;
	if (t->n > 1)
		qsort_r(t->nidx, t->n, sizeof(*t->nidx), idx_by_name, t);
	arena_compact(t, 1);
	t->built = 1;
	hooks(t, 1);
	t->builds++;
	log_info("nss snapshot: %zu accounts and %zu grants read from the store (in memory: "
		 "%zu KiB)",
		 t->n, t->gn,
		 (t->cap * sizeof(*t->rows) + t->nidx_cap * sizeof(*t->nidx) + t->acap +
		  t->gcap * sizeof(*t->g)) /
			 1024);
	return 0;
oom:
	log_err("nss snapshot: out of memory; the snapshot stays as it was");
fail:
	hooks(t, 0);
	table_free(t);
	return -1;
}

/* ---- changes between writes ---- */

static void note_stale(struct nss_table *t)
{
	t->stale = 1;
	free(t->tname);
	free(t->tg);
	t->tname = NULL;
	t->tg = NULL;
	t->ntname = t->tname_cap = t->ntg = t->tg_cap = 0;
}

static void on_account(void *arg, struct store *s, const struct account *a, int deleted)
{
	struct nss_table *t = arg;
	if (!t->built || t->stale || s != t->store)
		return;
	int64_t r = find_name(t, a->name);
	if (deleted && r < 0)
		return;
	if (!deleted && r >= 0) {
		const struct row *w = &t->rows[r];
		if (w->uid == a->uid && !!(w->flags & SVCA_SNAP_DISABLED) == !!a->disabled) {
			char gecos[SVCA_SNAP_GECOS_MAX + 1];
			nss_gecos_sanitize(a->description, gecos, sizeof(gecos));
			if (strlen(gecos) == w->glen &&
			    memcmp(gecos, row_gecos(t, w), w->glen) == 0)
				return; /* nothing the image shows */
		}
	}
	if (t->ntname == TOUCH_MAX ||
	    reserve((void **)&t->tname, &t->tname_cap, t->ntname + 1, sizeof(*t->tname)) < 0) {
		note_stale(t);
		return;
	}
	snprintf(t->tname[t->ntname++], sizeof(tname_t), "%s", a->name);
}

static void on_grant(void *arg, struct store *s, const struct grant *g, int deleted)
{
	struct nss_table *t = arg;
	if (!t->built || t->stale || s != t->store || !g->uid)
		return;
	uint32_t sc = scope_find(t, g->scope);
	int role = sc ? grant_role(t, g->uid, (uint8_t)g->kind, sc) : -1;
	if (deleted ? role < 0 : role == (int)g->role)
		return;
	if ((!sc && !(sc = scope_intern(t, g->scope))) || t->ntg == TOUCH_MAX ||
	    reserve((void **)&t->tg, &t->tg_cap, t->ntg + 1, sizeof(*t->tg)) < 0) {
		note_stale(t);
		return;
	}
	t->tg[t->ntg++] = (struct tgrant){ .uid = g->uid, .scope = sc, .kind = (uint8_t)g->kind };
}

static void on_scope(void *arg, struct store *s)
{
	struct nss_table *t = arg;
	if (t->built && s == t->store)
		t->scopes_changed = 1;
}

/* The table listens to the changes of the store it was built from
 * (t->hooks, set up by nss_table_new, .arg the table).  The hooks stay on
 * that store when the table is dropped (the store may be closed by then):
 * each of them returns at once unless a table built from that very store
 * is in memory. */
static void hooks(struct nss_table *t, int on)
{
	if (on && t->store)
		store_set_hooks(t->store, &t->hooks);
}

/* What the store says now about one noted account. */
struct upd {
	uint32_t uid;
	uint8_t present, disabled;
	char gecos[SVCA_SNAP_GECOS_MAX + 1];
};

static int by_tname(const void *a, const void *b)
{
	return strcmp(*(const tname_t *)a, *(const tname_t *)b);
}

/*
 * Brings the table up to date with the store: re-reads what the hooks
 * noted and applies it.  0 ok; 1 the table must be rebuilt: out of
 * memory, a uid held twice, or a read that failed (a storage error, or a
 * record that cannot be decoded, which a full walk skips as it always
 * did; if the store is failing, so does the rebuild, logged, and the next
 * write tries again).
 */
static int table_refresh(struct nss_table *t, struct store *s)
{
	if (!t->ntname && !t->ntg && !t->scopes_changed)
		return 0;
	struct upd *u = NULL;
	int8_t *groles = NULL;
	struct hostws *hw = NULL;
	size_t nhw = 0;
	struct row *ins = NULL;
	int ret = 1;

	/* Phase 1: read, changing nothing. */
	if (t->ntname > 1) {
		qsort(t->tname, t->ntname, sizeof(*t->tname), by_tname);
		size_t k = 1;
		for (size_t i = 1; i < t->ntname; i++)
			if (strcmp(t->tname[i], t->tname[k - 1]) != 0)
				memcpy(t->tname[k++], t->tname[i], sizeof(tname_t));
		t->ntname = k;
	}
	u = calloc(t->ntname ? t->ntname : 1, sizeof(*u));
	groles = calloc(t->ntg ? t->ntg : 1, sizeof(*groles));
	ins = calloc(t->ntname ? t->ntname : 1, sizeof(*ins));
	if (!u || !groles || !ins)
		goto out;
	for (size_t i = 0; i < t->ntname; i++) {
		struct account a;
		int r = account_get(s, t->tname[i], &a);
		/* -1 is also a record that cannot be decoded, which a walk
		 * skips: let a full walk sort it out, as for a damaged one */
		if (r < 0 || (r == 1 && strcmp(a.name, t->tname[i]) != 0)) {
			ret = 1;
			goto out;
		}
		u[i].present = r == 1;
		u[i].uid = a.uid;
		u[i].disabled = a.disabled != 0;
		if (r == 1)
			nss_gecos_sanitize(a.description, u[i].gecos, sizeof(u[i].gecos));
	}
	for (size_t i = 0; i < t->ntg; i++) {
		struct grant g;
		int r = grant_get(s, t->tg[i].uid, (enum scope_kind)t->tg[i].kind,
				  t->scopes[t->tg[i].scope - 1], &g);
		if (r < 0) {
			ret = 1; /* as above */
			goto out;
		}
		groles[i] = r == 1 ? (int8_t)g.role : -1;
	}
	if (t->scopes_changed && read_host_ws(t, s, &hw, &nhw) < 0) {
		ret = 1;
		goto out;
	}

	/* Phase 2: apply.  A failure from here on leaves a table that is
	 * only good for rebuilding. */
	for (size_t i = 0; i < t->ntg; i++) {
		if (groles[i] < 0)
			grant_unset(t, t->tg[i].uid, t->tg[i].kind, t->tg[i].scope);
		else if (grant_set(t, t->tg[i].uid, t->tg[i].kind, t->tg[i].scope,
				   (uint8_t)groles[i]) < 0)
			goto out;
	}
	int all = 0;
	if (t->scopes_changed) {
		all = nhw != t->nhw || (nhw && memcmp(hw, t->hw, nhw * sizeof(*hw)) != 0);
		free(t->hw);
		t->hw = hw;
		t->nhw = nhw;
		hw = NULL;
	}
	size_t k = 0, ndead = 0;
	for (size_t i = 0; i < t->ntname; i++) {
		const char *name = t->tname[i];
		int64_t r = find_name(t, name);
		const char *why = u[i].present ? entry_refused(t, name, u[i].uid) : NULL;
		if (!u[i].present || why) {
			if (why)
				log_refused(name, u[i].uid, why);
			if (r >= 0) {
				kill_row(t, &t->rows[r]);
				ndead++;
			}
			continue;
		}
		uint8_t flags = flags_of(t, u[i].uid, u[i].disabled);
		size_t nlen = strlen(name), glen = strlen(u[i].gecos);
		if (r >= 0 && t->rows[r].uid == u[i].uid) {
			struct row *w = &t->rows[r];
			w->flags = flags;
			if (glen != w->glen || memcmp(row_gecos(t, w), u[i].gecos, glen) != 0) {
				if (glen <= w->glen) { /* in place */
					memcpy(t->arena + w->str + nlen + 1, u[i].gecos, glen + 1);
					t->garbage += (size_t)w->glen - glen;
				} else {
					int64_t off = arena_add(t, name, nlen, u[i].gecos, glen);
					if (off < 0)
						goto out;
					t->garbage += (size_t)w->nlen + w->glen + 2;
					w->str = (uint32_t)off;
				}
				w->glen = (uint8_t)glen;
			}
			continue;
		}
		if (r >= 0) { /* the same name with another uid */
			kill_row(t, &t->rows[r]);
			ndead++;
		}
		/* .str: the update for now; strings are added in uid order
		 * below, so that new accounts above every uid keep the arena
		 * in record order */
		ins[k++] = (struct row){ .uid = u[i].uid,
					 .str = (uint32_t)i,
					 .nlen = (uint8_t)nlen,
					 .glen = (uint8_t)glen,
					 .flags = flags };
	}
	/* an account left out for sharing a uid or name may be next in line */
	if (ndead && t->dups)
		goto out;
	if (k > 1)
		qsort(ins, k, sizeof(*ins), ins_by_uid);
	for (size_t j = 0; j < k; j++) {
		size_t i = ins[j].str;
		int64_t off = arena_add(t, t->tname[i], ins[j].nlen, u[i].gecos, ins[j].glen);
		if (off < 0)
			goto out;
		ins[j].str = (uint32_t)off;
	}
	if ((k || ndead) && restructure(t, ins, k, ndead) < 0)
		goto out;
	/* capabilities that changed with grants or host workspaces; an
	 * account's own row was recomputed above (after the grants) */
	if (all) {
		for (size_t i = 0; i < t->n; i++)
			t->rows[i].flags =
				flags_of(t, t->rows[i].uid, t->rows[i].flags & SVCA_SNAP_DISABLED);
	} else {
		for (size_t i = 0; i < t->ntg; i++) {
			int64_t r = find_uid(t, t->tg[i].uid);
			if (r >= 0)
				t->rows[r].flags = flags_of(t, t->rows[r].uid,
							    t->rows[r].flags & SVCA_SNAP_DISABLED);
		}
	}
	t->ntname = t->ntg = 0;
	t->scopes_changed = 0;
	arena_compact(t, 0);
	ret = 0;
out:
	free(u);
	free(groles);
	free(hw);
	free(ins);
	return ret;
}

struct nss_table *nss_table_new(void)
{
	struct nss_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->hooks = (struct change_hooks){
		.account = on_account, .grant = on_grant, .scope = on_scope, .arg = t
	};
	return t;
}

void nss_table_free(struct nss_table *t)
{
	if (!t)
		return;
	table_free(t);
	free(t);
}

unsigned long nss_snapshot_builds(const struct nss_table *t)
{
	return t ? t->builds : 0;
}

void nss_snapshot_forget(struct nss_table *t)
{
	if (!t)
		return;
	hooks(t, 0);
	table_free(t);
}

/* ---- writing the image ------------------------------------------------------------ */

struct out {
	int fd;
	uint8_t *buf;
	size_t len, cap;
	uint64_t total; /* bytes handed to write() so far */
};

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *q = p;
	while (n) {
		ssize_t w = write(fd, q, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

static int out_flush(struct out *o)
{
	if (o->len && write_all(o->fd, o->buf, o->len) < 0)
		return -1;
	o->total += o->len;
	o->len = 0;
	return 0;
}

/* Room for n more bytes in the buffer (n <= cap). */
static uint8_t *out_room(struct out *o, size_t n)
{
	if (o->cap - o->len < n && out_flush(o) < 0)
		return NULL;
	uint8_t *p = o->buf + o->len;
	o->len += n;
	return p;
}

static int out_put(struct out *o, const void *p, size_t n)
{
	if (!n)
		return 0;
	if (n > o->cap / 2) { /* large: straight to the file */
		if (out_flush(o) < 0 || write_all(o->fd, p, n) < 0)
			return -1;
		o->total += n;
		return 0;
	}
	uint8_t *d = out_room(o, n);
	if (!d)
		return -1;
	memcpy(d, p, n);
	return 0;
}

/* Zeros up to file offset off. */
static int out_pad(struct out *o, uint64_t off)
{
	static const uint8_t zero[SVCA_SNAP_ALIGN];
	uint64_t at = o->total + o->len;
	return at < off ? out_put(o, zero, (size_t)(off - at)) : 0;
}

struct emit_ctx {
	struct nss_table *t;
	const struct svca_snap_header *h;
	size_t hs;           /* bytes of header strings */
	size_t strbytes;     /* bytes of record strings */
	const uint8_t *sudo; /* bitmap of the rows in sudo_group; NULL: none */
};

/* The image, byte for byte what nss_snap_build() makes of the same
 * accounts: header, records, name index, sudo index, strings (the header's
 * four, then each record's name and GECOS in record order).  The name
 * index and, when the arena is in record order (the usual case, else it
 * is put in order first), the strings go to the file straight from the
 * table. */
static int emit(void *arg, int fd)
{
	const struct emit_ctx *c = arg;
	struct nss_table *t = c->t;
	const struct svca_snap_header *h = c->h;
	struct out o = { .fd = fd, .cap = 1u << 16 };
	int ret = -1;
	o.buf = malloc(o.cap);
	if (!o.buf)
		return -1;
	if (out_put(&o, h, sizeof(*h)) < 0 || out_pad(&o, h->rec_off) < 0)
		goto out;
	uint32_t soff = (uint32_t)c->hs;
	size_t base = t->n ? t->rows[0].str : 0;
	int inorder = 1;
	for (size_t i = 0; i < t->n; i++) {
		const struct row *r = &t->rows[i];
		struct svca_snap_rec rec = {
			.uid = r->uid,
			.flags = r->flags & SVCA_SNAP_FLAGS_KNOWN,
			.name = { soff, r->nlen },
			.gecos = { soff + r->nlen + 1u, r->glen },
		};
		inorder &= r->str == base + (soff - c->hs);
		soff += (uint32_t)r->nlen + r->glen + 2u;
		uint8_t *d = out_room(&o, sizeof(rec));
		if (!d)
			goto out;
		memcpy(d, &rec, sizeof(rec));
	}
	if (out_pad(&o, h->name_idx_off) < 0 || out_put(&o, t->nidx, t->n * sizeof(*t->nidx)) < 0 ||
	    out_pad(&o, h->sudo_idx_off) < 0)
		goto out;
	if (c->sudo)
		for (size_t i = 0; i < t->n; i++) {
			uint32_t x = t->nidx[i];
			if (c->sudo[x / 8] & (1u << (x % 8))) {
				uint8_t *d = out_room(&o, sizeof(uint32_t));
				if (!d)
					goto out;
				memcpy(d, &x, sizeof(x));
			}
		}
	if (out_pad(&o, h->str_off) < 0)
		goto out;
	uint8_t *d = out_room(&o, c->hs);
	if (!d)
		goto out;
	nss_snap_header_strings_put(&t->p, d);
	if (!inorder && arena_compact(t, 1) == 0)
		inorder = 1;
	if (inorder) {
		if (t->n && out_put(&o, t->arena + t->rows[0].str, c->strbytes) < 0)
			goto out;
	} else {
		for (size_t i = 0; i < t->n; i++)
			if (out_put(&o, t->arena + t->rows[i].str,
				    (size_t)t->rows[i].nlen + t->rows[i].glen + 2) < 0)
				goto out;
	}
	if (out_flush(&o) < 0)
		goto out;
	if (o.total != h->file_size) {
		errno = EIO; /* cannot happen: the layout is nss_snap_header's */
		goto out;
	}
	ret = 0;
out:
	free(o.buf);
	return ret;
}

/* Warns (once per change of the answer) when others cannot reach nss_dir:
 * then only root resolves service accounts. */
static void check_reachable(struct nss_table *t, const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	int bad = 0;
	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return;
	for (;;) {
		if (stat(path, &st) == 0 && (st.st_mode & S_IXOTH) == 0) {
			if (!t->warned)
				log_warn("nss_dir %s: %s (mode %04o) is not searchable by others; "
					 "only root can resolve service accounts (chmod o+x %s)",
					 dir, path, (unsigned)(st.st_mode & 07777), path);
			bad = 1;
			break;
		}
		char *slash = strrchr(path, '/');
		if (!slash || slash == path)
			break;
		*slash = '\0';
	}
	t->warned = bad;
}

void nss_snapshot_write(struct daemon *d)
{
	const struct svca_config *cfg = &d->cfg;
	struct nss_table *t = d->nss;
	char err[512];

	if (!d->nss_dirty)
		return;
	if (!cfg->nss_dir || !d->store)
		return;
	if (!t) {
		log_err("nss snapshot: no table (nss_table_new was not called)");
		return;
	}
	if (table_current(t, d) && table_refresh(t, d->store) != 0)
		t->stale = 1;
	if (!table_current(t, d) && table_build(t, d) < 0)
		return;

	size_t nsudo = 0, strbytes = 0;
	for (size_t i = 0; i < t->n; i++) {
		nsudo += (t->rows[i].flags & SVCA_SNAP_SUDO) != 0;
		strbytes += (size_t)t->rows[i].nlen + t->rows[i].glen + 2;
	}
	/* sudo_group's members in name order: a bitmap of them keeps that
	 * walk of the name index out of the rows */
	uint8_t *sudo = NULL;
	if (nsudo && !(sudo = calloc(t->n / 8 + 1, 1))) {
		log_err("nss snapshot: out of memory");
		return;
	}
	for (size_t i = 0; sudo && i < t->n; i++)
		if (t->rows[i].flags & SVCA_SNAP_SUDO)
			sudo[i / 8] |= (uint8_t)(1u << (i % 8));
	struct svca_snap_header h;
	if (nss_snap_header(&t->p, t->n, nsudo, strbytes, &h) < 0) {
		log_err("nss snapshot: cannot build it: %s%s", strerror(errno),
			errno == EINVAL ? " (check uid_min, uid_max, home_base, login_shell, "
					  "nologin_shell and sudo_group)"
					: "");
		free(sudo);
		return;
	}
	struct emit_ctx c = { t, &h, nss_snap_header_strings(&t->p), strbytes, sudo };
	int r = nss_snap_install_emit(cfg->nss_dir, &h, emit, &c, err, sizeof(err));
	free(sudo);
	if (r < 0) {
		log_err("nss snapshot: %s", err);
		return;
	}
	check_reachable(t, cfg->nss_dir);
	d->nss_dirty = 0;
}
