/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pam_svcacct: requests to svcacctd and what their answers mean for PAM. */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "names.h"
#include "module.h"
#include "wipe.h"

/* Copies a PAM item into dst for a STR field: at most len - 1 bytes, every
 * byte that is not printable ASCII replaced by '?' (the daemon refuses
 * control characters, and its audit trail is JSON). */
static void copy_printable(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	if (src)
		for (; src[i] && i + 1 < len; i++) {
			unsigned char ch = (unsigned char)src[i];
			dst[i] = ch < 0x20 || ch >= 0x7f ? '?' : (char)ch;
		}
	dst[i] = '\0';
}

int svca_pam_get_ctx(pam_handle_t *pamh, const struct svca_pam_opts *o, struct svca_pam_ctx *c)
{
	const void *service = NULL, *rhost = NULL, *tty = NULL;
	const char *user = NULL;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = pam_get_user(pamh, &user, NULL);
	if (rc != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_ERR, "cannot determine the user name: %s",
			   pam_strerror(pamh, rc));
		goto out;
	}
	if (!user || !svca_account_name_valid(user)) {
		/* No service account can have this name: not ours. */
		SVCA_PAM_LOG_DEBUG(pamh, o, "'%s' cannot be a service account name",
				   user ? "(invalid name)" : "(none)");
		rc = PAM_USER_UNKNOWN;
		goto out;
	}
	c->user = user;
	rc = pam_get_item(pamh, PAM_SERVICE, &service);
	if (rc != PAM_SUCCESS || !service || !*(const char *)service ||
	    strlen(service) >= sizeof(c->service)) {
		pam_syslog(pamh, LOG_ERR, "no usable PAM service name");
		rc = PAM_SERVICE_ERR;
		goto out;
	}
	copy_printable(c->service, sizeof(c->service), service);
	/* Optional items: a failure to read them is no reason to refuse. */
	if (pam_get_item(pamh, PAM_RHOST, &rhost) == PAM_SUCCESS)
		copy_printable(c->rhost, sizeof(c->rhost), rhost);
	if (pam_get_item(pamh, PAM_TTY, &tty) == PAM_SUCCESS)
		copy_printable(c->tty, sizeof(c->tty), tty);
	rc = PAM_SUCCESS;
out:
	return rc;
}

void svca_pam_req_begin(struct svca_buf *b, uint16_t cmd, const struct svca_pam_ctx *c,
			int with_ctx)
{
	svca_buf_init(b, SVCA_MAX_UNAUTH_REQUEST);
	svca_frame_begin(b, cmd);
	svca_put_str(b, F_NAME, c->user);
	if (!with_ctx)
		return;
	svca_put_str(b, F_SERVICE, c->service);
	if (c->rhost[0])
		svca_put_str(b, F_RHOST, c->rhost);
	if (c->tty[0])
		svca_put_str(b, F_TTY, c->tty);
}

int svca_pam_call(pam_handle_t *pamh, const struct svca_pam_opts *o, const char *what,
		  struct svca_buf *req, struct svca_pam_answer *a)
{
	struct svca_call_opts co;
	char err[512] = "";
	int rc = PAM_AUTHINFO_UNAVAIL;
	int n;

	memset(a, 0, sizeof(*a));
	if (geteuid() != 0) {
		/* svcacctd answers PAM requests from root only (SO_PEERCRED):
		 * do not even ask (that would be audited as admin.deny). */
		pam_syslog(pamh, LOG_ERR,
			   "%s: running as uid %u, not root: svcacctd will not answer", what,
			   (unsigned)geteuid());
		goto out;
	}
	if (svca_frame_end(req) < 0) {
		pam_syslog(pamh, LOG_ERR, "%s: request too large or out of memory", what);
		rc = PAM_BUF_ERR;
		goto out;
	}
	co.path = o->socket;
	co.timeout_ms = o->timeout_s * 1000;
	co.max_reply = SVCA_PAM_MAX_REPLY;
	co.trusted_uid = svca_pam_trusted_uid(pamh, o);

