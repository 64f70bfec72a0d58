/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Loading and checking svcacctd.conf.  Every problem is reported as
 * "file:line: message" so that `svcacctd -t` points at the line. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <libconfig.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "defaults.h"
#include "names.h"
#include "sockio.h"

struct ctx {
	const char *file;
	config_err_fn fn;
	void *arg;
	int errors;
	struct strlist org; /* organization settings seen (an agent ignores them) */
};

/* Settings that belong to the organization: on an agent the hubs decide
 * them (DESIGN.md section 9, "Details"), so the file's values are not
 * used. */
static const char *const org_settings[] = {
	"uid_min",
	"uid_max",
	"token_ttl",
	"max_active_keys",
	"default_key_days",
	"max_key_days",
	"allow_nonexpiring_keys",
	"rate_limit_count",
	"rate_limit_window",
	"lockout_threshold",
	"lockout_seconds",
	"login_rate_limit_count",
	"login_rate_limit_window",
	"host_workspaces",
	"roles",
};

__attribute__((format(printf, 3, 4))) static void err_at(struct ctx *c, const config_setting_t *s,
							 const char *fmt, ...)
{
	char msg[512], line[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s)
		snprintf(line, sizeof(line), "%s:%u: %s", c->file,
			 (unsigned)config_setting_source_line(s), msg);
	else
		snprintf(line, sizeof(line), "%s: %s", c->file, msg);
	c->errors++;
	if (c->fn)
		c->fn(c->arg, line);
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		abort(); /* config is read at start and reload only */
	return d;
}

void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void strlist_add(struct strlist *l, const char *s)
{
	char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (!nv)
		abort();
	l->v = nv;
	l->v[l->n++] = xstrdup(s);
}

const char *role_name(enum svca_role r)
{
	switch (r) {
	case ROLE_VIEWER: return "viewer";
	case ROLE_EDITOR: return "editor";
	case ROLE_ADMIN: return "admin";
	default: return "none";
	}
}

int role_parse(const char *s, enum svca_role *out)
{
	for (int r = ROLE_VIEWER; r <= ROLE_ADMIN; r++)
		if (strcmp(s, role_name((enum svca_role)r)) == 0) {
			*out = (enum svca_role)r;
			return 0;
		}
	return -1;
}

const char *cap_name(unsigned cap)
{
	switch (cap) {
	case CAP_LOGIN: return "login";
	case CAP_SUDO: return "sudo";
	default: return NULL;
	}
}

static int cap_parse(const char *s, unsigned *out)
{
	if (strcmp(s, "login") == 0)
		*out = CAP_LOGIN;
	else if (strcmp(s, "sudo") == 0)
		*out = CAP_SUDO;
	else
		return -1;
	return 0;
}

