/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Bounded in-memory counters for rate limits and lockouts.  A fixed-size
 * table: when it is full the stalest entry is reused (a running lock
 * only when nothing else can go), so memory stays bounded whatever a
 * flood of distinct keys does.  now_ms is the monotonic clock
 * (svca_now_ms): a step of the wall clock must not move a deadline.
 */
#ifndef SVCACCTD_RATELIMIT_H
#define SVCACCTD_RATELIMIT_H

#include <stdint.h>

#define RL_KEY_MAX 72

struct rl_table;

struct rl_table *rl_new(unsigned capacity);
void rl_free(struct rl_table *t);

/* Counts one event for key in a fixed window.  Returns 0 when allowed,
 * else the seconds until the window ends. */
int rl_hit(struct rl_table *t, const char *key, int64_t now_ms, int limit, int64_t window_ms);

/* Lockouts: rl_locked returns the seconds left (0 = not locked).
 * rl_fail counts a failure; it returns 1 when this failure locks the key.
 * rl_clear forgets the key's failures. */
int rl_locked(struct rl_table *t, const char *key, int64_t now_ms);
int rl_fail(struct rl_table *t, const char *key, int64_t now_ms, int threshold, int64_t window_ms,
	    int64_t lock_ms);
void rl_clear(struct rl_table *t, const char *key);

#endif
