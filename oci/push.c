/*
 * pyro env push: an installed environment as one OCI artifact.
 *
 *	config	 application/vnd.pyro.environment.config.v1+json
 *	layers	 manifest.json (raw), vmlinux, initramfs.cpio, rootfs.ext4
 *		 (zstd), each titled with its file name
 *	manifest artifactType application/vnd.pyro.environment.v1,
 *		 annotations dev.pyro.catalog.version, dev.pyro.agent.sha256
 *
 * Every blob: HEAD first (present: not sent again), else POST an upload,
 * PATCH it in 16 MiB chunks following each Location, PUT ?digest=.  The
 * manifest goes last, so a pull never sees a tag whose blobs are missing.
 * Packing is deterministic (same part, same blob), which is what makes a
 * second push of an unchanged environment send nothing.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "procs.h"
#include "ocitool.h"

#define CHUNK_UP	(16ULL << 20)

struct blob {
	const char		*title;
	const char		*media_type;
	int			 fd;		/* its bytes: a file */
	const char		*buf;		/* or a buffer */
	char			 digest[72];
	unsigned long long	 size;
};

struct pushstat {
	int			 sent, present;
	unsigned long long	 bytes;
};

/* Send one blob unless the registry has it. */
static int
upload(struct reg *r, const struct blob *b, struct pushstat *ps,
    struct oerr *e)
{
	struct hresp		 h;
	struct hsrc		 src = { .fd = b->fd };
	char			 path[200], loc[2100], range[80], *u;
	const char		*hdr[] = { "Content-Type: application/octet-stream",
				    range, NULL };
	unsigned long long	 off, n;

	snprintf(path, sizeof(path), "blobs/%s", b->digest);
	if (reg_do(r, "HEAD", path, NULL, NULL, NULL, 0, &h, e) < 0)
		return -1;
	if (h.status == 200) {
		progress("[push] phase=upload layer=%s present=true\n",
		    b->title);
		ps->present++;
		return 0;
	}
	if (reg_do(r, "POST", "blobs/uploads/", NULL, NULL, NULL, 0, &h,
	    e) < 0 || reg_status(r, &h, "an upload", NULL, e) < 0)
		return -1;
	for (off = 0; ; off += n) {
		if (h.location[0] == '\0')
			return oerr_set(e, OE_UNAVAILABLE, "the registry's "
			    "upload answer has no Location");
		snprintf(loc, sizeof(loc), "%s", h.location);
		if (off == b->size)
			break;
		n = b->size - off < CHUNK_UP ? b->size - off : CHUNK_UP;
		src.off = (off_t)off;
		src.buf = b->buf != NULL ? b->buf + off : NULL;
		src.len = n;
		snprintf(range, sizeof(range), "Content-Range: %llu-%llu", off,
		    off + n - 1);
		if (reg_do(r, "PATCH", loc, hdr, &src, NULL, 0, &h, e) < 0 ||
		    reg_status(r, &h, "a chunk", NULL, e) < 0)
			return -1;
		progress("[push] phase=upload layer=%s bytes=%llu/%llu\n",
		    b->title, off + n, b->size);
		ps->bytes += n;
	}
	if ((u = malloc(strlen(loc) + 90)) == NULL)
		return oerr_set(e, PYRO_ERR_INTERNAL, "out of memory");
	snprintf(u, strlen(loc) + 90, "%s%sdigest=%s", loc, strchr(loc, '?') ?
	    "&" : "?", b->digest);
	/* sha256:HEX needs no escaping in a query. */
	if (reg_do(r, "PUT", u, NULL, NULL, NULL, 0, &h, e) < 0 ||
	    reg_status(r, &h, "a finished upload", NULL, e) < 0) {
		free(u);
		return -1;
	}
	free(u);
	ps->sent++;
	return 0;
}

