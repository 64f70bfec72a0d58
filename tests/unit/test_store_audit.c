/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The store's transactions, journal recovery and failure undo, and the
 * audit hash chain's tamper detection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "store.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/svcacct-store-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static struct store *open_store(void)
{
	char err[256];
	struct store *s = store_open(dir, err, sizeof(err));
	if (!s)
		fail_msg("store_open: %s", err);
	return s;
}

static void put_one(struct store *s, const char *k, const char *v)
{
	store_begin(s);
	assert_int_equal(store_put(s, DB_STATE, k, (const uint8_t *)v, strlen(v)), 0);
	assert_int_equal(store_commit(s), 0);
}

static int has(struct store *s, const char *k, const char *v)
{
	uint8_t *got;
	size_t n;
	int r = store_get(s, DB_STATE, k, &got, &n);
	if (r != 1)
		return 0;
	int same = v && n == strlen(v) && memcmp(got, v, n) == 0;
	free(got);
	return same;
}

static void flushed_changes_survive_a_crash(void **state)
{
	(void)state;
	struct store *s = open_store();
	put_one(s, "a", "1");
	put_one(s, "b", "2");
	assert_int_equal(store_flush(s), 0);
	/* Simulate kill -9: drop the process state without store_close.
	 * The next open finds no "clean" marker and rebuilds from the base
	 * copy plus the journal. */
	char clean[128];
	snprintf(clean, sizeof(clean), "%s/clean", dir);
	assert_int_equal(access(clean, F_OK), -1);
	store_abandon(s);
	s = open_store();
	assert_true(has(s, "a", "1"));
	assert_true(has(s, "b", "2"));
	store_close(s);
	assert_int_equal(access(clean, F_OK), 0);
}

static void unflushed_changes_are_not_durable(void **state)
{
	(void)state;
	struct store *s = open_store();
	put_one(s, "kept", "yes");
	assert_int_equal(store_flush(s), 0);
	put_one(s, "lost", "never acknowledged");
	/* crash before the flush */
	store_abandon(s);
	s = open_store();
	assert_true(has(s, "kept", "yes"));
	assert_false(has(s, "lost", "never acknowledged"));
	store_close(s);
}

static void abort_undoes_the_transaction(void **state)
{
	(void)state;
	struct store *s = open_store();
	put_one(s, "x", "old");
	assert_int_equal(store_flush(s), 0);
	store_begin(s);
	assert_int_equal(store_put(s, DB_STATE, "x", (const uint8_t *)"new", 3), 0);
	assert_int_equal(store_put(s, DB_STATE, "y", (const uint8_t *)"1", 1), 0);
	assert_true(has(s, "x", "new")); /* visible inside the transaction */
	store_abort(s);
	assert_true(has(s, "x", "old"));
	assert_false(has(s, "y", "1"));
	assert_false(store_dirty(s));
	store_close(s);
}

static void failed_flush_changes_nothing(void **state)
{
	(void)state;
	struct store *s = open_store();
	put_one(s, "x", "old");
	assert_int_equal(store_flush(s), 0);
	put_one(s, "x", "new");
	store_begin(s);
	assert_int_equal(store_del(s, DB_STATE, "x"), 0);
	assert_int_equal(store_put(s, DB_STATE, "z", (const uint8_t *)"9", 1), 0);
	assert_int_equal(store_commit(s), 0);
	store_fail_next_flush(s);
	assert_int_equal(store_flush(s), -1);
	assert_true(has(s, "x", "old"));
	assert_false(has(s, "z", "9"));
	/* and the journal still works afterwards */
	put_one(s, "after", "ok");
	assert_int_equal(store_flush(s), 0);
	store_abandon(s);
	s = open_store();
	assert_true(has(s, "x", "old"));
	assert_true(has(s, "after", "ok"));
	assert_false(has(s, "z", "9"));
	store_close(s);
}

static void torn_journal_tail_is_discarded(void **state)
{
	(void)state;
	struct store *s = open_store();
	put_one(s, "good", "1");
	assert_int_equal(store_flush(s), 0);
	/* a crash in the middle of a journal write leaves garbage at the end */
	char jpath[128];
	snprintf(jpath, sizeof(jpath), "%s/journal", dir);
	FILE *f = fopen(jpath, "ab");
	assert_non_null(f);
	fwrite("SJR1\0\0\0\x40partial", 1, 15, f);
	fclose(f);
	store_abandon(s);
	s = open_store();
	assert_true(has(s, "good", "1"));
	put_one(s, "next", "2");
	assert_int_equal(store_flush(s), 0);
	store_abandon(s);
	s = open_store();
	assert_true(has(s, "next", "2"));
	store_close(s);
}

/* ---- the journal's zero-filled room -------------------------------------- */

#define STEP (1u << 20) /* JOURNAL_STEP in store.c */

static void journal_path(char *p, size_t n)
{
	snprintf(p, n, "%s/journal", dir);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads the journal: its size, the offset after the last record (walking
 * the record headers: "SJR1", length, body, 16-byte hash) and whether
 * everything after that is zeros.  Returns the number of records. */
static int journal_scan(off_t *size, off_t *end, int *zero_after)
{
	char jp[128];
	journal_path(jp, sizeof(jp));
	int fd = open(jp, O_RDONLY);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	uint8_t *buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	size_t off = 0, n = (size_t)st.st_size;
	int records = 0;
	while (n - off >= 8 + 16 && memcmp(buf + off, "SJR1", 4) == 0 &&
	       rd32(buf + off + 4) + 8 + 16 <= n - off) {
		off += 8 + rd32(buf + off + 4) + 16;
		records++;
	}
	*zero_after = 1;
	for (size_t i = off; i < n; i++)
		if (buf[i]) {
			*zero_after = 0;
			break;
		}
	*size = st.st_size;
	*end = (off_t)off;
	free(buf);
	return records;
}

static void pwrite_journal(off_t at, const void *p, size_t n)
{
	char jp[128];
	journal_path(jp, sizeof(jp));
	int fd = open(jp, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, p, n, at), (ssize_t)n);
	close(fd);
}

