/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The credential check shared by every front end (svcacctd/model/keys.c:
 * cred_check_key) against DESIGN.md section 4 and SECURITY.md 4.2:
 *
 *   C1  a bad checksum is refused before any lookup (and costs nothing);
 *       a rate limit per caller (not for PAM requests) and one per key id
 *       spent only by the right secret; after lockout_threshold bad
 *       secrets a lockout per caller and key id for lockout_seconds;
 *   C2  unknown key ids count toward the lockout exactly like known ones;
 *       the lockout key includes the caller (uid, TCP address, rhost);
 *   then the key's status and expiry and the account's status.
 *
 * A private store in a temp dir, secrets generated there, the daemon's
 * rate-limit tables; no socket.  The check reads the real clocks, so the
 * one expiry case sleeps about a second (lockout_seconds = 1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "keyfmt.h"
#include "keys.h"
#include "ratelimit.h"
#include "secrets.h"
#include "sockio.h"
#include "unit_util.h"

static struct unit_env E;
static struct daemon *const D = &E.d;

static int setup(void **state)
{
	(void)state;
	unit_env_open(&E, "cred", 1);
	D->cfg.lockout_threshold = 3;
	D->cfg.rate_limit_count = 100; /* each case lowers what it tests */
	D->rl_key = rl_new(4096);
	D->rl_uid = rl_new(4096);
	D->rl_lock = rl_new(4096);
	assert_true(D->rl_key && D->rl_uid && D->rl_lock);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rl_free(D->rl_key);
	rl_free(D->rl_uid);
	rl_free(D->rl_lock);
	return unit_env_close(&E);
}

static void put_account(const char *name, uint32_t uid, int disabled)
{
	unit_put_account(D->store, name, uid, disabled, 0);
}

/* A key text with this key id and secret bytes and a correct checksum. */
static void forge_key(const char *keyid, const uint8_t secret[SVCA_SECRET_BYTES],
		      char out[SVCA_KEY_LEN + 1])
{
	size_t body = SVCA_KEY_LEN - SVCA_CHECK_LEN;
	snprintf(out, SVCA_KEY_LEN + 1, SVCA_KEY_PREFIX "%s_", keyid);
	assert_int_equal(svca_base62_encode(secret, SVCA_SECRET_BYTES, out + body - SVCA_SECRET_LEN,
					    SVCA_SECRET_LEN),
			 0);
	uint32_t crc = svca_crc32(out, body);
	uint8_t be[4] = { (uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8),
			  (uint8_t)crc };
	assert_int_equal(svca_base62_encode(be, sizeof(be), out + body, SVCA_CHECK_LEN), 0);
}

/* Stores a key of account uid with that status and expiry (ms, 0 never)
 * as key create does; its text goes to text, its id to keyid. */
static void make_key(uint32_t uid, enum key_status st, uint64_t expires_at,
		     char text[SVCA_KEY_LEN + 1], char keyid[SVCA_KEYID_LEN + 1])
{
	uint8_t secret[SVCA_SECRET_BYTES], id[SVCA_KEYID_LEN];
	char sec[SVCA_SECRET_LEN + 1];
	randombytes_buf(id, sizeof(id));
	for (size_t i = 0; i < SVCA_KEYID_LEN; i++)
		keyid[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[id[i] %
											    62];
	keyid[SVCA_KEYID_LEN] = '\0';
	randombytes_buf(secret, sizeof(secret));
	forge_key(keyid, secret, text);
	char kid2[SVCA_KEYID_LEN + 1];
	assert_int_equal(svca_key_parse(text, strlen(text), kid2, sec), SVCA_KEY_OK);
	struct apikey k;
	memset(&k, 0, sizeof(k));
	memcpy(k.key_id, keyid, sizeof(k.key_id));
	k.uid = uid;
	k.status = st;
	k.expires_at = expires_at;
	k.created_at = (uint64_t)svca_wall_ms();
	key_hash(E.sec.pepper, sec, k.hash);
	store_begin(D->store);
	assert_int_equal(key_put(D->store, &k), 0);
	assert_int_equal(key_index_add(D->store, uid, k.key_id), 0);
	assert_int_equal(store_commit(D->store), 0);
}

/* The same key id with another (well-formed) secret. */
static void wrong_secret(const char *keyid, char out[SVCA_KEY_LEN + 1])
{
	uint8_t secret[SVCA_SECRET_BYTES];
	memset(secret, 0x11, sizeof(secret));
	forge_key(keyid, secret, out);
}

static struct peer peer_uid(uid_t uid)
{
	struct peer p;
	memset(&p, 0, sizeof(p));
	p.uid = uid;
	p.pid = 4242;
	return p;
}

static int just_locked;

/* One check; service NULL = a native or HTTP exchange, else PAM. */
static enum cred_result check(const char *key, uid_t uid, const char *service, const char *rhost,
			      struct cred *c)
{
	struct peer p = peer_uid(uid);
	cred_check_key(D, key, strlen(key), &p, service, rhost, c, &just_locked);
	return c->result;
}

static enum cred_result chk(const char *key, uid_t uid)
{
	struct cred c;
	return check(key, uid, NULL, NULL, &c);
}

static void right_key_is_accepted(void **state)
{
	(void)state;
	char key[SVCA_KEY_LEN + 1], id[SVCA_KEYID_LEN + 1];
	struct cred c;
	put_account("ci-deploy", 60001, 0);
	make_key(60001, KEY_ACTIVE, 0, key, id);
	assert_int_equal(check(key, 1000, "sshd", "10.0.0.9", &c), CRED_OK);
	assert_int_equal(just_locked, 0);
	assert_string_equal(c.key_id, id);
	assert_string_equal(c.key.key_id, id);
	assert_string_equal(c.account.name, "ci-deploy");
	assert_int_equal(c.account.uid, 60001);
	assert_int_equal(c.retry_after, 0);
	/* the last use is noted in memory (written by keys_tick) */
	uint64_t at;
	uint32_t uid, pid;
	const char *svc;
	assert_int_equal(keys_pending_use(&E.d, id, &at, &uid, &pid, &svc), 1);
	assert_int_equal(uid, 1000);
	assert_int_equal(pid, 4242);
	assert_string_equal(svc, "sshd");
	assert_true(at > 0 && at <= (uint64_t)svca_wall_ms());
	assert_string_equal(cred_reason(CRED_OK), "ok");
}

/* A wrong secret for a real key id, a bad checksum, a malformed text and
 * an unknown key id each give their own result; none of them notes a use. */
static void refusals_by_kind(void **state)
{
	(void)state;
	char key[SVCA_KEY_LEN + 1], id[SVCA_KEYID_LEN + 1], bad[SVCA_KEY_LEN + 1];
	struct cred c;
	uint64_t at;
	uint32_t u, p;
	const char *svc;
	put_account("ci-deploy", 60001, 0);
	make_key(60001, KEY_ACTIVE, 0, key, id);
	D->cfg.lockout_threshold = 100;

	wrong_secret(id, bad);
	assert_int_equal(check(bad, 1000, NULL, NULL, &c), CRED_BAD_SECRET);
	assert_string_equal(c.key_id, id);
	assert_int_equal(keys_pending_use(&E.d, id, &at, &u, &p, &svc), 0);

	memcpy(bad, key, sizeof(bad));
	bad[SVCA_KEY_LEN - 1] = bad[SVCA_KEY_LEN - 1] == 'a' ? 'b' : 'a';
	assert_int_equal(check(bad, 1000, NULL, NULL, &c), CRED_BAD_CHECKSUM);
	assert_string_equal(c.key_id, "");
	/* one character of the secret changed: the checksum catches it */
	memcpy(bad, key, sizeof(bad));
	bad[30] = bad[30] == 'Z' ? 'Y' : 'Z';
	assert_int_equal(check(bad, 1000, NULL, NULL, &c), CRED_BAD_CHECKSUM);

	assert_int_equal(check("svca_short", 1000, NULL, NULL, &c), CRED_MALFORMED);
	assert_string_equal(c.key_id, "");
	assert_int_equal(check("", 1000, NULL, NULL, &c), CRED_MALFORMED);
	memcpy(bad, key, sizeof(bad));
	bad[0] = 'S';
	assert_int_equal(check(bad, 1000, NULL, NULL, &c), CRED_MALFORMED);
	/* the length given, not the NUL, ends the key */
	struct peer pe = peer_uid(1000);
	cred_check_key(D, key, SVCA_KEY_LEN - 1, &pe, NULL, NULL, &c, &just_locked);
	assert_int_equal(c.result, CRED_MALFORMED);

	uint8_t sec[SVCA_SECRET_BYTES] = { 1, 2, 3 };
	forge_key("Unknown00Key", sec, bad);
	assert_int_equal(check(bad, 1000, NULL, NULL, &c), CRED_UNKNOWN_KEY);
	assert_string_equal(c.key_id, "Unknown00Key");
	assert_int_equal(keys_pending_use(&E.d, id, &at, &u, &p, &svc), 0);
	assert_int_equal(check(key, 1000, NULL, NULL, &c), CRED_OK);
}

/* With the right secret: revoked, disabled, expired (by status or by
 * date) in that order of precedence; a future expiry is fine.  With a
 * wrong secret the status is never told. */
static void key_status_and_expiry(void **state)
{
	(void)state;
	char k[6][SVCA_KEY_LEN + 1], id[6][SVCA_KEYID_LEN + 1], bad[SVCA_KEY_LEN + 1];
	uint64_t now = (uint64_t)svca_wall_ms();
	put_account("ci-deploy", 60001, 0);
	make_key(60001, KEY_DISABLED, 0, k[0], id[0]);
	make_key(60001, KEY_REVOKED, 0, k[1], id[1]);
	make_key(60001, KEY_EXPIRED, 0, k[2], id[2]);
	make_key(60001, KEY_ACTIVE, now - 1, k[3], id[3]);
	make_key(60001, KEY_ACTIVE, now + 3600000, k[4], id[4]);
	make_key(60001, KEY_DISABLED, now - 1, k[5], id[5]); /* disabled wins */
	assert_int_equal(chk(k[0], 1000), CRED_KEY_DISABLED);
	assert_int_equal(chk(k[1], 1000), CRED_KEY_REVOKED);
	assert_int_equal(chk(k[2], 1000), CRED_KEY_EXPIRED);
	assert_int_equal(chk(k[3], 1000), CRED_KEY_EXPIRED);
	assert_int_equal(chk(k[4], 1000), CRED_OK);
	assert_int_equal(chk(k[5], 1000), CRED_KEY_DISABLED);
	for (int i = 0; i < 4; i++) {
		wrong_secret(id[i], bad);
		assert_int_equal(chk(bad, 1001), CRED_BAD_SECRET);
	}
	/* a revoked key stays revoked once its account is disabled too */
	put_account("ci-deploy", 60001, 1);
	assert_int_equal(chk(k[1], 1000), CRED_KEY_REVOKED);
}

/* A disabled account blocks its keys; enabling restores them.  A key
 * whose account is gone is as good as unknown. */
static void account_status(void **state)
{
	(void)state;
	char key[SVCA_KEY_LEN + 1], id[SVCA_KEYID_LEN + 1];
	struct cred c;
	put_account("ci-deploy", 60001, 1);
	make_key(60001, KEY_ACTIVE, 0, key, id);
	assert_int_equal(check(key, 1000, NULL, NULL, &c), CRED_ACCOUNT_DISABLED);
	assert_string_equal(c.account.name, "ci-deploy");
	put_account("ci-deploy", 60001, 0);
	assert_int_equal(chk(key, 1000), CRED_OK);
	struct account a;
	assert_int_equal(account_get(D->store, "ci-deploy", &a), 1);
	store_begin(D->store);
	assert_int_equal(account_del(D->store, &a), 0);
	assert_int_equal(store_commit(D->store), 0);
	assert_int_equal(chk(key, 1000), CRED_UNKNOWN_KEY);
}

/* Every attempt of a caller counts against its budget, whatever it
 * presents (but a bad checksum, refused before); another caller has its
 * own; Retry-After is within the window. */
static void per_caller_rate_limit(void **state)
{
	(void)state;
	char key[SVCA_KEY_LEN + 1], id[SVCA_KEYID_LEN + 1], bad[SVCA_KEY_LEN + 1];
	struct cred c;
	put_account("ci-deploy", 60001, 0);
	make_key(60001, KEY_ACTIVE, 0, key, id);
	D->cfg.rate_limit_count = 3;
	D->cfg.rate_limit_window = 60;
	D->cfg.lockout_threshold = 100;
	memcpy(bad, key, sizeof(bad));
	bad[SVCA_KEY_LEN - 1] = bad[SVCA_KEY_LEN - 1] == 'a' ? 'b' : 'a';
	for (int i = 0; i < 10; i++)
		assert_int_equal(chk(bad, 1000), CRED_BAD_CHECKSUM);
	uint8_t sec[SVCA_SECRET_BYTES] = { 9 };
	forge_key("Unknown00Key", sec, bad);
	assert_int_equal(chk(bad, 1000), CRED_UNKNOWN_KEY);
	assert_int_equal(chk(key, 1000), CRED_OK);
	assert_int_equal(chk(bad, 1000), CRED_UNKNOWN_KEY);
	assert_int_equal(check(key, 1000, NULL, NULL, &c), CRED_RATE_LIMITED);
	assert_true(c.retry_after >= 59 && c.retry_after <= 60);
	assert_int_equal(just_locked, 0);
	/* another uid, or the same uid from another TCP address, is another caller */
	assert_int_equal(chk(key, 1001), CRED_OK);
	struct peer p = peer_uid(1000);
	snprintf(p.addr, sizeof(p.addr), "127.0.0.1");
	cred_check_key(D, key, strlen(key), &p, NULL, NULL, &c, &just_locked);
	assert_int_equal(c.result, CRED_OK);
}

/* PAM requests (service set) all come from root: no per-caller budget,
 * but the key's login budget still holds. */
static void pam_requests_skip_the_per_caller_limit(void **state)
{
	(void)state;
	char key[SVCA_KEY_LEN + 1], id[SVCA_KEYID_LEN + 1], bad[SVCA_KEY_LEN + 1];
	struct cred c;
	put_account("ci-deploy", 60001, 0);
	make_key(60001, KEY_ACTIVE, 0, key, id);
	D->cfg.rate_limit_count = 3;
	D->cfg.rate_limit_window = 60;
	D->cfg.login_rate_limit_count = 3;
	D->cfg.login_rate_limit_window = 60;
	D->cfg.lockout_threshold = 100;
	uint8_t sec[SVCA_SECRET_BYTES] = { 9 };
	forge_key("Unknown00Key", sec, bad);
	for (int i = 0; i < 10; i++)
		assert_int_equal(check(bad, 0, "sshd", NULL, &c), CRED_UNKNOWN_KEY);
	for (int i = 0; i < 3; i++)
		assert_int_equal(check(key, 0, "sshd", NULL, &c), CRED_OK);
	assert_int_equal(check(key, 0, "sudo", NULL, &c), CRED_RATE_LIMITED);
	assert_true(c.retry_after >= 1 && c.retry_after <= 60);
	/* root without a service (svcacctctl as root) does have the budget:
	 * the 10 PAM attempts above did not spend it */
	assert_int_equal(chk(bad, 0), CRED_UNKNOWN_KEY);
}

/* Logins (service set) and token exchanges have separate per-key
 * budgets (issue 19): the default login budget takes 12 back-to-back
 * logins and more, and spending one budget leaves the other whole. */
static void logins_have_their_own_budget(void **state)
{
	(void)state;
	char key[SVCA_KEY_LEN + 1], id[SVCA_KEYID_LEN + 1];
	struct cred c;
	put_account("ci-deploy", 60001, 0);
	make_key(60001, KEY_ACTIVE, 0, key, id);
	struct svca_config dflt;
	config_defaults(&dflt);
	assert_true(dflt.login_rate_limit_count >= 50 * 5); /* 50 forks, a few logins each */
	D->cfg.login_rate_limit_count = dflt.login_rate_limit_count;
	D->cfg.login_rate_limit_window = dflt.login_rate_limit_window;
	config_free(&dflt);
	D->cfg.rate_limit_count = 10;
	D->cfg.rate_limit_window = 10;
	for (int i = 0; i < 12; i++)
		assert_int_equal(check(key, 0, "sshd", NULL, &c), CRED_OK);
	for (int i = 0; i < 10; i++) /* the exchanges' 10 are all there */
		assert_int_equal(chk(key, (uid_t)(1000 + i)), CRED_OK);
	assert_int_equal(chk(key, 1100), CRED_RATE_LIMITED);
	assert_int_equal(check(key, 0, "sshd", NULL, &c), CRED_OK); /* logins go on */
	/* a small login budget: the 4th login is refused, with the right
	 * secret known (so the user may be told), exchanges unaffected */
	D->cfg.login_rate_limit_count = 3;
	D->cfg.login_rate_limit_window = 60;
	char k2[SVCA_KEY_LEN + 1], id2[SVCA_KEYID_LEN + 1];
	make_key(60001, KEY_ACTIVE, 0, k2, id2);
	for (int i = 0; i < 3; i++)
		assert_int_equal(check(k2, 0, "sudo", NULL, &c), CRED_OK);
	assert_int_equal(check(k2, 0, "sudo", NULL, &c), CRED_RATE_LIMITED);
	assert_true(c.retry_after >= 1 && c.retry_after <= 60);
	assert_int_equal(c.secret_right, 1);
	assert_int_equal(chk(k2, 1200), CRED_OK);
	char bad[SVCA_KEY_LEN + 1];
	wrong_secret(id2, bad);
	assert_int_equal(check(bad, 0, "sshd", NULL, &c), CRED_BAD_SECRET);
	assert_int_equal(c.secret_right, 0);
}

/* The per-key budget is spent by the right secret only (anyone's), so
 * wrong guesses cannot exhaust a key; other keys have their own. */
static void per_key_rate_limit(void **state)
{
	(void)state;
	char k1[SVCA_KEY_LEN + 1], id1[SVCA_KEYID_LEN + 1];
	char k2[SVCA_KEY_LEN + 1], id2[SVCA_KEYID_LEN + 1], bad[SVCA_KEY_LEN + 1];
	struct cred c;
	put_account("ci-deploy", 60001, 0);
	make_key(60001, KEY_ACTIVE, 0, k1, id1);
	make_key(60001, KEY_ACTIVE, 0, k2, id2);
	D->cfg.rate_limit_count = 3;
	D->cfg.rate_limit_window = 60;
	D->cfg.lockout_threshold = 100;
	wrong_secret(id1, bad);
	for (uid_t u = 2000; u < 2010; u++)
		assert_int_equal(chk(bad, u), CRED_BAD_SECRET);
	assert_int_equal(chk(k1, 1001), CRED_OK);
	assert_int_equal(chk(k1, 1002), CRED_OK);
	assert_int_equal(chk(k1, 1003), CRED_OK);
	assert_int_equal(check(k1, 1004, NULL, NULL, &c), CRED_RATE_LIMITED);
	assert_true(c.retry_after >= 59 && c.retry_after <= 60);
	assert_int_equal(chk(k2, 1004), CRED_OK);
}

/* lockout_threshold bad secrets lock (caller, key id): the lock engages
 * on the threshold-th failure (just_locked, Retry-After lockout_seconds),
 * then even the right secret is refused. */
static void lockout_after_threshold(void **state)
{
	(void)state;
	char key[SVCA_KEY_LEN + 1], id[SVCA_KEYID_LEN + 1], bad[SVCA_KEY_LEN + 1];
	struct cred c;
	put_account("ci-deploy", 60001, 0);
	make_key(60001, KEY_ACTIVE, 0, key, id);
	wrong_secret(id, bad);
	assert_int_equal(check(bad, 1000, NULL, NULL, &c), CRED_BAD_SECRET);
	assert_int_equal(just_locked, 0);
	assert_int_equal(check(bad, 1000, NULL, NULL, &c), CRED_BAD_SECRET);
	assert_int_equal(just_locked, 0);
	assert_int_equal(check(bad, 1000, NULL, NULL, &c), CRED_LOCKED_OUT);
	assert_int_equal(just_locked, 1);
	assert_int_equal(c.retry_after, 300);
	assert_string_equal(c.key_id, id);
	assert_int_equal(check(key, 1000, NULL, NULL, &c), CRED_LOCKED_OUT);
	assert_int_equal(just_locked, 0);
	assert_true(c.retry_after >= 299 && c.retry_after <= 300);
	assert_int_equal(check(bad, 1000, NULL, NULL, &c), CRED_LOCKED_OUT);
	assert_int_equal(just_locked, 0);
}

/* The lock is per caller and key id: another uid, the same uid from
 * another rhost (PAM), and another key of the same account all pass. */
static void lockout_is_per_caller_and_key_id(void **state)
{
	(void)state;
	char k1[SVCA_KEY_LEN + 1], id1[SVCA_KEYID_LEN + 1];
	char k2[SVCA_KEY_LEN + 1], id2[SVCA_KEYID_LEN + 1], bad[SVCA_KEY_LEN + 1];
	struct cred c;
	put_account("ci-deploy", 60001, 0);
	make_key(60001, KEY_ACTIVE, 0, k1, id1);
	make_key(60001, KEY_ACTIVE, 0, k2, id2);
	wrong_secret(id1, bad);
	for (int i = 0; i < 3; i++)
		check(bad, 1000, NULL, NULL, &c);
	assert_int_equal(chk(k1, 1000), CRED_LOCKED_OUT);
	assert_int_equal(chk(k1, 1001), CRED_OK);
	assert_int_equal(chk(k2, 1000), CRED_OK);
	/* PAM: root from rhost A locked, root from rhost B not */
	for (int i = 0; i < 3; i++)
		check(bad, 0, "sshd", "198.51.100.7", &c);
	assert_int_equal(check(k1, 0, "sshd", "198.51.100.7", &c), CRED_LOCKED_OUT);
	assert_int_equal(check(k1, 0, "sshd", "198.51.100.8", &c), CRED_OK);
	assert_int_equal(check(k1, 0, "sshd", NULL, &c), CRED_OK);
}

/* An unknown key id locks out exactly like a known one: the same results
 * in the same order, but for the first refusals' reason (audited only). */
static void unknown_key_id_locks_like_a_known_one(void **state)
{
	(void)state;
	char key[SVCA_KEY_LEN + 1], id[SVCA_KEYID_LEN + 1], known[SVCA_KEY_LEN + 1];
	char unknown[SVCA_KEY_LEN + 1];
	struct cred c;
	put_account("ci-deploy", 60001, 0);
	make_key(60001, KEY_ACTIVE, 0, key, id);
	wrong_secret(id, known);
	wrong_secret("Unknown00Key", unknown);
	enum cred_result rk[5], ru[5];
	int lk[5], lu[5], tk[5], tu[5];
	for (int i = 0; i < 5; i++) {
		rk[i] = check(known, 1000, NULL, NULL, &c);
		lk[i] = just_locked;
		tk[i] = c.retry_after;
		ru[i] = check(unknown, 1000, NULL, NULL, &c);
		lu[i] = just_locked;
		tu[i] = c.retry_after;
	}
	assert_int_equal(rk[0], CRED_BAD_SECRET);
	assert_int_equal(ru[0], CRED_UNKNOWN_KEY);
	assert_int_equal(rk[1], CRED_BAD_SECRET);
	assert_int_equal(ru[1], CRED_UNKNOWN_KEY);
	for (int i = 2; i < 5; i++) {
		assert_int_equal(rk[i], CRED_LOCKED_OUT);
		assert_int_equal(ru[i], CRED_LOCKED_OUT);
	}
	for (int i = 0; i < 5; i++) {
		assert_int_equal(lk[i], lu[i]);
		assert_true(tk[i] - tu[i] <= 1 && tu[i] - tk[i] <= 1);
	}
	assert_int_equal(lk[2], 1);
}

/* A success forgets the bad secrets before it: threshold - 1 failures,
 * a success, threshold - 1 failures again do not lock. */
static void success_resets_the_failure_count(void **state)
{
	(void)state;
	char key[SVCA_KEY_LEN + 1], id[SVCA_KEYID_LEN + 1], bad[SVCA_KEY_LEN + 1];
	put_account("ci-deploy", 60001, 0);
	make_key(60001, KEY_ACTIVE, 0, key, id);
	wrong_secret(id, bad);
	for (int round = 0; round < 3; round++) {
		assert_int_equal(chk(bad, 1000), CRED_BAD_SECRET);
		assert_int_equal(chk(bad, 1000), CRED_BAD_SECRET);
		assert_int_equal(chk(key, 1000), CRED_OK);
	}
	/* a refusal for another reason (disabled account) is not a success */
	put_account("ci-deploy", 60001, 1);
	assert_int_equal(chk(bad, 1000), CRED_BAD_SECRET);
	assert_int_equal(chk(bad, 1000), CRED_BAD_SECRET);
	assert_int_equal(chk(key, 1000), CRED_ACCOUNT_DISABLED);
	assert_int_equal(chk(bad, 1000), CRED_LOCKED_OUT);
}

/* The lock ends after lockout_seconds; the right secret works again. */
static void lockout_expires(void **state)
{
	(void)state;
	char key[SVCA_KEY_LEN + 1], id[SVCA_KEYID_LEN + 1], bad[SVCA_KEY_LEN + 1];
	struct cred c;
	put_account("ci-deploy", 60001, 0);
	make_key(60001, KEY_ACTIVE, 0, key, id);
	D->cfg.lockout_seconds = 1;
	wrong_secret(id, bad);
	for (int i = 0; i < 3; i++)
		check(bad, 1000, NULL, NULL, &c);
	assert_int_equal(c.result, CRED_LOCKED_OUT);
	assert_int_equal(c.retry_after, 1);
	assert_int_equal(chk(key, 1000), CRED_LOCKED_OUT);
	struct timespec ts = { 1, 100 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	assert_int_equal(check(key, 1000, NULL, NULL, &c), CRED_OK);
	assert_int_equal(c.retry_after, 0);
}

/* Finding R2: the caller a lockout is about cannot lift it.  The table
 * once used an unkeyed FNV-1a and evicted the stalest of 8 probe slots,
 * and rl_locked did not refresh the lock's last_seen: key ids chosen
 * offline so that their lock entries probe the locked slot evicted the
 * lock after ~8 failures.  PAM over sshd, where no per-caller budget
 * stands in the way; the daemon's table size (65536). */
static uint32_t fnv(const char *s)
{
	uint32_t h = 2166136261u;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static void caller_of(const char *addr, unsigned uid, const char *rhost, char out[17])
{
	char who[400];
	uint8_t h[8];
	snprintf(who, sizeof(who), "%s|%u|%s", addr, uid, rhost);
	crypto_generichash(h, sizeof(h), (const uint8_t *)who, strlen(who), NULL, 0);
	sodium_bin2hex(out, 17, h, sizeof(h));
}

static void r2_lockout_survives_other_failures(void **state)
{
	(void)state;
	static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	char key[SVCA_KEY_LEN + 1], id[SVCA_KEYID_LEN + 1], bad[SVCA_KEY_LEN + 1];
	char caller[17], lk[80];
	struct cred c;
	const char *rhost = "203.0.113.5";
	rl_free(D->rl_lock);
	D->rl_lock = rl_new(65536); /* the size main.c uses */
	assert_non_null(D->rl_lock);
	put_account("ci-deploy", 60001, 0);
	make_key(60001, KEY_ACTIVE, 0, key, id);
	wrong_secret(id, bad);
	for (int i = 0; i < 5; i++)
		check(bad, 0, "sshd", rhost, &c);
	assert_int_equal(c.result, CRED_LOCKED_OUT);

	/* offline: key ids whose lock entries probe the locked slot */
	caller_of("", 0, rhost, caller);
	snprintf(lk, sizeof(lk), "l:%s:%s", caller, id);
	uint32_t slot = (fnv(lk) + 7) % 65536; /* empty table: the last probe */
	int sent = 0, lifted = 0;
	uint64_t n = 0;
	while (sent < 40 && !lifted) {
		char cand[SVCA_KEYID_LEN + 1];
		uint64_t x = n++;
		for (int i = 0; i < SVCA_KEYID_LEN; i++) {
			cand[i] = b62[x % 62];
			x /= 62;
		}
		cand[SVCA_KEYID_LEN] = '\0';
		snprintf(lk, sizeof(lk), "l:%s:%s", caller, cand);
		uint32_t h = fnv(lk) % 65536;
		if ((slot - h) % 65536 > 7)
			continue;
		wrong_secret(cand, bad);
		check(bad, 0, "sshd", rhost, &c);
		sent++;
		lifted = check(key, 0, "sshd", rhost, &c) == CRED_OK;
	}
	print_message("lockout lifted: %s after %d failures with crafted key ids\n",
		      lifted ? "yes" : "no", sent);
	assert_false(lifted);

	/* nor does a flood of failures with distinct key ids */
	for (int i = 0; i < 2000; i++) {
		char cand[24]; /* 12 characters: i < 10^7 */
		snprintf(cand, sizeof(cand), "Flood%07d", i);
		wrong_secret(cand, bad);
		check(bad, 0, "sshd", rhost, &c);
	}
	assert_int_equal(check(key, 0, "sshd", rhost, &c), CRED_LOCKED_OUT);
}

/* Finding R3: the rate-limit and lockout tables run on the monotonic
 * clock (svca_now_ms), so a step of the wall clock neither lengthens nor
 * ends a lockout or a window.  Read back on that clock, the lock has at
 * most lockout_seconds left and the per-caller and per-key windows at
 * most rate_limit_window (wall-clock deadlines read as decades here). */
static void r3_tables_use_the_monotonic_clock(void **state)
{
	(void)state;
	char key[SVCA_KEY_LEN + 1], id[SVCA_KEYID_LEN + 1], bad[SVCA_KEY_LEN + 1];
	char caller[17], k[80];
	struct cred c;
	put_account("ci-deploy", 60001, 0);
	make_key(60001, KEY_ACTIVE, 0, key, id);
	D->cfg.rate_limit_count = 4;
	D->cfg.rate_limit_window = 60;
	wrong_secret(id, bad);
	for (int i = 0; i < 3; i++)
		check(bad, 1000, NULL, NULL, &c);
	assert_int_equal(c.result, CRED_LOCKED_OUT);
	assert_int_equal(chk(key, 1001), CRED_OK); /* spends the key's budget */
	caller_of("", 1000, "", caller);
	snprintf(k, sizeof(k), "l:%s:%s", caller, id);
	int left = rl_locked(D->rl_lock, k, svca_now_ms());
	print_message("lock: %d s left on the monotonic clock\n", left);
	assert_true(left >= 1 && left <= D->cfg.lockout_seconds);
	snprintf(k, sizeof(k), "c:%s", caller);
	int wait = rl_hit(D->rl_uid, k, svca_now_ms(), 4, 60000); /* the 4th: allowed */
	assert_int_equal(wait, 0);
	wait = rl_hit(D->rl_uid, k, svca_now_ms(), 4, 60000);
	assert_true(wait >= 1 && wait <= 60);
	snprintf(k, sizeof(k), "k:%s", id);
	for (int i = 0; i < 3; i++)
		assert_int_equal(rl_hit(D->rl_key, k, svca_now_ms(), 4, 60000), 0);
	wait = rl_hit(D->rl_key, k, svca_now_ms(), 4, 60000);
	assert_true(wait >= 1 && wait <= 60);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(right_key_is_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(refusals_by_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(key_status_and_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(account_status, setup, teardown),
		cmocka_unit_test_setup_teardown(per_caller_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(pam_requests_skip_the_per_caller_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(per_key_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(logins_have_their_own_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(lockout_after_threshold, setup, teardown),
		cmocka_unit_test_setup_teardown(lockout_is_per_caller_and_key_id, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_key_id_locks_like_a_known_one, setup,
						teardown),
		cmocka_unit_test_setup_teardown(success_resets_the_failure_count, setup, teardown),
		cmocka_unit_test_setup_teardown(lockout_expires, setup, teardown),
		cmocka_unit_test_setup_teardown(r2_lockout_survives_other_failures, setup,
						teardown),
		cmocka_unit_test_setup_teardown(r3_tables_use_the_monotonic_clock, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
