#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "utf8.h"

/* The length of the UTF-8 sequence at p (or 0) and its code point. */
static size_t
u8len(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t	k = pyro_utf8_len(p, n), i;

	if (k < 2)
		return 0;
	*cp = p[0] & (0x7f >> k);
	for (i = 1; i < k; i++)
		*cp = (*cp << 6) | (p[i] & 0x3f);
	return k;
}

static int
bidi_control(uint32_t c)
{
	return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

char *
pyro_escape_text(const char *in, unsigned flags)
{
	const unsigned char	*p = (const unsigned char *)in;
	size_t			 n = strlen(in), i = 0, o = 0, k;
	char			*out;
	uint32_t		 c;

	/* Worst case: every byte becomes \xNN. */
	if ((out = malloc(4 * n + 1)) == NULL)
		return NULL;
	while (i < n) {
		if (p[i] == '\\' && (flags & PYRO_ESC_BACKSLASH)) {
			out[o++] = '\\';
			out[o++] = '\\';
			i++;
		} else if ((p[i] == '\n' || p[i] == '\t') &&
		    (flags & PYRO_ESC_LINES)) {
			out[o++] = (char)p[i++];
		} else if (p[i] == '\n' || p[i] == '\t' || p[i] == '\r') {
			out[o++] = '\\';
			out[o++] = p[i] == '\n' ? 'n' : p[i] == '\t' ? 't' :
			    'r';
			i++;
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			o += (size_t)sprintf(out + o, "\\x%02x", p[i++]);
		} else if (p[i] < 0x80) {
			out[o++] = (char)p[i++];
		} else if ((k = u8len(p + i, n - i, &c)) == 0) {
			o += (size_t)sprintf(out + o, "\\x%02x", p[i++]);
		} else if ((c >= 0x80 && c <= 0x9f) || bidi_control(c)) {
			/* 6 bytes out for 2 or 3 in: within 4n. */
			o += (size_t)sprintf(out + o, "\\u%04x", (unsigned)c);
			i += k;
		} else {
			memcpy(out + o, p + i, k);
			o += k;
			i += k;
		}
	}
	out[o] = '\0';
	return out;
}
