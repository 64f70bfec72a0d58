/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The fleet's hosts (DESIGN.md section 9).  On a hub: enrollment tokens,
 * host list/show/update/disable/remove, and host.register (an agent
 * enrolling, POST /v1/agent/enroll).  On an agent: host.enroll, which
 * asks the hubs on a worker thread (req_defer).  Everywhere: fleet.status.
 * The dispatcher (dispatch.c) refuses each in the wrong mode.
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "audit.h"
#include "agentapply.h"
#include "agentsync.h"
#include "handlers.h"
#include "enrollgc.h"
#include "hostlag.h"
#include "hosts.h"
#include "orgsettings.h"
#include "ratelimit.h"
#include "rbac.h"
#include "request.h"
#include "secrets.h"
#include "sockio.h"

/* ---- helpers ------------------------------------------------------------------ */

typedef const char (*ws_list)[SVCA_SCOPE_NAME_MAX + 1];

static void workspaces_text(ws_list ws, size_t n, char *out, size_t len)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s", i ? "," : "", ws[i]);
}

static void host_reply(struct request *r, const struct host *h)
{
	svca_put_str(r->reply, F_HOST_ID, h->host_id);
	for (size_t i = 0; i < h->nws; i++)
		svca_put_str(r->reply, F_WORKSPACES, h->workspaces[i]);
	svca_put_str(r->reply, F_STATUS, host_status_name(h->status));
	svca_put_u64(r->reply, F_CREATED_AT, h->created_at);
	svca_put_str(r->reply, F_CREATED_BY, h->created_by);
	svca_put_u64(r->reply, F_LAST_SEEN, h->last_seen);
	svca_put_u64(r->reply, F_SNAPSHOT_SEQ, h->snapshot_seq);
	if (h->has_lag)
		svca_put_u64(r->reply, F_LAG_S, h->lag_s);
}

/* F_WORKSPACES ("a,b"): valid, and every one exists.  0 or -1 (replied). */
static int read_workspaces(struct request *r, char ws[][SVCA_SCOPE_NAME_MAX + 1], size_t *n)
{
	char list[HOST_MAX_WORKSPACES * (SVCA_SCOPE_NAME_MAX + 1) + 2], why[160];
	if (req_str(r, F_WORKSPACES, list, sizeof(list), 1, "workspace (--workspace WS)") < 0)
		return -1;
	if (host_parse_workspaces(list, ws, n, why, sizeof(why)) < 0) {
		req_fail(r, SVCA_ERR_BADREQ, "%s", why);
		return -1;
	}
	for (size_t i = 0; i < *n; i++) {
		struct workspace w;
		int g = workspace_get(r->d->store, ws[i], &w);
		if (g < 0) {
			req_fail(r, SVCA_ERR_FAILED, "internal storage error");
			return -1;
		}
		if (g == 0) {
			req_fail(r, SVCA_ERR_NOTFOUND,
				 "workspace '%s' does not exist (workspace create %s --team TEAM)",
				 ws[i], ws[i]);
			return -1;
		}
	}
	return 0;
}

/* F_HOST_ID names an enrolled host: 1 (h filled), else replied. */
static int load_host(struct request *r, char id[HOST_ID_MAX + 2], struct host *h)
{
	if (req_str(r, F_HOST_ID, id, HOST_ID_MAX + 2, 1, "host") < 0)
		return -1;
	if (!config_host_id_ok(id)) {
		req_fail(r, SVCA_ERR_BADREQ,
			 "invalid host '%.64s': 1 to 64 letters, digits, '.', '_' or '-'", id);
		return -1;
	}
	int g = host_get(r->d->store, id, h);
	if (g < 0)
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
	else if (g == 0)
		req_fail(r, SVCA_ERR_NOTFOUND, "no host '%s' is enrolled", id);
	return g == 1 ? 1 : -1;
}

