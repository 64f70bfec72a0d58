/* SPDX-License-Identifier: GPL-3.0-or-later */
/* API key records, the key check shared by every front end, and the
 * batched last-used bookkeeping. */
#include "keys.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentkeys.h"
#include "audit.h"
#include "idlist.h"
#include "log.h"
#include "ratelimit.h"
#include "record.h"
#include "secrets.h"
#include "sockio.h"

enum { REC_KEY = 'K' };

/* Last use is kept in memory and written at most once a minute. */
#define LASTUSE_FLUSH_MS 60000

const char *key_status_name(enum key_status s)
{
	switch (s) {
	case KEY_ACTIVE: return "active";
	case KEY_DISABLED: return "disabled";
	case KEY_REVOKED: return "revoked";
	case KEY_EXPIRED: return "expired";
	}
	return "unknown";
}

static int status_parse(const char *s, enum key_status *out)
{
	for (int i = KEY_ACTIVE; i <= KEY_EXPIRED; i++)
		if (strcmp(s, key_status_name((enum key_status)i)) == 0) {
			*out = (enum key_status)i;
			return 0;
		}
	return -1;
}

static void rec_key(const char *key_id, char *k, size_t l)
{
	snprintf(k, l, "key/%s", key_id);
}

static int key_decode(const uint8_t *data, size_t len, struct apikey *k)
{
	struct rec r;
	char st[16];
	memset(k, 0, sizeof(*k));
	if (rec_parse(data, len, REC_KEY, &r) < 0 || r.version > KEY_RECORD_VERSION)
		return -1;
	rec_str(&r, F_KEY_ID, k->key_id, sizeof(k->key_id));
	uint64_t uid = rec_u64(&r, F_UID);
	rec_str(&r, F_LABEL, k->label, sizeof(k->label));
	rec_str(&r, F_STATUS, st, sizeof(st));
	const struct svca_field *h = svca_fields_find(r.f, r.n, F_KEY);
	if (strlen(k->key_id) != SVCA_KEYID_LEN || uid == 0 || uid > UINT32_MAX ||
	    status_parse(st, &k->status) < 0 || !h || h->kind != SVCA_K_BYTES ||
	    h->len != KEY_HASH_LEN)
		return -1;
	k->uid = (uint32_t)uid;
	memcpy(k->hash, h->val, KEY_HASH_LEN);
	k->created_at = rec_u64(&r, F_CREATED_AT);
	rec_str(&r, F_CREATED_BY, k->created_by, sizeof(k->created_by));
	k->expires_at = rec_u64(&r, F_EXPIRES_AT);
	k->last_used_at = rec_u64(&r, F_LAST_USED_AT);
	k->last_used_uid = (uint32_t)rec_u64(&r, F_TOTAL);
	k->last_used_pid = (uint32_t)rec_u64(&r, F_PID);
	rec_str(&r, F_SERVICE, k->last_used_service, sizeof(k->last_used_service));
	k->changed_at = rec_u64(&r, F_UPDATED_AT);
	return 0;
}

int key_get(struct store *s, const char *key_id, struct apikey *k)
{
	char key[40];
	uint8_t *v;
	size_t n;
	rec_key(key_id, key, sizeof(key));
	int g = store_get(s, DB_STATE, key, &v, &n);
	if (g <= 0)
		return g;
	g = key_decode(v, n, k) == 0 ? 1 : -1;
	free(v);
	return g;
}

int key_put(struct store *s, const struct apikey *k)
{
	char key[40];
	struct svca_buf b;
	svca_buf_init(&b, 4096);
	rec_begin(&b, REC_KEY, KEY_RECORD_VERSION);
	svca_put_str(&b, F_KEY_ID, k->key_id);
	svca_put_u64(&b, F_UID, k->uid);
	svca_put_str(&b, F_LABEL, k->label);
	svca_put_str(&b, F_STATUS, key_status_name(k->status));
	svca_put_bytes(&b, F_KEY, k->hash, KEY_HASH_LEN);
	svca_put_u64(&b, F_CREATED_AT, k->created_at);
	svca_put_str(&b, F_CREATED_BY, k->created_by);
	svca_put_u64(&b, F_EXPIRES_AT, k->expires_at);
	svca_put_u64(&b, F_LAST_USED_AT, k->last_used_at);
	svca_put_u64(&b, F_TOTAL, k->last_used_uid);
	svca_put_u64(&b, F_PID, k->last_used_pid);
	svca_put_str(&b, F_SERVICE, k->last_used_service);
	svca_put_u64(&b, F_UPDATED_AT, k->changed_at);
	rec_key(k->key_id, key, sizeof(key));
	int r = b.failed ? -1 : store_put(s, DB_STATE, key, b.data, b.len);
	svca_buf_free(&b);
	return r;
}

