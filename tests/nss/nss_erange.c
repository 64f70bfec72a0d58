/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nss_erange: buffer-too-small handling through glibc.  For USER (getpwnam_r,
 * getpwuid_r) and GROUP (getgrnam_r, getgrgid_r), every buffer size from 1
 * up must give ERANGE until the entry fits, then the entry; the sizes that
 * fail must be exactly those below the smallest that works.  TAP lines.
 *
 *   nss_erange USER GROUP
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fails;

static void result(int ok, const char *fmt, const char *arg, size_t n)
{
	printf("%s - ", ok ? "ok" : "not ok");
	printf(fmt, arg, n);
	printf("\n");
	if (!ok)
		fails++;
}

enum op { PWNAM, PWUID, GRNAM, GRGID };

/* 0 found, ERANGE, or another error (-1: not found). */
static int call(enum op op, const char *name, unsigned id, char *buf, size_t len, unsigned *out_id)
{
	struct passwd pw, *pr = NULL;
	struct group gr, *gres = NULL;
	int r;
	switch (op) {
	case PWNAM: r = getpwnam_r(name, &pw, buf, len, &pr); break;
	case PWUID: r = getpwuid_r(id, &pw, buf, len, &pr); break;
	case GRNAM: r = getgrnam_r(name, &gr, buf, len, &gres); break;
	default: r = getgrgid_r(id, &gr, buf, len, &gres); break;
	}
	if (r)
		return r;
	if (op <= PWUID) {
		if (!pr)
			return -1;
		*out_id = pr->pw_uid;
		return strcmp(pr->pw_name, name) == 0 || op == PWUID ? 0 : EINVAL;
	}
	if (!gres)
		return -1;
	*out_id = gres->gr_gid;
	return 0;
}

static unsigned probe(enum op op, const char *what, const char *name, unsigned id)
{
	size_t need = 0;
	unsigned got = 0;
	int bad = 0;
	for (size_t len = 1; len <= 65536; len++) {
		char *buf = malloc(len); /* exact size: ASan/valgrind see overruns */
		int r = call(op, name, id, buf, len, &got);
		free(buf);
		if (r == 0) {
			need = len;
			break;
		}
		if (r != ERANGE) {
			printf("# %s %s with %zu bytes: %s\n", what, name ? name : "", len,
			       r < 0 ? "not found" : strerror(r));
			bad = 1;
			break;
		}
	}
	result(!bad && need > 1, "%s: ERANGE below %zu bytes, then the entry", what, need);
	if (need) {
		char *buf = malloc(need + 4096);
		unsigned again;
		result(call(op, name, id, buf, need + 4096, &again) == 0 && again == got,
		       "%s: a larger buffer works too (%zu bytes)", what, need + 4096);
		free(buf);
	}
	return got;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: nss_erange USER GROUP\n");
		return 2;
	}
	unsigned uid = probe(PWNAM, "getpwnam_r", argv[1], 0);
	probe(PWUID, "getpwuid_r", NULL, uid);
	unsigned gid = probe(GRNAM, "getgrnam_r", argv[2], 0);
	probe(GRGID, "getgrgid_r", NULL, gid);
	return fails ? 1 : 0;
}
