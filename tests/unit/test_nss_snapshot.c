/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The NSS snapshot: the writer (common/nss_format.c, nss_snapshot.c) and
 * the module's reader (nss_svcacct/snapshot.c, included here) agree; the
 * reader refuses damaged images without reading out of bounds; the bulk
 * capability computation agrees with access_compute(); the daemon's
 * in-memory table, kept up to date change by change, writes exactly the
 * image a fresh walk of the store gives, also after deletes, disables,
 * grant removals, aborted transactions, failed flushes, reloads and
 * restarts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../nss_svcacct/snapshot.c"

#include "accounts.h"
#include "daemon.h"
#include "nss_caps.h"
#include "nss_format.h"
#include "nss_snapshot.h"
#include "rbac.h"

static const struct nss_params P = {
	.uid_min = 60000,
	.uid_max = 60999,
	.sudo_gid = 60999,
	.home_base = "/home/svc/",
	.login_shell = "/bin/bash",
	.nologin_shell = "/usr/sbin/nologin",
	.sudo_group = "svcacct-sudo",
};

/* A sample in no particular order. */
static size_t sample(struct nss_entry *e)
{
	static const struct nss_entry s[] = {
		{ "zeta", "last by name", 60005, SVCA_SNAP_LOGIN },
		{ "ci-deploy", "CI: deploy\nbot\x01", 60001, SVCA_SNAP_LOGIN | SVCA_SNAP_SUDO },
		{ "backup", "", 60003, 0 },
		{ "_agent", "underscore", 60002, SVCA_SNAP_DISABLED },
		{ "alpha", "sudo too", 60004, SVCA_SNAP_LOGIN | SVCA_SNAP_SUDO },
	};
	memcpy(e, s, sizeof(s));
	return sizeof(s) / sizeof(s[0]);
}

/* Builds the sample into an exactly sized, aligned heap copy (so ASan sees
 * any read past its end). */
static uint8_t *build(const struct nss_params *p, size_t *len)
{
	struct nss_entry e[8];
	size_t n = sample(e);
	uint8_t *img;
	assert_int_equal(nss_snap_build(p, e, n, NULL, NULL, &img, len), 0);
	return img;
}

/* Looks up every record every way and fills every structure.  On an image
 * that passed snap_verify() everything must be found; on a damaged one
 * (verified = 0) lookups may fail but must not read out of bounds (ASan)
 * and may only return records that pass snap_rec_ok(). */
static void check_all_lookups(const struct snap *s, int verified)
{
	char buf[1024];
	struct passwd pw;
	struct group gr;
	const struct svca_snap_rec *got;
	for (uint32_t i = 0; i < s->h->n_records; i++) {
		const struct svca_snap_rec *r = &s->rec[i];
		int x = snap_by_uid(s, r->uid, &got);
		if (verified)
			assert_int_equal(x, 1);
		if (x == 1) {
			assert_true(snap_rec_ok(s, got));
			assert_int_equal(snap_fill_passwd(s, got, &pw, buf, sizeof(buf)), 0);
			assert_int_equal(snap_fill_group(s, got, &gr, buf, sizeof(buf)), 0);
			x = snap_by_name(s, s->str + got->name.off, &got);
			if (verified)
				assert_ptr_equal(got, r);
			if (x == 1)
				assert_true(snap_rec_ok(s, got));
		}
	}
	(void)snap_by_name(s, "zzzz", &got);
	(void)snap_by_name(s, "a", &got);
	char *big = malloc(1 << 16);
	int x = snap_fill_sudo_group(s, &gr, big, 1 << 16);
	if (verified)
		assert_int_equal(x, 0);
	free(big);
}

static void build_and_look_up(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = build(&P, &len);
	struct snap s;
	assert_int_equal(snap_open(&s, img, len), 0);
	assert_int_equal(snap_verify(&s), 0);
	assert_int_equal(s.h->n_records, 5);
	assert_int_equal(s.h->n_sudo, 2);
	/* records by uid */
	for (uint32_t i = 1; i < 5; i++)
		assert_true(s.rec[i - 1].uid < s.rec[i].uid);

	char buf[1024];
	struct passwd pw;
	const struct svca_snap_rec *r;
	assert_int_equal(snap_by_name(&s, "ci-deploy", &r), 1);
	assert_int_equal(snap_fill_passwd(&s, r, &pw, buf, sizeof(buf)), 0);
	assert_string_equal(pw.pw_name, "ci-deploy");
	assert_string_equal(pw.pw_passwd, "*");
	assert_int_equal(pw.pw_uid, 60001);
	assert_int_equal(pw.pw_gid, 60001);
	assert_string_equal(pw.pw_gecos, "CI  deploy bot ");
	assert_string_equal(pw.pw_dir, "/home/svc/ci-deploy"); /* no doubled slash */
	assert_string_equal(pw.pw_shell, "/bin/bash");

	assert_int_equal(snap_by_uid(&s, 60002, &r), 1);
	assert_int_equal(snap_fill_passwd(&s, r, &pw, buf, sizeof(buf)), 0);
	assert_string_equal(pw.pw_name, "_agent");
	assert_string_equal(pw.pw_shell, "/usr/sbin/nologin"); /* disabled, no login */

	assert_int_equal(snap_by_name(&s, "nobody", &r), 0);
	assert_null(r);
	assert_int_equal(snap_by_name(&s, "", &r), 0);
	assert_int_equal(snap_by_uid(&s, 60000, &r), 0);
	assert_int_equal(snap_by_uid(&s, 60999, &r), 0); /* the sudo group's gid is no account */
	assert_true(snap_id_in_range(&s, 60000));
	assert_true(snap_id_in_range(&s, 60999));
	assert_false(snap_id_in_range(&s, 59999));
	assert_false(snap_id_in_range(&s, 0));
	assert_int_equal(snap_lower_bound(&s, 0), 0);
	assert_int_equal(snap_lower_bound(&s, 60003), 2);
	assert_int_equal(snap_lower_bound(&s, 70000), 5);

	struct group gr;
	assert_int_equal(snap_by_name(&s, "backup", &r), 1);
	assert_int_equal(snap_fill_group(&s, r, &gr, buf, sizeof(buf)), 0);
	assert_string_equal(gr.gr_name, "backup");
	assert_int_equal(gr.gr_gid, 60003);
	assert_null(gr.gr_mem[0]);

	assert_true(snap_is_sudo_group(&s, "svcacct-sudo"));
	assert_false(snap_is_sudo_group(&s, "ci-deploy"));
	assert_int_equal(snap_fill_sudo_group(&s, &gr, buf, sizeof(buf)), 0);
	assert_string_equal(gr.gr_name, "svcacct-sudo");
	assert_int_equal(gr.gr_gid, 60999);
	assert_string_equal(gr.gr_mem[0], "alpha"); /* name order */
	assert_string_equal(gr.gr_mem[1], "ci-deploy");
	assert_null(gr.gr_mem[2]);
	check_all_lookups(&s, 1);
	free(img);
}

