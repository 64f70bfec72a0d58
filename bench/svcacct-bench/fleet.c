/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * svcacct-bench "fleet" (issue 17 item 7): one PostgreSQL, two hubs on
 * https_listen and N simulated agents on this machine.
 *
 * Setup: a standalone daemon (f-seed) gets the team, the host workspace
 * and --fleet-big accounts granted in workspace fleet-big; svcacctd
 * --import moves it into the hubs' empty database (the bulk path), then
 * hubs f-h1 and f-h2 start with a CA and certificate made by openssl.
 *
 * A simulated agent is the agent protocol without the local store: enrolled
 * for real (HOST_TOKEN_CREATE on f-h1, POST /v1/agent/enroll on its hub,
 * the agents alternating between the hubs), pinning the snapshot key, then
 * holding GET /v1/agent/changes?since=SEQ and, when the seq moves, fetching
 * what a real agent fetches (fetch_begin/fetch_done: GET
 * /v1/agent/delta?since=SEQ, the full GET /v1/agent/snapshot when it holds
 * nothing or the hub answers 409) and verifying it (Ed25519 over the
 * payload, libsodium; host_id, seq, a delta's base_seq).  All agents run in
 * one thread on a libcurl multi handle, one connection each.
 *
 * Measured for each agent count (--fleet N,N...):
 *   propagation  KEY_REVOKE sent to f-h1 -> each agent holds a verified
 *                snapshot with a newer seq; p50/p99/max over agents x
 *                revokes
 *   hub CPU/RSS  both hubs' utime+stime (/proc/PID/stat) and VmRSS: RSS
 *                with the polls held minus before they were, per agent;
 *                CPU per agent per second with the polls held (idle) and
 *                per agent per revoke (the bursts)
 * and once: the snapshot of a host of fleet-big (size, GET + verify +
 * parse p50/max), and PAM logins (pam_run, the same path as "pam") on a
 * real agent svcacctd enrolled in the host workspace with the hubs up and
 * with both hubs stopped, beside the standalone d-main.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

#define BIG_WS "fleet-big"
#define POLL_TIMEOUT_MS 40000L
#define FETCH_TIMEOUT_MS 60000L
#define PROPAGATE_WAIT_NS (90ull * 1000000000u)
#define CRED_MAX 128
#define BODY_MAX (64u << 20) /* SNAPSHOT_MAX_BYTES, base64 and all */

struct agent {
	unsigned idx;
	char host_id[40];
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	int hub;   /* 0 or 1 */
	int state; /* ST_POLL, ST_FETCH */
	int delta; /* the fetch in flight is a delta (since seq) */
	int full;  /* the hub answered 409: the next fetch is a full snapshot */
	CURL *e;
	struct curl_slist *hdr;
	char *buf;
	size_t len, cap;
	uint64_t seq;                 /* of the verified snapshot it holds */
	_Atomic uint64_t applied_seq; /* the same, for the main thread */
	_Atomic uint64_t applied_ns;  /* when it verified that snapshot */
	_Atomic uint64_t polls;       /* polls sent */
	_Atomic unsigned long errors;
	int fails;         /* in a row */
	uint64_t retry_at; /* a failed request waits (not in the multi) till then */
};

enum { ST_WARM, ST_POLL, ST_FETCH };

static char pki[PATH_MAX + 16], ca_file[PATH_MAX + 32];
static char hub_url[2][64];
static struct daemon fh[2];
static CURLM *multi;
static struct agent *agents;
static unsigned nagents;
static atomic_int loop_stop;
static _Atomic uint64_t last_apply_ns; /* any agent's last verified snapshot */
static atomic_uint warmed;             /* agents whose connection authenticated */
static atomic_ulong fetched[3];        /* deltas, full snapshots, 409 answers */
static char first_error[200];          /* of this agent count (loop thread) */
static pthread_t loop_thread;

/* ---- set-up ------------------------------------------------------------------ */

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		die("a free port: %s", strerror(errno));
	close(fd);
	return ntohs(sa.sin_port);
}

