/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The files sshd reads (sshca.h): the CA keys file (TrustedUserCAKeys)
 * and the KRL (RevokedKeys), made from org/ssh_ca and org/ssh_revoked and
 * written atomically when those records (or the paths) changed.
 */
#include "sshca.h"
#include "sshca_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "sockio.h"
#include "sshkrl.h"
#include "store.h"

/* sshca_files_sync: what the files were last written from. */
static uint8_t g_files_hash[32];
static int g_files_ok;

/* ---- the files sshd reads ---------------------------------------------------------- */

static int build_ca_file(const struct sshca_keys *k, char **out, size_t *len)
{
	size_t cap = 1 + k->n * 200, used = 0;
	char *buf = malloc(cap);
	if (!buf)
		return -1;
	buf[0] = '\0';
	for (size_t i = 0; i < k->n; i++) {
		char comment[40];
		snprintf(comment, sizeof(comment), "svcacct-ca-%s",
			 sshca_state_name(k->k[i].state));
		char *l = ssh_ed25519_pub_line(k->k[i].pk, comment);
		if (!l || used + strlen(l) + 2 > cap) {
			free(l);
			free(buf);
			return -1;
		}
		used += (size_t)snprintf(buf + used, cap - used, "%s\n", l);
		free(l);
	}
	*out = buf;
	*len = used;
	return 0;
}

static int build_krl(const struct sshca_keys *k, const struct sshca_rv *rv, uint8_t **out,
		     size_t *len)
{
	struct ssh_krl_ca cas[SSHCA_MAX_KEYS];
	uint8_t blobs[SSHCA_MAX_KEYS][64];
	uint64_t *serials = calloc(rv->n + 1, sizeof(uint64_t));
	const char **ids = calloc(rv->n + 1, sizeof(char *));
	size_t nid = 0;
	int r = -1;
	if (serials && ids) {
		for (size_t i = 0; i < k->n; i++) {
			cas[i].ca_len = ssh_ed25519_blob(k->k[i].pk, blobs[i]);
			cas[i].ca_blob = blobs[i];
		}
		for (size_t i = 0; i < rv->n; i++) {
			serials[i] = rv->e[i].serial;
			if (rv->e[i].key_id[0])
				ids[nid++] = rv->e[i].key_id;
		}
		struct ssh_krl_in in = {
			.cas = cas,
			.n_cas = k->n,
			.serials = serials,
			.n_serials = rv->n,
			.key_ids = ids,
			.n_key_ids = nid,
			.version = rv->version,
			.generated_date = (uint64_t)svca_wall_ms() / 1000,
		};
		r = ssh_krl_build(&in, out, len);
	}
	free(serials);
	free(ids);
	return r;
}

/* A hash of what the files are made from (records and paths). */
static int files_source_hash(struct daemon *d, uint8_t out[32])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, 32);
	const char *keys[] = { CA_KEY, REVOKED_KEY };
	for (size_t i = 0; i < 2; i++) {
		uint8_t *v = NULL;
		size_t n = 0;
		int g = store_get(d->store, DB_STATE, keys[i], &v, &n);
		if (g < 0)
			return -1;
		uint64_t n64 = n;
		uint8_t tag[9] = { (uint8_t)g };
		memcpy(tag + 1, &n64, 8);
		crypto_generichash_update(&h, tag, sizeof(tag));
		if (v)
			crypto_generichash_update(&h, v, n);
		free(v);
	}
	crypto_generichash_update(&h, (const uint8_t *)d->cfg.ssh_ca_file,
				  d->cfg.ssh_ca_file ? strlen(d->cfg.ssh_ca_file) + 1 : 0);
	crypto_generichash_update(&h, (const uint8_t *)d->cfg.ssh_krl_file,
				  d->cfg.ssh_krl_file ? strlen(d->cfg.ssh_krl_file) + 1 : 0);
	crypto_generichash_final(&h, out, 32);
	return 0;
}

void sshca_files_forget(void)
{
	g_files_ok = 0;
}

void sshca_files_sync(struct daemon *d)
{
	uint8_t hash[32];
	if (!d->cfg.ssh_ca_file || !d->cfg.ssh_krl_file || files_source_hash(d, hash) < 0)
		return;
	if (g_files_ok && !memcmp(hash, g_files_hash, sizeof(hash)))
		return;
	struct sshca_keys k;
	struct sshca_rv rv;
	if (sshca_ca_get(d->store, &k) < 0 || sshca_rv_get(d->store, &rv) < 0) {
		log_err("SSH CA: cannot read its records; the files for sshd are not updated");
		return;
	}
	char *ca = NULL;
	uint8_t *krl = NULL;
	size_t calen = 0, krllen = 0;
	int ok = build_ca_file(&k, &ca, &calen) == 0 && build_krl(&k, &rv, &krl, &krllen) == 0;
	sshca_rv_free(&rv);
	/* 0600 like every file of the state dir: sshd reads them as root */
	if (!ok)
		log_err("SSH CA: out of memory building the files for sshd; will retry");
	else if (sshca_write_atomic(d->cfg.ssh_krl_file, krl, krllen, 0600) < 0)
		log_err("SSH CA: cannot write %s: %s; will retry", d->cfg.ssh_krl_file,
			strerror(errno));
	else if (sshca_write_atomic(d->cfg.ssh_ca_file, ca, calen, 0600) < 0)
		log_err("SSH CA: cannot write %s: %s; will retry", d->cfg.ssh_ca_file,
			strerror(errno));
	else {
		memcpy(g_files_hash, hash, sizeof(hash));
		g_files_ok = 1;
	}
	free(ca);
	free(krl);
}
