/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * svcacctctl --hub URL: the same request frame, sent to a hub's HTTPS API
 * instead of the local socket.  The frame becomes the JSON body of
 * POST URL/v1/commands/<name> (common/proto_json.h), the session token
 * goes in the Authorization header, and the JSON reply becomes a reply
 * frame again, so every command and its --json output work unchanged.
 *
 * libcurl always verifies the hub's certificate and host name (the
 * system CAs, or --ca FILE), speaks TLS 1.2 or later and https only, and
 * follows no redirect.  The token is never in the URL, argv or a message.
 */
#include "svcacctctl.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "proto_json.h"

/* A reply larger than this is refused (the native cap, plus JSON's
 * overhead). */
#define HUB_MAX_REPLY (4 * (size_t)SVCA_MAX_REPLY)

struct body {
	char *p;
	size_t len, cap;
	int too_large;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t add = size * n;
	if (add > HUB_MAX_REPLY - b->len) {
		b->too_large = 1;
		return 0; /* aborts the transfer */
	}
	if (b->len + add + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + add + 1)
			cap *= 2;
		char *q = malloc(cap);
		if (!q)
			return 0;
		if (b->p) {
			memcpy(q, b->p, b->len);
			ctl_wipe(b->p, b->cap); /* may hold a key or a token */
			free(b->p);
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, ptr, add);
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

static void body_free(struct body *b)
{
	if (b->p) {
		ctl_wipe(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

/* A reply frame of status st with F_MESSAGE msg (errors that never
 * reached a command: the hub refused the request itself). */
static int synth_reply(uint16_t st, const char *msg, struct svca_reply *raw)
{
	struct svca_buf b;
	svca_buf_init(&b, 0);
	svca_frame_begin(&b, st);
	svca_put_str(&b, F_MESSAGE, msg);
	if (svca_frame_end(&b) < 0) {
		svca_buf_free(&b);
		return -1;
	}
	raw->status = st;
	raw->len = b.len - SVCA_HDR_LEN;
	raw->body = malloc(raw->len ? raw->len : 1);
	if (!raw->body) {
		svca_buf_free(&b);
		return -1;
	}
	memcpy(raw->body, b.data + SVCA_HDR_LEN, raw->len);
	svca_buf_free(&b);
	return 0;
}

/* The native status of an HTTP error the hub answered without a reply
 * document (problem+json). */
static uint16_t status_of_http(long code)
{
	switch (code) {
	case 401:
	case 403: return SVCA_ERR_NOTAUTH;
	case 404: return SVCA_ERR_NOTFOUND;
	case 400:
	case 405:
	case 413: return SVCA_ERR_BADREQ;
	case 502:
	case 503:
	case 504: return SVCA_ERR_UNAVAIL;
	default: return SVCA_ERR_FAILED;
	}
}

/* The hub's answer (HTTP code, body) as a reply.  0, or an exit status
 * after printing the error. */
static int to_reply(const char *url, long code, const struct body *b, struct svca_reply *raw)
{
	char err[256] = "", msg[600];
	json_t *doc = b->p ? json_loadb(b->p, b->len, 0, NULL) : NULL;
	const json_t *st = json_object_get(doc, "status");
	if (doc && json_is_integer(st) && json_object_get(doc, "fields")) {
		struct svca_buf f;
		uint16_t status = (uint16_t)json_integer_value(st);
		svca_buf_init(&f, 0);
		int rc = svca_json_reply_frame(doc, &f, err, sizeof(err));
		json_decref(doc);
		if (rc == 0) {
			raw->status = status;
			raw->len = f.len - SVCA_HDR_LEN;
			raw->body = malloc(raw->len ? raw->len : 1);
			if (raw->body)
				memcpy(raw->body, f.data + SVCA_HDR_LEN, raw->len);
		}
		svca_buf_free(&f);
		if (rc == 0 && raw->body)
			return 0;
		ctl_err("malformed reply from the hub %s: %s", url, rc ? err : "out of memory");
		return CTL_EXIT_UNREACHABLE;
	}
	/* problem+json (RFC 9457): its detail, else the HTTP status. */
	const char *detail = json_string_value(json_object_get(doc, "detail"));
	if (code < 400) {
		json_decref(doc);
		ctl_err("unexpected answer from the hub %s (HTTP %ld): is it an svcacctd HTTPS "
			"API?",
			url, code);
		return CTL_EXIT_UNREACHABLE;
	}
	snprintf(msg, sizeof(msg), "hub: %s (HTTP %ld)", detail ? detail : "request refused", code);
	json_decref(doc);
	if (synth_reply(status_of_http(code), msg, raw) < 0) {
		ctl_err("out of memory");
		return CTL_EXIT_FAILED;
	}
	return 0;
}

/* A transfer that failed: why, for the user.  Always exit 5. */
static int transfer_error(const char *url, CURLcode rc, const char *ebuf, int timeout_ms)
{
	const char *hint = "";
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
		hint = "; TLS failed: the hub's certificate must be valid for its host name and "
		       "signed by a CA of --ca FILE (default: the system CAs)";
		break;
	default: break;
	}
	const char *why = *ebuf ? ebuf : curl_easy_strerror(rc);
	char after[64] = "";
	if (rc == CURLE_OPERATION_TIMEDOUT)
		snprintf(after, sizeof(after), " (gave up after %d ms: --timeout)", timeout_ms);
	ctl_err_code("unavailable", "hub not reachable at %s: %s%s%s", url, why, after, hint);
	return CTL_EXIT_UNREACHABLE;
}

/* The request body: the frame's fields as a JSON object.  NULL after
 * printing the error. */
static char *request_json(const struct svca_buf *b)
{
	char err[200];
	json_t *o = svca_json_request_object(b->data + SVCA_HDR_LEN, b->len - SVCA_HDR_LEN, err,
					     sizeof(err));
	if (!o) {
		ctl_err("cannot send this request to a hub: %s", err);
		return NULL;
	}
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s)
		ctl_err("out of memory");
	return s;
}

/* POSTs json to url; the answer's code and body. */
static CURLcode post(const struct ctl *c, const char *url, const char *json, const char *tok,
		     size_t toklen, long *code, struct body *out, char *ebuf)
{
	char auth[CTL_SECRET_MAX + 32];
	struct curl_slist *h = NULL, *t;
	CURLcode rc = CURLE_OUT_OF_MEMORY;
	CURL *e = curl_easy_init();
	if (!e)
		return rc;
	h = curl_slist_append(NULL, "Content-Type: application/json");
	if (h && (t = curl_slist_append(h, "Accept: application/json")))
		h = t;
	if (h && toklen) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %.*s", (int)toklen, tok);
		t = curl_slist_append(h, auth);
		ctl_wipe(auth, sizeof(auth));
		if (!t)
			goto out;
		h = t;
	}
	if (!h)
		goto out;
	long ms = c->timeout_ms;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (c->ca)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, CTL_PROG "/" CTL_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ebuf);
	rc = curl_easy_perform(e);
	if (rc == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, code);
out:
	/* The slist holds the Authorization header: wipe it before freeing. */
	for (t = h; t; t = t->next)
		ctl_wipe(t->data, strlen(t->data));
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	return rc;
}

