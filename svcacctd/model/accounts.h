/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Service account records (DB_STATE keys "acct/<name>" and "uid/<uid>"). */
#ifndef SVCACCTD_ACCOUNTS_H
#define SVCACCTD_ACCOUNTS_H

#include <stdint.h>

#include "names.h"
#include "proto.h"
#include "store.h"

#define ACCOUNT_DESC_MAX 256
#define ACCOUNT_RECORD_VERSION 1

enum org_role { ORG_MEMBER = 0, ORG_ADMIN = 1, ORG_SUPER = 2 };

struct account {
	char name[SVCA_NAME_MAX + 1];
	uint32_t uid;
	char description[ACCOUNT_DESC_MAX + 1];
	enum org_role org_role;
	int disabled;
	uint64_t created_at;
	char created_by[80];
	uint64_t updated_at;
	char updated_by[80];
	uint64_t last_activity;
	/* Set from account_next_gen whenever outstanding tokens must stop
	 * working (created, renamed, re-roled, a grant removed or changed, all
	 * tokens revoked): unique across accounts, never reused. */
	uint64_t gen;
	/* The generation "token revoke --account" gave it last (0: never): a
	 * token of an older generation was revoked, not merely superseded
	 * (token verify names the reason).  Optional, like break_glass. */
	uint64_t tokens_revoked_gen;
	/* Break-glass (DESIGN.md section 9): on a stale agent this account
	 * still logs in, checked from the persisted state.  An optional field
	 * of record version 1: older records (and readers) have it off. */
	int break_glass;
};

const char *org_role_name(enum org_role r);
int org_role_parse(const char *s, enum org_role *out);

/* Record codec.  account_decode accepts every known version. */
int account_encode(const struct account *a, struct svca_buf *b);
int account_decode(const uint8_t *data, size_t len, struct account *a);

/* 1 found, 0 not found, -1 error. */
int account_get(struct store *s, const char *name, struct account *a);
int account_get_by_uid(struct store *s, uint32_t uid, struct account *a);
/* Writes the record and its uid index inside the open transaction. */
int account_put(struct store *s, const struct account *a);
int account_del(struct store *s, const struct account *a);

/* Who is told of changes made through the model, hung on the store
 * instance they concern (store_set_hooks; none by default).  account: every
 * account_put (deleted 0) and account_del (deleted 1); grant: every
 * grant_put and grant_del; scope: every team or workspace put or delete.
 * Each is called before the store is touched, whatever the outcome: the
 * transaction may still be undone, so a listener must re-read the store
 * before trusting it.  Set by the NSS snapshot (nss_snapshot.c), which
 * re-reads just these records instead of walking the store after every
 * change.  A NULL member: nobody listens to that. */
struct grant;
struct change_hooks {
	void (*account)(void *arg, struct store *s, const struct account *a, int deleted);
	void (*grant)(void *arg, struct store *s, const struct grant *g, int deleted);
	void (*scope)(void *arg, struct store *s);
	void *arg;
};

/* A fresh generation from the store-wide counter (DB_STATE "meta/gen"),
 * written in the open transaction: above every generation any account ever
 * had.  0 ok, -1 error. */
int account_next_gen(struct store *s, uint64_t *gen);

/* token revoke --account: a fresh generation for a, remembered as the
 * one that revoked the older tokens, and a written, in the open
 * transaction.  0 ok, -1 error. */
int account_revoke_tokens(struct store *s, struct account *a);

/* At start, once ("meta/gen_upgraded"): a store written before the counter
 * existed gets it, and every account a fresh generation from it (accounts
 * created in the same ms shared one).  Commits and flushes on its own, in
 * chunks.  Number of accounts changed, -1 error. */
int account_gen_upgrade(struct store *s);

/* Picks a free uid in [min, max] (skipping uids used by the host), moving
 * a cursor so that a deleted account's uid is not handed out again soon.
 * 0 ok, 1 range exhausted, -1 error. */
int account_alloc_uid(struct store *s, uint32_t min, uint32_t max, uint32_t *uid);

/* 1 when the host's /etc/passwd or /etc/group already has this name. */
int host_name_taken(const char *name);

/* The host's group file (/etc/group; tests: $SVCACCTD_GROUP_FILE), read
 * directly, never through NSS.  host_group_gid: 1 when name is a group
 * there (*gid set when gid is not NULL), 0 when not (or unreadable). */
const char *host_group_file(void);
int host_group_gid(const char *name, uint32_t *gid);

/* Appends an account's reply fields. */
void account_to_reply(const struct account *a, struct svca_buf *b);

typedef int (*account_fn)(void *arg, const struct account *a);
int account_foreach(struct store *s, account_fn fn, void *arg);
/* Every account, sorted by name, in a malloc'ed array (*v NULL when there
 * is none).  0, or -1 (storage error, ENOMEM; nothing to free). */
int account_all_by_name(struct store *s, struct account **v, size_t *n);

#endif
