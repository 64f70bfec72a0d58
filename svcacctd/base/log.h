/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The daemon's own diagnostics (not the audit trail): stderr in the
 * foreground, syslog (LOG_DAEMON) otherwise.  Never pass a secret here. */
#ifndef SVCACCTD_LOG_H
#define SVCACCTD_LOG_H

#include <syslog.h>

void log_init(int foreground);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)

#endif
