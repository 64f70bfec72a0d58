/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The SSH user CA's revocation list (sshca.h): org/ssh_revoked (see
 * sshca_int.h), its unexpired entries only, bounded by SSHCA_REVOKED_MAX
 * at issue time; the questions on it and the revocations.
 */
#include "sshca.h"
#include "sshca_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "record.h"
#include "sockio.h"
#include "store.h"

/* Serials are made in commit order on one clock or several hubs' clocks:
 * the walk back over recent certificates looks this much further. */
#define WALK_MARGIN_MS (600LL * 1000)

/* ---- the revocation list ------------------------------------------------------ */

void sshca_rv_free(struct sshca_rv *rv)
{
	free(rv->e);
	memset(rv, 0, sizeof(*rv));
}

int sshca_rv_add(struct sshca_rv *rv, uint64_t serial, const char *key_id, uint64_t vb)
{
	if (rv->n == rv->cap) {
		size_t nc = rv->cap ? rv->cap * 2 : 64;
		void *ne = realloc(rv->e, nc * sizeof(rv->e[0]));
		if (!ne)
			return -1;
		rv->e = ne;
		rv->cap = nc;
	}
	struct sshca_revoked_entry *x = &rv->e[rv->n++];
	memset(x, 0, sizeof(*x));
	x->serial = serial;
	snprintf(x->key_id, sizeof(x->key_id), "%s", key_id);
	x->valid_before = vb;
	return 0;
}

int sshca_rv_get(struct store *st, struct sshca_rv *rv)
{
	uint8_t *v;
	struct svca_iter it;
	memset(rv, 0, sizeof(*rv));
	int g = sshca_rec_iter(st, REVOKED_KEY, REC_SSH_REVOKED, &v, &it);
	if (g <= 0)
		return g;
	struct svca_field f;
	uint64_t serial = 0, vb = 0;
	char kid[SSH_KEY_ID_MAX] = "";
	int got, have = 0, r = 1;
	while ((got = svca_iter_next(&it, &f)) == 1) {
		if (f.tag == F_TOTAL)
			(void)svca_field_u64(&f, &rv->version);
		else if (f.tag == F_SERIAL) {
			if (have && sshca_rv_add(rv, serial, kid, vb) < 0)
				r = -1;
			have = 1;
			kid[0] = '\0';
			vb = 0;
			(void)svca_field_u64(&f, &serial);
		} else if (f.tag == F_KEY_ID && svca_field_str(&f, kid, sizeof(kid)) < 0)
			kid[0] = '\0';
		else if (f.tag == F_VALID_BEFORE)
			(void)svca_field_u64(&f, &vb);
	}
	if (have && sshca_rv_add(rv, serial, kid, vb) < 0)
		r = -1;
	if (got < 0)
		r = -1;
	free(v);
	if (r < 0)
		sshca_rv_free(rv);
	return r;
}

int sshca_rv_put(struct store *st, const struct sshca_rv *rv)
{
	struct svca_buf b;
	svca_buf_init(&b, (size_t)64 * 1024 * 1024);
	rec_begin(&b, REC_SSH_REVOKED, 1);
	svca_put_u64(&b, F_TOTAL, rv->version);
	for (size_t i = 0; i < rv->n; i++) {
		svca_put_u64(&b, F_SERIAL, rv->e[i].serial);
		svca_put_str(&b, F_KEY_ID, rv->e[i].key_id);
		svca_put_u64(&b, F_VALID_BEFORE, rv->e[i].valid_before);
	}
	int r = b.failed ? -1 : store_put(st, DB_STATE, REVOKED_KEY, b.data, b.len);
	svca_buf_free(&b);
	return r;
}

size_t sshca_rv_prune(struct sshca_rv *rv, uint64_t now_ms)
{
	size_t w = 0;
	for (size_t i = 0; i < rv->n; i++)
		if (rv->e[i].valid_before > now_ms)
			rv->e[w++] = rv->e[i];
	size_t gone = rv->n - w;
	rv->n = w;
	return gone;
}

int sshca_revoked(struct daemon *d, uint64_t serial, const char *key_id)
{
	struct sshca_rv rv;
	int g = sshca_rv_get(d->store, &rv);
	if (g <= 0)
		return g;
	int hit = 0;
	for (size_t i = 0; i < rv.n && !hit; i++)
		hit = rv.e[i].serial == serial ||
		      (key_id && key_id[0] && rv.e[i].key_id[0] && !strcmp(rv.e[i].key_id, key_id));
	sshca_rv_free(&rv);
	return hit;
}
/* ---- revocation ------------------------------------------------------------------ */

int sshca_revoke_cert(struct daemon *d, struct sshca_cert *c)
{
	uint64_t now = (uint64_t)svca_wall_ms();
	if (c->revoked)
		return 0;
	c->revoked = 1;
	if (sshca_cert_put(d->store, c) < 0)
		return -1;
	if (c->valid_before <= now) /* expired: sshd refuses it anyway */
		return 1;
	struct sshca_rv rv;
	if (sshca_rv_get(d->store, &rv) < 0)
		return -1;
	sshca_rv_prune(&rv, now);
	/* Never refused for size: a revocation must take effect (SSH_SIGN
	 * stops instead while the list is full: sshca_issue). */
	int r = sshca_rv_add(&rv, c->serial, c->cert_id, c->valid_before);
	rv.version++;
	if (r == 0)
		r = sshca_rv_put(d->store, &rv);
	sshca_rv_free(&rv);
	return r < 0 ? -1 : 1;
}

/* Revokes every unexpired certificate of uid (or obtained with api_key_id)
 * in the open transaction, walking back from the newest serial over the
 * certificates young enough to be valid.  fn (may be NULL) hears of each. */
int sshca_revoke_where(struct daemon *d, uint32_t uid, const char *api_key_id, sshca_cert_fn fn,
		       void *arg)
{
	uint64_t next;
	int64_t now = svca_wall_ms();
	int total = 0;
	if (sshca_counter_get(d->store, NEXT_KEY, 1, &next) < 0)
		return -1;
	for (uint64_t s = next - 1; s >= 1; s--) {
		struct sshca_cert c;
		int g = sshca_cert_get(d, s, &c);
		if (g < 0)
			return -1;
		if (g == 0 || (int64_t)c.created_at < now - CERT_LIFE_MS - WALK_MARGIN_MS)
			break;
		int match = api_key_id ? !strcmp(c.api_key_id, api_key_id) : c.uid == uid;
		if (!match || c.revoked || c.valid_before <= (uint64_t)now)
			continue;
		if (sshca_revoke_cert(d, &c) < 0)
			return -1;
		total++;
		if (fn)
			fn(arg, &c);
	}
	return total;
}

int sshca_revoke_account(struct daemon *d, uint32_t uid)
{
	return sshca_revoke_where(d, uid, NULL, NULL, NULL);
}

int sshca_revoke_key(struct daemon *d, const char *api_key_id)
{
	return api_key_id && api_key_id[0] ? sshca_revoke_where(d, 0, api_key_id, NULL, NULL) : 0;
}
