/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The HTTP front: HTTP/1.1 + JSON on http_socket (a Unix socket, like
 * Docker's API) and, when configured, on a loopback TCP address.
 *
 * It is an adapter: every endpoint builds a native request and runs the
 * same command handler the Unix-socket protocol uses, then turns the reply
 * frame into an HTTP response.  One implementation of every rule.
 *
 * libmicrohttpd runs inside the daemon's own loop (external epoll mode),
 * so the single-threaded store is never touched concurrently.  Besides
 * MHD's idle timeout, every connection has an absolute deadline: a client
 * that trickles its request is shut down when the deadline passes.
 */
#include "http.h"
#include "http_front.h"
#include "http_parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "audit.h"
#include "dispatch.h"
#include "log.h"
#include "server.h"
#include "snapcache.h"
#include "sockio.h"
#include "tokens.h"

#define HTTP_MEMORY_LIMIT (32 * 1024) /* per connection: headers + body */
#define HTTP_MAX_CONNECTIONS 256
/* Below the global limit (finding: 300 connections from loopback took
 * every slot): one caller (all of loopback, one uid on http_socket)
 * holds at most this many; the last HTTP_ROOT_RESERVE slots are for
 * root on http_socket. */
#define HTTP_MAX_PER_CALLER 64
#define HTTP_ROOT_RESERVE 16
#define HTTP_IDLE_TIMEOUT_S 10
#define HTTP_DEADLINE_MS 10000

/* The optional Retry-After and Allow headers as a NULL-ended name/value
 * list in hdrs[5]; ra holds the number. */
static const char *const *extra_headers(const char *hdrs[5], char ra[16], int retry_after,
					const char *allow)
{
	size_t n = 0;
	if (retry_after > 0) {
		snprintf(ra, 16, "%d", retry_after);
		hdrs[n++] = "Retry-After";
		hdrs[n++] = ra;
	}
	if (allow) {
		hdrs[n++] = "Allow";
		hdrs[n++] = allow;
	}
	hdrs[n] = NULL;
	return hdrs;
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *ctype,
			       const char *body, int retry_after, const char *allow)
{
	char ra[16];
	const char *hdrs[5];
	return http_respond(c, status, ctype, body, extra_headers(hdrs, ra, retry_after, allow));
}

static enum MHD_Result problem(struct MHD_Connection *c, unsigned status, const char *title,
			       const char *detail, int retry_after, const char *allow)
{
	char ra[16];
	const char *hdrs[5];
	return http_problem(c, status, title, detail, extra_headers(hdrs, ra, retry_after, allow));
}

static enum MHD_Result json_reply(struct MHD_Connection *c, unsigned status, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	enum MHD_Result r = respond(c, status, "application/json", s ? s : "{}", 0, NULL);
	free(s);
	return r;
}

/* One native command run for an HTTP route: the request built in req,
 * the reply frame in out, its status and fields (pointing into out). */
struct http_cmd {
	struct svca_buf req, out;
	struct svca_field fs[32];
	size_t nf;
	uint16_t st;
};

static void cmd_begin(struct http_cmd *x, uint16_t cmd)
{
	x->nf = 0;
	x->st = 0;
	svca_buf_init(&x->req, SVCA_MAX_UNAUTH_REQUEST);
	svca_buf_init(&x->out, 0);
	svca_frame_begin(&x->req, cmd);
}

static void cmd_free(struct http_cmd *x)
{
	svca_buf_free(&x->req);
	svca_buf_free(&x->out);
}

/* Runs x's command (its frame ended).  0, or -1 (no reply to read). */
static int run_command(struct http_front *h, struct MHD_Connection *c, uint16_t cmd,
		       struct http_cmd *x)
{
	struct svca_field in[8];
	int n = svca_fields_collect(x->req.data + SVCA_HDR_LEN, x->req.len - SVCA_HDR_LEN, in, 8);
	if (n < 0 || http_dispatch(h, c, cmd, in, (size_t)n, &x->out, NULL) < 0)
		return -1;
	struct svca_header hd;
	svca_header_parse(x->out.data, &hd);
	x->st = hd.type;
	int m = svca_fields_collect(x->out.data + SVCA_HDR_LEN, x->out.len - SVCA_HDR_LEN, x->fs,
				    32);
	if (m < 0)
		return -1;
	x->nf = (size_t)m;
	return 0;
}

/* The x-api-key header's value (*klen bytes; it may hold a NUL), or NULL. */
static const char *api_key_header(struct MHD_Connection *c, size_t *klen)
{
	const char *key = NULL;
	*klen = 0;
	if (MHD_lookup_connection_value_n(c, MHD_HEADER_KIND, "x-api-key", strlen("x-api-key"),
					  &key, klen) != MHD_YES)
		return NULL;
	return key;
}

static const char *fstr(const struct svca_field *fs, size_t n, uint16_t tag, char *buf, size_t len)
{
	const struct svca_field *f = svca_fields_find(fs, n, tag);
	if (!f || f->len >= len)
		return NULL;
	memcpy(buf, f->val, f->len);
	buf[f->len] = '\0';
	return buf;
}

static uint64_t fu64(const struct svca_field *fs, size_t n, uint16_t tag)
{
	uint64_t v = 0;
	svca_field_u64(svca_fields_find(fs, n, tag), &v);
	return v;
}

static enum MHD_Result token_exchange(struct http_front *h, struct MHD_Connection *c,
				      const char *method)
{
	size_t klen;
	const char *key = api_key_header(c, &klen);
	/* A NUL inside the value: refused whole (as a missing key, audited
	 * the same way), never cut short to the part before it. */
	int embedded_nul = key && http_hidden_after_nul(c, method, key, klen);
	struct http_cmd x;
	cmd_begin(&x, SVCA_CMD_TOKEN_CREATE);
	/* A missing or absurd key still goes through the native command, so
	 * that it is refused and audited (token.deny malformed) the same way. */
	if (key && *key && !embedded_nul && klen <= 512)
		svca_put_bytes(&x.req, F_KEY, key, klen);
	enum MHD_Result ret;
	if (svca_frame_end(&x.req) < 0) {
		ret = problem(c, MHD_HTTP_UNAUTHORIZED, "Unauthorized", "invalid API key", 0, NULL);
		goto out;
	}
	if (run_command(h, c, SVCA_CMD_TOKEN_CREATE, &x) < 0) {
		ret = problem(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error",
			      "the request could not be completed", 0, NULL);
		goto out;
	}
	char reason[32] = "", tok[TOKEN_BUF], kid[32];
	if (x.st != SVCA_OK) {
		fstr(x.fs, x.nf, F_REASON, reason, sizeof(reason));
		if (!strcmp(reason, "rate_limited") || !strcmp(reason, "locked_out")) {
			int ra = (int)fu64(x.fs, x.nf, F_RETRY_AFTER);
			char detail[64];
			snprintf(detail, sizeof(detail), "rate limited, retry in %d s", ra);
			ret = problem(c, MHD_HTTP_TOO_MANY_REQUESTS, "Too Many Requests", detail,
				      ra > 0 ? ra : 1, NULL);
		} else if (!reason[0] && key && klen && config_mode(&h->d->cfg) == MODE_AGENT) {
			/* the exchange was for a hub, and the front cannot wait for one */
			ret = problem(
				c, MHD_HTTP_SERVICE_UNAVAILABLE, "Service Unavailable",
				"token exchange on an agent needs a hub: use svcacctctl token "
				"create on this host, or a hub's /service-account-tokens",
				0, NULL);
		} else {
			ret = problem(c, MHD_HTTP_UNAUTHORIZED, "Unauthorized",
				      key && klen ? "invalid API key"
						  : "send the API key in the x-api-key header",
				      0, NULL);
		}
		goto out;
	}
	json_t *o = json_object();
	json_object_set_new(o, "access_token",
			    json_string(fstr(x.fs, x.nf, F_TOKEN, tok, sizeof(tok)) ?: ""));
	json_object_set_new(o, "token_type", json_string("Bearer"));
	json_object_set_new(o, "expires_in",
			    json_integer((json_int_t)fu64(x.fs, x.nf, F_EXPIRES_IN)));
	json_object_set_new(o, "key_id",
			    json_string(fstr(x.fs, x.nf, F_KEY_ID, kid, sizeof(kid)) ?: ""));
	sodium_memzero(tok, sizeof(tok));
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	ret = respond(c, MHD_HTTP_OK, "application/json", s ? s : "{}", 0, NULL);
	if (s) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
out:
	cmd_free(&x);
	return ret;
}

/* POST /ssh/sign (DESIGN.md section 10): x-api-key or Authorization:
 * Bearer <session token>, body {"public_key": "...", "ttl": 900} ->
 * {"certificate", "serial", "key_id", "valid_before" (RFC 3339)}.  Refusals
 * as the token endpoint's: 401 for the credential, 429 rate limited, 403
 * no login capability, 400 a bad body or key, 503 no CA here. */
static enum MHD_Result ssh_sign(struct http_front *h, struct MHD_Connection *c,
				struct req_state *rs)
{
	const char *key = NULL;
	size_t klen = 0;
	char tok[TOKEN_BUF];
	if (rs->too_large)
		return problem(c, MHD_HTTP_CONTENT_TOO_LARGE, "Content Too Large",
			       "the request body is too large", 0, NULL);
	json_t *body = json_loadb(rs->body, rs->len, 0, NULL);
	json_t *jt = json_object_get(body, "ttl");
	const char *pub = json_string_value(json_object_get(body, "public_key"));
	if (!json_is_object(body) || !pub || (jt && !json_is_integer(jt)) ||
	    (jt && json_integer_value(jt) <= 0)) {
		json_decref(body);
		return problem(
			c, MHD_HTTP_BAD_REQUEST, "Bad Request",
			"send a JSON body {\"public_key\": \"ssh-ed25519 AAAA...\", \"ttl\": "
			"900}",
			0, NULL);
	}
	key = api_key_header(c, &klen);
	if (key && http_hidden_after_nul(c, "POST", key, klen))
		key = NULL;
	int b = key ? 0 : https_bearer(c, "POST", tok, sizeof(tok));
	if (!key && b != 1) {
		json_decref(body);
		return problem(c, MHD_HTTP_UNAUTHORIZED, "Unauthorized",
			       "send the API key in the x-api-key header or a session token in "
			       "Authorization: Bearer",
			       0, NULL);
	}
	struct http_cmd x;
	cmd_begin(&x, SVCA_CMD_SSH_SIGN);
	svca_put_str(&x.req, F_PUBLIC_KEY, pub);
	if (jt)
		svca_put_u64(&x.req, F_TTL, (uint64_t)json_integer_value(jt));
	if (key)
		svca_put_bytes(&x.req, F_KEY, key, klen <= 512 ? klen : 0);
	else
		svca_put_bytes(&x.req, F_AUTH_TOKEN, tok, strlen(tok));
	sodium_memzero(tok, sizeof(tok));
	json_decref(body);
	enum MHD_Result ret;
	if (svca_frame_end(&x.req) < 0) {
		ret = problem(c, MHD_HTTP_BAD_REQUEST, "Bad Request", "the request is too large", 0,
			      NULL);
		goto out;
	}
	if (run_command(h, c, SVCA_CMD_SSH_SIGN, &x) < 0) {
		ret = problem(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error",
			      "the request could not be completed", 0, NULL);
		goto out;
	}
	char reason[32] = "", msg[512] = "", cert[8192], kid[256], vb[40];
	if (x.st != SVCA_OK) {
		fstr(x.fs, x.nf, F_REASON, reason, sizeof(reason));
		if (!fstr(x.fs, x.nf, F_MESSAGE, msg, sizeof(msg)))
			snprintf(msg, sizeof(msg), "refused");
		int ra = (int)fu64(x.fs, x.nf, F_RETRY_AFTER);
		if (!strcmp(reason, "rate_limited") || !strcmp(reason, "locked_out"))
			ret = problem(c, MHD_HTTP_TOO_MANY_REQUESTS, "Too Many Requests", msg,
				      ra > 0 ? ra : 1, NULL);
		else if (x.st == SVCA_ERR_BADREQ)
			ret = problem(c, MHD_HTTP_BAD_REQUEST, "Bad Request", msg, 0, NULL);
		else if (!strcmp(reason, "no_login_capability"))
			ret = problem(c, MHD_HTTP_FORBIDDEN, "Forbidden", msg, 0, NULL);
		else if (x.st == SVCA_ERR_UNAVAIL)
			ret = problem(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Service Unavailable", msg,
				      0, NULL);
		else if (x.st == SVCA_ERR_NOTAUTH || reason[0])
			ret = problem(c, MHD_HTTP_UNAUTHORIZED, "Unauthorized",
				      key ? "invalid API key" : msg, 0, NULL);
		else
			ret = problem(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error",
				      msg, 0, NULL);
		goto out;
	}
	json_t *o = json_object();
	format_iso_ms((int64_t)fu64(x.fs, x.nf, F_VALID_BEFORE), vb, sizeof(vb));
	json_object_set_new(o, "certificate",
			    json_string(fstr(x.fs, x.nf, F_CERTIFICATE, cert, sizeof(cert)) ?: ""));
	json_object_set_new(o, "serial", json_integer((json_int_t)fu64(x.fs, x.nf, F_SERIAL)));
	json_object_set_new(o, "key_id",
			    json_string(fstr(x.fs, x.nf, F_KEY_ID, kid, sizeof(kid)) ?: ""));
	json_object_set_new(o, "valid_before", json_string(vb));
	ret = json_reply(c, MHD_HTTP_OK, o);
out:
	cmd_free(&x);
	return ret;
}

static enum MHD_Result jwks(struct http_front *h, struct MHD_Connection *c)
{
	char *s = tokens_jwks(h->d);
	if (!s)
		return problem(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error",
			       "out of memory", 0, NULL);
	enum MHD_Result r = respond(c, MHD_HTTP_OK, "application/json", s, 0, NULL);
	free(s);
	return r;
}

/* Decodes application/x-www-form-urlencoded "token=..." (RFC 7662). */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int http_form_token(const char *body, char *out, size_t outlen)
{
	const char *p = body;
	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		if (len > 6 && !strncmp(p, "token=", 6)) {
			size_t o = 0;
			for (size_t i = 6; i < len; i++) {
				char ch = p[i];
				if (ch == '+')
					ch = ' ';
				else if (ch == '%') {
					int hi = i + 2 < len ? hexval(p[i + 1]) : -1;
					int lo = i + 2 < len ? hexval(p[i + 2]) : -1;
					if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
						return -1; /* malformed, or a NUL */
					ch = (char)(hi << 4 | lo);
					i += 2;
				}
				if (o + 1 >= outlen)
					return -2; /* too long to be one of ours */
				out[o++] = ch;
			}
			out[o] = '\0';
			return 0;
		}
		p = amp ? amp + 1 : NULL;
	}
	return -1;
}

