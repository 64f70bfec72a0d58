/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The JSON binding of the native protocol: tables and conversions
 * (proto_json.h). */
#include "proto_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LIST SVCA_JSON_LIST
#define NOREQ SVCA_JSON_NOREQ

/* Every field tag of proto.h, by the name JSON gives it. */
static const struct svca_json_field fields[] = {
	{ F_ITEM, SVCA_K_MARK, NOREQ, "item" },
	{ F_MESSAGE, SVCA_K_STR, NOREQ, "message" },
	{ F_NAME, SVCA_K_STR, 0, "name" },
	{ F_NEW_NAME, SVCA_K_STR, 0, "new_name" },
	{ F_DESCRIPTION, SVCA_K_STR, 0, "description" },
	{ F_ORG_ROLE, SVCA_K_STR, 0, "org_role" },
	{ F_STATUS, SVCA_K_STR, 0, "status" },
	{ F_UID, SVCA_K_U64, 0, "uid" },
	{ F_CREATED_AT, SVCA_K_U64, 0, "created_at" },
	{ F_CREATED_BY, SVCA_K_STR, 0, "created_by" },
	{ F_UPDATED_AT, SVCA_K_U64, 0, "updated_at" },
	{ F_UPDATED_BY, SVCA_K_STR, 0, "updated_by" },
	{ F_LAST_ACTIVITY, SVCA_K_U64, 0, "last_activity" },
	{ F_FORCE, SVCA_K_U64, 0, "force" },
	{ F_TEAM, SVCA_K_STR, 0, "team" },
	{ F_WORKSPACE, SVCA_K_STR, 0, "workspace" },
	{ F_ROLE, SVCA_K_STR, 0, "role" },
	{ F_CAPABILITY, SVCA_K_STR, LIST, "capability" },
	{ F_SOURCE, SVCA_K_STR, LIST, "source" },
	{ F_SERVICE, SVCA_K_STR, LIST, "service" },
	{ F_KEY_ID, SVCA_K_STR, 0, "key_id" },
	{ F_KEY, SVCA_K_BYTES, 0, "key" },
	{ F_TOKEN, SVCA_K_BYTES, 0, "token" },
	{ F_LABEL, SVCA_K_STR, 0, "label" },
	{ F_EXPIRES_AT, SVCA_K_U64, 0, "expires_at" },
	{ F_LAST_USED_AT, SVCA_K_U64, 0, "last_used_at" },
	{ F_EXPIRES_DAYS, SVCA_K_U64, 0, "expires_days" },
	{ F_EXPIRES_IN, SVCA_K_U64, 0, "expires_in" },
	{ F_JSON, SVCA_K_STR, 0, "json" },
	{ F_RHOST, SVCA_K_STR, 0, "rhost" },
	{ F_TTY, SVCA_K_STR, 0, "tty" },
	{ F_PID, SVCA_K_U64, 0, "pid" },
	{ F_REASON, SVCA_K_STR, 0, "reason" },
	{ F_ALLOWED, SVCA_K_U64, 0, "allowed" },
	{ F_ACCOUNT, SVCA_K_STR, 0, "account" },
	{ F_EVENT, SVCA_K_STR, 0, "event" },
	{ F_SINCE, SVCA_K_U64, 0, "since" },
	{ F_LIMIT, SVCA_K_U64, 0, "limit" },
	{ F_SEQ, SVCA_K_U64, 0, "seq" },
	{ F_TOTAL, SVCA_K_U64, 0, "total" },
	{ F_ON_HOST, SVCA_K_U64, 0, "on_host" },
	/* The Authorization header carries it, never the body. */
	{ F_AUTH_TOKEN, SVCA_K_BYTES, NOREQ, "auth_token" },
	{ F_RETRY_AFTER, SVCA_K_U64, 0, "retry_after" },
	{ F_LAST_USED_UID, SVCA_K_U64, 0, "last_used_uid" },
	{ F_LAST_USED_PID, SVCA_K_U64, 0, "last_used_pid" },
	{ F_LAST_USED_SERVICE, SVCA_K_STR, 0, "last_used_service" },
	{ F_AUTHORIZE, SVCA_K_U64, 0, "authorize" },
	{ F_ACCT_ALLOWED, SVCA_K_U64, 0, "acct_allowed" },
	{ F_ACCT_REASON, SVCA_K_STR, 0, "acct_reason" },
	{ F_ACCT_MESSAGE, SVCA_K_STR, 0, "acct_message" },
	{ F_NO_TOKEN, SVCA_K_U64, 0, "no_token" },
	{ F_HOST_ID, SVCA_K_STR, 0, "host_id" },
	/* a request gives one "a,b" text; a reply lists them */
	{ F_WORKSPACES, SVCA_K_STR, LIST, "workspaces" },
	{ F_CREDENTIAL, SVCA_K_BYTES, 0, "credential" },
	{ F_LAST_SEEN, SVCA_K_U64, 0, "last_seen" },
	{ F_SNAPSHOT_SEQ, SVCA_K_U64, 0, "snapshot_seq" },
	{ F_LAG_S, SVCA_K_U64, 0, "lag_s" },
	{ F_TTL, SVCA_K_U64, 0, "ttl" },
	{ F_MODE, SVCA_K_STR, 0, "mode" },
	{ F_URL, SVCA_K_STR, 0, "url" },
	{ F_REACHABLE, SVCA_K_U64, 0, "reachable" },
	{ F_AGE_S, SVCA_K_U64, 0, "age_s" },
	{ F_STALE, SVCA_K_U64, 0, "stale" },
	{ F_HOST_STATUS, SVCA_K_STR, 0, "host_status" },
	{ F_AUDIT_PENDING, SVCA_K_U64, 0, "audit_pending" },
	{ F_AUDIT_FORWARDED_AT, SVCA_K_U64, 0, "audit_forwarded_at" },
	{ F_HOST_SEQ, SVCA_K_U64, 0, "host_seq" },
	{ F_BREAK_GLASS, SVCA_K_U64, 0, "break_glass" },
	{ F_SETTINGS, SVCA_K_STR, 0, "settings" },
	{ F_PUBLIC_KEY, SVCA_K_STR, 0, "public_key" },
	{ F_CERTIFICATE, SVCA_K_STR, 0, "certificate" },
	{ F_SERIAL, SVCA_K_U64, 0, "serial" },
	{ F_VALID_BEFORE, SVCA_K_U64, 0, "valid_before" },
	{ F_FINGERPRINT, SVCA_K_STR, 0, "fingerprint" },
	{ F_CA_FINGERPRINT, SVCA_K_STR, 0, "ca_fingerprint" },
	{ F_SSH_CERT, SVCA_K_STR, 0, "ssh_cert" },
	{ F_VALID_AFTER, SVCA_K_U64, 0, "valid_after" },
	{ F_METHOD, SVCA_K_STR, 0, "method" },
	{ F_EXPIRING_DAYS, SVCA_K_U64, 0, "expiring_days" },
	{ F_AUDIT_OUTCOME, SVCA_K_STR, 0, "audit_outcome" },
	{ F_AUDIT_SERVICE, SVCA_K_STR, 0, "audit_service" },
	{ F_AUDIT_UNTIL, SVCA_K_U64, 0, "audit_until" },
	{ F_AUDIT_AFTER_SEQ, SVCA_K_U64, 0, "audit_after_seq" },
	{ F_AUDIT_HEAD, SVCA_K_U64, 0, "audit_head" },
	{ F_USER_MESSAGE, SVCA_K_STR, 0, "user_message" },
};