static void journal_has_zero_room_and_replays(void **state)
{
	(void)state;
	struct store *s = open_store();
	off_t size, end;
	int zero;
	/* opened: empty journal, one step of zeros */
	assert_int_equal(journal_scan(&size, &end, &zero), 0);
	assert_int_equal(size, STEP);
	assert_int_equal(end, 0);
	assert_true(zero);
	put_one(s, "a", "1");
	assert_int_equal(store_flush(s), 0);
	put_one(s, "b", "2");
	put_one(s, "c", "3");
	assert_int_equal(store_flush(s), 0);
	/* written into the room: the size did not change */
	assert_int_equal(journal_scan(&size, &end, &zero), 3);
	assert_int_equal(size, STEP);
	assert_true(end > 0 && end < size);
	assert_true(zero);
	store_abandon(s);
	s = open_store();
	assert_true(has(s, "a", "1"));
	assert_true(has(s, "b", "2"));
	assert_true(has(s, "c", "3"));
	store_close(s);
	/* a clean close leaves no room behind */
	assert_int_equal(journal_scan(&size, &end, &zero), 0);
	assert_int_equal(size, 0);
}

static void journal_grows_by_steps_and_checkpoints(void **state)
{
	(void)state;
	struct store *s = open_store();
	off_t size, end;
	int zero;
	size_t big = 700u << 10;
	uint8_t *v = malloc(big);
	assert_non_null(v);
	char k[16];
	/* 700 KiB, then 1.4 MiB: past the first step */
	for (int i = 0; i < 2; i++) {
		memset(v, 'A' + i, big);
		snprintf(k, sizeof(k), "big%d", i);
		store_begin(s);
		assert_int_equal(store_put(s, DB_STATE, k, v, big), 0);
		assert_int_equal(store_commit(s), 0);
		assert_int_equal(store_flush(s), 0);
	}
	assert_int_equal(journal_scan(&size, &end, &zero), 2);
	assert_int_equal(size, 2 * STEP);
	assert_true(end > (off_t)STEP && zero);
	store_abandon(s);
	s = open_store();
	uint8_t *got;
	size_t n;
	assert_int_equal(store_get(s, DB_STATE, "big1", &got, &n), 1);
	assert_int_equal(n, big);
	assert_int_equal(got[0], 'B');
	assert_int_equal(got[big - 1], 'B');
	free(got);
	/* past 8 MiB a checkpoint empties the journal and gives fresh room */
	for (int i = 2; i < 14; i++) {
		memset(v, 'A' + i, big);
		snprintf(k, sizeof(k), "big%d", i);
		store_begin(s);
		assert_int_equal(store_put(s, DB_STATE, k, v, big), 0);
		assert_int_equal(store_commit(s), 0);
		assert_int_equal(store_flush(s), 0);
	}
	int records = journal_scan(&size, &end, &zero);
	assert_true(records < 12);
	assert_true(size <= (off_t)(2 * STEP) && zero);
	store_abandon(s);
	s = open_store();
	assert_int_equal(store_get(s, DB_STATE, "big13", &got, &n), 1);
	assert_int_equal(n, big);
	assert_int_equal(got[0], 'A' + 13);
	free(got);
	free(v);
	store_close(s);
}

static void torn_record_followed_by_zeros_is_discarded(void **state)
{
	(void)state;
	struct store *s = open_store();
	put_one(s, "good", "1");
	assert_int_equal(store_flush(s), 0);
	off_t size, end;
	int zero;
	assert_int_equal(journal_scan(&size, &end, &zero), 1);
	assert_true(size > end + 64);
	/* a crash mid-write: a record header and part of its body in the
	 * room, zeros after it (the file size does not change) */
	pwrite_journal(end, "SJR1\0\0\0\x40partial", 15);
	store_abandon(s);
	s = open_store();
	assert_true(has(s, "good", "1"));
	put_one(s, "next", "2");
	assert_int_equal(store_flush(s), 0);
	store_abandon(s);
	s = open_store();
	assert_true(has(s, "good", "1"));
	assert_true(has(s, "next", "2"));
	store_close(s);
}

/* A batch reaches the file in full, then its fdatasync fails: it is undone
 * and its records must not come back, not even after a later, shorter batch
 * written at the same offset that ends exactly where its second record
 * began. */
static void failed_sync_in_the_room_leaves_nothing_behind(void **state)
{
	(void)state;
	struct store *s = open_store();
	put_one(s, "a", "1");
	assert_int_equal(store_flush(s), 0);
	off_t size, end0, end;
	int zero;
	assert_int_equal(journal_scan(&size, &end0, &zero), 1);
	put_one(s, "b1", "x");
	put_one(s, "b2", "y");
	put_one(s, "b3", "z");
	store_fail_next_flush_after(s, SIZE_MAX);
	assert_int_equal(store_flush(s), -1);
	assert_true(store_take_failure(s));
	assert_false(has(s, "b1", "x"));
	/* the zeros are back after the last good record */
	assert_int_equal(journal_scan(&size, &end, &zero), 1);
	assert_int_equal(end, end0);
	assert_true(zero);
	assert_int_equal(size, STEP);
	put_one(s, "c1", "x"); /* the same size as b1's record */
	assert_int_equal(store_flush(s), 0);
	store_abandon(s);
	s = open_store();
	assert_true(has(s, "a", "1"));
	assert_true(has(s, "c1", "x"));
	assert_false(has(s, "b1", "x"));
	assert_false(has(s, "b2", "y"));
	assert_false(has(s, "b3", "z"));
	store_close(s);
}

