/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * svcacctctl: reading reply fields, and the text, time and JSON helpers
 * the commands share (talking to the daemon or a hub: svcacctctl_exchange.c).
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

/* ---- replies ------------------------------------------------------------------- */

int ctl_parse_uid(const char *s, int64_t *uid)
{
	uint64_t v = 0;

	if (!*s || strlen(s) > 10)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > CTL_UID_MAX)
		return -1;
	if (uid)
		*uid = (int64_t)v;
	return 0;
}

/*
 * Who may serve the socket besides root: --trust-uid, else
 * $SVCACCT_TRUST_UID, else the daemon user (root only when it does not
 * exist or cannot be looked up), as pam_svcacct's daemon_user.  Keys and
 * tokens go only to such a server (svca_call checks the socket's owner
 * and directory, then SO_PEERCRED, before it sends a byte).  0, or an
 * exit status after printing the error.
 */
int ctl_get_str(const struct ctl_item *it, uint16_t tag, struct ctl_str *out)
{
	out->p = NULL;
	out->n = 0;
	for (size_t i = 0; it && i < it->n; i++) {
		const struct svca_field *f = &it->fields[i];
		if (f->tag == tag && f->kind == SVCA_K_STR) {
			out->p = f->len ? (const char *)f->val : "";
			out->n = f->len;
			return 1;
		}
	}
	return 0;
}

int ctl_get_str_nth(const struct ctl_item *it, uint16_t tag, size_t nth, struct ctl_str *out)
{
	out->p = NULL;
	out->n = 0;
	for (size_t i = 0; it && i < it->n; i++) {
		const struct svca_field *f = &it->fields[i];
		if (f->tag != tag || f->kind != SVCA_K_STR)
			continue;
		if (nth-- == 0) {
			out->p = f->len ? (const char *)f->val : "";
			out->n = f->len;
			return 1;
		}
	}
	return 0;
}

int ctl_get_u64(const struct ctl_item *it, uint16_t tag, uint64_t *out)
{
	for (size_t i = 0; it && i < it->n; i++) {
		const struct svca_field *f = &it->fields[i];
		if (f->tag == tag && svca_field_u64(f, out) == 0)
			return 1;
	}
	*out = 0;
	return 0;
}

/* ---- text --------------------------------------------------------------------- */

size_t ctl_utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
	unsigned char c0 = p[0];
	size_t len;
	uint32_t v, min;

	if (c0 < 0x80) {
		*cp = c0;
		return 1;
	}
	if (c0 >= 0xc2 && c0 <= 0xdf) {
		len = 2;
		v = c0 & 0x1fu;
		min = 0x80;
	} else if (c0 >= 0xe0 && c0 <= 0xef) {
		len = 3;
		v = c0 & 0x0fu;
		min = 0x800;
	} else if (c0 >= 0xf0 && c0 <= 0xf4) {
		len = 4;
		v = c0 & 0x07u;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0u) != 0x80u)
			return 0;
		v = v << 6 | (p[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

int ctl_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

void ctl_put_safe(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = ctl_utf8_seq(p + i, n - i, &cp);
		if (l == 0) {
			fputc('?', f);
			i++;
		} else if (ctl_is_control(cp)) {
			fputc(cp == '\t' ? ' ' : '?', f);
			i += l;
		} else {
			fwrite(p + i, 1, l, f);
			i += l;
		}
	}
}

size_t ctl_width(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0;
	for (size_t i = 0; i < n; w++) {
		uint32_t cp;
		size_t l = ctl_utf8_seq(p + i, n - i, &cp);
		i += l ? l : 1;
	}
	return w;
}

/* ---- time ----------------------------------------------------------------------- */

int ctl_fmt_time(uint64_t ms, int with_ms, char *buf, size_t len)
{
	uint64_t secs = ms / 1000;
	time_t t = (time_t)secs;
	struct tm tm;
	int r;

	if ((uint64_t)t != secs || !gmtime_r(&t, &tm) || tm.tm_year > 9999 - 1900)
		return -1;
	if (with_ms)
		r = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
			     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			     (unsigned)(ms % 1000));
	else
		r = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
			     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return r < 0 || (size_t)r >= len ? -1 : 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), for y >= 1970. */
