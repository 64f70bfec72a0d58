/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The organization's SSH user CA (sshca.h; DESIGN.md section 10).
 *
 * Records (DB_STATE):
 *   org/ssh_ca        kind 'Q' v1: per key F_ITEM F_PUBLIC_KEY (32 raw bytes)
 *                     F_STATUS (current | next | retired) F_CREATED_AT
 *                     F_EXPIRES_AT (retired at, ms; 0 otherwise).  An org/
 *                     record: agents get it in their snapshot.
 *   org/ssh_revoked   kind 'X' v1: F_TOTAL (krl_version), then per revoked,
 *                     unexpired certificate F_SERIAL F_KEY_ID (its key id)
 *                     F_VALID_BEFORE (ms)
 *   sshs/next         kind 'Z' v1: F_SERIAL, the next serial (from 1)
 *   sshs/low          kind 'Z' v1: F_SERIAL, the lowest serial not purged
 *   sshc/<016x>       kind 'Y' v1: one issued certificate
 *   secret/ssh_ca     hub: the CA secret keys, sealed like secret/signing
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

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "rbac.h"
#include "record.h"
#include "secrets.h"
#include "sockio.h"
#include "sshkrl.h"
#include "store.h"

enum { REC_SSH_CA = 'Q', REC_SSH_REVOKED = 'X', REC_SSH_CERT = 'Y', REC_SSH_SERIAL = 'Z' };

#define CA_KEY "org/ssh_ca"
#define REVOKED_KEY "org/ssh_revoked"
#define NEXT_KEY "sshs/next"
#define LOW_KEY "sshs/low"
#define SEALED_KEY "secret/ssh_ca"
#define SEAL_LABEL "svcacct ssh ca v1"
#define SK_LEN crypto_sign_SECRETKEYBYTES
#define PK_LEN crypto_sign_PUBLICKEYBYTES
#define SEC_MAX 4
#define PURGE_AFTER_MS (30LL * 24 * 3600 * 1000)
#define PURGE_PER_TICK 256
/* A certificate's validity ends at most this long after it was made. */
#define CERT_LIFE_MS ((int64_t)(SSHCA_TTL_MAX + 60) * 1000)
/* Serials are made in commit order on one clock or several hubs' clocks:
 * the walk back over recent certificates looks this much further. */
#define WALK_MARGIN_MS (600LL * 1000)

/* Record tags of a certificate that the protocol has no name for. */
#define T_JTI F_LABEL
#define T_CERT_ID F_CERTIFICATE

struct sec {
	uint8_t sk[SEC_MAX][SK_LEN];
	size_t n;
};

/* Standalone: the CA secrets loaded at start (sodium_malloc'ed). */
static struct sec *g_sec;
/* sshca_files_sync: what the files were last written from. */
static uint8_t g_files_hash[32];
static int g_files_ok;

/* ---- the CA key record ------------------------------------------------------ */

static const char *const state_names[] = { "current", "next", "retired" };

static int ca_get(struct store *st, struct sshca_keys *k)
{
	uint8_t *v = NULL;
	size_t n = 0;
	memset(k, 0, sizeof(*k));
	int g = store_get(st, DB_STATE, CA_KEY, &v, &n);
	if (g <= 0)
		return g;
	int r = 1;
	if (n < 2 || v[0] != REC_SSH_CA || v[1] == 0) {
		free(v);
		return -1;
	}
	struct svca_iter it;
	struct svca_field f;
	struct sshca_key *cur = NULL;
	svca_iter_init(&it, v + 2, n - 2);
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

static int ca_put(struct store *st, const struct sshca_keys *k)
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
	return ca_get(d->store, k) < 0 ? -1 : 0;
}

void sshca_key_fp(const uint8_t pk[32], char fp[SSH_FP_LEN])
{
	uint8_t blob[64];
	size_t n = ssh_ed25519_blob(pk, blob);
	ssh_fingerprint(blob, n, fp);
}

/* ---- the CA secrets ----------------------------------------------------------- */

static struct sec *sec_new(void)
{
	struct sec *s = sodium_malloc(sizeof(*s));
	if (s)
		memset(s, 0, sizeof(*s));
	return s;
}

static void sec_free(struct sec *s)
{
	if (s)
		sodium_free(s);
}

