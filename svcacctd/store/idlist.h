/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Small per-account indexes in DB_STATE ("kidx/<uid>" -> key ids,
 * "gidx/<uid>" -> grant scopes): newline-separated items, so finding an
 * account's keys or grants costs a few fetches, not a walk of the whole
 * database (GDBM has no ordered prefix scan).
 */
#ifndef SVCACCTD_IDLIST_H
#define SVCACCTD_IDLIST_H

#include <stddef.h>

#include "store.h"

#define IDLIST_MAX_ITEMS 1024

/* Items of the list at key (malloc'ed array of malloc'ed strings; free
 * with idlist_free).  0 ok (an absent list is empty), -1 error. */
int idlist_get(struct store *s, const char *key, char ***items, size_t *n);
void idlist_free(char **items, size_t n);
/* Adds item unless present / removes it if present, in the open
 * transaction.  0 ok, -1 error (or the list is full). */
int idlist_add(struct store *s, const char *key, const char *item);

/* Loads the records a list names: fn fills one slot of size bytes from an
 * item and returns 1 (kept), 0 (skipped: stale or foreign) or -1 (error).
 * *out is a malloc'ed array of the kept records (NULL when none). */
typedef int (*idlist_load_fn)(struct store *s, const char *item, void *slot, void *ctx);
int idlist_load(struct store *s, const char *key, size_t size, idlist_load_fn fn, void *ctx,
		void **out, size_t *n);
int idlist_del(struct store *s, const char *key, const char *item);

#endif
