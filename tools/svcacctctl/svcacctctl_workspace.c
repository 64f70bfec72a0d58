/* SPDX-License-Identifier: GPL-3.0-or-later */
/* svcacctctl workspace: create, list, delete. */
#include "svcacctctl.h"

#include <inttypes.h>
#include <string.h>

static const char *const ws_pos[] = { "WS" };

/* ---- output ---------------------------------------------------------------- */

static json_t *workspace_json(const struct ctl_item *it, int *oom)
{
	json_t *o = json_object();
	if (!o) {
		*oom = 1;
		return NULL;
	}
	ctl_json_set(o, "name", ctl_json_field(it, F_WORKSPACE), oom);
	ctl_json_set(o, "team", ctl_json_field(it, F_TEAM), oom);
	ctl_json_set(o, "on_host", ctl_json_bool(it, F_ON_HOST), oom);
	ctl_json_set(o, "created_at", ctl_json_time(it, F_CREATED_AT), oom);
	ctl_json_set(o, "created_by", ctl_json_field(it, F_CREATED_BY), oom);
	return o;
}

static struct ctl_str workspace_cell(const struct ctl_item *it, size_t col, char *buf)
{
	struct ctl_str s = { NULL, 0 };
	uint64_t v;

	switch (col) {
	case 0: return ctl_cell_str(it, F_WORKSPACE);
	case 1: return ctl_cell_str(it, F_TEAM);
	case 2:
		if (ctl_get_u64(it, F_ON_HOST, &v)) {
			s.p = v ? "yes" : "no";
			s.n = strlen(s.p);
		}
		return s;
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

/* ---- commands -------------------------------------------------------------- */

int ctl_workspace_create(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt opts[] = { { "team", 1, NULL } };
	const char *pos[1];
	struct svca_buf b;
	struct ctl_reply rep;
	uint64_t on_host;
	int rc;

	if ((rc = ctl_parse_args(c, argc, argv, opts, 1, ws_pos, 1, 1, pos)) != 0)
		return rc;
	if ((rc = ctl_check_scope_name(c, "workspace", pos[0])) != 0)
		return rc;
	if (!opts[0].value)
		return ctl_usage_error(c, "missing --team: a workspace belongs to "
					  "a team");
	if ((rc = ctl_check_scope_name(c, "team", opts[0].value)) != 0)
		return rc;

	ctl_request_begin(&b, SVCA_CMD_WORKSPACE_CREATE);
	svca_put_str(&b, F_WORKSPACE, pos[0]);
	svca_put_str(&b, F_TEAM, opts[0].value);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	if (c->json) {
		int oom = 0;
		json_t *o = workspace_json(&rep.top, &oom);
		rc = ctl_json_print_checked(o, oom);
	} else {
		fputs("created workspace ", stdout);
		put_str(&rep.top, F_WORKSPACE, pos[0]);
		fputs(" in team ", stdout);
		put_str(&rep.top, F_TEAM, opts[0].value);
		if (ctl_get_u64(&rep.top, F_ON_HOST, &on_host) && on_host)
			fputs(" (a workspace of this host)", stdout);
		putchar('\n');
	}
	ctl_reply_free(&rep);
	return rc;
}

int ctl_workspace_list(struct ctl *c, int argc, char **argv)
{
	static const char *const title[4] = { "WORKSPACE", "TEAM", "ON_HOST", "CREATED" };
	struct svca_buf b;
	struct ctl_reply rep;
	int rc;

	if ((rc = ctl_parse_args(c, argc, argv, NULL, 0, NULL, 0, 0, NULL)) != 0)
		return rc;
	ctl_request_begin(&b, SVCA_CMD_WORKSPACE_LIST);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	if (c->json)
		rc = ctl_json_print_items(&rep, workspace_json);
	else
		ctl_print_table(title, 4, rep.items, rep.nitems, workspace_cell);
	ctl_reply_free(&rep);
	return rc;
}

int ctl_workspace_delete(struct ctl *c, int argc, char **argv)
{
	return ctl_scope_delete(c, argc, argv, "workspace", SVCA_CMD_WORKSPACE_DELETE, F_WORKSPACE,
				ws_pos);
}
