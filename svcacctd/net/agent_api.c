/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A hub's endpoints for its agents, on the HTTPS API (https_listen):
 *
 *   POST /v1/agent/enroll   {"token": "svce_...", "host_id": "web1"}
 *                           -> 200 {"host_id", "workspaces", "credential"}
 *                           401 unknown, used or expired token; 409 the
 *                           host is enrolled and active; 429 rate limited
 *                           (the answer also has "snapshot_key": the
 *                           base64url Ed25519 public key the agent pins)
 *   GET  /v1/agent/whoami   Authorization: Bearer <host credential>
 *                           -> 200 the host's record; 401 unknown
 *                           credential (removed host); 403 disabled host
 *   GET  /v1/agent/snapshot -> 200 {"payload","sig","kid"}: the host's slice
 *                           (model/snapshot.h, docs/agent-protocol.md)
 *   GET  /v1/agent/changes?since=SEQ -> 200 {"seq": N}: a long poll
 *   GET  /v1/agent/delta?since=SEQ -> 200 {"payload","sig","kid"}: what
 *                           changed in the slice since SEQ (model/host_delta.h);
 *                           409 a full snapshot is needed
 *
 * Enrollment runs the native command host.register through the same
 * table as every other request (audit, the durable path, the per-address
 * rate limit).  Every later agent request authenticates with
 * agent_api_auth() (agent_auth.c), the one check of a host credential.
 */
#include "http_front.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hosts.h"
#include "log.h"
#include "secrets.h"
#include "host_delta.h"
#include "host_snapshot.h"
#include "snapcache.h"
#include "sockio.h"

/* ---- GET /v1/agent/whoami --------------------------------------------------------- */

static json_t *host_json(const struct host *h)
{
	json_t *o = json_object(), *ws = json_array();
	for (size_t i = 0; ws && i < h->nws; i++)
		json_array_append_new(ws, json_string(h->workspaces[i]));
	json_object_set_new(o, "host_id", json_string(h->host_id));
	json_object_set_new(o, "workspaces", ws ? ws : json_null());
	json_object_set_new(o, "status", json_string(host_status_name(h->status)));
	json_object_set_new(o, "last_seen", json_integer((json_int_t)h->last_seen));
	json_object_set_new(o, "snapshot_seq", json_integer((json_int_t)h->snapshot_seq));
	json_object_set_new(o, "lag_s",
			    h->has_lag ? json_integer((json_int_t)h->lag_s) : json_null());
	return o;
}

/* jansson does not wipe what it frees: a secret member is wiped in place
 * first. */
static void wipe_member(json_t *o, const char *name)
{
	const char *v = json_string_value(json_object_get(o, name));
	if (v)
		sodium_memzero((char *)(uintptr_t)v, strlen(v));
}

/* o as the answer; secret (may be NULL) names a member to wipe. */
static enum MHD_Result json_answer(struct MHD_Connection *c, unsigned status, json_t *o,
				   const char *secret)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (secret)
		wipe_member(o, secret);
	json_decref(o);
	if (!s)
		return http_problem(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error",
				    "out of memory", NULL);
	enum MHD_Result r = http_respond(c, status, "application/json", s, NULL);
	sodium_memzero(s, strlen(s)); /* the enrollment's answer holds the credential */
	free(s);
	return r;
}

enum MHD_Result agent_api_whoami(struct http_front *hf, struct MHD_Connection *c,
				 const char *method)
{
	struct host h;
	enum MHD_Result ret;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		static const char *const allow[] = { "Allow", "GET, HEAD", NULL };
		return http_problem(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed", "use GET",
				    allow);
	}
	if (!agent_api_auth(hf, c, method, &h, &ret))
		return ret;
	return json_answer(c, MHD_HTTP_OK, host_json(&h), NULL);
}

/* ---- POST /v1/agent/enroll ---------------------------------------------------------- */

