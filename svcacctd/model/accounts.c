/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Service account records and uid allocation. */
#include "accounts.h"

#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "sockio.h"

#define UID_CURSOR_KEY "meta/uid_cursor"
/* The last generation handed out, to any account (account_next_gen). */
#define GEN_COUNTER_KEY "meta/gen"
/* The record field of tokens_revoked_gen.  Record tags only need to be
 * unique within the record: an existing tag, no new wire number. */
#define F_TOKENS_REVOKED_GEN F_LIMIT
/* Present once every account got a generation from the counter. */
#define GEN_UPGRADED_KEY "meta/gen_upgraded"

/* Files checked for name and uid clashes; tests may point elsewhere. */
static const char *passwd_file(void)
{
	const char *p = getenv("SVCACCTD_PASSWD_FILE");
	return p && *p ? p : "/etc/passwd";
}

const char *host_group_file(void)
{
	const char *p = getenv("SVCACCTD_GROUP_FILE");
	return p && *p ? p : "/etc/group";
}

const char *org_role_name(enum org_role r)
{
	switch (r) {
	case ORG_ADMIN: return "admin";
	case ORG_SUPER: return "super-admin";
	default: return "member";
	}
}

int org_role_parse(const char *s, enum org_role *out)
{
	if (!strcmp(s, "member"))
		*out = ORG_MEMBER;
	else if (!strcmp(s, "admin"))
		*out = ORG_ADMIN;
	else if (!strcmp(s, "super-admin"))
		*out = ORG_SUPER;
	else
		return -1;
	return 0;
}

int account_encode(const struct account *a, struct svca_buf *b)
{
	rec_begin(b, REC_ACCOUNT, ACCOUNT_RECORD_VERSION);
	svca_put_str(b, F_NAME, a->name);
	svca_put_u64(b, F_UID, a->uid);
	svca_put_str(b, F_DESCRIPTION, a->description);
	svca_put_str(b, F_ORG_ROLE, org_role_name(a->org_role));
	svca_put_str(b, F_STATUS, a->disabled ? "disabled" : "active");
	svca_put_u64(b, F_CREATED_AT, a->created_at);
	svca_put_str(b, F_CREATED_BY, a->created_by);
	svca_put_u64(b, F_UPDATED_AT, a->updated_at);
	svca_put_str(b, F_UPDATED_BY, a->updated_by);
	svca_put_u64(b, F_LAST_ACTIVITY, a->last_activity);
	svca_put_u64(b, F_SEQ, a->gen);
	/* Only when on: a record without it reads as off everywhere, and a
	 * reader that does not know the field ignores it (record.h). */
	if (a->break_glass)
		svca_put_u64(b, F_BREAK_GLASS, 1);
	if (a->tokens_revoked_gen)
		svca_put_u64(b, F_TOKENS_REVOKED_GEN, a->tokens_revoked_gen);
	return b->failed ? -1 : 0;
}

int account_decode(const uint8_t *data, size_t len, struct account *a)
{
	struct rec r;
	char buf[32];

	memset(a, 0, sizeof(*a));
	if (rec_parse(data, len, REC_ACCOUNT, &r) < 0 || r.version > ACCOUNT_RECORD_VERSION)
		return -1;
	rec_str(&r, F_NAME, a->name, sizeof(a->name));
	uint64_t uid = rec_u64(&r, F_UID);
	if (!svca_account_name_valid(a->name) || uid == 0 || uid > UINT32_MAX)
		return -1;
	a->uid = (uint32_t)uid;
	rec_str(&r, F_DESCRIPTION, a->description, sizeof(a->description));
	rec_str(&r, F_ORG_ROLE, buf, sizeof(buf));
	if (org_role_parse(buf, &a->org_role) < 0)
		a->org_role = ORG_MEMBER;
	rec_str(&r, F_STATUS, buf, sizeof(buf));
	a->disabled = strcmp(buf, "disabled") == 0;
	a->created_at = rec_u64(&r, F_CREATED_AT);
	rec_str(&r, F_CREATED_BY, a->created_by, sizeof(a->created_by));
	a->updated_at = rec_u64(&r, F_UPDATED_AT);
	rec_str(&r, F_UPDATED_BY, a->updated_by, sizeof(a->updated_by));
	a->last_activity = rec_u64(&r, F_LAST_ACTIVITY);
	a->gen = rec_u64(&r, F_SEQ);
	a->break_glass = rec_u64(&r, F_BREAK_GLASS) == 1;
	a->tokens_revoked_gen = rec_u64(&r, F_TOKENS_REVOKED_GEN);
	return 0;
}

