/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Audit trail commands: list and verify (admin; the command table checks). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "audit.h"
#include "audit_fleet.h"
#include "handlers.h"
#include "keys.h"
#include "request.h"
#include "sockio.h"

/* The most key ids an --account filter also matches (an account has far
 * fewer keys; the bound keeps one request's work small). */
#define AUDIT_MAX_KEY_IDS 256

/* The ids of the account's keys, so that a refusal naming only the key
 * (a wrong secret) is found under the account: 0 ok (none when the account
 * is unknown: its events may predate a delete), -1 storage error. */
static int account_key_ids(struct request *r, const char *name, struct apikey **keys,
			   const char **ids, size_t *n)
{
	struct account acc;
	size_t nk = 0;
	*keys = NULL;
	*n = 0;
	int e = account_get(r->d->store, name, &acc);
	if (e <= 0)
		return e;
	if (key_of_account(r->d->store, acc.uid, keys, &nk) < 0)
		return -1;
	for (size_t i = 0; i < nk && *n < AUDIT_MAX_KEY_IDS; i++)
		ids[(*n)++] = (*keys)[i].key_id;
	return 0;
}

static int valid_outcome(const char *o)
{
	return !*o || !strcmp(o, "success") || !strcmp(o, "failure") || !strcmp(o, "denied");
}

/* The optional U64 field into *v: 0 ok (absent leaves 0), -1 malformed. */
static int opt_u64(struct request *r, uint16_t field, uint64_t *v)
{
	return req_field(r, field) && svca_field_u64(req_field(r, field), v) < 0 ? -1 : 0;
}

void cmd_audit_list(struct request *r)
{
	char account[SVCA_NAME_MAX + 2], event[64], host[128], outcome[16], service[64];
	struct audit_filter f = { 0 };
	const char *ids[AUDIT_MAX_KEY_IDS];
	struct apikey *keys = NULL;

	if (req_str(r, F_ACCOUNT, account, sizeof(account), 0, "account") < 0 ||
	    req_str(r, F_EVENT, event, sizeof(event), 0, "event") < 0 ||
	    req_str(r, F_HOST_ID, host, sizeof(host), 0, "host") < 0 ||
	    req_str(r, F_AUDIT_OUTCOME, outcome, sizeof(outcome), 0, "outcome") < 0 ||
	    req_str(r, F_AUDIT_SERVICE, service, sizeof(service), 0, "service") < 0)
		return;
	if (opt_u64(r, F_SINCE, &f.since_ms) < 0 || opt_u64(r, F_LIMIT, &f.limit) < 0 ||
	    opt_u64(r, F_AUDIT_UNTIL, &f.until_ms) < 0 ||
	    opt_u64(r, F_AUDIT_AFTER_SEQ, &f.after_seq) < 0) {
		req_fail(r, SVCA_ERR_BADREQ, "malformed --since, --until or --limit");
		return;
	}
	if (!valid_outcome(outcome)) {
		req_fail(r, SVCA_ERR_BADREQ, "outcome must be success, failure or denied");
		return;
	}
	if (f.until_ms && f.since_ms > f.until_ms) {
		req_fail(r, SVCA_ERR_BADREQ, "--since is later than --until");
		return;
	}
	if (*account && account_key_ids(r, account, &keys, ids, &f.nkey_ids) < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error reading the account's keys");
		return;
	}
	f.account = account;
	f.key_ids = ids;
	f.event = event;
	f.host = host;
	f.outcome = outcome;
	f.service = service;
	req_ok(r);
	/* --follow asks for what comes after it (on a hub possibly stale:
	 * then it merely rereads a little). */
	svca_put_u64(r->reply, F_AUDIT_HEAD, audit_head(r->d->audit));
	int e = audit_list_filter(r->d->audit, r->reply, &f);
	free(keys);
	if (e < 0) {
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
