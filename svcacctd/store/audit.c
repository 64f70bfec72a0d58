/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Audit trail: hash-chained records in GDBM, JSON lines to syslog. */
#include "audit.h"
#include "audit_json.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "log.h"
#include "secrets.h"
#include "sockio.h"

#define AUDIT_VERSION 1
#define HASH_LEN 32
#define MAC_LEN 32
#define REC_PREFIX (1 + HASH_LEN + 8)
#define HEAD_KEY "head"
/* Legacy heads (before the MAC) are seq:8 hash:32; now seq:8 hash:32 mac:32. */
#define HEAD_LEGACY_LEN (8 + HASH_LEN)
#define HEAD_LEN (8 + HASH_LEN + MAC_LEN)
/* In state.db: the highest seq ever issued, seq:8 mac:32, written with
 * every record, so that a head rolled back (an old head put back after
 * records were cut off) cannot make seqs be issued twice. */
#define HIGH_KEY "audit/high"
#define HIGH_LEN (8 + MAC_LEN)
#define MAX_PENDING_LINES 4096
#define AUDIT_BATCH_RING 8

struct audit {
	struct store *store;
	uint8_t *key;           /* the head MAC key (sodium_malloc'ed) */
	uint64_t seq;           /* last seq issued (durable or pending) */
	uint8_t hash[HASH_LEN]; /* hash of the head's record */
	struct pending_line {
		char *text;
		uint64_t gen; /* the store batch the event belongs to */
	} * pending;          /* syslog lines waiting for their batch */
	size_t npending;
	int syslog_on;
	char *syslog_path;
	int syslog_fd; /* connected datagram socket, or -1 */
	int timeout_ms;
	unsigned long dropped;
	int64_t last_warn;
	char host[256]; /* this host's name, in every record ("host") */
	/* What is durable (audit_durable_head): the batches still pending. */
	uint64_t durable_seq;
	struct batch_seq {
		uint64_t gen, seq;
	} batch[AUDIT_BATCH_RING];
	size_t nbatch;
};

static void seq_key(uint64_t seq, char *key, size_t len)
{
	snprintf(key, len, "seq/%020" PRIu64, seq);
}

static void be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The keyed BLAKE2b MACs of the head and of the high-water mark; the
 * labels keep one from being passed off as the other. */
static void head_mac(const struct audit *a, uint64_t seq, const uint8_t *hash, uint8_t *mac)
{
	uint8_t in[16 + 8 + HASH_LEN];
	memcpy(in, "svcacct-head-v1", 16);
	be64(in + 16, seq);
	memcpy(in + 24, hash, HASH_LEN);
	crypto_generichash(mac, MAC_LEN, in, sizeof(in), a->key, AUDIT_KEY_LEN);
}

static void high_mac(const struct audit *a, uint64_t seq, uint8_t *mac)
{
	uint8_t in[16 + 8];
	memcpy(in, "svcacct-high-v1", 16);
	be64(in + 16, seq);
	crypto_generichash(mac, MAC_LEN, in, sizeof(in), a->key, AUDIT_KEY_LEN);
}

/* What is on disk: the head (audit.db) and the high-water mark (state.db). */
struct head_state {
	int present, legacy, mac_ok;
	uint64_t seq;
	uint8_t hash[HASH_LEN];
	int high_present, high_ok;
	uint64_t high;
};

