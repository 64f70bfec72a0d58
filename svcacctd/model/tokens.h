/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Session tokens: EdDSA JWTs (RFC 8037) issued for an active account, with
 * claims iss, sub, uid, aud, iat, nbf, exp, jti, key_id, org_role, role,
 * grants, gen.  The account is the one with that name, that uid and that
 * generation: a token without a uid claim is malformed.  A token stops
 * working at once when its jti is on the deny-list (DB_STATE "deny/<jti>")
 * or the account's generation moved on (deleted, renamed, re-roled, a
 * grant removed or changed, all tokens revoked); it is
 * refused while its account or its API key is disabled, and for good once
 * the key is revoked.
 */
#ifndef SVCACCTD_TOKENS_H
#define SVCACCTD_TOKENS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "accounts.h"
#include "daemon.h"

#define TOKEN_ISSUER "svcacctd"
#define TOKEN_AUDIENCE "svcacct"
#define TOKEN_MAX 512
#define JTI_LEN 22

enum tok_result {
	TOK_OK = 0,
	TOK_MALFORMED,
	TOK_BAD_SIGNATURE,
	TOK_EXPIRED,
	TOK_NOT_YET_VALID,
	TOK_BAD_AUDIENCE,
	TOK_REVOKED,
	TOK_ACCOUNT_UNKNOWN,
	TOK_ACCOUNT_DISABLED,
	TOK_STALE,
	TOK_KEY_DISABLED,
	TOK_KEY_REVOKED,
	TOK_ERROR,
};

const char *tok_reason(enum tok_result r);

struct issued {
	char token[TOKEN_MAX + 1];
	char jti[JTI_LEN + 1];
	uint64_t expires_at; /* ms */
	int ttl;             /* s */
};

/* Signs a token for account a.  key_id names the API key it came from
 * ("session" for PAM session tokens).  0 ok, -1 error. */
int token_issue(struct daemon *d, const struct account *a, const char *key_id, struct issued *out);

/* Full verification: signature with a known key, iss, aud, nbf/exp,
 * deny-list, account (name and uid), status and generation.  On TOK_OK
 * *claims holds the claims (caller json_decref's) and *a the account.  For
 * other results *claims may still be set when the signature was good. */
enum tok_result token_verify(struct daemon *d, const char *tok, size_t len, json_t **claims,
			     struct account *a);

/* Puts jti on the deny-list until exp (s since the epoch), in the open
 * transaction. */
int token_deny(struct daemon *d, const char *jti, uint64_t exp_s);

/* Drops deny-list entries whose tokens expired (daemon tick). */
void tokens_tick(struct daemon *d);

/* The JWKS document of the keys that may still verify tokens (an agent:
 * the applied snapshot's, the hubs' keys). */
char *tokens_jwks(struct daemon *d);

#endif
