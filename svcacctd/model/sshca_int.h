/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the files of the SSH user CA share (private to sshca.c,
 * sshca_keys.c, sshca_revoked.c, sshca_files.c, sshca_issue.c; the
 * interface is sshca.h).
 *
 * Records (DB_STATE):
 *   org/ssh_ca        kind 'Q' v1: per key F_ITEM F_PUBLIC_KEY (32 raw bytes)
 *                     F_STATUS (current | next | retired) F_CREATED_AT
 *                     F_EXPIRES_AT (retired at, ms; 0 otherwise).  An org/
 *                     record: agents get it in their snapshot.
 *   org/ssh_revoked   kind 'X' v1: F_TOTAL (krl_version), then per revoked,
 *                     unexpired certificate F_SERIAL F_KEY_ID (its key id)
 *                     F_VALID_BEFORE (ms)
 *   sshs/next         kind 'Z' v1: F_SERIAL, the next serial (from 1)
 *   sshs/low          kind 'Z' v1: F_SERIAL, the lowest serial not purged
 *   sshc/<016x>       kind 'Y' v1: one issued certificate
 *   secret/ssh_ca     hub: the CA secret keys, sealed like secret/signing
 */
#ifndef SVCACCTD_SSHCA_INT_H
#define SVCACCTD_SSHCA_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"
#include "sshcert.h"

/* Not sshca.h (each file includes both): the CA's files stand on this
 * header, it stands on none of them. */
struct daemon;
struct sshca_cert;
struct sshca_keys;
struct store;

enum { REC_SSH_CA = 'Q', REC_SSH_REVOKED = 'X', REC_SSH_CERT = 'Y', REC_SSH_SERIAL = 'Z' };

#define CA_KEY "org/ssh_ca"
#define REVOKED_KEY "org/ssh_revoked"
#define NEXT_KEY "sshs/next"
/* A certificate's validity ends at most this long after it was made. */
#define CERT_LIFE_MS ((int64_t)(SSHCA_TTL_MAX + 60) * 1000)

/* ---- the ground floor (sshca.c) ---- */

/* A list record (org/ssh_ca, org/ssh_revoked) of this kind, version 1 or
 * later, its fields in *it: 1 read (*v malloc'ed: free it after), 0 none,
 * -1 error or another kind. */
int sshca_rec_iter(struct store *st, const char *key, uint8_t kind, uint8_t **v,
		   struct svca_iter *it);

/* ---- the CA keys (sshca_keys.c) ---- */

/* org/ssh_ca: 1 read, 0 none (k->n = 0), -1 error; put: 0, -1. */
int sshca_ca_get(struct store *st, struct sshca_keys *k);
int sshca_ca_put(struct store *st, const struct sshca_keys *k);

/* The CA secret keys (sodium_malloc'ed). */
struct sshca_sec;
struct sshca_sec *sshca_sec_new(void);
void sshca_sec_free(struct sshca_sec *s);
/* As they are now: hub from the store, standalone from memory.  0, -1
 * (none: an agent, or a storage error). */
int sshca_sec_load(struct daemon *d, struct sshca_sec *s);
/* The secret key of pk in s, or NULL. */
const uint8_t *sshca_sec_find(const struct sshca_sec *s, const uint8_t pk[32]);
/* Start (standalone, hub): loads or makes the CA secret keys, publishes
 * their public halves.  0, -1 with err.  Close forgets them. */
int sshca_keys_open(struct daemon *d, char *err, size_t errlen);
void sshca_keys_close(void);

/* ---- the revocation list, org/ssh_revoked (sshca_revoked.c) ---- */

struct sshca_revoked_entry {
	uint64_t serial;
	char key_id[SSH_KEY_ID_MAX];
	uint64_t valid_before; /* ms */
};

struct sshca_rv {
	uint64_t version;
	struct sshca_revoked_entry *e;
	size_t n, cap;
};

void sshca_rv_free(struct sshca_rv *rv);
int sshca_rv_add(struct sshca_rv *rv, uint64_t serial, const char *key_id, uint64_t vb);
/* 1 read, 0 none (empty list), -1 error. */
int sshca_rv_get(struct store *st, struct sshca_rv *rv);
int sshca_rv_put(struct store *st, const struct sshca_rv *rv);
/* Drops the entries of expired certificates.  How many went. */
size_t sshca_rv_prune(struct sshca_rv *rv, uint64_t now_ms);

/* ---- certificate records and serials (sshca.c) ---- */

void sshca_cert_key(uint64_t serial, char out[32]);
int sshca_cert_put(struct store *st, const struct sshca_cert *c);
/* A stored counter (sshs/next, sshs/low): 1 read, 0 none (*out = dflt),
 * -1 error; put: 0, -1. */
int sshca_counter_get(struct store *st, const char *key, uint64_t dflt, uint64_t *out);
int sshca_counter_put(struct store *st, const char *key, uint64_t v);

/* Writes data to path atomically (temp in the same directory, fsync,
 * rename, fsync of the directory) with this mode.  0, -1 (errno). */
int sshca_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* ---- the files for sshd (sshca_files.c) ---- */

/* The next sshca_files_sync writes the files whatever they came from. */
void sshca_files_forget(void);

#endif
