/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Refusal records under a flood.  Every refusal (admin.deny, token.deny,
 * ...) used to be its own durable audit write and syslog line, so any
 * local user could fill the state file system with them and stop logins.
 *
 * Now, per caller (the peer uid on the native socket; the address on the
 * HTTP front's TCP listener, all of loopback being one caller) and per
 * window of audit_refusal_window seconds, the first audit_refusal_burst
 * refusals are recorded one by one; the rest are only counted, and one
 * audit.coalesced record per caller says how many there were (field
 * "suppressed", and per event in "detail").  It is written by the daemon's
 * tick once the window has closed, and for every caller at a clean
 * shutdown (before daemon.stop), so no count is lost.
 *
 * Below state_reserve_mb of free space on the state file system, the
 * refusals of these callers are counted, never written (their summaries
 * wait for space, or for the shutdown).
 *
 * Root's requests on the native socket (the PAM module, root's own
 * svcacctctl) are never coalesced.
 */
#ifndef SVCACCTD_REFUSALS_H
#define SVCACCTD_REFUSALS_H

#include "daemon.h"

/* A refusal of event (and, when also is not NULL, a second event that goes
 * with it, e.g. key.lockout) caused by peer/actor: 1 record it now, 0 it
 * was counted instead. */
int refusals_admit(struct daemon *d, const struct peer *p, const struct actor *a, const char *event,
		   const char *also);
/* Counts a refusal whose record could not be written (no space). */
void refusals_count(struct daemon *d, const struct peer *p, const struct actor *a,
		    const char *event);
/* From the daemon's tick: writes the audit.coalesced records that are due
 * (force: every pending count, whatever the window and the free space). */
void refusals_tick(struct daemon *d, int force);
void refusals_free(struct daemon *d);

/* 1 when the state file system is below the state_reserve_mb watermark. */
int refusals_low_space(struct daemon *d);

/* 1 when peer/actor is an unprivileged caller (no root on the native
 * socket, no admin rights): its writes keep off the reserve. */
int refusals_unprivileged(const struct peer *p, const struct actor *a);

#endif
