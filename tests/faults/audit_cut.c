/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * audit_cut DB FROM: what someone with write access to audit.db but
 * without the daemon's audit key does to hide the newest records: deletes
 * records FROM.. up to the head and rewrites the head to name record
 * FROM-1 (its seq and its BLAKE2b hash), keeping the rest of the head as
 * it was.  For tests/integration/t_sec_audit_head.sh; the daemon must be
 * stopped.  Prints the number of records deleted.
 *
 *   cc -o audit_cut audit_cut.c -lgdbm -lsodium
 */
#include <gdbm.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static datum key_of(char *buf, size_t len, const char *s)
{
	snprintf(buf, len, "%s", s);
	return (datum){ .dptr = buf, .dsize = (int)strlen(buf) };
}

int main(int argc, char **argv)
{
	if (argc != 3 || sodium_init() < 0) {
		fprintf(stderr, "usage: audit_cut DB FROM\n");
		return 2;
	}
	uint64_t from = strtoull(argv[2], NULL, 10);
	GDBM_FILE db = gdbm_open(argv[1], 0, GDBM_WRITER | GDBM_NOLOCK, 0600, NULL);
	if (!db || from < 2) {
		fprintf(stderr, "audit_cut: cannot open %s\n", argv[1]);
		return 1;
	}
	char kb[64];
	datum head = gdbm_fetch(db, key_of(kb, sizeof(kb), "head"));
	if (!head.dptr || head.dsize < 40) {
		fprintf(stderr, "audit_cut: no head\n");
		return 1;
	}
	uint64_t last = 0;
	for (int i = 0; i < 8; i++)
		last = last << 8 | (uint8_t)head.dptr[i];
	char name[64];
	snprintf(name, sizeof(name), "seq/%020llu", (unsigned long long)(from - 1));
	datum prev = gdbm_fetch(db, key_of(kb, sizeof(kb), name));
	if (!prev.dptr) {
		fprintf(stderr, "audit_cut: no record %llu\n", (unsigned long long)(from - 1));
		return 1;
	}
	unsigned deleted = 0;
	for (uint64_t q = from; q <= last; q++) {
		snprintf(name, sizeof(name), "seq/%020llu", (unsigned long long)q);
		if (gdbm_delete(db, key_of(kb, sizeof(kb), name)) == 0)
			deleted++;
	}
	for (int i = 0; i < 8; i++)
		head.dptr[i] = (char)(uint8_t)((from - 1) >> (56 - 8 * i));
	crypto_generichash((uint8_t *)head.dptr + 8, 32, (const uint8_t *)prev.dptr,
			   (size_t)prev.dsize, NULL, 0);
	if (gdbm_store(db, key_of(kb, sizeof(kb), "head"), head, GDBM_REPLACE) != 0) {
		fprintf(stderr, "audit_cut: cannot rewrite the head\n");
		return 1;
	}
	gdbm_close(db);
	free(head.dptr);
	free(prev.dptr);
	printf("%u\n", deleted);
	return 0;
}