int key_del(struct store *s, const char *key_id)
{
	char key[40];
	rec_key(key_id, key, sizeof(key));
	return store_del(s, DB_STATE, key);
}

struct kvec {
	struct apikey *v;
	size_t n, cap;
	uint32_t uid; /* 0 = all */
	int err;
};

static int kvec_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct kvec *x = arg;
	struct apikey k;
	(void)key;
	(void)klen;
	if (key_decode(val, vlen, &k) < 0 || (x->uid && k.uid != x->uid))
		return 0;
	if (x->n == x->cap) {
		size_t ncap = x->cap ? x->cap * 2 : 8;
		struct apikey *nv = realloc(x->v, ncap * sizeof(*nv));
		if (!nv) {
			x->err = 1;
			return 1;
		}
		x->v = nv;
		x->cap = ncap;
	}
	x->v[x->n++] = k;
	return 0;
}

static int by_created(const void *a, const void *b)
{
	const struct apikey *x = a, *y = b;
	if (x->created_at != y->created_at)
		return x->created_at < y->created_at ? -1 : 1;
	return strcmp(x->key_id, y->key_id);
}

static int collect_keys(struct store *s, uint32_t uid, struct apikey **out, size_t *n)
{
	struct kvec x = { .uid = uid };
	if (store_iterate(s, DB_STATE, "key/", kvec_cb, &x) != 0 || x.err) {
		free(x.v);
		return -1;
	}
	if (x.n)
		qsort(x.v, x.n, sizeof(*x.v), by_created);
	*out = x.v;
	*n = x.n;
	return 0;
}

int key_index_add(struct store *s, uint32_t uid, const char *key_id)
{
	char idx[32];
	snprintf(idx, sizeof(idx), "kidx/%" PRIu32, uid);
	return idlist_add(s, idx, key_id);
}

int key_index_drop(struct store *s, uint32_t uid)
{
	char idx[32];
	snprintf(idx, sizeof(idx), "kidx/%" PRIu32, uid);
	return store_del(s, DB_STATE, idx);
}

static int load_key(struct store *s, const char *item, void *slot, void *ctx)
{
	struct apikey *k = slot;
	int g = key_get(s, item, k);
	return g < 0 ? -1 : g == 1 && k->uid == *(const uint32_t *)ctx;
}

/* Through the account's index (kidx/<uid>): a few fetches, no scan. */
int key_of_account(struct store *s, uint32_t uid, struct apikey **out, size_t *n)
{
	char idx[32];
	snprintf(idx, sizeof(idx), "kidx/%" PRIu32, uid);
	if (idlist_load(s, idx, sizeof(**out), load_key, &uid, (void **)out, n) < 0)
		return -1;
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), by_created);
	return 0;
}

int key_all(struct store *s, struct apikey **out, size_t *n)
{
	return collect_keys(s, 0, out, n);
}

void key_hash(const uint8_t *pepper, const char *secret, uint8_t out[KEY_HASH_LEN])
{
	crypto_generichash(out, KEY_HASH_LEN, (const uint8_t *)secret, strlen(secret), pepper,
			   PEPPER_LEN);
}

const char *cred_reason(enum cred_result r)
{
	switch (r) {
	case CRED_OK: return "ok";
	case CRED_MALFORMED: return "malformed";
	case CRED_BAD_CHECKSUM: return "bad_checksum";
	case CRED_UNKNOWN_KEY: return "unknown_key";
	case CRED_BAD_SECRET: return "bad_secret";
	case CRED_KEY_DISABLED: return "key_disabled";
	case CRED_KEY_REVOKED: return "key_revoked";
	case CRED_KEY_EXPIRED: return "key_expired";
	case CRED_ACCOUNT_DISABLED: return "account_disabled";
	case CRED_RATE_LIMITED: return "rate_limited";
	case CRED_LOCKED_OUT: return "locked_out";
	case CRED_ERROR: return "internal_error";
	case CRED_HUB_ONLY: return "hub_only";
	}
	return "unknown";
}

