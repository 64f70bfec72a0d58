/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libnss_svcacct.so.2: passwd, group and initgroups for svcacct service
 * accounts, from the snapshot svcacctd writes to nss_dir.  Never talks to
 * the daemon.  See libnss_svcacct(8).
 *
 * The snapshot is kept mapped read-only between calls (no descriptor is
 * kept open).  Every call first stat()s the file: when it was replaced
 * (device, inode, size, mtime or ctime differ) it is mapped and checked
 * again, so a new snapshot is seen at once.  svcacctd replaces the file by
 * rename, never in place, so a mapped image does not change under a
 * reader.  An id outside the snapshot's range is answered NOTFOUND from
 * the mapped header, or, before the first mapping, from the "range"
 * symbolic link (readlink opens nothing).
 *
 * One mutex guards the mapping and the enumeration cursors; a lookup holds
 * it only for a binary search and a copy.  pthread_atfork keeps it usable
 * in a child forked while another thread held it.
 *
 * The directory is SVCA_NSS_DIR (build time), or $SVCACCT_NSS_DIR for
 * processes that are not setuid/setgid (secure_getenv); a snapshot found
 * through the variable is used only when it belongs to root or to the
 * process's effective uid, so a user cannot plant identities in the
 * programs root runs from the user's environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "defaults.h"
#include "snapshot.h"

#define SVCA_NSS_DIR_ENV "SVCACCT_NSS_DIR"

#define EXPORT __attribute__((visibility("default")))

enum nss_status _nss_svcacct_getpwnam_r(const char *, struct passwd *, char *, size_t,
					int *) EXPORT;
enum nss_status _nss_svcacct_getpwuid_r(uid_t, struct passwd *, char *, size_t, int *) EXPORT;
enum nss_status _nss_svcacct_setpwent(int) EXPORT;
enum nss_status _nss_svcacct_getpwent_r(struct passwd *, char *, size_t, int *) EXPORT;
enum nss_status _nss_svcacct_endpwent(void) EXPORT;
enum nss_status _nss_svcacct_getgrnam_r(const char *, struct group *, char *, size_t, int *) EXPORT;
enum nss_status _nss_svcacct_getgrgid_r(gid_t, struct group *, char *, size_t, int *) EXPORT;
enum nss_status _nss_svcacct_setgrent(int) EXPORT;
enum nss_status _nss_svcacct_getgrent_r(struct group *, char *, size_t, int *) EXPORT;
enum nss_status _nss_svcacct_endgrent(void) EXPORT;
enum nss_status _nss_svcacct_initgroups_dyn(const char *, gid_t, long int *, long int *, gid_t **,
					    long int, int *) EXPORT;

/* ---- the mapping ------------------------------------------------------------------ */

enum { M_NONE, M_VALID, M_INVALID };

struct ident {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
	uid_t uid;
	mode_t mode;
};

static struct {
	char path[PATH_MAX];
	int state;
	int err; /* errno for M_INVALID */
	struct ident id;
	void *map;
	size_t len;
	struct snap s;
	/* enumeration cursors: the next uid / gid to return is >= these */
	uint64_t pw_next;
	int gr_sudo_done;
	uint64_t gr_next;
} C;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void atfork_prepare(void)
{
	pthread_mutex_lock(&lock);
}
static void atfork_release(void)
{
	pthread_mutex_unlock(&lock);
}

__attribute__((constructor)) static void svcacct_nss_init(void)
{
	pthread_atfork(atfork_prepare, atfork_release, atfork_release);
}

__attribute__((destructor)) static void svcacct_nss_fini(void)
{
	if (C.map)
		munmap(C.map, C.len);
	C.map = NULL;
	C.state = M_NONE;
}

struct where {
	char dir[PATH_MAX];
	char path[PATH_MAX];
	int override;
};

static int where(struct where *w)
{
	const char *d = secure_getenv(SVCA_NSS_DIR_ENV);
	w->override = d && d[0] == '/';
	if (!w->override)
		d = SVCA_NSS_DIR;
	if ((size_t)snprintf(w->dir, sizeof(w->dir), "%s", d) >= sizeof(w->dir) ||
	    (size_t)snprintf(w->path, sizeof(w->path), "%s/%s", d, SVCA_SNAP_FILE) >=
		    sizeof(w->path))
		return -1;
	return 0;
}

