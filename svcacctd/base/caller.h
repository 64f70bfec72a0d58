/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Who calls: the caller model shared by the audit trail, the rules and the
 * request handlers (plain data, no daemon state). */
#ifndef SVCACCTD_CALLER_H
#define SVCACCTD_CALLER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Management privilege of a caller (DESIGN.md section 3). */
enum privilege {
	PRIV_NONE = 0,
	PRIV_ADMIN = 1,
	PRIV_SUPER = 2,
};

#define PEER_MAX_GROUPS 64

/* Who is on the other end of a connection: SO_PEERCRED and SO_PEERGROUPS,
 * read when the connection was accepted (one request per connection). */
struct peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t groups[PEER_MAX_GROUPS];
	size_t ngroups;
	char addr[64]; /* TCP peers (HTTP front): the address; "" on Unix */
	/* TCP peers: who counts as one caller for rate limits and lockouts
	 * (all of loopback, one IPv6 /64; http_caller_key); "" on Unix. */
	char caller[64];
};

/* The identity an audit record names as the actor. */
struct actor {
	uid_t uid;
	char user[64];    /* local user name of uid, or "uid N" */
	char account[33]; /* service account acting by token, else "" */
	enum privilege priv;
};

/* The caller's user name labels the actor in audit records; the last
 * answers of getpwuid_r are kept for a few seconds (cmd/request.c).  A
 * member of struct daemon. */
#define CALLER_NAME_SLOTS 16

struct caller_names {
	struct {
		uid_t uid;
		int64_t at; /* 0 = empty */
		char name[64];
	} slot[CALLER_NAME_SLOTS];
	unsigned next;
};

#endif
