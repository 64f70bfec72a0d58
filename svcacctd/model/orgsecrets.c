/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Hub mode: one organization's secrets, shared by all hubs of a database.
 *
 * The pepper never enters the database: every hub has a copy of the first
 * hub's pepper file (and audit key file).  The database holds
 *
 *   secret/pepper_check   BLAKE2b(key = pepper, "svcacct pepper check"): a
 *                         hub with another pepper refuses to start (its key
 *                         hashes would not match anyone's keys)
 *   secret/signing        the token-signing keys, sealed with a key derived
 *                         from the pepper (XSalsa20-Poly1305): a rotation on
 *                         one hub reaches the others through the change log
 *   secret/snapshot_key   the Ed25519 key that signs agents' snapshots
 *                         (crypto_sign secret key, 64 bytes), sealed the
 *                         same way with another derived key; made by the
 *                         first hub that finds none, never rotated (agents
 *                         pin its public half at enrollment)
 */
#include "orgsecrets.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"
#include "log.h"
#include "secrets.h"
#include "store.h"

#define CHECK_KEY "secret/pepper_check"
#define SIGNING_KEY "secret/signing"
#define SNAPSHOT_KEY "secret/snapshot_key"
#define MAX_SEALED (64 * 1024)
#define SNAP_LABEL "svcacct snapshot key v1"

static void derive(const struct secrets *s, const char *label, uint8_t *out, size_t outlen)
{
	crypto_generichash(out, outlen, (const uint8_t *)label, strlen(label), s->pepper,
			   PEPPER_LEN);
}

/* Puts the sealed signing keys in the open transaction. */
int org_secrets_put(struct daemon *d)
{
	size_t len;
	char *text = secrets_export(d->secrets, &len);
	if (!text)
		return -1;
	size_t sealed_len = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
	uint8_t *sealed = malloc(sealed_len);
	uint8_t *key = sodium_malloc(crypto_secretbox_KEYBYTES);
	int r = -1;
	if (sealed && key) {
		derive(d->secrets, "svcacct signing keys v1", key, crypto_secretbox_KEYBYTES);
		randombytes_buf(sealed, crypto_secretbox_NONCEBYTES);
		crypto_secretbox_easy(sealed + crypto_secretbox_NONCEBYTES, (const uint8_t *)text,
				      len, sealed, key);
		r = store_put(d->store, DB_STATE, SIGNING_KEY, sealed, sealed_len);
	}
	sodium_free(text);
	if (key)
		sodium_free(key);
	free(sealed);
	return r;
}

/* Replaces this hub's signing keys with the organization's.  0 done,
 * 1 the database has none yet, -1 error (err says why). */
int org_secrets_reload(struct daemon *d, char *err, size_t errlen)
{
	uint8_t *sealed = NULL;
	size_t n = 0;
	int g = store_get(d->store, DB_STATE, SIGNING_KEY, &sealed, &n);
	if (g <= 0) {
		snprintf(err, errlen, "cannot read the organization's signing keys: %s",
			 store_error(d->store));
		return g == 0 ? 1 : -1;
	}
	int r = -1;
	uint8_t *key = sodium_malloc(crypto_secretbox_KEYBYTES);
	size_t tl = n > crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES
			    ? n - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES
			    : 0;
	char *text = tl && n <= MAX_SEALED ? sodium_malloc(tl) : NULL;
	if (key && text) {
		derive(d->secrets, "svcacct signing keys v1", key, crypto_secretbox_KEYBYTES);
		if (crypto_secretbox_open_easy((uint8_t *)text,
					       sealed + crypto_secretbox_NONCEBYTES,
					       n - crypto_secretbox_NONCEBYTES, sealed, key) == 0)
			r = secrets_import(d->secrets, text, tl, err, errlen);
		else
			snprintf(err, errlen,
				 "the organization's signing keys do not open with this hub's "
				 "pepper");
	} else {
		snprintf(err, errlen, "the organization's signing keys are damaged");
	}
	if (text)
		sodium_free(text);
	if (key)
		sodium_free(key);
	free(sealed);
	return r;
}

/* ---- the snapshot-signing key ------------------------------------------------- */

/* Installs sk (crypto_sign_SECRETKEYBYTES) as the hub's snapshot key. */
static int snap_install(struct secrets *s, const uint8_t *sk)
{
	if (!s->snap_sk)
		s->snap_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (!s->snap_sk)
		return -1;
	memcpy(s->snap_sk, sk, crypto_sign_SECRETKEYBYTES);
	crypto_sign_ed25519_sk_to_pk(s->snap_pk, s->snap_sk);
	return jwt_kid_of(s->snap_pk, s->snap_kid);
}

/* A new key, sealed into the open transaction. */
static int snap_create(struct daemon *d)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t *sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	uint8_t *key = sodium_malloc(crypto_secretbox_KEYBYTES);
	uint8_t sealed[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
		       crypto_sign_SECRETKEYBYTES];
	int r = -1;
	if (sk && key && crypto_sign_keypair(pk, sk) == 0) {
		derive(d->secrets, SNAP_LABEL, key, crypto_secretbox_KEYBYTES);
		randombytes_buf(sealed, crypto_secretbox_NONCEBYTES);
		crypto_secretbox_easy(sealed + crypto_secretbox_NONCEBYTES, sk,
				      crypto_sign_SECRETKEYBYTES, sealed, key);
		if (store_put(d->store, DB_STATE, SNAPSHOT_KEY, sealed, sizeof(sealed)) == 0 &&
		    snap_install(d->secrets, sk) == 0)
			r = 0;
	}
	if (sk)
		sodium_free(sk);
	if (key)
		sodium_free(key);
	return r;
}

