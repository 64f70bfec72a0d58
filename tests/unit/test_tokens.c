/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Session tokens (svcacctd/model/tokens.c) without the socket: token_issue
 * signs what DESIGN.md section 4 lists, under 512 bytes; token_verify
 * refuses a token at once when what it was issued for is gone
 * (SECURITY.md C5): expiry and nbf (30 s leeway), iss/aud, the jti
 * deny-list, the account (name, uid, status, generation) and the API key
 * it came from (disabled suspends, revoked or deleted ends).  tokens_tick
 * purges deny entries whose tokens expired.
 *
 * Expiry, nbf and forged claims are made by re-signing an issued token's
 * claims with the daemon's own signing key, so no case sleeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "jwt.h"
#include "keys.h"
#include "rbac.h"
#include "secrets.h"
#include "sockio.h"
#include "tokens.h"
#include "unit_util.h"

static struct unit_env E;
static struct daemon *const D = &E.d;

static int setup(void **state)
{
	(void)state;
	unit_env_open(&E, "tok", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return unit_env_close(&E);
}

/* Writes (creates or replaces) an account; gen 0 takes a fresh one. */
static struct account put_account(const char *name, uint32_t uid, int disabled, uint64_t gen)
{
	return unit_put_account(D->store, name, uid, disabled, gen);
}

static void del_account(const char *name)
{
	struct account a;
	assert_int_equal(account_get(D->store, name, &a), 1);
	store_begin(D->store);
	assert_int_equal(account_del(D->store, &a), 0);
	assert_int_equal(store_commit(D->store), 0);
}

static void put_key(const char *key_id, uint32_t uid, enum key_status st)
{
	struct apikey k;
	memset(&k, 0, sizeof(k));
	snprintf(k.key_id, sizeof(k.key_id), "%s", key_id);
	k.uid = uid;
	k.status = st;
	store_begin(D->store);
	assert_int_equal(key_put(D->store, &k), 0);
	assert_int_equal(store_commit(D->store), 0);
}

static void issue(const struct account *a, const char *key_id, struct issued *t)
{
	assert_int_equal(token_issue(D, a, key_id, t), 0);
	assert_true(strlen(t->token) <= TOKEN_MAX);
}

static enum tok_result verify(const char *tok)
{
	json_t *claims = NULL;
	struct account a;
	enum tok_result r = token_verify(D, tok, strlen(tok), &claims, &a);
	json_decref(claims);
	return r;
}

/* The claims of a good token (new reference). */
static json_t *claims_of(const char *tok)
{
	json_t *claims = NULL;
	struct account a;
	assert_int_equal(token_verify(D, tok, strlen(tok), &claims, &a), TOK_OK);
	assert_non_null(claims);
	return claims;
}

/* tok's claims with one claim set (value stolen) or removed (NULL),
 * signed with the daemon's current key into out. */
static void forge(const char *tok, const char *claim, json_t *value, char *out, size_t outlen)
{
	json_t *c = claims_of(tok);
	if (value)
		json_object_set_new(c, claim, value);
	else
		json_object_del(c, claim);
	const struct signing_key *sk = secrets_current(&E.sec);
	assert_non_null(sk);
	assert_true(jwt_sign(c, sk->kid, sk->sk, out, outlen) > 0);
	json_decref(c);
}

static int64_t now_s(void)
{
	return svca_wall_ms() / 1000;
}

static void issue_then_verify(void **state)
{
	(void)state;
	struct issued t, t2;
	struct workspace w;
	struct team tm;
	struct grant g;
	memset(&w, 0, sizeof(w));
	memset(&tm, 0, sizeof(tm));
	memset(&g, 0, sizeof(g));
	snprintf(tm.name, sizeof(tm.name), "infra");
	snprintf(w.name, sizeof(w.name), "build-farm");
	snprintf(w.team, sizeof(w.team), "infra");
	g.uid = 60001;
	g.kind = SCOPE_TEAM;
	snprintf(g.scope, sizeof(g.scope), "infra");
	g.role = ROLE_EDITOR;
	store_begin(D->store);
	assert_int_equal(team_put(D->store, &tm), 0);
	assert_int_equal(workspace_put(D->store, &w), 0);
	assert_int_equal(grant_put(D->store, &g), 0);
	assert_int_equal(store_commit(D->store), 0);
	D->cfg.host_workspaces.v = calloc(1, sizeof(char *));
	D->cfg.host_workspaces.v[0] = strdup("build-farm");
	D->cfg.host_workspaces.n = 1;
	D->cfg.token_ttl = 600;

	struct account a = put_account("ci-deploy", 60001, 0, 0);
	put_key("AAAAbbbbCCCC", 60001, KEY_ACTIVE);
	int64_t before = now_s();
	issue(&a, "AAAAbbbbCCCC", &t);
	assert_int_equal(t.ttl, 600);
	assert_int_equal(strlen(t.jti), JTI_LEN);

	json_t *claims = NULL;
	struct account got;
	memset(&got, 0, sizeof(got));
	assert_int_equal(token_verify(D, t.token, strlen(t.token), &claims, &got), TOK_OK);
	assert_string_equal(got.name, "ci-deploy");
	assert_int_equal(got.uid, 60001);
	assert_string_equal(json_string_value(json_object_get(claims, "iss")), TOKEN_ISSUER);
	assert_string_equal(json_string_value(json_object_get(claims, "aud")), TOKEN_AUDIENCE);
	assert_string_equal(json_string_value(json_object_get(claims, "sub")), "ci-deploy");
	assert_int_equal(json_integer_value(json_object_get(claims, "uid")), 60001);
	assert_string_equal(json_string_value(json_object_get(claims, "jti")), t.jti);
	assert_string_equal(json_string_value(json_object_get(claims, "key_id")), "AAAAbbbbCCCC");
	assert_string_equal(json_string_value(json_object_get(claims, "role")), "editor");
	assert_string_equal(json_string_value(json_object_get(claims, "org_role")), "member");
	assert_int_equal(json_integer_value(json_object_get(claims, "gen")), (json_int_t)a.gen);
	json_int_t iat = json_integer_value(json_object_get(claims, "iat"));
	assert_true(iat >= before && iat <= now_s());
	assert_int_equal(json_integer_value(json_object_get(claims, "nbf")), iat);
	assert_int_equal(json_integer_value(json_object_get(claims, "exp")), iat + 600);
	assert_int_equal(t.expires_at, (uint64_t)(iat + 600) * 1000);
	json_t *gr = json_object_get(claims, "grants");
	assert_int_equal(json_array_size(gr), 1);
	assert_string_equal(json_string_value(json_array_get(gr, 0)), "t:infra:editor");
	assert_null(json_object_get(claims, "grants_omitted"));
	json_decref(claims);

	issue(&a, "session", &t2);
	assert_string_not_equal(t.jti, t2.jti);
	assert_int_equal(verify(t2.token), TOK_OK);
}

/* exp is the first second it no longer works; nbf may be up to 30 s ahead
 * (clock skew between hosts), not more. */
static void expiry_and_not_before(void **state)
{
	(void)state;
	char f[JWT_MAX_LEN + 1];
	struct issued t;
	struct account a = put_account("ci-deploy", 60001, 0, 0);
	issue(&a, "session", &t);
	int64_t now = now_s();
	forge(t.token, "exp", json_integer(now + 5), f, sizeof(f));
	assert_int_equal(verify(f), TOK_OK);
	forge(t.token, "exp", json_integer(now), f, sizeof(f));
	assert_int_equal(verify(f), TOK_EXPIRED);
	forge(t.token, "exp", json_integer(now - 3600), f, sizeof(f));
	assert_int_equal(verify(f), TOK_EXPIRED);
	forge(t.token, "nbf", json_integer(now + 30), f, sizeof(f));
	assert_int_equal(verify(f), TOK_OK);
	forge(t.token, "nbf", json_integer(now + 40), f, sizeof(f));
	assert_int_equal(verify(f), TOK_NOT_YET_VALID);
	forge(t.token, "nbf", json_integer(now + 86400), f, sizeof(f));
	assert_int_equal(verify(f), TOK_NOT_YET_VALID);
	assert_string_equal(tok_reason(TOK_NOT_YET_VALID), "not_yet_valid");
}

/* iss and aud must be ours exactly. */
static void issuer_and_audience(void **state)
{
	(void)state;
	char f[JWT_MAX_LEN + 1];
	struct issued t;
	struct account a = put_account("ci-deploy", 60001, 0, 0);
	issue(&a, "session", &t);
	forge(t.token, "aud", json_string("other-service"), f, sizeof(f));
	assert_int_equal(verify(f), TOK_BAD_AUDIENCE);
	forge(t.token, "aud", NULL, f, sizeof(f));
	assert_int_equal(verify(f), TOK_BAD_AUDIENCE);
	forge(t.token, "aud", json_string("svcacct "), f, sizeof(f));
	assert_int_equal(verify(f), TOK_BAD_AUDIENCE);
	forge(t.token, "iss", json_string("svcacctd-evil"), f, sizeof(f));
	assert_int_equal(verify(f), TOK_BAD_AUDIENCE);
	forge(t.token, "iss", NULL, f, sizeof(f));
	assert_int_equal(verify(f), TOK_MALFORMED);
}

/* Claims the check needs, of the wrong type or missing: malformed. */
static void missing_or_mistyped_claims(void **state)
{
	(void)state;
	char f[JWT_MAX_LEN + 1], jti[80];
	struct issued t;
	struct account a = put_account("ci-deploy", 60001, 0, 0);
	issue(&a, "session", &t);
	static const char *need[] = { "uid", "exp", "nbf", "gen", "jti", "sub" };
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		forge(t.token, need[i], NULL, f, sizeof(f));
		if (verify(f) != TOK_MALFORMED)
			fail_msg("without %s: %s", need[i], tok_reason(verify(f)));
	}
	forge(t.token, "uid", json_string("60001"), f, sizeof(f));
	assert_int_equal(verify(f), TOK_MALFORMED);
	forge(t.token, "uid", json_integer(0), f, sizeof(f));
	assert_int_equal(verify(f), TOK_MALFORMED);
	forge(t.token, "uid", json_integer(-60001), f, sizeof(f));
	assert_int_equal(verify(f), TOK_MALFORMED);
	forge(t.token, "uid", json_integer((json_int_t)UINT32_MAX + 1), f, sizeof(f));
	assert_int_equal(verify(f), TOK_MALFORMED);
	forge(t.token, "exp", json_real(1e12), f, sizeof(f));
	assert_int_equal(verify(f), TOK_MALFORMED);
	memset(jti, 'j', 65);
	jti[65] = '\0';
	forge(t.token, "jti", json_string(jti), f, sizeof(f));
	assert_int_equal(verify(f), TOK_MALFORMED);
}

