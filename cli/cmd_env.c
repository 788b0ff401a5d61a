/*
 * pyro env list|inspect|pull|push|build|prune: the environment cache of the
 * calling user (pyro_environment_cache_dir()).  Layout, ready for pulled
 * OCI artifacts as well as local builds:
 *
 *	CACHE/NAME/manifest.json	name, version, kernel, parts + sha256
 *	CACHE/NAME/source.json		pulled: registry, tag, manifest digest
 *	CACHE/NAME/{vmlinux,initramfs.cpio,rootfs.ext4}
 *	CACHE/.staging-*		a build or pull in progress (pruned)
 *
 * The rule for two caches: these commands read and write the caller's
 * cache (PYRO_ENVIRONMENT_CACHE_DIR in the caller's environment, else
 * ~/.cache/pyro/environments); pyrod boots guests from its own (the same
 * variable in pyrod's environment, else root's).  list and inspect say
 * which cache they read and, when pyrod answers, which one it boots from,
 * with a line of their own when the two differ.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "cli.h"

/*
 * pyrod's cache, asked without failing the command: an object to add to
 * the result under "pyrod_cache", or NULL with *note saying why not.
 */
static cJSON *
pyrod_cache(struct cli *cli, const char **note)
{
	pyro_error	 err;
	char		*res = NULL;
	cJSON		*r;

	if (cli->client == NULL && pyro_connect(cli->socket, &cli->client,
	    &err) < 0) {
		*note = "pyrod is not reachable, so the cache it boots from is "
		    "unknown";
		return NULL;
	}
	if (pyro_env_cache(cli->client, &res, &err) < 0) {
		*note = strcmp(err.code, PYRO_ERR_UNKNOWN_OP) == 0 ? "this pyrod "
		    "predates environment.cache; it boots from "
		    "PYRO_ENVIRONMENT_CACHE_DIR in its own environment, else "
		    "/root/.cache/pyro/environments" : "pyrod did not say "
		    "which cache it boots from";
		return NULL;
	}
	r = cJSON_Parse(res);
	pyro_free(res);
	return r;
}

/* Add pyrod's view to result r (about the cache in r's "cache_dir"). */
static void
add_pyrod_cache(struct cli *cli, cJSON *r)
{
	const char	*note = NULL, *mine = jstr(r, "cache_dir", "");
	cJSON		*p = pyrod_cache(cli, &note);

	if (p == NULL) {
		cJSON_AddNullToObject(r, "pyrod_cache");
		cJSON_AddStringToObject(r, "pyrod_cache_note", note);
		return;
	}
	cJSON_AddBoolToObject(p, "same", strcmp(jstr(p, "cache_dir", ""),
	    mine) == 0);
	cJSON_AddItemToObject(r, "pyrod_cache", p);
}

static void
render_pyrod_cache(const cJSON *r)
{
	const cJSON	*p = cJSON_GetObjectItem(r, "pyrod_cache");

	if (!cJSON_IsObject(p))
		printf("Note: %s.\n", jstr(r, "pyrod_cache_note", "?"));
	else if (!jbool(p, "same"))
		printf("Note: pyrod boots from %s; this list is %s.\n",
		    jstr(p, "cache_dir", "?"), jstr(r, "cache_dir", "?"));
}

static void
render_envs(const cJSON *r)
{
	const cJSON	*it;

	printf("Catalog version: %s\n", jstr(r, "catalog_version", "?"));
	printf("Cache:           %s\n", jstr(r, "cache_dir", "?"));
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "environments"))
		printf("%-16s %-15s %s\n", jstr(it, "name", "?"),
		    jbool(it, "installed") ? "[installed]" : "[not installed]",
		    jstr(it, "description", ""));
	render_pyrod_cache(r);
}

