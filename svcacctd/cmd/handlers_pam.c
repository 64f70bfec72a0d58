/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Requests from pam_svcacct: authenticate with a key or a token, and
 * audit session open/close with a fresh session token.  Root only: these
 * come from PAM stacks (sshd, sudo, su, login, cron), never from users. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "agentapply.h"
#include "agentfwd.h"
#include "agentkeys.h"
#include "agentsess.h"
#include "defaults.h"
#include "handlers.h"
#include "request.h"
#include "keys.h"
#include "log.h"
#include "rbac.h"
#include "sshca.h"
#include "staleness.h"
#include "tokens.h"

struct pam_ctx {
	char name[SVCA_NAME_MAX + 2];
	char service[SVCA_PAM_SERVICE_MAX];
	char rhost[SVCA_PAM_RHOST_MAX];
	char tty[SVCA_PAM_TTY_MAX];
	int break_glass; /* a break-glass login on a stale agent */
};

static void log_warn_break_glass(const struct pam_ctx *p, const struct account *a, int64_t age)
{
	log_warn("pam.auth: %s (%s) is a break-glass account: checked from the persisted state "
		 "although the directory was not reached for %lld s",
		 a->name, p->service, (long long)age);
}

static int read_pam(struct request *r, struct pam_ctx *p)
{
	p->break_glass = 0;
	if (r->peer->uid != 0) {
		req_fail(r, SVCA_ERR_NOTAUTH, "only root (a PAM stack) may do this");
		return -1;
	}
	if (req_account_name(r, F_NAME, p->name) < 0 ||
	    req_str(r, F_SERVICE, p->service, sizeof(p->service), 1, "service") < 0 ||
	    req_str(r, F_RHOST, p->rhost, sizeof(p->rhost), 0, "rhost") < 0 ||
	    req_str(r, F_TTY, p->tty, sizeof(p->tty), 0, "tty") < 0)
		return -1;
	return 0;
}

static const char *nz(const char *s)
{
	return s && *s ? s : NULL;
}

/* With F_AUTHORIZE, a successful auth also records the account-stage
 * decision in the same transaction (one durable write per login). */
struct acct_decision {
	int wanted, done;
	const char *reason;
	struct access acc;
	char msg[200];
};

/* An auth.allow / auth.deny event about account a, from this PAM call. */
static void pam_event(struct audit_event *ev, struct request *r, const struct pam_ctx *p,
		      const struct account *a, const char *reason, const char *detail)
{
	req_event(ev, r, reason ? "auth.deny" : "auth.allow", reason ? "denied" : "success");
	ev->account = a->name;
	ev->uid = a->uid;
	ev->service = p->service;
	ev->rhost = nz(p->rhost);
	ev->tty = nz(p->tty);
	ev->reason = reason;
	ev->detail = detail;
}

static int audit_auth(struct request *r, const struct pam_ctx *p, const struct account *a,
		      const char *reason, const char *key_id, const char *jti,
		      struct acct_decision *ad)
{
	struct audit_event ev, acct;
	metrics_login(&r->d->metrics, p->service, reason); /* every auth decision comes here */
	if (reason || (ad && !ad->wanted))
		ad = NULL; /* no account-stage decision with this auth */
	req_txn_begin(r);
	if (ad && access_decide(r->d->store, &r->d->cfg, a, p->service, &ad->acc, &ad->reason,
				ad->msg, sizeof(ad->msg)) < 0) {
		req_txn_abort(r);
		return -1;
	}
	/* auth first in the trail, as two separate calls would have it */
	pam_event(&ev, r, p, a, reason, p->break_glass ? "auth; break_glass_stale" : "auth");
	if (p->break_glass && !reason)
		ev.reason = "break_glass_stale";
	ev.key_id = key_id;
	ev.jti = jti;
	if (ad)
		pam_event(&acct, r, p, a, ad->reason, "account");
	if (audit_append(r->d->audit, &ev) < 0 || (ad && audit_append(r->d->audit, &acct) < 0) ||
	    store_commit(r->d->store) < 0) {
		req_txn_abort(r);
		return -1;
	}
	if (ad)
		ad->done = 1;
	r->wrote = 1;
	return 0;
}

