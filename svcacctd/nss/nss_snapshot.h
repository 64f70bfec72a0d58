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

/* Rewrites the snapshot if d->nss_dirty; clears the flag on success.
 * A failure is logged and retried at the next change or tick. */
void nss_snapshot_write(struct daemon *d);

/* Drops the in-memory table (it is rebuilt from the store at the next
 * write) and stops listening to the record functions.  For tests that
 * open several stores, and for a clean shutdown. */
void nss_snapshot_forget(void);

/* How many times the table was built from a walk of the store (tests). */
unsigned long nss_snapshot_builds(void);

#endif
