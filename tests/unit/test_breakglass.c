/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Issue 17 item 4's pure rules: the staleness decision for a login on an
 * agent (model/staleness.c), the account record's break-glass field
 * (model/accounts.c: an older record reads as off, off is not written), a
 * host's lag (model/hostlag.c) and the enrollment-token purge and cap
 * (model/enrollgc.c, on a GDBM store: at most ENROLL_PURGE_MAX a call). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "enrollgc.h"
#include "hostlag.h"
#include "record.h"
#include "staleness.h"
#include "unit_util.h"

static void login_window_rule(void **state)
{
	(void)state;
	/* not an agent: never stale */
	assert_int_equal(login_window_decide(0, -1, 5, 0), LOGIN_FRESH);
	assert_int_equal(login_window_decide(0, 999, 5, 1), LOGIN_FRESH);
	/* an agent within max_staleness (the bound included) */
	assert_int_equal(login_window_decide(1, 0, 5, 0), LOGIN_FRESH);
	assert_int_equal(login_window_decide(1, 5, 5, 0), LOGIN_FRESH);
	assert_int_equal(login_window_decide(1, 5, 5, 1), LOGIN_FRESH);
	/* past it, or never synced */
	assert_int_equal(login_window_decide(1, 6, 5, 0), LOGIN_STALE);
	assert_int_equal(login_window_decide(1, -1, 5, 0), LOGIN_STALE);
	assert_int_equal(login_window_decide(1, 6, 5, 1), LOGIN_BREAK_GLASS);
	assert_int_equal(login_window_decide(1, -1, 5, 1), LOGIN_BREAK_GLASS);
}

static struct account sample_account(void)
{
	struct account a;
	memset(&a, 0, sizeof(a));
	strcpy(a.name, "svc-bg");
	a.uid = 61000;
	a.gen = 7;
	return a;
}

static void account_field(void **state)
{
	(void)state;
	struct account a = sample_account(), b;
	struct svca_buf buf;
	struct rec r;
	/* off: the field is not written, and reads as off */
	svca_buf_init(&buf, 0);
	assert_int_equal(account_encode(&a, &buf), 0);
	assert_int_equal(buf.data[1], ACCOUNT_RECORD_VERSION);
	assert_int_equal(rec_parse(buf.data, buf.len, 'A', &r), 0);
	assert_null(svca_fields_find(r.f, r.n, F_BREAK_GLASS));
	assert_int_equal(account_decode(buf.data, buf.len, &b), 0);
	assert_int_equal(b.break_glass, 0);
	svca_buf_free(&buf);
	/* on: round-trips, same record version (older readers ignore it) */
	a.break_glass = 1;
	svca_buf_init(&buf, 0);
	assert_int_equal(account_encode(&a, &buf), 0);
	assert_int_equal(buf.data[1], 1);
	assert_int_equal(account_decode(buf.data, buf.len, &b), 0);
	assert_int_equal(b.break_glass, 1);
	assert_int_equal(b.gen, 7);
	svca_buf_free(&buf);
	/* any value but 1 reads as off (fail closed) */
	svca_buf_init(&buf, 0);
	a.break_glass = 0;
	assert_int_equal(account_encode(&a, &buf), 0);
	svca_put_u64(&buf, F_BREAK_GLASS, 2);
	assert_int_equal(account_decode(buf.data, buf.len, &b), 0);
	assert_int_equal(b.break_glass, 0);
	svca_buf_free(&buf);
	/* the reply always carries it */
	svca_buf_init(&buf, 0);
	account_to_reply(&a, &buf);
	struct svca_field f[32];
	size_t n = 0;
	struct svca_iter it;
	svca_iter_init(&it, buf.data, buf.len);
	while (n < 32 && svca_iter_next(&it, &f[n]) == 1)
		n++;
	const struct svca_field *bg = svca_fields_find(f, n, F_BREAK_GLASS);
	uint64_t v = 9;
	assert_non_null(bg);
	assert_int_equal(svca_field_u64(bg, &v), 0);
	assert_int_equal(v, 0);
	svca_buf_free(&buf);
}

static void lag_rule(void **state)
{
	(void)state;
	uint64_t lag = 77;
	/* never synced: unknown */
	assert_int_equal(host_lag_compute(0, 10, 1000, 5000, &lag), 0);
	/* at or past the newest seq: 0 */
	assert_int_equal(host_lag_compute(10, 10, 0, 5000, &lag), 1);
	assert_int_equal(lag, 0);
	assert_int_equal(host_lag_compute(11, 10, 0, 5000, &lag), 1);
	assert_int_equal(lag, 0);
	/* behind: since the first change it has not fetched */
	assert_int_equal(host_lag_compute(9, 10, 1000, 13999, &lag), 1);
	assert_int_equal(lag, 12);
	/* that change in the future (clocks): 0, never negative */
	assert_int_equal(host_lag_compute(9, 10, 20000, 13999, &lag), 1);
	assert_int_equal(lag, 0);
	/* the first change no longer logged: unknown */
	assert_int_equal(host_lag_compute(9, 10, 0, 13999, &lag), 0);
}

