/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * svcacct-bench: what its files share (see main.c for what it measures).
 *
 *   main.c      options, the run's setup, the table of benchmarks, main()
 *   report.c    the result table and the report after the run
 *   daemon.c    the private svcacctd instances, the syslog sink, requests
 *   calib.c     calibration: fdatasync, Ed25519, a durable round trip
 *   exchange.c  exchange: TOKEN_CREATE throughput and latency
 *   mgmt.c      mgmt and memory: accounts + keys, ACCOUNT_LIST, growing
 *   pam.c       pam: in-process PAM transactions in a private namespace
 *   nss.c       nss: BUILD/nss-bench as a subprocess
 *   hub.c       hub: PostgreSQL, two hubs; exchange, PAM, create, revoke
 *   fleet.c     fleet: two hubs, N simulated agents (long polls), a real agent
 *   util.c      small helpers, latency samples, CPU accounting, machine
 */
#ifndef SVCACCT_BENCH_H
#define SVCACCT_BENCH_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "keyfmt.h"
#include "proto.h"
#include "sockio.h"

#define KEYBUF (SVCA_KEY_LEN + 1)
#define TOKBUF 1024
#define CALL_TIMEOUT_MS 120000
#define HOST_WS "bench-ws"
#define BENCH_TEAM "bench-team"
#define PAM_SERVICE_SVCA "bench-svcacct"
#define PAM_SERVICE_UNIX "bench-unix"
#define PAM_SERVICE_PERMIT "bench-permit"
#define PAM_ACCOUNT "bpam"
#define UNIX_USER "benchunix"
#define UNIX_PASSWORD "correct horse battery staple"
#define UID_MIN 2000000u
#define UID_MAX 2999999u

/* Where an installed svcacctd publishes the snapshot and the "range" link,
 * and where libnss_svcacct and pam_svcacct look by default (Makefile
 * NSS_DIR, SVCA_PAM_DEFAULT_NSS_DIR). */
#define NSS_DIR_INSTALLED "/var/lib/svcacct/nss"

/* ---- options and sizes (main.c) -------------------------------------------- */

struct sizes {
	unsigned long mgmt;      /* accounts (+1 key each) per management run */
	unsigned long small;     /* accounts with keys for the small exchange */
	double xdur;             /* seconds per exchange measurement */
	unsigned long list_reps; /* ACCOUNT_LIST repetitions */
	unsigned pam_rounds;     /* PAM: interleaved rounds */
	unsigned pam_fast;       /* iterations per round: permit, key, token */
	unsigned pam_unix;       /* iterations per round: pam_unix */
	double seq_budget;       /* seconds for the 1-client management run */
	double conc_budget;      /* seconds for the 8-client management run */
	unsigned long big;       /* accounts for the memory figure */
	double grow_budget;      /* seconds allowed to grow to big */
	const char *nss_counts;
	const char *nss_ops;
	const char *nss_T;
	const char *fleet;       /* fleet: agent counts, "10,100,1000" */
	unsigned long fleet_big; /* fleet: accounts in the big snapshot */
	unsigned fleet_revokes;  /* fleet: revokes per agent count */
	double fleet_idle;       /* fleet: seconds of the idle CPU window */
};

/* The --only phases: one bit per benchmark name of main.c's table. */
enum {
	PH_EXCHANGE = 1,
	PH_PAM = 2,
	PH_MGMT = 4,
	PH_NSS = 8,
	PH_MEMORY = 16,
	PH_HUB = 32,
	PH_FLEET = 64,
	PH_ALL = 127
};

extern struct sizes Z;  /* the sizes of this run (--smoke: SMOKE) */
extern unsigned phases; /* PH_ bits selected by --only */
extern int smoke, is_root;
extern pthread_attr_t small_stack; /* client threads need little stack */
extern char build_dir[PATH_MAX], tmp_root[PATH_MAX], work[PATH_MAX];

/* ---- small helpers, latency samples, CPU accounting (util.c) ---------------- */

