/* SPDX-License-Identifier: GPL-3.0-or-later */
/* svcacctctl token: create, verify, revoke; jwks; signing-key rotate.
 *
 * API keys and session tokens are secrets.  A key is never taken from the
 * command line (every user can read argv in /proc); a token may be, but
 * standard input is preferred.  Neither is ever echoed in a message, and
 * every buffer that held one is wiped. */
#include "svcacctctl.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The daemon refuses longer tokens outright (JWT_MAX_LEN). */
#define TOKEN_TEXT_MAX 2047

/* ---- helpers ------------------------------------------------------------------- */

static const struct svca_field *get_bytes(const struct ctl_item *it, uint16_t tag)
{
	for (size_t i = 0; i < it->n; i++)
		if (it->fields[i].tag == tag && it->fields[i].kind == SVCA_K_BYTES)
			return &it->fields[i];
	return NULL;
}

/* Drops trailing blanks and line ends (a token has none). */
static void trim_token(char *buf, size_t *len)
{
	while (*len && (buf[*len - 1] == ' ' || buf[*len - 1] == '\t' || buf[*len - 1] == '\r' ||
			buf[*len - 1] == '\n'))
		buf[--*len] = '\0';
}

/*
 * A token from argv (wiped there, so that it leaves /proc/PID/cmdline) or,
 * when arg is NULL or "-", from standard input.  0, or an exit status
 * after printing the error.
 */
static int read_token(const struct ctl *c, const char *arg, char *buf, size_t cap, size_t *len)
{
	int rc;

	if (arg && strcmp(arg, "-") != 0) {
		rc = ctl_copy_secret(arg, "session token", buf, cap, len);
		ctl_wipe((char *)(uintptr_t)arg, strlen(arg));
	} else {
		rc = ctl_read_secret_stdin("session token", buf, cap, len);
	}
	if (rc)
		return rc;
	trim_token(buf, len);
	if (*len == 0)
		return ctl_usage_error(c, "no session token given (TOKEN, or '-' or "
					  "nothing to read it from standard input)");
	return 0;
}

/* ---- token create ----------------------------------------------------------------- */

int ctl_api_key_read(const struct ctl *c, const char *key_file, int token_ok, char *key, size_t cap,
		     size_t *klen)
{
	const char *env = getenv("SVCACCT_API_KEY");
	const char *tok = getenv("SVCACCT_TOKEN");
	const char *from;
	int rc;
	*klen = 0;
	if (key_file) {
		from = "the key file";
		rc = ctl_read_secret_file(key_file, "API key", key, cap, klen);
	} else if (env && *env) {
		from = "$SVCACCT_API_KEY";
		rc = ctl_copy_secret(env, "API key in $SVCACCT_API_KEY", key, cap, klen);
	} else if (token_ok && (c->token_file || (tok && *tok))) {
		return 0; /* the session token is the credential */
	} else {
		from = "standard input";
		rc = ctl_read_secret_stdin("API key", key, cap, klen);
	}
	if (rc)
		return rc;
	if (*klen == 0) {
		ctl_wipe(key, cap);
		return ctl_usage_error(c,
				       "no API key in %s (give --key-file FILE, "
				       "$SVCACCT_API_KEY or the key on standard input)",
				       from);
	}
	return 0;
}

static json_t *token_json(const struct ctl_item *it, const struct svca_field *tok, int *oom)
{
	json_t *o = json_object();
	struct ctl_str t = { (const char *)tok->val, tok->len };

	if (!o) {
		*oom = 1;
		return NULL;
	}
	ctl_json_set(o, "access_token", ctl_json_str(t), oom);
	ctl_json_set(o, "token_type", json_string("Bearer"), oom);
	ctl_json_set(o, "expires_in", ctl_json_u64(it, F_EXPIRES_IN), oom);
	ctl_json_set(o, "expires_at", ctl_json_time(it, F_EXPIRES_AT), oom);
	ctl_json_set(o, "key_id", ctl_json_field(it, F_KEY_ID), oom);
	ctl_json_set(o, "account", ctl_json_field(it, F_NAME), oom);
	return o;
}

int ctl_token_create(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt opts[] = { { "key-file", 1, NULL } };
	char key[CTL_SECRET_MAX];
	size_t klen = 0;
	struct svca_buf b;
	struct ctl_reply rep;
	int rc;

	/* Every positional argument is caught, so that none is echoed. */
	int on_argv;
	if ((rc = ctl_parse_args_no_key(c, argc, argv, opts, 1, NULL, 0, NULL, &on_argv)) != 0)
		return rc;
	if (on_argv)
		return ctl_usage_error(c, "an API key on the command line is visible to "
					  "every user of this host: give it with "
					  "--key-file FILE, $SVCACCT_API_KEY or on "
					  "standard input (and treat that key as leaked)");

	if ((rc = ctl_api_key_read(c, opts[0].value, 0, key, sizeof(key), &klen)) != 0)
		return rc;

	ctl_request_begin(&b, SVCA_CMD_TOKEN_CREATE);
	svca_put_bytes(&b, F_KEY, key, klen);
	ctl_wipe(key, sizeof(key));
	if ((rc = ctl_request(c, &b, &rep)) != 0) /* b is wiped and freed */
		return rc;

	const struct svca_field *tok = get_bytes(&rep.top, F_TOKEN);
	if (!tok || tok->len == 0) {
		ctl_err("the daemon's reply holds no token");
		ctl_reply_free(&rep);
		return CTL_EXIT_FAILED;
	}
	if (c->json) {
		int oom = 0;
		json_t *o = token_json(&rep.top, tok, &oom);
		rc = ctl_json_print_checked(o, oom);
	} else {
		ctl_put_safe(stdout, (const char *)tok->val, tok->len);
		putchar('\n');
	}
	fflush(stdout);
	ctl_reply_free(&rep); /* wipes the token */
	return rc;
}

