/* SPDX-License-Identifier: GPL-3.0-or-later */
/* svcacctd --import: a standalone host's state into an empty hub database
 * (import.c says what moves and how). */
#ifndef SVCACCTD_IMPORT_H
#define SVCACCTD_IMPORT_H

#include <stddef.h>

#include "config.h"

/* Copies dir's secrets, records and audit chain into cfg->database (which
 * must be empty).  The caller holds dir's and cfg->state_dir's locks.
 * 0 ok, -1 err says why. */
int import_state(const struct svca_config *cfg, const char *dir, const char *host, char *err,
		 size_t errlen);

#endif
