/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the HTTP front (http.c) shares with the HTTPS API (https.c): the
 * per-request state, responses, and running one native command for a
 * connection.  Internal to svcacctd/net/. */
#ifndef SVCACCTD_HTTP_FRONT_H
#define SVCACCTD_HTTP_FRONT_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon.h"
#include "proto.h"

/* Connections the front tracks for its per-caller caps (http.c), besides
 * a hub's https_max_connections for its agents. */
#define MAX_TRACKED 1024

struct tracked {
	int fd; /* fd + 1; 0 = free slot */
	int64_t deadline;
	uint64_t seq;    /* accept order: lower = older */
	uint64_t caller; /* hash of the caller (http_caller_key or uid) */
	int root;        /* uid 0 on http_socket: never evicted */
	int evicted;     /* shut down by the policy; MHD closes it soon */
	int agent;       /* an agent's, authenticated: outside the anonymous caps */
};

/* A long poll (GET /v1/agent/changes) held while nothing changes. */
struct held_poll {
	struct MHD_Connection *c;
	struct req_state *rs;
	uint64_t since;
	int64_t until; /* monotonic ms: answered with the same seq then */
};

struct http_front {
	struct daemon *d;
	struct held_poll *held; /* AGENT_MAX_HELD slots, allocated on first use */
	size_t nheld;
	uint64_t woke_seq; /* the change-log seq the held polls were last checked at */
	int64_t next_until;
	struct snapcache *snapcache; /* agents' slices (model/snapcache.h), made on first fetch */
	struct fetch_log *fetch_log; /* fetches served without the lock, to record (agent_api.c) */
	struct MHD_Daemon *mhd[3];
	int nmhd;
	struct MHD_Daemon *tls;   /* the HTTPS API's (also in mhd[]), or NULL */
	char *tls_cert, *tls_key; /* PEM texts it was started with */
	struct tracked *conns;    /* ntracked slots */
	int ntracked;
	int live;       /* connections being served, over both daemons */
	int evicted;    /* of which shut down by the policy, not yet closed */
	int agents;     /* of which authenticated agents' (agent_auth.c) */
	int max_agents; /* a hub's https_max_connections; else 0 */
	uint64_t next_seq;
	int64_t last_cap_log;
	int64_t started;
};

#define HTTP_MAX_BODY 4096 /* the token endpoints' bodies */
/* A JSON command body (/v1/commands/...): room for a description of
 * SVCA_MAX_STRING characters, escaped. */
#define HTTPS_MAX_BODY (16 * 1024)

/* Per-request state (MHD's con_cls). */
struct req_state {
	char body[HTTPS_MAX_BODY + 1];
	size_t len;
	size_t limit; /* HTTP_MAX_BODY or HTTPS_MAX_BODY, by endpoint */
	int too_large;
	int held;    /* a suspended long poll (in http_front.held) */
	int resumed; /* resumed: answer now */
	/* A body larger than body[] (POST /v1/agent/audit: limit up to
	 * AFLEET_BODY_MAX): malloc'ed, grown as it comes. */
	char *big;
	size_t big_cap;
};

/* A response with extra headers (hdrs: name, value, ..., NULL; may be
 * NULL).  The body is copied. */
enum MHD_Result http_respond(struct MHD_Connection *c, unsigned status, const char *ctype,
			     const char *body, const char *const *hdrs);

/* RFC 9457 problem details.  detail never echoes the request. */
enum MHD_Result http_problem(struct MHD_Connection *c, unsigned status, const char *title,
			     const char *detail, const char *const *hdrs);

/* 1 when a header value v (vlen bytes, as MHD reports it) hid bytes
 * behind a NUL; start is the request's method string (the start of its
 * header bytes). */
int http_hidden_after_nul(struct MHD_Connection *c, const char *start, const char *v, size_t vlen);

/* Runs the native command cmd with the request fields in[0..nin) for the
 * peer of c (its address: never root, no uid), and makes a change durable
 * before it answers.  out gets the reply frame; *token_refused (may be
 * NULL) is 1 when the F_AUTH_TOKEN given was refused.  0, or -1 when no
 * reply can be given (the flush failed, the reply is malformed). */
int http_dispatch(struct http_front *h, struct MHD_Connection *c, uint16_t cmd,
		  const struct svca_field *in, size_t nin, struct svca_buf *out,
		  int *token_refused);

/* The HTTPS API: POST /v1/commands/<name> (https.c). */
#define HTTPS_COMMANDS_PREFIX "/v1/commands/"
enum MHD_Result https_command(struct http_front *h, struct MHD_Connection *c, const char *name,
			      const char *method, struct req_state *rs);

/* GET /metrics: the Prometheus text (http_metrics.c). */
enum MHD_Result http_metrics(struct http_front *h, struct MHD_Connection *c);

/* The daemon a front serves. */
struct daemon *http_front_daemon(struct http_front *h);

/* "Authorization: Bearer <value>" into tok (len bytes).  1 got it, 0 no
 * header, -1 a header that is not one (https.c). */
