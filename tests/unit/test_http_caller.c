/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for http_caller_key (svcacctd/net/http.c): who a TCP client of
 * the HTTP front counts as for rate limits, lockouts and connection caps.
 * Every loopback source is one caller (any local user can bind any of
 * 127.0.0.0/8); an IPv6 address counts as its /64.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "http_parse.h"

static const char *key4(const char *a, char *out)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(1234) };
	assert_int_equal(inet_pton(AF_INET, a, &in.sin_addr), 1);
	assert_int_equal(http_caller_key((struct sockaddr *)&in, out, 64), 0);
	return out;
}

static const char *key6(const char *a, char *out)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(1234) };
	assert_int_equal(inet_pton(AF_INET6, a, &in6.sin6_addr), 1);
	assert_int_equal(http_caller_key((struct sockaddr *)&in6, out, 64), 0);
	return out;
}

static void test_loopback_is_one_caller(void **state)
{
	char b[64];
	(void)state;
	assert_string_equal(key4("127.0.0.1", b), "loopback");
	assert_string_equal(key4("127.0.0.2", b), "loopback");
	assert_string_equal(key4("127.255.255.254", b), "loopback");
	assert_string_equal(key6("::1", b), "loopback");
	assert_string_equal(key6("::ffff:127.0.0.1", b), "loopback");
	assert_string_equal(key6("::ffff:127.9.8.7", b), "loopback");
}

static void test_ipv4_is_the_address(void **state)
{
	char b[64];
	(void)state;
	assert_string_equal(key4("192.0.2.10", b), "192.0.2.10");
	assert_string_equal(key4("128.0.0.1", b), "128.0.0.1");
	assert_string_equal(key6("::ffff:192.0.2.10", b), "192.0.2.10");
}

static void test_ipv6_is_its_64(void **state)
{
	char b[64], c[64];
	(void)state;
	assert_string_equal(key6("2001:db8:1:2::1", b), "2001:db8:1:2::/64");
	assert_string_equal(key6("2001:db8:1:2:ffff:ffff:ffff:ffff", c), b);
	assert_string_equal(key6("2001:db8:1:3::1", b), "2001:db8:1:3::/64");
	assert_string_equal(key6("fe80::1234", b), "fe80::/64");
	/* ::2 is not loopback: its /64 is ::/64 */
	assert_string_equal(key6("::2", b), "::/64");
}

static void test_refused(void **state)
{
	char b[64];
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct sockaddr_in in = { .sin_family = AF_INET };
	(void)state;
	assert_int_equal(http_caller_key((struct sockaddr *)&un, b, sizeof(b)), -1);
	assert_int_equal(http_caller_key(NULL, b, sizeof(b)), -1);
	assert_int_equal(http_caller_key((struct sockaddr *)&in, b, 10), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loopback_is_one_caller),
		cmocka_unit_test(test_ipv4_is_the_address),
		cmocka_unit_test(test_ipv6_is_its_64),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
