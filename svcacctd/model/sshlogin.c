/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The host-side decision on an SSH certificate login (sshca.h, "the
 * host-side decision"): the question sshd's AuthorizedPrincipalsCommand
 * asks, and the certificate PAM sees.  Local state only, never the
 * network: sshd asks twice per login, and an agent decides from its
 * snapshot exactly as a standalone host does.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "daemon.h"
#include "keys.h"
#include "rbac.h"
#include "sshca.h"
#include "staleness.h"

const char *sshca_login_reason(enum ssh_login_result r)
{
	switch (r) {
	case SSH_LOGIN_OK: return "allowed";
	case SSH_LOGIN_UNKNOWN_CA: return "unknown_ca";
	case SSH_LOGIN_NOT_ACCOUNT: return "not_service_account";
	case SSH_LOGIN_DISABLED: return "account_disabled";
	case SSH_LOGIN_NO_CAPABILITY: return "no_capability";
	case SSH_LOGIN_WRONG_KEY_ID: return "wrong_key_id";
	case SSH_LOGIN_SERIAL_REVOKED: return "certificate_revoked";
	case SSH_LOGIN_KEY_REVOKED: return "key_revoked";
	case SSH_LOGIN_BAD_CERT: return "bad_certificate";
	case SSH_LOGIN_STALE: return "stale";
	case SSH_LOGIN_ERROR: return "error";
	}
	return "error";
}

/* A key id's API key part: empty, or a key id's characters. */
static int keyid_ok(const char *s, size_t n)
{
	if (n > SVCA_KEYID_LEN)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

/* "sa:<name> key:<keyid> jti:<jti>", as the CA writes it: 0 with the
 * parts copied, -1 for anything else (extra blanks, another shape). */
static int key_id_parse(const char *id, char name[SVCA_NAME_MAX + 1],
			char keyid[SVCA_KEYID_LEN + 1])
{
	const char *sp1, *sp2;
	if (!id || strncmp(id, "sa:", 3) != 0 || !(sp1 = strchr(id + 3, ' ')) ||
	    strncmp(sp1 + 1, "key:", 4) != 0 || !(sp2 = strchr(sp1 + 5, ' ')) ||
	    strncmp(sp2 + 1, "jti:", 4) != 0)
		return -1;
	size_t nlen = (size_t)(sp1 - (id + 3)), klen = (size_t)(sp2 - (sp1 + 5));
	const char *jti = sp2 + 5;
	if (nlen == 0 || nlen > SVCA_NAME_MAX || !keyid_ok(sp1 + 5, klen) || !*jti ||
	    strlen(jti) > 128)
		return -1;
	for (const char *p = jti; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return -1;
	memcpy(name, id + 3, nlen);
	name[nlen] = '\0';
	memcpy(keyid, sp1 + 5, klen);
	keyid[klen] = '\0';
	return svca_account_name_valid(name) ? 0 : -1;
}

/* The API key that obtained the certificate still stands: it exists,
 * belongs to the account and is not revoked. */
static enum ssh_login_result key_check(struct daemon *d, const char *keyid, const struct account *a)
{
	struct apikey k;
	if (!keyid[0])
		return SSH_LOGIN_OK; /* obtained with a session token */
	int g = key_get(d->store, keyid, &k);
	if (g < 0)
		return SSH_LOGIN_ERROR;
	if (g == 0 || k.status == KEY_REVOKED)
		return SSH_LOGIN_KEY_REVOKED; /* a deleted key went with its account */
	if (k.uid != a->uid)
		return SSH_LOGIN_WRONG_KEY_ID;
	return SSH_LOGIN_OK;
}

/* The account's side: it exists, the directory is fresh enough, it is
 * enabled, and it may log in through the service here (the decision the
 * PAM account stage makes). */
static enum ssh_login_result account_check(struct daemon *d, const char *user, const char *service,
					   struct account *a)
{
	if (!user || !svca_account_name_valid(user))
		return SSH_LOGIN_NOT_ACCOUNT;
	int g = account_get(d->store, user, a);
	if (g < 0)
		return SSH_LOGIN_ERROR;
	if (g == 0)
		return SSH_LOGIN_NOT_ACCOUNT;
	int64_t age;
	if (login_window_now(d, a, &age) == LOGIN_STALE)
		return SSH_LOGIN_STALE;
	if (a->disabled)
		return SSH_LOGIN_DISABLED;
	struct access acc;
	const char *reason = NULL;
	char msg[200];
	if (access_decide(d->store, &d->cfg, a, service && *service ? service : "sshd", &acc,
			  &reason, msg, sizeof(msg)) < 0)
		return SSH_LOGIN_ERROR;
	if (reason)
		return !strcmp(reason, "account_disabled") ? SSH_LOGIN_DISABLED
							   : SSH_LOGIN_NO_CAPABILITY;
	return SSH_LOGIN_OK;
}

enum ssh_login_result sshca_login_check(struct daemon *d, const struct ssh_login *q,
					struct account *a)
{
	char name[SVCA_NAME_MAX + 1], keyid[SVCA_KEYID_LEN + 1];
	enum ssh_login_result r = account_check(d, q->user, q->service, a);
	if (r != SSH_LOGIN_OK)
		return r;
	int t = q->ca_fp ? sshca_trusts(d, q->ca_fp) : 0;
	if (t < 0)
		return SSH_LOGIN_ERROR;
	if (t == 0)
		return SSH_LOGIN_UNKNOWN_CA;
	if (key_id_parse(q->key_id, name, keyid) < 0 || strcmp(name, a->name) != 0)
		return SSH_LOGIN_WRONG_KEY_ID;
	int rv = sshca_revoked(d, q->serial, q->key_id);
	if (rv < 0)
		return SSH_LOGIN_ERROR;
	if (rv > 0)
		return SSH_LOGIN_SERIAL_REVOKED;
	return key_check(d, keyid, a);
}

/* The certificate itself: a user certificate with a good signature, valid
 * now, for this user, with no critical option but source-address (sshd
 * refuses one it does not know; so do we). */
static int cert_usable(const struct ssh_cert *c, const char *user, uint64_t now)
{
	if (c->cert_type != SSH_CERT_TYPE_USER || !c->signature_ok || c->valid_after > now ||
	    now >= c->valid_before || c->n_critical > (c->source_address[0] ? 1u : 0u))
		return 0;
	for (size_t i = 0; i < c->n_principals && i < SSH_CERT_MAX_PRINCIPALS; i++)
		if (!strcmp(c->principals[i], user))
			return 1;
	return 0;
}

enum ssh_login_result sshca_cert_check(struct daemon *d, const char *user, const char *cert_line,
				       const char *service, struct ssh_cert *c, struct account *a)
{
	char err[160];
	memset(c, 0, sizeof(*c));
	if (!cert_line || !user)
		return SSH_LOGIN_BAD_CERT;
	size_t len = strnlen(cert_line, SSH_CERT_LINE_MAX + 1);
	if (len > SSH_CERT_LINE_MAX ||
	    ssh_cert_parse_line(cert_line, len, c, err, sizeof(err)) < 0) {
		memset(c, 0, sizeof(*c));
		return SSH_LOGIN_BAD_CERT;
	}
	time_t now = time(NULL);
	if (now < 0 || !cert_usable(c, user, (uint64_t)now))
		return SSH_LOGIN_BAD_CERT;
	struct ssh_login q = { .user = user,
			       .key_id = c->key_id,
			       .serial = c->serial,
			       .ca_fp = c->ca_fp,
			       .service = service };
	return sshca_login_check(d, &q, a);
}
