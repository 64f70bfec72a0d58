/* Parsers of the HTTP front that need no connection (fuzzed by
 * fuzz/fuzz_http_form.c). */
#ifndef SVCACCTD_HTTP_PARSE_H
#define SVCACCTD_HTTP_PARSE_H

#include <stddef.h>

/* Decodes "token=..." from an application/x-www-form-urlencoded body
 * (NUL-terminated) into out.  0 ok; -1 no token field or a malformed
 * escape; -2 the value does not fit in out. */
int http_form_token(const char *body, char *out, size_t outlen);

#endif
