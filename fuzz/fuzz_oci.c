/*
 * What pyro reads from a registry (common/oci.c): manifests and indexes,
 * with or without a Content-Type, a 401's bearer challenge, an
 * environment's manifest.json (against a fixed artifact), and a container
 * layer's entry names.  A registry and an image are untrusted; whatever
 * they send, what comes out is bounded, printable and consistent, and no
 * name that leaves the tree survives.
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

/* A pyro artifact of three packed parts and a raw manifest.json. */
static const char artifact[] = "{\"schemaVersion\":2,\"mediaType\":"
    "\"application/vnd.oci.image.manifest.v1+json\",\"artifactType\":"
    "\"application/vnd.pyro.environment.v1\",\"config\":{\"mediaType\":"
    "\"application/vnd.pyro.environment.config.v1+json\",\"digest\":\"sha256:"
    "0000000000000000000000000000000000000000000000000000000000000000\","
    "\"size\":2},\"layers\":["
#define L(t, mt, sz) "{\"mediaType\":\"" mt "\",\"digest\":\"sha256:" \
    "1111111111111111111111111111111111111111111111111111111111111111\"," \
    "\"size\":" sz ",\"annotations\":{\"org.opencontainers.image.title\":" \
    "\"" t "\"}}"
    L("manifest.json", "application/vnd.pyro.environment.part.v1", "600") ","
    L("vmlinux", "application/vnd.pyro.environment.part.v1+zstd", "1000") ","
    L("initramfs.cpio", "application/vnd.pyro.environment.part.v1+zstd", "1000")
    "," L("rootfs.ext4", "application/vnd.pyro.environment.part.v1+zstd",
    "1000") "],\"annotations\":{\"dev.pyro.agent.sha256\":\"ab\"}}";
#undef L

static void
layer_name(const char *in)
{
	char	out[4096];
	size_t	n;

	if (oci_layer_name(in, out, sizeof(out)) != 0)
		return;
	n = strlen(out);
	if (n == 0 || out[0] == '/' || out[n - 1] == '/' ||
	    strstr(out, "//") != NULL || strcmp(out, "..") == 0 ||
	    strncmp(out, "../", 3) == 0 || strstr(out, "/../") != NULL ||
	    (n >= 3 && strcmp(out + n - 3, "/..") == 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct oci_manifest	art;
	static int			have_art;
	unsigned long long		need;
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
	if (!have_art) {
		if (oci_parse_manifest(artifact, sizeof(artifact) - 1, NULL,
		    &art, err, sizeof(err)) < 0)
			abort();
		have_art = 1;
	}
	if (oci_env_manifest_check(buf, size, "debian:12", &art, &need, err,
	    sizeof(err)) == 0) {
		if (need > 6 * OCI_BLOB_MAX)
			abort();
	} else
		printable(err, sizeof(err));
	/* The challenge parser and layer names take a C string. */
	buf[size] = '\0';
	layer_name(buf);
	if (oci_parse_bearer(buf, &c) == 0) {
		printable(c.realm, sizeof(c.realm));
		printable(c.scope, sizeof(c.scope));
		if (strncmp(c.realm, "http", 4) != 0)
			abort();
	}
	free(buf);
	return 0;
}
