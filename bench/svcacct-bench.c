/*
 * svcacct-bench: throughput, latency and memory of svcacct on this machine.
 *
 *   svcacct-bench [--smoke] [--keep] [--markdown FILE] [-d TMPDIR]
 *                 [--big N] [--mgmt N] [--duration S] [--grow-budget S]
 *                 [--only exchange,pam,mgmt,nss,memory]
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
 *
 * The passwd copy of the PAM part also holds _svcacct, the daemon's user as
 * the packages create it: pam_svcacct resolves daemon_user on every call.
 *
 * The table, notes and targets go to stdout (and --markdown FILE), progress
 * to stderr.  Exit status 1 when a request failed or a daemon did not stop
 * cleanly.  --smoke runs everything with tiny counts (for `make check`).
 * Root is needed for the PAM and NSS parts (PAM requests are root-only in
 * svcacctd; mount namespaces); without root they are skipped.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <link.h>
#include <math.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <crypt.h>
#include <security/pam_appl.h>
#include <sodium.h>

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

/* ---- options and sizes --------------------------------------------------- */

struct sizes {
	unsigned long mgmt;       /* accounts (+1 key each) per management run */
	unsigned long small;      /* accounts with keys for the small exchange */
	double xdur;              /* seconds per exchange measurement */
	unsigned long list_reps;  /* ACCOUNT_LIST repetitions */
	unsigned pam_rounds;      /* PAM: interleaved rounds */
	unsigned pam_fast;        /* iterations per round: permit, key, token */
	unsigned pam_unix;        /* iterations per round: pam_unix */
	double seq_budget;        /* seconds for the 1-client management run */
	double conc_budget;       /* seconds for the 8-client management run */
	unsigned long big;        /* accounts for the memory figure */
	double grow_budget;       /* seconds allowed to grow to big */
	const char *nss_counts;
	const char *nss_ops;
	const char *nss_T;
};

static struct sizes Z = {
	.mgmt = 10000, .small = 64, .xdur = 4.0, .list_reps = 5, .pam_rounds = 10,
	.pam_fast = 150, .pam_unix = 6, .seq_budget = 120, .conc_budget = 150,
	.big = 100000, .grow_budget = 240,
	.nss_counts = "10,100000", .nss_ops = "20000", .nss_T = "2",
};

static const struct sizes SMOKE = {
	.mgmt = 40, .small = 8, .xdur = 0.3, .list_reps = 2, .pam_rounds = 2,
	.pam_fast = 10, .pam_unix = 1, .seq_budget = 8, .conc_budget = 8,
	.big = 300, .grow_budget = 8,
	.nss_counts = "10,1000", .nss_ops = "2000", .nss_T = "0.5",
};

enum { PH_EXCHANGE = 1, PH_PAM = 2, PH_MGMT = 4, PH_NSS = 8, PH_MEMORY = 16, PH_ALL = 31 };
static unsigned phases = PH_ALL;
static int smoke, keep, is_root;
static pthread_attr_t small_stack; /* client threads need little stack */
static char build_dir[PATH_MAX], tmp_root[PATH_MAX] = "/tmp", work[PATH_MAX];
static const char *markdown_path;

/* ---- small helpers ------------------------------------------------------- */

__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "svcacct-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

