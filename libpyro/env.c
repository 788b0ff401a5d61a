/*
 * libpyro: environments.  The cache is the caller's own (pyro_environment_
 * cache_dir()), so these calls work on this side without pyrod: list the
 * catalog with what is installed, inspect a manifest, pull (from the
 * configured registry with pyro-oci, else built locally from Debian
 * packages with pyro-env-build), push to a registry, prune leftovers.
 *
 * The registry: the caller's argument, else PYRO_ENVIRONMENT_REGISTRY,
 * else pyrod.conf's environment_registry (asked of pyrod, which reads
 * it); "none" in the variable means no registry.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <nettle/sha2.h>

#include "catalog.h"
#include "procs.h"
#include "pyro/pyro.h"
#include "internal.h"

#define eerr pyro__fail

static int
cache_of(char *buf, size_t size, pyro_error *err)
{
	if (pyro_environment_cache_dir(buf, size) == 0)
		return 0;
	return eerr(err, PYRO_ERR_INVALID_ARGUMENT, "no environment cache: set "
	    "PYRO_ENVIRONMENT_CACHE_DIR or HOME");
}

/* The manifest of cache/name, if it names itself name. */
static cJSON *
read_manifest(const char *cache, const char *name)
{
	char	 path[4400], buf[65536];
	ssize_t	 n;
	int	 fd;
	cJSON	*m, *nm;

	snprintf(path, sizeof(path), "%s/%s/manifest.json", cache, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	m = cJSON_Parse(buf);
	nm = cJSON_GetObjectItem(m, "name");
	if (!cJSON_IsString(nm) || strcmp(nm->valuestring, name) != 0) {
		cJSON_Delete(m);
		return NULL;
	}
	return m;
}

static int
give(cJSON *o, char **result, pyro_error *err)
{
	if (result != NULL && (*result = cJSON_PrintUnformatted(o)) == NULL) {
		cJSON_Delete(o);
		return eerr(err, PYRO_ERR_INTERNAL, "out of memory");
	}
	cJSON_Delete(o);
	return 0;
}

/* The manifest of a custom environment (pyro env import), or NULL. */
static cJSON *
custom_manifest(const char *cache, const char *name)
{
	cJSON	*m;

	if (!pyro_env_name_custom_ok(name) ||
	    (m = read_manifest(cache, name)) == NULL)
		return NULL;
	if (!cJSON_IsTrue(cJSON_GetObjectItem(m, "custom"))) {
		cJSON_Delete(m);
		return NULL;
	}
	return m;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The custom environments installed in cache, by name, into arr. */
static void
add_custom(const char *cache, cJSON *arr)
{
	struct dirent	*de;
	DIR		*d;
	char		*names[256], desc[600];
	size_t		 n = 0, i;
	cJSON		*m, *o;

	if ((d = opendir(cache)) == NULL)
		return;
	while ((de = readdir(d)) != NULL && n < 256)
		if (pyro_env_name_custom_ok(de->d_name) &&
		    (names[n] = strdup(de->d_name)) != NULL)
			n++;
	closedir(d);
	qsort(names, n, sizeof(names[0]), by_name);
	for (i = 0; i < n; i++) {
		if ((m = custom_manifest(cache, names[i])) != NULL) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "name", names[i]);
			cJSON_AddTrueToObject(o, "installed");
			snprintf(desc, sizeof(desc), "custom, from %s",
			    cJSON_GetStringValue(cJSON_GetObjectItem(m,
			    "image")) ?: "an image");
			cJSON_AddStringToObject(o, "description", desc);
			cJSON_AddTrueToObject(o, "custom");
			cJSON_AddStringToObject(o, "image", cJSON_GetStringValue(
			    cJSON_GetObjectItem(m, "image")) ?: "");
			cJSON_AddItemToArray(arr, o);
			cJSON_Delete(m);
		}
		free(names[i]);
	}
}

