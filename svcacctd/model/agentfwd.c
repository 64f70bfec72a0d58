/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An agent's key questions to its hubs (agentfwd.h). */
#include "agentfwd.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubclient.h"
#include "sockio.h"

static void copy_str(json_t *o, const char *name, char *dst, size_t len)
{
	const char *v = json_string_value(json_object_get(o, name));
	snprintf(dst, len, "%s", v && strlen(v) < len ? v : "");
}

/* A refusal (401, 403, 429): the hub's reason and words. */
static void refused(struct agent_fwd_answer *a, const struct hub_reply *rep, json_t *o,
		    const char *url)
{
	a->status = SVCA_ERR_FAILED;
	copy_str(o, "reason", a->reason, sizeof(a->reason));
	if (!a->reason[0])
		snprintf(a->reason, sizeof(a->reason), "%s",
			 rep->status == 429 ? "rate_limited" : "invalid_key");
	const char *d = json_string_value(json_object_get(o, "detail"));
	snprintf(a->message, sizeof(a->message), "%s (hub %s)", d ? d : "refused", url);
	json_int_t ra = json_integer_value(json_object_get(o, "retry_after"));
	a->retry_after = rep->status == 429 ? (ra > 0 && ra < 86400 ? (int)ra : 5) : 0;
}

/* The hub's answer.  1 final (accepted or refused), 0 try the next hub. */
static int answer(struct agent_fwd_answer *a, const struct hub_reply *rep, const char *url,
		  int exchange)
{
	json_t *o = json_loadb(rep->body ? rep->body : "", rep->len, 0, NULL);
	int final = 1;
	if (rep->status == 200 && json_is_object(o)) {
		a->status = SVCA_OK;
		copy_str(o, exchange ? "access_token" : "token", a->token, sizeof(a->token));
		copy_str(o, "key_id", a->key_id, sizeof(a->key_id));
		copy_str(o, "account", a->account, sizeof(a->account));
		json_int_t uid = json_integer_value(json_object_get(o, "uid"));
		a->uid = uid > 0 && uid <= (json_int_t)UINT32_MAX ? (uint32_t)uid : 0;
		json_int_t ca = json_integer_value(json_object_get(o, "created_at"));
		a->created_at = ca > 0 ? (uint64_t)ca : 0;
		json_int_t ei = json_integer_value(json_object_get(o, "expires_in"));
		a->expires_in = ei > 0 ? (uint64_t)ei : 0;
		if ((exchange && !a->token[0]) || (!exchange && (!a->uid || !a->key_id[0]))) {
			a->status = SVCA_ERR_UNAVAIL;
			snprintf(a->message, sizeof(a->message), "%s: malformed answer", url);
			final = 0;
		}
	} else if (rep->status == 401 || rep->status == 403 || rep->status == 429) {
		refused(a, rep, o, url);
	} else {
		snprintf(a->message, sizeof(a->message), "%s answered HTTP %ld", url, rep->status);
		final = 0;
	}
	const char *t = json_string_value(json_object_get(o, exchange ? "access_token" : "token"));
	if (t)
		sodium_memzero((char *)(uintptr_t)t, strlen(t));
	json_decref(o);
	return final;
}

/* Hub after hub until one gives a final answer; the URLs tried go into
 * the message when none did. */
static void ask(const struct agent_hubs *hubs, const char *path, const char *cred,
		const char *apikey, const char *json, struct agent_fwd_answer *a)
{
	char tried[300] = "";
	size_t used = 0;
	int64_t start = svca_now_ms();
	memset(a, 0, sizeof(*a));
	a->status = SVCA_ERR_UNAVAIL;
	for (size_t i = 0; i < hubs->n; i++) {
		int64_t left = AGENT_FWD_TOTAL_MS - (svca_now_ms() - start);
		if (left < 200)
			break;
		int ms = left < AGENT_FWD_HUB_MS ? (int)left : AGENT_FWD_HUB_MS;
		struct hub_reply rep;
		int r = apikey ? hub_request_apikey(hubs->url[i], path, hubs->ca, apikey, ms, &rep)
			       : hub_request(hubs->url[i], path, hubs->ca, cred, json, ms, &rep);
		if (used < sizeof(tried))
			used += (size_t)snprintf(tried + used, sizeof(tried) - used, "%s%s",
						 used ? ", " : "", hubs->url[i]);
		int final = r == 0 && answer(a, &rep, hubs->url[i], apikey != NULL);
		hub_reply_free(&rep);
		if (final)
			return;
	}
	a->status = SVCA_ERR_UNAVAIL;
	snprintf(a->message, sizeof(a->message), "tried %s", hubs->n ? tried : "no hub");
}

