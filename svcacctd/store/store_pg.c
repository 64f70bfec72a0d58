/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The store in PostgreSQL (hub mode); see store_pg.h for the model. */
#include "store_pg.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "log.h"
#include "pg_cache.h"

/* Every wait on the database is bounded: a request never hangs past it. */
#define PG_DEADLINE_MS 5000
#define PG_CONNECT_TIMEOUT "3"
/* The advisory lock every writer takes ("svca" "writ"), and the one
 * migrations take. */
#define PG_WRITE_LOCK 0x7376636177726974LL
#define PG_MIGRATE_LOCK 0x737663616d696772LL
#define PG_CHANNEL "svcacct_changes"
/* After a failed connection, reconnect at most this often. */
#define PG_RETRY_MS 500
#define MAX_BATCH_KEYS 4096
#define OWN_SEQS 256
#define CHANGES_PAGE "1000"
#define CHANGES_PAGE_ROWS 1000
#define CHANGES_PRUNE_EVERY 1000
#define CHANGES_KEEP_S 86400

/* ---- the schema ------------------------------------------------------------ */

/* Migration N brings the schema from version N-1 to N.  Each runs in the
 * transaction that records the new version: all or nothing. */
static const char *const migrations[PG_SCHEMA_VERSION] = {
	/* 1: the key-value records, the audit chain, the change log */
	"CREATE TABLE svcacct_kv ("
	"  db smallint NOT NULL, k text COLLATE \"C\" NOT NULL, v bytea NOT NULL,"
	"  PRIMARY KEY (db, k));"
	"CREATE TABLE svcacct_audit ("
	"  seq bigint PRIMARY KEY, host text NOT NULL,"
	"  ts timestamptz NOT NULL DEFAULT now(), rec bytea NOT NULL);"
	"CREATE TABLE svcacct_changes ("
	"  seq bigint PRIMARY KEY, host text NOT NULL,"
	"  ts timestamptz NOT NULL DEFAULT now(), keys text[] NOT NULL);"
	"CREATE FUNCTION svcacct_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS"
	"  $$BEGIN RAISE EXCEPTION 'svcacct_audit is append-only'; END$$;"
	"CREATE TRIGGER svcacct_audit_no_change BEFORE UPDATE OR DELETE ON svcacct_audit"
	"  FOR EACH ROW EXECUTE FUNCTION svcacct_audit_append_only();"
	"CREATE TRIGGER svcacct_audit_no_truncate BEFORE TRUNCATE ON svcacct_audit"
	"  FOR EACH STATEMENT EXECUTE FUNCTION svcacct_audit_append_only();"
	"DO $$BEGIN"
	"  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'svcacct_hubs') THEN"
	"    GRANT SELECT ON svcacct_schema TO svcacct_hubs;"
	"    GRANT SELECT, INSERT, UPDATE, DELETE ON svcacct_kv, svcacct_changes"
	"      TO svcacct_hubs;"
	"    GRANT SELECT, INSERT ON svcacct_audit TO svcacct_hubs;"
	"  END IF;"
	"END$$;",
};

/* Prepared once per connection. */
enum stmt { S_GET, S_ITER, S_AGET, S_SINCE, S_COUNT };
static const struct {
	const char *name, *sql;
} stmts[S_COUNT] = {
	[S_GET] = { "get", "SELECT v FROM svcacct_kv WHERE db = $1 AND k = $2" },
	[S_ITER] = { "iter", "SELECT k, v FROM svcacct_kv WHERE db = $1 AND starts_with(k, $2)" },
	[S_AGET] = { "aget", "SELECT rec, host, (extract(epoch FROM ts) * 1000)::bigint "
			     "FROM svcacct_audit WHERE seq = $1" },
	[S_SINCE] = { "since", "SELECT seq, array_to_string(keys, E'\\n') FROM svcacct_changes "
			       "WHERE seq > $1 ORDER BY seq LIMIT " CHANGES_PAGE },
};

/* ---- the store ----------------------------------------------------------- */

struct pg_store {
	char *conninfo;
	char host[256];
	PGconn *c;              /* requests (the daemon's thread only) */
	int64_t retry_at;       /* no reconnect before (monotonic ms) */
	int in_txn;             /* BEGIN + the write lock */
	int txn_lost;           /* the transaction failed: the batch is undone */
	int in_sub;             /* between store_begin and commit */
	size_t sub_mark;        /* the cache's undo position at store_begin */
	struct pg_cache *cache; /* exact under the lock; the batch's writes */
	int64_t cache_seq;      /* the change-log seq the cache reflects */
	uint64_t open_gen, durable_gen, failed_gen;
	int efd_flush;   /* never readable: commits are synchronous */
	int unavailable; /* the last operation could not reach the database */
	char errmsg[600];
	/* the change log */
	int64_t last_seq;      /* applied up to here */
	int64_t own[OWN_SEQS]; /* seqs this store wrote: not reapplied */
	size_t nown;
	int efd_changes; /* the listener saw a newer seq */
	pthread_t listener;
	int listener_up;
	int efd_stop;
	_Atomic int64_t listen_seen;
};

__attribute__((format(printf, 3, 4))) static void seterr(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libpq's messages end in a newline and may span lines: the first line
 * says what happened. */
static void set_pgerr(struct pg_store *p, const char *what, const char *msg)
{
	snprintf(p->errmsg, sizeof(p->errmsg), "%s: %s", what, msg && *msg ? msg : "unknown error");
	p->errmsg[strcspn(p->errmsg, "\r\n")] = '\0';
}

/* ---- connections ------------------------------------------------------------ */

/* The user's connection string, with our defaults under it (its own
 * settings win: they come later). */
static PGconn *pg_connect(const char *conninfo)
{
	const char *const keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *const vals[] = { PG_CONNECT_TIMEOUT, "svcacctd", conninfo, NULL };
	return PQconnectdbParams(keys, vals, 1);
}

/* Waits until the connection's results are all in, or the deadline. */
static int wait_input(PGconn *c, int64_t deadline)
{
	for (;;) {
		int f = PQflush(c);
		if (f < 0)
			return -1;
		if (f == 0 && !PQisBusy(c))
			return 0;
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			return -2;
		struct pollfd pf = { .fd = PQsocket(c), .events = POLLIN | (f ? POLLOUT : 0) };
		int r = poll(&pf, 1, (int)left);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r > 0 && (pf.revents & (POLLIN | POLLERR | POLLHUP)) && !PQconsumeInput(c))
			return -1;
	}
}