__attribute__((format(printf, 1, 2)))
static void note(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "# ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

/* snprintf that may truncate (paths are bounded: -d is at most 200 bytes). */
__attribute__((format(printf, 3, 4)))
static void sfmt(char *dst, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		die("out of memory");
	return p;
}

static void write_text(const char *path, mode_t mode, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t n = strlen(text);
	if (fd < 0 || write(fd, text, n) != (ssize_t)n || close(fd) != 0)
		die("write %s: %s", path, strerror(errno));
	chmod(path, mode);
}

/* Reads a whole file (NUL-terminated); NULL when it cannot. */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = xcalloc(cap, 1);
	size_t r;
	while ((r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += r;
		if (cap - len < 2) {
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				die("out of memory");
			buf = nb;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static void rm_rf(const char *path)
{
	pid_t pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", "--", path, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* ---- latency samples ------------------------------------------------------- */

struct lat {
	uint64_t *v; /* ns */
	size_t n, cap;
};

static void lat_add(struct lat *l, uint64_t ns)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 1024;
		uint64_t *nv = realloc(l->v, nc * sizeof(*nv));
		if (!nv)
			die("out of memory");
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = ns;
}

static void lat_merge(struct lat *dst, const struct lat *src)
{
	for (size_t i = 0; i < src->n; i++)
		lat_add(dst, src->v[i]);
}

static void lat_free(struct lat *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile in microseconds (l must be sorted). */
static double pct_us(const struct lat *l, double q)
{
	if (!l->n)
		return NAN;
	double r = ceil(q * (double)l->n);
	size_t i = r < 1 ? 0 : (size_t)r - 1;
	if (i >= l->n)
		i = l->n - 1;
	return (double)l->v[i] / 1000.0;
}

static void lat_sort(struct lat *l)
{
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_u64);
}

/* ---- the result table ---------------------------------------------------- */

struct row {
	char what[64];
	char accounts[16];
	int clients;
	unsigned long ops;
	double ops_s;           /* NAN: not applicable */
	double p50, p99, p999;  /* us; NAN: not available */
	double rss_mib;         /* NAN: not applicable */
	double cpu_op;          /* daemon CPU us per operation; NAN: n/a */
	double others;          /* CPUs busy with other processes; NAN: n/a */
	double client_op;       /* this program's CPU us per operation; NAN: n/a */
	unsigned long errors;
};

static struct row rows[64];
static size_t nrows;

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
	sfmt(dst, len, "| %-48s | %8s | %7s | %8lu | %8s | %10s | %10s | %10s | %13s | %10s | %6s |",
	     what, r->accounts, cl, r->ops, ops_s, a, b, c, cpu, rss, oth);
}

static const char TABLE_HEAD[] =
	"| benchmark                                        | accounts | clients |      ops |    ops/s |        p50 |        p99 |      p99.9 | daemon CPU/op | daemon RSS | others |\n"
	"|--------------------------------------------------|---------:|--------:|---------:|---------:|-----------:|-----------:|-----------:|--------------:|-----------:|-------:|\n";

static struct row *add_row(const char *what, const char *accounts, int clients,
			   unsigned long ops, double secs, struct lat *l, double rss)
{
	if (nrows == sizeof(rows) / sizeof(rows[0]))
		die("too many rows");
	struct row *r = &rows[nrows++];
	memset(r, 0, sizeof(*r));
	sfmt(r->what, sizeof(r->what), "%s", what);
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
static void emit(const struct row *r)
{
	char line[512];
	fmt_row(r, line, sizeof(line));
	fprintf(stderr, "%s\n", line);
}

static const struct row *find_row(const char *what, const char *accounts, int clients)
{
	for (size_t i = 0; i < nrows; i++)
		if (!strcmp(rows[i].what, what) && (!accounts || !strcmp(rows[i].accounts, accounts)) &&
		    (clients < 0 || rows[i].clients == clients))
			return &rows[i];
	return NULL;
}

/* ---- syslog sink ------------------------------------------------------------- */

static int sink_fd = -1;
static atomic_int sink_stop;
static atomic_ulong sink_lines;
static pthread_t sink_thread;

static void *sink_main(void *arg)
{
	static char buf[65536];
	(void)arg;
	while (!atomic_load(&sink_stop)) {
		ssize_t r = recv(sink_fd, buf, sizeof(buf), 0);
		if (r > 0)
			atomic_fetch_add(&sink_lines, 1);
	}
	return NULL;
}

static void sink_start(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		die("syslog sink path too long: %s", path);
	strcpy(sa.sun_path, path);
	sink_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int big = 4 << 20;
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	if (sink_fd < 0 || bind(sink_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("syslog sink %s: %s", path, strerror(errno));
	setsockopt(sink_fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	setsockopt(sink_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	chmod(path, 0666);
	if (pthread_create(&sink_thread, NULL, sink_main, NULL) != 0)
		die("pthread_create");
}

static void sink_stop_join(void)
{
	if (sink_fd < 0)
		return;
	atomic_store(&sink_stop, 1);
	pthread_join(sink_thread, NULL);
	close(sink_fd);
	sink_fd = -1;
}

/* ---- the daemon -------------------------------------------------------------- */

struct daemon {
	char dir[PATH_MAX];
	char sock[PATH_MAX];
	pid_t pid;
};

static struct daemon *cur; /* the one the request helpers talk to */
static char sink_path[PATH_MAX];

static void write_config(struct daemon *d)
{
	char conf[PATH_MAX + 64], text[4096];
	sfmt(text, sizeof(text),
		 "# svcacct-bench: a private daemon.  Everything not set here is the\n"
		 "# built-in default (durable journal, audit database, syslog, snapshot).\n"
		 "socket = \"%s/svcacctd.sock\";\n"
		 "state_dir = \"%s/state\";\n"
		 "nss_dir = \"%s/nss\";\n"
		 "uid_min = %u;\n"
		 "uid_max = %u;\n"
		 "host_workspaces = [ \"" HOST_WS "\" ];\n"
		 "services = {\n"
		 "\tlogin = [ \"" PAM_SERVICE_SVCA "\", \"sshd\", \"login\", \"su\", \"su-l\", \"cron\" ];\n"
		 "\tsudo = [ \"sudo\", \"sudo-i\" ];\n"
		 "};\n"
		 "syslog = true;\n"
		 "syslog_socket = \"%s\";\n"
		 "# rate limits out of the way (the maximum count the config accepts)\n"
		 "rate_limit_count = 100000;\n"
		 "rate_limit_window = 1;\n",
		 d->dir, d->dir, d->dir, UID_MIN, UID_MAX, sink_path);
	sfmt(conf, sizeof(conf), "%s/svcacctd.conf", d->dir);
	write_text(conf, 0644, text);
}

static void daemon_init(struct daemon *d, const char *name)
{
	char p[PATH_MAX + 32];
	memset(d, 0, sizeof(*d));
	sfmt(d->dir, sizeof(d->dir), "%s/%s", work, name);
	sfmt(d->sock, sizeof(d->sock), "%s/svcacctd.sock", d->dir);
	if (strlen(d->sock) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		die("socket path too long: %s (use -d with a shorter directory)", d->sock);
	if (mkdir(d->dir, 0755) < 0)
		die("mkdir %s: %s", d->dir, strerror(errno));
	chmod(d->dir, 0755);
	sfmt(p, sizeof(p), "%s/state", d->dir);
	if (mkdir(p, 0700) < 0)
		die("mkdir %s: %s", p, strerror(errno));
	sfmt(p, sizeof(p), "%s/nss", d->dir);
	if (mkdir(p, 0755) < 0)
		die("mkdir %s: %s", p, strerror(errno));
	chmod(p, 0755);
	write_config(d);
}

static void show_log_tail(const struct daemon *d)
{
	char p[PATH_MAX + 32];
	sfmt(p, sizeof(p), "%s/daemon.log", d->dir);
	char *t = read_text(p);
	if (t) {
		size_t n = strlen(t);
		fprintf(stderr, "--- %s (tail):\n%s\n", p, n > 3000 ? t + n - 3000 : t);
		free(t);
	}
}

static int ping(const struct daemon *d)
{
	struct svca_buf b;
	struct svca_reply rep;
	struct svca_call_opts o = { .path = d->sock, .timeout_ms = 2000, .trusted_uid = -1 };
	svca_buf_init(&b, 0);
	svca_frame_begin(&b, SVCA_CMD_PING);
	svca_frame_end(&b);
	int ok = svca_call(&o, &b, &rep, NULL, 0) == SVCA_CALL_OK && rep.status == SVCA_OK;
	svca_reply_free(&rep);
	svca_buf_free(&b);
	return ok;
}

static void daemon_start(struct daemon *d)
{
	char exe[PATH_MAX + 16], conf[PATH_MAX + 32], log[PATH_MAX + 32];
	sfmt(exe, sizeof(exe), "%s/svcacctd", build_dir);
	sfmt(conf, sizeof(conf), "%s/svcacctd.conf", d->dir);
	sfmt(log, sizeof(log), "%s/daemon.log", d->dir);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execl(exe, exe, "-f", "-c", conf, (char *)NULL);
		_exit(127);
	}
	d->pid = pid;
	uint64_t t0 = now_ns();
	for (;;) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			d->pid = 0;
			show_log_tail(d);
			die("svcacctd exited during startup (status %d)",
			    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		}
		if (ping(d))
			break;
		if (now_ns() - t0 > 120ull * 1000000000u) {
			show_log_tail(d);
			die("svcacctd did not answer on %s within 120 s", d->sock);
		}
		usleep(5000);
	}
	cur = d;
}

static int daemon_stop(struct daemon *d)
{
	int st = 0;
	if (!d->pid)
		return 0;
	kill(d->pid, SIGTERM);
	uint64_t t0 = now_ns();
	for (;;) {
		pid_t r = waitpid(d->pid, &st, WNOHANG);
		if (r == d->pid)
			break;
		if (now_ns() - t0 > 120ull * 1000000000u) {
			note("svcacctd %d ignored SIGTERM for 120 s; killing it", (int)d->pid);
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &st, 0);
			break;
		}
		usleep(10000);
	}
	d->pid = 0;
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
		note("svcacctd exited with status %d", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		show_log_tail(d);
		return -1;
	}
	return 0;
}

/* VmRSS of the daemon in MiB. */
static double daemon_rss(const struct daemon *d)
{
	char p[64], line[256];
	double kb = NAN;
	sfmt(p, sizeof(p), "/proc/%d/status", (int)d->pid);
	FILE *f = fopen(p, "re");
	if (!f)
		return NAN;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtod(line + 6, NULL);
	fclose(f);
	return kb / 1024.0;
}

/* RssAnon and RssFile of the daemon in MiB (GDBM maps its files: RssFile). */
static void daemon_mem(const struct daemon *d, double *anon, double *file)
{
	char p[64], line[256];
	*anon = *file = NAN;
	sfmt(p, sizeof(p), "/proc/%d/status", (int)d->pid);
	FILE *f = fopen(p, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "RssAnon:", 8))
			*anon = strtod(line + 8, NULL) / 1024.0;
		else if (!strncmp(line, "RssFile:", 8))
			*file = strtod(line + 8, NULL) / 1024.0;
	}
	fclose(f);
}

/* ---- calibration ----------------------------------------------------------------- */

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

/* One connection, one 600-byte request, one 100-byte reply. */
static uint64_t rtt_once(const struct sockaddr_un *sa, int poll_reply)
{
	uint8_t b[600];
	memset(b, 'x', sizeof(b));
	uint64_t t0 = now_ns();
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ||
	    write(fd, b, sizeof(b)) != (ssize_t)sizeof(b))
		die("calibration round trip: %s", strerror(errno));
	ssize_t r;
	do
		r = recv(fd, b, sizeof(b), poll_reply ? MSG_DONTWAIT : 0);
	while (r < 0 && (errno == EAGAIN || errno == EINTR));
	close(fd);
	return now_ns() - t0;
}

static void calibrate_rtt(struct calib *c)
{
	char path[PATH_MAX + 32], jpath[PATH_MAX + 32];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	sfmt(path, sizeof(path), "%s/rtt.sock", work);
	sfmt(jpath, sizeof(jpath), "%s/rtt.journal", work);
	if (strlen(path) >= sizeof(sa.sun_path))
		die("%s: path too long", path);
	strcpy(sa.sun_path, path);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 16) < 0)
		die("%s: %s", path, strerror(errno));
	int j = open(jpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	static const uint8_t zero[1 << 20];
	if (j < 0 || write(j, zero, sizeof(zero)) != (ssize_t)sizeof(zero) || fdatasync(j) < 0)
		die("%s: %s", jpath, strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		uint8_t b[1024];
		off_t off = 0;
		for (;;) {
			int cfd = accept(l, NULL, NULL);
			if (cfd < 0)
				_exit(0);
			ssize_t n = read(cfd, b, sizeof(b));
			if (n <= 0)
				_exit(0);
			if (pwrite(j, b, 600, off) != 600 || fdatasync(j) < 0 ||
			    write(cfd, b, 100) != 100)
				_exit(1);
			off = (off + 600) % (512 * 1024);
			close(cfd);
		}
	}
	close(l);
	close(j);
	int n = smoke ? 20 : 600;
	struct lat a = { 0 }, b = { 0 };
	for (int i = 0; i < n; i++) { /* interleaved: the same disk and load */
		lat_add(&a, rtt_once(&sa, 0));
		lat_add(&b, rtt_once(&sa, 1));
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		/* an empty request ends the server (or it is gone already) */
		(void)connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
	}
	waitpid(pid, NULL, 0);
	unlink(path);
	unlink(jpath);
	lat_sort(&a);
	lat_sort(&b);
	c->rtt_p50_us = pct_us(&a, 0.5);
	c->rtt_p99_us = pct_us(&a, 0.99);
	c->rtt_poll_p50_us = pct_us(&b, 0.5);
	lat_free(&a);
	lat_free(&b);
}


static void calibrate(struct calib *c)
{
	char path[PATH_MAX + 32];
	uint8_t buf[600];
	struct lat l = { 0 };
	int n = smoke ? 20 : 300;
	memset(buf, 'x', sizeof(buf));
	sfmt(path, sizeof(path), "%s/fsync.probe", work);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		if (pwrite(fd, buf, sizeof(buf), (off_t)i * (off_t)sizeof(buf)) != (ssize_t)sizeof(buf) ||
		    fdatasync(fd) < 0)
			die("%s: %s", path, strerror(errno));
		lat_add(&l, now_ns() - t0);
	}
	close(fd);
	unlink(path);
	lat_sort(&l);
	c->fsync_p50_us = pct_us(&l, 0.5);
	c->fsync_p99_us = pct_us(&l, 0.99);
	lat_free(&l);

	if (sodium_init() < 0)
		die("sodium_init failed");
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	uint8_t sig[crypto_sign_BYTES], msg[400];
	crypto_sign_keypair(pk, sk);
	randombytes_buf(msg, sizeof(msg));
	int m = smoke ? 200 : 3000, bad = 0;
	uint64_t t0 = now_ns();
	for (int i = 0; i < m; i++)
		crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
	uint64_t t1 = now_ns();
	for (int i = 0; i < m; i++)
		bad += crypto_sign_verify_detached(sig, msg, sizeof(msg), pk) != 0;
	uint64_t t2 = now_ns();
	sodium_memzero(sk, sizeof(sk));
	if (bad)
		die("Ed25519 self-check failed");
	c->sign_us = (double)(t1 - t0) / 1000.0 / m;
	c->verify_us = (double)(t2 - t1) / 1000.0 / m;
	calibrate_rtt(c);
}

/* ---- CPU accounting ------------------------------------------------------------ */

/* utime + stime (+ cutime + cstime when children) of a process, in ticks. */
static uint64_t proc_ticks(pid_t pid, int children)
{
	char p[64];
	sfmt(p, sizeof(p), "/proc/%d/stat", (int)pid);
	char *t = read_text(p);
	uint64_t sum = 0;
	char *c = t ? strrchr(t, ')') : NULL;
	if (c) {
		/* after ") ": state(3) ppid ... utime(14) stime(15) cutime(16) cstime(17) */
		unsigned long long v[15] = { 0 };
		if (sscanf(c + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu",
			   &v[0], &v[1], &v[2], &v[3]) == 4)
			sum = v[0] + v[1] + (children ? v[2] + v[3] : 0);
	}
	free(t);
	return sum;
}

/* Busy ticks of the whole machine (all but idle and iowait). */
static uint64_t machine_busy(void)
{
	unsigned long long v[10] = { 0 };
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return 0;
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		       &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 8)
		return 0;
	return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

struct cpu_mark {
	uint64_t t, busy, self, dmn;
	pid_t pid;
};

static void cpu_begin(struct cpu_mark *m, const struct daemon *d)
{
	m->pid = d ? d->pid : 0;
	m->t = now_ns();
	m->busy = machine_busy();
	m->self = proc_ticks(getpid(), 1);
	m->dmn = m->pid ? proc_ticks(m->pid, 0) : 0;
}

static double last_client_op; /* this program's CPU us per op in the last cpu_end */

/* Daemon CPU per op (us) and the CPUs other processes kept busy. */
static void cpu_end(const struct cpu_mark *m, unsigned long ops, double *cpu_op, double *others)
{
	double hz = (double)sysconf(_SC_CLK_TCK);
	double secs = (double)(now_ns() - m->t) / 1e9;
	uint64_t busy = machine_busy(), self = proc_ticks(getpid(), 1);
	uint64_t dmn = m->pid ? proc_ticks(m->pid, 0) : 0;
	double d_dmn = (double)(dmn - m->dmn), d_self = (double)(self - m->self);
	double d_busy = (double)(busy - m->busy);
	if (cpu_op)
		*cpu_op = m->pid && ops ? d_dmn / hz * 1e6 / (double)ops : NAN;
	last_client_op = ops ? d_self / hz * 1e6 / (double)ops : NAN;
	if (others) {
		double o = (d_busy - d_self - d_dmn) / hz / secs;
		*others = secs > 0.05 ? (o < 0 ? 0 : o) : NAN;
	}
}

/* ---- requests ----------------------------------------------------------------- */

/* Sends the frame in b to the current daemon.  Returns the reply status
 * (>= 0) or -1 when the call itself failed; msg gets the reason. */
static int call(struct svca_buf *b, struct svca_reply *rep, char *msg, size_t msglen)
{
	struct svca_call_opts o = { .path = cur->sock, .timeout_ms = CALL_TIMEOUT_MS,
				    .trusted_uid = -1 };
	char err[300] = "";
	if (svca_frame_end(b) < 0) {
		sfmt(msg, msglen, "request too large");
		return -1;
	}
	enum svca_call_err e = svca_call(&o, b, rep, err, sizeof(err));
	if (e != SVCA_CALL_OK) {
		sfmt(msg, msglen, "%s", err);
		return -1;
	}
	if (rep->status != SVCA_OK) {
		struct svca_iter it;
		struct svca_field f;
		sfmt(msg, msglen, "status %s", svca_status_name(rep->status));
		svca_iter_init(&it, rep->body, rep->len);
		while (svca_iter_next(&it, &f) == 1)
			if (f.tag == F_MESSAGE && f.kind == SVCA_K_STR)
				sfmt(msg, msglen, "%s: %.*s", svca_status_name(rep->status),
					 (int)f.len, (const char *)f.val);
	}
	return rep->status;
}

/* Copies the first field with this tag (STR or BYTES) into dst. */
static int reply_text(const struct svca_reply *rep, uint16_t tag, char *dst, size_t len)
{
	struct svca_iter it;
	struct svca_field f;
	svca_iter_init(&it, rep->body, rep->len);
	while (svca_iter_next(&it, &f) == 1)
		if (f.tag == tag && f.len < len) {
			memcpy(dst, f.val, f.len);
			dst[f.len] = '\0';
			return 0;
		}
	return -1;
}

/* One request of the given command with string fields (tag, value)...,
 * terminated by tag 0.  0 ok; -1 with msg. */
static int simple(uint16_t cmd, char *msg, size_t msglen, ...)
{
	struct svca_buf b;
	struct svca_reply rep;
	va_list ap;
	svca_buf_init(&b, 0);
	svca_frame_begin(&b, cmd);
	va_start(ap, msglen);
	for (;;) {
		int tag = va_arg(ap, int);
		if (!tag)
			break;
		svca_put_str(&b, (uint16_t)tag, va_arg(ap, const char *));
	}
	va_end(ap);
	int st = call(&b, &rep, msg, msglen);
	svca_reply_free(&rep);
	svca_buf_free(&b);
	return st == SVCA_OK ? 0 : -1;
}

static int account_create(const char *name, char *msg, size_t msglen)
{
	return simple(SVCA_CMD_ACCOUNT_CREATE, msg, msglen, F_NAME, name, F_DESCRIPTION,
		      "svcacct-bench account", 0);
}

static int key_create(const char *name, char key[KEYBUF], char *msg, size_t msglen)
{
	struct svca_buf b;
	struct svca_reply rep;
	svca_buf_init(&b, 0);
	svca_frame_begin(&b, SVCA_CMD_KEY_CREATE);
	svca_put_str(&b, F_NAME, name);
	svca_put_str(&b, F_LABEL, "bench");
	int st = call(&b, &rep, msg, msglen);
	int r = -1;
	if (st == SVCA_OK) {
		r = reply_text(&rep, F_KEY, key, KEYBUF);
		if (r < 0)
			sfmt(msg, msglen, "KEY_CREATE reply without a key");
	}
	svca_reply_free(&rep);
	svca_buf_free(&b);
	return r;
}

static int token_create(const char *key, char *tok, size_t toklen, char *msg, size_t msglen)
{
	struct svca_buf b;
	struct svca_reply rep;
	svca_buf_init(&b, SVCA_MAX_UNAUTH_REQUEST);
	svca_frame_begin(&b, SVCA_CMD_TOKEN_CREATE);
	svca_put_bytes(&b, F_KEY, key, strlen(key));
	int st = call(&b, &rep, msg, msglen);
	int r = -1;
	if (st == SVCA_OK) {
		char tmp[TOKBUF];
		r = reply_text(&rep, F_TOKEN, tok ? tok : tmp, tok ? toklen : sizeof(tmp));
		if (r < 0)
			sfmt(msg, msglen, "TOKEN_CREATE reply without a token");
		explicit_bzero(tmp, sizeof(tmp));
	}
	svca_reply_free(&rep);
	svca_buf_free(&b);
	return r;
}

static void setup_org(void)
{
	char msg[300];
	if (simple(SVCA_CMD_TEAM_CREATE, msg, sizeof(msg), F_TEAM, BENCH_TEAM, 0) < 0 ||
	    simple(SVCA_CMD_WORKSPACE_CREATE, msg, sizeof(msg), F_WORKSPACE, HOST_WS, F_TEAM,
		   BENCH_TEAM, 0) < 0)
		die("creating the team and host workspace: %s", msg);
}

/* Accounts name0..name(n-1) with one key each, sequentially (setup). */
static char (*make_keyed(const char *prefix, unsigned long n))[KEYBUF]
{
	char (*keys)[KEYBUF] = xcalloc(n, KEYBUF);
	char name[40], msg[300];
	for (unsigned long i = 0; i < n; i++) {
		sfmt(name, sizeof(name), "%s%05lu", prefix, i);
		if (account_create(name, msg, sizeof(msg)) < 0 ||
		    key_create(name, keys[i], msg, sizeof(msg)) < 0)
			die("setting up %s: %s", name, msg);
	}
	return keys;
}

/* ---- progress, budgets and extrapolation ------------------------------------------ */

/* Lines for the report, below the table. */
static char report_notes[8192];

__attribute__((format(printf, 1, 2)))
static void addnote(const char *fmt, ...)
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

struct progress {
	double t[4096], n[4096]; /* seconds since start, accounts in the daemon */
	size_t k;
};

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
 * adds three rows (pair, ACCOUNT_CREATE, KEY_CREATE).  Returns seconds. */
static struct progress prog; /* one monitored phase at a time */

/* Returns the number of accounts created (< n when the budget ran out). */
static unsigned long mgmt_run(struct daemon *d, const char *prefix, unsigned long n, int clients,
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
		addnote("Management, %d client(s): %lu accounts with one key each in %.1f s.", clients,
			n, secs);
	} else {
		double a, b;
		double rest = extrapolate(&prog, (double)(base + pair.n), (double)(base + n), &a, &b);
		addnote("Management, %d client(s): the %.0f s budget ran out after %lu of %lu accounts "
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

static void list_run(struct daemon *d, unsigned long reps, const char *accounts_label,
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
	struct row *r = add_row("mgmt: ACCOUNT_LIST", accounts_label, 1, l.n, secs, &l,
				daemon_rss(d));
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

/* ---- token exchange ---------------------------------------------------------------- */

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

static void xchg_run(struct daemon *d, char (*keys)[KEYBUF], size_t nkeys, int clients,
		     double dur, const char *accounts_label)
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
	struct timespec ts = { .tv_sec = (time_t)dur,
			       .tv_nsec = (long)((dur - floor(dur)) * 1e9) };
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

/* ---- PAM ---------------------------------------------------------------------------- */

/* PV_KEY and PV_TOKEN run with NSS configured as on an installed host;
 * PV_KEY_NONSS with "passwd: files" / "group: files" (pam_svcacct then asks
 * svcacctd whether the name is a service account before prompting). */
enum { PV_PERMIT, PV_KEY, PV_TOKEN, PV_KEY_NONSS, PV_UNIX, PV_N };
static const char *const pv_name[PV_N] = {
	"pam: pam_permit (floor)",
	"pam: pam_svcacct, API key",
	"pam: pam_svcacct, session token",
	"pam: pam_svcacct, API key, no NSS (lookup first)",
	"pam: pam_unix, yescrypt password",
};

/* Where an installed svcacctd publishes the snapshot and the "range" link,
 * and where libnss_svcacct and pam_svcacct look by default (Makefile
 * NSS_DIR, SVCA_PAM_DEFAULT_NSS_DIR). */
#define NSS_DIR_INSTALLED "/var/lib/svcacct/nss"
#define NSS_PARENT "/var/lib"

#define PAM_MAX_SAMPLES 20000

struct pam_shared {
	unsigned long n[PV_N];
	unsigned long fail[PV_N];
	uint64_t secs_ns[PV_N];
	uint64_t dticks[PV_N]; /* daemon CPU while this variant ran */
	char err[PV_N][200];
	char setup_err[400];
	uint64_t lat[PV_N][PAM_MAX_SAMPLES];
};

struct conv_data {
	const char *secret;
};

static int conv_fn(int n, const struct pam_message **msg, struct pam_response **resp,
		   void *appdata)
{
	const struct conv_data *cd = appdata;
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	if (!r)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
			r[i].resp = strdup(cd->secret);
			if (!r[i].resp) {
				for (int j = 0; j < i; j++)
					free(r[j].resp);
				free(r);
				return PAM_BUF_ERR;
			}
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* One transaction: start, authenticate, account, end.  PAM_SUCCESS or the
 * first failure (with a message in err). */
static int pam_once(const char *service, const char *user, const char *secret, char *err,
		    size_t errlen)
{
	struct conv_data cd = { .secret = secret };
	struct pam_conv conv = { .conv = conv_fn, .appdata_ptr = &cd };
	pam_handle_t *h = NULL;
	int rc = pam_start(service, user, &conv, &h);
	if (rc != PAM_SUCCESS) {
		sfmt(err, errlen, "pam_start(%s): %s", service, pam_strerror(h, rc));
		if (h)
			pam_end(h, rc);
		return rc;
	}
	rc = pam_authenticate(h, 0);
	if (rc != PAM_SUCCESS)
		sfmt(err, errlen, "pam_authenticate(%s, %s): %s", service, user,
			 pam_strerror(h, rc));
	else if ((rc = pam_acct_mgmt(h, 0)) != PAM_SUCCESS)
		sfmt(err, errlen, "pam_acct_mgmt(%s, %s): %s", service, user,
			 pam_strerror(h, rc));
	pam_end(h, rc);
	return rc;
}

static void bind_over(const char *src, const char *dst, struct pam_shared *sh)
{
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0) {
		sfmt(sh->setup_err, sizeof(sh->setup_err), "bind %s on %s: %s", src, dst,
			 strerror(errno));
		_exit(1);
	}
}

/* A copy of the host's nsswitch.conf (all other databases as they are)
 * whose passwd and group lines are "passwd: SOURCES" and "group: SOURCES". */
static void nsswitch_write(const char *path, const char *sources)
{
	char *host = read_text("/etc/nsswitch.conf");
	size_t cap = (host ? strlen(host) : 0) + 512, len = 0;
	char *out = xcalloc(cap, 1);
	len += (size_t)snprintf(out, cap, "# svcacct-bench: the host's nsswitch.conf with these\n"
					  "passwd:         %s\ngroup:          %s\n",
				sources, sources);
	for (char *line = host, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		size_t n = next ? (size_t)(next - line) + 1 : strlen(line);
		next = line + n;
		const char *q = line + strspn(line, " \t");
		if (!strncmp(q, "passwd", 6) && strchr(" \t:", q[6]))
			continue;
		if (!strncmp(q, "group", 5) && strchr(" \t:", q[5]))
			continue;
		memcpy(out + len, line, n);
		len += n;
	}
	out[len] = '\0';
	write_text(path, 0644, out);
	free(out);
	free(host);
}

/* Writes the service files, the passwd/shadow copies and the two
 * nsswitch.conf files (nsswitch.nss, nsswitch.files) into dir. */
static void pam_prepare(const char *dir, const char *sock)
{
	char p[PATH_MAX + 64], text[2048], salt[CRYPT_GENSALT_OUTPUT_SIZE];
	char pamd[PATH_MAX + 16];
	sfmt(pamd, sizeof(pamd), "%s/pam.d", dir);
	if (mkdir(dir, 0755) < 0 || mkdir(pamd, 0755) < 0)
		die("mkdir %s: %s", pamd, strerror(errno));

	sfmt(p, sizeof(p), "%s/" PAM_SERVICE_SVCA, pamd);
	sfmt(text, sizeof(text),
		 "# svcacct-bench: a service account logs in with a key or a token\n"
		 "auth     required  %s/pam_svcacct.so socket=%s\n"
		 "account  required  %s/pam_svcacct.so socket=%s\n",
		 build_dir, sock, build_dir, sock);
	write_text(p, 0644, text);
	sfmt(p, sizeof(p), "%s/" PAM_SERVICE_UNIX, pamd);
	write_text(p, 0644,
		   "# svcacct-bench: a local user with a yescrypt password\n"
		   "auth     required  pam_unix.so\n"
		   "account  required  pam_unix.so\n");
	sfmt(p, sizeof(p), "%s/" PAM_SERVICE_PERMIT, pamd);
	write_text(p, 0644,
		   "# svcacct-bench: the floor (libpam itself)\n"
		   "auth     required  pam_permit.so\n"
		   "account  required  pam_permit.so\n");
	sfmt(p, sizeof(p), "%s/other", pamd);
	write_text(p, 0644, "auth required pam_deny.so\naccount required pam_deny.so\n"
			    "password required pam_deny.so\nsession required pam_deny.so\n");
	sfmt(p, sizeof(p), "%s/nsswitch.nss", dir);
	nsswitch_write(p, "files svcacct");
	sfmt(p, sizeof(p), "%s/nsswitch.files", dir);
	nsswitch_write(p, "files");

	/* yescrypt at Debian's default cost (login.defs YESCRYPT_COST_FACTOR 5) */
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	if (!crypt_gensalt_rn("$y$", 5, NULL, 0, salt, sizeof(salt)))
		die("crypt_gensalt_rn($y$): %s", strerror(errno));
	const char *hash = crypt_r(UNIX_PASSWORD, salt, cd);
	if (!hash || hash[0] != '$')
		die("crypt_r(yescrypt) failed");
	char *pw = read_text("/etc/passwd"), *sh = read_text("/etc/shadow");
	if (!pw)
		die("read /etc/passwd: %s", strerror(errno));
	size_t plen = strlen(pw) + 256, slen = (sh ? strlen(sh) : 0) + 512;
	char *pw2 = xcalloc(plen, 1), *sh2 = xcalloc(slen, 1);
	/* _svcacct: the daemon's user as the packages create it (sysusers.d);
	 * pam_svcacct resolves it on every call (daemon_user=) */
	sfmt(pw2, plen, "%s%s" UNIX_USER ":x:59998:59998:svcacct-bench:/nonexistent:/usr/sbin/nologin\n"
		       "%s",
	     pw, (pw[0] && pw[strlen(pw) - 1] != '\n') ? "\n" : "",
	     strstr(pw, "\n_svcacct:") || !strncmp(pw, "_svcacct:", 9)
		     ? "" : "_svcacct:x:59997:59997:svcacct daemon:/nonexistent:/usr/sbin/nologin\n");
	sfmt(sh2, slen, "%s%s" UNIX_USER ":%s:19000:0:99999:7:::\n", sh ? sh : "",
		 (sh && sh[0] && sh[strlen(sh) - 1] != '\n') ? "\n" : "", hash);
	sfmt(p, sizeof(p), "%s/passwd", dir);
	write_text(p, 0644, pw2);
	sfmt(p, sizeof(p), "%s/shadow", dir);
	write_text(p, 0600, sh2);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	free(pw);
	free(sh);
	free(pw2);
	free(sh2);
}

__attribute__((noreturn, format(printf, 2, 3)))
static void child_fail(struct pam_shared *sh, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sh->setup_err, sizeof(sh->setup_err), fmt, ap);
	va_end(ap);
	_exit(1);
}

/* In the child's namespace: NSS_PARENT (/var/lib) becomes a tmpfs holding
 * a bind mount of every host entry (recursive, so mounts below come along;
 * symlinks copied), except svcacct, plus svcacct/nss = the daemon's nss_dir.
 * Nothing of /var/lib disappears (pam_unix and libpam need nothing there,
 * but the build or -d directory may live below it), and a host svcacct
 * installation is hidden.  Sources are reached through descriptors opened
 * before the tmpfs covers them (/proc/self/fd/N: the covered directory). */
static void varlib_replace(const char *nss_dir, struct pam_shared *sh)
{
	int src = open(nss_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = open(NSS_PARENT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src < 0 || fd < 0)
		child_fail(sh, "open %s: %s", src < 0 ? nss_dir : NSS_PARENT, strerror(errno));
	DIR *dp = fdopendir(dup(fd));
	if (!dp)
		child_fail(sh, "opendir %s: %s", NSS_PARENT, strerror(errno));
	size_t n = 0, cap = 64;
	char (*names)[256] = xcalloc(cap, sizeof(*names));
	for (struct dirent *e; (e = readdir(dp));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    !strcmp(e->d_name, "svcacct"))
			continue;
		if (n == cap) {
			cap *= 2;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				child_fail(sh, "out of memory");
		}
		sfmt(names[n++], sizeof(names[0]), "%s", e->d_name);
	}
	closedir(dp);
	if (mount("tmpfs", NSS_PARENT, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") < 0)
		child_fail(sh, "mount a tmpfs on %s: %s", NSS_PARENT, strerror(errno));
	char from[PATH_MAX], to[PATH_MAX];
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		sfmt(to, sizeof(to), NSS_PARENT "/%s", names[i]);
		if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone meanwhile */
		if (S_ISLNK(st.st_mode)) {
			ssize_t k = readlinkat(fd, names[i], from, sizeof(from) - 1);
			if (k < 0 || (from[k] = '\0', symlink(from, to) < 0))
				child_fail(sh, "copy the symlink %s: %s", to, strerror(errno));
			continue;
		}
		int made = S_ISDIR(st.st_mode) ? mkdir(to, 0755) : mknod(to, S_IFREG | 0644, 0);
		sfmt(from, sizeof(from), "/proc/self/fd/%d/%s", fd, names[i]);
		if (made < 0 || mount(from, to, NULL, MS_BIND | MS_REC, NULL) < 0)
			child_fail(sh, "bind %s again on the tmpfs: %s", to, strerror(errno));
	}
	free(names);
	if (mkdir(NSS_PARENT "/svcacct", 0755) < 0 || mkdir(NSS_DIR_INSTALLED, 0755) < 0)
		child_fail(sh, "mkdir %s: %s", NSS_DIR_INSTALLED, strerror(errno));
	sfmt(from, sizeof(from), "/proc/self/fd/%d", src);
	if (mount(from, NSS_DIR_INSTALLED, NULL, MS_BIND, NULL) < 0)
		child_fail(sh, "bind %s on %s: %s", nss_dir, NSS_DIR_INSTALLED, strerror(errno));
	close(src);
	close(fd);
}

struct nss_objs {
	const char *ours;
	int n, other;
};

static int nss_obj_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct nss_objs *o = data;
	const char *b = strrchr(info->dlpi_name, '/');
	(void)size;
	if (!strcmp(b ? b + 1 : info->dlpi_name, "libnss_svcacct.so.2")) {
		o->n++;
		o->other |= strcmp(info->dlpi_name, o->ours) != 0;
	}
	return 0;
}

/* Switches this namespace's /etc/nsswitch.conf between dir/nsswitch.nss
 * (bound at setup) and dir/nsswitch.files (bound on top of it, then
 * unmounted), and checks the result with one untimed getpwnam(PAM_ACCOUNT),
 * which also absorbs glibc's reload of the changed file (glibc checks
 * nsswitch.conf for changes on every lookup and reloads it). */
static void nss_switch(const char *dir, int on, struct pam_shared *sh)
{
	char p[PATH_MAX + 32];
	if (on) {
		if (umount2("/etc/nsswitch.conf", 0) < 0)
			child_fail(sh, "umount the no-NSS nsswitch.conf: %s", strerror(errno));
	} else {
		sfmt(p, sizeof(p), "%s/nsswitch.files", dir);
		if (mount(p, "/etc/nsswitch.conf", NULL, MS_BIND, NULL) < 0)
			child_fail(sh, "bind %s on /etc/nsswitch.conf: %s", p, strerror(errno));
	}
	struct passwd *pw = getpwnam(PAM_ACCOUNT);
	if (!!pw != on)
		child_fail(sh, "getpwnam(%s) %s with NSS %s: the nsswitch.conf switch did not "
			   "take effect", PAM_ACCOUNT, pw ? "resolves" : "fails", on ? "on" : "off");
}

/* In the child: a private mount namespace set up like an installed host,
 * then the interleaved loops.
 *
 * NSS as installed: nsswitch.conf ("passwd: files svcacct", "group: files
 * svcacct"), the daemon's nss_dir at /var/lib/svcacct/nss (varlib_replace),
 * and libnss_svcacct.so.2 for glibc, which dlopen()s "libnss_svcacct.so.2"
 * by soname.  An installed host has the module in the system library path;
 * here this process dlopen()s BUILD/libnss_svcacct.so.2 by its path first:
 * ld.so answers a later dlopen of a bare name with an already loaded object
 * whose DT_SONAME is that name, so glibc's NSS gets this one.  Unlike
 * LD_LIBRARY_PATH (read only at program start, so a re-exec, and searched
 * first for every library libpam loads afresh on each pam_start) this
 * changes nothing else in the process; the module stays loaded, as glibc
 * keeps NSS modules loaded anyway.  The setup fails unless
 * getpwnam(PAM_ACCOUNT), a name absent from the passwd copy, resolves to a
 * uid in the daemon's range with exactly this copy of the module loaded,
 * so the figures cannot silently come from a host without NSS (or from an
 * installed module, or nscd). */
__attribute__((noreturn))
static void pam_child(const char *dir, const char *nss_dir, const char *key, const char *token,
		      struct pam_shared *sh)
{
	char p[PATH_MAX + 32];
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		sfmt(sh->setup_err, sizeof(sh->setup_err), "private mount namespace: %s",
			 strerror(errno));
		_exit(1);
	}
	sfmt(p, sizeof(p), "%s/pam.d", dir);
	bind_over(p, "/etc/pam.d", sh);
	sfmt(p, sizeof(p), "%s/passwd", dir);
	bind_over(p, "/etc/passwd", sh);
	sfmt(p, sizeof(p), "%s/shadow", dir);
	bind_over(p, "/etc/shadow", sh);
	sfmt(p, sizeof(p), "%s/nsswitch.nss", dir);
	bind_over(p, "/etc/nsswitch.conf", sh);
	varlib_replace(nss_dir, sh);
	sfmt(p, sizeof(p), "%s/libnss_svcacct.so.2", build_dir);
	/* kept loaded for the child's life: glibc's NSS finds it by soname */
	void *nss_handle = dlopen(p, RTLD_LAZY);
	if (!nss_handle)
		child_fail(sh, "dlopen %s: %s", p, dlerror());

	/* the snapshot is rewritten shortly after account changes */
	struct passwd *pw = NULL;
	for (int i = 0; i < 200 && !(pw = getpwnam(PAM_ACCOUNT)); i++)
		usleep(50000);
	struct nss_objs objs = { .ours = p };
	dl_iterate_phdr(nss_obj_cb, &objs);
	char range[96];
	ssize_t rl = readlink(NSS_DIR_INSTALLED "/range", range, sizeof(range) - 1);
	range[rl > 0 ? rl : 0] = '\0';
	if (!pw || pw->pw_uid < UID_MIN || pw->pw_uid > UID_MAX || objs.n != 1 || objs.other ||
	    strncmp(range, "svcacct-range-v1:", 17) != 0)
		child_fail(sh, "NSS as installed did not work in the PAM child: getpwnam(%s) "
			   "gives uid %ld (want %u-%u, via libnss_svcacct; -1: not found); %d "
			   "libnss_svcacct.so.2 loaded%s (want 1: %s); %s/range = \"%s\"",
			   PAM_ACCOUNT, pw ? (long)pw->pw_uid : -1L, UID_MIN, UID_MAX, objs.n,
			   objs.other ? ", not only the build's" : "", p, NSS_DIR_INSTALLED, range);

	const char *service[PV_N] = { PAM_SERVICE_PERMIT, PAM_SERVICE_SVCA, PAM_SERVICE_SVCA,
				      PAM_SERVICE_SVCA, PAM_SERVICE_UNIX };
	const char *user[PV_N] = { PAM_ACCOUNT, PAM_ACCOUNT, PAM_ACCOUNT, PAM_ACCOUNT, UNIX_USER };
	const char *secret[PV_N] = { "", key, token, key, UNIX_PASSWORD };
	unsigned per_round[PV_N] = { Z.pam_fast, Z.pam_fast, Z.pam_fast, Z.pam_fast, Z.pam_unix };
	char err[200];

	/* warm-up (and a check that every stack succeeds at all) */
	for (int v = 0; v < PV_N; v++) {
		if (v == PV_KEY_NONSS)
			nss_switch(dir, 0, sh);
		for (int i = 0; i < 3; i++)
			if (pam_once(service[v], user[v], secret[v], err, sizeof(err)) != PAM_SUCCESS)
				child_fail(sh, "%s: %s", pv_name[v], err);
		if (v == PV_KEY_NONSS)
			nss_switch(dir, 1, sh);
	}
	for (unsigned r = 0; r < Z.pam_rounds; r++) {
		for (int v = 0; v < PV_N; v++) {
			if (v == PV_KEY_NONSS)
				nss_switch(dir, 0, sh);
			uint64_t b0 = now_ns(), d0 = proc_ticks(cur->pid, 0);
			for (unsigned i = 0; i < per_round[v]; i++) {
				uint64_t t0 = now_ns();
				int rc = pam_once(service[v], user[v], secret[v], err, sizeof(err));
				uint64_t t1 = now_ns();
				if (rc != PAM_SUCCESS) {
					if (!sh->fail[v]++)
						sfmt(sh->err[v], sizeof(sh->err[v]), "%s", err);
					continue;
				}
				if (sh->n[v] < PAM_MAX_SAMPLES)
					sh->lat[v][sh->n[v]++] = t1 - t0;
			}
			sh->secs_ns[v] += now_ns() - b0;
			sh->dticks[v] += proc_ticks(cur->pid, 0) - d0;
			if (v == PV_KEY_NONSS)
				nss_switch(dir, 1, sh);
		}
	}
	_exit(0);
}

static void pam_run(struct daemon *d, const char *dirname_, const char *key,
		    const char *token, const char *accounts_label, double *p50_out)
{
	char dir[PATH_MAX + 32], nss_dir[PATH_MAX + 16];
	sfmt(dir, sizeof(dir), "%s/%s", work, dirname_);
	sfmt(nss_dir, sizeof(nss_dir), "%s/nss", d->dir);
	pam_prepare(dir, d->sock);
	struct pam_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memset(sh, 0, sizeof(*sh));
	struct cpu_mark cm;
	cpu_begin(&cm, d);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0)
		pam_child(dir, nss_dir, key, token, sh);
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		note("PAM measurement failed: %s", sh->setup_err[0] ? sh->setup_err : "child died");
		for (int v = 0; v < PV_N; v++)
			p50_out[v] = NAN;
		munmap(sh, sizeof(*sh));
		return;
	}
	double rss = daemon_rss(d), others;
	cpu_end(&cm, 0, NULL, &others);
	for (int v = 0; v < PV_N; v++) {
		struct lat l = { .v = sh->lat[v], .n = sh->n[v], .cap = sh->n[v] };
		int daemon_involved = v == PV_KEY || v == PV_TOKEN || v == PV_KEY_NONSS;
		struct row *r = add_row(pv_name[v], daemon_involved ? accounts_label : "-", 1, l.n,
					(double)sh->secs_ns[v] / 1e9, &l,
					daemon_involved ? rss : NAN);
		r->errors = sh->fail[v];
		r->others = others;
		if (daemon_involved && l.n)
			r->cpu_op = (double)sh->dticks[v] / (double)sysconf(_SC_CLK_TCK) * 1e6 /
				    (double)(sh->n[v] + sh->fail[v]);
		emit(r);
		if (sh->fail[v])
			note("%s: %lu failures, first: %s", pv_name[v], sh->fail[v], sh->err[v]);
		p50_out[v] = r->p50;
	}
	munmap(sh, sizeof(*sh));
}

