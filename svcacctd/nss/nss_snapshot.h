/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The NSS snapshot: the passwd and group views of the service accounts,
 * written to nss_dir atomically (temporary file, fsync, rename) after every
 * change that affects them.  libnss_svcacct reads these files and never
 * talks to the daemon.  See common/snapshot_format.h for the format.
 */
#ifndef SVCACCTD_NSS_SNAPSHOT_H
#define SVCACCTD_NSS_SNAPSHOT_H

#include "daemon.h"

/* The in-memory table the snapshot is written from (nss_snapshot.c), a
 * member of the daemon's state (d->nss).  NULL: out of memory. */
struct nss_table *nss_table_new(void);

/* Frees the table (NULL: nothing).  The store it last listened to keeps
 * its change hooks, which point into the table: free it after closing
 * that store. */
void nss_table_free(struct nss_table *t);

/* Rewrites the snapshot from d->nss if d->nss_dirty; clears the flag on
 * success.  A failure is logged and retried at the next change or tick. */
void nss_snapshot_write(struct daemon *d);

/* Drops the table's contents (they are rebuilt from the store at the next
 * write) and stops listening to the record functions.  For tests that
 * open several stores, and for a clean shutdown.  NULL: nothing. */
void nss_snapshot_forget(struct nss_table *t);

/* How many times the table was built from a walk of the store (tests). */
unsigned long nss_snapshot_builds(const struct nss_table *t);

#endif
