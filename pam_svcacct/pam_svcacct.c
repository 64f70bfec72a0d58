/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pam_svcacct: PAM module for svcacct service accounts (DESIGN.md sections
 * 2, 5 and 8; man/pam_svcacct.8).
 *
 *   auth      the authtok is an API key or a session token of the user;
 *             svcacctd checks it against that account
 *   account   svcacctd says whether the account has the capability that
 *             the calling PAM service maps to on this host
 *   session   open: a fresh session token in SVCACCT_TOKEN when the auth
 *             stage of this transaction took a svcacct key or token
 *             (authmark.c), else none; close: that token is revoked;
 *             both audited
 *   password  refused: service accounts have API keys, not passwords
 *
 * Every call is one request on a fresh connection with its own deadline;
 * nothing is kept between calls but the session token (pam_set_data).
 * Before a secret goes out, the socket's owner and the server's
 * SO_PEERCRED are checked (svca_call's trusted_uid).  Daemon trouble is
 * never success and never "user unknown": it is PAM_AUTHINFO_UNAVAIL.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "keyfmt.h"
#include "names.h"
#include "module.h"
#include "wipe.h"

#define PASSWORD_MSG "service account credentials are API keys: use 'svcacctctl key create/revoke'"

static void wipe_free(char *s)
{
	if (s) {
		svca_wipe(s, strlen(s));
		free(s);
	}
}

/* The authtok with surrounding blanks removed (keys and tokens have none;
 * a paste often does).  NULL item -> "".  *out is wiped by the caller. */
static int trimmed_copy(const char *item, char **out, size_t *outlen)
{
	const char *s = item ? item : "";
	size_t n = strlen(s);
	int rc = PAM_BUF_ERR;

	while (n && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	*out = malloc(n + 1);
	if (!*out)
		goto out;
	memcpy(*out, s, n);
	(*out)[n] = '\0';
	*outlen = n;
	rc = PAM_SUCCESS;
out:
	return rc;
}

/* PAM_AUTH with the authtok.  Only something shaped like an API key or a
 * session token is sent; anything else (a local password typed at the
 * wrong prompt) never leaves this process: the daemon gets an empty token,
 * which it refuses and audits as malformed. */
/* The daemon decides the account stage together with a successful auth
 * (one durable audit write per login instead of two); pam_sm_acct_mgmt
 * uses that decision when it is for the same user and service, and asks
 * the daemon otherwise. */
struct acct_decision {
	char user[SVCA_NAME_MAX + 1];
	char service[SVCA_PAM_SERVICE_MAX];
	int allowed;
	char reason[64];
	char role[32];
	char msg[256];
};

static void decision_cleanup(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	free(data);
}

static void keep_decision(pam_handle_t *pamh, const struct svca_pam_ctx *c,
			  const struct svca_pam_answer *a)
{
	uint64_t allowed;
	if (svca_field_u64(svca_pam_field(a, F_ACCT_ALLOWED), &allowed) < 0 || allowed > 1 ||
	    strlen(c->user) > SVCA_NAME_MAX)
		return; /* an older daemon: the account stage asks */
	struct acct_decision *d = calloc(1, sizeof(*d));
	if (!d)
		return;
	memcpy(d->user, c->user, strlen(c->user) + 1);
	memcpy(d->service, c->service, sizeof(d->service));
	d->allowed = (int)allowed;
	svca_pam_field_text(a, F_ACCT_REASON, d->reason, sizeof(d->reason));
	svca_pam_field_text(a, F_ROLE, d->role, sizeof(d->role));
	svca_pam_field_text(a, F_ACCT_MESSAGE, d->msg, sizeof(d->msg));
	if (pam_set_data(pamh, SVCA_PAM_DATA_ACCT, d, decision_cleanup) != PAM_SUCCESS)
		free(d);
}

static int do_auth(pam_handle_t *pamh, const struct svca_pam_opts *o, const struct svca_pam_ctx *c,
		   const char *tok, size_t len)
{
	struct svca_pam_answer a;
	struct svca_buf req;
	char reason[64], msg[256], umsg[320];
	const char *kind;
	int rc;

	svca_pam_req_begin(&req, SVCA_CMD_PAM_AUTH, c, 1);
	svca_put_u64(&req, F_AUTHORIZE, 1);
	if (svca_looks_like_key(tok, len)) {
		svca_put_bytes(&req, F_KEY, tok, len);
		kind = "an API key";
	} else if (svca_pam_looks_like_jwt(tok, len)) {
		svca_put_bytes(&req, F_TOKEN, tok, len);
		kind = "a session token";
	} else {
		svca_put_bytes(&req, F_TOKEN, "", 0);
		kind = len ? "neither a key nor a token (not sent)" : "an empty authtok";
	}
	SVCA_PAM_LOG_DEBUG(pamh, o, "auth: %s presents %s (service %s)", c->user, kind, c->service);
	rc = svca_pam_call(pamh, o, "auth", &req, &a);
	if (rc == PAM_AUTHINFO_UNAVAIL)
		svca_pam_tell_unavail(pamh, o, c, "svcacctd does not answer");
	if (rc != PAM_SUCCESS)
		goto out;
	svca_pam_field_text(&a, F_REASON, reason, sizeof(reason));
	svca_pam_field_text(&a, F_MESSAGE, msg, sizeof(msg));
	svca_pam_field_text(&a, F_USER_MESSAGE, umsg, sizeof(umsg));
	if (a.rep.status == SVCA_OK) {
		pam_syslog(pamh, LOG_INFO, "auth: %s authenticated with %s (service %s%s%s)",
			   c->user, kind, c->service, c->rhost[0] ? ", from " : "", c->rhost);
		keep_decision(pamh, c, &a);
		svca_pam_mark_authed(pamh, o, c);
		rc = PAM_SUCCESS;
	} else if (a.rep.status == SVCA_ERR_FAILED) {
		/* The daemon says what the user may see (F_USER_MESSAGE): a
		 * rate limit, or the key's state after the right secret; a
		 * wrong secret gets nothing beyond the stack's own refusal. */
		if (!strcmp(reason, "locked_out") || !strcmp(reason, "rate_limited")) {
			rc = PAM_MAXTRIES;
			svca_pam_tell(pamh, o, umsg[0] ? umsg : msg); /* msg: an older daemon */
		} else if (!strcmp(reason, "internal_error")) {
			rc = PAM_AUTHINFO_UNAVAIL;
		} else {
			rc = PAM_AUTH_ERR;
			svca_pam_tell(pamh, o, umsg);
		}
		pam_syslog(pamh, LOG_NOTICE, "auth: %s refused (%s; service %s%s%s)", c->user,
			   reason[0] ? reason : "no reason given", c->service,
			   c->rhost[0] ? ", from " : "", c->rhost);
	} else {
		/* The daemon's reason is the user's to see when it cannot decide:
		 * "directory not reached for N s" on an agent past max_staleness,
		 * "no hub reachable" for a key it must ask a hub about. */
		if (a.rep.status == SVCA_ERR_UNAVAIL)
			svca_pam_tell_unavail(pamh, o, NULL, msg);
		rc = svca_pam_status_rc(pamh, "auth", c->user, &a, PAM_AUTH_ERR);
		if (rc == PAM_USER_UNKNOWN)
			SVCA_PAM_LOG_DEBUG(pamh, o, "auth: %s is not a service account", c->user);
	}
	svca_pam_answer_free(&a);
out:
	return rc;
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct svca_pam_opts o;
	struct svca_pam_ctx c;
	const void *item = NULL;
	char *resp = NULL, *tok = NULL;
	size_t len = 0;
	int rc;

	/* nothing to clean up yet */
	if (svca_pam_parse_opts(pamh, flags, argc, argv, &o) < 0)
		return PAM_SERVICE_ERR;
	rc = svca_pam_get_ctx(pamh, &o, &c);
	if (rc != PAM_SUCCESS)
		goto out;
	if (o.use_first_pass || o.try_first_pass) {
		rc = pam_get_item(pamh, PAM_AUTHTOK, &item);
		if (rc != PAM_SUCCESS)
			goto out;
	}
	if (!item && !o.use_first_pass) {
		/* Ask for a secret only when the user is a service account:
		 * local users are neither prompted nor is their password sent.
		 * When NSS already says so (the name resolves into the range
		 * svcacctd publishes and is not in /etc/passwd), the separate
		 * lookup round trip is skipped; otherwise svcacctd decides. */
		if (!svca_pam_nss_svcacct(pamh, &o, &c)) {
			rc = svca_pam_lookup(pamh, &o, &c);
			if (rc != PAM_SUCCESS)
				goto out;
		}
		rc = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp, "%s", SVCA_PAM_PROMPT);
		if (rc != PAM_SUCCESS || !resp) {
			pam_syslog(pamh, LOG_NOTICE, "auth: %s: no answer to the prompt (%s)",
				   c.user, pam_strerror(pamh, rc));
			rc = rc == PAM_SUCCESS ? PAM_CONV_ERR : rc;
			goto out;
		}
		/* Later modules (try_first_pass) see what was typed. */
		rc = pam_set_item(pamh, PAM_AUTHTOK, resp);
		if (rc != PAM_SUCCESS)
			goto out;
		item = resp;
	}
	rc = trimmed_copy(item, &tok, &len);
	if (rc != PAM_SUCCESS)
		goto out;
	rc = do_auth(pamh, &o, &c, tok, len);
out:
	wipe_free(resp);
	wipe_free(tok);
	rc = svca_pam_result(&o, rc);
	return rc;
}

/* The module holds no credentials to establish or delete.  PAM_SUCCESS, as
 * pam_unix: PAM_IGNORE would trip a "default=die" control. */
PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct svca_pam_opts o;
	int rc = PAM_SUCCESS;

	if (svca_pam_parse_opts(pamh, flags, argc, argv, &o) < 0)
		rc = PAM_SERVICE_ERR;
	else
		svca_pam_mark_settle(pamh);
	return rc;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct svca_pam_opts o;
	struct svca_pam_ctx c;
	struct svca_pam_answer a;
	struct svca_buf req;
	char reason[64], msg[256], role[32], cert[SVCA_PAM_SSH_CERT_MAX];
	uint64_t allowed = 0;
	int rc;

	/* nothing to clean up yet */
	if (svca_pam_parse_opts(pamh, flags, argc, argv, &o) < 0)
		return PAM_SERVICE_ERR;
	rc = svca_pam_get_ctx(pamh, &o, &c);
	if (rc != PAM_SUCCESS)
		goto out;
	const void *kept = NULL;
	if (pam_get_data(pamh, SVCA_PAM_DATA_ACCT, &kept) == PAM_SUCCESS && kept) {
		const struct acct_decision *d = kept;
		int same = !strcmp(d->user, c.user) && !strcmp(d->service, c.service);
		if (same)
			SVCA_PAM_LOG_DEBUG(pamh, &o, "account: %s: decision made with auth",
					   c.user);
		if (same && d->allowed) {
			pam_syslog(pamh, LOG_INFO, "account: %s may use %s (role %s)", c.user,
				   c.service, d->role[0] ? d->role : "?");
			rc = PAM_SUCCESS;
		} else if (same) {
			pam_syslog(pamh, LOG_NOTICE, "account: %s denied %s (%s, role %s)", c.user,
				   c.service, d->reason[0] ? d->reason : "no reason given",
				   d->role[0] ? d->role : "?");
			svca_pam_tell(pamh, &o, d->msg[0] ? d->msg : "access denied");
			rc = PAM_PERM_DENIED;
		}
		/* Used once; another user or service asks the daemon. */
		(void)pam_set_data(pamh, SVCA_PAM_DATA_ACCT, NULL, NULL);
		if (same)
			goto out;
	}
	svca_pam_req_begin(&req, SVCA_CMD_PAM_AUTHORIZE, &c, 1);
	/* sshd's certificate login (no PAM auth ran): svcacctd checks the
	 * certificate too.  (sshd records the method after this stage: the
	 * certificate is here only when an earlier method of several used it;
	 * the session stage always has it.) */
	if (!svca_pam_authed_peek(pamh, &c)) {
		int hc = svca_pam_ssh_cert(pamh, &c, cert, sizeof(cert));
		if (hc < 0) {
			svca_buf_free(&req);
			rc = PAM_PERM_DENIED;
			goto out;
		}
		if (hc == 1) {
			SVCA_PAM_LOG_DEBUG(pamh, &o, "account: %s: an SSH certificate login",
					   c.user);
			svca_put_str(&req, F_SSH_CERT, cert);
		}
	}
	rc = svca_pam_call(pamh, &o, "account", &req, &a);
	if (rc == PAM_AUTHINFO_UNAVAIL)
		svca_pam_tell_unavail(pamh, &o, &c, "svcacctd does not answer");
	if (rc != PAM_SUCCESS)
		goto out;
	svca_pam_field_text(&a, F_REASON, reason, sizeof(reason));
	svca_pam_field_text(&a, F_MESSAGE, msg, sizeof(msg));
	svca_pam_field_text(&a, F_ROLE, role, sizeof(role));
	if (a.rep.status != SVCA_OK) {
		rc = svca_pam_status_rc(pamh, "account", c.user, &a, PAM_PERM_DENIED);
		if (rc == PAM_PERM_DENIED)
			svca_pam_tell(pamh, &o, msg);
		else if (a.rep.status == SVCA_ERR_UNAVAIL)
			svca_pam_tell_unavail(pamh, &o, NULL, msg);
	} else if (svca_field_u64(svca_pam_field(&a, F_ALLOWED), &allowed) < 0 || allowed > 1) {
		pam_syslog(pamh, LOG_ERR, "account: %s: reply without a valid decision", c.user);
		rc = PAM_SERVICE_ERR;
	} else if (allowed == 1) {
		pam_syslog(pamh, LOG_INFO, "account: %s may use %s (role %s)", c.user, c.service,
			   role[0] ? role : "?");
		rc = PAM_SUCCESS;
	} else {
		pam_syslog(pamh, LOG_NOTICE, "account: %s denied %s (%s, role %s)", c.user,
			   c.service, reason[0] ? reason : "no reason given", role[0] ? role : "?");
		svca_pam_tell(pamh, &o, msg[0] ? msg : "access denied");
		rc = PAM_PERM_DENIED;
	}
	svca_pam_answer_free(&a);
out:
	rc = svca_pam_result(&o, rc);
	return rc;
}

