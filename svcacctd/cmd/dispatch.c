/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The command table and the dispatcher: the one place that maps a command
 * to its handler, its callers and its size limit. */
#include "dispatch.h"

#include <stddef.h>

#include "handlers.h"

/* Commands a caller without management rights may send (PAM stacks,
 * token exchanges) are held to the smaller unauthenticated size. */
#define ANYSIZE SVCA_MAX_UNAUTH_REQUEST
#define MGMTSIZE SVCA_MAX_REQUEST

static const struct command commands[] = {
	{ SVCA_CMD_PING, cmd_ping, CALLER_ANYONE, ANYSIZE, 0 },

	{ SVCA_CMD_ACCOUNT_CREATE, cmd_account_create, CALLER_ADMIN_OF, MGMTSIZE, 1 },
	{ SVCA_CMD_ACCOUNT_LIST, cmd_account_list, CALLER_ADMIN, MGMTSIZE, 0 },
	{ SVCA_CMD_ACCOUNT_SHOW, cmd_account_show, CALLER_SELF_OR_ADMIN, MGMTSIZE, 0 },
	{ SVCA_CMD_ACCOUNT_UPDATE, cmd_account_update, CALLER_ADMIN, MGMTSIZE, 1 },
	{ SVCA_CMD_ACCOUNT_DISABLE, cmd_account_disable, CALLER_ADMIN, MGMTSIZE, 1 },
	{ SVCA_CMD_ACCOUNT_ENABLE, cmd_account_enable, CALLER_ADMIN, MGMTSIZE, 1 },
	{ SVCA_CMD_ACCOUNT_DELETE, cmd_account_delete, CALLER_ADMIN, MGMTSIZE, 1 },
	{ SVCA_CMD_ACCOUNT_ACCESS, cmd_account_access, CALLER_SELF_OR_ADMIN, MGMTSIZE, 0 },

	{ SVCA_CMD_TEAM_CREATE, cmd_team_create, CALLER_ADMIN, MGMTSIZE, 1 },
	{ SVCA_CMD_TEAM_LIST, cmd_team_list, CALLER_ADMIN, MGMTSIZE, 0 },
	{ SVCA_CMD_TEAM_DELETE, cmd_team_delete, CALLER_ADMIN, MGMTSIZE, 1 },
	{ SVCA_CMD_WORKSPACE_CREATE, cmd_workspace_create, CALLER_ADMIN, MGMTSIZE, 1 },
	{ SVCA_CMD_WORKSPACE_LIST, cmd_workspace_list, CALLER_ADMIN, MGMTSIZE, 0 },
	{ SVCA_CMD_WORKSPACE_DELETE, cmd_workspace_delete, CALLER_ADMIN, MGMTSIZE, 1 },
	{ SVCA_CMD_GRANT_ADD, cmd_grant_add, CALLER_ADMIN, MGMTSIZE, 1 },
	{ SVCA_CMD_GRANT_REMOVE, cmd_grant_remove, CALLER_ADMIN, MGMTSIZE, 1 },
	{ SVCA_CMD_GRANT_LIST, cmd_grant_list, CALLER_SELF_OR_ADMIN, MGMTSIZE, 0 },

	{ SVCA_CMD_KEY_CREATE, cmd_key_create, CALLER_ADMIN_OF, MGMTSIZE, 1 },
	{ SVCA_CMD_KEY_LIST, cmd_key_list, CALLER_SELF_OR_ADMIN, MGMTSIZE, 0 },
	{ SVCA_CMD_KEY_DISABLE, cmd_key_disable, CALLER_ADMIN_OF, MGMTSIZE, 1 },
	{ SVCA_CMD_KEY_ENABLE, cmd_key_enable, CALLER_ADMIN_OF, MGMTSIZE, 1 },
	{ SVCA_CMD_KEY_REVOKE, cmd_key_revoke, CALLER_ADMIN_OF, MGMTSIZE, 1 },
	/* the key, the token: its holder (token revoke by account: admin) */
	{ SVCA_CMD_TOKEN_CREATE, cmd_token_create, CALLER_ANYONE, ANYSIZE, 1 },
	{ SVCA_CMD_TOKEN_VERIFY, cmd_token_verify, CALLER_ANYONE, ANYSIZE, 0 },
	{ SVCA_CMD_TOKEN_REVOKE, cmd_token_revoke, CALLER_ANYONE, MGMTSIZE, 1 },
	{ SVCA_CMD_JWKS, cmd_jwks, CALLER_ANYONE, ANYSIZE, 0 },
	{ SVCA_CMD_SIGNING_KEY_ROTATE, cmd_signing_key_rotate, CALLER_SUPER, MGMTSIZE, 1 },

	{ SVCA_CMD_PAM_AUTH, cmd_pam_auth, CALLER_ROOT, ANYSIZE, 1 },
	{ SVCA_CMD_PAM_AUTHORIZE, cmd_pam_authorize, CALLER_ROOT, ANYSIZE, 1 },
	{ SVCA_CMD_PAM_SESSION_OPEN, cmd_pam_session_open, CALLER_ROOT, ANYSIZE, 1 },
	{ SVCA_CMD_PAM_SESSION_CLOSE, cmd_pam_session_close, CALLER_ROOT, ANYSIZE, 1 },

	{ SVCA_CMD_AUDIT_LIST, cmd_audit_list, CALLER_ADMIN, MGMTSIZE, 0 },
	{ SVCA_CMD_AUDIT_VERIFY, cmd_audit_verify, CALLER_ADMIN, MGMTSIZE, 0 },
};

const struct command *command_find(uint16_t cmd)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].cmd == cmd)
			return &commands[i];
	return NULL;
}

uint32_t request_size_limit(uint16_t cmd)
{
	const struct command *c = command_find(cmd);
	return c ? c->max_request : SVCA_MAX_REQUEST;
}

void cmd_ping(struct request *r)
{
	req_ok(r);
	svca_frame_end(r->reply);
}

void handle_request(struct request *r)
{
	peer_to_actor(r->d, r->peer, &r->actor);
	if (req_token_actor(r) < 0)
		return;
	const struct command *c = command_find(r->cmd);
	if (!c) {
		req_fail(r, SVCA_ERR_BADREQ, "unknown or unsupported command %u", (unsigned)r->cmd);
		return;
	}
	if ((c->caller == CALLER_ADMIN && req_require(r, PRIV_ADMIN, NULL) < 0) ||
	    (c->caller == CALLER_SUPER && req_require(r, PRIV_SUPER, NULL) < 0))
		return;
	c->handler(r);
}
