/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * svcacct-bench "hub": the same requests against hubs (DESIGN.md section
 * 9), beside the standalone daemon of the same run.
 *
 * A throwaway PostgreSQL cluster (initdb as the system user "postgres",
 * Unix socket only, fsync on, the postmaster a child of this program that
 * dies with it), the roles the README documents (svcacct_owner owns the
 * database and runs svcacctd --migrate; the hubs log in as svcacct_hub, a
 * member of svcacct_hubs), and two hubs h-1 and h-2 (h-2 with copies of
 * h-1's pepper and audit.key).  Rows, each prefixed "hub: ":
 *
 *   exchange   TOKEN_CREATE, 8 clients, on d-main and on h-1 in turns (two
 *              rounds each), the target from the totals
 *   pam        pam_run() against h-1 (key, token, ...)
 *   create     ACCOUNT_CREATE, 1 client, on d-main and on h-1
 *   revoke     KEY_REVOKE on h-2, then TOKEN_CREATE with that key on h-1
 *              until it is refused: the time from the revoke's reply to
 *              the first refusal (the key was used on h-1 just before, so
 *              any cache of h-1 holds it)
 *
 * Only when the server binaries (/usr/lib/postgresql/N/bin) and the user
 * "postgres" exist; otherwise a note says why not.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define REVOKE_WAIT_NS (5ull * 1000000000u)

static char pg_bin[PATH_MAX];
static char pg_dir[PATH_MAX + 8], pg_data[PATH_MAX + 16], pg_sock[PATH_MAX + 16];
static pid_t pg_pid;
static uid_t pg_uid;
static gid_t pg_gid;

/* The newest installed server; 0 when there is one and its user exists. */
static int pg_find(char *why, size_t len)
{
	glob_t g;
	if (glob("/usr/lib/postgresql/*/bin/postgres", 0, NULL, &g) != 0 || !g.gl_pathc) {
		sfmt(why, len,
		     "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin; make deps)");
		return -1;
	}
	const char *best = g.gl_pathv[g.gl_pathc - 1];
	sfmt(pg_bin, sizeof(pg_bin), "%.*s", (int)(strrchr(best, '/') - best), best);
	globfree(&g);
	struct passwd *pw = getpwnam("postgres");
	if (!pw) {
		sfmt(why, len, "no system user postgres");
		return -1;
	}
	pg_uid = pw->pw_uid;
	pg_gid = pw->pw_gid;
	return 0;
}

/* Runs argv (as postgres when as_pg), output to log; its exit status. */
int run_prog(char *const argv[], int as_pg, const char *log)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		if (as_pg && (setgroups(0, NULL) < 0 || setgid(pg_gid) < 0 || setuid(pg_uid) < 0))
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int psql(const char *db, const char *sql)
{
	char exe[PATH_MAX + 16], log[PATH_MAX + 32], sqlbuf[1024], dbbuf[64];
	sfmt(exe, sizeof(exe), "%s/psql", pg_bin);
	sfmt(log, sizeof(log), "%s/psql.log", pg_dir);
	sfmt(sqlbuf, sizeof(sqlbuf), "%s", sql);
	sfmt(dbbuf, sizeof(dbbuf), "%s", db);
	char *argv[] = { exe,   "-X",    "-q",   "-v",       "ON_ERROR_STOP=1",
			 "-h",  pg_sock, "-U",   "postgres", "-d",
			 dbbuf, "-c",    sqlbuf, NULL };
	return run_prog(argv, 0, log);
}

static void pg_stop(void)
{
	if (!pg_pid)
		return;
	kill(pg_pid, SIGINT); /* fast shutdown */
	uint64_t t0 = now_ns();
	int st;
	while (waitpid(pg_pid, &st, WNOHANG) == 0) {
		if (now_ns() - t0 > 60ull * 1000000000u) {
			kill(pg_pid, SIGKILL);
			waitpid(pg_pid, &st, 0);
			break;
		}
		usleep(10000);
	}
	pg_pid = 0;
}

static void pg_start(const char *tag)
{
	char exe[PATH_MAX + 16], log[PATH_MAX + 32], conf[PATH_MAX + 32], text[1024];
	sfmt(pg_dir, sizeof(pg_dir), "%s/pg%s", work, tag);
	sfmt(pg_data, sizeof(pg_data), "%s/data", pg_dir);
	sfmt(pg_sock, sizeof(pg_sock), "%s/sock", pg_dir);
	if (mkdir(pg_dir, 0755) < 0 || mkdir(pg_sock, 0755) < 0 ||
	    chown(pg_dir, pg_uid, pg_gid) < 0 || chown(pg_sock, pg_uid, pg_gid) < 0)
		die("%s: %s", pg_dir, strerror(errno));
	sfmt(exe, sizeof(exe), "%s/initdb", pg_bin);
	sfmt(log, sizeof(log), "%s/initdb.log", pg_dir);
	char *initdb[] = { exe,  "-D",       pg_data,
			   "-U", "postgres", "--auth=trust",
			   "-E", "UTF8",     "--locale=C.UTF-8",
			   NULL };
	if (run_prog(initdb, 1, log) != 0)
		die("initdb failed (see %s; --keep keeps it)", log);
	sfmt(conf, sizeof(conf), "%s/postgresql.conf", pg_data);
	sfmt(text, sizeof(text),
	     "# svcacct-bench\nlisten_addresses = ''\nunix_socket_directories = '%s'\n"
	     "fsync = on\nsynchronous_commit = on\nshared_buffers = 32MB\nmax_connections = 100\n",
	     pg_sock);
	int fd = open(conf, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) != 0)
		die("%s: %s", conf, strerror(errno));

	sfmt(exe, sizeof(exe), "%s/postgres", pg_bin);
	sfmt(log, sizeof(log), "%s/server.log", pg_dir);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (lfd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(lfd, 1) < 0 || dup2(lfd, 2) < 0)
			_exit(126);
		if (setgroups(0, NULL) < 0 || setgid(pg_gid) < 0 || setuid(pg_uid) < 0)
			_exit(126);
		/* after setuid (which clears it): the cluster dies with us */
		prctl(PR_SET_PDEATHSIG, SIGQUIT);
		execl(exe, exe, "-D", pg_data, (char *)NULL);
		_exit(127);
	}
	pg_pid = pid;
	uint64_t t0 = now_ns();
	while (psql("postgres", "SELECT 1") != 0) {
		int st;
		if (waitpid(pg_pid, &st, WNOHANG) == pg_pid) {
			pg_pid = 0;
			die("postgres exited at start (see %s)", log);
		}
		if (now_ns() - t0 > 60ull * 1000000000u)
			die("postgres did not accept connections within 60 s (see %s)", log);
		usleep(50000);
	}
	static const char *const setup[] = {
		"CREATE ROLE svcacct_owner LOGIN",
		"CREATE ROLE svcacct_hubs NOLOGIN",
		"CREATE ROLE svcacct_hub LOGIN IN ROLE svcacct_hubs",
		"CREATE DATABASE svcacct OWNER svcacct_owner",
		"REVOKE ALL ON DATABASE svcacct FROM PUBLIC",
		"GRANT CONNECT ON DATABASE svcacct TO svcacct_hubs",
	};
	for (size_t i = 0; i < sizeof(setup) / sizeof(setup[0]); i++)
		if (psql("postgres", setup[i]) != 0)
			die("psql: %s failed (see %s/psql.log)", setup[i], pg_dir);
}

