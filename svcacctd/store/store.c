/* SPDX-License-Identifier: GPL-3.0-or-later */
/* GDBM behind a redo journal; see store.h for the design. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <gdbm.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "log.h"
#include "store_pg.h"

#define JOURNAL_MAGIC 0x534a5231u /* "SJR1" */
#define JOURNAL_HASH 16
#define CHECKPOINT_BYTES (8u << 20)
#define MAX_JOURNAL_RECORD (64u << 20)
/* The journal keeps zero-filled room ahead of its logical end, grown in
 * steps of JOURNAL_STEP: a batch written into room that is already
 * allocated and written overwrites data in place, so the fdatasync need
 * not write the inode (the size does not change) and the write needs no
 * new blocks.  Replay stops at the first record that is not valid; an
 * all-zero header ends the journal. */
#define JOURNAL_STEP (1u << 20)
/* GDBM cannot take back a change it failed to write for lack of space (the
 * file is left needing recovery): refuse changes while the file system is
 * nearly full, before GDBM tries. */
#define STORE_RESERVE_BYTES (1u << 20)

static const char *db_file[DB_COUNT] = { "state.db", "audit.db" };

struct undo {
	enum store_db db;
	char *key;
	uint8_t *old; /* NULL: the key did not exist */
	size_t oldlen;
};

struct store {
	struct pg_store *pg; /* hub mode: everything below is unused */
	char *dir;
	const void *hooks; /* store_set_hooks */
	GDBM_FILE db[DB_COUNT];
	int jfd;
	uint64_t jsize; /* durable bytes in the journal: its logical end */
	uint64_t jend;  /* file size; [jsize, jend) is zero-filled room */
	uint8_t *batch; /* journal records not yet written */
	size_t blen, bcap;
	size_t txn_start; /* batch offset where the current txn began */
	size_t txn_body;  /* offset of the current record's ops */
	struct undo *undo;
	size_t nundo, undocap;
	size_t txn_undo;       /* undo index where the current txn began */
	int walking[DB_COUNT]; /* store_iterate depth: the file is mapped */
	int in_txn;
	int fail_next;
	size_t fail_written;  /* bytes of the batch the failing write writes */
	int low_space;        /* the last transaction was refused for lack of space */
	int64_t space_until;  /* CLOCK_MONOTONIC ns: no statvfs needed before */
	uint64_t last_avail;  /* free bytes at the last look */
	uint64_t txn_reserve; /* the open transaction needs this much free */
	uint64_t fake_free;   /* test hook: free bytes to report; 0: real */
	int failed_flush;     /* a flush failed since store_take_failure */
	/* Group commit in the background (see store.h): batch generations,
	 * the batch in flight and the writer thread that writes it. */
	uint64_t open_gen; /* the batch being built */
	uint64_t durable_gen, failed_gen;
	uint8_t *ibatch; /* the batch in flight (buffers swap at seal) */
	size_t ilen, icap;
	size_t iundo; /* undo entries [0, iundo) belong to it */
	uint64_t igen;
	int inflight;
	int checkpoint_due; /* when the open batch is next written */
	struct flush_job {
		const uint8_t *buf;
		size_t len;
		uint64_t off;
		int fd;
		size_t fail_written; /* test hook: write this much, then fail */
		int fail_errno;      /* test hook, fault injection: 0 = none */
		int torn;            /* fault injection: half the batch, then ENOSPC */
		int fsync_errno;     /* fault injection */
		int slow;            /* fault injection: a slow disk */
		int err;             /* the result: 0 or an errno */
	} job;
	pthread_t writer;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int writer_up, job_posted, job_done, writer_stop, writer_failed;
	int efd;                    /* eventfd: the writer finished a job */
	struct rcache_slot *rcache; /* recent state.db reads, see store_get */
};

__attribute__((format(printf, 3, 4))) static void seterr(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
}

static char *path_in(const struct store *s, const char *name, const char *suffix)
{
	size_t n = strlen(s->dir) + strlen(name) + strlen(suffix) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s%s", s->dir, name, suffix);
	return p;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	close(fd);
	return r;
}

