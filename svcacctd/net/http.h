/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The HTTP front (http_socket, optional loopback http_listen). */
#ifndef SVCACCTD_HTTP_H
#define SVCACCTD_HTTP_H

#include <stddef.h>

#include "daemon.h"

#define TOKEN_BUF 2048

struct server;
struct http_front;

/* unix_fd: the bound, listening http_socket (or -1).  TCP comes from
 * cfg.http_listen.  NULL with err set on failure. */
struct http_front *http_start(struct daemon *d, struct server *srv, int unix_fd, char *err,
			      size_t errlen);
void http_stop(struct http_front *h);

#endif
