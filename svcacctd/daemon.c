/* SPDX-License-Identifier: GPL-3.0-or-later */
/* svcacctd's top floor (daemon.c): what owns the daemon's life after
 * start-up (main.c): the tick, reload, daemon audit events and the one
 * path by which a batch of changes becomes durable.  The layers below
 * reach these through d->ops (daemon.h), never by including this. */
#include "lifecycle.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "agentapply.h"
#include "agentkeys.h"
#include "agentsync.h"
#include "audit.h"
#include "audit_fleet.h"
#include "auditfwd.h"
#include "http.h"
#include "keys.h"
#include "log.h"
#include "nss_snapshot.h"
#include "readiness.h"
#include "sshca.h"
#include "orgsecrets.h"
#include "orgsettings.h"
#include "request.h"
#include "refusals.h"
#include "server.h"
#include "sockio.h"
#include "tokens.h"

/* ---- durability ---------------------------------------------------------- */

/* The front that serves the agents' long polls (hub mode). */
static struct http_front *front;

void daemon_set_front(struct http_front *h)
{
	front = h;
}

static void daemon_audit_feed(struct daemon *d, int may_drop);

/* A batch of changes became durable (ok) or was undone (!ok).  In this
 * order: undone audit lines are forgotten; the NSS snapshot is rewritten
 * (getent sees an account as soon as `account create` returns); the
 * replies that waited for the batch go out (release, when given); the
 * syslog copies of the audit events (the durable copy is in the audit
 * database) only after them. */
void daemon_settled(struct daemon *d, int ok, void (*release)(void *arg), void *arg)
{
	if (!ok)
		audit_flushed(d->audit, 0); /* forget the undone events first */
	if (ok && d->nss_dirty)
		nss_snapshot_write(d);
	if (ok)
		sshca_files_sync(d); /* sshd's CA keys and KRL, when they changed */
	if (release)
		release(arg);
	if (ok)
		audit_flushed(d->audit, 1);
	if (ok)
		http_agents_wake(front); /* this hub's change reached the log */
	if (ok)
		daemon_audit_feed(d, 0); /* new durable records for the hubs */
}

/* Makes the open batch durable now (a reply that cannot wait for the
 * loop's group commit).  0 ok, -1 the write failed and was undone. */
int daemon_flush(struct daemon *d)
{
	int ok = store_flush(d->store) == 0;
	daemon_settled(d, ok, NULL, NULL);
	return ok ? 0 : -1;
}

static void daemon_agent_follow(struct daemon *d);

static const struct daemon_ops ops = {
	.flush = daemon_flush,
	.settled = daemon_settled,
	.tick = daemon_tick,
	.reload = daemon_reload,
	.agent_enrolled = daemon_agent_follow,
};

void daemon_init(struct daemon *d)
{
	d->ops = &ops;
}

/* ---- agent mode: following the hubs ----------------------------------------- */

static struct server *loop_srv;

void daemon_set_server(struct server *srv)
{
	loop_srv = srv;
}

/* The organization settings the hubs sent (orgsettings.h); a bad record
 * keeps the running values. */
static void daemon_agent_settings(struct daemon *d)
{
	char err[160];
	int changed = 0;
	int r = org_settings_load(d->store, &d->cfg, &changed, err, sizeof(err));
	if (r < 0)
		log_err("the organization settings of the applied snapshot are not used (%s): "
			"keeping the running ones",
			err);
	else if (r == 1 && changed)
		log_info("organization settings from the hubs: uid %u-%u, token_ttl %d s, "
			 "rate_limit %d/%d s, lockout %d for %d s",
			 d->cfg.uid_min, d->cfg.uid_max, d->cfg.token_ttl, d->cfg.rate_limit_count,
			 d->cfg.rate_limit_window, d->cfg.lockout_threshold,
			 d->cfg.lockout_seconds);
}

void daemon_agent_hostws(struct daemon *d)
{
	if (config_mode(&d->cfg) == MODE_AGENT &&
	    agent_hostws_get(d->store, &d->cfg.host_workspaces) < 0)
		log_err("cannot read the host's workspaces from the applied snapshot");
	if (config_mode(&d->cfg) == MODE_AGENT)
		daemon_agent_settings(d);
}

void daemon_agent_load(struct daemon *d)
{
	struct agent_syncstate st;
	d->start_mono = svca_now_ms();
	d->start_wall = svca_wall_ms();
	if (config_mode(&d->cfg) != MODE_AGENT || agent_syncstate_get(d->store, &st) != 1)
		return;
	d->sync_seq = st.seq;
	d->sync_ok_wall = st.last_ok;
	daemon_agent_hostws(d);
	log_info("serving the snapshot of seq %llu (last sync %lld s ago) until the hubs answer",
		 (unsigned long long)st.seq, (long long)agent_age_s(d));
}

