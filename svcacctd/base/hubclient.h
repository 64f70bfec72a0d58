/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * An agent's HTTPS client of its hubs (DESIGN.md section 9), on libcurl.
 * No daemon state: it runs on a worker thread (net/server.c runs request
 * jobs there), never on the event loop, so a slow or dead hub never
 * holds up a PAM login.  Every call verifies the hub's certificate and
 * name with hub_ca only (not the system CAs), speaks TLS 1.2 or later and
 * https only, follows no redirect, and has a bounded time and reply size.
 */
#ifndef SVCACCTD_HUBCLIENT_H
#define SVCACCTD_HUBCLIENT_H

#include <stdatomic.h>
#include <stddef.h>

#define HUB_REPLY_MAX (1024 * 1024)
#define HUB_CONNECT_TIMEOUT_MS 3000

/* Once, before any thread starts (curl_global_init).  0 or -1. */
int hub_client_init(void);
void hub_client_cleanup(void);

struct hub_reply {
	long status; /* HTTP status; 0 when no answer */
	char *body;  /* NUL-terminated (may hold a secret: hub_reply_free wipes) */
	size_t len;
	char err[256]; /* why there was no answer (no secret) */
	int sent;      /* the request reached the hub (connected, TLS verified) */
};

/* One request to base_url + path: POST with a JSON body when json is not
 * NULL, else GET.  bearer (may be NULL) goes in "Authorization: Bearer"
 * (never in the URL or a message).  0 when the hub answered (any HTTP
 * status), -1 when it did not (unreachable, TLS refused, timeout, reply
 * too large: out->err says which). */
int hub_request(const char *base_url, const char *path, const char *ca, const char *bearer,
		const char *json, int timeout_ms, struct hub_reply *out);
/* The same with a reply bound of max_reply bytes, and a stop flag (may be
 * NULL) that aborts the transfer within about a second once set. */
int hub_request_ex(const char *base_url, const char *path, const char *ca, const char *bearer,
		   const char *json, int timeout_ms, size_t max_reply, const atomic_int *stop,
		   struct hub_reply *out);
/* A POST of "{}" with the API key in "x-api-key" (a token exchange at
 * POST /service-account-tokens): never in the URL or a message. */
int hub_request_apikey(const char *base_url, const char *path, const char *ca, const char *apikey,
		       int timeout_ms, struct hub_reply *out);
void hub_reply_free(struct hub_reply *r);

#endif