/* Copies src to dst durably: dst.tmp, fsync, rename. */
static int copy_file(const char *src, const char *dst)
{
	char tmp[PATH_MAX];
	int in = -1, out = -1, ret = -1;
	uint8_t buf[65536];

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", dst) >= sizeof(tmp))
		return -1;
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		goto out;
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		goto out;
	for (;;) {
		ssize_t r = read(in, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		for (ssize_t off = 0; off < r;) {
			ssize_t w = write(out, buf + off, (size_t)(r - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				goto out;
			off += w;
		}
	}
	if (fsync(out) < 0)
		goto out;
	if (close(out) < 0) {
		out = -1;
		goto out;
	}
	out = -1;
	if (fault_fail("rename", EIO) || rename(tmp, dst) < 0)
		goto out;
	ret = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (ret < 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
	}
	return ret;
}

/* GDBM's bucket cache, in buckets (one is a block, 4 KiB here, plus a
 * little): fixed, where GDBM 1.23 would grow it with the file to one entry
 * per bucket.  512 is about 2.3 MiB per database; with 100,000 accounts
 * state.db has some 1,500 buckets, and random look-ups in it cost 2.1 us
 * with every bucket cached, 3.1 us with 512 (hot keys: 1.2 us either way).
 * See the commit message for the figures. */
#define STORE_GDBM_CACHE 512

static GDBM_FILE open_db(const char *path, char *err, size_t errlen)
{
	/* No mmap: a mapped database counts in the daemon's RSS as it is
	 * touched (40 MiB with 100,000 accounts), and GDBM remaps it as it
	 * grows.  A read that misses the bucket cache (and each value read)
	 * is an lseek and a read instead; store_iterate maps the file for
	 * its walk. */
	GDBM_FILE f = gdbm_open(path, 0, GDBM_WRCREAT | GDBM_NOLOCK | GDBM_CLOEXEC | GDBM_NOMMAP,
				0600, NULL);
	if (!f) {
		seterr(err, errlen, "cannot open database %s: %s", path, gdbm_strerror(gdbm_errno));
		return NULL;
	}
	size_t cache = STORE_GDBM_CACHE;
	if (gdbm_setopt(f, GDBM_SETCACHESIZE, &cache, sizeof(cache)) != 0)
		log_warn("%s: cannot set the GDBM cache size: %s", path, gdbm_strerror(gdbm_errno));
	return f;
}

/* ---- raw GDBM access ------------------------------------------------------ */

/*
 * A small cache of state.db values, for the few records every login and
 * token exchange reads (the key, the account, its grants): without mmap
 * each GDBM read is an lseek and a read.  Direct-mapped by key; short keys
 * and small values only.  Every change to a database goes through raw_put
 * or raw_del below, which drop the key's entry first (new writes, undo,
 * replay alike), so a read never returns anything but what GDBM holds.
 */
#define RCACHE_SLOTS 1024
#define RCACHE_KEY_MAX 64
#define RCACHE_VAL_MAX 512
struct rcache_slot {
	uint8_t *val; /* NULL: empty */
	uint32_t vlen;
	uint8_t klen;
	char key[RCACHE_KEY_MAX];
};

static struct rcache_slot *rcache_slot(struct store *s, const char *key, size_t klen)
{
	if (!s->rcache || klen == 0 || klen >= RCACHE_KEY_MAX)
		return NULL;
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < klen; i++)
		h = (h ^ (uint8_t)key[i]) * 16777619u;
	return &s->rcache[h & (RCACHE_SLOTS - 1)];
}

static void rcache_clear_slot(struct rcache_slot *c)
{
	if (c->val) {
		sodium_memzero(c->val, c->vlen);
		free(c->val);
	}
	c->val = NULL;
}

static void rcache_drop(struct store *s, enum store_db db, const char *key, size_t klen)
{
	struct rcache_slot *c = db == DB_STATE ? rcache_slot(s, key, klen) : NULL;
	if (c && c->val && c->klen == klen && memcmp(c->key, key, klen) == 0)
		rcache_clear_slot(c);
}

static void rcache_free(struct store *s)
{
	if (!s->rcache)
		return;
	for (size_t i = 0; i < RCACHE_SLOTS; i++)
		rcache_clear_slot(&s->rcache[i]);
	free(s->rcache);
	s->rcache = NULL;
}

static int raw_get(GDBM_FILE f, const char *key, size_t klen, uint8_t **val, size_t *vlen)
{
	datum k = { .dptr = (char *)key, .dsize = (int)klen };
	datum v = gdbm_fetch(f, k);
	if (!v.dptr)
		return gdbm_errno == GDBM_ITEM_NOT_FOUND ? 0 : -1;
	*val = (uint8_t *)v.dptr;
	*vlen = (size_t)v.dsize;
	return 1;
}

static int raw_put(struct store *s, enum store_db db, const char *key, size_t klen,
		   const uint8_t *val, size_t vlen)
{
	rcache_drop(s, db, key, klen);
	if (klen > INT_MAX || vlen > INT_MAX || fault_hit("gdbm_store"))
		return -1;
	datum k = { .dptr = (char *)key, .dsize = (int)klen };
	datum v = { .dptr = (char *)val, .dsize = (int)vlen };
	return gdbm_store(s->db[db], k, v, GDBM_REPLACE) == 0 ? 0 : -1;
}

static int raw_del(struct store *s, enum store_db db, const char *key, size_t klen)
{
	rcache_drop(s, db, key, klen);
	datum k = { .dptr = (char *)key, .dsize = (int)klen };
	if (gdbm_delete(s->db[db], k) == 0)
		return 0;
	return gdbm_errno == GDBM_ITEM_NOT_FOUND ? 0 : -1;
}

/* ---- journal encoding ----------------------------------------------------- */

static int batch_reserve(struct store *s, size_t n)
{
	if (s->blen + n <= s->bcap)
		return 0;
	size_t ncap = s->bcap ? s->bcap : 4096;
	while (ncap < s->blen + n)
		ncap *= 2;
	uint8_t *nb = realloc(s->batch, ncap);
	if (!nb)
		return -1;
	s->batch = nb;
	s->bcap = ncap;
	return 0;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int batch_op(struct store *s, uint8_t op, enum store_db db, const char *key, size_t klen,
		    const uint8_t *val, size_t vlen)
{
	size_t need = 2 + 4 + klen + (op == 1 ? 4 + vlen : 0);
	if (klen > UINT32_MAX || vlen > UINT32_MAX || batch_reserve(s, need) < 0)
		return -1;
	uint8_t *p = s->batch + s->blen;
	p[0] = op;
	p[1] = (uint8_t)db;
	be32(p + 2, (uint32_t)klen);
	memcpy(p + 6, key, klen);
	if (op == 1) {
		be32(p + 6 + klen, (uint32_t)vlen);
		if (vlen)
			memcpy(p + 10 + klen, val, vlen);
	}
	s->blen += need;
	return 0;
}

/* Applies the ops of one journal record (replay). */
static int replay_ops(struct store *s, const uint8_t *p, size_t n)
{
	while (n > 0) {
		if (n < 6)
			return -1;
		uint8_t op = p[0], db = p[1];
		uint32_t klen = rd32(p + 2);
		if (db >= DB_COUNT || (op != 1 && op != 2) || klen > n - 6)
			return -1;
		const char *key = (const char *)p + 6;
		size_t used = 6 + klen;
		if (op == 1) {
			if (n - used < 4)
				return -1;
			uint32_t vlen = rd32(p + used);
			if (vlen > n - used - 4)
				return -1;
			if (raw_put(s, db, key, klen, p + used + 4, vlen) < 0)
				return -2;
			used += 4 + vlen;
		} else if (raw_del(s, db, key, klen) < 0) {
			return -2;
		}
		p += used;
		n -= used;
	}
	return 0;
}

static const uint8_t zeros[65536];

/* 1 when [off, end) of fd reads as zeros (the journal's unused room). */
static int all_zero(int fd, uint64_t off, uint64_t end)
{
	uint8_t buf[sizeof(zeros)];
	while (off < end) {
		size_t n = end - off < sizeof(buf) ? (size_t)(end - off) : sizeof(buf);
		ssize_t r = pread(fd, buf, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || memcmp(buf, zeros, (size_t)r) != 0)
			return 0;
		off += (uint64_t)r;
	}
	return 1;
}

/* Writes zeros over [off, end) of fd.  0 ok, -1 (errno) failed. */
static int write_zeros(int fd, uint64_t off, uint64_t end)
{
	while (off < end) {
		size_t n = end - off < sizeof(zeros) ? (size_t)(end - off) : sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = ENOSPC;
			return -1;
		}
		off += (uint64_t)w;
	}
	return 0;
}

/* Free bytes on the journal's file system (for an unprivileged user). */
static int free_bytes(const struct store *s, uint64_t *avail)
{
	struct statvfs v;
	if (s->fake_free) {
		*avail = s->fake_free;
		return 0;
	}
	if (fstatvfs(s->jfd, &v) < 0)
		return -1;
	*avail = (uint64_t)v.f_bavail * v.f_frsize;
	return 0;
}

/* Grows the journal's zero-filled room so that [jsize, jsize + need) lies
 * inside it, in whole JOURNAL_STEPs, unless that would leave less than
 * STORE_RESERVE_BYTES free: then the batch is appended past the end as
 * without room.  No sync here: the caller's fdatasync makes the zeros and
 * the new size durable (after a crash, the room may be shorter, or hold
 * zeros: either ends the journal).  A failure leaves the room as it was. */
static void journal_grow(struct store *s, uint64_t need)
{
	if (s->jsize + need <= s->jend)
		return;
	uint64_t want = (s->jsize + need + JOURNAL_STEP - 1) / JOURNAL_STEP * JOURNAL_STEP;
	uint64_t avail;
	if (free_bytes(s, &avail) < 0 || avail < STORE_RESERVE_BYTES + (want - s->jend))
		return;
	if (write_zeros(s->jfd, s->jend, want) < 0) {
		/* give the space back; zeros past jend would be harmless */
		if (ftruncate(s->jfd, (off_t)s->jend) < 0)
			log_warn("journal: cannot truncate after a failed extension: %s",
				 strerror(errno));
		return;
	}
	s->jend = want;
}

/* Gives the room back to the file system (it is nearly full). */
static void journal_release_room(struct store *s)
{
	uint64_t tail = s->jsize + (s->inflight ? s->ilen : 0); /* being written */
	if (s->jend > tail && ftruncate(s->jfd, (off_t)tail) == 0)
		s->jend = tail;
}

/* Replays every complete record; a torn tail (crash mid-write) is cut off,
 * and so is the zero-filled room after the last record. */
static int journal_replay(struct store *s, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(s->jfd, &st) < 0)
		return -1;
	uint64_t off = 0, size = (uint64_t)st.st_size;
	unsigned records = 0;
	uint8_t hdr[8];

	while (size - off >= 8 + JOURNAL_HASH) {
		if (pread(s->jfd, hdr, 8, (off_t)off) != 8)
			break;
		uint32_t len = rd32(hdr + 4);
		if (rd32(hdr) != JOURNAL_MAGIC || len > MAX_JOURNAL_RECORD ||
		    len + 8 + JOURNAL_HASH > size - off)
			break;
		uint8_t *rec = malloc(len + JOURNAL_HASH);
		if (!rec)
			return -1;
		uint8_t h[JOURNAL_HASH];
		int ok = pread(s->jfd, rec, len + JOURNAL_HASH, (off_t)(off + 8)) ==
			 (ssize_t)(len + JOURNAL_HASH);
		if (ok) {
			crypto_generichash(h, sizeof(h), rec, len, NULL, 0);
			ok = sodium_memcmp(h, rec + len, JOURNAL_HASH) == 0;
		}
		int r = ok ? replay_ops(s, rec, len) : -1;
		free(rec);
		if (r == -2) {
			seterr(err, errlen, "journal replay failed: %s", gdbm_strerror(gdbm_errno));
			return -1;
		}
		if (r < 0)
			break;
		off += 8 + len + JOURNAL_HASH;
		records++;
	}
	if (off != size && !all_zero(s->jfd, off, size))
		log_warn("journal: discarded a torn record at offset %llu (%llu bytes up to the "
			 "end)",
			 (unsigned long long)off, (unsigned long long)(size - off));
	if (records)
		log_info("journal: replayed %u transactions", records);
	return 0;
}

/* Syncs the databases, refreshes the base copies, empties the journal and,
 * with room, gives it fresh zero-filled room. */
static int checkpoint(struct store *s, int room)
{
	for (int i = 0; i < DB_COUNT; i++)
		if (gdbm_sync(s->db[i]) != 0)
			return -1;
	for (int i = 0; i < DB_COUNT; i++) {
		char *src = path_in(s, db_file[i], "");
		char *dst = path_in(s, db_file[i], ".base");
		int r = src && dst ? copy_file(src, dst) : -1;
		free(src);
		free(dst);
		if (r < 0)
			return -1;
	}
	if (fsync_dir(s->dir) < 0 || ftruncate(s->jfd, 0) < 0)
		return -1;
	s->jsize = 0;
	s->jend = 0;
	if (room)
		journal_grow(s, 1);
	if (fsync(s->jfd) < 0)
		return -1;
	return 0;
}

/* ---- open / close ----------------------------------------------------------- */

static int exists(const char *p)
{
	struct stat st;
	return p && lstat(p, &st) == 0;
}

struct store *store_open(const char *dir, char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));
	char *clean = NULL, *jpath = NULL;

	if (!s || !(s->dir = strdup(dir))) {
		seterr(err, errlen, "out of memory");
		free(s);
		return NULL;
	}
	s->jfd = -1;
	s->efd = -1;
	s->open_gen = 1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	clean = path_in(s, "clean", "");
	jpath = path_in(s, "journal", "");
	if (!clean || !jpath) {
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	int was_clean = exists(clean);

	/* After a crash the live databases may be mid-update: rebuild them
	 * from the last base copy (or from nothing) plus the journal. */
	for (int i = 0; i < DB_COUNT && !was_clean; i++) {
		char *live = path_in(s, db_file[i], "");
		char *base = path_in(s, db_file[i], ".base");
		int r = 0;
		if (!live || !base)
			r = -1;
		else if (exists(base))
			r = copy_file(base, live);
		else if (unlink(live) < 0 && errno != ENOENT)
			r = -1;
		if (r < 0)
			seterr(err, errlen, "cannot restore %s from its base copy: %s",
			       live ? live : db_file[i], strerror(errno));
		free(live);
		free(base);
		if (r < 0)
			goto fail;
	}
	for (int i = 0; i < DB_COUNT; i++) {
		char *p = path_in(s, db_file[i], "");
		s->db[i] = p ? open_db(p, err, errlen) : NULL;
		free(p);
		if (!s->db[i])
			goto fail;
	}
	s->jfd = open(jpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->jfd < 0) {
		seterr(err, errlen, "cannot open journal %s: %s", jpath, strerror(errno));
		goto fail;
	}
	if (!was_clean && journal_replay(s, err, errlen) < 0)
		goto fail;
	/* From here on the databases are not clean until store_close. */
	if (unlink(clean) < 0 && errno != ENOENT) {
		seterr(err, errlen, "cannot remove %s: %s", clean, strerror(errno));
		goto fail;
	}
	if (checkpoint(s, 1) < 0) {
		seterr(err, errlen, "cannot checkpoint the databases in %s: %s", dir,
		       strerror(errno));
		goto fail;
	}
	free(clean);
	free(jpath);
	return s;
fail:
	free(clean);
	free(jpath);
	for (int i = 0; i < DB_COUNT; i++)
		if (s->db[i])
			gdbm_close(s->db[i]);
	if (s->jfd >= 0)
		close(s->jfd);
	free(s->dir);
	free(s);
	return NULL;
}