/* The commands offered over HTTPS, named as in the daemon's command table
 * (svcacctd/cmd/dispatch.c; test_dispatch checks that they agree).  PAM's
 * commands are for the host's own PAM stack (root on the socket): not
 * here. */
static const struct svca_json_cmd cmds[] = {
	{ SVCA_CMD_PING, "ping" },
	{ SVCA_CMD_ACCOUNT_CREATE, "account.create" },
	{ SVCA_CMD_ACCOUNT_LIST, "account.list" },
	{ SVCA_CMD_ACCOUNT_SHOW, "account.show" },
	{ SVCA_CMD_ACCOUNT_UPDATE, "account.update" },
	{ SVCA_CMD_ACCOUNT_DISABLE, "account.disable" },
	{ SVCA_CMD_ACCOUNT_ENABLE, "account.enable" },
	{ SVCA_CMD_ACCOUNT_DELETE, "account.delete" },
	{ SVCA_CMD_ACCOUNT_ACCESS, "account.access" },
	{ SVCA_CMD_TEAM_CREATE, "team.create" },
	{ SVCA_CMD_TEAM_LIST, "team.list" },
	{ SVCA_CMD_TEAM_DELETE, "team.delete" },
	{ SVCA_CMD_WORKSPACE_CREATE, "workspace.create" },
	{ SVCA_CMD_WORKSPACE_LIST, "workspace.list" },
	{ SVCA_CMD_WORKSPACE_DELETE, "workspace.delete" },
	{ SVCA_CMD_GRANT_ADD, "grant.add" },
	{ SVCA_CMD_GRANT_REMOVE, "grant.remove" },
	{ SVCA_CMD_GRANT_LIST, "grant.list" },
	{ SVCA_CMD_KEY_CREATE, "key.create" },
	{ SVCA_CMD_KEY_LIST, "key.list" },
	{ SVCA_CMD_KEY_DISABLE, "key.disable" },
	{ SVCA_CMD_KEY_ENABLE, "key.enable" },
	{ SVCA_CMD_KEY_REVOKE, "key.revoke" },
	{ SVCA_CMD_TOKEN_CREATE, "token.create" },
	{ SVCA_CMD_TOKEN_VERIFY, "token.verify" },
	{ SVCA_CMD_TOKEN_REVOKE, "token.revoke" },
	{ SVCA_CMD_JWKS, "jwks" },
	{ SVCA_CMD_SIGNING_KEY_ROTATE, "signing_key.rotate" },
	{ SVCA_CMD_AUDIT_LIST, "audit.list" },
	{ SVCA_CMD_AUDIT_VERIFY, "audit.verify" },
	{ SVCA_CMD_HOST_TOKEN_CREATE, "host.token_create" },
	{ SVCA_CMD_HOST_LIST, "host.list" },
	{ SVCA_CMD_HOST_SHOW, "host.show" },
	{ SVCA_CMD_HOST_UPDATE, "host.update" },
	{ SVCA_CMD_HOST_DISABLE, "host.disable" },
	{ SVCA_CMD_HOST_REMOVE, "host.remove" },
	{ SVCA_CMD_HOST_REGISTER, "host.register" },
	{ SVCA_CMD_HOST_ENROLL, "host.enroll" },
	{ SVCA_CMD_FLEET_STATUS, "fleet.status" },
	{ SVCA_CMD_SSH_SIGN, "ssh.sign" },
	{ SVCA_CMD_SSH_CA, "ssh.ca" },
	{ SVCA_CMD_SSH_LIST, "ssh.list" },
	{ SVCA_CMD_SSH_REVOKE, "ssh.revoke" },
	{ SVCA_CMD_SSH_CA_ROTATE, "ssh_ca.rotate" },
	{ SVCA_CMD_KEY_LIST_ALL, "key.list_all" },
	{ SVCA_CMD_ACCOUNT_FIND, "account.find" },
	{ SVCA_CMD_ACCESS_LIST, "access.list" },
	/* named like every non-PAM command; the handler answers local
	 * callers only (root, the daemon's user, ssh_principals_user) */
	{ SVCA_CMD_SSH_PRINCIPALS, "ssh.principals" },
};

