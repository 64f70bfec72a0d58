/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * An agent's verifiers of API keys (svcacctd/model/agentkeys.c) and the
 * session tokens it keeps for session_open (agentsess.c): the host secret
 * is made once (0600, 32 bytes) and refused when its mode or size is
 * wrong; a verifier matches only the right secret, and only while the key
 * record has the owner and creation time it was made for; pruning drops
 * those of keys no longer active; a kept token is taken once, by its uid.
 * Read through a real store in a temp dir.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentkeys.h"
#include "agentsess.h"
#include "keys.h"
#include "store.h"

static char dir[64];
static struct store *S;

static int setup(void **state)
{
	(void)state;
	char err[256];
	strcpy(dir, "/tmp/svcacct-akv-XXXXXX");
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

static void path_of(char *p, size_t len)
{
	snprintf(p, len, "%s/" AKV_FILE, dir);
}

static void test_secret_file(void **state)
{
	(void)state;
	uint8_t a[AKV_LEN], b[AKV_LEN];
	char p[128];
	struct stat st;
	path_of(p, sizeof(p));
	unlink(p);
	assert_int_equal(akv_secret(dir, 0, a), 0); /* none, not made */
	assert_int_equal(akv_secret(dir, 1, a), 1);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, AKV_LEN);
	assert_int_equal(akv_secret(dir, 1, b), 1); /* read, not made again */
	assert_memory_equal(a, b, AKV_LEN);
	assert_int_equal(chmod(p, 0644), 0);
	assert_int_equal(akv_secret(dir, 0, b), -1); /* readable by others: refused */
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(truncate(p, 16), 0);
	assert_int_equal(akv_secret(dir, 1, b), -1); /* wrong size: refused, kept */
	unlink(p);
}

static void test_compute(void **state)
{
	(void)state;
	uint8_t h1[AKV_LEN], h2[AKV_LEN], x[AKV_LEN], y[AKV_LEN];
	memset(h1, 1, sizeof(h1));
	memset(h2, 2, sizeof(h2));
	akv_compute(h1, "secret-one", x);
	akv_compute(h1, "secret-one", y);
	assert_memory_equal(x, y, AKV_LEN);
	akv_compute(h1, "secret-two", y);
	assert_memory_not_equal(x, y, AKV_LEN);
	akv_compute(h2, "secret-one", y); /* another host: another verifier */
	assert_memory_not_equal(x, y, AKV_LEN);
}

static void put_key(struct apikey *k, const char *id, uint32_t uid, uint64_t created,
		    enum key_status st)
{
	char copy[SVCA_KEYID_LEN + 1];
	snprintf(copy, sizeof(copy), "%s", id); /* id may be k->key_id */
	memset(k, 0, sizeof(*k));
	snprintf(k->key_id, sizeof(k->key_id), "%s", copy);
	k->uid = uid;
	k->status = st;
	k->created_at = created;
	store_begin(S);
	assert_int_equal(key_put(S, k), 0);
	assert_int_equal(store_commit(S), 0);
}

static void test_check(void **state)
{
	(void)state;
	struct apikey k, other;
	put_key(&k, "AAAAAAAAAAAA", 1001, 5000, KEY_ACTIVE);
	store_begin(S);
	assert_int_equal(akv_store(S, dir, k.key_id, 1001, 5000, "the-secret"), 0);
	assert_int_equal(store_commit(S), 0);
	assert_int_equal(akv_check(S, dir, k.key_id, k.uid, k.created_at, "the-secret"), AKV_MATCH);
	assert_int_equal(akv_check(S, dir, k.key_id, k.uid, k.created_at, "the-secreT"),
			 AKV_MISMATCH);
	assert_int_equal(akv_check(S, dir, k.key_id, k.uid, k.created_at, ""), AKV_MISMATCH);
	k.created_at = 5001; /* another generation of the key record */
	assert_int_equal(akv_check(S, dir, k.key_id, k.uid, k.created_at, "the-secret"), AKV_NONE);
	k.created_at = 5000;
	k.uid = 1002; /* another owner */
	assert_int_equal(akv_check(S, dir, k.key_id, k.uid, k.created_at, "the-secret"), AKV_NONE);
	k.uid = 1001;
	put_key(&other, "BBBBBBBBBBBB", 1001, 5000, KEY_ACTIVE);
	assert_int_equal(akv_check(S, dir, other.key_id, other.uid, other.created_at, "the-secret"),
			 AKV_NONE); /* none kept */
	/* bad input: a key id of the wrong length is not stored */
	store_begin(S);
	assert_int_equal(akv_store(S, dir, "short", 1001, 5000, "x"), -1);
	store_abort(S);
	/* the host secret gone: nothing can match */
	char p[128];
	path_of(p, sizeof(p));
	assert_int_equal(unlink(p), 0);
	assert_int_equal(akv_check(S, dir, k.key_id, k.uid, k.created_at, "the-secret"), AKV_NONE);
}

static void test_prune(void **state)
{
	(void)state;
	struct apikey a, b, c;
	put_key(&a, "CCCCCCCCCCCC", 1001, 10, KEY_ACTIVE);
	put_key(&b, "DDDDDDDDDDDD", 1001, 20, KEY_ACTIVE);
	put_key(&c, "EEEEEEEEEEEE", 1001, 30, KEY_ACTIVE);
	store_begin(S);
	assert_int_equal(akv_store(S, dir, a.key_id, 1001, 10, "sa"), 0);
	assert_int_equal(akv_store(S, dir, b.key_id, 1001, 20, "sb"), 0);
	assert_int_equal(akv_store(S, dir, c.key_id, 1001, 30, "sc"), 0);
	assert_int_equal(store_commit(S), 0);
	assert_int_equal(akv_prune(S, key_is_current), 0); /* all still listed active */
	put_key(&b, b.key_id, 1001, 20, KEY_REVOKED);
	store_begin(S);
	assert_int_equal(key_del(S, c.key_id), 0); /* gone from the snapshot */
	assert_int_equal(store_commit(S), 0);
	assert_int_equal(akv_prune(S, key_is_current), 2);
	put_key(&b, b.key_id, 1001, 20, KEY_ACTIVE); /* enabled again: no verifier left */
	assert_int_equal(akv_check(S, dir, b.key_id, b.uid, b.created_at, "sb"), AKV_NONE);
	assert_int_equal(akv_check(S, dir, a.key_id, a.uid, a.created_at, "sa"), AKV_MATCH);
}

static void test_sessions(void **state)
{
	(void)state;
	char tok[AGENT_SESS_TOKEN_MAX + 1];
	uint64_t ei = 0;
	agent_sess_clear();
	agent_sess_put(1001, "tok-a", 900);
	agent_sess_put(1002, "tok-b", 900);
	assert_int_equal(agent_sess_take(1003, tok, &ei), 0);
	assert_int_equal(agent_sess_take(1001, tok, &ei), 1);
	assert_string_equal(tok, "tok-a");
	assert_int_equal(ei, 900);
	assert_int_equal(agent_sess_take(1001, tok, &ei), 0); /* taken once */
	for (uint32_t u = 2000; u < 2000 + AGENT_SESS_MAX + 5; u++)
		agent_sess_put(u, "many", 60); /* bounded: the oldest make room */
	assert_int_equal(agent_sess_take(1002, tok, &ei), 0);
	assert_int_equal(agent_sess_take(2000 + AGENT_SESS_MAX + 4, tok, &ei), 1);
	agent_sess_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_file), cmocka_unit_test(test_compute),
		cmocka_unit_test(test_check),       cmocka_unit_test(test_prune),
		cmocka_unit_test(test_sessions),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