	switch (svca_call(&co, req, &a->rep, err, sizeof(err))) {
	case SVCA_CALL_OK: break;
	case SVCA_CALL_NOMEM:
		pam_syslog(pamh, LOG_ERR, "%s: %s", what, err);
		rc = PAM_BUF_ERR;
		goto out;
	case SVCA_CALL_PEER:
		pam_syslog(pamh, LOG_ERR, "%s: %s; nothing was sent", what, err);
		goto out;
	default: pam_syslog(pamh, LOG_ERR, "%s: %s", what, err); goto out;
	}
	n = svca_fields_collect(a->rep.body, a->rep.len, a->f, SVCA_PAM_MAX_FIELDS);
	if (n < 0) {
		pam_syslog(pamh, LOG_ERR, "%s: malformed reply from %s", what, o->socket);
		svca_reply_free(&a->rep);
		goto out;
	}
	a->nf = (size_t)n;
	rc = PAM_SUCCESS;
out:
	svca_buf_free(req);
	return rc;
}

void svca_pam_answer_free(struct svca_pam_answer *a)
{
	svca_reply_free(&a->rep);
	memset(a->f, 0, sizeof(a->f));
	a->nf = 0;
}

const struct svca_field *svca_pam_field(const struct svca_pam_answer *a, uint16_t tag)
{
	return svca_fields_find(a->f, a->nf, tag);
}

void svca_pam_field_text(const struct svca_pam_answer *a, uint16_t tag, char *dst, size_t len)
{
	const struct svca_field *f = svca_pam_field(a, tag);
	size_t i = 0;

	if (f && f->kind == SVCA_K_STR)
		for (; i < f->len && i + 1 < len; i++) {
			unsigned char ch = f->val[i];
			dst[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
		}
	dst[i] = '\0';
}

int svca_pam_status_rc(pam_handle_t *pamh, const char *what, const char *user,
		       const struct svca_pam_answer *a, int fail_rc)
{
	char msg[256];
	int rc;

	svca_pam_field_text(a, F_MESSAGE, msg, sizeof(msg));
	switch (a->rep.status) {
	case SVCA_ERR_NOTFOUND: rc = PAM_USER_UNKNOWN; break;
	case SVCA_ERR_FAILED:
		pam_syslog(pamh, LOG_NOTICE, "%s: %s: refused by svcacctd: %s", what, user, msg);
		rc = fail_rc;
		break;
	case SVCA_ERR_NOTAUTH:
		pam_syslog(pamh, LOG_ERR,
			   "%s: %s: svcacctd refused the request (%s); the module must run as root",
			   what, user, msg);
		rc = PAM_AUTHINFO_UNAVAIL;
		break;
	case SVCA_ERR_UNAVAIL:
		pam_syslog(pamh, LOG_ERR, "%s: %s: svcacctd cannot serve the request: %s", what,
			   user, msg);
		rc = PAM_AUTHINFO_UNAVAIL;
		break;
	case SVCA_ERR_BADREQ:
		pam_syslog(pamh, LOG_ERR, "%s: %s: svcacctd calls the request malformed: %s", what,
			   user, msg);
		rc = PAM_SERVICE_ERR;
		break;
	default:
		pam_syslog(pamh, LOG_ERR, "%s: %s: unexpected reply status %u from svcacctd", what,
			   user, (unsigned)a->rep.status);
		rc = PAM_SERVICE_ERR;
		break;
	}
	return rc;
}

int svca_pam_lookup(pam_handle_t *pamh, const struct svca_pam_opts *o, const struct svca_pam_ctx *c)
{
	struct svca_pam_answer a;
	struct svca_buf req;
	int rc;

	svca_pam_req_begin(&req, SVCA_CMD_ACCOUNT_SHOW, c, 0);
	rc = svca_pam_call(pamh, o, "lookup", &req, &a);
	if (rc != PAM_SUCCESS)
		goto out;
	if (a.rep.status == SVCA_OK)
		rc = PAM_SUCCESS;
	else
		rc = svca_pam_status_rc(pamh, "lookup", c->user, &a, PAM_AUTHINFO_UNAVAIL);
	SVCA_PAM_LOG_DEBUG(pamh, o, "lookup: %s is %s", c->user,
			   rc == PAM_SUCCESS        ? "a service account"
			   : rc == PAM_USER_UNKNOWN ? "not a service account"
						    : "of unknown kind (daemon error)");
	svca_pam_answer_free(&a);
out:
	return rc;
}

/* Strict decimal uid of at most 10 digits; NULL when s has none. */
static const char *parse_uid(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	size_t n = 0;

	for (; *s >= '0' && *s <= '9'; s++, n++) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (n >= 10 || v >= UINT32_MAX)
			return NULL;
	}
	if (!n)
		return NULL;
	*out = (uint32_t)v;
	return s;
}

