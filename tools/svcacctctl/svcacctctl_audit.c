/* SPDX-License-Identifier: GPL-3.0-or-later */
/* svcacctctl audit: list and verify. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* open_memstream */
#endif
#include "svcacctctl.h"

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sockio.h"

/* ---- rendering an event for the plain listing ------------------------------- */

/*
 * One line per event, read like `last`/journalctl: who (ACTOR) did what
 * (EVENT, OUTCOME) to what (SUBJECT), from where (HOST, SERVICE, RHOST),
 * and why (REASON).  A PAM event's actor in the record is root (the PAM
 * module); the line names the service account that logged in instead.
 * Long ids are cut to 8 characters and "…" here; --json has them whole.
 */
enum {
	COL_SEQ,
	COL_TS,
	COL_HOST,
	COL_EVENT,
	COL_OUTCOME,
	COL_ACTOR,
	COL_SUBJECT,
	COL_SERVICE,
	COL_RHOST,
	COL_REASON,
	NCOLS
};

static const char *const col_title[NCOLS] = {
	"SEQ", "TS", "HOST", "EVENT", "OUTCOME", "ACTOR", "SUBJECT", "SERVICE", "RHOST", "REASON",
};

#define ID_SHOWN 8

/* A member's string value, NULL when absent, not a string or empty. */
static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) && json_string_length(v) ? json_string_value(v) : NULL;
}

/* An id, cut to ID_SHOWN characters and "…" when longer. */
static void put_id(FILE *m, const char *id)
{
	size_t n = strlen(id);
	if (n <= ID_SHOWN + 1) {
		fputs(id, m);
		return;
	}
	fwrite(id, 1, ID_SHOWN, m);
	fputs("\u2026", m);
}

/* A word of free text that looks like an id (a key id, jti, hash): 12 or
 * more letters, digits and '_' with at least one digit. */
static int looks_like_id(const char *w, size_t n)
{
	int digit = 0;
	if (n < 12)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)w[i];
		if (ch >= '0' && ch <= '9')
			digit = 1;
		else if (!(ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')))
			return 0;
	}
	return digit;
}

/* Free text with the ids in it shortened. */
static void put_text(FILE *m, const char *s)
{
	while (*s) {
		size_t sep = strcspn(s, " ,;:()=\"'");
		if (looks_like_id(s, sep)) {
			fwrite(s, 1, ID_SHOWN, m);
			fputs("\u2026", m);
		} else {
			fwrite(s, 1, sep, m);
		}
		s += sep;
		if (*s)
			fputc(*s++, m);
	}
}

/* Whether the record is a PAM event (it names the PAM service). */
static int is_pam(json_t *ev)
{
	return jstr(ev, "service") && jstr(json_object_get(ev, "subject"), "account");
}

static void put_actor(FILE *m, json_t *ev)
{
	json_t *act = json_object_get(ev, "actor");
	const char *s;
	if (is_pam(ev))
		fputs(jstr(json_object_get(ev, "subject"), "account"), m);
	else if ((s = jstr(act, "account")) || (s = jstr(act, "user")))
		fputs(s, m);
	else if (json_is_integer(json_object_get(act, "uid")))
		fprintf(m, "uid %" JSON_INTEGER_FORMAT,
			json_integer_value(json_object_get(act, "uid")));
}

static void sep(FILE *m, int *first)
{
	if (!*first)
		fputc(' ', m);
	*first = 0;
}

/* What the event is about: "ci", "ci key 3f9a1c2b…", "team ops",
 * "ws farm", "grant ci@farm", "cert 12 SHA256:ab12cd34…". */
static void put_subject(FILE *m, json_t *ev)
{
	json_t *sub = json_object_get(ev, "subject"), *scope = json_object_get(ev, "scope");
	const char *acc = jstr(sub, "account"), *team = jstr(scope, "team"),
		   *ws = jstr(scope, "workspace"), *event = jstr(ev, "event"), *s;
	int first = 1;

	if (event && !strncmp(event, "grant.", 6) && acc && (ws || team)) {
		fprintf(m, "grant %s@%s", acc, ws ? ws : team);
		first = 0;
		acc = team = ws = NULL;
	}
	if (acc && !is_pam(ev)) {
		sep(m, &first);
		fputs(acc, m);
	}
	if ((s = jstr(sub, "key_id"))) {
		sep(m, &first);
		fputs("key ", m);
		put_id(m, s);
	}
	if ((s = jstr(sub, "jti"))) {
		sep(m, &first);
		fputs("jti ", m);
		put_id(m, s);
	}
	if (team) {
		sep(m, &first);
		fprintf(m, "team %s", team);
	}
	if (ws) {
		sep(m, &first);
		fprintf(m, "ws %s", ws);
	}
	if (json_is_integer(json_object_get(ev, "serial"))) {
		sep(m, &first);
		fprintf(m, "cert %" JSON_INTEGER_FORMAT,
			json_integer_value(json_object_get(ev, "serial")));
	}
	if ((s = jstr(ev, "fingerprint"))) {
		const char *colon = strchr(s, ':');
		sep(m, &first);
		if (colon)
			fwrite(s, 1, (size_t)(colon - s + 1), m);
		put_id(m, colon ? colon + 1 : s);
	}
}

