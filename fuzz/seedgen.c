/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * seedgen: writes the seed corpora fuzz/corpus/<target>/ with the
 * project's own encoders, so every seed is what the real code produces:
 * request frames as svcacctctl and pam_svcacct build them, replies as the
 * daemon's handlers build them (account_to_reply), API keys from
 * svca_key_format, tokens from jwt_sign (with the fixed key of
 * fuzz_jwt.h), records from account_put / key_put / team_put /
 * workspace_put / grant_put on a scratch store, NSS snapshots from
 * nss_snap_build.  Deterministic: the same tree gives the same files.
 *
 *   seedgen CORPUS_DIR        (make fuzz-seeds: CORPUS_DIR = fuzz/corpus)
 *
 * Not a fuzz target (the Makefile builds fuzz/fuzz_*.c as targets).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accounts.h"
#include "fuzz_jwt.h"
#include "jwt.h"
#include "keyfmt.h"
#include "keys.h"
#include "nss_format.h"
#include "module.h"
#include "proto.h"
#include "rbac.h"
#include "record.h"
#include "store.h"

/* Linked with libFuzzer's runtime (no main) for the coverage hooks of the
 * instrumented objects; never called. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)data;
	(void)size;
	return 0;
}

static const char *root;

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "seedgen: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void put_file(const char *target, const char *name, const void *p, size_t n)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", root, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die("mkdir %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
	FILE *f = fopen(path, "wb");
	if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
		die("write %s: %s", path, strerror(errno));
}

static void put_str(const char *target, const char *name, const char *s)
{
	put_file(target, name, s, strlen(s));
}

/* A frame, with a leading byte (mode) when lead >= 0. */
static void put_frame(const char *target, const char *name, struct svca_buf *b)
{
	if (svca_frame_end(b) < 0)
		die("frame %s too large", name);
	put_file(target, name, b->data, b->len);
	svca_buf_free(b);
}

/* Deterministic "randomness" for seeds: a counter through BLAKE2b. */
static void det_rng(void *ctx, void *buf, size_t n)
{
	uint64_t *ctr = ctx;
	uint8_t in[8];
	memcpy(in, ctr, sizeof(in));
	(*ctr)++;
	uint8_t *b = buf;
	while (n) {
		uint8_t h[64];
		size_t k = n < sizeof(h) ? n : sizeof(h);
		crypto_generichash(h, sizeof(h), in, sizeof(in), NULL, 0);
		memcpy(b, h, k);
		b += k;
		n -= k;
		in[0]++;
	}
}

static void make_key(uint64_t seed, char key[SVCA_KEY_LEN + 1])
{
	uint8_t secret[SVCA_SECRET_BYTES];
	det_rng(&seed, secret, sizeof(secret));
	if (svca_key_format(det_rng, &seed, secret, key, NULL) != 0)
		die("svca_key_format");
}

/* ---- proto_server: requests as the clients build them ------------------ */

