/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The SSH user CA's keys (sshca.h): the record of its public keys
 * (org/ssh_ca, see sshca_int.h), the secret keys, making them at start,
 * rotation.
 *
 * The CA secrets are a set of Ed25519 secret keys (64 bytes each; at most
 * SEC_MAX); the record says which public key is current (signs) and next
 * (published, signs after the next rotation).  Standalone: the set is the
 * root-only file <state_dir>/ssh_ca.key (n * 64 raw bytes).  Hub: it is
 * sealed in the shared store and read at every signature, so a rotation on
 * one hub is the others' at once.  An agent has none.  Start reconciles
 * the set with the record: a published key whose secret is gone is
 * retired (current) or replaced (next).
 */
#include "sshca.h"
#include "sshca_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "record.h"
#include "secrets.h"
#include "sockio.h"
#include "store.h"

#define SEALED_KEY "secret/ssh_ca"
#define SEAL_LABEL "svcacct ssh ca v1"
#define SK_LEN crypto_sign_SECRETKEYBYTES
#define PK_LEN crypto_sign_PUBLICKEYBYTES
#define SEC_MAX 4

struct sshca_sec {
	uint8_t sk[SEC_MAX][SK_LEN];
	size_t n;
};

/* Standalone: the CA secrets loaded at start (sodium_malloc'ed). */
static struct sshca_sec *g_sec;

/* ---- the CA key record ------------------------------------------------------ */

static const char *const state_names[] = { "current", "next", "retired" };

int sshca_ca_get(struct store *st, struct sshca_keys *k)
{
	uint8_t *v;
	struct svca_iter it;
	memset(k, 0, sizeof(*k));
	int g = sshca_rec_iter(st, CA_KEY, REC_SSH_CA, &v, &it);
	if (g <= 0)
		return g;
	int r = 1;
	struct svca_field f;
	struct sshca_key *cur = NULL;
	int got;
	while ((got = svca_iter_next(&it, &f)) == 1) {
		if (f.tag == F_ITEM) {
			if (k->n == SSHCA_MAX_KEYS) {
				r = -1;
				break;
			}
			cur = &k->k[k->n++];
			continue;
		}
		if (!cur)
			continue;
		char s[16];
		if (f.tag == F_PUBLIC_KEY && f.len == PK_LEN)
			memcpy(cur->pk, f.val, PK_LEN);
		else if (f.tag == F_STATUS && svca_field_str(&f, s, sizeof(s)) == 0)
			cur->state = !strcmp(s, "current") ? SSHCA_CURRENT
				     : !strcmp(s, "next")  ? SSHCA_NEXT
							   : SSHCA_RETIRED;
		else if (f.tag == F_CREATED_AT)
			(void)svca_field_u64(&f, &cur->created_at);
		else if (f.tag == F_EXPIRES_AT)
			(void)svca_field_u64(&f, &cur->retired_at);
	}
	if (got < 0)
		r = -1;
	free(v);
	return r;
}

int sshca_ca_put(struct store *st, const struct sshca_keys *k)
{
	struct svca_buf b;
	svca_buf_init(&b, 64 * 1024);
	rec_begin(&b, REC_SSH_CA, 1);
	for (size_t i = 0; i < k->n; i++) {
		svca_put_mark(&b, F_ITEM);
		svca_put_bytes(&b, F_PUBLIC_KEY, k->k[i].pk, PK_LEN);
		svca_put_str(&b, F_STATUS, state_names[k->k[i].state]);
		svca_put_u64(&b, F_CREATED_AT, k->k[i].created_at);
		svca_put_u64(&b, F_EXPIRES_AT, k->k[i].retired_at);
	}
	int r = b.failed ? -1 : store_put(st, DB_STATE, CA_KEY, b.data, b.len);
	svca_buf_free(&b);
	return r;
}

const char *sshca_state_name(enum sshca_key_state s)
{
	return state_names[s];
}

int sshca_keys(struct daemon *d, struct sshca_keys *k)
{
	return sshca_ca_get(d->store, k) < 0 ? -1 : 0;
}

void sshca_key_fp(const uint8_t pk[32], char fp[SSH_FP_LEN])
{
	uint8_t blob[64];
	size_t n = ssh_ed25519_blob(pk, blob);
	ssh_fingerprint(blob, n, fp);
}

/* ---- the CA secrets ----------------------------------------------------------- */