static int64_t days_from_civil(unsigned y, unsigned m, unsigned d)
{
	if (m <= 2)
		y--;
	unsigned era = y / 400;
	unsigned yoe = y - era * 400;
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int64_t)era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
	static const unsigned char dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29u : dim[m - 1];
}

/* Exactly n decimal digits. */
static int take_digits(const char **s, int n, unsigned *out)
{
	unsigned v = 0;
	for (int k = 0; k < n; k++) {
		char ch = (*s)[k];
		if (ch < '0' || ch > '9')
			return -1;
		v = v * 10 + (unsigned)(ch - '0');
	}
	*s += n;
	*out = v;
	return 0;
}

/* YYYY-MM-DD[(T| )HH:MM[:SS[.fff]][Z|±HH[:]MM|±HH]], UTC unless an offset. */
static int parse_iso(const char *s, uint64_t *out)
{
	unsigned y, mo, d, h = 0, mi = 0, se = 0, ms = 0;
	int64_t off = 0;

	if (take_digits(&s, 4, &y) || *s++ != '-' || take_digits(&s, 2, &mo) || *s++ != '-' ||
	    take_digits(&s, 2, &d))
		return -1;
	if (*s == 'T' || *s == 't' || *s == ' ') {
		s++;
		if (take_digits(&s, 2, &h) || *s++ != ':' || take_digits(&s, 2, &mi))
			return -1;
		if (*s == ':') {
			s++;
			if (take_digits(&s, 2, &se))
				return -1;
			if (*s == '.' || *s == ',') {
				unsigned scale = 100;
				int nd = 0;
				for (s++; *s >= '0' && *s <= '9'; s++, nd++) {
					ms += (unsigned)(*s - '0') * scale;
					scale /= 10;
				}
				if (nd == 0)
					return -1;
			}
		}
		if (*s == 'Z' || *s == 'z') {
			s++;
		} else if (*s == '+' || *s == '-') {
			int neg = *s++ == '-';
			unsigned oh, om = 0;
			if (take_digits(&s, 2, &oh))
				return -1;
			if (*s == ':') {
				s++;
				if (take_digits(&s, 2, &om))
					return -1;
			} else if (*s && take_digits(&s, 2, &om)) {
				return -1;
			}
			if (oh > 23 || om > 59)
				return -1;
			off = (int64_t)(oh * 3600 + om * 60);
			if (neg)
				off = -off;
		}
	}
	if (*s != '\0')
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
	    mi > 59 || se > 59)
		return -1;
	int64_t secs = days_from_civil(y, mo, d) * 86400 + (int64_t)(h * 3600 + mi * 60 + se) - off;
	if (secs < 0)
		return -1;
	*out = (uint64_t)secs * 1000 + ms;
	return 0;
}