int ctl_hub_url_ok(const char *url)
{
	return strncmp(url, "https://", 8) == 0 && url[8] && strlen(url) < 1024 &&
	       !strpbrk(url, "?# \t\r\n");
}

int ctl_hub_exchange(const struct ctl *c, const struct svca_buf *b, const char *tok, size_t toklen,
		     struct svca_reply *raw)
{
	char url[1200], ebuf[CURL_ERROR_SIZE] = "";
	uint16_t cmd = (uint16_t)((unsigned)b->data[6] << 8 | (unsigned)b->data[7]);
	const struct svca_json_cmd *jc = svca_json_cmd_by_id(cmd);
	if (!jc) {
		ctl_err("this command is not offered by a hub's HTTPS API");
		return CTL_EXIT_FAILED;
	}
	size_t ul = strlen(c->hub);
	while (ul && c->hub[ul - 1] == '/')
		ul--;
	snprintf(url, sizeof(url), "%.*s/v1/commands/%s", (int)ul, c->hub, jc->name);
	char *json = request_json(b);
	if (!json)
		return CTL_EXIT_FAILED;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		ctl_wipe(json, strlen(json));
		free(json);
		ctl_err("cannot initialise libcurl");
		return CTL_EXIT_FAILED;
	}
	struct body out = { 0 };
	long code = 0;
	CURLcode rc = post(c, url, json, tok, toklen, &code, &out, ebuf);
	ctl_wipe(json, strlen(json)); /* token create: the key */
	free(json);
	int ret;
	if (out.too_large) {
		ctl_err("the hub's reply is larger than %zu bytes", HUB_MAX_REPLY);
		ret = CTL_EXIT_FAILED;
	} else if (rc != CURLE_OK) {
		ret = transfer_error(url, rc, ebuf, c->timeout_ms);
	} else {
		ret = to_reply(url, code, &out, raw);
	}
	body_free(&out);
	curl_global_cleanup();
	return ret;
}
