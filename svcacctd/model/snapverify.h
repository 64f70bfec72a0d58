/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Agent mode: checking a snapshot envelope from a hub before anything of
 * it is used (docs/agent-protocol.md).  Pure function of its inputs (no
 * daemon state): the sync thread calls it.
 *
 * Refused (err says which, nothing kept): not JSON or not an envelope, a
 * payload that is not standard base64 or larger than SNAPSHOT_MAX_BYTES,
 * a signature that does not verify with the pinned key (whatever kid the
 * hub names), a payload that is not JSON, an unknown format, a host_id
 * that is not this host, a seq older than the one applied (replay), a
 * record list or workspace list that is malformed.
 */
#ifndef SVCACCTD_SNAPVERIFY_H
#define SVCACCTD_SNAPVERIFY_H

#include <stddef.h>
#include <stdint.h>

struct snap_verified {
	uint64_t seq;
	uint64_t issued_at; /* hub wall clock, ms */
	char *payload;      /* the verified payload bytes, NUL-terminated (malloc) */
	size_t len;
	int delta; /* a delta (host_delta_verify): applies on base_seq */
	uint64_t base_seq;
};

/* 0 verified (out filled: free with snap_verified_free), -1 refused. */
int host_snapshot_verify(const uint8_t pk[32], const char *host_id, uint64_t applied_seq,
			 const char *body, size_t len, struct snap_verified *out, char *err,
			 size_t errlen);
/* The same for a delta (GET /v1/agent/delta): the same envelope and key;
 * refused besides when it is not a delta, its base_seq is not exactly
 * applied_seq, or its seq is not newer (replay). */
int host_delta_verify(const uint8_t pk[32], const char *host_id, uint64_t applied_seq,
		      const char *body, size_t len, struct snap_verified *out, char *err,
		      size_t errlen);
void snap_verified_free(struct snap_verified *v);

#endif
