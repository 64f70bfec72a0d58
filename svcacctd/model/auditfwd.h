/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Agent mode: the thread that forwards this host's audit records to the
 * hubs (issue 17 item 6; store/audit_fleet.h for the spool and the body).
 *
 * The thread never touches the store: the loop reads a batch after the
 * persisted cursor (afleet_batch) and hands it over with auditfwd_offer();
 * the thread POSTs it to /v1/agent/audit on the hubs in order until one
 * answers, signals an eventfd, and the loop takes the answer
 * (auditfwd_take) and persists the cursor.  When no hub answers it retries
 * the same batch after 1, 2, 4 ... s, capped at AUDITFWD_BACKOFF_MAX_MS,
 * each wait jittered by up to a quarter.
 */
#ifndef SVCACCTD_AUDITFWD_H
#define SVCACCTD_AUDITFWD_H

#include <stdint.h>

#include "agent.h"

#define AUDITFWD_TIMEOUT_MS 20000     /* one POST */
#define AUDITFWD_BACKOFF_MAX_MS 30000 /* the longest wait between tries */
#define AUDITFWD_LINGER_MS 200        /* after a batch, before the next */
#define AUDITFWD_PATH "/v1/agent/audit"

struct auditfwd;

/* Starts the thread; cred is copied (wiped at stop).  NULL on failure. */
struct auditfwd *auditfwd_start(const struct agent_hubs *hubs, const char *cred);
/* Readable when a hub answered a batch. */
int auditfwd_fd(const struct auditfwd *f);
/* 1 when the thread holds no batch (one may be offered). */
int auditfwd_idle(struct auditfwd *f);
/* Hands a batch over (body malloc'ed: the thread frees it); last = its
 * last host seq. */
void auditfwd_offer(struct auditfwd *f, char *body, uint64_t last);

struct auditfwd_answer {
	int got;       /* 0: nothing answered since the last take */
	int gap;       /* 1: the hub refused a gap (409): resend after mark */
	uint64_t mark; /* the host's high-water mark on the hubs */
	uint64_t last; /* the batch's last host seq */
};
/* On the loop: clears the eventfd and takes the answer. */
void auditfwd_take(struct auditfwd *f, struct auditfwd_answer *a);
/* Stops and joins the thread (within about a second), frees f. */
void auditfwd_stop(struct auditfwd *f);

/* The spool's bound (pure, unit-tested): with the durable head and the
 * cursor, 1 when records cursor+1..*to must be dropped (so that, with the
 * audit.forward_dropped event appended next, at most bound records wait),
 * *from = cursor + 1; 0 when within the bound (bound 0: no bound). */
int auditfwd_plan_drop(uint64_t head, uint64_t cursor, uint64_t bound, uint64_t *from,
		       uint64_t *to);
/* The cursor after a hub's answer: an acknowledgement never moves it back
 * (a drop may have moved it on meanwhile); a refused gap (the hub has less
 * than the agent thought, e.g. its database was restored) does, to resend.
 * Never past head. */
uint64_t auditfwd_next_cursor(uint64_t cursor, const struct auditfwd_answer *a, uint64_t head);

#endif