/* ---- NSS: bench/nss-bench as a subprocess ------------------------------------------------ */

struct nss_fig {
	char backend[24];
	unsigned long entries;
	char lookup[16];
	unsigned long ops;
	double mean_ns, p50_ns, p99_ns;
};

static struct nss_fig nssf[32];
static size_t nnssf;

static void nss_run(void)
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
		execl(exe, exe, "-m", mod, "-n", Z.nss_counts, "-o", Z.nss_ops, "-T", Z.nss_T,
		      "-d", work, (char *)NULL);
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
		note("NSS: nss-bench exited with status %d", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
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

struct grow_result {
	unsigned long created;
	double secs;
	double rss, anon, file;
	double rss_restart, anon_restart, file_restart;
	double rest_secs, a, b; /* extrapolation when incomplete */
	int complete;
};

/* Adds ACCOUNT_CREATEs (GROW_CLIENTS clients, no keys) until `total`
 * accounts exist or the budget is spent. */
#define GROW_CLIENTS 256
static void grow_run(struct daemon *d, unsigned long have, unsigned long total, double budget,
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
		g->rest_secs = extrapolate(&prog, (double)(have + all.n), (double)total, &g->a, &g->b);
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

/* ---- machine description ------------------------------------------------------------------- */

static void machine(char *dst, size_t len)
{
	char model[256] = "unknown", fs[64] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[512];
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "model name", 10)) {
			char *c = strchr(line, ':');
			if (c) {
				c++;
				while (*c == ' ' || *c == '\t')
					c++;
				c[strcspn(c, "\n")] = '\0';
				sfmt(model, sizeof(model), "%s", c);
			}
			break;
		}
	if (f)
		fclose(f);
	/* filesystem type of the work dir, from /proc/self/mounts (longest prefix) */
	f = fopen("/proc/self/mounts", "re");
	size_t best = 0;
	while (f && fgets(line, sizeof(line), f)) {
		char dev[256], mnt[256], type[64];
		if (sscanf(line, "%255s %255s %63s", dev, mnt, type) != 3)
			continue;
		size_t ml = strlen(mnt);
		if (!strncmp(work, mnt, ml) && (work[ml] == '/' || work[ml] == '\0' || ml == 1) &&
		    ml >= best) {
			best = ml;
			sfmt(fs, sizeof(fs), "%s", type);
		}
	}
	if (f)
		fclose(f);
	struct utsname u;
	uname(&u);
	sfmt(dst, len, "%ld CPU(s), %s, Linux %s, %s on %s", sysconf(_SC_NPROCESSORS_ONLN),
		 model, u.release, fs, tmp_root);
}

