/* SPDX-License-Identifier: GPL-3.0-or-later */
/* API keys and session tokens: create once, list, disable, enable, revoke,
 * exchange, verify, revoke tokens, JWKS and signing-key rotation. */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentfwd.h"
#include "handlers.h"
#include "request.h"
#include "keys.h"
#include "orgsecrets.h"
#include "log.h"
#include "refusals.h"
#include "secrets.h"
#include "sockio.h"
#include "sshca.h"
#include "tokens.h"

#define DAY_MS (24LL * 3600 * 1000)

static void key_reply(struct request *r, const char *account, const struct apikey *k)
{
	uint64_t at = k->last_used_at;
	uint32_t uid = k->last_used_uid, pid = k->last_used_pid;
	const char *service = k->last_used_service;
	uint64_t pat;
	uint32_t puid, ppid;
	const char *psvc;
	/* Uses not yet written to disk are still the latest. */
	if (keys_pending_use(r->d, k->key_id, &pat, &puid, &ppid, &psvc) && pat > at) {
		at = pat;
		uid = puid;
		pid = ppid;
		service = psvc;
	}
	enum key_status st = k->status;
	if (st == KEY_ACTIVE && k->expires_at && k->expires_at <= (uint64_t)svca_wall_ms())
		st = KEY_EXPIRED;
	svca_put_str(r->reply, F_NAME, account);
	svca_put_str(r->reply, F_KEY_ID, k->key_id);
	svca_put_str(r->reply, F_LABEL, k->label);
	svca_put_str(r->reply, F_STATUS, key_status_name(st));
	svca_put_u64(r->reply, F_CREATED_AT, k->created_at);
	svca_put_str(r->reply, F_CREATED_BY, k->created_by);
	svca_put_u64(r->reply, F_EXPIRES_AT, k->expires_at);
	svca_put_u64(r->reply, F_LAST_USED_AT, at);
	if (at) {
		svca_put_u64(r->reply, F_LAST_USED_UID, uid);
		svca_put_u64(r->reply, F_LAST_USED_PID, pid);
		svca_put_str(r->reply, F_LAST_USED_SERVICE, service);
	}
}

static int is_active(const struct apikey *k, uint64_t now)
{
	return k->status == KEY_ACTIVE && (!k->expires_at || k->expires_at > now);
}

static int count_active(struct request *r, uint32_t uid, size_t *n)
{
	struct apikey *ks;
	size_t nk;
	uint64_t now = (uint64_t)svca_wall_ms();
	if (key_of_account(r->d->store, uid, &ks, &nk) < 0)
		return -1;
	*n = 0;
	for (size_t i = 0; i < nk; i++)
		*n += (size_t)is_active(&ks[i], now);
	free(ks);
	return 0;
}

static void rng(void *ctx, void *buf, size_t n)
{
	(void)ctx;
	randombytes_buf(buf, n);
}

