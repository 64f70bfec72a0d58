/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * svcacctctl: the admin CLI of svcacctd.
 *
 *   svcacctctl [-s SOCKET] [--json] [--timeout SECONDS] [--token-file FILE]
 *              NOUN VERB [ARGS...]
 *
 * This file holds main(), the command table, global options, the argument
 * parser shared by every command and the help texts.  The commands live in
 * svcacctctl_NOUN.c, reply decoding and output helpers in svcacctctl_util.c.
 */
#include "svcacctctl.h"

#include <errno.h>
#include <math.h> /* isfinite: a macro, no libm */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

#define GLOBAL_SYNOPSIS                                                                         \
	"[-s SOCKET | --hub URL [--ca FILE]] [--json] [--timeout SECONDS] [--token-file FILE] " \
	"[--trust-uid UID]"

/* Every global option, as global_opt and main take them, for the shell
 * completion (svcacctctl --commands; t_completion.sh checks the list
 * against global_opt). */
#define GLOBAL_OPTIONS                                                                         \
	"-s SOCKET --socket SOCKET --hub URL --ca FILE --json --timeout SECONDS --token-file " \
	"FILE "                                                                                \
	"--trust-uid UID -h --help --version"

/* ---- the command table ------------------------------------------------------ */

static const struct ctl_cmd commands[] = {
	{ "account", "create", "NAME [--description TEXT] [--role member|admin|super-admin]",
	  "create a service account",
	  "Creates the service account NAME and gives it the next free uid.\n"
	  "\n"
	  "  --description TEXT  free text shown in listings\n"
	  "  --role ROLE         organization role: member (default), admin or\n"
	  "                      super-admin\n",
	  ctl_account_create },
	{ "account", "list", "[--workspace WS] [--team TEAM] [--role ROLE] [--status STATUS]",
	  "list the service accounts",
	  "Prints a table NAME UID ROLE STATUS DESCRIPTION, or with --json an\n"
	  "array of account objects.  The filters combine (all must hold):\n"
	  "\n"
	  "  --workspace WS      accounts with a grant on WS or on its team\n"
	  "  --team TEAM         accounts with a grant on TEAM or one of its\n"
	  "                      workspaces\n"
	  "  --role ROLE         viewer, editor or admin: with --workspace or\n"
	  "                      --team, that grant has this role; alone, any\n"
	  "                      grant of the account has it\n"
	  "  --status STATUS     active or disabled\n"
	  "\n"
	  "An unknown workspace or team exits 4 (not found).\n",
	  ctl_account_list },
	{ "account", "show", "NAME", "show one service account",
	  "Prints the account's fields as \"key: value\" lines, or with --json\n"
	  "one account object.\n",
	  ctl_account_show },
	{ "account", "update",
	  "NAME [--rename NEW] [--description TEXT] [--role ROLE] "
	  "[--break-glass on|off]",
	  "rename an account or change its description, role or break-glass",
	  "Changes the account NAME.  At least one option is required.\n"
	  "\n"
	  "  --rename NEW        new account name (the uid stays the same)\n"
	  "  --description TEXT  new description (\"\" clears it)\n"
	  "  --role ROLE         new organization role: member, admin or\n"
	  "                      super-admin\n"
	  "  --break-glass on|off  on: the account still logs in on an agent\n"
	  "                      that has not reached the hubs for longer than\n"
	  "                      max_staleness (checked from its last snapshot,\n"
	  "                      audited); super-admin only\n",
	  ctl_account_update },
	{ "account", "disable", "NAME", "disable an account: its keys and tokens stop working",
	  "Disables the account NAME.  Its API keys and session tokens stop\n"
	  "working at once; \"account enable\" restores them.\n",
	  ctl_account_disable },
	{ "account", "enable", "NAME", "enable a disabled account",
	  "Enables the account NAME again.\n", ctl_account_enable },
	{ "account", "delete", "NAME", "delete an account",
	  "Deletes the account NAME, its grants and its keys (revoked, kept as\n"
	  "tombstones); its session tokens stop working at once.  With --json\n"
	  "prints"
	  "{\"name\", \"uid\", \"deleted\": true}.\n"
	  "\n"
	  "A uid is never reused while its account exists.  After the delete it\n"
	  "is free: the daemon hands out uids moving forward through its range\n"
	  "and wraps around at the end, so a later account may get this uid.\n"
	  "Remove or re-own files the account left behind.\n",
	  ctl_account_delete },
	{ "account", "access", "NAME", "effective role and capabilities on this host",
	  "Shows what the account may do on this host: its role (the highest\n"
	  "role its grants give it over the host's workspaces, \"none\" when no\n"
	  "grant applies), the capabilities of that role (login, sudo), the PAM\n"
	  "services they open, and the grants the role comes from.  A disabled\n"
	  "account keeps its role but has no capabilities.\n"
	  "\n"
	  "With --json prints {\"name\", \"status\", \"role\", \"capabilities\": [...],\n"
	  "\"services\": [...], \"sources\": [{\"type\": \"workspace\"|\"team\",\n"
	  "\"scope\", \"workspace\", \"role\"}, ...]}; a source's workspace is the\n"
	  "host workspace the grant applies in.\n"
	  "\n"
	  "An account may ask about itself; other accounts need admin rights.\n",
	  ctl_account_access },
	{ "access", "list", "", "who may log in and who may sudo on this host",
	  "Prints a table ACCOUNT CAPABILITY ROLE GRANT: one row per account,\n"
	  "capability (login, sudo) and grant that gives it on this host's\n"
	  "workspaces (a grant on a team counts for its workspaces; a disabled\n"
	  "account has none).  With --json an array of {\"account\",\n"
	  "\"capability\", \"role\", \"grant\": {\"type\", \"scope\",\n"
	  "\"workspace\", \"role\"}}.  Needs admin rights.\n",
	  ctl_access_list },
	{ "team", "create", "TEAM", "create a team",
	  "Creates the team TEAM.  Teams own workspaces; a grant on a team\n"
	  "applies in every workspace of the team.  Team and workspace names use\n"
	  "lowercase letters, digits, '.', '_' and '-', start with a letter or a\n"
	  "digit and have at most 64 characters.\n",
	  ctl_team_create },
	{ "team", "list", "", "list the teams",
	  "Prints a table TEAM WORKSPACES CREATED CREATED_BY (WORKSPACES is the\n"
	  "number of workspaces of the team), or with --json an array of\n"
	  "{\"name\", \"workspaces\", \"created_at\", \"created_by\"}.\n",
	  ctl_team_list },
	{ "team", "delete", "TEAM [--force]", "delete a team",
	  "Deletes the team TEAM.  A team that still has workspaces or grants is\n"
	  "only deleted with --force, which also deletes its workspaces and\n"
	  "removes every grant on the team and on those workspaces.  Prints how\n"
	  "many grants were removed; with --json prints\n"
	  "{\"name\", \"deleted\": true, \"grants_removed\"}.\n"
	  "\n"
	  "  --force  also delete the team's workspaces and grants\n",
	  ctl_team_delete },
	{ "workspace", "create", "WS --team TEAM", "create a workspace in a team",
	  "Creates the workspace WS owned by the team TEAM, which must exist.\n"
	  "A host belongs to the workspaces named by host_workspaces in its\n"
	  "svcacctd.conf; grants on those workspaces (and on their teams) decide\n"
	  "what an account may do on the host.\n"
	  "\n"
	  "  --team TEAM  the team that owns the workspace (required)\n",
	  ctl_workspace_create },
	{ "workspace", "list", "", "list the workspaces",
	  "Prints a table WORKSPACE TEAM ON_HOST CREATED (ON_HOST: yes for a\n"
	  "workspace of this host), or with --json an array of\n"
	  "{\"name\", \"team\", \"on_host\": true|false, \"created_at\",\n"
	  "\"created_by\"}.\n",
	  ctl_workspace_list },
	{ "workspace", "delete", "WS [--force]", "delete a workspace",
	  "Deletes the workspace WS.  A workspace that still has grants is only\n"
	  "deleted with --force, which also removes them.  Prints how many\n"
	  "grants were removed; with --json prints\n"
	  "{\"name\", \"deleted\": true, \"grants_removed\"}.\n"
	  "\n"
	  "  --force  also remove the grants on the workspace\n",
	  ctl_workspace_delete },
	{ "grant", "add", "NAME (--workspace WS | --team TEAM) --role viewer|editor|admin",
	  "give an account a role on a workspace or a team",
	  "Gives the account NAME a role on one workspace or on one team (then\n"
	  "in every workspace of the team).  Exactly one of --workspace and\n"
	  "--team is required.  Granting again changes the role.\n"
	  "\n"
	  "On a host the account's role is the highest one over the host's\n"
	  "workspaces: viewer opens nothing (tokens only), editor opens login,\n"
	  "admin opens login and sudo (defaults; see svcacctd.conf(5)).\n"
	  "\n"
	  "  --workspace WS  the workspace\n"
	  "  --team TEAM     the team\n"
	  "  --role ROLE     viewer, editor or admin (required)\n",
	  ctl_grant_add },
	{ "grant", "remove", "NAME (--workspace WS | --team TEAM)",
	  "remove an account's grant on a workspace or a team",
	  "Removes the grant of the account NAME on the workspace or team.\n"
	  "Exactly one of --workspace and --team is required.  The account's\n"
	  "session tokens issued before stop working.  With --json prints the\n"
	  "removed grant with \"removed\": true.\n",
	  ctl_grant_remove },
	{ "grant", "list", "NAME", "list an account's grants",
	  "Prints a table SCOPE NAME ROLE CREATED (SCOPE is workspace or team,\n"
	  "NAME the workspace's or team's name), or with --json an array of\n"
	  "{\"account\", \"scope_type\": \"workspace\"|\"team\", \"scope\", \"role\",\n"
	  "\"created_at\", \"created_by\"}.\n",
	  ctl_grant_list },
	{ "key", "create", "NAME [--expires DAYS|never] [--label TEXT] [--out FILE]",
	  "generate an API key for an account (shown once)",
	  "Generates a new API key for the account NAME.  The key is shown once:\n"
	  "the daemon keeps only a keyed hash of it.  Store it at once, for\n"
	  "instance in your CI system's secret store.\n"
	  "\n"
	  "Plain output: the key alone on standard output (so KEY=$(...) takes\n"
	  "it), the key id and expiry on standard error.  With --json prints\n"
	  "{\"key_id\", \"key\", \"label\", \"status\", \"created_at\", \"created_by\",\n"
	  "\"expires_at\", \"last_used_at\", \"account\"}.\n"
	  "\n"
	  "With --out FILE the key goes only to FILE, a new file of mode 0600\n"
	  "(an existing FILE is never replaced: exit 1 and no key is made); the\n"
	  "key id alone goes to standard output.  With --json the object then\n"
	  "holds \"file\" instead of \"key\".\n"
	  "\n"
	  "  --expires DAYS  the key expires after DAYS days (a positive integer;\n"
	  "                  default 90, at most max_key_days, 366 by default);\n"
	  "                  'never' only where allow_nonexpiring_keys = true\n"
	  "  --label TEXT    what the key is for (\"gitlab prod runner\")\n"
	  "  --out FILE      write the key to FILE (created, mode 0600), not to\n"
	  "                  standard output\n"
	  "\n"
	  "An account has at most max_active_keys (default 2) active keys, so a\n"
	  "new key can take over before the old one is disabled (rotation\n"
	  "without downtime).  Needs admin rights.\n",
	  ctl_key_create },
	{ "key", "list", "NAME | --all [--expiring DAYS]",
	  "list an account's API keys (never the keys themselves)",
	  "Prints a table KEY_ID LABEL STATUS CREATED CREATED_BY EXPIRES\n"
	  "LAST_USED.  STATUS is active, disabled, revoked or expired; EXPIRES\n"
	  "is 'never' for a key without expiry; LAST_USED is the time of the\n"
	  "last successful use and who used it, \"(uid U pid P service S)\", or\n"
	  "'never'.  Revoked keys stay listed (a tombstone for the audit).\n"
	  "\n"
	  "With --json prints an array of {\"key_id\", \"label\", \"status\",\n"
	  "\"created_at\", \"created_by\", \"expires_at\", \"last_used_at\",\n"
	  "\"last_used\": {\"uid\", \"pid\", \"service\"} or null, \"account\"}.\n"
	  "\n"
	  "An account may list its own keys; other accounts need admin rights.\n"
	  "\n"
	  "--all lists the keys of every account (admin): a table ACCOUNT KEY_ID\n"
	  "LABEL STATUS EXPIRES LAST_USED, or the same --json array.  With\n"
	  "--expiring DAYS only the active keys that expire within DAYS days.\n",
	  ctl_key_list },
	{ "key", "disable", "NAME KEYID", "disable an API key (reversible)",
	  "Disables the key KEYID (the 12-character id from key list) of the\n"
	  "account NAME: it and its session tokens stop working at once; key\n"
	  "enable restores them.\n"
	  "A disabled key does not count against max_active_keys.  With --json\n"
	  "prints the key object.  Needs admin rights.\n",
	  ctl_key_disable },
	{ "key", "enable", "NAME KEYID", "enable a disabled API key",
	  "Enables the disabled key KEYID of the account NAME again.  Refused\n"
	  "when the account already has max_active_keys active keys, and for a\n"
	  "revoked or expired key.  Needs admin rights.\n",
	  ctl_key_enable },
	{ "key", "revoke", "NAME KEYID", "revoke an API key (final)",
	  "Revokes the key KEYID of the account NAME.  Revocation is final: the\n"
	  "key never works again and cannot be enabled; it stays listed as\n"
	  "revoked.  Session tokens obtained with it stop working at once\n"
	  "(key_revoked).  Needs admin rights.\n",
	  ctl_key_revoke },
	{ "token", "create", "[--key-file FILE]",
	  "exchange an API key for a short-lived session token",
	  "Exchanges an API key for a session token (a JWT, valid token_ttl\n"
	  "seconds, 900 by default).  The key is read from FILE, else from the\n"
	  "environment variable SVCACCT_API_KEY, else from one line of standard\n"
	  "input (without echo on a terminal).  It is never taken from the\n"
	  "command line, where every user could read it: a KEY argument is a\n"
	  "usage error.  One trailing newline is ignored.\n"
	  "\n"
	  "Plain output: the token alone.  With --json prints\n"
	  "{\"access_token\", \"token_type\": \"Bearer\", \"expires_in\" (seconds),\n"
	  "\"expires_at\", \"key_id\", \"account\"}.\n"
	  "\n"
	  "Any user may exchange a key: the key is the credential.  A refused\n"
	  "key exits 1 with \"invalid API key\", whatever the reason (the audit\n"
	  "trail has it); too many attempts exit 1 with \"rate limited, retry\n"
	  "in N s\".\n"
	  "\n"
	  "  --key-file FILE  read the key from FILE (warns when FILE is\n"
	  "                   accessible to group or others)\n",
	  ctl_token_create },
	{ "token", "verify", "[TOKEN|-]", "check a session token and print its claims",
	  "Checks a session token: signature, issuer, audience, expiry,\n"
	  "revocation and the account's state.  The token is read from standard\n"
	  "input when TOKEN is absent or '-' (preferred: an argument is visible\n"
	  "to other users).\n"
	  "\n"
	  "Valid: exits 0 and prints the claims as \"key: value\" lines, or with\n"
	  "--json the claims object with \"valid\": true.  Not valid: exits 1\n"
	  "with \"token is not valid: REASON\" on standard error (expired,\n"
	  "revoked, superseded, account_disabled, bad_signature, malformed...),\n"
	  "with --json {\"valid\": false, \"reason\"} on standard output.\n",
	  ctl_token_verify },
	{ "token", "revoke", "(TOKEN|- | --account NAME)",
	  "revoke one session token, or all tokens of an account",
	  "Revokes one session token (TOKEN, or '-' to read it from standard\n"
	  "input): presenting a token is enough to revoke it.  With --account\n"
	  "NAME revokes every token the account holds now (needs admin rights);\n"
	  "tokens obtained afterwards work.  Either way the tokens stop working\n"
	  "at once.  With --json prints {\"account\", \"revoked\": true,\n"
	  "\"all\": true|false}.\n"
	  "\n"
	  "  --account NAME  revoke all tokens of the account NAME\n",
	  ctl_token_revoke },
	{ "jwks", "", "", "print the token verification keys (JWKS)",
	  "Prints the daemon's JSON Web Key Set: the Ed25519 public keys that\n"
	  "verify its session tokens (the current key and retired keys whose\n"
	  "tokens may still be valid), pretty-printed, with or without --json.\n"
	  "Any JWT library can verify tokens offline with it (alg EdDSA,\n"
	  "issuer svcacctd, audience svcacct).\n",
	  ctl_jwks_show },
	{ "signing-key", "rotate", "", "start signing tokens with a new key (super-admin)",
	  "Generates a new token-signing key and prints its key id (kid) on\n"
	  "standard output; with --json {\"kid\"}.  New tokens are signed with\n"
	  "it; tokens signed with the old key keep verifying until they expire,\n"
	  "and the JWKS lists both keys meanwhile.  Needs super-admin rights.\n",
	  ctl_signing_key_rotate },
	{ "audit", "list",
	  "[--account NAME] [--event TYPE] [--outcome O] [--service S] [--host HOST] "
	  "[--since TIME] [--until TIME] [--limit N] [--follow]",
	  "list audit events, oldest first",
	  "Prints one line per event: SEQ TS HOST EVENT OUTCOME ACTOR SUBJECT\n"
	  "SERVICE RHOST REASON, or with --json an array of the event objects.\n"
	  "ACTOR is who acted (for a PAM login: the service account); SUBJECT\n"
	  "what the event is about (\"ci key 3f9a1c2b\u2026\", \"team ops\", \"ws farm\",\n"
	  "\"grant ci@farm\").  Long ids are cut to 8 characters in the table;\n"
	  "--json has them whole.\n"
	  "\n"
	  "  --account NAME  only events about this account, including refusals\n"
	  "                  that name one of its keys\n"
	  "  --event TYPE    only events of this type (token.deny), with this\n"
	  "                  prefix (token.) or matching this glob ('token.*')\n"
	  "  --outcome O     only events with outcome success, failure or denied\n"
	  "  --service S     only PAM events of this service (sshd, sudo)\n"
	  "  --since TIME    only events at or after TIME: an ISO 8601 UTC time\n"
	  "                  (2026-11-27T10:00:00Z or 2026-11-27), @EPOCH in\n"
	  "                  seconds, or an age such as 30s, 15m, 2h, 7d\n"
	  "  --until TIME    only events at or before TIME (same forms)\n"
	  "  --limit N       only the newest N matching events\n"
	  "  --host HOST     only events of this host (on a hub: an agent's host id;\n"
	  "                  its forwarded events carry host_seq)\n"
	  "  --follow        then print new events as they come (every 0.5 s) until\n"
	  "                  interrupted (exit 0); with --json one object a line\n",
	  ctl_audit_list },
	{ "audit", "verify", "", "verify the audit trail's hash chain",
	  "Checks every audit record against the hash chain.  Exits 0 when the\n"
	  "chain is intact, 1 naming the first bad record otherwise.  On a hub\n"
	  "also each agent's forwarded records (named by host and host seq).\n",
	  ctl_audit_verify },
	{ "host", "token", "create --workspace WS [--workspace WS2 ...] [--ttl SECONDS]",
	  "hub: a one-time enrollment token for a new host",
	  "On a hub: makes a one-time enrollment token for a host that joins the\n"
	  "given workspaces (they must exist).  The token is printed alone on the\n"
	  "last line; on the new host (an agent: 'hubs' and 'hub_ca' in its\n"
	  "svcacctd.conf) run \"svcacctctl host enroll TOKEN\".  With --json prints\n"
	  "{\"token\", \"token_id\", \"expires_at\", \"workspaces\"}.\n"
	  "\n"
	  "  --workspace WS  a workspace of the host (repeat for more)\n"
	  "  --ttl SECONDS   how long the token may be used (default 3600)\n",
	  ctl_host_token },
	{ "host", "enroll", "TOKEN|- [--host-id ID]", "agent: enroll this host with its hubs",
	  "On an agent: the daemon sends the enrollment token to its hubs (in\n"
	  "the order of 'hubs'), keeps the host credential it gets in its state\n"
	  "directory (mode 0600) and prints the host_id it enrolled as.  TOKEN\n"
	  "'-' reads it from standard input.  The host_id is host_id from\n"
	  "svcacctd.conf, else the host name, unless --host-id is given.\n"
	  "With --json prints {\"host_id\", \"workspaces\", \"hub\"}.\n",
	  ctl_host_enroll },
	{ "host", "list", "", "hub: the enrolled hosts",
	  "Prints a table HOST WORKSPACES STATUS LAST_SEEN SNAPSHOT_SEQ LAG_S, or\n"
	  "with --json an array of {\"host_id\", \"workspaces\", \"status\",\n"
	  "\"last_seen\", \"snapshot_seq\", \"lag_s\"}.\n",
	  ctl_host_list },
	{ "host", "show", "HOST", "hub: one enrolled host",
	  "Prints the host's fields as \"key: value\" lines, or with --json one\n"
	  "host object (as host list).\n",
	  ctl_host_show },
	{ "host", "update", "HOST --workspace WS [--workspace WS2 ...]",
	  "hub: set the workspaces of a host",
	  "Replaces the host's list of workspaces by the ones given (they must\n"
	  "exist).\n",
	  ctl_host_update },
	{ "host", "disable", "HOST", "hub: refuse the host from now on",
	  "The hubs refuse the host's credential from now on (403); its agent's\n"
	  "fleet status says \"disabled or removed\".\n",
	  ctl_host_disable },
	{ "host", "remove", "HOST", "hub: forget a host and its credential",
	  "Deletes the host's record and its credential (401 from then on).  The\n"
	  "host may enroll again with a new token.\n",
	  ctl_host_remove },
	{ "fleet", "status", "", "mode, hubs, host id, snapshot and staleness",
	  "Prints this daemon's mode (standalone, hub or agent), its host_id, and\n"
	  "on an agent each hub with whether it answers, what the hubs say of\n"
	  "this host (host_status), the snapshot's sequence and age and whether\n"
	  "it is stale.  With --json prints {\"mode\", \"hubs\": [{\"url\",\n"
	  "\"reachable\"}], \"snapshot_seq\", \"age_s\", \"stale\", \"host_id\"}\n"
	  "(and \"host_status\" on an agent).\n",
	  ctl_fleet_status },
	{ "ssh", "sign", "PUBKEY_FILE [--key-file FILE] [--ttl SECONDS] [--out FILE]",
	  "trade an API key or token for a short-lived SSH certificate",
	  "Sends the OpenSSH public key in PUBKEY_FILE to the daemon's SSH CA and\n"
	  "writes the user certificate it signs to PUBKEY_FILE with .pub replaced\n"
	  "by -cert.pub (FILE-cert.pub when it does not end in .pub), or to\n"
	  "--out FILE; mode 0644; anything but a regular file is not replaced.\n"
	  "The principal is the account's name, the key id \"sa:NAME key:KEYID\n"
	  "jti:JTI\", valid from 60 s ago for --ttl seconds (60 to 3600, default\n"
	  "900).  The credential: --key-file FILE, else $SVCACCT_API_KEY, else\n"
	  "the session token of $SVCACCT_TOKEN or --token-file, else an API key\n"
	  "on standard input (never the command line).  The same checks as\n"
	  "token create apply, and the account must have the login capability\n"
	  "somewhere (else exit 1, reason no_login_capability).  On an agent\n"
	  "a hub signs (exit 5 when no hub answers).\n"
	  "Prints \"wrote FILE (serial N, valid until TIME)\"; with --json\n"
	  "{\"certificate\", \"serial\", \"key_id\", \"valid_before\", \"file\"}.\n"
	  "\n"
	  "  --key-file FILE  read the API key from FILE\n"
	  "  --ttl SECONDS    validity, 60 to 3600 (default 900)\n"
	  "  --out FILE       where to write the certificate\n",
	  ctl_ssh_sign },
	{ "ssh", "ca", "", "the SSH CA public keys, for sshd's TrustedUserCAKeys",
	  "Prints every SSH CA key a host must trust, one OpenSSH public key line\n"
	  "each (comment svcacct-ca-current, -next or -retired): the key that\n"
	  "signs, the next one (published before it signs) and retired ones\n"
	  "whose certificates may still be valid.  Any user may ask.  With --json\n"
	  "prints an array of {\"public_key\", \"fingerprint\", \"status\",\n"
	  "\"created_at\"}.\n",
	  ctl_ssh_ca },
	{ "ssh", "list", "[--account NAME]", "the SSH certificates issued",
	  "Prints a table SERIAL ACCOUNT KEY_ID VALID_BEFORE STATUS (valid,\n"
	  "expired or revoked) of the certificates issued in the last 30 days,\n"
	  "or with --json an array of {\"serial\", \"account\", \"key_id\",\n"
	  "\"fingerprint\", \"valid_after\", \"valid_before\", \"status\",\n"
	  "\"created_at\"}.  Needs admin rights, except for an account's own\n"
	  "certificates (--account NAME with its token).\n"
	  "\n"
	  "  --account NAME  only this account's certificates\n",
	  ctl_ssh_list },
	{ "ssh", "revoke", "SERIAL | --account NAME", "revoke SSH certificates",
	  "Revokes the certificate SERIAL, or with --account NAME every unexpired\n"
	  "certificate of the account: sshd refuses them at the next login (the\n"
	  "daemon rewrites the KRL file ssh_krl_file at once).  Disabling or\n"
	  "deleting an account, and revoking the API key a certificate was\n"
	  "obtained with, revoke its certificates too.  Prints \"revoked N\n"
	  "certificates\"; with --json {\"revoked\": N}.  Needs admin rights.\n",
	  ctl_ssh_revoke },
	{ "ssh", "ca-rotate", "", "rotate the SSH CA (super-admin)",
	  "The next CA key (published since the last rotation) signs from now\n"
	  "on; the former current key stays trusted until every certificate it\n"
	  "signed expired; a new next key is published.  Prints the new next\n"
	  "key's fingerprint; with --json {\"next_fingerprint\"}.  Needs\n"
	  "super-admin rights.\n",
	  ctl_ssh_ca_rotate },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static int noun_known(const char *noun)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].noun, noun) == 0)
			return 1;
	return 0;
}

