/* SPDX-License-Identifier: GPL-3.0-or-later */
/* svcacct-bench "exchange": TOKEN_CREATE (API key -> session token) from N client threads. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct xctx {
	char (*keys)[KEYBUF];
	size_t nkeys;
	atomic_int stop;
	atomic_ulong next;
};

struct xworker {
	pthread_t th;
	struct xctx *x;
	struct lat lat;
	unsigned long errors;
	char err[300];
};

static void *xchg_main(void *arg)
{
	struct xworker *w = arg;
	char msg[300];
	while (!atomic_load_explicit(&w->x->stop, memory_order_relaxed)) {
		unsigned long i = atomic_fetch_add(&w->x->next, 1) % w->x->nkeys;
		uint64_t t0 = now_ns();
		int r = token_create(w->x->keys[i], NULL, 0, msg, sizeof(msg));
		uint64_t t1 = now_ns();
		if (r < 0) {
			if (!w->errors++)
				sfmt(w->err, sizeof(w->err), "%s", msg);
			continue;
		}
		lat_add(&w->lat, t1 - t0);
	}
	return NULL;
}

void xchg_run(struct daemon *d, char (*keys)[KEYBUF], size_t nkeys, int clients, double dur,
	      const char *accounts_label)
{
	struct xctx x = { .keys = keys, .nkeys = nkeys };
	struct xworker *w = xcalloc((size_t)clients, sizeof(*w));
	struct cpu_mark cm;
	cpu_begin(&cm, d);
	uint64_t t0 = now_ns();
	for (int i = 0; i < clients; i++) {
		w[i].x = &x;
		if (pthread_create(&w[i].th, &small_stack, xchg_main, &w[i]) != 0)
			die("pthread_create");
	}
	struct timespec ts = { .tv_sec = (time_t)dur, .tv_nsec = (long)((dur - floor(dur)) * 1e9) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	atomic_store(&x.stop, 1);
	struct lat all = { 0 };
	unsigned long errors = 0;
	for (int i = 0; i < clients; i++) {
		pthread_join(w[i].th, NULL);
		lat_merge(&all, &w[i].lat);
		if (w[i].errors && !errors)
			note("TOKEN_CREATE errors, first: %s", w[i].err);
		errors += w[i].errors;
		lat_free(&w[i].lat);
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	struct row *r = add_row("exchange: TOKEN_CREATE (key -> token)", accounts_label, clients,
				all.n, secs, &all, daemon_rss(d));
	r->errors = errors;
	cpu_end(&cm, all.n, &r->cpu_op, &r->others);
	r->client_op = last_client_op;
	emit(r);
	lat_free(&all);
	free(w);
}
