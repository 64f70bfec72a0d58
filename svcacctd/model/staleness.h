/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * May this account log in now, as far as the age of an agent's copy of the
 * directory goes (DESIGN.md section 9)?  One decision, kept out of the PAM
 * handler so that the rule lives in the model and is tested alone.
 */
#ifndef SVCACCTD_STALENESS_H
#define SVCACCTD_STALENESS_H

#include <stdint.h>

#include "accounts.h"

enum login_window {
	LOGIN_FRESH = 0,       /* not an agent, or synced within max_staleness */
	LOGIN_STALE = 1,       /* refuse: the directory was not reached for too long */
	LOGIN_BREAK_GLASS = 2, /* stale, but a break-glass account: check as usual */
};

/* The pure rule: mode_agent (this daemon is an agent), age_s (seconds since
 * its last sync, -1 never), max_staleness (seconds), break_glass (the
 * account's flag). */
enum login_window login_window_decide(int mode_agent, int64_t age_s, int64_t max_staleness,
				      int break_glass);

struct daemon;
/* The rule applied to this daemon now; *age_s gets the age used (-1 never
 * synced, or not an agent). */
enum login_window login_window_now(const struct daemon *d, const struct account *a, int64_t *age_s);

#endif
