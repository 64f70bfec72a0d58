/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Building and installing the NSS snapshot.  libc only. */
#include "nss_format.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- validation shared with the reader's rules ------------------------------ */

static int name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > SVCA_SNAP_NAME_MAX)
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* A path or shell for the header: absolute, no ':' or control character. */
static int path_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > SVCA_SNAP_PATH_MAX || s[0] != '/')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == ':')
			return 0;
	}
	return 1;
}

void nss_gecos_sanitize(const char *in, char *out, size_t outlen)
{
	size_t max = outlen ? outlen - 1 : 0, n = 0;
	if (max > SVCA_SNAP_GECOS_MAX)
		max = SVCA_SNAP_GECOS_MAX;
	if (!outlen)
		return;
	for (; in && in[n] && n < max; n++) {
		unsigned char c = (unsigned char)in[n];
		out[n] = (c < 0x20 || c == 0x7f || c == ':') ? ' ' : (char)c;
	}
	/* Cut inside a UTF-8 sequence: drop its leading bytes. */
	if (in && in[n]) {
		size_t k = n;
		while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80)
			k--;
		if (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0xC0)
			n = k - 1;
	}
	out[n] = '\0';
}

/* ---- building ------------------------------------------------------------------- */

struct strtab {
	uint8_t *p;
	size_t len, cap;
	int failed;
};

static struct svca_snap_str st_add(struct strtab *t, const char *s, size_t n)
{
	struct svca_snap_str r = { 0, 0 };
	if (t->failed)
		return r;
	if (t->len + n + 1 > t->cap) {
		size_t ncap = t->cap ? t->cap : 4096;
		while (ncap < t->len + n + 1)
			ncap *= 2;
		uint8_t *np = realloc(t->p, ncap);
		if (!np) {
			t->failed = 1;
			return r;
		}
		t->p = np;
		t->cap = ncap;
	}
	memcpy(t->p + t->len, s, n);
	t->p[t->len + n] = 0;
	r.off = (uint32_t)t->len;
	r.len = (uint32_t)n;
	t->len += n + 1;
	return r;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct nss_entry *)a)->name, ((const struct nss_entry *)b)->name);
}

/* By uid, then name: of two entries with one uid, the first name stays. */
static int by_uid(const void *a, const void *b)
{
	const struct nss_entry *p = a, *q = b;
	if (p->uid != q->uid)
		return p->uid < q->uid ? -1 : 1;
	return strcmp(p->name, q->name);
}

struct name_ix {
	const char *name;
	uint32_t rec;
};

static int ix_by_name(const void *a, const void *b)
{
	return strcmp(((const struct name_ix *)a)->name, ((const struct name_ix *)b)->name);
}

static size_t align8(size_t x)
{
	return (x + SVCA_SNAP_ALIGN - 1) & ~(size_t)(SVCA_SNAP_ALIGN - 1);
}

/* Drops entries marked with a NULL name, keeping the order. */
static size_t compact(struct nss_entry *e, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (e[i].name)
			e[k++] = e[i];
	return k;
}

static void skipped(nss_skip_fn skip, void *ctx, struct nss_entry *e, const char *why)
{
	if (skip)
		skip(ctx, e, why);
	e->name = NULL;
}

int nss_params_ok(const struct nss_params *p)
{
	return p->uid_min >= SVCA_SNAP_MIN_ID && p->uid_min <= p->uid_max &&
	       p->uid_max != UINT32_MAX && p->sudo_gid >= SVCA_SNAP_MIN_ID &&
	       p->sudo_gid != UINT32_MAX && path_ok(p->home_base) && path_ok(p->login_shell) &&
	       path_ok(p->nologin_shell) && name_ok(p->sudo_group);
}

const char *nss_entry_refused(const struct nss_params *p, const char *name, uint32_t uid)
{
	if (!name_ok(name))
		return "the name is not a valid user name";
	if (uid < p->uid_min || uid > p->uid_max)
		return "the uid is outside [uid_min, uid_max]";
	if (uid == p->sudo_gid)
		return "the uid is the gid reserved for sudo_group";
	if (strcmp(name, p->sudo_group) == 0)
		return "the name is the sudo_group name";
	return NULL;
}

