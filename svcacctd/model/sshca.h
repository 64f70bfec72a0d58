/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The organization's SSH user CA (DESIGN.md section 10): its keys, the
 * certificates it issued, their revocation, the files sshd reads
 * (TrustedUserCAKeys, RevokedKeys), and the host-side decision on a
 * certificate login.  One code path for every mode: the CA public keys
 * and the revocation list are org/ records, so an agent holds them in its
 * snapshot and decides from local state exactly as a standalone host does;
 * only a host with the CA secret (standalone, hub) signs.
 */
#ifndef SVCACCTD_SSHCA_H
#define SVCACCTD_SSHCA_H

#include <stddef.h>
#include <stdint.h>

#include "accounts.h"
#include "keyfmt.h"
#include "sshcert.h"

struct daemon;

#define SSHCA_TTL_DEFAULT 900u
#define SSHCA_TTL_MIN 60u
#define SSHCA_TTL_MAX 3600u
#define SSHCA_BACKDATE_S 60u /* valid_after = now - 60 s: clock skew */

/* At start, after the store and the secrets are open: standalone and hub
 * load (or make, root-only) the CA secret keys and publish their public
 * halves in the store; an agent has none.  Then writes the files.  0, or
 * -1 with err (the daemon refuses to start). */
int sshca_open(struct daemon *d, char *err, size_t errlen);
void sshca_close(struct daemon *d);

/* Rewrites the CA keys file and the KRL (atomically: temp file, fsync,
 * rename) when the records they come from changed since the last call;
 * called once a batch is durable and after an agent applied a snapshot. */
void sshca_files_sync(struct daemon *d);

/* ---- what the CA's records say (model/sshca_keys.c, sshca_revoked.c) ---- */

/* Is this "SHA256:..." fingerprint one of the CA's keys (current, next or
 * retired: every key a host must trust)?  1 yes, 0 no, -1 storage error. */
int sshca_trusts(struct daemon *d, const char *ca_fp);
/* Is this certificate revoked (its serial or its key id in the revocation
 * list)?  1 yes, 0 no, -1 storage error. */
int sshca_revoked(struct daemon *d, uint64_t serial, const char *key_id);
/* In the open transaction: revoke every unexpired certificate of the
 * account / obtained with this API key (account disable and delete, key
 * revoke).  Returns how many, or -1. */
int sshca_revoke_account(struct daemon *d, uint32_t uid);
int sshca_revoke_key(struct daemon *d, const char *api_key_id);

/* ---- the CA's keys, certificates and revocations (model/sshca*.c) ---- */

#define SSHCA_MAX_KEYS 8 /* current, next and retired keys published */
/* Unexpired revoked certificates listed: org/ssh_revoked (about 120 bytes
 * an entry) must stay under an agent's record limit of 1 MiB
 * (agentapply.c); past it SSH_SIGN is refused until some expire. */
#define SSHCA_REVOKED_MAX 8192u

enum sshca_key_state { SSHCA_CURRENT = 0, SSHCA_NEXT = 1, SSHCA_RETIRED = 2 };

struct sshca_key {
	uint8_t pk[32]; /* Ed25519 public key */
	enum sshca_key_state state;
	uint64_t created_at; /* ms */
	uint64_t retired_at; /* ms; 0 unless retired */
};

struct sshca_keys {
	struct sshca_key k[SSHCA_MAX_KEYS];
	size_t n;
};

/* The published keys (org/ssh_ca; none yet: n = 0).  0, -1. */
int sshca_keys(struct daemon *d, struct sshca_keys *k);
const char *sshca_state_name(enum sshca_key_state s);
void sshca_key_fp(const uint8_t pk[32], char fp[SSH_FP_LEN]);

/* An issued certificate's record (sshc/<016x serial>). */
struct sshca_cert {
	uint64_t serial;
	uint32_t uid;
	char account[SVCA_NAME_MAX + 1];
	char api_key_id[SVCA_KEYID_LEN + 16]; /* the API key; a token's key_id claim */
	char jti[48];
	char cert_id[SSH_KEY_ID_MAX];                   /* the certificate's key id */
	char fingerprint[SSH_FP_LEN];                   /* of the certified key */
	uint64_t valid_after, valid_before, created_at; /* ms */
	int revoked;
};