static void seeds_proto_server(const char *key, const char *token)
{
	struct svca_buf b;
	const char *T = "proto_server";

	svca_buf_init(&b, SVCA_MAX_REQUEST);
	svca_frame_begin(&b, SVCA_CMD_PING);
	put_frame(T, "ping", &b);

	svca_buf_init(&b, SVCA_MAX_REQUEST);
	svca_frame_begin(&b, SVCA_CMD_ACCOUNT_CREATE);
	svca_put_str(&b, F_NAME, "ci-deploy");
	svca_put_str(&b, F_DESCRIPTION, "deploys the web tier\tfrom CI");
	svca_put_str(&b, F_ORG_ROLE, "admin");
	put_frame(T, "account_create", &b);

	svca_buf_init(&b, SVCA_MAX_REQUEST);
	svca_frame_begin(&b, SVCA_CMD_ACCOUNT_UPDATE);
	svca_put_str(&b, F_NAME, "ci-deploy");
	svca_put_str(&b, F_NEW_NAME, "ci_deploy2");
	svca_put_bytes(&b, F_AUTH_TOKEN, token, strlen(token));
	put_frame(T, "account_update_by_token", &b);

	svca_buf_init(&b, SVCA_MAX_REQUEST);
	svca_frame_begin(&b, SVCA_CMD_GRANT_ADD);
	svca_put_str(&b, F_NAME, "ci-deploy");
	svca_put_str(&b, F_WORKSPACE, "build-farm");
	svca_put_str(&b, F_ROLE, "editor");
	put_frame(T, "grant_add", &b);

	svca_buf_init(&b, SVCA_MAX_REQUEST);
	svca_frame_begin(&b, SVCA_CMD_KEY_CREATE);
	svca_put_str(&b, F_NAME, "ci-deploy");
	svca_put_u64(&b, F_EXPIRES_DAYS, 30);
	svca_put_str(&b, F_LABEL, "gitlab runner");
	put_frame(T, "key_create", &b);

	svca_buf_init(&b, SVCA_MAX_REQUEST);
	svca_frame_begin(&b, SVCA_CMD_TOKEN_CREATE);
	svca_put_bytes(&b, F_KEY, key, strlen(key));
	put_frame(T, "token_create", &b);

	svca_buf_init(&b, SVCA_MAX_REQUEST);
	svca_frame_begin(&b, SVCA_CMD_AUDIT_LIST);
	svca_put_str(&b, F_ACCOUNT, "ci-deploy");
	svca_put_str(&b, F_EVENT, "token.*");
	svca_put_u64(&b, F_SINCE, 1790000000000ull);
	svca_put_u64(&b, F_LIMIT, 20);
	put_frame(T, "audit_list", &b);

	/* pam_svcacct's own request builder */
	struct svca_pam_ctx c;
	memset(&c, 0, sizeof(c));
	c.user = "ci-deploy";
	snprintf(c.service, sizeof(c.service), "sshd");
	snprintf(c.rhost, sizeof(c.rhost), "192.0.2.7");
	snprintf(c.tty, sizeof(c.tty), "ssh");
	svca_pam_req_begin(&b, SVCA_CMD_PAM_AUTH, &c, 1);
	svca_put_bytes(&b, F_KEY, key, strlen(key));
	put_frame(T, "pam_auth", &b);
	svca_pam_req_begin(&b, SVCA_CMD_PAM_SESSION_CLOSE, &c, 1);
	svca_put_bytes(&b, F_TOKEN, token, strlen(token));
	svca_put_u64(&b, F_PID, 4242);
	put_frame(T, "pam_session_close", &b);
	svca_pam_req_begin(&b, SVCA_CMD_PAM_AUTHORIZE, &c, 1);
	put_frame(T, "pam_authorize", &b);
}

/* ---- proto_client: replies as the daemon builds them ------------------- */

static struct account demo_account(const char *name, uint32_t uid, int role)
{
	struct account a;
	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "%s", name);
	a.uid = uid;
	snprintf(a.description, sizeof(a.description), "service account %s — déploiement", name);
	a.org_role = (enum org_role)role;
	a.created_at = 1790000000123ull;
	snprintf(a.created_by, sizeof(a.created_by), "root");
	a.updated_at = 1790000100456ull;
	snprintf(a.updated_by, sizeof(a.updated_by), "alice");
	a.last_activity = 1790000200789ull;
	a.gen = 3;
	return a;
}

/* bit 0 of the header flags: 1 = svcacctctl, 0 = pam_svcacct */
static void put_reply(const char *name, struct svca_buf *b, int ctl)
{
	if (svca_frame_end(b) < 0)
		die("reply %s", name);
	b->data[15] = (uint8_t)(b->data[15] | (ctl ? 1 : 0));
	put_file("proto_client", name, b->data, b->len);
	svca_buf_free(b);
}