static void openssl_run(const char *log, const char *a1, ...)
{
	char *argv[40];
	size_t n = 0;
	va_list ap;
	argv[n++] = "/usr/bin/openssl";
	argv[n++] = (char *)(uintptr_t)a1;
	va_start(ap, a1);
	while (n < 39 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	if (run_prog(argv, 0, log) != 0)
		die("openssl %s failed (see %s)", a1, log);
}

/* A CA and the hubs' certificate for 127.0.0.1 (as tests/lib_pg.sh). */
static void make_pki(void)
{
	char log[PATH_MAX + 32], key[PATH_MAX + 32], crt[PATH_MAX + 32], csr[PATH_MAX + 32],
		ext[PATH_MAX + 32], cakey[PATH_MAX + 32];
	sfmt(pki, sizeof(pki), "%s/fleet-pki", work);
	if (mkdir(pki, 0755) < 0)
		die("mkdir %s: %s", pki, strerror(errno));
	sfmt(log, sizeof(log), "%s/openssl.log", pki);
	sfmt(ca_file, sizeof(ca_file), "%s/ca.crt", pki);
	sfmt(cakey, sizeof(cakey), "%s/ca.key", pki);
	sfmt(key, sizeof(key), "%s/hub.key", pki);
	sfmt(crt, sizeof(crt), "%s/hub.crt", pki);
	sfmt(csr, sizeof(csr), "%s/hub.csr", pki);
	sfmt(ext, sizeof(ext), "%s/hub.ext", pki);
	openssl_run(log, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
		    "-nodes", "-days", "2", "-subj", "/CN=svcacct-bench CA", "-keyout", cakey,
		    "-out", ca_file, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
		    "keyUsage=critical,keyCertSign,cRLSign", (char *)NULL);
	openssl_run(log, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		    "-subj", "/CN=hub", "-keyout", key, "-out", csr, (char *)NULL);
	write_text(ext, 0644,
		   "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
	openssl_run(log, "x509", "-req", "-in", csr, "-CA", ca_file, "-CAkey", cakey,
		    "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", crt, (char *)NULL);
	chmod(key, 0600);
}

/* Account name + grant on ws, from n threads. */
struct grant_job {
	const char *prefix, *ws;
	unsigned long from, to;
	unsigned long errors;
	char msg[300];
};

static void *grant_worker(void *arg)
{
	struct grant_job *j = arg;
	char name[40];
	for (unsigned long i = j->from; i < j->to; i++) {
		sfmt(name, sizeof(name), "%s%05lu", j->prefix, i);
		if (account_create(name, j->msg, sizeof(j->msg)) < 0 ||
		    simple(SVCA_CMD_GRANT_ADD, j->msg, sizeof(j->msg), F_NAME, name, F_WORKSPACE,
			   j->ws, F_ROLE, "viewer", 0) < 0)
			j->errors++;
	}
	return NULL;
}

static void granted_accounts(const char *prefix, const char *ws, unsigned long n)
{
	enum { T = 16 };
	struct grant_job jobs[T];
	pthread_t th[T];
	for (unsigned long t = 0; t < T; t++) {
		jobs[t] = (struct grant_job){
			.prefix = prefix, .ws = ws, .from = n * t / T, .to = n * (t + 1) / T
		};
		if (pthread_create(&th[t], &small_stack, grant_worker, &jobs[t]) != 0)
			die("pthread_create");
	}
	for (int t = 0; t < T; t++) {
		pthread_join(th[t], NULL);
		if (jobs[t].errors)
			die("creating %s accounts: %s", prefix, jobs[t].msg);
	}
}

/* The seed: f-seed with the org and the big workspace, imported into the
 * hubs' database (the bulk path), then the hubs. */
static void seed_and_hubs(void)
{
	static struct daemon seed;
	char msg[300], seed_state[PATH_MAX + 16], extra[2][PATH_MAX * 2 + 256];
	daemon_init(&seed, "f-seed");
	register_daemon(&seed);
	daemon_start(&seed);
	setup_org();
	if (simple(SVCA_CMD_WORKSPACE_CREATE, msg, sizeof(msg), F_WORKSPACE, BIG_WS, F_TEAM,
		   BENCH_TEAM, 0) < 0)
		die("workspace %s: %s", BIG_WS, msg);
	uint64_t t0 = now_ns();
	granted_accounts("fb", BIG_WS, Z.fleet_big);
	note("fleet: %lu accounts granted in %s on the seed daemon in %.1f s", Z.fleet_big, BIG_WS,
	     (double)(now_ns() - t0) / 1e9);
	if (daemon_stop(&seed) < 0)
		die("the seed daemon did not stop cleanly");
	sfmt(seed_state, sizeof(seed_state), "%s/state", seed.dir);
	make_pki();
	for (int i = 0; i < 2; i++) {
		int port = free_port();
		sfmt(hub_url[i], sizeof(hub_url[i]), "https://127.0.0.1:%d", port);
		sfmt(extra[i], sizeof(extra[i]),
		     "https_listen = \"127.0.0.1:%d\";\ntls_cert = \"%s/hub.crt\";\n"
		     "tls_key = \"%s/hub.key\";\nhost_id = \"f-h%d\";\n",
		     port, pki, pki, i + 1);
	}
	t0 = now_ns();
	hubs_up("-fleet", &fh[0], &fh[1], "f-h1", "f-h2", extra[0], extra[1], seed_state);
	note("fleet: PostgreSQL, svcacctd --import of the seed and two hubs in %.1f s",
	     (double)(now_ns() - t0) / 1e9);
}

/* ---- HTTPS ------------------------------------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct agent *a = arg;
	size_t add = size * n;
	if (a->len + add + 1 > BODY_MAX)
		return 0;
	if (a->len + add + 1 > a->cap) {
		size_t cap = a->cap ? a->cap : 4096;
		while (cap < a->len + add + 1)
			cap *= 2;
		char *nb = realloc(a->buf, cap);
		if (!nb)
			return 0;
		a->buf = nb;
		a->cap = cap;
	}
	memcpy(a->buf + a->len, p, add);
	a->len += add;
	a->buf[a->len] = '\0';
	return add;
}

static void easy_setup(struct agent *a)
{
	if (!a->e && !(a->e = curl_easy_init()))
		die("curl_easy_init");
	curl_easy_setopt(a->e, CURLOPT_CAINFO, ca_file);
	curl_easy_setopt(a->e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(a->e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(a->e, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(a->e, CURLOPT_CONNECTTIMEOUT_MS, 20000L);
	curl_easy_setopt(a->e, CURLOPT_PRIVATE, a);
}

/* GET path on the agent's hub with its credential (set up, not started). */
static void get_setup(struct agent *a, const char *path, long timeout_ms)
{
	char url[200];
	sfmt(url, sizeof(url), "%s%s", hub_url[a->hub], path);
	a->len = 0;
	curl_easy_setopt(a->e, CURLOPT_URL, url);
	curl_easy_setopt(a->e, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(a->e, CURLOPT_HTTPHEADER, a->hdr);
	curl_easy_setopt(a->e, CURLOPT_TIMEOUT_MS, timeout_ms);
}

static long http_status(CURL *e)
{
	long code = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

/* ---- what an agent fetches and verifies: one place ----------------------------- */

/* The request for the newest data, as a real agent's (agentsync.c): a
 * delta since the seq it holds; the full snapshot when it holds none or
 * the hub said 409 (a delta cannot say it). */
static void fetch_begin(struct agent *a)
{
	char path[80];
	a->state = ST_FETCH;
	a->delta = a->seq > 0 && !a->full;
	if (a->delta)
		sfmt(path, sizeof(path), "/v1/agent/delta?since=%llu", (unsigned long long)a->seq);
	else
		sfmt(path, sizeof(path), "/v1/agent/snapshot");
	get_setup(a, path, FETCH_TIMEOUT_MS);
}

/* The payload's fields as an agent checks them (snapverify.c): format 1,
 * its own host_id, seq; a delta: kind "delta" and base_seq == base; a
 * snapshot: no kind.  1 good. */
static int payload_ok(json_t *pl, const char *host_id, int delta, uint64_t base)
{
	const char *hid = json_string_value(json_object_get(pl, "host_id"));
	const char *kind = json_string_value(json_object_get(pl, "kind"));
	json_t *sq = json_object_get(pl, "seq"), *bs = json_object_get(pl, "base_seq");
	if (json_integer_value(json_object_get(pl, "format")) != 1 || !hid ||
	    strcmp(hid, host_id) || !json_is_integer(sq) || json_integer_value(sq) < 0)
		return 0;
	if (!delta)
		return json_object_get(pl, "kind") == NULL;
	return kind && !strcmp(kind, "delta") && json_is_integer(bs) &&
	       (uint64_t)json_integer_value(bs) == base;
}

/* Verifies an envelope as an agent does: strict base64 payload and
 * base64url signature, Ed25519 with the pinned key over the payload bytes,
 * then the payload parsed (payload_ok).  0 with *seq. */
static int snap_verify(const char *body, size_t len, const unsigned char *pk, const char *host_id,
		       int delta, uint64_t base, uint64_t *seq)
{
	json_t *env = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	const char *p64 = json_string_value(json_object_get(env, "payload"));
	const char *s64 = json_string_value(json_object_get(env, "sig"));
	int rc = -1;
	size_t plen = 0, slen = 0;
	unsigned char sig[crypto_sign_BYTES];
	unsigned char *payload = NULL;
	if (!p64 || !s64)
		goto out;
	size_t cap = strlen(p64) / 4 * 3 + 3;
	payload = malloc(cap);
	if (!payload ||
	    sodium_base642bin(payload, cap, p64, strlen(p64), NULL, &plen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) < 0 ||
	    sodium_base642bin(sig, sizeof(sig), s64, strlen(s64), NULL, &slen, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) < 0 ||
	    slen != sizeof(sig) || crypto_sign_verify_detached(sig, payload, plen, pk) != 0)
		goto out;
	json_t *pl = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES, NULL);
	if (payload_ok(pl, host_id, delta, base)) {
		*seq = (uint64_t)json_integer_value(json_object_get(pl, "seq"));
		rc = 0;
	}
	json_decref(pl);
out:
	free(payload);
	json_decref(env);
	return rc;
}

/* 0 done, 1 fetch again (409: the full snapshot), -1 failed. */
static int fetch_done(struct agent *a)
{
	uint64_t seq;
	if (a->delta && http_status(a->e) == 409) {
		a->full = 1;
		atomic_fetch_add(&fetched[2], 1);
		return 1;
	}
	if (http_status(a->e) != 200 ||
	    snap_verify(a->buf, a->len, a->pk, a->host_id, a->delta, a->seq, &seq) < 0 ||
	    seq < a->seq || (a->delta && seq == a->seq))
		return -1;
	a->full = 0;
	atomic_fetch_add(&fetched[a->delta ? 0 : 1], 1);
	if (seq > a->seq) {
		a->seq = seq;
		uint64_t t = now_ns();
		atomic_store(&a->applied_ns, t);
		atomic_store(&a->applied_seq, seq);
		atomic_store(&last_apply_ns, t);
	}
	return 0;
}

static void poll_begin(struct agent *a)
{
	char path[80];
	a->state = ST_POLL;
	sfmt(path, sizeof(path), "/v1/agent/changes?since=%llu", (unsigned long long)a->seq);
	get_setup(a, path, POLL_TIMEOUT_MS);
	atomic_fetch_add(&a->polls, 1);
}

/* GET /v1/agent/whoami: the connection authenticates (and leaves the
 * hub's caps for anonymous callers) before the agent holds its poll. */
static void warm_begin(struct agent *a)
{
	a->state = ST_WARM;
	get_setup(a, "/v1/agent/whoami", FETCH_TIMEOUT_MS);
}

/* A poll's answer: {"seq": N}; -1, or 1 when N is newer. */
static int poll_done(struct agent *a)
{
	if (http_status(a->e) != 200)
		return -1;
	json_t *o = json_loadb(a->buf, a->len, 0, NULL);
	json_t *sq = json_object_get(o, "seq");
	int r = json_is_integer(sq) ? json_integer_value(sq) > (json_int_t)a->seq : -1;
	json_decref(o);
	return r;
}

/* ---- the agents' loop (one thread) ---------------------------------------------- */

static void on_done(struct agent *a, CURLcode res)
{
	int r = -1;
	if (res == CURLE_OK && a->state == ST_WARM)
		r = http_status(a->e) == 200 ? 0 : -1;
	else if (res == CURLE_OK)
		r = a->state == ST_POLL ? poll_done(a) : fetch_done(a);
	curl_multi_remove_handle(multi, a->e);
	if (r < 0) {
		/* As an agent does: the other hub, after a pause growing with
		 * the failures in a row (200 ms .. 5 s); never given up. */
		a->fails++;
		a->hub ^= 1;
		a->retry_at = now_ns() + (uint64_t)(a->fails < 25 ? a->fails : 25) * 200000000u;
		if (!first_error[0])
			sfmt(first_error, sizeof(first_error), "%s: %s: %s, HTTP %ld %.80s",
			     a->host_id,
			     a->state == ST_POLL   ? "changes"
			     : a->state == ST_WARM ? "whoami"
						   : "snapshot",
			     curl_easy_strerror(res), http_status(a->e), a->buf ? a->buf : "");
		atomic_fetch_add(&a->errors, 1);
	} else {
		a->fails = 0;
	}
	if (a->state == ST_WARM && r == 0)
		atomic_fetch_add(&warmed, 1);
	if (a->state == ST_WARM && r < 0)
		warm_begin(a);
	else if (r == 1 || (r < 0 && a->state == ST_FETCH))
		fetch_begin(a);
	else
		poll_begin(a);
	if (r >= 0)
		curl_multi_add_handle(multi, a->e);
}

/* Failed requests whose pause is over go again. */
static void retry_due(void)
{
	uint64_t now = now_ns();
	for (unsigned i = 0; i < nagents; i++) {
		struct agent *a = &agents[i];
		if (a->retry_at && a->retry_at <= now) {
			a->retry_at = 0;
			curl_multi_add_handle(multi, a->e);
		}
	}
}

static void *loop_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&loop_stop)) {
		int running = 0, q = 0;
		curl_multi_perform(multi, &running);
		CURLMsg *m;
		while ((m = curl_multi_info_read(multi, &q)))
			if (m->msg == CURLMSG_DONE) {
				struct agent *a = NULL;
				curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&a);
				on_done(a, m->data.result);
			}
		retry_due();
		curl_multi_poll(multi, NULL, 0, 50, NULL);
	}
	return NULL;
}

