/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Capabilities of many accounts at once, for the NSS snapshot. */
#ifndef SVCACCTD_NSS_CAPS_H
#define SVCACCTD_NSS_CAPS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

/* caps[i] = the CAP_* bits of the account with uids[i] (disabled[i]: 0),
 * by the same rule as access_compute() but with one pass over the grants.
 * 0 ok, -1 storage error. */
int nss_snapshot_caps(struct store *s, const struct svca_config *cfg, const uint32_t *uids,
		      const int *disabled, size_t n, unsigned *caps);

#endif
