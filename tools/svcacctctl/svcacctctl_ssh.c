/* SPDX-License-Identifier: GPL-3.0-or-later */
/* svcacctctl ssh: sign, ca, list, revoke, ca-rotate (DESIGN.md section 10).
 *
 * ssh sign takes its credential exactly like token create (never from the
 * command line); the certificate it writes is public, not a secret. */
#include "svcacctctl.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PUBKEY_FILE_MAX 16384

/* Reads the public key file (a regular file, at most PUBKEY_FILE_MAX
 * bytes) into a malloc'ed string.  NULL after printing the error. */
static char *read_pubkey(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ctl_err("cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > PUBKEY_FILE_MAX) {
		close(fd);
		ctl_err("%s is not a public key file (a regular file of at most %d bytes)", path,
			PUBKEY_FILE_MAX);
		return NULL;
	}
	char *buf = malloc(PUBKEY_FILE_MAX + 1);
	size_t n = 0;
	ssize_t r = 1;
	while (buf && n < PUBKEY_FILE_MAX && (r = read(fd, buf + n, PUBKEY_FILE_MAX - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (!buf || r < 0) {
		free(buf);
		ctl_err("cannot read %s", path);
		return NULL;
	}
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (n == 0 || strlen(buf) != n) {
		free(buf);
		ctl_err("%s holds no OpenSSH public key", path);
		return NULL;
	}
	return buf;
}

/* KEY.pub -> KEY-cert.pub; FILE -> FILE-cert.pub. */
static int cert_path(const char *pub, char *out, size_t len)
{
	size_t n = strlen(pub);
	int w;
	if (n > 4 && !strcmp(pub + n - 4, ".pub"))
		w = snprintf(out, len, "%.*s-cert.pub", (int)(n - 4), pub);
	else
		w = snprintf(out, len, "%s-cert.pub", pub);
	return w < 0 || (size_t)w >= len ? -1 : 0;
}

/* Writes the certificate line to path (mode 0644) through a temporary
 * file in the same directory; refuses to replace anything but a regular
 * file.  0 or CTL_EXIT_FAILED after printing the error. */
static int write_cert(const char *path, const char *line, size_t n)
{
	struct stat st;
	char tmp[PATH_MAX];
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		ctl_err("%s exists and is not a regular file: not replaced", path);
		return CTL_EXIT_FAILED;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof(tmp)) {
		ctl_err("%s: path too long", path);
		return CTL_EXIT_FAILED;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		ctl_err("cannot write %s: %s", path, strerror(errno));
		return CTL_EXIT_FAILED;
	}
	int bad = fchmod(fd, 0644) < 0 || svca_write_all(fd, line, n) < 0 ||
		  svca_write_all(fd, "\n", 1) < 0 || fsync(fd) < 0;
	if (close(fd) < 0)
		bad = 1;
	if (bad || rename(tmp, path) < 0) {
		ctl_err("cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return CTL_EXIT_FAILED;
	}
	return 0;
}

int ctl_ssh_sign(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt opts[] = { { "key-file", 1, NULL }, { "ttl", 1, NULL }, { "out", 1, NULL } };
	char key[CTL_SECRET_MAX], out[PATH_MAX];
	size_t klen = 0;
	uint64_t ttl = 0;
	struct svca_buf b;
	struct ctl_reply rep;
	int rc;

	/* Every positional argument is caught, so that a key given there by
	 * mistake is never echoed (as token create does). */
	static const char *const names[] = { "PUBKEY_FILE" };
	const char *pubfile = NULL;
	int extra;
	if ((rc = ctl_parse_args_no_key(c, argc, argv, opts, 3, names, 1, &pubfile, &extra)) != 0)
		return rc;
	if (extra)
		return ctl_usage_error(c,
				       "ssh sign takes one PUBKEY_FILE; an API key on the "
				       "command line is visible to every user of this host: give "
				       "it with --key-file FILE, $SVCACCT_API_KEY or on standard "
				       "input (and treat that key as leaked)");
	if (opts[1].value) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(opts[1].value, &end, 10);
		if (errno || *end || !*opts[1].value || opts[1].value[0] == '-' || v > 86400)
			return ctl_usage_error(c, "--ttl must be a number of seconds (60 to 3600)");
		ttl = v;
	}
	if (opts[2].value ? snprintf(out, sizeof(out), "%s", opts[2].value) >= (int)sizeof(out)
			  : cert_path(pubfile, out, sizeof(out)) < 0)
		return ctl_usage_error(c, "the certificate's path is too long");
	char *pub = read_pubkey(pubfile);
	if (!pub)
		return CTL_EXIT_FAILED;
	if ((rc = ctl_api_key_read(c, opts[0].value, 1, key, sizeof(key), &klen)) != 0) {
		free(pub);
		return rc;
	}
	ctl_request_begin(&b, SVCA_CMD_SSH_SIGN);
	svca_put_str(&b, F_PUBLIC_KEY, pub);
	free(pub);
	if (ttl)
		svca_put_u64(&b, F_TTL, ttl);
	if (klen) /* else the session token goes with the request */
		svca_put_bytes(&b, F_KEY, key, klen);
	ctl_wipe(key, sizeof(key));
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	struct ctl_str cert;
	uint64_t serial = 0, vb = 0;
	if (!ctl_get_str(&rep.top, F_CERTIFICATE, &cert) || cert.n == 0 ||
	    memchr(cert.p, '\n', cert.n)) {
		ctl_err("the daemon's reply holds no certificate");
		ctl_reply_free(&rep);
		return CTL_EXIT_FAILED;
	}
	ctl_get_u64(&rep.top, F_SERIAL, &serial);
	ctl_get_u64(&rep.top, F_VALID_BEFORE, &vb);
	rc = write_cert(out, cert.p, cert.n);
	if (rc == 0 && c->json) {
		int oom = 0;
		json_t *o = json_object();
		if (!o)
			oom = 1;
		else {
			ctl_json_set(o, "certificate", ctl_json_str(cert), &oom);
			ctl_json_set(o, "serial", ctl_json_u64(&rep.top, F_SERIAL), &oom);
			ctl_json_set(o, "key_id", ctl_json_field(&rep.top, F_KEY_ID), &oom);
			ctl_json_set(o, "valid_before", ctl_json_time(&rep.top, F_VALID_BEFORE),
				     &oom);
			ctl_json_set(o, "file", json_string(out), &oom);
		}
		rc = ctl_json_print_checked(o, oom);
	} else if (rc == 0) {
		char t[CTL_TIME_BUFLEN];
		if (ctl_fmt_time(vb, 0, t, sizeof(t)) < 0)
			snprintf(t, sizeof(t), "?");
		fputs("wrote ", stdout);
		ctl_put_safe(stdout, out, strlen(out));
		printf(" (serial %" PRIu64 ", valid until %s)\n", serial, t);
	}
	ctl_reply_free(&rep);
	return rc;
}

static json_t *ca_json(const struct ctl_item *it, int *oom)
{
	static const struct ctl_json_col cols[] = {
		{ "public_key", ctl_json_field, F_PUBLIC_KEY },
		{ "fingerprint", ctl_json_field, F_FINGERPRINT },
		{ "status", ctl_json_field, F_STATUS },
		{ "created_at", ctl_json_time, F_CREATED_AT },
	};
	return ctl_json_item(it, cols, sizeof(cols) / sizeof(cols[0]), oom);
}

int ctl_ssh_ca(struct ctl *c, int argc, char **argv)
{
	struct svca_buf b;
	struct ctl_reply rep;
	int rc;
	if ((rc = ctl_parse_args(c, argc, argv, NULL, 0, NULL, 0, 0, NULL)) != 0)
		return rc;
	ctl_request_begin(&b, SVCA_CMD_SSH_CA);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	if (c->json) {
		rc = ctl_json_print_items(&rep, ca_json);
	} else {
		for (size_t i = 0; i < rep.nitems; i++) {
			struct ctl_str s;
			if (ctl_get_str(&rep.items[i], F_PUBLIC_KEY, &s)) {
				ctl_put_safe(stdout, s.p, s.n);
				putchar('\n');
			}
		}
		if (rep.nitems == 0)
			fputs(CTL_PROG ": no SSH CA keys yet (an agent gets them from its hubs)\n",
			      stderr);
	}
	ctl_reply_free(&rep);
	return rc;
}

static json_t *cert_json(const struct ctl_item *it, int *oom)
{
	static const struct ctl_json_col cols[] = {
		{ "serial", ctl_json_u64, F_SERIAL },
		{ "account", ctl_json_field, F_NAME },
		{ "key_id", ctl_json_field, F_KEY_ID },
		{ "fingerprint", ctl_json_field, F_FINGERPRINT },
		{ "valid_after", ctl_json_time, F_VALID_AFTER },
		{ "valid_before", ctl_json_time, F_VALID_BEFORE },
		{ "status", ctl_json_field, F_STATUS },
		{ "created_at", ctl_json_time, F_CREATED_AT },
	};
	return ctl_json_item(it, cols, sizeof(cols) / sizeof(cols[0]), oom);
}

static struct ctl_str cert_cell(const struct ctl_item *it, size_t col, char *buf)
{
	switch (col) {
	case 0: return ctl_cell_u64(it, F_SERIAL, buf);
	case 1: return ctl_cell_str(it, F_NAME);
	case 2: return ctl_cell_str(it, F_KEY_ID);
	case 3: return ctl_cell_time(it, F_VALID_BEFORE, buf);
	default: return ctl_cell_str(it, F_STATUS);
	}
}

int ctl_ssh_list(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt opts[] = { { "account", 1, NULL } };
	struct svca_buf b;
	struct ctl_reply rep;
	int rc;
	if ((rc = ctl_parse_args(c, argc, argv, opts, 1, NULL, 0, 0, NULL)) != 0)
		return rc;
	if (opts[0].value && (rc = ctl_check_account_name(c, opts[0].value)) != 0)
		return rc;
	ctl_request_begin(&b, SVCA_CMD_SSH_LIST);
	if (opts[0].value)
		svca_put_str(&b, F_NAME, opts[0].value);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	if (c->json) {
		rc = ctl_json_print_items(&rep, cert_json);
	} else {
		static const char *const title[5] = { "SERIAL", "ACCOUNT", "KEY_ID", "VALID_BEFORE",
						      "STATUS" };
		ctl_print_table(title, 5, rep.items, rep.nitems, cert_cell);
	}
	ctl_reply_free(&rep);
	return rc;
}

int ctl_ssh_revoke(struct ctl *c, int argc, char **argv)
{
	static const char *const names[] = { "SERIAL" };
	struct ctl_opt opts[] = { { "account", 1, NULL } };
	const char *pos[1];
	struct svca_buf b;
	struct ctl_reply rep;
	uint64_t serial = 0, total = 0;
	int rc;
	if ((rc = ctl_parse_args(c, argc, argv, opts, 1, names, 0, 1, pos)) != 0)
		return rc;
	const char *account = opts[0].value;
	if (!account == !pos[0])
		return ctl_usage_error(c, "give a certificate's SERIAL or --account NAME");
	if (account && (rc = ctl_check_account_name(c, account)) != 0)
		return rc;
	if (pos[0]) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(pos[0], &end, 10);
		if (errno || *end || !*pos[0] || pos[0][0] == '-' || v == 0)
			return ctl_usage_error(c, "SERIAL must be a certificate's serial number");
		serial = v;
	}
	ctl_request_begin(&b, SVCA_CMD_SSH_REVOKE);
	if (account)
		svca_put_str(&b, F_NAME, account);
	else
		svca_put_u64(&b, F_SERIAL, serial);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	ctl_get_u64(&rep.top, F_TOTAL, &total);
	if (c->json) {
		rc = ctl_json_print_one("revoked", json_integer((json_int_t)total));
	} else {
		printf("revoked %" PRIu64 " certificate%s\n", total, total == 1 ? "" : "s");
	}
	ctl_reply_free(&rep);
	return rc;
}

int ctl_ssh_ca_rotate(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_rotate r = {
		SVCA_CMD_SSH_CA_ROTATE,
		F_FINGERPRINT,
		"fingerprint",
		"next_fingerprint",
		CTL_PROG ": the former next key signs now; this new next key is published "
			 "(hosts trust it before it signs)\n",
	};
	return ctl_rotate(c, argc, argv, &r);
}
