/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The hosts of a fleet, as a hub keeps them (DESIGN.md section 9).
 *
 * DB_STATE keys (records: kind:u8 version:u8 fields, record.h):
 *
 *   host/<host_id>     'H' v1: F_HOST_ID, F_WORKSPACES (repeated),
 *                      F_STATUS "active" | "disabled", F_CREATED_AT,
 *                      F_CREATED_BY, F_LAST_SEEN (0 = never),
 *                      F_SNAPSHOT_SEQ, [F_LAG_S] (absent = unknown),
 *                      F_KEY_ID (the credential's id), F_KEY (32 bytes:
 *                      BLAKE2b-256 keyed with the pepper of the
 *                      credential's secret text, as key_hash())
 *   hcred/<cred_id>    'C' v1: F_HOST_ID (the host a credential id names)
 *   enroll/<token_id>  'N' v1: F_KEY_ID, F_KEY (keyed hash of the
 *                      token's secret), F_WORKSPACES (repeated),
 *                      F_CREATED_AT, F_CREATED_BY, F_EXPIRES_AT,
 *                      F_ALLOWED (1 = used), F_UPDATED_AT (used at),
 *                      F_HOST_ID (the host it enrolled)
 *
 * Secrets (text format of keyfmt.h, 67 characters):
 *   host credential   svch_<cred_id>_<secret><check>
 *   enrollment token  svce_<token_id>_<secret><check>
 * Only their keyed hashes are stored; the texts are shown once.
 */
#ifndef SVCACCTD_HOSTS_H
#define SVCACCTD_HOSTS_H

#include <stddef.h>
#include <stdint.h>

#include "daemon.h"
#include "keyfmt.h"
#include "names.h"
#include "store.h"

#define HOST_RECORD_VERSION 1
#define HOST_ID_MAX 64
#define HOST_MAX_WORKSPACES 32
#define HOST_HASH_LEN 32
#define ENROLL_TTL_DEFAULT 3600
#define ENROLL_TTL_MAX (30 * 86400)

enum host_status { HOST_ACTIVE = 0, HOST_DISABLED = 1 };

struct host {
	char host_id[HOST_ID_MAX + 1];
	char workspaces[HOST_MAX_WORKSPACES][SVCA_SCOPE_NAME_MAX + 1];
	size_t nws;
	enum host_status status;
	uint64_t created_at;
	char created_by[80];
	uint64_t last_seen; /* ms, 0 = never */
	uint64_t snapshot_seq;
	int has_lag;
	uint64_t lag_s;
	char cred_id[SVCA_KEYID_LEN + 1];
	uint8_t cred_hash[HOST_HASH_LEN];
};

struct enroll_token {
	char id[SVCA_KEYID_LEN + 1];
	uint8_t hash[HOST_HASH_LEN];
	char workspaces[HOST_MAX_WORKSPACES][SVCA_SCOPE_NAME_MAX + 1];
	size_t nws;
	uint64_t created_at;
	char created_by[80];
	uint64_t expires_at; /* ms */
	int used;
	uint64_t used_at;
	char host_id[HOST_ID_MAX + 1];
};

const char *host_status_name(enum host_status s);

/* Records: 1 found, 0 not, -1 error (get); 0 / -1 (put, del).  Writes go
 * into the store's open transaction. */
int host_get(struct store *s, const char *host_id, struct host *h);
int host_put(struct store *s, const struct host *h);
/* Records a snapshot fetch (hsync/<host_id>, folded into host_get and
 * host_all: last_seen, snapshot_seq), in the open transaction. */
int host_sync_put(struct store *s, const char *host_id, uint64_t last_seen, uint64_t seq);
/* Deletes the host and its credential index. */
int host_del(struct store *s, const struct host *h);
/* Every host, sorted by host_id (*out malloc'ed, caller frees). */
int host_all(struct store *s, struct host **out, size_t *n);
int enroll_get(struct store *s, const char *id, struct enroll_token *t);
int enroll_put(struct store *s, const struct enroll_token *t);

/* The record encodings alone (unit tests; the store calls them). */
int host_encode(const struct host *h, struct svca_buf *b);
int host_decode(const uint8_t *data, size_t len, struct host *h);
int enroll_encode(const struct enroll_token *t, struct svca_buf *b);
int enroll_decode(const uint8_t *data, size_t len, struct enroll_token *t);

/* "a,b,c" into ws (each a valid workspace name, no repeats, at most
 * HOST_MAX_WORKSPACES).  0, or -1 with the reason in why. */
int host_parse_workspaces(const char *list, char ws[][SVCA_SCOPE_NAME_MAX + 1], size_t *n,
			  char *why, size_t whylen);

/* A new secret of this kind (SVCA_HOSTCRED_PREFIX or SVCA_ENROLL_PREFIX):
 * its text (out, 68 bytes: the caller wipes it), its id and the keyed hash
 * to store. */
void host_secret_new(const uint8_t *pepper, const char *prefix, char out[SVCA_KEY_LEN + 1],
		     char id[SVCA_KEYID_LEN + 1], uint8_t hash[HOST_HASH_LEN]);

/* The outcome of checking an enrollment token (host.register). */
enum enroll_result {
	ENROLL_OK = 0,
	ENROLL_UNKNOWN, /* malformed, no such id, or the wrong secret */
	ENROLL_USED,    /* enrolled a host already: one time only */
	ENROLL_EXPIRED, /* past expires_at */
	ENROLL_ERROR,   /* the store failed */
};
const char *enroll_reason(enum enroll_result r);

/* Checks a presented enrollment token against its record (t, filled on
 * ENROLL_OK, USED and EXPIRED).  now: wall clock, ms.  Compares the hash
 * in constant time; the token is never logged. */
enum enroll_result enroll_check(struct store *s, const uint8_t *pepper, const char *token,
				size_t len, uint64_t now, struct enroll_token *t);

/*
 * The one check of a host credential, for every hub endpoint an agent
 * calls (GET /v1/agent/whoami now; the snapshot and the change stream
 * next): "Authorization: Bearer svch_..." names an enrolled host.
 * cred/len: the credential text.  On HOSTCRED_OK h is the host's record;
 * on HOSTCRED_DISABLED too (the host exists, the hubs refuse it).
 */
enum hostcred_result {
	HOSTCRED_OK = 0,
	HOSTCRED_MALFORMED, /* not a host credential's text */
	HOSTCRED_UNKNOWN,   /* no such credential (removed host) or wrong secret */
	HOSTCRED_DISABLED,  /* the host is disabled */
	HOSTCRED_ERROR,     /* the store failed */
};
enum hostcred_result host_cred_check(struct store *s, const uint8_t *pepper, const char *cred,
				     size_t len, struct host *h);

#endif
