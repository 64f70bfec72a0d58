/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An agent applying a verified delta (model/agentapply.c): an account
 * named in "accounts" loses every local record (its old acct/<name> after
 * a rename, index records, grants, keys: also a key its index no longer
 * lists) before the delta's records are put; an account named without
 * records leaves the store entirely; other accounts are untouched;
 * "deletes" and "upserts" apply, an expired deny-list entry goes (as from
 * a snapshot); seq, JWKS and host workspaces follow.  A
 * delta on another base, for other host workspaces or deleting a key
 * outside the organization's records is refused and, aborted, changes
 * nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "agentapply.h"
#include "keys.h"
#include "rbac.h"
#include "unit_util.h"

static struct unit_env E;
static struct store *S;

static void put_grant(uint32_t uid, const char *ws)
{
	struct grant g;
	memset(&g, 0, sizeof(g));
	g.uid = uid;
	g.kind = SCOPE_WORKSPACE;
	snprintf(g.scope, sizeof(g.scope), "%s", ws);
	g.role = ROLE_VIEWER;
	store_begin(S);
	assert_int_equal(grant_put(S, &g), 0);
	assert_int_equal(store_commit(S), 0);
}

static void put_key(const char *id, uint32_t uid, int indexed)
{
	struct apikey k;
	memset(&k, 0, sizeof(k));
	snprintf(k.key_id, sizeof(k.key_id), "%s", id);
	k.uid = uid;
	store_begin(S);
	assert_int_equal(key_put(S, &k), 0);
	if (indexed)
		assert_int_equal(key_index_add(S, uid, id), 0);
	assert_int_equal(store_commit(S), 0);
}

static void put_raw(const char *key, const char *val)
{
	store_begin(S);
	assert_int_equal(store_put(S, DB_STATE, key, (const uint8_t *)val, strlen(val)), 0);
	assert_int_equal(store_commit(S), 0);
}

static int has(const char *key)
{
	uint8_t *v = NULL;
	size_t n = 0;
	int g = store_get(S, DB_STATE, key, &v, &n);
	free(v);
	assert_true(g >= 0);
	return g == 1;
}

static int setup(void **state)
{
	(void)state;
	unit_env_open(&E, "apply", 0);
	S = E.d.store;
	unit_put_account(S, "svc-a", 1001, 0, 7);
	unit_put_account(S, "svc-b", 1002, 0, 7);
	unit_put_account(S, "svc-c", 1003, 0, 7);
	put_grant(1001, "wa");
	put_grant(1002, "wa");
	put_grant(1003, "wa");
	put_key("ka1", 1001, 1);
	put_key("ka2", 1001, 0); /* its index does not list it */
	put_key("kb1", 1002, 1);
	put_key("kc1", 1003, 1);
	put_raw("deny/j1", "9999999999");
	put_raw("deny/jold", "1000"); /* expired long ago */
	put_raw("agent/sync", "5 1000");
	put_raw("agent/hostws", "wa\nwb\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return unit_env_close(&E);
}

static int apply(const char *delta, char *err)
{
	store_begin(S);
	int r = agent_apply_delta(S, delta, strlen(delta), 2000, err, 200);
	if (r == 0)
		assert_int_equal(store_commit(S), 0);
	else
		store_abort(S);
	return r;
}

/* base64 of "svc-a2": c3ZjLWEy; "x": eA==; "w/wa\n": dy93YQo=; "9999999999":
 * OTk5OTk5OTk5OQ== */
static const char RENAME[] =
	"{\"format\":1,\"kind\":\"delta\",\"host_id\":\"h\",\"workspaces\":[\"wa\",\"wb\"],"
	"\"base_seq\":5,\"seq\":6,\"issued_at\":1,\"accounts\":[1001,1002],"
	"\"upserts\":[{\"k\":\"uid/1001\",\"v\":\"c3ZjLWEy\"},{\"k\":\"acct/"
	"svc-a2\",\"v\":\"eA==\"},"
	"{\"k\":\"gidx/1001\",\"v\":\"dy93YQo=\"},{\"k\":\"grant/1001/w/wa\",\"v\":\"eA==\"},"
	"{\"k\":\"deny/j2\",\"v\":\"OTk5OTk5OTk5OQ==\"}],"
	"\"deletes\":[\"deny/j1\"],\"jwks\":{\"keys\":[]}}";

static void test_delta_applies(void **state)
{
	(void)state;
	char err[200];
	int r0 = apply(RENAME, err);
	if (r0)
		fail_msg("%s", err);
	/* svc-a: renamed, its keys gone (not in the delta), the new records in */
	assert_false(has("acct/svc-a"));
	assert_true(has("acct/svc-a2"));
	assert_true(has("uid/1001"));
	assert_true(has("gidx/1001"));
	assert_true(has("grant/1001/w/wa"));
	assert_false(has("kidx/1001"));
	assert_false(has("key/ka1"));
	assert_false(has("key/ka2"));
	/* svc-b left the slice: nothing of it */
	assert_false(has("acct/svc-b"));
	assert_false(has("uid/1002"));
	assert_false(has("gidx/1002"));
	assert_false(has("kidx/1002"));
	assert_false(has("grant/1002/w/wa"));
	assert_false(has("key/kb1"));
	/* svc-c not named: untouched */
	assert_true(has("acct/svc-c"));
	assert_true(has("grant/1003/w/wa"));
	assert_true(has("key/kc1"));
	assert_false(has("deny/j1"));
	assert_true(has("deny/j2"));
	assert_false(has("deny/jold"));
	struct agent_syncstate st;
	assert_int_equal(agent_syncstate_get(S, &st), 1);
	assert_int_equal(st.seq, 6);
	assert_int_equal(st.last_ok, 2000);
	assert_true(has("agent/jwks"));
	struct strlist l = { NULL, 0 };
	assert_int_equal(agent_hostws_get(S, &l), 1);
	assert_int_equal(l.n, 2);
	strlist_free(&l);
}

static void test_delta_refused(void **state)
{
	(void)state;
	char err[200];
	/* applied is 6 now: a delta on 5 does not apply */
	assert_int_equal(apply(RENAME, err), -1);
	assert_non_null(strstr(err, "not based on"));
	static const char BAD[] =
		"{\"format\":1,\"kind\":\"delta\",\"host_id\":\"h\",\"workspaces\":[],"
		"\"base_seq\":6,\"seq\":7,\"issued_at\":1,\"accounts\":[1003],\"upserts\":[],"
		"\"deletes\":[\"agent/sync\"],\"jwks\":{\"keys\":[]}}";
	assert_int_equal(apply(BAD, err), -1);
	static const char OTHER_WS[] =
		"{\"format\":1,\"kind\":\"delta\",\"host_id\":\"h\",\"workspaces\":[\"wa\"],"
		"\"base_seq\":6,\"seq\":7,\"issued_at\":1,\"accounts\":[1003],\"upserts\":[],"
		"\"deletes\":[],\"jwks\":{\"keys\":[]}}";
	assert_int_equal(apply(OTHER_WS, err), -1); /* cut for other workspaces */
	assert_non_null(strstr(err, "not based on"));
	assert_true(has("acct/svc-c")); /* aborted: svc-c is still there */
	assert_true(has("key/kc1"));
	struct agent_syncstate st;
	assert_int_equal(agent_syncstate_get(S, &st), 1);
	assert_int_equal(st.seq, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delta_applies),
		cmocka_unit_test(test_delta_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