static void empty_snapshot(void **state)
{
	(void)state;
	uint8_t *img;
	size_t len;
	assert_int_equal(nss_snap_build(&P, NULL, 0, NULL, NULL, &img, &len), 0);
	struct snap s;
	assert_int_equal(snap_open(&s, img, len), 0);
	assert_int_equal(snap_verify(&s), 0);
	assert_int_equal(s.h->n_records, 0);
	const struct svca_snap_rec *r;
	assert_int_equal(snap_by_name(&s, "a", &r), 0);
	assert_int_equal(snap_by_uid(&s, 60001, &r), 0);
	char buf[128];
	struct group gr;
	assert_int_equal(snap_fill_sudo_group(&s, &gr, buf, sizeof(buf)), 0);
	assert_string_equal(gr.gr_name, "svcacct-sudo");
	assert_null(gr.gr_mem[0]);
	free(img);
}

static void gecos_sanitised(void **state)
{
	(void)state;
	char out[SVCA_SNAP_GECOS_MAX + 1];
	nss_gecos_sanitize("a:b\nc\td\x7f"
			   "e\r",
			   out, sizeof(out));
	assert_string_equal(out, "a b c d e ");
	nss_gecos_sanitize(NULL, out, sizeof(out));
	assert_string_equal(out, "");
	/* cut at 255 bytes, not inside a UTF-8 character */
	char in[400];
	memset(in, 'x', 254);
	strcpy(in + 254, "\xc3\xa9tail"); /* "é" straddles the limit */
	nss_gecos_sanitize(in, out, sizeof(out));
	assert_int_equal(strlen(out), 254);
	char small[4];
	nss_gecos_sanitize("abcdef", small, sizeof(small));
	assert_string_equal(small, "abc");
}

struct skips {
	int n;
	char names[8][40];
};

static void on_skip(void *ctx, const struct nss_entry *e, const char *why)
{
	struct skips *k = ctx;
	(void)why;
	if (k->n < 8)
		snprintf(k->names[k->n], sizeof(k->names[0]), "%s/%u", e->name ? e->name : "(null)",
			 (unsigned)e->uid);
	k->n++;
}

static int skipped_has(const struct skips *k, const char *s)
{
	for (int i = 0; i < k->n && i < 8; i++)
		if (!strcmp(k->names[i], s))
			return 1;
	return 0;
}

static void writer_leaves_out_what_breaks_the_rules(void **state)
{
	(void)state;
	struct nss_entry e[] = {
		{ "good", "", 60001, 0 },
		{ "Bad", "", 60002, 0 },          /* upper case */
		{ "low", "", 59999, 0 },          /* below the range */
		{ "high", "", 61000, 0 },         /* above the range */
		{ "sudoclash", "", 60999, 0 },    /* the sudo group's gid */
		{ "svcacct-sudo", "", 60003, 0 }, /* the sudo group's name */
		{ "good", "", 60004, 0 },         /* duplicate name */
		{ "other", "", 60001, 0 },        /* duplicate uid */
		{ NULL, "", 60005, 0 },
		{ "waytoolongnamewaytoolongname12345", "", 60006, 0 },
	};
	struct skips k = { 0 };
	uint8_t *img;
	size_t len;
	assert_int_equal(nss_snap_build(&P, e, sizeof(e) / sizeof(e[0]), on_skip, &k, &img, &len),
			 0);
	assert_int_equal(k.n, 9);
	assert_true(skipped_has(&k, "sudoclash/60999"));
	assert_true(skipped_has(&k, "svcacct-sudo/60003"));
	struct snap s;
	assert_int_equal(snap_open(&s, img, len), 0);
	assert_int_equal(snap_verify(&s), 0);
	assert_int_equal(s.h->n_records, 1);
	const struct svca_snap_rec *r;
	assert_int_equal(snap_by_name(&s, "good", &r), 1);
	free(img);

	/* parameters the reader would refuse */
	struct nss_params p = P;
	p.uid_min = 999;
	assert_int_equal(nss_snap_build(&p, NULL, 0, NULL, NULL, &img, &len), -1);
	assert_int_equal(errno, EINVAL);
	p = P;
	p.home_base = "home";
	assert_int_equal(nss_snap_build(&p, NULL, 0, NULL, NULL, &img, &len), -1);
	p = P;
	p.login_shell = "/bin/ba:sh";
	assert_int_equal(nss_snap_build(&p, NULL, 0, NULL, NULL, &img, &len), -1);
	p = P;
	p.sudo_group = "Sudo";
	assert_int_equal(nss_snap_build(&p, NULL, 0, NULL, NULL, &img, &len), -1);
	p = P;
	p.sudo_gid = 0;
	assert_int_equal(nss_snap_build(&p, NULL, 0, NULL, NULL, &img, &len), -1);
}

static void small_buffers_give_erange(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = build(&P, &len);
	struct snap s;
	assert_int_equal(snap_open(&s, img, len), 0);
	const struct svca_snap_rec *r;
	assert_int_equal(snap_by_name(&s, "ci-deploy", &r), 1);
	struct passwd pw;
	struct group gr;
	int kinds[3] = { 0, 1, 2 };
	for (int k = 0; k < 3; k++) {
		size_t need = 0;
		for (size_t n = 0; n < 512; n++) {
			char *buf = malloc(n ? n : 1);
			int x = kinds[k] == 0   ? snap_fill_passwd(&s, r, &pw, buf, n)
				: kinds[k] == 1 ? snap_fill_group(&s, r, &gr, buf, n)
						: snap_fill_sudo_group(&s, &gr, buf, n);
			free(buf);
			if (x == 0) {
				need = n;
				break;
			}
			assert_int_equal(x, ERANGE);
		}
		assert_true(need > 0);
	}
	free(img);
}

/* A copy at an 8-byte aligned heap address, exactly n bytes long. */
static uint8_t *copy(const uint8_t *img, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	memcpy(c, img, n);
	return c;
}

