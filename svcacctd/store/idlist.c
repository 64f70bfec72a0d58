/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "idlist.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void idlist_free(char **items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);
}

int idlist_get(struct store *s, const char *key, char ***items, size_t *n)
{
	uint8_t *v;
	size_t len;
	*items = NULL;
	*n = 0;
	int g = store_get(s, DB_STATE, key, &v, &len);
	if (g <= 0)
		return g;
	char **out = NULL;
	size_t cnt = 0, start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && v[i] != '\n')
			continue;
		if (i > start) {
			char **no = realloc(out, (cnt + 1) * sizeof(*no));
			char *it = malloc(i - start + 1);
			if (!no || !it) {
				free(it);
				idlist_free(no ? no : out, cnt);
				free(v);
				return -1;
			}
			out = no;
			memcpy(it, v + start, i - start);
			it[i - start] = '\0';
			out[cnt++] = it;
		}
		start = i + 1;
	}
	free(v);
	*items = out;
	*n = cnt;
	return 0;
}

static int put_list(struct store *s, const char *key, char **items, size_t n, const char *skip)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += strlen(items[i]) + 1;
	char *buf = malloc(len + 1);
	if (!buf)
		return -1;
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		if (skip && !strcmp(items[i], skip))
			continue;
		size_t l = strlen(items[i]);
		memcpy(buf + off, items[i], l);
		buf[off + l] = '\n';
		off += l + 1;
	}
	int r = off ? store_put(s, DB_STATE, key, (const uint8_t *)buf, off)
		    : store_del(s, DB_STATE, key);
	free(buf);
	return r;
}

int idlist_add(struct store *s, const char *key, const char *item)
{
	char **items;
	size_t n;
	if (idlist_get(s, key, &items, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(items[i], item)) {
			idlist_free(items, n);
			return 0;
		}
	int r = -1;
	char **ni = n < IDLIST_MAX_ITEMS ? realloc(items, (n + 1) * sizeof(*ni)) : NULL;
	if (ni) {
		items = ni;
		items[n] = strdup(item);
		if (items[n]) {
			n++;
			r = put_list(s, key, items, n, NULL);
		}
	}
	idlist_free(items, n);
	return r;
}

int idlist_load(struct store *s, const char *key, size_t size, idlist_load_fn fn, void *ctx,
		void **out, size_t *n)
{
	char **items;
	size_t ni, cnt = 0;
	*out = NULL;
	*n = 0;
	if (idlist_get(s, key, &items, &ni) < 0)
		return -1;
	uint8_t *v = ni ? calloc(ni, size) : NULL;
	if (ni && !v) {
		idlist_free(items, ni);
		return -1;
	}
	for (size_t i = 0; i < ni; i++) {
		int g = fn(s, items[i], v + cnt * size, ctx);
		if (g < 0) {
			free(v);
			idlist_free(items, ni);
			return -1;
		}
		cnt += g == 1;
	}
	idlist_free(items, ni);
	*out = v;
	*n = cnt;
	return 0;
}

int idlist_del(struct store *s, const char *key, const char *item)
{
	char **items;
	size_t n;
	if (idlist_get(s, key, &items, &n) < 0)
		return -1;
	int found = 0;
	for (size_t i = 0; i < n; i++)
		found |= !strcmp(items[i], item);
	int r = found ? put_list(s, key, items, n, item) : 0;
	idlist_free(items, n);
	return r;
}