void agent_keycheck_run(struct agent_keycheck *k)
{
	json_t *body = json_pack("{s:s, s:b}", "key", k->key, "session", k->session);
	char *json = body ? json_dumps(body, JSON_COMPACT) : NULL;
	const char *v = json_string_value(json_object_get(body, "key"));
	if (v)
		sodium_memzero((char *)(uintptr_t)v, strlen(v));
	json_decref(body);
	if (json && k->cred[0])
		ask(&k->hubs, "/v1/agent/keycheck", k->cred, NULL, json, &k->ans);
	else {
		memset(&k->ans, 0, sizeof(k->ans));
		k->ans.status = SVCA_ERR_UNAVAIL;
		snprintf(k->ans.message, sizeof(k->ans.message), "%s",
			 json ? "this host is not enrolled" : "out of memory");
	}
	if (json) {
		sodium_memzero(json, strlen(json));
		free(json);
	}
	sodium_memzero(k->cred, sizeof(k->cred));
}

void agent_exchange_run(struct agent_exchange *x)
{
	ask(&x->hubs, "/service-account-tokens", NULL, x->key, NULL, &x->ans);
	sodium_memzero(x->key, sizeof(x->key));
}

/* ---- ssh sign: the hubs hold the CA ------------------------------------------- */

/* The hubs' answer to POST /ssh/sign.  1 final, 0 try the next hub. */
static int ssh_answer(struct agent_ssh_sign *q, const struct hub_reply *rep, const char *url)
{
	json_t *o = json_loadb(rep->body ? rep->body : "", rep->len, 0, NULL);
	struct agent_fwd_answer *a = &q->ans;
	int final = 1;
	const char *cert = json_string_value(json_object_get(o, "certificate"));
	if (rep->status == 200 && cert && strlen(cert) < sizeof(q->line)) {
		a->status = SVCA_OK;
		snprintf(q->line, sizeof(q->line), "%s", cert);
	} else if (rep->status == 401 || rep->status == 403 || rep->status == 429) {
		refused(a, rep, o, url);
		if (rep->status == 403)
			snprintf(a->reason, sizeof(a->reason), "no_login_capability");
	} else if (rep->status == 400) {
		const char *d = json_string_value(json_object_get(o, "detail"));
		a->status = SVCA_ERR_BADREQ;
		snprintf(a->message, sizeof(a->message), "%s", d ? d : "bad request");
	} else {
		snprintf(a->message, sizeof(a->message), "%s answered HTTP %ld", url, rep->status);
		final = 0;
	}
	json_decref(o);
	return final;
}

void agent_ssh_sign_run(struct agent_ssh_sign *q)
{
	if (q->key[0]) { /* the key buys a hub session token first */
		struct agent_exchange *x = calloc(1, sizeof(*x));
		if (!x) {
			memset(&q->ans, 0, sizeof(q->ans));
			q->ans.status = SVCA_ERR_UNAVAIL;
			snprintf(q->ans.message, sizeof(q->ans.message), "out of memory");
			goto out;
		}
		x->hubs = q->hubs;
		memcpy(x->key, q->key, sizeof(x->key));
		agent_exchange_run(x);
		q->ans = x->ans;
		snprintf(q->token, sizeof(q->token), "%s", x->ans.token);
		sodium_memzero(x, sizeof(*x));
		free(x);
		if (q->ans.status != SVCA_OK)
			goto out;
	}
	json_t *body = q->ttl ? json_pack("{s:s, s:I}", "public_key", q->public_key, "ttl",
					  (json_int_t)q->ttl)
			      : json_pack("{s:s}", "public_key", q->public_key);
	char *json = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	char tried[300] = "";
	size_t used = 0;
	int64_t start = svca_now_ms();
	memset(&q->ans, 0, sizeof(q->ans));
	q->ans.status = SVCA_ERR_UNAVAIL;
	for (size_t i = 0; json && i < q->hubs.n; i++) {
		int64_t left = AGENT_FWD_TOTAL_MS - (svca_now_ms() - start);
		if (left < 200)
			break;
		int ms = left < AGENT_FWD_HUB_MS ? (int)left : AGENT_FWD_HUB_MS;
		struct hub_reply rep;
		int r = hub_request(q->hubs.url[i], "/ssh/sign", q->hubs.ca, q->token, json, ms,
				    &rep);
		if (used < sizeof(tried))
			used += (size_t)snprintf(tried + used, sizeof(tried) - used, "%s%s",
						 used ? ", " : "", q->hubs.url[i]);
		int final = r == 0 && ssh_answer(q, &rep, q->hubs.url[i]);
		hub_reply_free(&rep);
		if (final)
			goto done;
	}
	q->ans.status = SVCA_ERR_UNAVAIL;
	snprintf(q->ans.message, sizeof(q->ans.message), "tried %s",
		 json ? (q->hubs.n ? tried : "no hub") : "out of memory");
done:
	free(json);
out:
	sodium_memzero(q->key, sizeof(q->key));
	sodium_memzero(q->token, sizeof(q->token));
}
