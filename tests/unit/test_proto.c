/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the native protocol codec (common/proto.c).
 *
 * Built by `make unit-tests` as $(BUILD)/tests/test_proto; run by
 * tests/run.sh.  Every test frees what it allocates, so the ASan build's
 * leak checker has nothing to report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"

/* ---- helpers ------------------------------------------------------------ */

static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Writes a field header at p and returns the number of bytes written. */
static size_t field_hdr(uint8_t *p, uint16_t tag, uint8_t kind, uint32_t len)
{
	be16(p, tag);
	p[2] = kind;
	p[3] = 0;
	be32(p + 4, len);
	return SVCA_FIELD_HDR_LEN;
}

/* Builds a body holding one field with the given value bytes. */
static size_t one_field(uint8_t *buf, uint16_t tag, uint8_t kind, const void *val, uint32_t len)
{
	size_t n = field_hdr(buf, tag, kind, len);
	if (len)
		memcpy(buf + n, val, len);
	return n + len;
}

/* Number of fields the iterator yields, or -1 when it reports an error. */
static int count_fields(const uint8_t *body, size_t len)
{
	struct svca_iter it;
	struct svca_field f;
	int n = 0, r;

	svca_iter_init(&it, body, len);
	while ((r = svca_iter_next(&it, &f)) == 1)
		n++;
	return r < 0 ? -1 : n;
}

static const uint8_t *frame_body(const struct svca_buf *b)
{
	return b->data + SVCA_HDR_LEN;
}

static size_t frame_body_len(const struct svca_buf *b)
{
	return b->len - SVCA_HDR_LEN;
}

/* ---- encode / decode round trip ------------------------------------------ */

