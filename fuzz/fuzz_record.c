/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The decoders of records at rest (DB_STATE in state_dir): the generic
 * record parser rec_parse / rec_str / rec_u64 (svcacctd/store/record.c) and the
 * typed decoders on top of it: account_decode (accounts.c), key_decode
 * (keys.c), team_decode, ws_decode, grant_decode (rbac.c).  The daemon
 * runs them on whatever the database holds: a restored backup, a damaged
 * file, a record written by another version.
 *
 * The typed decoders other than account_decode are static, so this file
 * compiles the real keys.c and rbac.c in (not copies); account_decode
 * comes from the daemon's library.
 *
 * The audit records (audit.c: version, previous hash, timestamp, JSON) are
 * read only inside audit_list / audit_verify, which need a store; they are
 * not fuzzed here (see fuzz/README.md).
 *
 * Input: one record value, kind byte first ('A' account, 'K' key,
 * 'T' team, 'W' workspace, 'G' grant); every decoder runs on every input
 * and refuses the kinds that are not its own.
 *
 * Properties checked besides memory safety: what a decoder accepts meets
 * the rules the daemon relies on (valid names, uid != 0, a 12-character
 * key id, a known status), and for accounts decode(encode(decode(x))) ==
 * decode(x).
 */
#include "../svcacctd/model/keys.c"
#include "../svcacctd/model/rbac.c"

#include "fuzz_util.h"

static void account(const uint8_t *p, size_t n)
{
	struct account a, b;
	if (account_decode(p, n, &a) != 0)
		return;
	FZ_ASSERT(svca_account_name_valid(a.name) && a.uid != 0);
	FZ_ASSERT(a.org_role == ORG_MEMBER || a.org_role == ORG_ADMIN || a.org_role == ORG_SUPER);
	struct svca_buf buf;
	svca_buf_init(&buf, 0);
	FZ_ASSERT(account_encode(&a, &buf) == 0);
	FZ_ASSERT(account_decode(buf.data, buf.len, &b) == 0);
	FZ_ASSERT(memcmp(&a, &b, sizeof(a)) == 0);
	/* the reply fields made from it are a valid protocol body */
	svca_frame_begin(&buf, SVCA_OK);
	account_to_reply(&a, &buf);
	FZ_ASSERT(svca_frame_end(&buf) == 0);
	FZ_ASSERT(svca_body_validate(buf.data + SVCA_HDR_LEN, buf.len - SVCA_HDR_LEN, SIZE_MAX) ==
		  0);
	svca_buf_free(&buf);
}

static void apikey(const uint8_t *p, size_t n)
{
	struct apikey k;
	if (key_decode(p, n, &k) != 0)
		return;
	FZ_ASSERT(strlen(k.key_id) == SVCA_KEYID_LEN && k.uid != 0);
	FZ_ASSERT(k.status <= KEY_EXPIRED);
	FZ_ASSERT(strcmp(key_status_name(k.status), "unknown") != 0);
}

static void scopes(const uint8_t *p, size_t n)
{
	struct rec r;
	struct team t;
	struct workspace w;
	struct grant g;

	if (rec_parse(p, n, REC_TEAM, &r) == 0 && team_decode(&r, &t) == 0)
		FZ_ASSERT(svca_scope_name_valid(t.name));
	if (rec_parse(p, n, REC_WORKSPACE, &r) == 0 && ws_decode(&r, &w) == 0)
		FZ_ASSERT(svca_scope_name_valid(w.name) && svca_scope_name_valid(w.team));
	if (rec_parse(p, n, REC_GRANT, &r) == 0 && grant_decode(&r, &g) == 0) {
		FZ_ASSERT(g.uid != 0 && svca_scope_name_valid(g.scope));
		FZ_ASSERT(g.kind == SCOPE_WORKSPACE || g.kind == SCOPE_TEAM);
		FZ_ASSERT(g.role >= ROLE_VIEWER && g.role <= ROLE_ADMIN);
	}
}

static void generic(const uint8_t *p, size_t n)
{
	struct rec r;
	if (n == 0 || rec_parse(p, n, p[0], &r) != 0)
		return;
	FZ_ASSERT(r.kind == p[0] && r.version != 0 && r.n <= REC_MAX_FIELDS);
	for (size_t i = 0; i < r.n; i++) {
		const struct svca_field *f = &r.f[i];
		FZ_ASSERT(f->val >= p + 2 && f->val + f->len <= p + n);
		char s[81];
		rec_str(&r, f->tag, s, sizeof(s));
		FZ_ASSERT(strlen(s) < sizeof(s));
		(void)rec_u64(&r, f->tag);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* each decoder gets its own exact-size copy (some keep pointers) */
	uint8_t *p = fz_dup(data, size);
	generic(p, size);
	account(p, size);
	apikey(p, size);
	scopes(p, size);
	free(p);
	return 0;
}
