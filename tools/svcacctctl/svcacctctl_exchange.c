/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * svcacctctl: sending a request and decoding its reply, over the daemon's
 * socket (with the peer checks) or, with --hub, over HTTPS
 * (svcacctctl_hub.c); the session token that acts as the caller.
 */
#include "svcacctctl.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h> /* malloc_usable_size */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "sockio.h"
#include "wipe.h"

/* ---- requests and replies ---------------------------------------------------- */

static const char *socket_path(const struct ctl *c)
{
	if (c->socket)
		return c->socket;
	const char *env = getenv("SVCACCT_SOCKET");
	return env && *env ? env : CTL_DEFAULT_SOCKET;
}

void ctl_request_begin(struct svca_buf *b, enum svca_cmd cmd)
{
	svca_buf_init(b, SVCA_MAX_REQUEST);
	svca_frame_begin(b, (uint16_t)cmd);
}

/* Splits the reply body into fields and list items.  0, -1 malformed,
 * -2 out of memory. */
static int decode(struct ctl_reply *r)
{
	struct svca_iter it;
	struct svca_field f;
	size_t n = 0, nitems = 0;
	int k;

	svca_iter_init(&it, r->raw.body, r->raw.len);
	while ((k = svca_iter_next(&it, &f)) == 1) {
		n++;
		if (f.tag == F_ITEM && f.kind == SVCA_K_MARK)
			nitems++;
	}
	if (k < 0)
		return -1;
	if (n && !(r->fields = calloc(n, sizeof(*r->fields))))
		return -2;
	if (nitems && !(r->items = calloc(nitems, sizeof(*r->items))))
		return -2;

	struct ctl_item *cur = &r->top;
	r->top.fields = r->fields;
	svca_iter_init(&it, r->raw.body, r->raw.len);
	while (r->nfields < n && svca_iter_next(&it, &f) == 1) {
		r->fields[r->nfields++] = f;
		if (f.tag == F_ITEM && f.kind == SVCA_K_MARK && r->nitems < nitems) {
			cur = &r->items[r->nitems++];
			cur->fields = r->fields + r->nfields;
			cur->n = 0;
			continue;
		}
		cur->n++;
	}
	return 0;
}

void ctl_reply_free(struct ctl_reply *rep)
{
	free(rep->fields);
	free(rep->items);
	svca_reply_free(&rep->raw);
	memset(rep, 0, sizeof(*rep));
}

/* The command of the request in b (its frame header). */
static uint16_t request_cmd(const struct svca_buf *b)
{
	if (!b->data || b->len < SVCA_HDR_LEN)
		return 0;
	return (uint16_t)((unsigned)b->data[6] << 8 | (unsigned)b->data[7]);
}

/* 1 when the (unended) request frame b holds the field tag. */
static int frame_has(const struct svca_buf *b, uint16_t tag)
{
	struct svca_iter it;
	struct svca_field f;
	if (b->len < SVCA_HDR_LEN)
		return 0;
	svca_iter_init(&it, b->data + SVCA_HDR_LEN, b->len - SVCA_HDR_LEN);
	while (svca_iter_next(&it, &f) == 1)
		if (f.tag == tag)
			return 1;
	return 0;
}

/* Commands that need no rights carry no session token: a stale one must
 * not stand in their way. */
static int needs_no_token(const struct svca_buf *b)
{
	switch (request_cmd(b)) {
	case SVCA_CMD_PING:
	case SVCA_CMD_TOKEN_CREATE:
	case SVCA_CMD_TOKEN_VERIFY:
	case SVCA_CMD_SSH_CA:
	case SVCA_CMD_JWKS: return 1;
	case SVCA_CMD_SSH_SIGN: return frame_has(b, F_KEY); /* else the token signs */
	default: return 0;
	}
}

/*
 * Admin by token: the session token of --token-file (first) or
 * $SVCACCT_TOKEN into tok (cap bytes; *n = 0 when there is none).  0, or
 * an exit status after printing the error.
 */
