/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sd_notify(3)'s protocol without libsystemd (notify.h). */
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

#define NOTIFY_MSG_MAX 1024

/* $NOTIFY_SOCKET as an address: 0, or -1 unusable. */
static int notify_addr(const char *path, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n = strlen(path);
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if ((path[0] != '/' && path[0] != '@') || n < 2 || n >= sizeof(sa->sun_path))
		return -1;
	memcpy(sa->sun_path, path, n);
	if (path[0] == '@')
		sa->sun_path[0] = '\0'; /* abstract: the length says where it ends */
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
	return 0;
}

static int warned;

static int notify_fail(const char *path, const char *why)
{
	if (!warned++)
		log_warn("NOTIFY_SOCKET %s: %s (systemd is not told of this daemon's state)", path,
			 why);
	return -1;
}

int svca_notify(const char *fmt, ...)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || !*path)
		return 0;
	char msg[NOTIFY_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return notify_fail(path, "message too long");
	struct sockaddr_un sa;
	socklen_t len;
	if (notify_addr(path, &sa, &len) < 0)
		return notify_fail(path, "not an absolute path or @name");
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return notify_fail(path, strerror(errno));
	/* Nonblocking: a full or stuck receiver never stalls the loop. */
	ssize_t w = sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	int e = errno;
	close(fd);
	if (w != n)
		return notify_fail(path, w < 0 ? strerror(e) : "short write");
	return 1;
}

uint64_t svca_notify_watchdog_usec(void)
{
	const char *us = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	if (!us || !*us)
		return 0;
	if (pid && *pid) {
		char *end;
		unsigned long p = strtoul(pid, &end, 10);
		if (*end || p != (unsigned long)getpid())
			return 0;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(us, &end, 10);
	if (errno || *end || v == 0)
		return 0;
	return (uint64_t)v;
}