/* The command of a noun that takes no verb ("jwks"), or NULL. */
static const struct ctl_cmd *verbless_cmd(const char *noun)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].noun, noun) == 0 && commands[i].verb[0] == '\0')
			return &commands[i];
	return NULL;
}

static const struct ctl_cmd *find_cmd(const char *noun, const char *verb)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].noun, noun) == 0 && strcmp(commands[i].verb, verb) == 0)
			return &commands[i];
	return NULL;
}

/* ---- messages -------------------------------------------------------------- */

/* A printable copy of an argument for a message (rotating static buffers,
 * control characters replaced, long values cut). */
static const char *disp(const char *s)
{
	static char bufs[2][160];
	static unsigned next;
	char *out = bufs[next++ % 2];
	size_t o = 0, n = strlen(s), i = 0;

	while (i < n && o + 5 < sizeof(bufs[0])) {
		uint32_t cp;
		size_t l = ctl_utf8_seq((const unsigned char *)s + i, n - i, &cp);
		if (l == 0 || ctl_is_control(cp)) {
			out[o++] = '?';
			i += l ? l : 1;
			continue;
		}
		memcpy(out + o, s + i, l);
		o += l;
		i += l;
	}
	if (i < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

int ctl_usage_error(const struct ctl *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctl_err_report("usage", msg);
	if (ctl_err_json())
		return CTL_EXIT_USAGE; /* the hints are for people */
	if (c && c->cmd) {
		fprintf(stderr, "usage: " CTL_PROG " [OPTIONS] %s%s%s%s%s\n", c->cmd->noun,
			*c->cmd->verb ? " " : "", c->cmd->verb, *c->cmd->args ? " " : "",
			c->cmd->args);
		fprintf(stderr, "Try '" CTL_PROG " %s%s%s --help' for more.\n", c->cmd->noun,
			*c->cmd->verb ? " " : "", c->cmd->verb);
	} else {
		fputs("usage: " CTL_PROG " " GLOBAL_SYNOPSIS " NOUN VERB [ARGS...]\n"
		      "Try '" CTL_PROG " --help' for more.\n",
		      stderr);
	}
	return CTL_EXIT_USAGE;
}

__attribute__((format(printf, 2, 3))) static int noun_usage_error(const char *noun, const char *fmt,
								  ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctl_err_report("usage", msg);
	if (ctl_err_json())
		return CTL_EXIT_USAGE;
	fprintf(stderr, "usage: " CTL_PROG " [OPTIONS] %s VERB [ARGS...]  (VERB:", noun);
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].noun, noun) == 0)
			fprintf(stderr, " %s", commands[i].verb);
	fprintf(stderr, ")\nTry '" CTL_PROG " %s --help' for more.\n", noun);
	return CTL_EXIT_USAGE;
}

