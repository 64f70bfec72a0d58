/* SPDX-License-Identifier: GPL-3.0-or-later */
/* svcacctctl account: create, list, show, update, disable, enable, delete. */
#include "svcacctctl.h"

#include <inttypes.h>
#include <string.h>

static const char *const name_pos[] = { "NAME" };

static int check_role(const struct ctl *c, const char *role)
{
	if (strcmp(role, "member") == 0 || strcmp(role, "admin") == 0 ||
	    strcmp(role, "super-admin") == 0)
		return 0;
	return ctl_usage_error(c,
			       "--role: '%s' is not a role: use member, admin "
			       "or super-admin",
			       role);
}

/* ---- output ---------------------------------------------------------------- */

static json_t *account_json(const struct ctl_item *it, int *oom)
{
	json_t *o = json_object();
	if (!o) {
		*oom = 1;
		return NULL;
	}
	ctl_json_set(o, "name", ctl_json_field(it, F_NAME), oom);
	ctl_json_set(o, "uid", ctl_json_u64(it, F_UID), oom);
	ctl_json_set(o, "description", ctl_json_field(it, F_DESCRIPTION), oom);
	ctl_json_set(o, "org_role", ctl_json_field(it, F_ORG_ROLE), oom);
	ctl_json_set(o, "status", ctl_json_field(it, F_STATUS), oom);
	ctl_json_set(o, "created_at", ctl_json_time(it, F_CREATED_AT), oom);
	ctl_json_set(o, "created_by", ctl_json_field(it, F_CREATED_BY), oom);
	ctl_json_set(o, "updated_at", ctl_json_time(it, F_UPDATED_AT), oom);
	ctl_json_set(o, "updated_by", ctl_json_field(it, F_UPDATED_BY), oom);
	ctl_json_set(o, "last_activity", ctl_json_time(it, F_LAST_ACTIVITY), oom);
	ctl_json_set(o, "break_glass", ctl_json_bool(it, F_BREAK_GLASS), oom);
	return o;
}

static int print_account_json(const struct ctl_item *it)
{
	int oom = 0;
	json_t *o = account_json(it, &oom);
	if (oom) {
		json_decref(o);
		o = NULL;
	}
	return ctl_json_print(o);
}

static void put_str(const struct ctl_item *it, uint16_t tag, const char *dflt)
{
	struct ctl_str s;
	if (ctl_get_str(it, tag, &s))
		ctl_put_safe(stdout, s.p, s.n);
	else
		fputs(dflt, stdout);
}

static void show_str(const char *key, const struct ctl_item *it, uint16_t tag)
{
	printf("%s: ", key);
	put_str(it, tag, "");
	putchar('\n');
}

static void show_time(const char *key, const struct ctl_item *it, uint16_t tag, const char *zero)
{
	char buf[CTL_TIME_BUFLEN];
	uint64_t v;

	printf("%s: ", key);
	if (ctl_get_u64(it, tag, &v)) {
		if (v == 0)
			fputs(zero, stdout);
		else if (ctl_fmt_time(v, 0, buf, sizeof(buf)) == 0)
			fputs(buf, stdout);
		else
			printf("@%" PRIu64, v / 1000);
	}
	putchar('\n');
}

static void show_account(const struct ctl_item *it)
{
	uint64_t uid;

	show_str("name", it, F_NAME);
	if (ctl_get_u64(it, F_UID, &uid))
		printf("uid: %" PRIu64 "\n", uid);
	else
		puts("uid: ");
	show_str("description", it, F_DESCRIPTION);
	show_str("org_role", it, F_ORG_ROLE);
	show_str("status", it, F_STATUS);
	show_time("created_at", it, F_CREATED_AT, "");
	show_str("created_by", it, F_CREATED_BY);
	show_time("updated_at", it, F_UPDATED_AT, "");
	show_str("updated_by", it, F_UPDATED_BY);
	show_time("last_activity", it, F_LAST_ACTIVITY, "never");
	uint64_t bg;
	if (ctl_get_u64(it, F_BREAK_GLASS, &bg))
		printf("break_glass: %s\n", bg ? "on" : "off");
}

