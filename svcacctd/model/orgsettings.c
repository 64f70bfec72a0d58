/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The organization's settings from the hubs (orgsettings.h). */
#include "orgsettings.h"

#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

enum { REC_ORG_SETTINGS = 'O' };

/* One setting: its name, where it lives, and the bounds svcacctd.conf
 * gives it (config.c apply(); test_orgsettings checks they agree). */
struct setting {
	const char *name;
	size_t off;
	int is_u32;
	int64_t min, max;
};

#define S_INT(n, lo, hi)                                        \
	{                                                       \
#n, offsetof(struct org_settings, n), 0, lo, hi \
	}
#define S_U32(n, lo, hi)                                        \
	{                                                       \
#n, offsetof(struct org_settings, n), 1, lo, hi \
	}
static const struct setting settings[] = {
	S_U32(uid_min, 1000, 4294967294LL),
	S_U32(uid_max, 1000, 4294967294LL),
	S_INT(token_ttl, 60, 3600),
	S_INT(max_active_keys, 1, 100),
	S_INT(default_key_days, 1, 366),
	S_INT(max_key_days, 1, 366),
	S_INT(allow_nonexpiring_keys, 0, 1),
	S_INT(rate_limit_count, 1, 100000),
	S_INT(rate_limit_window, 1, 3600),
	S_INT(lockout_threshold, 1, 1000),
	S_INT(lockout_seconds, 1, 86400),
	/* issue 19: PAM logins with the right secret, their own budget */
	S_INT(login_rate_limit_count, 1, 100000),
	S_INT(login_rate_limit_window, 1, 3600),
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static int64_t get(const struct org_settings *s, const struct setting *d)
{
	const char *p = (const char *)s + d->off;
	if (d->is_u32)
		return *(const uint32_t *)(const void *)p;
	return *(const int *)(const void *)p;
}

static void set(struct org_settings *s, const struct setting *d, int64_t v)
{
	char *p = (char *)s + d->off;
	if (d->is_u32)
		*(uint32_t *)(void *)p = (uint32_t)v;
	else
		*(int *)(void *)p = (int)v;
}

void org_settings_from_cfg(const struct svca_config *c, struct org_settings *s)
{
	s->uid_min = c->uid_min;
	s->uid_max = c->uid_max;
	s->token_ttl = c->token_ttl;
	s->max_active_keys = c->max_active_keys;
	s->default_key_days = c->default_key_days;
	s->max_key_days = c->max_key_days;
	s->allow_nonexpiring_keys = c->allow_nonexpiring_keys;
	s->rate_limit_count = c->rate_limit_count;
	s->rate_limit_window = c->rate_limit_window;
	s->lockout_threshold = c->lockout_threshold;
	s->lockout_seconds = c->lockout_seconds;
	s->login_rate_limit_count = c->login_rate_limit_count;
	s->login_rate_limit_window = c->login_rate_limit_window;
}

void org_settings_to_cfg(const struct org_settings *s, struct svca_config *c)
{
	c->uid_min = s->uid_min;
	c->uid_max = s->uid_max;
	c->token_ttl = s->token_ttl;
	c->max_active_keys = s->max_active_keys;
	c->default_key_days = s->default_key_days;
	c->max_key_days = s->max_key_days;
	c->allow_nonexpiring_keys = s->allow_nonexpiring_keys;
	c->rate_limit_count = s->rate_limit_count;
	c->rate_limit_window = s->rate_limit_window;
	c->lockout_threshold = s->lockout_threshold;
	c->lockout_seconds = s->lockout_seconds;
	c->login_rate_limit_count = s->login_rate_limit_count;
	c->login_rate_limit_window = s->login_rate_limit_window;
}

int org_settings_encode(const struct org_settings *s, struct svca_buf *b)
{
	rec_begin(b, REC_ORG_SETTINGS, ORG_SETTINGS_VERSION);
	for (size_t i = 0; i < NSETTINGS; i++) {
		svca_put_str(b, F_NAME, settings[i].name);
		svca_put_u64(b, F_TOTAL, (uint64_t)get(s, &settings[i]));
	}
	return b->failed ? -1 : 0;
}

static const struct setting *find(const struct svca_field *f)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (f->len == strlen(settings[i].name) && !memcmp(f->val, settings[i].name, f->len))
			return &settings[i];
	return NULL;
}

/* The cross-checks config.c makes on a hub or standalone daemon. */
static int cross_check(const struct org_settings *s, char *err, size_t errlen)
{
	if (s->uid_min >= s->uid_max) {
		snprintf(err, errlen, "uid_max (%" PRIu32 ") is not above uid_min (%" PRIu32 ")",
			 s->uid_max, s->uid_min);
		return -1;
	}
	if (s->default_key_days > s->max_key_days) {
		snprintf(err, errlen, "default_key_days is above max_key_days");
		return -1;
	}
	return 0;
}

int org_settings_decode(const uint8_t *data, size_t len, struct org_settings *s, char *err,
			size_t errlen)
{
	struct rec r;
	struct svca_config dflt;
	config_defaults(&dflt);
	org_settings_from_cfg(&dflt, s); /* a missing key: the built-in default */
	config_free(&dflt);
	if (rec_parse(data, len, REC_ORG_SETTINGS, &r) < 0 || r.version > ORG_SETTINGS_VERSION) {
		snprintf(err, errlen, "not an organization settings record of version %d or older",
			 ORG_SETTINGS_VERSION);
		return -1;
	}
	for (size_t i = 0; i + 1 < r.n; i++) {
		if (r.f[i].tag != F_NAME || r.f[i + 1].tag != F_TOTAL)
			continue;
		const struct setting *d = find(&r.f[i]);
		uint64_t v;
		if (!d) /* a newer hub's setting: not ours */
			continue;
		if (svca_field_u64(&r.f[i + 1], &v) < 0 || v < (uint64_t)d->min ||
		    v > (uint64_t)d->max) {
			snprintf(err, errlen, "%s is out of its bounds [%" PRId64 ", %" PRId64 "]",
				 d->name, d->min, d->max);
			return -1;
		}
		set(s, d, (int64_t)v);
		i++;
	}
	return cross_check(s, err, errlen);
}

char *org_settings_json(const struct svca_config *c)
{
	struct org_settings s;
	json_t *o = json_object();
	org_settings_from_cfg(c, &s);
	for (size_t i = 0; o && i < NSETTINGS; i++) {
		int64_t v = get(&s, &settings[i]);
		json_t *j = !strcmp(settings[i].name, "allow_nonexpiring_keys")
				    ? json_boolean(v != 0)
				    : json_integer((json_int_t)v);
		if (json_object_set_new(o, settings[i].name, j) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return text;
}

int org_settings_load(struct store *st, struct svca_config *c, int *changed, char *err,
		      size_t errlen)
{
	uint8_t *v = NULL;
	size_t n = 0;
	struct org_settings s, cur;
	memset(&cur, 0, sizeof(cur));
	*changed = 0;
	int g = store_get(st, DB_STATE, ORG_SETTINGS_KEY, &v, &n);
	if (g <= 0) {
		if (g < 0)
			snprintf(err, errlen, "storage error");
		return g;
	}
	int r = org_settings_decode(v, n, &s, err, errlen);
	free(v);
	if (r < 0)
		return -1;
	org_settings_from_cfg(c, &cur);
	*changed = memcmp(&cur, &s, sizeof(s)) != 0;
	org_settings_to_cfg(&s, c);
	return 1;
}