static void undo_free(struct store *s, size_t from)
{
	for (size_t i = from; i < s->nundo; i++) {
		free(s->undo[i].key);
		free(s->undo[i].old);
	}
	s->nundo = from;
}

static void writer_stop(struct store *s);

static void release(struct store *s)
{
	writer_stop(s);
	rcache_free(s);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	if (s->ibatch)
		sodium_memzero(s->ibatch, s->icap);
	free(s->ibatch);
	close(s->jfd);
	if (s->efd >= 0)
		close(s->efd);
	undo_free(s, 0);
	free(s->undo);
	if (s->batch)
		sodium_memzero(s->batch, s->bcap);
	free(s->batch);
	free(s->dir);
	free(s);
}

void store_abandon(struct store *s)
{
	if (s->pg) {
		pgs_close(s->pg);
		free(s);
		return;
	}
	for (int i = 0; i < DB_COUNT; i++)
		gdbm_close(s->db[i]);
	release(s);
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->pg) {
		pgs_close(s->pg);
		free(s);
		return;
	}
	int ok = store_flush(s) == 0 && checkpoint(s, 0) == 0;
	for (int i = 0; i < DB_COUNT; i++)
		gdbm_close(s->db[i]);
	if (ok) {
		char *clean = path_in(s, "clean", "");
		int fd = clean ? open(clean, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) : -1;
		if (fd >= 0) {
			fsync(fd);
			close(fd);
			fsync_dir(s->dir);
		}
		free(clean);
	} else {
		log_err("shutdown checkpoint failed; the next start recovers from the journal");
	}
	release(s);
}

