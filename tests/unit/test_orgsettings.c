/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The organization settings a hub sends its agents (model/orgsettings.c):
 * the record round-trips; a value out of the bounds of svcacctd.conf, a
 * broken cross-check, another kind of record or a newer version is
 * refused; an unknown key is skipped and a missing one takes the default;
 * org_settings_load keeps the running values on a bad record; the bounds
 * agree with config.c's (a file at each bound loads, one past it does
 * not); the JSON object names every setting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orgsettings.h"
#include "record.h"
#include "unit_util.h"

static struct org_settings sample(void)
{
	struct org_settings s;
	memset(&s, 0, sizeof(s));
	s.uid_min = 61000;
	s.uid_max = 61999;
	s.token_ttl = 1800;
	s.max_active_keys = 5;
	s.default_key_days = 30;
	s.max_key_days = 60;
	s.allow_nonexpiring_keys = 1;
	s.rate_limit_count = 7;
	s.rate_limit_window = 20;
	s.lockout_threshold = 9;
	s.lockout_seconds = 600;
	s.login_rate_limit_count = 500;
	s.login_rate_limit_window = 30;
	return s;
}

static void round_trip(void **state)
{
	(void)state;
	struct org_settings a = sample(), b;
	struct svca_buf buf;
	char err[160];
	svca_buf_init(&buf, 0);
	assert_int_equal(org_settings_encode(&a, &buf), 0);
	assert_int_equal(buf.data[0], 'O');
	assert_int_equal(buf.data[1], ORG_SETTINGS_VERSION);
	assert_int_equal(org_settings_decode(buf.data, buf.len, &b, err, sizeof(err)), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	svca_buf_free(&buf);
}

/* A record of name/value pairs as given (value -1: a STR instead). */
static void pairs(struct svca_buf *b, uint8_t version, const char *const *names,
		  const long long *vals, size_t n)
{
	svca_buf_init(b, 0);
	rec_begin(b, 'O', version);
	for (size_t i = 0; i < n; i++) {
		svca_put_str(b, F_NAME, names[i]);
		if (vals[i] < 0)
			svca_put_str(b, F_TOTAL, "x");
		else
			svca_put_u64(b, F_TOTAL, (uint64_t)vals[i]);
	}
}

static void refuses_bad(void **state)
{
	(void)state;
	struct org_settings s;
	struct svca_buf b;
	char err[160];
	static const struct {
		const char *name;
		long long v;
		const char *why;
	} bad[] = {
		{ "token_ttl", 59, "token_ttl" },
		{ "token_ttl", 3601, "token_ttl" },
		{ "uid_min", 999, "uid_min" },
		{ "uid_max", 4294967295LL, "uid_max" },
		{ "rate_limit_count", 0, "rate_limit_count" },
		{ "lockout_seconds", 86401, "lockout_seconds" },
		{ "allow_nonexpiring_keys", 2, "allow_nonexpiring_keys" },
		{ "max_active_keys", -1, "max_active_keys" },
		{ "uid_max", 60000, "uid_max" }, /* not above the default uid_min */
		{ "default_key_days", 367, "default_key_days" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *n[] = { bad[i].name };
		long long v[] = { bad[i].v };
		pairs(&b, 1, n, v, 1);
		err[0] = '\0';
		assert_int_equal(org_settings_decode(b.data, b.len, &s, err, sizeof(err)), -1);
		if (!strstr(err, bad[i].why))
			fail_msg("%s=%lld: '%s' does not name it", bad[i].name, bad[i].v, err);
		svca_buf_free(&b);
	}
	/* default above max: the cross-check */
	const char *n2[] = { "default_key_days", "max_key_days" };
	long long v2[] = { 90, 30 };
	pairs(&b, 1, n2, v2, 2);
	assert_int_equal(org_settings_decode(b.data, b.len, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "default_key_days"));
	svca_buf_free(&b);
	/* a newer version, another kind, garbage */
	pairs(&b, 2, n2, v2, 0);
	assert_int_equal(org_settings_decode(b.data, b.len, &s, err, sizeof(err)), -1);
	b.data[0] = 'A';
	b.data[1] = 1;
	assert_int_equal(org_settings_decode(b.data, b.len, &s, err, sizeof(err)), -1);
	assert_int_equal(org_settings_decode((const uint8_t *)"O", 1, &s, err, sizeof(err)), -1);
	svca_buf_free(&b);
}

static void unknown_and_missing(void **state)
{
	(void)state;
	struct org_settings s;
	struct svca_buf b;
	char err[160];
	const char *n[] = { "some_future_setting", "token_ttl" };
	long long v[] = { 123456789, 120 };
	pairs(&b, 1, n, v, 2);
	assert_int_equal(org_settings_decode(b.data, b.len, &s, err, sizeof(err)), 0);
	assert_int_equal(s.token_ttl, 120);
	assert_int_equal(s.uid_min, 60000); /* missing: the built-in default */
	assert_int_equal(s.rate_limit_count, 10);
	assert_int_equal(s.login_rate_limit_count, 300); /* from an older hub */
	assert_int_equal(s.login_rate_limit_window, 60);
	svca_buf_free(&b);
}

static void load_keeps_running_on_bad(void **state)
{
	(void)state;
	struct unit_env e;
	struct org_settings a = sample();
	struct svca_buf b;
	char err[160];
	int changed = -1;
	unit_env_open(&e, "orgset", 0);
	/* none stored: untouched */
	assert_int_equal(org_settings_load(e.d.store, &e.d.cfg, &changed, err, sizeof(err)), 0);
	assert_int_equal(e.d.cfg.rate_limit_count, 10);
	svca_buf_init(&b, 0);
	assert_int_equal(org_settings_encode(&a, &b), 0);
	store_begin(e.d.store);
	assert_int_equal(store_put(e.d.store, DB_STATE, ORG_SETTINGS_KEY, b.data, b.len), 0);
	assert_int_equal(store_commit(e.d.store), 0);
	assert_int_equal(org_settings_load(e.d.store, &e.d.cfg, &changed, err, sizeof(err)), 1);
	assert_int_equal(changed, 1);
	assert_int_equal(e.d.cfg.rate_limit_count, 7);
	assert_int_equal(e.d.cfg.uid_min, 61000);
	assert_int_equal(org_settings_load(e.d.store, &e.d.cfg, &changed, err, sizeof(err)), 1);
	assert_int_equal(changed, 0);
	/* out of bounds, then not a record: the running values stay */
	svca_buf_free(&b);
	const char *n[] = { "rate_limit_count", "token_ttl" };
	long long v[] = { 3, 5 };
	pairs(&b, 1, n, v, 2);
	store_begin(e.d.store);
	assert_int_equal(store_put(e.d.store, DB_STATE, ORG_SETTINGS_KEY, b.data, b.len), 0);
	assert_int_equal(store_commit(e.d.store), 0);
	assert_int_equal(org_settings_load(e.d.store, &e.d.cfg, &changed, err, sizeof(err)), -1);
	assert_int_equal(e.d.cfg.rate_limit_count, 7);
	assert_int_equal(e.d.cfg.token_ttl, 1800);
	assert_non_null(strstr(err, "token_ttl"));
	store_begin(e.d.store);
	assert_int_equal(store_put(e.d.store, DB_STATE, ORG_SETTINGS_KEY, (const uint8_t *)"xy", 2),
			 0);
	assert_int_equal(store_commit(e.d.store), 0);
	assert_int_equal(org_settings_load(e.d.store, &e.d.cfg, &changed, err, sizeof(err)), -1);
	assert_int_equal(e.d.cfg.rate_limit_count, 7);
	svca_buf_free(&b);
	assert_int_equal(unit_env_close(&e), 0);
}

static void no_err(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
}

/* 0 when svcacctd.conf accepts "name = value;" (with default_key_days 1,
 * so that max_key_days is tested alone). */
static int conf_accepts(const char *name, long long v)
{
	char path[] = "/tmp/svcacct-orgset-conf-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	if (strcmp(name, "default_key_days"))
		fprintf(f, "default_key_days = 1;\n");
	fprintf(f, "%s = %lld;\n", name, v);
	fclose(f);
	chmod(path, 0644);
	struct svca_config c;
	int errors = config_load(path, &c, no_err, NULL);
	config_free(&c);
	unlink(path);
	return errors;
}

/* The record's bounds are svcacctd.conf's (both ends of each). */
static void bounds_agree_with_config(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		long long lo, hi;
	} b[] = {
		{ "token_ttl", 60, 3600 },
		{ "max_active_keys", 1, 100 },
		{ "default_key_days", 1, 366 },
		{ "max_key_days", 1, 366 },
		{ "rate_limit_count", 1, 100000 },
		{ "rate_limit_window", 1, 3600 },
		{ "lockout_threshold", 1, 1000 },
		{ "lockout_seconds", 1, 86400 },
		{ "login_rate_limit_count", 1, 100000 },
		{ "login_rate_limit_window", 1, 3600 },
	};
	struct org_settings s;
	struct svca_buf buf;
	char err[160];
	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		long long probe[] = { b[i].lo, b[i].hi, b[i].lo - 1, b[i].hi + 1 };
		for (size_t k = 0; k < 4; k++) {
			const char *n[] = { b[i].name, "default_key_days" };
			long long v[] = { probe[k], 1 };
			int conf_ok = conf_accepts(b[i].name, probe[k]) == 0;
			pairs(&buf, 1, n, v, strcmp(b[i].name, "default_key_days") ? 2 : 1);
			int rec_ok =
				org_settings_decode(buf.data, buf.len, &s, err, sizeof(err)) == 0;
			svca_buf_free(&buf);
			if (conf_ok != rec_ok)
				fail_msg("%s = %lld: svcacctd.conf %s it, the record %s it",
					 b[i].name, probe[k], conf_ok ? "accepts" : "refuses",
					 rec_ok ? "accepts" : "refuses");
		}
	}
}

static void json_names_every_setting(void **state)
{
	(void)state;
	struct svca_config c;
	config_defaults(&c);
	c.rate_limit_count = 7;
	char *text = org_settings_json(&c);
	assert_non_null(text);
	json_t *o = json_loads(text, 0, NULL);
	assert_non_null(o);
	assert_int_equal(json_object_size(o), 13);
	assert_int_equal(json_integer_value(json_object_get(o, "rate_limit_count")), 7);
	assert_int_equal(json_integer_value(json_object_get(o, "login_rate_limit_count")), 300);
	assert_int_equal(json_integer_value(json_object_get(o, "login_rate_limit_window")), 60);
	assert_true(json_is_boolean(json_object_get(o, "allow_nonexpiring_keys")));
	assert_int_equal(json_integer_value(json_object_get(o, "uid_max")), 60999);
	json_decref(o);
	free(text);
	config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(refuses_bad),
		cmocka_unit_test(unknown_and_missing),
		cmocka_unit_test(load_keeps_running_on_bad),
		cmocka_unit_test(bounds_agree_with_config),
		cmocka_unit_test(json_names_every_setting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
