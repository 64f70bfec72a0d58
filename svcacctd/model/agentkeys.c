/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An agent's verifiers of API keys (agentkeys.h). */
#include "agentkeys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyfmt.h"

#include "record.h"
#include "sockio.h"

enum { REC_VERIFIER = 'V' };
#define AKV_RECORD_VERSION 1

static int read_secret(const char *path, uint8_t out[AKV_LEN])
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	ssize_t n = -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) == 0 &&
	    st.st_uid == geteuid() && st.st_size == AKV_LEN)
		n = read(fd, out, AKV_LEN);
	close(fd);
	if (n != AKV_LEN) {
		sodium_memzero(out, AKV_LEN);
		return -1;
	}
	return 1;
}

/* A new secret: written to a temporary file, synced, renamed (a crash
 * leaves the old state or the whole new file, never half of one). */
static int create_secret(const char *state_dir, const char *path, uint8_t out[AKV_LEN])
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s/" AKV_FILE ".tmp", state_dir);
	randombytes_buf(out, AKV_LEN);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	int ok = fd >= 0 && fchmod(fd, 0600) == 0 && write(fd, out, AKV_LEN) == AKV_LEN &&
		 fsync(fd) == 0;
	if (fd >= 0 && close(fd) < 0)
		ok = 0;
	/* link() fails when another call made one meanwhile: that one wins */
	if (ok && link(tmp, path) < 0)
		ok = 0;
	unlink(tmp);
	if (!ok) {
		sodium_memzero(out, AKV_LEN);
		return read_secret(path, out) == 1 ? 1 : -1;
	}
	int dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 1;
}

int akv_secret(const char *state_dir, int create, uint8_t out[AKV_LEN])
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/" AKV_FILE, state_dir);
	int r = read_secret(path, out);
	if (r != 0 || !create)
		return r;
	return create_secret(state_dir, path, out);
}

void akv_compute(const uint8_t host[AKV_LEN], const char *secret, uint8_t out[AKV_LEN])
{
	crypto_generichash(out, AKV_LEN, (const uint8_t *)secret, strlen(secret), host, AKV_LEN);
}

struct verifier {
	uint32_t uid;
	uint64_t created_at;
	uint8_t v[AKV_LEN];
};

static int decode(const uint8_t *val, size_t n, struct verifier *out)
{
	struct rec r;
	if (rec_parse(val, n, REC_VERIFIER, &r) < 0 || r.version > AKV_RECORD_VERSION)
		return -1;
	const struct svca_field *f = svca_fields_find(r.f, r.n, F_KEY);
	uint64_t uid = rec_u64(&r, F_UID);
	if (!f || f->kind != SVCA_K_BYTES || f->len != AKV_LEN || !uid || uid > UINT32_MAX)
		return -1;
	out->uid = (uint32_t)uid;
	out->created_at = rec_u64(&r, F_CREATED_AT);
	memcpy(out->v, f->val, AKV_LEN);
	return 0;
}

static int get_verifier(struct store *s, const char *key_id, struct verifier *out)
{
	char key[48];
	uint8_t *val;
	size_t n;
	snprintf(key, sizeof(key), "kver/%s", key_id);
	int g = store_get(s, DB_STATE, key, &val, &n);
	if (g <= 0)
		return g;
	g = decode(val, n, out) == 0 ? 1 : -1;
	free(val);
	return g;
}

enum akv_result akv_check(struct store *s, const char *state_dir, const char *key_id, uint32_t uid,
			  uint64_t created_at, const char *secret)
{
	struct verifier v;
	uint8_t host[AKV_LEN], h[AKV_LEN];
	int g = get_verifier(s, key_id, &v);
	if (g < 0)
		return AKV_ERROR;
	if (g == 0 || v.uid != uid || v.created_at != created_at)
		return AKV_NONE;
	int r = akv_secret(state_dir, 0, host);
	if (r <= 0)
		return r < 0 ? AKV_ERROR : AKV_NONE;
	akv_compute(host, secret, h);
	int same = sodium_memcmp(h, v.v, AKV_LEN) == 0;
	sodium_memzero(host, sizeof(host));
	sodium_memzero(h, sizeof(h));
	return same ? AKV_MATCH : AKV_MISMATCH;
}

int akv_store(struct store *s, const char *state_dir, const char *key_id, uint32_t uid,
	      uint64_t created_at, const char *secret)
{
	uint8_t host[AKV_LEN], h[AKV_LEN];
	char key[48];
	if (strlen(key_id) != SVCA_KEYID_LEN || akv_secret(state_dir, 1, host) != 1)
		return -1;
	akv_compute(host, secret, h);
	sodium_memzero(host, sizeof(host));
	struct svca_buf b;
	svca_buf_init(&b, 512);
	rec_begin(&b, REC_VERIFIER, AKV_RECORD_VERSION);
	svca_put_u64(&b, F_UID, uid);
	svca_put_u64(&b, F_CREATED_AT, created_at);
	svca_put_bytes(&b, F_KEY, h, AKV_LEN);
	sodium_memzero(h, sizeof(h));
	snprintf(key, sizeof(key), "kver/%s", key_id);
	int r = b.failed ? -1 : store_put(s, DB_STATE, key, b.data, b.len);
	svca_buf_free(&b);
	return r;
}

/* Every verifier (id and binding), then the keys read after the scan. */
struct vlist {
	struct {
		char id[SVCA_KEYID_LEN + 1];
		struct verifier v;
	} * e;
	size_t n, cap;
	int err;
};

static int list_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct vlist *l = arg;
	if (klen != strlen("kver/") + SVCA_KEYID_LEN)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = realloc(l->e, cap * sizeof(*l->e));
		if (!p) {
			l->err = 1;
			return 1;
		}
		l->e = p;
		l->cap = cap;
	}
	memcpy(l->e[l->n].id, key + strlen("kver/"), SVCA_KEYID_LEN);
	l->e[l->n].id[SVCA_KEYID_LEN] = '\0';
	if (decode(val, vlen, &l->e[l->n].v) < 0)
		memset(&l->e[l->n].v, 0, sizeof(l->e[l->n].v)); /* never matches: dropped */
	l->n++;
	return 0;
}

int akv_prune(struct store *s, akv_current_fn current)
{
	struct vlist l = { 0 };
	char key[48];
	int ret = 0;
	if (store_iterate(s, DB_STATE, "kver/", list_cb, &l) != 0 || l.err) {
		free(l.e);
		return -1;
	}
	if (!l.n)
		return 0;
	store_begin(s);
	for (size_t i = 0; i < l.n && ret >= 0; i++) {
		int cur =
			l.e[i].v.uid ? current(s, l.e[i].id, l.e[i].v.uid, l.e[i].v.created_at) : 0;
		int st = cur < 0 ? -1 : !cur;
		snprintf(key, sizeof(key), "kver/%s", l.e[i].id);
		if (st < 0 || (st == 1 && store_del(s, DB_STATE, key) < 0))
			ret = -1;
		else
			ret += st;
	}
	if (ret < 0 || store_commit(s) < 0) {
		store_abort(s);
		ret = -1;
	}
	sodium_memzero(l.e, l.cap * sizeof(*l.e));
	free(l.e);
	return ret;
}
