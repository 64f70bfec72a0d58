/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The access decision (DESIGN.md section 3) at the model level, without
 * the socket: access_compute (svcacctd/model/rbac.c) turns an account's grants
 * and this host's workspaces into a role and capabilities, and
 * access_decide (svcacctd/model/rbac.c) adds the PAM service's capability.
 *
 *   - a workspace grant counts on that workspace, a team grant in every
 *     workspace of the team that is on this host;
 *   - the role is the highest over the host's workspaces;
 *   - grants on workspaces not on this host, or on host workspaces that
 *     do not exist, count for nothing;
 *   - role -> capabilities from config (viewer none, editor login, admin
 *     login + sudo by default); a disabled account has none;
 *   - a PAM service mapped to no capability is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "nss_caps.h"
#include "rbac.h"
#include "unit_util.h"

static struct unit_env E;
static struct daemon *const D = &E.d;

static void set_host_workspaces(int n, ...)
{
	va_list ap;
	strlist_free(&D->cfg.host_workspaces);
	D->cfg.host_workspaces.v = calloc((size_t)n + 1, sizeof(char *));
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		D->cfg.host_workspaces.v[i] = strdup(va_arg(ap, const char *));
	va_end(ap);
	D->cfg.host_workspaces.n = (size_t)n;
}

static void add_ws(const char *ws, const char *team)
{
	struct team t;
	struct workspace w;
	memset(&t, 0, sizeof(t));
	memset(&w, 0, sizeof(w));
	snprintf(t.name, sizeof(t.name), "%s", team);
	snprintf(w.name, sizeof(w.name), "%s", ws);
	snprintf(w.team, sizeof(w.team), "%s", team);
	store_begin(D->store);
	assert_int_equal(team_put(D->store, &t), 0);
	assert_int_equal(workspace_put(D->store, &w), 0);
	assert_int_equal(store_commit(D->store), 0);
}

static void add_grant(uint32_t uid, enum scope_kind kind, const char *scope, enum svca_role role)
{
	struct grant g;
	memset(&g, 0, sizeof(g));
	g.uid = uid;
	g.kind = kind;
	snprintf(g.scope, sizeof(g.scope), "%s", scope);
	g.role = role;
	store_begin(D->store);
	assert_int_equal(grant_put(D->store, &g), 0);
	assert_int_equal(store_commit(D->store), 0);
}

static struct account make_account(uint32_t uid, int disabled)
{
	struct account a;
	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "sa-%u", (unsigned)uid);
	a.uid = uid;
	a.disabled = disabled;
	return a;
}

static struct access access_of(uint32_t uid, int disabled)
{
	struct account a = make_account(uid, disabled);
	struct access acc;
	assert_int_equal(access_compute(D->store, &D->cfg, &a, &acc), 0);
	return acc;
}

/* access_decide's reason ("allowed" for NULL).  The one place that knows
 * how the decision reaches the daemon's state (the store and the config). */
static const char *decide(uint32_t uid, int disabled, const char *service)
{
	static char msg[200];
	struct account a = make_account(uid, disabled);
	struct access acc;
	const char *reason = "unset";
	assert_int_equal(
		access_decide(D->store, &D->cfg, &a, service, &acc, &reason, msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, a.name));
	return reason ? reason : "allowed";
}

/* Host in build-farm and ci (team infra) and web (team apps); staging
 * (team apps) and lab (team research) exist but are elsewhere. */
static int setup(void **state)
{
	(void)state;
	unit_env_open(&E, "access", 0);
	add_ws("build-farm", "infra");
	add_ws("ci", "infra");
	add_ws("web", "apps");
	add_ws("staging", "apps");
	add_ws("lab", "research");
	set_host_workspaces(3, "build-farm", "ci", "web");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return unit_env_close(&E);
}

static void no_grant_no_access(void **state)
{
	(void)state;
	struct access acc = access_of(60001, 0);
	assert_int_equal(acc.role, ROLE_NONE);
	assert_int_equal(acc.caps, 0);
	assert_int_equal(acc.nsrc, 0);
	assert_string_equal(decide(60001, 0, "sshd"), "no_capability");
}