/* The body into a host.register frame.  NULL, or the problem's detail. */
static const char *enroll_request(struct req_state *rs, struct svca_buf *req)
{
	json_error_t jerr;
	json_t *body = json_loadb(rs->body, rs->len, JSON_REJECT_DUPLICATES, &jerr);
	sodium_memzero(rs->body, sizeof(rs->body));
	const char *tok = json_string_value(json_object_get(body, "token"));
	const char *id = json_string_value(json_object_get(body, "host_id"));
	const char *bad = NULL;
	if (!json_is_object(body) || json_object_size(body) != 2 || !tok || !id)
		bad = "send a JSON object {\"token\": \"svce_...\", \"host_id\": \"HOST\"}";
	else if (strlen(tok) > SVCA_KEY_LEN + 8 || strlen(id) > HOST_ID_MAX + 8)
		bad = "token or host_id is too long";
	if (!bad) {
		svca_frame_begin(req, SVCA_CMD_HOST_REGISTER);
		svca_put_bytes(req, F_TOKEN, tok, strlen(tok));
		svca_put_str(req, F_HOST_ID, id);
		if (svca_frame_end(req) < 0 ||
		    svca_body_validate(req->data + SVCA_HDR_LEN, req->len - SVCA_HDR_LEN,
				       SVCA_MAX_REQUEST_FIELDS) < 0)
			bad = "invalid token or host_id (control characters?)";
	}
	wipe_member(body, "token");
	json_decref(body);
	return bad;
}

static const char *fstr(const struct svca_field *fs, size_t n, uint16_t tag, char *buf, size_t len)
{
	const struct svca_field *f = svca_fields_find(fs, n, tag);
	if (!f || f->len >= len) {
		buf[0] = '\0';
		return buf;
	}
	memcpy(buf, f->val, f->len);
	buf[f->len] = '\0';
	return buf;
}

