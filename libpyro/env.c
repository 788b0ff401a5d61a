/*
 * libpyro: environments.  The cache is the caller's own (pyro_environment_
 * cache_dir()), so these calls work on this side without pyrod: list the
 * catalog with what is installed, inspect a manifest, pull (build locally
 * from Debian packages: no registry is configured yet), prune leftovers.
 */
#include "config.h"

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

#include "catalog.h"
#include "pyro/pyro.h"
#include "internal.h"

#define eerr pyro__fail

static int
cache_of(char *buf, size_t size, pyro_error *err)
{
	if (pyro_environment_cache_dir(buf, size) == 0)
		return 0;
	return eerr(err, "invalid_argument", "no environment cache: set "
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
		return eerr(err, "internal", "out of memory");
	}
	cJSON_Delete(o);
	return 0;
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
	return give(res, result, err);
}

static const struct pyro_catalog_entry *
entry(const char *name, pyro_error *err)
{
	const struct pyro_catalog_entry	*e;

	if (name == NULL || (e = pyro_catalog_find(name)) == NULL) {
		eerr(err, "unknown_environment", "unknown environment "
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
	if ((e = entry(name, err)) == NULL ||
	    cache_of(cache, sizeof(cache), err) < 0)
		return -1;
	if ((m = read_manifest(cache, e->name)) == NULL)
		return eerr(err, "environment_not_installed", "environment %s "
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

/*
 * Build name into the cache with pyro-env-build (root: debootstrap); its
 * progress lines go to progress_fd.
 */
int
pyro_env_pull(const char *name, int progress_fd, char **result,
    pyro_error *err)
{
	const struct pyro_catalog_entry	*e;
	char				 cache[4096], tool[4200], agent[4200];
	cJSON				*res;
	pid_t				 pid;
	int				 status;

	if (result != NULL)
		*result = NULL;
	if ((e = entry(name, err)) == NULL ||
	    cache_of(cache, sizeof(cache), err) < 0)
		return -1;
	snprintf(tool, sizeof(tool), "%s/pyro-env-build", libexec_dir());
	snprintf(agent, sizeof(agent), "%s/pyro-agent", libexec_dir());
	if (access(tool, X_OK) < 0)
		return eerr(err, "unsupported", "pyro-env-build is not "
		    "installed in %s", libexec_dir());
	if ((pid = fork()) < 0)
		return eerr(err, "internal", "fork: %s", strerror(errno));
	if (pid == 0) {
		if (progress_fd >= 0 && progress_fd != 1)
			(void)dup2(progress_fd, 1);
		execl(tool, "pyro-env-build", e->name, cache, agent,
		    (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return eerr(err, "io_error", "building %s failed (see the "
		    "builder's messages)", e->name);
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "environment", e->name);
	cJSON_AddStringToObject(res, "source", "local-build");
	{
		char path[4400];

		snprintf(path, sizeof(path), "%s/%s", cache, e->name);
		cJSON_AddStringToObject(res, "path", path);
	}
	return give(res, result, err);
}

static int
remove_tree(const char *path)
{
	pid_t	pid;
	int	status;

	/* rm -rf: the tree may hold a whole root filesystem. */
	if ((pid = fork()) == 0) {
		execl("/bin/rm", "rm", "-rf", "--one-file-system", "--", path,
		    (char *)NULL);
		_exit(127);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid &&
	    WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int
pyro_env_prune(char **result, pyro_error *err)
{
	char		 cache[4096], path[4400];
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
			    pyro_catalog_find(de->d_name) == NULL ||
			    (m = read_manifest(cache, de->d_name)) == NULL;
			cJSON_Delete(m);
			if (!stale)
				continue;
			snprintf(path, sizeof(path), "%s/%s", cache,
			    de->d_name);
			if (remove_tree(path) == 0)
				cJSON_AddItemToArray(arr,
				    cJSON_CreateString(de->d_name));
		}
		closedir(d);
	}
	return give(res, result, err);
}
