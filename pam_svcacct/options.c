/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pam_svcacct: module arguments and the daemon's identity. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "module.h"

/* Strict decimal in [lo, hi]; -1 when s is anything else. */
static int parse_int(const char *s, int lo, int hi)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > hi)
			return -1;
	}
	return v < lo ? -1 : (int)v;
}

int svca_pam_parse_opts(pam_handle_t *pamh, int flags, int argc, const char **argv,
			struct svca_pam_opts *o)
{
	int bad = 0;

	memset(o, 0, sizeof(*o));
	o->socket = SVCA_PAM_DEFAULT_SOCKET;
	o->daemon_user = SVCA_PAM_DEFAULT_DAEMON_USER;
	o->nss_dir = SVCA_PAM_DEFAULT_NSS_DIR;
	o->timeout_s = SVCA_PAM_DEFAULT_TIMEOUT;
	(void)flags; /* PAM_SILENT: see svca_pam_tell */

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!a) {
			bad = 1;
			continue;
		}
		if (!strcmp(a, "debug")) {
			o->debug = 1;
		} else if (!strcmp(a, "use_first_pass")) {
			o->use_first_pass = 1;
		} else if (!strcmp(a, "try_first_pass")) {
			o->try_first_pass = 1;
		} else if (!strcmp(a, "ignore_unknown_user")) {
			o->ignore_unknown_user = 1;
		} else if (!strcmp(a, "ignore_authinfo_unavail")) {
			o->ignore_authinfo_unavail = 1;
		} else if (!strncmp(a, "socket=", 7)) {
			if (a[7] != '/' || strlen(a + 7) >= 108) {
				pam_syslog(pamh, LOG_ERR,
					   "option '%s': the socket must be an absolute path of at "
					   "most 107 bytes",
					   a);
				bad = 1;
			} else {
				o->socket = a + 7;
			}
		} else if (!strncmp(a, "timeout=", 8)) {
			int t = parse_int(a + 8, 1, SVCA_PAM_MAX_TIMEOUT);
			if (t < 0) {
				pam_syslog(pamh, LOG_ERR,
					   "option '%s': timeout must be a whole number of seconds "
					   "from 1 to %d",
					   a, SVCA_PAM_MAX_TIMEOUT);
				bad = 1;
			} else {
				o->timeout_s = t;
			}
		} else if (!strncmp(a, "daemon_user=", 12)) {
			if (!a[12] || strlen(a + 12) > SVCA_PAM_DAEMON_USER_MAX) {
				pam_syslog(pamh, LOG_ERR,
					   "option '%s': empty or overlong user name", a);
				bad = 1;
			} else {
				o->daemon_user = a + 12;
			}
		} else {
			pam_syslog(pamh, LOG_ERR, "unknown option '%s': refusing to run", a);
			bad = 1;
		}
	}
	if (o->use_first_pass && o->try_first_pass) {
		/* Not an error: the stricter one wins, as in pam_unix. */
		o->try_first_pass = 0;
	}
	return bad ? -1 : 0;
}

/* The daemon_user's uid as resolved earlier in this PAM transaction: a
 * login asks the daemon up to twice (lookup, auth) and resolving the user
 * costs a passwd lookup each time (a file read, or an NSS round trip when
 * the user is not in /etc/passwd).  Kept per handle, never across
 * transactions, and only for the same daemon_user. */
struct trusted_cache {
	char user[SVCA_PAM_DAEMON_USER_MAX + 1];
	int64_t uid;
};

static void trusted_cleanup(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	free(data);
}

static int64_t resolve_uid(pam_handle_t *pamh, const struct svca_pam_opts *o)
{
	int64_t uid = 0;
	int r = svca_user_uid(o->daemon_user, &uid);

	if (r == 0) {
		SVCA_PAM_LOG_DEBUG(pamh, o, "trusting root and %s (uid %lld) to serve %s",
				   o->daemon_user, (long long)uid, o->socket);
	} else {
		if (r < 0)
			pam_syslog(pamh, LOG_ERR, "cannot resolve daemon_user %s", o->daemon_user);
		SVCA_PAM_LOG_DEBUG(pamh, o, "daemon_user %s does not resolve; trusting root only",
				   o->daemon_user);
		uid = 0;
	}
	return uid;
}

int64_t svca_pam_trusted_uid(pam_handle_t *pamh, const struct svca_pam_opts *o)
{
	const void *data = NULL;
	struct trusted_cache *c;
	int64_t uid;

	if (pam_get_data(pamh, SVCA_PAM_DATA_TRUSTED, &data) == PAM_SUCCESS && data) {
		const struct trusted_cache *k = data;
		if (!strcmp(k->user, o->daemon_user))
			return k->uid;
	}
	uid = resolve_uid(pamh, o);
	if (strlen(o->daemon_user) > SVCA_PAM_DAEMON_USER_MAX)
		return uid;
	c = calloc(1, sizeof(*c));
	if (!c)
		return uid;
	memcpy(c->user, o->daemon_user, strlen(o->daemon_user) + 1);
	c->uid = uid;
	if (pam_set_data(pamh, SVCA_PAM_DATA_TRUSTED, c, trusted_cleanup) != PAM_SUCCESS)
		free(c);
	return uid;
}

int svca_pam_result(const struct svca_pam_opts *o, int rc)
{
	if (rc == PAM_USER_UNKNOWN && o->ignore_unknown_user)
		return PAM_IGNORE;
	if (rc == PAM_AUTHINFO_UNAVAIL && o->ignore_authinfo_unavail)
		return PAM_IGNORE;
	return rc;
}
