/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Counters and histograms for GET /metrics, and their text (metrics.h). */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Index 0 is the allowed outcome; the last is "other".  Known reasons only:
 * a label value never comes from a request. */
static const char *const reasons[METRICS_NREASONS] = {
	"ok",
	"malformed",
	"bad_checksum",
	"unknown_key",
	"bad_secret",
	"key_disabled",
	"key_revoked",
	"key_expired",
	"account_disabled",
	"rate_limited",
	"locked_out",
	"internal_error",
	"wrong_account",
	"stale",
	"hub_unreachable",
	"invalid_key",
	"bad_signature",
	"expired",
	"not_yet_valid",
	"bad_audience",
	"revoked",
	"unknown_account",
	"superseded",
	"no_login_capability",
	"not_allowed",
	"no_grant",
	"disabled",
	"hub_only",
	"unknown",
	"unknown_ca",
	"no_capability",
	"wrong_key_id",
	"certificate_revoked",
	"bad_certificate",
	"",
	"",
	"",
	"",
	"",
	"other",
};

static const double bounds[METRICS_NBUCKETS - 1] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
						     0.05,   0.1,   0.25,   0.5,   1.0 };

static size_t reason_index(const char *reason)
{
	if (!reason)
		return 0;
	for (size_t i = 1; i + 1 < METRICS_NREASONS; i++)
		if (reasons[i][0] && !strcmp(reasons[i], reason))
			return i;
	return METRICS_NREASONS - 1;
}

static int service_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= METRICS_SERVICE_LEN)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* The row of service (added while there is room), else the "other" row. */
static size_t service_index(struct metrics *m, const char *service)
{
	if (!service || !service_ok(service))
		return METRICS_MAX_SERVICES;
	for (size_t i = 0; i < m->nservices; i++)
		if (!strcmp(m->service[i], service))
			return i;
	if (m->nservices == METRICS_MAX_SERVICES)
		return METRICS_MAX_SERVICES;
	snprintf(m->service[m->nservices], METRICS_SERVICE_LEN, "%s", service);
	return m->nservices++;
}

void metrics_login(struct metrics *m, const char *service, const char *reason)
{
	m->logins[service_index(m, service)][reason_index(reason)]++;
}

void metrics_exchange(struct metrics *m, const char *reason)
{
	m->exchanges[reason_index(reason)]++;
}

void metrics_rate_limited(struct metrics *m, int by_key)
{
	m->rate_limited[by_key ? 1 : 0]++;
}

void metrics_lockout(struct metrics *m)
{
	m->lockouts++;
}

void metrics_admin_refusal(struct metrics *m)
{
	m->admin_refusals++;
}