/* 0 ok (an empty chain has no head), -1 unreadable. */
static int read_heads(const struct audit *a, struct head_state *h)
{
	uint8_t *v = NULL, mac[MAC_LEN];
	size_t n = 0;
	memset(h, 0, sizeof(*h));
	int r = store_get(a->store, DB_AUDIT, HEAD_KEY, &v, &n);
	if (r < 0 || (r == 1 && n != HEAD_LEN && n != HEAD_LEGACY_LEN)) {
		free(v);
		return -1;
	}
	if (r == 1) {
		h->present = 1;
		h->legacy = n == HEAD_LEGACY_LEN;
		h->seq = rd64(v);
		memcpy(h->hash, v + 8, HASH_LEN);
		head_mac(a, h->seq, h->hash, mac);
		h->mac_ok = !h->legacy && sodium_memcmp(mac, v + 8 + HASH_LEN, MAC_LEN) == 0;
		free(v);
	}
	r = store_get(a->store, DB_STATE, HIGH_KEY, &v, &n);
	if (r < 0 || (r == 1 && n != HIGH_LEN)) {
		free(v);
		return -1;
	}
	if (r == 1) {
		h->high_present = 1;
		h->high = rd64(v);
		high_mac(a, h->high, mac);
		h->high_ok = sodium_memcmp(mac, v + 8, MAC_LEN) == 0;
		free(v);
	}
	return 0;
}

/* Reads the chain head into memory.  The next seq follows the highest one
 * ever issued, even if the head was rolled back.  0 ok, -1 error. */
static int load_head(struct audit *a)
{
	struct head_state h;
	if (read_heads(a, &h) < 0)
		return -1;
	a->seq = h.high > h.seq ? h.high : h.seq;
	memcpy(a->hash, h.hash, HASH_LEN); /* zeros for an empty chain */
	return 0;
}

/* Writes head and high-water mark for seq in the open transaction. */
static int put_heads(struct audit *a, uint64_t seq, const uint8_t *hash)
{
	uint8_t head[HEAD_LEN], high[HIGH_LEN];
	be64(head, seq);
	memcpy(head + 8, hash, HASH_LEN);
	head_mac(a, seq, hash, head + 8 + HASH_LEN);
	be64(high, seq);
	high_mac(a, seq, high + 8);
	if (store_put(a->store, DB_AUDIT, HEAD_KEY, head, sizeof(head)) < 0 ||
	    store_put(a->store, DB_STATE, HIGH_KEY, high, sizeof(high)) < 0)
		return -1;
	return 0;
}

/* What is wrong with the head, in words (NULL: nothing). */
static const char *head_problem(const struct head_state *h, char *buf, size_t len)
{
	if (h->high_present && !h->high_ok && h->present && !h->legacy && !h->mac_ok)
		snprintf(buf, len,
			 "neither the audit chain head nor the high-water mark "
			 "verifies with the audit key: audit_key_file was replaced or lost, "
			 "or both were rewritten");
	else if (h->high_present && !h->high_ok)
		snprintf(buf, len,
			 "the audit high-water mark in state.db was altered "
			 "(its MAC does not verify)");
	else if (h->high_present && h->high > h->seq && h->high == h->seq + 1)
		snprintf(buf, len,
			 "audit record %" PRIu64 " is missing: the trail was cut "
			 "after record %" PRIu64 " and its head rewritten",
			 h->high, h->seq);
	else if (h->high_present && h->high > h->seq)
		snprintf(buf, len,
			 "audit records %" PRIu64 "-%" PRIu64 " are missing: the "
			 "trail was cut after record %" PRIu64 " and its head rewritten",
			 h->seq + 1, h->high, h->seq);
	else if (h->present && h->legacy)
		snprintf(buf, len,
			 "the audit chain head (record %" PRIu64 ") has no MAC: it "
			 "was rewritten without the audit key",
			 h->seq);
	else if (h->present && !h->mac_ok)
		snprintf(buf, len,
			 "the audit chain head (record %" PRIu64 ") was rewritten "
			 "without the audit key (its MAC does not verify); records after it "
			 "may have been cut off",
			 h->seq);
	else
		return NULL;
	return buf;
}

/* An audit.* event from the daemon itself, made durable at once. */
static int self_event(struct audit *a, const char *event, const char *outcome, const char *detail)
{
	struct actor act = { .uid = geteuid(), .priv = PRIV_SUPER };
	snprintf(act.user, sizeof(act.user), "svcacctd");
	struct audit_event ev = {
		.event = event, .outcome = outcome, .actor = &act, .detail = detail
	};
	size_t mark = audit_mark(a);
	store_begin(a->store);
	if (audit_append(a, &ev) < 0 || store_commit(a->store) < 0) {
		store_abort(a->store);
		audit_rollback(a, mark);
		return -1;
	}
	int ok = store_flush(a->store) == 0;
	audit_flushed(a, ok);
	return ok ? 0 : -1;
}