static void ident_of(const struct stat *st, struct ident *id)
{
	memset(id, 0, sizeof(*id));
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtim = st->st_mtim;
	id->ctim = st->st_ctim;
	id->uid = st->st_uid;
	id->mode = st->st_mode;
}

static int ident_eq(const struct ident *a, const struct ident *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtim.tv_sec == b->mtim.tv_sec && a->mtim.tv_nsec == b->mtim.tv_nsec &&
	       a->ctim.tv_sec == b->ctim.tv_sec && a->ctim.tv_nsec == b->ctim.tv_nsec &&
	       a->uid == b->uid && a->mode == b->mode;
}

static void drop(void)
{
	if (C.map)
		munmap(C.map, C.len);
	C.map = NULL;
	C.len = 0;
	C.state = M_NONE;
	memset(&C.s, 0, sizeof(C.s));
}

/* Maps and checks the snapshot at w->path (lock held).  0 ok; else an
 * errno, with C.state M_INVALID when the file itself is unusable. */
static int load(const struct where *w)
{
	drop();
	int fd = open(w->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return errno ? errno : EIO;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return e;
	}
	snprintf(C.path, sizeof(C.path), "%s", w->path);
	ident_of(&st, &C.id);
	C.state = M_INVALID;
	C.err = EIO;
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(struct svca_snap_header) ||
	    st.st_size > (off_t)SVCA_SNAP_MAX_SIZE) {
		close(fd);
		return C.err;
	}
	/* A file others could have written is not trusted with identities. */
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) ||
	    (w->override && st.st_uid != 0 && st.st_uid != geteuid())) {
		C.err = EACCES;
		close(fd);
		return C.err;
	}
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		C.state = M_NONE; /* perhaps only memory: try again next call */
		return errno ? errno : ENOMEM;
	}
	if (snap_open(&C.s, m, (size_t)st.st_size) < 0) {
		munmap(m, (size_t)st.st_size);
		memset(&C.s, 0, sizeof(C.s));
		return C.err;
	}
	C.map = m;
	C.len = (size_t)st.st_size;
	C.state = M_VALID;
	return 0;
}

/* 1 when the range link says id is outside the range (readlink only). */
static int link_says_outside(const struct where *w, uint64_t id)
{
	char path[PATH_MAX], t[128];
	uint32_t min, max, sudo;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", w->dir, SVCA_SNAP_RANGE_LINK) >=
	    sizeof(path))
		return 0;
	ssize_t n = readlink(path, t, sizeof(t) - 1);
	if (n <= 0)
		return 0;
	t[n] = '\0';
	if (snap_parse_range(t, &min, &max, &sudo) < 0)
		return 0;
	return !((id >= min && id <= max) || id == sudo);
}

#define ANY_ID UINT64_MAX

/*
 * Makes the current snapshot available.  On NSS_STATUS_SUCCESS the lock is
 * held and C.s is usable; the caller unlocks.  id, unless ANY_ID, is the
 * uid or gid asked for: one outside the range is NOTFOUND at once.
 */
static enum nss_status begin(uint64_t id, int *errnop)
{
	struct where w;
	struct stat st;
	if (where(&w) < 0) {
		*errnop = ENAMETOOLONG;
		return NSS_STATUS_UNAVAIL;
	}
	if (stat(w.path, &st) < 0) {
		*errnop = errno == ENOENT || errno == ENOTDIR ? ENOENT : errno;
		return NSS_STATUS_UNAVAIL;
	}
	struct ident now;
	ident_of(&st, &now);

