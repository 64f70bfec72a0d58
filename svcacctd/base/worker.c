/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An agent's worker thread: eventfd to the loop, monotonic naps (worker.h). */
#include "worker.h"

#include <sodium.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

int worker_start(struct worker *w, void *(*run)(void *), void *arg)
{
	pthread_condattr_t ca;
	atomic_init(&w->stop, 0);
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (w->efd >= 0 && pthread_create(&w->th, NULL, run, arg) == 0)
		return 0;
	if (w->efd >= 0)
		close(w->efd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	return -1;
}

void worker_signal(struct worker *w)
{
	uint64_t one = 1;
	if (write(w->efd, &one, sizeof(one)) < 0) {
		/* a full counter: the loop has a wake-up pending anyway */
	}
}

void worker_clear(struct worker *w)
{
	uint64_t n;
	if (read(w->efd, &n, sizeof(n)) < 0) {
		/* nothing counted: the owner's shared fields decide */
	}
}

void worker_nap(struct worker *w, int64_t ms, int (*done)(void *arg), void *arg)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->mu);
	while (!atomic_load(&w->stop) && !(done && done(arg)) &&
	       pthread_cond_timedwait(&w->cv, &w->mu, &ts) == 0) {
	}
	pthread_mutex_unlock(&w->mu);
}

void worker_poke(struct worker *w)
{
	pthread_cond_broadcast(&w->cv);
}

int worker_stopping(struct worker *w)
{
	return atomic_load(&w->stop);
}

void worker_stop(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	atomic_store(&w->stop, 1);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	close(w->efd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
}

int64_t worker_backoff_ms(int n, int64_t cap_ms)
{
	int64_t ms = 1000LL << (n > 16 ? 16 : n < 1 ? 0 : n - 1);
	if (ms > cap_ms)
		ms = cap_ms;
	return ms - (int64_t)randombytes_uniform((uint32_t)(ms / 4 + 1));
}