static void note_use(struct lastuse_queue *q, const struct apikey *k, const struct peer *peer,
		     const char *service, uint64_t now)
{
	struct lastuse *pending = q->pending;
	size_t i;
	for (i = 0; i < q->n; i++)
		if (strcmp(pending[i].key_id, k->key_id) == 0)
			break;
	if (i == q->n) {
		if (q->n == LASTUSE_MAX)
			return; /* full until the next flush; it comes soon */
		q->n++;
		memcpy(pending[i].key_id, k->key_id, sizeof(pending[i].key_id));
	}
	pending[i].at = now;
	pending[i].uid = (uint32_t)peer->uid;
	pending[i].pid = (uint32_t)peer->pid;
	snprintf(pending[i].service, sizeof(pending[i].service), "%s", service ? service : "");
}

/* A short, fixed-size name for "who is asking": the uid on the Unix
 * socket, the caller on TCP (all loopback addresses are one caller),
 * plus the remote host a PAM stack reports. */
static void caller_id(const struct peer *peer, const char *rhost, char out[17])
{
	char who[400];
	uint8_t h[8];
	snprintf(who, sizeof(who), "%s|%u|%s", peer->caller[0] ? peer->caller : peer->addr,
		 (unsigned)peer->uid, rhost ? rhost : "");
	crypto_generichash(h, sizeof(h), (const uint8_t *)who, strlen(who), NULL, 0);
	sodium_bin2hex(out, 17, h, sizeof(h));
}

/* The status refusal of a key whose secret is right (or cannot be
 * checked), CRED_OK when it is usable. */
static enum cred_result key_state(const struct apikey *k, uint64_t now)
{
	if (k->status == KEY_REVOKED)
		return CRED_KEY_REVOKED;
	if (k->status == KEY_DISABLED)
		return CRED_KEY_DISABLED;
	if (k->status == KEY_EXPIRED || (k->expires_at && k->expires_at <= now))
		return CRED_KEY_EXPIRED;
	return CRED_OK;
}

int key_is_current(struct store *s, const char *key_id, uint32_t uid, uint64_t created_at)
{
	struct apikey k;
	int g = key_get(s, key_id, &k);
	if (g < 0)
		return -1;
	return g == 1 && k.status == KEY_ACTIVE && k.uid == uid && k.created_at == created_at;
}

/* An agent's secret check: the verifier of a key the snapshot lists
 * active (agentkeys.h).  1 right, 0 wrong (counts toward the lockout), -1
 * decided here (c->result: the hubs must check it, or the snapshot says
 * the key cannot be used, or an error). */
static int agent_secret_ok(struct daemon *d, int g, struct cred *c, const char *secret,
			   uint64_t now)
{
	enum akv_result v = AKV_NONE;
	if (g == 1 && (c->result = key_state(&c->key, now)) != CRED_OK) {
		/* revoked, disabled, expired: no use asking; a verifier of
		 * this host says whether the user may be told so */
		c->secret_right = akv_check(d->store, d->cfg.state_dir, c->key.key_id, c->key.uid,
					    c->key.created_at, secret) == AKV_MATCH;
		return -1;
	}
	if (g == 1)
		v = akv_check(d->store, d->cfg.state_dir, c->key.key_id, c->key.uid,
			      c->key.created_at, secret);
	if (v == AKV_ERROR)
		c->result = CRED_ERROR;
	else if (v == AKV_NONE)
		c->result = CRED_HUB_ONLY;
	return v == AKV_MATCH ? 1 : v == AKV_MISMATCH ? 0 : -1;
}

