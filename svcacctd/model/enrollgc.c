/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Purging old enrollment tokens, counting live ones (enrollgc.h). */
#include "enrollgc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEEP_MS ((uint64_t)ENROLL_KEEP_DAYS * 86400 * 1000)

int enroll_is_live(const struct enroll_token *t, int64_t now_ms)
{
	return !t->used && now_ms >= 0 && (uint64_t)now_ms < t->expires_at;
}

int enroll_is_purgeable(const struct enroll_token *t, int64_t now_ms)
{
	if (enroll_is_live(t, now_ms) || now_ms < 0)
		return 0;
	/* Dead since it was used, or since it expired unused. */
	uint64_t dead_at = t->used && t->used_at ? t->used_at : t->expires_at;
	return (uint64_t)now_ms > dead_at + KEEP_MS;
}

struct gc {
	int64_t now_ms;
	size_t live;
	char (*ids)[SVCA_KEYID_LEN + 32];
	size_t n;
	int err;
};

static int gc_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct gc *g = arg;
	struct enroll_token t;
	int dead = enroll_decode(val, vlen, &t) < 0;
	if (!dead && enroll_is_live(&t, g->now_ms))
		g->live++;
	else if ((dead || enroll_is_purgeable(&t, g->now_ms)) && g->n < ENROLL_PURGE_MAX &&
		 klen < sizeof(g->ids[0])) {
		memcpy(g->ids[g->n], key, klen);
		g->ids[g->n++][klen] = '\0';
	}
	return 0;
}

int enroll_gc(struct store *s, int64_t now_ms, size_t *live, size_t *purged)
{
	struct gc g = { .now_ms = now_ms };
	*live = *purged = 0;
	g.ids = calloc(ENROLL_PURGE_MAX, sizeof(*g.ids));
	if (!g.ids)
		return -1;
	int r = store_iterate(s, DB_STATE, "enroll/", gc_cb, &g);
	for (size_t i = 0; r == 0 && i < g.n; i++)
		if (store_del(s, DB_STATE, g.ids[i]) < 0)
			r = -1;
	free(g.ids);
	if (r == 0) {
		*live = g.live;
		*purged = g.n;
	}
	return r == 0 ? 0 : -1;
}
