/*
 * The daemon side of the NSS snapshot: collects the accounts and who holds
 * sudo on this host, builds the image (nss_format.c) and installs it in
 * nss_dir.  Called after every batch that changed accounts, grants, teams
 * or workspaces (before the replies go out), at start and on reload.
 */
#include "nss_snapshot.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "accounts.h"
#include "log.h"
#include "nss_caps.h"
#include "nss_format.h"
#include "rbac.h"

struct acct_row {
	char name[SVCA_NAME_MAX + 1];
	char description[ACCOUNT_DESC_MAX + 1];
	uint32_t uid;
	int disabled;
};

struct collect {
	struct acct_row *v;
	size_t n, cap;
	int oom;
};

static int collect_cb(void *arg, const struct account *a)
{
	struct collect *c = arg;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		struct acct_row *nv = realloc(c->v, ncap * sizeof(*nv));
		if (!nv) {
			c->oom = 1;
			return 1;
		}
		c->v = nv;
		c->cap = ncap;
	}
	struct acct_row *r = &c->v[c->n++];
	memcpy(r->name, a->name, sizeof(r->name));
	memcpy(r->description, a->description, sizeof(r->description));
	r->uid = a->uid;
	r->disabled = a->disabled;
	return 0;
}

/*
 * Capabilities of every account at once: one pass over the grants instead
 * of access_compute() per account (each of which walks the whole store).
 * The same rule as access_compute(): the highest role over the host's
 * existing workspaces, from workspace grants on it and team grants on its
 * team; none when disabled.  tests/unit/test_nss_snapshot.c checks that
 * both agree.
 */
struct host_ws {
	const char *name;
	char team[SVCA_SCOPE_NAME_MAX + 1];
};

static unsigned caps_of(const struct svca_config *cfg, const struct host_ws *hw,
			size_t nhw, const struct grant *g, size_t ng, const struct acct_row *a)
{
	if (a->disabled)
		return 0;
	/* first grant of this uid (grant_all sorts by uid) */
	size_t lo = 0, hi = ng;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g[mid].uid < a->uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	enum svca_role role = ROLE_NONE;
	for (size_t i = lo; i < ng && g[i].uid == a->uid; i++)
		for (size_t j = 0; j < nhw; j++)
			if ((g[i].kind == SCOPE_WORKSPACE && strcmp(g[i].scope, hw[j].name) == 0) ||
			    (g[i].kind == SCOPE_TEAM && strcmp(g[i].scope, hw[j].team) == 0))
				if (g[i].role > role)
					role = g[i].role;
	return cfg->role_caps[role];
}

int nss_snapshot_caps(struct store *s, const struct svca_config *cfg,
		      const uint32_t *uids, const int *disabled, size_t n, unsigned *caps)
{
	struct host_ws *hw = calloc(cfg->host_workspaces.n + 1, sizeof(*hw));
	struct grant *g = NULL;
	size_t nhw = 0, ng = 0;
	int ret = -1;
	if (!hw)
		return -1;
	for (size_t i = 0; i < cfg->host_workspaces.n; i++) {
		struct workspace w;
		int r = workspace_get(s, cfg->host_workspaces.v[i], &w);
		if (r < 0)
			goto out;
		if (r == 0)
			continue; /* a host workspace that does not exist grants nothing */
		hw[nhw].name = cfg->host_workspaces.v[i];
		memcpy(hw[nhw].team, w.team, sizeof(hw[nhw].team));
		nhw++;
	}
	if (grant_all(s, &g, &ng) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct acct_row a = { .uid = uids[i], .disabled = disabled[i] };
		caps[i] = caps_of(cfg, hw, nhw, g, ng, &a);
	}
	ret = 0;
out:
	free(g);
	free(hw);
	return ret;
}

static void log_skip(void *ctx, const struct nss_entry *e, const char *why)
{
	(void)ctx;
	log_err("nss snapshot: account '%s' (uid %u) left out: %s", e->name,
		(unsigned)e->uid, why);
}

/* Warns (once per change of the answer) when others cannot reach nss_dir:
 * then only root resolves service accounts. */
static void check_reachable(const char *dir)
{
	static int warned;
	char path[PATH_MAX];
	struct stat st;
	int bad = 0;
	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return;
	for (;;) {
		if (stat(path, &st) == 0 && (st.st_mode & S_IXOTH) == 0) {
			if (!warned)
				log_warn("nss_dir %s: %s (mode %04o) is not searchable by others; "
					 "only root can resolve service accounts (chmod o+x %s)",
					 dir, path, (unsigned)(st.st_mode & 07777), path);
			bad = 1;
			break;
		}
		char *slash = strrchr(path, '/');
		if (!slash || slash == path)
			break;
		*slash = '\0';
	}
	warned = bad;
}

void nss_snapshot_write(struct daemon *d)
{
	const struct svca_config *cfg = &d->cfg;
	struct collect c = { 0 };
	struct nss_entry *e = NULL;
	uint32_t *uids = NULL;
	int *dis = NULL;
	unsigned *caps = NULL;
	uint8_t *img = NULL;
	size_t len = 0;
	char err[512];

	if (!d->nss_dirty)
		return;
	if (!cfg->nss_dir || !d->store)
		return;
	if (account_foreach(d->store, collect_cb, &c) != 0 || c.oom) {
		log_err("nss snapshot: cannot read the accounts; the snapshot stays as it was");
		goto out;
	}
	size_t n = c.n;
	e = calloc(n ? n : 1, sizeof(*e));
	uids = calloc(n ? n : 1, sizeof(*uids));
	dis = calloc(n ? n : 1, sizeof(*dis));
	caps = calloc(n ? n : 1, sizeof(*caps));
	if (!e || !uids || !dis || !caps) {
		log_err("nss snapshot: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		uids[i] = c.v[i].uid;
		dis[i] = c.v[i].disabled;
	}
	if (nss_snapshot_caps(d->store, cfg, uids, dis, n, caps) < 0) {
		log_err("nss snapshot: cannot read the grants; the snapshot stays as it was");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		e[i].name = c.v[i].name;
		e[i].description = c.v[i].description;
		e[i].uid = c.v[i].uid;
		e[i].flags = ((caps[i] & CAP_LOGIN) ? SVCA_SNAP_LOGIN : 0) |
			     ((caps[i] & CAP_SUDO) ? SVCA_SNAP_SUDO : 0) |
			     (c.v[i].disabled ? SVCA_SNAP_DISABLED : 0);
	}
	struct nss_params p = {
		.uid_min = cfg->uid_min,
		.uid_max = cfg->uid_max,
		.sudo_gid = nss_sudo_gid(cfg->uid_min, cfg->uid_max),
		.home_base = cfg->home_base,
		.login_shell = cfg->login_shell,
		.nologin_shell = cfg->nologin_shell,
		.sudo_group = cfg->sudo_group,
	};
	if (nss_snap_build(&p, e, n, log_skip, NULL, &img, &len) < 0) {
		log_err("nss snapshot: cannot build it: %s%s", strerror(errno),
			errno == EINVAL ? " (check uid_min, uid_max, home_base, login_shell, "
					  "nologin_shell and sudo_group)" : "");
		goto out;
	}
	if (nss_snap_install(cfg->nss_dir, img, len, err, sizeof(err)) < 0) {
		log_err("nss snapshot: %s", err);
		goto out;
	}
	check_reachable(cfg->nss_dir);
	d->nss_dirty = 0;
out:
	free(img);
	free(caps);
	free(dis);
	free(uids);
	free(e);
	free(c.v);
}