/*
 * At start-up: a head written by a version without the MAC (and no
 * high-water mark yet) gets its MAC now, with an audit.mac event: the
 * guarantee starts there.  A head that fails its checks is reported
 * (daemon log, audit.tamper event); the daemon still starts, logins go
 * on, and no seq is issued twice, so `audit verify` keeps showing the gap.
 */
static int check_head_at_start(struct audit *a, char *err, size_t errlen)
{
	struct head_state h;
	char msg[256];
	if (read_heads(a, &h) < 0) {
		snprintf(err, errlen, "the audit database's head record is unreadable");
		return -1;
	}
	if (h.present && h.legacy && !h.high_present) {
		char detail[96];
		snprintf(detail, sizeof(detail),
			 "the chain head is MACed from record %" PRIu64 " on", h.seq);
		store_begin(a->store);
		if (put_heads(a, h.seq, h.hash) < 0 || store_commit(a->store) < 0 ||
		    store_flush(a->store) < 0) {
			store_abort(a->store);
			snprintf(err, errlen, "cannot write the audit head's MAC");
			return -1;
		}
		log_info("audit: %s", detail);
		if (self_event(a, "audit.mac", "success", detail) < 0) {
			snprintf(err, errlen, "cannot write the audit.mac event");
			return -1;
		}
		return 0;
	}
	if (!h.present && !h.high_present)
		return 0;
	if (!head_problem(&h, msg, sizeof(msg)) &&
	    !(!h.present && h.high_present)) /* an empty chain that once had records */
		return 0;
	if (!h.present)
		snprintf(msg, sizeof(msg),
			 "audit records 1-%" PRIu64 " are missing: the "
			 "trail was emptied",
			 h.high);
	log_err("audit trail tampering detected: %s; new records continue from seq %" PRIu64
		" (see svcacctctl audit verify)",
		msg, a->seq + 1);
	if (self_event(a, "audit.tamper", "failure", msg) < 0) {
		snprintf(err, errlen, "cannot write the audit.tamper event");
		return -1;
	}
	return 0;
}

void audit_configure(struct audit *a, const struct svca_config *cfg)
{
	free(a->syslog_path);
	if (a->syslog_fd >= 0)
		close(a->syslog_fd); /* the path may have changed */
	a->syslog_fd = -1;
	a->syslog_path = cfg->syslog_socket ? strdup(cfg->syslog_socket) : NULL;
	a->syslog_on = cfg->syslog && a->syslog_path;
	a->timeout_ms = cfg->audit_timeout_ms;
}

struct audit *audit_open(struct store *s, const struct svca_config *cfg, char *err, size_t errlen)
{
	struct audit *a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->store = s;
	a->syslog_fd = -1;
	if (gethostname(a->host, sizeof(a->host) - 1) < 0)
		snprintf(a->host, sizeof(a->host), "localhost");
	if (!cfg->audit_key_file) {
		snprintf(err, errlen, "no audit_key_file configured");
		free(a);
		return NULL;
	}
	int created;
	a->key = secrets_load_audit_key(cfg->audit_key_file, &created, err, errlen);
	if (!a->key) {
		free(a);
		return NULL;
	}
	if (load_head(a) < 0) {
		snprintf(err, errlen, "the audit database's head record is unreadable");
		audit_close(a);
		return NULL;
	}
	audit_configure(a, cfg);
	if (check_head_at_start(a, err, errlen) < 0) {
		audit_close(a);
		return NULL;
	}
	a->durable_seq = a->seq; /* what is on disk */
	a->nbatch = 0;
	return a;
}

