/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * OpenSSH key revocation lists (OpenSSH's PROTOCOL.krl), for sshd's
 * RevokedKeys: one certificates section per CA key, revoking serials and
 * key ids.  Pure functions: the caller writes the file.
 */
#ifndef SVCACCTD_SSHKRL_H
#define SVCACCTD_SSHKRL_H

#include <stddef.h>
#include <stdint.h>

struct ssh_krl_ca {
	const uint8_t *ca_blob; /* the CA key's wire blob */
	size_t ca_len;
};

struct ssh_krl_in {
	const struct ssh_krl_ca *cas; /* every CA a host trusts; each gets the lists */
	size_t n_cas;
	const uint64_t *serials; /* any order, duplicates fine */
	size_t n_serials;
	const char *const *key_ids;
	size_t n_key_ids;
	uint64_t version;        /* krl_version: grows with every revocation */
	uint64_t generated_date; /* seconds since the epoch */
};

/* Builds the KRL into a malloc'ed buffer.  0, or -1 (ENOMEM, too large). */
int ssh_krl_build(const struct ssh_krl_in *in, uint8_t **out, size_t *out_len);

/* Does a KRL built by ssh_krl_build revoke this serial / key id under this
 * CA?  1 yes, 0 no, -1 malformed (tests and the fuzz target). */
int ssh_krl_revokes(const uint8_t *krl, size_t len, const uint8_t *ca_blob, size_t ca_len,
		    uint64_t serial, const char *key_id);

#endif
