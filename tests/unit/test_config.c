/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Config parsing: defaults, contract keys, and file:line errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char errs[4096];

static void collect(void *ctx, const char *msg)
{
	(void)ctx;
	strncat(errs, msg, sizeof(errs) - strlen(errs) - 2);
	strcat(errs, "\n");
}

static int load(const char *text, struct svca_config *c)
{
	char path[] = "/tmp/svcacct-cfg-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	errs[0] = '\0';
	int n = config_load(path, c, collect, NULL);
	unlink(path);
	return n;
}

static void contract_keys(void **state)
{
	(void)state;
	struct svca_config c;
	int n = load("socket = \"/run/x.sock\";\n"
		     "http_socket = \"/run/h.sock\";\n"
		     "state_dir = \"/var/lib/x\";\n"
		     "nss_dir = \"/var/lib/x/nss\";\n"
		     "uid_min = 61000; uid_max = 61999;\n"
		     "token_ttl = 600;\n"
		     "max_active_keys = 3;\n"
		     "host_workspaces = [ \"build-farm\", \"prod\" ];\n"
		     "admin_groups = [ \"ops\" ];\n"
		     "super_admin_groups = [ ];\n"
		     "services = { login = [ \"sshd\" ]; sudo = [ \"sudo\" ]; };\n"
		     "sudo_group = \"svc-sudo\";\n"
		     "syslog = false;\n",
		     &c);
	assert_int_equal(n, 0);
	assert_string_equal(c.socket, "/run/x.sock");
	assert_string_equal(c.http_socket, "/run/h.sock");
	assert_int_equal(c.uid_min, 61000);
	assert_int_equal(c.uid_max, 61999);
	assert_int_equal(c.token_ttl, 600);
	assert_int_equal(c.max_active_keys, 3);
	assert_int_equal(c.host_workspaces.n, 2);
	assert_string_equal(c.host_workspaces.v[1], "prod");
	assert_int_equal(c.admin_groups.n, 1);
	assert_int_equal(c.super_admin_groups.n, 0);
	assert_int_equal(c.n_services, 2);
	assert_int_equal(c.services[1].cap, CAP_SUDO);
	assert_string_equal(c.sudo_group, "svc-sudo");
	assert_int_equal(c.syslog, 0);
	config_free(&c);
}

static void defaults(void **state)
{
	(void)state;
	struct svca_config c;
	assert_int_equal(load("", &c), 0);
	assert_string_equal(c.socket, "/run/svcacct/svcacctd.sock");
	assert_int_equal(c.token_ttl, 900);
	assert_int_equal(c.max_active_keys, 2);
	assert_int_equal(c.n_services, 7);
	assert_int_equal(c.role_caps[ROLE_EDITOR], CAP_LOGIN);
	assert_int_equal(c.role_caps[ROLE_ADMIN], CAP_LOGIN | CAP_SUDO);
	assert_int_equal(c.role_caps[ROLE_VIEWER], 0);
	config_free(&c);
}

static void unknown_setting_names_line(void **state)
{
	(void)state;
	struct svca_config c;
	int n = load("socket = \"/run/x.sock\";\n\nfrobnicate = 1;\n", &c);
	assert_int_equal(n, 1);
	assert_non_null(strstr(errs, ":3: unknown setting 'frobnicate'"));
	config_free(&c);
}

static void every_error_reported(void **state)
{
	(void)state;
	struct svca_config c;
	int n = load("token_ttl = 5;\n"
		     "socket = \"relative.sock\";\n"
		     "uid_min = 70000; uid_max = 60000;\n"
		     "syslog = 1;\n"
		     "admin_groups = [ \"Bad Group\" ];\n"
		     "services = { teleport = [ \"x\" ]; };\n"
		     "roles = { wizard = [ \"login\" ]; editor = [ \"fly\" ]; };\n",
		     &c);
	assert_int_equal(n, 8);
	assert_non_null(strstr(errs, ":1: 'token_ttl' must be between 60 and 3600"));
	assert_non_null(strstr(errs, ":2: 'socket' must be an absolute path"));
	assert_non_null(strstr(errs, "uid_max (60000) must be above uid_min (70000)"));
	assert_non_null(strstr(errs, ":4: 'syslog' must be true or false"));
	assert_non_null(strstr(errs, "invalid group name 'Bad Group'"));
	assert_non_null(strstr(errs, "unknown capability 'teleport'"));
	assert_non_null(strstr(errs, "unknown role 'wizard'"));
	assert_non_null(strstr(errs, "unknown capability 'fly'"));
	config_free(&c);
}

