/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Hub mode: the agents' slices per (workspace set, seq), bounded (snapcache.h). */
#include "snapcache.h"

#include <stdlib.h>
#include <string.h>

struct snapcache {
	struct snapcache_entry *e;
	size_t n, max;
	size_t bytes, max_bytes;
	uint64_t clock;
	uint64_t newest; /* the newest seq an entry was put at */
	struct snapcache_stats st;
};

struct snapcache *snapcache_new(size_t max_entries, size_t max_bytes)
{
	struct snapcache *c = calloc(1, sizeof(*c));
	if (!c || !max_entries || !(c->e = calloc(max_entries, sizeof(*c->e)))) {
		free(c);
		return NULL;
	}
	c->max = max_entries;
	c->max_bytes = max_bytes;
	return c;
}

static size_t entry_bytes(const struct snapcache_entry *e)
{
	return sizeof(*e) + strlen(e->wsk) + e->tlen + (e->hosts ? strlen(e->hosts) : 0);
}

static void entry_clear(struct snapcache_entry *e)
{
	free(e->wsk);
	free(e->tail);
	free(e->hosts);
	memset(e, 0, sizeof(*e));
}

/* Entry i out; the last one takes its place. */
static void drop(struct snapcache *c, size_t i)
{
	c->bytes -= entry_bytes(&c->e[i]);
	entry_clear(&c->e[i]);
	c->e[i] = c->e[--c->n];
	memset(&c->e[c->n], 0, sizeof(c->e[0]));
}

void snapcache_free(struct snapcache *c)
{
	if (!c)
		return;
	while (c->n)
		drop(c, c->n - 1);
	free(c->e);
	free(c);
}

const struct snapcache_entry *snapcache_get(struct snapcache *c, const char *wsk, uint64_t seq,
					    uint64_t since, int64_t now_ms)
{
	for (size_t i = 0; c && i < c->n; i++) {
		struct snapcache_entry *e = &c->e[i];
		if (e->seq != seq || e->since != since || strcmp(e->wsk, wsk))
			continue;
		if (now_ms - e->born_ms > SNAPCACHE_TTL_MS) {
			drop(c, i);
			break;
		}
		e->used = ++c->clock;
		c->st.hits++;
		return e;
	}
	if (c)
		c->st.misses++;
	return NULL;
}

static size_t lru(const struct snapcache *c)
{
	size_t best = 0;
	for (size_t i = 1; i < c->n; i++)
		if (c->e[i].used < c->e[best].used)
			best = i;
	return best;
}

int snapcache_put(struct snapcache *c, struct snapcache_entry *e, int64_t now_ms)
{
	size_t sz = e->wsk ? entry_bytes(e) : 0;
	if (!c || !e->wsk || e->seq < c->newest || sz > c->max_bytes) {
		entry_clear(e);
		return 0;
	}
	if (e->seq > c->newest) { /* nothing will ask for an older seq's slices */
		c->st.dropped += c->n;
		while (c->n)
			drop(c, c->n - 1);
		c->newest = e->seq;
	}
	for (size_t i = 0; i < c->n; i++) /* a duplicate (never while single-threaded) */
		if (c->e[i].seq == e->seq && c->e[i].since == e->since &&
		    !strcmp(c->e[i].wsk, e->wsk)) {
			drop(c, i);
			break;
		}
	while (c->n && (c->n >= c->max || c->bytes + sz > c->max_bytes)) {
		drop(c, lru(c));
		c->st.evicted++;
	}
	e->born_ms = now_ms;
	e->used = ++c->clock;
	c->e[c->n++] = *e;
	c->bytes += sz;
	memset(e, 0, sizeof(*e));
	return 1;
}

void snapcache_stats(const struct snapcache *c, struct snapcache_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!c)
		return;
	*st = c->st;
	st->entries = c->n;
	st->bytes = c->bytes;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *snapcache_wskey(const char (*ws)[SVCA_SCOPE_NAME_MAX + 1], size_t n)
{
	const char **v = calloc(n ? n : 1, sizeof(*v));
	size_t total = 1;
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		v[i] = ws[i];
		total += strlen(ws[i]) + 1;
	}
	qsort(v, n, sizeof(*v), by_name);
	char *k = malloc(total), *at = k;
	for (size_t i = 0; k && i < n; i++) {
		if (i && !strcmp(v[i], v[i - 1]))
			continue;
		size_t l = strlen(v[i]);
		memcpy(at, v[i], l);
		at[l] = '\n';
		at += l + 1;
	}
	if (k)
		*at = '\0';
	free(v);
	return k;
}
