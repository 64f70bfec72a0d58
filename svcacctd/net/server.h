/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The connection loop of svcacctd. */
#ifndef SVCACCTD_SERVER_H
#define SVCACCTD_SERVER_H

#include "daemon.h"

struct server;

/* lfd: the listening native-protocol socket; sfd: a signalfd for
 * SIGTERM, SIGINT and SIGHUP. */
struct server *server_new(struct daemon *d, int lfd, int sfd);
/* Runs until SIGTERM/SIGINT; returns the signal number, or -1 on error. */
int server_run(struct server *s);
void server_free(struct server *s);

/* Other fds served by the same loop (the HTTP front's epoll fd): fn runs
 * when fd is readable.  At most SERVER_MAX_WATCH. */
#define SERVER_MAX_WATCH 6
typedef void (*server_fd_fn)(void *arg);
/* timeout (may be NULL): ms until fn must run again, -1 = no need. */
typedef int (*server_timeout_fn)(void *arg);
int server_watch(struct server *s, int fd, server_fd_fn fn, server_timeout_fn timeout, void *arg);

/* 0 when dir may hold the daemon's listening sockets: a directory owned
 * by root or the daemon's euid that neither its group nor others may
 * write.  Otherwise -1 and a message for the administrator in err. */
int server_socket_dir_ok(const char *dir, char *err, size_t errlen);

#endif
