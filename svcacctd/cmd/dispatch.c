/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The command table and the dispatcher: the one place that maps a command
 * to its handler, its callers and its size limit. */
#include "dispatch.h"

#include <stddef.h>
#include <stdio.h>

#include "handlers.h"
#include "request.h"
#include "store.h"

/* Commands a caller without management rights may send (PAM stacks,
 * token exchanges) are held to the smaller unauthenticated size. */
#define ANYSIZE SVCA_MAX_UNAUTH_REQUEST
#define MGMTSIZE SVCA_MAX_REQUEST

static const struct command commands[] = {
	{ SVCA_CMD_PING, "ping", cmd_ping, CALLER_ANYONE, ANYSIZE, 0, CMD_ANY_MODE },

	{ SVCA_CMD_ACCOUNT_CREATE, "account.create", cmd_account_create, CALLER_ADMIN_OF, MGMTSIZE,
	  1, CMD_NOT_AGENT },
	{ SVCA_CMD_ACCOUNT_LIST, "account.list", cmd_account_list, CALLER_ADMIN, MGMTSIZE, 0,
	  CMD_NOT_AGENT },
	/* A read of the applied records on an agent too: pam_svcacct looks
	 * an account up with it when NSS does not know it. */
	{ SVCA_CMD_ACCOUNT_SHOW, "account.show", cmd_account_show, CALLER_SELF_OR_ADMIN, MGMTSIZE,
	  0, CMD_ANY_MODE },
	{ SVCA_CMD_ACCOUNT_UPDATE, "account.update", cmd_account_update, CALLER_ADMIN, MGMTSIZE, 1,
	  CMD_NOT_AGENT },
	{ SVCA_CMD_ACCOUNT_DISABLE, "account.disable", cmd_account_disable, CALLER_ADMIN, MGMTSIZE,
	  1, CMD_NOT_AGENT },
	{ SVCA_CMD_ACCOUNT_ENABLE, "account.enable", cmd_account_enable, CALLER_ADMIN, MGMTSIZE, 1,
	  CMD_NOT_AGENT },
	{ SVCA_CMD_ACCOUNT_DELETE, "account.delete", cmd_account_delete, CALLER_ADMIN, MGMTSIZE, 1,
	  CMD_NOT_AGENT },
	{ SVCA_CMD_ACCOUNT_ACCESS, "account.access", cmd_account_access, CALLER_SELF_OR_ADMIN,
	  MGMTSIZE, 0, CMD_ANY_MODE },

	{ SVCA_CMD_TEAM_CREATE, "team.create", cmd_team_create, CALLER_ADMIN, MGMTSIZE, 1,
	  CMD_NOT_AGENT },
	{ SVCA_CMD_TEAM_LIST, "team.list", cmd_team_list, CALLER_ADMIN, MGMTSIZE, 0,
	  CMD_NOT_AGENT },
	{ SVCA_CMD_TEAM_DELETE, "team.delete", cmd_team_delete, CALLER_ADMIN, MGMTSIZE, 1,
	  CMD_NOT_AGENT },
	{ SVCA_CMD_WORKSPACE_CREATE, "workspace.create", cmd_workspace_create, CALLER_ADMIN,
	  MGMTSIZE, 1, CMD_NOT_AGENT },
	{ SVCA_CMD_WORKSPACE_LIST, "workspace.list", cmd_workspace_list, CALLER_ADMIN, MGMTSIZE, 0,
	  CMD_NOT_AGENT },
	{ SVCA_CMD_WORKSPACE_DELETE, "workspace.delete", cmd_workspace_delete, CALLER_ADMIN,
	  MGMTSIZE, 1, CMD_NOT_AGENT },
	{ SVCA_CMD_GRANT_ADD, "grant.add", cmd_grant_add, CALLER_ADMIN, MGMTSIZE, 1,
	  CMD_NOT_AGENT },
	{ SVCA_CMD_GRANT_REMOVE, "grant.remove", cmd_grant_remove, CALLER_ADMIN, MGMTSIZE, 1,
	  CMD_NOT_AGENT },
	{ SVCA_CMD_GRANT_LIST, "grant.list", cmd_grant_list, CALLER_SELF_OR_ADMIN, MGMTSIZE, 0,
	  CMD_NOT_AGENT },

	{ SVCA_CMD_KEY_CREATE, "key.create", cmd_key_create, CALLER_ADMIN_OF, MGMTSIZE, 1,
	  CMD_NOT_AGENT },
	{ SVCA_CMD_KEY_LIST, "key.list", cmd_key_list, CALLER_SELF_OR_ADMIN, MGMTSIZE, 0,
	  CMD_NOT_AGENT },
	/* operator queries: read-only, admin */
	{ SVCA_CMD_KEY_LIST_ALL, "key.list_all", cmd_key_list_all, CALLER_ADMIN, MGMTSIZE, 0,
	  CMD_NOT_AGENT },
	{ SVCA_CMD_ACCOUNT_FIND, "account.find", cmd_account_find, CALLER_ADMIN, MGMTSIZE, 0,
	  CMD_NOT_AGENT },
	{ SVCA_CMD_ACCESS_LIST, "access.list", cmd_access_list, CALLER_ADMIN, MGMTSIZE, 0,
	  CMD_ANY_MODE },
	{ SVCA_CMD_KEY_DISABLE, "key.disable", cmd_key_disable, CALLER_ADMIN_OF, MGMTSIZE, 1,
	  CMD_NOT_AGENT },
	{ SVCA_CMD_KEY_ENABLE, "key.enable", cmd_key_enable, CALLER_ADMIN_OF, MGMTSIZE, 1,
	  CMD_NOT_AGENT },
	{ SVCA_CMD_KEY_REVOKE, "key.revoke", cmd_key_revoke, CALLER_ADMIN_OF, MGMTSIZE, 1,
	  CMD_NOT_AGENT },
	/* the key, the token: its holder (token revoke by account: admin) */
	{ SVCA_CMD_TOKEN_CREATE, "token.create", cmd_token_create, CALLER_ANYONE, ANYSIZE, 1,
	  CMD_ANY_MODE },
	{ SVCA_CMD_TOKEN_VERIFY, "token.verify", cmd_token_verify, CALLER_ANYONE, ANYSIZE, 0,
	  CMD_ANY_MODE },
	{ SVCA_CMD_TOKEN_REVOKE, "token.revoke", cmd_token_revoke, CALLER_ANYONE, MGMTSIZE, 1,
	  CMD_ANY_MODE },
	{ SVCA_CMD_JWKS, "jwks", cmd_jwks, CALLER_ANYONE, ANYSIZE, 0, CMD_ANY_MODE },
	{ SVCA_CMD_SIGNING_KEY_ROTATE, "signing_key.rotate", cmd_signing_key_rotate, CALLER_SUPER,
	  MGMTSIZE, 1, CMD_NOT_AGENT },

	{ SVCA_CMD_PAM_AUTH, "pam.auth", cmd_pam_auth, CALLER_ROOT, ANYSIZE, 1, CMD_ANY_MODE },
	{ SVCA_CMD_PAM_AUTHORIZE, "pam.authorize", cmd_pam_authorize, CALLER_ROOT, ANYSIZE, 1,
	  CMD_ANY_MODE },
	{ SVCA_CMD_PAM_SESSION_OPEN, "pam.session_open", cmd_pam_session_open, CALLER_ROOT, ANYSIZE,
	  1, CMD_ANY_MODE },
	{ SVCA_CMD_PAM_SESSION_CLOSE, "pam.session_close", cmd_pam_session_close, CALLER_ROOT,
	  ANYSIZE, 1, CMD_ANY_MODE },
	/* sshd's AuthorizedPrincipalsCommand: root, the daemon's user or
	 * ssh_principals_user (handler); local state, any mode */
	{ SVCA_CMD_SSH_PRINCIPALS, "ssh.principals", cmd_ssh_principals, CALLER_ANYONE, ANYSIZE, 0,
	  CMD_ANY_MODE },

	{ SVCA_CMD_AUDIT_LIST, "audit.list", cmd_audit_list, CALLER_ADMIN, MGMTSIZE, 0,
	  CMD_ANY_MODE },
	{ SVCA_CMD_AUDIT_VERIFY, "audit.verify", cmd_audit_verify, CALLER_ADMIN, MGMTSIZE, 0,
	  CMD_ANY_MODE },

	{ SVCA_CMD_HOST_TOKEN_CREATE, "host.token_create", cmd_host_token_create, CALLER_ADMIN,
	  MGMTSIZE, 1, CMD_HUB_ONLY },
	{ SVCA_CMD_HOST_LIST, "host.list", cmd_host_list, CALLER_ADMIN, MGMTSIZE, 0, CMD_HUB_ONLY },
	{ SVCA_CMD_HOST_SHOW, "host.show", cmd_host_show, CALLER_ADMIN, MGMTSIZE, 0, CMD_HUB_ONLY },
	{ SVCA_CMD_HOST_UPDATE, "host.update", cmd_host_update, CALLER_ADMIN, MGMTSIZE, 1,
	  CMD_HUB_ONLY },
	{ SVCA_CMD_HOST_DISABLE, "host.disable", cmd_host_disable, CALLER_ADMIN, MGMTSIZE, 1,
	  CMD_HUB_ONLY },
	{ SVCA_CMD_HOST_REMOVE, "host.remove", cmd_host_remove, CALLER_ADMIN, MGMTSIZE, 1,
	  CMD_HUB_ONLY },
	/* the enrollment token is the credential (POST /v1/agent/enroll) */
	{ SVCA_CMD_HOST_REGISTER, "host.register", cmd_host_register, CALLER_ANYONE, ANYSIZE, 1,
	  CMD_HUB_ONLY },
	{ SVCA_CMD_HOST_ENROLL, "host.enroll", cmd_host_enroll, CALLER_ADMIN, MGMTSIZE, 1,
	  CMD_AGENT_ONLY },
	{ SVCA_CMD_FLEET_STATUS, "fleet.status", cmd_fleet_status, CALLER_ADMIN, MGMTSIZE, 0,
	  CMD_ANY_MODE },

	/* SSH certificates (DESIGN.md section 10): sign needs the account's
	 * key or token; an agent refuses it (only the hubs hold the CA) */
	{ SVCA_CMD_SSH_SIGN, "ssh.sign", cmd_ssh_sign, CALLER_ANYONE, ANYSIZE, 1, CMD_ANY_MODE },
	{ SVCA_CMD_SSH_CA, "ssh.ca", cmd_ssh_ca, CALLER_ANYONE, ANYSIZE, 0, CMD_ANY_MODE },
	{ SVCA_CMD_SSH_LIST, "ssh.list", cmd_ssh_list, CALLER_SELF_OR_ADMIN, MGMTSIZE, 0,
	  CMD_NOT_AGENT },
	{ SVCA_CMD_SSH_REVOKE, "ssh.revoke", cmd_ssh_revoke, CALLER_ADMIN, MGMTSIZE, 1,
	  CMD_NOT_AGENT },
	{ SVCA_CMD_SSH_CA_ROTATE, "ssh_ca.rotate", cmd_ssh_ca_rotate, CALLER_SUPER, MGMTSIZE, 1,
	  CMD_NOT_AGENT },
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

/* The command is not for this daemon's mode: 1 (replied), else 0. */
static int mode_refuses(struct request *r, const struct command *c)
{
	const struct svca_config *cfg = &r->d->cfg;
	enum svca_mode m = config_mode(cfg);
	if (m == MODE_AGENT && (c->mode == CMD_NOT_AGENT || c->mode == CMD_HUB_ONLY)) {
		char hubs[512];
		size_t used = 0;
		hubs[0] = '\0';
		for (size_t i = 0; i < cfg->hubs.n && used < sizeof(hubs); i++)
			used += (size_t)snprintf(hubs + used, sizeof(hubs) - used, "%s%s",
						 i ? ", " : "", cfg->hubs.v[i]);
		req_fail(r, SVCA_ERR_FAILED,
			 "this host is an agent of the fleet: manage accounts on a hub (%s), "
			 "e.g. svcacctctl --hub %s ...",
			 hubs, cfg->hubs.v[0]);
		return 1;
	}
	if (m != MODE_HUB && c->mode == CMD_HUB_ONLY) {
		req_fail(r, SVCA_ERR_FAILED,
			 "only a hub keeps the fleet's hosts (%s): this daemon is standalone (no "
			 "'database' in %s); run it on a hub, or with --hub URL",
			 c->name, cfg->path ? cfg->path : "its configuration");
		return 1;
	}
	if (m != MODE_AGENT && c->mode == CMD_AGENT_ONLY) {
		req_fail(r, SVCA_ERR_FAILED,
			 "host enroll is for an agent: this daemon is %s (an agent has 'hubs' and "
			 "'hub_ca' in its configuration)",
			 m == MODE_HUB ? "a hub" : "standalone");
		return 1;
	}
	return 0;
}

void handle_request(struct request *r)
{
	const struct command *c = command_find(r->cmd);
	r->cmd_name = c ? c->name : NULL;
	peer_to_actor(r->d, r->peer, &r->actor);
	if (req_token_actor(r) < 0)
		return;
	if (!c) {
		req_fail(r, SVCA_ERR_BADREQ, "unknown or unsupported command %u", (unsigned)r->cmd);
		return;
	}
	if (mode_refuses(r, c))
		goto out;
	if ((c->caller == CALLER_ADMIN && req_require(r, PRIV_ADMIN, NULL) < 0) ||
	    (c->caller == CALLER_SUPER && req_require(r, PRIV_SUPER, NULL) < 0))
		goto out;
	/* A shared store (hub mode) takes the organization's write lock
	 * before a writer reads, so what it checks stays true until it
	 * commits. */
	if (c->writes)
		store_write_intent(r->d->store);
	c->handler(r);
out:
	/* The organization's database could not be reached: whatever the
	 * handler answered, the caller learns that (status 5), and what the
	 * request began is rolled back with the batch. */
	if (store_unavailable(r->d->store))
		req_fail(r, SVCA_ERR_UNAVAIL,
			 "the organization database is unreachable (%s); nothing was changed",
			 store_error(r->d->store));
}