__attribute__((format(printf, 1, 2), noreturn)) void die(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void note(const char *fmt, ...);
/* snprintf that may truncate (paths are bounded: -d is at most 200 bytes). */
__attribute__((format(printf, 3, 4))) void sfmt(char *dst, size_t len, const char *fmt, ...);

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void *xcalloc(size_t n, size_t size);
void write_text(const char *path, mode_t mode, const char *text);
char *read_text(const char *path);
void rm_rf(const char *path);
void machine(char *dst, size_t len);

struct lat {
	uint64_t *v; /* ns */
	size_t n, cap;
};

void lat_add(struct lat *l, uint64_t ns);
void lat_merge(struct lat *dst, const struct lat *src);
void lat_free(struct lat *l);
void lat_sort(struct lat *l);
double pct_us(const struct lat *l, double q);

struct cpu_mark {
	uint64_t t, busy, self, dmn;
	pid_t pid;
};

struct daemon;
extern double last_client_op; /* this program's CPU us per op in the last cpu_end */
uint64_t proc_ticks(pid_t pid, int children);
void cpu_begin(struct cpu_mark *m, const struct daemon *d);
void cpu_end(const struct cpu_mark *m, unsigned long ops, double *cpu_op, double *others);

/* ---- the result table (report.c) ------------------------------------------- */

struct row {
	char what[64];
	char accounts[16];
	int clients;
	unsigned long ops;
	double ops_s;          /* NAN: not applicable */
	double p50, p99, p999; /* us; NAN: not available */
	double rss_mib;        /* NAN: not applicable */
	double cpu_op;         /* daemon CPU us per operation; NAN: n/a */
	double others;         /* CPUs busy with other processes; NAN: n/a */
	double client_op;      /* this program's CPU us per operation; NAN: n/a */
	unsigned long errors;
};

extern struct row rows[128];
extern size_t nrows;
struct row *add_row(const char *what, const char *accounts, int clients, unsigned long ops,
		    double secs, struct lat *l, double rss);
void emit(const struct row *r);
/* Prepended to the name of every row added from now on ("" none). */
extern const char *row_prefix;
/* The first row with this name (accounts NULL and clients < 0: any). */
const struct row *row_find(const char *what, const char *accounts, int clients);
/* A line for the report, below the table. */
__attribute__((format(printf, 1, 2))) void addnote(const char *fmt, ...);

/* ---- the daemons and requests (daemon.c) ------------------------------------ */

struct daemon {
	char dir[PATH_MAX];
	char sock[PATH_MAX];
	pid_t pid;
};

extern struct daemon *cur; /* the one the request helpers talk to */
extern char sink_path[PATH_MAX];
extern atomic_ulong sink_lines;
void sink_start(const char *path);
void sink_stop_join(void);
void daemon_init(struct daemon *d, const char *name);
/* daemon_init with more config lines (extra ends with a newline). */
void daemon_init_conf(struct daemon *d, const char *name, const char *extra);
/* Stopped with SIGTERM when this program is interrupted (main.c). */
void register_daemon(struct daemon *d);
void daemon_start(struct daemon *d);
int daemon_stop(struct daemon *d);
double daemon_rss(const struct daemon *d);
void daemon_mem(const struct daemon *d, double *anon, double *file);
int call(struct svca_buf *b, struct svca_reply *rep, char *msg, size_t msglen);
int simple(uint16_t cmd, char *msg, size_t msglen, ...);
int account_create(const char *name, char *msg, size_t msglen);
int key_create(const char *name, char key[KEYBUF], char *msg, size_t msglen);
int token_create(const char *key, char *tok, size_t toklen, char *msg, size_t msglen);
/* Copies the first field with this tag (STR or BYTES) into dst; 0 or -1. */
int reply_text(const struct svca_reply *rep, uint16_t tag, char *dst, size_t len);
void setup_org(void);
char (*make_keyed(const char *prefix, unsigned long n))[KEYBUF];

/* ---- calibration (calib.c) --------------------------------------------------- */

struct calib {
	double fsync_p50_us, fsync_p99_us; /* 600-byte append + fdatasync */
	double sign_us, verify_us;         /* Ed25519, 400-byte message */
	/* The floor of a request whose reply waits for one fdatasync: a
	 * connection to a trivial server process that writes 600 bytes into
	 * a preallocated file, fdatasyncs and replies; the client waiting in
	 * read() (as every client does) or polling without sleeping (which
	 * shows what waking a sleeping client costs on this machine). */
	double rtt_p50_us, rtt_p99_us, rtt_poll_p50_us;
};

void calibrate(struct calib *c);

/* ---- the measurements (exchange.c, mgmt.c, pam.c, nss.c) -------------------- */

void xchg_run(struct daemon *d, char (*keys)[KEYBUF], size_t nkeys, int clients, double dur,
	      const char *accounts_label);

unsigned long mgmt_run(struct daemon *d, const char *prefix, unsigned long n, int clients,
		       unsigned long base, double budget);
void list_run(struct daemon *d, unsigned long reps, const char *accounts_label,
	      unsigned long expect);

struct grow_result {
	unsigned long created;
	double secs;
	double rss, anon, file;
	double rss_restart, anon_restart, file_restart;
	double rest_secs, a, b; /* extrapolation when incomplete */
	int complete;
};

#define GROW_CLIENTS 256
void grow_run(struct daemon *d, unsigned long have, unsigned long total, double budget,
	      struct grow_result *g);

/* PV_KEY and PV_TOKEN run with NSS configured as on an installed host;
 * PV_KEY_NONSS with "passwd: files" / "group: files" (pam_svcacct then asks
 * svcacctd whether the name is a service account before prompting). */
enum { PV_PERMIT, PV_KEY, PV_TOKEN, PV_KEY_NONSS, PV_UNIX, PV_N };
/* key NULL: without the two API-key variants. */
void pam_run(struct daemon *d, const char *dirname_, const char *key, const char *token,
	     const char *accounts_label, double *p50_out);

struct nss_fig {
	char backend[24];
	unsigned long entries;
	char lookup[16];
	unsigned long ops;
	double mean_ns, p50_ns, p99_ns;
};

void nss_run(void);
struct run;
/* The report's NSS targets (nss.c), printed with target() (report.c). */
void target_nss(FILE *out, const struct run *r);
void target(FILE *out, int met, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- one run (main.c) and its report (report.c) ----------------------------- */

/* One agent count of the fleet benchmark (fleet.c). */
#define FLEET_MAX_N 8
struct fleet_fig {
	unsigned n;           /* simulated agents */
	unsigned long props;  /* propagations measured (agents x revokes) */
	double p50, p99, max; /* revoke -> verified snapshot on an agent, ms */
	double rss_kib;       /* hubs' RSS per connected agent, polls held, KiB */
	double cpu_idle_us;   /* hubs' CPU per agent per second, idle, us */
	double cpu_burst_ms;  /* hubs' CPU per agent per revoke burst, ms */
	unsigned long errors;
};

/* What one run builds up step by step and the report reads: the main
 * daemon (d-main), whose store grows from a handful of accounts by --mgmt
 * and then to --big, the keys the exchange uses, the PAM account's
 * credentials, and the figures that are not rows of the table. */
struct run {
	struct daemon seq;     /* d-seq: the 1-client management run */
	struct daemon main;    /* d-main: everything else */
	char (*xkeys)[KEYBUF]; /* one key for each of Z.small accounts */
	char pamkey[KEYBUF], pamtok[TOKBUF];
	unsigned long have;               /* accounts in d-main */
	char lbl_small[24], lbl_mgmt[24]; /* the accounts column before and after mgmt */
	double pam_p50
		[2]
		[PV_N]; /* p50 per PAM variant, us: [0] before mgmt, [1] after; NAN: not measured */
	struct grow_result g;  /* the memory benchmark */
	unsigned long reached; /* accounts in d-main after it */
	struct calib cal;
	char mach[512];
	double total; /* seconds */
	/* hub (hub.c): NAN when not measured */
	int hub_ran, hub_stop_bad;
	char hub_skipped[200];
	double hub_x8_ops, hub_x8_p99, sa_x8_ops;
	double hub_create_p50, hub_create_p99, sa_create_p50;
	double hub_rev_p50, hub_rev_p99; /* us */
	unsigned long hub_rev_n, hub_rev_first;
	double hub_pam_p50[PV_N];
	/* fleet (fleet.c) */
	int fleet_ran;
	char fleet_skipped[200];
	double fleet_pam[3][PV_N]; /* p50 us: [0] standalone, [1] agent hubs up, [2] hubs down */
	int fleet_key_na;          /* key logins on the agent failed: not built yet */
	struct fleet_fig fleet[FLEET_MAX_N];
	size_t nfleet;
	unsigned long fleet_big;               /* accounts in the big snapshot */
	double fleet_snap_kib;                 /* its envelope, KiB */
	double fleet_sync_p50, fleet_sync_max; /* GET + verify + parse, ms */
	double fleet_verify_ms;                /* of which verify + parse, mean */
};

void bench_hub(struct run *r);
void bench_fleet(struct run *r);
void target_fleet(FILE *out, const struct run *r);
/* hub.c, shared with fleet.c: PostgreSQL (WORK/pg<tag>) and two hubs n1,
 * n2 (h2 with h1's pepper and audit.key), extra config lines each; the
 * database first filled by svcacctd --import import_dir when not NULL. */
int hubs_available(char *why, size_t len);
void hubs_up(const char *tag, struct daemon *h1, struct daemon *h2, const char *n1, const char *n2,
	     const char *extra1, const char *extra2, const char *import_dir);
void hubs_pg_stop(void);
int run_prog(char *const argv[], int as_pg, const char *log);

void target_hub(FILE *out, const struct run *r);

void report_write(FILE *out, const struct run *r);

#endif