static enum MHD_Result introspect(struct http_front *h, struct MHD_Connection *c,
				  struct req_state *rs)
{
	char tok[TOKEN_BUF];
	if (rs->too_large)
		return problem(c, MHD_HTTP_CONTENT_TOO_LARGE, "Content Too Large",
			       "the request body is too large", 0, NULL);
	rs->body[rs->len] = '\0';
	int ft = http_form_token(rs->body, tok, sizeof(tok));
	if (ft == -2) {
		sodium_memzero(rs->body, sizeof(rs->body));
		json_t *o = json_object();
		json_object_set_new(o, "active", json_false());
		return json_reply(c, MHD_HTTP_OK, o);
	}
	if (ft < 0) {
		sodium_memzero(rs->body, sizeof(rs->body));
		return problem(c, MHD_HTTP_BAD_REQUEST, "Bad Request",
			       "send a form body: token=<session token>", 0, NULL);
	}
	sodium_memzero(rs->body, sizeof(rs->body));
	struct http_cmd x;
	cmd_begin(&x, SVCA_CMD_TOKEN_VERIFY);
	svca_put_bytes(&x.req, F_TOKEN, tok, strlen(tok));
	sodium_memzero(tok, sizeof(tok));
	enum MHD_Result ret;
	json_t *o = NULL;
	if (svca_frame_end(&x.req) == 0 && run_command(h, c, SVCA_CMD_TOKEN_VERIFY, &x) == 0 &&
	    x.st == SVCA_OK) {
		const struct svca_field *j = svca_fields_find(x.fs, x.nf, F_JSON);
		o = j ? json_loadb((const char *)j->val, j->len, 0, NULL) : NULL;
	}
	if (o && json_is_object(o)) {
		json_object_set_new(o, "active", json_true());
		json_object_set_new(o, "token_type", json_string("Bearer"));
		ret = json_reply(c, MHD_HTTP_OK, o);
	} else {
		json_decref(o);
		o = json_object();
		json_object_set_new(o, "active", json_false());
		ret = json_reply(c, MHD_HTTP_OK, o);
	}
	cmd_free(&x);
	return ret;
}

