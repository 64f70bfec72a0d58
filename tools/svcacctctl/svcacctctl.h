/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * svcacctctl: the admin CLI of svcacctd.  Shared declarations of the
 * command table, the argument parser, reply decoding and output helpers.
 *
 * Adding a noun: write tools/svcacctctl/svcacctctl_NOUN.c with one handler per verb
 * (int ctl_NOUN_VERB(struct ctl *, int, char **)), declare them below and
 * add rows to the command table in svcacctctl.c.
 */
#ifndef SVCACCTCTL_H
#define SVCACCTCTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "defaults.h"
#include "proto.h"
#include "sockio.h"

#define CTL_PROG "svcacctctl"
#define CTL_VERSION SVCA_VERSION
#define CTL_DEFAULT_SOCKET SVCA_DEFAULT_SOCKET
#define CTL_DEFAULT_TIMEOUT_MS 10000
/* Who may serve the socket besides root (as pam_svcacct's daemon_user). */
#define CTL_DAEMON_USER SVCA_DEFAULT_DAEMON_USER

/* Exit statuses (the contract); the reply statuses have the same values. */
enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAILED = 1,
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_NOTAUTH = 3,
	CTL_EXIT_NOTFOUND = 4,
	CTL_EXIT_UNREACHABLE = 5,
};

struct ctl;

struct ctl_cmd {
	const char *noun;
	const char *verb;
	const char *args;    /* synopsis after "NOUN VERB" */
	const char *summary; /* one line, for the command list */
	const char *help;    /* longer text for "NOUN VERB --help", or NULL */
	int (*run)(struct ctl *c, int argc, char **argv);
};

/* Global state of one invocation. */
struct ctl {
	const char *socket;
	int json;
	int timeout_ms;
	/* --token-file FILE: a session token that acts as the caller ("admin by
	 * token"); NULL = $SVCACCT_TOKEN, if set */
	const char *token_file;
	/* --trust-uid UID: a daemon running as UID (instead of the daemon
	 * user _svcacct) may serve the socket; NULL = $SVCACCT_TRUST_UID */
	const char *trust_uid;
	/* --hub URL (else $SVCACCT_HUB): talk to a hub's HTTPS API instead
	 * of the socket; --ca FILE: the CA bundle that verifies it (NULL =
	 * the system CAs) */
	const char *hub;
	const char *ca;
	const struct ctl_cmd *cmd; /* the command being run */
};

/* ---- arguments (svcacctctl.c) ------------------------------------------ */

struct ctl_opt {
	const char *name;  /* long name without the leading "--" */
	int has_arg;       /* 1: takes a value (--name VALUE or --name=VALUE) */
	const char *value; /* out: the value ("1" for a flag), NULL if absent */
};

/*
 * Parses the arguments after "NOUN VERB": the options in opts (plus the
 * global --json, -s/--socket, --timeout, --token-file and --trust-uid), and between min_pos and max_pos
 * positional arguments (named by posnames, for messages) into pos.  Every
 * value is checked for control characters, invalid UTF-8 and length.
 * Returns 0, or CTL_EXIT_USAGE after printing the error.
 */
int ctl_parse_args(struct ctl *c, int argc, char **argv, struct ctl_opt *opts, size_t nopts,
		   const char *const *posnames, size_t min_pos, size_t max_pos, const char **pos);

/* Prints "svcacctctl: MESSAGE" and a usage hint for the current command
 * to stderr.  Returns CTL_EXIT_USAGE. */
__attribute__((format(printf, 2, 3))) int ctl_usage_error(const struct ctl *c, const char *fmt,
							  ...);

/* ---- errors (svcacctctl_err.c) ------------------------------------------ */

/* Every error goes through ctl_err_report: without --json it prints
 * "svcacctctl: MESSAGE" to stderr at once; with --json (ctl_err_set_json,
 * as soon as --json is parsed) it is kept, and ctl_err_flush(rc) prints
 * one line {"error": {"code": CODE, "message": MESSAGE}} on stderr when rc
 * is not 0.  code: a stable word (the daemon's F_REASON), NULL = the exit
 * status's (ctl_err_code_of: failed, usage, not_authorized, not_found,
 * unavailable). */