/* The secret key of pk in s, or NULL. */
static const uint8_t *sec_find(const struct sec *s, const uint8_t pk[PK_LEN])
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
static int sec_make(struct sec *s, uint8_t pk[PK_LEN])
{
	if (s->n == SEC_MAX || crypto_sign_keypair(pk, s->sk[s->n]) != 0)
		return -1;
	s->n++;
	return 0;
}

/* Keeps only the secrets of the record's current and next keys. */
static void sec_prune(struct sec *s, const struct sshca_keys *k)
{
	struct sec *keep = sec_new();
	if (!keep)
		return;
	for (size_t i = 0; i < k->n; i++) {
		const uint8_t *sk = k->k[i].state != SSHCA_RETIRED ? sec_find(s, k->k[i].pk) : NULL;
		if (sk && keep->n < SEC_MAX)
			memcpy(keep->sk[keep->n++], sk, SK_LEN);
	}
	memcpy(s, keep, sizeof(*s));
	sec_free(keep);
}

static void derive(struct daemon *d, uint8_t *key)
{
	crypto_generichash(key, crypto_secretbox_KEYBYTES, (const uint8_t *)SEAL_LABEL,
			   strlen(SEAL_LABEL), d->secrets->pepper, PEPPER_LEN);
}

/* Hub: the sealed set from the store.  1 read, 0 none, -1 error. */
static int sealed_get(struct daemon *d, struct sec *s)
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

static int sealed_put(struct daemon *d, const struct sec *s)
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

/* Writes data to path atomically (temp in the same directory, fsync,
 * rename, fsync of the directory) with this mode. */