static void test_roundtrip(void **state)
{
	(void)state;
	struct svca_buf b;
	static const uint8_t secret[5] = { 0x00, 0xff, 0x0a, 's', 0x7f };

	svca_buf_init(&b, 0);
	svca_frame_begin(&b, SVCA_CMD_ACCOUNT_CREATE);
	svca_put_str(&b, F_NAME, "ci-deploy");
	svca_put_str(&b, F_DESCRIPTION, "deploy bot\tfor prod \xc3\xa9");
	svca_put_u64(&b, F_UID, 60001);
	svca_put_u64(&b, F_CREATED_AT, UINT64_C(0x0102030405060708));
	svca_put_bytes(&b, F_KEY, secret, sizeof(secret));
	svca_put_mark(&b, F_ITEM);
	svca_put_str(&b, F_LABEL, "");
	svca_put_str(&b, F_REASON, NULL);
	svca_put_strn(&b, F_ORG_ROLE, "admin-and-more", 5);
	assert_int_equal(svca_frame_end(&b), 0);
	assert_false(b.failed);

	struct svca_header h;
	assert_int_equal(svca_header_parse(b.data, &h), 0);
	assert_int_equal(h.magic, SVCA_MAGIC);
	assert_int_equal(h.version, SVCA_PROTO_VERSION);
	assert_int_equal(h.type, SVCA_CMD_ACCOUNT_CREATE);
	assert_int_equal(h.flags, 0);
	assert_int_equal(h.length, frame_body_len(&b));
	/* The wire format is big-endian: "SVCA", version 1. */
	assert_memory_equal(b.data, "SVCA\x00\x01", 6);

	assert_int_equal(
		svca_body_validate(frame_body(&b), frame_body_len(&b), SVCA_MAX_REQUEST_FIELDS), 0);

	struct svca_field fs[16];
	int n = svca_fields_collect(frame_body(&b), frame_body_len(&b), fs, 16);
	assert_int_equal(n, 9);
	size_t nf = (size_t)n;

	char s[64];
	uint64_t v = 0;
	const struct svca_field *f;

	f = svca_fields_find(fs, nf, F_NAME);
	assert_non_null(f);
	assert_int_equal(f->kind, SVCA_K_STR);
	assert_int_equal(svca_field_str(f, s, sizeof(s)), 0);
	assert_string_equal(s, "ci-deploy");

	f = svca_fields_find(fs, nf, F_DESCRIPTION);
	assert_non_null(f);
	assert_int_equal(svca_field_str(f, s, sizeof(s)), 0);
	assert_string_equal(s, "deploy bot\tfor prod \xc3\xa9");

	f = svca_fields_find(fs, nf, F_UID);
	assert_non_null(f);
	assert_int_equal(f->kind, SVCA_K_U64);
	assert_int_equal(f->len, 8);
	assert_int_equal(svca_field_u64(f, &v), 0);
	assert_int_equal(v, 60001);

	f = svca_fields_find(fs, nf, F_CREATED_AT);
	assert_non_null(f);
	assert_int_equal(svca_field_u64(f, &v), 0);
	assert_true(v == UINT64_C(0x0102030405060708));
	/* big-endian on the wire */
	assert_int_equal(f->val[0], 0x01);
	assert_int_equal(f->val[7], 0x08);

	f = svca_fields_find(fs, nf, F_KEY);
	assert_non_null(f);
	assert_int_equal(f->kind, SVCA_K_BYTES);
	assert_int_equal(f->len, sizeof(secret));
	assert_memory_equal(f->val, secret, sizeof(secret));
	/* BYTES is not a STR: it cannot be read as one. */
	assert_int_equal(svca_field_str(f, s, sizeof(s)), -1);

	f = svca_fields_find(fs, nf, F_ITEM);
	assert_non_null(f);
	assert_int_equal(f->kind, SVCA_K_MARK);
	assert_int_equal(f->len, 0);

	f = svca_fields_find(fs, nf, F_LABEL);
	assert_non_null(f);
	assert_int_equal(f->len, 0);
	assert_int_equal(svca_field_str(f, s, sizeof(s)), 0);
	assert_string_equal(s, "");

	/* svca_put_str(NULL) encodes an empty string */
	f = svca_fields_find(fs, nf, F_REASON);
	assert_non_null(f);
	assert_int_equal(f->kind, SVCA_K_STR);
	assert_int_equal(f->len, 0);

	f = svca_fields_find(fs, nf, F_ORG_ROLE);
	assert_non_null(f);
	assert_int_equal(svca_field_str(f, s, sizeof(s)), 0);
	assert_string_equal(s, "admin");

	/* Fields come back in the order they were put. */
	assert_int_equal(fs[0].tag, F_NAME);
	assert_int_equal(fs[5].tag, F_ITEM);
	assert_int_equal(fs[8].tag, F_ORG_ROLE);

	svca_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void test_empty_frame(void **state)
{
	(void)state;
	struct svca_buf b;
	struct svca_header h;

	svca_buf_init(&b, 0);
	svca_frame_begin(&b, SVCA_CMD_PING);
	assert_int_equal(svca_frame_end(&b), 0);
	assert_int_equal(b.len, SVCA_HDR_LEN);
	assert_int_equal(svca_header_parse(b.data, &h), 0);
	assert_int_equal(h.type, SVCA_CMD_PING);
	assert_int_equal(h.length, 0);
	assert_int_equal(count_fields(frame_body(&b), 0), 0);
	assert_int_equal(svca_body_validate(frame_body(&b), 0, 0), 0);
	svca_buf_free(&b);
}

/* A frame that outgrows the initial allocation several times keeps every
 * byte in place. */
static void test_large_frame_growth(void **state)
{
	(void)state;
	struct svca_buf b;
	enum { N = 3000 };

	svca_buf_init(&b, 0);
	svca_frame_begin(&b, SVCA_OK);
	for (uint64_t i = 0; i < N; i++) {
		svca_put_mark(&b, F_ITEM);
		svca_put_u64(&b, F_SEQ, i * 7919u);
	}
	assert_int_equal(svca_frame_end(&b), 0);
	assert_int_equal(frame_body_len(&b), (size_t)N * (8 + 16));

	struct svca_iter it;
	struct svca_field f;
	uint64_t i = 0, v;
	int r;
	svca_iter_init(&it, frame_body(&b), frame_body_len(&b));
	while ((r = svca_iter_next(&it, &f)) == 1) {
		assert_int_equal(f.tag, F_ITEM);
		assert_int_equal(svca_iter_next(&it, &f), 1);
		assert_int_equal(f.tag, F_SEQ);
		assert_int_equal(svca_field_u64(&f, &v), 0);
		assert_true(v == i * 7919u);
		i++;
	}
	assert_int_equal(r, 0);
	assert_true(i == N);
	svca_buf_free(&b);
}

/* frame_begin on a used buffer starts over. */
static void test_frame_reuse(void **state)
{
	(void)state;
	struct svca_buf b;
	struct svca_header h;

	svca_buf_init(&b, 0);
	svca_frame_begin(&b, SVCA_CMD_ACCOUNT_SHOW);
	svca_put_str(&b, F_NAME, "first");
	assert_int_equal(svca_frame_end(&b), 0);
	svca_frame_begin(&b, SVCA_CMD_ACCOUNT_DELETE);
	svca_put_str(&b, F_NAME, "xy");
	assert_int_equal(svca_frame_end(&b), 0);
	assert_int_equal(svca_header_parse(b.data, &h), 0);
	assert_int_equal(h.type, SVCA_CMD_ACCOUNT_DELETE);
	assert_int_equal(h.length, 8 + 2);
	assert_int_equal(b.len, SVCA_HDR_LEN + 8 + 2);
	svca_buf_free(&b);
}

/* ---- header ---------------------------------------------------------------- */

static void make_header(uint8_t *p, uint32_t magic, uint16_t version, uint16_t type,
			uint32_t length, uint32_t flags)
{
	be32(p, magic);
	be16(p + 4, version);
	be16(p + 6, type);
	be32(p + 8, length);
	be32(p + 12, flags);
}

static void test_header_ok(void **state)
{
	(void)state;
	uint8_t p[SVCA_HDR_LEN];
	struct svca_header h;

	make_header(p, SVCA_MAGIC, SVCA_PROTO_VERSION, SVCA_CMD_AUDIT_VERIFY, 0xfffffffeu,
		    0x80000001u);
	assert_int_equal(svca_header_parse(p, &h), 0);
	assert_int_equal(h.type, SVCA_CMD_AUDIT_VERIFY);
	assert_true(h.length == 0xfffffffeu);
	assert_true(h.flags == 0x80000001u);
}

static void test_header_bad_magic(void **state)
{
	(void)state;
	uint8_t p[SVCA_HDR_LEN];
	struct svca_header h;

	make_header(p, 0x41435653u /* "ACVS": byte-swapped */, SVCA_PROTO_VERSION, SVCA_CMD_PING, 0,
		    0);
	assert_int_equal(svca_header_parse(p, &h), -1);
	make_header(p, 0, SVCA_PROTO_VERSION, SVCA_CMD_PING, 0, 0);
	assert_int_equal(svca_header_parse(p, &h), -1);
	make_header(p, SVCA_MAGIC ^ 1u, SVCA_PROTO_VERSION, SVCA_CMD_PING, 0, 0);
	assert_int_equal(svca_header_parse(p, &h), -1);
	memcpy(p, "GET / HTTP/1.1\r\n", SVCA_HDR_LEN);
	assert_int_equal(svca_header_parse(p, &h), -1);
}

static void test_header_bad_version(void **state)
{
	(void)state;
	uint8_t p[SVCA_HDR_LEN];
	struct svca_header h;
	static const uint16_t bad[] = { 0, SVCA_PROTO_VERSION + 1, 0x0100, 0xffff };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make_header(p, SVCA_MAGIC, bad[i], SVCA_CMD_PING, 0, 0);
		assert_int_equal(svca_header_parse(p, &h), -1);
	}
}

