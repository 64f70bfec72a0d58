/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The configuration parser: config_load (svcacctd/base/config.c, on libconfig)
 * on arbitrary file contents, then config_free.  svcacctd runs this at
 * start, on `svcacctd -t` and on every SIGHUP.
 *
 * Input: the contents of svcacctd.conf.  It is written to a memfd and
 * config_load reads it through /proc/self/fd/N, so nothing touches the
 * disk.  Inputs with an @include directive are skipped: libconfig would
 * open the named file (the config file is root's to write, so that is not
 * an attack surface, but a fuzzer that finds "/dev/zero" would hang).
 *
 * Properties checked besides memory safety: a configuration accepted with
 * 0 errors satisfies the invariants the rest of the daemon relies on.
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_util.h"
#include "names.h"

static int fd = -1;
static char path[64];

static void on_err(void *ctx, const char *msg)
{
	size_t *n = ctx;
	FZ_ASSERT(msg != NULL);
	(*n)++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fd = memfd_create("fuzz_config", MFD_CLOEXEC);
	/* config_load refuses a file that group or others may write (a memfd
	 * starts as 0777) */
	if (fd < 0 || fchmod(fd, 0644) < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return 0;
}

static void check_path(const char *p)
{
	FZ_ASSERT(p && p[0] == '/');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64 * 1024 || memmem(data, size, "@include", 8))
		return 0;
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();

	struct svca_config c;
	size_t reported = 0;
	int errors = config_load(path, &c, on_err, &reported);
	FZ_ASSERT(errors >= 0 && (size_t)errors == reported);
	if (errors == 0) {
		check_path(c.socket);
		check_path(c.state_dir);
		check_path(c.nss_dir);
		check_path(c.home_base);
		check_path(c.login_shell);
		check_path(c.nologin_shell);
		check_path(c.pepper_file);
		check_path(c.signing_key_file);
		if (c.http_socket)
			check_path(c.http_socket);
		FZ_ASSERT(c.uid_min >= 1000 && c.uid_min < c.uid_max);
		FZ_ASSERT(c.token_ttl >= 60 && c.token_ttl <= 3600);
		FZ_ASSERT(c.default_key_days <= c.max_key_days);
		FZ_ASSERT(c.sudo_group && svca_account_name_valid(c.sudo_group));
		for (size_t i = 0; i < c.host_workspaces.n; i++)
			FZ_ASSERT(svca_scope_name_valid(c.host_workspaces.v[i]));
		for (size_t i = 0; i < c.admin_groups.n; i++)
			FZ_ASSERT(svca_account_name_valid(c.admin_groups.v[i]));
		for (size_t i = 0; i < c.super_admin_groups.n; i++)
			FZ_ASSERT(svca_account_name_valid(c.super_admin_groups.v[i]));
		for (size_t i = 0; i < c.n_services; i++) {
			FZ_ASSERT(c.services[i].service != NULL);
			FZ_ASSERT(cap_name(c.services[i].cap) != NULL);
			for (size_t j = 0; j < i; j++)
				FZ_ASSERT(strcmp(c.services[i].service, c.services[j].service) !=
					  0);
		}
		for (int r = ROLE_NONE; r <= ROLE_ADMIN; r++)
			FZ_ASSERT((c.role_caps[r] & ~(unsigned)(CAP_LOGIN | CAP_SUDO)) == 0);
	}
	config_free(&c);
	return 0;
}
