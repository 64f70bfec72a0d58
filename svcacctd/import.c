/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * svcacctd --import STATE_DIR: moving a standalone host into an empty hub
 * database, so that every key keeps working.
 *
 *   - the host's secret files (pepper, audit key, signing keys) become the
 *     organization's: they are copied to this hub's paths (which must not
 *     hold other secrets yet); the other hubs copy them from here
 *   - every record of state.db is copied as it is (accounts with their
 *     uids, teams, workspaces, grants, keys with their hashes, the token
 *     deny-list and generations)
 *   - the audit chain is copied record by record, hashes intact: it is the
 *     start of the organization's chain, and `audit verify` on any hub
 *     checks it with the rest
 */
#include "import.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "secrets.h"
#include "store.h"

#define MAX_SECRET_FILE (64 * 1024)

struct copy {
	struct store *to;
	enum store_db db;
	unsigned long n;
	int failed;
};

static int copy_one(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct copy *c = arg;
	(void)klen;
	if (store_put(c->to, c->db, key, val, vlen) < 0) {
		c->failed = 1;
		return 1;
	}
	c->n++;
	return 0;
}

static int count_one(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)key;
	(void)klen;
	(void)val;
	(void)vlen;
	++*(unsigned long *)arg;
	return 0;
}

/* Reads a whole secret file (checked like the daemon's own). */
static uint8_t *read_secret(const char *path, size_t *len, char *err, size_t errlen)
{
	if (secret_file_ok(path, err, errlen) < 0)
		return NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *buf = fd >= 0 ? sodium_malloc(MAX_SECRET_FILE) : NULL;
	ssize_t n = buf ? read(fd, buf, MAX_SECRET_FILE) : -1;
	if (fd >= 0)
		close(fd);
	if (n < 0 || n == MAX_SECRET_FILE) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 n == MAX_SECRET_FILE ? "too large" : strerror(errno));
		if (buf)
			sodium_free(buf);
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}

/* Copies src to dst (0600), unless dst exists: then it must be equal. */
static int take_secret(const char *src, const char *dst, char *err, size_t errlen)
{
	size_t sl, dl;
	uint8_t *s = read_secret(src, &sl, err, errlen);
	if (!s)
		return -1;
	int r = -1;
	if (access(dst, F_OK) == 0) {
		uint8_t *d = read_secret(dst, &dl, err, errlen);
		if (d && (dl != sl || sodium_memcmp(d, s, sl) != 0))
			snprintf(err, errlen,
				 "%s already holds another secret: move it away (this hub has "
				 "not served yet) and import again",
				 dst);
		else if (d)
			r = 0;
		if (d)
			sodium_free(d);
	} else {
		int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 && write(fd, s, sl) == (ssize_t)sl && fsync(fd) == 0)
			r = 0;
		else
			snprintf(err, errlen, "cannot write %s: %s", dst, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	sodium_free(s);
	return r;
}

int import_state(const struct svca_config *cfg, const char *dir, const char *host, char *err,
		 size_t errlen)
{
	char src[3][4096];
	const char *names[3] = { "pepper", "audit.key", "signing.keys" };
	const char *dst[3] = { cfg->pepper_file, cfg->audit_key_file, cfg->signing_key_file };
	struct store *from = NULL, *to = NULL;
	int ret = -1;

	from = store_open(dir, err, errlen);
	if (!from)
		return -1;
	to = store_open_shared(cfg->database, host, STORE_SERVE, err, errlen);
	if (!to)
		goto out;
	unsigned long have = 0;
	if (store_iterate(to, DB_STATE, "", count_one, &have) < 0) {
		snprintf(err, errlen, "cannot read the database: %s", store_error(to));
		goto out;
	}
	if (have) {
		snprintf(err, errlen,
			 "the database already holds an organization (%lu records): import "
			 "only into an empty one",
			 have);
		goto out;
	}
	for (int i = 0; i < 3; i++) {
		snprintf(src[i], sizeof(src[i]), "%s/%s", dir, names[i]);
		if (take_secret(src[i], dst[i], err, errlen) < 0)
			goto out;
	}
	struct copy st = { to, DB_STATE, 0, 0 }, au = { to, DB_AUDIT, 0, 0 };
	store_begin(to);
	if (store_iterate(from, DB_STATE, "", copy_one, &st) < 0 || st.failed) {
		store_abort(to);
		snprintf(err, errlen, "cannot copy the records: %s", store_error(to));
		goto out;
	}
	/* The audit chain in seq order: the head, then seq/1, seq/2, ... */
	uint8_t *v = NULL;
	size_t vl = 0;
	int g = store_get(from, DB_AUDIT, "head", &v, &vl);
	uint64_t head = 0;
	if (g == 1 && vl >= 8)
		for (int i = 0; i < 8; i++)
			head = head << 8 | v[i];
	if (g == 1 && store_put(to, DB_AUDIT, "head", v, vl) < 0)
		au.failed = 1;
	free(v);
	for (uint64_t seq = 1; seq <= head && !au.failed; seq++) {
		char key[40];
		snprintf(key, sizeof(key), "seq/%020" PRIu64, seq);
		if (store_get(from, DB_AUDIT, key, &v, &vl) == 1)
			copy_one(&au, key, strlen(key), v, vl);
		free(v);
		v = NULL;
	}
	if (au.failed || store_commit(to) < 0 || store_flush(to) < 0) {
		store_abort(to);
		store_flush(to);
		snprintf(err, errlen, "cannot copy the audit trail: %s; nothing was imported",
			 store_error(to));
		goto out;
	}
	log_info("imported %lu records and %lu audit records from %s", st.n, au.n, dir);
	ret = 0;
out:
	if (to)
		store_close(to);
	if (from)
		store_close(from);
	return ret;
}