/* Appends the event for host h and commits; replies with the host. */
static void finish_host(struct request *r, const struct host *h, const char *event)
{
	char ws[HOST_MAX_WORKSPACES * (SVCA_SCOPE_NAME_MAX + 1) + 8], detail[sizeof(ws) + 120];
	workspaces_text(h->workspaces, h->nws, ws, sizeof(ws));
	snprintf(detail, sizeof(detail), "host=%.64s workspaces=%s status=%s", h->host_id, ws,
		 host_status_name(h->status));
	struct audit_event ev;
	req_event(&ev, r, event, "success");
	ev.detail = detail;
	if (req_finish(r, &ev) < 0)
		return;
	req_ok(r);
	host_reply(r, h);
	svca_frame_end(r->reply);
}

/* ---- hub: enrollment tokens and hosts ----------------------------------------- */

void cmd_host_token_create(struct request *r)
{
	struct enroll_token t;
	char tok[SVCA_KEY_LEN + 1], ws[sizeof(t.workspaces) + 16], detail[sizeof(ws) + 64];
	uint64_t ttl = ENROLL_TTL_DEFAULT;
	memset(&t, 0, sizeof(t));
	const struct svca_field *f = req_field(r, F_TTL);
	if (f && (svca_field_u64(f, &ttl) < 0 || ttl < 1 || ttl > ENROLL_TTL_MAX)) {
		req_fail(r, SVCA_ERR_BADREQ, "--ttl must be 1 to %d seconds", ENROLL_TTL_MAX);
		return;
	}
	if (read_workspaces(r, t.workspaces, &t.nws) < 0)
		return;
	req_txn_begin(r);
	size_t live, purged;
	if (enroll_gc(r->d->store, svca_wall_ms(), &live, &purged) < 0) {
		req_storage_error(r);
		return;
	}
	if (live >= ENROLL_MAX_LIVE) {
		req_txn_abort(r);
		req_audit_refusal(r, "host.token_create", "failure", NULL, "too_many_tokens");
		req_fail(r, SVCA_ERR_FAILED,
			 "too many unused enrollment tokens (%zu, at most %d): use them or let "
			 "them expire first; nothing was made",
			 live, ENROLL_MAX_LIVE);
		return;
	}
	req_stamp(r, &t.created_at, t.created_by, sizeof(t.created_by));
	t.expires_at = (uint64_t)svca_wall_ms() + ttl * 1000;
	host_secret_new(r->d->secrets->pepper, SVCA_ENROLL_PREFIX, tok, t.id, t.hash);
	if (enroll_put(r->d->store, &t) < 0) {
		sodium_memzero(tok, sizeof(tok));
		req_storage_error(r);
		return;
	}
	workspaces_text((ws_list)t.workspaces, t.nws, ws, sizeof(ws));
	snprintf(detail, sizeof(detail), "workspaces=%s ttl=%" PRIu64 " purged=%zu", ws, ttl,
		 purged);
	struct audit_event ev;
	req_event(&ev, r, "host.token_create", "success");
	ev.key_id = t.id;
	ev.detail = detail;
	if (req_finish(r, &ev) < 0) {
		sodium_memzero(tok, sizeof(tok));
		return;
	}
	req_ok(r);
	svca_put_bytes(r->reply, F_TOKEN, tok, strlen(tok));
	svca_put_str(r->reply, F_KEY_ID, t.id);
	svca_put_u64(r->reply, F_EXPIRES_AT, t.expires_at);
	for (size_t i = 0; i < t.nws; i++)
		svca_put_str(r->reply, F_WORKSPACES, t.workspaces[i]);
	svca_frame_end(r->reply);
	sodium_memzero(tok, sizeof(tok));
}