/* ---- help ------------------------------------------------------------------ */

static void print_cmd_line(FILE *f, const struct ctl_cmd *cmd)
{
	fprintf(f, "  %s%s%s%s%s\n", cmd->noun, *cmd->verb ? " " : "", cmd->verb,
		*cmd->args ? " " : "", cmd->args);
}

static void print_main_help(FILE *f)
{
	fputs("usage: " CTL_PROG " " GLOBAL_SYNOPSIS " NOUN VERB [ARGS...]\n"
	      "\n"
	      "Manages svcacct service accounts through the svcacctd daemon.\n"
	      "\n"
	      "Options (before NOUN, or among the command's options):\n"
	      "  -s, --socket SOCKET  the daemon's socket (default: $SVCACCT_SOCKET,\n"
	      "                       else " CTL_DEFAULT_SOCKET ")\n"
	      "  --hub URL            talk to a hub's HTTPS API (https://HOST:PORT)\n"
	      "                       instead of the socket; needs the session token\n"
	      "                       of a service account whose org role allows the\n"
	      "                       command (SVCACCT_TOKEN or --token-file).\n"
	      "                       Default: $SVCACCT_HUB, unless -s is given\n"
	      "  --ca FILE            the CA certificates (PEM) that verify the hub\n"
	      "                       (default: the system CAs).  The certificate and\n"
	      "                       host name are always verified\n"
	      "  --json               print one JSON document on stdout; errors as one\n"
	      "                       line {\"error\": {\"code\", \"message\"}} on stderr\n"
	      "  --timeout SECONDS    give up on the daemon after SECONDS (default 10)\n"
	      "  --token-file FILE    act with the session token in FILE (admin by\n"
	      "                       token: a service account whose org role is admin\n"
	      "                       or super-admin manages with its token); default:\n"
	      "                       $SVCACCT_TOKEN when set.  --token-file wins.\n"
	      "  --trust-uid UID      talk to a daemon running as UID (a test daemon run\n"
	      "                       by yourself); default: $SVCACCT_TRUST_UID, else\n"
	      "                       only root or the user " CTL_DAEMON_USER ".  The socket's\n"
	      "                       owner and the server are checked before anything\n"
	      "                       is sent (exit 5 when they are someone else)\n"
	      "  -h, --help           this help; NOUN --help and NOUN VERB --help\n"
	      "                       describe one command\n"
	      "  --version            print the version\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (size_t i = 0; i < NCOMMANDS; i++)
		print_cmd_line(f, &commands[i]);
	fputs("\n"
	      "Environment: SVCACCT_SOCKET (the socket), SVCACCT_TOKEN (a session\n"
	      "token acting as the caller), SVCACCT_API_KEY (the key of token create),\n"
	      "SVCACCT_TRUST_UID (as --trust-uid), SVCACCT_HUB (as --hub).\n"
	      "\n"
	      "Exit status: 0 success, 1 refused or failed, 2 usage error,\n"
	      "3 not authorized, 4 not found, 5 daemon unreachable (or not run by\n"
	      "root or " CTL_DAEMON_USER ": see --trust-uid; with --hub: the hub\n"
	      "unreachable, or its TLS certificate not verified).\n",
	      f);
}

static void print_noun_help(FILE *f, const char *noun)
{
	fprintf(f, "usage: " CTL_PROG " [OPTIONS] %s VERB [ARGS...]\n\nVerbs:\n", noun);
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].noun, noun) == 0)
			fprintf(f, "  %-8s %s\n", commands[i].verb, commands[i].summary);
	fputs("\nSynopsis:\n", f);
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].noun, noun) == 0)
			print_cmd_line(f, &commands[i]);
	fprintf(f,
		"\nTry '" CTL_PROG " %s VERB --help' for one verb, '" CTL_PROG
		" --help' for the options.\n",
		noun);
}

