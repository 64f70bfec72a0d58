/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * svcacct native protocol: one request, one reply, one connection.
 *
 * Frame: a 16-byte header followed by a body of typed, length-prefixed
 * fields.  All integers are big-endian.
 *
 *   header  := magic:u32 ("SVCA") version:u16 type:u16 length:u32 flags:u32
 *   field   := tag:u16 kind:u8 zero:u8 length:u32 value[length]
 *
 * In a request "type" is the command (enum svca_cmd), in a reply the status
 * (enum svca_status).  A reply to a failed request carries F_MESSAGE, a
 * human-readable reason that never contains a secret.
 *
 * Lists are flat: every item starts with an empty F_ITEM marker, followed by
 * the item's fields.
 *
 * This header is shared by the daemon, svcacctctl and the PAM module, so it
 * depends on libc only.
 */
#ifndef SVCACCT_PROTO_H
#define SVCACCT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define SVCA_MAGIC 0x53564341u /* "SVCA" */
#define SVCA_PROTO_VERSION 1
#define SVCA_HDR_LEN 16u
#define SVCA_FIELD_HDR_LEN 8u

/* Hard caps.  Requests that carry no admin credential are kept small. */
#define SVCA_MAX_REQUEST (64u * 1024u)
#define SVCA_MAX_UNAUTH_REQUEST (4u * 1024u)
#define SVCA_MAX_REPLY (64u * 1024u * 1024u)
#define SVCA_MAX_REQUEST_FIELDS 64u
#define SVCA_MAX_STRING 4096u

enum svca_kind {
	SVCA_K_STR = 1,   /* text: no NUL, no control characters but \t */
	SVCA_K_U64 = 2,   /* exactly 8 bytes */
	SVCA_K_BYTES = 3, /* opaque, may be a secret: never logged */
	SVCA_K_MARK = 4,  /* empty: list item separator */
};

/* Commands (request type).  Numbers are part of the wire format. */
enum svca_cmd {
	SVCA_CMD_PING = 1,

	SVCA_CMD_ACCOUNT_CREATE = 10,
	SVCA_CMD_ACCOUNT_LIST = 11,
	SVCA_CMD_ACCOUNT_SHOW = 12,
	SVCA_CMD_ACCOUNT_UPDATE = 13,
	SVCA_CMD_ACCOUNT_DISABLE = 14,
	SVCA_CMD_ACCOUNT_ENABLE = 15,
	SVCA_CMD_ACCOUNT_DELETE = 16,
	SVCA_CMD_ACCOUNT_ACCESS = 17,

	SVCA_CMD_TEAM_CREATE = 20,
	SVCA_CMD_TEAM_LIST = 21,
	SVCA_CMD_TEAM_DELETE = 22,
	SVCA_CMD_WORKSPACE_CREATE = 23,
	SVCA_CMD_WORKSPACE_LIST = 24,
	SVCA_CMD_WORKSPACE_DELETE = 25,
	SVCA_CMD_GRANT_ADD = 26,
	SVCA_CMD_GRANT_REMOVE = 27,
	SVCA_CMD_GRANT_LIST = 28,

	SVCA_CMD_KEY_CREATE = 30,
	SVCA_CMD_KEY_LIST = 31,
	SVCA_CMD_KEY_DISABLE = 32,
	SVCA_CMD_KEY_ENABLE = 33,
	SVCA_CMD_KEY_REVOKE = 34,
	SVCA_CMD_TOKEN_CREATE = 35,
	SVCA_CMD_TOKEN_VERIFY = 36,
	SVCA_CMD_TOKEN_REVOKE = 37,
	SVCA_CMD_JWKS = 38,
	SVCA_CMD_SIGNING_KEY_ROTATE = 39,

	SVCA_CMD_PAM_AUTH = 40,
	SVCA_CMD_PAM_AUTHORIZE = 41,
	SVCA_CMD_PAM_SESSION_OPEN = 42,
	SVCA_CMD_PAM_SESSION_CLOSE = 43,

	SVCA_CMD_AUDIT_LIST = 50,
	SVCA_CMD_AUDIT_VERIFY = 51,