static void seeds_proto_client(const char *token)
{
	struct svca_buf b;
	struct account a1 = demo_account("ci-deploy", 60001, ORG_ADMIN);
	struct account a2 = demo_account("backup", 60002, ORG_MEMBER);
	a2.disabled = 1;

	svca_buf_init(&b, 0);
	svca_frame_begin(&b, SVCA_OK);
	svca_put_mark(&b, F_ITEM);
	account_to_reply(&a1, &b);
	svca_put_mark(&b, F_ITEM);
	account_to_reply(&a2, &b);
	put_reply("ctl_account_list", &b, 1);

	svca_buf_init(&b, 0);
	svca_frame_begin(&b, SVCA_OK);
	svca_put_str(&b, F_NAME, "ci-deploy");
	svca_put_str(&b, F_STATUS, "active");
	svca_put_str(&b, F_ROLE, "admin");
	svca_put_str(&b, F_CAPABILITY, "login");
	svca_put_str(&b, F_CAPABILITY, "sudo");
	svca_put_str(&b, F_SOURCE, "team:infra:build-farm:admin");
	put_reply("ctl_account_access", &b, 1);

	svca_buf_init(&b, 0);
	svca_frame_begin(&b, SVCA_OK);
	svca_put_mark(&b, F_ITEM);
	svca_put_u64(&b, F_SEQ, 7);
	svca_put_str(&b, F_JSON,
		     "{\"seq\":7,\"ts\":\"2026-09-21T10:00:00.123Z\","
		     "\"event\":\"token.issue\",\"outcome\":\"success\"}");
	put_reply("ctl_audit_list", &b, 1);

	svca_buf_init(&b, 0);
	svca_frame_begin(&b, SVCA_ERR_NOTFOUND);
	svca_put_str(&b, F_MESSAGE, "no service account named 'ghost'");
	put_reply("ctl_not_found", &b, 1);

	svca_buf_init(&b, 0);
	svca_frame_begin(&b, SVCA_OK);
	svca_put_str(&b, F_REASON, "ok");
	put_reply("pam_auth_ok", &b, 0);

	svca_buf_init(&b, 0);
	svca_frame_begin(&b, SVCA_ERR_FAILED);
	svca_put_str(&b, F_REASON, "locked_out");
	svca_put_str(&b, F_MESSAGE, "too many failed attempts; try again later");
	svca_put_u64(&b, F_RETRY_AFTER, 300);
	put_reply("pam_auth_locked", &b, 0);

	svca_buf_init(&b, 0);
	svca_frame_begin(&b, SVCA_OK);
	svca_put_u64(&b, F_ALLOWED, 0);
	svca_put_str(&b, F_ROLE, "viewer");
	svca_put_str(&b, F_REASON, "no_capability");
	svca_put_str(&b, F_MESSAGE, "ci-deploy may not use sudo on this host");
	put_reply("pam_authorize_deny", &b, 0);

	svca_buf_init(&b, 0);
	svca_frame_begin(&b, SVCA_OK);
	svca_put_bytes(&b, F_TOKEN, token, strlen(token));
	svca_put_u64(&b, F_EXPIRES_IN, 900);
	put_reply("pam_session_open", &b, 0);
}

/* ---- config ------------------------------------------------------------- */