static void print_cmd_help(FILE *f, const struct ctl_cmd *cmd)
{
	fprintf(f, "usage: " CTL_PROG " [OPTIONS] %s%s%s%s%s\n\n", cmd->noun, *cmd->verb ? " " : "",
		cmd->verb, *cmd->args ? " " : "", cmd->args);
	if (cmd->help)
		fputs(cmd->help, f);
	else
		fprintf(f, "%s.\n", cmd->summary);
	fputs("\nGlobal options: " GLOBAL_SYNOPSIS " (see '" CTL_PROG " --help').\n", f);
}

/* ---- arguments ------------------------------------------------------------- */

/* 1 when arg is "--name" or "--name=VALUE"; *inline_val gets VALUE or NULL. */
static int match_long(const char *arg, const char *name, const char **inline_val)
{
	size_t n = strlen(name);
	if (arg[0] != '-' || arg[1] != '-' || strncmp(arg + 2, name, n) != 0)
		return 0;
	if (arg[2 + n] == '\0') {
		*inline_val = NULL;
		return 1;
	}
	if (arg[2 + n] == '=') {
		*inline_val = arg + 3 + n;
		return 1;
	}
	return 0;
}

/* Rejects control characters, invalid UTF-8 and overlong values. */
static int check_value(const struct ctl *c, const char *what, const char *v)
{
	size_t n = strlen(v);
	if (n >= SVCA_MAX_STRING)
		return ctl_usage_error(c, "%s: value too long (at most %u bytes)", what,
				       SVCA_MAX_STRING - 1);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = ctl_utf8_seq((const unsigned char *)v + i, n - i, &cp);
		if (l == 0)
			return ctl_usage_error(c, "%s: '%s' is not valid UTF-8", what, disp(v));
		if (ctl_is_control(cp))
			return ctl_usage_error(c, "%s: control characters are not allowed in '%s'",
					       what, disp(v));
		i += l;
	}
	return 0;
}

