/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Operator queries (read-only, admin): account find (accounts by
 * workspace, team, role, status) and access list (who may log in and who
 * may sudo on this host, and which grant gives it).  Both read through the
 * model's access rules (rbac.c): a grant on a team counts for each of its
 * workspaces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "rbac.h"
#include "request.h"

struct acct_vec {
	struct account *v;
	size_t n;
};

/* Every account, by name.  0, or -1 after replying with the error. */
static int all_accounts(struct request *r, struct acct_vec *c)
{
	if (account_all_by_name(r->d->store, &c->v, &c->n) < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error listing accounts");
		return -1;
	}
	return 0;
}

/* ---- account find ------------------------------------------------------------ */

struct find_filter {
	int by_ws, by_team, by_role, by_status;
	struct workspace ws;
	char team[SVCA_SCOPE_NAME_MAX + 1];
	enum svca_role role;
	int disabled;
};

/* Reads and checks the filters.  0, or -1 after replying. */
static int read_filter(struct request *r, struct find_filter *f)
{
	char ws[SVCA_SCOPE_NAME_MAX + 2] = "", role[16] = "", status[16] = "";

	memset(f, 0, sizeof(*f));
	if (req_str(r, F_WORKSPACE, ws, sizeof(ws), 0, "workspace") < 0 ||
	    req_str(r, F_TEAM, f->team, sizeof(f->team), 0, "team") < 0 ||
	    req_str(r, F_ROLE, role, sizeof(role), 0, "role") < 0 ||
	    req_str(r, F_STATUS, status, sizeof(status), 0, "status") < 0)
		return -1;
	f->by_role = role[0] != '\0';
	if (f->by_role && role_parse(role, &f->role) < 0) {
		req_fail(r, SVCA_ERR_BADREQ, "unknown role '%s' (viewer, editor or admin)", role);
		return -1;
	}
	f->by_status = status[0] != '\0';
	if (f->by_status && strcmp(status, "active") != 0 && strcmp(status, "disabled") != 0) {
		req_fail(r, SVCA_ERR_BADREQ, "unknown status '%s' (active or disabled)", status);
		return -1;
	}
	f->disabled = strcmp(status, "disabled") == 0;
	f->by_ws = ws[0] != '\0';
	if (f->by_ws) {
		int g = workspace_get(r->d->store, ws, &f->ws);
		if (g <= 0) {
			req_fail(r, g < 0 ? SVCA_ERR_FAILED : SVCA_ERR_NOTFOUND,
				 g < 0 ? "internal storage error" : "no workspace '%s'", ws);
			return -1;
		}
	}
	f->by_team = f->team[0] != '\0';
	if (f->by_team) {
		struct team t;
		int g = team_get(r->d->store, f->team, &t);
		if (g <= 0) {
			req_fail(r, g < 0 ? SVCA_ERR_FAILED : SVCA_ERR_NOTFOUND,
				 g < 0 ? "internal storage error" : "no team '%s'", f->team);
			return -1;
		}
	}
	return 0;
}

/* The team a grant's scope belongs to ("" when unknown). */
static void grant_team(struct store *s, const struct grant *g, char *team, size_t len)
{
	struct workspace w;
	if (g->kind == SCOPE_TEAM)
		snprintf(team, len, "%s", g->scope);
	else if (workspace_get(s, g->scope, &w) == 1)
		snprintf(team, len, "%s", w.team);
	else
		team[0] = '\0';
}

/* 1 when the grant matches every grant filter. */
static int grant_matches(struct store *s, const struct find_filter *f, const struct grant *g)
{
	if (f->by_role && g->role != f->role)
		return 0;
	if (f->by_ws && !((g->kind == SCOPE_WORKSPACE && strcmp(g->scope, f->ws.name) == 0) ||
			  (g->kind == SCOPE_TEAM && strcmp(g->scope, f->ws.team) == 0)))
		return 0;
	if (f->by_team) {
		char team[SVCA_SCOPE_NAME_MAX + 1];
		grant_team(s, g, team, sizeof(team));
		if (strcmp(team, f->team) != 0)
			return 0;
	}
	return 1;
}

/* 1 when the account passes the filters, -1 storage error. */
static int account_matches(struct store *s, const struct find_filter *f, const struct account *a)
{
	if (f->by_status && a->disabled != f->disabled)
		return 0;
	if (!f->by_ws && !f->by_team && !f->by_role)
		return 1;
	struct grant *gs;
	size_t ng;
	if (grant_of_account(s, a->uid, &gs, &ng) < 0)
		return -1;
	int hit = 0;
	for (size_t i = 0; i < ng && !hit; i++)
		hit = grant_matches(s, f, &gs[i]);
	free(gs);
	return hit;
}

void cmd_account_find(struct request *r)
{
	struct find_filter f;
	struct acct_vec c;

	if (read_filter(r, &f) < 0 || all_accounts(r, &c) < 0)
		return;
	size_t m = 0;
	for (size_t i = 0; i < c.n; i++) {
		int hit = account_matches(r->d->store, &f, &c.v[i]);
		if (hit < 0) {
			free(c.v);
			req_fail(r, SVCA_ERR_FAILED, "internal storage error");
			return;
		}
		if (hit)
			c.v[m++] = c.v[i];
	}
	req_ok(r);
	for (size_t i = 0; i < m; i++) {
		svca_put_mark(r->reply, F_ITEM);
		account_to_reply(&c.v[i], r->reply);
	}
	free(c.v);
	if (svca_frame_end(r->reply) < 0)
		req_fail(r, SVCA_ERR_FAILED, "the account list is too large to send");
}

/* ---- access list --------------------------------------------------------------- */

/* One item per (capability, grant that gives it) of the account. */
static void access_items(struct request *r, const struct account *a, const struct access *acc)
{
	for (unsigned bit = 1; bit <= CAP_SUDO; bit <<= 1) {
		if (!(acc->caps & bit))
			continue;
		for (size_t i = 0; i < acc->nsrc; i++) {
			const struct access_source *src = &acc->src[i];
			if (!(r->d->cfg.role_caps[src->role] & bit))
				continue;
			char s[256];
			snprintf(s, sizeof(s), "%s:%s:%s:%s",
				 src->kind == SCOPE_WORKSPACE ? "workspace" : "team", src->scope,
				 src->workspace, role_name(src->role));
			svca_put_mark(r->reply, F_ITEM);
			svca_put_str(r->reply, F_NAME, a->name);
			svca_put_str(r->reply, F_CAPABILITY, cap_name(bit));
			svca_put_str(r->reply, F_ROLE, role_name(src->role));
			svca_put_str(r->reply, F_SOURCE, s);
		}
	}
}

void cmd_access_list(struct request *r)
{
	struct acct_vec c;
	struct access *acc = malloc(sizeof(*acc));

	if (!acc) {
		req_fail(r, SVCA_ERR_FAILED, "out of memory");
		return;
	}
	if (all_accounts(r, &c) < 0) {
		free(acc);
		return;
	}
	req_ok(r);
	for (size_t i = 0; i < c.n; i++) {
		if (access_compute(r->d->store, &r->d->cfg, &c.v[i], acc) < 0) {
			free(acc);
			free(c.v);
			req_fail(r, SVCA_ERR_FAILED, "internal storage error");
			return;
		}
		access_items(r, &c.v[i], acc);
	}
	free(acc);
	free(c.v);
	if (svca_frame_end(r->reply) < 0)
		req_fail(r, SVCA_ERR_FAILED, "the access list is too large to send");
}
