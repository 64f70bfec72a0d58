/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A worker thread of an agent (the sync thread, the audit forwarder): it
 * talks to the hubs and never touches the store.  It tells the loop that
 * something is ready through an eventfd, naps on a condition variable of
 * the monotonic clock (a wall-clock step neither stretches nor cuts a
 * nap), and a stop ends any nap at once.  The owner embeds a struct
 * worker and keeps its own shared fields under w.mu.
 */
#ifndef SVCACCTD_WORKER_H
#define SVCACCTD_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct worker {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_int stop;
	int efd;
};

/* Sets w up and starts run(arg).  0, or -1 with nothing left to free. */
int worker_start(struct worker *w, void *(*run)(void *), void *arg);
/* The thread: wake the loop (the eventfd becomes readable). */
void worker_signal(struct worker *w);
/* The loop: read the eventfd empty. */
void worker_clear(struct worker *w);
/* The thread: waits up to ms, or until stopped, or (under w.mu, after
 * each wake-up) until done(arg) is true (done may be NULL). */
void worker_nap(struct worker *w, int64_t ms, int (*done)(void *arg), void *arg);
/* Wakes a nap (call with w.mu held or not). */
void worker_poke(struct worker *w);
int worker_stopping(struct worker *w);
/* Stops and joins the thread, closes the eventfd, destroys the lock. */
void worker_stop(struct worker *w);
/* After the n-th failure in a row: 1, 2, 4 ... s capped at cap_ms, minus up
 * to a quarter (jitter: a fleet that lost its hubs together does not come
 * back together). */
int64_t worker_backoff_ms(int n, int64_t cap_ms);

#endif
