/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Validating and searching an NSS snapshot image (see snapshot_format.h). */
#include "snapshot.h"

#include <errno.h>
#include <string.h>

/* ---- rules ----------------------------------------------------------------------- */

int snap_name_plausible(const char *s)
{
	size_t n = 0;
	if (!s || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (n = 1; s[n]; n++) {
		char c = s[n];
		if (n >= SVCA_SNAP_NAME_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* A string reference: inside the table, NUL right after, no NUL inside. */
static const char *str_ref(const struct snap *s, struct svca_snap_str r)
{
	size_t size = s->h->str_size;
	if (r.off >= size || r.len >= size - r.off)
		return NULL;
	const char *p = s->str + r.off;
	if (p[r.len] != '\0' || memchr(p, '\0', r.len))
		return NULL;
	return p;
}

static int text_ok(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x20 || c == 0x7f || c == ':')
			return 0;
	}
	return 1;
}

static int path_ok(const struct snap *s, struct svca_snap_str r)
{
	const char *p = str_ref(s, r);
	return p && r.len > 0 && r.len <= SVCA_SNAP_PATH_MAX && p[0] == '/' && text_ok(p, r.len);
}

/* count elements of elsize at off lie inside the file, after the header */
static int section_ok(const struct snap *s, uint32_t off, uint64_t count, size_t elsize)
{
	if (off % SVCA_SNAP_ALIGN || off < sizeof(struct svca_snap_header) || off > s->size)
		return 0;
	return count <= (s->size - off) / elsize;
}

/*
 * Opening checks the header and the section bounds only (O(1)), so the
 * first lookup of a process does not read the whole file; every record,
 * index entry and string is checked when a lookup touches it (O(log n)
 * per lookup), and a damaged one makes that lookup fail as "corrupt".
 * snap_verify() checks everything (O(n)): tests and tools use it.
 */
int snap_open(struct snap *s, const void *base, size_t size)
{
	memset(s, 0, sizeof(*s));
	if (!base || ((uintptr_t)base % SVCA_SNAP_ALIGN) ||
	    size < sizeof(struct svca_snap_header) || size > SVCA_SNAP_MAX_SIZE)
		return -1;
	s->base = base;
	s->size = size;
	s->h = base;
	const struct svca_snap_header *h = s->h;
	if (memcmp(h->magic, SVCA_SNAP_MAGIC, sizeof(h->magic)) != 0 ||
	    h->byte_order != SVCA_SNAP_BYTE_ORDER || h->version != SVCA_SNAP_VERSION ||
	    h->header_size != sizeof(*h) || h->flags != 0 || h->file_size != size)
		return -1;
	if (h->uid_min < SVCA_SNAP_MIN_ID || h->uid_min > h->uid_max || h->uid_max == UINT32_MAX ||
	    h->sudo_gid < SVCA_SNAP_MIN_ID || h->sudo_gid == UINT32_MAX)
		return -1;
	if (!section_ok(s, h->rec_off, h->n_records, sizeof(struct svca_snap_rec)) ||
	    !section_ok(s, h->name_idx_off, h->n_records, sizeof(uint32_t)) ||
	    !section_ok(s, h->sudo_idx_off, h->n_sudo, sizeof(uint32_t)) ||
	    !section_ok(s, h->str_off, h->str_size, 1) || h->str_size == 0 ||
	    h->n_sudo > h->n_records)
		return -1;
	s->rec = (const void *)(s->base + h->rec_off);
	s->name_idx = (const void *)(s->base + h->name_idx_off);
	s->sudo_idx = (const void *)(s->base + h->sudo_idx_off);
	s->str = (const char *)s->base + h->str_off;
	if (s->str[h->str_size - 1] != '\0')
		return -1;
	if (!path_ok(s, h->home_base) || !path_ok(s, h->login_shell) ||
	    !path_ok(s, h->nologin_shell))
		return -1;
	const char *sudo_group = str_ref(s, h->sudo_group);
	if (!sudo_group || !snap_name_plausible(sudo_group))
		return -1;
	return 0;
}

/* The name of a record, checked; NULL when damaged. */
static const char *rec_name(const struct snap *s, const struct svca_snap_rec *r)
{
	const char *name = str_ref(s, r->name);
	return name && snap_name_plausible(name) ? name : NULL;
}

int snap_rec_ok(const struct snap *s, const struct svca_snap_rec *r)
{
	const struct svca_snap_header *h = s->h;
	if (r->uid < h->uid_min || r->uid > h->uid_max || r->uid == h->sudo_gid ||
	    (r->flags & ~SVCA_SNAP_FLAGS_KNOWN))
		return 0;
	const char *name = rec_name(s, r);
	const char *gecos = str_ref(s, r->gecos);
	return name && strcmp(name, s->str + h->sudo_group.off) != 0 && gecos &&
	       r->gecos.len <= SVCA_SNAP_GECOS_MAX && text_ok(gecos, r->gecos.len);
}

int snap_verify(const struct snap *s)
{
	const struct svca_snap_header *h = s->h;
	uint32_t n = h->n_records, nsudo = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct svca_snap_rec *r = &s->rec[i];
		if (!snap_rec_ok(s, r) || (i > 0 && r->uid <= s->rec[i - 1].uid))
			return -1;
		if (r->flags & SVCA_SNAP_SUDO)
			nsudo++;
	}
	if (nsudo != h->n_sudo)
		return -1;
	/* names strictly ascending: the index is a permutation, names distinct */
	for (uint32_t i = 0; i < n; i++) {
		if (s->name_idx[i] >= n)
			return -1;
		if (i > 0 && strcmp(s->str + s->rec[s->name_idx[i - 1]].name.off,
				    s->str + s->rec[s->name_idx[i]].name.off) >= 0)
			return -1;
	}
	for (uint32_t i = 0; i < h->n_sudo; i++) {
		uint32_t k = s->sudo_idx[i];
		if (k >= n || !(s->rec[k].flags & SVCA_SNAP_SUDO))
			return -1;
		if (i > 0 && strcmp(s->str + s->rec[s->sudo_idx[i - 1]].name.off,
				    s->str + s->rec[k].name.off) >= 0)
			return -1;
	}
	return 0;
}

/* ---- lookups -------------------------------------------------------------------- */

int snap_id_in_range(const struct snap *s, uint64_t id)
{
	return (id >= s->h->uid_min && id <= s->h->uid_max) || id == s->h->sudo_gid;
}

size_t snap_lower_bound(const struct snap *s, uint64_t uid)
{
	size_t lo = 0, hi = s->h->n_records;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->rec[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int snap_by_uid(const struct snap *s, uint64_t uid, const struct svca_snap_rec **out)
{
	size_t i = snap_lower_bound(s, uid);
	*out = NULL;
	if (i >= s->h->n_records || s->rec[i].uid != uid)
		return 0;
	if (!snap_rec_ok(s, &s->rec[i]))
		return -1;
	*out = &s->rec[i];
	return 1;
}

int snap_by_name(const struct snap *s, const char *name, const struct svca_snap_rec **out)
{
	size_t lo = 0, hi = s->h->n_records;
	*out = NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t k = s->name_idx[mid];
		if (k >= s->h->n_records)
			return -1;
		const struct svca_snap_rec *r = &s->rec[k];
		const char *rn = rec_name(s, r);
		if (!rn)
			return -1;
		int c = strcmp(rn, name);
		if (c == 0) {
			if (!snap_rec_ok(s, r))
				return -1;
			*out = r;
			return 1;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int snap_is_sudo_group(const struct snap *s, const char *name)
{
	return strcmp(s->str + s->h->sudo_group.off, name) == 0;
}

/* ---- filling the caller's buffer --------------------------------------------------- */

struct out {
	char *p;
	size_t left;
};

static char *put(struct out *o, const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen + blen + 1 > o->left)
		return NULL;
	char *r = o->p;
	memcpy(o->p, a, alen);
	if (blen)
		memcpy(o->p + alen, b, blen);
	o->p[alen + blen] = '\0';
	o->p += alen + blen + 1;
	o->left -= alen + blen + 1;
	return r;
}

/* Room for n + 1 pointers, aligned. */
static char **put_ptrs(struct out *o, size_t n)
{
	size_t pad = (size_t)(-(uintptr_t)o->p) & (_Alignof(char *) - 1);
	if (pad > o->left || (n + 1) > (o->left - pad) / sizeof(char *))
		return NULL;
	char **v = (char **)(void *)(o->p + pad);
	o->p += pad + (n + 1) * sizeof(char *);
	o->left -= pad + (n + 1) * sizeof(char *);
	return v;
}

#define STR(s, ref) ((s)->str + (ref).off), ((size_t)(ref).len)

int snap_fill_passwd(const struct snap *s, const struct svca_snap_rec *r, struct passwd *pw,
		     char *buf, size_t buflen)
{
	struct out o = { buf, buflen };
	const struct svca_snap_header *h = s->h;
	struct svca_snap_str shell =
		(r->flags & SVCA_SNAP_LOGIN) ? h->login_shell : h->nologin_shell;
	char *name = put(&o, STR(s, r->name), "", 0);
	char *pass = put(&o, "*", 1, "", 0);
	char *gecos = put(&o, STR(s, r->gecos), "", 0);
	char *home = NULL, *sh = NULL;
	if (name && pass && gecos) {
		/* home_base "/" name, without doubling a trailing slash */
		size_t blen = h->home_base.len;
		const char *base = s->str + h->home_base.off;
		while (blen > 1 && base[blen - 1] == '/')
			blen--;
		if (blen + 1 + r->name.len + 1 <= o.left) {
			home = o.p;
			memcpy(o.p, base, blen);
			size_t k = blen;
			if (!(blen == 1 && base[0] == '/'))
				o.p[k++] = '/';
			memcpy(o.p + k, s->str + r->name.off, r->name.len);
			o.p[k + r->name.len] = '\0';
			o.p += k + r->name.len + 1;
			o.left -= k + r->name.len + 1;
		}
		if (home)
			sh = put(&o, STR(s, shell), "", 0);
	}
	if (!sh)
		return ERANGE;
	pw->pw_name = name;
	pw->pw_passwd = pass;
	pw->pw_uid = (uid_t)r->uid;
	pw->pw_gid = (gid_t)r->uid;
	pw->pw_gecos = gecos;
	pw->pw_dir = home;
	pw->pw_shell = sh;
	return 0;
}

int snap_fill_group(const struct snap *s, const struct svca_snap_rec *r, struct group *gr,
		    char *buf, size_t buflen)
{
	struct out o = { buf, buflen };
	char **mem = put_ptrs(&o, 0);
	char *name = mem ? put(&o, STR(s, r->name), "", 0) : NULL;
	char *pass = name ? put(&o, "*", 1, "", 0) : NULL;
	if (!pass)
		return ERANGE;
	mem[0] = NULL;
	gr->gr_name = name;
	gr->gr_passwd = pass;
	gr->gr_gid = (gid_t)r->uid;
	gr->gr_mem = mem;
	return 0;
}

int snap_fill_sudo_group(const struct snap *s, struct group *gr, char *buf, size_t buflen)
{
	struct out o = { buf, buflen };
	uint32_t n = s->h->n_sudo;
	char **mem = put_ptrs(&o, n);
	char *name = mem ? put(&o, STR(s, s->h->sudo_group), "", 0) : NULL;
	char *pass = name ? put(&o, "*", 1, "", 0) : NULL;
	if (!pass)
		return ERANGE;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = s->sudo_idx[i];
		if (k >= s->h->n_records || !rec_name(s, &s->rec[k]))
			return EIO;
		mem[i] = put(&o, STR(s, s->rec[k].name), "", 0);
		if (!mem[i])
			return ERANGE;
	}
	mem[n] = NULL;
	gr->gr_name = name;
	gr->gr_passwd = pass;
	gr->gr_gid = (gid_t)s->h->sudo_gid;
	gr->gr_mem = mem;
	return 0;
}

/* ---- the range link ---------------------------------------------------------------- */

static const char *parse_u32(const char *p, uint32_t *out)
{
	uint64_t v = 0;
	const char *start = p;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX || p - start >= 10)
			return NULL;
		p++;
	}
	if (p == start)
		return NULL;
	*out = (uint32_t)v;
	return p;
}

int snap_parse_range(const char *t, uint32_t *min, uint32_t *max, uint32_t *sudo_gid)
{
	size_t plen = sizeof(SVCA_SNAP_RANGE_PREFIX) - 1;
	if (strncmp(t, SVCA_SNAP_RANGE_PREFIX, plen) != 0)
		return -1;
	t += plen;
	if (!(t = parse_u32(t, min)) || *t++ != ':' || !(t = parse_u32(t, max)) || *t++ != ':' ||
	    !(t = parse_u32(t, sudo_gid)) || *t != '\0')
		return -1;
	if (*min < SVCA_SNAP_MIN_ID || *min > *max || *max == UINT32_MAX)
		return -1;
	return 0;
}
