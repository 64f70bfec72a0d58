/* SPDX-License-Identifier: GPL-3.0-or-later */
/* svcacct-bench: calibration of this machine (fdatasync, Ed25519, a durable round trip). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sodium.h>

#include "bench.h"

/* One connection, one 600-byte request, one 100-byte reply. */
static uint64_t rtt_once(const struct sockaddr_un *sa, int poll_reply)
{
	uint8_t b[600];
	memset(b, 'x', sizeof(b));
	uint64_t t0 = now_ns();
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ||
	    write(fd, b, sizeof(b)) != (ssize_t)sizeof(b))
		die("calibration round trip: %s", strerror(errno));
	ssize_t r;
	do
		r = recv(fd, b, sizeof(b), poll_reply ? MSG_DONTWAIT : 0);
	while (r < 0 && (errno == EAGAIN || errno == EINTR));
	close(fd);
	return now_ns() - t0;
}

static void calibrate_rtt(struct calib *c)
{
	char path[PATH_MAX + 32], jpath[PATH_MAX + 32];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	sfmt(path, sizeof(path), "%s/rtt.sock", work);
	sfmt(jpath, sizeof(jpath), "%s/rtt.journal", work);
	if (strlen(path) >= sizeof(sa.sun_path))
		die("%s: path too long", path);
	strcpy(sa.sun_path, path);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 16) < 0)
		die("%s: %s", path, strerror(errno));
	int j = open(jpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	static const uint8_t zero[1 << 20];
	if (j < 0 || write(j, zero, sizeof(zero)) != (ssize_t)sizeof(zero) || fdatasync(j) < 0)
		die("%s: %s", jpath, strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		uint8_t b[1024];
		off_t off = 0;
		for (;;) {
			int cfd = accept(l, NULL, NULL);
			if (cfd < 0)
				_exit(0);
			ssize_t n = read(cfd, b, sizeof(b));
			if (n <= 0)
				_exit(0);
			if (pwrite(j, b, 600, off) != 600 || fdatasync(j) < 0 ||
			    write(cfd, b, 100) != 100)
				_exit(1);
			off = (off + 600) % (512 * 1024);
			close(cfd);
		}
	}
	close(l);
	close(j);
	int n = smoke ? 20 : 600;
	struct lat a = { 0 }, b = { 0 };
	for (int i = 0; i < n; i++) { /* interleaved: the same disk and load */
		lat_add(&a, rtt_once(&sa, 0));
		lat_add(&b, rtt_once(&sa, 1));
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		/* an empty request ends the server (or it is gone already) */
		(void)connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
	}
	waitpid(pid, NULL, 0);
	unlink(path);
	unlink(jpath);
	lat_sort(&a);
	lat_sort(&b);
	c->rtt_p50_us = pct_us(&a, 0.5);
	c->rtt_p99_us = pct_us(&a, 0.99);
	c->rtt_poll_p50_us = pct_us(&b, 0.5);
	lat_free(&a);
	lat_free(&b);
}

void calibrate(struct calib *c)
{
	char path[PATH_MAX + 32];
	uint8_t buf[600];
	struct lat l = { 0 };
	int n = smoke ? 20 : 300;
	memset(buf, 'x', sizeof(buf));
	sfmt(path, sizeof(path), "%s/fsync.probe", work);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		if (pwrite(fd, buf, sizeof(buf), (off_t)i * (off_t)sizeof(buf)) !=
			    (ssize_t)sizeof(buf) ||
		    fdatasync(fd) < 0)
			die("%s: %s", path, strerror(errno));
		lat_add(&l, now_ns() - t0);
	}
	close(fd);
	unlink(path);
	lat_sort(&l);
	c->fsync_p50_us = pct_us(&l, 0.5);
	c->fsync_p99_us = pct_us(&l, 0.99);
	lat_free(&l);

	if (sodium_init() < 0)
		die("sodium_init failed");
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	uint8_t sig[crypto_sign_BYTES], msg[400];
	crypto_sign_keypair(pk, sk);
	randombytes_buf(msg, sizeof(msg));
	int m = smoke ? 200 : 3000, bad = 0;
	uint64_t t0 = now_ns();
	for (int i = 0; i < m; i++)
		crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
	uint64_t t1 = now_ns();
	for (int i = 0; i < m; i++)
		bad += crypto_sign_verify_detached(sig, msg, sizeof(msg), pk) != 0;
	uint64_t t2 = now_ns();
	sodium_memzero(sk, sizeof(sk));
	if (bad)
		die("Ed25519 self-check failed");
	c->sign_us = (double)(t1 - t0) / 1000.0 / m;
	c->verify_us = (double)(t2 - t1) / 1000.0 / m;
	calibrate_rtt(c);
}
