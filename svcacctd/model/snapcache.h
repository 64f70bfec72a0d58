/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Hub mode: the agents' slices, built once per (workspace set, seq) and
 * handed to every host of that set (docs/agent-protocol.md, "Many agents").
 *
 * Every record of a host's snapshot or delta depends only on the set of
 * the host's workspaces and on the store at the change-log seq it was
 * built at (host_snapshot.c, host_delta.c): the host's own fields (host_id,
 * the workspaces as it lists them, issued_at) are in the payload's head,
 * which is put on per request, and signed per request.  So an entry built
 * at seq S is exact for S forever; it is only ever served at S.
 *
 * An entry: key = the sorted workspace set, seq, since (0: a snapshot; a
 * delta's base seq otherwise); value = the payload's tail (the JSON text
 * after the head: ,"records":...} or ,"accounts":...}), or for a delta
 * "a full snapshot is needed" (why) — and the host ids whose own record
 * changed in (since, seq] (a host-specific 409, checked per request).
 *
 * Bounded: SNAPCACHE_MAX_ENTRIES entries and SNAPCACHE_MAX_BYTES bytes
 * (least recently used out first); an entry older than SNAPCACHE_TTL_MS
 * is not served (an expired deny-list entry, the hub's settings at a
 * reload); the first entry of a newer seq drops every older one (nothing
 * asks for them any more).  Single-threaded (the hub's loop).
 */
#ifndef SVCACCTD_SNAPCACHE_H
#define SVCACCTD_SNAPCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "names.h"

#define SNAPCACHE_MAX_ENTRIES 256
#define SNAPCACHE_MAX_BYTES (64u * 1024 * 1024)
#define SNAPCACHE_TTL_MS 60000
#define SNAPCACHE_WHY_MAX 160

struct snapcache_entry {
	char *wsk;      /* the workspace set (snapcache_wskey) */
	uint64_t seq;   /* the seq the tail reflects */
	uint64_t since; /* 0 snapshot, else a delta's base_seq */
	int full;       /* delta: a full snapshot is needed (why) */
	char why[SNAPCACHE_WHY_MAX];
	char *tail; /* NULL when full */
	size_t tlen;
	char *hosts;     /* delta: "\nID\nID\n" host records changed, or NULL */
	int64_t born_ms; /* monotonic */
	uint64_t used;   /* LRU clock */
};

struct snapcache;

struct snapcache_stats {
	uint64_t hits, misses, evicted, dropped; /* dropped: by a newer seq */
	size_t entries, bytes;
};

/* NULL when out of memory (the hub then builds every fetch itself). */
struct snapcache *snapcache_new(size_t max_entries, size_t max_bytes);
void snapcache_free(struct snapcache *c);

/* The entry for (wsk, seq, since), fresh at now_ms (monotonic), or NULL
 * (counted as a miss). */
const struct snapcache_entry *snapcache_get(struct snapcache *c, const char *wsk, uint64_t seq,
					    uint64_t since, int64_t now_ms);

/* Takes e (its wsk, tail and hosts: malloc'ed, owned by the cache from now,
 * freed here when not kept).  Not kept: older than the newest seq seen,
 * larger than the byte bound, or out of memory.  1 kept, 0 not. */
int snapcache_put(struct snapcache *c, struct snapcache_entry *e, int64_t now_ms);

void snapcache_stats(const struct snapcache *c, struct snapcache_stats *st);

/* The sorted, duplicate-free workspace set "ws1\nws2\n" (malloc'ed). */
char *snapcache_wskey(const char (*ws)[SVCA_SCOPE_NAME_MAX + 1], size_t n);

#endif
