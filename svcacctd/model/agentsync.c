/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Agent mode: the thread that follows the hubs (agentsync.h). */
#include "agentsync.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hubclient.h"
#include "worker.h"
#include "log.h"
#include "host_delta.h"
#include "host_snapshot.h"
#include "sockio.h"

/* A snapshot's envelope: base64 of the largest payload, and the rest. */
#define ENVELOPE_MAX ((size_t)SNAPSHOT_MAX_BYTES / 3 * 4 + 4096)
#define DELTA_ENVELOPE_MAX ((size_t)DELTA_MAX_BYTES / 3 * 4 + 4096)

struct agent_sync {
	struct worker w;   /* its lock w.mu guards the fields marked below */
	atomic_int resync; /* the loop could not apply: a full snapshot next */
	struct agent_hubs hubs;
	char cred[SVCA_KEY_LEN + 1];
	uint8_t pk[32];
	char host_id[HOST_ID_MAX + 1];
	int refresh_s;
	/* under mu: */
	struct agent_sync_view view;
	struct snap_verified pending; /* payload NULL: none */
};

/* A hub answered (reachable) or not; ok: a sync succeeded (a verified
 * snapshot, or a long poll that returned). */
static void mark(struct agent_sync *s, size_t hub, int reachable, int ok)
{
	pthread_mutex_lock(&s->w.mu);
	s->view.tried[hub] = 1;
	s->view.reachable[hub] = reachable;
	if (ok) {
		s->view.last_ok_mono = svca_now_ms();
		s->view.last_ok_wall = svca_wall_ms();
	}
	pthread_mutex_unlock(&s->w.mu);
}

/* A verified snapshot or delta for the loop (replacing an untaken
 * snapshot: a delta is only fetched when none is waiting). */
static void hand_over(struct agent_sync *s, struct snap_verified *v)
{
	pthread_mutex_lock(&s->w.mu);
	snap_verified_free(&s->pending);
	s->pending = *v;
	s->view.seq = v->seq;
	if (v->delta)
		s->view.delta_syncs++;
	else
		s->view.full_syncs++;
	pthread_mutex_unlock(&s->w.mu);
}

/* One hub's snapshot.  1 verified and handed over, 0 answered but not
 * usable (logged), -1 no answer. */
static int fetch_one(struct agent_sync *s, size_t i)
{
	struct hub_reply rep;
	char err[300];
	if (hub_request_ex(s->hubs.url[i], "/v1/agent/snapshot", s->hubs.ca, s->cred, NULL,
			   AGENT_SNAPSHOT_TIMEOUT_MS, ENVELOPE_MAX, &s->w.stop, &rep) < 0) {
		if (!worker_stopping(&s->w))
			log_warn("agent sync: hub %s: %s", s->hubs.url[i], rep.err);
		return -1;
	}
	if (rep.status != 200) {
		log_warn("agent sync: hub %s: snapshot: HTTP %ld", s->hubs.url[i], rep.status);
		hub_reply_free(&rep);
		return rep.status >= 500 ? -1 : 0;
	}
	pthread_mutex_lock(&s->w.mu);
	uint64_t seq = s->view.seq;
	pthread_mutex_unlock(&s->w.mu);
	struct snap_verified v;
	int r = host_snapshot_verify(s->pk, s->host_id, seq, rep.body, rep.len, &v, err,
				     sizeof(err));
	hub_reply_free(&rep);
	if (r < 0) {
		log_warn("agent sync: hub %s: %s; not applied", s->hubs.url[i], err);
		return 0;
	}
	hand_over(s, &v);
	return 1;
}

/* The seq handed over last, and whether the loop has yet to take it. */
static uint64_t handed_seq(struct agent_sync *s, int *untaken)
{
	pthread_mutex_lock(&s->w.mu);
	uint64_t seq = s->view.seq;
	*untaken = s->pending.payload != NULL;
	pthread_mutex_unlock(&s->w.mu);
	return seq;
}

/* The problem document's detail, for the log (bounded, printable). */
static void problem_detail(const struct hub_reply *rep, char *out, size_t len)
{
	json_error_t jerr;
	json_t *doc = rep->body ? json_loadb(rep->body, rep->len, 0, &jerr) : NULL;
	const char *d = json_string_value(json_object_get(doc, "detail"));
	snprintf(out, len, "%s", d ? d : "no reason given");
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	json_decref(doc);
}

/* One hub's delta since the seq handed over last (docs/agent-protocol.md).
 * 1 verified and handed over; 0 not usable (the hub wants a full snapshot,
 * a refused delta, one still untaken: logged); -1 no answer. */
