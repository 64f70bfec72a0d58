/* SPDX-License-Identifier: GPL-3.0-or-later */
/* svcacctctl audit: list and verify. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* open_memstream */
#endif
#include "svcacctctl.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sockio.h"

/* ---- rendering an event for the plain listing ------------------------------- */

enum { COL_SEQ, COL_TS, COL_EVENT, COL_OUTCOME, COL_ACTOR, COL_SUBJECT, COL_REASON, NCOLS };

static const char *const col_title[NCOLS] = {
	"SEQ", "TS", "EVENT", "OUTCOME", "ACTOR", "SUBJECT", "REASON",
};

static void render_value(FILE *m, json_t *v, int actor);

/*
 * An object in a few characters: its name (account, else user, else name)
 * bare, then the other scalar members as key=value, comma-separated.  For
 * the actor the name alone is enough.
 */
static void render_object(FILE *m, json_t *o, int actor)
{
	static const char *const name_keys[] = { "account", "user", "name" };
	const char *prim = NULL, *key;
	json_t *x;
	int first = 1;

	for (size_t i = 0; i < sizeof(name_keys) / sizeof(name_keys[0]); i++) {
		x = json_object_get(o, name_keys[i]);
		if (json_is_string(x) && json_string_length(x) > 0) {
			prim = name_keys[i];
			fwrite(json_string_value(x), 1, json_string_length(x), m);
			first = 0;
			break;
		}
	}
	if (prim && actor)
		return;
	json_object_foreach(o, key, x)
	{
		if ((prim && strcmp(key, prim) == 0) || json_is_null(x) || json_is_object(x) ||
		    json_is_array(x) || (json_is_string(x) && json_string_length(x) == 0))
			continue;
		fprintf(m, "%s%s=", first ? "" : ",", key);
		first = 0;
		render_value(m, x, 0);
	}
}

static void render_value(FILE *m, json_t *v, int actor)
{
	size_t i;
	json_t *x;

	switch (json_typeof(v)) {
	case JSON_STRING: fwrite(json_string_value(v), 1, json_string_length(v), m); break;
	case JSON_INTEGER: fprintf(m, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
	case JSON_REAL: fprintf(m, "%g", json_real_value(v)); break;
	case JSON_TRUE: fputs("true", m); break;
	case JSON_FALSE: fputs("false", m); break;
	case JSON_ARRAY:
		json_array_foreach(v, i, x)
		{
			if (i)
				fputc(',', m);
			render_value(m, x, 0);
		}
		break;
	case JSON_OBJECT: render_object(m, v, actor); break;
	case JSON_NULL:
	default: break;
	}
}

/* A malloc'ed rendering of v ("-" when empty), NULL when out of memory. */
static char *render(json_t *v, int actor)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	if (v)
		render_value(m, v, actor);
	if (fclose(m) != 0) {
		free(buf);
		return NULL;
	}
	if (len == 0) {
		free(buf);
		return strdup("-");
	}
	return buf;
}

/* The event of one reply item: F_JSON parsed, NULL when absent or not an
 * object (a warning then goes to stderr). */
static json_t *item_event(const struct ctl_item *it, size_t idx)
{
	struct ctl_str s;
	json_error_t jerr;
	json_t *ev = NULL;

	if (ctl_get_str(it, F_JSON, &s))
		ev = json_loadb(s.p, s.n, 0, &jerr);
	if (!json_is_object(ev)) {
		uint64_t seq;
		json_decref(ev);
		if (ctl_get_u64(it, F_SEQ, &seq))
			ctl_warn("audit record %" PRIu64 " is not a JSON object", seq);
		else
			ctl_warn("audit item %zu is not a JSON object", idx + 1);
		return NULL;
	}
	return ev;
}