static void acct_key(const char *name, char *key, size_t len)
{
	snprintf(key, len, "acct/%s", name);
}

static void uid_key(uint32_t uid, char *key, size_t len)
{
	snprintf(key, len, "uid/%" PRIu32, uid);
}

int account_get(struct store *s, const char *name, struct account *a)
{
	char key[64];
	uint8_t *v;
	size_t n;

	if (!svca_account_name_valid(name))
		return 0;
	acct_key(name, key, sizeof(key));
	int r = store_get(s, DB_STATE, key, &v, &n);
	if (r <= 0)
		return r;
	r = account_decode(v, n, a) == 0 ? 1 : -1;
	free(v);
	return r;
}

int account_get_by_uid(struct store *s, uint32_t uid, struct account *a)
{
	char key[32], name[SVCA_NAME_MAX + 1];
	uint8_t *v;
	size_t n;

	uid_key(uid, key, sizeof(key));
	int r = store_get(s, DB_STATE, key, &v, &n);
	if (r <= 0)
		return r;
	if (n > SVCA_NAME_MAX) {
		free(v);
		return -1;
	}
	memcpy(name, v, n);
	name[n] = '\0';
	free(v);
	return account_get(s, name, a);
}

static void account_changed(struct store *s, const struct account *a, int deleted)
{
	const struct change_hooks *h = store_hooks(s);
	if (h && h->account)
		h->account(h->arg, s, a, deleted);
}

int account_put(struct store *s, const struct account *a)
{
	char key[64], ukey[32];
	struct svca_buf b;
	int r;

	account_changed(s, a, 0);

	svca_buf_init(&b, 65536);
	if (account_encode(a, &b) < 0) {
		svca_buf_free(&b);
		return -1;
	}
	acct_key(a->name, key, sizeof(key));
	uid_key(a->uid, ukey, sizeof(ukey));
	r = store_put(s, DB_STATE, key, b.data, b.len);
	if (r == 0)
		r = store_put(s, DB_STATE, ukey, (const uint8_t *)a->name, strlen(a->name));
	svca_buf_free(&b);
	return r;
}

int account_del(struct store *s, const struct account *a)
{
	char key[64], ukey[32];
	account_changed(s, a, 1);
	acct_key(a->name, key, sizeof(key));
	uid_key(a->uid, ukey, sizeof(ukey));
	if (store_del(s, DB_STATE, key) < 0)
		return -1;
	return store_del(s, DB_STATE, ukey);
}

/* ---- generations ---------------------------------------------------------------
 * A token names its account by uid, name and generation (tokens.c).  Every
 * generation comes from one store-wide counter, so no two accounts ever
 * share one, and an account created, renamed or re-roled later never gets
 * one that an earlier (maybe deleted) account had.  The counter never goes
 * below the wall clock in ms: a state restored from a backup still hands
 * out generations above those given out since the backup was taken. */

/* 1 read, 0 absent, -1 error or garbage. */
static int read_gen_counter(struct store *s, uint64_t *out)
{
	uint8_t *v;
	size_t n;
	char buf[24];
	int r = store_get(s, DB_STATE, GEN_COUNTER_KEY, &v, &n);
	if (r <= 0)
		return r;
	int ok = n > 0 && n < sizeof(buf);
	if (ok) {
		memcpy(buf, v, n);
		buf[n] = '\0';
		char *end;
		*out = strtoull(buf, &end, 10);
		ok = *end == '\0' && buf[0] >= '0' && buf[0] <= '9';
	}
	free(v);
	return ok ? 1 : -1;
}

static int max_gen_cb(void *arg, const struct account *a)
{
	uint64_t *max = arg;
	if (a->gen > *max)
		*max = a->gen;
	return 0;
}

int account_next_gen(struct store *s, uint64_t *gen)
{
	uint64_t cur = 0;
	int r = read_gen_counter(s, &cur);
	if (r < 0)
		return -1;
	/* No counter yet (account_gen_upgrade not run): above every account. */
	if (r == 0 && account_foreach(s, max_gen_cb, &cur) != 0)
		return -1;
	if (cur >= (uint64_t)INT64_MAX - 1)
		return -1; /* a JWT claim is a signed 64-bit integer */
	uint64_t next = cur + 1;
	int64_t wall = svca_wall_ms();
	if (wall > 0 && (uint64_t)wall > next)
		next = (uint64_t)wall;
	char buf[24];
	int len = snprintf(buf, sizeof(buf), "%" PRIu64, next);
	if (store_put(s, DB_STATE, GEN_COUNTER_KEY, (const uint8_t *)buf, (size_t)len) < 0)
		return -1;
	*gen = next;
	return 0;
}

