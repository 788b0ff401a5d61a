/*
 * pyro env pull from a registry.
 *
 *	GET /v2/REPO/manifests/TAG	(an index: the linux/amd64 entry)
 *	  checked: a pyro environment, parts named once each, this agent
 *	  up to date (source.json names the same manifest digest): done
 *	for each layer: GET /v2/REPO/blobs/DIGEST into
 *	  CACHE/.staging-pull-NAME/HEX.part, resumed with Range from what
 *	  a failed pull left, hashed while it arrives; HEX once it matches
 *	unpack each part into .staging-pull-NAME/env/, checked against the
 *	  environment's manifest.json (size while writing, sha256 after)
 *	rename env/ to CACHE/NAME (the old one aside first, then removed)
 *
 * Nothing is installed before every byte matched; a digest or manifest
 * error removes the staging directory; a transport failure keeps the
 * downloaded blobs so that the next pull resumes (env prune removes them).
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "procs.h"
#include "ocitool.h"


#define ENV_MANIFEST_MAX	(64 * 1024)

static const char *const accept_manifests[] = {
	"Accept: " OCI_MT_MANIFEST ", " OCI_MT_INDEX ", "
	    OCI_MT_DOCKER_MANIFEST ", " OCI_MT_DOCKER_LIST,
	NULL
};

char *
read_small_at(int dirfd, const char *name, size_t max, size_t *len)
{
	struct stat	 st;
	char		*b;
	ssize_t		 n;
	int		 fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (unsigned long long)st.st_size > max ||
	    (b = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	n = read(fd, b, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(b);
		return NULL;
	}
	b[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return b;
}

/* A directory of ours that nobody else can write in. */
static int
mine(int fd)
{
	struct stat	st;

	return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == geteuid() && (st.st_mode & 022) == 0;
}

