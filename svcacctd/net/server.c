/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The event loop: one thread, epoll, non-blocking sockets, one request per
 * connection.  Every connection has an absolute deadline, so a client that
 * sends nothing or half a frame is dropped and never stalls the others.
 *
 * Group commit, pipelined: the requests of one loop iteration are handled
 * into the store's open batch; at the end of the iteration that batch goes
 * to the store's writer thread (one write, one fdatasync) unless one is
 * already in flight, and the loop goes on serving.  A reply that saw
 * changes not yet durable waits for the generation of the batch that
 * holds them (need_gen) and goes out when that batch is on disk; if it
 * fails, every reply that depended on undone changes gets an error.
 *
 * A request whose answer needs a hub (an agent's host enroll, fleet
 * status) hands the loop a job (cmd/request.h: struct req_job): its
 * network part runs on a thread of its own, its connection waits out of
 * the epoll set (C_JOB, no deadline: the job's own timeouts bound it),
 * and its finish runs back on the loop when the thread signals the
 * eventfd.  At most SERVER_MAX_JOBS at a time.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <stdarg.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "dispatch.h"
#include "log.h"
#include "nss_snapshot.h"
#include "sockio.h"

/* C_GONE: evicted; freed at the end of the loop iteration, because an
 * event already taken from epoll_wait may still point at it. */
enum conn_state { C_READ, C_WAIT_FLUSH, C_WRITE, C_GONE, C_JOB };

#define SERVER_MAX_JOBS 8

struct conn {
	int fd;
	enum conn_state state;
	struct peer peer;
	uint8_t hdr[SVCA_HDR_LEN];
	size_t got; /* bytes of header + body received */
	struct svca_header h;
	uint8_t *body;
	struct svca_buf out;
	size_t sent;
	int64_t deadline;
	uint64_t need_gen; /* reply waits until this store batch is durable */
	int disarmed;      /* out of the epoll set while it waits */
	int close_after;   /* protocol error: close once the reply is out */
	uint64_t seq;      /* accept order: lower = older */
	struct conn *prev, *next;
	struct conn *pnext;  /* waiting for the flush */
	struct req_job *job; /* C_JOB: running on thr */
	pthread_t thr;
	atomic_int job_done;
	int job_efd; /* the server's: the thread signals it when done */
};

struct watch {
	int fd;
	server_fd_fn fn;
	server_timeout_fn timeout;
	void *arg;
};

struct server {
	struct daemon *d;
	struct watch watch[SERVER_MAX_WATCH];
	size_t nwatch;
	int ep, lfd, sfd;
	struct conn *conns;
	size_t nconns;
	size_t nroot; /* connections of uid 0 */
	uint64_t next_seq;
	struct conn *gone; /* evicted, freed after this iteration's events */
	int64_t last_cap_log;
	struct conn *pending, **ptail;
	int stop;
	int reload; /* SIGHUP: reload once the batch is committed */
	int spare;  /* a reserved fd: on EMFILE, freed to refuse a client */
	int64_t last_busy_log;
	int64_t last_emfile_log;
	uint64_t settled_gen;  /* durable generation after_flush last saw */
	size_t batch_requests; /* replies waiting for the open batch (or the
				* one in flight) since the last flush started */
	int job_efd;           /* eventfd: a job thread finished */
	size_t njobs;
};

static char listen_tag, signal_tag, flush_tag, job_tag;

static void conn_close(struct server *s, struct conn *c)
{
	/* close() also drops the epoll registration: the daemon never
	 * duplicates a client descriptor (SOCK_CLOEXEC, no fork after start),
	 * so no EPOLL_CTL_DEL system call is needed. */
	close(c->fd);
	if (c->body) {
		explicit_bzero(c->body, c->h.length);
		free(c->body);
	}
	svca_buf_free(&c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	s->d->metrics.native_conns = s->nconns;
	if (c->peer.uid == 0)
		s->nroot--;
}

static void conn_free(struct server *s, struct conn *c)
{
	conn_close(s, c);
	free(c);
}

static void set_events(struct server *s, struct conn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };
	epoll_ctl(s->ep, c->disarmed ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd, &e);
	c->disarmed = 0;
}

static void read_peer(int fd, struct peer *p)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	memset(p, 0, sizeof(*p));
	p->uid = (uid_t)-1;
	p->gid = (gid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0) {
		p->pid = cr.pid;
		p->uid = cr.uid;
		p->gid = cr.gid;
	}
	socklen_t glen = sizeof(p->groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, p->groups, &glen) == 0)
		p->ngroups = glen / sizeof(gid_t);
	/* ERANGE: more than PEER_MAX_GROUPS groups.  Using none of them
	 * can only lower the caller's privilege, never raise it. */
}