/* ---- reads ------------------------------------------------------------------ */

int store_get(struct store *s, enum store_db db, const char *key, uint8_t **val, size_t *vlen)
{
	if (s->pg)
		return pgs_get(s->pg, db, key, val, vlen);
	size_t klen = strlen(key);
	if (db == DB_STATE && !s->rcache)
		s->rcache = calloc(RCACHE_SLOTS, sizeof(*s->rcache));
	struct rcache_slot *c = db == DB_STATE ? rcache_slot(s, key, klen) : NULL;
	if (c && c->val && c->klen == klen && memcmp(c->key, key, klen) == 0) {
		uint8_t *copy = malloc(c->vlen ? c->vlen : 1);
		if (copy) {
			memcpy(copy, c->val, c->vlen);
			*val = copy;
			*vlen = c->vlen;
			return 1;
		}
	}
	int r = raw_get(s->db[db], key, klen, val, vlen);
	if (r == 1 && c && *vlen <= RCACHE_VAL_MAX) {
		uint8_t *keep = malloc(*vlen ? *vlen : 1);
		if (keep) {
			rcache_clear_slot(c);
			memcpy(keep, *val, *vlen);
			c->val = keep;
			c->vlen = (uint32_t)*vlen;
			c->klen = (uint8_t)klen;
			memcpy(c->key, key, klen);
		}
	}
	return r;
}

