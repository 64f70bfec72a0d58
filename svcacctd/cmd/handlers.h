/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The command handlers, one file per noun (handlers_accounts.c,
 * handlers_keys.c, handlers_rbac.c, handlers_pam.c, handlers_audit.c,
 * handlers_hosts.c).
 * Only the command table (dispatch.c) calls them. */
#ifndef SVCACCTD_HANDLERS_H
#define SVCACCTD_HANDLERS_H

struct request;

void cmd_ping(struct request *r);
void cmd_account_create(struct request *r);
void cmd_account_list(struct request *r);
void cmd_account_show(struct request *r);
void cmd_account_update(struct request *r);
void cmd_account_disable(struct request *r);
void cmd_account_enable(struct request *r);
void cmd_account_delete(struct request *r);
void cmd_account_access(struct request *r);
/* operator queries (handlers_queries.c) */
void cmd_account_find(struct request *r);
void cmd_access_list(struct request *r);
void cmd_team_create(struct request *r);
void cmd_team_list(struct request *r);
void cmd_team_delete(struct request *r);
void cmd_workspace_create(struct request *r);
void cmd_workspace_list(struct request *r);
void cmd_workspace_delete(struct request *r);
void cmd_grant_add(struct request *r);
void cmd_grant_remove(struct request *r);
void cmd_grant_list(struct request *r);
void cmd_pam_authorize(struct request *r);
void cmd_key_create(struct request *r);
void cmd_key_list(struct request *r);
void cmd_key_list_all(struct request *r);
void cmd_key_enable(struct request *r);
void cmd_key_disable(struct request *r);
void cmd_key_revoke(struct request *r);
void cmd_token_create(struct request *r);
void cmd_token_verify(struct request *r);
void cmd_token_revoke(struct request *r);
void cmd_jwks(struct request *r);
void cmd_signing_key_rotate(struct request *r);
void cmd_pam_auth(struct request *r);
void cmd_pam_session_open(struct request *r);
void cmd_pam_session_close(struct request *r);
void cmd_ssh_principals(struct request *r); /* handlers_sshlogin.c */
void cmd_audit_list(struct request *r);
void cmd_audit_verify(struct request *r);
void cmd_host_token_create(struct request *r);
void cmd_host_list(struct request *r);
void cmd_host_show(struct request *r);
void cmd_host_update(struct request *r);
void cmd_host_disable(struct request *r);
void cmd_host_remove(struct request *r);
void cmd_host_register(struct request *r);
void cmd_host_enroll(struct request *r);
void cmd_fleet_status(struct request *r);
void cmd_ssh_sign(struct request *r);
void cmd_ssh_ca(struct request *r);
void cmd_ssh_list(struct request *r);
void cmd_ssh_revoke(struct request *r);
void cmd_ssh_ca_rotate(struct request *r);

#endif
