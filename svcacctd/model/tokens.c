/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Issuing and verifying session tokens. */
#include "tokens.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentapply.h"
#include "jwt.h"
#include "keys.h"
#include "log.h"
#include "rbac.h"
#include "secrets.h"
#include "sockio.h"

#define NBF_LEEWAY_S 30

const char *tok_reason(enum tok_result r)
{
	switch (r) {
	case TOK_OK: return "ok";
	case TOK_MALFORMED: return "malformed";
	case TOK_BAD_SIGNATURE: return "bad_signature";
	case TOK_EXPIRED: return "expired";
	case TOK_NOT_YET_VALID: return "not_yet_valid";
	case TOK_BAD_AUDIENCE: return "bad_audience";
	case TOK_REVOKED: return "revoked";
	case TOK_ACCOUNT_UNKNOWN: return "unknown_account";
	case TOK_ACCOUNT_DISABLED: return "account_disabled";
	case TOK_STALE: return "superseded";
	case TOK_KEY_DISABLED: return "key_disabled";
	case TOK_KEY_REVOKED: return "key_revoked";
	case TOK_ERROR: return "internal_error";
	}
	return "unknown";
}

/* Signs claims into out; while the token is over TOKEN_MAX, drops grants
 * from the end and counts them in grants_omitted (the host role claim
 * always stays).  With a long name (sub) not even an empty list fits next
 * to grants_omitted: then the grants claim goes, and grants_omitted alone
 * says how many grants there are; as a last resort grants_omitted goes
 * too (no grants claim at all: none listed, not "none held").  Only when
 * the other claims alone are over TOKEN_MAX is there no token. */
static int sign_fitting(json_t *c, const struct signing_key *sk, struct issued *out)
{
	char buf[JWT_MAX_LEN + 1];
	json_t *arr = json_object_get(c, "grants");
	/* add_grants may already have left some out (past the first 16) */
	json_int_t omitted = json_integer_value(json_object_get(c, "grants_omitted"));
	for (;;) {
		int n = jwt_sign(c, sk->kid, sk->sk, buf, sizeof(buf));
		if (n > 0 && (size_t)n <= TOKEN_MAX) {
			memcpy(out->token, buf, (size_t)n + 1);
			sodium_memzero(buf, sizeof(buf));
			return 0;
		}
		if (arr && json_array_size(arr) > 0) {
			json_array_remove(arr, json_array_size(arr) - 1);
			json_object_set_new(c, "grants_omitted", json_integer(++omitted));
		} else if (arr) {
			json_object_del(c, "grants"); /* frees arr */
			arr = NULL;
		} else if (json_object_get(c, "grants_omitted")) {
			json_object_del(c, "grants_omitted");
		} else {
			break;
		}
	}
	sodium_memzero(buf, sizeof(buf));
	return -1;
}

static void add_grants(struct daemon *d, const struct account *a, json_t *claims)
{
	struct grant *gs;
	size_t n;
	json_t *arr = json_array();
	json_object_set_new(claims, "grants", arr);
	if (grant_of_account(d->store, a->uid, &gs, &n) < 0)
		return;
	for (size_t i = 0; i < n && i < 16; i++) {
		char g[96];
		snprintf(g, sizeof(g), "%c:%s:%s", (char)gs[i].kind, gs[i].scope,
			 role_name(gs[i].role));
		json_array_append_new(arr, json_string(g));
	}
	if (n > 16)
		json_object_set_new(claims, "grants_omitted", json_integer((json_int_t)(n - 16)));
	free(gs);
}