static int list_json(const struct ctl_reply *rep)
{
	json_t *arr = json_array();
	int oom = !arr;

	for (size_t i = 0; i < rep->nitems && !oom; i++) {
		const struct ctl_item *it = &rep->items[i];
		json_t *ev = item_event(it, i);
		if (!ev) {
			/* Keep the array's length honest: a stand-in object. */
			ev = json_object();
			ctl_json_set(ev, "seq", ctl_json_u64(it, F_SEQ), &oom);
			ctl_json_set(ev, "error", json_string("unparseable event"), &oom);
		}
		if (!ev || json_array_append_new(arr, ev) < 0)
			oom = 1;
	}
	if (oom) {
		json_decref(arr);
		arr = NULL;
	}
	return ctl_json_print(arr);
}

static int list_plain(const struct ctl_reply *rep)
{
	static const char *const keys[NCOLS] = {
		"seq", "ts", "event", "outcome", "actor", "subject", "reason",
	};
	size_t width[NCOLS];
	char *(*rows)[NCOLS] = NULL;
	int rc = 0;

	if (rep->nitems && !(rows = calloc(rep->nitems, sizeof(*rows)))) {
		ctl_err("out of memory");
		return CTL_EXIT_FAILED;
	}
	for (int k = 0; k < NCOLS; k++)
		width[k] = strlen(col_title[k]);

	for (size_t i = 0; i < rep->nitems && !rc; i++) {
		const struct ctl_item *it = &rep->items[i];
		json_t *ev = item_event(it, i);
		for (int k = 0; k < NCOLS; k++) {
			json_t *v = ev ? json_object_get(ev, keys[k]) : NULL;
			json_t *tmp = NULL;
			if (k == COL_SEQ && !json_is_integer(v)) {
				uint64_t seq;
				if (ctl_get_u64(it, F_SEQ, &seq) && seq <= (uint64_t)INT64_MAX)
					v = tmp = json_integer((json_int_t)seq);
			}
			if (!ev && k == COL_REASON)
				v = tmp = json_string("(unparseable event)");
			rows[i][k] = render(v, k == COL_ACTOR);
			json_decref(tmp);
			if (!rows[i][k]) {
				rc = CTL_EXIT_FAILED;
				break;
			}
			size_t w = ctl_width(rows[i][k], strlen(rows[i][k]));
			if (w > width[k])
				width[k] = w;
		}
		json_decref(ev);
	}

	if (rc) {
		ctl_err("out of memory");
	} else {
		for (int k = 0; k < NCOLS; k++)
			printf("%-*s%s", k < NCOLS - 1 ? (int)width[k] : 0, col_title[k],
			       k < NCOLS - 1 ? "  " : "\n");
		for (size_t i = 0; i < rep->nitems; i++) {
			for (int k = 0; k < NCOLS; k++) {
				const char *s = rows[i][k];
				size_t n = strlen(s);
				ctl_put_safe(stdout, s, n);
				if (k < NCOLS - 1)
					printf("%*s", (int)(width[k] - ctl_width(s, n) + 2), "");
			}
			putchar('\n');
		}
	}
	for (size_t i = 0; i < rep->nitems; i++)
		for (int k = 0; k < NCOLS; k++)
			free(rows[i][k]);
	free(rows);
	return rc;
}

/* ---- commands -------------------------------------------------------------- */