/* ---- admission: per-uid caps, a reserve for root, eviction ----------------
 *
 * One local user must not be able to take every slot (DESIGN.md section 5):
 * a uid other than 0 holds at most max_clients_per_uid connections, and the
 * other uids together never take the last root_reserved_clients slots, so
 * PAM (root) and root's svcacctctl always get in.  Over a limit the oldest
 * idle connection (still waiting for its request) of the uid over its cap,
 * or of the heaviest non-root holder, is closed to make room: a client that
 * reopens what the daemon drops only churns its own share.  Root is never
 * evicted: a root-only flood is refused as before. */

static size_t uid_count(const struct server *s, uid_t uid)
{
	size_t n = 0;
	for (const struct conn *c = s->conns; c; c = c->next)
		n += c->peer.uid == uid;
	return n;
}

static struct conn *oldest_idle(struct server *s, uid_t uid)
{
	struct conn *best = NULL;
	for (struct conn *c = s->conns; c; c = c->next)
		if (c->peer.uid == uid && c->state == C_READ && (!best || c->seq < best->seq))
			best = c;
	return best;
}

static int cmp_uid(const void *a, const void *b)
{
	uid_t x = *(const uid_t *)a, y = *(const uid_t *)b;
	return x < y ? -1 : x > y;
}

/* The non-root uid with the most connections; 0 when there is none. */
static uid_t heaviest_nonroot(const struct server *s)
{
	size_t n = 0, best_n = 0;
	uid_t best = 0;
	uid_t *v = malloc((s->nconns + 1) * sizeof(*v));
	if (!v)
		return 0;
	for (const struct conn *c = s->conns; c; c = c->next)
		if (c->peer.uid != 0)
			v[n++] = c->peer.uid;
	qsort(v, n, sizeof(*v), cmp_uid);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i; j < n && v[j] == v[i]; j++)
			;
		if (j - i > best_n) {
			best_n = j - i;
			best = v[i];
		}
	}
	free(v);
	return best;
}

/* Closes c now; its memory lives until the loop iteration ends. */
static void evict(struct server *s, struct conn *c)
{
	conn_close(s, c);
	c->state = C_GONE;
	c->next = s->gone;
	s->gone = c;
}

static void free_gone(struct server *s)
{
	while (s->gone) {
		struct conn *c = s->gone;
		s->gone = c->next;
		free(c);
	}
}

__attribute__((format(printf, 2, 3))) static void log_limited(int64_t *last, const char *fmt, ...)
{
	int64_t now = svca_now_ms();
	if (now - *last <= 10000)
		return;
	*last = now;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("%s", msg);
}

/* The caps in effect: the reserve is at most half of max_clients, a
 * uid's cap at most what non-root callers may take together. */
static void server_caps(const struct svca_config *cfg, size_t *max, size_t *reserve,
			size_t *per_uid)
{
	*max = (size_t)cfg->max_clients;
	*reserve = (size_t)cfg->root_reserved_clients;
	if (*reserve > *max / 2)
		*reserve = *max / 2;
	*per_uid = (size_t)cfg->max_clients_per_uid;
	if (*per_uid > *max - *reserve)
		*per_uid = *max - *reserve;
}

/* 1: a connection of uid may be added (a victim may have been closed for
 * it); 0: refuse it. */