int token_issue(struct daemon *d, const struct account *a, const char *key_id, struct issued *out)
{
	const struct signing_key *sk = secrets_current(d->secrets);
	uint8_t rnd[16];
	struct access acc;
	if (!sk || access_compute(d->store, &d->cfg, a, &acc) < 0)
		return -1;
	randombytes_buf(rnd, sizeof(rnd));
	jwt_b64url_encode(rnd, sizeof(rnd), out->jti, sizeof(out->jti));
	int64_t now = svca_wall_ms() / 1000;
	out->ttl = d->cfg.token_ttl;
	out->expires_at = (uint64_t)(now + out->ttl) * 1000;

	json_t *c = json_object();
	json_object_set_new(c, "iss", json_string(TOKEN_ISSUER));
	json_object_set_new(c, "sub", json_string(a->name));
	json_object_set_new(c, "uid", json_integer((json_int_t)a->uid));
	json_object_set_new(c, "aud", json_string(TOKEN_AUDIENCE));
	json_object_set_new(c, "iat", json_integer(now));
	json_object_set_new(c, "nbf", json_integer(now));
	json_object_set_new(c, "exp", json_integer(now + out->ttl));
	json_object_set_new(c, "jti", json_string(out->jti));
	json_object_set_new(c, "key_id", json_string(key_id));
	json_object_set_new(c, "org_role", json_string(org_role_name(a->org_role)));
	json_object_set_new(c, "role", json_string(role_name(acc.role)));
	json_object_set_new(c, "gen", json_integer((json_int_t)a->gen));
	add_grants(d, a, c);
	int r = sign_fitting(c, sk, out);
	json_decref(c);
	return r;
}

static int lookup(void *ctx, const char *kid, uint8_t pk[crypto_sign_PUBLICKEYBYTES])
{
	struct daemon *d = ctx;
	/* An agent verifies organization tokens with the hubs' JWKS from its
	 * snapshot only: its own local keys verify nothing. */
	if (config_mode(&d->cfg) == MODE_AGENT)
		return agent_jwks_find(d->store, kid, pk);
	const struct signing_key *k = secrets_find(d->secrets, kid, svca_wall_ms());
	if (!k)
		return -1;
	memcpy(pk, k->pk, crypto_sign_PUBLICKEYBYTES);
	return 0;
}

static void deny_key(const char *jti, char *key, size_t len)
{
	snprintf(key, len, "deny/%s", jti);
}

enum tok_result token_verify(struct daemon *d, const char *tok, size_t len, json_t **claims,
			     struct account *a)
{
	*claims = NULL;
	switch (jwt_verify(tok, len, lookup, d, claims)) {
	case JWT_OK: break;
	case JWT_BAD_SIGNATURE:
	case JWT_UNKNOWN_KID: return TOK_BAD_SIGNATURE;
	default: return TOK_MALFORMED;
	}
	json_t *c = *claims;
	const char *iss = json_string_value(json_object_get(c, "iss"));
	const char *aud = json_string_value(json_object_get(c, "aud"));
	const char *sub = json_string_value(json_object_get(c, "sub"));
	const char *jti = json_string_value(json_object_get(c, "jti"));
	json_t *exp = json_object_get(c, "exp"), *nbf = json_object_get(c, "nbf");
	json_t *gen = json_object_get(c, "gen"), *uid = json_object_get(c, "uid");
	if (!iss || !sub || !jti || !json_is_integer(exp) || !json_is_integer(nbf) ||
	    !json_is_integer(gen) || !json_is_integer(uid) || json_integer_value(uid) <= 0 ||
	    json_integer_value(uid) > (json_int_t)UINT32_MAX || strlen(jti) > 64)
		return TOK_MALFORMED;
	if (strcmp(iss, TOKEN_ISSUER) != 0 || !aud || strcmp(aud, TOKEN_AUDIENCE) != 0)
		return TOK_BAD_AUDIENCE;
	int64_t now = svca_wall_ms() / 1000;
	if (json_integer_value(exp) <= now)
		return TOK_EXPIRED;
	if (json_integer_value(nbf) > now + NBF_LEEWAY_S)
		return TOK_NOT_YET_VALID;
	char key[96];
	uint8_t *v;
	size_t n;
	deny_key(jti, key, sizeof(key));
	int g = store_get(d->store, DB_STATE, key, &v, &n);
	if (g < 0)
		return TOK_ERROR;
	if (g == 1) {
		free(v);
		return TOK_REVOKED;
	}
	g = account_get(d->store, sub, a);
	if (g < 0)
		return TOK_ERROR;
	/* The name alone is not the account: it may have been deleted and the
	 * name given to another one (a rename, a re-create).  The uid and the
	 * generation (unique across accounts, accounts.c) must match too. */
	if (g == 0 || (json_int_t)a->uid != json_integer_value(uid))
		return TOK_ACCOUNT_UNKNOWN;
	if ((json_int_t)a->gen != json_integer_value(gen)) {
		/* Older than the last "token revoke --account": revoked (the
		 * admin's act), else superseded (a role or grant change). */
		json_int_t tg = json_integer_value(gen);
		return tg >= 0 && (uint64_t)tg < a->tokens_revoked_gen ? TOK_REVOKED : TOK_STALE;
	}
	if (a->disabled)
		return TOK_ACCOUNT_DISABLED;
	/* A token is no better than the key it came from: disabling the key
	 * suspends its tokens, revoking (or deleting) it ends them. */
	const char *kid = json_string_value(json_object_get(c, "key_id"));
	if (kid && strcmp(kid, "session") != 0) {
		struct apikey k;
		int kg = key_get(d->store, kid, &k);
		if (kg < 0)
			return TOK_ERROR;
		if (kg == 0 || k.status == KEY_REVOKED || k.uid != a->uid)
			return TOK_KEY_REVOKED;
		if (k.status == KEY_DISABLED)
			return TOK_KEY_DISABLED;
	}
	return TOK_OK;
}

