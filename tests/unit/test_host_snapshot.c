/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An agent's snapshot payload (model/snapshot.c): a host of workspace wa
 * gets the account granted in wa and the one whose team grant covers wa,
 * nothing of the account granted only in wb (no record, and no other
 * byte of it); its grant index lists only the grants sent; key records
 * have their hash zeroed and nothing else changed; an expired deny-list
 * entry is left out; the envelope's signature verifies over exactly the
 * payload bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <string.h>

#include "keys.h"
#include "rbac.h"
#include "host_snapshot.h"
#include "unit_util.h"

static struct unit_env E;
static struct daemon *const D = &E.d;

static int setup(void **state)
{
	(void)state;
	unit_env_open(&E, "snap", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (E.sec.snap_sk) {
		sodium_free(E.sec.snap_sk);
		E.sec.snap_sk = NULL;
	}
	return unit_env_close(&E);
}

static void put_scope(const char *team, const char *ws)
{
	struct team t;
	struct workspace w;
	memset(&t, 0, sizeof(t));
	memset(&w, 0, sizeof(w));
	snprintf(t.name, sizeof(t.name), "%s", team);
	snprintf(w.name, sizeof(w.name), "%s", ws);
	snprintf(w.team, sizeof(w.team), "%s", team);
	store_begin(D->store);
	assert_int_equal(team_put(D->store, &t), 0);
	assert_int_equal(workspace_put(D->store, &w), 0);
	assert_int_equal(store_commit(D->store), 0);
}

static void put_grant(uint32_t uid, enum scope_kind kind, const char *scope)
{
	struct grant g;
	memset(&g, 0, sizeof(g));
	g.uid = uid;
	g.kind = kind;
	snprintf(g.scope, sizeof(g.scope), "%s", scope);
	g.role = ROLE_VIEWER;
	store_begin(D->store);
	assert_int_equal(grant_put(D->store, &g), 0);
	assert_int_equal(store_commit(D->store), 0);
}

static void put_key(const char *id, uint32_t uid, uint8_t fill)
{
	struct apikey k;
	memset(&k, 0, sizeof(k));
	snprintf(k.key_id, sizeof(k.key_id), "%s", id);
	k.uid = uid;
	memset(k.hash, fill, sizeof(k.hash));
	store_begin(D->store);
	assert_int_equal(key_put(D->store, &k), 0);
	assert_int_equal(key_index_add(D->store, uid, id), 0);
	assert_int_equal(store_commit(D->store), 0);
}

static void put_raw(const char *key, const char *val)
{
	store_begin(D->store);
	assert_int_equal(store_put(D->store, DB_STATE, key, (const uint8_t *)val, strlen(val)), 0);
	assert_int_equal(store_commit(D->store), 0);
}

/* The decoded value of record k in the payload, or NULL. */
static uint8_t *rec_value(json_t *p, const char *k, size_t *n)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(p, "records"), i, r)
	{
		if (strcmp(json_string_value(json_object_get(r, "k")), k))
			continue;
		const char *v = json_string_value(json_object_get(r, "v"));
		uint8_t *out = malloc(strlen(v) + 1);
		assert_int_equal(sodium_base642bin(out, strlen(v) + 1, v, strlen(v), NULL, n, NULL,
						   sodium_base64_VARIANT_ORIGINAL),
				 0);
		return out;
	}
	return NULL;
}

static int in_payload(const char *text, json_t *p, const void *needle, size_t len)
{
	if (memmem(text, strlen(text), needle, len))
		return 1;
	size_t i, n;
	json_t *r;
	json_array_foreach(json_object_get(p, "records"), i, r)
	{
		uint8_t *v = rec_value(p, json_string_value(json_object_get(r, "k")), &n);
		int hit = v && memmem(v, n, needle, len) != NULL;
		free(v);
		if (hit)
			return 1;
	}
	return 0;
}