static int admit(struct server *s, uid_t uid)
{
	size_t max, reserve, per_uid;
	server_caps(&s->d->cfg, &max, &reserve, &per_uid);
	struct conn *victim;
	if (uid != 0 && uid_count(s, uid) >= per_uid) {
		victim = oldest_idle(s, uid);
		if (victim)
			log_limited(&s->last_cap_log,
				    "uid %u holds max_clients_per_uid (%zu) connections: "
				    "closing its oldest idle one",
				    (unsigned)uid, per_uid);
		else
			log_limited(&s->last_cap_log,
				    "uid %u holds max_clients_per_uid (%zu) connections: "
				    "refusing more",
				    (unsigned)uid, per_uid);
	} else if (s->nconns >= max || (uid != 0 && s->nconns - s->nroot >= max - reserve)) {
		uid_t heavy = heaviest_nonroot(s);
		victim = heavy ? oldest_idle(s, heavy) : NULL;
		if (victim)
			log_limited(&s->last_busy_log,
				    "max_clients (%d) reached: closing the oldest idle "
				    "connection of uid %u (the heaviest holder)",
				    s->d->cfg.max_clients, (unsigned)heavy);
		else
			log_limited(&s->last_busy_log,
				    "max_clients (%d) reached: refusing connections",
				    s->d->cfg.max_clients);
	} else {
		return 1;
	}
	if (!victim)
		return 0;
	evict(s, victim);
	return 1;
}

static void on_readable(struct server *s, struct conn *c);

static void do_accept(struct server *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && s->spare >= 0) {
				/* Out of descriptors: refuse the oldest waiting
				 * client instead of leaving it in the backlog,
				 * which keeps the listening socket readable and
				 * the loop spinning. */
				int e = errno;
				close(s->spare);
				int refused = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
				if (refused >= 0)
					close(refused);
				s->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
				int64_t now = svca_now_ms();
				if (now - s->last_emfile_log > 10000) {
					log_warn("accept: %s: refusing connections", strerror(e));
					s->last_emfile_log = now;
				}
				if (refused >= 0)
					continue;
			}
			return;
		}
		struct peer peer;
		read_peer(fd, &peer);
		if (!admit(s, peer.uid)) {
			close(fd);
			continue;
		}
		struct conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->peer = peer;
		c->seq = ++s->next_seq;
		c->state = C_READ;
		c->deadline = svca_now_ms() + s->d->cfg.client_timeout_ms;
		svca_buf_init(&c->out, 0);
		struct epoll_event e = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &e) < 0) {
			close(fd);
			svca_buf_free(&c->out);
			free(c);
			continue;
		}
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->nconns++;
		s->d->metrics.native_conns = s->nconns;
		if (c->peer.uid == 0)
			s->nroot++;
		/* A client sends its request right after connecting: it is
		 * usually there already, so read it now instead of after
		 * another epoll_wait (EAGAIN leaves it to the event). */
		on_readable(s, c);
	}
}

/* No epoll change here: most replies go out at the end of the same loop
 * iteration; commit_batch() takes the connections that must wait longer
 * (their batch is being written) out of the epoll set. */
static void queue_reply(struct server *s, struct conn *c)
{
	c->state = C_WAIT_FLUSH;
	c->pnext = NULL;
	*s->ptail = c;
	s->ptail = &c->pnext;
}

/* Replies to a broken frame and closes; never touches state. */
__attribute__((format(printf, 4, 5))) static void protocol_error(struct server *s, struct conn *c,
								 enum svca_status st,
								 const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	svca_frame_begin(&c->out, (uint16_t)st);
	svca_put_str(&c->out, F_MESSAGE, msg);
	svca_frame_end(&c->out);
	c->close_after = 1;
	queue_reply(s, c);
}

