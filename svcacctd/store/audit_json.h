/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The JSON text of an audit event (the record's body and the syslog line). */
#ifndef SVCACCTD_AUDIT_JSON_H
#define SVCACCTD_AUDIT_JSON_H

#include <stdint.h>

#include "audit_event.h"

/* A malloc'ed NUL-terminated string, or NULL when out of memory.  exe is
 * the caller's executable (NULL: unknown).  The text is byte for byte what
 * jansson's json_dumps(JSON_COMPACT | JSON_ENSURE_ASCII) gives for the
 * same object (tests/unit/test_audit_json.c compares them), including
 * leaving out a field whose text is not valid UTF-8. */
char *audit_event_json(const struct audit_event *ev, uint64_t seq, int64_t ts_ms, const char *exe,
		       const char *host);

#endif
