/* SPDX-License-Identifier: GPL-3.0-or-later */
/* svcacctctl grant: add, remove, list. */
#include "svcacctctl.h"

#include <string.h>

static const char *const name_pos[] = { "NAME" };

static int check_role(const struct ctl *c, const char *role)
{
	if (strcmp(role, "viewer") == 0 || strcmp(role, "editor") == 0 ||
	    strcmp(role, "admin") == 0)
		return 0;
	return ctl_usage_error(c,
			       "--role: '%s' is not a role: use viewer, editor "
			       "or admin",
			       role);
}

/*
 * The scope options of add and remove: exactly one of --workspace WS and
 * --team TEAM, with a valid name.  *tag gets F_WORKSPACE or F_TEAM, *scope
 * the name.
 */
static int check_scope(const struct ctl *c, const struct ctl_opt *ws, const struct ctl_opt *team,
		       uint16_t *tag, const char **scope)
{
	if (!ws->value == !team->value)
		return ctl_usage_error(c, "give exactly one of --workspace WS or "
					  "--team TEAM");
	*tag = ws->value ? F_WORKSPACE : F_TEAM;
	*scope = ws->value ? ws->value : team->value;
	return ctl_check_scope_name(c, ws->value ? "workspace" : "team", *scope);
}

/* ---- output ---------------------------------------------------------------- */

/* The grant's scope: "workspace" or "team" and its name; type NULL when
 * the item names neither. */
static void grant_scope(const struct ctl_item *it, const char **type, struct ctl_str *scope)
{
	*type = NULL;
	if (ctl_get_str(it, F_WORKSPACE, scope))
		*type = "workspace";
	else if (ctl_get_str(it, F_TEAM, scope))
		*type = "team";
}

static json_t *grant_json(const struct ctl_item *it, int *oom)
{
	json_t *o = json_object();
	const char *type;
	struct ctl_str scope;

	if (!o) {
		*oom = 1;
		return NULL;
	}
	grant_scope(it, &type, &scope);
	ctl_json_set(o, "account", ctl_json_field(it, F_NAME), oom);
	ctl_json_set(o, "scope_type", type ? json_string(type) : json_null(), oom);
	ctl_json_set(o, "scope", ctl_json_str(scope), oom);
	ctl_json_set(o, "role", ctl_json_field(it, F_ROLE), oom);
	ctl_json_set(o, "created_at", ctl_json_time(it, F_CREATED_AT), oom);
	ctl_json_set(o, "created_by", ctl_json_field(it, F_CREATED_BY), oom);
	return o;
}

static struct ctl_str grant_cell(const struct ctl_item *it, size_t col, char *buf)
{
	const char *type;
	struct ctl_str scope;

	switch (col) {
	case 0:
		grant_scope(it, &type, &scope);
		scope.p = type;
		scope.n = type ? strlen(type) : 0;
		return scope;
	case 1: grant_scope(it, &type, &scope); return scope;
	case 2: return ctl_cell_str(it, F_ROLE);
	default: return ctl_cell_time(it, F_CREATED_AT, buf);
	}
}

/* A STR field of the reply, else the request's value. */
static void put_str(const struct ctl_item *it, uint16_t tag, const char *fallback)
{
	struct ctl_str s;
	if (ctl_get_str(it, tag, &s))
		ctl_put_safe(stdout, s.p, s.n);
	else
		fputs(fallback, stdout);
}

/* "ROLE on workspace WS" / "ROLE on team TEAM", from the reply, else from
 * the request. */
static void put_grant(const struct ctl_item *it, const char *role, uint16_t tag, const char *scope)
{
	const char *type;
	struct ctl_str s;

	put_str(it, F_ROLE, role);
	grant_scope(it, &type, &s);
	if (type) {
		printf(" on %s ", type);
		ctl_put_safe(stdout, s.p, s.n);
	} else {
		printf(" on %s %s", tag == F_WORKSPACE ? "workspace" : "team", scope);
	}
}

/* ---- commands -------------------------------------------------------------- */

/* add and remove: NAME, the scope and (add) the role in, a grant out. */
static int change_grant(struct ctl *c, int argc, char **argv, int add)
{
	struct ctl_opt opts[] = { { "workspace", 1, NULL },
				  { "team", 1, NULL },
				  { "role", 1, NULL } };
	const char *pos[1], *scope = NULL;
	struct svca_buf b;
	struct ctl_reply rep;
	uint16_t tag = F_WORKSPACE;
	int rc;

	rc = ctl_parse_args(c, argc, argv, opts, add ? 3 : 2, name_pos, 1, 1, pos);
	if (rc)
		return rc;
	if ((rc = ctl_check_account_name(c, pos[0])) != 0)
		return rc;
	if ((rc = check_scope(c, &opts[0], &opts[1], &tag, &scope)) != 0)
		return rc;
	if (add && !opts[2].value)
		return ctl_usage_error(c, "missing --role: use viewer, editor or "
					  "admin");
	if (add && (rc = check_role(c, opts[2].value)) != 0)
		return rc;

	ctl_request_begin(&b, add ? SVCA_CMD_GRANT_ADD : SVCA_CMD_GRANT_REMOVE);
	svca_put_str(&b, F_NAME, pos[0]);
	svca_put_str(&b, tag, scope);
	if (add)
		svca_put_str(&b, F_ROLE, opts[2].value);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	if (c->json) {
		int oom = 0;
		json_t *o = grant_json(&rep.top, &oom);
		if (o && !add)
			ctl_json_set(o, "removed", json_true(), &oom);
		rc = ctl_json_print_checked(o, oom);
	} else if (add) {
		fputs("granted ", stdout);
		put_grant(&rep.top, opts[2].value, tag, scope);
		fputs(" to ", stdout);
		put_str(&rep.top, F_NAME, pos[0]);
		putchar('\n');
	} else {
		fputs("removed ", stdout);
		put_grant(&rep.top, "grant", tag, scope);
		fputs(" from ", stdout);
		put_str(&rep.top, F_NAME, pos[0]);
		putchar('\n');
	}
	ctl_reply_free(&rep);
	return rc;
}

int ctl_grant_add(struct ctl *c, int argc, char **argv)
{
	return change_grant(c, argc, argv, 1);
}

int ctl_grant_remove(struct ctl *c, int argc, char **argv)
{
	return change_grant(c, argc, argv, 0);
}

int ctl_grant_list(struct ctl *c, int argc, char **argv)
{
	static const char *const title[4] = { "SCOPE", "NAME", "ROLE", "CREATED" };
	struct ctl_reply rep;
	int rc;

	if ((rc = ctl_name_request(c, argc, argv, SVCA_CMD_GRANT_LIST, NULL, &rep)) != 0)
		return rc;
	if (c->json)
		rc = ctl_json_print_items(&rep, grant_json);
	else
		ctl_print_table(title, 4, rep.items, rep.nitems, grant_cell);
	ctl_reply_free(&rep);
	return rc;
}
