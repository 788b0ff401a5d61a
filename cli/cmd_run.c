/*
 * pyro run ENV [options] -- COMMAND...,  pyro vm exec VM_ID [options] --
 * COMMAND...,  pyro vm create,  pyro demo,  pyro mcp serve.
 *
 * Progress and the summary go to stderr; the command's own stdout and
 * stderr go to ours as they arrive; our exit status is the command's (128 +
 * signal when it was killed by one).  With --json, output is captured into
 * the one result document ("stdout", "stderr") and nothing else is
 * printed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../mcp/mcp.h"

static void
on_event(void *arg, const char *kind, const char *json)
{
	cJSON		*ev;
	const cJSON	*it;

	(void)arg;
	if (strcmp(kind, "progress") != 0 || (ev = cJSON_Parse(json)) == NULL)
		return;
	fprintf(stderr, "[run] phase=%s", jstr(ev, "phase", "?"));
	if ((it = cJSON_GetObjectItem(ev, "environment")) && cJSON_IsString(it) &&
	    strcmp(jstr(ev, "phase", ""), "create") == 0)
		fprintf(stderr, " environment=%s", it->valuestring);
	else if (jstr(ev, "vm_id", NULL))
		fprintf(stderr, " vm_id=%s", jstr(ev, "vm_id", ""));
	out_boot_fields(ev);
	fprintf(stderr, "\n");
	cJSON_Delete(ev);
}

/* A result's exit status for us: the command's, or 128 + its signal. */
static int
exit_of(const cJSON *res)
{
	if (cJSON_GetObjectItem(res, "signal") != NULL)
		return 128 + (int)cJSON_GetNumberValue(cJSON_GetObjectItem(res,
		    "signal"));
	return (int)cJSON_GetNumberValue(cJSON_GetObjectItem(res,
	    "exit_code"));
}

/*
 * pyro run and pyro vm exec: the same output handling.  target is the
 * environment (run) or the VM's id (vm exec).
 */
static int
exec_common(struct cli *cli, const struct args *a, int vm_exec)
{
	struct capture	 cap = { cli, cli->json, { NULL }, { 0 }, 0 };
	const char	*target = a->pos[0];
	pyro_error	 err;
	cJSON		*res;
	char		*optstr, *result = NULL;
	int		 rc, code;

	if (cli_connect(cli) != 0)
		return EXIT_FAILED;
	pyro_set_output_handler(cli->client, out_capture, &cap);
	if (!cli->json)
		pyro_set_event_handler(cli->client, on_event, NULL);
	optstr = cJSON_PrintUnformatted(a->opts);
	if (vm_exec)
		rc = pyro_vm_exec(cli->client, target,
		    (const char *const *)a->argv, optstr, &result, &err);
	else
		rc = pyro_run_in_vm(cli->client, target,
		    (const char *const *)a->argv, optstr, &result, &err);
	free(optstr);
	if (rc < 0) {
		if (!cli->json)
			fprintf(stderr, "[run] %s=%s error=%s\n", vm_exec ?
			    "vm_id" : "environment", target, err.code);
		out_capture_free(&cap);
		return out_error(cli, &err);
	}
	res = cJSON_Parse(result);
	pyro_free(result);
	code = exit_of(res);
	if (cli->json) {
		out_add_bytes(res, "stdout", cap.buf[1], cap.len[1]);
		out_add_bytes(res, "stderr", cap.buf[2], cap.len[2]);
		cJSON_AddBoolToObject(res, "output_truncated", cap.truncated);
		out_json(res);
	} else
		fprintf(stderr, "[run] environment=%s execution_mode=%s "
		    "exit_code=%d duration_ms=%.0f\n", jstr(res, "environment",
		    target), jstr(res, "execution_mode", "?"), code,
		    jnum(res, "duration_ms", 0));
	out_capture_free(&cap);
	cJSON_Delete(res);
	return code & 0xff;
}

int
cmd_run(struct cli *cli, const struct cmd *c, const struct args *a)
{
	(void)c;
	return exec_common(cli, a, 0);
}