/* A walk reads every key: without mmap, GDBM reads each one with an lseek
 * and a read (1.4 us a key, 0.3 us mapped).  So the file is mapped for the
 * walk only, and unmapped after it: the mapped pages (clean page cache)
 * leave the daemon's RSS again. */
static void walk_map(struct store *s, enum store_db db, int on)
{
	if (on ? s->walking[db]++ > 0 : --s->walking[db] > 0)
		return;
	int v = on;
	if (gdbm_setopt(s->db[db], GDBM_SETMMAP, &v, sizeof(v)) != 0)
		log_warn("cannot %s %s: %s", on ? "map" : "unmap", db_file[db],
			 gdbm_strerror(gdbm_errno));
}

static int iterate(struct store *s, enum store_db db, const char *prefix, store_iter_fn fn,
		   void *arg);

int store_iterate(struct store *s, enum store_db db, const char *prefix, store_iter_fn fn,
		  void *arg)
{
	if (s->pg)
		return pgs_iterate(s->pg, db, prefix, fn, arg);
	walk_map(s, db, 1);
	int r = iterate(s, db, prefix, fn, arg);
	int e = errno;
	walk_map(s, db, 0);
	errno = e;
	return r;
}

static int iterate(struct store *s, enum store_db db, const char *prefix, store_iter_fn fn,
		   void *arg)
{
	GDBM_FILE f = s->db[db];
	size_t plen = strlen(prefix);
	datum k = gdbm_firstkey(f);
	int ret = 0;

	while (k.dptr) {
		if ((size_t)k.dsize >= plen && memcmp(k.dptr, prefix, plen) == 0) {
			datum v = gdbm_fetch(f, k);
			if (!v.dptr) {
				free(k.dptr);
				return -1;
			}
			/* Keys are stored without a NUL; hand out a C string. */
			char *kz = malloc((size_t)k.dsize + 1);
			if (!kz) {
				free(v.dptr);
				free(k.dptr);
				return -1;
			}
			memcpy(kz, k.dptr, (size_t)k.dsize);
			kz[k.dsize] = '\0';
			ret = fn(arg, kz, (size_t)k.dsize, (uint8_t *)v.dptr, (size_t)v.dsize);
			free(kz);
			free(v.dptr);
			if (ret) {
				free(k.dptr);
				return ret;
			}
		}
		datum nk = gdbm_nextkey(f, k);
		free(k.dptr);
		k = nk;
	}
	if (gdbm_errno != GDBM_ITEM_NOT_FOUND && gdbm_errno != GDBM_NO_ERROR)
		return -1;
	return 0;
}

/* ---- transactions ------------------------------------------------------------- */

void store_begin(struct store *s)
{
	if (s->pg) {
		pgs_begin(s->pg);
		return;
	}
	s->in_txn = 1;
	s->txn_start = s->blen;
	s->txn_undo = s->nundo;
	s->txn_reserve = 0;
	/* Reserve the record header; its length is filled in at commit. */
	if (batch_reserve(s, 8) == 0) {
		be32(s->batch + s->blen, JOURNAL_MAGIC);
		s->blen += 8;
	}
	s->txn_body = s->blen;
}

static int remember(struct store *s, enum store_db db, const char *key)
{
	if (s->nundo == s->undocap) {
		size_t ncap = s->undocap ? s->undocap * 2 : 64;
		struct undo *nu = realloc(s->undo, ncap * sizeof(*nu));
		if (!nu)
			return -1;
		s->undo = nu;
		s->undocap = ncap;
	}
	struct undo *u = &s->undo[s->nundo];
	memset(u, 0, sizeof(*u));
	u->db = db;
	u->key = fault_hit("malloc") ? NULL : strdup(key);
	if (!u->key)
		return -1;
	int r = raw_get(s->db[db], key, strlen(key), &u->old, &u->oldlen);
	if (r < 0) {
		free(u->key);
		return -1;
	}
	s->nundo++;
	return 0;
}

static int64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* With at least SPACE_PLENTY free at the last look, the next SPACE_TRUST_NS
 * of transactions need no fstatvfs each (it was one per transaction).
 * Below that (a small or nearly full file system, like t_diskfull's 2 MiB
 * tmpfs) every transaction still looks. */
#define SPACE_PLENTY (8ull * STORE_RESERVE_BYTES)
#define SPACE_TRUST_NS (20 * 1000000)

/* Refuses changes while the file system has less than STORE_RESERVE_BYTES
 * free (see there), or less than the open transaction's own reserve
 * (store_txn_reserve).  The journal's room is given back first, for the
 * hard reserve only: the room is there for the changes that may use it. */