static void seeds_config(void)
{
	const char *T = "config";
	FILE *f = fopen("etc/svcacctd.conf", "rb");
	if (!f)
		die("etc/svcacctd.conf: %s (run from the top of the tree)", strerror(errno));
	char buf[65536];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	put_file(T, "etc_svcacctd.conf", buf, n);

	put_str(T, "tests_lib.conf",
		"# as tests/lib.sh writes it\n"
		"socket = \"/tmp/svcacct-test.1/sock\";\n"
		"state_dir = \"/tmp/svcacct-test.1/state\";\n"
		"nss_dir = \"/tmp/svcacct-test.1/nss\";\n"
		"uid_min = 60000;\nuid_max = 60999;\nsyslog = true;\n"
		"syslog_socket = \"/tmp/svcacct-test.1/log.sock\";\n"
		"super_admin_groups = [ \"builder\" ];\n"
		"token_ttl = 120;\n");
	put_str(T, "full.conf",
		"socket = \"/run/svcacct/svcacctd.sock\";\n"
		"http_socket = \"/run/svcacct/http.sock\";\n"
		"http_listen = \"127.0.0.1:8080\";\n"
		"state_dir = \"/var/lib/svcacct\";\nnss_dir = \"/var/lib/svcacct/nss\";\n"
		"home_base = \"/var/lib/svcacct/home\";\nlogin_shell = \"/bin/sh\";\n"
		"nologin_shell = \"/usr/sbin/nologin\";\n"
		"pepper_file = \"/etc/svcacct/pepper\";\n"
		"signing_key_file = \"/etc/svcacct/signing.keys\";\n"
		"uid_min = 70000; uid_max = 70999; token_ttl = 3600; max_active_keys = 3;\n"
		"default_key_days = 30; max_key_days = 366; allow_nonexpiring_keys = true;\n"
		"client_timeout_ms = 1500; audit_timeout_ms = 500; max_clients = 64;\n"
		"rate_limit_count = 20; rate_limit_window = 60;\n"
		"lockout_threshold = 3; lockout_seconds = 600;\n"
		"host_workspaces = [ \"build-farm\", \"web-prod\" ];\n"
		"admin_groups = [ \"svcacct-admin\", \"wheel\" ];\n"
		"super_admin_groups = [ \"root\" ];\n"
		"services = { login = [ \"sshd\", \"login\" ]; sudo = [ \"sudo\" ]; };\n"
		"roles = { viewer = [ ]; editor = [ \"login\" ]; admin = [ \"login\", \"sudo\" ]; "
		"};\n"
		"sudo_group = \"svcacct-sudo\";\nsyslog = false;\n");
	put_str(T, "errors.conf",
		"socket = \"relative/path\";\nuid_min = 10; uid_max = 5;\n"
		"token_ttl = \"long\";\nservices = { fly = [ \"x\" ]; login = [ \"a\", \"a\" ]; "
		"};\n"
		"roles = { owner = [ \"login\" ]; editor = [ \"teleport\" ]; };\n"
		"admin_groups = [ \"Bad Group\", 7 ];\nunknown_setting = 1;\n");
	put_str(T, "syntax_error.conf", "socket = \"/run/x\"\nstate_dir = ;\n");
}

/* ---- keyfmt ---------------------------------------------------------------- */

static void seeds_keyfmt(const char *key, const char *token)
{
	const char *T = "keyfmt";
	char k2[SVCA_KEY_LEN + 1];
	put_str(T, "key", key);
	make_key(99, k2);
	put_str(T, "key2", k2);
	k2[SVCA_KEY_LEN - 1] = k2[SVCA_KEY_LEN - 1] == 'A' ? 'B' : 'A';
	put_str(T, "key_bad_checksum", k2);
	/* a checksummed key whose secret is >= 2^256 ("zzz..."): malformed */
	char big[SVCA_KEY_LEN + 1];
	memcpy(big, key, SVCA_KEY_LEN + 1);
	memset(big + SVCA_KEY_PREFIX_LEN + SVCA_KEYID_LEN + 1, 'z', SVCA_SECRET_LEN);
	{
		size_t checked = SVCA_KEY_LEN - SVCA_CHECK_LEN;
		uint32_t crc = svca_crc32(big, checked);
		uint8_t be[4] = { (uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8),
				  (uint8_t)crc };
		char check[SVCA_CHECK_LEN + 1];
		svca_base62_encode(be, sizeof(be), check, SVCA_CHECK_LEN);
		memcpy(big + checked, check, SVCA_CHECK_LEN);
	}
	put_str(T, "key_secret_too_big", big);
	put_str(T, "token", token);
	put_str(T, "name", "ci-deploy");
	put_str(T, "scope", "build-farm.eu_1");
}

/* ---- jwt --------------------------------------------------------------------- */

static void put_mode(const char *target, const char *name, int mode, const void *p, size_t n)
{
	uint8_t *b = malloc(n + 1);
	if (!b)
		die("out of memory");
	b[0] = (uint8_t)mode;
	memcpy(b + 1, p, n);
	put_file(target, name, b, n + 1);
	free(b);
}

