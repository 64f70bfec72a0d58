/* SPDX-License-Identifier: GPL-3.0-or-later */
/* svcacct-bench: small helpers, latency samples, CPU accounting, the machine. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* ---- small helpers ------------------------------------------------------- */

__attribute__((format(printf, 1, 2), noreturn)) void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "svcacct-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

__attribute__((format(printf, 1, 2))) void note(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "# ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

__attribute__((format(printf, 3, 4))) void sfmt(char *dst, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		die("out of memory");
	return p;
}

void write_text(const char *path, mode_t mode, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t n = strlen(text);
	if (fd < 0 || write(fd, text, n) != (ssize_t)n || close(fd) != 0)
		die("write %s: %s", path, strerror(errno));
	chmod(path, mode);
}

/* Reads a whole file (NUL-terminated); NULL when it cannot. */
char *read_text(const char *path)
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

void rm_rf(const char *path)
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

void lat_add(struct lat *l, uint64_t ns)
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

void lat_merge(struct lat *dst, const struct lat *src)
{
	for (size_t i = 0; i < src->n; i++)
		lat_add(dst, src->v[i]);
}

void lat_free(struct lat *l)
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
double pct_us(const struct lat *l, double q)
{
	if (!l->n)
		return NAN;
	double r = ceil(q * (double)l->n);
	size_t i = r < 1 ? 0 : (size_t)r - 1;
	if (i >= l->n)
		i = l->n - 1;
	return (double)l->v[i] / 1000.0;
}

void lat_sort(struct lat *l)
{
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_u64);
}

/* ---- CPU accounting ------------------------------------------------------------ */

/* utime + stime (+ cutime + cstime when children) of a process, in ticks. */
uint64_t proc_ticks(pid_t pid, int children)
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
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		       &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 8)
		return 0;
	return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

void cpu_begin(struct cpu_mark *m, const struct daemon *d)
{
	m->pid = d ? d->pid : 0;
	m->t = now_ns();
	m->busy = machine_busy();
	m->self = proc_ticks(getpid(), 1);
	m->dmn = m->pid ? proc_ticks(m->pid, 0) : 0;
}

double last_client_op;

/* Daemon CPU per op (us) and the CPUs other processes kept busy. */
void cpu_end(const struct cpu_mark *m, unsigned long ops, double *cpu_op, double *others)
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

/* ---- machine description ------------------------------------------------------------------- */

void machine(char *dst, size_t len)
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
	sfmt(dst, len, "%ld CPU(s), %s, Linux %s, %s on %s", sysconf(_SC_NPROCESSORS_ONLN), model,
	     u.release, fs, tmp_root);
}
