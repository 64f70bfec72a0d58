/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Teams, workspaces, grants and effective access. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "request.h"
#include "rbac.h"

static const char scope_rule[] = "use lowercase letters, digits, '.', '_' and '-', starting with a "
				 "letter or digit, at most 64 characters";

static int read_scope(struct request *r, uint16_t tag, char *dst, int required, const char *what)
{
	int g = req_str(r, tag, dst, SVCA_SCOPE_NAME_MAX + 2, required, what);
	if (g <= 0)
		return g;
	if (!svca_scope_name_valid(dst)) {
		req_fail(r, SVCA_ERR_BADREQ, "invalid %s name '%.64s': %s", what, dst, scope_rule);
		return -1;
	}
	return 1;
}

static int force_given(const struct request *r)
{
	uint64_t v = 0;
	const struct svca_field *f = req_field(r, F_FORCE);
	return f && svca_field_u64(f, &v) == 0 && v == 1;
}

/* Removes every grant on a scope (all accounts). */
static int remove_scope_grants(struct request *r, enum scope_kind kind, const char *scope,
			       const char *why, size_t *count)
{
	struct grant *gs;
	size_t n;
	if (grant_all(r->d->store, &gs, &n) < 0)
		return -1;
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++)
		if (gs[i].kind == kind && strcmp(gs[i].scope, scope) == 0) {
			ret = req_remove_grant(r, &gs[i], why);
			(*count)++;
		}
	free(gs);
	return ret;
}