#define NFIELDS (sizeof(fields) / sizeof(fields[0]))
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

const struct svca_json_field *svca_json_fields(size_t *n)
{
	*n = NFIELDS;
	return fields;
}

const struct svca_json_cmd *svca_json_cmds(size_t *n)
{
	*n = NCMDS;
	return cmds;
}

const struct svca_json_field *svca_json_field_by_name(const char *name)
{
	for (size_t i = 0; name && i < NFIELDS; i++)
		if (!strcmp(fields[i].name, name))
			return &fields[i];
	return NULL;
}

const struct svca_json_field *svca_json_field_by_tag(uint16_t tag)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (fields[i].tag == tag)
			return &fields[i];
	return NULL;
}

const struct svca_json_cmd *svca_json_cmd_by_name(const char *name)
{
	for (size_t i = 0; name && i < NCMDS; i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

const struct svca_json_cmd *svca_json_cmd_by_id(uint16_t cmd)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (cmds[i].cmd == cmd)
			return &cmds[i];
	return NULL;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- JSON -> frame ----------------------------------------------------- */

/* One value of field f into b.  Messages name the field only: a value
 * may be a secret. */
static int put_value(const struct svca_json_field *f, const json_t *v, struct svca_buf *b,
		     char *err, size_t errlen)
{
	if (f->kind == SVCA_K_U64) {
		if (json_is_boolean(v)) {
			svca_put_u64(b, f->tag, json_is_true(v) ? 1 : 0);
			return 0;
		}
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return fail(err, errlen, "'%s' must be a non-negative integer", f->name);
		svca_put_u64(b, f->tag, (uint64_t)json_integer_value(v));
		return 0;
	}
	if (f->kind != SVCA_K_STR && f->kind != SVCA_K_BYTES)
		return fail(err, errlen, "'%s' cannot be given", f->name);
	if (!json_is_string(v))
		return fail(err, errlen, "'%s' must be a string", f->name);
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (strlen(s) != n)
		return fail(err, errlen, "'%s' must not contain a NUL character", f->name);
	if (n > SVCA_MAX_STRING)
		return fail(err, errlen, "'%s' is too long (at most %u bytes)", f->name,
			    SVCA_MAX_STRING);
	if (f->kind == SVCA_K_BYTES)
		svca_put_bytes(b, f->tag, s, n);
	else
		svca_put_strn(b, f->tag, s, n);
	return 0;
}

/* Members of obj as fields; allow_noreq for reply documents. */
static int put_object(const json_t *obj, struct svca_buf *b, int allow_noreq, char *err,
		      size_t errlen)
{
	const char *k;
	json_t *v;
	if (!json_is_object(obj))
		return fail(err, errlen, "the body must be a JSON object");
	json_object_foreach((json_t *)obj, k, v)
	{
		const struct svca_json_field *f = svca_json_field_by_name(k);
		if (!f || f->kind == SVCA_K_MARK || (!allow_noreq && (f->flags & NOREQ)))
			return fail(err, errlen, "unknown field '%.64s'", k);
		if (!json_is_array(v)) {
			if (put_value(f, v, b, err, errlen) < 0)
				return -1;
			continue;
		}
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			if (json_is_array(e) || put_value(f, e, b, err, errlen) < 0)
				return json_is_array(e) ? fail(err, errlen,
							       "'%s' must not nest arrays", f->name)
							: -1;
		}
	}
	if (b->failed)
		return fail(err, errlen, "the request is too large");
	return 0;
}

int svca_json_put_fields(const json_t *obj, struct svca_buf *b, char *err, size_t errlen)
{
	return put_object(obj, b, 0, err, errlen);
}

int svca_json_reply_frame(const json_t *doc, struct svca_buf *b, char *err, size_t errlen)
{
	const json_t *st = json_object_get(doc, "status");
	const json_t *fs = json_object_get(doc, "fields");
	const json_t *items = json_object_get(doc, "items");
	if (!json_is_object(doc) || !json_is_integer(st) || json_integer_value(st) < 0 ||
	    json_integer_value(st) > 255)
		return fail(err, errlen, "the reply has no valid status");
	svca_frame_begin(b, (uint16_t)json_integer_value(st));
	if (fs && put_object(fs, b, 1, err, errlen) < 0)
		return -1;
	if (items && !json_is_array(items))
		return fail(err, errlen, "the reply's items are not an array");
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		svca_put_mark(b, F_ITEM);
		if (put_object(it, b, 1, err, errlen) < 0)
			return -1;
	}
	if (svca_frame_end(b) < 0)
		return fail(err, errlen, "the reply is too large");
	return 0;
}