static int space_ok(struct store *s)
{
	uint64_t avail;
	uint64_t reserve =
		s->txn_reserve > STORE_RESERVE_BYTES ? s->txn_reserve : STORE_RESERVE_BYTES;
	if (s->blen != s->txn_body)
		return 1; /* checked once per transaction */
	int64_t now = mono_ns();
	if (now < s->space_until && s->last_avail >= reserve - STORE_RESERVE_BYTES + SPACE_PLENTY)
		return 1;
	if (free_bytes(s, &avail) < 0)
		return 1;
	s->low_space = 0;
	s->last_avail = avail;
	s->space_until = avail >= SPACE_PLENTY ? now + SPACE_TRUST_NS : 0;
	if (avail >= reserve)
		return 1;
	if (avail >= STORE_RESERVE_BYTES) {
		s->low_space = 1;
		errno = ENOSPC;
		return 0; /* below the transaction's own reserve: quietly */
	}
	if (s->jend > s->jsize) {
		journal_release_room(s);
		if (free_bytes(s, &avail) < 0 || avail >= reserve)
			return 1;
	}
	log_err("%s has less than %u KiB free: refusing changes", s->dir,
		STORE_RESERVE_BYTES / 1024);
	s->low_space = 1;
	errno = ENOSPC;
	return 0;
}

void store_txn_reserve(struct store *s, uint64_t bytes)
{
	if (s->pg)
		return;
	if (s->in_txn)
		s->txn_reserve = bytes;
}

int store_space_below(struct store *s, uint64_t bytes)
{
	if (s->pg)
		return 0;
	uint64_t avail;
	int64_t now = mono_ns();
	if (now < s->space_until && s->last_avail >= bytes + SPACE_PLENTY - STORE_RESERVE_BYTES)
		return 0;
	if (free_bytes(s, &avail) < 0)
		return 0;
	s->last_avail = avail;
	s->space_until = avail >= SPACE_PLENTY ? now + SPACE_TRUST_NS : 0;
	return avail < bytes;
}

int store_put(struct store *s, enum store_db db, const char *key, const uint8_t *val, size_t vlen)
{
	if (s->pg)
		return pgs_put(s->pg, db, key, val, vlen);
	size_t klen = strlen(key);
	if (!s->in_txn || !space_ok(s) || remember(s, db, key) < 0 ||
	    batch_op(s, 1, db, key, klen, val, vlen) < 0)
		return -1;
	return raw_put(s, db, key, klen, val, vlen);
}

int store_del(struct store *s, enum store_db db, const char *key)
{
	if (s->pg)
		return pgs_del(s->pg, db, key);
	size_t klen = strlen(key);
	if (!s->in_txn || !space_ok(s) || remember(s, db, key) < 0 ||
	    batch_op(s, 2, db, key, klen, NULL, 0) < 0)
		return -1;
	return raw_del(s, db, key, klen);
}

/* Restores old values from undo entries [from, nundo), newest first. */
static void rollback(struct store *s, size_t from)
{
	for (size_t i = s->nundo; i > from; i--) {
		struct undo *u = &s->undo[i - 1];
		size_t klen = strlen(u->key);
		int r = u->old ? raw_put(s, u->db, u->key, klen, u->old, u->oldlen)
			       : raw_del(s, u->db, u->key, klen);
		if (r < 0) {
			/* The database no longer matches any durable state.
			 * Exit: the next start rebuilds it from base + journal. */
			log_err("cannot undo a failed change (%s); exiting so that recovery runs",
				gdbm_strerror(gdbm_errno));
			_exit(70);
		}
	}
	undo_free(s, from);
}

void store_abort(struct store *s)
{
	if (s->pg) {
		pgs_abort(s->pg);
		return;
	}
	if (!s->in_txn)
		return;
	rollback(s, s->txn_undo);
	if (s->batch)
		sodium_memzero(s->batch + s->txn_start, s->blen - s->txn_start);
	s->blen = s->txn_start;
	s->in_txn = 0;
}

int store_commit(struct store *s)
{
	if (s->pg)
		return pgs_commit(s->pg);
	if (!s->in_txn)
		return -1;
	size_t len = s->blen - s->txn_body;
	if (s->txn_body == s->txn_start || len > MAX_JOURNAL_RECORD ||
	    batch_reserve(s, JOURNAL_HASH) < 0) {
		store_abort(s);
		return -1;
	}
	s->in_txn = 0;
	if (len == 0) { /* nothing changed: drop the empty record */
		s->blen = s->txn_start;
		return 0;
	}
	be32(s->batch + s->txn_start + 4, (uint32_t)len);
	crypto_generichash(s->batch + s->blen, JOURNAL_HASH, s->batch + s->txn_body, len, NULL, 0);
	s->blen += JOURNAL_HASH;
	return 0;
}

uint64_t store_take_failure(struct store *s)
{
	if (s->pg)
		return pgs_take_failure(s->pg);
	uint64_t g = s->failed_flush ? s->failed_gen : 0;
	s->failed_flush = 0;
	return g;
}

int store_low_space(const struct store *s)
{
	if (s->pg)
		return 0;
	return s->low_space;
}

int store_dirty(const struct store *s)
{
	if (s->pg)
		return pgs_dirty(s->pg);
	return s->blen > 0 && !s->in_txn;
}

void store_fail_next_flush(struct store *s)
{
	if (s->pg)
		return;
	s->fail_next = 1;
	s->fail_written = 0;
}

void store_fake_free_space(struct store *s, uint64_t bytes)
{
	if (s->pg)
		return;
	s->fake_free = bytes;
	s->space_until = 0;
}