int
pyro_env_list(char **result, pyro_error *err)
{
	const struct pyro_catalog_entry	*e;
	char				 cache[4096];
	cJSON				*res, *arr, *o, *m;

	if (result != NULL)
		*result = NULL;
	if (cache_of(cache, sizeof(cache), err) < 0)
		return -1;
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "catalog_version", PYRO_CATALOG_VERSION);
	cJSON_AddStringToObject(res, "cache_dir", cache);
	arr = cJSON_AddArrayToObject(res, "environments");
	for (e = pyro_catalog; e->name != NULL; e++) {
		m = read_manifest(cache, e->name);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", e->name);
		cJSON_AddBoolToObject(o, "installed", m != NULL);
		cJSON_AddStringToObject(o, "description", e->description);
		cJSON_AddItemToArray(arr, o);
		cJSON_Delete(m);
	}
	add_custom(cache, arr);
	return give(res, result, err);
}

static const struct pyro_catalog_entry *
entry(const char *name, pyro_error *err)
{
	const struct pyro_catalog_entry	*e;

	if (name == NULL || (e = pyro_catalog_find(name)) == NULL) {
		eerr(err, PYRO_ERR_UNKNOWN_ENVIRONMENT, "unknown environment "
		    "\"%.64s\"; pyro env list shows the catalog",
		    name ? name : "");
		return NULL;
	}
	return e;
}

int
pyro_env_inspect(const char *name, char **result, pyro_error *err)
{
	const struct pyro_catalog_entry	*e;
	char				 cache[4096], path[4400];
	cJSON				*m;

	if (result != NULL)
		*result = NULL;
	if (cache_of(cache, sizeof(cache), err) < 0)
		return -1;
	if (pyro_env_name_custom_ok(name)) {
		if ((m = custom_manifest(cache, name)) == NULL)
			return eerr(err, PYRO_ERR_ENVIRONMENT_NOT_INSTALLED,
			    "custom environment %s is not installed (pyro env "
			    "import %s --image REF)", name, name);
		snprintf(path, sizeof(path), "%s/%s", cache, name);
		cJSON_AddStringToObject(m, "path", path);
		cJSON_AddStringToObject(m, "description", "custom");
		return give(m, result, err);
	}
	if ((e = entry(name, err)) == NULL)
		return -1;
	if ((m = read_manifest(cache, e->name)) == NULL)
		return eerr(err, PYRO_ERR_ENVIRONMENT_NOT_INSTALLED, "environment %s "
		    "is not installed; run: pyro env pull %s", e->name,
		    e->name);
	snprintf(path, sizeof(path), "%s/%s", cache, e->name);
	cJSON_AddStringToObject(m, "path", path);
	cJSON_AddStringToObject(m, "description", e->description);
	return give(m, result, err);
}

static const char *
libexec_dir(void)
{
	const char	*s = getenv("PYRO_LIBEXECDIR");

	return (s != NULL && *s != '\0') ? s : PYRO_LIBEXECDIR;
}