void ctl_err_set_json(int on);
int ctl_err_json(void);
const char *ctl_err_code_of(int status);
void ctl_err_report(const char *code, const char *msg);
void ctl_err_reportn(const char *code, size_t codelen, const char *msg, size_t n);
__attribute__((format(printf, 1, 2))) void ctl_err(const char *fmt, ...);
__attribute__((format(printf, 2, 3))) void ctl_err_code(const char *code, const char *fmt, ...);
/* "svcacctctl: warning: MESSAGE", or with --json {"warning": {"message":
 * ...}} at once: a warning does not fail the command. */
__attribute__((format(printf, 1, 2))) void ctl_warn(const char *fmt, ...);
/* At exit: prints the JSON error (see above); returns rc. */
int ctl_err_flush(int rc);

/* The largest uid --trust-uid takes ((uid_t)-1 is no user). */
#define CTL_UID_MAX 4294967294u

/* Parses a uid: decimal digits only, 0..CTL_UID_MAX.  0 (and *uid when
 * not NULL), or -1. */
int ctl_parse_uid(const char *s, int64_t *uid);

/* Usage error unless name is a valid account name. */
int ctl_check_account_name(const struct ctl *c, const char *name);

/* Usage error unless name is a valid team or workspace name.  what names
 * the kind in the message ("team", "workspace"). */
int ctl_check_scope_name(const struct ctl *c, const char *what, const char *name);

/* ---- shell completion (svcacctctl_complete.c) ---------------------------- */

/* svcacctctl --commands: prints a "global" line with the words of
 * global_options, then a "command NOUN VERB WORD..." line per command of
 * cmds, its options and positional arguments read from its synopsis. */
void ctl_complete_print(FILE *f, const char *global_options, const struct ctl_cmd *cmds, size_t n);

/* ---- replies (svcacctctl_util.c) ----------------------------------------- */

/* A list item, or the fields before the first F_ITEM (the "top" item). */
struct ctl_item {
	const struct svca_field *fields;
	size_t n;
};

struct ctl_reply {
	struct svca_reply raw;
	struct svca_field *fields;
	size_t nfields;
	struct ctl_item top;
	struct ctl_item *items; /* one per F_ITEM marker */
	size_t nitems;
};

/* A STR field's value: not NUL-terminated; p == NULL when absent. */
struct ctl_str {
	const char *p;
	size_t n;
};

/* Starts a request in b (svca_buf_init + svca_frame_begin). */
void ctl_request_begin(struct svca_buf *b, enum svca_cmd cmd);

/* Sends the request (and frees b), receives and decodes the reply.
 * Management requests also carry the session token of --token-file or
 * $SVCACCT_TOKEN (F_AUTH_TOKEN); token create, token verify and jwks never
 * do: they need no rights, and a stale token must not stand in their way.
 * Returns 0 with rep filled in (any status), or CTL_EXIT_UNREACHABLE /
 * CTL_EXIT_FAILED after printing the error.  rep needs ctl_reply_free
 * only after 0. */
int ctl_exchange(const struct ctl *c, struct svca_buf *b, struct ctl_reply *rep);

/* ---- a hub over HTTPS (svcacctctl_hub.c) ------------------------------- */

/* 1 when url may be given to --hub: https://, no query, no blanks. */
int ctl_hub_url_ok(const char *url);

/* Sends the ended request frame b to the hub c->hub (POST
 * /v1/commands/<name>, JSON, Authorization: Bearer tok when toklen) and
 * fills raw with the reply as a native one.  0, or an exit status after
 * printing the error (5: TLS failure, unreachable, timeout). */
int ctl_hub_exchange(const struct ctl *c, const struct svca_buf *b, const char *tok, size_t toklen,
		     struct svca_reply *raw);

/* ctl_exchange, then for a status other than SVCA_OK prints the reply's
 * message, frees rep and returns the exit status.  0 = rep holds an OK
 * reply and must be freed by the caller. */
