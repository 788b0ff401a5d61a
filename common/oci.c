/*
 * OCI manifests, indexes and registry challenges, read strictly (oci.h).
 * cJSON parses the bounded JSON; every string is copied only if it fits
 * and is printable ASCII, every size is a whole number within
 * OCI_BLOB_MAX, every digest sha256 in lower-case hex, and every media
 * type one this code knows what to do with.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "oci.h"

static int
fail(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Why, with what the registry sent made printable. */
static int
fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list	ap;
	size_t	i;

	if (errsz == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	for (i = 0; err[i] != '\0'; i++)
		if (err[i] < 0x20 || err[i] > 0x7e)
			err[i] = '?';
	return -1;
}

/* Printable ASCII that fits in size with its NUL. */
static int
copy_str(char *dst, size_t size, const cJSON *v)
{
	const char	*s = cJSON_GetStringValue(v);
	size_t		 n, i;

	if (s == NULL || (n = strlen(s)) >= size)
		return -1;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return -1;
	memcpy(dst, s, n + 1);
	return 0;
}

int
oci_digest_ok(const char *d)
{
	size_t	i;

	if (d == NULL || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
		return 0;
	for (i = 7; i < 71; i++)
		if (!isdigit((unsigned char)d[i]) && (d[i] < 'a' || d[i] > 'f'))
			return 0;
	return 1;
}

static int
layer_kind(const char *mt)
{
	static const struct {
		const char	*mt;
		int		 kind;
	} known[] = {
		{ "application/vnd.oci.image.layer.v1.tar", OCI_LAYER_TAR },
		{ "application/vnd.oci.image.layer.v1.tar+gzip",
		    OCI_LAYER_TAR_GZIP },
		{ "application/vnd.oci.image.layer.v1.tar+zstd",
		    OCI_LAYER_TAR_ZSTD },
		{ "application/vnd.docker.image.rootfs.diff.tar.gzip",
		    OCI_LAYER_TAR_GZIP },
		{ OCI_MT_PYRO_PART, OCI_LAYER_PART },
		{ OCI_MT_PYRO_PART "+gzip", OCI_LAYER_PART_GZIP },
		{ OCI_MT_PYRO_PART "+zstd", OCI_LAYER_PART_ZSTD },
	};
	size_t	i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(mt, known[i].mt) == 0)
			return known[i].kind;
	return 0;
}

static int
config_known(const char *mt)
{
	return strcmp(mt, "application/vnd.oci.image.config.v1+json") == 0 ||
	    strcmp(mt, "application/vnd.docker.container.image.v1+json") == 0 ||
	    strcmp(mt, "application/vnd.oci.empty.v1+json") == 0 ||
	    strcmp(mt, OCI_MT_PYRO_CONFIG) == 0;
}

static int
manifest_known(const char *mt)
{
	return strcmp(mt, OCI_MT_MANIFEST) == 0 ||
	    strcmp(mt, OCI_MT_DOCKER_MANIFEST) == 0;
}

/* One descriptor; the caller checks its media type's role. */
static int
desc(const cJSON *o, struct oci_desc *d, char *err, size_t errsz)
{
	const cJSON	*size, *ann, *plat;
	double		 v;

	memset(d, 0, sizeof(*d));
	if (!cJSON_IsObject(o))
		return fail(err, errsz, "a descriptor is not an object");
	if (copy_str(d->media_type, sizeof(d->media_type),
	    cJSON_GetObjectItemCaseSensitive(o, "mediaType")) < 0)
		return fail(err, errsz, "a descriptor has no usable "
		    "mediaType");
	if (copy_str(d->digest, sizeof(d->digest),
	    cJSON_GetObjectItemCaseSensitive(o, "digest")) < 0 ||
	    !oci_digest_ok(d->digest))
		return fail(err, errsz, "a descriptor's digest is not "
		    "sha256:<64 hex> (%.80s)", cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(o, "digest")) ?: "none");
	size = cJSON_GetObjectItemCaseSensitive(o, "size");
	if (!cJSON_IsNumber(size) || (v = size->valuedouble) < 0 ||
	    v > (double)OCI_BLOB_MAX || v != (double)(unsigned long long)v)
		return fail(err, errsz, "blob %s has an absurd size",
		    d->digest);
	d->size = (unsigned long long)v;
	/* Blobs from elsewhere than the registry are not fetched. */
	if (cJSON_GetObjectItemCaseSensitive(o, "urls") != NULL)
		return fail(err, errsz, "blob %s names foreign URLs",
		    d->digest);
	ann = cJSON_GetObjectItemCaseSensitive(o, "annotations");
	if (ann != NULL && cJSON_GetObjectItemCaseSensitive(ann,
	    "org.opencontainers.image.title") != NULL &&
	    copy_str(d->title, sizeof(d->title),
	    cJSON_GetObjectItemCaseSensitive(ann,
	    "org.opencontainers.image.title")) < 0)
		return fail(err, errsz, "blob %s has an unusable title",
		    d->digest);
	plat = cJSON_GetObjectItemCaseSensitive(o, "platform");
	if (plat != NULL && (copy_str(d->os, sizeof(d->os),
	    cJSON_GetObjectItemCaseSensitive(plat, "os")) < 0 ||
	    copy_str(d->arch, sizeof(d->arch),
	    cJSON_GetObjectItemCaseSensitive(plat, "architecture")) < 0))
		return fail(err, errsz, "manifest %s has an unusable "
		    "platform", d->digest);
	return 0;
}