static void lag_on_gdbm_is_unknown(void **state)
{
	(void)state;
	struct unit_env e;
	struct host h;
	memset(&h, 0, sizeof(h));
	h.snapshot_seq = 3;
	h.has_lag = 1;
	unit_env_open(&e, "lag", 0);
	assert_int_equal(host_lag_fill(e.d.store, &h, 1), -1);
	assert_int_equal(h.has_lag, 0);
	assert_int_equal(unit_env_close(&e), 0);
}

#define DAY_MS (86400LL * 1000)

static void enroll_rules(void **state)
{
	(void)state;
	struct enroll_token t;
	int64_t now = 100 * DAY_MS;
	memset(&t, 0, sizeof(t));
	t.expires_at = (uint64_t)(now + 1000);
	assert_true(enroll_is_live(&t, now));
	assert_false(enroll_is_purgeable(&t, now));
	/* expired: dead, kept 30 days from its expiry */
	t.expires_at = (uint64_t)(now - 30 * DAY_MS);
	assert_false(enroll_is_live(&t, now));
	assert_false(enroll_is_purgeable(&t, now));
	t.expires_at = (uint64_t)(now - 30 * DAY_MS - 1);
	assert_true(enroll_is_purgeable(&t, now));
	/* used: kept 30 days from its use, even if it expired long before */
	t.used = 1;
	t.used_at = (uint64_t)(now - 29 * DAY_MS);
	assert_false(enroll_is_live(&t, now));
	assert_false(enroll_is_purgeable(&t, now));
	t.used_at = (uint64_t)(now - 31 * DAY_MS);
	assert_true(enroll_is_purgeable(&t, now));
	/* used, still unexpired: not live */
	t.expires_at = (uint64_t)(now + DAY_MS);
	assert_false(enroll_is_live(&t, now));
}

static void put_token(struct store *s, int i, uint64_t expires_at, int used)
{
	struct enroll_token t;
	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "T%011d", i);
	memset(t.hash, 1, sizeof(t.hash));
	strcpy(t.workspaces[0], "wa");
	t.nws = 1;
	t.expires_at = expires_at;
	t.used = used;
	t.used_at = used ? expires_at - 1 : 0;
	if (used)
		strcpy(t.host_id, "h1");
	assert_int_equal(enroll_put(s, &t), 0);
}

static size_t count_enroll(struct store *s)
{
	size_t n = 0;
	for (int i = 0; i < 1300; i++) {
		char id[16];
		struct enroll_token t;
		snprintf(id, sizeof(id), "T%011d", i);
		if (enroll_get(s, id, &t) == 1)
			n++;
	}
	return n;
}

static void enroll_gc_bounded(void **state)
{
	(void)state;
	struct unit_env e;
	int64_t now = 100 * DAY_MS;
	size_t live, purged;
	unit_env_open(&e, "egc", 0);
	store_begin(e.d.store);
	for (int i = 0; i < 1200; i++) /* dead for 40 days */
		put_token(e.d.store, i, (uint64_t)(now - 40 * DAY_MS), i % 2);
	for (int i = 1200; i < 1210; i++) /* dead for 10 days: kept */
		put_token(e.d.store, i, (uint64_t)(now - 10 * DAY_MS), 0);
	for (int i = 1210; i < 1215; i++) /* live */
		put_token(e.d.store, i, (uint64_t)(now + DAY_MS), 0);
	assert_int_equal(store_commit(e.d.store), 0);

	store_begin(e.d.store);
	assert_int_equal(enroll_gc(e.d.store, now, &live, &purged), 0);
	assert_int_equal(store_commit(e.d.store), 0);
	assert_int_equal(live, 5);
	assert_int_equal(purged, ENROLL_PURGE_MAX);
	assert_int_equal(count_enroll(e.d.store), 1215 - ENROLL_PURGE_MAX);

	store_begin(e.d.store);
	assert_int_equal(enroll_gc(e.d.store, now, &live, &purged), 0);
	assert_int_equal(store_commit(e.d.store), 0);
	assert_int_equal(purged, 200);
	assert_int_equal(count_enroll(e.d.store), 15);
	assert_int_equal(unit_env_close(&e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(login_window_rule), cmocka_unit_test(account_field),
		cmocka_unit_test(lag_rule),          cmocka_unit_test(lag_on_gdbm_is_unknown),
		cmocka_unit_test(enroll_rules),      cmocka_unit_test(enroll_gc_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
