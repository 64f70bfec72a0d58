/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One audit trail for the fleet (issue 17 item 6, docs/agent-protocol.md
 * "Audit forwarding"): the records of an agent's own hash chain travel to
 * the hubs, which append each to the organization's chain with the host it
 * came from.
 *
 * Agent side: the local chain is the spool.  "audit/fwd" in state.db holds
 * the cursor (the last host seq a hub acknowledged), the highest seq ever
 * dropped over audit_spool_max, and when a hub last took records.
 *
 * Hub side: POST /v1/agent/audit's body goes through afleet_ingest()
 * inside one transaction: each record's agent-chain hash is checked, the
 * ones at or below the host's high-water mark ("hostmark/<host>" in the
 * audit database, written in the same transaction) are acknowledged
 * without being appended again, a gap is accepted only when the agent says
 * it dropped those records.  afleet_verify() checks the hub chain and, per
 * host, the forwarded records' agent-chain linkage.
 */
#ifndef SVCACCTD_AUDIT_FLEET_H
#define SVCACCTD_AUDIT_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "store.h"

#define AFLEET_MAX_RECORDS 256          /* records in one POST */
#define AFLEET_BATCH_BYTES (256 * 1024) /* the records' JSON text in one POST */
#define AFLEET_BODY_MAX (1024 * 1024)   /* a POST body, escaped (the hub's bound) */
#define AFLEET_RECORD_MAX (64 * 1024)   /* one record's JSON text */
#define AFLEET_DROPPED_EVENT "audit.forward_dropped"

/* ---- agent ------------------------------------------------------------------ */

struct afleet_state {
	uint64_t cursor;          /* last host seq a hub acknowledged */
	uint64_t dropped_through; /* highest host seq dropped over the bound, 0 none */
	int64_t last_ok_wall;     /* ms: a hub last took records; 0 never */
};

/* 1 read, 0 none yet (all zero), -1 unreadable. */
int afleet_state_get(struct store *s, struct afleet_state *st);
/* In the caller's open transaction. */
int afleet_state_put(struct store *s, const struct afleet_state *st);

/* The POST body for the records after `after` up to `upto` (at most
 * AFLEET_MAX_RECORDS, AFLEET_BATCH_BYTES of text; at least one record):
 * {"dropped_through": D, "records": [{"seq","ts_ms","prev","hash","json"}]}.
 * *last = the last seq in it.  0 ok (*body malloc'ed), 1 nothing to send
 * (a missing local record ends the batch before it), -1 error. */
int afleet_batch(struct audit *a, uint64_t after, uint64_t upto, uint64_t dropped_through,
		 char **body, uint64_t *last);

/* The detail of the audit.forward_dropped event (parsed by the hubs'
 * verify: keep the "host seqs A-B" head). */
void afleet_dropped_detail(uint64_t from, uint64_t to, uint64_t bound, char *buf, size_t len);

/* ---- hub -------------------------------------------------------------------- */

enum afleet_result {
	AFLEET_OK = 0,      /* *mark = the host's high-water mark now */
	AFLEET_GAP = 1,     /* refused: records between *mark and the batch are
			       missing and not said to be dropped (resend) */
	AFLEET_BAD = 2,     /* malformed body: err says why */
	AFLEET_STORAGE = 3, /* storage error */
};

/* In the caller's open transaction (under the write intent): appends the
 * new records of host_id (the authenticated host: never what the body
 * says).  On anything but AFLEET_OK the caller aborts. */
enum afleet_result afleet_ingest(struct audit *a, struct store *s, const char *host_id,
				 const char *body, size_t len, uint64_t *mark, char *err,
				 size_t errlen);

/* audit_verify, and per host the forwarded records' agent chain (each
 * record's hash, each prev = the previous forwarded record's hash, gaps
 * only where the host's audit.forward_dropped events say so).  On failure
 * host (may be "") and *host_seq (0 = none) name the forwarded record. */
int afleet_verify(struct audit *a, uint64_t *checked, uint64_t *bad_seq, char *host, size_t hostlen,
		  uint64_t *host_seq, char *msg, size_t msglen);

#endif
