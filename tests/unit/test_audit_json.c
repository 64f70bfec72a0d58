/* SPDX-License-Identifier: GPL-3.0-or-later */
/* audit_event_json() against jansson: the records must read exactly as
 * the jansson rendering the daemon used before (same keys, order, escapes,
 * and the same fields left out when their text is not UTF-8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_json.h"
#include "daemon.h"

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

/* The reference: how audit.c built the record with jansson. */
static char *reference(const struct audit_event *ev, uint64_t seq, int64_t ts, const char *exe)
{
	char iso[40];
	json_t *o = json_object();
	format_iso_ms(ts, iso, sizeof(iso));
	json_object_set_new(o, "seq", json_integer((json_int_t)seq));
	json_object_set_new(o, "ts", json_string(iso));
	json_object_set_new(o, "event", json_string(ev->event));
	json_object_set_new(o, "outcome", json_string(ev->outcome ? ev->outcome : "success"));
	json_t *actor = json_null();
	if (ev->actor) {
		actor = json_object();
		json_object_set_new(actor, "uid",
				    ev->actor->uid == (uid_t)-1 ? json_null()
								: json_integer(ev->actor->uid));
		json_object_set_new(actor, "user", json_string(ev->actor->user));
		if (ev->actor->account[0])
			json_object_set_new(actor, "account", json_string(ev->actor->account));
	}
	json_object_set_new(o, "actor", actor);
	json_t *subj = json_null();
	if ((ev->account && *ev->account) || ev->key_id || ev->jti) {
		subj = json_object();
		if (ev->account && *ev->account)
			json_object_set_new(subj, "account", json_string(ev->account));
		if (ev->uid)
			json_object_set_new(subj, "uid", json_integer(ev->uid));
		if (ev->key_id)
			json_object_set_new(subj, "key_id", json_string(ev->key_id));
		if (ev->jti)
			json_object_set_new(subj, "jti", json_string(ev->jti));
	}
	json_object_set_new(o, "subject", subj);
	json_t *scope = json_null();
	if (ev->team || ev->workspace) {
		scope = json_object();
		if (ev->team)
			json_object_set_new(scope, "team", json_string(ev->team));
		if (ev->workspace)
			json_object_set_new(scope, "workspace", json_string(ev->workspace));
	}
	json_object_set_new(o, "scope", scope);
	json_t *peer = json_null();
	if (ev->peer) {
		peer = json_object();
		json_object_set_new(peer, "pid", json_integer(ev->peer->pid));
		json_object_set_new(peer, "uid",
				    ev->peer->uid == (uid_t)-1 ? json_null()
							       : json_integer(ev->peer->uid));
		json_object_set_new(peer, "exe", str_or_null(exe));
		if (ev->peer->addr[0])
			json_object_set_new(peer, "addr", json_string(ev->peer->addr));
	}
	json_object_set_new(o, "peer", peer);
	json_object_set_new(o, "service", str_or_null(ev->service));
	json_object_set_new(o, "rhost", str_or_null(ev->rhost));
	if (ev->tty)
		json_object_set_new(o, "tty", str_or_null(ev->tty));
	json_object_set_new(o, "reason", str_or_null(ev->reason));
	if (ev->detail)
		json_object_set_new(o, "detail", json_string(ev->detail));
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	return s;
}

static void same(const struct audit_event *ev, uint64_t seq, int64_t ts, const char *exe)
{
	char *want = reference(ev, seq, ts, exe);
	char *got = audit_event_json(ev, seq, ts, exe, NULL);
	assert_non_null(want);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(want);
	free(got);
}

static void minimal_event(void **state)
{
	(void)state;
	struct audit_event ev = { .event = "daemon.start" };
	same(&ev, 1, 0, NULL);
	char *got = audit_event_json(&ev, 1, 0, NULL, NULL);
	assert_string_equal(got, "{\"seq\":1,\"ts\":\"1970-01-01T00:00:00.000Z\","
				 "\"event\":\"daemon.start\",\"outcome\":\"success\","
				 "\"actor\":null,\"subject\":null,\"scope\":null,"
				 "\"peer\":null,\"service\":null,\"rhost\":null,"
				 "\"reason\":null}");
	free(got);
}

