/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * svcacct-bench "mgmt" and "memory": accounts with one key each from 1 and 8
 * clients, ACCOUNT_LIST, and the daemon grown to --big accounts; each with
 * a time budget, extrapolated from the observed cost when it runs out.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* ---- progress, budgets and extrapolation ------------------------------------------ */

struct progress {
	double t[4096], n[4096]; /* seconds since start, accounts in the daemon */
	size_t k;
};

static struct progress prog; /* one monitored phase at a time */

/* Polls every 200 ms until *done reaches want or the budget is spent (then
 * sets *stop and waits for the workers' last requests).  Reports every 10%.
 * base: accounts the daemon held before.  1 when complete. */
static int monitor(atomic_ulong *done, unsigned long want, double budget, atomic_int *stop,
		   struct progress *pg, const char *what, const struct daemon *d,
		   unsigned long base, uint64_t t0)
{
	unsigned long last_report = 0;
	pg->k = 0;
	for (;;) {
		unsigned long n = atomic_load(done);
		double secs = (double)(now_ns() - t0) / 1e9;
		if (pg->k < sizeof(pg->t) / sizeof(pg->t[0])) {
			pg->t[pg->k] = secs;
			pg->n[pg->k] = (double)(base + n);
			pg->k++;
		}
		if (n >= want)
			return 1;
		if (secs > budget) {
			atomic_store(stop, 1);
			return 0;
		}
		if (want >= 10 && n - last_report >= want / 10) {
			last_report = n;
			note("%s: %lu / %lu after %.0f s, daemon RSS %.1f MiB", what, base + n,
			     base + want, secs, daemon_rss(d));
		}
		usleep(200000);
	}
}

/* Seconds to go from `from` to `to` accounts, fitting the observed cost per
 * account as a + b * accounts (least squares over the progress intervals,
 * weighted by their size; b >= 0).  Sets *a_out, *b_out (seconds). */
static double extrapolate(const struct progress *pg, double from, double to, double *a_out,
			  double *b_out)
{
	double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
	for (size_t i = 1; i < pg->k; i++) {
		double dn = pg->n[i] - pg->n[i - 1], dt = pg->t[i] - pg->t[i - 1];
		if (dn <= 0)
			continue;
		double x = (pg->n[i] + pg->n[i - 1]) / 2, y = dt / dn, w = dn;
		sw += w;
		sx += w * x;
		sy += w * y;
		sxx += w * x * x;
		sxy += w * x * y;
	}
	double a = 0, b = 0;
	if (sw > 0) {
		double den = sw * sxx - sx * sx;
		b = den > 0 ? (sw * sxy - sx * sy) / den : 0;
		if (b < 0)
			b = 0;
		a = (sy - b * sx) / sw;
		if (a < 0) {
			a = 0;
			b = sxx > 0 ? sxy / sxx : 0;
		}
	}
	*a_out = a;
	*b_out = b;
	return a * (to - from) + b * (to * to - from * from) / 2;
}

/* ---- management: accounts with one key each ------------------------------------- */

struct mworker {
	pthread_t th;
	const char *prefix;
	unsigned long n;
	atomic_ulong *next, *done;
	atomic_int *stop;
	struct lat pair, acct, key;
	unsigned long errors;
	char err[300];
};

static void *mgmt_main(void *arg)
{
	struct mworker *w = arg;
	char name[40], key[KEYBUF], msg[300];
	while (!atomic_load(w->stop)) {
		unsigned long i = atomic_fetch_add(w->next, 1);
		if (i >= w->n)
			break;
		sfmt(name, sizeof(name), "%s%05lu", w->prefix, i);
		uint64_t t0 = now_ns();
		int r = account_create(name, msg, sizeof(msg));
		uint64_t t1 = now_ns();
		if (r == 0)
			r = key_create(name, key, msg, sizeof(msg));
		uint64_t t2 = now_ns();
		atomic_fetch_add(w->done, 1);
		explicit_bzero(key, sizeof(key));
		if (r < 0) {
			if (!w->errors++)
				sfmt(w->err, sizeof(w->err), "%s: %s", name, msg);
			continue;
		}
		lat_add(&w->pair, t2 - t0);
		lat_add(&w->acct, t1 - t0);
		lat_add(&w->key, t2 - t1);
	}
	return NULL;
}

