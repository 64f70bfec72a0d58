/* SPDX-License-Identifier: GPL-3.0-or-later */
/* svcacctd.conf: libconfig syntax; unknown settings are errors. */
#ifndef SVCACCTD_CONFIG_H
#define SVCACCTD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SVCA_DEFAULT_CONFIG "/etc/svcacct/svcacctd.conf"

/* Capabilities an account can hold on this host (bit mask). */
enum svca_cap {
	CAP_LOGIN = 1u << 0,
	CAP_SUDO = 1u << 1,
};

/* Roles on a workspace or team, ordered: higher includes lower. */
enum svca_role {
	ROLE_NONE = 0,
	ROLE_VIEWER = 1,
	ROLE_EDITOR = 2,
	ROLE_ADMIN = 3,
};

struct strlist {
	char **v;
	size_t n;
};
/* Frees the strings and the array; the list is left empty. */
void strlist_free(struct strlist *l);
/* 1 when s is one of l's strings. */
int strlist_has(const struct strlist *l, const char *s);

struct service_map {
	char *service;
	unsigned cap; /* one CAP_* bit */
};

struct svca_config {
	char *path;
	char *socket;
	char *http_socket;  /* NULL = no HTTP front */
	char *http_listen;  /* NULL = no TCP */
	char *https_listen; /* the HTTPS API (any address); NULL = none */
	char *tls_cert;     /* PEM certificate chain of https_listen */
	char *tls_key;      /* PEM private key: a secret file (secret_file_ok) */
	/* a hub: connections its HTTPS API holds for authenticated agents
	 * (their long polls), apart from the anonymous callers' caps */
	int https_max_connections;
	/* hub mode: the organization in PostgreSQL (libpq connection string;
	 * NULL = standalone, state in GDBM under state_dir) */
	char *database;
	/* agent mode (DESIGN.md section 9): the hubs' HTTPS URLs, tried in
	 * order (empty = not an agent), the CA file that verifies them */
	struct strlist hubs;
	char *hub_ca;
	int refresh_interval; /* seconds */
	int max_staleness;    /* seconds */
	char *host_id;        /* this host in the fleet; NULL = the hostname */
	/* organization settings given in the file of an agent: not used (the
	 * hubs decide); the daemon logs their names at start */
	struct strlist ignored;
	char *state_dir;
	char *nss_dir;
	char *home_base;
	char *login_shell;
	char *nologin_shell;
	char *sudo_group;
	char *daemon_user; /* pam_svcacct's daemon_user: no account may have it */
	/* sshd's AuthorizedPrincipalsCommandUser: may ask SSH_PRINCIPALS; its
	 * uid is resolved (getpwnam) at start and reload, -1 when it does not
	 * exist */
	char *ssh_principals_user;
	int64_t ssh_principals_uid;
	char *syslog_socket;    /* where audit lines go; default /dev/log */
	char *pepper_file;      /* default <state_dir>/pepper */
	char *signing_key_file; /* default <state_dir>/signing.keys */
	char *audit_key_file;   /* default <state_dir>/audit.key */
	/* SSH CA (DESIGN.md section 10, model/sshca.c): the files sshd reads,
	 * the certificates' extensions and source-address option */
	char *ssh_ca_file;                  /* default <state_dir>/ssh_ca.pub */
	char *ssh_krl_file;                 /* default <state_dir>/ssh_revoked.krl */
	struct strlist ssh_cert_extensions; /* default [ "permit-pty" ] */
	char *ssh_source_address;           /* NULL = no critical option */
	uint32_t uid_min, uid_max;
	int token_ttl;
	int max_active_keys;
	int default_key_days;
	int max_key_days;
	int allow_nonexpiring_keys;
	int syslog;
	int client_timeout_ms;
	int audit_timeout_ms;
	int audit_spool_max; /* agent: records waiting for the hubs, at most */
	int max_clients;
	int max_clients_per_uid;   /* native socket: connections of one uid */
	int root_reserved_clients; /* slots only uid 0 may take */
	int rate_limit_count;
	int rate_limit_window;
	int lockout_threshold;
	int lockout_seconds;
	/* PAM logins with the right secret, per key: count per window (s) */
	int login_rate_limit_count;
	int login_rate_limit_window;
	int audit_refusal_burst;  /* refusals of one caller recorded one by one */
	int audit_refusal_window; /* seconds; the rest are counted per window */
	int state_reserve_mb;     /* free space kept for root, PAM and admins */
	struct strlist host_workspaces;
	struct strlist admin_groups;
	struct strlist super_admin_groups;
	struct service_map *services;
	size_t n_services;
	unsigned role_caps[4]; /* indexed by enum svca_role */
};

/* Errors are reported one per line as "file:line: message" to the
 * callback.  Returns the number of errors (0 = config usable). */
typedef void (*config_err_fn)(void *ctx, const char *msg);
int config_load(const char *path, struct svca_config *out, config_err_fn err, void *ctx);
void config_free(struct svca_config *c);

/* Defaults only (no file), for tools and tests. */
void config_defaults(struct svca_config *c);

/* Parses http_listen ("127.0.0.1:8080", "[::1]:8080"); loopback only.
 * 0 ok, -1 invalid. */
struct sockaddr_storage;
int config_parse_listen(const char *s, struct sockaddr_storage *ss);
/* The same for https_listen: any address ("0.0.0.0:8443", "[::]:8443"). */
int config_parse_listen_any(const char *s, struct sockaddr_storage *ss);

/* The mode the configuration selects (DESIGN.md section 9). */
enum svca_mode { MODE_STANDALONE, MODE_HUB, MODE_AGENT };
enum svca_mode config_mode(const struct svca_config *c);
const char *config_mode_name(enum svca_mode m);

/* 1 when s may be a hub's URL: https://, at most 200 characters, no
 * blanks, control characters, query or fragment. */
int config_hub_url_ok(const char *s);

/* 1 when s may be a host_id: 1 to 64 characters of [A-Za-z0-9._-],
 * starting with a letter or digit (a host name, or its first label). */
int config_host_id_ok(const char *s);

const char *role_name(enum svca_role r);
int role_parse(const char *s, enum svca_role *out);
const char *cap_name(unsigned cap);

/* The setting that gives this name a meaning of its own (sudo_group,
 * admin_groups, super_admin_groups, daemon_user), or NULL.  A service
 * account so named is refused, and left out of the NSS snapshot: wherever
 * NSS answers, it would be taken for that group or user. */
const char *config_reserved_name(const struct svca_config *c, const char *name);

#endif
