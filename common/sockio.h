/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Defensive socket I/O with one absolute monotonic deadline per request. */
#ifndef SVCACCT_SOCKIO_H
#define SVCACCT_SOCKIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t svca_now_ms(void);
/* Milliseconds since the epoch (UTC) on CLOCK_REALTIME. */
int64_t svca_wall_ms(void);

/* Outcome of a client call, beyond the reply status. */
enum svca_call_err {
	SVCA_CALL_OK = 0,
	SVCA_CALL_CONNECT = 1, /* socket missing, refused, not a socket */
	SVCA_CALL_TIMEOUT = 2, /* deadline passed */
	SVCA_CALL_IO = 3,      /* connection broke, or a malformed reply */
	SVCA_CALL_PEER = 4,    /* the server is not who it must be */
	SVCA_CALL_NOMEM = 5,
};

struct svca_call_opts {
	const char *path; /* socket path */
	int timeout_ms;   /* whole call, connect to last reply byte */
	size_t max_reply; /* 0 = SVCA_MAX_REPLY */
	/* When set, the socket file and the server process must be owned by
	 * uid 0 or by this uid (the daemon's user), and the socket's
	 * directory must not be writable by others.  -1 = no check. */
	int64_t trusted_uid;
};

struct svca_reply {
	uint16_t status;
	uint8_t *body; /* malloc'ed, svca_reply_free wipes it */
	size_t len;
};

/* The uid of the user called name (getpwnam_r, growing its buffer up to
 * 1 MiB).  0 with *uid set; 1 when no such user exists; -1 on an error
 * (out of memory, a lookup failure). */
int svca_user_uid(const char *name, int64_t *uid);

/* Sends the frame in req and reads one reply.  On SVCA_CALL_OK the reply
 * is filled in.  err receives a message naming the socket and the cause. */
enum svca_call_err svca_call(const struct svca_call_opts *o, const struct svca_buf *req,
			     struct svca_reply *rep, char *err, size_t errlen);
void svca_reply_free(struct svca_reply *rep);

/* Reads or writes exactly n bytes before deadline (monotonic ms).
 * 0 on success; -1 with errno (ETIMEDOUT at the deadline, EPIPE on EOF). */
int svca_read_full(int fd, void *buf, size_t n, int64_t deadline);
int svca_write_full(int fd, const void *buf, size_t n, int64_t deadline);
/* Writes exactly n bytes to a blocking fd (a file), again after EINTR.
 * 0; -1 with errno. */
int svca_write_all(int fd, const void *buf, size_t n);

#endif
