/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The staleness rule for logins on an agent (staleness.h). */
#include "staleness.h"

#include "agentapply.h"
#include "config.h"
#include "daemon.h"

enum login_window login_window_decide(int mode_agent, int64_t age_s, int64_t max_staleness,
				      int break_glass)
{
	if (!mode_agent || (age_s >= 0 && age_s <= max_staleness))
		return LOGIN_FRESH;
	/* Past max_staleness (or never synced: an agent that never synced
	 * holds no account, so only a persisted one gets here).  A
	 * break-glass account is the operator's way in while the hubs are
	 * down: it trades the risk of a stale state for a repairable host. */
	return break_glass ? LOGIN_BREAK_GLASS : LOGIN_STALE;
}

enum login_window login_window_now(const struct daemon *d, const struct account *a, int64_t *age_s)
{
	int agent = config_mode(&d->cfg) == MODE_AGENT;
	*age_s = agent ? agent_age_s(d) : -1;
	return login_window_decide(agent, *age_s, (int64_t)d->cfg.max_staleness, a->break_glass);
}