/* ---- enrollment -------------------------------------------------------------------- */

static int host_token(const char *ws, char *tok, size_t len, char *msg, size_t msglen)
{
	struct svca_buf b;
	struct svca_reply rep;
	svca_buf_init(&b, 0);
	svca_frame_begin(&b, SVCA_CMD_HOST_TOKEN_CREATE);
	svca_put_str(&b, F_WORKSPACES, ws);
	int st = call(&b, &rep, msg, msglen);
	int r = st == SVCA_OK ? reply_text(&rep, F_TOKEN, tok, len) : -1;
	svca_reply_free(&rep);
	svca_buf_free(&b);
	return r;
}

/* Enrolls a on its hub with setup handle e (its connection reused), then
 * fetches and verifies its first snapshot. */
static void enroll(struct agent *a, CURL *e, const char *ws)
{
	char tok[200], msg[300], body[400];
	cur = &fh[0];
	if (host_token(ws, tok, sizeof(tok), msg, sizeof(msg)) < 0)
		die("fleet: host token create: %s", msg);
	sfmt(body, sizeof(body), "{\"token\":\"%s\",\"host_id\":\"%s\"}", tok, a->host_id);
	sodium_memzero(tok, sizeof(tok));
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char url[200];
	sfmt(url, sizeof(url), "%s/v1/agent/enroll", hub_url[a->hub]);
	a->e = e;
	easy_setup(a);
	a->len = 0;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
	CURLcode res = curl_easy_perform(e);
	sodium_memzero(body, sizeof(body));
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(h);
	if (res != CURLE_OK || http_status(e) != 200)
		die("fleet: enrolling %s on %s: %s (HTTP %ld) %.200s", a->host_id, hub_url[a->hub],
		    curl_easy_strerror(res), http_status(e), a->buf ? a->buf : "");
	json_t *o = json_loadb(a->buf, a->len, 0, NULL);
	const char *cred = json_string_value(json_object_get(o, "credential"));
	const char *key = json_string_value(json_object_get(o, "snapshot_key"));
	size_t pklen = 0;
	if (!cred || strlen(cred) > CRED_MAX || !key ||
	    sodium_base642bin(a->pk, sizeof(a->pk), key, strlen(key), NULL, &pklen, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) < 0 ||
	    pklen != sizeof(a->pk))
		die("fleet: the enrollment of %s answered no credential or snapshot_key",
		    a->host_id);
	char hdr[CRED_MAX + 32];
	sfmt(hdr, sizeof(hdr), "Authorization: Bearer %s", cred);
	a->hdr = curl_slist_append(NULL, hdr);
	sodium_memzero(hdr, sizeof(hdr));
	sodium_memzero(a->buf, a->len);
	sodium_memzero((char *)(uintptr_t)cred, strlen(cred)); /* jansson does not wipe */
	json_decref(o);
	fetch_begin(a);
	res = curl_easy_perform(e);
	if (res != CURLE_OK || fetch_done(a) < 0)
		die("fleet: the first snapshot of %s: %s (HTTP %ld)", a->host_id,
		    curl_easy_strerror(res), http_status(e));
	a->e = NULL;
}

