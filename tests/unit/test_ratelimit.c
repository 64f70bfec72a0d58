/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The bounded rate-limit and lockout table (svcacctd/model/ratelimit.c): fixed
 * windows that start at the first event, Retry-After in whole seconds
 * rounded up and never 0, lockouts that engage at the threshold and end
 * at their deadline, a table whose memory stays bounded (the stalest
 * entry of a probe sequence is reused) and keys that stay apart.
 * Every call takes the time explicitly, so no test sleeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ratelimit.h"

#define T0 1700000000000LL /* any clock, in ms (the daemon: monotonic) */

static struct rl_table *T;

static int setup(void **state)
{
	(void)state;
	T = rl_new(4096);
	return T ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	rl_free(T);
	T = NULL;
	return 0;
}

/* limit events pass in a window, the next is refused; the window is
 * fixed (it does not slide with each hit) and a new one starts at its end. */
static void limit_then_refuse_then_new_window(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(rl_hit(T, "c:a", T0 + i * 100, 3, 10000), 0);
	assert_true(rl_hit(T, "c:a", T0 + 300, 3, 10000) > 0);
	/* refusals do not count: still refused, not later */
	assert_int_equal(rl_hit(T, "c:a", T0 + 9000, 3, 10000), 1);
	/* 1 ms before the window ends: refused; at its end: a fresh budget */
	assert_true(rl_hit(T, "c:a", T0 + 9999, 3, 10000) > 0);
	assert_int_equal(rl_hit(T, "c:a", T0 + 10000, 3, 10000), 0);
	assert_int_equal(rl_hit(T, "c:a", T0 + 10001, 3, 10000), 0);
	assert_int_equal(rl_hit(T, "c:a", T0 + 10002, 3, 10000), 0);
	assert_true(rl_hit(T, "c:a", T0 + 10003, 3, 10000) > 0);
}

/* Retry-After: the seconds until the window ends, rounded up, at least 1. */
static void retry_after_rounds_up_and_is_never_zero(void **state)
{
	(void)state;
	assert_int_equal(rl_hit(T, "k", T0, 1, 10000), 0);
	assert_int_equal(rl_hit(T, "k", T0, 1, 10000), 10);
	assert_int_equal(rl_hit(T, "k", T0 + 1, 1, 10000), 10);    /* 9.999 s */
	assert_int_equal(rl_hit(T, "k", T0 + 999, 1, 10000), 10);  /* 9.001 s */
	assert_int_equal(rl_hit(T, "k", T0 + 1000, 1, 10000), 9);  /* 9 s exactly */
	assert_int_equal(rl_hit(T, "k", T0 + 9001, 1, 10000), 1);  /* 0.999 s */
	assert_int_equal(rl_hit(T, "k", T0 + 9999, 1, 10000), 1);  /* 1 ms */
	assert_int_equal(rl_hit(T, "k", T0 + 10000, 1, 10000), 0); /* new window */
}

/* A limit of 0 refuses everything; a window of 3600 s reports 3600. */
static void zero_limit_and_long_window(void **state)
{
	(void)state;
	assert_int_equal(rl_hit(T, "z", T0, 0, 1000), 1);
	assert_int_equal(rl_hit(T, "long", T0, 1, 3600000), 0);
	assert_int_equal(rl_hit(T, "long", T0, 1, 3600000), 3600);
}

/* Keys count apart, also keys that share a long prefix. */
static void keys_are_independent(void **state)
{
	(void)state;
	char a[RL_KEY_MAX], b[RL_KEY_MAX];
	memset(a, 'x', sizeof(a) - 2);
	a[sizeof(a) - 2] = '1';
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(b));
	b[sizeof(b) - 2] = '2';
	assert_int_equal(rl_hit(T, a, T0, 1, 10000), 0);
	assert_true(rl_hit(T, a, T0, 1, 10000) > 0);
	assert_int_equal(rl_hit(T, b, T0, 1, 10000), 0);
	assert_int_equal(rl_hit(T, "c:other", T0, 1, 10000), 0);
	assert_true(rl_hit(T, b, T0, 1, 10000) > 0);
}

/* The lock engages on the threshold-th failure within the window, lasts
 * lock_ms and reports the seconds left; the key is free at its deadline. */