static int fetch_delta(struct agent_sync *s, size_t i)
{
	struct hub_reply rep;
	char path[80], err[300];
	int untaken;
	uint64_t since = handed_seq(s, &untaken);
	if (untaken || since == 0)
		return 0; /* a delta applies on what the loop holds: a full one then */
	snprintf(path, sizeof(path), "/v1/agent/delta?since=%llu", (unsigned long long)since);
	if (hub_request_ex(s->hubs.url[i], path, s->hubs.ca, s->cred, NULL,
			   AGENT_SNAPSHOT_TIMEOUT_MS, DELTA_ENVELOPE_MAX, &s->w.stop, &rep) < 0) {
		if (!worker_stopping(&s->w))
			log_warn("agent sync: hub %s: %s", s->hubs.url[i], rep.err);
		return -1;
	}
	if (rep.status != 200) {
		problem_detail(&rep, err, sizeof(err));
		if (rep.status == 409)
			log_info("agent sync: hub %s: a full snapshot is needed: %s",
				 s->hubs.url[i], err);
		else
			log_warn("agent sync: hub %s: delta: HTTP %ld: %s", s->hubs.url[i],
				 rep.status, err);
		hub_reply_free(&rep);
		return rep.status >= 500 ? -1 : 0;
	}
	struct snap_verified v;
	int r = host_delta_verify(s->pk, s->host_id, since, rep.body, rep.len, &v, err,
				  sizeof(err));
	hub_reply_free(&rep);
	if (r < 0) {
		log_warn("agent sync: hub %s: %s; not applied", s->hubs.url[i], err);
		return 0;
	}
	hand_over(s, &v);
	return 1;
}

/* A full snapshot from the first hub that gives a good one.  1 or 0. */
static int fetch_full(struct agent_sync *s)
{
	for (size_t i = 0; i < s->hubs.n && !worker_stopping(&s->w); i++) {
		int r = fetch_one(s, i);
		mark(s, i, r >= 0, r == 1);
		if (r == 1) {
			worker_signal(&s->w);
			return 1;
		}
	}
	return 0;
}

static void held(struct agent_sync *s, int64_t since)
{
	pthread_mutex_lock(&s->w.mu);
	s->view.held_since_mono = since;
	pthread_mutex_unlock(&s->w.mu);
}

/* A hub held the poll, then the connection broke (the hub stopped or
 * died): it was there until now, or at most AGENT_HELD_COUNTS_MS after the
 * poll was sent, as agent_sync_contact_mono counted while it was held. */
static void dropped(struct agent_sync *s, int64_t sent_at)
{
	int64_t now = svca_now_ms(), until = sent_at + AGENT_HELD_COUNTS_MS;
	if (until > now)
		until = now;
	pthread_mutex_lock(&s->w.mu);
	if (until > s->view.last_ok_mono) {
		s->view.last_ok_wall = svca_wall_ms() - (now - until);
		s->view.last_ok_mono = until;
	}
	pthread_mutex_unlock(&s->w.mu);
	worker_signal(&s->w);
}

/* One long poll on the first hub that answers (*hub).  1 the seq moved, 0
 * it did not (the hold ended), -1 no hub answered. */
static int poll_changes(struct agent_sync *s, size_t *hub, int probe)
{
	char path[80];
	pthread_mutex_lock(&s->w.mu);
	uint64_t seq = s->view.seq;
	pthread_mutex_unlock(&s->w.mu);
	/* A probe asks from one before: answered at once, it says whether the
	 * hub is past seq without holding the request. */
	uint64_t since = probe && seq > 0 ? seq - 1 : seq;
	snprintf(path, sizeof(path), "/v1/agent/changes?since=%llu", (unsigned long long)since);
	for (size_t i = 0; i < s->hubs.n && !worker_stopping(&s->w); i++) {
		struct hub_reply rep;
		json_error_t jerr;
		int64_t sent_at = svca_now_ms();
		held(s, sent_at);
		int r = hub_request_ex(s->hubs.url[i], path, s->hubs.ca, s->cred, NULL,
				       AGENT_POLL_TIMEOUT_MS, 4096, &s->w.stop, &rep);
		held(s, 0);
		if (r < 0 && rep.sent)
			dropped(s, sent_at);
		if (r < 0 || rep.status != 200) {
			if (rep.status)
				log_warn("agent sync: hub %s: changes: HTTP %ld", s->hubs.url[i],
					 rep.status);
			hub_reply_free(&rep);
			mark(s, i, rep.status != 0, 0);
			continue;
		}
		json_t *doc = json_loadb(rep.body, rep.len, 0, &jerr);
		const json_t *js = json_object_get(doc, "seq");
		int moved = json_is_integer(js) && json_integer_value(js) > 0 &&
			    (uint64_t)json_integer_value(js) > seq;
		int good = json_is_integer(js);
		json_decref(doc);
		hub_reply_free(&rep);
		mark(s, i, 1, good);
		if (good) {
			worker_signal(&s->w); /* a successful sync: the loop records its time */
			*hub = i;
			return moved;
		}
	}
	return -1;
}

