/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Versioned records: the account codec round-trips, rejects damage, and
 * accepts records written by an older version. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "accounts.h"
#include "record.h"

static struct account sample(void)
{
	struct account a;
	memset(&a, 0, sizeof(a));
	strcpy(a.name, "ci-deploy");
	a.uid = 60001;
	strcpy(a.description, "CI deploy bot");
	a.org_role = ORG_ADMIN;
	a.disabled = 1;
	a.created_at = 1700000000123ULL;
	strcpy(a.created_by, "root");
	a.updated_at = 1700000000999ULL;
	strcpy(a.updated_by, "alice");
	a.gen = 7;
	return a;
}

static void account_round_trip(void **state)
{
	(void)state;
	struct account a = sample(), b;
	struct svca_buf buf;
	svca_buf_init(&buf, 0);
	assert_int_equal(account_encode(&a, &buf), 0);
	assert_int_equal(buf.data[0], REC_ACCOUNT);
	assert_int_equal(buf.data[1], ACCOUNT_RECORD_VERSION);
	assert_int_equal(account_decode(buf.data, buf.len, &b), 0);
	assert_string_equal(b.name, "ci-deploy");
	assert_int_equal(b.uid, 60001);
	assert_string_equal(b.description, "CI deploy bot");
	assert_int_equal(b.org_role, ORG_ADMIN);
	assert_int_equal(b.disabled, 1);
	assert_int_equal(b.created_at, 1700000000123ULL);
	assert_string_equal(b.updated_by, "alice");
	assert_int_equal(b.gen, 7);
	svca_buf_free(&buf);
}

static void account_rejects_damage(void **state)
{
	(void)state;
	struct account a = sample(), b;
	struct svca_buf buf;
	svca_buf_init(&buf, 0);
	assert_int_equal(account_encode(&a, &buf), 0);
	/* truncated */
	assert_int_equal(account_decode(buf.data, buf.len - 3, &b), -1);
	/* wrong kind */
	buf.data[0] = 'Z';
	assert_int_equal(account_decode(buf.data, buf.len, &b), -1);
	buf.data[0] = REC_ACCOUNT;
	/* a future version we do not know */
	buf.data[1] = ACCOUNT_RECORD_VERSION + 1;
	assert_int_equal(account_decode(buf.data, buf.len, &b), -1);
	/* too short to hold a header */
	assert_int_equal(account_decode(buf.data, 1, &b), -1);
	svca_buf_free(&buf);
}

static void account_requires_valid_name_and_uid(void **state)
{
	(void)state;
	struct account b;
	struct svca_buf buf;
	svca_buf_init(&buf, 0);
	rec_begin(&buf, REC_ACCOUNT, 1);
	svca_put_str(&buf, F_NAME, "Bad Name");
	svca_put_u64(&buf, F_UID, 60000);
	assert_int_equal(account_decode(buf.data, buf.len, &b), -1);
	rec_begin(&buf, REC_ACCOUNT, 1);
	svca_put_str(&buf, F_NAME, "ok");
	assert_int_equal(account_decode(buf.data, buf.len, &b), -1); /* no uid */
	svca_buf_free(&buf);
}

static void unknown_fields_are_ignored(void **state)
{
	(void)state;
	struct account b;
	struct svca_buf buf;
	svca_buf_init(&buf, 0);
	rec_begin(&buf, REC_ACCOUNT, 1);
	svca_put_str(&buf, F_NAME, "old-bot");
	svca_put_u64(&buf, F_UID, 60005);
	svca_put_str(&buf, 999, "a field from a later version");
	assert_int_equal(account_decode(buf.data, buf.len, &b), 0);
	assert_string_equal(b.name, "old-bot");
	assert_int_equal(b.org_role, ORG_MEMBER);
	assert_int_equal(b.disabled, 0);
	svca_buf_free(&buf);
}

static void org_roles(void **state)
{
	(void)state;
	enum org_role r;
	assert_int_equal(org_role_parse("super-admin", &r), 0);
	assert_int_equal(r, ORG_SUPER);
	assert_string_equal(org_role_name(r), "super-admin");
	assert_int_equal(org_role_parse("root", &r), -1);
	assert_int_equal(org_role_parse("", &r), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(account_round_trip),
		cmocka_unit_test(account_rejects_damage),
		cmocka_unit_test(account_requires_valid_name_and_uid),
		cmocka_unit_test(unknown_fields_are_ignored),
		cmocka_unit_test(org_roles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