void config_defaults(struct svca_config *c)
{
	memset(c, 0, sizeof(*c));
	c->socket = xstrdup(SVCA_DEFAULT_SOCKET);
	c->state_dir = xstrdup("/var/lib/svcacct");
	c->nss_dir = xstrdup(SVCA_NSS_DIR);
	c->home_base = xstrdup("/var/lib/svcacct/home");
	c->login_shell = xstrdup("/bin/bash");
	c->nologin_shell = xstrdup("/usr/sbin/nologin");
	c->sudo_group = xstrdup("svcacct-sudo");
	c->daemon_user = xstrdup(SVCA_DEFAULT_DAEMON_USER);
	c->ssh_principals_user = xstrdup("svcacct-ssh");
	c->ssh_principals_uid = -1;
	c->syslog_socket = xstrdup("/dev/log");
	c->uid_min = 60000;
	c->uid_max = 60999;
	c->token_ttl = 900;
	c->max_active_keys = 2;
	strlist_add(&c->ssh_cert_extensions, "permit-pty");
	c->default_key_days = 90;
	c->max_key_days = 366;
	c->syslog = 1;
	c->client_timeout_ms = 2000;
	c->audit_timeout_ms = 1000;
	c->audit_spool_max = 100000;
	c->max_clients = 1024;
	c->max_clients_per_uid = 64;
	c->root_reserved_clients = 64;
	c->rate_limit_count = 10;
	c->rate_limit_window = 10;
	c->lockout_threshold = 5;
	c->lockout_seconds = 300;
	/* PAM logins with the right secret: 5 a second for a minute, so an
	 * automation run with 50 forks over one key fits (svcacctd.conf(5)) */
	c->login_rate_limit_count = 300;
	c->login_rate_limit_window = 60;
	c->audit_refusal_burst = 20;
	c->audit_refusal_window = 60;
	c->state_reserve_mb = 16;
	c->refresh_interval = 300;
	c->max_staleness = 86400;
	c->https_max_connections = 4096;
	strlist_add(&c->admin_groups, "svcacct-admin");
	c->role_caps[ROLE_NONE] = 0;
	c->role_caps[ROLE_VIEWER] = 0;
	c->role_caps[ROLE_EDITOR] = CAP_LOGIN;
	c->role_caps[ROLE_ADMIN] = CAP_LOGIN | CAP_SUDO;
	static const char *login[] = { "sshd", "login", "su", "su-l", "cron" };
	static const char *sudo[] = { "sudo", "sudo-i" };
	c->n_services = 7;
	c->services = calloc(c->n_services, sizeof(*c->services));
	if (!c->services)
		abort();
	for (size_t i = 0; i < 5; i++)
		c->services[i] = (struct service_map){ xstrdup(login[i]), CAP_LOGIN };
	for (size_t i = 0; i < 2; i++)
		c->services[5 + i] = (struct service_map){ xstrdup(sudo[i]), CAP_SUDO };
}

void config_free(struct svca_config *c)
{
	free(c->path);
	free(c->socket);
	free(c->http_socket);
	free(c->http_listen);
	free(c->database);
	strlist_free(&c->hubs);
	free(c->hub_ca);
	free(c->host_id);
	strlist_free(&c->ignored);
	free(c->https_listen);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->state_dir);
	free(c->nss_dir);
	free(c->home_base);
	free(c->login_shell);
	free(c->nologin_shell);
	free(c->sudo_group);
	free(c->daemon_user);
	free(c->ssh_principals_user);
	free(c->syslog_socket);
	free(c->pepper_file);
	free(c->signing_key_file);
	free(c->audit_key_file);
	free(c->ssh_ca_file);
	free(c->ssh_krl_file);
	strlist_free(&c->ssh_cert_extensions);
	free(c->ssh_source_address);
	strlist_free(&c->host_workspaces);
	strlist_free(&c->admin_groups);
	strlist_free(&c->super_admin_groups);
	for (size_t i = 0; i < c->n_services; i++)
		free(c->services[i].service);
	free(c->services);
	memset(c, 0, sizeof(*c));
}

/* ---- typed setters ------------------------------------------------------ */

static void set_path(struct ctx *x, config_setting_t *s, char **dst)
{
	const char *v = config_setting_get_string(s);
	if (config_setting_type(s) != CONFIG_TYPE_STRING || !v) {
		err_at(x, s, "'%s' must be a string", config_setting_name(s));
		return;
	}
	if (v[0] != '/' || strlen(v) > 200) {
		err_at(x, s, "'%s' must be an absolute path (at most 200 characters)",
		       config_setting_name(s));
		return;
	}
	free(*dst);
	*dst = xstrdup(v);
}

static void set_string(struct ctx *x, config_setting_t *s, char **dst)
{
	const char *v = config_setting_get_string(s);
	if (config_setting_type(s) != CONFIG_TYPE_STRING || !v || !*v) {
		err_at(x, s, "'%s' must be a non-empty string", config_setting_name(s));
		return;
	}
	free(*dst);
	*dst = xstrdup(v);
}