void store_fail_next_flush_after(struct store *s, size_t written)
{
	if (s->pg)
		return;
	s->fail_next = 1;
	s->fail_written = written;
}

/* After a failed journal write: puts the zeros back over whatever part of
 * the batch reached the file, so that no later record is stranded behind a
 * torn one and no record of the undone batch can show up after a shorter
 * batch written there later.  If that fails, cuts the file at its logical
 * end (the room goes; the next flush grows it again). */
static void journal_unwrite(struct store *s, size_t len)
{
	uint64_t end = s->jsize + len;
	if (end <= s->jend && write_zeros(s->jfd, s->jsize, end) == 0 && fdatasync(s->jfd) == 0)
		return;
	if (ftruncate(s->jfd, (off_t)s->jsize) < 0) {
		log_err("cannot truncate the journal: %s; exiting so that recovery runs",
			strerror(errno));
		_exit(70);
	}
	s->jend = s->jsize;
	(void)fdatasync(s->jfd);
}

/* ---- writing batches --------------------------------------------------------- */

/* The write and the fdatasync of one batch.  Runs on the writer thread (or
 * inline for a synchronous flush) and touches only the job and the journal
 * file: every fault and test hook was decided when the batch was sealed. */
static void job_run(struct flush_job *j)
{
	size_t off = 0;
	j->err = 0;
	if (j->fail_errno) {
		size_t n = j->fail_written < j->len ? j->fail_written : j->len;
		if (n > 0 && pwrite(j->fd, j->buf, n, (off_t)j->off) != (ssize_t)n)
			j->fail_errno = EIO;
		j->err = j->fail_errno;
		return;
	}
	if (j->torn) {
		ssize_t torn = pwrite(j->fd, j->buf, j->len / 2, (off_t)j->off);
		(void)torn;
		j->err = ENOSPC;
		return;
	}
	while (off < j->len) {
		ssize_t w = pwrite(j->fd, j->buf + off, j->len - off, (off_t)(j->off + off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			j->err = w < 0 ? errno : ENOSPC;
			return;
		}
		off += (size_t)w;
	}
	if (j->slow)
		poll(NULL, 0, 2000);
	if (j->fsync_errno)
		j->err = j->fsync_errno;
	else if (fdatasync(j->fd) < 0)
		j->err = errno;
}

/* Closes the open batch: it becomes the batch in flight (its buffer and
 * undo entries), and the next batch is built in the other buffer. */
static void seal(struct store *s)
{
	journal_grow(s, s->blen);
	struct flush_job *j = &s->job;
	*j = (struct flush_job){ .buf = s->batch, .len = s->blen, .off = s->jsize, .fd = s->jfd };
	if (s->fail_next) {
		s->fail_next = 0;
		j->fail_written = s->fail_written;
		j->fail_errno = s->fail_written >= s->blen ? EIO : ENOSPC;
	} else if (fault_hit("journal_write")) {
		j->torn = 1;
	} else if (fault_fail("fsync", EIO)) {
		j->fsync_errno = EIO;
	}
	j->slow = fault_hit("slow_fsync");
	uint8_t *b = s->ibatch;
	size_t cap = s->icap;
	s->ibatch = s->batch;
	s->icap = s->bcap;
	s->ilen = s->blen;
	s->batch = b;
	s->bcap = cap;
	s->blen = 0;
	s->iundo = s->nundo;
	s->igen = s->open_gen++;
	s->inflight = 1;
}

/* Frees undo entries [0, n): their batch is durable. */
static void undo_drop_prefix(struct store *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s->undo[i].key);
		free(s->undo[i].old);
	}
	memmove(s->undo, s->undo + n, (s->nundo - n) * sizeof(*s->undo));
	s->nundo -= n;
	if (s->in_txn)
		s->txn_undo -= n;
}

/* The batch in flight is written (or not).  On failure everything not
 * durable, the open batch too, is undone: later changes may build on it. */
static int settle(struct store *s)
{
	int err = s->job.err;
	s->inflight = 0;
	if (err) {
		log_err("journal write failed: %s; the changes were undone", strerror(err));
		if (s->in_txn)
			store_abort(s);
		journal_unwrite(s, s->ilen);
		s->space_until = 0;
		rollback(s, 0);
		sodium_memzero(s->ibatch, s->ilen);
		sodium_memzero(s->batch, s->blen);
		s->ilen = s->blen = 0;
		s->failed_gen = s->open_gen++; /* the open batch's replies fail too */
		s->failed_flush = 1;
		errno = err;
		return -1;
	}
	s->jsize += s->ilen;
	if (s->jsize > s->jend) /* appended past the room */
		s->jend = s->jsize;
	sodium_memzero(s->ibatch, s->ilen);
	s->ilen = 0;
	undo_drop_prefix(s, s->iundo);
	s->durable_gen = s->igen;
	if (s->jsize >= CHECKPOINT_BYTES || fault_hit("checkpoint"))
		s->checkpoint_due = 1;
	/* A checkpoint copies the databases: only with no change that is not
	 * durable in them.  Otherwise it waits for the next batch, which is
	 * then written synchronously (store_flush_start). */
	if (s->checkpoint_due && s->blen == 0 && !s->in_txn) {
		s->checkpoint_due = 0;
		if (checkpoint(s, 1) < 0)
			log_warn("checkpoint failed: %s; will retry", strerror(errno));
	}
	return 0;
}

static int flush_inline(struct store *s)
{
	seal(s);
	job_run(&s->job);
	return settle(s);
}