static const char *CLAIMS = "{\"iss\":\"svcacctd\",\"sub\":\"ci-deploy\",\"aud\":\"svcacct\","
			    "\"iat\":1790000000,\"nbf\":1790000000,\"exp\":1790000900,"
			    "\"jti\":\"q2Vx1cJY0bE2m8pTa3kWZg\",\"key_id\":\"AbCdEfGh1234\","
			    "\"org_role\":\"admin\",\"role\":\"editor\",\"gen\":3,"
			    "\"grants\":[\"w:build-farm:editor\",\"t:infra:viewer\"]}";

static void make_token(const struct fz_key *k, const char *claims_text, const char *kid, char *out,
		       size_t outlen)
{
	json_t *c = json_loads(claims_text, 0, NULL);
	if (!c || jwt_sign(c, kid, k->sk, out, outlen) < 0)
		die("jwt_sign");
	json_decref(c);
}

static void seeds_jwt(const struct fz_key *k, const char *token)
{
	const char *T = "jwt";
	char tok[JWT_MAX_LEN + 1];
	put_mode(T, "verify_token", 0, token, strlen(token));
	make_token(k, "{\"sub\":\"x\",\"a\":[1,2.5,null,true],\"o\":{\"k\":\"\\u00e9\"}}", k->kid,
		   tok, sizeof(tok));
	put_mode(T, "verify_token_nested", 0, tok, strlen(tok));
	make_token(k, CLAIMS, "unknown-kid", tok, sizeof(tok));
	put_mode(T, "verify_unknown_kid", 0, tok, strlen(tok));
	/* alg none, as an attacker would send it */
	const char *none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJjaS1kZXBsb3kifQ.";
	put_mode(T, "verify_alg_none", 0, none, strlen(none));

	char hp[2048];
	int n = snprintf(hp, sizeof(hp), "{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
			 k->kid);
	hp[n] = '\0';
	memcpy(hp + n + 1, CLAIMS, strlen(CLAIMS));
	put_mode(T, "signed_header_payload", 1, hp, (size_t)n + 1 + strlen(CLAIMS));
	n = snprintf(hp, sizeof(hp),
		     "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"crit\":[\"exp\"],\"kid\":\"x\"}", k->kid);
	memcpy(hp + n + 1, "[]", 2);
	put_mode(T, "signed_dup_kid_crit", 1, hp, (size_t)n + 3);

	put_mode(T, "claims", 2, CLAIMS, strlen(CLAIMS));
	put_mode(T, "b64url", 3, token, strcspn(token, "."));
}

/* ---- record: the daemon's own writers on a scratch store ------------------- */

struct dump_ctx {
	int n;
};

static int dump_rec(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct dump_ctx *d = arg;
	char name[128];
	size_t i;
	(void)klen;
	for (i = 0; key[i] && i < sizeof(name) - 1; i++)
		name[i] = (key[i] == '/' || key[i] == '.') ? '_' : key[i];
	name[i] = '\0';
	/* only the typed records the fuzz target decodes */
	if (vlen &&
	    (val[0] == 'A' || val[0] == 'K' || val[0] == 'T' || val[0] == 'W' || val[0] == 'G')) {
		put_file("record", name, val, vlen);
		d->n++;
	}
	return 0;
}