int64_t metrics_clock_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void metrics_observe(struct metrics_histogram *h, int64_t start_us)
{
	int64_t us = metrics_clock_us() - start_us;
	double s = us > 0 ? (double)us / 1e6 : 0.0;
	size_t i = 0;
	while (i < METRICS_NBUCKETS - 1 && s > bounds[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum_s += s;
}

/* ---- the text ------------------------------------------------------------ */

struct out {
	char *p;
	size_t len, cap;
	int oom;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	for (int tries = 0; !o->oom && tries < 2; tries++) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->oom = 1;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = o->cap * 2 + (size_t)n;
		char *q = realloc(o->p, cap);
		if (!q) {
			o->oom = 1;
			return;
		}
		o->p = q;
		o->cap = cap;
	}
}

static void head(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void gauge(struct out *o, const char *name, const char *help, int64_t v)
{
	if (v < 0)
		return; /* not known on this daemon */
	head(o, name, "gauge", help);
	put(o, "%s %lld\n", name, (long long)v);
}

static void gauge_f(struct out *o, const char *name, const char *help, double v)
{
	if (v < 0)
		return;
	head(o, name, "gauge", help);
	put(o, "%s %.3f\n", name, v);
}

static void histogram(struct out *o, const char *name, const char *help,
		      const struct metrics_histogram *h)
{
	uint64_t cum = 0;
	head(o, name, "histogram", help);
	for (size_t i = 0; i < METRICS_NBUCKETS - 1; i++) {
		cum += h->bucket[i];
		put(o, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i], (unsigned long long)cum);
	}
	cum += h->bucket[METRICS_NBUCKETS - 1];
	put(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
	put(o, "%s_sum %.6f\n%s_count %llu\n", name, h->sum_s, name, (unsigned long long)h->count);
}

static const char *outcome(size_t reason)
{
	return reason ? "refused" : "allowed";
}

static void counters(struct out *o, const struct metrics *m)
{
	head(o, "svcacct_logins_total", "counter",
	     "PAM logins (key or token) decided, by PAM service, outcome and reason.");
	for (size_t s = 0; s <= METRICS_MAX_SERVICES; s++) {
		if (s < METRICS_MAX_SERVICES && s >= m->nservices)
			continue;
		const char *svc = s < METRICS_MAX_SERVICES ? m->service[s] : "other";
		for (size_t r = 0; r < METRICS_NREASONS; r++)
			if (m->logins[s][r])
				put(o,
				    "svcacct_logins_total{service=\"%s\",outcome=\"%s\","
				    "reason=\"%s\"} %llu\n",
				    svc, outcome(r), reasons[r],
				    (unsigned long long)m->logins[s][r]);
	}
	head(o, "svcacct_exchanges_total", "counter",
	     "API key to token exchanges decided, by outcome and reason.");
	for (size_t r = 0; r < METRICS_NREASONS; r++)
		if (r == 0 || m->exchanges[r])
			put(o, "svcacct_exchanges_total{outcome=\"%s\",reason=\"%s\"} %llu\n",
			    outcome(r), reasons[r], (unsigned long long)m->exchanges[r]);
	head(o, "svcacct_rate_limited_total", "counter",
	     "Attempts refused by a rate limit, by scope (the caller's or the key's budget).");
	put(o, "svcacct_rate_limited_total{scope=\"caller\"} %llu\n",
	    (unsigned long long)m->rate_limited[0]);
	put(o, "svcacct_rate_limited_total{scope=\"key\"} %llu\n",
	    (unsigned long long)m->rate_limited[1]);
	head(o, "svcacct_lockouts_total", "counter",
	     "Lockouts engaged (lockout_threshold bad secrets of a caller for a key id).");
	put(o, "svcacct_lockouts_total %llu\n", (unsigned long long)m->lockouts);
	head(o, "svcacct_admin_refusals_total", "counter",
	     "Management commands refused (audited as admin.deny).");
	put(o, "svcacct_admin_refusals_total %llu\n", (unsigned long long)m->admin_refusals);
}

static void gauges(struct out *o, const struct metrics_gauges *g)
{
	gauge(o, "svcacct_accounts", "Service accounts.", g->accounts);
	gauge(o, "svcacct_active_keys", "API keys active (not disabled, revoked or expired).",
	      g->active_keys);
	if (g->native_conns >= 0 && g->http_conns >= 0) {
		head(o, "svcacct_connections", "gauge", "Open client connections, by front.");
		put(o, "svcacct_connections{front=\"native\"} %lld\n", (long long)g->native_conns);
		put(o, "svcacct_connections{front=\"http\"} %lld\n", (long long)g->http_conns);
	}
	gauge(o, "svcacct_journal_bytes", "Size of the store's redo journal file.",
	      g->journal_bytes);
	gauge(o, "svcacct_audit_records", "Records in the audit trail (its head sequence).",
	      g->audit_records);
	gauge_f(o, "svcacct_nss_snapshot_age_seconds",
		"Seconds since the NSS snapshot file was last written.", g->nss_snapshot_age_s);
	if (!g->agent)
		return;
	head(o, "svcacct_agent_sync_lag_seconds", "gauge",
	     "Agent: seconds since a hub last answered (-1: none yet since the start).");
	put(o, "svcacct_agent_sync_lag_seconds %.3f\n", g->sync_lag_s);
	gauge(o, "svcacct_agent_hubs_reachable", "Agent: hubs that answered their last request.",
	      g->hubs_reachable);
	gauge(o, "svcacct_agent_hubs_configured", "Agent: hubs configured.", g->hubs_configured);
}

char *metrics_format(const struct metrics *m, const struct metrics_gauges *g)
{
	struct out o = { malloc(8192), 0, 8192, 0 };
	if (!o.p)
		return NULL;
	counters(&o, m);
	histogram(&o, "svcacct_pam_check_seconds",
		  "Time to decide a PAM authentication (in the daemon).", &m->pam_check);
	histogram(&o, "svcacct_exchange_seconds",
		  "Time to decide a token exchange (in the daemon; an agent's hub round trip "
		  "not included).",
		  &m->exchange);
	gauges(&o, g);
	if (o.oom) {
		free(o.p);
		return NULL;
	}
	return o.p;
}