/* The host.register reply frame as the endpoint's answer. */
static enum MHD_Result enroll_reply(struct MHD_Connection *c, const struct svca_buf *out,
				    const struct secrets *secrets)
{
	struct svca_header hd;
	struct svca_field fs[HOST_MAX_WORKSPACES + 16];
	char msg[512], reason[32], id[HOST_ID_MAX + 1], cred[SVCA_KEY_LEN + 1], ra[24];
	svca_header_parse(out->data, &hd);
	int n = svca_fields_collect(out->data + SVCA_HDR_LEN, out->len - SVCA_HDR_LEN, fs,
				    sizeof(fs) / sizeof(fs[0]));
	if (n < 0)
		return http_problem(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error",
				    "the reply could not be read", NULL);
	size_t nf = (size_t)n;
	fstr(fs, nf, F_MESSAGE, msg, sizeof(msg));
	if (hd.type != SVCA_OK) {
		fstr(fs, nf, F_REASON, reason, sizeof(reason));
		uint64_t retry = 0;
		svca_field_u64(svca_fields_find(fs, nf, F_RETRY_AFTER), &retry);
		snprintf(ra, sizeof(ra), "%llu", (unsigned long long)(retry ? retry : 1));
		const char *const retry_hdr[] = { "Retry-After", ra, NULL };
		if (!strcmp(reason, "rate_limited"))
			return http_problem(c, MHD_HTTP_TOO_MANY_REQUESTS, "Too Many Requests", msg,
					    retry_hdr);
		if (!strncmp(reason, "token_", 6))
			return http_problem(c, MHD_HTTP_UNAUTHORIZED, "Unauthorized", msg, NULL);
		if (!strcmp(reason, "host_exists"))
			return http_problem(c, MHD_HTTP_CONFLICT, "Conflict", msg, NULL);
		if (hd.type == SVCA_ERR_BADREQ)
			return http_problem(c, MHD_HTTP_BAD_REQUEST, "Bad Request", msg, NULL);
		if (hd.type == SVCA_ERR_UNAVAIL)
			return http_problem(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Service Unavailable",
					    msg, NULL);
		return http_problem(c, MHD_HTTP_UNPROCESSABLE_CONTENT, "Unprocessable Content", msg,
				    NULL);
	}
	json_t *o = json_object(), *ws = json_array();
	for (size_t i = 0; ws && i < nf; i++)
		if (fs[i].tag == F_WORKSPACES)
			json_array_append_new(ws, json_stringn((const char *)fs[i].val, fs[i].len));
	const struct svca_field *cf = svca_fields_find(fs, nf, F_CREDENTIAL);
	if (cf && cf->len == SVCA_KEY_LEN)
		memcpy(cred, cf->val, SVCA_KEY_LEN);
	cred[cf && cf->len == SVCA_KEY_LEN ? SVCA_KEY_LEN : 0] = '\0';
	json_object_set_new(o, "host_id", json_string(fstr(fs, nf, F_HOST_ID, id, sizeof(id))));
	json_object_set_new(o, "workspaces", ws ? ws : json_null());
	json_object_set_new(o, "credential", json_string(cred));
	sodium_memzero(cred, sizeof(cred));
	char pk[sodium_base64_ENCODED_LEN(crypto_sign_PUBLICKEYBYTES,
					  sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	sodium_bin2base64(pk, sizeof(pk), secrets->snap_pk, sizeof(secrets->snap_pk),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	json_object_set_new(o, "snapshot_key", json_string(pk));
	return json_answer(c, MHD_HTTP_OK, o, "credential");
}

enum MHD_Result agent_api_enroll(struct http_front *hf, struct MHD_Connection *c,
				 const char *method, struct req_state *rs)
{
	struct svca_buf req, out;
	struct svca_field in[8];
	enum MHD_Result ret;
	if (strcmp(method, "POST")) {
		static const char *const allow[] = { "Allow", "POST", NULL };
		return http_problem(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed",
				    "use POST", allow);
	}
	if (rs->too_large)
		return http_problem(c, MHD_HTTP_CONTENT_TOO_LARGE, "Content Too Large",
				    "the request body is too large", NULL);
	svca_buf_init(&req, SVCA_MAX_UNAUTH_REQUEST);
	svca_buf_init(&out, 0);
	const char *bad = enroll_request(rs, &req);
	if (bad) {
		ret = http_problem(c, MHD_HTTP_BAD_REQUEST, "Bad Request", bad, NULL);
		goto out;
	}
	int n = svca_fields_collect(req.data + SVCA_HDR_LEN, req.len - SVCA_HDR_LEN, in, 8);
	if (n < 0 || http_dispatch(hf, c, SVCA_CMD_HOST_REGISTER, in, (size_t)n, &out, NULL) < 0) {
		ret = http_problem(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error",
				   "the request could not be completed", NULL);
		goto out;
	}
	ret = enroll_reply(c, &out, http_front_daemon(hf)->secrets);
out:
	svca_buf_free(&req);
	svca_buf_free(&out);
	return ret;
}

/* ---- GET /v1/agent/snapshot ----------------------------------------------------- */

static enum MHD_Result get_only(struct MHD_Connection *c)
{
	static const char *const allow[] = { "Allow", "GET", NULL };
	return http_problem(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed", "use GET", allow);
}

/* A signed payload as the answer (snapshot or delta: the same envelope). */
static enum MHD_Result signed_answer(struct http_front *hf, struct MHD_Connection *c, char *payload,
				     size_t len)
{
	struct daemon *d = http_front_daemon(hf);
	char *env = snapshot_envelope(d->secrets, payload, len);
	free(payload);
	if (!env)
		return http_problem(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error",
				    "the snapshot could not be signed", NULL);
	enum MHD_Result ret = http_respond(c, MHD_HTTP_OK, "application/json", env, NULL);
	free(env);
	return ret;
}

/* The hub's cache of slices (model/snapcache.h), made on first use; NULL
 * (out of memory): every fetch builds its own. */
static struct snapcache *slices(struct http_front *hf)
{
	if (!hf->snapcache)
		hf->snapcache = snapcache_new(SNAPCACHE_MAX_ENTRIES, SNAPCACHE_MAX_BYTES);
	return hf->snapcache;
}

static uint64_t slice_hits(const struct http_front *hf)
{
	struct snapcache_stats st;
	snapcache_stats(hf->snapcache, &st);
	return st.hits;
}

/* ---- fetches served without the lock: their hsync/ records, in batches ---------- */

#define FETCH_BATCH_MS 200  /* a fetch's time is written this late at most */
#define FETCH_BATCH_MAX 512 /* or when this many wait */

struct fetch_log {
	struct {
		char host_id[HOST_ID_MAX + 1];
		uint64_t at_ms, seq;
	} v[FETCH_BATCH_MAX];
	size_t n;
	int64_t due; /* monotonic ms */
};

/* One transaction for every waiting fetch record (a host removed since
 * gets none: no orphan hsync/; one fetched later meanwhile keeps that). */
static void write_fetches(struct http_front *hf)
{
	struct daemon *d = http_front_daemon(hf);
	struct fetch_log *l = hf->fetch_log;
	store_write_intent(d->store);
	store_begin(d->store);
	int ok = 1;
	for (size_t i = 0; ok && i < l->n; i++) {
		struct host h;
		int g = host_get(d->store, l->v[i].host_id, &h);
		/* a newer fetch (locked path, another hub) may be recorded already */
		ok = g >= 0 &&
		     (g == 0 || h.last_seen >= l->v[i].at_ms ||
		      host_sync_put(d->store, l->v[i].host_id, l->v[i].at_ms, l->v[i].seq) == 0);
	}
	if (!ok || store_commit(d->store) < 0)
		store_abort(d->store); /* only the fetch times are lost */
	if (d->ops->flush(d) < 0)
		log_warn("agents' fetch times not written: the organization database is "
			 "unreachable");
	l->n = 0;
}

int agent_api_fetches(struct http_front *hf, int now)
{
	struct fetch_log *l = hf->fetch_log;
	if (!l || !l->n)
		return -1;
	int64_t t = svca_now_ms();
	if (!now && t < l->due)
		return (int)(l->due - t);
	write_fetches(hf);
	return -1;
}

void agent_api_fetches_free(struct http_front *hf)
{
	agent_api_fetches(hf, 1);
	free(hf->fetch_log);
	hf->fetch_log = NULL;
}

/* Records h's fetch at seq (hsync/) within FETCH_BATCH_MS. */
static void fetch_later(struct http_front *hf, const struct host *h, int64_t at_ms, uint64_t seq)
{
	if (!hf->fetch_log && !(hf->fetch_log = calloc(1, sizeof(*hf->fetch_log))))
		return; /* only the fetch time is lost */
	struct fetch_log *l = hf->fetch_log;
	size_t i = 0;
	while (i < l->n && strcmp(l->v[i].host_id, h->host_id))
		i++;
	if (i == l->n) {
		if (!l->n)
			l->due = svca_now_ms() + FETCH_BATCH_MS;
		snprintf(l->v[i].host_id, sizeof(l->v[i].host_id), "%s", h->host_id);
		l->n++;
	}
	l->v[i].at_ms = (uint64_t)at_ms;
	l->v[i].seq = seq;
	if (l->n == FETCH_BATCH_MAX)
		write_fetches(hf);
}

/* The seq this hub knows (its own commits, the others' notifications),
 * when a cached slice may be served at it without the lock: a shared
 * store, no transaction open.  0: take the lock. */
static uint64_t known_seq(struct http_front *hf)
{
	struct daemon *d = http_front_daemon(hf);
	return hf->snapcache && store_shared(d->store) ? store_change_seq(d->store) : 0;
}

/* Under the write intent (the organization's lock: the reads are exact
 * and seq is what they reflect), the fetch recorded in the same
 * transaction, which then ends (a flush: the lock is held no longer).
 * The slice is built once per workspace set and seq (snapcache.h): the
 * lock makes seq exact, so a cached slice is served only at the seq it
 * reflects. */
enum MHD_Result agent_api_snapshot(struct http_front *hf, struct MHD_Connection *c,
				   const char *method)
{
	struct daemon *d = http_front_daemon(hf);
	struct host h;
	enum MHD_Result ret;
	char err[160];
	if (strcmp(method, "GET"))
		return get_only(c);
	if (!agent_api_auth(hf, c, method, &h, &ret))
		return ret;
	if (!d->secrets->snap_sk)
		return http_problem(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Service Unavailable",
				    "this hub has no snapshot key", NULL);
	char *payload = NULL;
	size_t len = 0;
	uint64_t seq = 0;
	int64_t now = svca_wall_ms();
	seq = known_seq(hf);
	/* not older than what the host was last handed (its hsync/) */
	if (seq && seq >= h.snapshot_seq &&
	    snapshot_from_cache(hf->snapcache, &h, seq, now, &payload, &len) == 0) {
		fetch_later(hf, &h, now, seq);
		log_msg(LOG_DEBUG,
			"snapshot for host %s: seq %llu, %zu bytes, slice cached (no lock)",
			h.host_id, (unsigned long long)seq, len);
		return signed_answer(hf, c, payload, len);
	}
	uint64_t hits = slice_hits(hf);
	store_write_intent(d->store);
	int ok = snapshot_build_cached(slices(hf), d, &h, now, &payload, &len, &seq, err,
				       sizeof(err)) == 0;
	if (ok) {
		store_begin(d->store);
		if (host_sync_put(d->store, h.host_id, (uint64_t)now, seq) < 0 ||
		    store_commit(d->store) < 0)
			store_abort(d->store); /* only the fetch time is lost */
	}
	if (d->ops->flush(d) < 0 && ok) {
		ok = 0;
		snprintf(err, sizeof(err), "the organization database is unreachable");
	}
	if (!ok) {
		free(payload);
		log_warn("snapshot for host %s: %s", h.host_id, err);
		return http_problem(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Service Unavailable", err,
				    NULL);
	}
	log_msg(LOG_DEBUG, "snapshot for host %s: seq %llu, %zu bytes, slice %s", h.host_id,
		(unsigned long long)seq, len, slice_hits(hf) > hits ? "cached" : "built");
	return signed_answer(hf, c, payload, len);
}

/* ---- GET /v1/agent/changes?since=SEQ ------------------------------------------- */

static enum MHD_Result seq_answer(struct MHD_Connection *c, uint64_t seq)
{
	char body[48];
	snprintf(body, sizeof(body), "{\"seq\":%llu}", (unsigned long long)seq);
	return http_respond(c, MHD_HTTP_OK, "application/json", body, NULL);
}

static int parse_since(struct MHD_Connection *c, uint64_t *since)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since");
	char *end;
	if (!v || !*v || strlen(v) > 20 || *v < '0' || *v > '9')
		return -1;
	unsigned long long x = strtoull(v, &end, 10);
	if (*end)
		return -1;
	*since = x;
	return 0;
}

/* ---- GET /v1/agent/delta?since=SEQ ---------------------------------------------- */

/* Like the snapshot: built under the write intent, the fetch recorded,
 * the transaction ended.  409 (not an error: the agent then fetches the
 * full snapshot) when a delta cannot say what changed. */
enum MHD_Result agent_api_delta(struct http_front *hf, struct MHD_Connection *c, const char *method)
{
	struct daemon *d = http_front_daemon(hf);
	struct host h;
	enum MHD_Result ret;
	char err[160];
	uint64_t since = 0, seq = 0;
	if (strcmp(method, "GET"))
		return get_only(c);
	if (!agent_api_auth(hf, c, method, &h, &ret))
		return ret;
	if (parse_since(c, &since) < 0)
		return http_problem(c, MHD_HTTP_BAD_REQUEST, "Bad Request",
				    "since must be a decimal sequence number", NULL);
	if (!d->secrets->snap_sk)
		return http_problem(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Service Unavailable",
				    "this hub has no snapshot key", NULL);
	char *payload = NULL;
	size_t len = 0;
	int64_t now = svca_wall_ms();
	seq = known_seq(hf);
	int r = seq > since ? delta_from_cache(hf->snapcache, &h, since, seq, now, &payload, &len,
					       err, sizeof(err))
			    : 2;
	if (r == 1)
		return http_problem(c, MHD_HTTP_CONFLICT, "Full Snapshot Needed", err, NULL);
	if (r == 0) {
		fetch_later(hf, &h, now, seq);
		log_msg(LOG_DEBUG,
			"delta for host %s: seq %llu to %llu, %zu bytes, slice cached (no lock)",
			h.host_id, (unsigned long long)since, (unsigned long long)seq, len);
		return signed_answer(hf, c, payload, len);
	}
	uint64_t hits = slice_hits(hf);
	store_write_intent(d->store);
	r = delta_build_cached(slices(hf), d, &h, since, now, &payload, &len, &seq, err,
			       sizeof(err));
	if (r == 0) {
		store_begin(d->store);
		if (host_sync_put(d->store, h.host_id, (uint64_t)now, seq) < 0 ||
		    store_commit(d->store) < 0)
			store_abort(d->store); /* only the fetch time is lost */
	}
	if (d->ops->flush(d) < 0 && r == 0) {
		r = -1;
		snprintf(err, sizeof(err), "the organization database is unreachable");
	}
	if (r != 0) {
		free(payload);
		if (r > 0)
			return http_problem(c, MHD_HTTP_CONFLICT, "Full Snapshot Needed", err,
					    NULL);
		log_warn("delta for host %s: %s", h.host_id, err);
		return http_problem(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Service Unavailable", err,
				    NULL);
	}
	log_msg(LOG_DEBUG, "delta for host %s: seq %llu to %llu, %zu bytes, slice %s", h.host_id,
		(unsigned long long)since, (unsigned long long)seq, len,
		slice_hits(hf) > hits ? "cached" : "built");
	return signed_answer(hf, c, payload, len);
}

/* A held connection outlives the front's absolute deadline for requests
 * (http.c): its own bound is AGENT_HOLD_MS. */
static void extend_deadline(struct MHD_Connection *c, int64_t until)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct tracked *t = ci ? ci->socket_context : NULL;
	if (t && t->deadline < until + 10000)
		t->deadline = until + 10000;
}

enum MHD_Result agent_api_changes(struct http_front *hf, struct MHD_Connection *c,
				  const char *method, struct req_state *rs)
{
	struct daemon *d = http_front_daemon(hf);
	struct host h;
	enum MHD_Result ret;
	uint64_t since = 0;
	if (rs->resumed) /* its seq moved on, or its time is up */
		return seq_answer(c, store_change_seq(d->store));
	if (strcmp(method, "GET"))
		return get_only(c);
	if (!agent_api_auth(hf, c, method, &h, &ret))
		return ret;
	if (parse_since(c, &since) < 0)
		return http_problem(c, MHD_HTTP_BAD_REQUEST, "Bad Request",
				    "send since=SEQ (a change-log sequence number)", NULL);
	uint64_t now_seq = store_change_seq(d->store);
	if (now_seq > since)
		return seq_answer(c, now_seq);
	if (!hf->held)
		hf->held = calloc(AGENT_MAX_HELD, sizeof(*hf->held));
	if (!hf->held || hf->nheld >= AGENT_MAX_HELD) {
		static const char *const retry[] = { "Retry-After", "5", NULL };
		return http_problem(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Service Unavailable",
				    "too many agents are waiting on this hub; retry, or use "
				    "another hub",
				    retry);
	}
	int64_t until = svca_now_ms() + AGENT_HOLD_MS;
	hf->held[hf->nheld++] = (struct held_poll){ c, rs, since, until };
	if (!hf->next_until || until < hf->next_until)
		hf->next_until = until;
	rs->held = 1;
	extend_deadline(c, until);
	MHD_suspend_connection(c);
	return MHD_YES;
}

static void drop_held(struct http_front *hf, size_t i)
{
	hf->held[i].rs->held = 0;
	hf->held[i] = hf->held[--hf->nheld];
}

int agent_api_wake(struct http_front *hf)
{
	if (!hf->nheld)
		return -1;
	int64_t now = svca_now_ms();
	uint64_t seq = store_change_seq(hf->d->store);
	if (seq == hf->woke_seq && now < hf->next_until)
		return (int)(hf->next_until - now);
	hf->woke_seq = seq;
	hf->next_until = 0;
	for (size_t i = 0; i < hf->nheld;) {
		struct held_poll *p = &hf->held[i];
		if (seq > p->since || now >= p->until) {
			p->rs->resumed = 1;
			MHD_resume_connection(p->c);
			drop_held(hf, i);
			continue;
		}
		if (!hf->next_until || p->until < hf->next_until)
			hf->next_until = p->until;
		i++;
	}
	return hf->nheld ? (int)(hf->next_until - now) : -1;
}

void agent_api_forget(struct http_front *hf, struct req_state *rs)
{
	for (size_t i = 0; rs->held && i < hf->nheld; i++)
		if (hf->held[i].rs == rs) {
			drop_held(hf, i);
			return;
		}
}

void agent_api_release_all(struct http_front *hf)
{
	while (hf->nheld) {
		hf->held[0].rs->resumed = 1;
		MHD_resume_connection(hf->held[0].c);
		drop_held(hf, 0);
	}
	free(hf->held);
	hf->held = NULL;
}