int account_revoke_tokens(struct store *s, struct account *a)
{
	if (account_next_gen(s, &a->gen) < 0)
		return -1;
	a->tokens_revoked_gen = a->gen;
	return account_put(s, a);
}

struct name_list {
	char (*v)[SVCA_NAME_MAX + 1];
	size_t n, cap;
};

static int collect_name(void *arg, const struct account *a)
{
	struct name_list *l = arg;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		void *nv = realloc(l->v, ncap * sizeof(*l->v));
		if (!nv)
			return 1;
		l->v = nv;
		l->cap = ncap;
	}
	memcpy(l->v[l->n++], a->name, sizeof(a->name));
	return 0;
}

/* Accounts per transaction of the upgrade: bounds the journal record and
 * the undo memory however large the store is. */
#define GEN_UPGRADE_CHUNK 512

static int upgrade_chunk(struct store *s, const struct name_list *l, size_t from, size_t to,
			 int last)
{
	store_begin(s);
	int ret = 0;
	for (size_t i = from; i < to && ret == 0; i++) {
		struct account a;
		int g = account_get(s, l->v[i], &a);
		if (g < 0 ||
		    (g == 1 && (account_next_gen(s, &a.gen) < 0 || account_put(s, &a) < 0)))
			ret = -1;
	}
	uint64_t gen;
	/* The counter exists even in a store without accounts. */
	if (ret == 0 && last && account_next_gen(s, &gen) < 0)
		ret = -1;
	if (ret == 0 && last &&
	    store_put(s, DB_STATE, GEN_UPGRADED_KEY, (const uint8_t *)"1", 1) < 0)
		ret = -1;
	if (ret == 0 && store_commit(s) < 0)
		return -1; /* store_commit aborted it */
	if (ret < 0) {
		store_abort(s);
		return -1;
	}
	return store_flush(s);
}

int account_gen_upgrade(struct store *s)
{
	uint8_t *v;
	size_t n;
	int r = store_get(s, DB_STATE, GEN_UPGRADED_KEY, &v, &n);
	if (r != 0) {
		if (r == 1)
			free(v);
		return r < 0 ? -1 : 0;
	}
	struct name_list l = { 0 };
	if (account_foreach(s, collect_name, &l) != 0) {
		free(l.v);
		return -1;
	}
	/* Interrupted half-way, it runs again from the start at the next start:
	 * a second fresh generation does no harm. */
	int ret = 0;
	size_t from = 0;
	do {
		size_t to = l.n - from > GEN_UPGRADE_CHUNK ? from + GEN_UPGRADE_CHUNK : l.n;
		ret = upgrade_chunk(s, &l, from, to, to == l.n);
		from = to;
	} while (ret == 0 && from < l.n);
	free(l.v);
	return ret < 0 ? -1 : (int)(l.n > INT32_MAX ? INT32_MAX : l.n);
}

int host_group_gid(const char *name, uint32_t *gid)
{
	int found = 0;
	FILE *f = fopen(host_group_file(), "re");
	if (!f)
		return 0;
	struct group *gr;
	while (!found && (gr = fgetgrent(f))) {
		if (strcmp(gr->gr_name, name) == 0) {
			found = 1;
			if (gid)
				*gid = (uint32_t)gr->gr_gid;
		}
	}
	fclose(f);
	return found;
}

int host_name_taken(const char *name)
{
	int taken = 0;
	FILE *f = fopen(passwd_file(), "re");
	if (f) {
		struct passwd *pw;
		while (!taken && (pw = fgetpwent(f)))
			taken = strcmp(pw->pw_name, name) == 0;
		fclose(f);
	}
	return taken || host_group_gid(name, NULL);
}

/* 1 when the host's passwd or group file already uses this id. */
static int host_id_taken(uint32_t id, const uint32_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return 1;
	return 0;
}

static size_t host_ids(uint32_t min, uint32_t max, uint32_t **out)
{
	uint32_t *ids = NULL;
	size_t n = 0, cap = 0;
	FILE *files[2] = { fopen(passwd_file(), "re"), fopen(host_group_file(), "re") };
	for (int i = 0; i < 2; i++) {
		if (!files[i])
			continue;
		for (;;) {
			uint32_t id;
			if (i == 0) {
				struct passwd *pw = fgetpwent(files[i]);
				if (!pw)
					break;
				id = (uint32_t)pw->pw_uid;
			} else {
				struct group *gr = fgetgrent(files[i]);
				if (!gr)
					break;
				id = (uint32_t)gr->gr_gid;
			}
			if (id < min || id > max)
				continue;
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				uint32_t *ni = realloc(ids, ncap * sizeof(*ni));
				if (!ni) {
					fclose(files[i]);
					if (i == 0 && files[1])
						fclose(files[1]);
					free(ids);
					return SIZE_MAX; /* unknown: allocate nothing */
				}
				ids = ni;
				cap = ncap;
			}
			ids[n++] = id;
		}
		fclose(files[i]);
	}
	*out = ids;
	return n;
}