/* pam_set_data cleanup: the token is a secret. */
static void token_cleanup(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	wipe_free(data);
}

/* 1 when the token is safe to put in an environment variable. */
static int token_text_ok(const struct svca_field *f)
{
	int ok = 0;

	if (!f || f->kind != SVCA_K_BYTES || f->len == 0 || f->len > SVCA_PAM_MAX_AUTHTOK)
		goto out;
	for (uint32_t i = 0; i < f->len; i++) {
		uint8_t ch = f->val[i];
		if (ch <= 0x20 || ch >= 0x7f || ch == '=')
			goto out;
	}
	ok = 1;
out:
	return ok;
}

/* An OK session answer with F_REASON "offline" and no token. */
static int offline_session(const struct svca_pam_answer *a)
{
	const struct svca_field *f = svca_pam_field(a, F_REASON);
	return f && f->len == 7 && memcmp(f->val, "offline", 7) == 0;
}

/* The reply's token into SVCACCT_TOKEN, and kept for close. */
static int export_token(pam_handle_t *pamh, const struct svca_pam_ctx *c,
			const struct svca_field *f)
{
	char *tok = NULL, *env = NULL;
	int rc;

	if (!token_text_ok(f)) {
		pam_syslog(pamh, LOG_ERR, "session open: %s: reply without a usable token",
			   c->user);
		rc = PAM_SESSION_ERR;
		goto out;
	}
	tok = malloc((size_t)f->len + 1);
	env = malloc(sizeof(SVCA_PAM_TOKEN_ENV "=") + f->len);
	if (!tok || !env) {
		rc = PAM_BUF_ERR;
		goto out;
	}
	memcpy(tok, f->val, f->len);
	tok[f->len] = '\0';
	memcpy(env, SVCA_PAM_TOKEN_ENV "=", sizeof(SVCA_PAM_TOKEN_ENV "=") - 1);
	memcpy(env + sizeof(SVCA_PAM_TOKEN_ENV "=") - 1, tok, (size_t)f->len + 1);
	rc = pam_putenv(pamh, env);
	if (rc != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_ERR, "session open: pam_putenv: %s", pam_strerror(pamh, rc));
		goto out;
	}
	/* Kept for close in this process; on success libpam owns tok. */
	rc = pam_set_data(pamh, SVCA_PAM_DATA_TOKEN, tok, token_cleanup);
	if (rc != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_ERR, "session open: pam_set_data: %s", pam_strerror(pamh, rc));
		(void)pam_putenv(pamh, SVCA_PAM_TOKEN_ENV);
		goto out;
	}
	tok = NULL;
	pam_syslog(pamh, LOG_INFO, "session opened for %s (service %s%s%s); SVCACCT_TOKEN set",
		   c->user, c->service, c->rhost[0] ? ", from " : "", c->rhost);