/* "NAME[ (uid N)]\n", NAME from the reply, else the request's. */
static void confirm_tail(const struct ctl_item *it, const char *fallback, int with_uid)
{
	uint64_t uid;

	put_str(it, F_NAME, fallback);
	if (with_uid && ctl_get_u64(it, F_UID, &uid))
		printf(" (uid %" PRIu64 ")", uid);
	putchar('\n');
}

/* "DONE account NAME[ (uid N)]" */
static void confirm(const char *done, const struct ctl_item *it, const char *fallback, int with_uid)
{
	printf("%s account ", done);
	confirm_tail(it, fallback, with_uid);
}

/* ---- commands -------------------------------------------------------------- */

int ctl_account_create(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt opts[] = { { "description", 1, NULL }, { "role", 1, NULL } };
	const char *pos[1];
	struct svca_buf b;
	struct ctl_reply rep;
	int rc;

	rc = ctl_parse_args(c, argc, argv, opts, 2, name_pos, 1, 1, pos);
	if (rc)
		return rc;
	if ((rc = ctl_check_account_name(c, pos[0])) != 0)
		return rc;
	if (opts[1].value && (rc = check_role(c, opts[1].value)) != 0)
		return rc;

	ctl_request_begin(&b, SVCA_CMD_ACCOUNT_CREATE);
	svca_put_str(&b, F_NAME, pos[0]);
	if (opts[0].value)
		svca_put_str(&b, F_DESCRIPTION, opts[0].value);
	if (opts[1].value)
		svca_put_str(&b, F_ORG_ROLE, opts[1].value);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	if (c->json)
		rc = print_account_json(&rep.top);
	else
		confirm("created", &rep.top, pos[0], 1);
	ctl_reply_free(&rep);
	return rc;
}

/* account list [--workspace WS] [--team TEAM] [--role ROLE] [--status S]:
 * ACCOUNT_LIST without a filter (as before), else ACCOUNT_FIND.  Starts
 * the request in b; 0, or a usage error (b then untouched). */
static int list_filter_request(const struct ctl *c, const struct ctl_opt *o, struct svca_buf *b)
{
	static const char *const roles[] = { "viewer", "editor", "admin" };
	int rc, ok = 0;

	if (o[0].value && (rc = ctl_check_scope_name(c, "workspace", o[0].value)) != 0)
		return rc;
	if (o[1].value && (rc = ctl_check_scope_name(c, "team", o[1].value)) != 0)
		return rc;
	for (size_t i = 0; o[2].value && i < 3; i++)
		ok |= strcmp(o[2].value, roles[i]) == 0;
	if (o[2].value && !ok)
		return ctl_usage_error(c, "--role: viewer, editor or admin");
	if (o[3].value && strcmp(o[3].value, "active") != 0 && strcmp(o[3].value, "disabled") != 0)
		return ctl_usage_error(c, "--status: active or disabled");
	if (!o[0].value && !o[1].value && !o[2].value && !o[3].value) {
		ctl_request_begin(b, SVCA_CMD_ACCOUNT_LIST);
		return 0;
	}
	ctl_request_begin(b, SVCA_CMD_ACCOUNT_FIND);
	static const uint16_t tags[4] = { F_WORKSPACE, F_TEAM, F_ROLE, F_STATUS };
	for (size_t i = 0; i < 4; i++)
		if (o[i].value)
			svca_put_str(b, tags[i], o[i].value);
	return 0;
}