static void lockout_engages_at_threshold_and_expires(void **state)
{
	(void)state;
	assert_int_equal(rl_locked(T, "l:x", T0), 0); /* never seen */
	for (int i = 0; i < 4; i++) {
		assert_int_equal(rl_fail(T, "l:x", T0 + i, 5, 300000, 300000), 0);
		assert_int_equal(rl_locked(T, "l:x", T0 + i), 0);
	}
	assert_int_equal(rl_fail(T, "l:x", T0 + 4, 5, 300000, 300000), 1);
	assert_int_equal(rl_locked(T, "l:x", T0 + 4), 300);
	assert_int_equal(rl_locked(T, "l:x", T0 + 4 + 299000), 1);
	assert_int_equal(rl_locked(T, "l:x", T0 + 4 + 299999), 1);
	assert_int_equal(rl_locked(T, "l:x", T0 + 4 + 300000), 0);
	/* after the lock the count starts again from zero */
	for (int i = 0; i < 4; i++)
		assert_int_equal(rl_fail(T, "l:x", T0 + 400000 + i, 5, 300000, 300000), 0);
	assert_int_equal(rl_fail(T, "l:x", T0 + 400004, 5, 300000, 300000), 1);
}

/* Failures spread wider than the window never lock; a threshold of 1
 * locks at the first failure. */
static void failures_outside_the_window_do_not_add_up(void **state)
{
	(void)state;
	for (int i = 0; i < 20; i++)
		assert_int_equal(rl_fail(T, "l:slow", T0 + (int64_t)i * 1000, 2, 1000, 5000), 0);
	assert_int_equal(rl_locked(T, "l:slow", T0 + 20000), 0);
	assert_int_equal(rl_fail(T, "l:one", T0, 1, 1000, 5000), 1);
	assert_int_equal(rl_locked(T, "l:one", T0), 5);
}

/* rl_clear forgets the failures so far (a success); it does not lift an
 * active lock. */
static void clear_forgets_failures_but_not_a_lock(void **state)
{
	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(rl_fail(T, "l:c", T0 + i, 5, 60000, 60000), 0);
	rl_clear(T, "l:c");
	for (int i = 0; i < 4; i++)
		assert_int_equal(rl_fail(T, "l:c", T0 + 10 + i, 5, 60000, 60000), 0);
	assert_int_equal(rl_fail(T, "l:c", T0 + 20, 5, 60000, 60000), 1);
	rl_clear(T, "l:c");
	assert_int_equal(rl_locked(T, "l:c", T0 + 21), 60);
	rl_clear(T, "never-seen"); /* no effect, no crash */
	assert_int_equal(rl_locked(T, "never-seen", T0), 0);
}

/* Rate counting and lockout of one key share an entry without mixing
 * their results: a lock does not refuse rl_hit, hits do not lock. */
static void hits_do_not_lock(void **state)
{
	(void)state;
	for (int i = 0; i < 10; i++)
		assert_int_equal(rl_hit(T, "h", T0 + i, 100, 10000), 0);
	assert_int_equal(rl_locked(T, "h", T0 + 10), 0);
}

/* The table never grows: with more keys than slots, the stalest entry of
 * the probe sequence is reused, and the newest keys keep their counts. */
static void full_table_reuses_the_stalest_entry(void **state)
{
	(void)state;
	struct rl_table *t = rl_new(8);
	assert_non_null(t);
	char k[32];
	/* 8 keys fill the 8 slots (a probe sequence covers the whole table) */
	for (int i = 0; i < 8; i++) {
		snprintf(k, sizeof(k), "key-%d", i);
		assert_int_equal(rl_hit(t, k, T0 + i, 1, 60000), 0);
	}
	for (int i = 0; i < 8; i++) {
		snprintf(k, sizeof(k), "key-%d", i);
		assert_true(rl_hit(t, k, T0 + 100 + i, 1, 60000) > 0); /* all still known */
	}
	/* a ninth key takes the slot of key-0, the one seen longest ago */
	assert_int_equal(rl_hit(t, "key-new", T0 + 200, 1, 60000), 0);
	assert_true(rl_hit(t, "key-new", T0 + 201, 1, 60000) > 0);
	assert_int_equal(rl_hit(t, "key-0", T0 + 202, 1, 60000), 0); /* forgotten */
	for (int i = 2; i < 8; i++) {
		snprintf(k, sizeof(k), "key-%d", i);
		assert_true(rl_hit(t, k, T0 + 300, 1, 60000) > 0); /* remembered */
	}
	rl_free(t);
}