int
oci_parse_manifest(const char *buf, size_t len, const char *ctype,
    struct oci_manifest *m, char *err, size_t errsz)
{
	const cJSON	*sv, *mt, *arr, *it, *ann;
	cJSON		*doc;
	int		 rc = -1, n;

	memset(m, 0, sizeof(*m));
	if (len > OCI_MANIFEST_MAX)
		return fail(err, errsz, "a manifest over 4 MiB");
	if ((doc = cJSON_ParseWithLength(buf, len)) == NULL ||
	    !cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return fail(err, errsz, "the manifest is not JSON");
	}
	sv = cJSON_GetObjectItemCaseSensitive(doc, "schemaVersion");
	if (!cJSON_IsNumber(sv) || sv->valuedouble != 2) {
		fail(err, errsz, "schemaVersion is not 2");
		goto out;
	}
	/* Its own mediaType, else the registry's Content-Type. */
	mt = cJSON_GetObjectItemCaseSensitive(doc, "mediaType");
	if (mt != NULL && copy_str(m->media_type, sizeof(m->media_type),
	    mt) < 0) {
		fail(err, errsz, "an unusable mediaType");
		goto out;
	}
	if (mt == NULL && ctype != NULL) {
		size_t k = strcspn(ctype, "; ");

		if (k >= sizeof(m->media_type)) {
			fail(err, errsz, "an unusable Content-Type");
			goto out;
		}
		memcpy(m->media_type, ctype, k);
		m->media_type[k] = '\0';
	}
	if (ctype != NULL && mt != NULL && strncmp(ctype, m->media_type,
	    strlen(m->media_type)) != 0) {
		fail(err, errsz, "the manifest's mediaType and the registry's "
		    "Content-Type differ (%.80s)", ctype);
		goto out;
	}
	if (strcmp(m->media_type, OCI_MT_INDEX) == 0 ||
	    strcmp(m->media_type, OCI_MT_DOCKER_LIST) == 0) {
		m->kind = OCI_KIND_INDEX;
		arr = cJSON_GetObjectItemCaseSensitive(doc, "manifests");
	} else if (manifest_known(m->media_type) || (m->media_type[0] ==
	    '\0' && cJSON_GetObjectItemCaseSensitive(doc, "layers") != NULL)) {
		m->kind = OCI_KIND_MANIFEST;
		arr = cJSON_GetObjectItemCaseSensitive(doc, "layers");
	} else {
		fail(err, errsz, "an unknown manifest media type (%.80s)",
		    m->media_type[0] ? m->media_type : "none");
		goto out;
	}
	if (!cJSON_IsArray(arr) || (n = cJSON_GetArraySize(arr)) == 0 ||
	    n > OCI_LAYERS_MAX) {
		fail(err, errsz, "no layers, or more than 128");
		goto out;
	}
	cJSON_ArrayForEach(it, arr) {
		struct oci_desc *d = &m->layers[m->nlayers];

		if (desc(it, d, err, errsz) < 0)
			goto out;
		if (m->kind == OCI_KIND_INDEX ? !manifest_known(d->media_type) &&
		    strcmp(d->media_type, OCI_MT_INDEX) != 0 :
		    (d->layer = layer_kind(d->media_type)) == 0) {
			fail(err, errsz, "an unknown or foreign layer media "
			    "type (%.80s)", d->media_type);
			goto out;
		}
		m->nlayers++;
	}
	if (m->kind == OCI_KIND_MANIFEST) {
		if (desc(cJSON_GetObjectItemCaseSensitive(doc, "config"),
		    &m->config, err, errsz) < 0)
			goto out;
		if (!config_known(m->config.media_type)) {
			fail(err, errsz, "an unknown config media type (%.80s)",
			    m->config.media_type);
			goto out;
		}
		if (cJSON_GetObjectItemCaseSensitive(doc, "artifactType") !=
		    NULL && copy_str(m->artifact_type,
		    sizeof(m->artifact_type), cJSON_GetObjectItemCaseSensitive(
		    doc, "artifactType")) < 0) {
			fail(err, errsz, "an unusable artifactType");
			goto out;
		}
		ann = cJSON_GetObjectItemCaseSensitive(doc, "annotations");
		if (ann != NULL && ((cJSON_GetObjectItemCaseSensitive(ann,
		    "dev.pyro.catalog.version") != NULL &&
		    copy_str(m->catalog_version, sizeof(m->catalog_version),
		    cJSON_GetObjectItemCaseSensitive(ann,
		    "dev.pyro.catalog.version")) < 0) ||
		    (cJSON_GetObjectItemCaseSensitive(ann,
		    "dev.pyro.agent.sha256") != NULL &&
		    copy_str(m->agent_sha256, sizeof(m->agent_sha256),
		    cJSON_GetObjectItemCaseSensitive(ann,
		    "dev.pyro.agent.sha256")) < 0))) {
			fail(err, errsz, "unusable pyro annotations");
			goto out;
		}
	}
	rc = 0;
out:
	cJSON_Delete(doc);
	return rc;
}