/* ---- malformed bodies ------------------------------------------------------ */

/* A body that ends inside a field header (1..7 bytes). */
static void test_truncated_field_header(void **state)
{
	(void)state;
	uint8_t body[64];
	size_t n = one_field(body, F_NAME, SVCA_K_STR, "abc", 3);

	for (size_t cut = 1; cut < SVCA_FIELD_HDR_LEN; cut++) {
		assert_int_equal(count_fields(body, cut), -1);
		assert_int_equal(svca_body_validate(body, cut, 64), -1);
		/* the same after a good field */
		uint8_t two[128];
		memcpy(two, body, n);
		memcpy(two + n, body, n);
		assert_int_equal(count_fields(two, n + cut), -1);
	}
	assert_int_equal(count_fields(body, n), 1);
}

/* A field whose length runs past the end of the body. */
static void test_field_len_past_end(void **state)
{
	(void)state;
	uint8_t body[64];
	struct svca_field fs[4];

	size_t n = one_field(body, F_NAME, SVCA_K_STR, "abcdef", 6);
	/* body cut inside the value */
	assert_int_equal(count_fields(body, n - 1), -1);
	assert_int_equal(svca_fields_collect(body, n - 1, fs, 4), -1);
	/* declared length one more than what follows */
	be32(body + 4, 7);
	assert_int_equal(count_fields(body, n), -1);
	assert_int_equal(svca_body_validate(body, n, 64), -1);
	/* lengths that would overflow a naive p + len check */
	be32(body + 4, 0xffffffffu);
	assert_int_equal(count_fields(body, n), -1);
	be32(body + 4, 0xfffffff8u);
	assert_int_equal(count_fields(body, n), -1);
	be32(body + 4, 0x80000000u);
	assert_int_equal(count_fields(body, n), -1);
	/* and BYTES fields the same */
	n = one_field(body, F_KEY, SVCA_K_BYTES, "xyz", 3);
	be32(body + 4, 4);
	assert_int_equal(count_fields(body, n), -1);
}

