/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Pepper and token-signing keys: generated once, root-only, mlocked. */
#include "secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jwt.h"
#include "log.h"
#include "sockio.h"

__attribute__((format(printf, 3, 4))) static void seterr(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
}

int secret_file_ok(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "%s is not a regular file", path);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		seterr(err, errlen, "%s is owned by uid %u, not by the daemon (uid %u)", path,
		       (unsigned)st.st_uid, (unsigned)geteuid());
		return -1;
	}
	if (st.st_mode & 077) {
		seterr(err, errlen,
		       "%s is accessible by group or others (mode %04o); run: chmod 600 %s", path,
		       (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	return 0;
}

/* Writes data to path atomically with mode 0600. */
static int write_secret_file(const char *path, const void *data, size_t len)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	const uint8_t *p = data;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* Loads a file of exactly len random bytes into buf, or creates it (0600)
 * when it does not exist; *created says which.  what names it in errors. */
static int load_random_file(const char *path, uint8_t *buf, size_t len, const char *what,
			    int *created, char *err, size_t errlen)
{
	*created = 0;
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		randombytes_buf(buf, len);
		if (write_secret_file(path, buf, len) < 0) {
			seterr(err, errlen, "cannot create the %s file %s: %s", what, path,
			       strerror(errno));
			return -1;
		}
		*created = 1;
		log_info("generated a new %s in %s", what, path);
		return 0;
	}
	if (secret_file_ok(path, err, errlen) < 0)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	uint8_t extra;
	ssize_t n = fd >= 0 ? read(fd, buf, len) : -1;
	ssize_t more = fd >= 0 ? read(fd, &extra, 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)len || more != 0) {
		seterr(err, errlen, "the %s file %s is damaged (it must hold exactly %zu bytes)",
		       what, path, len);
		return -1;
	}
	return 0;
}

static int load_pepper(struct secrets *s, const char *path, char *err, size_t errlen)
{
	int created;
	s->pepper = sodium_malloc(PEPPER_LEN);
	if (!s->pepper) {
		seterr(err, errlen, "cannot allocate protected memory");
		return -1;
	}
	return load_random_file(path, s->pepper, PEPPER_LEN, "pepper", &created, err, errlen);
}

uint8_t *secrets_load_audit_key(const char *path, int *created, char *err, size_t errlen)
{
	uint8_t *k = sodium_malloc(AUDIT_KEY_LEN);
	if (!k) {
		seterr(err, errlen, "cannot allocate protected memory");
		return NULL;
	}
	if (load_random_file(path, k, AUDIT_KEY_LEN, "audit key", created, err, errlen) < 0) {
		sodium_free(k);
		return NULL;
	}
	return k;
}

static int new_key(struct signing_key *k)
{
	k->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (!k->sk)
		return -1;
	crypto_sign_keypair(k->pk, k->sk);
	jwt_kid_of(k->pk, k->kid);
	k->created_ms = svca_wall_ms();
	k->retired_ms = 0;
	return 0;
}

