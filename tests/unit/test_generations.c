/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Token generations (accounts.c: account_next_gen, account_gen_upgrade)
 * and the host group file lookup behind the privileged groups
 * (host_group_gid): a generation is never shared by two accounts nor
 * handed out twice, an older store is upgraded, a damaged counter fails
 * closed; groups come from the file only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accounts.h"
#include "sockio.h"
#include "store.h"

static char dir[64];
static struct store *S;

static int setup(void **state)
{
	(void)state;
	char err[256];
	strcpy(dir, "/tmp/svcacct-gen-XXXXXX");
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

static void put_account(const char *name, uint32_t uid, uint64_t gen)
{
	struct account a;
	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "%s", name);
	a.uid = uid;
	a.created_at = gen;
	a.gen = gen;
	store_begin(S);
	assert_int_equal(account_put(S, &a), 0);
	assert_int_equal(store_commit(S), 0);
}

static uint64_t gen_of(const char *name)
{
	struct account a;
	assert_int_equal(account_get(S, name, &a), 1);
	return a.gen;
}

static uint64_t next_gen(void)
{
	uint64_t g = 0;
	store_begin(S);
	assert_int_equal(account_next_gen(S, &g), 0);
	assert_int_equal(store_commit(S), 0);
	return g;
}

/* Two accounts created in the same ms by an older version shared their
 * generation: the upgrade gives each a fresh one, once. */
static void upgrade_separates_shared_generations(void **state)
{
	(void)state;
	put_account("id-a", 60000, 1700000000000ULL);
	put_account("id-b", 60001, 1700000000000ULL);
	assert_int_equal(account_gen_upgrade(S), 2);
	uint64_t a = gen_of("id-a"), b = gen_of("id-b");
	assert_true(a != b);
	assert_true(a > 1700000000000ULL && b > 1700000000000ULL);
	assert_int_equal(account_gen_upgrade(S), 0); /* the counter exists now */
	assert_int_equal(gen_of("id-a"), a);
	assert_int_equal(gen_of("id-b"), b);
	assert_true(next_gen() > (a > b ? a : b));
}

static void upgrade_of_an_empty_store_creates_the_counter(void **state)
{
	(void)state;
	assert_int_equal(account_gen_upgrade(S), 0);
	uint8_t *v;
	size_t n;
	assert_int_equal(store_get(S, DB_STATE, "meta/gen", &v, &n), 1);
	free(v);
	assert_int_equal(store_get(S, DB_STATE, "meta/gen_upgraded", &v, &n), 1);
	free(v);
	assert_int_equal(account_gen_upgrade(S), 0);
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

/* More accounts than one transaction of the upgrade takes (512): every
 * one gets its own generation. */
static void upgrade_in_chunks_gives_every_account_its_own(void **state)
{
	(void)state;
	enum { N = 1100 };
	char name[32];
	static uint64_t gens[N];
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "acct-%d", i);
		put_account(name, (uint32_t)(60000 + i), 1700000000000ULL);
	}
	assert_int_equal(account_gen_upgrade(S), N);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "acct-%d", i);
		gens[i] = gen_of(name);
	}
	qsort(gens, N, sizeof(gens[0]), cmp_u64);
	for (int i = 1; i < N; i++)
		assert_true(gens[i] > gens[i - 1]);
	assert_true(gens[0] > 1700000000000ULL);
	assert_int_equal(account_gen_upgrade(S), 0);
}

/* Strictly increasing, never below the wall clock in ms. */
static void next_gen_is_unique_and_increasing(void **state)
{
	(void)state;
	uint64_t wall = (uint64_t)svca_wall_ms();
	uint64_t last = next_gen();
	assert_true(last >= wall);
	for (int i = 0; i < 2000; i++) {
		uint64_t g = next_gen();
		assert_true(g > last);
		last = g;
	}
}

/* Without a counter yet, the first generation is above every account's,
 * even one above the wall clock; after a delete, a re-created account
 * never gets the deleted one's generation back. */
static void next_gen_is_above_every_account_and_deleted_ones(void **state)
{
	(void)state;
	uint64_t future = (uint64_t)svca_wall_ms() + 86400000ULL;
	put_account("ahead", 60002, future);
	uint64_t g = next_gen();
	assert_true(g > future);
	struct account a;
	assert_int_equal(account_get(S, "ahead", &a), 1);
	store_begin(S);
	assert_int_equal(account_del(S, &a), 0);
	assert_int_equal(store_commit(S), 0);
	assert_true(next_gen() > g);
}

/* A damaged counter is an error, never a restart from zero. */
static void damaged_counter_fails_closed(void **state)
{
	(void)state;
	uint64_t g;
	static const char *bad[] = { "", "12x", "-5", "abc", "123456789012345678901234" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		store_begin(S);
		assert_int_equal(
			store_put(S, DB_STATE, "meta/gen", (const uint8_t *)bad[i], strlen(bad[i])),
			0);
		assert_int_equal(account_next_gen(S, &g), -1);
		store_abort(S);
	}
}

/* The privileged groups' file lookup: the file only, by exact name. */
static void host_group_gid_reads_the_file(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/group", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("root:x:0:\nsvcacct-admin:x:5990:alice,bob\nsvcacct-adminx:x:5991:\n", f);
	fclose(f);
	setenv("SVCACCTD_GROUP_FILE", path, 1);
	uint32_t gid = 1;
	assert_int_equal(host_group_gid("svcacct-admin", &gid), 1);
	assert_int_equal(gid, 5990);
	assert_int_equal(host_group_gid("root", &gid), 1);
	assert_int_equal(gid, 0);
	assert_int_equal(host_group_gid("svcacct-adm", &gid), 0);
	assert_int_equal(host_group_gid("nosuch", NULL), 0);
	assert_int_equal(host_name_taken("svcacct-adminx"), 1);
	assert_string_equal(host_group_file(), path);
	setenv("SVCACCTD_GROUP_FILE", "/nonexistent/group", 1);
	assert_int_equal(host_group_gid("svcacct-admin", &gid), 0);
	unsetenv("SVCACCTD_GROUP_FILE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(upgrade_separates_shared_generations, setup,
						teardown),
		cmocka_unit_test_setup_teardown(upgrade_of_an_empty_store_creates_the_counter,
						setup, teardown),
		cmocka_unit_test_setup_teardown(upgrade_in_chunks_gives_every_account_its_own,
						setup, teardown),
		cmocka_unit_test_setup_teardown(next_gen_is_unique_and_increasing, setup, teardown),
		cmocka_unit_test_setup_teardown(next_gen_is_above_every_account_and_deleted_ones,
						setup, teardown),
		cmocka_unit_test_setup_teardown(damaged_counter_fails_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(host_group_gid_reads_the_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
