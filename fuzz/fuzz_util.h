/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Helpers shared by the libFuzzer targets in fuzz/ (not a target itself:
 * the Makefile builds fuzz/fuzz_*.c).
 *
 * libFuzzer hands a target one heap buffer of exactly `size` bytes, so
 * ASan catches a read past its end.  A target that passes on a *part* of
 * the input copies that part into its own exact-size buffer first, so a
 * read past the part is caught too and not hidden by the bytes after it.
 */
#ifndef SVCACCT_FUZZ_UTIL_H
#define SVCACCT_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* malloc'ed copy of p[0..n) (a 1-byte buffer when n == 0). */
static inline uint8_t *fz_dup(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	if (!d)
		abort();
	if (n)
		memcpy(d, p, n);
	return d;
}

/* malloc'ed NUL-terminated copy of p[0..n). */
static inline char *fz_strdup(const uint8_t *p, size_t n)
{
	char *d = malloc(n + 1);
	if (!d)
		abort();
	if (n)
		memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

/* A property the code promises does not hold: report and abort, so
 * libFuzzer keeps the input as a crash. */
#define FZ_ASSERT(cond)                                                                       \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, \
				#cond);                                                       \
			abort();                                                              \
		}                                                                             \
	} while (0)

#endif