	/* The fleet (DESIGN.md section 9) */
	SVCA_CMD_HOST_TOKEN_CREATE = 70,
	SVCA_CMD_HOST_LIST = 71,
	SVCA_CMD_HOST_SHOW = 72,
	SVCA_CMD_HOST_UPDATE = 73,
	SVCA_CMD_HOST_DISABLE = 74,
	SVCA_CMD_HOST_REMOVE = 75,
	SVCA_CMD_HOST_REGISTER = 76,
	SVCA_CMD_HOST_ENROLL = 77,
	SVCA_CMD_FLEET_STATUS = 78,

	SVCA_CMD_SSH_SIGN = 80, /* DESIGN.md section 10 */
	SVCA_CMD_SSH_CA = 81,
	SVCA_CMD_SSH_LIST = 82,
	SVCA_CMD_SSH_REVOKE = 83,
	SVCA_CMD_SSH_PRINCIPALS = 84, /* svcacct-principals, for sshd */
	SVCA_CMD_SSH_CA_ROTATE = 85,

	SVCA_CMD_KEY_LIST_ALL = 90, /* operator queries (issue 19 item 5) */
	SVCA_CMD_ACCOUNT_FIND = 91,
	SVCA_CMD_ACCESS_LIST = 92,
};

/* Reply status.  Values equal svcacctctl's exit statuses. */
enum svca_status {
	SVCA_OK = 0,
	SVCA_ERR_FAILED = 1,   /* refused or failed; F_MESSAGE says why */
	SVCA_ERR_BADREQ = 2,   /* malformed or invalid request (usage) */
	SVCA_ERR_NOTAUTH = 3,  /* caller may not do this */
	SVCA_ERR_NOTFOUND = 4, /* no such account / key / ... */
	SVCA_ERR_UNAVAIL = 5,  /* daemon cannot serve this now */
};

/* Field tags.  Numbers are part of the wire format. */
enum svca_tag {
	F_ITEM = 1,           /* MARK: starts a list item */
	F_MESSAGE = 2,        /* STR: error text */
	F_NAME = 3,           /* STR: account name */
	F_NEW_NAME = 4,       /* STR: rename target */
	F_DESCRIPTION = 5,    /* STR */
	F_ORG_ROLE = 6,       /* STR: member | admin | super-admin */
	F_STATUS = 7,         /* STR: active | disabled | revoked ... */
	F_UID = 8,            /* U64 */
	F_CREATED_AT = 9,     /* U64: ms since the epoch, UTC */
	F_CREATED_BY = 10,    /* STR: actor */
	F_UPDATED_AT = 11,    /* U64 */
	F_UPDATED_BY = 12,    /* STR */
	F_LAST_ACTIVITY = 13, /* U64, 0 = never */
	F_FORCE = 14,         /* U64: 1 = --force */

	F_TEAM = 20,       /* STR */
	F_WORKSPACE = 21,  /* STR */
	F_ROLE = 22,       /* STR: viewer | editor | admin */
	F_CAPABILITY = 23, /* STR, repeated */
	F_SOURCE = 24,     /* STR, repeated: where a role came from */
	F_SERVICE = 25,    /* STR: PAM service */

	F_KEY_ID = 30,       /* STR: public key id */
	F_KEY = 31,          /* BYTES: an API key (secret) */
	F_TOKEN = 32,        /* BYTES: a session token (secret) */
	F_LABEL = 33,        /* STR */
	F_EXPIRES_AT = 34,   /* U64, 0 = never */
	F_LAST_USED_AT = 35, /* U64, 0 = never */
	F_EXPIRES_DAYS = 36, /* U64, 0 = never */
	F_EXPIRES_IN = 37,   /* U64: seconds */
	F_JSON = 38,         /* STR: a JSON document */
	F_RHOST = 39,        /* STR */
	F_TTY = 40,          /* STR */
	F_PID = 41,          /* U64 */
	F_REASON = 42,       /* STR */
	F_ALLOWED = 43,      /* U64: 1 allow, 0 deny */