/* One verified snapshot into the store, in one transaction. */
static void agent_apply_one(struct daemon *d, const struct snap_verified *v, int64_t ok_wall)
{
	char err[200];
	store_begin(d->store);
	if ((v->delta ? agent_apply_delta(d->store, v->payload, v->len, ok_wall, err, sizeof(err))
		      : agent_apply(d->store, v->payload, v->len, ok_wall, err, sizeof(err))) < 0) {
		store_abort(d->store);
		log_err("agent sync: %s seq %llu not applied: %s", v->delta ? "delta" : "snapshot",
			(unsigned long long)v->seq, err);
		agent_sync_resync(d->sync);
		return;
	}
	if (store_commit(d->store) < 0) {
		log_err("agent sync: snapshot seq %llu not applied: storage error",
			(unsigned long long)v->seq);
		agent_sync_resync(d->sync);
		return;
	}
	nss_snapshot_forget(d->nss);
	d->nss_dirty = 1;
	if (daemon_flush(d) < 0) {
		log_err("agent sync: snapshot seq %llu could not be written",
			(unsigned long long)v->seq);
		return;
	}
	d->sync_seq = v->seq;
	d->sync_ok_wall = ok_wall;
	daemon_agent_hostws(d);
	d->nss_dirty = 1; /* the host workspaces came with it */
	nss_snapshot_forget(d->nss);
	nss_snapshot_write(d);
	sshca_files_sync(d);
	log_info("agent sync: applied %s seq %llu", v->delta ? "delta" : "snapshot",
		 (unsigned long long)v->seq);
}

/* The sync thread signalled: a snapshot to apply, or a sync's time. */
static void daemon_agent_sync(void *arg)
{
	struct daemon *d = arg;
	struct snap_verified v;
	struct agent_sync_view view;
	if (!d->sync)
		return;
	int got = agent_sync_take(d->sync, &v);
	agent_sync_view(d->sync, &view);
	if (view.last_ok_mono > 0)
		d->sync_ok_mono = view.last_ok_mono;
	if (got) {
		agent_apply_one(d, &v, view.last_ok_wall);
		snap_verified_free(&v);
		if (akv_prune(d->store, key_is_current) <
		    0) /* verifiers of keys no longer active */
			log_warn("agent sync: cannot drop stale key verifiers");
		return;
	}
	/* A held poll returned: persist its time (the window across a restart). */
	if (view.last_ok_wall > d->sync_ok_wall && d->sync_seq > 0) {
		struct agent_syncstate st = { d->sync_seq, view.last_ok_wall };
		store_begin(d->store);
		if (agent_syncstate_put(d->store, &st) < 0 || store_commit(d->store) < 0)
			store_abort(d->store);
		else
			d->sync_ok_wall = view.last_ok_wall;
	}
}

/* ---- agent mode: the audit trail to the hubs ------------------------------- */

/* The spool's state into the open transaction. */
static int audit_fwd_put(struct daemon *d)
{
	struct afleet_state st = { d->afwd_cursor, d->afwd_dropped, d->afwd_ok_wall };
	return afleet_state_put(d->store, &st);
}

/* Over audit_spool_max: the oldest records waiting are no longer
 * forwarded (they stay in the local chain, which has them: only durable
 * records count), and that is itself an event, in the same transaction
 * as the cursor's jump. */
static void audit_fwd_drop(struct daemon *d, uint64_t from, uint64_t to)
{
	char detail[200];
	struct actor act = { .uid = geteuid(), .priv = PRIV_SUPER };
	snprintf(act.user, sizeof(act.user), "svcacctd");
	afleet_dropped_detail(from, to, (uint64_t)d->cfg.audit_spool_max, detail, sizeof(detail));
	struct audit_event ev = { .event = AFLEET_DROPPED_EVENT,
				  .outcome = "failure",
				  .actor = &act,
				  .reason = "spool_full",
				  .detail = detail };
	uint64_t old_cursor = d->afwd_cursor, old_dropped = d->afwd_dropped;
	size_t mark = audit_mark(d->audit);
	d->afwd_cursor = to;
	d->afwd_dropped = to;
	store_begin(d->store);
	if (audit_fwd_put(d) < 0 || audit_append(d->audit, &ev) < 0 || store_commit(d->store) < 0) {
		store_abort(d->store);
		audit_rollback(d->audit, mark);
		d->afwd_cursor = old_cursor;
		d->afwd_dropped = old_dropped;
		log_err("audit forwarding: cannot record the dropped records");
		return;
	}
	log_warn("audit forwarding: %s", detail);
	if (daemon_flush(d) < 0)
		log_err("audit forwarding: the dropped records' event could not be written");
}