/* 1 found, 0 not, -1 error. */
int sshca_cert_get(struct daemon *d, uint64_t serial, struct sshca_cert *c);
/* "valid", "expired" or "revoked". */
const char *sshca_cert_status(const struct sshca_cert *c, uint64_t now_ms);
/* Calls fn for each certificate record (store order); fn non-zero stops. */
typedef int (*sshca_cert_fn)(void *arg, const struct sshca_cert *c);
int sshca_cert_foreach(struct daemon *d, sshca_cert_fn fn, void *arg);

/* 1 when the account may log in somewhere with a certificate (standalone:
 * the login capability here for a PAM service mapped to login; hub: a
 * grant whose role gives login), 0 not, -1 storage error. */
int sshca_may_login(struct daemon *d, const struct account *a);

struct sshca_issue_req {
	const struct account *account;
	const char *api_key_id; /* "" when unknown */
	const char *jti;
	const struct ssh_pubkey *subject;
	unsigned ttl; /* seconds, SSHCA_TTL_MIN..SSHCA_TTL_MAX */
};

/* In the open transaction: takes the next serial, signs with the current
 * key, records the certificate.  *line: the malloc'ed certificate line.
 * 0; -1 error; -2 refused (no CA key here, revocation list full): err. */
int sshca_issue(struct daemon *d, const struct sshca_issue_req *q, struct sshca_cert *c,
		char **line, char *err, size_t errlen);

/* In the open transaction: marks c revoked and lists it in org/ssh_revoked
 * (unless expired).  1 revoked now, 0 it already was, -1 error. */
int sshca_revoke_cert(struct daemon *d, struct sshca_cert *c);
/* sshca_revoke_account / _key with a callback per certificate revoked
 * (auditing); api_key_id NULL selects by uid. */
int sshca_revoke_where(struct daemon *d, uint32_t uid, const char *api_key_id, sshca_cert_fn fn,
		       void *arg);

/* In the open transaction: next -> current, current -> retired, a new
 * next (its fingerprint in fp).  0, -1 err. */
int sshca_rotate(struct daemon *d, char fp[SSH_FP_LEN], char *err, size_t errlen);

/* Daemon tick: drops retired keys older than every certificate they
 * signed, expired revocations, certificate records 30 days past expiry. */
void sshca_tick(struct daemon *d);

/* ---- the host-side decision (model/sshlogin.c) ---- */

/* A certificate login as sshd presents it to AuthorizedPrincipalsCommand. */
struct ssh_login {
	const char *user;    /* %u: the account sshd logs in */
	const char *key_id;  /* %i: the certificate's key id */
	uint64_t serial;     /* %s */
	const char *ca_fp;   /* %F: SHA256 fingerprint of the signing CA key */
	const char *service; /* PAM service whose capability applies; "sshd" */
};

enum ssh_login_result {
	SSH_LOGIN_OK = 0,
	SSH_LOGIN_UNKNOWN_CA,     /* %F is not one of the CA's keys */
	SSH_LOGIN_NOT_ACCOUNT,    /* %u is not a service account */
	SSH_LOGIN_DISABLED,       /* the account is disabled */
	SSH_LOGIN_NO_CAPABILITY,  /* no login capability for the service here */
	SSH_LOGIN_WRONG_KEY_ID,   /* the key id does not name this account */
	SSH_LOGIN_SERIAL_REVOKED, /* revoked serial (ssh revoke, disable, ...) */
	SSH_LOGIN_KEY_REVOKED,    /* the API key that obtained it is revoked */
	SSH_LOGIN_BAD_CERT,       /* PAM: malformed, bad signature, expired, ... */
	SSH_LOGIN_STALE,          /* agent past max_staleness, not break-glass */
	SSH_LOGIN_ERROR,          /* storage error: refuse */
};

/* Short reason for the audit trail and syslog ("unknown_ca", ...). */
const char *sshca_login_reason(enum ssh_login_result r);

/* The host-side decision from local state only (never the network): the
 * principals helper's question.  On SSH_LOGIN_OK *a is the account. */
enum ssh_login_result sshca_login_check(struct daemon *d, const struct ssh_login *q,
					struct account *a);

/* PAM's question: the certificate line sshd accepted for this login
 * (SSH_AUTH_INFO_0 "publickey TYPE BASE64").  Parses it, checks its
 * signature, that it is valid now, that user is its principal, then
 * sshca_login_check.  *c is the parsed certificate (serial, key id) when
 * it parsed, for the audit record. */
enum ssh_login_result sshca_cert_check(struct daemon *d, const char *user, const char *cert_line,
				       const char *service, struct ssh_cert *c, struct account *a);

#endif
