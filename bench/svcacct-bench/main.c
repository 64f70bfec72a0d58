/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * svcacct-bench: throughput, latency and memory of svcacct on this machine.
 *
 *   svcacct-bench [--smoke] [--keep] [--markdown FILE] [-d TMPDIR]
 *                 [--big N] [--mgmt N] [--duration S] [--grow-budget S]
 *                 [--only exchange,pam,mgmt,nss,memory,hub,fleet]
 *                 [--fleet N[,N...]] [--fleet-big N]
 *
 * It starts private svcacctd instances itself (BUILD/svcacctd -f -c CONF,
 * BUILD being the directory of this program) on a temporary directory,
 * with the daemon's normal durable settings: journal + fdatasync before
 * every reply that depends on a change (group commit), audit database and
 * syslog lines (to a datagram sink this program reads), NSS snapshot
 * rewritten after account changes.  The only settings that differ from the
 * defaults are paths, the uid range (room for --big accounts), the host
 * workspace, one PAM service name, and the rate limits (rate_limit_count =
 * 100000, rate_limit_window = 1: the config maximum; 1000000 is refused)
 * so that the per-key and per-caller limits do not throttle the run.
 *
 * Measured, each with operations/s, p50, p99, p99.9 and the daemon's RSS:
 *
 *   exchange   TOKEN_CREATE (API key -> session token) over the native
 *              protocol, 1, 8 and 64 client threads, one connection per
 *              request, keys spread over many accounts; with a handful of
 *              accounts and again with --mgmt accounts in the store
 *   pam        in-process pam_start/pam_authenticate/pam_acct_mgmt/pam_end
 *              through pam_svcacct (API key, session token), pam_unix with
 *              a yescrypt hash and pam_permit (the floor), interleaved, in
 *              a child with a private mount namespace (bind mounts over
 *              /etc/pam.d, /etc/passwd, /etc/shadow: the host is untouched)
 *              set up like an installed host: NSS configured (bind mounts
 *              over /etc/nsswitch.conf with "passwd: files svcacct" and
 *              "group: files svcacct", the daemon's nss_dir at
 *              /var/lib/svcacct/nss on a tmpfs over /var/lib that keeps the
 *              host's entries, the build's libnss_svcacct.so.2 loaded; see
 *              pam_child), so pam_svcacct recognises the service account
 *              through NSS and prompts without asking svcacctd first.  One
 *              more row, "API key, no NSS (lookup first)", runs in the same
 *              rounds with "passwd: files" / "group: files" (a host without
 *              NSS configured): pam_svcacct then asks the daemon first.
 *   nss        getpwnam/getpwuid: BUILD/nss-bench (bench/nss-bench.c) run
 *              as a subprocess, module vs glibc "files", 10 and --big
 *              entries
 *   mgmt       --mgmt accounts with one API key each, 1 client (its own
 *              fresh daemon) and 8 clients (the main daemon); ACCOUNT_LIST.
 *              Each run has a time budget; when it runs out, the time for
 *              all --mgmt is extrapolated from the observed cost per
 *              account (a + b * accounts held: it grows with the store)
 *   memory     the daemon grown to --big accounts (ACCOUNT_CREATE, 256
 *              clients, no keys) within --grow-budget seconds; when the
 *              budget runs out the figure is the reached count, and the
 *              time to --big is extrapolated from the observed rate
 *   hub        two hubs (DESIGN.md section 9) on a throwaway PostgreSQL
 *              cluster (hub.c): exchange at 8 clients beside standalone,
 *              PAM, ACCOUNT_CREATE (hub and standalone), and the time from
 *              a key revoked on one hub to its refusal on the other; only
 *              when the PostgreSQL server binaries are installed
 *   fleet      two hubs on https_listen and N simulated agents each (--fleet
 *              N,N..., default 10,100,1000) holding long polls (fleet.c):
 *              revoke -> verified snapshot on every agent (p50/p99/max),
 *              the hubs' CPU and RSS per agent, the snapshot of
 *              --fleet-big accounts (size, full sync), PAM logins on a real
 *              agent with the hubs up and down beside standalone
 *
 * The passwd copy of the PAM part also holds _svcacct, the daemon's user as
 * the packages create it: pam_svcacct resolves daemon_user on every call.
 *
 * The table, notes and targets go to stdout (and --markdown FILE), progress
 * to stderr.  Exit status 1 when a request failed or a daemon did not stop
 * cleanly.  --smoke runs everything but fleet with tiny counts (for `make
 * check`; --smoke --only fleet: 3 agents, 100 accounts).
 * Root is needed for the PAM and NSS parts (PAM requests are root-only in
 * svcacctd; mount namespaces); without root they are skipped.
 *
 * This file: the options, the setup every benchmark starts from, the table
 * of benchmarks (benchmarks[] below: name for --only, what it needs, its
 * function) and main(), which walks it and then writes the report
 * (report.c).  Adding a benchmark: a function in a file of its own, a
 * prototype in bench.h, a row in benchmarks[] (a PH_ bit for --only when
 * it is a new name) and, when it has targets, a section in report.c.  The
 * other files are listed at the top of bench.h.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

