/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An agent's check of a hub's snapshot envelope (model/snapverify.c): a
 * well-signed snapshot for this host is accepted; a flipped payload byte,
 * a signature by another key, a truncated or garbled body, another host's
 * snapshot, an older seq (replay) and an unknown format are refused.
 * A delta (kind "delta") is accepted only through host_delta_verify, only
 * when its base_seq is exactly the applied seq and its seq is newer; a
 * bad signature, another host, another base and a replay are refused, and
 * neither check takes the other's payload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapverify.h"

static uint8_t PK[32], SK[64], OTHER_PK[32], OTHER_SK[64];

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	crypto_sign_keypair(PK, SK);
	crypto_sign_keypair(OTHER_PK, OTHER_SK);
	return 0;
}

static char *payload(int format, const char *host, long long seq)
{
	static char p[512];
	snprintf(p, sizeof(p),
		 "{\"format\":%d,\"host_id\":\"%s\",\"workspaces\":[\"wa\"],\"seq\":%lld,"
		 "\"issued_at\":1765134000000,\"records\":[{\"k\":\"ws/wa\",\"v\":\"AAE=\"}],"
		 "\"jwks\":{\"keys\":[]}}",
		 format, host, seq);
	return p;
}

/* The envelope of p signed with sk; flip > 0 flips that payload byte
 * after signing. */
static char *envelope(const char *p, const uint8_t *sk, size_t flip)
{
	size_t len = strlen(p);
	uint8_t sig[64];
	char *copy = strdup(p), sig64[100], p64[1024];
	crypto_sign_detached(sig, NULL, (const unsigned char *)p, len, sk);
	if (flip)
		copy[flip] ^= 0x01;
	sodium_bin2base64(sig64, sizeof(sig64), sig, sizeof(sig),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_bin2base64(p64, sizeof(p64), (unsigned char *)copy, len,
			  sodium_base64_VARIANT_ORIGINAL);
	free(copy);
	char *env = malloc(2048);
	snprintf(env, 2048, "{\"payload\":\"%s\",\"sig\":\"%s\",\"kid\":\"x\"}", p64, sig64);
	return env;
}

static int check(const char *env, size_t len, uint64_t applied, char *err)
{
	struct snap_verified v;
	int r = host_snapshot_verify(PK, "web-1", applied, env, len, &v, err, 200);
	if (r == 0) {
		assert_int_equal(v.seq, 7);
		assert_non_null(v.payload);
		assert_memory_equal(v.payload, payload(1, "web-1", 7), v.len);
		snap_verified_free(&v);
	} else {
		assert_null(v.payload);
	}
	return r;
}

static void test_good(void **state)
{
	(void)state;
	char err[200];
	char *env = envelope(payload(1, "web-1", 7), SK, 0);
	assert_int_equal(check(env, strlen(env), 0, err), 0);
	assert_int_equal(check(env, strlen(env), 7, err), 0); /* the same seq again */
	free(env);
}

static void test_refused(void **state)
{
	(void)state;
	char err[200];
	char *env = envelope(payload(1, "web-1", 7), SK, 20);
	assert_int_equal(check(env, strlen(env), 0, err), -1);
	assert_non_null(strstr(err, "bad signature"));
	free(env);

	env = envelope(payload(1, "web-1", 7), OTHER_SK, 0);
	assert_int_equal(check(env, strlen(env), 0, err), -1);
	assert_non_null(strstr(err, "bad signature"));
	assert_int_equal(check(env, strlen(env) / 2, 0, err), -1); /* truncated */
	free(env);

	env = envelope(payload(1, "web-1", 7), SK, 0);
	assert_int_equal(check(env, strlen(env) - 2, 0, err), -1);
	assert_int_equal(check("garbage", 7, 0, err), -1);
	assert_int_equal(check(env, strlen(env), 8, err), -1);
	assert_non_null(strstr(err, "replay"));
	free(env);

	env = envelope(payload(1, "web-2", 7), SK, 0);
	assert_int_equal(check(env, strlen(env), 0, err), -1);
	assert_non_null(strstr(err, "another host"));
	free(env);

	env = envelope(payload(2, "web-1", 7), SK, 0);
	assert_int_equal(check(env, strlen(env), 0, err), -1);
	assert_non_null(strstr(err, "format"));
	free(env);
}

static char *delta(const char *host, long long base, long long seq)
{
	static char p[512];
	snprintf(p, sizeof(p),
		 "{\"format\":1,\"kind\":\"delta\",\"host_id\":\"%s\",\"workspaces\":[\"wa\"],"
		 "\"base_seq\":%lld,\"seq\":%lld,\"issued_at\":1765134000000,\"accounts\":[1001],"
		 "\"upserts\":[{\"k\":\"uid/1001\",\"v\":\"YQ==\"}],\"deletes\":[\"deny/x\"],"
		 "\"jwks\":{\"keys\":[]}}",
		 host, base, seq);
	return p;
}

static int check_delta(const char *env, size_t len, uint64_t applied, char *err)
{
	struct snap_verified v;
	int r = host_delta_verify(PK, "web-1", applied, env, len, &v, err, 200);
	if (r == 0) {
		assert_int_equal(v.delta, 1);
		assert_int_equal(v.base_seq, applied);
		assert_int_equal(v.seq, 9);
		assert_memory_equal(v.payload, delta("web-1", 7, 9), v.len);
		snap_verified_free(&v);
	} else {
		assert_null(v.payload);
	}
	return r;
}

static void test_delta(void **state)
{
	(void)state;
	char err[200];
	char *env = envelope(delta("web-1", 7, 9), SK, 0);
	assert_int_equal(check_delta(env, strlen(env), 7, err), 0);
	assert_int_equal(check_delta(env, strlen(env), 6, err), -1);
	assert_non_null(strstr(err, "not based on"));
	assert_int_equal(check_delta(env, strlen(env), 8, err), -1);
	assert_non_null(strstr(err, "not based on"));
	assert_int_equal(check(env, strlen(env), 7, err), -1); /* not a snapshot */
	assert_non_null(strstr(err, "format"));
	free(env);

	env = envelope(delta("web-1", 7, 9), SK, 30); /* a flipped byte */
	assert_int_equal(check_delta(env, strlen(env), 7, err), -1);
	assert_non_null(strstr(err, "bad signature"));
	free(env);
	env = envelope(delta("web-1", 7, 9), OTHER_SK, 0);
	assert_int_equal(check_delta(env, strlen(env), 7, err), -1);
	assert_non_null(strstr(err, "bad signature"));
	free(env);

	env = envelope(delta("web-2", 7, 9), SK, 0);
	assert_int_equal(check_delta(env, strlen(env), 7, err), -1);
	assert_non_null(strstr(err, "another host"));
	free(env);

	env = envelope(delta("web-1", 7, 7), SK, 0); /* not newer: a replay */
	assert_int_equal(check_delta(env, strlen(env), 7, err), -1);
	assert_non_null(strstr(err, "replay"));
	free(env);

	env = envelope(payload(1, "web-1", 7), SK, 0); /* a snapshot is not a delta */
	assert_int_equal(check_delta(env, strlen(env), 7, err), -1);
	assert_non_null(strstr(err, "not a delta"));
	free(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_delta),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
