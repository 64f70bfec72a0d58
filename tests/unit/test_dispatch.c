/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The command table (svcacctd/cmd/dispatch.c): one row per command, each
 * with a name, a handler, a caller rule and a size limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dispatch.h"
#include "proto.h"
#include "proto_json.h"

static void test_names_of_commands(void **state)
{
	(void)state;
	assert_string_equal(command_find(SVCA_CMD_ACCOUNT_CREATE)->name, "account.create");
	assert_string_equal(command_find(SVCA_CMD_AUDIT_VERIFY)->name, "audit.verify");
	assert_string_equal(command_find(SVCA_CMD_PING)->name, "ping");
	assert_null(command_find(0));
	assert_null(command_find(9999));
}

/* The operator queries (commands 90-92) are read-only and for admins. */
static void test_operator_queries_are_admin_reads(void **state)
{
	(void)state;
	static const uint16_t q[] = { SVCA_CMD_KEY_LIST_ALL, SVCA_CMD_ACCOUNT_FIND,
				      SVCA_CMD_ACCESS_LIST };
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		const struct command *c = command_find(q[i]);
		assert_non_null(c);
		assert_int_equal(c->caller, CALLER_ADMIN);
		assert_int_equal(c->writes, 0);
	}
	assert_string_equal(command_find(SVCA_CMD_ACCESS_LIST)->name, "access.list");
}

/* Every number below 100 that has a row has all of it, under a name no
 * other row has; the PAM commands get the smaller size limit. */
static void test_every_row_is_complete(void **state)
{
	(void)state;
	unsigned rows = 0;
	for (uint16_t cmd = 0; cmd < 100; cmd++) {
		const struct command *c = command_find(cmd);
		if (!c)
			continue;
		rows++;
		assert_int_equal(c->cmd, cmd);
		assert_non_null(c->name);
		assert_non_null(c->handler);
		assert_true(c->max_request == SVCA_MAX_REQUEST ||
			    c->max_request == SVCA_MAX_UNAUTH_REQUEST);
		if (c->caller == CALLER_ROOT) /* PAM stacks carry no management */
			assert_int_equal(c->max_request, SVCA_MAX_UNAUTH_REQUEST);
		assert_int_equal(request_size_limit(cmd), c->max_request);
		for (uint16_t other = 0; other < cmd; other++) {
			const struct command *o = command_find(other);
			if (o)
				assert_string_not_equal(o->name, c->name);
		}
	}
	/* 43 + the SSH CA's five + ssh.principals (issue 18) + 3 queries (issue 19) */
	assert_int_equal(rows, 52);
	assert_int_equal(request_size_limit(9999), SVCA_MAX_REQUEST);
}

/* The HTTPS API's command names (common/proto_json.c) are the table's,
 * and it offers every command but PAM's (CALLER_ROOT). */
static void test_json_names_agree(void **state)
{
	(void)state;
	size_t n;
	const struct svca_json_cmd *j = svca_json_cmds(&n);
	for (size_t i = 0; i < n; i++) {
		const struct command *c = command_find(j[i].cmd);
		assert_non_null(c);
		assert_string_equal(c->name, j[i].name);
		assert_int_not_equal(c->caller, CALLER_ROOT);
	}
	for (uint16_t cmd = 0; cmd < 100; cmd++) {
		const struct command *c = command_find(cmd);
		if (c && c->caller != CALLER_ROOT)
			assert_non_null(svca_json_cmd_by_id(cmd));
		if (c && c->caller == CALLER_ROOT)
			assert_null(svca_json_cmd_by_id(cmd));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_of_commands),
		cmocka_unit_test(test_operator_queries_are_admin_reads),
		cmocka_unit_test(test_every_row_is_complete),
		cmocka_unit_test(test_json_names_agree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
