/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Audit trail commands: list and verify (admin; the command table checks). */
#include <stdio.h>

#include "audit.h"
#include "audit_fleet.h"
#include "handlers.h"
#include "request.h"
#include "sockio.h"

void cmd_audit_list(struct request *r)
{
	char account[SVCA_NAME_MAX + 2], event[64], host[128];
	uint64_t since = 0, limit = 0;

	if (req_str(r, F_ACCOUNT, account, sizeof(account), 0, "account") < 0 ||
	    req_str(r, F_EVENT, event, sizeof(event), 0, "event") < 0 ||
	    req_str(r, F_HOST_ID, host, sizeof(host), 0, "host") < 0)
		return;
	if ((req_field(r, F_SINCE) && svca_field_u64(req_field(r, F_SINCE), &since) < 0) ||
	    (req_field(r, F_LIMIT) && svca_field_u64(req_field(r, F_LIMIT), &limit) < 0)) {
		req_fail(r, SVCA_ERR_BADREQ, "malformed --since or --limit");
		return;
	}
	req_ok(r);
	if (audit_list_host(r->d->audit, r->reply, account, event, host, since, limit) < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error reading the audit trail");
		return;
	}
	if (svca_frame_end(r->reply) < 0)
		req_fail(r, SVCA_ERR_FAILED,
			 "too many audit events to send: use --limit or --since");
}

void cmd_audit_verify(struct request *r)
{
	uint64_t checked, bad, host_seq = 0;
	char msg[512], host[128] = "";

	/* A hub's trail holds the agents' records: their chains too. */
	int broken = config_mode(&r->d->cfg) == MODE_HUB
			     ? afleet_verify(r->d->audit, &checked, &bad, host, sizeof(host),
					     &host_seq, msg, sizeof(msg))
			     : audit_verify(r->d->audit, &checked, &bad, msg, sizeof(msg));
	if (broken < 0) {
		svca_frame_begin(r->reply, SVCA_ERR_FAILED);
		svca_put_u64(r->reply, F_SEQ, bad);
		svca_put_str(r->reply, F_MESSAGE, msg);
		if (host[0]) {
			svca_put_str(r->reply, F_HOST_ID, host);
			if (host_seq)
				svca_put_u64(r->reply, F_HOST_SEQ, host_seq);
		}
		svca_frame_end(r->reply);
		return;
	}
	req_ok(r);
	svca_put_u64(r->reply, F_TOTAL, checked);
	svca_frame_end(r->reply);
}
