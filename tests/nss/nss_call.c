/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nss_call: calls libnss_svcacct.so.2's entry points directly (dlopen), to
 * check the exact NSS status and errno, without glibc's switch in between.
 *
 *   nss_call SO OP ARGS [OP ARGS]...
 *     pwnam NAME BUFLEN | pwuid UID BUFLEN | grnam NAME BUFLEN |
 *     grgid GID BUFLEN | initgroups NAME GID | pwent | grent | mark
 *
 * One line per operation: "STATUS errno=NAME" and, on success, the entry
 * as getent prints it ("pwent"/"grent": one line per entry, then the
 * final status).  "mark" writes "--mark--" to stderr (for strace).
 * Build: cc -o nss_call tests/nss/nss_call.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *so;

static void *sym(const char *name)
{
	void *f = dlsym(so, name);
	if (!f) {
		fprintf(stderr, "nss_call: %s missing: %s\n", name, dlerror());
		exit(2);
	}
	return f;
}

static const char *st_name(enum nss_status st)
{
	switch (st) {
	case NSS_STATUS_SUCCESS: return "SUCCESS";
	case NSS_STATUS_NOTFOUND: return "NOTFOUND";
	case NSS_STATUS_UNAVAIL: return "UNAVAIL";
	case NSS_STATUS_TRYAGAIN: return "TRYAGAIN";
	case NSS_STATUS_RETURN: return "RETURN";
	default: return "?";
	}
}

static const char *err_name(int e)
{
	switch (e) {
	case 0: return "0";
	case ENOENT: return "ENOENT";
	case ERANGE: return "ERANGE";
	case EIO: return "EIO";
	case EACCES: return "EACCES";
	case ENOMEM: return "ENOMEM";
	default: return strerrorname_np(e) ? strerrorname_np(e) : "?";
	}
}

static void print_pw(const struct passwd *p)
{
	printf("%s:%s:%u:%u:%s:%s:%s\n", p->pw_name, p->pw_passwd, (unsigned)p->pw_uid,
	       (unsigned)p->pw_gid, p->pw_gecos, p->pw_dir, p->pw_shell);
}

static void print_gr(const struct group *g)
{
	printf("%s:%s:%u:", g->gr_name, g->gr_passwd, (unsigned)g->gr_gid);
	for (char **m = g->gr_mem; *m; m++)
		printf("%s%s", m == g->gr_mem ? "" : ",", *m);
	printf("\n");
}

typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*pwuid_fn)(uid_t, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*grnam_fn)(const char *, struct group *, char *, size_t, int *);
typedef enum nss_status (*grgid_fn)(gid_t, struct group *, char *, size_t, int *);
typedef enum nss_status (*set_fn)(int);
typedef enum nss_status (*end_fn)(void);
typedef enum nss_status (*pwent_fn)(struct passwd *, char *, size_t, int *);
typedef enum nss_status (*grent_fn)(struct group *, char *, size_t, int *);
typedef enum nss_status (*initgr_fn)(const char *, gid_t, long *, long *, gid_t **, long, int *);

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: nss_call SO OP ARGS...\n");
		return 2;
	}
	so = dlopen(argv[1], RTLD_NOW);
	if (!so) {
		fprintf(stderr, "nss_call: %s\n", dlerror());
		return 2;
	}
	int i = 2;
	while (i < argc) {
		const char *op = argv[i++];
		int err = 0;
		enum nss_status st;
		struct passwd pw;
		struct group gr;
		if (!strcmp(op, "mark")) {
			fprintf(stderr, "--mark--\n");
			continue;
		}
		if (!strcmp(op, "pwent") || !strcmp(op, "grent")) {
			int p = op[0] == 'p';
			((set_fn)sym(p ? "_nss_svcacct_setpwent" : "_nss_svcacct_setgrent"))(0);
			char buf[1 << 16];
			for (;;) {
				err = 0;
				if (p)
					st = ((pwent_fn)sym("_nss_svcacct_getpwent_r"))(
						&pw, buf, sizeof(buf), &err);
				else
					st = ((grent_fn)sym("_nss_svcacct_getgrent_r"))(
						&gr, buf, sizeof(buf), &err);
				if (st != NSS_STATUS_SUCCESS)
					break;
				if (p)
					print_pw(&pw);
				else
					print_gr(&gr);
			}
			((end_fn)sym(p ? "_nss_svcacct_endpwent" : "_nss_svcacct_endgrent"))();
			printf("%s errno=%s\n", st_name(st), err_name(err));
			continue;
		}
		if (i + 2 > argc) {
			fprintf(stderr, "nss_call: %s needs 2 arguments\n", op);
			return 2;
		}
		const char *a = argv[i], *b = argv[i + 1];
		i += 2;
		if (!strcmp(op, "initgroups")) {
			long start = 0, size = 1;
			gid_t *g = malloc(sizeof(gid_t));
			st = ((initgr_fn)sym("_nss_svcacct_initgroups_dyn"))(
				a, (gid_t)strtoul(b, NULL, 10), &start, &size, &g, 0, &err);
			printf("%s errno=%s", st_name(st),
			       err_name(st == NSS_STATUS_SUCCESS ? 0 : err));
			for (long k = 0; k < start; k++)
				printf(" %u", (unsigned)g[k]);
			printf("\n");
			free(g);
			continue;
		}
		size_t buflen = strtoul(b, NULL, 10);
		char *buf = malloc(buflen ? buflen : 1);
		if (!strcmp(op, "pwnam"))
			st = ((pwnam_fn)sym("_nss_svcacct_getpwnam_r"))(a, &pw, buf, buflen, &err);
		else if (!strcmp(op, "pwuid"))
			st = ((pwuid_fn)sym("_nss_svcacct_getpwuid_r"))((uid_t)strtoul(a, NULL, 10),
									&pw, buf, buflen, &err);
		else if (!strcmp(op, "grnam"))
			st = ((grnam_fn)sym("_nss_svcacct_getgrnam_r"))(a, &gr, buf, buflen, &err);
		else if (!strcmp(op, "grgid"))
			st = ((grgid_fn)sym("_nss_svcacct_getgrgid_r"))((gid_t)strtoul(a, NULL, 10),
									&gr, buf, buflen, &err);
		else {
			fprintf(stderr, "nss_call: unknown operation %s\n", op);
			return 2;
		}
		printf("%s errno=%s\n", st_name(st), err_name(st == NSS_STATUS_SUCCESS ? 0 : err));
		if (st == NSS_STATUS_SUCCESS) {
			if (op[0] == 'p')
				print_pw(&pw);
			else
				print_gr(&gr);
		}
		free(buf);
	}
	fflush(stdout);
	return 0;
}
