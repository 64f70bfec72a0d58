/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The counters of GET /metrics (svcacctd/base/metrics.c): one series per
 * service and reason, bounded label sets (unknown reasons and services
 * past the table, or with odd characters, fold into "other"), cumulative
 * histogram buckets ending in +Inf == _count, gauges left out when not
 * known, the agent's only on an agent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static struct metrics_gauges no_gauges(void)
{
	struct metrics_gauges g = { -1, -1, -1, -1, -1, -1, -1.0, 0, -1.0, -1, -1 };
	return g;
}

static char *text(const struct metrics *m, const struct metrics_gauges *g)
{
	char *s = metrics_format(m, g);
	assert_non_null(s);
	return s;
}

static void logins_by_service_and_reason(void **state)
{
	(void)state;
	static struct metrics m;
	memset(&m, 0, sizeof(m));
	metrics_login(&m, "sshd", NULL);
	metrics_login(&m, "sshd", NULL);
	metrics_login(&m, "sshd", "bad_secret");
	metrics_login(&m, "sudo", "no-such-reason");
	struct metrics_gauges g = no_gauges();
	char *s = text(&m, &g);
	assert_non_null(strstr(
		s, "svcacct_logins_total{service=\"sshd\",outcome=\"allowed\",reason=\"ok\"} 2\n"));
	assert_non_null(strstr(s, "svcacct_logins_total{service=\"sshd\",outcome=\"refused\","
				  "reason=\"bad_secret\"} 1\n"));
	assert_non_null(strstr(
		s,
		"svcacct_logins_total{service=\"sudo\",outcome=\"refused\",reason=\"other\"} 1\n"));
	assert_null(strstr(s, "no-such-reason"));
	free(s);
}

static void services_are_bounded(void **state)
{
	(void)state;
	static struct metrics m;
	memset(&m, 0, sizeof(m));
	char name[32];
	for (int i = 0; i < METRICS_MAX_SERVICES + 5; i++) {
		snprintf(name, sizeof(name), "svc%d", i);
		metrics_login(&m, name, NULL);
	}
	metrics_login(&m, "bad\"name", NULL);
	metrics_login(&m, "bad name\n", NULL);
	metrics_login(&m, NULL, NULL);
	struct metrics_gauges g = no_gauges();
	char *s = text(&m, &g);
	assert_non_null(strstr(s, "service=\"svc15\""));
	assert_null(strstr(s, "service=\"svc16\""));
	assert_non_null(strstr(
		s,
		"svcacct_logins_total{service=\"other\",outcome=\"allowed\",reason=\"ok\"} 8\n"));
	assert_null(strstr(s, "service=\"bad"));
	free(s);
}

static void histogram_is_cumulative(void **state)
{
	(void)state;
	static struct metrics m;
	memset(&m, 0, sizeof(m));
	int64_t now = metrics_clock_us();
	metrics_observe(&m.pam_check, now);               /* ~0 s: first bucket */
	metrics_observe(&m.pam_check, now - 30000);       /* 30 ms: le 0.05 */
	metrics_observe(&m.pam_check, now - 5 * 1000000); /* 5 s: +Inf only */
	struct metrics_gauges g = no_gauges();
	char *s = text(&m, &g);
	assert_non_null(strstr(s, "svcacct_pam_check_seconds_bucket{le=\"0.0005\"} 1\n"));
	assert_non_null(strstr(s, "svcacct_pam_check_seconds_bucket{le=\"0.025\"} 1\n"));
	assert_non_null(strstr(s, "svcacct_pam_check_seconds_bucket{le=\"0.05\"} 2\n"));
	assert_non_null(strstr(s, "svcacct_pam_check_seconds_bucket{le=\"1\"} 2\n"));
	assert_non_null(strstr(s, "svcacct_pam_check_seconds_bucket{le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(s, "svcacct_pam_check_seconds_count 3\n"));
	assert_non_null(strstr(s, "svcacct_exchange_seconds_count 0\n"));
	free(s);
}

static void gauges_known_and_unknown(void **state)
{
	(void)state;
	static struct metrics m;
	memset(&m, 0, sizeof(m));
	struct metrics_gauges g = no_gauges();
	char *s = text(&m, &g);
	assert_null(strstr(s, "svcacct_accounts"));
	assert_null(strstr(s, "svcacct_agent_"));
	free(s);
	g.accounts = 7;
	g.native_conns = 1;
	g.http_conns = 2;
	g.agent = 1;
	g.sync_lag_s = -1;
	g.hubs_reachable = 0;
	g.hubs_configured = 2;
	s = text(&m, &g);
	assert_non_null(strstr(s, "\nsvcacct_accounts 7\n"));
	assert_non_null(strstr(s, "svcacct_connections{front=\"http\"} 2\n"));
	assert_non_null(strstr(s, "svcacct_agent_sync_lag_seconds -1.000\n"));
	assert_non_null(strstr(s, "svcacct_agent_hubs_configured 2\n"));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(logins_by_service_and_reason),
		cmocka_unit_test(services_are_bounded),
		cmocka_unit_test(histogram_is_cumulative),
		cmocka_unit_test(gauges_known_and_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