int ctl_parse_time(const char *s, int64_t now_ms, uint64_t *out_ms)
{
	uint64_t n = 0;
	const char *p;

	if (s[0] == '@') {
		/* @EPOCH: seconds since 1970-01-01T00:00:00Z. */
		if (s[1] == '\0')
			return -1;
		for (p = s + 1; *p; p++) {
			if (*p < '0' || *p > '9' || n > (UINT64_MAX / 1000 - 9) / 10)
				return -1;
			n = n * 10 + (uint64_t)(*p - '0');
		}
		*out_ms = n * 1000;
		return 0;
	}
	if (parse_iso(s, out_ms) == 0)
		return 0;

	/* An age: N followed by s, m, h, d or w. */
	for (p = s; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (p == s || p[0] == '\0' || p[1] != '\0')
		return -1;
	uint64_t unit;
	switch (*p) {
	case 's': unit = 1000; break;
	case 'm': unit = 60 * 1000; break;
	case 'h': unit = 3600 * 1000; break;
	case 'd': unit = 86400 * 1000; break;
	case 'w': unit = 7 * 86400 * 1000; break;
	default: return -1;
	}
	uint64_t now = now_ms > 0 ? (uint64_t)now_ms : 0;
	*out_ms = n > now / unit ? 0 : now - n * unit;
	return 0;
}

/* ---- tables ---------------------------------------------------------------------- */

struct ctl_str ctl_cell_str(const struct ctl_item *it, uint16_t tag)
{
	struct ctl_str s;
	ctl_get_str(it, tag, &s);
	return s;
}

struct ctl_str ctl_cell_u64(const struct ctl_item *it, uint16_t tag, char *buf)
{
	struct ctl_str s = { NULL, 0 };
	uint64_t v;
	if (ctl_get_u64(it, tag, &v)) {
		snprintf(buf, CTL_CELL_BUFLEN, "%" PRIu64, v);
		s.p = buf;
		s.n = strlen(buf);
	}
	return s;
}

struct ctl_str ctl_cell_time(const struct ctl_item *it, uint16_t tag, char *buf)
{
	struct ctl_str s = { NULL, 0 };
	uint64_t v;
	if (!ctl_get_u64(it, tag, &v) || v == 0)
		return s;
	if (ctl_fmt_time(v, 0, buf, CTL_CELL_BUFLEN) < 0)
		snprintf(buf, CTL_CELL_BUFLEN, "@%" PRIu64, v / 1000);
	s.p = buf;
	s.n = strlen(buf);
	return s;
}

void ctl_print_table(const char *const *title, size_t ncols, const struct ctl_item *items,
		     size_t nitems, ctl_cell_fn cell)
{
	size_t width[CTL_TABLE_MAXCOLS];
	char buf[CTL_CELL_BUFLEN];

	if (ncols > CTL_TABLE_MAXCOLS)
		ncols = CTL_TABLE_MAXCOLS;
	/* Two passes over the items: column widths, then the rows. */
	for (size_t k = 0; k < ncols; k++)
		width[k] = strlen(title[k]);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			for (size_t k = 0; k < ncols; k++)
				printf("%-*s%s", k + 1 < ncols ? (int)width[k] : 0, title[k],
				       k + 1 < ncols ? "  " : "\n");
		}
		for (size_t i = 0; i < nitems; i++) {
			for (size_t k = 0; k < ncols; k++) {
				struct ctl_str s = cell(&items[i], k, buf);
				if (!s.p || s.n == 0) {
					s.p = "-";
					s.n = 1;
				}
				size_t w = ctl_width(s.p, s.n);
				if (pass == 0) {
					if (w > width[k])
						width[k] = w;
					continue;
				}
				ctl_put_safe(stdout, s.p, s.n);
				if (k + 1 < ncols)
					printf("%*s", (int)(width[k] - w + 2), "");
			}
			if (pass == 1)
				putchar('\n');
		}
	}
}

/* ---- JSON ------------------------------------------------------------------------ */

json_t *ctl_json_str(struct ctl_str s)
{
	if (!s.p)
		return json_null();
	json_t *j = json_stringn(s.p, s.n);
	if (j)
		return j;
	/* Not UTF-8: replace the bad bytes with U+FFFD. */
	if (s.n > SIZE_MAX / 3)
		return NULL;
	char *t = malloc(s.n * 3 + 1);
	if (!t)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < s.n;) {
		uint32_t cp;
		size_t l = ctl_utf8_seq((const unsigned char *)s.p + i, s.n - i, &cp);
		if (l == 0) {
			memcpy(t + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			memcpy(t + o, s.p + i, l);
			o += l;
			i += l;
		}
	}
	j = json_stringn(t, o);
	free(t);
	return j;
}

