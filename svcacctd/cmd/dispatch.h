/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The command table: every command the daemon answers, its handler, who
 * may call it, how large its request may be and whether it changes state.
 * Adding a command touches common/proto.h, the table (dispatch.c) and the
 * one handler file of its noun. */
#ifndef SVCACCTD_DISPATCH_H
#define SVCACCTD_DISPATCH_H

#include <stdint.h>

#include "request.h"

/* Who may call a command.  CALLER_ADMIN and CALLER_SUPER are checked by
 * the dispatcher before the handler runs (an admin.deny audit event and
 * status 3 otherwise); the others need the request's fields to decide and
 * are checked by the handler. */
enum cmd_caller {
	CALLER_ANYONE,        /* anyone; the credential in the request decides */
	CALLER_ROOT,          /* uid 0 only: a PAM stack (handler) */
	CALLER_SELF_OR_ADMIN, /* the account itself (its uid or token), else admin (handler) */
	CALLER_ADMIN_OF,      /* admin, audited with the named account (handler) */
	CALLER_ADMIN,         /* admin or super-admin (dispatcher) */
	CALLER_SUPER,         /* super-admin (dispatcher) */
};

/* Where a command is served (DESIGN.md section 9).  The dispatcher
 * refuses it elsewhere with status 1 and a message that says where to
 * go; on an agent, management names the hubs. */
enum cmd_mode {
	CMD_ANY_MODE = 0, /* every mode */
	CMD_NOT_AGENT,    /* management: standalone and hubs; an agent's hubs decide */
	CMD_HUB_ONLY,     /* the fleet's records: hubs only */
	CMD_AGENT_ONLY,   /* host enroll */
};

struct command {
	uint16_t cmd;     /* enum svca_cmd */
	const char *name; /* in refusals: "account.create requires admin" */
	void (*handler)(struct request *r);
	enum cmd_caller caller;
	uint32_t max_request; /* body size accepted before reading it */
	int writes;           /* changes state beyond audit refusals */
	enum cmd_mode mode;   /* 0 (CMD_ANY_MODE) when not given */
};

/* The table entry of a command, or NULL for an unknown one. */
const struct command *command_find(uint16_t cmd);

/* Maximum body size accepted for a command before reading it. */
uint32_t request_size_limit(uint16_t cmd);

/* Dispatches one decoded request and writes the reply frame. */
void handle_request(struct request *r);

#endif
