/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The audit trail: every event is a JSON object, stored in the audit
 * database inside the same transaction as the change it describes, and sent
 * to syslog (LOG_AUTHPRIV, ident svcacctd) once that transaction is durable.
 *
 * Records are hash-chained: record N is  version:u8 prev:32 json  where prev
 * is the BLAKE2b-256 of record N-1's bytes; "head" holds the last seq, the
 * hash of the last record and a keyed BLAKE2b MAC of both (key: the
 * root-only audit_key_file), so the head cannot be rewritten to cut off the
 * newest records without the daemon's key.  The highest seq ever issued is
 * kept (MACed) in state.db too: a head rolled back to an older copy is
 * caught, and no seq is issued twice.  audit_verify walks the chain and
 * checks both.
 */
#ifndef SVCACCTD_AUDIT_H
#define SVCACCTD_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "audit_event.h"
#include "config.h"
#include "proto.h"
#include "store.h"

/* Loads (or creates) the audit key, reads the head and checks it: a head
 * from before the MAC gets one (event audit.mac); a head that fails its
 * checks is logged and recorded (audit.tamper), and the chain goes on
 * after the highest seq ever issued. */
struct audit *audit_open(struct store *s, const struct svca_config *cfg, char *err, size_t errlen);
void audit_close(struct audit *a);
/* Points the syslog sink at the (reloaded) configuration. */
void audit_configure(struct audit *a, const struct svca_config *cfg);

/* Appends an event inside the caller's open store transaction.
 * 0 ok, -1 failed (the caller aborts the transaction). */
int audit_append(struct audit *a, const struct audit_event *ev);

/* The newest event's seq. */
uint64_t audit_head(const struct audit *a);
/* The newest event whose batch is durable (on a shared store: the head). */
uint64_t audit_durable_head(const struct audit *a);

/* Appends a record whose JSON text build() makes for the seq and time it
 * gets (a malloc'ed string, NULL on failure), in the caller's open
 * transaction, like audit_append (which is this with the event's JSON). */
typedef char *(*audit_build_fn)(void *ctx, uint64_t seq, int64_t ts_ms);
int audit_append_with(struct audit *a, audit_build_fn build, void *ctx);

/* One record as stored: its chain fields and its JSON text. */
struct audit_rec {
	uint64_t seq;
	uint64_t ts_ms;
	uint8_t prev[32]; /* the previous record's hash */
	uint8_t hash[32]; /* this record's (what the next one's prev is) */
	char *json;       /* malloc'ed, NUL-terminated; free() it */
	size_t len;
};
/* 1 read, 0 absent, -1 unreadable or malformed. */
int audit_record_get(struct audit *a, uint64_t seq, struct audit_rec *out);
/* The hash a record with these fields has (BLAKE2b-256 of its bytes). */
void audit_record_hash(const uint8_t prev[32], uint64_t ts_ms, const char *json, size_t len,
		       uint8_t out[32]);

/* Marks the start of a transaction; audit_rollback(a, mark) forgets the
 * events appended since (the transaction was aborted). */
size_t audit_mark(const struct audit *a);
void audit_rollback(struct audit *a, size_t mark);

/* After a store flush (synchronous or finished in the background): sends
 * the pending lines whose batch is now durable to syslog (bounded by
 * audit_timeout_ms); !ok also drops the rest (they were undone) and
 * re-reads the chain head. */
void audit_flushed(struct audit *a, int ok);

/* Lists events oldest first into the reply (F_ITEM F_SEQ F_JSON).
 * limit keeps the newest N matches (0 = all). */
int audit_list(struct audit *a, struct svca_buf *reply, const char *account, const char *event,
	       uint64_t since_ms, uint64_t limit);
/* The same, also filtered on the record's "host" (NULL or "": any). */
int audit_list_host(struct audit *a, struct svca_buf *reply, const char *account, const char *event,
		    const char *host, uint64_t since_ms, uint64_t limit);

/* What audit_list_filter keeps (NULL, "" or 0: no condition). */
struct audit_filter {
	const char *account;        /* subject.account or actor.account */
	const char *const *key_ids; /* ... or subject.key_id among these */
	size_t nkey_ids;
	const char *event;           /* exact; "x." a prefix; with * ? [ an fnmatch glob */
	const char *outcome;         /* success | failure | denied */
	const char *service;         /* the record's "service" (PAM) */
	const char *host;            /* the record's "host" */
	uint64_t since_ms, until_ms; /* both inclusive */
	uint64_t after_seq;          /* only records with a larger seq */
	uint64_t limit;              /* the newest N matches */
};
int audit_list_filter(struct audit *a, struct svca_buf *reply, const struct audit_filter *f);
/* Whether an event pattern (as audit_filter.event) matches the type. */
int audit_event_type_matches(const char *pattern, const char *type);

/* Walks the chain.  0 intact (*checked = records), -1 broken: *bad_seq and
 * msg say where. */
int audit_verify(struct audit *a, uint64_t *checked, uint64_t *bad_seq, char *msg, size_t msglen);
/* The same, calling each(ctx, seq, parsed record, msg, msglen) for every
 * record that links (in seq order): -1 from it stops the walk with its
 * message (bad_seq = that record). */
struct json_t;
typedef int (*audit_each_fn)(void *ctx, uint64_t seq, struct json_t *rec, char *msg, size_t msglen);
int audit_verify_each(struct audit *a, audit_each_fn each, void *ctx, uint64_t *checked,
		      uint64_t *bad_seq, char *msg, size_t msglen);

#endif