int ctl_account_list(struct ctl *c, int argc, char **argv)
{
	static const char *const title[5] = { "NAME", "UID", "ROLE", "STATUS", "DESCRIPTION" };
	static const uint16_t tags[5] = { F_NAME, F_UID, F_ORG_ROLE, F_STATUS, F_DESCRIPTION };
	struct svca_buf b;
	struct ctl_reply rep;
	size_t width[5];
	int rc;

	struct ctl_opt opts[] = { { "workspace", 1, NULL },
				  { "team", 1, NULL },
				  { "role", 1, NULL },
				  { "status", 1, NULL } };

	if ((rc = ctl_parse_args(c, argc, argv, opts, 4, NULL, 0, 0, NULL)) != 0)
		return rc;
	if ((rc = list_filter_request(c, opts, &b)) != 0)
		return rc;
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;

	if (c->json) {
		int oom = 0;
		json_t *arr = json_array();
		if (!arr)
			oom = 1;
		for (size_t i = 0; i < rep.nitems && !oom; i++) {
			json_t *o = account_json(&rep.items[i], &oom);
			if (!o || json_array_append_new(arr, o) < 0)
				oom = 1;
		}
		if (oom) {
			json_decref(arr);
			arr = NULL;
		}
		rc = ctl_json_print(arr);
		ctl_reply_free(&rep);
		return rc;
	}

	/* Two passes over the items: column widths, then the rows.  A missing
	 * field shows as "-" so that the columns stay countable. */
	for (int k = 0; k < 5; k++)
		width[k] = strlen(title[k]);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			for (int k = 0; k < 5; k++)
				printf("%-*s%s", k < 4 ? (int)width[k] : 0, title[k],
				       k < 4 ? "  " : "\n");
		}
		for (size_t i = 0; i < rep.nitems; i++) {
			const struct ctl_item *it = &rep.items[i];
			for (int k = 0; k < 5; k++) {
				char num[24];
				struct ctl_str s = { NULL, 0 };
				uint64_t v;
				if (tags[k] == F_UID) {
					if (ctl_get_u64(it, F_UID, &v)) {
						snprintf(num, sizeof(num), "%" PRIu64, v);
						s.p = num;
						s.n = strlen(num);
					}
				} else {
					ctl_get_str(it, tags[k], &s);
				}
				if (!s.p && k < 4) {
					s.p = "-";
					s.n = 1;
				}
				size_t w = s.p ? ctl_width(s.p, s.n) : 0;
				if (pass == 0) {
					if (w > width[k])
						width[k] = w;
					continue;
				}
				if (s.p)
					ctl_put_safe(stdout, s.p, s.n);
				if (k < 4)
					printf("%*s", (int)(width[k] - w + 2), "");
			}
			if (pass == 1)
				putchar('\n');
		}
	}
	ctl_reply_free(&rep);
	return 0;
}

/* show, disable, enable and delete: NAME in, an account (or less) out. */
static int name_cmd(struct ctl *c, int argc, char **argv, enum svca_cmd cmd, const char *done)
{
	const char *pos[1];
	struct ctl_reply rep;
	int rc;

	if ((rc = ctl_name_request(c, argc, argv, cmd, &pos[0], &rep)) != 0)
		return rc;

	if (cmd == SVCA_CMD_ACCOUNT_DELETE) {
		if (c->json) {
			int oom = 0;
			json_t *o = json_object();
			struct ctl_str s;
			if (!ctl_get_str(&rep.top, F_NAME, &s)) {
				s.p = pos[0];
				s.n = strlen(pos[0]);
			}
			ctl_json_set(o, "name", ctl_json_str(s), &oom);
			ctl_json_set(o, "uid", ctl_json_u64(&rep.top, F_UID), &oom);
			ctl_json_set(o, "deleted", json_true(), &oom);
			if (oom) {
				json_decref(o);
				o = NULL;
			}
			rc = ctl_json_print(o);
		} else {
			confirm(done, &rep.top, pos[0], 1);
		}
	} else if (c->json) {
		rc = print_account_json(&rep.top);
	} else if (cmd == SVCA_CMD_ACCOUNT_SHOW) {
		show_account(&rep.top);
	} else {
		confirm(done, &rep.top, pos[0], 0);
	}
	ctl_reply_free(&rep);
	return rc;
}

int ctl_account_show(struct ctl *c, int argc, char **argv)
{
	return name_cmd(c, argc, argv, SVCA_CMD_ACCOUNT_SHOW, NULL);
}

