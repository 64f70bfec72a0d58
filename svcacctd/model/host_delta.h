/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Hub mode: an agent's signed delta, what changed in its slice since the
 * seq it holds (docs/agent-protocol.md, "GET /v1/agent/delta").
 *
 * Cut from the host's full slice (host_snapshot.h, exact under the
 * organization's lock) and the change log's keys in (since, seq]:
 *   - an account whose records changed: all its slice records, and its uid
 *     in "accounts" (the agent first drops every record of that uid: an old
 *     acct/<name> after a rename, a key, a grant); an account that left the
 *     slice: its uid only (dropped), when it reached the host before;
 *   - deny/, meta/gen, meta/gen_upgraded: upserted or deleted directly;
 *   - every org/ record of the slice, and the JWKS, always;
 *   - a host workspace, its team or the host's own record changed, the log no longer
 *     reaching back to since, more than DELTA_MAX_KEYS keys, a payload
 *     over DELTA_MAX_BYTES: no delta, the agent takes a full snapshot.
 */
#ifndef SVCACCTD_HOST_DELTA_H
#define SVCACCTD_HOST_DELTA_H

#include <stddef.h>
#include <stdint.h>

#include "daemon.h"
#include "hosts.h"

#define DELTA_KIND "delta"
#define DELTA_MAX_KEYS 5000                /* changed keys read from the log */
#define DELTA_MAX_BYTES (4u * 1024 * 1024) /* the payload text */
#define DELTA_MAX_ACCOUNTS DELTA_MAX_KEYS  /* uids in "accounts" */

/* The delta payload for h since the seq `since` (the caller holds the
 * write intent).  0 built (*payload malloc'ed JSON, *seq its seq), 1 a
 * full snapshot is needed (err says why), -1 storage error (err). */
int delta_build(struct daemon *d, const struct host *h, uint64_t since, int64_t now_ms,
		char **payload, size_t *len, uint64_t *seq, char *err, size_t errlen);

struct snapcache;
struct snapcache_entry;

/* The part of the delta every host of h's workspace set gets (snapcache.h),
 * into out: seq, since, and tail + hosts (0) or full + why (1); -1 a
 * storage error (err).  The caller holds the write intent. */
int delta_tail_build(struct daemon *d, const struct host *h, uint64_t since, int64_t now_ms,
		     struct snapcache_entry *out, char *err, size_t errlen);

/* delta_build, the shared part taken from / put into the cache c (NULL:
 * no cache).  The same answers as delta_build's but for issued_at. */
int delta_build_cached(struct snapcache *c, struct daemon *d, const struct host *h, uint64_t since,
		       int64_t now_ms, char **payload, size_t *len, uint64_t *seq, char *err,
		       size_t errlen);

/* h's delta (since, seq] from the cache only (no store read: no lock
 * needed, snapcache.h).  delta_build's answers, or 2 not cached. */
int delta_from_cache(struct snapcache *c, const struct host *h, uint64_t since, uint64_t seq,
		     int64_t now_ms, char **payload, size_t *len, char *err, size_t errlen);

#endif