/* A flood of distinct keys in a real-size table costs no memory and the
 * key being hit all along keeps its count (it is never the stalest). */
static void flood_keeps_the_active_key(void **state)
{
	(void)state;
	char k[32];
	int64_t now = T0;
	assert_int_equal(rl_hit(T, "c:victim", now, 1000000, 3600000), 0);
	for (int i = 0; i < 50000; i++) {
		snprintf(k, sizeof(k), "c:flood-%d", i);
		rl_hit(T, k, ++now, 10, 3600000);
		if (i % 100 == 0)
			assert_int_equal(rl_hit(T, "c:victim", ++now, 1000000, 3600000), 0);
	}
	/* the victim's count survived: a limit of (hits so far) refuses it */
	assert_true(rl_hit(T, "c:victim", ++now, 501, 3600000) > 0);
}

/* rl_free(NULL) is harmless; rl_new(0)-sized tables are not used by the
 * daemon and are not tested. */
static void free_null(void **state)
{
	(void)state;
	rl_free(NULL);
}

/* The wall clock steps back (NTP, an operator): a limited key does not
 * get a fresh budget from it (the window does not restart). */
static void clock_step_back_grants_no_new_budget(void **state)
{
	(void)state;
	assert_int_equal(rl_hit(T, "b", T0, 2, 10000), 0);
	assert_int_equal(rl_hit(T, "b", T0 + 1, 2, 10000), 0);
	assert_true(rl_hit(T, "b", T0 - 5000, 2, 10000) > 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(rl_fail(T, "l:b", T0 - 1000 * i, 3, 60000, 60000), i == 2);
	assert_true(rl_locked(T, "l:b", T0 - 3000) > 0);
}

/* Finding R2: a running lock is never evicted while any other entry of
 * its probe sequence can go, whatever a flood of failures or hits does
 * (a table of 8: every key shares the one probe sequence).  Only when all
 * 8 entries are running locks does a new key take the one ending first. */
static void running_lock_is_never_evicted_first(void **state)
{
	(void)state;
	struct rl_table *t = rl_new(8);
	assert_non_null(t);
	char k[32];
	assert_int_equal(rl_fail(t, "l:victim", T0, 1, 60000, 60000), 1);
	for (int i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "l:flood-%d", i);
		assert_int_equal(rl_fail(t, k, T0 + 1 + i, 3, 60000, 60000), 0);
		snprintf(k, sizeof(k), "c:flood-%d", i);
		assert_int_equal(rl_hit(t, k, T0 + 1 + i, 3, 60000), 0);
	}
	assert_int_equal(rl_locked(t, "l:victim", T0 + 2000), 58);
	/* 7 more locks, each ending later: all 8 slots hold running locks */
	for (int i = 0; i < 7; i++) {
		snprintf(k, sizeof(k), "l:lock-%d", i);
		assert_int_equal(rl_fail(t, k, T0 + 3000 + i, 1, 60000, 60000), 1);
	}
	assert_int_equal(rl_locked(t, "l:victim", T0 + 4000), 56);
	assert_int_equal(rl_fail(t, "l:new", T0 + 5000, 3, 60000, 60000), 0);
	assert_int_equal(rl_locked(t, "l:victim", T0 + 5000), 0); /* ended first: gone */
	for (int i = 0; i < 7; i++) {
		snprintf(k, sizeof(k), "l:lock-%d", i);
		assert_true(rl_locked(t, k, T0 + 5000) > 0);
	}
	rl_free(t);
}

/* Finding R1: once a lockout has expired, a success (rl_clear) still
 * forgets the failures: rl_clear used to skip every entry that had ever
 * been locked, so the next lock came with fewer than threshold failures
 * since the last success. */