void cred_check_key(struct daemon *d, const char *key, size_t len, const struct peer *peer,
		    const char *service, const char *rhost, struct cred *c, int *just_locked)
{
	char secret[SVCA_SECRET_LEN + 1], rlkey[RL_KEY_MAX], lockkey[RL_KEY_MAX];
	char caller[17];
	/* Key expiry and last use are wall-clock times; the rate-limit and
	 * lockout tables run on the monotonic clock, so a step of the wall
	 * clock neither lengthens nor ends a window or a lockout. */
	int64_t now = svca_wall_ms();
	int64_t mono = svca_now_ms();
	const struct svca_config *cfg = &d->cfg;
	int64_t window = (int64_t)cfg->rate_limit_window * 1000;
	int wait;

	memset(c, 0, sizeof(*c));
	*just_locked = 0;
	switch (svca_key_parse(key, len, c->key_id, secret)) {
	case SVCA_KEY_OK: break;
	case SVCA_KEY_BAD_CHECKSUM: c->result = CRED_BAD_CHECKSUM; goto out;
	default:
		c->key_id[0] = '\0';
		c->result = CRED_MALFORMED;
		goto out;
	}

	/* Every attempt counts against the caller's own budget.  Not for PAM
	 * (service set): every login on the host comes through root, and a
	 * burst of CI jobs must not lock each other out; the per-key budget
	 * and the lockout still apply. */
	caller_id(peer, rhost, caller);
	snprintf(rlkey, sizeof(rlkey), "c:%s", caller);
	if (!service &&
	    (wait = rl_hit(d->rl_uid, rlkey, mono, cfg->rate_limit_count, window)) > 0) {
		c->result = CRED_RATE_LIMITED;
		c->retry_after = wait;
		metrics_rate_limited(&d->metrics, 0);
		goto out;
	}
	/* Lockout is per caller and key id, and unknown key ids count the
	 * same as known ones: nobody can lock out another caller's key, and
	 * a lockout says nothing about whether a key id exists. */
	snprintf(lockkey, sizeof(lockkey), "l:%s:%s", caller, c->key_id);
	if ((wait = rl_locked(d->rl_lock, lockkey, mono)) > 0) {
		c->result = CRED_LOCKED_OUT;
		c->retry_after = wait;
		goto out;
	}

	int g = key_get(d->store, c->key_id, &c->key);
	if (g < 0) {
		c->result = CRED_ERROR;
		goto out;
	}
	int secret_ok;
	if (config_mode(cfg) == MODE_AGENT) {
		/* No key hash here (the snapshot's are zeros): a verifier, or
		 * the hubs (CRED_HUB_ONLY: the caller forwards). */
		if ((secret_ok = agent_secret_ok(d, g, c, secret, (uint64_t)now)) < 0)
			goto out;
	} else {
		uint8_t h[KEY_HASH_LEN];
		key_hash(d->secrets->pepper, secret, h);
		secret_ok = g == 1 && sodium_memcmp(h, c->key.hash, KEY_HASH_LEN) == 0;
		sodium_memzero(h, sizeof(h));
	}
	if (!secret_ok) {
		c->result = g == 0 ? CRED_UNKNOWN_KEY : CRED_BAD_SECRET;
		int64_t lock_ms = (int64_t)cfg->lockout_seconds * 1000;
		if (rl_fail(d->rl_lock, lockkey, mono, cfg->lockout_threshold, lock_ms, lock_ms)) {
			*just_locked = 1;
			metrics_lockout(&d->metrics);
			c->result = CRED_LOCKED_OUT;
			c->retry_after = cfg->lockout_seconds;
		}
		goto out;
	}
	c->secret_right = 1;
	/* The key's own budget: only its holder (right secret) spends it,
	 * so a leaked key cannot be used faster than this either.  Logins
	 * have a budget of their own: a burst of automation logging in with
	 * one key must not use up (or be refused by) the token exchanges'
	 * one (issue 19). */
	if (service) {
		snprintf(rlkey, sizeof(rlkey), "L:%s", c->key_id);
		wait = rl_hit(d->rl_key, rlkey, mono, cfg->login_rate_limit_count,
			      (int64_t)cfg->login_rate_limit_window * 1000);
	} else {
		snprintf(rlkey, sizeof(rlkey), "k:%s", c->key_id);
		wait = rl_hit(d->rl_key, rlkey, mono, cfg->rate_limit_count, window);
	}
	if (wait > 0) {
		c->result = CRED_RATE_LIMITED;
		c->retry_after = wait;
		metrics_rate_limited(&d->metrics, 1);
		goto out;
	}
	if ((c->result = key_state(&c->key, (uint64_t)now)) == CRED_OK) {
		int a = account_get_by_uid(d->store, c->key.uid, &c->account);
		if (a <= 0)
			c->result = a < 0 ? CRED_ERROR : CRED_UNKNOWN_KEY;
		else if (c->account.disabled)
			c->result = CRED_ACCOUNT_DISABLED;
		else
			c->result = CRED_OK;
	}
	if (c->result == CRED_OK) {
		rl_clear(d->rl_lock, lockkey);
		note_use(&d->lastuse, &c->key, peer, service, (uint64_t)now);
	}
out:
	sodium_memzero(secret, sizeof(secret));
}

