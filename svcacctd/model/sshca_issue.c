/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The SSH user CA at work (sshca.h): start and stop, who may have a
 * certificate, issuing one (the next serial, signed with the current key,
 * its sshc/ record), and the daemon tick's pruning of expired keys,
 * revocations and certificate records.  The top floor of the CA's files.
 */
#include "sshca.h"
#include "sshca_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "rbac.h"
#include "record.h"
#include "sockio.h"
#include "store.h"

#define LOW_KEY "sshs/low"
#define PURGE_AFTER_MS (30LL * 24 * 3600 * 1000)
#define PURGE_PER_TICK 256

/* ---- start ------------------------------------------------------------------ */

int sshca_open(struct daemon *d, char *err, size_t errlen)
{
	if (config_mode(&d->cfg) != MODE_AGENT && sshca_keys_open(d, err, errlen) < 0)
		return -1;
	sshca_files_forget();
	sshca_files_sync(d);
	return 0;
}

void sshca_close(struct daemon *d)
{
	(void)d;
	sshca_keys_close();
	sshca_files_forget();
}

/* ---- issuing --------------------------------------------------------------------- */

int sshca_may_login(struct daemon *d, const struct account *a)
{
	if (a->disabled)
		return 0;
	if (config_mode(&d->cfg) == MODE_HUB) {
		/* any grant whose role gives login in some workspace */
		struct grant *gs;
		size_t ng;
		int ok = 0;
		if (grant_of_account(d->store, a->uid, &gs, &ng) < 0)
			return -1;
		for (size_t i = 0; i < ng && !ok; i++)
			ok = (d->cfg.role_caps[gs[i].role] & CAP_LOGIN) != 0;
		free(gs);
		return ok;
	}
	/* on this host, for a PAM service mapped to login */
	struct access acc;
	int mapped = 0;
	for (size_t i = 0; i < d->cfg.n_services; i++)
		mapped |= d->cfg.services[i].cap == CAP_LOGIN;
	if (!mapped)
		return 0;
	if (access_compute(d->store, &d->cfg, a, &acc) < 0)
		return -1;
	return (acc.caps & CAP_LOGIN) != 0;
}

int sshca_issue(struct daemon *d, const struct sshca_issue_req *q, struct sshca_cert *c,
		char **line, char *err, size_t errlen)
{
	struct sshca_keys k;
	struct sshca_rv rv;
	uint64_t serial;
	int64_t now = svca_wall_ms();
	*line = NULL;
	memset(c, 0, sizeof(*c));
	if (sshca_ca_get(d->store, &k) < 0 ||
	    sshca_counter_get(d->store, NEXT_KEY, 1, &serial) < 0 ||
	    sshca_rv_get(d->store, &rv) < 0) {
		snprintf(err, errlen, "internal storage error");
		return -1;
	}
	sshca_rv_prune(&rv, (uint64_t)now);
	size_t listed = rv.n;
	sshca_rv_free(&rv);
	if (listed >= SSHCA_REVOKED_MAX) {
		snprintf(err, errlen,
			 "the SSH revocation list is full (%u unexpired revoked certificates): no "
			 "certificate is issued until some expire",
			 SSHCA_REVOKED_MAX);
		return -2;
	}
	const struct sshca_key *cur = NULL;
	for (size_t i = 0; i < k.n && !cur; i++)
		if (k.k[i].state == SSHCA_CURRENT)
			cur = &k.k[i];
	struct sshca_sec *s = sshca_sec_new();
	const uint8_t *sk =
		s && cur && sshca_sec_load(d, s) == 0 ? sshca_sec_find(s, cur->pk) : NULL;
	if (!sk) {
		sshca_sec_free(s);
		snprintf(err, errlen, "this daemon holds no SSH CA key");
		return -2;
	}
	c->serial = serial;
	c->uid = q->account->uid;
	snprintf(c->account, sizeof(c->account), "%s", q->account->name);
	snprintf(c->api_key_id, sizeof(c->api_key_id), "%s", q->api_key_id);
	snprintf(c->jti, sizeof(c->jti), "%s", q->jti);
	snprintf(c->cert_id, sizeof(c->cert_id), "sa:%s key:%s jti:%s", c->account,
		 q->api_key_id[0] ? q->api_key_id : "-", q->jti);
	ssh_fingerprint(q->subject->blob, q->subject->blob_len, c->fingerprint);
	c->created_at = (uint64_t)now;
	uint64_t now_s = (uint64_t)now / 1000;
	c->valid_after = (now_s - SSHCA_BACKDATE_S) * 1000;
	c->valid_before = (now_s + q->ttl) * 1000;
	struct ssh_cert_req req = {
		.subject = q->subject,
		.serial = serial,
		.key_id = c->cert_id,
		.principal = c->account,
		.valid_after = now_s - SSHCA_BACKDATE_S,
		.valid_before = now_s + q->ttl,
		.source_address = d->cfg.ssh_source_address,
		.extensions = (const char *const *)d->cfg.ssh_cert_extensions.v,
		.n_extensions = d->cfg.ssh_cert_extensions.n,
	};
	int r = ssh_cert_sign(&req, sk, NULL, line, err, errlen);
	sshca_sec_free(s);
	if (r < 0)
		return -1;
	if (sshca_counter_put(d->store, NEXT_KEY, serial + 1) < 0 ||
	    sshca_cert_put(d->store, c) < 0) {
		free(*line);
		*line = NULL;
		snprintf(err, errlen, "internal storage error");
		return -1;
	}
	return 0;
}