/* ---- one run: the state the benchmarks share --------------------------------------------- */

/* What one run builds up step by step and the report reads: the main
 * daemon (d-main), whose store grows from a handful of accounts by --mgmt
 * and then to --big, the keys the exchange uses, the PAM account's
 * credentials, and the figures that are not rows of the table. */
struct run {
	struct daemon seq;              /* d-seq: the 1-client management run */
	struct daemon main;             /* d-main: everything else */
	char (*xkeys)[KEYBUF];          /* one key for each of Z.small accounts */
	char pamkey[KEYBUF], pamtok[TOKBUF];
	unsigned long have;             /* accounts in d-main */
	char lbl_small[24], lbl_mgmt[24]; /* the accounts column before and after mgmt */
	double pam_p50[2][PV_N];        /* p50 per PAM variant, us: [0] before mgmt, [1] after; NAN: not measured */
	struct grow_result g;           /* the memory benchmark */
	unsigned long reached;          /* accounts in d-main after it */
	struct calib cal;
	char mach[512];
	double total;                   /* seconds */
};

static struct daemon *all_daemons[3];

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
	note("daemon RSS after a restart with %lu accounts: %.1f MiB", r->reached, r->g.rss_restart);
}

/* The benchmarks in the order they run, on d-main unless said otherwise.
 * --only selects by name (a benchmark runs when its phase and every phase
 * of `after` are selected); --smoke runs all of them with the SMOKE sizes.
 * exchange and pam run twice: with a handful of accounts, and again once
 * mgmt has added its accounts to the store. */
