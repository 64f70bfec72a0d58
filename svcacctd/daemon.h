/* The daemon's shared state and the caller model. */
#ifndef SVCACCTD_DAEMON_H
#define SVCACCTD_DAEMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "proto.h"
#include "store.h"

#define SVCACCTD_VERSION "0.1.0"

struct audit;
struct secrets;
struct rl_table;
struct refusals;

/* Management privilege of a caller (DESIGN.md section 3). */
enum privilege {
	PRIV_NONE = 0,
	PRIV_ADMIN = 1,
	PRIV_SUPER = 2,
};

#define PEER_MAX_GROUPS 64

/* Who is on the other end of a connection: SO_PEERCRED and SO_PEERGROUPS,
 * read when the connection was accepted (one request per connection). */
struct peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t groups[PEER_MAX_GROUPS];
	size_t ngroups;
	char addr[64]; /* TCP peers (HTTP front): the address; "" on Unix */
	/* TCP peers: who counts as one caller for rate limits and lockouts
	 * (all of loopback, one IPv6 /64; http_caller_key); "" on Unix. */
	char caller[64];
};

/* The identity an audit record names as the actor. */
struct actor {
	uid_t uid;
	char user[64];    /* local user name of uid, or "uid N" */
	char account[33]; /* service account acting by token, else "" */
	enum privilege priv;
};

struct daemon {
	struct svca_config cfg;
	struct store *store;
	struct audit *audit;
	gid_t *admin_gids;
	size_t n_admin_gids;
	gid_t *super_gids;
	size_t n_super_gids;
	struct secrets *secrets;
	struct rl_table *rl_key;  /* token exchanges per key id */
	struct rl_table *rl_uid;  /* token exchanges per calling uid */
	struct rl_table *rl_lock; /* bad secrets per key id: lockout */
	struct refusals *refusals; /* refusal records per caller (refusals.h) */
	int nss_dirty;        /* the NSS snapshot must be rewritten */
};

/* One request being handled. */
struct request {
	struct daemon *d;
	const struct peer *peer;
	struct actor actor;
	uint16_t cmd;
	const struct svca_field *f;
	size_t nf;
	struct svca_buf *reply;
	int wrote; /* the reply depends on the next flush */
	size_t audit_mark;
};

/* Resolves admin_groups and super_admin_groups to gids (at start and on
 * reload).  Groups that do not exist are logged and ignored. */
void daemon_resolve_groups(struct daemon *d);

/* Fills actor from peer: privilege, user name. */
void peer_to_actor(const struct daemon *d, const struct peer *p, struct actor *a);

/* Periodic work (last-use flush, expiry, deny-list purge), from the loop. */
void daemon_tick(struct daemon *d, int force);

/* SIGHUP: re-reads the configuration file (main.c). */
void daemon_reload(struct daemon *d);

/* Dispatches one decoded request and writes the reply frame. */
void handle_request(struct request *r);

/* Maximum body size accepted for a command before reading it. */
uint32_t request_size_limit(uint16_t cmd);

#endif