static void full_event(void **state)
{
	(void)state;
	struct actor ac = { .uid = 0 };
	strcpy(ac.user, "root");
	strcpy(ac.account, "ci-admin");
	struct peer pe = { .pid = 4242, .uid = 1000 };
	strcpy(pe.addr, "127.0.0.1:5555");
	struct audit_event ev = {
		.event = "token.create",
		.outcome = "failure",
		.actor = &ac,
		.peer = &pe,
		.account = "ci-deploy",
		.uid = 60001,
		.key_id = "AbCdEfGh1234",
		.jti = "0123456789abcdef",
		.team = "infra",
		.workspace = "web-prod",
		.service = "sshd",
		.rhost = "10.0.0.1",
		.tty = "",
		.reason = "bad_key",
		.detail = "tab\there \"quoted\" back\\slash nl\n cr\r bell\a del\x7f",
	};
	same(&ev, 18446744073709551615ULL, 1795000000123, "/usr/bin/svcacctctl");
	ac.uid = (uid_t)-1;
	pe.uid = (uid_t)-1;
	ac.account[0] = '\0';
	pe.addr[0] = '\0';
	ev.tty = "pts/0";
	same(&ev, 7, 1795000000999, NULL);
}

static void unicode_and_invalid_utf8(void **state)
{
	(void)state;
	const char *texts[] = {
		"caf\xc3\xa9",              /* 2 bytes */
		"\xe2\x82\xac uro",         /* 3 bytes */
		"\xf0\x9f\x94\x91 key",     /* 4 bytes: a surrogate pair */
		"\xf4\x8f\xbf\xbf",         /* U+10FFFF */
		"bad \xff byte",            /* invalid */
		"\xc0\xaf overlong",        /* overlong */
		"\xed\xa0\x80 surrogate",   /* UTF-8 encoded surrogate */
		"\xf4\x90\x80\x80 too big", /* > U+10FFFF */
		"cut \xe2\x82",             /* truncated */
		"\x01\x1f ctl",
		"",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct actor ac = { .uid = 5 };
		snprintf(ac.user, sizeof(ac.user), "%s", texts[i]);
		struct peer pe = { .pid = 1 };
		struct audit_event ev = { .event = texts[i],
					  .actor = &ac,
					  .peer = &pe,
					  .account = texts[i],
					  .service = texts[i],
					  .reason = texts[i],
					  .detail = texts[i],
					  .team = texts[i] };
		same(&ev, i, (int64_t)i, texts[i]);
	}
}

/* Random bytes in every string field: the two must always agree. */
static void random_strings(void **state)
{
	(void)state;
	srand(12345);
	char buf[8][24];
	for (int round = 0; round < 3000; round++) {
		for (int f = 0; f < 8; f++) {
			size_t n = (size_t)(rand() % 23);
			for (size_t i = 0; i < n; i++) {
				int r = rand() % 8;
				buf[f][i] = (char)(r < 4   ? 'a' + rand() % 26
						   : r < 6 ? 0x80 + rand() % 0x80
							   : 1 + rand() % 0x7f);
			}
			buf[f][n] = '\0';
		}
		struct actor ac = { .uid = (uid_t)round };
		snprintf(ac.user, sizeof(ac.user), "%s", buf[0]);
		struct peer pe = { .pid = round };
		struct audit_event ev = { .event = buf[1],
					  .outcome = buf[2],
					  .actor = &ac,
					  .peer = &pe,
					  .key_id = buf[3],
					  .rhost = buf[4],
					  .reason = buf[5],
					  .detail = buf[6] };
		same(&ev, (uint64_t)round, round, buf[7]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(minimal_event),
		cmocka_unit_test(full_event),
		cmocka_unit_test(unicode_and_invalid_utf8),
		cmocka_unit_test(random_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
