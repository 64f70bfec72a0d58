/* The NSS snapshot: the writer (svcacctd/nss_format.c, nss_snapshot.c) and
 * the module's reader (nss_svcacct/snapshot.c, included here) agree; the
 * reader refuses damaged images without reading out of bounds; the bulk
 * capability computation agrees with access_compute(). */
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
	nss_gecos_sanitize("a:b\nc\td\x7f" "e\r", out, sizeof(out));
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
	assert_int_equal(nss_snap_build(&P, e, sizeof(e) / sizeof(e[0]), on_skip, &k, &img, &len), 0);
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
			int x = kinds[k] == 0 ? snap_fill_passwd(&s, r, &pw, buf, n)
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
		{ HDR(home_base) + 4, 0, 1 },                   /* empty home_base */
		{ HDR(sudo_group), h.home_base.off, 1 },        /* not a valid group name */
		{ HDR(sudo_gid), 60001, 0 },                    /* an account's uid */
		{ HDR(n_records), 6, 0 },
		{ HDR(n_sudo), 1, 0 },
		{ h.rec_off + 0, 70000, 0 },                    /* uid out of range */
		{ h.rec_off + 0, 60002, 0 },                    /* uid order */
		{ h.rec_off + 4, 0x80, 0 },                     /* unknown flag */
		{ h.rec_off + 8, h.str_size, 0 },               /* name outside the table */
		{ h.rec_off + 12, 200, 0 },                     /* name length */
		{ h.name_idx_off, 5, 0 },                       /* index out of range */
		{ h.name_idx_off, ((const uint32_t *)(img + h.name_idx_off))[1], 0 }, /* not a permutation */
		{ h.sudo_idx_off, 7, 0 },                       /* sudo member out of range */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *c = copy(img, len);
		patch32(c, cases[i].off, cases[i].v);
		int o = snap_open(&s, c, len);
		if (cases[i].open && o != -1)
			fail_msg("case %zu (offset %zu = %u) accepted by snap_open", i, cases[i].off, cases[i].v);
		if (o == 0) {
			if (snap_verify(&s) != -1)
				fail_msg("case %zu (offset %zu = %u) accepted by snap_verify", i, cases[i].off, cases[i].v);
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
		"", "svcacct-range-v1:", "svcacct-range-v1:60000:60999", "svcacct-range-v2:1:2:3",
		"svcacct-range-v1:60000:60999:60999x", "svcacct-range-v1:999:60999:60999",
		"svcacct-range-v1:60999:60000:60999", "svcacct-range-v1:60000:99999999999:1",
		"svcacct-range-v1:-1:60999:60999", "svcacct-range-v1:60000:4294967295:60999",
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
	const char *names[] = { "a-none", "b-viewer", "c-editor", "d-admin", "e-team-admin",
				"f-team-editor", "g-elsewhere", "h-disabled", "i-mixed", "j-missing-ws" };
	for (uint32_t i = 0; i < 10; i++)
		add_account(s, names[i], 60001 + i, i == 7, "d");
	add_grant(s, 60002, SCOPE_WORKSPACE, "build-farm", ROLE_VIEWER);
	add_grant(s, 60003, SCOPE_WORKSPACE, "build-farm", ROLE_EDITOR);
	add_grant(s, 60004, SCOPE_WORKSPACE, "build-farm", ROLE_ADMIN);
	add_grant(s, 60005, SCOPE_TEAM, "infra", ROLE_ADMIN);
	add_grant(s, 60006, SCOPE_TEAM, "apps", ROLE_EDITOR);  /* team of "staging": not on host */
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
				fail_msg("variant %d: %s: access_compute %u, bulk %u", variant, a.name,
					 acc.caps, caps[i]);
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

	config_free(&d.cfg);
	store_close(d.store);
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
		cmocka_unit_test_setup_teardown(install_is_atomic_and_world_readable, setup, teardown),
		cmocka_unit_test_setup_teardown(bulk_caps_match_access_compute, setup, teardown),
		cmocka_unit_test_setup_teardown(daemon_writes_the_snapshot, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