/* A torn write in the middle of the room (half the batch, then ENOSPC),
 * then later good batches: they all survive a restart. */
static void torn_write_in_the_room_then_good_batches_survive(void **state)
{
	(void)state;
	struct store *s = open_store();
	put_one(s, "a", "1");
	assert_int_equal(store_flush(s), 0);
	put_one(s, "t1", "torn-torn-torn-torn");
	put_one(s, "t2", "torn-torn-torn-torn");
	store_fail_next_flush_after(s, 40);
	assert_int_equal(store_flush(s), -1);
	assert_false(has(s, "t1", "torn-torn-torn-torn"));
	off_t size, end;
	int zero;
	assert_int_equal(journal_scan(&size, &end, &zero), 1);
	assert_true(zero);
	put_one(s, "g1", "1");
	assert_int_equal(store_flush(s), 0);
	put_one(s, "g2", "2");
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(journal_scan(&size, &end, &zero), 3);
	assert_true(zero);
	store_abandon(s);
	s = open_store();
	assert_true(has(s, "a", "1"));
	assert_true(has(s, "g1", "1"));
	assert_true(has(s, "g2", "2"));
	assert_false(has(s, "t1", "torn-torn-torn-torn"));
	assert_false(has(s, "t2", "torn-torn-torn-torn"));
	store_close(s);
}

/* A journal written without room (by an older daemon, or after the disk
 * filled): records up to the end of the file, no zeros. */
static void journal_without_room_replays(void **state)
{
	(void)state;
	struct store *s = open_store();
	put_one(s, "a", "1");
	put_one(s, "b", "2");
	assert_int_equal(store_flush(s), 0);
	off_t size, end;
	int zero;
	assert_int_equal(journal_scan(&size, &end, &zero), 2);
	char jp[128];
	journal_path(jp, sizeof(jp));
	assert_int_equal(truncate(jp, end), 0);
	store_abandon(s);
	s = open_store();
	assert_true(has(s, "a", "1"));
	assert_true(has(s, "b", "2"));
	store_close(s);
}

/* With less than the 1 MiB reserve free, the room is given back before a
 * change is refused; with less than reserve + a step free, batches are
 * appended without room; with space again, the room comes back. */
static void low_space_gives_the_room_back(void **state)
{
	(void)state;
	struct store *s = open_store();
	off_t size, end;
	int zero;
	put_one(s, "a", "1");
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(journal_scan(&size, &end, &zero), 1);
	assert_int_equal(size, STEP);
	/* nearly full: refused, and the room is gone */
	store_fake_free_space(s, 512u << 10);
	store_begin(s);
	assert_int_equal(store_put(s, DB_STATE, "b", (const uint8_t *)"2", 1), -1);
	store_abort(s);
	assert_true(store_low_space(s));
	assert_false(has(s, "b", "2"));
	assert_int_equal(journal_scan(&size, &end, &zero), 1);
	assert_int_equal(size, end);
	/* above the reserve, below reserve + a step: accepted, appended */
	store_fake_free_space(s, 1536u << 10);
	put_one(s, "c", "3");
	assert_false(store_low_space(s));
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(journal_scan(&size, &end, &zero), 2);
	assert_int_equal(size, end);
	/* a failed write without room: cut off, the next one still works */
	put_one(s, "d", "4");
	store_fail_next_flush_after(s, SIZE_MAX);
	assert_int_equal(store_flush(s), -1);
	assert_int_equal(journal_scan(&size, &end, &zero), 2);
	assert_int_equal(size, end);
	/* plenty again: the next batch grows the room */
	store_fake_free_space(s, 0);
	put_one(s, "e", "5");
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(journal_scan(&size, &end, &zero), 3);
	assert_int_equal(size, STEP);
	assert_true(zero);
	store_abandon(s);
	s = open_store();
	assert_true(has(s, "a", "1"));
	assert_true(has(s, "c", "3"));
	assert_true(has(s, "e", "5"));
	assert_false(has(s, "b", "2"));
	assert_false(has(s, "d", "4"));
	store_close(s);
}

/* ---- iteration (the file is mapped for the walk only) -------------------- */

struct walk {
	struct store *s;
	int n, nested, inner;
};

static int inner_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)key;
	(void)klen;
	(void)val;
	(void)vlen;
	((struct walk *)arg)->inner++;
	return 0;
}

static int walk_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct walk *w = arg;
	assert_int_equal(strlen(key), klen);
	assert_int_equal(memcmp(key, "w/", 2), 0);
	/* the value is the key's number, as written */
	assert_int_equal(vlen, strlen(key + 2));
	assert_memory_equal(val, key + 2, vlen);
	assert_true(has(w->s, key, key + 2));
	if (w->n++ == 0)
		w->nested = store_iterate(w->s, DB_STATE, "w/", inner_cb, w);
	return 0;
}