/* The sha256 of the file at path, as 64 hex digits; 0 or -1. */
static int
file_sha256(const char *path, char hex[65])
{
	struct sha256_ctx	 ctx;
	uint8_t			 buf[65536], d[SHA256_DIGEST_SIZE];
	ssize_t			 n;
	int			 fd, i;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	sha256_init(&ctx);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sha256_update(&ctx, (size_t)n, buf);
	close(fd);
	if (n < 0)
		return -1;
	sha256_digest(&ctx, sizeof(d), d);
	for (i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return 0;
}

/*
 * Whether cache/NAME needs no rebuild: its manifest names the pyro-agent
 * installed here (sha256) and every part has the size the manifest says.
 * The parts are not hashed (the root filesystem is a GiB; pyrod checks
 * their sha256 on first use).  0 up to date, else why in why.
 */
static int
env_stale(const char *cache, const char *name, const char *agent,
    const cJSON *m, char *why, size_t size)
{
	static const char	*parts[] = { "vmlinux", "initramfs.cpio",
				    "rootfs.ext4", NULL };
	const cJSON		*p;
	char			 hex[65], path[4400];
	struct stat		 st;
	int			 i;

	if (file_sha256(agent, hex) < 0)
		return snprintf(why, size, "cannot read %.150s", agent), 1;
	if (strcmp(hex, cJSON_GetStringValue(cJSON_GetObjectItem(m,
	    "agent_sha256")) ?: "") != 0)
		return snprintf(why, size, "it was built with another "
		    "pyro-agent"), 1;
	for (i = 0; parts[i] != NULL; i++) {
		p = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "parts"),
		    parts[i]);
		snprintf(path, sizeof(path), "%s/%s/%s", cache, name,
		    parts[i]);
		if (stat(path, &st) < 0 || !cJSON_IsNumber(cJSON_GetObjectItem(
		    p, "size")) || (double)st.st_size != cJSON_GetNumberValue(
		    cJSON_GetObjectItem(p, "size")))
			return snprintf(why, size, "%s is missing or has the "
			    "wrong size", parts[i]), 1;
	}
	return 0;
}

/* The result of a pull that had nothing to do. */
static cJSON *
up_to_date_result(const char *cache, const struct pyro_catalog_entry *e,
    cJSON *m)
{
	cJSON	*res = cJSON_CreateObject();
	char	 path[4400];

	snprintf(path, sizeof(path), "%s/%s", cache, e->name);
	cJSON_AddStringToObject(res, "environment", e->name);
	cJSON_AddStringToObject(res, "path", path);
	cJSON_AddBoolToObject(res, "up_to_date", 1);
	cJSON_AddBoolToObject(res, "built", 0);
	cJSON_AddStringToObject(res, "version", cJSON_GetStringValue(
	    cJSON_GetObjectItem(m, "version")) ?: "?");
	cJSON_AddStringToObject(res, "created_at", cJSON_GetStringValue(
	    cJSON_GetObjectItem(m, "created_at")) ?: "?");
	cJSON_AddStringToObject(res, "agent_sha256", cJSON_GetStringValue(
	    cJSON_GetObjectItem(m, "agent_sha256")) ?: "?");
	return res;
}

/*
 * The registry to use: explicit, else the variable, else pyrod's; into
 * buf, or "" when there is none.
 */
static void
registry_of(const char *explicit, char *buf, size_t size)
{
	const char	*v = getenv("PYRO_ENVIRONMENT_REGISTRY");
	pyro_client	*c;
	pyro_error	 err;
	char		*res = NULL;
	cJSON		*r;

	buf[0] = '\0';
	if (explicit != NULL && *explicit != '\0') {
		snprintf(buf, size, "%s", explicit);
		return;
	}
	if (v != NULL && *v != '\0') {
		if (strcmp(v, "none") != 0)
			snprintf(buf, size, "%s", v);
		return;
	}
	if (pyro_connect(NULL, &c, &err) < 0)
		return;
	if (pyro_env_cache(c, &res, &err) == 0) {
		r = cJSON_Parse(res);
		snprintf(buf, size, "%s", cJSON_GetStringValue(
		    cJSON_GetObjectItem(r, "environment_registry")) ?: "");
		cJSON_Delete(r);
		pyro_free(res);
	}
	pyro_disconnect(c);
}

/*
 * Run pyro-oci with argv: its progress lines to progress_fd, its JSON
 * result (or {"error": {code, message}}) read from a pipe on its fd 3.
 */
