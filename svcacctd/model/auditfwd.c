/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Agent mode: the thread that forwards the audit records (auditfwd.h). */
#include "auditfwd.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "hubclient.h"
#include "log.h"

struct auditfwd {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_int stop;
	int efd;
	struct agent_hubs hubs;
	char cred[SVCA_KEY_LEN + 1];
	/* under mu: */
	char *body; /* the batch held (NULL: idle) */
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

static void signal_loop(struct auditfwd *f)
{
	uint64_t one = 1;
	if (write(f->efd, &one, sizeof(one)) < 0) {
		/* a full counter: the loop has a wake-up pending anyway */
	}
}

/* Waits ms, or until stopped or offered a batch (wake = 1). */
static void nap(struct auditfwd *f, int64_t ms, int wake_on_batch)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&f->mu);
	while (!atomic_load(&f->stop) && !(wake_on_batch && f->body) &&
	       pthread_cond_timedwait(&f->cv, &f->mu, &ts) == 0) {
	}
	pthread_mutex_unlock(&f->mu);
}

static int64_t backoff_ms(int n)
{
	int64_t ms = 1000LL << (n > 16 ? 16 : n - 1);
	if (ms > AUDITFWD_BACKOFF_MAX_MS)
		ms = AUDITFWD_BACKOFF_MAX_MS;
	return ms - (int64_t)randombytes_uniform((uint32_t)(ms / 4 + 1));
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
	for (size_t i = 0; i < f->hubs.n && !atomic_load(&f->stop); i++) {
		struct hub_reply rep;
		uint64_t mark = 0;
		if (hub_request_ex(f->hubs.url[i], AUDITFWD_PATH, f->hubs.ca, f->cred, body,
				   AUDITFWD_TIMEOUT_MS, 4096, &f->stop, &rep) < 0) {
			if (!atomic_load(&f->stop))
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
			pthread_mutex_lock(&f->mu);
			f->answer = (struct auditfwd_answer){ 1, status == 409, mark, last };
			pthread_mutex_unlock(&f->mu);
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
	while (!atomic_load(&f->stop)) {
		pthread_mutex_lock(&f->mu);
		char *body = f->body;
		uint64_t last = f->last;
		pthread_mutex_unlock(&f->mu);
		if (!body) {
			nap(f, 60000, 1);
			continue;
		}
		if (!post(f, body, last)) {
			nap(f, backoff_ms(++fails), 0);
			continue;
		}
		fails = 0;
		pthread_mutex_lock(&f->mu);
		free(f->body);
		f->body = NULL;
		pthread_mutex_unlock(&f->mu);
		signal_loop(f);
	}
	return NULL;
}

struct auditfwd *auditfwd_start(const struct agent_hubs *hubs, const char *cred)
{
	struct auditfwd *f = calloc(1, sizeof(*f));
	pthread_condattr_t ca;
	if (!f)
		return NULL;
	f->hubs = *hubs;
	snprintf(f->cred, sizeof(f->cred), "%s", cred);
	atomic_init(&f->stop, 0);
	f->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (f->efd < 0 || pthread_create(&f->th, NULL, run, f) != 0) {
		if (f->efd >= 0)
			close(f->efd);
		pthread_mutex_destroy(&f->mu);
		pthread_cond_destroy(&f->cv);
		sodium_memzero(f, sizeof(*f));
		free(f);
		return NULL;
	}
	return f;
}

int auditfwd_fd(const struct auditfwd *f)
{
	return f->efd;
}

int auditfwd_idle(struct auditfwd *f)
{
	pthread_mutex_lock(&f->mu);
	int idle = !f->body && !f->answer.got;
	pthread_mutex_unlock(&f->mu);
	return idle;
}

void auditfwd_offer(struct auditfwd *f, char *body, uint64_t last)
{
	pthread_mutex_lock(&f->mu);
	free(f->body);
	f->body = body;
	f->last = last;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

void auditfwd_take(struct auditfwd *f, struct auditfwd_answer *a)
{
	uint64_t n;
	if (read(f->efd, &n, sizeof(n)) < 0) {
		/* nothing counted: the answer slot decides */
	}
	pthread_mutex_lock(&f->mu);
	*a = f->answer;
	memset(&f->answer, 0, sizeof(f->answer));
	pthread_mutex_unlock(&f->mu);
}

void auditfwd_stop(struct auditfwd *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	atomic_store(&f->stop, 1);
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->th, NULL);
	free(f->body);
	close(f->efd);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	sodium_memzero(f, sizeof(*f));
	free(f);
}