static void set_int(struct ctx *x, config_setting_t *s, long long lo, long long hi, long long *out)
{
	int t = config_setting_type(s);
	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
		err_at(x, s, "'%s' must be an integer", config_setting_name(s));
		return;
	}
	long long v = config_setting_get_int64(s);
	if (v < lo || v > hi) {
		err_at(x, s, "'%s' must be between %lld and %lld, not %lld", config_setting_name(s),
		       lo, hi, v);
		return;
	}
	*out = v;
}

static void set_intv(struct ctx *x, config_setting_t *s, long long lo, long long hi, int *out)
{
	long long v = *out;
	set_int(x, s, lo, hi, &v);
	*out = (int)v;
}

static void set_bool(struct ctx *x, config_setting_t *s, int *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		err_at(x, s, "'%s' must be true or false", config_setting_name(s));
		return;
	}
	*out = config_setting_get_bool(s);
}

typedef int (*name_check)(const char *);

static int group_name_valid(const char *s)
{
	return svca_account_name_valid(s);
}

static void set_list(struct ctx *x, config_setting_t *s, struct strlist *out, name_check ok,
		     const char *what)
{
	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		err_at(x, s, "'%s' must be a list of strings, like [ \"a\", \"b\" ]",
		       config_setting_name(s));
		return;
	}
	strlist_free(out);
	int n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v = e ? config_setting_get_string(e) : NULL;
		if (!v) {
			err_at(x, s, "'%s' must hold strings only", config_setting_name(s));
			continue;
		}
		if (ok && !ok(v)) {
			err_at(x, e, "'%s': invalid %s name '%s'", config_setting_name(s), what, v);
			continue;
		}
		strlist_add(out, v);
	}
}

/* The certificate extensions OpenSSH knows (PROTOCOL.certkeys), or a
 * vendor one ("name@domain"). */
static int ssh_extension_ok(const char *v)
{
	static const char *const known[] = { "permit-X11-forwarding",  "permit-agent-forwarding",
					     "permit-port-forwarding", "permit-pty",
					     "permit-user-rc",         "no-touch-required" };
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(v, known[i]))
			return 1;
	size_t n = strlen(v);
	if (n == 0 || n > 63 || !strchr(v, '@'))
		return 0;
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("@.-_", *p))
			return 0;
	return 1;
}

/* sshd's source-address syntax: addresses and CIDR blocks, comma separated. */
static int ssh_source_address_ok(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n > 255 || v[0] == ',' || v[n - 1] == ',' || strstr(v, ",,"))
		return 0;
	for (const char *p = v; *p; p++)
		if (!isxdigit((unsigned char)*p) && !strchr(".:/,", *p))
			return 0;
	return 1;
}

static void set_services(struct ctx *x, config_setting_t *s, struct svca_config *c)
{
	if (!config_setting_is_group(s)) {
		err_at(x, s, "'services' must be a group: { login = [ ... ]; sudo = [ ... ]; }");
		return;
	}
	for (size_t i = 0; i < c->n_services; i++)
		free(c->services[i].service);
	free(c->services);
	c->services = NULL;
	c->n_services = 0;
	int n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
		unsigned cap;
		if (cap_parse(config_setting_name(g), &cap) < 0) {
			err_at(x, g, "services: unknown capability '%s' (use login or sudo)",
			       config_setting_name(g));
			continue;
		}
		struct strlist l = { 0 };
		set_list(x, g, &l, NULL, "service");
		for (size_t j = 0; j < l.n; j++) {
			int dup = 0;
			for (size_t k = 0; k < c->n_services; k++)
				if (strcmp(c->services[k].service, l.v[j]) == 0)
					dup = 1;
			if (dup) {
				err_at(x, g, "services: '%s' is mapped twice", l.v[j]);
				continue;
			}
			struct service_map *nv =
				realloc(c->services, (c->n_services + 1) * sizeof(*nv));
			if (!nv)
				abort();
			c->services = nv;
			c->services[c->n_services++] = (struct service_map){ xstrdup(l.v[j]), cap };
		}
		strlist_free(&l);
	}
}