struct benchmark {
	const char *name;     /* its word for --only */
	unsigned phase;       /* the PH_ bit that word selects */
	unsigned after;       /* PH_ bits it needs as well: benchmarks that built its store */
	int root;             /* needs root: PAM requests, mount namespaces */
	const char *skipped;  /* note when selected but not root; NULL: silent */
	const char *measures;
	void (*run)(struct run *);
};

static const struct benchmark benchmarks[] = {
	{ "exchange", PH_EXCHANGE, 0, 0, NULL,
	  "TOKEN_CREATE (API key -> session token), 1, 8 and 64 clients, a handful of accounts",
	  bench_exchange_small },
	{ "pam", PH_PAM, 0, 1, "PAM: skipped (needs root: svcacctd answers PAM requests from root only)",
	  "a PAM transaction in-process: pam_permit, pam_svcacct (key, token, key without NSS), "
	  "pam_unix+yescrypt; a handful of accounts",
	  bench_pam_small },
	{ "mgmt", PH_MGMT, 0, 0, NULL,
	  "--mgmt accounts with a key each, 1 client (fresh daemon d-seq) and 8 clients; ACCOUNT_LIST",
	  bench_mgmt },
	{ "exchange", PH_EXCHANGE, PH_MGMT, 0, NULL,
	  "the exchange again with mgmt's accounts in the store", bench_exchange_mgmt },
	{ "pam", PH_PAM, PH_MGMT, 1, NULL,
	  "PAM again with mgmt's accounts in the store", bench_pam_mgmt },
	{ "nss", PH_NSS, 0, 1, "NSS: skipped (nss-bench needs root for its mount namespace)",
	  "getpwnam/getpwuid, libnss_svcacct vs glibc files (BUILD/nss-bench, no daemon)",
	  bench_nss },
	{ "memory", PH_MEMORY, 0, 0, NULL,
	  "d-main grown to --big accounts (256 clients) in --grow-budget s: RSS, then after a restart",
	  bench_memory },
};
#define NBENCH (sizeof(benchmarks) / sizeof(benchmarks[0]))

