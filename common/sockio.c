/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Client side of the native protocol: non-blocking connect, one absolute
 * deadline, MSG_NOSIGNAL, close-on-exec, and an optional check of who is
 * listening before a secret is sent. */
#include "sockio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "wipe.h"

int64_t svca_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t svca_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until the deadline.  1 ready, -1 error/timeout. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - svca_now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r > 0)
			return 1;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}

int svca_read_full(int fd, void *buf, size_t n, int64_t deadline)
{
	uint8_t *p = buf;
	while (n > 0) {
		ssize_t r = recv(fd, p, n, MSG_DONTWAIT);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r == 0) {
			errno = EPIPE;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (wait_fd(fd, POLLIN, deadline) < 0)
			return -1;
	}
	return 0;
}

int svca_write_full(int fd, const void *buf, size_t n, int64_t deadline)
{
	const uint8_t *p = buf;
	while (n > 0) {
		ssize_t r = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (wait_fd(fd, POLLOUT, deadline) < 0)
			return -1;
	}
	return 0;
}

int svca_write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

__attribute__((format(printf, 3, 4))) static void seterr(char *err, size_t errlen, const char *fmt,
							 ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The socket must be a socket owned by root or the daemon's user, in a
 * directory that others cannot write to (so nobody can swap it).  0 ok,
 * -2 no file at the path, -1 refused. */
static int check_socket_path(const char *path, uid_t trusted, char *err, size_t errlen)
{
	struct stat st;
	char dir[PATH_MAX];

	if (lstat(path, &st) < 0) {
		seterr(err, errlen, "daemon not reachable at %s: %s", path, strerror(errno));
		return -2; /* no socket at all: unreachable, nobody to distrust */
	}
	if (!S_ISSOCK(st.st_mode) || (st.st_uid != 0 && st.st_uid != trusted)) {
		seterr(err, errlen, "refusing %s: not a socket owned by root or the daemon's user",
		       path);
		return -1;
	}
	if (strlen(path) >= sizeof(dir))
		return -1;
	strcpy(dir, path);
	char *d = dirname(dir);
	if (stat(d, &st) < 0 || (st.st_mode & S_IWOTH && !(st.st_mode & S_ISVTX)) ||
	    (st.st_uid != 0 && st.st_uid != trusted)) {
		seterr(err, errlen,
		       "refusing %s: its directory %s is writable by others or has an untrusted "
		       "owner",
		       path, d);
		return -1;
	}
	return 0;
}

int svca_user_uid(const char *name, int64_t *uid)
{
	struct passwd pw, *res = NULL;
	char *buf = NULL;
	size_t len = 1024;
	int r, ret = -1;

	for (;;) {
		char *nb = realloc(buf, len);
		if (!nb)
			goto out;
		buf = nb;
		r = getpwnam_r(name, &pw, buf, len, &res);
		if (r == ERANGE && len < 1024 * 1024) {
			len *= 2;
			continue;
		}
		break;
	}
	if (r == 0 && res) {
		*uid = (int64_t)res->pw_uid;
		ret = 0;
	} else if (r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM) {
		ret = 1; /* the "not found" answers getpwnam_r(3) lists */
	}
out:
	free(buf);
	return ret;
}

void svca_reply_free(struct svca_reply *rep)
{
	if (rep->body) {
		svca_wipe(rep->body, rep->len);
		free(rep->body);
	}
	rep->body = NULL;
	rep->len = 0;
}

enum svca_call_err svca_call(const struct svca_call_opts *o, const struct svca_buf *req,
			     struct svca_reply *rep, char *err, size_t errlen)
{
	int64_t deadline = svca_now_ms() + (o->timeout_ms > 0 ? o->timeout_ms : 5000);
	size_t max_reply = o->max_reply ? o->max_reply : SVCA_MAX_REPLY;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	enum svca_call_err ret = SVCA_CALL_IO;
	uint8_t hdr[SVCA_HDR_LEN];
	uint8_t first[1024]; /* the header and a short body: one recv */
	size_t got = 0;
	struct svca_header h;
	int fd = -1;

	memset(rep, 0, sizeof(*rep));
	if (req->failed || req->len < SVCA_HDR_LEN) {
		seterr(err, errlen, "request too large or out of memory");
		return SVCA_CALL_NOMEM;
	}
	if (strlen(o->path) >= sizeof(sa.sun_path)) {
		seterr(err, errlen, "socket path too long: %s", o->path);
		return SVCA_CALL_CONNECT;
	}
	strcpy(sa.sun_path, o->path);

	if (o->trusted_uid >= 0) {
		int cr = check_socket_path(o->path, (uid_t)o->trusted_uid, err, errlen);
		if (cr < 0)
			return cr == -2 ? SVCA_CALL_CONNECT : SVCA_CALL_PEER;
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		seterr(err, errlen, "socket: %s", strerror(errno));
		return SVCA_CALL_CONNECT;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINPROGRESS || errno == EAGAIN) {
			/* A Unix socket whose backlog is full: wait for room. */
			int soerr = 0;
			socklen_t sl = sizeof(soerr);
			if (wait_fd(fd, POLLOUT, deadline) < 0 ||
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
				if (soerr)
					errno = soerr;
				seterr(err, errlen, "daemon not reachable at %s: %s", o->path,
				       strerror(errno));
				ret = errno == ETIMEDOUT ? SVCA_CALL_TIMEOUT : SVCA_CALL_CONNECT;
				goto out;
			}
		} else {
			seterr(err, errlen, "daemon not reachable at %s: %s", o->path,
			       strerror(errno));
			ret = SVCA_CALL_CONNECT;
			goto out;
		}
	}

	if (o->trusted_uid >= 0) {
		struct ucred cr;
		socklen_t cl = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 ||
		    (cr.uid != 0 && cr.uid != (uid_t)o->trusted_uid)) {
			seterr(err, errlen,
			       "refusing %s: the server is not running as root or the daemon's "
			       "user",
			       o->path);
			ret = SVCA_CALL_PEER;
			goto out;
		}
	}

	if (svca_write_full(fd, req->data, req->len, deadline) < 0)
		goto ioerr;
	/* The answer cannot be there yet: wait for it first (a recv now
	 * could only say EAGAIN), then take the header and, when it fits,
	 * the whole body with one recv.  Bytes past the reply are ignored,
	 * as before (the daemon closes after one reply). */
	if (wait_fd(fd, POLLIN, deadline) < 0)
		goto ioerr;
	for (;;) {
		ssize_t r = recv(fd, first + got, sizeof(first) - got, MSG_DONTWAIT);
		if (r > 0) {
			got += (size_t)r;
			if (got >= sizeof(hdr))
				break;
			continue;
		}
		if (r == 0) {
			errno = EPIPE;
			goto ioerr;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			goto ioerr;
		if (wait_fd(fd, POLLIN, deadline) < 0)
			goto ioerr;
	}
	memcpy(hdr, first, sizeof(hdr));
	if (svca_header_parse(hdr, &h) < 0 || h.length > max_reply) {
		seterr(err, errlen, "malformed reply from %s", o->path);
		goto out;
	}
	rep->status = h.type;
	rep->len = h.length;
	if (h.length) {
		size_t have = got - sizeof(hdr);
		if (have > h.length)
			have = h.length;
		rep->body = malloc(h.length);
		if (!rep->body) {
			seterr(err, errlen, "out of memory");
			ret = SVCA_CALL_NOMEM;
			goto out;
		}
		memcpy(rep->body, first + sizeof(hdr), have);
		if (have < h.length &&
		    svca_read_full(fd, rep->body + have, h.length - have, deadline) < 0)
			goto ioerr;
		if (svca_body_validate(rep->body, rep->len, SIZE_MAX) < 0) {
			seterr(err, errlen, "malformed reply from %s", o->path);
			goto out;
		}
	}
	ret = SVCA_CALL_OK;
	goto out;

ioerr:
	if (errno == ETIMEDOUT) {
		seterr(err, errlen, "daemon at %s did not answer in time", o->path);
		ret = SVCA_CALL_TIMEOUT;
	} else {
		seterr(err, errlen, "connection to %s failed: %s", o->path,
		       errno == EPIPE ? "closed by the daemon" : strerror(errno));
		ret = SVCA_CALL_IO;
	}
out:
	if (ret != SVCA_CALL_OK)
		svca_reply_free(rep);
	if (got)
		svca_wipe(first, got); /* may hold a token */
	if (fd >= 0)
		close(fd);
	return ret;
}