static void iterate_walks_every_key_and_reads_after(void **state)
{
	(void)state;
	struct store *s = open_store();
	char k[32], v[32];
	store_begin(s);
	for (int i = 0; i < 3000; i++) {
		snprintf(k, sizeof(k), "w/%d", i);
		snprintf(v, sizeof(v), "%d", i);
		assert_int_equal(store_put(s, DB_STATE, k, (const uint8_t *)v, strlen(v)), 0);
	}
	assert_int_equal(store_put(s, DB_STATE, "other", (const uint8_t *)"x", 1), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_flush(s), 0);
	struct walk w = { .s = s };
	assert_int_equal(store_iterate(s, DB_STATE, "w/", walk_cb, &w), 0);
	assert_int_equal(w.n, 3000);
	assert_int_equal(w.nested, 0);
	assert_int_equal(w.inner, 3000);
	/* after the walk: writes and reads as before, and a second walk */
	put_one(s, "w/3000", "3000");
	assert_int_equal(store_flush(s), 0);
	assert_true(has(s, "w/1234", "1234"));
	assert_true(has(s, "w/3000", "3000"));
	w.n = 0;
	assert_int_equal(store_iterate(s, DB_STATE, "w/", walk_cb, &w), 0);
	assert_int_equal(w.n, 3001);
	store_abandon(s);
	s = open_store();
	assert_true(has(s, "w/3000", "3000"));
	store_close(s);
}

/* ---- audit chain ---------------------------------------------------------- */

static struct audit *open_audit(struct store *s)
{
	struct svca_config cfg;
	char err[256];
	char kpath[128];
	config_defaults(&cfg);
	cfg.syslog = 0;
	snprintf(kpath, sizeof(kpath), "%s/audit.key", dir);
	cfg.audit_key_file = strdup(kpath);
	struct audit *a = audit_open(s, &cfg, err, sizeof(err));
	config_free(&cfg);
	if (!a)
		fail_msg("audit_open: %s", err);
	return a;
}

/* store_get keeps recent state.db values in memory: it must never return
 * a value GDBM no longer holds, whatever changed it. */
static void cached_reads_follow_every_change(void **state)
{
	(void)state;
	struct store *s = open_store();
	put_one(s, "k", "v1");
	assert_int_equal(store_flush(s), 0);
	assert_true(has(s, "k", "v1"));
	assert_true(has(s, "k", "v1")); /* now from the cache */
	put_one(s, "k", "v2");
	assert_true(has(s, "k", "v2"));
	/* an aborted transaction puts the old value back */
	store_begin(s);
	assert_int_equal(store_put(s, DB_STATE, "k", (const uint8_t *)"v3", 2), 0);
	assert_true(has(s, "k", "v3"));
	store_abort(s);
	assert_true(has(s, "k", "v2"));
	assert_int_equal(store_flush(s), 0);
	/* a failed flush undoes its changes */
	store_fail_next_flush(s);
	put_one(s, "k", "v4");
	assert_true(has(s, "k", "v4"));
	assert_int_equal(store_flush(s), -1);
	assert_true(has(s, "k", "v2"));
	assert_true(store_take_failure(s) != 0);
	/* a delete, and a delete undone */
	store_begin(s);
	assert_int_equal(store_del(s, DB_STATE, "k"), 0);
	assert_false(has(s, "k", "v2"));
	store_abort(s);
	assert_true(has(s, "k", "v2"));
	store_begin(s);
	assert_int_equal(store_del(s, DB_STATE, "k"), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_flush(s), 0);
	uint8_t *v;
	size_t n;
	assert_int_equal(store_get(s, DB_STATE, "k", &v, &n), 0);
	/* many keys: collisions in the cache never mix values up */
	char k[32], val[32];
	for (int i = 0; i < 3000; i++) {
		snprintf(k, sizeof(k), "key/%d", i);
		snprintf(val, sizeof(val), "value %d", i);
		put_one(s, k, val);
	}
	assert_int_equal(store_flush(s), 0);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 3000; i++) {
			snprintf(k, sizeof(k), "key/%d", i);
			snprintf(val, sizeof(val), "value %d", i);
			assert_true(has(s, k, val));
		}
	/* after a crash, replay rebuilds the databases: reads see them */
	put_one(s, "key/7", "changed");
	assert_int_equal(store_flush(s), 0);
	assert_true(has(s, "key/7", "changed"));
	store_abandon(s);
	s = open_store();
	assert_true(has(s, "key/7", "changed"));
	assert_true(has(s, "key/8", "value 8"));
	store_close(s);
}

/* ---- group commit in the background (store_flush_start & co.) ---- */

/* Waits for the batch in flight, then collects it. */
static int finish_flush(struct store *s)
{
	struct pollfd p = { .fd = store_flush_fd(s), .events = POLLIN };
	assert_true(p.fd >= 0);
	for (;;) {
		assert_int_equal(poll(&p, 1, 10000), 1);
		int r = store_flush_finish(s);
		if (r != 1)
			return r;
	}
}

static void background_flush_serves_the_next_batch_meanwhile(void **state)
{
	(void)state;
	struct store *s = open_store();
	assert_int_equal(store_pending_gen(s), 0);
	put_one(s, "a", "1");
	uint64_t ga = store_pending_gen(s);
	assert_true(ga > store_durable_gen(s));
	assert_int_equal(store_flush_start(s, 1), 1);
	assert_true(store_flush_busy(s));
	/* only one batch in flight: nothing more starts */
	assert_int_equal(store_pending_gen(s), ga);
	put_one(s, "b", "2"); /* the next batch, built meanwhile */
	uint64_t gb = store_pending_gen(s);
	assert_true(gb > ga);
	assert_int_equal(store_flush_start(s, 1), 0);
	assert_true(has(s, "a", "1") && has(s, "b", "2"));
	assert_int_equal(finish_flush(s), 0);
	assert_false(store_flush_busy(s));
	assert_int_equal(store_durable_gen(s), ga);
	assert_int_equal(store_pending_gen(s), gb);
	/* a synchronous flush writes the rest */
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(store_durable_gen(s), gb);
	assert_int_equal(store_pending_gen(s), 0);
	assert_int_equal(store_take_failure(s), 0);
	store_abandon(s); /* kill -9 */
	s = open_store();
	assert_true(has(s, "a", "1") && has(s, "b", "2"));
	store_close(s);
}

