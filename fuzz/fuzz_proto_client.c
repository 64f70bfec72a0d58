/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The clients' side of the native protocol: what svcacctctl and
 * pam_svcacct do with the bytes of a reply.
 *
 * svca_call (common/sockio.c) reads the header with svca_header_parse,
 * refuses a length above max_reply, reads exactly that many bytes and runs
 * svca_body_validate(body, len, SIZE_MAX).  The socket part of svca_call
 * is not fuzzed; every decoder that runs on the reply bytes is:
 *   - svcacctctl: decode() of tools/svcacctctl_exchange.c (static: this file
 *     compiles the real svcacctctl_exchange.c in, it is not a copy), then
 *     ctl_get_str / ctl_get_u64 / ctl_json_str / ctl_put_safe / ctl_width
 *     on every field of every list item, as the listings do;
 *   - pam_svcacct: svca_fields_collect into SVCA_PAM_MAX_FIELDS fields
 *     (pam_svcacct/client.c), svca_pam_field, svca_pam_field_text,
 *     svca_field_u64.
 *
 * Input: one reply frame.  Bit 0 of the header's flags (unused by the
 * protocol) picks the client: 0 = pam_svcacct (max_reply 64 KiB), 1 =
 * svcacctctl (SVCA_MAX_REPLY).
 */
#include "../tools/svcacctctl/svcacctctl_exchange.c"
#include "../tools/svcacctctl/svcacctctl_util.c"
/* ctl_exchange may send to a hub (--hub): its code comes along. */
#include "../tools/svcacctctl/svcacctctl_hub.c"

#include "fuzz_util.h"
#include "module.h"

#include <stdarg.h>

static FILE *devnull;

/* svcacctctl's error printers live in svcacctctl_err.c (which keeps the
 * --json state for main()); the code under test reports through them.
 * The same text, to /dev/null. */
static void to_devnull(const char *fmt, va_list ap)
{
	vfprintf(devnull ? devnull : stderr, fmt, ap);
}

void ctl_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	to_devnull(fmt, ap);
	va_end(ap);
}

void ctl_err_code(const char *code, const char *fmt, ...)
{
	va_list ap;
	(void)code;
	va_start(ap, fmt);
	to_devnull(fmt, ap);
	va_end(ap);
}

void ctl_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	to_devnull(fmt, ap);
	va_end(ap);
}

void ctl_err_reportn(const char *code, size_t codelen, const char *msg, size_t n)
{
	(void)code;
	(void)codelen;
	fwrite(msg, 1, n, devnull ? devnull : stderr);
}

const char *ctl_err_code_of(int status)
{
	return status == 0 ? "ok" : "failed";
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	devnull = fopen("/dev/null", "we");
	if (!devnull)
		abort();
	return 0;
}

static void ctl_side(uint8_t *body, size_t len, uint16_t status)
{
	struct ctl_reply rep;
	memset(&rep, 0, sizeof(rep));
	rep.raw.status = status;
	rep.raw.body = body; /* ctl_reply_free wipes and frees it */
	rep.raw.len = len;
	if (decode(&rep) != 0) {
		ctl_reply_free(&rep);
		return;
	}
	size_t total = rep.top.n;
	for (size_t i = 0; i < rep.nitems; i++)
		total += rep.items[i].n + 1; /* + the F_ITEM mark */
	FZ_ASSERT(total == rep.nfields);

	static const uint16_t tags[] = { F_MESSAGE, F_NAME,  F_DESCRIPTION, F_STATUS,
					 F_KEY_ID,  F_LABEL, F_JSON,        F_CAPABILITY };
	static const uint16_t nums[] = { F_UID, F_CREATED_AT, F_EXPIRES_AT,
					 F_SEQ, F_TOTAL,      F_RETRY_AFTER };
	for (size_t i = 0; i <= rep.nitems; i++) {
		const struct ctl_item *it = i == 0 ? &rep.top : &rep.items[i - 1];
		for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]); t++) {
			struct ctl_str s;
			if (ctl_get_str(it, tags[t], &s) == 1) {
				json_t *j = ctl_json_str(s);
				FZ_ASSERT(j && json_is_string(j));
				json_decref(j);
				ctl_put_safe(devnull, s.p, s.n);
				FZ_ASSERT(ctl_width(s.p, s.n) <= s.n);
			}
			for (size_t nth = 0; ctl_get_str_nth(it, tags[t], nth, &s) == 1; nth++)
				FZ_ASSERT(s.p != NULL);
		}
		for (size_t t = 0; t < sizeof(nums) / sizeof(nums[0]); t++) {
			uint64_t u;
			(void)ctl_get_u64(it, nums[t], &u);
		}
	}
	ctl_reply_free(&rep);
}

static void pam_side(uint8_t *body, size_t len, uint16_t status)
{
	struct svca_pam_answer a;
	memset(&a, 0, sizeof(a));
	a.rep.status = status;
	a.rep.body = body;
	a.rep.len = len;
	int n = svca_fields_collect(a.rep.body, a.rep.len, a.f, SVCA_PAM_MAX_FIELDS);
	if (n >= 0) {
		a.nf = (size_t)n;
		static const uint16_t tags[] = { F_MESSAGE, F_REASON, F_ROLE, F_TOKEN };
		for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]); t++) {
			char small[8], msg[256];
			svca_pam_field_text(&a, tags[t], small, sizeof(small));
			svca_pam_field_text(&a, tags[t], msg, sizeof(msg));
			FZ_ASSERT(strlen(small) < sizeof(small) && strlen(msg) < sizeof(msg));
			for (const char *p = msg; *p; p++)
				FZ_ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f);
		}
		uint64_t u;
		(void)svca_field_u64(svca_pam_field(&a, F_ALLOWED), &u);
		(void)svca_field_u64(svca_pam_field(&a, F_EXPIRES_IN), &u);
	}
	svca_pam_answer_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct svca_header h;

	if (size < SVCA_HDR_LEN || svca_header_parse(data, &h) < 0)
		return 0;
	int ctl = h.flags & 1;
	size_t max_reply = ctl ? SVCA_MAX_REPLY : SVCA_PAM_MAX_REPLY;
	if (h.length > max_reply || size - SVCA_HDR_LEN < h.length)
		return 0;
	(void)svca_status_name(h.type);
	uint8_t *body = fz_dup(data + SVCA_HDR_LEN, h.length);
	if (svca_body_validate(body, h.length, SIZE_MAX) != 0) {
		free(body);
		return 0;
	}
	if (ctl)
		ctl_side(body, h.length, h.type);
	else
		pam_side(body, h.length, h.type);
	return 0;
}