/* Takes the organization's snapshot key, or makes it (in the open
 * transaction, under the write lock: one hub makes it).  0, -1 err. */
static int snap_open(struct daemon *d, char *err, size_t errlen)
{
	uint8_t *sealed = NULL;
	size_t n = 0;
	int g = store_get(d->store, DB_STATE, SNAPSHOT_KEY, &sealed, &n);
	if (g < 0) {
		snprintf(err, errlen, "cannot read the organization's snapshot key: %s",
			 store_error(d->store));
		return -1;
	}
	if (g == 0)
		return snap_create(d) == 0 ? 0
					   : (snprintf(err, errlen,
						       "cannot make the "
						       "organization's snapshot key"),
					      -1);
	int r = -1;
	uint8_t *key = sodium_malloc(crypto_secretbox_KEYBYTES);
	uint8_t *sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (key && sk &&
	    n == crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
			    crypto_sign_SECRETKEYBYTES) {
		derive(d->secrets, SNAP_LABEL, key, crypto_secretbox_KEYBYTES);
		if (crypto_secretbox_open_easy(sk, sealed + crypto_secretbox_NONCEBYTES,
					       n - crypto_secretbox_NONCEBYTES, sealed, key) == 0)
			r = snap_install(d->secrets, sk);
	}
	if (r < 0)
		snprintf(err, errlen,
			 "the organization's snapshot key is damaged or does not open with this "
			 "hub's pepper");
	if (sk)
		sodium_free(sk);
	if (key)
		sodium_free(key);
	free(sealed);
	return r;
}

/* At start: the pepper must be the organization's; the first hub puts its
 * check value and signing keys, every later one takes the keys. */
int org_secrets_open(struct daemon *d, char *err, size_t errlen)
{
	uint8_t check[32], *have = NULL;
	size_t n = 0;
	derive(d->secrets, "svcacct pepper check", check, sizeof(check));
	store_begin(d->store);
	int g = store_get(d->store, DB_STATE, CHECK_KEY, &have, &n);
	if (g < 0) {
		store_abort(d->store);
		snprintf(err, errlen, "cannot read the organization's secrets: %s",
			 store_error(d->store));
		return -1;
	}
	if (g == 1 && (n != sizeof(check) || sodium_memcmp(have, check, sizeof(check)) != 0)) {
		free(have);
		store_abort(d->store);
		store_flush(d->store);
		snprintf(err, errlen,
			 "this hub's pepper (pepper_file) differs from the organization's: copy "
			 "the pepper and audit key files of the first hub");
		return -1;
	}
	free(have);
	int r = g == 1 ? org_secrets_reload(d, err, errlen) : 1;
	if (r == 1) /* the first hub: its keys become the organization's */
		r = store_put(d->store, DB_STATE, CHECK_KEY, check, sizeof(check)) < 0 ||
				    org_secrets_put(d) < 0
			    ? -1
			    : 0;
	if (r >= 0 && snap_open(d, err, errlen) < 0)
		r = -2;
	if (r < 0 || store_commit(d->store) < 0) {
		store_abort(d->store);
		store_flush(d->store);
		if (r >= 0)
			snprintf(err, errlen, "cannot store the organization's secrets: %s",
				 store_error(d->store));
		return -1;
	}
	if (store_flush(d->store) < 0) {
		snprintf(err, errlen, "cannot store the organization's secrets: %s",
			 store_error(d->store));
		return -1;
	}
	return 0;
}