json_t *ctl_json_field(const struct ctl_item *it, uint16_t tag)
{
	struct ctl_str s;
	ctl_get_str(it, tag, &s);
	return ctl_json_str(s);
}

json_t *ctl_json_time(const struct ctl_item *it, uint16_t tag)
{
	char buf[CTL_TIME_BUFLEN];
	uint64_t v;
	if (!ctl_get_u64(it, tag, &v) || v == 0 || ctl_fmt_time(v, 1, buf, sizeof(buf)) < 0)
		return json_null();
	return json_string(buf);
}

json_t *ctl_json_u64(const struct ctl_item *it, uint16_t tag)
{
	uint64_t v;
	if (!ctl_get_u64(it, tag, &v) || v > (uint64_t)INT64_MAX)
		return json_null();
	return json_integer((json_int_t)v);
}

json_t *ctl_json_bool(const struct ctl_item *it, uint16_t tag)
{
	uint64_t v;
	if (!ctl_get_u64(it, tag, &v))
		return json_null();
	return json_boolean(v != 0);
}

void ctl_json_set(json_t *obj, const char *key, json_t *val, int *oom)
{
	/* json_object_set_new releases val even when it fails. */
	if (!val || json_object_set_new(obj, key, val) < 0)
		*oom = 1;
}

int ctl_json_print(json_t *doc)
{
	if (!doc) {
		ctl_err("out of memory");
		return CTL_EXIT_FAILED;
	}
	int r = json_dumpf(doc, stdout, JSON_INDENT(2));
	json_decref(doc);
	if (r < 0 || fputc('\n', stdout) == EOF) {
		ctl_err("error writing the JSON output");
		return CTL_EXIT_FAILED;
	}
	return 0;
}

int ctl_json_print_checked(json_t *doc, int oom)
{
	if (oom) {
		json_decref(doc);
		doc = NULL;
	}
	return ctl_json_print(doc);
}

