/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An SSH certificate login, as sshd tells PAM about it.  sshd runs no PAM
 * auth for publickey, but before the account and session stages it puts
 * what authenticated the user in the PAM environment:
 *
 *   SSH_AUTH_INFO_0=publickey ssh-ed25519-cert-v01@openssh.com AAAA...\n
 *
 * (one line per method).  The module hands that certificate to svcacctd,
 * which checks it as the principals helper did (DESIGN.md section 10).
 */
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>

#include "module.h"

#define AUTH_INFO_ENV "SSH_AUTH_INFO_0"
#define CERT_SUFFIX "-cert-v01@openssh.com"

/* 1 when the line [p, end) is "publickey TYPE-cert-v01@openssh.com BLOB". */
static int cert_line(const char *p, const char *end)
{
	static const char pk[] = "publickey ";
	size_t n = (size_t)(end - p), plen = sizeof(pk) - 1, slen = sizeof(CERT_SUFFIX) - 1;
	if (n <= plen || memcmp(p, pk, plen) != 0)
		return 0;
	const char *type = p + plen;
	const char *sp = memchr(type, ' ', (size_t)(end - type));
	if (!sp || (size_t)(sp - type) <= slen || (size_t)(sp - type) > 64)
		return 0;
	return memcmp(sp - slen, CERT_SUFFIX, slen) == 0 && sp + 1 < end;
}

int svca_pam_ssh_cert(pam_handle_t *pamh, const struct svca_pam_ctx *c, char *out, size_t len)
{
	if (strcmp(c->service, "sshd") != 0)
		return 0;
	const char *info = pam_getenv(pamh, AUTH_INFO_ENV);
	if (!info)
		return 0;
	for (const char *p = info; *p;) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p);
		if (cert_line(p, end)) {
			size_t n = (size_t)(end - p);
			if (n >= len) {
				pam_syslog(pamh, LOG_ERR,
					   "%s: the SSH certificate of this login is longer than "
					   "%zu bytes",
					   c->user, len - 1);
				return -1;
			}
			memcpy(out, p, n);
			out[n] = '\0';
			return 1;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}
