/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The HTTPS API of a hub: the HTTP front's endpoints over TLS (http.c
 * serves them on the https_listen daemon too), plus the management
 * commands as JSON:
 *
 *   POST /v1/commands/<name>          name as in the command table
 *   Authorization: Bearer <session token of a service account>
 *   {"name": "bot", ...}              the request's fields by name
 *
 * answered with the reply document of common/proto_json.h.  Like every
 * endpoint of the front it is an adapter: the JSON becomes the native
 * request frame and runs the same handler (cmd/dispatch.c), with the
 * remote address as the caller (never root, no uid: rights come from the
 * token's org role), so rate limits, lockouts and refusal accounting
 * apply per address.  PAM's commands are not offered.
 */
#include "http.h"
#include "http_front.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dispatch.h"
#include "proto_json.h"
#include "secrets.h"

#define TLS_FILE_MAX (1024 * 1024) /* a PEM chain or key */
#define BEARER_MAX 2048

/* ---- the TLS files -------------------------------------------------------- */

/* The whole file at path as a NUL-terminated text (at most TLS_FILE_MAX
 * bytes).  NULL with err set. */
static char *read_pem(const char *path, const char *what, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > TLS_FILE_MAX) {
		snprintf(err, errlen, "%s %s: not a regular file of 1 to %d bytes", what, path,
			 TLS_FILE_MAX);
		close(fd);
		return NULL;
	}
	size_t n = (size_t)st.st_size, got = 0;
	char *buf = malloc(n + 1);
	while (buf && got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (!buf || got != n) {
		if (buf) {
			sodium_memzero(buf, n);
			free(buf);
		}
		snprintf(err, errlen, "%s %s: cannot read it", what, path);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* GnuTLS must take the pair as MHD will: both parse, the key matches. */
static int tls_pair_ok(const char *cert, const char *key, const struct svca_config *cfg, char *err,
		       size_t errlen)
{
	gnutls_certificate_credentials_t cred;
	if (gnutls_certificate_allocate_credentials(&cred) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	gnutls_datum_t c = { (unsigned char *)(uintptr_t)cert, (unsigned)strlen(cert) };
	gnutls_datum_t k = { (unsigned char *)(uintptr_t)key, (unsigned)strlen(key) };
	int rc = gnutls_certificate_set_x509_key_mem2(cred, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
	gnutls_certificate_free_credentials(cred);
	if (rc < 0) {
		snprintf(err, errlen,
			 "tls_cert %s and tls_key %s cannot be used (PEM certificate chain and "
			 "its private key): %s",
			 cfg->tls_cert, cfg->tls_key, gnutls_strerror(rc));
		return -1;
	}
	return 0;
}

/* root's svcacctd -t checks a key the daemon's user may own: the mode
 * must still keep group and others out. */
static int key_mode_ok(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen,
			 "%s is accessible by group or others (mode %04o); run: chmod 600 %s", path,
			 (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	return 0;
}

/* any_owner: for root's svcacctd -t (key_mode_ok). */
static int load(const struct svca_config *cfg, char **cert, char **key, int any_owner, char *err,
		size_t errlen)
{
	char why[400];
	*cert = *key = NULL;
	if (!cfg->tls_cert || !cfg->tls_key) {
		snprintf(err, errlen, "https_listen needs tls_cert and tls_key");
		return -1;
	}
	if ((any_owner ? key_mode_ok(cfg->tls_key, why, sizeof(why))
		       : secret_file_ok(cfg->tls_key, why, sizeof(why))) < 0) {
		snprintf(err, errlen, "tls_key: %s", why);
		return -1;
	}
	if (!(*cert = read_pem(cfg->tls_cert, "tls_cert", err, errlen)) ||
	    !(*key = read_pem(cfg->tls_key, "tls_key", err, errlen)) ||
	    tls_pair_ok(*cert, *key, cfg, err, errlen) < 0) {
		https_tls_free(*cert, *key);
		*cert = *key = NULL;
		return -1;
	}
	return 0;
}

int https_tls_load(const struct svca_config *cfg, char **cert, char **key, char *err, size_t errlen)
{
	return load(cfg, cert, key, 0, err, errlen);
}

void https_tls_free(char *cert, char *key)
{
	free(cert);
	if (key) {
		sodium_memzero(key, strlen(key));
		free(key);
	}
}

int https_check(const struct svca_config *cfg, char *err, size_t errlen)
{
	char *cert, *key;
	/* Run by root, -t checks files the daemon's user may own. */
	if (load(cfg, &cert, &key, geteuid() == 0, err, errlen) < 0)
		return -1;
	https_tls_free(cert, key);
	return 0;
}

/* ---- POST /v1/commands/<name> ------------------------------------------- */

static const char *const bearer_hdrs[] = { "WWW-Authenticate", "Bearer realm=\"svcacct\"", NULL };

static enum MHD_Result unauthorized(struct MHD_Connection *c, const char *detail)
{
	return http_problem(c, MHD_HTTP_UNAUTHORIZED, "Unauthorized", detail, bearer_hdrs);
}

/* A name safe to repeat in a message. */
static int plain_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 40)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' ||
		      *s == '_' || *s == '-'))
			return 0;
	return 1;
}

/* The HTTP status of a native reply status. */
static unsigned http_status(uint16_t st, const json_t *doc)
{
	switch (st) {
	case SVCA_OK: return MHD_HTTP_OK;
	case SVCA_ERR_BADREQ: return MHD_HTTP_BAD_REQUEST;
	case SVCA_ERR_NOTAUTH: return MHD_HTTP_FORBIDDEN;
	case SVCA_ERR_NOTFOUND: return MHD_HTTP_NOT_FOUND;
	case SVCA_ERR_UNAVAIL: return MHD_HTTP_SERVICE_UNAVAILABLE;
	default: break;
	}
	const json_t *reason = json_object_get(json_object_get(doc, "fields"), "reason");
	const char *r = json_string_value(reason);
	if (r && (!strcmp(r, "rate_limited") || !strcmp(r, "locked_out")))
		return MHD_HTTP_TOO_MANY_REQUESTS;
	return MHD_HTTP_UNPROCESSABLE_CONTENT;
}

/* The reply frame in out as the reply document. */
static enum MHD_Result reply_doc(struct MHD_Connection *c, const struct svca_buf *out,
				 int token_refused, int had_token)
{
	struct svca_header hd;
	svca_header_parse(out->data, &hd);
	json_t *doc =
		svca_json_reply_doc(hd.type, out->data + SVCA_HDR_LEN, out->len - SVCA_HDR_LEN);
	if (!doc)
		return http_problem(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error",
				    "the reply could not be converted to JSON", NULL);
	if (hd.type == SVCA_ERR_NOTAUTH && (token_refused || !had_token)) {
		const char *m = json_string_value(json_object_get(doc, "message"));
		enum MHD_Result r = unauthorized(c, m ? m : "session token refused");
		json_decref(doc);
		return r;
	}
	unsigned status = http_status(hd.type, doc);
	char ra[24];
	const char *hdrs[3] = { NULL, NULL, NULL };
	json_int_t retry =
		json_integer_value(json_object_get(json_object_get(doc, "fields"), "retry_after"));
	if (status == MHD_HTTP_TOO_MANY_REQUESTS) {
		snprintf(ra, sizeof(ra), "%lld", (long long)(retry > 0 ? retry : 1));
		hdrs[0] = "Retry-After";
		hdrs[1] = ra;
	}
	char *s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!s)
		return http_problem(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error",
				    "out of memory", NULL);
	enum MHD_Result r = http_respond(c, status, "application/json", s, hdrs);
	sodium_memzero(s, strlen(s)); /* key create, token create: a secret */
	free(s);
	return r;
}

/* The JSON body and the bearer token as a native request frame in req.
 * NULL, or the problem to answer. */
static const char *build_request(const struct command *cmd, struct req_state *rs, const char *tok,
				 struct svca_buf *req, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *body = NULL;
	if (rs->len) {
		body = json_loadb(rs->body, rs->len, JSON_REJECT_DUPLICATES, &jerr);
		sodium_memzero(rs->body, sizeof(rs->body));
		if (!body) {
			snprintf(err, errlen,
				 "the body is not valid JSON (line %d, column %d): send an object "
				 "of the command's fields",
				 jerr.line, jerr.column);
			return "Bad Request";
		}
	} else {
		body = json_object();
	}
	svca_frame_begin(req, cmd->cmd);
	int rc = svca_json_put_fields(body, req, err, errlen);
	json_decref(body);
	if (rc < 0)
		return "Bad Request";
	if (tok)
		svca_put_bytes(req, F_AUTH_TOKEN, tok, strlen(tok));
	if (svca_frame_end(req) < 0) {
		snprintf(err, errlen, "the request is too large for %s (at most %u bytes)",
			 cmd->name, (unsigned)cmd->max_request);
		return "Content Too Large";
	}
	if (svca_body_validate(req->data + SVCA_HDR_LEN, req->len - SVCA_HDR_LEN,
			       SVCA_MAX_REQUEST_FIELDS) < 0) {
		snprintf(err, errlen,
			 "invalid request: too many fields, or a text with control characters");
		return "Bad Request";
	}
	return NULL;
}

static enum MHD_Result run_json_command(struct http_front *h, struct MHD_Connection *c,
					const struct command *cmd, struct req_state *rs,
					const char *tok)
{
	char err[256] = "";
	struct svca_buf req, out;
	struct svca_field in[SVCA_MAX_REQUEST_FIELDS];
	uint16_t dup = 0;
	enum MHD_Result ret;
	int token_refused = 0;
	svca_buf_init(&out, 0);
	svca_buf_init(&req, cmd->max_request);
	const char *bad = build_request(cmd, rs, tok, &req, err, sizeof(err));
	if (bad) {
		ret = http_problem(c,
				   strcmp(bad, "Bad Request") ? MHD_HTTP_CONTENT_TOO_LARGE
							      : MHD_HTTP_BAD_REQUEST,
				   bad, err, NULL);
		goto out;
	}
	int n = svca_request_fields_collect(req.data + SVCA_HDR_LEN, req.len - SVCA_HDR_LEN, in,
					    SVCA_MAX_REQUEST_FIELDS, &dup);
	if (n < 0) {
		ret = http_problem(c, MHD_HTTP_BAD_REQUEST, "Bad Request",
				   n == SVCA_DUP_FIELD ? "a field is given more than once"
						       : "malformed request",
				   NULL);
		goto out;
	}
	if (http_dispatch(h, c, cmd->cmd, in, (size_t)n, &out, &token_refused) < 0) {
		ret = http_problem(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error",
				   "the request could not be completed", NULL);
		goto out;
	}
	ret = reply_doc(c, &out, token_refused, tok != NULL);
out:
	svca_buf_free(&req);
	svca_buf_free(&out);
	return ret;
}

enum MHD_Result https_command(struct http_front *h, struct MHD_Connection *c, const char *name,
			      const char *method, struct req_state *rs)
{
	char tok[BEARER_MAX];
	const struct svca_json_cmd *jc = svca_json_cmd_by_name(name);
	const struct command *cmd = jc ? command_find(jc->cmd) : NULL;
	if (!cmd) {
		char detail[96];
		if (plain_name(name))
			snprintf(detail, sizeof(detail), "no such command '%s'", name);
		else
			snprintf(detail, sizeof(detail), "no such command");
		return http_problem(c, MHD_HTTP_NOT_FOUND, "Not Found", detail, NULL);
	}
	if (strcmp(method, "POST")) {
		static const char *const allow[] = { "Allow", "POST", NULL };
		return http_problem(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed",
				    "use POST with a JSON object of the command's fields", allow);
	}
	if (rs->too_large)
		return http_problem(c, MHD_HTTP_CONTENT_TOO_LARGE, "Content Too Large",
				    "the request body is too large", NULL);
	int b = https_bearer(c, method, tok, sizeof(tok));
	if (b < 0)
		return unauthorized(c, "the Authorization header must be 'Bearer <session token>'");
	if (b == 0 && cmd->caller != CALLER_ANYONE)
		return unauthorized(c, "send the session token of an admin service account: "
				       "Authorization: Bearer <token>");
	enum MHD_Result ret = run_json_command(h, c, cmd, rs, b ? tok : NULL);
	sodium_memzero(tok, sizeof(tok));
	return ret;
}
