/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Agent mode: the thread that follows the hubs (DESIGN.md section 9,
 * docs/agent-protocol.md).
 *
 * One worker thread long-polls GET /v1/agent/changes?since=SEQ on the
 * configured hubs in order, and fetches GET /v1/agent/snapshot when it
 * has nothing applied yet or the loop could not apply the last payload.
 * After a start or a broken stream a probe (changes?since=SEQ-1, answered
 * at once) says whether the hubs moved on.  When the seq moved it fetches GET
 * /v1/agent/delta?since=SEQ from the hub that said so, and a full
 * snapshot when the hub answers 409 or the delta is refused (another
 * base, replay, bad signature).  A snapshot is checked with
 * host_snapshot_verify (pinned key, this host, not older than the last one) before
 * it is handed over; a refused one is logged and dropped.  The thread
 * never touches the store or any daemon state: it signals an eventfd, and
 * the loop takes the verified payload (agent_sync_take) and applies it.
 *
 * When no hub answers it retries after 1, 2, 4 ... seconds, capped at
 * refresh_interval, each wait jittered by up to a quarter.
 */
#ifndef SVCACCTD_AGENTSYNC_H
#define SVCACCTD_AGENTSYNC_H

#include <stdint.h>

#include "agent.h"
#include "snapverify.h"

#define AGENT_POLL_TIMEOUT_MS 35000     /* the hubs hold a poll 25 s */
#define AGENT_SNAPSHOT_TIMEOUT_MS 30000 /* one full snapshot */
/* A long poll held open by a hub counts as contact for this long after it
 * was sent (DESIGN.md section 9: "a held long poll counts while the hub
 * keeps it alive, at least every 30 s"); the hubs answer within 25 s. */
#define AGENT_HELD_COUNTS_MS 30000
#define AGENT_HELD_AFTER_MS 2000 /* ... when sent this soon after an answer */

struct agent_sync;

/* What the thread saw last (copied under its lock). */
struct agent_sync_view {
	uint64_t seq;            /* the last verified snapshot's seq */
	int64_t last_ok_mono;    /* svca_now_ms of the last answer; 0 = none yet */
	int64_t last_ok_wall;    /* the same, wall clock ms */
	int64_t held_since_mono; /* a long poll open since then; 0 = none */
	int reachable[AGENT_MAX_HUBS];
	int tried[AGENT_MAX_HUBS]; /* 0: not asked yet since the start */
	uint64_t full_syncs;       /* verified full snapshots handed over */
	uint64_t delta_syncs;      /* verified deltas handed over */
};

/* Starts the thread.  cred is copied (wiped at stop).  NULL on failure. */
struct agent_sync *agent_sync_start(const struct agent_hubs *hubs, const char *cred,
				    const uint8_t pk[32], const char *host_id, uint64_t applied_seq,
				    int refresh_s);
/* Readable when there is something for the loop. */
int agent_sync_fd(const struct agent_sync *s);
/* On the loop: clears the eventfd and takes the verified snapshot waiting
 * (1, out filled, free with snap_verified_free) or 0 (none). */
int agent_sync_take(struct agent_sync *s, struct snap_verified *out);
void agent_sync_view(struct agent_sync *s, struct agent_sync_view *v);
/* The last moment (svca_now_ms) a hub is known to have been there: the
 * last answer, or now while a poll is held (at most AGENT_HELD_COUNTS_MS
 * after it was sent).  0 = never.  s may be NULL. */
int64_t agent_sync_contact_mono(struct agent_sync *s, int64_t now);
/* On the loop: what was taken could not be applied; the thread fetches a
 * full snapshot at its next turn (after the poll it may be in). */
void agent_sync_resync(struct agent_sync *s);
/* Stops and joins the thread (within about a second), frees s. */
void agent_sync_stop(struct agent_sync *s);

#endif