static void set_roles(struct ctx *x, config_setting_t *s, struct svca_config *c)
{
	if (!config_setting_is_group(s)) {
		err_at(x, s, "'roles' must be a group: { editor = [ \"login\" ]; ... }");
		return;
	}
	int n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
		enum svca_role r;
		if (role_parse(config_setting_name(g), &r) < 0) {
			err_at(x, g, "roles: unknown role '%s' (use viewer, editor or admin)",
			       config_setting_name(g));
			continue;
		}
		struct strlist l = { 0 };
		set_list(x, g, &l, NULL, "capability");
		unsigned caps = 0;
		for (size_t j = 0; j < l.n; j++) {
			unsigned cap;
			if (cap_parse(l.v[j], &cap) < 0)
				err_at(x, g, "roles: unknown capability '%s' (use login or sudo)",
				       l.v[j]);
			else
				caps |= cap;
		}
		c->role_caps[r] = caps;
		strlist_free(&l);
	}
}

static int parse_listen(const char *s, struct sockaddr_storage *ss, int loopback_only)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s || strlen(colon + 1) == 0)
		return -1;
	size_t hl = (size_t)(colon - s);
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1 ||
		    (loopback_only && !IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)))
			return -1;
		return 0;
	}
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &in->sin_addr) != 1 ||
	    (loopback_only && (ntohl(in->sin_addr.s_addr) >> 24) != 127))
		return -1;
	return 0;
}

/* Plain HTTP carries keys and tokens in clear: loopback only.  Any
 * address is for the HTTPS API. */
int config_parse_listen(const char *s, struct sockaddr_storage *ss)
{
	return parse_listen(s, ss, 1);
}

int config_parse_listen_any(const char *s, struct sockaddr_storage *ss)
{
	return parse_listen(s, ss, 0);
}

int config_hub_url_ok(const char *s)
{
	size_t n = strlen(s);
	if (n <= 8 || n > 200 || strncmp(s, "https://", 8) != 0)
		return 0;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == '?' ||
		    *p == '#' || *p == '"' || *p == '\\')
			return 0;
	return 1;
}

int config_host_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			    (ch >= '0' && ch <= '9');
		if (!alnum && (i == 0 || (ch != '.' && ch != '_' && ch != '-')))
			return 0;
	}
	return 1;
}

enum svca_mode config_mode(const struct svca_config *c)
{
	if (c->database)
		return MODE_HUB;
	return c->hubs.n ? MODE_AGENT : MODE_STANDALONE;
}

const char *config_mode_name(enum svca_mode m)
{
	switch (m) {
	case MODE_HUB: return "hub";
	case MODE_AGENT: return "agent";
	default: return "standalone";
	}
}

static void set_hubs(struct ctx *x, config_setting_t *s, struct svca_config *c)
{
	set_list(x, s, &c->hubs, NULL, "hub");
	for (size_t i = 0; i < c->hubs.n; i++)
		if (!config_hub_url_ok(c->hubs.v[i]))
			err_at(x, s,
			       "'hubs': '%.200s' is not an https:// URL (like "
			       "\"https://hub1.example:8443\")",
			       c->hubs.v[i]);
	if (c->hubs.n == 0)
		err_at(x, s, "'hubs' is empty: list the hubs' URLs, or leave it out");
	if (c->hubs.n > 16)
		err_at(x, s, "'hubs' lists %zu URLs (at most 16)", c->hubs.n);
}

