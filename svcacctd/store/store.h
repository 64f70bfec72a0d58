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

/*
 * Hub mode: the store in PostgreSQL (store_pg.h), shared by every hub of
 * one organization.  conninfo is a libpq connection string; host names
 * this host in the audit table and the change log.  STORE_SERVE migrates
 * an older schema (when the role may) and refuses a newer one;
 * STORE_CHECK only checks that the database answers with the current
 * schema (the store is then only good for store_close); STORE_MIGRATE
 * applies the migrations (likewise).
 */
enum store_shared_mode { STORE_SERVE, STORE_CHECK, STORE_MIGRATE };
/* The schema version of the shared store this build knows. */
#define STORE_SCHEMA_VERSION 1
struct store *store_open_shared(const char *conninfo, const char *host, enum store_shared_mode mode,
				char *err, size_t errlen);
/* 1 when other daemons write the same store (hub mode). */
int store_shared(const struct store *s);
/* A request that may write is about to read: in a shared store it takes the
 * organization's write lock now, so that what it reads stays true until
 * its changes commit (no lost updates across hubs).  No-op for GDBM. */
void store_write_intent(struct store *s);
/* Following the other hubs' changes (shared store; -1 / 0 otherwise):
 * store_changes_fd is readable when the change log moved on;
 * store_poll_changes calls fn with each changed key ("DB:KEY", or "*" for
 * "everything may have changed") in commit order, skipping this store's
 * own; it returns the number of changes read, -1 on error. */
typedef void (*store_change_fn)(void *arg, const char *key);
int store_changes_fd(struct store *s);
/* Shared store: the newest change-log seq this store knows of (its own
 * commits and the others' it has read); inside store_write_intent, exactly
 * the seq the transaction's reads reflect.  0 for GDBM. */
uint64_t store_change_seq(const struct store *s);
int store_poll_changes(struct store *s, store_change_fn fn, void *arg);
/* Shared store, one query: for each seqs[i] the time (ms since the epoch,
 * the database's clock) of the first change logged after it (0: none
 * logged), the log's newest seq and the database's now.  0 ok; -1 error,
 * or GDBM (no change log). */
int store_change_times(struct store *s, const uint64_t *seqs, size_t n, int64_t *first_ms,
		       uint64_t *cur_seq, int64_t *now_ms);
/* Shared store, inside store_write_intent: calls fn with every key
 * ("DB:KEY") the change log holds for seqs in (since, upto], own commits
 * included (an agent's delta).  0 all read; 1 the log does not hold them
 * all (pruned, a cut key list; always for GDBM); 2 fn returned non-zero;
 * -1 error. */
int store_changes_between(struct store *s, uint64_t since, uint64_t upto,
			  int (*fn)(void *arg, const char *key), void *arg);
/* 1 when the last operation failed because the database is unreachable
 * (a shared store); store_error says why, without secrets. */
int store_unavailable(const struct store *s);
const char *store_error(const struct store *s);
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