static void pg_atexit(void)
{
	pg_stop();
}

void copy_secret(const char *from_dir, const char *to_dir, const char *name)
{
	char a[PATH_MAX + 32], b[PATH_MAX + 32], buf[4096];
	sfmt(a, sizeof(a), "%s/state/%s", from_dir, name);
	sfmt(b, sizeof(b), "%s/state/%s", to_dir, name);
	int in = open(a, O_RDONLY | O_CLOEXEC);
	int out = open(b, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n = in < 0 ? -1 : read(in, buf, sizeof(buf));
	if (in < 0 || out < 0 || n <= 0 || write(out, buf, (size_t)n) != n || close(out) != 0)
		die("copy %s to %s: %s", a, b, strerror(errno));
	close(in);
	explicit_bzero(buf, sizeof(buf));
}

/* ACCOUNT_CREATE, 1 client, n accounts prefix%05lu on d. */
static void create_run(struct daemon *d, const char *prefix, unsigned long n, const char *label)
{
	char name[40], msg[300];
	struct lat l = { 0 };
	unsigned long errors = 0;
	cur = d;
	uint64_t t0 = now_ns();
	for (unsigned long i = 0; i < n; i++) {
		sfmt(name, sizeof(name), "%s%05lu", prefix, i);
		uint64_t a = now_ns();
		if (account_create(name, msg, sizeof(msg)) < 0) {
			if (!errors++)
				note("ACCOUNT_CREATE %s: %s", name, msg);
			continue;
		}
		lat_add(&l, now_ns() - a);
	}
	struct row *r = add_row("account create (ACCOUNT_CREATE)", label, 1, l.n,
				(double)(now_ns() - t0) / 1e9, &l, daemon_rss(d));
	r->errors = errors;
	emit(r);
	lat_free(&l);
}

/* The answer of TOKEN_CREATE with key on the current daemon: 0 token,
 * 1 refused (a status), -1 the call failed. */
static int exchange_once(const char *key)
{
	struct svca_buf b;
	struct svca_reply rep;
	char msg[300];
	svca_buf_init(&b, SVCA_MAX_UNAUTH_REQUEST);
	svca_frame_begin(&b, SVCA_CMD_TOKEN_CREATE);
	svca_put_bytes(&b, F_KEY, key, strlen(key));
	int st = call(&b, &rep, msg, sizeof(msg));
	svca_reply_free(&rep);
	svca_buf_free(&b);
	return st < 0 ? -1 : st == SVCA_OK ? 0 : 1;
}

/* n keys made on h2; each: used on h1, revoked on h2, then tried on h1
 * until refused. */
static void revoke_run(struct daemon *h1, struct daemon *h2, unsigned long n, struct run *r)
{
	char msg[300], name[40], kid[SVCA_KEY_LEN];
	cur = h2;
	char(*keys)[KEYBUF] = make_keyed("hr", n);
	struct lat l = { 0 };
	unsigned long errors = 0, first_try = 0;
	for (unsigned long i = 0; i < n; i++) {
		sfmt(name, sizeof(name), "hr%05lu", i);
		sfmt(kid, sizeof(kid), "%.12s", keys[i] + 5);
		cur = h1;
		if (exchange_once(keys[i]) != 0) {
			if (!errors++)
				note("hub 1 refused a fresh key of hub 2 (%s)", name);
			continue;
		}
		cur = h2;
		if (simple(SVCA_CMD_KEY_REVOKE, msg, sizeof(msg), F_NAME, name, F_KEY_ID, kid, 0) <
		    0)
			die("KEY_REVOKE on hub 2: %s", msg);
		uint64_t t0 = now_ns(), t;
		cur = h1;
		int tries = 0, res;
		while ((res = exchange_once(keys[i])) == 0 || res < 0) {
			tries++;
			if (now_ns() - t0 > REVOKE_WAIT_NS)
				break;
			usleep(200);
		}
		t = now_ns();
		if (res != 1) {
			if (!errors++)
				note("hub 1 still took %s's key %.1f s after its revocation on hub "
				     "2",
				     name, (double)(t - t0) / 1e9);
			continue;
		}
		if (!tries)
			first_try++;
		lat_add(&l, t - t0);
	}
	struct row *row = add_row("revoke on h-2 -> refused on h-1", "-", 1, l.n, NAN, &l, NAN);
	row->errors = errors;
	emit(row);
	r->hub_rev_p50 = row->p50;
	r->hub_rev_p99 = row->p99;
	r->hub_rev_n = l.n;
	r->hub_rev_first = first_try;
	lat_free(&l);
	explicit_bzero(keys, n * KEYBUF);
	free(keys);
}

int hubs_available(char *why, size_t len)
{
	return pg_find(why, len);
}

void hubs_pg_stop(void)
{
	pg_stop();
}

void hubs_up(const char *tag, struct daemon *h1, struct daemon *h2, const char *n1, const char *n2,
	     const char *extra1, const char *extra2, const char *import_dir)
{
	static int registered;
	static struct daemon owner;
	char db[PATH_MAX + 128], owner_db[PATH_MAX + 128], conf1[PATH_MAX + 512],
		conf2[PATH_MAX + 512], oname[32];
	if (!registered++)
		atexit(pg_atexit);
	pg_start(tag);
	sfmt(db, sizeof(db), "database = \"host=%s dbname=svcacct user=svcacct_hub\";\n", pg_sock);
	sfmt(owner_db, sizeof(owner_db),
	     "database = \"host=%s dbname=svcacct user=svcacct_owner\";\n", pg_sock);
	sfmt(oname, sizeof(oname), "h-owner%s", tag);
	daemon_init_conf(&owner, oname, owner_db);
	char exe[PATH_MAX + 16], conf[PATH_MAX + 32], log[PATH_MAX + 32];
	sfmt(exe, sizeof(exe), "%s/svcacctd", build_dir);
	sfmt(conf, sizeof(conf), "%s/svcacctd.conf", owner.dir);
	sfmt(log, sizeof(log), "%s/daemon.log", owner.dir);
	char *migrate[] = { exe, "--migrate", "-c", conf, NULL };
	if (run_prog(migrate, 0, log) != 0)
		die("svcacctd --migrate failed (see %s)", log);
	sfmt(conf1, sizeof(conf1), "%s%s", db, extra1);
	sfmt(conf2, sizeof(conf2), "%s%s", db, extra2);
	daemon_init_conf(h1, n1, conf1);
	if (import_dir) {
		char idir[PATH_MAX];
		sfmt(idir, sizeof(idir), "%s", import_dir);
		sfmt(conf, sizeof(conf), "%s/svcacctd.conf", h1->dir);
		sfmt(log, sizeof(log), "%s/import.log", h1->dir);
		char *import[] = { exe, "--import", idir, "-c", conf, NULL };
		if (run_prog(import, 0, log) != 0)
			die("svcacctd --import failed (see %s)", log);
	}
	register_daemon(h1);
	daemon_start(h1);
	daemon_init_conf(h2, n2, conf2);
	copy_secret(h1->dir, h2->dir, "pepper");
	copy_secret(h1->dir, h2->dir, "audit.key");
	register_daemon(h2);
	daemon_start(h2);
}

/* Adds a row's operations and the seconds they took to the totals. */
static void add_rate(const struct row *row, double *ops, double *secs)
{
	if (row->ops && row->ops_s > 0) {
		*ops += (double)row->ops;
		*secs += (double)row->ops / row->ops_s;
	}
}

void bench_hub(struct run *r)
{
	char why[200], msg[300], pamkey[KEYBUF], pamtok[TOKBUF];
	static struct daemon h1, h2;
	r->hub_x8_ops = r->sa_x8_ops = r->hub_rev_p50 = r->hub_rev_p99 = NAN;
	r->hub_x8_p99 = 0;
	if (hubs_available(why, sizeof(why)) < 0) {
		note("hub: skipped: %s", why);
		sfmt(r->hub_skipped, sizeof(r->hub_skipped), "%s", why);
		return;
	}
	note("-- hub: PostgreSQL from %s, two hubs", pg_bin);
	hubs_up("", &h1, &h2, "h-1", "h-2", "", "", NULL);

	cur = &h1;
	setup_org();
	char(*hkeys)[KEYBUF] = make_keyed("hx", Z.small);
	if (account_create(PAM_ACCOUNT, msg, sizeof(msg)) < 0 ||
	    simple(SVCA_CMD_GRANT_ADD, msg, sizeof(msg), F_NAME, PAM_ACCOUNT, F_WORKSPACE, HOST_WS,
		   F_ROLE, "editor", 0) < 0 ||
	    key_create(PAM_ACCOUNT, pamkey, msg, sizeof(msg)) < 0 ||
	    token_create(pamkey, pamtok, sizeof(pamtok), msg, sizeof(msg)) < 0)
		die("hub: setting up the PAM account: %s", msg);

	/* The exchange: standalone and hub in turns (two rounds of half the
	 * duration each), so that a change in the machine's load hits both;
	 * the ratio is taken from the totals. */
	double sa_ops = 0, sa_secs = 0, hub_ops = 0, hub_secs = 0;
	for (int round = 0; round < 2; round++) {
		row_prefix = "standalone: ";
		cur = &r->main; /* the request helpers talk to cur */
		xchg_run(&r->main, r->xkeys, Z.small, 8, Z.xdur / 2, r->lbl_small);
		add_rate(&rows[nrows - 1], &sa_ops, &sa_secs);
		row_prefix = "hub: ";
		cur = &h1;
		xchg_run(&h1, hkeys, Z.small, 8, Z.xdur / 2, r->lbl_small);
		add_rate(&rows[nrows - 1], &hub_ops, &hub_secs);
		r->hub_x8_p99 = fmax(r->hub_x8_p99, rows[nrows - 1].p99);
	}
	r->sa_x8_ops = sa_secs > 0 ? sa_ops / sa_secs : NAN;
	r->hub_x8_ops = hub_secs > 0 ? hub_ops / hub_secs : NAN;

	cur = &h1;
	if (is_root)
		pam_run(&h1, "pam-hub", pamkey, pamtok, r->lbl_small, r->hub_pam_p50);

	unsigned long nc = smoke ? 20 : 300;
	row_prefix = "standalone: ";
	create_run(&r->main, "sc", nc, "-");
	r->sa_create_p50 = rows[nrows - 1].p50;
	row_prefix = "hub: ";
	create_run(&h1, "hc", nc, "-");
	r->hub_create_p50 = rows[nrows - 1].p50;
	r->hub_create_p99 = rows[nrows - 1].p99;

	revoke_run(&h1, &h2, smoke ? 20 : 200, r);
	row_prefix = "";

	int bad = daemon_stop(&h2) | daemon_stop(&h1);
	if (bad)
		r->hub_stop_bad = 1;
	hubs_pg_stop();
	cur = &r->main;
	r->hub_ran = 1;
	explicit_bzero(pamkey, sizeof(pamkey));
	explicit_bzero(pamtok, sizeof(pamtok));
	explicit_bzero(hkeys, Z.small * KEYBUF);
	free(hkeys);
}

void target_hub(FILE *out, const struct run *r)
{
	if (!r->hub_ran) {
		target(out, -1, "hub: not measured%s%s", r->hub_skipped[0] ? ": " : "",
		       r->hub_skipped);
		return;
	}
	target(out, r->hub_x8_ops * 2 >= r->sa_x8_ops,
	       "hub exchange, 8 clients: %.0f/s, standalone %.0f/s (measured in turns): %.2fx "
	       "(within 2x)",
	       r->hub_x8_ops, r->sa_x8_ops, r->sa_x8_ops / r->hub_x8_ops);
	target(out, r->hub_rev_n > 0 && r->hub_rev_p99 < 200000,
	       "revocation on hub 2 refused on hub 1: p50 %.2f ms, p99 %.2f ms over %lu revokes "
	       "(%lu refused at the first try) (p99 < 200 ms)",
	       r->hub_rev_p50 / 1000, r->hub_rev_p99 / 1000, r->hub_rev_n, r->hub_rev_first);
	fprintf(out,
		"- info  : account create, 1 client: hub p50 %.2f ms, p99 %.2f ms; standalone p50 "
		"%.2f ms\n",
		r->hub_create_p50 / 1000, r->hub_create_p99 / 1000, r->sa_create_p50 / 1000);
	if (!isnan(r->hub_pam_p50[PV_KEY]))
		fprintf(out,
			"- info  : PAM key login against a hub: p50 %.3f ms (standalone %.3f ms)\n",
			r->hub_pam_p50[PV_KEY] / 1000, r->pam_p50[0][PV_KEY] / 1000);
}