int
cmd_vm_exec(struct cli *cli, const struct cmd *c, const struct args *a)
{
	(void)c;
	return exec_common(cli, a, 1);
}

int
cmd_vm_create(struct cli *cli, const struct cmd *c, const struct args *a)
{
	pyro_error	 err;
	char		*optstr, *result = NULL;
	int		 rc;

	(void)c;
	if (cli_connect(cli) != 0)
		return EXIT_FAILED;
	optstr = cJSON_PrintUnformatted(a->opts);
	rc = pyro_vm_create(cli->client, a->pos[0], optstr, &result, &err);
	free(optstr);
	if (rc < 0)
		return out_error(cli, &err);
	if (cli->json)
		rc = out_result(cli, result, NULL);
	else {
		cJSON *r = cJSON_Parse(result);

		printf("%s\n", out_vm_id(r));
		cJSON_Delete(r);
		rc = EXIT_OK;
	}
	pyro_free(result);
	return rc;
}

/*
 * The cleanup of a one-shot run as the contract states it: {deleted,
 * reason, vm_id}.  A pyrod that still says "deleted" is read the same.
 */
static cJSON *
cleanup_of(const cJSON *res)
{
	const cJSON	*c = cJSON_GetObjectItem(res, "cleanup");
	cJSON		*o;

	if (cJSON_IsObject(c))
		return cJSON_Duplicate(c, 1);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "deleted", cJSON_IsString(c) &&
	    strcmp(c->valuestring, "deleted") == 0);
	cJSON_AddStringToObject(o, "reason", "post_exec_cleanup");
	cJSON_AddStringToObject(o, "vm_id", out_vm_id(res));
	return o;
}

/*
 * pyro demo: the one-shot lifecycle end to end (create, start, exec,
 * delete) with a fixed command, printed as one JSON result.  Progress
 * lines go to stderr unless --json was given.
 */
int
cmd_demo(struct cli *cli, const struct cmd *c, const struct args *a)
{
	static const char	*const cmd[] = { "git", "--version", NULL };
	struct capture		 cap = { cli, 1, { NULL }, { 0 }, 0 };
	pyro_error		 err;
	cJSON			*res, *demo;
	char			*result = NULL;
	int			 code;

	(void)c;
	if (cli_connect(cli) != 0)
		return EXIT_FAILED;
	pyro_set_output_handler(cli->client, out_capture, &cap);
	if (!cli->json)
		pyro_set_event_handler(cli->client, on_event, NULL);
	if (pyro_run_in_vm(cli->client, "debian:12", cmd,
	    jbool(a->opts, "network") ? "{\"network\":true}" : NULL, &result,
	    &err) < 0) {
		out_capture_free(&cap);
		return out_error(cli, &err);
	}
	res = cJSON_Parse(result);
	pyro_free(result);
	demo = cJSON_CreateObject();
	cJSON_AddItemToObject(demo, "cleanup", cleanup_of(res));
	cJSON_AddStringToObject(demo, "command", "git --version");
	cJSON_AddStringToObject(demo, "environment", jstr(res, "environment",
	    "debian:12"));
	cJSON_AddStringToObject(demo, "execution_mode", jstr(res,
	    "execution_mode", "?"));
	cJSON_AddNumberToObject(demo, "exit_code", jnum(res, "exit_code", -1));
	out_add_bytes(demo, "stdout", cap.buf[1], cap.len[1]);
	cJSON_AddStringToObject(demo, "vm_id", out_vm_id(res));
	out_json(demo);
	code = (int)jnum(res, "exit_code", -1);
	cJSON_Delete(demo);
	cJSON_Delete(res);
	out_capture_free(&cap);
	return code == 0 ? EXIT_OK : EXIT_FAILED;
}

/* pyro mcp serve: the MCP server (mcp/), a client of pyrod like us. */
int
cmd_mcp_serve(struct cli *cli, const struct cmd *c, const struct args *a)
{
	(void)c;
	(void)a;
	return mcp_serve(cli->socket);
}
