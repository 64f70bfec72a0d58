/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The fleet's host records (model/hosts.c): the host and enrollment-token
 * codecs round-trip and reject damage; a workspace list parses or is
 * refused; an enrollment token is checked (ok, unknown, wrong secret,
 * used, expired, another kind of secret); a host credential is checked
 * (ok, disabled, removed, replaced, malformed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "hosts.h"
#include "unit_util.h"

static struct host sample_host(void)
{
	struct host h;
	memset(&h, 0, sizeof(h));
	strcpy(h.host_id, "web-1.example");
	strcpy(h.workspaces[0], "prod");
	strcpy(h.workspaces[1], "staging");
	h.nws = 2;
	h.status = HOST_DISABLED;
	h.created_at = 1700000000123ULL;
	strcpy(h.created_by, "root");
	h.last_seen = 1700000000999ULL;
	h.snapshot_seq = 42;
	h.has_lag = 1;
	h.lag_s = 3;
	strcpy(h.cred_id, "AbCdEfGhIjKl");
	memset(h.cred_hash, 0x5a, sizeof(h.cred_hash));
	return h;
}

static void host_round_trip(void **state)
{
	(void)state;
	struct host a = sample_host(), b;
	struct svca_buf buf;
	svca_buf_init(&buf, 0);
	assert_int_equal(host_encode(&a, &buf), 0);
	assert_int_equal(buf.data[0], 'H');
	assert_int_equal(buf.data[1], HOST_RECORD_VERSION);
	assert_int_equal(host_decode(buf.data, buf.len, &b), 0);
	assert_string_equal(b.host_id, "web-1.example");
	assert_int_equal(b.nws, 2);
	assert_string_equal(b.workspaces[1], "staging");
	assert_int_equal(b.status, HOST_DISABLED);
	assert_int_equal(b.created_at, 1700000000123ULL);
	assert_int_equal(b.last_seen, 1700000000999ULL);
	assert_int_equal(b.snapshot_seq, 42);
	assert_int_equal(b.has_lag, 1);
	assert_int_equal(b.lag_s, 3);
	assert_string_equal(b.cred_id, "AbCdEfGhIjKl");
	assert_memory_equal(b.cred_hash, a.cred_hash, HOST_HASH_LEN);
	/* no lag known: the field is absent, and stays unknown */
	a.has_lag = 0;
	svca_buf_reset(&buf);
	assert_int_equal(host_encode(&a, &buf), 0);
	assert_int_equal(host_decode(buf.data, buf.len, &b), 0);
	assert_int_equal(b.has_lag, 0);
	svca_buf_free(&buf);
}

static void host_rejects_damage(void **state)
{
	(void)state;
	struct host a = sample_host(), b;
	struct svca_buf buf;
	svca_buf_init(&buf, 0);
	assert_int_equal(host_encode(&a, &buf), 0);
	assert_int_equal(host_decode(buf.data, buf.len - 3, &b), -1); /* truncated */
	buf.data[0] = 'A';
	assert_int_equal(host_decode(buf.data, buf.len, &b), -1); /* another kind */
	buf.data[0] = 'H';
	buf.data[1] = HOST_RECORD_VERSION + 1;
	assert_int_equal(host_decode(buf.data, buf.len, &b), -1); /* a newer version */
	svca_buf_free(&buf);
	/* a record without its credential hash is no host */
	svca_buf_init(&buf, 0);
	svca_put_raw(&buf, "H\001", 2);
	svca_put_str(&buf, F_HOST_ID, "web1");
	svca_put_str(&buf, F_STATUS, "active");
	svca_put_str(&buf, F_KEY_ID, "AbCdEfGhIjKl");
	assert_int_equal(host_decode(buf.data, buf.len, &b), -1);
	svca_buf_free(&buf);
}

static void enroll_round_trip(void **state)
{
	(void)state;
	struct enroll_token t, u;
	memset(&t, 0, sizeof(t));
	strcpy(t.id, "0123456789ab");
	memset(t.hash, 7, sizeof(t.hash));
	strcpy(t.workspaces[0], "prod");
	t.nws = 1;
	t.created_at = 1;
	strcpy(t.created_by, "alice");
	t.expires_at = 3600001;
	t.used = 1;
	t.used_at = 99;
	strcpy(t.host_id, "web1");
	struct svca_buf buf;
	svca_buf_init(&buf, 0);
	assert_int_equal(enroll_encode(&t, &buf), 0);
	assert_int_equal(enroll_decode(buf.data, buf.len, &u), 0);
	assert_string_equal(u.id, "0123456789ab");
	assert_memory_equal(u.hash, t.hash, HOST_HASH_LEN);
	assert_int_equal(u.nws, 1);
	assert_string_equal(u.workspaces[0], "prod");
	assert_int_equal(u.expires_at, 3600001);
	assert_int_equal(u.used, 1);
	assert_int_equal(u.used_at, 99);
	assert_string_equal(u.host_id, "web1");
	assert_int_equal(host_decode(buf.data, buf.len, &(struct host){ 0 }), -1);
	svca_buf_free(&buf);
}

static void workspace_lists(void **state)
{
	(void)state;
	char ws[HOST_MAX_WORKSPACES][SVCA_SCOPE_NAME_MAX + 1], why[160];
	size_t n;
	assert_int_equal(host_parse_workspaces("prod", ws, &n, why, sizeof(why)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(host_parse_workspaces("prod,staging,dev-1", ws, &n, why, sizeof(why)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(ws[2], "dev-1");
	assert_int_equal(host_parse_workspaces("", ws, &n, why, sizeof(why)), -1);
	assert_int_equal(host_parse_workspaces("prod,", ws, &n, why, sizeof(why)), -1);
	assert_int_equal(host_parse_workspaces(",prod", ws, &n, why, sizeof(why)), -1);
	assert_int_equal(host_parse_workspaces("prod,prod", ws, &n, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "twice"));
	assert_int_equal(host_parse_workspaces("Prod", ws, &n, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "invalid workspace name"));
	char many[HOST_MAX_WORKSPACES * 4 + 8] = "";
	for (int i = 0; i <= HOST_MAX_WORKSPACES; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%sw%d", i ? "," : "",
			 i);
	assert_int_equal(host_parse_workspaces(many, ws, &n, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "too many"));
}

/* An rng that spells out the id in ctx (rejection sampling keeps bytes
 * below 248 as they are, mod 62). */
static void spell_id(void *ctx, void *buf, size_t n)
{
	static const char a[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	const char *id = ctx;
	uint8_t *b = buf;
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(strchr(a, id[i % SVCA_KEYID_LEN]) - a);
}

/* A token as host token create makes it, stored in its own transaction. */
static void new_token(struct unit_env *e, uint64_t expires_at, char tok[SVCA_KEY_LEN + 1],
		      struct enroll_token *t)
{
	memset(t, 0, sizeof(*t));
	host_secret_new(e->d.secrets->pepper, SVCA_ENROLL_PREFIX, tok, t->id, t->hash);
	strcpy(t->workspaces[0], "prod");
	t->nws = 1;
	t->expires_at = expires_at;
	store_begin(e->d.store);
	assert_int_equal(enroll_put(e->d.store, t), 0);
	assert_int_equal(store_commit(e->d.store), 0);
}

static void enrollment_check(void **state)
{
	(void)state;
	struct unit_env e;
	struct enroll_token t, got;
	char tok[SVCA_KEY_LEN + 1], bad[SVCA_KEY_LEN + 1], other[SVCA_KEY_LEN + 1], id[16];
	uint8_t h[HOST_HASH_LEN];
	const uint8_t *pep;
	unit_env_open(&e, "hosts", 1);
	pep = e.d.secrets->pepper;
	new_token(&e, 10000, tok, &t);
	assert_int_equal(strncmp(tok, "svce_", 5), 0);
	assert_int_equal(enroll_check(e.d.store, pep, tok, strlen(tok), 9999, &got), ENROLL_OK);
	assert_int_equal(got.nws, 1);
	/* the stored hash is not the token, nor its secret */
	assert_null(memmem(t.hash, sizeof(t.hash), tok + 18, 8));
	/* expired at expires_at */
	assert_int_equal(enroll_check(e.d.store, pep, tok, strlen(tok), 10000, &got),
			 ENROLL_EXPIRED);
	/* the same id with another secret (a well-formed text) is unknown */
	uint8_t secret[SVCA_SECRET_BYTES];
	memset(secret, 1, sizeof(secret));
	assert_int_equal(svca_key_format_as(SVCA_ENROLL_PREFIX, spell_id, t.id, secret, bad, id),
			 0);
	assert_string_equal(id, t.id);
	assert_int_equal(svca_key_parse_as(SVCA_ENROLL_PREFIX, bad, strlen(bad), NULL, NULL),
			 SVCA_KEY_OK);
	assert_int_equal(enroll_check(e.d.store, pep, bad, strlen(bad), 1, &got), ENROLL_UNKNOWN);
	bad[SVCA_KEY_LEN - 1] ^= 1; /* a typo: the checksum no longer fits */
	assert_int_equal(enroll_check(e.d.store, pep, bad, strlen(bad), 1, &got), ENROLL_UNKNOWN);
	assert_int_equal(enroll_check(e.d.store, pep, other, strlen(other), 1, &got),
			 ENROLL_UNKNOWN);
	assert_int_equal(enroll_check(e.d.store, pep, "svce_x", 6, 1, &got), ENROLL_UNKNOWN);
	/* a host credential is no enrollment token */
	host_secret_new(pep, SVCA_HOSTCRED_PREFIX, other, id, h);
	assert_int_equal(enroll_check(e.d.store, pep, other, strlen(other), 1, &got),
			 ENROLL_UNKNOWN);
	/* used: refused even before it expires */
	got.used = 1;
	store_begin(e.d.store);
	assert_int_equal(enroll_put(e.d.store, &got), 0);
	assert_int_equal(store_commit(e.d.store), 0);
	assert_int_equal(enroll_check(e.d.store, pep, tok, strlen(tok), 1, &got), ENROLL_USED);
	sodium_memzero(tok, sizeof(tok));
	assert_int_equal(unit_env_close(&e), 0);
}

static void credential_check(void **state)
{
	(void)state;
	struct unit_env e;
	struct host h, got, old;
	char cred[SVCA_KEY_LEN + 1], cred2[SVCA_KEY_LEN + 1];
	unit_env_open(&e, "hosts", 1);
	const uint8_t *pep = e.d.secrets->pepper;
	memset(&h, 0, sizeof(h));
	strcpy(h.host_id, "web1");
	strcpy(h.workspaces[0], "prod");
	h.nws = 1;
	host_secret_new(pep, SVCA_HOSTCRED_PREFIX, cred, h.cred_id, h.cred_hash);
	store_begin(e.d.store);
	assert_int_equal(host_put(e.d.store, &h), 0);
	assert_int_equal(store_commit(e.d.store), 0);
	assert_int_equal(host_cred_check(e.d.store, pep, cred, strlen(cred), &got), HOSTCRED_OK);
	assert_string_equal(got.host_id, "web1");
	assert_int_equal(host_cred_check(e.d.store, pep, "svch_", 5, &got), HOSTCRED_MALFORMED);
	/* disabled: known, refused */
	h.status = HOST_DISABLED;
	store_begin(e.d.store);
	assert_int_equal(host_put(e.d.store, &h), 0);
	assert_int_equal(store_commit(e.d.store), 0);
	assert_int_equal(host_cred_check(e.d.store, pep, cred, strlen(cred), &got),
			 HOSTCRED_DISABLED);
	/* enrolled again: the old credential is unknown, the new one works */
	old = h;
	host_secret_new(pep, SVCA_HOSTCRED_PREFIX, cred2, h.cred_id, h.cred_hash);
	h.status = HOST_ACTIVE;
	store_begin(e.d.store);
	assert_int_equal(host_del(e.d.store, &old), 0);
	assert_int_equal(host_put(e.d.store, &h), 0);
	assert_int_equal(store_commit(e.d.store), 0);
	assert_int_equal(host_cred_check(e.d.store, pep, cred, strlen(cred), &got),
			 HOSTCRED_UNKNOWN);
	assert_int_equal(host_cred_check(e.d.store, pep, cred2, strlen(cred2), &got), HOSTCRED_OK);
	/* removed: unknown */
	store_begin(e.d.store);
	assert_int_equal(host_del(e.d.store, &h), 0);
	assert_int_equal(store_commit(e.d.store), 0);
	assert_int_equal(host_cred_check(e.d.store, pep, cred2, strlen(cred2), &got),
			 HOSTCRED_UNKNOWN);
	struct host *all;
	size_t n;
	assert_int_equal(host_all(e.d.store, &all, &n), 0);
	assert_int_equal(n, 0);
	free(all);
	sodium_memzero(cred, sizeof(cred));
	sodium_memzero(cred2, sizeof(cred2));
	assert_int_equal(unit_env_close(&e), 0);
}

/* A snapshot fetch (hsync/) shows in host_get and host_all; a damaged or
 * older record does not; host_del forgets it. */
static void fetch_overlay(void **state)
{
	(void)state;
	struct unit_env e;
	struct host h, got, *all;
	size_t n;
	unit_env_open(&e, "hsync", 0);
	memset(&h, 0, sizeof(h));
	strcpy(h.host_id, "web2");
	strcpy(h.workspaces[0], "prod");
	h.nws = 1;
	h.last_seen = 1000;
	strcpy(h.cred_id, "AbCdEfGhIjKl");
	store_begin(e.d.store);
	assert_int_equal(host_put(e.d.store, &h), 0);
	assert_int_equal(host_sync_put(e.d.store, "web2", 5000, 77), 0);
	assert_int_equal(store_commit(e.d.store), 0);
	assert_int_equal(host_get(e.d.store, "web2", &got), 1);
	assert_int_equal(got.last_seen, 5000);
	assert_int_equal(got.snapshot_seq, 77);
	assert_int_equal(host_all(e.d.store, &all, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(all[0].snapshot_seq, 77);
	free(all);
	store_begin(e.d.store);
	assert_int_equal(store_put(e.d.store, DB_STATE, "hsync/web2", (const uint8_t *)"9000 x", 6),
			 0);
	assert_int_equal(store_commit(e.d.store), 0);
	assert_int_equal(host_get(e.d.store, "web2", &got), 1);
	assert_int_equal(got.last_seen, 1000); /* damaged: ignored */
	store_begin(e.d.store);
	assert_int_equal(host_sync_put(e.d.store, "web2", 500, 3), 0); /* older than the record */
	assert_int_equal(store_commit(e.d.store), 0);
	assert_int_equal(host_get(e.d.store, "web2", &got), 1);
	assert_int_equal(got.last_seen, 1000);
	assert_int_equal(got.snapshot_seq, 0);
	store_begin(e.d.store);
	assert_int_equal(host_del(e.d.store, &h), 0);
	assert_int_equal(store_commit(e.d.store), 0);
	uint8_t *v;
	size_t vl;
	assert_int_equal(store_get(e.d.store, DB_STATE, "hsync/web2", &v, &vl), 0);
	assert_int_equal(unit_env_close(&e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(host_round_trip),   cmocka_unit_test(host_rejects_damage),
		cmocka_unit_test(enroll_round_trip), cmocka_unit_test(workspace_lists),
		cmocka_unit_test(enrollment_check),  cmocka_unit_test(credential_check),
		cmocka_unit_test(fetch_overlay),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
