/*
 * Building and installing the NSS snapshot (format: see
 * nss_svcacct/snapshot_format.h).  libc only, no daemon state: svcacctd
 * (nss_snapshot.c), the generator tools/nss-gen.c and the unit tests use
 * the same code.
 */
#ifndef SVCACCTD_NSS_FORMAT_H
#define SVCACCTD_NSS_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "../nss_svcacct/snapshot_format.h"

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

/* Builds a snapshot image of entries (reordered in place).  Entries that
 * would break the format's rules (bad name, uid outside the range, uid ==
 * sudo_gid, name == sudo_group, duplicate name or uid) are left out and
 * reported to skip.  *img is malloc'ed.  0 ok; -1 with errno (EINVAL: bad
 * params, EFBIG: too large, ENOMEM). */
int nss_snap_build(const struct nss_params *p, struct nss_entry *entries, size_t n,
		   nss_skip_fn skip, void *ctx, uint8_t **img, size_t *len);

/* Installs an image as dir/svcacct.snap (temporary file, fsync, rename,
 * directory fsync; mode 0644 whatever the umask) and points dir/range at
 * the image's range.  Creates dir (mode 0755) when it is missing and
 * refuses a dir writable by group or others.  0 ok; -1 with a message in
 * err. */
int nss_snap_install(const char *dir, const uint8_t *img, size_t len, char *err,
		     size_t errlen);

#endif