static void reader_refuses_truncation(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = build(&P, &len);
	struct snap s;
	for (size_t n = 0; n < len; n++) {
		uint8_t *c = copy(img, n);
		assert_int_equal(snap_open(&s, c, n), -1);
		/* even when the header is patched to claim the shorter size */
		if (n >= sizeof(struct svca_snap_header)) {
			uint64_t fs = n;
			memcpy(c + offsetof(struct svca_snap_header, file_size), &fs, sizeof(fs));
			assert_int_equal(snap_open(&s, c, n), -1);
		}
		free(c);
	}
	/* unaligned */
	uint8_t *c = malloc(len + 8);
	memcpy(c + 1, img, len);
	assert_int_equal(snap_open(&s, c + 1, len), -1);
	free(c);
	free(img);
}

/* Every single-bit flip: refused by snap_open, or lookups that never read
 * out of bounds (ASan) and return only sound records; an image that also
 * passes snap_verify() answers every lookup right. */
static void reader_survives_bit_flips(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = build(&P, &len);
	struct snap s;
	int accepted = 0;
	for (size_t i = 0; i < len; i++) {
		for (int b = 0; b < 8; b++) {
			uint8_t *c = copy(img, len);
			c[i] ^= (uint8_t)(1u << b);
			if (snap_open(&s, c, len) == 0) {
				int v = snap_verify(&s) == 0;
				accepted += v;
				check_all_lookups(&s, v);
			}
			free(c);
		}
	}
	/* Flips in GECOS text, flags or the serial are harmless and pass
	 * snap_verify(); most do not. */
	assert_true(accepted < (int)(len * 8) / 2);
	free(img);
}

#define HDR(field) offsetof(struct svca_snap_header, field)

static void patch32(uint8_t *img, size_t off, uint32_t v)
{
	memcpy(img + off, &v, sizeof(v));
}

static void reader_refuses_specific_damage(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = build(&P, &len);
	struct snap s;
	struct svca_snap_header h;
	memcpy(&h, img, sizeof(h));
	/* open: 1 when snap_open must refuse the damage (header), 0 when it
	 * is found by snap_verify() and by the lookups that reach it */
	struct {
		size_t off;
		uint32_t v;
		int open;
	} cases[] = {
		{ HDR(version), 2, 1 },
		{ HDR(byte_order), 0x04030201, 1 },
		{ HDR(header_size), 64, 1 },
		{ HDR(flags), 1, 1 },
		{ HDR(uid_min), 0, 1 },
		{ HDR(uid_min), 999, 1 },
		{ HDR(uid_max), 59999, 1 },
		{ HDR(sudo_gid), 0, 1 },
		{ HDR(n_records), 0xffffffff, 1 },
		{ HDR(rec_off), 4, 1 },
		{ HDR(rec_off), 0xfffffff8, 1 },
		{ HDR(name_idx_off), h.name_idx_off + 1, 1 },
		{ HDR(str_off), h.str_off + 8, 1 },
		{ HDR(str_size), h.str_size + 1, 1 },
		{ HDR(home_base) + 4, 0, 1 },            /* empty home_base */
		{ HDR(sudo_group), h.home_base.off, 1 }, /* not a valid group name */
		{ HDR(sudo_gid), 60001, 0 },             /* an account's uid */
		{ HDR(n_records), 6, 0 },
		{ HDR(n_sudo), 1, 0 },
		{ h.rec_off + 0, 70000, 0 },      /* uid out of range */
		{ h.rec_off + 0, 60002, 0 },      /* uid order */
		{ h.rec_off + 4, 0x80, 0 },       /* unknown flag */
		{ h.rec_off + 8, h.str_size, 0 }, /* name outside the table */
		{ h.rec_off + 12, 200, 0 },       /* name length */
		{ h.name_idx_off, 5, 0 },         /* index out of range */
		{ h.name_idx_off, ((const uint32_t *)(img + h.name_idx_off))[1],
		  0 },                    /* not a permutation */
		{ h.sudo_idx_off, 7, 0 }, /* sudo member out of range */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *c = copy(img, len);
		patch32(c, cases[i].off, cases[i].v);
		int o = snap_open(&s, c, len);
		if (cases[i].open && o != -1)
			fail_msg("case %zu (offset %zu = %u) accepted by snap_open", i,
				 cases[i].off, cases[i].v);
		if (o == 0) {
			if (snap_verify(&s) != -1)
				fail_msg("case %zu (offset %zu = %u) accepted by snap_verify", i,
					 cases[i].off, cases[i].v);
			check_all_lookups(&s, 0);
		}
		free(c);
	}
	/* a ':' in a GECOS field, a name with a bad character: the record is
	 * refused when a lookup reaches it */
	const struct svca_snap_rec *r0 = (const void *)(img + h.rec_off), *r;
	uint8_t *c = copy(img, len);
	c[h.str_off + r0[0].gecos.off] = ':';
	assert_int_equal(snap_open(&s, c, len), 0);
	assert_int_equal(snap_verify(&s), -1);
	assert_int_equal(snap_by_uid(&s, r0[0].uid, &r), -1);
	memcpy(c, img, len);
	c[h.str_off + r0[0].name.off] = 'A';
	assert_int_equal(snap_open(&s, c, len), 0);
	assert_int_equal(snap_by_uid(&s, r0[0].uid, &r), -1);
	/* no final NUL, bad magic: refused at open */
	memcpy(c, img, len);
	c[len - 1] = 'x';
	assert_int_equal(snap_open(&s, c, len), -1);
	memcpy(c, img, len);
	c[0] = 'X';
	assert_int_equal(snap_open(&s, c, len), -1);
	free(c);
	free(img);
}