static void drop_pending(struct audit *a)
{
	for (size_t i = 0; i < a->npending; i++)
		free(a->pending[i].text);
	a->npending = 0;
}

void audit_close(struct audit *a)
{
	if (!a)
		return;
	drop_pending(a);
	free(a->pending);
	if (a->syslog_fd >= 0)
		close(a->syslog_fd);
	free(a->syslog_path);
	if (a->key)
		sodium_free(a->key);
	free(a);
}

/*
 * The caller's executable, for the record (informational: the pid from
 * SO_PEERCRED can already be reused by the time /proc is read).  The last
 * answer is kept for 100 ms: a busy client (a CI runner, the HTTP front's
 * users) sends many requests per second from one process, and the
 * readlink was 4% of the daemon's time per token exchange.
 */
#define EXE_CACHE_MS 100
static char *exe_of(pid_t pid, char *buf, size_t len)
{
	static struct {
		pid_t pid;
		int64_t at;
		char exe[256];
	} last;
	int64_t now = svca_now_ms();
	if (pid == last.pid && now - last.at < EXE_CACHE_MS && now >= last.at) {
		snprintf(buf, len, "%s", last.exe);
		return buf;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, buf, len - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	last.pid = pid;
	last.at = now;
	snprintf(last.exe, sizeof(last.exe), "%s", buf);
	return buf;
}

struct event_build {
	const struct audit_event *ev;
	const char *host;
};

static char *event_text(void *ctx, uint64_t seq, int64_t ts)
{
	const struct event_build *b = ctx;
	char exe[256];
	return audit_event_json(
		b->ev, seq, ts,
		b->ev->peer && b->ev->peer->pid ? exe_of(b->ev->peer->pid, exe, sizeof(exe)) : NULL,
		b->host);
}

/* The durable seq follows the batches: (gen, last seq) of the batches
 * not yet durable, oldest first; a full ring merges into its newest entry
 * (later, never earlier). */
static void durable_note(struct audit *a, uint64_t seq)
{
	uint64_t gen = store_pending_gen(a->store);
	if (a->nbatch && a->batch[a->nbatch - 1].gen == gen) {
		a->batch[a->nbatch - 1].seq = seq;
		return;
	}
	if (a->nbatch == AUDIT_BATCH_RING) {
		a->batch[a->nbatch - 1] = (struct batch_seq){ gen, seq };
		return;
	}
	a->batch[a->nbatch++] = (struct batch_seq){ gen, seq };
}

static void durable_advance(struct audit *a)
{
	uint64_t durable = store_durable_gen(a->store);
	size_t n = 0;
	while (n < a->nbatch && a->batch[n].gen <= durable) {
		a->durable_seq = a->batch[n].seq;
		n++;
	}
	memmove(a->batch, a->batch + n, (a->nbatch - n) * sizeof(*a->batch));
	a->nbatch -= n;
}

/* After the head was re-read (an abort or a failed write): what is past it
 * was undone. */
static void durable_reset(struct audit *a)
{
	while (a->nbatch && a->batch[a->nbatch - 1].seq > a->seq)
		a->nbatch--;
	if (a->durable_seq > a->seq)
		a->durable_seq = a->seq;
}

uint64_t audit_durable_head(const struct audit *a)
{
	return store_shared(a->store) ? a->seq : a->durable_seq;
}

int audit_append(struct audit *a, const struct audit_event *ev)
{
	struct event_build b = { ev, a->host };
	return audit_append_with(a, event_text, &b);
}

int audit_append_with(struct audit *a, audit_build_fn build, void *ctx)
{
	/* A shared store (hub mode): other hubs append too; the head is read
	 * under the write lock the transaction holds, so the chain follows
	 * commit order. */
	if (store_shared(a->store) && load_head(a) < 0)
		return -1;
	int64_t ts = svca_wall_ms();
	uint64_t seq = a->seq + 1;
	char *js = build(ctx, seq, ts);
	if (!js)
		return -1;

	size_t jl = strlen(js);
	size_t rl = REC_PREFIX + jl;
	uint8_t *rec = fault_hit("malloc") ? NULL : malloc(rl);
	struct pending_line *np = a->npending < MAX_PENDING_LINES
					  ? realloc(a->pending, (a->npending + 1) * sizeof(*np))
					  : a->pending;
	if (np) /* even when rec failed: realloc may have freed the old block */
		a->pending = np;
	if (!rec || !np) {
		free(rec);
		free(js);
		return -1;
	}
	rec[0] = AUDIT_VERSION;
	memcpy(rec + 1, a->hash, HASH_LEN);
	be64(rec + 1 + HASH_LEN, (uint64_t)ts);
	memcpy(rec + REC_PREFIX, js, jl);

	uint8_t h[HASH_LEN];
	char key[40];
	crypto_generichash(h, sizeof(h), rec, rl, NULL, 0);
	seq_key(seq, key, sizeof(key));
	int r = store_put(a->store, DB_AUDIT, key, rec, rl);
	if (r == 0)
		r = put_heads(a, seq, h);
	free(rec);
	if (r < 0) {
		free(js);
		return -1;
	}
	a->seq = seq;
	memcpy(a->hash, h, HASH_LEN);
	durable_note(a, seq);
	if (a->syslog_on && a->npending < MAX_PENDING_LINES)
		a->pending[a->npending++] =
			(struct pending_line){ js, store_pending_gen(a->store) };
	else
		free(js);
	return 0;
}

/* The socket stays connected between batches (a socket and a connect per
 * batch cost as much as the lines themselves); -1 when the sink is absent. */
static int syslog_socket(struct audit *a)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (a->syslog_fd >= 0)
		return a->syslog_fd;
	if (!a->syslog_path || strlen(a->syslog_path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, a->syslog_path);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	a->syslog_fd = fd;
	return fd;
}

static void syslog_disconnect(struct audit *a)
{
	if (a->syslog_fd >= 0)
		close(a->syslog_fd);
	a->syslog_fd = -1;
}

/* Sends the first n pending lines (their batch is durable) to the syslog
 * socket, bounded by timeout_ms in all, and forgets them.  A sink that went
 * away (syslog restarted) is reconnected once. */
static void send_syslog(struct audit *a, size_t n_durable)
{
	if (!n_durable)
		return;
	int64_t deadline = svca_now_ms() + a->timeout_ms;
	size_t sent = 0;
	int retried = 0;
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	int pid = (int)getpid();

	if (fault_hit("syslog")) { /* a stuck sink: wait it out, send nothing */
		poll(NULL, 0, a->timeout_ms);
		goto out;
	}
	int fd = syslog_socket(a);
	if (fd < 0)
		goto out;
	while (sent < n_durable) {
		char line[16384];
		/* <86> = LOG_AUTHPRIV | LOG_INFO */
		int n = snprintf(line, sizeof(line), "<%d>%s svcacctd[%d]: %s", (10 << 3) | 6,
				 stamp, pid, a->pending[sent].text);
		if (n < 0)
			break;
		size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
		if (send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
			sent++;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			syslog_disconnect(a);
			if (retried++ || (fd = syslog_socket(a)) < 0)
				goto out;
			continue;
		}
		int64_t left = deadline - svca_now_ms();
		if (left <= 0)
			goto out;
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		poll(&p, 1, (int)left);
	}
out:
	if (sent < n_durable) {
		a->dropped += n_durable - sent;
		int64_t t = svca_now_ms();
		if (!a->last_warn || t - a->last_warn >= 60000) { /* one warning a minute */
			a->last_warn = t;
			log_warn("syslog sink %s unavailable or slow: %zu audit line(s) not "
				 "sent (%lu in all); they are in the audit database",
				 a->syslog_path ? a->syslog_path : "(none)", n_durable - sent,
				 a->dropped);
		}
	}
	for (size_t i = 0; i < n_durable; i++)
		free(a->pending[i].text);
	memmove(a->pending, a->pending + n_durable,
		(a->npending - n_durable) * sizeof(*a->pending));
	a->npending -= n_durable;
}

uint64_t audit_head(const struct audit *a)
{
	return a->seq;
}

size_t audit_mark(const struct audit *a)
{
	return a->npending;
}

void audit_rollback(struct audit *a, size_t mark)
{
	while (a->npending > mark)
		free(a->pending[--a->npending].text);
	if (load_head(a) < 0)
		log_err("cannot re-read the audit head after an aborted change");
	durable_reset(a);
}

void audit_flushed(struct audit *a, int ok)
{
	uint64_t durable = store_durable_gen(a->store);
	size_t n = 0;
	while (n < a->npending && a->pending[n].gen <= durable)
		n++;
	send_syslog(a, n);
	if (ok) {
		durable_advance(a);
		return;
	}
	drop_pending(a); /* the rest was undone */
	if (load_head(a) < 0)
		log_err("cannot re-read the audit head after a failed write");
	a->nbatch = 0;
	durable_reset(a);
}

/* ---- reading -------------------------------------------------------------- */

static int fetch(struct audit *a, uint64_t seq, uint8_t **rec, size_t *len)
{
	char key[40];
	seq_key(seq, key, sizeof(key));
	return store_get(a->store, DB_AUDIT, key, rec, len);
}

int audit_record_get(struct audit *a, uint64_t seq, struct audit_rec *out)
{
	uint8_t *rec;
	size_t len;
	memset(out, 0, sizeof(*out));
	int r = fetch(a, seq, &rec, &len);
	if (r <= 0)
		return r;
	if (len < REC_PREFIX || rec[0] != AUDIT_VERSION) {
		free(rec);
		return -1;
	}
	out->json = malloc(len - REC_PREFIX + 1);
	if (!out->json) {
		free(rec);
		return -1;
	}
	out->seq = seq;
	memcpy(out->prev, rec + 1, HASH_LEN);
	out->ts_ms = rd64(rec + 1 + HASH_LEN);
	crypto_generichash(out->hash, HASH_LEN, rec, len, NULL, 0);
	out->len = len - REC_PREFIX;
	memcpy(out->json, rec + REC_PREFIX, out->len);
	out->json[out->len] = '\0';
	free(rec);
	return 1;
}

void audit_record_hash(const uint8_t prev[32], uint64_t ts_ms, const char *json, size_t len,
		       uint8_t out[32])
{
	uint8_t hdr[REC_PREFIX];
	crypto_generichash_state st;
	hdr[0] = AUDIT_VERSION;
	memcpy(hdr + 1, prev, HASH_LEN);
	be64(hdr + 1 + HASH_LEN, ts_ms);
	crypto_generichash_init(&st, NULL, 0, HASH_LEN);
	crypto_generichash_update(&st, hdr, sizeof(hdr));
	crypto_generichash_update(&st, (const uint8_t *)json, len);
	crypto_generichash_final(&st, out, HASH_LEN);
}

int audit_event_type_matches(const char *pattern, const char *type)
{
	size_t pl = strlen(pattern);
	if (strpbrk(pattern, "*?["))
		return fnmatch(pattern, type, 0) == 0;
	if (pl && pattern[pl - 1] == '.')
		return strncmp(type, pattern, pl) == 0;
	return strcmp(type, pattern) == 0;
}

static int str_member_is(json_t *o, const char *key, const char *want)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v && !strcmp(v, want);
}

