/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A private daemon state for the decision-module tests (test_access.c,
 * test_credentials.c, test_tokens.c): a store in a fresh temp dir, the
 * default config and, on request, the daemon's secrets generated there.
 * No socket, no audit trail, no rate-limit tables (a test adds what it
 * needs).  Header-only: static inline, so a test that uses part of it
 * builds without warnings.
 */
#ifndef SVCACCT_TESTS_UNIT_UTIL_H
#define SVCACCT_TESTS_UNIT_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "daemon.h"
#include "secrets.h"

struct unit_env {
	char dir[64];
	struct daemon d;
	struct secrets sec;
};

/* Fails the test (cmocka) when anything cannot be set up. */
static inline void unit_env_open(struct unit_env *e, const char *tag, int with_secrets)
{
	char err[256], pep[128], sig[128];
	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/svcacct-%s-XXXXXX", tag);
	if (!mkdtemp(e->dir))
		fail_msg("mkdtemp %s failed", e->dir);
	e->d.store = store_open(e->dir, err, sizeof(err));
	if (!e->d.store)
		fail_msg("store_open: %s", err);
	config_defaults(&e->d.cfg);
	if (!with_secrets)
		return;
	snprintf(pep, sizeof(pep), "%s/pepper", e->dir);
	snprintf(sig, sizeof(sig), "%s/signing.keys", e->dir);
	if (secrets_load(&e->sec, pep, sig, err, sizeof(err)) < 0)
		fail_msg("secrets_load: %s", err);
	e->d.secrets = &e->sec;
}

/* 0 when the temp dir is gone. */
static inline int unit_env_close(struct unit_env *e)
{
	char cmd[128];
	if (e->d.secrets)
		secrets_free(&e->sec);
	config_free(&e->d.cfg);
	store_close(e->d.store);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	return system(cmd);
}

/* Creates or replaces an account in its own transaction; gen 0 takes a
 * fresh generation from the store's counter. */
static inline struct account unit_put_account(struct store *s, const char *name, uint32_t uid,
					      int disabled, uint64_t gen)
{
	struct account a;
	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "%s", name);
	a.uid = uid;
	a.disabled = disabled;
	store_begin(s);
	if (gen)
		a.gen = gen;
	else if (account_next_gen(s, &a.gen) < 0)
		fail_msg("account_next_gen failed");
	if (account_put(s, &a) < 0 || store_commit(s) < 0)
		fail_msg("cannot store account %s", name);
	return a;
}

#endif
