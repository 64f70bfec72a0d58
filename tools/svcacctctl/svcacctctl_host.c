/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * svcacctctl host and fleet (DESIGN.md section 9): on a hub, enrollment
 * tokens and the hosts of the fleet; on an agent, host enroll; anywhere,
 * fleet status.
 */
#include "svcacctctl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyfmt.h"

#define MAX_WS 32
#define WS_LIST_MAX (MAX_WS * 65 + 1)

static const char *const host_pos[] = { "HOST" };

/* ---- output ----------------------------------------------------------------- */

static json_t *workspaces_json(const struct ctl_item *it, int *oom)
{
	json_t *a = json_array();
	struct ctl_str s;
	if (!a) {
		*oom = 1;
		return NULL;
	}
	for (size_t i = 0; ctl_get_str_nth(it, F_WORKSPACES, i, &s); i++)
		if (json_array_append_new(a, ctl_json_str(s)) < 0)
			*oom = 1;
	return a;
}

/* "a,b" of the repeated F_WORKSPACES into buf (CTL_CELL_BUFLEN). */
static struct ctl_str workspaces_cell(const struct ctl_item *it, char *buf, size_t len)
{
	struct ctl_str s, out = { buf, 0 };
	buf[0] = '\0';
	for (size_t i = 0; ctl_get_str_nth(it, F_WORKSPACES, i, &s); i++) {
		if (out.n + s.n + 2 >= len)
			break;
		if (i)
			buf[out.n++] = ',';
		memcpy(buf + out.n, s.p, s.n);
		out.n += s.n;
	}
	buf[out.n] = '\0';
	return out;
}

/* A host as JSON: exactly the contract's fields. */
static json_t *host_json(const struct ctl_item *it, int *oom)
{
	json_t *o = json_object();
	if (!o) {
		*oom = 1;
		return NULL;
	}
	ctl_json_set(o, "host_id", ctl_json_field(it, F_HOST_ID), oom);
	ctl_json_set(o, "workspaces", workspaces_json(it, oom), oom);
	ctl_json_set(o, "status", ctl_json_field(it, F_STATUS), oom);
	ctl_json_set(o, "last_seen", ctl_json_time(it, F_LAST_SEEN), oom);
	ctl_json_set(o, "snapshot_seq", ctl_json_u64(it, F_SNAPSHOT_SEQ), oom);
	ctl_json_set(o, "lag_s", ctl_json_u64(it, F_LAG_S), oom);
	return o;
}

static struct ctl_str host_cell(const struct ctl_item *it, size_t col, char *buf)
{
	switch (col) {
	case 0: return ctl_cell_str(it, F_HOST_ID);
	case 1: return workspaces_cell(it, buf, CTL_CELL_BUFLEN);
	case 2: return ctl_cell_str(it, F_STATUS);
	case 3: return ctl_cell_time(it, F_LAST_SEEN, buf);
	case 4: return ctl_cell_u64(it, F_SNAPSHOT_SEQ, buf);
	default: return ctl_cell_u64(it, F_LAG_S, buf);
	}
}

static void print_kv(const char *k, struct ctl_str v)
{
	printf("%s: ", k);
	if (v.p && v.n)
		ctl_put_safe(stdout, v.p, v.n);
	else
		putchar('-');
	putchar('\n');
}

static void host_print(const struct ctl_item *it)
{
	static const char *const keys[] = { "host_id",   "workspaces",   "status",
					    "last_seen", "snapshot_seq", "lag_s" };
	char buf[CTL_CELL_BUFLEN];
	for (size_t i = 0; i < 6; i++)
		print_kv(keys[i], host_cell(it, i, buf));
}

/* Prints the reply's host (show, update, disable). */
static int host_out(struct ctl *c, struct ctl_reply *rep, const char *said)
{
	int rc = 0;
	if (c->json) {
		int oom = 0;
		rc = ctl_json_print_checked(host_json(&rep->top, &oom), oom);
	} else if (said) {
		struct ctl_str id;
		char buf[CTL_CELL_BUFLEN];
		fputs(said, stdout);
		if (ctl_get_str(&rep->top, F_HOST_ID, &id))
			ctl_put_safe(stdout, id.p, id.n);
		fputs(" (workspaces ", stdout);
		struct ctl_str ws = workspaces_cell(&rep->top, buf, sizeof(buf));
		ctl_put_safe(stdout, ws.p, ws.n);
		fputs(")\n", stdout);
	} else {
		host_print(&rep->top);
	}
	ctl_reply_free(rep);
	return rc;
}

/* ---- arguments ------------------------------------------------------------------ */

/* Every --workspace WS (or --workspace=WS) of argv, joined "a,b" into
 * out; ctl_parse_args has checked each value already.  0, or a usage
 * error. */
