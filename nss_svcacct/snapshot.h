/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading an NSS snapshot held in memory (a read-only mapping of
 * svcacct.snap).  Pure functions: no file access, no global state, so the
 * unit tests include snapshot.c directly.  Format: snapshot_format.h.
 */
#ifndef NSS_SVCACCT_SNAPSHOT_H
#define NSS_SVCACCT_SNAPSHOT_H

#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>

#include "snapshot_format.h"

struct snap {
	const uint8_t *base;
	size_t size;
	const struct svca_snap_header *h;
	const struct svca_snap_rec *rec;
	const uint32_t *name_idx;
	const uint32_t *sudo_idx;
	const char *str;
};

/* Checks the header and the bounds of every section (O(1)): 0 when the
 * image may be used, -1 otherwise.  base must be 8-byte aligned.  Records
 * are checked as lookups reach them. */
int snap_open(struct snap *s, const void *base, size_t size);
/* Checks every rule of the format (O(n)) on an opened image: 0 ok, -1. */
int snap_verify(const struct snap *s);
/* 1 when a record may be returned (string references, name, GECOS, uid,
 * flags), 0 when it is damaged. */
int snap_rec_ok(const struct snap *s, const struct svca_snap_rec *r);

/* 1 when id is a uid of the range or the sudo group's gid. */
int snap_id_in_range(const struct snap *s, uint64_t id);

/* Lookups: 1 found (*out set), 0 not found, -1 the image is damaged. */
int snap_by_uid(const struct snap *s, uint64_t uid, const struct svca_snap_rec **out);
int snap_by_name(const struct snap *s, const char *name, const struct svca_snap_rec **out);
/* Index of the first record whose uid is >= uid (n_records when none). */
size_t snap_lower_bound(const struct snap *s, uint64_t uid);

/* 1 when name is the sudo group's name. */
int snap_is_sudo_group(const struct snap *s, const char *name);

/* Fill the caller's structures, strings in buf.  0 ok, ERANGE when buf
 * is too small, EIO (sudo group) when a member record is damaged. */
int snap_fill_passwd(const struct snap *s, const struct svca_snap_rec *r, struct passwd *pw,
		     char *buf, size_t buflen);
int snap_fill_group(const struct snap *s, const struct svca_snap_rec *r, struct group *gr,
		    char *buf, size_t buflen);
int snap_fill_sudo_group(const struct snap *s, struct group *gr, char *buf, size_t buflen);

/* Parses a range link target ("svcacct-range-v1:MIN:MAX:SUDO_GID").
 * 0 ok, -1 malformed. */
int snap_parse_range(const char *target, uint32_t *min, uint32_t *max, uint32_t *sudo_gid);

/* 1 when name could be a service account name (or the sudo group). */
int snap_name_plausible(const char *name);

#endif
