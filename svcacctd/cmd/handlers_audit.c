/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Audit trail commands: list and verify (admin; the command table checks). */
#include <stdio.h>

#include "audit.h"
#include "handlers.h"
#include "request.h"
#include "sockio.h"

void cmd_audit_list(struct request *r)
{
	char account[SVCA_NAME_MAX + 2], event[64];
	uint64_t since = 0, limit = 0;

	if (req_str(r, F_ACCOUNT, account, sizeof(account), 0, "account") < 0 ||
	    req_str(r, F_EVENT, event, sizeof(event), 0, "event") < 0)
		return;
	if ((req_field(r, F_SINCE) && svca_field_u64(req_field(r, F_SINCE), &since) < 0) ||
	    (req_field(r, F_LIMIT) && svca_field_u64(req_field(r, F_LIMIT), &limit) < 0)) {
		req_fail(r, SVCA_ERR_BADREQ, "malformed --since or --limit");
		return;
	}
	req_ok(r);
	if (audit_list(r->d->audit, r->reply, account, event, since, limit) < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error reading the audit trail");
		return;
	}
	if (svca_frame_end(r->reply) < 0)
		req_fail(r, SVCA_ERR_FAILED,
			 "too many audit events to send: use --limit or --since");
}

void cmd_audit_verify(struct request *r)
{
	uint64_t checked, bad;
	char msg[256];

	if (audit_verify(r->d->audit, &checked, &bad, msg, sizeof(msg)) < 0) {
		svca_frame_begin(r->reply, SVCA_ERR_FAILED);
		svca_put_u64(r->reply, F_SEQ, bad);
		svca_put_str(r->reply, F_MESSAGE, msg);
		svca_frame_end(r->reply);
		return;
	}
	req_ok(r);
	svca_put_u64(r->reply, F_TOTAL, checked);
	svca_frame_end(r->reply);
}