/* The reason (a machine word), else the detail text. */
static void put_reason(FILE *m, json_t *ev)
{
	const char *reason = jstr(ev, "reason"), *detail = jstr(ev, "detail");
	if (reason)
		put_text(m, reason);
	if (reason && detail)
		fputs(": ", m);
	if (detail)
		put_text(m, detail);
}

static void put_cell(FILE *m, json_t *ev, int col)
{
	json_t *v;
	const char *s = NULL; /* a plain string member */
	switch (col) {
	case COL_SEQ:
		v = json_object_get(ev, "seq");
		if (json_is_integer(v))
			fprintf(m, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case COL_TS: s = jstr(ev, "ts"); break;
	case COL_HOST: s = jstr(ev, "host"); break;
	case COL_EVENT: s = jstr(ev, "event"); break;
	case COL_OUTCOME: s = jstr(ev, "outcome"); break;
	case COL_ACTOR: put_actor(m, ev); break;
	case COL_SUBJECT: put_subject(m, ev); break;
	case COL_SERVICE: s = jstr(ev, "service"); break;
	case COL_RHOST: s = jstr(ev, "rhost"); break;
	case COL_REASON: put_reason(m, ev); break;
	default: break;
	}
	if (s)
		fputs(s, m);
}

/* A malloc'ed rendering of a cell ("-" when empty), NULL when out of memory. */
static char *render(json_t *ev, int col)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	put_cell(m, ev, col);
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

/* An item's event, or a stand-in object naming its seq. */
static json_t *item_or_standin(const struct ctl_item *it, size_t idx, int *oom)
{
	json_t *ev = item_event(it, idx);
	if (!ev) {
		/* Keep the listing honest: a stand-in object. */
		ev = json_object();
		ctl_json_set(ev, "seq", ctl_json_u64(it, F_SEQ), oom);
		ctl_json_set(ev, "error", json_string("unparseable event"), oom);
		if (!ev)
			*oom = 1;
	}
	return ev;
}

static int list_json(const struct ctl_reply *rep)
{
	json_t *arr = json_array();
	int oom = !arr;

	for (size_t i = 0; i < rep->nitems && !oom; i++) {
		json_t *ev = item_or_standin(&rep->items[i], i, &oom);
		if (!ev || json_array_append_new(arr, ev) < 0)
			oom = 1;
	}
	if (oom) {
		json_decref(arr);
		arr = NULL;
	}
	return ctl_json_print(arr);
}

/* --follow --json: one compact JSON object per line. */
static int list_json_lines(const struct ctl_reply *rep)
{
	int oom = 0;
	for (size_t i = 0; i < rep->nitems && !oom; i++) {
		json_t *ev = item_or_standin(&rep->items[i], i, &oom);
		char *line = ev ? json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		json_decref(ev);
		if (!line) {
			oom = 1;
			break;
		}
		puts(line);
		free(line);
	}
	if (oom)
		ctl_err("out of memory");
	return oom ? CTL_EXIT_FAILED : 0;
}

/* The table's state across --follow polls: column widths only grow, and
 * the titles are printed once. */
struct table {
	size_t width[NCOLS];
	int titled;
};

static void table_init(struct table *t)
{
	for (int k = 0; k < NCOLS; k++)
		t->width[k] = strlen(col_title[k]);
	t->titled = 0;
}

static void print_row(const struct table *t, const char *const *cells, int safe)
{
	for (int k = 0; k < NCOLS; k++) {
		size_t n = strlen(cells[k]);
		if (safe)
			ctl_put_safe(stdout, cells[k], n);
		else
			fputs(cells[k], stdout);
		if (k < NCOLS - 1)
			printf("%*s", (int)(t->width[k] - ctl_width(cells[k], n) + 2), "");
	}
	putchar('\n');
}

static int list_plain(const struct ctl_reply *rep, struct table *t)
{
	char *(*rows)[NCOLS] = NULL;
	int rc = 0;

	if (rep->nitems && !(rows = calloc(rep->nitems, sizeof(*rows)))) {
		ctl_err("out of memory");
		return CTL_EXIT_FAILED;
	}
	for (size_t i = 0; i < rep->nitems && !rc; i++) {
		const struct ctl_item *it = &rep->items[i];
		json_t *ev = item_event(it, i);
		for (int k = 0; k < NCOLS; k++) {
			uint64_t seq;
			char num[24];
			if (ev)
				rows[i][k] = render(ev, k);
			else if (k == COL_SEQ && ctl_get_u64(it, F_SEQ, &seq))
				rows[i][k] = snprintf(num, sizeof(num), "%" PRIu64, seq) > 0
						     ? strdup(num)
						     : NULL;
			else
				rows[i][k] = strdup(k == COL_REASON ? "(unparseable event)" : "-");
			if (!rows[i][k]) {
				rc = CTL_EXIT_FAILED;
				break;
			}
			size_t w = ctl_width(rows[i][k], strlen(rows[i][k]));
			if (w > t->width[k])
				t->width[k] = w;
		}
		json_decref(ev);
	}

	if (rc) {
		ctl_err("out of memory");
	} else {
		if (!t->titled)
			print_row(t, col_title, 0);
		t->titled = 1;
		for (size_t i = 0; i < rep->nitems; i++)
			print_row(t, (const char *const *)rows[i], 1);
	}
	for (size_t i = 0; i < rep->nitems; i++)
		for (int k = 0; k < NCOLS; k++)
			free(rows[i][k]);
	free(rows);
	return rc;
}

/* ---- commands -------------------------------------------------------------- */

/* --follow polls every FOLLOW_POLL_MS until SIGINT or SIGTERM. */
#define FOLLOW_POLL_MS 500

static volatile sig_atomic_t follow_stop;

static void on_stop(int sig)
{
	(void)sig;
	follow_stop = 1;
}

enum {
	O_ACCOUNT,
	O_EVENT,
	O_SINCE,
	O_LIMIT,
	O_HOST,
	O_OUTCOME,
	O_SERVICE,
	O_UNTIL,
	O_FOLLOW,
	NOPTS
};

struct list_args {
	const char *v[NOPTS];
	uint64_t since, until, limit;
};

static int parse_limit(struct ctl *c, const char *s, uint64_t *limit)
{
	const char *p = s;
	*limit = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (*limit > (UINT64_MAX - 9) / 10)
			break;
		*limit = *limit * 10 + (uint64_t)(*p - '0');
	}
	if (*p || *limit == 0)
		return ctl_usage_error(c, "--limit: '%s' is not a positive integer", s);
	return 0;
}