/* What the user of a refused key login may be told (F_USER_MESSAGE,
 * shown by pam_svcacct as PAM_ERROR_MSG): a rate limit or a lockout (per
 * caller and key id, so it says nothing about whether a name or key
 * exists), or the key's state once the right secret was given.  "" for
 * anything else: a wrong secret or an unknown key keep the generic
 * refusal, so the text is no oracle. */
static void user_message(const char *reason, int secret_right, uint64_t expires_at, int retry,
			 char *out, size_t len)
{
	out[0] = '\0';
	if (!strcmp(reason, "rate_limited") || !strcmp(reason, "locked_out")) {
		if (retry > 0)
			snprintf(out, len, "rate limited: retry in %d s", retry);
		else
			snprintf(out, len, "rate limited: retry later");
		return;
	}
	if (!secret_right)
		return;
	if (!strcmp(reason, "key_expired")) {
		time_t t = (time_t)(expires_at / 1000);
		struct tm tm;
		char when[40];
		if (expires_at && gmtime_r(&t, &tm) &&
		    strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm))
			snprintf(out, len, "key expired on %s", when);
		else
			snprintf(out, len, "key expired");
	} else if (!strcmp(reason, "key_revoked")) {
		snprintf(out, len, "key revoked");
	} else if (!strcmp(reason, "key_disabled")) {
		snprintf(out, len, "key disabled");
	} else if (!strcmp(reason, "account_disabled")) {
		snprintf(out, len, "account disabled");
	}
}

static void deny(struct request *r, const char *reason, const char *msg, int retry,
		 const char *user_msg)
{
	svca_frame_begin(r->reply, SVCA_ERR_FAILED);
	svca_put_str(r->reply, F_REASON, reason);
	svca_put_str(r->reply, F_MESSAGE, msg);
	if (retry)
		svca_put_u64(r->reply, F_RETRY_AFTER, (uint64_t)retry);
	if (user_msg && *user_msg)
		svca_put_str(r->reply, F_USER_MESSAGE, user_msg);
	svca_frame_end(r->reply);
}

static void auth_ok(struct request *r, const struct acct_decision *ad)
{
	req_ok(r);
	svca_put_str(r->reply, F_REASON, "ok");
	if (ad->done) {
		svca_put_u64(r->reply, F_ACCT_ALLOWED, ad->reason ? 0 : 1);
		svca_put_str(r->reply, F_ROLE, role_name(ad->acc.role));
		svca_put_str(r->reply, F_ACCT_REASON, ad->reason ? ad->reason : "allowed");
		svca_put_str(r->reply, F_ACCT_MESSAGE, ad->msg);
	}
	svca_frame_end(r->reply);
}

/* ---- a certificate login (sshd, SSH_AUTH_INFO_0) ---------------------------------- */

/* F_SSH_CERT: 1 given and passing (*c parsed), 0 absent, -1 refused or
 * invalid (replied; a refusal audited as auth.deny with method ssh-cert,
 * stage = "account" or "session"). */
static int ssh_cert_stage(struct request *r, const char *name, const char *service,
			  const char *rhost, const char *tty, const char *stage, struct ssh_cert *c)
{
	char line[SSH_CERT_LINE_MAX];
	struct account a;
	int g = req_str(r, F_SSH_CERT, line, sizeof(line), 0, "certificate");
	if (g <= 0)
		return g;
	if (strcmp(service, "sshd") != 0) {
		req_fail(r, SVCA_ERR_BADREQ, "a certificate login is for service sshd only");
		return -1;
	}
	memset(&a, 0, sizeof(a));
	enum ssh_login_result res = sshca_cert_check(r->d, name, line, service, c, &a);
	if (res == SSH_LOGIN_OK)
		return 1;
	if (res == SSH_LOGIN_ERROR) {
		req_fail(r, SVCA_ERR_UNAVAIL, "internal storage error");
		return -1;
	}
	if (res == SSH_LOGIN_NOT_ACCOUNT) {
		req_fail(r, SVCA_ERR_NOTFOUND, "'%s' is not a service account", name);
		return -1;
	}
	struct audit_event ev;
	if (!strcmp(stage, "account")) /* the certificate login's auth decision */
		metrics_login(&r->d->metrics, service, sshca_login_reason(res));
	req_txn_begin(r);
	req_event(&ev, r, "auth.deny", "denied");
	ev.account = a.name;
	ev.uid = a.uid;
	ev.service = service;
	ev.rhost = nz(rhost);
	ev.tty = nz(tty);
	ev.reason = sshca_login_reason(res);
	ev.detail = stage;
	ev.method = "ssh-cert";
	ev.serial = c->serial;
	ev.cert_id = c->key_id[0] ? c->key_id : NULL;
	if (req_finish(r, &ev) < 0)
		return -1;
	if (!strcmp(stage, "account")) {
		req_ok(r);
		svca_put_u64(r->reply, F_ALLOWED, 0);
		svca_put_str(r->reply, F_ROLE, role_name(ROLE_NONE));
		svca_put_str(r->reply, F_REASON, sshca_login_reason(res));
		svca_put_str(r->reply, F_MESSAGE, "the SSH certificate is not accepted here");
		svca_frame_end(r->reply);
	} else {
		req_fail(r, SVCA_ERR_FAILED, "the SSH certificate is not accepted here (%s)",
			 sshca_login_reason(res));
	}
	return -1;
}