/* A changed payload, a changed signature, a key the daemon does not know
 * and text that is no JWT are all refused. */
static void signature_and_shape(void **state)
{
	(void)state;
	char f[JWT_MAX_LEN + 1];
	struct issued t;
	struct account a = put_account("ci-deploy", 60001, 0, 0);
	issue(&a, "session", &t);
	size_t len = strlen(t.token);
	const char *dot2 = strrchr(t.token, '.');
	assert_non_null(dot2);
	size_t sig = (size_t)(dot2 - t.token) + 1;
	memcpy(f, t.token, len + 1);
	f[sig + 10] = f[sig + 10] == 'A' ? 'B' : 'A';
	assert_int_equal(verify(f), TOK_BAD_SIGNATURE);
	memcpy(f, t.token, len + 1);
	size_t mid = (size_t)(strchr(t.token, '.') - t.token) + 10;
	f[mid] = f[mid] == 'A' ? 'B' : 'A';
	assert_int_equal(verify(f), TOK_BAD_SIGNATURE);
	/* the same claims signed with a key of our own making */
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	char kid[16];
	crypto_sign_keypair(pk, sk);
	assert_int_equal(jwt_kid_of(pk, kid), 0);
	json_t *c = claims_of(t.token);
	assert_true(jwt_sign(c, kid, sk, f, sizeof(f)) > 0);
	assert_int_equal(verify(f), TOK_BAD_SIGNATURE);
	/* ... and under the daemon's kid */
	assert_true(jwt_sign(c, secrets_current(&E.sec)->kid, sk, f, sizeof(f)) > 0);
	assert_int_equal(verify(f), TOK_BAD_SIGNATURE);
	json_decref(c);
	sodium_memzero(sk, sizeof(sk));
	assert_int_equal(verify("not-a-token"), TOK_MALFORMED);
	assert_int_equal(verify("a.b.c"), TOK_MALFORMED);
	json_t *claims = NULL;
	struct account got;
	assert_int_equal(token_verify(D, t.token, len - 1, &claims, &got), TOK_MALFORMED);
	json_decref(claims);
}