/* ---- options and sizes --------------------------------------------------- */

struct sizes Z = {
	.mgmt = 10000,
	.small = 64,
	.xdur = 4.0,
	.list_reps = 5,
	.pam_rounds = 10,
	.pam_fast = 150,
	.pam_unix = 6,
	.seq_budget = 120,
	.conc_budget = 150,
	.big = 100000,
	.grow_budget = 240,
	.nss_counts = "10,100000",
	.nss_ops = "20000",
	.nss_T = "2",
	.fleet = "10,100,1000",
	.fleet_big = 10000,
	.fleet_revokes = 5,
	.fleet_idle = 30, /* > AGENT_HOLD_MS: each held poll is answered and renewed once */
};

static const struct sizes SMOKE = {
	.mgmt = 40,
	.small = 8,
	.xdur = 0.3,
	.list_reps = 2,
	.pam_rounds = 2,
	.pam_fast = 10,
	.pam_unix = 1,
	.seq_budget = 8,
	.conc_budget = 8,
	.big = 300,
	.grow_budget = 8,
	.nss_counts = "10,1000",
	.nss_ops = "2000",
	.nss_T = "0.5",
	.fleet = "3",
	.fleet_big = 100,
	.fleet_revokes = 2,
	.fleet_idle = 0.5,
};

unsigned phases = PH_ALL;
int smoke, is_root;
static int keep;
pthread_attr_t small_stack;
char build_dir[PATH_MAX], tmp_root[PATH_MAX] = "/tmp", work[PATH_MAX];
static const char *markdown_path;

/* ---- the setup every benchmark starts from ------------------------------------------------ */

static struct daemon *all_daemons[12];

void register_daemon(struct daemon *d)
{
	for (size_t i = 3; i < sizeof(all_daemons) / sizeof(all_daemons[0]); i++)
		if (!all_daemons[i]) {
			all_daemons[i] = d;
			return;
		}
}

/* d-main with the team, the host workspace, Z.small accounts with a key
 * each and the PAM account (granted editor on the host workspace) with a
 * key and a token: what every benchmark starts from. */
static void run_setup(struct run *r)
{
	char msg[300];
	daemon_init(&r->main, "d-main");
	all_daemons[1] = &r->main;
	daemon_start(&r->main);
	setup_org();
	r->xkeys = make_keyed("bx", Z.small);
	if (account_create(PAM_ACCOUNT, msg, sizeof(msg)) < 0 ||
	    simple(SVCA_CMD_GRANT_ADD, msg, sizeof(msg), F_NAME, PAM_ACCOUNT, F_WORKSPACE, HOST_WS,
		   F_ROLE, "editor", 0) < 0 ||
	    key_create(PAM_ACCOUNT, r->pamkey, msg, sizeof(msg)) < 0 ||
	    token_create(r->pamkey, r->pamtok, sizeof(r->pamtok), msg, sizeof(msg)) < 0)
		die("setting up the PAM account: %s", msg);
	sfmt(r->lbl_small, sizeof(r->lbl_small), "%lu", Z.small + 1);
	r->have = Z.small + 1;
	sfmt(r->lbl_mgmt, sizeof(r->lbl_mgmt), "%lu", r->have);
}

/* ---- the benchmarks ------------------------------------------------------------------------ */

static void exchange_at(struct run *r, const char *accounts_label)
{
	static const int levels[3] = { 1, 8, 64 };
	note("-- token exchange, %s accounts", accounts_label);
	for (int i = 0; i < 3; i++)
		xchg_run(&r->main, r->xkeys, Z.small, levels[i], Z.xdur, accounts_label);
}

