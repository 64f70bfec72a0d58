#include "ratelimit.h"

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
	return t;
}

void rl_free(struct rl_table *t)
{
	if (!t)
		return;
	free(t->e);
	free(t);
}

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

/* Finds key, or claims a slot for it (an empty one, else the stalest of a
 * short probe sequence). */
static struct rl_entry *slot(struct rl_table *t, const char *key, int create)
{
	uint32_t h = hash(key);
	struct rl_entry *victim = NULL;
	for (unsigned i = 0; i < 8; i++) {
		struct rl_entry *e = &t->e[(h + i) % t->cap];
		if (e->key[0] && strcmp(e->key, key) == 0)
			return e;
		if (!victim || !e->key[0] ||
		    (victim->key[0] && e->last_seen < victim->last_seen))
			victim = e;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	strncpy(victim->key, key, RL_KEY_MAX - 1);
	return victim;
}

static int secs_until(int64_t when, int64_t now)
{
	int64_t s = (when - now + 999) / 1000;
	return s < 1 ? 1 : (int)s;
}

int rl_hit(struct rl_table *t, const char *key, int64_t now_ms, int limit,
	   int64_t window_ms)
{
	struct rl_entry *e = slot(t, key, 1);
	e->last_seen = now_ms;
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
	struct rl_entry *e = slot(t, key, 0);
	if (!e || e->locked_until <= now_ms)
		return 0;
	return secs_until(e->locked_until, now_ms);
}

int rl_fail(struct rl_table *t, const char *key, int64_t now_ms, int threshold,
	    int64_t window_ms, int64_t lock_ms)
{
	struct rl_entry *e = slot(t, key, 1);
	e->last_seen = now_ms;
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
	struct rl_entry *e = slot(t, key, 0);
	if (e && e->locked_until == 0)
		memset(e, 0, sizeof(*e));
}
