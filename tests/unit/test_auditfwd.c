/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Audit forwarding (issue 17 item 6): the spool's bound and cursor
 * (model/auditfwd.c), the durable head, an agent's batch and a hub's
 * ingest and verify (store/audit_fleet.c) on two GDBM stores. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "audit_fleet.h"
#include "auditfwd.h"
#include "store.h"

static void bound_not_reached(void **state)
{
	(void)state;
	uint64_t from = 0, to = 0;
	assert_int_equal(auditfwd_plan_drop(10, 0, 10, &from, &to), 0);
	assert_int_equal(auditfwd_plan_drop(5, 5, 10, &from, &to), 0);
	assert_int_equal(auditfwd_plan_drop(3, 7, 10, &from, &to), 0);      /* cursor past head */
	assert_int_equal(auditfwd_plan_drop(1000000, 0, 0, &from, &to), 0); /* no bound */
}

static void bound_drops_the_oldest(void **state)
{
	(void)state;
	uint64_t from = 0, to = 0;
	/* 11 waiting, bound 10: 1-2 go, so that with the event 10 wait */
	assert_int_equal(auditfwd_plan_drop(11, 0, 10, &from, &to), 1);
	assert_int_equal(from, 1);
	assert_int_equal(to, 2);
	uint64_t head = 11 + 1; /* the audit.forward_dropped event */
	assert_int_equal(head - to, 10);
	assert_int_equal(auditfwd_plan_drop(head, to, 10, &from, &to), 0); /* stable */
	assert_int_equal(auditfwd_plan_drop(125, 40, 10, &from, &to), 1);
	assert_int_equal(from, 41);
	assert_int_equal(to, 116);
}

static void cursor_after_answers(void **state)
{
	(void)state;
	struct auditfwd_answer none = { 0 }, ack = { 1, 0, 7, 7 }, old = { 1, 0, 3, 3 },
			       gap = { 1, 1, 2, 9 }, far = { 1, 0, 50, 9 };
	assert_int_equal(auditfwd_next_cursor(5, &none, 9), 5);
	assert_int_equal(auditfwd_next_cursor(5, &ack, 9), 7);
	assert_int_equal(auditfwd_next_cursor(5, &old, 9), 5); /* a drop moved it on */
	assert_int_equal(auditfwd_next_cursor(5, &gap, 9), 2); /* the hub has less: resend */
	assert_int_equal(auditfwd_next_cursor(5, &far, 9), 9); /* never past head */
}

/* ---- two stores: an agent and a hub ------------------------------------------------ */

struct side {
	char dir[64];
	struct store *s;
	struct audit *a;
};

static void side_open(struct side *x, const char *tag)
{
	char err[256], kpath[128];
	struct svca_config cfg;
	snprintf(x->dir, sizeof(x->dir), "/tmp/svcacct-%s-XXXXXX", tag);
	assert_non_null(mkdtemp(x->dir));
	x->s = store_open(x->dir, err, sizeof(err));
	if (!x->s)
		fail_msg("store_open: %s", err);
	config_defaults(&cfg);
	cfg.syslog = 0;
	snprintf(kpath, sizeof(kpath), "%s/audit.key", x->dir);
	cfg.audit_key_file = strdup(kpath);
	x->a = audit_open(x->s, &cfg, err, sizeof(err));
	config_free(&cfg);
	if (!x->a)
		fail_msg("audit_open: %s", err);
}

