/*
 * pyro env list|inspect|pull|build|prune: the environment cache of the
 * calling user (pyro_environment_cache_dir()).  Layout, ready for pulled
 * OCI artifacts as well as local builds:
 *
 *	CACHE/NAME/manifest.json	name, version, kernel, parts + sha256
 *	CACHE/NAME/{vmlinux,initramfs.cpio,rootfs.ext4}
 *	CACHE/.staging-*		a build or pull in progress (pruned)
 *
 * An environment is installed when CACHE/NAME/manifest.json names it; a
 * build renames its staging directory into place only when complete.
 */
#include "config.h"

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

#include "catalog.h"
#include "cli.h"

static int
cache_dir(struct cli *cli, char *buf, size_t size)
{
	pyro_error	err = { "invalid_argument", "" };

	if (pyro_environment_cache_dir(buf, size) == 0)
		return 0;
	snprintf(err.message, sizeof(err.message), "no environment cache: "
	    "set PYRO_ENVIRONMENT_CACHE_DIR or HOME");
	return out_error(cli, &err);
}

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
fail(struct cli *cli, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct cli *cli, const char *code, const char *fmt, ...)
{
	pyro_error	err;
	va_list		ap;

	snprintf(err.code, sizeof(err.code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(err.message, sizeof(err.message), fmt, ap);
	va_end(ap);
	return out_error(cli, &err);
}

/* The catalog entry named by the argument, and the cache; else reply. */
static const struct pyro_catalog_entry *
catalog_arg(struct cli *cli, const char *name, char *cache, size_t size)
{
	const struct pyro_catalog_entry	*e;

	if ((e = pyro_catalog_find(name)) == NULL) {
		(void)fail(cli, "unknown_environment", "unknown environment "
		    "\"%.64s\"; pyro env list shows the catalog", name);
		return NULL;
	}
	if (cache_dir(cli, cache, size) != 0)
		return NULL;
	return e;
}

int
cmd_env_list(struct cli *cli, const struct cmd *c, int argc, char **argv)
{
	const struct pyro_catalog_entry	*e;
	char				 cache[4096];
	cJSON				*res, *arr, *o, *m;

	cli_simple_args(cli, c, argc, argv, 0, 0);
	if (cache_dir(cli, cache, sizeof(cache)) != 0)
		return EXIT_FAILED;
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "catalog_version", PYRO_CATALOG_VERSION);
	cJSON_AddStringToObject(res, "cache_dir", cache);
	arr = cJSON_AddArrayToObject(res, "environments");
	if (!cli->json)
		printf("Catalog version: %s\n", PYRO_CATALOG_VERSION);
	for (e = pyro_catalog; e->name != NULL; e++) {
		m = read_manifest(cache, e->name);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", e->name);
		cJSON_AddBoolToObject(o, "installed", m != NULL);
		cJSON_AddStringToObject(o, "description", e->description);
		cJSON_AddItemToArray(arr, o);
		if (!cli->json)
			printf("%-16s %-15s %s\n", e->name, m ? "[installed]" :
			    "[not installed]", e->description);
		cJSON_Delete(m);
	}
	if (cli->json) {
		char *t = cJSON_Print(res);
		printf("%s\n", t);
		free(t);
	}
	cJSON_Delete(res);
	return EXIT_OK;
}

int
cmd_env_inspect(struct cli *cli, const struct cmd *c, int argc, char **argv)
{
	const struct pyro_catalog_entry	*e;
	char				 cache[4096], path[4400], *t;
	cJSON				*m;
	int				 i;

	i = cli_simple_args(cli, c, argc, argv, 1, 1);
	if ((e = catalog_arg(cli, argv[i], cache, sizeof(cache))) == NULL)
		return EXIT_FAILED;
	if ((m = read_manifest(cache, e->name)) == NULL)
		return fail(cli, "environment_not_installed", "environment %s "
		    "is not installed; run: pyro env pull %s", e->name,
		    e->name);
	snprintf(path, sizeof(path), "%s/%s", cache, e->name);
	cJSON_AddStringToObject(m, "path", path);
	cJSON_AddStringToObject(m, "description", e->description);
	t = cJSON_Print(m);
	printf("%s\n", t);
	free(t);
	cJSON_Delete(m);
	return EXIT_OK;
}

static const char *
libexec_dir(void)
{
	const char	*s = getenv("PYRO_LIBEXECDIR");

	return (s != NULL && *s != '\0') ? s : PYRO_LIBEXECDIR;
}

/* Run pyro-env-build; its progress lines go straight to our stdout. */
static int
run_builder(struct cli *cli, const char *name, const char *cache)
{
	char	tool[4200], agent[4200];
	pid_t	pid;
	int	status;

	snprintf(tool, sizeof(tool), "%s/pyro-env-build", libexec_dir());
	snprintf(agent, sizeof(agent), "%s/pyro-agent", libexec_dir());
	if (access(tool, X_OK) < 0)
		return fail(cli, "unsupported", "pyro-env-build is not "
		    "installed in %s", libexec_dir());
	/* Our own lines first, then the builder's, in order. */
	(void)fflush(stdout);
	if ((pid = fork()) < 0)
		return fail(cli, "internal", "fork: %s", strerror(errno));
	if (pid == 0) {
		if (cli->json)	/* keep stdout for the one JSON document */
			(void)dup2(2, 1);
		execl(tool, "pyro-env-build", name, cache, agent,
		    (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return fail(cli, "io_error", "building %s failed (see the "
		    "messages above)", name);
	return EXIT_OK;
}

static int
env_build_common(struct cli *cli, const struct cmd *c, int argc,
    char **argv, int pull)
{
	const struct pyro_catalog_entry	*e;
	char				 cache[4096];
	int				 i;

	i = cli_simple_args(cli, c, argc, argv, 1, 1);
	if ((e = catalog_arg(cli, argv[i], cache, sizeof(cache))) == NULL)
		return EXIT_FAILED;
	if (pull)
		printf("[pull] phase=resolve environment=%s source=local-build "
		    "(no registry is configured)\n", e->name);
	if (run_builder(cli, e->name, cache) != EXIT_OK)
		return EXIT_FAILED;
	if (cli->json)
		printf("{\"ok\":true,\"environment\":\"%s\",\"path\":"
		    "\"%s/%s\"}\n", e->name, cache, e->name);
	else
		printf("%s: %s\n", pull ? "Pulled" : "Built", e->name);
	return EXIT_OK;
}

int
cmd_env_build(struct cli *cli, const struct cmd *c, int argc, char **argv)
{
	return env_build_common(cli, c, argc, argv, 0);
}

int
cmd_env_pull(struct cli *cli, const struct cmd *c, int argc, char **argv)
{
	return env_build_common(cli, c, argc, argv, 1);
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
cmd_env_prune(struct cli *cli, const struct cmd *c, int argc, char **argv)
{
	char		 cache[4096], path[4400];
	DIR		*d;
	struct dirent	*de;
	cJSON		*res, *arr, *m;
	int		 stale;

	cli_simple_args(cli, c, argc, argv, 0, 0);
	if (cache_dir(cli, cache, sizeof(cache)) != 0)
		return EXIT_FAILED;
	res = cJSON_CreateObject();
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
			if (remove_tree(path) == 0) {
				cJSON_AddItemToArray(arr,
				    cJSON_CreateString(de->d_name));
				if (!cli->json)
					printf("removed %s\n", path);
			}
		}
		closedir(d);
	}
	if (cli->json) {
		char *t = cJSON_Print(res);
		printf("%s\n", t);
		free(t);
	} else if (cJSON_GetArraySize(arr) == 0)
		printf("Nothing to prune in %s.\n", cache);
	cJSON_Delete(res);
	return EXIT_OK;
}
