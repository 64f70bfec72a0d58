/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An agent's own fleet state and its calls to the hubs (agent.h). */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hubclient.h"
#include "record.h"
#include "sockio.h"

enum { REC_SELF = 'S' };

#define SELF_KEY "agent/self"

/* ---- agent/self ----------------------------------------------------------- */

int agent_self_get(struct store *s, struct agent_self *a)
{
	uint8_t *raw;
	size_t n;
	struct rec r;
	memset(a, 0, sizeof(*a));
	int g = store_get(s, DB_STATE, SELF_KEY, &raw, &n);
	if (g <= 0)
		return g;
	g = rec_parse(raw, n, REC_SELF, &r) == 0 && r.version <= HOST_RECORD_VERSION ? 1 : -1;
	if (g == 1) {
		rec_str(&r, F_HOST_ID, a->host_id, sizeof(a->host_id));
		rec_str(&r, F_URL, a->hub, sizeof(a->hub));
		a->enrolled_at = rec_u64(&r, F_CREATED_AT);
		for (size_t i = 0; i < r.n && a->nws < HOST_MAX_WORKSPACES; i++)
			if (r.f[i].tag == F_WORKSPACES &&
			    svca_field_str(&r.f[i], a->workspaces[a->nws],
					   sizeof(a->workspaces[0])) == 0)
				a->nws++;
		if (!config_host_id_ok(a->host_id))
			g = -1;
	}
	free(raw);
	return g;
}

int agent_self_put(struct store *s, const struct agent_self *a)
{
	struct svca_buf b;
	svca_buf_init(&b, 8192);
	rec_begin(&b, REC_SELF, HOST_RECORD_VERSION);
	svca_put_str(&b, F_HOST_ID, a->host_id);
	for (size_t i = 0; i < a->nws; i++)
		svca_put_str(&b, F_WORKSPACES, a->workspaces[i]);
	svca_put_str(&b, F_URL, a->hub);
	svca_put_u64(&b, F_CREATED_AT, a->enrolled_at);
	int r = b.failed ? -1 : store_put(s, DB_STATE, SELF_KEY, b.data, b.len);
	svca_buf_free(&b);
	return r;
}

/* ---- the credential file -------------------------------------------------- */

/* name in state_dir := line + "\n": 0600, tmp + fsync + rename + dir fsync. */
static int save_file(const char *state_dir, const char *name, const char *text, char *err,
		     size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX], line[128];
	snprintf(path, sizeof(path), "%s/%s", state_dir, name);
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", state_dir, name);
	int n = snprintf(line, sizeof(line), "%s\n", text);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	int ok = fd >= 0 && n > 0 && (size_t)n < sizeof(line) && fchmod(fd, 0600) == 0 &&
		 svca_write_all(fd, line, (size_t)n) == 0 && fsync(fd) == 0;
	int saved = errno;
	sodium_memzero(line, sizeof(line));
	if (fd >= 0 && close(fd) < 0)
		ok = 0;
	if (ok && rename(tmp, path) < 0) {
		saved = errno;
		ok = 0;
	}
	if (!ok) {
		unlink(tmp);
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(saved));
		return -1;
	}
	int dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int agent_cred_save(const char *state_dir, const char *cred, char *err, size_t errlen)
{
	return save_file(state_dir, AGENT_CRED_FILE, cred, err, errlen);
}

