/* SPDX-License-Identifier: GPL-3.0-or-later */
/* svcacctctl key: create, list, disable, enable, revoke.
 *
 * An API key is a secret: it appears once, in the reply to key create, and
 * goes to stdout alone (or in the --json document), or with --out FILE
 * only to a new file of mode 0600.  It is never echoed in a message, and
 * every buffer that held it is wiped. */
#include "svcacctctl.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyfmt.h"

static const char *const name_pos[] = { "NAME" };
static const char *const name_keyid_pos[] = { "NAME", "KEYID" };

/* Upper bound of --expires accepted here; the daemon enforces max_key_days. */
#define EXPIRES_DAYS_CAP 100000u

/* ---- arguments --------------------------------------------------------------- */

/* --expires DAYS|never: *days gets DAYS, or 0 for never. */
static int parse_expires(const struct ctl *c, const char *v, uint64_t *days)
{
	uint64_t n = 0;
	const char *p;

	if (strcmp(v, "never") == 0) {
		*days = 0;
		return 0;
	}
	for (p = v; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > EXPIRES_DAYS_CAP)
			break;
	}
	if (p == v || *p != '\0' || n == 0 || n > EXPIRES_DAYS_CAP)
		return ctl_usage_error(c,
				       "--expires: '%s' is not a number of days (a "
				       "positive integer) or 'never'",
				       v);
	*days = n;
	return 0;
}

/* A key id is 12 base62 characters.  Someone may paste the whole key
 * instead: that is refused without repeating it, and wiped from argv. */