/* Creates n accounts (prefix%05lu) with a key each using `clients` threads;
 * adds three rows (pair, ACCOUNT_CREATE, KEY_CREATE).  Returns the number
 * of accounts created (< n when the budget ran out). */
unsigned long mgmt_run(struct daemon *d, const char *prefix, unsigned long n, int clients,
		       unsigned long base, double budget)
{
	struct mworker *w = xcalloc((size_t)clients, sizeof(*w));
	atomic_ulong next = 0, done = 0;
	atomic_int stop = 0;
	struct cpu_mark cm;
	cpu_begin(&cm, d);
	uint64_t t0 = now_ns();
	for (int i = 0; i < clients; i++) {
		w[i].prefix = prefix;
		w[i].n = n;
		w[i].next = &next;
		w[i].done = &done;
		w[i].stop = &stop;
		if (pthread_create(&w[i].th, &small_stack, mgmt_main, &w[i]) != 0)
			die("pthread_create");
	}
	char what[80];
	sfmt(what, sizeof(what), "accounts + keys, %d client(s)", clients);
	int complete = monitor(&done, n, budget, &stop, &prog, what, d, base, t0);
	struct lat pair = { 0 }, acct = { 0 }, key = { 0 };
	unsigned long errors = 0;
	for (int i = 0; i < clients; i++) {
		pthread_join(w[i].th, NULL);
		lat_merge(&pair, &w[i].pair);
		lat_merge(&acct, &w[i].acct);
		lat_merge(&key, &w[i].key);
		if (w[i].errors && !errors)
			note("management errors, first: %s", w[i].err);
		errors += w[i].errors;
		lat_free(&w[i].pair);
		lat_free(&w[i].acct);
		lat_free(&w[i].key);
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	double rss = daemon_rss(d), cpu_op, others;
	cpu_end(&cm, pair.n, &cpu_op, &others);
	char accounts_label[40];
	sfmt(accounts_label, sizeof(accounts_label), "%lu->%lu", base, base + pair.n);
	sfmt(what, sizeof(what), "mgmt: account + key create (%lu wanted)", n);
	struct row *r = add_row(what, accounts_label, clients, pair.n, secs, &pair, rss);
	r->errors = errors;
	r->cpu_op = cpu_op;
	r->others = others;
	emit(r);
	/* per command: the latency split; ops/s is that of the pair above */
	emit(add_row("  of which ACCOUNT_CREATE", accounts_label, clients, acct.n, 0, &acct, NAN));
	emit(add_row("  of which KEY_CREATE", accounts_label, clients, key.n, 0, &key, NAN));
	if (complete) {
		addnote("Management, %d client(s): %lu accounts with one key each in %.1f s.",
			clients, n, secs);
	} else {
		double a, b;
		double rest =
			extrapolate(&prog, (double)(base + pair.n), (double)(base + n), &a, &b);
		addnote("Management, %d client(s): the %.0f s budget ran out after %lu of %lu "
			"accounts "
			"with one key each; the cost per account grew as %.2f ms + %.4f ms per "
			"account already held, so all %lu would take about %.0f s (%.0f s more).",
			clients, budget, pair.n, n, a * 1e3, b * 1e3, n, secs + rest, rest);
	}
	note("%lu accounts with a key each, %d client(s): %.1f s", pair.n, clients, secs);
	unsigned long created = pair.n;
	lat_free(&pair);
	lat_free(&acct);
	lat_free(&key);
	free(w);
	return created;
}

void list_run(struct daemon *d, unsigned long reps, const char *accounts_label,
	      unsigned long expect)
{
	struct lat l = { 0 };
	unsigned long errors = 0, items = 0;
	size_t bytes = 0;
	struct cpu_mark cm;
	cpu_begin(&cm, d);
	uint64_t t0 = now_ns();
	for (unsigned long i = 0; i < reps; i++) {
		struct svca_buf b;
		struct svca_reply rep;
		char msg[300];
		svca_buf_init(&b, 0);
		svca_frame_begin(&b, SVCA_CMD_ACCOUNT_LIST);
		uint64_t s = now_ns();
		int st = call(&b, &rep, msg, sizeof(msg));
		uint64_t e = now_ns();
		if (st == SVCA_OK) {
			struct svca_iter it;
			struct svca_field f;
			items = 0;
			svca_iter_init(&it, rep.body, rep.len);
			while (svca_iter_next(&it, &f) == 1)
				items += f.tag == F_ITEM;
			bytes = rep.len;
			lat_add(&l, e - s);
		} else {
			if (!errors)
				note("ACCOUNT_LIST: %s", msg);
			errors++;
		}
		svca_reply_free(&rep);
		svca_buf_free(&b);
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	struct row *r =
		add_row("mgmt: ACCOUNT_LIST", accounts_label, 1, l.n, secs, &l, daemon_rss(d));
	r->errors = errors;
	cpu_end(&cm, l.n, &r->cpu_op, &r->others);
	if (items < expect) {
		note("ACCOUNT_LIST returned %lu accounts, expected at least %lu", items, expect);
		r->errors++;
	}
	emit(r);
	note("ACCOUNT_LIST: %lu accounts, %zu bytes per reply", items, bytes);
	lat_free(&l);
}

/* ---- growing the daemon for the memory figure --------------------------------------------- */

struct gworker {
	pthread_t th;
	atomic_ulong *next, *done;
	atomic_int *stop;
	unsigned long n;
	struct lat lat;
	unsigned long errors;
	char err[300];
};

static void *grow_main(void *arg)
{
	struct gworker *w = arg;
	char name[40], msg[300];
	while (!atomic_load(w->stop)) {
		unsigned long i = atomic_fetch_add(w->next, 1);
		if (i >= w->n)
			break;
		sfmt(name, sizeof(name), "bg%06lu", i);
		uint64_t t0 = now_ns();
		int r = account_create(name, msg, sizeof(msg));
		uint64_t t1 = now_ns();
		atomic_fetch_add(w->done, 1);
		if (r < 0) {
			if (!w->errors++)
				sfmt(w->err, sizeof(w->err), "%s: %s", name, msg);
			continue;
		}
		lat_add(&w->lat, t1 - t0);
	}
	return NULL;
}

/* Adds ACCOUNT_CREATEs (GROW_CLIENTS clients, no keys) until `total`
 * accounts exist or the budget is spent. */
void grow_run(struct daemon *d, unsigned long have, unsigned long total, double budget,
	      struct grow_result *g)
{
	struct gworker *w = xcalloc(GROW_CLIENTS, sizeof(*w));
	atomic_ulong next = 0, done = 0;
	atomic_int stop = 0;
	unsigned long want = total > have ? total - have : 0;
	memset(g, 0, sizeof(*g));
	struct cpu_mark cm;
	cpu_begin(&cm, d);
	uint64_t t0 = now_ns();
	for (int i = 0; i < GROW_CLIENTS; i++) {
		w[i].next = &next;
		w[i].done = &done;
		w[i].stop = &stop;
		w[i].n = want;
		if (pthread_create(&w[i].th, &small_stack, grow_main, &w[i]) != 0)
			die("pthread_create");
	}
	monitor(&done, want, budget, &stop, &prog, "growing", d, have, t0);
	struct lat all = { 0 };
	unsigned long errors = 0;
	for (int i = 0; i < GROW_CLIENTS; i++) {
		pthread_join(w[i].th, NULL);
		lat_merge(&all, &w[i].lat);
		if (w[i].errors && !errors)
			note("grow errors, first: %s", w[i].err);
		errors += w[i].errors;
		lat_free(&w[i].lat);
	}
	g->secs = (double)(now_ns() - t0) / 1e9;
	g->created = all.n;
	g->complete = have + all.n >= total;
	g->rss = daemon_rss(d);
	daemon_mem(d, &g->anon, &g->file);
	if (!g->complete)
		g->rest_secs =
			extrapolate(&prog, (double)(have + all.n), (double)total, &g->a, &g->b);
	char what[64], acc[24];
	sfmt(what, sizeof(what), "mgmt: ACCOUNT_CREATE, growing to %lu", total);
	sfmt(acc, sizeof(acc), "%lu->%lu", have, have + all.n);
	struct row *r = add_row(what, acc, GROW_CLIENTS, all.n, g->secs, &all, g->rss);
	r->errors = errors;
	cpu_end(&cm, all.n, &r->cpu_op, &r->others);
	emit(r);
	lat_free(&all);
	free(w);
}