static void failed_background_flush_undoes_the_next_batch_too(void **state)
{
	(void)state;
	struct store *s = open_store();
	put_one(s, "keep", "0");
	assert_int_equal(store_flush(s), 0);
	uint64_t durable = store_durable_gen(s);
	store_fail_next_flush(s);
	put_one(s, "a", "1");
	put_one(s, "keep", "changed");
	assert_int_equal(store_flush_start(s, 1), 1);
	put_one(s, "b", "2"); /* built on top of the failing batch */
	uint64_t gb = store_pending_gen(s);
	assert_int_equal(finish_flush(s), -1);
	/* both undone, and the failure covers the open batch's generation */
	assert_false(has(s, "a", "1"));
	assert_false(has(s, "b", "2"));
	assert_true(has(s, "keep", "0"));
	assert_int_equal(store_durable_gen(s), durable);
	assert_int_equal(store_pending_gen(s), 0);
	assert_true(store_take_failure(s) >= gb);
	assert_int_equal(store_take_failure(s), 0);
	/* later changes get a generation the failure does not cover */
	put_one(s, "c", "3");
	assert_true(store_pending_gen(s) > gb);
	assert_int_equal(store_flush_start(s, 1), 1);
	assert_int_equal(finish_flush(s), 0);
	store_abandon(s);
	s = open_store();
	assert_true(has(s, "c", "3") && has(s, "keep", "0"));
	assert_false(has(s, "a", "1") || has(s, "b", "2"));
	store_close(s);
}

static void synchronous_flush_waits_for_the_batch_in_flight(void **state)
{
	(void)state;
	struct store *s = open_store();
	put_one(s, "a", "1");
	assert_int_equal(store_flush_start(s, 1), 1);
	put_one(s, "b", "2");
	uint64_t gb = store_pending_gen(s);
	assert_int_equal(store_flush(s), 0);
	assert_false(store_flush_busy(s));
	assert_int_equal(store_durable_gen(s), gb);
	assert_int_equal(store_flush_finish(s), 1); /* collected already */
	/* without background: written at once */
	put_one(s, "c", "3");
	assert_int_equal(store_flush_start(s, 0), 2);
	assert_int_equal(store_pending_gen(s), 0);
	store_abandon(s);
	s = open_store();
	assert_true(has(s, "a", "1") && has(s, "b", "2") && has(s, "c", "3"));
	store_close(s);
}

static void crash_with_a_batch_in_flight_opens_cleanly(void **state)
{
	(void)state;
	struct store *s = open_store();
	put_one(s, "durable", "1");
	assert_int_equal(store_flush(s), 0);
	put_one(s, "flying", "2");
	assert_int_equal(store_flush_start(s, 1), 1);
	put_one(s, "open", "3");
	store_abandon(s); /* never collected: nothing was acknowledged */
	s = open_store();
	assert_true(has(s, "durable", "1"));
	assert_false(has(s, "open", "3"));
	store_close(s);
}

/* A checkpoint needs no change that is not durable in the databases: when
 * one is due while the next batch is being built, that batch is written
 * at once, then the checkpoint runs. */
static void checkpoint_due_with_a_batch_open(void **state)
{
	(void)state;
	struct store *s = open_store();
	size_t big = 700u << 10;
	uint8_t *v = malloc(big);
	assert_non_null(v);
	char k[16];
	for (int i = 0; i < 11; i++) { /* 7.7 MiB of journal */
		memset(v, 'a' + i, big);
		snprintf(k, sizeof(k), "big%d", i);
		store_begin(s);
		assert_int_equal(store_put(s, DB_STATE, k, v, big), 0);
		assert_int_equal(store_commit(s), 0);
		assert_int_equal(store_flush(s), 0);
	}
	off_t size, end;
	int zero;
	assert_int_equal(journal_scan(&size, &end, &zero), 11);
	memset(v, 'z', big);
	store_begin(s);
	assert_int_equal(store_put(s, DB_STATE, "last", v, big), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_flush_start(s, 1), 1); /* crosses 8 MiB */
	put_one(s, "next", "1");
	assert_int_equal(finish_flush(s), 0);
	assert_int_equal(journal_scan(&size, &end, &zero), 12); /* not yet */
	assert_int_equal(store_flush_start(s, 1), 2);           /* at once */
	assert_int_equal(journal_scan(&size, &end, &zero), 0);  /* checkpointed */
	store_abandon(s);
	s = open_store();
	assert_true(has(s, "next", "1"));
	uint8_t *got;
	size_t n;
	assert_int_equal(store_get(s, DB_STATE, "last", &got, &n), 1);
	assert_int_equal(n, big);
	assert_int_equal(got[big - 1], 'z');
	free(got);
	free(v);
	store_close(s);
}

static void append_events(struct store *s, struct audit *a, int n)
{
	struct actor act = { .uid = 0 };
	strcpy(act.user, "root");
	for (int i = 0; i < n; i++) {
		struct audit_event ev = { .event = "account.create",
					  .outcome = "success",
					  .actor = &act,
					  .account = "bot" };
		store_begin(s);
		assert_int_equal(audit_append(a, &ev), 0);
		assert_int_equal(store_commit(s), 0);
	}
	assert_int_equal(store_flush(s), 0);
	audit_flushed(a, 1);
}