static void host_slice(void **state)
{
	(void)state;
	put_scope("ta", "wa");
	put_scope("teambravo", "wsbravo");
	unit_put_account(D->store, "svc-alpha", 70001, 0, 0);
	unit_put_account(D->store, "svc-bravo", 70002, 0, 0);
	unit_put_account(D->store, "svc-teamy", 70003, 0, 0);
	put_grant(70001, SCOPE_WORKSPACE, "wa");
	put_grant(70001, SCOPE_WORKSPACE, "wsbravo");
	put_grant(70002, SCOPE_WORKSPACE, "wsbravo");
	put_grant(70003, SCOPE_TEAM, "ta");
	put_key("AAAAAAAAAAAA", 70001, 0xa5);
	put_key("BBBBBBBBBBBB", 70002, 0xb6);
	put_raw("deny/live-jti", "99999999999");
	put_raw("deny/old-jti", "1000");

	struct host h;
	memset(&h, 0, sizeof(h));
	strcpy(h.host_id, "web-a");
	strcpy(h.workspaces[0], "wa");
	strcpy(h.workspaces[1], "nope"); /* does not exist: grants nothing */
	h.nws = 2;
	char *text = NULL, err[128];
	size_t len = 0;
	uint64_t seq = 1;
	assert_int_equal(
		snapshot_build(D, &h, 1700000000000LL, &text, &len, &seq, err, sizeof(err)), 0);
	json_t *p = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(p);
	assert_int_equal(json_integer_value(json_object_get(p, "format")), 1);
	assert_int_equal(seq, 0); /* GDBM has no change log */
	assert_string_equal(json_string_value(json_object_get(p, "host_id")), "web-a");
	assert_non_null(json_object_get(json_object_get(p, "jwks"), "keys"));

	size_t n;
	const char *want[] = {
		"acct/svc-alpha", "acct/svc-teamy",   "uid/70001",        "uid/70003",
		"ws/wa",          "team/ta",          "grant/70001/w/wa", "grant/70003/t/ta",
		"kidx/70001",     "key/AAAAAAAAAAAA", "deny/live-jti",    "meta/gen"
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint8_t *v = rec_value(p, want[i], &n);
		if (!v)
			fail_msg("%s is not in the snapshot", want[i]);
		free(v);
	}
	const char * not [] = { "svc-bravo", "70002",     "BBBBBBBBBBBB",
				"wsbravo",   "teambravo", "old-jti" };
	for (size_t i = 0; i < sizeof(not ) / sizeof(not [0]); i++)
		if (in_payload(text, p, not [i], strlen(not [i])))
			fail_msg("'%s' is in the snapshot", not [i]);

	uint8_t *g = rec_value(p, "gidx/70001", &n);
	assert_non_null(g);
	assert_int_equal(n, 5);
	assert_memory_equal(g, "w/wa\n", 5);
	free(g);

	/* The key record: the hub's bytes but for 32 zeros in place of the hash. */
	uint8_t *hub, *sent, hash[KEY_HASH_LEN], zero[KEY_HASH_LEN] = { 0 };
	size_t hn, sn;
	memset(hash, 0xa5, sizeof(hash));
	assert_int_equal(store_get(D->store, DB_STATE, "key/AAAAAAAAAAAA", &hub, &hn), 1);
	sent = rec_value(p, "key/AAAAAAAAAAAA", &sn);
	assert_int_equal(hn, sn);
	uint8_t *at = memmem(hub, hn, hash, sizeof(hash));
	assert_non_null(at);
	size_t off = (size_t)(at - hub);
	assert_memory_equal(sent + off, zero, KEY_HASH_LEN);
	assert_memory_equal(sent, hub, off);
	assert_memory_equal(sent + off + KEY_HASH_LEN, hub + off + KEY_HASH_LEN,
			    hn - off - KEY_HASH_LEN);
	assert_false(in_payload(text, p, hash, sizeof(hash)));
	free(hub);
	free(sent);

	/* The envelope: Ed25519 over exactly the payload bytes. */
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	E.sec.snap_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	assert_int_equal(crypto_sign_keypair(pk, E.sec.snap_sk), 0);
	strcpy(E.sec.snap_kid, "test-kid");
	char *env = snapshot_envelope(&E.sec, text, len);
	json_t *e = json_loads(env, 0, NULL);
	const char *b = json_string_value(json_object_get(e, "payload"));
	const char *s = json_string_value(json_object_get(e, "sig"));
	uint8_t *bytes = malloc(strlen(b)), sig[crypto_sign_BYTES];
	size_t bl, sl;
	assert_int_equal(sodium_base642bin(bytes, strlen(b), b, strlen(b), NULL, &bl, NULL,
					   sodium_base64_VARIANT_ORIGINAL),
			 0);
	assert_int_equal(bl, len);
	assert_memory_equal(bytes, text, len);
	assert_int_equal(sodium_base642bin(sig, sizeof(sig), s, strlen(s), NULL, &sl, NULL,
					   sodium_base64_VARIANT_URLSAFE_NO_PADDING),
			 0);
	assert_int_equal(sl, sizeof(sig));
	assert_int_equal(crypto_sign_verify_detached(sig, bytes, bl, pk), 0);
	bytes[bl / 2] ^= 1;
	assert_int_not_equal(crypto_sign_verify_detached(sig, bytes, bl, pk), 0);
	assert_string_equal(json_string_value(json_object_get(e, "kid")), "test-kid");
	free(bytes);
	json_decref(e);
	free(env);
	json_decref(p);
	free(text);
}

