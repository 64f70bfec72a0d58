/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SSH certificates (DESIGN.md section 10): sign, the CA's keys, list,
 * revoke, rotate.  The CA itself is model/sshca.c. */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentfwd.h"
#include "handlers.h"
#include "keys.h"
#include "request.h"
#include "sockio.h"
#include "sshca.h"
#include "sshcert.h"
#include "tokens.h"

/* The account a sign request speaks for: an API key (the token exchange's
 * checks and refusals) or a session token (verified by the dispatcher as
 * the actor; verified again here for its claims).  0, -1 replied. */
static int sign_credential(struct request *r, struct account *a, char *key_id, size_t key_id_len)
{
	char key[SVCA_KEY_LEN + 8];
	struct cred c;
	int just_locked;
	if (req_field(r, F_KEY)) {
		if (req_secret(r, F_KEY, key, sizeof(key)) < 0) {
			memset(&c, 0, sizeof(c));
			c.result = CRED_MALFORMED;
			req_cred_refused(r, &c, 0, "ssh.deny", NULL, NULL, NULL, NULL);
			req_cred_refusal_reply(r, &c);
			return -1;
		}
		cred_check_key(r->d, key, strlen(key), r->peer, NULL, NULL, &c, &just_locked);
		sodium_memzero(key, sizeof(key));
		if (c.result != CRED_OK) {
			req_cred_refused(r, &c, just_locked, "ssh.deny", NULL, NULL, NULL, NULL);
			req_cred_refusal_reply(r, &c);
			return -1;
		}
		*a = c.account;
		snprintf(key_id, key_id_len, "%s", c.key.key_id);
		sodium_memzero(&c, sizeof(c));
		return 0;
	}
	char tok[TOKEN_MAX * 4];
	json_t *claims = NULL;
	if (req_secret(r, F_AUTH_TOKEN, tok, sizeof(tok)) < 0) {
		req_fail(r, SVCA_ERR_BADREQ,
			 "ssh sign needs the account's API key or a session token");
		return -1;
	}
	enum tok_result t = token_verify(r->d, tok, strlen(tok), &claims, a);
	sodium_memzero(tok, sizeof(tok));
	const char *kid = json_string_value(json_object_get(claims, "key_id"));
	snprintf(key_id, key_id_len, "%s", kid ? kid : "");
	json_decref(claims);
	if (t != TOK_OK) {
		r->token_refused = 1;
		req_fail(r, SVCA_ERR_NOTAUTH, "session token refused: %s", tok_reason(t));
		return -1;
	}
	return 0;
}

/* ---- an agent: a hub signs (worker thread) ------------------------------------ */

struct forward_job {
	struct req_job job;
	struct agent_ssh_sign q;
	struct cred c; /* the local key check */
};

static void forward_work(struct req_job *j)
{
	agent_ssh_sign_run(&((struct forward_job *)j)->q);
}

static void forward_release(struct req_job *j)
{
	sodium_memzero(j, sizeof(struct forward_job));
	free(j);
}