size_t nss_snap_header_strings(const struct nss_params *p)
{
	return strlen(p->home_base) + 1 + strlen(p->login_shell) + 1 + strlen(p->nologin_shell) +
	       1 + strlen(p->sudo_group) + 1;
}

static struct svca_snap_str hstr(const char *s, size_t *off)
{
	struct svca_snap_str r = { (uint32_t)*off, (uint32_t)strlen(s) };
	*off += r.len + 1;
	return r;
}

int nss_snap_header(const struct nss_params *p, size_t n, size_t nsudo, size_t rec_str_bytes,
		    struct svca_snap_header *h)
{
	memset(h, 0, sizeof(*h));
	if (!nss_params_ok(p)) {
		errno = EINVAL;
		return -1;
	}
	if (n > SVCA_SNAP_MAX_SIZE / sizeof(struct svca_snap_rec) || nsudo > n ||
	    rec_str_bytes > SVCA_SNAP_MAX_SIZE) {
		errno = EFBIG;
		return -1;
	}
	memcpy(h->magic, SVCA_SNAP_MAGIC, sizeof(h->magic));
	h->byte_order = SVCA_SNAP_BYTE_ORDER;
	h->version = SVCA_SNAP_VERSION;
	h->header_size = (uint32_t)sizeof(*h);
	h->uid_min = p->uid_min;
	h->uid_max = p->uid_max;
	h->sudo_gid = p->sudo_gid;
	size_t soff = 0;
	h->home_base = hstr(p->home_base, &soff);
	h->login_shell = hstr(p->login_shell, &soff);
	h->nologin_shell = hstr(p->nologin_shell, &soff);
	h->sudo_group = hstr(p->sudo_group, &soff);