static void
render_manifest(const cJSON *r)
{
	const cJSON	*it;

	printf("Environment:  %s\n", jstr(r, "name", "?"));
	printf("Description:  %s\n", jstr(r, "description", ""));
	printf("Version:      %s\n", jstr(r, "version", "?"));
	printf("Kernel:       %s\n", jstr(r, "kernel_version", "?"));
	printf("Built:        %s (%s)\n", jstr(r, "created_at", "?"),
	    jstr(r, "source", "?"));
	if (jstr(r, "packages", NULL) != NULL)
		printf("Packages:     %s\n", jstr(r, "packages", ""));
	printf("Agent sha256: %s\n", jstr(r, "agent_sha256", "?"));
	printf("VMMs:        ");
	if (cJSON_IsArray(cJSON_GetObjectItem(r, "vmms")))
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "vmms"))
			printf(" %s", cJSON_IsString(it) ? it->valuestring : "?");
	else
		printf(" qemu (built before environments recorded their VMMs)");
	printf("\n");
	printf("Path:         %s\n", jstr(r, "path", "?"));
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "parts"))
		printf("  %-15s %12.0f bytes  sha256 %s\n", it->string,
		    jnum(it, "size", 0), jstr(it, "sha256", "?"));
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
	if (jnum(r, "templates_removed", 0) > 0)
		printf("removed %.0f warm-start template(s) out of date\n",
		    jnum(r, "templates_removed", 0));
}

/* Parse res, let fill add to it, then print it: JSON or render(). */
static int
env_done(struct cli *cli, int rc, char *res, const pyro_error *err,
    void (*fill)(struct cli *, cJSON *), void (*render)(const cJSON *))
{
	cJSON	*r;

	if (rc < 0)
		return out_error(cli, err);
	r = cJSON_Parse(res);
	pyro_free(res);
	if (fill != NULL)
		fill(cli, r);
	if (cli->json)
		out_json(r);
	else
		render(r);
	cJSON_Delete(r);
	return EXIT_OK;
}

int
cmd_env_list(struct cli *cli, const struct cmd *c, const struct args *a)
{
	pyro_error	 err;
	char		*res = NULL;
	int		 rc;

	(void)c;
	(void)a;
	rc = pyro_env_list(&res, &err);
	return env_done(cli, rc, res, &err, add_pyrod_cache, render_envs);
}

/* inspect reports the cache it read under "cache_dir", as list does. */
static void
fill_inspect(struct cli *cli, cJSON *r)
{
	char	dir[4096];

	if (pyro_environment_cache_dir(dir, sizeof(dir)) == 0)
		cJSON_AddStringToObject(r, "cache_dir", dir);
	add_pyrod_cache(cli, r);
}

static void
render_inspect(const cJSON *r)
{
	render_manifest(r);
	render_pyrod_cache(r);
}

int
cmd_env_inspect(struct cli *cli, const struct cmd *c, const struct args *a)
{
	pyro_error	 err;
	char		*res = NULL;
	int		 rc;

	(void)c;
	rc = pyro_env_inspect(a->pos[0], &res, &err);
	return env_done(cli, rc, res, &err, fill_inspect, render_inspect);
}

static void
render_pull(const cJSON *r)
{
	if (strcmp(jstr(r, "source", ""), "registry") == 0) {
		if (jbool(r, "pulled"))
			printf("Pulled: %s (%s/%s:%s, %s, %.1f MiB "
			    "downloaded)\n", jstr(r, "environment", "?"),
			    jstr(r, "registry", "?"), jstr(r, "repository",
			    "?"), jstr(r, "tag", "?"), jstr(r,
			    "manifest_digest", "?"), jnum(r,
			    "bytes_downloaded", 0) / 1048576.0);
		else
			printf("Environment %s is installed and up to date "
			    "(%s/%s:%s, %s); nothing to do (--force pulls it "
			    "again).\n", jstr(r, "environment", "?"),
			    jstr(r, "registry", "?"), jstr(r, "repository",
			    "?"), jstr(r, "tag", "?"), jstr(r,
			    "manifest_digest", "?"));
	} else if (!jbool(r, "built"))
		printf("Environment %s is installed and up to date (version "
		    "%s, built %s, pyro-agent %.12s); nothing to do (--build "
		    "rebuilds it).\n", jstr(r, "environment", "?"),
		    jstr(r, "version", "?"), jstr(r, "created_at", "?"),
		    jstr(r, "agent_sha256", "?"));
	else
		printf("Pulled: %s\n", jstr(r, "environment", "?"));
}