static void test_u64_wrong_length(void **state)
{
	(void)state;
	uint8_t body[64];
	static const uint8_t val[16] = { 0 };
	static const uint32_t bad[] = { 0, 1, 4, 7, 9, 16 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = one_field(body, F_UID, SVCA_K_U64, val, bad[i]);
		assert_int_equal(count_fields(body, n), -1);
		assert_int_equal(svca_body_validate(body, n, 64), -1);
	}
	size_t n = one_field(body, F_UID, SVCA_K_U64, val, 8);
	assert_int_equal(count_fields(body, n), 1);

	/* svca_field_u64 refuses a field that is not a well-formed U64 */
	struct svca_field f = { .tag = F_UID, .kind = SVCA_K_U64, .len = 7, .val = val };
	uint64_t v = 42;
	assert_int_equal(svca_field_u64(&f, &v), -1);
	f.kind = SVCA_K_BYTES;
	f.len = 8;
	assert_int_equal(svca_field_u64(&f, &v), -1);
	f.kind = SVCA_K_STR;
	assert_int_equal(svca_field_u64(&f, &v), -1);
	assert_int_equal(svca_field_u64(NULL, &v), -1);
	assert_int_equal(v, 42);
}

struct bytes {
	const char *p;
	uint32_t n;
};
#define BYTES(lit)                               \
	{                                        \
		lit, (uint32_t)(sizeof(lit) - 1) \
	}

static void test_str_bad_chars(void **state)
{
	(void)state;
	uint8_t body[64];
	static const struct bytes bad[] = {
		BYTES("a\0b"),
		BYTES("\0"),
		BYTES("abc\n"),
		BYTES("\r"),
		BYTES("a\x1b"
		      "[31m"),
		BYTES("\x01"),
		BYTES("x\x7f"),
		BYTES("\x1f"),
		BYTES("ok\0"),
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = one_field(body, F_DESCRIPTION, SVCA_K_STR, bad[i].p, bad[i].n);
		assert_int_equal(count_fields(body, n), -1);
		assert_int_equal(svca_body_validate(body, n, 64), -1);
	}
	/* the same bytes are fine as BYTES */
	size_t n = one_field(body, F_KEY, SVCA_K_BYTES, "a\0b\n", 4);
	assert_int_equal(count_fields(body, n), 1);
	/* tab, space, printable ASCII and UTF-8 are allowed in a STR */
	static const struct bytes good = BYTES("a\tb ~\xc3\xa9\xe2\x82\xac");
	n = one_field(body, F_DESCRIPTION, SVCA_K_STR, good.p, good.n);
	assert_int_equal(count_fields(body, n), 1);
}

static void test_unknown_kind(void **state)
{
	(void)state;
	uint8_t body[64];
	static const uint8_t bad[] = { 0, 5, 6, 0x7f, 0x80, 0xff };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = one_field(body, F_NAME, bad[i], "abc", 3);
		assert_int_equal(count_fields(body, n), -1);
		assert_int_equal(svca_body_validate(body, n, 64), -1);
	}
}

static void test_reserved_byte_and_mark(void **state)
{
	(void)state;
	uint8_t body[64];

	/* the byte after the kind must be zero */
	size_t n = one_field(body, F_NAME, SVCA_K_STR, "abc", 3);
	body[3] = 1;
	assert_int_equal(count_fields(body, n), -1);
	/* a MARK has no value */
	n = one_field(body, F_ITEM, SVCA_K_MARK, "x", 1);
	assert_int_equal(count_fields(body, n), -1);
	n = one_field(body, F_ITEM, SVCA_K_MARK, NULL, 0);
	assert_int_equal(count_fields(body, n), 1);
}