/* New durable records and an idle thread: the next batch.  may_drop:
 * the bound is enforced too (from the tick and at start, never from the
 * durable path itself: the drop's event is flushed at once).  Reentered
 * through daemon_flush: the guard. */
static void daemon_audit_feed(struct daemon *d, int may_drop)
{
	static int busy;
	uint64_t from, to, last;
	char *body;
	if (!d->afwd || busy)
		return;
	busy = 1;
	uint64_t head = audit_durable_head(d->audit);
	if (may_drop &&
	    auditfwd_plan_drop(head, d->afwd_cursor, (uint64_t)d->cfg.audit_spool_max, &from, &to))
		audit_fwd_drop(d, from, to);
	head = audit_durable_head(d->audit);
	if (head > d->afwd_cursor && auditfwd_idle(d->afwd)) {
		int r = afleet_batch(d->audit, d->afwd_cursor, head, d->afwd_dropped, &body, &last);
		static uint64_t stuck_logged;
		if (r == 0)
			auditfwd_offer(d->afwd, body, last);
		else if (r == 1 && stuck_logged != d->afwd_cursor + 1) {
			stuck_logged = d->afwd_cursor + 1; /* once per seq */
			log_err("audit forwarding: host seq %llu cannot be read from this host's "
				"audit chain (missing, damaged or over 64 KiB: see svcacctctl "
				"audit "
				"verify); nothing after it is forwarded",
				(unsigned long long)stuck_logged);
		} else if (r < 0)
			log_err("audit forwarding: cannot read the records after host seq %llu",
				(unsigned long long)d->afwd_cursor);
	}
	busy = 0;
}

/* The cursor into the store, when it moved since it was last written.
 * Not flushed here: it becomes durable with the next batch of writes (a
 * crash before that only makes the agent send records again, which the
 * hubs acknowledge without storing them twice). */
static void audit_fwd_save(struct daemon *d)
{
	if (!d->afwd_unsaved)
		return;
	store_begin(d->store);
	if (audit_fwd_put(d) < 0 || store_commit(d->store) < 0) {
		store_abort(d->store);
		log_err("audit forwarding: cannot record the hubs' acknowledgement");
		return;
	}
	d->afwd_unsaved = 0;
}

/* The thread answered: a hub took a batch (the cursor moves; written at
 * the next tick, not per batch: logins must not wait behind a write of
 * it), or the thread is ready for the next batch. */
static void daemon_audit_answer(void *arg)
{
	struct daemon *d = arg;
	struct auditfwd_answer a;
	if (!d->afwd)
		return;
	auditfwd_take(d->afwd, &a);
	if (a.got) {
		d->afwd_cursor =
			auditfwd_next_cursor(d->afwd_cursor, &a, audit_durable_head(d->audit));
		d->afwd_ok_wall = svca_wall_ms();
		d->afwd_unsaved = 1;
	}
	daemon_audit_feed(d, 0);
}

static void daemon_audit_follow(struct daemon *d, const char *cred)
{
	struct afleet_state st;
	struct agent_hubs hubs;
	if (d->afwd)
		return;
	if (afleet_state_get(d->store, &st) < 0) {
		log_err("audit forwarding: the spool's state (audit/fwd) is unreadable; "
			"not forwarding");
		return;
	}
	d->afwd_cursor = st.cursor;
	d->afwd_dropped = st.dropped_through;
	d->afwd_ok_wall = st.last_ok_wall;
	agent_hubs_copy(&d->cfg, &hubs);
	d->afwd = auditfwd_start(&hubs, cred);
	if (!d->afwd ||
	    server_watch(loop_srv, auditfwd_fd(d->afwd), daemon_audit_answer, NULL, d) < 0) {
		log_err("audit forwarding: cannot start");
		auditfwd_stop(d->afwd);
		d->afwd = NULL;
		return;
	}
	log_info("audit forwarding: host seqs after %llu go to the hubs",
		 (unsigned long long)d->afwd_cursor);
	daemon_audit_feed(d, 1);
}