int token_deny(struct daemon *d, const char *jti, uint64_t exp_s)
{
	char key[96], val[24];
	deny_key(jti, key, sizeof(key));
	int n = snprintf(val, sizeof(val), "%" PRIu64, exp_s);
	return store_put(d->store, DB_STATE, key, (const uint8_t *)val, (size_t)n);
}

struct purge {
	char **keys;
	size_t n, cap;
	int64_t now;
};

static int purge_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct purge *p = arg;
	char buf[24];
	(void)klen;
	if (vlen >= sizeof(buf))
		return 0;
	memcpy(buf, val, vlen);
	buf[vlen] = '\0';
	if ((int64_t)strtoll(buf, NULL, 10) > p->now)
		return 0;
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 64;
		char **nk = realloc(p->keys, ncap * sizeof(*nk));
		if (!nk)
			return 1;
		p->keys = nk;
		p->cap = ncap;
	}
	p->keys[p->n] = strdup(key);
	if (p->keys[p->n])
		p->n++;
	return 0;
}

void tokens_tick(struct daemon *d)
{
	struct purge p = { .now = svca_wall_ms() / 1000 };
	store_iterate(d->store, DB_STATE, "deny/", purge_cb, &p);
	if (p.n) {
		store_begin(d->store);
		for (size_t i = 0; i < p.n; i++)
			store_del(d->store, DB_STATE, p.keys[i]);
		if (store_commit(d->store) < 0)
			store_abort(d->store);
	}
	for (size_t i = 0; i < p.n; i++)
		free(p.keys[i]);
	free(p.keys);
}

/* An agent's: the applied snapshot's (the hubs' keys; it signs nothing). */
static char *agent_jwks_text(struct daemon *d)
{
	uint8_t *v = NULL;
	size_t n = 0;
	if (store_get(d->store, DB_STATE, "agent/jwks", &v, &n) != 1)
		return strdup("{\"keys\":[]}");
	char *s = malloc(n + 1);
	if (s) {
		memcpy(s, v, n);
		s[n] = '\0';
	}
	free(v);
	return s;
}

char *tokens_jwks(struct daemon *d)
{
	if (config_mode(&d->cfg) == MODE_AGENT)
		return agent_jwks_text(d);
	json_t *keys = json_array();
	int64_t now = svca_wall_ms();
	for (size_t i = 0; i < d->secrets->nkeys; i++) {
		const struct signing_key *k = &d->secrets->keys[i];
		if (k->retired_ms && now - k->retired_ms >= SIGNING_KEY_GRACE_MS)
			continue;
		json_array_append_new(keys, jwt_jwk(k->kid, k->pk));
	}
	json_t *doc = json_object();
	json_object_set_new(doc, "keys", keys);
	char *s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}
