/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SSH_PRINCIPALS: sshd's AuthorizedPrincipalsCommand question (the
 * svcacct-principals helper, run as ssh_principals_user): may this
 * certificate log in as this user here?  Answered from local state only
 * (model/sshlogin.c).  sshd asks twice per login, so an allow is not
 * audited here (the PAM account stage records the login); a refusal is
 * auth.deny with method ssh-cert, coalesced per caller like every
 * refusal (model/refusals.c), so a flood cannot fill the trail.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "handlers.h"
#include "refusals.h"
#include "request.h"
#include "sshca.h"

/* Root, the daemon's own user, or ssh_principals_user, on the native
 * socket (never a TCP peer of the HTTP front). */
static int principals_caller_ok(const struct request *r)
{
	const struct peer *p = r->peer;
	if (p->addr[0])
		return 0;
	return p->uid == 0 || p->uid == geteuid() ||
	       (r->d->cfg.ssh_principals_uid >= 0 &&
		(int64_t)p->uid == r->d->cfg.ssh_principals_uid);
}

static void audit_refused(struct request *r, const struct ssh_login *q, enum ssh_login_result res,
			  const struct account *a)
{
	struct audit_event ev;
	char detail[96];
	if (!refusals_admit(r->d, r->peer, &r->actor, "auth.deny", NULL))
		return; /* counted: a flood from this caller */
	req_event(&ev, r, "auth.deny", "denied");
	if (res == SSH_LOGIN_NOT_ACCOUNT) {
		snprintf(detail, sizeof(detail), "principals; user %.64s", q->user);
		ev.detail = detail;
	} else {
		ev.account = a->name;
		ev.uid = a->uid;
		ev.detail = "principals";
	}
	ev.method = "ssh-cert";
	ev.serial = q->serial;
	ev.cert_id = q->key_id[0] ? q->key_id : NULL;
	ev.service = q->service;
	ev.reason = sshca_login_reason(res);
	req_txn_begin(r);
	if (audit_append(r->d->audit, &ev) < 0 || store_commit(r->d->store) < 0) {
		req_txn_abort(r);
		if (store_low_space(r->d->store) && refusals_unprivileged(r->peer, &r->actor))
			refusals_count(r->d, r->peer, &r->actor, "auth.deny");
		return;
	}
	r->wrote = 1;
}

void cmd_ssh_principals(struct request *r)
{
	char user[SVCA_NAME_MAX + 2], key_id[SSH_KEY_ID_MAX], ca_fp[SSH_FP_LEN],
		service[SVCA_PAM_SERVICE_MAX];
	uint64_t serial = 0;
	struct account a;

	if (!principals_caller_ok(r)) {
		req_fail(r, SVCA_ERR_NOTAUTH,
			 "only root, the daemon's user or ssh_principals_user (%s) may ask this",
			 r->d->cfg.ssh_principals_user);
		return;
	}
	if (req_str(r, F_NAME, user, sizeof(user), 1, "user") < 0 ||
	    req_str(r, F_KEY_ID, key_id, sizeof(key_id), 1, "key id") < 0 ||
	    req_str(r, F_CA_FINGERPRINT, ca_fp, sizeof(ca_fp), 1, "CA fingerprint") < 0 ||
	    req_str(r, F_SERVICE, service, sizeof(service), 0, "service") < 0)
		return;
	const struct svca_field *fs = req_field(r, F_SERIAL);
	if (!fs || svca_field_u64(fs, &serial) < 0) {
		req_fail(r, SVCA_ERR_BADREQ, "missing or malformed serial");
		return;
	}
	struct ssh_login q = { .user = user,
			       .key_id = key_id,
			       .serial = serial,
			       .ca_fp = ca_fp,
			       .service = service[0] ? service : "sshd" };
	memset(&a, 0, sizeof(a));
	enum ssh_login_result res = sshca_login_check(r->d, &q, &a);
	if (res == SSH_LOGIN_ERROR) {
		req_fail(r, SVCA_ERR_UNAVAIL, "internal storage error");
		return;
	}
	if (res != SSH_LOGIN_OK)
		audit_refused(r, &q, res, &a);
	req_ok(r);
	svca_put_u64(r->reply, F_ALLOWED, res == SSH_LOGIN_OK ? 1 : 0);
	if (res == SSH_LOGIN_OK)
		svca_put_str(r->reply, F_NAME, a.name);
	svca_put_str(r->reply, F_REASON, sshca_login_reason(res));
	svca_frame_end(r->reply);
}
