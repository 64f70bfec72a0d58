/* SPDX-License-Identifier: GPL-3.0-or-later */
/* svcacctd: start-up, checks that refuse to run in an unsafe place,
 * signal handling and shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit.h"
#include "daemon.h"
#include "lifecycle.h"
#include "http.h"
#include "hubclient.h"
#include "import.h"
#include "keys.h"
#include "log.h"
#include "nss_snapshot.h"
#include "orgsecrets.h"
#include "readiness.h"
#include "request.h"
#include "ratelimit.h"
#include "refusals.h"
#include "secrets.h"
#include "server.h"
#include "sockio.h"
#include "sshca.h"
#include "tokens.h"

#define VERSION SVCACCTD_VERSION

static void usage(FILE *f)
{
	fprintf(f, "usage: svcacctd [-c FILE] [-f] [-t] [-V] [--migrate | --import STATE_DIR]\n"
		   "  -c FILE  configuration file (default " SVCA_DEFAULT_CONFIG ")\n"
		   "  -f       stay in the foreground, log to stderr\n"
		   "  -t       check the configuration (and the database of a hub) and exit\n"
		   "  -V       print the version and exit\n"
		   "  --migrate  bring the database schema (hub mode) up to date and exit\n"
		   "  --import STATE_DIR  move a standalone host's state into the (empty)\n"
		   "             hub database and exit\n");
}

static void print_err(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s\n", msg);
}

/* The state directory must be ours and closed to others. */
static int check_state_dir(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) < 0) {
		/* 0711: others may pass through to nss/ and home/ inside it,
		 * never list it; every file in it is 0600. */
		if (errno != ENOENT || mkdir(dir, 0711) < 0 || chmod(dir, 0711) < 0 ||
		    stat(dir, &st) < 0) {
			log_err("state_dir %s is unusable: %s", dir, strerror(errno));
			return -1;
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		log_err("state_dir %s is not a directory", dir);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		log_err("state_dir %s is owned by uid %u, not by the daemon's uid %u", dir,
			(unsigned)st.st_uid, (unsigned)geteuid());
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		log_err("state_dir %s is writable by group or others (mode %04o); "
			"run: chmod 711 %s",
			dir, (unsigned)(st.st_mode & 07777), dir);
		return -1;
	}
	if (access(dir, W_OK) < 0) {
		log_err("state_dir %s is not writable: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* One daemon per state directory: an flock held for the process life. */
static int take_lock(const char *dir)
{
	char path[PATH_MAX], pid[32];
	snprintf(path, sizeof(path), "%s/lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_err("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ssize_t n = read(fd, pid, sizeof(pid) - 1);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		log_err("another svcacctd (pid %s) is running with state_dir %s", *pid ? pid : "?",
			dir);
		close(fd);
		return -1;
	}
	int len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len)
		log_warn("cannot write the pid to %s", path);
	return fd; /* kept open: the lock lives as long as the process */
}

static int make_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	char dir[PATH_MAX];

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("socket path %s is too long (at most %zu bytes)", path,
			sizeof(sa.sun_path) - 1);
		return -1;
	}
	strcpy(sa.sun_path, path);
	snprintf(dir, sizeof(dir), "%s", path);
	char *d = dirname(dir);
	/* chmod after mkdir: the umask is 077, and others must reach the
	 * socket. */
	if (stat(d, &st) < 0 && (errno != ENOENT || mkdir(d, 0755) < 0 || chmod(d, 0755) < 0)) {
		log_err("socket directory %s is unusable: %s", d, strerror(errno));
		return -1;
	}
	char why[400];
	if (server_socket_dir_ok(d, why, sizeof(why)) < 0) {
		log_err("%s", why);
		return -1;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_err("%s exists and is not a socket; refusing to replace it", path);
			return -1;
		}
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			log_err("another daemon is already listening on %s", path);
			return -1;
		}
		if (probe >= 0)
			close(probe);
		unlink(path); /* stale socket of a dead daemon */
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_err("cannot bind %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* Anyone may connect: the daemon decides per request (SO_PEERCRED). */
	if (chmod(path, 0666) < 0 || listen(fd, SOMAXCONN) < 0) {
		log_err("cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

static int daemonize(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return chdir("/");
}

/* -t and --migrate with a database (hub mode): is it reachable with the
 * schema this build knows (-t), or bring the schema there (--migrate).
 * 0 ok, 1 not (the reason on stderr). */
static int database_only(const struct svca_config *cfg, int migrate)
{
	char err[512];
	if (!cfg->database) {
		if (migrate)
			fprintf(stderr, "svcacctd: --migrate needs 'database' in %s\n", cfg->path);
		return migrate ? 1 : 0;
	}
	struct store *s =
		store_open_shared(cfg->database, "localhost", migrate ? STORE_MIGRATE : STORE_CHECK,
				  err, sizeof(err));
	if (!s) {
		fprintf(stderr, "svcacctd: %s\n", err);
		return 1;
	}
	store_close(s);
	if (migrate)
		printf("database schema is current (version %d)\n", STORE_SCHEMA_VERSION);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cfgpath = SVCA_DEFAULT_CONFIG;
	int foreground = 0, test_only = 0, migrate_only = 0, opt;
	const char *import_dir = NULL;
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "test", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "migrate", no_argument, NULL, 'M' },
		{ "import", required_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};

	/* A fixed mmap threshold: glibc raises it after large buffers are
	 * freed (an ACCOUNT_LIST reply, a snapshot build), and later large
	 * buffers then stay in the heap after free.  With 100,000 accounts
	 * that kept ~30 MiB of freed heap resident. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);

	while ((opt = getopt_long(argc, argv, "c:ftVh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': cfgpath = optarg; break;
		case 'f': foreground = 1; break;
		case 't': test_only = 1; break;
		case 'V': printf("svcacctd " VERSION "\n"); return 0;
		case 'h': usage(stdout); return 0;
		case 'M': migrate_only = 1; break;
		case 'I': import_dir = optarg; break;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	static struct daemon d;
	daemon_init(&d);
	if (config_load(cfgpath, &d.cfg, print_err, NULL) != 0) {
		if (!test_only)
			fprintf(stderr, "svcacctd: not starting: fix %s\n", cfgpath);
		config_free(&d.cfg);
		return 1;
	}
	if (test_only) {
		char terr[512];
		if (d.cfg.https_listen && https_check(&d.cfg, terr, sizeof(terr)) < 0) {
			fprintf(stderr, "%s: %s\n", cfgpath, terr);
			config_free(&d.cfg);
			return 1;
		}
		if (d.cfg.hub_ca && access(d.cfg.hub_ca, R_OK) < 0) {
			fprintf(stderr, "%s: hub_ca %s: %s\n", cfgpath, d.cfg.hub_ca,
				strerror(errno));
			config_free(&d.cfg);
			return 1;
		}
	}
	if (test_only || migrate_only) {
		int r = database_only(&d.cfg, migrate_only);
		if (r == 0 && test_only)
			printf("%s: configuration OK\n", cfgpath);
		config_free(&d.cfg);
		return r;
	}

	/* Secrets live in this process: no core dumps, no ptrace by peers. */
	struct rlimit nocore = { 0, 0 };
	setrlimit(RLIMIT_CORE, &nocore);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	log_init(1);
	if (sodium_init() < 0) {
		log_err("libsodium failed to initialise");
		return 1;
	}
	/* libcurl's global state, before any thread (an agent's hub calls). */
	if (hub_client_init() < 0) {
		log_err("libcurl failed to initialise");
		return 1;
	}
	daemon_warn_ignored(&d.cfg);
	/* An agent still serves its host without it (logins from its own
	 * state); only the calls to the hubs need it. */
	if (d.cfg.hub_ca && access(d.cfg.hub_ca, R_OK) < 0)
		log_warn("hub_ca %s: %s: no call to the hubs can succeed", d.cfg.hub_ca,
			 strerror(errno));

	int ret = 1, lockfd = -1, lfd = -1, sfd = -1, hfd = -1, started = 0;
	struct http_front *http = NULL;
	struct server *srv = NULL;
	char err[512];

	if (check_state_dir(d.cfg.state_dir) < 0 || (lockfd = take_lock(d.cfg.state_dir)) < 0)
		goto out;
	char host[256] = "localhost";
	gethostname(host, sizeof(host) - 1);
	if (import_dir) {
		int ifd = -1;
		if (!d.cfg.database)
			log_err("--import needs 'database' in %s", d.cfg.path);
		else if ((ifd = take_lock(import_dir)) >= 0 &&
			 import_state(&d.cfg, import_dir, host, err, sizeof(err)) < 0)
			log_err("import from %s failed: %s", import_dir, err);
		else if (ifd >= 0)
			ret = 0;
		if (ifd >= 0)
			close(ifd);
		goto out;
	}
	/* Hub mode: the organization in PostgreSQL; the state dir keeps this
	 * hub's lock and secret files. */
	d.store = d.cfg.database
			  ? store_open_shared(d.cfg.database, host, STORE_SERVE, err, sizeof(err))
			  : store_open(d.cfg.state_dir, err, sizeof(err));
	if (!d.store) {
		log_err("%s", err);
		goto out;
	}
	d.audit = audit_open(d.store, &d.cfg, err, sizeof(err));
	if (!d.audit) {
		log_err("%s", err);
		goto out;
	}
	daemon_agent_load(&d);
	int regen = account_gen_upgrade(d.store);
	if (regen < 0) {
		log_err("cannot give the accounts their token generations (meta/gen)");
		goto out;
	}
	if (regen > 0)
		log_info("gave %d accounts a fresh token generation; tokens issued "
			 "before this version are refused",
			 regen);
	static struct secrets secrets;
	if (secrets_load(&secrets, d.cfg.pepper_file, d.cfg.signing_key_file, err, sizeof(err)) <
	    0) {
		log_err("%s", err);
		goto out;
	}
	d.secrets = &secrets;
	if (store_shared(d.store) && org_secrets_open(&d, err, sizeof(err)) < 0) {
		log_err("%s", err);
		goto out;
	}
	if (sshca_open(&d, err, sizeof(err)) < 0) {
		log_err("%s", err);
		goto out;
	}
	d.rl_key = rl_new(65536);
	d.rl_uid = rl_new(4096);
	d.rl_lock = rl_new(65536);
	d.nss = nss_table_new();
	if (!d.rl_key || !d.rl_uid || !d.rl_lock || !d.nss) {
		log_err("out of memory");
		goto out;
	}
	daemon_resolve_groups(&d);
	if ((lfd = make_socket(d.cfg.socket)) < 0)
		goto out;
	if (d.cfg.http_socket && (hfd = make_socket(d.cfg.http_socket)) < 0)
		goto out;

	if (daemon_event(&d, "daemon.start", VERSION) < 0) {
		log_err("cannot write the daemon.start audit event; not starting");
		goto out;
	}
	started = 1;
	d.nss_dirty = 1;
	nss_snapshot_write(&d);
	log_info("listening on %s (state in %s; %s)", d.cfg.socket, d.cfg.state_dir,
		 config_mode_name(config_mode(&d.cfg)));
	if (!foreground) {
		log_init(0);
		if (daemonize() < 0) {
			log_err("cannot daemonize: %s", strerror(errno));
			goto out;
		}
		/* The lock and pid file follow the daemon's final pid. */
		char pid[32];
		int len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		if (ftruncate(lockfd, 0) < 0 || pwrite(lockfd, pid, (size_t)len, 0) != len)
			log_warn("cannot update the pid in the lock file");
	}

	/* After the fork: a signalfd and epoll belong to the process that
	 * made them. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0 || !(srv = server_new(&d, lfd, sfd))) {
		log_err("cannot set up the event loop: %s", strerror(errno));
		goto out;
	}
	daemon_set_server(srv);
	daemon_agent_start(&d);
	int cfd = store_changes_fd(d.store);
	if (cfd >= 0 && server_watch(srv, cfd, daemon_changes, NULL, &d) < 0) {
		log_err("cannot follow the organization's change log");
		goto out;
	}
	if ((hfd >= 0 || d.cfg.http_listen || d.cfg.https_listen) &&
	    !(http = http_start(&d, srv, hfd, err, sizeof(err)))) {
		log_err("%s", err);
		goto out;
	}
	daemon_set_front(http);
	readiness_start(&d, srv); /* state open, every socket listening */

	int sig = server_run(srv);
	readiness_stop();
	started = 0;        /* daemon.stop is written below */
	daemon_tick(&d, 1); /* last-use times reach the disk */
	char detail[32];
	snprintf(detail, sizeof(detail), "signal %d", sig);
	if (daemon_event(&d, "daemon.stop", sig > 0 ? detail : "error") < 0)
		log_err("cannot write the daemon.stop audit event");
	log_info("stopping (%s)", sig > 0 ? strsignal(sig) : "error");
	ret = sig > 0 ? 0 : 1;
out:
	if (started && daemon_event(&d, "daemon.stop", "start failed") < 0)
		log_err("cannot write the daemon.stop audit event");
	readiness_stop(); /* a start that failed after READY=1: none sent otherwise */
	daemon_set_front(NULL);
	http_stop(http);
	if (hfd >= 0) {
		close(hfd);
		unlink(d.cfg.http_socket);
	}
	server_free(srv);
	daemon_set_server(NULL);
	daemon_agent_stop(&d);
	if (lfd >= 0) {
		close(lfd);
		unlink(d.cfg.socket);
	}
	if (sfd >= 0)
		close(sfd);
	audit_close(d.audit);
	nss_snapshot_forget(d.nss);
	store_close(d.store);
	nss_table_free(d.nss); /* after the store: its hooks point into the table */
	sshca_close(&d);
	if (d.secrets)
		secrets_free(d.secrets);
	rl_free(d.rl_key);
	rl_free(d.rl_uid);
	rl_free(d.rl_lock);
	refusals_free(&d);
	if (lockfd >= 0)
		close(lockfd);
	hub_client_cleanup();
	free(d.admin_gids);
	free(d.super_gids);
	config_free(&d.cfg);
	return ret;
}
