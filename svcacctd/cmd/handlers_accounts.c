/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Service account management commands. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "audit.h"
#include "handlers.h"
#include "request.h"
#include "sshca.h"
#include "keys.h"
#include "sockio.h"

/* ---- accounts ----------------------------------------------------------------- */

static int read_description(struct request *r, char *dst, int *given)
{
	int g = req_str(r, F_DESCRIPTION, dst, ACCOUNT_DESC_MAX + 1, 0, "description");
	if (g < 0)
		return -1;
	*given = g;
	return 0;
}

static int read_org_role(struct request *r, enum org_role *role, int *given)
{
	char buf[32];
	int g = req_str(r, F_ORG_ROLE, buf, sizeof(buf), 0, "role");
	if (g < 0)
		return -1;
	*given = g;
	if (g && org_role_parse(buf, role) < 0) {
		req_fail(r, SVCA_ERR_BADREQ,
			 "invalid role '%.31s': use member, admin or super-admin", buf);
		return -1;
	}
	/* Only Super Admins give or take the admin and super-admin roles. */
	return 0;
}

/* --break-glass: F_BREAK_GLASS 1 on, 0 off.  *given 0 when absent. */
static int read_break_glass(struct request *r, int *on, int *given)
{
	const struct svca_field *f = req_field(r, F_BREAK_GLASS);
	uint64_t v = 2;
	*given = f != NULL;
	if (f && (svca_field_u64(f, &v) < 0 || v > 1)) {
		req_fail(r, SVCA_ERR_BADREQ, "invalid break_glass: use on (1) or off (0)");
		return -1;
	}
	*on = v == 1;
	return 0;
}

static int name_available(struct request *r, const char *name, const char *event)
{
	struct account other;
	int g = account_get(r->d->store, name, &other);
	if (g < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error");
		return -1;
	}
	if (g == 1) {
		req_audit_refusal(r, event, "failure", name, "name_exists");
		req_fail(r, SVCA_ERR_FAILED, "account '%s' already exists", name);
		return -1;
	}
	const char *key = config_reserved_name(&r->d->cfg, name);
	if (key) {
		req_audit_refusal(r, event, "failure", name, "name_reserved");
		req_fail(r, SVCA_ERR_FAILED, "'%s' is named in %s of %s; choose another name", name,
			 key, r->d->cfg.path ? r->d->cfg.path : "svcacctd.conf");
		return -1;
	}
	if (host_name_taken(name)) {
		req_audit_refusal(r, event, "failure", name, "name_exists_on_host");
		req_fail(r, SVCA_ERR_FAILED,
			 "'%s' is already a user or group on this host; choose another name", name);
		return -1;
	}
	return 0;
}

void cmd_account_create(struct request *r)
{
	struct account a;
	int given_desc, given_role;
	enum org_role role = ORG_MEMBER;

	char name[SVCA_NAME_MAX + 2];
	memset(&a, 0, sizeof(a));
	if (req_account_name(r, F_NAME, name) < 0)
		return;
	memcpy(a.name, name, strlen(name) + 1); /* validated: fits */
	if (req_require(r, PRIV_ADMIN, a.name) < 0 ||
	    read_description(r, a.description, &given_desc) < 0 ||
	    read_org_role(r, &role, &given_role) < 0)
		return;
	if (role != ORG_MEMBER && req_require(r, PRIV_SUPER, a.name) < 0)
		return;
	if (name_available(r, a.name, "account.create") < 0)
		return;

	req_txn_begin(r);
	/* uid_max is reserved: it is the gid of sudo_group. */
	int u = account_alloc_uid(r->d->store, r->d->cfg.uid_min, r->d->cfg.uid_max - 1, &a.uid);
	if (u < 0) {
		req_storage_error(r);
		return;
	}
	if (u == 1) {
		req_txn_abort(r);
		req_audit_refusal(r, "account.create", "failure", a.name, "uid_range_exhausted");
		req_fail(r, SVCA_ERR_FAILED,
			 "no free uid left in the range %" PRIu32 "-%" PRIu32
			 " (uid_min/uid_max in %s; uid_max is the sudo group's gid)",
			 r->d->cfg.uid_min, r->d->cfg.uid_max - 1, r->d->cfg.path);
		return;
	}
	a.org_role = role;
	req_stamp(r, &a.created_at, a.created_by, sizeof(a.created_by));
	a.updated_at = a.created_at;
	memcpy(a.updated_by, a.created_by, sizeof(a.updated_by));
	/* A generation no account ever had: the tokens of an earlier account
	 * of this name (or uid) can never match this one. */
	if (account_next_gen(r->d->store, &a.gen) < 0 || account_put(r->d->store, &a) < 0) {
		req_storage_error(r);
		return;
	}
	struct audit_event ev;
	req_event(&ev, r, "account.create", "success");
	ev.account = a.name;
	ev.uid = a.uid;
	char detail[64];
	snprintf(detail, sizeof(detail), "org_role=%s", org_role_name(a.org_role));
	ev.detail = detail;
	if (req_finish(r, &ev) < 0)
		return;
	req_ok(r);
	account_to_reply(&a, r->reply);
	svca_frame_end(r->reply);
}