static void tamper(struct store *s, uint64_t seq, int delete)
{
	char key[40];
	uint8_t *v;
	size_t n;
	snprintf(key, sizeof(key), "seq/%020llu", (unsigned long long)seq);
	assert_int_equal(store_get(s, DB_AUDIT, key, &v, &n), 1);
	store_begin(s);
	if (delete) {
		assert_int_equal(store_del(s, DB_AUDIT, key), 0);
	} else {
		/* change one character of the JSON: "bot" -> "bat" */
		for (size_t i = 0; i + 3 < n; i++)
			if (memcmp(v + i, "bot", 3) == 0) {
				v[i + 1] = 'a';
				break;
			}
		assert_int_equal(store_put(s, DB_AUDIT, key, v, n), 0);
	}
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_flush(s), 0);
	free(v);
}

static void chain_intact(void **state)
{
	(void)state;
	struct store *s = open_store();
	struct audit *a = open_audit(s);
	append_events(s, a, 5);
	uint64_t checked, bad;
	char msg[200];
	assert_int_equal(audit_verify(a, &checked, &bad, msg, sizeof(msg)), 0);
	assert_int_equal(checked, 5);
	audit_close(a);
	store_close(s);
}

static void edited_record_detected(void **state)
{
	(void)state;
	struct store *s = open_store();
	struct audit *a = open_audit(s);
	append_events(s, a, 5);
	tamper(s, 3, 0);
	uint64_t checked, bad;
	char msg[200];
	assert_int_equal(audit_verify(a, &checked, &bad, msg, sizeof(msg)), -1);
	assert_int_equal(bad, 3);
	assert_non_null(strstr(msg, "record 3 was altered"));
	audit_close(a);
	store_close(s);
}

static void edited_last_record_detected(void **state)
{
	(void)state;
	struct store *s = open_store();
	struct audit *a = open_audit(s);
	append_events(s, a, 4);
	tamper(s, 4, 0);
	uint64_t checked, bad;
	char msg[200];
	assert_int_equal(audit_verify(a, &checked, &bad, msg, sizeof(msg)), -1);
	assert_int_equal(bad, 4);
	audit_close(a);
	store_close(s);
}

static void deleted_record_detected(void **state)
{
	(void)state;
	struct store *s = open_store();
	struct audit *a = open_audit(s);
	append_events(s, a, 5);
	tamper(s, 2, 1);
	uint64_t checked, bad;
	char msg[200];
	assert_int_equal(audit_verify(a, &checked, &bad, msg, sizeof(msg)), -1);
	assert_int_equal(bad, 2);
	assert_non_null(strstr(msg, "record 2 is missing"));
	audit_close(a);
	store_close(s);
}

/* ---- the head's MAC: cutting off the newest records -------------------- */

static void get_audit(struct store *s, const char *key, uint8_t **v, size_t *n)
{
	assert_int_equal(store_get(s, DB_AUDIT, key, v, n), 1);
}

/* What an attacker without the audit key does: deletes records from..last
 * and rewrites the head to name record from-1 (its seq and its hash),
 * keeping the rest of the old head (legacy: a head without the MAC). */
static void cut_tail(struct store *s, uint64_t from, uint64_t last, int legacy)
{
	char key[40];
	uint8_t *rec, *head;
	size_t rl, hl;
	snprintf(key, sizeof(key), "seq/%020llu", (unsigned long long)(from - 1));
	get_audit(s, key, &rec, &rl);
	get_audit(s, "head", &head, &hl);
	assert_true(hl >= 40);
	for (int i = 0; i < 8; i++)
		head[i] = (uint8_t)((from - 1) >> (56 - 8 * i));
	crypto_generichash(head + 8, 32, rec, rl, NULL, 0);
	store_begin(s);
	for (uint64_t q = from; q <= last; q++) {
		snprintf(key, sizeof(key), "seq/%020llu", (unsigned long long)q);
		assert_int_equal(store_del(s, DB_AUDIT, key), 0);
	}
	assert_int_equal(store_put(s, DB_AUDIT, "head", head, legacy ? 40 : hl), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_flush(s), 0);
	free(rec);
	free(head);
}

static void truncated_tail_with_rewritten_head_detected(void **state)
{
	(void)state;
	struct store *s = open_store();
	struct audit *a = open_audit(s);
	append_events(s, a, 7);
	cut_tail(s, 5, 7, 0);
	uint64_t checked, bad;
	char msg[256];
	assert_int_equal(audit_verify(a, &checked, &bad, msg, sizeof(msg)), -1);
	assert_int_equal(bad, 5);
	assert_non_null(strstr(msg, "records 5-7 are missing"));
	audit_close(a);
	store_close(s);
}

static void truncated_tail_with_legacy_head_detected(void **state)
{
	(void)state;
	struct store *s = open_store();
	struct audit *a = open_audit(s);
	append_events(s, a, 7);
	cut_tail(s, 7, 7, 1);
	uint64_t checked, bad;
	char msg[256];
	assert_int_equal(audit_verify(a, &checked, &bad, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "record 7 is missing"));
	audit_close(a);
	store_close(s);
}

/* The high-water mark gone too: the head's MAC still gives it away. */
static void rewritten_head_without_high_water_detected(void **state)
{
	(void)state;
	struct store *s = open_store();
	struct audit *a = open_audit(s);
	append_events(s, a, 6);
	cut_tail(s, 5, 6, 0);
	store_begin(s);
	assert_int_equal(store_del(s, DB_STATE, "audit/high"), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_flush(s), 0);
	uint64_t checked, bad;
	char msg[256];
	assert_int_equal(audit_verify(a, &checked, &bad, msg, sizeof(msg)), -1);
	assert_int_equal(bad, 4);
	assert_non_null(strstr(msg, "without the audit key"));
	audit_close(a);
	store_close(s);
}