/* ---- hub figures ---------------------------------------------------------------- */

static uint64_t hubs_ticks(void)
{
	return proc_ticks(fh[0].pid, 0) + proc_ticks(fh[1].pid, 0);
}

static double hubs_rss_kib(void)
{
	return (daemon_rss(&fh[0]) + daemon_rss(&fh[1])) * 1024.0;
}

static double ticks_s(uint64_t t)
{
	return (double)t / (double)sysconf(_SC_CLK_TCK);
}

/* ---- one agent count ---------------------------------------------------------------- */

static void agents_start(unsigned n, unsigned base)
{
	CURL *setup[2] = { curl_easy_init(), curl_easy_init() };
	agents = xcalloc(n, sizeof(*agents));
	nagents = n;
	uint64_t t0 = now_ns();
	for (unsigned i = 0; i < n; i++) {
		struct agent *a = &agents[i];
		a->idx = i;
		a->hub = (int)(i % 2);
		sfmt(a->host_id, sizeof(a->host_id), "sim%05u", base + i);
		enroll(a, setup[a->hub], HOST_WS);
	}
	curl_easy_cleanup(setup[0]);
	curl_easy_cleanup(setup[1]);
	note("fleet: %u agents enrolled (token + enroll + first snapshot) in %.1f s", n,
	     (double)(now_ns() - t0) / 1e9);
	multi = curl_multi_init();
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)n + 16);
	atomic_store(&loop_stop, 0);
	if (pthread_create(&loop_thread, NULL, loop_main, NULL) != 0)
		die("pthread_create");
	/* Connections open 32 at a time, each authenticated (whoami) before
	 * the next batch: a connection counts as anonymous on the hub (64 per
	 * address) until a request on it authenticates, and all of loopback
	 * is one address. */
	atomic_store(&warmed, 0);
	for (unsigned i = 0; i < n; i++) {
		struct agent *a = &agents[i];
		easy_setup(a);
		warm_begin(a);
		curl_multi_add_handle(multi, a->e);
		curl_multi_wakeup(multi);
		if (i % 32 == 31 || i == n - 1) {
			uint64_t w0 = now_ns();
			while (atomic_load(&warmed) < i + 1 && now_ns() - w0 < 60ull * 1000000000u)
				usleep(2000);
		}
	}
}