/* Default role_caps: viewer none, editor login, admin login + sudo. */
static void workspace_grant_role_to_caps(void **state)
{
	(void)state;
	add_grant(60001, SCOPE_WORKSPACE, "build-farm", ROLE_VIEWER);
	add_grant(60002, SCOPE_WORKSPACE, "ci", ROLE_EDITOR);
	add_grant(60003, SCOPE_WORKSPACE, "web", ROLE_ADMIN);
	struct access v = access_of(60001, 0), e = access_of(60002, 0), a = access_of(60003, 0);
	assert_int_equal(v.role, ROLE_VIEWER);
	assert_int_equal(v.caps, 0);
	assert_int_equal(e.role, ROLE_EDITOR);
	assert_int_equal(e.caps, CAP_LOGIN);
	assert_int_equal(a.role, ROLE_ADMIN);
	assert_int_equal(a.caps, CAP_LOGIN | CAP_SUDO);
	assert_int_equal(e.nsrc, 1);
	assert_int_equal(e.src[0].kind, SCOPE_WORKSPACE);
	assert_string_equal(e.src[0].scope, "ci");
	assert_string_equal(e.src[0].workspace, "ci");
	assert_int_equal(e.src[0].role, ROLE_EDITOR);
}

/* A team grant applies in every workspace of the team on this host (and
 * only there): infra covers build-farm and ci, not web. */
static void team_grant_covers_every_host_workspace_of_the_team(void **state)
{
	(void)state;
	add_grant(60001, SCOPE_TEAM, "infra", ROLE_EDITOR);
	struct access acc = access_of(60001, 0);
	assert_int_equal(acc.role, ROLE_EDITOR);
	assert_int_equal(acc.caps, CAP_LOGIN);
	assert_int_equal(acc.nsrc, 2);
	for (size_t i = 0; i < acc.nsrc; i++) {
		assert_int_equal(acc.src[i].kind, SCOPE_TEAM);
		assert_string_equal(acc.src[i].scope, "infra");
	}
	assert_string_equal(acc.src[0].workspace, "build-farm");
	assert_string_equal(acc.src[1].workspace, "ci");
	/* apps: only web of its workspaces is here */
	add_grant(60002, SCOPE_TEAM, "apps", ROLE_ADMIN);
	acc = access_of(60002, 0);
	assert_int_equal(acc.role, ROLE_ADMIN);
	assert_int_equal(acc.nsrc, 1);
	assert_string_equal(acc.src[0].workspace, "web");
	/* research: no workspace here */
	add_grant(60003, SCOPE_TEAM, "research", ROLE_ADMIN);
	acc = access_of(60003, 0);
	assert_int_equal(acc.role, ROLE_NONE);
	assert_int_equal(acc.caps, 0);
	assert_int_equal(acc.nsrc, 0);
}

/* The highest role over all sources wins, whichever kind it comes from
 * and in whichever order the grants were made. */
static void highest_role_wins(void **state)
{
	(void)state;
	add_grant(60001, SCOPE_WORKSPACE, "build-farm", ROLE_VIEWER);
	add_grant(60001, SCOPE_TEAM, "infra", ROLE_ADMIN);
	add_grant(60002, SCOPE_TEAM, "infra", ROLE_VIEWER);
	add_grant(60002, SCOPE_WORKSPACE, "ci", ROLE_ADMIN);
	add_grant(60003, SCOPE_WORKSPACE, "web", ROLE_EDITOR);
	add_grant(60003, SCOPE_WORKSPACE, "ci", ROLE_VIEWER);
	add_grant(60003, SCOPE_TEAM, "apps", ROLE_VIEWER);
	struct access a1 = access_of(60001, 0), a2 = access_of(60002, 0), a3 = access_of(60003, 0);
	assert_int_equal(a1.role, ROLE_ADMIN);
	assert_int_equal(a1.caps, CAP_LOGIN | CAP_SUDO);
	assert_int_equal(a1.nsrc, 3); /* w:build-farm, t:infra on build-farm and ci */
	assert_int_equal(a2.role, ROLE_ADMIN);
	assert_int_equal(a2.caps, CAP_LOGIN | CAP_SUDO);
	assert_int_equal(a3.role, ROLE_EDITOR);
	assert_int_equal(a3.caps, CAP_LOGIN);
	assert_int_equal(a3.nsrc, 3);
	/* every source keeps its own role */
	int viewers = 0;
	for (size_t i = 0; i < a3.nsrc; i++)
		viewers += a3.src[i].role == ROLE_VIEWER;
	assert_int_equal(viewers, 2);
}

