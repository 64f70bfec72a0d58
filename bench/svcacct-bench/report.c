/* SPDX-License-Identifier: GPL-3.0-or-later */
/* svcacct-bench: the result table, and the report printed after the run. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* ---- the result table ---------------------------------------------------- */

struct row rows[128];
size_t nrows;
const char *row_prefix = "";

static void fmt_lat(double us, char *dst, size_t len)
{
	if (isnan(us))
		sfmt(dst, len, "-");
	else if (us < 1000)
		sfmt(dst, len, "%.1f us", us);
	else
		sfmt(dst, len, "%.2f ms", us / 1000);
}

static void fmt_row(const struct row *r, char *dst, size_t len)
{
	char a[24], b[24], c[24], ops_s[32], rss[24], cl[12], cpu[24], oth[16], what[96];
	fmt_lat(r->p50, a, sizeof(a));
	fmt_lat(r->p99, b, sizeof(b));
	fmt_lat(r->p999, c, sizeof(c));
	if (isnan(r->ops_s))
		sfmt(ops_s, sizeof(ops_s), "-");
	else
		sfmt(ops_s, sizeof(ops_s), "%.0f", r->ops_s);
	if (isnan(r->rss_mib))
		sfmt(rss, sizeof(rss), "-");
	else
		sfmt(rss, sizeof(rss), "%.1f MiB", r->rss_mib);
	if (r->clients > 0)
		sfmt(cl, sizeof(cl), "%d", r->clients);
	else
		sfmt(cl, sizeof(cl), "-");
	fmt_lat(r->cpu_op, cpu, sizeof(cpu));
	if (isnan(r->others))
		sfmt(oth, sizeof(oth), "-");
	else
		sfmt(oth, sizeof(oth), "%.2f", r->others);
	if (r->errors)
		sfmt(what, sizeof(what), "%s (%lu ERRORS)", r->what, r->errors);
	else
		sfmt(what, sizeof(what), "%s", r->what);
	sfmt(dst, len,
	     "| %-48s | %8s | %7s | %8lu | %8s | %10s | %10s | %10s | %13s | %10s | %6s |", what,
	     r->accounts, cl, r->ops, ops_s, a, b, c, cpu, rss, oth);
}

static const char TABLE_HEAD[] =
	"| benchmark                                        | accounts | clients |      ops |    "
	"ops/s |        p50 |        p99 |      p99.9 | daemon CPU/op | daemon RSS | others |\n"
	"|--------------------------------------------------|---------:|--------:|---------:|------"
	"---:|-----------:|-----------:|-----------:|--------------:|-----------:|-------:|\n";

struct row *add_row(const char *what, const char *accounts, int clients, unsigned long ops,
		    double secs, struct lat *l, double rss)
{
	if (nrows == sizeof(rows) / sizeof(rows[0]))
		die("too many rows");
	struct row *r = &rows[nrows++];
	memset(r, 0, sizeof(*r));
	sfmt(r->what, sizeof(r->what), "%s%s", row_prefix, what);
	sfmt(r->accounts, sizeof(r->accounts), "%s", accounts);
	r->clients = clients;
	r->ops = ops;
	r->ops_s = secs > 0 ? (double)ops / secs : NAN;
	r->rss_mib = rss;
	r->p50 = r->p99 = r->p999 = r->cpu_op = r->others = r->client_op = NAN;
	if (l && l->n) {
		lat_sort(l);
		r->p50 = pct_us(l, 0.50);
		r->p99 = pct_us(l, 0.99);
		r->p999 = pct_us(l, 0.999);
	}
	return r;
}

/* Progress: the row as it will appear in the table. */
void emit(const struct row *r)
{
	char line[512];
	fmt_row(r, line, sizeof(line));
	fprintf(stderr, "%s\n", line);
}

const struct row *row_find(const char *what, const char *accounts, int clients)
{
	for (size_t i = 0; i < nrows; i++)
		if (!strcmp(rows[i].what, what) &&
		    (!accounts || !strcmp(rows[i].accounts, accounts)) &&
		    (clients < 0 || rows[i].clients == clients))
			return &rows[i];
	return NULL;
}

