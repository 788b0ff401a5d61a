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

/* Print an env call's result: JSON, or through render(). */
static int
env_done(struct cli *cli, int rc, char *res, const pyro_error *err,
    void (*render)(const cJSON *))
{
	if (rc < 0)
		return out_error(cli, err);
	rc = out_result(cli, res, render);
	pyro_free(res);
	return rc;
}

static void
render_envs(const cJSON *r)
{
	const cJSON	*it;

	printf("Catalog version: %s\n", jstr(r, "catalog_version", "?"));
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "environments"))
		printf("%-16s %-15s %s\n", jstr(it, "name", "?"),
		    jbool(it, "installed") ? "[installed]" : "[not installed]",
		    jstr(it, "description", ""));
}

static void
render_pruned(const cJSON *r)
{
	const cJSON	*it;
	int		 n = 0;

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "removed")) {
		printf("removed %s/%s\n", jstr(r, "cache_dir", "?"),
		    it->valuestring);
		n++;
	}
	if (n == 0)
		printf("Nothing to prune in %s.\n", jstr(r, "cache_dir", "?"));
}

int
cmd_env_list(struct cli *cli, const struct cmd *c, int argc, char **argv)
{
	pyro_error	 err;
	char		*res = NULL;
	int		 rc;

	cli_simple_args(cli, c, argc, argv, 0, 0);
	rc = pyro_env_list(&res, &err);
	return env_done(cli, rc, res, &err, render_envs);
}

int
cmd_env_inspect(struct cli *cli, const struct cmd *c, int argc, char **argv)
{
	pyro_error	 err;
	char		*res = NULL;
	int		 i, rc;

	i = cli_simple_args(cli, c, argc, argv, 1, 1);
	rc = pyro_env_inspect(argv[i], &res, &err);
	if (rc < 0)
		return out_error(cli, &err);
	cli->json = 1;		/* a manifest is JSON either way */
	return env_done(cli, rc, res, &err, NULL);
}

static int
env_build_common(struct cli *cli, const struct cmd *c, int argc,
    char **argv, int pull)
{
	pyro_error	 err;
	char		*res = NULL;
	int		 i, rc;

	i = cli_simple_args(cli, c, argc, argv, 1, 1);
	if (pull && pyro_catalog_find(argv[i]) != NULL)
		printf("[pull] phase=resolve environment=%s source=local-build "
		    "(no registry is configured)\n", argv[i]);
	/* Our own lines first, then the builder's, in order. */
	(void)fflush(stdout);
	rc = pyro_env_pull(argv[i], cli->json ? 2 : 1, &res, &err);
	if (rc < 0)
		return out_error(cli, &err);
	if (cli->json)
		rc = out_result(cli, res, NULL);
	else
		printf("%s: %s\n", pull ? "Pulled" : "Built", argv[i]);
	pyro_free(res);
	return rc;
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

int
cmd_env_prune(struct cli *cli, const struct cmd *c, int argc, char **argv)
{
	pyro_error	 err;
	char		*res = NULL;
	int		 rc;

	cli_simple_args(cli, c, argc, argv, 0, 0);
	rc = pyro_env_prune(&res, &err);
	return env_done(cli, rc, res, &err, render_pruned);
}
