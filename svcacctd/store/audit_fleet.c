/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One audit trail for the fleet: an agent's batches, a hub's ingest and
 * verify (audit_fleet.h). */
#include "audit_fleet.h"

#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define STATE_KEY "audit/fwd"
#define MARK_PREFIX "hostmark/"
#define HEX_LEN 64
#define MAX_GAPS 64      /* per host, in one verify */
#define MAX_DROPPED 4096 /* audit.forward_dropped ranges per host, in one verify */

/* ---- agent ------------------------------------------------------------------ */

int afleet_state_get(struct store *s, struct afleet_state *st)
{
	uint8_t *v = NULL;
	size_t n = 0;
	char buf[96], *p, *end;
	memset(st, 0, sizeof(*st));
	int r = store_get(s, DB_STATE, STATE_KEY, &v, &n);
	if (r <= 0)
		return r;
	if (n >= sizeof(buf)) {
		free(v);
		return -1;
	}
	memcpy(buf, v, n);
	buf[n] = '\0';
	free(v);
	/* "<cursor> <dropped_through> <last ok wall ms>" */
	st->cursor = strtoull(buf, &end, 10);
	if (end == buf || *end != ' ')
		return -1;
	st->dropped_through = strtoull(p = end + 1, &end, 10);
	if (end == p || *end != ' ')
		return -1;
	st->last_ok_wall = strtoll(p = end + 1, &end, 10);
	return end == p || *end ? -1 : 1;
}

int afleet_state_put(struct store *s, const struct afleet_state *st)
{
	char buf[96];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64 " %" PRIu64 " %lld", st->cursor,
			 st->dropped_through, (long long)st->last_ok_wall);
	return store_put(s, DB_STATE, STATE_KEY, (const uint8_t *)buf, (size_t)n);
}

static void hex32(const uint8_t *b, char *out)
{
	sodium_bin2hex(out, HEX_LEN + 1, b, 32);
}

int afleet_batch(struct audit *a, uint64_t after, uint64_t upto, uint64_t dropped_through,
		 char **body, uint64_t *last)
{
	json_t *doc = json_object(), *recs = json_array();
	size_t bytes = 0;
	*body = NULL;
	*last = after;
	if (!doc || !recs) {
		json_decref(doc);
		json_decref(recs);
		return -1;
	}
	json_object_set_new(doc, "dropped_through", json_integer((json_int_t)dropped_through));
	json_object_set_new(doc, "records", recs);
	for (uint64_t seq = after + 1; seq <= upto && json_array_size(recs) < AFLEET_MAX_RECORDS;
	     seq++) {
		struct audit_rec r;
		char prev[HEX_LEN + 1], hash[HEX_LEN + 1];
		int got = audit_record_get(a, seq, &r);
		if (got <= 0)
			break; /* missing locally: audit verify says so; nothing past it */
		if (r.len > AFLEET_RECORD_MAX || (bytes && bytes + r.len > AFLEET_BATCH_BYTES)) {
			free(r.json);
			break;
		}
		hex32(r.prev, prev);
		hex32(r.hash, hash);
		json_t *o = json_pack("{s:I,s:I,s:s,s:s,s:s%}", "seq", (json_int_t)seq, "ts_ms",
				      (json_int_t)r.ts_ms, "prev", prev, "hash", hash, "json",
				      r.json, r.len);
		free(r.json);
		if (!o || json_array_append_new(recs, o) < 0) {
			json_decref(doc);
			return -1;
		}
		bytes += r.len;
		*last = seq;
	}
	if (!json_array_size(recs)) {
		json_decref(doc);
		return 1;
	}
	*body = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return *body ? 0 : -1;
}

void afleet_dropped_detail(uint64_t from, uint64_t to, uint64_t bound, char *buf, size_t len)
{
	snprintf(buf, len,
		 "host seqs %" PRIu64 "-%" PRIu64 " not forwarded to the hubs (%" PRIu64
		 " records over audit_spool_max %" PRIu64 "); they stay in this host's chain",
		 from, to, to - from + 1, bound);
}

/* ---- hub: ingest ------------------------------------------------------------ */

