/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An agent's HTTPS client of its hubs (hubclient.h). */
#include "hubclient.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defaults.h"

int hub_client_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == 0 ? 0 : -1;
}

void hub_client_cleanup(void)
{
	curl_global_cleanup();
}

/* What one transfer writes into, with its bounds. */
struct xfer {
	struct hub_reply *r;
	size_t max;
	const atomic_int *stop;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	struct hub_reply *r = x->r;
	size_t add = size * n;
	if (add > x->max - r->len)
		return 0; /* aborts the transfer */
	char *q = malloc(r->len + add + 1);
	if (!q)
		return 0;
	if (r->body) {
		memcpy(q, r->body, r->len);
		sodium_memzero(r->body, r->len);
		free(r->body);
	}
	memcpy(q + r->len, ptr, add);
	r->body = q;
	r->len += add;
	r->body[r->len] = '\0';
	return add;
}

void hub_reply_free(struct hub_reply *r)
{
	if (r->body) {
		sodium_memzero(r->body, r->len);
		free(r->body);
	}
	r->body = NULL;
	r->len = 0;
}

/* bearer or apikey (at most one; may both be NULL): a credential header. */
static struct curl_slist *headers(const char *bearer, const char *apikey, int post)
{
	char auth[2100]; /* "Authorization: Bearer " + a credential or a session token (ssh sign) */
	struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json"), *t;
	if (h && post && (t = curl_slist_append(h, "Content-Type: application/json")))
		h = t;
	if (h && (bearer || apikey)) {
		if (bearer)
			snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
		else
			snprintf(auth, sizeof(auth), "x-api-key: %s", apikey);
		t = curl_slist_append(h, auth);
		sodium_memzero(auth, sizeof(auth));
		if (!t) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = t;
	}
	return h;
}

/* Called about once a second while a transfer waits: non-zero aborts it
 * (the sync thread's stop flag: a held long poll ends promptly). */
static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a;
	(void)b;
	(void)c;
	(void)d;
	const struct xfer *x = arg;
	return x->stop && atomic_load(x->stop) ? 1 : 0;
}

int hub_request(const char *base_url, const char *path, const char *ca, const char *bearer,
		const char *json, int timeout_ms, struct hub_reply *out)
{
	return hub_request_ex(base_url, path, ca, bearer, json, timeout_ms, HUB_REPLY_MAX, NULL,
			      out);
}

static int hub_perform(const char *base_url, const char *path, const char *ca, const char *bearer,
		       const char *apikey, const char *json, int timeout_ms, size_t max_reply,
		       const atomic_int *stop, struct hub_reply *out);

int hub_request_ex(const char *base_url, const char *path, const char *ca, const char *bearer,
		   const char *json, int timeout_ms, size_t max_reply, const atomic_int *stop,
		   struct hub_reply *out)
{
	return hub_perform(base_url, path, ca, bearer, NULL, json, timeout_ms, max_reply, stop,
			   out);
}

int hub_request_apikey(const char *base_url, const char *path, const char *ca, const char *apikey,
		       int timeout_ms, struct hub_reply *out)
{
	return hub_perform(base_url, path, ca, NULL, apikey, "{}", timeout_ms, HUB_REPLY_MAX, NULL,
			   out);
}

static int hub_perform(const char *base_url, const char *path, const char *ca, const char *bearer,
		       const char *apikey, const char *json, int timeout_ms, size_t max_reply,
		       const atomic_int *stop, struct hub_reply *out)
{
	char url[512], ebuf[CURL_ERROR_SIZE] = "";
	memset(out, 0, sizeof(*out));
	struct xfer x = { out, max_reply, stop };
	snprintf(url, sizeof(url), "%s%s", base_url, path);
	CURL *e = curl_easy_init();
	struct curl_slist *h = headers(bearer, apikey, json != NULL);
	if (!e || !h) {
		snprintf(out->err, sizeof(out->err), "out of memory");
		curl_slist_free_all(h);
		if (e)
			curl_easy_cleanup(e);
		return -1;
	}
	long connect = timeout_ms < HUB_CONNECT_TIMEOUT_MS ? timeout_ms : HUB_CONNECT_TIMEOUT_MS;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(e, CURLOPT_CAINFO, ca);
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL); /* hub_ca only */
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L); /* a worker thread */
	curl_easy_setopt(e, CURLOPT_USERAGENT, "svcacctd/" SVCA_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	if (json) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, json);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
	}
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
	if (stop) {
		curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(e, CURLOPT_XFERINFODATA, &x);
		curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	}
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ebuf);
	CURLcode rc = curl_easy_perform(e);
	curl_off_t pre = 0;
	(void)curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &pre);
	if (rc == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &out->status);
	else
		snprintf(out->err, sizeof(out->err), "%s",
			 rc == CURLE_WRITE_ERROR ? "the reply is too large"
			 : *ebuf                 ? ebuf
						 : curl_easy_strerror(rc));
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	if (rc != CURLE_OK) {
		hub_reply_free(out);
		out->status = 0;
		out->sent = pre > 0;
		return -1;
	}
	out->sent = pre > 0;
	return 0;
}