static uint64_t last_seq_event(struct store *s, struct audit *a, char *event, size_t len)
{
	struct svca_buf b;
	struct svca_field f[8];
	uint64_t seq = 0;
	svca_buf_init(&b, 0);
	assert_int_equal(audit_list(a, &b, NULL, NULL, 0, 1), 0);
	assert_int_equal(svca_fields_collect(b.data, b.len, f, 8), 3);
	assert_int_equal(svca_field_u64(&f[1], &seq), 0);
	json_t *o = json_loadb((const char *)f[2].val, f[2].len, 0, NULL);
	snprintf(event, len, "%s", json_string_value(json_object_get(o, "event")));
	json_decref(o);
	svca_buf_free(&b);
	(void)s;
	return seq;
}

/* After a restart on a cut trail: reported, and no seq issued twice. */
static void restart_after_truncation_never_reuses_a_seq(void **state)
{
	(void)state;
	struct store *s = open_store();
	struct audit *a = open_audit(s);
	append_events(s, a, 7);
	cut_tail(s, 5, 7, 0);
	audit_close(a);
	store_close(s);
	s = open_store();
	a = open_audit(s);
	char event[64];
	assert_int_equal(last_seq_event(s, a, event, sizeof(event)), 8);
	assert_string_equal(event, "audit.tamper");
	append_events(s, a, 1);
	assert_int_equal(audit_head(a), 9);
	uint64_t checked, bad;
	char msg[256];
	assert_int_equal(audit_verify(a, &checked, &bad, msg, sizeof(msg)), -1);
	assert_int_equal(bad, 5);
	assert_non_null(strstr(msg, "records 5-7 are missing"));
	audit_close(a);
	store_close(s);
}