/* The certificate login's own auth.allow, in the open transaction. */
static int ssh_cert_allow(struct request *r, const struct account *a, const char *service,
			  const char *rhost, const char *tty, const struct ssh_cert *c)
{
	struct audit_event ev;
	metrics_login(&r->d->metrics, service, NULL);
	req_event(&ev, r, "auth.allow", "success");
	ev.account = a->name;
	ev.uid = a->uid;
	ev.service = service;
	ev.rhost = nz(rhost);
	ev.tty = nz(tty);
	ev.detail = "ssh-cert";
	ev.method = "ssh-cert";
	ev.serial = c->serial;
	ev.cert_id = c->key_id;
	return audit_append(r->d->audit, &ev);
}

/* ---- an agent: the first use of a key here is checked by a hub ----------------- */

struct keyfwd_job {
	struct req_job job;
	struct agent_keycheck k;
	struct pam_ctx p;
	int authorize;
	char key_id[SVCA_KEYID_LEN + 1];
};

static void keyfwd_work(struct req_job *j)
{
	agent_keycheck_run(&((struct keyfwd_job *)j)->k);
}

static void keyfwd_release(struct req_job *j)
{
	sodium_memzero(j, sizeof(struct keyfwd_job));
	free(j);
}

/* The hub accepted the key for account a: keep its verifier (later
 * logins are checked here, offline) and the session token it minted. */
static int keyfwd_keep(struct request *r, const struct keyfwd_job *j)
{
	char id[SVCA_KEYID_LEN + 1], secret[SVCA_SECRET_LEN + 1];
	int ok = svca_key_parse(j->k.key, strlen(j->k.key), id, secret) == SVCA_KEY_OK &&
		 !strcmp(id, j->k.ans.key_id);
	store_begin(r->d->store);
	if (!ok ||
	    akv_store(r->d->store, r->d->cfg.state_dir, id, j->k.ans.uid, j->k.ans.created_at,
		      secret) < 0 ||
	    store_commit(r->d->store) < 0) {
		store_abort(r->d->store);
		ok = 0;
	}
	sodium_memzero(secret, sizeof(secret));
	if (j->k.ans.token[0])
		agent_sess_put(j->k.ans.uid, j->k.ans.token, j->k.ans.expires_in);
	return ok ? 0 : -1;
}

static void keyfwd_finish(struct req_job *rj, struct request *r)
{
	struct keyfwd_job *j = (struct keyfwd_job *)rj;
	const struct agent_fwd_answer *ans = &j->k.ans;
	struct account a;
	struct acct_decision ad;
	memset(&ad, 0, sizeof(ad));
	ad.wanted = j->authorize;
	if (account_get(r->d->store, j->p.name, &a) != 1) {
		req_fail(r, SVCA_ERR_UNAVAIL, "internal storage error");
		return;
	}
	if (ans->status == SVCA_ERR_UNAVAIL) {
		audit_auth(r, &j->p, &a, "hub_unreachable", j->key_id, NULL, NULL);
		req_fail(r, SVCA_ERR_UNAVAIL,
			 "no hub reachable to check this key (first use on this host; %s)",
			 ans->message);
		return;
	}
	if (ans->status != SVCA_OK || ans->uid != a.uid) {
		const char *reason = ans->status != SVCA_OK ? ans->reason : "wrong_account";
		int limited = !strcmp(reason, "rate_limited") || !strcmp(reason, "locked_out");
		/* the hub's lockout engaging is this host's too: no more asking */
		if (!strcmp(reason, "invalid_key") || !strcmp(reason, "locked_out"))
			cred_count_failure(r->d, r->peer, j->p.rhost, j->key_id);
		audit_auth(r, &j->p, &a, reason, j->key_id, NULL, NULL);
		/* a hub names a key's state only after the right secret */
		struct apikey k;
		char umsg[96];
		uint64_t exp = key_get(r->d->store, j->key_id, &k) == 1 ? k.expires_at : 0;
		user_message(reason, ans->status != SVCA_OK, exp, (int)ans->retry_after, umsg,
			     sizeof(umsg));
		deny(r, reason,
		     limited ? "too many attempts; try again later" : "authentication failed",
		     limited ? (int)ans->retry_after : 0, umsg);
		return;
	}
	if (keyfwd_keep(r, j) < 0)
		log_warn("pam: key %s: the verifier could not be stored; the next login asks "
			 "a hub again",
			 j->key_id);
	if (audit_auth(r, &j->p, &a, NULL, j->key_id, NULL, &ad) < 0) {
		req_fail(r, SVCA_ERR_UNAVAIL, "the authentication cannot be recorded");
		return;
	}
	auth_ok(r, &ad);
}