/* A jti on the deny-list is refused at once; the account's other tokens
 * still work. */
static void denied_jti_is_revoked(void **state)
{
	(void)state;
	struct issued t1, t2;
	struct account a = put_account("ci-deploy", 60001, 0, 0);
	issue(&a, "session", &t1);
	issue(&a, "session", &t2);
	store_begin(D->store);
	assert_int_equal(token_deny(D, t1.jti, t1.expires_at / 1000), 0);
	assert_int_equal(store_commit(D->store), 0);
	assert_int_equal(verify(t1.token), TOK_REVOKED);
	assert_int_equal(verify(t2.token), TOK_OK);
	/* an aborted deny changes nothing */
	store_begin(D->store);
	assert_int_equal(token_deny(D, t2.jti, t2.expires_at / 1000), 0);
	store_abort(D->store);
	assert_int_equal(verify(t2.token), TOK_OK);
}

/* Disabling the account suspends its tokens; enabling (same generation)
 * restores them. */
static void account_disabled_then_enabled(void **state)
{
	(void)state;
	struct issued t;
	struct account a = put_account("ci-deploy", 60001, 0, 0);
	issue(&a, "session", &t);
	put_account("ci-deploy", 60001, 1, a.gen);
	assert_int_equal(verify(t.token), TOK_ACCOUNT_DISABLED);
	put_account("ci-deploy", 60001, 0, a.gen);
	assert_int_equal(verify(t.token), TOK_OK);
}