static int parse_timeout(struct ctl *c, const char *v)
{
	char *end;
	int rc = check_value(c, "--timeout", v);
	if (rc)
		return rc;
	errno = 0;
	double s = strtod(v, &end);
	if (end == v || *end != '\0' || errno != 0 || !isfinite(s) || s <= 0 || s > 86400)
		return ctl_usage_error(c,
				       "--timeout: '%s' is not a number of seconds "
				       "(more than 0, at most 86400)",
				       disp(v));
	int ms = (int)(s * 1000.0 + 0.5);
	c->timeout_ms = ms < 1 ? 1 : ms;
	return 0;
}

/*
 * The global options at argv[*i].  Returns 1 when consumed (*i then points
 * at the last argument used), 0 when argv[*i] is no global option, -1 on a
 * usage error (*rc holds the exit status).
 */
static int global_opt(struct ctl *c, int argc, char **argv, int *i, int *rc)
{
	const char *a = argv[*i], *v = NULL;

	if (match_long(a, "json", &v)) {
		if (v) {
			*rc = ctl_usage_error(c, "option '--json' takes no value");
			return -1;
		}
		c->json = 1;
		ctl_err_set_json(1);
		return 1;
	}
	int is_socket = 0, is_timeout = 0, is_token = 0, is_trust = 0, is_hub = 0, is_ca = 0;
	if (match_long(a, "socket", &v)) {
		is_socket = 1;
	} else if (strncmp(a, "-s", 2) == 0) {
		is_socket = 1;
		v = a[2] ? a + 2 : NULL;
	} else if (match_long(a, "timeout", &v)) {
		is_timeout = 1;
	} else if (match_long(a, "token-file", &v)) {
		is_token = 1;
	} else if (match_long(a, "trust-uid", &v)) {
		is_trust = 1;
	} else if (match_long(a, "hub", &v)) {
		is_hub = 1;
	} else if (match_long(a, "ca", &v)) {
		is_ca = 1;
	} else {
		return 0;
	}
	const char *name = is_socket    ? "--socket"
			   : is_timeout ? "--timeout"
			   : is_trust   ? "--trust-uid"
			   : is_hub     ? "--hub"
			   : is_ca      ? "--ca"
					: "--token-file";
	if (!v) {
		if (*i + 1 >= argc) {
			*rc = ctl_usage_error(c, "option '%s' needs a value", name);
			return -1;
		}
		v = argv[++*i];
	}
	if (is_timeout) {
		*rc = parse_timeout(c, v);
		return *rc ? -1 : 1;
	}
	if (is_trust) {
		if (ctl_parse_uid(v, NULL) < 0) {
			*rc = ctl_usage_error(c, "--trust-uid: '%s' is not a uid (0 to %u)",
					      disp(v), CTL_UID_MAX);
			return -1;
		}
		c->trust_uid = v;
		return 1;
	}
	if (*v == '\0') {
		*rc = ctl_usage_error(c, "%s: the %s is empty", name, is_hub ? "URL" : "path");
		return -1;
	}
	if ((*rc = check_value(c, name, v)) != 0)
		return -1;
	if (is_hub) {
		if (!ctl_hub_url_ok(v)) {
			*rc = ctl_usage_error(c,
					      "--hub: '%s' is not an https:// URL (like "
					      "https://hub1.example:8443)",
					      disp(v));
			return -1;
		}
		c->hub = v;
		return 1;
	}
	if (is_ca) {
		c->ca = v;
		return 1;
	}
	if (is_token)
		c->token_file = v;
	else
		c->socket = v;
	return 1;
}