json_t *ctl_json_item(const struct ctl_item *it, const struct ctl_json_col *cols, size_t n,
		      int *oom)
{
	json_t *o = json_object();
	if (!o) {
		*oom = 1;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		ctl_json_set(o, cols[i].key, cols[i].get(it, cols[i].tag), oom);
	return o;
}

int ctl_json_print_one(const char *key, json_t *val)
{
	int oom = 0;
	json_t *o = json_object();
	if (!o) {
		json_decref(val);
		oom = 1;
	} else {
		ctl_json_set(o, key, val, &oom);
	}
	return ctl_json_print_checked(o, oom);
}

int ctl_json_print_items(const struct ctl_reply *rep,
			 json_t *(*item)(const struct ctl_item *it, int *oom))
{
	json_t *arr = json_array();
	int oom = !arr;

	for (size_t i = 0; i < rep->nitems && !oom; i++) {
		json_t *o = item(&rep->items[i], &oom);
		if (!o || json_array_append_new(arr, o) < 0)
			oom = 1;
	}
	return ctl_json_print_checked(arr, oom);
}

/* ---- secrets ------------------------------------------------------------------------ */

void ctl_wipe(void *p, size_t n)
{
	svca_wipe(p, n);
}

/* Drops one trailing "\n" or "\r\n" from buf[0..*len). */
static void chomp(char *buf, size_t *len)
{
	if (*len && buf[*len - 1] == '\n') {
		buf[--*len] = '\0';
		if (*len && buf[*len - 1] == '\r')
			buf[--*len] = '\0';
	}
}

/* A secret must be one line of text: no NUL, no other newline. */
static int secret_text_ok(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\0' || buf[i] == '\n')
			return 0;
	return 1;
}

/* 1 when a file name argument is rather a secret itself (a key or a JWT
 * given where its file belongs): such a name is never repeated. */
static int looks_like_secret(const char *s)
{
	size_t n = strlen(s);
	return (strncmp(s, "svca_", 5) == 0 && n >= 40) ||
	       (strncmp(s, "eyJ", 3) == 0 && strchr(s, '.') && n >= 40);
}

int ctl_read_secret_file(const char *path, const char *what, char *buf, size_t cap, size_t *len)
{
	struct stat st;
	size_t n = 0;

	*len = 0;
	if (looks_like_secret(path)) {
		ctl_err("the %s file name looks like the %s itself: give the name of "
			"a file that holds it (and treat the %s as leaked if others "
			"can see your command line)",
			what, what, what);
		return CTL_EXIT_FAILED;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ctl_err("cannot open the %s file '%s': %s", what, path, strerror(errno));
		return CTL_EXIT_FAILED;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ctl_err("the %s file '%s' is not a regular file", what, path);
		close(fd);
		return CTL_EXIT_FAILED;
	}
	if (st.st_mode & 077)
		ctl_warn("the %s file '%s' is accessible to group or others "
			 "(mode %04o); chmod 600 it",
			 what, path, (unsigned)(st.st_mode & 07777));
	for (;;) {
		if (n + 1 >= cap) {
			ctl_wipe(buf, cap);
			ctl_err("the %s file '%s' is too large to hold a %s", what, path, what);
			close(fd);
			return CTL_EXIT_FAILED;
		}
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			ctl_wipe(buf, cap);
			ctl_err("cannot read the %s file '%s': %s", what, path, strerror(e));
			close(fd);
			return CTL_EXIT_FAILED;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	chomp(buf, &n);
	if (!secret_text_ok(buf, n)) {
		ctl_wipe(buf, cap);
		ctl_err("the %s file '%s' must hold the %s alone, on one line", what, path, what);
		return CTL_EXIT_FAILED;
	}
	*len = n;
	return 0;
}

int ctl_read_secret_stdin(const char *what, char *buf, size_t cap, size_t *len)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), echo_off = 0;
	size_t n = 0;
	int eol = 0;

	*len = 0;
	if (tty) {
		fprintf(stderr, "%s: ", what);
		fflush(stderr);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
			echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
		}
	}
	/* Byte by byte: nothing past the line is consumed or buffered. */
	while (!eol) {
		char ch;
		ssize_t r = read(STDIN_FILENO, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (n + 1 >= cap) {
			n = cap; /* too long */
			break;
		}
		buf[n++] = ch;
		if (ch == '\n')
			eol = 1;
	}
	if (echo_off) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (n >= cap) {
		ctl_wipe(buf, cap);
		ctl_err("the %s on standard input is too long", what);
		return CTL_EXIT_FAILED;
	}
	buf[n] = '\0';
	chomp(buf, &n);
	if (!secret_text_ok(buf, n)) {
		ctl_wipe(buf, cap);
		ctl_err("the %s on standard input contains a NUL byte", what);
		return CTL_EXIT_FAILED;
	}
	*len = n;
	return 0;
}

int ctl_copy_secret(const char *s, const char *what, char *buf, size_t cap, size_t *len)
{
	size_t n = strlen(s);

	*len = 0;
	if (n >= cap) {
		ctl_err("the %s is too long", what);
		return CTL_EXIT_FAILED;
	}
	memcpy(buf, s, n + 1);
	chomp(buf, &n);
	if (!secret_text_ok(buf, n)) {
		ctl_wipe(buf, cap);
		ctl_err("the %s must be one line", what);
		return CTL_EXIT_FAILED;
	}
	*len = n;
	return 0;
}

static void *json_alloc(size_t n)
{
	return malloc(n);
}

static void json_wipe_free(void *p)
{
	if (p) {
		svca_wipe(p, malloc_usable_size(p));
		free(p);
	}
}

static char stdout_buf[16384];

void ctl_secure_output_init(void)
{
	json_set_alloc_funcs(json_alloc, json_wipe_free);
	setvbuf(stdout, stdout_buf, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, sizeof(stdout_buf));
}

void ctl_wipe_stdout(void)
{
	fflush(stdout);
	svca_wipe(stdout_buf, sizeof(stdout_buf));
}