/* Deleted: unknown.  The name re-created for another uid: unknown.  The
 * same name and uid again, with a new generation: superseded. */
static void account_deleted_or_recreated(void **state)
{
	(void)state;
	struct issued t;
	struct account a = put_account("ci-deploy", 60001, 0, 0);
	issue(&a, "session", &t);
	del_account("ci-deploy");
	assert_int_equal(verify(t.token), TOK_ACCOUNT_UNKNOWN);
	put_account("ci-deploy", 60002, 0, a.gen); /* even with the old gen */
	assert_int_equal(verify(t.token), TOK_ACCOUNT_UNKNOWN);
	del_account("ci-deploy");
	put_account("ci-deploy", 60001, 0, 0);
	assert_int_equal(verify(t.token), TOK_STALE);
}

/* A new generation (role or grant change, token revoke --account) ends
 * every token issued before it; tokens issued after work. */
static void generation_bump_ends_older_tokens(void **state)
{
	(void)state;
	struct issued t1, t2, t3;
	struct account a = put_account("ci-deploy", 60001, 0, 0);
	struct account b = put_account("ci-other", 60002, 0, 0);
	issue(&a, "session", &t1);
	issue(&a, "session", &t2);
	issue(&b, "session", &t3);
	a = put_account("ci-deploy", 60001, 0, 0);
	assert_int_equal(verify(t1.token), TOK_STALE);
	assert_int_equal(verify(t2.token), TOK_STALE);
	assert_int_equal(verify(t3.token), TOK_OK);
	issue(&a, "session", &t1);
	assert_int_equal(verify(t1.token), TOK_OK);
	assert_string_equal(tok_reason(TOK_STALE), "superseded");
}

/* token revoke --account: the older tokens are "revoked", not
 * "superseded"; a later role or grant change supersedes the tokens issued
 * after the revoke, and the ones before it stay revoked.  The mark
 * survives the record codec. */