static void side_close(struct side *x)
{
	char cmd[128];
	audit_close(x->a);
	store_close(x->s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
	assert_int_equal(system(cmd), 0);
}

static void events(struct side *x, int n, int flush)
{
	struct actor act = { .uid = 0 };
	snprintf(act.user, sizeof(act.user), "root");
	for (int i = 0; i < n; i++) {
		struct audit_event ev = { .event = "auth.allow",
					  .outcome = "success",
					  .actor = &act,
					  .account = "svc-a",
					  .service = "sshd" };
		store_begin(x->s);
		assert_int_equal(audit_append(x->a, &ev), 0);
		assert_int_equal(store_commit(x->s), 0);
	}
	if (flush) {
		assert_int_equal(store_flush(x->s), 0);
		audit_flushed(x->a, 1);
	}
}

static enum afleet_result ingest(struct side *hub, const char *host, const char *body,
				 uint64_t *mark)
{
	char err[300];
	store_begin(hub->s);
	enum afleet_result r =
		afleet_ingest(hub->a, hub->s, host, body, strlen(body), mark, err, sizeof(err));
	if (r == AFLEET_OK)
		assert_int_equal(store_commit(hub->s), 0);
	else
		store_abort(hub->s);
	assert_int_equal(store_flush(hub->s), 0);
	audit_flushed(hub->a, 1);
	return r;
}

static void durable_head_follows_the_flush(void **state)
{
	(void)state;
	struct side ag;
	side_open(&ag, "afwd-ag");
	events(&ag, 3, 1);
	assert_int_equal(audit_durable_head(ag.a), 3);
	events(&ag, 2, 0); /* committed, not durable yet */
	assert_int_equal(audit_head(ag.a), 5);
	assert_int_equal(audit_durable_head(ag.a), 3);
	assert_int_equal(store_flush(ag.s), 0);
	audit_flushed(ag.a, 1);
	assert_int_equal(audit_durable_head(ag.a), 5);
	side_close(&ag);
}

static void forwarded_once_and_verified(void **state)
{
	(void)state;
	struct side ag, hub, other;
	char *body = NULL, *gap = NULL;
	uint64_t last = 0, mark = 0, checked = 0, bad = 0, hseq = 0;
	char host[64], msg[512];
	side_open(&ag, "afwd-ag");
	side_open(&hub, "afwd-hub");
	side_open(&other, "afwd-other");
	events(&ag, 5, 1);
	events(&hub, 2, 1); /* the hub's own events */

	assert_int_equal(afleet_batch(ag.a, 0, 5, 0, &body, &last), 0);
	assert_int_equal(last, 5);
	assert_int_equal(ingest(&hub, "web1", body, &mark), AFLEET_OK);
	assert_int_equal(mark, 5);
	assert_int_equal(audit_head(hub.a), 7);
	assert_int_equal(ingest(&hub, "web1", body, &mark), AFLEET_OK); /* again */
	assert_int_equal(mark, 5);
	assert_int_equal(audit_head(hub.a), 7);                         /* appended once */
	assert_int_equal(ingest(&hub, "web2", body, &mark), AFLEET_OK); /* another host */
	assert_int_equal(audit_head(hub.a), 12);
	assert_int_equal(afleet_batch(ag.a, 5, 5, 0, &gap, &last), 1); /* nothing after 5 */
	free(body);

	/* a gap: records 8-9 without 6-7 */
	events(&ag, 4, 1);
	assert_int_equal(afleet_batch(ag.a, 7, 9, 0, &gap, &last), 0);
	assert_int_equal(ingest(&hub, "web1", gap, &mark), AFLEET_GAP);
	assert_int_equal(mark, 5);
	assert_int_equal(audit_head(hub.a), 12);
	free(gap);
	/* the same gap, said to be dropped: accepted; verify wants the event */
	assert_int_equal(afleet_batch(ag.a, 7, 9, 7, &gap, &last), 0);
	assert_int_equal(ingest(&hub, "web1", gap, &mark), AFLEET_OK);
	assert_int_equal(mark, 9);
	free(gap);
	assert_int_equal(
		afleet_verify(hub.a, &checked, &bad, host, sizeof(host), &hseq, msg, sizeof(msg)),
		-1);
	assert_string_equal(host, "web1");
	assert_int_equal(hseq, 6);
	assert_non_null(strstr(msg, "host web1, host seqs 6-7"));

	/* the agent's event says so: verify passes */
	struct actor act = { .uid = 0 };
	char detail[200];
	snprintf(act.user, sizeof(act.user), "svcacctd");
	afleet_dropped_detail(6, 7, 10, detail, sizeof(detail));
	struct audit_event ev = {
		.event = AFLEET_DROPPED_EVENT, .outcome = "failure", .actor = &act, .detail = detail
	};
	store_begin(ag.s);
	assert_int_equal(audit_append(ag.a, &ev), 0);
	assert_int_equal(store_commit(ag.s), 0);
	assert_int_equal(store_flush(ag.s), 0);
	audit_flushed(ag.a, 1);
	assert_int_equal(afleet_batch(ag.a, 9, 10, 7, &body, &last), 0);
	assert_int_equal(ingest(&hub, "web1", body, &mark), AFLEET_OK);
	free(body);
	assert_int_equal(
		afleet_verify(hub.a, &checked, &bad, host, sizeof(host), &hseq, msg, sizeof(msg)),
		0);
	assert_int_equal(checked, audit_head(hub.a));

	/* web2 gets record 6 of another chain: its hash is right, its link
	 * is not: verify names web2, host seq 6 */
	events(&other, 6, 1);
	assert_int_equal(afleet_batch(other.a, 5, 6, 0, &body, &last), 0);
	assert_int_equal(ingest(&hub, "web2", body, &mark), AFLEET_OK);
	free(body);
	assert_int_equal(
		afleet_verify(hub.a, &checked, &bad, host, sizeof(host), &hseq, msg, sizeof(msg)),
		-1);
	assert_string_equal(host, "web2");
	assert_int_equal(hseq, 6);
	assert_int_equal(bad, audit_head(hub.a));
	assert_non_null(strstr(msg, "does not link"));

	/* malformed bodies */
	assert_int_equal(ingest(&hub, "web3", "{\"records\": []}", &mark), AFLEET_BAD);
	assert_int_equal(ingest(&hub, "web3", "[1]", &mark), AFLEET_BAD);
	side_close(&other);
	side_close(&hub);
	side_close(&ag);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bound_not_reached),
		cmocka_unit_test(bound_drops_the_oldest),
		cmocka_unit_test(cursor_after_answers),
		cmocka_unit_test(durable_head_follows_the_flush),
		cmocka_unit_test(forwarded_once_and_verified),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
