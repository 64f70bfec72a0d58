/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The NSS snapshot reader (nss_svcacct/snapshot.c), which
 * libnss_svcacct.so.2 runs inside every process that resolves a user
 * (sshd, sudo, ls, cron...) on the file svcacctd writes to nss_dir.
 *
 * Input: the bytes of svcacct.snap (copied to an 8-byte aligned buffer of
 * exactly that size, as mmap would give), and, as a second use of the
 * same bytes, the target of the "range" link (snap_parse_range).
 *
 * After snap_open accepts an image, the harness does what the module's
 * entry points do (nss_svcacct/nss_svcacct.c): getpwnam / getpwuid /
 * getgrnam / getgrgid / the sudo group / the getpwent and getgrent walks,
 * each with a roomy buffer and with a tiny one (the ERANGE path).
 *
 * Properties checked besides memory safety (the module must never read
 * outside the mapping, whatever the file holds):
 *   - a lookup that returns a record returns one that snap_rec_ok accepts,
 *     with the uid or name asked for;
 *   - on an image that snap_verify accepts, every record is found by its
 *     uid and by its name, and fills without error;
 *   - what snap_fill_* write lies inside the caller's buffer and the
 *     strings are the record's.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "snapshot.h"

static char buf_big[8192];

static int inside(const char *p, const char *buf, size_t len)
{
	return p >= buf && p < buf + len;
}

static void fill_pw(const struct snap *s, const struct svca_snap_rec *r)
{
	struct passwd pw;
	char tiny[24];
	int e = snap_fill_passwd(s, r, &pw, tiny, sizeof(tiny));
	FZ_ASSERT(e == 0 || e == ERANGE);
	if (e == 0)
		FZ_ASSERT(inside(pw.pw_shell, tiny, sizeof(tiny)));
	e = snap_fill_passwd(s, r, &pw, buf_big, sizeof(buf_big));
	FZ_ASSERT(e == 0 || e == ERANGE);
	if (e == 0) {
		FZ_ASSERT(pw.pw_uid == r->uid && pw.pw_gid == r->uid);
		FZ_ASSERT(strlen(pw.pw_name) == r->name.len);
		FZ_ASSERT(strcmp(pw.pw_name, s->str + r->name.off) == 0);
		FZ_ASSERT(inside(pw.pw_dir, buf_big, sizeof(buf_big)) &&
			  inside(pw.pw_shell, buf_big, sizeof(buf_big)) &&
			  inside(pw.pw_shell + strlen(pw.pw_shell), buf_big, sizeof(buf_big)));
		FZ_ASSERT(pw.pw_dir[0] == '/' && strchr(pw.pw_gecos, ':') == NULL);
	}
}

static void fill_gr(const struct snap *s, const struct svca_snap_rec *r)
{
	struct group gr;
	char tiny[12];
	int e = snap_fill_group(s, r, &gr, tiny, sizeof(tiny));
	FZ_ASSERT(e == 0 || e == ERANGE);
	e = snap_fill_group(s, r, &gr, buf_big, sizeof(buf_big));
	FZ_ASSERT(e == 0 || e == ERANGE);
	if (e == 0)
		FZ_ASSERT(gr.gr_gid == r->uid && gr.gr_mem[0] == NULL &&
			  strcmp(gr.gr_name, s->str + r->name.off) == 0);
}

static void fill_sudo(const struct snap *s)
{
	struct group gr;
	char tiny[40];
	int e = snap_fill_sudo_group(s, &gr, tiny, sizeof(tiny));
	FZ_ASSERT(e == 0 || e == ERANGE || e == EIO);
	e = snap_fill_sudo_group(s, &gr, buf_big, sizeof(buf_big));
	FZ_ASSERT(e == 0 || e == ERANGE || e == EIO);
	if (e == 0) {
		size_t n = 0;
		for (; gr.gr_mem[n]; n++)
			FZ_ASSERT(inside(gr.gr_mem[n], buf_big, sizeof(buf_big)));
		FZ_ASSERT(n == s->h->n_sudo && gr.gr_gid == s->h->sudo_gid);
		FZ_ASSERT(snap_is_sudo_group(s, gr.gr_name));
	}
}

static void by_uid(const struct snap *s, uint64_t uid)
{
	const struct svca_snap_rec *r;
	int g = snap_by_uid(s, uid, &r);
	FZ_ASSERT(g >= -1 && g <= 1);
	if (g == 1) {
		FZ_ASSERT(r->uid == uid && snap_rec_ok(s, r));
		fill_pw(s, r);
		fill_gr(s, r);
	} else {
		FZ_ASSERT(r == NULL);
	}
	(void)snap_id_in_range(s, uid);
}

static int by_name(const struct snap *s, const char *name)
{
	const struct svca_snap_rec *r;
	if (!snap_name_plausible(name))
		return 0;
	if (snap_is_sudo_group(s, name))
		fill_sudo(s);
	int g = snap_by_name(s, name, &r);
	FZ_ASSERT(g >= -1 && g <= 1);
	if (g == 1) {
		FZ_ASSERT(snap_rec_ok(s, r) && strcmp(s->str + r->name.off, name) == 0);
		fill_pw(s, r);
		fill_gr(s, r);
	}
	return g;
}

/* getpwent / getgrent: a uid cursor over snap_lower_bound, at most 64
 * steps so a big image stays fast. */
static void walk(const struct snap *s)
{
	uint64_t next = 0;
	for (int steps = 0; steps < 64; steps++) {
		size_t i = snap_lower_bound(s, next);
		FZ_ASSERT(i <= s->h->n_records);
		if (i >= s->h->n_records)
			break;
		const struct svca_snap_rec *r = &s->rec[i];
		if (!snap_rec_ok(s, r))
			break;
		fill_pw(s, r);
		fill_gr(s, r);
		next = (uint64_t)r->uid + 1;
	}
}

static void image(const uint8_t *data, size_t size)
{
	/* malloc's alignment (16) is enough; the size stays exact for ASan */
	uint8_t *img = fz_dup(data, size);
	struct snap s;
	if (snap_open(&s, img, size) != 0) {
		free(img);
		return;
	}
	int verified = snap_verify(&s) == 0;
	walk(&s);
	fill_sudo(&s);
	by_uid(&s, s.h->uid_min);
	by_uid(&s, s.h->uid_max);
	by_uid(&s, s.h->sudo_gid);
	by_uid(&s, 0);
	by_uid(&s, UINT32_MAX);
	(void)by_name(&s, "root");
	(void)by_name(&s, s.str + s.h->sudo_group.off);
	uint32_t n = s.h->n_records < 64 ? s.h->n_records : 64;
	for (uint32_t i = 0; i < n; i++) {
		const struct svca_snap_rec *r = &s.rec[i];
		int ok = snap_rec_ok(&s, r);
		if (verified)
			FZ_ASSERT(ok);
		by_uid(&s, r->uid);
		if (ok) {
			char name[SVCA_SNAP_NAME_MAX + 1];
			memcpy(name, s.str + r->name.off, r->name.len + 1);
			int g = by_name(&s, name);
			if (verified)
				FZ_ASSERT(g == 1);
		}
		if (verified) {
			const struct svca_snap_rec *x;
			FZ_ASSERT(snap_by_uid(&s, r->uid, &x) == 1 && x == r);
		}
	}
	free(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	image(data, size);

	char *t = fz_strdup(data, size);
	uint32_t min, max, sudo;
	if (snap_parse_range(t, &min, &max, &sudo) == 0)
		FZ_ASSERT(min >= SVCA_SNAP_MIN_ID && min <= max && max != UINT32_MAX);
	free(t);
	return 0;
}