	F_ACCOUNT = 50,           /* STR: filter for audit list */
	F_EVENT = 51,             /* STR: filter / event type */
	F_SINCE = 52,             /* U64: ms since the epoch */
	F_LIMIT = 53,             /* U64 */
	F_SEQ = 54,               /* U64 */
	F_TOTAL = 55,             /* U64 */
	F_ON_HOST = 56,           /* U64: 1 = a workspace of this host */
	F_AUTH_TOKEN = 57,        /* BYTES: a session token acting as the caller */
	F_RETRY_AFTER = 58,       /* U64: seconds */
	F_LAST_USED_UID = 59,     /* U64 */
	F_LAST_USED_PID = 60,     /* U64 */
	F_LAST_USED_SERVICE = 61, /* STR */
	F_AUTHORIZE = 62,         /* U64: 1 = PAM_AUTH also decides the account stage */
	F_ACCT_ALLOWED = 63,      /* U64: that decision (1 allow, 0 deny) */
	F_ACCT_REASON = 64,       /* STR */
	F_ACCT_MESSAGE = 65,      /* STR: for the user */
	F_NO_TOKEN = 72,          /* U64: 1 = PAM_SESSION_OPEN issues no token */

	F_HOST_ID = 80,      /* STR: a host of the fleet */
	F_WORKSPACES = 81,   /* STR: request: "a,b" (one field); reply: repeated */
	F_CREDENTIAL = 82,   /* BYTES: a host credential (secret) */
	F_LAST_SEEN = 83,    /* U64: ms since the epoch, 0 = never */
	F_SNAPSHOT_SEQ = 84, /* U64 */
	F_LAG_S = 85,        /* U64: seconds; absent = unknown */
	F_TTL = 86,          /* U64: seconds */
	F_MODE = 87,         /* STR: standalone | hub | agent */
	F_URL = 88,          /* STR */
	F_REACHABLE = 89,    /* U64: 1 yes, 0 no */
	F_AGE_S = 90,        /* U64: seconds; absent = never synced */
	F_STALE = 91,        /* U64: 1 yes, 0 no */
	F_HOST_STATUS = 92,  /* STR: what the hubs say of this agent */

	F_AUDIT_PENDING = 98,      /* U64: agent: audit records not yet on the hubs */
	F_AUDIT_FORWARDED_AT = 99, /* U64: ms since the epoch a hub last took records */
	F_HOST_SEQ = 100,          /* U64: a record's seq in its host's own chain */
	F_BREAK_GLASS = 103,       /* U64: 1 on, 0 off (account: logs in on a stale agent) */
	F_SETTINGS = 104,          /* STR: JSON object, the organization settings in force */

	F_PUBLIC_KEY = 110,     /* STR: an OpenSSH public key line */
	F_CERTIFICATE = 111,    /* STR: an OpenSSH certificate line */
	F_SERIAL = 112,         /* U64: a certificate's serial */
	F_VALID_BEFORE = 113,   /* U64: ms since the epoch */
	F_FINGERPRINT = 114,    /* STR: "SHA256:..." as ssh-keygen -l prints */
	F_CA_FINGERPRINT = 115, /* STR: the CA key's "SHA256:..." (sshd's %F) */
	F_SSH_CERT = 116,       /* STR: the certificate sshd accepted (PAM, SSH_AUTH_INFO_0) */
	F_VALID_AFTER = 117,    /* U64: ms since the epoch */
	F_METHOD = 118,         /* STR: how a login authenticated (ssh-cert) */

	F_EXPIRING_DAYS = 120,   /* U64: key list --all --expiring DAYS */
	F_AUDIT_OUTCOME = 130,   /* STR: audit list filter: success | failure | denied */
	F_AUDIT_SERVICE = 131,   /* STR: audit list filter: the PAM service */
	F_AUDIT_UNTIL = 132,     /* U64: audit list filter: ms since the epoch, inclusive */
	F_AUDIT_AFTER_SEQ = 133, /* U64: audit list: only records with a larger seq */
	F_AUDIT_HEAD = 134,      /* U64: audit list reply: the trail's newest seq */
	F_USER_MESSAGE = 140,    /* STR: PAM refusal text the user may see (PAM_ERROR_MSG) */
};