int ctl_account_disable(struct ctl *c, int argc, char **argv)
{
	return name_cmd(c, argc, argv, SVCA_CMD_ACCOUNT_DISABLE, "disabled");
}

int ctl_account_enable(struct ctl *c, int argc, char **argv)
{
	return name_cmd(c, argc, argv, SVCA_CMD_ACCOUNT_ENABLE, "enabled");
}

int ctl_account_delete(struct ctl *c, int argc, char **argv)
{
	return name_cmd(c, argc, argv, SVCA_CMD_ACCOUNT_DELETE, "deleted");
}

int ctl_account_update(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt opts[] = { { "rename", 1, NULL },
				  { "description", 1, NULL },
				  { "role", 1, NULL },
				  { "break-glass", 1, NULL } };
	const char *pos[1];
	struct svca_buf b;
	struct ctl_reply rep;
	int rc, bg = -1;

	if ((rc = ctl_parse_args(c, argc, argv, opts, 4, name_pos, 1, 1, pos)) != 0)
		return rc;
	if ((rc = ctl_check_account_name(c, pos[0])) != 0)
		return rc;
	if (!opts[0].value && !opts[1].value && !opts[2].value && !opts[3].value)
		return ctl_usage_error(c, "nothing to update: give --rename, "
					  "--description, --role or --break-glass");
	if (opts[0].value && (rc = ctl_check_account_name(c, opts[0].value)) != 0)
		return rc;
	if (opts[2].value && (rc = check_role(c, opts[2].value)) != 0)
		return rc;
	if (opts[3].value) {
		bg = !strcmp(opts[3].value, "on") ? 1 : !strcmp(opts[3].value, "off") ? 0 : -1;
		if (bg < 0)
			return ctl_usage_error(c, "--break-glass: '%s' is not on or off",
					       opts[3].value);
	}

	ctl_request_begin(&b, SVCA_CMD_ACCOUNT_UPDATE);
	svca_put_str(&b, F_NAME, pos[0]);
	if (opts[0].value)
		svca_put_str(&b, F_NEW_NAME, opts[0].value);
	if (opts[1].value)
		svca_put_str(&b, F_DESCRIPTION, opts[1].value);
	if (opts[2].value)
		svca_put_str(&b, F_ORG_ROLE, opts[2].value);
	if (bg >= 0)
		svca_put_u64(&b, F_BREAK_GLASS, (uint64_t)bg);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	if (c->json) {
		rc = print_account_json(&rep.top);
	} else if (opts[0].value) {
		printf("renamed account %s to ", pos[0]);
		confirm_tail(&rep.top, opts[0].value, 1);
	} else {
		confirm("updated", &rep.top, pos[0], 1);
	}
	ctl_reply_free(&rep);
	return rc;
}

/* ---- access ------------------------------------------------------------------ */

enum { SRC_TYPE, SRC_SCOPE, SRC_WORKSPACE, SRC_ROLE, SRC_NPARTS };

/* Splits an F_SOURCE "TYPE:SCOPE:HOSTWS:ROLE" (names never contain ':').
 * 0, or -1 when it does not have four parts. */
static int split_source(struct ctl_str s, struct ctl_str part[SRC_NPARTS])
{
	size_t k = 0, start = 0;

	for (size_t i = 0; i <= s.n; i++) {
		if (i < s.n && s.p[i] != ':')
			continue;
		if (k == SRC_NPARTS)
			return -1;
		part[k].p = s.p + start;
		part[k].n = i - start;
		k++;
		start = i + 1;
	}
	return k == SRC_NPARTS ? 0 : -1;
}