static void range_link_parsing(void **state)
{
	(void)state;
	uint32_t a, b, g;
	assert_int_equal(snap_parse_range("svcacct-range-v1:60000:60999:60999", &a, &b, &g), 0);
	assert_int_equal(a, 60000);
	assert_int_equal(b, 60999);
	assert_int_equal(g, 60999);
	const char *bad[] = {
		"",
		"svcacct-range-v1:",
		"svcacct-range-v1:60000:60999",
		"svcacct-range-v2:1:2:3",
		"svcacct-range-v1:60000:60999:60999x",
		"svcacct-range-v1:999:60999:60999",
		"svcacct-range-v1:60999:60000:60999",
		"svcacct-range-v1:60000:99999999999:1",
		"svcacct-range-v1:-1:60999:60999",
		"svcacct-range-v1:60000:4294967295:60999",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (snap_parse_range(bad[i], &a, &b, &g) != -1)
			fail_msg("accepted '%s'", bad[i]);
	assert_true(snap_name_plausible("ci-deploy"));
	assert_true(snap_name_plausible("_x"));
	assert_false(snap_name_plausible("-x"));
	assert_false(snap_name_plausible("1x"));
	assert_false(snap_name_plausible(""));
	assert_false(snap_name_plausible(NULL));
	assert_false(snap_name_plausible("root:x"));
	assert_true(snap_name_plausible("abcdefghijklmnopqrstuvwxyz012345"));
	assert_false(snap_name_plausible("abcdefghijklmnopqrstuvwxyz0123456"));
}

/* ---- installing ------------------------------------------------------------------ */

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/svcacct-nss-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void install_is_atomic_and_world_readable(void **state)
{
	(void)state;
	char nss[128], path[160], link[160], target[128], err[256];
	size_t len;
	uint8_t *img = build(&P, &len);
	snprintf(nss, sizeof(nss), "%s/nss", dir);
	snprintf(path, sizeof(path), "%s/" SVCA_SNAP_FILE, nss);
	snprintf(link, sizeof(link), "%s/" SVCA_SNAP_RANGE_LINK, nss);
	mode_t old = umask(077); /* as in the daemon */
	assert_int_equal(nss_snap_install(nss, img, len, err, sizeof(err)), 0);
	umask(old);
	struct stat st, st2;
	assert_int_equal(stat(nss, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal((size_t)st.st_size, len);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "svcacct-range-v1:60000:60999:60999");

	/* a stale temporary file from a writer that died is cleaned up... by
	 * the first install of a process; a second install replaces the file
	 * (new inode) */
	assert_int_equal(nss_snap_install(nss, img, len, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st2), 0);
	assert_true(st.st_ino != st2.st_ino);

	/* the file read back is the image */
	int fd = open(path, O_RDONLY);
	uint8_t *back = malloc(len);
	assert_int_equal(read(fd, back, len), (ssize_t)len);
	close(fd);
	assert_memory_equal(back, img, len);
	free(back);

	/* no temporary file is left behind */
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) = 2", nss);
	assert_int_equal(system(cmd), 0);

	/* a directory others may write to is refused */
	assert_int_equal(chmod(nss, 0777), 0);
	assert_int_equal(nss_snap_install(nss, img, len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "writable"));
	assert_int_equal(chmod(nss, 0755), 0);
	free(img);
}

/* ---- the daemon side ---------------------------------------------------------------- */

static struct store *open_store(void)
{
	char err[256], sd[128];
	snprintf(sd, sizeof(sd), "%s/state", dir);
	mkdir(sd, 0700);
	struct store *s = store_open(sd, err, sizeof(err));
	if (!s)
		fail_msg("store_open: %s", err);
	return s;
}

static void add_account(struct store *s, const char *name, uint32_t uid, int disabled,
			const char *desc)
{
	struct account a;
	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "%s", name);
	snprintf(a.description, sizeof(a.description), "%s", desc);
	a.uid = uid;
	a.disabled = disabled;
	assert_int_equal(account_put(s, &a), 0);
}

static void add_grant(struct store *s, uint32_t uid, enum scope_kind kind, const char *scope,
		      enum svca_role role)
{
	struct grant g;
	memset(&g, 0, sizeof(g));
	g.uid = uid;
	g.kind = kind;
	snprintf(g.scope, sizeof(g.scope), "%s", scope);
	g.role = role;
	assert_int_equal(grant_put(s, &g), 0);
}

static void add_ws(struct store *s, const char *ws, const char *team)
{
	struct team t;
	struct workspace w;
	memset(&t, 0, sizeof(t));
	memset(&w, 0, sizeof(w));
	snprintf(t.name, sizeof(t.name), "%s", team);
	snprintf(w.name, sizeof(w.name), "%s", ws);
	snprintf(w.team, sizeof(w.team), "%s", team);
	assert_int_equal(team_put(s, &t), 0);
	assert_int_equal(workspace_put(s, &w), 0);
}

static void host_workspaces(struct svca_config *cfg, const char *a, const char *b)
{
	cfg->host_workspaces.v = calloc(2, sizeof(char *));
	cfg->host_workspaces.v[0] = strdup(a);
	cfg->host_workspaces.v[1] = strdup(b);
	cfg->host_workspaces.n = 2;
}

/* A store with accounts holding every kind of grant. */
static void populate(struct store *s)
{
	store_begin(s);
	add_ws(s, "build-farm", "infra");
	add_ws(s, "other", "apps");
	add_ws(s, "staging", "apps");
	const char *names[] = { "a-none",       "b-viewer",      "c-editor",    "d-admin",
				"e-team-admin", "f-team-editor", "g-elsewhere", "h-disabled",
				"i-mixed",      "j-missing-ws" };
	for (uint32_t i = 0; i < 10; i++)
		add_account(s, names[i], 60001 + i, i == 7, "d");
	add_grant(s, 60002, SCOPE_WORKSPACE, "build-farm", ROLE_VIEWER);
	add_grant(s, 60003, SCOPE_WORKSPACE, "build-farm", ROLE_EDITOR);
	add_grant(s, 60004, SCOPE_WORKSPACE, "build-farm", ROLE_ADMIN);
	add_grant(s, 60005, SCOPE_TEAM, "infra", ROLE_ADMIN);
	add_grant(s, 60006, SCOPE_TEAM, "apps", ROLE_EDITOR); /* team of "staging": not on host */
	add_grant(s, 60006, SCOPE_TEAM, "infra", ROLE_EDITOR);
	add_grant(s, 60007, SCOPE_WORKSPACE, "other", ROLE_ADMIN);
	add_grant(s, 60008, SCOPE_WORKSPACE, "build-farm", ROLE_ADMIN);
	add_grant(s, 60009, SCOPE_WORKSPACE, "build-farm", ROLE_VIEWER);
	add_grant(s, 60009, SCOPE_TEAM, "infra", ROLE_EDITOR);
	add_grant(s, 60009, SCOPE_WORKSPACE, "nope", ROLE_ADMIN);
	add_grant(s, 60010, SCOPE_WORKSPACE, "ghost", ROLE_ADMIN); /* host ws "ghost" missing */
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_flush(s), 0);
}