static size_t count_scope_grants(struct request *r, enum scope_kind kind, const char *scope,
				 int *err)
{
	struct grant *gs;
	size_t n, c = 0;
	if (grant_all(r->d->store, &gs, &n) < 0) {
		*err = 1;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (gs[i].kind == kind && strcmp(gs[i].scope, scope) == 0)
			c++;
	free(gs);
	return c;
}

/* ---- teams ---------------------------------------------------------------- */

static void team_reply(struct request *r, const struct team *t)
{
	svca_put_str(r->reply, F_TEAM, t->name);
	svca_put_u64(r->reply, F_CREATED_AT, t->created_at);
	svca_put_str(r->reply, F_CREATED_BY, t->created_by);
}

void cmd_team_create(struct request *r)
{
	struct team t;
	memset(&t, 0, sizeof(t));
	if (read_scope(r, F_TEAM, t.name, 1, "team") < 0)
		return;
	int g = team_get(r->d->store, t.name, &(struct team){ 0 });
	if (g < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	if (g == 1) {
		req_fail(r, SVCA_ERR_FAILED, "team '%s' already exists", t.name);
		return;
	}
	req_txn_begin(r);
	req_stamp(r, &t.created_at, t.created_by, sizeof(t.created_by));
	if (team_put(r->d->store, &t) < 0) {
		req_storage_error(r);
		return;
	}
	struct audit_event ev;
	req_event(&ev, r, "team.create", "success");
	ev.team = t.name;
	if (req_finish(r, &ev) < 0)
		return;
	req_ok(r);
	team_reply(r, &t);
	svca_frame_end(r->reply);
}

void cmd_team_list(struct request *r)
{
	struct team *ts;
	struct workspace *ws;
	size_t nt, nw;
	if (team_all(r->d->store, &ts, &nt) < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	if (workspace_all(r->d->store, &ws, &nw) < 0) {
		free(ts);
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	req_ok(r);
	for (size_t i = 0; i < nt; i++) {
		uint64_t c = 0;
		for (size_t j = 0; j < nw; j++)
			c += strcmp(ws[j].team, ts[i].name) == 0;
		svca_put_mark(r->reply, F_ITEM);
		team_reply(r, &ts[i]);
		svca_put_u64(r->reply, F_TOTAL, c);
	}
	free(ts);
	free(ws);
	svca_frame_end(r->reply);
}

static int delete_workspace(struct request *r, const char *name, const char *team, size_t *grants)
{
	if (remove_scope_grants(r, SCOPE_WORKSPACE, name, "workspace deleted", grants) < 0 ||
	    workspace_del(r->d->store, name) < 0)
		return -1;
	struct audit_event ev;
	req_event(&ev, r, "workspace.delete", "success");
	ev.workspace = name;
	ev.team = team;
	return audit_append(r->d->audit, &ev);
}

void cmd_team_delete(struct request *r)
{
	char name[SVCA_SCOPE_NAME_MAX + 2];
	struct team t;
	struct workspace *ws;
	size_t nw, nmine = 0;
	int err = 0;

	if (read_scope(r, F_TEAM, name, 1, "team") < 0)
		return;
	int g = team_get(r->d->store, name, &t);
	if (g < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	if (g == 0) {
		req_fail(r, SVCA_ERR_NOTFOUND, "team '%s' does not exist", name);
		return;
	}
	if (workspace_all(r->d->store, &ws, &nw) < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	for (size_t i = 0; i < nw; i++)
		nmine += strcmp(ws[i].team, name) == 0;
	size_t ngrants = count_scope_grants(r, SCOPE_TEAM, name, &err);
	if (err) {
		free(ws);
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	if ((nmine || ngrants) && !force_given(r)) {
		free(ws);
		req_fail(r, SVCA_ERR_FAILED,
			 "team '%s' still has %zu workspace(s) and %zu grant(s); "
			 "delete them first or use --force",
			 name, nmine, ngrants);
		return;
	}
	req_txn_begin(r);
	size_t removed = 0;
	int bad = 0;
	for (size_t i = 0; i < nw && !bad; i++)
		if (strcmp(ws[i].team, name) == 0)
			bad = delete_workspace(r, ws[i].name, name, &removed) < 0;
	free(ws);
	if (bad || remove_scope_grants(r, SCOPE_TEAM, name, "team deleted", &removed) < 0 ||
	    team_del(r->d->store, name) < 0) {
		req_storage_error(r);
		return;
	}
	struct audit_event ev;
	req_event(&ev, r, "team.delete", "success");
	ev.team = name;
	if (req_finish(r, &ev) < 0)
		return;
	req_ok(r);
	svca_put_str(r->reply, F_TEAM, name);
	svca_put_u64(r->reply, F_TOTAL, removed);
	svca_frame_end(r->reply);
}

/* ---- workspaces ------------------------------------------------------------- */

static int on_host(const struct request *r, const char *ws)
{
	for (size_t i = 0; i < r->d->cfg.host_workspaces.n; i++)
		if (strcmp(r->d->cfg.host_workspaces.v[i], ws) == 0)
			return 1;
	return 0;
}

static void ws_reply(struct request *r, const struct workspace *w)
{
	svca_put_str(r->reply, F_WORKSPACE, w->name);
	svca_put_str(r->reply, F_TEAM, w->team);
	svca_put_u64(r->reply, F_CREATED_AT, w->created_at);
	svca_put_str(r->reply, F_CREATED_BY, w->created_by);
	svca_put_u64(r->reply, F_ON_HOST, (uint64_t)on_host(r, w->name));
}

void cmd_workspace_create(struct request *r)
{
	struct workspace w;
	struct team t;
	memset(&w, 0, sizeof(w));
	if (read_scope(r, F_WORKSPACE, w.name, 1, "workspace") < 0 ||
	    read_scope(r, F_TEAM, w.team, 1, "team") < 0)
		return;
	int g = team_get(r->d->store, w.team, &t);
	if (g < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	if (g == 0) {
		req_fail(r, SVCA_ERR_NOTFOUND,
			 "team '%s' does not exist; create it first with: team create %s", w.team,
			 w.team);
		return;
	}
	g = workspace_get(r->d->store, w.name, &(struct workspace){ 0 });
	if (g != 0) {
		if (g < 0)
			req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		else
			req_fail(r, SVCA_ERR_FAILED, "workspace '%s' already exists", w.name);
		return;
	}
	req_txn_begin(r);
	req_stamp(r, &w.created_at, w.created_by, sizeof(w.created_by));
	if (workspace_put(r->d->store, &w) < 0) {
		req_storage_error(r);
		return;
	}
	struct audit_event ev;
	req_event(&ev, r, "workspace.create", "success");
	ev.workspace = w.name;
	ev.team = w.team;
	if (req_finish(r, &ev) < 0)
		return;
	req_ok(r);
	ws_reply(r, &w);
	svca_frame_end(r->reply);
}

void cmd_workspace_list(struct request *r)
{
	struct workspace *ws;
	size_t n;
	if (workspace_all(r->d->store, &ws, &n) < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	req_ok(r);
	for (size_t i = 0; i < n; i++) {
		svca_put_mark(r->reply, F_ITEM);
		ws_reply(r, &ws[i]);
	}
	free(ws);
	svca_frame_end(r->reply);
}

void cmd_workspace_delete(struct request *r)
{
	char name[SVCA_SCOPE_NAME_MAX + 2];
	struct workspace w;
	int err = 0;
	if (read_scope(r, F_WORKSPACE, name, 1, "workspace") < 0)
		return;
	int g = workspace_get(r->d->store, name, &w);
	if (g < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	if (g == 0) {
		req_fail(r, SVCA_ERR_NOTFOUND, "workspace '%s' does not exist", name);
		return;
	}
	size_t ngrants = count_scope_grants(r, SCOPE_WORKSPACE, name, &err);
	if (err) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	if (ngrants && !force_given(r)) {
		req_fail(r, SVCA_ERR_FAILED,
			 "workspace '%s' still has %zu grant(s); remove them first or use --force",
			 name, ngrants);
		return;
	}
	req_txn_begin(r);
	size_t removed = 0;
	if (remove_scope_grants(r, SCOPE_WORKSPACE, name, "workspace deleted", &removed) < 0 ||
	    workspace_del(r->d->store, name) < 0) {
		req_storage_error(r);
		return;
	}
	struct audit_event ev;
	req_event(&ev, r, "workspace.delete", "success");
	ev.workspace = name;
	ev.team = w.team;
	if (req_finish(r, &ev) < 0)
		return;
	req_ok(r);
	svca_put_str(r->reply, F_WORKSPACE, name);
	svca_put_u64(r->reply, F_TOTAL, removed);
	svca_frame_end(r->reply);
}

/* ---- grants ------------------------------------------------------------------- */

static void grant_reply(struct request *r, const char *account, const struct grant *g)
{
	svca_put_str(r->reply, F_NAME, account);
	svca_put_str(r->reply, g->kind == SCOPE_WORKSPACE ? F_WORKSPACE : F_TEAM, g->scope);
	svca_put_str(r->reply, F_ROLE, role_name(g->role));
	svca_put_u64(r->reply, F_CREATED_AT, g->created_at);
	svca_put_str(r->reply, F_CREATED_BY, g->created_by);
}

/* Reads the target scope (exactly one of --workspace / --team) and checks
 * that it exists. */
static int read_grant_scope(struct request *r, struct grant *g)
{
	char ws[SVCA_SCOPE_NAME_MAX + 2], team[SVCA_SCOPE_NAME_MAX + 2];
	int hw = read_scope(r, F_WORKSPACE, ws, 0, "workspace");
	int ht = hw < 0 ? -1 : read_scope(r, F_TEAM, team, 0, "team");
	if (hw < 0 || ht < 0)
		return -1;
	if (hw == ht) {
		req_fail(r, SVCA_ERR_BADREQ, "give exactly one of --workspace or --team");
		return -1;
	}
	g->kind = hw ? SCOPE_WORKSPACE : SCOPE_TEAM;
	const char *src = hw ? ws : team; /* validated: fits */
	memcpy(g->scope, src, strlen(src) + 1);
	return 0;
}

static int scope_exists(struct request *r, const struct grant *g)
{
	int e = g->kind == SCOPE_WORKSPACE
			? workspace_get(r->d->store, g->scope, &(struct workspace){ 0 })
			: team_get(r->d->store, g->scope, &(struct team){ 0 });
	if (e < 0)
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
	else if (e == 0)
		req_fail(r, SVCA_ERR_NOTFOUND, "%s '%s' does not exist",
			 g->kind == SCOPE_WORKSPACE ? "workspace" : "team", g->scope);
	return e == 1 ? 0 : -1;
}

void cmd_grant_add(struct request *r)
{
	char name[SVCA_NAME_MAX + 2], role[16];
	struct account a;
	struct grant g, old;
	memset(&g, 0, sizeof(g));

	if (req_account_name(r, F_NAME, name) < 0 || read_grant_scope(r, &g) < 0 ||
	    req_str(r, F_ROLE, role, sizeof(role), 1, "role") < 0)
		return;
	if (role_parse(role, &g.role) < 0) {
		req_fail(r, SVCA_ERR_BADREQ, "invalid role '%s': use viewer, editor or admin",
			 role);
		return;
	}
	if (req_load_account(r, name, &a) < 0 || scope_exists(r, &g) < 0)
		return;
	g.uid = a.uid;
	int e = grant_get(r->d->store, a.uid, g.kind, g.scope, &old);
	if (e < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	if (e == 0) {
		struct grant *gs;
		size_t n;
		if (grant_of_account(r->d->store, a.uid, &gs, &n) < 0) {
			req_fail(r, SVCA_ERR_FAILED, "internal storage error");
			return;
		}
		free(gs);
		if (n >= MAX_GRANTS_PER_ACCOUNT) {
			req_fail(r, SVCA_ERR_FAILED,
				 "account '%s' already has %d grants (the limit)", name,
				 MAX_GRANTS_PER_ACCOUNT);
			return;
		}
	}
	req_txn_begin(r);
	if (e == 1) { /* a role change keeps when and by whom it was granted */
		g.created_at = old.created_at;
		memcpy(g.created_by, old.created_by, sizeof(g.created_by));
	} else {
		req_stamp(r, &g.created_at, g.created_by, sizeof(g.created_by));
	}
	/* outstanding tokens carry the old grants */
	int regen = e == 1 && old.role != g.role;
	if (grant_put(r->d->store, &g) < 0 ||
	    (regen &&
	     (account_next_gen(r->d->store, &a.gen) < 0 || account_put(r->d->store, &a) < 0))) {
		req_storage_error(r);
		return;
	}
	struct audit_event ev;
	char detail[64];
	req_event(&ev, r, "grant.add", "success");
	ev.account = a.name;
	ev.uid = a.uid;
	if (g.kind == SCOPE_WORKSPACE)
		ev.workspace = g.scope;
	else
		ev.team = g.scope;
	if (e == 1)
		snprintf(detail, sizeof(detail), "role %s -> %s", role_name(old.role),
			 role_name(g.role));
	else
		snprintf(detail, sizeof(detail), "role %s", role_name(g.role));
	ev.detail = detail;
	if (req_finish(r, &ev) < 0)
		return;
	req_ok(r);
	grant_reply(r, a.name, &g);
	svca_frame_end(r->reply);
}

void cmd_grant_remove(struct request *r)
{
	char name[SVCA_NAME_MAX + 2];
	struct account a;
	struct grant g, old;
	memset(&g, 0, sizeof(g));

	if (req_account_name(r, F_NAME, name) < 0 || read_grant_scope(r, &g) < 0 ||
	    req_load_account(r, name, &a) < 0)
		return;
	int e = grant_get(r->d->store, a.uid, g.kind, g.scope, &old);
	if (e < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	if (e == 0) {
		req_fail(r, SVCA_ERR_NOTFOUND, "account '%s' has no grant on %s '%s'", name,
			 g.kind == SCOPE_WORKSPACE ? "workspace" : "team", g.scope);
		return;
	}
	req_txn_begin(r);
	if (req_remove_grant(r, &old, NULL) < 0 || store_commit(r->d->store) < 0) {
		req_storage_error(r);
		return;
	}
	r->wrote = 1;
	r->d->nss_dirty = 1;
	req_ok(r);
	grant_reply(r, a.name, &old);
	svca_frame_end(r->reply);
}

static int may_see_own(struct request *r, const char *name, struct account *a)
{
	if (r->actor.priv >= PRIV_ADMIN)
		return req_load_account(r, name, a);
	/* A service account may ask about itself. */
	if (account_get(r->d->store, name, a) == 1 &&
	    (a->uid == r->peer->uid || !strcmp(r->actor.account, a->name)))
		return 0;
	return req_require(r, PRIV_ADMIN, name);
}

void cmd_grant_list(struct request *r)
{
	char name[SVCA_NAME_MAX + 2];
	struct account a;
	struct grant *gs;
	size_t n;
	if (req_account_name(r, F_NAME, name) < 0 || may_see_own(r, name, &a) < 0)
		return;
	if (grant_of_account(r->d->store, a.uid, &gs, &n) < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	req_ok(r);
	for (size_t i = 0; i < n; i++) {
		svca_put_mark(r->reply, F_ITEM);
		grant_reply(r, a.name, &gs[i]);
	}
	free(gs);
	svca_frame_end(r->reply);
}

/* ---- effective access --------------------------------------------------------- */

void cmd_account_access(struct request *r)
{
	char name[SVCA_NAME_MAX + 2];
	struct account a;
	struct access acc;
	if (req_account_name(r, F_NAME, name) < 0 || may_see_own(r, name, &a) < 0)
		return;
	if (access_compute(r->d->store, &r->d->cfg, &a, &acc) < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return;
	}
	req_ok(r);
	svca_put_str(r->reply, F_NAME, a.name);
	svca_put_str(r->reply, F_STATUS, a.disabled ? "disabled" : "active");
	svca_put_str(r->reply, F_ROLE, role_name(acc.role));
	for (unsigned bit = 1; bit <= CAP_SUDO; bit <<= 1)
		if (acc.caps & bit)
			svca_put_str(r->reply, F_CAPABILITY, cap_name(bit));
	for (size_t i = 0; i < r->d->cfg.n_services; i++)
		if (acc.caps & r->d->cfg.services[i].cap)
			svca_put_str(r->reply, F_SERVICE, r->d->cfg.services[i].service);
	for (size_t i = 0; i < acc.nsrc; i++) {
		char src[256];
		snprintf(src, sizeof(src), "%s:%s:%s:%s",
			 acc.src[i].kind == SCOPE_WORKSPACE ? "workspace" : "team",
			 acc.src[i].scope, acc.src[i].workspace, role_name(acc.src[i].role));
		svca_put_str(r->reply, F_SOURCE, src);
	}
	svca_frame_end(r->reply);
}
