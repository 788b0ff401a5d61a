/*
 * UTF-8 validation and sanitizing (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF).
 */
#ifndef PYRO_UTF8_H
#define PYRO_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The length of the valid UTF-8 sequence at p (n bytes left), or 0. */
size_t	pyro_utf8_len(const uint8_t *p, size_t n);
/*
 * A NUL-terminated copy of p[0..len) that is valid UTF-8: each invalid
 * byte becomes U+FFFD; a NUL byte is dropped, or with keep_nul becomes
 * U+FFFD too.  malloc'd; NULL on no memory.
 */
char	*pyro_utf8_text(const uint8_t *p, size_t len, int keep_nul);
/* pyro_utf8_text(p, len, 0): a JSON-safe string. */
char	*utf8_sanitize(const uint8_t *p, size_t len);

#endif