static enum MHD_Result healthz(struct http_front *h, struct MHD_Connection *c)
{
	json_t *o = json_object();
	json_object_set_new(o, "status", json_string("ok"));
	json_object_set_new(o, "version", json_string(SVCACCTD_VERSION));
	json_object_set_new(o, "uptime_s",
			    json_integer((json_int_t)((svca_now_ms() - h->started) / 1000)));
	json_object_set_new(o, "audit_head", json_integer((json_int_t)audit_head(h->d->audit)));
	return json_reply(c, MHD_HTTP_OK, o);
}

/* The agents' endpoints (agent_api.c): a hub's HTTPS API only. */
static int agent_url(const struct http_front *h, struct MHD_Connection *c, const char *url)
{
	if (!h->tls || config_mode(&h->d->cfg) != MODE_HUB ||
	    strncmp(url, "/v1/agent/", strlen("/v1/agent/")))
		return 0;
	const union MHD_ConnectionInfo *di = MHD_get_connection_info(c, MHD_CONNECTION_INFO_DAEMON);
	return di && di->daemon == h->tls;
}

/* 1 when c came through the HTTPS API. */
static int on_tls(const struct http_front *h, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *di = MHD_get_connection_info(c, MHD_CONNECTION_INFO_DAEMON);
	return h->tls && di && di->daemon == h->tls;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct http_front *h = cls;
	struct req_state *rs = *con_cls;
	(void)version;

	/* The JSON commands: on the HTTPS API only. */
	const char *cmd_name = NULL;
	if (h->tls && !strncmp(url, HTTPS_COMMANDS_PREFIX, strlen(HTTPS_COMMANDS_PREFIX))) {
		const union MHD_ConnectionInfo *di =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_DAEMON);
		if (di && di->daemon == h->tls)
			cmd_name = url + strlen(HTTPS_COMMANDS_PREFIX);
	}
	if (!rs) { /* headers are in: set up, wait for the body */
		rs = calloc(1, sizeof(*rs));
		if (!rs)
			return MHD_NO;
		rs->limit = cmd_name ? HTTPS_MAX_BODY : HTTP_MAX_BODY;
		if (agent_url(h, c, url) && !strcmp(url, AGENT_API_AUDIT) &&
		    agent_api_audit_precheck(h, c))
			rs->limit = AGENT_AUDIT_BODY_MAX; /* in rs->big */
		*con_cls = rs;
		return MHD_YES;
	}
	if (*upload_size) {
		if (rs->limit > HTTPS_MAX_BODY) {
			if (!rs->too_large && agent_api_body_add(rs, upload, *upload_size) < 0)
				rs->too_large = 1;
		} else if (rs->len + *upload_size > rs->limit)
			rs->too_large = 1;
		else {
			memcpy(rs->body + rs->len, upload, *upload_size);
			rs->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}

	if (cmd_name)
		return https_command(h, c, cmd_name, method, rs);
	if (agent_url(h, c, url)) {
		if (!strcmp(url, AGENT_API_ENROLL))
			return agent_api_enroll(h, c, method, rs);
		if (!strcmp(url, AGENT_API_WHOAMI))
			return agent_api_whoami(h, c, method);
		if (!strcmp(url, AGENT_API_SNAPSHOT))
			return agent_api_snapshot(h, c, method);
		if (!strcmp(url, AGENT_API_DELTA))
			return agent_api_delta(h, c, method);
		if (!strcmp(url, AGENT_API_CHANGES))
			return agent_api_changes(h, c, method, rs);
		if (!strcmp(url, AGENT_API_KEYCHECK))
			return agent_api_keycheck(h, c, method, rs);
		if (!strcmp(url, AGENT_API_AUDIT))
			return agent_api_audit(h, c, method, rs);
	}
	int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	int post = !strcmp(method, "POST");
	if (!strcmp(url, "/service-account-tokens")) {
		if (!post)
			return problem(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed",
				       "use POST", 0, "POST");
		if (rs->too_large)
			return problem(c, MHD_HTTP_CONTENT_TOO_LARGE, "Content Too Large",
				       "the request body is too large", 0, NULL);
		return token_exchange(h, c, method);
	}
	if (!strcmp(url, "/ssh/sign")) {
		if (!post)
			return problem(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed",
				       "use POST", 0, "POST");
		return ssh_sign(h, c, rs);
	}
	if (!strcmp(url, "/.well-known/jwks.json")) {
		if (!get)
			return problem(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed",
				       "use GET", 0, "GET, HEAD");
		return jwks(h, c);
	}
	if (!strcmp(url, "/token/introspect")) {
		if (!post)
			return problem(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed",
				       "use POST", 0, "POST");
		return introspect(h, c, rs);
	}
	/* The HTTP front's callers only (its socket's mode, loopback), not
	 * the HTTPS API's: the counters say how the host is used. */
	if (!strcmp(url, "/metrics") && !on_tls(h, c)) {
		if (!get)
			return problem(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed",
				       "use GET", 0, "GET, HEAD");
		return http_metrics(h, c);
	}
	if (!strcmp(url, "/healthz")) {
		if (!get)
			return problem(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed",
				       "use GET", 0, "GET, HEAD");
		return healthz(h, c);
	}
	return problem(c, MHD_HTTP_NOT_FOUND, "Not Found", "no such endpoint", 0, NULL);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_front *h = cls;
	(void)c;
	(void)toe;
	struct req_state *rs = *con_cls;
	if (rs && rs->held)
		agent_api_forget(h, rs);
	if (rs) {
		free(rs->big);
		sodium_memzero(rs, sizeof(*rs));
		free(rs);
	}
	*con_cls = NULL;
}

