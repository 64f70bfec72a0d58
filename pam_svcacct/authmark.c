/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pam_svcacct: "this PAM transaction authenticated with a svcacct key or
 * token".  The session stage mints SVCACCT_TOKEN only then (issue 14,
 * finding 5): a login that did not present a svcacct credential (sshd
 * publickey with a planted authorized_keys, cron, su from root) must not
 * get a fresh token after every key and token of the account was revoked.
 *
 * Two records, both set by a successful auth:
 *   - pam_set_data(SVCA_PAM_DATA_AUTHED): the user and service, cleaned up
 *     by libpam.  Enough wherever auth and session share the handle in one
 *     process (su, sudo, login, pamtester, sshd's password method).
 *   - the PAM environment variable SVCA_PAM_AUTH_ENV: sshd runs
 *     keyboard-interactive auth in a forked child and copies only the PAM
 *     environment back to the process that opens the session.  Anything
 *     in the stack may write the PAM environment (pam_env reads
 *     ~/.pam_environment with user_readenv=1), so the value is a MAC:
 *     SipHash-2-4 under a random key made when libpam loads the module
 *     (pam_start, before sshd forks), over the time, user, service and
 *     handle.  It means nothing outside this process; the session stage
 *     removes it from the environment either way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <syslog.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "names.h"
#include "module.h"
#include "wipe.h"

/* A mark older than this (auth to session) is not honoured. */
#define MARK_MAX_AGE_MS (10 * 60 * 1000)

static uint8_t mark_key[32];
static int mark_key_ok;

__attribute__((constructor)) static void mark_key_init(void)
{
	/* Never block a process that merely loads the module. */
	mark_key_ok =
		getrandom(mark_key, sizeof(mark_key), GRND_NONBLOCK) == (ssize_t)sizeof(mark_key);
}

__attribute__((destructor)) static void mark_key_wipe(void)
{
	svca_wipe(mark_key, sizeof(mark_key));
	mark_key_ok = 0;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                   \
	do {                       \
		v0 += v1;          \
		v1 = ROTL(v1, 13); \
		v1 ^= v0;          \
		v0 = ROTL(v0, 32); \
		v2 += v3;          \
		v3 = ROTL(v3, 16); \
		v3 ^= v2;          \
		v0 += v3;          \
		v3 = ROTL(v3, 21); \
		v3 ^= v0;          \
		v2 += v1;          \
		v1 = ROTL(v1, 17); \
		v1 ^= v2;          \
		v2 = ROTL(v2, 32); \
	} while (0)

/* SipHash-2-4 (Aumasson, Bernstein), 128-bit key, 64-bit output. */
uint64_t svca_pam_siphash24(const uint8_t k[16], const uint8_t *in, size_t len)
{
	uint64_t k0 = le64(k), k1 = le64(k + 8);
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		m = le64(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* "T.MAC": T the monotonic ms of the auth, MAC 32 hex digits over T, the
 * user, the service and the handle.  -1 without a key or on overflow. */
static int mark_text(pam_handle_t *pamh, const struct svca_pam_ctx *c, uint64_t t, char *out,
		     size_t outlen)
{
	uint8_t msg[32 + SVCA_NAME_MAX + SVCA_PAM_SERVICE_MAX + 8];
	uintptr_t h = (uintptr_t)pamh;
	size_t ulen = strlen(c->user), slen = strlen(c->service), n = 0;
	int rc = -1;

	if (!mark_key_ok || ulen > SVCA_NAME_MAX || slen >= SVCA_PAM_SERVICE_MAX)
		goto out;
	for (int i = 0; i < 8; i++)
		msg[n++] = (uint8_t)(t >> (8 * i));
	memcpy(msg + n, c->user, ulen + 1);
	n += ulen + 1;
	memcpy(msg + n, c->service, slen + 1);
	n += slen + 1;
	for (size_t i = 0; i < sizeof(h); i++)
		msg[n++] = (uint8_t)(h >> (8 * i));
	uint64_t a = svca_pam_siphash24(mark_key, msg, n);
	uint64_t b = svca_pam_siphash24(mark_key + 16, msg, n);
	int w = snprintf(out, outlen, "%llu.%016llx%016llx", (unsigned long long)t,
			 (unsigned long long)a, (unsigned long long)b);
	if (w > 0 && (size_t)w < outlen)
		rc = 0;
	svca_wipe(msg, sizeof(msg));
out:
	return rc;
}

struct authed {
	char user[SVCA_NAME_MAX + 1];
	char service[SVCA_PAM_SERVICE_MAX];
};

static void authed_cleanup(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	free(data);
}

void svca_pam_mark_authed(pam_handle_t *pamh, const struct svca_pam_opts *o,
			  const struct svca_pam_ctx *c)
{
	char env[sizeof(SVCA_PAM_AUTH_ENV) + 64];
	size_t pre = sizeof(SVCA_PAM_AUTH_ENV "=") - 1;
	struct authed *d;

	if (strlen(c->user) > SVCA_NAME_MAX)
		return;
	d = calloc(1, sizeof(*d));
	if (d) {
		memcpy(d->user, c->user, strlen(c->user) + 1);
		memcpy(d->service, c->service, sizeof(d->service));
		if (pam_set_data(pamh, SVCA_PAM_DATA_AUTHED, d, authed_cleanup) != PAM_SUCCESS)
			free(d);
	}
	memcpy(env, SVCA_PAM_AUTH_ENV "=", pre);
	if (mark_text(pamh, c, (uint64_t)svca_now_ms(), env + pre, sizeof(env) - pre) == 0 &&
	    pam_putenv(pamh, env) == PAM_SUCCESS)
		SVCA_PAM_LOG_DEBUG(pamh, o, "auth: %s: marked as authenticated by svcacct",
				   c->user);
}

void svca_pam_mark_settle(pam_handle_t *pamh)
{
	const void *data = NULL;

	/* Auth ran in this process (su, sudo, login; not sshd's kbd-interactive
	 * child, which never calls setcred): pam_set_data is enough, so the
	 * mark need not reach environments of stacks without a session line. */
	if (pam_get_data(pamh, SVCA_PAM_DATA_AUTHED, &data) == PAM_SUCCESS && data &&
	    pam_getenv(pamh, SVCA_PAM_AUTH_ENV))
		(void)pam_putenv(pamh, SVCA_PAM_AUTH_ENV);
}

/* 1 when the mark in the PAM environment was made by this module in this
 * process for this user, service and handle, less than MARK_MAX_AGE_MS ago. */
static int mark_valid(pam_handle_t *pamh, const struct svca_pam_ctx *c, const char *v)
{
	char want[64];
	unsigned long long t = 0;
	char *end = NULL;
	int ok = 0;

	if (!v || *v < '0' || *v > '9')
		goto out;
	t = strtoull(v, &end, 10);
	if (!end || *end != '.' || mark_text(pamh, c, t, want, sizeof(want)) < 0 ||
	    strlen(v) != strlen(want))
		goto out;
	unsigned char diff = 0;
	for (size_t i = 0; want[i]; i++)
		diff |= (unsigned char)(want[i] ^ v[i]);
	int64_t now = svca_now_ms();
	ok = diff == 0 && now >= 0 && (uint64_t)now >= t && (uint64_t)now - t <= MARK_MAX_AGE_MS;
out:
	svca_wipe(want, sizeof(want));
	return ok;
}

int svca_pam_authed(pam_handle_t *pamh, const struct svca_pam_opts *o, const struct svca_pam_ctx *c)
{
	const void *data = NULL;
	const char *v = pam_getenv(pamh, SVCA_PAM_AUTH_ENV);
	int authed = 0;

	if (pam_get_data(pamh, SVCA_PAM_DATA_AUTHED, &data) == PAM_SUCCESS && data) {
		const struct authed *d = data;
		authed = !strcmp(d->user, c->user) && !strcmp(d->service, c->service);
		SVCA_PAM_LOG_DEBUG(pamh, o, "session: %s: auth %s in this process", c->user,
				   authed ? "was by svcacct" : "was for another user or service");
	}
	if (v) {
		if (!authed) {
			authed = mark_valid(pamh, c, v);
			SVCA_PAM_LOG_DEBUG(
				pamh, o, "session: %s: the auth mark in the PAM environment is %s",
				c->user, authed ? "valid" : "not valid: ignored");
		}
		/* Never into the session's environment. */
		(void)pam_putenv(pamh, SVCA_PAM_AUTH_ENV);
	}
	return authed;
}

int svca_pam_authed_peek(pam_handle_t *pamh, const struct svca_pam_ctx *c)
{
	const void *data = NULL;
	const char *v = pam_getenv(pamh, SVCA_PAM_AUTH_ENV);

	if (pam_get_data(pamh, SVCA_PAM_DATA_AUTHED, &data) == PAM_SUCCESS && data) {
		const struct authed *d = data;
		if (!strcmp(d->user, c->user) && !strcmp(d->service, c->service))
			return 1;
	}
	return v ? mark_valid(pamh, c, v) : 0;
}
