/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Helpers shared by the request handlers (handlers_*.c): one request
 * being handled, replies, fields, transactions with the audit trail, and
 * the steps more than one handler file needs.  request.c includes no
 * handler file, so the handlers never call each other. */
#ifndef SVCACCTD_REQUEST_H
#define SVCACCTD_REQUEST_H

#include "accounts.h"
#include "audit.h"
#include "daemon.h"

struct request;

/*
 * A request whose answer needs a hub (an agent's host enroll, fleet
 * status): the handler hands the loop a job instead of a reply.  The
 * loop (net/server.c) runs work() on a worker thread, which must touch no
 * daemon state (only the job's own copies), then finish() back on the
 * loop with a request whose reply is still empty; finish() may use the
 * store and the audit trail like any handler.  release() frees the job
 * (wiping secrets).  Meanwhile the loop goes on serving other clients.
 */
struct req_job {
	void (*work)(struct req_job *j);
	void (*finish)(struct req_job *j, struct request *r);
	void (*release)(struct req_job *j);
	struct actor actor; /* the requester, for finish() */
};

/* One request being handled. */
struct request {
	struct daemon *d;
	const struct peer *peer;
	struct actor actor;
	uint16_t cmd;
	const char *cmd_name; /* from the command table; NULL: unknown */
	const struct svca_field *f;
	size_t nf;
	struct svca_buf *reply;
	int wrote; /* the reply depends on the next flush */
	/* F_AUTH_TOKEN was refused (malformed, bad, expired, revoked): the
	 * HTTPS API answers 401 rather than 403 */
	int token_refused;
	size_t audit_mark;
	/* set by req_defer: no reply yet, the loop runs the job */
	struct req_job *job;
};

/* Hands the request's answer to a job (above); j->actor is filled in. */
void req_defer(struct request *r, struct req_job *j);

/* Callers: resolves admin_groups and super_admin_groups to gids (at start
 * and on reload; groups that do not exist are logged and ignored), and
 * fills actor from peer (privilege, user name). */
void daemon_resolve_groups(struct daemon *d);
void peer_to_actor(struct daemon *d, const struct peer *p, struct actor *a);

/* Replies. */
void req_fail(struct request *r, enum svca_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void req_ok(struct request *r);

/* Request fields: req_str returns 1 given, 0 absent, -1 invalid (replied). */
const struct svca_field *req_field(const struct request *r, uint16_t tag);
int req_str(struct request *r, uint16_t tag, char *dst, size_t len, int required, const char *what);
/* name: SVCA_NAME_MAX + 2 bytes (one more than a valid name needs, to see
 * that it is too long); the compiler warns about a smaller buffer. */
int req_account_name(struct request *r, uint16_t tag, char name[static SVCA_NAME_MAX + 2]);
int req_load_account(struct request *r, const char *name, struct account *a);

/* Transactions with the audit trail. */
void req_txn_begin(struct request *r);
void req_txn_abort(struct request *r);
void req_event(struct audit_event *ev, struct request *r, const char *event, const char *outcome);
void req_audit_refusal(struct request *r, const char *event, const char *outcome,
		       const char *account, const char *reason);
/* 0 when the caller has `need`; else audits admin.deny and replies 3. */
int req_require(struct request *r, enum privilege need, const char *account);
/* Appends the event and commits; on failure undoes and replies. */
int req_finish(struct request *r, struct audit_event *ev);
int req_storage_error(struct request *r);
void req_stamp(struct request *r, uint64_t *at, char *by, size_t bylen);
void req_actor_label(const struct actor *a, char *dst, size_t len);

/* F_AUTH_TOKEN: makes the token's service account the actor.  0 ok (or
 * no token), -1 refused (replied). */
int req_token_actor(struct request *r);

struct cred;
int req_audit_cred(struct request *r, const struct cred *c, const char *event, const char *service,
		   const char *rhost, const char *tty, const char *jti, const char *account);
void req_cred_refused(struct request *r, const struct cred *c, int just_locked, const char *event,
		      const char *service, const char *rhost, const char *tty, const char *account);
/* The reply to a refused API key: F_REASON invalid_key (the same words for
 * every refusal) or rate_limited / locked_out with F_RETRY_AFTER. */
void req_cred_refusal_reply(struct request *r, const struct cred *c);

/* A BYTES secret into a NUL-terminated buffer (the caller wipes it).
 * 0 ok, -1 absent or malformed. */
int req_secret(struct request *r, uint16_t tag, char *dst, size_t len);

/* Audits and deletes one grant, in the open transaction; and every grant
 * of an account (account delete). */
struct grant;
int req_remove_grant(struct request *r, const struct grant *g, const char *why);
int req_remove_account_grants(struct request *r, uint32_t uid);

#endif