void cmd_account_list(struct request *r)
{
	struct {
		struct account *v;
		size_t n;
	} c;
	if (account_all_by_name(r->d->store, &c.v, &c.n) < 0) {
		req_fail(r, SVCA_ERR_FAILED, "internal storage error listing accounts");
		return;
	}
	req_ok(r);
	for (size_t i = 0; i < c.n; i++) {
		svca_put_mark(r->reply, F_ITEM);
		account_to_reply(&c.v[i], r->reply);
	}
	free(c.v);
	if (svca_frame_end(r->reply) < 0)
		req_fail(r, SVCA_ERR_FAILED, "the account list is too large to send");
}

void cmd_account_show(struct request *r)
{
	char name[SVCA_NAME_MAX + 2];
	struct account a;
	if (req_account_name(r, F_NAME, name) < 0)
		return;
	/* Anyone may ask about the account they are logged in as. */
	int own = account_get(r->d->store, name, &a) == 1 &&
		  (a.uid == r->peer->uid || !strcmp(r->actor.account, a.name));
	if (!own && req_require(r, PRIV_ADMIN, name) < 0)
		return;
	if (req_load_account(r, name, &a) < 0)
		return;
	req_ok(r);
	account_to_reply(&a, r->reply);
	svca_frame_end(r->reply);
}

void cmd_account_update(struct request *r)
{
	char name[SVCA_NAME_MAX + 2], newname[SVCA_NAME_MAX + 2];
	char desc[ACCOUNT_DESC_MAX + 1];
	struct account a;
	int given_desc, given_role, rename, given_bg, bg = 0;
	enum org_role role = ORG_MEMBER;

	if (req_account_name(r, F_NAME, name) < 0 || read_description(r, desc, &given_desc) < 0 ||
	    read_org_role(r, &role, &given_role) < 0 || read_break_glass(r, &bg, &given_bg) < 0)
		return;
	rename = req_field(r, F_NEW_NAME) != NULL;
	if (rename && req_account_name(r, F_NEW_NAME, newname) < 0)
		return;
	if (!rename && !given_desc && !given_role && !given_bg) {
		req_fail(r, SVCA_ERR_BADREQ,
			 "nothing to update: give --rename, --description, "
			 "--role or --break-glass");
		return;
	}
	if (req_load_account(r, name, &a) < 0)
		return;
	if (given_role && role != a.org_role && (role != ORG_MEMBER || a.org_role != ORG_MEMBER) &&
	    req_require(r, PRIV_SUPER, name) < 0)
		return;
	/* Break-glass is a privilege (logins past max_staleness): the same
	 * rights as giving the admin roles. */
	if (given_bg && req_require(r, PRIV_SUPER, name) < 0)
		return;
	if (rename && strcmp(newname, name) != 0 &&
	    name_available(r, newname, "account.update") < 0)
		return;

	char detail[256] = "";
	size_t dl = 0;
	int bump = 0;
	req_txn_begin(r);
	if (rename && strcmp(newname, name) != 0) {
		if (account_del(r->d->store, &a) < 0) {
			req_storage_error(r);
			return;
		}
		dl += (size_t)snprintf(detail + dl, sizeof(detail) - dl, "renamed from %s; ", name);
		memcpy(a.name, newname, strlen(newname) + 1); /* validated: fits */
		bump = 1; /* tokens name the account by its old name */
	}
	if (given_desc) {
		snprintf(a.description, sizeof(a.description), "%s", desc);
		dl += (size_t)snprintf(detail + dl, sizeof(detail) - dl, "description; ");
	}
	if (given_role && role != a.org_role) {
		dl += (size_t)snprintf(detail + dl, sizeof(detail) - dl, "org_role %s -> %s; ",
				       org_role_name(a.org_role), org_role_name(role));
		a.org_role = role;
		bump = 1; /* outstanding tokens carry the old role */
	}
	if (given_bg && bg != a.break_glass) {
		snprintf(detail + dl, sizeof(detail) - dl, "break_glass %s -> %s; ",
			 a.break_glass ? "on" : "off", bg ? "on" : "off");
		a.break_glass = bg;
	}
	req_stamp(r, &a.updated_at, a.updated_by, sizeof(a.updated_by));
	if ((bump && account_next_gen(r->d->store, &a.gen) < 0) ||
	    account_put(r->d->store, &a) < 0) {
		req_storage_error(r);
		return;
	}
	size_t dlen = strlen(detail);
	if (dlen >= 2)
		detail[dlen - 2] = '\0'; /* the last "; " */
	struct audit_event ev;
	req_event(&ev, r, "account.update", "success");
	ev.account = a.name;
	ev.uid = a.uid;
	ev.detail = detail;
	if (req_finish(r, &ev) < 0)
		return;
	req_ok(r);
	account_to_reply(&a, r->reply);
	svca_frame_end(r->reply);
}

