/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * How far behind the organization a host is (host list / host show lag_s):
 * 0 when its last fetched snapshot is at or past the change log's newest
 * seq, else the seconds since the first change it has not fetched; unknown
 * (null) when it never fetched one.
 */
#ifndef SVCACCTD_HOSTLAG_H
#define SVCACCTD_HOSTLAG_H

#include <stddef.h>
#include <stdint.h>

#include "hosts.h"
#include "store.h"

/* The pure rule.  host_seq 0: never synced.  first_change_ms: the time of
 * the first change after host_seq (0: none logged, e.g. pruned).  1 known
 * (*lag_s set), 0 unknown. */
int host_lag_compute(uint64_t host_seq, uint64_t cur_seq, int64_t first_change_ms, int64_t now_ms,
		     uint64_t *lag_s);

/* Fills has_lag / lag_s of the n hosts with one query on the change log.
 * 0 ok; -1 when the store cannot say (GDBM, database unreachable): the
 * hosts' lag stays unknown. */
int host_lag_fill(struct store *s, struct host *hs, size_t n);

#endif