/*
 * Command reference (request fields -> reply fields on SVCA_OK).
 * [x] = optional.  "account" = F_NAME F_UID F_DESCRIPTION F_ORG_ROLE
 * F_STATUS F_CREATED_AT F_CREATED_BY F_UPDATED_AT F_UPDATED_BY
 * F_LAST_ACTIVITY F_BREAK_GLASS.  Timestamps are ms since the epoch, UTC.
 *
 *   PING             -                               -> -
 *   ACCOUNT_CREATE   F_NAME [F_DESCRIPTION] [F_ORG_ROLE] -> account
 *   ACCOUNT_LIST     -                               -> (F_ITEM account)*
 *   ACCOUNT_SHOW     F_NAME                          -> account
 *   ACCOUNT_UPDATE   F_NAME [F_NEW_NAME] [F_DESCRIPTION] [F_ORG_ROLE]
 *                    [F_BREAK_GLASS]                 -> account (after)
 *   ACCOUNT_DISABLE  F_NAME                          -> account
 *   ACCOUNT_ENABLE   F_NAME                          -> account
 *   ACCOUNT_DELETE   F_NAME                          -> F_NAME F_UID
 *
 *   TEAM_CREATE      F_TEAM                          -> team
 *   TEAM_LIST        -                               -> (F_ITEM team F_TOTAL)*
 *                    team = F_TEAM F_CREATED_AT F_CREATED_BY; F_TOTAL =
 *                    number of its workspaces
 *   TEAM_DELETE      F_TEAM [F_FORCE]                -> F_TEAM F_TOTAL
 *                    (F_TOTAL = grants removed, incl. those of its workspaces)
 *   WORKSPACE_CREATE F_WORKSPACE F_TEAM              -> workspace
 *   WORKSPACE_LIST   -                               -> (F_ITEM workspace)*
 *                    workspace = F_WORKSPACE F_TEAM F_CREATED_AT
 *                    F_CREATED_BY F_ON_HOST
 *   WORKSPACE_DELETE F_WORKSPACE [F_FORCE]           -> F_WORKSPACE F_TOTAL
 *                    (F_TOTAL = grants removed)
 *   GRANT_ADD        F_NAME (F_WORKSPACE|F_TEAM) F_ROLE -> grant
 *                    grant = F_NAME (F_WORKSPACE|F_TEAM) F_ROLE
 *                    F_CREATED_AT F_CREATED_BY
 *   GRANT_REMOVE     F_NAME (F_WORKSPACE|F_TEAM)     -> grant (removed)
 *   GRANT_LIST       F_NAME                          -> (F_ITEM grant)*
 *   ACCOUNT_ACCESS   F_NAME -> F_NAME F_STATUS F_ROLE ("none" when no grant
 *                    applies) (F_CAPABILITY)* (F_SERVICE)* (F_SOURCE)*
 *                    F_SOURCE = "workspace:SCOPE:HOSTWS:ROLE" or
 *                    "team:SCOPE:HOSTWS:ROLE" (a grant on SCOPE that applies
 *                    on host workspace HOSTWS)
 *   PAM_AUTHORIZE    F_NAME F_SERVICE [F_RHOST] [F_TTY]  (root only)
 *                    -> F_ALLOWED F_ROLE F_REASON F_MESSAGE
 *                    F_MESSAGE is for the user ("ci-deploy may not use
 *                    sudo on this host"); unknown account -> NOTFOUND
 *
 *
 *   KEY_CREATE       F_NAME [F_EXPIRES_DAYS (0 = never)] [F_LABEL]
 *                    -> F_KEY (the key, shown once) key
 *                    key = F_NAME F_KEY_ID F_LABEL F_STATUS F_CREATED_AT
 *                    F_CREATED_BY F_EXPIRES_AT F_LAST_USED_AT
 *                    F_LAST_USED_UID F_LAST_USED_PID F_LAST_USED_SERVICE
 *   KEY_LIST         F_NAME                          -> (F_ITEM key)*
 *   KEY_DISABLE / KEY_ENABLE / KEY_REVOKE  F_NAME F_KEY_ID -> key
 *   TOKEN_CREATE     F_KEY   (any caller: the key is the credential)
 *                    -> F_TOKEN F_EXPIRES_IN F_EXPIRES_AT F_KEY_ID F_NAME
 *                    refused: SVCA_ERR_FAILED F_REASON F_MESSAGE
 *                    [F_RETRY_AFTER when rate limited / locked out]
 *   TOKEN_VERIFY     F_TOKEN -> F_JSON (claims) F_NAME; invalid:
 *                    SVCA_ERR_FAILED F_REASON F_MESSAGE
 *   TOKEN_REVOKE     F_TOKEN | F_NAME (all tokens of the account, admin)
 *                    -> F_NAME [F_JSON]
 *   JWKS             -                               -> F_JSON
 *   SIGNING_KEY_ROTATE -  (super-admin)              -> F_KEY_ID (new kid)
 *   PAM_AUTH         F_NAME (F_KEY | F_TOKEN) F_SERVICE [F_RHOST] [F_TTY]
 *                    [F_AUTHORIZE] (root only) -> F_REASON "ok"
 *                    [F_ACCT_ALLOWED F_ROLE F_ACCT_REASON F_ACCT_MESSAGE:
 *                    with F_AUTHORIZE, the PAM_AUTHORIZE decision for this
 *                    service, audited in the same transaction, so a login
 *                    costs one durable write instead of two]; refused: SVCA_ERR_FAILED
 *                    F_REASON (locked_out / rate_limited / bad_secret ...)
 *                    F_MESSAGE [F_RETRY_AFTER] [F_USER_MESSAGE: what the
 *                    user may be shown: a rate limit or lockout, or the
 *                    key's state after the right secret; never for a
 *                    wrong secret]; not a service account: SVCA_ERR_NOTFOUND
 *   PAM_SESSION_OPEN F_NAME F_SERVICE [F_RHOST] [F_TTY] [F_PID] [F_NO_TOKEN]
 *                    (root only) -> F_TOKEN F_EXPIRES_IN; with F_NO_TOKEN = 1
 *                    (the login did not authenticate with a svcacct key or
 *                    token) -> nothing: session.open is audited with
 *                    reason "no_token", no token is issued
 *   PAM_SESSION_CLOSE F_NAME F_SERVICE [F_TOKEN] [F_RHOST] [F_TTY] [F_PID]
 *                    (root only) -> -
 *
 * Any management request may carry F_AUTH_TOKEN: a session token of a
 * service account whose org role is admin or super-admin, which then acts
 * with that role (and is named as the actor in the audit trail).
 *   AUDIT_LIST       [F_ACCOUNT] [F_EVENT] [F_SINCE] [F_LIMIT] [F_HOST_ID]
 *                    [F_AUDIT_OUTCOME] [F_AUDIT_SERVICE] [F_AUDIT_UNTIL]
 *                    [F_AUDIT_AFTER_SEQ]
 *                                   -> [F_AUDIT_HEAD] (F_ITEM F_SEQ F_JSON)*,
 *                                      oldest first; F_LIMIT keeps the newest N
 *                    F_ACCOUNT also matches subject.key_id of the account's
 *                    keys; F_EVENT: exact, a prefix ending in '.', or an
 *                    fnmatch glob (* ? [)
 *   AUDIT_VERIFY     -              -> F_TOTAL (records checked)
 *                                      on failure: SVCA_ERR_FAILED with
 *                                      F_SEQ (first bad record) F_MESSAGE
 *                                      [F_HOST_ID F_HOST_SEQ] (a hub: the
 *                                      forwarded record's host, its seq)
 *
 * The fleet (DESIGN.md section 9).  "host" = F_HOST_ID (F_WORKSPACES)*
 * F_STATUS (active | disabled) F_CREATED_AT F_CREATED_BY F_LAST_SEEN
 * F_SNAPSHOT_SEQ [F_LAG_S].
 *   HOST_TOKEN_CREATE F_WORKSPACES [F_TTL] (admin; hub)
 *                    -> F_TOKEN (the enrollment token, shown once)
 *                    F_KEY_ID F_EXPIRES_AT (F_WORKSPACES)*
 *   HOST_LIST        - (admin; hub)              -> (F_ITEM host)*
 *   HOST_SHOW / HOST_DISABLE / HOST_REMOVE  F_HOST_ID (admin; hub) -> host
 *   HOST_UPDATE      F_HOST_ID F_WORKSPACES (admin; hub) -> host (after)
 *   HOST_REGISTER    F_TOKEN F_HOST_ID (anyone: the enrollment token is the
 *                    credential; hub; POST /v1/agent/enroll)
 *                    -> F_HOST_ID (F_WORKSPACES)* F_CREDENTIAL
 *                    refused: SVCA_ERR_FAILED F_REASON (token_unknown,
 *                    token_used, token_expired, host_exists, rate_limited)
 *                    F_MESSAGE [F_RETRY_AFTER]
 *   HOST_ENROLL      F_TOKEN [F_HOST_ID] (admin; agent: enrolls with its
 *                    hubs) -> F_HOST_ID (F_WORKSPACES)* F_URL (the hub)
 *   FLEET_STATUS     - (admin) -> F_MODE F_HOST_ID F_SNAPSHOT_SEQ [F_AGE_S]
 *                    F_STALE F_HOST_STATUS [F_AUDIT_PENDING]
 *                    [F_AUDIT_FORWARDED_AT] (F_ITEM F_URL F_REACHABLE)*
 *
 * SSH certificates (DESIGN.md section 10).  "cert" = F_SERIAL F_NAME
 * F_KEY_ID (the certificate's key id) F_FINGERPRINT (of the subject key)
 * F_VALID_AFTER F_VALID_BEFORE F_STATUS (valid | expired | revoked)
 * F_CREATED_AT.
 *   SSH_SIGN         F_PUBLIC_KEY [F_TTL] (F_KEY | F_AUTH_TOKEN: the account's
 *                    own credential, like TOKEN_CREATE; any caller)
 *                    -> F_CERTIFICATE F_SERIAL F_KEY_ID F_VALID_BEFORE F_NAME
 *                    refused: SVCA_ERR_FAILED F_REASON F_MESSAGE [F_RETRY_AFTER]
 *   SSH_CA           - (any caller) -> (F_ITEM F_PUBLIC_KEY F_FINGERPRINT
 *                    F_STATUS (current | next | retired) F_CREATED_AT)*
 *   SSH_LIST         [F_NAME] (admin, or the account itself) -> (F_ITEM cert)*
 *   SSH_REVOKE       F_SERIAL | F_NAME (admin) -> F_TOTAL (certificates revoked)
 *   SSH_CA_ROTATE    - (super-admin) -> F_FINGERPRINT (the next key, published
 *                    now, signing from the following rotation)
 *   SSH_PRINCIPALS   F_NAME (sshd's %u) F_KEY_ID (%i) F_SERIAL (%s)
 *                    F_CA_FINGERPRINT (%F) [F_SERVICE, default "sshd"]
 *                    (root, the daemon's user, or ssh_principals_user)
 *                    -> F_ALLOWED [F_NAME when allowed] F_REASON
 *   PAM_AUTHORIZE and PAM_SESSION_OPEN take [F_SSH_CERT]: the certificate
 *                    sshd accepted for this login (SSH_AUTH_INFO_0, service
 *                    sshd only); it must pass the same check as
 *                    SSH_PRINCIPALS, is audited as auth.allow with method
 *                    ssh-cert, and lets PAM_SESSION_OPEN issue a token.

 * Operator queries (admin).
 *   KEY_LIST_ALL     [F_EXPIRING_DAYS] -> (F_ITEM key)*, by account then
 *                    creation; with F_EXPIRING_DAYS only active keys that
 *                    expire within that many days
 *   ACCOUNT_FIND     [F_WORKSPACE] [F_TEAM] [F_ROLE] [F_STATUS] -> (F_ITEM
 *                    account)*: accounts with one grant that matches every
 *                    grant filter given (F_WORKSPACE: on the workspace or
 *                    its team; F_TEAM: on the team or one of its
 *                    workspaces; F_ROLE: that role), and F_STATUS (active |
 *                    disabled); an unknown workspace or team -> NOTFOUND
 *   ACCESS_LIST      - -> (F_ITEM F_NAME F_CAPABILITY F_ROLE F_SOURCE)*: who
 *                    may do what on this host (login, sudo), one item per
 *                    (account, capability, grant); F_SOURCE as for
 *                    ACCOUNT_ACCESS, F_ROLE the grant's role
 *
 * F_JSON of an audit event is the same JSON object that goes to syslog:
 * {"seq","ts","event","outcome","actor","subject","scope","peer",
 *  "service","rhost","reason"} with ts as an ISO 8601 UTC string (ms).
 */

