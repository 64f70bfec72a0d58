/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Bounding a hub's enrollment tokens (enroll/ records, hosts.h).  Tokens
 * are only made by host token create, so that is where they are bounded:
 * used or expired tokens are kept ENROLL_KEEP_DAYS (the "already used" /
 * "expired" answers and the audit trail name them), then deleted; live
 * (unused, unexpired) ones are capped at ENROLL_MAX_LIVE.
 */
#ifndef SVCACCTD_ENROLLGC_H
#define SVCACCTD_ENROLLGC_H

#include <stddef.h>
#include <stdint.h>

#include "hosts.h"
#include "store.h"

#define ENROLL_KEEP_DAYS 30
#define ENROLL_MAX_LIVE 1000
/* Deleted at most per call: one transaction stays bounded. */
#define ENROLL_PURGE_MAX 1000

/* The pure rules, at wall time now_ms. */
int enroll_is_live(const struct enroll_token *t, int64_t now_ms);
int enroll_is_purgeable(const struct enroll_token *t, int64_t now_ms);

/* In the caller's open transaction: deletes up to ENROLL_PURGE_MAX
 * purgeable tokens (an unreadable record too: nothing can use it) and
 * counts the live ones.  0 ok, -1 storage error (the caller aborts). */
int enroll_gc(struct store *s, int64_t now_ms, size_t *live, size_t *purged);

#endif