static int account_matches(json_t *o, const struct audit_filter *f)
{
	json_t *s = json_object_get(o, "subject");
	if (str_member_is(s, "account", f->account) ||
	    str_member_is(json_object_get(o, "actor"), "account", f->account))
		return 1;
	/* A refusal that names only the key (a wrong secret, say). */
	const char *kid = json_string_value(json_object_get(s, "key_id"));
	for (size_t i = 0; kid && i < f->nkey_ids; i++)
		if (!strcmp(kid, f->key_ids[i]))
			return 1;
	return 0;
}

static int set(const char *s)
{
	return s && *s;
}

static int event_matches(json_t *o, const struct audit_filter *f)
{
	if (set(f->event)) {
		const char *e = json_string_value(json_object_get(o, "event"));
		if (!e || !audit_event_type_matches(f->event, e))
			return 0;
	}
	return (!set(f->account) || account_matches(o, f)) &&
	       (!set(f->outcome) || str_member_is(o, "outcome", f->outcome)) &&
	       (!set(f->service) || str_member_is(o, "service", f->service)) &&
	       (!set(f->host) || str_member_is(o, "host", f->host));
}

int audit_list(struct audit *a, struct svca_buf *reply, const char *account, const char *event,
	       uint64_t since_ms, uint64_t limit)
{
	return audit_list_host(a, reply, account, event, NULL, since_ms, limit);
}

