/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The request helpers every handler uses (cmd/): the caller model, replies,
 * fields, transactions with the audit trail, and the few steps that more
 * than one handler file needs.  Includes no handler file. */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "accounts.h"
#include "audit.h"
#include "keys.h"
#include "daemon.h"
#include "request.h"
#include "log.h"
#include "rbac.h"
#include "refusals.h"
#include "sockio.h"
#include "tokens.h"

/* ---- callers ---------------------------------------------------------------- */

/* The privileged groups come from the host's group file only, never
 * through NSS: libnss_svcacct answers for every service account's private
 * group (gid = uid), and an account named like a configured group must
 * never become that group.  For the same reason a gid inside the service
 * accounts' range [uid_min, uid_max] is ignored, wherever it comes from. */
static void resolve(const struct daemon *d, const char *setting, const struct strlist *names,
		    gid_t **out, size_t *n)
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
#define USER_CACHE_MS 5000

static void user_name(struct caller_names *c, uid_t uid, char *dst, size_t len)
{
	int64_t now = svca_now_ms();
	for (size_t i = 0; i < CALLER_NAME_SLOTS; i++)
		if (c->slot[i].at && c->slot[i].uid == uid && now - c->slot[i].at < USER_CACHE_MS) {
			snprintf(dst, len, "%s", c->slot[i].name);
			return;
		}
	struct passwd pw, *res = NULL;
	char buf[1024];
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(dst, len, "%s", res->pw_name);
	else
		snprintf(dst, len, "uid %u", (unsigned)uid);
	unsigned slot = c->next++ % CALLER_NAME_SLOTS;
	c->slot[slot].uid = uid;
	c->slot[slot].at = now;
	snprintf(c->slot[slot].name, sizeof(c->slot[slot].name), "%s", dst);
}

void peer_to_actor(struct daemon *d, const struct peer *p, struct actor *a)
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
	user_name(&d->names, p->uid, a->user, sizeof(a->user));
}

void req_actor_label(const struct actor *a, char *dst, size_t len)
{
	if (a->account[0])
		snprintf(dst, len, "%s (service account)", a->account);
	else
		snprintf(dst, len, "%s", a->user);
}

/* ---- replies ---------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) void req_fail(struct request *r, enum svca_status st,
						    const char *fmt, ...)
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

void req_defer(struct request *r, struct req_job *j)
{
	j->actor = r->actor;
	r->job = j;
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

int req_str(struct request *r, uint16_t tag, char *dst, size_t len, int required, const char *what)
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

void req_event(struct audit_event *ev, struct request *r, const char *event, const char *outcome)
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
	if (!strcmp(event, "admin.deny"))
		metrics_admin_refusal(&r->d->metrics); /* counted, even when coalesced */
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
	const char *cmd = r->cmd_name;
	char reason[96];
	snprintf(reason, sizeof(reason), "%s requires %s", cmd ? cmd : "command",
		 need == PRIV_SUPER ? "super-admin" : "admin");
	req_audit_refusal(r, "admin.deny", "denied", account, reason);
	/* By token the caller is the token's account, not the connection. */
	char who[128];
	req_actor_label(&r->actor, who, sizeof(who));
	req_fail(r, SVCA_ERR_NOTAUTH, "permission denied: %s needs %s rights (you are %s)",
		 cmd ? cmd : "this command", need == PRIV_SUPER ? "super-admin" : "admin", who);
	return -1;
}

/* Ends a mutation: appends its audit event and commits.  On any failure
 * the whole change is undone and the caller gets an error. */