int ctl_audit_list(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt opts[] = { { "account", 1, NULL },
				  { "event", 1, NULL },
				  { "since", 1, NULL },
				  { "limit", 1, NULL },
				  { "host", 1, NULL } };
	struct svca_buf b;
	struct ctl_reply rep;
	uint64_t since = 0, limit = 0;
	int rc;

	if ((rc = ctl_parse_args(c, argc, argv, opts, 5, NULL, 0, 0, NULL)) != 0)
		return rc;
	if (opts[4].value && (!*opts[4].value || strlen(opts[4].value) > 100))
		return ctl_usage_error(c, "--host: give a host id (at most 100 characters)");
	if (opts[0].value && (rc = ctl_check_account_name(c, opts[0].value)) != 0)
		return rc;
	if (opts[1].value && !*opts[1].value)
		return ctl_usage_error(c, "--event: the event type is empty");
	if (opts[2].value && ctl_parse_time(opts[2].value, svca_wall_ms(), &since) < 0)
		return ctl_usage_error(c,
				       "--since: '%s' is not a time: use "
				       "2026-11-27T10:00:00Z, 2026-11-27, "
				       "@EPOCH or an age like 30s, 15m, 2h, 7d",
				       opts[2].value);
	if (opts[3].value) {
		const char *p = opts[3].value;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (limit > (UINT64_MAX - 9) / 10)
				break;
			limit = limit * 10 + (uint64_t)(*p - '0');
		}
		if (*p || limit == 0)
			return ctl_usage_error(c,
					       "--limit: '%s' is not a positive "
					       "integer",
					       opts[3].value);
	}

	ctl_request_begin(&b, SVCA_CMD_AUDIT_LIST);
	if (opts[0].value)
		svca_put_str(&b, F_ACCOUNT, opts[0].value);
	if (opts[1].value)
		svca_put_str(&b, F_EVENT, opts[1].value);
	if (opts[2].value)
		svca_put_u64(&b, F_SINCE, since);
	if (opts[3].value)
		svca_put_u64(&b, F_LIMIT, limit);
	if (opts[4].value)
		svca_put_str(&b, F_HOST_ID, opts[4].value);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	rc = c->json ? list_json(&rep) : list_plain(&rep);
	ctl_reply_free(&rep);
	return rc;
}

int ctl_audit_verify(struct ctl *c, int argc, char **argv)
{
	struct svca_buf b;
	struct ctl_reply rep;
	uint64_t n;
	int rc, oom = 0;

	if ((rc = ctl_parse_args(c, argc, argv, NULL, 0, NULL, 0, 0, NULL)) != 0)
		return rc;
	ctl_request_begin(&b, SVCA_CMD_AUDIT_VERIFY);
	if ((rc = ctl_exchange(c, &b, &rep)) != 0)
		return rc;

	if (rep.raw.status == SVCA_OK) {
		int have = ctl_get_u64(&rep.top, F_TOTAL, &n);
		if (c->json) {
			json_t *o = json_object();
			ctl_json_set(o, "ok", json_true(), &oom);
			ctl_json_set(o, "records", ctl_json_u64(&rep.top, F_TOTAL), &oom);
			if (oom) {
				json_decref(o);
				o = NULL;
			}
			rc = ctl_json_print(o);
		} else if (have) {
			printf("audit chain intact: %" PRIu64 " records\n", n);
		} else {
			puts("audit chain intact");
		}
	} else {
		/* The message names the first bad record; it goes to stderr,
		 * and with --json the verdict also goes to stdout. */
		rc = ctl_reply_error(c, &rep);
		if (rep.raw.status == SVCA_ERR_FAILED && c->json) {
			struct ctl_item all = { rep.fields, rep.nfields };
			json_t *o = json_object();
			ctl_json_set(o, "ok", json_false(), &oom);
			ctl_json_set(o, "first_bad_seq", ctl_json_u64(&all, F_SEQ), &oom);
			ctl_json_set(o, "message", ctl_json_field(&all, F_MESSAGE), &oom);
			struct ctl_str hs;
			if (ctl_get_str(&all, F_HOST_ID, &hs)) {
				ctl_json_set(o, "host", ctl_json_str(hs), &oom);
				ctl_json_set(o, "host_seq", ctl_json_u64(&all, F_HOST_SEQ), &oom);
			}
			if (oom) {
				json_decref(o);
				o = NULL;
			}
			if (ctl_json_print(o) != 0 && rc == 0)
				rc = CTL_EXIT_FAILED;
		}
	}
	ctl_reply_free(&rep);
	return rc;
}