static int read_auth_token(const struct ctl *c, char *tok, size_t cap, size_t *n)
{
	int rc;

	*n = 0;
	if (c->token_file) {
		rc = ctl_read_secret_file(c->token_file, "session token", tok, cap, n);
	} else {
		const char *env = getenv("SVCACCT_TOKEN");
		if (!env || !*env)
			return 0;
		rc = ctl_copy_secret(env, "session token ($SVCACCT_TOKEN)", tok, cap, n);
	}
	if (rc)
		return rc;
	/* Tokens are one line of base64url and dots: trailing blanks go. */
	while (*n && (tok[*n - 1] == ' ' || tok[*n - 1] == '\t' || tok[*n - 1] == '\r' ||
		      tok[*n - 1] == '\n'))
		tok[--*n] = '\0';
	if (*n == 0) {
		ctl_err("the session token %s is empty",
			c->token_file ? "file" : "in $SVCACCT_TOKEN");
		return CTL_EXIT_FAILED;
	}
	return 0;
}

/* Appends F_AUTH_TOKEN unless the command needs no rights.  0, or an exit
 * status after printing the error. */
static int attach_auth_token(const struct ctl *c, struct svca_buf *b)
{
	char tok[CTL_SECRET_MAX];
	size_t n = 0;

	if (needs_no_token(b))
		return 0;
	int rc = read_auth_token(c, tok, sizeof(tok), &n);
	if (rc == 0 && n)
		svca_put_bytes(b, F_AUTH_TOKEN, tok, n);
	ctl_wipe(tok, sizeof(tok));
	return rc;
}

/* --hub: the frame goes to the hub over HTTPS with the token in the
 * Authorization header; without a token, management is refused here
 * (exit 3) before anything is sent. */
static int hub_exchange(const struct ctl *c, struct svca_buf *b, struct ctl_reply *rep)
{
	char tok[CTL_SECRET_MAX];
	size_t n = 0;
	int rc = 0;

	if (!needs_no_token(b)) {
		rc = read_auth_token(c, tok, sizeof(tok), &n);
		if (rc == 0 && n == 0) {
			ctl_err("--hub needs the session token of a service account whose org "
				"role allows this: set SVCACCT_TOKEN or use --token-file FILE");
			rc = CTL_EXIT_NOTAUTH;
		}
	}
	if (rc == 0 && svca_frame_end(b) < 0) {
		ctl_err("request too large or out of memory");
		rc = CTL_EXIT_FAILED;
	}
	if (rc == 0)
		rc = ctl_hub_exchange(c, b, tok, n, &rep->raw);
	ctl_wipe(tok, sizeof(tok));
	svca_buf_free(b);
	return rc;
}

static int trusted_uid(const struct ctl *c, int64_t *uid)
{
	const char *v = c->trust_uid; /* checked by the option parser */

	if (!v) {
		v = getenv("SVCACCT_TRUST_UID");
		if (v && !*v)
			v = NULL;
	}
	if (v) {
		if (ctl_parse_uid(v, uid) == 0)
			return 0;
		ctl_err("$SVCACCT_TRUST_UID is not a uid (0 to %u)", CTL_UID_MAX);
		return CTL_EXIT_USAGE;
	}
	if (svca_user_uid(CTL_DAEMON_USER, uid) != 0)
		*uid = 0;
	return 0;
}

/* Where systemd keeps this directory, it runs the host (sd_booted(3)'s
 * test): the unreachable message then names the command that shows why. */
#define CTL_SYSTEMD_DIR "/run/systemd/system"

