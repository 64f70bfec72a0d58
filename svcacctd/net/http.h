/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The HTTP front (http_socket, optional loopback http_listen) and the
 * HTTPS API (https_listen). */
#ifndef SVCACCTD_HTTP_H
#define SVCACCTD_HTTP_H

#include <stddef.h>

#include "daemon.h"

#define TOKEN_BUF 2048

struct server;
struct http_front;

/* unix_fd: the bound, listening http_socket (or -1).  TCP comes from
 * cfg.http_listen, TLS from cfg.https_listen.  NULL with err set on
 * failure. */
struct http_front *http_start(struct daemon *d, struct server *srv, int unix_fd, char *err,
			      size_t errlen);
void http_stop(struct http_front *h);
/* The change log moved (another hub's change read, or this hub's batch
 * committed): answers the agents' long polls waiting for it (agent_api.c).
 * The loop also checks on every turn; this is the prompt path. */
void http_agents_wake(struct http_front *h);

/* svcacctd -t: the TLS files of https_listen can be read and used (the
 * key is a secret file; certificate and key parse and match).  0, or -1
 * with a message in err. */
struct svca_config;
int https_check(const struct svca_config *cfg, char *err, size_t errlen);

#endif
