/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pam_svcacct: internal interface between the module's files.  Nothing
 * here is exported: pam_svcacct.map keeps every symbol but pam_sm_* local.
 */
#ifndef PAM_SVCACCT_MODULE_H
#define PAM_SVCACCT_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include <security/pam_modules.h>

#include "defaults.h"
#include "proto.h"
#include "sockio.h"

#define SVCA_PAM_DEFAULT_SOCKET SVCA_DEFAULT_SOCKET
#define SVCA_PAM_DEFAULT_DAEMON_USER SVCA_DEFAULT_DAEMON_USER
#define SVCA_PAM_DEFAULT_NSS_DIR SVCA_NSS_DIR
#define SVCA_PAM_DEFAULT_TIMEOUT 5 /* seconds, per daemon call */
#define SVCA_PAM_MAX_TIMEOUT 60
#define SVCA_PAM_PROMPT "API key or token: "
#define SVCA_PAM_TOKEN_ENV "SVCACCT_TOKEN"
#define SVCA_PAM_DATA_TOKEN "pam_svcacct_session_token"
/* The account-stage decision the daemon made with a successful auth. */
#define SVCA_PAM_DATA_ACCT "pam_svcacct_account_decision"
/* Set by a successful auth with a svcacct key or token (authmark.c). */
#define SVCA_PAM_DATA_AUTHED "pam_svcacct_authenticated"
/* The same, for sshd's keyboard-interactive child: a MAC in the PAM
 * environment (authmark.c), removed by the session stage. */
#define SVCA_PAM_AUTH_ENV "SVCACCT_PAM_AUTH"
/* The daemon_user's uid, resolved once per PAM transaction. */
#define SVCA_PAM_DATA_TRUSTED "pam_svcacct_trusted_uid"
#define SVCA_PAM_DAEMON_USER_MAX 64
/* An authtok longer than this is neither a key (67) nor a token (< 512). */
#define SVCA_PAM_MAX_AUTHTOK 2048
#define SVCA_PAM_MAX_REPLY (64u * 1024u)
#define SVCA_PAM_MAX_FIELDS 48

/* SVCA_PAM_SERVICE_MAX, _RHOST_MAX, _TTY_MAX: the sizes the daemon accepts
 * (common/defaults.h). */

struct svca_pam_opts {
	const char *socket;
	const char *nss_dir; /* where svcacctd publishes the NSS range; NULL: none */
	const char *daemon_user;
	int timeout_s;
	int debug;
	int use_first_pass;
	int try_first_pass;
	int ignore_unknown_user;
	int ignore_authinfo_unavail;
};

/* What the daemon needs to know about the request, from the PAM items. */
struct svca_pam_ctx {
	const char *user; /* PAM_USER, a valid service account name */
	char service[SVCA_PAM_SERVICE_MAX];
	char rhost[SVCA_PAM_RHOST_MAX];
	char tty[SVCA_PAM_TTY_MAX];
};

/* One daemon answer: the reply and its fields (which point into it). */
struct svca_pam_answer {
	struct svca_reply rep;
	struct svca_field f[SVCA_PAM_MAX_FIELDS];
	size_t nf;
};

/* options.c */
/* Parses the module arguments.  Returns 0, or -1 after logging every
 * unknown or malformed argument (the caller fails closed). */
int svca_pam_parse_opts(pam_handle_t *pamh, int flags, int argc, const char **argv,
			struct svca_pam_opts *o);
/* The uid whose socket and server the module trusts besides root: the
 * daemon_user's uid, or 0 (root only) when that user does not exist. */
int64_t svca_pam_trusted_uid(pam_handle_t *pamh, const struct svca_pam_opts *o);
/* Applies ignore_unknown_user / ignore_authinfo_unavail to a result. */
int svca_pam_result(const struct svca_pam_opts *o, int rc);

/* client.c */
/* Fills c from PAM_USER, PAM_SERVICE, PAM_RHOST and PAM_TTY.  A user name
 * that no service account can have gives PAM_USER_UNKNOWN. */
int svca_pam_get_ctx(pam_handle_t *pamh, const struct svca_pam_opts *o, struct svca_pam_ctx *c);
/* Starts a request for cmd with F_NAME (and F_SERVICE F_RHOST F_TTY when
 * with_ctx). */
void svca_pam_req_begin(struct svca_buf *b, uint16_t cmd, const struct svca_pam_ctx *c,
			int with_ctx);
/* Sends req (then wipes and frees it) and reads the answer.  PAM_SUCCESS
 * when the daemon answered (any status); PAM_AUTHINFO_UNAVAIL when it is
 * down, slow, not who it must be, or answers garbage; PAM_BUF_ERR. */
