/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The JSON binding of the native protocol (the hub's HTTPS API): one
 * table of field names and one of command names, and the generic
 * conversions frame <-> JSON built on them.  Used by svcacctd (the
 * /v1/commands/<name> endpoints) and by svcacctctl --hub, so both sides
 * agree by construction.  Needs jansson: linked into svcacctd and
 * svcacctctl only, never into the PAM or NSS modules.
 *
 * A request body is a JSON object whose members are the request's fields
 * by name: {"name": "bot", "org_role": "admin"}.  A reply is
 *
 *   {"status": N, "message": "...", "fields": {...}, "items": [{...}]}
 *
 * status is the native status (enum svca_status, equal to svcacctctl's
 * exit status), message only when the request failed, fields the reply's
 * fields before its first F_ITEM, items one object per list item.  STR and
 * BYTES fields are JSON strings, U64 fields integers; a field that
 * appears more than once in one object, or whose name is listed as
 * repeated (capability, source, service), is an array.
 */
#ifndef SVCACCT_PROTO_JSON_H
#define SVCACCT_PROTO_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "proto.h"

#define SVCA_JSON_LIST 1u  /* always an array in replies */
#define SVCA_JSON_NOREQ 2u /* never taken from a JSON request body */

struct svca_json_field {
	uint16_t tag;
	uint8_t kind; /* enum svca_kind */
	unsigned flags;
	const char *name;
};

struct svca_json_cmd {
	uint16_t cmd;     /* enum svca_cmd */
	const char *name; /* as in the daemon's command table */
};

/* Lookups in the tables; NULL when unknown.  The command table lists the
 * commands offered over HTTPS: every command but PAM's. */
const struct svca_json_field *svca_json_field_by_name(const char *name);
const struct svca_json_field *svca_json_field_by_tag(uint16_t tag);
const struct svca_json_cmd *svca_json_cmd_by_name(const char *name);
const struct svca_json_cmd *svca_json_cmd_by_id(uint16_t cmd);
/* The whole tables, for tests. */
const struct svca_json_field *svca_json_fields(size_t *n);
const struct svca_json_cmd *svca_json_cmds(size_t *n);

/* Appends the members of the JSON object obj to the frame being built in
 * b, as fields (a request body; F_ITEM and fields marked NOREQ are
 * refused).  0, or -1 with a message for the client in err (it names the
 * member, never echoes a value). */
int svca_json_put_fields(const json_t *obj, struct svca_buf *b, char *err, size_t errlen);

/* The fields of a request body as a JSON object (the inverse of
 * svca_json_put_fields).  NULL with err set when the body is malformed or
 * holds a field JSON cannot carry (an F_ITEM, a NOREQ field). */
json_t *svca_json_request_object(const uint8_t *body, size_t len, char *err, size_t errlen);

/* A reply frame (its status and body) as the reply document above.  NULL
 * when the body is malformed, a value does not fit JSON, or on ENOMEM. */
json_t *svca_json_reply_doc(uint16_t status, const uint8_t *body, size_t len);

/* The reply document back into a whole reply frame in b (header with the
 * status, then the fields, then each item after its F_ITEM).  0, or -1
 * with err set. */
int svca_json_reply_frame(const json_t *doc, struct svca_buf *b, char *err, size_t errlen);

#endif