int
staging_open(int cachefd, const char *what, const char *name, char *path,
    size_t size, struct oerr *e)
{
	struct stat	now, held;
	int		fd;

	snprintf(path, size, ".staging-%s-%s", what, name);
	if (mkdirat(cachefd, path, 0700) < 0 && errno != EEXIST)
		return oerr_set(e, PYRO_ERR_IO, "mkdir %s: %s", path,
		    strerror(errno));
	if ((fd = openat(cachefd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return oerr_set(e, PYRO_ERR_IO, "open %s: %s", path,
		    strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return oerr_set(e, PYRO_ERR_BUSY, "another %s of %s is running",
		    what, name);
	}
	/* Still the directory of that name (not one a finished pull or a
	 * prune removed while we waited), and ours alone. */
	if (fstatat(cachefd, path, &now, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fstat(fd, &held) < 0 || now.st_ino != held.st_ino ||
	    now.st_dev != held.st_dev || !mine(fd)) {
		close(fd);
		return oerr_set(e, PYRO_ERR_BUSY, "the staging directory of %s "
		    "changed under this %s; try again", name, what);
	}
	return fd;
}

/* Fetch a manifest by tag or digest into a malloc'd buffer. */
char *
get_manifest(struct reg *r, const char *ref, const char *what,
    struct oci_manifest *m, char digest[72], struct oerr *e)
{
	struct sha256_ctx	 sha;
	struct hresp		 h;
	struct hsink		 s = { .fd = -1, .max = OCI_MANIFEST_MAX,
				    .limit = OCI_MANIFEST_MAX, .sha = &sha };
	char			 path[300], hex[65], why[300];

	if ((s.buf = malloc(OCI_MANIFEST_MAX + 1)) == NULL) {
		oerr_set(e, PYRO_ERR_INTERNAL, "out of memory");
		return NULL;
	}
	sha256_init(&sha);
	snprintf(path, sizeof(path), "manifests/%s", ref);
	if (reg_do(r, "GET", path, accept_manifests, NULL, &s, 0, &h, e) < 0 ||
	    reg_status(r, &h, what, &s, e) < 0)
		goto fail;
	sha_hex(&sha, hex);
	snprintf(digest, 72, "sha256:%s", hex);
	if ((h.digest[0] != '\0' && strcmp(h.digest, digest) != 0) ||
	    (strncmp(ref, "sha256:", 7) == 0 && strcmp(ref, digest) != 0)) {
		oerr_set(e, OE_DIGEST, "the manifest of %s does not match its "
		    "digest", what);
		goto fail;
	}
	if (oci_parse_manifest(s.buf, s.len, h.ctype, m, why,
	    sizeof(why)) < 0) {
		oerr_set(e, OE_MANIFEST, "the manifest of %s: %s", what, why);
		goto fail;
	}
	return s.buf;
fail:
	free(s.buf);
	return NULL;
}

/* The blob of d into dfd/HEX, resuming HEX.part; 0 or -1. */
int
fetch_blob(struct reg *r, int dfd, const struct oci_desc *d,
    unsigned long long *fetched, struct oerr *e)
{
	struct sha256_ctx	 sha;
	struct hsink		 s = { .label = d->title, .total = d->size };
	struct hresp		 h;
	char			 part[80], hex[65], path[100];
	const char		*want = d->digest + 7;
	unsigned long long	 have;
	int			 fd, rc = -1, again;

	snprintf(part, sizeof(part), "%s.part", want);
	if ((fd = openat(dfd, want, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		sha256_init(&sha);	/* a blob an earlier pull finished */
		if (file_sha256_fd(fd, &sha, &have) == 0 && have == d->size &&
		    (sha_hex(&sha, hex), strcmp(hex, want) == 0)) {
			close(fd);
			return 0;
		}
		close(fd);
		unlinkat(dfd, want, 0);
	}
	if ((fd = openat(dfd, part, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) < 0)
		return oerr_set(e, PYRO_ERR_IO, "open %s: %s", part,
		    strerror(errno));
	for (again = 0; again < 2; again++) {
		sha256_init(&sha);
		if (lseek(fd, 0, SEEK_SET) < 0 ||
		    file_sha256_fd(fd, &sha, &have) < 0) {
			oerr_set(e, PYRO_ERR_IO, "reading %s: %s", part,
			    strerror(errno));
			goto out;
		}
		if (have > d->size || again > 0) {
			if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
				oerr_set(e, PYRO_ERR_IO, "truncating %s: %s",
				    part, strerror(errno));
				goto out;
			}
			sha256_init(&sha);
			have = 0;
		}
		if (have > 0)
			progress("[%s] phase=resume layer=%s bytes=%llu/%llu"
			    "\n", verb, d->title, have, d->size);
		if (have == d->size)
			break;
		s.fd = fd;
		s.sha = &sha;
		s.limit = d->size - have;
		s.base = have;
		s.next_report = 0;
		snprintf(path, sizeof(path), "blobs/%s", d->digest);
		if (reg_do(r, "GET", path, NULL, NULL, &s, have, &h, e) < 0) {
			if (s.norange)
				continue;
			goto out;
		}
		*fetched += s.got;
		if (reg_status(r, &h, d->title, &s, e) < 0)
			goto out;
		if (have > 0 && (h.status != 206 || strncmp(h.crange,
		    "bytes ", 6) != 0 || strtoull(h.crange + 6, NULL, 10) !=
		    have))
			continue;	/* not the range asked for: restart */
		have += s.got;
		break;
	}
	if (have != d->size) {
		oerr_set(e, OE_UNAVAILABLE, "the download of %s ended at "
		    "%llu of %llu bytes; pull again to resume", d->title, have,
		    d->size);
		goto out;
	}
	sha_hex(&sha, hex);
	if (strcmp(hex, want) != 0) {
		unlinkat(dfd, part, 0);
		oerr_set(e, OE_DIGEST, "%s: the registry sent a blob whose "
		    "sha256 is %.16s..., not %.16s... as the manifest says; "
		    "nothing was installed", d->title, hex, want);
		goto out;
	}
	if (fsync(fd) < 0 || renameat(dfd, part, dfd, want) < 0) {
		oerr_set(e, PYRO_ERR_IO, "keeping %s: %s", d->title,
		    strerror(errno));
		goto out;
	}
	progress("[%s] phase=verify layer=%s digest=%s\n", verb, d->title,
	    d->digest);
	rc = 0;
out:
	close(fd);
	return rc;
}

/* A pyro environment: its config or artifact type, each part once. */
static int
check_artifact(const struct oci_manifest *m, const char *what,
    const char *agent_sha, struct oerr *e)
{
	int	i, j, known;

	if (strcmp(m->artifact_type, OCI_ARTIFACT_PYRO) != 0 &&
	    strcmp(m->config.media_type, OCI_MT_PYRO_CONFIG) != 0)
		return oerr_set(e, OE_MANIFEST, "%s is not a pyro environment "
		    "(a container image? pyro env import NAME --image REF "
		    "makes an environment of one)", what);
	for (i = 0; i < m->nlayers; i++) {
		if (m->layers[i].layer < OCI_LAYER_PART)
			return oerr_set(e, OE_MANIFEST, "%s has a layer that "
			    "is not a pyro part (%.80s)", what,
			    m->layers[i].media_type);
		known = strcmp(m->layers[i].title, "manifest.json") == 0;
		for (j = 0; oci_env_parts[j] != NULL; j++)
			known |= strcmp(m->layers[i].title, oci_env_parts[j]) == 0;
		if (!known)
			return oerr_set(e, OE_MANIFEST, "%s has a part that "
			    "pyro does not know (a title of %zu bytes)", what,
			    strlen(m->layers[i].title));
		for (j = 0; j < i; j++)
			if (strcmp(m->layers[i].title, m->layers[j].title) == 0)
				return oerr_set(e, OE_MANIFEST, "%s names a "
				    "part twice (%s)", what, m->layers[i].title);
	}
	if (oci_layer_titled(m, "manifest.json") == NULL ||
	    oci_layer_titled(m, "manifest.json")->size > ENV_MANIFEST_MAX)
		return oerr_set(e, OE_MANIFEST, "%s has no usable "
		    "manifest.json part", what);
	for (j = 0; oci_env_parts[j] != NULL; j++)
		if (oci_layer_titled(m, oci_env_parts[j]) == NULL)
			return oerr_set(e, OE_MANIFEST, "%s has no %s part",
			    what, oci_env_parts[j]);
	if (agent_sha != NULL && *agent_sha != '\0' &&
	    strcmp(m->agent_sha256, agent_sha) != 0)
		return oerr_set(e, PYRO_ERR_UNSUPPORTED, "%s was built with another "
		    "pyro-agent (sha256 %.12s..., this pyro's is %.12s...); "
		    "pull the tag of this release, or pyro env pull --build "
		    "builds it here", what, m->agent_sha256[0] ?
		    m->agent_sha256 : "none", agent_sha);
	return 0;
}

/*
 * A staging directory holds what this manifest names and nothing else: a
 * registry that names new blobs on every pull cannot pile up partial
 * downloads.
 */
void
sweep_foreign(int dfd, const struct oci_manifest *m)
{
	struct dirent	*de;
	DIR		*d;
	char		 part[80];
	int		 fd, i, ours;

	/* A description of its own: a dup would share the offset. */
	if ((fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		for (ours = 0, i = 0; i < m->nlayers && !ours; i++) {
			snprintf(part, sizeof(part), "%s.part",
			    m->layers[i].digest + 7);
			ours = strcmp(de->d_name, m->layers[i].digest + 7) == 0 ||
			    strcmp(de->d_name, part) == 0;
		}
		if (!ours)
			(void)pyro_rm_tree_at(dfd, de->d_name);
	}
	closedir(d);
}

/*
 * The environment's manifest.json, from the registry, checked by
 * oci_env_manifest_check() (common/oci.c), then the room its parts need.
 */
static int
check_env_manifest(int dfd, const char *name, const struct oci_manifest *m,
    struct oerr *e)
{
	const struct oci_desc	*d = oci_layer_titled(m, "manifest.json");
	struct statvfs		 sv;
	unsigned long long	 need = 0, have;
	char			*b, why[300];
	size_t			 len;
	int			 rc;

	if (d->layer != OCI_LAYER_PART || (b = read_small_at(dfd,
	    d->digest + 7, ENV_MANIFEST_MAX, &len)) == NULL)
		return oerr_set(e, OE_MANIFEST, "manifest.json must be a raw "
		    "part of at most 64 KiB");
	rc = oci_env_manifest_check(b, len, name, m, &need, why, sizeof(why));
	free(b);
	if (rc < 0)
		return oerr_set(e, OE_MANIFEST, "manifest.json: %s", why);
	/* Room for every blob and every part (sparse parts need less). */
	if (fstatvfs(dfd, &sv) == 0 && (have = (unsigned long long)
	    sv.f_bavail * sv.f_frsize) < need)
		return oerr_set(e, PYRO_ERR_LIMIT_EXCEEDED, "%s needs up to "
		    "%llu MiB in the cache and %llu MiB are free", name,
		    need >> 20, have >> 20);
	return 0;
}

/* Whether CACHE/NAME came from this very manifest and is whole. */
static int
installed_same(int cachefd, const char *name, const char *digest)
{
	char		*b, path[300];
	cJSON		*s, *m, *p;
	struct stat	 st;
	int		 i, ok;

	snprintf(path, sizeof(path), "%s/source.json", name);
	if ((b = read_small_at(cachefd, path, ENV_MANIFEST_MAX, NULL)) == NULL)
		return 0;
	s = cJSON_Parse(b);
	free(b);
	ok = strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(s,
	    "manifest_digest")) ?: "", digest) == 0;
	cJSON_Delete(s);
	snprintf(path, sizeof(path), "%s/manifest.json", name);
	if (!ok || (b = read_small_at(cachefd, path, ENV_MANIFEST_MAX,
	    NULL)) == NULL)
		return 0;
	m = cJSON_Parse(b);
	free(b);
	for (i = 0; ok && oci_env_parts[i] != NULL; i++) {
		p = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "parts"),
		    oci_env_parts[i]);
		snprintf(path, sizeof(path), "%s/%s", name, oci_env_parts[i]);
		ok = fstatat(cachefd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && cJSON_IsNumber(cJSON_GetObjectItem(
		    p, "size")) && (double)st.st_size == cJSON_GetNumberValue(
		    cJSON_GetObjectItem(p, "size"));
	}
	cJSON_Delete(m);
	return ok;
}

/* Unpack part t into envfd, checked against the environment's manifest. */
static int
unpack_part(int dfd, int envfd, const struct oci_desc *d, const cJSON *parts,
    struct oerr *e)
{
	const cJSON		*p = cJSON_GetObjectItem(parts, d->title);
	const char		*sum = cJSON_GetStringValue(
				    cJSON_GetObjectItem(p, "sha256"));
	double			 sz = cJSON_GetNumberValue(
				    cJSON_GetObjectItem(p, "size"));
	unsigned long long	 got;
	char			 hex[65];
	int			 in, out, rc;

	if (sum == NULL || !(sz >= 0 && sz <= (double)OCI_BLOB_MAX))
		return oerr_set(e, OE_MANIFEST, "the environment's manifest "
		    "does not describe %s", d->title);
	progress("[pull] phase=unpack part=%s bytes=%.0f\n", d->title, sz);
	if ((in = openat(dfd, d->digest + 7, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return oerr_set(e, PYRO_ERR_IO, "open a blob: %s",
		    strerror(errno));
	if ((out = openat(envfd, d->title, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0644)) < 0) {
		close(in);
		return oerr_set(e, PYRO_ERR_IO, "create %s: %s", d->title,
		    strerror(errno));
	}
	rc = blob_unpack(in, d->layer, out, (unsigned long long)sz, hex, &got,
	    e);
	close(in);
	if (rc == 0 && (got != (unsigned long long)sz || strcmp(hex, sum) !=
	    0))
		rc = oerr_set(e, OE_DIGEST, "%s unpacks to other bytes than "
		    "the environment's manifest says; nothing was installed",
		    d->title);
	if (rc == 0 && fsync(out) < 0)
		rc = oerr_set(e, PYRO_ERR_IO, "fsync %s: %s", d->title,
		    strerror(errno));
	close(out);
	return rc;
}

int
write_file_at(int dirfd, const char *name, const char *data, size_t len)
{
	ssize_t	n;
	int	fd;

	if ((fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0644)) < 0)
		return -1;
	n = write(fd, data, len);
	if (n != (ssize_t)len || fsync(fd) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/*
 * STAGE/env becomes cache/NAME: the old one aside, the new one in, the
 * old one gone.  A reader sees one or the other, never a mix.
 */
int
install_dir(int cachefd, const char *stage, const char *name, struct oerr *e)
{
	char	path[400];

	progress("[%s] phase=install environment=%s\n", verb, name);
	snprintf(path, sizeof(path), "%s/env", stage);
	/* Exchanged with the old one in one step, or put in place. */
	if (renameat2(cachefd, path, cachefd, name, RENAME_EXCHANGE) == 0) {
		(void)fsync(cachefd);
		(void)pyro_rm_tree_at(cachefd, path);
		return 0;
	}
	if (errno != ENOENT || renameat2(cachefd, path, cachefd, name,
	    RENAME_NOREPLACE) < 0)
		return oerr_set(e, PYRO_ERR_IO, "installing %s: %s", name,
		    strerror(errno));
	(void)fsync(cachefd);
	return 0;
}

/* Unpack every part into dfd/env and install it as cache/name. */
static int
install(int cachefd, int dfd, const char *stage, const char *name,
    const struct oci_manifest *m, const char *digest, const struct reg *r,
    struct oerr *e)
{
	const struct oci_desc	*md = oci_layer_titled(m, "manifest.json");
	char			*mj = NULL, *src = NULL;
	cJSON			*em = NULL, *so;
	int			 envfd = -1, i, rc = -1;

	(void)pyro_rm_tree_at(dfd, "env");
	if (mkdirat(dfd, "env", 0755) < 0 || (envfd = openat(dfd, "env",
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		oerr_set(e, PYRO_ERR_IO, "mkdir env: %s", strerror(errno));
		goto out;
	}
	if (md->layer != OCI_LAYER_PART || (mj = read_small_at(dfd,
	    md->digest + 7, ENV_MANIFEST_MAX, NULL)) == NULL ||
	    (em = cJSON_Parse(mj)) == NULL || strcmp(cJSON_GetStringValue(
	    cJSON_GetObjectItem(em, "name")) ?: "", name) != 0) {
		oerr_set(e, OE_MANIFEST, "the environment's manifest.json is "
		    "not a manifest of %s", name);
		goto out;
	}
	for (i = 0; oci_env_parts[i] != NULL; i++)
		if (unpack_part(dfd, envfd, oci_layer_titled(m,
		    oci_env_parts[i]),
		    cJSON_GetObjectItem(em, "parts"), e) < 0)
			goto out;
	so = cJSON_CreateObject();
	cJSON_AddStringToObject(so, "registry", r->base);
	cJSON_AddStringToObject(so, "repository", r->repo);
	cJSON_AddStringToObject(so, "tag", r->tag);
	cJSON_AddStringToObject(so, "manifest_digest", digest);
	src = cJSON_PrintUnformatted(so);
	cJSON_Delete(so);
	if (src == NULL || write_file_at(envfd, "manifest.json", mj,
	    strlen(mj)) < 0 || write_file_at(envfd, "source.json", src,
	    strlen(src)) < 0 || fsync(envfd) < 0) {
		oerr_set(e, PYRO_ERR_IO, "writing the manifest: %s",
		    strerror(errno));
		goto out;
	}
	if (install_dir(cachefd, stage, name, e) < 0)
		goto out;
	rc = 0;
out:
	if (envfd >= 0)
		close(envfd);
	cJSON_Delete(em);
	free(mj);
	free(src);
	return rc;
}

/*
 * After a transport failure: keep the partial blobs a next pull resumes
 * from, drop what holds nothing (an empty staging directory goes too).
 */
static void
keep_partial(int cachefd, int dfd, const char *stage)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	int		 fd;

	(void)pyro_rm_tree_at(dfd, "env");
	/* A description of its own: a dup would share the offset. */
	if ((fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_size == 0)
			(void)unlinkat(dfd, de->d_name, 0);
	closedir(d);
	(void)unlinkat(cachefd, stage, AT_REMOVEDIR);
}

static cJSON *
pull_result(const struct reg *r, const char *name, const char *cache,
    const char *digest, int pulled, unsigned long long bytes)
{
	cJSON	*o = cJSON_CreateObject();
	char	 path[4400];

	snprintf(path, sizeof(path), "%s/%s", cache, name);
	cJSON_AddStringToObject(o, "environment", name);
	cJSON_AddStringToObject(o, "source", "registry");
	cJSON_AddStringToObject(o, "registry", r->base);
	cJSON_AddStringToObject(o, "repository", r->repo);
	cJSON_AddStringToObject(o, "tag", r->tag);
	cJSON_AddStringToObject(o, "manifest_digest", digest);
	cJSON_AddStringToObject(o, "path", path);
	cJSON_AddBoolToObject(o, "up_to_date", 1);
	cJSON_AddBoolToObject(o, "pulled", pulled);
	cJSON_AddBoolToObject(o, "built", 0);
	cJSON_AddNumberToObject(o, "bytes_downloaded", (double)bytes);
	return o;
}

int
cache_open(const char *cache, struct oerr *e)
{
	char	p[4200], *s;
	int	fd;

	snprintf(p, sizeof(p), "%s", cache);
	for (s = p + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		(void)mkdir(p, 0755);
		*s = '/';
	}
	(void)mkdir(p, 0755);
	if ((fd = open(cache, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return oerr_set(e, PYRO_ERR_IO, "the environment cache %.200s: "
		    "%s", cache, strerror(errno));
	if (!mine(fd)) {
		close(fd);
		return oerr_set(e, PYRO_ERR_PERMISSION_DENIED, "the environment "
		    "cache %.200s must be yours and writable by you only",
		    cache);
	}
	return fd;
}

cJSON *
cmd_pull(const char *url, const char *name, const char *cache,
    const char *agent_sha, int force, struct oerr *e)
{
	struct reg		 r;
	struct oci_manifest	*m = NULL;
	char			*body = NULL, digest[72], what[600];
	char			 stage[300];
	unsigned long long	 bytes = 0;
	cJSON			*res = NULL;
	int			 cachefd = -1, dfd = -1, i, keep = 0, pick;

	if (reg_open(&r, url, name, 0, e) < 0)
		goto out;
	snprintf(what, sizeof(what), "environment %s (%s:%s)", name, r.repo,
	    r.tag);
	progress("[pull] phase=resolve environment=%s source=registry "
	    "registry=%s repository=%s tag=%s\n", name, r.base, r.repo, r.tag);
	if ((m = malloc(sizeof(*m))) == NULL || reg_login(&r, e) < 0 ||
	    (body = get_manifest(&r, r.tag, what, m, digest, e)) == NULL)
		goto out;
	if (m->kind == OCI_KIND_INDEX) {
		if ((pick = oci_index_pick(m, "linux", "amd64")) < 0) {
			oerr_set(e, OE_MANIFEST, "%s has no linux/amd64 entry",
			    what);
			goto out;
		}
		snprintf(stage, sizeof(stage), "%s", m->layers[pick].digest);
		free(body);
		if ((body = get_manifest(&r, stage, what, m, digest, e)) ==
		    NULL)
			goto out;
		if (m->kind != OCI_KIND_MANIFEST) {
			oerr_set(e, OE_MANIFEST, "%s: an index in an index",
			    what);
			goto out;
		}
	}
	progress("[pull] phase=manifest digest=%s layers=%d\n", digest,
	    m->nlayers);
	if (check_artifact(m, what, agent_sha, e) < 0 ||
	    (cachefd = cache_open(cache, e)) < 0)
		goto out;
	if (!force && installed_same(cachefd, name, digest)) {
		res = pull_result(&r, name, cache, digest, 0, 0);
		goto out;
	}
	if ((dfd = staging_open(cachefd, "pull", name, stage, sizeof(stage),
	    e)) < 0)
		goto out;
	sweep_foreign(dfd, m);
	keep = 1;	/* what a transport failure leaves is resumed */
	/* manifest.json first: it bounds the parts, and the disk they need. */
	if (fetch_blob(&r, dfd, oci_layer_titled(m, "manifest.json"), &bytes,
	    e) < 0 ||
	    check_env_manifest(dfd, name, m, e) < 0) {
		keep = strcmp(e->code, OE_UNAVAILABLE) == 0 ||
		    strcmp(e->code, PYRO_ERR_TIMEOUT) == 0;
		goto out;
	}
	for (i = 0; i < m->nlayers; i++)
		if (fetch_blob(&r, dfd, &m->layers[i], &bytes, e) < 0) {
			keep = strcmp(e->code, OE_UNAVAILABLE) == 0 ||
			    strcmp(e->code, PYRO_ERR_TIMEOUT) == 0;
			goto out;
		}
	keep = 0;
	if (install(cachefd, dfd, stage, name, m, digest, &r, e) < 0)
		goto out;
	res = pull_result(&r, name, cache, digest, 1, bytes);
out:
	if (dfd >= 0) {
		if (!keep)
			(void)pyro_rm_tree_at(cachefd, stage);
		else
			keep_partial(cachefd, dfd, stage);
		close(dfd);
	}
	if (cachefd >= 0)
		close(cachefd);
	reg_close(&r);
	free(body);
	free(m);
	return res;
}