static void bench_exchange_small(struct run *r)
{
	exchange_at(r, r->lbl_small);
}

static void bench_exchange_mgmt(struct run *r)
{
	exchange_at(r, r->lbl_mgmt);
}

static void bench_pam_small(struct run *r)
{
	note("-- PAM, %s accounts", r->lbl_small);
	pam_run(&r->main, "pam-small", r->pamkey, r->pamtok, r->lbl_small, r->pam_p50[0]);
}

static void bench_pam_mgmt(struct run *r)
{
	char msg[300], tok2[TOKBUF];
	note("-- PAM, %s accounts", r->lbl_mgmt);
	if (token_create(r->pamkey, tok2, sizeof(tok2), msg, sizeof(msg)) < 0)
		die("token for PAM: %s", msg);
	pam_run(&r->main, "pam-big", r->pamkey, tok2, r->lbl_mgmt, r->pam_p50[1]);
	explicit_bzero(tok2, sizeof(tok2));
}

/* Sequential on its own fresh daemon, then 8 clients on d-main (whose
 * store keeps the accounts), then ACCOUNT_LIST there. */
static void bench_mgmt(struct run *r)
{
	note("-- management: %lu accounts with a key each, 1 client (fresh daemon)", Z.mgmt);
	daemon_init(&r->seq, "d-seq");
	all_daemons[0] = &r->seq;
	daemon_start(&r->seq);
	mgmt_run(&r->seq, "bm", Z.mgmt, 1, 0, Z.seq_budget);
	daemon_stop(&r->seq);
	cur = &r->main;

	note("-- management: %lu accounts with a key each, 8 clients", Z.mgmt);
	r->have += mgmt_run(&r->main, "bc", Z.mgmt, 8, r->have, Z.conc_budget);
	sfmt(r->lbl_mgmt, sizeof(r->lbl_mgmt), "%lu", r->have);
	list_run(&r->main, Z.list_reps, r->lbl_mgmt, r->have);
}

static void bench_nss(struct run *r)
{
	(void)r;
	note("-- NSS: %s/nss-bench -n %s", build_dir, Z.nss_counts);
	nss_run();
}

/* d-main grown to Z.big accounts, ACCOUNT_LIST there, and its RSS again
 * after a restart with that state. */
static void bench_memory(struct run *r)
{
	char msg[300], lbl_big[24];
	note("-- growing the daemon to %lu accounts (budget %.0f s)", Z.big, Z.grow_budget);
	grow_run(&r->main, r->have, Z.big, Z.grow_budget, &r->g);
	r->reached = r->have + r->g.created;
	sfmt(lbl_big, sizeof(lbl_big), "%lu", r->reached);
	list_run(&r->main, smoke ? 1 : 2, lbl_big, r->reached);
	if (!r->g.complete)
		note("grow budget spent: %lu accounts after %.0f s; %lu more would take about "
		     "%.0f s (cost per account %.2f ms + %.5f ms per account held)",
		     r->reached, r->g.secs, Z.big - r->reached, r->g.rest_secs, r->g.a * 1e3,
		     r->g.b * 1e3);
	/* RSS right after a restart with that state */
	daemon_stop(&r->main);
	daemon_start(&r->main);
	/* one exchange and one list, so the daemon has served requests */
	token_create(r->xkeys[0], NULL, 0, msg, sizeof(msg));
	r->g.rss_restart = daemon_rss(&r->main);
	daemon_mem(&r->main, &r->g.anon_restart, &r->g.file_restart);
	note("daemon RSS after a restart with %lu accounts: %.1f MiB", r->reached,
	     r->g.rss_restart);
}

/* The benchmarks in the order they run, on d-main unless said otherwise.
 * --only selects by name (a benchmark runs when its phase and every phase
 * of `after` are selected); --smoke runs all but fleet with the SMOKE sizes.
 * exchange and pam run twice: with a handful of accounts, and again once
 * mgmt has added its accounts to the store. */
struct benchmark {
	const char *name;    /* its word for --only */
	unsigned phase;      /* the PH_ bit that word selects */
	unsigned after;      /* PH_ bits it needs as well: benchmarks that built its store */
	int root;            /* needs root: PAM requests, mount namespaces */
	const char *skipped; /* note when selected but not root; NULL: silent */
	const char *measures;
	void (*run)(struct run *);
};

