/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The daemon's shared state and the caller model. */
#ifndef SVCACCTD_DAEMON_H
#define SVCACCTD_DAEMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "caller.h"
#include "config.h"
#include "defaults.h"
#include "lastuse.h"
#include "metrics.h"
#include "proto.h"
#include "store.h"

#define SVCACCTD_VERSION SVCA_VERSION

struct audit;
struct secrets;
struct rl_table;
struct refusals;
struct nss_table;
struct agent_sync;
struct auditfwd;

struct daemon;

/* What the lower layers call back into the top floor (daemon.c sets them
 * up in daemon_init; lifecycle.h says what each does).  Through these,
 * net/ and cmd/ never include the top. */
struct daemon_ops {
	int (*flush)(struct daemon *d);
	void (*settled)(struct daemon *d, int ok, void (*release)(void *arg), void *arg);
	void (*tick)(struct daemon *d, int force);
	void (*reload)(struct daemon *d);
	/* Agent mode: an enrollment just succeeded: follow the hubs. */
	void (*agent_enrolled)(struct daemon *d);
};

struct daemon {
	const struct daemon_ops *ops;
	struct svca_config cfg;
	struct store *store;
	struct audit *audit;
	gid_t *admin_gids;
	size_t n_admin_gids;
	gid_t *super_gids;
	size_t n_super_gids;
	struct secrets *secrets;
	struct rl_table *rl_key;   /* token exchanges per key id */
	struct rl_table *rl_uid;   /* token exchanges per calling uid */
	struct rl_table *rl_lock;  /* bad secrets per key id: lockout */
	struct refusals *refusals; /* refusal records per caller (refusals.h) */
	struct nss_table *nss;     /* the NSS snapshot's table (nss/nss_snapshot.h) */
	int nss_dirty;             /* the NSS snapshot must be rewritten */
	int64_t tick_last;         /* daemon_tick: last run, last deny-list purge */
	int64_t purge_last;
	struct lastuse_queue lastuse; /* key last-use times not written yet (keys.c) */
	struct caller_names names;    /* callers' user names (cmd/request.c) */
	/* Agent mode (model/agentsync.h, agentapply.h): the thread that
	 * follows the hubs, the applied snapshot's seq, and the last
	 * successful sync: this run's (monotonic ms, 0 = none yet) and the
	 * persisted one (wall ms, 0 = never), with this run's start on both
	 * clocks (the window across a restart). */
	struct agent_sync *sync;
	uint64_t sync_seq;
	int64_t sync_ok_mono;
	int64_t sync_ok_wall;
	int64_t start_mono, start_wall;
	/* Agent mode: the audit forwarding thread (model/auditfwd.h) and the
	 * spool's persisted state (store/audit_fleet.h, "audit/fwd"). */
	struct auditfwd *afwd;
	uint64_t afwd_cursor, afwd_dropped;
	int64_t afwd_ok_wall;
	int afwd_unsaved;       /* the cursor moved since audit/fwd was written */
	struct metrics metrics; /* GET /metrics (base/metrics.h) */
};

#endif