static void revoke_all_says_revoked(void **state)
{
	(void)state;
	struct issued before, between, after;
	struct account a = put_account("ci-deploy", 60001, 0, 0);
	issue(&a, "session", &before);
	store_begin(D->store);
	assert_int_equal(account_revoke_tokens(D->store, &a), 0);
	assert_int_equal(store_commit(D->store), 0);
	assert_int_equal(a.tokens_revoked_gen, a.gen);
	assert_int_equal(verify(before.token), TOK_REVOKED);
	assert_string_equal(tok_reason(TOK_REVOKED), "revoked");
	issue(&a, "session", &between);
	assert_int_equal(verify(between.token), TOK_OK);
	store_begin(D->store);
	assert_int_equal(account_next_gen(D->store, &a.gen), 0); /* a role change */
	assert_int_equal(account_put(D->store, &a), 0);
	assert_int_equal(store_commit(D->store), 0);
	assert_int_equal(verify(before.token), TOK_REVOKED);
	assert_int_equal(verify(between.token), TOK_STALE);
	issue(&a, "session", &after);
	assert_int_equal(verify(after.token), TOK_OK);
	struct account back;
	assert_int_equal(account_get(D->store, "ci-deploy", &back), 1);
	assert_int_equal(back.tokens_revoked_gen, a.tokens_revoked_gen);
}

/* The uid claim must be the account's: a token for another uid under the
 * same name (signed by us, say an older account) is not this account's. */
static void uid_claim_must_match(void **state)
{
	(void)state;
	char f[JWT_MAX_LEN + 1];
	struct issued t;
	struct account a = put_account("ci-deploy", 60001, 0, 0);
	issue(&a, "session", &t);
	forge(t.token, "uid", json_integer(60002), f, sizeof(f));
	assert_int_equal(verify(f), TOK_ACCOUNT_UNKNOWN);
	forge(t.token, "sub", json_string("ci-other"), f, sizeof(f));
	assert_int_equal(verify(f), TOK_ACCOUNT_UNKNOWN);
	put_account("ci-other", 60002, 0, a.gen); /* that name is another uid */
	assert_int_equal(verify(f), TOK_ACCOUNT_UNKNOWN);
}

/* A token is no better than its key: disabled suspends, enabled restores,
 * revoked or deleted ends; a key now of another account ends too.
 * Session tokens (key_id "session") have no key to check. */
static void key_status_governs_its_tokens(void **state)
{
	(void)state;
	struct issued t, s;
	struct account a = put_account("ci-deploy", 60001, 0, 0);
	put_key("KeyOne000001", 60001, KEY_ACTIVE);
	issue(&a, "KeyOne000001", &t);
	issue(&a, "session", &s);
	assert_int_equal(verify(t.token), TOK_OK);
	put_key("KeyOne000001", 60001, KEY_DISABLED);
	assert_int_equal(verify(t.token), TOK_KEY_DISABLED);
	assert_int_equal(verify(s.token), TOK_OK);
	put_key("KeyOne000001", 60001, KEY_ACTIVE);
	assert_int_equal(verify(t.token), TOK_OK);
	put_key("KeyOne000001", 60002, KEY_ACTIVE);
	assert_int_equal(verify(t.token), TOK_KEY_REVOKED);
	put_key("KeyOne000001", 60001, KEY_REVOKED);
	assert_int_equal(verify(t.token), TOK_KEY_REVOKED);
	store_begin(D->store);
	assert_int_equal(key_del(D->store, "KeyOne000001"), 0);
	assert_int_equal(store_commit(D->store), 0);
	assert_int_equal(verify(t.token), TOK_KEY_REVOKED);
	assert_int_equal(verify(s.token), TOK_OK);
}

static void add_grants(uint32_t uid, int n, int long_names)
{
	store_begin(D->store);
	for (int i = 0; i < n; i++) {
		struct grant g;
		memset(&g, 0, sizeof(g));
		g.uid = uid;
		g.kind = i % 2 ? SCOPE_TEAM : SCOPE_WORKSPACE;
		g.role = ROLE_ADMIN;
		if (long_names)
			snprintf(g.scope, sizeof(g.scope),
				 "workspace-with-a-very-long-name-for-the-size-test-%02d", i);
		else
			snprintf(g.scope, sizeof(g.scope), "w%d", i);
		assert_int_equal(grant_put(D->store, &g), 0);
	}
	assert_int_equal(store_commit(D->store), 0);
}