/*
 * env pull NAME [--registry URL] [--build|--force] and env build NAME.
 * pull does nothing when the environment is up to date (see
 * pyro_env_pull_from()).
 */
int
cmd_env_pull(struct cli *cli, const struct cmd *c, const struct args *a)
{
	pyro_error	 err;
	char		*res = NULL;
	int		 rc, flags = 0;

	if (strcmp(c->name, "build") == 0 || jbool(a->opts, "build"))
		flags |= PYRO_PULL_BUILD;
	if (jbool(a->opts, "force"))
		flags |= PYRO_PULL_FORCE;
	/* Our own lines first, then the tool's, in order. */
	(void)fflush(stdout);
	rc = pyro_env_pull_from(a->pos[0], jstr(a->opts, "registry", NULL),
	    flags, cli->json ? 2 : 1, &res, &err);
	if (rc == 0 && !cli->json && strcmp(c->name, "build") == 0) {
		printf("Built: %s\n", a->pos[0]);
		pyro_free(res);
		return EXIT_OK;
	}
	return env_done(cli, rc, res, &err, NULL, render_pull);
}

static void
render_push(const cJSON *r)
{
	printf("Pushed: %s to %s/%s:%s (%s): %d blobs sent (%.1f MiB), %d "
	    "already there\n", jstr(r, "environment", "?"), jstr(r,
	    "registry", "?"), jstr(r, "repository", "?"), jstr(r, "tag", "?"),
	    jstr(r, "manifest_digest", "?"), (int)jnum(r, "blobs_sent", 0),
	    jnum(r, "bytes_sent", 0) / 1048576.0,
	    (int)jnum(r, "blobs_present", 0));
}

static void
render_import(const cJSON *r)
{
	const cJSON	*it;

	printf("Imported: %s from %s (%s, %d layers, %.1f MiB downloaded, "
	    "root filesystem %.0f MiB; kernel and agent from %s)\n",
	    jstr(r, "environment", "?"), jstr(r, "image", "?"), jstr(r,
	    "image_digest", "?"), (int)jnum(r, "layers", 0), jnum(r,
	    "bytes_downloaded", 0) / 1048576.0, jnum(r, "rootfs_bytes", 0) /
	    1048576.0, jstr(r, "base", "?"));
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "missing_tools"))
		printf("Note: the image has no %s (used by %s).\n", jstr(it,
		    "tool", "?"), jstr(it, "needed_by", "?"));
}

/* env import NAME --image REF [--base ENV] (pyro_env_import()). */
int
cmd_env_import(struct cli *cli, const struct cmd *c, const struct args *a)
{
	pyro_error	 err;
	char		*res = NULL;
	int		 rc;

	(void)c;
	(void)fflush(stdout);
	rc = pyro_env_import(a->pos[0], jstr(a->opts, "image", NULL),
	    jstr(a->opts, "base", NULL), cli->json ? 2 : 1, &res, &err);
	return env_done(cli, rc, res, &err, NULL, render_import);
}

/* env push NAME [--registry URL] (pyro_env_push()). */
int
cmd_env_push(struct cli *cli, const struct cmd *c, const struct args *a)
{
	pyro_error	 err;
	char		*res = NULL;
	int		 rc;

	(void)c;
	(void)fflush(stdout);
	rc = pyro_env_push(a->pos[0], jstr(a->opts, "registry", NULL),
	    cli->json ? 2 : 1, &res, &err);
	return env_done(cli, rc, res, &err, NULL, render_push);
}

/*
 * Root's prune also asks pyrod to remove the warm-start templates no
 * current environment can use ("templates_removed"); a pyrod that is not
 * running or predates templates is no failure.
 */