int https_bearer(struct MHD_Connection *c, const char *method, char *tok, size_t len);

/* A hub's endpoints for its agents (agent_api.c), on the HTTPS API. */
#define AGENT_API_ENROLL "/v1/agent/enroll"
#define AGENT_API_WHOAMI "/v1/agent/whoami"
enum MHD_Result agent_api_enroll(struct http_front *hf, struct MHD_Connection *c,
				 const char *method, struct req_state *rs);
enum MHD_Result agent_api_whoami(struct http_front *hf, struct MHD_Connection *c,
				 const char *method);
/* GET /v1/agent/snapshot: the host's signed slice (model/snapshot.h). */
#define AGENT_API_SNAPSHOT "/v1/agent/snapshot"
enum MHD_Result agent_api_snapshot(struct http_front *hf, struct MHD_Connection *c,
				   const char *method);
/* GET /v1/agent/delta?since=SEQ: the host's signed changes since SEQ
 * (model/host_delta.h); 409 when only a full snapshot will do. */
#define AGENT_API_DELTA "/v1/agent/delta"
enum MHD_Result agent_api_delta(struct http_front *hf, struct MHD_Connection *c,
				const char *method);
/* GET /v1/agent/changes?since=SEQ: {"seq": N} as soon as the change log is
 * past SEQ, else after AGENT_HOLD_MS with the same seq.  A held request is
 * suspended (MHD_suspend_connection): the loop never waits for it. */
#define AGENT_API_CHANGES "/v1/agent/changes"
#define AGENT_HOLD_MS 25000
#define AGENT_MAX_HELD 4096
enum MHD_Result agent_api_changes(struct http_front *hf, struct MHD_Connection *c,
				  const char *method, struct req_state *rs);
/* POST /v1/agent/keycheck {"key"}: the hub checks an API key for the
 * host (agent_keycheck.c). */
#define AGENT_API_KEYCHECK "/v1/agent/keycheck"
enum MHD_Result agent_api_keycheck(struct http_front *hf, struct MHD_Connection *c,
				   const char *method, struct req_state *rs);
/* POST /v1/agent/audit: a batch of the host's audit records (body in
 * rs->big, up to AGENT_AUDIT_BODY_MAX) -> 200 {"mark": N}; 409 {"mark": N}
 * when records after the mark are missing (agent_audit_api.c). */
#define AGENT_API_AUDIT "/v1/agent/audit"
#define AGENT_AUDIT_BODY_MAX (1024 * 1024)
enum MHD_Result agent_api_audit(struct http_front *hf, struct MHD_Connection *c, const char *method,
				struct req_state *rs);
/* At the headers of POST /v1/agent/audit: 1 when the bearer is an active
 * host's credential (only then may the body be large: an unknown caller's
 * is refused past HTTP_MAX_BODY, and then answered 401 like any). */
int agent_api_audit_precheck(struct http_front *hf, struct MHD_Connection *c);
/* Appends an upload chunk to rs->big within rs->limit.  0, or -1 too large
 * or out of memory (the body is then refused). */
int agent_api_body_add(struct req_state *rs, const char *data, size_t n);
/* Resumes the held polls that are due (the log moved past their seq, or
 * their time is up); cheap when none is.  ms until the next is due, or
 * -1 when none is held. */
int agent_api_wake(struct http_front *hf);
/* Writes the records (hsync/) of the fetches served without the lock when
 * due (now: at once).  ms until the next are due, or -1 none wait. */
int agent_api_fetches(struct http_front *hf, int now);
/* At shutdown: writes what waits, frees the log. */
void agent_api_fetches_free(struct http_front *hf);
/* A held poll's connection ended (on_completed): forget it. */
void agent_api_forget(struct http_front *hf, struct req_state *rs);
/* At shutdown: resume every held poll so that MHD can stop. */
void agent_api_release_all(struct http_front *hf);
/* The one check of an agent's host credential (Authorization: Bearer
 * svch_..., host_cred_check in model/hosts.c) for every agent endpoint:
 * 1 = an active host (*h filled); 0 = refused, *ret is the response
 * already queued (401 missing, malformed, unknown or removed; 403
 * disabled; 503 database unreachable). */
struct host;
int agent_api_auth(struct http_front *hf, struct MHD_Connection *c, const char *method,
		   struct host *h, enum MHD_Result *ret);

/* The certificate chain and private key of https_listen, read (the key
 * checked like every secret file: secret_file_ok) and checked by GnuTLS
 * (both parse, the key matches the certificate).  On success *cert and
 * *key are malloc'ed PEM texts (https_tls_free wipes the key); else -1
 * with a message for the administrator in err. */
int https_tls_load(const struct svca_config *cfg, char **cert, char **key, char *err,
		   size_t errlen);
void https_tls_free(char *cert, char *key);

/* TLS 1.2 and 1.3 only (GnuTLS priority string). */
#define HTTPS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

#endif