/* Grants on workspaces elsewhere, on workspaces that do not exist, and on
 * a host workspace that has no record yet, count for nothing. */
static void grants_not_on_this_host_are_ignored(void **state)
{
	(void)state;
	add_grant(60001, SCOPE_WORKSPACE, "staging", ROLE_ADMIN);
	add_grant(60001, SCOPE_WORKSPACE, "lab", ROLE_ADMIN);
	add_grant(60001, SCOPE_WORKSPACE, "nope", ROLE_ADMIN);
	add_grant(60001, SCOPE_TEAM, "no-such-team", ROLE_ADMIN);
	add_grant(60001, SCOPE_WORKSPACE, "ghost", ROLE_ADMIN);
	set_host_workspaces(4, "build-farm", "ci", "web", "ghost");
	struct access acc = access_of(60001, 0);
	assert_int_equal(acc.role, ROLE_NONE);
	assert_int_equal(acc.caps, 0);
	assert_int_equal(acc.nsrc, 0);
	/* a team grant names the team, not a workspace of that name */
	add_grant(60002, SCOPE_WORKSPACE, "infra", ROLE_ADMIN);
	add_grant(60002, SCOPE_TEAM, "build-farm", ROLE_ADMIN);
	assert_int_equal(access_of(60002, 0).role, ROLE_NONE);
	/* a host without workspaces grants nothing to anybody */
	add_grant(60003, SCOPE_WORKSPACE, "web", ROLE_ADMIN);
	assert_int_equal(access_of(60003, 0).role, ROLE_ADMIN);
	set_host_workspaces(0);
	assert_int_equal(access_of(60003, 0).role, ROLE_NONE);
	assert_string_equal(decide(60003, 0, "sshd"), "no_capability");
}

/* Grants are the account's own (keyed by uid): another uid's grant does
 * not count, and a team grant follows the workspace's current team. */
static void grants_are_per_account_and_follow_the_team(void **state)
{
	(void)state;
	add_grant(60002, SCOPE_WORKSPACE, "web", ROLE_ADMIN);
	assert_int_equal(access_of(60001, 0).role, ROLE_NONE);
	add_grant(60001, SCOPE_TEAM, "research", ROLE_EDITOR);
	assert_int_equal(access_of(60001, 0).role, ROLE_NONE);
	add_ws("web", "research"); /* web moves to research */
	struct access acc = access_of(60001, 0);
	assert_int_equal(acc.role, ROLE_EDITOR);
	assert_int_equal(acc.nsrc, 1);
	assert_string_equal(acc.src[0].workspace, "web");
	add_grant(60003, SCOPE_TEAM, "apps", ROLE_ADMIN); /* apps lost web */
	assert_int_equal(access_of(60003, 0).role, ROLE_NONE);
}

