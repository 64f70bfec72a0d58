/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The hub store's copy of records (store_pg.c), used only while the hub
 * holds the organization's write lock, when it is exact: at each lock the
 * change log says which records other hubs changed since (those are
 * forgotten), and nobody else can change one until the lock is released.
 *
 * It is also where a batch's writes wait until the COMMIT: a write changes
 * the copy at once (later reads of the batch see it) and marks the record
 * dirty; an undo log takes back a transaction that aborts; at the flush the
 * dirty records are written in one statement.
 */
#ifndef SVCACCTD_PG_CACHE_H
#define SVCACCTD_PG_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct pg_cache;

struct pg_cache *pgc_new(void);
void pgc_free(struct pg_cache *c);

/* 1 present (*val points into the cache until the next change), 0 known
 * to be absent, -1 not known. */
int pgc_get(const struct pg_cache *c, const char *key, const uint8_t **val, size_t *vlen);
/* What the database said (present or not); ignored for a dirty record.
 * 0 ok, -1 out of memory (the record is then not known). */
int pgc_fill(struct pg_cache *c, const char *key, const uint8_t *val, size_t vlen, int present);
/* A write of the batch (present = 0: a delete).  0 ok, -1 out of memory. */
int pgc_write(struct pg_cache *c, const char *key, const uint8_t *val, size_t vlen, int present);
/* Another hub changed key: forget it (never a dirty record). */
void pgc_forget(struct pg_cache *c, const char *key);

/* Transactions inside the batch: the undo position, and back to it. */
size_t pgc_mark(const struct pg_cache *c);
void pgc_undo_to(struct pg_cache *c, size_t mark);

/* The dirty records in the order they were first written. */
typedef int (*pgc_dirty_fn)(void *arg, const char *key, const uint8_t *val, size_t vlen,
			    int present);
int pgc_each_dirty(const struct pg_cache *c, pgc_dirty_fn fn, void *arg);
size_t pgc_dirty_count(const struct pg_cache *c);

/* The batch committed (ok: dirty records are now what the database holds)
 * or failed (everything is forgotten). */
void pgc_settle(struct pg_cache *c, int ok);
/* Forgets every record that is not dirty. */
void pgc_clear(struct pg_cache *c);

#endif