static void bulk_caps_match_access_compute(void **state)
{
	(void)state;
	struct store *s = open_store();
	populate(s);
	struct svca_config cfg;
	for (int variant = 0; variant < 2; variant++) {
		config_defaults(&cfg);
		host_workspaces(&cfg, "build-farm", "ghost");
		if (variant == 1) /* roles overridden in the config */
			cfg.role_caps[ROLE_EDITOR] = CAP_LOGIN | CAP_SUDO;
		uint32_t uids[10];
		int dis[10];
		unsigned caps[10];
		for (uint32_t i = 0; i < 10; i++) {
			uids[i] = 60001 + i;
			dis[i] = i == 7;
		}
		assert_int_equal(nss_snapshot_caps(s, &cfg, uids, dis, 10, caps), 0);
		for (uint32_t i = 0; i < 10; i++) {
			struct account a;
			struct access acc;
			assert_int_equal(account_get_by_uid(s, uids[i], &a), 1);
			assert_int_equal(access_compute(s, &cfg, &a, &acc), 0);
			if (acc.caps != caps[i])
				fail_msg("variant %d: %s: access_compute %u, bulk %u", variant,
					 a.name, acc.caps, caps[i]);
		}
		/* spot checks */
		assert_int_equal(caps[3], CAP_LOGIN | CAP_SUDO); /* d-admin */
		assert_int_equal(caps[7], 0);                    /* h-disabled */
		assert_int_equal(caps[6], 0);                    /* g-elsewhere */
		config_free(&cfg);
	}
	store_close(s);
}

static void daemon_writes_the_snapshot(void **state)
{
	(void)state;
	static struct daemon d;
	memset(&d, 0, sizeof(d));
	d.nss = nss_table_new();
	assert_non_null(d.nss);
	d.store = open_store();
	populate(d.store);
	config_defaults(&d.cfg);
	host_workspaces(&d.cfg, "build-farm", "ghost");
	char nss[128], path[160];
	snprintf(nss, sizeof(nss), "%s/nss", dir);
	snprintf(path, sizeof(path), "%s/" SVCA_SNAP_FILE, nss);
	free(d.cfg.nss_dir);
	d.cfg.nss_dir = strdup(nss);

	nss_snapshot_write(&d); /* not dirty: nothing happens */
	struct stat st;
	assert_int_equal(stat(path, &st), -1);
	d.nss_dirty = 1;
	nss_snapshot_write(&d);
	assert_int_equal(d.nss_dirty, 0);
	assert_int_equal(stat(path, &st), 0);

	int fd = open(path, O_RDONLY);
	uint8_t *img = malloc((size_t)st.st_size);
	assert_int_equal(read(fd, img, (size_t)st.st_size), st.st_size);
	close(fd);
	struct snap s;
	assert_int_equal(snap_open(&s, img, (size_t)st.st_size), 0);
	assert_int_equal(snap_verify(&s), 0);
	assert_int_equal(s.h->n_records, 10);
	assert_int_equal(s.h->sudo_gid, 60999);
	const struct svca_snap_rec *r;
	assert_int_equal(snap_by_name(&s, "h-disabled", &r), 1);
	assert_int_equal(r->flags, SVCA_SNAP_DISABLED);
	assert_int_equal(snap_by_name(&s, "c-editor", &r), 1);
	assert_int_equal(r->flags, SVCA_SNAP_LOGIN);
	assert_int_equal(snap_by_name(&s, "e-team-admin", &r), 1);
	assert_int_equal(r->flags, SVCA_SNAP_LOGIN | SVCA_SNAP_SUDO);
	assert_int_equal(s.h->n_sudo, 2); /* d-admin, e-team-admin (h-disabled: none) */
	free(img);

	/* a failure keeps the flag for the next try */
	assert_int_equal(chmod(nss, 0777), 0);
	d.nss_dirty = 1;
	nss_snapshot_write(&d);
	assert_int_equal(d.nss_dirty, 1);
	assert_int_equal(chmod(nss, 0755), 0);
	nss_snapshot_write(&d);
	assert_int_equal(d.nss_dirty, 0);

	nss_snapshot_forget(d.nss);
	config_free(&d.cfg);
	store_close(d.store);
	nss_table_free(d.nss);
}

/* ---- the in-memory table against a fresh walk of the store ------------------------- */

struct walk {
	struct account *v;
	size_t n, cap;
};

static int walk_cb(void *arg, const struct account *a)
{
	struct walk *w = arg;
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->v = realloc(w->v, w->cap * sizeof(*w->v));
		assert_non_null(w->v);
	}
	w->v[w->n++] = *a;
	return 0;
}

/* The image as the writer made it before it kept a table: every account
 * and grant read from the store, nss_snapshot_caps, nss_snap_build. */
static uint8_t *fresh_image(struct store *s, const struct svca_config *cfg, size_t *len)
{
	struct walk w = { 0 };
	assert_int_equal(account_foreach(s, walk_cb, &w), 0);
	size_t n = w.n;
	uint32_t *uids = calloc(n + 1, sizeof(*uids));
	int *dis = calloc(n + 1, sizeof(*dis));
	unsigned *caps = calloc(n + 1, sizeof(*caps));
	struct nss_entry *e = calloc(n + 1, sizeof(*e));
	for (size_t i = 0; i < n; i++) {
		uids[i] = w.v[i].uid;
		dis[i] = w.v[i].disabled;
	}
	assert_int_equal(nss_snapshot_caps(s, cfg, uids, dis, n, caps), 0);
	for (size_t i = 0; i < n; i++) {
		e[i].name = w.v[i].name;
		e[i].description = w.v[i].description;
		e[i].uid = w.v[i].uid;
		e[i].flags = ((caps[i] & CAP_LOGIN) ? SVCA_SNAP_LOGIN : 0) |
			     ((caps[i] & CAP_SUDO) ? SVCA_SNAP_SUDO : 0) |
			     (w.v[i].disabled ? SVCA_SNAP_DISABLED : 0);
	}
	struct nss_params p = {
		.uid_min = cfg->uid_min,
		.uid_max = cfg->uid_max,
		.sudo_gid = nss_sudo_gid(cfg->uid_min, cfg->uid_max),
		.home_base = cfg->home_base,
		.login_shell = cfg->login_shell,
		.nologin_shell = cfg->nologin_shell,
		.sudo_group = cfg->sudo_group,
	};
	uint8_t *img;
	assert_int_equal(nss_snap_build(&p, e, n, NULL, NULL, &img, len), 0);
	free(uids);
	free(dis);
	free(caps);
	free(e);
	free(w.v);
	return img;
}

static uint8_t *read_file(const char *path, size_t *len)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	uint8_t *img = malloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, img, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return img;
}

static struct daemon D;
static char snap_path[160];
static unsigned checks;

/* The installed snapshot equals a fresh walk's image (but for the
 * serial), passes snap_verify, and every record's flags are what
 * access_compute() says of its account. */
