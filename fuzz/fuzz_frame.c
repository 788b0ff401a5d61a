/*
 * The control frame reader (common/frame.c): pyrod reads it from every
 * client, libpyro from pyrod.  The input is split into chunks by its first
 * byte so that partial frames and frame boundaries are exercised.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pyro_frame_reader	 r;
	cJSON				*o;
	size_t				 chunk, off = 0, k;
	int				 rc;

	if (size == 0)
		return 0;
	chunk = (size_t)data[0] % 64 + 1;
	data++;
	size--;
	pyro_frame_reader_init(&r, 4096);
	r.keep_raw = size % 2;
	(void)pyro_json_has_nul((const char *)data, size);
	while (off < size) {
		k = size - off < chunk ? size - off : chunk;
		if (pyro_frame_reader_feed(&r, data + off, k) < 0)
			break;
		off += k;
		while ((rc = pyro_frame_next(&r, &o)) != PYRO_FRAME_NEED_MORE &&
		    rc != PYRO_FRAME_TOO_LARGE) {
			if (rc == PYRO_FRAME_OK) {
				char *t = cJSON_PrintUnformatted(o);

				free(t);
				cJSON_Delete(o);
			}
		}
		if (rc == PYRO_FRAME_TOO_LARGE)
			break;
	}
	pyro_frame_reader_free(&r);
	return 0;
}