/* Lines for the report, below the table (addnote). */
static char report_notes[8192];

__attribute__((format(printf, 1, 2))) void addnote(const char *fmt, ...)
{
	size_t l = strlen(report_notes);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(report_notes + l, sizeof(report_notes) - l, fmt, ap);
	va_end(ap);
	l = strlen(report_notes);
	if (l + 1 < sizeof(report_notes)) {
		report_notes[l] = '\n';
		report_notes[l + 1] = '\0';
	}
}

/* ---- the report ------------------------------------------------------------------------------- */

void target(FILE *out, int met, const char *fmt, ...)
{
	va_list ap;
	fprintf(out, "- %s: ", met < 0 ? "n/a " : met ? "MET " : "MISSED");
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fprintf(out, "\n");
}

static void sec_head(FILE *out, const struct run *r)
{
	fprintf(out, "\nsvcacct-bench%s on %s; total %.0f s\n", smoke ? " --smoke" : "", r->mach,
		r->total);
	fprintf(out,
		"Calibration: 600-byte append + fdatasync in %s: p50 %.0f us, p99 %.0f us; "
		"Ed25519 sign %.1f us, verify %.1f us (libsodium); "
		"durable round trip (connect, request, server writes 600 bytes + "
		"fdatasync, reply) p50 %.0f us, p99 %.0f us with the client "
		"sleeping in read(), p50 %.0f us with the client polling.\n"
		"Columns: daemon CPU/op = the daemon's user+system CPU time per "
		"operation; others = CPUs kept busy by processes other than this "
		"benchmark and its daemon during the measurement (of %ld).\n\n",
		tmp_root, r->cal.fsync_p50_us, r->cal.fsync_p99_us, r->cal.sign_us,
		r->cal.verify_us, r->cal.rtt_p50_us, r->cal.rtt_p99_us, r->cal.rtt_poll_p50_us,
		sysconf(_SC_NPROCESSORS_ONLN));
}

static void sec_table(FILE *out, const struct run *r)
{
	(void)r;
	fputs(TABLE_HEAD, out);
	for (size_t i = 0; i < nrows; i++) {
		char line[512];
		fmt_row(&rows[i], line, sizeof(line));
		fprintf(out, "%s\n", line);
	}
}

static void sec_settings(FILE *out, const struct run *r)
{
	(void)r;
	fprintf(out,
		"\nDaemon settings: the defaults (journal fdatasync before each reply "
		"that depends on a change, group commit, audit database + syslog "
		"lines, NSS snapshot), except rate_limit_count = 100000 and "
		"rate_limit_window = 1 so the per-key and per-caller limits do not "
		"throttle (1000000 is above the config maximum of 100000). "
		"Audit lines received by the syslog sink: %lu.\n",
		atomic_load(&sink_lines));
}

static void sec_pam_setup(FILE *out, const struct run *r)
{
	if (!isnan(r->pam_p50[0][PV_PERMIT]) || !isnan(r->pam_p50[1][PV_PERMIT]))
		fprintf(out, "\nPAM setup: as on an installed host, in a child's private mount "
			     "namespace (the host's files are untouched): copies of /etc/pam.d, "
			     "/etc/passwd and /etc/shadow; NSS configured: /etc/nsswitch.conf "
			     "is the host's with \"passwd: files svcacct\" and \"group: files "
			     "svcacct\", the build's libnss_svcacct.so.2 is loaded, and the "
			     "daemon's nss_dir is at " NSS_DIR_INSTALLED " (snapshot and "
			     "\"range\" link), so pam_svcacct recognises the service account "
			     "through NSS and prompts without asking svcacctd first (checked: "
			     "getpwnam(\"" PAM_ACCOUNT "\") resolves through the module). The "
			     "\"no NSS (lookup first)\" row runs in the same rounds with "
			     "\"passwd: files\" and \"group: files\", a host without NSS "
			     "configured (the bench's only setting before): pam_svcacct asks "
			     "svcacctd whether the name is a service account before prompting.\n");
}