/* ---- connection caps ----------------------------------------------------
 *
 * Every connection is tracked with its caller.  A caller over
 * HTTP_MAX_PER_CALLER, or any caller when the front is full (the last
 * HTTP_ROOT_RESERVE slots only for root on http_socket), makes room by
 * shutting down the oldest connection of itself, or of the heaviest
 * holder (evictable() says which may go); the newcomer is refused only
 * when none may.  A client that reopens what is dropped only churns its
 * own share, and whoever comes next is still served. */

static uint64_t hash_str(const char *v)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *v; v++)
		h = (h ^ (uint8_t)*v) * 1099511628211ULL;
	return h;
}

static void caller_of_fd(struct MHD_Connection *c, int fd, struct tracked *t)
{
	char key[64] = "";
	const union MHD_ConnectionInfo *ai =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ai || !ai->client_addr || http_caller_key(ai->client_addr, key, sizeof(key)) < 0) {
		struct ucred cr;
		socklen_t len = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0) {
			snprintf(key, sizeof(key), "uid %u", (unsigned)cr.uid);
			t->root = cr.uid == 0;
		} else {
			snprintf(key, sizeof(key), "unknown");
		}
	}
	t->caller = hash_str(key);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The caller holding the most live anonymous non-root connections. */
static uint64_t heaviest(const struct http_front *h)
{
	uint64_t *v = malloc((size_t)h->ntracked * sizeof(*v)), best = 0;
	size_t n = 0, best_n = 0;
	if (!v)
		return 0;
	for (int i = 0; i < h->ntracked; i++) {
		const struct tracked *t = &h->conns[i];
		if (t->fd && !t->evicted && !t->root && !t->agent)
			v[n++] = t->caller;
	}
	if (n == 0) {
		free(v);
		return 0;
	}
	qsort(v, n, sizeof(v[0]), cmp_u64);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i; j < n && v[j] == v[i]; j++)
			;
		if (j - i > best_n) {
			best_n = j - i;
			best = v[i];
		}
	}
	free(v);
	return best;
}