/* ---- frame -> JSON ----------------------------------------------------- */

static json_t *field_value(const struct svca_json_field *f, const struct svca_field *v)
{
	if (v->kind != f->kind)
		return NULL;
	if (f->kind == SVCA_K_U64) {
		uint64_t u;
		if (svca_field_u64(v, &u) < 0 || u > (uint64_t)INT64_MAX)
			return NULL;
		return json_integer((json_int_t)u);
	}
	return json_stringn((const char *)v->val, v->len); /* NULL: not UTF-8 */
}

/* Adds one field to obj: repeated names and LIST fields become arrays. */
static int add_field(json_t *obj, const struct svca_field *v)
{
	const struct svca_json_field *f = svca_json_field_by_tag(v->tag);
	if (!f)
		return 0; /* a newer peer's field: left out */
	json_t *val = field_value(f, v);
	if (!val)
		return -1;
	json_t *old = json_object_get(obj, f->name);
	if (!old && !(f->flags & LIST))
		return json_object_set_new(obj, f->name, val);
	if (!old) {
		json_t *a = json_array();
		if (!a || json_object_set_new(obj, f->name, a) < 0) {
			json_decref(val);
			return -1;
		}
		return json_array_append_new(a, val);
	}
	if (!json_is_array(old)) {
		json_t *a = json_array();
		if (!a || json_array_append(a, old) < 0 ||
		    json_object_set_new(obj, f->name, a) < 0) {
			json_decref(a);
			json_decref(val);
			return -1;
		}
		old = a;
	}
	return json_array_append_new(old, val);
}