int req_finish(struct request *r, struct audit_event *ev)
{
	if (audit_append(r->d->audit, ev) < 0 || store_commit(r->d->store) < 0) {
		req_txn_abort(r);
		if (store_low_space(r->d->store))
			req_fail(
				r, SVCA_ERR_FAILED,
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

/* ---- account names ---------------------------------------------------------- */

static const char name_rule[] = "use lowercase letters, digits, '_' and '-', starting with a "
				"letter or '_', at most 32 characters";

int req_account_name(struct request *r, uint16_t tag, char name[static SVCA_NAME_MAX + 2])
{
	if (req_str(r, tag, name, SVCA_NAME_MAX + 2, 1, "account name") < 0)
		return -1;
	if (!svca_account_name_valid(name)) {
		req_fail(r, SVCA_ERR_BADREQ, "invalid account name '%.40s': %s", name, name_rule);
		return -1;
	}
	return 0;
}

/* Loads the named account or replies "not found". */
int req_load_account(struct request *r, const char *name, struct account *a)
{
	int g = account_get(r->d->store, name, a);
	if (g < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error reading account '%s'", name);
		return -1;
	}
	if (g == 0) {
		req_fail(r, SVCA_ERR_NOTFOUND, "account '%s' does not exist", name);
		return -1;
	}
	return 0;
}

/* ---- secrets and credentials --------------------------------------------------- */

/* Copies a BYTES secret into a NUL-terminated buffer (wiped by caller). */
int req_secret(struct request *r, uint16_t tag, char *dst, size_t len)
{
	const struct svca_field *f = req_field(r, tag);
	if (!f || f->kind != SVCA_K_BYTES || f->len >= len)
		return -1;
	memcpy(dst, f->val, f->len);
	dst[f->len] = '\0';
	if (strlen(dst) != f->len) {
		sodium_memzero(dst, len);
		return -1;
	}
	return 0;
}

int req_audit_cred(struct request *r, const struct cred *c, const char *event, const char *service,
		   const char *rhost, const char *tty, const char *jti, const char *account)
{
	struct audit_event ev;
	int ok = c->result == CRED_OK;
	req_event(&ev, r, event, ok ? "success" : "denied");
	ev.account = account ? account : (c->key.uid ? c->account.name : NULL);
	ev.uid = ok ? c->account.uid : 0;
	ev.key_id = c->key_id[0] ? c->key_id : NULL;
	ev.jti = jti;
	ev.service = service;
	ev.rhost = rhost;
	ev.tty = tty;
	ev.reason = ok ? NULL : cred_reason(c->result);
	return audit_append(r->d->audit, &ev);
}

/* Records a refused exchange (and a lockout when it engaged). */
void req_cred_refused(struct request *r, const struct cred *c, int just_locked, const char *event,
		      const char *service, const char *rhost, const char *tty, const char *account)
{
	if (!refusals_admit(r->d, r->peer, &r->actor, event, just_locked ? "key.lockout" : NULL))
		return; /* counted: a flood from this caller (refusals.h) */
	req_txn_begin(r);
	int bad = req_audit_cred(r, c, event, service, rhost, tty, NULL, account) < 0;
	if (!bad && just_locked) {
		struct audit_event ev;
		char detail[80];
		req_event(&ev, r, "key.lockout", "denied");
		ev.key_id = c->key_id;
		snprintf(detail, sizeof(detail), "%d bad secrets; locked for %d s",
			 r->d->cfg.lockout_threshold, r->d->cfg.lockout_seconds);
		ev.detail = detail;
		bad = audit_append(r->d->audit, &ev) < 0;
	}
	if (bad || store_commit(r->d->store) < 0) {
		req_txn_abort(r);
		if (store_low_space(r->d->store) && refusals_unprivileged(r->peer, &r->actor))
			refusals_count(r->d, r->peer, &r->actor, event);
	} else {
		r->wrote = 1;
	}
}

/* The reply to a refused API key (token exchange, ssh sign). */
void req_cred_refusal_reply(struct request *r, const struct cred *c)
{
	int limited = c->result == CRED_RATE_LIMITED || c->result == CRED_LOCKED_OUT;
	svca_frame_begin(r->reply, SVCA_ERR_FAILED);
	svca_put_str(r->reply, F_REASON, limited ? cred_reason(c->result) : "invalid_key");
	if (limited) {
		char msg[80];
		snprintf(msg, sizeof(msg), "rate limited, retry in %d s", c->retry_after);
		svca_put_str(r->reply, F_MESSAGE, msg);
		svca_put_u64(r->reply, F_RETRY_AFTER, (uint64_t)c->retry_after);
	} else {
		/* The same words for every refusal: the caller must not
		 * learn whether a key id exists. */
		svca_put_str(r->reply, F_MESSAGE, "invalid API key");
	}
	svca_frame_end(r->reply);
}

/* Admin by token: a service account with an admin org role acts with it. */
int req_token_actor(struct request *r)
{
	char tok[TOKEN_MAX * 4];
	json_t *claims = NULL;
	struct account a;
	if (!req_field(r, F_AUTH_TOKEN))
		return 0;
	if (req_secret(r, F_AUTH_TOKEN, tok, sizeof(tok)) < 0) {
		r->token_refused = 1;
		req_fail(r, SVCA_ERR_NOTAUTH, "malformed session token");
		return -1;
	}
	enum tok_result t = token_verify(r->d, tok, strlen(tok), &claims, &a);
	sodium_memzero(tok, sizeof(tok));
	json_decref(claims);
	if (t != TOK_OK) {
		r->actor.priv = PRIV_NONE;
		r->token_refused = 1;
		req_audit_refusal(r, "admin.deny", "denied", NULL, tok_reason(t));
		req_fail(r, SVCA_ERR_NOTAUTH, "session token refused: %s", tok_reason(t));
		return -1;
	}
	snprintf(r->actor.account, sizeof(r->actor.account), "%s", a.name);
	r->actor.priv = a.org_role == ORG_SUPER   ? PRIV_SUPER
			: a.org_role == ORG_ADMIN ? PRIV_ADMIN
						  : PRIV_NONE;
	return 0;
}

/* ---- grants ---------------------------------------------------------------- */

/* Audits and deletes one grant inside the open transaction. */
int req_remove_grant(struct request *r, const struct grant *g, const char *why)
{
	struct account a;
	char name[SVCA_NAME_MAX + 1] = "";
	int have = account_get_by_uid(r->d->store, g->uid, &a);
	if (have < 0)
		return -1;
	if (have == 1) {
		snprintf(name, sizeof(name), "%s", a.name);
		/* outstanding tokens carry the removed grant */
		if (account_next_gen(r->d->store, &a.gen) < 0 || account_put(r->d->store, &a) < 0)
			return -1;
	}
	if (grant_del(r->d->store, g) < 0)
		return -1;
	struct audit_event ev;
	req_event(&ev, r, "grant.remove", "success");
	ev.account = name;
	ev.uid = g->uid;
	if (g->kind == SCOPE_WORKSPACE)
		ev.workspace = g->scope;
	else
		ev.team = g->scope;
	ev.reason = why;
	return audit_append(r->d->audit, &ev);
}

int req_remove_account_grants(struct request *r, uint32_t uid)
{
	struct grant *gs;
	size_t n;
	if (grant_of_account(r->d->store, uid, &gs, &n) < 0)
		return -1;
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = req_remove_grant(r, &gs[i], "account deleted");
	free(gs);
	return ret;
}
