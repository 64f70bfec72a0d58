/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What every endpoint of the HTTP front, the HTTPS API and the agents'
 * endpoints share (http_front.h): responses, reading a request's caller
 * and bearer token, and running one native command for a connection.
 * Below http.c, https.c and agent_api.c, so that none of them needs
 * another's file.
 */
#include "http_front.h"
#include "http_parse.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "dispatch.h"
#include "request.h"

enum MHD_Result http_respond(struct MHD_Connection *c, unsigned status, const char *ctype,
			     const char *body, const char *const *hdrs)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", ctype);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	for (size_t i = 0; hdrs && hdrs[i] && hdrs[i + 1]; i += 2)
		MHD_add_response_header(r, hdrs[i], hdrs[i + 1]);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result http_problem(struct MHD_Connection *c, unsigned status, const char *title,
			     const char *detail, const char *const *hdrs)
{
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("about:blank"));
	json_object_set_new(o, "title", json_string(title));
	json_object_set_new(o, "status", json_integer(status));
	json_object_set_new(o, "detail", json_string(detail));
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	enum MHD_Result r = http_respond(c, status, "application/problem+json", s ? s : "{}", hdrs);
	free(s);
	return r;
}

/* The caller: SO_PEERCRED on the Unix socket, the address on TCP. */
static void peer_of(struct MHD_Connection *c, struct peer *p)
{
	memset(p, 0, sizeof(*p));
	p->uid = (uid_t)-1;
	p->gid = (gid_t)-1;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *ai =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ai ? ai->client_addr : NULL;
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, p->addr, sizeof(p->addr));
		http_caller_key(sa, p->caller, sizeof(p->caller));
		return;
	}
	if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, p->addr, sizeof(p->addr));
		http_caller_key(sa, p->caller, sizeof(p->caller));
		return;
	}
	if (ci) {
		struct ucred cr;
		socklen_t len = sizeof(cr);
		if (getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0) {
			p->pid = cr.pid;
			p->uid = cr.uid;
			p->gid = cr.gid;
		}
	}
}

int http_dispatch(struct http_front *h, struct MHD_Connection *c, uint16_t cmd,
		  const struct svca_field *in, size_t nin, struct svca_buf *out, int *token_refused)
{
	struct peer p;
	peer_of(c, &p);
	struct request r = { .d = h->d, .peer = &p, .cmd = cmd, .f = in, .nf = nin, .reply = out };
	handle_request(&r);
	if (r.job) {
		/* The hubs answer it (an agent): the front has no place to
		 * wait off the loop; the native socket has. */
		r.job->release(r.job);
		svca_buf_reset(out);
		svca_frame_begin(out, SVCA_ERR_FAILED);
		svca_put_str(out, F_MESSAGE,
			     "this command asks the hubs: use svcacctctl on the daemon's socket");
		svca_frame_end(out);
	}
	if (token_refused)
		*token_refused = r.token_refused;
	if (r.wrote) {
		/* The answer depends on a change (token.issue audit): make
		 * it durable before the client sees it. */
		int ok = h->d->ops->flush(h->d) == 0;
		if (!ok)
			return -1;
	}
	struct svca_header hd;
	if (out->failed || out->len < SVCA_HDR_LEN || svca_header_parse(out->data, &hd) < 0)
		return -1;
	return 0;
}

/* MHD 0.9.75 ends a header value at a NUL and reports only the part
 * before it (its length too): the bytes after the NUL are dropped
 * silently, so "key\0junk" would pass as "key".  It parses in place: the
 * value lies inside the request's header bytes, which begin at the method,
 * and between the value's end and the next header line there may only be
 * the line ending (CR LF or LF, zeroed by MHD; after the last header, the
 * empty line too).  Anything more was hidden behind a NUL: 1.  A library
 * that keeps values elsewhere is not second-guessed (0); one that reports
 * the whole length is caught by the strlen() test. */
struct line_after {
	uintptr_t from, next;
	int last;
};

static enum MHD_Result next_line(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	struct line_after *l = cls;
	uintptr_t k = (uintptr_t)key;
	(void)kind;
	(void)value;
	if (k >= l->from && k < l->next) {
		l->next = k;
		l->last = 0;
	}
	return MHD_YES;
}

int http_hidden_after_nul(struct MHD_Connection *c, const char *start, const char *v, size_t vlen)
{
	if (strlen(v) != vlen)
		return 1;
	const union MHD_ConnectionInfo *hs =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	if (!hs || !start)
		return 0;
	uintptr_t s = (uintptr_t)start, e = s + hs->header_size, a = (uintptr_t)v + vlen;
	if ((uintptr_t)v < s || a >= e)
		return 0; /* not parsed in place: nothing to see */
	struct line_after l = { .from = a, .next = e, .last = 1 };
	MHD_get_connection_values(c, MHD_HEADER_KIND, next_line, &l);
	size_t gap = (size_t)(l.next - a);
	if (gap > (l.last ? 4u : 2u))
		return 1;
	for (size_t i = 0; i < gap; i++)
		if (v[vlen + i] != '\0')
			return 1;
	return 0;
}

struct daemon *http_front_daemon(struct http_front *h)
{
	return h->d;
}

/* The session token of "Authorization: Bearer <token>" into tok.  1 got
 * it, 0 no header, -1 a header that is not one (refused whole). */
int https_bearer(struct MHD_Connection *c, const char *method, char *tok, size_t len)
{
	const char *v = NULL;
	size_t vlen = 0;
	if (MHD_lookup_connection_value_n(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION,
					  strlen(MHD_HTTP_HEADER_AUTHORIZATION), &v,
					  &vlen) != MHD_YES ||
	    !v)
		return 0;
	if (http_hidden_after_nul(c, method, v, vlen) || vlen < 8 || strncasecmp(v, "Bearer ", 7))
		return -1;
	v += 7;
	vlen -= 7;
	while (vlen && *v == ' ') {
		v++;
		vlen--;
	}
	if (vlen == 0 || vlen >= len)
		return -1;
	memcpy(tok, v, vlen);
	tok[vlen] = '\0';
	return 1;
}