/* May t make room?  Not while a request it sent waits in the kernel, not
 * yet read by MHD: the caller's legitimate client must not lose its
 * connection to the same caller's hog in the meantime.  Anything MHD has
 * read is answered within the same loop iteration (bodies are small), so
 * no other state protects a connection: a hog cannot pin its slots by
 * sending a partial request. */
static int evictable(const struct tracked *t)
{
	char b;
	return recv(t->fd - 1, &b, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

static struct tracked *oldest_evictable(struct http_front *h, uint64_t caller,
					const struct tracked *except)
{
	uint64_t after = 0; /* skip those already found not evictable */
	for (;;) {
		struct tracked *best = NULL;
		for (int i = 0; i < h->ntracked; i++) {
			struct tracked *t = &h->conns[i];
			if (t->fd && t != except && !t->evicted && !t->root && !t->agent &&
			    t->caller == caller && t->seq > after && (!best || t->seq < best->seq))
				best = t;
		}
		if (!best || evictable(best))
			return best;
		after = best->seq;
	}
}

static void evict(struct http_front *h, struct tracked *t)
{
	shutdown(t->fd - 1, SHUT_RDWR); /* MHD sees it and closes */
	t->evicted = 1;
	h->evicted++;
}

/* Applies the caps to the newcomer t (already counted in live).  Agents'
 * connections are not counted: they have a cap of their own. */
static void admit(struct http_front *h, struct tracked *t)
{
	int held = 0, nonroot = 0;
	for (int i = 0; i < h->ntracked; i++) {
		const struct tracked *o = &h->conns[i];
		if (!o->fd || o->evicted || o->agent)
			continue;
		held += o->caller == t->caller;
		nonroot += !o->root;
	}
	int active = h->live - h->evicted - h->agents;
	struct tracked *victim;
	if (!t->root && held > HTTP_MAX_PER_CALLER)
		victim = oldest_evictable(h, t->caller, t);
	else if (active > HTTP_MAX_CONNECTIONS ||
		 (!t->root && nonroot > HTTP_MAX_CONNECTIONS - HTTP_ROOT_RESERVE))
		victim = oldest_evictable(h, heaviest(h), t);
	else
		return;
	int64_t now = svca_now_ms();
	if (now - h->last_cap_log > 10000) {
		log_warn("http: connection limit reached (%d per caller, %d in all): %s",
			 HTTP_MAX_PER_CALLER, HTTP_MAX_CONNECTIONS,
			 victim ? "closing the oldest connection of the caller or of the heaviest "
				  "caller"
				: "refusing a connection");
		h->last_cap_log = now;
	}
	evict(h, victim ? victim : t);
}

/* Tracks each connection: its absolute deadline, its caller. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode code)
{
	struct http_front *h = cls;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return;
	int fd = ci->connect_fd;
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		struct tracked *t = *socket_ctx;
		if (t && t->fd == fd + 1) {
			h->evicted -= t->evicted;
			h->agents -= t->agent;
			memset(t, 0, sizeof(*t));
			h->live--;
		}
		*socket_ctx = NULL;
		return;
	}
	if (code != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	for (int i = 0; i < h->ntracked; i++) {
		struct tracked *t = &h->conns[i];
		if (t->fd == 0) {
			memset(t, 0, sizeof(*t));
			t->fd = fd + 1;
			t->deadline = svca_now_ms() + HTTP_DEADLINE_MS;
			t->seq = ++h->next_seq;
			caller_of_fd(c, fd, t);
			*socket_ctx = t;
			h->live++;
			admit(h, t);
			return;
		}
	}
	shutdown(fd, SHUT_RDWR); /* untracked: no deadline, so not served */
}

/* New clients beyond what can be tracked are closed at once rather than
 * left waiting in the kernel's backlog; the caps are applied when the
 * connection starts (the caller of a Unix socket is known only then). */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct http_front *h = cls;
	(void)addr;
	(void)len;
	return h->live < h->ntracked - 1 ? MHD_YES : MHD_NO;
}