int
oci_index_pick(const struct oci_manifest *m, const char *os, const char *arch)
{
	int	i;

	if (m->kind != OCI_KIND_INDEX)
		return -1;
	for (i = 0; i < m->nlayers; i++)
		if (strcmp(m->layers[i].os, os) == 0 &&
		    strcmp(m->layers[i].arch, arch) == 0)
			return i;
	return -1;
}

/*
 * One `key="value"` (or key=token) pair at *p: the value into out (size
 * bytes), *p past it and its comma.  0, or -1 when malformed or too long.
 */
static int
auth_param(const char **p, char *key, size_t ksz, char *out, size_t size)
{
	const char	*s = *p;
	size_t		 k = 0, n = 0;

	while (*s == ' ' || *s == ',')
		s++;
	while (isalnum((unsigned char)*s) || *s == '_' || *s == '-') {
		if (k + 1 >= ksz)
			return -1;
		key[k++] = *s++;
	}
	key[k] = '\0';
	if (k == 0 || *s++ != '=')
		return -1;
	if (*s == '"') {
		for (s++; *s != '"'; s++) {
			if (*s == '\\' && s[1] != '\0')
				s++;	/* a quoted-pair: the next character */
			if (*s == '\0' || (unsigned char)*s < 0x20 ||
			    (unsigned char)*s > 0x7e || n + 1 >= size)
				return -1;
			out[n++] = *s;
		}
		s++;
	} else
		while (*s != '\0' && *s != ',' && *s != ' ') {
			if ((unsigned char)*s <= 0x20 ||
			    (unsigned char)*s > 0x7e || n + 1 >= size)
				return -1;
			out[n++] = *s++;
		}
	out[n] = '\0';
	*p = s;
	return 0;
}

int
oci_parse_bearer(const char *h, struct oci_challenge *c)
{
	char	key[32], val[512];

	memset(c, 0, sizeof(*c));
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return -1;
	h += 7;
	while (*h != '\0') {
		if (auth_param(&h, key, sizeof(key), val, sizeof(val)) < 0)
			return -1;
		if (strcmp(key, "realm") == 0)
			snprintf(c->realm, sizeof(c->realm), "%s", val);
		else if (strcmp(key, "service") == 0 &&
		    strlen(val) < sizeof(c->service))
			memcpy(c->service, val, strlen(val) + 1);
		else if (strcmp(key, "scope") == 0 &&
		    strlen(val) < sizeof(c->scope))
			memcpy(c->scope, val, strlen(val) + 1);
		while (*h == ' ')
			h++;
	}
	/* The token comes from an http(s) URL, nothing else. */
	if (strncmp(c->realm, "https://", 8) != 0 &&
	    strncmp(c->realm, "http://", 7) != 0)
		return -1;
	return 0;
}

