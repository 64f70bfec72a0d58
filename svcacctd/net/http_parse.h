/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Parsers of the HTTP front that need no connection (fuzzed by
 * fuzz/fuzz_http_form.c). */
#ifndef SVCACCTD_HTTP_PARSE_H
#define SVCACCTD_HTTP_PARSE_H

#include <stddef.h>

/* Decodes "token=..." from an application/x-www-form-urlencoded body
 * (NUL-terminated) into out.  0 ok; -1 no token field or a malformed
 * escape; -2 the value does not fit in out. */
int http_form_token(const char *body, char *out, size_t outlen);

/* The caller a TCP client counts as, for rate limits, lockouts and
 * connection caps: every loopback source (127.0.0.0/8, ::1, and their
 * IPv4-mapped forms) is "loopback", since any local user can bind any of
 * them; an IPv6 address counts as its /64 ("2001:db8:1:2::/64"), the
 * smallest block a site gets; an IPv4 address as itself.  out gets at
 * least 64 bytes.  0 ok, -1 not an IP address. */
struct sockaddr;
int http_caller_key(const struct sockaddr *sa, char *out, size_t outlen);

#endif
