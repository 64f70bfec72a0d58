/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A host's lag behind the organization (hostlag.h). */
#include "hostlag.h"

#include <stdlib.h>

int host_lag_compute(uint64_t host_seq, uint64_t cur_seq, int64_t first_change_ms, int64_t now_ms,
		     uint64_t *lag_s)
{
	if (host_seq == 0)
		return 0;
	if (host_seq >= cur_seq) {
		*lag_s = 0;
		return 1;
	}
	/* The log no longer holds the first change after host_seq (pruned
	 * after a day): how long ago is not known. */
	if (first_change_ms <= 0)
		return 0;
	*lag_s = now_ms > first_change_ms ? (uint64_t)(now_ms - first_change_ms) / 1000 : 0;
	return 1;
}

int host_lag_fill(struct store *s, struct host *hs, size_t n)
{
	uint64_t *seqs = calloc(n ? n : 1, sizeof(*seqs)), cur = 0;
	int64_t *first = calloc(n ? n : 1, sizeof(*first)), now = 0;
	int r = -1;
	for (size_t i = 0; i < n; i++)
		hs[i].has_lag = 0;
	if (seqs && first) {
		for (size_t i = 0; i < n; i++)
			seqs[i] = hs[i].snapshot_seq;
		r = store_change_times(s, seqs, n, first, &cur, &now);
	}
	for (size_t i = 0; r == 0 && i < n; i++)
		hs[i].has_lag =
			host_lag_compute(hs[i].snapshot_seq, cur, first[i], now, &hs[i].lag_s);
	free(seqs);
	free(first);
	return r;
}