static void *job_main(void *arg)
{
	struct conn *c = arg;
	uint64_t one = 1;
	c->job->work(c->job);
	atomic_store(&c->job_done, 1);
	if (write(c->job_efd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow at SERVER_MAX_JOBS */
	}
	return NULL;
}

/* The request's answer comes from a job: its thread starts now. */
static void start_job(struct server *s, struct conn *c, struct req_job *job)
{
	svca_buf_reset(&c->out);
	if (s->njobs >= SERVER_MAX_JOBS) {
		job->release(job);
		protocol_error(s, c, SVCA_ERR_UNAVAIL,
			       "too many requests waiting for the hubs; retry in a few seconds");
		return;
	}
	c->job = job;
	atomic_store(&c->job_done, 0);
	c->job_efd = s->job_efd;
	c->state = C_JOB;
	if (pthread_create(&c->thr, NULL, job_main, c) != 0) {
		c->job = NULL;
		c->state = C_READ;
		job->release(job);
		protocol_error(s, c, SVCA_ERR_UNAVAIL, "cannot start a thread for the request");
		return;
	}
	s->njobs++;
	/* Out of the epoll set while it waits (a hang-up would spin the
	 * level-triggered loop); its reply adds it back. */
	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	c->disarmed = 1;
}

/* A job's thread is done: join it, run its finish on the loop, queue the
 * reply like any other (it may wait for its batch to be durable). */
static void end_job(struct server *s, struct conn *c)
{
	struct req_job *job = c->job;
	pthread_join(c->thr, NULL);
	c->job = NULL;
	s->njobs--;
	struct request r = {
		.d = s->d,
		.peer = &c->peer,
		.actor = job->actor,
		.cmd = c->h.type,
		.reply = &c->out,
	};
	const struct command *cmd = command_find(c->h.type);
	r.cmd_name = cmd ? cmd->name : NULL;
	job->finish(job, &r);
	job->release(job);
	if (c->out.failed || c->out.len < SVCA_HDR_LEN) {
		svca_buf_reset(&c->out);
		protocol_error(s, c, SVCA_ERR_FAILED, "reply too large or out of memory");
		return;
	}
	c->need_gen = store_pending_gen(s->d->store);
	if (c->need_gen)
		s->batch_requests++;
	queue_reply(s, c);
}

static void on_jobs(struct server *s)
{
	uint64_t n;
	if (read(s->job_efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_err("job eventfd: %s", strerror(errno));
	struct conn *c = s->conns;
	while (c) {
		struct conn *next = c->next;
		if (c->state == C_JOB && atomic_load(&c->job_done))
			end_job(s, c);
		c = next;
	}
}

static void dispatch(struct server *s, struct conn *c)
{
	struct svca_field fields[SVCA_MAX_REQUEST_FIELDS];
	uint16_t dup = 0;
	int n = svca_request_fields_collect(c->body, c->h.length, fields, SVCA_MAX_REQUEST_FIELDS,
					    &dup);
	if (n == SVCA_DUP_FIELD) {
		protocol_error(s, c, SVCA_ERR_BADREQ, "malformed request: field %u is given twice",
			       (unsigned)dup);
		return;
	}
	if (n < 0) {
		protocol_error(s, c, SVCA_ERR_BADREQ, "malformed request");
		return;
	}
	struct request r = {
		.d = s->d,
		.peer = &c->peer,
		.cmd = c->h.type,
		.f = fields,
		.nf = (size_t)n,
		.reply = &c->out,
	};
	handle_request(&r);
	if (r.job) {
		start_job(s, c, r.job);
		return;
	}
	if (c->out.failed || c->out.len < SVCA_HDR_LEN) {
		svca_buf_reset(&c->out);
		protocol_error(s, c, SVCA_ERR_FAILED, "reply too large or out of memory");
		return;
	}
	/* A reply that saw changes not yet durable (its own or earlier
	 * ones) waits for their fate. */
	c->need_gen = store_pending_gen(s->d->store);
	if (c->need_gen)
		s->batch_requests++;
	queue_reply(s, c);
}

/* Reads the frame with as few system calls as possible: one recv takes
 * header and body together when the request is small (nearly always).
 * Bytes after the frame are ignored: one request per connection. */
static void on_readable(struct server *s, struct conn *c)
{
	uint8_t in[4096];
	size_t have = 0, used = 0;
	int complete = 0;

	while (!complete) {
		if (used == have) {
			size_t want = sizeof(in);
			if (c->got >= SVCA_HDR_LEN) {
				size_t left = c->h.length - (c->got - SVCA_HDR_LEN);
				want = left < want ? left : want;
			}
			ssize_t r = recv(c->fd, in, want, MSG_DONTWAIT);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				goto out; /* the rest comes with a later event */
			if (r <= 0) {
				conn_free(s, c); /* gone before finishing its request */
				goto out;
			}
			have = (size_t)r;
			used = 0;
		}
		size_t avail = have - used;
		if (c->got < SVCA_HDR_LEN) {
			size_t n = SVCA_HDR_LEN - c->got;
			n = n < avail ? n : avail;
			memcpy(c->hdr + c->got, in + used, n);
			used += n;
			c->got += n;
			if (c->got < SVCA_HDR_LEN)
				continue;
			if (svca_header_parse(c->hdr, &c->h) < 0) {
				if (c->h.magic == SVCA_MAGIC)
					protocol_error(s, c, SVCA_ERR_BADREQ,
						       "unsupported protocol version %u (this "
						       "daemon speaks %u)",
						       (unsigned)c->h.version, SVCA_PROTO_VERSION);
				else
					protocol_error(s, c, SVCA_ERR_BADREQ,
						       "not a svcacct request");
				goto out;
			}
			if (c->h.length > request_size_limit(c->h.type)) {
				protocol_error(s, c, SVCA_ERR_BADREQ,
					       "request too large (%u bytes, at most %u)",
					       (unsigned)c->h.length,
					       (unsigned)request_size_limit(c->h.type));
				goto out;
			}
			c->body = malloc(c->h.length ? c->h.length : 1);
			if (!c->body) {
				conn_free(s, c);
				goto out;
			}
		} else {
			size_t n = c->h.length - (c->got - SVCA_HDR_LEN);
			n = n < avail ? n : avail;
			memcpy(c->body + (c->got - SVCA_HDR_LEN), in + used, n);
			used += n;
			c->got += n;
		}
		complete = c->got - SVCA_HDR_LEN == c->h.length;
	}
	dispatch(s, c);
out:
	sodium_memzero(in, have); /* it may have held a key */
}

static void on_writable(struct server *s, struct conn *c)
{
	while (c->sent < c->out.len) {
		ssize_t w = send(c->fd, c->out.data + c->sent, c->out.len - c->sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			set_events(s, c, EPOLLOUT);
			return;
		}
		if (w <= 0) {
			conn_free(s, c);
			return;
		}
		c->sent += (size_t)w;
	}
	conn_free(s, c); /* one request per connection */
}

/* Gives every waiting reply whose batch is durable to its client. */
static void release_replies(struct server *s)
{
	uint64_t durable = store_durable_gen(s->d->store);
	struct conn **pp = &s->pending, *c;
	while ((c = *pp)) {
		if (c->need_gen > durable) {
			pp = &c->pnext;
			continue;
		}
		*pp = c->pnext;
		c->state = C_WRITE;
		c->deadline = svca_now_ms() + s->d->cfg.client_timeout_ms;
		on_writable(s, c);
	}
	s->ptail = &s->pending;
	for (c = s->pending; c; c = c->pnext)
		s->ptail = &c->pnext;
}

static void release_waiting(void *arg)
{
	release_replies(arg);
}

/* A flush failed: the replies that saw the undone changes say so. */
static void fail_replies(struct server *s, uint64_t failed_gen)
{
	uint64_t durable = store_durable_gen(s->d->store);
	for (struct conn *c = s->pending; c; c = c->pnext) {
		if (c->need_gen <= durable || c->need_gen > failed_gen)
			continue;
		svca_buf_reset(&c->out);
		svca_frame_begin(&c->out, SVCA_ERR_FAILED);
		svca_put_str(&c->out, F_MESSAGE,
			     "the change could not be saved (the journal write failed); nothing "
			     "was changed");
		svca_frame_end(&c->out);
		c->need_gen = 0;
	}
}

/* 1 when a flush failed since the last look (here, in the writer, or in a
 * handler's own synchronous flush): its replies fail. */
static int take_failure(struct server *s)
{
	uint64_t failed = store_take_failure(s->d->store);
	if (!failed)
		return 0;
	audit_flushed(s->d->audit, 0); /* forget undone events (again is harmless) */
	fail_replies(s, failed);
	/* The snapshot's table may have read changes of the batch being
	 * built that were undone with it (the undo bypasses its hooks):
	 * rebuild it from the store at the next write (rare: a failed disk). */
	nss_snapshot_forget(s->d->nss);
	s->d->nss_dirty = 1;
	return 1;
}

/* After a flush finished, ok or not: the replies go out as soon as their
 * batch is durable; the syslog copies of the audit events (the durable
 * copy is in the audit database) only after them. */
static void after_flush(struct server *s, int ok)
{
	if (take_failure(s))
		ok = 0;
	/* Audit lines, the NSS snapshot, the replies, syslog: daemon.c. */
	s->d->ops->settled(s->d, ok, release_waiting, s);
	s->settled_gen = store_durable_gen(s->d->store);
}

/* End of a loop iteration: start writing the open batch unless a batch is
 * in flight, and release the replies that may go. */
static void commit_batch(struct server *s)
{
	struct store *st = s->d->store;
	take_failure(s);
	/* A handler's own synchronous flush (the HTTP front, a signing-key
	 * rotation, a daemon event) may have made batches durable, the one
	 * in flight too: the snapshot comes before their replies. */
	if (store_durable_gen(st) != s->settled_gen)
		after_flush(s, 1);
	if (!store_flush_busy(st) && store_dirty(st)) {
		/* Writing in the background pays (two thread wake-ups) only
		 * when other clients can be served meanwhile: a lone client
		 * (one request per batch, no other connection) is written for
		 * here, as a PAM login is. */
		size_t waiting = 0;
		for (struct conn *c = s->pending; c; c = c->pnext)
			waiting++;
		int r = store_flush_start(st, s->batch_requests > 1 || s->nconns > waiting);
		s->batch_requests = 0;
		if (r < 0 || r == 2) /* failed, or written at once */
			after_flush(s, r == 2);
	}
	release_replies(s);
	/* Replies still waiting cross epoll_wait: a client that sends more or
	 * hangs up meanwhile would keep its (level-triggered) socket ready,
	 * and the loop would spin until the batch is on disk. */
	/* EPOLLHUP cannot be masked: take them out of the epoll set (added
	 * back if their reply later meets EAGAIN), which also keeps a freed
	 * connection out of the events of a later epoll_wait. */
	for (struct conn *c = s->pending; c; c = c->pnext)
		if (!c->disarmed) {
			epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
			c->disarmed = 1;
		}
	if (s->d->nss_dirty && !store_flush_busy(st) && !store_dirty(st))
		nss_snapshot_write(s->d); /* e.g. after a failed batch */
}

static void on_flushed(struct server *s)
{
	int r = store_flush_finish(s->d->store);
	if (r != 1)
		after_flush(s, r == 0);
}

/* Everything durable and every reply out: before a reload or exit. */
static void drain(struct server *s)
{
	after_flush(s, store_flush(s->d->store) == 0);
}

static void on_signal(struct server *s)
{
	struct signalfd_siginfo si;
	while (read(s->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			s->reload = 1; /* after this iteration's batch is committed */
		else
			s->stop = (int)si.ssi_signo;
	}
}

static int expire(struct server *s, int64_t now)
{
	int64_t next = -1;
	struct conn *c = s->conns;
	while (c) {
		struct conn *n = c->next;
		if (c->state != C_WAIT_FLUSH && c->state != C_JOB) {
			if (c->deadline <= now)
				conn_free(s, c); /* slow client: drop it */
			else if (next < 0 || c->deadline < next)
				next = c->deadline;
		}
		c = n;
	}
	/* Wake at least every few seconds for the daemon's periodic work. */
	if (next < 0 || next - now > 5000)
		return 5000;
	return (int)(next - now + 1);
}

struct server *server_new(struct daemon *d, int lfd, int sfd)
{
	struct server *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->d = d;
	s->lfd = lfd;
	s->sfd = sfd;
	s->ptail = &s->pending;
	s->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event e1 = { .events = EPOLLIN, .data.ptr = &listen_tag };
	struct epoll_event e2 = { .events = EPOLLIN, .data.ptr = &signal_tag };
	struct epoll_event e3 = { .events = EPOLLIN, .data.ptr = &flush_tag };
	struct epoll_event e4 = { .events = EPOLLIN, .data.ptr = &job_tag };
	int ffd = store_flush_fd(d->store);
	s->job_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->ep < 0 || ffd < 0 || s->job_efd < 0 ||
	    epoll_ctl(s->ep, EPOLL_CTL_ADD, lfd, &e1) < 0 ||
	    epoll_ctl(s->ep, EPOLL_CTL_ADD, sfd, &e2) < 0 ||
	    epoll_ctl(s->ep, EPOLL_CTL_ADD, ffd, &e3) < 0 ||
	    epoll_ctl(s->ep, EPOLL_CTL_ADD, s->job_efd, &e4) < 0) {
		if (s->ep >= 0)
			close(s->ep);
		if (s->job_efd >= 0)
			close(s->job_efd);
		free(s);
		return NULL;
	}
	return s;
}

int server_watch(struct server *s, int fd, server_fd_fn fn, server_timeout_fn timeout, void *arg)
{
	if (s->nwatch == SERVER_MAX_WATCH)
		return -1;
	struct watch *w = &s->watch[s->nwatch];
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = w };
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &e) < 0)
		return -1;
	*w = (struct watch){ fd, fn, timeout, arg };
	s->nwatch++;
	return 0;
}