static int mark_get(struct store *s, const char *host_id, uint64_t *mark)
{
	char key[128], buf[32];
	uint8_t *v = NULL;
	size_t n = 0;
	snprintf(key, sizeof(key), MARK_PREFIX "%s", host_id);
	*mark = 0;
	int r = store_get(s, DB_AUDIT, key, &v, &n);
	if (r <= 0)
		return r;
	if (n == 0 || n >= sizeof(buf)) {
		free(v);
		return -1;
	}
	memcpy(buf, v, n);
	buf[n] = '\0';
	free(v);
	char *end;
	*mark = strtoull(buf, &end, 10);
	return *end ? -1 : 1;
}

static int mark_put(struct store *s, const char *host_id, uint64_t mark)
{
	char key[128], buf[32];
	snprintf(key, sizeof(key), MARK_PREFIX "%s", host_id);
	int n = snprintf(buf, sizeof(buf), "%" PRIu64, mark);
	return store_put(s, DB_AUDIT, key, (const uint8_t *)buf, (size_t)n);
}

/* One record of the body, checked. */
struct in_rec {
	uint64_t seq, ts_ms;
	uint8_t prev[32], hash[32];
	const char *json;
	size_t len;
	json_t *obj; /* json parsed (borrowed from the body document: owned here) */
};

static int unhex32(const char *s, uint8_t *out)
{
	size_t n = 0;
	return s && strlen(s) == HEX_LEN &&
			       sodium_hex2bin(out, 32, s, HEX_LEN, NULL, &n, NULL) == 0 && n == 32
		       ? 0
		       : -1;
}

static const char *parse_rec(json_t *o, struct in_rec *r)
{
	json_t *seq = json_object_get(o, "seq"), *ts = json_object_get(o, "ts_ms");
	json_t *js = json_object_get(o, "json");
	uint8_t h[32];
	if (!json_is_object(o) || !json_is_integer(seq) || json_integer_value(seq) < 1 ||
	    !json_is_integer(ts) || json_integer_value(ts) < 0 || !json_is_string(js))
		return "each record needs seq (>= 1), ts_ms, prev, hash and json";
	if (unhex32(json_string_value(json_object_get(o, "prev")), r->prev) < 0 ||
	    unhex32(json_string_value(json_object_get(o, "hash")), r->hash) < 0)
		return "prev and hash are 64 hex digits";
	r->seq = (uint64_t)json_integer_value(seq);
	r->ts_ms = (uint64_t)json_integer_value(ts);
	r->json = json_string_value(js);
	r->len = json_string_length(js);
	if (r->len > AFLEET_RECORD_MAX)
		return "a record is too large";
	audit_record_hash(r->prev, r->ts_ms, r->json, r->len, h);
	if (sodium_memcmp(h, r->hash, 32) != 0)
		return "a record's hash does not match its fields";
	json_error_t jerr;
	r->obj = json_loadb(r->json, r->len, 0, &jerr);
	json_t *es = json_object_get(r->obj, "seq");
	if (!json_is_object(r->obj) || !json_is_integer(es) ||
	    (uint64_t)json_integer_value(es) != r->seq ||
	    !json_is_string(json_object_get(r->obj, "event"))) {
		json_decref(r->obj);
		r->obj = NULL;
		return "a record's json is not the event of that seq";
	}
	return NULL;
}

struct fwd_build {
	const struct in_rec *r;
	const char *host_id;
};

/* The hub's record: the agent's event with the hub's seq, host = the
 * authenticated host, and the agent-chain fields (the agent's exact text
 * under fwd.record, so that verify can recompute its hash). */
static char *fwd_text(void *ctx, uint64_t seq, int64_t ts_ms)
{
	const struct fwd_build *b = ctx;
	char prev[HEX_LEN + 1], hash[HEX_LEN + 1];
	(void)ts_ms;
	json_t *o = json_deep_copy(b->r->obj);
	if (!o)
		return NULL;
	json_t *claimed = json_object_get(o, "host");
	if (json_is_string(claimed))
		json_object_set(o, "hostname", claimed); /* what the agent calls itself */
	json_object_set_new(o, "seq", json_integer((json_int_t)seq));
	json_object_set_new(o, "host", json_string(b->host_id));
	json_object_set_new(o, "host_seq", json_integer((json_int_t)b->r->seq));
	hex32(b->r->prev, prev);
	hex32(b->r->hash, hash);
	json_object_set_new(o, "fwd",
			    json_pack("{s:I,s:s,s:s,s:s%}", "ts_ms", (json_int_t)b->r->ts_ms,
				      "prev", prev, "hash", hash, "record", b->r->json, b->r->len));
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	return s;
}