/* The Authorization header holds the credential: wiped before it is freed. */
static void hdr_free(struct curl_slist *h)
{
	for (struct curl_slist *i = h; i; i = i->next)
		sodium_memzero(i->data, strlen(i->data));
	curl_slist_free_all(h);
}

static void agents_stop(void)
{
	atomic_store(&loop_stop, 1);
	curl_multi_wakeup(multi);
	pthread_join(loop_thread, NULL);
	for (unsigned i = 0; i < nagents; i++) {
		struct agent *a = &agents[i];
		curl_multi_remove_handle(multi, a->e);
		curl_easy_cleanup(a->e);
		hdr_free(a->hdr);
		free(a->buf);
	}
	curl_multi_cleanup(multi);
	free(agents);
	agents = NULL;
	nagents = 0;
}

static unsigned long agents_errors(void)
{
	unsigned long e = 0;
	for (unsigned i = 0; i < nagents; i++)
		e += atomic_load(&agents[i].errors);
	return e;
}

/* One revoke on f-h1; every agent's time to a verified newer snapshot
 * into l.  Errors: agents that did not get there. */
static unsigned long revoke_once(const char *name, const char *key, struct lat *l)
{
	char msg[300], kid[SVCA_KEY_LEN];
	uint64_t *before = xcalloc(nagents, sizeof(*before));
	for (unsigned i = 0; i < nagents; i++)
		before[i] = atomic_load(&agents[i].applied_seq);
	sfmt(kid, sizeof(kid), "%.12s", key + 5);
	cur = &fh[0];
	uint64_t t0 = now_ns();
	if (simple(SVCA_CMD_KEY_REVOKE, msg, sizeof(msg), F_NAME, name, F_KEY_ID, kid, 0) < 0)
		die("fleet: KEY_REVOKE on f-h1: %s", msg);
	unsigned long missing = 0;
	for (unsigned i = 0; i < nagents; i++) {
		struct agent *a = &agents[i];
		while (atomic_load(&a->applied_seq) <= before[i] &&
		       now_ns() - t0 < PROPAGATE_WAIT_NS)
			usleep(1000);
		if (atomic_load(&a->applied_seq) <= before[i])
			missing++;
		else
			lat_add(l, atomic_load(&a->applied_ns) - t0);
	}
	free(before);
	return missing;
}