static void check_snapshot(void)
{
	size_t len, flen;
	uint8_t *img = read_file(snap_path, &len);
	uint8_t *fresh = fresh_image(D.store, &D.cfg, &flen);
	size_t so = offsetof(struct svca_snap_header, serial);
	memset(img + so, 0, 8);
	memset(fresh + so, 0, 8);
	if (len != flen || memcmp(img, fresh, len) != 0) {
		struct snap x, y;
		if (snap_open(&x, img, len) == 0 && snap_open(&y, fresh, flen) == 0) {
			for (uint32_t i = 0; i < x.h->n_records; i++)
				print_message("table: %u %s %u\n", x.rec[i].uid,
					      x.str + x.rec[i].name.off, x.rec[i].flags);
			for (uint32_t i = 0; i < y.h->n_records; i++)
				print_message("walk:  %u %s %u\n", y.rec[i].uid,
					      y.str + y.rec[i].name.off, y.rec[i].flags);
		}
		fail_msg("check %u: the table's image (%zu bytes) differs from a fresh walk's "
			 "(%zu bytes)",
			 checks, len, flen);
	}
	struct snap sn;
	assert_int_equal(snap_open(&sn, img, len), 0);
	assert_int_equal(snap_verify(&sn), 0);
	for (uint32_t i = 0; i < sn.h->n_records; i++) {
		struct account a;
		struct access acc;
		assert_int_equal(account_get(D.store, sn.str + sn.rec[i].name.off, &a), 1);
		assert_int_equal(access_compute(D.store, &D.cfg, &a, &acc), 0);
		unsigned want = ((acc.caps & CAP_LOGIN) ? SVCA_SNAP_LOGIN : 0) |
				((acc.caps & CAP_SUDO) ? SVCA_SNAP_SUDO : 0) |
				(a.disabled ? SVCA_SNAP_DISABLED : 0);
		if (sn.rec[i].flags != want)
			fail_msg("check %u: %s: flags %u, access_compute says %u", checks, a.name,
				 sn.rec[i].flags, want);
	}
	checks++;
	free(img);
	free(fresh);
}

/* What commit_batch() does after a successful flush. */
static void commit_and_write(void)
{
	assert_int_equal(store_commit(D.store), 0);
	assert_int_equal(store_flush(D.store), 0);
	D.nss_dirty = 1;
	nss_snapshot_write(&D);
	assert_int_equal(D.nss_dirty, 0);
	check_snapshot();
}

static void table_setup(void)
{
	memset(&D, 0, sizeof(D));
	D.nss = nss_table_new();
	assert_non_null(D.nss);
	D.store = open_store();
	config_defaults(&D.cfg);
	D.cfg.uid_min = 60000;
	D.cfg.uid_max = 60999;
	host_workspaces(&D.cfg, "build-farm", "ghost");
	char nss[128];
	snprintf(nss, sizeof(nss), "%s/nss", dir);
	free(D.cfg.nss_dir);
	D.cfg.nss_dir = strdup(nss);
	snprintf(snap_path, sizeof(snap_path), "%s/" SVCA_SNAP_FILE, nss);
	checks = 0;
}

static void table_teardown(void)
{
	nss_snapshot_forget(D.nss);
	config_free(&D.cfg);
	store_close(D.store);
	nss_table_free(D.nss); /* after the store: its hooks point into the table */
	D.nss = NULL;
}

static void del_account(struct store *s, const char *name)
{
	struct account a;
	assert_int_equal(account_get(s, name, &a), 1);
	assert_int_equal(account_del(s, &a), 0);
}

static void set_account(struct store *s, const char *name, int disabled, const char *desc)
{
	struct account a;
	assert_int_equal(account_get(s, name, &a), 1);
	a.disabled = disabled;
	if (desc)
		snprintf(a.description, sizeof(a.description), "%s", desc);
	assert_int_equal(account_put(s, &a), 0);
}

static void del_grant(struct store *s, uint32_t uid, enum scope_kind kind, const char *scope)
{
	struct grant g;
	assert_int_equal(grant_get(s, uid, kind, scope, &g), 1);
	assert_int_equal(grant_del(s, &g), 0);
}

