/* SPDX-License-Identifier: GPL-3.0-or-later */
/* svcacctctl team: create, list, delete. */
#include "svcacctctl.h"

#include <inttypes.h>
#include <string.h>

static const char *const team_pos[] = { "TEAM" };

/* ---- output ---------------------------------------------------------------- */

/* A team object; workspaces is F_TOTAL, or dflt_ws when the reply has none
 * (a team that was just created has no workspaces). */
static json_t *team_json_n(const struct ctl_item *it, int *oom, int64_t dflt_ws)
{
	json_t *o = json_object();
	if (!o) {
		*oom = 1;
		return NULL;
	}
	uint64_t n;
	json_t *ws;
	if (ctl_get_u64(it, F_TOTAL, &n))
		ws = ctl_json_u64(it, F_TOTAL);
	else if (dflt_ws >= 0)
		ws = json_integer(dflt_ws);
	else
		ws = json_null();
	ctl_json_set(o, "name", ctl_json_field(it, F_TEAM), oom);
	ctl_json_set(o, "workspaces", ws, oom);
	ctl_json_set(o, "created_at", ctl_json_time(it, F_CREATED_AT), oom);
	ctl_json_set(o, "created_by", ctl_json_field(it, F_CREATED_BY), oom);
	return o;
}

static json_t *team_json(const struct ctl_item *it, int *oom)
{
	return team_json_n(it, oom, -1);
}

static struct ctl_str team_cell(const struct ctl_item *it, size_t col, char *buf)
{
	switch (col) {
	case 0: return ctl_cell_str(it, F_TEAM);
	case 1: return ctl_cell_u64(it, F_TOTAL, buf);
	case 2: return ctl_cell_time(it, F_CREATED_AT, buf);
	default: return ctl_cell_str(it, F_CREATED_BY);
	}
}

/* The team's name from the reply, else the request's. */
static void put_team(const struct ctl_item *it, const char *fallback)
{
	struct ctl_str s;
	if (ctl_get_str(it, F_TEAM, &s))
		ctl_put_safe(stdout, s.p, s.n);
	else
		fputs(fallback, stdout);
}

/* ---- commands -------------------------------------------------------------- */

int ctl_team_create(struct ctl *c, int argc, char **argv)
{
	const char *pos[1];
	struct svca_buf b;
	struct ctl_reply rep;
	int rc;

	if ((rc = ctl_parse_args(c, argc, argv, NULL, 0, team_pos, 1, 1, pos)) != 0)
		return rc;
	if ((rc = ctl_check_scope_name(c, "team", pos[0])) != 0)
		return rc;

	ctl_request_begin(&b, SVCA_CMD_TEAM_CREATE);
	svca_put_str(&b, F_TEAM, pos[0]);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	if (c->json) {
		int oom = 0;
		json_t *o = team_json_n(&rep.top, &oom, 0);
		rc = ctl_json_print_checked(o, oom);
	} else {
		fputs("created team ", stdout);
		put_team(&rep.top, pos[0]);
		putchar('\n');
	}
	ctl_reply_free(&rep);
	return rc;
}

int ctl_team_list(struct ctl *c, int argc, char **argv)
{
	static const char *const title[4] = { "TEAM", "WORKSPACES", "CREATED", "CREATED_BY" };
	struct svca_buf b;
	struct ctl_reply rep;
	int rc;

	if ((rc = ctl_parse_args(c, argc, argv, NULL, 0, NULL, 0, 0, NULL)) != 0)
		return rc;
	ctl_request_begin(&b, SVCA_CMD_TEAM_LIST);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	if (c->json)
		rc = ctl_json_print_items(&rep, team_json);
	else
		ctl_print_table(title, 4, rep.items, rep.nitems, team_cell);
	ctl_reply_free(&rep);
	return rc;
}

int ctl_team_delete(struct ctl *c, int argc, char **argv)
{
	return ctl_scope_delete(c, argc, argv, "team", SVCA_CMD_TEAM_DELETE, F_TEAM, team_pos);
}