static void daemon_agent_follow(struct daemon *d)
{
	char cred[SVCA_KEY_LEN + 1];
	uint8_t pk[32];
	struct agent_self self;
	struct agent_hubs hubs;
	if (config_mode(&d->cfg) != MODE_AGENT || !loop_srv)
		return;
	if (d->sync) {
		log_warn("agent sync: enrolled again: restart svcacctd to follow the hubs with "
			 "the new credential");
		return;
	}
	if (agent_self_get(d->store, &self) != 1 || agent_cred_load(d->cfg.state_dir, cred) != 1 ||
	    agent_snapkey_load(d->cfg.state_dir, pk) != 1) {
		sodium_memzero(cred, sizeof(cred));
		return; /* not enrolled (yet) */
	}
	agent_hubs_copy(&d->cfg, &hubs);
	d->sync = agent_sync_start(&hubs, cred, pk, self.host_id, d->sync_seq,
				   d->cfg.refresh_interval);
	daemon_audit_follow(d, cred);
	sodium_memzero(cred, sizeof(cred));
	if (!d->sync ||
	    server_watch(loop_srv, agent_sync_fd(d->sync), daemon_agent_sync, NULL, d) < 0) {
		log_err("agent sync: cannot start following the hubs");
		agent_sync_stop(d->sync);
		d->sync = NULL;
		return;
	}
	log_info("agent sync: following the hubs as %s", self.host_id);
}

void daemon_agent_start(struct daemon *d)
{
	daemon_agent_follow(d);
}

void daemon_agent_stop(struct daemon *d)
{
	agent_sync_stop(d->sync);
	d->sync = NULL;
	auditfwd_stop(d->afwd);
	d->afwd = NULL;
	if (!d->store)
		return;
	audit_fwd_save(d);
	if (store_dirty(d->store) && store_flush(d->store) < 0)
		log_err("audit forwarding: the last acknowledgement could not be written");
}

/* ---- daemon events, tick and reload -------------------------------------- */

static void log_cfg_err(void *ctx, const char *msg)
{
	(void)ctx;
	log_err("%s", msg);
}

void daemon_warn_ignored(const struct svca_config *cfg)
{
	char names[512];
	size_t used = 0;
	if (!cfg->ignored.n)
		return;
	names[0] = '\0';
	for (size_t i = 0; i < cfg->ignored.n && used < sizeof(names); i++)
		used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
					 cfg->ignored.v[i]);
	log_warn("%s: this host is an agent: the hubs decide the organization's settings; "
		 "ignored here: %s",
		 cfg->path, names);
}

int daemon_event(struct daemon *d, const char *event, const char *detail)
{
	struct actor a = { .uid = geteuid(), .priv = PRIV_SUPER };
	snprintf(a.user, sizeof(a.user), "svcacctd");
	struct audit_event ev = {
		.event = event, .outcome = "success", .actor = &a, .detail = detail
	};
	size_t mark = audit_mark(d->audit);
	store_begin(d->store);
	if (audit_append(d->audit, &ev) < 0 || store_commit(d->store) < 0) {
		store_abort(d->store);
		audit_rollback(d->audit, mark);
		return -1;
	}
	return daemon_flush(d);
}

#define TICK_MS 5000
#define DENYLIST_PURGE_MS (10 * 60 * 1000)

void daemon_tick(struct daemon *d, int force)
{
	int64_t now = svca_now_ms();
	if (!force && now - d->tick_last < TICK_MS)
		return;
	d->tick_last = now;
	readiness_tick(d); /* STATUS= when it changed */
	keys_tick(d, force);
	refusals_tick(d, force);
	audit_fwd_save(d);
	daemon_audit_feed(d, 1);
	/* the bound; a batch that found the thread busy */ /* force: every count before daemon.stop */
	/* A failed snapshot write is retried, but never from changes that
	 * are not durable yet (the batch is flushed after the tick). */
	if (d->nss_dirty && !store_dirty(d->store) && !store_flush_busy(d->store))
		nss_snapshot_write(d);
	sshca_tick(d); /* expired SSH CA records; a failed file write again */
	if (!store_dirty(d->store) && !store_flush_busy(d->store))
		sshca_files_sync(d);
	if (force || now - d->purge_last >= DENYLIST_PURGE_MS) {
		d->purge_last = now;
		tokens_tick(d);
	}
}

