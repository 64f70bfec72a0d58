/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nss-bench: getpwnam/getpwuid latency of libnss_svcacct.so.2 next to
 * glibc's "files" with the same number of entries.  Root only: each
 * measurement runs in a child with a private mount namespace where
 * /etc/nsswitch.conf (and for "files", /etc/passwd) are bind-mounted test
 * files; the host is not touched.
 *
 *   nss-bench -m MODULE [-n COUNTS] [-o OPS] [-T SECONDS] [-d TMPDIR]
 *
 *   -m  the built libnss_svcacct.so.2
 *   -n  comma-separated entry counts (default 10,100000)
 *   -o  lookups per measurement (default 20000; fewer when -T runs out)
 *   -T  time budget per measurement in seconds (default 2)
 *
 * Backends: "files" (passwd: files, N lines in /etc/passwd), "svcacct"
 * (passwd: svcacct, N accounts in the snapshot) and "files+svcacct" (the
 * host's own /etc/passwd, then the module: the recommended setup).  The
 * snapshot is written with the daemon's writer (common/nss_format.c).
 *
 * Build: cc -O2 -Icommon -o nss-bench bench/nss-bench.c common/nss_format.c
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nss_format.h"

#define UID_MIN 200000u
#define PREFIX "svcb"

static char self[PATH_MAX];

static void die(const char *what)
{
	fprintf(stderr, "nss-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		die(path);
}

/* The N accounts: passwd lines for "files", and the snapshot. */
static void prepare(const char *dir, unsigned long n)
{
	char path[PATH_MAX], name[40];
	snprintf(path, sizeof(path), "%s/passwd", dir);
	FILE *pw = fopen(path, "we");
	struct nss_entry *e = calloc(n ? n : 1, sizeof(*e));
	char *names = calloc(n ? n : 1, 33);
	if (!pw || !e || !names)
		die("prepare");
	for (unsigned long i = 0; i < n; i++) {
		snprintf(name, sizeof(name), PREFIX "%06lu", i);
		memcpy(names + i * 33, name, strlen(name) + 1);
		e[i].name = names + i * 33;
		e[i].description = "benchmark account";
		e[i].uid = (uint32_t)(UID_MIN + i);
		e[i].flags = SVCA_SNAP_LOGIN;
		fprintf(pw, "%s:*:%lu:%lu:benchmark account:/var/lib/svcacct/home/%s:/bin/bash\n",
			name, UID_MIN + i, UID_MIN + i, name);
	}
	if (fclose(pw) != 0)
		die(path);
	struct nss_params p = {
		.uid_min = UID_MIN,
		.uid_max = (uint32_t)(UID_MIN + n),
		.sudo_gid = nss_sudo_gid(UID_MIN, (uint32_t)(UID_MIN + n)),
		.home_base = "/var/lib/svcacct/home",
		.login_shell = "/bin/bash",
		.nologin_shell = "/usr/sbin/nologin",
		.sudo_group = "svcacct-sudo",
	};
	uint8_t *img;
	size_t len;
	char err[512];
	snprintf(path, sizeof(path), "%s/nss", dir);
	if (nss_snap_build(&p, e, n, NULL, NULL, &img, &len) < 0)
		die("nss_snap_build");
	if (nss_snap_install(path, img, len, err, sizeof(err)) < 0) {
		fprintf(stderr, "nss-bench: %s\n", err);
		exit(1);
	}
	free(img);
	free(names);
	free(e);
}

/* In the child: the lookups themselves.  Prints one line per operation. */
static int measure(const char *backend, unsigned long n, unsigned long ops, double budget)
{
	uint64_t *lat = calloc(ops, sizeof(*lat));
	char name[40];
	if (!lat)
		die("calloc");
	for (int op = 0; op < 2; op++) {
		unsigned seed = 12345;
		unsigned long done = 0;
		/* warm-up: load the module, map and check the snapshot; the
		 * first lookup of the process is reported on its own */
		for (int w = 0; w < 3; w++) {
			snprintf(name, sizeof(name), PREFIX "%06lu", n - 1);
			uint64_t t0 = now_ns();
			if (!getpwnam(name)) {
				fprintf(stderr, "nss-bench: %s: %s does not resolve\n", backend,
					name);
				return 1;
			}
			if (op == 0 && w == 0) {
				uint64_t t = now_ns() - t0;
				printf("%-14s %8lu  %-9s %7d %11" PRIu64 " %10" PRIu64 " %10" PRIu64
				       "\n",
				       backend, n, "first", 1, t, t, t);
			}
		}
		uint64_t start = now_ns(), limit = (uint64_t)(budget * 1e9);
		while (done < ops && now_ns() - start < limit) {
			unsigned long i = (unsigned long)rand_r(&seed) % n;
			struct passwd *p;
			uint64_t t0 = now_ns();
			if (op == 0) {
				snprintf(name, sizeof(name), PREFIX "%06lu", i);
				t0 = now_ns();
				p = getpwnam(name);
			} else {
				p = getpwuid((uid_t)(UID_MIN + i));
			}
			uint64_t t1 = now_ns();
			if (!p || p->pw_uid != UID_MIN + i) {
				fprintf(stderr, "nss-bench: %s: lookup %lu failed\n", backend, i);
				return 1;
			}
			lat[done++] = t1 - t0;
		}
		uint64_t sum = 0;
		for (unsigned long k = 0; k < done; k++)
			sum += lat[k];
		qsort(lat, done, sizeof(*lat), cmp_u64);
		printf("%-14s %8lu  %-9s %7lu %11.0f %10" PRIu64 " %10" PRIu64 "\n", backend, n,
		       op == 0 ? "getpwnam" : "getpwuid", done, (double)sum / (double)done,
		       lat[done / 2], lat[(size_t)((double)done * 0.99)]);
		fflush(stdout);
	}
	free(lat);
	return 0;
}

static void bind(const char *src, const char *dst)
{
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0) {
		fprintf(stderr, "nss-bench: bind %s on %s: %s\n", src, dst, strerror(errno));
		_exit(1);
	}
}

static int run(const char *dir, const char *module, const char *backend, unsigned long n,
	       unsigned long ops, double budget)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		char path[PATH_MAX], lib[1100], nss[1100], arg_n[32], arg_o[32], arg_t[32];
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
			fprintf(stderr, "nss-bench: private mount namespace: %s (run as root)\n",
				strerror(errno));
			_exit(1);
		}
		snprintf(path, sizeof(path), "%s/nsswitch.%s", dir, backend);
		write_file(path, !strcmp(backend, "files") ? "passwd: files\ngroup: files\n"
				 : !strcmp(backend, "svcacct")
					 ? "passwd: svcacct\ngroup: svcacct\n"
					 : "passwd: files svcacct\ngroup: files svcacct\n");
		bind(path, "/etc/nsswitch.conf");
		if (!strcmp(backend, "files")) {
			snprintf(path, sizeof(path), "%s/passwd", dir);
			bind(path, "/etc/passwd");
		}
		snprintf(lib, sizeof(lib), "%s/lib", dir);
		mkdir(lib, 0755);
		snprintf(path, sizeof(path), "%s/libnss_svcacct.so.2", lib);
		unlink(path);
		if (symlink(module, path) < 0)
			die("symlink");
		snprintf(nss, sizeof(nss), "%s/nss", dir);
		setenv("LD_LIBRARY_PATH", lib, 1); /* read by ld.so at exec */
		setenv("SVCACCT_NSS_DIR", nss, 1);
		snprintf(arg_n, sizeof(arg_n), "%lu", n);
		snprintf(arg_o, sizeof(arg_o), "%lu", ops);
		snprintf(arg_t, sizeof(arg_t), "%g", budget);
		execl(self, self, "--measure", backend, arg_n, arg_o, arg_t, (char *)NULL);
		die("exec");
	}
	int st;
	if (waitpid(pid, &st, 0) < 0)
		die("waitpid");
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "--measure"))
		return measure(argv[2], strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10),
			       atof(argv[5]));

	const char *module = NULL, *counts = "10,100000", *tmp = "/tmp";
	unsigned long ops = 20000;
	double budget = 2.0;
	int opt;
	while ((opt = getopt(argc, argv, "m:n:o:T:d:")) != -1) {
		switch (opt) {
		case 'm': module = optarg; break;
		case 'n': counts = optarg; break;
		case 'o': ops = strtoul(optarg, NULL, 10); break;
		case 'T': budget = atof(optarg); break;
		case 'd': tmp = optarg; break;
		default: goto usage;
		}
	}
	if (!module || optind != argc || !ops || strlen(tmp) > 900) {
	usage:
		fprintf(stderr, "usage: nss-bench -m MODULE [-n 10,100000] [-o OPS] [-T SECONDS] "
				"[-d TMPDIR]\n");
		return 2;
	}
	char mod[PATH_MAX];
	if (!realpath(module, mod) || !realpath("/proc/self/exe", self))
		die(module);

	printf("%-14s %8s  %-9s %7s %11s %10s %10s\n", "backend", "entries", "lookup", "ops",
	       "mean_ns", "p50_ns", "p99_ns");
	fflush(stdout); /* before the children write */
	int fails = 0;
	char *list = strdup(counts), *save = NULL;
	for (char *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
		unsigned long n = strtoul(c, NULL, 10);
		if (n == 0 || n > 4000000) {
			fprintf(stderr, "nss-bench: bad count %s\n", c);
			return 2;
		}
		char dir[1024];
		snprintf(dir, sizeof(dir), "%s/nss-bench.XXXXXX", tmp);
		if (!mkdtemp(dir))
			die("mkdtemp");
		chmod(dir, 0755);
		prepare(dir, n);
		fails += run(dir, mod, "files", n, ops, budget);
		fails += run(dir, mod, "svcacct", n, ops, budget);
		fails += run(dir, mod, "files+svcacct", n, ops, budget);
		char cmd[PATH_MAX + 16];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "nss-bench: could not remove %s\n", dir);
	}
	free(list);
	return fails ? 1 : 0;
}
