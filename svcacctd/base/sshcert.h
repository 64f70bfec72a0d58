/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * OpenSSH public keys and user certificates in their wire format
 * (OpenSSH's PROTOCOL.certkeys and RFC 4253/5656/8709), built and checked
 * with libsodium only: the CA is always Ed25519; a subject key may be
 * Ed25519, ECDSA (nistp256/384/521) or RSA.  Pure functions: no I/O, no
 * global state, every length bounded.
 */
#ifndef SVCACCTD_SSHCERT_H
#define SVCACCTD_SSHCERT_H

#include <stddef.h>
#include <stdint.h>

#define SSH_KEY_BLOB_MAX 2048u /* an RSA-8192 public key blob is ~1050 bytes */
#define SSH_KEY_TYPE_MAX 48u
#define SSH_FP_LEN 51u /* "SHA256:" + 43 base64 characters + NUL */
#define SSH_KEY_ID_MAX 256u
#define SSH_PRINCIPAL_MAX 64u
#define SSH_CERT_MAX_PRINCIPALS 16u
#define SSH_CERT_MAX_EXT 16u
#define SSH_CERT_LINE_MAX 8192u /* a certificate line of an RSA-8192 subject fits */
#define SSH_CERT_TYPE_USER 1u

/* A public key: its type name and its whole wire blob (string type, ...). */
struct ssh_pubkey {
	char type[SSH_KEY_TYPE_MAX];
	uint8_t blob[SSH_KEY_BLOB_MAX];
	size_t blob_len;
};

/*
 * Parses one OpenSSH public key line "TYPE BASE64 [comment]" (a *.pub
 * file's content; surrounding white space and a trailing newline are
 * fine).  The blob's own type must equal TYPE and its fields must be well
 * formed (Ed25519: 32 bytes; ECDSA: the curve matches, an uncompressed
 * point of the right length; RSA: e and n, n at least 2048 bits).
 * Certificates and unknown types are refused.  0, or -1 with a reason for
 * the user in err ("not an OpenSSH public key", "RSA keys shorter than
 * 2048 bits are refused", ...).
 */
int ssh_pubkey_parse(const char *line, size_t len, struct ssh_pubkey *out, char *err,
		     size_t errlen);

/* "SHA256:<base64 without padding>" of a key blob, as ssh-keygen -l prints. */
void ssh_fingerprint(const uint8_t *blob, size_t len, char out[SSH_FP_LEN]);

/* The public key line "ssh-ed25519 BASE64 comment" of an Ed25519 key
 * (crypto_sign public key, 32 bytes); malloc'ed, NULL on ENOMEM. */
char *ssh_ed25519_pub_line(const uint8_t pk[32], const char *comment);
/* The wire blob of an Ed25519 public key (51 bytes) into out. */
size_t ssh_ed25519_blob(const uint8_t pk[32], uint8_t out[64]);

/* What to certify.  Times are seconds since the epoch. */
struct ssh_cert_req {
	const struct ssh_pubkey *subject;
	uint64_t serial;
	const char *key_id;
	const char *principal;
	uint64_t valid_after;
	uint64_t valid_before;
	const char *source_address;    /* NULL: no critical option */
	const char *const *extensions; /* names, empty values; the encoder sorts them */
	size_t n_extensions;           /* at most SSH_CERT_MAX_EXT */
};

/*
 * Builds a user certificate (type ssh-<subject>-cert-v01@openssh.com, a
 * fresh 32-byte nonce from randombytes_buf) and signs it with the Ed25519
 * CA secret key (libsodium's 64-byte crypto_sign secret key).  *line gets
 * the malloc'ed "TYPE BASE64 COMMENT" line without a newline (COMMENT =
 * the comment argument; none when it is NULL).  0, or -1 with err.
 */
int ssh_cert_sign(const struct ssh_cert_req *req, const uint8_t ca_sk[64], const char *comment,
		  char **line, char *err, size_t errlen);

/* A parsed certificate. */
struct ssh_cert {
	char type[SSH_KEY_TYPE_MAX]; /* "ssh-ed25519-cert-v01@openssh.com" ... */
	struct ssh_pubkey subject;   /* the certified key, as a plain public key */
	uint64_t serial;
	uint32_t cert_type; /* SSH_CERT_TYPE_USER = 1, host = 2 */
	char key_id[SSH_KEY_ID_MAX];
	char principals[SSH_CERT_MAX_PRINCIPALS][SSH_PRINCIPAL_MAX];
	size_t n_principals;
	uint64_t valid_after;
	uint64_t valid_before;
	char source_address[256]; /* "" when the option is absent */
	size_t n_critical;        /* critical options, source-address included */
	char extensions[SSH_CERT_MAX_EXT][64];
	size_t n_extensions;
	uint8_t ca_blob[SSH_KEY_BLOB_MAX]; /* the signature key */
	size_t ca_blob_len;
	char ca_fp[SSH_FP_LEN];
	int signature_ok; /* 1: an Ed25519 CA and its signature verifies */
};

/*
 * Parses a certificate blob (decoded base64) / line ("TYPE BASE64
 * [comment]", also the "publickey TYPE BASE64" form of sshd's
 * SSH_AUTH_INFO_0).  Checks the structure and verifies the signature when
 * the CA key is Ed25519 (signature_ok).  Anything malformed, oversized or
 * with trailing bytes: -1 with err.  Does not check validity times, the
 * principal or the CA's identity: the caller decides.
 */
int ssh_cert_parse(const uint8_t *blob, size_t len, struct ssh_cert *out, char *err, size_t errlen);
int ssh_cert_parse_line(const char *line, size_t len, struct ssh_cert *out, char *err,
			size_t errlen);

#endif
