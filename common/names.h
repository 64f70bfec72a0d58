/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Validation of the names users type: accounts, teams, workspaces. */
#ifndef SVCACCT_NAMES_H
#define SVCACCT_NAMES_H

#include <stddef.h>

#define SVCA_NAME_MAX 32 /* POSIX user name: ^[a-z_][a-z0-9_-]{0,31}$ */
#define SVCA_SCOPE_NAME_MAX 64

/* 1 when name is a valid service account (POSIX user) name. */
int svca_account_name_valid(const char *name);
/* 1 when name is a valid team or workspace name: ^[a-z0-9][a-z0-9._-]{0,63}$ */
int svca_scope_name_valid(const char *name);

#endif
