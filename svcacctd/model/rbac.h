/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Organization structure and effective access (DESIGN.md section 3).
 *
 * DB_STATE keys:
 *   team/<team>                        team record
 *   ws/<workspace>                     workspace record (names its team)
 *   grant/<uid>/<w|t>/<scope>          a grant of a role to an account
 *
 * Grants are keyed by the account's uid, so a rename keeps them.
 */
#ifndef SVCACCTD_RBAC_H
#define SVCACCTD_RBAC_H

#include <stddef.h>
#include <stdint.h>

#include "accounts.h"
#include "config.h"
#include "names.h"
#include "store.h"

#define RBAC_RECORD_VERSION 1
#define MAX_GRANTS_PER_ACCOUNT 256
#define MAX_SOURCES 64

enum scope_kind { SCOPE_WORKSPACE = 'w', SCOPE_TEAM = 't' };

struct team {
	char name[SVCA_SCOPE_NAME_MAX + 1];
	uint64_t created_at;
	char created_by[80];
};

struct workspace {
	char name[SVCA_SCOPE_NAME_MAX + 1];
	char team[SVCA_SCOPE_NAME_MAX + 1];
	uint64_t created_at;
	char created_by[80];
};

struct grant {
	uint32_t uid;
	enum scope_kind kind;
	char scope[SVCA_SCOPE_NAME_MAX + 1];
	enum svca_role role;
	uint64_t created_at;
	char created_by[80];
};

/* Where an effective role came from. */
struct access_source {
	enum scope_kind kind;
	char scope[SVCA_SCOPE_NAME_MAX + 1];     /* the grant's workspace or team */
	char workspace[SVCA_SCOPE_NAME_MAX + 1]; /* the host workspace it covers */
	enum svca_role role;
};

struct access {
	enum svca_role role; /* highest over the host's workspaces */
	unsigned caps;       /* CAP_* from the role; 0 when disabled */
	struct access_source src[MAX_SOURCES];
	size_t nsrc;
};

int team_get(struct store *s, const char *name, struct team *t);
int team_put(struct store *s, const struct team *t);
int team_del(struct store *s, const char *name);
int workspace_get(struct store *s, const char *name, struct workspace *w);
int workspace_put(struct store *s, const struct workspace *w);
int workspace_del(struct store *s, const char *name);
int grant_get(struct store *s, uint32_t uid, enum scope_kind kind, const char *scope,
	      struct grant *g);
int grant_put(struct store *s, const struct grant *g);
int grant_del(struct store *s, const struct grant *g);

/* grant_put, grant_del and the team and workspace puts and deletes tell
 * the store's struct change_hooks (accounts.h). */

/* Calls fn for every readable grant (unordered) without collecting them;
 * fn returning non-zero stops the walk and is returned.  -1 on error. */
typedef int (*grant_fn)(void *arg, const struct grant *g);
int grant_foreach(struct store *s, grant_fn fn, void *arg);

/* Collectors: fill a malloc'ed array (*out, caller frees).  -1 on error. */
int team_all(struct store *s, struct team **out, size_t *n);
int workspace_all(struct store *s, struct workspace **out, size_t *n);
int grant_all(struct store *s, struct grant **out, size_t *n);
int grant_of_account(struct store *s, uint32_t uid, struct grant **out, size_t *n);

/* Effective access of an account on this host.  0 ok, -1 storage error. */
int access_compute(struct store *s, const struct svca_config *cfg, const struct account *a,
		   struct access *out);

/* The capability a PAM service maps to, 0 when unmapped. */
unsigned service_capability(const struct svca_config *cfg, const char *service);

/* The account-stage decision for a (service account, PAM service): the
 * account's access (role x workspaces x grants, teams included), then
 * *reason NULL = allowed, else "account_disabled", "unknown_service" or
 * "no_capability"; msg says it in words.  -1 storage error. */
int access_decide(struct store *s, const struct svca_config *cfg, const struct account *a,
		  const char *service, struct access *acc, const char **reason, char *msg,
		  size_t msglen);

#endif