static void log_mhd(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_warn("http: %s", msg);
}

static void on_ready(void *arg)
{
	struct http_front *h = arg;
	int64_t now = svca_now_ms();
	for (int i = 0; i < h->ntracked; i++) {
		struct tracked *t = &h->conns[i];
		if (t->fd && t->deadline <= now) {
			/* Past its deadline (a slow-loris client): MHD sees
			 * the shutdown and closes the connection. */
			shutdown(t->fd - 1, SHUT_RDWR);
			t->deadline = now + 60000;
		}
	}
	agent_api_wake(h);       /* held long polls whose seq moved or time is up */
	agent_api_fetches(h, 0); /* fetch times due to be written */
	for (int i = 0; i < h->nmhd; i++) {
		/* Run while MHD has work due now (buffered data it has not
		 * processed yet), a bounded number of times. */
		for (int n = 0; n < 16; n++) {
			MHD_UNSIGNED_LONG_LONG ms = 1;
			MHD_run(h->mhd[i]);
			if (MHD_get_timeout(h->mhd[i], &ms) != MHD_YES || ms > 0)
				break;
		}
	}
}

static int next_timeout(void *arg)
{
	struct http_front *h = arg;
	int best = h->nheld ? agent_api_wake(h) : -1;
	int f = agent_api_fetches(h, 0);
	if (f >= 0 && (best < 0 || f < best))
		best = f;
	for (int i = 0; i < h->nmhd; i++) {
		MHD_UNSIGNED_LONG_LONG ms;
		if (MHD_get_timeout(h->mhd[i], &ms) == MHD_YES) {
			int v = ms > 5000 ? 5000 : (int)ms;
			if (best < 0 || v < best)
				best = v;
		}
	}
	return best;
}