/* A trail written before the MAC existed: MACed at the first start. */
static void legacy_head_is_maced_at_first_start(void **state)
{
	(void)state;
	struct store *s = open_store();
	struct audit *a = open_audit(s);
	append_events(s, a, 3);
	audit_close(a);
	/* what the previous version left: a 40-byte head, no high-water mark,
	 * no key file */
	uint8_t *head;
	size_t hl;
	get_audit(s, "head", &head, &hl);
	store_begin(s);
	assert_int_equal(store_put(s, DB_AUDIT, "head", head, 40), 0);
	assert_int_equal(store_del(s, DB_STATE, "audit/high"), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_flush(s), 0);
	free(head);
	char kpath[128];
	snprintf(kpath, sizeof(kpath), "%s/audit.key", dir);
	assert_int_equal(unlink(kpath), 0);
	a = open_audit(s);
	struct stat st;
	assert_int_equal(stat(kpath, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char event[64];
	assert_int_equal(last_seq_event(s, a, event, sizeof(event)), 4);
	assert_string_equal(event, "audit.mac");
	uint64_t checked, bad;
	char msg[256];
	assert_int_equal(audit_verify(a, &checked, &bad, msg, sizeof(msg)), 0);
	assert_int_equal(checked, 4);
	audit_close(a);
	store_close(s);
}

/* Another key (the key file replaced): the head no longer verifies. */
static void replaced_audit_key_detected(void **state)
{
	(void)state;
	struct store *s = open_store();
	struct audit *a = open_audit(s);
	append_events(s, a, 2);
	audit_close(a);
	char kpath[128];
	snprintf(kpath, sizeof(kpath), "%s/audit.key", dir);
	assert_int_equal(unlink(kpath), 0);
	a = open_audit(s);
	char event[64];
	assert_int_equal(last_seq_event(s, a, event, sizeof(event)), 3);
	assert_string_equal(event, "audit.tamper");
	audit_close(a);
	store_close(s);
}

static void damaged_audit_key_refused(void **state)
{
	(void)state;
	struct store *s = open_store();
	char kpath[128], err[256];
	snprintf(kpath, sizeof(kpath), "%s/audit.key", dir);
	int fd = open(kpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "short", 5), 5);
	close(fd);
	struct svca_config cfg;
	config_defaults(&cfg);
	cfg.syslog = 0;
	cfg.audit_key_file = strdup(kpath);
	assert_null(audit_open(s, &cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "damaged"));
	assert_int_equal(chmod(kpath, 0644), 0);
	assert_null(audit_open(s, &cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "accessible by group or others"));
	config_free(&cfg);
	store_close(s);
}

static void list_filters(void **state)
{
	(void)state;
	struct store *s = open_store();
	struct audit *a = open_audit(s);
	struct actor act = { .uid = 0 };
	strcpy(act.user, "root");
	const char *names[] = { "a1", "b2", "a1", "c3" };
	const char *events[] = { "account.create", "account.create", "account.disable",
				 "account.delete" };
	for (int i = 0; i < 4; i++) {
		struct audit_event ev = {
			.event = events[i], .outcome = "success", .actor = &act, .account = names[i]
		};
		store_begin(s);
		assert_int_equal(audit_append(a, &ev), 0);
		assert_int_equal(store_commit(s), 0);
	}
	struct svca_buf b;
	svca_buf_init(&b, 0);
	struct svca_field f[64];
	assert_int_equal(audit_list(a, &b, "a1", NULL, 0, 0), 0);
	assert_int_equal(svca_fields_collect(b.data, b.len, f, 64), 6); /* 2 x 3 */
	svca_buf_reset(&b);
	assert_int_equal(audit_list(a, &b, NULL, "account.create", 0, 1), 0);
	int n = svca_fields_collect(b.data, b.len, f, 64);
	assert_int_equal(n, 3);
	uint64_t seq;
	assert_int_equal(svca_field_u64(&f[1], &seq), 0);
	assert_int_equal(seq, 2); /* the newest match */
	svca_buf_reset(&b);
	assert_int_equal(audit_list(a, &b, NULL, "account.*", 0, 0), 0);
	assert_int_equal(svca_fields_collect(b.data, b.len, f, 64), 12);
	svca_buf_free(&b);
	audit_close(a);
	store_close(s);
}

/* The filters of issue 19: outcome, service, key ids under an account,
 * until, after_seq, event prefixes and globs. */
static void list_filter_struct(void **state)
{
	(void)state;
	struct store *s = open_store();
	struct audit *a = open_audit(s);
	struct actor act = { .uid = 0 };
	strcpy(act.user, "root");
	struct audit_event evs[] = {
		{ .event = "token.issue", .outcome = "success", .account = "ci", .key_id = "K1" },
		{ .event = "token.deny", .outcome = "denied", .key_id = "K1" },
		{ .event = "auth.allow", .outcome = "success", .account = "ci", .service = "sshd" },
		{ .event = "token.deny", .outcome = "denied", .key_id = "K2" },
	};
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		evs[i].actor = &act;
		store_begin(s);
		assert_int_equal(audit_append(a, &evs[i]), 0);
		assert_int_equal(store_commit(s), 0);
	}
	struct svca_buf b;
	svca_buf_init(&b, 0);
	struct svca_field f[64];
	const char *ids[] = { "K1" };
	struct audit_filter flt = { .account = "ci", .key_ids = ids, .nkey_ids = 1 };
	assert_int_equal(audit_list_filter(a, &b, &flt), 0);
	assert_int_equal(svca_fields_collect(b.data, b.len, f, 64), 9); /* seqs 1 2 3 */
	svca_buf_reset(&b);
	flt = (struct audit_filter){ .outcome = "denied" };
	assert_int_equal(audit_list_filter(a, &b, &flt), 0);
	assert_int_equal(svca_fields_collect(b.data, b.len, f, 64), 6);
	svca_buf_reset(&b);
	flt = (struct audit_filter){ .service = "sshd" };
	assert_int_equal(audit_list_filter(a, &b, &flt), 0);
	assert_int_equal(svca_fields_collect(b.data, b.len, f, 64), 3);
	svca_buf_reset(&b);
	flt = (struct audit_filter){ .after_seq = 3 };
	assert_int_equal(audit_list_filter(a, &b, &flt), 0);
	assert_int_equal(svca_fields_collect(b.data, b.len, f, 64), 3);
	uint64_t seq;
	assert_int_equal(svca_field_u64(&f[1], &seq), 0);
	assert_int_equal(seq, 4);
	svca_buf_reset(&b);
	flt = (struct audit_filter){ .until_ms = 1 }; /* 1970: nothing */
	assert_int_equal(audit_list_filter(a, &b, &flt), 0);
	assert_int_equal(b.len, 0);
	svca_buf_free(&b);
	assert_true(audit_event_type_matches("token.", "token.deny"));
	assert_true(audit_event_type_matches("token.*", "token.deny"));
	assert_true(audit_event_type_matches("*.deny", "token.deny"));
	assert_true(audit_event_type_matches("token.deny", "token.deny"));
	assert_false(audit_event_type_matches("token", "token.deny"));
	assert_false(audit_event_type_matches("token.", "tokens.x"));
	audit_close(a);
	store_close(s);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(flushed_changes_survive_a_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(unflushed_changes_are_not_durable, setup, teardown),
		cmocka_unit_test_setup_teardown(abort_undoes_the_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(failed_flush_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(torn_journal_tail_is_discarded, setup, teardown),
		cmocka_unit_test_setup_teardown(journal_has_zero_room_and_replays, setup, teardown),
		cmocka_unit_test_setup_teardown(journal_grows_by_steps_and_checkpoints, setup,
						teardown),
		cmocka_unit_test_setup_teardown(torn_record_followed_by_zeros_is_discarded, setup,
						teardown),
		cmocka_unit_test_setup_teardown(failed_sync_in_the_room_leaves_nothing_behind,
						setup, teardown),
		cmocka_unit_test_setup_teardown(torn_write_in_the_room_then_good_batches_survive,
						setup, teardown),
		cmocka_unit_test_setup_teardown(journal_without_room_replays, setup, teardown),
		cmocka_unit_test_setup_teardown(low_space_gives_the_room_back, setup, teardown),
		cmocka_unit_test_setup_teardown(iterate_walks_every_key_and_reads_after, setup,
						teardown),
		cmocka_unit_test_setup_teardown(cached_reads_follow_every_change, setup, teardown),
		cmocka_unit_test_setup_teardown(background_flush_serves_the_next_batch_meanwhile,
						setup, teardown),
		cmocka_unit_test_setup_teardown(failed_background_flush_undoes_the_next_batch_too,
						setup, teardown),
		cmocka_unit_test_setup_teardown(synchronous_flush_waits_for_the_batch_in_flight,
						setup, teardown),
		cmocka_unit_test_setup_teardown(crash_with_a_batch_in_flight_opens_cleanly, setup,
						teardown),
		cmocka_unit_test_setup_teardown(checkpoint_due_with_a_batch_open, setup, teardown),
		cmocka_unit_test_setup_teardown(chain_intact, setup, teardown),
		cmocka_unit_test_setup_teardown(edited_record_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(edited_last_record_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(deleted_record_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(truncated_tail_with_rewritten_head_detected, setup,
						teardown),
		cmocka_unit_test_setup_teardown(truncated_tail_with_legacy_head_detected, setup,
						teardown),
		cmocka_unit_test_setup_teardown(rewritten_head_without_high_water_detected, setup,
						teardown),
		cmocka_unit_test_setup_teardown(restart_after_truncation_never_reuses_a_seq, setup,
						teardown),
		cmocka_unit_test_setup_teardown(legacy_head_is_maced_at_first_start, setup,
						teardown),
		cmocka_unit_test_setup_teardown(replaced_audit_key_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(damaged_audit_key_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(list_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(list_filter_struct, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
