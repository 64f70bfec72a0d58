/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * svcacctctl: the one way out for errors.  Every error message (usage
 * errors, an unreachable daemon, a refusal) goes through ctl_err_report.
 * Without --json it is printed at once as "svcacctctl: MESSAGE"; with
 * --json it is kept, and ctl_err_flush prints, as the program exits with
 * a status other than 0, one line on stderr:
 *   {"error": {"code": "not_found", "message": "..."}}
 * code is the daemon's F_REASON when it gave one, else the exit status's
 * name (ctl_err_code_of).  Exit statuses are the same in both modes.
 */
#include "svcacctctl.h"

#include <stdarg.h>
#include <string.h>

#define ERR_MSG_MAX 2048
#define ERR_CODE_MAX 64

static struct {
	int json;
	char msg[ERR_MSG_MAX];
	char code[ERR_CODE_MAX];
} err_state;

void ctl_err_set_json(int on)
{
	err_state.json = on;
}

const char *ctl_err_code_of(int status)
{
	switch (status) {
	case CTL_EXIT_USAGE: return "usage";
	case CTL_EXIT_NOTAUTH: return "not_authorized";
	case CTL_EXIT_NOTFOUND: return "not_found";
	case CTL_EXIT_UNREACHABLE: return "unavailable";
	default: return "failed";
	}
}

/* msg[0..n) without one trailing newline. */
static size_t trim(const char *msg, size_t n)
{
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		n--;
	return n;
}

/* A code is a short word: letters, digits, '_', '-', '.'; else ignored. */
static int code_ok(const char *code, size_t n)
{
	if (n == 0 || n >= ERR_CODE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = code[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
			return 0;
	}
	return 1;
}

void ctl_err_reportn(const char *code, size_t codelen, const char *msg, size_t n)
{
	n = trim(msg, n);
	if (!err_state.json) {
		fflush(stdout);
		fputs(CTL_PROG ": ", stderr);
		ctl_put_safe(stderr, msg, n);
		fputc('\n', stderr);
		return;
	}
	/* Several messages for one failure: kept in order, "; " between. */
	size_t have = strlen(err_state.msg);
	if (have && have + 2 < sizeof(err_state.msg)) {
		memcpy(err_state.msg + have, "; ", 2);
		have += 2;
	}
	size_t room = sizeof(err_state.msg) - 1 - have;
	if (n > room)
		n = room;
	memcpy(err_state.msg + have, msg, n);
	err_state.msg[have + n] = '\0';
	if (code && !err_state.code[0] && code_ok(code, codelen)) {
		memcpy(err_state.code, code, codelen);
		err_state.code[codelen] = '\0';
	}
}

void ctl_err_report(const char *code, const char *msg)
{
	ctl_err_reportn(code, code ? strlen(code) : 0, msg, strlen(msg));
}

static void vreport(const char *code, const char *fmt, va_list ap)
{
	char buf[ERR_MSG_MAX];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	ctl_err_report(code, buf);
}

void ctl_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(NULL, fmt, ap);
	va_end(ap);
}

void ctl_err_code(const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(code, fmt, ap);
	va_end(ap);
}

int ctl_err_json(void)
{
	return err_state.json;
}

void ctl_warn(const char *fmt, ...)
{
	char buf[ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	size_t n = trim(buf, strlen(buf));
	fflush(stdout);
	if (!err_state.json) {
		fputs(CTL_PROG ": warning: ", stderr);
		ctl_put_safe(stderr, buf, n);
		fputc('\n', stderr);
		return;
	}
	/* A warning does not fail the command: its own line, at once. */
	json_t *o = json_pack("{s:{s:o}}", "warning", "message",
			      ctl_json_str((struct ctl_str){ buf, n }));
	if (o) {
		json_dumpf(o, stderr, JSON_PRESERVE_ORDER);
		fputc('\n', stderr);
		json_decref(o);
	}
}

int ctl_err_flush(int rc)
{
	if (!err_state.json || rc == 0)
		return rc;
	const char *code = err_state.code[0] ? err_state.code : ctl_err_code_of(rc);
	const char *msg = err_state.msg[0] ? err_state.msg : ctl_err_code_of(rc);
	json_t *o = json_pack("{s:{s:s,s:o}}", "error", "code", code, "message",
			      ctl_json_str((struct ctl_str){ msg, strlen(msg) }));
	fflush(stdout);
	if (!o || json_dumpf(o, stderr, JSON_PRESERVE_ORDER) < 0) {
		/* Out of memory: still one JSON line. */
		fprintf(stderr, "{\"error\": {\"code\": \"%s\", \"message\": \"out of memory\"}}",
			code);
	}
	fputc('\n', stderr);
	json_decref(o);
	return rc;
}