int ctl_parse_args(struct ctl *c, int argc, char **argv, struct ctl_opt *opts, size_t nopts,
		   const char *const *posnames, size_t min_pos, size_t max_pos, const char **pos)
{
	size_t npos = 0;
	int only_pos = 0, rc;

	for (size_t k = 0; k < nopts; k++)
		opts[k].value = NULL;
	for (size_t k = 0; k < max_pos; k++)
		pos[k] = NULL;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!only_pos && strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (!only_pos && a[0] == '-' && a[1] != '\0') {
			int g = global_opt(c, argc, argv, &i, &rc);
			if (g < 0)
				return rc;
			if (g > 0)
				continue;
			struct ctl_opt *o = NULL;
			const char *v = NULL;
			for (size_t k = 0; k < nopts && !o; k++)
				if (match_long(a, opts[k].name, &v))
					o = &opts[k];
			if (!o)
				return ctl_usage_error(c, "unknown option '%s'", disp(a));
			if (!o->has_arg) {
				if (v)
					return ctl_usage_error(c, "option '--%s' takes no value",
							       o->name);
				o->value = "1";
				continue;
			}
			if (!v) {
				if (i + 1 >= argc)
					return ctl_usage_error(c, "option '--%s' needs a value",
							       o->name);
				v = argv[++i];
			}
			char what[64];
			snprintf(what, sizeof(what), "--%s", o->name);
			if ((rc = check_value(c, what, v)) != 0)
				return rc;
			o->value = v;
			continue;
		}
		if (npos == max_pos)
			return ctl_usage_error(c, "unexpected argument '%s'", disp(a));
		if ((rc = check_value(c, posnames[npos], a)) != 0)
			return rc;
		pos[npos++] = a;
	}
	if (npos < min_pos)
		return ctl_usage_error(c, "missing argument %s", posnames[npos]);
	return 0;
}

