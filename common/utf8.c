/*
 * UTF-8 from bytes a guest or a tool wrote: the one validator and
 * sanitizer, for JSON strings (pyrod, the MCP server) and the terminal
 * escaper.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* The length of the valid UTF-8 sequence at p, or 0 (RFC 3629). */
size_t
pyro_utf8_len(const uint8_t *p, size_t n)
{
	size_t	 k, i;
	uint32_t c;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		k = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		k = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		k = 4;
	else
		return 0;
	if (n < k)
		return 0;
	for (i = 1; i < k; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	c = k == 2 ? 0 : k == 3 ? (uint32_t)(p[0] & 0x0f) << 12 |
	    (uint32_t)(p[1] & 0x3f) << 6 : (uint32_t)(p[0] & 0x07) << 18 |
	    (uint32_t)(p[1] & 0x3f) << 12;
	if ((k == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (k == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return k;
}

char *
utf8_sanitize(const uint8_t *p, size_t len)
{
	return pyro_utf8_text(p, len, 0);
}

char *
pyro_utf8_text(const uint8_t *p, size_t len, int keep_nul)
{
	char	*out = malloc(3 * len + 1);
	size_t	 i = 0, o = 0, k;

	if (out == NULL)
		return NULL;
	while (i < len) {
		if (p[i] == 0 && !keep_nul) {	/* JSON strings carry none */
			i++;
			continue;
		}
		if (p[i] == 0) {		/* as U+FFFD, visibly */
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		if ((k = pyro_utf8_len(p + i, len - i)) == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, p + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
	return out;
}