/* ---- growable output buffer ------------------------------------------ */

struct svca_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t limit; /* 0 = SVCA_MAX_REPLY */
	int failed;   /* allocation failed or limit exceeded: frame unusable */
};

void svca_buf_init(struct svca_buf *b, size_t limit);
/* Wipes the contents (they may hold a secret) and frees the buffer. */
void svca_buf_free(struct svca_buf *b);
void svca_buf_reset(struct svca_buf *b);

/* Starts a frame: writes a header whose length is fixed by svca_frame_end. */
void svca_frame_begin(struct svca_buf *b, uint16_t type);
/* Returns 0, or -1 when the buffer failed (ENOMEM or over its limit). */
int svca_frame_end(struct svca_buf *b);

void svca_put_str(struct svca_buf *b, uint16_t tag, const char *s);
void svca_put_strn(struct svca_buf *b, uint16_t tag, const char *s, size_t n);
void svca_put_u64(struct svca_buf *b, uint16_t tag, uint64_t v);
void svca_put_bytes(struct svca_buf *b, uint16_t tag, const void *p, size_t n);
void svca_put_mark(struct svca_buf *b, uint16_t tag);
/* Appends raw bytes (record prefixes; not a field). */
void svca_put_raw(struct svca_buf *b, const void *p, size_t n);