static int systemd_booted(void)
{
	struct stat st;
	return lstat(CTL_SYSTEMD_DIR, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The local socket: the frame with F_AUTH_TOKEN, to a daemon run by a
 * trusted uid. */
static int socket_exchange(const struct ctl *c, struct svca_buf *b, struct ctl_reply *rep)
{
	const char *path = socket_path(c);
	struct svca_call_opts o = {
		.path = path,
		.timeout_ms = c->timeout_ms,
		.max_reply = 0,
		.trusted_uid = 0,
	};
	char err[512] = "";

	int trc = trusted_uid(c, &o.trusted_uid);
	if (trc) {
		svca_buf_free(b);
		return trc;
	}
	int arc = attach_auth_token(c, b);
	if (arc) {
		svca_buf_free(b);
		return arc;
	}
	if (svca_frame_end(b) < 0) {
		svca_buf_free(b);
		ctl_err("request too large or out of memory");
		return CTL_EXIT_FAILED;
	}
	enum svca_call_err e = svca_call(&o, b, &rep->raw, err, sizeof(err));
	svca_buf_free(b);
	if (e != SVCA_CALL_OK) {
		if (!*err)
			snprintf(err, sizeof(err), "daemon not reachable at %s", path);
		ctl_err_code(e == SVCA_CALL_NOMEM ? "failed" : "unavailable", "%s%s%s", err,
			     e == SVCA_CALL_PEER ? "; nothing was sent (a daemon run by another "
						   "user: --trust-uid UID)"
						 : "",
			     e == SVCA_CALL_CONNECT && systemd_booted()
				     ? " (is svcacctd running? systemctl status svcacctd)"
				     : "");
		return e == SVCA_CALL_NOMEM ? CTL_EXIT_FAILED : CTL_EXIT_UNREACHABLE;
	}
	return 0;
}

/* Where requests go: --hub, else $SVCACCT_HUB unless --socket is given.
 * 0, or a usage error (printed). */
static int pick_hub(const struct ctl *c, struct ctl *out)
{
	*out = *c;
	if (c->hub && c->socket) {
		ctl_err("use either --socket or --hub, not both");
		return CTL_EXIT_USAGE;
	}
	const char *env = getenv("SVCACCT_HUB");
	if (c->hub || c->socket || !env || !*env)
		return 0;
	if (!ctl_hub_url_ok(env)) {
		ctl_err("$SVCACCT_HUB is not an https:// URL (like https://hub1.example:8443)");
		return CTL_EXIT_USAGE;
	}
	out->hub = env;
	return 0;
}

int ctl_exchange(const struct ctl *c0, struct svca_buf *b, struct ctl_reply *rep)
{
	struct ctl hc;
	const struct ctl *c = &hc;
	memset(rep, 0, sizeof(*rep));
	int rc = pick_hub(c0, &hc);
	if (rc) {
		svca_buf_free(b);
		return rc;
	}
	rc = c->hub ? hub_exchange(c, b, rep) : socket_exchange(c, b, rep);
	if (rc)
		return rc;
	int d = decode(rep);
	if (d < 0) {
		ctl_reply_free(rep);
		if (d == -2) {
			ctl_err("out of memory");
			return CTL_EXIT_FAILED;
		}
		const char *from = c->hub ? c->hub : socket_path(c);
		ctl_err_code("unavailable", "malformed reply from %s", from);
		return CTL_EXIT_UNREACHABLE;
	}
	return 0;
}

int ctl_reply_error(const struct ctl *c, const struct ctl_reply *rep)
{
	/* The message may sit anywhere in the body: look at every field. */
	struct ctl_item all = { rep->fields, rep->nfields };
	uint16_t st = rep->raw.status;
	struct ctl_str m, why;
	char msg[512];
	int known = st >= SVCA_ERR_FAILED && st <= SVCA_ERR_UNAVAIL;
	int rc = known ? st : CTL_EXIT_FAILED;

	/* the daemon's reason (rate_limited, locked_out ...) is the code */
	ctl_get_str(&all, F_REASON, &why);
	if (ctl_get_str(&all, F_MESSAGE, &m) && m.n) {
		ctl_err_reportn(why.p ? why.p : ctl_err_code_of(rc),
				why.p ? why.n : strlen(ctl_err_code_of(rc)), m.p, m.n);
		return rc;
	}
	const char *noun = c->cmd ? c->cmd->noun : "", *verb = c->cmd ? c->cmd->verb : "";
	if (known)
		snprintf(msg, sizeof(msg), "%s%s%s%s%s", noun, *verb ? " " : "", verb,
			 c->cmd ? ": " : "", svca_status_name(st));
	else
		snprintf(msg, sizeof(msg), "%s%s%s%sunexpected reply status %u", noun,
			 *verb ? " " : "", verb, c->cmd ? ": " : "", (unsigned)st);
	ctl_err_reportn(why.p, why.n, msg, strlen(msg));
	return rc;
}

int ctl_request(const struct ctl *c, struct svca_buf *b, struct ctl_reply *rep)
{
	int rc = ctl_exchange(c, b, rep);
	if (rc)
		return rc;
	if (rep->raw.status == SVCA_OK)
		return 0;
	rc = ctl_reply_error(c, rep);
	ctl_reply_free(rep);
	return rc;
}
