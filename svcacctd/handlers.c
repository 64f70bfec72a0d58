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
#include "handlers.h"
#include "log.h"
#include "refusals.h"
#include "sockio.h"

/* ---- callers ---------------------------------------------------------------- */

/* The privileged groups come from the host's group file only, never
 * through NSS: libnss_svcacct answers for every service account's private
 * group (gid = uid), and an account named like a configured group must
 * never become that group.  For the same reason a gid inside the service
 * accounts' range [uid_min, uid_max] is ignored, wherever it comes from. */
static void resolve(const struct daemon *d, const char *setting,
		    const struct strlist *names, gid_t **out, size_t *n)
{
	free(*out);
	*out = calloc(names->n ? names->n : 1, sizeof(gid_t));
	*n = 0;
	if (!*out)
		return;
	for (size_t i = 0; i < names->n; i++) {
		uint32_t gid;
		if (host_group_gid(names->v[i], &gid) != 1) {
			log_warn("%s: group '%s' is not in %s (privileged groups are read "
				 "from that file only, not through NSS); it grants nothing",
				 setting, names->v[i], host_group_file());
			continue;
		}
		if (gid >= d->cfg.uid_min && gid <= d->cfg.uid_max) {
			log_warn("%s: group '%s' has gid %" PRIu32 ", inside the service "
				 "accounts' range %" PRIu32 "-%" PRIu32 "; it grants nothing",
				 setting, names->v[i], gid, d->cfg.uid_min, d->cfg.uid_max);
			continue;
		}
		(*out)[(*n)++] = (gid_t)gid;
	}
}

static int warn_reserved(void *arg, const struct account *a)
{
	const struct daemon *d = arg;
	const char *key = config_reserved_name(&d->cfg, a->name);
	if (key)
		log_warn("%s names '%s', which is also a service account (uid %" PRIu32
			 "): the account's private group grants nothing (privileged "
			 "groups come from %s only); rename or delete the account",
			 key, a->name, a->uid, host_group_file());
	return 0;
}

