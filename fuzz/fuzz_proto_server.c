/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon's side of the native protocol (common/proto.c), as
 * svcacctd/net/server.c runs it on every request: svca_header_parse, the size
 * cap of the command (request_size_limit), svca_fields_collect into
 * SVCA_MAX_REQUEST_FIELDS fields, and then the handlers' field readers
 * (req_str, req_account_name, svca_field_u64).
 *
 * Input: one request frame, header and body.  Like the server, only the
 * h.length bytes after the header are the body (a shorter input is a
 * request the server would still be waiting for).
 *
 * Properties checked besides memory safety:
 *   - svca_fields_collect and svca_body_validate agree on every body;
 *   - svca_request_fields_collect refuses exactly the bodies that repeat a
 *     tag, naming the first repeat;
 *   - svca_iter returns the same fields as svca_fields_collect;
 *   - re-encoding the accepted fields with svca_put_* gives back the body
 *     byte for byte (the encoding is canonical);
 *   - a string the readers accept holds no NUL or control character but
 *     tab.
 */
#include <stdint.h>
#include <string.h>

#include "daemon.h"
#include "dispatch.h"
#include "fuzz_util.h"
#include "request.h"
#include "proto.h"

static const uint16_t tags[] = {
	F_NAME,      F_NEW_NAME, F_DESCRIPTION, F_ORG_ROLE, F_TEAM,
	F_WORKSPACE, F_ROLE,     F_SERVICE,     F_KEY_ID,   F_LABEL,
	F_RHOST,     F_TTY,      F_ACCOUNT,     F_EVENT,    F_REASON,
};

static void check_str(const char *s, size_t n)
{
	FZ_ASSERT(strlen(s) == n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		FZ_ASSERT(c == '\t' || (c >= 0x20 && c != 0x7f));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct svca_header h;
	struct svca_field fields[SVCA_MAX_REQUEST_FIELDS];

	if (size < SVCA_HDR_LEN || svca_header_parse(data, &h) < 0)
		return 0;
	if (h.length > request_size_limit(h.type) || size - SVCA_HDR_LEN < h.length)
		return 0;
	uint8_t *body = fz_dup(data + SVCA_HDR_LEN, h.length);

	int n = svca_fields_collect(body, h.length, fields, SVCA_MAX_REQUEST_FIELDS);
	int v = svca_body_validate(body, h.length, SVCA_MAX_REQUEST_FIELDS);
	FZ_ASSERT((n >= 0) == (v == 0));

	/* The iterator sees the same fields, in order. */
	struct svca_iter it;
	struct svca_field f;
	size_t k = 0;
	int r;
	svca_iter_init(&it, body, h.length);
	while ((r = svca_iter_next(&it, &f)) == 1 && k < SVCA_MAX_REQUEST_FIELDS) {
		if (n >= 0) {
			FZ_ASSERT((size_t)n > k);
			FZ_ASSERT(f.tag == fields[k].tag && f.kind == fields[k].kind &&
				  f.len == fields[k].len && f.val == fields[k].val);
		}
		k++;
	}
	if (n < 0) {
		free(body);
		return 0;
	}
	FZ_ASSERT(r == 0 && k == (size_t)n);

	/* What server.c's dispatch does: the same fields, unless a tag
	 * repeats, which it names. */
	struct svca_field rf[SVCA_MAX_REQUEST_FIELDS];
	uint16_t dup = 0;
	int rn = svca_request_fields_collect(body, h.length, rf, SVCA_MAX_REQUEST_FIELDS, &dup);
	int repeats = 0;
	for (int i = 1; i < n && !repeats; i++)
		for (int j = 0; j < i; j++)
			if (fields[i].tag == fields[j].tag) {
				FZ_ASSERT(rn == SVCA_DUP_FIELD && dup == fields[i].tag);
				repeats = 1;
				break;
			}
	if (!repeats)
		FZ_ASSERT(rn == n);

	/* Canonical: the fields encode back to the same bytes. */
	struct svca_buf re;
	svca_buf_init(&re, SVCA_MAX_REQUEST + SVCA_HDR_LEN);
	svca_frame_begin(&re, h.type);
	for (int i = 0; i < n; i++) {
		const struct svca_field *x = &fields[i];
		uint64_t u;
		switch (x->kind) {
		case SVCA_K_STR: svca_put_strn(&re, x->tag, (const char *)x->val, x->len); break;
		case SVCA_K_U64:
			FZ_ASSERT(svca_field_u64(x, &u) == 0);
			svca_put_u64(&re, x->tag, u);
			break;
		case SVCA_K_BYTES: svca_put_bytes(&re, x->tag, x->val, x->len); break;
		case SVCA_K_MARK: svca_put_mark(&re, x->tag); break;
		default: FZ_ASSERT(!"svca_fields_collect accepted an unknown kind");
		}
	}
	FZ_ASSERT(svca_frame_end(&re) == 0);
	FZ_ASSERT(re.len == SVCA_HDR_LEN + h.length);
	FZ_ASSERT(memcmp(re.data, data, 8) == 0); /* magic, version, type */
	FZ_ASSERT(memcmp(re.data + SVCA_HDR_LEN, body, h.length) == 0);
	svca_buf_free(&re);

	/* What the handlers do with the fields (struct request needs only
	 * the fields and a reply buffer for these). */
	struct svca_buf reply;
	svca_buf_init(&reply, 0);
	struct request rq = { .cmd = h.type, .f = fields, .nf = (size_t)n, .reply = &reply };
	char name[SVCA_NAME_MAX + 2];
	if (req_account_name(&rq, F_NAME, name) == 0)
		FZ_ASSERT(svca_account_name_valid(name));
	for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]); t++) {
		char small[16], big[SVCA_MAX_STRING + 1];
		if (req_str(&rq, tags[t], small, sizeof(small), 0, "field") == 1)
			check_str(small, strlen(small));
		const struct svca_field *x = svca_fields_find(fields, (size_t)n, tags[t]);
		if (svca_field_str(x, big, sizeof(big)) == 0)
			check_str(big, x->len);
	}
	for (int i = 0; i < n; i++) {
		uint64_t u;
		if (svca_field_u64(&fields[i], &u) == 0)
			FZ_ASSERT(fields[i].kind == SVCA_K_U64 && fields[i].len == 8);
	}
	svca_buf_free(&reply);
	free(body);
	return 0;
}