/* role_caps from config replace the defaults. */
static void role_caps_from_config(void **state)
{
	(void)state;
	add_grant(60001, SCOPE_WORKSPACE, "web", ROLE_VIEWER);
	add_grant(60002, SCOPE_WORKSPACE, "web", ROLE_EDITOR);
	add_grant(60003, SCOPE_WORKSPACE, "web", ROLE_ADMIN);
	D->cfg.role_caps[ROLE_VIEWER] = CAP_LOGIN;
	D->cfg.role_caps[ROLE_EDITOR] = CAP_LOGIN | CAP_SUDO;
	D->cfg.role_caps[ROLE_ADMIN] = CAP_LOGIN;
	assert_int_equal(access_of(60001, 0).caps, CAP_LOGIN);
	assert_int_equal(access_of(60002, 0).caps, CAP_LOGIN | CAP_SUDO);
	assert_int_equal(access_of(60003, 0).caps, CAP_LOGIN);
	assert_string_equal(decide(60001, 0, "sshd"), "allowed");
	assert_string_equal(decide(60002, 0, "sudo"), "allowed");
	assert_string_equal(decide(60003, 0, "sudo"), "no_capability");
	D->cfg.role_caps[ROLE_NONE] = CAP_LOGIN; /* even "no role" can be given login */
	assert_int_equal(access_of(60004, 0).caps, CAP_LOGIN);
}

/* A disabled account keeps its role (listings show it) but has no
 * capability, and PAM refuses it for every service, first of all. */
static void disabled_account_gets_nothing(void **state)
{
	(void)state;
	add_grant(60001, SCOPE_TEAM, "infra", ROLE_ADMIN);
	struct access acc = access_of(60001, 1);
	assert_int_equal(acc.role, ROLE_ADMIN);
	assert_int_equal(acc.caps, 0);
	assert_string_equal(decide(60001, 1, "sshd"), "account_disabled");
	assert_string_equal(decide(60001, 1, "sudo"), "account_disabled");
	assert_string_equal(decide(60001, 1, "ftp"), "account_disabled");
	assert_string_equal(decide(60001, 0, "sudo"), "allowed");
}

/* The default service map, exact names only; a config map replaces it. */
static void services_map_to_one_capability(void **state)
{
	(void)state;
	static const char *login[] = { "sshd", "login", "su", "su-l", "cron" };
	static const char *none[] = { "ftp", "", "SSHD", "sshd ", "sudo-", "su-" };
	for (size_t i = 0; i < sizeof(login) / sizeof(login[0]); i++)
		assert_int_equal(service_capability(&D->cfg, login[i]), CAP_LOGIN);
	assert_int_equal(service_capability(&D->cfg, "sudo"), CAP_SUDO);
	assert_int_equal(service_capability(&D->cfg, "sudo-i"), CAP_SUDO);
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		assert_int_equal(service_capability(&D->cfg, none[i]), 0);
	for (size_t i = 0; i < D->cfg.n_services; i++)
		free(D->cfg.services[i].service);
	D->cfg.services[0] = (struct service_map){ strdup("gitlab-runner"), CAP_LOGIN };
	D->cfg.n_services = 1;
	assert_int_equal(service_capability(&D->cfg, "gitlab-runner"), CAP_LOGIN);
	assert_int_equal(service_capability(&D->cfg, "sshd"), 0);
}

/* The account stage: role x service.  A service mapped to nothing is
 * refused even for an admin. */
static void pam_decision_matrix(void **state)
{
	(void)state;
	add_grant(60001, SCOPE_WORKSPACE, "ci", ROLE_VIEWER);
	add_grant(60002, SCOPE_WORKSPACE, "ci", ROLE_EDITOR);
	add_grant(60003, SCOPE_WORKSPACE, "ci", ROLE_ADMIN);
	static const struct {
		uint32_t uid;
		const char *service, *want;
	} m[] = {
		{ 60001, "sshd", "no_capability" },   { 60001, "sudo", "no_capability" },
		{ 60001, "ftp", "unknown_service" },  { 60002, "sshd", "allowed" },
		{ 60002, "cron", "allowed" },         { 60002, "sudo", "no_capability" },
		{ 60002, "sudo-i", "no_capability" }, { 60002, "ftp", "unknown_service" },
		{ 60003, "sshd", "allowed" },         { 60003, "su-l", "allowed" },
		{ 60003, "sudo", "allowed" },         { 60003, "sudo-i", "allowed" },
		{ 60003, "ftp", "unknown_service" },  { 60004, "ftp", "unknown_service" },
		{ 60004, "sshd", "no_capability" },
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		const char *got = decide(m[i].uid, 0, m[i].service);
		if (strcmp(got, m[i].want) != 0)
			fail_msg("uid %u, service %s: %s, want %s", (unsigned)m[i].uid,
				 m[i].service, got, m[i].want);
	}
}