void cmd_host_list(struct request *r)
{
	struct host *hs;
	size_t n;
	if (host_all(r->d->store, &hs, &n) < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	host_lag_fill(r->d->store, hs, n); /* unknown (null) when it cannot say */
	req_ok(r);
	for (size_t i = 0; i < n; i++) {
		svca_put_mark(r->reply, F_ITEM);
		host_reply(r, &hs[i]);
	}
	free(hs);
	svca_frame_end(r->reply);
}

void cmd_host_show(struct request *r)
{
	char id[HOST_ID_MAX + 2];
	struct host h;
	if (load_host(r, id, &h) < 0)
		return;
	host_lag_fill(r->d->store, &h, 1);
	req_ok(r);
	host_reply(r, &h);
	svca_frame_end(r->reply);
}

void cmd_host_update(struct request *r)
{
	char id[HOST_ID_MAX + 2];
	struct host h;
	if (load_host(r, id, &h) < 0 || read_workspaces(r, h.workspaces, &h.nws) < 0)
		return;
	req_txn_begin(r);
	if (host_put(r->d->store, &h) < 0) {
		req_storage_error(r);
		return;
	}
	finish_host(r, &h, "host.update");
}

void cmd_host_disable(struct request *r)
{
	char id[HOST_ID_MAX + 2];
	struct host h;
	if (load_host(r, id, &h) < 0)
		return;
	req_txn_begin(r);
	h.status = HOST_DISABLED;
	if (host_put(r->d->store, &h) < 0) {
		req_storage_error(r);
		return;
	}
	finish_host(r, &h, "host.disable");
}

void cmd_host_remove(struct request *r)
{
	char id[HOST_ID_MAX + 2];
	struct host h;
	if (load_host(r, id, &h) < 0)
		return;
	req_txn_begin(r);
	if (host_del(r->d->store, &h) < 0) {
		req_storage_error(r);
		return;
	}
	finish_host(r, &h, "host.remove");
}

/* ---- hub: an agent enrolls (POST /v1/agent/enroll) --------------------------- */

static void register_refused(struct request *r, const char *host_id, const char *reason,
			     const char *msg, int retry_after)
{
	(void)host_id;
	req_audit_refusal(r, "host.enroll", "denied", NULL, reason);
	svca_frame_begin(r->reply, SVCA_ERR_FAILED);
	svca_put_str(r->reply, F_REASON, reason);
	svca_put_str(r->reply, F_MESSAGE, msg);
	if (retry_after > 0)
		svca_put_u64(r->reply, F_RETRY_AFTER, (uint64_t)retry_after);
	svca_frame_end(r->reply);
}

/* Every attempt counts against the caller's budget, as a token exchange
 * does: guessing tokens from one address is slow. */
static int register_rate_limited(struct request *r)
{
	char key[RL_KEY_MAX], who[200];
	uint8_t h[8];
	char hex[17];
	snprintf(who, sizeof(who), "%s|%u", r->peer->caller[0] ? r->peer->caller : r->peer->addr,
		 (unsigned)r->peer->uid);
	crypto_generichash(h, sizeof(h), (const uint8_t *)who, strlen(who), NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(key, sizeof(key), "e:%s", hex);
	return rl_hit(r->d->rl_uid, key, svca_now_ms(), r->d->cfg.rate_limit_count,
		      (int64_t)r->d->cfg.rate_limit_window * 1000);
}

static const char *enroll_message(enum enroll_result e)
{
	switch (e) {
	case ENROLL_USED: return "the enrollment token was already used (tokens are one-time)";
	case ENROLL_EXPIRED:
		return "the enrollment token has expired (host token create makes a new one)";
	case ENROLL_ERROR: return "internal storage error";
	default: return "unknown enrollment token";
	}
}

/* The new host, or a disabled one enrolled again (new credential). */
static int record_host(struct request *r, const struct host *old, struct host *h,
		       const struct enroll_token *t, char cred[SVCA_KEY_LEN + 1])
{
	if (old && host_del(r->d->store, old) < 0)
		return -1;
	memcpy(h->workspaces, t->workspaces, sizeof(h->workspaces));
	h->nws = t->nws;
	h->status = HOST_ACTIVE;
	req_stamp(r, &h->created_at, h->created_by, sizeof(h->created_by));
	h->last_seen = h->created_at;
	host_secret_new(r->d->secrets->pepper, SVCA_HOSTCRED_PREFIX, cred, h->cred_id,
			h->cred_hash);
	return host_put(r->d->store, h);
}

void cmd_host_register(struct request *r)
{
	char tok[SVCA_KEY_LEN + 2], id[HOST_ID_MAX + 2], cred[SVCA_KEY_LEN + 1] = "";
	struct enroll_token t;
	struct host h, old;
	int wait;
	if (req_str(r, F_HOST_ID, id, sizeof(id), 1, "host_id") < 0)
		return;
	if (!config_host_id_ok(id)) {
		req_fail(r, SVCA_ERR_BADREQ,
			 "invalid host_id: 1 to 64 letters, digits, '.', '_' or '-'");
		return;
	}
	if ((wait = register_rate_limited(r)) > 0) {
		register_refused(r, id, "rate_limited", "too many enrollment attempts; retry later",
				 wait);
		return;
	}
	if (req_secret(r, F_TOKEN, tok, sizeof(tok)) < 0)
		tok[0] = '\0';
	enum enroll_result e = enroll_check(r->d->store, r->d->secrets->pepper, tok, strlen(tok),
					    (uint64_t)svca_wall_ms(), &t);
	sodium_memzero(tok, sizeof(tok));
	if (e != ENROLL_OK) {
		register_refused(r, id, enroll_reason(e), enroll_message(e), 0);
		return;
	}
	int g = host_get(r->d->store, id, &old);
	if (g < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	if (g == 1 && old.status == HOST_ACTIVE) {
		char msg[300];
		snprintf(msg, sizeof(msg),
			 "host '%.64s' is already enrolled and active (host remove %.64s first, or "
			 "use another host_id)",
			 id, id);
		register_refused(r, id, "host_exists", msg, 0);
		return;
	}
	memset(&h, 0, sizeof(h));
	snprintf(h.host_id, sizeof(h.host_id), "%.64s", id);
	req_txn_begin(r);
	t.used = 1;
	t.used_at = (uint64_t)svca_wall_ms();
	snprintf(t.host_id, sizeof(t.host_id), "%.64s", id);
	if (record_host(r, g == 1 ? &old : NULL, &h, &t, cred) < 0 ||
	    enroll_put(r->d->store, &t) < 0) {
		sodium_memzero(cred, sizeof(cred));
		req_storage_error(r);
		return;
	}
	char ws[sizeof(t.workspaces) + 16], detail[sizeof(ws) + 96];
	workspaces_text((ws_list)t.workspaces, t.nws, ws, sizeof(ws));
	snprintf(detail, sizeof(detail), "host=%s workspaces=%s", id, ws);
	struct audit_event ev;
	req_event(&ev, r, "host.enroll", "success");
	ev.key_id = t.id;
	ev.detail = detail;
	if (req_finish(r, &ev) < 0) {
		sodium_memzero(cred, sizeof(cred));
		return;
	}
	req_ok(r);
	svca_put_str(r->reply, F_HOST_ID, id);
	for (size_t i = 0; i < t.nws; i++)
		svca_put_str(r->reply, F_WORKSPACES, t.workspaces[i]);
	svca_put_bytes(r->reply, F_CREDENTIAL, cred, strlen(cred));
	svca_frame_end(r->reply);
	sodium_memzero(cred, sizeof(cred));
}

/* ---- agent: host enroll ---------------------------------------------------------- */

struct enroll_job {
	struct req_job job;
	struct agent_enroll e;
};

static void enroll_work(struct req_job *j)
{
	agent_enroll_run(&((struct enroll_job *)j)->e);
}

static void enroll_release(struct req_job *j)
{
	sodium_memzero(j, sizeof(struct enroll_job));
	free(j);
}

static void enroll_finish(struct req_job *j, struct request *r)
{
	struct agent_enroll *e = &((struct enroll_job *)j)->e;
	char err[300], ws[sizeof(e->self.workspaces) + 16], detail[sizeof(ws) + 400];
	if (e->status != SVCA_OK) {
		req_audit_refusal(r, "host.enroll", "failure", NULL,
				  e->status == SVCA_ERR_UNAVAIL ? "unreachable" : "refused");
		req_fail(r, (enum svca_status)e->status, "%s", e->message);
		return;
	}
	if (agent_snapkey_save(r->d->cfg.state_dir, e->snapshot_key, err, sizeof(err)) < 0 ||
	    agent_cred_save(r->d->cfg.state_dir, e->cred, err, sizeof(err)) < 0) {
		req_fail(r, SVCA_ERR_FAILED,
			 "enrolled as %s, but %s; enroll again with a new token", e->self.host_id,
			 err);
		return;
	}
	req_txn_begin(r);
	e->self.enrolled_at = (uint64_t)svca_wall_ms();
	if (agent_self_put(r->d->store, &e->self) < 0) {
		req_storage_error(r);
		return;
	}
	workspaces_text((ws_list)e->self.workspaces, e->self.nws, ws, sizeof(ws));
	snprintf(detail, sizeof(detail), "host=%s workspaces=%s hub=%s", e->self.host_id, ws,
		 e->self.hub);
	struct audit_event ev;
	req_event(&ev, r, "host.enroll", "success");
	ev.detail = detail;
	if (req_finish(r, &ev) < 0)
		return;
	req_ok(r);
	svca_put_str(r->reply, F_HOST_ID, e->self.host_id);
	for (size_t i = 0; i < e->self.nws; i++)
		svca_put_str(r->reply, F_WORKSPACES, e->self.workspaces[i]);
	svca_put_str(r->reply, F_URL, e->self.hub);
	svca_frame_end(r->reply);
	if (r->d->ops->agent_enrolled)
		r->d->ops->agent_enrolled(r->d); /* follow the hubs from now on */
}

void cmd_host_enroll(struct request *r)
{
	char tok[SVCA_KEY_LEN + 2], id[HOST_ID_MAX + 2];
	if (req_secret(r, F_TOKEN, tok, sizeof(tok)) < 0 ||
	    svca_key_parse_as(SVCA_ENROLL_PREFIX, tok, strlen(tok), NULL, NULL) != SVCA_KEY_OK) {
		sodium_memzero(tok, sizeof(tok));
		req_fail(r, SVCA_ERR_BADREQ,
			 "not an enrollment token (svce_..., 67 characters; host token create "
			 "on a hub prints one)");
		return;
	}
	int g = req_str(r, F_HOST_ID, id, sizeof(id), 0, "host_id");
	if (g < 0 || (g == 1 && !config_host_id_ok(id))) {
		sodium_memzero(tok, sizeof(tok));
		if (g == 1)
			req_fail(r, SVCA_ERR_BADREQ,
				 "invalid host_id: 1 to 64 letters, digits, '.', '_' or '-'");
		return;
	}
	struct enroll_job *j = calloc(1, sizeof(*j));
	if (!j) {
		sodium_memzero(tok, sizeof(tok));
		req_fail(r, SVCA_ERR_FAILED, "out of memory");
		return;
	}
	j->job = (struct req_job){ .work = enroll_work,
				   .finish = enroll_finish,
				   .release = enroll_release };
	agent_hubs_copy(&r->d->cfg, &j->e.hubs);
	memcpy(j->e.token, tok, SVCA_KEY_LEN + 1);
	sodium_memzero(tok, sizeof(tok));
	if (g == 1)
		snprintf(j->e.host_id, sizeof(j->e.host_id), "%.64s", id);
	else
		agent_host_id(&r->d->cfg, j->e.host_id);
	req_defer(r, &j->job);
}

/* ---- fleet status ------------------------------------------------------------------ */

struct probe_job {
	struct req_job job;
	struct agent_probe p;
	char host_id[HOST_ID_MAX + 1];
};

static void probe_work(struct req_job *j)
{
	agent_probe_run(&((struct probe_job *)j)->p);
}

static void probe_release(struct req_job *j)
{
	sodium_memzero(j, sizeof(struct probe_job));
	free(j);
}

/* The fields every mode has; an agent's come from its applied snapshot
 * (age_s is absent when it never synced). */
static void status_head(struct request *r, enum svca_mode m, const char *host_id)
{
	req_ok(r);
	svca_put_str(r->reply, F_MODE, config_mode_name(m));
	svca_put_str(r->reply, F_HOST_ID, host_id);
	svca_put_u64(r->reply, F_SNAPSHOT_SEQ, m == MODE_AGENT ? r->d->sync_seq : 0);
	int64_t age = m == MODE_AGENT ? agent_age_s(r->d) : -1;
	if (age >= 0)
		svca_put_u64(r->reply, F_AGE_S, (uint64_t)age);
	svca_put_u64(r->reply, F_STALE, m == MODE_AGENT ? (uint64_t)agent_stale(r->d) : 0);
	/* The organization settings in force (an agent's come from the hubs). */
	char *settings = org_settings_json(&r->d->cfg);
	if (settings)
		svca_put_str(r->reply, F_SETTINGS, settings);
	free(settings);
	if (m == MODE_AGENT && r->d->afwd) { /* forwarding the audit trail */
		uint64_t head = audit_durable_head(r->d->audit);
		svca_put_u64(r->reply, F_AUDIT_PENDING,
			     head > r->d->afwd_cursor ? head - r->d->afwd_cursor : 0);
		if (r->d->afwd_ok_wall > 0)
			svca_put_u64(r->reply, F_AUDIT_FORWARDED_AT, (uint64_t)r->d->afwd_ok_wall);
	}
}

static void probe_finish(struct req_job *j, struct request *r)
{
	struct probe_job *pj = (struct probe_job *)j;
	status_head(r, MODE_AGENT, pj->host_id);
	svca_put_str(r->reply, F_HOST_STATUS, pj->p.host_status);
	/* Reachability as the sync thread last saw it, where it asked. */
	struct agent_sync_view v;
	memset(&v, 0, sizeof(v));
	if (r->d->sync)
		agent_sync_view(r->d->sync, &v);
	for (size_t i = 0; i < pj->p.hubs.n; i++) {
		int up = v.tried[i] ? v.reachable[i] : pj->p.reachable[i];
		svca_put_mark(r->reply, F_ITEM);
		svca_put_str(r->reply, F_URL, pj->p.hubs.url[i]);
		svca_put_u64(r->reply, F_REACHABLE, up ? 1 : 0);
	}
	svca_frame_end(r->reply);
}

void cmd_fleet_status(struct request *r)
{
	char id[HOST_ID_MAX + 1];
	enum svca_mode m = config_mode(&r->d->cfg);
	agent_host_id(&r->d->cfg, id);
	if (m != MODE_AGENT) {
		status_head(r, m, id);
		svca_frame_end(r->reply);
		return;
	}
	struct probe_job *j = calloc(1, sizeof(*j));
	if (!j) {
		req_fail(r, SVCA_ERR_FAILED, "out of memory");
		return;
	}
	j->job = (struct req_job){ .work = probe_work,
				   .finish = probe_finish,
				   .release = probe_release };
	struct agent_self self;
	if (agent_self_get(r->d->store, &self) == 1) {
		snprintf(j->host_id, sizeof(j->host_id), "%s", self.host_id);
		if (agent_cred_load(r->d->cfg.state_dir, j->p.cred) < 0)
			j->p.cred[0] = '\0';
	} else {
		snprintf(j->host_id, sizeof(j->host_id), "%s", id);
	}
	agent_hubs_copy(&r->d->cfg, &j->p.hubs);
	req_defer(r, &j->job);
}
