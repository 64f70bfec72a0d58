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

#endif
