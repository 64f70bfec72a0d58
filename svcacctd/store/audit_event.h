/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One audit event as the rules describe it, and the time format of the
 * records: shared by the trail (audit.c) and its JSON text (audit_json.c),
 * so that audit.c -> audit_json.c is the only edge between them. */
#ifndef SVCACCTD_AUDIT_EVENT_H
#define SVCACCTD_AUDIT_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "caller.h"

struct audit_event {
	const char *event;   /* "account.create", ... */
	const char *outcome; /* "success" | "failure" | "denied" */
	const struct actor *actor;
	const struct peer *peer;
	const char *account; /* subject */
	uint32_t uid;        /* subject's uid, 0 = none */
	const char *key_id;
	const char *jti;
	const char *team;
	const char *workspace;
	const char *service;
	const char *rhost;
	const char *tty;
	const char *reason;
	const char *detail;  /* free text, never a secret */
	uint64_t suppressed; /* audit.coalesced: refusals not recorded one by one */
	/* SSH certificates (DESIGN.md section 10): ssh.issue, ssh.revoke and a
	 * certificate login (auth.allow with method "ssh-cert"). */
	const char *method;      /* how a login authenticated: "ssh-cert"; NULL */
	uint64_t serial;         /* a certificate's serial; 0 = none */
	const char *cert_id;     /* the certificate's key id */
	const char *fingerprint; /* the certified public key's SHA256 fingerprint */
	uint64_t ttl;            /* seconds; 0 = none */
};

/* Formats ms since the epoch as 2026-11-27T10:00:00.123Z. */
void format_iso_ms(int64_t ms, char *dst, size_t len);

#endif
