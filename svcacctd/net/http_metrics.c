/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * GET /metrics on the HTTP front (http_socket, http_listen; not on the
 * HTTPS API): the counters of base/metrics.h and the gauges measured now,
 * in the Prometheus text format 0.0.4 (docs/metrics.md).
 */
#include <microhttpd.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "accounts.h"
#include "agent.h"
#include "agentapply.h"
#include "agentsync.h"
#include "audit.h"
#include "http_front.h"
#include "keys.h"
#include "metrics.h"
#include "snapshot_format.h"
#include "sockio.h"

static int count_account(void *arg, const struct account *a)
{
	(void)a;
	(*(int64_t *)arg)++;
	return 0;
}

static int64_t active_keys(struct daemon *d)
{
	struct apikey *v = NULL;
	size_t n = 0;
	if (key_all(d->store, &v, &n) < 0)
		return -1;
	uint64_t now = (uint64_t)svca_wall_ms();
	int64_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += v[i].status == KEY_ACTIVE && (!v[i].expires_at || v[i].expires_at > now);
	if (v)
		sodium_memzero(v, n * sizeof(*v)); /* the key hashes */
	free(v);
	return k;
}

/* Size of dir/name, or -1 (none: a hub keeps no journal file). */
static int64_t file_size(const char *dir, const char *name, double *age_s)
{
	char path[4096];
	struct stat st;
	if (!dir || snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    stat(path, &st) < 0)
		return -1;
	if (age_s) {
		double age = difftime(time(NULL), st.st_mtime);
		*age_s = age > 0 ? age : 0;
	}
	return (int64_t)st.st_size;
}

static void agent_gauges(struct daemon *d, struct metrics_gauges *g)
{
	struct agent_hubs hubs;
	agent_hubs_copy(&d->cfg, &hubs);
	g->agent = 1;
	g->hubs_configured = (int64_t)hubs.n;
	g->hubs_reachable = 0;
	int64_t age = agent_age_s(d);
	g->sync_lag_s = age < 0 ? -1 : (double)age;
	if (!d->sync)
		return;
	struct agent_sync_view v;
	agent_sync_view(d->sync, &v);
	for (size_t i = 0; i < hubs.n && i < AGENT_MAX_HUBS; i++)
		g->hubs_reachable += v.reachable[i] != 0;
}

static void gauges(struct http_front *h, struct metrics_gauges *g)
{
	struct daemon *d = h->d;
	memset(g, 0, sizeof(*g));
	g->accounts = 0;
	if (account_foreach(d->store, count_account, &g->accounts) < 0)
		g->accounts = -1;
	g->active_keys = active_keys(d);
	g->native_conns = (int64_t)d->metrics.native_conns;
	g->http_conns = h->live - h->evicted;
	g->journal_bytes = file_size(d->cfg.state_dir, "journal", NULL);
	g->audit_records = (int64_t)audit_head(d->audit);
	g->nss_snapshot_age_s = -1;
	file_size(d->cfg.nss_dir, SVCA_SNAP_FILE, &g->nss_snapshot_age_s);
	if (config_mode(&d->cfg) == MODE_AGENT)
		agent_gauges(d, g);
}

enum MHD_Result http_metrics(struct http_front *h, struct MHD_Connection *c)
{
	struct metrics_gauges g;
	gauges(h, &g);
	char *s = metrics_format(&h->d->metrics, &g);
	if (!s)
		return http_problem(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error",
				    "out of memory", NULL);
	enum MHD_Result r =
		http_respond(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", s, NULL);
	free(s);
	return r;
}
