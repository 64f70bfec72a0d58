/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A hub checks an API key for one of its agents (the first use of a key on
 * that host: docs/agent-protocol.md):
 *
 *   POST /v1/agent/keycheck   Authorization: Bearer <host credential>
 *        {"key": "svck_...", "session": true}
 *   200  {"key_id", "account", "uid", "created_at", ["token", "expires_in"]}
 *   401  {"reason": "invalid_key", ...}     unknown key, wrong secret, or a
 *                                           key of an account outside the
 *                                           host's slice (one answer)
 *   403  {"reason": "key_disabled" | "key_revoked" | "key_expired" |
 *                   "account_disabled"}
 *   429  {"reason": "rate_limited" | "locked_out"} + Retry-After
 *
 * The check is the hub's own (cred_check_key: limits, lockout, hash,
 * status, expiry, account), with the host as the caller; then the account
 * must be in the host's slice, or the host learns nothing about the key.
 * "session": true also mints a session token for the login (the agent
 * cannot: only the hubs hold the organization's signing key).  Audited
 * as agent.keycheck (detail host=ID; refusals coalesced under a flood,
 * refusals.h), the token as token.issue.
 */
#include "http_front.h"

#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "host_snapshot.h"
#include "hosts.h"
#include "keys.h"
#include "log.h"
#include "refusals.h"
#include "tokens.h"

struct keycheck {
	struct host h;
	struct peer peer; /* the host, as the caller of its limits */
	struct cred c;
	const char *reason; /* NULL: accepted */
	int want_token;
	struct issued tok;
	int have_tok;
};

/* The body's key into key (wiped by the caller).  0, or -1. */
static int read_body(struct req_state *rs, char *key, size_t len, int *want_token)
{
	json_error_t jerr;
	json_t *body = json_loadb(rs->body, rs->len, JSON_REJECT_DUPLICATES, &jerr);
	sodium_memzero(rs->body, sizeof(rs->body));
	const char *k = json_string_value(json_object_get(body, "key"));
	json_t *s = json_object_get(body, "session");
	int ok = json_is_object(body) && k && strlen(k) < len && (!s || json_is_boolean(s)) &&
		 json_object_size(body) == (s ? 2u : 1u);
	if (ok)
		snprintf(key, len, "%s", k);
	*want_token = json_is_true(s);
	if (k)
		sodium_memzero((char *)(uintptr_t)k, strlen(k));
	json_decref(body);
	return ok ? 0 : -1;
}

/* The refusal the host sees: "not in your slice" and "no such key" are
 * one answer, whatever the key's own state. */
static const char *host_reason(enum cred_result r)
{
	switch (r) {
	case CRED_KEY_DISABLED:
	case CRED_KEY_REVOKED:
	case CRED_KEY_EXPIRED:
	case CRED_ACCOUNT_DISABLED:
	case CRED_RATE_LIMITED:
	case CRED_LOCKED_OUT:
	case CRED_ERROR: return cred_reason(r);
	default: return "invalid_key";
	}
}

static void check(struct daemon *d, const char *key, struct keycheck *k)
{
	int just_locked;
	k->peer.uid = (uid_t)-1;
	k->peer.gid = (gid_t)-1;
	snprintf(k->peer.caller, sizeof(k->peer.caller), "host:%s", k->h.host_id);
	/* service set: like a PAM login, the host's logins share no per-caller
	 * budget; the per-key budget and the lockout per host apply. */
	cred_check_key(d, key, strlen(key), &k->peer, "agent", NULL, &k->c, &just_locked);
	k->reason = k->c.result == CRED_OK ? NULL : cred_reason(k->c.result);
	if (k->c.key.uid) {
		int in = snapshot_has_account(d, &k->h, k->c.key.uid);
		if (in < 0)
			k->reason = "internal_error";
		else if (!in)
			k->reason = "not_in_slice";
	}
	if (!k->reason && k->want_token && token_issue(d, &k->c.account, "session", &k->tok) == 0)
		k->have_tok = 1;
}

static int record(struct daemon *d, struct keycheck *k)
{
	struct actor act = { .uid = (uid_t)-1, .priv = PRIV_NONE };
	char detail[96];
	snprintf(act.user, sizeof(act.user), "host %.58s", k->h.host_id);
	snprintf(detail, sizeof(detail), "host=%s", k->h.host_id);
	int known = k->reason == NULL || k->c.key.uid;
	struct audit_event ev = { .event = "agent.keycheck",
				  .outcome = k->reason ? "denied" : "success",
				  .actor = &act,
				  .account =
					  known && k->c.account.name[0] ? k->c.account.name : NULL,
				  .uid = k->c.key.uid,
				  .key_id = k->c.key_id[0] ? k->c.key_id : NULL,
				  .reason = k->reason,
				  .detail = detail };
	/* A flood of refusals from one host is counted, not written one by
	 * one (refusals.h): a host cannot fill the hubs' audit table. */
	if (k->reason && !refusals_admit(d, &k->peer, &act, "agent.keycheck", NULL))
		return 0;
	struct audit_event tev = ev;
	tev.event = "token.issue";
	tev.reason = NULL;
	tev.jti = k->tok.jti;
	char tdetail[112];
	snprintf(tdetail, sizeof(tdetail), "session host=%s", k->h.host_id);
	tev.detail = tdetail;
	size_t mark = audit_mark(d->audit);
	store_begin(d->store);
	if (audit_append(d->audit, &ev) < 0 || (k->have_tok && audit_append(d->audit, &tev) < 0) ||
	    store_commit(d->store) < 0) {
		store_abort(d->store);
		audit_rollback(d->audit, mark);
		return -1;
	}
	return d->ops->flush(d);
}

static enum MHD_Result refuse(struct MHD_Connection *c, const struct keycheck *k)
{
	const char *r = host_reason(k->c.result);
	if (!strcmp(k->reason, "not_in_slice"))
		r = "invalid_key";
	else if (!strcmp(k->reason, "internal_error"))
		r = "internal_error";
	unsigned st = MHD_HTTP_UNAUTHORIZED;
	const char *title = "Unauthorized", *detail = "invalid API key";
	char ra[24];
	const char *const retry[] = { "Retry-After", ra, NULL };
	snprintf(ra, sizeof(ra), "%d", k->c.retry_after > 0 ? k->c.retry_after : 1);
	if (!strcmp(r, "rate_limited") || !strcmp(r, "locked_out")) {
		st = MHD_HTTP_TOO_MANY_REQUESTS;
		title = "Too Many Requests";
		detail = "too many attempts; try again later";
	} else if (!strcmp(r, "internal_error")) {
		st = MHD_HTTP_SERVICE_UNAVAILABLE;
		title = "Service Unavailable";
		detail = "the organization database is unreachable";
	} else if (strcmp(r, "invalid_key")) {
		st = MHD_HTTP_FORBIDDEN;
		title = "Forbidden";
		detail = !strcmp(r, "account_disabled") ? "the account is disabled"
			 : !strcmp(r, "key_expired")    ? "the API key has expired"
			 : !strcmp(r, "key_revoked")    ? "the API key is revoked"
							: "the API key is disabled";
	}
	json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", "about:blank", "title", title,
			      "status", (int)st, "detail", detail, "reason", r);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	enum MHD_Result ret = http_respond(c, st, "application/problem+json", s ? s : "{}",
					   st == MHD_HTTP_TOO_MANY_REQUESTS ? retry : NULL);
	free(s);
	return ret;
}

