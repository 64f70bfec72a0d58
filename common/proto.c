/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Native protocol encoder and decoder; see proto.h for the wire format. */
#include "proto.h"

#include <stdlib.h>
#include <string.h>

#include "wipe.h"

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | (unsigned)p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void svca_buf_init(struct svca_buf *b, size_t limit)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit ? limit : SVCA_MAX_REPLY;
}

void svca_buf_free(struct svca_buf *b)
{
	if (b->data) {
		svca_wipe(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = b->cap = 0;
}

void svca_buf_reset(struct svca_buf *b)
{
	if (b->data)
		svca_wipe(b->data, b->len);
	b->len = 0;
	b->failed = 0;
}

/* Makes room for n more bytes.  Grows by copying so that a secret never
 * lingers in memory released by realloc. */
static uint8_t *reserve(struct svca_buf *b, size_t n)
{
	if (b->failed)
		return NULL;
	if (n > b->limit || b->len > b->limit - n) {
		b->failed = 1;
		return NULL;
	}
	if (b->len + n > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;
		while (ncap < b->len + n)
			ncap *= 2;
		if (ncap > b->limit)
			ncap = b->limit;
		uint8_t *nd = malloc(ncap);
		if (!nd) {
			b->failed = 1;
			return NULL;
		}
		if (b->data) {
			memcpy(nd, b->data, b->len);
			svca_wipe(b->data, b->cap);
			free(b->data);
		}
		b->data = nd;
		b->cap = ncap;
	}
	uint8_t *p = b->data + b->len;
	b->len += n;
	return p;
}

void svca_frame_begin(struct svca_buf *b, uint16_t type)
{
	svca_buf_reset(b);
	uint8_t *p = reserve(b, SVCA_HDR_LEN);
	if (!p)
		return;
	put_be32(p, SVCA_MAGIC);
	put_be16(p + 4, SVCA_PROTO_VERSION);
	put_be16(p + 6, type);
	put_be32(p + 8, 0);
	put_be32(p + 12, 0);
}

int svca_frame_end(struct svca_buf *b)
{
	if (b->failed || b->len < SVCA_HDR_LEN || b->len - SVCA_HDR_LEN > UINT32_MAX)
		return -1;
	put_be32(b->data + 8, (uint32_t)(b->len - SVCA_HDR_LEN));
	return 0;
}

static void put_field(struct svca_buf *b, uint16_t tag, uint8_t kind, const void *v, size_t n)
{
	if (n > UINT32_MAX) {
		b->failed = 1;
		return;
	}
	uint8_t *p = reserve(b, SVCA_FIELD_HDR_LEN + n);
	if (!p)
		return;
	put_be16(p, tag);
	p[2] = kind;
	p[3] = 0;
	put_be32(p + 4, (uint32_t)n);
	if (n)
		memcpy(p + SVCA_FIELD_HDR_LEN, v, n);
}

void svca_put_strn(struct svca_buf *b, uint16_t tag, const char *s, size_t n)
{
	put_field(b, tag, SVCA_K_STR, s, n);
}

void svca_put_str(struct svca_buf *b, uint16_t tag, const char *s)
{
	svca_put_strn(b, tag, s ? s : "", s ? strlen(s) : 0);
}

void svca_put_u64(struct svca_buf *b, uint16_t tag, uint64_t v)
{
	uint8_t x[8];
	for (int i = 0; i < 8; i++)
		x[i] = (uint8_t)(v >> (56 - 8 * i));
	put_field(b, tag, SVCA_K_U64, x, sizeof(x));
}

void svca_put_bytes(struct svca_buf *b, uint16_t tag, const void *p, size_t n)
{
	put_field(b, tag, SVCA_K_BYTES, p, n);
}

void svca_put_raw(struct svca_buf *b, const void *p, size_t n)
{
	uint8_t *d = reserve(b, n);
	if (d && n)
		memcpy(d, p, n);
}

void svca_put_mark(struct svca_buf *b, uint16_t tag)
{
	put_field(b, tag, SVCA_K_MARK, NULL, 0);
}

int svca_header_parse(const uint8_t *p, struct svca_header *h)
{
	h->magic = get_be32(p);
	h->version = get_be16(p + 4);
	h->type = get_be16(p + 6);
	h->length = get_be32(p + 8);
	h->flags = get_be32(p + 12);
	if (h->magic != SVCA_MAGIC || h->version != SVCA_PROTO_VERSION)
		return -1;
	return 0;
}

void svca_iter_init(struct svca_iter *it, const uint8_t *body, size_t len)
{
	it->p = body;
	it->left = len;
	it->error = 0;
}

static int str_ok(const uint8_t *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (s[i] == 0 || (s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return 0;
	return 1;
}

int svca_iter_next(struct svca_iter *it, struct svca_field *f)
{
	if (it->error)
		return -1;
	if (it->left == 0)
		return 0;
	if (it->left < SVCA_FIELD_HDR_LEN)
		goto bad;
	f->tag = get_be16(it->p);
	f->kind = it->p[2];
	f->len = get_be32(it->p + 4);
	if (it->p[3] != 0 || f->len > it->left - SVCA_FIELD_HDR_LEN)
		goto bad;
	f->val = it->p + SVCA_FIELD_HDR_LEN;
	switch (f->kind) {
	case SVCA_K_STR:
		if (!str_ok(f->val, f->len))
			goto bad;
		break;
	case SVCA_K_U64:
		if (f->len != 8)
			goto bad;
		break;
	case SVCA_K_BYTES: break;
	case SVCA_K_MARK:
		if (f->len != 0)
			goto bad;
		break;
	default: goto bad;
	}
	it->p += SVCA_FIELD_HDR_LEN + f->len;
	it->left -= SVCA_FIELD_HDR_LEN + f->len;
	return 1;
bad:
	it->error = 1;
	return -1;
}

int svca_fields_collect(const uint8_t *body, size_t len, struct svca_field *out, size_t max)
{
	struct svca_iter it;
	struct svca_field f;
	size_t n = 0;
	int r;

	svca_iter_init(&it, body, len);
	while ((r = svca_iter_next(&it, &f)) == 1) {
		if (n == max)
			return -1;
		out[n++] = f;
	}
	if (r < 0 || n > (size_t)INT32_MAX)
		return -1;
	return (int)n;
}

int svca_request_fields_collect(const uint8_t *body, size_t len, struct svca_field *out, size_t max,
				uint16_t *dup)
{
	int n = svca_fields_collect(body, len, out, max);

	/* At most SVCA_MAX_REQUEST_FIELDS (64) fields: pairwise is cheap. */
	for (int i = 1; i < n; i++)
		for (int j = 0; j < i; j++)
			if (out[i].tag == out[j].tag) {
				if (dup)
					*dup = out[i].tag;
				return SVCA_DUP_FIELD;
			}
	return n;
}

int svca_body_validate(const uint8_t *body, size_t len, size_t max_fields)
{
	struct svca_iter it;
	struct svca_field f;
	size_t n = 0;
	int r;

	svca_iter_init(&it, body, len);
	while ((r = svca_iter_next(&it, &f)) == 1)
		if (++n > max_fields)
			return -1;
	return r < 0 ? -1 : 0;
}

const struct svca_field *svca_fields_find(const struct svca_field *fs, size_t n, uint16_t tag)
{
	for (size_t i = 0; i < n; i++)
		if (fs[i].tag == tag)
			return &fs[i];
	return NULL;
}

int svca_field_str(const struct svca_field *f, char *dst, size_t dstlen)
{
	if (!f || f->kind != SVCA_K_STR || (size_t)f->len >= dstlen)
		return -1;
	memcpy(dst, f->val, f->len);
	dst[f->len] = '\0';
	return 0;
}

int svca_field_u64(const struct svca_field *f, uint64_t *out)
{
	if (!f || f->kind != SVCA_K_U64 || f->len != 8)
		return -1;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | f->val[i];
	*out = v;
	return 0;
}

const char *svca_status_name(uint16_t status)
{
	switch (status) {
	case SVCA_OK: return "ok";
	case SVCA_ERR_FAILED: return "failed";
	case SVCA_ERR_BADREQ: return "bad request";
	case SVCA_ERR_NOTAUTH: return "not authorized";
	case SVCA_ERR_NOTFOUND: return "not found";
	case SVCA_ERR_UNAVAIL: return "unavailable";
	default: return "unknown status";
	}
}