	pthread_mutex_lock(&lock);
	if (C.state == M_NONE || strcmp(C.path, w.path) != 0 || !ident_eq(&C.id, &now)) {
		if (id != ANY_ID && link_says_outside(&w, id)) {
			pthread_mutex_unlock(&lock);
			*errnop = ENOENT;
			return NSS_STATUS_NOTFOUND;
		}
		int e = load(&w);
		if (e) {
			pthread_mutex_unlock(&lock);
			*errnop = e;
			return NSS_STATUS_UNAVAIL;
		}
	}
	if (C.state != M_VALID) {
		*errnop = C.err;
		pthread_mutex_unlock(&lock);
		return NSS_STATUS_UNAVAIL;
	}
	if (id != ANY_ID && !snap_id_in_range(&C.s, id)) {
		pthread_mutex_unlock(&lock);
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	return NSS_STATUS_SUCCESS;
}

static enum nss_status end(enum nss_status st, int err, int *errnop)
{
	pthread_mutex_unlock(&lock);
	if (st != NSS_STATUS_SUCCESS)
		*errnop = err;
	return st;
}

static enum nss_status filled(int r, int *errnop)
{
	if (r == ERANGE)
		return end(NSS_STATUS_TRYAGAIN, ERANGE, errnop);
	if (r)
		return end(NSS_STATUS_UNAVAIL, EIO, errnop);
	return end(NSS_STATUS_SUCCESS, 0, errnop);
}

/* After a lookup: 0 to go on with *r, else the status has been returned
 * (NOTFOUND, or UNAVAIL/EIO for a damaged record) and the lock released. */
static int missed(int found, enum nss_status *st, int *errnop)
{
	if (found > 0)
		return 0;
	*st = found == 0 ? end(NSS_STATUS_NOTFOUND, ENOENT, errnop)
			 : end(NSS_STATUS_UNAVAIL, EIO, errnop);
	return 1;
}

/* ---- passwd ------------------------------------------------------------------------ */

enum nss_status _nss_svcacct_getpwnam_r(const char *name, struct passwd *pw, char *buf,
					size_t buflen, int *errnop)
{
	if (!snap_name_plausible(name)) {
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	enum nss_status st = begin(ANY_ID, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	const struct svca_snap_rec *r;
	if (missed(snap_by_name(&C.s, name, &r), &st, errnop))
		return st;
	return filled(snap_fill_passwd(&C.s, r, pw, buf, buflen), errnop);
}

enum nss_status _nss_svcacct_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen,
					int *errnop)
{
	enum nss_status st = begin((uint64_t)uid, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	const struct svca_snap_rec *r;
	if (missed(snap_by_uid(&C.s, uid, &r), &st, errnop))
		return st;
	return filled(snap_fill_passwd(&C.s, r, pw, buf, buflen), errnop);
}

enum nss_status _nss_svcacct_setpwent(int stayopen)
{
	(void)stayopen;
	pthread_mutex_lock(&lock);
	C.pw_next = 0;
	pthread_mutex_unlock(&lock);
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_svcacct_endpwent(void)
{
	return _nss_svcacct_setpwent(0);
}

/* The cursor is a uid, not an index: a snapshot replaced between two
 * calls continues where the last one stopped. */
enum nss_status _nss_svcacct_getpwent_r(struct passwd *pw, char *buf, size_t buflen, int *errnop)
{
	enum nss_status st = begin(ANY_ID, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	size_t i = snap_lower_bound(&C.s, C.pw_next);
	if (i >= C.s.h->n_records)
		return end(NSS_STATUS_NOTFOUND, ENOENT, errnop);
	const struct svca_snap_rec *r = &C.s.rec[i];
	if (!snap_rec_ok(&C.s, r))
		return end(NSS_STATUS_UNAVAIL, EIO, errnop);
	if (snap_fill_passwd(&C.s, r, pw, buf, buflen) == ERANGE)
		return end(NSS_STATUS_TRYAGAIN, ERANGE, errnop); /* the same entry next time */
	C.pw_next = (uint64_t)r->uid + 1;
	return end(NSS_STATUS_SUCCESS, 0, errnop);
}

/* ---- group ---------------------------------------------------------------------------- */

enum nss_status _nss_svcacct_getgrnam_r(const char *name, struct group *gr, char *buf,
					size_t buflen, int *errnop)
{
	if (!snap_name_plausible(name)) {
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	enum nss_status st = begin(ANY_ID, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	if (snap_is_sudo_group(&C.s, name))
		return filled(snap_fill_sudo_group(&C.s, gr, buf, buflen), errnop);
	const struct svca_snap_rec *r;
	if (missed(snap_by_name(&C.s, name, &r), &st, errnop))
		return st;
	return filled(snap_fill_group(&C.s, r, gr, buf, buflen), errnop);
}

enum nss_status _nss_svcacct_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen,
					int *errnop)
{
	enum nss_status st = begin((uint64_t)gid, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	if (gid == C.s.h->sudo_gid)
		return filled(snap_fill_sudo_group(&C.s, gr, buf, buflen), errnop);
	const struct svca_snap_rec *r;
	if (missed(snap_by_uid(&C.s, gid, &r), &st, errnop))
		return st;
	return filled(snap_fill_group(&C.s, r, gr, buf, buflen), errnop);
}

enum nss_status _nss_svcacct_setgrent(int stayopen)
{
	(void)stayopen;
	pthread_mutex_lock(&lock);
	C.gr_sudo_done = 0;
	C.gr_next = 0;
	pthread_mutex_unlock(&lock);
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_svcacct_endgrent(void)
{
	return _nss_svcacct_setgrent(0);
}

/* The sudo group first, then the private groups by gid. */
enum nss_status _nss_svcacct_getgrent_r(struct group *gr, char *buf, size_t buflen, int *errnop)
{
	enum nss_status st = begin(ANY_ID, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	if (!C.gr_sudo_done) {
		int x = snap_fill_sudo_group(&C.s, gr, buf, buflen);
		if (x == 0)
			C.gr_sudo_done = 1;
		return filled(x, errnop);
	}
	size_t i = snap_lower_bound(&C.s, C.gr_next);
	if (i >= C.s.h->n_records)
		return end(NSS_STATUS_NOTFOUND, ENOENT, errnop);
	const struct svca_snap_rec *r = &C.s.rec[i];
	if (!snap_rec_ok(&C.s, r))
		return end(NSS_STATUS_UNAVAIL, EIO, errnop);
	if (snap_fill_group(&C.s, r, gr, buf, buflen) == ERANGE)
		return end(NSS_STATUS_TRYAGAIN, ERANGE, errnop);
	C.gr_next = (uint64_t)r->uid + 1;
	return end(NSS_STATUS_SUCCESS, 0, errnop);
}

/* ---- initgroups --------------------------------------------------------------------------- */

/* Adds the sudo group to the supplementary groups of a member (the
 * private group is the primary group, passed as group). */
enum nss_status _nss_svcacct_initgroups_dyn(const char *user, gid_t group, long int *start,
					    long int *size, gid_t **groupsp, long int limit,
					    int *errnop)
{
	if (!snap_name_plausible(user)) {
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	enum nss_status st = begin(ANY_ID, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	const struct svca_snap_rec *r;
	if (missed(snap_by_name(&C.s, user, &r), &st, errnop))
		return st;
	gid_t sudo = (gid_t)C.s.h->sudo_gid;
	if (!(r->flags & SVCA_SNAP_SUDO) || sudo == group)
		return end(NSS_STATUS_SUCCESS, 0, errnop);
	for (long int i = 0; i < *start; i++)
		if ((*groupsp)[i] == sudo)
			return end(NSS_STATUS_SUCCESS, 0, errnop);
	if (*start >= *size) {
		if (limit > 0 && *size >= limit)
			return end(NSS_STATUS_SUCCESS, 0, errnop); /* full */
		long int nsize = *size > 0 ? *size * 2 : 16;
		if (limit > 0 && nsize > limit)
			nsize = limit;
		gid_t *ng = realloc(*groupsp, (size_t)nsize * sizeof(gid_t));
		if (!ng)
			return end(NSS_STATUS_TRYAGAIN, ENOMEM, errnop);
		*groupsp = ng;
		*size = nsize;
	}
	(*groupsp)[(*start)++] = sudo;
	return end(NSS_STATUS_SUCCESS, 0, errnop);
}
