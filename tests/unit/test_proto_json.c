/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The JSON binding of the native protocol (common/proto_json.c): the name
 * tables, and frame <-> JSON both ways, including every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"
#include "proto_json.h"

static void test_tables_are_unique(void **state)
{
	(void)state;
	size_t n, m;
	const struct svca_json_field *f = svca_json_fields(&n);
	for (size_t i = 0; i < n; i++) {
		assert_ptr_equal(svca_json_field_by_tag(f[i].tag), &f[i]);
		assert_ptr_equal(svca_json_field_by_name(f[i].name), &f[i]);
	}
	const struct svca_json_cmd *c = svca_json_cmds(&m);
	for (size_t i = 0; i < m; i++) {
		assert_ptr_equal(svca_json_cmd_by_id(c[i].cmd), &c[i]);
		assert_ptr_equal(svca_json_cmd_by_name(c[i].name), &c[i]);
		assert_null(strstr(c[i].name, "pam."));
	}
	assert_null(svca_json_cmd_by_id(SVCA_CMD_PAM_AUTH));
	assert_null(svca_json_cmd_by_name("pam.auth"));
	assert_null(svca_json_field_by_name("nope"));
	assert_null(svca_json_field_by_tag(9999));
}

/* A request frame's fields -> JSON object -> the same frame bytes. */
static void test_request_round_trip(void **state)
{
	(void)state;
	struct svca_buf a, b;
	char err[128];
	svca_buf_init(&a, 0);
	svca_frame_begin(&a, SVCA_CMD_TEAM_DELETE);
	svca_put_str(&a, F_TEAM, "ops");
	svca_put_u64(&a, F_FORCE, 1);
	svca_put_bytes(&a, F_KEY, "svca_k", 6);
	assert_int_equal(svca_frame_end(&a), 0);

	json_t *o = svca_json_request_object(a.data + SVCA_HDR_LEN, a.len - SVCA_HDR_LEN, err,
					     sizeof(err));
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "team")), "ops");
	assert_int_equal(json_integer_value(json_object_get(o, "force")), 1);
	assert_string_equal(json_string_value(json_object_get(o, "key")), "svca_k");

	svca_buf_init(&b, 0);
	svca_frame_begin(&b, SVCA_CMD_TEAM_DELETE);
	assert_int_equal(svca_json_put_fields(o, &b, err, sizeof(err)), 0);
	assert_int_equal(svca_frame_end(&b), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	json_decref(o);
	svca_buf_free(&a);
	svca_buf_free(&b);
}

/* A reply with top fields, items and a repeated field -> the document ->
 * the same reply frame. */