int cred_count_failure(struct daemon *d, const struct peer *peer, const char *rhost,
		       const char *key_id)
{
	char caller[17], lockkey[RL_KEY_MAX];
	const struct svca_config *cfg = &d->cfg;
	int64_t lock_ms = (int64_t)cfg->lockout_seconds * 1000;
	caller_id(peer, rhost, caller);
	snprintf(lockkey, sizeof(lockkey), "l:%s:%s", caller, key_id);
	if (!rl_fail(d->rl_lock, lockkey, svca_now_ms(), cfg->lockout_threshold, lock_ms, lock_ms))
		return 0;
	metrics_lockout(&d->metrics);
	return 1;
}

/* Expired active keys: persist the status and audit key.expire once. */
static void expire_keys(struct daemon *d, uint64_t now)
{
	struct apikey *ks;
	size_t n;
	if (key_all(d->store, &ks, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct apikey *k = &ks[i];
		if (k->status != KEY_ACTIVE || !k->expires_at || k->expires_at > now)
			continue;
		struct account a;
		int have = account_get_by_uid(d->store, k->uid, &a) == 1;
		struct actor act = { .uid = geteuid(), .priv = PRIV_SUPER };
		snprintf(act.user, sizeof(act.user), "svcacctd");
		struct audit_event ev = { .event = "key.expire",
					  .outcome = "success",
					  .actor = &act,
					  .account = have ? a.name : NULL,
					  .uid = k->uid,
					  .key_id = k->key_id };
		size_t mark = audit_mark(d->audit);
		k->status = KEY_EXPIRED;
		k->changed_at = now;
		store_begin(d->store);
		if (key_put(d->store, k) < 0 || audit_append(d->audit, &ev) < 0 ||
		    store_commit(d->store) < 0) {
			store_abort(d->store);
			audit_rollback(d->audit, mark);
		}
	}
	free(ks);
}

void keys_tick(struct daemon *d, int force)
{
	int64_t now = svca_wall_ms();
	struct lastuse_queue *q = &d->lastuse;
	const struct lastuse *pending = q->pending;
	if (!force && now - q->last_flush < LASTUSE_FLUSH_MS && q->n < LASTUSE_MAX)
		return;
	q->last_flush = now;
	store_begin(d->store);
	for (size_t i = 0; i < q->n; i++) {
		struct apikey k;
		if (key_get(d->store, pending[i].key_id, &k) != 1)
			continue;
		if (k.last_used_at >= pending[i].at)
			continue;
		k.last_used_at = pending[i].at;
		k.last_used_uid = pending[i].uid;
		k.last_used_pid = pending[i].pid;
		memcpy(k.last_used_service, pending[i].service, sizeof(k.last_used_service));
		if (key_put(d->store, &k) < 0) {
			store_abort(d->store);
			log_warn("cannot record key last-use times; will retry");
			return;
		}
	}
	if (store_commit(d->store) < 0) {
		store_abort(d->store);
		return;
	}
	q->n = 0;
	expire_keys(d, (uint64_t)now);
}

/* For listings: the last use that is not written yet. */
int keys_pending_use(const struct daemon *d, const char *key_id, uint64_t *at, uint32_t *uid,
		     uint32_t *pid, const char **service)
{
	const struct lastuse *pending = d->lastuse.pending;
	for (size_t i = 0; i < d->lastuse.n; i++)
		if (strcmp(pending[i].key_id, key_id) == 0) {
			*at = pending[i].at;
			*uid = pending[i].uid;
			*pid = pending[i].pid;
			*service = pending[i].service;
			return 1;
		}
	return 0;
}