static int write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp) ||
	    (size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir))
		return -1;
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -1;
	const uint8_t *p = data;
	size_t off = 0;
	int bad = fchmod(fd, mode) < 0;
	while (!bad && off < len) {
		ssize_t w = write(fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			bad = 1;
		else
			off += (size_t)w;
	}
	if (!bad && fsync(fd) < 0)
		bad = 1;
	if (close(fd) < 0)
		bad = 1;
	if (bad) {
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* Standalone: the key file.  1 read, 0 absent, -1 refused (err). */
static int file_get(struct daemon *d, struct sec *s, char *err, size_t errlen)
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

static int file_put(struct daemon *d, const struct sec *s)
{
	char path[PATH_MAX];
	if (key_file_path(d, path, sizeof(path)) < 0 ||
	    write_atomic(path, s->sk, s->n * SK_LEN, 0600) < 0) {
		log_err("cannot write the SSH CA key file %s/ssh_ca.key: %s", d->cfg.state_dir,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* The CA secrets as they are now: hub from the store, standalone from
 * memory.  0, -1 (none: an agent, or a storage error). */
static int sec_load(struct daemon *d, struct sec *s)
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
static int sec_save(struct daemon *d, const struct sec *s)
{
	if (store_shared(d->store))
		return sealed_put(d, s);
	if (file_put(d, s) < 0)
		return -1;
	if (!g_sec && !(g_sec = sec_new()))
		return -1;
	memcpy(g_sec, s, sizeof(*s));
	return 0;
}

/* Makes the record and the set agree (see the top of the file).  *changed
 * 1 when either must be written.  0, -1 (set full: cannot happen). */
static int reconcile(struct sshca_keys *k, struct sec *s, uint64_t now, int *changed)
{
	int cur = -1, next = -1;
	*changed = 0;
	for (size_t i = 0; i < k->n; i++) {
		if (k->k[i].state == SSHCA_CURRENT && cur < 0 && sec_find(s, k->k[i].pk))
			cur = (int)i;
		else if (k->k[i].state == SSHCA_NEXT && next < 0 && sec_find(s, k->k[i].pk))
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

static int open_signer(struct daemon *d, char *err, size_t errlen)
{
	int shared = store_shared(d->store);
	struct sec *s = sec_new();
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
	if (g >= 0 && ca_get(d->store, &k) < 0) {
		snprintf(err, errlen, "the SSH CA record %s is unreadable", CA_KEY);
		g = -1;
	}
	if (g >= 0 && reconcile(&k, s, now, &changed) < 0) {
		snprintf(err, errlen, "cannot make the SSH CA keys");
		g = -1;
	}
	if (g == 0) /* no secret yet: write the new set and record */
		changed = 1;
	if (g >= 0 && changed && (sec_save(d, s) < 0 || ca_put(d->store, &k) < 0)) {
		snprintf(err, errlen, "cannot store the SSH CA keys: %s", store_error(d->store));
		g = -1;
	}
	if (g >= 0 && !shared && !changed) {
		if (!g_sec && !(g_sec = sec_new()))
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
	sec_free(s);
	if (r == 0 && changed)
		log_info("SSH CA: made %s keys", g == 0 ? "its first" : "new");
	return r;
}

int sshca_open(struct daemon *d, char *err, size_t errlen)
{
	if (config_mode(&d->cfg) != MODE_AGENT && open_signer(d, err, errlen) < 0)
		return -1;
	g_files_ok = 0;
	sshca_files_sync(d);
	return 0;
}

void sshca_close(struct daemon *d)
{
	(void)d;
	sec_free(g_sec);
	g_sec = NULL;
	g_files_ok = 0;
}

/* ---- the revocation list ------------------------------------------------------ */

struct sshca_revoked_entry {
	uint64_t serial;
	char key_id[SSH_KEY_ID_MAX];
	uint64_t valid_before; /* ms */
};

struct revoked {
	uint64_t version;
	struct sshca_revoked_entry *e;
	size_t n, cap;
};

static void rv_free(struct revoked *rv)
{
	free(rv->e);
	memset(rv, 0, sizeof(*rv));
}

static int rv_add(struct revoked *rv, uint64_t serial, const char *key_id, uint64_t vb)
{
	if (rv->n == rv->cap) {
		size_t nc = rv->cap ? rv->cap * 2 : 64;
		void *ne = realloc(rv->e, nc * sizeof(rv->e[0]));
		if (!ne)
			return -1;
		rv->e = ne;
		rv->cap = nc;
	}
	struct sshca_revoked_entry *x = &rv->e[rv->n++];
	memset(x, 0, sizeof(*x));
	x->serial = serial;
	snprintf(x->key_id, sizeof(x->key_id), "%s", key_id);
	x->valid_before = vb;
	return 0;
}

/* 1 read, 0 none (empty list), -1 error. */
static int rv_get(struct store *st, struct revoked *rv)
{
	uint8_t *v = NULL;
	size_t n = 0;
	memset(rv, 0, sizeof(*rv));
	int g = store_get(st, DB_STATE, REVOKED_KEY, &v, &n);
	if (g <= 0)
		return g;
	if (n < 2 || v[0] != REC_SSH_REVOKED || v[1] == 0) {
		free(v);
		return -1;
	}
	struct svca_iter it;
	struct svca_field f;
	svca_iter_init(&it, v + 2, n - 2);
	uint64_t serial = 0, vb = 0;
	char kid[SSH_KEY_ID_MAX] = "";
	int got, have = 0, r = 1;
	while ((got = svca_iter_next(&it, &f)) == 1) {
		if (f.tag == F_TOTAL)
			(void)svca_field_u64(&f, &rv->version);
		else if (f.tag == F_SERIAL) {
			if (have && rv_add(rv, serial, kid, vb) < 0)
				r = -1;
			have = 1;
			kid[0] = '\0';
			vb = 0;
			(void)svca_field_u64(&f, &serial);
		} else if (f.tag == F_KEY_ID && svca_field_str(&f, kid, sizeof(kid)) < 0)
			kid[0] = '\0';
		else if (f.tag == F_VALID_BEFORE)
			(void)svca_field_u64(&f, &vb);
	}
	if (have && rv_add(rv, serial, kid, vb) < 0)
		r = -1;
	if (got < 0)
		r = -1;
	free(v);
	if (r < 0)
		rv_free(rv);
	return r;
}

static int rv_put(struct store *st, const struct revoked *rv)
{
	struct svca_buf b;
	svca_buf_init(&b, (size_t)64 * 1024 * 1024);
	rec_begin(&b, REC_SSH_REVOKED, 1);
	svca_put_u64(&b, F_TOTAL, rv->version);
	for (size_t i = 0; i < rv->n; i++) {
		svca_put_u64(&b, F_SERIAL, rv->e[i].serial);
		svca_put_str(&b, F_KEY_ID, rv->e[i].key_id);
		svca_put_u64(&b, F_VALID_BEFORE, rv->e[i].valid_before);
	}
	int r = b.failed ? -1 : store_put(st, DB_STATE, REVOKED_KEY, b.data, b.len);
	svca_buf_free(&b);
	return r;
}

/* Drops the entries of expired certificates.  How many went. */
static size_t rv_prune(struct revoked *rv, uint64_t now_ms)
{
	size_t w = 0;
	for (size_t i = 0; i < rv->n; i++)
		if (rv->e[i].valid_before > now_ms)
			rv->e[w++] = rv->e[i];
	size_t gone = rv->n - w;
	rv->n = w;
	return gone;
}

int sshca_revoked(struct daemon *d, uint64_t serial, const char *key_id)
{
	struct revoked rv;
	int g = rv_get(d->store, &rv);
	if (g <= 0)
		return g;
	int hit = 0;
	for (size_t i = 0; i < rv.n && !hit; i++)
		hit = rv.e[i].serial == serial ||
		      (key_id && key_id[0] && rv.e[i].key_id[0] && !strcmp(rv.e[i].key_id, key_id));
	rv_free(&rv);
	return hit;
}

int sshca_trusts(struct daemon *d, const char *ca_fp)
{
	struct sshca_keys k;
	if (ca_get(d->store, &k) < 0)
		return -1;
	for (size_t i = 0; i < k.n; i++) {
		char fp[SSH_FP_LEN];
		sshca_key_fp(k.k[i].pk, fp);
		if (ca_fp && !strcmp(fp, ca_fp))
			return 1;
	}
	return 0;
}

/* ---- certificate records ------------------------------------------------------ */

static void cert_key(uint64_t serial, char out[32])
{
	snprintf(out, 32, "sshc/%016" PRIx64, serial);
}

static int cert_put(struct store *st, const struct sshca_cert *c)
{
	char key[32];
	struct svca_buf b;
	svca_buf_init(&b, 8192);
	rec_begin(&b, REC_SSH_CERT, 1);
	svca_put_u64(&b, F_SERIAL, c->serial);
	svca_put_u64(&b, F_UID, c->uid);
	svca_put_str(&b, F_NAME, c->account);
	svca_put_str(&b, F_KEY_ID, c->api_key_id);
	svca_put_str(&b, T_JTI, c->jti);
	svca_put_str(&b, T_CERT_ID, c->cert_id);
	svca_put_str(&b, F_FINGERPRINT, c->fingerprint);
	svca_put_u64(&b, F_VALID_AFTER, c->valid_after);
	svca_put_u64(&b, F_VALID_BEFORE, c->valid_before);
	svca_put_u64(&b, F_STATUS, (uint64_t)c->revoked);
	svca_put_u64(&b, F_CREATED_AT, c->created_at);
	cert_key(c->serial, key);
	int r = b.failed ? -1 : store_put(st, DB_STATE, key, b.data, b.len);
	svca_buf_free(&b);
	return r;
}

static int cert_decode(const uint8_t *v, size_t n, struct sshca_cert *c)
{
	struct rec r;
	memset(c, 0, sizeof(*c));
	if (rec_parse(v, n, REC_SSH_CERT, &r) < 0)
		return -1;
	c->serial = rec_u64(&r, F_SERIAL);
	c->uid = (uint32_t)rec_u64(&r, F_UID);
	rec_str(&r, F_NAME, c->account, sizeof(c->account));
	rec_str(&r, F_KEY_ID, c->api_key_id, sizeof(c->api_key_id));
	rec_str(&r, T_JTI, c->jti, sizeof(c->jti));
	rec_str(&r, T_CERT_ID, c->cert_id, sizeof(c->cert_id));
	rec_str(&r, F_FINGERPRINT, c->fingerprint, sizeof(c->fingerprint));
	c->valid_after = rec_u64(&r, F_VALID_AFTER);
	c->valid_before = rec_u64(&r, F_VALID_BEFORE);
	c->revoked = rec_u64(&r, F_STATUS) != 0;
	c->created_at = rec_u64(&r, F_CREATED_AT);
	return 0;
}

int sshca_cert_get(struct daemon *d, uint64_t serial, struct sshca_cert *c)
{
	char key[32];
	uint8_t *v = NULL;
	size_t n = 0;
	cert_key(serial, key);
	int g = store_get(d->store, DB_STATE, key, &v, &n);
	if (g <= 0)
		return g;
	int r = cert_decode(v, n, c) < 0 ? -1 : 1;
	free(v);
	return r;
}

const char *sshca_cert_status(const struct sshca_cert *c, uint64_t now_ms)
{
	return c->revoked ? "revoked" : c->valid_before <= now_ms ? "expired" : "valid";
}

struct iter_ctx {
	sshca_cert_fn fn;
	void *arg;
	int bad;
};

static int iter_one(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)key;
	(void)klen;
	struct iter_ctx *x = arg;
	struct sshca_cert c;
	if (cert_decode(val, vlen, &c) < 0) {
		x->bad = 1;
		return 0;
	}
	return x->fn(x->arg, &c);
}

int sshca_cert_foreach(struct daemon *d, sshca_cert_fn fn, void *arg)
{
	struct iter_ctx x = { fn, arg, 0 };
	int r = store_iterate(d->store, DB_STATE, "sshc/", iter_one, &x);
	return r < 0 || x.bad ? -1 : r;
}

/* A stored counter (sshs/next, sshs/low).  -1 error. */
static int counter_get(struct store *st, const char *key, uint64_t dflt, uint64_t *out)
{
	uint8_t *v = NULL;
	size_t n = 0;
	struct rec r;
	*out = dflt;
	int g = store_get(st, DB_STATE, key, &v, &n);
	if (g <= 0)
		return g;
	int ok = rec_parse(v, n, REC_SSH_SERIAL, &r) == 0;
	if (ok)
		*out = rec_u64(&r, F_SERIAL);
	free(v);
	return ok && *out ? 1 : -1;
}

static int counter_put(struct store *st, const char *key, uint64_t v)
{
	struct svca_buf b;
	svca_buf_init(&b, 256);
	rec_begin(&b, REC_SSH_SERIAL, 1);
	svca_put_u64(&b, F_SERIAL, v);
	int r = b.failed ? -1 : store_put(st, DB_STATE, key, b.data, b.len);
	svca_buf_free(&b);
	return r;
}

/* ---- revocation ------------------------------------------------------------------ */

int sshca_revoke_cert(struct daemon *d, struct sshca_cert *c)
{
	uint64_t now = (uint64_t)svca_wall_ms();
	if (c->revoked)
		return 0;
	c->revoked = 1;
	if (cert_put(d->store, c) < 0)
		return -1;
	if (c->valid_before <= now) /* expired: sshd refuses it anyway */
		return 1;
	struct revoked rv;
	if (rv_get(d->store, &rv) < 0)
		return -1;
	rv_prune(&rv, now);
	/* Never refused for size: a revocation must take effect (SSH_SIGN
	 * stops instead while the list is full: sshca_issue). */
	int r = rv_add(&rv, c->serial, c->cert_id, c->valid_before);
	rv.version++;
	if (r == 0)
		r = rv_put(d->store, &rv);
	rv_free(&rv);
	return r < 0 ? -1 : 1;
}

/* Revokes every unexpired certificate of uid (or obtained with api_key_id)
 * in the open transaction, walking back from the newest serial over the
 * certificates young enough to be valid.  fn (may be NULL) hears of each. */
int sshca_revoke_where(struct daemon *d, uint32_t uid, const char *api_key_id, sshca_cert_fn fn,
		       void *arg)
{
	uint64_t next;
	int64_t now = svca_wall_ms();
	int total = 0;
	if (counter_get(d->store, NEXT_KEY, 1, &next) < 0)
		return -1;
	for (uint64_t s = next - 1; s >= 1; s--) {
		struct sshca_cert c;
		int g = sshca_cert_get(d, s, &c);
		if (g < 0)
			return -1;
		if (g == 0 || (int64_t)c.created_at < now - CERT_LIFE_MS - WALK_MARGIN_MS)
			break;
		int match = api_key_id ? !strcmp(c.api_key_id, api_key_id) : c.uid == uid;
		if (!match || c.revoked || c.valid_before <= (uint64_t)now)
			continue;
		if (sshca_revoke_cert(d, &c) < 0)
			return -1;
		total++;
		if (fn)
			fn(arg, &c);
	}
	return total;
}

int sshca_revoke_account(struct daemon *d, uint32_t uid)
{
	return sshca_revoke_where(d, uid, NULL, NULL, NULL);
}

int sshca_revoke_key(struct daemon *d, const char *api_key_id)
{
	return api_key_id && api_key_id[0] ? sshca_revoke_where(d, 0, api_key_id, NULL, NULL) : 0;
}

/* ---- issuing --------------------------------------------------------------------- */

int sshca_may_login(struct daemon *d, const struct account *a)
{
	if (a->disabled)
		return 0;
	if (config_mode(&d->cfg) == MODE_HUB) {
		/* any grant whose role gives login in some workspace */
		struct grant *gs;
		size_t ng;
		int ok = 0;
		if (grant_of_account(d->store, a->uid, &gs, &ng) < 0)
			return -1;
		for (size_t i = 0; i < ng && !ok; i++)
			ok = (d->cfg.role_caps[gs[i].role] & CAP_LOGIN) != 0;
		free(gs);
		return ok;
	}
	/* on this host, for a PAM service mapped to login */
	struct access acc;
	int mapped = 0;
	for (size_t i = 0; i < d->cfg.n_services; i++)
		mapped |= d->cfg.services[i].cap == CAP_LOGIN;
	if (!mapped)
		return 0;
	if (access_compute(d->store, &d->cfg, a, &acc) < 0)
		return -1;
	return (acc.caps & CAP_LOGIN) != 0;
}

int sshca_issue(struct daemon *d, const struct sshca_issue_req *q, struct sshca_cert *c,
		char **line, char *err, size_t errlen)
{
	struct sshca_keys k;
	struct revoked rv;
	uint64_t serial;
	int64_t now = svca_wall_ms();
	*line = NULL;
	memset(c, 0, sizeof(*c));
	if (ca_get(d->store, &k) < 0 || counter_get(d->store, NEXT_KEY, 1, &serial) < 0 ||
	    rv_get(d->store, &rv) < 0) {
		snprintf(err, errlen, "internal storage error");
		return -1;
	}
	rv_prune(&rv, (uint64_t)now);
	size_t listed = rv.n;
	rv_free(&rv);
	if (listed >= SSHCA_REVOKED_MAX) {
		snprintf(err, errlen,
			 "the SSH revocation list is full (%u unexpired revoked certificates): no "
			 "certificate is issued until some expire",
			 SSHCA_REVOKED_MAX);
		return -2;
	}
	const struct sshca_key *cur = NULL;
	for (size_t i = 0; i < k.n && !cur; i++)
		if (k.k[i].state == SSHCA_CURRENT)
			cur = &k.k[i];
	struct sec *s = sec_new();
	const uint8_t *sk = s && cur && sec_load(d, s) == 0 ? sec_find(s, cur->pk) : NULL;
	if (!sk) {
		sec_free(s);
		snprintf(err, errlen, "this daemon holds no SSH CA key");
		return -2;
	}
	c->serial = serial;
	c->uid = q->account->uid;
	snprintf(c->account, sizeof(c->account), "%s", q->account->name);
	snprintf(c->api_key_id, sizeof(c->api_key_id), "%s", q->api_key_id);
	snprintf(c->jti, sizeof(c->jti), "%s", q->jti);
	snprintf(c->cert_id, sizeof(c->cert_id), "sa:%s key:%s jti:%s", c->account,
		 q->api_key_id[0] ? q->api_key_id : "-", q->jti);
	ssh_fingerprint(q->subject->blob, q->subject->blob_len, c->fingerprint);
	c->created_at = (uint64_t)now;
	uint64_t now_s = (uint64_t)now / 1000;
	c->valid_after = (now_s - SSHCA_BACKDATE_S) * 1000;
	c->valid_before = (now_s + q->ttl) * 1000;
	struct ssh_cert_req req = {
		.subject = q->subject,
		.serial = serial,
		.key_id = c->cert_id,
		.principal = c->account,
		.valid_after = now_s - SSHCA_BACKDATE_S,
		.valid_before = now_s + q->ttl,
		.source_address = d->cfg.ssh_source_address,
		.extensions = (const char *const *)d->cfg.ssh_cert_extensions.v,
		.n_extensions = d->cfg.ssh_cert_extensions.n,
	};
	int r = ssh_cert_sign(&req, sk, NULL, line, err, errlen);
	sec_free(s);
	if (r < 0)
		return -1;
	if (counter_put(d->store, NEXT_KEY, serial + 1) < 0 || cert_put(d->store, c) < 0) {
		free(*line);
		*line = NULL;
		snprintf(err, errlen, "internal storage error");
		return -1;
	}
	return 0;
}

/* ---- rotation ------------------------------------------------------------------ */

int sshca_rotate(struct daemon *d, char fp[SSH_FP_LEN], char *err, size_t errlen)
{
	struct sshca_keys k;
	uint64_t now = (uint64_t)svca_wall_ms();
	if (ca_get(d->store, &k) < 0) {
		snprintf(err, errlen, "internal storage error");
		return -1;
	}
	struct sec *s = sec_new();
	if (!s || sec_load(d, s) < 0) {
		sec_free(s);
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
		r = sec_save(d, s) < 0 || ca_put(d->store, &k) < 0 ? -1 : 0;
	sec_free(s);
	if (r < 0) {
		snprintf(err, errlen, "cannot store the new SSH CA key");
		return -1;
	}
	for (size_t i = 0; i < k.n; i++)
		if (k.k[i].state == SSHCA_NEXT)
			sshca_key_fp(k.k[i].pk, fp);
	return 0;
}

/* ---- tick: expiry ------------------------------------------------------------------ */

/* Retired keys past every certificate they signed, expired revocations,
 * certificate records expired 30 days ago: each bounded per tick. */
static int tick_needs(struct daemon *d, int64_t now, int *keys, int *revs, int *purge)
{
	struct sshca_keys k;
	struct revoked rv;
	uint64_t low, next;
	*keys = *revs = *purge = 0;
	if (ca_get(d->store, &k) < 0 || rv_get(d->store, &rv) < 0)
		return -1;
	for (size_t i = 0; i < k.n; i++)
		*keys |= k.k[i].state == SSHCA_RETIRED &&
			 (int64_t)k.k[i].retired_at + CERT_LIFE_MS < now;
	for (size_t i = 0; i < rv.n; i++)
		*revs |= rv.e[i].valid_before <= (uint64_t)now;
	rv_free(&rv);
	if (counter_get(d->store, LOW_KEY, 1, &low) < 0 ||
	    counter_get(d->store, NEXT_KEY, 1, &next) < 0)
		return -1;
	if (low < next) {
		struct sshca_cert c;
		int g = sshca_cert_get(d, low, &c);
		*purge = g == 0 || (g == 1 && (int64_t)c.valid_before + PURGE_AFTER_MS < now);
	}
	return 0;
}

static int tick_write(struct daemon *d, int64_t now)
{
	struct sshca_keys k;
	struct revoked rv;
	uint64_t low, next;
	if (ca_get(d->store, &k) < 0 || rv_get(d->store, &rv) < 0)
		return -1;
	size_t w = 0;
	for (size_t i = 0; i < k.n; i++)
		if (!(k.k[i].state == SSHCA_RETIRED &&
		      (int64_t)k.k[i].retired_at + CERT_LIFE_MS < now))
			k.k[w++] = k.k[i];
	int r = 0;
	if (w != k.n) {
		k.n = w;
		r = ca_put(d->store, &k);
	}
	if (r == 0 && rv_prune(&rv, (uint64_t)now) > 0)
		r = rv_put(d->store, &rv);
	rv_free(&rv);
	if (r < 0 || counter_get(d->store, LOW_KEY, 1, &low) < 0 ||
	    counter_get(d->store, NEXT_KEY, 1, &next) < 0)
		return -1;
	uint64_t start = low;
	for (int i = 0; i < PURGE_PER_TICK && low < next; i++, low++) {
		struct sshca_cert c;
		char key[32];
		int g = sshca_cert_get(d, low, &c);
		if (g < 0)
			return -1;
		if (g == 1 && (int64_t)c.valid_before + PURGE_AFTER_MS >= now)
			break;
		cert_key(low, key);
		if (g == 1 && store_del(d->store, DB_STATE, key) < 0)
			return -1;
	}
	return low != start ? counter_put(d->store, LOW_KEY, low) : 0;
}

void sshca_tick(struct daemon *d)
{
	int keys, revs, purge;
	int64_t now = svca_wall_ms();
	if (config_mode(&d->cfg) == MODE_AGENT)
		return; /* the hubs prune the records an agent holds */
	if (tick_needs(d, now, &keys, &revs, &purge) < 0 || !(keys || revs || purge))
		return;
	if (store_shared(d->store))
		store_write_intent(d->store);
	store_begin(d->store);
	if (tick_write(d, now) < 0 || store_commit(d->store) < 0) {
		store_abort(d->store);
		log_warn("SSH CA: cannot prune expired records; will retry");
	}
}

/* ---- the files sshd reads ---------------------------------------------------------- */

static int build_ca_file(const struct sshca_keys *k, char **out, size_t *len)
{
	size_t cap = 1 + k->n * 200, used = 0;
	char *buf = malloc(cap);
	if (!buf)
		return -1;
	buf[0] = '\0';
	for (size_t i = 0; i < k->n; i++) {
		char comment[40];
		snprintf(comment, sizeof(comment), "svcacct-ca-%s", state_names[k->k[i].state]);
		char *l = ssh_ed25519_pub_line(k->k[i].pk, comment);
		if (!l || used + strlen(l) + 2 > cap) {
			free(l);
			free(buf);
			return -1;
		}
		used += (size_t)snprintf(buf + used, cap - used, "%s\n", l);
		free(l);
	}
	*out = buf;
	*len = used;
	return 0;
}

static int build_krl(const struct sshca_keys *k, const struct revoked *rv, uint8_t **out,
		     size_t *len)
{
	struct ssh_krl_ca cas[SSHCA_MAX_KEYS];
	uint8_t blobs[SSHCA_MAX_KEYS][64];
	uint64_t *serials = calloc(rv->n + 1, sizeof(uint64_t));
	const char **ids = calloc(rv->n + 1, sizeof(char *));
	size_t nid = 0;
	int r = -1;
	if (serials && ids) {
		for (size_t i = 0; i < k->n; i++) {
			cas[i].ca_len = ssh_ed25519_blob(k->k[i].pk, blobs[i]);
			cas[i].ca_blob = blobs[i];
		}
		for (size_t i = 0; i < rv->n; i++) {
			serials[i] = rv->e[i].serial;
			if (rv->e[i].key_id[0])
				ids[nid++] = rv->e[i].key_id;
		}
		struct ssh_krl_in in = {
			.cas = cas,
			.n_cas = k->n,
			.serials = serials,
			.n_serials = rv->n,
			.key_ids = ids,
			.n_key_ids = nid,
			.version = rv->version,
			.generated_date = (uint64_t)svca_wall_ms() / 1000,
		};
		r = ssh_krl_build(&in, out, len);
	}
	free(serials);
	free(ids);
	return r;
}

/* A hash of what the files are made from (records and paths). */
static int files_source_hash(struct daemon *d, uint8_t out[32])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, 32);
	const char *keys[] = { CA_KEY, REVOKED_KEY };
	for (size_t i = 0; i < 2; i++) {
		uint8_t *v = NULL;
		size_t n = 0;
		int g = store_get(d->store, DB_STATE, keys[i], &v, &n);
		if (g < 0)
			return -1;
		uint64_t n64 = n;
		uint8_t tag[9] = { (uint8_t)g };
		memcpy(tag + 1, &n64, 8);
		crypto_generichash_update(&h, tag, sizeof(tag));
		if (v)
			crypto_generichash_update(&h, v, n);
		free(v);
	}
	crypto_generichash_update(&h, (const uint8_t *)d->cfg.ssh_ca_file,
				  d->cfg.ssh_ca_file ? strlen(d->cfg.ssh_ca_file) + 1 : 0);
	crypto_generichash_update(&h, (const uint8_t *)d->cfg.ssh_krl_file,
				  d->cfg.ssh_krl_file ? strlen(d->cfg.ssh_krl_file) + 1 : 0);
	crypto_generichash_final(&h, out, 32);
	return 0;
}

void sshca_files_sync(struct daemon *d)
{
	uint8_t hash[32];
	if (!d->cfg.ssh_ca_file || !d->cfg.ssh_krl_file || files_source_hash(d, hash) < 0)
		return;
	if (g_files_ok && !memcmp(hash, g_files_hash, sizeof(hash)))
		return;
	struct sshca_keys k;
	struct revoked rv;
	if (ca_get(d->store, &k) < 0 || rv_get(d->store, &rv) < 0) {
		log_err("SSH CA: cannot read its records; the files for sshd are not updated");
		return;
	}
	char *ca = NULL;
	uint8_t *krl = NULL;
	size_t calen = 0, krllen = 0;
	int ok = build_ca_file(&k, &ca, &calen) == 0 && build_krl(&k, &rv, &krl, &krllen) == 0;
	rv_free(&rv);
	if (!ok)
		log_err("SSH CA: out of memory building the files for sshd; will retry");
	else if (write_atomic(d->cfg.ssh_krl_file, krl, krllen, 0644) < 0)
		log_err("SSH CA: cannot write %s: %s; will retry", d->cfg.ssh_krl_file,
			strerror(errno));
	else if (write_atomic(d->cfg.ssh_ca_file, ca, calen, 0644) < 0)
		log_err("SSH CA: cannot write %s: %s; will retry", d->cfg.ssh_ca_file,
			strerror(errno));
	else {
		memcpy(g_files_hash, hash, sizeof(hash));
		g_files_ok = 1;
	}
	free(ca);
	free(krl);
}