int audit_list_host(struct audit *a, struct svca_buf *reply, const char *account, const char *event,
		    const char *host, uint64_t since_ms, uint64_t limit)
{
	struct audit_filter f = { .account = account,
				  .event = event,
				  .host = host,
				  .since_ms = since_ms,
				  .limit = limit };
	return audit_list_filter(a, reply, &f);
}

int audit_list_filter(struct audit *a, struct svca_buf *reply, const struct audit_filter *f)
{
	uint64_t *hits = NULL;
	size_t nhits = 0, cap = 0;
	int ret = 0;

	/* A shared store: the other hubs' records are part of the trail. */
	if (store_shared(a->store) && load_head(a) < 0)
		return -1;

	/* Newest first, so that a limit, a time bound and after_seq stop the
	 * walk (a --follow poll reads only what is new). */
	for (uint64_t seq = a->seq; seq >= 1 && seq > f->after_seq; seq--) {
		uint8_t *rec;
		size_t len;
		int r = fetch(a, seq, &rec, &len);
		if (r < 0) {
			ret = -1;
			break;
		}
		if (r == 0 || len < REC_PREFIX)
			continue; /* a gap: audit verify reports it */
		uint64_t ts = rd64(rec + 1 + HASH_LEN);
		if (f->since_ms && ts < f->since_ms) {
			free(rec);
			break;
		}
		if (f->until_ms && ts > f->until_ms) {
			free(rec);
			continue;
		}
		json_t *o = json_loadb((const char *)rec + REC_PREFIX, len - REC_PREFIX, 0, NULL);
		free(rec);
		int keep = o && event_matches(o, f);
		json_decref(o);
		if (!keep)
			continue;
		if (nhits == cap) {
			cap = cap ? cap * 2 : 256;
			uint64_t *nh = realloc(hits, cap * sizeof(*nh));
			if (!nh) {
				ret = -1;
				break;
			}
			hits = nh;
		}
		hits[nhits++] = seq;
		if (f->limit && nhits >= f->limit)
			break;
	}
	for (size_t i = nhits; ret == 0 && i > 0; i--) {
		uint8_t *rec;
		size_t len;
		if (fetch(a, hits[i - 1], &rec, &len) != 1) {
			ret = -1;
			break;
		}
		svca_put_mark(reply, F_ITEM);
		svca_put_u64(reply, F_SEQ, hits[i - 1]);
		svca_put_strn(reply, F_JSON, (const char *)rec + REC_PREFIX, len - REC_PREFIX);
		free(rec);
	}
	free(hits);
	return ret;
}