/* The slice's part of the payload depends on the workspace set only: two
 * hosts of the same set (in any order, with a duplicate) get the same
 * bytes, whose whole payloads differ only in the head; a host of another
 * set gets its own. */
static void same_set_same_records(void **state)
{
	(void)state;
	put_scope("ta", "wa");
	put_scope("teambravo", "wsbravo");
	unit_put_account(D->store, "svc-alpha", 70001, 0, 0);
	unit_put_account(D->store, "svc-bravo", 70002, 0, 0);
	put_grant(70001, SCOPE_WORKSPACE, "wa");
	put_grant(70002, SCOPE_WORKSPACE, "wsbravo");
	put_key("AAAAAAAAAAAA", 70001, 0xa5);
	struct host a, b, o;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&o, 0, sizeof(o));
	strcpy(a.host_id, "web-a");
	strcpy(a.workspaces[0], "wa");
	strcpy(a.workspaces[1], "wsbravo");
	a.nws = 2;
	strcpy(b.host_id, "web-b");
	strcpy(b.workspaces[0], "wsbravo");
	strcpy(b.workspaces[1], "wa");
	strcpy(b.workspaces[2], "wa");
	b.nws = 3;
	strcpy(o.host_id, "web-o");
	strcpy(o.workspaces[0], "wa");
	o.nws = 1;
	char *ta, *tb, *to, err[128];
	size_t la, lb, lo;
	uint64_t seq;
	int64_t now = 1700000000000LL;
	assert_int_equal(snapshot_tail_build(D, &a, now, &ta, &la, &seq, err, sizeof(err)), 0);
	assert_int_equal(snapshot_tail_build(D, &b, now, &tb, &lb, &seq, err, sizeof(err)), 0);
	assert_int_equal(snapshot_tail_build(D, &o, now, &to, &lo, &seq, err, sizeof(err)), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(ta, tb, la);
	assert_non_null(strstr(ta, "svc-alpha") ? ta : NULL);
	assert_true(lo != la || memcmp(ta, to, la) != 0);

	/* The whole payload of a: its head, then exactly that tail. */
	char *pa;
	size_t pl;
	assert_int_equal(snapshot_build(D, &a, now, &pa, &pl, &seq, err, sizeof(err)), 0);
	assert_true(pl > la);
	assert_memory_equal(pa + pl - la, ta, la);
	json_t *p = json_loadb(pa, pl, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(p);
	assert_string_equal(json_string_value(json_object_get(p, "host_id")), "web-a");
	assert_int_equal(json_array_size(json_object_get(p, "workspaces")), 2);
	assert_int_equal(json_integer_value(json_object_get(p, "issued_at")), now);
	assert_null(json_object_get(p, "kind"));
	json_decref(p);
	free(pa);
	free(ta);
	free(tb);
	free(to);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(host_slice, setup, teardown),
		cmocka_unit_test_setup_teardown(same_set_same_records, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
