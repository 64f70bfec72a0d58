/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The JSON binding of the native protocol (common/proto_json.c), on both
 * sides of the HTTPS API: the daemon turns a client's JSON body into a
 * request frame (svca_json_put_fields), svcacctctl --hub turns a hub's
 * JSON reply into a reply frame (svca_json_reply_frame); the other two
 * functions turn frames into JSON (svca_json_request_object,
 * svca_json_reply_doc) and meet bytes that decode as frames.
 *
 * Input: byte 0 picks the mode; the rest is
 *   0  a request body as the daemon parses it (json_loadb, no NUL), at
 *      most HTTPS_MAX_BODY (16 KiB)
 *   1  a reply document as svcacctctl parses it
 *   2  a frame body (fields), converted to JSON as a request and a reply
 *
 * Properties checked besides memory safety: a request body accepted once
 * gives a frame that svca_body_validate-level decoding accepts and that
 * converts back to JSON and again to the same frame bytes (a round trip);
 * the same for a reply document; a frame body that converts to a reply
 * document gives a frame that is a fixed point of the two conversions.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "proto.h"
#include "proto_json.h"

#define FZ_MAX_BODY (16 * 1024)

/* obj -> frame -> object -> frame: the two frames are equal. */
static void request_mode(const uint8_t *p, size_t n)
{
	char err[256];
	json_t *o = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, NULL);
	if (!o)
		return;
	struct svca_buf a, b;
	svca_buf_init(&a, SVCA_MAX_REQUEST);
	svca_frame_begin(&a, SVCA_CMD_ACCOUNT_CREATE);
	if (svca_json_put_fields(o, &a, err, sizeof(err)) == 0 && svca_frame_end(&a) == 0) {
		FZ_ASSERT(strlen(err) < sizeof(err));
		json_t *back = svca_json_request_object(a.data + SVCA_HDR_LEN, a.len - SVCA_HDR_LEN,
							err, sizeof(err));
		/* every field came from a name, so every field has one; a
		 * value JSON cannot carry (not UTF-8) is the one exception */
		if (back) {
			svca_buf_init(&b, SVCA_MAX_REQUEST);
			svca_frame_begin(&b, SVCA_CMD_ACCOUNT_CREATE);
			FZ_ASSERT(svca_json_put_fields(back, &b, err, sizeof(err)) == 0);
			FZ_ASSERT(svca_frame_end(&b) == 0);
			FZ_ASSERT(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
			svca_buf_free(&b);
			json_decref(back);
		}
	}
	svca_buf_free(&a);
	json_decref(o);
}

/* doc -> frame -> doc -> frame: the two frames are equal. */
static void reply_mode(const uint8_t *p, size_t n)
{
	char err[256];
	json_t *d = json_loadb((const char *)p, n, 0, NULL);
	if (!d)
		return;
	struct svca_buf a, b;
	svca_buf_init(&a, 0);
	if (svca_json_reply_frame(d, &a, err, sizeof(err)) == 0) {
		struct svca_header h;
		FZ_ASSERT(svca_header_parse(a.data, &h) == 0);
		json_t *back =
			svca_json_reply_doc(h.type, a.data + SVCA_HDR_LEN, a.len - SVCA_HDR_LEN);
		if (back) {
			svca_buf_init(&b, 0);
			FZ_ASSERT(svca_json_reply_frame(back, &b, err, sizeof(err)) == 0);
			FZ_ASSERT(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
			svca_buf_free(&b);
			json_decref(back);
		}
	}
	svca_buf_free(&a);
	json_decref(d);
}

/* body -> doc -> frame b -> doc -> frame c: b and c are equal (repeated
 * fields are grouped by name, so b may order them differently from the
 * body, but the conversion is then a fixed point). */
static void frame_mode(const uint8_t *p, size_t n)
{
	char err[256];
	json_t *o = svca_json_request_object(p, n, err, sizeof(err));
	json_decref(o);
	json_t *d = svca_json_reply_doc(SVCA_OK, p, n);
	if (!d)
		return;
	struct svca_buf b, c;
	svca_buf_init(&b, 0);
	svca_buf_init(&c, 0);
	if (svca_json_reply_frame(d, &b, err, sizeof(err)) == 0) {
		json_t *d2 =
			svca_json_reply_doc(SVCA_OK, b.data + SVCA_HDR_LEN, b.len - SVCA_HDR_LEN);
		FZ_ASSERT(d2 != NULL);
		FZ_ASSERT(svca_json_reply_frame(d2, &c, err, sizeof(err)) == 0);
		FZ_ASSERT(b.len == c.len && memcmp(b.data, c.data, b.len) == 0);
		json_decref(d2);
	}
	svca_buf_free(&b);
	svca_buf_free(&c);
	json_decref(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > FZ_MAX_BODY + 1)
		return 0;
	uint8_t *p = fz_dup(data + 1, size - 1);
	switch (data[0] % 3) {
	case 0: request_mode(p, size - 1); break;
	case 1: reply_mode(p, size - 1); break;
	default: frame_mode(p, size - 1); break;
	}
	free(p);
	return 0;
}