static int collect_workspaces(struct ctl *c, int argc, char **argv, char *out, size_t len)
{
	size_t n = 0, used = 0;
	out[0] = '\0';
	for (int i = 0; i < argc && strcmp(argv[i], "--"); i++) {
		const char *v = NULL;
		if (!strncmp(argv[i], "--workspace=", 12))
			v = argv[i] + 12;
		else if (!strcmp(argv[i], "--workspace") && i + 1 < argc)
			v = argv[++i];
		if (!v)
			continue;
		int rc = ctl_check_scope_name(c, "workspace", v);
		if (rc)
			return rc;
		if (++n > MAX_WS)
			return ctl_usage_error(c, "at most %d --workspace options", MAX_WS);
		used += (size_t)snprintf(out + used, len - used, "%s%s", used ? "," : "", v);
	}
	if (n == 0)
		return ctl_usage_error(c, "missing --workspace WS: the workspaces the host joins");
	return 0;
}

/* Sends cmd with F_HOST_ID = the one positional HOST. */
static int host_request(struct ctl *c, int argc, char **argv, enum svca_cmd cmd,
			struct ctl_reply *rep)
{
	const char *pos[1];
	struct svca_buf b;
	int rc = ctl_parse_args(c, argc, argv, NULL, 0, host_pos, 1, 1, pos);
	if (rc)
		return rc;
	ctl_request_begin(&b, cmd);
	svca_put_str(&b, F_HOST_ID, pos[0]);
	return ctl_request(c, &b, rep);
}

/* ---- hub: hosts ------------------------------------------------------------------ */

static int token_create(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt opts[] = { { "workspace", 1, NULL }, { "ttl", 1, NULL } };
	char ws[WS_LIST_MAX];
	struct svca_buf b;
	struct ctl_reply rep;
	int rc;
	if ((rc = ctl_parse_args(c, argc, argv, opts, 2, NULL, 0, 0, NULL)) != 0 ||
	    (rc = collect_workspaces(c, argc, argv, ws, sizeof(ws))) != 0)
		return rc;
	ctl_request_begin(&b, SVCA_CMD_HOST_TOKEN_CREATE);
	svca_put_str(&b, F_WORKSPACES, ws);
	if (opts[1].value) {
		char *end;
		unsigned long long ttl = strtoull(opts[1].value, &end, 10);
		if (*end || !*opts[1].value || opts[1].value[0] == '-' || ttl == 0 ||
		    ttl > 30ull * 86400) {
			svca_buf_free(&b);
			return ctl_usage_error(c, "--ttl: '%s' is not 1 to 2592000 seconds",
					       opts[1].value);
		}
		svca_put_u64(&b, F_TTL, ttl);
	}
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	struct ctl_str tok, id;
	char when[CTL_TIME_BUFLEN] = "-";
	uint64_t exp = 0;
	if (!ctl_get_str(&rep.top, F_TOKEN, &tok)) {
		const struct svca_field *f = NULL;
		for (size_t i = 0; i < rep.top.n; i++)
			if (rep.top.fields[i].tag == F_TOKEN)
				f = &rep.top.fields[i];
		tok.p = f ? (const char *)f->val : NULL;
		tok.n = f ? f->len : 0;
	}
	if (!tok.p) {
		ctl_reply_free(&rep);
		ctl_err("the daemon's reply has no token");
		return CTL_EXIT_FAILED;
	}
	ctl_get_u64(&rep.top, F_EXPIRES_AT, &exp);
	ctl_fmt_time(exp, 0, when, sizeof(when));
	if (c->json) {
		int oom = 0;
		json_t *o = json_object();
		ctl_json_set(o, "token", ctl_json_str(tok), &oom);
		ctl_json_set(o, "token_id", ctl_json_field(&rep.top, F_KEY_ID), &oom);
		ctl_json_set(o, "expires_at", ctl_json_time(&rep.top, F_EXPIRES_AT), &oom);
		ctl_json_set(o, "workspaces", workspaces_json(&rep.top, &oom), &oom);
		rc = ctl_json_print_checked(o, oom);
	} else {
		fputs("enrollment token ", stdout);
		if (ctl_get_str(&rep.top, F_KEY_ID, &id))
			ctl_put_safe(stdout, id.p, id.n);
		printf(" for workspaces %s, one use, expires %s; on the new host run\n"
		       "svcacctctl host enroll TOKEN with:\n",
		       ws, when);
		ctl_put_safe(stdout, tok.p, tok.n);
		putchar('\n');
	}
	ctl_reply_free(&rep);
	return rc;
}

int ctl_host_token(struct ctl *c, int argc, char **argv)
{
	if (argc < 1 || strcmp(argv[0], "create"))
		return ctl_usage_error(c, "host token: the verb is 'create' (host token create "
					  "--workspace WS)");
	return token_create(c, argc - 1, argv + 1);
}

