/* Helpers shared by the request handlers (handlers*.c), and the command
 * handlers the dispatcher calls. */
#ifndef SVCACCTD_HANDLERS_H
#define SVCACCTD_HANDLERS_H

#include "accounts.h"
#include "audit.h"
#include "daemon.h"

/* Replies. */
void req_fail(struct request *r, enum svca_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void req_ok(struct request *r);

/* Request fields: req_str returns 1 given, 0 absent, -1 invalid (replied). */
const struct svca_field *req_field(const struct request *r, uint16_t tag);
int req_str(struct request *r, uint16_t tag, char *dst, size_t len, int required,
	    const char *what);
/* name: SVCA_NAME_MAX + 2 bytes (one more than a valid name needs, to see
 * that it is too long); the compiler warns about a smaller buffer. */
int req_account_name(struct request *r, uint16_t tag, char name[static SVCA_NAME_MAX + 2]);
int req_load_account(struct request *r, const char *name, struct account *a);

/* Transactions with the audit trail. */
void req_txn_begin(struct request *r);
void req_txn_abort(struct request *r);
void req_event(struct audit_event *ev, struct request *r, const char *event,
	       const char *outcome);
void req_audit_refusal(struct request *r, const char *event, const char *outcome,
		       const char *account, const char *reason);
/* 0 when the caller has `need`; else audits admin.deny and replies 3. */
int req_require(struct request *r, enum privilege need, const char *account);
/* Appends the event and commits; on failure undoes and replies. */
int req_finish(struct request *r, struct audit_event *ev);
int req_storage_error(struct request *r);
void req_stamp(struct request *r, uint64_t *at, char *by, size_t bylen);
void req_actor_label(const struct actor *a, char *dst, size_t len);

/* Commands. */
void cmd_account_create(struct request *r);
void cmd_account_list(struct request *r);
void cmd_account_show(struct request *r);
void cmd_account_update(struct request *r);
void cmd_account_set_status(struct request *r, int disable);
void cmd_account_delete(struct request *r);
void cmd_account_access(struct request *r);
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
/* The account-stage decision for a (service account, PAM service):
 * *reason NULL = allowed.  -1 storage error. */
struct access;
int pam_decide(struct request *r, const struct account *a, const char *service,
	       struct access *acc, const char **reason, char *msg, size_t msglen);
void cmd_key_create(struct request *r);
void cmd_key_list(struct request *r);
void cmd_key_set_status(struct request *r, int what); /* 0 enable 1 disable 2 revoke */
void cmd_token_create(struct request *r);
void cmd_token_verify(struct request *r);
void cmd_token_revoke(struct request *r);
void cmd_jwks(struct request *r);
void cmd_signing_key_rotate(struct request *r);
void cmd_pam_auth(struct request *r);
void cmd_pam_session_open(struct request *r);
void cmd_pam_session_close(struct request *r);

/* F_AUTH_TOKEN: makes the token's service account the actor.  0 ok (or
 * no token), -1 refused (replied). */
int req_token_actor(struct request *r);

struct cred;
int req_audit_cred(struct request *r, const struct cred *c, const char *event,
		   const char *service, const char *rhost, const char *tty,
		   const char *jti, const char *account);
void req_cred_refused(struct request *r, const struct cred *c, int just_locked,
		      const char *event, const char *service, const char *rhost,
		      const char *tty, const char *account);

/* Removes (and audits) every grant of an account, in the open transaction. */
int rbac_remove_account_grants(struct request *r, uint32_t uid);

#endif
