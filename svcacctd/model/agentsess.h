/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * An agent cannot mint session tokens (only the hubs hold the signing
 * key).  When a PAM key login is checked by a hub, the hub also mints the
 * session token; it waits here, in memory only, for that login's
 * pam.session_open (the next PAM step, a moment later).  Bounded: a few
 * entries, each taken once or dropped after AGENT_SESS_TTL_MS; wiped.
 * Loop thread only.
 */
#ifndef SVCACCTD_AGENTSESS_H
#define SVCACCTD_AGENTSESS_H

#include <stddef.h>
#include <stdint.h>

#define AGENT_SESS_MAX 64
#define AGENT_SESS_TTL_MS 120000
#define AGENT_SESS_TOKEN_MAX 512

/* Keeps token for account uid (the oldest entry makes room). */
void agent_sess_put(uint32_t uid, const char *token, uint64_t expires_in);
/* Takes the token kept for uid: 1 (out filled, the entry wiped), 0 none. */
int agent_sess_take(uint32_t uid, char out[AGENT_SESS_TOKEN_MAX + 1], uint64_t *expires_in);
/* Wipes every entry (shutdown, tests). */
void agent_sess_clear(void);

#endif