static struct watch *as_watch(struct server *s, void *p)
{
	for (size_t i = 0; i < s->nwatch; i++)
		if (p == &s->watch[i])
			return &s->watch[i];
	return NULL;
}

int server_run(struct server *s)
{
	struct epoll_event evs[256];
	while (!s->stop) {
		int timeout = expire(s, svca_now_ms());
		for (size_t i = 0; i < s->nwatch; i++) {
			int t = s->watch[i].timeout ? s->watch[i].timeout(s->watch[i].arg) : -1;
			if (t >= 0 && t < timeout)
				timeout = t;
		}
		int n = epoll_wait(s->ep, evs, 256, timeout);
		if (n < 0 && errno != EINTR) {
			log_err("epoll_wait: %s", strerror(errno));
			return -1;
		}
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &listen_tag) {
				do_accept(s);
			} else if (p == &signal_tag) {
				on_signal(s);
			} else if (p == &flush_tag) {
				on_flushed(s);
			} else if (p == &job_tag) {
				on_jobs(s);
			} else if (as_watch(s, p)) {
				struct watch *w = as_watch(s, p);
				w->fn(w->arg);
			} else {
				struct conn *c = p;
				/* A connection may have been freed earlier in
				 * this batch only via its own event: safe. */
				if (c->state == C_READ)
					on_readable(s, c);
				else if (c->state == C_WRITE)
					on_writable(s, c);
			}
		}
		free_gone(s);
		s->d->ops->tick(s->d, 0);
		for (size_t i = 0; i < s->nwatch; i++)
			s->watch[i].fn(s->watch[i].arg); /* their timeouts */
		commit_batch(s);
		if (s->reload) {
			s->reload = 0;
			drain(s);
			s->d->ops->reload(s->d);
		}
	}
	drain(s);
	return s->stop;
}

