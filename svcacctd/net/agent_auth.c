/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Who is asking on a hub's /v1/agent/ endpoints (agent_api.c,
 * agent_keycheck.c, agent_audit_api.c): the host credential, checked once
 * for all of them, and the connection then marked as an agent's in the
 * front's table (out of the anonymous callers' caps).  Below http.c and
 * the endpoint files, so that none of them needs another's file.
 */
#include "http_front.h"

#include <microhttpd.h>
#include <sodium.h>
#include <string.h>

#include "hosts.h"
#include "secrets.h"
#include "sockio.h"

#define CRED_BEARER_MAX 128
/* An agent's connection: its requests may wait behind a burst of other
 * agents' snapshot builds on this single-threaded hub (a change wakes
 * every agent), which must not count as the agent being idle. */
#define AGENT_IDLE_TIMEOUT_S 120
#define AGENT_DEADLINE_MS 120000

/* The connection c has authenticated as an agent (agent_api_auth, below): it
 * leaves the caps meant for anonymous callers (64 per address, 256 in
 * all) for the hub's https_max_connections, so that a fleet behind one
 * address (or NAT) holds its long polls, and gets longer idle and absolute
 * timeouts (its requests may queue behind other agents' snapshot builds).
 * Past that cap it stays counted as anonymous. */
static void mark_agent(struct http_front *h, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct tracked *t = ci ? ci->socket_context : NULL;
	if (!t || t->evicted || (!t->agent && h->agents >= h->max_agents))
		return;
	if (!t->agent) {
		t->agent = 1;
		h->agents++;
		MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
					  (unsigned)AGENT_IDLE_TIMEOUT_S);
	}
	int64_t until = svca_now_ms() + AGENT_DEADLINE_MS; /* each request of it */
	if (t->deadline < until)
		t->deadline = until;
}

static const char *const host_bearer[] = { "WWW-Authenticate", "Bearer realm=\"svcacct-agents\"",
					   NULL };

/* No lockout here: a credential holds 256 random bits, so guessing is
 * hopeless, while a lockout per address would let one removed host behind
 * a NAT lock out every host that shares its address.  The front's caps
 * per address and deadlines bound the load. */
int agent_api_auth(struct http_front *hf, struct MHD_Connection *c, const char *method,
		   struct host *h, enum MHD_Result *ret)
{
	struct daemon *d = http_front_daemon(hf);
	char cred[CRED_BEARER_MAX];
	int b = https_bearer(c, method, cred, sizeof(cred));
	enum hostcred_result r =
		b == 1 ? host_cred_check(d->store, d->secrets->pepper, cred, strlen(cred), h)
		       : HOSTCRED_MALFORMED;
	sodium_memzero(cred, sizeof(cred));
	switch (r) {
	case HOSTCRED_OK:
		mark_agent(hf, c); /* out of the anonymous callers' caps */
		return 1;
	case HOSTCRED_ERROR:
		*ret = http_problem(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Service Unavailable",
				    "the organization database is unreachable", NULL);
		return 0;
	case HOSTCRED_DISABLED:
		*ret = http_problem(c, MHD_HTTP_FORBIDDEN, "Forbidden",
				    "this host is disabled on the hubs (host disable); an admin "
				    "must remove and enroll it again",
				    NULL);
		return 0;
	default:
		*ret = http_problem(c, MHD_HTTP_UNAUTHORIZED, "Unauthorized",
				    b == 1 ? "unknown host credential (the host was removed, or "
					     "never enrolled)"
					   : "send the host credential: Authorization: Bearer "
					     "svch_...",
				    host_bearer);
		return 0;
	}
}