/* Hands the key (f) to a hub on a worker thread (keycheck + a session
 * token for this login). */
static void keyfwd_start(struct request *r, const struct pam_ctx *p, const struct svca_field *f,
			 int authorize, const char *key_id)
{
	struct keyfwd_job *j = calloc(1, sizeof(*j));
	if (!j || f->len > SVCA_KEY_LEN) {
		free(j);
		req_fail(r, SVCA_ERR_FAILED, "out of memory");
		return;
	}
	j->job = (struct req_job){ .work = keyfwd_work,
				   .finish = keyfwd_finish,
				   .release = keyfwd_release };
	memcpy(j->k.key, f->val, f->len);
	j->k.session = 1;
	j->p = *p;
	j->authorize = authorize;
	snprintf(j->key_id, sizeof(j->key_id), "%s", key_id);
	agent_hubs_copy(&r->d->cfg, &j->k.hubs);
	if (agent_cred_load(r->d->cfg.state_dir, j->k.cred) != 1)
		j->k.cred[0] = '\0';
	req_defer(r, &j->job);
}

static void pam_auth(struct request *r);

/* The PAM check's latency (a hub's round trip for an agent's first use of
 * a key is not in it: that part runs off the loop). */
void cmd_pam_auth(struct request *r)
{
	int64_t t0 = metrics_clock_us();
	pam_auth(r);
	metrics_observe(&r->d->metrics.pam_check, t0);
}