static void fleet_at(struct run *r, unsigned n, unsigned base, char (*keys)[KEYBUF],
		     unsigned *next_key)
{
	char label[64];
	struct fleet_fig *f = &r->fleet[r->nfleet++];
	f->n = n;
	note("-- fleet: %u simulated agents on two hubs", n);
	double rss0 = hubs_rss_kib();
	agents_start(n, base);
	/* Every agent has sent its poll and the hub has held it. */
	uint64_t t_wait = now_ns();
	for (unsigned i = 0; i < n; i++)
		while (!atomic_load(&agents[i].polls) && now_ns() - t_wait < 60ull * 1000000000u)
			usleep(1000);
	/* The enrollments moved the seq: the agents catch up first; idle is
	 * when none has fetched anything for 2 s. */
	while (now_ns() - atomic_load(&last_apply_ns) < 2000000000ull &&
	       now_ns() - t_wait < 300ull * 1000000000u)
		usleep(100000);
	note("fleet: %u agents caught up after %.1f s", n, (double)(now_ns() - t_wait) / 1e9);
	uint64_t k0 = hubs_ticks(), w0 = now_ns();
	usleep((useconds_t)(Z.fleet_idle * 1e6));
	uint64_t k1 = hubs_ticks(), w1 = now_ns();
	double rss1 = hubs_rss_kib();
	f->rss_kib = (rss1 - rss0) / n;
	f->cpu_idle_us = ticks_s(k1 - k0) * 1e6 / ((double)(w1 - w0) / 1e9) / n;
	struct lat l = { 0 };
	unsigned long f0[3] = { atomic_load(&fetched[0]), atomic_load(&fetched[1]),
				atomic_load(&fetched[2]) };
	uint64_t kb = hubs_ticks();
	for (unsigned i = 0; i < Z.fleet_revokes; i++) {
		char name[40];
		sfmt(name, sizeof(name), "fr%05u", *next_key);
		f->errors += revoke_once(name, keys[*next_key], &l);
		++*next_key;
		usleep(300000); /* the next revoke on a quiet fleet */
	}
	f->cpu_burst_ms = ticks_s(hubs_ticks() - kb) * 1e3 / Z.fleet_revokes / n;
	note("fleet: %u agents, %u revokes: %lu deltas, %lu full snapshots, %lu answers 409", n,
	     Z.fleet_revokes, atomic_load(&fetched[0]) - f0[0], atomic_load(&fetched[1]) - f0[1],
	     atomic_load(&fetched[2]) - f0[2]);
	f->errors += agents_errors();
	lat_sort(&l);
	f->props = l.n;
	f->p50 = pct_us(&l, 0.50) / 1e3;
	f->p99 = pct_us(&l, 0.99) / 1e3;
	f->max = l.n ? (double)l.v[l.n - 1] / 1e6 : NAN;
	sfmt(label, sizeof(label), "fleet: revoke -> %u agents verified", n);
	struct row *row = add_row(label, "-", (int)n, l.n, NAN, &l, rss1 / 1024.0);
	row->errors = f->errors;
	emit(row);
	note("fleet N=%u: propagation p50 %.1f ms, p99 %.1f ms, max %.1f ms over %lu; hubs: RSS "
	     "%+.1f KiB/agent (polls held), CPU %.1f us/s per agent idle, %.3f ms per agent per "
	     "revoke; errors %lu",
	     n, f->p50, f->p99, f->max, f->props, f->rss_kib, f->cpu_idle_us, f->cpu_burst_ms,
	     f->errors);
	lat_free(&l);
	agents_stop();
	if (first_error[0])
		note("fleet N=%u: first agent error: %s", n, first_error);
	first_error[0] = '\0';
	sleep(1); /* the hubs close the connections (idle timeout) */
}

/* ---- the big snapshot ---------------------------------------------------------------- */

static void big_snapshot(struct run *r)
{
	struct agent a = { .hub = 1 };
	CURL *e = curl_easy_init();
	sfmt(a.host_id, sizeof(a.host_id), "big-host");
	enroll(&a, e, BIG_WS);
	a.e = e;
	struct lat l = { 0 };
	double bytes = 0, verify_ms = 0;
	unsigned reps = smoke ? 2 : 5;
	for (unsigned i = 0; i < reps; i++) {
		a.seq = 0;
		uint64_t t0 = now_ns();
		fetch_begin(&a);
		CURLcode res = curl_easy_perform(e);
		uint64_t t1 = now_ns();
		if (res != CURLE_OK || fetch_done(&a) < 0)
			die("fleet: the snapshot of %lu accounts: %s (HTTP %ld)", Z.fleet_big,
			    curl_easy_strerror(res), http_status(e));
		lat_add(&l, now_ns() - t0);
		verify_ms += (double)(now_ns() - t1) / 1e6 / reps;
		bytes = (double)a.len;
	}
	r->fleet_verify_ms = verify_ms;
	char label[64];
	sfmt(label, sizeof(label), "fleet: full sync (GET snapshot + verify)");
	char accts[16];
	sfmt(accts, sizeof(accts), "%lu", Z.fleet_big);
	struct row *row = add_row(label, accts, 1, l.n, NAN, &l, NAN);
	emit(row);
	lat_sort(&l);
	r->fleet_big = Z.fleet_big;
	r->fleet_snap_kib = bytes / 1024;
	r->fleet_sync_p50 = pct_us(&l, 0.5) / 1e3;
	r->fleet_sync_max = (double)l.v[l.n - 1] / 1e6;
	note("fleet: snapshot of %lu accounts: %.0f KiB; GET + verify + parse p50 %.1f ms, max "
	     "%.1f ms (verify + parse alone: %.1f ms)",
	     Z.fleet_big, r->fleet_snap_kib, r->fleet_sync_p50, r->fleet_sync_max, verify_ms);
	lat_free(&l);
	hdr_free(a.hdr);
	free(a.buf);
	curl_easy_cleanup(e);
}