struct sshca_sec *sshca_sec_new(void)
{
	struct sshca_sec *s = sodium_malloc(sizeof(*s));
	if (s)
		memset(s, 0, sizeof(*s));
	return s;
}

void sshca_sec_free(struct sshca_sec *s)
{
	if (s)
		sodium_free(s);
}

/* The secret key of pk in s, or NULL. */
const uint8_t *sshca_sec_find(const struct sshca_sec *s, const uint8_t pk[PK_LEN])
{
	uint8_t have[PK_LEN];
	for (size_t i = 0; i < s->n; i++) {
		crypto_sign_ed25519_sk_to_pk(have, s->sk[i]);
		if (!sodium_memcmp(have, pk, PK_LEN))
			return s->sk[i];
	}
	return NULL;
}

/* A new key in s (its public half in pk).  -1 when s is full. */
static int sec_make(struct sshca_sec *s, uint8_t pk[PK_LEN])
{
	if (s->n == SEC_MAX || crypto_sign_keypair(pk, s->sk[s->n]) != 0)
		return -1;
	s->n++;
	return 0;
}

/* Keeps only the secrets of the record's current and next keys. */
static void sec_prune(struct sshca_sec *s, const struct sshca_keys *k)
{
	struct sshca_sec *keep = sshca_sec_new();
	if (!keep)
		return;
	for (size_t i = 0; i < k->n; i++) {
		const uint8_t *sk =
			k->k[i].state != SSHCA_RETIRED ? sshca_sec_find(s, k->k[i].pk) : NULL;
		if (sk && keep->n < SEC_MAX)
			memcpy(keep->sk[keep->n++], sk, SK_LEN);
	}
	memcpy(s, keep, sizeof(*s));
	sshca_sec_free(keep);
}

static void derive(struct daemon *d, uint8_t *key)
{
	crypto_generichash(key, crypto_secretbox_KEYBYTES, (const uint8_t *)SEAL_LABEL,
			   strlen(SEAL_LABEL), d->secrets->pepper, PEPPER_LEN);
}

/* Hub: the sealed set from the store.  1 read, 0 none, -1 error. */
static int sealed_get(struct daemon *d, struct sshca_sec *s)
{
	uint8_t *v = NULL;
	size_t n = 0;
	int g = store_get(d->store, DB_STATE, SEALED_KEY, &v, &n);
	if (g <= 0)
		return g;
	size_t hdr = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
	int r = -1;
	uint8_t *key = sodium_malloc(crypto_secretbox_KEYBYTES);
	if (key && n > hdr && (n - hdr) % SK_LEN == 0 && (n - hdr) / SK_LEN <= SEC_MAX) {
		derive(d, key);
		if (crypto_secretbox_open_easy(s->sk[0], v + crypto_secretbox_NONCEBYTES,
					       n - crypto_secretbox_NONCEBYTES, v, key) == 0) {
			s->n = (n - hdr) / SK_LEN;
			r = 1;
		}
	}
	if (key)
		sodium_free(key);
	free(v);
	return r;
}

static int sealed_put(struct daemon *d, const struct sshca_sec *s)
{
	size_t len = s->n * SK_LEN;
	size_t n = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
	uint8_t *v = malloc(n);
	uint8_t *key = sodium_malloc(crypto_secretbox_KEYBYTES);
	int r = -1;
	if (v && key) {
		derive(d, key);
		randombytes_buf(v, crypto_secretbox_NONCEBYTES);
		crypto_secretbox_easy(v + crypto_secretbox_NONCEBYTES, s->sk[0], len, v, key);
		r = store_put(d->store, DB_STATE, SEALED_KEY, v, n);
	}
	if (key)
		sodium_free(key);
	free(v);
	return r;
}

static int key_file_path(struct daemon *d, char *out, size_t len)
{
	return (size_t)snprintf(out, len, "%s/ssh_ca.key", d->cfg.state_dir) < len ? 0 : -1;
}
/* Standalone: the key file.  1 read, 0 absent, -1 refused (err). */
static int file_get(struct daemon *d, struct sshca_sec *s, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct stat st;
	if (key_file_path(d, path, sizeof(path)) < 0) {
		snprintf(err, errlen, "the state directory's path is too long");
		return -1;
	}
	if (lstat(path, &st) < 0 && errno == ENOENT)
		return 0;
	if (secret_file_ok(path, err, errlen) < 0)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n = fd >= 0 ? read(fd, s->sk, sizeof(s->sk)) : -1;
	uint8_t extra;
	ssize_t more = fd >= 0 ? read(fd, &extra, 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0 || n % (ssize_t)SK_LEN || more != 0) {
		sodium_memzero(s, sizeof(*s));
		snprintf(err, errlen,
			 "the SSH CA key file %s is damaged (it must hold 1 to %d Ed25519 secret "
			 "keys of %d bytes)",
			 path, SEC_MAX, (int)SK_LEN);
		return -1;
	}
	s->n = (size_t)n / SK_LEN;
	return 1;
}

