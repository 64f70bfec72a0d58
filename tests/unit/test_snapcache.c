/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The hub's cache of agents' slices (model/snapcache.c): found only at
 * its (workspace set, seq, since); a newer seq drops the older entries and
 * an older one is not kept; bounded in entries (least recently used out
 * first) and bytes; an entry past its time is not served; the workspace
 * set key is sorted and without duplicates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapcache.h"

/* An entry of tail "T<n>" (n bytes of 'x' when big). */
static int put(struct snapcache *c, const char *wsk, uint64_t seq, uint64_t since, size_t big,
	       int64_t now)
{
	struct snapcache_entry e = { .seq = seq, .since = since };
	e.wsk = strdup(wsk);
	e.tlen = big ? big : 3;
	e.tail = malloc(e.tlen + 1);
	memset(e.tail, 'x', e.tlen);
	e.tail[e.tlen] = '\0';
	return snapcache_put(c, &e, now);
}

static void found_at_its_key(void **state)
{
	(void)state;
	struct snapcache *c = snapcache_new(8, 1 << 20);
	assert_int_equal(put(c, "wa\n", 5, 0, 0, 0), 1);
	assert_int_equal(put(c, "wa\n", 5, 4, 0, 0), 1);
	assert_int_equal(put(c, "wb\n", 5, 0, 0, 0), 1);
	const struct snapcache_entry *e = snapcache_get(c, "wa\n", 5, 0, 1);
	assert_non_null(e);
	assert_int_equal(e->seq, 5);
	assert_int_equal(e->since, 0);
	assert_non_null(snapcache_get(c, "wa\n", 5, 4, 1));
	assert_null(snapcache_get(c, "wa\n", 5, 3, 1));     /* another base */
	assert_null(snapcache_get(c, "wa\n", 6, 0, 1));     /* another seq */
	assert_null(snapcache_get(c, "wa\nwb\n", 5, 0, 1)); /* another set */
	struct snapcache_stats st;
	snapcache_stats(c, &st);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 3);
	assert_int_equal(st.entries, 3);
	snapcache_free(c);
}

static void newer_seq_drops_older(void **state)
{
	(void)state;
	struct snapcache *c = snapcache_new(8, 1 << 20);
	assert_int_equal(put(c, "wa\n", 5, 0, 0, 0), 1);
	assert_int_equal(put(c, "wb\n", 5, 0, 0, 0), 1);
	assert_int_equal(put(c, "wa\n", 6, 0, 0, 0), 1);
	assert_null(snapcache_get(c, "wb\n", 5, 0, 1));
	assert_null(snapcache_get(c, "wa\n", 5, 0, 1));
	assert_non_null(snapcache_get(c, "wa\n", 6, 0, 1));
	assert_int_equal(put(c, "wb\n", 5, 0, 0, 0), 0); /* older than the newest: not kept */
	assert_null(snapcache_get(c, "wb\n", 5, 0, 1));
	struct snapcache_stats st;
	snapcache_stats(c, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.dropped, 2);
	snapcache_free(c);
}

static void bounded(void **state)
{
	(void)state;
	struct snapcache *c = snapcache_new(3, 1 << 20);
	assert_int_equal(put(c, "w1\n", 9, 0, 0, 0), 1);
	assert_int_equal(put(c, "w2\n", 9, 0, 0, 0), 1);
	assert_int_equal(put(c, "w3\n", 9, 0, 0, 0), 1);
	assert_non_null(snapcache_get(c, "w1\n", 9, 0, 1)); /* w2 is now the least recent */
	assert_int_equal(put(c, "w4\n", 9, 0, 0, 0), 1);
	assert_null(snapcache_get(c, "w2\n", 9, 0, 1));
	assert_non_null(snapcache_get(c, "w1\n", 9, 0, 1));
	assert_non_null(snapcache_get(c, "w4\n", 9, 0, 1));
	struct snapcache_stats st;
	snapcache_stats(c, &st);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.evicted, 1);
	snapcache_free(c);

	/* Bytes: 3 entries of 40 KiB in 100 KiB; one over the bound is not kept. */
	c = snapcache_new(100, 100 * 1024);
	for (unsigned i = 0; i < 3; i++) {
		char w[16];
		snprintf(w, sizeof(w), "w%u\n", i);
		assert_int_equal(put(c, w, 9, 0, 40 * 1024, 0), 1);
	}
	snapcache_stats(c, &st);
	assert_int_equal(st.entries, 2);
	assert_true(st.bytes <= 100 * 1024);
	assert_int_equal(put(c, "big\n", 9, 0, 200 * 1024, 0), 0);
	assert_null(snapcache_get(c, "big\n", 9, 0, 1));
	snapcache_free(c);
}

static void expires(void **state)
{
	(void)state;
	struct snapcache *c = snapcache_new(8, 1 << 20);
	assert_int_equal(put(c, "wa\n", 5, 0, 0, 1000), 1);
	assert_non_null(snapcache_get(c, "wa\n", 5, 0, 1000 + SNAPCACHE_TTL_MS));
	assert_null(snapcache_get(c, "wa\n", 5, 0, 1001 + SNAPCACHE_TTL_MS));
	struct snapcache_stats st;
	snapcache_stats(c, &st);
	assert_int_equal(st.entries, 0);
	snapcache_free(c);
	snapcache_free(NULL);
}

static void wskey(void **state)
{
	(void)state;
	char ws[4][SVCA_SCOPE_NAME_MAX + 1] = { "wb", "wa", "wb", "w-c" };
	char *k = snapcache_wskey(ws, 4);
	assert_string_equal(k, "w-c\nwa\nwb\n");
	free(k);
	k = snapcache_wskey(ws, 0);
	assert_string_equal(k, "");
	free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(found_at_its_key),
		cmocka_unit_test(newer_seq_drops_older),
		cmocka_unit_test(bounded),
		cmocka_unit_test(expires),
		cmocka_unit_test(wskey),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
