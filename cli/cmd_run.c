/*
 * pyro run ENV [--vcpu-count N] [--mem-mib N] [--timeout-seconds N]
 *              [--network] [--allow-host-compat] [--json] -- COMMAND...
 *
 * Progress and the summary go to stderr; the command's own stdout and
 * stderr go to ours as they arrive; our exit status is the command's (128 +
 * signal when it was killed by one).  With --json, output is captured into
 * one result document instead.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "../mcp/mcp.h"

struct run_out {
	struct cli	*cli;
	char		*buf[3];	/* --json: captured stdout/stderr */
	size_t		 len[3];
};

static void
on_output(void *arg, int fd, const void *data, size_t len)
{
	struct run_out	*o = arg;
	char		*nb;

	if (!o->cli->json) {
		(void)fwrite(data, 1, len, fd == 1 ? stdout : stderr);
		(void)fflush(fd == 1 ? stdout : stderr);
		return;
	}
	/* Bounded: --json is for results, not for bulk output. */
	if (o->len[fd] + len > 16 * 1024 * 1024)
		return;
	if ((nb = realloc(o->buf[fd], o->len[fd] + len + 1)) == NULL)
		return;
	memcpy(nb + o->len[fd], data, len);
	o->len[fd] += len;
	nb[o->len[fd]] = '\0';
	o->buf[fd] = nb;
}

static void
on_event(void *arg, const char *kind, const char *json)
{
	cJSON		*ev;
	const cJSON	*it;

	if (strcmp(kind, "progress") != 0 || (ev = cJSON_Parse(json)) == NULL)
		return;
	fprintf(stderr, "[run] phase=%s", jstr(ev, "phase", "?"));
	if ((it = cJSON_GetObjectItem(ev, "environment")) && cJSON_IsString(it) &&
	    strcmp(jstr(ev, "phase", ""), "create") == 0)
		fprintf(stderr, " environment=%s", it->valuestring);
	else if (jstr(ev, "vm_id", NULL))
		fprintf(stderr, " vm_id=%s", jstr(ev, "vm_id", ""));
	fprintf(stderr, "\n");
	cJSON_Delete(ev);
}

/*
 * The options of run, vm exec and vm create, into a new JSON object:
 * --vcpu-count, --mem-mib, the time option (tflag on the command line,
 * tkey in the request), --network, --allow-host-compat, --json, --help.
 * With time_only (vm exec) only the time option and --json are taken.
 * Returns the object with optind at the first operand, or NULL with
 * *status set to the exit status (usage already printed).
 */