void server_free(struct server *s)
{
	if (!s)
		return;
	/* Jobs end by their own timeouts: wait for them, answer nobody. */
	for (struct conn *c = s->conns; c; c = c->next)
		if (c->state == C_JOB) {
			pthread_join(c->thr, NULL);
			c->job->release(c->job);
			c->job = NULL;
		}
	while (s->conns)
		conn_free(s, s->conns);
	free_gone(s);
	if (s->spare >= 0)
		close(s->spare);
	close(s->ep);
	close(s->job_efd);
	free(s);
}

/* The directory of a listening socket must be one only root or the
 * daemon's user can write to: in a directory others may write (even a
 * sticky one like /tmp) another user could bind the name first and keep
 * the daemon from starting, or later swap the socket for an impostor.
 * pam_svcacct refuses such a socket anyway (common/sockio.c). */
int server_socket_dir_ok(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	if (stat(dir, &st) < 0) {
		snprintf(err, errlen, "socket directory %s is unusable: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "socket directory %s is not a directory", dir);
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen,
			 "socket directory %s is owned by uid %u, not by root or the daemon's "
			 "uid %u: another user could take the socket's name or replace the "
			 "socket; put it in a directory only root can write, like /run/svcacct",
			 dir, (unsigned)st.st_uid, (unsigned)geteuid());
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen,
			 "socket directory %s is writable by %s (mode %04o): another user could "
			 "take the socket's name or replace the socket; put it in a directory "
			 "only root can write, like /run/svcacct",
			 dir, st.st_mode & S_IWOTH ? "others" : "its group",
			 (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}
