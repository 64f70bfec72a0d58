/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The fixed Ed25519 key of fuzz_jwt.c and of the token seeds that
 * seedgen.c signs with it (so the seed tokens verify and the fuzzer starts
 * past the signature check).  Not a secret: a test key.
 */
#ifndef SVCACCT_FUZZ_JWT_H
#define SVCACCT_FUZZ_JWT_H

#include <sodium.h>
#include <string.h>

#include "jwt.h"

struct fz_key {
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	char kid[16];
};

static inline int fz_key_init(struct fz_key *k)
{
	uint8_t seed[crypto_sign_SEEDBYTES];
	memset(seed, 0x5a, sizeof(seed));
	if (sodium_init() < 0 || crypto_sign_seed_keypair(k->pk, k->sk, seed) != 0)
		return -1;
	return jwt_kid_of(k->pk, k->kid);
}

#endif