static enum MHD_Result accept_key(struct MHD_Connection *c, struct keycheck *k)
{
	json_t *o = json_object();
	json_object_set_new(o, "key_id", json_string(k->c.key.key_id));
	json_object_set_new(o, "account", json_string(k->c.account.name));
	json_object_set_new(o, "uid", json_integer((json_int_t)k->c.key.uid));
	json_object_set_new(o, "created_at", json_integer((json_int_t)k->c.key.created_at));
	if (k->have_tok) {
		json_object_set_new(o, "token", json_string(k->tok.token));
		json_object_set_new(o, "expires_in", json_integer((json_int_t)k->tok.ttl));
	}
	char *s = json_dumps(o, JSON_COMPACT);
	const char *t = json_string_value(json_object_get(o, "token"));
	if (t)
		sodium_memzero((char *)(uintptr_t)t, strlen(t));
	json_decref(o);
	if (!s)
		return http_problem(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error",
				    "out of memory", NULL);
	enum MHD_Result r = http_respond(c, MHD_HTTP_OK, "application/json", s, NULL);
	sodium_memzero(s, strlen(s));
	free(s);
	return r;
}

enum MHD_Result agent_api_keycheck(struct http_front *hf, struct MHD_Connection *c,
				   const char *method, struct req_state *rs)
{
	struct daemon *d = http_front_daemon(hf);
	enum MHD_Result ret;
	char key[SVCA_KEY_LEN + 8];
	if (strcmp(method, "POST")) {
		static const char *const allow[] = { "Allow", "POST", NULL };
		return http_problem(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed",
				    "use POST", allow);
	}
	struct keycheck *k = calloc(1, sizeof(*k));
	if (!k)
		return http_problem(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Service Unavailable",
				    "out of memory", NULL);
	if (!agent_api_auth(hf, c, method, &k->h, &ret))
		goto out;
	if (rs->too_large || read_body(rs, key, sizeof(key), &k->want_token) < 0) {
		sodium_memzero(rs->body, sizeof(rs->body));
		ret = http_problem(c, MHD_HTTP_BAD_REQUEST, "Bad Request",
				   "send a JSON object {\"key\": \"svck_...\"} (optionally "
				   "\"session\": true)",
				   NULL);
		goto out;
	}
	check(d, key, k);
	sodium_memzero(key, sizeof(key));
	if (record(d, k) < 0) {
		log_warn("key check for host %s: the audit record failed", k->h.host_id);
		ret = http_problem(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Service Unavailable",
				   "the check cannot be recorded", NULL);
		goto out;
	}
	ret = k->reason ? refuse(c, k) : accept_key(c, k);
out:
	sodium_memzero(k, sizeof(*k));
	free(k);
	return ret;
}