json_t *svca_json_request_object(const uint8_t *body, size_t len, char *err, size_t errlen)
{
	struct svca_iter it;
	struct svca_field f;
	int k;
	json_t *obj = json_object();
	if (!obj) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	svca_iter_init(&it, body, len);
	while ((k = svca_iter_next(&it, &f)) == 1) {
		const struct svca_json_field *jf = svca_json_field_by_tag(f.tag);
		if (!jf || (jf->flags & NOREQ)) {
			fail(err, errlen, "field %u cannot be sent as JSON", (unsigned)f.tag);
			break;
		}
		if (add_field(obj, &f) < 0) {
			fail(err, errlen, "field '%s' cannot be sent as JSON", jf->name);
			break;
		}
	}
	if (k != 0) {
		if (k < 0)
			fail(err, errlen, "malformed request");
		json_decref(obj);
		return NULL;
	}
	return obj;
}

json_t *svca_json_reply_doc(uint16_t status, const uint8_t *body, size_t len)
{
	struct svca_iter it;
	struct svca_field f;
	int k;
	json_t *doc = json_object(), *top = json_object(), *items = json_array();
	json_t *cur = top;
	if (!doc || !top || !items || json_object_set_new(doc, "status", json_integer(status)) < 0)
		goto fail;
	svca_iter_init(&it, body, len);
	while ((k = svca_iter_next(&it, &f)) == 1) {
		if (f.tag == F_ITEM && f.kind == SVCA_K_MARK) {
			cur = json_object();
			if (!cur || json_array_append_new(items, cur) < 0)
				goto fail;
			continue;
		}
		if (status != SVCA_OK && f.tag == F_MESSAGE && f.kind == SVCA_K_STR &&
		    !json_object_get(doc, "message") &&
		    json_object_set_new(doc, "message", json_stringn((const char *)f.val, f.len)) <
			    0)
			goto fail;
		if (add_field(cur, &f) < 0)
			goto fail;
	}
	if (k < 0)
		goto fail;
	k = json_object_set_new(doc, "fields", top);
	top = NULL; /* set_new took it, even on failure */
	if (k < 0)
		goto fail;
	if (json_object_set_new(doc, "items", items) < 0) {
		items = NULL;
		goto fail;
	}
	return doc;
fail:
	json_decref(top);
	json_decref(items);
	json_decref(doc);
	return NULL;
}