int ctl_request(const struct ctl *c, struct svca_buf *b, struct ctl_reply *rep);

/* Prints the error of a failed reply to stderr; returns its exit status. */
int ctl_reply_error(const struct ctl *c, const struct ctl_reply *rep);

void ctl_reply_free(struct ctl_reply *rep);

/* 1 and the value when the item holds the field with the right kind. */
int ctl_get_str(const struct ctl_item *it, uint16_t tag, struct ctl_str *out);
int ctl_get_u64(const struct ctl_item *it, uint16_t tag, uint64_t *out);
/* The nth (from 0) STR field tag of the item, for repeated fields. */
int ctl_get_str_nth(const struct ctl_item *it, uint16_t tag, size_t nth, struct ctl_str *out);

/* Parses one positional NAME (no options), checks it is a valid account
 * name, and sends cmd carrying it as F_NAME (ctl_request).  *name (if not
 * NULL) is the parsed name.  0 = rep holds an OK reply and must be freed by the caller;
 * else the exit status, already reported. */
int ctl_name_request(struct ctl *c, int argc, char **argv, enum svca_cmd cmd, const char **name,
		     struct ctl_reply *rep);

/* token create and ssh sign: ctl_parse_args with the nnamed positionals
 * of names (all required) into pos, and every further one caught as a
 * "KEY", wiped in argv, never echoed: *on_argv 1 when there was one (an
 * API key given on the command line).  Returns ctl_parse_args's status,
 * or CTL_EXIT_FAILED (out of memory). */
int ctl_parse_args_no_key(struct ctl *c, int argc, char **argv, struct ctl_opt *opts, size_t nopts,
			  const char *const *names, size_t nnamed, const char **pos, int *on_argv);

/* signing-key rotate and ssh ca-rotate: no arguments; sends cmd, prints
 * the new key's id (the reply's field tag) on stdout, or --json
 * {json_key: id}, then note (a whole line, CTL_PROG ": ...\n") on stderr.
 * A reply without the field: "the daemon's reply holds no <what>".
 * Returns the exit status. */
struct ctl_rotate {
	enum svca_cmd cmd;
	uint16_t tag;
	const char *what;
	const char *json_key;
	const char *note;
};
int ctl_rotate(struct ctl *c, int argc, char **argv, const struct ctl_rotate *r);

/* team delete and workspace delete: parses SCOPE [--force] (pos_names names
 * the positional), checks it with ctl_check_scope_name(noun), sends cmd with
 * the name as field tag, and prints the JSON object or the "deleted NOUN
 * NAME (N grants removed)" line.  Returns the exit status. */
int ctl_scope_delete(struct ctl *c, int argc, char **argv, const char *noun, enum svca_cmd cmd,
		     uint16_t tag, const char *const *pos_names);

/* ---- text and time (svcacctctl_util.c) ----------------------------------- */

/* Length (1..4) of the valid UTF-8 sequence at p, 0 when invalid. */
size_t ctl_utf8_seq(const unsigned char *p, size_t n, uint32_t *cp);
/* 1 for C0 and C1 control characters and DEL. */
int ctl_is_control(uint32_t cp);
/* Writes s to f, replacing control characters and invalid bytes. */
void ctl_put_safe(FILE *f, const char *s, size_t n);
/* Terminal columns of s (code points; good enough for our columns). */
size_t ctl_width(const char *s, size_t n);

/* Formats ms since the epoch as ISO 8601 UTC ("2026-11-27T10:00:00Z", with
 * ".123" before the Z when with_ms).  -1 when out of range. */
int ctl_fmt_time(uint64_t ms, int with_ms, char *buf, size_t len);
#define CTL_TIME_BUFLEN 40

/* Parses a --since TIME: ISO 8601 (date, or date and time, UTC unless an
 * offset is given), @EPOCH seconds, or an age N{s,m,h,d,w}.  now_ms is the
 * wall clock.  0, or -1 when not understood. */
int ctl_parse_time(const char *s, int64_t now_ms, uint64_t *out_ms);

/* ---- tables (svcacctctl_util.c) ------------------------------------------ */