static void syntax_error_has_line(void **state)
{
	(void)state;
	struct svca_config c;
	int n = load("socket = \"/x\";\nuid_min = ;\n", &c);
	assert_int_equal(n, 1);
	assert_non_null(strstr(errs, ":2: syntax error"));
	config_free(&c);
}

static void role_override(void **state)
{
	(void)state;
	struct svca_config c;
	assert_int_equal(load("roles = { viewer = [ \"login\" ]; admin = [ \"login\" ]; };\n", &c),
			 0);
	assert_int_equal(c.role_caps[ROLE_VIEWER], CAP_LOGIN);
	assert_int_equal(c.role_caps[ROLE_ADMIN], CAP_LOGIN);
	assert_int_equal(c.role_caps[ROLE_EDITOR], CAP_LOGIN);
	config_free(&c);
}

static void missing_file(void **state)
{
	(void)state;
	struct svca_config c;
	errs[0] = '\0';
	assert_int_equal(config_load("/nonexistent/svcacctd.conf", &c, collect, NULL), 1);
	assert_non_null(strstr(errs, "/nonexistent/svcacctd.conf: cannot read the file"));
	config_free(&c);
}

/* https_listen takes any address, but only with its certificate and key;
 * plain http_listen stays loopback only. */
static void https_settings(void **state)
{
	(void)state;
	struct svca_config c;
	assert_int_equal(load("https_listen = \"0.0.0.0:8443\";\n"
			      "tls_cert = \"/etc/svcacct/tls/hub.crt\";\n"
			      "tls_key = \"/etc/svcacct/tls/hub.key\";\n",
			      &c),
			 0);
	assert_string_equal(c.https_listen, "0.0.0.0:8443");
	assert_string_equal(c.tls_cert, "/etc/svcacct/tls/hub.crt");
	assert_string_equal(c.tls_key, "/etc/svcacct/tls/hub.key");
	config_free(&c);

	assert_int_equal(load("https_listen = \"[::]:8443\";\ntls_cert = \"/a.crt\";\n"
			      "tls_key = \"/a.key\";\n",
			      &c),
			 0);
	config_free(&c);

	assert_int_equal(load("https_listen = \"0.0.0.0:8443\";\ntls_key = \"/a.key\";\n", &c), 1);
	assert_non_null(strstr(errs, ":1: https_listen needs tls_cert and tls_key"));
	config_free(&c);

	assert_int_equal(load("tls_cert = \"/a.crt\";\n", &c), 1);
	assert_non_null(strstr(errs, "are for https_listen, which is not set"));
	config_free(&c);

	assert_int_equal(load("https_listen = \"host:x\";\ntls_cert = \"/a.crt\";\n"
			      "tls_key = \"/a.key\";\n",
			      &c),
			 1);
	assert_non_null(strstr(errs, "'https_listen' must be an address and port"));
	config_free(&c);

	assert_int_equal(load("tls_key = \"relative.key\";\nhttps_listen = \"0.0.0.0:1\";\n"
			      "tls_cert = \"/a.crt\";\n",
			      &c),
			 2); /* not absolute, and so missing */
	config_free(&c);

	assert_int_equal(load("http_listen = \"0.0.0.0:8080\";\n", &c), 1);
	assert_non_null(strstr(errs, "must be a loopback address"));
	assert_non_null(strstr(errs, "use https_listen"));
	config_free(&c);
}

/* Agent mode (DESIGN.md section 9): the fleet keys, their bounds, the
 * modes excluding each other, and the organization settings an agent
 * ignores (named for the start-up warning, not cross-checked). */