int ctl_host_list(struct ctl *c, int argc, char **argv)
{
	static const char *const title[6] = { "HOST",      "WORKSPACES",   "STATUS",
					      "LAST_SEEN", "SNAPSHOT_SEQ", "LAG_S" };
	struct svca_buf b;
	struct ctl_reply rep;
	int rc;
	if ((rc = ctl_parse_args(c, argc, argv, NULL, 0, NULL, 0, 0, NULL)) != 0)
		return rc;
	ctl_request_begin(&b, SVCA_CMD_HOST_LIST);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	if (c->json)
		rc = ctl_json_print_items(&rep, host_json);
	else
		ctl_print_table(title, 6, rep.items, rep.nitems, host_cell);
	ctl_reply_free(&rep);
	return rc;
}

int ctl_host_show(struct ctl *c, int argc, char **argv)
{
	struct ctl_reply rep;
	int rc = host_request(c, argc, argv, SVCA_CMD_HOST_SHOW, &rep);
	return rc ? rc : host_out(c, &rep, NULL);
}

int ctl_host_update(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt opts[] = { { "workspace", 1, NULL } };
	const char *pos[1];
	char ws[WS_LIST_MAX];
	struct svca_buf b;
	struct ctl_reply rep;
	int rc;
	if ((rc = ctl_parse_args(c, argc, argv, opts, 1, host_pos, 1, 1, pos)) != 0 ||
	    (rc = collect_workspaces(c, argc, argv, ws, sizeof(ws))) != 0)
		return rc;
	ctl_request_begin(&b, SVCA_CMD_HOST_UPDATE);
	svca_put_str(&b, F_HOST_ID, pos[0]);
	svca_put_str(&b, F_WORKSPACES, ws);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	return host_out(c, &rep, "updated host ");
}

int ctl_host_disable(struct ctl *c, int argc, char **argv)
{
	struct ctl_reply rep;
	int rc = host_request(c, argc, argv, SVCA_CMD_HOST_DISABLE, &rep);
	return rc ? rc : host_out(c, &rep, "disabled host ");
}

int ctl_host_remove(struct ctl *c, int argc, char **argv)
{
	struct ctl_reply rep;
	int rc = host_request(c, argc, argv, SVCA_CMD_HOST_REMOVE, &rep);
	if (rc)
		return rc;
	if (c->json) {
		int oom = 0;
		json_t *o = json_object();
		ctl_json_set(o, "host_id", ctl_json_field(&rep.top, F_HOST_ID), &oom);
		ctl_json_set(o, "removed", json_true(), &oom);
		ctl_reply_free(&rep);
		return ctl_json_print_checked(o, oom);
	}
	return host_out(c, &rep, "removed host ");
}

/* ---- agent: host enroll ------------------------------------------------------------ */

int ctl_host_enroll(struct ctl *c, int argc, char **argv)
{
	static const char *const pos_names[] = { "TOKEN" };
	struct ctl_opt opts[] = { { "host-id", 1, NULL } };
	const char *pos[1];
	char tok[CTL_SECRET_MAX];
	size_t len = 0;
	struct svca_buf b;
	struct ctl_reply rep;
	int rc;
	if ((rc = ctl_parse_args(c, argc, argv, opts, 1, pos_names, 1, 1, pos)) != 0)
		return rc;
	if (strcmp(pos[0], "-")) {
		rc = ctl_copy_secret(pos[0], "enrollment token", tok, sizeof(tok), &len);
		ctl_wipe((char *)(uintptr_t)pos[0], strlen(pos[0])); /* out of /proc/PID/cmdline */
	} else {
		rc = ctl_read_secret_stdin("enrollment token", tok, sizeof(tok), &len);
	}
	if (rc)
		return rc;
	if (svca_key_parse_as(SVCA_ENROLL_PREFIX, tok, len, NULL, NULL) != SVCA_KEY_OK) {
		ctl_wipe(tok, sizeof(tok));
		return ctl_usage_error(c, "not an enrollment token (svce_..., 67 characters, as "
					  "host token create prints it on a hub)");
	}
	ctl_request_begin(&b, SVCA_CMD_HOST_ENROLL);
	svca_put_bytes(&b, F_TOKEN, tok, len);
	ctl_wipe(tok, sizeof(tok));
	if (opts[0].value)
		svca_put_str(&b, F_HOST_ID, opts[0].value);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	if (c->json) {
		int oom = 0;
		json_t *o = json_object();
		ctl_json_set(o, "host_id", ctl_json_field(&rep.top, F_HOST_ID), &oom);
		ctl_json_set(o, "workspaces", workspaces_json(&rep.top, &oom), &oom);
		ctl_json_set(o, "hub", ctl_json_field(&rep.top, F_URL), &oom);
		rc = ctl_json_print_checked(o, oom);
	} else {
		/* The host_id alone: scripts take it as it is. */
		struct ctl_str id;
		if (ctl_get_str(&rep.top, F_HOST_ID, &id))
			ctl_put_safe(stdout, id.p, id.n);
		putchar('\n');
	}
	ctl_reply_free(&rep);
	return rc;
}