static void seeds_record(void)
{
	char dir[] = "/tmp/svcacct-seedgen.XXXXXX";
	char err[256];
	if (!mkdtemp(dir))
		die("mkdtemp: %s", strerror(errno));
	struct store *s = store_open(dir, err, sizeof(err));
	if (!s)
		die("store_open: %s", err);

	struct account a1 = demo_account("ci-deploy", 60001, ORG_ADMIN);
	struct account a2 = demo_account("backup", 60002, ORG_SUPER);
	a2.disabled = 1;
	struct apikey k;
	memset(&k, 0, sizeof(k));
	memcpy(k.key_id, "AbCdEfGh1234", SVCA_KEYID_LEN + 1);
	k.uid = 60001;
	snprintf(k.label, sizeof(k.label), "gitlab runner");
	k.status = KEY_ACTIVE;
	memset(k.hash, 0xa5, sizeof(k.hash));
	k.created_at = 1790000000000ull;
	snprintf(k.created_by, sizeof(k.created_by), "root");
	k.expires_at = 1797776000000ull;
	k.last_used_at = 1790000500000ull;
	k.last_used_uid = 0;
	k.last_used_pid = 4242;
	snprintf(k.last_used_service, sizeof(k.last_used_service), "sshd");
	struct apikey k2 = k;
	memcpy(k2.key_id, "ZyXwVu987654", SVCA_KEYID_LEN + 1);
	k2.status = KEY_REVOKED;
	k2.expires_at = 0;
	k2.changed_at = 1790000600000ull;
	struct team t = { .name = "infra", .created_at = 1790000000000ull, .created_by = "root" };
	struct workspace w = { .name = "build-farm",
			       .team = "infra",
			       .created_at = 1790000000000ull,
			       .created_by = "root" };
	struct grant g1 = { .uid = 60001,
			    .kind = SCOPE_WORKSPACE,
			    .scope = "build-farm",
			    .role = ROLE_EDITOR,
			    .created_at = 1790000000000ull,
			    .created_by = "root" };
	struct grant g2 = { .uid = 60002,
			    .kind = SCOPE_TEAM,
			    .scope = "infra",
			    .role = ROLE_ADMIN,
			    .created_at = 1790000000000ull,
			    .created_by = "alice" };

	store_begin(s);
	if (account_put(s, &a1) < 0 || account_put(s, &a2) < 0 || key_put(s, &k) < 0 ||
	    key_put(s, &k2) < 0 || team_put(s, &t) < 0 || workspace_put(s, &w) < 0 ||
	    grant_put(s, &g1) < 0 || grant_put(s, &g2) < 0 || store_commit(s) < 0 ||
	    store_flush(s) < 0)
		die("writing the records");
	struct dump_ctx d = { 0 };
	if (store_iterate(s, DB_STATE, "", dump_rec, &d) != 0)
		die("store_iterate");
	store_close(s);
	if (d.n < 8)
		die("only %d records dumped", d.n);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		die("cannot remove %s", dir);
}

/* ---- nss_snapshot: the daemon's snapshot writer ------------------------------- */

static void seeds_nss(void)
{
	const char *T = "nss_snapshot";
	struct nss_params p = { .uid_min = 60000,
				.uid_max = 60999,
				.sudo_gid = nss_sudo_gid(60000, 60999),
				.home_base = "/var/lib/svcacct/home",
				.login_shell = "/bin/bash",
				.nologin_shell = "/usr/sbin/nologin",
				.sudo_group = "svcacct-sudo" };
	struct nss_entry e[] = {
		{ "ci-deploy", "deploys the web tier", 60001, SVCA_SNAP_LOGIN | SVCA_SNAP_SUDO },
		{ "backup", "nightly: backups\n(tape)", 60002, SVCA_SNAP_LOGIN },
		{ "_monitor", "", 60003, 0 },
		{ "old-bot", "disabled", 60010, SVCA_SNAP_DISABLED },
		{ "zz-sudo", "x", 60500, SVCA_SNAP_SUDO },
	};
	uint8_t *img;
	size_t len;
	/* serial is the write time (informational): fixed, so seeds do not churn */
#define FIX_SERIAL(img) \
	(((struct svca_snap_header *)(void *)(img))->serial = 1790000000000000000ull)
	if (nss_snap_build(&p, e, sizeof(e) / sizeof(e[0]), NULL, NULL, &img, &len) < 0)
		die("nss_snap_build: %s", strerror(errno));
	FIX_SERIAL(img);
	put_file(T, "snapshot_5", img, len);
	free(img);
	if (nss_snap_build(&p, e, 0, NULL, NULL, &img, &len) < 0)
		die("nss_snap_build: %s", strerror(errno));
	FIX_SERIAL(img);
	put_file(T, "snapshot_empty", img, len);
	free(img);
	struct nss_params q = p;
	q.home_base = "/";
	q.uid_min = 1000;
	q.uid_max = 1002;
	q.sudo_gid = nss_sudo_gid(1000, 1002);
	struct nss_entry one[] = { { "a", "A", 1000, SVCA_SNAP_SUDO | SVCA_SNAP_LOGIN } };
	if (nss_snap_build(&q, one, 1, NULL, NULL, &img, &len) < 0)
		die("nss_snap_build: %s", strerror(errno));
	FIX_SERIAL(img);
	put_file(T, "snapshot_root_home", img, len);
	free(img);
	put_str(T, "range_link", SVCA_SNAP_RANGE_PREFIX "60000:60999:60999");
}