out:
	wipe_free(tok);
	wipe_free(env);
	return rc;
}

/*
 * A token only for a login that presented a svcacct key or token to this
 * module's auth stage in this transaction.  Without one (sshd publickey,
 * cron, su from root, another module's auth) the session is opened and
 * audited, and no token is minted: revoking an account's keys and tokens
 * ends its supply of tokens.
 */
PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct svca_pam_opts o;
	struct svca_pam_ctx c;
	struct svca_pam_answer a;
	struct svca_buf req;
	char cert[SVCA_PAM_SSH_CERT_MAX];
	int rc, authed, hc;

	/* nothing to clean up yet */
	if (svca_pam_parse_opts(pamh, flags, argc, argv, &o) < 0)
		return PAM_SERVICE_ERR;
	rc = svca_pam_get_ctx(pamh, &o, &c);
	if (rc != PAM_SUCCESS) {
		(void)pam_putenv(pamh, SVCA_PAM_AUTH_ENV);
		goto out;
	}
	authed = svca_pam_authed(pamh, &o, &c);
	/* an SSH certificate svcacctd accepts gets a token like a key */
	hc = authed ? 0 : svca_pam_ssh_cert(pamh, &c, cert, sizeof(cert));
	if (hc < 0) {
		rc = PAM_SESSION_ERR;
		goto out;
	}
	svca_pam_req_begin(&req, SVCA_CMD_PAM_SESSION_OPEN, &c, 1);
	svca_put_u64(&req, F_PID, (uint64_t)getpid());
	if (hc == 1) {
		SVCA_PAM_LOG_DEBUG(pamh, &o, "session: %s: an SSH certificate login", c.user);
		svca_put_str(&req, F_SSH_CERT, cert);
	} else if (!authed)
		svca_put_u64(&req, F_NO_TOKEN, 1);
	authed = authed || hc == 1;
	rc = svca_pam_call(pamh, &o, "session", &req, &a);
	if (rc != PAM_SUCCESS)
		goto out;
	if (a.rep.status != SVCA_OK) {
		rc = svca_pam_status_rc(pamh, "session open", c.user, &a, PAM_SESSION_ERR);
	} else if (authed && !svca_pam_field(&a, F_TOKEN) && offline_session(&a)) {
		/* an agent that checked the key itself: only hubs mint tokens */
		pam_syslog(pamh, LOG_INFO,
			   "session opened for %s (service %s); no SVCACCT_TOKEN: the key was "
			   "checked offline on this host (no hub minted a token)",
			   c.user, c.service);
		rc = PAM_SUCCESS;
	} else if (authed) {
		rc = export_token(pamh, &c, svca_pam_field(&a, F_TOKEN));
	} else {
		/* (a daemon that predates F_NO_TOKEN may still send one: unused,
		 * it is wiped with the answer and expires) */
		pam_syslog(pamh, LOG_INFO,
			   "session opened for %s (service %s%s%s); no SVCACCT_TOKEN: "
			   "this login did not authenticate with a svcacct key or token",
			   c.user, c.service, c.rhost[0] ? ", from " : "", c.rhost);
		rc = PAM_SUCCESS;
	}
	svca_pam_answer_free(&a);
