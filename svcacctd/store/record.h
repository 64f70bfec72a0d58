/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Versioned records at rest.  A record is
 *
 *   kind:u8 version:u8 fields...
 *
 * where fields use the protocol's typed, length-prefixed encoding
 * (proto.h).  Readers accept every version they know and ignore fields
 * they do not, so a record format can grow without a migration.
 */
#ifndef SVCACCTD_RECORD_H
#define SVCACCTD_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define REC_MAX_FIELDS 64

enum rec_kind {
	REC_ACCOUNT = 'A',
	REC_AUDIT = 'E',
};

struct rec {
	uint8_t kind;
	uint8_t version;
	struct svca_field f[REC_MAX_FIELDS];
	size_t n;
};

/* Starts a record in b (which must have been svca_buf_init'ed). */
void rec_begin(struct svca_buf *b, uint8_t kind, uint8_t version);
/* Parses data into r.  -1 when malformed or of another kind. */
int rec_parse(const uint8_t *data, size_t len, uint8_t kind, struct rec *r);

/* Field accessors: copy a string (empty when absent) / read a number (0). */
void rec_str(const struct rec *r, uint16_t tag, char *dst, size_t dstlen);
uint64_t rec_u64(const struct rec *r, uint16_t tag);

#endif