/* ---- PAM on a real agent ------------------------------------------------------------- */

static void agent_wait_synced(struct daemon *ag)
{
	uint64_t t0 = now_ns();
	for (;;) {
		struct svca_buf b;
		struct svca_reply rep;
		char msg[300];
		uint64_t v = 0;
		cur = ag;
		svca_buf_init(&b, 0);
		svca_frame_begin(&b, SVCA_CMD_FLEET_STATUS);
		if (call(&b, &rep, msg, sizeof(msg)) == SVCA_OK) {
			struct svca_iter it;
			struct svca_field f;
			svca_iter_init(&it, rep.body, rep.len);
			while (svca_iter_next(&it, &f) == 1)
				if (f.tag == F_SNAPSHOT_SEQ)
					svca_field_u64(&f, &v);
		}
		svca_reply_free(&rep);
		svca_buf_free(&b);
		if (v > 0)
			return;
		if (now_ns() - t0 > 60ull * 1000000000u)
			die("fleet: the agent did not apply a snapshot within 60 s");
		usleep(50000);
	}
}

/* pam_run on d with rows prefixed.  When the run fails as a whole on an
 * agent (its warm-up checks every variant) it runs again without the key
 * variants, marked n/a. */
static void pam_variant(struct run *r, struct daemon *d, const char *dir, const char *prefix,
			const char *key, const char *tok, int agent, double *p50)
{
	char dir2[64];
	row_prefix = prefix;
	cur = d;
	pam_run(d, dir, key, tok, "-", p50);
	if (agent && isnan(p50[PV_TOKEN])) {
		sfmt(dir2, sizeof(dir2), "%s-nokey", dir);
		note("%sthe key login failed: again without the key variants", prefix);
		pam_run(d, dir2, NULL, tok, "-", p50);
		struct row *w = add_row("pam: API key n/a (the key login failed on the agent)", "-",
					1, 0, NAN, NULL, NAN);
		emit(w);
		r->fleet_key_na = 1;
	}
	row_prefix = "";
}

static void pam_on_agent(struct run *r, const char *key, const char *tok)
{
	static struct daemon ag;
	char extra[PATH_MAX + 512], msg[300], etok[200];
	sfmt(extra, sizeof(extra),
	     "hubs = [ \"%s\", \"%s\" ];\nhub_ca = \"%s\";\nhost_id = \"pam-agent\";\n", hub_url[0],
	     hub_url[1], ca_file);
	daemon_init_conf(&ag, "f-agent", extra);
	register_daemon(&ag);
	daemon_start(&ag);
	cur = &fh[0];
	if (host_token(HOST_WS, etok, sizeof(etok), msg, sizeof(msg)) < 0)
		die("fleet: host token for the agent: %s", msg);
	cur = &ag;
	struct svca_buf b;
	struct svca_reply rep;
	svca_buf_init(&b, 0);
	svca_frame_begin(&b, SVCA_CMD_HOST_ENROLL);
	svca_put_bytes(&b, F_TOKEN, etok, strlen(etok));
	sodium_memzero(etok, sizeof(etok));
	int st = call(&b, &rep, msg, sizeof(msg));
	svca_reply_free(&rep);
	svca_buf_free(&b);
	if (st != SVCA_OK)
		die("fleet: the agent's host enroll: %s", msg);
	agent_wait_synced(&ag);
	note("-- fleet: PAM on a real agent (hubs up), standalone d-main, agent (hubs down)");
	pam_variant(r, &r->main, "pam-fleet-sa", "fleet sa: ", r->pamkey, r->pamtok, 0,
		    r->fleet_pam[0]);
	pam_variant(r, &ag, "pam-fleet-up", "agent up: ", key, tok, 1, r->fleet_pam[1]);
	if (daemon_stop(&fh[1]) < 0 || daemon_stop(&fh[0]) < 0)
		r->hub_stop_bad = 1;
	pam_variant(r, &ag, "pam-fleet-down", "agent down: ", key, tok, 1, r->fleet_pam[2]);
	if (daemon_stop(&ag) < 0)
		r->hub_stop_bad = 1;
}

/* ---- the benchmark --------------------------------------------------------------------- */

static void raise_nofile(unsigned long need)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
		rl.rlim_cur = need;
		if (rl.rlim_max < need)
			rl.rlim_max = need;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			note("fleet: cannot raise the open-file limit to %lu: %s", need,
			     strerror(errno));
	}
}

