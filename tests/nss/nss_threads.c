/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nss_threads: concurrent lookups through glibc while the snapshot is being
 * replaced.  Each thread resolves the stable accounts NAME... by name, by
 * uid and as groups, and compares every field with what the main thread
 * saw first (a torn or mixed read shows up as a difference); the sudo
 * group must always resolve.  An optional churning account (-c NAME) may
 * come and go but must be consistent whenever it resolves.
 *
 *   nss_threads [-t THREADS] [-n LOOKUPS] [-s MIN_SECONDS] [-g SUDO_GROUP]
 *               [-c CHURN_NAME] NAME...
 *
 * Every thread does at least LOOKUPS lookups and runs at least
 * MIN_SECONDS.  Thread 0 also counts how often $SVCACCT_NSS_DIR/svcacct.snap
 * was replaced during the run.  TAP lines; exit 1 on any error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct expect {
	const char *name;
	char line[1024]; /* the passwd entry as text */
	uid_t uid;
};

static struct expect *ex;
static int nex, nthreads = 8;
static long min_lookups = 10000;
static double min_secs = 2.0;
static const char *sudo_group = "svcacct-sudo", *churn;
static atomic_long errors, lookups, churn_seen, churn_absent;
static long replaced;
static char snap_path[4096];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pw_text(const struct passwd *p, char *out, size_t n)
{
	snprintf(out, n, "%s:%s:%u:%u:%s:%s:%s", p->pw_name, p->pw_passwd, (unsigned)p->pw_uid,
		 (unsigned)p->pw_gid, p->pw_gecos, p->pw_dir, p->pw_shell);
}

static void error(const char *fmt, const char *a, const char *b)
{
	if (atomic_fetch_add(&errors, 1) < 10) {
		printf("# ");
		printf(fmt, a, b);
		printf("\n");
	}
}

static void *worker(void *arg)
{
	long id = (long)arg, n = 0;
	char buf[4096], text[1024];
	ino_t last_ino = 0;
	double t0 = now();
	unsigned seed = (unsigned)id * 7919u + 1;
	while (n < min_lookups || now() - t0 < min_secs) {
		const struct expect *e = &ex[(unsigned)rand_r(&seed) % (unsigned)nex];
		struct passwd pw, *pr;
		struct group gr, *gres;
		int r;
		switch (n % 4) {
		case 0:
			r = getpwnam_r(e->name, &pw, buf, sizeof(buf), &pr);
			if (r || !pr) {
				error("getpwnam_r %s failed: %s", e->name,
				      r ? strerror(r) : "not found");
				break;
			}
			pw_text(pr, text, sizeof(text));
			if (strcmp(text, e->line))
				error("getpwnam_r returned %s, not %s", text, e->line);
			break;
		case 1:
			r = getpwuid_r(e->uid, &pw, buf, sizeof(buf), &pr);
			if (r || !pr) {
				error("getpwuid_r %s failed: %s", e->name,
				      r ? strerror(r) : "not found");
				break;
			}
			pw_text(pr, text, sizeof(text));
			if (strcmp(text, e->line))
				error("getpwuid_r returned %s, not %s", text, e->line);
			break;
		case 2:
			r = getgrgid_r(e->uid, &gr, buf, sizeof(buf), &gres);
			if (r || !gres || strcmp(gres->gr_name, e->name) || gres->gr_mem[0])
				error("getgrgid_r %s: %s", e->name,
				      r ? strerror(r) : "wrong or missing group");
			break;
		default:
			if (churn && (n / 4) % 2) {
				r = getpwnam_r(churn, &pw, buf, sizeof(buf), &pr);
				if (r) {
					error("getpwnam_r %s failed: %s", churn, strerror(r));
				} else if (!pr) {
					atomic_fetch_add(&churn_absent, 1);
				} else {
					size_t hl = strlen(pr->pw_dir), nl = strlen(churn);
					if (strcmp(pr->pw_name, churn) ||
					    pr->pw_uid != pr->pw_gid || hl <= nl ||
					    strcmp(pr->pw_dir + hl - nl, churn) ||
					    pr->pw_dir[hl - nl - 1] != '/')
						error("inconsistent entry for %s (home %s)", churn,
						      pr->pw_dir);
					atomic_fetch_add(&churn_seen, 1);
				}
				break;
			}
			r = getgrnam_r(sudo_group, &gr, buf, sizeof(buf), &gres);
			if (r || !gres)
				error("getgrnam_r %s failed: %s", sudo_group,
				      r ? strerror(r) : "not found");
			break;
		}
		n++;
		if (id == 0 && n % 64 == 0) {
			struct stat st;
			if (stat(snap_path, &st) == 0 && st.st_ino != last_ino) {
				if (last_ino)
					replaced++;
				last_ino = st.st_ino;
			}
		}
	}
	atomic_fetch_add(&lookups, n);
	return NULL;
}

int main(int argc, char **argv)
{
	int opt;
	while ((opt = getopt(argc, argv, "t:n:s:g:c:")) != -1) {
		switch (opt) {
		case 't': nthreads = atoi(optarg); break;
		case 'n': min_lookups = atol(optarg); break;
		case 's': min_secs = atof(optarg); break;
		case 'g': sudo_group = optarg; break;
		case 'c': churn = optarg; break;
		default: return 2;
		}
	}
	nex = argc - optind;
	if (nex < 1 || nthreads < 1 || nthreads > 256) {
		fprintf(stderr, "usage: nss_threads [-t N] [-n N] [-s SECS] [-g GROUP] [-c NAME] "
				"NAME...\n");
		return 2;
	}
	const char *dir = getenv("SVCACCT_NSS_DIR");
	snprintf(snap_path, sizeof(snap_path), "%s/svcacct.snap",
		 dir ? dir : "/var/lib/svcacct/nss");
	ex = calloc((size_t)nex, sizeof(*ex));
	for (int i = 0; i < nex; i++) {
		struct passwd *p = getpwnam(argv[optind + i]);
		if (!p) {
			printf("not ok - %s resolves before the run\n", argv[optind + i]);
			return 1;
		}
		ex[i].name = argv[optind + i];
		ex[i].uid = p->pw_uid;
		pw_text(p, ex[i].line, sizeof(ex[i].line));
	}
	pthread_t *t = calloc((size_t)nthreads, sizeof(*t));
	double t0 = now();
	for (long i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	double secs = now() - t0;
	long total = atomic_load(&lookups), errs = atomic_load(&errors);
	printf("# %ld lookups in %.2f s by %d threads (%.0f ns/lookup/thread)\n", total, secs,
	       nthreads, secs * 1e9 * nthreads / (double)(total ? total : 1));
	if (churn)
		printf("# %s resolved %ld times, absent %ld times\n", churn,
		       atomic_load(&churn_seen), atomic_load(&churn_absent));
	printf("%s - %d threads x >= %ld lookups: %ld errors or torn reads\n",
	       errs ? "not ok" : "ok", nthreads, min_lookups, errs);
	printf("%s - the snapshot was replaced during the run (%ld times)\n",
	       replaced > 0 ? "ok" : "not ok", replaced);
	return errs || replaced == 0 ? 1 : 0;
}
