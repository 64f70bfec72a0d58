/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "record.h"

#include <string.h>

void rec_begin(struct svca_buf *b, uint8_t kind, uint8_t version)
{
	uint8_t hdr[2] = { kind, version };
	svca_buf_reset(b);
	svca_put_raw(b, hdr, sizeof(hdr));
}

int rec_parse(const uint8_t *data, size_t len, uint8_t kind, struct rec *r)
{
	memset(r, 0, sizeof(*r));
	if (len < 2 || data[0] != kind || data[1] == 0)
		return -1;
	r->kind = data[0];
	r->version = data[1];
	int n = svca_fields_collect(data + 2, len - 2, r->f, REC_MAX_FIELDS);
	if (n < 0)
		return -1;
	r->n = (size_t)n;
	return 0;
}

void rec_str(const struct rec *r, uint16_t tag, char *dst, size_t dstlen)
{
	const struct svca_field *f = svca_fields_find(r->f, r->n, tag);
	if (!f || svca_field_str(f, dst, dstlen) < 0)
		dst[0] = '\0';
}

uint64_t rec_u64(const struct rec *r, uint16_t tag)
{
	uint64_t v = 0;
	const struct svca_field *f = svca_fields_find(r->f, r->n, tag);
	if (!f || svca_field_u64(f, &v) < 0)
		return 0;
	return v;
}
