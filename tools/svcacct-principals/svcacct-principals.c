/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * svcacct-principals: sshd's AuthorizedPrincipalsCommand for svcacct SSH
 * certificates (DESIGN.md section 10; man/svcacct-principals.8).
 *
 *   AuthorizedPrincipalsCommand /usr/lib/svcacct/svcacct-principals %u %i %s %F
 *
 * Asks the local svcacctd over its socket (never the network) whether the
 * certificate (key id %i, serial %s, signed by the CA whose fingerprint is
 * %F) may log in as %u, within one absolute deadline of 2 s.  Prints the
 * account name and a newline only when the daemon says yes; in every other
 * case prints nothing and exits 0, so sshd refuses the login.  Errors go
 * to syslog (LOG_AUTHPRIV), never to sshd's output.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "defaults.h"
#include "names.h"
#include "proto.h"
#include "sockio.h"

#define PROG "svcacct-principals"
#define TIMEOUT_MS 2000
#define ARG_MAX_LEN 512     /* any one argument; sshd's %i is at most 256 */
#define KEY_ID_MAX 255      /* the daemon's limit (SSH_KEY_ID_MAX - 1) */
#define FP_MAX 50           /* "SHA256:" + 43 characters */
#define CONF_LINE_MAX 1024  /* lines of svcacctd.conf we read */
#define CONF_LINES_MAX 4096 /* and at most this many */
#define PATH_LEN 256
#ifndef PRINCIPALS_CONFIG /* the Makefile sets it from SYSCONFDIR */
#define PRINCIPALS_CONFIG "/etc/svcacct/svcacctd.conf"
#endif

struct opts {
	const char *socket; /* --socket, else $SVCACCT_SOCKET, else the config */
	const char *config;
	const char *user, *key_id, *serial, *ca_fp;
	const char *service;
};

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsyslog(LOG_AUTHPRIV | LOG_ERR, fmt, ap);
	va_end(ap);
}

/* A printable copy of untrusted text for the log. */
static void printable(const char *s, char *dst, size_t len)
{
	size_t i = 0;
	for (; s && *s && i + 1 < len; s++)
		dst[i++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	dst[i] = '\0';
}

/* One string setting of svcacctd.conf ("key = \"value\";", libconfig's
 * simple form, the only one the shipped file uses).  0 found, -1 not. */
static int conf_value(FILE *f, const char *key, char *dst, size_t len)
{
	char line[CONF_LINE_MAX];
	size_t klen = strlen(key);
	rewind(f);
	for (int n = 0; n < CONF_LINES_MAX && fgets(line, sizeof(line), f); n++) {
		const char *p = line + strspn(line, " \t");
		if (strncmp(p, key, klen) != 0)
			continue;
		p += klen;
		p += strspn(p, " \t");
		if (*p != '=' && *p != ':')
			continue;
		p++;
		p += strspn(p, " \t");
		if (*p++ != '"')
			continue;
		const char *end = strchr(p, '"');
		if (!end || (size_t)(end - p) >= len || end == p)
			continue;
		memcpy(dst, p, (size_t)(end - p));
		dst[end - p] = '\0';
		return 0;
	}
	return -1;
}

/* The daemon's socket and user: from the options, the environment, the
 * daemon's configuration, or the defaults. */
static void locate(const struct opts *o, char sock[PATH_LEN], char user[64])
{
	snprintf(sock, PATH_LEN, "%s", SVCA_DEFAULT_SOCKET);
	snprintf(user, 64, "%s", SVCA_DEFAULT_DAEMON_USER);
	FILE *f = fopen(o->config, "re");
	if (f) {
		char v[PATH_LEN];
		if (conf_value(f, "socket", v, sizeof(v)) == 0 && v[0] == '/')
			snprintf(sock, PATH_LEN, "%s", v);
		if (conf_value(f, "daemon_user", v, 64) == 0 && svca_account_name_valid(v))
			memcpy(user, v, strlen(v) + 1); /* a valid name fits */
		fclose(f);
	}
	const char *env = getenv("SVCACCT_SOCKET");
	if (o->socket)
		snprintf(sock, PATH_LEN, "%s", o->socket);
	else if (env && *env == '/' && strlen(env) < PATH_LEN)
		snprintf(sock, PATH_LEN, "%s", env);
}

static int parse_serial(const char *s, uint64_t *out)
{
	char *end = NULL;
	if (!s || *s < '0' || *s > '9' || strlen(s) > 20)
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || !end || *end)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int i = 1;
	memset(o, 0, sizeof(*o));
	o->config = PRINCIPALS_CONFIG;
	o->service = "sshd";
	for (int k = 1; k < argc; k++)
		if (strnlen(argv[k], ARG_MAX_LEN + 1) > ARG_MAX_LEN) {
			fail("argument %d is longer than %d characters: refused", k, ARG_MAX_LEN);
			return -1;
		}
	for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (i + 1 >= argc) {
			fail("option %.64s needs a value", argv[i]);
			return -1;
		}
		if (!strcmp(argv[i], "--socket") && argv[i + 1][0] == '/')
			o->socket = argv[++i];
		else if (!strcmp(argv[i], "--config") && argv[i + 1][0] == '/')
			o->config = argv[++i];
		else if (!strcmp(argv[i], "--service") && argv[i + 1][0])
			o->service = argv[++i];
		else {
			char b[80];
			printable(argv[i], b, sizeof(b));
			fail("unknown or malformed option %s", b);
			return -1;
		}
	}
	if (argc - i != 4) {
		fail("usage: " PROG " [--socket PATH] [--config FILE] %%u %%i %%s %%F (got %d "
		     "arguments)",
		     argc - i);
		return -1;
	}
	o->user = argv[i];
	o->key_id = argv[i + 1];
	o->serial = argv[i + 2];
	o->ca_fp = argv[i + 3];
	return 0;
}