void daemon_resolve_groups(struct daemon *d)
{
	resolve(d, "admin_groups", &d->cfg.admin_groups, &d->admin_gids, &d->n_admin_gids);
	resolve(d, "super_admin_groups", &d->cfg.super_admin_groups, &d->super_gids,
		&d->n_super_gids);
	/* A reload may name a group after an account that already exists. */
	if (d->store)
		account_foreach(d->store, warn_reserved, d);
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

/* The caller's user name labels the actor in audit records.  getpwuid_r
 * is an NSS lookup on every request (a read of /etc/passwd, or a round
 * trip to another NSS source: ~15 us here, ~100 us for a uid that "files"
 * does not know), paid by every token exchange and PAM call for the same
 * few callers: the last answers are kept for a few seconds. */
#define USER_CACHE_SLOTS 16
#define USER_CACHE_MS 5000

static struct {
	uid_t uid;
	int64_t at; /* 0 = empty */
	char name[64];
} user_cache[USER_CACHE_SLOTS];
static unsigned user_cache_next;

static void user_name(uid_t uid, char *dst, size_t len)
{
	int64_t now = svca_now_ms();
	for (size_t i = 0; i < USER_CACHE_SLOTS; i++)
		if (user_cache[i].at && user_cache[i].uid == uid &&
		    now - user_cache[i].at < USER_CACHE_MS) {
			snprintf(dst, len, "%s", user_cache[i].name);
			return;
		}
	struct passwd pw, *res = NULL;
	char buf[1024];
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(dst, len, "%s", res->pw_name);
	else
		snprintf(dst, len, "uid %u", (unsigned)uid);
	unsigned slot = user_cache_next++ % USER_CACHE_SLOTS;
	user_cache[slot].uid = uid;
	user_cache[slot].at = now;
	snprintf(user_cache[slot].name, sizeof(user_cache[slot].name), "%s", dst);
}

void peer_to_actor(const struct daemon *d, const struct peer *p, struct actor *a)
{
	memset(a, 0, sizeof(*a));
	a->uid = p->uid;
	if (p->uid == 0 || in_groups(p, d->super_gids, d->n_super_gids))
		a->priv = PRIV_SUPER;
	else if (in_groups(p, d->admin_gids, d->n_admin_gids))
		a->priv = PRIV_ADMIN;
	if (p->addr[0]) { /* a TCP client of the HTTP front: no uid */
		snprintf(a->user, sizeof(a->user), "http %.50s", p->addr);
		return;
	}
	user_name(p->uid, a->user, sizeof(a->user));
}

void req_actor_label(const struct actor *a, char *dst, size_t len)
{
	if (a->account[0])
		snprintf(dst, len, "%s (service account)", a->account);
	else
		snprintf(dst, len, "%s", a->user);
}

/* ---- replies ---------------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
void req_fail(struct request *r, enum svca_status st, const char *fmt, ...)
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

void req_ok(struct request *r)
{
	svca_frame_begin(r->reply, SVCA_OK);
}

/* Request field helpers.  A field given twice is a malformed request. */
const struct svca_field *req_field(const struct request *r, uint16_t tag)
{
	return svca_fields_find(r->f, r->nf, tag);
}

int req_str(struct request *r, uint16_t tag, char *dst, size_t len,
		   int required, const char *what)
{
	const struct svca_field *f = req_field(r, tag);
	if (!f) {
		dst[0] = '\0';
		if (required) {
			req_fail(r, SVCA_ERR_BADREQ, "missing %s", what);
			return -1;
		}
		return 0;
	}
	if (svca_field_str(f, dst, len) < 0) {
		req_fail(r, SVCA_ERR_BADREQ, "%s is too long (at most %zu characters)", what,
		     len - 1);
		return -1;
	}
	return 1;
}

/* ---- transactions ---------------------------------------------------------------- */

void req_txn_begin(struct request *r)
{
	store_begin(r->d->store);
	r->audit_mark = audit_mark(r->d->audit);
	/* Unprivileged callers' writes keep off the reserve (refusals.h). */
	if (refusals_unprivileged(r->peer, &r->actor))
		store_txn_reserve(r->d->store, (uint64_t)r->d->cfg.state_reserve_mb << 20);
}

void req_txn_abort(struct request *r)
{
	store_abort(r->d->store);
	audit_rollback(r->d->audit, r->audit_mark);
}

/* ---- audit helpers ------------------------------------------------------------ */

void req_event(struct audit_event *ev, struct request *r, const char *event,
		       const char *outcome)
{
	memset(ev, 0, sizeof(*ev));
	ev->event = event;
	ev->outcome = outcome;
	ev->actor = &r->actor;
	ev->peer = r->peer;
}

/* Records a refusal or failure in its own transaction, or counts it
 * (a flood of refusals from one caller, or too little space: refusals.h). */
void req_audit_refusal(struct request *r, const char *event, const char *outcome,
			  const char *account, const char *reason)
{
	struct audit_event ev;
	if (!refusals_admit(r->d, r->peer, &r->actor, event, NULL))
		return;
	req_event(&ev, r, event, outcome);
	ev.account = account;
	ev.reason = reason;
	req_txn_begin(r);
	if (audit_append(r->d->audit, &ev) < 0 || store_commit(r->d->store) < 0) {
		req_txn_abort(r);
		if (store_low_space(r->d->store) && refusals_unprivileged(r->peer, &r->actor))
			refusals_count(r->d, r->peer, &r->actor, event);
		else
			log_err("cannot record audit event %s", event);
		return;
	}
	r->wrote = 1;
}

/* Management needs at least `need`; refusals are audited as admin.deny. */
int req_require(struct request *r, enum privilege need, const char *account)
{
	if (r->actor.priv >= need)
		return 0;
	const char *cmd = svca_cmd_name(r->cmd);
	char reason[96];
	snprintf(reason, sizeof(reason), "%s requires %s", cmd ? cmd : "command",
		 need == PRIV_SUPER ? "super-admin" : "admin");
	req_audit_refusal(r, "admin.deny", "denied", account, reason);
	req_fail(r, SVCA_ERR_NOTAUTH, "permission denied: %s needs %s rights (you are %s)",
	     cmd ? cmd : "this command",
	     need == PRIV_SUPER ? "super-admin" : "admin", r->actor.user);
	return -1;
}

/* Ends a mutation: appends its audit event and commits.  On any failure
 * the whole change is undone and the caller gets an error. */
int req_finish(struct request *r, struct audit_event *ev)
{
	if (audit_append(r->d->audit, ev) < 0 || store_commit(r->d->store) < 0) {
		req_txn_abort(r);
		if (store_low_space(r->d->store))
			req_fail(r, SVCA_ERR_FAILED,
				 "%s failed: no space left for the state in %s; nothing was changed",
				 ev->event, r->d->cfg.state_dir);
		else
			req_fail(r, SVCA_ERR_FAILED, "%s failed: the change could not be recorded",
				 ev->event);
		return -1;
	}
	r->wrote = 1;
	/* Who resolves as what (passwd, group, sudo_group) may have changed. */
	if (!strncmp(ev->event, "account.", 8) || !strncmp(ev->event, "grant.", 6) ||
	    !strncmp(ev->event, "team.", 5) || !strncmp(ev->event, "workspace.", 10))
		r->d->nss_dirty = 1;
	return 0;
}

int req_storage_error(struct request *r)
{
	req_txn_abort(r);
	if (store_low_space(r->d->store))
		req_fail(r, SVCA_ERR_FAILED,
			 "no space left for the state in %s; nothing was changed",
			 r->d->cfg.state_dir);
	else
		req_fail(r, SVCA_ERR_FAILED, "internal storage error; nothing was changed");
	return -1;
}

void req_stamp(struct request *r, uint64_t *at, char *by, size_t bylen)
{
	*at = (uint64_t)svca_wall_ms();
	req_actor_label(&r->actor, by, bylen);
}

/* ---- audit ---------------------------------------------------------------------- */

static void audit_list_cmd(struct request *r)
{
	char account[SVCA_NAME_MAX + 2], event[64];
	uint64_t since = 0, limit = 0;

	if (req_require(r, PRIV_ADMIN, NULL) < 0 ||
	    req_str(r, F_ACCOUNT, account, sizeof(account), 0, "account") < 0 ||
	    req_str(r, F_EVENT, event, sizeof(event), 0, "event") < 0)
		return;
	if ((req_field(r, F_SINCE) && svca_field_u64(req_field(r, F_SINCE), &since) < 0) ||
	    (req_field(r, F_LIMIT) && svca_field_u64(req_field(r, F_LIMIT), &limit) < 0)) {
		req_fail(r, SVCA_ERR_BADREQ, "malformed --since or --limit");
		return;
	}
	req_ok(r);
	if (audit_list(r->d->audit, r->reply, account, event, since, limit) < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error reading the audit trail");
		return;
	}
	if (svca_frame_end(r->reply) < 0)
		req_fail(r, SVCA_ERR_FAILED, "too many audit events to send: use --limit or --since");
}

static void audit_verify_cmd(struct request *r)
{
	uint64_t checked, bad;
	char msg[256];

	if (req_require(r, PRIV_ADMIN, NULL) < 0)
		return;
	if (audit_verify(r->d->audit, &checked, &bad, msg, sizeof(msg)) < 0) {
		svca_frame_begin(r->reply, SVCA_ERR_FAILED);
		svca_put_u64(r->reply, F_SEQ, bad);
		svca_put_str(r->reply, F_MESSAGE, msg);
		svca_frame_end(r->reply);
		return;
	}
	req_ok(r);
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
	if (req_token_actor(r) < 0)
		return;
	switch (r->cmd) {
	case SVCA_CMD_PING:
		req_ok(r);
		svca_frame_end(r->reply);
		break;
	case SVCA_CMD_ACCOUNT_CREATE: cmd_account_create(r); break;
	case SVCA_CMD_ACCOUNT_LIST: cmd_account_list(r); break;
	case SVCA_CMD_ACCOUNT_SHOW: cmd_account_show(r); break;
	case SVCA_CMD_ACCOUNT_UPDATE: cmd_account_update(r); break;
	case SVCA_CMD_ACCOUNT_DISABLE: cmd_account_set_status(r, 1); break;
	case SVCA_CMD_ACCOUNT_ENABLE: cmd_account_set_status(r, 0); break;
	case SVCA_CMD_ACCOUNT_DELETE: cmd_account_delete(r); break;
	case SVCA_CMD_ACCOUNT_ACCESS: cmd_account_access(r); break;
	case SVCA_CMD_TEAM_CREATE: cmd_team_create(r); break;
	case SVCA_CMD_TEAM_LIST: cmd_team_list(r); break;
	case SVCA_CMD_TEAM_DELETE: cmd_team_delete(r); break;
	case SVCA_CMD_WORKSPACE_CREATE: cmd_workspace_create(r); break;
	case SVCA_CMD_WORKSPACE_LIST: cmd_workspace_list(r); break;
	case SVCA_CMD_WORKSPACE_DELETE: cmd_workspace_delete(r); break;
	case SVCA_CMD_GRANT_ADD: cmd_grant_add(r); break;
	case SVCA_CMD_GRANT_REMOVE: cmd_grant_remove(r); break;
	case SVCA_CMD_GRANT_LIST: cmd_grant_list(r); break;
	case SVCA_CMD_PAM_AUTHORIZE: cmd_pam_authorize(r); break;
	case SVCA_CMD_KEY_CREATE: cmd_key_create(r); break;
	case SVCA_CMD_KEY_LIST: cmd_key_list(r); break;
	case SVCA_CMD_KEY_ENABLE: cmd_key_set_status(r, 0); break;
	case SVCA_CMD_KEY_DISABLE: cmd_key_set_status(r, 1); break;
	case SVCA_CMD_KEY_REVOKE: cmd_key_set_status(r, 2); break;
	case SVCA_CMD_TOKEN_CREATE: cmd_token_create(r); break;
	case SVCA_CMD_TOKEN_VERIFY: cmd_token_verify(r); break;
	case SVCA_CMD_TOKEN_REVOKE: cmd_token_revoke(r); break;
	case SVCA_CMD_JWKS: cmd_jwks(r); break;
	case SVCA_CMD_SIGNING_KEY_ROTATE: cmd_signing_key_rotate(r); break;
	case SVCA_CMD_PAM_AUTH: cmd_pam_auth(r); break;
	case SVCA_CMD_PAM_SESSION_OPEN: cmd_pam_session_open(r); break;
	case SVCA_CMD_PAM_SESSION_CLOSE: cmd_pam_session_close(r); break;
	case SVCA_CMD_AUDIT_LIST: audit_list_cmd(r); break;
	case SVCA_CMD_AUDIT_VERIFY: audit_verify_cmd(r); break;
	default:
		req_fail(r, SVCA_ERR_BADREQ, "unknown or unsupported command %u",
		     (unsigned)r->cmd);
		break;
	}
}