static int bad_time(struct ctl *c, const char *opt, const char *v)
{
	return ctl_usage_error(c,
			       "%s: '%s' is not a time: use "
			       "2026-11-27T10:00:00Z, 2026-11-27, "
			       "@EPOCH or an age like 30s, 15m, 2h, 7d",
			       opt, v);
}

/* A name-like filter value: 1..max printable characters, no blanks. */
static int bad_word(struct ctl *c, const char *opt, const char *v, size_t max, const char *what)
{
	if (!*v || strlen(v) > max || strpbrk(v, " \t"))
		return ctl_usage_error(c, "%s: give %s (at most %zu characters, no blanks)", opt,
				       what, max);
	return 0;
}

static int check_list_args(struct ctl *c, struct list_args *a)
{
	const char *const *v = a->v;
	int rc;
	int64_t now = svca_wall_ms();

	if (v[O_HOST] && (!*v[O_HOST] || strlen(v[O_HOST]) > 100))
		return ctl_usage_error(c, "--host: give a host id (at most 100 characters)");
	if (v[O_ACCOUNT] && (rc = ctl_check_account_name(c, v[O_ACCOUNT])) != 0)
		return rc;
	if (v[O_EVENT] && !*v[O_EVENT])
		return ctl_usage_error(c, "--event: the event type is empty");
	if (v[O_EVENT] && (rc = bad_word(c, "--event", v[O_EVENT], 63,
					 "an event type, a prefix such as token. or a "
					 "glob such as 'token.*'")) != 0)
		return rc;
	if (v[O_OUTCOME] && strcmp(v[O_OUTCOME], "success") && strcmp(v[O_OUTCOME], "failure") &&
	    strcmp(v[O_OUTCOME], "denied"))
		return ctl_usage_error(c, "--outcome: '%s' is not success, failure or denied",
				       v[O_OUTCOME]);
	if (v[O_SERVICE] &&
	    (rc = bad_word(c, "--service", v[O_SERVICE], 63, "a PAM service name")) != 0)
		return rc;
	if (v[O_SINCE] && ctl_parse_time(v[O_SINCE], now, &a->since) < 0)
		return bad_time(c, "--since", v[O_SINCE]);
	if (v[O_UNTIL] && ctl_parse_time(v[O_UNTIL], now, &a->until) < 0)
		return bad_time(c, "--until", v[O_UNTIL]);
	if (v[O_UNTIL] && a->until == 0)
		return bad_time(c, "--until", v[O_UNTIL]);
	if (v[O_SINCE] && v[O_UNTIL] && a->since > a->until)
		return ctl_usage_error(c, "--since %s is later than --until %s", v[O_SINCE],
				       v[O_UNTIL]);
	if (v[O_UNTIL] && v[O_FOLLOW])
		return ctl_usage_error(c, "--follow shows new events: it does not go with --until");
	if (v[O_LIMIT] && (rc = parse_limit(c, v[O_LIMIT], &a->limit)) != 0)
		return rc;
	return 0;
}

