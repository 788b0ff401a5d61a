/*
 * What pyro reads from an OCI registry (issue 18: environments as OCI
 * artifacts, custom environments from container images): image manifests
 * and indexes (OCI and Docker v2), their descriptors, digests, and the
 * bearer-token challenge of a registry's 401.  A registry is untrusted:
 * every field is checked and bounded here, before a byte of a blob is
 * fetched, and anything this code does not know is refused by name.
 */
#ifndef PYRO_OCI_H
#define PYRO_OCI_H

#include <stddef.h>

#define OCI_MANIFEST_MAX	(4 * 1024 * 1024)	/* bytes of JSON */
#define OCI_LAYERS_MAX		128
#define OCI_BLOB_MAX		(64ULL << 30)		/* 64 GiB */

#define OCI_MT_MANIFEST		"application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_INDEX		"application/vnd.oci.image.index.v1+json"
#define OCI_MT_DOCKER_MANIFEST	\
	"application/vnd.docker.distribution.manifest.v2+json"
#define OCI_MT_DOCKER_LIST	\
	"application/vnd.docker.distribution.manifest.list.v2+json"
/* pyro's own artifacts: one layer per part of an environment. */
#define OCI_ARTIFACT_PYRO	"application/vnd.pyro.environment.v1"
#define OCI_MT_PYRO_CONFIG	"application/vnd.pyro.environment.config.v1+json"
#define OCI_MT_PYRO_PART	"application/vnd.pyro.environment.part.v1"

enum oci_kind {
	OCI_KIND_MANIFEST = 1,
	OCI_KIND_INDEX
};

/* How a layer's bytes are packed. */
enum oci_layer {
	OCI_LAYER_TAR = 1,
	OCI_LAYER_TAR_GZIP,
	OCI_LAYER_TAR_ZSTD,
	OCI_LAYER_PART,		/* a pyro part, raw */
	OCI_LAYER_PART_GZIP,
	OCI_LAYER_PART_ZSTD
};

struct oci_desc {
	char			media_type[128];
	char			digest[72];	/* "sha256:" + 64 hex */
	unsigned long long	size;
	char			title[128];	/* org.opencontainers.image.title */
	char			os[16];		/* index entries: platform */
	char			arch[16];
	int			layer;		/* enum oci_layer; 0: config or
						   index entry */
};

struct oci_manifest {
	enum oci_kind		kind;
	char			media_type[128];
	char			artifact_type[128];
	struct oci_desc		config;		/* manifests */
	struct oci_desc		layers[OCI_LAYERS_MAX];	/* or index entries */
	int			nlayers;
	/* pyro's annotations: the catalog version and agent of a part set. */
	char			catalog_version[32];
	char			agent_sha256[65];
};

/* "sha256:" and 64 lower-case hex digits. */
int	oci_digest_ok(const char *);
/*
 * A manifest or index, len bytes of JSON, as the registry's Content-Type
 * (may be NULL) says and its own mediaType agrees: 0, or -1 with why in
 * err (printable, bounded).
 */
int	oci_parse_manifest(const char *buf, size_t len, const char *ctype,
	    struct oci_manifest *, char *err, size_t errsz);
/* The entry of an index for os/arch: its position, or -1. */
int	oci_index_pick(const struct oci_manifest *, const char *os,
	    const char *arch);

/* A 401's `WWW-Authenticate: Bearer realm="...",service="...",scope=...`. */
struct oci_challenge {
	char	realm[512];	/* an http(s) URL */
	char	service[256];
	char	scope[256];
};
int	oci_parse_bearer(const char *header, struct oci_challenge *);

/* The layer of m titled t (org.opencontainers.image.title), or NULL. */
const struct oci_desc	*oci_layer_titled(const struct oci_manifest *m,
			    const char *t);
/* The parts of a pyro environment, each a layer titled with its name. */
extern const char *const oci_env_parts[];
/*
 * An environment's manifest.json (len bytes) from a registry, against the
 * OCI manifest m it came with: name's, only short printable strings, known
 * VMMs, m's agent annotation, each part once with a size and sha256, and
 * each part's blob no larger than the part packs to (raw: its size).
 * *need: bytes of blobs and parts.  0, or -1 with why in err.
 */
int	oci_env_manifest_check(const char *buf, size_t len, const char *name,
	    const struct oci_manifest *m, unsigned long long *need, char *err,
	    size_t errsz);
/*
 * A container layer's entry name as the tree holds it: "./" and empty
 * components dropped; -1 for an absolute name, "..", or one longer than
 * size; 1 for the root itself; else 0.
 */
int	oci_layer_name(const char *in, char *out, size_t size);

#endif