static void pam_auth(struct request *r)
{
	struct pam_ctx p;
	struct account a;
	char secret[TOKEN_MAX * 4];
	struct acct_decision ad;
	uint64_t want = 0;

	if (read_pam(r, &p) < 0)
		return;
	memset(&ad, 0, sizeof(ad));
	ad.wanted = req_field(r, F_AUTHORIZE) &&
		    svca_field_u64(req_field(r, F_AUTHORIZE), &want) == 0 && want == 1;
	int g = account_get(r->d->store, p.name, &a);
	if (g < 0) {
		req_fail(r, SVCA_ERR_UNAVAIL, "internal storage error");
		return;
	}
	if (g == 0) {
		/* Not ours: the stack falls through to pam_unix.  Not audited,
		 * or every local login would be. */
		req_fail(r, SVCA_ERR_NOTFOUND, "'%s' is not a service account", p.name);
		return;
	}
	/* An agent past max_staleness: no login from data that old, but for
	 * a break-glass account (staleness.h), checked as usual and marked. */
	int64_t age;
	enum login_window lw = login_window_now(r->d, &a, &age);
	if (lw == LOGIN_BREAK_GLASS)
		log_warn_break_glass(&p, &a, age);
	p.break_glass = lw == LOGIN_BREAK_GLASS;
	if (lw == LOGIN_STALE) {
		audit_auth(r, &p, &a, "stale", NULL, NULL, NULL);
		if (age < 0)
			req_fail(r, SVCA_ERR_UNAVAIL,
				 "directory never reached: this agent has no "
				 "snapshot from the hubs yet");
		else
			req_fail(r, SVCA_ERR_UNAVAIL, "directory not reached for %lld s",
				 (long long)age);
		return;
	}
	int is_key = req_field(r, F_KEY) != NULL;
	const struct svca_field *f = req_field(r, is_key ? F_KEY : F_TOKEN);
	if (!f || f->kind != SVCA_K_BYTES || f->len >= sizeof(secret) || f->len == 0) {
		audit_auth(r, &p, &a, "malformed", NULL, NULL, NULL);
		deny(r, "malformed", "authentication failed", 0, NULL);
		return;
	}
	memcpy(secret, f->val, f->len);
	secret[f->len] = '\0';

	if (is_key) {
		struct cred c;
		int just_locked;
		cred_check_key(r->d, secret, f->len, r->peer, p.service, p.rhost, &c, &just_locked);
		sodium_memzero(secret, sizeof(secret));
		if (c.result == CRED_HUB_ONLY) { /* an agent, no verifier yet */
			keyfwd_start(r, &p, f, ad.wanted, c.key_id);
			return;
		}
		if (c.result == CRED_OK && c.account.uid != a.uid) {
			/* A valid key of another account proves nothing here. */
			audit_auth(r, &p, &a, "wrong_account", c.key_id, NULL, NULL);
			deny(r, "wrong_account", "authentication failed", 0, NULL);
			return;
		}
		if (c.result != CRED_OK) {
			if (just_locked) {
				metrics_login(&r->d->metrics, p.service, cred_reason(c.result));
				req_cred_refused(r, &c, 1, "auth.deny", p.service, nz(p.rhost),
						 nz(p.tty), a.name);
			} else
				audit_auth(r, &p, &a, cred_reason(c.result),
					   c.key_id[0] ? c.key_id : NULL, NULL, NULL);
			int limited = c.result == CRED_LOCKED_OUT || c.result == CRED_RATE_LIMITED;
			char umsg[96];
			user_message(cred_reason(c.result), c.secret_right, c.key.expires_at,
				     c.retry_after, umsg, sizeof(umsg));
			deny(r, cred_reason(c.result),
			     limited ? "too many attempts; try again later"
				     : "authentication failed",
			     limited ? c.retry_after : 0, umsg);
			return;
		}
		if (audit_auth(r, &p, &a, NULL, c.key_id, NULL, &ad) < 0) {
			req_fail(r, SVCA_ERR_UNAVAIL, "the authentication cannot be recorded");
			return;
		}
	} else {
		json_t *claims = NULL;
		struct account ta;
		enum tok_result t = token_verify(r->d, secret, f->len, &claims, &ta);
		sodium_memzero(secret, sizeof(secret));
		const char *jti = json_string_value(json_object_get(claims, "jti"));
		char jbuf[72] = "";
		if (jti)
			snprintf(jbuf, sizeof(jbuf), "%s", jti);
		json_decref(claims);
		const char *reason = t != TOK_OK       ? tok_reason(t)
				     : ta.uid != a.uid ? "wrong_account"
						       : NULL;
		if (audit_auth(r, &p, &a, reason, NULL, jbuf[0] ? jbuf : NULL, &ad) < 0 &&
		    !reason) {
			req_fail(r, SVCA_ERR_UNAVAIL, "the authentication cannot be recorded");
			return;
		}
		if (reason) {
			deny(r, reason, "authentication failed", 0, NULL);
			return;
		}
	}
	auth_ok(r, &ad);
}

static void audit_session(struct request *r, const struct pam_ctx *p, const struct account *a,
			  const char *event, const char *jti, uint64_t pid, const char *reason)
{
	struct audit_event ev;
	char detail[32];
	req_event(&ev, r, event, "success");
	ev.reason = reason;
	ev.account = a->name;
	ev.uid = a->uid;
	ev.jti = jti;
	ev.service = p->service;
	ev.rhost = nz(p->rhost);
	ev.tty = nz(p->tty);
	snprintf(detail, sizeof(detail), "pid %llu", (unsigned long long)pid);
	ev.detail = detail;
	req_finish(r, &ev);
}

/* An agent never mints a token (a host must not be able to mint tokens
 * for the accounts it serves): the session gets the token a hub minted
 * when it checked this login's key, if it did; a login checked offline
 * (verifier) or with a token gets none (reason "offline"). */
