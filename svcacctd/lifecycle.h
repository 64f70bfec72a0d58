/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The top floor (daemon.c): start-up helpers, the tick, reload and the one
 * "a batch became durable" path.  Included by main.c and daemon.c only;
 * lower layers call these through struct daemon's ops (daemon.h). */
#ifndef SVCACCTD_LIFECYCLE_H
#define SVCACCTD_LIFECYCLE_H

#include "daemon.h"

/* Sets d->ops to the functions below. */
void daemon_init(struct daemon *d);

/* A batch became durable (ok) or was undone: audit lines, NSS snapshot,
 * then release(arg) (the waiting replies), then syslog.  release may be
 * NULL. */
void daemon_settled(struct daemon *d, int ok, void (*release)(void *arg), void *arg);

/* store_flush + daemon_settled: 0 durable, -1 failed (undone). */
int daemon_flush(struct daemon *d);

/* Records a daemon event (daemon.start, daemon.reload, daemon.stop) in its
 * own transaction and makes it durable.  0 ok, -1 failed. */
int daemon_event(struct daemon *d, const char *event, const char *detail);

/* Periodic work (last-use flush, expiry, deny-list purge), from the loop. */
void daemon_tick(struct daemon *d, int force);

/* Hub mode: the change log moved (store_changes_fd is readable): rebuild
 * the NSS snapshot and take the signing keys again as the changes need.
 * arg is the struct daemon (a server_watch callback). */
void daemon_changes(void *arg);
/* The HTTP front whose agents' long polls the change paths wake (NULL:
 * none, or stopping). */
struct http_front;
void daemon_set_front(struct http_front *h);

/* Agent mode: the loop the sync thread's eventfd is watched on; the sync
 * state persisted (at start, before serving); the thread started when
 * enrolled (after server_new) and stopped (after server_free).  The
 * host workspaces come from the applied snapshot (also after a reload). */
struct server;
void daemon_set_server(struct server *srv);
void daemon_agent_load(struct daemon *d);
void daemon_agent_hostws(struct daemon *d);
void daemon_agent_start(struct daemon *d);
void daemon_agent_stop(struct daemon *d);

/* An agent's configuration: logs the organization settings it names,
 * which the hubs decide (config.h: ignored). */
void daemon_warn_ignored(const struct svca_config *cfg);

/* SIGHUP: re-reads the configuration file. */
void daemon_reload(struct daemon *d);

#endif
