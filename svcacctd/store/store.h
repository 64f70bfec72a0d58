/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The store: the one narrow interface every rule above it uses (get, put,
 * delete, iterate, commit), so a shared backend can replace GDBM later.
 *
 * Durability and atomicity come from a redo journal in front of GDBM:
 *
 *   - A transaction's puts and deletes are applied to GDBM at once (so the
 *     rest of the request reads them) and appended to an in-memory journal
 *     batch, with the old values kept for undo.
 *   - store_flush() writes the batch to the journal file with one write and
 *     one fdatasync: several requests share it (group commit).  Only after
 *     it succeeds may their replies be sent.  If it fails, every change of
 *     the batch is undone, so a failed write changes nothing.
 *   - A checkpoint syncs GDBM, copies each database to a ".base" file
 *     (write, fsync, rename) and empties the journal.
 *   - After a crash (no "clean" marker), the databases are rebuilt from the
 *     base copies plus the journal, so a process killed in the middle of a
 *     GDBM update can never leave a half-written database behind.
 */
#ifndef SVCACCTD_STORE_H
#define SVCACCTD_STORE_H

#include <stddef.h>
#include <stdint.h>

enum store_db { DB_STATE = 0, DB_AUDIT = 1, DB_COUNT = 2 };

struct store;

/* Opens (and if needed recovers) the databases in dir.  The caller holds
 * the instance lock.  err receives a message on failure. */
struct store *store_open(const char *dir, char *err, size_t errlen);
/* Flushes, checkpoints and marks a clean shutdown. */
void store_close(struct store *s);

/* One pointer the layers above hang on a store instance: the model's
 * change hooks (struct change_hooks, model/accounts.h), set by whoever
 * keeps a copy of the records in memory (the NSS snapshot).  NULL until
 * set; the store never looks at it. */
void store_set_hooks(struct store *s, const void *hooks);
const void *store_hooks(const struct store *s);

/* 1 found (*val malloc'ed, caller frees), 0 not found, -1 error. */
int store_get(struct store *s, enum store_db db, const char *key, uint8_t **val, size_t *vlen);

typedef int (*store_iter_fn)(void *arg, const char *key, size_t klen, const uint8_t *val,
			     size_t vlen);
/* Calls fn for every key starting with prefix (unordered).  fn returning
 * non-zero stops the walk and is returned.  -1 on a database error. */
int store_iterate(struct store *s, enum store_db db, const char *prefix, store_iter_fn fn,
		  void *arg);

/* A transaction groups the changes of one request. */
void store_begin(struct store *s);
int store_put(struct store *s, enum store_db db, const char *key, const uint8_t *val, size_t vlen);
int store_del(struct store *s, enum store_db db, const char *key);
/* Ends the transaction: it will be made durable by the next flush. */
int store_commit(struct store *s);
/* Undoes the current transaction's changes. */
void store_abort(struct store *s);

/* Makes every committed transaction durable.  0 ok; -1 failed and every
 * transaction since the last flush was undone. */
int store_flush(struct store *s);
/*
 * Group commit without stopping the loop (server.c): the journal write and
 * its fdatasync run on the store's writer thread while the daemon goes on
 * handling requests into the next batch.  At most one batch is in flight.
 * Every batch has a generation; a reply that saw changes of generation G
 * goes out once store_durable_gen() >= G.
 *
 * store_flush_start()   seals the open batch and hands it to the writer
 *                       (background) or writes it at once: 1 started,
 *                       0 nothing to write (or a batch is already in
 *                       flight), 2 written at once (!background, a
 *                       checkpoint is due, or no writer thread), -1 failed
 *                       at once (as store_flush_finish() failing).
 * store_flush_fd()      readable once the batch in flight is written.
 * store_flush_finish()  collects it: 0 durable; -1 failed: every change not
 *                       yet durable (the batch and the open one) was undone;
 *                       1 nothing was in flight (a synchronous flush
 *                       collected it already).
 * store_flush()         the same, synchronously, waiting first for the
 *                       batch in flight: 0 all durable, -1 something failed.
 */
int store_flush_start(struct store *s, int background);
int store_flush_fd(struct store *s);
int store_flush_finish(struct store *s);
int store_flush_busy(const struct store *s);
/* The newest generation with changes that are not durable yet (open or in
 * flight); 0 when everything is durable. */
uint64_t store_pending_gen(const struct store *s);
uint64_t store_durable_gen(const struct store *s);
/* After a failed flush (since the last call): the newest generation that
 * was undone, so that replies with generations in (durable, that] fail;
 * 0 when nothing failed. */
uint64_t store_take_failure(struct store *s);

/* The open transaction is refused (ENOSPC, store_low_space) while the file
 * system has less than bytes free: the writes of unprivileged callers keep
 * off a reserve that logins and administrators still have.  Reset by
 * store_begin. */
void store_txn_reserve(struct store *s, uint64_t bytes);
/* 1 when the file system has less than bytes free. */
int store_space_below(struct store *s, uint64_t bytes);

/* 1 when the last change was refused because the disk is nearly full. */
int store_low_space(const struct store *s);

/* 1 when there is something to flush. */
int store_dirty(const struct store *s);

/* Test hooks: make the next journal write fail (as ENOSPC would); the
 * same after the first "written" bytes of the batch reached the file
 * (SIZE_MAX: all of them, then the fdatasync fails as EIO would); close
 * without flushing or marking a clean shutdown, as a crash would. */
void store_fail_next_flush(struct store *s);
void store_fail_next_flush_after(struct store *s, size_t written);
void store_abandon(struct store *s);
/* Test hook: the free space the store sees on its file system, in bytes
 * (0: the real figure). */
void store_fake_free_space(struct store *s, uint64_t bytes);

#endif