/* ---- token verify ------------------------------------------------------------------ */

/* "key: value" for one claim: strings bare, arrays comma-separated. */
static void print_claim(const char *key, json_t *v)
{
	size_t i;
	json_t *x;

	printf("%s: ", key);
	switch (json_typeof(v)) {
	case JSON_STRING: ctl_put_safe(stdout, json_string_value(v), json_string_length(v)); break;
	case JSON_INTEGER: printf("%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
	case JSON_ARRAY:
		json_array_foreach(v, i, x)
		{
			if (i)
				fputs(", ", stdout);
			if (json_is_string(x)) {
				ctl_put_safe(stdout, json_string_value(x), json_string_length(x));
			} else {
				char *s = json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY);
				if (s)
					ctl_put_safe(stdout, s, strlen(s));
				free(s);
			}
		}
		break;
	default: {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		if (s)
			ctl_put_safe(stdout, s, strlen(s));
		free(s);
		break;
	}
	}
	putchar('\n');
}

/* The claims of the reply (F_JSON), or NULL. */
static json_t *reply_claims(const struct ctl_reply *rep)
{
	struct ctl_item all = { rep->fields, rep->nfields };
	struct ctl_str s;
	json_error_t jerr;

	if (!ctl_get_str(&all, F_JSON, &s))
		return NULL;
	json_t *o = json_loadb(s.p, s.n, 0, &jerr);
	if (!json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Not valid: the reason on stderr, and {"valid": false, ...} with --json. */
static int print_invalid(const struct ctl *c, struct ctl_str reason, json_t *claims)
{
	int rc = CTL_EXIT_FAILED;

	char msg[256];
	snprintf(msg, sizeof(msg), "token is not valid: %.*s",
		 (int)(reason.n < 200 ? reason.n : 200), reason.p ? reason.p : "");
	ctl_err_reportn(reason.p, reason.n, msg, strlen(msg));
	if (c->json) {
		int oom = 0;
		json_t *o = json_object();
		if (!o)
			oom = 1;
		else {
			ctl_json_set(o, "valid", json_false(), &oom);
			ctl_json_set(o, "reason", ctl_json_str(reason), &oom);
			if (claims)
				ctl_json_set(o, "claims", json_incref(claims), &oom);
		}
		if (ctl_json_print_checked(o, oom) != 0)
			rc = CTL_EXIT_FAILED;
	}
	json_decref(claims);
	return rc;
}

int ctl_token_verify(struct ctl *c, int argc, char **argv)
{
	static const char *const tok_pos[] = { "TOKEN" };
	const char *pos[1];
	char tok[CTL_SECRET_MAX];
	size_t tlen = 0;
	struct svca_buf b;
	struct ctl_reply rep;
	int rc;

	if ((rc = ctl_parse_args(c, argc, argv, NULL, 0, tok_pos, 0, 1, pos)) != 0)
		return rc;
	if ((rc = read_token(c, pos[0], tok, sizeof(tok), &tlen)) != 0)
		return rc;
	if (tlen > TOKEN_TEXT_MAX) {
		ctl_wipe(tok, sizeof(tok));
		struct ctl_str r = { "malformed", 9 };
		return print_invalid(c, r, NULL);
	}
	ctl_request_begin(&b, SVCA_CMD_TOKEN_VERIFY);
	svca_put_bytes(&b, F_TOKEN, tok, tlen);
	ctl_wipe(tok, sizeof(tok));
	if ((rc = ctl_exchange(c, &b, &rep)) != 0)
		return rc;

	struct ctl_item all = { rep.fields, rep.nfields };
	json_t *claims = reply_claims(&rep);
	if (rep.raw.status == SVCA_ERR_FAILED) {
		struct ctl_str reason;
		if (!ctl_get_str(&all, F_REASON, &reason) || reason.n == 0) {
			reason.p = "unknown";
			reason.n = 7;
		}
		/* the reason lives in the reply: print before freeing it */
		rc = print_invalid(c, reason, claims);
		ctl_reply_free(&rep);
		return rc;
	}
	if (rep.raw.status != SVCA_OK) {
		json_decref(claims);
		rc = ctl_reply_error(c, &rep);
		ctl_reply_free(&rep);
		return rc;
	}
	if (!claims) {
		ctl_err("the daemon's reply holds no claims");
		ctl_reply_free(&rep);
		return CTL_EXIT_FAILED;
	}
	if (c->json) {
		int oom = 0;
		const char *k;
		json_t *v, *o = json_object();
		if (!o)
			oom = 1;
		else
			ctl_json_set(o, "valid", json_true(), &oom);
		json_object_foreach(claims, k, v)
		{
			if (oom)
				break;
			if (strcmp(k, "valid") != 0)
				ctl_json_set(o, k, json_incref(v), &oom);
		}
		rc = ctl_json_print_checked(o, oom);
	} else {
		const char *k;
		json_t *v;
		json_object_foreach(claims, k, v) print_claim(k, v);
	}
	json_decref(claims);
	ctl_reply_free(&rep);
	return rc;
}

/* ---- token revoke ------------------------------------------------------------------- */

int ctl_token_revoke(struct ctl *c, int argc, char **argv)
{
	static const char *const tok_pos[] = { "TOKEN" };
	struct ctl_opt opts[] = { { "account", 1, NULL } };
	const char *pos[1];
	char tok[CTL_SECRET_MAX];
	size_t tlen = 0;
	struct svca_buf b;
	struct ctl_reply rep;
	int rc;

	if ((rc = ctl_parse_args(c, argc, argv, opts, 1, tok_pos, 0, 1, pos)) != 0)
		return rc;
	const char *account = opts[0].value;
	if (account && pos[0]) {
		if (strcmp(pos[0], "-") != 0)
			ctl_wipe((char *)(uintptr_t)pos[0], strlen(pos[0]));
		return ctl_usage_error(c, "give a TOKEN or --account NAME, not both");
	}
	if (!account && !pos[0])
		return ctl_usage_error(c, "give the TOKEN to revoke ('-' reads it from "
					  "standard input) or --account NAME");
	ctl_request_begin(&b, SVCA_CMD_TOKEN_REVOKE);
	if (account) {
		if ((rc = ctl_check_account_name(c, account)) != 0) {
			svca_buf_free(&b);
			return rc;
		}
		svca_put_str(&b, F_NAME, account);
	} else {
		if ((rc = read_token(c, pos[0], tok, sizeof(tok), &tlen)) != 0) {
			svca_buf_free(&b);
			return rc;
		}
		if (tlen > TOKEN_TEXT_MAX) {
			ctl_wipe(tok, sizeof(tok));
			svca_buf_free(&b);
			ctl_err("token is not valid: malformed");
			return CTL_EXIT_FAILED;
		}
		svca_put_bytes(&b, F_TOKEN, tok, tlen);
		ctl_wipe(tok, sizeof(tok));
	}
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	if (c->json) {
		int oom = 0;
		json_t *o = json_object();
		struct ctl_str s;
		if (!o)
			oom = 1;
		if (!oom) {
			if (!ctl_get_str(&rep.top, F_NAME, &s) && account) {
				s.p = account;
				s.n = strlen(account);
			}
			ctl_json_set(o, "account", ctl_json_str(s), &oom);
			ctl_json_set(o, "revoked", json_true(), &oom);
			ctl_json_set(o, "all", json_boolean(account != NULL), &oom);
		}
		rc = ctl_json_print_checked(o, oom);
	} else {
		struct ctl_str s;
		fputs(account ? "revoked all session tokens of account "
			      : "revoked the session token of account ",
		      stdout);
		if (ctl_get_str(&rep.top, F_NAME, &s))
			ctl_put_safe(stdout, s.p, s.n);
		else
			fputs(account ? account : "?", stdout);
		putchar('\n');
	}
	ctl_reply_free(&rep);
	return rc;
}

/* ---- jwks ----------------------------------------------------------------------------- */

int ctl_jwks_show(struct ctl *c, int argc, char **argv)
{
	struct svca_buf b;
	struct ctl_reply rep;
	struct ctl_str s;
	json_error_t jerr;
	int rc;

	if ((rc = ctl_parse_args(c, argc, argv, NULL, 0, NULL, 0, 0, NULL)) != 0)
		return rc;
	ctl_request_begin(&b, SVCA_CMD_JWKS);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	if (!ctl_get_str(&rep.top, F_JSON, &s)) {
		ctl_err("the daemon's reply holds no JWKS document");
		ctl_reply_free(&rep);
		return CTL_EXIT_FAILED;
	}
	json_t *doc = json_loadb(s.p, s.n, 0, &jerr);
	if (!json_is_object(doc)) {
		json_decref(doc);
		ctl_err("the daemon's JWKS document is not a JSON object");
		ctl_reply_free(&rep);
		return CTL_EXIT_FAILED;
	}
	rc = ctl_json_print(doc); /* pretty-printed, with or without --json */
	ctl_reply_free(&rep);
	return rc;
}

/* ---- signing-key rotate -------------------------------------------------------------- */

int ctl_signing_key_rotate(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_rotate r = {
		SVCA_CMD_SIGNING_KEY_ROTATE,
		F_KEY_ID,
		"key id",
		"kid",
		CTL_PROG ": new tokens are signed with this key; tokens signed "
			 "with the previous key verify until they expire\n",
	};
	return ctl_rotate(c, argc, argv, &r);
}