/* Many grants: the token stays under 512 bytes, grants are left out
 * (grants_omitted says so), and the other claims all stay.  (The exact
 * count in grants_omitted, and long account names: t2_... and t1_...
 * below.) */
static void size_stays_under_512_bytes(void **state)
{
	(void)state;
	struct issued t;
	struct account a = put_account("ci-deploy", 60001, 0, 0);
	put_key("Key000000001", 60001, KEY_ACTIVE);
	add_grants(60001, 40, 1);
	issue(&a, "Key000000001", &t);
	assert_true(strlen(t.token) <= 512);
	json_t *c = claims_of(t.token);
	size_t kept = json_array_size(json_object_get(c, "grants"));
	json_int_t omitted = json_integer_value(json_object_get(c, "grants_omitted"));
	assert_true(omitted >= 1);
	assert_true(kept < 40);
	static const char *all[] = { "iss", "sub", "uid",    "aud",      "iat",  "nbf",
				     "exp", "jti", "key_id", "org_role", "role", "gen" };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!json_object_get(c, all[i]))
			fail_msg("claim %s missing", all[i]);
	json_decref(c);

	/* few short grants fit whole: no grants_omitted */
	struct account b = put_account("b", 60002, 0, 0);
	add_grants(60002, 2, 0);
	issue(&b, "session", &t);
	c = claims_of(t.token);
	assert_int_equal(json_array_size(json_object_get(c, "grants")), 2);
	assert_null(json_object_get(c, "grants_omitted"));
	json_decref(c);
}

/* How many grants a token accounts for: the ones it lists plus
 * grants_omitted. */
static json_int_t grants_counted(const char *tok)
{
	json_t *c = claims_of(tok);
	json_int_t n = (json_int_t)json_array_size(json_object_get(c, "grants")) +
		       json_integer_value(json_object_get(c, "grants_omitted"));
	json_decref(c);
	return n;
}

/* Finding T1: an account with a name of 32 characters (the maximum) and
 * a grant gets a token.  Not even an empty grants list fits next to
 * grants_omitted there, so the list is left out and grants_omitted counts
 * every grant.  Then the largest values of the other claims: a uid near
 * UINT32_MAX, org_role super-admin, many long grants. */
static void t1_long_name_with_a_grant_gets_a_token(void **state)
{
	(void)state;
	struct issued t;
	struct account a = put_account("ci-deploy-bot-with-a-long-name01", 60001, 0, 0);
	put_key("Key000000001", 60001, KEY_ACTIVE);
	store_begin(D->store);
	struct grant g;
	memset(&g, 0, sizeof(g));
	g.uid = 60001;
	g.kind = SCOPE_WORKSPACE;
	g.role = ROLE_ADMIN;
	snprintf(g.scope, sizeof(g.scope), "w0");
	assert_int_equal(grant_put(D->store, &g), 0);
	assert_int_equal(store_commit(D->store), 0);
	issue(&a, "Key000000001", &t); /* was -1 */
	assert_int_equal(grants_counted(t.token), 1);
	issue(&a, "session", &t);
	assert_int_equal(grants_counted(t.token), 1);

	struct account b = put_account("ci-deploy-bot-with-a-long-name02", 4294967294u, 0, 0);
	b.org_role = ORG_SUPER;
	store_begin(D->store);
	assert_int_equal(account_put(D->store, &b), 0);
	assert_int_equal(store_commit(D->store), 0);
	put_key("Key000000002", 4294967294u, KEY_ACTIVE);
	add_grants(4294967294u, 40, 1);
	issue(&b, "Key000000002", &t);
	json_t *c = claims_of(t.token);
	assert_string_equal(json_string_value(json_object_get(c, "org_role")), "super-admin");
	assert_string_equal(json_string_value(json_object_get(c, "role")), "none");
	json_decref(c);
}