/* ---- fleet status ------------------------------------------------------------------ */

static json_t *hub_json(const struct ctl_item *it, int *oom)
{
	json_t *o = json_object();
	if (!o) {
		*oom = 1;
		return NULL;
	}
	ctl_json_set(o, "url", ctl_json_field(it, F_URL), oom);
	ctl_json_set(o, "reachable", ctl_json_bool(it, F_REACHABLE), oom);
	return o;
}

static int status_json(const struct ctl_reply *rep)
{
	int oom = 0;
	json_t *o = json_object(), *hubs = json_array();
	if (!o || !hubs)
		oom = 1;
	for (size_t i = 0; hubs && i < rep->nitems; i++)
		if (json_array_append_new(hubs, hub_json(&rep->items[i], &oom)) < 0)
			oom = 1;
	ctl_json_set(o, "mode", ctl_json_field(&rep->top, F_MODE), &oom);
	ctl_json_set(o, "hubs", hubs, &oom);
	ctl_json_set(o, "snapshot_seq", ctl_json_u64(&rep->top, F_SNAPSHOT_SEQ), &oom);
	ctl_json_set(o, "age_s", ctl_json_u64(&rep->top, F_AGE_S), &oom);
	ctl_json_set(o, "stale", ctl_json_bool(&rep->top, F_STALE), &oom);
	ctl_json_set(o, "host_id", ctl_json_field(&rep->top, F_HOST_ID), &oom);
	struct ctl_str hs;
	if (ctl_get_str(&rep->top, F_HOST_STATUS, &hs))
		ctl_json_set(o, "host_status", ctl_json_str(hs), &oom);
	/* The daemon's settings object as it sent it (absent: an older daemon). */
	struct ctl_str st;
	if (ctl_get_str(&rep->top, F_SETTINGS, &st)) {
		json_t *so = json_loadb(st.p, st.n, 0, NULL);
		if (!json_is_object(so)) {
			json_decref(so);
			so = json_null();
		}
		ctl_json_set(o, "settings", so, &oom);
	}
	uint64_t v;
	if (ctl_get_u64(&rep->top, F_AUDIT_PENDING, &v)) { /* an agent forwarding its audit */
		ctl_json_set(o, "audit_pending", ctl_json_u64(&rep->top, F_AUDIT_PENDING), &oom);
		ctl_json_set(o, "audit_forwarded_at", ctl_json_u64(&rep->top, F_AUDIT_FORWARDED_AT),
			     &oom);
	}
	return ctl_json_print_checked(o, oom);
}

int ctl_fleet_status(struct ctl *c, int argc, char **argv)
{
	struct svca_buf b;
	struct ctl_reply rep;
	char buf[CTL_CELL_BUFLEN];
	uint64_t v;
	int rc;
	if ((rc = ctl_parse_args(c, argc, argv, NULL, 0, NULL, 0, 0, NULL)) != 0)
		return rc;
	ctl_request_begin(&b, SVCA_CMD_FLEET_STATUS);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	if (c->json) {
		rc = status_json(&rep);
		ctl_reply_free(&rep);
		return rc;
	}
	struct ctl_str s;
	print_kv("mode", ctl_cell_str(&rep.top, F_MODE));
	print_kv("host_id", ctl_cell_str(&rep.top, F_HOST_ID));
	if (ctl_get_str(&rep.top, F_HOST_STATUS, &s))
		print_kv("host_status", s);
	print_kv("snapshot_seq", ctl_cell_u64(&rep.top, F_SNAPSHOT_SEQ, buf));
	print_kv("age_s", ctl_cell_u64(&rep.top, F_AGE_S, buf));
	printf("stale: %s\n", ctl_get_u64(&rep.top, F_STALE, &v) && v ? "yes" : "no");
	if (ctl_get_u64(&rep.top, F_AUDIT_PENDING, &v)) {
		printf("audit_pending: %llu\n", (unsigned long long)v);
		print_kv("audit_forwarded_at", ctl_cell_u64(&rep.top, F_AUDIT_FORWARDED_AT, buf));
	}
	for (size_t i = 0; i < rep.nitems; i++) {
		fputs("hub: ", stdout);
		if (ctl_get_str(&rep.items[i], F_URL, &s))
			ctl_put_safe(stdout, s.p, s.n);
		printf(" %s\n", ctl_get_u64(&rep.items[i], F_REACHABLE, &v) && v ? "reachable"
										 : "unreachable");
	}
	ctl_reply_free(&rep);
	return 0;
}
