/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Hub mode: an agent's signed snapshot (docs/agent-protocol.md).
 *
 * The payload is JSON text; its "records" are store records (DB_STATE
 * key, value) copied byte for byte from the hub's store, so that an agent
 * answers with the same model code, except:
 *   - key/<id>: the 32 value bytes of the F_KEY field (the hub's keyed hash
 *     of the secret) are zeros: an agent never holds a hub hash;
 *   - gidx/<uid>: rebuilt with only the grants the snapshot carries.
 * Only accounts with a grant that reaches one of the host's workspaces
 * (directly, or through the workspace's team: what access_compute counts)
 * are in it.
 */
#ifndef SVCACCTD_HOST_SNAPSHOT_H
#define SVCACCTD_HOST_SNAPSHOT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon.h"
#include "hosts.h"

#define SNAPSHOT_FORMAT 1
#define SNAPSHOT_MAX_BYTES (64u * 1024 * 1024) /* the payload text */

/* h's slice as records: what a snapshot carries, and what a delta
 * (host_delta.h) is cut from. */
struct snapshot_slice {
	struct daemon *d;
	const struct host *h;
	char teams[HOST_MAX_WORKSPACES][SVCA_SCOPE_NAME_MAX + 1];
	size_t nteams;
	char ws[HOST_MAX_WORKSPACES][SVCA_SCOPE_NAME_MAX + 1]; /* the existing ones */
	size_t nws;
	json_t *recs; /* store key -> base64 value */
	json_t *gidx; /* uid text -> "k/scope\n...": every uid with a grant reaching h */
	int64_t now_s;
	int err;
};

/* Reads the slice (the caller holds the write intent).  0 ok (free with
 * snapshot_slice_free), -1 storage error. */
int snapshot_slice_build(struct daemon *d, const struct host *h, int64_t now_ms,
			 struct snapshot_slice *sl);
void snapshot_slice_free(struct snapshot_slice *sl);
/* 1 when a grant of kind ('w' / 't') on scope reaches the host. */
int snapshot_slice_scope(const struct snapshot_slice *sl, char kind, const char *scope);
/* The host's workspaces as a JSON array (the payload's "workspaces"). */
json_t *snapshot_workspaces(const struct host *h);

/* The payload of h's snapshot, read from the store as it stands (the
 * caller holds the write intent, so the reads are exact and seq is the
 * change-log seq they reflect).  *payload is malloc'ed JSON text.
 * 0 ok, -1 storage error or too large (err says which). */
int snapshot_build(struct daemon *d, const struct host *h, int64_t now_ms, char **payload,
		   size_t *len, uint64_t *seq, char *err, size_t errlen);

struct snapcache;

/* The part of h's payload that depends only on its workspace set and on
 * the store at *seq (the caller holds the write intent): the JSON text
 * after the head, ,"records":[...],"jwks":{...}} (malloc'ed).  0, -1 (err). */
int snapshot_tail_build(struct daemon *d, const struct host *h, int64_t now_ms, char **tail,
			size_t *tlen, uint64_t *seq, char *err, size_t errlen);
/* The host's own head of a payload: {"format":1[,"kind":kind],"host_id",
 * "workspaces"[,"base_seq"],"seq","issued_at" (no closing brace; kind NULL:
 * a snapshot).  malloc'ed, or NULL. */
char *snapshot_head(const struct host *h, const char *kind, uint64_t base_seq, uint64_t seq,
		    int64_t now_ms, size_t *hlen);
/* head + tail into *payload (malloc'ed).  0, -1 out of memory. */
int snapshot_assemble(const char *head, size_t hlen, const char *tail, size_t tlen, char **payload,
		      size_t *len);
/* snapshot_build, the tail taken from / put into the cache c (NULL: no
 * cache).  The same payload as snapshot_build's but for issued_at. */
int snapshot_build_cached(struct snapcache *c, struct daemon *d, const struct host *h,
			  int64_t now_ms, char **payload, size_t *len, uint64_t *seq, char *err,
			  size_t errlen);

/* h's snapshot at seq from the cache only (no store read: no lock needed,
 * snapcache.h).  0 *payload, 1 not cached (or out of memory). */
int snapshot_from_cache(struct snapcache *c, const struct host *h, uint64_t seq, int64_t now_ms,
			char **payload, size_t *len);

/* The envelope {"payload": base64(payload), "sig": base64url(Ed25519 over
 * the payload bytes), "kid": ...} signed with the organization's snapshot
 * key.  malloc'ed JSON text, or NULL. */
char *snapshot_envelope(const struct secrets *s, const char *payload, size_t len);

/* 1 when the account uid is in h's slice (a grant on one of its
 * workspaces or on their teams: what snapshot_build sends), 0 not, -1
 * storage error.  The hub's key check for agents (POST
 * /v1/agent/keycheck) answers only for these. */
int snapshot_has_account(struct daemon *d, const struct host *h, uint32_t uid);

#endif
