/*
 * What pyro reads from a registry (common/oci.c): manifests and indexes,
 * with or without a Content-Type, and a 401's bearer challenge.  A
 * registry is untrusted; whatever it sends, what comes out is bounded,
 * printable and consistent.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
printable(const char *s, size_t size)
{
	size_t	i;

	for (i = 0; i < size && s[i] != '\0'; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			abort();
	if (i == size)
		abort();	/* not terminated */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct oci_manifest	m;
	struct oci_challenge		c;
	char				err[200], *buf;
	int				i;

	/* Exactly size bytes: ASan sees any read past them. */
	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	if (oci_parse_manifest(buf, size, size & 1 ? OCI_MT_MANIFEST : NULL,
	    &m, err, sizeof(err)) == 0) {
		if (m.nlayers < 1 || m.nlayers > OCI_LAYERS_MAX)
			abort();
		for (i = 0; i < m.nlayers; i++) {
			if (!oci_digest_ok(m.layers[i].digest) ||
			    m.layers[i].size > OCI_BLOB_MAX)
				abort();
			printable(m.layers[i].title, sizeof(m.layers[i].title));
		}
		printable(m.media_type, sizeof(m.media_type));
	} else
		printable(err, sizeof(err));
	/* The challenge parser takes a C string. */
	buf[size] = '\0';
	if (oci_parse_bearer(buf, &c) == 0) {
		printable(c.realm, sizeof(c.realm));
		printable(c.scope, sizeof(c.scope));
		if (strncmp(c.realm, "http", 4) != 0)
			abort();
	}
	free(buf);
	return 0;
}