static void apply(struct ctx *x, config_setting_t *s, struct svca_config *c)
{
	const char *k = config_setting_name(s);
	long long v;

	for (size_t i = 0; i < sizeof(org_settings) / sizeof(org_settings[0]); i++)
		if (!strcmp(k, org_settings[i]))
			strlist_add(&x->org, k);
	if (!strcmp(k, "socket"))
		set_path(x, s, &c->socket);
	else if (!strcmp(k, "http_socket"))
		set_path(x, s, &c->http_socket);
	else if (!strcmp(k, "http_listen")) {
		struct sockaddr_storage ss;
		set_string(x, s, &c->http_listen);
		if (c->http_listen && config_parse_listen(c->http_listen, &ss) < 0)
			err_at(x, s,
			       "'http_listen' must be a loopback address and port, like "
			       "\"127.0.0.1:8080\" or \"[::1]:8080\" (plain HTTP carries keys "
			       "and tokens in clear: for other addresses use https_listen)");
	} else if (!strcmp(k, "https_listen")) {
		struct sockaddr_storage ss;
		set_string(x, s, &c->https_listen);
		if (c->https_listen && config_parse_listen_any(c->https_listen, &ss) < 0)
			err_at(x, s,
			       "'https_listen' must be an address and port, like "
			       "\"0.0.0.0:8443\" or \"[::]:8443\"");
	} else if (!strcmp(k, "tls_cert"))
		set_path(x, s, &c->tls_cert);
	else if (!strcmp(k, "tls_key"))
		set_path(x, s, &c->tls_key);
	else if (!strcmp(k, "state_dir"))
		set_path(x, s, &c->state_dir);
	else if (!strcmp(k, "nss_dir"))
		set_path(x, s, &c->nss_dir);
	else if (!strcmp(k, "home_base"))
		set_path(x, s, &c->home_base);
	else if (!strcmp(k, "login_shell"))
		set_path(x, s, &c->login_shell);
	else if (!strcmp(k, "nologin_shell"))
		set_path(x, s, &c->nologin_shell);
	else if (!strcmp(k, "database"))
		set_string(x, s, &c->database);
	else if (!strcmp(k, "hubs"))
		set_hubs(x, s, c);
	else if (!strcmp(k, "hub_ca"))
		set_path(x, s, &c->hub_ca);
	else if (!strcmp(k, "refresh_interval"))
		set_intv(x, s, 5, 86400, &c->refresh_interval);
	else if (!strcmp(k, "max_staleness"))
		set_intv(x, s, 5, 31536000, &c->max_staleness);
	else if (!strcmp(k, "https_max_connections"))
		set_intv(x, s, 16, 4096, &c->https_max_connections);
	else if (!strcmp(k, "host_id")) {
		set_string(x, s, &c->host_id);
		if (c->host_id && !config_host_id_ok(c->host_id))
			err_at(x, s,
			       "'host_id' must be 1 to 64 letters, digits, '.', '_' or '-', "
			       "starting with a letter or digit");
	} else if (!strcmp(k, "syslog_socket"))
		set_path(x, s, &c->syslog_socket);
	else if (!strcmp(k, "pepper_file"))
		set_path(x, s, &c->pepper_file);
	else if (!strcmp(k, "signing_key_file"))
		set_path(x, s, &c->signing_key_file);
	else if (!strcmp(k, "audit_key_file"))
		set_path(x, s, &c->audit_key_file);
	else if (!strcmp(k, "ssh_ca_file"))
		set_path(x, s, &c->ssh_ca_file);
	else if (!strcmp(k, "ssh_krl_file"))
		set_path(x, s, &c->ssh_krl_file);
	else if (!strcmp(k, "ssh_cert_extensions")) {
		set_list(x, s, &c->ssh_cert_extensions, ssh_extension_ok, "certificate extension");
		if (c->ssh_cert_extensions.n > 16)
			err_at(x, s, "'ssh_cert_extensions': at most 16 extensions");
	} else if (!strcmp(k, "ssh_source_address")) {
		set_string(x, s, &c->ssh_source_address);
		if (c->ssh_source_address && !ssh_source_address_ok(c->ssh_source_address))
			err_at(x, s,
			       "'ssh_source_address' must be a comma-separated list of addresses "
			       "or "
			       "CIDR blocks, like \"10.0.0.0/8,192.0.2.7\"");
	} else if (!strcmp(k, "sudo_group")) {
		set_string(x, s, &c->sudo_group);
		if (c->sudo_group && !svca_account_name_valid(c->sudo_group))
			err_at(x, s, "'sudo_group' is not a valid group name");
	} else if (!strcmp(k, "daemon_user")) {
		set_string(x, s, &c->daemon_user);
		if (c->daemon_user && !svca_account_name_valid(c->daemon_user))
			err_at(x, s, "'daemon_user' is not a valid user name");
	} else if (!strcmp(k, "ssh_principals_user")) {
		set_string(x, s, &c->ssh_principals_user);
		if (c->ssh_principals_user && !svca_account_name_valid(c->ssh_principals_user))
			err_at(x, s, "'ssh_principals_user' is not a valid user name");
	} else if (!strcmp(k, "uid_min")) {
		v = c->uid_min;
		set_int(x, s, 1000, 4294967294LL, &v);
		c->uid_min = (uint32_t)v;
	} else if (!strcmp(k, "uid_max")) {
		v = c->uid_max;
		set_int(x, s, 1000, 4294967294LL, &v);
		c->uid_max = (uint32_t)v;
	} else if (!strcmp(k, "token_ttl"))
		set_intv(x, s, 60, 3600, &c->token_ttl);
	else if (!strcmp(k, "max_active_keys"))
		set_intv(x, s, 1, 100, &c->max_active_keys);
	else if (!strcmp(k, "default_key_days"))
		set_intv(x, s, 1, 366, &c->default_key_days);
	else if (!strcmp(k, "max_key_days"))
		set_intv(x, s, 1, 366, &c->max_key_days);
	else if (!strcmp(k, "allow_nonexpiring_keys"))
		set_bool(x, s, &c->allow_nonexpiring_keys);
	else if (!strcmp(k, "syslog"))
		set_bool(x, s, &c->syslog);
	else if (!strcmp(k, "client_timeout_ms"))
		set_intv(x, s, 100, 60000, &c->client_timeout_ms);
	else if (!strcmp(k, "audit_timeout_ms"))
		set_intv(x, s, 10, 60000, &c->audit_timeout_ms);
	else if (!strcmp(k, "audit_spool_max"))
		set_intv(x, s, 10, 100000000, &c->audit_spool_max);
	else if (!strcmp(k, "max_clients"))
		set_intv(x, s, 8, 65536, &c->max_clients);
	else if (!strcmp(k, "max_clients_per_uid"))
		set_intv(x, s, 1, 65536, &c->max_clients_per_uid);
	else if (!strcmp(k, "root_reserved_clients"))
		set_intv(x, s, 0, 32768, &c->root_reserved_clients);
	else if (!strcmp(k, "rate_limit_count"))
		set_intv(x, s, 1, 100000, &c->rate_limit_count);
	else if (!strcmp(k, "rate_limit_window"))
		set_intv(x, s, 1, 3600, &c->rate_limit_window);
	else if (!strcmp(k, "lockout_threshold"))
		set_intv(x, s, 1, 1000, &c->lockout_threshold);
	else if (!strcmp(k, "lockout_seconds"))
		set_intv(x, s, 1, 86400, &c->lockout_seconds);
	else if (!strcmp(k, "login_rate_limit_count"))
		set_intv(x, s, 1, 100000, &c->login_rate_limit_count);
	else if (!strcmp(k, "login_rate_limit_window"))
		set_intv(x, s, 1, 3600, &c->login_rate_limit_window);
	else if (!strcmp(k, "audit_refusal_burst"))
		set_intv(x, s, 1, 1000000, &c->audit_refusal_burst);
	else if (!strcmp(k, "audit_refusal_window"))
		set_intv(x, s, 1, 3600, &c->audit_refusal_window);
	else if (!strcmp(k, "state_reserve_mb"))
		set_intv(x, s, 1, 1048576, &c->state_reserve_mb);
	else if (!strcmp(k, "host_workspaces"))
		set_list(x, s, &c->host_workspaces, svca_scope_name_valid, "workspace");
	else if (!strcmp(k, "admin_groups"))
		set_list(x, s, &c->admin_groups, group_name_valid, "group");
	else if (!strcmp(k, "super_admin_groups"))
		set_list(x, s, &c->super_admin_groups, group_name_valid, "group");
	else if (!strcmp(k, "services"))
		set_services(x, s, c);
	else if (!strcmp(k, "roles"))
		set_roles(x, s, c);
	else
		err_at(x, s, "unknown setting '%s'", k);
}