/* The uid range svcacctd publishes for libnss_svcacct: the "range" link in
 * its nss_dir ("svcacct-range-v1:MIN:MAX:SUDO_GID"), owned by root or the
 * daemon's user.  0, or -1 when there is none (or it is not trustworthy). */
static int nss_range(pam_handle_t *pamh, const struct svca_pam_opts *o, uint32_t *min,
		     uint32_t *max)
{
	static const char prefix[] = "svcacct-range-v1:";
	char t[96];
	struct stat st;
	const char *p;
	uint32_t sudo;
	ssize_t n;

	if (lstat(o->nss_dir, &st) < 0 || !S_ISDIR(st.st_mode) || (st.st_mode & S_IWOTH))
		return -1;
	if (st.st_uid != 0 && (int64_t)st.st_uid != svca_pam_trusted_uid(pamh, o))
		return -1;
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/range", o->nss_dir) >= sizeof(path))
		return -1;
	n = readlink(path, t, sizeof(t) - 1);
	if (n <= 0 || (size_t)n >= sizeof(t) - 1)
		return -1;
	t[n] = '\0';
	if (strncmp(t, prefix, sizeof(prefix) - 1) != 0)
		return -1;
	p = t + sizeof(prefix) - 1;
	if (!(p = parse_uid(p, min)) || *p++ != ':' || !(p = parse_uid(p, max)) || *p++ != ':' ||
	    !(p = parse_uid(p, &sudo)) || *p != '\0' || *min < 1000 || *min > *max)
		return -1;
	return 0;
}

/* 1 when user has an entry in /etc/passwd (a local user, as pam_localuser
 * sees it); also 1 when the file cannot be read (then nothing is assumed). */
static int in_etc_passwd(const char *user)
{
	FILE *f = fopen("/etc/passwd", "re");
	char line[1024];
	size_t ulen = strlen(user);
	int found = 0;

	if (!f)
		return 1;
	while (!found && fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		if (!strncmp(line, user, ulen) && line[ulen] == ':')
			found = 1;
		/* the rest of an overlong line is not the start of an entry */
		while (len && line[len - 1] != '\n' && fgets(line, sizeof(line), f))
			len = strlen(line);
	}
	if (ferror(f))
		found = 1;
	fclose(f);
	return found;
}

int svca_pam_nss_svcacct(pam_handle_t *pamh, const struct svca_pam_opts *o,
			 const struct svca_pam_ctx *c)
{
	struct passwd pw, *res = NULL;
	char buf[2048];
	uint32_t min, max;
	int yes = 0;

	if (!o->nss_dir || nss_range(pamh, o, &min, &max) < 0)
		goto out;
	if (getpwnam_r(c->user, &pw, buf, sizeof(buf), &res) != 0 || !res || res->pw_uid < min ||
	    res->pw_uid > max || strcmp(res->pw_name, c->user) != 0)
		goto out;
	if (in_etc_passwd(c->user))
		goto out;
	yes = 1;
	SVCA_PAM_LOG_DEBUG(
		pamh, o,
		"lookup: %s is a service account per NSS (uid %u in %u-%u); not asking svcacctd",
		c->user, (unsigned)res->pw_uid, (unsigned)min, (unsigned)max);
out:
	return yes;
}

int svca_pam_looks_like_jwt(const char *s, size_t n)
{
	size_t dots = 0;
	int ok = 0;

	if (!s || n < 16 || n > SVCA_PAM_MAX_AUTHTOK || strncmp(s, "eyJ", 3) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '.') {
			if (++dots > 2 || i == 0 || s[i - 1] == '.')
				goto out;
		} else if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			     (ch >= '0' && ch <= '9') || ch == '-' || ch == '_')) {
			goto out;
		}
	}
	ok = dots == 2 && s[n - 1] != '.';
out:
	return ok;
}

void svca_pam_tell(pam_handle_t *pamh, const struct svca_pam_opts *o, const char *msg)
{
	/* Shown also under PAM_SILENT: every message of this module is the
	 * reason for a refusal, and sudo passes PAM_SILENT on every call. */
	(void)o;
	if (msg && *msg)
		(void)pam_error(pamh, "%s", msg);
}

void svca_pam_tell_unavail(pam_handle_t *pamh, const struct svca_pam_opts *o,
			   const struct svca_pam_ctx *c, const char *detail)
{
	if (c && !svca_pam_nss_svcacct(pamh, o, c))
		return;
	if (detail && *detail)
		(void)pam_error(pamh, "directory unreachable: %s", detail);
	else
		(void)pam_error(pamh, "directory unreachable");
}
