/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "ratelimit.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct rl_entry {
	char key[RL_KEY_MAX];
	int64_t window_start;
	int64_t last_seen;
	int64_t locked_until;
	int count;
};

struct rl_table {
	struct rl_entry *e;
	unsigned cap;
	uint8_t hkey[crypto_shorthash_KEYBYTES]; /* random, per table: see slot() */
};

struct rl_table *rl_new(unsigned capacity)
{
	struct rl_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->e = calloc(capacity, sizeof(*t->e));
	if (!t->e) {
		free(t);
		return NULL;
	}
	t->cap = capacity;
	if (sodium_init() < 0) {
		free(t->e);
		free(t);
		return NULL;
	}
	randombytes_buf(t->hkey, sizeof(t->hkey));
	return t;
}

void rl_free(struct rl_table *t)
{
	if (!t)
		return;
	free(t->e);
	free(t);
}

/* SipHash-2-4 under the table's random key: which keys share a probe
 * sequence cannot be worked out from outside the process. */
static uint32_t hash(const struct rl_table *t, const char *s)
{
	uint8_t out[crypto_shorthash_BYTES];
	uint32_t h;
	crypto_shorthash(out, (const uint8_t *)s, strlen(s), t->hkey);
	memcpy(&h, out, sizeof(h));
	return h;
}

/* Which entry of a probe sequence goes first: an empty one, then the
 * stalest of those without a running lock, and only then a running lock,
 * the one that ends first. */
static int evict_before(const struct rl_entry *e, const struct rl_entry *victim, int64_t now)
{
	int re = !e->key[0] ? 0 : e->locked_until > now ? 2 : 1;
	int rv = !victim->key[0] ? 0 : victim->locked_until > now ? 2 : 1;
	if (re != rv)
		return re < rv;
	if (re == 1)
		return e->last_seen < victim->last_seen;
	return re == 2 && e->locked_until < victim->locked_until;
}

/* Finds key, or claims a slot for it (an empty one, else the stalest of a
 * short probe sequence).
 *
 * A lockout must last lockout_seconds (SECURITY.md C1), yet the locked
 * caller could once lift it by failing with other key ids whose entries
 * land on the same probe sequence and evict the lock (rl_locked does not
 * refresh last_seen, and the unkeyed FNV-1a let it find such key ids
 * offline).  We do both of the two fixes, as each alone leaves a gap:
 *  - an entry with a running lock is evicted only when all 8 entries of
 *    the probe sequence hold running locks (then the one ending first),
 *    so a flood of failures or hits never evicts a lock;
 *  - the probe start is a keyed hash (random key per table), so nobody
 *    can aim 8 locks of their own at the sequence of a lock they want
 *    lifted; filling a sequence by chance takes running locks in a large
 *    part of the table at once.
 * Memory stays bounded: a new key always gets a slot. */
static struct rl_entry *slot(struct rl_table *t, const char *key, int64_t now, int create)
{
	uint32_t h = hash(t, key);
	struct rl_entry *victim = NULL;
	for (unsigned i = 0; i < 8; i++) {
		struct rl_entry *e = &t->e[(h + i) % t->cap];
		if (e->key[0] && strcmp(e->key, key) == 0)
			return e;
		if (!victim || evict_before(e, victim, now))
			victim = e;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	strncpy(victim->key, key, RL_KEY_MAX - 1);
	victim->window_start = now; /* not 0: monotonic time starts at boot */
	return victim;
}

static int secs_until(int64_t when, int64_t now)
{
	int64_t s = (when - now + 999) / 1000;
	return s < 1 ? 1 : (int)s;
}

int rl_hit(struct rl_table *t, const char *key, int64_t now_ms, int limit, int64_t window_ms)
{
	struct rl_entry *e = slot(t, key, now_ms, 1);
	e->last_seen = now_ms;
	if (now_ms < e->window_start) /* time went back: same count, no longer wait */
		e->window_start = now_ms;
	if (now_ms - e->window_start >= window_ms) {
		e->window_start = now_ms;
		e->count = 0;
	}
	if (e->count >= limit)
		return secs_until(e->window_start + window_ms, now_ms);
	e->count++;
	return 0;
}

int rl_locked(struct rl_table *t, const char *key, int64_t now_ms)
{
	struct rl_entry *e = slot(t, key, now_ms, 0);
	if (!e || e->locked_until <= now_ms)
		return 0;
	return secs_until(e->locked_until, now_ms);
}

int rl_fail(struct rl_table *t, const char *key, int64_t now_ms, int threshold, int64_t window_ms,
	    int64_t lock_ms)
{
	struct rl_entry *e = slot(t, key, now_ms, 1);
	e->last_seen = now_ms;
	if (now_ms < e->window_start) /* time went back: same count, no longer wait */
		e->window_start = now_ms;
	if (now_ms - e->window_start >= window_ms) {
		e->window_start = now_ms;
		e->count = 0;
	}
	if (++e->count >= threshold && e->locked_until <= now_ms) {
		e->locked_until = now_ms + lock_ms;
		e->count = 0;
		return 1;
	}
	return 0;
}

void rl_clear(struct rl_table *t, const char *key)
{
	struct rl_entry *e = slot(t, key, 0, 0);
	if (!e)
		return;
	/* Forget the failures, but keep locked_until: a running lock stays,
	 * and an entry that was once locked must still be cleared (testing
	 * locked_until == 0 skipped it for good after its first lock). */
	if (e->locked_until == 0)
		memset(e, 0, sizeof(*e));
	else
		e->count = 0;
}