static void r1_clear_after_an_expired_lock(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(rl_fail(T, "l:x", T0 + i, 3, 1000, 1000), i == 2);
	assert_int_equal(rl_locked(T, "l:x", T0 + 1500), 0); /* lock over */
	assert_int_equal(rl_fail(T, "l:x", T0 + 1500, 3, 1000, 1000), 0);
	assert_int_equal(rl_fail(T, "l:x", T0 + 1600, 3, 1000, 1000), 0);
	rl_clear(T, "l:x");                                               /* a success */
	assert_int_equal(rl_fail(T, "l:x", T0 + 1700, 3, 1000, 1000), 0); /* was 1 */
	assert_int_equal(rl_fail(T, "l:x", T0 + 1800, 3, 1000, 1000), 0);
	assert_int_equal(rl_fail(T, "l:x", T0 + 1900, 3, 1000, 1000), 1);
	/* and a running lock still survives rl_clear */
	rl_clear(T, "l:x");
	assert_int_equal(rl_locked(T, "l:x", T0 + 1950), 1);
}

/* Finding R3: a time before the window's start (the wall clock stepped
 * back an hour, if a caller ever passes one) keeps the count but never
 * makes Retry-After longer than the window; the daemon passes the
 * monotonic clock (test_credentials r3_tables_use_the_monotonic_clock). */
static void r3_clock_step_back_keeps_retry_within_the_window(void **state)
{
	(void)state;
	for (int i = 0; i < 10; i++)
		assert_int_equal(rl_hit(T, "c:x", T0, 10, 10000), 0);
	int retry = rl_hit(T, "c:x", T0 - 3600000, 10, 10000);
	print_message("Retry-After after a 1 h step back: %d s (window 10 s)\n", retry);
	assert_true(retry >= 1 && retry <= 10); /* was 3610 */
	/* the window restarted at the earlier time: a fresh budget 10 s on */
	assert_true(rl_hit(T, "c:x", T0 - 3600000 + 9999, 10, 10000) > 0);
	assert_int_equal(rl_hit(T, "c:x", T0 - 3600000 + 10000, 10, 10000), 0);
}

/* A new entry's window starts at its first event, whatever the clock
 * reads: on the monotonic clock "now" may be less than a window after
 * boot (a zeroed window_start ended the first window early). */
static void first_window_starts_at_the_first_hit(void **state)
{
	(void)state;
	assert_int_equal(rl_hit(T, "c:boot", 5000, 1, 60000), 0);
	assert_int_equal(rl_hit(T, "c:boot", 60000, 1, 60000), 5);
	assert_int_equal(rl_hit(T, "c:boot", 65000, 1, 60000), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(rl_fail(T, "l:boot", 1000 + i, 3, 300000, 300000), 0);
	assert_int_equal(rl_fail(T, "l:boot", 299000, 3, 300000, 300000), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(limit_then_refuse_then_new_window, setup, teardown),
		cmocka_unit_test_setup_teardown(retry_after_rounds_up_and_is_never_zero, setup,
						teardown),
		cmocka_unit_test_setup_teardown(zero_limit_and_long_window, setup, teardown),
		cmocka_unit_test_setup_teardown(keys_are_independent, setup, teardown),
		cmocka_unit_test_setup_teardown(lockout_engages_at_threshold_and_expires, setup,
						teardown),
		cmocka_unit_test_setup_teardown(failures_outside_the_window_do_not_add_up, setup,
						teardown),
		cmocka_unit_test_setup_teardown(clear_forgets_failures_but_not_a_lock, setup,
						teardown),
		cmocka_unit_test_setup_teardown(hits_do_not_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(full_table_reuses_the_stalest_entry, setup,
						teardown),
		cmocka_unit_test_setup_teardown(flood_keeps_the_active_key, setup, teardown),
		cmocka_unit_test(free_null),
		cmocka_unit_test_setup_teardown(clock_step_back_grants_no_new_budget, setup,
						teardown),
		cmocka_unit_test_setup_teardown(running_lock_is_never_evicted_first, setup,
						teardown),
		cmocka_unit_test_setup_teardown(r1_clear_after_an_expired_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(r3_clock_step_back_keeps_retry_within_the_window,
						setup, teardown),
		cmocka_unit_test_setup_teardown(first_window_starts_at_the_first_hit, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
