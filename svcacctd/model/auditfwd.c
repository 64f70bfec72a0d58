/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Agent mode: the thread that forwards the audit records (auditfwd.h). */
#include "auditfwd.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hubclient.h"
#include "worker.h"
#include "log.h"

struct auditfwd {
	struct worker w; /* its lock w.mu guards the fields marked below */
	struct agent_hubs hubs;
	char cred[SVCA_KEY_LEN + 1];
	/* under mu: */
	char *body;    /* the batch held (NULL: idle) */
	int lingering; /* just sent one: gathering the next for a moment */
	uint64_t last;
	struct auditfwd_answer answer;
};

int auditfwd_plan_drop(uint64_t head, uint64_t cursor, uint64_t bound, uint64_t *from, uint64_t *to)
{
	if (!bound || head <= cursor || head - cursor <= bound)
		return 0;
	/* head - cursor >= bound + 1, so to >= cursor + 2 > from */
	*from = cursor + 1;
	*to = head + 1 - bound;
	return 1;
}

uint64_t auditfwd_next_cursor(uint64_t cursor, const struct auditfwd_answer *a, uint64_t head)
{
	uint64_t c = cursor;
	if (!a->got)
		return cursor;
	if (a->gap || a->mark > c) /* a gap: back to what the hub has */
		c = a->mark;
	return c > head ? head : c;
}

/* worker_nap's end condition: a batch to send (under w.mu). */
static int has_batch(void *arg)
{
	return ((struct auditfwd *)arg)->body != NULL;
}

/* {"mark": N} of an answer; -1 when there is none. */
static int answer_mark(const struct hub_reply *rep, uint64_t *mark)
{
	json_error_t jerr;
	json_t *doc = json_loadb(rep->body, rep->len, 0, &jerr);
	json_t *m = json_object_get(doc, "mark");
	int ok = json_is_integer(m) && json_integer_value(m) >= 0;
	if (ok)
		*mark = (uint64_t)json_integer_value(m);
	json_decref(doc);
	return ok ? 0 : -1;
}

/* One POST to the hubs in order.  1 answered (f->answer set), 0 none did. */
static int post(struct auditfwd *f, const char *body, uint64_t last)
{
	for (size_t i = 0; i < f->hubs.n && !worker_stopping(&f->w); i++) {
		struct hub_reply rep;
		uint64_t mark = 0;
		if (hub_request_ex(f->hubs.url[i], AUDITFWD_PATH, f->hubs.ca, f->cred, body,
				   AUDITFWD_TIMEOUT_MS, 4096, &f->w.stop, &rep) < 0) {
			if (!worker_stopping(&f->w))
				log_warn("audit forwarding: hub %s: %s", f->hubs.url[i], rep.err);
			hub_reply_free(&rep);
			continue;
		}
		int have = answer_mark(&rep, &mark) == 0;
		long status = rep.status;
		hub_reply_free(&rep);
		if ((status == 200 || status == 409) && have) {
			if (status == 409)
				log_warn("audit forwarding: hub %s has host seqs up to %llu only: "
					 "resending from there",
					 f->hubs.url[i], (unsigned long long)mark);
			pthread_mutex_lock(&f->w.mu);
			f->answer = (struct auditfwd_answer){ 1, status == 409, mark, last };
			pthread_mutex_unlock(&f->w.mu);
			return 1;
		}
		log_warn("audit forwarding: hub %s: HTTP %ld", f->hubs.url[i], status);
	}
	return 0;
}

static void *run(void *arg)
{
	struct auditfwd *f = arg;
	int fails = 0;
	while (!worker_stopping(&f->w)) {
		pthread_mutex_lock(&f->w.mu);
		char *body = f->body;
		uint64_t last = f->last;
		pthread_mutex_unlock(&f->w.mu);
		if (!body) {
			worker_nap(&f->w, 60000, has_batch, f);
			continue;
		}
		if (!post(f, body, last)) {
			worker_nap(&f->w, worker_backoff_ms(++fails, AUDITFWD_BACKOFF_MAX_MS), NULL,
				   NULL);
			continue;
		}
		fails = 0;
		pthread_mutex_lock(&f->w.mu);
		free(f->body);
		f->body = NULL;
		f->lingering = 1;
		pthread_mutex_unlock(&f->w.mu);
		worker_signal(&f->w);
		/* Records keep coming (a login each): let them gather into the
		 * next batch instead of one POST, and one cursor move, each. */
		worker_nap(&f->w, AUDITFWD_LINGER_MS, NULL, NULL);
		pthread_mutex_lock(&f->w.mu);
		f->lingering = 0;
		pthread_mutex_unlock(&f->w.mu);
		worker_signal(&f->w); /* idle again: the loop may offer the next */
	}
	return NULL;
}

struct auditfwd *auditfwd_start(const struct agent_hubs *hubs, const char *cred)
{
	struct auditfwd *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->hubs = *hubs;
	snprintf(f->cred, sizeof(f->cred), "%s", cred);
	if (worker_start(&f->w, run, f) < 0) {
		sodium_memzero(f, sizeof(*f));
		free(f);
		return NULL;
	}
	return f;
}

int auditfwd_fd(const struct auditfwd *f)
{
	return f->w.efd;
}

int auditfwd_idle(struct auditfwd *f)
{
	pthread_mutex_lock(&f->w.mu);
	int idle = !f->body && !f->answer.got && !f->lingering;
	pthread_mutex_unlock(&f->w.mu);
	return idle;
}

void auditfwd_offer(struct auditfwd *f, char *body, uint64_t last)
{
	pthread_mutex_lock(&f->w.mu);
	free(f->body);
	f->body = body;
	f->last = last;
	worker_poke(&f->w);
	pthread_mutex_unlock(&f->w.mu);
}

void auditfwd_take(struct auditfwd *f, struct auditfwd_answer *a)
{
	worker_clear(&f->w);
	pthread_mutex_lock(&f->w.mu);
	*a = f->answer;
	memset(&f->answer, 0, sizeof(f->answer));
	pthread_mutex_unlock(&f->w.mu);
}

void auditfwd_stop(struct auditfwd *f)
{
	if (!f)
		return;
	worker_stop(&f->w);
	free(f->body);
	sodium_memzero(f, sizeof(*f));
	free(f);
}
