/* Request dispatch and the management rules for service accounts. */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "audit.h"
#include "daemon.h"
#include "log.h"
#include "sockio.h"

/* ---- callers ---------------------------------------------------------------- */

static void resolve(const struct strlist *names, gid_t **out, size_t *n)
{
	free(*out);
	*out = calloc(names->n ? names->n : 1, sizeof(gid_t));
	*n = 0;
	if (!*out)
		return;
	for (size_t i = 0; i < names->n; i++) {
		struct group *g = getgrnam(names->v[i]);
		if (!g) {
			log_warn("group '%s' named in the configuration does not exist",
				 names->v[i]);
			continue;
		}
		(*out)[(*n)++] = g->gr_gid;
	}
}

void daemon_resolve_groups(struct daemon *d)
{
	resolve(&d->cfg.admin_groups, &d->admin_gids, &d->n_admin_gids);
	resolve(&d->cfg.super_admin_groups, &d->super_gids, &d->n_super_gids);
}

static int in_groups(const struct peer *p, const gid_t *gids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p->gid == gids[i])
			return 1;
		for (size_t j = 0; j < p->ngroups; j++)
			if (p->groups[j] == gids[i])
				return 1;
	}
	return 0;
}

void peer_to_actor(const struct daemon *d, const struct peer *p, struct actor *a)
{
	memset(a, 0, sizeof(*a));
	a->uid = p->uid;
	if (p->uid == 0 || in_groups(p, d->super_gids, d->n_super_gids))
		a->priv = PRIV_SUPER;
	else if (in_groups(p, d->admin_gids, d->n_admin_gids))
		a->priv = PRIV_ADMIN;
	struct passwd pw, *res = NULL;
	char buf[1024];
	if (getpwuid_r(p->uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(a->user, sizeof(a->user), "%s", res->pw_name);
	else
		snprintf(a->user, sizeof(a->user), "uid %u", (unsigned)p->uid);
}

static void actor_label(const struct actor *a, char *dst, size_t len)
{
	if (a->account[0])
		snprintf(dst, len, "%s (service account)", a->account);
	else
		snprintf(dst, len, "%s", a->user);
}

/* ---- replies ---------------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static void fail(struct request *r, enum svca_status st, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	svca_frame_begin(r->reply, (uint16_t)st);
	svca_put_str(r->reply, F_MESSAGE, msg);
	svca_frame_end(r->reply);
}

static void ok_begin(struct request *r)
{
	svca_frame_begin(r->reply, SVCA_OK);
}

/* Request field helpers.  A field given twice is a malformed request. */
static const struct svca_field *field(const struct request *r, uint16_t tag)
{
	return svca_fields_find(r->f, r->nf, tag);
}

static int get_str(struct request *r, uint16_t tag, char *dst, size_t len,
		   int required, const char *what)
{
	const struct svca_field *f = field(r, tag);
	if (!f) {
		dst[0] = '\0';
		if (required) {
			fail(r, SVCA_ERR_BADREQ, "missing %s", what);
			return -1;
		}
		return 0;
	}
	if (svca_field_str(f, dst, len) < 0) {
		fail(r, SVCA_ERR_BADREQ, "%s is too long (at most %zu characters)", what,
		     len - 1);
		return -1;
	}
	return 1;
}

/* ---- transactions ---------------------------------------------------------------- */

static void txn_begin(struct request *r)
{
	store_begin(r->d->store);
	r->audit_mark = audit_mark(r->d->audit);
}

static void txn_abort(struct request *r)
{
	store_abort(r->d->store);
	audit_rollback(r->d->audit, r->audit_mark);
}

/* ---- audit helpers ------------------------------------------------------------ */

static void event_init(struct audit_event *ev, struct request *r, const char *event,
		       const char *outcome)
{
	memset(ev, 0, sizeof(*ev));
	ev->event = event;
	ev->outcome = outcome;
	ev->actor = &r->actor;
	ev->peer = r->peer;
}

/* Records a refusal or failure in its own transaction. */
static void audit_refusal(struct request *r, const char *event, const char *outcome,
			  const char *account, const char *reason)
{
	struct audit_event ev;
	event_init(&ev, r, event, outcome);
	ev.account = account;
	ev.reason = reason;
	txn_begin(r);
	if (audit_append(r->d->audit, &ev) < 0 || store_commit(r->d->store) < 0) {
		txn_abort(r);
		log_err("cannot record audit event %s", event);
		return;
	}
	r->wrote = 1;
}

/* Management needs at least `need`; refusals are audited as admin.deny. */
static int require(struct request *r, enum privilege need, const char *account)
{
	if (r->actor.priv >= need)
		return 0;
	const char *cmd = svca_cmd_name(r->cmd);
	char reason[96];
	snprintf(reason, sizeof(reason), "%s requires %s", cmd ? cmd : "command",
		 need == PRIV_SUPER ? "super-admin" : "admin");
	audit_refusal(r, "admin.deny", "denied", account, reason);
	fail(r, SVCA_ERR_NOTAUTH, "permission denied: %s needs %s rights (you are %s)",
	     cmd ? cmd : "this command",
	     need == PRIV_SUPER ? "super-admin" : "admin", r->actor.user);
	return -1;
}

/* Ends a mutation: appends its audit event and commits.  On any failure
 * the whole change is undone and the caller gets an error. */
static int finish(struct request *r, struct audit_event *ev)
{
	if (audit_append(r->d->audit, ev) < 0 || store_commit(r->d->store) < 0) {
		txn_abort(r);
		fail(r, SVCA_ERR_FAILED, "%s failed: the change could not be recorded",
		     ev->event);
		return -1;
	}
	r->wrote = 1;
	return 0;
}

static int storage_error(struct request *r)
{
	txn_abort(r);
	fail(r, SVCA_ERR_FAILED, "internal storage error; nothing was changed");
	return -1;
}

static void stamp(struct request *r, uint64_t *at, char *by, size_t bylen)
{
	*at = (uint64_t)svca_wall_ms();
	actor_label(&r->actor, by, bylen);
}

/* ---- accounts ----------------------------------------------------------------- */

static const char name_rule[] =
	"use lowercase letters, digits, '_' and '-', starting with a letter or '_', at most 32 characters";

static int read_name(struct request *r, uint16_t tag, char *name)
{
	if (get_str(r, tag, name, SVCA_NAME_MAX + 2, 1, "account name") < 0)
		return -1;
	if (!svca_account_name_valid(name)) {
		fail(r, SVCA_ERR_BADREQ, "invalid account name '%.40s': %s", name,
		     name_rule);
		return -1;
	}
	return 0;
}

/* Loads the named account or replies "not found". */
static int load_account(struct request *r, const char *name, struct account *a)
{
	int g = account_get(r->d->store, name, a);
	if (g < 0) {
		fail(r, SVCA_ERR_FAILED, "internal storage error reading account '%s'",
		     name);
		return -1;
	}
	if (g == 0) {
		fail(r, SVCA_ERR_NOTFOUND, "account '%s' does not exist", name);
		return -1;
	}
	return 0;
}

static int read_description(struct request *r, char *dst, int *given)
{
	int g = get_str(r, F_DESCRIPTION, dst, ACCOUNT_DESC_MAX + 1, 0, "description");
	if (g < 0)
		return -1;
	*given = g;
	return 0;
}

static int read_org_role(struct request *r, enum org_role *role, int *given)
{
	char buf[32];
	int g = get_str(r, F_ORG_ROLE, buf, sizeof(buf), 0, "role");
	if (g < 0)
		return -1;
	*given = g;
	if (g && org_role_parse(buf, role) < 0) {
		fail(r, SVCA_ERR_BADREQ, "invalid role '%.31s': use member, admin or super-admin",
		     buf);
		return -1;
	}
	/* Only Super Admins give or take the admin and super-admin roles. */
	return 0;
}

static int name_available(struct request *r, const char *name, const char *event)
{
	struct account other;
	int g = account_get(r->d->store, name, &other);
	if (g < 0) {
		fail(r, SVCA_ERR_FAILED, "internal storage error");
		return -1;
	}
	if (g == 1) {
		audit_refusal(r, event, "failure", name, "name_exists");
		fail(r, SVCA_ERR_FAILED, "account '%s' already exists", name);
		return -1;
	}
	if (host_name_taken(name)) {
		audit_refusal(r, event, "failure", name, "name_exists_on_host");
		fail(r, SVCA_ERR_FAILED,
		     "'%s' is already a user or group on this host; choose another name",
		     name);
		return -1;
	}
	return 0;
}

static void account_create(struct request *r)
{
	struct account a;
	int given_desc, given_role;
	enum org_role role = ORG_MEMBER;

	memset(&a, 0, sizeof(a));
	if (require(r, PRIV_ADMIN, NULL) < 0 || read_name(r, F_NAME, a.name) < 0 ||
	    read_description(r, a.description, &given_desc) < 0 ||
	    read_org_role(r, &role, &given_role) < 0)
		return;
	if (role != ORG_MEMBER && require(r, PRIV_SUPER, a.name) < 0)
		return;
	if (name_available(r, a.name, "account.create") < 0)
		return;

	txn_begin(r);
	int u = account_alloc_uid(r->d->store, r->d->cfg.uid_min, r->d->cfg.uid_max,
				  &a.uid);
	if (u < 0) {
		storage_error(r);
		return;
	}
	if (u == 1) {
		txn_abort(r);
		audit_refusal(r, "account.create", "failure", a.name, "uid_range_exhausted");
		fail(r, SVCA_ERR_FAILED,
		     "no free uid left in the range %" PRIu32 "-%" PRIu32
		     " (uid_min/uid_max in %s)",
		     r->d->cfg.uid_min, r->d->cfg.uid_max, r->d->cfg.path);
		return;
	}
	a.org_role = role;
	stamp(r, &a.created_at, a.created_by, sizeof(a.created_by));
	a.updated_at = a.created_at;
	memcpy(a.updated_by, a.created_by, sizeof(a.updated_by));
	if (account_put(r->d->store, &a) < 0) {
		storage_error(r);
		return;
	}
	struct audit_event ev;
	event_init(&ev, r, "account.create", "success");
	ev.account = a.name;
	ev.uid = a.uid;
	char detail[64];
	snprintf(detail, sizeof(detail), "org_role=%s", org_role_name(a.org_role));
	ev.detail = detail;
	if (finish(r, &ev) < 0)
		return;
	ok_begin(r);
	account_to_reply(&a, r->reply);
	svca_frame_end(r->reply);
}

struct list_ctx {
	struct account *v;
	size_t n, cap;
	int oom;
};

static int collect(void *arg, const struct account *a)
{
	struct list_ctx *c = arg;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		struct account *nv = realloc(c->v, ncap * sizeof(*nv));
		if (!nv) {
			c->oom = 1;
			return 1;
		}
		c->v = nv;
		c->cap = ncap;
	}
	c->v[c->n++] = *a;
	return 0;
}

static int by_name(const void *x, const void *y)
{
	return strcmp(((const struct account *)x)->name,
		      ((const struct account *)y)->name);
}

static void account_list(struct request *r)
{
	struct list_ctx c = { 0 };
	if (require(r, PRIV_ADMIN, NULL) < 0)
		return;
	if (account_foreach(r->d->store, collect, &c) != 0 || c.oom) {
		free(c.v);
		fail(r, SVCA_ERR_FAILED, "internal storage error listing accounts");
		return;
	}
	qsort(c.v, c.n, sizeof(*c.v), by_name);
	ok_begin(r);
	for (size_t i = 0; i < c.n; i++) {
		svca_put_mark(r->reply, F_ITEM);
		account_to_reply(&c.v[i], r->reply);
	}
	free(c.v);
	if (svca_frame_end(r->reply) < 0)
		fail(r, SVCA_ERR_FAILED, "the account list is too large to send");
}

static void account_show(struct request *r)
{
	char name[SVCA_NAME_MAX + 2];
	struct account a;
	if (read_name(r, F_NAME, name) < 0)
		return;
	/* Anyone may ask about the account they are logged in as. */
	int own = account_get(r->d->store, name, &a) == 1 && a.uid == r->peer->uid;
	if (!own && require(r, PRIV_ADMIN, name) < 0)
		return;
	if (load_account(r, name, &a) < 0)
		return;
	ok_begin(r);
	account_to_reply(&a, r->reply);
	svca_frame_end(r->reply);
}

static void account_update(struct request *r)
{
	char name[SVCA_NAME_MAX + 2], newname[SVCA_NAME_MAX + 2];
	char desc[ACCOUNT_DESC_MAX + 1];
	struct account a;
	int given_desc, given_role, rename;
	enum org_role role = ORG_MEMBER;

	if (require(r, PRIV_ADMIN, NULL) < 0 || read_name(r, F_NAME, name) < 0 ||
	    read_description(r, desc, &given_desc) < 0 ||
	    read_org_role(r, &role, &given_role) < 0)
		return;
	rename = field(r, F_NEW_NAME) != NULL;
	if (rename && read_name(r, F_NEW_NAME, newname) < 0)
		return;
	if (!rename && !given_desc && !given_role) {
		fail(r, SVCA_ERR_BADREQ, "nothing to update: give --rename, --description or --role");
		return;
	}
	if (load_account(r, name, &a) < 0)
		return;
	if (given_role && role != a.org_role &&
	    (role != ORG_MEMBER || a.org_role != ORG_MEMBER) &&
	    require(r, PRIV_SUPER, name) < 0)
		return;
	if (rename && strcmp(newname, name) != 0 &&
	    name_available(r, newname, "account.update") < 0)
		return;

	char detail[160] = "";
	size_t dl = 0;
	txn_begin(r);
	if (rename && strcmp(newname, name) != 0) {
		if (account_del(r->d->store, &a) < 0) {
			storage_error(r);
			return;
		}
		dl += (size_t)snprintf(detail + dl, sizeof(detail) - dl, "renamed from %s; ",
				       name);
		memcpy(a.name, newname, strlen(newname) + 1); /* validated: fits */
	}
	if (given_desc) {
		snprintf(a.description, sizeof(a.description), "%s", desc);
		dl += (size_t)snprintf(detail + dl, sizeof(detail) - dl, "description; ");
	}
	if (given_role && role != a.org_role) {
		snprintf(detail + dl, sizeof(detail) - dl, "org_role %s -> %s; ",
			 org_role_name(a.org_role), org_role_name(role));
		a.org_role = role;
		a.gen++; /* outstanding tokens carry the old role */
	}
	stamp(r, &a.updated_at, a.updated_by, sizeof(a.updated_by));
	if (account_put(r->d->store, &a) < 0) {
		storage_error(r);
		return;
	}
	struct audit_event ev;
	event_init(&ev, r, "account.update", "success");
	ev.account = a.name;
	ev.uid = a.uid;
	ev.detail = detail;
	if (finish(r, &ev) < 0)
		return;
	ok_begin(r);
	account_to_reply(&a, r->reply);
	svca_frame_end(r->reply);
}

static void account_set_status(struct request *r, int disable)
{
	char name[SVCA_NAME_MAX + 2];
	struct account a;
	const char *event = disable ? "account.disable" : "account.enable";

	if (require(r, PRIV_ADMIN, NULL) < 0 || read_name(r, F_NAME, name) < 0 ||
	    load_account(r, name, &a) < 0)
		return;
	txn_begin(r);
	if (a.disabled != disable) {
		a.disabled = disable;
		a.gen++;
		stamp(r, &a.updated_at, a.updated_by, sizeof(a.updated_by));
		if (account_put(r->d->store, &a) < 0) {
			storage_error(r);
			return;
		}
	}
	struct audit_event ev;
	event_init(&ev, r, event, "success");
	ev.account = a.name;
	ev.uid = a.uid;
	if (finish(r, &ev) < 0)
		return;
	ok_begin(r);
	account_to_reply(&a, r->reply);
	svca_frame_end(r->reply);
}

static void account_delete(struct request *r)
{
	char name[SVCA_NAME_MAX + 2];
	struct account a;

	if (require(r, PRIV_ADMIN, NULL) < 0 || read_name(r, F_NAME, name) < 0 ||
	    load_account(r, name, &a) < 0)
		return;
	txn_begin(r);
	if (account_del(r->d->store, &a) < 0) {
		storage_error(r);
		return;
	}
	struct audit_event ev;
	event_init(&ev, r, "account.delete", "success");
	ev.account = a.name;
	ev.uid = a.uid;
	if (finish(r, &ev) < 0)
		return;
	ok_begin(r);
	svca_put_str(r->reply, F_NAME, a.name);
	svca_put_u64(r->reply, F_UID, a.uid);
	svca_frame_end(r->reply);
}

/* ---- audit ---------------------------------------------------------------------- */

static void audit_list_cmd(struct request *r)
{
	char account[SVCA_NAME_MAX + 2], event[64];
	uint64_t since = 0, limit = 0;

	if (require(r, PRIV_ADMIN, NULL) < 0 ||
	    get_str(r, F_ACCOUNT, account, sizeof(account), 0, "account") < 0 ||
	    get_str(r, F_EVENT, event, sizeof(event), 0, "event") < 0)
		return;
	if ((field(r, F_SINCE) && svca_field_u64(field(r, F_SINCE), &since) < 0) ||
	    (field(r, F_LIMIT) && svca_field_u64(field(r, F_LIMIT), &limit) < 0)) {
		fail(r, SVCA_ERR_BADREQ, "malformed --since or --limit");
		return;
	}
	ok_begin(r);
	if (audit_list(r->d->audit, r->reply, account, event, since, limit) < 0) {
		fail(r, SVCA_ERR_FAILED, "internal storage error reading the audit trail");
		return;
	}
	if (svca_frame_end(r->reply) < 0)
		fail(r, SVCA_ERR_FAILED, "too many audit events to send: use --limit or --since");
}

static void audit_verify_cmd(struct request *r)
{
	uint64_t checked, bad;
	char msg[256];

	if (require(r, PRIV_ADMIN, NULL) < 0)
		return;
	if (audit_verify(r->d->audit, &checked, &bad, msg, sizeof(msg)) < 0) {
		svca_frame_begin(r->reply, SVCA_ERR_FAILED);
		svca_put_u64(r->reply, F_SEQ, bad);
		svca_put_str(r->reply, F_MESSAGE, msg);
		svca_frame_end(r->reply);
		return;
	}
	ok_begin(r);
	svca_put_u64(r->reply, F_TOTAL, checked);
	svca_frame_end(r->reply);
}

/* ---- dispatch ------------------------------------------------------------------- */

uint32_t request_size_limit(uint16_t cmd)
{
	switch (cmd) {
	case SVCA_CMD_PING:
	case SVCA_CMD_TOKEN_CREATE:
	case SVCA_CMD_TOKEN_VERIFY:
	case SVCA_CMD_PAM_AUTH:
	case SVCA_CMD_PAM_AUTHORIZE:
	case SVCA_CMD_PAM_SESSION_OPEN:
	case SVCA_CMD_PAM_SESSION_CLOSE:
	case SVCA_CMD_JWKS:
		return SVCA_MAX_UNAUTH_REQUEST;
	default:
		return SVCA_MAX_REQUEST;
	}
}

void handle_request(struct request *r)
{
	peer_to_actor(r->d, r->peer, &r->actor);
	switch (r->cmd) {
	case SVCA_CMD_PING:
		ok_begin(r);
		svca_frame_end(r->reply);
		break;
	case SVCA_CMD_ACCOUNT_CREATE: account_create(r); break;
	case SVCA_CMD_ACCOUNT_LIST: account_list(r); break;
	case SVCA_CMD_ACCOUNT_SHOW: account_show(r); break;
	case SVCA_CMD_ACCOUNT_UPDATE: account_update(r); break;
	case SVCA_CMD_ACCOUNT_DISABLE: account_set_status(r, 1); break;
	case SVCA_CMD_ACCOUNT_ENABLE: account_set_status(r, 0); break;
	case SVCA_CMD_ACCOUNT_DELETE: account_delete(r); break;
	case SVCA_CMD_AUDIT_LIST: audit_list_cmd(r); break;
	case SVCA_CMD_AUDIT_VERIFY: audit_verify_cmd(r); break;
	default:
		fail(r, SVCA_ERR_BADREQ, "unknown or unsupported command %u",
		     (unsigned)r->cmd);
		break;
	}
}