static const struct benchmark benchmarks[] = {
	{ .name = "exchange",
	  .phase = PH_EXCHANGE,
	  .run = bench_exchange_small,
	  .measures = "TOKEN_CREATE (API key -> session token), 1, 8 and 64 clients, "
		      "a handful of accounts" },
	{ .name = "pam",
	  .phase = PH_PAM,
	  .run = bench_pam_small,
	  .root = 1,
	  .skipped = "PAM: skipped (needs root: svcacctd answers PAM requests from root only)",
	  .measures = "a PAM transaction in-process: pam_permit, pam_svcacct (key, token, key "
		      "without NSS), pam_unix+yescrypt; a handful of accounts" },
	{ .name = "mgmt",
	  .phase = PH_MGMT,
	  .run = bench_mgmt,
	  .measures = "--mgmt accounts with a key each, 1 client (fresh daemon d-seq) and 8 "
		      "clients; ACCOUNT_LIST" },
	{ .name = "exchange",
	  .phase = PH_EXCHANGE,
	  .after = PH_MGMT,
	  .run = bench_exchange_mgmt,
	  .measures = "the exchange again with mgmt's accounts in the store" },
	{ .name = "pam",
	  .phase = PH_PAM,
	  .after = PH_MGMT,
	  .run = bench_pam_mgmt,
	  .root = 1,
	  .measures = "PAM again with mgmt's accounts in the store" },
	{ .name = "nss",
	  .phase = PH_NSS,
	  .run = bench_nss,
	  .root = 1,
	  .skipped = "NSS: skipped (nss-bench needs root for its mount namespace)",
	  .measures = "getpwnam/getpwuid, libnss_svcacct vs glibc files (BUILD/nss-bench, "
		      "no daemon)" },
	{ .name = "memory",
	  .phase = PH_MEMORY,
	  .run = bench_memory,
	  .measures = "d-main grown to --big accounts (256 clients) in --grow-budget s: RSS, "
		      "then after a restart" },
	{ .name = "hub",
	  .phase = PH_HUB,
	  .run = bench_hub,
	  .root = 1,
	  .skipped = "hub: skipped (needs root: initdb runs as the user postgres)",
	  .measures = "two hubs on a throwaway PostgreSQL cluster: exchange (8 clients), PAM, "
		      "account create beside standalone, revoke on h-2 -> refused on h-1" },
	{ .name = "fleet",
	  .phase = PH_FLEET,
	  .run = bench_fleet,
	  .root = 1,
	  .skipped = "fleet: skipped (needs root: initdb runs as the user postgres)",
	  .measures = "two hubs on https_listen, N simulated agents holding long polls: "
		      "revoke -> verified snapshot, hub CPU/RSS per agent, the big snapshot, "
		      "PAM on a real agent with the hubs up and down" },
};
#define NBENCH (sizeof(benchmarks) / sizeof(benchmarks[0]))

/* ---- main ------------------------------------------------------------------------------------ */

static void on_signal(int sig)
{
	for (size_t i = 0; i < sizeof(all_daemons) / sizeof(all_daemons[0]); i++)
		if (all_daemons[i] && all_daemons[i]->pid)
			kill(all_daemons[i]->pid, SIGTERM);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: svcacct-bench [--smoke] [--keep] [--markdown FILE] [-d TMPDIR]\n"
		"                     [--mgmt N] [--big N] [--duration S] [--grow-budget S]\n"
		"                     [--only exchange,pam,mgmt,nss,memory,hub,fleet]\n"
		"                     [--fleet N[,N...]] [--fleet-big N]\n");
	exit(2);
}

