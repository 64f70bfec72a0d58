/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon's counters for GET /metrics (Prometheus text format 0.0.4,
 * docs/metrics.md).  One call per decision, made where it is taken
 * (handlers_pam.c, handlers_keys.c, keys.c, request.c); the formatting is
 * here only.
 *
 * Loop thread only (every decision and the scrape run on the daemon's
 * loop): plain counters, no lock.  Label sets are bounded: a reason not in
 * the known list, a PAM service past the first METRICS_MAX_SERVICES names
 * (or with characters outside [A-Za-z0-9_.-]) is counted as "other".
 */
#ifndef SVCACCTD_METRICS_H
#define SVCACCTD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_SERVICES 16
#define METRICS_SERVICE_LEN 32
#define METRICS_NREASONS 40 /* index 0: allowed ("ok"); the last: "other" */
#define METRICS_NBUCKETS 12 /* the last: +Inf */

struct metrics_histogram {
	uint64_t bucket[METRICS_NBUCKETS]; /* not cumulative; summed when printed */
	uint64_t count;
	double sum_s;
};

struct metrics {
	char service[METRICS_MAX_SERVICES + 1][METRICS_SERVICE_LEN]; /* the last: "other" */
	size_t nservices;
	uint64_t logins[METRICS_MAX_SERVICES + 1][METRICS_NREASONS];
	uint64_t exchanges[METRICS_NREASONS];
	uint64_t rate_limited[2]; /* by caller, by key */
	uint64_t lockouts;
	uint64_t admin_refusals;
	struct metrics_histogram pam_check, exchange;
	size_t native_conns; /* set by the loop (server.c) */
};

/* What is measured at the scrape (net/http.c); -1: not known here. */
struct metrics_gauges {
	int64_t accounts, active_keys;
	int64_t native_conns, http_conns;
	int64_t journal_bytes, audit_records;
	double nss_snapshot_age_s;
	int agent;              /* the fleet gauges below apply */
	double sync_lag_s;      /* since the last answer of a hub; -1 none yet */
	int64_t hubs_reachable; /* of hubs_configured */
	int64_t hubs_configured;
};

/* A PAM login decided: reason NULL = allowed. */
void metrics_login(struct metrics *m, const char *service, const char *reason);
/* A token exchange decided: reason NULL = allowed. */
void metrics_exchange(struct metrics *m, const char *reason);
/* A rate limit hit (by_key: the key's own budget, else the caller's). */
void metrics_rate_limited(struct metrics *m, int by_key);
/* A lockout engaged. */
void metrics_lockout(struct metrics *m);
/* A management command refused (admin.deny). */
void metrics_admin_refusal(struct metrics *m);
/* Latencies: the time since start_ms (svca_now_ms-like monotonic ms),
 * measured with the monotonic clock in microseconds. */
int64_t metrics_clock_us(void);
void metrics_observe(struct metrics_histogram *h, int64_t start_us);

/* The exposition text (malloc'ed, NUL-ended), or NULL (out of memory). */
char *metrics_format(const struct metrics *m, const struct metrics_gauges *g);

#endif