static void sec_memory(FILE *out, const struct run *r)
{
	const struct grow_result *g = &r->g;
	if (!(phases & PH_MEMORY))
		return;
	if (!g->complete)
		fprintf(out,
			"\nMemory: the grow budget (%.0f s, %d clients) ran out at "
			"%lu accounts; the cost per account grew as %.2f ms + %.5f ms "
			"per account held, so reaching %lu would take about %.0f s more.",
			Z.grow_budget, GROW_CLIENTS, r->reached, g->a * 1e3, g->b * 1e3, Z.big,
			g->rest_secs);
	else
		fprintf(out, "\nMemory: %lu accounts created in %.0f s (%d clients).", r->reached,
			g->secs, GROW_CLIENTS);
	fprintf(out,
		" Daemon VmRSS with %lu accounts: %.1f MiB after creating them "
		"(RssAnon %.1f + RssFile %.1f), %.1f MiB after a restart "
		"(RssAnon %.1f + RssFile %.1f; RssFile is the program and its "
		"libraries: GDBM files are read without mmap).\n",
		r->reached, g->rss, g->anon, g->file, g->rss_restart, g->anon_restart,
		g->file_restart);
}

static void sec_notes(FILE *out, const struct run *r)
{
	(void)r;
	if (report_notes[0])
		fprintf(out, "\n%s", report_notes);
}

static void sec_pam_ratios(FILE *out, const struct run *r)
{
	for (int s = 0; s < 2; s++) {
		const double *p = r->pam_p50[s];
		if (isnan(p[PV_PERMIT]))
			continue;
		fprintf(out,
			"\nPAM (%s accounts, NSS as installed), p50: pam_permit %.3f ms; "
			"pam_svcacct key %.3f ms (+%.3f ms, %.1fx floor); token %.3f ms "
			"(+%.3f ms, %.1fx floor); pam_unix yescrypt %.3f ms (%.1fx floor; "
			"%.1fx the key path, %.1fx the token path). For information, without "
			"NSS (lookup first): key %.3f ms (+%.3f ms, %.1fx floor; %.3f ms more "
			"than with NSS).\n",
			s ? r->lbl_mgmt : r->lbl_small, p[PV_PERMIT] / 1000, p[PV_KEY] / 1000,
			(p[PV_KEY] - p[PV_PERMIT]) / 1000, p[PV_KEY] / p[PV_PERMIT],
			p[PV_TOKEN] / 1000, (p[PV_TOKEN] - p[PV_PERMIT]) / 1000,
			p[PV_TOKEN] / p[PV_PERMIT], p[PV_UNIX] / 1000, p[PV_UNIX] / p[PV_PERMIT],
			p[PV_UNIX] / p[PV_KEY], p[PV_UNIX] / p[PV_TOKEN], p[PV_KEY_NONSS] / 1000,
			(p[PV_KEY_NONSS] - p[PV_PERMIT]) / 1000, p[PV_KEY_NONSS] / p[PV_PERMIT],
			(p[PV_KEY_NONSS] - p[PV_KEY]) / 1000);
	}
}

/* What bounds the exchange: CPU per request on both sides. */
static void sec_exchange_cpu(FILE *out, const struct run *r)
{
	(void)r;
	for (size_t i = 0; i < nrows; i++) {
		const struct row *x = &rows[i];
		if (strncmp(x->what, "exchange:", 9) || isnan(x->cpu_op) || isnan(x->client_op))
			continue;
		double tot = x->cpu_op + x->client_op;
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		fprintf(out,
			"%sExchange, %d client(s), %s accounts: %.0f/s; CPU per exchange: daemon "
			"%.0f us + clients %.0f us = %.0f us, so at most %.0f/s on %ld idle CPUs "
			"and %.0f/s for the single-threaded daemon on one; others kept %.2f "
			"CPUs busy.\n",
			i && !strncmp(rows[i - 1].what, "exchange:", 9) ? "" : "\n", x->clients,
			x->accounts, x->ops_s, x->cpu_op, x->client_op, tot,
			(double)ncpu * 1e6 / tot, ncpu, 1e6 / x->cpu_op, x->others);
	}
}