/* The first seq at or after from (up to last) that is present: the end of
 * a run of missing records. */
static uint64_t missing_until(struct audit *a, uint64_t from, uint64_t last)
{
	uint64_t seq = from;
	while (seq < last) {
		uint8_t *rec;
		size_t len;
		int r = fetch(a, seq + 1, &rec, &len);
		if (r == 1)
			free(rec);
		if (r != 0)
			break;
		seq++;
	}
	return seq;
}

int audit_verify(struct audit *a, uint64_t *checked, uint64_t *bad_seq, char *msg, size_t msglen)
{
	return audit_verify_each(a, NULL, NULL, checked, bad_seq, msg, msglen);
}

int audit_verify_each(struct audit *a, audit_each_fn each, void *ctx, uint64_t *checked,
		      uint64_t *bad_seq, char *msg, size_t msglen)
{
	uint8_t prev[HASH_LEN] = { 0 };
	struct head_state h;

	*checked = 0;
	*bad_seq = 0;
	/* Compare against what is on disk, not the in-memory head. */
	if (read_heads(a, &h) < 0) {
		snprintf(msg, msglen, "the audit head record is unreadable");
		return -1;
	}
	uint64_t head_seq = h.present ? h.seq : 0;

	for (uint64_t seq = 1; seq <= head_seq; seq++) {
		uint8_t *rec;
		size_t len;
		int r = fetch(a, seq, &rec, &len);
		if (r <= 0) {
			*bad_seq = seq;
			uint64_t end = r < 0 ? seq : missing_until(a, seq, head_seq);
			if (end > seq)
				snprintf(msg, msglen,
					 "audit records %" PRIu64 "-%" PRIu64
					 " are missing (deleted?)",
					 seq, end);
			else
				snprintf(msg, msglen,
					 "audit record %" PRIu64 " is missing (deleted?)", seq);
			return -1;
		}
		int ok = len >= REC_PREFIX && rec[0] == AUDIT_VERSION &&
			 sodium_memcmp(rec + 1, prev, HASH_LEN) == 0;
		if (!ok) {
			free(rec);
			/* Record seq does not link to seq-1's bytes: seq-1 was
			 * altered, unless seq itself is malformed. */
			*bad_seq = seq > 1 && len >= REC_PREFIX ? seq - 1 : seq;
			snprintf(msg, msglen,
				 "audit record %" PRIu64
				 " was altered (chain broken at record %" PRIu64 ")",
				 *bad_seq, seq);
			return -1;
		}
		json_t *o = json_loadb((const char *)rec + REC_PREFIX, len - REC_PREFIX, 0, NULL);
		json_int_t js = o ? json_integer_value(json_object_get(o, "seq")) : -1;
		crypto_generichash(prev, sizeof(prev), rec, len, NULL, 0);
		free(rec);
		if (js < 0 || (uint64_t)js != seq) {
			json_decref(o);
			*bad_seq = seq;
			snprintf(msg, msglen, "audit record %" PRIu64 " is malformed or moved",
				 seq);
			return -1;
		}
		int bad = each && each(ctx, seq, o, msg, msglen) < 0;
		json_decref(o);
		if (bad) {
			*bad_seq = seq;
			return -1;
		}
		(*checked)++;
	}
	if (head_seq && sodium_memcmp(prev, h.hash, HASH_LEN) != 0) {
		*bad_seq = head_seq;
		snprintf(msg, msglen,
			 "audit record %" PRIu64 " was altered (it does not match the chain head)",
			 head_seq);
		return -1;
	}
	/* A cut-off tail: the head's MAC and the high-water mark. */
	if (!h.present && h.high_present) {
		*bad_seq = 1;
		snprintf(msg, msglen,
			 "audit records 1-%" PRIu64 " are missing: the trail "
			 "was emptied",
			 h.high);
		return -1;
	}
	if (head_problem(&h, msg, msglen)) {
		*bad_seq = h.high_present && h.high > head_seq ? head_seq + 1 : head_seq;
		return -1;
	}
	/* Records past the head mean the head was rolled back. */
	uint8_t *extra;
	size_t el;
	if (fetch(a, head_seq + 1, &extra, &el) == 1) {
		free(extra);
		*bad_seq = head_seq + 1;
		snprintf(msg, msglen, "audit record %" PRIu64 " exists past the chain head",
			 head_seq + 1);
		return -1;
	}
	return 0;
}