static void table_follows_every_change(void **state)
{
	(void)state;
	table_setup();
	D.nss_dirty = 1; /* an empty store first */
	nss_snapshot_write(&D);
	check_snapshot();
	unsigned long builds = nss_snapshot_builds(D.nss);
	populate(D.store);
	D.nss_dirty = 1;
	nss_snapshot_write(&D);
	check_snapshot();

	/* creates: above every uid (appended), below (merged), names anywhere */
	store_begin(D.store);
	add_account(D.store, "zz-top", 60100, 0, "new, last by name");
	add_account(D.store, "aa-first", 60101, 0, "new, first by name");
	commit_and_write();
	store_begin(D.store);
	add_account(D.store, "mm-middle", 60050, 0, "uid in the middle");
	add_account(D.store, "b0", 60000, 0, "lowest uid");
	commit_and_write();

	/* disable, enable, descriptions shorter, longer, with control characters */
	store_begin(D.store);
	set_account(D.store, "d-admin", 1, NULL);
	commit_and_write();
	store_begin(D.store);
	set_account(D.store, "d-admin", 0, "");
	set_account(D.store, "c-editor", 0,
		    "a much longer description than it had before: tab\there:colon");
	{
		char desc[ACCOUNT_DESC_MAX + 1]; /* cut at 255 bytes inside a UTF-8 character */
		memset(desc, 'y', 254);
		memcpy(desc + 254, "\xc3\xa9", 3);
		set_account(D.store, "b-viewer", 0, desc);
	}
	commit_and_write();

	assert_int_equal(nss_snapshot_builds(D.nss), builds); /* all of it without a walk */

	/* a record that cannot be decoded (a control character): left out,
	 * as a walk of the store leaves it out (by walking it) */
	store_begin(D.store);
	set_account(D.store, "a-none", 0, "bad\x01");
	commit_and_write();
	assert_int_equal(nss_snapshot_builds(D.nss), ++builds);
	store_begin(D.store);
	add_account(D.store, "a-none-2", 60102, 0, "after the damaged one");
	commit_and_write();

	/* grants: add (sudo), change role, remove; a team grant */
	store_begin(D.store);
	add_grant(D.store, 60100, SCOPE_WORKSPACE, "build-farm", ROLE_ADMIN);
	add_grant(D.store, 60001, SCOPE_TEAM, "infra", ROLE_EDITOR);
	commit_and_write();
	store_begin(D.store);
	add_grant(D.store, 60100, SCOPE_WORKSPACE, "build-farm", ROLE_VIEWER);
	del_grant(D.store, 60004, SCOPE_WORKSPACE, "build-farm"); /* d-admin loses sudo */
	commit_and_write();

	/* deletes, as cmd_account_delete does them (grants first) */
	store_begin(D.store);
	del_grant(D.store, 60005, SCOPE_TEAM, "infra");
	del_account(D.store, "e-team-admin");
	del_account(D.store, "b0");
	commit_and_write();

	/* a rename: the old name deleted, the new one written, same uid */
	store_begin(D.store);
	{
		struct account a;
		assert_int_equal(account_get(D.store, "c-editor", &a), 1);
		assert_int_equal(account_del(D.store, &a), 0);
		snprintf(a.name, sizeof(a.name), "c-renamed");
		assert_int_equal(account_put(D.store, &a), 0);
	}
	commit_and_write();

	/* the host workspace goes, comes back with another team */
	store_begin(D.store);
	assert_int_equal(workspace_del(D.store, "build-farm"), 0);
	commit_and_write();
	store_begin(D.store);
	add_ws(D.store, "build-farm", "apps");
	commit_and_write();
	store_begin(D.store);
	add_ws(D.store, "ghost", "infra"); /* the second host workspace appears */
	commit_and_write();

	/* an account the format cannot show: left out, both ways */
	store_begin(D.store);
	add_account(D.store, "out-of-range", 61500, 0, "");
	commit_and_write();

	/* a change that does not touch the snapshot's view */
	store_begin(D.store);
	{
		struct account a;
		assert_int_equal(account_get(D.store, "zz-top", &a), 1);
		a.gen++;
		a.last_activity = 12345;
		assert_int_equal(account_put(D.store, &a), 0);
	}
	commit_and_write();

	assert_int_equal(nss_snapshot_builds(D.nss), builds);

	/* a damaged store holding a uid twice: the first name stays */
	store_begin(D.store);
	add_account(D.store, "dup-b", 60100, 0, "the uid of zz-top");
	commit_and_write();
	assert_int_equal(nss_snapshot_builds(D.nss), ++builds);
	{
		size_t len;
		uint8_t *img = read_file(snap_path, &len);
		struct snap sn;
		const struct svca_snap_rec *r;
		assert_int_equal(snap_open(&sn, img, len), 0);
		assert_int_equal(snap_by_name(&sn, "dup-b", &r), 1);
		assert_int_equal(snap_by_name(&sn, "zz-top", &r), 0);
		free(img);
	}
	store_begin(D.store);
	del_account(D.store, "dup-b");
	commit_and_write();

	/* everything deleted */
	struct walk w = { 0 };
	assert_int_equal(account_foreach(D.store, walk_cb, &w), 0);
	store_begin(D.store);
	for (size_t i = 0; i < w.n; i++)
		assert_int_equal(account_del(D.store, &w.v[i]), 0);
	commit_and_write();
	free(w.v);
	store_begin(D.store);
	add_account(D.store, "again", 60200, 0, "after all were deleted");
	commit_and_write();
	table_teardown();
}

static void table_ignores_undone_changes(void **state)
{
	(void)state;
	table_setup();
	populate(D.store);
	D.nss_dirty = 1;
	nss_snapshot_write(&D);
	check_snapshot();

	/* an aborted transaction (req_txn_abort) */
	store_begin(D.store);
	add_account(D.store, "never", 60300, 0, "aborted");
	set_account(D.store, "a-none", 1, "aborted change");
	add_grant(D.store, 60001, SCOPE_WORKSPACE, "build-farm", ROLE_ADMIN);
	del_account(D.store, "d-admin");
	assert_int_equal(workspace_del(D.store, "build-farm"), 0);
	store_abort(D.store);
	D.nss_dirty = 1;
	nss_snapshot_write(&D);
	check_snapshot();

	/* a batch whose flush fails is undone; commit_batch() does not write
	 * the snapshot, a later tick does */
	store_begin(D.store);
	add_account(D.store, "lost", 60301, 0, "flush failed");
	del_grant(D.store, 60004, SCOPE_WORKSPACE, "build-farm");
	set_account(D.store, "b-viewer", 1, "flush failed");
	assert_int_equal(store_commit(D.store), 0);
	store_fail_next_flush(D.store);
	assert_int_equal(store_flush(D.store), -1);
	assert_true(store_take_failure(D.store) != 0);
	D.nss_dirty = 1;
	nss_snapshot_write(&D);
	check_snapshot();
	struct snap sn;
	size_t len;
	uint8_t *img = read_file(snap_path, &len);
	const struct svca_snap_rec *r;
	assert_int_equal(snap_open(&sn, img, len), 0);
	assert_int_equal(snap_by_name(&sn, "lost", &r), 0);
	assert_int_equal(snap_by_name(&sn, "never", &r), 0);
	assert_int_equal(snap_by_name(&sn, "d-admin", &r), 1);
	assert_int_equal(r->flags, SVCA_SNAP_LOGIN | SVCA_SNAP_SUDO);
	free(img);

	/* the same changes made for real afterwards */
	store_begin(D.store);
	add_account(D.store, "lost", 60301, 0, "second try");
	del_grant(D.store, 60004, SCOPE_WORKSPACE, "build-farm");
	commit_and_write();

	/* a failed install keeps the changes for the next write */
	unsigned long builds = nss_snapshot_builds(D.nss);
	char nss[128];
	snprintf(nss, sizeof(nss), "%s/nss", dir);
	assert_int_equal(chmod(nss, 0777), 0);
	store_begin(D.store);
	add_account(D.store, "late", 60302, 0, "");
	assert_int_equal(store_commit(D.store), 0);
	assert_int_equal(store_flush(D.store), 0);
	D.nss_dirty = 1;
	nss_snapshot_write(&D);
	assert_int_equal(D.nss_dirty, 1);
	assert_int_equal(chmod(nss, 0755), 0);
	nss_snapshot_write(&D);
	assert_int_equal(D.nss_dirty, 0);
	check_snapshot();
	assert_int_equal(nss_snapshot_builds(D.nss), builds);
	table_teardown();
}