static void forward_finish(struct req_job *rj, struct request *r)
{
	struct forward_job *j = (struct forward_job *)rj;
	const struct agent_fwd_answer *a = &j->q.ans;
	struct ssh_cert c;
	char err[200];
	if (a->status == SVCA_ERR_UNAVAIL) {
		req_audit_refusal(r, "ssh.deny", "failure", NULL, "hub_unreachable");
		req_fail(r, SVCA_ERR_UNAVAIL, "no hub reachable: ssh sign needs a hub (%s)",
			 a->message);
		return;
	}
	if (a->status == SVCA_ERR_BADREQ) {
		req_fail(r, SVCA_ERR_BADREQ, "%s", a->message);
		return;
	}
	if (a->status != SVCA_OK) {
		int limited =
			!strcmp(a->reason, "rate_limited") || !strcmp(a->reason, "locked_out");
		int nologin = !strcmp(a->reason, "no_login_capability");
		if (!limited && !nologin && j->c.key_id[0])
			cred_count_failure(r->d, r->peer, NULL, j->c.key_id);
		req_audit_refusal(r, "ssh.deny", "denied", NULL, a->reason);
		svca_frame_begin(r->reply, SVCA_ERR_FAILED);
		svca_put_str(r->reply, F_REASON,
			     limited   ? a->reason
			     : nologin ? a->reason
				       : "invalid_key");
		svca_put_str(r->reply, F_MESSAGE,
			     limited   ? "rate limited by the hub, retry later"
			     : nologin ? a->message
				       : "invalid API key");
		if (limited)
			svca_put_u64(r->reply, F_RETRY_AFTER, (uint64_t)a->retry_after);
		svca_frame_end(r->reply);
		return;
	}
	if (ssh_cert_parse_line(j->q.line, strlen(j->q.line), &c, err, sizeof(err)) < 0 ||
	    c.n_principals != 1) {
		req_fail(r, SVCA_ERR_UNAVAIL, "the hub's certificate is malformed: %s", err);
		return;
	}
	char fp[SSH_FP_LEN];
	ssh_fingerprint(c.subject.blob, c.subject.blob_len, fp);
	struct audit_event ev;
	req_txn_begin(r);
	req_event(&ev, r, "ssh.issue", "success");
	ev.account = c.principals[0];
	ev.serial = c.serial;
	ev.cert_id = c.key_id;
	ev.fingerprint = fp;
	ev.ttl = c.valid_before - c.valid_after - SSHCA_BACKDATE_S;
	ev.detail = "issued by a hub";
	if (req_finish(r, &ev) < 0)
		return;
	req_ok(r);
	svca_put_str(r->reply, F_CERTIFICATE, j->q.line);
	svca_put_u64(r->reply, F_SERIAL, c.serial);
	svca_put_str(r->reply, F_KEY_ID, c.key_id);
	svca_put_u64(r->reply, F_VALID_BEFORE, c.valid_before * 1000);
	svca_put_str(r->reply, F_NAME, c.principals[0]);
	svca_frame_end(r->reply);
}

/* The key is checked here first (a revoked, disabled or expired key in
 * the snapshot, a rate limit, a lockout: refused without asking). */
static void forward_start(struct request *r, const char *pub, unsigned ttl)
{
	struct forward_job *j = calloc(1, sizeof(*j));
	char key[SVCA_KEY_LEN + 8];
	int just_locked;
	if (!j) {
		req_fail(r, SVCA_ERR_FAILED, "out of memory");
		return;
	}
	if (req_field(r, F_KEY)) {
		if (req_secret(r, F_KEY, key, sizeof(key)) < 0 || strlen(key) > SVCA_KEY_LEN) {
			j->c.result = CRED_MALFORMED;
			req_cred_refused(r, &j->c, 0, "ssh.deny", NULL, NULL, NULL, NULL);
			req_cred_refusal_reply(r, &j->c);
			sodium_memzero(key, sizeof(key));
			free(j);
			return;
		}
		cred_check_key(r->d, key, strlen(key), r->peer, NULL, NULL, &j->c, &just_locked);
		if (j->c.result != CRED_OK && j->c.result != CRED_HUB_ONLY) {
			sodium_memzero(key, sizeof(key));
			req_cred_refused(r, &j->c, just_locked, "ssh.deny", NULL, NULL, NULL, NULL);
			req_cred_refusal_reply(r, &j->c);
			forward_release(&j->job);
			return;
		}
		memcpy(j->q.key, key, strlen(key));
		sodium_memzero(key, sizeof(key));
	} else if (req_secret(r, F_AUTH_TOKEN, j->q.token, sizeof(j->q.token)) < 0) {
		forward_release(&j->job);
		req_fail(r, SVCA_ERR_BADREQ, "malformed session token");
		return;
	}
	j->job = (struct req_job){ .work = forward_work,
				   .finish = forward_finish,
				   .release = forward_release };
	snprintf(j->q.public_key, sizeof(j->q.public_key), "%s", pub);
	j->q.ttl = ttl;
	agent_hubs_copy(&r->d->cfg, &j->q.hubs);
	req_defer(r, &j->job);
}