static int list_once(struct ctl *c, const struct list_args *a, uint64_t after, int first,
		     struct ctl_reply *rep)
{
	static const uint16_t str_tag[] = {
		[O_ACCOUNT] = F_ACCOUNT,       [O_EVENT] = F_EVENT,           [O_HOST] = F_HOST_ID,
		[O_OUTCOME] = F_AUDIT_OUTCOME, [O_SERVICE] = F_AUDIT_SERVICE,
	};
	struct svca_buf b;

	ctl_request_begin(&b, SVCA_CMD_AUDIT_LIST);
	for (size_t k = 0; k < sizeof(str_tag) / sizeof(str_tag[0]); k++)
		if (str_tag[k] && a->v[k])
			svca_put_str(&b, str_tag[k], a->v[k]);
	if (a->v[O_SINCE])
		svca_put_u64(&b, F_SINCE, a->since);
	if (a->v[O_UNTIL])
		svca_put_u64(&b, F_AUDIT_UNTIL, a->until);
	if (a->v[O_LIMIT] && first) /* later polls: every new event */
		svca_put_u64(&b, F_LIMIT, a->limit);
	if (after)
		svca_put_u64(&b, F_AUDIT_AFTER_SEQ, after);
	return ctl_request(c, &b, rep);
}

/* The newest seq the reply covers: the trail's head (F_AUDIT_HEAD, when
 * the daemon says) or its last item's. */
static uint64_t reply_last_seq(const struct ctl_reply *rep, uint64_t prev)
{
	uint64_t seq, last = prev;
	if (ctl_get_u64(&rep->top, F_AUDIT_HEAD, &seq) && seq > last)
		last = seq;
	for (size_t i = 0; i < rep->nitems; i++)
		if (ctl_get_u64(&rep->items[i], F_SEQ, &seq) && seq > last)
			last = seq;
	return last;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL); /* a signal cuts it short: the loop checks */
}

static int follow(struct ctl *c, const struct list_args *a, uint64_t last, struct table *t)
{
	struct sigaction sa = { .sa_handler = on_stop };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	while (!follow_stop) {
		struct ctl_reply rep;
		sleep_ms(FOLLOW_POLL_MS);
		if (follow_stop)
			break;
		int rc = list_once(c, a, last, 0, &rep);
		if (rc != 0)
			return follow_stop ? 0 : rc;
		rc = c->json ? list_json_lines(&rep) : list_plain(&rep, t);
		last = reply_last_seq(&rep, last);
		ctl_reply_free(&rep);
		if (rc != 0)
			return rc;
		fflush(stdout);
	}
	return 0;
}

int ctl_audit_list(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt opts[NOPTS] = {
		[O_ACCOUNT] = { "account", 1, NULL }, [O_EVENT] = { "event", 1, NULL },
		[O_SINCE] = { "since", 1, NULL },     [O_LIMIT] = { "limit", 1, NULL },
		[O_HOST] = { "host", 1, NULL },       [O_OUTCOME] = { "outcome", 1, NULL },
		[O_SERVICE] = { "service", 1, NULL }, [O_UNTIL] = { "until", 1, NULL },
		[O_FOLLOW] = { "follow", 0, NULL },
	};
	struct list_args a = { 0 };
	struct ctl_reply rep;
	struct table t;
	int rc;

	if ((rc = ctl_parse_args(c, argc, argv, opts, NOPTS, NULL, 0, 0, NULL)) != 0)
		return rc;
	for (int k = 0; k < NOPTS; k++)
		a.v[k] = opts[k].value;
	if ((rc = check_list_args(c, &a)) != 0)
		return rc;
	if ((rc = list_once(c, &a, 0, 1, &rep)) != 0)
		return rc;
	table_init(&t);
	if (!a.v[O_FOLLOW])
		rc = c->json ? list_json(&rep) : list_plain(&rep, &t);
	else
		rc = c->json ? list_json_lines(&rep) : list_plain(&rep, &t);
	uint64_t last = reply_last_seq(&rep, 0);
	ctl_reply_free(&rep);
	if (rc != 0 || !a.v[O_FOLLOW])
		return rc;
	fflush(stdout);
	return follow(c, &a, last, &t);
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
