/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A hub's endpoint for its agents' audit records (issue 17 item 6,
 * docs/agent-protocol.md "Audit forwarding"):
 *
 *   POST /v1/agent/audit   Authorization: Bearer <host credential>
 *        {"dropped_through": D, "records": [{"seq", "ts_ms", "prev", "hash",
 *         "json"}, ...]}   (at most AFLEET_MAX_RECORDS, AGENT_AUDIT_BODY_MAX)
 *        -> 200 {"mark": N}  the host's high-water mark after the batch
 *           409 {"mark": N, ...} records after N are missing and not said
 *               to be dropped: resend from N + 1
 *           400 malformed; 401/403 as every agent endpoint; 413 too large;
 *           503 the database is unreachable
 *
 * The records are appended under the write intent in one transaction with
 * the host's mark (store/audit_fleet.c), with host = the authenticated
 * host, whatever the records say.
 */
#include "http_front.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "audit_fleet.h"
#include "hosts.h"
#include "log.h"
#include "secrets.h"

int agent_api_body_add(struct req_state *rs, const char *data, size_t n)
{
	if (rs->len + n > rs->limit)
		return -1;
	if (rs->len + n + 1 > rs->big_cap) {
		size_t cap = rs->big_cap ? rs->big_cap : 16384;
		while (cap < rs->len + n + 1)
			cap *= 2;
		char *nb = realloc(rs->big, cap);
		if (!nb)
			return -1;
		rs->big = nb;
		rs->big_cap = cap;
	}
	memcpy(rs->big + rs->len, data, n);
	rs->len += n;
	rs->big[rs->len] = '\0';
	return 0;
}

int agent_api_audit_precheck(struct http_front *hf, struct MHD_Connection *c)
{
	struct daemon *d = http_front_daemon(hf);
	struct host h;
	char cred[128];
	int b = https_bearer(c, "POST", cred, sizeof(cred));
	int ok = b == 1 && host_cred_check(d->store, d->secrets->pepper, cred, strlen(cred), &h) ==
				   HOSTCRED_OK;
	sodium_memzero(cred, sizeof(cred));
	return ok;
}

static enum MHD_Result mark_answer(struct MHD_Connection *c, unsigned status, uint64_t mark,
				   const char *detail)
{
	char body[700];
	if (detail)
		snprintf(body, sizeof(body),
			 "{\"mark\":%llu,\"title\":\"Conflict\",\"status\":409,\"detail\":\"%s\"}",
			 (unsigned long long)mark, detail);
	else
		snprintf(body, sizeof(body), "{\"mark\":%llu}", (unsigned long long)mark);
	return http_respond(c, status, "application/json", body, NULL);
}

enum MHD_Result agent_api_audit(struct http_front *hf, struct MHD_Connection *c, const char *method,
				struct req_state *rs)
{
	struct daemon *d = http_front_daemon(hf);
	struct host h;
	enum MHD_Result ret;
	char err[300];
	uint64_t mark = 0;
	if (strcmp(method, "POST")) {
		static const char *const allow[] = { "Allow", "POST", NULL };
		return http_problem(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed",
				    "use POST", allow);
	}
	if (!agent_api_auth(hf, c, method, &h, &ret))
		return ret;
	if (rs->too_large)
		return http_problem(c, MHD_HTTP_CONTENT_TOO_LARGE, "Content Too Large",
				    "the request body is too large: send fewer records", NULL);
	if (!rs->big || !rs->len)
		return http_problem(
			c, MHD_HTTP_BAD_REQUEST, "Bad Request",
			"send a JSON object {\"dropped_through\": N, \"records\": [...]}", NULL);
	size_t mk = audit_mark(d->audit);
	store_write_intent(d->store);
	store_begin(d->store);
	enum afleet_result r = afleet_ingest(d->audit, d->store, h.host_id, rs->big, rs->len, &mark,
					     err, sizeof(err));
	if (r == AFLEET_OK && store_commit(d->store) < 0) {
		r = AFLEET_STORAGE;
		snprintf(err, sizeof(err), "the organization database is unreachable");
	}
	if (r != AFLEET_OK) {
		store_abort(d->store);
		audit_rollback(d->audit, mk);
	}
	if (d->ops->flush(d) < 0 && r == AFLEET_OK) {
		r = AFLEET_STORAGE;
		snprintf(err, sizeof(err), "the organization database is unreachable");
	}
	switch (r) {
	case AFLEET_OK: return mark_answer(c, MHD_HTTP_OK, mark, NULL);
	case AFLEET_GAP:
		log_warn("audit from host %s: %s", h.host_id, err);
		return mark_answer(c, MHD_HTTP_CONFLICT, mark, err);
	case AFLEET_BAD: return http_problem(c, MHD_HTTP_BAD_REQUEST, "Bad Request", err, NULL);
	default:
		log_warn("audit from host %s: %s", h.host_id, err);
		return http_problem(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Service Unavailable", err,
				    NULL);
	}
}