/* Set explicitly, the caps must fit max_clients; the defaults shrink with
 * a small max_clients instead (server.c: server_caps). */
static void check_client_caps(struct ctx *x, config_t *cf, const struct svca_config *c)
{
	config_setting_t *r = config_lookup(cf, "root_reserved_clients");
	config_setting_t *u = config_lookup(cf, "max_clients_per_uid");
	if (r && c->root_reserved_clients > c->max_clients / 2)
		err_at(x, r, "root_reserved_clients (%d) must be at most half of max_clients (%d)",
		       c->root_reserved_clients, c->max_clients);
	else if (u && c->max_clients_per_uid > c->max_clients - c->root_reserved_clients)
		err_at(x, u,
		       "max_clients_per_uid (%d) must be at most max_clients minus "
		       "root_reserved_clients (%d)",
		       c->max_clients_per_uid, c->max_clients - c->root_reserved_clients);
}

/* The modes exclude each other; an agent's organization settings are
 * noted for the start-up warning and not used. */
static void check_fleet(struct ctx *x, config_t *cf, struct svca_config *c)
{
	if (c->database && c->hubs.n)
		err_at(x, config_lookup(cf, "hubs"),
		       "'database' (a hub) and 'hubs' (an agent) exclude each other: a hub "
		       "serves agents, an agent follows hubs");
	if (c->hubs.n && !c->hub_ca)
		err_at(x, config_lookup(cf, "hubs"),
		       "'hubs' needs 'hub_ca' (the CA certificate file, PEM, that verifies the "
		       "hubs' TLS certificates)");
	else if (!c->hubs.n && c->hub_ca)
		err_at(x, config_lookup(cf, "hub_ca"), "'hub_ca' is for 'hubs', which is not set");
	if (!c->database && config_lookup(cf, "https_max_connections"))
		err_at(x, config_lookup(cf, "https_max_connections"),
		       "'https_max_connections' is for a hub ('database'): the agents' "
		       "connections it holds");
	if (!c->hubs.n && config_lookup(cf, "host_id") && !c->database)
		err_at(x, config_lookup(cf, "host_id"),
		       "'host_id' names this host in a fleet: set 'hubs' (an agent) or "
		       "'database' (a hub)");
	if (!c->hubs.n)
		return;
	for (size_t i = 0; i < x->org.n; i++)
		strlist_add(&c->ignored, x->org.v[i]);
	/* The hubs set the host's workspaces (at enrollment, host update). */
	strlist_free(&c->host_workspaces);
}

