/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The store in PostgreSQL (hub mode): the same interface as GDBM (store.h
 * forwards to these), shared by every hub of one organization.
 *
 *   svcacct_kv        (db, k, v): every record of state.db, and the audit
 *                     chain's head, as the daemon's own encoded values
 *   svcacct_audit     (seq, host, ts, rec): the audit records, append-only
 *   svcacct_changes   (seq, host, ts, keys): the change log; one row per
 *                     committed batch, seq in commit order
 *   svcacct_schema    (version): the numbered migrations applied
 *
 * Every writing transaction first takes one transaction-scoped advisory
 * lock, so writers are serialized across hubs: reads in a write see every
 * committed change, and change-log seqs are issued in commit order (a
 * reader that follows "seq > last" can never skip a late committer).
 *
 * Mapping of the store's transactions: the first store_begin (or
 * store_write_intent) opens a PostgreSQL transaction and takes the lock;
 * each store_begin..store_commit is a savepoint; store_flush writes the
 * change-log row, notifies the other hubs and COMMITs.  So one COMMIT makes
 * a batch of requests durable (group commit), and a reply is sent only
 * after its COMMIT returned.
 */
#ifndef SVCACCTD_STORE_PG_H
#define SVCACCTD_STORE_PG_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* The schema version this build knows (and migrates to). */
#define PG_SCHEMA_VERSION STORE_SCHEMA_VERSION

struct pg_store;

/* Connects and checks the schema (enum store_shared_mode, store.h). */
struct pg_store *pgs_open(const char *conninfo, const char *host, enum store_shared_mode mode,
			  char *err, size_t errlen);
void pgs_close(struct pg_store *p);

int pgs_get(struct pg_store *p, enum store_db db, const char *key, uint8_t **val, size_t *vlen);
int pgs_iterate(struct pg_store *p, enum store_db db, const char *prefix, store_iter_fn fn,
		void *arg);
void pgs_write_intent(struct pg_store *p);
void pgs_begin(struct pg_store *p);
int pgs_put(struct pg_store *p, enum store_db db, const char *key, const uint8_t *val, size_t vlen);
int pgs_del(struct pg_store *p, enum store_db db, const char *key);
int pgs_commit(struct pg_store *p);
void pgs_abort(struct pg_store *p);
int pgs_flush(struct pg_store *p);
int pgs_dirty(const struct pg_store *p);
int pgs_flush_fd(struct pg_store *p);
uint64_t pgs_pending_gen(const struct pg_store *p);
uint64_t pgs_durable_gen(const struct pg_store *p);
uint64_t pgs_take_failure(struct pg_store *p);

int pgs_changes_fd(struct pg_store *p);
uint64_t pgs_change_seq(const struct pg_store *p);
int pgs_poll_changes(struct pg_store *p, store_change_fn fn, void *arg);
int pgs_change_times(struct pg_store *p, const uint64_t *seqs, size_t n, int64_t *first_ms,
		     uint64_t *cur_seq, int64_t *now_ms);
int pgs_changes_between(struct pg_store *p, uint64_t since, uint64_t upto,
			int (*fn)(void *arg, const char *key), void *arg);
int pgs_unavailable(const struct pg_store *p);
const char *pgs_error(const struct pg_store *p);

#endif
