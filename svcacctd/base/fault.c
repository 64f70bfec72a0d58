/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fault injection for the test binary svcacctd-faults; see fault.h. */
#include "fault.h"

#ifdef SVCA_FAULT_INJECTION

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define MAX_POINTS 16
#define SPEC_MAX 1024

struct point {
	char name[32];
	unsigned long when; /* the hit that fails; 0 = every hit */
	unsigned long hits;
};

static struct point points[MAX_POINTS];
static size_t npoints;
static int env_read;
static int file_seen; /* file_st describes the file last read */
static struct stat file_st;

static void parse(const char *spec, const char *from)
{
	char buf[SPEC_MAX], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", spec);
	npoints = 0;
	for (char *tok = strtok_r(buf, ", \t\r\n", &save); tok;
	     tok = strtok_r(NULL, ", \t\r\n", &save)) {
		char *colon = strchr(tok, ':');
		unsigned long when = 1;
		if (colon) {
			*colon = '\0';
			char *end;
			if (!strcmp(colon + 1, "every")) {
				when = 0;
			} else {
				errno = 0;
				when = strtoul(colon + 1, &end, 10);
				if (errno || *end || end == colon + 1 || when == 0) {
					log_warn("fault injection: ignoring '%s:%s' in %s", tok,
						 colon + 1, from);
					continue;
				}
			}
		}
		if (npoints == MAX_POINTS || strlen(tok) >= sizeof(points[0].name)) {
			log_warn("fault injection: ignoring '%s' in %s", tok, from);
			continue;
		}
		struct point *p = &points[npoints++];
		snprintf(p->name, sizeof(p->name), "%s", tok);
		p->when = when;
		p->hits = 0;
	}
	log_warn("fault injection: %zu point(s) armed from %s", npoints, from);
}

/* Re-reads SVCACCTD_FAULTS_FILE when it was replaced or changed. */
static void reload_file(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		if (file_seen) {
			file_seen = 0;
			npoints = 0;
			log_warn("fault injection: %s is gone; nothing armed", path);
		}
		return;
	}
	if (file_seen && st.st_ino == file_st.st_ino && st.st_dev == file_st.st_dev &&
	    st.st_size == file_st.st_size && st.st_mtim.tv_sec == file_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == file_st.st_mtim.tv_nsec &&
	    st.st_ctim.tv_sec == file_st.st_ctim.tv_sec &&
	    st.st_ctim.tv_nsec == file_st.st_ctim.tv_nsec)
		return;
	char spec[SPEC_MAX];
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, spec, sizeof(spec) - 1);
		close(fd);
	}
	if (n < 0) {
		log_warn("fault injection: cannot read %s: %s", path, strerror(errno));
		return;
	}
	spec[n] = '\0';
	file_st = st;
	file_seen = 1;
	parse(spec, path);
}

int fault_hit(const char *point)
{
	if (!env_read) {
		env_read = 1;
		const char *spec = getenv("SVCACCTD_FAULTS");
		if (spec && *spec)
			parse(spec, "SVCACCTD_FAULTS");
	}
	const char *path = getenv("SVCACCTD_FAULTS_FILE");
	if (path && *path)
		reload_file(path);
	for (size_t i = 0; i < npoints; i++) {
		struct point *p = &points[i];
		if (strcmp(p->name, point) != 0)
			continue;
		p->hits++;
		if (p->when == 0 || p->hits == p->when) {
			log_warn("fault injection: %s fails (hit %lu)", point, p->hits);
			return 1;
		}
	}
	return 0;
}

int fault_fail(const char *point, int err)
{
	if (!fault_hit(point))
		return 0;
	errno = err;
	return 1;
}

#else

/* ISO C wants at least one declaration in a translation unit. */
typedef int fault_injection_not_built;

#endif