int svca_pam_call(pam_handle_t *pamh, const struct svca_pam_opts *o, const char *what,
		  struct svca_buf *req, struct svca_pam_answer *a);
void svca_pam_answer_free(struct svca_pam_answer *a);
const struct svca_field *svca_pam_field(const struct svca_pam_answer *a, uint16_t tag);
/* Copies a STR field, control characters replaced; "" when absent. */
void svca_pam_field_text(const struct svca_pam_answer *a, uint16_t tag, char *dst, size_t len);
/* The PAM result for a status other than SVCA_OK that every command shares
 * (NOTFOUND -> PAM_USER_UNKNOWN, NOTAUTH/UNAVAIL -> PAM_AUTHINFO_UNAVAIL,
 * BADREQ and unknown statuses -> PAM_SERVICE_ERR); FAILED -> fail_rc.
 * Logs the daemon's message. */
int svca_pam_status_rc(pam_handle_t *pamh, const char *what, const char *user,
		       const struct svca_pam_answer *a, int fail_rc);
/* ACCOUNT_SHOW: PAM_SUCCESS when user is a service account,
 * PAM_USER_UNKNOWN when not, else an error.  Sends no secret. */
int svca_pam_lookup(pam_handle_t *pamh, const struct svca_pam_opts *o,
		    const struct svca_pam_ctx *c);
/* 1 when NSS already says that c->user is a service account: the name
 * resolves (getpwnam) to a uid in the range svcacctd publishes for
 * libnss_svcacct (nss_dir/range, owned by root or daemon_user, in a
 * directory others cannot write) and is not in /etc/passwd.  Then the
 * module prompts without asking svcacctd first (the auth request still
 * answers PAM_USER_UNKNOWN for a name it does not know).  0 otherwise:
 * the caller asks svcacctd (svca_pam_lookup). */
int svca_pam_nss_svcacct(pam_handle_t *pamh, const struct svca_pam_opts *o,
			 const struct svca_pam_ctx *c);
/* 1 when s[0..n) has the shape of a JWT (three base64url parts, a JSON
 * header): the only other thing the daemon accepts besides an API key. */
int svca_pam_looks_like_jwt(const char *s, size_t n);
/* Shows the reason for a refusal to the user (PAM_ERROR_MSG), also under
 * PAM_SILENT: the module says nothing else. */
void svca_pam_tell(pam_handle_t *pamh, const struct svca_pam_opts *o, const char *msg);
/* "directory unreachable: DETAIL" as PAM_ERROR_MSG.  With c (svcacctd
 * did not answer, so it did not say whose the name is), only when NSS
 * says c->user is a service account (svca_pam_nss_svcacct): a local
 * user's login is not cluttered, and the text tells nobody more than
 * getent does.  c NULL: svcacctd answered UNAVAIL for a service account. */
void svca_pam_tell_unavail(pam_handle_t *pamh, const struct svca_pam_opts *o,
			   const struct svca_pam_ctx *c, const char *detail);

/* authmark.c */
/* Records that c->user authenticated with a svcacct credential in this
 * transaction (pam_set_data and the PAM environment mark). */
void svca_pam_mark_authed(pam_handle_t *pamh, const struct svca_pam_opts *o,
			  const struct svca_pam_ctx *c);
/* pam_setcred: drops the environment mark when the auth of this process
 * recorded itself with pam_set_data (the mark is for sshd's forked auth). */
void svca_pam_mark_settle(pam_handle_t *pamh);
/* 1 when this transaction's auth stage authenticated c->user (same
 * service) with a svcacct key or token; removes the environment mark. */
int svca_pam_authed(pam_handle_t *pamh, const struct svca_pam_opts *o,
		    const struct svca_pam_ctx *c);
/* The same check without consuming the mark (the account stage, before
 * the session stage takes it). */
int svca_pam_authed_peek(pam_handle_t *pamh, const struct svca_pam_ctx *c);

/* sshinfo.c */
/* The request with its other fields must fit SVCA_MAX_UNAUTH_REQUEST. */
#define SVCA_PAM_SSH_CERT_MAX 3072
/* The certificate sshd accepted for this login (service sshd only): the
 * "publickey TYPE-cert-v01@openssh.com BASE64" line of SSH_AUTH_INFO_0
 * into out.  1 found, 0 none, -1 longer than len (logged). */
int svca_pam_ssh_cert(pam_handle_t *pamh, const struct svca_pam_ctx *c, char *out, size_t len);

/* SipHash-2-4 with a 16-byte key. */
uint64_t svca_pam_siphash24(const uint8_t k[16], const uint8_t *in, size_t len);

#define SVCA_PAM_LOG_DEBUG(pamh, o, ...)                            \
	do {                                                        \
		if ((o)->debug)                                     \
			pam_syslog((pamh), LOG_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
