/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The per-account index lists (svcacctd/store/idlist.c, "kidx/<uid>" and
 * "gidx/<uid>"): an absent list is empty, add is idempotent and keeps the
 * order, del removes only what is there and deletes the record with the
 * last item, a full list refuses more, the loader keeps, skips or fails
 * per item, and everything happens inside the caller's transaction (an
 * abort undoes it).  Read through a real store in a temp dir.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "idlist.h"
#include "store.h"

static char dir[64];
static struct store *S;

static int setup(void **state)
{
	(void)state;
	char err[256];
	strcpy(dir, "/tmp/svcacct-idlist-XXXXXX");
	assert_non_null(mkdtemp(dir));
	S = store_open(dir, err, sizeof(err));
	if (!S)
		fail_msg("store_open: %s", err);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	store_close(S);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* The list at key as one string, items joined by ','. */
static const char *joined(const char *key)
{
	static char out[4096];
	char **items;
	size_t n;
	assert_int_equal(idlist_get(S, key, &items, &n), 0);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strcat(out, i ? "," : "");
		strcat(out, items[i]);
	}
	idlist_free(items, n);
	return out;
}

static void add(const char *key, const char *item)
{
	store_begin(S);
	assert_int_equal(idlist_add(S, key, item), 0);
	assert_int_equal(store_commit(S), 0);
}

static void del(const char *key, const char *item)
{
	store_begin(S);
	assert_int_equal(idlist_del(S, key, item), 0);
	assert_int_equal(store_commit(S), 0);
}

static int record_exists(const char *key)
{
	uint8_t *v;
	size_t n;
	int g = store_get(S, DB_STATE, key, &v, &n);
	assert_true(g >= 0);
	if (g == 1)
		free(v);
	return g;
}

static void absent_list_is_empty(void **state)
{
	(void)state;
	char **items = (char **)1;
	size_t n = 99;
	assert_int_equal(idlist_get(S, "kidx/60000", &items, &n), 0);
	assert_null(items);
	assert_int_equal(n, 0);
	idlist_free(items, n);
	assert_int_equal(record_exists("kidx/60000"), 0);
}

/* Items keep the order they were added in; adding one again changes
 * nothing; lists at different keys are apart. */
static void add_keeps_order_and_is_idempotent(void **state)
{
	(void)state;
	add("kidx/1", "bbb");
	add("kidx/1", "aaa");
	add("kidx/1", "ccc");
	add("kidx/1", "aaa");
	add("kidx/1", "bbb");
	assert_string_equal(joined("kidx/1"), "bbb,aaa,ccc");
	add("kidx/2", "aaa");
	assert_string_equal(joined("kidx/2"), "aaa");
	assert_string_equal(joined("kidx/1"), "bbb,aaa,ccc");
	/* an item that is a prefix of another is its own item */
	add("kidx/1", "cc");
	assert_string_equal(joined("kidx/1"), "bbb,aaa,ccc,cc");
}

/* del removes exactly that item (not one it is a prefix of), keeps the
 * order of the rest, ignores an absent item and drops the record with
 * the last item. */
static void del_removes_exactly_one_item(void **state)
{
	(void)state;
	add("gidx/7", "w/build");
	add("gidx/7", "w/build-farm");
	add("gidx/7", "t/infra");
	del("gidx/7", "w/buil");
	del("gidx/7", "nothing");
	del("gidx/8", "w/build"); /* absent list */
	assert_int_equal(record_exists("gidx/8"), 0);
	assert_string_equal(joined("gidx/7"), "w/build,w/build-farm,t/infra");
	del("gidx/7", "w/build");
	assert_string_equal(joined("gidx/7"), "w/build-farm,t/infra");
	del("gidx/7", "t/infra");
	assert_string_equal(joined("gidx/7"), "w/build-farm");
	assert_int_equal(record_exists("gidx/7"), 1);
	del("gidx/7", "w/build-farm");
	assert_string_equal(joined("gidx/7"), "");
	assert_int_equal(record_exists("gidx/7"), 0);
	add("gidx/7", "w/again");
	assert_string_equal(joined("gidx/7"), "w/again");
}

/* Changes belong to the open transaction: an abort undoes them. */
static void abort_undoes_add_and_del(void **state)
{
	(void)state;
	add("kidx/3", "keep");
	store_begin(S);
	assert_int_equal(idlist_add(S, "kidx/3", "gone"), 0);
	assert_int_equal(idlist_del(S, "kidx/3", "keep"), 0);
	store_abort(S);
	assert_string_equal(joined("kidx/3"), "keep");
}

/* At IDLIST_MAX_ITEMS a new item is refused and the list is unchanged;
 * an item already there is still fine; after a del there is room again. */