static void test_reply_round_trip(void **state)
{
	(void)state;
	struct svca_buf a, b;
	char err[128];
	svca_buf_init(&a, 0);
	svca_frame_begin(&a, SVCA_OK);
	svca_put_str(&a, F_NAME, "bot");
	svca_put_str(&a, F_CAPABILITY, "login");
	svca_put_str(&a, F_CAPABILITY, "sudo");
	svca_put_str(&a, F_ROLE, "admin");
	svca_put_str(&a, F_ROLE, "viewer"); /* repeated though not LIST */
	svca_put_mark(&a, F_ITEM);
	svca_put_str(&a, F_KEY_ID, "k1");
	svca_put_u64(&a, F_EXPIRES_AT, 0);
	svca_put_mark(&a, F_ITEM);
	svca_put_str(&a, F_KEY_ID, "k2");
	svca_put_str(&a, F_SOURCE, "team:ops:prod:editor");
	assert_int_equal(svca_frame_end(&a), 0);

	json_t *d = svca_json_reply_doc(SVCA_OK, a.data + SVCA_HDR_LEN, a.len - SVCA_HDR_LEN);
	assert_non_null(d);
	assert_int_equal(json_integer_value(json_object_get(d, "status")), 0);
	assert_null(json_object_get(d, "message"));
	json_t *top = json_object_get(d, "fields");
	assert_string_equal(json_string_value(json_object_get(top, "name")), "bot");
	json_t *caps = json_object_get(top, "capability");
	assert_true(json_is_array(caps));
	assert_int_equal(json_array_size(caps), 2);
	assert_int_equal(json_array_size(json_object_get(top, "role")), 2);
	json_t *items = json_object_get(d, "items");
	assert_int_equal(json_array_size(items), 2);
	json_t *i2 = json_array_get(items, 1);
	assert_string_equal(json_string_value(json_object_get(i2, "key_id")), "k2");
	/* LIST fields are arrays even when given once */
	assert_int_equal(json_array_size(json_object_get(i2, "source")), 1);

	svca_buf_init(&b, 0);
	assert_int_equal(svca_json_reply_frame(d, &b, err, sizeof(err)), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	json_decref(d);
	svca_buf_free(&a);
	svca_buf_free(&b);
}

static void test_failed_reply_has_message(void **state)
{
	(void)state;
	struct svca_buf a, b;
	char err[128];
	svca_buf_init(&a, 0);
	svca_frame_begin(&a, SVCA_ERR_NOTFOUND);
	svca_put_str(&a, F_MESSAGE, "account 'x' does not exist");
	assert_int_equal(svca_frame_end(&a), 0);
	json_t *d =
		svca_json_reply_doc(SVCA_ERR_NOTFOUND, a.data + SVCA_HDR_LEN, a.len - SVCA_HDR_LEN);
	assert_non_null(d);
	assert_int_equal(json_integer_value(json_object_get(d, "status")), 4);
	assert_string_equal(json_string_value(json_object_get(d, "message")),
			    "account 'x' does not exist");
	svca_buf_init(&b, 0);
	assert_int_equal(svca_json_reply_frame(d, &b, err, sizeof(err)), 0);
	assert_memory_equal(a.data, b.data, a.len);
	json_decref(d);
	svca_buf_free(&a);
	svca_buf_free(&b);
}

/* Each body must be refused with a message naming the problem. */
static void refused(const char *body, const char *want)
{
	struct svca_buf b;
	char err[160] = "";
	json_error_t je;
	json_t *o = json_loads(body, JSON_ALLOW_NUL, &je); /* the daemon refuses \u0000 sooner */
	assert_non_null(o);
	svca_buf_init(&b, 0);
	svca_frame_begin(&b, SVCA_CMD_ACCOUNT_CREATE);
	assert_int_equal(svca_json_put_fields(o, &b, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("body %s: message '%s' lacks '%s'", body, err, want);
	json_decref(o);
	svca_buf_free(&b);
}

static void test_request_refusals(void **state)
{
	(void)state;
	refused("[1]", "must be a JSON object");
	refused("{\"colour\": \"red\"}", "unknown field 'colour'");
	refused("{\"item\": 1}", "unknown field 'item'");
	refused("{\"message\": \"x\"}", "unknown field 'message'");
	refused("{\"auth_token\": \"x\"}", "unknown field 'auth_token'");
	refused("{\"name\": 1}", "'name' must be a string");
	refused("{\"name\": null}", "'name' must be a string");
	refused("{\"uid\": \"1\"}", "'uid' must be a non-negative integer");
	refused("{\"uid\": -1}", "'uid' must be a non-negative integer");
	refused("{\"uid\": 1.5}", "'uid' must be a non-negative integer");
	refused("{\"name\": \"a\\u0000b\"}", "NUL");
	refused("{\"capability\": [[\"x\"]]}", "must not nest arrays");
	char big[SVCA_MAX_STRING + 40];
	memset(big, 'a', sizeof(big));
	memcpy(big, "{\"name\": \"", 10);
	memcpy(big + sizeof(big) - 3, "\"}", 3);
	refused(big, "too long");
}

static void test_request_accepts(void **state)
{
	(void)state;
	struct svca_buf b;
	char err[160] = "";
	json_t *o = json_loads("{\"force\": true, \"capability\": [\"login\", \"sudo\"], "
			       "\"name\": \"x\"}",
			       0, NULL);
	svca_buf_init(&b, 0);
	svca_frame_begin(&b, SVCA_CMD_ACCOUNT_CREATE);
	assert_int_equal(svca_json_put_fields(o, &b, err, sizeof(err)), 0);
	assert_int_equal(svca_frame_end(&b), 0);
	struct svca_field fs[8];
	int n = svca_fields_collect(b.data + SVCA_HDR_LEN, b.len - SVCA_HDR_LEN, fs, 8);
	assert_int_equal(n, 4);
	uint64_t v;
	assert_int_equal(svca_field_u64(svca_fields_find(fs, 4, F_FORCE), &v), 0);
	assert_int_equal(v, 1);
	json_decref(o);
	svca_buf_free(&b);
}

/* What JSON cannot carry is refused, not mangled. */
static void test_frame_refusals(void **state)
{
	(void)state;
	struct svca_buf a;
	char err[128];
	svca_buf_init(&a, 0);
	svca_frame_begin(&a, SVCA_CMD_ACCOUNT_LIST);
	svca_put_bytes(&a, F_AUTH_TOKEN, "tok", 3);
	assert_int_equal(svca_frame_end(&a), 0);
	assert_null(svca_json_request_object(a.data + SVCA_HDR_LEN, a.len - SVCA_HDR_LEN, err,
					     sizeof(err)));

	svca_buf_reset(&a);
	svca_frame_begin(&a, SVCA_OK);
	svca_put_u64(&a, F_UID, UINT64_MAX);
	assert_int_equal(svca_frame_end(&a), 0);
	assert_null(svca_json_reply_doc(SVCA_OK, a.data + SVCA_HDR_LEN, a.len - SVCA_HDR_LEN));

	svca_buf_reset(&a);
	svca_frame_begin(&a, SVCA_OK);
	svca_put_strn(&a, F_NAME, "\xff\xfe", 2); /* not UTF-8 */
	assert_int_equal(svca_frame_end(&a), 0);
	assert_null(svca_json_reply_doc(SVCA_OK, a.data + SVCA_HDR_LEN, a.len - SVCA_HDR_LEN));

	/* a truncated body */
	svca_buf_reset(&a);
	svca_frame_begin(&a, SVCA_OK);
	svca_put_str(&a, F_NAME, "bot");
	assert_int_equal(svca_frame_end(&a), 0);
	assert_null(svca_json_reply_doc(SVCA_OK, a.data + SVCA_HDR_LEN, a.len - SVCA_HDR_LEN - 1));
	svca_buf_free(&a);

	/* reply documents without a valid status */
	struct svca_buf b;
	svca_buf_init(&b, 0);
	json_t *d = json_loads("{\"fields\": {}}", 0, NULL);
	assert_int_equal(svca_json_reply_frame(d, &b, err, sizeof(err)), -1);
	json_decref(d);
	d = json_loads("{\"status\": 0, \"items\": {}}", 0, NULL);
	svca_buf_reset(&b);
	assert_int_equal(svca_json_reply_frame(d, &b, err, sizeof(err)), -1);
	json_decref(d);
	svca_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_are_unique),
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_reply_round_trip),
		cmocka_unit_test(test_failed_reply_has_message),
		cmocka_unit_test(test_request_refusals),
		cmocka_unit_test(test_request_accepts),
		cmocka_unit_test(test_frame_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