static cJSON *
vm_options(struct cli *cli, const struct cmd *c, int argc, char **argv,
    const char *tflag, const char *tkey, int time_only, int *status)
{
	struct option	 longopts[] = {
		{ "vcpu-count", required_argument, NULL, 'c' },
		{ "mem-mib", required_argument, NULL, 'm' },
		{ tflag, required_argument, NULL, 't' },
		{ "network", no_argument, NULL, 'n' },
		{ "allow-host-compat", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	cJSON		*opts = cJSON_CreateObject();
	char		*end;
	long		 v;
	int		 ch;

	/* 0, not 1: glibc then also resets its permutation state. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (time_only && ch != 't' && ch != 'j' && ch != 'h')
			ch = '?';
		switch (ch) {
		case 'c':
		case 'm':
		case 't':
			v = strtol(optarg, &end, 10);
			if (*end != '\0' || v <= 0 || v > 100000000) {
				*status = out_usage_error(c, "--%s needs a "
				    "positive integer", ch == 'c' ?
				    "vcpu-count" : ch == 'm' ? "mem-mib" :
				    tflag);
				goto fail;
			}
			cJSON_AddNumberToObject(opts, ch == 'c' ? "vcpu_count" :
			    ch == 'm' ? "mem_mib" : tkey, (double)v);
			break;
		case 'n':
			cJSON_AddTrueToObject(opts, "network");
			break;
		case 'a':
			cJSON_AddTrueToObject(opts, "allow_host_compat");
			break;
		case 'j':
			cli->json = 1;
			break;
		case 'h':
			*status = cli_usage(c, 0);
			goto fail;
		default:
			*status = cli_usage(c, 1);
			goto fail;
		}
	}
	return opts;
fail:
	cJSON_Delete(opts);
	return NULL;
}

/*
 * pyro run and pyro vm exec: the same output handling; vm_id is NULL for
 * a one-shot run.
 */
static int
exec_common(struct cli *cli, const struct cmd *c, int argc, char **argv,
    int vm_exec)
{
	struct run_out	 out = { cli, { NULL }, { 0 } };
	pyro_error	 err;
	cJSON		*opts, *res;
	char		*optstr, *result = NULL;
	const char	*env;
	int		 rc, code;

	if ((opts = vm_options(cli, c, argc, argv, "timeout-seconds",
	    "timeout_seconds", vm_exec, &rc)) == NULL)
		return rc;
	if (argc - optind < 1)
		return out_usage_error(c, vm_exec ? "a VM id and a command are "
		    "required" : "an environment and a command are required");
	env = argv[optind++];
	if (optind >= argc)
		return out_usage_error(c, "no command given after --");
	if (cli_connect(cli) != 0)
		return EXIT_FAILED;
	pyro_set_output_handler(cli->client, on_output, &out);
	pyro_set_event_handler(cli->client, on_event, NULL);
	optstr = cJSON_PrintUnformatted(opts);
	cJSON_Delete(opts);
	if (vm_exec)
		rc = pyro_vm_exec(cli->client, env,
		    (const char *const *)(argv + optind), optstr, &result, &err);
	else
		rc = pyro_run_in_vm(cli->client, env,
		    (const char *const *)(argv + optind), optstr, &result, &err);
	free(optstr);
	if (rc < 0) {
		fprintf(stderr, "[run] %s=%s error=%s\n", vm_exec ? "vm_id" :
		    "environment", env, err.code);
		free(out.buf[1]);
		free(out.buf[2]);
		return out_error(cli, &err);
	}
	res = cJSON_Parse(result);
	pyro_free(result);
	code = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(res, "exit_code"));
	if (cJSON_GetObjectItem(res, "signal") != NULL)
		code = 128 + (int)cJSON_GetNumberValue(cJSON_GetObjectItem(res,
		    "signal"));
	fprintf(stderr, "[run] environment=%s execution_mode=%s exit_code=%d "
	    "duration_ms=%.0f\n", jstr(res, "environment", env),
	    jstr(res, "execution_mode", "?"), code,
	    cJSON_GetNumberValue(cJSON_GetObjectItem(res, "duration_ms")));
	if (cli->json) {
		char *text;

		cJSON_AddStringToObject(res, "stdout", out.buf[1] ?
		    out.buf[1] : "");
		cJSON_AddStringToObject(res, "stderr", out.buf[2] ?
		    out.buf[2] : "");
		if ((text = cJSON_Print(res)) != NULL) {
			printf("%s\n", text);
			free(text);
		}
	}
	free(out.buf[1]);
	free(out.buf[2]);
	cJSON_Delete(res);
	return code & 0xff;
}

int
cmd_run(struct cli *cli, const struct cmd *c, int argc, char **argv)
{
	return exec_common(cli, c, argc, argv, 0);
}

int
cmd_vm_exec(struct cli *cli, const struct cmd *c, int argc, char **argv)
{
	return exec_common(cli, c, argc, argv, 1);
}

int
cmd_vm_create(struct cli *cli, const struct cmd *c, int argc, char **argv)
{
	pyro_error	 err;
	cJSON		*opts;
	char		*optstr, *result = NULL;
	int		 rc;

	if ((opts = vm_options(cli, c, argc, argv, "ttl-seconds", "ttl_seconds",
	    0, &rc)) == NULL)
		return rc;
	if (argc - optind != 1)
		return out_usage_error(c, "one environment is required");
	if (cli_connect(cli) != 0)
		return EXIT_FAILED;
	optstr = cJSON_PrintUnformatted(opts);
	cJSON_Delete(opts);
	rc = pyro_vm_create(cli->client, argv[optind], optstr, &result, &err);
	free(optstr);
	if (rc < 0)
		return out_error(cli, &err);
	if (cli->json)
		rc = out_result(cli, result, NULL);
	else {
		cJSON *r = cJSON_Parse(result);

		printf("%s\n", jstr(r, "id", "?"));
		cJSON_Delete(r);
		rc = EXIT_OK;
	}
	pyro_free(result);
	return rc;
}

/*
 * pyro demo: the one-shot lifecycle end to end (create, start, exec,
 * delete) with a fixed command, printed as one JSON result.
 */
int
cmd_demo(struct cli *cli, const struct cmd *c, int argc, char **argv)
{
	static const char	*const cmd[] = { "git", "--version", NULL };
	struct run_out		 out = { cli, { NULL }, { 0 } };
	pyro_error		 err;
	cJSON			*res, *demo;
	char			*result = NULL, *text;
	int			 network = 0, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--network") == 0)
			network = 1;
		else if (strcmp(argv[i], "--json") == 0)
			;	/* the demo always prints JSON */
		else if (strcmp(argv[i], "--help") == 0)
			return cli_usage(c, 0);
		else
			return out_usage_error(c, "unexpected argument \"%s\"",
			    argv[i]);
	}
	cli->json = 1;		/* capture the guest's output */
	if (cli_connect(cli) != 0)
		return EXIT_FAILED;
	pyro_set_output_handler(cli->client, on_output, &out);
	pyro_set_event_handler(cli->client, on_event, NULL);
	if (pyro_run_in_vm(cli->client, "debian:12", cmd, network ?
	    "{\"network\":true}" : NULL, &result, &err) < 0)
		return out_error(cli, &err);
	res = cJSON_Parse(result);
	pyro_free(result);
	demo = cJSON_CreateObject();
	cJSON_AddStringToObject(demo, "cleanup", jstr(res, "cleanup", "?"));
	cJSON_AddStringToObject(demo, "command", "git --version");
	cJSON_AddStringToObject(demo, "environment", jstr(res, "environment",
	    "debian:12"));
	cJSON_AddStringToObject(demo, "execution_mode", jstr(res,
	    "execution_mode", "?"));
	cJSON_AddNumberToObject(demo, "exit_code", cJSON_GetNumberValue(
	    cJSON_GetObjectItem(res, "exit_code")));
	cJSON_AddStringToObject(demo, "stdout", out.buf[1] ? out.buf[1] : "");
	if ((text = cJSON_Print(demo)) != NULL) {
		printf("%s\n", text);
		free(text);
	}
	i = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(res, "exit_code"));
	cJSON_Delete(demo);
	cJSON_Delete(res);
	free(out.buf[1]);
	free(out.buf[2]);
	return i == 0 ? EXIT_OK : EXIT_FAILED;
}

/* pyro mcp serve: the MCP server (mcp/), a client of pyrod like us. */
int
cmd_mcp_serve(struct cli *cli, const struct cmd *c, int argc, char **argv)
{
	(void)cli_simple_args(cli, c, argc, argv, 0, 0);
	return mcp_serve(cli->socket);
}