#define CTL_TABLE_MAXCOLS 8
#define CTL_CELL_BUFLEN 128

/* The text of column col for item it: a field's value, or text written
 * into buf (CTL_CELL_BUFLEN bytes).  p == NULL or an empty text shows as
 * "-", so that the columns stay countable. */
typedef struct ctl_str (*ctl_cell_fn)(const struct ctl_item *it, size_t col, char *buf);

/* Prints the titles, then one row per item; columns two spaces apart, the
 * last one unpadded.  ncols is at most CTL_TABLE_MAXCOLS. */
void ctl_print_table(const char *const *title, size_t ncols, const struct ctl_item *items,
		     size_t nitems, ctl_cell_fn cell);

/* Cells: the STR field tag; a U64 field in decimal; a timestamp field as
 * ISO 8601 UTC without ms (absent or 0: "-"). */
struct ctl_str ctl_cell_str(const struct ctl_item *it, uint16_t tag);
struct ctl_str ctl_cell_u64(const struct ctl_item *it, uint16_t tag, char *buf);
struct ctl_str ctl_cell_time(const struct ctl_item *it, uint16_t tag, char *buf);

/* ---- JSON output (svcacctctl_util.c) ------------------------------------- */

/* A JSON string (invalid UTF-8 replaced) or null when s is absent. */
json_t *ctl_json_str(struct ctl_str s);
/* The STR field tag of the item as a JSON string, or null when absent. */
json_t *ctl_json_field(const struct ctl_item *it, uint16_t tag);
/* A timestamp string with ms, or null for 0 / absent. */
json_t *ctl_json_time(const struct ctl_item *it, uint16_t tag);
/* A number, or null when absent or beyond the JSON integer range. */
json_t *ctl_json_u64(const struct ctl_item *it, uint16_t tag);
/* true for 1, false for 0, null when absent. */
json_t *ctl_json_bool(const struct ctl_item *it, uint16_t tag);
/* json_object_set_new that records an allocation failure in *oom. */
void ctl_json_set(json_t *obj, const char *key, json_t *val, int *oom);
/* Prints doc as one JSON document on stdout and releases it.  Returns 0,
 * or CTL_EXIT_FAILED (doc NULL: out of memory, or a write error). */
int ctl_json_print(json_t *doc);
/* ctl_json_print, unless oom: then doc is released and out of memory
 * reported. */
int ctl_json_print_checked(json_t *doc, int oom);
/* An object of an item's fields, member by member in this order (an
 * allocation failure recorded in *oom). */
struct ctl_json_col {
	const char *key;
	json_t *(*get)(const struct ctl_item *it, uint16_t tag);
	uint16_t tag;
};
json_t *ctl_json_item(const struct ctl_item *it, const struct ctl_json_col *cols, size_t n,
		      int *oom);
/* Prints the object {key: val} (val taken, may be NULL: out of memory). */
int ctl_json_print_one(const char *key, json_t *val);
/* Prints an array of item(it) for every list item of rep. */
int ctl_json_print_items(const struct ctl_reply *rep,
			 json_t *(*item)(const struct ctl_item *it, int *oom));

/* ---- secrets (svcacctctl_util.c) ----------------------------------------- */

/* Largest secret (API key, session token) read from a file, the
 * environment or standard input; longer input is refused. */
#define CTL_SECRET_MAX 4096

/* Reads a secret from path into buf (cap bytes, NUL-terminated; *len its
 * length), dropping one trailing newline ("\n" or "\r\n").  what names it
 * in messages ("API key", "session token").  Warns on stderr when the file
 * is readable or writable by group or others.  0, or CTL_EXIT_FAILED after
 * printing the error (buf is then wiped).  The secret is never printed. */
int ctl_read_secret_file(const char *path, const char *what, char *buf, size_t cap, size_t *len);

/* Reads one line of standard input (without echo on a terminal, after a
 * prompt on stderr), dropping the newline.  Same contract as above. */
int ctl_read_secret_stdin(const char *what, char *buf, size_t cap, size_t *len);

/* Copies the secret s (from the environment or argv) into buf like the
 * readers above (one trailing newline dropped).  0 or CTL_EXIT_FAILED. */
