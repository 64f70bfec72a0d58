/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The NSS snapshot: svcacctd writes it, libnss_svcacct.so.2 reads it.
 * Shared by the writer (common/nss_format.c) and the reader
 * (nss_svcacct/snapshot.c).  Format version 1.
 *
 * Files in nss_dir (directory mode 0755, files 0644, owned by the daemon):
 *
 *   svcacct.snap   the snapshot below.  Replaced as a whole: written to a
 *                  temporary file in nss_dir, fsync'ed, renamed over the old
 *                  one (and the directory fsync'ed).  A reader that mapped
 *                  the old file keeps a consistent view; it is never
 *                  changed in place.
 *   range          a symbolic link whose target is
 *                  "svcacct-range-v1:UID_MIN:UID_MAX:SUDO_GID".  readlink(2)
 *                  opens no file, so a process that has not mapped the
 *                  snapshot yet can answer "not ours" for an id outside the
 *                  range without opening anything.  Advisory: the snapshot
 *                  header is authoritative.
 *
 * Layout of svcacct.snap (all integers in host byte order: the file never
 * leaves the host; byte_order tells a foreign file apart):
 *
 *   offset 0        struct svca_snap_header (128 bytes)
 *   rec_off         n_records x struct svca_snap_rec (24 bytes), sorted by
 *                   uid, strictly ascending: also the uid / gid index
 *   name_idx_off    n_records x uint32_t record numbers, sorted by the
 *                   records' names (strcmp order, strictly ascending)
 *   sudo_idx_off    n_sudo x uint32_t record numbers of the members of the
 *                   sudo group, in name order
 *   str_off         str_size bytes of strings; every string is referenced
 *                   by (off, len) relative to str_off and is followed by a
 *                   NUL at off + len; the table's last byte is NUL
 *
 * Every section starts at a multiple of 8 and lies inside file_size, which
 * equals the file's size.  Lookups are binary searches: by uid/gid over the
 * records, by name over name_idx.  No secret is ever written here: only
 * what getpwnam(3) and getgrnam(3) return.
 *
 * What a record means (DESIGN.md section 8):
 *   passwd: name, "*", uid, gid = uid, gecos, home_base "/" name,
 *           login_shell when SVCA_SNAP_LOGIN is set, else nologin_shell
 *   group:  the private group: name, "*", gid = uid, no members
 *   group:  sudo_group: gid sudo_gid, members = the sudo_idx records
 *           (accounts with the sudo capability on this host)
 *
 * Rules (the writer never breaks them; the reader checks them):
 *   when mapping (O(1)): magic, byte_order, version, header_size, flags 0,
 *   file_size == the file's size; 1000 <= uid_min <= uid_max < 2^32 - 1;
 *   sudo_gid >= 1000, not -1; sections 8-aligned, after the header, inside
 *   the file; n_sudo <= n_records; the string table ends with a NUL;
 *   header strings sound (paths absolute, no ':' or control character;
 *   sudo_group a valid name).  Any failure: the snapshot is unusable and
 *   NSS answers UNAVAIL (EIO).
 *   when a lookup reaches a record (O(log n) per lookup): uid in
 *   [uid_min, uid_max] and != sudo_gid; known flags; name and GECOS
 *   references inside the table, NUL-terminated, no NUL inside; name
 *   1..32 bytes of [a-z0-9_-] not starting with a digit or '-', not
 *   sudo_group; GECOS at most 255 bytes without ':' or control
 *   characters; index entries < n_records.  A damaged record makes that
 *   lookup UNAVAIL (EIO), never an out-of-bounds read.
 *   globally (snap_verify(), O(n), for tests and tools): records strictly
 *   ascending by uid, name_idx a permutation with names strictly
 *   ascending, sudo_idx exactly the SVCA_SNAP_SUDO records in name order.
 *   A reader does not check these per process: checking them would read
 *   the whole file on every process's first lookup.
 */
#ifndef SVCACCT_NSS_SNAPSHOT_FORMAT_H
#define SVCACCT_NSS_SNAPSHOT_FORMAT_H

#include <stdint.h>

#define SVCA_SNAP_FILE "svcacct.snap"
#define SVCA_SNAP_RANGE_LINK "range"
#define SVCA_SNAP_RANGE_PREFIX "svcacct-range-v1:"

#define SVCA_SNAP_MAGIC "SVCANSS" /* 7 characters and the NUL: 8 bytes */
#define SVCA_SNAP_VERSION 1u
#define SVCA_SNAP_BYTE_ORDER 0x01020304u
#define SVCA_SNAP_ALIGN 8u
#define SVCA_SNAP_MAX_SIZE (1u << 30) /* readers refuse larger files */
#define SVCA_SNAP_NAME_MAX 32u
#define SVCA_SNAP_GECOS_MAX 255u
#define SVCA_SNAP_PATH_MAX 255u
#define SVCA_SNAP_MIN_ID 1000u

/* Record flags. */
#define SVCA_SNAP_LOGIN 0x1u    /* the login capability: login_shell */
#define SVCA_SNAP_SUDO 0x2u     /* member of sudo_group */
#define SVCA_SNAP_DISABLED 0x4u /* informational: the account is disabled */
#define SVCA_SNAP_FLAGS_KNOWN 0x7u

struct svca_snap_str {
	uint32_t off; /* relative to str_off */
	uint32_t len; /* bytes, without the NUL that follows */
};

struct svca_snap_header {
	uint8_t magic[8];     /* SVCA_SNAP_MAGIC with its NUL */
	uint32_t byte_order;  /* SVCA_SNAP_BYTE_ORDER */
	uint32_t version;     /* SVCA_SNAP_VERSION */
	uint32_t header_size; /* sizeof(struct svca_snap_header) */
	uint32_t flags;       /* 0 */
	uint64_t file_size;
	uint64_t serial; /* CLOCK_REALTIME ns of the write; informational */
	uint32_t uid_min, uid_max;
	uint32_t sudo_gid;
	uint32_t n_records;
	uint32_t n_sudo;
	uint32_t rec_off;
	uint32_t name_idx_off;
	uint32_t sudo_idx_off;
	uint32_t str_off;
	uint32_t str_size;
	struct svca_snap_str home_base;
	struct svca_snap_str login_shell;
	struct svca_snap_str nologin_shell;
	struct svca_snap_str sudo_group;
	uint32_t reserved[4]; /* 0 */
};

struct svca_snap_rec {
	uint32_t uid; /* and the gid of the private group */
	uint32_t flags;
	struct svca_snap_str name;
	struct svca_snap_str gecos;
};

_Static_assert(sizeof(struct svca_snap_header) == 128, "header is 128 bytes");
_Static_assert(sizeof(struct svca_snap_rec) == 24, "record is 24 bytes");

#endif
