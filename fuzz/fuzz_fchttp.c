/*
 * What the Firecracker driver reads from Firecracker (vmhelper/fcapi.c):
 * the API socket's responses and the hybrid vsock's "OK <port>" line.  A
 * guest that took its VMM over may answer anything there.  A response's
 * error text must come out bounded and printable.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcapi.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fc_resp	 rp;
	unsigned	 port;
	size_t		 i, off = 0;
	char		*buf;
	int		 k;

	/* Exactly size bytes: ASan sees any read past them. */
	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	/* Back-to-back responses, as a keep-alive connection has them. */
	while (off < size && (k = fc_http_response(buf + off, size - off,
	    &rp)) > 0) {
		if (rp.status < 200 || rp.status > 599 ||
		    (size_t)k > size - off)
			abort();
		for (i = 0; rp.fault[i] != '\0'; i++)
			if (rp.fault[i] < 0x20 || rp.fault[i] > 0x7e)
				abort();
		off += (size_t)k;
	}
	k = fc_vsock_ok(buf, size, &port);
	if (k > 0 && ((size_t)k > size || buf[k - 1] != '\n'))
		abort();
	free(buf);
	return 0;
}