static int file_put(struct daemon *d, const struct sshca_sec *s)
{
	char path[PATH_MAX];
	if (key_file_path(d, path, sizeof(path)) < 0 ||
	    sshca_write_atomic(path, s->sk, s->n * SK_LEN, 0600) < 0) {
		log_err("cannot write the SSH CA key file %s/ssh_ca.key: %s", d->cfg.state_dir,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* The CA secrets as they are now: hub from the store, standalone from
 * memory.  0, -1 (none: an agent, or a storage error). */
int sshca_sec_load(struct daemon *d, struct sshca_sec *s)
{
	if (store_shared(d->store))
		return sealed_get(d, s) == 1 ? 0 : -1;
	if (!g_sec)
		return -1;
	memcpy(s, g_sec, sizeof(*s));
	return 0;
}

/* Saves the set: hub in the open transaction; standalone in the file
 * (before the commit: the file may hold a key more than the record names,
 * never less) and in memory. */
static int sec_save(struct daemon *d, const struct sshca_sec *s)
{
	if (store_shared(d->store))
		return sealed_put(d, s);
	if (file_put(d, s) < 0)
		return -1;
	if (!g_sec && !(g_sec = sshca_sec_new()))
		return -1;
	memcpy(g_sec, s, sizeof(*s));
	return 0;
}

/* Makes the record and the set agree (see the top of the file).  *changed
 * 1 when either must be written.  0, -1 (set full: cannot happen). */
static int reconcile(struct sshca_keys *k, struct sshca_sec *s, uint64_t now, int *changed)
{
	int cur = -1, next = -1;
	*changed = 0;
	for (size_t i = 0; i < k->n; i++) {
		if (k->k[i].state == SSHCA_CURRENT && cur < 0 && sshca_sec_find(s, k->k[i].pk))
			cur = (int)i;
		else if (k->k[i].state == SSHCA_NEXT && next < 0 && sshca_sec_find(s, k->k[i].pk))
			next = (int)i;
		else if (k->k[i].state == SSHCA_CURRENT) { /* its secret is gone */
			k->k[i].state = SSHCA_RETIRED;
			k->k[i].retired_at = now;
			*changed = 1;
		} else if (k->k[i].state == SSHCA_NEXT) { /* never signed: drop it */
			memmove(&k->k[i], &k->k[i + 1], (k->n - i - 1) * sizeof(k->k[0]));
			k->n--;
			i--;
			*changed = 1;
		}
	}
	sec_prune(s, k);
	if (cur < 0 && next >= 0) { /* the next key signs from now */
		k->k[next].state = SSHCA_CURRENT;
		cur = next;
		next = -1;
		*changed = 1;
	}
	for (int want = 0; want < 2; want++) {
		if ((want == 0 && cur >= 0) || (want == 1 && next >= 0))
			continue;
		if (k->n == SSHCA_MAX_KEYS) { /* drop the oldest retired key */
			size_t old = SSHCA_MAX_KEYS;
			for (size_t i = 0; i < k->n; i++)
				if (k->k[i].state == SSHCA_RETIRED &&
				    (old == SSHCA_MAX_KEYS ||
				     k->k[i].retired_at < k->k[old].retired_at))
					old = i;
			if (old == SSHCA_MAX_KEYS)
				return -1;
			memmove(&k->k[old], &k->k[old + 1], (k->n - old - 1) * sizeof(k->k[0]));
			k->n--;
		}
		struct sshca_key *nk = &k->k[k->n];
		memset(nk, 0, sizeof(*nk));
		if (sec_make(s, nk->pk) < 0)
			return -1;
		nk->state = want == 0 ? SSHCA_CURRENT : SSHCA_NEXT;
		nk->created_at = now;
		k->n++;
		if (want == 0)
			cur = 0; /* any value >= 0: made */
		*changed = 1;
	}
	return 0;
}
/* ---- start ------------------------------------------------------------------ */

int sshca_keys_open(struct daemon *d, char *err, size_t errlen)
{
	int shared = store_shared(d->store);
	struct sshca_sec *s = sshca_sec_new();
	struct sshca_keys k;
	uint64_t now = (uint64_t)svca_wall_ms();
	int changed = 0, r = -1;
	if (!s) {
		snprintf(err, errlen, "cannot allocate protected memory");
		return -1;
	}
	if (shared)
		store_write_intent(d->store);
	store_begin(d->store);
	int g = shared ? sealed_get(d, s) : file_get(d, s, err, errlen);
	if (g < 0 && shared)
		snprintf(
			err, errlen,
			"the organization's SSH CA key (secret/ssh_ca) is damaged or does not open "
			"with this hub's pepper");
	if (g >= 0 && sshca_ca_get(d->store, &k) < 0) {
		snprintf(err, errlen, "the SSH CA record %s is unreadable", CA_KEY);
		g = -1;
	}
	if (g >= 0 && reconcile(&k, s, now, &changed) < 0) {
		snprintf(err, errlen, "cannot make the SSH CA keys");
		g = -1;
	}
	if (g == 0) /* no secret yet: write the new set and record */
		changed = 1;
	if (g >= 0 && changed && (sec_save(d, s) < 0 || sshca_ca_put(d->store, &k) < 0)) {
		snprintf(err, errlen, "cannot store the SSH CA keys: %s", store_error(d->store));
		g = -1;
	}
	if (g >= 0 && !shared && !changed) {
		if (!g_sec && !(g_sec = sshca_sec_new()))
			g = -1;
		else
			memcpy(g_sec, s, sizeof(*s));
	}
	if (g >= 0 && store_commit(d->store) == 0 && store_flush(d->store) == 0)
		r = 0;
	else {
		store_abort(d->store);
		store_flush(d->store);
		if (g >= 0)
			snprintf(err, errlen, "cannot store the SSH CA keys: %s",
				 store_error(d->store));
	}
	sshca_sec_free(s);
	if (r == 0 && changed)
		log_info("SSH CA: made %s keys", g == 0 ? "its first" : "new");
	return r;
}

void sshca_keys_close(void)
{
	sshca_sec_free(g_sec);
	g_sec = NULL;
}

int sshca_trusts(struct daemon *d, const char *ca_fp)
{
	struct sshca_keys k;
	if (sshca_ca_get(d->store, &k) < 0)
		return -1;
	for (size_t i = 0; i < k.n; i++) {
		char fp[SSH_FP_LEN];
		sshca_key_fp(k.k[i].pk, fp);
		if (ca_fp && !strcmp(fp, ca_fp))
			return 1;
	}
	return 0;
}
/* ---- rotation ------------------------------------------------------------------ */

int sshca_rotate(struct daemon *d, char fp[SSH_FP_LEN], char *err, size_t errlen)
{
	struct sshca_keys k;
	uint64_t now = (uint64_t)svca_wall_ms();
	if (sshca_ca_get(d->store, &k) < 0) {
		snprintf(err, errlen, "internal storage error");
		return -1;
	}
	struct sshca_sec *s = sshca_sec_new();
	if (!s || sshca_sec_load(d, s) < 0) {
		sshca_sec_free(s);
		snprintf(err, errlen, "this daemon holds no SSH CA key");
		return -1;
	}
	int have_next = 0;
	for (size_t i = 0; i < k.n; i++)
		have_next |= k.k[i].state == SSHCA_NEXT;
	for (size_t i = 0; i < k.n && have_next; i++) {
		if (k.k[i].state == SSHCA_CURRENT) {
			k.k[i].state = SSHCA_RETIRED;
			k.k[i].retired_at = now;
		} else if (k.k[i].state == SSHCA_NEXT) {
			k.k[i].state = SSHCA_CURRENT;
		}
	}
	/* the old current's secret stays in the set until the next start:
	 * the file never holds less than the record names */
	if (s->n == SEC_MAX)
		sec_prune(s, &k);
	int changed, r = reconcile(&k, s, now, &changed);
	if (r == 0)
		r = sec_save(d, s) < 0 || sshca_ca_put(d->store, &k) < 0 ? -1 : 0;
	sshca_sec_free(s);
	if (r < 0) {
		snprintf(err, errlen, "cannot store the new SSH CA key");
		return -1;
	}
	for (size_t i = 0; i < k.n; i++)
		if (k.k[i].state == SSHCA_NEXT)
			sshca_key_fp(k.k[i].pk, fp);
	return 0;
}