/* The question, and 1 with the account name when the answer is yes. */
static int ask(const struct opts *o, uint64_t serial, char name[SVCA_NAME_MAX + 1])
{
	char sock[PATH_LEN], duser[64], err[512] = "", reason[64] = "", u[80], kid[80];
	struct svca_buf req;
	struct svca_reply rep = { 0 };
	struct svca_call_opts co = { .timeout_ms = TIMEOUT_MS, .max_reply = 4096 };
	int ok = 0;

	locate(o, sock, duser);
	co.path = sock;
	if (svca_user_uid(duser, &co.trusted_uid) != 0)
		co.trusted_uid = 0; /* no such user: root only */
	svca_buf_init(&req, SVCA_MAX_UNAUTH_REQUEST);
	svca_frame_begin(&req, SVCA_CMD_SSH_PRINCIPALS);
	svca_put_str(&req, F_NAME, o->user);
	svca_put_str(&req, F_KEY_ID, o->key_id);
	svca_put_u64(&req, F_SERIAL, serial);
	svca_put_str(&req, F_CA_FINGERPRINT, o->ca_fp);
	svca_put_str(&req, F_SERVICE, o->service);
	if (svca_frame_end(&req) < 0) {
		fail("request too large or out of memory");
		svca_buf_free(&req);
		return 0;
	}
	printable(o->user, u, sizeof(u));
	printable(o->key_id, kid, sizeof(kid));
	enum svca_call_err e = svca_call(&co, &req, &rep, err, sizeof(err));
	svca_buf_free(&req);
	if (e != SVCA_CALL_OK) {
		fail("user %s, serial %llu: svcacctd not reachable (%s): refused", u,
		     (unsigned long long)serial, err[0] ? err : "no answer");
		return 0;
	}
	struct svca_field fs[16];
	int n = svca_fields_collect(rep.body, rep.len, fs, 16);
	const struct svca_field *fa = n > 0 ? svca_fields_find(fs, (size_t)n, F_ALLOWED) : NULL;
	const struct svca_field *fn = n > 0 ? svca_fields_find(fs, (size_t)n, F_NAME) : NULL;
	const struct svca_field *fr = n > 0 ? svca_fields_find(fs, (size_t)n, F_REASON) : NULL;
	uint64_t allowed = 0;
	if (fr)
		(void)svca_field_str(fr, reason, sizeof(reason));
	if (rep.status != SVCA_OK) {
		const struct svca_field *fm =
			n > 0 ? svca_fields_find(fs, (size_t)n, F_MESSAGE) : NULL;
		char msg[256] = "";
		if (fm)
			(void)svca_field_str(fm, msg, sizeof(msg));
		printable(msg, err, sizeof(err));
		fail("user %s, serial %llu: svcacctd refused the question (%s: %s)", u,
		     (unsigned long long)serial, svca_status_name(rep.status), err);
	} else if (!fa || svca_field_u64(fa, &allowed) < 0 || allowed > 1 ||
		   (allowed == 1 && (!fn || svca_field_str(fn, name, SVCA_NAME_MAX + 1) < 0 ||
				     !svca_account_name_valid(name) || strcmp(name, o->user)))) {
		fail("user %s, serial %llu: malformed answer from svcacctd: refused", u,
		     (unsigned long long)serial);
		allowed = 0;
	} else if (allowed == 1) {
		ok = 1;
		syslog(LOG_AUTHPRIV | LOG_INFO, "user %s, serial %llu, key id \"%s\": allowed", u,
		       (unsigned long long)serial, kid);
	} else {
		printable(reason, err, sizeof(err));
		syslog(LOG_AUTHPRIV | LOG_NOTICE,
		       "user %s, serial %llu, key id \"%s\": refused (%s)", u,
		       (unsigned long long)serial, kid, err[0] ? err : "no reason given");
	}
	svca_reply_free(&rep);
	return ok;
}

int main(int argc, char **argv)
{
	struct opts o;
	uint64_t serial = 0;
	char name[SVCA_NAME_MAX + 1];

	openlog(PROG, LOG_PID, LOG_AUTHPRIV);
	if (parse_args(argc, argv, &o) < 0)
		return 0;
	if (parse_serial(o.serial, &serial) < 0) {
		fail("serial %.32s is not a number: refused", o.serial);
		return 0;
	}
	if (strlen(o.key_id) > KEY_ID_MAX || strlen(o.ca_fp) > FP_MAX ||
	    strlen(o.user) > SVCA_NAME_MAX) {
		/* longer than anything the CA issues: not ours */
		fail("serial %llu: an argument is longer than svcacct allows: refused",
		     (unsigned long long)serial);
		return 0;
	}
	if (ask(&o, serial, name) == 1) {
		printf("%s\n", name);
		if (fflush(stdout) != 0 || ferror(stdout))
			fail("cannot write the answer to sshd");
	}
	closelog();
	return 0;
}