/* After an error the iterator keeps failing, even on a body that would be
 * well-formed from there on. */
static void test_iter_error_sticky(void **state)
{
	(void)state;
	uint8_t body[64];
	struct svca_iter it;
	struct svca_field f;

	size_t n = one_field(body, F_NAME, 9, "abc", 3);
	svca_iter_init(&it, body, n);
	assert_int_equal(svca_iter_next(&it, &f), -1);
	assert_int_equal(svca_iter_next(&it, &f), -1);
	assert_true(it.error);
}

/* ---- caps ------------------------------------------------------------------ */

static void test_field_count_cap(void **state)
{
	(void)state;
	struct svca_buf b;
	struct svca_field *fs;
	const size_t cap = SVCA_MAX_REQUEST_FIELDS;

	fs = calloc(cap + 8, sizeof(*fs));
	assert_non_null(fs);
	svca_buf_init(&b, SVCA_MAX_REQUEST);
	svca_frame_begin(&b, SVCA_CMD_ACCOUNT_CREATE);
	for (size_t i = 0; i < cap; i++)
		svca_put_mark(&b, F_ITEM);
	assert_int_equal(svca_frame_end(&b), 0);

	/* exactly at the cap: fine */
	assert_int_equal(svca_body_validate(frame_body(&b), frame_body_len(&b), cap), 0);
	assert_int_equal(svca_fields_collect(frame_body(&b), frame_body_len(&b), fs, cap),
			 (int)cap);

	/* one over the cap: refused by both */
	svca_put_mark(&b, F_ITEM);
	assert_int_equal(svca_frame_end(&b), 0);
	assert_int_equal(svca_body_validate(frame_body(&b), frame_body_len(&b), cap), -1);
	assert_int_equal(svca_fields_collect(frame_body(&b), frame_body_len(&b), fs, cap), -1);
	/* collect into room for all of them works */
	assert_int_equal(svca_fields_collect(frame_body(&b), frame_body_len(&b), fs, cap + 8),
			 (int)cap + 1);
	/* a max of zero accepts only an empty body */
	assert_int_equal(svca_body_validate(frame_body(&b), frame_body_len(&b), 0), -1);
	assert_int_equal(svca_fields_collect(frame_body(&b), frame_body_len(&b), fs, 0), -1);

	svca_buf_free(&b);
	free(fs);
}

static void test_buf_limit_exceeded(void **state)
{
	(void)state;
	struct svca_buf b;
	char big[200];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';

	/* Room for the header and exactly one 8-byte field with 10 bytes. */
	svca_buf_init(&b, SVCA_HDR_LEN + SVCA_FIELD_HDR_LEN + 10);
	svca_frame_begin(&b, SVCA_CMD_ACCOUNT_CREATE);
	svca_put_strn(&b, F_NAME, big, 10);
	assert_false(b.failed);
	assert_int_equal(svca_frame_end(&b), 0);

	/* One byte more does not fit. */
	svca_put_mark(&b, F_ITEM);
	assert_true(b.failed);
	assert_int_equal(svca_frame_end(&b), -1);
	/* and later puts that would fit on their own stay refused */
	svca_put_strn(&b, F_NAME, "", 0);
	assert_true(b.failed);
	assert_int_equal(svca_frame_end(&b), -1);
	svca_buf_free(&b);

	/* A single field larger than the limit. */
	svca_buf_init(&b, 64);
	svca_frame_begin(&b, SVCA_CMD_ACCOUNT_CREATE);
	svca_put_str(&b, F_DESCRIPTION, big);
	assert_true(b.failed);
	assert_true(b.len <= 64);
	assert_int_equal(svca_frame_end(&b), -1);

	/* frame_begin / reset make the buffer usable again */
	svca_frame_begin(&b, SVCA_CMD_PING);
	assert_false(b.failed);
	assert_int_equal(svca_frame_end(&b), 0);
	svca_buf_free(&b);

	/* The request cap: a 64 KiB request cannot be built. */
	svca_buf_init(&b, SVCA_MAX_REQUEST);
	svca_frame_begin(&b, SVCA_CMD_ACCOUNT_CREATE);
	char *huge = malloc(SVCA_MAX_REQUEST);
	assert_non_null(huge);
	memset(huge, 'a', SVCA_MAX_REQUEST);
	svca_put_strn(&b, F_DESCRIPTION, huge,
		      SVCA_MAX_REQUEST - SVCA_HDR_LEN - SVCA_FIELD_HDR_LEN);
	assert_false(b.failed);
	assert_int_equal(b.len, SVCA_MAX_REQUEST);
	svca_put_mark(&b, F_ITEM);
	assert_true(b.failed);
	assert_int_equal(svca_frame_end(&b), -1);
	free(huge);
	svca_buf_free(&b);

	/* A frame too small for its header cannot be ended. */
	svca_buf_init(&b, 8);
	svca_frame_begin(&b, SVCA_CMD_PING);
	assert_true(b.failed);
	assert_int_equal(svca_frame_end(&b), -1);
	svca_buf_free(&b);
}