static void options(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--smoke")) {
			smoke = 1;
			Z = SMOKE;
		} else if (!strcmp(a, "--keep")) {
			keep = 1;
		} else if (!strcmp(a, "--markdown") && v) {
			markdown_path = v;
			i++;
		} else if (!strcmp(a, "-d") && v) {
			if (strlen(v) > 200 || v[0] != '/')
				die("-d: an absolute path of at most 200 bytes");
			sfmt(tmp_root, sizeof(tmp_root), "%s", v);
			i++;
		} else if (!strcmp(a, "--mgmt") && v) {
			Z.mgmt = strtoul(v, NULL, 10);
			i++;
		} else if (!strcmp(a, "--big") && v) {
			Z.big = strtoul(v, NULL, 10);
			i++;
		} else if (!strcmp(a, "--duration") && v) {
			Z.xdur = atof(v);
			i++;
		} else if (!strcmp(a, "--fleet") && v) {
			Z.fleet = v;
			i++;
		} else if (!strcmp(a, "--fleet-big") && v) {
			Z.fleet_big = strtoul(v, NULL, 10);
			i++;
		} else if (!strcmp(a, "--grow-budget") && v) {
			Z.grow_budget = atof(v);
			i++;
		} else if (!strcmp(a, "--only") && v) {
			phases = 0;
			for (size_t k = 0; k < NBENCH; k++)
				if (strstr(v, benchmarks[k].name))
					phases |= benchmarks[k].phase;
			if (!phases)
				usage();
			i++;
		} else {
			usage();
		}
	}
	if (Z.mgmt < 1 || Z.big < 1 || Z.xdur <= 0 || Z.small < 1 || Z.fleet_big < 1)
		usage();
	/* make check's smoke pass stays short: the fleet has its own
	 * (tests/integration/t_fleet_bench.sh: --smoke --only fleet). */
	if (smoke && phases == PH_ALL)
		phases &= ~(unsigned)PH_FLEET;
}

int main(int argc, char **argv)
{
	static struct run run;
	options(argc, argv);

	char self[PATH_MAX];
	if (!realpath("/proc/self/exe", self))
		die("realpath /proc/self/exe: %s", strerror(errno));
	sfmt(build_dir, sizeof(build_dir), "%.*s", (int)(strrchr(self, '/') - self), self);
	is_root = geteuid() == 0;
	pthread_attr_init(&small_stack);
	pthread_attr_setstacksize(&small_stack, 512 * 1024);
	setvbuf(stdout, NULL, _IOLBF, 0);

	sfmt(work, sizeof(work), "%s/svcacct-bench.XXXXXX", tmp_root);
	if (!mkdtemp(work))
		die("mkdtemp %s: %s", work, strerror(errno));
	chmod(work, 0755);
	sfmt(sink_path, sizeof(sink_path), "%s/log.sock", work);
	sink_start(sink_path);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	machine(run.mach, sizeof(run.mach));
	calibrate(&run.cal);
	note("svcacct-bench%s: machine: %s", smoke ? " --smoke" : "", run.mach);
	note("work dir %s; daemons: %s/svcacctd with durable defaults", work, build_dir);
	note("config: rate_limit_count = 100000; rate_limit_window = 1 (the per-key and per-caller "
	     "limits would otherwise allow 10 per 10 s; 1000000 is above the config maximum)");
	uint64_t t_start = now_ns();
	for (int s = 0; s < 2; s++)
		for (int v = 0; v < PV_N; v++)
			run.pam_p50[s][v] = run.hub_pam_p50[v] = NAN;
	run.g.rss_restart = NAN;

	run_setup(&run);
	for (size_t k = 0; k < NBENCH; k++) {
		const struct benchmark *b = &benchmarks[k];
		unsigned want = b->phase | b->after;
		if ((phases & want) != want)
			continue;
		if (b->root && !is_root) {
			if (b->skipped)
				note("%s", b->skipped);
			continue;
		}
		b->run(&run);
	}
	int stop_bad = daemon_stop(&run.main);
	sink_stop_join();
	run.total = (double)(now_ns() - t_start) / 1e9;

	FILE *outs[2] = { stdout, NULL };
	if (markdown_path && !(outs[1] = fopen(markdown_path, "we")))
		die("%s: %s", markdown_path, strerror(errno));
	for (int o = 0; o < 2; o++)
		if (outs[o])
			report_write(outs[o], &run);
	if (outs[1])
		fclose(outs[1]);

	explicit_bzero(run.xkeys, Z.small * KEYBUF);
	free(run.xkeys);
	explicit_bzero(run.pamkey, sizeof(run.pamkey));
	explicit_bzero(run.pamtok, sizeof(run.pamtok));
	if (keep)
		note("kept %s", work);
	else
		rm_rf(work);
	size_t errors = 0;
	for (size_t i = 0; i < nrows; i++)
		errors += rows[i].errors;
	return stop_bad || run.hub_stop_bad || errors ? 1 : 0;
}