static void *writer_main(void *arg)
{
	struct store *s = arg;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->job_posted && !s->writer_stop)
			pthread_cond_wait(&s->cv, &s->mu);
		if (!s->job_posted)
			break; /* stop, with nothing left to write */
		pthread_mutex_unlock(&s->mu);
		job_run(&s->job);
		pthread_mutex_lock(&s->mu);
		s->job_posted = 0;
		s->job_done = 1;
		uint64_t one = 1;
		ssize_t w = write(s->efd, &one, sizeof(one));
		(void)w; /* an eventfd counter does not overflow here */
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Starts the writer thread with every signal blocked (signals are the
 * loop's business, through its signalfd). */
static int writer_start(struct store *s)
{
	if (s->writer_up)
		return 0;
	if (s->writer_failed || store_flush_fd(s) < 0)
		return -1;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&s->writer, NULL, writer_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		log_warn("cannot start the journal writer thread: %s; writing synchronously",
			 strerror(r));
		s->writer_failed = 1; /* once: not a warning per batch */
		return -1;
	}
	s->writer_up = 1;
	return 0;
}

static void writer_stop(struct store *s)
{
	if (!s->writer_up)
		return;
	pthread_mutex_lock(&s->mu);
	s->writer_stop = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->writer, NULL);
	s->writer_up = 0;
}

/* 1 when the writer finished the job in flight (the eventfd is read). */
static int job_finished(struct store *s, int wait)
{
	for (;;) {
		pthread_mutex_lock(&s->mu);
		int done = s->job_done;
		s->job_done = 0;
		pthread_mutex_unlock(&s->mu);
		uint64_t v;
		if (done) {
			ssize_t r = read(s->efd, &v, sizeof(v));
			(void)r;
			return 1;
		}
		if (!wait)
			return 0;
		struct pollfd p = { .fd = s->efd, .events = POLLIN };
		poll(&p, 1, -1);
	}
}

int store_flush_start(struct store *s, int background)
{
	if (s->pg)
		return !pgs_dirty(s->pg) ? 0 : pgs_flush(s->pg) == 0 ? 2 : -1;
	if (s->in_txn)
		store_abort(s);
	if (s->inflight || s->blen == 0)
		return 0;
	if (!background || s->checkpoint_due || writer_start(s) < 0)
		return flush_inline(s) < 0 ? -1 : 2;
	seal(s);
	pthread_mutex_lock(&s->mu);
	s->job_posted = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return 1;
}

int store_flush_fd(struct store *s)
{
	if (s->pg)
		return pgs_flush_fd(s->pg);
	if (s->efd < 0)
		s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return s->efd;
}

int store_flush_finish(struct store *s)
{
	if (s->pg)
		return 1;
	if (!s->inflight || !job_finished(s, 0))
		return 1;
	return settle(s);
}

int store_flush_busy(const struct store *s)
{
	if (s->pg)
		return 0;
	return s->inflight;
}

uint64_t store_pending_gen(const struct store *s)
{
	if (s->pg)
		return pgs_pending_gen(s->pg);
	return s->blen > 0 ? s->open_gen : s->inflight ? s->igen : 0;
}

uint64_t store_durable_gen(const struct store *s)
{
	if (s->pg)
		return pgs_durable_gen(s->pg);
	return s->durable_gen;
}

int store_flush(struct store *s)
{
	if (s->pg)
		return pgs_flush(s->pg);
	int r = 0;
	if (s->in_txn)
		store_abort(s);
	if (s->inflight && job_finished(s, 1) && settle(s) < 0)
		r = -1; /* the open batch was undone with it */
	if (s->blen && flush_inline(s) < 0)
		r = -1;
	return r;
}

void store_set_hooks(struct store *s, const void *hooks)
{
	s->hooks = hooks;
}

const void *store_hooks(const struct store *s)
{
	return s->hooks;
}

/* ---- hub mode: the store in PostgreSQL (store_pg.c) --------------------------- */

struct store *store_open_shared(const char *conninfo, const char *host, enum store_shared_mode mode,
				char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));
	if (!s) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	s->jfd = s->efd = -1;
	if (!(s->pg = pgs_open(conninfo, host, mode, err, errlen))) {
		free(s);
		return NULL;
	}
	return s;
}

int store_shared(const struct store *s)
{
	return s->pg != NULL;
}

void store_write_intent(struct store *s)
{
	if (s->pg)
		pgs_write_intent(s->pg);
}

int store_changes_fd(struct store *s)
{
	return s->pg ? pgs_changes_fd(s->pg) : -1;
}

uint64_t store_change_seq(const struct store *s)
{
	return s->pg ? pgs_change_seq(s->pg) : 0;
}

int store_poll_changes(struct store *s, store_change_fn fn, void *arg)
{
	return s->pg ? pgs_poll_changes(s->pg, fn, arg) : 0;
}

int store_change_times(struct store *s, const uint64_t *seqs, size_t n, int64_t *first_ms,
		       uint64_t *cur_seq, int64_t *now_ms)
{
	return s->pg ? pgs_change_times(s->pg, seqs, n, first_ms, cur_seq, now_ms) : -1;
}

int store_changes_between(struct store *s, uint64_t since, uint64_t upto,
			  int (*fn)(void *arg, const char *key), void *arg)
{
	return s->pg ? pgs_changes_between(s->pg, since, upto, fn, arg) : 1;
}

int store_unavailable(const struct store *s)
{
	return s->pg ? pgs_unavailable(s->pg) : 0;
}

const char *store_error(const struct store *s)
{
	return s->pg ? pgs_error(s->pg) : "state database error";
}
