/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Hub mode: the organization's pepper check and signing keys in the shared
 * store (orgsecrets.c says how they are kept). */
#ifndef SVCACCTD_ORGSECRETS_H
#define SVCACCTD_ORGSECRETS_H

#include <stddef.h>

#include "daemon.h"

/* At start: refuses a hub whose pepper is not the organization's; takes the
 * organization's signing keys (or, on the first hub, puts its own).
 * 0 ok, -1 err says why. */
int org_secrets_open(struct daemon *d, char *err, size_t errlen);
/* Puts this hub's signing keys, sealed, in the open transaction (after a
 * rotation).  0 ok, -1 error. */
int org_secrets_put(struct daemon *d);
/* Takes the organization's signing keys again (another hub rotated).
 * 0 done, 1 none stored, -1 error (err says why). */
int org_secrets_reload(struct daemon *d, char *err, size_t errlen);

#endif