	size_t off = align8(sizeof(*h));
	size_t rec_off = off;
	off = align8(off + n * sizeof(struct svca_snap_rec));
	size_t name_off = off;
	off = align8(off + n * sizeof(uint32_t));
	size_t sudo_off = off;
	off = align8(off + nsudo * sizeof(uint32_t));
	size_t str_off = off;
	size_t str_size = soff + rec_str_bytes;
	size_t total = str_off + str_size;
	if (total > SVCA_SNAP_MAX_SIZE) {
		errno = EFBIG;
		return -1;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	h->serial = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	h->file_size = total;
	h->n_records = (uint32_t)n;
	h->n_sudo = (uint32_t)nsudo;
	h->rec_off = (uint32_t)rec_off;
	h->name_idx_off = (uint32_t)name_off;
	h->sudo_idx_off = (uint32_t)sudo_off;
	h->str_off = (uint32_t)str_off;
	h->str_size = (uint32_t)str_size;
	return 0;
}

void nss_snap_header_strings_put(const struct nss_params *p, uint8_t *dst)
{
	const char *v[4] = { p->home_base, p->login_shell, p->nologin_shell, p->sudo_group };
	for (int i = 0; i < 4; i++) {
		size_t l = strlen(v[i]) + 1;
		memcpy(dst, v[i], l);
		dst += l;
	}
}

int nss_snap_build(const struct nss_params *p, struct nss_entry *e, size_t n, nss_skip_fn skip,
		   void *ctx, uint8_t **img, size_t *len)
{
	*img = NULL;
	*len = 0;
	if (!nss_params_ok(p)) {
		errno = EINVAL;
		return -1;
	}

	/* The rules the reader enforces, so one bad entry cannot make the
	 * whole snapshot unusable. */
	for (size_t i = 0; i < n; i++) {
		const char *why = nss_entry_refused(p, e[i].name, e[i].uid);
		if (why)
			skipped(skip, ctx, &e[i], why);
	}
	n = compact(e, n);
	if (n)
		qsort(e, n, sizeof(*e), by_name);
	for (size_t i = 1; i < n; i++)
		if (e[i - 1].name && strcmp(e[i - 1].name, e[i].name) == 0)
			skipped(skip, ctx, &e[i], "another account has the same name");
	n = compact(e, n);
	if (n)
		qsort(e, n, sizeof(*e), by_uid);
	for (size_t i = 1; i < n; i++)
		if (e[i].uid == e[i - 1].uid)
			skipped(skip, ctx, &e[i], "another account has the same uid");
	n = compact(e, n);
	if (n > (SVCA_SNAP_MAX_SIZE / sizeof(struct svca_snap_rec))) {
		errno = EFBIG;
		return -1;
	}

	struct strtab t = { 0 };
	struct svca_snap_header h;
	size_t hs = nss_snap_header_strings(p);
	uint8_t hsbuf[4 * (SVCA_SNAP_PATH_MAX + 1)];
	nss_snap_header_strings_put(p, hsbuf);
	st_add(&t, (const char *)hsbuf, hs - 1); /* four strings, NUL-separated */

	struct svca_snap_rec *recs = calloc(n ? n : 1, sizeof(*recs));
	struct name_ix *ix = calloc(n ? n : 1, sizeof(*ix));
	uint32_t *sudo = calloc(n ? n : 1, sizeof(*sudo));
	uint8_t *out = NULL;
	int ret = -1;
	if (!recs || !ix || !sudo) {
		errno = ENOMEM;
		goto out;
	}
	char gecos[SVCA_SNAP_GECOS_MAX + 1];
	for (size_t i = 0; i < n; i++) {
		recs[i].uid = e[i].uid;
		recs[i].flags = e[i].flags & SVCA_SNAP_FLAGS_KNOWN;
		recs[i].name = st_add(&t, e[i].name, strlen(e[i].name));
		nss_gecos_sanitize(e[i].description, gecos, sizeof(gecos));
		recs[i].gecos = st_add(&t, gecos, strlen(gecos));
		ix[i].name = e[i].name;
		ix[i].rec = (uint32_t)i;
	}
	if (t.failed) {
		errno = ENOMEM;
		goto out;
	}
	if (n)
		qsort(ix, n, sizeof(*ix), ix_by_name);
	size_t nsudo = 0;
	for (size_t i = 0; i < n; i++)
		if (recs[ix[i].rec].flags & SVCA_SNAP_SUDO)
			sudo[nsudo++] = ix[i].rec;

	if (nss_snap_header(p, n, nsudo, t.len - hs, &h) < 0)
		goto out;
	size_t total = (size_t)h.file_size;
	out = calloc(1, total);
	if (!out) {
		errno = ENOMEM;
		goto out;
	}
	memcpy(out, &h, sizeof(h));
	if (n)
		memcpy(out + h.rec_off, recs, n * sizeof(*recs));
	for (size_t i = 0; i < n; i++)
		memcpy(out + h.name_idx_off + i * sizeof(uint32_t), &ix[i].rec, sizeof(uint32_t));
	if (nsudo)
		memcpy(out + h.sudo_idx_off, sudo, nsudo * sizeof(uint32_t));
	memcpy(out + h.str_off, t.p, t.len);
	*img = out;
	*len = total;
	out = NULL;
	ret = 0;
out:
	free(out);
	free(recs);
	free(ix);
	free(sudo);
	free(t.p);
	return ret;
}

/* ---- installing ------------------------------------------------------------------ */

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	errno = saved;
	return -1;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Removes temporary files left by a writer that died before its rename. */
static void remove_stale_tmp(int dfd)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "." SVCA_SNAP_FILE ".", sizeof(SVCA_SNAP_FILE) + 1) ||
		    !strncmp(de->d_name, "." SVCA_SNAP_RANGE_LINK ".",
			     sizeof(SVCA_SNAP_RANGE_LINK) + 1))
			unlinkat(dfd, de->d_name, 0);
	closedir(d);
}

