/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * systemd readiness (Type=notify units, base/notify.h): READY=1 once the
 * state is open and every socket listens, STATUS= lines (mode, accounts;
 * on an agent whether its directory is stale), WATCHDOG=1 every
 * WatchdogSec/2 from the loop itself when $WATCHDOG_USEC is set, and
 * STOPPING=1 at shutdown.
 */
#ifndef SVCACCTD_READINESS_H
#define SVCACCTD_READINESS_H

#include "daemon.h"

struct server;

/* After start-up: READY=1 and the first STATUS=; the watchdog's timer on
 * srv's loop.  Failures only log. */
void readiness_start(struct daemon *d, struct server *srv);
/* From the tick: a new STATUS= when it changed (an agent going stale). */
void readiness_tick(struct daemon *d);
/* At shutdown: STOPPING=1; the timer closed. */
void readiness_stop(void);

#endif