/* Retired keys past every certificate they signed, expired revocations,
 * certificate records expired 30 days ago: each bounded per tick. */
static int tick_needs(struct daemon *d, int64_t now, int *keys, int *revs, int *purge)
{
	struct sshca_keys k;
	struct sshca_rv rv;
	uint64_t low, next;
	*keys = *revs = *purge = 0;
	if (sshca_ca_get(d->store, &k) < 0 || sshca_rv_get(d->store, &rv) < 0)
		return -1;
	for (size_t i = 0; i < k.n; i++)
		*keys |= k.k[i].state == SSHCA_RETIRED &&
			 (int64_t)k.k[i].retired_at + CERT_LIFE_MS < now;
	for (size_t i = 0; i < rv.n; i++)
		*revs |= rv.e[i].valid_before <= (uint64_t)now;
	sshca_rv_free(&rv);
	if (sshca_counter_get(d->store, LOW_KEY, 1, &low) < 0 ||
	    sshca_counter_get(d->store, NEXT_KEY, 1, &next) < 0)
		return -1;
	if (low < next) {
		struct sshca_cert c;
		int g = sshca_cert_get(d, low, &c);
		*purge = g == 0 || (g == 1 && (int64_t)c.valid_before + PURGE_AFTER_MS < now);
	}
	return 0;
}

static int tick_write(struct daemon *d, int64_t now)
{
	struct sshca_keys k;
	struct sshca_rv rv;
	uint64_t low, next;
	if (sshca_ca_get(d->store, &k) < 0 || sshca_rv_get(d->store, &rv) < 0)
		return -1;
	size_t w = 0;
	for (size_t i = 0; i < k.n; i++)
		if (!(k.k[i].state == SSHCA_RETIRED &&
		      (int64_t)k.k[i].retired_at + CERT_LIFE_MS < now))
			k.k[w++] = k.k[i];
	int r = 0;
	if (w != k.n) {
		k.n = w;
		r = sshca_ca_put(d->store, &k);
	}
	if (r == 0 && sshca_rv_prune(&rv, (uint64_t)now) > 0)
		r = sshca_rv_put(d->store, &rv);
	sshca_rv_free(&rv);
	if (r < 0 || sshca_counter_get(d->store, LOW_KEY, 1, &low) < 0 ||
	    sshca_counter_get(d->store, NEXT_KEY, 1, &next) < 0)
		return -1;
	uint64_t start = low;
	for (int i = 0; i < PURGE_PER_TICK && low < next; i++, low++) {
		struct sshca_cert c;
		char key[32];
		int g = sshca_cert_get(d, low, &c);
		if (g < 0)
			return -1;
		if (g == 1 && (int64_t)c.valid_before + PURGE_AFTER_MS >= now)
			break;
		sshca_cert_key(low, key);
		if (g == 1 && store_del(d->store, DB_STATE, key) < 0)
			return -1;
	}
	return low != start ? sshca_counter_put(d->store, LOW_KEY, low) : 0;
}

void sshca_tick(struct daemon *d)
{
	int keys, revs, purge;
	int64_t now = svca_wall_ms();
	if (config_mode(&d->cfg) == MODE_AGENT)
		return; /* the hubs prune the records an agent holds */
	if (tick_needs(d, now, &keys, &revs, &purge) < 0 || !(keys || revs || purge))
		return;
	if (store_shared(d->store))
		store_write_intent(d->store);
	store_begin(d->store);
	if (tick_write(d, now) < 0 || store_commit(d->store) < 0) {
		store_abort(d->store);
		log_warn("SSH CA: cannot prune expired records; will retry");
	}
}
