/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Agent mode: putting a verified snapshot into the agent's own store, and
 * the sync state that survives restarts (DESIGN.md section 9).
 *
 * The organization's records are those under the prefixes a snapshot
 * carries (ws/ team/ grant/ gidx/ uid/ acct/ kidx/ key/ deny/ org/ meta/gen
 * meta/gen_upgraded): all of them are replaced by the snapshot's; every
 * other record (the audit chain, agent/ ...) is the agent's own and left
 * alone.  With them, in the same transaction:
 *
 *   DB_STATE agent/sync    text "<applied seq> <last successful sync, wall ms>"
 *   DB_STATE agent/hostws  text: the host's workspaces, one a line
 *   DB_STATE agent/jwks    the snapshot's JWKS (JSON text)
 */
#ifndef SVCACCTD_AGENTAPPLY_H
#define SVCACCTD_AGENTAPPLY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

struct agent_syncstate {
	uint64_t seq;    /* applied snapshot seq; 0 = none */
	int64_t last_ok; /* wall ms of the last successful sync; 0 = never */
};

/* Inside the caller's transaction.  0 ok, -1 (err: malformed payload or
 * storage error; the caller aborts). */
int agent_apply(struct store *s, const char *payload, size_t len, int64_t ok_wall, char *err,
		size_t errlen);
/* A verified delta (snapverify.h), inside the caller's transaction: the
 * store's applied seq must be the delta's base_seq and its host
 * workspaces the delta's; every record of each uid in "accounts" is
 * dropped, "deletes" deleted, "upserts" put, deny-list entries past their
 * expiry dropped (a snapshot leaves them out); JWKS, host workspaces and
 * sync state replaced as by agent_apply.  0 ok, -1 (err; the caller
 * aborts and takes a full snapshot). */
int agent_apply_delta(struct store *s, const char *payload, size_t len, int64_t ok_wall, char *err,
		      size_t errlen);
struct daemon;
/* Seconds since the last successful sync, -1 never.  While running:
 * monotonic time since this run's last sync (a wall clock jump neither
 * extends nor ends the window).  Before this run's first sync: the
 * persisted wall time's age at start (never negative: a clock set back
 * does not make it younger than 0) plus the monotonic time since start. */
int64_t agent_age_s(const struct daemon *d);
/* age > max_staleness, or never synced. */
int agent_stale(const struct daemon *d);

/* The applied JWKS's public key for kid (verify-only: an agent never signs
 * organization tokens).  0 found, -1 not there or malformed. */
int agent_jwks_find(struct store *s, const char *kid, uint8_t pk[32]);

/* 1 read, 0 none, -1 error. */
int agent_syncstate_get(struct store *s, struct agent_syncstate *st);
int agent_syncstate_put(struct store *s, const struct agent_syncstate *st);
/* The applied host workspaces into l (replaced).  1, 0 none, -1 error. */
int agent_hostws_get(struct store *s, struct strlist *l);

#endif