static void session_from_hub(struct request *r, const struct pam_ctx *p, const struct account *a,
			     uint64_t pid, const struct ssh_cert *cert)
{
	char tok[AGENT_SESS_TOKEN_MAX + 1], jti[72] = "";
	uint64_t expires_in = 0;
	int have = agent_sess_take(a->uid, tok, &expires_in);
	if (have) {
		json_t *claims = NULL;
		struct account ta;
		if (token_verify(r->d, tok, strlen(tok), &claims, &ta) == TOK_OK &&
		    ta.uid == a->uid) {
			const char *j = json_string_value(json_object_get(claims, "jti"));
			snprintf(jti, sizeof(jti), "%s", j ? j : "");
		} else {
			have = 0;
		}
		json_decref(claims);
	}
	req_txn_begin(r);
	if (cert && ssh_cert_allow(r, a, p->service, p->rhost, p->tty, cert) < 0) {
		sodium_memzero(tok, sizeof(tok));
		req_storage_error(r);
		return;
	}
	audit_session(r, p, a, "session.open", jti[0] ? jti : NULL, pid, have ? NULL : "offline");
	if (r->wrote) {
		req_ok(r);
		if (have) {
			svca_put_bytes(r->reply, F_TOKEN, tok, strlen(tok));
			svca_put_u64(r->reply, F_EXPIRES_IN, expires_in);
		} else {
			svca_put_str(r->reply, F_REASON, "offline");
		}
		svca_frame_end(r->reply);
	}
	sodium_memzero(tok, sizeof(tok));
}

void cmd_pam_session_open(struct request *r)
{
	struct pam_ctx p;
	struct account a;
	struct issued tok;
	uint64_t pid = 0;

	if (read_pam(r, &p) < 0 || req_load_account(r, p.name, &a) < 0)
		return;
	if (req_field(r, F_PID))
		svca_field_u64(req_field(r, F_PID), &pid);
	if (a.disabled) {
		req_fail(r, SVCA_ERR_FAILED, "%s is disabled", a.name);
		return;
	}
	/* The login took no svcacct credential (pam_svcacct says so): the
	 * session is audited, no token is minted (issue 14, finding 5). */
	uint64_t no_token = 0;
	if (req_field(r, F_NO_TOKEN))
		svca_field_u64(req_field(r, F_NO_TOKEN), &no_token);
	/* a certificate login that passes gets a token like a key login */
	struct ssh_cert cert;
	int cert_ok = 0;
	if (no_token != 1 &&
	    (cert_ok = ssh_cert_stage(r, p.name, p.service, p.rhost, p.tty, "session", &cert)) < 0)
		return;
	if (no_token == 1) {
		req_txn_begin(r);
		audit_session(r, &p, &a, "session.open", NULL, pid, "no_token");
		if (r->wrote) {
			req_ok(r);
			svca_frame_end(r->reply);
		}
		return;
	}
	if (config_mode(&r->d->cfg) == MODE_AGENT) {
		session_from_hub(r, &p, &a, pid, cert_ok ? &cert : NULL);
		return;
	}
	if (token_issue(r->d, &a, "session", &tok) < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal error issuing a token");
		return;
	}
	req_txn_begin(r);
	/* sshd exposes the certificate only from the session stage on (its
	 * account stage runs before it records the method): the login's
	 * auth.allow goes with the session's records */
	if (cert_ok && ssh_cert_allow(r, &a, p.service, p.rhost, p.tty, &cert) < 0) {
		sodium_memzero(&tok, sizeof(tok));
		req_storage_error(r);
		return;
	}
	struct audit_event ev;
	req_event(&ev, r, "token.issue", "success");
	ev.account = a.name;
	ev.uid = a.uid;
	ev.jti = tok.jti;
	ev.service = p.service;
	ev.rhost = nz(p.rhost);
	ev.tty = nz(p.tty);
	ev.detail = "session";
	if (audit_append(r->d->audit, &ev) < 0) {
		sodium_memzero(&tok, sizeof(tok));
		req_storage_error(r);
		return;
	}
	audit_session(r, &p, &a, "session.open", tok.jti, pid, NULL);
	if (!r->wrote) {
		sodium_memzero(&tok, sizeof(tok));
		return; /* req_finish replied */
	}
	req_ok(r);
	svca_put_bytes(r->reply, F_TOKEN, tok.token, strlen(tok.token));
	svca_put_u64(r->reply, F_EXPIRES_IN, (uint64_t)tok.ttl);
	svca_frame_end(r->reply);
	sodium_memzero(&tok, sizeof(tok));
}