static int update_range_link(int dfd, const struct svca_snap_header *h, char *err, size_t errlen)
{
	char want[96], have[96], tmp[64];
	snprintf(want, sizeof(want), SVCA_SNAP_RANGE_PREFIX "%" PRIu32 ":%" PRIu32 ":%" PRIu32,
		 h->uid_min, h->uid_max, h->sudo_gid);
	ssize_t n = readlinkat(dfd, SVCA_SNAP_RANGE_LINK, have, sizeof(have) - 1);
	if (n >= 0) {
		have[n] = '\0';
		if (strcmp(have, want) == 0)
			return 0;
	}
	snprintf(tmp, sizeof(tmp), "." SVCA_SNAP_RANGE_LINK ".%ld", (long)getpid());
	unlinkat(dfd, tmp, 0);
	if (symlinkat(want, dfd, tmp) < 0)
		return fail(err, errlen, "cannot create the range link: %s", strerror(errno));
	if (renameat(dfd, tmp, dfd, SVCA_SNAP_RANGE_LINK) < 0) {
		int e = errno;
		unlinkat(dfd, tmp, 0);
		errno = e;
		return fail(err, errlen, "cannot rename the range link: %s", strerror(errno));
	}
	return 0;
}

struct buf_emit {
	const uint8_t *img;
	size_t len;
};

static int emit_buf(void *ctx, int fd)
{
	const struct buf_emit *b = ctx;
	return write_all(fd, b->img, b->len);
}

int nss_snap_install(const char *dir, const uint8_t *img, size_t len, char *err, size_t errlen)
{
	struct svca_snap_header h;
	if (len < sizeof(h))
		return fail(err, errlen, "snapshot image too short");
	memcpy(&h, img, sizeof(h));
	struct buf_emit b = { img, len };
	return nss_snap_install_emit(dir, &h, emit_buf, &b, err, errlen);
}

int nss_snap_install_emit(const char *dir, const struct svca_snap_header *hp, nss_emit_fn emit,
			  void *ctx, char *err, size_t errlen)
{
	const struct svca_snap_header h = *hp;
	struct stat st;
	static int cleaned;

	if (stat(dir, &st) < 0) {
		if (errno != ENOENT || mkdir(dir, 0755) < 0)
			return fail(err, errlen, "nss_dir %s: %s", dir, strerror(errno));
		/* mkdir honours the umask (077 in the daemon) */
		if (chmod(dir, 0755) < 0 || stat(dir, &st) < 0)
			return fail(err, errlen, "nss_dir %s: %s", dir, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return fail(err, errlen, "nss_dir %s is not a directory", dir);
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		errno = EPERM;
		return fail(err, errlen,
			    "nss_dir %s is writable by group or others (mode %04o): refusing to "
			    "publish accounts there; run: chmod 755 %s",
			    dir, (unsigned)(st.st_mode & 07777), dir);
	}
	if ((st.st_mode & 0555) != 0555 && st.st_uid == geteuid())
		chmod(dir, (st.st_mode & 07777) | 0555); /* readable by everyone */

	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fail(err, errlen, "cannot open nss_dir %s: %s", dir, strerror(errno));
	if (!cleaned) {
		remove_stale_tmp(dfd);
		cleaned = 1;
	}

	char tmp[64];
	snprintf(tmp, sizeof(tmp), "." SVCA_SNAP_FILE ".%ld", (long)getpid());
	unlinkat(dfd, tmp, 0);
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		fail(err, errlen, "cannot create %s/%s: %s", dir, tmp, strerror(errno));
		close(dfd);
		return -1;
	}
	if (fchmod(fd, 0644) < 0 || emit(ctx, fd) < 0 || fsync(fd) < 0) {
		fail(err, errlen, "cannot write %s/%s: %s", dir, tmp, strerror(errno));
		close(fd);
		unlinkat(dfd, tmp, 0);
		close(dfd);
		return -1;
	}
	if (close(fd) < 0 || renameat(dfd, tmp, dfd, SVCA_SNAP_FILE) < 0) {
		fail(err, errlen, "cannot install %s/%s: %s", dir, SVCA_SNAP_FILE, strerror(errno));
		unlinkat(dfd, tmp, 0);
		close(dfd);
		return -1;
	}
	int r = update_range_link(dfd, &h, err, errlen);
	if (fsync(dfd) < 0 && r == 0)
		r = fail(err, errlen, "cannot fsync nss_dir %s: %s", dir, strerror(errno));
	close(dfd);
	return r;
}