out:
	rc = svca_pam_result(&o, rc);
	return rc;
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct svca_pam_opts o;
	struct svca_pam_ctx c;
	struct svca_pam_answer a;
	struct svca_buf req;
	const void *data = NULL;
	const char *tok = NULL, *from = "none";
	int rc;

	/* nothing to clean up yet */
	if (svca_pam_parse_opts(pamh, flags, argc, argv, &o) < 0)
		return PAM_SERVICE_ERR;
	rc = svca_pam_get_ctx(pamh, &o, &c);
	if (rc != PAM_SUCCESS)
		goto out;
	/* The token of this session: from open in this process, else (sshd
	 * and others close in another process) from the PAM environment. */
	if (pam_get_data(pamh, SVCA_PAM_DATA_TOKEN, &data) == PAM_SUCCESS && data) {
		tok = data;
		from = "pam data";
	} else if ((tok = pam_getenv(pamh, SVCA_PAM_TOKEN_ENV)) != NULL && *tok) {
		from = "environment";
	} else {
		tok = NULL;
	}
	svca_pam_req_begin(&req, SVCA_CMD_PAM_SESSION_CLOSE, &c, 1);
	if (tok)
		svca_put_bytes(&req, F_TOKEN, tok, strlen(tok));
	svca_put_u64(&req, F_PID, (uint64_t)getpid());
	SVCA_PAM_LOG_DEBUG(pamh, &o, "session close: %s: token from %s", c.user, from);
	rc = svca_pam_call(pamh, &o, "session close", &req, &a);
	if (rc != PAM_SUCCESS)
		goto out;
	if (a.rep.status == SVCA_OK) {
		pam_syslog(pamh, LOG_INFO, "session closed for %s (service %s)%s", c.user,
			   c.service, tok ? "; its token is revoked" : "");
		/* Forget the token: the data's cleanup wipes it. */
		(void)pam_set_data(pamh, SVCA_PAM_DATA_TOKEN, NULL, NULL);
		(void)pam_putenv(pamh, SVCA_PAM_TOKEN_ENV);
		rc = PAM_SUCCESS;
	} else {
		rc = svca_pam_status_rc(pamh, "session close", c.user, &a, PAM_SESSION_ERR);
	}
	svca_pam_answer_free(&a);
out:
	rc = svca_pam_result(&o, rc);
	return rc;
}

PAM_EXTERN int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct svca_pam_opts o;
	struct svca_pam_ctx c;
	int rc;

	/* nothing to clean up yet */
	if (svca_pam_parse_opts(pamh, flags, argc, argv, &o) < 0)
		return PAM_SERVICE_ERR;
	rc = svca_pam_get_ctx(pamh, &o, &c);
	if (rc != PAM_SUCCESS)
		goto out;
	/* Local users keep their passwords: only service accounts are told
	 * off.  Both phases (PAM_PRELIM_CHECK, PAM_UPDATE_AUTHTOK) refuse. */
	rc = svca_pam_lookup(pamh, &o, &c);
	if (rc != PAM_SUCCESS)
		goto out;
	pam_syslog(pamh, LOG_NOTICE, "password: %s is a service account; refusing (%s)", c.user,
		   ((unsigned)flags & PAM_PRELIM_CHECK) ? "prelim check" : "update");
	svca_pam_tell(pamh, &o, PASSWORD_MSG);
	rc = PAM_AUTHTOK_ERR;
out:
	rc = svca_pam_result(&o, rc);
	return rc;
}
