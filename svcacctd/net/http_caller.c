/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Who a TCP client of the HTTP front counts as (http_parse.h): apart from
 * http.c so that unit tests link it without the event loop.
 */
#include "http_parse.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int http_caller_key(const struct sockaddr *sa, char *out, size_t outlen)
{
	uint8_t v4[4];
	if (!sa || outlen < 64)
		return -1;
	if (sa->sa_family == AF_INET) {
		memcpy(v4, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
			&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a)) {
			snprintf(out, outlen, "loopback");
			return 0;
		}
		if (!IN6_IS_ADDR_V4MAPPED(a)) {
			struct in6_addr net = *a;
			char buf[INET6_ADDRSTRLEN];
			memset(net.s6_addr + 8, 0, 8);
			inet_ntop(AF_INET6, &net, buf, sizeof(buf));
			snprintf(out, outlen, "%s/64", buf);
			return 0;
		}
		memcpy(v4, a->s6_addr + 12, 4);
	} else {
		return -1;
	}
	if (v4[0] == 127)
		snprintf(out, outlen, "loopback");
	else
		inet_ntop(AF_INET, v4, out, (socklen_t)outlen);
	return 0;
}