/* ---- decoding --------------------------------------------------------- */

struct svca_header {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t length;
	uint32_t flags;
};

/* Parses 16 bytes.  Returns 0 when magic and version are right, else -1. */
int svca_header_parse(const uint8_t *p, struct svca_header *h);

struct svca_field {
	uint16_t tag;
	uint8_t kind;
	uint32_t len;
	const uint8_t *val; /* points into the body; not NUL-terminated */
};

struct svca_iter {
	const uint8_t *p;
	size_t left;
	int error;
};

void svca_iter_init(struct svca_iter *it, const uint8_t *body, size_t len);
/* 1 = a field was returned, 0 = end of body, -1 = malformed body. */
int svca_iter_next(struct svca_iter *it, struct svca_field *f);

/* svca_fields_collect for a request: no tag may appear twice (which value
 * would count is a guess; a request names each thing once).  The count,
 * -1 when malformed or too many, SVCA_DUP_FIELD when a tag repeats (*dup
 * gets it when dup is not NULL). */
#define SVCA_DUP_FIELD (-2)
int svca_request_fields_collect(const uint8_t *body, size_t len, struct svca_field *out, size_t max,
				uint16_t *dup);

/* Validates a whole body (kinds, lengths, string contents, field count). */
int svca_body_validate(const uint8_t *body, size_t len, size_t max_fields);

/* Finds the first field with this tag.  NULL when absent. */
const struct svca_field *svca_fields_find(const struct svca_field *fs, size_t n, uint16_t tag);

/* Collects up to max fields.  Returns the count or -1 when malformed/too many. */
int svca_fields_collect(const uint8_t *body, size_t len, struct svca_field *out, size_t max);

/* Copies a STR field into dst as a C string.  -1 when it does not fit or
 * the field is not a STR. */
int svca_field_str(const struct svca_field *f, char *dst, size_t dstlen);
/* Reads a U64 field.  -1 when the field is not a U64. */
int svca_field_u64(const struct svca_field *f, uint64_t *out);

const char *svca_status_name(uint16_t status);

#endif
