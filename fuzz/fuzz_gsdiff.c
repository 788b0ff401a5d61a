/*
 * The parser of guest-script output (supervisor/guestsh.c): diff's
 * NUL-separated records come from a script the guest may have replaced,
 * so every byte is the guest's.  The first byte chooses "truncated".
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guestsh.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* What pyrod's redactor does at its simplest: a NUL-terminated copy. */
static char *
clean(void *arg, const uint8_t *p, size_t n)
{
	char	*s = malloc(n + 1);

	(void)arg;
	if (s != NULL) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON	*o;
	char	*text;

	if (size == 0)
		return 0;
	o = gs_diff_parse(data + 1, size - 1, data[0] & 1, clean, NULL);
	if (o != NULL) {
		/* Whatever it made must print as JSON. */
		if ((text = cJSON_PrintUnformatted(o)) == NULL)
			abort();
		free(text);
		cJSON_Delete(o);
	}
	(void)gs_refusal((int)data[0]);
	return 0;
}
