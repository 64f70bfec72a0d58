/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon's own secrets, each in a root-only file beside (not inside)
 * the database, generated on first start:
 *
 *   pepper_file        32 random bytes: the key of BLAKE2b(pepper, secret),
 *                      so a stolen database cannot test key guesses
 *   audit_key_file     32 random bytes: the key of the MAC over the audit
 *                      chain's head (audit.c), so that the head cannot be
 *                      rewritten (records cut off) without the daemon
 *   signing_key_file   Ed25519 token-signing keys, one per line:
 *                      "kid created_ms retired_ms base64url(secret key)";
 *                      retired keys still verify until their tokens expire
 *
 * In memory both live in sodium_malloc'ed (guarded, mlocked) buffers.
 */
#ifndef SVCACCTD_SECRETS_H
#define SVCACCTD_SECRETS_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#define PEPPER_LEN 32
#define AUDIT_KEY_LEN 32
#define MAX_SIGNING_KEYS 8
/* A retired key verifies for this long (longer than any token TTL). */
#define SIGNING_KEY_GRACE_MS (2LL * 3600 * 1000)

struct signing_key {
	char kid[16];
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t *sk; /* sodium_malloc'ed */
	int64_t created_ms;
	int64_t retired_ms; /* 0 = the current key */
};

struct secrets {
	uint8_t *pepper; /* sodium_malloc'ed, PEPPER_LEN */
	struct signing_key keys[MAX_SIGNING_KEYS];
	size_t nkeys;
	char *signing_path;
	/* Hub mode: the organization's snapshot-signing key (orgsecrets.c),
	 * sodium_malloc'ed crypto_sign_SECRETKEYBYTES; NULL elsewhere. */
	uint8_t *snap_sk;
	uint8_t snap_pk[crypto_sign_PUBLICKEYBYTES];
	char snap_kid[16];
};

/* Loads or creates both files.  Refuses files that others can read or
 * write, or that another user owns. */
int secrets_load(struct secrets *s, const char *pepper_path, const char *signing_path, char *err,
		 size_t errlen);
void secrets_free(struct secrets *s);

/* The key new tokens are signed with. */
const struct signing_key *secrets_current(const struct secrets *s);
/* A key that may verify tokens (current or retired within grace). */
const struct signing_key *secrets_find(const struct secrets *s, const char *kid, int64_t now_ms);
/* Generates a new current key, retires the old one, rewrites the file. */
int secrets_rotate(struct secrets *s, char *err, size_t errlen);
/* The same in two steps, so the new kid can be audited before the key is
 * installed: secrets_generate makes a key in memory; secrets_install makes
 * it current (taking it over, also on failure); secrets_discard drops it. */
int secrets_generate(struct signing_key *k);
int secrets_install(struct secrets *s, struct signing_key *k, char *err, size_t errlen);
void secrets_discard(struct signing_key *k);
/* Undoes the last install (its audit record could not be written): drops
 * the current key and makes the most recently retired one current. */
int secrets_uninstall(struct secrets *s);

/* Hub mode: the signing keys travel between hubs as the signing key
 * file's text (encrypted by the model: orgsecrets.c).  secrets_export
 * returns it sodium_malloc'ed (sodium_free it); secrets_import replaces the
 * keys with the text's (and rewrites the local file), or changes nothing
 * and returns -1. */
char *secrets_export(const struct secrets *s, size_t *len);
int secrets_import(struct secrets *s, const char *text, size_t len, char *err, size_t errlen);

/* Loads or creates the audit key file (AUDIT_KEY_LEN bytes, 0600, checked
 * like the pepper).  Returns a sodium_malloc'ed key (sodium_free it), or
 * NULL with err set.  *created: 1 when the file was generated now. */
uint8_t *secrets_load_audit_key(const char *path, int *created, char *err, size_t errlen);

/* Checks a secret file: regular, owned by us, mode without group/other
 * bits.  Used for the config file's siblings too. */
int secret_file_ok(const char *path, char *err, size_t errlen);

#endif
