/* SPDX-License-Identifier: GPL-3.0-or-later */
/* systemd readiness and watchdog (readiness.h). */
#include "readiness.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "accounts.h"
#include "agentapply.h"
#include "log.h"
#include "notify.h"
#include "server.h"

/* The watchdog's timer (-1: none), the last STATUS= sent and the account
 * count it names (counted at start, not at every tick: a hub's table can
 * be large). */
static int wd_fd = -1;
static char last_status[160];
static long long accounts_at_start = -1;
static int ready; /* READY=1 sent, STOPPING=1 not yet */

static int count_account(void *arg, const struct account *a)
{
	(void)a;
	(*(long long *)arg)++;
	return 0;
}

static void status_text(const struct daemon *d, char *out, size_t len)
{
	enum svca_mode m = config_mode(&d->cfg);
	snprintf(out, len, "%s: serving, %lld accounts%s", config_mode_name(m), accounts_at_start,
		 m == MODE_AGENT ? (agent_stale(d) ? "; directory stale" : "; directory fresh")
				 : "");
}

static void send_status(const struct daemon *d, const char *first)
{
	char s[sizeof(last_status)];
	status_text(d, s, sizeof(s));
	if (!first && !strcmp(s, last_status))
		return;
	snprintf(last_status, sizeof(last_status), "%s", s);
	svca_notify("%sSTATUS=%s", first ? first : "", s);
}

/* The timer fired (or the loop's periodic call): a ping per expiry. */
static void on_watchdog(void *arg)
{
	(void)arg;
	uint64_t n;
	if (read(wd_fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		svca_notify("WATCHDOG=1");
}

static void watchdog_start(struct server *srv)
{
	uint64_t us = svca_notify_watchdog_usec();
	if (!us)
		return;
	uint64_t half = us / 2 ? us / 2 : 1;
	struct itimerspec it = { { (time_t)(half / 1000000), (long)(half % 1000000) * 1000 },
				 { (time_t)(half / 1000000), (long)(half % 1000000) * 1000 } };
	wd_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (wd_fd < 0 || timerfd_settime(wd_fd, 0, &it, NULL) < 0 ||
	    server_watch(srv, wd_fd, on_watchdog, NULL, NULL) < 0) {
		log_warn("watchdog: cannot set up the timer (%s); WATCHDOG=1 is not sent",
			 strerror(errno));
		if (wd_fd >= 0)
			close(wd_fd);
		wd_fd = -1;
		return;
	}
	svca_notify("WATCHDOG=1");
}

void readiness_start(struct daemon *d, struct server *srv)
{
	accounts_at_start = 0;
	if (account_foreach(d->store, count_account, &accounts_at_start) < 0)
		accounts_at_start = -1;
	char first[64];
	snprintf(first, sizeof(first), "READY=1\nMAINPID=%ld\n", (long)getpid());
	send_status(d, first);
	ready = 1;
	watchdog_start(srv);
}

void readiness_tick(struct daemon *d)
{
	if (ready)
		send_status(d, NULL);
}

void readiness_stop(void)
{
	if (ready)
		svca_notify("STOPPING=1\nSTATUS=stopping");
	ready = 0;
	if (wd_fd >= 0)
		close(wd_fd);
	wd_fd = -1;
}