void cmd_pam_session_close(struct request *r)
{
	struct pam_ctx p;
	struct account a;
	char tok[TOKEN_MAX * 4];
	char jti[72] = "";
	uint64_t pid = 0;

	if (read_pam(r, &p) < 0 || req_load_account(r, p.name, &a) < 0)
		return;
	if (req_field(r, F_PID))
		svca_field_u64(req_field(r, F_PID), &pid);
	req_txn_begin(r);
	const struct svca_field *f = req_field(r, F_TOKEN);
	if (f && f->kind == SVCA_K_BYTES && f->len < sizeof(tok)) {
		json_t *claims = NULL;
		struct account ta;
		memcpy(tok, f->val, f->len);
		tok[f->len] = '\0';
		enum tok_result t = token_verify(r->d, tok, f->len, &claims, &ta);
		sodium_memzero(tok, sizeof(tok));
		const char *j = json_string_value(json_object_get(claims, "jti"));
		if (t == TOK_OK && j && ta.uid == a.uid) {
			snprintf(jti, sizeof(jti), "%s", j);
			json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
			struct audit_event ev;
			req_event(&ev, r, "token.revoke", "success");
			ev.account = a.name;
			ev.uid = a.uid;
			ev.jti = jti;
			ev.service = p.service;
			ev.rhost = nz(p.rhost);
			ev.detail = "session closed";
			if (token_deny(r->d, jti, (uint64_t)exp) < 0 ||
			    audit_append(r->d->audit, &ev) < 0) {
				json_decref(claims);
				req_storage_error(r);
				return;
			}
		}
		json_decref(claims);
	}
	audit_session(r, &p, &a, "session.close", jti[0] ? jti : NULL, pid, NULL);
	if (!r->wrote)
		return;
	req_ok(r);
	svca_frame_end(r->reply);
}

/* The account stage of PAM: may this account use this service here? */
void cmd_pam_authorize(struct request *r)
{
	char name[SVCA_NAME_MAX + 2], service[SVCA_PAM_SERVICE_MAX], rhost[SVCA_PAM_RHOST_MAX],
		tty[SVCA_PAM_TTY_MAX];
	struct account a;
	struct access acc;
	const char *reason = NULL;
	char msg[200];

	if (r->peer->uid != 0) {
		req_fail(r, SVCA_ERR_NOTAUTH, "only root (a PAM stack) may ask for authorization");
		return;
	}
	if (req_account_name(r, F_NAME, name) < 0 ||
	    req_str(r, F_SERVICE, service, sizeof(service), 1, "service") < 0 ||
	    req_str(r, F_RHOST, rhost, sizeof(rhost), 0, "rhost") < 0 ||
	    req_str(r, F_TTY, tty, sizeof(tty), 0, "tty") < 0)
		return;
	int g = account_get(r->d->store, name, &a);
	if (g < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	if (g == 0) {
		req_fail(r, SVCA_ERR_NOTFOUND, "'%s' is not a service account", name);
		return;
	}
	/* sshd's certificate login: the certificate must pass the host-side
	 * check (sshca.h) before the capability decides */
	struct ssh_cert cert;
	int cert_ok = ssh_cert_stage(r, name, service, rhost, tty, "account", &cert);
	if (cert_ok < 0)
		return;
	if (access_decide(r->d->store, &r->d->cfg, &a, service, &acc, &reason, msg, sizeof(msg)) <
	    0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}

	struct audit_event ev;
	req_txn_begin(r);
	if (cert_ok && !reason && ssh_cert_allow(r, &a, service, rhost, tty, &cert) < 0) {
		req_storage_error(r);
		return;
	}
	req_event(&ev, r, reason ? "auth.deny" : "auth.allow", reason ? "denied" : "success");
	ev.account = a.name;
	ev.uid = a.uid;
	ev.service = service;
	ev.rhost = rhost;
	ev.tty = tty[0] ? tty : NULL;
	ev.reason = reason;
	ev.detail = "account";
	if (req_finish(r, &ev) < 0)
		return;
	req_ok(r);
	svca_put_u64(r->reply, F_ALLOWED, reason ? 0 : 1);
	svca_put_str(r->reply, F_ROLE, role_name(acc.role));
	svca_put_str(r->reply, F_REASON, reason ? reason : "allowed");
	svca_put_str(r->reply, F_MESSAGE, msg);
	svca_frame_end(r->reply);
}
