/* pyro vm list|status, pyro workspace list|status */
#include "config.h"

#include <stdio.h>

#include "cli.h"

static void
render_list(const cJSON *r, const char *key)
{
	const cJSON	*it;
	int		 n = 0;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r, key)) {
		if (n++ == 0)
			printf("%-16s  %-10s  %-16s  %s\n", "ID", "STATE",
			    "ENVIRONMENT", "CREATED");
		printf("%-16s  %-10s  %-16s  %s\n", jstr(it, "id", "?"),
		    jstr(it, "state", "?"), jstr(it, "environment", "-"),
		    jstr(it, "created_at", "-"));
	}
	if (n == 0)
		printf("No %s.\n", key);
}

static void
render_vms(const cJSON *r)
{
	render_list(r, "vms");
}

static void
render_workspaces(const cJSON *r)
{
	render_list(r, "workspaces");
}

static void
render_status(const cJSON *r)
{
	const cJSON	*ev;

	printf("ID:           %s\n", jstr(r, "id", "?"));
	printf("State:        %s\n", jstr(r, "state", "?"));
	printf("Environment:  %s\n", jstr(r, "environment", "-"));
	printf("Created:      %s\n", jstr(r, "created_at", "-"));
	cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(r, "events"))
		printf("  %s  %-10s %s%s%s\n", jstr(ev, "at", "?"),
		    jstr(ev, "event", "?"), jstr(ev, "state", ""),
		    jstr(ev, "detail", NULL) ? ": " : "",
		    jstr(ev, "detail", ""));
}

/* Called after the libpyro call has filled res (or err). */
static int
finish(struct cli *cli, int rc, char *res, const pyro_error *err,
    void (*render)(const cJSON *))
{
	if (rc < 0)
		return out_error(cli, err);
	rc = out_result(cli, res, render);
	pyro_free(res);
	return rc;
}

int
cmd_vm_list(struct cli *cli, const struct cmd *c, int argc, char **argv)
{
	pyro_error	 err;
	char		*res = NULL;
	int		 rc;

	cli_simple_args(cli, c, argc, argv, 0, 0);
	if (cli_connect(cli) != 0)
		return EXIT_FAILED;
	rc = pyro_vm_list(cli->client, &res, &err);
	return finish(cli, rc, res, &err, render_vms);
}

int
cmd_vm_status(struct cli *cli, const struct cmd *c, int argc, char **argv)
{
	pyro_error	 err;
	char		*res = NULL;
	int		 rc, i;

	i = cli_simple_args(cli, c, argc, argv, 1, 1);
	if (cli_connect(cli) != 0)
		return EXIT_FAILED;
	rc = pyro_vm_status(cli->client, argv[i], &res, &err);
	return finish(cli, rc, res, &err, render_status);
}

int
cmd_workspace_list(struct cli *cli, const struct cmd *c, int argc,
    char **argv)
{
	pyro_error	 err;
	char		*res = NULL;
	int		 rc;

	cli_simple_args(cli, c, argc, argv, 0, 0);
	if (cli_connect(cli) != 0)
		return EXIT_FAILED;
	rc = pyro_workspace_list(cli->client, &res, &err);
	return finish(cli, rc, res, &err, render_workspaces);
}

int
cmd_workspace_status(struct cli *cli, const struct cmd *c, int argc,
    char **argv)
{
	pyro_error	 err;
	char		*res = NULL;
	int		 rc, i;

	i = cli_simple_args(cli, c, argc, argv, 1, 1);
	if (cli_connect(cli) != 0)
		return EXIT_FAILED;
	rc = pyro_workspace_status(cli->client, argv[i], &res, &err);
	return finish(cli, rc, res, &err, render_status);
}