static int check_keyid(const struct ctl *c, char *keyid)
{
	size_t n = strlen(keyid);

	if (strncmp(keyid, SVCA_KEY_PREFIX, SVCA_KEY_PREFIX_LEN) == 0 || n > 40) {
		ctl_wipe(keyid, n);
		return ctl_usage_error(c, "KEYID: that looks like an API key, not a key "
					  "id; give the 12-character key id shown by "
					  "'key list' (and treat the key as leaked if "
					  "others can see your command line)");
	}
	int ok = n == SVCA_KEYID_LEN;
	for (size_t i = 0; ok && i < n; i++) {
		char ch = keyid[i];
		ok = (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') ||
		     (ch >= 'a' && ch <= 'z');
	}
	if (!ok)
		return ctl_usage_error(c,
				       "invalid key id '%s': a key id has %d letters "
				       "and digits (see 'key list')",
				       keyid, SVCA_KEYID_LEN);
	return 0;
}

/* ---- output ---------------------------------------------------------------- */

/* The BYTES field tag of the item; NULL when absent. */
static const struct svca_field *get_bytes(const struct ctl_item *it, uint16_t tag)
{
	for (size_t i = 0; i < it->n; i++)
		if (it->fields[i].tag == tag && it->fields[i].kind == SVCA_K_BYTES)
			return &it->fields[i];
	return NULL;
}

/* {"uid", "pid", "service"} of the last use, or null when never used. */
static json_t *last_used_json(const struct ctl_item *it, int *oom)
{
	uint64_t at;
	if (!ctl_get_u64(it, F_LAST_USED_AT, &at) || at == 0)
		return json_null();
	json_t *o = json_object();
	if (!o) {
		*oom = 1;
		return NULL;
	}
	ctl_json_set(o, "uid", ctl_json_u64(it, F_LAST_USED_UID), oom);
	ctl_json_set(o, "pid", ctl_json_u64(it, F_LAST_USED_PID), oom);
	struct ctl_str s;
	if (ctl_get_str(it, F_LAST_USED_SERVICE, &s) && s.n)
		ctl_json_set(o, "service", ctl_json_str(s), oom);
	else
		ctl_json_set(o, "service", json_null(), oom);
	return o;
}

/* A key object; with key_text (key create only) the key itself too. */
static json_t *key_json_with(const struct ctl_item *it, int *oom, const struct svca_field *key_text)
{
	json_t *o = json_object();
	if (!o) {
		*oom = 1;
		return NULL;
	}
	ctl_json_set(o, "key_id", ctl_json_field(it, F_KEY_ID), oom);
	if (key_text) {
		struct ctl_str k = { (const char *)key_text->val, key_text->len };
		ctl_json_set(o, "key", ctl_json_str(k), oom);
	}
	ctl_json_set(o, "label", ctl_json_field(it, F_LABEL), oom);
	ctl_json_set(o, "status", ctl_json_field(it, F_STATUS), oom);
	ctl_json_set(o, "created_at", ctl_json_time(it, F_CREATED_AT), oom);
	ctl_json_set(o, "created_by", ctl_json_field(it, F_CREATED_BY), oom);
	ctl_json_set(o, "expires_at", ctl_json_time(it, F_EXPIRES_AT), oom);
	ctl_json_set(o, "last_used_at", ctl_json_time(it, F_LAST_USED_AT), oom);
	ctl_json_set(o, "last_used", last_used_json(it, oom), oom);
	ctl_json_set(o, "account", ctl_json_field(it, F_NAME), oom);
	return o;
}

static json_t *key_json(const struct ctl_item *it, int *oom)
{
	return key_json_with(it, oom, NULL);
}

/* "2026-11-27T10:00:00Z (uid 0 pid 4711 service sshd)" or "never". */
static void fmt_last_used(const struct ctl_item *it, char *buf, size_t len)
{
	char t[CTL_TIME_BUFLEN];
	uint64_t at, uid, pid;
	struct ctl_str svc;

	if (!ctl_get_u64(it, F_LAST_USED_AT, &at) || at == 0) {
		snprintf(buf, len, "never");
		return;
	}
	if (ctl_fmt_time(at, 0, t, sizeof(t)) < 0)
		snprintf(t, sizeof(t), "@%" PRIu64, at / 1000);
	int have_uid = ctl_get_u64(it, F_LAST_USED_UID, &uid);
	int have_pid = ctl_get_u64(it, F_LAST_USED_PID, &pid);
	ctl_get_str(it, F_LAST_USED_SERVICE, &svc);
	int n = snprintf(buf, len, "%s", t);
	if (n < 0 || (size_t)n >= len || !(have_uid || have_pid))
		return;
	size_t o = (size_t)n;
	n = snprintf(buf + o, len - o, " (uid %" PRIu64 " pid %" PRIu64, uid, pid);
	if (n < 0 || (size_t)n >= len - o)
		return;
	o += (size_t)n;
	if (svc.p && svc.n)
		n = snprintf(buf + o, len - o, " service %.*s)", (int)(svc.n > 31 ? 31 : svc.n),
			     svc.p);
	else
		n = snprintf(buf + o, len - o, ")");
	(void)n;
}

static struct ctl_str key_cell(const struct ctl_item *it, size_t col, char *buf)
{
	struct ctl_str s = { NULL, 0 };
	uint64_t v;

	switch (col) {
	case 0: return ctl_cell_str(it, F_KEY_ID);
	case 1: return ctl_cell_str(it, F_LABEL);
	case 2: return ctl_cell_str(it, F_STATUS);
	case 3: return ctl_cell_time(it, F_CREATED_AT, buf);
	case 4: return ctl_cell_str(it, F_CREATED_BY);
	case 5:
		if (ctl_get_u64(it, F_EXPIRES_AT, &v) && v == 0) {
			s.p = "never";
			s.n = 5;
			return s;
		}
		return ctl_cell_time(it, F_EXPIRES_AT, buf);
	default:
		fmt_last_used(it, buf, CTL_CELL_BUFLEN);
		s.p = buf;
		s.n = strlen(buf);
		return s;
	}
}

/* A STR field of the reply, else the request's value. */
static void put_str(FILE *f, const struct ctl_item *it, uint16_t tag, const char *fallback)
{
	struct ctl_str s;
	if (ctl_get_str(it, tag, &s))
		ctl_put_safe(f, s.p, s.n);
	else
		fputs(fallback, f);
}

/* "svcacctctl: created key ID for account NAME (LABEL), expires TIME" on
 * stderr (stdout flushed first, so the lines come in order). */
static void print_created(const struct ctl_item *it, const char *name)
{
	char t[CTL_TIME_BUFLEN];
	uint64_t exp = 0;
	struct ctl_str label;

	fflush(stdout);
	fputs(CTL_PROG ": created key ", stderr);
	put_str(stderr, it, F_KEY_ID, "?");
	fputs(" for account ", stderr);
	put_str(stderr, it, F_NAME, name);
	if (ctl_get_str(it, F_LABEL, &label) && label.n) {
		fputs(" (", stderr);
		ctl_put_safe(stderr, label.p, label.n);
		fputc(')', stderr);
	}
	if (ctl_get_u64(it, F_EXPIRES_AT, &exp) && exp == 0)
		fputs(", never expires", stderr);
	else if (ctl_fmt_time(exp, 0, t, sizeof(t)) == 0)
		fprintf(stderr, ", expires %s", t);
	fputc('\n', stderr);
}

/* ---- key create --out FILE ------------------------------------------------ */

/* Creates FILE (mode 0600, O_EXCL: an existing file, maybe holding the key
 * of another account, is never replaced; O_NOFOLLOW: no symbolic link) before
 * the daemon makes the key, so that a path that cannot be written costs no
 * key.  The fd, or -1 after printing the error. */
static int key_out_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			ctl_err("--out %s: the file exists; not replaced (a key file is "
				"only ever created: remove it first or choose a new name)",
				path);
		else
			ctl_err("--out %s: cannot create it: %s", path, strerror(errno));
		return -1;
	}
	/* exactly 0600, whatever the umask */
	if (fchmod(fd, 0600) < 0) {
		ctl_err("--out %s: cannot set its mode: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

/* Writes the key and a newline to fd and closes it.  0, or -1 (errno set;
 * the file is removed). */
static int key_out_write(int fd, const char *path, const struct svca_field *key)
{
	int bad = svca_write_all(fd, key->val, key->len) < 0 || svca_write_all(fd, "\n", 1) < 0 ||
		  fsync(fd) < 0;
	int e = errno;
	if (close(fd) < 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (bad) {
		unlink(path);
		errno = e;
		return -1;
	}
	return 0;
}

/* The key went to the file: its id alone on stdout (so ID=$(...) takes
 * it), what and where on stderr; with --json the key object without the
 * key and with "file". */
static int key_out_report(const struct ctl *c, const struct ctl_item *it, const char *name,
			  const char *path)
{
	if (c->json) {
		int oom = 0;
		json_t *o = key_json_with(it, &oom, NULL);
		ctl_json_set(o, "file", json_string(path), &oom);
		return ctl_json_print_checked(o, oom);
	}
	put_str(stdout, it, F_KEY_ID, "?");
	putchar('\n');
	print_created(it, name);
	fputs(CTL_PROG ": the key is in ", stderr);
	ctl_put_safe(stderr, path, strlen(path));
	fputs(" (mode 0600) and shown nowhere else\n", stderr);
	return 0;
}

/* ---- commands -------------------------------------------------------------- */

int ctl_key_create(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt opts[] = { { "expires", 1, NULL },
				  { "label", 1, NULL },
				  { "out", 1, NULL } };
	const char *pos[1];
	struct svca_buf b;
	struct ctl_reply rep;
	uint64_t days = 0;
	int rc, out_fd = -1;
	const char *out = NULL;

	if ((rc = ctl_parse_args(c, argc, argv, opts, 3, name_pos, 1, 1, pos)) != 0)
		return rc;
	if ((rc = ctl_check_account_name(c, pos[0])) != 0)
		return rc;
	if (opts[0].value && (rc = parse_expires(c, opts[0].value, &days)) != 0)
		return rc;
	if (opts[2].value) {
		out = opts[2].value;
		if (*out == '\0')
			return ctl_usage_error(c, "--out: the path is empty");
		if ((out_fd = key_out_open(out)) < 0)
			return CTL_EXIT_FAILED;
	}

	ctl_request_begin(&b, SVCA_CMD_KEY_CREATE);
	svca_put_str(&b, F_NAME, pos[0]);
	if (opts[0].value)
		svca_put_u64(&b, F_EXPIRES_DAYS, days);
	if (opts[1].value)
		svca_put_str(&b, F_LABEL, opts[1].value);
	if ((rc = ctl_request(c, &b, &rep)) != 0) {
		if (out) { /* no key: the empty file goes */
			close(out_fd);
			unlink(out);
		}
		return rc;
	}

	const struct svca_field *key = get_bytes(&rep.top, F_KEY);
	if (!key || key->len == 0) {
		ctl_err("the daemon's reply holds no key");
		ctl_reply_free(&rep);
		if (out) {
			close(out_fd);
			unlink(out);
		}
		return CTL_EXIT_FAILED;
	}
	if (out) {
		if (key_out_write(out_fd, out, key) < 0) {
			int e = errno;
			struct ctl_str id;
			if (!ctl_get_str(&rep.top, F_KEY_ID, &id) || !id.p || id.n > 64)
				id = (struct ctl_str){ "?", 1 };
			ctl_err("--out %s: cannot write the key: %s; key %.*s was created "
				"and is lost: revoke it with '" CTL_PROG " key revoke %s %.*s'",
				out, strerror(e), (int)id.n, id.p, pos[0], (int)id.n, id.p);
			rc = CTL_EXIT_FAILED;
		} else {
			rc = key_out_report(c, &rep.top, pos[0], out);
		}
	} else if (c->json) {
		int oom = 0;
		json_t *o = key_json_with(&rep.top, &oom, key);
		rc = ctl_json_print_checked(o, oom);
	} else {
		/* What and until when on stderr; the key alone on stdout. */
		print_created(&rep.top, pos[0]);
		fputs(CTL_PROG ": the key is shown only this once: store it now\n", stderr);
		ctl_put_safe(stdout, (const char *)key->val, key->len);
		putchar('\n');
		fflush(stdout);
	}
	ctl_reply_free(&rep); /* wipes the reply, key included */
	return rc;
}

/* key list --all: ACCOUNT KEY_ID LABEL STATUS EXPIRES LAST_USED. */
static struct ctl_str all_cell(const struct ctl_item *it, size_t col, char *buf)
{
	static const size_t map[6] = { 0, 0, 1, 2, 5, 6 };
	if (col == 0)
		return ctl_cell_str(it, F_NAME);
	return key_cell(it, map[col], buf);
}

/* "--expiring DAYS": 0..36500.  0, or a usage error. */
static int parse_days(const struct ctl *c, const char *s, uint64_t *days)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || errno || *s == '-' || v > 36500)
		return ctl_usage_error(c, "--expiring: '%s' is not a number of days (0 to 36500)",
				       s);
	*days = v;
	return 0;
}

static int key_list_all(struct ctl *c, const char *expiring)
{
	static const char *const title[6] = { "ACCOUNT", "KEY_ID",  "LABEL",
					      "STATUS",  "EXPIRES", "LAST_USED" };
	struct svca_buf b;
	struct ctl_reply rep;
	uint64_t days = 0;
	int rc;

	if (expiring && (rc = parse_days(c, expiring, &days)) != 0)
		return rc;
	ctl_request_begin(&b, SVCA_CMD_KEY_LIST_ALL);
	if (expiring)
		svca_put_u64(&b, F_EXPIRING_DAYS, days);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	if (c->json)
		rc = ctl_json_print_items(&rep, key_json);
	else
		ctl_print_table(title, 6, rep.items, rep.nitems, all_cell);
	ctl_reply_free(&rep);
	return rc;
}

int ctl_key_list(struct ctl *c, int argc, char **argv)
{
	static const char *const title[7] = { "KEY_ID",     "LABEL",   "STATUS",   "CREATED",
					      "CREATED_BY", "EXPIRES", "LAST_USED" };
	struct ctl_opt opts[] = { { "all", 0, NULL }, { "expiring", 1, NULL } };
	const char *pos[1] = { NULL };
	struct svca_buf b;
	struct ctl_reply rep;
	int rc;

	if ((rc = ctl_parse_args(c, argc, argv, opts, 2, name_pos, 0, 1, pos)) != 0)
		return rc;
	if (opts[0].value && pos[0])
		return ctl_usage_error(c, "give either NAME or --all, not both");
	if (opts[0].value)
		return key_list_all(c, opts[1].value);
	if (opts[1].value)
		return ctl_usage_error(c, "--expiring goes with --all");
	if (!pos[0])
		return ctl_usage_error(c, "missing argument NAME (or --all)");
	if ((rc = ctl_check_account_name(c, pos[0])) != 0)
		return rc;
	ctl_request_begin(&b, SVCA_CMD_KEY_LIST);
	svca_put_str(&b, F_NAME, pos[0]);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	if (c->json)
		rc = ctl_json_print_items(&rep, key_json);
	else
		ctl_print_table(title, 7, rep.items, rep.nitems, key_cell);
	ctl_reply_free(&rep);
	return rc;
}

/* disable, enable, revoke: NAME KEYID in, the key out. */
static int key_status_cmd(struct ctl *c, int argc, char **argv, enum svca_cmd cmd, const char *done)
{
	const char *pos[2];
	struct svca_buf b;
	struct ctl_reply rep;
	int rc;

	if ((rc = ctl_parse_args(c, argc, argv, NULL, 0, name_keyid_pos, 2, 2, pos)) != 0)
		return rc;
	if ((rc = ctl_check_account_name(c, pos[0])) != 0)
		return rc;
	/* pos[1] points into argv: check_keyid may wipe it there */
	if ((rc = check_keyid(c, (char *)(uintptr_t)pos[1])) != 0)
		return rc;
	ctl_request_begin(&b, cmd);
	svca_put_str(&b, F_NAME, pos[0]);
	svca_put_str(&b, F_KEY_ID, pos[1]);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	if (c->json) {
		int oom = 0;
		json_t *o = key_json(&rep.top, &oom);
		rc = ctl_json_print_checked(o, oom);
	} else {
		printf("%s key ", done);
		put_str(stdout, &rep.top, F_KEY_ID, pos[1]);
		fputs(" of account ", stdout);
		put_str(stdout, &rep.top, F_NAME, pos[0]);
		putchar('\n');
	}
	ctl_reply_free(&rep);
	return rc;
}

int ctl_key_disable(struct ctl *c, int argc, char **argv)
{
	return key_status_cmd(c, argc, argv, SVCA_CMD_KEY_DISABLE, "disabled");
}

int ctl_key_enable(struct ctl *c, int argc, char **argv)
{
	return key_status_cmd(c, argc, argv, SVCA_CMD_KEY_ENABLE, "enabled");
}

int ctl_key_revoke(struct ctl *c, int argc, char **argv)
{
	return key_status_cmd(c, argc, argv, SVCA_CMD_KEY_REVOKE, "revoked");
}