/* ---- the report ------------------------------------------------------------------------------- */

static void target(FILE *out, int met, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void target(FILE *out, int met, const char *fmt, ...)
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
	fprintf(out, "Calibration: 600-byte append + fdatasync in %s: p50 %.0f us, p99 %.0f us; "
		     "Ed25519 sign %.1f us, verify %.1f us (libsodium); "
		     "durable round trip (connect, request, server writes 600 bytes + "
		     "fdatasync, reply) p50 %.0f us, p99 %.0f us with the client "
		     "sleeping in read(), p50 %.0f us with the client polling.\n"
		     "Columns: daemon CPU/op = the daemon's user+system CPU time per "
		     "operation; others = CPUs kept busy by processes other than this "
		     "benchmark and its daemon during the measurement (of %ld).\n\n",
		tmp_root, r->cal.fsync_p50_us, r->cal.fsync_p99_us, r->cal.sign_us, r->cal.verify_us,
		r->cal.rtt_p50_us, r->cal.rtt_p99_us, r->cal.rtt_poll_p50_us,
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
	fprintf(out, "\nDaemon settings: the defaults (journal fdatasync before each reply "
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
		fprintf(out, "\nMemory: the grow budget (%.0f s, %d clients) ran out at "
			     "%lu accounts; the cost per account grew as %.2f ms + %.5f ms "
			     "per account held, so reaching %lu would take about %.0f s more.",
			Z.grow_budget, GROW_CLIENTS, r->reached, g->a * 1e3, g->b * 1e3, Z.big,
			g->rest_secs);
	else
		fprintf(out, "\nMemory: %lu accounts created in %.0f s (%d clients).",
			r->reached, g->secs, GROW_CLIENTS);
	fprintf(out, " Daemon VmRSS with %lu accounts: %.1f MiB after creating them "
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
		fprintf(out, "\nPAM (%s accounts, NSS as installed), p50: pam_permit %.3f ms; "
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
		fprintf(out, "%sExchange, %d client(s), %s accounts: %.0f/s; CPU per exchange: daemon "
			     "%.0f us + clients %.0f us = %.0f us, so at most %.0f/s on %ld idle CPUs "
			     "and %.0f/s for the single-threaded daemon on one; others kept %.2f "
			     "CPUs busy.\n",
			i && !strncmp(rows[i - 1].what, "exchange:", 9) ? "" : "\n",
			x->clients, x->accounts, x->ops_s, x->cpu_op, x->client_op, tot,
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
			target(out, add <= 0.5, "PAM %s (%s accounts) adds %.3f ms at p50 over pam_permit (<= 0.5 ms)",
			       v == PV_KEY ? "key" : "token", lb, add);
			target(out, p[PV_UNIX] / p[v] >= 25,
			       "PAM %s (%s accounts) %.1fx faster than pam_unix+yescrypt (>= 25x)",
			       v == PV_KEY ? "key" : "token", lb, p[PV_UNIX] / p[v]);
		}
		fprintf(out, "- info  : PAM key without NSS, lookup first (%s accounts): adds "
			     "%.3f ms at p50 over pam_permit, %.1fx faster than "
			     "pam_unix+yescrypt (for comparison; the targets use NSS as "
			     "installed)\n", lb, (p[PV_KEY_NONSS] - p[PV_PERMIT]) / 1000,
			p[PV_UNIX] / p[PV_KEY_NONSS]);
		fprintf(out, "- info  : one durable round trip alone (calibration: request, "
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
		const struct row *x8 = find_row("exchange: TOKEN_CREATE (key -> token)", lbls[s], 8);
		if (x8)
			target(out, x8->ops_s >= 10000 && x8->p99 < 2000,
			       "exchange, 8 clients, %s accounts: %.0f/s (>= 10000), p99 %.2f ms (< 2 ms)",
			       lbls[s], x8->ops_s, x8->p99 / 1000);
	}
}

static void target_nss(FILE *out, const struct run *r)
{
	(void)r;
	if (!nnssf) {
		target(out, -1, "NSS: not measured");
		return;
	}
	const char *counts = Z.nss_counts;
	unsigned long small_n = strtoul(counts, NULL, 10);
	unsigned long big_n = strtoul(strrchr(counts, ',') ? strrchr(counts, ',') + 1 : counts,
				      NULL, 10);
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
		       "NSS %s p50 at %lu accounts %.1f us vs %.1f us at %lu (<= 2x: %.2fx)",
		       lk[i], big_n, b->p50_ns / 1000, s->p50_ns / 1000, small_n,
		       b->p50_ns / s->p50_ns);
		target(out, b->p50_ns < f->p50_ns,
		       "NSS %s at %lu: module %.1f us vs glibc files %.1f us (faster)", lk[i],
		       big_n, b->p50_ns / 1000, f->p50_ns / 1000);
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
		       "%.1f MiB (restart: %.1f MiB) (< 32 MiB)", Z.big, r->reached, g->rss,
		       g->rss_restart);
}

/* The report, section by section, to stdout and --markdown FILE. */
static void (*const report[])(FILE *, const struct run *) = {
	sec_head, sec_table, sec_settings, sec_pam_setup, sec_memory, sec_notes,
	sec_pam_ratios, sec_exchange_cpu,
	sec_targets, target_pam, target_exchange, target_nss, target_memory,
};

/* ---- main ------------------------------------------------------------------------------------ */

static void on_signal(int sig)
{
	for (int i = 0; i < 3; i++)
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
		"                     [--only exchange,pam,mgmt,nss,memory]\n");
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
	if (Z.mgmt < 1 || Z.big < 1 || Z.xdur <= 0 || Z.small < 1)
		usage();
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
			run.pam_p50[s][v] = NAN;
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
		for (size_t k = 0; outs[o] && k < sizeof(report) / sizeof(report[0]); k++)
			report[k](outs[o], &run);
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
	return stop_bad || errors ? 1 : 0;
}