void cmd_key_create(struct request *r)
{
	char name[SVCA_NAME_MAX + 2], keystr[SVCA_KEY_LEN + 1];
	struct account a;
	struct apikey k;
	uint64_t days = (uint64_t)r->d->cfg.default_key_days;
	size_t active;

	memset(&k, 0, sizeof(k));
	if (req_account_name(r, F_NAME, name) < 0 || req_require(r, PRIV_ADMIN, name) < 0 ||
	    req_str(r, F_LABEL, k.label, sizeof(k.label), 0, "label") < 0 ||
	    req_load_account(r, name, &a) < 0)
		return;
	const struct svca_field *fd = req_field(r, F_EXPIRES_DAYS);
	if (fd && svca_field_u64(fd, &days) < 0) {
		req_fail(r, SVCA_ERR_BADREQ, "malformed --expires");
		return;
	}
	if (days == 0 && !r->d->cfg.allow_nonexpiring_keys) {
		req_fail(r, SVCA_ERR_FAILED,
			 "keys that never expire are not allowed here "
			 "(allow_nonexpiring_keys = false in %s)",
			 r->d->cfg.path);
		return;
	}
	if (days > (uint64_t)r->d->cfg.max_key_days) {
		req_fail(r, SVCA_ERR_BADREQ, "--expires must be between 1 and %d days",
			 r->d->cfg.max_key_days);
		return;
	}
	if (count_active(r, a.uid, &active) < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	if (active >= (size_t)r->d->cfg.max_active_keys) {
		req_audit_refusal(r, "key.create", "failure", a.name, "max_active_keys");
		req_fail(r, SVCA_ERR_FAILED,
			 "account '%s' already has %zu active key(s), the limit (max_active_keys); "
			 "disable or revoke one first",
			 a.name, active);
		return;
	}

	uint8_t secret[SVCA_SECRET_BYTES];
	char keyid[SVCA_KEYID_LEN + 1], sec[SVCA_SECRET_LEN + 1];
	int tries = 0, g;
	do { /* a key id collision is astronomically unlikely; still check */
		randombytes_buf(secret, sizeof(secret));
		if (svca_key_format(rng, NULL, secret, keystr, keyid) < 0 ||
		    (g = key_get(r->d->store, keyid, &(struct apikey){ 0 })) < 0) {
			sodium_memzero(secret, sizeof(secret));
			req_fail(r, SVCA_ERR_FAILED, "internal error generating a key");
			return;
		}
	} while (g == 1 && ++tries < 4);
	sodium_memzero(secret, sizeof(secret));
	if (g == 1 || svca_key_parse(keystr, strlen(keystr), keyid, sec) != SVCA_KEY_OK) {
		sodium_memzero(keystr, sizeof(keystr));
		req_fail(r, SVCA_ERR_FAILED, "internal error generating a key");
		return;
	}
	memcpy(k.key_id, keyid, sizeof(k.key_id));
	k.uid = a.uid;
	k.status = KEY_ACTIVE;
	key_hash(r->d->secrets->pepper, sec, k.hash);
	sodium_memzero(sec, sizeof(sec));
	req_stamp(r, &k.created_at, k.created_by, sizeof(k.created_by));
	k.expires_at = days ? k.created_at + days * (uint64_t)DAY_MS : 0;

	req_txn_begin(r);
	if (key_put(r->d->store, &k) < 0 || key_index_add(r->d->store, a.uid, k.key_id) < 0) {
		sodium_memzero(keystr, sizeof(keystr));
		req_storage_error(r);
		return;
	}
	struct audit_event ev;
	char detail[64];
	req_event(&ev, r, "key.create", "success");
	ev.account = a.name;
	ev.uid = a.uid;
	ev.key_id = k.key_id;
	if (days)
		snprintf(detail, sizeof(detail), "expires in %" PRIu64 " days", days);
	else
		snprintf(detail, sizeof(detail), "never expires");
	ev.detail = detail;
	if (req_finish(r, &ev) < 0) {
		sodium_memzero(keystr, sizeof(keystr));
		return;
	}
	req_ok(r);
	svca_put_bytes(r->reply, F_KEY, keystr, strlen(keystr));
	sodium_memzero(keystr, sizeof(keystr));
	key_reply(r, a.name, &k);
	svca_frame_end(r->reply);
}

/* Anyone may see their own account's keys (not the secrets: only hashes
 * are stored). */
static int own_or_admin(struct request *r, const char *name, struct account *a)
{
	int g = account_get(r->d->store, name, a);
	if (g == 1 && (a->uid == r->peer->uid || !strcmp(r->actor.account, a->name)))
		return 0;
	if (req_require(r, PRIV_ADMIN, name) < 0)
		return -1;
	return req_load_account(r, name, a);
}

void cmd_key_list(struct request *r)
{
	char name[SVCA_NAME_MAX + 2];
	struct account a;
	struct apikey *ks;
	size_t n;
	if (req_account_name(r, F_NAME, name) < 0 || own_or_admin(r, name, &a) < 0)
		return;
	if (key_of_account(r->d->store, a.uid, &ks, &n) < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	req_ok(r);
	for (size_t i = 0; i < n; i++) {
		svca_put_mark(r->reply, F_ITEM);
		key_reply(r, a.name, &ks[i]);
	}
	free(ks);
	svca_frame_end(r->reply);
}

/* key list --all: a key with its owner's name, for sorting. */
struct owned_key {
	char account[SVCA_NAME_MAX + 1];
	const struct apikey *k;
};

static int by_owner(const void *a, const void *b)
{
	const struct owned_key *x = a, *y = b;
	int c = strcmp(x->account, y->account);
	if (c)
		return c;
	return x->k->created_at < y->k->created_at ? -1 : x->k->created_at > y->k->created_at;
}

/* Active, not yet expired, and expiring before limit (ms). */
static int expiring(const struct apikey *k, uint64_t now, uint64_t limit)
{
	return k->status == KEY_ACTIVE && k->expires_at && k->expires_at > now &&
	       k->expires_at <= limit;
}

/* Every key of every account (admin), optionally only the active ones
 * that expire within F_EXPIRING_DAYS days. */
void cmd_key_list_all(struct request *r)
{
	const struct svca_field *fd = req_field(r, F_EXPIRING_DAYS);
	uint64_t days = 0, now = (uint64_t)svca_wall_ms();
	struct apikey *ks;
	size_t n, m = 0;

	if (fd && (svca_field_u64(fd, &days) < 0 || days > 36500)) {
		req_fail(r, SVCA_ERR_BADREQ, "--expiring: a number of days from 0 to 36500");
		return;
	}
	if (key_all(r->d->store, &ks, &n) < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	struct owned_key *v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		free(ks);
		req_fail(r, SVCA_ERR_FAILED, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct account a;
		if (fd && !expiring(&ks[i], now, now + days * (uint64_t)DAY_MS))
			continue;
		/* a key whose account is gone is no one's: not listed */
		if (account_get_by_uid(r->d->store, ks[i].uid, &a) != 1)
			continue;
		snprintf(v[m].account, sizeof(v[m].account), "%s", a.name);
		v[m++].k = &ks[i];
	}
	if (m)
		qsort(v, m, sizeof(*v), by_owner);
	req_ok(r);
	for (size_t i = 0; i < m; i++) {
		svca_put_mark(r->reply, F_ITEM);
		key_reply(r, v[i].account, v[i].k);
	}
	free(v);
	free(ks);
	if (svca_frame_end(r->reply) < 0)
		req_fail(r, SVCA_ERR_FAILED, "the key list is too large to send");
}

/* Enables (KEY_ACTIVE), disables or revokes one key of an account. */
static void key_set_status(struct request *r, enum key_status target)
{
	static const char *const events[] = {
		[KEY_ACTIVE] = "key.enable",
		[KEY_DISABLED] = "key.disable",
		[KEY_REVOKED] = "key.revoke",
	};
	char name[SVCA_NAME_MAX + 2], keyid[SVCA_KEYID_LEN + 2];
	struct account a;
	struct apikey k;

	if (req_account_name(r, F_NAME, name) < 0 || req_require(r, PRIV_ADMIN, name) < 0 ||
	    req_str(r, F_KEY_ID, keyid, sizeof(keyid), 1, "key id") < 0 ||
	    req_load_account(r, name, &a) < 0)
		return;
	int g = key_get(r->d->store, keyid, &k);
	if (g < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	if (g == 0 || k.uid != a.uid) {
		req_fail(r, SVCA_ERR_NOTFOUND, "account '%s' has no key '%s'", name, keyid);
		return;
	}
	uint64_t now = (uint64_t)svca_wall_ms();
	int expired = k.status == KEY_EXPIRED || (k.expires_at && k.expires_at <= now);
	if (k.status == KEY_REVOKED) {
		req_fail(r, SVCA_ERR_FAILED, "key '%s' is revoked; revocation is final", keyid);
		return;
	}
	if (target == KEY_ACTIVE) {
		size_t active;
		if (expired) {
			req_fail(r, SVCA_ERR_FAILED, "key '%s' has expired; create a new key",
				 keyid);
			return;
		}
		if (k.status == KEY_DISABLED) {
			if (count_active(r, a.uid, &active) < 0) {
				req_fail(r, SVCA_ERR_FAILED, "internal storage error");
				return;
			}
			if (active >= (size_t)r->d->cfg.max_active_keys) {
				req_fail(r, SVCA_ERR_FAILED,
					 "account '%s' already has %zu active key(s), the limit "
					 "(max_active_keys)",
					 name, active);
				return;
			}
		}
	}
	req_txn_begin(r);
	if (k.status != target && !(target == KEY_DISABLED && expired)) {
		k.status = target;
		k.changed_at = now;
		if (key_put(r->d->store, &k) < 0) {
			req_storage_error(r);
			return;
		}
	}
	/* The certificates it obtained are revoked with it. */
	if (target == KEY_REVOKED && sshca_revoke_key(r->d, k.key_id) < 0) {
		req_storage_error(r);
		return;
	}
	struct audit_event ev;
	req_event(&ev, r, events[target], "success");
	ev.account = a.name;
	ev.uid = a.uid;
	ev.key_id = k.key_id;
	if (req_finish(r, &ev) < 0)
		return;
	req_ok(r);
	key_reply(r, a.name, &k);
	svca_frame_end(r->reply);
}

void cmd_key_enable(struct request *r)
{
	key_set_status(r, KEY_ACTIVE);
}

void cmd_key_disable(struct request *r)
{
	key_set_status(r, KEY_DISABLED);
}

void cmd_key_revoke(struct request *r)
{
	key_set_status(r, KEY_REVOKED);
}

/* ---- token exchange ---------------------------------------------------------- */

/* ---- an agent: the exchange is a hub's (worker thread) ------------------------- */

struct exchange_job {
	struct req_job job;
	struct agent_exchange x;
	struct cred c; /* the local check (key record when the snapshot has it) */
};

static void exchange_work(struct req_job *j)
{
	agent_exchange_run(&((struct exchange_job *)j)->x);
}

static void exchange_release(struct req_job *j)
{
	sodium_memzero(j, sizeof(struct exchange_job));
	free(j);
}

static void exchange_finish(struct req_job *rj, struct request *r)
{
	struct exchange_job *j = (struct exchange_job *)rj;
	const struct agent_fwd_answer *a = &j->x.ans;
	struct account acc;
	const char *name = NULL;
	if (j->c.key.uid && account_get_by_uid(r->d->store, j->c.key.uid, &acc) == 1)
		name = acc.name;
	if (a->status == SVCA_ERR_UNAVAIL) {
		metrics_exchange(&r->d->metrics, "hub_unreachable");
		req_audit_refusal(r, "token.deny", "failure", name, "hub_unreachable");
		req_fail(r, SVCA_ERR_UNAVAIL, "no hub reachable: token exchange needs a hub (%s)",
			 a->message);
		return;
	}
	if (a->status != SVCA_OK) {
		int limited =
			!strcmp(a->reason, "rate_limited") || !strcmp(a->reason, "locked_out");
		if (!limited && j->c.key_id[0])
			cred_count_failure(r->d, r->peer, NULL, j->c.key_id);
		metrics_exchange(&r->d->metrics, limited ? a->reason : "invalid_key");
		req_audit_refusal(r, "token.deny", "denied", name, a->reason);
		svca_frame_begin(r->reply, SVCA_ERR_FAILED);
		svca_put_str(r->reply, F_REASON, limited ? a->reason : "invalid_key");
		svca_put_str(r->reply, F_MESSAGE,
			     limited ? "rate limited by the hub, retry later" : "invalid API key");
		if (limited)
			svca_put_u64(r->reply, F_RETRY_AFTER, (uint64_t)a->retry_after);
		svca_frame_end(r->reply);
		return;
	}
	struct audit_event ev;
	req_txn_begin(r);
	req_event(&ev, r, "token.issue", "success");
	ev.account = name;
	ev.uid = name ? acc.uid : 0;
	ev.key_id = a->key_id[0] ? a->key_id : j->c.key_id;
	ev.detail = "issued by a hub";
	if (req_finish(r, &ev) < 0)
		return;
	metrics_exchange(&r->d->metrics, NULL);
	req_ok(r);
	svca_put_bytes(r->reply, F_TOKEN, a->token, strlen(a->token));
	svca_put_u64(r->reply, F_EXPIRES_IN, a->expires_in);
	svca_put_u64(r->reply, F_EXPIRES_AT, (uint64_t)svca_wall_ms() + a->expires_in * 1000);
	svca_put_str(r->reply, F_KEY_ID, ev.key_id);
	if (name)
		svca_put_str(r->reply, F_NAME, name);
	svca_frame_end(r->reply);
}

static void exchange_start(struct request *r, const char *key, const struct cred *c)
{
	struct exchange_job *j = calloc(1, sizeof(*j));
	if (!j || strlen(key) > SVCA_KEY_LEN) {
		free(j);
		req_fail(r, SVCA_ERR_FAILED, "invalid API key");
		return;
	}
	j->job = (struct req_job){ .work = exchange_work,
				   .finish = exchange_finish,
				   .release = exchange_release };
	memcpy(j->x.key, key, strlen(key));
	j->c = *c;
	agent_hubs_copy(&r->d->cfg, &j->x.hubs);
	req_defer(r, &j->job);
}

static void token_create(struct request *r);

/* The exchange's latency on this daemon (an agent's hub round trip runs
 * off the loop and is not in it). */
void cmd_token_create(struct request *r)
{
	int64_t t0 = metrics_clock_us();
	token_create(r);
	metrics_observe(&r->d->metrics.exchange, t0);
}

static void token_create(struct request *r)
{
	char key[SVCA_KEY_LEN + 8];
	struct cred c;
	struct issued tok;
	int just_locked;

	if (req_secret(r, F_KEY, key, sizeof(key)) < 0) {
		memset(&c, 0, sizeof(c));
		c.result = CRED_MALFORMED;
		metrics_exchange(&r->d->metrics, "malformed");
		req_cred_refused(r, &c, 0, "token.deny", NULL, NULL, NULL, NULL);
		req_fail(r, SVCA_ERR_FAILED, "invalid API key");
		return;
	}
	cred_check_key(r->d, key, strlen(key), r->peer, NULL, NULL, &c, &just_locked);
	if (config_mode(&r->d->cfg) == MODE_AGENT &&
	    (c.result == CRED_OK || c.result == CRED_HUB_ONLY)) {
		exchange_start(r, key, &c); /* only a hub signs tokens */
		sodium_memzero(key, sizeof(key));
		return;
	}
	sodium_memzero(key, sizeof(key));
	if (c.result != CRED_OK) {
		metrics_exchange(&r->d->metrics, cred_reason(c.result));
		req_cred_refused(r, &c, just_locked, "token.deny", NULL, NULL, NULL, NULL);
		req_cred_refusal_reply(r, &c);
		return;
	}
	if (token_issue(r->d, &c.account, c.key.key_id, &tok) < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal error issuing a token");
		return;
	}
	req_txn_begin(r);
	if (req_audit_cred(r, &c, "token.issue", NULL, NULL, NULL, tok.jti, NULL) < 0 ||
	    store_commit(r->d->store) < 0) {
		sodium_memzero(&tok, sizeof(tok));
		req_storage_error(r);
		return;
	}
	r->wrote = 1;
	metrics_exchange(&r->d->metrics, NULL);
	req_ok(r);
	svca_put_bytes(r->reply, F_TOKEN, tok.token, strlen(tok.token));
	svca_put_u64(r->reply, F_EXPIRES_IN, (uint64_t)tok.ttl);
	svca_put_u64(r->reply, F_EXPIRES_AT, tok.expires_at);
	svca_put_str(r->reply, F_KEY_ID, c.key.key_id);
	svca_put_str(r->reply, F_NAME, c.account.name);
	svca_frame_end(r->reply);
	sodium_memzero(&tok, sizeof(tok));
}

void cmd_token_verify(struct request *r)
{
	char tok[TOKEN_MAX * 4];
	json_t *claims = NULL;
	struct account a;
	if (req_secret(r, F_TOKEN, tok, sizeof(tok)) < 0) {
		req_fail(r, SVCA_ERR_BADREQ, "missing or oversized token");
		return;
	}
	enum tok_result t = token_verify(r->d, tok, strlen(tok), &claims, &a);
	sodium_memzero(tok, sizeof(tok));
	char *js = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
	json_decref(claims);
	svca_frame_begin(r->reply, t == TOK_OK ? SVCA_OK : SVCA_ERR_FAILED);
	if (js)
		svca_put_str(r->reply, F_JSON, js);
	if (t == TOK_OK) {
		svca_put_str(r->reply, F_NAME, a.name);
	} else {
		char msg[80];
		snprintf(msg, sizeof(msg), "token is not valid: %s", tok_reason(t));
		svca_put_str(r->reply, F_REASON, tok_reason(t));
		svca_put_str(r->reply, F_MESSAGE, msg);
	}
	free(js);
	svca_frame_end(r->reply);
}

void cmd_token_revoke(struct request *r)
{
	char tok[TOKEN_MAX * 4], name[SVCA_NAME_MAX + 2];
	json_t *claims = NULL;
	struct account a;
	struct audit_event ev;

	if (req_field(r, F_NAME)) {
		/* All tokens of an account: bump its generation. */
		if (req_account_name(r, F_NAME, name) < 0 || req_require(r, PRIV_ADMIN, name) < 0 ||
		    req_load_account(r, name, &a) < 0)
			return;
		req_txn_begin(r);
		if (account_revoke_tokens(r->d->store, &a) < 0) {
			req_storage_error(r);
			return;
		}
		req_event(&ev, r, "token.revoke", "success");
		ev.account = a.name;
		ev.uid = a.uid;
		ev.detail = "all tokens of the account";
		if (req_finish(r, &ev) < 0)
			return;
		req_ok(r);
		svca_put_str(r->reply, F_NAME, a.name);
		svca_frame_end(r->reply);
		return;
	}
	if (req_secret(r, F_TOKEN, tok, sizeof(tok)) < 0) {
		req_fail(r, SVCA_ERR_BADREQ, "give a token or --account NAME");
		return;
	}
	/* Presenting a token is proof enough to revoke it. */
	enum tok_result t = token_verify(r->d, tok, strlen(tok), &claims, &a);
	sodium_memzero(tok, sizeof(tok));
	if (t != TOK_OK && t != TOK_REVOKED && t != TOK_STALE && t != TOK_ACCOUNT_DISABLED &&
	    t != TOK_KEY_DISABLED && t != TOK_KEY_REVOKED) {
		json_decref(claims);
		req_fail(r, SVCA_ERR_FAILED, "token is not valid: %s", tok_reason(t));
		return;
	}
	const char *jti = json_string_value(json_object_get(claims, "jti"));
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
	req_txn_begin(r);
	/* Deny-list it even while it is suspended, so that enabling the
	 * account or key later does not bring it back. */
	if (t != TOK_REVOKED && t != TOK_STALE && token_deny(r->d, jti, (uint64_t)exp) < 0) {
		json_decref(claims);
		req_storage_error(r);
		return;
	}
	req_event(&ev, r, "token.revoke", "success");
	ev.account = sub;
	ev.jti = jti;
	if (req_finish(r, &ev) < 0) {
		json_decref(claims);
		return;
	}
	req_ok(r);
	svca_put_str(r->reply, F_NAME, sub);
	svca_frame_end(r->reply);
	json_decref(claims);
}

void cmd_jwks(struct request *r)
{
	char *js = tokens_jwks(r->d);
	if (!js) {
		req_fail(r, SVCA_ERR_FAILED, "out of memory");
		return;
	}
	req_ok(r);
	svca_put_str(r->reply, F_JSON, js);
	svca_frame_end(r->reply);
	free(js);
}

void cmd_signing_key_rotate(struct request *r)
{
	char err[256];
	/* The audit event (naming the new kid) goes into the transaction
	 * first: a rotation that cannot be recorded does not happen. */
	struct signing_key fresh;
	struct audit_event ev;
	if (secrets_generate(&fresh) < 0) {
		req_fail(r, SVCA_ERR_FAILED, "cannot allocate protected memory");
		return;
	}
	req_txn_begin(r);
	req_event(&ev, r, "signing_key.rotate", "success");
	ev.detail = fresh.kid;
	if (audit_append(r->d->audit, &ev) < 0) {
		secrets_discard(&fresh);
		req_storage_error(r);
		return;
	}
	if (secrets_install(r->d->secrets, &fresh, err, sizeof(err)) < 0) {
		req_txn_abort(r);
		req_fail(r, SVCA_ERR_FAILED, "%s", err);
		return;
	}
	/* Hub mode: the other hubs take the new key from the store. */
	if ((store_shared(r->d->store) && org_secrets_put(r->d) < 0) ||
	    store_commit(r->d->store) < 0) {
		secrets_uninstall(r->d->secrets);
		req_storage_error(r);
		return;
	}
	/* Flushed here, not with the batch: if the audit record cannot be
	 * made durable the new key must not stay installed. */
	int ok = r->d->ops->flush(r->d) == 0;
	if (!ok) {
		if (secrets_uninstall(r->d->secrets) < 0)
			log_err("cannot undo a signing key rotation whose audit record failed");
		req_fail(r, SVCA_ERR_FAILED,
			 "the rotation could not be recorded (the journal write failed); "
			 "the signing key is unchanged");
		return;
	}
	const struct signing_key *k = secrets_current(r->d->secrets);
	req_ok(r);
	svca_put_str(r->reply, F_KEY_ID, k->kid);
	svca_frame_end(r->reply);
}