static int
run_oci(char *const argv[], int progress_fd, char **result, pyro_error *err)
{
	char		 tool[4200], *buf = NULL, *nb;
	size_t		 len = 0;
	ssize_t		 n;
	pid_t		 pid;
	int		 p[2], status, rc;
	cJSON		*r, *e;

	snprintf(tool, sizeof(tool), "%s/pyro-oci", libexec_dir());
	if (access(tool, X_OK) < 0)
		return eerr(err, PYRO_ERR_UNSUPPORTED, "pyro-oci is not "
		    "installed in %s", libexec_dir());
	if (pipe2(p, O_CLOEXEC) < 0)
		return eerr(err, PYRO_ERR_INTERNAL, "pipe: %s", strerror(errno));
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return eerr(err, PYRO_ERR_INTERNAL, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (progress_fd >= 0 ? dup2(progress_fd, 1) < 0 : null < 0 ||
		    dup2(null, 1) < 0)
			_exit(127);
		/* fd 3 without close-on-exec, even when the pipe is fd 3. */
		if (p[1] == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(p[1], 3) < 0)
			_exit(127);
		execv(tool, argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		if ((nb = realloc(buf, len + 65537)) == NULL)
			break;
		buf = nb;
		if ((n = read(p[0], buf + len, 65536)) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len > (1 << 20))
			break;
	}
	close(p[0]);
	status = -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (buf != NULL)
		buf[len] = '\0';
	r = buf != NULL ? cJSON_Parse(buf) : NULL;
	free(buf);
	if (r == NULL || (cJSON_GetObjectItem(r, "error") == NULL &&
	    (!WIFEXITED(status) || WEXITSTATUS(status) != 0))) {
		cJSON_Delete(r);
		return eerr(err, PYRO_ERR_INTERNAL, "pyro-oci gave no result "
		    "(exit status %d)", WIFEXITED(status) ?
		    WEXITSTATUS(status) : -1);
	}
	if ((e = cJSON_GetObjectItem(r, "error")) != NULL) {
		rc = eerr(err, cJSON_GetStringValue(cJSON_GetObjectItem(e,
		    "code")) ?: PYRO_ERR_INTERNAL, "%s", cJSON_GetStringValue(
		    cJSON_GetObjectItem(e, "message")) ?: "pyro-oci failed");
		cJSON_Delete(r);
		return rc;
	}
	return give(r, result, err);
}

/*
 * Build name into the cache with pyro-env-build (root: debootstrap); its
 * progress lines go to progress_fd.  Without force, an installed
 * environment that is up to date (env_stale()) is left alone.
 */
static int
env_pull(const char *name, int progress_fd, int force, char **result,
    pyro_error *err)
{
	const struct pyro_catalog_entry	*e;
	char				 cache[4096], tool[4200], agent[4200];
	char				 path[4400], why[200] = "";
	cJSON				*res, *m;
	pid_t				 pid;
	int				 status;

	if (result != NULL)
		*result = NULL;
	if ((e = entry(name, err)) == NULL ||
	    cache_of(cache, sizeof(cache), err) < 0)
		return -1;
	snprintf(tool, sizeof(tool), "%s/pyro-env-build", libexec_dir());
	snprintf(agent, sizeof(agent), "%s/pyro-agent", libexec_dir());
	if (!force && (m = read_manifest(cache, e->name)) != NULL) {
		if (env_stale(cache, e->name, agent, m, why, sizeof(why)) == 0) {
			res = up_to_date_result(cache, e, m);
			cJSON_Delete(m);
			return give(res, result, err);
		}
		cJSON_Delete(m);
	}
	if (access(tool, X_OK) < 0)
		return eerr(err, PYRO_ERR_UNSUPPORTED, "pyro-env-build is not "
		    "installed in %s", libexec_dir());
	if ((pid = fork()) < 0)
		return eerr(err, PYRO_ERR_INTERNAL, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (progress_fd >= 0 && progress_fd != 1)
			(void)dup2(progress_fd, 1);
		execl(tool, "pyro-env-build", e->name, cache, agent,
		    (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return eerr(err, PYRO_ERR_IO, "building %s failed (see the "
		    "builder's messages)", e->name);
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "environment", e->name);
	cJSON_AddStringToObject(res, "source", "local-build");
	snprintf(path, sizeof(path), "%s/%s", cache, e->name);
	cJSON_AddStringToObject(res, "path", path);
	cJSON_AddBoolToObject(res, "up_to_date", 1);
	cJSON_AddBoolToObject(res, "built", 1);
	if (why[0] != '\0')
		cJSON_AddStringToObject(res, "rebuilt_because", why);
	return give(res, result, err);
}

/* Pull name from registry url into the cache (pyro-oci pull). */
static int
oci_pull(const char *url, const char *name, int progress_fd, int force,
    char **result, pyro_error *err)
{
	const struct pyro_catalog_entry	*e;
	char				 cache[4096], agent[4200], hex[65];
	char				*argv[8];
	int				 n = 0;

	if ((e = entry(name, err)) == NULL ||
	    cache_of(cache, sizeof(cache), err) < 0)
		return -1;
	snprintf(agent, sizeof(agent), "%s/pyro-agent", libexec_dir());
	if (file_sha256(agent, hex) < 0)
		return eerr(err, PYRO_ERR_UNSUPPORTED, "cannot read %s",
		    agent);
	argv[n++] = "pyro-oci";
	argv[n++] = "pull";
	argv[n++] = (char *)url;
	argv[n++] = (char *)e->name;
	argv[n++] = cache;
	argv[n++] = hex;
	if (force)
		argv[n++] = "--force";
	argv[n] = NULL;
	return run_oci(argv, progress_fd, result, err);
}

int
pyro_env_pull_from(const char *name, const char *registry, int flags,
    int progress_fd, char **result, pyro_error *err)
{
	char	url[1024];

	if (result != NULL)
		*result = NULL;
	if (flags & PYRO_PULL_BUILD) {
		if (progress_fd >= 0 && pyro_catalog_find(name) != NULL)
			dprintf(progress_fd, "[pull] phase=resolve environment="
			    "%s source=local-build (--build)\n", name);
		return env_pull(name, progress_fd, 1, result, err);
	}
	registry_of(registry, url, sizeof(url));
	if (url[0] == '\0' && progress_fd >= 0 && pyro_catalog_find(name) !=
	    NULL)
		dprintf(progress_fd, "[pull] phase=resolve environment=%s "
		    "source=local-build (no registry is configured)\n", name);
	if (url[0] == '\0')
		return env_pull(name, progress_fd, (flags & PYRO_PULL_FORCE) !=
		    0, result, err);
	return oci_pull(url, name, progress_fd, (flags & PYRO_PULL_FORCE) !=
	    0, result, err);
}

int
pyro_env_pull(const char *name, int progress_fd, char **result,
    pyro_error *err)
{
	return pyro_env_pull_from(name, NULL, 0, progress_fd, result, err);
}

int
pyro_env_import(const char *name, const char *image, const char *base,
    int progress_fd, char **result, pyro_error *err)
{
	char	 cache[4096];
	char	*argv[7];

	if (result != NULL)
		*result = NULL;
	if (name == NULL || !pyro_env_name_custom_ok(name))
		return eerr(err, PYRO_ERR_INVALID_NAME, "a custom environment "
		    "is NAME[:TAG] of lower-case letters, digits, . _ - and "
		    "not a catalog name (%.64s)", name ? name : "");
	if (image == NULL || *image == '\0')
		return eerr(err, PYRO_ERR_INVALID_ARGUMENT, "an image is "
		    "needed: HOST[:PORT]/REPOSITORY[:TAG]");
	if (cache_of(cache, sizeof(cache), err) < 0)
		return -1;
	argv[0] = "pyro-oci";
	argv[1] = "import";
	argv[2] = (char *)image;
	argv[3] = (char *)name;
	argv[4] = cache;
	argv[5] = (char *)(base != NULL && *base != '\0' ? base : "debian:12");
	argv[6] = NULL;
	return run_oci(argv, progress_fd, result, err);
}

int
pyro_env_push(const char *name, const char *registry, int progress_fd,
    char **result, pyro_error *err)
{
	const struct pyro_catalog_entry	*e;
	char				 cache[4096], url[1024];
	char				*argv[6];

	if (result != NULL)
		*result = NULL;
	if ((e = entry(name, err)) == NULL ||
	    cache_of(cache, sizeof(cache), err) < 0)
		return -1;
	registry_of(registry, url, sizeof(url));
	if (url[0] == '\0')
		return eerr(err, PYRO_ERR_INVALID_ARGUMENT, "no registry: give "
		    "--registry URL, or set PYRO_ENVIRONMENT_REGISTRY or "
		    "pyrod.conf's environment_registry");
	argv[0] = "pyro-oci";
	argv[1] = "push";
	argv[2] = url;
	argv[3] = (char *)e->name;
	argv[4] = cache;
	argv[5] = NULL;
	return run_oci(argv, progress_fd, result, err);
}

int
pyro_env_build(const char *name, int progress_fd, char **result,
    pyro_error *err)
{
	return env_pull(name, progress_fd, 1, result, err);
}

/*
 * pyrod's own cache, the one it boots guests from: it runs as root with
 * its own environment, so it may differ from the caller's.
 */
int
pyro_env_cache(pyro_client *c, char **result, pyro_error *err)
{
	return pyro_call(c, "environment.cache", NULL, result, err);
}

/*
 * A staging directory that no pull, push or import holds is renamed to a
 * trash name while prune holds its lock (so none can start in it), and
 * that name is what prune removes; a held one is left alone.  Into
 * victim: the name to remove, or "" to skip.
 */
static void
claim(const char *cache, const char *name, char *victim, size_t size)
{
	char	path[4400], trash[4400];
	int	fd;

	snprintf(victim, size, "%s", name);
	if (strncmp(name, ".staging-", 9) != 0)
		return;
	victim[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", cache, name);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		snprintf(trash, sizeof(trash), "%s/.old-prune-%ld-%s", cache,
		    (long)getpid(), name + 9);
		if (rename(path, trash) == 0)
			snprintf(victim, size, ".old-prune-%ld-%s",
			    (long)getpid(), name + 9);
	}
	close(fd);
}

int
pyro_env_prune(char **result, pyro_error *err)
{
	char		 cache[4096], path[4400], victim[300];
	DIR		*d;
	struct dirent	*de;
	cJSON		*res, *arr, *m;
	int		 stale;

	if (result != NULL)
		*result = NULL;
	if (cache_of(cache, sizeof(cache), err) < 0)
		return -1;
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "cache_dir", cache);
	arr = cJSON_AddArrayToObject(res, "removed");
	if ((d = opendir(cache)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			/* Partial builds, replaced versions, unknown names,
			 * and installs without a readable manifest. */
			m = NULL;
			stale = strncmp(de->d_name, ".staging-", 9) == 0 ||
			    strncmp(de->d_name, ".old-", 5) == 0 ||
			    (pyro_catalog_find(de->d_name) == NULL &&
			    !pyro_env_name_custom_ok(de->d_name)) ||
			    (m = pyro_env_name_custom_ok(de->d_name) ?
			    custom_manifest(cache, de->d_name) :
			    read_manifest(cache, de->d_name)) == NULL;
			cJSON_Delete(m);
			if (!stale || strncmp(de->d_name, ".old-prune-", 11) ==
			    0)
				continue;	/* ours: removed already */
			claim(cache, de->d_name, victim, sizeof(victim));
			if (victim[0] == '\0')
				continue;
			snprintf(path, sizeof(path), "%s/%s", cache, victim);
			if (pyro_rm_tree_at(AT_FDCWD, path) == 0)
				cJSON_AddItemToArray(arr,
				    cJSON_CreateString(de->d_name));
		}
		closedir(d);
	}
	return give(res, result, err);
}