/* Finding A1: the role keeps rising past MAX_SOURCES (64) (grant, host
 * workspace) pairs, and PAM (access_compute, access_decide) agrees with the
 * NSS snapshot (nss_snapshot_caps, the sudo group).  A host in 70
 * workspaces of team infra: a viewer grant on infra gives 70 sources
 * before the admin grant on ws-69 is reached.  The source list stays
 * capped at MAX_SOURCES, the role and caps are over all of them, and the
 * list keeps a source for the role. */
static void a1_role_keeps_rising_past_64_sources(void **state)
{
	(void)state;
	enum { NWS = 70 };
	char name[32];
	strlist_free(&D->cfg.host_workspaces);
	D->cfg.host_workspaces.v = calloc(NWS + 1, sizeof(char *));
	assert_non_null(D->cfg.host_workspaces.v);
	for (int i = 0; i < NWS; i++) {
		snprintf(name, sizeof(name), "ws-%02d", i);
		add_ws(name, "infra");
		D->cfg.host_workspaces.v[i] = strdup(name);
	}
	D->cfg.host_workspaces.n = NWS;
	add_grant(60001, SCOPE_TEAM, "infra", ROLE_VIEWER);
	add_grant(60001, SCOPE_WORKSPACE, "ws-69", ROLE_ADMIN);
	struct access acc = access_of(60001, 0);
	uint32_t uid = 60001;
	int dis = 0;
	unsigned caps = 0;
	assert_int_equal(nss_snapshot_caps(D->store, &D->cfg, &uid, &dis, 1, &caps), 0);
	print_message("access_compute: role %d caps %u; nss_snapshot_caps: %u\n", acc.role,
		      acc.caps, caps);
	assert_int_equal(acc.role, ROLE_ADMIN); /* was viewer */
	assert_int_equal(acc.caps, CAP_LOGIN | CAP_SUDO);
	assert_int_equal(acc.caps, caps);
	assert_int_equal(acc.nsrc, MAX_SOURCES);
	int shown = 0; /* the list shows where admin comes from */
	for (size_t i = 0; i < acc.nsrc; i++)
		if (acc.src[i].role == ROLE_ADMIN && acc.src[i].kind == SCOPE_WORKSPACE &&
		    strcmp(acc.src[i].workspace, "ws-69") == 0)
			shown++;
	assert_int_equal(shown, 1);
	assert_string_equal(decide(60001, 0, "sudo"), "allowed");
	/* the other way round: the admin source first, viewer ones after */
	add_grant(60002, SCOPE_TEAM, "infra", ROLE_ADMIN);
	add_grant(60002, SCOPE_WORKSPACE, "ws-00", ROLE_VIEWER);
	acc = access_of(60002, 0);
	assert_int_equal(acc.role, ROLE_ADMIN);
	assert_int_equal(acc.nsrc, MAX_SOURCES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(no_grant_no_access, setup, teardown),
		cmocka_unit_test_setup_teardown(workspace_grant_role_to_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(team_grant_covers_every_host_workspace_of_the_team,
						setup, teardown),
		cmocka_unit_test_setup_teardown(highest_role_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(grants_not_on_this_host_are_ignored, setup,
						teardown),
		cmocka_unit_test_setup_teardown(grants_are_per_account_and_follow_the_team, setup,
						teardown),
		cmocka_unit_test_setup_teardown(role_caps_from_config, setup, teardown),
		cmocka_unit_test_setup_teardown(disabled_account_gets_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(services_map_to_one_capability, setup, teardown),
		cmocka_unit_test_setup_teardown(pam_decision_matrix, setup, teardown),
		cmocka_unit_test_setup_teardown(a1_role_keeps_rising_past_64_sources, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
