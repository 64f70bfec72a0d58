/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * An agent's own fleet state (DESIGN.md section 9), and the calls it
 * makes to its hubs.
 *
 * The agent keeps a standalone store (GDBM in state_dir) for itself:
 *
 *   DB_STATE agent/self   'S' v1: F_HOST_ID, F_WORKSPACES (repeated),
 *                         F_URL (the hub that enrolled it), F_CREATED_AT
 *                         (enrolled at, ms)
 *   <state_dir>/host.credential   the host credential (svch_..., one line),
 *                         mode 0600, written by write + fsync + rename;
 *                         never logged, never in the store
 *
 * The hub calls (agent_enroll_run, agent_probe_run) take copies of what
 * they need and touch no daemon state: they run on a worker thread.
 */
#ifndef SVCACCTD_AGENT_H
#define SVCACCTD_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "hosts.h"
#include "store.h"

#define AGENT_CRED_FILE "host.credential"
/* The hubs' snapshot public key, pinned at enrollment: one line, the
 * base64url text of the 32-byte Ed25519 key, 0600 root. */
#define AGENT_SNAPKEY_FILE "hub_snapshot.pub"
#define AGENT_SNAPKEY_B64 43
#define AGENT_MAX_HUBS 16
#define AGENT_URL_MAX 201
#define AGENT_HUB_TIMEOUT_MS 5000   /* one enrollment POST */
#define AGENT_PROBE_TIMEOUT_MS 2000 /* one /healthz or whoami */

struct agent_self {
	char host_id[HOST_ID_MAX + 1];
	char workspaces[HOST_MAX_WORKSPACES][SVCA_SCOPE_NAME_MAX + 1];
	size_t nws;
	char hub[AGENT_URL_MAX];
	uint64_t enrolled_at;
};

/* 1 found, 0 not enrolled, -1 error. */
int agent_self_get(struct store *s, struct agent_self *a);
int agent_self_put(struct store *s, const struct agent_self *a);

/* The credential file: save (0 or -1 with err), load (1 read, 0 none,
 * -1 unreadable or malformed).  out is wiped by the caller. */
int agent_cred_save(const char *state_dir, const char *cred, char *err, size_t errlen);
/* Writes hub_snapshot.pub (the pin) the same way (0600, fsync, rename). */
int agent_snapkey_save(const char *state_dir, const char *b64, char *err, size_t errlen);
/* The pinned key: 1 (pk filled), 0 none, -1 unreadable or malformed. */
int agent_snapkey_load(const char *state_dir, uint8_t pk[32]);
int agent_cred_load(const char *state_dir, char out[SVCA_KEY_LEN + 1]);

/* This host's id: host_id from the config, else the host name. */
void agent_host_id(const struct svca_config *cfg, char out[HOST_ID_MAX + 1]);

/* The hubs and CA of the configuration, copied for a worker thread. */
struct agent_hubs {
	char url[AGENT_MAX_HUBS][AGENT_URL_MAX];
	size_t n;
	char ca[256];
};
void agent_hubs_copy(const struct svca_config *cfg, struct agent_hubs *h);

/* Enrollment (worker thread): POST {"token","host_id"} to
 * <hub>/v1/agent/enroll, hub after hub in order, until one answers.
 * status: SVCA_OK (self and cred filled), SVCA_ERR_FAILED (a hub
 * refused: message says why), SVCA_ERR_UNAVAIL (no hub answered). */
struct agent_enroll {
	struct agent_hubs hubs;
	char token[SVCA_KEY_LEN + 1];
	char host_id[HOST_ID_MAX + 1];
	int status;
	char message[400];
	struct agent_self self;
	char cred[SVCA_KEY_LEN + 1];
	char snapshot_key[AGENT_SNAPKEY_B64 + 1]; /* base64url, from the hub */
};
void agent_enroll_run(struct agent_enroll *e);

/* fleet status (worker thread): GET /healthz on every hub, then, when
 * enrolled (cred set), GET /v1/agent/whoami on the first that answered.
 * host_status: "active", "disabled or removed", "not enrolled", or
 * "unknown (no hub reached)". */
struct agent_probe {
	struct agent_hubs hubs;
	char cred[SVCA_KEY_LEN + 1];
	int reachable[AGENT_MAX_HUBS];
	char host_status[40];
};
void agent_probe_run(struct agent_probe *p);

#endif