const char *const oci_env_parts[] = { "vmlinux", "initramfs.cpio",
    "rootfs.ext4", NULL };

/* A short printable string, as anything shown to a user must be. */
static int
short_printable(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e ||
		    i >= 256)
			return 0;
	return 1;
}

const struct oci_desc *
oci_layer_titled(const struct oci_manifest *m, const char *t)
{
	int	i;

	for (i = 0; i < m->nlayers; i++)
		if (strcmp(m->layers[i].title, t) == 0)
			return &m->layers[i];
	return NULL;
}

int
oci_env_manifest_check(const char *buf, size_t len, const char *name,
    const struct oci_manifest *m, unsigned long long *need, char *err,
    size_t errsz)
{
	const struct oci_desc	*d;
	const cJSON		*it, *p, *sz, *sum;
	cJSON			*em;
	double			 v;
	int			 i, rc = -1;

	*need = 0;
	em = cJSON_ParseWithLength(buf, len);
	if (!cJSON_IsObject(em) || strcmp(cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(em, "name")) ?: "", name) != 0) {
		fail(err, errsz, "not a manifest of this environment");
		goto out;
	}
	/* Only short printable strings: pyro env inspect prints them. */
	cJSON_ArrayForEach(it, em) {
		if (cJSON_IsString(it) ? !short_printable(it->valuestring) :
		    cJSON_IsArray(it) ? strcmp(it->string, "vmms") != 0 :
		    cJSON_IsObject(it) ? strcmp(it->string, "parts") != 0 :
		    !cJSON_IsNumber(it) && !cJSON_IsBool(it)) {
			fail(err, errsz, "a field pyro does not accept");
			goto out;
		}
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(em, "vmms"))
		if (!cJSON_IsString(it) || (strcmp(it->valuestring, "qemu") !=
		    0 && strcmp(it->valuestring, "firecracker") != 0)) {
			fail(err, errsz, "an unknown VMM");
			goto out;
		}
	if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(em,
	    "agent_sha256")) ?: "", m->agent_sha256) != 0) {
		fail(err, errsz, "another agent than the registry's annotation");
		goto out;
	}
	p = cJSON_GetObjectItemCaseSensitive(em, "parts");
	if (cJSON_GetArraySize(p) != 3)
		goto parts;
	for (i = 0; oci_env_parts[i] != NULL; i++) {
		it = cJSON_GetObjectItemCaseSensitive(p, oci_env_parts[i]);
		sz = cJSON_GetObjectItemCaseSensitive(it, "size");
		sum = cJSON_GetObjectItemCaseSensitive(it, "sha256");
		if ((d = oci_layer_titled(m, oci_env_parts[i])) == NULL ||
		    !cJSON_IsNumber(sz) || (v = sz->valuedouble) < 0 ||
		    v > (double)OCI_BLOB_MAX || !cJSON_IsString(sum) ||
		    strlen(sum->valuestring) != 64 ||
		    !short_printable(sum->valuestring))
			goto parts;
		/* A raw part is its blob; a packed one is no larger than
		 * its part can pack to. */
		if (d->layer == OCI_LAYER_PART ? (double)d->size != v :
		    (double)d->size > v + v / 64 + (1 << 20))
			goto parts;
		*need += d->size + (unsigned long long)v;
	}
	rc = 0;
	goto out;
parts:
	fail(err, errsz, "its parts and the registry's layers do not agree "
	    "(each part once, a blob no larger than its part)");
out:
	cJSON_Delete(em);
	return rc;
}

int
oci_layer_name(const char *in, char *out, size_t size)
{
	const char	*p, *seg;
	size_t		 n = 0, k;

	if (in == NULL || in[0] == '/' || size == 0)
		return -1;
	for (seg = in; *seg != '\0'; seg = p + (*p == '/')) {
		p = seg + strcspn(seg, "/");
		k = (size_t)(p - seg);
		if (k == 0 || (k == 1 && seg[0] == '.'))
			continue;
		if (k == 2 && seg[0] == '.' && seg[1] == '.')
			return -1;
		if (n + k + 2 > size)
			return -1;
		if (n > 0)
			out[n++] = '/';
		memcpy(out + n, seg, k);
		n += k;
	}
	out[n] = '\0';
	return n == 0 ? 1 : 0;
}