static void account_set_status(struct request *r, int disable)
{
	char name[SVCA_NAME_MAX + 2];
	struct account a;
	const char *event = disable ? "account.disable" : "account.enable";

	if (req_account_name(r, F_NAME, name) < 0 || req_load_account(r, name, &a) < 0)
		return;
	req_txn_begin(r);
	if (a.disabled != disable) {
		a.disabled = disable;
		/* No generation bump: while disabled, token_verify refuses
		 * its tokens; enabling restores them (DESIGN.md section 3). */
		req_stamp(r, &a.updated_at, a.updated_by, sizeof(a.updated_by));
		if (account_put(r->d->store, &a) < 0) {
			req_storage_error(r);
			return;
		}
	}
	/* Its SSH certificates end for good (enabling does not bring them back). */
	if (disable && sshca_revoke_account(r->d, a.uid) < 0) {
		req_storage_error(r);
		return;
	}
	struct audit_event ev;
	req_event(&ev, r, event, "success");
	ev.account = a.name;
	ev.uid = a.uid;
	if (req_finish(r, &ev) < 0)
		return;
	req_ok(r);
	account_to_reply(&a, r->reply);
	svca_frame_end(r->reply);
}

void cmd_account_disable(struct request *r)
{
	account_set_status(r, 1);
}

void cmd_account_enable(struct request *r)
{
	account_set_status(r, 0);
}

/* A deleted account's keys are revoked (and audited): their records stay
 * as tombstones, and a later account that gets the same uid cannot be
 * reached with them. */
static int revoke_account_keys(struct request *r, const struct account *a)
{
	struct apikey *ks;
	size_t n;
	uint64_t now = (uint64_t)svca_wall_ms();
	if (key_of_account(r->d->store, a->uid, &ks, &n) < 0)
		return -1;
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		if (ks[i].status == KEY_REVOKED)
			continue;
		ks[i].status = KEY_REVOKED;
		ks[i].changed_at = now;
		struct audit_event ev;
		req_event(&ev, r, "key.revoke", "success");
		ev.account = a->name;
		ev.uid = a->uid;
		ev.key_id = ks[i].key_id;
		ev.reason = "account deleted";
		ret = key_put(r->d->store, &ks[i]) < 0 || audit_append(r->d->audit, &ev) < 0 ? -1
											     : 0;
	}
	free(ks);
	if (ret == 0 && key_index_drop(r->d->store, a->uid) < 0)
		ret = -1;
	return ret;
}

void cmd_account_delete(struct request *r)
{
	char name[SVCA_NAME_MAX + 2];
	struct account a;

	if (req_account_name(r, F_NAME, name) < 0 || req_load_account(r, name, &a) < 0)
		return;
	req_txn_begin(r);
	if (revoke_account_keys(r, &a) < 0 || req_remove_account_grants(r, a.uid) < 0 ||
	    sshca_revoke_account(r->d, a.uid) < 0 || account_del(r->d->store, &a) < 0) {
		req_storage_error(r);
		return;
	}
	struct audit_event ev;
	req_event(&ev, r, "account.delete", "success");
	ev.account = a.name;
	ev.uid = a.uid;
	if (req_finish(r, &ev) < 0)
		return;
	req_ok(r);
	svca_put_str(r->reply, F_NAME, a.name);
	svca_put_u64(r->reply, F_UID, a.uid);
	svca_frame_end(r->reply);
}