enum afleet_result afleet_ingest(struct audit *a, struct store *s, const char *host_id,
				 const char *body, size_t len, uint64_t *mark, char *err,
				 size_t errlen)
{
	json_error_t jerr;
	struct in_rec r;
	enum afleet_result res = AFLEET_OK;
	*mark = 0;
	if (mark_get(s, host_id, mark) < 0) {
		snprintf(err, errlen, "the host's forwarding mark is unreadable");
		return AFLEET_STORAGE;
	}
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *recs = json_object_get(doc, "records"),
	       *dt = json_object_get(doc, "dropped_through");
	if (!json_is_object(doc) || !json_is_array(recs) || !json_is_integer(dt) ||
	    json_integer_value(dt) < 0) {
		snprintf(err, errlen,
			 "send a JSON object {\"dropped_through\": N, \"records\": [...]}");
		json_decref(doc);
		return AFLEET_BAD;
	}
	if (json_array_size(recs) > AFLEET_MAX_RECORDS) {
		snprintf(err, errlen, "at most %d records in one request", AFLEET_MAX_RECORDS);
		json_decref(doc);
		return AFLEET_BAD;
	}
	uint64_t dropped = (uint64_t)json_integer_value(dt), m = *mark, prev_seq = 0;
	for (size_t i = 0; i < json_array_size(recs) && res == AFLEET_OK; i++) {
		memset(&r, 0, sizeof(r));
		const char *bad = parse_rec(json_array_get(recs, i), &r);
		if (!bad && prev_seq && r.seq <= prev_seq)
			bad = "records must come in increasing seq order";
		if (bad) {
			snprintf(err, errlen, "%s", bad);
			res = AFLEET_BAD;
		} else if (r.seq <= m) {
			/* already appended: acknowledged again, not appended */
		} else if (r.seq > m + 1 && r.seq - 1 > dropped) {
			snprintf(err, errlen,
				 "host seqs %" PRIu64 "-%" PRIu64
				 " are missing and not said to be dropped: resend from %" PRIu64,
				 m + 1, r.seq - 1, m + 1);
			res = AFLEET_GAP;
		} else {
			struct fwd_build b = { &r, host_id };
			if (audit_append_with(a, fwd_text, &b) < 0) {
				snprintf(err, errlen, "the audit trail could not be written");
				res = AFLEET_STORAGE;
			} else {
				m = r.seq;
			}
		}
		prev_seq = r.seq;
		json_decref(r.obj);
	}
	json_decref(doc);
	if (res == AFLEET_OK && m != *mark && mark_put(s, host_id, m) < 0) {
		snprintf(err, errlen, "the host's forwarding mark could not be written");
		res = AFLEET_STORAGE;
	}
	if (res == AFLEET_OK)
		*mark = m;
	return res;
}

/* ---- hub: verify -------------------------------------------------------------- */

struct range {
	uint64_t from, to, hub_seq;
};

struct host_chain {
	char *host;
	uint64_t last_seq, last_hub;
	uint8_t last_hash[32];
	struct range *gaps;
	size_t ngaps;
	struct range *dropped;
	size_t ndropped;
};

struct fleet_walk {
	struct host_chain *h;
	size_t n, cap; /* open addressing, cap a power of two */
	char *bad_host;
	size_t bad_hostlen;
	uint64_t *bad_host_seq;
};

static size_t slot_of(const struct fleet_walk *w, const char *host)
{
	uint64_t x = 1469598103934665603ULL;
	for (const unsigned char *p = (const unsigned char *)host; *p; p++)
		x = (x ^ *p) * 1099511628211ULL;
	size_t i = (size_t)x & (w->cap - 1);
	while (w->h[i].host && strcmp(w->h[i].host, host))
		i = (i + 1) & (w->cap - 1);
	return i;
}

static int grow(struct fleet_walk *w)
{
	struct fleet_walk nw = *w;
	nw.cap = w->cap ? w->cap * 2 : 64;
	nw.h = calloc(nw.cap, sizeof(*nw.h));
	if (!nw.h)
		return -1;
	for (size_t i = 0; i < w->cap; i++)
		if (w->h[i].host)
			nw.h[slot_of(&nw, w->h[i].host)] = w->h[i];
	free(w->h);
	*w = nw;
	return 0;
}