void daemon_reload(struct daemon *d)
{
	struct svca_config nc;
	if (config_load(d->cfg.path, &nc, log_cfg_err, NULL) != 0) {
		log_err("reload: %s has errors; keeping the running configuration", d->cfg.path);
		config_free(&nc);
		return;
	}
	if (config_mode(&nc) != config_mode(&d->cfg)) {
		log_err("reload: %s makes this daemon %s, not %s: the mode changes only at a "
			"restart; keeping the running configuration",
			d->cfg.path, config_mode_name(config_mode(&nc)),
			config_mode_name(config_mode(&d->cfg)));
		config_free(&nc);
		return;
	}
	daemon_warn_ignored(&nc);
	if (strcmp(nc.socket, d->cfg.socket) || strcmp(nc.state_dir, d->cfg.state_dir))
		log_warn("reload: socket, state_dir, http_socket, http_listen, https_listen, "
			 "the TLS files, database and the secret files change at the next restart");
	/* Keep what the daemon is bound to and has loaded. */
	free(nc.socket);
	nc.socket = strdup(d->cfg.socket);
	free(nc.state_dir);
	nc.state_dir = strdup(d->cfg.state_dir);
	free(nc.http_socket);
	nc.http_socket = d->cfg.http_socket ? strdup(d->cfg.http_socket) : NULL;
	free(nc.http_listen);
	nc.http_listen = d->cfg.http_listen ? strdup(d->cfg.http_listen) : NULL;
	free(nc.database);
	nc.database = d->cfg.database ? strdup(d->cfg.database) : NULL;
	/* The HTTPS front keeps its address and the certificate it loaded. */
	free(nc.https_listen);
	nc.https_listen = d->cfg.https_listen ? strdup(d->cfg.https_listen) : NULL;
	free(nc.tls_cert);
	nc.tls_cert = d->cfg.tls_cert ? strdup(d->cfg.tls_cert) : NULL;
	free(nc.tls_key);
	nc.tls_key = d->cfg.tls_key ? strdup(d->cfg.tls_key) : NULL;
	if (!nc.socket || !nc.state_dir || (d->cfg.http_socket && !nc.http_socket) ||
	    (d->cfg.http_listen && !nc.http_listen) || (d->cfg.https_listen && !nc.https_listen) ||
	    (d->cfg.tls_cert && !nc.tls_cert) || (d->cfg.tls_key && !nc.tls_key) ||
	    (d->cfg.database && !nc.database)) {
		log_err("reload: out of memory");
		config_free(&nc);
		return;
	}
	config_free(&d->cfg);
	d->cfg = nc;
	daemon_agent_hostws(d);
	daemon_resolve_groups(d);
	audit_configure(d->audit, &d->cfg);
	d->nss_dirty = 1;            /* host_workspaces, shells, home_base may have changed */
	nss_snapshot_forget(d->nss); /* SIGHUP also resyncs the snapshot with the store */
	nss_snapshot_write(d);
	daemon_event(d, "daemon.reload", NULL);
	log_info("configuration reloaded from %s", d->cfg.path);
}

/* ---- hub mode: the other hubs' changes ---------------------------------- */

struct change_flags {
	int nss, secrets;
};

/* Which copies a changed record makes stale.  Keys, the deny-list and the
 * generations are read from the store on every use: no copy. */
static void on_change(void *arg, const char *key)
{
	struct change_flags *f = arg;
	if (!strcmp(key, "*"))
		f->nss = f->secrets = 1;
	else if (!strncmp(key, "0:secret/", 9))
		f->secrets = 1;
	else if (strncmp(key, "0:key/", 6) && strncmp(key, "0:deny/", 7) &&
		 strncmp(key, "0:host/", 7) && strncmp(key, "0:hcred/", 8) &&
		 strncmp(key, "0:enroll/", 9) && strncmp(key, "0:sshc/", 7) &&
		 strncmp(key, "0:sshs/", 7) && strncmp(key, "0:org/ssh_", 10))
		f->nss = 1; /* the fleet's host records are no part of it */
}

void daemon_changes(void *arg)
{
	struct daemon *d = arg;
	struct change_flags f = { 0, 0 };
	char err[256];
	if (store_poll_changes(d->store, on_change, &f) < 0)
		return;          /* the database is away: the listener tells us again */
	http_agents_wake(front); /* agents waiting for a newer seq */
	if (f.secrets && org_secrets_reload(d, err, sizeof(err)) < 0)
		log_err("cannot take the organization's signing keys: %s", err);
	if (f.nss) {
		/* Rebuilt from the store; written now unless this loop
		 * iteration has a batch open (then after its commit). */
		nss_snapshot_forget(d->nss);
		d->nss_dirty = 1;
		if (!store_dirty(d->store))
			nss_snapshot_write(d);
	}
	if (!store_dirty(d->store))
		sshca_files_sync(d); /* another hub revoked or rotated */
}