int ctl_check_account_name(const struct ctl *c, const char *name)
{
	if (svca_account_name_valid(name))
		return 0;
	return ctl_usage_error(c,
			       "invalid account name '%s': use lowercase letters, "
			       "digits, '_' and '-', starting with a letter or '_', "
			       "at most %d characters",
			       disp(name), SVCA_NAME_MAX);
}

int ctl_check_scope_name(const struct ctl *c, const char *what, const char *name)
{
	if (svca_scope_name_valid(name))
		return 0;
	return ctl_usage_error(c,
			       "invalid %s name '%s': use lowercase letters, "
			       "digits, '.', '_' and '-', starting with a letter "
			       "or digit, at most %d characters",
			       what, disp(name), SVCA_SCOPE_NAME_MAX);
}

/* ---- main ------------------------------------------------------------------ */

/* Flushes stdout: a failed write (disk full, closed pipe) is a failure. */
static int finish(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (rc == 0) {
			ctl_err("error writing output: %s", strerror(errno));
			rc = CTL_EXIT_FAILED;
		}
	}
	/* stdout's buffer may have held a key or a token */
	ctl_wipe_stdout();
	return rc;
}

static int run(int argc, char **argv)
{
	struct ctl c = { .timeout_ms = CTL_DEFAULT_TIMEOUT_MS };
	int i = 1, rc;

	/* --json anywhere (before "--"): even an error in the arguments
	 * before it is then reported as JSON */
	for (int j = 1; j < argc && strcmp(argv[j], "--") != 0; j++)
		if (strcmp(argv[j], "--json") == 0)
			ctl_err_set_json(1);

	while (i < argc) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			print_main_help(stdout);
			return finish(0);
		}
		if (strcmp(a, "--version") == 0) {
			puts(CTL_PROG " " CTL_VERSION);
			return finish(0);
		}
		/* not in --help: for the shell completion, see svcacctctl(1) */
		if (strcmp(a, "--commands") == 0) {
			ctl_complete_print(stdout, GLOBAL_OPTIONS, commands, NCOMMANDS);
			return finish(0);
		}
		int g = global_opt(&c, argc, argv, &i, &rc);
		if (g < 0)
			return rc;
		if (g == 0)
			return ctl_usage_error(&c, "unknown option '%s'", disp(a));
		i++;
	}
	if (i >= argc)
		return ctl_usage_error(&c, "missing command");

	const char *noun = argv[i++];
	if (!noun_known(noun))
		return ctl_usage_error(&c, "unknown command '%s'", disp(noun));
	const struct ctl_cmd *cmd = verbless_cmd(noun);
	if (cmd) {
		/* "jwks [OPTIONS]": no verb; the rest are its arguments */
	} else {
		if (i >= argc)
			return noun_usage_error(noun, "%s: missing verb", noun);
		const char *verb = argv[i++];
		if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0) {
			print_noun_help(stdout, noun);
			return finish(0);
		}
		cmd = find_cmd(noun, verb);
		if (!cmd)
			return noun_usage_error(noun, "%s: unknown verb '%s'", noun, disp(verb));
	}
	c.cmd = cmd;

	for (int j = i; j < argc && strcmp(argv[j], "--") != 0; j++) {
		if (strcmp(argv[j], "-h") == 0 || strcmp(argv[j], "--help") == 0) {
			print_cmd_help(stdout, cmd);
			return finish(0);
		}
	}
	return finish(cmd->run(&c, argc - i, argv + i));
}

int main(int argc, char **argv)
{
	ctl_secure_output_init();
	/* every exit path: with --json, the error as one JSON line */
	return ctl_err_flush(run(argc, argv));
}