static int res_ok(const PGresult *r)
{
	ExecStatusType st = PQresultStatus(r);
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* The last result of the query sent, or its first error.  NULL when the
 * connection failed or the deadline passed (*gone set). */
static PGresult *collect(PGconn *c, int64_t deadline, int *gone)
{
	PGresult *keep = NULL;
	*gone = 0;
	for (;;) {
		int w = wait_input(c, deadline);
		if (w < 0) {
			if (w == -2) { /* cancel what runs, then give up the connection */
				PGcancel *cn = PQgetCancel(c);
				char buf[128];
				if (cn) {
					PQcancel(cn, buf, sizeof(buf));
					PQfreeCancel(cn);
				}
			}
			PQclear(keep);
			*gone = w == -2 ? 2 : 1;
			return NULL;
		}
		PGresult *r = PQgetResult(c);
		if (!r)
			break;
		int keep_bad = keep && !res_ok(keep);
		if (!keep_bad) { /* the last result, or the first error */
			PQclear(keep);
			keep = r;
		} else {
			PQclear(r);
		}
	}
	if (PQstatus(c) != CONNECTION_OK) {
		PQclear(keep);
		*gone = 1;
		return NULL;
	}
	return keep;
}

/* A simple (possibly multi-statement) query on c with a deadline.
 * 0 ok, -1 failed (err set). */
static int simple(PGconn *c, const char *sql, char *err, size_t errlen)
{
	int gone;
	if (!PQsendQuery(c, sql)) {
		seterr(err, errlen, "%s", PQerrorMessage(c));
		return -1;
	}
	PGresult *r = collect(c, mono_ms() + PG_DEADLINE_MS, &gone);
	if (!r) {
		seterr(err, errlen, "%s",
		       gone == 2 ? "the database did not answer in time" : PQerrorMessage(c));
		return -1;
	}
	int ok = res_ok(r);
	if (!ok)
		seterr(err, errlen, "%s", PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -1;
}

/* The server's notices (a shutdown under way...) go to the daemon's log,
 * one line each. */
static void log_notice(void *arg, const char *msg)
{
	(void)arg;
	log_warn("database: %.*s", (int)strcspn(msg, "\r\n"), msg);
}

/* A fresh connection ready for requests: session limits, statements. */
static PGconn *open_conn(const char *conninfo, char *err, size_t errlen)
{
	PGconn *c = pg_connect(conninfo);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		seterr(err, errlen, "cannot connect to the database: %s",
		       c ? PQerrorMessage(c) : "out of memory");
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, log_notice, NULL);
	if (PQsetnonblocking(c, 1) != 0 ||
	    simple(c,
		   "SET statement_timeout = '4s'; SET lock_timeout = '4s';"
		   "SET idle_in_transaction_session_timeout = '30s';"
		   "SET synchronous_commit = on",
		   err, errlen) < 0) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

static int prepare_all(PGconn *c, char *err, size_t errlen)
{
	for (int i = 0; i < S_COUNT; i++) {
		if (!PQsendPrepare(c, stmts[i].name, stmts[i].sql, 0, NULL)) {
			seterr(err, errlen, "%s", PQerrorMessage(c));
			return -1;
		}
		int gone;
		PGresult *r = collect(c, mono_ms() + PG_DEADLINE_MS, &gone);
		int ok = r && res_ok(r);
		if (!ok)
			seterr(err, errlen, "cannot prepare %s: %s", stmts[i].name,
			       r ? PQresultErrorMessage(r) : PQerrorMessage(c));
		PQclear(r);
		if (!ok)
			return -1;
	}
	return 0;
}

static void drop_conn(struct pg_store *p)
{
	PQfinish(p->c);
	p->c = NULL;
	if (p->in_txn)
		p->txn_lost = 1; /* the server rolls it back */
}

/* The request connection, reconnecting when it was lost. */
static PGconn *conn(struct pg_store *p)
{
	if (p->c)
		return p->c;
	if (p->txn_lost || mono_ms() < p->retry_at) {
		p->unavailable = 1;
		if (!p->errmsg[0])
			snprintf(p->errmsg, sizeof(p->errmsg), "the database is unreachable");
		return NULL;
	}
	char err[256] = "";
	PGconn *c = open_conn(p->conninfo, err, sizeof(err));
	if (c && prepare_all(c, err, sizeof(err)) < 0) {
		PQfinish(c);
		c = NULL;
	}
	if (!c) {
		set_pgerr(p, "database unreachable", err);
		p->unavailable = 1;
		p->retry_at = mono_ms() + PG_RETRY_MS;
		return NULL;
	}
	p->c = c;
	return c;
}

/* Sends a query (prepared statement st, or the simple query sql) and
 * collects its result.  A connection found dead outside a transaction
 * (the database restarted since the last request) is replaced once: the
 * query had no effect.  NULL when the database is unreachable. */
static PGresult *send_collect(struct pg_store *p, int st, const char *sql, int n,
			      const char *const *vals, const int *lens, const int *fmts)
{
	for (int attempt = 0;; attempt++) {
		PGconn *c = conn(p);
		if (!c)
			return NULL;
		int gone = 1;
		PGresult *r = NULL;
		int sent = st >= 0 ? PQsendQueryPrepared(c, stmts[st].name, n, vals, lens, fmts, 1)
				   : PQsendQuery(c, sql);
		if (sent)
			r = collect(c, mono_ms() + PG_DEADLINE_MS, &gone);
		if (r) {
			p->unavailable = 0;
			return r;
		}
		set_pgerr(p, "database unreachable",
			  gone == 2 ? "it did not answer in time" : PQerrorMessage(c));
		int in_txn = p->in_txn;
		drop_conn(p);
		if (attempt || in_txn || gone == 2) {
			p->unavailable = 1;
			return NULL;
		}
	}
}

/* Runs a prepared statement; the result (check res_ok), or NULL when the
 * database is unreachable (p->errmsg says why). */
static PGresult *run(struct pg_store *p, enum stmt st, int n, const char *const *vals,
		     const int *lens, const int *fmts)
{
	PGresult *r = send_collect(p, (int)st, NULL, n, vals, lens, fmts);
	if (r && !res_ok(r))
		set_pgerr(p, stmts[st].name, PQresultErrorMessage(r));
	return r;
}

/* A statement without parameters or rows, on the request connection. */
static int run_simple(struct pg_store *p, const char *sql)
{
	PGresult *r = send_collect(p, -1, sql, 0, NULL, NULL, NULL);
	if (!r)
		return -1;
	int ok = res_ok(r);
	if (!ok)
		set_pgerr(p, "database", PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -1;
}

/* ---- schema ---------------------------------------------------------------- */

/* The schema's version: 0 when there is none yet; -1 on error. */
static int schema_version(PGconn *c, char *err, size_t errlen)
{
	int gone;
	if (!PQsendQuery(c, "SELECT CASE WHEN to_regclass('svcacct_schema') IS NULL THEN -1 "
			    "ELSE 0 END"))
		return -1;
	PGresult *r = collect(c, mono_ms() + PG_DEADLINE_MS, &gone);
	if (!r || !res_ok(r) || PQntuples(r) != 1) {
		seterr(err, errlen, "cannot read the schema version: %s",
		       r ? PQresultErrorMessage(r) : PQerrorMessage(c));
		PQclear(r);
		return -1;
	}
	int none = strtol(PQgetvalue(r, 0, 0), NULL, 10) < 0;
	PQclear(r);
	if (none)
		return 0;
	if (!PQsendQuery(c, "SELECT coalesce(max(version), 0) FROM svcacct_schema"))
		return -1;
	r = collect(c, mono_ms() + PG_DEADLINE_MS, &gone);
	if (!r || !res_ok(r) || PQntuples(r) != 1) {
		seterr(err, errlen, "cannot read the schema version: %s",
		       r ? PQresultErrorMessage(r) : PQerrorMessage(c));
		PQclear(r);
		return -1;
	}
	long v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v < 0 || v > 1000000 ? -1 : (int)v;
}

/* Applies the migrations above the database's version, each in one
 * transaction with the version it reaches. */
static int migrate(PGconn *c, char *err, size_t errlen)
{
	char sql[128], e[512];
	if (simple(c,
		   "BEGIN; SELECT pg_advisory_xact_lock(" /* one migrator at a time */
		   "7310017563265591666);"
		   "CREATE TABLE IF NOT EXISTS svcacct_schema (version int NOT NULL)",
		   e, sizeof(e)) < 0)
		goto fail;
	int v = schema_version(c, e, sizeof(e));
	if (v < 0)
		goto fail;
	if (v > PG_SCHEMA_VERSION) {
		simple(c, "ROLLBACK", e, sizeof(e));
		seterr(err, errlen,
		       "the database schema is version %d, newer than this svcacctd knows (%d): "
		       "upgrade svcacctd",
		       v, PG_SCHEMA_VERSION);
		return -1;
	}
	for (size_t n = (size_t)v; n < PG_SCHEMA_VERSION; n++) { /* migrations[n]: n -> n+1 */
		snprintf(sql, sizeof(sql),
			 "DELETE FROM svcacct_schema; INSERT INTO svcacct_schema VALUES (%zu)",
			 n + 1);
		if (simple(c, migrations[n], e, sizeof(e)) < 0 || simple(c, sql, e, sizeof(e)) < 0)
			goto fail;
		log_info("database schema migrated to version %zu", n + 1);
	}
	if (simple(c, "COMMIT", e, sizeof(e)) < 0)
		goto fail;
	return 0;
fail:
	simple(c, "ROLLBACK", sql, sizeof(sql));
	e[strcspn(e, "\r\n")] = '\0';
	seterr(err, errlen,
	       "cannot migrate the database schema to version %d: %s (run `svcacctd --migrate` "
	       "as the database owner)",
	       PG_SCHEMA_VERSION, e);
	return -1;
}

static int check_schema(PGconn *c, enum store_shared_mode mode, char *err, size_t errlen)
{
	int v = schema_version(c, err, errlen);
	if (v < 0)
		return -1;
	if (v > PG_SCHEMA_VERSION) {
		seterr(err, errlen,
		       "the database schema is version %d, newer than this svcacctd knows (%d): "
		       "upgrade svcacctd before starting it against this database",
		       v, PG_SCHEMA_VERSION);
		return -1;
	}
	if (v == PG_SCHEMA_VERSION && mode != STORE_MIGRATE)
		return 0;
	if (mode == STORE_CHECK) {
		seterr(err, errlen,
		       "the database schema is version %d, this svcacctd needs %d: run `svcacctd "
		       "--migrate` as the database owner",
		       v, PG_SCHEMA_VERSION);
		return -1;
	}
	return v == PG_SCHEMA_VERSION ? 0 : migrate(c, err, errlen);
}

/* ---- the change listener (its own thread and connection) ----------------- */

static int64_t max_seq(PGconn *c)
{
	int gone;
	if (!PQsendQuery(c, "SELECT coalesce(max(seq), 0) FROM svcacct_changes"))
		return -1;
	PGresult *r = collect(c, mono_ms() + PG_DEADLINE_MS, &gone);
	int64_t v =
		r && res_ok(r) && PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -1;
	PQclear(r);
	return v;
}

/* Follows the change log: LISTEN for the other hubs' notifications, and
 * look once a second anyway (a lost notification, a lost connection: the
 * next look finds the seq).  Tells the daemon's loop through efd_changes. */
static void *listener_main(void *arg)
{
	struct pg_store *p = arg;
	PGconn *lc = NULL;
	int64_t seen = atomic_load(&p->listen_seen);
	for (;;) {
		char err[256] = "";
		if (!lc) {
			lc = open_conn(p->conninfo, err, sizeof(err));
			if (lc && simple(lc, "LISTEN " PG_CHANNEL, err, sizeof(err)) < 0) {
				PQfinish(lc);
				lc = NULL;
			}
		}
		int64_t mx = lc ? max_seq(lc) : -1;
		if (lc && mx < 0) { /* lost: connect again soon, not in a second */
			PQfinish(lc);
			lc = NULL;
			struct pollfd st = { .fd = p->efd_stop, .events = POLLIN };
			if (poll(&st, 1, PG_RETRY_MS / 5) != 0)
				break;
			continue;
		}
		if (mx > seen) {
			seen = mx;
			atomic_store(&p->listen_seen, mx);
			uint64_t one = 1;
			if (write(p->efd_changes, &one, sizeof(one)) < 0)
				(void)0; /* the counter is full: already readable */
		}
		struct pollfd pf[2] = { { .fd = p->efd_stop, .events = POLLIN },
					{ .fd = lc ? PQsocket(lc) : -1, .events = POLLIN } };
		if (poll(pf, 2, 1000) < 0 && errno != EINTR)
			break;
		if (pf[0].revents)
			break;
		if (lc && pf[1].revents) {
			if (!PQconsumeInput(lc)) {
				PQfinish(lc);
				lc = NULL;
				continue;
			}
			PGnotify *nt;
			while ((nt = PQnotifies(lc)))
				PQfreemem(nt);
		}
	}
	PQfinish(lc);
	return NULL;
}

/* ---- open and close -------------------------------------------------------- */

struct pg_store *pgs_open(const char *conninfo, const char *host, enum store_shared_mode mode,
			  char *err, size_t errlen)
{
	struct pg_store *p = calloc(1, sizeof(*p));
	if (!p || !(p->conninfo = strdup(conninfo))) {
		free(p);
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(p->host, sizeof(p->host), "%s", host);
	p->open_gen = 1;
	p->efd_flush = p->efd_changes = p->efd_stop = -1;
	if (!(p->cache = pgc_new())) {
		free(p->conninfo);
		free(p);
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	p->c = open_conn(conninfo, err, errlen);
	if (!p->c || check_schema(p->c, mode, err, errlen) < 0)
		goto fail;
	if (mode != STORE_SERVE)
		return p;
	if (prepare_all(p->c, err, errlen) < 0)
		goto fail;
	p->last_seq = max_seq(p->c);
	if (p->last_seq < 0) {
		seterr(err, errlen, "cannot read the change log: %s", PQerrorMessage(p->c));
		goto fail;
	}
	atomic_store(&p->listen_seen, p->last_seq);
	p->efd_flush = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->efd_changes = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->efd_stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	/* The listener takes no signal: SIGTERM and SIGHUP are the loop's
	 * (its signalfd), not a thread's default action. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int started = p->efd_flush >= 0 && p->efd_changes >= 0 && p->efd_stop >= 0 &&
		      pthread_create(&p->listener, NULL, listener_main, p) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!started) {
		seterr(err, errlen, "cannot start the change listener: %s", strerror(errno));
		goto fail;
	}
	p->listener_up = 1;
	return p;
fail:
	pgs_close(p);
	return NULL;
}

void pgs_close(struct pg_store *p)
{
	if (!p)
		return;
	if (p->in_txn && pgs_flush(p) < 0)
		log_err("the last changes could not be committed: %s", p->errmsg);
	if (p->listener_up) {
		uint64_t one = 1;
		if (write(p->efd_stop, &one, sizeof(one)) < 0)
			log_warn("cannot stop the change listener");
		pthread_join(p->listener, NULL);
	}
	PQfinish(p->c);
	int fds[] = { p->efd_flush, p->efd_changes, p->efd_stop };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	pgc_free(p->cache);
	free(p->conninfo);
	free(p);
}

int pgs_unavailable(const struct pg_store *p)
{
	return p->unavailable;
}

const char *pgs_error(const struct pg_store *p)
{
	return p->errmsg[0] ? p->errmsg : "database error";
}

/* ---- reads ------------------------------------------------------------------ */

/* Audit records (db audit, "seq/N") live in their own table. */
static int audit_seq(enum store_db db, const char *key, char *num, size_t len)
{
	if (db != DB_AUDIT || strncmp(key, "seq/", 4) != 0)
		return 0;
	const char *d = key + 4;
	while (*d == '0' && d[1])
		d++;
	snprintf(num, len, "%s", d);
	return 1;
}

/* The cache's name of a record: "DB:KEY". */
static int cache_key(enum store_db db, const char *key, char *out, size_t len)
{
	return (size_t)snprintf(out, len, "%d:%s", (int)db, key) < len ? 0 : -1;
}

static int copy_out(const uint8_t *v, size_t n, uint8_t **val, size_t *vlen)
{
	uint8_t *c = malloc(n ? n : 1);
	if (!c)
		return -1;
	memcpy(c, v, n);
	*val = c;
	*vlen = n;
	return 1;
}

/* An audit row's host and ts columns are for SQL readers; they must say
 * what the hash-chained record says (records from before hosts were
 * recorded name none).  rec: version:1 prev:32 ts_ms:8 json. */
static int audit_columns_match(const PGresult *r, const uint8_t *rec, size_t len)
{
	if (len < 41 || PQgetlength(r, 0, 2) != 8)
		return 0;
	const uint8_t *c = (const uint8_t *)PQgetvalue(r, 0, 2);
	for (int i = 0; i < 8; i++)
		if (c[i] != rec[33 + i])
			return 0;
	const char *json = (const char *)rec + 41, *end = (const char *)rec + len;
	const char *h = memmem(json, (size_t)(end - json), "\"host\":\"", 8);
	if (!h)
		return 1;
	h += 8;
	size_t hl = (size_t)PQgetlength(r, 0, 1);
	return (size_t)(end - h) > hl && memcmp(h, PQgetvalue(r, 0, 1), hl) == 0 && h[hl] == '"';
}

/* One record from the database itself. */
static int db_get(struct pg_store *p, enum store_db db, const char *key, uint8_t **val,
		  size_t *vlen)
{
	char num[32], dbs[4];
	PGresult *r;
	if (audit_seq(db, key, num, sizeof(num))) {
		const char *v[] = { num };
		r = run(p, S_AGET, 1, v, NULL, NULL);
	} else {
		snprintf(dbs, sizeof(dbs), "%d", (int)db);
		const char *v[] = { dbs, key };
		r = run(p, S_GET, 2, v, NULL, NULL);
	}
	if (!r)
		return -1;
	int ret = !res_ok(r)          ? -1
		  : PQntuples(r) == 0 ? 0
				      : copy_out((const uint8_t *)PQgetvalue(r, 0, 0),
						 (size_t)PQgetlength(r, 0, 0), val, vlen);
	if (ret == 1 && PQnfields(r) == 3 && *vlen > 33 && !audit_columns_match(r, *val, *vlen))
		(*val)[33] ^= 0xff; /* as if edited: audit verify reports this row */
	PQclear(r);
	return ret;
}

/* Under the write lock the cache is exact: a record read once is not read
 * again until another hub changes it.  Without the lock (a command that
 * only reads), always the database. */
int pgs_get(struct pg_store *p, enum store_db db, const char *key, uint8_t **val, size_t *vlen)
{
	char ck[320];
	const uint8_t *cv;
	size_t cl;
	if (!p->in_txn)
		return db_get(p, db, key, val, vlen);
	if (p->txn_lost || cache_key(db, key, ck, sizeof(ck)) < 0)
		return -1;
	int h = pgc_get(p->cache, ck, &cv, &cl);
	if (h == 1)
		return copy_out(cv, cl, val, vlen);
	if (h == 0)
		return 0;
	int r = db_get(p, db, key, val, vlen);
	if (r >= 0 && db != DB_AUDIT)
		pgc_fill(p->cache, ck, r ? *val : NULL, r ? *vlen : 0, r);
	return r;
}

struct rows {
	PGresult *r;
	const char *prefix;
	size_t plen;
	struct pg_store *p;
	enum store_db db;
	store_iter_fn fn;
	void *arg;
};

/* A record the batch wrote that the database does not list yet. */
static int overlay_new(void *arg, const char *ck, const uint8_t *val, size_t vlen, int present)
{
	struct rows *x = arg;
	char pre[8];
	int n = snprintf(pre, sizeof(pre), "%d:", (int)x->db);
	if (!present || strncmp(ck, pre, (size_t)n) || strncmp(ck + n, x->prefix, x->plen))
		return 0;
	for (int i = 0; i < PQntuples(x->r); i++)
		if (!strcmp(PQgetvalue(x->r, i, 0), ck + n))
			return 0; /* listed: given with the database's rows */
	return x->fn(x->arg, ck + n, strlen(ck + n), val, vlen);
}

/* Every row is fetched before fn runs, so fn may use the store.  In a
 * transaction the batch's own writes show (changed, added, deleted). */
int pgs_iterate(struct pg_store *p, enum store_db db, const char *prefix, store_iter_fn fn,
		void *arg)
{
	char dbs[4];
	if (p->txn_lost)
		return -1;
	snprintf(dbs, sizeof(dbs), "%d", (int)db);
	const char *v[] = { dbs, prefix };
	const int fmts[] = { 0, 0 };
	PGresult *r = run(p, S_ITER, 2, v, NULL, fmts);
	if (!r)
		return -1;
	if (!res_ok(r)) {
		PQclear(r);
		return -1;
	}
	int ret = 0;
	for (int i = 0; i < PQntuples(r) && !ret; i++) {
		char *k = strndup(PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0));
		char ck[320];
		const uint8_t *val = (const uint8_t *)PQgetvalue(r, i, 1);
		size_t vlen = (size_t)PQgetlength(r, i, 1);
		if (!k) {
			ret = -1;
			break;
		}
		int h = p->in_txn && cache_key(db, k, ck, sizeof(ck)) == 0
				? pgc_get(p->cache, ck, &val, &vlen)
				: -1;
		if (h != 0)
			ret = fn(arg, k, strlen(k), val, vlen);
		free(k);
	}
	if (!ret && p->in_txn) {
		struct rows x = { r, prefix, strlen(prefix), p, db, fn, arg };
		ret = pgc_each_dirty(p->cache, overlay_new, &x);
	}
	PQclear(r);
	return ret;
}

/* ---- writes ------------------------------------------------------------------ */

/* The other hubs' changes since the cache was exact: forget those records
 * (everything, when there are many or the log no longer reaches back). */
static void cache_catch_up(struct pg_store *p, int64_t now_seq)
{
	if (now_seq == p->cache_seq)
		return;
	if (!p->cache_seq || now_seq < p->cache_seq || now_seq - p->cache_seq > 256) {
		pgc_clear(p->cache);
		p->cache_seq = now_seq;
		return;
	}
	char last[24];
	snprintf(last, sizeof(last), "%" PRId64, p->cache_seq);
	const char *v[] = { last };
	PGresult *r = run(p, S_SINCE, 1, v, NULL, NULL);
	int rows = r && res_ok(r) ? PQntuples(r) : -1;
	if (rows < 0)
		pgc_clear(p->cache);
	for (int i = 0; i < rows; i++) {
		char *keys = strndup(PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1));
		char *save = NULL;
		if (!keys) {
			pgc_clear(p->cache);
			break;
		}
		for (char *k = strtok_r(keys, "\n", &save); k; k = strtok_r(NULL, "\n", &save))
			pgc_forget(p->cache, k);
		free(keys);
	}
	PQclear(r);
	p->cache_seq = now_seq;
}

/* Takes what the lock query says is current: the audit chain's head and
 * high-water mark (written with every audit record, no change-log row). */
static void cache_fill_text(struct pg_store *p, const char *ck, const PGresult *r, int col)
{
	if (PQgetisnull(r, 0, col)) {
		pgc_fill(p->cache, ck, NULL, 0, 0);
		return;
	}
	size_t n = 0;
	unsigned char *v = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, col), &n);
	if (v)
		pgc_fill(p->cache, ck, v, n, 1);
	else
		pgc_forget(p->cache, ck);
	PQfreemem(v);
}

/* A writer's transaction: BEGIN, the organization's write lock, then (in
 * a statement of its own, so its snapshot follows the lock) where the
 * change log and the audit chain stand. */
void pgs_write_intent(struct pg_store *p)
{
	if (p->in_txn)
		return;
	p->txn_lost = 0;
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "BEGIN; SELECT pg_advisory_xact_lock(%lld); "
		 "SELECT coalesce(max(seq), 0), "
		 "(SELECT v FROM svcacct_kv WHERE db = 1 AND k = 'head'), "
		 "(SELECT v FROM svcacct_kv WHERE db = 0 AND k = 'audit/high') "
		 "FROM svcacct_changes",
		 PG_WRITE_LOCK);
	PGresult *r = send_collect(p, -1, sql, 0, NULL, NULL, NULL);
	int ok = r && res_ok(r) && PQntuples(r) == 1 && PQnfields(r) == 3;
	/* Failed: the batch fails fast until the flush ends it. */
	p->in_txn = 1;
	p->txn_lost = !ok;
	if (r && !ok)
		set_pgerr(p, "database", PQresultErrorMessage(r));
	if (ok) {
		cache_catch_up(p, strtoll(PQgetvalue(r, 0, 0), NULL, 10));
		cache_fill_text(p, "1:head", r, 1);
		cache_fill_text(p, "0:audit/high", r, 2);
	}
	PQclear(r);
}

void pgs_begin(struct pg_store *p)
{
	pgs_write_intent(p);
	p->in_sub = 1;
	p->sub_mark = pgc_mark(p->cache);
}

/* Writes wait in the cache until the flush writes the batch. */
static int write_rec(struct pg_store *p, enum store_db db, const char *key, const uint8_t *val,
		     size_t vlen, int present)
{
	char ck[320];
	if (p->txn_lost || !p->in_sub || cache_key(db, key, ck, sizeof(ck)) < 0)
		return -1;
	return pgc_write(p->cache, ck, val, vlen, present);
}

int pgs_put(struct pg_store *p, enum store_db db, const char *key, const uint8_t *val, size_t vlen)
{
	return write_rec(p, db, key, val, vlen, 1);
}

int pgs_del(struct pg_store *p, enum store_db db, const char *key)
{
	char num[32];
	if (audit_seq(db, key, num, sizeof(num))) {
		snprintf(p->errmsg, sizeof(p->errmsg), "the audit table is append-only");
		return -1;
	}
	return write_rec(p, db, key, NULL, 0, 0);
}

int pgs_commit(struct pg_store *p)
{
	if (!p->in_sub)
		return -1;
	if (p->txn_lost) {
		pgs_abort(p);
		return -1;
	}
	p->in_sub = 0;
	return 0;
}

void pgs_abort(struct pg_store *p)
{
	if (!p->in_sub)
		return;
	pgc_undo_to(p->cache, p->sub_mark);
	p->in_sub = 0;
}

static void remember_own(struct pg_store *p, int64_t seq)
{
	p->own[p->nown++ % OWN_SEQS] = seq;
}

static int is_own(const struct pg_store *p, int64_t seq)
{
	size_t n = p->nown < OWN_SEQS ? p->nown : OWN_SEQS;
	for (size_t i = 0; i < n; i++)
		if (p->own[i] == seq)
			return 1;
	return 0;
}

/* ---- the batch as one statement list ------------------------------------------ */

struct sqlbuf {
	char *s;
	size_t len, cap;
	int oom;
};

static void sb_add(struct sqlbuf *b, const char *t, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *s = realloc(b->s, cap);
		if (!s) {
			b->oom = 1;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
	memcpy(b->s + b->len, t, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_str(struct sqlbuf *b, const char *t)
{
	sb_add(b, t, strlen(t));
}

/* A text literal, quoted by libpq for this connection. */
static void sb_lit(struct sqlbuf *b, PGconn *c, const char *t)
{
	char *q = PQescapeLiteral(c, t, strlen(t));
	if (!q) {
		b->oom = 1;
		return;
	}
	sb_str(b, q);
	PQfreemem(q);
}

static void sb_bytea(struct sqlbuf *b, PGconn *c, const uint8_t *v, size_t n)
{
	size_t qn;
	unsigned char *q = PQescapeByteaConn(c, v, n, &qn);
	if (!q) {
		b->oom = 1;
		return;
	}
	sb_str(b, "'");
	sb_str(b, (const char *)q);
	sb_str(b, "'::bytea");
	PQfreemem(q);
}

struct batch_sql {
	struct sqlbuf up, del, aud, keys;
	size_t nup, ndel, naud, nkeys;
	PGconn *c;
	const char *host;
};

/* The host an audit record names (its first "host" member, as
 * audit_columns_match reads it): an agent's forwarded record names the
 * agent, whose row then says so too.  buf, or NULL when it names none. */
static const char *rec_host(const uint8_t *rec, size_t len, char *buf, size_t buflen)
{
	if (len < 41)
		return NULL;
	const char *json = (const char *)rec + 41, *end = (const char *)rec + len;
	const char *h = memmem(json, (size_t)(end - json), "\"host\":\"", 8);
	if (!h)
		return NULL;
	h += 8;
	const char *q = memchr(h, '"', (size_t)(end - h));
	if (!q || (size_t)(q - h) >= buflen || memchr(h, '\\', (size_t)(q - h)))
		return NULL;
	memcpy(buf, h, (size_t)(q - h));
	buf[q - h] = '\0';
	return buf;
}

static int batch_rec(void *arg, const char *ck, const uint8_t *val, size_t vlen, int present)
{
	struct batch_sql *x = arg;
	int db = ck[0] - '0';
	const char *key = ck + 2;
	char num[32];
	if (audit_seq((enum store_db)db, key, num, sizeof(num))) {
		uint64_t ms = 0;
		for (size_t i = 0; i < 8 && 33 + i < vlen; i++)
			ms = ms << 8 | val[33 + i];
		char head[96];
		snprintf(head, sizeof(head), "%s(%s, ", x->naud++ ? ", " : "", num);
		sb_str(&x->aud, head);
		char named[256];
		const char *host = rec_host(val, vlen, named, sizeof(named));
		sb_lit(&x->aud, x->c, host ? host : x->host);
		snprintf(head, sizeof(head), ", to_timestamp(%" PRIu64 " / 1000.0), ", ms);
		sb_str(&x->aud, head);
		sb_bytea(&x->aud, x->c, val, vlen);
		sb_str(&x->aud, ")");
		return 0;
	}
	struct sqlbuf *b = present ? &x->up : &x->del;
	char head[32];
	snprintf(head, sizeof(head), "%s(%d, ", (present ? x->nup++ : x->ndel++) ? ", " : "", db);
	sb_str(b, head);
	sb_lit(b, x->c, key);
	if (present) {
		sb_str(b, ", ");
		sb_bytea(b, x->c, val, vlen);
	}
	sb_str(b, ")");
	/* The audit chain's own records need no change-log entry: no hub
	 * keeps a copy of them (and a login then costs no log row).  Nor do
	 * the hosts' fetch times (hsync/, model/hosts.c): an agent's fetch
	 * must not wake every agent's long poll. */
	if (db != DB_AUDIT && strcmp(key, "audit/high") != 0 && strncmp(key, "hsync/", 6) != 0 &&
	    x->nkeys < MAX_BATCH_KEYS) {
		sb_str(&x->keys, x->nkeys++ ? ", " : "");
		sb_lit(&x->keys, x->c, ck);
	}
	return 0;
}

/* The batch's writes, its change-log row and notification, as SQL. */
static char *batch_statements(struct pg_store *p, PGconn *c)
{
	struct batch_sql x = { .c = c, .host = p->host };
	pgc_each_dirty(p->cache, batch_rec, &x);
	struct sqlbuf q = { 0 };
	if (x.nup) {
		sb_str(&q, "INSERT INTO svcacct_kv (db, k, v) VALUES ");
		sb_add(&q, x.up.s, x.up.len);
		sb_str(&q, " ON CONFLICT (db, k) DO UPDATE SET v = EXCLUDED.v;");
	}
	if (x.ndel) {
		sb_str(&q, "DELETE FROM svcacct_kv WHERE (db, k) IN (VALUES ");
		sb_add(&q, x.del.s, x.del.len);
		sb_str(&q, ");");
	}
	if (x.naud) {
		sb_str(&q, "INSERT INTO svcacct_audit (seq, host, ts, rec) VALUES ");
		sb_add(&q, x.aud.s, x.aud.len);
		sb_str(&q, ";");
	}
	if (x.nkeys) {
		/* Under the lock: seq = the one the lock saw + 1, in commit order. */
		char seq[160];
		snprintf(seq, sizeof(seq),
			 "INSERT INTO svcacct_changes (seq, host, keys) VALUES (%" PRId64 ", ",
			 p->cache_seq + 1);
		sb_str(&q, seq);
		sb_lit(&q, c, p->host);
		sb_str(&q, ", ARRAY[");
		sb_add(&q, x.keys.s, x.keys.len);
		snprintf(seq, sizeof(seq),
			 "]::text[]); SELECT pg_notify('" PG_CHANNEL "', '%" PRId64 "');",
			 p->cache_seq + 1);
		sb_str(&q, seq);
		/* Now and then, the log forgets what every hub has long read (a
		 * hub that was away longer resynchronizes in full: "*"). */
		if ((p->cache_seq + 1) % CHANGES_PRUNE_EVERY == 0) {
			snprintf(seq, sizeof(seq),
				 "DELETE FROM svcacct_changes WHERE seq <= %" PRId64
				 " AND ts < now() - interval '%d seconds';",
				 p->cache_seq, CHANGES_KEEP_S);
			sb_str(&q, seq);
		}
	}
	int oom = q.oom || x.up.oom || x.del.oom || x.aud.oom || x.keys.oom;
	free(x.up.s);
	free(x.del.s);
	free(x.aud.s);
	free(x.keys.s);
	if (oom) {
		free(q.s);
		return NULL;
	}
	return q.s ? q.s : strdup("");
}

/* Writes the batch and COMMITs: durable, in PostgreSQL, when this returns
 * 0.  One round trip (two with the test's late-committer fault). */
int pgs_flush(struct pg_store *p)
{
	if (!p->in_txn)
		return 0;
	if (p->in_sub)
		pgs_abort(p); /* never commit half a transaction */
	int changed = pgc_dirty_count(p->cache) > 0;
	int logged = 0, ok = !p->txn_lost && p->c;
	char *sql = ok ? batch_statements(p, p->c) : NULL;
	if (ok && !sql) {
		ok = 0;
		snprintf(p->errmsg, sizeof(p->errmsg), "out of memory");
	}
	if (ok) {
		logged = strstr(sql, "svcacct_changes") != NULL;
		if (logged && fault_hit("pg_commit_delay")) {
			/* tests: a late committer (the skipped-writer hazard) */
			ok = !*sql || run_simple(p, sql) == 0;
			poll(NULL, 0, 1500);
			ok = ok && run_simple(p, "COMMIT") == 0;
		} else {
			size_t n = strlen(sql);
			char *all = realloc(sql, n + 8);
			if (all) {
				sql = all;
				memcpy(sql + n, "COMMIT", 7);
				ok = run_simple(p, sql) == 0;
			} else {
				ok = 0;
			}
		}
	}
	free(sql);
	if (!ok && p->c && PQtransactionStatus(p->c) != PQTRANS_IDLE)
		run_simple(p, "ROLLBACK");
	p->in_txn = 0;
	p->txn_lost = 0;
	pgc_settle(p->cache, ok);
	if (ok && logged) {
		p->cache_seq++;
		remember_own(p, p->cache_seq);
	}
	if (!ok)
		p->cache_seq = 0; /* not known: the next lock reads it */
	if (!changed)
		return 0;
	if (ok) {
		p->durable_gen = p->open_gen++;
		return 0;
	}
	log_err("database commit failed, the batch was undone: %s", p->errmsg);
	p->failed_gen = p->open_gen++;
	return -1;
}

int pgs_dirty(const struct pg_store *p)
{
	return p->in_txn; /* also a transaction that only holds the lock */
}

int pgs_flush_fd(struct pg_store *p)
{
	return p->efd_flush;
}

uint64_t pgs_pending_gen(const struct pg_store *p)
{
	return p->in_txn && pgc_dirty_count(p->cache) ? p->open_gen : 0;
}

uint64_t pgs_durable_gen(const struct pg_store *p)
{
	return p->durable_gen;
}

uint64_t pgs_take_failure(struct pg_store *p)
{
	uint64_t f = p->failed_gen;
	p->failed_gen = 0;
	return f;
}

/* ---- following the change log ------------------------------------------------ */

int pgs_changes_fd(struct pg_store *p)
{
	return p->efd_changes;
}

/* Under the lock cache_seq is the log's max; outside it the newer of the
 * last own commit and the last change read. */
uint64_t pgs_change_seq(const struct pg_store *p)
{
	int64_t v = p->in_txn ? p->cache_seq
			      : (p->cache_seq > p->last_seq ? p->cache_seq : p->last_seq);
	return v > 0 ? (uint64_t)v : 0;
}

/* The keys changed in (since, upto], own commits included, for a delta
 * (an agent's, net/agent_api.c).  0 every row read, 1 the log no longer
 * holds all of them (pruned, or a batch whose key list was cut at
 * MAX_BATCH_KEYS), -1 error.  fn returning non-zero stops: 2. */
int pgs_changes_between(struct pg_store *p, uint64_t since, uint64_t upto,
			int (*fn)(void *arg, const char *key), void *arg)
{
	uint64_t next = since + 1;
	while (next <= upto) {
		char last[24];
		snprintf(last, sizeof(last), "%" PRIu64, next - 1);
		const char *v[] = { last };
		const int fmts[] = { 0 };
		PGresult *r = run(p, S_SINCE, 1, v, NULL, fmts);
		if (!r || !res_ok(r)) {
			PQclear(r);
			return -1;
		}
		int rows = PQntuples(r), ret = 0;
		for (int i = 0; i < rows && ret == 0 && next <= upto; i++, next++) {
			const uint8_t *b = (const uint8_t *)PQgetvalue(r, i, 0);
			uint64_t seq = 0; /* binary results: int8, big-endian */
			for (int j = 0; j < 8 && PQgetlength(r, i, 0) == 8; j++)
				seq = seq << 8 | b[j];
			char *keys = seq == next ? strndup(PQgetvalue(r, i, 1),
							   (size_t)PQgetlength(r, i, 1))
						 : NULL;
			size_t nk = 0;
			char *save = NULL;
			if (!keys) {
				ret = seq == next ? -1 : 1; /* a gap: pruned */
				break;
			}
			for (char *k = strtok_r(keys, "\n", &save); k && !ret;
			     k = strtok_r(NULL, "\n", &save), nk++)
				ret = fn(arg, k) ? 2 : 0;
			free(keys);
			if (!ret && nk >= MAX_BATCH_KEYS)
				ret = 1; /* the row's list may be cut */
		}
		PQclear(r);
		if (ret)
			return ret;
		if (rows == 0)
			return next <= upto ? 1 : 0;
	}
	return 0;
}

/* Reads the change log past last_seq, in seq (= commit) order, and calls
 * fn for every key the other hubs changed ("*": everything, when the log
 * no longer reaches back to last_seq).  Returns the number of changes. */
int pgs_poll_changes(struct pg_store *p, store_change_fn fn, void *arg)
{
	uint64_t n;
	if (read(p->efd_changes, &n, sizeof(n)) < 0)
		(void)0; /* not readable: a periodic look */
	int total = 0;
	for (;;) {
		char last[24];
		snprintf(last, sizeof(last), "%" PRId64, p->last_seq);
		const char *v[] = { last };
		const int fmts[] = { 0 };
		PGresult *r = run(p, S_SINCE, 1, v, NULL, fmts);
		if (!r || !res_ok(r)) {
			PQclear(r);
			return total ? total : -1;
		}
		int rows = PQntuples(r);
		for (int i = 0; i < rows; i++) {
			const uint8_t *b = (const uint8_t *)PQgetvalue(r, i, 0);
			int64_t seq = 0;
			for (int j = 0; j < 8; j++)
				seq = (int64_t)((uint64_t)seq << 8 | b[j]);
			if (i == 0 && p->last_seq && seq != p->last_seq + 1)
				fn(arg, "*"); /* pruned past us: resynchronize */
			p->last_seq = seq;
			if (is_own(p, seq))
				continue;
			total++;
			char *keys = strndup(PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1));
			char *save = NULL;
			for (char *k = keys ? strtok_r(keys, "\n", &save) : NULL; k;
			     k = strtok_r(NULL, "\n", &save))
				fn(arg, k);
			if (!keys)
				fn(arg, "*");
			free(keys);
		}
		PQclear(r);
		if (rows < CHANGES_PAGE_ROWS)
			return total;
	}
}

/* ---- how far behind the hosts are (host list's lag_s) ----------------------
 * One query for the whole list: for each distinct seq, the time of the
 * first change logged after it (an index step on the primary key), with
 * the log's newest seq and the database's clock (the change log's times
 * are the database's: no skew between hubs). */
int pgs_change_times(struct pg_store *p, const uint64_t *seqs, size_t n, int64_t *first_ms,
		     uint64_t *cur_seq, int64_t *now_ms)
{
	struct sqlbuf q = { 0 };
	char num[32];
	sb_str(&q, "SELECT coalesce((SELECT (extract(epoch FROM ts) * 1000)::bigint "
		   "FROM svcacct_changes WHERE seq > u.s ORDER BY seq LIMIT 1), 0), "
		   "(SELECT coalesce(max(seq), 0) FROM svcacct_changes), "
		   "(extract(epoch FROM clock_timestamp()) * 1000)::bigint "
		   "FROM unnest(ARRAY[0");
	for (size_t i = 0; i < n; i++) {
		snprintf(num, sizeof(num), ",%" PRIu64, seqs[i] > INT64_MAX ? 0 : seqs[i]);
		sb_str(&q, num);
	}
	sb_str(&q, "]::bigint[]) WITH ORDINALITY AS u(s, i) ORDER BY u.i");
	if (q.oom) {
		free(q.s);
		return -1;
	}
	PGresult *r = send_collect(p, -1, q.s, 0, NULL, NULL, NULL);
	free(q.s);
	int ok = r && res_ok(r) && PQntuples(r) == (int)n + 1 && PQnfields(r) == 3;
	if (r && !ok)
		set_pgerr(p, "change times", PQresultErrorMessage(r));
	for (size_t i = 0; ok && i < n; i++)
		first_ms[i] = strtoll(PQgetvalue(r, (int)i + 1, 0), NULL, 10);
	if (ok) {
		long long cur = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		*cur_seq = cur > 0 ? (uint64_t)cur : 0;
		*now_ms = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	}
	PQclear(r);
	return ok ? 0 : -1;
}
