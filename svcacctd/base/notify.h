/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The systemd notification protocol (sd_notify(3)), written directly: one
 * AF_UNIX datagram of "NAME=value" lines to $NOTIFY_SOCKET (a path, or an
 * abstract name written with a leading '@').  No libsystemd.  Without
 * NOTIFY_SOCKET nothing is sent; a socket that cannot be reached is
 * logged once and never stops the daemon.
 */
#ifndef SVCACCTD_NOTIFY_H
#define SVCACCTD_NOTIFY_H

#include <stdint.h>

/* Sends the formatted state (e.g. "READY=1\nSTATUS=...").  1 sent, 0 no
 * NOTIFY_SOCKET, -1 not sent (logged the first time). */
int svca_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* $WATCHDOG_USEC when set for this process ($WATCHDOG_PID absent or
 * ours), else 0. */
uint64_t svca_notify_watchdog_usec(void);

#endif
