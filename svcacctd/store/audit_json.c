/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Audit events as JSON, written directly: building a jansson object and
 * dumping it was 14% of the daemon's CPU per token exchange (one event per
 * exchange).  The output is what jansson printed before, so records stay
 * comparable across versions; tests/unit/test_audit_json.c checks that
 * against jansson itself, escapes and invalid UTF-8 included.
 */
#include "audit_json.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void format_iso_ms(int64_t ms, char *dst, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(dst, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

struct jw {
	char *p;
	size_t len, cap;
	int oom;
	int first; /* no comma before the next member */
};

static void put(struct jw *w, const char *s, size_t n)
{
	if (w->oom)
		return;
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 512;
		while (cap < w->len + n + 1)
			cap *= 2;
		char *np = realloc(w->p, cap);
		if (!np) {
			w->oom = 1;
			return;
		}
		w->p = np;
		w->cap = cap;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
	w->p[w->len] = '\0';
}

__attribute__((format(printf, 2, 3))) static void putf(struct jw *w, const char *fmt, ...)
{
	char b[64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(w, b, (size_t)n < sizeof(b) ? (size_t)n : sizeof(b) - 1);
}

/* Decodes one UTF-8 sequence as jansson accepts it (no overlong forms, no
 * surrogates, at most U+10FFFF).  Its length, or 0 when invalid. */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
	unsigned c = s[0];
	size_t n;
	uint32_t v;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		v = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		v = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3Fu);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
	    (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return n;
}

static int utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	while (*p) {
		size_t n = utf8_next(p, &cp);
		if (!n)
			return 0;
		p += n;
	}
	return 1;
}

static void put_string(struct jw *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	put(w, "\"", 1);
	while (*p) {
		const unsigned char *run = p;
		while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		put(w, (const char *)run, (size_t)(p - run));
		if (!*p)
			break;
		uint32_t cp = 0;
		size_t n = utf8_next(p, &cp); /* the caller checked validity */
		p += n ? n : 1;
		switch (cp) {
		case '"': put(w, "\\\"", 2); break;
		case '\\': put(w, "\\\\", 2); break;
		case '\b': put(w, "\\b", 2); break;
		case '\f': put(w, "\\f", 2); break;
		case '\n': put(w, "\\n", 2); break;
		case '\r': put(w, "\\r", 2); break;
		case '\t': put(w, "\\t", 2); break;
		default:
			if (cp >= 0x10000) {
				uint32_t v = cp - 0x10000;
				putf(w, "\\u%04X\\u%04X", (unsigned)(0xD800 | (v >> 10)),
				     (unsigned)(0xDC00 | (v & 0x3FF)));
			} else {
				putf(w, "\\u%04X", (unsigned)cp);
			}
		}
	}
	put(w, "\"", 1);
}

static void key(struct jw *w, const char *k)
{
	if (!w->first)
		put(w, ",", 1);
	w->first = 0;
	put_string(w, k);
	put(w, ":", 1);
}

static void open_obj(struct jw *w)
{
	put(w, "{", 1);
	w->first = 1;
}

static void close_obj(struct jw *w)
{
	put(w, "}", 1);
	w->first = 0;
}

/* A string member; left out when the text is not UTF-8 (as jansson did:
 * json_string() refused it and json_object_set_new() then set nothing). */
static void m_str(struct jw *w, const char *k, const char *v)
{
	if (!v || !utf8_valid(v))
		return;
	key(w, k);
	put_string(w, v);
}

static void m_str_or_null(struct jw *w, const char *k, const char *v)
{
	if (v && *v) {
		m_str(w, k, v);
	} else {
		key(w, k);
		put(w, "null", 4);
	}
}

static void m_int(struct jw *w, const char *k, long long v)
{
	key(w, k);
	putf(w, "%lld", v);
}

static void m_null(struct jw *w, const char *k)
{
	key(w, k);
	put(w, "null", 4);
}

char *audit_event_json(const struct audit_event *ev, uint64_t seq, int64_t ts_ms, const char *exe,
		       const char *host)
{
	struct jw w = { 0 };
	char iso[40];

	format_iso_ms(ts_ms, iso, sizeof(iso));
	open_obj(&w);
	m_int(&w, "seq", (long long)seq);
	m_str(&w, "ts", iso);
	if (host)
		m_str(&w, "host", host);
	m_str(&w, "event", ev->event);
	m_str(&w, "outcome", ev->outcome ? ev->outcome : "success");

	if (ev->actor) {
		key(&w, "actor");
		open_obj(&w);
		if (ev->actor->uid == (uid_t)-1)
			m_null(&w, "uid");
		else
			m_int(&w, "uid", (long long)ev->actor->uid);
		m_str(&w, "user", ev->actor->user);
		if (ev->actor->account[0])
			m_str(&w, "account", ev->actor->account);
		close_obj(&w);
	} else {
		m_null(&w, "actor");
	}

	if ((ev->account && *ev->account) || ev->key_id || ev->jti) {
		key(&w, "subject");
		open_obj(&w);
		if (ev->account && *ev->account)
			m_str(&w, "account", ev->account);
		if (ev->uid)
			m_int(&w, "uid", (long long)ev->uid);
		if (ev->key_id)
			m_str(&w, "key_id", ev->key_id);
		if (ev->jti)
			m_str(&w, "jti", ev->jti);
		close_obj(&w);
	} else {
		m_null(&w, "subject");
	}

	if (ev->team || ev->workspace) {
		key(&w, "scope");
		open_obj(&w);
		if (ev->team)
			m_str(&w, "team", ev->team);
		if (ev->workspace)
			m_str(&w, "workspace", ev->workspace);
		close_obj(&w);
	} else {
		m_null(&w, "scope");
	}

	if (ev->peer) {
		key(&w, "peer");
		open_obj(&w);
		m_int(&w, "pid", (long long)ev->peer->pid);
		if (ev->peer->uid == (uid_t)-1)
			m_null(&w, "uid");
		else
			m_int(&w, "uid", (long long)ev->peer->uid);
		m_str_or_null(&w, "exe", exe);
		if (ev->peer->addr[0])
			m_str(&w, "addr", ev->peer->addr);
		close_obj(&w);
	} else {
		m_null(&w, "peer");
	}
	m_str_or_null(&w, "service", ev->service);
	m_str_or_null(&w, "rhost", ev->rhost);
	if (ev->tty)
		m_str_or_null(&w, "tty", ev->tty);
	m_str_or_null(&w, "reason", ev->reason);
	if (ev->detail)
		m_str(&w, "detail", ev->detail);
	if (ev->suppressed)
		m_int(&w, "suppressed", (long long)ev->suppressed);
	if (ev->method)
		m_str(&w, "method", ev->method);
	if (ev->serial)
		m_int(&w, "serial", (long long)ev->serial);
	if (ev->cert_id)
		m_str(&w, "cert_id", ev->cert_id);
	if (ev->fingerprint)
		m_str(&w, "fingerprint", ev->fingerprint);
	if (ev->ttl)
		m_int(&w, "ttl", (long long)ev->ttl);
	close_obj(&w);

	if (w.oom) {
		free(w.p);
		return NULL;
	}
	return w.p;
}