void bench_fleet(struct run *r)
{
	char why[200], msg[300], pamkey[KEYBUF], pamtok[TOKBUF];
	unsigned ns[FLEET_MAX_N], nn = 0, total = 0;
	for (const char *p = Z.fleet; p && *p && nn < FLEET_MAX_N;) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);
		if (end == p || v < 1 || v > 4000)
			die("--fleet: agent counts 1 to 4000, comma-separated");
		ns[nn++] = (unsigned)v;
		total += (unsigned)v;
		p = *end == ',' ? end + 1 : end;
	}
	if (hubs_available(why, sizeof(why)) < 0) {
		note("fleet: skipped: %s", why);
		sfmt(r->fleet_skipped, sizeof(r->fleet_skipped), "%s", why);
		return;
	}
	for (int s = 0; s < 3; s++)
		for (int v = 0; v < PV_N; v++)
			r->fleet_pam[s][v] = NAN;
	r->fleet_snap_kib = r->fleet_sync_p50 = r->fleet_sync_max = NAN;
	raise_nofile(2ul * total + 256);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	note("-- fleet: seed %lu accounts, PostgreSQL, two hubs with https_listen", Z.fleet_big);
	seed_and_hubs();

	cur = &fh[0];
	unsigned nkeys = nn * Z.fleet_revokes;
	char(*keys)[KEYBUF] = make_keyed("fr", nkeys);
	for (unsigned i = 0; i < nkeys; i++) {
		char name[40];
		sfmt(name, sizeof(name), "fr%05u", i);
		if (simple(SVCA_CMD_GRANT_ADD, msg, sizeof(msg), F_NAME, name, F_WORKSPACE, HOST_WS,
			   F_ROLE, "viewer", 0) < 0)
			die("fleet: grant %s: %s", name, msg);
	}
	if (account_create(PAM_ACCOUNT, msg, sizeof(msg)) < 0 ||
	    simple(SVCA_CMD_GRANT_ADD, msg, sizeof(msg), F_NAME, PAM_ACCOUNT, F_WORKSPACE, HOST_WS,
		   F_ROLE, "editor", 0) < 0 ||
	    key_create(PAM_ACCOUNT, pamkey, msg, sizeof(msg)) < 0 ||
	    token_create(pamkey, pamtok, sizeof(pamtok), msg, sizeof(msg)) < 0)
		die("fleet: the PAM account on the hubs: %s", msg);

	unsigned next_key = 0, base = 0;
	for (unsigned i = 0; i < nn; i++) {
		fleet_at(r, ns[i], base, keys, &next_key);
		base += ns[i];
	}
	big_snapshot(r);
	if (is_root)
		pam_on_agent(r, pamkey, pamtok);
	else if (daemon_stop(&fh[1]) < 0 || daemon_stop(&fh[0]) < 0)
		r->hub_stop_bad = 1;
	hubs_pg_stop();
	cur = &r->main;
	r->fleet_ran = 1;
	curl_global_cleanup();
	sodium_memzero(pamkey, sizeof(pamkey));
	sodium_memzero(pamtok, sizeof(pamtok));
	sodium_memzero(keys, nkeys * KEYBUF);
	free(keys);
}

void target_fleet(FILE *out, const struct run *r)
{
	if (!r->fleet_ran) {
		target(out, -1, "fleet: not measured%s%s", r->fleet_skipped[0] ? ": " : "",
		       r->fleet_skipped);
		return;
	}
	for (size_t i = 0; i < r->nfleet; i++) {
		const struct fleet_fig *f = &r->fleet[i];
		target(out, f->props > 0 && !f->errors && f->max < 2000,
		       "fleet, %u agents: revoke on h-1 -> verified snapshot on every agent: p50 "
		       "%.1f ms, p99 %.1f ms, max %.1f ms over %lu (max < 2 s); hubs per agent: "
		       "RSS %.1f KiB, CPU %.1f us/s idle, %.3f ms per revoke",
		       f->n, f->p50, f->p99, f->max, f->props, f->rss_kib, f->cpu_idle_us,
		       f->cpu_burst_ms);
	}
	fprintf(out,
		"- info  : fleet: snapshot of %lu accounts: %.0f KiB; full sync (GET + verify + "
		"parse) p50 %.1f ms, max %.1f ms; of which verify + parse %.1f ms\n",
		r->fleet_big, r->fleet_snap_kib, r->fleet_sync_p50, r->fleet_sync_max,
		r->fleet_verify_ms);
	static const char *const what[3] = { "standalone", "agent, hubs up", "agent, hubs down" };
	for (int s = 0; s < 3; s++) {
		char key[64];
		if (s && r->fleet_key_na)
			sfmt(key, sizeof(key), "n/a (the key login failed on the agent)");
		else
			sfmt(key, sizeof(key), "p50 %.3f ms", r->fleet_pam[s][PV_KEY] / 1000);
		fprintf(out, "- info  : fleet PAM (%s): token p50 %.3f ms, key %s\n", what[s],
			r->fleet_pam[s][PV_TOKEN] / 1000, key);
	}
	if (!r->fleet_key_na && !isnan(r->fleet_pam[1][PV_KEY]) &&
	    !isnan(r->fleet_pam[0][PV_KEY])) {
		double up = r->fleet_pam[1][PV_KEY] - r->fleet_pam[0][PV_KEY];
		double down = r->fleet_pam[2][PV_KEY] - r->fleet_pam[0][PV_KEY];
		fprintf(out,
			"- info  : PAM API-key login on an agent vs standalone: hubs up %+.3f ms, "
			"hubs down %+.3f ms\n",
			up / 1000, down / 1000);
	}
	if (!isnan(r->fleet_pam[1][PV_TOKEN]) && !isnan(r->fleet_pam[0][PV_TOKEN])) {
		double up = r->fleet_pam[1][PV_TOKEN] - r->fleet_pam[0][PV_TOKEN];
		double down = r->fleet_pam[2][PV_TOKEN] - r->fleet_pam[0][PV_TOKEN];
		target(out, fabs(up) <= 200 && fabs(down) <= 200,
		       "PAM token login on an agent equals standalone within 0.2 ms: hubs up "
		       "%+.3f ms, hubs down %+.3f ms",
		       up / 1000, down / 1000);
	}
}