/* tls: start the HTTPS API with the PEM texts in h. */
static struct MHD_Daemon *start_mhd(struct http_front *h, int lfd, const struct sockaddr *addr,
				    int tls)
{
	/* Suspend/resume: the agents' long polls wait off the loop. */
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_SUPPRESS_DATE_NO_CLOCK |
			 MHD_ALLOW_SUSPEND_RESUME;
	if (addr && addr->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (tls)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem tls_opts[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key },
		{ MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)HTTPS_PRIORITIES },
		{ MHD_OPTION_END, 0, NULL },
	};
	/* A hub's HTTPS API also holds its agents' connections. */
	intptr_t limit = 2 * HTTP_MAX_CONNECTIONS + (tls ? h->max_agents : 0);
	struct MHD_OptionItem opts[] = {
		{ MHD_OPTION_CONNECTION_LIMIT, limit, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, HTTP_IDLE_TIMEOUT_S, NULL },
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_MEMORY_LIMIT, NULL },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, h },
		{ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, h },
		{ lfd >= 0 ? MHD_OPTION_LISTEN_SOCKET : MHD_OPTION_SOCK_ADDR, lfd >= 0 ? lfd : 0,
		  lfd >= 0 ? NULL : (void *)addr },
		{ MHD_OPTION_END, 0, NULL },
	};
	return MHD_start_daemon(flags, 0, accept_policy, h, on_request, h,
				MHD_OPTION_EXTERNAL_LOGGER, log_mhd, h, MHD_OPTION_ARRAY, opts,
				MHD_OPTION_ARRAY, tls ? tls_opts : tls_opts + 3, MHD_OPTION_END);
}

/* A hub holding https_max_connections agents needs as many descriptors
 * besides the rest (the native socket's clients, the front's anonymous
 * callers, the database): the soft limit is raised as far as the hard
 * one allows (root may raise that too). */
