/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Refusals per caller and window: recorded up to a burst, then counted. */
#include "refusals.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "log.h"
#include "sockio.h"

/* Callers tracked at once; a flood comes from few (a uid, an address).
 * When the table is full, the stalest caller's counts go to "others". */
#define REF_CALLERS 256
#define REF_NAMES 4 /* events counted by name; more go to "other" */
#define REF_NAME_LEN 24

struct tally {
	uint64_t total;
	uint64_t by[REF_NAMES + 1]; /* [REF_NAMES]: other events */
	int64_t first_ms, last_ms;  /* wall clock */
};

struct caller {
	char key[80];      /* "" = free slot */
	struct actor who;  /* names the caller in the summary */
	int64_t win_start; /* monotonic ms */
	int64_t last_seen;
	uint32_t written; /* recorded one by one in this window */
	char names[REF_NAMES][REF_NAME_LEN];
	struct tally cur;  /* counted in the open window */
	struct tally pend; /* counted in closed windows, not written yet */
};

struct refusals {
	struct caller c[REF_CALLERS];
	struct caller others;
};

/* The identity that a flood cannot multiply: the uid on a Unix socket,
 * else the caller the HTTP front derived from the address (http_caller_key:
 * all of loopback is one caller, an IPv6 /64 is one). */
static void caller_key(const struct peer *p, char *key, size_t len)
{
	if (!p->addr[0])
		snprintf(key, len, "uid %u", (unsigned)p->uid);
	else
		snprintf(key, len, "addr %s", p->caller[0] ? p->caller : p->addr);
}

int refusals_unprivileged(const struct peer *p, const struct actor *a)
{
	if (!p->addr[0] && p->uid == 0)
		return 0; /* root: PAM, or root's svcacctctl */
	return a->priv == PRIV_NONE;
}

static struct refusals *table(struct daemon *d)
{
	if (!d->refusals) {
		d->refusals = calloc(1, sizeof(*d->refusals));
		if (d->refusals) {
			snprintf(d->refusals->others.key, sizeof(d->refusals->others.key),
				 "others");
			d->refusals->others.who.uid = (uid_t)-1;
			snprintf(d->refusals->others.who.user, sizeof(d->refusals->others.who.user),
				 "other callers");
		}
	}
	return d->refusals;
}

void refusals_free(struct daemon *d)
{
	free(d->refusals);
	d->refusals = NULL;
}

static void tally_add(struct tally *t, int idx, uint64_t n, int64_t first, int64_t last)
{
	if (!n)
		return;
	if (!t->total || first < t->first_ms)
		t->first_ms = first;
	if (last > t->last_ms)
		t->last_ms = last;
	t->total += n;
	t->by[idx] += n;
}

static void tally_merge(struct tally *dst, const struct tally *src)
{
	for (int i = 0; i <= REF_NAMES; i++)
		tally_add(dst, i, src->by[i], src->first_ms, src->last_ms);
}

static int name_index(struct caller *c, const char *event)
{
	for (int i = 0; i < REF_NAMES; i++) {
		if (!c->names[i][0]) {
			snprintf(c->names[i], REF_NAME_LEN, "%s", event);
			return i;
		}
		if (!strcmp(c->names[i], event))
			return i;
	}
	return REF_NAMES;
}

/* Moves the open window's counts to the pending ones (the window closed). */
static void close_window(struct caller *c, int64_t now)
{
	tally_merge(&c->pend, &c->cur);
	memset(&c->cur, 0, sizeof(c->cur));
	c->win_start = now;
	c->written = 0;
}

/* The caller's entry: found, a free one, else the stalest (its counts go
 * to "others"). */
static struct caller *find(struct refusals *t, const char *key, const struct actor *a, int64_t now)
{
	struct caller *victim = NULL;
	for (size_t i = 0; i < REF_CALLERS; i++) {
		struct caller *c = &t->c[i];
		if (c->key[0] && !strcmp(c->key, key))
			return c;
		if (!victim || (victim->key[0] && (!c->key[0] || c->last_seen < victim->last_seen)))
			victim = c;
	}
	if (victim->key[0]) {
		/* counts merged by total: the names may differ */
		struct tally all = victim->pend;
		tally_merge(&all, &victim->cur);
		tally_add(&t->others.pend, REF_NAMES, all.total, all.first_ms, all.last_ms);
	}
	memset(victim, 0, sizeof(*victim));
	snprintf(victim->key, sizeof(victim->key), "%s", key);
	victim->who = *a;
	victim->win_start = now;
	return victim;
}