/* ---- accessors ------------------------------------------------------------- */

/* A request that names a field twice is malformed (issue 14): the daemon
 * used to take the first value.  Replies and records may repeat tags. */
static void test_request_duplicate_field(void **state)
{
	(void)state;
	struct svca_buf b;
	struct svca_field fs[SVCA_MAX_REQUEST_FIELDS];
	uint16_t dup = 0;

	svca_buf_init(&b, 0);
	svca_frame_begin(&b, SVCA_CMD_ACCOUNT_SHOW);
	svca_put_str(&b, F_NAME, "ci-a");
	svca_put_u64(&b, F_UID, 7);
	svca_put_str(&b, F_NAME, "ci-b");
	assert_int_equal(svca_frame_end(&b), 0);
	assert_int_equal(svca_request_fields_collect(frame_body(&b), frame_body_len(&b), fs,
						     SVCA_MAX_REQUEST_FIELDS, &dup),
			 SVCA_DUP_FIELD);
	assert_int_equal(dup, F_NAME);
	/* the same tag with another kind is still the same field */
	svca_buf_reset(&b);
	svca_frame_begin(&b, SVCA_CMD_PAM_AUTH);
	svca_put_bytes(&b, F_TOKEN, "x", 1);
	svca_put_str(&b, F_TOKEN, "y");
	assert_int_equal(svca_frame_end(&b), 0);
	assert_int_equal(svca_request_fields_collect(frame_body(&b), frame_body_len(&b), fs,
						     SVCA_MAX_REQUEST_FIELDS, NULL),
			 SVCA_DUP_FIELD);
	/* two marks are two fields too */
	svca_buf_reset(&b);
	svca_frame_begin(&b, SVCA_CMD_PING);
	svca_put_mark(&b, F_ITEM);
	svca_put_mark(&b, F_ITEM);
	assert_int_equal(svca_frame_end(&b), 0);
	assert_int_equal(svca_request_fields_collect(frame_body(&b), frame_body_len(&b), fs,
						     SVCA_MAX_REQUEST_FIELDS, &dup),
			 SVCA_DUP_FIELD);
	assert_int_equal(dup, F_ITEM);
	/* distinct tags: the count, as svca_fields_collect */
	svca_buf_reset(&b);
	svca_frame_begin(&b, SVCA_CMD_PAM_SESSION_OPEN);
	svca_put_str(&b, F_NAME, "ci-a");
	svca_put_str(&b, F_SERVICE, "sshd");
	svca_put_u64(&b, F_PID, 42);
	svca_put_u64(&b, F_NO_TOKEN, 1);
	assert_int_equal(svca_frame_end(&b), 0);
	assert_int_equal(svca_request_fields_collect(frame_body(&b), frame_body_len(&b), fs,
						     SVCA_MAX_REQUEST_FIELDS, &dup),
			 4);
	/* empty body; malformed body stays -1; too many fields stays -1 */
	assert_int_equal(svca_request_fields_collect(frame_body(&b), 0, fs, 4, NULL), 0);
	assert_int_equal(svca_request_fields_collect(frame_body(&b), frame_body_len(&b) - 1, fs,
						     SVCA_MAX_REQUEST_FIELDS, NULL),
			 -1);
	assert_int_equal(
		svca_request_fields_collect(frame_body(&b), frame_body_len(&b), fs, 3, NULL), -1);
	/* a reply or record may still repeat a tag */
	svca_buf_reset(&b);
	svca_frame_begin(&b, SVCA_OK);
	svca_put_str(&b, F_CAPABILITY, "login");
	svca_put_str(&b, F_CAPABILITY, "sudo");
	assert_int_equal(svca_frame_end(&b), 0);
	assert_int_equal(svca_fields_collect(frame_body(&b), frame_body_len(&b), fs, 8), 2);
	svca_buf_free(&b);
}