static void raise_nofile(const struct http_front *h)
{
	struct rlimit rl;
	rlim_t need =
		(rlim_t)h->ntracked + (rlim_t)h->d->cfg.max_clients + 2 * HTTP_MAX_CONNECTIONS;
	if (!h->max_agents || getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return;
	struct rlimit want = { need, rl.rlim_max >= need ? rl.rlim_max : need };
	if (setrlimit(RLIMIT_NOFILE, &want) == 0)
		return;
	want.rlim_cur = rl.rlim_max;
	want.rlim_max = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &want);
	log_warn("http: the open-file limit is %llu, below the %llu that https_max_connections "
		 "= %d needs (raise LimitNOFILE)",
		 (unsigned long long)rl.rlim_max, (unsigned long long)need, h->max_agents);
}

/* The HTTPS API on https_listen (any address: TLS protects it). */
static int start_https(struct http_front *h, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	if (config_parse_listen_any(h->d->cfg.https_listen, &ss) < 0) {
		snprintf(err, errlen,
			 "https_listen '%s' must be an address and port, like "
			 "0.0.0.0:8443",
			 h->d->cfg.https_listen);
		return -1;
	}
	if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		snprintf(err, errlen, "https_listen: this libmicrohttpd has no TLS support");
		return -1;
	}
	if (https_tls_load(&h->d->cfg, &h->tls_cert, &h->tls_key, err, errlen) < 0)
		return -1;
	raise_nofile(h);
	errno = 0;
	h->tls = start_mhd(h, -1, (struct sockaddr *)&ss, 1);
	if (!h->tls) {
		snprintf(err, errlen, "cannot start the HTTPS API on %s: %s",
			 h->d->cfg.https_listen,
			 errno ? strerror(errno) : "see the log for the TLS error");
		return -1;
	}
	h->mhd[h->nmhd++] = h->tls;
	log_info("HTTPS API on %s", h->d->cfg.https_listen);
	return 0;
}

struct http_front *http_start(struct daemon *d, struct server *srv, int unix_fd, char *err,
			      size_t errlen)
{
	struct http_front *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->d = d;
	h->started = svca_now_ms();
	if (d->cfg.https_listen && config_mode(&d->cfg) == MODE_HUB)
		h->max_agents = d->cfg.https_max_connections;
	h->ntracked = MAX_TRACKED + h->max_agents;
	h->conns = calloc((size_t)h->ntracked, sizeof(*h->conns));
	if (!h->conns) {
		free(h);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (unix_fd >= 0) {
		h->mhd[h->nmhd] = start_mhd(h, unix_fd, NULL, 0);
		if (!h->mhd[h->nmhd]) {
			snprintf(err, errlen, "cannot start the HTTP front on %s",
				 d->cfg.http_socket);
			goto fail;
		}
		h->nmhd++;
	}
	if (d->cfg.http_listen) {
		struct sockaddr_storage ss;
		if (config_parse_listen(d->cfg.http_listen, &ss) < 0) {
			snprintf(err, errlen,
				 "http_listen '%s' must be a loopback address and port, like "
				 "127.0.0.1:8080 (plain HTTP carries keys and tokens in clear: "
				 "for other addresses use https_listen)",
				 d->cfg.http_listen);
			goto fail;
		}
		h->mhd[h->nmhd] = start_mhd(h, -1, (struct sockaddr *)&ss, 0);
		if (!h->mhd[h->nmhd]) {
			snprintf(err, errlen, "cannot listen on %s: %s", d->cfg.http_listen,
				 strerror(errno));
			goto fail;
		}
		h->nmhd++;
	}
	if (d->cfg.https_listen && start_https(h, err, errlen) < 0)
		goto fail;
	for (int i = 0; i < h->nmhd; i++) {
		const union MHD_DaemonInfo *di =
			MHD_get_daemon_info(h->mhd[i], MHD_DAEMON_INFO_EPOLL_FD);
		if (!di || server_watch(srv, di->epoll_fd, on_ready, next_timeout, h) < 0) {
			snprintf(err, errlen, "cannot add the HTTP front to the event loop");
			goto fail;
		}
	}
	return h;
fail:
	http_stop(h);
	return NULL;
}

void http_agents_wake(struct http_front *h)
{
	if (h && h->nheld)
		agent_api_wake(h);
}

void http_stop(struct http_front *h)
{
	if (!h)
		return;
	agent_api_release_all(h); /* MHD stops only without suspended connections */
	for (int i = 0; i < h->nmhd; i++)
		MHD_stop_daemon(h->mhd[i]);
	https_tls_free(h->tls_cert, h->tls_key);
	agent_api_fetches_free(h);
	snapcache_free(h->snapcache);
	free(h->conns);
	free(h);
}
