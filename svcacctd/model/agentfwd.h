/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * An agent asks its hubs about an API key (DESIGN.md section 9): the
 * first use of a key on this host (POST /v1/agent/keycheck, with the host
 * credential) and token exchange (POST /service-account-tokens, the key
 * in x-api-key).  Worker thread: the jobs hold copies of everything they
 * need and touch no daemon state.  Hubs in order, each for at most
 * AGENT_FWD_HUB_MS, all of them within AGENT_FWD_TOTAL_MS.
 */
#ifndef SVCACCTD_AGENTFWD_H
#define SVCACCTD_AGENTFWD_H

#include <stdint.h>

#include "agent.h"
#include "keyfmt.h"
#include "proto.h"

#define AGENT_FWD_HUB_MS 1500
#define AGENT_FWD_TOTAL_MS 3000
#define AGENT_FWD_TOKEN_MAX 512

/* What the hubs said.  status: SVCA_OK accepted, SVCA_ERR_FAILED a hub
 * refused (reason, message, retry_after), SVCA_ERR_UNAVAIL none answered
 * (message names the hubs tried). */
struct agent_fwd_answer {
	int status;
	char reason[32];
	char message[400];
	int retry_after;
	char key_id[SVCA_KEYID_LEN + 1];
	char account[SVCA_NAME_MAX + 1];
	uint32_t uid;
	uint64_t created_at;
	char token[AGENT_FWD_TOKEN_MAX + 1];
	uint64_t expires_in;
};

struct agent_keycheck {
	struct agent_hubs hubs;
	char cred[SVCA_KEY_LEN + 1]; /* the host credential */
	char key[SVCA_KEY_LEN + 1];  /* the API key (the job's owner wipes it) */
	int session;                 /* ask for a session token too */
	struct agent_fwd_answer ans;
};
void agent_keycheck_run(struct agent_keycheck *k);

struct agent_exchange {
	struct agent_hubs hubs;
	char key[SVCA_KEY_LEN + 1]; /* wiped by the run */
	struct agent_fwd_answer ans;
};
void agent_exchange_run(struct agent_exchange *x);

/* ssh sign on an agent (DESIGN.md section 10): only the hubs hold the CA.
 * With an API key the key is first exchanged for a hub session token
 * (POST /service-account-tokens); then POST /ssh/sign with the token as
 * Bearer.  ans: status, reason, message, retry_after as above; line gets
 * the certificate line when SVCA_OK. */
#define AGENT_FWD_PUBKEY_MAX 8192
#define AGENT_FWD_CERT_MAX 8192
struct agent_ssh_sign {
	struct agent_hubs hubs;
	char key[SVCA_KEY_LEN + 1];            /* "" when token is given; wiped */
	char token[AGENT_FWD_TOKEN_MAX * 4];   /* a session token; wiped */
	char public_key[AGENT_FWD_PUBKEY_MAX]; /* the OpenSSH public key line */
	unsigned ttl;                          /* 0: the hub's default */
	struct agent_fwd_answer ans;
	char line[AGENT_FWD_CERT_MAX]; /* the certificate line */
};
void agent_ssh_sign_run(struct agent_ssh_sign *q);

#endif