/* Finding T2: grants_omitted counts every grant left out, both the ones
 * past the first 16 and the ones dropped for size. */
static void t2_grants_omitted_counts_all_left_out(void **state)
{
	(void)state;
	struct issued t;
	struct account a = put_account("ci-deploy", 60001, 0, 0);
	add_grants(60001, 23, 0);
	issue(&a, "session", &t);
	json_t *c = claims_of(t.token);
	size_t kept = json_array_size(json_object_get(c, "grants"));
	json_int_t omitted = json_integer_value(json_object_get(c, "grants_omitted"));
	json_decref(c);
	assert_true(kept < 16);
	assert_int_equal((json_int_t)kept + omitted, 23); /* was 1 + 15 */

	struct account b = put_account("b", 60002, 0, 0);
	add_grants(60002, 40, 1);
	issue(&b, "session", &t);
	assert_int_equal(grants_counted(t.token), 40);
}

static int deny_exists(const char *jti)
{
	char k[96];
	uint8_t *v;
	size_t n;
	snprintf(k, sizeof(k), "deny/%s", jti);
	int g = store_get(D->store, DB_STATE, k, &v, &n);
	assert_true(g >= 0);
	if (g == 1)
		free(v);
	return g;
}

/* tokens_tick drops deny entries whose exp has passed and keeps the rest. */
static void tick_purges_expired_deny_entries(void **state)
{
	(void)state;
	uint64_t now = (uint64_t)now_s();
	store_begin(D->store);
	assert_int_equal(token_deny(D, "old-jti-1", now - 3600), 0);
	assert_int_equal(token_deny(D, "old-jti-2", now - 1), 0);
	assert_int_equal(token_deny(D, "live-jti", now + 600), 0);
	assert_int_equal(store_commit(D->store), 0);
	tokens_tick(D);
	assert_int_equal(deny_exists("old-jti-1"), 0);
	assert_int_equal(deny_exists("old-jti-2"), 0);
	assert_int_equal(deny_exists("live-jti"), 1);
	tokens_tick(D); /* nothing to do */
	assert_int_equal(deny_exists("live-jti"), 1);
}

/* After a signing key rotation the old key's tokens still verify (grace)
 * and new tokens are signed with the new key. */
static void rotation_keeps_older_tokens(void **state)
{
	(void)state;
	char err[256], kid[16];
	struct issued t1, t2;
	struct account a = put_account("ci-deploy", 60001, 0, 0);
	issue(&a, "session", &t1);
	snprintf(kid, sizeof(kid), "%s", secrets_current(&E.sec)->kid);
	if (secrets_rotate(&E.sec, err, sizeof(err)) < 0)
		fail_msg("rotate: %s", err);
	assert_string_not_equal(secrets_current(&E.sec)->kid, kid);
	issue(&a, "session", &t2);
	assert_int_equal(verify(t1.token), TOK_OK);
	assert_int_equal(verify(t2.token), TOK_OK);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(issue_then_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(expiry_and_not_before, setup, teardown),
		cmocka_unit_test_setup_teardown(issuer_and_audience, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_or_mistyped_claims, setup, teardown),
		cmocka_unit_test_setup_teardown(signature_and_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(denied_jti_is_revoked, setup, teardown),
		cmocka_unit_test_setup_teardown(account_disabled_then_enabled, setup, teardown),
		cmocka_unit_test_setup_teardown(account_deleted_or_recreated, setup, teardown),
		cmocka_unit_test_setup_teardown(generation_bump_ends_older_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(revoke_all_says_revoked, setup, teardown),
		cmocka_unit_test_setup_teardown(uid_claim_must_match, setup, teardown),
		cmocka_unit_test_setup_teardown(key_status_governs_its_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(size_stays_under_512_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(t1_long_name_with_a_grant_gets_a_token, setup,
						teardown),
		cmocka_unit_test_setup_teardown(t2_grants_omitted_counts_all_left_out, setup,
						teardown),
		cmocka_unit_test_setup_teardown(tick_purges_expired_deny_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(rotation_keeps_older_tokens, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