static int str_is(struct ctl_str s, const char *lit)
{
	return s.p && s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

static json_t *source_json(struct ctl_str s, int *oom)
{
	static const char *const keys[SRC_NPARTS] = { "type", "scope", "workspace", "role" };
	struct ctl_str part[SRC_NPARTS];
	json_t *o = json_object();

	if (!o) {
		*oom = 1;
		return NULL;
	}
	if (split_source(s, part) == 0) {
		for (int k = 0; k < SRC_NPARTS; k++)
			ctl_json_set(o, keys[k], ctl_json_str(part[k]), oom);
	} else {
		/* Not in the documented form: keep the daemon's text. */
		for (int k = 0; k < SRC_NPARTS; k++)
			ctl_json_set(o, keys[k], json_null(), oom);
		ctl_json_set(o, "source", ctl_json_str(s), oom);
	}
	return o;
}

/* An array of every STR field tag of the item (or of source objects). */
static json_t *strs_json(const struct ctl_item *it, uint16_t tag, int *oom)
{
	json_t *arr = json_array();
	struct ctl_str s;

	if (!arr) {
		*oom = 1;
		return NULL;
	}
	for (size_t i = 0; ctl_get_str_nth(it, tag, i, &s); i++) {
		json_t *v = tag == F_SOURCE ? source_json(s, oom) : ctl_json_str(s);
		if (!v || json_array_append_new(arr, v) < 0) {
			*oom = 1;
			break;
		}
	}
	return arr;
}

static int print_access_json(const struct ctl_item *it)
{
	int oom = 0;
	json_t *o = json_object();

	if (!o)
		return ctl_json_print(NULL);
	ctl_json_set(o, "name", ctl_json_field(it, F_NAME), &oom);
	ctl_json_set(o, "status", ctl_json_field(it, F_STATUS), &oom);
	ctl_json_set(o, "role", ctl_json_field(it, F_ROLE), &oom);
	ctl_json_set(o, "capabilities", strs_json(it, F_CAPABILITY, &oom), &oom);
	ctl_json_set(o, "services", strs_json(it, F_SERVICE, &oom), &oom);
	ctl_json_set(o, "sources", strs_json(it, F_SOURCE, &oom), &oom);
	return ctl_json_print_checked(o, oom);
}

/* "workspace build-farm: editor", "team platform (via workspace
 * build-farm): admin"; a source in another form is printed as it came. */
static void put_source(struct ctl_str s)
{
	struct ctl_str part[SRC_NPARTS];

	if (split_source(s, part) < 0) {
		ctl_put_safe(stdout, s.p, s.n);
		return;
	}
	ctl_put_safe(stdout, part[SRC_TYPE].p, part[SRC_TYPE].n);
	putchar(' ');
	ctl_put_safe(stdout, part[SRC_SCOPE].p, part[SRC_SCOPE].n);
	if (!str_is(part[SRC_TYPE], "workspace") || part[SRC_SCOPE].n != part[SRC_WORKSPACE].n ||
	    memcmp(part[SRC_SCOPE].p, part[SRC_WORKSPACE].p, part[SRC_SCOPE].n) != 0) {
		fputs(" (via workspace ", stdout);
		ctl_put_safe(stdout, part[SRC_WORKSPACE].p, part[SRC_WORKSPACE].n);
		putchar(')');
	}
	fputs(": ", stdout);
	ctl_put_safe(stdout, part[SRC_ROLE].p, part[SRC_ROLE].n);
}

/* "key:          v1, v2" or, for sources, one per line under each other;
 * "none" when the item has no such field. */
static void show_list(const char *key, const struct ctl_item *it, uint16_t tag)
{
	struct ctl_str s;
	size_t i;

	printf("%-14s", key);
	for (i = 0; ctl_get_str_nth(it, tag, i, &s); i++) {
		if (tag == F_SOURCE) {
			if (i)
				printf("\n%14s", "");
			put_source(s);
		} else {
			if (i)
				fputs(", ", stdout);
			ctl_put_safe(stdout, s.p, s.n);
		}
	}
	if (i == 0)
		fputs("none", stdout);
	putchar('\n');
}

static void show_access(const struct ctl_item *it, const char *fallback)
{
	struct ctl_str s;

	printf("%-14s", "account:");
	put_str(it, F_NAME, fallback);
	if (ctl_get_str(it, F_STATUS, &s)) {
		fputs(" (", stdout);
		ctl_put_safe(stdout, s.p, s.n);
		putchar(')');
	}
	putchar('\n');
	printf("%-14s", "role:");
	put_str(it, F_ROLE, "none");
	putchar('\n');
	show_list("capabilities:", it, F_CAPABILITY);
	show_list("services:", it, F_SERVICE);
	show_list("sources:", it, F_SOURCE);
}

int ctl_account_access(struct ctl *c, int argc, char **argv)
{
	const char *name;
	struct ctl_reply rep;
	int rc;

	if ((rc = ctl_name_request(c, argc, argv, SVCA_CMD_ACCOUNT_ACCESS, &name, &rep)) != 0)
		return rc;
	if (c->json)
		rc = print_access_json(&rep.top);
	else
		show_access(&rep.top, name);
	ctl_reply_free(&rep);
	return rc;
}

/* ---- access list ----------------------------------------------------------------- */

/* The grant of an access item as text: "workspace W", "team T (via
 * workspace W)"; another form as it came. */
static struct ctl_str grant_text(struct ctl_str src, char *buf)
{
	struct ctl_str part[SRC_NPARTS], out = { buf, 0 };
	if (split_source(src, part) < 0)
		return src;
	int same = str_is(part[SRC_TYPE], "workspace") &&
		   part[SRC_SCOPE].n == part[SRC_WORKSPACE].n &&
		   memcmp(part[SRC_SCOPE].p, part[SRC_WORKSPACE].p, part[SRC_SCOPE].n) == 0;
	int n = same ? snprintf(buf, CTL_CELL_BUFLEN, "%.*s %.*s", (int)part[SRC_TYPE].n,
				part[SRC_TYPE].p, (int)part[SRC_SCOPE].n, part[SRC_SCOPE].p)
		     : snprintf(buf, CTL_CELL_BUFLEN, "%.*s %.*s (via workspace %.*s)",
				(int)part[SRC_TYPE].n, part[SRC_TYPE].p, (int)part[SRC_SCOPE].n,
				part[SRC_SCOPE].p, (int)part[SRC_WORKSPACE].n,
				part[SRC_WORKSPACE].p);
	out.n = n < 0 ? 0 : (size_t)n >= CTL_CELL_BUFLEN ? CTL_CELL_BUFLEN - 1 : (size_t)n;
	return out;
}

static struct ctl_str access_cell(const struct ctl_item *it, size_t col, char *buf)
{
	static const uint16_t tags[3] = { F_NAME, F_CAPABILITY, F_ROLE };
	if (col < 3)
		return ctl_cell_str(it, tags[col]);
	return grant_text(ctl_cell_str(it, F_SOURCE), buf);
}

static json_t *access_item_json(const struct ctl_item *it, int *oom)
{
	struct ctl_str src;
	json_t *o = json_object();
	if (!o) {
		*oom = 1;
		return NULL;
	}
	ctl_json_set(o, "account", ctl_json_field(it, F_NAME), oom);
	ctl_json_set(o, "capability", ctl_json_field(it, F_CAPABILITY), oom);
	ctl_json_set(o, "role", ctl_json_field(it, F_ROLE), oom);
	ctl_get_str(it, F_SOURCE, &src);
	ctl_json_set(o, "grant", src.p ? source_json(src, oom) : json_null(), oom);
	return o;
}

int ctl_access_list(struct ctl *c, int argc, char **argv)
{
	static const char *const title[4] = { "ACCOUNT", "CAPABILITY", "ROLE", "GRANT" };
	struct svca_buf b;
	struct ctl_reply rep;
	int rc;

	if ((rc = ctl_parse_args(c, argc, argv, NULL, 0, NULL, 0, 0, NULL)) != 0)
		return rc;
	ctl_request_begin(&b, SVCA_CMD_ACCESS_LIST);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	if (c->json)
		rc = ctl_json_print_items(&rep, access_item_json);
	else
		ctl_print_table(title, 4, rep.items, rep.nitems, access_cell);
	ctl_reply_free(&rep);
	return rc;
}