static int snapkey_decode(const char *b64, size_t len, uint8_t pk[32])
{
	size_t bin = 0;
	return len == AGENT_SNAPKEY_B64 &&
			       sodium_base642bin(pk, 32, b64, len, NULL, &bin, NULL,
						 sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
			       bin == 32
		       ? 0
		       : -1;
}

int agent_snapkey_save(const char *state_dir, const char *b64, char *err, size_t errlen)
{
	return save_file(state_dir, AGENT_SNAPKEY_FILE, b64, err, errlen);
}

int agent_snapkey_load(const char *state_dir, uint8_t pk[32])
{
	char path[PATH_MAX], buf[AGENT_SNAPKEY_B64 + 3];
	snprintf(path, sizeof(path), "%s/" AGENT_SNAPKEY_FILE, state_dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n == AGENT_SNAPKEY_B64 + 1 && buf[AGENT_SNAPKEY_B64] == '\n')
		n--;
	return n == AGENT_SNAPKEY_B64 && snapkey_decode(buf, (size_t)n, pk) == 0 ? 1 : -1;
}

int agent_cred_load(const char *state_dir, char out[SVCA_KEY_LEN + 1])
{
	char path[PATH_MAX], buf[SVCA_KEY_LEN + 3];
	snprintf(path, sizeof(path), "%s/" AGENT_CRED_FILE, state_dir);
	out[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	int ok = n >= SVCA_KEY_LEN && (n == SVCA_KEY_LEN || buf[SVCA_KEY_LEN] == '\n') &&
		 n <= SVCA_KEY_LEN + 1;
	if (ok) {
		memcpy(out, buf, SVCA_KEY_LEN);
		out[SVCA_KEY_LEN] = '\0';
		ok = svca_key_parse_as(SVCA_HOSTCRED_PREFIX, out, SVCA_KEY_LEN, NULL, NULL) ==
		     SVCA_KEY_OK;
	}
	sodium_memzero(buf, sizeof(buf));
	if (!ok)
		sodium_memzero(out, SVCA_KEY_LEN + 1);
	return ok ? 1 : -1;
}

void agent_host_id(const struct svca_config *cfg, char out[HOST_ID_MAX + 1])
{
	char host[256] = "";
	if (cfg->host_id) {
		snprintf(out, HOST_ID_MAX + 1, "%.64s", cfg->host_id);
		return;
	}
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	/* A name too long or odd for a host_id: its first label. */
	if (!config_host_id_ok(host))
		host[strcspn(host, ".")] = '\0';
	snprintf(out, HOST_ID_MAX + 1, "%.64s", config_host_id_ok(host) ? host : "localhost");
}

void agent_hubs_copy(const struct svca_config *cfg, struct agent_hubs *h)
{
	memset(h, 0, sizeof(*h));
	for (size_t i = 0; i < cfg->hubs.n && h->n < AGENT_MAX_HUBS; i++)
		snprintf(h->url[h->n++], AGENT_URL_MAX, "%s", cfg->hubs.v[i]);
	snprintf(h->ca, sizeof(h->ca), "%s", cfg->hub_ca ? cfg->hub_ca : "");
}

/* ---- enrollment ------------------------------------------------------------ */

/* A hub's text, made safe for a reply message (no control characters). */
static void safe_copy(char *dst, size_t len, const char *src)
{
	size_t i = 0;
	for (; src && src[i] && i + 1 < len; i++)
		dst[i] = ((unsigned char)src[i] < ' ' || src[i] == 0x7f) ? '?' : src[i];
	dst[i] = '\0';
}

/* The 200 answer: {"host_id", "workspaces": [...], "credential",
 * "snapshot_key"}.  A hub that gives no snapshot key gives nothing to
 * pin: refused. */
static int take_enrolled(struct agent_enroll *e, const char *hub, const json_t *doc)
{
	uint8_t pk[32];
	const char *sk = json_string_value(json_object_get(doc, "snapshot_key"));
	if (!sk || snapkey_decode(sk, strlen(sk), pk) < 0)
		return -1;
	snprintf(e->snapshot_key, sizeof(e->snapshot_key), "%s", sk);
	const char *id = json_string_value(json_object_get(doc, "host_id"));
	const char *cred = json_string_value(json_object_get(doc, "credential"));
	const json_t *ws = json_object_get(doc, "workspaces");
	if (!id || !config_host_id_ok(id) || !cred ||
	    svca_key_parse_as(SVCA_HOSTCRED_PREFIX, cred, strlen(cred), NULL, NULL) !=
		    SVCA_KEY_OK ||
	    !json_is_array(ws) || json_array_size(ws) > HOST_MAX_WORKSPACES)
		return -1;
	snprintf(e->self.host_id, sizeof(e->self.host_id), "%s", id);
	for (size_t i = 0; i < json_array_size(ws); i++) {
		const char *w = json_string_value(json_array_get(ws, i));
		if (!w || !svca_scope_name_valid(w))
			return -1;
		snprintf(e->self.workspaces[e->self.nws++], SVCA_SCOPE_NAME_MAX + 1, "%s", w);
	}
	snprintf(e->self.hub, sizeof(e->self.hub), "%s", hub);
	memcpy(e->cred, cred, SVCA_KEY_LEN + 1);
	return 0;
}

/* One hub's answer.  1 = final (enrolled or refused), 0 = try the next. */
static int enroll_answer(struct agent_enroll *e, const char *hub, const struct hub_reply *rep)
{
	json_error_t jerr;
	json_t *doc = rep->body ? json_loads(rep->body, 0, &jerr) : NULL;
	int final = 1;
	if (rep->status == 200 && doc && take_enrolled(e, hub, doc) == 0) {
		e->status = SVCA_OK;
	} else if (rep->status == 200 || rep->status >= 500 || rep->status == 404) {
		snprintf(e->message, sizeof(e->message), "hub %s gave no usable answer (HTTP %ld)",
			 hub, rep->status);
		e->status = SVCA_ERR_UNAVAIL;
		final = 0;
	} else {
		char detail[300];
		safe_copy(detail, sizeof(detail),
			  json_string_value(json_object_get(doc, "detail")));
		snprintf(e->message, sizeof(e->message), "hub %s refused the enrollment: %s", hub,
			 *detail ? detail : "no reason given");
		e->status = SVCA_ERR_FAILED;
	}
	json_decref(doc);
	return final;
}

void agent_enroll_run(struct agent_enroll *e)
{
	json_t *body = json_pack("{s:s, s:s}", "token", e->token, "host_id", e->host_id);
	char *json = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	e->status = SVCA_ERR_UNAVAIL;
	snprintf(e->message, sizeof(e->message), "out of memory");
	for (size_t i = 0; json && i < e->hubs.n; i++) {
		struct hub_reply rep;
		if (hub_request(e->hubs.url[i], "/v1/agent/enroll", e->hubs.ca, NULL, json,
				AGENT_HUB_TIMEOUT_MS, &rep) < 0) {
			snprintf(e->message, sizeof(e->message), "no hub answered (last: %s: %s)",
				 e->hubs.url[i], rep.err);
			continue;
		}
		int final = enroll_answer(e, e->hubs.url[i], &rep);
		hub_reply_free(&rep);
		if (final)
			break;
	}
	if (json) {
		sodium_memzero(json, strlen(json));
		free(json);
	}
	sodium_memzero(e->token, sizeof(e->token));
}

/* ---- fleet status ------------------------------------------------------------ */

void agent_probe_run(struct agent_probe *p)
{
	int first = -1;
	for (size_t i = 0; i < p->hubs.n; i++) {
		struct hub_reply rep;
		p->reachable[i] = hub_request(p->hubs.url[i], "/healthz", p->hubs.ca, NULL, NULL,
					      AGENT_PROBE_TIMEOUT_MS, &rep) == 0 &&
				  rep.status == 200;
		hub_reply_free(&rep);
		if (p->reachable[i] && first < 0)
			first = (int)i;
	}
	if (!p->cred[0])
		snprintf(p->host_status, sizeof(p->host_status), "not enrolled");
	else if (first < 0)
		snprintf(p->host_status, sizeof(p->host_status), "unknown (no hub reached)");
	else {
		struct hub_reply rep;
		int r = hub_request(p->hubs.url[first], "/v1/agent/whoami", p->hubs.ca, p->cred,
				    NULL, AGENT_PROBE_TIMEOUT_MS, &rep);
		const char *st = r < 0               ? "unknown (no hub reached)"
				 : rep.status == 200 ? "active"
				 : rep.status == 401 || rep.status == 403 ? "disabled or removed"
									  : "unknown";
		snprintf(p->host_status, sizeof(p->host_status), "%s", st);
		hub_reply_free(&rep);
	}
	sodium_memzero(p->cred, sizeof(p->cred));
}
