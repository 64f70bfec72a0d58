/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * svcacct-bench "pam": pam_start/pam_authenticate/pam_acct_mgmt/pam_end
 * in-process (pam_permit, pam_svcacct with a key and a token, with and
 * without NSS, pam_unix with yescrypt), in a child with a private mount
 * namespace set up like an installed host (pam_child).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <math.h>
#include <pwd.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <crypt.h>
#include <security/pam_appl.h>

#include "bench.h"

static const char *const pv_name[PV_N] = {
	"pam: pam_permit (floor)",          "pam: pam_svcacct, API key",
	"pam: pam_svcacct, session token",  "pam: pam_svcacct, API key, no NSS (lookup first)",
	"pam: pam_unix, yescrypt password",
};

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

static int conv_fn(int n, const struct pam_message **msg, struct pam_response **resp, void *appdata)
{
	const struct conv_data *cd = appdata;
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	if (!r)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
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
		sfmt(err, errlen, "pam_acct_mgmt(%s, %s): %s", service, user, pam_strerror(h, rc));
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
	len += (size_t)snprintf(out, cap,
				"# svcacct-bench: the host's nsswitch.conf with these\n"
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
	write_text(p, 0644,
		   "auth required pam_deny.so\naccount required pam_deny.so\n"
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
	sfmt(pw2, plen,
	     "%s%s" UNIX_USER ":x:59998:59998:svcacct-bench:/nonexistent:/usr/sbin/nologin\n"
	     "%s",
	     pw, (pw[0] && pw[strlen(pw) - 1] != '\n') ? "\n" : "",
	     strstr(pw, "\n_svcacct:") || !strncmp(pw, "_svcacct:", 9)
		     ? ""
		     : "_svcacct:x:59997:59997:svcacct daemon:/nonexistent:/usr/sbin/nologin\n");
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

__attribute__((noreturn, format(printf, 2, 3))) static void child_fail(struct pam_shared *sh,
								       const char *fmt, ...)
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
	char(*names)[256] = xcalloc(cap, sizeof(*names));
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
		child_fail(sh,
			   "getpwnam(%s) %s with NSS %s: the nsswitch.conf switch did not "
			   "take effect",
			   PAM_ACCOUNT, pw ? "resolves" : "fails", on ? "on" : "off");
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
__attribute__((noreturn)) static void pam_child(const char *dir, const char *nss_dir,
						const char *key, const char *token,
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
		child_fail(sh,
			   "NSS as installed did not work in the PAM child: getpwnam(%s) "
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
	if (!key) /* no key variants (pam_run) */
		per_round[PV_KEY] = per_round[PV_KEY_NONSS] = 0;

	/* warm-up (and a check that every stack succeeds at all) */
	for (int v = 0; v < PV_N; v++) {
		if (!per_round[v])
			continue;
		if (v == PV_KEY_NONSS)
			nss_switch(dir, 0, sh);
		for (int i = 0; i < 3; i++)
			if (pam_once(service[v], user[v], secret[v], err, sizeof(err)) !=
			    PAM_SUCCESS)
				child_fail(sh, "%s: %s", pv_name[v], err);
		if (v == PV_KEY_NONSS)
			nss_switch(dir, 1, sh);
	}
	for (unsigned r = 0; r < Z.pam_rounds; r++) {
		for (int v = 0; v < PV_N; v++) {
			if (!per_round[v])
				continue;
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

void pam_run(struct daemon *d, const char *dirname_, const char *key, const char *token,
	     const char *accounts_label, double *p50_out)
{
	char dir[PATH_MAX + 32], nss_dir[PATH_MAX + 16];
	sfmt(dir, sizeof(dir), "%s/%s", work, dirname_);
	sfmt(nss_dir, sizeof(nss_dir), "%s/nss", d->dir);
	pam_prepare(dir, d->sock);
	struct pam_shared *sh =
		mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
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
		if (!key && (v == PV_KEY || v == PV_KEY_NONSS)) {
			p50_out[v] = NAN;
			continue;
		}
		struct lat l = { .v = sh->lat[v], .n = sh->n[v], .cap = sh->n[v] };
		int daemon_involved = v == PV_KEY || v == PV_TOKEN || v == PV_KEY_NONSS;
		struct row *r =
			add_row(pv_name[v], daemon_involved ? accounts_label : "-", 1, l.n,
				(double)sh->secs_ns[v] / 1e9, &l, daemon_involved ? rss : NAN);
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