/* Hash (raw) or pack (zstd) part f of envfd into a blob. */
static int
prepare(int envfd, int dfd, struct blob *b, int raw, struct oerr *e)
{
	struct sha256_ctx	 sha;
	char			 hex[65], tmp[200];
	int			 in;

	if ((in = openat(envfd, b->title, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return oerr_set(e, PYRO_ERR_ENVIRONMENT_CORRUPT, "%s: %s", b->title,
		    strerror(errno));
	if (raw) {
		sha256_init(&sha);
		if (file_sha256_fd(in, &sha, &b->size) < 0) {
			close(in);
			return oerr_set(e, PYRO_ERR_IO, "reading %s: %s",
			    b->title, strerror(errno));
		}
		sha_hex(&sha, hex);
		snprintf(b->digest, sizeof(b->digest), "sha256:%s", hex);
		b->fd = in;
		return 0;
	}
	progress("[push] phase=pack layer=%s compression=zstd\n", b->title);
	snprintf(tmp, sizeof(tmp), "%s.zst", b->title);
	if ((b->fd = openat(dfd, tmp, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0) {
		close(in);
		return oerr_set(e, PYRO_ERR_IO, "create %s: %s", tmp,
		    strerror(errno));
	}
	if (blob_pack(in, b->fd, b->digest, &b->size, e) < 0) {
		close(in);
		return -1;
	}
	close(in);
	return 0;
}

static cJSON *
descriptor(const char *mt, const char *digest, unsigned long long size,
    const char *title)
{
	cJSON	*d = cJSON_CreateObject(), *a;

	cJSON_AddStringToObject(d, "mediaType", mt);
	cJSON_AddStringToObject(d, "digest", digest);
	cJSON_AddNumberToObject(d, "size", (double)size);
	if (title != NULL) {
		a = cJSON_AddObjectToObject(d, "annotations");
		cJSON_AddStringToObject(a, "org.opencontainers.image.title",
		    title);
	}
	return d;
}

/* The environment's manifest, checked to be name's. */
static cJSON *
env_manifest(int envfd, const char *name, struct oerr *e)
{
	char	*b;
	cJSON	*m;

	if ((b = read_small_at(envfd, "manifest.json", 65536, NULL)) == NULL) {
		oerr_set(e, PYRO_ERR_ENVIRONMENT_NOT_INSTALLED, "environment %s is "
		    "not installed; pyro env pull %s", name, name);
		return NULL;
	}
	m = cJSON_Parse(b);
	free(b);
	if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(m, "name")) ?: "",
	    name) != 0) {
		cJSON_Delete(m);
		oerr_set(e, PYRO_ERR_ENVIRONMENT_CORRUPT, "the manifest of %s names "
		    "another environment", name);
		return NULL;
	}
	return m;
}

static const char *
jget(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(o, k)) ?: "";
}

/* The config blob: what the environment is, in a fixed order. */
static char *
config_json(const cJSON *em)
{
	cJSON	*c = cJSON_CreateObject();
	char	*s;

	cJSON_AddStringToObject(c, "name", jget(em, "name"));
	cJSON_AddStringToObject(c, "version", jget(em, "version"));
	cJSON_AddStringToObject(c, "kernel_version", jget(em,
	    "kernel_version"));
	cJSON_AddStringToObject(c, "agent_sha256", jget(em, "agent_sha256"));
	cJSON_AddStringToObject(c, "created_at", jget(em, "created_at"));
	s = cJSON_PrintUnformatted(c);
	cJSON_Delete(c);
	return s;
}

static char *
manifest_json(const cJSON *em, const struct blob *cfg, const struct blob *b,
    int nb)
{
	cJSON	*m = cJSON_CreateObject(), *l, *a;
	char	*s;
	int	 i;

	cJSON_AddNumberToObject(m, "schemaVersion", 2);
	cJSON_AddStringToObject(m, "mediaType", OCI_MT_MANIFEST);
	cJSON_AddStringToObject(m, "artifactType", OCI_ARTIFACT_PYRO);
	cJSON_AddItemToObject(m, "config", descriptor(cfg->media_type,
	    cfg->digest, cfg->size, NULL));
	l = cJSON_AddArrayToObject(m, "layers");
	for (i = 0; i < nb; i++)
		cJSON_AddItemToArray(l, descriptor(b[i].media_type,
		    b[i].digest, b[i].size, b[i].title));
	a = cJSON_AddObjectToObject(m, "annotations");
	cJSON_AddStringToObject(a, "dev.pyro.catalog.version", jget(em,
	    "version"));
	cJSON_AddStringToObject(a, "dev.pyro.agent.sha256", jget(em,
	    "agent_sha256"));
	cJSON_AddStringToObject(a, "org.opencontainers.image.created",
	    jget(em, "created_at"));
	s = cJSON_PrintUnformatted(m);
	cJSON_Delete(m);
	return s;
}

static int
put_manifest(struct reg *r, const char *body, char digest[72],
    struct oerr *e)
{
	static const char *const hdr[] = {
		"Content-Type: " OCI_MT_MANIFEST, NULL };
	struct sha256_ctx	 sha;
	struct hsrc		 src = { .buf = body, .fd = -1,
				    .len = strlen(body) };
	struct hresp		 h;
	char			 path[200], hex[65];

	sha256_init(&sha);
	sha256_update(&sha, strlen(body), (const uint8_t *)body);
	sha_hex(&sha, hex);
	snprintf(digest, 72, "sha256:%s", hex);
	snprintf(path, sizeof(path), "manifests/%s", r->tag);
	if (reg_do(r, "PUT", path, hdr, &src, NULL, 0, &h, e) < 0 ||
	    reg_status(r, &h, "the manifest", NULL, e) < 0)
		return -1;
	return 0;
}

cJSON *
cmd_push(const char *url, const char *name, const char *cache,
    struct oerr *e)
{
	struct reg	 r;
	struct blob	 b[4], cfg = { .title = "config",
			    .media_type = OCI_MT_PYRO_CONFIG, .fd = -1 };
	struct pushstat	 ps = { 0, 0, 0 };
	struct sha256_ctx sha;
	char		 stage[300], digest[72], hex[65], *cj = NULL;
	char		*mj = NULL;
	cJSON		*em = NULL, *res = NULL;
	int		 cachefd = -1, envfd = -1, dfd = -1, i, nb = 0;

	memset(b, 0, sizeof(b));
	for (i = 0; i < 4; i++)
		b[i].fd = -1;
	if (reg_open(&r, url, name, 1, e) < 0)
		goto out;
	if ((cachefd = open(cache, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (envfd = openat(cachefd, name, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) < 0) {
		oerr_set(e, PYRO_ERR_ENVIRONMENT_NOT_INSTALLED, "environment %s is "
		    "not installed in %.200s", name, cache);
		goto out;
	}
	if ((em = env_manifest(envfd, name, e)) == NULL)
		goto out;
	progress("[push] phase=resolve environment=%s registry=%s "
	    "repository=%s tag=%s\n", name, r.base, r.repo, r.tag);
	if (reg_login(&r, e) < 0 || (dfd = staging_open(cachefd, "push", name,
	    stage, sizeof(stage), e)) < 0)
		goto out;
	b[nb].title = "manifest.json";
	b[nb].media_type = OCI_MT_PYRO_PART;
	if (prepare(envfd, dfd, &b[nb++], 1, e) < 0)
		goto out;
	for (i = 0; oci_env_parts[i] != NULL; i++) {
		b[nb].title = oci_env_parts[i];
		b[nb].media_type = OCI_MT_PYRO_PART "+zstd";
		if (prepare(envfd, dfd, &b[nb++], 0, e) < 0)
			goto out;
	}
	if ((cj = config_json(em)) == NULL) {
		oerr_set(e, PYRO_ERR_INTERNAL, "out of memory");
		goto out;
	}
	sha256_init(&sha);
	sha256_update(&sha, strlen(cj), (const uint8_t *)cj);
	sha_hex(&sha, hex);
	snprintf(cfg.digest, sizeof(cfg.digest), "sha256:%s", hex);
	cfg.size = strlen(cj);
	for (i = 0; i < nb; i++)
		if (upload(&r, &b[i], &ps, e) < 0)
			goto out;
	cfg.buf = cj;
	if (upload(&r, &cfg, &ps, e) < 0)
		goto out;
	if ((mj = manifest_json(em, &cfg, b, nb)) == NULL ||
	    put_manifest(&r, mj, digest, e) < 0)
		goto out;
	progress("[push] phase=done digest=%s blobs_sent=%d blobs_present=%d\n",
	    digest, ps.sent, ps.present);
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "environment", name);
	cJSON_AddStringToObject(res, "registry", r.base);
	cJSON_AddStringToObject(res, "repository", r.repo);
	cJSON_AddStringToObject(res, "tag", r.tag);
	cJSON_AddStringToObject(res, "manifest_digest", digest);
	cJSON_AddStringToObject(res, "compression", "zstd");
	cJSON_AddNumberToObject(res, "blobs_sent", ps.sent);
	cJSON_AddNumberToObject(res, "blobs_present", ps.present);
	cJSON_AddNumberToObject(res, "bytes_sent", (double)ps.bytes);
out:
	for (i = 0; i < nb; i++)
		if (b[i].fd >= 0)
			close(b[i].fd);
	if (dfd >= 0) {
		(void)pyro_rm_tree_at(cachefd, stage);
		close(dfd);
	}
	if (envfd >= 0)
		close(envfd);
	if (cachefd >= 0)
		close(cachefd);
	reg_close(&r);
	cJSON_Delete(em);
	free(cj);
	free(mj);
	return res;
}
