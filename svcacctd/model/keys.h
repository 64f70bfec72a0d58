/* SPDX-License-Identifier: GPL-3.0-or-later */
/* API key records (DB_STATE "key/<key_id>") and the credential checks
 * shared by every front end (native protocol, PAM, HTTP). */
#ifndef SVCACCTD_KEYS_H
#define SVCACCTD_KEYS_H

#include <stdint.h>

#include "accounts.h"
#include "daemon.h"
#include "keyfmt.h"

#define KEY_RECORD_VERSION 1
#define KEY_LABEL_MAX 64
#define KEY_HASH_LEN 32

enum key_status { KEY_ACTIVE = 0, KEY_DISABLED = 1, KEY_REVOKED = 2, KEY_EXPIRED = 3 };

struct apikey {
	char key_id[SVCA_KEYID_LEN + 1];
	uint32_t uid; /* owner */
	char label[KEY_LABEL_MAX + 1];
	enum key_status status;
	uint8_t hash[KEY_HASH_LEN];
	uint64_t created_at;
	char created_by[80];
	uint64_t expires_at; /* 0 = never */
	uint64_t last_used_at;
	uint32_t last_used_uid;
	uint32_t last_used_pid;
	char last_used_service[32];
	uint64_t changed_at; /* disabled / revoked / expired at */
};

const char *key_status_name(enum key_status s);

int key_get(struct store *s, const char *key_id, struct apikey *k);
int key_put(struct store *s, const struct apikey *k);
int key_del(struct store *s, const char *key_id);
/* Keys of one account (uid), sorted by creation time. */
int key_of_account(struct store *s, uint32_t uid, struct apikey **out, size_t *n);
int key_all(struct store *s, struct apikey **out, size_t *n);
/* The per-account index of key ids, in the open transaction. */
int key_index_add(struct store *s, uint32_t uid, const char *key_id);
int key_index_drop(struct store *s, uint32_t uid);

/* BLAKE2b-256(key = pepper, msg = secret). */
void key_hash(const uint8_t *pepper, const char *secret, uint8_t out[KEY_HASH_LEN]);

/* Outcome of checking a presented API key (the token.deny reasons). */
enum cred_result {
	CRED_OK = 0,
	CRED_MALFORMED,
	CRED_BAD_CHECKSUM,
	CRED_UNKNOWN_KEY,
	CRED_BAD_SECRET,
	CRED_KEY_DISABLED,
	CRED_KEY_REVOKED,
	CRED_KEY_EXPIRED,
	CRED_ACCOUNT_DISABLED,
	CRED_RATE_LIMITED,
	CRED_LOCKED_OUT,
	CRED_ERROR,
	CRED_HUB_ONLY, /* an agent with no verifier for this key: ask the hubs */
};

const char *cred_reason(enum cred_result r);

struct cred {
	enum cred_result result;
	struct apikey key;
	struct account account;
	int retry_after;                 /* seconds, for RATE_LIMITED / LOCKED_OUT */
	int secret_right;                /* 1: the secret was checked and is right */
	char key_id[SVCA_KEYID_LEN + 1]; /* as presented, "" when malformed */
};

/* Checks a presented key: format and checksum (before any lookup), rate
 * limits per caller and (for the right secret) per key id, a lockout per
 * caller and key id, hash, status, expiry, account status.  Records
 * last-use in memory on success and counts bad secrets toward the lockout
 * (audited as key.lockout by the caller when it engages: c->result ==
 * CRED_LOCKED_OUT && *just_locked).  With service set (a PAM login, or a
 * hub's check of an agent's login) the right secret spends the key's
 * login budget (login_rate_limit_count per login_rate_limit_window), not
 * the token exchanges' (rate_limit_count per rate_limit_window), and no
 * per-caller budget applies.  c->secret_right tells whether the secret was
 * checked and is right: only then may a user be told the key's state. */
void cred_check_key(struct daemon *d, const char *key, size_t len, const struct peer *peer,
		    const char *service, const char *rhost, struct cred *c, int *just_locked);

/* On an agent (DESIGN.md section 9) the secret is compared with the
 * host's verifier of the key (agentkeys.h) when the applied snapshot lists
 * it active with the verifier's generation; with none, the result is
 * CRED_HUB_ONLY (c->key filled when the snapshot knows the key id) and the
 * caller asks a hub.  A revoked, disabled or expired key is refused here
 * without asking. */

/* A refusal decided elsewhere (a hub said the key or secret is wrong)
 * counts toward the caller's lockout for key_id, as a local one does.  1
 * when the lockout engages now. */
int cred_count_failure(struct daemon *d, const struct peer *peer, const char *rhost,
		       const char *key_id);

/* Writes buffered last-use times to the store (in its own transaction) and
 * marks keys past their expiry as expired (audited key.expire).  Called
 * from the daemon's tick and at shutdown. */
void keys_tick(struct daemon *d, int force);

/* The newest use of a key not yet written to disk, for listings. */
int keys_pending_use(const struct daemon *d, const char *key_id, uint64_t *at, uint32_t *uid,
		     uint32_t *pid, const char **service);

/* 1 when key_id is active, owned by uid and made at created_at (an agent's
 * verifier still counts: akv_current_fn), 0 not, -1 error. */
int key_is_current(struct store *s, const char *key_id, uint32_t uid, uint64_t created_at);

#endif