/* The keys as the signing key file's lines, in a sodium_malloc'ed buffer. */
static char *format_keys(const struct secrets *s, size_t *lenp)
{
	size_t cap = s->nkeys * 256 + 1, len = 0;
	char *buf = sodium_malloc(cap);
	if (!buf)
		return NULL;
	buf[0] = '\0';
	for (size_t i = 0; i < s->nkeys; i++) {
		char b64[sodium_base64_ENCODED_LEN(crypto_sign_SECRETKEYBYTES,
						   sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
		sodium_bin2base64(b64, sizeof(b64), s->keys[i].sk, crypto_sign_SECRETKEYBYTES,
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		len += (size_t)snprintf(buf + len, cap - len, "%s %" PRId64 " %" PRId64 " %s\n",
					s->keys[i].kid, s->keys[i].created_ms,
					s->keys[i].retired_ms, b64);
		sodium_memzero(b64, sizeof(b64));
	}
	*lenp = len;
	return buf;
}

static int save_keys(const struct secrets *s)
{
	size_t len;
	char *buf = format_keys(s, &len);
	if (!buf)
		return -1;
	int r = write_secret_file(s->signing_path, buf, len);
	sodium_free(buf);
	return r;
}

static int parse_key_line(char *line, struct signing_key *k)
{
	char kid[32], b64[128], *save = NULL, *end;
	const char *f[4];
	for (int i = 0; i < 4; i++) {
		f[i] = strtok_r(i ? NULL : line, " \t\n", &save);
		if (!f[i])
			return -1;
	}
	if (strlen(f[0]) >= sizeof(kid) || strlen(f[3]) >= sizeof(b64))
		return -1;
	strcpy(kid, f[0]);
	strcpy(b64, f[3]);
	errno = 0;
	long long created = strtoll(f[1], &end, 10);
	if (errno || *end)
		return -1;
	long long retired = strtoll(f[2], &end, 10);
	if (errno || *end)
		return -1;
	k->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (!k->sk)
		return -1;
	size_t bl = 0;
	int r = sodium_base642bin(k->sk, crypto_sign_SECRETKEYBYTES, b64, strlen(b64), NULL, &bl,
				  NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(b64, sizeof(b64));
	if (r < 0 || bl != crypto_sign_SECRETKEYBYTES)
		return -1;
	crypto_sign_ed25519_sk_to_pk(k->pk, k->sk);
	jwt_kid_of(k->pk, k->kid);
	if (strcmp(kid, k->kid) != 0)
		return -1; /* the kid must match the key it names */
	k->created_ms = created;
	k->retired_ms = retired;
	return 0;
}

static int load_keys(struct secrets *s, char *err, size_t errlen)
{
	const char *path = s->signing_path;
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		if (new_key(&s->keys[0]) < 0) {
			seterr(err, errlen, "cannot allocate protected memory");
			return -1;
		}
		s->nkeys = 1;
		if (save_keys(s) < 0) {
			seterr(err, errlen, "cannot create the signing key file %s: %s", path,
			       strerror(errno));
			return -1;
		}
		log_info("generated a new token-signing key %s in %s", s->keys[0].kid, path);
		return 0;
	}
	if (secret_file_ok(path, err, errlen) < 0)
		return -1;
	FILE *f = fopen(path, "re");
	if (!f) {
		seterr(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	char *line = sodium_malloc(512);
	int bad = !line;
	while (!bad && fgets(line, 512, f)) {
		if (s->nkeys == MAX_SIGNING_KEYS || parse_key_line(line, &s->keys[s->nkeys]) < 0)
			bad = 1;
		else
			s->nkeys++;
	}
	fclose(f);
	if (line)
		sodium_free(line);
	size_t current = 0;
	for (size_t i = 0; i < s->nkeys; i++)
		current += s->keys[i].retired_ms == 0;
	if (bad || current != 1) {
		seterr(err, errlen, "the signing key file %s is damaged", path);
		return -1;
	}
	return 0;
}

int secrets_load(struct secrets *s, const char *pepper_path, const char *signing_path, char *err,
		 size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->signing_path = strdup(signing_path);
	if (!s->signing_path) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	if (load_pepper(s, pepper_path, err, errlen) < 0 || load_keys(s, err, errlen) < 0) {
		secrets_free(s);
		return -1;
	}
	return 0;
}

void secrets_free(struct secrets *s)
{
	if (s->pepper)
		sodium_free(s->pepper);
	for (size_t i = 0; i < MAX_SIGNING_KEYS; i++)
		if (s->keys[i].sk)
			sodium_free(s->keys[i].sk);
	if (s->snap_sk)
		sodium_free(s->snap_sk);
	free(s->signing_path);
	memset(s, 0, sizeof(*s));
}

int secrets_uninstall(struct secrets *s)
{
	size_t cur = s->nkeys, prev = s->nkeys;
	for (size_t i = 0; i < s->nkeys; i++) {
		if (s->keys[i].retired_ms == 0)
			cur = i;
		else if (prev == s->nkeys || s->keys[i].retired_ms > s->keys[prev].retired_ms)
			prev = i;
	}
	if (cur == s->nkeys || prev == s->nkeys)
		return -1;
	sodium_free(s->keys[cur].sk);
	s->keys[prev].retired_ms = 0;
	for (size_t i = cur; i + 1 < s->nkeys; i++)
		s->keys[i] = s->keys[i + 1];
	s->keys[--s->nkeys].sk = NULL;
	return save_keys(s);
}

const struct signing_key *secrets_current(const struct secrets *s)
{
	for (size_t i = 0; i < s->nkeys; i++)
		if (s->keys[i].retired_ms == 0)
			return &s->keys[i];
	return NULL;
}

const struct signing_key *secrets_find(const struct secrets *s, const char *kid, int64_t now_ms)
{
	for (size_t i = 0; i < s->nkeys; i++) {
		const struct signing_key *k = &s->keys[i];
		if (strcmp(k->kid, kid) == 0 &&
		    (k->retired_ms == 0 || now_ms - k->retired_ms < SIGNING_KEY_GRACE_MS))
			return k;
	}
	return NULL;
}

int secrets_generate(struct signing_key *k)
{
	memset(k, 0, sizeof(*k));
	return new_key(k);
}

void secrets_discard(struct signing_key *k)
{
	if (k->sk)
		sodium_free(k->sk);
	k->sk = NULL;
}

int secrets_rotate(struct secrets *s, char *err, size_t errlen)
{
	struct signing_key fresh;
	if (secrets_generate(&fresh) < 0) {
		seterr(err, errlen, "cannot allocate protected memory");
		return -1;
	}
	return secrets_install(s, &fresh, err, errlen);
}

int secrets_install(struct secrets *s, struct signing_key *k, char *err, size_t errlen)
{
	int64_t now = svca_wall_ms();
	struct signing_key fresh = *k;
	k->sk = NULL; /* ownership moves here */
	/* Drop keys whose grace has passed, to make room. */
	size_t n = 0;
	for (size_t i = 0; i < s->nkeys; i++) {
		struct signing_key *old = &s->keys[i];
		if (old->retired_ms && now - old->retired_ms >= SIGNING_KEY_GRACE_MS) {
			sodium_free(old->sk);
			old->sk = NULL;
			continue;
		}
		s->keys[n++] = *old;
	}
	for (size_t i = n; i < MAX_SIGNING_KEYS; i++)
		s->keys[i].sk = NULL;
	s->nkeys = n;
	if (s->nkeys == MAX_SIGNING_KEYS) {
		sodium_free(fresh.sk);
		seterr(err, errlen, "too many signing keys in their grace period; try again later");
		return -1;
	}
	struct signing_key *cur = (struct signing_key *)secrets_current(s);
	if (cur)
		cur->retired_ms = now;
	s->keys[s->nkeys++] = fresh;
	if (save_keys(s) < 0) {
		seterr(err, errlen, "cannot write %s: %s", s->signing_path, strerror(errno));
		s->nkeys--;
		sodium_free(fresh.sk);
		s->keys[s->nkeys].sk = NULL;
		if (cur)
			cur->retired_ms = 0;
		return -1;
	}
	return 0;
}

char *secrets_export(const struct secrets *s, size_t *len)
{
	return format_keys(s, len);
}

/* Parses all lines first: a damaged text changes nothing. */
int secrets_import(struct secrets *s, const char *text, size_t len, char *err, size_t errlen)
{
	struct signing_key keys[MAX_SIGNING_KEYS];
	size_t n = 0, current = 0;
	int bad = 0;
	char *copy = sodium_malloc(len + 1);
	if (!copy) {
		seterr(err, errlen, "cannot allocate protected memory");
		return -1;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	memset(keys, 0, sizeof(keys));
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line && !bad;
	     line = strtok_r(NULL, "\n", &save)) {
		if (n == MAX_SIGNING_KEYS || parse_key_line(line, &keys[n]) < 0)
			bad = 1;
		else
			current += keys[n++].retired_ms == 0;
	}
	sodium_free(copy);
	if (bad || current != 1) {
		for (size_t i = 0; i <= n && i < MAX_SIGNING_KEYS; i++)
			if (keys[i].sk)
				sodium_free(keys[i].sk);
		seterr(err, errlen, "the organization's signing keys are damaged");
		return -1;
	}
	for (size_t i = 0; i < s->nkeys; i++)
		sodium_free(s->keys[i].sk);
	memcpy(s->keys, keys, sizeof(keys));
	s->nkeys = n;
	if (save_keys(s) < 0)
		log_warn("cannot write %s: %s (the keys in memory are current)", s->signing_path,
			 strerror(errno));
	return 0;
}
