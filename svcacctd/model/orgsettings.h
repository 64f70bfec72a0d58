/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The organization's settings that the hubs decide for their agents
 * (DESIGN.md section 9 "Details"): uid range, token TTL, key limits, rate
 * limits.  A hub puts its own in every snapshot as the record
 *
 *   DB_STATE org/settings   kind 'O' version 1: pairs F_NAME <key>, F_TOTAL <value>
 *
 * (keys: uid_min uid_max token_ttl max_active_keys default_key_days
 * max_key_days allow_nonexpiring_keys rate_limit_count rate_limit_window
 * lockout_threshold lockout_seconds login_rate_limit_count
 * login_rate_limit_window; an unknown key is skipped, a missing
 * one takes the built-in default).  An agent applies it with the snapshot
 * and loads it into its configuration at start, after each snapshot and
 * after SIGHUP.  Every hub of an organization must be configured with the
 * same values: the hub that served the last snapshot wins.
 */
#ifndef SVCACCTD_ORGSETTINGS_H
#define SVCACCTD_ORGSETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "proto.h"
#include "store.h"

#define ORG_SETTINGS_KEY "org/settings"
#define ORG_SETTINGS_VERSION 1

struct org_settings {
	uint32_t uid_min, uid_max;
	int token_ttl;
	int max_active_keys;
	int default_key_days;
	int max_key_days;
	int allow_nonexpiring_keys;
	int rate_limit_count;
	int rate_limit_window;
	int lockout_threshold;
	int lockout_seconds;
	int login_rate_limit_count;
	int login_rate_limit_window;
};

void org_settings_from_cfg(const struct svca_config *c, struct org_settings *s);
void org_settings_to_cfg(const struct org_settings *s, struct svca_config *c);
int org_settings_encode(const struct org_settings *s, struct svca_buf *b);
/* Decodes and checks with the bounds of svcacctd.conf.  0 ok, -1 (err says
 * why; *s unspecified). */
int org_settings_decode(const uint8_t *data, size_t len, struct org_settings *s, char *err,
			size_t errlen);
/* The settings as one JSON object text (malloc'ed; NULL out of memory). */
char *org_settings_json(const struct svca_config *c);

/* Agent: the applied org/settings into c.  1 loaded (*changed 1 when a
 * value moved), 0 none stored (c untouched), -1 unreadable or out of
 * bounds (c untouched, err says why). */
int org_settings_load(struct store *st, struct svca_config *c, int *changed, char *err,
		      size_t errlen);

#endif
