/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The SSH user CA's ground floor (sshca.h; DESIGN.md section 10): the
 * certificate records (sshc/) and the serial counters (sshs/), and the two
 * primitives the other files of the CA share: reading a list record and
 * writing a file atomically.  On it: the keys (sshca_keys.c), the
 * revocation list (sshca_revoked.c), sshd's files (sshca_files.c), and
 * start, issuing and the tick (sshca_issue.c).  The records of all of them
 * are listed in sshca_int.h.
 */
#include "sshca.h"
#include "sshca_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "record.h"
#include "sockio.h"
#include "store.h"

/* Record tags of a certificate that the protocol has no name for. */
#define T_JTI F_LABEL
#define T_CERT_ID F_CERTIFICATE

/* ---- files ------------------------------------------------------------------ */

int sshca_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp) ||
	    (size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir))
		return -1;
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -1;
	int bad = fchmod(fd, mode) < 0 || svca_write_all(fd, data, len) < 0 || fsync(fd) < 0;
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

/* ---- certificate records ------------------------------------------------------ */

int sshca_rec_iter(struct store *st, const char *key, uint8_t kind, uint8_t **v,
		   struct svca_iter *it)
{
	size_t n = 0;
	*v = NULL;
	int g = store_get(st, DB_STATE, key, v, &n);
	if (g <= 0)
		return g;
	if (n < 2 || (*v)[0] != kind || (*v)[1] == 0) {
		free(*v);
		*v = NULL;
		return -1;
	}
	svca_iter_init(it, *v + 2, n - 2);
	return 1;
}

void sshca_cert_key(uint64_t serial, char out[32])
{
	snprintf(out, 32, "sshc/%016" PRIx64, serial);
}

int sshca_cert_put(struct store *st, const struct sshca_cert *c)
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
	sshca_cert_key(c->serial, key);
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
	sshca_cert_key(serial, key);
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

int sshca_counter_get(struct store *st, const char *key, uint64_t dflt, uint64_t *out)
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

int sshca_counter_put(struct store *st, const char *key, uint64_t v)
{
	struct svca_buf b;
	svca_buf_init(&b, 256);
	rec_begin(&b, REC_SSH_SERIAL, 1);
	svca_put_u64(&b, F_SERIAL, v);
	int r = b.failed ? -1 : store_put(st, DB_STATE, key, b.data, b.len);
	svca_buf_free(&b);
	return r;
}
