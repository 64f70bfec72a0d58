/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The HTTP front's own parsing of request bytes (svcacctd/net/http.c): the
 * application/x-www-form-urlencoded body of POST /token/introspect
 * ("token=..."), decoded by form_token before the token reaches
 * jwt_verify (fuzzed in fuzz_jwt.c).  Everything else a peer sends on the
 * HTTP front (request line, headers, chunking) is parsed by
 * libmicrohttpd, which is not ours to fuzz here; the x-api-key header
 * value goes to svca_key_parse (fuzz_keyfmt.c).
 *
 * The parser is exported as http_form_token (svcacctd/net/http_parse.h):
 * this target calls it through that header and links the daemon's http.o,
 * the code under test, not a copy.
 *
 * Input: the request body as MHD hands it to on_request: at most
 * HTTP_MAX_BODY (4096) bytes, NUL-terminated by introspect().
 *
 * Properties checked besides memory safety: on success the output is
 * NUL-terminated inside the buffer; the output buffer size is honoured
 * for every size from 1 byte up (the harness tries small ones too).
 */
#include "http_parse.h"
#define FORM_TOKEN http_form_token

#include <stdint.h>
#include <string.h>

#include "daemon.h"
#include "fuzz_util.h"

#ifndef TOKEN_BUF
#define TOKEN_BUF 2048
#endif

static void run(const char *body, size_t outlen)
{
	char *out = malloc(outlen);
	if (!out)
		abort();
	memset(out, 'X', outlen);
	if (FORM_TOKEN(body, out, outlen) == 0) {
		size_t n = strnlen(out, outlen);
		FZ_ASSERT(n < outlen);
		/* the decoded token is never longer than the body */
		FZ_ASSERT(n <= strlen(body));
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096) /* HTTP_MAX_BODY: larger bodies get 413 first */
		return 0;
	char *body = fz_strdup(data, size);
	run(body, TOKEN_BUF); /* what introspect() passes */
	run(body, 1);
	run(body, 7);
	run(body, 64);
	free(body);
	return 0;
}