/* A full snapshot only when there is none yet, after the loop could not
 * apply one, or when a delta will not do; after a start or a broken
 * stream a probe (a poll answered at once) says whether the hubs moved
 * on, and a delta catches up. */
static void *run(void *arg)
{
	struct agent_sync *s = arg;
	int untaken, fails = 0, probe = 1;
	int need_full = handed_seq(s, &untaken) == 0;
	while (!worker_stopping(&s->w)) {
		if (atomic_exchange(&s->resync, 0))
			need_full = 1;
		if (need_full && !fetch_full(s)) {
			worker_nap(&s->w, worker_backoff_ms(++fails, (int64_t)s->refresh_s * 1000),
				   NULL, NULL);
			continue;
		}
		size_t hub = 0;
		int r = poll_changes(s, &hub, probe && !need_full);
		need_full = 0;
		if (r < 0) {
			probe = 1; /* the stream broke: ask at once next time */
			worker_nap(&s->w, worker_backoff_ms(++fails, (int64_t)s->refresh_s * 1000),
				   NULL, NULL);
			continue;
		}
		fails = 0;
		probe = 0;
		if (r == 1) { /* the seq moved: what changed, from the hub that said so */
			int d = fetch_delta(s, hub);
			mark(s, hub, d >= 0, d == 1);
			if (d == 1)
				worker_signal(&s->w);
			else
				need_full = 1; /* now, at the top of the loop */
		}
	}
	return NULL;
}

struct agent_sync *agent_sync_start(const struct agent_hubs *hubs, const char *cred,
				    const uint8_t pk[32], const char *host_id, uint64_t applied_seq,
				    int refresh_s)
{
	struct agent_sync *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->hubs = *hubs;
	snprintf(s->cred, sizeof(s->cred), "%s", cred);
	memcpy(s->pk, pk, 32);
	snprintf(s->host_id, sizeof(s->host_id), "%s", host_id);
	s->refresh_s = refresh_s > 0 ? refresh_s : 300;
	s->view.seq = applied_seq;
	atomic_init(&s->resync, 0);
	if (worker_start(&s->w, run, s) < 0) {
		sodium_memzero(s, sizeof(*s));
		free(s);
		return NULL;
	}
	return s;
}

int agent_sync_fd(const struct agent_sync *s)
{
	return s->w.efd;
}

int agent_sync_take(struct agent_sync *s, struct snap_verified *out)
{
	worker_clear(&s->w);
	pthread_mutex_lock(&s->w.mu);
	*out = s->pending;
	memset(&s->pending, 0, sizeof(s->pending));
	pthread_mutex_unlock(&s->w.mu);
	return out->payload ? 1 : 0;
}

void agent_sync_resync(struct agent_sync *s)
{
	atomic_store(&s->resync, 1);
}

void agent_sync_view(struct agent_sync *s, struct agent_sync_view *v)
{
	pthread_mutex_lock(&s->w.mu);
	*v = s->view;
	pthread_mutex_unlock(&s->w.mu);
}

int64_t agent_sync_contact_mono(struct agent_sync *s, int64_t now)
{
	if (!s)
		return 0;
	pthread_mutex_lock(&s->w.mu);
	int64_t last = s->view.last_ok_mono, held_since = s->view.held_since_mono;
	pthread_mutex_unlock(&s->w.mu);
	/* Only a poll sent right after an answer: one sent while the hubs
	 * are away (a retry, the probe at start) proves nothing yet. */
	if (held_since > 0 && last > 0 && held_since - last <= AGENT_HELD_AFTER_MS) {
		int64_t alive = held_since + AGENT_HELD_COUNTS_MS;
		alive = alive < now ? alive : now;
		last = alive > last ? alive : last;
	}
	return last;
}

void agent_sync_stop(struct agent_sync *s)
{
	if (!s)
		return;
	worker_stop(&s->w);
	snap_verified_free(&s->pending);
	sodium_memzero(s, sizeof(*s));
	free(s);
}