int config_load(const char *path, struct svca_config *out, config_err_fn fn, void *arg)
{
	struct ctx x = { .file = path, .fn = fn, .arg = arg };
	config_t cf;

	config_defaults(out);
	out->path = xstrdup(path);
	/* Whoever can write the file runs the daemon's rules: refuse one that
	 * others may write.  (A file that cannot be read is reported below.) */
	struct stat st;
	if (stat(path, &st) == 0) {
		if (st.st_mode & S_IWOTH)
			err_at(&x, NULL, "writable by others (mode %04o); run chmod 644 %s",
			       (unsigned)(st.st_mode & 07777), path);
		else if (st.st_mode & S_IWGRP)
			err_at(&x, NULL, "writable by its group (mode %04o); run chmod 644 %s",
			       (unsigned)(st.st_mode & 07777), path);
		if (st.st_uid != 0 && st.st_uid != geteuid())
			err_at(&x, NULL,
			       "owned by uid %u, not by root or the daemon's uid %u; "
			       "run chown root %s",
			       (unsigned)st.st_uid, (unsigned)geteuid(), path);
		if (x.errors)
			return x.errors;
	}
	config_init(&cf);
	if (config_read_file(&cf, path) != CONFIG_TRUE) {
		char line[600];
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
			snprintf(line, sizeof(line), "%s: cannot read the file", path);
		else
			snprintf(line, sizeof(line), "%s:%d: %s",
				 config_error_file(&cf) ? config_error_file(&cf) : path,
				 config_error_line(&cf), config_error_text(&cf));
		x.errors++;
		if (fn)
			fn(arg, line);
		config_destroy(&cf);
		return x.errors;
	}
	config_setting_t *root = config_root_setting(&cf);
	int n = config_setting_length(root);
	for (int i = 0; i < n; i++)
		apply(&x, config_setting_get_elem(root, (unsigned)i), out);

	/* uid_max itself is the gid of sudo_group: accounts get the rest.
	 * (An agent takes the organization's settings from the hubs.) */
	int agent = out->hubs.n > 0;
	if (!agent && out->uid_min >= out->uid_max)
		err_at(&x, config_lookup(&cf, "uid_max"), "uid_max (%u) must be above uid_min (%u)",
		       out->uid_max, out->uid_min);
	/* Secrets live beside the database unless placed elsewhere.  The
	 * NSS snapshot does not follow state_dir: libnss_svcacct looks in
	 * the directory it was built for (default /var/lib/svcacct/nss). */
	char buf[512];
	if (!out->pepper_file) {
		snprintf(buf, sizeof(buf), "%s/pepper", out->state_dir);
		out->pepper_file = xstrdup(buf);
	}
	if (!out->signing_key_file) {
		snprintf(buf, sizeof(buf), "%s/signing.keys", out->state_dir);
		out->signing_key_file = xstrdup(buf);
	}
	if (!out->audit_key_file) {
		snprintf(buf, sizeof(buf), "%s/audit.key", out->state_dir);
		out->audit_key_file = xstrdup(buf);
	}
	if (!out->ssh_ca_file) {
		snprintf(buf, sizeof(buf), "%s/ssh_ca.pub", out->state_dir);
		out->ssh_ca_file = xstrdup(buf);
	}
	if (!out->ssh_krl_file) {
		snprintf(buf, sizeof(buf), "%s/ssh_revoked.krl", out->state_dir);
		out->ssh_krl_file = xstrdup(buf);
	}
	check_client_caps(&x, &cf, out);
	if (out->https_listen && (!out->tls_cert || !out->tls_key))
		err_at(&x, config_lookup(&cf, "https_listen"),
		       "https_listen needs tls_cert and tls_key (PEM files: the server's "
		       "certificate chain and its private key)");
	else if (!out->https_listen && (out->tls_cert || out->tls_key))
		err_at(&x, config_lookup(&cf, out->tls_cert ? "tls_cert" : "tls_key"),
		       "tls_cert and tls_key are for https_listen, which is not set");
	if (!agent && out->default_key_days > out->max_key_days)
		err_at(&x, config_lookup(&cf, "default_key_days"),
		       "default_key_days is above max_key_days");
	check_fleet(&x, &cf, out);
	/* sshd's principals helper runs as this user: its uid now (start and
	 * reload), so a request never waits on NSS */
	if (svca_user_uid(out->ssh_principals_user, &out->ssh_principals_uid) != 0)
		out->ssh_principals_uid = -1;
	strlist_free(&x.org);
	config_destroy(&cf);
	return x.errors;
}

int strlist_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return 1;
	return 0;
}

/* The configuration setting that gives this name a meaning of its own, or
 * NULL.  Wherever NSS answers, a service account so named would be taken
 * for that group (its private group has its name) or user. */
const char *config_reserved_name(const struct svca_config *c, const char *name)
{
	if (c->sudo_group && !strcmp(name, c->sudo_group))
		return "sudo_group";
	if (strlist_has(&c->admin_groups, name))
		return "admin_groups";
	if (strlist_has(&c->super_admin_groups, name))
		return "super_admin_groups";
	if (c->daemon_user && !strcmp(name, c->daemon_user))
		return "daemon_user";
	if (c->ssh_principals_user && !strcmp(name, c->ssh_principals_user))
		return "ssh_principals_user";
	return NULL;
}