static void agent_settings(void **state)
{
	(void)state;
	struct svca_config c;
	assert_int_equal(load("hubs = [ \"https://hub1.example:8443\", \"https://hub2:8443\" ];\n"
			      "hub_ca = \"/etc/svcacct/tls/ca.crt\";\n"
			      "refresh_interval = 5; max_staleness = 3600;\n"
			      "host_id = \"web-1.prod\";\n"
			      "uid_min = 70000; uid_max = 60000;\n"
			      "host_workspaces = [ \"prod\" ];\n",
			      &c),
			 0);
	assert_int_equal(config_mode(&c), MODE_AGENT);
	assert_int_equal(c.hubs.n, 2);
	assert_string_equal(c.hubs.v[1], "https://hub2:8443");
	assert_string_equal(c.hub_ca, "/etc/svcacct/tls/ca.crt");
	assert_int_equal(c.refresh_interval, 5);
	assert_int_equal(c.max_staleness, 3600);
	assert_string_equal(c.host_id, "web-1.prod");
	assert_int_equal(c.ignored.n, 3);
	assert_string_equal(c.ignored.v[0], "uid_min");
	assert_int_equal(c.host_workspaces.n, 0); /* the hubs set them */
	config_free(&c);

	assert_int_equal(load("", &c), 0);
	assert_int_equal(config_mode(&c), MODE_STANDALONE);
	assert_int_equal(c.refresh_interval, 300);
	assert_int_equal(c.max_staleness, 86400);
	config_free(&c);

	assert_int_equal(load("database = \"dbname=x\";\nhubs = [ \"https://h\" ];\n"
			      "hub_ca = \"/ca\";\n",
			      &c),
			 1);
	assert_non_null(strstr(errs, "exclude each other"));
	config_free(&c);
	assert_int_equal(load("hubs = [ \"https://h\" ];\n", &c), 1);
	assert_non_null(strstr(errs, "needs 'hub_ca'"));
	config_free(&c);
	assert_int_equal(load("hub_ca = \"/ca\";\n", &c), 1);
	assert_non_null(strstr(errs, "'hub_ca' is for 'hubs'"));
	config_free(&c);
	assert_int_equal(load("hubs = [ \"http://h\", \"https://a b\" ];\nhub_ca = \"/ca\";\n", &c),
			 2);
	assert_non_null(strstr(errs, "not an https:// URL"));
	config_free(&c);
	assert_int_equal(load("hubs = [ ];\n", &c), 1);
	assert_non_null(strstr(errs, "'hubs' is empty"));
	config_free(&c);
	assert_int_equal(load("hubs = [ \"https://h\" ];\nhub_ca = \"/ca\";\n"
			      "refresh_interval = 4;\nmax_staleness = 4;\nhost_id = \"-x\";\n",
			      &c),
			 3);
	config_free(&c);
	assert_int_equal(load("host_id = \"web1\";\n", &c), 1);
	assert_non_null(strstr(errs, "names this host in a fleet"));
	config_free(&c);
	assert_int_equal(load("database = \"dbname=x\";\nhost_id = \"hub1\";\n", &c), 0);
	assert_int_equal(config_mode(&c), MODE_HUB);
	assert_int_equal(c.ignored.n, 0);
	config_free(&c);
	/* A hub's agents' connections: default, range, hub only. */
	assert_int_equal(load("database = \"dbname=x\";\n", &c), 0);
	assert_int_equal(c.https_max_connections, 4096);
	config_free(&c);
	assert_int_equal(load("database = \"dbname=x\";\nhttps_max_connections = 1000;\n", &c), 0);
	assert_int_equal(c.https_max_connections, 1000);
	config_free(&c);
	assert_int_equal(load("database = \"dbname=x\";\nhttps_max_connections = 5000;\n", &c), 1);
	config_free(&c);
	assert_int_equal(load("https_max_connections = 100;\n", &c), 1);
	assert_non_null(strstr(errs, "is for a hub"));
	config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(contract_keys),
		cmocka_unit_test(defaults),
		cmocka_unit_test(unknown_setting_names_line),
		cmocka_unit_test(every_error_reported),
		cmocka_unit_test(syntax_error_has_line),
		cmocka_unit_test(role_override),
		cmocka_unit_test(missing_file),
		cmocka_unit_test(https_settings),
		cmocka_unit_test(agent_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
