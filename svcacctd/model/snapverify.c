/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Agent mode: checking a hub's snapshot envelope (snapverify.h). */
#include "snapverify.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_delta.h"
#include "host_snapshot.h"

#define SIG_B64 86 /* base64url, no padding, of 64 bytes */

static int refuse(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "snapshot refused: %s", why);
	return -1;
}

/* The payload bytes of the envelope, decoded (malloc, NUL-terminated). */
static char *decode_payload(const char *b64, size_t max, size_t *len)
{
	size_t cap = strlen(b64) / 4 * 3 + 1, bin = 0;
	if (cap > max + 1)
		return NULL;
	char *p = malloc(cap);
	if (!p)
		return NULL;
	if (sodium_base642bin((unsigned char *)p, cap, b64, strlen(b64), NULL, &bin, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin >= cap) {
		free(p);
		return NULL;
	}
	p[bin] = '\0';
	*len = bin;
	return p;
}

static int sig_ok(const uint8_t pk[32], const char *sig64, const char *p, size_t len)
{
	uint8_t sig[64];
	size_t bin = 0;
	return sig64 && strlen(sig64) == SIG_B64 &&
	       sodium_base642bin(sig, sizeof(sig), sig64, SIG_B64, NULL, &bin, NULL,
				 sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
	       bin == sizeof(sig) &&
	       crypto_sign_verify_detached(sig, (const unsigned char *)p, len, pk) == 0;
}

/* The payload's shape: every record a {"k": string, "v": string}. */
static int records_ok(const json_t *recs)
{
	size_t i;
	const json_t *r;
	if (!json_is_array(recs))
		return 0;
	json_array_foreach(recs, i, r)
	{
		if (!json_is_string(json_object_get(r, "k")) ||
		    !json_is_string(json_object_get(r, "v")))
			return 0;
	}
	return 1;
}

/* The signed payload's fields.  0 ok, -1 refused (err). */
static int check_payload(const json_t *doc, const char *host_id, uint64_t applied_seq,
			 struct snap_verified *out, char *err, size_t errlen)
{
	const json_t *fmt = json_object_get(doc, "format");
	const json_t *seq = json_object_get(doc, "seq");
	const json_t *iss = json_object_get(doc, "issued_at");
	const char *host = json_string_value(json_object_get(doc, "host_id"));
	if (!json_is_integer(fmt) || json_integer_value(fmt) != SNAPSHOT_FORMAT ||
	    json_object_get(doc, "kind"))
		return refuse(err, errlen, "unknown format");
	if (!host || strcmp(host, host_id) != 0)
		return refuse(err, errlen, "it is for another host");
	if (!json_is_integer(seq) || json_integer_value(seq) < 0 || !json_is_integer(iss) ||
	    json_integer_value(iss) < 0)
		return refuse(err, errlen, "no valid seq or issued_at");
	if ((uint64_t)json_integer_value(seq) < applied_seq)
		return refuse(err, errlen, "older than the snapshot applied (replay)");
	if (!json_is_array(json_object_get(doc, "workspaces")) ||
	    !records_ok(json_object_get(doc, "records")) ||
	    !json_is_object(json_object_get(doc, "jwks")))
		return refuse(err, errlen, "malformed payload");
	out->seq = (uint64_t)json_integer_value(seq);
	out->issued_at = (uint64_t)json_integer_value(iss);
	return 0;
}

/* A delta's fields: based on exactly the applied seq, newer than it. */
static int check_delta(const json_t *doc, const char *host_id, uint64_t applied_seq,
		       struct snap_verified *out, char *err, size_t errlen)
{
	const json_t *fmt = json_object_get(doc, "format");
	const json_t *base = json_object_get(doc, "base_seq");
	const json_t *seq = json_object_get(doc, "seq");
	const json_t *iss = json_object_get(doc, "issued_at");
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	const char *host = json_string_value(json_object_get(doc, "host_id"));
	if (!json_is_integer(fmt) || json_integer_value(fmt) != SNAPSHOT_FORMAT || !kind ||
	    strcmp(kind, DELTA_KIND) != 0)
		return refuse(err, errlen, "not a delta");
	if (!host || strcmp(host, host_id) != 0)
		return refuse(err, errlen, "it is for another host");
	if (!json_is_integer(seq) || json_integer_value(seq) < 0 || !json_is_integer(base) ||
	    json_integer_value(base) < 0 || !json_is_integer(iss) || json_integer_value(iss) < 0)
		return refuse(err, errlen, "no valid seq, base_seq or issued_at");
	if ((uint64_t)json_integer_value(base) != applied_seq)
		return refuse(err, errlen, "not based on the snapshot applied");
	if ((uint64_t)json_integer_value(seq) <= applied_seq)
		return refuse(err, errlen, "not newer than the snapshot applied (replay)");
	size_t i;
	const json_t *x;
	int ok = json_is_array(json_object_get(doc, "workspaces")) &&
		 json_is_array(json_object_get(doc, "accounts")) &&
		 json_is_array(json_object_get(doc, "deletes")) &&
		 records_ok(json_object_get(doc, "upserts")) &&
		 json_is_object(json_object_get(doc, "jwks"));
	json_array_foreach(json_object_get(doc, "accounts"), i, x)
	{
		if (!json_is_integer(x) || json_integer_value(x) <= 0 ||
		    json_integer_value(x) > UINT32_MAX)
			ok = 0;
	}
	json_array_foreach(json_object_get(doc, "deletes"), i, x)
	{
		if (!json_is_string(x))
			ok = 0;
	}
	if (!ok)
		return refuse(err, errlen, "malformed payload");
	out->delta = 1;
	out->base_seq = applied_seq;
	out->seq = (uint64_t)json_integer_value(seq);
	out->issued_at = (uint64_t)json_integer_value(iss);
	return 0;
}

/* The envelope, its signature, then the payload's fields (delta or not). */
static int verify(const uint8_t pk[32], const char *host_id, uint64_t applied_seq, const char *body,
		  size_t len, int delta, struct snap_verified *out, char *err, size_t errlen)
{
	json_error_t jerr;
	memset(out, 0, sizeof(*out));
	json_t *env = body ? json_loadb(body, len, 0, &jerr) : NULL;
	const char *p64 = json_string_value(json_object_get(env, "payload"));
	const char *sig = json_string_value(json_object_get(env, "sig"));
	if (!p64 || !sig) {
		json_decref(env);
		return refuse(err, errlen, "not a snapshot envelope");
	}
	size_t plen = 0;
	char *p = decode_payload(p64, delta ? DELTA_MAX_BYTES : SNAPSHOT_MAX_BYTES, &plen);
	int ok = p && sig_ok(pk, sig, p, plen);
	json_decref(env);
	if (!ok) {
		free(p);
		return refuse(err, errlen,
			      p ? "bad signature (not the pinned snapshot key)"
				: "payload not base64 or too large");
	}
	json_t *doc = json_loadb(p, plen, JSON_REJECT_DUPLICATES, &jerr);
	int r = !doc    ? refuse(err, errlen, "payload is not JSON")
		: delta ? check_delta(doc, host_id, applied_seq, out, err, errlen)
			: check_payload(doc, host_id, applied_seq, out, err, errlen);
	json_decref(doc);
	if (r < 0) {
		free(p);
		memset(out, 0, sizeof(*out));
		return -1;
	}
	out->payload = p;
	out->len = plen;
	return 0;
}

int host_snapshot_verify(const uint8_t pk[32], const char *host_id, uint64_t applied_seq,
			 const char *body, size_t len, struct snap_verified *out, char *err,
			 size_t errlen)
{
	return verify(pk, host_id, applied_seq, body, len, 0, out, err, errlen);
}

int host_delta_verify(const uint8_t pk[32], const char *host_id, uint64_t applied_seq,
		      const char *body, size_t len, struct snap_verified *out, char *err,
		      size_t errlen)
{
	return verify(pk, host_id, applied_seq, body, len, 1, out, err, errlen);
}

void snap_verified_free(struct snap_verified *v)
{
	free(v->payload);
	memset(v, 0, sizeof(*v));
}
