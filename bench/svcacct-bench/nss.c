/* SPDX-License-Identifier: GPL-3.0-or-later */
/* svcacct-bench "nss": getpwnam/getpwuid figures from BUILD/nss-bench, run as a subprocess. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

static struct nss_fig nssf[32];
static size_t nnssf;

void nss_run(void)
{
	char exe[PATH_MAX + 16], mod[PATH_MAX + 32];
	sfmt(exe, sizeof(exe), "%s/nss-bench", build_dir);
	sfmt(mod, sizeof(mod), "%s/libnss_svcacct.so.2", build_dir);
	if (access(exe, X_OK) < 0 || access(mod, R_OK) < 0) {
		note("NSS: %s or %s missing (make %s): skipped", exe, mod, exe);
		return;
	}
	int pfd[2];
	struct cpu_mark cm;
	cpu_begin(&cm, NULL);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		execl(exe, exe, "-m", mod, "-n", Z.nss_counts, "-o", Z.nss_ops, "-T", Z.nss_T, "-d",
		      work, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	FILE *f = fdopen(pfd[0], "r");
	char line[512];
	while (f && fgets(line, sizeof(line), f)) {
		struct nss_fig g;
		memset(&g, 0, sizeof(g));
		if (sscanf(line, "%23s %lu %15s %lu %lf %lf %lf", g.backend, &g.entries, g.lookup,
			   &g.ops, &g.mean_ns, &g.p50_ns, &g.p99_ns) == 7 &&
		    strcmp(g.lookup, "first") != 0 && nnssf < sizeof(nssf) / sizeof(nssf[0]))
			nssf[nnssf++] = g;
	}
	if (f)
		fclose(f);
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		note("NSS: nss-bench exited with status %d",
		     WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	double others;
	cpu_end(&cm, 0, NULL, &others);
	for (size_t i = 0; i < nnssf; i++) {
		const struct nss_fig *g = &nssf[i];
		char what[64], acc[16];
		sfmt(what, sizeof(what), "nss: %s via %s", g->lookup,
		     !strcmp(g->backend, "svcacct") ? "libnss_svcacct"
		     : !strcmp(g->backend, "files") ? "glibc files"
						    : g->backend);
		sfmt(acc, sizeof(acc), "%lu", g->entries);
		struct row *r = add_row(what, acc, 1, g->ops, 0, NULL, NAN);
		r->ops_s = g->mean_ns > 0 ? 1e9 / g->mean_ns : NAN;
		r->p50 = g->p50_ns / 1000;
		r->p99 = g->p99_ns / 1000;
		r->others = others;
		emit(r);
	}
}

static const struct nss_fig *nss_find(const char *backend, unsigned long entries,
				      const char *lookup)
{
	for (size_t i = 0; i < nnssf; i++)
		if (!strcmp(nssf[i].backend, backend) && nssf[i].entries == entries &&
		    !strcmp(nssf[i].lookup, lookup))
			return &nssf[i];
	return NULL;
}

/* The NSS targets of the report: flat with the number of accounts, and
 * faster than glibc's files backend. */
void target_nss(FILE *out, const struct run *r)
{
	(void)r;
	if (!nnssf) {
		target(out, -1, "NSS: not measured");
		return;
	}
	const char *counts = Z.nss_counts;
	unsigned long small_n = strtoul(counts, NULL, 10);
	unsigned long big_n =
		strtoul(strrchr(counts, ',') ? strrchr(counts, ',') + 1 : counts, NULL, 10);
	const char *lk[2] = { "getpwnam", "getpwuid" };
	for (int i = 0; i < 2; i++) {
		const struct nss_fig *s = nss_find("svcacct", small_n, lk[i]);
		const struct nss_fig *b = nss_find("svcacct", big_n, lk[i]);
		const struct nss_fig *f = nss_find("files", big_n, lk[i]);
		if (!s || !b || !f) {
			target(out, -1, "NSS %s: figures missing", lk[i]);
			continue;
		}
		target(out, b->p50_ns <= 2 * s->p50_ns,
		       "NSS %s p50 at %lu accounts %.1f us vs %.1f us at %lu (<= 2x: %.2fx)", lk[i],
		       big_n, b->p50_ns / 1000, s->p50_ns / 1000, small_n, b->p50_ns / s->p50_ns);
		target(out, b->p50_ns < f->p50_ns,
		       "NSS %s at %lu: module %.1f us vs glibc files %.1f us (faster)", lk[i],
		       big_n, b->p50_ns / 1000, f->p50_ns / 1000);
	}
}