static struct caller *lookup(struct daemon *d, const struct peer *p, const struct actor *a,
			     int64_t now)
{
	struct refusals *t = table(d);
	char key[80];
	if (!t)
		return NULL;
	caller_key(p, key, sizeof(key));
	struct caller *c = find(t, key, a, now);
	c->last_seen = now;
	if (now - c->win_start >= (int64_t)d->cfg.audit_refusal_window * 1000)
		close_window(c, now);
	return c;
}

static void count(struct caller *c, const char *event, int64_t wall)
{
	tally_add(&c->cur, name_index(c, event), 1, wall, wall);
}

int refusals_low_space(struct daemon *d)
{
	return store_space_below(d->store, (uint64_t)d->cfg.state_reserve_mb << 20);
}

int refusals_admit(struct daemon *d, const struct peer *p, const struct actor *a, const char *event,
		   const char *also)
{
	if (!p->addr[0] && p->uid == 0)
		return 1; /* root, PAM: never coalesced */
	int64_t now = svca_now_ms();
	struct caller *c = lookup(d, p, a, now);
	if (!c)
		return 1; /* out of memory: record as before */
	if (c->written < (uint32_t)d->cfg.audit_refusal_burst && !refusals_low_space(d)) {
		c->written++;
		return 1;
	}
	int64_t wall = svca_wall_ms();
	count(c, event, wall);
	if (also)
		count(c, also, wall);
	return 0;
}

void refusals_count(struct daemon *d, const struct peer *p, const struct actor *a,
		    const char *event)
{
	int64_t now = svca_now_ms();
	struct caller *c = lookup(d, p, a, now);
	if (c)
		count(c, event, svca_wall_ms());
}

/* Appends one audit.coalesced record for c's pending counts. */
static int append_summary(struct daemon *d, struct caller *c)
{
	char detail[320], from[40], to[40];
	size_t n = 0;
	const struct tally *t = &c->pend;
	for (int i = 0; i <= REF_NAMES && n < sizeof(detail); i++) {
		if (!t->by[i])
			continue;
		int w = snprintf(detail + n, sizeof(detail) - n, "%s%s x%" PRIu64, n ? ", " : "",
				 i < REF_NAMES ? c->names[i] : "other", t->by[i]);
		if (w < 0)
			break;
		n += (size_t)w;
	}
	format_iso_ms(t->first_ms, from, sizeof(from));
	format_iso_ms(t->last_ms, to, sizeof(to));
	if (n < sizeof(detail))
		snprintf(detail + n, sizeof(detail) - n, " between %s and %s", from, to);
	struct audit_event ev = { .event = "audit.coalesced",
				  .outcome = "denied",
				  .actor = &c->who,
				  .reason = "refusal_flood",
				  .detail = detail,
				  .suppressed = t->total };
	return audit_append(d->audit, &ev);
}

void refusals_tick(struct daemon *d, int force)
{
	struct refusals *t = d->refusals;
	if (!t)
		return;
	int64_t now = svca_now_ms();
	int64_t window = (int64_t)d->cfg.audit_refusal_window * 1000;
	int low = !force && refusals_low_space(d);
	struct caller *due[REF_CALLERS + 1];
	size_t ndue = 0;
	for (size_t i = 0; i <= REF_CALLERS; i++) {
		struct caller *c = i < REF_CALLERS ? &t->c[i] : &t->others;
		if (!c->key[0])
			continue;
		if (force || now - c->win_start >= window)
			close_window(c, now);
		if (c->pend.total && !low)
			due[ndue++] = c;
	}
	if (!ndue)
		return;
	size_t mark = audit_mark(d->audit);
	store_begin(d->store);
	int bad = 0;
	for (size_t i = 0; i < ndue && !bad; i++)
		bad = append_summary(d, due[i]) < 0;
	if (bad || store_commit(d->store) < 0) {
		store_abort(d->store);
		audit_rollback(d->audit, mark);
		if (!force) {
			log_warn("cannot record the coalesced refusals; will retry");
			return;
		}
		/* The last chance (shutdown): the counts go to the daemon log. */
		for (size_t i = 0; i < ndue; i++)
			log_err("cannot record the coalesced refusals: %s (%s): %" PRIu64
				" refusals not recorded",
				due[i]->key, due[i]->who.user, due[i]->pend.total);
		return;
	}
	for (size_t i = 0; i < ndue; i++)
		memset(&due[i]->pend, 0, sizeof(due[i]->pend));
}