/* ---- http_form ------------------------------------------------------------------ */

static void seeds_http(const char *token)
{
	const char *T = "http_form";
	char b[4096];
	snprintf(b, sizeof(b), "token=%s", token);
	put_str(T, "token", b);
	snprintf(b, sizeof(b), "token_type_hint=access_token&token=%s", token);
	put_str(T, "hint_then_token", b);
	put_str(T, "escapes", "token=ab%2Ecd+ef%7e&x=%zz%4");
	put_str(T, "no_token", "access_token=abc&tok=1&token=");
}

/* ---- proto_json ------------------------------------------------------------------ */

static void seeds_proto_json(const char *key)
{
	const char *T = "proto_json";
	char b[512];
	const char *ra =
		"{\"name\": \"ci-deploy\", \"org_role\": \"admin\", \"description\": \"x\"}";
	put_mode(T, "req_account", 0, ra, strlen(ra));
	const char *bl =
		"{\"team\": \"ops\", \"force\": true, \"capability\": [\"login\", \"sudo\"]}";
	put_mode(T, "req_bool_list", 0, bl, strlen(bl));
	snprintf(b, sizeof(b), "{\"key\": \"%s\", \"name\": 1}", key);
	put_mode(T, "req_bad_type", 0, b, strlen(b));
	const char *ri = "{\"status\":0,\"fields\":{\"name\":\"bot\",\"uid\":60000},"
			 "\"items\":[{\"key_id\":\"k1\",\"source\":[\"a\",\"b\"]}]}";
	put_mode(T, "reply_items", 1, ri, strlen(ri));
	const char *re = "{\"status\":3,\"message\":\"no\",\"fields\":{\"message\":"
			 "\"permission denied\"},\"items\":[]}";
	put_mode(T, "reply_error", 1, re, strlen(re));
	struct svca_buf f;
	svca_buf_init(&f, 0);
	svca_frame_begin(&f, SVCA_OK);
	svca_put_str(&f, F_NAME, "bot");
	svca_put_mark(&f, F_ITEM);
	svca_put_str(&f, F_KEY_ID, "k1");
	svca_put_u64(&f, F_EXPIRES_AT, 0);
	svca_put_str(&f, F_NAME, "again");
	if (svca_frame_end(&f) < 0)
		die("frame");
	put_mode(T, "frame_item", 2, f.data + SVCA_HDR_LEN, f.len - SVCA_HDR_LEN);
	svca_buf_free(&f);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		die("usage: seedgen CORPUS_DIR");
	root = argv[1];
	if (mkdir(root, 0755) < 0 && errno != EEXIST)
		die("mkdir %s: %s", root, strerror(errno));
	struct fz_key k;
	if (fz_key_init(&k) != 0)
		die("key");
	char key[SVCA_KEY_LEN + 1], token[JWT_MAX_LEN + 1];
	make_key(1, key);
	make_token(&k, CLAIMS, k.kid, token, sizeof(token));

	seeds_proto_server(key, token);
	seeds_proto_client(token);
	seeds_config();
	seeds_keyfmt(key, token);
	seeds_jwt(&k, token);
	seeds_record();
	seeds_nss();
	seeds_http(token);
	seeds_proto_json(key);
	return 0;
}
