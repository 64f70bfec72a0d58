/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Session tokens from the hubs, waiting for session_open (agentsess.h). */
#include "agentsess.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "sockio.h"

static struct {
	int64_t at;   /* monotonic ms */
	uint64_t seq; /* put order: lower = older */
	uint64_t expires_in;
	uint32_t uid; /* 0 = free */
	char token[AGENT_SESS_TOKEN_MAX + 1];
} slot[AGENT_SESS_MAX];
static uint64_t next_seq;

static void drop(size_t i)
{
	sodium_memzero(&slot[i], sizeof(slot[i]));
}

static void expire(int64_t now)
{
	for (size_t i = 0; i < AGENT_SESS_MAX; i++)
		if (slot[i].uid && now - slot[i].at > AGENT_SESS_TTL_MS)
			drop(i);
}

void agent_sess_put(uint32_t uid, const char *token, uint64_t expires_in)
{
	int64_t now = svca_now_ms();
	size_t pick = 0;
	if (!uid || strlen(token) > AGENT_SESS_TOKEN_MAX)
		return;
	expire(now);
	for (size_t i = 0; i < AGENT_SESS_MAX; i++) {
		if (!slot[i].uid) {
			pick = i;
			break;
		}
		if (slot[i].seq < slot[pick].seq)
			pick = i;
	}
	drop(pick);
	slot[pick].uid = uid;
	slot[pick].at = now;
	slot[pick].seq = ++next_seq;
	slot[pick].expires_in = expires_in;
	snprintf(slot[pick].token, sizeof(slot[pick].token), "%s", token);
}

/* The newest entry for uid: the login that just authenticated. */
int agent_sess_take(uint32_t uid, char out[AGENT_SESS_TOKEN_MAX + 1], uint64_t *expires_in)
{
	size_t best = AGENT_SESS_MAX;
	expire(svca_now_ms());
	for (size_t i = 0; uid && i < AGENT_SESS_MAX; i++)
		if (slot[i].uid == uid && (best == AGENT_SESS_MAX || slot[i].seq > slot[best].seq))
			best = i;
	if (best == AGENT_SESS_MAX)
		return 0;
	memcpy(out, slot[best].token, AGENT_SESS_TOKEN_MAX + 1);
	*expires_in = slot[best].expires_in;
	drop(best);
	return 1;
}

void agent_sess_clear(void)
{
	sodium_memzero(slot, sizeof(slot));
}