static void test_fields_find(void **state)
{
	(void)state;
	struct svca_buf b;
	struct svca_field fs[8];
	char s[16];

	svca_buf_init(&b, 0);
	svca_frame_begin(&b, SVCA_OK);
	svca_put_str(&b, F_CAPABILITY, "login");
	svca_put_str(&b, F_CAPABILITY, "sudo");
	svca_put_u64(&b, F_UID, 7);
	assert_int_equal(svca_frame_end(&b), 0);
	int n = svca_fields_collect(frame_body(&b), frame_body_len(&b), fs, 8);
	assert_int_equal(n, 3);

	const struct svca_field *f = svca_fields_find(fs, (size_t)n, F_CAPABILITY);
	assert_ptr_equal(f, &fs[0]); /* the first of repeated tags */
	assert_int_equal(svca_field_str(f, s, sizeof(s)), 0);
	assert_string_equal(s, "login");
	assert_null(svca_fields_find(fs, (size_t)n, F_NAME));
	assert_null(svca_fields_find(fs, 0, F_CAPABILITY));
	/* a U64 is not a STR */
	assert_int_equal(svca_field_str(svca_fields_find(fs, (size_t)n, F_UID), s, sizeof(s)), -1);
	/* an absent field is not a STR either */
	assert_int_equal(svca_field_str(NULL, s, sizeof(s)), -1);
	svca_buf_free(&b);
}

static void test_field_str_too_small(void **state)
{
	(void)state;
	static const char val[] = "abcde";
	struct svca_field f = {
		.tag = F_NAME,
		.kind = SVCA_K_STR,
		.len = 5,
		.val = (const uint8_t *)val,
	};
	char dst[8];

	memset(dst, '#', sizeof(dst));
	/* needs len + 1 for the NUL */
	assert_int_equal(svca_field_str(&f, dst, 5), -1);
	assert_int_equal(svca_field_str(&f, dst, 1), -1);
	assert_int_equal(svca_field_str(&f, dst, 0), -1);
	/* nothing written past dstlen on failure */
	assert_int_equal(dst[5], '#');
	assert_int_equal(svca_field_str(&f, dst, 6), 0);
	assert_string_equal(dst, "abcde");
	assert_int_equal(dst[6], '#');

	/* an empty STR needs one byte */
	f.len = 0;
	assert_int_equal(svca_field_str(&f, dst, 0), -1);
	assert_int_equal(svca_field_str(&f, dst, 1), 0);
	assert_string_equal(dst, "");
}

static void test_names_of_codes(void **state)
{
	(void)state;
	/* the names of commands are in the daemon's command table:
	 * test_dispatch.c */
	assert_string_equal(svca_status_name(SVCA_OK), "ok");
	assert_string_equal(svca_status_name(SVCA_ERR_UNAVAIL), "unavailable");
	assert_non_null(svca_status_name(4242));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_empty_frame),
		cmocka_unit_test(test_large_frame_growth),
		cmocka_unit_test(test_frame_reuse),
		cmocka_unit_test(test_header_ok),
		cmocka_unit_test(test_header_bad_magic),
		cmocka_unit_test(test_header_bad_version),
		cmocka_unit_test(test_truncated_field_header),
		cmocka_unit_test(test_field_len_past_end),
		cmocka_unit_test(test_u64_wrong_length),
		cmocka_unit_test(test_str_bad_chars),
		cmocka_unit_test(test_unknown_kind),
		cmocka_unit_test(test_reserved_byte_and_mark),
		cmocka_unit_test(test_iter_error_sticky),
		cmocka_unit_test(test_field_count_cap),
		cmocka_unit_test(test_buf_limit_exceeded),
		cmocka_unit_test(test_fields_find),
		cmocka_unit_test(test_request_duplicate_field),
		cmocka_unit_test(test_field_str_too_small),
		cmocka_unit_test(test_names_of_codes),
	};
	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