int ctl_copy_secret(const char *s, const char *what, char *buf, size_t cap, size_t *len);

/* The API key of token create and ssh sign: --key-file FILE, else
 * $SVCACCT_API_KEY, else (token_ok) none when a session token is given
 * ($SVCACCT_TOKEN, --token-file: *klen = 0), else standard input.  0, or
 * an exit status after printing the error. */
int ctl_api_key_read(const struct ctl *c, const char *key_file, int token_ok, char *key, size_t cap,
		     size_t *klen);

/* Wipes memory that held a secret. */
void ctl_wipe(void *p, size_t n);

/* Makes jansson wipe every block it frees (JSON output may hold a key or a
 * token), and gives stdout a buffer that ctl_wipe_stdout wipes after the
 * final flush.  Called once, first thing in main. */
void ctl_secure_output_init(void);
void ctl_wipe_stdout(void);

/* ---- nouns ----------------------------------------------------------------- */

int ctl_account_create(struct ctl *c, int argc, char **argv);
int ctl_account_list(struct ctl *c, int argc, char **argv);
int ctl_account_show(struct ctl *c, int argc, char **argv);
int ctl_account_update(struct ctl *c, int argc, char **argv);
int ctl_account_disable(struct ctl *c, int argc, char **argv);
int ctl_account_enable(struct ctl *c, int argc, char **argv);
int ctl_account_delete(struct ctl *c, int argc, char **argv);
int ctl_account_access(struct ctl *c, int argc, char **argv);
int ctl_access_list(struct ctl *c, int argc, char **argv);

int ctl_team_create(struct ctl *c, int argc, char **argv);
int ctl_team_list(struct ctl *c, int argc, char **argv);
int ctl_team_delete(struct ctl *c, int argc, char **argv);

int ctl_workspace_create(struct ctl *c, int argc, char **argv);
int ctl_workspace_list(struct ctl *c, int argc, char **argv);
int ctl_workspace_delete(struct ctl *c, int argc, char **argv);

int ctl_grant_add(struct ctl *c, int argc, char **argv);
int ctl_grant_remove(struct ctl *c, int argc, char **argv);
int ctl_grant_list(struct ctl *c, int argc, char **argv);

int ctl_key_create(struct ctl *c, int argc, char **argv);
int ctl_key_list(struct ctl *c, int argc, char **argv);
int ctl_key_disable(struct ctl *c, int argc, char **argv);
int ctl_key_enable(struct ctl *c, int argc, char **argv);
int ctl_key_revoke(struct ctl *c, int argc, char **argv);

int ctl_token_create(struct ctl *c, int argc, char **argv);
int ctl_token_verify(struct ctl *c, int argc, char **argv);
int ctl_token_revoke(struct ctl *c, int argc, char **argv);
int ctl_jwks_show(struct ctl *c, int argc, char **argv);
int ctl_signing_key_rotate(struct ctl *c, int argc, char **argv);

int ctl_audit_list(struct ctl *c, int argc, char **argv);
int ctl_audit_verify(struct ctl *c, int argc, char **argv);

int ctl_host_token(struct ctl *c, int argc, char **argv);
int ctl_host_list(struct ctl *c, int argc, char **argv);
int ctl_host_show(struct ctl *c, int argc, char **argv);
int ctl_host_update(struct ctl *c, int argc, char **argv);
int ctl_host_disable(struct ctl *c, int argc, char **argv);
int ctl_host_remove(struct ctl *c, int argc, char **argv);
int ctl_host_enroll(struct ctl *c, int argc, char **argv);
int ctl_fleet_status(struct ctl *c, int argc, char **argv);

int ctl_ssh_sign(struct ctl *c, int argc, char **argv);
int ctl_ssh_ca(struct ctl *c, int argc, char **argv);
int ctl_ssh_list(struct ctl *c, int argc, char **argv);
int ctl_ssh_revoke(struct ctl *c, int argc, char **argv);
int ctl_ssh_ca_rotate(struct ctl *c, int argc, char **argv);

#endif