static void sec_targets(FILE *out, const struct run *r)
{
	(void)r;
	fprintf(out, "\nTargets%s:\n", smoke ? " (smoke sizes: not meaningful)" : "");
}

static void target_pam(FILE *out, const struct run *r)
{
	for (int s = 0; s < 2; s++) {
		const double *p = r->pam_p50[s];
		const char *lb = s ? r->lbl_mgmt : r->lbl_small;
		if (isnan(p[PV_PERMIT])) {
			target(out, -1, "PAM (%s accounts): not measured", lb);
			continue;
		}
		for (int v = PV_KEY; v <= PV_TOKEN; v++) {
			double add = (p[v] - p[PV_PERMIT]) / 1000;
			target(out, add <= 0.5,
			       "PAM %s (%s accounts) adds %.3f ms at p50 over pam_permit (<= 0.5 "
			       "ms)",
			       v == PV_KEY ? "key" : "token", lb, add);
			target(out, p[PV_UNIX] / p[v] >= 25,
			       "PAM %s (%s accounts) %.1fx faster than pam_unix+yescrypt (>= 25x)",
			       v == PV_KEY ? "key" : "token", lb, p[PV_UNIX] / p[v]);
		}
		fprintf(out,
			"- info  : PAM key without NSS, lookup first (%s accounts): adds "
			"%.3f ms at p50 over pam_permit, %.1fx faster than "
			"pam_unix+yescrypt (for comparison; the targets use NSS as "
			"installed)\n",
			lb, (p[PV_KEY_NONSS] - p[PV_PERMIT]) / 1000, p[PV_UNIX] / p[PV_KEY_NONSS]);
		fprintf(out,
			"- info  : one durable round trip alone (calibration: request, "
			"600-byte write + fdatasync, reply) takes %.3f ms at p50 here "
			"(%.3f ms when the client polls instead of sleeping): a login "
			"with one durable audit write cannot add less\n",
			r->cal.rtt_p50_us / 1000, r->cal.rtt_poll_p50_us / 1000);
	}
}

static void target_exchange(FILE *out, const struct run *r)
{
	const char *lbls[2] = { r->lbl_small, r->lbl_mgmt };
	for (int s = 0; s < 2; s++) {
		if (s == 1 && !strcmp(lbls[0], lbls[1]))
			break;
		const struct row *x8 =
			row_find("exchange: TOKEN_CREATE (key -> token)", lbls[s], 8);
		if (x8)
			target(out, x8->ops_s >= 10000 && x8->p99 < 2000,
			       "exchange, 8 clients, %s accounts: %.0f/s (>= 10000), p99 %.2f ms "
			       "(< 2 ms)",
			       lbls[s], x8->ops_s, x8->p99 / 1000);
	}
}

static void target_memory(FILE *out, const struct run *r)
{
	const struct grow_result *g = &r->g;
	if (!(phases & PH_MEMORY))
		target(out, -1, "daemon RSS: not measured");
	else if (g->complete)
		target(out, g->rss < 32 && (isnan(g->rss_restart) || g->rss_restart < 32),
		       "daemon RSS with %lu accounts %.1f MiB (restart: %.1f MiB) (< 32 MiB)",
		       r->reached, g->rss, g->rss_restart);
	else
		target(out, g->rss >= 32 || g->rss_restart >= 32 ? 0 : -1,
		       "daemon RSS with %lu accounts: %lu reached in the budget, RSS there "
		       "%.1f MiB (restart: %.1f MiB) (< 32 MiB)",
		       Z.big, r->reached, g->rss, g->rss_restart);
}

/* The sections of the report, in the order they are printed. */
static void (*const report[])(FILE *, const struct run *) = {
	sec_head,        sec_table,      sec_settings,     sec_pam_setup, sec_memory,
	sec_notes,       sec_pam_ratios, sec_exchange_cpu, sec_targets,   target_pam,
	target_exchange, target_nss,     target_memory,    target_hub,    target_fleet,
};

/* The report, section by section, to stdout and --markdown FILE. */
void report_write(FILE *out, const struct run *r)
{
	for (size_t k = 0; k < sizeof(report) / sizeof(report[0]); k++)
		report[k](out, r);
}