static struct host_chain *chain_of(struct fleet_walk *w, const char *host)
{
	if ((w->n + 1) * 2 > w->cap && grow(w) < 0)
		return NULL;
	size_t i = slot_of(w, host);
	if (!w->h[i].host) {
		w->h[i].host = strdup(host);
		if (!w->h[i].host)
			return NULL;
		w->n++;
	}
	return &w->h[i];
}

static int add_range(struct range **v, size_t *n, size_t max, struct range r)
{
	if (*n >= max)
		return -1;
	struct range *nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return -1;
	nv[(*n)++] = r;
	*v = nv;
	return 0;
}

static int fail_at(struct fleet_walk *w, const char *host, uint64_t host_seq, char *msg,
		   size_t msglen, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int fail_at(struct fleet_walk *w, const char *host, uint64_t host_seq, char *msg,
		   size_t msglen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	snprintf(w->bad_host, w->bad_hostlen, "%s", host);
	*w->bad_host_seq = host_seq;
	return -1;
}

/* "host seqs A-B ..." (afleet_dropped_detail) into r.  0, or -1. */
static int parse_dropped(const char *detail, struct range *r)
{
	static const char head[] = "host seqs ";
	char *end;
	const char *p;
	if (!detail || strncmp(detail, head, sizeof(head) - 1))
		return -1;
	p = detail + sizeof(head) - 1;
	if (*p < '0' || *p > '9')
		return -1;
	r->from = strtoull(p, &end, 10);
	if (*end != '-' || end[1] < '0' || end[1] > '9')
		return -1;
	p = end + 1;
	r->to = strtoull(p, &end, 10);
	return r->from <= r->to ? 0 : -1;
}

/* A forwarded record (has host_seq): its own hash, and its link to the
 * host's previous forwarded record. */
static int each_record(void *ctx, uint64_t seq, json_t *o, char *msg, size_t msglen)
{
	struct fleet_walk *w = ctx;
	json_t *hs = json_object_get(o, "host_seq");
	if (!hs)
		return 0; /* the hub's own event */
	const char *host = json_string_value(json_object_get(o, "host"));
	json_t *fwd = json_object_get(o, "fwd");
	uint8_t prev[32], hash[32], h[32];
	json_t *ts = json_object_get(fwd, "ts_ms"), *rec = json_object_get(fwd, "record");
	if (!host || !json_is_integer(hs) || json_integer_value(hs) < 1 || !json_is_integer(ts) ||
	    !json_is_string(rec) ||
	    unhex32(json_string_value(json_object_get(fwd, "prev")), prev) < 0 ||
	    unhex32(json_string_value(json_object_get(fwd, "hash")), hash) < 0)
		return fail_at(w, host ? host : "", 0, msg, msglen,
			       "audit record %" PRIu64 " is a malformed forwarded record", seq);
	uint64_t s = (uint64_t)json_integer_value(hs);
	audit_record_hash(prev, (uint64_t)json_integer_value(ts), json_string_value(rec),
			  json_string_length(rec), h);
	json_error_t jerr;
	json_t *orig = json_loadb(json_string_value(rec), json_string_length(rec), 0, &jerr);
	const char *oe = json_string_value(json_object_get(orig, "event"));
	const char *te = json_string_value(json_object_get(o, "event"));
	json_int_t os = json_integer_value(json_object_get(orig, "seq"));
	int same = oe && te && !strcmp(oe, te) && os >= 0 && (uint64_t)os == s;
	json_decref(orig);
	if (sodium_memcmp(h, hash, 32) != 0 || !same)
		return fail_at(w, host, s, msg, msglen,
			       "host %s, host seq %" PRIu64 " (audit record %" PRIu64
			       "): the forwarded record was altered (it does not match the "
			       "host's chain)",
			       host, s, seq);
	struct host_chain *c = chain_of(w, host);
	if (!c)
		return fail_at(w, host, s, msg, msglen, "out of memory");
	if (c->last_seq && s <= c->last_seq)
		return fail_at(w, host, s, msg, msglen,
			       "host %s, host seq %" PRIu64 " was appended twice (audit records "
			       "%" PRIu64 " and %" PRIu64 ")",
			       host, s, c->last_hub, seq);
	if (s == c->last_seq + 1 && c->last_seq && sodium_memcmp(prev, c->last_hash, 32) != 0)
		return fail_at(w, host, s, msg, msglen,
			       "host %s, host seq %" PRIu64 " (audit record %" PRIu64
			       ") does not link to host seq %" PRIu64 " (audit record %" PRIu64
			       "): the host's chain is broken",
			       host, s, seq, c->last_seq, c->last_hub);
	if (s > c->last_seq + 1 && add_range(&c->gaps, &c->ngaps, MAX_GAPS,
					     (struct range){ c->last_seq + 1, s - 1, seq }) < 0)
		return fail_at(w, host, c->last_seq + 1, msg, msglen,
			       "host %s: too many gaps in its forwarded records", host);
	const char *ev = json_string_value(json_object_get(o, "event"));
	const char *detail = json_string_value(json_object_get(o, "detail"));
	struct range dr;
	if (ev && !strcmp(ev, AFLEET_DROPPED_EVENT) && parse_dropped(detail, &dr) == 0) {
		dr.hub_seq = seq;
		add_range(&c->dropped, &c->ndropped, MAX_DROPPED, dr);
	}
	c->last_seq = s;
	c->last_hub = seq;
	memcpy(c->last_hash, hash, 32);
	return 0;
}

static int gap_explained(const struct host_chain *c, const struct range *g)
{
	/* Covered by the union of the dropped ranges (they are contiguous: each
	 * drop starts at the cursor after the last one). */
	uint64_t need = g->from;
	for (int moved = 1; moved && need <= g->to;) {
		moved = 0;
		for (size_t i = 0; i < c->ndropped; i++)
			if (c->dropped[i].from <= need && c->dropped[i].to >= need) {
				need = c->dropped[i].to + 1;
				moved = 1;
			}
	}
	return need > g->to;
}

static int check_gaps(struct fleet_walk *w, uint64_t *bad_seq, char *msg, size_t msglen)
{
	for (size_t i = 0; i < w->cap; i++) {
		struct host_chain *c = &w->h[i];
		for (size_t k = 0; c->host && k < c->ngaps; k++)
			if (!gap_explained(c, &c->gaps[k])) {
				*bad_seq = c->gaps[k].hub_seq;
				return fail_at(w, c->host, c->gaps[k].from, msg, msglen,
					       "host %s, host seqs %" PRIu64 "-%" PRIu64
					       ": missing before audit record %" PRIu64
					       ", and no audit.forward_dropped event of the host "
					       "says they were dropped",
					       c->host, c->gaps[k].from, c->gaps[k].to,
					       c->gaps[k].hub_seq);
			}
	}
	return 0;
}

/* A broken hub chain at a forwarded record: name the host and its seq. */
static void name_forwarded(struct audit *a, uint64_t seq, char *host, size_t hostlen,
			   uint64_t *host_seq, char *msg, size_t msglen)
{
	struct audit_rec r;
	if (!seq || audit_record_get(a, seq, &r) != 1)
		return;
	json_error_t jerr;
	json_t *o = json_loadb(r.json, r.len, 0, &jerr);
	free(r.json);
	const char *h = json_string_value(json_object_get(o, "host"));
	json_t *hs = json_object_get(o, "host_seq");
	if (h && json_is_integer(hs) && json_integer_value(hs) > 0) {
		size_t used = strlen(msg);
		*host_seq = (uint64_t)json_integer_value(hs);
		snprintf(host, hostlen, "%s", h);
		snprintf(msg + used, msglen - used,
			 " (forwarded from host %s, host seq %" PRIu64 ")", h, *host_seq);
	}
	json_decref(o);
}

int afleet_verify(struct audit *a, uint64_t *checked, uint64_t *bad_seq, char *host, size_t hostlen,
		  uint64_t *host_seq, char *msg, size_t msglen)
{
	struct fleet_walk w = { .bad_host = host,
				.bad_hostlen = hostlen,
				.bad_host_seq = host_seq };
	host[0] = '\0';
	*host_seq = 0;
	int r = audit_verify_each(a, each_record, &w, checked, bad_seq, msg, msglen);
	if (r < 0 && !*host_seq)
		name_forwarded(a, *bad_seq, host, hostlen, host_seq, msg, msglen);
	if (r == 0)
		r = check_gaps(&w, bad_seq, msg, msglen);
	for (size_t i = 0; i < w.cap; i++) {
		free(w.h[i].host);
		free(w.h[i].gaps);
		free(w.h[i].dropped);
	}
	free(w.h);
	return r;
}
