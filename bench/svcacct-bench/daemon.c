/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * svcacct-bench: the private svcacctd instances (BUILD/svcacctd -f -c CONF
 * with the durable defaults), the syslog sink their audit lines go to, and
 * the requests the benchmarks send over the native protocol.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* ---- syslog sink ------------------------------------------------------------- */

static int sink_fd = -1;
static atomic_int sink_stop;
atomic_ulong sink_lines;
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

void sink_start(const char *path)
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

void sink_stop_join(void)
{
	if (sink_fd < 0)
		return;
	atomic_store(&sink_stop, 1);
	pthread_join(sink_thread, NULL);
	close(sink_fd);
	sink_fd = -1;
}

/* ---- the daemon -------------------------------------------------------------- */

struct daemon *cur;
char sink_path[PATH_MAX];

static void write_config(struct daemon *d, const char *extra)
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
	     "\tlogin = [ \"" PAM_SERVICE_SVCA
	     "\", \"sshd\", \"login\", \"su\", \"su-l\", \"cron\" ];\n"
	     "\tsudo = [ \"sudo\", \"sudo-i\" ];\n"
	     "};\n"
	     "syslog = true;\n"
	     "syslog_socket = \"%s\";\n"
	     "# rate limits out of the way (the maximum count the config accepts)\n"
	     "rate_limit_count = 100000;\n"
	     "rate_limit_window = 1;\n"
	     "%s",
	     d->dir, d->dir, d->dir, UID_MIN, UID_MAX, sink_path, extra);
	sfmt(conf, sizeof(conf), "%s/svcacctd.conf", d->dir);
	write_text(conf, 0644, text);
}

void daemon_init(struct daemon *d, const char *name)
{
	daemon_init_conf(d, name, "");
}

void daemon_init_conf(struct daemon *d, const char *name, const char *extra)
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
	write_config(d, extra);
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

void daemon_start(struct daemon *d)
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

int daemon_stop(struct daemon *d)
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
		note("svcacctd exited with status %d",
		     WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		show_log_tail(d);
		return -1;
	}
	return 0;
}

/* VmRSS of the daemon in MiB. */
double daemon_rss(const struct daemon *d)
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
void daemon_mem(const struct daemon *d, double *anon, double *file)
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

/* ---- requests ----------------------------------------------------------------- */

/* Sends the frame in b to the current daemon.  Returns the reply status
 * (>= 0) or -1 when the call itself failed; msg gets the reason. */
int call(struct svca_buf *b, struct svca_reply *rep, char *msg, size_t msglen)
{
	struct svca_call_opts o = { .path = cur->sock,
				    .timeout_ms = CALL_TIMEOUT_MS,
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
int reply_text(const struct svca_reply *rep, uint16_t tag, char *dst, size_t len)
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
int simple(uint16_t cmd, char *msg, size_t msglen, ...)
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

int account_create(const char *name, char *msg, size_t msglen)
{
	return simple(SVCA_CMD_ACCOUNT_CREATE, msg, msglen, F_NAME, name, F_DESCRIPTION,
		      "svcacct-bench account", 0);
}

int key_create(const char *name, char key[KEYBUF], char *msg, size_t msglen)
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

int token_create(const char *key, char *tok, size_t toklen, char *msg, size_t msglen)
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

void setup_org(void)
{
	char msg[300];
	if (simple(SVCA_CMD_TEAM_CREATE, msg, sizeof(msg), F_TEAM, BENCH_TEAM, 0) < 0 ||
	    simple(SVCA_CMD_WORKSPACE_CREATE, msg, sizeof(msg), F_WORKSPACE, HOST_WS, F_TEAM,
		   BENCH_TEAM, 0) < 0)
		die("creating the team and host workspace: %s", msg);
}

/* Accounts name0..name(n-1) with one key each, sequentially (setup). */
char (*make_keyed(const char *prefix, unsigned long n))[KEYBUF]
{
	char(*keys)[KEYBUF] = xcalloc(n, KEYBUF);
	char name[40], msg[300];
	for (unsigned long i = 0; i < n; i++) {
		sfmt(name, sizeof(name), "%s%05lu", prefix, i);
		if (account_create(name, msg, sizeof(msg)) < 0 ||
		    key_create(name, keys[i], msg, sizeof(msg)) < 0)
			die("setting up %s: %s", name, msg);
	}
	return keys;
}