static void new_jti(char out[32])
{
	uint8_t rnd[16];
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2base64(out, 32, rnd, sizeof(rnd), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void cmd_ssh_sign(struct request *r)
{
	char pub[SSH_CERT_LINE_MAX], err[256], key_id[SVCA_KEYID_LEN + 16], jti[32];
	struct ssh_pubkey pk;
	struct account a;
	uint64_t ttl = SSHCA_TTL_DEFAULT;

	if (req_str(r, F_PUBLIC_KEY, pub, sizeof(pub), 1, "public key") < 0)
		return;
	if (ssh_pubkey_parse(pub, strlen(pub), &pk, err, sizeof(err)) < 0) {
		req_fail(r, SVCA_ERR_BADREQ, "the public key is refused: %s", err);
		return;
	}
	const struct svca_field *ft = req_field(r, F_TTL);
	if (ft && (svca_field_u64(ft, &ttl) < 0 || ttl < SSHCA_TTL_MIN || ttl > SSHCA_TTL_MAX)) {
		req_fail(r, SVCA_ERR_BADREQ, "--ttl must be between %u and %u seconds",
			 SSHCA_TTL_MIN, SSHCA_TTL_MAX);
		return;
	}
	if (!req_field(r, F_KEY) && !req_field(r, F_AUTH_TOKEN)) {
		req_fail(r, SVCA_ERR_BADREQ,
			 "ssh sign needs the account's API key or a session token");
		return;
	}
	if (config_mode(&r->d->cfg) == MODE_AGENT) {
		forward_start(r, pub, (unsigned)(ft ? ttl : 0)); /* only the hubs hold the CA */
		return;
	}
	if (sign_credential(r, &a, key_id, sizeof(key_id)) < 0)
		return;
	int may = sshca_may_login(r->d, &a);
	if (may < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	if (!may) {
		req_audit_refusal(r, "ssh.deny", "denied", a.name, "no_login_capability");
		svca_frame_begin(r->reply, SVCA_ERR_FAILED);
		svca_put_str(r->reply, F_REASON, "no_login_capability");
		snprintf(err, sizeof(err),
			 "account '%s' has no login capability anywhere it could use a certificate "
			 "(grant it a role that gives login)",
			 a.name);
		svca_put_str(r->reply, F_MESSAGE, err);
		svca_frame_end(r->reply);
		return;
	}
	new_jti(jti);
	struct sshca_issue_req q = { &a, key_id, jti, &pk, (unsigned)ttl };
	struct sshca_cert c;
	char *line = NULL;
	req_txn_begin(r);
	int got = sshca_issue(r->d, &q, &c, &line, err, sizeof(err));
	if (got < 0) {
		req_txn_abort(r);
		req_fail(r, got == -2 ? SVCA_ERR_UNAVAIL : SVCA_ERR_FAILED, "cannot sign: %s", err);
		return;
	}
	struct audit_event ev;
	req_event(&ev, r, "ssh.issue", "success");
	ev.account = a.name;
	ev.uid = a.uid;
	ev.key_id = key_id[0] ? key_id : NULL;
	ev.jti = jti;
	ev.serial = c.serial;
	ev.cert_id = c.cert_id;
	ev.fingerprint = c.fingerprint;
	ev.ttl = ttl;
	if (req_finish(r, &ev) < 0) {
		free(line);
		return;
	}
	req_ok(r);
	svca_put_str(r->reply, F_CERTIFICATE, line);
	svca_put_u64(r->reply, F_SERIAL, c.serial);
	svca_put_str(r->reply, F_KEY_ID, c.cert_id);
	svca_put_u64(r->reply, F_VALID_BEFORE, c.valid_before);
	svca_put_str(r->reply, F_NAME, a.name);
	svca_frame_end(r->reply);
	free(line);
}

void cmd_ssh_ca(struct request *r)
{
	struct sshca_keys k;
	if (sshca_keys(r->d, &k) < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	req_ok(r);
	for (size_t i = 0; i < k.n; i++) {
		char comment[40], fp[SSH_FP_LEN];
		snprintf(comment, sizeof(comment), "svcacct-ca-%s", sshca_state_name(k.k[i].state));
		char *line = ssh_ed25519_pub_line(k.k[i].pk, comment);
		if (!line) {
			req_fail(r, SVCA_ERR_FAILED, "out of memory");
			return;
		}
		sshca_key_fp(k.k[i].pk, fp);
		svca_put_mark(r->reply, F_ITEM);
		svca_put_str(r->reply, F_PUBLIC_KEY, line);
		svca_put_str(r->reply, F_FINGERPRINT, fp);
		svca_put_str(r->reply, F_STATUS, sshca_state_name(k.k[i].state));
		svca_put_u64(r->reply, F_CREATED_AT, k.k[i].created_at);
		free(line);
	}
	svca_frame_end(r->reply);
}

static void cert_reply(struct request *r, const struct sshca_cert *c, uint64_t now)
{
	svca_put_mark(r->reply, F_ITEM);
	svca_put_u64(r->reply, F_SERIAL, c->serial);
	svca_put_str(r->reply, F_NAME, c->account);
	svca_put_str(r->reply, F_KEY_ID, c->cert_id);
	svca_put_str(r->reply, F_FINGERPRINT, c->fingerprint);
	svca_put_u64(r->reply, F_VALID_AFTER, c->valid_after);
	svca_put_u64(r->reply, F_VALID_BEFORE, c->valid_before);
	svca_put_str(r->reply, F_STATUS, sshca_cert_status(c, now));
	svca_put_u64(r->reply, F_CREATED_AT, c->created_at);
}

/* The records of the last 30 days, collected to be listed in serial
 * order (the store iterates in hash order). */
#define LIST_MAX 20000u

struct list_ctx {
	uint32_t uid;
	int all;
	struct sshca_cert *v;
	size_t n, cap;
	int full;
};

static int list_one(void *arg, const struct sshca_cert *c)
{
	struct list_ctx *x = arg;
	if (!x->all && c->uid != x->uid)
		return 0;
	if (x->n == x->cap) {
		size_t nc = x->cap ? x->cap * 2 : 64;
		void *nv = nc <= LIST_MAX ? realloc(x->v, nc * sizeof(x->v[0])) : NULL;
		if (!nv) {
			x->full = 1;
			return 1;
		}
		x->v = nv;
		x->cap = nc;
	}
	x->v[x->n++] = *c;
	return 0;
}

static int by_serial(const void *a, const void *b)
{
	uint64_t x = ((const struct sshca_cert *)a)->serial,
		 y = ((const struct sshca_cert *)b)->serial;
	return x < y ? -1 : x > y;
}

void cmd_ssh_list(struct request *r)
{
	char name[SVCA_NAME_MAX + 2];
	struct account a;
	struct list_ctx x = { 0, 1, NULL, 0, 0, 0 };
	uint64_t now = (uint64_t)svca_wall_ms();
	if (req_field(r, F_NAME)) {
		if (req_account_name(r, F_NAME, name) < 0)
			return;
		int g = account_get(r->d->store, name, &a);
		/* the account itself (its uid, or acting by its token) */
		if (!(g == 1 && (a.uid == r->peer->uid || !strcmp(r->actor.account, a.name))) &&
		    (req_require(r, PRIV_ADMIN, name) < 0 || req_load_account(r, name, &a) < 0))
			return;
		x.uid = a.uid;
		x.all = 0;
	} else if (req_require(r, PRIV_ADMIN, NULL) < 0) {
		return;
	}
	if (sshca_cert_foreach(r->d, list_one, &x) < 0 || x.full) {
		free(x.v);
		req_fail(r, SVCA_ERR_FAILED, "%s",
			 x.full ? "too many certificates for one reply: list one account's "
				  "(--account)"
				: "internal storage error");
		return;
	}
	qsort(x.v, x.n, sizeof(x.v[0]), by_serial);
	req_ok(r);
	for (size_t i = 0; i < x.n; i++)
		cert_reply(r, &x.v[i], now);
	free(x.v);
	if (svca_frame_end(r->reply) < 0)
		req_fail(r, SVCA_ERR_FAILED,
			 "too many certificates for one reply: list one account's (--account)");
}

struct revoke_ctx {
	struct request *r;
	int bad;
};

static int revoke_audit(void *arg, const struct sshca_cert *c)
{
	struct revoke_ctx *x = arg;
	struct audit_event ev;
	req_event(&ev, x->r, "ssh.revoke", "success");
	ev.account = c->account;
	ev.uid = c->uid;
	ev.serial = c->serial;
	ev.cert_id = c->cert_id;
	ev.key_id = c->api_key_id[0] ? c->api_key_id : NULL;
	ev.fingerprint = c->fingerprint;
	if (audit_append(x->r->d->audit, &ev) < 0)
		x->bad = 1;
	return 0;
}

void cmd_ssh_revoke(struct request *r)
{
	char name[SVCA_NAME_MAX + 2];
	struct account a;
	struct revoke_ctx x = { r, 0 };
	int total;
	const struct svca_field *fs = req_field(r, F_SERIAL);
	if (fs) {
		uint64_t serial;
		struct sshca_cert c;
		if (svca_field_u64(fs, &serial) < 0) {
			req_fail(r, SVCA_ERR_BADREQ, "malformed serial");
			return;
		}
		int g = sshca_cert_get(r->d, serial, &c);
		if (g < 0) {
			req_fail(r, SVCA_ERR_FAILED, "internal storage error");
			return;
		}
		if (g == 0) {
			req_fail(r, SVCA_ERR_NOTFOUND, "no certificate with serial %" PRIu64,
				 serial);
			return;
		}
		req_txn_begin(r);
		total = sshca_revoke_cert(r->d, &c);
		if (total < 0 || (total == 1 && revoke_audit(&x, &c) != 0)) {
			req_storage_error(r);
			return;
		}
	} else if (req_field(r, F_NAME)) {
		if (req_account_name(r, F_NAME, name) < 0 || req_load_account(r, name, &a) < 0)
			return;
		req_txn_begin(r);
		total = sshca_revoke_where(r->d, a.uid, NULL, revoke_audit, &x);
		if (total < 0) {
			req_storage_error(r);
			return;
		}
	} else {
		req_fail(r, SVCA_ERR_BADREQ, "give a serial or --account NAME");
		return;
	}
	if (x.bad || store_commit(r->d->store) < 0) {
		req_storage_error(r);
		return;
	}
	r->wrote = 1;
	req_ok(r);
	svca_put_u64(r->reply, F_TOTAL, (uint64_t)total);
	svca_frame_end(r->reply);
}

void cmd_ssh_ca_rotate(struct request *r)
{
	char fp[SSH_FP_LEN], err[200];
	req_txn_begin(r);
	if (sshca_rotate(r->d, fp, err, sizeof(err)) < 0) {
		req_txn_abort(r);
		req_fail(r, SVCA_ERR_FAILED, "%s", err);
		return;
	}
	struct audit_event ev;
	req_event(&ev, r, "ssh_ca.rotate", "success");
	ev.fingerprint = fp;
	ev.detail = "the next key was published; the former next key signs now";
	if (req_finish(r, &ev) < 0)
		return;
	req_ok(r);
	svca_put_str(r->reply, F_FINGERPRINT, fp);
	svca_frame_end(r->reply);
}
