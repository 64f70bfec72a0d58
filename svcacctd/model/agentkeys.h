/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * An agent's offline check of API keys (DESIGN.md section 9): after a hub
 * accepted a key once for this host, the agent keeps a verifier of it and
 * checks the key itself from then on, with no network.
 *
 *   <state_dir>/agent_verifier.key  32 random bytes, 0600, root; created on
 *                     first need (write, fsync, rename).  Never the pepper
 *                     and never the hub's hash: a verifier is useless on
 *                     any other host, and to the hubs.
 *   DB_STATE kver/<key_id>  'V' v1: F_UID (owner), F_CREATED_AT (the key
 *                     record's: its generation), F_KEY (32 bytes:
 *                     BLAKE2b-256(key = host secret, msg = key secret)).
 *
 * A verifier counts only while the applied snapshot lists the key active,
 * unexpired, with the same owner and creation time; otherwise it is
 * ignored (akv_prune drops such records).
 */
#ifndef SVCACCTD_AGENTKEYS_H
#define SVCACCTD_AGENTKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define AKV_FILE "agent_verifier.key"
#define AKV_LEN 32

/* The host secret: 1 read, 0 none (create == 0), -1 error (unreadable,
 * wrong size, not 0600 or not ours).  With create, a missing one is made. */
int akv_secret(const char *state_dir, int create, uint8_t out[AKV_LEN]);

/* BLAKE2b-256(key = host secret, msg = the key's secret part). */
void akv_compute(const uint8_t host[AKV_LEN], const char *secret, uint8_t out[AKV_LEN]);

enum akv_result { AKV_ERROR = -1, AKV_MISMATCH = 0, AKV_MATCH = 1, AKV_NONE = 2 };

/* The presented secret against the verifier of key_id: AKV_NONE when there
 * is none bound to this key (owner uid, creation time created_at: its
 * generation) or no host secret. */
enum akv_result akv_check(struct store *s, const char *state_dir, const char *key_id, uint32_t uid,
			  uint64_t created_at, const char *secret);
/* Records the verifier of (k's id, uid, created_at, secret), in the
 * caller's transaction.  0 or -1. */
int akv_store(struct store *s, const char *state_dir, const char *key_id, uint32_t uid,
	      uint64_t created_at, const char *secret);
/* 1 when key_id is active with that owner and creation time, 0 not, -1
 * error (keys.c's key_is_current: given by the caller, so this file needs
 * nothing of keys.c and keys.c may call it). */
typedef int (*akv_current_fn)(struct store *s, const char *key_id, uint32_t uid,
			      uint64_t created_at);
/* Drops verifiers whose key is no longer current (own transaction).  The
 * number dropped, or -1. */
int akv_prune(struct store *s, akv_current_fn current);

#endif
