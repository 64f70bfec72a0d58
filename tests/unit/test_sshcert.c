/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the OpenSSH formats (svcacctd/base/sshcert.c, sshkrl.c),
 * checked against OpenSSH itself: keys are made by ssh-keygen at test
 * time, every certificate we sign is read back by `ssh-keygen -L` and
 * every field compared, fingerprints are compared with `ssh-keygen -l`,
 * and KRLs are queried with `ssh-keygen -Q`.  Skips when ssh-keygen is
 * missing (openssh-client is in `make deps`).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "sshcert.h"
#include "sshkrl.h"

#define KEY_ID "sa:ci-deploy key:k1 jti:j1"
#define PRINCIPAL "ci-deploy"
#define T_AFTER 1767225600u  /* 2026-01-01T00:00:00Z */
#define T_BEFORE 1767229200u /* 2026-01-01T01:00:00Z */

static char g_dir[64];
static uint8_t g_ca_pk[32], g_ca_sk[64];
static uint8_t g_ca_blob[64];
static size_t g_ca_len;
static int g_have_keygen;

/* Runs a shell command, its stdout into out (NUL-terminated); the exit status. */
static int run(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int run(char *out, size_t cap, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = 0, got;
	char sink[256];
	while ((got = fread(out ? out + n : sink, 1, out ? cap - 1 - n : sizeof(sink), p)) > 0)
		if (out)
			n += got;
	if (out)
		out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *buf = calloc(1, 65536);
	assert_non_null(buf);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void spew(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	snprintf(g_dir, sizeof(g_dir), "/tmp/svcacct-sshcert-XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	crypto_sign_keypair(g_ca_pk, g_ca_sk);
	g_ca_len = ssh_ed25519_blob(g_ca_pk, g_ca_blob);
	g_have_keygen = system("command -v ssh-keygen >/dev/null 2>&1") == 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	sodium_memzero(g_ca_sk, sizeof(g_ca_sk));
	return system(cmd) == 0 ? 0 : -1;
}

#define NEED_KEYGEN()                                                   \
	do {                                                            \
		if (!g_have_keygen) {                                   \
			print_message("ssh-keygen missing: skipped\n"); \
			skip();                                         \
		}                                                       \
	} while (0)

/* Makes DIR/name with ssh-keygen and parses DIR/name.pub into k. */
static void make_key(const char *name, const char *args, struct ssh_pubkey *k)
{
	char err[128], path[128];
	assert_int_equal(run(NULL, 0, "ssh-keygen -q %s -N '' -C test -f %s/%s </dev/null", args,
			     g_dir, name),
			 0);
	snprintf(path, sizeof(path), "%s/%s.pub", g_dir, name);
	char *line = slurp(path);
	if (ssh_pubkey_parse(line, strlen(line), k, err, sizeof(err)) != 0)
		fail_msg("ssh_pubkey_parse(%s): %s", name, err);
	free(line);
}

/* ssh_fingerprint of a public key file equals `ssh-keygen -l -f`. */
static void check_fp(const char *pubpath, const uint8_t *blob, size_t n)
{
	char out[512], fp[SSH_FP_LEN], want[128];
	assert_int_equal(run(out, sizeof(out), "ssh-keygen -l -E sha256 -f %s", pubpath), 0);
	ssh_fingerprint(blob, n, fp);
	snprintf(want, sizeof(want), " %s ", fp);
	if (!strstr(out, want))
		fail_msg("fingerprint %s not in: %s", fp, out);
}

struct expect {
	const char *subject_kind; /* "ED25519-CERT", "ECDSA-CERT", "RSA-CERT" */
	const char *source_address;
	const char *const *ext;
	size_t n_ext;
	const char *const *ext_sorted;
	uint64_t serial;
};

/* Signs a certificate for k into DIR/name-cert.pub; the line (malloc'ed). */
static char *sign_cert(const struct ssh_pubkey *k, const char *name, const struct expect *e)
{
	struct ssh_cert_req q = {
		.subject = k,
		.serial = e->serial,
		.key_id = KEY_ID,
		.principal = PRINCIPAL,
		.valid_after = T_AFTER,
		.valid_before = T_BEFORE,
		.source_address = e->source_address,
		.extensions = e->ext,
		.n_extensions = e->n_ext,
	};
	char *line = NULL, err[128], path[128];
	if (ssh_cert_sign(&q, g_ca_sk, "test-cert", &line, err, sizeof(err)) != 0)
		fail_msg("ssh_cert_sign: %s", err);
	snprintf(path, sizeof(path), "%s/%s-cert.pub", g_dir, name);
	spew(path, line, strlen(line));
	return line;
}

/* `ssh-keygen -L` prints exactly what we signed. */
static void check_listing(const struct ssh_pubkey *k, const char *name, const char *ctype,
			  const struct expect *e)
{
	char out[4096], want[4096], path[128], fp[SSH_FP_LEN], cafp[SSH_FP_LEN];
	char from[32], to[32];
	time_t ta = T_AFTER, tb = T_BEFORE;
	struct tm tm;

	snprintf(path, sizeof(path), "%s/%s-cert.pub", g_dir, name);
	assert_int_equal(run(out, sizeof(out), "TZ=UTC ssh-keygen -L -f %s", path), 0);
	ssh_fingerprint(k->blob, k->blob_len, fp);
	ssh_fingerprint(g_ca_blob, g_ca_len, cafp);
	strftime(from, sizeof(from), "%Y-%m-%dT%H:%M:%S", gmtime_r(&ta, &tm));
	strftime(to, sizeof(to), "%Y-%m-%dT%H:%M:%S", gmtime_r(&tb, &tm));

	int n = snprintf(want, sizeof(want),
			 "%s:\n"
			 "        Type: %s user certificate\n"
			 "        Public key: %s %s\n"
			 "        Signing CA: ED25519 %s (using ssh-ed25519)\n"
			 "        Key ID: \"%s\"\n"
			 "        Serial: %llu\n"
			 "        Valid: from %s to %s\n"
			 "        Principals: \n"
			 "                %s\n",
			 path, ctype, e->subject_kind, fp, cafp, KEY_ID,
			 (unsigned long long)e->serial, from, to, PRINCIPAL);
	if (e->source_address)
		n += snprintf(want + n, sizeof(want) - (size_t)n,
			      "        Critical Options: \n                source-address %s\n",
			      e->source_address);
	else
		n += snprintf(want + n, sizeof(want) - (size_t)n,
			      "        Critical Options: (none)\n");
	n += snprintf(want + n, sizeof(want) - (size_t)n, "        Extensions: \n");
	for (size_t i = 0; i < e->n_ext; i++)
		n += snprintf(want + n, sizeof(want) - (size_t)n, "                %s\n",
			      e->ext_sorted[i]);
	assert_string_equal(out, want);
}

/* ssh_cert_parse returns every field we signed, with a valid signature. */
static void check_parse(const char *line, const struct ssh_pubkey *k, const char *ctype,
			const struct expect *e)
{
	struct ssh_cert c;
	char err[128], cafp[SSH_FP_LEN];
	if (ssh_cert_parse_line(line, strlen(line), &c, err, sizeof(err)) != 0)
		fail_msg("ssh_cert_parse_line: %s", err);
	assert_string_equal(c.type, ctype);
	assert_string_equal(c.subject.type, k->type);
	assert_int_equal(c.subject.blob_len, k->blob_len);
	assert_memory_equal(c.subject.blob, k->blob, k->blob_len);
	assert_int_equal(c.serial, e->serial);
	assert_int_equal(c.cert_type, SSH_CERT_TYPE_USER);
	assert_string_equal(c.key_id, KEY_ID);
	assert_int_equal(c.n_principals, 1);
	assert_string_equal(c.principals[0], PRINCIPAL);
	assert_int_equal(c.valid_after, T_AFTER);
	assert_int_equal(c.valid_before, T_BEFORE);
	assert_string_equal(c.source_address, e->source_address ? e->source_address : "");
	assert_int_equal(c.n_critical, e->source_address ? 1 : 0);
	assert_int_equal(c.n_extensions, e->n_ext);
	for (size_t i = 0; i < e->n_ext; i++)
		assert_string_equal(c.extensions[i], e->ext_sorted[i]);
	assert_int_equal(c.ca_blob_len, g_ca_len);
	assert_memory_equal(c.ca_blob, g_ca_blob, g_ca_len);
	ssh_fingerprint(g_ca_blob, g_ca_len, cafp);
	assert_string_equal(c.ca_fp, cafp);
	assert_int_equal(c.signature_ok, 1);

	/* sshd's SSH_AUTH_INFO_0 form */
	char info[SSH_CERT_LINE_MAX];
	const char *sp = strchr(line, ' ');
	sp = strchr(sp + 1, ' ');
	snprintf(info, sizeof(info), "publickey %.*s\n", (int)(sp - line), line);
	assert_int_equal(ssh_cert_parse_line(info, strlen(info), &c, err, sizeof(err)), 0);
	assert_int_equal(c.signature_ok, 1);
}

/* Every single flipped byte: refused, or a signature that does not verify. */
static void check_flips(const char *line)
{
	const char *b = strchr(line, ' ') + 1;
	size_t bl = strcspn(b, " \n");
	uint8_t *blob = malloc(8192);
	size_t n = 0;
	struct ssh_cert c;
	char err[128];
	assert_non_null(blob);
	assert_int_equal(sodium_base642bin(blob, 8192, b, bl, NULL, &n, NULL,
					   sodium_base64_VARIANT_ORIGINAL),
			 0);
	assert_int_equal(ssh_cert_parse(blob, n, &c, err, sizeof(err)), 0);
	assert_int_equal(c.signature_ok, 1);
	for (size_t i = 0; i < n; i++) {
		blob[i] ^= 0x01;
		int rc = ssh_cert_parse(blob, n, &c, err, sizeof(err));
		if (rc == 0 && c.signature_ok != 0)
			fail_msg("flipped byte %zu of %zu still verifies", i, n);
		blob[i] ^= 0x01;
	}
	/* trailing byte, truncation */
	assert_int_equal(ssh_cert_parse(blob, n - 1, &c, err, sizeof(err)), -1);
	blob[n] = 0;
	assert_int_equal(ssh_cert_parse(blob, n + 1, &c, err, sizeof(err)), -1);
	free(blob);
}

static void one_subject(const char *name, const char *args, const char *kind, const char *base)
{
	struct ssh_pubkey k;
	char path[128], ctype[96];
	static const char *const ext[] = { "permit-pty" };
	struct expect e = { kind, NULL, ext, 1, ext, 42 };

	make_key(name, args, &k);
	assert_string_equal(k.type, base);
	snprintf(path, sizeof(path), "%s/%s.pub", g_dir, name);
	check_fp(path, k.blob, k.blob_len);
	snprintf(ctype, sizeof(ctype), "%s-cert-v01@openssh.com", base);
	char *line = sign_cert(&k, name, &e);
	check_listing(&k, name, ctype, &e);
	check_parse(line, &k, ctype, &e);
	check_flips(line);
	free(line);
}

static void test_ed25519(void **state)
{
	(void)state;
	NEED_KEYGEN();
	one_subject("ed", "-t ed25519", "ED25519-CERT", "ssh-ed25519");
}

static void test_ecdsa256(void **state)
{
	(void)state;
	NEED_KEYGEN();
	one_subject("ec", "-t ecdsa -b 256", "ECDSA-CERT", "ecdsa-sha2-nistp256");
}

static void test_ecdsa521(void **state)
{
	(void)state;
	NEED_KEYGEN();
	one_subject("ec5", "-t ecdsa -b 521", "ECDSA-CERT", "ecdsa-sha2-nistp521");
}

static void test_rsa3072(void **state)
{
	(void)state;
	NEED_KEYGEN();
	one_subject("rsa", "-t rsa -b 3072", "RSA-CERT", "ssh-rsa");
}

/* source-address and several extensions, given unsorted. */
static void test_options_sorted(void **state)
{
	(void)state;
	NEED_KEYGEN();
	struct ssh_pubkey k;
	static const char *const ext[] = { "permit-pty", "permit-port-forwarding",
					   "permit-X11-forwarding", "permit-agent-forwarding" };
	static const char *const sorted[] = { "permit-X11-forwarding", "permit-agent-forwarding",
					      "permit-port-forwarding", "permit-pty" };
	struct expect e = { "ED25519-CERT", "10.0.0.0/8,127.0.0.1", ext, 4, sorted, 7 };
	make_key("opt", "-t ed25519", &k);
	char *line = sign_cert(&k, "opt", &e);
	check_listing(&k, "opt", "ssh-ed25519-cert-v01@openssh.com", &e);
	check_parse(line, &k, "ssh-ed25519-cert-v01@openssh.com", &e);
	free(line);
}

/* The CA's own public key line and blob, checked by ssh-keygen -l. */
static void test_ca_line(void **state)
{
	(void)state;
	NEED_KEYGEN();
	char path[128], err[128];
	struct ssh_pubkey k;
	char *line = ssh_ed25519_pub_line(g_ca_pk, "svcacct-ca");
	assert_non_null(line);
	assert_int_equal(g_ca_len, 51);
	assert_int_equal(ssh_pubkey_parse(line, strlen(line), &k, err, sizeof(err)), 0);
	assert_memory_equal(k.blob, g_ca_blob, g_ca_len);
	snprintf(path, sizeof(path), "%s/ca.pub", g_dir);
	spew(path, line, strlen(line));
	check_fp(path, g_ca_blob, g_ca_len);
	assert_non_null(strstr(line, " svcacct-ca"));
	free(line);
}

static void b64_line(const char *type, const uint8_t *blob, size_t n, const char *tail, char *out,
		     size_t cap)
{
	char b64[4096];
	sodium_bin2base64(b64, sizeof(b64), blob, n, sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, cap, "%s %s%s", type, b64, tail);
}

static void refused(const char *line, size_t len, const char *why)
{
	struct ssh_pubkey k;
	char err[128] = "";
	if (ssh_pubkey_parse(line, len, &k, err, sizeof(err)) == 0)
		fail_msg("accepted %s", why);
	assert_true(err[0] != '\0');
	assert_int_equal(k.blob_len, 0);
}

static void put_str(uint8_t *b, size_t *n, const void *s, size_t l)
{
	b[(*n)++] = (uint8_t)(l >> 24);
	b[(*n)++] = (uint8_t)(l >> 16);
	b[(*n)++] = (uint8_t)(l >> 8);
	b[(*n)++] = (uint8_t)l;
	memcpy(b + *n, s, l);
	*n += l;
}

static void test_pubkey_refusals(void **state)
{
	(void)state;
	char line[16384], err[128];
	uint8_t blob[2048], mp[300];
	size_t n = 0;
	struct ssh_pubkey k;

	refused("", 0, "empty");
	refused("   \n", 4, "blank");
	refused("ssh-ed25519", 11, "no base64");
	refused("ssh-ed25519 !!!!notbase64", 25, "garbage base64");
	refused("ssh-ed25519 AAAA", 16, "short base64");

	/* a good Ed25519 blob under another type name, or with junk */
	b64_line("ssh-rsa", g_ca_blob, g_ca_len, "", line, sizeof(line));
	refused(line, strlen(line), "type mismatch");
	b64_line("ssh-ed25519", g_ca_blob, g_ca_len, " comment\n", line, sizeof(line));
	assert_int_equal(ssh_pubkey_parse(line, strlen(line), &k, err, sizeof(err)), 0);
	b64_line("ssh-ed25519", g_ca_blob, g_ca_len, "!junk", line, sizeof(line));
	refused(line, strlen(line), "junk after the base64");
	b64_line("ssh-ed25519", g_ca_blob, g_ca_len, " c\nssh-ed25519 AAAA", line, sizeof(line));
	refused(line, strlen(line), "two lines");
	memcpy(blob, g_ca_blob, g_ca_len);
	blob[g_ca_len] = 0;
	b64_line("ssh-ed25519", blob, g_ca_len + 1, "", line, sizeof(line));
	refused(line, strlen(line), "trailing bytes in the blob");
	b64_line("ssh-ed25519", g_ca_blob, g_ca_len - 1, "", line, sizeof(line));
	refused(line, strlen(line), "truncated blob");

	/* DSA: string "ssh-dss", mpints p, q, g, y */
	memset(mp, 0x5a, sizeof(mp));
	put_str(blob, &n, "ssh-dss", 7);
	put_str(blob, &n, mp, 128);
	put_str(blob, &n, mp, 20);
	put_str(blob, &n, mp, 128);
	put_str(blob, &n, mp, 128);
	b64_line("ssh-dss", blob, n, "", line, sizeof(line));
	refused(line, strlen(line), "DSA");
	struct ssh_pubkey k2;
	assert_int_equal(ssh_pubkey_parse(line, strlen(line), &k2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "DSA"));

	/* RSA-1024 (hand-made: e = 65537, n of 1024 bits), and 2048 accepted */
	static const uint8_t e65537[] = { 1, 0, 1 };
	for (size_t bits = 1024; bits <= 2048; bits += 1024) {
		n = 0;
		put_str(blob, &n, "ssh-rsa", 7);
		put_str(blob, &n, e65537, 3);
		mp[0] = 0;
		memset(mp + 1, 0xc3, bits / 8);
		put_str(blob, &n, mp, bits / 8 + 1);
		b64_line("ssh-rsa", blob, n, "", line, sizeof(line));
		int rc = ssh_pubkey_parse(line, strlen(line), &k2, err, sizeof(err));
		if (bits == 1024) {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(err, "2048"));
		} else {
			assert_int_equal(rc, 0);
		}
	}

	/* a certificate is not a public key */
	struct ssh_pubkey ed;
	b64_line("ssh-ed25519", g_ca_blob, g_ca_len, "", line, sizeof(line));
	assert_int_equal(ssh_pubkey_parse(line, strlen(line), &ed, err, sizeof(err)), 0);
	static const char *const ext[] = { "permit-pty" };
	struct ssh_cert_req q = { &ed, 1, KEY_ID, PRINCIPAL, T_AFTER, T_BEFORE, NULL, ext, 1 };
	char *cert = NULL;
	assert_int_equal(ssh_cert_sign(&q, g_ca_sk, NULL, &cert, err, sizeof(err)), 0);
	refused(cert, strlen(cert), "a certificate");
	free(cert);

	/* huge */
	memset(line, 'A', sizeof(line));
	memcpy(line, "ssh-rsa ", 8);
	refused(line, sizeof(line), "huge");
	refused(line, 4000, "huge base64");
}

/* Bad requests are refused with a reason, nothing allocated. */
static void test_sign_refusals(void **state)
{
	(void)state;
	struct ssh_pubkey ed;
	char line[8192], err[128];
	char *cert = (char *)1;
	b64_line("ssh-ed25519", g_ca_blob, g_ca_len, "", line, sizeof(line));
	assert_int_equal(ssh_pubkey_parse(line, strlen(line), &ed, err, sizeof(err)), 0);
	static const char *const dup[] = { "permit-pty", "permit-pty" };
	struct ssh_cert_req q = { &ed, 1, KEY_ID, PRINCIPAL, T_AFTER, T_BEFORE, NULL, dup, 2 };
	assert_int_equal(ssh_cert_sign(&q, g_ca_sk, NULL, &cert, err, sizeof(err)), -1);
	assert_null(cert);
	q.n_extensions = 1;
	q.valid_before = T_AFTER;
	assert_int_equal(ssh_cert_sign(&q, g_ca_sk, NULL, &cert, err, sizeof(err)), -1);
	q.valid_before = T_BEFORE;
	q.principal = "";
	assert_int_equal(ssh_cert_sign(&q, g_ca_sk, NULL, &cert, err, sizeof(err)), -1);
	q.principal = PRINCIPAL;
	q.n_extensions = SSH_CERT_MAX_EXT + 1;
	assert_int_equal(ssh_cert_sign(&q, g_ca_sk, NULL, &cert, err, sizeof(err)), -1);
	q.n_extensions = 1;
	assert_int_equal(ssh_cert_sign(&q, g_ca_sk, NULL, &cert, err, sizeof(err)), 0);
	free(cert);
}

/* The other direction: certificates signed by ssh-keygen -s parse, with
 * every field and a valid signature; one of them with another CA key. */
static void test_parse_keygen_cert(void **state)
{
	(void)state;
	NEED_KEYGEN();
	struct ssh_pubkey ca, k;
	struct ssh_cert c;
	char path[128], err[128], cafp[SSH_FP_LEN];
	make_key("kca", "-t ed25519", &ca);
	make_key("kr", "-t rsa -b 2048", &k);
	assert_int_equal(run(NULL, 0,
			     "cd %s && ssh-keygen -q -s kca -I '%s' -n %s,other "
			     "-V 20260101000000:20260101010000 -z 77 -O clear -O permit-pty "
			     "-O source-address=10.1.0.0/16 kr.pub </dev/null",
			     g_dir, KEY_ID, PRINCIPAL),
			 0);
	snprintf(path, sizeof(path), "%s/kr-cert.pub", g_dir);
	char *line = slurp(path);
	if (ssh_cert_parse_line(line, strlen(line), &c, err, sizeof(err)) != 0)
		fail_msg("ssh_cert_parse_line: %s", err);
	assert_string_equal(c.type, "ssh-rsa-cert-v01@openssh.com");
	assert_int_equal(c.subject.blob_len, k.blob_len);
	assert_memory_equal(c.subject.blob, k.blob, k.blob_len);
	assert_int_equal(c.serial, 77);
	assert_int_equal(c.cert_type, SSH_CERT_TYPE_USER);
	assert_string_equal(c.key_id, KEY_ID);
	assert_int_equal(c.n_principals, 2);
	assert_string_equal(c.principals[0], PRINCIPAL);
	assert_string_equal(c.principals[1], "other");
	assert_string_equal(c.source_address, "10.1.0.0/16");
	assert_int_equal(c.n_critical, 1);
	assert_int_equal(c.n_extensions, 1);
	assert_string_equal(c.extensions[0], "permit-pty");
	assert_int_equal(c.ca_blob_len, ca.blob_len);
	assert_memory_equal(c.ca_blob, ca.blob, ca.blob_len);
	ssh_fingerprint(ca.blob, ca.blob_len, cafp);
	assert_string_equal(c.ca_fp, cafp);
	assert_int_equal(c.signature_ok, 1);
	/* 2026-01-01T00:00:00 in ssh-keygen's local time */
	assert_int_equal(c.valid_before - c.valid_after, 3600);
	free(line);
}

/* ssh-keygen -Q against DIR/name-cert.pub: 1 revoked, 0 ok. */
static int keygen_revoked(const char *krl, const char *name)
{
	char out[512], want[256];
	int rc = run(out, sizeof(out), "ssh-keygen -Q -f %s %s/%s-cert.pub 2>&1", krl, g_dir, name);
	/* "PATH (COMMENT): REVOKED" or "PATH (COMMENT): ok" */
	snprintf(want, sizeof(want), "%s/%s-cert.pub ", g_dir, name);
	if (strncmp(out, want, strlen(want)) != 0)
		fail_msg("ssh-keygen -Q: rc %d: %s", rc, out);
	if (strstr(out, "): REVOKED\n") && rc != 0)
		return 1;
	if (strstr(out, "): ok\n") && rc == 0)
		return 0;
	fail_msg("ssh-keygen -Q: rc %d: %s", rc, out);
	return -1;
}

static void test_krl(void **state)
{
	(void)state;
	NEED_KEYGEN();
	static const uint64_t serials[] = { 5, 1, 9, 5 };
	static const char *const ids[] = { "sa:x key:k jti:j" };
	uint8_t other_pk[32], other_sk[64], other_blob[64];
	crypto_sign_keypair(other_pk, other_sk);
	size_t other_len = ssh_ed25519_blob(other_pk, other_blob);
	struct ssh_krl_ca cas[] = { { other_blob, other_len }, { g_ca_blob, g_ca_len } };
	struct ssh_krl_in in = { cas, 2, serials, 4, ids, 1, 3, T_AFTER };
	uint8_t *krl = NULL;
	size_t krl_len = 0;
	char path[128], out[4096];

	assert_int_equal(ssh_krl_build(&in, &krl, &krl_len), 0);
	snprintf(path, sizeof(path), "%s/krl", g_dir);
	spew(path, krl, krl_len);

	/* certificates: serial 5, serial 6, serial 6 with the revoked key id */
	struct ssh_pubkey k;
	char *line;
	make_key("q", "-t ed25519", &k);
	static const char *const ext[] = { "permit-pty" };
	struct ssh_cert_req q = { &k, 5, KEY_ID, PRINCIPAL, T_AFTER, T_BEFORE, NULL, ext, 1 };
	const char *names[] = { "s5", "s6", "id6" };
	for (int i = 0; i < 3; i++) {
		char err[128], cp[128];
		q.serial = i == 0 ? 5 : 6;
		q.key_id = i == 2 ? ids[0] : KEY_ID;
		assert_int_equal(ssh_cert_sign(&q, g_ca_sk, NULL, &line, err, sizeof(err)), 0);
		snprintf(cp, sizeof(cp), "%s/%s-cert.pub", g_dir, names[i]);
		spew(cp, line, strlen(line));
		free(line);
	}
	assert_int_equal(keygen_revoked(path, "s5"), 1);
	assert_int_equal(keygen_revoked(path, "s6"), 0);
	assert_int_equal(keygen_revoked(path, "id6"), 1);

	/* the listing: every serial and the key id, under our CA */
	char cafp[SSH_FP_LEN];
	ssh_fingerprint(g_ca_blob, g_ca_len, cafp);
	assert_int_equal(run(out, sizeof(out), "ssh-keygen -Q -l -f %s 2>&1", path), 0);
	assert_non_null(strstr(out, "# KRL version 3\n"));
	assert_non_null(strstr(out, cafp));
	for (const char *w = "serial: 1\n\0serial: 5\n\0serial: 9\n\0id: sa:x key:k jti:j\n\0"; *w;
	     w += strlen(w) + 1)
		if (!strstr(out, w))
			fail_msg("%s not in the listing: %s", w, out);

	/* ssh_krl_revokes agrees, and another CA's KRL revokes nothing of ours */
	assert_int_equal(ssh_krl_revokes(krl, krl_len, g_ca_blob, g_ca_len, 5, KEY_ID), 1);
	assert_int_equal(ssh_krl_revokes(krl, krl_len, g_ca_blob, g_ca_len, 1, KEY_ID), 1);
	assert_int_equal(ssh_krl_revokes(krl, krl_len, g_ca_blob, g_ca_len, 6, KEY_ID), 0);
	assert_int_equal(ssh_krl_revokes(krl, krl_len, g_ca_blob, g_ca_len, 6, ids[0]), 1);
	free(krl);
	struct ssh_krl_in only_other = { cas, 1, serials, 4, ids, 1, 4, T_AFTER };
	assert_int_equal(ssh_krl_build(&only_other, &krl, &krl_len), 0);
	assert_int_equal(ssh_krl_revokes(krl, krl_len, g_ca_blob, g_ca_len, 5, ids[0]), 0);
	assert_int_equal(ssh_krl_revokes(krl, krl_len, other_blob, other_len, 5, KEY_ID), 1);
	assert_int_equal(ssh_krl_revokes(krl, krl_len - 1, other_blob, other_len, 5, KEY_ID), -1);
	free(krl);

	/* an empty KRL (nothing revoked) is valid for ssh-keygen too */
	struct ssh_krl_in empty = { cas, 2, NULL, 0, NULL, 0, 1, T_AFTER };
	assert_int_equal(ssh_krl_build(&empty, &krl, &krl_len), 0);
	spew(path, krl, krl_len);
	assert_int_equal(keygen_revoked(path, "s5"), 0);
	free(krl);

	/* serial 0 cannot be revoked by serial: refused */
	static const uint64_t zero[] = { 0 };
	struct ssh_krl_in z = { cas, 2, zero, 1, NULL, 0, 1, T_AFTER };
	krl = (uint8_t *)1;
	assert_int_equal(ssh_krl_build(&z, &krl, &krl_len), -1);
	assert_null(krl);
	sodium_memzero(other_sk, sizeof(other_sk));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ed25519),           cmocka_unit_test(test_ecdsa256),
		cmocka_unit_test(test_ecdsa521),          cmocka_unit_test(test_rsa3072),
		cmocka_unit_test(test_options_sorted),    cmocka_unit_test(test_ca_line),
		cmocka_unit_test(test_pubkey_refusals),   cmocka_unit_test(test_sign_refusals),
		cmocka_unit_test(test_parse_keygen_cert), cmocka_unit_test(test_krl),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
