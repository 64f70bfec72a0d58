/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Building and installing the NSS snapshot (format: see
 * common/snapshot_format.h).  libc only, no daemon state: svcacctd
 * (nss_snapshot.c), the generator bench/nss-gen.c and the unit tests use
 * the same code.
 */
#ifndef SVCACCTD_NSS_FORMAT_H
#define SVCACCTD_NSS_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot_format.h"

/* One account as the snapshot shows it. */
struct nss_entry {
	const char *name;
	const char *description; /* raw; sanitised into the GECOS field */
	uint32_t uid;
	unsigned flags; /* SVCA_SNAP_LOGIN | SVCA_SNAP_SUDO | SVCA_SNAP_DISABLED */
};

struct nss_params {
	uint32_t uid_min, uid_max;
	uint32_t sudo_gid;
	const char *home_base;
	const char *login_shell;
	const char *nologin_shell;
	const char *sudo_group;
};

/* The gid of sudo_group: the daemon reserves uid_max for it and never
 * hands uid_max to an account. */
static inline uint32_t nss_sudo_gid(uint32_t uid_min, uint32_t uid_max)
{
	(void)uid_min;
	return uid_max;
}

/* Called for every entry left out of the snapshot, with the reason. */
typedef void (*nss_skip_fn)(void *ctx, const struct nss_entry *e, const char *why);

/* Copies a description into a GECOS field: ':', newline and every other
 * control character become a space; at most SVCA_SNAP_GECOS_MAX bytes (cut
 * at a UTF-8 character boundary). */
void nss_gecos_sanitize(const char *in, char *out, size_t outlen);

/* 1 when p can make a snapshot (ranges, paths, sudo_group name). */
int nss_params_ok(const struct nss_params *p);

/* Why an entry named name with uid would break the format's rules (bad
 * name, uid outside the range, uid == sudo_gid, name == sudo_group); NULL
 * when it may be written. */
const char *nss_entry_refused(const struct nss_params *p, const char *name, uint32_t uid);

/* The string table of an image starts with the header's four strings
 * (home_base, login_shell, nologin_shell, sudo_group, each with its NUL):
 * their size, and a copy of them into dst (that many bytes). */
size_t nss_snap_header_strings(const struct nss_params *p);
void nss_snap_header_strings_put(const struct nss_params *p, uint8_t *dst);

/* The header of an image of n records, nsudo of them in sudo_group, whose
 * string table holds the header strings then rec_str_bytes of record
 * strings: every field, the layout (sections in the order of
 * snapshot_format.h, each 8-aligned, zero padding between them) and the
 * serial.  0 ok; -1 with errno (EINVAL: bad params, EFBIG: too large). */
int nss_snap_header(const struct nss_params *p, size_t n, size_t nsudo, size_t rec_str_bytes,
		    struct svca_snap_header *h);

/* Builds a snapshot image of entries (reordered in place).  Entries that
 * would break the format's rules (bad name, uid outside the range, uid ==
 * sudo_gid, name == sudo_group, duplicate name or uid: the first by name
 * stays) are left out and reported to skip.  *img is malloc'ed.  0 ok; -1 with errno (EINVAL: bad
 * params, EFBIG: too large, ENOMEM). */
int nss_snap_build(const struct nss_params *p, struct nss_entry *entries, size_t n,
		   nss_skip_fn skip, void *ctx, uint8_t **img, size_t *len);

/* Installs an image as dir/svcacct.snap (temporary file, fsync, rename,
 * directory fsync; mode 0644 whatever the umask) and points dir/range at
 * the image's range.  Creates dir (mode 0755) when it is missing and
 * refuses a dir writable by group or others.  0 ok; -1 with a message in
 * err. */
int nss_snap_install(const char *dir, const uint8_t *img, size_t len, char *err, size_t errlen);

/* Writes a whole image (file_size bytes) to fd: 0 ok, -1 with errno. */
typedef int (*nss_emit_fn)(void *ctx, int fd);

/* nss_snap_install for an image that emit writes straight into the
 * temporary file, so no copy of the whole image is ever held in memory.
 * h is its header (for the range link). */
int nss_snap_install_emit(const char *dir, const struct svca_snap_header *h, nss_emit_fn emit,
			  void *ctx, char *err, size_t errlen);

#endif
