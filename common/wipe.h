/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Wiping memory that held a secret, in code that may not link libsodium
 * (the PAM and NSS modules link libc only).  explicit_bzero is not
 * removed by the optimiser, like sodium_memzero. */
#ifndef SVCACCT_WIPE_H
#define SVCACCT_WIPE_H

#include <string.h>

static inline void svca_wipe(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}

#endif