int account_alloc_uid(struct store *s, uint32_t min, uint32_t max, uint32_t *uid)
{
	uint8_t *v;
	size_t n;
	uint32_t cursor = min;
	char buf[16];

	int r = store_get(s, DB_STATE, UID_CURSOR_KEY, &v, &n);
	if (r < 0)
		return -1;
	if (r == 1) {
		if (n < sizeof(buf)) {
			memcpy(buf, v, n);
			buf[n] = '\0';
			unsigned long c = strtoul(buf, NULL, 10);
			if (c >= min && c <= max)
				cursor = (uint32_t)c;
		}
		free(v);
	}
	uint32_t *ids;
	size_t nids = host_ids(min, max, &ids);
	if (nids == SIZE_MAX)
		return -1;
	uint64_t span = (uint64_t)max - min + 1;
	int found = 0;
	for (uint64_t i = 0; i < span; i++) {
		uint32_t cand = (uint32_t)(min + ((uint64_t)cursor - min + i) % span);
		char key[32];
		uid_key(cand, key, sizeof(key));
		int g = store_get(s, DB_STATE, key, &v, &n);
		if (g < 0) {
			free(ids);
			return -1;
		}
		if (g == 1) {
			free(v);
			continue;
		}
		if (host_id_taken(cand, ids, nids))
			continue;
		*uid = cand;
		found = 1;
		break;
	}
	free(ids);
	if (!found)
		return 1;
	uint32_t next = *uid == max ? min : *uid + 1;
	int len = snprintf(buf, sizeof(buf), "%" PRIu32, next);
	return store_put(s, DB_STATE, UID_CURSOR_KEY, (const uint8_t *)buf, (size_t)len) < 0 ? -1
											     : 0;
}

void account_to_reply(const struct account *a, struct svca_buf *b)
{
	svca_put_str(b, F_NAME, a->name);
	svca_put_u64(b, F_UID, a->uid);
	svca_put_str(b, F_DESCRIPTION, a->description);
	svca_put_str(b, F_ORG_ROLE, org_role_name(a->org_role));
	svca_put_str(b, F_STATUS, a->disabled ? "disabled" : "active");
	svca_put_u64(b, F_CREATED_AT, a->created_at);
	svca_put_str(b, F_CREATED_BY, a->created_by);
	svca_put_u64(b, F_UPDATED_AT, a->updated_at);
	svca_put_str(b, F_UPDATED_BY, a->updated_by);
	svca_put_u64(b, F_LAST_ACTIVITY, a->last_activity);
	svca_put_u64(b, F_BREAK_GLASS, a->break_glass ? 1 : 0);
}

struct foreach_ctx {
	account_fn fn;
	void *arg;
};

static int foreach_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct foreach_ctx *c = arg;
	struct account a;
	(void)key;
	(void)klen;
	if (account_decode(val, vlen, &a) < 0)
		return 0; /* skip an unreadable record rather than hide the rest */
	return c->fn(c->arg, &a);
}

int account_foreach(struct store *s, account_fn fn, void *arg)
{
	struct foreach_ctx c = { fn, arg };
	return store_iterate(s, DB_STATE, "acct/", foreach_cb, &c);
}

struct account_vec {
	struct account *v;
	size_t n, cap;
	int oom;
};

static int account_vec_add(void *arg, const struct account *a)
{
	struct account_vec *c = arg;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		struct account *nv = realloc(c->v, ncap * sizeof(*nv));
		if (!nv) {
			c->oom = 1;
			return 1;
		}
		c->v = nv;
		c->cap = ncap;
	}
	c->v[c->n++] = *a;
	return 0;
}

static int account_cmp_name(const void *x, const void *y)
{
	return strcmp(((const struct account *)x)->name, ((const struct account *)y)->name);
}

int account_all_by_name(struct store *s, struct account **v, size_t *n)
{
	struct account_vec c = { 0 };
	if (account_foreach(s, account_vec_add, &c) != 0 || c.oom) {
		free(c.v);
		*v = NULL;
		*n = 0;
		return -1;
	}
	if (c.n)
		qsort(c.v, c.n, sizeof(*c.v), account_cmp_name);
	*v = c.v;
	*n = c.n;
	return 0;
}
