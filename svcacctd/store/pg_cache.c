/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The hub store's copy of records and its batch of writes (pg_cache.h). */
#include "pg_cache.h"

#include <stdlib.h>
#include <string.h>

#define BUCKETS 4096 /* a power of two */
/* A clean copy bigger than this is dropped at the next settle. */
#define MAX_ENTRIES 65536

struct entry {
	struct entry *next;
	char *key;
	uint8_t *val;
	size_t vlen;
	int present;
	int dirty;
};

struct undo {
	struct entry *e;
	uint8_t *val; /* the value before the write (owned) */
	size_t vlen;
	int present, dirty;
};

struct pg_cache {
	struct entry *b[BUCKETS];
	size_t n;
	struct entry **dirty; /* in first-write order */
	size_t ndirty, dcap;
	struct undo *undo;
	size_t nundo, ucap;
};

static size_t hash(const char *k)
{
	size_t h = 1469598103934665603ULL;
	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ULL;
	return h & (BUCKETS - 1);
}

static struct entry *find(const struct pg_cache *c, const char *key)
{
	for (struct entry *e = c->b[hash(key)]; e; e = e->next)
		if (!strcmp(e->key, key))
			return e;
	return NULL;
}

static struct entry *make(struct pg_cache *c, const char *key)
{
	struct entry *e = calloc(1, sizeof(*e));
	if (!e || !(e->key = strdup(key))) {
		free(e);
		return NULL;
	}
	size_t h = hash(key);
	e->next = c->b[h];
	c->b[h] = e;
	c->n++;
	return e;
}

static void unlink_free(struct pg_cache *c, struct entry *e)
{
	struct entry **pp = &c->b[hash(e->key)];
	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	free(e->key);
	free(e->val);
	free(e);
	c->n--;
}

static int set_value(struct entry *e, const uint8_t *val, size_t vlen, int present)
{
	uint8_t *v = NULL;
	if (present) {
		v = malloc(vlen ? vlen : 1);
		if (!v)
			return -1;
		memcpy(v, val, vlen);
	}
	free(e->val);
	e->val = v;
	e->vlen = present ? vlen : 0;
	e->present = present;
	return 0;
}

struct pg_cache *pgc_new(void)
{
	return calloc(1, sizeof(struct pg_cache));
}

void pgc_free(struct pg_cache *c)
{
	if (!c)
		return;
	pgc_settle(c, 0);
	free(c->dirty);
	free(c->undo);
	free(c);
}

int pgc_get(const struct pg_cache *c, const char *key, const uint8_t **val, size_t *vlen)
{
	const struct entry *e = find(c, key);
	if (!e)
		return -1;
	*val = e->val;
	*vlen = e->vlen;
	return e->present;
}

int pgc_fill(struct pg_cache *c, const char *key, const uint8_t *val, size_t vlen, int present)
{
	struct entry *e = find(c, key);
	if (e && e->dirty)
		return 0;
	if (!e && !(e = make(c, key)))
		return -1;
	if (set_value(e, val, vlen, present) < 0) {
		unlink_free(c, e);
		return -1;
	}
	return 0;
}

int pgc_write(struct pg_cache *c, const char *key, const uint8_t *val, size_t vlen, int present)
{
	if (c->nundo == c->ucap) {
		size_t cap = c->ucap ? c->ucap * 2 : 64;
		struct undo *u = realloc(c->undo, cap * sizeof(*u));
		if (!u)
			return -1;
		c->undo = u;
		c->ucap = cap;
	}
	if (c->ndirty == c->dcap) {
		size_t cap = c->dcap ? c->dcap * 2 : 64;
		struct entry **d = realloc(c->dirty, cap * sizeof(struct entry *));
		if (!d)
			return -1;
		c->dirty = d;
		c->dcap = cap;
	}
	struct entry *e = find(c, key);
	int known = e != NULL;
	if (!e && !(e = make(c, key)))
		return -1;
	/* An entry made here was "not known": undo forgets it again. */
	struct undo u = { e, e->val, e->vlen, known ? e->present : -1, e->dirty };
	e->val = NULL;
	if (set_value(e, val, vlen, present) < 0) {
		e->val = u.val;
		e->vlen = u.vlen;
		if (!known)
			unlink_free(c, e);
		return -1;
	}
	c->undo[c->nundo++] = u;
	if (!e->dirty) {
		e->dirty = 1;
		c->dirty[c->ndirty++] = e;
	}
	return 0;
}

void pgc_forget(struct pg_cache *c, const char *key)
{
	struct entry *e = find(c, key);
	if (e && !e->dirty)
		unlink_free(c, e);
}

size_t pgc_mark(const struct pg_cache *c)
{
	return c->nundo;
}

/* Last write first: an entry that becomes clean again is the newest
 * dirty one then. */
void pgc_undo_to(struct pg_cache *c, size_t mark)
{
	while (c->nundo > mark) {
		struct undo *u = &c->undo[--c->nundo];
		struct entry *e = u->e;
		if (e->dirty && !u->dirty && c->ndirty && c->dirty[c->ndirty - 1] == e)
			c->ndirty--;
		e->dirty = u->dirty;
		free(e->val);
		e->val = u->val;
		e->vlen = u->vlen;
		e->present = u->present;
		if (u->present < 0 && !e->dirty)
			unlink_free(c, e);
	}
}

int pgc_each_dirty(const struct pg_cache *c, pgc_dirty_fn fn, void *arg)
{
	for (size_t i = 0; i < c->ndirty; i++) {
		const struct entry *e = c->dirty[i];
		int r = fn(arg, e->key, e->val, e->vlen, e->present);
		if (r)
			return r;
	}
	return 0;
}

size_t pgc_dirty_count(const struct pg_cache *c)
{
	return c->ndirty;
}

static void drop_undo(struct pg_cache *c)
{
	for (size_t i = 0; i < c->nundo; i++)
		free(c->undo[i].val);
	c->nundo = 0;
}

void pgc_clear(struct pg_cache *c)
{
	for (size_t h = 0; h < BUCKETS; h++) {
		struct entry **pp = &c->b[h];
		while (*pp) {
			struct entry *e = *pp;
			if (e->dirty) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			free(e->key);
			free(e->val);
			free(e);
			c->n--;
		}
	}
}

void pgc_settle(struct pg_cache *c, int ok)
{
	drop_undo(c);
	for (size_t i = 0; i < c->ndirty; i++)
		c->dirty[i]->dirty = 0;
	c->ndirty = 0;
	if (!ok || c->n > MAX_ENTRIES)
		pgc_clear(c);
}