static void full_list_refuses_a_new_item(void **state)
{
	(void)state;
	char item[32];
	store_begin(S);
	for (int i = 0; i < IDLIST_MAX_ITEMS; i++) {
		snprintf(item, sizeof(item), "k%04d", i);
		assert_int_equal(idlist_add(S, "kidx/4", item), 0);
	}
	assert_int_equal(store_commit(S), 0);
	store_begin(S);
	assert_int_equal(idlist_add(S, "kidx/4", "one-too-many"), -1);
	assert_int_equal(idlist_add(S, "kidx/4", "k0000"), 0);
	assert_int_equal(idlist_add(S, "kidx/4", "k1023"), 0);
	store_abort(S);
	char **items;
	size_t n;
	assert_int_equal(idlist_get(S, "kidx/4", &items, &n), 0);
	assert_int_equal(n, IDLIST_MAX_ITEMS);
	assert_string_equal(items[0], "k0000");
	assert_string_equal(items[n - 1], "k1023");
	idlist_free(items, n);
	del("kidx/4", "k0500");
	add("kidx/4", "one-more");
	assert_int_equal(idlist_get(S, "kidx/4", &items, &n), 0);
	assert_int_equal(n, IDLIST_MAX_ITEMS);
	assert_string_equal(items[n - 1], "one-more");
	idlist_free(items, n);
}

/* A hand-written list with empty lines (and no final newline) reads as
 * its non-empty items. */
static void empty_lines_are_skipped(void **state)
{
	(void)state;
	static const char raw[] = "\n\nalpha\n\nbeta\ngamma";
	store_begin(S);
	assert_int_equal(store_put(S, DB_STATE, "kidx/5", (const uint8_t *)raw, sizeof(raw) - 1),
			 0);
	assert_int_equal(store_commit(S), 0);
	assert_string_equal(joined("kidx/5"), "alpha,beta,gamma");
	add("kidx/5", "beta"); /* present: no duplicate */
	del("kidx/5", "alpha");
	assert_string_equal(joined("kidx/5"), "beta,gamma");
}

/* The loader: fn fills a slot per kept item (1), skipped items (0) leave
 * no hole, an error (-1) fails the whole load; ctx reaches fn. */
struct rec {
	char name[16];
	size_t pos;
};

static int load_rec(struct store *s, const char *item, void *slot, void *ctx)
{
	struct rec *r = slot;
	size_t *calls = ctx;
	(void)s;
	(*calls)++;
	if (strcmp(item, "bad") == 0)
		return -1;
	if (strncmp(item, "skip", 4) == 0)
		return 0;
	snprintf(r->name, sizeof(r->name), "%s", item);
	r->pos = *calls;
	return 1;
}

static void load_keeps_skips_and_fails(void **state)
{
	(void)state;
	void *out;
	size_t n, calls = 0;
	add("gidx/9", "one");
	add("gidx/9", "skip-a");
	add("gidx/9", "two");
	add("gidx/9", "skip-b");
	assert_int_equal(idlist_load(S, "gidx/9", sizeof(struct rec), load_rec, &calls, &out, &n),
			 0);
	assert_int_equal(calls, 4);
	assert_int_equal(n, 2);
	struct rec *r = out;
	assert_string_equal(r[0].name, "one");
	assert_int_equal(r[0].pos, 1);
	assert_string_equal(r[1].name, "two");
	assert_int_equal(r[1].pos, 3);
	free(out);

	/* nothing kept: n 0, out NULL */
	add("gidx/10", "skip-only");
	calls = 0;
	assert_int_equal(idlist_load(S, "gidx/10", sizeof(struct rec), load_rec, &calls, &out, &n),
			 0);
	assert_int_equal(n, 0);
	free(out);
	/* absent list: no call, n 0, out NULL */
	calls = 0;
	assert_int_equal(idlist_load(S, "gidx/11", sizeof(struct rec), load_rec, &calls, &out, &n),
			 0);
	assert_int_equal(calls, 0);
	assert_int_equal(n, 0);
	assert_null(out);

	add("gidx/9", "bad");
	calls = 0;
	assert_int_equal(idlist_load(S, "gidx/9", sizeof(struct rec), load_rec, &calls, &out, &n),
			 -1);
	assert_int_equal(calls, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(absent_list_is_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(add_keeps_order_and_is_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(del_removes_exactly_one_item, setup, teardown),
		cmocka_unit_test_setup_teardown(abort_undoes_add_and_del, setup, teardown),
		cmocka_unit_test_setup_teardown(full_list_refuses_a_new_item, setup, teardown),
		cmocka_unit_test_setup_teardown(empty_lines_are_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(load_keeps_skips_and_fails, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