static void
prune_templates(struct cli *cli, cJSON *r)
{
	pyro_error	 err;
	char		*res = NULL;
	cJSON		*t;

	if (geteuid() != 0 || r == NULL || (cli->client == NULL &&
	    pyro_connect(cli->socket, &cli->client, &err) < 0) ||
	    pyro_env_templates(cli->client, 1, &res, &err) < 0)
		return;
	t = cJSON_Parse(res);
	pyro_free(res);
	if (cJSON_IsNumber(cJSON_GetObjectItem(t, "removed")))
		cJSON_AddNumberToObject(r, "templates_removed",
		    cJSON_GetObjectItem(t, "removed")->valuedouble);
	cJSON_Delete(t);
}

int
cmd_env_prune(struct cli *cli, const struct cmd *c, const struct args *a)
{
	pyro_error	 err;
	char		*res = NULL;
	int		 rc;

	(void)c;
	(void)a;
	rc = pyro_env_prune(&res, &err);
	return env_done(cli, rc, res, &err, prune_templates, render_pruned);
}

static void
render_warm(const cJSON *r)
{
	printf("Template %s %s: %s, %.0f MiB, %.0f vCPU; state %.1f MiB, "
	    "disk %.1f MiB allocated; its boot took %.0f ms, its save %.0f ms"
	    "\n", ostr(r, "key", "?"), strcmp(jstr(r, "status", ""),
	    "exists") == 0 ? "exists" : "made", ostr(r, "environment", "?"),
	    jnum(r, "mem_mib", 0), jnum(r, "vcpu_count", 0),
	    jnum(r, "state_bytes", 0) / 1048576.0,
	    jnum(r, "disk_allocated_bytes", 0) / 1048576.0,
	    jnum(r, "boot_ms", 0), jnum(r, "save_ms", 0));
}

/* env warm NAME [--mem-mib N] [--vcpu-count N] [--network]
 * (pyro_env_warm()). */
int
cmd_env_warm(struct cli *cli, const struct cmd *c, const struct args *a)
{
	pyro_error	 err;
	char		*res = NULL, *optstr;
	int		 rc;

	(void)c;
	if (cli_connect(cli) != 0)
		return EXIT_FAILED;
	optstr = cJSON_PrintUnformatted(a->opts);
	rc = pyro_env_warm(cli->client, a->pos[0], optstr, &res, &err);
	free(optstr);
	return env_done(cli, rc, res, &err, NULL, render_warm);
}

static void
render_templates(const cJSON *r)
{
	const cJSON	*it;
	int		 n = 0;

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "templates")) {
		if (n++ == 0)
			printf("%-18s %-16s %6s %5s %-3s %9s %s\n", "TEMPLATE",
			    "ENVIRONMENT", "MEM", "VCPU", "NET", "STATE",
			    "CURRENT");
		printf("%-18.16s %-16s %6.0f %5.0f %-3s %8.1fM %s\n",
		    ostr(it, "key", "?"), ostr(it, "environment", "?"),
		    jnum(it, "mem_mib", 0), jnum(it, "vcpu_count", 0),
		    jbool(it, "network") ? "yes" : "no",
		    jnum(it, "state_bytes", 0) / 1048576.0,
		    jbool(it, "current") ? "yes" : "no (prune removes it)");
	}
	if (n == 0)
		printf("No templates (warm_start = %s; pyro env warm NAME makes "
		    "one).\n", jstr(r, "warm_start", "?"));
}

/* env templates (pyro_env_templates()). */
int
cmd_env_templates(struct cli *cli, const struct cmd *c, const struct args *a)
{
	pyro_error	 err;
	char		*res = NULL;
	int		 rc;

	(void)c;
	(void)a;
	if (cli_connect(cli) != 0)
		return EXIT_FAILED;
	rc = pyro_env_templates(cli->client, 0, &res, &err);
	return env_done(cli, rc, res, &err, NULL, render_templates);
}
