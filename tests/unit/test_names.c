/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for name validation (common/names.c).
 *
 *   account (POSIX user) names: ^[a-z_][a-z0-9_-]{0,31}$
 *   team / workspace names:     ^[a-z0-9][a-z0-9._-]{0,63}$
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "names.h"

/* A string of n copies of c (n < sizeof buf). */
static const char *rep(char *buf, size_t size, char first, char c, size_t n)
{
	assert_true(n < size);
	memset(buf, c, n);
	if (n)
		buf[0] = first;
	buf[n] = '\0';
	return buf;
}

static void test_account_valid(void **state)
{
	(void)state;
	static const char *const good[] = {
		"a",  "_",  "z",      "ci-deploy",     "backup_job", "a1", "_svc",
		"a-", "a_", "a0-9_z", "deploy-bot-01", "x--y",       "__",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!svca_account_name_valid(good[i]))
			fail_msg("valid account name refused: \"%s\"", good[i]);
	}
}

static void test_account_length(void **state)
{
	(void)state;
	char buf[80];

	assert_int_equal(SVCA_NAME_MAX, 32);
	assert_true(svca_account_name_valid(rep(buf, sizeof(buf), 'a', 'b', 1)));
	assert_true(svca_account_name_valid(rep(buf, sizeof(buf), 'a', 'b', 31)));
	assert_true(svca_account_name_valid(rep(buf, sizeof(buf), 'a', 'b', 32)));
	assert_true(svca_account_name_valid(rep(buf, sizeof(buf), '_', '9', 32)));
	assert_false(svca_account_name_valid(rep(buf, sizeof(buf), 'a', 'b', 33)));
	assert_false(svca_account_name_valid(rep(buf, sizeof(buf), 'a', 'b', 64)));
	assert_false(svca_account_name_valid(rep(buf, sizeof(buf), '_', '-', 79)));
}

static void test_account_invalid(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",               /* empty */
		"1abc",           /* leading digit */
		"0",              /* digit only */
		"-abc",           /* '-' first */
		"-",              /* '-' only */
		"Abc",            /* uppercase first */
		"abC",            /* uppercase later */
		"ROOT",    "a b", /* space */
		" a",      "a ",
		"a.b", /* dot is not allowed */
		".hidden", "a@b",
		"a/b",     "../etc",
		"a:b", /* passwd field separator */
		"a,b", /* group member separator */
		"a\tb",    "a\nb",
		"abc\n",   "a$",                /* samba machine account style */
		"a*",      "\xc3\xa9t\xc3\xa9", /* UTF-8 */
		"a\xff",   "+a",                /* NIS netgroup syntax */
		"~a",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (svca_account_name_valid(bad[i]))
			fail_msg("invalid account name accepted: \"%s\"", bad[i]);
	}
	assert_false(svca_account_name_valid(NULL));
}

/* The check stops at the NUL: what follows does not matter. */
static void test_account_embedded_nul(void **state)
{
	(void)state;
	static const char s[] = "abc\0DEF";
	assert_true(svca_account_name_valid(s));
	static const char t[] = "\0abc";
	assert_false(svca_account_name_valid(t));
}

static void test_scope_valid(void **state)
{
	(void)state;
	static const char *const good[] = {
		"a",   "0",  "9team", "build-farm", "a.b", "a_b", "a-b", "prod.eu-west_1",
		"a..", "x-", "x_",    "x.",         "123",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!svca_scope_name_valid(good[i]))
			fail_msg("valid scope name refused: \"%s\"", good[i]);
	}
}

static void test_scope_length(void **state)
{
	(void)state;
	char buf[100];

	assert_int_equal(SVCA_SCOPE_NAME_MAX, 64);
	assert_true(svca_scope_name_valid(rep(buf, sizeof(buf), 'a', 'b', 63)));
	assert_true(svca_scope_name_valid(rep(buf, sizeof(buf), '0', '.', 64)));
	assert_false(svca_scope_name_valid(rep(buf, sizeof(buf), 'a', 'b', 65)));
	assert_false(svca_scope_name_valid(rep(buf, sizeof(buf), 'a', 'b', 99)));
}

static void test_scope_invalid(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",     ".a",  "-a",  "_a",   ".",    "..",  "A",        "aB",    "a b", "a/b",
		"../x", "a:b", "a,b", "a\nb", "a\tb", "a@b", "\xc3\xa9", "a\x7f", " a",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (svca_scope_name_valid(bad[i]))
			fail_msg("invalid scope name accepted: \"%s\"", bad[i]);
	}
	assert_false(svca_scope_name_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_account_valid),   cmocka_unit_test(test_account_length),
		cmocka_unit_test(test_account_invalid), cmocka_unit_test(test_account_embedded_nul),
		cmocka_unit_test(test_scope_valid),     cmocka_unit_test(test_scope_length),
		cmocka_unit_test(test_scope_invalid),
	};
	return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}