static void table_rebuilt_on_reload_and_restart(void **state)
{
	(void)state;
	table_setup();
	populate(D.store);
	D.nss_dirty = 1;
	nss_snapshot_write(&D);
	check_snapshot();

	/* reload: other roles, host workspaces, range, shells */
	D.cfg.role_caps[ROLE_EDITOR] = CAP_LOGIN | CAP_SUDO;
	D.nss_dirty = 1;
	nss_snapshot_write(&D);
	check_snapshot();
	config_free(&D.cfg);
	config_defaults(&D.cfg);
	D.cfg.uid_min = 60000;
	D.cfg.uid_max = 60005; /* some accounts now outside the range */
	host_workspaces(&D.cfg, "other", "build-farm");
	free(D.cfg.login_shell);
	D.cfg.login_shell = strdup("/bin/zsh");
	char nss[128];
	snprintf(nss, sizeof(nss), "%s/nss", dir);
	free(D.cfg.nss_dir);
	D.cfg.nss_dir = strdup(nss);
	D.nss_dirty = 1;
	nss_snapshot_write(&D);
	check_snapshot();
	D.cfg.uid_max = 60999;
	D.nss_dirty = 1;
	nss_snapshot_write(&D);
	check_snapshot();

	/* restart: the store closed and opened again, the table built anew */
	size_t len1, len2;
	uint8_t *before = read_file(snap_path, &len1);
	store_close(D.store);
	nss_snapshot_forget(D.nss);
	D.store = open_store();
	D.nss_dirty = 1;
	nss_snapshot_write(&D);
	uint8_t *after = read_file(snap_path, &len2);
	size_t so = offsetof(struct svca_snap_header, serial);
	memset(before + so, 0, 8);
	memset(after + so, 0, 8);
	assert_int_equal(len1, len2);
	assert_memory_equal(before, after, len1);
	free(before);
	free(after);
	check_snapshot();

	/* more changes in one batch than the table notes: rebuilt */
	store_begin(D.store);
	for (uint32_t i = 0; i < 4200; i++) {
		char name[32];
		snprintf(name, sizeof(name), "bulk-%u", (unsigned)i);
		add_account(D.store, name, i < 800 ? 60100 + i : 60950, 0, "bulk");
		if (i >= 800)
			del_account(D.store, name);
	}
	commit_and_write();
	table_teardown();
}

/* Random changes, many per batch, each batch checked: exercises merges
 * in the middle, deletes, renames and the arena's compaction. */
static void table_survives_random_changes(void **state)
{
	(void)state;
	table_setup();
	populate(D.store);
	D.nss_dirty = 1;
	nss_snapshot_write(&D);
	check_snapshot();
	unsigned seed = 12345;
	const char *scopes[] = { "build-farm", "infra", "apps", "other", "ghost" };
	char longdesc[ACCOUNT_DESC_MAX + 1];
	memset(longdesc, 'x', ACCOUNT_DESC_MAX);
	longdesc[ACCOUNT_DESC_MAX] = '\0';
	unsigned long builds = nss_snapshot_builds(D.nss);
	for (int batch = 0; batch < 150; batch++) {
		store_begin(D.store);
		int nops = 1 + (int)(rand_r(&seed) % 40);
		for (int op = 0; op < nops; op++) {
			uint32_t uid = 60000 + (uint32_t)(rand_r(&seed) % 400);
			char name[32];
			snprintf(name, sizeof(name), "r%u-%u", (unsigned)(rand_r(&seed) % 7),
				 (unsigned)uid);
			struct account a;
			int have = account_get_by_uid(D.store, uid, &a);
			assert_true(have >= 0);
			switch (rand_r(&seed) % 6) {
			case 0: /* create (or nothing when the uid is taken) */
			case 1:
				if (!have) {
					char desc[64];
					snprintf(desc, sizeof(desc), "random %d/%d", batch, op);
					add_account(D.store, name, uid,
						    (int)(rand_r(&seed) % 4 == 0), desc);
				}
				break;
			case 2:
				if (have)
					assert_int_equal(account_del(D.store, &a), 0);
				break;
			case 3:
				if (have) {
					a.disabled = !a.disabled;
					longdesc[rand_r(&seed) % ACCOUNT_DESC_MAX] = '\0';
					snprintf(a.description, sizeof(a.description), "%s",
						 longdesc);
					memset(longdesc, 'x', ACCOUNT_DESC_MAX);
					assert_int_equal(account_put(D.store, &a), 0);
				}
				break;
			case 4:
				if (have) { /* rename */
					assert_int_equal(account_del(D.store, &a), 0);
					snprintf(a.name, sizeof(a.name), "n%u-%u",
						 (unsigned)(rand_r(&seed) % 5), (unsigned)uid);
					assert_int_equal(account_put(D.store, &a), 0);
				}
				break;
			default: { /* a grant appears, changes or goes */
				enum scope_kind kind =
					rand_r(&seed) % 2 ? SCOPE_WORKSPACE : SCOPE_TEAM;
				const char *sc = scopes[rand_r(&seed) % 5];
				struct grant g;
				int gh = grant_get(D.store, uid, kind, sc, &g);
				if (gh == 1 && rand_r(&seed) % 2)
					assert_int_equal(grant_del(D.store, &g), 0);
				else
					add_grant(D.store, uid, kind, sc,
						  (enum svca_role)(1 + rand_r(&seed) % 3));
				break;
			}
			}
		}
		if (batch % 10 == 9) { /* workspaces come and go too */
			if (rand_r(&seed) % 2)
				assert_int_equal(workspace_del(D.store, "build-farm"), 0);
			else
				add_ws(D.store, "build-farm", rand_r(&seed) % 2 ? "infra" : "apps");
		}
		if (batch % 7 == 3) { /* now and then a batch is undone */
			store_abort(D.store);
			D.nss_dirty = 1;
			nss_snapshot_write(&D);
			check_snapshot();
			continue;
		}
		commit_and_write();
	}
	assert_int_equal(nss_snapshot_builds(D.nss), builds);
	table_teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(build_and_look_up),
		cmocka_unit_test(empty_snapshot),
		cmocka_unit_test(gecos_sanitised),
		cmocka_unit_test(writer_leaves_out_what_breaks_the_rules),
		cmocka_unit_test(small_buffers_give_erange),
		cmocka_unit_test(reader_refuses_truncation),
		cmocka_unit_test(reader_survives_bit_flips),
		cmocka_unit_test(reader_refuses_specific_damage),
		cmocka_unit_test(range_link_parsing),
		cmocka_unit_test_setup_teardown(install_is_atomic_and_world_readable, setup,
						teardown),
		cmocka_unit_test_setup_teardown(bulk_caps_match_access_compute, setup, teardown),
		cmocka_unit_test_setup_teardown(daemon_writes_the_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(table_follows_every_change, setup, teardown),
		cmocka_unit_test_setup_teardown(table_ignores_undone_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(table_rebuilt_on_reload_and_restart, setup,
						teardown),
		cmocka_unit_test_setup_teardown(table_survives_random_changes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
